-- actions: the catalog of write operations. Every write a client makes becomes an action
-- { op, target, payload, key }, and everything trk knows about a kind of action is its entry
-- here. The others ask: writes.lua (is it deferred in a batch, how is it read back), a plan
-- (what it answers unsent, how it reads in a table), the journal (may a resumed run send it
-- again, read it back, or can it not tell). No other file keeps a list of operations.
--
-- An entry:
--   target      the record kinds it may target, and whether the target has an id (a create of
--               a candidate has none)
--   payload     what its payload holds: field = "type" (a "?" after: may be absent); `open`:
--               other fields too (a candidate's columns)
--   deferred    in t:batch it travels while the script goes on: its answer is a confirmation
--   repeatable  sending it again changes nothing, so a resumed run sends it without reading back
--   creates     the kind of record it makes: the script goes on with the answer, so it is never
--               deferred, and Tracker itself matches a resend (by email, by the pair)
--   check(t, target, payload, since, n)  reads the target back: true (the change is there),
--               false, or nil, err; n counts identical writes (notes, files)
--   describe(payload)                    the change in a few words, for plans and the journal
--   unsure(payload)                      why a pending one can be neither checked nor resent
--   resent_conflict                      a resend that conflicts names the record an earlier
--                                        attempt made: that record is the answer
--   sets(payload)                        for a write that overwrites values: the record's
--                                        fields it sets, and its custom fields, by name
--   replay(t, target, payload, key)      makes the write again with client t (trk apply of a
--                                        plan); without it, a plan's write cannot be applied later

local native = native
local widget = import "widget"
local new_error = tracker.error
local suggest = import("usage").suggest

local type, pairs, ipairs, tostring, tonumber, pcall = type, pairs, ipairs, tostring, tonumber, pcall
local tointeger, mtype = math.tointeger, math.type
local fmt, lower, match = string.format, string.lower, string.match
local concat, sort = table.concat, table.sort

local M = {}

-- The record kinds an updateRecord of columns and custom fields changes: t:update_KIND.
M.UPDATED = { "candidate", "job", "activity", "placement", "client", "contact", "lead" }

-- Ids of the records a plan pretends to create: far above any real id, so none is mistaken
-- for one (and reads of one answer not_found), and below 10^14, so JSON (a --plan file: cjson
-- writes 14 digits) keeps them exact.
M.PLANNED_ID = 90000000000000

function M.is_planned_id(id)
  return mtype(id) == "integer" and id >= M.PLANNED_ID
end

local function err(code, message) return new_error({ code = code, message = message }) end

-- ---- identity --------------------------------------------------------------------------------

-- Canonical text of a value: keys sorted, types kept apart ("1" is not 1), so equal writes
-- have equal keys whatever order their tables were built in.
local function canonical(v, out)
  local tv = type(v)
  if tv == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      return a < b
    end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      canonical(k, out)
      out[#out + 1] = "="
      canonical(v[k], out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif tv == "string" then
    out[#out + 1] = fmt("%q", v)
  elseif tv == "number" then
    out[#out + 1] = mtype(v) == "integer" and tostring(v) or fmt("%.17gf", v)
  else
    out[#out + 1] = tostring(v)
  end
  return out
end

-- The canonical text of a value: equal for equal values, however their tables were built.
function M.canonical(v)
  return concat(canonical(v, {}))
end

-- 16 hex digits naming a value's canonical text (FNV-1a, 64 bits, in C: the rule runner
-- fingerprints every record it reads). Not a secure hash: it names content.
function M.fingerprint(v)
  return native.hash(M.canonical(v))
end

-- The idempotency key of an action: the operation and a hash of its target and payload.
function M.key(op, target, payload)
  local text = M.canonical({ target.kind, target.id or false, payload })
  return op .. ":" .. native.hash(text)
end

-- ---- reading back ----------------------------------------------------------------------------

-- Does a custom-field value read back (typed) hold the text that was written?
local function holds(v, text)
  if text == "" then return v == nil end
  if type(v) == "boolean" then return (v and "Yes" or "No") == text end
  if type(v) == "number" then return v == tonumber(text) end
  return v == text
end

-- Does a stream (the second value of t:jobs() and the like) yield at least n records that
-- pred likes?
local function at_least(n, pred, _, st)
  while true do
    local r, e = st:next()
    if r == nil then
      if e then return nil, e end
      return false
    end
    if pred(r) then
      n = n - 1
      if n <= 0 then
        st:close()
        return true
      end
    end
  end
end

-- The candidate an application target belongs to.
local function candidate_of(t, target)
  local app, e = t:application(target.id)
  if not app then return nil, e end
  return app.candidate_id
end

local READ = { candidate = "candidate", job = "job", application = "application",
               placement = "placement" }
READ.client, READ.contact, READ.lead = "client", "contact", "lead"

local function has_tag(t, target, p)
  local tags, e = t:tags(target.id)
  if not tags then return nil, e end
  for _, tag in ipairs(tags) do if lower(tag) == lower(p.tag) then return true end end
  return false
end

-- ---- descriptions ----------------------------------------------------------------------------

local function value(v)
  if type(v) == "string" then return v == "" and '""' or v end
  if type(v) == "table" then return "{...}" end
  return tostring(v)
end

-- "a = 1, b = x": a table's fields, sorted by name.
local function fields(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. " = " .. value(t[k]) end
  return concat(out, ", ")
end

local function update_fields(p)
  return fields(p.fields) .. (p.custom and ", " .. fields(p.custom) or "")
end

-- A create's payload as its options again, under the action's key (trk apply).
local function keyed(p, key)
  local o = {}
  for k, v in pairs(p) do o[k] = v end
  o.key = key
  return o
end

-- An update's payload as the fields update_candidate and update_job take.
local function with_custom(p)
  local out = {}
  for k, v in pairs(p.fields or {}) do out[k] = v end
  out.custom = p.custom
  return out
end

-- A candidate a write creates is found again by its email, which Tracker matches a resend
-- by: without one it can neither be read back (check) nor safely sent again (unsure).
local by_email = {}
function by_email.check(op)
  return function(t, _, p)
    if not p.email then
      return nil, err("invalid_request", fmt("check: a candidate %s made without an email cannot "
                                             .. "be told apart from others by reading back", op))
    end
    local found, e = t:find_candidates({ email = p.email })
    if not found then return nil, e end
    return #found > 0
  end
end
function by_email.unsure(op)
  return function(p)
    if not p.email then
      return fmt("%s%s without an email may or may not have happened before the last run "
                 .. "stopped; look for the candidate, then run with --fresh", op,
                 p.filename and (" '" .. tostring(p.filename) .. "'") or "")
    end
  end
end

-- ---- the catalog ---------------------------------------------------------------------------

-- Activities (notes among them) and custom fields reach candidates, applications, jobs,
-- clients, contacts and leads.
local LINKED = { candidate = true, application = true, job = true }
for _, k in ipairs(widget.crm_kinds) do LINKED[k] = true end

-- The activities stream filter that finds what was written on `target`: by its link, an
-- application's through its candidate.
local function activities_of(t, target, since)
  local f = { updated_after = since }
  if target.kind == "application" then
    local cand, e = candidate_of(t, target)
    if not cand then return nil, e end
    f.candidate = cand
  else
    f[target.kind] = target.id
  end
  return f
end

local ENTRIES = {
  move_to_stage = {
    target = { kinds = { application = true }, id = true },
    payload = { stage = "string", stage_id = "integer", from = "string?" },
    deferred = true,
    check = function(t, target, p)
      local app, e = t:application(target.id)
      if not app then return nil, e end
      return app.stage_id == p.stage_id
    end,
    describe = function(p)
      return "stage → " .. tostring(p.stage) .. (p.from and " (from " .. p.from .. ")" or "")
    end,
    sets = function(p) return { stage = p.stage } end,
    replay = function(t, target, p, key)
      return t:move_to_stage(target, p.stage, { from = p.from, key = key })
    end,
  },

  set_custom_fields = {
    target = { kinds = LINKED, id = true },
    payload = { fields = "table" },
    deferred = true,
    check = function(t, target, p)
      local rec, e = t[READ[target.kind]](t, target.id)
      if not rec then return nil, e end
      for name, text in pairs(p.fields) do
        if not holds(rec.custom[name], text) then return false end
      end
      return true
    end,
    describe = function(p) return fields(p.fields) end,
    sets = function(p) return nil, p.fields end,
    replay = function(t, target, p, key) return t:set_custom_fields(target, p.fields, { key = key }) end,
  },

  add_tag = {
    target = { kinds = { candidate = true }, id = true },
    payload = { tag = "string" },
    deferred = true,
    check = has_tag,
    describe = function(p) return "+" .. tostring(p.tag) end,
    replay = function(t, target, p, key) return t:add_tag(target, p.tag, { key = key }) end,
  },

  remove_tag = {
    target = { kinds = { candidate = true }, id = true },
    payload = { tag = "string" },
    deferred = true,
    check = function(t, target, p)
      local has, e = has_tag(t, target, p)
      if has == nil then return nil, e end
      return not has
    end,
    describe = function(p) return "-" .. tostring(p.tag) end,
    replay = function(t, target, p, key) return t:remove_tag(target, p.tag, { key = key }) end,
  },

  add_note = {
    target = { kinds = LINKED, id = true },
    payload = { text = "string", subject = "string?", type = "string?", user = "integer?" },
    deferred = true,
    check = function(t, target, p, since, n)
      local f, e = activities_of(t, target, since)
      if not f then return nil, e end
      local subject = p.subject or ""
      return at_least(n, function(a)
        return a.note == p.text and (a.subject or "") == subject
               and (target.kind ~= "application" or a.application_id == target.id)
      end, t:activities(f))
    end,
    planned = function(p) return { kind = "activity", subject = p.subject, note = p.text } end,
    replay = function(t, target, p, key)
      return t:add_note(target, p.text, { subject = p.subject, type = p.type, user = p.user, key = key })
    end,
    describe = function(p)
      return (p.subject and p.subject .. ": " or "") .. '"' .. tostring(p.text) .. '"'
    end,
  },

  -- The document list answers no size (tracker-api.md §4): a size, when an entry has one, must
  -- match too.
  attach = {
    target = { kinds = { candidate = true, application = true, job = true, client = true,
                         contact = true, lead = true }, id = true },
    file = true,
    payload = { filename = "string", type = "string?", primary = "boolean", size = "integer",
                hash = "string" },
    deferred = true,
    check = function(t, target, p, _, n)
      if target.kind ~= "candidate" and target.kind ~= "application" then
        return nil, err("invalid_request", fmt("check: a %s's documents cannot be read back",
                                               target.kind))
      end
      local cand = target.id
      if target.kind == "application" then
        local e
        cand, e = candidate_of(t, target)
        if not cand then return nil, e end
      end
      local list, e = t:request({ api = "rest", path = fmt("/api/v1/Resource/%d/Documents", cand) })
      if not list then return nil, e end
      for _, d in ipairs(type(list) == "table" and list or {}) do
        local size = type(d) == "table" and tointeger(d.size or d.fileSize)
        if type(d) == "table" and d.filename == p.filename
            and (size == nil or p.size == nil or size == p.size) then
          n = n - 1
          if n <= 0 then return true end
        end
      end
      return false
    end,
    planned = function(p) return { kind = "document", filename = p.filename } end,
    describe = function(p)
      return tostring(p.filename) .. (p.size and fmt(" (%d bytes)", p.size) or "")
    end,
  },

  create_application = {
    target = { kinds = { job = true }, id = true },
    payload = { candidate = "integer", job = "integer", list = "string", by = "string",
                source = "string?" },
    creates = "application",
    resent_conflict = true,
    check = function(t, _, p)
      return at_least(1, function() return true end,
                      t:applications({ job = p.job, candidate = p.candidate }))
    end,
    planned = function(p, id)
      return { kind = "application", id = id, candidate_id = p.candidate, job_id = p.job,
               created = true }
    end,
    describe = function(p)
      return fmt("candidate %s → job %s", tostring(p.candidate), tostring(p.job))
    end,
    replay = function(t, _, p, key)
      return t:create_application({ candidate = p.candidate, job = p.job, list = p.list, by = p.by,
                                    source = p.source, key = key })
    end,
  },

  create_candidate = {
    target = { kinds = { candidate = true } },
    payload = { overwrite = "boolean", email = "string?", custom = "table?", job = "integer?",
                list = "string?", by = "string?", open = true },
    creates = "candidate",
    check = by_email.check("create_candidate"),
    unsure = by_email.unsure("create_candidate"),
    planned = function(p, id)
      return { kind = "candidate", id = id, email = p.email, created = true,
               name = p.name or concat({ p.first_name or "", p.last_name or "" }, " ") }
    end,
    describe = function(p)
      return fields({ email = p.email, name = p.name, first_name = p.first_name,
                      last_name = p.last_name })
    end,
    replay = function(t, _, p, key) return t:create_candidate(keyed(p, key)) end,
  },

  -- Activities of any type, on any record a note goes on (writes.lua add_activity).
  add_activity = {
    target = { kinds = LINKED, id = true },
    payload = { type = "string", status = "string?", subject = "string?", note = "string?",
                date = "string?", time = "string?", user = "integer?", priority = "string?",
                contact_type = "string?", custom = "table?" },
    deferred = true,
    check = function(t, target, p, since, n)
      local f, e = activities_of(t, target, since)
      if not f then return nil, e end
      return at_least(n, function(a)
        return (a.subject or "") == (p.subject or "") and (a.note or "") == (p.note or "")
               and a.type ~= nil and lower(a.type) == lower(p.type)
               and (target.kind ~= "application" or a.application_id == target.id)
      end, t:activities(f))
    end,
    planned = function(p) return { kind = "activity", subject = p.subject, note = p.note,
                                   type = p.type } end,
    describe = function(p)
      return p.type .. (p.subject and (": " .. p.subject) or "")
             .. (p.note and (' "' .. p.note .. '"') or "")
    end,
    replay = function(t, target, p, key) return t:add_activity(target, keyed(p, key)) end,
  },

  -- Contacts (and the client they bring, create_company) and leads. Tracker matches a contact
  -- by email [INF], so a resend of one with an email is answered with the contact it made.
  create_contact = {
    target = { kinds = { contact = true } },
    payload = { create_company = "boolean", custom = "table?", email = "string?", open = true },
    creates = "contact",
    resent_conflict = true,
    check = function(t, _, p)
      if not p.email then
        return nil, err("invalid_request", "check: a contact created without an email cannot "
                        .. "be told apart from others by reading back")
      end
      return at_least(1, function(c) return c.email ~= nil and lower(c.email) == lower(p.email) end,
                      t:contacts())
    end,
    unsure = function(p)
      if not p.email then
        return "create_contact without an email may or may not have happened before the last "
               .. "run stopped; look for the contact, then run with --fresh"
      end
    end,
    planned = function(p, id)
      -- a client made with it gets a pretend id too (the contact's: ids of a plan are unique
      -- within a kind), so a plan can go on to the client's jobs
      return { kind = "contact", id = id, email = p.email, company = p.company, created = true,
               client_id = p.create_company and id or nil,
               name = p.name or concat({ p.first_name or "", p.last_name or "" }, " ") }
    end,
    describe = function(p)
      return fields({ name = p.name, first_name = p.first_name, last_name = p.last_name,
                      email = p.email, company = p.company })
    end,
    replay = function(t, _, p, key) return t:create_contact(keyed(p, key)) end,
  },
  create_lead = {
    target = { kinds = { lead = true } },
    payload = { subject = "string", client = "integer?", source = "string?",
                description = "string?", department = "string?", custom = "table?" },
    creates = "lead",
    check = function(t, _, p)
      return at_least(1, function(l)
        return l.subject == p.subject and (p.client == nil or l.client_id == p.client)
      end, t:leads({ search = p.subject }))
    end,
    planned = function(p, id)
      return { kind = "lead", id = id, subject = p.subject, name = p.subject,
               client_id = p.client, created = true }
    end,
    describe = function(p)
      return fields({ subject = p.subject, client = p.client, source = p.source })
    end,
    replay = function(t, _, p, key) return t:create_lead(keyed(p, key)) end,
  },

  -- t:request{}: a raw write, which trk can neither read back nor safely send twice.
  request = {
    target = { kinds = { request = true } },
    payload = { api = "string", method = "string", path = "string", body = "any?" },
    describe = function(p)
      return fmt("%s %s %s", tostring(p.api), tostring(p.method), tostring(p.path))
    end,
  },
}

-- ---- jobs created, placements, candidates from a CV (issue 22) -------------------------------

-- Does a job's name show a title (Tracker may prefix it: "JOB-1034 Java Programmer")?
local function titled(name, title)
  return name == title or (type(name) == "string" and name:sub(-#title - 1) == " " .. title)
end

ENTRIES.create_job = {
  target = { kinds = { job = true } },
  payload = { title = "string", client = "integer?", contact = "integer?", work_type = "string?",
              description = "string?", fields = "table?", custom = "table?" },
  creates = "job",
  -- Tracker matches no job on a resend (createOpportunity makes another): one whose answer
  -- was lost is not sent again
  unsure = function(p)
    return fmt("create_job '%s' may or may not have happened before the last run stopped; look "
               .. "for the job, then run with --fresh", tostring(p.title))
  end,
  check = function(t, _, p, since)
    return at_least(1, function(j)
      return titled(j.name, p.title) and (p.client == nil or j.client_id == p.client)
    end, t:jobs({ search = p.title, updated_after = since }))
  end,
  planned = function(p, id)
    return { kind = "job", id = id, name = p.title, client_id = p.client, contact_id = p.contact,
             created = true }
  end,
  describe = function(p)
    return fmt("'%s'", tostring(p.title)) .. (p.client and fmt(" for client %d", p.client) or "")
           .. (p.fields and ", " .. fields(p.fields) or "")
  end,
  replay = function(t, _, p, key)
    local o = { title = p.title, client = p.client, contact = p.contact, work_type = p.work_type,
                description = p.description, custom = p.custom, key = key }
    local later = { publish_salary_from = "salary_from", publish_salary_to = "salary_to" }
    for k, v in pairs(p.fields or {}) do o[later[k] or k] = v end
    return t:create_job(o)
  end,
}

-- update_placement reads its change back (update_X of M.UPDATED below gives the rest).
ENTRIES.update_placement = {
  check = function(t, target, p)
    local rec, e = t:placement(target.id)
    if not rec then return nil, e end
    for k, v in pairs(p.fields) do
      local now = rec[k]
      if k == "status" then                    -- a stage, by the name the payload keeps
        if not (now ~= nil and lower(tostring(now)) == lower(tostring(v))) then return false end
      elseif not M.same(now, v) then
        return false
      end
    end
    for name, text in pairs(p.custom or {}) do
      if not holds(rec.custom[name], text) then return false end
    end
    return true
  end,
}

ENTRIES.create_candidate_from_resume = {
  target = { kinds = { candidate = true } },
  payload = { filename = "string", size = "integer", hash = "string", job = "integer?",
              list = "string?", by = "string?", email = "string?", open = true },
  creates = "candidate",
  file = true,
  check = by_email.check("create_candidate_from_resume"),
  unsure = by_email.unsure("create_candidate_from_resume"),
  planned = function(p, id)
    return { kind = "candidate", id = id, email = p.email, created = true, resume = p.filename }
  end,
  describe = function(p)
    return fmt("%s (%d bytes)", tostring(p.filename), p.size or 0)
           .. (p.job and fmt(" → job %d", p.job) or "")
  end,
}

-- The updates of every kind trk updates (updateRecord): one entry each, alike, named
-- update_KIND; Client:update_KIND is each (writes.lua).
for _, kind in ipairs(M.UPDATED) do
  local op = "update_" .. kind
  local entry = ENTRIES[op] or {}              -- an entry of its own may add to it (a check)
  entry.target = { kinds = { [kind] = true }, id = true }
  entry.payload = { fields = "table", custom = "table?" }
  entry.deferred, entry.repeatable, entry.describe = true, true, update_fields
  entry.sets = function(p) return p.fields, p.custom end
  entry.replay = function(t, target, p, key) return t[op](t, target, with_custom(p), { key = key }) end
  ENTRIES[op] = entry
end

-- The entry of an operation, or nil.
function M.entry(op)
  return ENTRIES[op]
end

-- Whether a value has the type a payload spec names ("integer", "string?", "any", ...).
local function typed(v, spec)
  local want, optional = match(spec, "^(%a+)(%??)$")
  if v == nil then return optional == "?" end
  if want == "any" then return true end
  if want == "integer" then return mtype(v) == "integer" end
  return type(v) == want
end

local function quoted(v)
  return type(v) == "string" and "'" .. v .. "'" or tostring(v)
end

-- An action as the catalog describes it: true, or nil and what is wrong ("add_note's payload
-- needs 'text' (a string)"). Every write is checked as it is made (batch.lua), and t:check
-- checks the action it is given.
function M.validate(action)
  if type(action) ~= "table" or type(action.op) ~= "string" or type(action.target) ~= "table"
      or type(action.payload) ~= "table" then
    return nil, "an action is { op =, target =, payload =, key = }"
  end
  local op, target, payload = action.op, action.target, action.payload
  local entry = ENTRIES[op]
  if not entry then
    local hint = suggest(op, M.ops())
    if hint == "" then hint = " (operations: " .. concat(M.ops(), ", ") .. ")" end
    return nil, fmt("unknown operation %s%s", quoted(op), hint)
  end
  if not entry.target.kinds[target.kind] then
    local kinds = {}
    for k in pairs(entry.target.kinds) do kinds[#kinds + 1] = k end
    sort(kinds)
    return nil, fmt("%s targets a %s record, not %s", op, concat(kinds, ", "), quoted(target.kind))
  end
  if entry.target.id and not (mtype(target.id) == "integer" and target.id > 0) then
    return nil, fmt("%s's target needs an id (a positive integer), got %s", op, quoted(target.id))
  end
  for field, spec in pairs(entry.payload) do
    if field ~= "open" and not typed(payload[field], spec) then
      return nil, fmt("%s's payload needs '%s' (%s%s), got %s", op, field,
                      spec:sub(-1) == "?" and "absent or a " or "a ", (spec:gsub("%?$", "")),
                      quoted(payload[field]))
    end
  end
  if not entry.payload.open then
    for field in pairs(payload) do
      if entry.payload[field] == nil then
        return nil, fmt("%s's payload has no field %s", op, quoted(field))
      end
    end
  end
  return true
end

-- The operations, sorted.
function M.ops()
  local out = {}
  for op in pairs(ENTRIES) do out[#out + 1] = op end
  sort(out)
  return out
end

-- What a write that is planned, not sent, answers the script: true, or for the writes whose
-- answer the script goes on with, a stand-in with planned = true (a create's has id `id`,
-- which the caller numbers from M.PLANNED_ID).
function M.planned(action, id)
  local entry = ENTRIES[action.op]
  if not (entry and entry.planned) then return true end
  local answer = entry.planned(action.payload or {}, id)
  answer.planned = true
  return answer
end

-- The change an action makes, in a few words ("?" when its payload is not what the entry
-- expects, as in a journal written by another version).
function M.describe(op, payload)
  local entry = ENTRIES[op]
  local ok, s = pcall(entry and entry.describe or fields, payload or {})
  return ok and s or "?"
end

-- ---- overwrites: what a write replaces -------------------------------------------------------

-- The values a write that overwrites sets, by field (custom fields by their name), or nil for
-- a write that overwrites nothing (a note, a tag, a create); a second table says which are
-- custom fields.
function M.sets(op, payload)
  local entry = ENTRIES[op]
  if not (entry and entry.sets and type(payload) == "table") then return nil end
  local ok, columns, custom = pcall(entry.sets, payload)
  if not ok then return nil end
  local out, is_custom = {}, {}
  for k, v in pairs(type(columns) == "table" and columns or {}) do out[k] = v end
  for k, v in pairs(type(custom) == "table" and custom or {}) do out[k], is_custom[k] = v, true end
  return out, is_custom
end

-- The values a record (as the client read it) holds now for the fields a write sets, by
-- field: a column from the record's `details` as Tracker sent them (widget.columns' `read`),
-- a custom field typed, a stage by name; "" for empty. A field no read shows (a candidate's
-- salary, a status by id) is left out: unknown.
function M.current(op, payload, record)
  local sets, is_custom = M.sets(op, payload)
  local now = {}
  local raw = type(record.raw) == "table" and record.raw or {}
  local details = type(raw.details) == "table" and raw.details or {}
  local columns = widget.columns[record.kind] or {}
  for field in pairs(sets or {}) do
    local v
    if is_custom[field] then
      v = type(record.custom) == "table" and record.custom[field] or ""
    elseif op == "move_to_stage" then
      v = record.stage or ""
    elseif columns[field] and columns[field].read then
      v = details[columns[field].read]
      if v == nil or v == native.null then v = "" end
    end
    now[field] = v
  end
  return now
end

-- Reads a write's target record with client t: the record, or nil, err.
function M.read_record(t, target)
  local read = READ[target.kind]
  if not read then return nil, err("invalid_request", "cannot read a " .. tostring(target.kind)) end
  return t[read](t, target.id)
end

-- Reads the record an overwriting action targets, with client t: its values now, by field.
function M.read_current(t, action)
  local rec, e = M.read_record(t, action.target)
  if not rec then return nil, e end
  return M.current(action.op, action.payload, rec)
end

local function blank(v) return v == nil or v == "" or v == native.null end

-- Whether two values of a field are the same as Tracker keeps them: text, a number (written as
-- text), a checkbox (Yes/No), or nothing ("" and nil alike).
function M.same(a, b)
  if blank(a) or blank(b) then return blank(a) and blank(b) end
  if type(a) == "boolean" then a = a and "Yes" or "No" end
  if type(b) == "boolean" then b = b and "Yes" or "No" end
  local na, nb = tonumber(a), tonumber(b)
  if na and nb then return na == nb end
  return tostring(a) == tostring(b)
end

-- A field's value as a plan or a message shows it.
function M.shown(v)
  if blank(v) then return "(empty)" end
  if type(v) == "string" and not tonumber(v) then return "'" .. v .. "'" end
  return tostring(v)
end

-- The change a write makes, old -> new for each field it sets, when `before` (the values by
-- field, as M.current gives them) is known: "job_title: 'Dev' → 'Lead'"; a field it sets to
-- what it already holds is marked "(unchanged)", one no read shows "?". Else M.describe's
-- few words.
function M.describe_change(op, payload, before)
  local sets = type(before) == "table" and M.sets(op, payload)
  if not sets then return M.describe(op, payload) end
  local names = {}
  for k in pairs(sets) do names[#names + 1] = k end
  sort(names)
  local out = {}
  for i, k in ipairs(names) do
    local was = before[k]
    out[i] = was == nil and fmt("%s: ? → %s", k, M.shown(sets[k]))     -- no read shows it
             or M.same(was, sets[k]) and fmt("%s: %s (unchanged)", k, M.shown(sets[k]))
             or fmt("%s: %s → %s", k, M.shown(was), M.shown(sets[k]))
  end
  return concat(out, ", ")
end

-- Reads back whether an action happened, with client t: true, false, or nil, err.
-- Makes action's write again with client t, under the action's own key: what the write
-- answers; raises for an operation a plan cannot replay (it lacks what the write needs).
function M.replay(t, action)
  local entry = ENTRIES[action.op]
  if not (entry and entry.replay) then
    error(fmt("%s cannot be applied from a plan (%s); run the script with --apply", action.op,
              entry and entry.file and "the plan does not hold the file's bytes"
              or "trk cannot make it again from its payload"), 0)
  end
  return entry.replay(t, action.target, action.payload, action.key)
end

function M.check(t, action, since, n)
  local entry = ENTRIES[action.op]
  if not (entry and entry.check) then
    return nil, err("invalid_request", fmt("check: whether a '%s' action happened cannot be read "
                                           .. "back%s", action.op, entry and entry.repeatable
                                           and " (sending it again changes nothing)" or ""))
  end
  return entry.check(t, action.target, action.payload, since, n)
end

return M
