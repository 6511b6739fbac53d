-- trk.session: one run's writes. Every client a script or rule makes hands its writes to one
-- sink, the session's (tracker.sinks has the interface): planned in a dry run, journalled and
-- sent with --apply. The session also counts them, fills the plan table and the --plan file,
-- and ends the run with its summary and exit code.
--
-- Host-side: scripts get the `tracker` module this file installs (a facade whose connect makes
-- clients with the session's sink built in); they never reach the session, the journal or the
-- sink, and nothing a script passes to connect can replace the sink.

local journal = require "trk.journal"
local probe = require "trk.probe"
local profiles = require "trk.profiles"
local report = require "trk.report"
-- The host's own instance of the catalog (no script can reach it), loaded when first asked
-- for: a run that makes no write does not load the client for it.
local function actions() return require("tracker").actions end

local M = {}

local fmt = string.format
-- unreachable: EX_TEMPFAIL (sysexits.h), Tracker could not be reached for the outage budget
M.EXIT = { ok = 0, failed = 1, usage = 2, unreachable = 75, interrupted = 130 }
local EXIT = M.EXIT

local function stderr(...) io.stderr:write(...) end

-- The --verbose request log: installed once per process, counted for each session.
local request_count

local function request_log(host, out)
  request_count = request_count or report.request_log(host, out.err)
  return request_count
end

local Session = {}
Session.__index = Session

-- Where a command's state store is by default: `.trk/state.db` beside what it runs, or, under
-- a profile, `.trk/state-NAME.db`: each profile's database keeps its own runs and checkpoints.
function M.state_path(default, profile)
  if profile == nil then return default end
  return (default:gsub("state%.db$", "state-" .. profile:gsub("[^%w_.-]", "_") .. ".db"))
end

local confirmed      -- a production profile's --apply was confirmed (trk.profiles.confirm)

-- opts: the command line's options; what: { identity =, command =, default_state =,
-- reads_state = (rules: checkpoints are read in a dry run too) }
function M.new(host, opts, what)
  local s = setmetatable({ host = host, apply = opts.apply or false, json = opts.json or false,
                           started = host.clock(), planned = {}, counts = {}, failed = {},
                           nplanned = 0, by_op = {}, what = what, clients = {} }, Session)
  s.out = report.output(host, opts)
  s.progress = report.progress(host, not (s.json or s.out.quiet or s.out.verbose), s.out.cursor)
  if s.out.verbose then
    s.requests = request_log(host, s.out)
    s.requests_before, s.seconds_before = s.requests.requests, s.requests.seconds
  end
  s.progress.session = s
  -- --record DIR: the host records every exchange, out of any script's reach (trk.record)
  local recording, rerr = require("trk.record").start(host, opts)
  if not recording then return nil, rerr end
  -- the named profile (trk.profiles): its settings go to every client the session makes; the
  -- session shows only its name and whether it is production's
  local p, perr = profiles.selected(host, opts)
  if perr then return nil, perr end
  if p then
    s.profile, s.settings = { name = p.name, production = p.production }, p.settings
    if s.apply and not confirmed then
      local ok, why = profiles.confirm(host, p, opts)
      if not ok then return nil, why end
      confirmed = true                             -- once a command: --watch asks no more
    end
  end
  s.probe = probe.load(host)     -- what trk doctor --probe learnt: every client starts from it
  if opts.plan then
    local f, e = io.open(opts.plan, "w")
    if not f then return nil, fmt("--plan: cannot write %s", e) end
    s.plan_file = f
  end
  s.state = opts.state or M.state_path(what.default_state, s.profile and s.profile.name)
  if s.apply then
    local j, e = journal.open(host, s.state, true)
    if not j then return nil, e end
    s.journal = j
    s.run, s.resumed = j:begin(what.identity, what.command, opts.fresh or false)
    if not s.run then
      j:close()
      return nil, s.resumed
    end
  elseif what.reads_state or what.once then
    s.store = journal.open(host, s.state, false)    -- checkpoints, when there is a store
  end
  s.concurrency, s.outage_budget = opts.concurrency, opts.outage_budget
  -- one breaker a server for the clients of the run (bindings/lua/pipeline.lua), lent through
  -- the sink: an outage one client meets holds the requests of the others to that server
  local breakers = {}
  s.breaker = function(server)
    breakers[server] = breakers[server] or { notify = function(ev) s:outage(ev) end }
    return breakers[server]
  end
  s.again, s.force, s.rebind = opts.again or false, opts.force or false, opts.rebind or false
  return s
end

-- ---- outages ------------------------------------------------------------------------------

-- The breaker's changes, told as they happen: the operator sees an outage while trk waits.
-- Past the outage budget the run stops where it is, as Ctrl-C would stop it: a write in flight
-- stays pending in the journal, for the next run to read back.
function Session:outage(ev)
  local duration = report.duration
  self.progress:clear()
  if ev.state == "open" then
    local next = ev.retry_in and ev.retry_in < ev.budget_left
                 and fmt("retrying in %s (attempt %d)", duration(ev.retry_in), ev.attempt)
                 or fmt("stopping in %s (outage budget)", duration(ev.budget_left))
    local since = os.date("%H:%M:%S", os.time() - ev.down_for // 1)
    stderr(fmt("trk: Tracker unreachable since %s, %s\n", since, next))
  elseif ev.state == "closed" then
    stderr(fmt("trk: Tracker reachable again after %s\n", duration(ev.down_for)))
  elseif ev.state == "gave_up" then
    self.unreachable = ev
    stderr(fmt("trk: Tracker unreachable for %s, the outage budget (--outage-budget, "
               .. "TRACKER_OUTAGE_BUDGET): stopping\n", duration(ev.down_for)))
    self.host.stop("Tracker unreachable")
  end
end

-- ---- the sink ------------------------------------------------------------------------------

-- Every write of every client the script makes comes here. `reader` gives a client that reads
-- a pending write back (the journal's check). (Ctrl-C needs no check here: the sandbox stops
-- the script at its next instruction.)
function Session:write(action, send, reader)
  local rule = self.rule
  self.nplanned = self.nplanned + 1
  if rule then rule.actions = rule.actions + 1 end
  local entry = { n = self.nplanned, op = action.op, target = action.target,
                  payload = action.payload, key = action.key, rule = rule and rule.name }
  if #self.planned < report.PLAN_ROWS then self.planned[#self.planned + 1] = entry end
  local res
  local scope = self.scope
  local store = self.journal or self.store
  local ident = store and store:ident(action)
  if self.journal then self.journal.rule = rule and rule.name end   -- the journal's rule column
  local verdict, info = self:earlier(store, ident, action, reader)
  if verdict ~= "already" then self.by_op[action.op] = (self.by_op[action.op] or 0) + 1 end
  if verdict == "already" then
    res = table.pack("already", store:answer(info.result))
    local first = self.already
    if not first or info.run < first.run then self.already = info end
  elseif verdict == "conflict" then
    local e = require("tracker").error({ code = "conflict", message = info })
    if self.journal then
      if scope then scope.pending = scope.pending + 1 end
      res = table.pack(self.journal:apply(action, function() return nil, e end, reader, ident))
    else
      res = table.pack("failed", nil, e)
    end
    res[1] = "conflict"
  elseif not self.journal then
    entry.before = self:before(action, reader)
    res = table.pack("planned", actions().planned(action, actions().PLANNED_ID + self.nplanned))
  else
    if scope then scope.pending = scope.pending + 1 end
    res = table.pack(self.journal:apply(action, send, reader, ident))
  end
  local outcome = res[1]
  entry.status = outcome
  self.counts[outcome] = (self.counts[outcome] or 0) + 1
  local bad = outcome == "failed" or outcome == "unknown" or outcome == "conflict"
  if bad then
    local e = res[3]
    entry.error = type(e) == "table" and tostring(e.message or e) or tostring(e)
    if rule then rule.failed = rule.failed + 1 end
    if #self.failed < report.PLAN_ROWS then self.failed[#self.failed + 1] = entry end
  end
  if self.plan_file then
    self.plan_job = self.plan_job or { identity = self.what.identity,
                                       state = report.absolute(self.state) }
    self.plan_file:write(report.plan_line(entry, self.host.json, self.plan_job), "\n")
  end
  if scope and self.journal and outcome ~= "already" then
    scope.pending = scope.pending - 1
    if bad then
      scope.failed = scope.failed + 1
      M.hold(scope.stats, scope.at)
    end
    self:settled(scope)
  end
  self.progress:update(self)
  return table.unpack(res, 2, res.n)
end

-- What a planned overwrite finds in Tracker, by field (actions.current), for the plan's
-- old -> new and trk apply's stale check: read by trk's own client, never taken from the
-- script's record (which the script may have changed). One read a record; the record then
-- holds, for the plan's next write to it, what this write sets. nil for a write that
-- overwrites nothing, or when the read fails.
local RECORDS_KEPT = 256     -- records a plan keeps the values of (Session:before)

function Session:before(action, reader)
  local cat = actions()
  local sets = cat.sets(action.op, action.payload)
  local t = action.target
  if not sets or not t.id or cat.is_planned_id(t.id) then return nil end
  self.records = self.records or {}       -- by "kind:id": { record =, planned = { field = v } }
  local k = t.kind .. ":" .. t.id
  local seen = self.records[k]
  if seen == nil then
    -- the record a rule acts on, as its stream read it (no read), else one read
    local held = self.scope and self.scope.record
    if held and held.kind == t.kind and held.id == t.id then
      seen = { record = held, planned = {} }
    else
      local ok, rec = pcall(cat.read_record, reader(), t)
      seen = ok and type(rec) == "table" and { record = rec, planned = {} } or false
    end
    -- the records written last only: a plan's memory stays flat however many it writes
    local order = self.records_order or {}
    self.records_order = order
    order[#order + 1] = k
    if #order > RECORDS_KEPT then self.records[table.remove(order, 1)] = nil end
    self.records[k] = seen
  end
  if not seen then return nil end
  local before = cat.current(action.op, action.payload, seen.record)
  for field in pairs(sets) do
    if seen.planned[field] ~= nil then before[field] = seen.planned[field] end
    seen.planned[field] = sets[field]               -- what the record holds after this write
  end
  return before
end

-- What actions.current needs of a record a stream read, copied before any rule sees it (a
-- rule gets the record itself, or a copy sharing its nested tables, and may change them): its
-- kind, id, stage, custom fields and the details Tracker sent.
function M.as_read(record)
  if type(record) ~= "table" then return nil end
  local function shallow(t)
    local out = {}
    for k, v in pairs(type(t) == "table" and t or {}) do out[k] = v end
    return out
  end
  local raw = type(record.raw) == "table" and record.raw or {}
  return { kind = record.kind, id = record.id, stage = record.stage, custom = shallow(record.custom),
           raw = { details = shallow(raw.details) } }
end

-- What earlier runs of this job say of a write (journal.earlier): only trk run asks, and only
-- of a store that holds earlier runs. --again repeats what they applied, --force overwrites
-- what was changed in Tracker since.
function Session:earlier(store, ident, action, reader)
  if not (store and self.what.once) then return nil end
  -- Tracker's values now, read: a record the script holds may be older than the last write
  local verdict, info = store:earlier(self.what.identity, ident, action, self.again, function()
    return actions().read_current(reader(), action)
  end)
  if verdict == "conflict" and self.force then return nil end
  return verdict, info
end

-- Keeps a rule's checkpoint from passing a change it failed on, so the next run sees it again.
function M.hold(stats, at)
  if stats and at and (stats.hold == nil or at < stats.hold) then stats.hold = at end
end

-- A rule acted on a record's change once its invocation has returned and every write it made
-- has settled (writes in a batch settle later): only then, and only if none failed, is the
-- change marked handled, so a crash or a failure before that lets the next run finish it.
function Session:settled(scope)
  if scope.returned and scope.pending == 0 and scope.failed == 0 and not scope.marked then
    scope.marked = true
    self.journal:set_handled(scope.rule, scope.kind, scope.id, scope.change)
  end
end

-- ---- the id map of migrations ---------------------------------------------------------------

-- tracker.id_map(name): a migration's map from source ids to Tracker ids, kept in the state
-- store (trk.journal's idmap table) with --apply, so a resumed or repeated run reuses it. A
-- dry run reads what the store holds and keeps its own (planned) entries in memory. The map
-- hands out plain values only: the script never holds the store.
local function map_text(fname, what, v)
  if type(v) == "number" and math.tointeger(v) then return tostring(math.tointeger(v)) end
  if type(v) ~= "string" or v == "" or #v > 1000 then
    error(fmt("%s: %s must be a string of 1 to 1000 bytes, got %s", fname, what,
              type(v) == "string" and ("'" .. v:sub(1, 40) .. "'") or type(v)), 3)
  end
  return v
end

function Session:id_map(name)
  name = map_text("tracker.id_map", "the map's name", name)
  local store = self.journal or self.store
  self.maps = self.maps or {}
  local mem = self.maps[name] or {}      -- a dry run's entries, by type .. "\0" .. source
  self.maps[name] = mem
  local m = {}
  -- m.get(type, source): the status ("pending" or "done"), Tracker's id and the attempt, or nil
  function m.get(kind, source)
    kind, source = map_text("id_map.get", "the type", kind), map_text("id_map.get", "the id", source)
    local row = mem[kind .. "\0" .. source] or (store and store:mapped(name, kind, source))
    if not row then return nil end
    return row.status, math.tointeger(row.id), row.attempt
  end
  -- m.set(type, source, status, id, attempt): where a source record stands now
  function m.set(kind, source, status, id, attempt)
    kind, source = map_text("id_map.set", "the type", kind), map_text("id_map.set", "the id", source)
    if status ~= "pending" and status ~= "done" then
      error("id_map.set: the status must be 'pending' or 'done'", 2)
    end
    id, attempt = math.tointeger(id), math.tointeger(attempt) or 1
    if self.journal then self.journal:map(name, kind, source, status, id, attempt)
    else mem[kind .. "\0" .. source] = { status = status, id = id, attempt = attempt } end
  end
  m.stored = self.journal ~= nil         -- whether what is set outlives the run
  return require("tracker.sandbox").freeze("id_map", m)
end

-- ---- the tracker module scripts see --------------------------------------------------------

-- The real module, whose connect builds every client with the active session's sink, without
-- the raw transport (which would send past it), the catalog and the sinks, and the module's
-- json (scripts have the sandbox's, which counts what it decodes). Installed once, before
-- any script or rule file runs, and built from a fresh instance at its first require, so no
-- script code ever holds the real module; each session (each --watch pass) makes itself the
-- active one.
local active            -- the session clients made now belong to

local HIDDEN = { transport = true, actions = true, sinks = true, json = true, fingerprint = true,
                 redact_exchange = true }
local fingerprint        -- the module's (build): a key's salted hash, which no script sees

local deep_copy = require("tracker.util").copy

-- Connect's options, taken with raw access into a fresh plain table: a metatable on the
-- script's table (__index, __pairs) can neither hide a key from trk nor show one to it.
local function raw_options(o)
  local opts = {}
  for k, v in next, o do opts[k] = v end
  return opts
end

local function build(host)
  local sandbox = require "tracker.sandbox"
  local real = host.env.require("tracker")   -- a fresh instance, which no script has touched
  local connect = real.connect
  fingerprint = real.fingerprint
  local facade = {}
  for k, v in next, real do
    if k == "time" then facade[k] = sandbox.freeze("tracker.time", v)
    elseif not HIDDEN[k] then facade[k] = v end
  end
  -- The client a script gets sends every write to the session, whatever the script passes.
  -- A script's own hook only sees each write first: it gets a copy, and its send goes to the
  -- session however often it is called.
  function facade.connect(o)
    local session = active
    if session == nil then
      error("tracker.connect: a rule file cannot connect while it loads; use the t its action "
            .. "is given", 2)
    end
    if o ~= nil and type(o) ~= "table" then return connect(o) end   -- its own message
    local opts = raw_options(o or {})
    local hook = opts.hook
    if hook ~= nil and type(hook) ~= "function" then
      error(fmt("tracker.connect: option 'hook' must be a function(action, send), got %s",
                type(hook)), 2)
    end
    opts.hook = nil
    -- the operator's --outage-budget holds for every client
    if session.outage_budget then opts.outage_budget = session.outage_budget end
    -- the journal reads records back through a client of its own, which makes no writes
    local plain, reader = raw_options(opts), nil
    local function read()
      reader = reader or connect(plain, { outage = session.breaker,
                                          write = function(_, _, send) return send() end },
                                 session.settings, session.probe)
      return reader
    end
    local sink = { outage = session.breaker, write = function(_, action, send)
      if not hook then return session:write(action, send, read) end
      local mine = deep_copy(action)
      return hook(action, function() return session:write(mine, send, read) end)
    end }
    if opts.concurrency == nil and session.concurrency then opts.concurrency = session.concurrency end
    -- the profile's settings, under the script's; and what trk doctor --probe learnt
    local t = connect(opts, sink, session.settings, session.probe)
    local bound, why = session:bind(t)
    if not bound then
      t:close()
      error("tracker.connect: " .. why, 2)
    end
    session.clients[#session.clients + 1] = t       -- for what they learnt (finish)
    sandbox.protect(t, "tracker client")
    return t
  end
  -- the migrations' id map in the state store (Session:id_map)
  function facade.id_map(name)
    if active == nil then error("tracker.id_map: no run to keep the map for", 2) end
    return active:id_map(name)
  end
  return sandbox.freeze("tracker", facade)
end

-- Installs the module for scripts, built when first asked for (a script's require, or a
-- command's connect): a run that never requires it does not load the client at all.
local building
local function install(host)
  if getmetatable(host.loaded) then return end
  setmetatable(host.loaded, { __index = function(loaded, name)
    -- while it builds, the script's require underneath makes the module itself (its builtin)
    if name ~= "tracker" or building then return nil end
    building = true
    local ok, f = pcall(build, host)
    building = false
    if not ok then error(f, 0) end
    rawset(loaded, "tracker", f)
    return f
  end })
end

-- Binds the session's state store to the database client t talks to (journal.bind), through
-- the client's own method and the module's fingerprint: a script can replace neither. The
-- first client the session connects decides. True, or nil and why not (the run then undone:
-- journal.unbegin).
function Session:bind(t)
  local store = self.journal or self.store
  if not store or self.bound then return true end
  local d = debug.getmetatable(t).__index.database(t)
  -- a client that names no URL reaches no database (its first request says what is missing),
  -- nor does one on an emulator in this process
  if d.in_process or not (d.widget_url or d.rest_url) then return true end
  local salt = store:salt(self.apply)
  local key = salt and fingerprint(t, salt)
  local ok, why = store:bind(d.id .. " key=" .. (key or "-"), self.apply, self.rebind)
  if not ok then
    if self.journal then          -- refused before anything was sent: the store as it was
      self.journal:unbegin()
      self.refused = true
    end
    return nil, why
  end
  self.bound = true
  if why and self.rebind and self.apply then
    stderr(fmt("trk: --rebind: the state store %s belonged to %s; it is this database's now\n",
               self.state, why))
  end
  return true
end

-- Makes this session the one new clients belong to; answers the module scripts see.
-- The module is built at its first use (install): module() is the one scripts get.
function Session:install()
  install(self.host)
  active = self
  return self
end

function Session:module() return self.host.loaded.tracker end

M.install = install

-- ---- the end of a run ----------------------------------------------------------------------

-- The summary, the plan table, and the exit code. `stop` is what ended the run early.
function Session:finish(ok, msg, stop, where)
  self.progress:clear()
  local interrupted = stop == "interrupt" or self.host.interrupted()
  local status = interrupted and "interrupted" or (ok and "complete" or "failed")
  local unreachable = not interrupted and self.unreachable ~= nil
  if unreachable then status, ok = "unreachable", true end   -- said already (Session:outage)
  if self.journal then
    local unsettled = (self.counts.failed or 0) + (self.counts.unknown or 0)
                      + (self.counts.conflict or 0)
    if status == "complete" and unsettled > 0 then status = "failed" end
    self.journal:finish(status)
  end
  if self.plan_file then self.plan_file:close() end
  if not ok and not interrupted and msg then stderr(report.bounded(self.host, msg, where), "\n") end
  if self.refused then return EXIT.failed end   -- another database's store: nothing ran here
  local sum = self:summary(status, where)
  local out = self.out
  if self.json then
    io.stdout:write(report.encode(self.host.json, sum), "\n")
  else
    if not self.apply and self.nplanned > 0 and not out.quiet then
      io.stdout:write(report.plan_table(self, out.out))
    end
    if self.quiet_pass and sum.actions == 0 and sum.status == "complete" then
      if not out.quiet then
        local seen = 0
        for _, r in ipairs(self.rule_stats or {}) do seen = seen + r.seen end
        stderr(("trk rules: %s: %s records seen, nothing to do\n"):format(os.date("%H:%M:%S"),
                                                                        report.thousands(seen)))
      end
    else
      stderr(report.summary_text(self, sum, out.err, out.quiet))
    end
  end
  for _, line in ipairs(self:learnt()) do stderr("trk: " .. line .. "\n") end
  if self.requests then
    local n = self.requests.requests - self.requests_before
    stderr(fmt("trk: %s HTTP request%s, %.1f s waiting for answers\n", report.thousands(n),
               n == 1 and "" or "s", self.requests.seconds - self.seconds_before))
  end
  if interrupted then return EXIT.interrupted end
  if unreachable then return EXIT.unreachable end
  if not ok or sum.failed > 0 or sum.unknown > 0 or sum.conflicts > 0 then return EXIT.failed end
  return EXIT.ok
end

-- What the run's clients learnt of the server (tracker-api.md §9): the page caps and the
-- search route with --verbose; always, the streams whose pages came out of id order.
function Session:learnt()
  local lines = {}
  for _, t in ipairs(self.clients) do
    local ok, st = pcall(t.stats, t)
    if ok and type(st) == "table" then
      local caps = st.page_caps or {}
      if self.out.verbose and (caps.widget or caps.rest or st.search_route or st.row_reads) then
        lines[#lines + 1] = fmt("the server's page caps: widget %s, REST %s; application search: "
                                .. "%s; applications read one by one for their custom fields: %d",
                                tostring(caps.widget or "not met"), tostring(caps.rest or "not met"),
                                tostring(st.search_route or "not used"), st.row_reads or 0)
      end
      if self.out.verbose and st.probed then
        lines[#lines + 1] = "started from what trk doctor --probe learnt (" .. probe.PATH .. ")"
      end
      if st.unordered_streams then
        lines[#lines + 1] = fmt("warning: %d stream%s got pages not in id order as asked: a record "
                                .. "updated while it ran may have been missed until it changes "
                                .. "again (trk doctor)", st.unordered_streams,
                                st.unordered_streams == 1 and "" or "s")
      end
    end
  end
  return lines
end

function Session:summary(status, where)
  local c = self.counts
  local rules, errors
  if self.rule_stats then
    rules = {}
    for _, r in ipairs(self.rule_stats) do
      rules[#rules + 1] = { name = r.name, file = r.file, seen = r.seen, matched = r.matched,
                            actions = r.actions, failed = r.failed, errors = r.errors,
                            already_handled = r.skipped, since = journal.iso(r.since),
                            new = r.new }
    end
    errors = report.list(self.errors)        -- [] in --json when there are none
  end
  return {
    rules = rules, errors = errors,
    mode = self.apply and "apply" or "plan", status = status, where = where ~= "" and where or nil,
    actions = self.nplanned, planned = c.planned or 0, applied = c.done or 0,
    skipped = c.skipped or 0, failed = c.failed or 0, unknown = c.unknown or 0,
    already = c.already or 0, conflicts = c.conflict or 0,
    already_by = self.already and { run = self.already.run, started = self.already.started },
    by_op = self.by_op, run = self.run, resumed = self.resumed or nil, state = self.state,
    elapsed = self.host.clock() - self.started,
  }
end

-- Closes what the session opened: its journal or its store.
function Session:close()
  if self.journal then self.journal:close() end
  if self.store then self.store:close() end
end

return M
