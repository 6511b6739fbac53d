-- tracker.emulator.schema: what an emulator database is. Its record kinds, the id each kind's
-- first record gets, and the metadata every database starts with: the lookup lists (statuses,
-- sources, types, departments, skills), the custom fields and the lists they draw from.
--
--   KINDS                  the record kinds, each a list of records with an integer id:
--                          users, clients, contacts, jobs, candidates, applications,
--                          activities, documents
--   FIRST_ID               kind -> the id a new record gets when the kind is empty
--   base_metadata()        -> a fresh database holding the metadata and no records:
--                          { format, timezone, lists, customfields, customfieldlists, <kinds> }
--   FORMAT, VERSION        what a schema file (`trk schema export`) says it is
--   metadata_of(doc, where)
--                          -> base_metadata() with a schema file's metadata in place of the
--                          built-in one: its custom fields and their lists, stages, statuses,
--                          sources, work types, departments, activity types and statuses, and
--                          users (without emails); a list the file lacks stays the built-in
--                          one. doc is the decoded file; a bad one raises "where: the place in
--                          the file: what is wrong".
--
-- A schema file is JSON (docs/emulator.md, Schemas): { format = "trk-schema", version = 1,
-- custom_fields = { candidate = {...}, job = {...}, application = {...}, activity = {...} },
-- stages, candidate_statuses, job_statuses, sources, work_types, departments, activity_types,
-- activity_statuses = lists of { id, name }, users = list of { id, name, active } }.

local M = {}

local type, pairs, ipairs, next, tostring, error = type, pairs, ipairs, next, tostring, error
local mtype = math.type
local fmt, lower, find, match = string.format, string.lower, string.find, string.match
local concat, sort = table.concat, table.sort

function M.base_metadata()
  local function list(names, extra)
    local t = {}
    for i, n in ipairs(names) do
      t[i] = { id = i, name = n }
      if extra then for k, v in pairs(extra[i] or {}) do t[i][k] = v end end
    end
    return t
  end
  local lists = {
    -- state: what getRecords' `state` instruction ("open", "won", "closed") selects.
    opportunityStatuses = list({ "Active", "On Hold", "Sourcing", "Filled", "Lost", "Cancelled" },
      { { state = "open" }, { state = "open" }, { state = "open" }, { state = "won" },
        { state = "closed" }, { state = "closed" } }),
    -- placement: the states getRecords X returns [DOC: Working, Offer or Complete].
    opportunityResourceStatuses = list({ "Applied", "Shortlisted", "Screening",
      "Submitted to Client", "Interview", "Second Interview", "Offer", "Working", "Complete",
      "Rejected", "Withdrawn" },
      { nil, nil, nil, nil, nil, nil, { placement = true }, { placement = true },
        { placement = true } }),
    resourceStatuses = list({ "Active", "Available", "Placed", "Not Looking", "Do Not Use" }),
    resourceSources = list({ "LinkedIn", "Indeed", "Company Website", "Referral", "Dice",
      "CareerBuilder", "Job Fair", "Other" }),
    opportunityWorkTypes = list({ "Permanent", "Contract", "Contract to Hire", "Temporary" }),
    departments = list({ "Technology", "Finance & Accounting", "Healthcare", "Industrial",
      "Sales & Marketing" }),
    activityTypes = list({ "Note", "Call", "Email", "Meeting", "Interview", "Task",
                           "Text Message" }),
    activityStatuses = list({ "Completed", "Scheduled", "Pending", "Cancelled" }),
    -- leads' lists, as getSettingsData names them [CLIENT: the SDK's settings model]
    leadStatuses = list({ "Open", "Qualified", "Won", "Lost" }),
    leadSources = list({ "Website", "Referral", "Event", "Cold Call" }),
    skills = {},
  }
  local skills = { "Java", "Python", "SQL", "AWS", "Excel", "Salesforce", "Forklift", "CDL-A",
                   "Phlebotomy", "QuickBooks", "Project Management", "Spanish", "Kubernetes",
                   "React", "AutoCAD" }
  for i, n in ipairs(skills) do lists.skills[i] = { id = 780 + i, name = n } end
  local function items(names)
    local t = {}
    for i, n in ipairs(names) do t[i] = n end
    return t
  end
  local cflists = {}
  local list_defs = {
    { 701, "Work Authorization", { "US Citizen", "Permanent Resident", "H-1B", "TN Visa",
                                   "Requires Sponsorship" } },
    { 702, "Priority", { "High", "Medium", "Low" } },
    { 703, "Remote Policy", { "On-site", "Hybrid", "Remote" } },
    { 704, "Yes/No", { "Yes", "No" } },
    { 705, "Rejection Reason", { "Skills mismatch", "Salary expectations", "Withdrew",
                                 "Failed screening", "Position filled", "No show" } },
    { 706, "Preferred Contact", { "Email", "Phone", "Text" } },
  }
  for i, l in ipairs(list_defs) do
    local its = {}
    for j, n in ipairs(items(l[3])) do its[j] = { id = l[1] * 10 + j, name = n } end
    cflists[i] = { id = l[1], name = l[2], items = its }
  end
  local customfields = {
    { id = 441, association = "Resource", name = "Score", type = "Number" },
    { id = 442, association = "Resource", name = "Work Authorization", type = "List",
      listid = 701 },
    { id = 443, association = "Resource", name = "Security Clearance", type = "Checkbox" },
    { id = 444, association = "Resource", name = "Preferred Contact", type = "List", listid = 706 },
    { id = 445, association = "Opportunity", name = "Hiring Priority", type = "List",
      listid = 702 },
    { id = 446, association = "Opportunity", name = "Remote Policy", type = "List", listid = 703 },
    -- a limit served and kept only where the dialect has field_max_length [INF]
    { id = 447, association = "Opportunity", name = "Hiring Manager", type = "Text",
      maxlength = 80 },
    { id = 448, association = "Resource", name = "Priority", type = "List", listid = 702 },
    { id = 449, association = "OpportunityResource", name = "Interview Note Sent", type = "List",
      listid = 704 },
    { id = 450, association = "OpportunityResource", name = "Recruiter Score", type = "Number" },
    { id = 451, association = "OpportunityResource", name = "Rejection Reason", type = "List",
      listid = 705 },
    { id = 452, association = "Activity", name = "Follow-up Required", type = "Checkbox" },
    { id = 453, association = "Opportunity", name = "Target Start", type = "Date" },
    -- the candidate this one duplicates (examples/rules/duplicate_email.lua)
    { id = 454, association = "Resource", name = "Duplicate Of", type = "Number" },
    -- one field each for clients, contacts and leads [INF: association names]
    { id = 455, association = "Client", name = "Account Tier", type = "List", listid = 702 },
    { id = 456, association = "Contact", name = "Preferred Contact", type = "List",
      listid = 706 },
    { id = 457, association = "Lead", name = "Lead Score", type = "Number" },
  }
  return {
    format = 1, timezone = "UTC", lists = lists, customfields = customfields,
    customfieldlists = cflists, users = {}, clients = {}, contacts = {}, jobs = {},
    candidates = {}, applications = {}, activities = {}, documents = {}, leads = {},
  }
end

M.KINDS = { "users", "clients", "contacts", "jobs", "candidates", "applications",
                "activities", "documents", "leads" }

-- Ids a new record of each kind starts from when the kind is empty (Tracker-like magnitudes).
M.FIRST_ID = { users = 17, clients = 301, contacts = 4001, jobs = 1001, candidates = 188001,
                   applications = 70001, activities = 500001, documents = 9001,
                   leads = 6001 }

-- ---- schema files ------------------------------------------------------------------------------

M.FORMAT, M.VERSION = "trk-schema", 1

-- A custom field's record kind in a schema file, and its association in the settings.
M.ASSOCIATIONS = { candidate = "Resource", job = "Opportunity", application = "OpportunityResource",
                   activity = "Activity" }

-- The lists of a schema file, by the emulator's list each becomes (activity types and
-- statuses are the emulator's own lists: its getSettingsData does not show them).
M.LISTS = { stages = "opportunityResourceStatuses", candidate_statuses = "resourceStatuses",
            job_statuses = "opportunityStatuses", sources = "resourceSources",
            work_types = "opportunityWorkTypes", departments = "departments",
            activity_types = "activityTypes", activity_statuses = "activityStatuses" }

-- What a database's own names say of a stage or a job status, which a schema file does not:
-- the stages getRecords X shows as placements, the stages that end an application (made
-- inactive), and the job states getRecords `state` selects (docs/emulator.md, Schemas).
local PLACEMENT = { "offer", "plac", "working", "complete", "hired", "start" }
local ENDED = { "reject", "withdr", "declin", "unsuccess", "not suit", "lost" }
local WON = { "fill", "won", "placed", "complete" }
local CLOSED = { "lost", "cancel", "closed", "withdr", "dead" }

local function named(name, words)
  local l = lower(name)
  for _, w in ipairs(words) do
    if find(l, w, 1, true) then return true end
  end
  return false
end

-- Raises "where: place: why" (level 0: the message is the user's, not a line of trk's).
local function bad(where, place, why, ...)
  error(fmt("%s: %s: " .. why, where, place, ...), 0)
end

local function is_list(v)
  return type(v) == "table" and (next(v) == nil or v[1] ~= nil)
end

local function id_name_list(where, place, v, need_ids)
  if v == nil then return nil end
  if not is_list(v) then bad(where, place, 'must be a list of { "id": ..., "name": ... }') end
  local out, seen = {}, {}
  for i, e in ipairs(v) do
    local at = fmt("%s[%d]", place, i)
    if type(e) ~= "table" then bad(where, at, "must be an object with an id and a name") end
    if type(e.name) ~= "string" or e.name == "" then bad(where, at, "has no name") end
    if e.id ~= nil and mtype(e.id) ~= "integer" then
      bad(where, at, "id must be an integer, not %s", tostring(e.id))
    end
    if need_ids and e.id == nil then bad(where, at, "has no id") end
    if e.id ~= nil then
      if seen[e.id] then bad(where, at, "id %d is given twice (also at %s)", e.id, seen[e.id]) end
      seen[e.id] = at
    end
    out[i] = { id = e.id, name = e.name }
  end
  return out
end

-- Numbers the entries a list gives without an id (activity types seen without theirs).
local function number_list(list)
  local top = 0
  for _, e in ipairs(list) do if e.id and e.id > top then top = e.id end end
  for _, e in ipairs(list) do
    if not e.id then top = top + 1; e.id = top end
  end
  return list
end

-- The custom fields of a schema file as the emulator's definitions and lists.
local function custom_fields(where, cf)
  if type(cf) ~= "table" or cf[1] ~= nil then
    bad(where, "custom_fields", "must be an object of lists by record kind (candidate, job, "
        .. "application, activity)")
  end
  local fields, lists, list_of, ids = {}, {}, {}, {}
  for kind, defs in pairs(cf) do
    local assoc = M.ASSOCIATIONS[kind]
    local place = "custom_fields." .. tostring(kind)
    if not assoc then
      bad(where, place, "is not a record kind (candidate, job, application or activity)")
    end
    if not is_list(defs) then bad(where, place, "must be a list of fields") end
    for i, f in ipairs(defs) do
      local at = fmt("%s[%d]", place, i)
      if type(f) ~= "table" then bad(where, at, "must be an object") end
      if mtype(f.id) ~= "integer" then bad(where, at, "has no integer id") end
      if ids[f.id] then bad(where, at, "id %d is given twice (also at %s)", f.id, ids[f.id]) end
      ids[f.id] = at
      if type(f.name) ~= "string" or f.name == "" then bad(where, at, "has no name") end
      if type(f.type) ~= "string" or f.type == "" then
        bad(where, at, "has no type (Text, Number, Date, Checkbox, List, ...)")
      end
      if f.max_length ~= nil and (mtype(f.max_length) ~= "integer" or f.max_length < 1) then
        bad(where, at, "max_length must be a positive integer")
      end
      local def = { id = f.id, association = assoc, name = f.name, type = f.type,
                    maxlength = f.max_length }
      if f.type == "List" then
        local items = id_name_list(where, at .. ".items", f.items or {}, true)
        -- fields with the same items share one list, as they would in Tracker
        local key = {}
        for j, it in ipairs(items) do key[j] = it.id .. "=" .. it.name end
        key = concat(key, "\0")
        local l = list_of[key]
        if not l then
          l = { id = 701 + #lists, name = f.name, items = items }
          lists[#lists + 1] = l
          list_of[key] = l
        end
        def.listid = l.id
      elseif f.items ~= nil then
        bad(where, at, "has items, but its type is %s, not List", f.type)
      end
      fields[#fields + 1] = def
    end
  end
  sort(fields, function(a, b) return a.id < b.id end)
  return fields, lists
end

function M.metadata_of(doc, where)
  where = where or "schema"
  if type(doc) ~= "table" or doc[1] ~= nil then bad(where, "the file", "is not a JSON object") end
  if doc.format ~= M.FORMAT then
    bad(where, "format", "is %s, not \"%s\" (not a file `trk schema export` wrote)",
        doc.format == nil and "missing" or "'" .. tostring(doc.format) .. "'", M.FORMAT)
  end
  if mtype(doc.version) ~= "integer" or doc.version < 1 or doc.version > M.VERSION then
    bad(where, "version", "%s is not a version this trk reads (1 to %d): use a trk as new as "
        .. "the one that exported it", tostring(doc.version), M.VERSION)
  end
  local d = M.base_metadata()
  for key, list in pairs(M.LISTS) do
    local v = id_name_list(where, key, doc[key],
                           key ~= "activity_types" and key ~= "activity_statuses")
    if v then d.lists[list] = number_list(v) end
  end
  if doc.stages and doc.stages[1] == nil then
    bad(where, "stages", "is empty: a database has at least one application stage")
  end
  if doc.stages then
    for _, st in ipairs(d.lists.opportunityResourceStatuses) do
      st.placement = named(st.name, PLACEMENT) or nil
      st.ended = named(st.name, ENDED) or nil
    end
  end
  if doc.job_statuses then
    for _, st in ipairs(d.lists.opportunityStatuses) do
      st.state = named(st.name, WON) and "won" or named(st.name, CLOSED) and "closed" or "open"
    end
  end
  if doc.custom_fields ~= nil then
    d.customfields, d.customfieldlists = custom_fields(where, doc.custom_fields)
  end
  if doc.users ~= nil then
    if not is_list(doc.users) then
      bad(where, "users", 'must be a list of { "id", "name", "active" }')
    end
    for i, u in ipairs(doc.users) do
      local at = fmt("users[%d]", i)
      if type(u) ~= "table" or mtype(u.id) ~= "integer" then bad(where, at, "has no integer id") end
      local name = type(u.name) == "string" and u.name or ""
      local first, last = match(name, "^%s*(%S*)%s*(.-)%s*$")
      d.users[i] = { id = u.id, firstname = first ~= "" and first or "User",
                     lastname = (first ~= "" or last ~= "") and last or tostring(u.id),
                     active = u.active ~= false }
    end
  end
  return d
end

return M
