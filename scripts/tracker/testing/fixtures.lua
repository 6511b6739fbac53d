-- tracker.testing.fixtures: the busted kit's fixture builders (testing.job{}, testing.candidate{},
-- testing.application{}, testing.placement{}, testing.note{}, testing.client{}, testing.contact{},
-- testing.lead{}) and the emulator data a list of fixtures becomes.
-- docs/testing.md lists each builder's fields.

local tracker = require "tracker"

local M = {}

local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error, setmetatable
local tointeger, mtype, floor = math.tointeger, math.type, math.floor
local fmt, lower, match, sub = string.format, string.lower, string.match, string.sub
local concat = table.concat

M.ZONE = "UTC"                               -- records carry Z times
local ZONE = M.ZONE
local FIRST_ID = { job = 1001, candidate = 188001, application = 70001, activity = 500001,
                   client = 301, contact = 4001, lead = 6001 }

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
  placement = { "id", "candidate", "job", "stage", "start_date", "end_date", "pay_rate",
                "charge_rate", "charge_period", "currency", "custom", "created_at", "updated_at",
                "raw" },
  note = { "id", "on", "subject", "text", "type", "custom", "updated_at", "raw" },
  client = { "id", "name", "email", "phone", "website", "town", "county", "country", "custom",
             "created_at", "updated_at", "raw" },
  contact = { "id", "client", "first_name", "last_name", "name", "email", "phone", "job_title",
              "custom", "created_at", "updated_at", "raw" },
  lead = { "id", "client", "subject", "source", "description", "status", "custom", "created_at",
           "updated_at", "raw" },
}

-- A note is an activity; a placement is an application (in a placement stage), so the two share
-- ids as Tracker's opportunity-resource records do, though its fixture says "placement".
local RECORD_KIND = { note = "activity" }
local ID_POOL = { note = "activity", placement = "application" }

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
  local pool = ID_POOL[kind] or kind
  if id == nil then
    id = next_id[pool]
    next_id[pool] = id + 1
  elseif id >= next_id[pool] then
    next_id[pool] = id + 1
  end
  return id, RECORD_KIND[kind] or kind
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

-- A placement: an application in one of the database's placement stages (those getRecords X
-- answers: Offer, Working, Complete in the demo database), checked when the emulator is made.
function M.placement(fields)
  fields = fields or {}
  if fields.candidate == nil or fields.job == nil then
    error("testing.placement: 'candidate' and 'job' are required (fixtures or ids)", 2)
  end
  local cid, cand = link("placement", "candidate", fields.candidate, "candidate")
  local jid, job = link("placement", "job", fields.job, "job")
  for _, k in ipairs({ "pay_rate", "charge_rate" }) do
    if fields[k] ~= nil and type(fields[k]) ~= "number" then
      error(fmt("testing.placement: '%s' must be a number, got %s", k, type(fields[k])), 2)
    end
  end
  local name
  if cand and job then name = cand.name .. " - " .. job.name end
  return fixture("placement", fields, { candidate_id = cid, job_id = jid,
                                        stage = fields.stage or "Working", name = name })
end

-- A note (activity) on a candidate, job, application, placement, client, contact or lead fixture.
local NOTE_ON = { candidate = true, job = true, application = true, placement = true,
                  client = true, contact = true, lead = true }

function M.note(fields)
  fields = fields or {}
  if not (is_fixture(fields.on) and NOTE_ON[fields.on.kind]) then
    error("testing.note: 'on' must be a candidate, job, application, placement, client, contact "
          .. "or lead fixture", 2)
  end
  return fixture("note", fields, { subject = fields.subject or "", name = fields.subject or "" })
end

function M.client(fields)
  fields = fields or {}
  return fixture("client", fields, { name = fields.name or "Test Client" })
end

-- A contact of a client fixture (or id), or of none.
function M.contact(fields)
  fields = fields or {}
  local first, last = fields.first_name, fields.last_name
  if type(fields.name) == "string" then
    first = first or match(fields.name, "^(%S+)")
    last = last or match(fields.name, "^%S+%s+(.-)%s*$")
  end
  first, last = first or "Test", last or "Contact"
  local cid, client
  if fields.client ~= nil then cid, client = link("contact", "client", fields.client, "client") end
  return fixture("contact", fields, { first_name = first, last_name = last,
                                      name = first .. " " .. last, client_id = cid,
                                      company = client and client.name or nil })
end

function M.lead(fields)
  fields = fields or {}
  local cid
  if fields.client ~= nil then cid = link("lead", "client", fields.client, "client") end
  local subject = fields.subject or "Test Lead"
  return fixture("lead", fields, { subject = subject, name = subject, client_id = cid })
end

-- ---- fixtures -> emulator data -------------------------------------------------------------

local ASSOCIATION = { job = "Opportunity", candidate = "Resource", application = "OpportunityResource",
                      activity = "Activity", client = "Client", contact = "Contact", lead = "Lead" }

-- The id and name of the entry named `name` (any case) among `entries`, or nil and the names.
local function entry_of(entries, name)
  local names = {}
  for _, e in ipairs(entries) do
    if lower(e.name) == lower(tostring(name)) then return e.id, e.name end
    names[#names + 1] = e.name
  end
  return nil, names
end

-- "unknown stage 'Intervew' (did you mean 'Interview'?); stages: Applied, ...".
local function unknown(fname, what, name, names)
  local plural = match(what, "s$") and what .. "es" or what .. "s"
  error(fmt("%s: unknown %s '%s'%s; %s: %s", fname, what, tostring(name),
            tracker.suggest(name, names), plural, concat(names, ", ")), 0)
end

-- The id of the entry named `name` (any case) in one of the emulator's lookup lists.
local function list_id(meta, list, name, what, fname)
  local id, found = entry_of(meta.lists[list] or {}, name)
  if not id then unknown(fname, what, name, found) end
  return id, found
end

-- The id of a placement stage (a stage getRecords X answers: the emulator marks them).
local function placement_stage(meta, name, fname)
  local stages, placed = meta.lists.opportunityResourceStatuses or {}, {}
  for _, e in ipairs(stages) do
    if e.placement then placed[#placed + 1] = e end
  end
  local id, found = entry_of(placed, name)
  if id then return id, found end
  if entry_of(stages, name) then
    error(fmt("%s: stage '%s' is not a placement stage (placement stages: %s); an application "
              .. "there is a testing.application{...}", fname, tostring(name), concat(found, ", ")), 0)
  end
  unknown(fname, "placement stage", name, found)
end

-- A date (YYYY-MM-DD) of a date, an ISO 8601 time or epoch seconds; raises naming `what`.
local function day_of(what, v)
  local e
  if type(v) == "string" then e = tracker.time.parse(v)
  elseif type(v) == "number" then e = floor(v) end
  if not e then
    error(fmt("%s: expected a date such as 2027-01-04 (or an ISO 8601 time or epoch seconds), "
              .. "got %s", what, type(v) == "string" and "'" .. v .. "'" or type(v)), 0)
  end
  return sub(stored(e), 1, 10)
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

-- A fixture's updated_at and created_at as epochs: given, or an hour before the clock (created
-- defaults to updated).
local function times_of(fname, fields, now)
  local updated = fields.updated_at and epoch_of(fname .. " 'updated_at'", fields.updated_at) or now - 3600
  local created = fields.created_at and epoch_of(fname .. " 'created_at'", fields.created_at) or updated
  return updated, created
end

function CONVERT.job(meta, f, fields, now)
  local fname = "testing.job"
  local updated = times_of(fname, fields, now)
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
  local updated, created = times_of(fname, fields, now)
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
  local updated, created = times_of(fname, fields, now)
  local stage_id, stage = list_id(meta, "opportunityResourceStatuses", f.stage, "stage", fname)
  return "applications", merge({
    id = f.id, opportunityid = f.job_id, resourceid = f.candidate_id, statusid = stage_id,
    list = fields.list or "short", shortlistedby = fields.by or "user",
    source = fields.source or "Database search", dateassigned = stored(created),
    active = (stage == "Rejected" or stage == "Withdrawn") and "n" or "y",
    lastupdated = stored(updated), custom = custom_of(meta, "application", fields.custom, fname),
  }, fields.raw)
end

-- A placement is an application in a placement stage, with its dates and rates (the details
-- getRecords X shows).
function CONVERT.placement(meta, f, fields, now)
  local fname = "testing.placement"
  local updated, created = times_of(fname, fields, now)
  local stage_id = placement_stage(meta, f.stage, fname)
  local function day(k)
    return fields[k] ~= nil and day_of(fmt("%s '%s'", fname, k), fields[k]) or nil
  end
  return "applications", merge({
    id = f.id, opportunityid = f.job_id, resourceid = f.candidate_id, statusid = stage_id,
    list = "short", shortlistedby = "user", source = "Database search",
    dateassigned = stored(created), dateconfirmed = sub(stored(created), 1, 10), active = "y",
    startdate = day("start_date"), enddate = day("end_date"), payrate = fields.pay_rate,
    chargerate = fields.charge_rate, chargeperiod = fields.charge_period,
    currency = fields.currency, lastupdated = stored(updated),
    custom = custom_of(meta, "application", fields.custom, fname),
  }, fields.raw)
end

function CONVERT.note(meta, f, fields, now)
  local fname = "testing.note"
  local updated = times_of(fname, fields, now)
  local on = fields.on
  local a = { id = f.id, subject = fields.subject or "", note = fields.text or "",
              typeid = list_id(meta, "activityTypes", fields.type or "Note", "activity type", fname),
              statusid = 1, date = sub(stored(updated), 1, 10), time = sub(stored(updated), 12, 16),
              lastupdated = stored(updated), custom = custom_of(meta, "activity", fields.custom, fname) }
  if on.kind == "job" then
    a.linkrecordtype, a.linkrecordid, a.opportunityid = "O", on.id, on.id
  elseif on.kind == "client" then
    a.linkrecordtype, a.linkrecordid, a.clientid = "C", on.id, on.id
  elseif on.kind == "contact" then
    a.linkrecordtype, a.linkrecordid, a.contactid, a.clientid = "N", on.id, on.id, on.client_id
  elseif on.kind == "lead" then
    a.linkrecordtype, a.linkrecordid, a.leadid, a.clientid = "L", on.id, on.id, on.client_id
  else
    local cid = on.kind == "candidate" and on.id or on.candidate_id
    a.linkrecordtype, a.linkrecordid, a.resourceid = "R", cid, cid
    if on.kind == "application" or on.kind == "placement" then   -- a placement is one
      a.opportunityid, a.opportunityresourceid = on.job_id, on.id
    end
  end
  return "activities", merge(a, fields.raw)
end

function CONVERT.client(meta, f, fields, now)
  local fname = "testing.client"
  local updated, created = times_of(fname, fields, now)
  return "clients", merge({
    id = f.id, name = f.name, email = fields.email, telephone = fields.phone,
    website = fields.website, town = fields.town, county = fields.county,
    country = fields.country, dateopened = stored(created), lastupdated = stored(updated),
    custom = custom_of(meta, "client", fields.custom, fname),
  }, fields.raw)
end

function CONVERT.contact(meta, f, fields, now)
  local fname = "testing.contact"
  local updated, created = times_of(fname, fields, now)
  return "contacts", merge({
    id = f.id, clientid = f.client_id, firstname = f.first_name, lastname = f.last_name,
    email = fields.email, mobiletelephone = fields.phone, jobtitle = fields.job_title,
    dateopened = stored(created), lastupdated = stored(updated),
    custom = custom_of(meta, "contact", fields.custom, fname),
  }, fields.raw)
end

function CONVERT.lead(meta, f, fields, now)
  local fname = "testing.lead"
  local updated, created = times_of(fname, fields, now)
  return "leads", merge({
    id = f.id, clientid = f.client_id, name = f.subject, source = fields.source,
    description = fields.description,
    statusid = list_id(meta, "leadStatuses", fields.status or "Open", "lead status", fname),
    dateopened = stored(created), lastupdated = stored(updated),
    custom = custom_of(meta, "lead", fields.custom, fname),
  }, fields.raw)
end

-- The emulator data for a list of fixtures (and the records they refer to).
local function data_of(meta, list, now)
  local order, seen = {}, {}
  local function add(f)
    if seen[f] then return end
    seen[f] = true
    local spec = specs[f]
    if spec.builder == "application" or spec.builder == "placement" then
      if is_fixture(spec.fields.candidate) then add(spec.fields.candidate) end
      if is_fixture(spec.fields.job) then add(spec.fields.job) end
    elseif spec.builder == "note" then
      add(spec.fields.on)
    elseif (spec.builder == "contact" or spec.builder == "lead") and is_fixture(spec.fields.client) then
      add(spec.fields.client)
    end
    order[#order + 1] = f
  end
  for i, f in ipairs(list) do
    if not is_fixture(f) then
      error(fmt("testing.emulator: fixture %d is not from a testing builder (testing.job{...}, "
                .. "testing.candidate{...}, testing.application{...}, testing.placement{...}, "
                .. "testing.note{...}, "
                .. "testing.client{...}, testing.contact{...}, testing.lead{...})", i), 3)
    end
    add(f)
  end
  local data = { timezone = ZONE, jobs = {}, candidates = {}, applications = {}, activities = {},
                 clients = {}, contacts = {}, leads = {} }
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

M.epoch_of, M.data_of = epoch_of, data_of
return M
