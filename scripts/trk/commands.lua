-- trk.commands: the drivers of trk's commands (run, rules, journal, doctor, test, init).
--
-- Host-side: runtime/host.c hands each driver the host table (loading scripts into the
-- sandbox, calls under an instruction budget, Ctrl-C, the SQLite store) and the command
-- line's options as strings. Scripts never see this module's state: they reach Tracker through
-- the `tracker` module this file installs in their environment, whose every client sends its
-- writes through one Session: planned in a dry run, journalled with --apply.

local journal = require "trk.journal"
local report = require "trk.report"

local M = {}

local fmt, concat = string.format, table.concat
local EXIT = { ok = 0, failed = 1, usage = 2, interrupted = 130 }
local PLACEHOLDER_ID = 900000000000000   -- ids of records a dry run pretends to create

local function stderr(...) io.stderr:write(...) end

local function dir_of(path)
  return path:match("^(.*/)") or ""
end

-- The --verbose request log: installed once per process, counted for each session.
local request_count

local function request_log(host, out)
  request_count = request_count or report.request_log(host, out.err)
  return request_count
end

-- ---- the session: one run's writes ----------------------------------------------------------

local Session = {}
Session.__index = Session
local hold

-- opts: the command line's host options; what: { identity =, command =, default_state = }
local function new_session(host, opts, what)
  local s = setmetatable({ host = host, apply = opts.apply == "1", json = opts.json == "1",
                           started = host.clock(), planned = {}, counts = {}, failed = {},
                           nplanned = 0, by_op = {}, what = what }, Session)
  s.out = report.output(host, opts)
  s.progress = report.progress(host, not (s.json or s.out.quiet or s.out.verbose), s.out.cursor)
  if s.out.verbose then
    s.requests = request_log(host, s.out)
    s.requests_before, s.seconds_before = s.requests.requests, s.requests.seconds
  end
  s.progress.session = s
  if opts.plan then
    local f, e = io.open(opts.plan, "w")
    if not f then return nil, fmt("--plan: cannot write %s", e) end
    s.plan_file = f
  end
  s.state = opts.state or what.default_state
  if s.apply then
    local j, e = journal.open(host, s.state, true)
    if not j then return nil, e end
    s.journal = j
    s.run, s.resumed = j:begin(what.identity, what.command, opts.fresh == "1")
    if not s.run then
      j:close()
      return nil, s.resumed
    end
  elseif what.reads_state then
    s.store = journal.open(host, s.state, false)    -- checkpoints, when there is a store
  end
  return s
end

-- What a dry run answers for a write: creates pretend to create, with ids no record has.
local function pretend(s, action)
  local p, op = action.payload or {}, action.op
  if op == "create_candidate" then
    return { kind = "candidate", id = PLACEHOLDER_ID + s.nplanned, email = p.email,
             name = p.name or concat({ p.first_name or "", p.last_name or "" }, " "),
             created = true, planned = true }
  elseif op == "create_application" then
    return { kind = "application", id = PLACEHOLDER_ID + s.nplanned, candidate_id = p.candidate,
             job_id = p.job, created = true, planned = true }
  elseif op == "add_note" then
    return { kind = "activity", subject = p.subject, note = p.text, planned = true }
  elseif op == "attach" then
    return { kind = "document", filename = p.filename, planned = true }
  end
  return true
end

-- Every write of every client the script makes comes here (through the client's hook).
-- (Ctrl-C needs no check here: the sandbox stops the script at its next instruction.)
function Session:perform(action, send, client)
  local rule = self.rule
  self.nplanned = self.nplanned + 1
  self.by_op[action.op] = (self.by_op[action.op] or 0) + 1
  if rule then rule.actions = rule.actions + 1 end
  local entry = { n = self.nplanned, op = action.op, target = action.target,
                  payload = action.payload, key = action.key, rule = rule and rule.name }
  if #self.planned < report.PLAN_ROWS then self.planned[#self.planned + 1] = entry end
  local res
  local scope = self.scope
  if not self.journal then
    res = table.pack("planned", pretend(self, action))
  else
    if scope then scope.pending = scope.pending + 1 end
    res = table.pack(self.journal:perform(action, send, client))
  end
  local outcome = res[1]
  entry.status = outcome
  self.counts[outcome] = (self.counts[outcome] or 0) + 1
  if outcome == "failed" or outcome == "unknown" then
    local e = res[3]
    entry.error = type(e) == "table" and tostring(e.message or e) or tostring(e)
    if rule then rule.failed = rule.failed + 1 end
    if #self.failed < report.PLAN_ROWS then self.failed[#self.failed + 1] = entry end
  end
  if self.plan_file then self.plan_file:write(report.plan_line(entry, self.host.json), "\n") end
  if scope and self.journal then
    scope.pending = scope.pending - 1
    if outcome == "failed" or outcome == "unknown" then
      scope.failed = scope.failed + 1
      hold(scope.stats, scope.at)
    end
    self:settled(scope)
  end
  self.progress:update(self)
  return table.unpack(res, 2, res.n)
end

-- Keeps a rule's checkpoint from passing a change it failed on, so the next run sees it again.
hold = function(stats, at)
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

-- The `tracker` module scripts see: the real one, whose connect sends every write of the
-- clients it makes through the active session, and without the raw transport (which would not).
-- Installed once, before any script or rule file runs, so no script code ever holds the real
-- module; each session (each --watch pass) makes itself the active one.
local active            -- the session clients made now belong to

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in next, v do out[k] = deep_copy(x) end
  return out
end

-- Connect's options, taken with raw access into a fresh plain table: a metatable on the
-- script's table (__index, __pairs) can neither hide a key from trk nor show one to it.
local function raw_options(o)
  local opts = {}
  for k, v in next, o do opts[k] = v end
  return opts
end

local function install(host)
  if M.facade then return end
  local sandbox = require "tracker.sandbox"
  local real = host.env.require("tracker")   -- before any script has run: the module itself
  local connect = real.connect
  local facade = {}
  for k, v in next, real do
    if k == "time" then facade[k] = sandbox.freeze("tracker.time", v)
    elseif k ~= "transport" then facade[k] = v end
  end
  -- The client a script gets has the session's write path built in: every write goes to
  -- the session (planned in a dry run, journalled with --apply), whatever the script passes.
  -- The script's own hook, if any, only wraps it.
  function facade.connect(o)
    local session = active
    if session == nil then
      error("tracker.connect: a rule file cannot connect while it loads; use the t its action "
            .. "is given", 2)
    end
    if o ~= nil and type(o) ~= "table" then return connect(o) end   -- its own message
    local opts = raw_options(o or {})
    local user = opts.hook
    if user ~= nil and type(user) ~= "function" then
      error(fmt("tracker.connect: option 'hook' must be a function(action, send), got %s",
                type(user)), 2)
    end
    opts.hook = nil
    -- the journal reads records back through a client of its own, which makes no writes
    local plain, reader = raw_options(opts), nil
    local function read()
      reader = reader or connect(plain)
      return reader
    end
    if user then
      -- the script's hook sees a copy: what it does to the action changes nothing trk records
      opts.hook = function(action, send)
        local mine = deep_copy(action)
        return user(action, function() return session:perform(mine, send, read) end)
      end
    else
      opts.hook = function(action, send) return session:perform(action, send, read) end
    end
    if opts.concurrency == nil and session.concurrency then opts.concurrency = session.concurrency end
    local t = connect(opts)
    sandbox.protect(t, "tracker client")
    return t
  end
  host.loaded.tracker = sandbox.freeze("tracker", facade)
  M.facade = facade
end

function Session:install()
  install(self.host)
  active = self
  return M.facade
end

-- The summary, the plan table, and the exit code. `stop` is what ended the run early.
function Session:finish(ok, msg, stop, where)
  self.progress:clear()
  local interrupted = stop == "interrupt" or self.host.interrupted()
  local status = interrupted and "interrupted" or (ok and "complete" or "failed")
  if self.journal then
    local unsettled = (self.counts.failed or 0) + (self.counts.unknown or 0)
    if status == "complete" and unsettled > 0 then status = "failed" end
    self.journal:finish(status)
  end
  if self.plan_file then self.plan_file:close() end
  if not ok and not interrupted and msg then stderr(report.bounded(msg), "\n") end
  local sum = self:summary(status, where)
  local out = self.out
  if self.json then
    io.stdout:write(self.host.json.encode(sum), "\n")
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
  if self.requests then
    local n = self.requests.requests - self.requests_before
    stderr(fmt("trk: %s HTTP request%s, %.1f s waiting for answers\n", report.thousands(n),
               n == 1 and "" or "s", self.requests.seconds - self.seconds_before))
  end
  if interrupted then return EXIT.interrupted end
  if not ok or sum.failed > 0 or sum.unknown > 0 then return EXIT.failed end
  return EXIT.ok
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
    errors = self.errors
  end
  return {
    rules = rules, errors = errors,
    mode = self.apply and "apply" or "plan", status = status, where = where ~= "" and where or nil,
    actions = self.nplanned, planned = c.planned or 0, applied = c.done or 0,
    skipped = c.skipped or 0, failed = c.failed or 0, unknown = c.unknown or 0,
    by_op = self.by_op, run = self.run, resumed = self.resumed or nil, state = self.state,
    elapsed = self.host.clock() - self.started,
  }
end

-- ---- trk run -------------------------------------------------------------------------------

local function identity(parts)
  return concat(parts, "\0")
end

function M.run(host, opts)
  local script = opts.script
  local chunk, msg, why = host.load(script)
  if not chunk then
    stderr("trk: ", report.bounded(msg), "\n")
    return why == "missing" and EXIT.usage or EXIT.failed
  end
  host.set_script_dir(script)
  local args = opts.args
  local arg = { [0] = script }
  for i, a in ipairs(args) do arg[i] = a end
  host.env.arg = arg
  local abs = report.absolute(script)
  local s, e = new_session(host, opts, {
    identity = identity({ "run", abs, table.unpack(args) }),
    command = concat({ "trk run", script, #args > 0 and "-- " .. concat(args, " ") or nil }, " "),
    default_state = dir_of(script) .. ".trk/state.db",
  })
  if not s then
    stderr("trk: ", e, "\n")
    return EXIT.failed
  end
  s.concurrency = opts.concurrency and math.tointeger(tonumber(opts.concurrency))
  s:install()
  local ok, err, stop, where = host.call(chunk, table.unpack(args))
  return s:finish(ok, err, stop, where)
end

-- ---- trk rules ------------------------------------------------------------------------------

local rules_mod = require "tracker.rules"
local ttime

-- Epoch seconds of a record's updated_at (a naive local time is read as UTC: without the
-- database's time zone nothing better is known, and the checkpoint margin covers it).
local function epoch_of(s)
  if type(s) ~= "string" then return nil end
  if not s:match("[Zz]$") and not s:match("[+-]%d%d:?%d%d$") then s = s .. "Z" end
  return ttime.parse(s)
end

local CHECKPOINT_MARGIN = 300   -- seconds: changes this close to the run's start are read again

-- One pass of every rule over what changed. Returns the exit code and whether to go on.
local function rules_pass(host, opts, list, t, s, methods)
  local budget = math.tointeger(tonumber(opts.rule_budget or "")) or 50000000
  local since_opt = opts.since and ttime.parse(opts.since)
  local now = host.now() or os.time()
  local started = os.time()
  local j = s.journal
  local store = j or s.store
  local stats, ok_all, stopped = {}, true, nil
  for _, rule in ipairs(list) do
    local id = rule.name             -- the store is the directory's own (by default)
    local cp = store and store:checkpoint(id)
    stats[#stats + 1] = { name = rule.name, file = rule.file, seen = 0, matched = 0, actions = 0,
                          failed = 0, errors = 0, skipped = 0, id = id,
                          since = cp and ttime.parse(cp) or since_opt or now, new = cp == nil }
    rule.stats = stats[#stats]
    rule.state = {}                  -- ctx.state lasts one pass
  end
  s.rule_stats = stats
  local errors = {}
  for _, stream in ipairs(rules_mod.streams(list)) do
    local from
    for _, rule in ipairs(stream.rules) do
      local r = rule.stats
      if rule.scan == "all" then from = false
      elseif from ~= false and (from == nil or r.since < from) then from = r.since end
    end
    local filter = {}
    for k, v in pairs(stream.filter) do filter[k] = v end
    if from then filter.updated_after = from end
    local newest = {}
    local function each(record)
      s.progress:record(stream.on)
      -- read once, raw: a rule gets its own copy of the record, so none can change what the
      -- runner or the next rule sees (or hide a loop in a metatable the runner would trip on)
      local id, change = rawget(record, "id"), tostring(rawget(record, "updated_at"))
      local at = epoch_of(rawget(record, "updated_at"))
      local nrules = #stream.rules
      for i, rule in ipairs(stream.rules) do
        local r = rule.stats
        if (rule.scan == "all" or (at and at >= r.since)) and rules_mod.matches(rule, record) then
          r.seen = r.seen + 1
          if at and (newest[rule] == nil or at > newest[rule]) then newest[rule] = at end
          if store and store:handled(r.id, stream.on, id, change) then
            r.skipped = r.skipped + 1
          else
            local ctx = { rule = rule.name, now = now, since = journal.iso(r.since),
                          apply = s.apply, state = rule.state }
            local scope = { pending = 0, failed = 0, rule = r.id, kind = stream.on,
                            id = id, change = change, stats = r, at = at }
            s.rule, s.scope = r, scope
            if j then j.scope = r.id .. "|" .. id end
            -- a rule's record is its own to change: a rule after it gets a fresh copy, nested
            -- tables (custom, raw) included
            local view
            if i < nrules then view = deep_copy(record)
            else
              view = {}
              for k, v in next, record do view[k] = v end
            end
            local ok, matched, why, where = host.budget_call(budget, rules_mod.invoke, rule,
                                                             view, t, ctx)
            s.rule, s.scope = nil, nil
            if not ok and why == "interrupt" then
              stopped = where
              return false
            elseif not ok then
              r.errors = r.errors + 1
              hold(r, at)
              ok_all = false
              errors[#errors + 1] = { rule = rule.name, file = rule.file, where = where,
                                      record = id, kind = stream.on,
                                      message = tostring(matched), budget = why == "budget" }
            elseif matched then
              r.matched = r.matched + 1
              if j then
                scope.returned = true
                s:settled(scope)
              end
            end
          end
        end
      end
      return true
    end
    local ok, e = host.call(function()
      -- opening the stream may raise (no credentials): that fails the pass, not trk, and
      -- the message is the client's alone (its place would be this line of trk's)
      local opened, it, st = pcall(methods[stream.on], t, filter)
      if not opened then error((tostring(it):gsub("^%[trk%] [%w_/]+%.lua:%d+: ", "")), 0) end
      local function loop()
        for record in it, st, nil, st do
          if not each(record) then break end
        end
      end
      return methods.batch(t, loop)
    end)
    if not ok then
      if host.interrupted() then stopped = stopped or "" else
        ok_all = false
        errors[#errors + 1] = { message = tostring(e), kind = stream.on }
      end
    end
    if stopped then break end
    if j and ok then
      for _, rule in ipairs(stream.rules) do
        local r = rule.stats
        local cp = math.min(newest[rule] or math.huge, started - CHECKPOINT_MARGIN)
        if r.new and not newest[rule] then cp = math.max(r.since, math.min(started - CHECKPOINT_MARGIN, now)) end
        if r.hold then cp = math.min(cp, r.hold) end
        cp = math.max(cp, r.since)
        j:set_checkpoint(r.id, stream.on, journal.iso(cp))
      end
    end
  end
  s.errors = errors
  return ok_all, stopped
end

function M.rules(host, opts)
  ttime = require("tracker").time        -- the host's own instance: scripts never see it
  local dir = opts.dir:gsub("(.)/+$", "%1")
  host.set_script_dir(dir .. "/")
  install(host)
  -- a rule file's top level is script code: budgeted, and stoppable by Ctrl-C
  local budget = math.tointeger(tonumber(opts.rule_budget or "")) or 50000000
  local ok, list = host.budget_call(budget, rules_mod.load_dir, dir, function() return host.env end)
  if not ok then
    stderr("trk rules: ", report.bounded(list), "\n")
    return EXIT.failed
  end
  if #list == 0 then
    stderr("trk rules: no rules in ", dir, " (a rule is a .lua file not ending in _spec.lua)\n")
    return EXIT.failed
  end
  local watch = opts.watch and report.seconds(opts.watch)
  local code                       -- each pass's exit status; the last one is trk's
  local passes = 0
  repeat
    local s, e = new_session(host, opts, {
      identity = identity({ "rules", report.absolute(dir) }),
      command = "trk rules " .. dir,
      default_state = dir .. "/.trk/state.db", reads_state = true,
    })
    if not s then
      stderr("trk rules: ", e, "\n")
      return EXIT.failed
    end
    s.concurrency = opts.concurrency and math.tointeger(tonumber(opts.concurrency))
    local cok, t = host.call(s:install().connect)
    if not cok then
      stderr("trk rules: ", report.bounded(t), "\n")
      return EXIT.failed
    end
    s.quiet_pass = watch and passes > 0       -- watching: an idle pass is one line
    passes = passes + 1
    -- the client's own methods, read where no script can write: the runner never calls
    -- through a field of t, which every rule is handed
    local methods = debug.getmetatable(t).__index
    local all_ok, stopped = rules_pass(host, opts, list, t, s, methods)
    methods.close(t)                      -- trk's own close: no script code runs in it
    code = s:finish(all_ok, nil, stopped and "interrupt" or nil, stopped)
    if s.journal then s.journal:close() end
    if s.store then s.store:close() end
    if not watch or code == EXIT.interrupted then break end
  until not host.sleep(watch)
  if host.interrupted() and code ~= EXIT.interrupted then
    stderr("trk rules: stopped watching (interrupted between two passes; nothing was in flight)\n")
    code = EXIT.interrupted
  end
  return code
end

-- ---- trk journal -----------------------------------------------------------------------------

function M.journal(host, opts)
  local path = opts.state or ".trk/state.db"
  local f = io.open(path, "r")
  if not f then
    stderr("trk journal: no state store at ", path, " (trk run --apply and trk rules --apply "
           .. "make one: .trk/state.db beside the script, DIR/.trk/state.db for rules; "
           .. "give --state FILE)\n")
    return EXIT.failed
  end
  f:close()
  local j, e = journal.open(host, path, "read")
  if not j then
    stderr("trk journal: ", e, "\n")
    return EXIT.failed
  end
  local out = report.journal(j, opts, host.json, report.output(host, opts))
  io.stdout:write(out)
  j:close()
  return EXIT.ok
end

-- ---- trk doctor ----------------------------------------------------------------------------

function M.doctor(host, opts)
  return require("trk.doctor").run(host, opts)
end

-- ---- trk test and trk init -----------------------------------------------------------------

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

-- The Lua paths where trk's modules and tracker.so are: an installed tree beside the
-- executable, or the build tree it was built in.
local function lua_paths(opts)
  local bin = dir_of(opts.exe)
  local prefix = bin .. "../"
  if exists(prefix .. "share/lua/5.4/tracker/testing.lua") then
    return prefix .. "share/lua/5.4/?.lua;" .. prefix .. "share/lua/5.4/?/init.lua",
           prefix .. "lib/lua/5.4/?.so"
  end
  return opts.source_dir .. "/scripts/?.lua", bin .. "?.so"
end

-- Where trk's LuaLS definitions are: installed beside the executable, or in the source tree it
-- was built from; nil when neither has them.
local function meta_dir(opts)
  local installed = (dir_of(opts.exe) .. "../share/trk/meta"):gsub("/[^/]+/%.%./", "/", 1)
  if exists(installed .. "/tracker.lua") then return installed end
  local source = (opts.source_dir or "") .. "/bindings/meta"
  if opts.source_dir and exists(source .. "/tracker.lua") then return source end
end

-- The first file called `name` in a directory of PATH, or nil.
local function on_path(name)
  for d in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    if exists(d .. "/" .. name) then return d .. "/" .. name end
  end
end

function M.test(host, opts)
  local lpath, cpath = lua_paths(opts)
  -- busted's script says `#!/usr/bin/env lua`, which may be any Lua version (lua-check brings
  -- 5.1): run it with lua5.4, the version tracker.so is built for.
  local busted = on_path("busted")
  if not busted then
    stderr("trk test: busted not found on PATH (it comes with the Debian package lua-busted)\n")
    return EXIT.failed
  end
  local argv = { "lua5.4", busted, "--lpath=./?.lua;./?/init.lua;./spec/?.lua" }   -- spec helpers too
  local out = report.output(host, opts)
  local paths, handler = 0, false
  for _, a in ipairs(opts.args) do
    argv[#argv + 1] = a
    -- a word that names no file is an option's value (`-o TAP`), not a path
    if a:sub(1, 1) ~= "-" and exists(a) then paths = paths + 1 end
    if a == "-o" or a:match("^%-%-output") or a:match("^%-o.") then handler = true end
  end
  if paths == 0 then argv[#argv + 1] = "." end
  if out.verbose then argv[#argv + 1] = "--verbose" end
  if not handler then
    if out.quiet then
      argv[#argv + 1] = "--output=trk.busted_quiet"
    elseif not out.out.on and host.isatty(1) then
      -- NO_COLOR on a terminal: busted's default output without colour (off a terminal it
      -- has none)
      argv[#argv + 1] = "-Xoutput"
      argv[#argv + 1] = "--plain"
    end
  end
  local env = {
    LUA_PATH_5_4 = lpath .. ";" .. (os.getenv("LUA_PATH_5_4") or os.getenv("LUA_PATH") or ";"),
    LUA_CPATH_5_4 = cpath .. ";" .. (os.getenv("LUA_CPATH_5_4") or os.getenv("LUA_CPATH") or ";"),
  }
  local _, e = host.exec(argv, env)
  stderr("trk test: ", e, " (lua5.4 comes with the Debian package lua5.4)\n")
  return EXIT.failed
end

function M.init(host, opts)
  local dir = opts.args[1]
  if dir == nil or opts.args[2] ~= nil then
    stderr("trk init: give one directory (trk init DIR)\n")
    return EXIT.usage
  end
  local out = report.output(host, opts)
  local meta = meta_dir(opts)
  -- a JSON string by hand: the encoder would write each / as \/, valid but hard to read
  local files = require("trk.scaffold").files(meta and '"' .. meta:gsub('[\\"]', "\\%0") .. '"')
  local listing = io.popen("ls -A -- " .. report.quote(dir) .. " 2>/dev/null")
  local present = listing and listing:read("l")
  if listing then listing:close() end
  if present then
    stderr("trk init: ", dir, " is not empty; give a new directory\n")
    return EXIT.failed
  end
  for _, f in ipairs(files) do
    local path = dir .. "/" .. f.path
    os.execute("mkdir -p " .. report.quote(dir_of(path)))
    local h, e = io.open(path, "w")
    if not h then
      stderr("trk init: cannot write ", e, "\n")
      return EXIT.failed
    end
    h:write(f.text)
    h:close()
    if out.verbose then
      io.stdout:write("created ", path, " (", report.thousands(#f.text), " bytes)\n")
    elseif not out.quiet then
      io.stdout:write("created ", path, "\n")
    end
  end
  if not out.quiet then
    io.stdout:write("\n", out.out.bold("Next:"), " cd ", dir, " && trk test && trk rules rules\n")
  end
  return EXIT.ok
end

return M
