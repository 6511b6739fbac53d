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
local json = require "json"
local luassert = require "luassert"
local say = require "say"

local M = {}

local type, pairs, ipairs, next, tostring, error, pcall, select, setmetatable, load =
      type, pairs, ipairs, next, tostring, error, pcall, select, setmetatable, load
local tointeger, mtype, floor = math.tointeger, math.type, math.floor
local fmt, lower, find, gsub, match, sub =
      string.format, string.lower, string.find, string.gsub, string.match, string.sub
local concat, sort = table.concat, table.sort

M.default_now = "2026-11-01T00:00:00Z"     -- the fixed clock of every emulator unless opts.now
local CREDENTIALS = { apikey = "spec-key", username = "spec@example.com", api_token = "spec-token" }
local ZONE = "UTC"                           -- records carry Z times
local FIRST_ID = { job = 1001, candidate = 188001, application = 70001, activity = 500001 }

-- ---- time ----------------------------------------------------------------------------------

-- Epoch seconds of an ISO 8601 time (or a date) or of epoch seconds; raises naming `what`.
local function epoch_of(what, v)
  if mtype(v) == "integer" then return v end
  if type(v) == "number" then return floor(v) end
  local e, why
  if type(v) == "string" then e, why = tracker.time.parse(v) end
  if not e then
    error(fmt("%s: expected an ISO 8601 time such as 2026-10-01T09:00:00Z or epoch seconds (%s)",
              what, why or type(v)), 0)
  end
  return e
end

-- The emulator's naive local text ("2026-10-01 09:00:00") of an instant.
local function stored(epoch) return tracker.time.to_local(epoch, ZONE) end

-- ---- fixture builders ----------------------------------------------------------------------

local specs = setmetatable({}, { __mode = "k" })   -- fixture -> what its builder was given
local next_id = {}
for k, v in pairs(FIRST_ID) do next_id[k] = v end

local FIELDS = {
  job = { "id", "name", "status", "description", "location", "department", "opened_on",
          "custom", "updated_at", "raw" },
  candidate = { "id", "first_name", "last_name", "name", "email", "other_email", "job_title",
                "company", "phone", "town", "county", "country", "source", "status",
                "linkedin", "availability", "tags", "custom", "created_at", "updated_at", "raw" },
  application = { "id", "candidate", "job", "stage", "list", "by", "source", "custom",
                  "created_at", "updated_at", "raw" },
  note = { "id", "on", "subject", "text", "type", "custom", "updated_at", "raw" },
}

local function checked(kind, fields)
  local fname = "testing." .. kind
  if type(fields) ~= "table" then
    error(fmt("%s: expected a table of fields, got %s", fname, type(fields)), 3)
  end
  local allowed = {}
  for _, k in ipairs(FIELDS[kind]) do allowed[k] = true end
  for k in pairs(fields) do
    if not allowed[k] then
      error(fmt("%s: unknown field '%s' (fields: %s)", fname, tostring(k),
                concat(FIELDS[kind], ", ")), 3)
    end
  end
  local id = fields.id
  if id ~= nil and (mtype(id) ~= "integer" or id <= 0) then
    error(fmt("%s: 'id' must be a positive integer", fname), 3)
  end
  local record_kind = kind == "note" and "activity" or kind
  if id == nil then
    id = next_id[record_kind]
    next_id[record_kind] = id + 1
  elseif id >= next_id[record_kind] then
    next_id[record_kind] = id + 1
  end
  return id, record_kind
end

-- A fixture: the fields it was given plus kind and id, so `target = fixture` in assertions and
-- t:application(fixture.id) both work.
local function fixture(kind, fields, extra)
  local id, record_kind = checked(kind, fields)
  local f = { kind = record_kind, id = id }
  for k, v in pairs(fields) do if k ~= "raw" and k ~= "custom" then f[k] = v end end
  for k, v in pairs(extra or {}) do f[k] = v end
  specs[f] = { builder = kind, fields = fields }
  return f
end

local function is_fixture(v, kind)
  return type(v) == "table" and specs[v] ~= nil and (kind == nil or v.kind == kind)
end

function M.job(fields)
  fields = fields or {}
  return fixture("job", fields, { name = fields.name or "Software Engineer" })
end

function M.candidate(fields)
  fields = fields or {}
  local first, last = fields.first_name, fields.last_name
  if fields.name ~= nil then
    if type(fields.name) ~= "string" then error("testing.candidate: 'name' must be a string", 2) end
    first = first or match(fields.name, "^(%S+)")
    last = last or match(fields.name, "^%S+%s+(.-)%s*$")
  end
  first, last = first or "Test", last or "Candidate"
  local f = fixture("candidate", fields, { first_name = first, last_name = last,
                                           name = first .. " " .. last })
  -- a unique address unless told otherwise (email = false: none)
  if fields.email == nil then f.email = fmt("candidate%d@example.com", f.id)
  elseif fields.email == false then f.email = nil end
  return f
end

local function link(fname, what, v, kind)
  if is_fixture(v, kind) then return v.id, v end
  local id = tointeger(v)
  if id and id > 0 then return id, nil end
  error(fmt("testing.%s: '%s' must be a testing.%s{...} fixture or an id", fname, what, kind), 3)
end

function M.application(fields)
  fields = fields or {}
  if fields.candidate == nil or fields.job == nil then
    error("testing.application: 'candidate' and 'job' are required (fixtures or ids)", 2)
  end
  local cid, cand = link("application", "candidate", fields.candidate, "candidate")
  local jid, job = link("application", "job", fields.job, "job")
  local name
  if cand and job then name = cand.name .. " - " .. job.name end
  return fixture("application", fields, { candidate_id = cid, job_id = jid,
                                          stage = fields.stage or "Shortlisted", name = name })
end

-- A note (activity) on a candidate, job or application fixture.
function M.note(fields)
  fields = fields or {}
  if not (is_fixture(fields.on, "candidate") or is_fixture(fields.on, "job")
          or is_fixture(fields.on, "application")) then
    error("testing.note: 'on' must be a candidate, job or application fixture", 2)
  end
  return fixture("note", fields, { subject = fields.subject or "", name = fields.subject or "" })
end

-- ---- fixtures -> emulator data -------------------------------------------------------------

local ASSOCIATION = { job = "Opportunity", candidate = "Resource", application = "OpportunityResource",
                      activity = "Activity" }

-- The id of the entry named `name` (any case) in one of the emulator's lookup lists.
local function list_id(meta, list, name, what, fname)
  local names = {}
  for _, e in ipairs(meta.lists[list] or {}) do
    if lower(e.name) == lower(tostring(name)) then return e.id, e.name end
    names[#names + 1] = e.name
  end
  error(fmt("%s: unknown %s '%s' (%s: %s)", fname, what, tostring(name), what .. "s",
            concat(names, ", ")), 0)
end

-- Custom values by field name -> the emulator's { ["<field id>"] = text }.
local function custom_of(meta, kind, values, fname)
  local out = {}
  if values == nil then return out end
  if type(values) ~= "table" then error(fname .. ": 'custom' must be a table of values by field name", 0) end
  local defs, names = {}, {}
  for _, d in ipairs(meta.customfields) do
    if d.association == ASSOCIATION[kind] then
      defs[lower(d.name)] = d
      names[#names + 1] = d.name
    end
  end
  local lists = {}
  for _, l in ipairs(meta.customfieldlists) do lists[l.id] = l end
  for name, v in pairs(values) do
    local d = defs[lower(tostring(name))]
    if not d then
      error(fmt("%s: no %s custom field '%s' (fields: %s)", fname, kind, tostring(name),
                concat(names, ", ")), 0)
    end
    local text
    if d.type == "List" then
      local items = {}
      for _, it in ipairs(lists[d.listid] and lists[d.listid].items or {}) do
        if type(v) == "string" and lower(it.name) == lower(v) then text = it.name end
        items[#items + 1] = it.name
      end
      if not text then
        error(fmt("%s: '%s' is not an item of custom field '%s' (items: %s)", fname,
                  tostring(v), d.name, concat(items, ", ")), 0)
      end
    elseif d.type == "Number" then
      if type(v) ~= "number" then error(fmt("%s: custom field '%s' takes a number", fname, d.name), 0) end
      text = mtype(v) == "integer" and tostring(v) or fmt("%.14g", v)
    elseif d.type == "Checkbox" then
      if v == true or v == "Yes" then text = "Yes" elseif v == false or v == "No" then text = "No"
      else error(fmt("%s: custom field '%s' takes true or false", fname, d.name), 0) end
    else
      text = tostring(v)
    end
    out[tostring(d.id)] = text
  end
  return out
end

local function merge(rec, raw)
  for k, v in pairs(raw or {}) do rec[k] = v end
  return rec
end

local CONVERT = {}

function CONVERT.job(meta, f, fields, now)
  local fname = "testing.job"
  local updated = fields.updated_at and epoch_of(fname .. " 'updated_at'", fields.updated_at) or now - 3600
  return "jobs", merge({
    id = f.id, name = f.name, statusid = list_id(meta, "opportunityStatuses", fields.status or "Active",
                                                 "job status", fname),
    description = fields.description, location = fields.location, department = fields.department,
    dateopened = fields.opened_on or sub(stored(updated), 1, 10), lastupdated = stored(updated),
    owners = {}, custom = custom_of(meta, "job", fields.custom, fname),
  }, fields.raw)
end

function CONVERT.candidate(meta, f, fields, now)
  local fname = "testing.candidate"
  local updated = fields.updated_at and epoch_of(fname .. " 'updated_at'", fields.updated_at) or now - 3600
  local created = fields.created_at and epoch_of(fname .. " 'created_at'", fields.created_at) or updated
  local tags = fields.tags
  if tags ~= nil and type(tags) ~= "table" then error(fname .. ": 'tags' must be a list of strings", 0) end
  return "candidates", merge({
    id = f.id, firstname = f.first_name, lastname = f.last_name, email = f.email,
    otheremail = fields.other_email, jobtitle = fields.job_title, companyname = fields.company,
    mobiletelephone = fields.phone, town = fields.town, county = fields.county,
    country = fields.country, source = fields.source, linkedin = fields.linkedin,
    availability = fields.availability,
    statusid = list_id(meta, "resourceStatuses", fields.status or "Active", "candidate status", fname),
    tag = tags and concat(tags, ",") or nil, dateopened = stored(created),
    lastupdated = stored(updated), custom = custom_of(meta, "candidate", fields.custom, fname),
  }, fields.raw)
end

function CONVERT.application(meta, f, fields, now)
  local fname = "testing.application"
  local updated = fields.updated_at and epoch_of(fname .. " 'updated_at'", fields.updated_at) or now - 3600
  local created = fields.created_at and epoch_of(fname .. " 'created_at'", fields.created_at) or updated
  local stage_id, stage = list_id(meta, "opportunityResourceStatuses", f.stage, "stage", fname)
  return "applications", merge({
    id = f.id, opportunityid = f.job_id, resourceid = f.candidate_id, statusid = stage_id,
    list = fields.list or "short", shortlistedby = fields.by or "user",
    source = fields.source or "Database search", dateassigned = stored(created),
    active = (stage == "Rejected" or stage == "Withdrawn") and "n" or "y",
    lastupdated = stored(updated), custom = custom_of(meta, "application", fields.custom, fname),
  }, fields.raw)
end

function CONVERT.note(meta, f, fields, now)
  local fname = "testing.note"
  local updated = fields.updated_at and epoch_of(fname .. " 'updated_at'", fields.updated_at) or now - 3600
  local on = fields.on
  local a = { id = f.id, subject = fields.subject or "", note = fields.text or "",
              typeid = list_id(meta, "activityTypes", fields.type or "Note", "activity type", fname),
              statusid = 1, date = sub(stored(updated), 1, 10), time = sub(stored(updated), 12, 16),
              lastupdated = stored(updated), custom = custom_of(meta, "activity", fields.custom, fname) }
  if on.kind == "job" then
    a.linkrecordtype, a.linkrecordid, a.opportunityid = "O", on.id, on.id
  else
    local cid = on.kind == "candidate" and on.id or on.candidate_id
    a.linkrecordtype, a.linkrecordid, a.resourceid = "R", cid, cid
    if on.kind == "application" then a.opportunityid, a.opportunityresourceid = on.job_id, on.id end
  end
  return "activities", merge(a, fields.raw)
end

-- The emulator data for a list of fixtures (and the candidates and jobs they refer to).
local function data_of(meta, list, now)
  local order, seen = {}, {}
  local function add(f)
    if seen[f] then return end
    seen[f] = true
    local spec = specs[f]
    if spec.builder == "application" then
      if is_fixture(spec.fields.candidate) then add(spec.fields.candidate) end
      if is_fixture(spec.fields.job) then add(spec.fields.job) end
    elseif spec.builder == "note" then
      add(spec.fields.on)
    end
    order[#order + 1] = f
  end
  for i, f in ipairs(list) do
    if not is_fixture(f) then
      error(fmt("testing.emulator: fixture %d is not from a testing builder (testing.job{...}, "
                .. "testing.candidate{...}, testing.application{...}, testing.note{...})", i), 3)
    end
    add(f)
  end
  local data = { timezone = ZONE, jobs = {}, candidates = {}, applications = {}, activities = {} }
  local ids = {}
  for _, f in ipairs(order) do
    local spec = specs[f]
    local kind, rec = CONVERT[spec.builder](meta, f, spec.fields, now)
    local key = kind .. ":" .. rec.id
    if ids[key] then error(fmt("testing.emulator: two %s with id %d", kind, rec.id), 3) end
    ids[key] = true
    local l = data[kind]
    l[#l + 1] = rec
  end
  return data
end

-- ---- emulators and clients -----------------------------------------------------------------

local clients = setmetatable({}, { __mode = "k" })   -- t -> { emu =, clock = }
local recording        -- the actions of the run in progress, or nil (writes are sent as usual)
local applying         -- whether that run sends its writes too (opts.apply)

-- What a planned write answers the rule (nothing was sent, so there is no id).
local function planned_answer(action)
  local p = action.payload or {}
  if action.op == "add_note" then
    return { kind = "activity", subject = p.subject, note = p.text, planned = true }
  elseif action.op == "attach" then
    return { kind = "document", filename = p.filename, planned = true }
  elseif action.op == "create_candidate" then
    return { kind = "candidate", created = true, planned = true }
  elseif action.op == "create_application" then
    return { kind = "application", created = true, planned = true }
  end
  return true
end

local function hook(action, send)
  if recording then
    recording[#recording + 1] = action
    if not applying then return planned_answer(action) end
  end
  return send()
end

-- testing.emulator(fixtures [, opts]) -> t: a client of a new in-process emulator holding the
-- fixtures (a list of built fixtures, or emulator data such as emulator.generate{} makes).
-- opts.now: the fixed clock (ISO time or epoch; default M.default_now); opts.timezone = false:
-- a client that does not know the database's zone (records then carry naive local times).
function M.emulator(fixtures, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("testing.emulator: argument 2 must be a table of options", 2) end
  for k in pairs(opts) do
    if k ~= "now" and k ~= "timezone" then
      error(fmt("testing.emulator: unknown option '%s' (options: now, timezone)", tostring(k)), 2)
    end
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
                            clock = function() return clock.now end }
  fixtures = fixtures or {}
  if fixtures[1] == nil and next(fixtures) ~= nil then
    emu:load(fixtures)                                  -- raw emulator data
  else
    emu:load(data_of(emu:state(), fixtures, clock.now))
  end
  local mono = 0.0      -- the client's own clock: only retries would sleep on it
  local zone = ZONE
  if opts.timezone == false then zone = false end
  local t = tracker.connect{ transport = emu, rate_limit = false, timezone = zone,
                            clock = function() return mono end,
                            sleep = function(s) mono = mono + s end, hook = hook }
  clients[t] = { emu = emu, clock = clock }
  return t
end

local function kit_of(fname, t)
  local k = clients[t]
  if not k then error(fname .. ": argument 1 must be a client from testing.emulator", 3) end
  return k
end

-- The fixed clock (epoch seconds) of t's emulator, or the default one.
function M.now(t)
  if t == nil then return epoch_of("testing.now", M.default_now) end
  return kit_of("testing.now", t).clock.now
end

-- Moves t's clock forward by `seconds` (or to an ISO time when given a string).
function M.advance(t, by)
  local k = kit_of("testing.advance", t)
  if type(by) == "string" then k.clock.now = epoch_of("testing.advance", by)
  elseif type(by) == "number" then k.clock.now = k.clock.now + floor(by)
  else error("testing.advance: argument 2 must be seconds or an ISO time", 2) end
  return k.clock.now
end

-- The emulator's live data (raw Tracker field names), for assertions on what was sent.
function M.state(t)
  return kit_of("testing.state", t).emu:state()
end

-- The emulator itself (emu:get(kind, id), emu:set_faults{...}).
function M.emulator_of(t)
  return kit_of("testing.emulator_of", t).emu
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

local function read_text(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- Module names trk accepts: dot-separated segments of letters, digits and _, none starting
-- with a digit.
local function valid_module(name)
  if type(name) ~= "string" or name == "" or #name > 200 then return false end
  for segment in string.gmatch(name .. ".", "(.-)%.") do
    if not match(segment, "^[%a_][%w_]*$") then return false end
  end
  return true
end

-- trk's require, for one rule's environment: tracker, json, shipped tracker.* modules (from
-- the Lua path) and .lua files beside the rule, loaded as text into the same environment.
local function requirer(env, dir)
  local loaded, LOADING = {}, {}
  return function(name)
    if not valid_module(name) then
      error(fmt("bad argument #1 to 'require' (invalid module name '%s' (use names like "
                .. "'helpers' or 'lib.util': letters, digits, _ and dots))", tostring(name)), 2)
    end
    local v = loaded[name]
    if v == LOADING then error(fmt("require: module '%s' requires itself (a loop)", name), 2) end
    if v ~= nil then return v end
    if sub(name, 1, 4) == "trk." then
      error(fmt("module '%s' is part of trk itself (scripts/trk/: its commands, journal and "
                .. "reports), not a library a script may require", name), 2)
    elseif name == "tracker" then
      v = tracker
    elseif name == "json" then
      v = env.json
    else
      local path = sub(name, 1, 8) == "tracker." and package.searchpath(name, package.path) or nil
      local text = path and read_text(path)
      if not text then
        path = dir .. gsub(name, "%.", "/") .. ".lua"
        text = read_text(path)
      end
      if not text then
        error(fmt("module '%s' not found: not shipped with trk, and no file '%s' beside the script",
                  name, path), 2)
      end
      local chunk, why = load(text, "@" .. path, "t", env)
      if not chunk then error(fmt("error loading module '%s':\n\t%s", name, why), 2) end
      loaded[name] = LOADING
      local ok, res = pcall(chunk, name)
      if not ok then loaded[name] = nil error(res, 0) end
      v = res
      if v == nil then v = true end
    end
    loaded[name] = v
    return v
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
  req = requirer(env, dir)
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
    local src = debug.getinfo(2, "S").source
    local dir = sub(src, 1, 1) == "@" and match(sub(src, 2), "^(.*[/\\])")
    if dir and exists(dir .. path) then path = dir .. path end
  end
  return rules.load(path, M.environment(path))
end

-- ---- runs ----------------------------------------------------------------------------------

local summaries = setmetatable({}, { __mode = "k" })   -- what run_rule returned second

local RUN_OPTS = { since = true, catch = true, state = true, apply = true }

-- testing.run_rule(rule, t [, opts]) -> actions, summary. Streams rule.on from t as the trk rules
-- runner does, plans every write instead of sending it, and returns the plan in order with
-- { seen =, matched =, planned =, errors = { { id =, message = } }, log = { { level =, text = } } }.
-- opts.since: the rule's checkpoint (scan = "changes" streams records updated since);
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
  local k = kit_of("testing.run_rule", t)
  if recording then error("testing.run_rule: a run is already in progress", 2) end
  local ctx = { rule = rule.name, now = k.clock.now, since = opts.since, apply = opts.apply == true,
                state = opts.state or {} }
  local filter = rules.stream_filter({ rule })
  if rule.scan == "changes" and opts.since ~= nil then filter.updated_after = opts.since end
  local actions, summary = {}, { seen = 0, matched = 0, errors = {}, log = {} }
  summaries[summary] = true
  recording, applying, logbuf = actions, opts.apply == true, summary.log
  local ok, e = pcall(function()
    for record in t[rule.on](t, filter) do
      if rules.matches(rule, record) then
        summary.seen = summary.seen + 1
        if opts.catch then
          local fine, res = pcall(rules.invoke, rule, record, t, ctx)
          if not fine then
            summary.errors[#summary.errors + 1] = { id = record.id, message = tostring(res) }
          elseif res then
            summary.matched = summary.matched + 1
          end
        elseif rules.invoke(rule, record, t, ctx) then
          summary.matched = summary.matched + 1
        end
      end
    end
  end)
  recording, applying, logbuf = nil, false, nil
  if not ok then error(e, 0) end
  summary.planned = #actions
  return actions, summary
end

-- ---- assertions ----------------------------------------------------------------------------

-- A payload value that matches any string containing `text`.
function M.contains(text)
  return function(v) return type(v) == "string" and find(v, text, 1, true) ~= nil end
end

local function subset(want, got)
  if type(want) == "function" then return want(got) and true or false end
  if type(want) ~= "table" then return want == got end
  if type(got) ~= "table" then return false end
  for k, v in pairs(want) do
    if not subset(v, got[k]) then return false end
  end
  return true
end

local function target_matches(want, got)
  if want == nil then return true end
  if type(got) ~= "table" then return false end
  if type(want) ~= "table" then return got.id == tointeger(want) end
  return got.id == want.id and (want.kind == nil or got.kind == want.kind)
end

local SPEC_KEYS = { op = true, target = true, payload = true, key = true }

local function like(fname, want)
  if type(want) ~= "table" then
    error(fmt("%s: the expected action must be a table { op =, target =, payload =, key = }", fname), 0)
  end
  for k in pairs(want) do
    if not SPEC_KEYS[k] then
      error(fmt("%s: unknown key '%s' in the expected action (op, target, payload, key)", fname,
                tostring(k)), 0)
    end
  end
  return function(a)
    return type(a) == "table" and (want.op == nil or a.op == want.op)
       and target_matches(want.target, a.target) and subset(want.payload or {}, a.payload or {})
       and (want.key == nil or a.key == want.key)
  end
end

local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return fmt("%q", v) end
  if type(v) == "function" then return "<matcher>" end
  if type(v) ~= "table" then return tostring(v) end
  if depth > 3 then return "{...}" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and match(k, "^[%a_][%w_]*$") and k or "[" .. show(k) .. "]"
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{ " .. concat(parts, ", ") .. " }"
end

-- One line per action: "add_note application 70001 (Ann Lee - Engineer) { subject = ... }".
function M.describe(action)
  local tg = action.target or {}
  return fmt("%s %s %s%s %s", tostring(action.op), tostring(tg.kind), tostring(tg.id),
             tg.name and " (" .. tg.name .. ")" or "", show(action.payload or {}))
end

local function describe_spec(want)
  local tg = want.target
  local parts = { "op = " .. tostring(want.op or "any") }
  if tg ~= nil then
    parts[#parts + 1] = "target = " .. (type(tg) == "table"
      and fmt("%s %s", tostring(tg.kind or "any"), tostring(tg.id)) or tostring(tg))
  end
  if want.payload then parts[#parts + 1] = "payload includes " .. show(want.payload) end
  if want.key then parts[#parts + 1] = "key = " .. want.key end
  return concat(parts, ", ")
end

local function describe_plan(actions)
  if type(actions) ~= "table" or #actions == 0 then return "  (nothing planned)" end
  local lines = {}
  for i, a in ipairs(actions) do lines[i] = fmt("  %d. %s", i, M.describe(a)) end
  return concat(lines, "\n")
end

local function check_actions(fname, actions)
  if type(actions) ~= "table" then
    error(fmt("%s: expected the list of actions from testing.run_rule, got %s", fname, type(actions)), 0)
  end
end

-- assert.planned(actions, spec) / assert.not_planned(actions, spec)
local function planned(_, args)
  local actions, want = args[1], args[2]
  check_actions("assert.planned", actions)
  local ok = like("assert.planned", want)
  local found = false
  for _, a in ipairs(actions) do if ok(a) then found = true break end end
  args[1], args[2], args.n, args.nofmt = describe_spec(want), describe_plan(actions), 2, { true, true }
  return found
end

-- assert.planned_count(n, actions [, spec]); a run's summary in place of spec is ignored, so
-- assert.planned_count(0, testing.run_rule(rule, t)) reads as it should.
local function planned_count(_, args)
  local n, actions, want = args[1], args[2], args[3]
  if summaries[want] then want = nil end
  check_actions("assert.planned_count", actions)
  local ok = want ~= nil and like("assert.planned_count", want) or function() return true end
  local count = 0
  for _, a in ipairs(actions) do if ok(a) then count = count + 1 end end
  args[1], args[2], args[3] = tostring(n), want ~= nil and describe_spec(want) or "any", tostring(count)
  args[4], args.n, args.nofmt = describe_plan(actions), 4, { true, true, true, true }
  return count == n
end

say:set("assertion.planned.positive", "Expected an action planned like:\n  %s\nPlanned:\n%s")
say:set("assertion.planned.negative", "Expected no action planned like:\n  %s\nPlanned:\n%s")
say:set("assertion.planned_count.positive",
        "Expected %s actions planned like: %s\nbut %s were:\n%s")
say:set("assertion.planned_count.negative",
        "Expected other than %s actions planned like: %s\nbut %s were:\n%s")
luassert:register("assertion", "planned", planned, "assertion.planned.positive",
                  "assertion.planned.negative")
luassert:register("assertion", "planned_count", planned_count, "assertion.planned_count.positive",
                  "assertion.planned_count.negative")

return M
