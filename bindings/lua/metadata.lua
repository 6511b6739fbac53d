-- metadata: the database's stages, custom fields, users and lists (getSettingsData), read
-- once per client, and the methods that show them. Callers get copies: a script cannot change
-- what the client validates with.

local widget, usage, failures = import "widget", import "usage", import "failures"
local object, pipeline, values = import "object", import "pipeline", import "values"
local misuse, suggest = usage.misuse, usage.suggest
local err = failures.err
local Client, state = object.Client, object.state
local widget_call, copy = pipeline.widget_call, values.copy

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local tointeger = math.tointeger
local fmt, lower, concat = string.format, string.lower, table.concat

local M = {}


-- Where the application stages come from (tracker-api.md §9.2: getSettingsData may not list
-- them): the settings when they list them, else the configuration (`stages`), else the stages
-- seen on the applications the client reads. A stage seen on an application and missing from
-- the list is added to it whatever the source.
local SOURCES = {
  settings = "getSettingsData's opportunityResourceStatuses",
  configuration = "the configuration ('stages' or TRACKER_STAGES)",
  seen = "the applications read so far",
}

local function add_stage(m, id, name)
  local st = { id = id, name = name }
  m.stages[#m.stages + 1] = st
  m.stage_by_id[id] = st
  m.stage_by_name[lower(name)] = m.stage_by_name[lower(name)] or st
end

local function metadata(s, fname)
  if s.meta then return s.meta end
  local doc, e = widget_call(s, fname, "getSettingsData", {}, nil, false)
  if not doc then return nil, e end
  local m = widget.metadata(doc)
  local listed = m.stages
  m.stages, m.stage_by_id, m.stage_by_name = {}, {}, {}
  if listed then m.stage_source = "settings"
  elseif s.c.stages then m.stage_source, listed = "configuration", s.c.stages
  else m.stage_source, listed = "seen", s.probed_stages or {} end   -- a probe's (client.lua)
  for _, st in ipairs(listed) do add_stage(m, st.id, st.name) end
  m.fields_by_id = {}
  for kind, list in pairs(m.custom_fields) do
    local byid = {}
    for _, f in ipairs(list) do byid[f.id] = f end
    m.fields_by_id[kind] = byid
  end
  s.meta = m
  s.conv.fields = m.fields_by_id
  return m
end

-- An application's stage, as a record showed it: known from then on.
local function saw_stage(s, id, name)
  local m = s.meta
  if m and id and name and not m.stage_by_id[id] then add_stage(m, id, name) end
end

-- Metadata for the caller: a copy, so that a script cannot change what the client validates with.
function Client:metadata()
  local s = state(self, "metadata")
  local m, e = metadata(s, "metadata")
  if not m then return nil, e end
  local out = copy(m)
  out.stage_by_id, out.stage_by_name, out.fields_by_id = nil, nil, nil
  return out
end

function Client:refresh_metadata()
  local s = state(self, "refresh_metadata")
  s.meta = nil
  local m, e = metadata(s, "refresh_metadata")
  if not m then return nil, e end
  return true
end

function Client:stages()
  local s = state(self, "stages")
  local m, e = metadata(s, "stages")
  if not m then return nil, e end
  return copy(m.stages)
end

-- The stage record for a name (any case) or id; nil, not_found with suggestions and the
-- sources looked in otherwise.
local function find_stage(m, v)
  local st = m.stage_by_id[tointeger(v) or false] or (type(v) == "string" and m.stage_by_name[lower(v)])
  if st then return st end
  local names = {}
  for i, x in ipairs(m.stages) do names[i] = x.name end
  local looked = { SOURCES[m.stage_source] }
  if m.stage_source ~= "seen" then looked[2] = SOURCES.seen end
  local hint = ""
  if m.stage_source ~= "settings" then
    hint = "; this database's settings list no stages: name them with the option 'stages' or "
           .. "TRACKER_STAGES (e.g. Interview=12;Offer=13; see docs/configuration.md)"
  end
  return nil, err("not_found", fmt("no stage '%s'%s (looked in %s: %d stage%s known%s)",
                                   tostring(v), suggest(tostring(v), names),
                                   concat(looked, " and "), #names, #names == 1 and "" or "s", hint))
end

function Client:stage(name_or_id)
  local s = state(self, "stage")
  if type(name_or_id) ~= "string" and tointeger(name_or_id) == nil then
    misuse("stage", "argument 1 must be a stage name or id, got %s", type(name_or_id))
  end
  local m, e = metadata(s, "stage")
  if not m then return nil, e end
  local st, e2 = find_stage(m, name_or_id)
  if not st then return nil, e2 end
  return copy(st)
end

local KINDS = { job = true, candidate = true, application = true, activity = true,
                client = true, contact = true, lead = true }

function Client:custom_fields(kind)
  local s = state(self, "custom_fields")
  if not KINDS[kind] then
    misuse("custom_fields", "argument 1 must be 'job', 'candidate', 'application', 'activity', "
           .. "'client', 'contact' or 'lead', got %s", tostring(kind))
  end
  local m, e = metadata(s, "custom_fields")
  if not m then return nil, e end
  return copy(m.custom_fields[kind])
end
M.metadata = metadata
M.find_stage = find_stage
M.saw_stage = saw_stage
return M
