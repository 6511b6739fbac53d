-- tracker.emulator: an in-memory Tracker RMS database behind both of Tracker's HTTP APIs.
--
-- One entry point, emu:handle(method, path, headers, body) -> status, headers, body, serves the
-- widget API (POST /api/widget/<verb>) and the REST API v1 as docs/tracker-api.md describes
-- them. The in-process transport and the HTTP front (`trk emulator`) both call it, so they share
-- every line of behaviour. Request headers may use any case; response headers are lower-case;
-- bodies are strings. A request never raises: a bug inside answers 500 with a problem body.
-- (Passing something other than strings for method and path is a caller bug, and raises.)
--
--   local emulator = require "tracker.emulator"
--   local emu = emulator.new{ timezone = "America/New_York", apikey = "K3y",
--                             username = "ops@x.com", api_token = "T0k",
--                             data = emulator.generate{ seed = 1, candidates = 500 } }
--   local status, headers, body = emu:handle("POST", "/api/widget/getRecords", {}, request_json)
--
-- The module: emulator.new(opts) -> emu; emulator.generate(opts) -> data (deterministic for a
-- seed); emulator.from_json(text) -> data. An emu: handle(method, path, headers, body),
-- load(data), save() -> a copy of the data, to_json(), state() -> the live data (for
-- assertions), get(kind, id), reset() (back to the data last loaded), set_faults(faults),
-- now() -> the emulator's epoch (clock + skew), local_time([epoch]) -> its naive local time.
-- Data kinds: users, clients, contacts, jobs, candidates, applications, activities, documents,
-- plus lists (lookup lists), customfields and customfieldlists.
--
-- Options of emulator.new{...} (all optional):
--   timezone   the database's IANA zone (default: data.timezone, else "UTC"). Tracker stores and
--              answers naive local times; so does the emulator, in this zone.
--   apikey     the database's widget API key (credentials apikey + username).
--   username   the API user; added to the users as an active user when the data lacks it.
--   password   that user's password (credentials username + password, or HTTP Basic).
--   api_token  the token POST /api/Auth/ExchangeToken accepts; also the widget's oauthtoken and
--              `Authorization: Bearer` token, acting as `username`.
--   clock      function() -> epoch seconds (default os.time).
--   data       a database from emulator.generate{} or emulator.from_json(); default: the
--              metadata (lists, custom fields, users) without records.
--   synthetic  { candidates = N, seed = S } instead of data: a read-only database of N
--              candidates (ids 200001..200000 + N) computed from their index whenever asked for,
--              never stored, for load tests: memory stays flat and a 500-record page costs
--              about half a millisecond at any depth (tracker.emulator_synthetic). Items look
--              exactly like the normal candidates; the metadata is emulator.generate{ seed = S }'s.
--              getRecords R sorts by id or lastupdateddatetime only (else 99) and answers
--              searchtext and onlymyrecords by a scan (slow: O(N)); writes answer 99; other
--              record types and the REST API answer as an empty database; state() and to_json()
--              hold the metadata only.
--   admin      true serves GET /_emulator/state and POST /_emulator/reset (else they are 404).
--   limits     overrides of LIMITS below.
--   faults     overrides of FAULTS below.
--
-- Faults (all off by default; emu:set_faults{...} replaces them at run time):
--   seed        seed of the fault RNG (default 1); every random decision below is deterministic
--               for a seed and a sequence of requests (each fault draws from its own stream).
--   latency     ms, or {min, max}: the delay is NOT slept here. It is returned in the response
--               header `x-emulator-delay-ms`; the HTTP front waits that long before answering,
--               the in-process transport may sleep or ignore it.
--   rate_limit  requests per minute (sliding 60 s window, all API requests counted); past it
--               the answer is 429 with `Retry-After` (whole seconds until a slot frees).
--   errors      fraction of requests answered 500, 502 or 503 before they are processed, or
--               { rate = f, statuses = {500, 502, 503} }. 500 carries a problem body, 502/503
--               the HTML page a gateway would send.
--   drop, truncate, malformed
--               fractions (summing to at most 1) of processed requests whose answer is damaged.
--               The write, if any, has happened. The response carries `x-emulator-fault`:
--                 drop       in process: status 0, empty body. The HTTP front closes the
--                            connection without answering.
--                 truncate   the body is cut in half; `x-emulator-full-length` gives the full
--                            length, which the HTTP front announces as Content-Length before
--                            closing early (a short read at the HTTP level).
--                 malformed  a complete answer whose JSON is broken (sent as is).
--   burst       fraction of requests that start a burst of 429 answers: that request and the
--               next burst_length - 1 (default 3) are answered 429 with `Retry-After: 1`
--               before they are processed, as a server shedding load does.
--   page_cap    REST PagedSearch returns at most this many items a page whatever pageSize says
--               (live Tracker: 10); pageSize and totalPages in the answer report the cap.
--   clock_skew  seconds added to the clock (stored times, token expiry, rate window).
-- Requests to /_emulator/* are never faulted, limited or authenticated.

local json = require "json"
local synthetic = require "tracker.emulator_synthetic"

local M = {}

local type, pairs, ipairs, next, tostring, tonumber, error, pcall, setmetatable, select =
      type, pairs, ipairs, next, tostring, tonumber, error, pcall, setmetatable, select
local floor, mtype, tointeger = math.floor, math.type, math.tointeger
local fmt, sub, byte, char, lower, upper, find, match, gsub =
      string.format, string.sub, string.byte, string.char, string.lower, string.upper,
      string.find, string.match, string.gsub
local concat, sort, unpack = table.concat, table.sort, table.unpack
local NULL = json.null
local KIT      -- what tracker.emulator_synthetic builds on; filled in at the end of this file

-- ---- tunables ------------------------------------------------------------------------------

local LIMITS = {
  numrecords = 500,            -- widget getRecords page size cap [INF: emulator default 500]
  numrecords_default = 100,    -- page size when numrecords is absent or 0
  page_size = 500,             -- REST PagedSearch pageSize cap (before any page_cap fault)
  page_size_default = 25,      -- REST pageSize when absent
  jwt_lifetime = 7 * 86400,    -- seconds a JWT from ExchangeToken lives [OBS: about 7 days]
  jwt_supersede = true,        -- a newer exchange invalidates older JWTs [OBS, one source]
}

local FAULTS = {
  seed = 1, latency = false, rate_limit = false, errors = false, drop = 0, truncate = 0,
  malformed = 0, page_cap = false, clock_skew = 0, burst = 0, burst_length = 3,
}

local DAY = 86400
local GEN_NOW = 1795176000     -- 2026-11-20T12:00:00Z: generated data does not depend on the clock

-- ---- time: the two time-zone conversion points ------------------------------------------
-- tracker.time (bindings/time.c) knows IANA zones. Without the C module (a bare lua5.4),
-- only fixed zones work: UTC and Etc/GMT+-N.

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

-- epoch -> naive local time in zone. Offsets change only at quarter hours, so one lookup per
-- 15-minute bucket serves every instant in it.
local function localizer(zone)
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

local function iso_utc(epoch)
  return (gsub(naive(floor(epoch)), " ", "T")) .. "Z"
end

-- ---- wire format: every name Tracker uses, in one place -----------------------------------

local W = {}

W.content = {
  json = "application/json; charset=utf-8",
  problem = "application/problem+json; charset=utf-8",
  html = "text/html; charset=utf-8",
}

-- Widget status codes and their messages [DOC; 1 OBS].
W.status = { ok = 0, no_user = 1, inactive = 2, exists = 3, invalid = 99 }
W.messages = {
  [0] = "success", [1] = "user or API Key not found", [2] = "user not active",
  [3] = "record found and cannot be overwritten", [99] = "invalid request",
}

-- Widget verbs: the envelope of each answer ("read": count + results; "write": count +
-- recordId + recordName; "plain": status + message only).
W.verbs = {
  getRecords = "read", getIndividualRecord = "read", updateRecord = "write",
  createActivity = "write", resourceApplication = "write", createResource = "write",
  attachDocument = "write", checkLogon = "plain", getSettingsData = "plain",
}

-- Record-type letters [DOC] and the database kind behind each (nil: valid, holds nothing here).
W.record_kinds = { C = "clients", N = "contacts", L = false, O = "jobs", P = false, T = false,
                   R = "candidates", X = "applications", A = "activities" }

-- Custom-field associations by letter [INF: names].
W.associations = { R = "Resource", O = "Opportunity", X = "OpportunityResource", A = "Activity" }

-- getSettingsData: the lookup lists given as [{"Id", "Name"}], by wire name [OBS].
W.settings_lists = { "opportunityStatuses", "resourceStatuses", "resourceSources",
                     "opportunityWorkTypes", "departments", "opportunityResourceStatuses" }

-- `details` of getRecords items, by letter [OBS]. Text fields default to "", dates to null.
W.details_text = {
  R = { "firstname", "lastname", "preferredname", "jobtitle", "companyname", "address1",
        "address2", "town", "county", "postcode", "country", "email", "otheremail",
        "worktelephone", "hometelephone", "mobiletelephone", "linkedin", "department", "source",
        "territory", "workavailable", "availability" },
}
W.details_dates = {
  R = { availablefromdate = "availablefromdate", lastContacted = "lastcontacted" },
}

-- Extra fields getIndividualRecord returns for R [INF: the updatable columns, read back].
W.individual_text = { R = { "nationality", "noticeperiod", "note", "tag" } }
W.individual_numbers = { R = { "currentsalary", "desiredsalary" } }

-- updateRecord columns [DOC + OBS]: column -> { internal field, kind }. kind: nil text,
-- "date", "number", or the lookup list whose Id the value must name.
W.columns = {
  R = {
    firstname = { "firstname" }, surname = { "lastname" }, jobtitle = { "jobtitle" },
    email = { "email" }, email2 = { "otheremail" }, mobilephone = { "mobiletelephone" },
    homephone = { "hometelephone" }, workphone = { "worktelephone" },
    addressline1 = { "address1" }, addressline2 = { "address2" }, town = { "town" },
    county = { "county" }, postcode = { "postcode" }, country = { "country" },
    nationality = { "nationality" }, dateofbirth = { "dateofbirth", "date" },
    availability = { "availability" }, currentsalary = { "currentsalary", "number" },
    desiredsalary = { "desiredsalary", "number" }, noticeperiod = { "noticeperiod" },
    note = { "note" }, tag = { "tag" }, resourcestatusid = { "statusid", "resourceStatuses" },
  },
  O = {
    opportunityname = { "name" }, opportunitydescription = { "description" },
    dateopened = { "dateopened", "date" }, startdate = { "startdate", "date" },
    enddate = { "enddate", "date" }, location = { "location" }, department = { "department" },
    estimatedvalue = { "estimatedvalue", "number" }, probability = { "probability", "number" },
    publishtitle = { "publishtitle" }, publishdescription = { "publishdescription" },
    publishlocation = { "publishlocation" }, publishonline = { "publishonline" },
    publishsalaryfrom = { "publishsalaryfrom", "number" },
    publishsalaryto = { "publishsalaryto", "number" }, reasonforclose = { "reasonforclose" },
    tag = { "tag" }, opportunitystatusid = { "statusid", "opportunityStatuses" },
  },
  X = {
    opportunityresourcestatusid = { "statusid", "opportunityResourceStatuses" },
    startdate = { "startdate", "date" }, enddate = { "enddate", "date" },
    payrate = { "payrate", "number" }, chargerate = { "chargerate", "number" },
  },
}

-- createResource `resource` node: accepted names -> internal field [DOC + OBS aliases].
W.resource_fields = {
  firstname = "firstname", lastname = "lastname", preferredname = "preferredname",
  jobtitle = "jobtitle", company = "companyname", companyname = "companyname",
  email = "email", email2 = "otheremail", otheremail = "otheremail",
  worktelephone = "worktelephone", workphone = "worktelephone", businessphone = "worktelephone",
  hometelephone = "hometelephone", homephone = "hometelephone",
  mobiletelephone = "mobiletelephone", mobilephone = "mobiletelephone",
  cellphone = "mobiletelephone",
  address1 = "address1", addressline1 = "address1", address2 = "address2",
  addressline2 = "address2", town = "town", city = "town", county = "county", state = "county",
  postcode = "postcode", zipcode = "postcode", country = "country", linkedin = "linkedin",
  source = "source", availability = "availability", note = "note", nationality = "nationality",
  department = "department", territory = "territory",
}

-- Stages a new application starts in, by shortlistedby [INF].
W.first_stage = { user = "Shortlisted", resource = "Applied" }

-- getRecords sort fields.
W.sortfields = { id = true, name = true, lastupdateddatetime = true, dateopened = true }

-- attachDocument: content types by file extension.
W.content_types = {
  pdf = "application/pdf", doc = "application/msword",
  docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  rtf = "application/rtf", txt = "text/plain", html = "text/html", htm = "text/html",
  png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif",
  xls = "application/vnd.ms-excel",
  xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt = "application/vnd.oasis.opendocument.text",
}

-- RFC 7807 problem types, as ASP.NET Core writes them.
W.problems = {
  [400] = { "https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad Request" },
  [401] = { "https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized" },
  [404] = { "https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found" },
  [405] = { "https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed" },
  [429] = { "https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests" },
  [500] = { "https://tools.ietf.org/html/rfc9110#section-15.6.1",
            "An error occurred while processing your request." },
}
W.validation_title = "One or more validation errors occurred."
W.conversion_error = "The JSON value could not be converted to %s. Path: $.%s"

-- WWW-Authenticate of the REST API's 401s, as ASP.NET's JWT bearer handler words them.
W.www_authenticate = {
  missing = "Bearer",
  invalid = 'Bearer error="invalid_token", error_description="The signature is invalid"',
  revoked = 'Bearer error="invalid_token", error_description="The token has been revoked"',
  expired = 'Bearer error="invalid_token", error_description="The token expired at \'%s\'"',
}

W.gateway_pages = {
  [502] = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
       .. "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
  [503] = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
       .. "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
       .. "</body>\r\n</html>\r\n",
}

-- ---- small helpers ---------------------------------------------------------------------------

-- cjson writes an empty Lua table as {}; arrays that may be empty go out as this marker and
-- are rewritten to [] after encoding.
local EMPTY = "\0trk-emulator:empty-array\0"
local EMPTY_JSON = '"\\u0000trk%-emulator:empty%-array\\u0000"'

local function arr(t)
  if t[1] == nil then return EMPTY end
  return t
end

local function encode(v)
  local s = json.encode(v)
  if find(s, "trk-emulator:empty-array", 1, true) then s = gsub(s, EMPTY_JSON, "[]") end
  return s
end

local function deepcopy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in next, v do t[k] = deepcopy(x) end
  return t
end

-- A copy in which every empty table is the empty-array marker (for JSON fixtures).
local function jsonable(v)
  if type(v) ~= "table" then return v end
  if next(v) == nil then return EMPTY end
  local t = {}
  for k, x in next, v do t[k] = jsonable(x) end
  return t
end

local function lowerkeys(t)
  local o = {}
  for k, v in next, t do
    if type(k) == "string" then o[lower(k)] = v else o[k] = v end
  end
  return o
end

local function present(v)
  return v ~= nil and v ~= NULL and v ~= ""
end

local function numstr(n)
  if mtype(n) == "integer" then return fmt("%d", n) end
  if n == floor(n) and n > -2^53 and n < 2^53 then return fmt("%d", tointeger(n)) end
  return fmt("%.14g", n)
end

local function nz(v)
  if v == nil or v == "" then return NULL end
  return v
end

-- Splitmix64: a small deterministic generator. r(n) -> 1..n, r() -> [0, 1).
local function rng(seed)
  local s = (tointeger(seed) or 0) ~ 0x5DEECE66D
  return function(n)
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    if n then return (z >> 1) % n + 1 end
    return (z >> 11) * (1.0 / 9007199254740992.0)
  end
end

-- FNV-1a, 64 bit, for token signatures and trace ids.
local function fnv(s, h)
  h = h or -3750763034362895579
  for i = 1, #s do
    h = (h ~ byte(s, i)) * 1099511628211
  end
  return h
end

-- ---- base64 ---------------------------------------------------------------------------------

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_ENC, B64_DEC = {}, {}
for i = 1, 64 do
  B64_ENC[i - 1] = sub(B64, i, i)
  B64_DEC[byte(B64, i)] = i - 1
end

local function b64encode(s)
  local out, n = {}, 0
  for i = 1, #s - 2, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = a << 16 | b << 8 | c
    n = n + 1
    out[n] = B64_ENC[v >> 18] .. B64_ENC[v >> 12 & 63] .. B64_ENC[v >> 6 & 63] .. B64_ENC[v & 63]
  end
  local r = #s % 3
  if r == 1 then
    local v = byte(s, -1) << 16
    out[n + 1] = B64_ENC[v >> 18] .. B64_ENC[v >> 12 & 63] .. "=="
  elseif r == 2 then
    local a, b = byte(s, -2, -1)
    local v = a << 16 | b << 8
    out[n + 1] = B64_ENC[v >> 18] .. B64_ENC[v >> 12 & 63] .. B64_ENC[v >> 6 & 63] .. "="
  end
  return concat(out)
end

local function b64url(s)
  return (gsub(gsub(b64encode(s), "[+/]", { ["+"] = "-", ["/"] = "_" }), "=+$", ""))
end

-- Strict base64 (whitespace removed first) -> the text without whitespace, or nil.
local function b64clean(s)
  s = gsub(s, "%s+", "")
  if #s == 0 or #s % 4 ~= 0 or not find(s, "^[A-Za-z0-9+/]+=?=?$") then return nil end
  return s
end

local function b64decode(s)
  s = b64clean(s)
  if not s then return nil end
  local out, n = {}, 0
  for i = 1, #s, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local v = B64_DEC[a] << 18 | B64_DEC[b] << 12 | (B64_DEC[c] or 0) << 6 | (B64_DEC[d] or 0)
    n = n + 1
    if c == 61 then out[n] = char(v >> 16)
    elseif d == 61 then out[n] = char(v >> 16, v >> 8 & 255)
    else out[n] = char(v >> 16, v >> 8 & 255, v & 255) end
  end
  return concat(out)
end

-- ---- option checking (misuse raises, naming the function) -------------------------------------

-- level: of the misuse, counted from the caller of check_keys.
local function check_keys(t, allowed, fname, what, level)
  level = (level or 2) + 1
  if t == nil then return {} end
  if type(t) ~= "table" then error(fmt("%s: %s must be a table", fname, what), level) end
  for k in pairs(t) do
    if allowed[k] == nil then
      local noun = what == "options" and "option" or what
      error(fmt("%s: unknown %s '%s'", fname, noun, tostring(k)), level)
    end
  end
  return t
end

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

local function check_faults(f, fname)
  f = check_keys(f, FAULTS, fname, "fault", 3)
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
    check_keys(e, { rate = true, statuses = true }, fname, "key of fault 'errors'", 3)
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

-- ---- the metadata every database starts with --------------------------------------------------

local function base_metadata()
  local function list(names, extra)
    local t = {}
    for i, n in ipairs(names) do
      t[i] = { id = i, name = n }
      if extra then for k, v in pairs(extra[i] or {}) do t[i][k] = v end end
    end
    return t
  end
  local lists = {
    -- state: what getRecords' `state` instruction ("open", "won", "closed") selects.
    opportunityStatuses = list({ "Active", "On Hold", "Sourcing", "Filled", "Lost", "Cancelled" },
      { { state = "open" }, { state = "open" }, { state = "open" }, { state = "won" },
        { state = "closed" }, { state = "closed" } }),
    -- placement: the states getRecords X returns [DOC: Working, Offer or Complete].
    opportunityResourceStatuses = list({ "Applied", "Shortlisted", "Screening",
      "Submitted to Client", "Interview", "Second Interview", "Offer", "Working", "Complete",
      "Rejected", "Withdrawn" },
      { nil, nil, nil, nil, nil, nil, { placement = true }, { placement = true },
        { placement = true } }),
    resourceStatuses = list({ "Active", "Available", "Placed", "Not Looking", "Do Not Use" }),
    resourceSources = list({ "LinkedIn", "Indeed", "Company Website", "Referral", "Dice",
      "CareerBuilder", "Job Fair", "Other" }),
    opportunityWorkTypes = list({ "Permanent", "Contract", "Contract to Hire", "Temporary" }),
    departments = list({ "Technology", "Finance & Accounting", "Healthcare", "Industrial",
      "Sales & Marketing" }),
    activityTypes = list({ "Note", "Call", "Email", "Meeting", "Interview", "Task",
                           "Text Message" }),
    activityStatuses = list({ "Completed", "Scheduled", "Pending", "Cancelled" }),
    skills = {},
  }
  local skills = { "Java", "Python", "SQL", "AWS", "Excel", "Salesforce", "Forklift", "CDL-A",
                   "Phlebotomy", "QuickBooks", "Project Management", "Spanish", "Kubernetes",
                   "React", "AutoCAD" }
  for i, n in ipairs(skills) do lists.skills[i] = { id = 780 + i, name = n } end
  local function items(names)
    local t = {}
    for i, n in ipairs(names) do t[i] = n end
    return t
  end
  local cflists = {}
  local list_defs = {
    { 701, "Work Authorization", { "US Citizen", "Permanent Resident", "H-1B", "TN Visa",
                                   "Requires Sponsorship" } },
    { 702, "Priority", { "High", "Medium", "Low" } },
    { 703, "Remote Policy", { "On-site", "Hybrid", "Remote" } },
    { 704, "Yes/No", { "Yes", "No" } },
    { 705, "Rejection Reason", { "Skills mismatch", "Salary expectations", "Withdrew",
                                 "Failed screening", "Position filled", "No show" } },
    { 706, "Preferred Contact", { "Email", "Phone", "Text" } },
  }
  for i, l in ipairs(list_defs) do
    local its = {}
    for j, n in ipairs(items(l[3])) do its[j] = { id = l[1] * 10 + j, name = n } end
    cflists[i] = { id = l[1], name = l[2], items = its }
  end
  local customfields = {
    { id = 441, association = "Resource", name = "Score", type = "Number" },
    { id = 442, association = "Resource", name = "Work Authorization", type = "List",
      listid = 701 },
    { id = 443, association = "Resource", name = "Security Clearance", type = "Checkbox" },
    { id = 444, association = "Resource", name = "Preferred Contact", type = "List", listid = 706 },
    { id = 445, association = "Opportunity", name = "Hiring Priority", type = "List",
      listid = 702 },
    { id = 446, association = "Opportunity", name = "Remote Policy", type = "List", listid = 703 },
    { id = 447, association = "Opportunity", name = "Hiring Manager", type = "Text" },
    { id = 448, association = "Resource", name = "Priority", type = "List", listid = 702 },
    { id = 449, association = "OpportunityResource", name = "Interview Note Sent", type = "List",
      listid = 704 },
    { id = 450, association = "OpportunityResource", name = "Recruiter Score", type = "Number" },
    { id = 451, association = "OpportunityResource", name = "Rejection Reason", type = "List",
      listid = 705 },
    { id = 452, association = "Activity", name = "Follow-up Required", type = "Checkbox" },
    { id = 453, association = "Opportunity", name = "Target Start", type = "Date" },
  }
  return {
    format = 1, timezone = "UTC", lists = lists, customfields = customfields,
    customfieldlists = cflists, users = {}, clients = {}, contacts = {}, jobs = {},
    candidates = {}, applications = {}, activities = {}, documents = {},
  }
end

local KINDS = { "users", "clients", "contacts", "jobs", "candidates", "applications",
                "activities", "documents" }

-- Ids a new record of each kind starts from when the kind is empty (Tracker-like magnitudes).
local FIRST_ID = { users = 17, clients = 301, contacts = 4001, jobs = 1001, candidates = 188001,
                   applications = 70001, activities = 500001, documents = 9001 }

-- A write to one kind changes what others show (names, counts): their sort caches go too.
local DEPENDS = {
  users = { "users", "jobs", "candidates", "activities" },
  clients = { "clients", "contacts", "jobs", "applications", "activities" },
  contacts = { "contacts", "jobs" },
  jobs = { "jobs", "applications", "activities" },
  candidates = { "candidates", "applications", "activities" },
  applications = { "applications", "jobs" },
  activities = { "activities" },
  documents = { "documents" },
}

-- ---- the generator ---------------------------------------------------------------------------

local FIRST = { "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
  "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
  "Sarah", "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
  "Mark", "Sandra", "Donald", "Margaret", "Steven", "Ashley", "Andrew", "Kimberly", "Paul",
  "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol", "Brian", "Amanda",
  "Timothy", "Melissa", "Ronald", "Deborah", "George", "Stephanie", "Jason", "Rebecca", "Edward",
  "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Amy", "Nicholas", "Angela", "Gary",
  "Helen", "Eric", "Anna", "Jonathan", "Brenda", "Stephen", "Pamela", "Priya", "Wei", "Aisha",
  "Mohammed", "Sofia", "Mateo", "Yuki", "Olga", "Kwame", "Fatima", "Diego", "Ananya", "Chen",
  "Leila", "Omar", "Ingrid", "Raj", "Mei", "Santiago", "Chloé", "José", "Zoë", "Siobhan",
  "Björn", "Nkechi", "Thanh", "Hiroshi", "Amara", "Lucía", "Dmitri" }
local LAST = { "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
  "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
  "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
  "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
  "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
  "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Singh",
  "Okafor", "Müller", "O'Brien", "Kowalski", "Yamamoto", "Haddad", "Novak", "Silva", "Dubois",
  "Rossi", "Andersson", "Ivanova", "Mensah", "Schmidt", "Fernández", "MacLeod", "Van der Berg",
  "Nakamura", "Khan", "Ali", "Cohen", "Murphy", "Kelly", "Price", "Bennett", "Wood" }
local TITLES = { "Software Engineer", "Senior Software Engineer", "Data Engineer", "Data Analyst",
  "DevOps Engineer", "QA Analyst", "Product Manager", "Project Manager", "Business Analyst",
  "Registered Nurse", "Licensed Practical Nurse", "Medical Assistant", "Accountant",
  "Senior Accountant", "Financial Analyst", "Payroll Specialist", "HR Generalist",
  "Sales Representative", "Account Executive", "Customer Service Representative",
  "Warehouse Associate", "Forklift Operator", "Electrician", "Mechanical Engineer",
  "Civil Engineer", "Administrative Assistant", "Executive Assistant", "Marketing Coordinator",
  "Graphic Designer", "Network Administrator", "Help Desk Technician", "Operations Manager",
  "Supply Chain Analyst", "Paralegal", "Truck Driver (CDL-A)", "Pharmacist",
  "Physical Therapist", "Controller", "Java Developer", "Full Stack Developer" }
local CO_A = { "Acme", "Northwind", "Globex", "Initech", "Blue Ridge", "Summit", "Harbor",
  "Pinnacle", "Redwood", "Evergreen", "Lakeside", "Silverline", "Ironclad", "Brightpath",
  "Keystone", "Crescent", "Granite", "Meridian", "Cascade", "Prairie" }
local CO_B = { "Industries", "Health", "Logistics", "Systems", "Financial", "Manufacturing",
  "Labs", "Partners", "Group", "Technologies", "Energy", "Foods", "Medical Center",
  "Construction", "Capital" }
local PLACES = { { "Boston", "MA", "02108", "617" }, { "New York", "NY", "10001", "212" },
  { "Philadelphia", "PA", "19103", "215" }, { "Atlanta", "GA", "30303", "404" },
  { "Miami", "FL", "33130", "305" }, { "Chicago", "IL", "60601", "312" },
  { "Detroit", "MI", "48226", "313" }, { "Minneapolis", "MN", "55401", "612" },
  { "Dallas", "TX", "75201", "214" }, { "Austin", "TX", "78701", "512" },
  { "Houston", "TX", "77002", "713" }, { "Denver", "CO", "80202", "303" },
  { "Phoenix", "AZ", "85004", "602" }, { "Salt Lake City", "UT", "84101", "801" },
  { "Seattle", "WA", "98101", "206" }, { "Portland", "OR", "97204", "503" },
  { "San Francisco", "CA", "94103", "415" }, { "Los Angeles", "CA", "90012", "213" },
  { "San Diego", "CA", "92101", "619" }, { "Raleigh", "NC", "27601", "919" },
  { "Nashville", "TN", "37203", "615" }, { "Columbus", "OH", "43215", "614" },
  { "Indianapolis", "IN", "46204", "317" }, { "Kansas City", "MO", "64105", "816" } }
local STREETS = { "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Blvd", "Washington St",
  "Lake Rd", "Hillcrest Dr", "Elm St", "Pine St", "Sunset Blvd", "River Rd" }
local DOMAINS = { "example.com", "example.net", "example.org", "mail.example.com",
  "inbox.example.net" }
local AGENCY_DOMAIN = "staffing.example.com"
local TAGS = { "remote-ok", "relocation", "night-shift", "bilingual", "urgent", "silver-medalist",
  "referral-bonus" }
local NOTES = {
  Note = { "Candidate prefers hybrid roles; open to %s.", "Strong %s background; move forward.",
           "Salary expectations above the range for %s.",
           "Spoke with the hiring manager about %s." },
  Call = { "Left voicemail about the %s role.", "Phone screen for %s went well.",
           "Discussed availability and notice period for %s." },
  Email = { "Sent the %s job description.", "Followed up on the %s application by email." },
  Meeting = { "Intake meeting for %s." },
  Interview = { "First-round interview for %s scheduled.", "Panel interview for %s completed." },
  Task = { "Check references for %s." },
  ["Text Message"] = { "Texted a reminder about the %s interview." },
}
local ASCII = { ["é"] = "e", ["ë"] = "e", ["ö"] = "o", ["ó"] = "o", ["í"] = "i", ["ü"] = "u",
                ["á"] = "a", ["ñ"] = "n" }

local function ascii_fold(s)
  return lower((gsub(gsub(s, "[\xC3][\x80-\xBF]", ASCII), "[^%w]", "")))
end

-- Weighted choice: weights is a list of {value, weight}.
local function chooser(weights)
  local total = 0
  for _, w in ipairs(weights) do total = total + w[2] end
  return function(r)
    local x = r(total)
    for _, w in ipairs(weights) do
      x = x - w[2]
      if x <= 0 then return w[1] end
    end
  end
end

local GEN_OPTS = { seed = true, jobs = true, candidates = true, applications = true,
  activities = true, documents = true, clients = true, users = true, now = true,
  span_days = true, timezone = true }

local function count_opt(o, name, default)
  local v = o[name]
  if v == nil then return default end
  if mtype(v) ~= "integer" or v < 0 then
    error(fmt("emulator.generate: '%s' must be a non-negative integer", name), 3)
  end
  return v
end

function M.generate(opts)
  local o = check_keys(opts, GEN_OPTS, "emulator.generate", "options")
  local seed = o.seed or 1
  if mtype(seed) ~= "integer" then error("emulator.generate: 'seed' must be an integer", 2) end
  local zone = o.timezone or "UTC"
  local okz, why = zone_valid(zone)
  if not okz then error("emulator.generate: " .. tostring(why), 2) end
  local njobs = count_opt(o, "jobs", 20)
  local ncand = count_opt(o, "candidates", 200)
  local napps = count_opt(o, "applications", (njobs > 0 and ncand > 0) and ncand + ncand // 2 or 0)
  local nact = count_opt(o, "activities", ncand)
  local ndocs = count_opt(o, "documents", ncand // 2)
  local nclients = count_opt(o, "clients", njobs > 0 and math.max(3, njobs // 5) or 0)
  local nusers = count_opt(o, "users", 8)
  local now = o.now or GEN_NOW
  local span = (o.span_days or 365) * DAY
  local start = now - span
  local r = rng(seed)
  local toloc = localizer(zone)
  local d = base_metadata()
  d.timezone = zone

  local function pick(t) return t[r(#t)] end
  local function between(a, b) if b <= a then return a end return a + r(b - a + 1) - 1 end
  -- Update times: spread over the span, with a share of exact ties (bulk imports do that).
  local last_stamp = start
  local function updated_after(t0)
    if r() < 0.04 and last_stamp >= t0 then return last_stamp end
    last_stamp = between(t0, now)
    return last_stamp
  end
  local function date_of(epoch) return sub(toloc(epoch), 1, 10) end

  -- users: the agency's recruiters; the last one has left (inactive).
  local logins = {}
  for i = 1, nusers do
    local f, l = pick(FIRST), pick(LAST)
    local base = ascii_fold(f) .. "." .. ascii_fold(l)
    local login, n = base .. "@" .. AGENCY_DOMAIN, 1
    while logins[login] do n = n + 1; login = base .. n .. "@" .. AGENCY_DOMAIN end
    logins[login] = true
    d.users[i] = { id = FIRST_ID.users + i - 1, username = login, email = login,
                   firstname = f, lastname = l, active = not (nusers >= 3 and i == nusers),
                   lastlogon = toloc(between(now - 30 * DAY, now)) }
  end
  local active_users = {}
  for _, u in ipairs(d.users) do if u.active then active_users[#active_users + 1] = u end end
  local function a_user() return #active_users > 0 and pick(active_users).id or nil end

  -- clients and their contacts
  local contacts_of = {}
  for i = 1, nclients do
    local c = { id = FIRST_ID.clients + i - 1,
                name = CO_A[(i - 1) % #CO_A + 1] .. " " .. pick(CO_B) ..
                       (i > #CO_A and " " .. tostring((i - 1) // #CO_A + 1) or "") }
    local place = pick(PLACES)
    c.town, c.county, c.country = place[1], place[2], "United States"
    local opened = between(start - 2 * span, start)
    c.dateopened = toloc(opened)
    c.lastupdated = toloc(updated_after(opened))
    d.clients[i] = c
    local list = {}
    for _ = 1, between(1, 3) do
      local f, l = pick(FIRST), pick(LAST)
      local k = {
        id = FIRST_ID.contacts + #d.contacts, clientid = c.id, firstname = f, lastname = l,
        jobtitle = pick({ "Hiring Manager", "HR Director", "Talent Acquisition Lead",
                          "VP Operations", "Engineering Manager", "Nurse Manager" }),
        email = ascii_fold(f) .. "." .. ascii_fold(l) .. "@" .. ascii_fold(c.name) .. ".example",
        lastupdated = c.lastupdated,
      }
      d.contacts[#d.contacts + 1] = k
      list[#list + 1] = k
    end
    contacts_of[c.id] = list
  end

  -- jobs
  local job_status = chooser({ { 1, 50 }, { 2, 8 }, { 3, 10 }, { 4, 17 }, { 5, 9 }, { 6, 6 } })
  local jobs_placeable = {}
  for i = 1, njobs do
    local client = #d.clients > 0 and d.clients[r(#d.clients)] or nil
    local contact = client and pick(contacts_of[client.id]) or nil
    local title = pick(TITLES)
    local place = pick(PLACES)
    local opened = between(start, now - 7 * DAY)
    local salary = between(38, 180) * 1000
    local owners = { { userid = a_user(), percent = 100, role = "Primary" } }
    if r() < 0.3 and #active_users > 1 then
      local second = a_user()
      if second ~= owners[1].userid then
        owners[1].percent = 60
        owners[2] = { userid = second, percent = 40, role = "Secondary" }
      end
    end
    if owners[1].userid == nil then owners = {} end
    local j = {
      id = FIRST_ID.jobs + i - 1, name = title, clientid = client and client.id or nil,
      contactid = contact and contact.id or nil, statusid = job_status(r),
      typeid = r(4), department = d.lists.departments[r(#d.lists.departments)].name,
      description = fmt("%s needed for %s in %s, %s.", title,
                        client and client.name or "a confidential client", place[1], place[2]),
      location = place[1] .. ", " .. place[2], dateopened = date_of(opened),
      startdate = r() < 0.6 and date_of(opened + between(14, 60) * DAY) or nil,
      estimatedvalue = salary // 5, probability = between(2, 9) * 10,
      publishtitle = title, publishlocation = place[1] .. ", " .. place[2],
      publishonline = r() < 0.7 and "y" or "n", publishsalaryfrom = salary - 10000,
      publishsalaryto = salary + 10000, owners = owners,
      lastupdated = toloc(updated_after(opened)),
      custom = {},
    }
    if j.statusid >= 5 then j.reasonforclose = pick({ "Client hired direct", "Budget cut",
                                                     "Filled by competitor", "Role on hold" }) end
    j.custom["445"] = pick({ "High", "Medium", "Low" })
    if r() < 0.8 then j.custom["446"] = pick({ "On-site", "Hybrid", "Remote" }) end
    if contact then j.custom["447"] = contact.firstname .. " " .. contact.lastname end
    if j.startdate then j.custom["453"] = j.startdate end
    d.jobs[i] = j
    jobs_placeable[i] = j
  end

  -- candidates
  local cand_status = chooser({ { 1, 55 }, { 2, 20 }, { 3, 10 }, { 4, 12 }, { 5, 3 } })
  local emails = {}
  local sources = d.lists.resourceSources
  for i = 1, ncand do
    local f, l = pick(FIRST), pick(LAST)
    local ff, fl = ascii_fold(f), ascii_fold(l)
    local pattern = r(5)
    local localpart = pattern == 1 and ff .. "." .. fl or pattern == 2 and ff .. fl
      or pattern == 3 and sub(ff, 1, 1) .. fl or pattern == 4 and ff .. "." .. fl .. between(70, 99)
      or ff .. "_" .. fl
    local email = localpart .. "@" .. pick(DOMAINS)
    local n = 1
    while emails[email] do
      n = n + 1
      email = localpart .. n .. "@" .. match(email, "@(.*)$")
    end
    emails[email] = true
    local place = pick(PLACES)
    local created = between(start - span, now - DAY)
    local c = {
      id = FIRST_ID.candidates + i - 1, firstname = f, lastname = l, jobtitle = pick(TITLES),
      companyname = pick(CO_A) .. " " .. pick(CO_B), email = email,
      address1 = between(10, 9800) .. " " .. pick(STREETS), town = place[1], county = place[2],
      postcode = place[3], country = "United States",
      mobiletelephone = fmt("(%s) 555-%04d", place[4], between(100, 199)),
      linkedin = "https://www.linkedin.com/in/" .. ff .. "-" .. fl .. "-" .. fmt("%x", r(0xfffff)),
      source = sources[r(#sources)].name, ownerid = a_user(), statusid = cand_status(r),
      workavailable = r() < 0.6 and "y" or "n",
      availability = pick({ "Immediately", "2 weeks notice", "1 month notice", "Open to offers" }),
      dateopened = toloc(created), lastupdated = toloc(updated_after(created)),
      custom = {},
    }
    if r() < 0.3 then c.hometelephone = fmt("(%s) 555-%04d", place[4], between(100, 199)) end
    if r() < 0.25 then c.tag = pick(TAGS) .. (r() < 0.3 and "," .. pick(TAGS) or "") end
    if r() < 0.4 then c.lastcontacted = toloc(between(created, now)) end
    if r() < 0.7 then c.custom["441"] = numstr(between(40, 99)) end
    if r() < 0.6 then c.custom["442"] = pick({ "US Citizen", "Permanent Resident", "H-1B",
                                              "TN Visa", "Requires Sponsorship" }) end
    if r() < 0.3 then c.custom["443"] = r() < 0.3 and "Yes" or "No" end
    if r() < 0.5 then c.custom["444"] = pick({ "Email", "Phone", "Text" }) end
    if r() < 0.4 then c.custom["448"] = pick({ "High", "Medium", "Low" }) end
    d.candidates[i] = c
  end

  -- applications: distinct (job, candidate) pairs moving through the funnel
  local stage = chooser({ { 1, 24 }, { 2, 15 }, { 3, 12 }, { 4, 9 }, { 5, 9 }, { 6, 4 },
                          { 7, 3 }, { 8, 4 }, { 9, 3 }, { 10, 13 }, { 11, 4 } })
  local pairs_seen = {}
  local apps = d.applications
  local tries = 0
  while #apps < napps and tries < napps * 4 and njobs > 0 and ncand > 0 do
    tries = tries + 1
    local j = jobs_placeable[r(njobs)]
    local c = d.candidates[r(ncand)]
    local key = j.id * 1000003 + c.id
    if not pairs_seen[key] then
      pairs_seen[key] = true
      local st = stage(r)
      local by_resource = r() < 0.45
      local t0 = math.max(select(1, parse_stamp(j.dateopened)) or start, start)
      local assigned = between(t0, now)
      local a = {
        id = FIRST_ID.applications + #apps, opportunityid = j.id, resourceid = c.id,
        statusid = st, list = r() < 0.8 and "short" or "long",
        shortlistedby = by_resource and "resource" or "user",
        source = by_resource and sources[r(#sources)].name or "Database search",
        dateassigned = toloc(assigned), active = (st == 10 or st == 11) and "n" or "y",
        lastupdated = toloc(updated_after(assigned)), custom = {},
      }
      if st >= 7 and st <= 9 then
        local rate = between(25, 95)
        a.dateconfirmed = date_of(between(assigned, now))
        a.startdate = date_of(assigned + between(14, 45) * DAY)
        if st == 9 then a.enddate = date_of(assigned + between(90, 200) * DAY) end
        a.payrate, a.chargerate = rate, rate + between(8, 40)
        a.chargeperiod, a.currency = "Hour", "USD"
      end
      if st >= 5 and st <= 9 then a.custom["449"] = r() < 0.6 and "Yes" or "No" end
      if r() < 0.5 then a.custom["450"] = numstr(between(1, 10)) end
      if st == 10 then
        a.custom["451"] = pick({ "Skills mismatch", "Salary expectations", "Failed screening",
                                 "Position filled", "No show" })
      end
      apps[#apps + 1] = a
    end
  end

  -- activities: notes and calls on candidates, their applications, and jobs
  local act_type = chooser({ { 1, 40 }, { 2, 25 }, { 3, 20 }, { 4, 3 }, { 5, 7 }, { 6, 3 },
                             { 7, 2 } })
  local type_names = d.lists.activityTypes
  for i = 1, nact do
    if ncand == 0 and njobs == 0 then break end
    local tid = act_type(r)
    local tname = type_names[tid].name
    local a = { id = FIRST_ID.activities + i - 1, typeid = tid, custom = {} }
    local roll = r()
    local job, cand, app
    if roll < 0.6 and #apps > 0 then
      app = apps[r(#apps)]
      cand = d.candidates[app.resourceid - FIRST_ID.candidates + 1]
      job = d.jobs[app.opportunityid - FIRST_ID.jobs + 1]
    elseif (roll < 0.9 or njobs == 0) and ncand > 0 then
      cand = d.candidates[r(ncand)]
    else
      job = d.jobs[r(njobs)]
    end
    if cand then
      a.linkrecordtype, a.linkrecordid, a.resourceid = "R", cand.id, cand.id
    else
      a.linkrecordtype, a.linkrecordid = "O", job.id
    end
    if job then a.opportunityid, a.clientid, a.contactid = job.id, job.clientid, job.contactid end
    if app then a.opportunityresourceid = app.id end
    local about = job and job.name or (cand and cand.jobtitle) or "the role"
    a.subject = tname .. ": " .. about
    a.note = fmt(pick(NOTES[tname]), about)
    local when = between(start, now)
    a.date, a.time = date_of(when), sub(toloc(when), 12, 16)
    a.statusid = when > now - DAY and tid == 5 and 2 or 1
    a.priority = pick({ "Low", "Medium", "Medium", "High" })
    a.contacttype = pick({ "Outbound", "Outbound", "Inbound", "Internal" })
    a.userid = a_user()
    a.lastupdated = toloc(updated_after(when))
    if r() < 0.15 then a.custom["452"] = r() < 0.5 and "Yes" or "No" end
    d.activities[i] = a
  end

  -- documents: a resume for some candidates, a cover letter for a few of them
  local order = {}
  for i = 1, ncand do order[i] = i end
  for i = ncand, 2, -1 do
    local k = r(i)
    order[i], order[k] = order[k], order[i]
  end
  local docs = d.documents
  for i = 1, math.min(ndocs, ncand) do
    local c = d.candidates[order[i]]
    local created = select(1, parse_stamp(c.dateopened)) or start
    local stem = gsub(c.firstname .. "_" .. c.lastname, "[^%w_]", "")
    local pdf = fmt("%%PDF-1.4\n%% Resume: %s %s, %s\n1 0 obj << /Type /Catalog >> endobj\n"
                    .. "trailer << /Root 1 0 R >>\n%%%%EOF\n", c.firstname, c.lastname, c.jobtitle)
    docs[#docs + 1] = {
      id = FIRST_ID.documents + #docs, recordtype = "R", recordid = c.id,
      filename = stem .. "_Resume.pdf", documenttype = "Resume", primary = true,
      contenttype = W.content_types.pdf, data = b64encode(pdf),
      dateadded = toloc(between(created, now)),
    }
    if r() < 0.1 then
      docs[#docs + 1] = {
        id = FIRST_ID.documents + #docs, recordtype = "R", recordid = c.id,
        filename = stem .. "_Cover_Letter.txt", documenttype = "Cover Letter", primary = false,
        contenttype = W.content_types.txt,
        data = b64encode("Dear hiring manager,\nI am applying for the " .. c.jobtitle
                         .. " role.\n"),
        dateadded = toloc(between(created, now)),
      }
    end
  end
  return d
end

-- ---- fixtures --------------------------------------------------------------------------------

function M.from_json(text)
  if type(text) ~= "string" then error("emulator.from_json: expected a JSON string", 2) end
  local ok, data = pcall(json.decode, text)
  if not ok or type(data) ~= "table" then
    error("emulator.from_json: not a JSON object" .. (ok and "" or ": " .. tostring(data)), 2)
  end
  return data
end

-- ---- the emulator object ----------------------------------------------------------------------

local Emu = {}
Emu.__index = Emu

local NEW_OPTS = { timezone = true, apikey = true, username = true, password = true,
  api_token = true, clock = true, faults = true, data = true, admin = true, limits = true,
  synthetic = true }

function M.new(opts)
  local o = check_keys(opts, NEW_OPTS, "emulator.new", "options")
  for _, k in ipairs({ "timezone", "apikey", "username", "password", "api_token" }) do
    if o[k] ~= nil and type(o[k]) ~= "string" then
      error(fmt("emulator.new: option '%s' must be a string", k), 2)
    end
  end
  if o.clock ~= nil and type(o.clock) ~= "function" then
    error("emulator.new: option 'clock' must be a function returning epoch seconds", 2)
  end
  if o.data ~= nil and type(o.data) ~= "table" then
    error("emulator.new: option 'data' must be a table (see emulator.generate)", 2)
  end
  if o.data ~= nil and o.synthetic ~= nil then
    error("emulator.new: options 'data' and 'synthetic' cannot be used together", 2)
  end
  local limits = {}
  for k, v in pairs(LIMITS) do limits[k] = v end
  for k, v in pairs(check_keys(o.limits, LIMITS, "emulator.new", "limit", 2)) do
    if type(v) ~= type(LIMITS[k]) or (type(v) == "number" and (mtype(v) ~= "integer" or v < 1)) then
      error(fmt("emulator.new: limit '%s' must be a %s", k,
                type(LIMITS[k]) == "number" and "positive integer" or type(LIMITS[k])), 2)
    end
    limits[k] = v
  end
  local self = setmetatable({
    apikey = o.apikey, username = o.username, password = o.password, api_token = o.api_token,
    clock = o.clock or os.time, admin = o.admin and true or false, limits = limits,
    faults = check_faults(o.faults, "emulator.new"),
    tokens = {}, token_serial = 0, window = {}, window_head = 1, requests = 0,
  }, Emu)
  self:reseed()
  local data = o.data or base_metadata()
  local zone = o.timezone or data.timezone or "UTC"
  local okz, why = zone_valid(zone)
  if not okz then error("emulator.new: " .. tostring(why), 2) end
  self.timezone = zone
  self.toloc = localizer(zone)
  if o.synthetic ~= nil then
    self.synthetic = synthetic.new(self, o.synthetic, KIT)   -- loads its own metadata
  else
    self:load(data)
  end
  return self
end

-- Fault RNG streams, one per fault so enabling one does not shift another's decisions.
function Emu:reseed()
  local s = self.faults.seed
  self.rng = { latency = rng(s * 4 + 1), errors = rng(s * 4 + 2), body = rng(s * 4 + 3),
               burst = rng(s * 4 + 4) }
  self.burst_left = 0
end

function Emu:set_faults(faults)
  self.faults = check_faults(faults, "emulator:set_faults")
  self:reseed()
  self.window, self.window_head = {}, 1
end

function Emu:now()
  return self.clock() + self.faults.clock_skew
end

-- The emulator's naive local time now (or at epoch), as Tracker stores it.
function Emu:local_time(epoch)
  return self.toloc(epoch or self:now())
end

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

function Emu:load(data)
  check_data(data, "emulator:load")
  local d = deepcopy(data)
  local meta = base_metadata()
  for _, kind in ipairs(KINDS) do d[kind] = d[kind] or {} end
  d.lists = d.lists or {}
  for name, list in pairs(meta.lists) do
    if d.lists[name] == nil then d.lists[name] = list end
  end
  d.customfields = d.customfields or meta.customfields
  d.customfieldlists = d.customfieldlists or meta.customfieldlists
  d.format = d.format or 1
  d.timezone = d.timezone or self.timezone
  for _, rec in ipairs(d.users) do
    if rec.active == nil then rec.active = true end
  end
  -- custom values and skills are keyed by the field id as a string (JSON object keys)
  for _, kind in ipairs({ "jobs", "candidates", "applications", "activities" }) do
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
function Emu:install(d)
  self.data = d
  self.idx, self.next_id, self.version, self.cache = {}, {}, {}, {}
  self.changes = {}                  -- by kind: the recent writes, for sorted() to patch its lists
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

function Emu:index_application(a)
  self.app_pair[a.opportunityid .. ":" .. a.resourceid] = a
  local l = self.apps_by_job[a.opportunityid]
  if not l then l = {}; self.apps_by_job[a.opportunityid] = l end
  l[#l + 1] = a
end

-- A write to kind: bumps the version of every kind that shows it. `rec`, when given, is the one
-- record the write changed (or added): sorted() can then move it within its cached lists rather
-- than sort them again; without it, a kind's lists are sorted again.
local CHANGE_LOG = 256               -- writes remembered a kind; older lists are sorted again

function Emu:touched(kind, rec)
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

function Emu:insert(kind, rec)
  rec.id = self.next_id[kind]
  self.next_id[kind] = rec.id + 1
  local list = self.data[kind]
  list[#list + 1] = rec
  self.idx[kind][rec.id] = rec
  self:touched(kind, rec)
  return rec
end

function Emu:save()
  return deepcopy(self.data)
end

-- The live database, for assertions in tests (read it; change it only through requests).
function Emu:state()
  return self.data
end

-- One record of a kind by id ("candidates", 188001), or nil.
function Emu:get(kind, id)
  if not self.idx[kind] then error("emulator:get: unknown kind '" .. tostring(kind) .. "'", 2) end
  return self:record(kind, id)
end

-- The record the read verbs show for (kind, id): in synthetic mode, candidates are computed.
function Emu:record(kind, id)
  if self.synthetic and kind == "candidates" then return self.synthetic:record(id) end
  return self.idx[kind][id]
end

function Emu:to_json()
  return encode(jsonable(self.data))
end

function Emu:reset()
  self:install(deepcopy(self.initial))
end

-- ---- names and lookups shared by the answers ------------------------------------------------

local function person(rec)
  if not rec then return "" end
  local f, l = rec.firstname or "", rec.lastname or ""
  if f == "" then return l end
  if l == "" then return f end
  return f .. " " .. l
end

function Emu:list_name(list, id)
  local e = id and self.lk[list] and self.lk[list].by_id[id]
  return e and e.name or ""
end

function Emu:user_name(id)
  return person(id and self.idx.users[id])
end

function Emu:is_placement(a)
  local e = self.lk.opportunityResourceStatuses.by_id[a.statusid]
  return e ~= nil and e.placement == true
end

function Emu:job_state(j)
  local e = self.lk.opportunityStatuses.by_id[j.statusid]
  return e and e.state or "open"
end

function Emu:application_name(a)
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
}

-- Custom fields of a record as [{"id", "name", "value"}]: every field of the association.
function Emu:custom_out(assoc, rec)
  local out = {}
  local vals = rec.custom or {}
  for i, def in ipairs(self.cf_assoc[assoc] or {}) do
    out[i] = { id = def.id, name = def.name, value = vals[tostring(def.id)] or "" }
  end
  return arr(out)
end

-- ---- answers: records as the widget API shows them --------------------------------------------

function Emu:owners_out(j)
  local out = {}
  for i, o in ipairs(j.owners or {}) do
    out[i] = { OwnerId = o.userid, OwnerName = self:user_name(o.userid),
               OwnerPercent = o.percent or 100, OwnerRole = o.role or "Primary" }
  end
  return arr(out)
end

function Emu:shortlisted(j)
  local n = 0
  for _, a in ipairs(self.apps_by_job[j.id] or {}) do
    if a.list ~= "long" then n = n + 1 end
  end
  return n
end

function Emu:summary_out(j)
  local client = self.idx.clients[j.clientid]
  local contact = self.idx.contacts[j.contactid]
  local rows = {
    { "Status", self:list_name("opportunityStatuses", j.statusid) },
    { "Client", client and client.name or "" },
    { "Contact", person(contact) },
    { "Type", self:list_name("opportunityWorkTypes", j.typeid) },
    { "Location", j.location or "" },
    { "Date Opened", j.dateopened or "" },
    { "Shortlisted", tostring(self:shortlisted(j)) },
  }
  for i, row in ipairs(rows) do rows[i] = { recordName = row[1], recordValue = row[2] } end
  return rows
end

local ITEM = {}   -- kind -> function(self, rec) -> getRecords item (without customfields)

ITEM.jobs = function(self, j)
  local client = self.idx.clients[j.clientid]
  local contact = self.idx.contacts[j.contactid]
  local status = self:list_name("opportunityStatuses", j.statusid)
  return {
    id = j.id, name = j.name or "", company = client and client.name or "", status = status,
    dateopened = nz(j.dateopened), lastupdateddatetime = nz(j.lastupdated),
    details = {
      id = j.id, name = j.name or "", clientid = nz(j.clientid),
      clientname = client and client.name or "", contactid = nz(j.contactid),
      contactname = person(contact), status = status,
      type = self:list_name("opportunityWorkTypes", j.typeid), values = j.estimatedvalue or 0,
      shortlisted = self:shortlisted(j), description = j.description or "",
      executivesummary = self:summary_out(j), subject = j.name or "",
      Owners = self:owners_out(j),
    },
  }
end

ITEM.candidates = function(self, c)
  local details = {}
  for _, k in ipairs(W.details_text.R) do details[k] = c[k] or "" end
  for wire, field in pairs(W.details_dates.R) do details[wire] = nz(c[field]) end
  details.owner = self:user_name(c.ownerid)
  return {
    id = c.id, name = person(c), company = c.companyname or "",
    status = self:list_name("resourceStatuses", c.statusid), dateopened = nz(c.dateopened),
    lastupdateddatetime = nz(c.lastupdated), details = details,
  }
end

ITEM.applications = function(self, a)
  local c = self.idx.candidates[a.resourceid]
  local j = self.idx.jobs[a.opportunityid]
  local client = j and self.idx.clients[j.clientid]
  local status = self:list_name("opportunityResourceStatuses", a.statusid)
  local name = self:application_name(a)
  return {
    id = a.id, name = name, company = client and client.name or "", status = status,
    dateopened = nz(a.dateassigned), lastupdateddatetime = nz(a.lastupdated),
    details = {
      id = a.id, name = name, clientid = nz(j and j.clientid), contactid = nz(j and j.contactid),
      resourceid = a.resourceid, resourcename = person(c), opportunityid = a.opportunityid,
      status = status, dateassigned = nz(a.dateassigned), dateconfirmed = nz(a.dateconfirmed),
      startdate = nz(a.startdate), enddate = nz(a.enddate), payrate = nz(a.payrate),
      chargerate = nz(a.chargerate), chargeperiod = a.chargeperiod or "",
      currency = a.currency or "", lastupdated = nz(a.lastupdated),
    },
  }
end

ITEM.activities = function(self, a)
  local j = self.idx.jobs[a.opportunityid]
  local c = self.idx.candidates[a.resourceid]
  local client = self.idx.clients[a.clientid]
  local status = self:list_name("activityStatuses", a.statusid)
  return {
    id = a.id, name = a.subject or "", company = client and client.name or "", status = status,
    dateopened = nz(a.date), lastupdateddatetime = nz(a.lastupdated),
    details = {
      clientid = nz(a.clientid), contactid = nz(a.contactid), leadid = NULL,
      opportunityid = nz(a.opportunityid), opportunityname = j and j.name or "",
      resourceid = nz(a.resourceid), resourcename = person(c), activityid = a.id,
      activityTypeId = nz(a.typeid), ActivityTypeName = self:list_name("activityTypes", a.typeid),
      activityStatusId = nz(a.statusid), activitystatusname = status,
      subject = a.subject or "", datedue = nz(a.date), timedue = nz(a.time),
      lastupdateddatetime = nz(a.lastupdated), startdate = nz(a.date), starttime = nz(a.time),
      userid = nz(a.userid), username = self:user_name(a.userid), priority = a.priority or "",
      contacttype = a.contacttype or "", opportunityresourceid = nz(a.opportunityresourceid),
      note = a.note or "",
    },
  }
end

ITEM.clients = function(_, c)
  return { id = c.id, name = c.name or "", company = c.name or "", status = "Active",
           dateopened = nz(c.dateopened), lastupdateddatetime = nz(c.lastupdated),
           details = EMPTY }
end

ITEM.contacts = function(self, k)
  local client = self.idx.clients[k.clientid]
  return { id = k.id, name = person(k), company = client and client.name or "", status = "Active",
           dateopened = nz(k.dateopened), lastupdateddatetime = nz(k.lastupdated),
           details = EMPTY }
end

local KIND_LETTER = { jobs = "O", candidates = "R", applications = "X", activities = "A" }

function Emu:item(kind, rec, with_custom)
  local it = ITEM[kind](self, rec)
  if with_custom then
    local assoc = W.associations[KIND_LETTER[kind] or ""]
    it.customfields = assoc and self:custom_out(assoc, rec) or EMPTY
  end
  return it
end

-- getIndividualRecord: the item flattened, with the extended fields of its type.
local INDIVIDUAL = {}

INDIVIDUAL.jobs = function(self, j)
  local it = ITEM.jobs(self, j)
  local out = it.details
  out.status = it.status
  out.opportunitystatusid = nz(j.statusid)
  out.executivesummary = arr(out.executivesummary)
  out.subject = nil
  local placements = {}
  for _, a in ipairs(self.apps_by_job[j.id] or {}) do
    if self:is_placement(a) then
      placements[#placements + 1] = { PlacementId = a.id, CandidateId = a.resourceid,
        CandidateName = person(self.idx.candidates[a.resourceid]) }
    end
  end
  out.Placements = arr(placements)
  out.dateopened, out.startdate, out.enddate = nz(j.dateopened), nz(j.startdate), nz(j.enddate)
  out.dateclosed = NULL
  for _, k in ipairs({ "location", "department", "publishtitle", "publishdescription",
                       "publishlocation", "publishonline", "reasonforclose", "tag" }) do
    out[k] = j[k] or ""
  end
  for _, k in ipairs({ "estimatedvalue", "probability", "publishsalaryfrom", "publishsalaryto" }) do
    out[k] = nz(j[k])
  end
  out.lastupdateddatetime = nz(j.lastupdated)
  out.customfields = self:custom_out("Opportunity", j)
  return out
end

INDIVIDUAL.candidates = function(self, c)
  local it = ITEM.candidates(self, c)
  local out = it.details
  out.id, out.name, out.status, out.company = c.id, it.name, it.status, it.company
  out.resourcestatusid = nz(c.statusid)
  out.dateopened, out.lastupdateddatetime = it.dateopened, it.lastupdateddatetime
  out.dateofbirth = nz(c.dateofbirth)
  for _, k in ipairs(W.individual_text.R) do out[k] = c[k] or "" end
  for _, k in ipairs(W.individual_numbers.R) do out[k] = nz(c[k]) end
  local skills = {}
  for id, value in pairs(c.skills or {}) do
    local nid = tointeger(tonumber(id))
    skills[#skills + 1] = { id = nid, name = self:list_name("skills", nid), value = value }
  end
  sort(skills, function(a, b) return a.id < b.id end)
  out.skills = arr(skills)
  out.customfields = self:custom_out("Resource", c)
  return out
end

INDIVIDUAL.activities = function(self, a)
  local it = ITEM.activities(self, a)
  local out = it.details
  out.id, out.name, out.status = a.id, it.name, it.status
  out.type = out.ActivityTypeName
  out.linkrecordtype, out.linkrecordid = nz(a.linkrecordtype), nz(a.linkrecordid)
  out.customfields = self:custom_out("Activity", a)
  return out
end

-- ---- answers: the REST API's shapes ------------------------------------------------------------

local function rest_stamp(s)
  if not present(s) then return NULL end
  if #s == 10 then return s .. "T00:00:00" end
  return (gsub(s, " ", "T"))
end

function Emu:rest_application(a)
  local c = self.idx.candidates[a.resourceid]
  local j = self.idx.jobs[a.opportunityid]
  local client = j and self.idx.clients[j.clientid]
  return {
    opportunityResourceId = a.id, opportunityId = a.opportunityid, resourceId = a.resourceid,
    clientId = nz(j and j.clientid), opportunityName = j and j.name or "",
    opportunityResourceStatusId = nz(a.statusid),
    opportunityResourceStatusName = self:list_name("opportunityResourceStatuses", a.statusid),
    startDate = rest_stamp(a.startdate), endDate = rest_stamp(a.enddate),
    payRate = nz(a.payrate), chargeRate = nz(a.chargerate), activeRecord = a.active or "y",
    clientName = client and client.name or "", resourceDisplayAs = person(c),
    resourceEmail = c and c.email or "", lastUpdatedDateTime = rest_stamp(a.lastupdated),
    customFields = self:custom_out("OpportunityResource", a),
  }
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
function Emu:patch_sorted(kind, field, desc, c)
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

function Emu:sorted(kind, field, desc)
  local key = kind .. "|" .. field .. (desc and "|d" or "|a")
  local c = self.cache[key]
  if c and (c.version == self.version[kind] or self:patch_sorted(kind, field, desc, c)) then
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

-- ---- widget API: request reading -------------------------------------------------------------

local function reject(status, message, extra)
  error({ widget = true, status = status, message = message, extra = extra }, 0)
end

local function invalid(msg, ...)
  reject(99, "invalid request: " .. fmt(msg, ...))
end

-- Lenient readers: Tracker takes "2482" for 2482 and "false" for false [DOC]. Absent, null and
-- "" read as nil; anything else that does not fit is status 99.
local function w_int(v, name)
  if v == nil or v == NULL or v == "" then return nil end
  if mtype(v) == "integer" then return v end
  if mtype(v) == "float" and v == floor(v) then return tointeger(v) end
  if type(v) == "string" then
    local s = match(v, "^%s*(%-?%d+)%s*$")
    local n = s and tointeger(tonumber(s))
    if n then return n end
  end
  invalid("'%s' must be an integer", name)
end

local function w_str(v, name)
  if v == nil or v == NULL then return nil end
  if type(v) == "string" then return v end
  if type(v) == "number" then return numstr(v) end
  invalid("'%s' must be a string", name)
end

local BOOLS = { ["true"] = true, ["false"] = false, yes = true, no = false, y = true, n = false,
                ["1"] = true, ["0"] = false }

local function w_bool(v, name)
  if v == nil or v == NULL or v == "" then return nil end
  if type(v) == "boolean" then return v end
  if v == 1 or v == 0 then return v == 1 end
  if type(v) == "string" and BOOLS[lower(v)] ~= nil then return BOOLS[lower(v)] end
  invalid("'%s' must be true or false", name)
end

local function w_table(v, name)
  if v == nil or v == NULL then return nil end
  if type(v) ~= "table" then invalid("'%s' must be an object", name) end
  return lowerkeys(v)
end

local function w_list(v, name)
  if v == nil or v == NULL then return {} end
  if type(v) ~= "table" then invalid("'%s' must be a list", name) end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then invalid("'%s' must be a list", name) end
  for i, x in ipairs(v) do
    if type(x) ~= "table" then invalid("'%s[%d]' must be an object", name, i - 1) end
  end
  return v
end

local function w_letter(v, name)
  local s = w_str(v, name)
  if not s or s == "" then invalid("'%s' is required", name) end
  s = upper(s)
  if W.record_kinds[s] == nil then invalid("unknown %s '%s'", name, s) end
  return s
end

-- A filter time: naive local time compared as text; an explicit zone is converted to the
-- database's zone first.
function Emu:filter_time(v, name)
  local s = w_str(v, name)
  if s == nil or s == "" then return nil end
  local t, zone = parse_stamp(s)
  if not t then invalid("'%s' must be a date and time like 2026-11-21 14:05:00", name) end
  if zone then return self.toloc(t - zone) end
  return naive(t)
end

local function parse_date(s)
  local t = parse_stamp(s)
  return t and sub(naive(t), 1, 10) or nil
end

-- Custom-field values given as [{"id", "value"}]: checked against the field's type; returns
-- a map of string id -> stored value. assoc nil: any field (see createActivity).
function Emu:read_custom(list, assoc, name)
  local out = {}
  for i, e in ipairs(w_list(list, name)) do
    e = lowerkeys(e)
    local id = w_int(e.id, name .. "[].id")
    local def = id and self.cf[id]
    if not def then invalid("unknown custom field %s", tostring(id or e.id)) end
    if assoc and def.association ~= assoc then
      invalid("custom field %d belongs to %s records, not %s", id, def.association, assoc)
    end
    local value = w_str(e.value, name .. "[].value")
    if value == nil then invalid("%s[%d] has no value", name, i - 1) end
    if value ~= "" then
      if def.type == "List" then
        local l = self.cf_list[def.listid]
        local it = l and l.by_name[lower(value)]
        if not it then
          invalid("'%s' is not an item of custom field %d (%s)", value, id, def.name)
        end
        value = it.name
      elseif def.type == "Number" then
        if not tonumber(value) then invalid("custom field %d (%s) takes a number", id, def.name) end
      elseif def.type == "Date" then
        value = parse_date(value) or invalid("custom field %d (%s) takes a date", id, def.name)
      elseif def.type == "Checkbox" then
        local b = BOOLS[lower(value)]
        if b == nil then invalid("custom field %d (%s) takes Yes or No", id, def.name) end
        value = b and "Yes" or "No"
      end
    end
    out[tostring(id)] = value
  end
  return out
end

local function apply_custom(rec, values)
  if next(values) == nil then return end
  rec.custom = rec.custom or {}
  for k, v in pairs(values) do
    if v == "" then rec.custom[k] = nil else rec.custom[k] = v end
  end
end

-- The value of an updateRecord column, checked for its kind.
function Emu:column_value(col, kind, value)
  if value == "" then return nil end
  if kind == "date" then
    return parse_date(value) or invalid("column '%s' takes a date (YYYY-MM-DD)", col)
  elseif kind == "number" then
    local n = tonumber(value)
    if not n then invalid("column '%s' takes a number", col) end
    return tointeger(n) or n
  elseif kind then
    local id = tointeger(tonumber(value))
    if not id or not self.lk[kind].by_id[id] then
      invalid("column '%s': %s is not an id of %s", col, value, kind)
    end
    return id
  end
  return value
end

function Emu:set_email(c, email)
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

-- ---- widget API: the verbs --------------------------------------------------------------------

local VERB = {}

local function ok_read(results)
  return { status = 0, message = W.messages[0], count = #results, results = arr(results) }
end

local function ok_write(message, id, name)
  return { status = 0, message = message, count = 1, recordId = id, recordName = name or "" }
end

VERB.getRecords = function(self, node, user)
  local ins = w_table(node.instructions, "instructions") or {}
  local letter = w_letter(ins.recordtype, "recordtype")
  local kind = W.record_kinds[letter]
  local with_custom = w_bool(ins.includecustomfields, "includecustomfields")
  local recordid = w_int(ins.recordid, "recordid")
  if recordid and recordid ~= 0 then
    local rec = kind and self:record(kind, recordid)
    if rec and (kind ~= "applications" or self:is_placement(rec)) then
      return ok_read({ self:item(kind, rec, with_custom) })
    end
    return ok_read({})
  end
  local state = lower(w_str(ins.state, "state") or "")
  if state ~= "" and state ~= "open" and state ~= "won" and state ~= "closed" then
    invalid("unknown state '%s' (use open, won or closed)", state)
  end
  local search = lower(w_str(ins.searchtext, "searchtext") or "")
  local mine = w_bool(ins.onlymyrecords, "onlymyrecords")
  local size = w_int(ins.numrecords, "numrecords") or 0
  if size < 0 then invalid("'numrecords' must not be negative") end
  if size == 0 then size = self.limits.numrecords_default end
  if size > self.limits.numrecords then size = self.limits.numrecords end
  local page = w_int(ins.pagenum, "pagenum") or 0
  if page < 0 then invalid("'pagenum' must not be negative (pages count from 0)") end
  local sortfield = lower(w_str(ins.sortfield, "sortfield") or "")
  if sortfield == "" then sortfield = "id" end
  if not W.sortfields[sortfield] then invalid("unknown sortfield '%s'", sortfield) end
  local sortdir = lower(w_str(ins.sortdir, "sortdir") or "")
  if sortdir ~= "" and sortdir ~= "asc" and sortdir ~= "desc" then
    invalid("'sortdir' must be asc or desc")
  end
  local after = self:filter_time(ins.updatedafter, "updatedafter")
  local before = self:filter_time(ins.updatedbefore, "updatedbefore")
  if not kind then return ok_read({}) end
  if self.synthetic and kind == "candidates" then         -- the answer as JSON text
    return self.synthetic:page({ page = page, size = size, sortfield = sortfield,
      desc = sortdir == "desc", after = after, before = before, search = search,
      user = mine and user or nil, with_custom = with_custom })
  end

  local list = self:sorted(kind, sortfield, sortdir == "desc")
  local first, last = page * size + 1, page * size + size
  local results, n = {}, 0
  local namef = NAMES[kind]
  for _, rec in ipairs(list) do
    local keep = true
    local lu = rec.lastupdated or ""
    if after and lu < after then keep = false
    elseif before and lu >= before then keep = false
    elseif kind == "applications" and not self:is_placement(rec) then keep = false
    elseif state ~= "" and kind == "jobs" and self:job_state(rec) ~= state then keep = false
    elseif search ~= "" and not find(lower(namef(self, rec)), search, 1, true) then keep = false
    elseif mine and not self:is_mine(kind, rec, user) then keep = false end
    if keep then
      n = n + 1
      if n > last then break end
      if n >= first then results[#results + 1] = self:item(kind, rec, with_custom) end
    end
  end
  return ok_read(results)
end

function Emu:is_mine(kind, rec, user)
  if kind == "jobs" then
    for _, o in ipairs(rec.owners or {}) do if o.userid == user.id then return true end end
    return false
  elseif kind == "candidates" then
    return rec.ownerid == user.id
  elseif kind == "activities" then
    return rec.userid == user.id
  elseif kind == "applications" then
    local j = self.idx.jobs[rec.opportunityid]
    return j ~= nil and self:is_mine("jobs", j, user)
  end
  return true
end

local INDIVIDUAL_KIND = { O = "jobs", R = "candidates", A = "activities", L = false, P = false,
                          T = false }

VERB.getIndividualRecord = function(self, node)
  local ins = w_table(node.instructions, "instructions") or {}
  local letter = w_letter(ins.recordtype, "recordtype")
  local kind = INDIVIDUAL_KIND[letter]
  if kind == nil then invalid("getIndividualRecord does not take recordtype '%s'", letter) end
  local id = w_int(ins.recordid, "recordid")
  if not id then invalid("'recordid' is required") end
  local rec = kind and self:record(kind, id)
  if not rec then invalid("record %s %d not found", letter, id) end
  return ok_read({ INDIVIDUAL[kind](self, rec) })
end

local UPDATE_KIND = { R = "candidates", O = "jobs", X = "applications" }

VERB.updateRecord = function(self, node)
  local ins = w_table(node.instructions, "instructions") or {}
  local letter = w_letter(ins.recordtype, "recordtype")
  local kind = UPDATE_KIND[letter]
  if not kind then invalid("updateRecord does not take recordtype '%s'", letter) end
  local id = w_int(ins.recordid, "recordid")
  if not id then invalid("'recordid' is required") end
  local rec = self.idx[kind][id]
  if not rec then invalid("record %s %d not found", letter, id) end
  -- check everything first: a rejected request changes nothing
  local changes = {}
  local columns = W.columns[letter]
  for i, u in ipairs(w_list(node.updates, "updates")) do
    u = lowerkeys(u)
    local col = lower(w_str(u.column, "updates[].column") or "")
    local spec = columns[col]
    if not spec then invalid("unknown column '%s' for recordtype %s", col, letter) end
    local value = w_str(u.value, "updates[].value")
    if value == nil then invalid("updates[%d] has no value", i - 1) end
    changes[#changes + 1] = { spec[1], self:column_value(col, spec[2], value) }
  end
  local custom = self:read_custom(node.customfields, W.associations[letter], "customfields")
  local skills = {}
  for _, s in ipairs(w_list(node.skills, "skills")) do
    if letter ~= "R" then invalid("skills apply to resources only") end
    s = lowerkeys(s)
    local sid = w_int(s.id, "skills[].id")
    if not sid or not self.lk.skills.by_id[sid] then invalid("unknown skill %s", tostring(s.id)) end
    skills[tostring(sid)] = w_str(s.value, "skills[].value") or ""
  end
  local any = #changes > 0 or next(custom) ~= nil or next(skills) ~= nil
  for _, c in ipairs(changes) do
    if c[1] == "email" then self:set_email(rec, c[2]) else rec[c[1]] = c[2] end
  end
  apply_custom(rec, custom)
  if next(skills) then
    rec.skills = rec.skills or {}
    for k, v in pairs(skills) do rec.skills[k] = v ~= "" and v or nil end
  end
  if any then
    rec.lastupdated = self:local_time()
    self:touched(kind, rec)
  end
  return ok_write("updated", rec.id, NAMES[kind](self, rec))
end

-- "14:05", "2:05 PM", "2:05pm", "14:05:30" -> "HH:MM", or nil.
local function parse_clock(s)
  local h, m, ap = match(s, "^%s*(%d%d?):(%d%d)%s*([AaPp])%.?[Mm]%.?%s*$")
  if h then
    h, m = tonumber(h), tonumber(m)
    if h < 1 or h > 12 or m > 59 then return nil end
    if lower(ap) == "a" then h = h % 12 else h = h % 12 + 12 end
    return fmt("%02d:%02d", h, m)
  end
  local rest
  h, m, rest = match(s, "^%s*(%d%d?):(%d%d)(.*)$")
  if not h or not (match(rest, "^%s*$") or match(rest, "^:%d%d%s*$")) then return nil end
  h, m = tonumber(h), tonumber(m)
  if h > 23 or m > 59 then return nil end
  return fmt("%02d:%02d", h, m)
end

local LINK_KIND = { R = "candidates", O = "jobs", C = "clients", N = "contacts", L = false,
                    P = false, T = false }

VERB.createActivity = function(self, node, user)
  local act = w_table(node.activity, "activity")
  if not act then invalid("'activity' is required") end
  local letter = w_letter(act.linkrecordtype, "linkRecordType")
  local kind = LINK_KIND[letter]
  if kind == nil then invalid("activities cannot link to recordtype '%s'", letter) end
  local link_id = w_int(act.linkrecordid, "linkRecordId")
  if not link_id then invalid("'linkRecordId' is required") end
  local linked = kind and self.idx[kind][link_id]
  if not linked then invalid("record %s %d not found", letter, link_id) end
  local a = { linkrecordtype = letter, linkrecordid = link_id }
  if letter == "R" then a.resourceid = link_id
  elseif letter == "O" then a.opportunityid = link_id
  elseif letter == "C" then a.clientid = link_id
  elseif letter == "N" then a.contactid, a.clientid = link_id, linked.clientid end
  local orid = w_int(act.opportunityresourceid, "opportunityResourceId")
  if orid then
    local app = self.idx.applications[orid]
    if not app then invalid("opportunity-resource %d not found", orid) end
    if a.resourceid and app.resourceid ~= a.resourceid then
      invalid("opportunity-resource %d does not belong to resource %d", orid, a.resourceid)
    end
    if a.opportunityid and app.opportunityid ~= a.opportunityid then
      invalid("opportunity-resource %d does not belong to opportunity %d", orid, a.opportunityid)
    end
    a.opportunityresourceid, a.resourceid, a.opportunityid = orid, app.resourceid, app.opportunityid
  end
  local oid = w_int(act.opportunityid, "opportunityId")
  if oid then
    if not self.idx.jobs[oid] then invalid("opportunity %d not found", oid) end
    if a.opportunityid and a.opportunityid ~= oid then
      invalid("opportunityId %d does not match the linked records", oid)
    end
    a.opportunityid = oid
  end
  if a.opportunityid and not a.clientid then
    local j = self.idx.jobs[a.opportunityid]
    a.clientid, a.contactid = j.clientid, a.contactid or j.contactid
  end
  local tname = w_str(act.type, "type") or "Note"
  local te = self.lk.activityTypes.by_name[lower(tname)]
  if not te then invalid("unknown activity type '%s'", tname) end
  a.typeid = te.id
  local sname = w_str(act.status, "status") or "Completed"
  local se = self.lk.activityStatuses.by_name[lower(sname)]
  if not se then invalid("unknown activity status '%s'", sname) end
  a.statusid = se.id
  local now_local = self:local_time()
  local date = w_str(act.date, "date")
  if present(date) then
    a.date = match(date, "^%d%d%d%d%-%d%d%-%d%d$") and parse_date(date)
    if not a.date then invalid("'date' must be YYYY-MM-DD") end
  else
    a.date = sub(now_local, 1, 10)
  end
  local time = w_str(act.time, "time")
  if present(time) then
    a.time = parse_clock(time)
    if not a.time then invalid("'time' must be HH:MM or h:mm AM/PM") end
  else
    a.time = sub(now_local, 12, 16)
  end
  local uid = w_int(act.userid, "userId")
  if uid and not self.idx.users[uid] then invalid("user %d not found", uid) end
  a.userid = uid or user.id
  a.subject = w_str(act.subject, "subject") or ""
  a.note = w_str(act.note, "note") or ""
  a.priority = w_str(act.priority, "priority") or ""
  a.contacttype = w_str(act.contacttype, "contactType") or ""
  -- custom fields: any defined field is accepted here (the contract's own samples send a
  -- resource field with an activity); values are checked for the field's type
  local custom = self:read_custom(node.customfields, nil, "customfields")
  for k, v in pairs(self:read_custom(act.customfields, nil, "activity.customfields")) do
    custom[k] = v
  end
  a.custom = {}
  apply_custom(a, custom)
  a.lastupdated = now_local
  self:insert("activities", a)
  return ok_write("created", a.id, a.subject)
end

local LISTS = { short = true, long = true }
local BY = { user = true, resource = true }

function Emu:stage_named(name)
  local e = self.lk.opportunityResourceStatuses.by_name[lower(name)]
  if e then return e.id end
  local first = self.data.lists.opportunityResourceStatuses[1]
  return first and first.id or nil
end

-- Creates the application of (job, candidate), or answers status 3 when it exists [INF].
function Emu:apply(job, cand, list, by, source)
  local existing = self.app_pair[job.id .. ":" .. cand.id]
  if existing then
    reject(3, W.messages[3],
           { recordId = existing.id, recordName = self:application_name(existing) })
  end
  local now_local = self:local_time()
  local a = self:insert("applications", {
    opportunityid = job.id, resourceid = cand.id, statusid = self:stage_named(W.first_stage[by]),
    list = list, shortlistedby = by, source = source or "", dateassigned = now_local,
    active = "y", lastupdated = now_local, custom = {},
  })
  self:index_application(a)
  return a
end

local function read_list_by(ins)
  local list = lower(w_str(ins.assigntolist, "assigntolist") or "")
  if list == "" then list = "short" end
  if not LISTS[list] then invalid("'assigntolist' must be short or long") end
  local by = lower(w_str(ins.shortlistedby, "shortlistedby") or "")
  if by == "" then by = "user" end
  if not BY[by] then invalid("'shortlistedby' must be user or resource") end
  return list, by
end

VERB.resourceApplication = function(self, node)
  local ins = w_table(node.instructions, "instructions") or {}
  local jid = w_int(ins.opportunityid, "opportunityid")
  local rid = w_int(ins.resourceid, "resourceid")
  if not jid then invalid("'opportunityid' is required") end
  if not rid then invalid("'resourceid' is required") end
  local job = self.idx.jobs[jid]
  if not job then invalid("opportunity %d not found", jid) end
  local cand = self.idx.candidates[rid]
  if not cand then invalid("resource %d not found", rid) end
  local list, by = read_list_by(ins)
  local a = self:apply(job, cand, list, by, w_str(ins.source, "source"))
  return ok_write("created", a.id, self:application_name(a))
end

VERB.createResource = function(self, node)
  local res = w_table(node.resource, "resource")
  if not res then invalid("'resource' is required") end
  local ins = w_table(node.instructions, "instructions") or {}
  local overwrite = w_bool(ins.overwriteresource, "overwriteresource") or false
  local jid = w_int(ins.assigntoopportunity, "assigntoopportunity")
  if jid == 0 then jid = nil end
  local job = jid and self.idx.jobs[jid]
  if jid and not job then invalid("opportunity %d not found", jid) end
  local list, by = read_list_by(ins)
  local fields = {}
  for wire, field in pairs(W.resource_fields) do
    local v = w_str(res[wire], wire)
    if present(v) then fields[field] = v end
  end
  local full = w_str(res.fullname, "fullname")
  if present(full) and not fields.firstname and not fields.lastname then
    fields.firstname, fields.lastname = match(full, "^%s*(%S+)%s+(.-)%s*$")
    if not fields.firstname then fields.firstname = match(full, "^%s*(.-)%s*$") end
  end
  if not fields.firstname and not fields.lastname then
    invalid("a resource needs firstname, lastname or fullname")
  end
  local statusname = w_str(res.status, "status")
  local statusid
  if present(statusname) then
    local e = self.lk.resourceStatuses.by_name[lower(statusname)]
    if not e then invalid("unknown resource status '%s'", statusname) end
    statusid = e.id
  end
  local custom = self:read_custom(res.customfields or node.customfields, "Resource", "customfields")
  local now_local = self:local_time()
  local match_rec = fields.email and self.emails[lower(fields.email)]
  if match_rec then
    if not overwrite then
      reject(3, W.messages[3], { recordId = match_rec.id, recordName = person(match_rec) })
    end
    for k, v in pairs(fields) do
      if k == "email" then self:set_email(match_rec, v) else match_rec[k] = v end
    end
    if statusid then match_rec.statusid = statusid end
    apply_custom(match_rec, custom)
    match_rec.lastupdated = now_local
    self:touched("candidates", match_rec)
    if job and not self.app_pair[job.id .. ":" .. match_rec.id] then
      self:apply(job, match_rec, list, by, fields.source)
    end
    return ok_write("updated", match_rec.id, person(match_rec))
  end
  local c = { statusid = statusid or (self.data.lists.resourceStatuses[1] or {}).id,
              dateopened = now_local, lastupdated = now_local, custom = {} }
  for k, v in pairs(fields) do c[k] = v end
  apply_custom(c, custom)
  c.email = nil
  self:insert("candidates", c)
  self:set_email(c, fields.email)
  if job then self:apply(job, c, list, by, fields.source) end
  return ok_write("created", c.id, person(c))
end

local ATTACH_KIND = { R = "candidates", O = "jobs", C = "clients", N = "contacts",
                      A = "activities", X = "applications", L = false, P = false, T = false }

VERB.attachDocument = function(self, node)
  local file = w_table(node.file, "file")
  if not file then invalid("'file' is required") end
  local filename = w_str(file.filename, "filename")
  if not present(filename) then invalid("'filename' is required") end
  local letter = w_letter(file.recordtype, "recordType")
  local id = w_int(file.recordid, "recordId")
  if not id then invalid("'recordId' is required") end
  local kind = ATTACH_KIND[letter]
  if not (kind and self.idx[kind][id]) then invalid("record %s %d not found", letter, id) end
  local data = w_str(file.data, "data")
  local clean = data and b64clean(data)
  if not clean then invalid("'data' must be base64") end
  local primary = w_bool(file.primary, "primary") or false
  local dtype = w_str(file.documenttype, "documentType")
  if not present(dtype) then dtype = "General" end
  local ext = lower(match(filename, "%.([%w]+)$") or "")
  if primary then
    -- one primary document of a type per record
    for _, d in ipairs(self.data.documents) do
      if d.recordtype == letter and d.recordid == id and lower(d.documenttype) == lower(dtype) then
        d.primary = false
      end
    end
  end
  local doc = self:insert("documents", {
    recordtype = letter, recordid = id, filename = filename, documenttype = dtype,
    primary = primary, contenttype = W.content_types[ext] or "application/octet-stream",
    data = clean, dateadded = self:local_time(),
  })
  return ok_write("created", doc.id, filename)
end

VERB.checkLogon = function()
  return { status = 0, message = W.messages[0] }
end

VERB.getSettingsData = function(self)
  local out = { status = 0, message = W.messages[0] }
  for _, name in ipairs(W.settings_lists) do
    local l = {}
    for i, e in ipairs(self.data.lists[name] or {}) do l[i] = { Id = e.id, Name = e.name } end
    out[name] = arr(l)
  end
  local users = {}
  for i, u in ipairs(self.data.users) do
    users[i] = { UserId = u.id, Username = u.username or u.email or "", Email = u.email or "",
                 LastLogon = nz(u.lastlogon), Active = u.active ~= false }
  end
  out.users = arr(users)
  local fields = {}
  for i, f in ipairs(self.data.customfields) do
    fields[i] = { Association = f.association, Id = f.id, Name = f.name, Type = f.type,
                  ListId = nz(f.listid) }
  end
  out.customFields = arr(fields)
  local lists = {}
  for i, l in ipairs(self.data.customfieldlists) do
    local items = {}
    for j, it in ipairs(l.items or {}) do items[j] = { Id = it.id, Name = it.name } end
    lists[i] = { Id = l.id, Name = l.name, Items = arr(items) }
  end
  out.customFieldLists = arr(lists)
  return out
end

-- ---- widget API: envelopes and credentials ---------------------------------------------------

local function envelope(shape, status, message, extra)
  local e = { status = status, message = message }
  if shape == "read" then
    e.count, e.results = 0, EMPTY
  elseif shape == "write" then
    e.count, e.recordId, e.recordName = 0, 0, ""
  end
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local VERB_BY_LOWER = {}
for name, shape in pairs(W.verbs) do VERB_BY_LOWER[lower(name)] = { name = name, shape = shape } end

function Emu:api_user()
  if self.username then return self.logins[lower(self.username)] end
  return self.data.users[1]
end

local function secret_ok(given, expected)
  return type(given) == "string" and given ~= "" and expected ~= nil and given == expected
end

-- The user a widget request acts as, or nil and the widget status (1 unknown, 2 inactive).
function Emu:widget_user(creds, headers)
  local user
  if type(creds) == "table" then
    local c = lowerkeys(creds)
    local name = type(c.username) == "string" and c.username or ""
    if secret_ok(c.oauthtoken, self.api_token) then
      user = self:api_user()
    elseif name ~= "" then
      local u = self.logins[lower(name)]
      if u and (secret_ok(c.apikey, self.apikey) or secret_ok(c.password, u.password)) then
        user = u
      end
    end
  end
  local auth = headers.authorization
  if not user and type(auth) == "string" then
    local token = match(auth, "^[Bb]earer%s+(%S+)%s*$")
    local basic = match(auth, "^[Bb]asic%s+(%S+)%s*$")
    if token and secret_ok(token, self.api_token) then
      user = self:api_user()
    elseif basic then
      local pair = b64decode(basic)
      local name, secret = match(pair or "", "^([^:]*):(.*)$")
      local u = name and self.logins[lower(name)]
      if u and (secret_ok(secret, self.apikey) or secret_ok(secret, u.password)) then user = u end
    end
  end
  if not user then return nil, 1 end
  if user.active == false then return nil, 2 end
  return user
end

local JSON_HEADERS = function() return { ["content-type"] = W.content.json } end

function Emu:widget(verbname, headers, body)
  local verb = VERB_BY_LOWER[lower(verbname)]
  -- t: an answer table, or its JSON text (the synthetic source's pages)
  local function answer(t) return 200, JSON_HEADERS(), type(t) == "string" and t or encode(t) end
  if not verb then
    return answer(envelope("plain", 99, "invalid request: unknown verb '" .. verbname .. "'"))
  end
  local ok, doc = pcall(json.decode, body)
  if not ok or type(doc) ~= "table" then
    return answer(envelope(verb.shape, 99, "invalid request: the body is not a JSON object"))
  end
  local root = lowerkeys(doc).trackerrms
  if type(root) ~= "table" then
    return answer(envelope(verb.shape, 99, "invalid request: no 'trackerrms' node"))
  end
  root = lowerkeys(root)
  local node = root[lower(verb.name)]
  if node == nil then
    -- the server dispatches on the URL [OBS]: a lone node is taken whatever its key says
    local k, v = next(root)
    if k ~= nil and next(root, k) == nil then node = v end
  end
  if type(node) ~= "table" then
    return answer(envelope(verb.shape, 99, "invalid request: no '" .. verb.name .. "' node"))
  end
  node = lowerkeys(node)
  local user, status = self:widget_user(node.credentials, headers)
  if not user then return answer(envelope(verb.shape, status, W.messages[status])) end
  if self.synthetic and verb.shape == "write" then
    return answer(envelope(verb.shape, 99, synthetic.READ_ONLY))
  end
  local okv, res = pcall(VERB[verb.name], self, node, user)
  if okv then return answer(res) end
  if type(res) == "table" and res.widget then
    return answer(envelope(verb.shape, res.status, res.message, res.extra))
  end
  error(res, 0)
end

-- ---- REST API ------------------------------------------------------------------------------

local function fail(status, detail, errors, headers)
  error({ rest = true, status = status, detail = detail, errors = errors, headers = headers }, 0)
end

function Emu:trace_id()
  local h = fnv(tostring(self.requests), fnv(self.timezone))
  return fmt("00-%016x%016x-%016x-00", h, fnv("t", h), fnv("s", h))
end

function Emu:problem(status, detail, errors, headers)
  local p = W.problems[status] or W.problems[500]
  local body = { type = p[1], title = errors and W.validation_title or p[2], status = status,
                 traceId = self:trace_id(), detail = detail, errors = errors }
  local h = { ["content-type"] = W.content.problem }
  for k, v in pairs(headers or {}) do h[k] = v end
  return status, h, encode(body)
end

local function rest_body(body)
  if body == "" then
    fail(400, "A non-empty request body is required.",
         { [""] = { "A non-empty request body is required." } })
  end
  local ok, doc = pcall(json.decode, body)
  if not ok or type(doc) ~= "table" or (next(doc) ~= nil and doc[1] ~= nil) then
    fail(400, "The request body is not a JSON object.",
         { ["$"] = { "The JSON value could not be converted to the request type." } })
  end
  return lowerkeys(doc)
end

-- REST bodies are read strictly (System.Text.Json): a number must be a JSON number.
local function r_int(v, name, errors)
  if v == nil or v == NULL then return nil end
  if mtype(v) == "integer" then return v end
  errors[name] = { fmt(W.conversion_error, "System.Int32", name) }
end

function Emu:rest_time(v, name, errors)
  if v == nil or v == NULL then return nil end
  local t, zone = parse_stamp(v)
  if not t then
    errors[name] = { fmt(W.conversion_error, "System.DateTime", name) }
    return nil
  end
  if zone then return self.toloc(t - zone) end
  return naive(t)
end

function Emu:rest_auth(headers, now)
  local auth = headers.authorization
  local token = type(auth) == "string" and match(auth, "^[Bb]earer%s+(%S+)%s*$")
  local wa = W.www_authenticate
  if not token then
    fail(401, "A bearer token is required.", nil, { ["www-authenticate"] = wa.missing })
  end
  local t = self.tokens[token]
  if not t then
    fail(401, "The token is not valid.", nil, { ["www-authenticate"] = wa.invalid })
  end
  if self.limits.jwt_supersede and t.serial ~= self.token_serial then
    fail(401, "The token was superseded by a newer exchange.", nil,
         { ["www-authenticate"] = wa.revoked })
  end
  if now >= t.exp then
    fail(401, "The token expired.", nil,
         { ["www-authenticate"] = fmt(wa.expired, iso_utc(t.exp)) })
  end
end

local REST = {}

REST.exchange_token = function(self, _, body, now)
  local doc = rest_body(body)
  local given = doc.bearertoken
  if given == nil or given == NULL or given == "" then
    fail(400, "The bearerToken field is required.",
         { bearerToken = { "The bearerToken field is required." } })
  end
  if type(given) ~= "string" then
    fail(400, "bearerToken must be a string.",
         { bearerToken = { fmt(W.conversion_error, "System.String", "bearerToken") } })
  end
  if not secret_ok(given, self.api_token) then
    fail(401, "The API token is not valid.")
  end
  self.token_serial = self.token_serial + 1
  local iat = floor(now)
  local exp = iat + self.limits.jwt_lifetime
  local header = b64url('{"alg":"HS256","typ":"JWT"}')
  local user = self:api_user()
  local sub_claim = gsub(user and user.username or "api", '["\\]', "")
  local payload = b64url(fmt('{"sub":"%s","jti":"%d","iat":%d,"exp":%d,"iss":"tracker-emulator"}',
                             sub_claim, self.token_serial, iat, exp))
  local signed = header .. "." .. payload
  local sig = {}
  local h = fnv(signed, fnv(self.api_token))
  for i = 1, 4 do
    h = fnv(signed, h + i)
    sig[i] = string.pack(">i8", h)
  end
  local token = signed .. "." .. b64url(concat(sig))
  self.tokens[token] = { serial = self.token_serial, exp = exp }
  return 200, JSON_HEADERS(), encode({ token = token, expiration = iso_utc(exp) })
end

REST.paged_search = function(self, headers, body, now)
  self:rest_auth(headers, now)
  local doc = rest_body(body)
  local errors = {}
  local page = r_int(doc.pagenumber, "pageNumber", errors) or 1
  local size = r_int(doc.pagesize, "pageSize", errors) or self.limits.page_size_default
  local jid = r_int(doc.opportunityid, "opportunityId", errors)
  local rid = r_int(doc.resourceid, "resourceId", errors)
  local sid = r_int(doc.opportunityresourcestatusid, "opportunityResourceStatusId", errors)
  local after = self:rest_time(doc.updatedafter, "updatedAfter", errors)
  local before = self:rest_time(doc.updatedbefore, "updatedBefore", errors)
  if not errors.pageNumber and page < 1 then
    errors.pageNumber = { "pageNumber must be 1 or more (pages count from 1)." }
  end
  if not errors.pageSize and size < 1 then errors.pageSize = { "pageSize must be 1 or more." } end
  if next(errors) then fail(400, "The request is not valid.", errors) end
  if size > self.limits.page_size then size = self.limits.page_size end
  if self.faults.page_cap and size > self.faults.page_cap then size = self.faults.page_cap end
  local list = self:sorted("applications", "lastupdateddatetime", false)
  local first, last = (page - 1) * size + 1, page * size
  local items, total = {}, 0
  for _, a in ipairs(list) do
    local lu = a.lastupdated or ""
    if (not jid or a.opportunityid == jid) and (not rid or a.resourceid == rid)
        and (not sid or a.statusid == sid) and (not after or lu >= after)
        and (not before or lu < before) then
      total = total + 1
      if total >= first and total <= last then items[#items + 1] = self:rest_application(a) end
    end
  end
  local pages = (total + size - 1) // size
  return 200, JSON_HEADERS(), encode({
    opportunityResources = arr(items), totalCount = total, totalPages = pages,
    pageNumber = page, pageSize = size, hasNextPage = page < pages,
  })
end

local function path_id(s, name)
  local n = match(s, "^%d+$") and tointeger(tonumber(s))
  if not n or n > 2147483647 then
    local why = fmt("The value '%s' is not valid.", s)
    fail(400, why, { [name] = { why } })
  end
  return n
end

REST.get_application = function(self, headers, _, now, sid)
  self:rest_auth(headers, now)
  local id = path_id(sid, "id")
  local a = self.idx.applications[id]
  if not a then fail(404, fmt("Opportunity resource %d was not found.", id)) end
  return 200, JSON_HEADERS(), encode(self:rest_application(a))
end

function Emu:resource_documents(id)
  local out = {}
  for _, d in ipairs(self.data.documents) do
    if d.recordtype == "R" and d.recordid == id then out[#out + 1] = d end
  end
  return out
end

REST.list_documents = function(self, headers, _, now, sid)
  self:rest_auth(headers, now)
  local id = path_id(sid, "id")
  if not self.idx.candidates[id] then fail(404, fmt("Resource %d was not found.", id)) end
  local out = {}
  for i, d in ipairs(self:resource_documents(id)) do
    out[i] = { documentId = d.id, filename = d.filename, documentType = d.documenttype,
               isPrimary = d.primary == true, dateAdded = rest_stamp(d.dateadded) }
  end
  return 200, JSON_HEADERS(), encode(arr(out))
end

REST.get_document = function(self, headers, _, now, sid, sdoc)
  self:rest_auth(headers, now)
  local id = path_id(sid, "id")
  local docid = path_id(sdoc, "documentId")
  if not self.idx.candidates[id] then fail(404, fmt("Resource %d was not found.", id)) end
  local d = self.idx.documents[docid]
  if not d or d.recordtype ~= "R" or d.recordid ~= id then
    fail(404, fmt("Document %d was not found for resource %d.", docid, id))
  end
  return 200, JSON_HEADERS(), encode({ documentId = d.id, filename = d.filename,
                                       contentType = d.contenttype, data = d.data })
end

-- Routes, matched on the lower-cased path without its query string.
local ROUTES = {
  { "^/api/widget/([^/]+)$", POST = "widget" },
  { "^/api/auth/exchangetoken$", POST = "exchange_token" },
  { "^/api/v1/opportunityresource/pagedsearch$", POST = "paged_search" },
  { "^/api/v1/opportunityresource/([^/]+)$", GET = "get_application" },
  { "^/api/v1/resource/([^/]+)/documents$", GET = "list_documents" },
  { "^/api/v1/resource/([^/]+)/documents/([^/]+)$", GET = "get_document" },
}

function Emu:route(method, path, headers, body, now)
  local lpath = lower(path)
  if #lpath > 1 then lpath = gsub(lpath, "/$", "") end
  for _, r in ipairs(ROUTES) do
    local caps = { match(lpath, r[1]) }
    if caps[1] then
      local name = r[method]
      if not name then
        local allow = {}
        for _, m in ipairs({ "GET", "POST" }) do if r[m] then allow[#allow + 1] = m end end
        return self:problem(405, fmt("%s is not allowed here.", method), nil,
                            { allow = concat(allow, ", ") })
      end
      if name == "widget" then
        -- the verb keeps its case for messages
        local verb = match(path, "^/[^/]+/[^/]+/([^/?]+)") or caps[1]
        return self:widget(verb, headers, body)
      end
      local ok, status, h, b = pcall(REST[name], self, headers, body, now, unpack(caps))
      if ok then return status, h, b end
      if type(status) == "table" and status.rest then
        return self:problem(status.status, status.detail, status.errors, status.headers)
      end
      error(status, 0)
    end
  end
  return self:problem(404, "No endpoint " .. method .. " " .. path .. ".")
end

-- ---- admin (inspection for tests) -------------------------------------------------------------

function Emu:admin_route(method, path)
  local function not_allowed(allow)
    return self:problem(405, method .. " is not allowed here.", nil, { allow = allow })
  end
  local missing = "No endpoint " .. method .. " " .. path .. "."
  if not self.admin then return self:problem(404, missing) end
  if path == "/_emulator/state" then
    if method ~= "GET" then return not_allowed("GET") end
    -- passwords stay out of what the HTTP front shows
    local state = jsonable(self.data)
    local users = {}
    for i, u in ipairs(self.data.users) do
      users[i] = jsonable(u)
      users[i].password = nil
    end
    state.users = arr(users)
    return 200, JSON_HEADERS(), encode(state)
  elseif path == "/_emulator/reset" then
    if method ~= "POST" then return not_allowed("POST") end
    self:reset()
    return 200, JSON_HEADERS(), '{"reset":true}'
  end
  return self:problem(404, missing)
end

-- ---- faults ------------------------------------------------------------------------------------

-- Sliding one-minute window: nil when the request may pass, else seconds to wait.
function Emu:rate_check(now)
  local limit = self.faults.rate_limit
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
function Emu:in_burst()
  local f = self.faults
  if self.burst_left > 0 then
    self.burst_left = self.burst_left - 1
    return true
  end
  if f.burst > 0 and self.rng.burst() < f.burst then
    self.burst_left = f.burst_length - 1
    return true
  end
  return false
end

function Emu:server_error(status)
  if status == 500 then
    return self:problem(500, "An unexpected error occurred.")
  end
  return status, { ["content-type"] = W.content.html }, W.gateway_pages[status]
end

-- Damages a processed answer as the faults say (drop, truncate, malformed), marking it.
function Emu:damage(status, headers, body)
  local f = self.faults
  local total = f.drop + f.truncate + f.malformed
  if total <= 0 then return status, headers, body end
  local u = self.rng.body()
  if u < f.drop then
    headers["x-emulator-fault"] = "drop"
    return 0, headers, ""
  elseif u < f.drop + f.truncate then
    headers["x-emulator-fault"] = "truncate"
    headers["x-emulator-full-length"] = tostring(#body)
    return status, headers, sub(body, 1, #body // 2)
  elseif u < total then
    headers["x-emulator-fault"] = "malformed"
    return status, headers, sub(body, 1, math.max(#body - 1, 0)) .. ",}"
  end
  return status, headers, body
end

function Emu:dispatch(method, path, headers, body)
  method = upper(method)
  local h = {}
  if type(headers) == "table" then
    for k, v in pairs(headers) do
      if type(k) == "string" then h[lower(k)] = v end
    end
  end
  if type(body) ~= "string" then body = "" end
  path = gsub(path, "[?#].*$", "")
  if sub(path, 1, 11) == "/_emulator/" then return self:admin_route(method, path) end
  self.requests = self.requests + 1
  local f = self.faults
  local now = self:now()
  local delay = 0
  if f.latency then
    local lo, hi = f.latency[1], f.latency[2]
    delay = hi > lo and lo + self.rng.latency(hi - lo + 1) - 1 or lo
  end
  local status, rh, rb
  local wait = self:rate_check(now)
  if wait then
    local why = fmt("Rate limit of %d requests a minute exceeded.", f.rate_limit)
    status, rh, rb = self:problem(429, why, nil, { ["retry-after"] = tostring(wait) })
  elseif self:in_burst() then
    status, rh, rb = self:problem(429, "Too many requests: try again shortly.", nil,
                                  { ["retry-after"] = "1" })
  elseif f.errors and f.errors.rate > 0 and self.rng.errors() < f.errors.rate then
    local statuses = f.errors.statuses
    status, rh, rb = self:server_error(statuses[self.rng.errors(#statuses)])
  else
    status, rh, rb = self:route(method, path, h, body, now)
    status, rh, rb = self:damage(status, rh, rb)
  end
  if delay > 0 then rh["x-emulator-delay-ms"] = tostring(delay) end
  return status, rh, rb
end

function Emu:handle(method, path, headers, body)
  if type(method) ~= "string" then error("emulator:handle: method must be a string", 2) end
  if type(path) ~= "string" then error("emulator:handle: path must be a string", 2) end
  local ok, status, h, b = pcall(self.dispatch, self, method, path, headers, body)
  if ok then return status, h, b end
  local why = "internal emulator error: " .. tostring(status)
  local ok2, s2, h2, b2 = pcall(self.problem, self, 500, why)
  if ok2 then return s2, h2, b2 end
  return 500, { ["content-type"] = W.content.problem },
         '{"type":"about:blank","title":"Internal Server Error","status":500}'
end

-- The internals tracker.emulator_synthetic builds on (it cannot require this module: a loop).
KIT = { encode = encode, ok_read = ok_read, reject = reject, generate = M.generate,
        naive = naive, parse_stamp = parse_stamp, ascii_fold = ascii_fold,
        first_names = FIRST, last_names = LAST }

-- The wire tables, read-only in spirit: specs and docs quote them.
M.wire = W
M.limits = LIMITS

return M
