-- tracker.emulator.faults: the faults and limits a test or `trk emulator` asks for, all off by
-- default (each is described at the top of tracker.emulator). check reads and checks them;
-- new makes the dice that apply them, request by request: one random stream per fault, so
-- that enabling one does not shift another's decisions, the sliding window of the rate limit
-- and the state of a burst. The same seed and requests meet the same faults.
--
--   check(faults, fname)   -> settings: every fault, with its default; misuse raises naming
--                          fname, at the level of the caller's caller
--   new(settings)          -> f, holding the settings as fields (seed, latency = {min, max},
--                          rate_limit, errors = {rate, statuses}, drop, truncate, malformed,
--                          page_cap, clock_skew, burst, burst_length; nil when off), and:
--   f:delay()              -> milliseconds the answer waits (0: none)
--   f:refuse(emu, now)     -> status, headers, body answered before the request is processed
--                          (429 of the rate limit or of a burst, or an error fault), or nil
--   f:damage(status, headers, body)
--                          -> the processed answer, damaged as drop, truncate and malformed
--                          say and marked x-emulator-fault (a drop is status 0, no body)

local problem = require "tracker.emulator.problem"
local random = require "tracker.emulator.random"
local util = require "tracker.emulator.util"
local W = require "tracker.emulator.wire"

local M = {}

local type, pairs, ipairs, tostring, error, setmetatable =
      type, pairs, ipairs, tostring, error, setmetatable
local floor, mtype, max = math.floor, math.type, math.max
local fmt, sub = string.format, string.sub

local rng = random.rng

local FAULTS = {
  seed = 1, latency = false, rate_limit = false, errors = false, drop = 0, truncate = 0,
  malformed = 0, page_cap = false, clock_skew = 0, burst = 0, burst_length = 3,
}

-- ---- checking -------------------------------------------------------------------------------

local function check_fraction(v, fname, name)
  if v == nil then return 0 end
  if type(v) ~= "number" or v < 0 or v > 1 then
    error(fmt("%s: fault '%s' must be a fraction between 0 and 1", fname, name), 4)
  end
  return v
end

-- A fault that is a positive integer when given (nil when not).
local function positive_fault(f, name, fname, unit)
  local v = f[name]
  if v ~= nil and (mtype(v) ~= "integer" or v < 1) then
    error(fmt("%s: fault '%s' must be a positive integer%s", fname, name, unit), 4)
  end
  return v
end

function M.check(f, fname)
  f = util.check_keys(f, FAULTS, fname, "fault", 3)
  local out = {}
  for k, v in pairs(FAULTS) do out[k] = v or nil end
  local seed = f.seed
  if seed ~= nil and mtype(seed) ~= "integer" then
    error(fname .. ": fault 'seed' must be an integer", 3)
  end
  out.seed = seed or FAULTS.seed
  local lat = f.latency
  if lat ~= nil then
    if type(lat) == "number" and lat >= 0 then
      out.latency = { floor(lat), floor(lat) }
    elseif type(lat) == "table" and type(lat[1]) == "number" and type(lat[2]) == "number"
        and lat[1] >= 0 and lat[2] >= lat[1] then
      out.latency = { floor(lat[1]), floor(lat[2]) }
    else
      error(fname .. ": fault 'latency' must be milliseconds or {min, max}", 3)
    end
  end
  out.rate_limit = positive_fault(f, "rate_limit", fname, " (requests a minute)")
  local e = f.errors
  if e ~= nil then
    if type(e) == "number" then e = { rate = e } end
    if type(e) ~= "table" then
      error(fname .. ": fault 'errors' must be a fraction or a table", 3)
    end
    util.check_keys(e, { rate = true, statuses = true }, fname, "key of fault 'errors'", 3)
    local statuses = e.statuses or { 500, 502, 503 }
    if type(statuses) ~= "table" or #statuses == 0 then
      error(fname .. ": fault 'errors' needs a non-empty statuses list", 3)
    end
    for _, s in ipairs(statuses) do
      if s ~= 500 and s ~= 502 and s ~= 503 then
        error(fname .. ": fault 'errors' statuses may be 500, 502 and 503 only", 3)
      end
    end
    out.errors = { rate = check_fraction(e.rate, fname, "errors"), statuses = statuses }
  end
  out.drop = check_fraction(f.drop, fname, "drop")
  out.truncate = check_fraction(f.truncate, fname, "truncate")
  out.malformed = check_fraction(f.malformed, fname, "malformed")
  if out.drop + out.truncate + out.malformed > 1 then
    error(fname .. ": faults drop + truncate + malformed must not exceed 1", 3)
  end
  out.page_cap = positive_fault(f, "page_cap", fname, "")
  out.burst = check_fraction(f.burst, fname, "burst")
  out.burst_length = positive_fault(f, "burst_length", fname, " (requests)") or FAULTS.burst_length
  if f.clock_skew ~= nil and type(f.clock_skew) ~= "number" then
    error(fname .. ": fault 'clock_skew' must be a number of seconds", 3)
  end
  out.clock_skew = f.clock_skew or 0
  return out
end

-- ---- the dice ------------------------------------------------------------------------------

local Faults = {}
Faults.__index = Faults

function M.new(settings)
  local self = setmetatable(settings, Faults)
  local s = self.seed
  self.rng = { latency = rng(s * 4 + 1), errors = rng(s * 4 + 2), body = rng(s * 4 + 3),
               burst = rng(s * 4 + 4) }
  self.burst_left = 0
  self.window, self.window_head = {}, 1
  return self
end

function Faults:delay()
  local lat = self.latency
  if not lat then return 0 end
  local lo, hi = lat[1], lat[2]
  return hi > lo and lo + self.rng.latency(hi - lo + 1) - 1 or lo
end

-- Sliding one-minute window: nil when the request may pass, else seconds to wait.
local function rate_check(self, now)
  local limit = self.rate_limit
  if not limit then return nil end
  local w, head = self.window, self.window_head
  while w[head] and w[head] <= now - 60 do
    w[head] = nil
    head = head + 1
  end
  self.window_head = head
  local tail = head
  while w[tail] do tail = tail + 1 end
  if tail - head >= limit then
    local wait = w[head] + 60 - now
    local secs = floor(wait)
    if secs < wait then secs = secs + 1 end
    return secs < 1 and 1 or secs
  end
  w[tail] = now
  return nil
end

-- The burst fault: true while a burst of 429 answers lasts (this request included).
local function in_burst(self)
  if self.burst_left > 0 then
    self.burst_left = self.burst_left - 1
    return true
  end
  if self.burst > 0 and self.rng.burst() < self.burst then
    self.burst_left = self.burst_length - 1
    return true
  end
  return false
end

local function server_error(emu, status)
  if status == 500 then
    return problem.answer(emu, 500, "An unexpected error occurred.")
  end
  return status, { ["content-type"] = W.content.html }, W.gateway_pages[status]
end

function Faults:refuse(emu, now)
  local wait = rate_check(self, now)
  if wait then
    local why = fmt("Rate limit of %d requests a minute exceeded.", self.rate_limit)
    return problem.answer(emu, 429, why, nil, { ["retry-after"] = tostring(wait) })
  elseif in_burst(self) then
    return problem.answer(emu, 429, "Too many requests: try again shortly.", nil,
                          { ["retry-after"] = "1" })
  elseif self.errors and self.errors.rate > 0 and self.rng.errors() < self.errors.rate then
    local statuses = self.errors.statuses
    return server_error(emu, statuses[self.rng.errors(#statuses)])
  end
  return nil
end

-- Damages a processed answer as the faults say (drop, truncate, malformed), marking it.
function Faults:damage(status, headers, body)
  local total = self.drop + self.truncate + self.malformed
  if total <= 0 then return status, headers, body end
  local u = self.rng.body()
  if u < self.drop then
    headers["x-emulator-fault"] = "drop"
    return 0, headers, ""
  elseif u < self.drop + self.truncate then
    headers["x-emulator-fault"] = "truncate"
    headers["x-emulator-full-length"] = tostring(#body)
    return status, headers, sub(body, 1, #body // 2)
  elseif u < total then
    headers["x-emulator-fault"] = "malformed"
    return status, headers, sub(body, 1, max(#body - 1, 0)) .. ",}"
  end
  return status, headers, body
end

return M
