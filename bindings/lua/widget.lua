-- widget: all that trk knows of Tracker's widget API (docs/tracker-api.md §2, §3, §7): verbs,
-- envelopes, instruction names, status codes, item fields and metadata lists. Nothing else in
-- the client spells a widget field name.

local native = native
local values = import "values"
local int, str = values.int, values.str
local type, pairs, ipairs, tostring, tointeger, fmt, setmetatable =
      type, pairs, ipairs, tostring, math.tointeger, string.format, setmetatable
local sort, concat = table.sort, table.concat

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
-- Clients, contacts and leads (§7 letters [DOC]; their Association names [INF]).
M.letters.client, M.letters.contact, M.letters.lead = "C", "N", "L"
M.associations.Client, M.associations.Contact, M.associations.Lead = "client", "contact", "lead"
M.crm_kinds = { "client", "contact", "lead" }
M.job_states = { open = true, won = true, closed = true }

-- Widget status codes (§2) and the client's error code for each.
local STATUS = {
  [1] = { "auth", "user or API key not found" },
  [2] = { "auth", "user not active" },
  [3] = { "conflict", "record found and cannot be overwritten" },
  [99] = { "invalid_request", "invalid request" },
}

-- ---- requests ------------------------------------------------------------------------------

-- The credentials node for the configured credentials (§1, §9.6): apikey (with a username, or
-- alone: Tracker then acts as the database's administrator), username + password, or the API
-- token as oauthtoken. All four keys are sent, the unused ones "", as Tracker's own samples do.
-- nil and the missing variable when there are none.
function M.credentials(c)
  local node
  if c.apikey then node = { apikey = c.apikey, username = c.username }
  elseif c.password and c.username then node = { username = c.username, password = c.password }
  elseif c.api_token then node = { oauthtoken = c.api_token }
  elseif c.password then return nil, "TRACKER_USERNAME"
  else return nil, "TRACKER_APIKEY" end
  for _, k in ipairs({ "username", "password", "oauthtoken", "apikey" }) do node[k] = node[k] or "" end
  return node
end

-- path, body of a widget call. `nodes` are extra nodes beside the instructions.
function M.request(verb, credentials, instructions, nodes)
  local inner = { credentials = credentials, instructions = instructions or {} }
  for k, v in pairs(nodes or {}) do inner[k] = v end
  return "/api/widget/" .. verb, native.encode({ trackerrms = { [verb] = inner } })
end

-- getRecords instructions for one page (§3, §5): the window `after` (updatedafter) stays fixed
-- for the whole stream and pages go by number, in id order, which an update does not change
-- (streams.lua says why).
function M.list(kind, f, after, pagenum, size)
  return {
    recordtype = M.letters[kind], numrecords = size, pagenum = pagenum,
    sortfield = "id", sortdir = "asc",
    updatedafter = after or "", updatedbefore = f.before or "",
    state = f.state, searchtext = f.search, includecustomfields = true,
  }
end

function M.one(kind, id)
  return { recordtype = M.letters[kind], recordid = id, includecustomfields = true }
end

-- ---- writes (§3, §7) ----------------------------------------------------------------------

-- Verbs that only read: a raw request to any other verb is a write.
M.read_verbs = { getRecords = true, getIndividualRecord = true, getSettingsData = true,
                 checkLogon = true }

-- updateRecord record types by kind.
M.update_letters = { candidate = "R", job = "O", application = "X" }
M.update_letters.client, M.update_letters.contact, M.update_letters.lead, M.update_letters.activity =
  "C", "N", "L", "A"                         -- §9.9 [DOC 840; OBS]

-- updateRecord columns by trk field name, per kind: { column, value kind, read = key } where
-- the kind is nil (text), "date" (YYYY-MM-DD) or "number", and `read` is the key of the
-- record's `details` that shows the column's value (tracker-evidence.md: the SDK models), when
-- reads show it. `status` names a status; the client turns it into the id the column takes.
M.columns = {
  candidate = {
    first_name = { "firstname", read = "firstname" }, last_name = { "surname", read = "lastname" },
    job_title = { "jobtitle", read = "jobtitle" }, email = { "email", read = "email" },
    other_email = { "email2", read = "otheremail" }, phone = { "mobilephone", read = "mobiletelephone" },
    home_phone = { "homephone", read = "hometelephone" },
    work_phone = { "workphone", read = "worktelephone" },
    address1 = { "addressline1", read = "address1" }, address2 = { "addressline2", read = "address2" },
    town = { "town", read = "town" }, county = { "county", read = "county" },
    postcode = { "postcode", read = "postcode" }, country = { "country", read = "country" },
    nationality = { "nationality" }, date_of_birth = { "dateofbirth", "date" },
    availability = { "availability", read = "availability" },
    current_salary = { "currentsalary", "number" }, desired_salary = { "desiredsalary", "number" },
    notice_period = { "noticeperiod" }, note = { "note" }, status = { "resourcestatusid", "status" },
  },
  job = {
    name = { "opportunityname", read = "name" },
    description = { "opportunitydescription", read = "description" },
    opened_on = { "dateopened", "date" }, start_date = { "startdate", "date" },
    end_date = { "enddate", "date" }, location = { "location" }, department = { "department" },
    estimated_value = { "estimatedvalue", "number" }, probability = { "probability", "number" },
    publish_title = { "publishtitle" }, publish_description = { "publishdescription" },
    publish_location = { "publishlocation" }, publish_online = { "publishonline" },
    publish_salary_from = { "publishsalaryfrom", "number" },
    publish_salary_to = { "publishsalaryto", "number" }, reason_for_close = { "reasonforclose" },
    status = { "opportunitystatusid", "status" },
  },
}

-- Clients, contacts, leads and activities: the columns tracker-evidence.md §2.11 lists for C, N,
-- L and A [OBS: the SDK's update schemas], read back from the `details` names of §2.9. "named":
-- the value is a name of the metadata list `list` (activity types and statuses are sent by name
-- [OBS: taskStatus "Completed"]).
M.columns.client = {
  name = { "clientname" }, email = { "email", read = "email" },
  phone = { "telephone", read = "telephone" }, website = { "website", read = "website" },
  address1 = { "addressline1", read = "address1" }, address2 = { "addressline2", read = "address2" },
  town = { "town", read = "town" }, county = { "county", read = "county" },
  postcode = { "postcode", read = "postcode" }, country = { "country", read = "country" },
  department = { "department", read = "department" }, source = { "clientsource", read = "source" },
  note = { "note" },
}
M.columns.contact = {
  first_name = { "firstname", read = "firstname" }, last_name = { "surname", read = "lastname" },
  job_title = { "jobtitle", read = "jobtitle" }, email = { "email", read = "email" },
  phone = { "mobilephone", read = "mobiletelephone" },
  work_phone = { "businessphone", read = "businesstelephone" },
  home_phone = { "homephone", read = "hometelephone" },
  address1 = { "addressline1", read = "address1" }, address2 = { "addressline2", read = "address2" },
  town = { "town", read = "town" }, county = { "county", read = "county" },
  postcode = { "postcode", read = "postcode" }, country = { "country", read = "country" },
  department = { "department" }, website = { "website" }, note = { "note" },
}
M.columns.lead = {
  subject = { "leadname", read = "subject" }, description = { "leaddescription", read = "description" },
  source = { "leadsource", read = "source" }, department = { "department" },
  email = { "email" }, phone = { "telephone" },
}
M.columns.activity = {
  subject = { "subject", read = "subject" }, note = { "note", read = "note" },
  priority = { "priority", read = "priority" }, contact_type = { "contacttype", read = "contacttype" },
  date = { "startdate", "date", read = "startdate" }, time = { "starttime", "time", read = "starttime" },
  type = { "activitytype", "named", list = "activity_types", read = "ActivityTypeName" },
  status = { "taskstatus", "named", list = "activity_statuses", read = "activitystatusname" },
}

M.stage_column = "opportunityresourcestatusid"
M.tag_column = "tag"

-- updateRecord: instructions and nodes. `updates` is { { column, value } }, `custom`
-- { { id, value } }; every value is a string (§3).
function M.update(kind, id, updates, custom)
  local u, cf = {}, {}
  for i, x in ipairs(updates or {}) do u[i] = { column = x[1], value = x[2] } end
  for i, x in ipairs(custom or {}) do cf[i] = { id = x[1], value = x[2] } end
  local nodes = {}
  if #u > 0 then nodes.updates = u end
  if #cf > 0 then nodes.customfields = cf end
  return { recordtype = M.update_letters[kind], recordid = id }, nodes
end

-- createResource `resource` fields by trk name.
M.resource_fields = {
  first_name = "firstname", last_name = "lastname", name = "fullname", email = "email",
  other_email = "email2", job_title = "jobtitle", company = "company", phone = "mobilephone",
  home_phone = "homephone", work_phone = "workphone", address1 = "address1",
  address2 = "address2", town = "town", county = "county", postcode = "postcode",
  country = "country", linkedin = "linkedin", source = "source", availability = "availability",
  nationality = "nationality", status = "status",
}

-- createContact `contact` fields by trk name (tracker-evidence.md §2.4 [DOC 356]).
M.contact_fields = {
  first_name = "firstname", last_name = "lastname", name = "fullname", job_title = "jobtitle",
  company = "company", email = "email", phone = "cellphone", work_phone = "businessphone",
  home_phone = "homephone", address1 = "address1", address2 = "address2", town = "city",
  county = "state", postcode = "zipcode", country = "country", linkedin = "linkedin",
  website = "website", note = "note",
}

local function custom_node(custom)
  local cf = {}
  for i, x in ipairs(custom or {}) do cf[i] = { id = x[1], value = x[2] } end
  return #cf > 0 and cf or nil
end

-- createContact: instructions and nodes. `fields` are wire names already; custom fields ride
-- in the contact node, as createResource's do [INF: the lesson's sample shows none].
function M.contact_node(fields, custom, create_company)
  local node = {}
  for k, v in pairs(fields) do node[k] = v end
  node.customfields = custom_node(custom)
  return { createcompanyifnotexists = create_company and true or false,
           overwritecontact = false }, { contact = node }
end

-- createLead (§2.7 [DOC 359]): the lead names its client by `company` [DOC]; trk sends the
-- client's id beside it [INF], so two clients of one name are told apart.
function M.lead_node(l, custom)
  return { createpersonifnotexists = false, notifydepartment = false }, { lead = {
    leadname = l.subject, source = l.source, description = l.description,
    department = l.department, company = l.company, clientid = l.client_id,
    customfields = custom_node(custom),
  } }
end

-- createResource: instructions and nodes. `fields` are wire names already.
function M.create_resource(fields, custom, o)
  local res = {}
  for k, v in pairs(fields) do res[k] = v end
  if custom and #custom > 0 then
    local cf = {}
    for i, x in ipairs(custom) do cf[i] = { id = x[1], value = x[2] } end
    res.customfields = cf
  end
  return { overwriteresource = o.overwrite and true or false, assigntoopportunity = o.job,
           assigntolist = o.list, shortlistedby = o.by }, { resource = res }
end

function M.application(job, candidate, list, by, source)
  return { opportunityid = job, resourceid = candidate, assigntolist = list or "short",
           shortlistedby = by or "user", source = source }
end

-- createActivity (§3: camelCase here). `link` is { letter, id, job, application }.
function M.activity(link, a)
  return {}, { activity = {
    subject = a.subject, type = a.type, status = a.status, date = a.date, time = a.time,
    note = a.note, userId = a.user, linkRecordType = link[1], linkRecordId = link[2],
    opportunityId = link[3], opportunityResourceId = link[4],
    priority = a.priority, contactType = a.contact_type,
  }, customfields = custom_node(a.custom) }
end
M.note_letters = { candidate = "R", job = "O", client = "C", contact = "N", lead = "L" }

-- attachDocument.
function M.attach_document(letter, id, f)
  return {}, { file = { filename = f.filename, recordType = letter, recordId = id,
                        documentType = f.type, primary = f.primary and "y" or "n", data = f.data } }
end

-- The created record's id from a write answer (recordId), or nil.
function M.record_id(doc)
  return type(doc) == "table" and int(doc.recordId) or nil
end

-- The tags in a getIndividualRecord R item (the `tag` column, comma-separated [INF]), or nil
-- when the item does not show the column (§9: whether Tracker returns it is unknown).
function M.tags(item)
  if type(item) ~= "table" or item.tag == nil or item.tag == native.null then return nil end
  local out = {}
  local text = str(item.tag)
  for tag in string.gmatch(text or "", "[^,]+") do
    tag = string.match(tag, "^%s*(.-)%s*$")
    if tag ~= "" then out[#out + 1] = tag end
  end
  return out
end

function M.individual(kind, id)
  return { recordtype = M.letters[kind], recordid = id }
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

-- What a write sent, for the message of a refusal (the server's text alone does not say which
-- value it refused): "resource.source = 'Linkedin', customfields 448 (Priority) = 'Urgent'".
-- `nodes` and `instructions` are the write's own (the credentials are never among them); long
-- values are cut, file data left out. `names` maps custom field ids to names, when known.
local SENT_MAX = 60
local UNSHOWN = { data = true }              -- attachDocument's base64 bytes

local function shown(v)
  local t = type(v) == "string" and v or tostring(v)
  if #t > SENT_MAX then t = t:sub(1, SENT_MAX) .. "..." end
  return "'" .. t .. "'"
end

function M.sent(instructions, nodes, names)
  local out = {}
  local function scalars(prefix, t)
    local keys = {}
    for k, v in pairs(t) do
      if type(k) == "string" and type(v) ~= "table" and not UNSHOWN[k] then
        keys[#keys + 1] = k
      end
    end
    sort(keys)
    for _, k in ipairs(keys) do out[#out + 1] = fmt("%s%s = %s", prefix, k, shown(t[k])) end
  end
  local function pairs_of(what, list, key)
    for _, x in ipairs(list) do
      if type(x) == "table" then
        local id = x[key]
        local name = key == "id" and names and names[tointeger(id) or false]
        out[#out + 1] = fmt("%s %s%s = %s", what, tostring(id),
                            name and (" (" .. name .. ")") or "", shown(x.value))
      end
    end
  end
  local order = {}
  for k in pairs(nodes or {}) do order[#order + 1] = k end
  sort(order)
  for _, k in ipairs(order) do
    local v = nodes[k]
    if k == "updates" and type(v) == "table" then pairs_of("column", v, "column")
    elseif k == "customfields" and type(v) == "table" then pairs_of("custom field", v, "id")
    elseif type(v) == "table" then
      scalars(k .. ".", v)
      if type(v.customfields) == "table" then pairs_of("custom field", v.customfields, "id") end
    end
  end
  if #out == 0 and type(instructions) == "table" then scalars("", instructions) end
  return concat(out, ", ")
end

-- The id of a getRecords item and its naive local last-updated time when it shows one: at the
-- top (the rich dialect), or in its details (activities: lastupdateddatetime, placements:
-- lastupdated [§9.1]). nil when the item has no id.
function M.key(item)
  local t = type(item)
  if t ~= "table" and t ~= "userdata" then return nil end
  local id = tointeger(item.id)
  if id == nil then return nil end
  local ts = item.lastupdateddatetime
  if type(ts) ~= "string" then
    -- a lazy item's details are read through a view, not decoded whole
    local d = t == "userdata" and native.details(item) or item.details
    local dt = type(d)
    ts = (dt == "table" or dt == "userdata") and (d.lastupdateddatetime or d.lastupdated) or nil
    if type(ts) ~= "string" or ts == "" then ts = nil end
  end
  return id, ts
end

-- ---- records -------------------------------------------------------------------------------

-- The first of two or three values that is a non-empty string (or a number, as text).
local function first(a, b, c)
  return str(a) or str(b) or (c ~= nil and str(c)) or nil
end

-- Custom-field values by name (§3 customfields), typed by the metadata's field types.
function M.custom(list, fields, typed)
  local out = {}
  if type(list) ~= "table" then return out end
  for i = 1, #list do
    local cf = list[i]
    if type(cf) == "table" then
      local id = cf.id
      local def = fields[tointeger(id) or int(id)]
      local name = def and def.name or str(cf.name)
      if name then out[name] = typed(def and def.type, cf.value) end
    end
  end
  return out
end

-- How each field of a record is made from its item (normalise[kind][field]): a member as a
-- non-empty string (top, or inner: one of its details) or an integer (inner_int), each read
-- for a lazy record by C (bindings/lazy.c) without a call of its own; or a function
-- get(item, details, c) for anything more.
local function plain(how, where, key, as)
  local get
  if where == "top" then get = function(item) return as(item[key]) end
  else get = function(_, d) return as(d[key]) end end
  return { how = how, key = key, inner = where == "inner", get = get }
end
local function top(key) return plain("str", "top", key, str) end
local function inner(key) return plain("str", "inner", key, str) end
local function inner_int(key) return plain("int", "inner", key, int) end
local function opened_at(item, _, c) return c.time(item.dateopened) end   -- created_at

local normalise = {}

normalise.job = {
  name = top("name"),
  status = top("status"),
  company = function(item, d) return first(item.company, d.clientname) end,
  client_id = inner_int("clientid"),
  contact_id = inner_int("contactid"),
  contact = inner("contactname"),
  type = inner("type"),
  description = inner("description"),
  owner = function(_, d)
    local owners = d.Owners
    if type(owners) == "table" and type(owners[1]) == "table" then return str(owners[1].OwnerName) end
  end,
  opened_on = function(item, _, c) return c.date(item.dateopened) end,
}

normalise.candidate = {
  name = top("name"),
  status = top("status"),
  first_name = inner("firstname"),
  last_name = inner("lastname"),
  email = inner("email"),
  other_email = inner("otheremail"),
  job_title = inner("jobtitle"),
  company = function(item, d) return first(d.companyname, item.company) end,
  phone = function(_, d) return first(d.mobiletelephone, d.worktelephone, d.hometelephone) end,
  town = inner("town"),
  county = inner("county"),
  country = inner("country"),
  source = inner("source"),
  owner = inner("owner"),
  linkedin = inner("linkedin"),
  created_at = opened_at,
}

normalise.activity = {
  name = function(item, d) return first(d.subject, item.name) end,
  subject = inner("subject"),
  type = inner("ActivityTypeName"),
  status = function(item, d) return first(d.activitystatusname, item.status) end,
  candidate_id = inner_int("resourceid"),
  job_id = inner_int("opportunityid"),
  application_id = inner_int("opportunityresourceid"),
  client_id = inner_int("clientid"),
  contact_id = inner_int("contactid"),
  user_id = inner_int("userid"),
  user = inner("username"),
  note = inner("note"),
  date = function(item, d, c) return c.date(d.startdate or d.datedue or item.dateopened) end,
  time = function(_, d) return str(d.starttime or d.timedue) end,
  lead_id = inner_int("leadid"),
  company = function(item, d) return first(d.clientname, item.company) end,
  contact = inner("contactname"),
  priority = inner("priority"),
  contact_type = inner("contacttype"),
}

-- Clients, contacts and leads: `details` as tracker-evidence.md §2.9 names them [OBS].
normalise.client = {
  name = top("name"),
  status = top("status"),
  email = inner("email"),
  phone = inner("telephone"),
  website = inner("website"),
  address1 = inner("address1"),
  address2 = inner("address2"),
  town = inner("town"),
  county = inner("county"),
  postcode = inner("postcode"),
  country = inner("country"),
  department = inner("department"),
  source = inner("source"),
  owner = inner("owner"),
  type = function(_, d) return first(d.clienttypes, d.type) end,
  created_at = opened_at,
}

normalise.contact = {
  name = top("name"),
  status = top("status"),
  first_name = inner("firstname"),
  last_name = inner("lastname"),
  job_title = inner("jobtitle"),
  company = function(item, d) return first(d.companyname, item.company) end,
  client_id = inner_int("companyId"),
  email = inner("email"),
  phone = function(_, d) return first(d.mobiletelephone, d.businesstelephone, d.hometelephone) end,
  work_phone = inner("businesstelephone"),
  linkedin = inner("linkedin"),
  town = inner("town"),
  county = inner("county"),
  country = inner("country"),
  type = inner("contactType"),
  created_at = opened_at,
}

normalise.lead = {
  name = function(item, d) return first(d.name, item.name) end,
  subject = function(item, d) return first(d.subject, d.name, item.name) end,
  status = function(item, d) return first(d.status, item.status) end,
  source = inner("source"),
  description = inner("description"),
  client_id = inner_int("clientid"),
  company = function(item, d) return first(d.clientname, item.company) end,
  created_at = opened_at,
}

-- The fields a record of `kind` has beyond kind, id and updated_at: normalise's, custom and
-- raw; for each, get(item, details, c) makes it from a decoded item, and specs[field] says how
-- native.record_mt makes it for a lazy record (bindings/lazy.c: its bit, how, key, inner, get).
-- Made once a kind.
local record_fields = {}
local REC = { call = 0, str = 1, int = 2, whole = 3 }   -- as lazy.c numbers them

local function fields_of(kind)
  local f = record_fields[kind]
  if f then return f end
  f = { get = {}, specs = {} }
  local custom_kind = M.custom_kind[kind] or kind
  local how = { raw = "whole" }
  for k, spec in pairs(normalise[kind]) do how[k] = spec end
  how.custom = function(item, _, c) return M.custom(item.customfields, c.fields[custom_kind], c.typed) end
  local bit = 0
  for k, spec in pairs(how) do
    if spec == "whole" then
      f.get[k] = function(item) return item end
      f.specs[k] = { bit, REC.whole }
    elseif type(spec) == "function" then
      f.get[k] = spec
      f.specs[k] = { bit, REC.call, false, false, spec }
    else
      f.get[k] = spec.get
      f.specs[k] = { bit, REC[spec.how], spec.key, spec.inner, spec.get }
    end
    bit = bit + 1
  end
  assert(bit <= 64, "a lazy record has at most 64 fields")
  record_fields[kind] = f
  return f
end

-- A normalised record from a getRecords item (§7), or nil when the item is malformed.
-- `c` converts times and types custom fields (client.lua builds it from the configuration).
-- An item a stream read with native.page (a userdata) makes a lazy record.
function M.record(kind, item, c, id, ts)
  if type(item) == "userdata" then return M.lazy_record(kind, item, c, id, ts) end
  if id == nil then id, ts = M.key(item) end
  if id == nil then return nil end
  local d = item.details
  if type(d) ~= "table" then d = {} end
  local r = { kind = kind, id = id, updated_at = ts and c.time(ts) or nil }
  for k, get in pairs(fields_of(kind).get) do r[k] = get(item, d, c) end
  return r
end

-- Lazy records: a stream's record holds kind, id and updated_at, and its item (a copy of the
-- item's JSON text, bindings/lazy.c); any other field is made from the item the first time it
-- is read, as fields_of says, and kept in the record, which from then on is a plain table for
-- that field. The item's `claimed` bits say which fields were made, so a field the item lacks,
-- or one the script set or removed, is not made again; `raw` is the whole item decoded.
-- pairs() (and so anything that walks the record with it) makes every field first.
local lazy_items = setmetatable({}, { __mode = "k" })   -- record -> its item
local lazy_news = setmetatable({}, { __mode = "k" })    -- converters -> kind -> constructor
local next = next

-- The constructor of lazy records of a kind, for converters c (made once for each).
local function lazy_new(kind, c)
  local by_kind = lazy_news[c]
  if not by_kind then
    by_kind = {}
    lazy_news[c] = by_kind
  end
  if by_kind[kind] then return by_kind[kind] end
  local specs = fields_of(kind).specs
  local mt, new = native.record_mt(specs, lazy_items, c)
  local make = mt.__index
  mt.__pairs = function(r)
    if lazy_items[r] then
      for k in pairs(specs) do make(r, k) end
      lazy_items[r] = nil
    end
    return next, r, nil
  end
  by_kind[kind] = new
  return new
end

function M.lazy_record(kind, item, c, id, ts)
  if id == nil then id, ts = M.key(item) end
  if id == nil then return nil end
  return lazy_new(kind, c)(kind, id, ts and c.time(ts) or nil, item)
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

-- The client's metadata from a getSettingsData answer. `stages` is nil when the answer has no
-- opportunityResourceStatuses (§9.2): metadata.lua then looks elsewhere.
function M.metadata(doc)
  local lists = {}
  for _, l in ipairs(pairs_list(doc.customFieldLists, function(e)
    local id = int(e.Id)
    if id then return { id = id, name = str(e.Name), items = pairs_list(e.Items, id_name) } end
  end)) do lists[l.id] = l end
  local fields = { job = {}, candidate = {}, application = {}, activity = {}, client = {},
                   contact = {}, lead = {} }
  for _, e in ipairs(doc.customFields or {}) do
    local kind = type(e) == "table" and M.associations[e.Association]
    local id, name = kind and int(e.Id), kind and str(e.Name)
    if id and name then
      local l = lists[int(e.ListId)]
      local f = fields[kind]
      -- MaxLength: a limit only where the settings give one [INF: no evidence shows it]
      f[#f + 1] = { id = id, name = name, type = str(e.Type) or "Text",
                    items = l and l.items or nil, max_length = int(e.MaxLength) }
    end
  end
  return {
    stages = type(doc.opportunityResourceStatuses) == "table"
             and pairs_list(doc.opportunityResourceStatuses, id_name) or nil,
    candidate_statuses = pairs_list(doc.resourceStatuses, id_name),
    job_statuses = pairs_list(doc.opportunityStatuses, id_name),
    sources = pairs_list(doc.resourceSources, id_name),
    work_types = pairs_list(doc.opportunityWorkTypes, id_name),
    departments = pairs_list(doc.departments, id_name),
    -- activity types and statuses: listed by some databases' settings [INF], else unknown
    -- (nil: Tracker checks the names, §9.8)
    activity_types = type(doc.activityTypes) == "table" and pairs_list(doc.activityTypes, id_name)
                     or nil,
    activity_statuses = type(doc.activityStatuses) == "table"
                        and pairs_list(doc.activityStatuses, id_name) or nil,
    lead_sources = pairs_list(doc.leadSources, id_name),
    users = pairs_list(doc.users, function(e)
      local id = int(e.UserId)
      if id then
        -- Active: a boolean, or a string such as "True" (§9.2), read as a checkbox is
        return { id = id, username = str(e.Username), email = str(e.Email),
                 active = values.typed("Checkbox", e.Active) == true }
      end
    end),
    custom_fields = fields,
  }
end

-- ---- jobs created, placements, people found, candidates from a CV (issue 22) ---------------

-- Placements: getRecords X (only those in a Working, Offer or Complete state [DOC 361]), and
-- updateRecord X with the opportunity-resource id, as a stage move is (§3).
M.letters.placement = "X"
M.update_letters.placement = "X"
-- X columns: the status [DOC 840]; dates and rates [INF: the details getRecords X shows].
M.columns.placement = {
  status = { "opportunityresourcestatusid", "stage", read = "status" },
  start_date = { "startdate", "date", read = "startdate" },
  end_date = { "enddate", "date", read = "enddate" },
  pay_rate = { "payrate", "number", read = "payrate" },
  charge_rate = { "chargerate", "number", read = "chargerate" },
}
-- A job's rates (§9.9: the SDK's update schema [OBS]).
M.columns.job.pay_rate = { "opportunityrate", "number" }
M.columns.job.charge_rate = { "opportunitychargerate", "number" }
-- Custom fields of a placement are its application's (association OpportunityResource).
M.custom_kind = { placement = "application" }

-- attachDocument record letters by kind [DOC 1125: C, N, L, O, P, T, R]; an application's
-- documents are its candidate's.
M.document_letters = { candidate = "R", job = "O", client = "C", contact = "N", lead = "L" }
M.document_kinds = { R = "candidate", O = "job", C = "client", N = "contact", L = "lead" }

-- createOpportunity [DOC 360; fields after the archived copy's cut: the SDK's schema, OBS]:
-- the job and the contact who owns it, named (no id is documented). trk links existing
-- records only: createpersonifnotexists false, so a misspelt contact is refused, not made.
function M.create_opportunity(job, person, custom)
  local o = { opportunityname = job.title, worktype = job.work_type,
              description = job.description, company = person.company,
              firstname = person.first_name, lastname = person.last_name,
              fullname = person.name, email = person.email }
  if custom and #custom > 0 then
    local cf = {}
    for i, x in ipairs(custom) do cf[i] = { id = x[1], value = x[2] } end
    o.customfields = cf
  end
  return { createpersonifnotexists = false }, { opportunity = o }
end

-- checkPerson [DOC 363]: details { email, phone, linkedin }; the answer names the record types
-- found (recordTypes: C contacts, R resources, U users) and the first record, without an id.
function M.check_person(q)
  return {}, { details = { email = q.email or "", phone = q.phone or "",
                           linkedin = q.linkedin or "" } }
end
M.person_kinds = { C = "contact", R = "candidate" }     -- U (users) are not people to find
M.person_letters = { contact = "N", candidate = "R" }   -- getRecords letters of those kinds

-- The record types and the first record of a checkPerson answer: "CR", { name, email, ... }.
function M.person_answer(doc)
  local types = str(doc.recordTypes) or ""
  local f = type(doc.firstRecord) == "table" and doc.firstRecord or {}
  return types, { name = str(f.fullname), email = str(f.email), phone = str(f.phone),
                  cell = str(f.cell), linkedin = str(f.linkedin), company = str(f.company) }
end

-- The emails, phones and LinkedIn address a getRecords item of a person shows, by key of its
-- details (§7: R and N details [OBS]).
M.person_details = {
  email = { "email", "otheremail" },
  phone = { "mobiletelephone", "worktelephone", "hometelephone", "businesstelephone" },
  linkedin = { "linkedin" },
}

-- createResourceFromResume [DOC 358]: the resource's fields (the CV gives the rest), and the
-- file as base64; the job, list and shortlister as createResource takes them.
function M.resource_from_resume(fields, file, o)
  local res = {}
  for k, v in pairs(fields) do res[k] = v end
  return { assigntoopportunity = o.job, assigntolist = o.list, shortlistedby = o.by },
         { resource = res, file = { filename = file.filename, data = file.data } }
end

normalise.placement = {
  name = top("name"),
  status = function(item, d) return first(d.status, item.status) end,
  application_id = function(item) return int(item.id) end,
  candidate_id = inner_int("resourceid"),
  candidate_name = inner("resourcename"),
  job_id = inner_int("opportunityid"),
  client_id = inner_int("clientid"),
  contact_id = inner_int("contactid"),
  company = function(item, d) return first(item.company, d.clientname) end,
  start_date = function(_, d, c) return c.date(d.startdate) end,
  end_date = function(_, d, c) return c.date(d.enddate) end,
  pay_rate = function(_, d) return values.num(d.payrate) end,
  charge_rate = function(_, d) return values.num(d.chargerate) end,
  charge_period = inner("chargeperiod"),
  currency = inner("currency"),
  assigned_at = function(_, d, c) return c.time(d.dateassigned) end,
  confirmed_on = function(_, d, c) return c.date(d.dateconfirmed) end,
}

return M
