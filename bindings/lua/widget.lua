-- widget: all that trk knows of Tracker's widget API (docs/tracker-api.md §2, §3, §7): verbs,
-- envelopes, instruction names, status codes, item fields and metadata lists. Nothing else in
-- the client spells a widget field name.

local native = native
local values = import "values"
local int, str = values.int, values.str
local type, pairs, ipairs, select, tointeger, fmt =
      type, pairs, ipairs, select, math.tointeger, string.format

local M = {}

M.hosts = {                                  -- §1 [DOC]
  us = "https://evoapius.tracker-rms.com",
  ca = "https://evoapica.tracker-rms.com",
  global = "https://evoapi.tracker-rms.com",
}
M.max_page = 500                             -- numrecords cap [INF: §5]
M.letters = { job = "O", candidate = "R", activity = "A" }
M.associations = {                           -- getSettingsData customFields.Association
  Resource = "candidate", Opportunity = "job", OpportunityResource = "application",
  Activity = "activity",
}
M.job_states = { open = true, won = true, closed = true }

-- Widget status codes (§2) and the client's error code for each.
local STATUS = {
  [1] = { "auth", "user or API key not found" },
  [2] = { "auth", "user not active" },
  [3] = { "conflict", "record found and cannot be overwritten" },
  [99] = { "invalid_request", "invalid request" },
}

-- ---- requests ------------------------------------------------------------------------------

-- The credentials node for the configured credentials (§1: apikey + username, username +
-- password, or the API token as oauthtoken). nil and the missing variable when there are none.
function M.credentials(c)
  if c.apikey and c.username then return { apikey = c.apikey, username = c.username } end
  if c.password and c.username then return { username = c.username, password = c.password } end
  if c.api_token then return { oauthtoken = c.api_token } end
  if c.apikey or c.password then return nil, "TRACKER_USERNAME" end
  return nil, "TRACKER_APIKEY"
end

-- path, body of a widget call. `nodes` are extra nodes beside the instructions.
function M.request(verb, credentials, instructions, nodes)
  local inner = { credentials = credentials, instructions = instructions or {} }
  for k, v in pairs(nodes or {}) do inner[k] = v end
  return "/api/widget/" .. verb, native.encode({ trackerrms = { [verb] = inner } })
end

-- getRecords instructions for one keyset page (§3, §5): sorted by last update, then id.
function M.list(kind, f, after, pagenum, size)
  return {
    recordtype = M.letters[kind], numrecords = size, pagenum = pagenum,
    sortfield = "lastupdateddatetime", sortdir = "asc",
    updatedafter = after or "", updatedbefore = f.before or "",
    state = f.state, searchtext = f.search, includecustomfields = true,
  }
end

function M.one(kind, id)
  return { recordtype = M.letters[kind], recordid = id, includecustomfields = true }
end

-- ---- answers -------------------------------------------------------------------------------

-- The envelope of a widget answer, or nil, code, message. `what` names the call for messages.
function M.answer(what, doc, want_results)
  if type(doc) ~= "table" then
    return nil, "bad_response", what .. ": the answer is not a JSON object"
  end
  local status = doc.status
  if tointeger(status) == nil then
    return nil, "bad_response", what .. ": the answer has no numeric 'status'"
  end
  status = tointeger(status)
  if status ~= 0 then
    local s = STATUS[status]
    local msg = type(doc.message) == "string" and doc.message ~= "" and doc.message
    if s then
      return nil, s[1], fmt("%s: %s (widget status %d)", what, msg or s[2], status)
    end
    return nil, "bad_response", fmt("%s: unexpected widget status %d", what, status)
  end
  if want_results and type(doc.results) ~= "table" then
    return nil, "bad_response", what .. ": the answer has no 'results' list"
  end
  return doc
end

-- The naive local last-updated time and the id of a getRecords item, or nil when malformed.
function M.key(item)
  if type(item) ~= "table" then return nil end
  local id, ts = tointeger(item.id), item.lastupdateddatetime
  if id == nil or type(ts) ~= "string" then return nil end
  return ts, id
end

-- ---- records -------------------------------------------------------------------------------

local function first(...)
  for i = 1, select("#", ...) do
    local v = str((select(i, ...)))
    if v then return v end
  end
  return nil
end

-- Custom-field values by name (§3 customfields), typed by the metadata's field types.
function M.custom(list, fields, typed)
  local out = {}
  if type(list) ~= "table" then return out end
  for _, cf in ipairs(list) do
    if type(cf) == "table" then
      local def = fields[int(cf.id)]
      local name = def and def.name or str(cf.name)
      if name then out[name] = typed(def and def.type, cf.value) end
    end
  end
  return out
end

local normalise = {}

function normalise.job(item, d, c)
  local owner
  if type(d.Owners) == "table" and type(d.Owners[1]) == "table" then
    owner = str(d.Owners[1].OwnerName)
  end
  return {
    kind = "job", name = str(item.name), status = str(item.status),
    company = first(item.company, d.clientname), client_id = int(d.clientid),
    contact_id = int(d.contactid), contact = str(d.contactname), type = str(d.type),
    description = str(d.description), owner = owner, opened_on = c.date(item.dateopened),
  }
end

function normalise.candidate(item, d, c)
  return {
    kind = "candidate", name = str(item.name), status = str(item.status),
    first_name = str(d.firstname), last_name = str(d.lastname), email = str(d.email),
    other_email = str(d.otheremail), job_title = str(d.jobtitle),
    company = first(d.companyname, item.company),
    phone = first(d.mobiletelephone, d.worktelephone, d.hometelephone),
    town = str(d.town), county = str(d.county), country = str(d.country),
    source = str(d.source), owner = str(d.owner), linkedin = str(d.linkedin),
    created_at = c.time(item.dateopened),
  }
end

function normalise.activity(item, d, c)
  return {
    kind = "activity", name = first(d.subject, item.name), subject = str(d.subject),
    type = str(d.ActivityTypeName), status = first(d.activitystatusname, item.status),
    candidate_id = int(d.resourceid), job_id = int(d.opportunityid),
    application_id = int(d.opportunityresourceid), client_id = int(d.clientid),
    contact_id = int(d.contactid), user_id = int(d.userid), user = str(d.username),
    note = str(d.note), date = c.date(d.startdate or d.datedue or item.dateopened),
    time = str(d.starttime or d.timedue),
  }
end

-- A normalised record from a getRecords item (§7), or nil when the item is malformed.
-- `c` converts times and types custom fields (client.lua builds it from the configuration).
function M.record(kind, item, c)
  local ts, id = M.key(item)
  if ts == nil then return nil end
  local d = item.details
  if type(d) ~= "table" then d = {} end
  local r = normalise[kind](item, d, c)
  r.id = id
  r.updated_at = c.time(ts)
  r.custom = M.custom(item.customfields, c.fields[kind], c.typed)
  r.raw = item
  return r
end

-- ---- metadata (getSettingsData, §3) --------------------------------------------------------

local function pairs_list(list, f)
  local out = {}
  if type(list) ~= "table" then return out end
  for _, e in ipairs(list) do
    if type(e) == "table" then
      local v = f(e)
      if v then out[#out + 1] = v end
    end
  end
  return out
end

local function id_name(e)
  local id, name = int(e.Id), str(e.Name)
  if id and name then return { id = id, name = name } end
  return nil
end

-- The client's metadata from a getSettingsData answer.
function M.metadata(doc)
  local lists = {}
  for _, l in ipairs(pairs_list(doc.customFieldLists, function(e)
    local id = int(e.Id)
    if id then return { id = id, name = str(e.Name), items = pairs_list(e.Items, id_name) } end
  end)) do lists[l.id] = l end
  local fields = { job = {}, candidate = {}, application = {}, activity = {} }
  for _, e in ipairs(doc.customFields or {}) do
    local kind = type(e) == "table" and M.associations[e.Association]
    local id, name = kind and int(e.Id), kind and str(e.Name)
    if id and name then
      local l = lists[int(e.ListId)]
      local f = fields[kind]
      f[#f + 1] = { id = id, name = name, type = str(e.Type) or "Text",
                    items = l and l.items or nil }
    end
  end
  return {
    stages = pairs_list(doc.opportunityResourceStatuses, id_name),
    candidate_statuses = pairs_list(doc.resourceStatuses, id_name),
    job_statuses = pairs_list(doc.opportunityStatuses, id_name),
    sources = pairs_list(doc.resourceSources, id_name),
    work_types = pairs_list(doc.opportunityWorkTypes, id_name),
    departments = pairs_list(doc.departments, id_name),
    users = pairs_list(doc.users, function(e)
      local id = int(e.UserId)
      if id then
        return { id = id, username = str(e.Username), email = str(e.Email),
                 active = e.Active == true or e.Active == "y" }
      end
    end),
    custom_fields = fields,
  }
end

return M
