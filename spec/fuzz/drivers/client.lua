-- Fuzz driver of fuzz_client: the client (bindings/lua/) against a server whose every answer
-- comes from the input, through tracker.connect's transport option, as the in-process
-- emulator is used. Each input runs one operation to its end and reads every field of what
-- it returns. Retries cost no time: the client's clock and sleep are fake.
--
-- The input: a first line naming the operation (below) and, optionally, " tz=ZONE" (the
-- database's time zone), then the answers in the order requests arrive, separated by lines
-- "~~~". An answer may start with a line "!STATUS" (default 200), optionally followed by
-- " retry-after=N". Requests past the last answer find the connection dropped.
--
--   candidates tz=America/Chicago
--   {"status":0,"opportunityResourceStatuses":[...]}
--   ~~~
--   !429 retry-after=2
--   ~~~
--   {"status":0,"results":[{"id":5,"lastupdateddatetime":"2026-11-02 10:00:00",...}]}
--
-- What counts as a bug (the driver returns a message, the target aborts): a record breaking
-- the client's promises (an id or *_id that is not an integer, the wrong kind, no raw or
-- custom, a time or date that is not one, a record yielded twice, a wrong count()), a failure
-- that is not a tracker error, more than MAX_REQUESTS requests for one operation, and a Lua
-- error raised inside the client's own code ("[tracker] ...:N: attempt to index..."), which
-- should have been a nil, err (TRK_FUZZ_STRICT=0 in the environment lets those pass).
-- Failures returned as nil, err and errors the client raises on purpose are fine.

local tracker = require "tracker"

local SEP = "\n~~~\n"
local NOW = 1795000000                  -- the server's clock: 2026-11-17
local PAGE = 2                          -- records a page: several pages from small inputs
local STRICT = os.getenv("TRK_FUZZ_STRICT") ~= "0"
local DEBUG = os.getenv("TRK_FUZZ_DEBUG") == "1"    -- a line a run on stderr: what happened
local MAX_REQUESTS = 1000               -- more for one operation: a loop (the server says no more)

local type, pairs, tostring, tonumber, pcall, error = type, pairs, tostring, tonumber, pcall, error
local find, sub, match, gmatch, fmt = string.find, string.sub, string.match, string.gmatch, string.format
local mtype = math.type

-- The answers of an input: { status, headers, body } each.
local function answers(text, from)
  local list = {}
  while from <= #text + 1 do
    local stop = find(text, SEP, from, true)
    local part = sub(text, from, (stop or #text + 1) - 1)
    local status, rest, body = match(part, "^!(%d%d%d)([^\n]*)\n?(.*)$")
    local headers = {}
    if status then
      for k, v in gmatch(rest, "([%w%-]+)=(%S*)") do headers[k] = v end
    else
      body = part
    end
    list[#list + 1] = { status = tonumber(status) or 200, headers = headers, body = body }
    if not stop then break end
    from = stop + #SEP
  end
  return list
end

-- A server answering from the list; it also holds the credentials and clock tracker.connect
-- reads from an emulator.
local function server(list, tz)
  local srv = { apikey = "fuzz-key", username = "fuzz@example.com", api_token = "fuzz-token",
                timezone = tz, n = 0 }
  function srv.handle(self)
    self.n = self.n + 1
    if self.n > MAX_REQUESTS then error("fuzz: too many requests", 0) end
    local a = list[self.n]
    if a == nil then return 0, {}, "" end        -- a dropped connection
    return a.status, a.headers, a.body
  end
  function srv.now() return NOW end
  return srv
end

-- ---- reading what the client returns ----------------------------------------------------------

-- Touches every key and value, as a script printing the whole record would.
local function walk(v, depth, seen)
  if type(v) ~= "table" then return tostring(v) end
  if seen[v] or depth > 200 then return end
  seen[v] = true
  for k, x in pairs(v) do
    walk(k, depth + 1, seen)
    walk(x, depth + 1, seen)
  end
end

-- Times as the client promises them: UTC ISO 8601 with Z, or without a configured time zone
-- the database's naive local time (no Z), or the date alone when Tracker gave no time; dates
-- as YYYY-MM-DD.
local TIME = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ?$"
local DATE = "^%d%d%d%d%-%d%d%-%d%d$"
local TIMES = { updated_at = true, created_at = true, opened_on = false, start_date = false,
                end_date = false, date = false }

local function check_record(r, kind, why)
  if type(r) ~= "table" then return fmt("%s: a record of type %s", why, type(r)) end
  if mtype(r.id) ~= "integer" then return fmt("%s: a record whose id is %s", why, tostring(r.id)) end
  if r.kind ~= kind then return fmt("%s: a %s record, wanted %s", why, tostring(r.kind), kind) end
  if type(r.raw) ~= "table" then return why .. ": a record without raw" end
  if type(r.custom) ~= "table" then return why .. ": a record without custom" end
  for k, v in pairs(r) do
    if type(k) ~= "string" then return fmt("%s: a field named by a %s", why, type(k)) end
    if match(k, "_id$") and mtype(v) ~= "integer" then
      return fmt("%s: %s is %s, not an integer", why, k, tostring(v))
    end
    if TIMES[k] ~= nil and not (type(v) == "string" and (match(v, DATE) or TIMES[k] and match(v, TIME))) then
      return fmt("%s: %s is %q", why, k, tostring(v))
    end
  end
  for k in pairs(r.custom) do
    if type(k) ~= "string" then return fmt("%s: a custom field named by a %s", why, type(k)) end
  end
  walk(r, 0, {})
  return nil
end

-- The bug in a failure, or nil: a returned failure must be a tracker error.
local function check_failure(e, why)
  if not tracker.is_error(e) then return fmt("%s: failed with %s, not a tracker error", why, type(e)) end
  walk(e, 0, {})
  local _ = tostring(e)                      -- the error's __tostring, on the server's text
  return nil
end

-- ---- operations -----------------------------------------------------------------------------

-- Reads a stream to its end with s:next() (the iterator of `for` is the same code, raising).
local function drain(kind)
  return function(_, st)
    local seen, n = {}, 0
    while true do
      local r, e = st:next()
      if r == nil then
        if e ~= nil then return check_failure(e, "stream") end
        break
      end
      n = n + 1
      local bug = check_record(r, kind, "stream")
      if bug then return bug end
      if seen[r.id] then return fmt("stream: record %d yielded twice", r.id) end
      seen[r.id] = true
    end
    if st:count() ~= n then return fmt("stream: count() is %d after %d records", st:count(), n) end
    if DEBUG then io.stderr:write(fmt("  %d records\n", n)) end
    return nil
  end
end

local function one(kind, id)
  return function(r, e)
    if DEBUG then io.stderr:write(fmt("  %s %s\n", tostring(r and r.id), tostring(e))) end
    if r == nil then return check_failure(e, kind) end
    local bug = check_record(r, kind, kind)
    if bug then return bug end
    if r.id ~= id then return fmt("%s(%d) answered record %d", kind, id, r.id) end
    return nil
  end
end

local function value(r, e)
  if DEBUG then io.stderr:write(fmt("  %s %s\n", tostring(r), tostring(e))) end
  if r == nil and e ~= nil then return check_failure(e, "lookup") end
  walk(r, 0, {})
  return nil
end

-- The records the operations ask for: ones that exist in the seeds' database
-- (tracker.emulator.generate{ seed = 1, candidates = 12 }, see spec/fuzz/seeds.lua).
local JOB, CAND, APP = 1010, 188004, 70001

-- name -> { run(t) -> results..., check(results...) -> bug | nil }
local OPS = {
  candidates = { function(t) return t:candidates{} end, drain("candidate") },
  candidates_status = { function(t) return t:candidates{ status = "Active" } end, drain("candidate") },
  jobs = { function(t) return t:jobs{ updated_after = "2025-01-01T00:00:00Z" } end, drain("job") },
  activities = { function(t) return t:activities{ candidate = CAND } end, drain("activity") },
  applications = { function(t) return t:applications{} end, drain("application") },
  applications_stage = { function(t) return t:applications{ stage = "Interview", job = JOB } end,
                         drain("application") },
  job = { function(t) return t:job(JOB) end, one("job", JOB) },
  candidate = { function(t) return t:candidate(CAND) end, one("candidate", CAND) },
  application = { function(t) return t:application(APP) end, one("application", APP) },
  metadata = { function(t) return t:metadata() end, value },
  stages = { function(t) return t:stages() end, value },
  stage = { function(t) return t:stage("Interview") end, value },
  custom_fields = { function(t) return t:custom_fields("candidate") end, value },
  resume = { function(t) return t:resume(CAND) end, value },
  find_candidates = { function(t) return t:find_candidates{ name = "Schmidt", email = "x@example.com" } end,
                      value },
  ping = { function(t) return t:ping() end, value },
}

-- An error raised inside the client's own code, not on purpose.
local function internal(e)
  return type(e) == "string" and find(e, "^%[tracker%] [%w_]+%.lua:%d+:") ~= nil
end

-- The bug in how an operation ended, or nil.
local function outcome(name, ok, e)
  if DEBUG then io.stderr:write(fmt("  %s: %s\n", ok and "returned" or "raised", tostring(e))) end
  if ok then return e and name .. ": " .. e or nil end
  if tracker.is_error(e) then return check_failure(e, name) end
  if STRICT and internal(e) then return fmt("%s: the client raised %s", name, e) end
  return nil
end

local function run(input)
  local nl = find(input, "\n", 1, true) or #input + 1
  local name, tz = match(sub(input, 1, nl - 1), "^(%S+)%s*(.*)$")
  local op = OPS[name or ""]
  if not op then return nil end
  tz = match(tz or "", "^tz=(%S+)")
  local srv = server(answers(input, nl + 1), tz)
  local clock = NOW + 0.0
  local ok, t = pcall(tracker.connect, {
    transport = srv, rate_limit = false, retry_for = 20, page_size = PAGE,
    clock = function() return clock end,
    sleep = function(s) clock = clock + s end,
  })
  if not ok then return nil end                  -- a time zone the client refuses
  local res = table.pack(pcall(op[1], t))
  local bug
  if res[1] then bug = outcome(name, pcall(op[2], table.unpack(res, 2, res.n)))
  else bug = outcome(name, false, res[2]) end
  t:close()
  if DEBUG then io.stderr:write(fmt("%s: %d requests, %s\n", name, srv.n, tostring(bug))) end
  if srv.n > MAX_REQUESTS then return fmt("%s: more than %d requests for one operation", name, MAX_REQUESTS) end
  return bug
end

-- The target calls the first value; spec/fuzz/seeds.lua uses the operations to make seeds.
return run, OPS, { NOW = NOW, PAGE = PAGE, SEP = SEP }
