-- trk.commands: the drivers of trk's commands (run, rules, journal, doctor, schema, test, init).
--
-- Host-side: the runtime (runtime/host.c) hands each driver the host table (loading scripts
-- into the sandbox, calls under an instruction budget, Ctrl-C, the SQLite store) and the
-- command line's options. A run's writes go through its session (trk.session); scripts never
-- see this module, the session or the journal.

local journal = require "trk.journal"
local report = require "trk.report"
local session = require "trk.session"
-- tracker.rules loads only for trk rules: every command pays for what it loads at start-up
local function rules_mod() return require "tracker.rules" end

local M = {}

local concat = table.concat
local EXIT = session.EXIT

local function stderr(...) io.stderr:write(...) end

local function dir_of(path)
  return path:match("^(.*/)") or ""
end

-- ---- trk run -------------------------------------------------------------------------------

local function identity(parts)
  return concat(parts, "\0")
end

function M.run(host, opts)
  local script = opts.script
  local chunk, msg, why = host.load(script)
  if not chunk then
    stderr("trk: ", report.bounded(host, msg), "\n")
    return why == "missing" and EXIT.usage or EXIT.failed
  end
  host.set_script_dir(script)
  local args = opts.args
  local arg = { [0] = script }
  for i, a in ipairs(args) do arg[i] = a end
  host.env.arg = arg
  local abs = report.absolute(script)
  local s, e = session.new(host, opts, {
    identity = identity({ "run", abs, table.unpack(args) }),
    command = concat({ "trk run", script, #args > 0 and "-- " .. concat(args, " ") or nil }, " "),
    default_state = dir_of(script) .. ".trk/state.db",
    once = true,            -- a job run again skips what an earlier run of it applied
  })
  if not s then
    stderr("trk: ", e, "\n")
    return EXIT.failed
  end
  s:install()
  local ok, err, stop, where = host.call(chunk, table.unpack(args))
  return s:finish(ok, err, stop, where)
end

-- ---- sessions -------------------------------------------------------------------------------

-- A session of a command that connects first (trk rules, trk apply) and its client: s, t; or
-- nil and the exit status, what went wrong said on stderr under `name`. A run the session
-- began is recorded as failed: nothing was sent.
local function connected(host, name, opts, what)
  local s, e = session.new(host, opts, what)
  if not s then
    stderr(name, ": ", e, "\n")
    return nil, EXIT.failed
  end
  local ok, t = host.call(s:install():module().connect)
  if not ok then
    stderr(name, ": ", report.bounded(host, t), "\n")
    if s.journal then s.journal:finish("failed") end
    s:close()
    return nil, EXIT.failed
  end
  return s, t
end

-- ---- trk rules ------------------------------------------------------------------------------

local CHECKPOINT_MARGIN = 300   -- seconds: changes this close to the run's start are read again

-- Where each rule starts: its checkpoint, or --since (for a new rule; for every rule when
-- `override`, saying so on stderr), or now; and which rules are new.
local function starts(store, list, since_opt, override, now)
  local ttime = require("tracker").time          -- the host's own instance: scripts never see it
  local checkpoints, new = {}, {}
  local overridden, newest = 0, nil
  for _, rule in ipairs(list) do
    local cp = store and store:checkpoint(rule.name)   -- the store is the directory's own
    checkpoints[rule] = cp and ttime.parse(cp) or since_opt or now
    new[rule] = cp == nil
    if cp and override then
      checkpoints[rule] = since_opt
      overridden = overridden + 1
      if newest == nil or cp > newest then newest = cp end    -- ISO UTC: text order is time order
    end
  end
  if overridden > 0 then
    stderr(("trk rules: --since %s overrides the checkpoint%s of %d rule%s (newest was %s)\n")
           :format(journal.iso(since_opt), overridden == 1 and "" or "s", overridden,
                   overridden == 1 and "" or "s", newest))
  end
  return checkpoints, new
end

-- One pass of every rule over what changed, through tracker.rules' runner (the one a rule's
-- spec runs too): the session's journal says what was handled, and where each rule's
-- checkpoint goes. `override`: --since, when given, overrides the checkpoints this pass.
-- Returns whether every rule ran clean, and where an interrupt stopped it.
local function rules_pass(host, opts, list, t, s, methods, override)
  local budget = opts.rule_budget   -- an integer, defaulted by the command line (runtime/main.c)
  local since_opt = opts.since       -- seconds since 1970
  local now = host.now() or os.time()
  local started = os.time()
  local j = s.journal
  local store = j or s.store
  local stats_of = {}
  local checkpoints, new = starts(store, list, since_opt, override and since_opt ~= nil, now)
  local stats, errors, stopped = rules_mod().run(list, t, {
    now = now, apply = s.apply, methods = methods,
    since = function(rule) return checkpoints[rule] end,
    state = function() return {} end,              -- ctx.state lasts one pass
    guard = function(f)
      local ok, e, why = host.call(f)
      return ok, e, not ok and (host.interrupted() and "interrupt" or why == "stop" and why) or nil
    end,
    call = function(f, ...) return host.budget_call(budget, f, ...) end,
    handled = store and function(st, kind, id, change) return store:handled(st.name, kind, id, change) end,
    baseline = function(rule) return new[rule] and since_opt == nil end,
    mark = j and function(st, kind, id, change) j:set_handled(st.name, kind, id, change) end,
    record = function(kind) s.progress:record(kind) end,
    before = function(st, kind, id, change, at, record)
      local scope = { pending = 0, failed = 0, rule = st.name, kind = kind, id = id,
                      change = change, stats = st, at = at, record = session.as_read(record) }
      s.rule, s.scope = st, scope
      if j then j.scope = st.name .. "|" .. id end
      return scope
    end,
    after = function(scope, ok, matched)
      s.rule, s.scope = nil, nil
      if j and ok and matched then
        scope.returned = true
        s:settled(scope)
      end
    end,
    stream_done = j and function(stream, ok)
      if not ok then return end
      for _, rule in ipairs(stream.rules) do
        local r = stats_of[rule]
        -- the run's own start (less the margin), not the records: they may carry no time
        -- (tracker-api.md §9.1); the newest change seen only lowers it, for a server whose
        -- clock is behind this machine's
        local cp = math.min(r.newest or math.huge, math.min(started, now) - CHECKPOINT_MARGIN)
        if r.hold then cp = math.min(cp, r.hold) end
        cp = math.max(cp, r.since)
        j:set_checkpoint(rule.name, stream.on, journal.iso(cp))
      end
    end,
    stats = function(rule, st)                     -- the session counts writes in them
      st.actions, st.failed, st.new = 0, 0, new[rule]
      stats_of[rule] = st
    end,
  })
  s.rule_stats, s.errors = stats, errors
  local ok_all = #errors == 0
  return ok_all, stopped
end

function M.rules(host, opts)
  local dir = opts.dir:gsub("(.)/+$", "%1")
  host.set_script_dir(dir .. "/")
  session.install(host)
  -- a rule file's top level is script code: budgeted, and stoppable by Ctrl-C
  local budget = opts.rule_budget   -- an integer, defaulted by the command line (runtime/main.c)
  local ok, list = host.budget_call(budget, rules_mod().load_dir, dir, function() return host.env end)
  if not ok then
    stderr("trk rules: ", report.bounded(host, list), "\n")
    return EXIT.failed
  end
  if #list == 0 then
    stderr("trk rules: no rules in ", dir, " (a rule is a .lua file not ending in _spec.lua)\n")
    return EXIT.failed
  end
  local watch = opts.watch          -- seconds
  local code                       -- each pass's exit status; the last one is trk's
  local passes = 0
  repeat
    local s, t = connected(host, "trk rules", opts, {
      identity = identity({ "rules", report.absolute(dir) }),
      command = "trk rules " .. dir,
      default_state = dir .. "/.trk/state.db", reads_state = true,
    })
    if not s then return t end
    s.quiet_pass = watch and passes > 0       -- watching: an idle pass is one line
    passes = passes + 1
    -- the client's own methods, read where no script can write: the runner never calls
    -- through a field of t, which every rule is handed
    local methods = debug.getmetatable(t).__index
    -- --since overrides the checkpoints once: later passes of --watch go on from the first's
    local all_ok, stopped = rules_pass(host, opts, list, t, s, methods, passes == 1)
    methods.close(t)                      -- trk's own close: no script code runs in it
    code = s:finish(all_ok, nil, stopped and (s.unreachable and "stop" or "interrupt") or nil,
                    stopped)
    s:close()
    if not watch or code == EXIT.interrupted or code == EXIT.unreachable then break end
  until not host.sleep(watch)
  if host.interrupted() and code ~= EXIT.interrupted then
    stderr("trk rules: stopped watching (interrupted between two passes; nothing was in flight)\n")
    code = EXIT.interrupted
  end
  return code
end

-- ---- trk apply -------------------------------------------------------------------------------

local function actions() return require("tracker").actions end

-- The writes of a --plan file: { action =, before =, n =, line = } in order, and the job
-- they belong to ({ identity =, state = }, when the plan names one); or nil and what is wrong,
-- naming the file and line. A write the plan cannot make again is refused here, before
-- anything is sent.
local function read_plan(host, path)
  local f, e = io.open(path, "r")
  if not f then return nil, "cannot read the plan: " .. tostring(e) end
  local list, line, job = {}, 0, nil
  local function bad(fmt_, ...)
    f:close()
    return nil, ("%s:%d: " .. fmt_):format(path, line, ...)
  end
  for text in f:lines() do
    line = line + 1
    if text:match("%S") then
      local ok, w = pcall(host.json.decode, text)
      if not ok or type(w) ~= "table" then
        return bad("not a line of a plan (trk run --plan FILE writes one JSON object a write)")
      end
      if w.rule ~= nil then
        return bad("a write of rule '%s': rules decide again on each pass, and mark each change "
                   .. "they handle; apply them with trk rules DIR --apply", tostring(w.rule))
      end
      local a = { op = w.op, target = w.target, payload = w.payload, key = w.key }
      local valid, why = actions().validate(a)
      if valid and type(a.key) ~= "string" then valid, why = false, "it has no key" end
      if not valid then return bad("%s", why) end
      if not actions().entry(a.op).replay then
        return bad("%s cannot be applied from a plan (%s); run the script with --apply", a.op,
                   a.op == "attach" and "the plan does not hold the file's bytes"
                   or "trk cannot make it again from its payload")
      end
      local wj = type(w.job) == "table" and type(w.job.identity) == "string"
                 and type(w.job.state) == "string" and w.job or nil
      if #list > 0 and (wj and wj.identity) ~= (job and job.identity) then
        return bad("this write is of another job than the lines before it: one plan file, one "
                   .. "dry run")
      end
      job = wj
      list[#list + 1] = { action = a, before = w.before, n = math.tointeger(w.n), line = line }
    end
  end
  f:close()
  return list, job
end

-- The records a plan's updates saw that hold other values now: one line each. A field a read
-- does not show is not asked about, nor a write the job has applied already, nor a field that
-- holds what the write sets (a resumed apply's own write). Raises when Tracker is unreachable.
local function stale(t, s, plan)
  local out = {}
  local cat, store = actions(), s.journal
  for _, w in ipairs(plan) do
    local a = w.action
    local ident = store:ident(a)
    if type(w.before) == "table" and not store:applied(s.what.identity, ident, true) then
      local now, e = cat.read_current(t, a)
      if not now then
        if type(e) == "table" and e.code == "unreachable" then error(e, 0) end
        out[#out + 1] = ("%s %s: could not be read (%s)"):format(a.target.kind, a.target.id,
                                                                  tostring(e and e.message or e))
      else
        local sets = cat.sets(a.op, a.payload) or {}
        for field, was in pairs(w.before) do
          local cur = now[field]
          if cur ~= nil and not cat.same(cur, was) and not cat.same(cur, sets[field]) then
            out[#out + 1] = ("%s %s: %s was %s when planned, and is %s now"):format(
              a.target.kind, a.target.id, field, cat.shown(was), cat.shown(cur))
          end
        end
      end
    end
  end
  store.seen = {}          -- the writes count their occurrences afresh
  table.sort(out)
  return out
end

-- Ids a plan gave the records it would create (actions.PLANNED_ID + the write's number),
-- replaced by the ids those creates answered, in a target and a payload.
local function real_ids(a, made)
  local function swap(v) return made[math.tointeger(v) or false] or v end
  a.target.id = swap(a.target.id)
  for k, v in pairs(a.payload) do a.payload[k] = swap(v) end
end

-- trk apply PLAN: the plan's writes, journalled as the job that planned them (its identity and
-- store), so that a run of that job after it finds them applied, and it finds theirs.
function M.apply(host, opts)
  local path = opts.plan_file
  local plan, job = read_plan(host, path)
  if not plan then
    stderr("trk apply: ", job, "\n")
    return EXIT.failed
  end
  if #plan == 0 then
    stderr("trk apply: ", path, " holds no writes; nothing to send\n")
    return EXIT.ok
  end
  session.install(host)
  local s, t = connected(host, "trk apply", {
    apply = true, state = opts.state or (job and job.state), json = opts.json,
    output = opts.output, profile = opts.profile, yes = opts.yes,
    outage_budget = opts.outage_budget, rebind = opts.rebind,
  }, {
    identity = job and job.identity or identity({ "apply", report.absolute(path) }),
    command = "trk apply " .. path,
    default_state = dir_of(path) .. ".trk/state.db", once = true,
  })
  if not s then return t end
  local made, ok_all, changed = {}, true, nil
  local ok, err, stop, where = host.call(function()
    changed = stale(t, s, plan)
    if #changed > 0 then return end
    for _, w in ipairs(plan) do
      if host.interrupted() then break end
      local a = w.action
      real_ids(a, made)
      -- the session's guard decides: applied already, a conflict, or sent
      local answer = actions().replay(t, a)
      if answer == nil then ok_all = false end
      if actions().entry(a.op).creates and type(answer) == "table" and w.n then
        made[actions().PLANNED_ID + w.n] = math.tointeger(answer.id)
      end
    end
  end)
  debug.getmetatable(t).__index.close(t)
  if ok and #changed > 0 then
    stderr(("trk apply: the plan is stale: %d record%s changed since it was made, so nothing "
            .. "was sent; make the plan again:\n  %s\n"):format(#changed, #changed == 1 and "" or "s",
                                                           table.concat(changed, "\n  ")))
    s.journal:finish("failed")           -- a run that sent nothing: no summary to read
    s:close()
    return EXIT.failed
  end
  local code = s:finish(ok and ok_all, err, stop, where)
  s:close()
  return code
end

-- ---- trk journal and trk checkpoints -----------------------------------------------------------

-- Whether path names a directory: "path/." opens only when it does.
local function is_dir(path)
  local f = io.open(path .. "/.", "r")
  if f then f:close() end
  return f ~= nil
end

-- The state store a command reads: --state FILE, or the one of the rules directory or script
-- it was given (opts.target), or .trk/state.db here. nil, message when it cannot tell.
local function store_path(opts)
  local target = opts.target
  if target and opts.state then
    return nil, ("give %s or --state FILE, not both"):format(target)
  end
  if opts.state then return opts.state end
  -- a profile's runs keep a store of their own (session.state_path), and so does this
  local profile = opts.profile or os.getenv("TRK_PROFILE")
  if profile == "" then profile = nil end
  local function under(path) return session.state_path(path, profile) end
  if target == nil then return under(".trk/state.db") end
  if is_dir(target) then return under((target:gsub("(.)/+$", "%1")) .. "/.trk/state.db") end
  local f = io.open(target, "r")
  if not f then
    return nil, ("%s: no such directory or file (give a rules directory, a script, or --state "
                 .. "FILE)"):format(target)
  end
  f:close()
  return under(dir_of(target) .. ".trk/state.db")          -- a script's: beside it
end

-- The stores in the directory of `path` (.trk/state*.db), as words for a message.
local function stores_beside(path)
  local p = io.popen("ls -1 -- " .. report.quote(dir_of(path)) .. " 2>/dev/null")
  local names = {}
  for name in (p and p:read("a") or ""):gmatch("[^\n]+") do
    if name:match("^state.*%.db$") then names[#names + 1] = dir_of(path) .. name end
  end
  if p then p:close() end
  return names
end

-- A usage error, said as the command line's own are (runtime/cli.c).
local function usage_error(command, message)
  stderr("trk ", command, ": ", message, "\nRun 'trk help ", command, "' for usage.\n")
  return EXIT.usage
end

-- Opens the store a command reads (mode as journal.open's); nil after saying why on stderr.
local function open_store(host, command, opts, mode)
  local path, e = store_path(opts)
  if not path then return nil, usage_error(command, e) end
  local f = io.open(path, "r")
  if not f then
    local others = stores_beside(path)
    stderr("trk ", command, ": no state store at ", path, " (trk run --apply and trk rules "
           .. "--apply make one: .trk/state.db beside the script, DIR/.trk/state.db for rules, "
           .. "state-NAME.db under --profile NAME; give the script, DIR, --profile or --state "
           .. "FILE)", #others > 0 and ("; there: " .. table.concat(others, ", ")) or "", "\n")
    return nil, EXIT.failed
  end
  f:close()
  local j
  j, e = journal.open(host, path, mode)
  if not j then
    stderr("trk ", command, ": ", e, "\n")
    return nil, EXIT.failed
  end
  return j
end

function M.journal(host, opts)
  if opts.created and opts.failed then
    return usage_error("journal", "give --created or --failed, not both")
  end
  local j, code = open_store(host, "journal", opts, "read")
  if not j then return code end
  local path = j.path
  if opts.run then                          -- a run that is not there is an error, not "no actions"
    local ids, known = {}, false
    for _, r in ipairs(j:runs()) do
      ids[#ids + 1] = r.id
      known = known or r.id == opts.run
    end
    if not known then
      stderr(("trk journal: %s holds no run %d (%s)\n"):format(path, opts.run,
             #ids == 0 and "it holds no runs yet"
             or #ids == 1 and ("its only run is " .. ids[1])
             or ("its runs are " .. ids[1] .. " to " .. ids[#ids])))
      j:close()
      return EXIT.failed
    end
  end
  if opts.created then
    local list = j:created(opts.run)
    j:close()
    io.stdout:write(report.created(list, opts.json, host.json))
    -- a create settled by reading the record back left no answer: its id is not known
    local unknown = 0
    for _, c in ipairs(list) do
      if c.id == nil then
        unknown = unknown + 1
        stderr(("trk journal: run %d, action %d (%s) created a %s whose id the journal does "
                .. "not hold (its outcome was settled by reading it back); look for it in "
                .. "Tracker\n"):format(c.run, c.seq, c.op, c.kind))
      end
    end
    return unknown > 0 and EXIT.failed or EXIT.ok
  end
  local out = report.journal(j, opts, host.json, report.output(host, opts))
  io.stdout:write(out)
  j:close()
  return EXIT.ok
end

-- "the rules it holds are a, b (did you mean 'a'?)": for a rule the store has no checkpoint of.
local function unknown_rule(j, rule)
  local names = {}
  for _, c in ipairs(j:checkpoints()) do names[#names + 1] = c.rule end
  if #names == 0 then return ("%s holds no checkpoints yet"):format(j.path) end
  return ("%s holds no checkpoint of rule '%s'%s (its rules: %s)"):format(
    j.path, rule, require("tracker").suggest(rule, names), concat(names, ", "))
end

-- Rewinds or resets checkpoints in j, a store open for writing; answers the exit code.
local function steer(j, opts, out)
  local holder = j:holder()
  if holder then
    stderr(("trk checkpoints: %s is in use by trk (process %d, run %d: %s); wait for it to "
            .. "finish, or stop it, then try again\n"):format(j.path, holder.pid, holder.id,
                                                              holder.command))
    return EXIT.failed
  end
  local say = not out.quiet and function(...) io.stdout:write(...) end or function() end
  if opts.reset_all then
    local n = j:reset(nil)
    say(("reset the checkpoints of %d rule%s: each starts as a new rule on its next pass\n")
        :format(n, n == 1 and "" or "s"))
    return EXIT.ok
  end
  local rule = opts.rewind or opts.reset
  local cp = j:checkpoint(rule)
  if cp == nil then
    stderr("trk checkpoints: ", unknown_rule(j, rule), "\n")
    return EXIT.failed
  end
  if opts.reset then
    j:reset(rule)
    say(("reset rule %s (its checkpoint was %s): it starts as a new rule on its next pass\n")
        :format(rule, cp))
    return EXIT.ok
  end
  local now = os.time()
  if opts.to > now then
    stderr(("trk checkpoints: --to %s is after now (%s): a checkpoint is a time up to which the "
            .. "rule has seen every change; give a time not after now\n"):format(
            journal.iso(opts.to), journal.iso(now)))
    return EXIT.failed
  end
  local kind
  for _, c in ipairs(j:checkpoints()) do if c.rule == rule then kind = c.kind end end
  j:set_checkpoint(rule, kind, journal.iso(opts.to))
  say(("moved rule %s's checkpoint from %s to %s\n"):format(rule, cp, journal.iso(opts.to)))
  return EXIT.ok
end

function M.checkpoints(host, opts)
  -- one thing at a time, each with what it needs
  local asked = (opts.rewind and 1 or 0) + (opts.reset and 1 or 0) + (opts.reset_all and 1 or 0)
  local usage
  if asked > 1 then usage = "give one of --rewind RULE, --reset RULE and --reset-all"
  elseif opts.rewind and not opts.to then
    usage = ("--rewind %s needs --to TIME (example: --to 2026-11-01T00:00:00Z)"):format(opts.rewind)
  elseif opts.to and not opts.rewind then usage = "--to goes with --rewind RULE"
  elseif opts.json and asked > 0 then usage = "--json lists checkpoints; it does not go with "
    .. "--rewind or --reset"
  elseif opts.reset and opts.reset:sub(1, 1) == "-" then
    usage = ("--reset: '%s' is not a rule's name (every rule: --reset-all)"):format(opts.reset)
  end
  if usage then return usage_error("checkpoints", usage) end
  local out = report.output(host, opts)
  local mode = "read"                 -- listing leaves the file as it is
  if asked > 0 then mode = false end  -- an existing store, to write
  local j, code = open_store(host, "checkpoints", opts, mode)
  if not j then return code end
  if asked > 0 then
    code = steer(j, opts, out)
  else
    io.stdout:write(report.checkpoints(j:checkpoints(), opts.json, host.json, out))
    code = EXIT.ok
  end
  j:close()
  return code
end

-- ---- trk doctor ----------------------------------------------------------------------------

function M.doctor(host, opts)
  local recording, rerr = require("trk.record").start(host, opts)   -- --record DIR
  if not recording then
    stderr("trk doctor: ", rerr, "\n")
    return EXIT.usage
  end
  return require("trk.doctor").run(host, opts)
end

-- ---- trk schema export ---------------------------------------------------------------------

function M.schema(host, opts)
  return require("trk.schema").export(host, opts)
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
