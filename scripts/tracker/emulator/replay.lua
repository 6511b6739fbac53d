-- tracker.emulator.replay: a cassette served (`trk emulator --replay DIR`, testing.replay): a
-- request that matches a recorded one (cassette.key: method, target and body, credentials as
-- placeholders, personal values ignored) gets the recorded answer; one recorded several times
-- gets its answers in recorded order, and the last again once they are used up. Credentials
-- are not checked. An unrecorded request gets 599 with a problem body naming it and the
-- closest recorded request.
--
--   local replay = require "tracker.emulator.replay"
--   local r = replay.new(text, "DIR/cassette.jsonl")
--   local status, headers, body = r:handle("POST", "/api/widget/getRecords", {}, request_json)
--   r.header, r:client_exports(), r:unplayed() -> the recorded exchanges no request has met

local tracker = require "tracker"
local cassette = require "tracker.emulator.cassette"
local json_out = require "tracker.emulator.json_out"
local random = require "tracker.emulator.random"

local M = {}

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local fmt, sub, match, upper = string.format, string.sub, string.match, string.upper
local min = math.min

M.UNRECORDED = 599

local Replay = {}
Replay.__index = Replay

-- A request's parts as a cassette keeps them: target and body without credentials.
local function normalised(method, target, body)
  local doc, text = cassette.decode_body(body)
  local parts = tracker.redact_exchange({ target = target, body = doc or text }, {})
  return upper(method), parts.target, parts.body
end

-- replay.new(text [, name]) -> r: raises naming the line when text is not a cassette.
function M.new(text, name)
  if type(text) ~= "string" then error("replay.new: argument 1 must be a cassette's text", 2) end
  local header, list = cassette.parse(text, name)
  local r = setmetatable({ header = header, name = name or cassette.FILE, exchanges = list,
                           queues = {}, played = {} }, Replay)
  for _, ex in ipairs(list) do
    local req = ex.request or {}
    local m, target, body = normalised(ex.method, ex.target, nil)
    if req.body ~= nil then body = req.body elseif req.text ~= nil then body = req.text end
    ex.key = cassette.key(m, target, body)
    local q = r.queues[ex.key]
    if not q then
      q = { at = 0 }
      r.queues[ex.key] = q
    end
    q[#q + 1] = ex
  end
  return r
end

-- The recorded answer of exchange ex, as the emulator answers: a JSON body re-encoded.
local function answer(ex)
  if ex.status == nil then                     -- no answer came: the connection is dropped
    return 0, { ["x-emulator-fault"] = "drop" }, ""
  end
  local headers = {}
  for k, v in pairs(type(ex.headers) == "table" and ex.headers or {}) do headers[k] = v end
  local body = ex.text or ""
  if ex.body ~= nil then body = json_out.encode(json_out.jsonable(ex.body)) end
  headers["content-type"] = headers["content-type"] or "application/json"
  return ex.status, headers, body
end

local function digest(body)
  if type(body) == "table" then body = tracker.actions.canonical(body) end
  return fmt("%016x", random.fnv(tostring(body or "")))
end

-- How many leading characters a and b share.
local function common(a, b)
  local n = min(#a, #b)
  local i = 0
  while i < n and sub(a, i + 1, i + 1) == sub(b, i + 1, i + 1) do i = i + 1 end
  return i
end

-- The recorded exchange closest to a request: the same method and path first, then the
-- longest shared start of the matching key.
function Replay:closest(method, target, key)
  local path = match(target, "^[^?]*")
  local best, score = nil, -1
  for _, ex in ipairs(self.exchanges) do
    local s = common(key, ex.key)
    if upper(ex.method) == method then s = s + 1e6 end
    if match(ex.target, "^[^?]*") == path then s = s + 1e7 end
    if s > score then best, score = ex, s end
  end
  return best
end

-- The 599 answer to an unrecorded request: a problem body naming it and the closest one.
function Replay:unrecorded(method, target, body, key)
  local near = self:closest(method, target, key)
  local req = { method = method, target = target, body_digest = digest(body) }
  local detail = fmt("%s: no recorded answer for %s %s (body %s)", self.name, method,
                     match(target, "^[^?]*"), req.body_digest)
  local closest
  if near then
    local nb = near.request and (near.request.body or near.request.text)
    closest = { seq = near.seq, line = near.line, method = near.method, target = near.target,
                body_digest = digest(nb) }
    detail = fmt("%s; the closest recorded request is #%s at line %d, %s %s (body %s)", detail,
                 tostring(near.seq), near.line, near.method, match(near.target, "^[^?]*"),
                 closest.body_digest)
  end
  local doc = { type = "about:blank", title = "Not recorded", status = M.UNRECORDED,
                detail = detail, request = req, closest = closest }
  return M.UNRECORDED, { ["content-type"] = "application/problem+json" },
         json_out.encode(json_out.jsonable(doc))
end

function Replay:handle(method, path, _, body)
  if type(method) ~= "string" then error("replay:handle: method must be a string", 2) end
  if type(path) ~= "string" then error("replay:handle: path must be a string", 2) end
  local m, target, b = normalised(method, path, body)
  local key = cassette.key(m, target, b)
  local q = self.queues[key]
  if not q then return self:unrecorded(m, target, b, key) end
  q.at = min(q.at + 1, #q)                  -- in recorded order; the last again when used up
  local ex = q[q.at]
  self.played[ex] = true
  return answer(ex)
end

-- The settings the recording was made with, as tracker.connect's options (a profile's form:
-- the variables' text), for a client of this replay (testing.replay).
function Replay:settings()
  local out = {}
  local settings = type(self.header.settings) == "table" and self.header.settings or {}
  for _, setting in ipairs(cassette.SETTINGS) do
    if type(settings[setting[1]]) == "string" then out[setting[2]] = settings[setting[1]] end
  end
  return out
end

-- The recorded exchanges no request has met yet, in recorded order.
function Replay:unplayed()
  local out = {}
  for _, ex in ipairs(self.exchanges) do
    if not self.played[ex] then out[#out + 1] = ex end
  end
  return out
end

-- The settings the recording was made with, as shell lines (trk emulator prints them).
function Replay:client_exports()
  local lines = { "# the settings the recording was made with" }
  local settings = type(self.header.settings) == "table" and self.header.settings or {}
  for _, setting in ipairs(cassette.SETTINGS) do
    local v = settings[setting[1]]
    if type(v) == "string" then
      lines[#lines + 1] = fmt("export %s='%s'", setting[1], (v:gsub("'", "'\\''")))
    end
  end
  lines[#lines + 1] = "export TRACKER_RATE_LIMIT=false"
  return lines
end

return M
