-- times: the client's clock and calendar. Tracker reads and writes the database's naive local
-- times (docs/tracker-api.md §6); trk shows and takes UTC, converted here with the client's zone.

local usage = import "usage"
local misuse = usage.misuse

local type, pcall = type, pcall
local local_iso = native.local_iso
local tointeger = math.tointeger
local sub, match = string.sub, string.match

local M = {}

-- tracker.time's functions, captured now, before any script holds the module table.
local ttime = {}
for k, f in pairs(tracker.time) do ttime[k] = f end
M.time = ttime

local MARGIN_HOURS = 8       -- §6: without a time zone, filters start 8 hours early

-- Converters between the database's naive local times and UTC, for one configuration.
local function converters(c)
  local tz = c.timezone
  local conv = {}
  if tz then
    function conv.time(v)      -- "2026-11-21 16:05:00" -> "2026-11-21T22:05:00Z"
      if type(v) ~= "string" or #v < 19 then return conv.date(v) end
      local ok, t = pcall(ttime.from_local, sub(v, 1, 19), tz)
      if ok and t then return ttime.format(t) end
      return nil
    end
    function conv.filter(epoch) return ttime.to_local(epoch, tz) end
  else
    function conv.time(v)      -- no zone: the naive local time, marked local by its missing Z
      if type(v) ~= "string" or #v < 19 then return conv.date(v) end
      return local_iso(v)      -- nil: not a date and time
    end
    function conv.filter(epoch) return ttime.to_local(epoch - MARGIN_HOURS * 3600, "UTC") end
  end
  function conv.date(v)
    if type(v) == "string" and match(v, "^%d%d%d%d%-%d%d%-%d%d") then return sub(v, 1, 10) end
    return nil
  end
  return conv
end

-- The epoch of a time argument: an epoch number or an ISO 8601 string with Z or an offset.
local function instant(fname, name, v)
  if type(v) == "number" then
    local t = tointeger(v)
    if t then return t end
  elseif type(v) == "string" then
    local ok, t = pcall(ttime.parse, v)
    if ok and t then return t end
    misuse(fname, "option '%s' must be an ISO 8601 time with Z or an offset "
           .. "(like 2026-11-01T00:00:00Z), got '%s'", name, sub(v, 1, 40))
  end
  misuse(fname, "option '%s' must be an ISO 8601 time or epoch seconds, got %s", name, type(v))
end
M.converters = converters
M.instant = instant
return M
