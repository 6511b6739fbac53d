-- tracker.emulator.model: the emulator's database in memory, and its indexes.
--
-- Model holds the methods every emulator object has for its data (tracker.emulator's Emu
-- extends it); the parts that answer requests read and write the database through them and
-- through the indexes below, never through a copy. Before load, the front sets the fields
-- load reads: timezone, username and password (the API user, added when the data lacks it),
-- dialect (its activity_types row: names added to the lookup lists) and synthetic (a
-- tracker.emulator.synthetic source, or nil).
--
-- An emulator's data fields, built by load and reset:
--   data                   the live database (see tracker.emulator.schema)
--   initial                a copy of the data last loaded, for reset
--   idx[kind][id]          records by id;  next_id[kind]  the id the next insert gets
--   logins[lower name]     users by lower-case username and email
--   emails[lower email]    candidates by lower-case email (the first when several share one)
--   app_pair["job:cand"]   applications by job and candidate;  apps_by_job[job id]  their list
--   lk[list]               lookup lists: { by_id = {}, by_name = { [lower name] = entry } }
--   cf[id], cf_assoc[association], cf_list[list id]
--                          custom-field definitions; those of an association by id; the
--                          custom-field lists: { list =, by_name = { [lower name] = item } }
--   version[kind], changes[kind], cache
--                          what sorted() keeps: a write bumps the version of every kind that
--                          shows it, and the log of recent writes lets it patch its lists
--
-- Methods: load(data), install(d), save(), state(), stages(), get(kind, id), record(kind, id),
-- to_json(), parts([all]), reset(), insert(kind, rec), touched(kind [, rec]), index_application(a),
-- set_email(c, email), sorted(kind, field, desc), list_name(list, id), user_name(id),
-- is_placement(a), job_state(j), application_name(a), api_user().
-- Module functions: person(rec) -> "First Last"; names[kind](emu, rec) -> the display name
-- (getRecords `name`, searchtext and sorting by name use it).

local json = require "json"
local json_out = require "tracker.emulator.json_out"
local schema = require "tracker.emulator.schema"
local util = require "tracker.emulator.util"

local M = {}

local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local mtype = math.type
local fmt, lower = string.format, string.lower
local sort = table.sort

local KINDS, FIRST_ID = schema.KINDS, schema.FIRST_ID
local deepcopy, numstr, present = util.deepcopy, util.numstr, util.present

local Model = {}
M.Model = Model

-- A write to one kind changes what others show (names, counts): their sort caches go too.
local DEPENDS = {
  users = { "users", "jobs", "candidates", "activities" },
  clients = { "clients", "contacts", "jobs", "applications", "activities", "leads" },
  contacts = { "contacts", "jobs", "activities" },
  leads = { "leads", "activities" },
  jobs = { "jobs", "applications", "activities" },
  candidates = { "candidates", "applications", "activities" },
  applications = { "applications", "jobs" },
  activities = { "activities" },
  documents = { "documents" },
}

-- ---- loading and indexing -----------------------------------------------------------------

local function check_data(d, fname)
  if type(d) ~= "table" then error(fname .. ": data must be a table", 3) end
  if d[1] ~= nil then
    error(fname .. ": data must be an object of record lists (jobs, candidates, ...), not an array", 3)
  end
  for _, kind in ipairs(KINDS) do
    local list = d[kind]
    if list ~= nil and type(list) ~= "table" then
      error(fmt("%s: data.%s must be a list", fname, kind), 3)
    end
    for i, rec in ipairs(list or {}) do
      if type(rec) ~= "table" or mtype(rec.id) ~= "integer" then
        error(fmt("%s: data.%s[%d] has no integer id", fname, kind, i), 3)
      end
    end
  end
end

function Model:load(data)
  check_data(data, "emulator:load")
  local d = deepcopy(data)
  local meta = schema.base_metadata()
  for _, kind in ipairs(KINDS) do d[kind] = d[kind] or {} end
  d.lists = d.lists or {}
  for name, list in pairs(meta.lists) do
    if d.lists[name] == nil then d.lists[name] = list end
  end
  -- the dialect's activity types and statuses: missing names added after the existing ids
  local extra = self.dialect.activity_types
  for list, names in pairs({ activityTypes = extra.types, activityStatuses = extra.statuses }) do
    local l, known, top = d.lists[list], {}, 0
    for _, e in ipairs(l) do
      if e.name then known[lower(e.name)] = true end
      if mtype(e.id) == "integer" and e.id > top then top = e.id end
    end
    for _, name in ipairs(names) do
      if not known[lower(name)] then
        top = top + 1
        l[#l + 1] = { id = top, name = name }
        known[lower(name)] = true
      end
    end
  end
  d.customfields = d.customfields or meta.customfields
  d.customfieldlists = d.customfieldlists or meta.customfieldlists
  d.format = d.format or 1
  d.timezone = d.timezone or self.timezone
  for _, rec in ipairs(d.users) do
    if rec.active == nil then rec.active = true end
  end
  -- custom values and skills are keyed by the field id as a string (JSON object keys)
  for _, kind in ipairs({ "jobs", "candidates", "applications", "activities", "clients",
                          "contacts", "leads" }) do
    for _, rec in ipairs(d[kind]) do
      for _, key in ipairs({ "custom", "skills" }) do
        local t = rec[key]
        if type(t) == "table" then
          local numeric = {}
          for k in pairs(t) do
            if type(k) == "number" then numeric[#numeric + 1] = k end
          end
          for _, k in ipairs(numeric) do t[numstr(k)], t[k] = t[k], nil end
        end
      end
    end
  end
  -- the configured API user must exist
  if self.username then
    local found
    local want = lower(self.username)
    for _, u in ipairs(d.users) do
      if lower(u.username or "") == want or lower(u.email or "") == want then found = u end
    end
    if not found then
      local top = FIRST_ID.users - 1
      for _, u in ipairs(d.users) do if u.id > top then top = u.id end end
      found = { id = top + 1, username = self.username, email = self.username,
                firstname = "API", lastname = "User", active = true }
      d.users[#d.users + 1] = found
    end
    if self.password then found.password = self.password end
  end
  self.initial = deepcopy(d)
  self:install(d)
end

-- Makes d the live database and builds every index over it.
function Model:install(d)
  self.data = d
  self.idx, self.next_id, self.version, self.cache = {}, {}, {}, {}
  self.changes = {}                  -- by kind: the recent writes, for sorted() to patch its lists
  self.written = {}                  -- kinds written since parts() last took them
  for _, kind in ipairs(KINDS) do
    local by, top = {}, FIRST_ID[kind] - 1
    for _, rec in ipairs(d[kind]) do
      by[rec.id] = rec
      if rec.id > top then top = rec.id end
    end
    self.idx[kind] = by
    self.next_id[kind] = top + 1
    self.version[kind] = 0
    self.changes[kind] = { first = 1, last = 0 }
  end
  self.logins = {}
  for _, u in ipairs(d.users) do
    if u.email then self.logins[lower(u.email)] = self.logins[lower(u.email)] or u end
    if u.username then self.logins[lower(u.username)] = u end
  end
  self.emails = {}
  for _, c in ipairs(d.candidates) do
    if present(c.email) then
      local k = lower(c.email)
      self.emails[k] = self.emails[k] or c
    end
  end
  self.app_pair, self.apps_by_job = {}, {}
  for _, a in ipairs(d.applications) do self:index_application(a) end
  -- lookup lists: by id and by lower-case name
  self.lk = {}
  for name, list in pairs(d.lists) do
    local by_id, by_name = {}, {}
    for _, e in ipairs(list) do
      by_id[e.id] = e
      if e.name then by_name[lower(e.name)] = by_name[lower(e.name)] or e end
    end
    self.lk[name] = { by_id = by_id, by_name = by_name }
  end
  -- custom fields
  self.cf, self.cf_assoc, self.cf_list = {}, {}, {}
  for _, l in ipairs(d.customfieldlists) do
    local by_name = {}
    for _, it in ipairs(l.items or {}) do by_name[lower(it.name)] = it end
    self.cf_list[l.id] = { list = l, by_name = by_name }
  end
  for _, def in ipairs(d.customfields) do
    self.cf[def.id] = def
    local a = self.cf_assoc[def.association] or {}
    a[#a + 1] = def
    self.cf_assoc[def.association] = a
  end
  for _, defs in pairs(self.cf_assoc) do sort(defs, function(x, y) return x.id < y.id end) end
end

function Model:index_application(a)
  self.app_pair[a.opportunityid .. ":" .. a.resourceid] = a
  local l = self.apps_by_job[a.opportunityid]
  if not l then l = {}; self.apps_by_job[a.opportunityid] = l end
  l[#l + 1] = a
end

-- Sets candidate c's email, keeping the emails index right.
function Model:set_email(c, email)
  local old = c.email
  c.email = email
  if present(old) and self.emails[lower(old)] == c then
    self.emails[lower(old)] = nil
    for _, o in ipairs(self.data.candidates) do
      if o ~= c and present(o.email) and lower(o.email) == lower(old) then
        self.emails[lower(old)] = o
        break
      end
    end
  end
  if present(email) then self.emails[lower(email)] = self.emails[lower(email)] or c end
end

-- A write to kind: bumps the version of every kind that shows it. `rec`, when given, is the one
-- record the write changed (or added): sorted() can then move it within its cached lists rather
-- than sort them again; without it, a kind's lists are sorted again.
local CHANGE_LOG = 256               -- writes remembered a kind; older lists are sorted again

function Model:touched(kind, rec)
  self.written[kind] = true
  for _, k in ipairs(DEPENDS[kind]) do
    local v = self.version[k] + 1
    self.version[k] = v
    local log = self.changes[k]
    log.last = log.last + 1
    log[log.last] = { version = v, rec = k == kind and rec or false }
    if log.last - log.first >= CHANGE_LOG then
      log[log.first], log.first = nil, log.first + 1
    end
  end
end

function Model:insert(kind, rec)
  rec.id = self.next_id[kind]
  self.next_id[kind] = rec.id + 1
  local list = self.data[kind]
  list[#list + 1] = rec
  self.idx[kind][rec.id] = rec
  self:touched(kind, rec)
  return rec
end

function Model:save()
  return deepcopy(self.data)
end

-- The live database, for assertions in tests (read it; change it only through requests).
function Model:state()
  return self.data
end

-- The application stages as a list of { id, name }: what a user of a database whose settings
-- list none names in TRACKER_STAGES (or the client's `stages` option).
function Model:stages()
  local out = {}
  for i, e in ipairs(self.data.lists.opportunityResourceStatuses or {}) do
    out[i] = { id = e.id, name = e.name }
  end
  return out
end

-- One record of a kind by id ("candidates", 188001), or nil.
function Model:get(kind, id)
  if not self.idx[kind] then error("emulator:get: unknown kind '" .. tostring(kind) .. "'", 2) end
  return self:record(kind, id)
end

-- The record the read verbs show for (kind, id): in synthetic mode, candidates are computed.
function Model:record(kind, id)
  if self.synthetic and kind == "candidates" then return self.synthetic:record(id) end
  return self.idx[kind][id]
end

function Model:to_json()
  return json_out.encode(json_out.jsonable(self.data))
end

function Model:reset()
  self:install(deepcopy(self.initial))
  for _, kind in ipairs(KINDS) do self.written[kind] = true end
end

-- The database as JSON texts a part each, for a store that keeps it (trk emulator --data DIR):
-- { meta = the metadata (everything but the record kinds), <kind> = the kind's list }. Only
-- the kinds written since the last call (every write to a kind goes through touched), or every
-- part when `all`; either way the written kinds are forgotten.
function Model:parts(all)
  local out = {}
  for _, kind in ipairs(KINDS) do
    -- plain JSON (an empty list as {}, which reads back the same): a third of the cost of
    -- to_json's form, and this runs on every write
    if all or self.written[kind] then out[kind] = json.encode(self.data[kind]) end
  end
  if all then
    local meta = {}
    for k, v in pairs(self.data) do meta[k] = v end
    for _, kind in ipairs(KINDS) do meta[kind] = nil end
    out.meta = json.encode(meta)
  end
  self.written = {}
  return out
end

-- ---- names and lookups shared by the answers ------------------------------------------------

local function person(rec)
  if not rec then return "" end
  local f, l = rec.firstname or "", rec.lastname or ""
  if f == "" then return l end
  if l == "" then return f end
  return f .. " " .. l
end
M.person = person

function Model:list_name(list, id)
  local e = id and self.lk[list] and self.lk[list].by_id[id]
  return e and e.name or ""
end

function Model:user_name(id)
  return person(id and self.idx.users[id])
end

function Model:is_placement(a)
  local e = self.lk.opportunityResourceStatuses.by_id[a.statusid]
  return e ~= nil and e.placement == true
end

function Model:job_state(j)
  local e = self.lk.opportunityStatuses.by_id[j.statusid]
  return e and e.state or "open"
end

function Model:application_name(a)
  local c = self.idx.candidates[a.resourceid]
  local j = self.idx.jobs[a.opportunityid]
  return person(c) .. " - " .. (j and j.name or "")
end

-- Display names of records, by kind (getRecords `name`, searchtext and sorting use them).
local NAMES = {
  jobs = function(_, r) return r.name or "" end,
  candidates = function(_, r) return person(r) end,
  applications = function(self, r) return self:application_name(r) end,
  activities = function(_, r) return r.subject or "" end,
  clients = function(_, r) return r.name or "" end,
  contacts = function(_, r) return person(r) end,
  leads = function(_, r) return r.name or "" end,
}
M.names = NAMES

-- The user a token or a configured username acts as (the first user when none is set).
function Model:api_user()
  if self.username then return self.logins[lower(self.username)] end
  return self.data.users[1]
end

-- ---- sorting with a cache per kind, field and direction ----------------------------------------

local SORT_KEY = {
  id = function(_, _, r) return r.id end,
  name = function(self, kind, r) return lower(NAMES[kind](self, r)) end,
  lastupdateddatetime = function(_, _, r) return r.lastupdated or "" end,
  dateopened = function(_, kind, r)
    if kind == "applications" then return r.dateassigned or "" end
    if kind == "activities" then return r.date or "" end
    return r.dateopened or ""
  end,
}

-- Records of kind ordered by field, ties broken by id (the keyset contract), cached until
-- a write to the kind (or one it shows) bumps its version. A cached list that only missed
-- writes of single records of its own kind has those records moved to their new places
-- (a binary search each), so paging through a kind while writing to it stays cheap.
local function precedes(desc, ka, ia, kb, ib)
  if ka ~= kb then
    if desc then return ka > kb end
    return ka < kb
  end
  if desc then return ia > ib end
  return ia < ib
end

-- The first index in list whose record does not precede (key, id).
local function place(list, keys, desc, key, id)
  local lo, hi = 1, #list + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    local r = list[mid]
    if precedes(desc, keys[r], r.id, key, id) then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- Brings cached entry c up to version v by moving the records written since; false when a
-- write is not a single record of this kind, or is older than the log remembers.
local function patch_sorted(self, kind, field, desc, c)
  local log, v = self.changes[kind], self.version[kind]
  if log.first > log.last or log[log.first].version > c.version + 1 then return false end
  local keyf, list, keys = SORT_KEY[field], c.list, c.keys
  for i = log.first, log.last do
    local ch = log[i]
    if ch.version > c.version then
      local r = ch.rec
      if not r then return false end
      local old = keys[r]
      if old ~= nil then
        local at = place(list, keys, desc, old, r.id)
        if list[at] ~= r then return false end
        table.remove(list, at)
      end
      local key = keyf(self, kind, r)
      keys[r] = key
      table.insert(list, place(list, keys, desc, key, r.id), r)
    end
  end
  c.version = v
  return true
end

function Model:sorted(kind, field, desc)
  local key = kind .. "|" .. field .. (desc and "|d" or "|a")
  local c = self.cache[key]
  if c and (c.version == self.version[kind] or patch_sorted(self, kind, field, desc, c)) then
    return c.list
  end
  local src = self.data[kind]
  local list, keys = {}, {}
  local keyf = SORT_KEY[field]
  for i, r in ipairs(src) do
    list[i] = r
    keys[r] = keyf(self, kind, r)
  end
  sort(list, function(a, b) return precedes(desc, keys[a], a.id, keys[b], b.id) end)
  self.cache[key] = { version = self.version[kind], list = list, keys = keys }
  return list
end

return M
