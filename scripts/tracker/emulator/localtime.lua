-- tracker.emulator.localtime: naive local times, as Tracker stores and answers them.
--
-- Tracker keeps times as wall-clock text ("2026-11-21 14:05:00") in the database's zone. This
-- module holds the two conversion points (an instant -> the zone's wall clock, a stamp with an
-- explicit offset -> an instant), proleptic Gregorian arithmetic on "wall seconds" (seconds of
-- a wall clock counted as if it were UTC), and the one stamp parser every API reads times with.
-- tracker.time (bindings/time.c) knows IANA zones. Without the C module (a bare lua5.4), only
-- fixed zones work: UTC and Etc/GMT+-N.
--
--   DAY                    seconds in a day
--   zone_valid(zone)       -> true | nil, why
--   localizer(zone)        -> function(epoch) -> "YYYY-MM-DD HH:MM:SS" in zone
--   naive(wall)            -> "YYYY-MM-DD HH:MM:SS" of wall seconds
--   parse_stamp(s)         "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]][Z|+-HH[:]MM]]" -> wall seconds,
--                          the zone offset given (nil when none); nil when not a stamp
--   parse_date(s)          -> "YYYY-MM-DD" of a stamp, or nil
--   iso_utc(epoch)         -> "YYYY-MM-DDTHH:MM:SSZ"

local M = {}

local type, tostring, tonumber, pcall = type, tostring, tonumber, pcall
local floor = math.floor
local fmt, sub, match, gsub = string.format, string.sub, string.match, string.gsub

local DAY = 86400
M.DAY = DAY

local zone_offset, zone_valid   -- (epoch, zone) -> seconds east of UTC; (zone) -> true | nil, why
do
  local ok, tracker = pcall(require, "tracker")
  local T = ok and type(tracker) == "table" and tracker.time or nil
  if T then
    zone_offset = T.offset
    zone_valid = T.zone_valid
  else
    local function fixed(zone)
      if zone == "UTC" or zone == "Etc/UTC" or zone == "GMT" or zone == "Etc/GMT" then return 0 end
      local sign, h = match(zone, "^Etc/GMT([+-])(%d%d?)$")
      if sign then return (sign == "+" and -3600 or 3600) * tonumber(h) end  -- POSIX sign
    end
    zone_offset = function(_, zone) return fixed(zone) end
    zone_valid = function(zone)
      if type(zone) == "string" and fixed(zone) then return true end
      return nil, "time zone '" .. tostring(zone) .. "' needs tracker.time (build tracker.so)"
    end
  end
end
M.zone_valid = zone_valid

-- Proleptic Gregorian calendar arithmetic (Howard Hinnant's algorithms, floor division).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
  return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

local function month_days(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

-- Seconds of a wall clock (as if UTC) -> "YYYY-MM-DD HH:MM:SS".
local function naive(t)
  local days = t // DAY
  local s = t - days * DAY
  local y, m, d = civil_from_days(days)
  return fmt("%04d-%02d-%02d %02d:%02d:%02d", y, m, d, s // 3600, s % 3600 // 60, s % 60)
end
M.naive = naive

-- epoch -> naive local time in zone. Offsets change only at quarter hours, so one lookup per
-- 15-minute bucket serves every instant in it.
function M.localizer(zone)
  local cache = {}
  return function(epoch)
    epoch = floor(epoch)
    local b = epoch // 900
    local off = cache[b]
    if not off then
      off = zone_offset(b * 900, zone)
      cache[b] = off
    end
    return naive(epoch + off)
  end
end

-- "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]][Z|+-HH[:]MM]]" -> wall-clock seconds, zone offset or nil.
local function parse_stamp(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > month_days(y, mo) then return nil end
  local hh, mi, ss, zone = 0, 0, 0, nil
  if rest ~= "" then
    local h, m2, tail = match(rest, "^[T ](%d%d):(%d%d)(.*)$")
    if not h then return nil end
    hh, mi = tonumber(h), tonumber(m2)
    local sec, after = match(tail, "^:(%d%d)(.*)$")
    if sec then ss, tail = tonumber(sec), after end
    tail = gsub(tail, "^%.%d+", "")
    if tail == "Z" or tail == "z" then
      zone = 0
    elseif tail ~= "" then
      local sign, zh, zm = match(tail, "^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      zone = (tonumber(zh) * 3600 + tonumber(zm) * 60) * (sign == "-" and -1 or 1)
    end
    if hh > 23 or mi > 59 or ss > 59 then return nil end
  end
  return days_from_civil(y, mo, d) * DAY + hh * 3600 + mi * 60 + ss, zone
end
M.parse_stamp = parse_stamp

function M.parse_date(s)
  local t = parse_stamp(s)
  return t and sub(naive(t), 1, 10) or nil
end

function M.iso_utc(epoch)
  return (gsub(naive(floor(epoch)), " ", "T")) .. "Z"
end

return M
