-- tracker.emulator.cassette: the format of a recording of trk's HTTP exchanges (`--record DIR`)
-- and what recording and replaying share: the personal fields, their stable fakes, and the key
-- a replayed request is matched by. docs/troubleshooting.md (Reporting a bug with a cassette)
-- tells the workflow; tracker.emulator.replay serves a cassette.
--
-- DIR/cassette.jsonl holds one JSON object a line. The first describes the recording:
--   { "cassette": 1, "recorded": ISO time, "personal": "redacted" | "kept",
--     "settings": { TRACKER_TIMEZONE = ..., ... } }      (the non-secret settings that shape
--                                                          requests, from the environment)
-- then one line an exchange, in the order the answers came:
--   { "seq": n, "method": "POST", "target": "/api/widget/getRecords?...",
--     "request": { "headers": {...}, "body": JSON value | "text": string },
--     "status": 200, "headers": {...}, "body": JSON value | "text": string, "ms": 12.5 }
-- or, when no answer came, "error": the transport's code ("network", "timeout") and no status.
-- A body that is JSON is kept as its value (readable, and compared by value); any other as text.
--
--   cassette.faker(key)              -> f: f:redact(v) answers v with personal data replaced
--   cassette.key(method, target, body)-> the text a request is matched by
--   cassette.parse(text, name)       -> header, exchanges (raises naming the line)
--   cassette.decode_body(text)       -> a JSON table, or nil and the text

local tracker = require "tracker"
local random = require "tracker.emulator.random"
local words = require "tracker.emulator.words"

local M = {}

local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local fmt, lower, upper, find, gsub, match = string.format, string.lower, string.upper,
      string.find, string.gsub, string.match

M.FILE = "cassette.jsonl"
M.VERSION = 1
-- The settings a recording keeps (never a URL or a credential): those that shape requests,
-- so that a replay is run as the recording was. { variable, tracker.connect's option }.
M.SETTINGS = { { "TRACKER_TIMEZONE", "timezone" }, { "TRACKER_STAGES", "stages" },
               { "TRACKER_SEARCH_ROUTE", "search_route" },
               { "TRACKER_REJECTION_STAGE", "rejection_stage" },
               { "TRACKER_REJECTION_REASONS", "rejection_reasons" },
               { "TRACKER_NOTE_TYPE", "note_type" }, { "TRACKER_NOTE_STATUS", "note_status" } }

local json = tracker.json

-- A body as a cassette keeps it: the JSON table it decodes to, or nil and the text.
function M.decode_body(text)
  if type(text) ~= "string" or text == "" then return nil, text end
  local doc = json.decode(text)
  if type(doc) == "table" then return doc end
  return nil, text
end

-- ---- personal data --------------------------------------------------------------------------

-- Which kind of personal data a field holds, by its name (any case): names, emails, phones,
-- addresses, notes and free text, LinkedIn links, birth dates; nil for any other field.
local NAME_FIELDS = { firstname = true, lastname = true, middlename = true, fullname = true,
                      preferredname = true, resourcename = true, resourcedisplayas = true,
                      contactname = true, ownername = true, owner = true, username = true,
                      displayname = true, candidatename = true }
local NOTE_FIELDS = { note = true, notes = true, text = true, comments = true }

local function personal_kind(field)
  if type(field) ~= "string" then return nil end
  local k = lower(field)
  if NAME_FIELDS[k] then return "name" end
  if find(k, "email", 1, true) then return "email" end
  if find(k, "phone", 1, true) or find(k, "mobile", 1, true) or k == "fax" then return "phone" end
  if find(k, "address", 1, true) or k == "street" or k == "postcode" or k == "zipcode" then
    return "address"
  end
  if NOTE_FIELDS[k] then return "note" end
  if find(k, "linkedin", 1, true) then return "link" end
  if k == "dateofbirth" or k == "birthdate" then return "birth" end
  return nil
end
M.personal_kind = personal_kind

local EMAIL = "[%w._%%+%-]+@[%w%-]+%.[%w.%-]+"
-- The words fake names are made of: none is a name the emulator gives anyone, so that a fake
-- is never taken for an original (nor an original for a fake).
local POOL = {}
do
  local real = {}
  for _, w in ipairs(words.first) do real[w] = true end
  for _, w in ipairs(words.last) do real[w] = true end
  for _, w in ipairs({ "Alder", "Birch", "Cedar", "Dune", "Ember", "Fern", "Grove", "Heath",
                       "Iris", "Juniper", "Kestrel", "Lark", "Moss", "Nova", "Onyx", "Pine",
                       "Quill", "Reed", "Sage", "Thorne", "Umber", "Vale", "Wren", "Yarrow",
                       "Zephyr", "Aspen", "Brook", "Clover", "Dell", "Elm", "Flint", "Glen" }) do
    if not real[w] then POOL[#POOL + 1] = w end
  end
end

-- An object that names a person: one with a first or last name, or whose details have one;
-- its `name` is that person's name.
local function names_person(v)
  local d = type(v.details) == "table" and v.details or v
  return v.firstname ~= nil or v.lastname ~= nil or d.firstname ~= nil or d.lastname ~= nil
end

local Faker = {}
Faker.__index = Faker

-- A faker keyed by `key` (random, one a recording, never written): the same value gets the
-- same fake throughout the recording, in requests and answers alike, and a fake tells nothing
-- of its value to whoever lacks the key.
function M.faker(key)
  return setmetatable({ key = random.fnv(tostring(key)), names = {} }, Faker)
end

function Faker:pick(value, n)
  return random.rng(random.fnv(value, self.key))(n)
end

function Faker:hex(value)
  return fmt("%08x", self:pick(value, 0x7fffffff))
end

function Faker:email(value)
  return "person-" .. self:hex(lower(value)) .. "@example.invalid"
end

-- The fake of a name: word by word, so that "first last" fakes as first's fake and last's.
function Faker:name(value)
  if match(value, "^%s*" .. EMAIL .. "%s*$") then return self:email(value) end
  return (gsub(value, "%S+", function(w) return POOL[self:pick(w, #POOL)] end))
end

function Faker:fake(kind, value)
  if kind == "name" then return self:name(value)
  elseif kind == "email" then return (gsub(value, EMAIL, function(e) return self:email(e) end))
  elseif kind == "phone" then return fmt("555-%04d", self:pick(value, 10000) - 1)
  elseif kind == "address" then return fmt("%d Cassette Way", 99 + self:pick(value, 9000))
  elseif kind == "note" then return "note " .. self:hex(value)
  elseif kind == "link" then return "https://www.linkedin.com/in/person-" .. self:hex(value)
  elseif kind == "birth" then return "1970-01-01" end
  return value
end

-- Pass one: the names v holds, remembered (with "first last" whole) so that the same name
-- found in any other field (a custom field, a summary row, an item's name) is replaced too.
function Faker:learn(v, seen)
  if type(v) ~= "table" or seen[v] then return end
  seen[v] = true
  for k, x in pairs(v) do
    if type(x) == "string" and x ~= "" and k ~= "credentials"
       and (personal_kind(k) == "name" or (k == "name" and names_person(v))) then
      self.names[x] = true
    elseif k ~= "credentials" then
      self:learn(x, seen)
    end
  end
  if type(v.firstname) == "string" and type(v.lastname) == "string" then
    self.names[v.firstname .. " " .. v.lastname] = true
  end
end

-- Pass two: a copy with every personal field, every known name and every email replaced.
function Faker:replace(v, field)
  if type(v) == "string" then
    if v == "" then return v end
    local kind = personal_kind(field)
    if kind then return self:fake(kind, v) end
    if self.names[v] then return self:name(v) end
    return (gsub(v, EMAIL, function(e) return self:email(e) end))
  end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if k == "credentials" then out[k] = x                   -- placeholders already
    else out[k] = self:replace(x, type(k) == "string" and k or field) end
  end
  return out
end

function Faker:redact(v)
  self:learn(v, {})
  return self:replace(v)
end

-- ---- matching --------------------------------------------------------------------------------

-- v with the value of every personal field (and every email) a "*": a request matches its
-- recording whatever the personal values (a note's text, a name the rule wrote itself).
local function wildcards(v, field)
  if type(v) == "string" then
    if v ~= "" and personal_kind(field) then return "*" end
    return (gsub(v, EMAIL, "*"))
  end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = wildcards(x, type(k) == "string" and k or field) end
  return out
end

-- The text a request is matched by: its method, target and body (credentials as the
-- placeholders tracker.redact_exchange puts, personal values as "*"; a JSON body compared by
-- value, whatever its key order).
function M.key(method, target, body)
  local b = ""
  if type(body) == "table" then b = tracker.actions.canonical(wildcards(body))
  elseif type(body) == "string" then b = body end
  return upper(method) .. " " .. gsub(target, EMAIL, "*") .. "\n" .. b
end

-- ---- reading ---------------------------------------------------------------------------------

-- The header and the exchanges of a cassette's text; raises naming the line that is wrong.
function M.parse(text, name)
  name = name or M.FILE
  local header, list, n = nil, {}, 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    if not match(line, "^%s*$") then
      local doc = json.decode(line)
      if type(doc) ~= "table" then
        error(fmt("%s:%d: not a JSON object (a cassette holds one a line)", name, n), 0)
      end
      if header == nil then
        if doc.cassette ~= M.VERSION then
          error(fmt("%s:%d: not a cassette header (want {\"cassette\": %d, ...}): record it "
                    .. "with --record DIR", name, n, M.VERSION), 0)
        end
        header = doc
      else
        if type(doc.method) ~= "string" or type(doc.target) ~= "string" then
          error(fmt("%s:%d: an exchange needs 'method' and 'target'", name, n), 0)
        end
        if doc.status ~= nil and (math.type(doc.status) ~= "integer" or doc.status < 100
                                  or doc.status > 599) then
          error(fmt("%s:%d: 'status' must be an HTTP status from 100 to 599", name, n), 0)
        end
        if doc.status == nil and doc.error == nil then
          error(fmt("%s:%d: an exchange needs a 'status' or an 'error'", name, n), 0)
        end
        doc.line = n
        list[#list + 1] = doc
      end
    end
  end
  if header == nil then error(fmt("%s: empty: no cassette header", name), 0) end
  return header, list
end

return M
