-- tracker.testing: the busted kit for rules. Fixture builders, an in-process emulator with a
-- fixed clock, rules loaded in trk's sandbox environment, runs that plan instead of writing,
-- and assertions on the plan. docs/testing.md is the guide.
--
--   local testing = require "tracker.testing"
--   local rule = testing.load_rule("interview_note.lua")
--   local app = testing.application{ stage = "Interview" }
--   local t = testing.emulator{ app }
--   local actions = testing.run_rule(rule, t)
--   assert.planned(actions, { op = "add_note", target = app })

local tracker = require "tracker"
local emulator = require "tracker.emulator"
local rules = require "tracker.rules"
local sandbox = require "tracker.sandbox"
local builders = require "tracker.testing.fixtures"
local asserts = require "tracker.testing.asserts"
local json = require "json"
local cassette = require "tracker.emulator.cassette"
local replay = require "tracker.emulator.replay"

local M = {}

local type, pairs, ipairs, next, tostring, error, pcall, select, setmetatable, load =
      type, pairs, ipairs, next, tostring, error, pcall, select, setmetatable, load
local floor = math.floor
local fmt, gsub, match, sub = string.format, string.gsub, string.match, string.sub
local concat = table.concat

M.default_now = "2026-11-01T00:00:00Z"     -- the fixed clock of every emulator unless opts.now
local CREDENTIALS = { apikey = "spec-key", username = "spec@example.com", api_token = "spec-token" }
local ZONE = builders.ZONE
local epoch_of, data_of = builders.epoch_of, builders.data_of

M.job, M.candidate, M.application, M.note = builders.job, builders.candidate, builders.application,
                                            builders.note
M.client, M.contact, M.lead = builders.client, builders.contact, builders.lead
M.placement = builders.placement
M.contains, M.describe = asserts.contains, asserts.describe

local function read_text(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- ---- emulators and clients -----------------------------------------------------------------

local clients = setmetatable({}, { __mode = "k" })   -- t -> { emu =, clock = }
local recording        -- the actions of the run in progress, or nil (writes are sent as usual)
local applying         -- whether that run sends its writes too (opts.apply)

-- The sink of every kit client: during a run each write is listed, and planned (answered as a
-- dry run of trk answers it, from the action catalog) or, with opts.apply, sent too. Outside a
-- run writes are sent.
local recorder = { write = function(_, action, send)
  if recording then
    recording[#recording + 1] = action
    if not applying then
      return tracker.actions.planned(action, tracker.actions.PLANNED_ID + #recording)
    end
  end
  return send()
end }

-- A schema file's metadata (emulator.schema_from_json), or raises naming the option.
local function schema_of(path)
  if type(path) ~= "string" then
    error("testing.emulator: option 'schema' must be the path of a schema file "
          .. "(trk schema export FILE)", 3)
  end
  local f, why = io.open(path, "rb")
  if not f then error("testing.emulator: option 'schema': cannot read " .. tostring(why), 3) end
  local text = f:read("a")
  f:close()
  local ok, meta = pcall(emulator.schema_from_json, text, path)
  if not ok then error("testing.emulator: option 'schema': " .. tostring(meta), 3) end
  return meta
end

local OPTIONS = { now = true, timezone = true, dialect = true, schema = true }
local GENERATED = { now = true, timezone = true, dialect = true, schema = true, seed = true,
                    candidates = true, jobs = true }

-- testing.emulator(fixtures [, opts]) -> t: a client of a new in-process emulator holding the
-- fixtures (a list of built fixtures, or emulator data such as emulator.generate{} makes).
-- opts.now: the fixed clock (ISO time or epoch; default M.default_now); opts.timezone = false:
-- a client that does not know the database's zone (records then carry naive local times);
-- opts.dialect: the emulator's dialect (tracker.emulator.dialects; default its DEFAULT);
-- opts.schema: a schema file (`trk schema export`) whose custom fields, lists, stages, statuses
-- and users the database has, the fixtures' custom fields and stages naming them.
-- testing.emulator{ schema = FILE [, seed = S, candidates = N, jobs = N, now, timezone,
-- dialect] }: a database generated with that schema (emulator.generate{ schema = }), its
-- records updated before the clock.
function M.emulator(fixtures, opts)
  local generated
  if type(fixtures) == "table" and fixtures.schema ~= nil and opts == nil then
    generated, opts, fixtures = fixtures, fixtures, nil
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("testing.emulator: argument 2 must be a table of options", 2) end
  local allowed = generated and GENERATED or OPTIONS
  for k in pairs(opts) do
    if not allowed[k] then
      error(fmt("testing.emulator: unknown option '%s' (options: %s)", tostring(k),
                generated and "schema, seed, candidates, jobs, now, timezone, dialect"
                or "now, timezone, dialect, schema"), 2)
    end
  end
  local meta = opts.schema ~= nil and schema_of(opts.schema) or nil
  if opts.dialect ~= nil and not emulator.dialects.DIALECTS[opts.dialect] then
    error(fmt("testing.emulator: option 'dialect' must be one of %s, got '%s'",
              concat(emulator.dialects.names(), ", "), tostring(opts.dialect)), 2)
  end
  if opts.timezone ~= nil and opts.timezone ~= false then
    error("testing.emulator: option 'timezone' can only be false (the emulator's zone is UTC)", 2)
  end
  if fixtures ~= nil and type(fixtures) ~= "table" then
    error("testing.emulator: argument 1 must be a list of fixtures or emulator data", 2)
  end
  local clock = { now = epoch_of("testing.emulator: option 'now'", opts.now or M.default_now) }
  local emu = emulator.new{ apikey = CREDENTIALS.apikey, username = CREDENTIALS.username,
                            api_token = CREDENTIALS.api_token, timezone = ZONE,
                            dialect = opts.dialect, clock = function() return clock.now end }
  fixtures = fixtures or {}
  if generated then
    local ok, data = pcall(emulator.generate, { schema = meta, seed = opts.seed,
      candidates = opts.candidates, jobs = opts.jobs, now = clock.now, timezone = ZONE })
    if not ok then error(gsub(tostring(data), "^emulator%.generate", "testing.emulator"), 2) end
    emu:load(data)
  elseif fixtures[1] == nil and next(fixtures) ~= nil then
    if meta then
      error("testing.emulator: option 'schema' goes with built fixtures; emulator data brings "
            .. "its own metadata", 2)
    end
    emu:load(fixtures)                                  -- raw emulator data
  else
    if meta then emu:load(meta) end                     -- the fixtures name its fields, stages
    local data = data_of(emu:state(), fixtures, clock.now)
    if meta then
      for _, k in ipairs({ "lists", "customfields", "customfieldlists", "users" }) do
        data[k] = meta[k]
      end
    end
    emu:load(data)
  end
  local mono = 0.0      -- the client's own clock: only retries would sleep on it
  local zone = ZONE
  if opts.timezone == false then zone = false end
  -- a database whose settings list no stages is used with them configured (docs/configuration.md):
  -- the client is given the fixtures' stages, as a user gives theirs
  local stages = not emu.dialect.settings_stages and emu:stages() or nil
  local t = tracker.connect({ transport = emu, rate_limit = false, timezone = zone, stages = stages,
                              clock = function() return mono end,
                              sleep = function(s) mono = mono + s end }, recorder)
  clients[t] = { emu = emu, clock = clock }
  return t
end

-- testing.replay(dir [, opts]) -> t: a client of a recording (`--record DIR` made
-- DIR/cassette.jsonl; tracker.emulator.replay serves it), with the settings it was made with,
-- for testing.run_rule: a rule run against a user's recorded database. Its clock is the time
-- of the recording (opts.now: another). testing.emulator_of(t) is the replay: a transport for
-- tracker.connect{ transport = ... }, whose unplayed() lists what no request has met.
function M.replay(dir, opts)
  opts = opts or {}
  if type(dir) ~= "string" then error("testing.replay: argument 1 must be a directory", 2) end
  if type(opts) ~= "table" then error("testing.replay: argument 2 must be a table of options", 2) end
  for k in pairs(opts) do
    if k ~= "now" then
      error(fmt("testing.replay: unknown option '%s' (options: now)", tostring(k)), 2)
    end
  end
  local path = gsub(dir, "/+$", "") .. "/" .. cassette.FILE
  local text = read_text(path)
  if not text then
    error(fmt("testing.replay: no cassette at %s (record one with `trk rules DIR --record %s`)",
              path, dir), 2)
  end
  local r = replay.new(text, path)
  local settings = r:settings()
  r.apikey, r.username, r.api_token = CREDENTIALS.apikey, CREDENTIALS.username,
                                      CREDENTIALS.api_token      -- any are accepted
  r.timezone = settings.timezone
  local clock = { now = epoch_of("testing.replay: option 'now'", opts.now or r.header.recorded) }
  r.now = function() return clock.now end                    -- the client's epoch (connect)
  local mono = 0.0
  local t = tracker.connect({ transport = r, rate_limit = false,
                              clock = function() return mono end,
                              sleep = function(sec) mono = mono + sec end }, recorder, settings)
  clients[t] = { emu = r, clock = clock }
  return t
end

-- What the kit keeps of a client it made: { emu =, clock = }; raises when t is not one.
local function client_record(fname, t)
  local k = clients[t]
  if not k then error(fname .. ": argument 1 must be a client from testing.emulator", 3) end
  return k
end

-- The fixed clock (epoch seconds) of t's emulator, or the default one.
function M.now(t)
  if t == nil then return epoch_of("testing.now", M.default_now) end
  return client_record("testing.now", t).clock.now
end

-- Moves t's clock forward by `seconds` (or to an ISO time when given a string).
function M.advance(t, by)
  local k = client_record("testing.advance", t)
  if type(by) == "string" then k.clock.now = epoch_of("testing.advance", by)
  elseif type(by) == "number" then k.clock.now = k.clock.now + floor(by)
  else error("testing.advance: argument 2 must be seconds or an ISO time", 2) end
  return k.clock.now
end

-- The emulator's live data (raw Tracker field names), for assertions on what was sent.
function M.state(t)
  return client_record("testing.state", t).emu:state()
end

-- The emulator itself (emu:get(kind, id), emu:set_faults{...}).
function M.emulator_of(t)
  return client_record("testing.emulator_of", t).emu
end

-- ---- rules in trk's sandbox ----------------------------------------------------------------

local logbuf          -- lines logged or printed during the run in progress, or nil

local function emit(level, ...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  local text = concat(parts, level == "print" and "\t" or " ")
  if logbuf then
    logbuf[#logbuf + 1] = { level = level, text = text }
  else
    io.stderr:write(level == "print" and "" or level .. ": ", text, "\n")
  end
end

local function not_granted(name)
  return function()
    error("files." .. name .. ": not granted in a spec (a rule gets no --input or --output files)", 2)
  end
end

-- trk's require for one rule's environment (tracker.sandbox's, as in trk): tracker, json,
-- the shipped tracker.* libraries (from the Lua path) and .lua files beside the rule, loaded as
-- text into the same environment; trk's own trk.* modules are refused.
local function finder(env, dir)
  return function(name)
    if sub(name, 1, 4) == "trk." then
      return false, fmt("module '%s' is part of trk itself (scripts/trk/: its commands, journal "
                        .. "and reports), not a library a script may require", name)
    end
    local path = sub(name, 1, 8) == "tracker." and package.searchpath(name, package.path) or nil
    local text = path and read_text(path)
    if not text then
      path = dir .. gsub(name, "%.", "/") .. ".lua"
      text = read_text(path)
    end
    if not text then return nil, path end
    local chunk, why = load(text, "@" .. path, "t", env)
    if not chunk then return false, fmt("error loading module '%s':\n\t%s", name, why) end
    return chunk
  end
end

-- The environment trk gives a rule at `path`: tracker.sandbox's allowlist over this Lua.
function M.environment(path)
  local dir = match(path, "^(.*[/\\])") or ""
  local env, req
  env = sandbox.build{ source = _G, overrides = {
    print = function(...) emit("print", ...) end,
    log = { info = function(...) emit("info", ...) end, warn = function(...) emit("warn", ...) end,
            error = function(...) emit("error", ...) end },
    files = { open = not_granted("open"), create = not_granted("create") },
    json = json,
    require = function(name) return req(name) end,     -- a tail call: errors point at the rule
  } }
  req = sandbox.requirer{ loaded = { json = env.json }, find = finder(env, dir),
                          builtin = { tracker = function() return tracker end } }
  return env
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- testing.load_rule(path) -> rule: a relative path is looked for from the current directory,
-- then beside the spec that calls.
function M.load_rule(path)
  if type(path) ~= "string" then error("testing.load_rule: argument 1 must be a path", 2) end
  if not exists(path) and not match(path, "^/") then
    local _, caller = sandbox.user_where(1)
    local src = caller and caller.source or ""
    local dir = sub(src, 1, 1) == "@" and match(sub(src, 2), "^(.*[/\\])")
    if dir and exists(dir .. path) then path = dir .. path end
  end
  return rules.load(path, M.environment(path))
end

-- ---- runs ----------------------------------------------------------------------------------

local RUN_OPTS = { since = true, catch = true, state = true, apply = true }

-- testing.run_rule(rule, t [, opts]) -> actions, summary: the rule run by the runner of
-- `trk rules` itself (tracker.rules.run), each write planned instead of sent, the plan answered
-- in order with { seen =, matched =, planned =, errors = { { id =, message = } }, log = { {
-- level =, text = } } }.
-- opts.since: the rule's checkpoint (scan = "changes" sees records updated since; default: all);
-- opts.catch: record errors and go on (default: a rule's error fails the spec);
-- opts.state: the table ctx.state starts as (default: a fresh one);
-- opts.apply: send the writes as well (as `trk rules --apply`), e.g. to check that a second
-- run plans nothing.
function M.run_rule(rule, t, opts)
  opts = opts or {}
  for k in pairs(opts) do
    if not RUN_OPTS[k] then
      error(fmt("testing.run_rule: unknown option '%s' (options: since, catch, state, apply)", tostring(k)), 2)
    end
  end
  if type(rule) ~= "table" then error("testing.run_rule: argument 1 must be a rule", 2) end
  if rule.file == nil then rule = rules.check(rule, "rule") end
  local k = client_record("testing.run_rule", t)
  if recording then error("testing.run_rule: a run is already in progress", 2) end
  local since = opts.since ~= nil and epoch_of("testing.run_rule: option 'since'", opts.since) or nil
  local actions, summary = {}, { seen = 0, matched = 0, errors = {}, log = {} }
  asserts.summary(summary)
  recording, applying, logbuf = actions, opts.apply == true, summary.log
  local ok, stats, errors, stopped = pcall(rules.run, { rule }, t, {
    now = k.clock.now, apply = opts.apply == true, methods = debug.getmetatable(t).__index,
    since = function() return since end,
    state = function() return opts.state or {} end,
    stop_on_error = not opts.catch,
  })
  recording, applying, logbuf = nil, false, nil
  if not ok then error(stats, 0) end
  for _, e in ipairs(errors) do
    if stopped == false or e.rule == nil then error(e.message, 0) end   -- a spec without catch
    summary.errors[#summary.errors + 1] = { id = e.record, message = e.message }
  end
  summary.seen, summary.matched, summary.planned = stats[1].seen, stats[1].matched, #actions
  return actions, summary
end

-- A mistake in a spec (an unknown option, a time that is not one, a rule file that is not
-- there) is reported at the spec's line, not at the kit's: every function of the kit raises
-- what fails in it from there (a rule's own error keeps the rule's line).
local pack, unpack = table.pack, table.unpack
for name, f in pairs(M) do
  if type(f) == "function" then
    M[name] = function(...)
      local r = pack(pcall(f, ...))
      if r[1] then return unpack(r, 2, r.n) end
      local e = r[2]
      if type(e) == "string" then e = sandbox.explain(e, (sandbox.user_where(1))) end
      error(e, 0)
    end
  end
end

return M
