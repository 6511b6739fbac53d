-- tracker.emulator.synthetic: the emulator's synthetic mode, a read-only database of N
-- candidates computed from their index, never stored.
--
-- emulator.new{ synthetic = { candidates = N, seed = S } } makes an emulator whose candidate i
-- (1..N) has id 200000 + i and is computed from (S, i) whenever it is asked for, so that clients
-- can be measured streaming millions of candidates from a server that is not the bottleneck.
-- With schema = M (a schema file's metadata, emulator.schema_from_json), the metadata and the
-- profiles' custom values are the schema's.
-- Memory does not grow with N, and a getRecords page costs the same at any depth.
--
-- How a candidate is made: emulator.generate{ seed = S } makes PROFILES realistic candidates
-- (and the database's metadata: users, lists, custom fields). Candidate i takes everything from
-- the profile its hash picks (job title, company, address, phones, status, owner, source,
-- dates opened and last contacted, custom fields) except what is its own: its id, its first
-- and last names (from the generator's word lists, so that 100 x 80 names mix with the
-- profiles), an email made unique by the id, a LinkedIn handle, and its last-updated time.
--
-- Last-updated times never decrease with i: record 1 at BASE (naive local time in the
-- database's zone), one second per record, except that the 7th and 8th records of every 8
-- share a time, so that keyset paging meets ties. Sorting by lastupdateddatetime (ties by id)
-- is therefore sorting by id, and updatedafter / updatedbefore are found by binary search.
--
-- Speed: a getRecords page is cut from templates, one per profile, made once by encoding the
-- emulator's own getRecords item (tracker.emulator.items) for the profile with {{slot}}
-- markers where the record's own values go. The items follow the emulator's dialect, so the
-- templates do: where its item_timestamp row shows no last-updated time, the template has no
-- time slots, and empty text stands in their place. Serving a record is then one string
-- concatenation, no json.encode. The source keeps few objects (profiles as JSON text,
-- templates in one array per shape): a page makes about a megabyte of garbage, and every
-- collection sweeps each live object.
--
--   new(emu, opts)         -> source: checks opts ({ candidates = N, seed = S }, raising
--                          naming emulator.new), loads the metadata into emu (an emulator.new
--                          in progress: its timezone is set) and makes the templates
--   source:record(id)      -> candidate id as the emulator stores records (a fresh table), or
--                          nil (getRecords recordid, getIndividualRecord, emu:get)
--   source:page(q)         -> the JSON text of a getRecords answer for candidates (the widget
--                          hands it the checked instructions)
--   READ_ONLY, source.READ_ONLY
--                          the message the widget refuses writes with (status 99)
-- Everything else (credentials, envelopes, faults, rate limit, latency, other record types,
-- the REST API over an empty database) is the emulator's own.

local json = require "json"
local generator = require "tracker.emulator.generator"
local items = require "tracker.emulator.items"
local json_out = require "tracker.emulator.json_out"
local localtime = require "tracker.emulator.localtime"
local util = require "tracker.emulator.util"
local widget = require "tracker.emulator.widget"
local words = require "tracker.emulator.words"

local M = {}

local type, pairs, ipairs, next, tostring, error, setmetatable =
      type, pairs, ipairs, next, tostring, error, setmetatable
local mtype, min = math.type, math.min
local fmt, sub, find, match, gsub, lower =
      string.format, string.sub, string.find, string.match, string.gsub, string.lower
local concat, sort = table.concat, table.sort

-- ---- tunables ------------------------------------------------------------------------------

local FIRST_ID = 200000                -- candidate i has id FIRST_ID + i
local MAX_CANDIDATES = 1000000000      -- last-updated times stay within four-digit years
local BASE = "2026-03-30 00:00:00"     -- record 1's last-updated time, naive local. Between the
                                       -- US and EU changes to and from summer time: about 20
                                       -- million records pass before any skipped hour.
local PROFILES = 1024                  -- generated candidates the records draw from (2^k)
local BLOCK, SHARED = 8, 2             -- in every BLOCK records, the last SHARED share a time

local DAY = 86400
local DAY_CACHE = 4096                 -- date strings kept; the cache restarts when full

M.READ_ONLY = "invalid request: the synthetic database is read-only"

-- getRecords sort fields the synthetic source can order by: both are the order of i.
local SORTS = { id = true, lastupdateddatetime = true }

-- The slots of every item template, in order. The serializer below puts the keys holding slots
-- last, ranked by their first slot, and new() checks that every template comes out in exactly
-- this order, so that Source:answer can fill them with one fixed concatenation.
local SLOTS = { "id", "first", "last", "day", "hhmm", "ss",      -- id, name, lastupdateddatetime
                "first", "last", "ff", "fl", "id", "ff", "fl" }  -- details: names, email, linkedin
local CHUNKS = #SLOTS + 1                                         -- text pieces of a template
local TIME_SLOTS = { day = true, hhmm = true, ss = true }   -- SLOTS 4 to 6: absent from a
                                                           -- dialect's items without a time
local RANK = { id = 1, first = 2, last = 3, day = 4, hhmm = 5, ss = 6, ff = 7, fl = 8 }
-- Slots that stand for a whole JSON value rather than text inside a string.
local RAW = { id = true, count = true, items = true }

-- ---- options -------------------------------------------------------------------------------

local OPTS = { candidates = true, seed = true, schema = true }

local function check(opts)
  local fname = "emulator.new"
  if type(opts) ~= "table" then
    error(fname .. ": option 'synthetic' must be a table { candidates = N, seed = S }", 4)
  end
  for k in pairs(opts) do
    if not OPTS[k] then error(fmt("%s: unknown synthetic option '%s'", fname, tostring(k)), 4) end
  end
  local n, seed = opts.candidates, opts.seed
  if mtype(n) ~= "integer" or n < 0 or n > MAX_CANDIDATES then
    error(fmt("%s: synthetic.candidates must be an integer from 0 to %d", fname,
              MAX_CANDIDATES), 4)
  end
  if seed ~= nil and mtype(seed) ~= "integer" then
    error(fname .. ": synthetic.seed must be an integer", 4)
  end
  return n, seed or 1, opts.schema
end

-- ---- records: index -> values ---------------------------------------------------------------

-- The splitmix64 finalizer: a well-mixed 64-bit hash of i for a seed.
local function mix(key, i)
  local z = key + i * 0x9E3779B97F4A7C15
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return z ~ (z >> 31)
end

-- Seconds after BASE of record i's last update: one a record, the last SHARED of each BLOCK
-- on the same second. Never decreasing in i.
local function offset(i)
  local b, p = (i - 1) // BLOCK, (i - 1) % BLOCK
  local top = BLOCK - SHARED
  return b * (top + 1) + (p < top and p or top)
end

-- What record i draws: profile index (1-based), first- and last-name indices, wall time.
local function draw(self, i)
  local h = mix(self.key, i)
  return (h & (PROFILES - 1)) + 1, (h >> 16) % self.nfirst + 1, (h >> 40) % self.nlast + 1,
         self.base + offset(i)
end

-- ---- templates ---------------------------------------------------------------------------------

-- JSON text of v in which the keys holding slots come last, ordered by the rank of their
-- first slot (strings before tables, then by name): every template of one item builder then
-- has its slots in the same order. Other keys keep the table's order. Leaves go through the
-- emulator's encode. Returns the text and the rank (nil when v holds no slot).
local function ordered(v, encode)
  if type(v) == "string" then
    local s = find(v, "{{", 1, true) and match(v, "{{(%w+)}}")
    return encode(v), s and (RANK[s] or 0)
  elseif type(v) ~= "table" or next(v) == nil then
    return encode(v), nil
  end
  local out, slotted, best = {}, {}, nil
  if v[1] ~= nil then                                     -- an array keeps its order
    for i, x in ipairs(v) do
      local text, r = ordered(x, encode)
      out[i] = text
      if r then best = min(best or r, r) end
    end
    return "[" .. concat(out, ",") .. "]", best and best + 100
  end
  for k, x in pairs(v) do
    local text, r = ordered(x, encode)
    text = encode(k) .. ":" .. text
    if r then
      slotted[#slotted + 1] = { r, k, text }
      best = min(best or r, r)
    else
      out[#out + 1] = text
    end
  end
  sort(slotted, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  for _, e in ipairs(slotted) do out[#out + 1] = e[3] end
  return "{" .. concat(out, ",") .. "}", best and best + 100
end

-- Cuts JSON text at its {{slot}} markers: chunks (one more than slots) and slot names. A RAW
-- slot that is a whole JSON string loses the quotes: it will hold a number or JSON text.
local function split(text)
  local chunks, names = {}, {}
  local pos = 1
  while true do
    local s, e, name = find(text, "{{(%w+)}}", pos)
    if not s then break end
    local chunk = sub(text, pos, s - 1)
    pos = e + 1
    if RAW[name] and sub(chunk, -1) == '"' and sub(text, pos, pos) == '"' then
      chunk, pos = sub(chunk, 1, -2), pos + 1
    end
    chunks[#chunks + 1] = chunk
    names[#names + 1] = name
  end
  chunks[#chunks + 1] = sub(text, pos)
  return chunks, names
end

-- A generated candidate as a profile: the fields that are each record's own become slots.
local function profile(c, fold)
  local p = util.deepcopy(c)
  p.id, p.firstname, p.lastname = "{{id}}", "{{first}}", "{{last}}"
  p.email = "{{ff}}.{{fl}}{{id}}" .. match(c.email, "@.*$")
  local handle = fold(c.firstname) .. "-" .. fold(c.lastname)      -- the generator's form
  local s, e = find(c.linkedin or "", handle, 1, true)
  if s then p.linkedin = sub(c.linkedin, 1, s - 1) .. "{{ff}}-{{fl}}" .. sub(c.linkedin, e + 1) end
  p.lastupdated = "{{day}} {{hhmm}}:{{ss}}"
  return p
end

-- JSON-safe text of a word (quotes and backslashes escaped, as encode would).
local function json_text(word, encode)
  if find(word, '["\\%c]') then return sub(encode(word), 2, -2) end
  return word
end

-- ---- the source ----------------------------------------------------------------------------

local Source = {}
Source.__index = Source
Source.READ_ONLY = M.READ_ONLY

-- Makes the source for emu (an emulator.new in progress), loads its metadata into emu, and
-- returns it.
function M.new(emu, opts)
  local n, seed, meta = check(opts)
  local encode = json_out.encode
  local self = setmetatable({ n = n, seed = seed, key = mix(seed, 0x5DEECE66D),
                              days = {}, ndays = 0 }, Source)
  self.base = localtime.parse_stamp(BASE)
  -- the profiles and the metadata, from one generator run that ends a day before BASE, so
  -- that every profile's dates come before any record's last update
  local data = generator.generate{ seed = seed, jobs = 0, candidates = PROFILES, activities = 0,
                                   documents = 0, now = self.base - DAY, timezone = emu.timezone,
                                   schema = meta }
  local generated = data.candidates
  data.candidates = {}
  emu:load(data)
  local profiles = {}
  self.profile_text, self.owner = {}, {}
  for i, c in ipairs(generated) do
    profiles[i] = profile(c, words.ascii_fold)
    self.profile_text[i], self.owner[i] = json.encode(profiles[i]), c.ownerid or false
  end
  -- words: as stored (records) and as JSON text (templates)
  local first, last = words.first, words.last
  self.first, self.last, self.nfirst, self.nlast = first, last, #first, #last
  self.first_json, self.last_json, self.first_fold, self.last_fold = {}, {}, {}, {}
  for i, w in ipairs(first) do
    self.first_json[i], self.first_fold[i] = json_text(w, encode), words.ascii_fold(w)
  end
  for i, w in ipairs(last) do
    self.last_json[i], self.last_fold[i] = json_text(w, encode), words.ascii_fold(w)
  end
  self.hhmm, self.two = {}, {}
  for m = 0, 1439 do self.hhmm[m] = fmt("%02d:%02d", m // 60, m % 60) end
  for d = 0, 99 do self.two[d] = fmt("%02d", d) end   -- seconds, and an id's last two digits
  -- item templates, without and with customfields, from the emulator's own item builder:
  -- profile p's chunks at (p - 1) * CHUNKS + 1.., equal texts shared
  self.templates = { [false] = {}, [true] = {} }
  self.stamp = emu.dialect.item_timestamp and true or false
  local expected = {}
  for _, name in ipairs(SLOTS) do
    if self.stamp or not TIME_SLOTS[name] then expected[#expected + 1] = name end
  end
  local shared = {}
  for with_custom, flat in pairs(self.templates) do
    for i, p in ipairs(profiles) do
      local chunks, names = split((ordered(items.item(emu, "candidates", p, with_custom), encode)))
      if concat(names, ",") ~= concat(expected, ",") then
        error("tracker.emulator.synthetic: the candidate item's slots come out as "
              .. concat(names, ",") .. ", not " .. concat(expected, ","), 0)
      end
      if not self.stamp then   -- empty chunks 5 to 7 after the absent time slots 4 to 6, which
        for _ = 1, 3 do table.insert(chunks, 5, "") end      -- answer fills with ""
      end
      for k, text in ipairs(chunks) do
        shared[text] = shared[text] or text
        flat[(i - 1) * CHUNKS + k] = shared[text]
      end
    end
  end
  -- the read envelope, from the emulator's own builder, around {{count}} and {{items}}
  local env = widget.ok_read({ "{{items}}" })
  env.count = "{{count}}"
  local chunks, names = split(encode(env))
  self.envelope, self.count_first = chunks, names[1] == "count"
  if #names ~= 2 or names[1] == names[2] then
    error("tracker.emulator.synthetic: the read envelope has no count or no results", 0)
  end
  return self
end

-- Record i's naive local date "YYYY-MM-DD" for a wall-clock day number (cached).
function Source:day(d)
  local s = self.days[d]
  if s then return s end
  if self.ndays >= DAY_CACHE then self.days, self.ndays = {}, 0 end
  s = sub(localtime.naive(d * DAY), 1, 10)
  self.days[d] = s
  self.ndays = self.ndays + 1
  return s
end

-- The smallest i in 1..n+1 whose last-updated wall time is at least t (binary search).
function Source:first_at(t)
  local lo, hi = 1, self.n + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if self.base + offset(mid) >= t then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- One candidate as the emulator stores its records (a fresh table), or nil when out of range.
function Source:record(id)
  local i = mtype(id) == "integer" and id - FIRST_ID
  if not i or i < 1 or i > self.n then return nil end
  local p, f, l, t = draw(self, i)
  local values = { id = tostring(id), first = self.first[f], last = self.last[l],
                   ff = self.first_fold[f], fl = self.last_fold[l], day = self:day(t // DAY),
                   hhmm = self.hhmm[t % DAY // 60], ss = self.two[t % 60] }
  local rec = json.decode(self.profile_text[p])
  for k, v in pairs(rec) do
    if type(v) == "string" and find(v, "{{", 1, true) then rec[k] = gsub(v, "{{(%w+)}}", values) end
  end
  rec.id = id
  return rec
end

-- The getRecords answer for the records whose indices are in list, as JSON text: the
-- envelope's text before the results, each item (from its profile's template), the envelope's
-- text after, joined once.
function Source:answer(list, with_custom)
  local c = self.templates[with_custom and true or false]
  local days, hhmm, two, stamp = self.days, self.hhmm, self.two, self.stamp
  local fj, lj, ff, fl = self.first_json, self.last_json, self.first_fold, self.last_fold
  local e, count = self.envelope, tostring(#list)
  local hundreds, hi = -1, nil   -- an id's text in two pieces: the neighbours of a page share hi
  local before, after = e[1], e[2] .. count .. e[3]
  if self.count_first then before, after = e[1] .. count .. e[2], e[3] end
  local out = { before }
  for k = 1, #list do
    local i = list[k]
    local p, f, l, t = draw(self, i)
    local o = (p - 1) * CHUNKS
    local d, s = t // DAY, t % DAY
    local day, hm, ss = "", "", ""
    if stamp then day, hm, ss = days[d] or self:day(d), hhmm[s // 60], two[s % 60] end
    local id, first, last, a, b = FIRST_ID + i, fj[f], lj[l], ff[f], fl[l]
    if id // 100 ~= hundreds then hundreds, hi = id // 100, tostring(id // 100) end
    local lo = two[id % 100]
    -- the template's chunks with the slots between them, in the order of SLOTS
    out[k + 1] = (k > 1 and "," or "") .. c[o + 1] .. hi .. lo .. c[o + 2] .. first .. c[o + 3]
          .. last .. c[o + 4] .. day .. c[o + 5] .. hm .. c[o + 6] .. ss .. c[o + 7] .. first
          .. c[o + 8] .. last .. c[o + 9] .. a
          .. c[o + 10] .. b .. c[o + 11] .. hi .. lo .. c[o + 12] .. a .. c[o + 13] .. b
          .. c[o + 14]
  end
  out[#list + 2] = after
  return concat(out)
end

-- Indices lo..hi-1 in order (desc: from hi-1 down) that keep(i) accepts: page `page` of `size`.
local function scan(lo, hi, desc, page, size, keep)
  local skip, out, n = page * size, {}, 0
  local from, to, step = lo, hi - 1, 1
  if desc then from, to, step = hi - 1, lo, -1 end
  for i = from, to, step do
    if keep(i) then
      if skip > 0 then
        skip = skip - 1
      else
        n = n + 1
        out[n] = i
        if n == size then break end
      end
    end
  end
  return out
end

-- A name filter for a lower-cased searchtext: keep(f, l), or nil when no name can match.
function Source:name_filter(search)
  local match_pair, any = {}, false
  for f, first in ipairs(self.first) do
    for l, last in ipairs(self.last) do
      if find(lower(first .. " " .. last), search, 1, true) then
        match_pair[f * 1024 + l], any = true, true
      end
    end
  end
  return any and match_pair or nil
end

-- getRecords for candidates, with the instructions the emulator read and checked:
-- q = { page, size, sortfield, desc, after, before (naive local text or nil), search
-- (lower-cased, "" for none), user (set for onlymyrecords), with_custom }. Returns the
-- answer's JSON text.
function Source:page(q)
  if not SORTS[q.sortfield] then
    widget.reject(99, fmt("invalid request: the synthetic database sorts by id or "
                          .. "lastupdateddatetime, not '%s'", q.sortfield))
  end
  local lo, hi = 1, self.n + 1
  if q.after then lo = self:first_at((localtime.parse_stamp(q.after))) end
  if q.before then hi = self:first_at((localtime.parse_stamp(q.before))) end
  local size, page = q.size, q.page
  if hi <= lo or page > (hi - lo - 1) // size then return self:answer({}, q.with_custom) end
  local list
  if q.search ~= "" or q.user then
    -- a scan: as long as the records before the page, all of them when few match
    local names = q.search ~= "" and self:name_filter(q.search)
    local owned
    if q.user then
      owned = {}
      for p, id in ipairs(self.owner) do
        if id == q.user.id then owned[p] = true end
      end
      if next(owned) == nil then owned = nil end
    end
    if (q.search ~= "" and not names) or (q.user and not owned) then
      return self:answer({}, q.with_custom)
    end
    list = scan(lo, hi, q.desc, page, size, function(i)
      local p, f, l = draw(self, i)
      return (not owned or owned[p]) and (not names or names[f * 1024 + l]) or false
    end)
  else
    local from = page * size
    list = {}
    for k = 1, min(size, hi - lo - from) do
      list[k] = q.desc and hi - from - k or lo + from + k - 1
    end
  end
  return self:answer(list, q.with_custom)
end

return M
