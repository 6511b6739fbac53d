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
-- seed); emulator.from_json(text) -> data; emulator.from_parts(parts, where) -> the data
-- emu:parts(true) gave (tracker.emulator.model); emulator.schema_from_json(text [, where]) -> the
-- metadata of a schema file (`trk schema export`), for generate{ schema = } (a bad file raises
-- "where: the place in the file: what is wrong"). An emu: handle(method, path, headers, body),
-- load(data), save() -> a copy of the data, to_json(), parts([all]) -> the data as JSON
-- texts by part (tracker.emulator.model), state() -> the live data (for
-- assertions), stages() -> the application stages as { id, name }, get(kind, id), reset()
-- (back to the data last loaded), set_faults(faults),
-- now() -> the emulator's epoch (clock + skew), local_time([epoch]) -> its naive local time.
-- Data kinds: users, clients, contacts, jobs, candidates, applications, activities, documents,
-- plus lists (lookup lists), customfields and customfieldlists.
--
-- Options of emulator.new{...} (all optional):
--   timezone   the database's IANA zone (default: data.timezone, else "UTC"). Tracker stores and
--              answers naive local times; so does the emulator, in this zone.
--   apikey     the database's widget API key (credentials apikey + username; in the evidence
--              dialect an apikey alone, acting as `username`).
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
--              about half a millisecond at any depth (tracker.emulator.synthetic). Items look
--              exactly like the normal candidates; the metadata is emulator.generate{ seed = S }'s
--              (with schema = M, a schema's metadata: emulator.schema_from_json, the schema's).
--              getRecords R sorts by id or lastupdateddatetime only (else 99) and answers
--              searchtext and onlymyrecords by a scan (slow: O(N)); writes answer 99; other
--              record types and the REST API answer as an empty database; state() and to_json()
--              hold the metadata only.
--   admin      true serves GET /_emulator/state and POST /_emulator/reset (else they are 404).
--   dialect    "evidence" or "rich" (default: DEFAULT of tracker.emulator.dialects): how
--              the answers are shaped where Tracker's evidence and trk's first inferences
--              differ. rich answers as docs/tracker-api.md §1-§8 infer; evidence as its §9
--              shows Tracker answering, and gives nothing the evidence does not. The rows of
--              tracker.emulator.dialects, each with the evidence it stands on, are every
--              difference (docs/emulator.md lists them):
--                item_timestamp          top-level lastupdateddatetime on getRecords items and
--                                        getIndividualRecord O and R (evidence: none)
--                item_text_customfields  `text` and `customfields` on every getRecords item
--                                        (evidence) or customfields when asked (rich)
--                settings_stages         getSettingsData lists opportunityResourceStatuses
--                                        (rich) or answers namingConventions, accessRights
--                                        and count instead (evidence)
--                users_active            getSettingsData users[].Active "True"/"False"
--                                        (evidence) or a boolean (rich)
--                application_answer      resourceApplication: {status, message, count: 0}
--                                        (evidence) or with recordId and recordName (rich)
--                exists_record_id        status 3 answers carry the existing recordId (rich)
--                write_messages          "success" for updateRecord, createActivity,
--                                        attachDocument (evidence) or "created"/"updated"
--                rest_search             POST /api/v1/OpportunityResource/Search, 10 a page by
--                                        id, filters ignored (evidence) or /PagedSearch (rich)
--                widget_page_cap         getRecords items a page at most: 100 or 500
--                activity_types          Telephone, InMail, Email, Meeting, Note; Completed,
--                                        Closed added to the lists when data loads (evidence)
--                update_kinds            updateRecord on R, O (with its rates), X, A, C, N, L
--                                        in both; O's publishworktype too (evidence)
--                settings_activity_lists getSettingsData lists activityTypes and
--                                        activityStatuses (rich only)
--                unknown_individual      getIndividualRecord of an unknown id: status 0 and no
--                                        results (evidence) or 99 (rich)
--                credentials             an apikey alone acts as the API user (evidence), or
--                                        needs a username (rich)
--                tag_column              getIndividualRecord R shows `tag` (rich only)
--                rest_rows               OpportunityResource rows as seen (rates as strings, no
--                                        lastUpdatedDateTime, customFields on GET only) or as
--                                        inferred
--                field_max_length        getSettingsData gives a text field a MaxLength, and
--                                        longer text is refused (rich only)
--              emu.dialect holds the rows' values for the chosen dialect, emu.dialect_name its
--              name. Faults, latency, the rate limit, synthetic mode and the admin paths work
--              in every dialect.
--   limits     overrides of LIMITS below.
--   faults     the faults below (tracker.emulator.faults applies them).
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
--   page_cap    REST searches (PagedSearch, Search) and widget getRecords return at most this
--               many items a page whatever pageSize or numrecords says (a server whose cap is
--               below trk's page) (live Tracker's REST: 10); pageSize and totalPages in a REST
--               answer report the cap. It applies on top of the dialect's own caps.
--   clock_skew  seconds added to the clock (stored times, token expiry, rate window).
-- Requests to /_emulator/* are never faulted, limited or authenticated.
--
-- The parts, in scripts/tracker/emulator/ (each says more in its header):
--   model      the database in memory and its indexes; an emu is a model
--   widget     the widget API: its verbs, credentials and envelopes
--   items      records as the widget API shows them (getRecords, getIndividualRecord)
--   rest       the REST API: token exchange, applications, documents
--   problem    RFC 7807 problem answers
--   faults     checking the faults, and the dice that apply them
--   generator  emulator.generate;  words  the word lists it draws from
--   synthetic  the synthetic mode's source of computed candidates
--   schema     record kinds, first ids and the metadata every database starts with
--   dialects   the table of differences between the evidence and rich dialects
--   wire       every name Tracker uses (emulator.wire)
--   localtime, json_out, base64, random, util
--              naive local times; JSON as the emulator writes it; base64; the seeded
--              generator and hash; small shared helpers
-- This module is the public front: the options above, the emulator object, and the order in
-- which a request meets the admin paths, the faults and the routes.

local json = require "json"
local dialects = require "tracker.emulator.dialects"
local faults = require "tracker.emulator.faults"
local generator = require "tracker.emulator.generator"
local json_out = require "tracker.emulator.json_out"
local localtime = require "tracker.emulator.localtime"
local model = require "tracker.emulator.model"
local problem = require "tracker.emulator.problem"
local rest = require "tracker.emulator.rest"
local schema = require "tracker.emulator.schema"
local synthetic = require "tracker.emulator.synthetic"
local util = require "tracker.emulator.util"
local W = require "tracker.emulator.wire"
local widget = require "tracker.emulator.widget"

local M = {}

local type, pairs, ipairs, tostring, error, pcall, setmetatable =
      type, pairs, ipairs, tostring, error, pcall, setmetatable
local mtype = math.type
local fmt, sub, lower, upper, match, gsub =
      string.format, string.sub, string.lower, string.upper, string.match, string.gsub
local concat, unpack = table.concat, table.unpack

local arr, encode, jsonable = json_out.arr, json_out.encode, json_out.jsonable
local check_keys = util.check_keys

-- ---- tunables ------------------------------------------------------------------------------

local LIMITS = {
  numrecords = 500,            -- widget getRecords page size cap [INF: emulator default 500];
                               -- the dialect's widget_page_cap applies too
  numrecords_default = 100,    -- page size when numrecords is absent or 0
  page_size = 500,             -- REST search pageSize cap (before any page_cap fault)
  page_size_default = 25,      -- REST pageSize when absent
  jwt_lifetime = 7 * 86400,    -- seconds a JWT from ExchangeToken lives [OBS: about 7 days]
  jwt_supersede = true,        -- a newer exchange invalidates older JWTs [OBS, one source]
}

-- ---- data ------------------------------------------------------------------------------------

M.generate = generator.generate

function M.from_json(text)
  if type(text) ~= "string" then error("emulator.from_json: expected a JSON string", 2) end
  local ok, data = pcall(json.decode, text)
  if not ok or type(data) ~= "table" then
    error("emulator.from_json: not a JSON object" .. (ok and "" or ": " .. tostring(data)), 2)
  end
  return data
end

-- The database whose parts (emu:parts(true), the JSON text of each, by name) a store kept;
-- a part that is missing or not JSON raises naming it, after `where`.
function M.from_parts(parts, where)
  local data
  local function decoded(name)
    local text = parts[name]
    if type(text) ~= "string" then error(fmt("%s: the part '%s' is missing", where, name), 0) end
    local ok, v = pcall(json.decode, text)
    if not ok or type(v) ~= "table" then
      error(fmt("%s: the part '%s' is not JSON%s", where, name,
                ok and "" or ": " .. tostring(v)), 0)
    end
    return v
  end
  data = decoded("meta")
  if data[1] ~= nil then error(fmt("%s: the part 'meta' is not an object", where), 0) end
  for _, kind in ipairs(schema.KINDS) do data[kind] = decoded(kind) end
  return data
end

function M.schema_from_json(text, where)
  where = where or "schema"
  if type(text) ~= "string" then
    error("emulator.schema_from_json: expected the JSON text of a schema file", 2)
  end
  local ok, doc = pcall(json.decode, text)
  if not ok then error(fmt("%s: not JSON (%s)", where, tostring(doc)), 0) end
  return schema.metadata_of(doc, where)
end

-- ---- the emulator object ----------------------------------------------------------------------

-- An emu is a model (its data and the methods on it, tracker.emulator.model) with the
-- settings, clock and faults of one server, and its request handling.
local Emu = setmetatable({}, { __index = model.Model })
Emu.__index = Emu

local NEW_OPTS = { timezone = true, apikey = true, username = true, password = true,
  api_token = true, clock = true, faults = true, data = true, admin = true, limits = true,
  synthetic = true, dialect = true }

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
  local dialect_name = o.dialect == nil and dialects.DEFAULT or o.dialect
  local dialect = dialects.resolve(dialect_name, "emulator.new")
  local self = setmetatable({
    dialect = dialect, dialect_name = dialect_name,
    apikey = o.apikey, username = o.username, password = o.password, api_token = o.api_token,
    clock = o.clock or os.time, admin = o.admin and true or false, limits = limits,
    faults = faults.new(faults.check(o.faults, "emulator.new")),
    tokens = {}, token_serial = 0, requests = 0,     -- the REST API's JWTs; requests served
  }, Emu)
  local data = o.data or schema.base_metadata()
  local zone = o.timezone or data.timezone or "UTC"
  local okz, why = localtime.zone_valid(zone)
  if not okz then error("emulator.new: " .. tostring(why), 2) end
  self.timezone = zone
  self.toloc = localtime.localizer(zone)
  if o.synthetic ~= nil then
    self.synthetic = synthetic.new(self, o.synthetic)   -- loads its own metadata
  else
    self:load(data)
  end
  return self
end

-- What a client needs of this emulator besides its URL and credentials, as shell lines to
-- paste (trk emulator prints them): its time zone, the rate budget it allows itself, and the
-- stages (its settings may list none). Notes are comment lines of their own, so that each
-- export line pastes as it is.
function Emu:client_exports()
  local function quote(v)
    if v:match("^[%w_./:@%-]+$") then return v end
    return "'" .. v:gsub("'", "'\\''") .. "'"
  end
  local stages = {}
  for i, st in ipairs(self:stages()) do stages[i] = st.name .. "=" .. st.id end
  local rate = self.faults.rate_limit
  local lines = { "export TRACKER_TIMEZONE=" .. quote(self.timezone) }
  if rate then
    lines[#lines + 1] = "export TRACKER_RATE_LIMIT=" .. rate
  else
    lines[#lines + 1] = "# the emulator has no rate limit (--rate-limit N/min gives it one): "
                        .. "trk need not wait"
    lines[#lines + 1] = "export TRACKER_RATE_LIMIT=false"
  end
  lines[#lines + 1] = "export TRACKER_STAGES=" .. quote(table.concat(stages, ";"))
  return lines
end

function Emu:set_faults(f)
  self.faults = faults.new(faults.check(f, "emulator:set_faults"))
end

function Emu:now()
  return self.clock() + self.faults.clock_skew
end

-- The emulator's naive local time now (or at epoch), as Tracker stores it.
function Emu:local_time(epoch)
  return self.toloc(epoch or self:now())
end

-- ---- routes ----------------------------------------------------------------------------------

-- Matched on the lower-cased path without its query string: "widget", or a REST endpoint.
-- A route with `row` is the dialect's only when emu.dialect[row] is `value`; otherwise it is
-- passed over, or, with `gone`, answers 404 (the path is no endpoint in that dialect).
local ROUTES = {
  { "^/api/widget/([^/]+)$", POST = "widget" },
  { "^/api/auth/exchangetoken$", POST = "exchange_token" },
  { "^/api/v1/opportunityresource/pagedsearch$", POST = "paged_search",
    row = "rest_search", value = "PagedSearch", gone = true },
  { "^/api/v1/opportunityresource/search$", POST = "search",
    row = "rest_search", value = "Search" },
  { "^/api/v1/opportunityresource/([^/]+)$", GET = "get_application" },
  { "^/api/v1/resource/([^/]+)/documents$", GET = "list_documents" },
  { "^/api/v1/resource/([^/]+)/documents/([^/]+)$", GET = "get_document" },
}

function Emu:route(method, path, headers, body, now)
  local lpath = lower(path)
  if #lpath > 1 then lpath = gsub(lpath, "/$", "") end
  local missing = "No endpoint " .. method .. " " .. path .. "."
  for _, r in ipairs(ROUTES) do
    local caps = { match(lpath, r[1]) }
    local served = not r.row or self.dialect[r.row] == r.value
    if caps[1] and not served and r.gone then return problem.answer(self, 404, missing) end
    if caps[1] and served then
      local name = r[method]
      if not name then
        local allow = {}
        for _, m in ipairs({ "GET", "POST" }) do if r[m] then allow[#allow + 1] = m end end
        return problem.answer(self, 405, fmt("%s is not allowed here.", method), nil,
                              { allow = concat(allow, ", ") })
      end
      if name == "widget" then
        -- the verb keeps its case for messages
        local verb = match(path, "^/[^/]+/[^/]+/([^/?]+)") or caps[1]
        return widget.answer(self, verb, headers, body)
      end
      return rest.answer(self, name, headers, body, now, unpack(caps))
    end
  end
  return problem.answer(self, 404, missing)
end

-- ---- admin (inspection for tests) -------------------------------------------------------------

function Emu:admin_route(method, path)
  local function not_allowed(allow)
    return problem.answer(self, 405, method .. " is not allowed here.", nil, { allow = allow })
  end
  local missing = "No endpoint " .. method .. " " .. path .. "."
  if not self.admin then return problem.answer(self, 404, missing) end
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
    return 200, json_out.headers(), encode(state)
  elseif path == "/_emulator/reset" then
    if method ~= "POST" then return not_allowed("POST") end
    self:reset()
    return 200, json_out.headers(), '{"reset":true}'
  end
  return problem.answer(self, 404, missing)
end

-- ---- a request -------------------------------------------------------------------------------

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
  local delay = f:delay()
  local status, rh, rb = f:refuse(self, now)
  if not status then
    status, rh, rb = self:route(method, path, h, body, now)
    status, rh, rb = f:damage(status, rh, rb)
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
  local ok2, s2, h2, b2 = pcall(problem.answer, self, 500, why)
  if ok2 then return s2, h2, b2 end
  return 500, { ["content-type"] = W.content.problem },
         '{"type":"about:blank","title":"Internal Server Error","status":500}'
end

-- The wire tables, read-only in spirit: specs and docs quote them.
M.wire = W
M.dialects = dialects
M.limits = LIMITS

return M
