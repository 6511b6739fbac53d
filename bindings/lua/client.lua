-- client: tracker.connect and the client object. The parts, each one concern: config.lua (the
-- options and the environment), pipeline.lua (every request: rate limit, auth, retries, errors),
-- metadata.lua, streams.lua (record streams), writes.lua with batch.lua and actions.lua (every
-- write, through the client's one sink: sinks.lua), and the lookups here. Wire formats live in
-- widget.lua and rest.lua. docs/architecture.md draws the whole.
--
-- Loaded by bindings/tracker.c into a private environment: scripts cannot reach these files'
-- locals, so the credentials kept in object.private never reach them either (there is no debug
-- library in trk's sandbox). The fields of the table this file returns are the module's.

local widget, rest, native = import "widget", import "rest", native
local actions, sinks = import "actions", import "sinks"
local usage, failures, config, times = import "usage", import "failures", import "config", import "times"
local object, pipeline, values = import "object", import "pipeline", import "values"
local metadata_mod = import "metadata"
import "streams"
import "writes"
import "batch"
local misuse, options, id_of = usage.misuse, usage.options, usage.id_of
local err = failures.err
local Client, client_mt, private, state = object.Client, object.client_mt, object.private, object.state
local widget_call, rest_call, exchange_token =
      pipeline.widget_call, pipeline.rest_call, pipeline.exchange_token
local metadata = metadata_mod.metadata
local copy = values.copy

local ipairs, pairs, setmetatable, type, rawget = ipairs, pairs, setmetatable, type, rawget
local fmt, lower, gsub, sub = string.format, string.lower, string.gsub, string.sub

local M = {}


local function widget_one(self, fname, kind, id)
  local s = state(self, fname)
  id = id_of(fname, "argument 1", id)
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local doc, e2 = widget_call(s, fname, "getRecords", widget.one(kind, id), nil, true)
  if not doc then return nil, e2 end
  local item = doc.results[1]
  if item == nil then return nil, err("not_found", fmt("%s: no %s with id %d", fname, kind, id)) end
  local r = widget.record(kind, item, s.conv)
  if r == nil or r.id ~= id then
    return nil, err("bad_response", fmt("%s: the answer for %s %d is not that record", fname, kind, id))
  end
  return r
end

function Client:job(id) return widget_one(self, "job", "job", id) end
function Client:candidate(id) return widget_one(self, "candidate", "candidate", id) end
-- A placement by its opportunity-resource id; not_found for an application that is not one.
function Client:placement(id) return widget_one(self, "placement", "placement", id) end
-- Clients, contacts and leads: getRecords with a recordid (getIndividualRecord takes L but not
-- C or N [DOC 1127]), so the three read alike.
function Client:client(id) return widget_one(self, "client", "client", id) end
function Client:contact(id) return widget_one(self, "contact", "contact", id) end
function Client:lead(id) return widget_one(self, "lead", "lead", id) end

function Client:application(id)
  local fname = "application"
  local s = state(self, fname)
  id = id_of(fname, "argument 1", id)
  if id > rest.max_id then return nil, err("not_found", fmt("%s: no application with id %d", fname, id)) end
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local method, path = rest.application(id)
  local doc, e2 = rest_call(s, fname, "OpportunityResource", method, path)
  if not doc then
    if e2.code == "not_found" then e2.message = fmt("%s: no application with id %d", fname, id) end
    return nil, e2
  end
  local r = rest.record(doc, s.conv, widget.custom)
  if r == nil or r.id ~= id then
    return nil, err("bad_response", fmt("%s: the answer for application %d is not that application", fname, id))
  end
  return r
end

-- Candidates by name (the server's name search) and/or email (compared here, any case; the
-- widget API cannot search by email, so an email-only lookup reads every candidate).
function Client:find_candidates(q)
  local fname = "find_candidates"
  state(self, fname)
  q = options(fname, q, { name = "string", email = "string" })
  if q.name == nil and q.email == nil then misuse(fname, "give 'name', 'email' or both") end
  local email = q.email and lower(q.email)
  local out = {}
  local _, st = self:candidates({ search = q.name })
  while true do
    local r, e = st:next()
    if r == nil then
      if e then return nil, e end
      break
    end
    if not email or (r.email and lower(r.email) == email)
        or (r.other_email and lower(r.other_email) == email) then
      out[#out + 1] = r
    end
  end
  return out
end

-- ---- people: find_person (checkPerson) -------------------------------------------------------

-- Phones compare by their digits: equal, or one the end of the other (a number with and without
-- its country or area code), at least 7 digits each.
local function digits(v) return (gsub(v, "%D", "")) end
local function same_phone(a, b)
  local x, y = digits(a), digits(b)
  if #x < 7 or #y < 7 then return false end
  if #x < #y then x, y = y, x end
  return sub(x, -#y) == y
end
-- LinkedIn addresses compare without scheme, "www." and a trailing slash, in any case.
local function linkedin_key(v)
  return (gsub(gsub(gsub(lower(v), "^%a+://", ""), "^www%.", ""), "/+$", ""))
end
local SAME = {
  email = function(a, b) return lower(a) == lower(b) end,
  phone = same_phone,
  linkedin = function(a, b) return linkedin_key(a) == linkedin_key(b) end,
}

-- Whether a getRecords item of a person shows the asked email, phone or LinkedIn address:
-- true, false, or nil when it shows none of those fields (such a read cannot say).
local function shows_person(item, q)
  local d = type(item.details) == "table" and item.details or {}
  local shown = false
  for what, keys in pairs(widget.person_details) do
    for _, k in ipairs(keys) do
      local v = values.str(d[k])
      if v then
        shown = true
        if q[what] and SAME[what](v, q[what]) then return true end
      end
    end
  end
  if shown then return false end
  return nil
end

-- The items of one record type (a getRecords letter) that `keep` likes, page by page: `search`
-- narrows by name on the server. Ends on a page that is empty or brings nothing new (the page
-- cap is not known: tracker-api.md §9).
local function people_of(s, fname, letter, search, keep)
  local out, seen, page = {}, {}, 0
  local size = s.stats.page_caps.widget or widget.max_page
  while true do
    local doc, e = widget_call(s, fname, "getRecords", {
      recordtype = letter, numrecords = size, pagenum = page, sortfield = "id", sortdir = "asc",
      searchtext = search or "", updatedafter = "", updatedbefore = "" }, nil, true)
    if not doc then return nil, e end
    local new = false
    for _, item in ipairs(doc.results) do
      local id = type(item) == "table" and values.int(item.id)
      if id and not seen[id] then
        seen[id], new = true, true
        if keep(item) then out[#out + 1] = { id = id, name = values.str(item.name) } end
      end
    end
    if not new then return out end
    page = page + 1
  end
end

-- The candidates and contacts Tracker knows with an email, phone or LinkedIn address:
-- { { kind =, id =, name = } }, empty when none. checkPerson says which record types hold the
-- person and shows the first record, without an id [DOC 363]: the ids come from a search by
-- that record's name, each found record checked against what was asked where its read shows
-- it; a type where no record of that name matches is read whole (the person is known there by
-- another name).
function Client:find_person(q)
  local fname = "find_person"
  local s = state(self, fname)
  q = options(fname, q, { email = "string", phone = "string", linkedin = "string" })
  if not (q.email or q.phone or q.linkedin) then
    misuse(fname, "give 'email', 'phone' or 'linkedin' (or several)")
  end
  if q.email and not q.email:match("^[^@%s]+@[^@%s]+$") then
    misuse(fname, "'%s' is not an email address", q.email)
  end
  local ins, nodes = widget.check_person(q)
  local doc, e = widget_call(s, fname, "checkPerson", ins, nodes, false)
  if not doc then return nil, e end
  local types, first = widget.person_answer(doc)
  local out = {}
  for _, letter in ipairs({ "C", "R" }) do
    if types:find(letter, 1, true) then
      local kind = widget.person_kinds[letter]
      local wire = widget.person_letters[kind]
      local found, fe = {}
      if first.name then
        found, fe = people_of(s, fname, wire, first.name, function(item)
          local shows = shows_person(item, q)
          if shows == nil then return lower(values.str(item.name) or "") == lower(first.name) end
          return shows
        end)
        if not found then return nil, fe end
      end
      if #found == 0 then
        found, fe = people_of(s, fname, wire, nil, function(item) return shows_person(item, q) end)
        if not found then return nil, fe end
      end
      for _, p in ipairs(found) do out[#out + 1] = { kind = kind, id = p.id, name = p.name } end
    end
  end
  return out
end

-- The candidate's resume: { filename, content_type, data } or nil (none), or nil, err.
function Client:resume(candidate)
  local fname = "resume"
  local s = state(self, fname)
  local id = id_of(fname, "argument 1", candidate, "candidate")
  if id > rest.max_id then return nil, err("not_found", fmt("%s: no candidate with id %d", fname, id)) end
  local method, path = rest.documents(id)
  local list, e = rest_call(s, fname, "Documents", method, path)
  if not list then return nil, e end
  local doc_id, why = rest.resume_id(list)
  if doc_id == nil then
    if why then return nil, err("bad_response", why) end
    return nil
  end
  method, path = rest.document(id, doc_id)
  local doc, e2 = rest_call(s, fname, "Documents", method, path)
  if not doc then return nil, e2 end
  local filename, ctype, data = rest.file(doc)
  if filename == nil and data == nil then return nil, err("bad_response", ctype) end
  local bytes = native.base64_decode(data)
  if bytes == nil then
    return nil, err("bad_response", fmt("%s: the document of candidate %d is not valid base64", fname, id))
  end
  return { filename = filename, content_type = ctype, data = bytes }
end

-- Checks the widget credentials (checkLogon) and, when a token is configured, the REST token.
function Client:ping()
  local s = state(self, "ping")
  local doc, e = widget_call(s, "ping", "checkLogon", {}, nil, false)
  if not doc then return nil, e end
  if s.c.api_token and s.c.rest_url then
    s.jwt = nil
    local ok, e2 = exchange_token(s, "ping")
    if not ok then return nil, e2 end
  end
  return true
end

-- Counters: requests sent, retries, JWT exchanges, outages; and the outage now, if any.
function Client:stats()
  local s = state(self, "stats")
  local st = copy(s.stats)
  st.outage = pipeline.outage(s.breaker, s.c.clock())
  return st
end

-- Which database this client talks to, as far as trk can tell without a request: the base
-- URLs and the user (`id`: both as one string). A Tracker region serves every database at the
-- same URLs and the settings name no database (tracker-api.md §9.2), so a state store also
-- keeps M.fingerprint of the key. `in_process`: an emulator in this process (option
-- `transport`), no database at all.
function Client:database()
  local c = state(self, "database").c
  local d = { widget_url = c.widget_url, rest_url = c.rest_url, user = c.username,
              in_process = c.transport ~= nil or nil }
  d.id = fmt("widget=%s rest=%s user=%s", d.widget_url or "-", d.rest_url or "-", d.user or "-")
  return d
end

function Client:close()
  local s = private[self]
  if not s or s.closed then return end
  s.closed = true
  for _, tr in ipairs(s.pool) do tr:close() end
  s.pool = {}
end
client_mt.__close = Client.close
-- ---- connect --------------------------------------------------------------------------------

-- What `trk doctor --probe` learnt of the client's database, when trk's host passes its probe
-- file (scripts/trk/probe.lua: { salt =, databases = { { database =, key =, facts... } } }):
-- the entry of this database (its URLs and user, and its key's salted fingerprint: another
-- database's entry is never used) makes the page caps, the search route to try first and the
-- stages seen known from the start instead of learnt again (t:stats().probed).
local function use_probe(s, t, probe)
  if type(probe) ~= "table" or type(probe.databases) ~= "table" then return end
  local id, key = t:database().id, M.fingerprint(t, probe.salt)
  for _, p in ipairs(probe.databases) do
    if type(p) == "table" and p.database == id and p.key == (key or "-") then
      for _, api in ipairs({ "widget", "rest" }) do
        local cap = math.tointeger(p[api .. "_page_cap"])
        if cap and cap > 0 then s.stats.page_caps[api] = cap end
      end
      for _, r in ipairs(rest.search_routes) do
        if p.search_route == r then
          s.routes = { r }
          for _, other in ipairs(rest.search_routes) do
            if other ~= r then s.routes[#s.routes + 1] = other end
          end
        end
      end
      if p.stage_source == "seen" and type(p.stages) == "table" then
        s.probed_stages = {}
        for _, st in ipairs(p.stages) do
          local sid = type(st) == "table" and math.tointeger(st.id)
          if sid and type(st.name) == "string" then
            s.probed_stages[#s.probed_stages + 1] = { id = sid, name = st.name }
          end
        end
      end
      s.stats.probed = true
      return
    end
  end
end

-- `profile`: trk's host passes a named profile's settings (config.configure), and `probe` its
-- probe file (use_probe); under trk, scripts reach only the host's facade of this function,
-- which passes its own.
function M.connect(opts, sink, profile, probe)
  local c = config.configure(opts, sink, profile)
  local emu = c.transport
  c.epoch = emu and function() return emu:now() end or native.epoch
  -- the breaker's state: a sink may lend one (a table), or one for the client's server (a
  -- function of the server: trk's session shares one among its clients of a server, and
  -- lends none to an emulator in this process, which has its own)
  local lend = type(sink) == "table" and rawget(sink, "outage")
  local breaker = lend
  if type(lend) == "function" then
    breaker = emu == nil and lend((c.widget_url or "-") .. " " .. (c.rest_url or "-")) or nil
  end
  local s = { c = c, pool = {}, conv = times.converters(c),
              breaker = type(breaker) == "table" and breaker or {},
              stats = { requests = 0, retries = 0, exchanges = 0, page_caps = {} } }
  s.conv.fields = { job = {}, candidate = {}, application = {}, activity = {}, client = {},
                    contact = {}, lead = {} }
  s.conv.typed = values.typed
  local t = setmetatable({}, client_mt)
  private[t] = s
  if probe ~= nil then use_probe(s, t, probe) end
  return t
end

-- 8 hex digits of a salted hash of client t's API key (else its REST token): what tells two
-- databases at one URL apart. A password is never hashed (a user logging in by password is
-- told apart by the user); nil without a key. Host-side only: trk's session hides it from
-- scripts, and keeps the salt (random, one per state store) in the store.
function M.fingerprint(t, salt)
  local c = state(t, "fingerprint").c
  local key = c.apikey or c.api_token
  if key == nil or type(salt) ~= "string" or #salt < 16 then return nil end
  return native.hash(salt .. "\0" .. key):sub(1, 8)
end

M.suggest, M.actions, M.sinks = usage.suggest, actions, sinks
-- A cassette's exchange without credentials (redact.lua): for trk's recorder and the replay.
M.redact_exchange = import("redact").exchange
-- The module's JSON, for plain Lua (scripts/json.lua): numbers that are whole are integers.
M.json = { encode = native.encode, decode = native.decode, null = native.null }
return M
