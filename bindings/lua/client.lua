-- client: tracker.connect and the client object: configuration, the request pipeline (rate
-- limit, auth, retries, error mapping), metadata, record streams and lookups.
--
-- Loaded by bindings/tracker.c into a private environment: scripts cannot reach this file's
-- locals, so the credentials kept in `private` never reach them either (there is no debug
-- library in trk's sandbox). Wire formats live in widget.lua and rest.lua.

local widget, rest, inprocess = import "widget", import "rest", import "inprocess"
local native = native
-- captured now, before any script holds the module table: a script that replaces
-- tracker.transport.curl later must not receive requests (they carry credentials)
local new_error, curl = tracker.error, tracker.transport.curl
local ttime = {}
for k, f in pairs(tracker.time) do ttime[k] = f end

local type, pairs, ipairs, next, tostring, tonumber, error, select, setmetatable, rawequal =
      type, pairs, ipairs, next, tostring, tonumber, error, select, setmetatable, rawequal
local tointeger, floor, min, max, random = math.tointeger, math.floor, math.min, math.max, math.random
local fmt, sub, lower, gsub, match, byte =
  string.format, string.sub, string.lower, string.gsub, string.match, string.byte
local concat, sort = table.concat, table.sort
local getenv = os.getenv
local running, yield, isyieldable = coroutine.running, coroutine.yield, coroutine.isyieldable

local M = {}

-- ---- tunables -------------------------------------------------------------------------------

local DEFAULTS = {
  rate_limit = 100,          -- requests a minute (§5: about 100 per database)
  retry_for = 120,           -- seconds a read keeps retrying before giving up
  timeout = 60,              -- seconds for one request
  connect_timeout = 10,      -- seconds to connect
  page_size = 500,           -- records a page (capped by each API's maximum)
  concurrency = 4,           -- writes in flight at once in t:batch
}
local RATE_MARGIN = 0.98     -- send at 98% of the budget: arrival jitter must not cross it
local BACKOFF_BASE = 0.5     -- first retry delay (seconds), doubled each attempt
local BACKOFF_CAP = 30       -- longest delay between two attempts
local FIRST_CONTACT_FOR = 5  -- seconds a server that never answered this client is retried:
                             -- a wrong URL or a server that is down fails fast, an outage
                             -- after the first answer is retried for retry_for
local MARGIN_HOURS = 8       -- §6: without a time zone, filters start 8 hours early
local JWT_EARLY = 60         -- re-exchange a JWT this many seconds before it expires
local POOL_MAX = 8           -- idle transports kept for reuse

local ENV = {
  region = "TRACKER_REGION", widget_url = "TRACKER_WIDGET_URL", rest_url = "TRACKER_REST_URL",
  apikey = "TRACKER_APIKEY", username = "TRACKER_USERNAME", password = "TRACKER_PASSWORD",
  api_token = "TRACKER_API_TOKEN", timezone = "TRACKER_TIMEZONE",
  rate_limit = "TRACKER_RATE_LIMIT", rejection_stage = "TRACKER_REJECTION_STAGE",
  rejection_reasons = "TRACKER_REJECTION_REASONS",
}
local SECRETS = { apikey = true, password = true, api_token = true }

-- ---- misuse ---------------------------------------------------------------------------------

-- Levenshtein distance, for "did you mean".
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = sub(a, i, i) == sub(b, j, j) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- " (did you mean 'x' or 'y'?)" for the names closest to `name`, or "" (a name that one
-- begins with counts as close: 'Prio' for 'Priority'). Exported as tracker.suggest, so every
-- "did you mean" of trk reads the same.
local function suggest(name, names)
  local best, scored = {}, {}
  local a = lower(tostring(name))
  for _, n in ipairs(names) do
    local b = lower(tostring(n))
    local d = distance(a, b)
    if #a >= 3 and (sub(b, 1, #a) == a or sub(a, 1, #b) == b) then d = min(d, 1) end
    if d <= max(2, #b // 3) then scored[#scored + 1] = { d, tostring(n) } end
  end
  sort(scored, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2]) end)
  for i = 1, min(3, #scored) do best[i] = "'" .. scored[i][2] .. "'" end
  if #best == 0 then return "" end
  return " (did you mean " .. concat(best, " or ") .. "?)"
end
M.suggest = suggest

-- Misuse raises at the script's line: the first caller outside the client's own code and
-- trk's own (the "=[trk] ..." chunks trk embeds: its drivers and the connect it hands scripts).
local getinfo = debug.getinfo
local function raise(msg)
  for level = 2, 40 do
    local info = getinfo(level, "Sl")
    if info == nil then break end
    local src = info.source
    if info.what ~= "C" and sub(src, 1, 10) ~= "=[tracker]" and sub(src, 1, 6) ~= "=[trk]" then
      msg = fmt("%s:%d: %s", info.short_src, info.currentline, msg)
      break
    end
  end
  error(msg, 0)
end

local function misuse(fname, fmtstr, ...)
  raise(fname .. ": " .. fmt(fmtstr, ...))
end

local function keys_of(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  sort(out)
  return out
end

-- Checks an options table against the allowed keys: { key = "type" | checker }.
local function options(fname, opts, allowed, arg)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    raise(fmt("%s: %s must be a table of options, got %s", fname, arg or "argument", type(opts)))
  end
  for k, v in pairs(opts) do
    local want = allowed[k]
    if want == nil then
      raise(fmt("%s: unknown option '%s'%s", fname, tostring(k), suggest(k, keys_of(allowed))))
    end
    if type(want) == "string" and want ~= "any" and type(v) ~= want then
      raise(fmt("%s: option '%s' must be a %s, got %s", fname, k, want, type(v)))
    end
  end
  return opts
end

-- ---- errors ---------------------------------------------------------------------------------

local function err(code, message, status, extra)
  local e = new_error({ code = code, message = message, status = status })
  if extra then for k, v in pairs(extra) do e[k] = v end end
  return e
end

-- The error for a non-2xx HTTP answer.
local HTTP_CODES = { [400] = "invalid_request", [401] = "auth", [403] = "auth", [404] = "not_found",
                     [408] = "timeout", [409] = "conflict", [422] = "invalid_request",
                     [429] = "rate_limited" }

local function http_error(what, status, doc)
  local code = HTTP_CODES[status] or (status >= 500 and "server") or "invalid_request"
  local detail = rest.problem(doc)
  local msg = detail and fmt("%s: %s", what, detail) or fmt("%s: HTTP %d", what, status)
  return err(code, msg, status)
end

-- Seconds to wait from a Retry-After header (delta seconds; HTTP dates are rare, ignored).
local function retry_after(headers)
  local v = headers and headers["retry-after"]
  local n = tonumber(v)
  if n and n >= 0 then return min(n, 3600) end
  return nil
end

-- ---- configuration --------------------------------------------------------------------------

local CONNECT_OPTS = {
  region = "string", widget_url = "string", rest_url = "string", apikey = "string",
  username = "string", password = "string", api_token = "string", timezone = "any",
  rate_limit = "any", retry_for = "number", timeout = "number", connect_timeout = "number",
  page_size = "number", transport = "any", clock = "function", sleep = "function",
  ca_file = "string", hook = "function", rejection_stage = "any", rejection_reasons = "table",
  concurrency = "number",
}

local function base_url(fname, v, name)
  if not match(v, "^https?://[^/%s]+") then
    raise(fmt("%s: %s must be an http:// or https:// URL", fname, name))
  end
  return (gsub(v, "/+$", ""))
end

-- The settings of a client from connect's options and the environment. Environment
-- credentials go only to Tracker's own hosts or to the URLs from the environment: a script
-- that names its own URL or transport must name its own credentials.
local function configure(opts)
  local fname = "tracker.connect"
  local o = options(fname, opts, CONNECT_OPTS, "argument 1")
  local env = {}
  for k, var in pairs(ENV) do
    local v = getenv(var)
    if v and v ~= "" then env[k] = v end
  end
  local c = { env_names = {} }
  local custom = o.transport ~= nil or o.widget_url ~= nil or o.rest_url ~= nil
  local function pick(k)
    if o[k] ~= nil then return o[k] end
    if custom and SECRETS[k] then return nil end
    if env[k] then c.env_names[k] = ENV[k] end
    return env[k]
  end
  c.transport = o.transport
  if o.transport ~= nil then
    if not inprocess.accepts(o.transport) then
      raise(fname .. ": option 'transport' must be an emulator (tracker.emulator.new{...})")
    end
    local emu = o.transport
    c.widget_url, c.rest_url = "http://emulator", "http://emulator"
    for _, k in ipairs({ "apikey", "username", "password", "api_token" }) do
      if o[k] == nil and type(emu[k]) == "string" then c[k] = emu[k] end
    end
    if o.timezone == nil and type(emu.timezone) == "string" then c.timezone = emu.timezone end
  else
    local region = o.region or ((o.widget_url or o.rest_url) == nil and env.region)
    if region then
      region = lower(region)
      if not widget.hosts[region] then
        raise(fmt("%s: unknown region '%s' (use us, ca or global)%s", fname, region,
                  o.region and "" or " in TRACKER_REGION"))
      end
      c.widget_url, c.rest_url = widget.hosts[region], rest.hosts[region]
    end
    c.widget_url = o.widget_url or (not o.region and env.widget_url) or c.widget_url
    c.rest_url = o.rest_url or (not o.region and env.rest_url) or c.rest_url
    if c.widget_url then c.widget_url = base_url(fname, c.widget_url, "the widget URL") end
    if c.rest_url then c.rest_url = base_url(fname, c.rest_url, "the REST URL") end
  end
  for _, k in ipairs({ "apikey", "username", "password", "api_token" }) do
    if c[k] == nil then c[k] = pick(k) end
  end
  local tz = o.timezone
  if tz == nil and c.timezone == nil then tz = env.timezone end
  if tz == false then c.timezone = nil
  elseif tz ~= nil then
    if type(tz) ~= "string" then
      raise(fname .. ": option 'timezone' must be an IANA zone name or false")
    end
    local ok, why = ttime.zone_valid(tz)
    if not ok then raise(fname .. ": " .. tostring(why)) end
    c.timezone = tz
  end
  local rate = o.rate_limit
  if rate == nil and env.rate_limit then
    local text = env.rate_limit
    rate = tonumber(text)
    if text == "false" or text == "off" or text == "none" then rate = false end
    if rate == nil or (rate and rate <= 0) then
      raise(fmt("%s: TRACKER_RATE_LIMIT is '%s': give requests a minute above 0 (100), or "
                .. "'false' for no limit", fname, text))
    end
  end
  if rate == nil then rate = DEFAULTS.rate_limit end
  if rate ~= false and not (type(rate) == "number" and rate > 0) then
    raise(fname .. ": the rate limit (option 'rate_limit' or TRACKER_RATE_LIMIT) must be a "
          .. "number of requests a minute above 0, or false for none")
  end
  c.rate_limit = rate
  for _, k in ipairs({ "retry_for", "timeout", "connect_timeout", "page_size" }) do
    local v = o[k] or DEFAULTS[k]
    if not (v > 0) then raise(fmt("%s: option '%s' must be above 0", fname, k)) end
    c[k] = v
  end
  c.page_size = tointeger(c.page_size) or misuse(fname, "option 'page_size' must be a whole number")
  c.concurrency = o.concurrency or DEFAULTS.concurrency
  if not (tointeger(c.concurrency) and c.concurrency >= 1) then
    misuse(fname, "option 'concurrency' must be a whole number of writes, at least 1, got %s",
           tostring(c.concurrency))
  end
  c.concurrency = tointeger(c.concurrency)
  c.clock, c.sleep, c.ca_file = o.clock or native.clock, o.sleep or native.sleep, o.ca_file
  c.hook = o.hook
  c.rejection_stage = o.rejection_stage or env.rejection_stage
  if c.rejection_stage ~= nil and type(c.rejection_stage) ~= "string"
      and tointeger(c.rejection_stage) == nil then
    raise(fname .. ": option 'rejection_stage' must be a stage name or id")
  end
  local reasons = o.rejection_reasons
  if reasons == nil and env.rejection_reasons then
    reasons = {}
    for r in string.gmatch(env.rejection_reasons, "[^;]+") do
      r = match(r, "^%s*(.-)%s*$")
      if r ~= "" then reasons[#reasons + 1] = r end
    end
  end
  if reasons then
    local list = {}
    for i, r in ipairs(reasons) do
      if type(r) ~= "string" or r == "" then
        raise(fmt("%s: option 'rejection_reasons' must be a list of strings (item %d is not)", fname, i))
      end
      list[i] = r
    end
    c.rejection_reasons = list
  end
  return c
end

-- ---- time -----------------------------------------------------------------------------------

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
      if not match(v, "^%d%d%d%d%-%d%d%-%d%d[ T]%d%d:%d%d:%d%d") then return nil end   -- not a time
      if byte(v, 11) == 32 then return sub(v, 1, 10) .. "T" .. sub(v, 12, 19) end   -- "d t"
      return (gsub(sub(v, 1, 19), " ", "T", 1))
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

-- Typed custom-field values: "" is unset (nil), Number fields are numbers, Checkbox booleans.
local function typed(ftype, v)
  if v == nil or v == native.null or v == "" then return nil end
  if ftype == "Number" then
    local n = tonumber(v)
    return n and (tointeger(n) or n) or v
  elseif ftype == "Checkbox" then
    if v == true or v == false then return v end
    local l = lower(tostring(v))
    return l == "yes" or l == "true" or l == "y" or l == "1"
  end
  if type(v) == "number" then return tostring(tointeger(v) or v) end
  return v
end

-- ---- the client object ----------------------------------------------------------------------

local private = setmetatable({}, { __mode = "k" })   -- client -> its state, credentials included
local Client = {}
-- A client is trk's object, shared by every rule of a run: a script reads its methods and
-- cannot replace them for the next reader.
local client_mt = {
  __index = Client,
  __metatable = "tracker.client",
  __name = "tracker.client",
}
function client_mt.__newindex(_, k)
  raise(fmt("a tracker client is read-only: cannot set its field %s (keep your own values in "
            .. "a table of your own)", type(k) == "string" and "'" .. k .. "'" or tostring(k)))
end

local function state(self, fname)
  local s = private[self]
  if s == nil then
    raise(fmt("%s: expected a tracker client as 'self' (use t:%s(...), not t.%s(...))",
              fname, fname, fname))
  end
  if s.closed then raise(fname .. ": the client is closed") end
  return s
end

function client_mt.__tostring(self)
  local s = private[self]
  if not s then return "tracker client" end
  if s.closed then return "tracker client (closed)" end
  if s.c.transport then return "tracker client (in-process emulator)" end
  return fmt("tracker client (%s, %s)", s.c.widget_url or "no widget URL",
             s.c.rest_url or "no REST URL")
end

-- ---- transports -----------------------------------------------------------------------------

local function take_transport(s)
  local pool = s.pool
  local tr = pool[#pool]
  if tr then
    pool[#pool] = nil
    return tr
  end
  if s.c.transport then return inprocess.new(s.c.transport) end
  return curl({ timeout = s.c.timeout, connect_timeout = s.c.connect_timeout,
                                  ca_file = s.c.ca_file })
end

local function give_transport(s, tr)
  if tr:busy() or #s.pool >= POOL_MAX or s.closed then tr:close()
  else s.pool[#s.pool + 1] = tr end
end

-- ---- rate limit -----------------------------------------------------------------------------

-- A token bucket holding at most one token, refilled at the budget: requests leave evenly
-- spaced, so no 60-second window ever holds more than the budget.
local function rate_wait(s)
  s.stats.requests = s.stats.requests + 1
  local rpm = s.c.rate_limit
  if not rpm then return end
  local gap = 60 / (rpm * RATE_MARGIN)
  local now = s.c.clock()
  local at = s.next_slot or now
  if at > now then
    s.c.sleep(at - now)
    now = at
  end
  s.next_slot = max(at, now) + gap
end

-- ---- the request pipeline -------------------------------------------------------------------

-- A call: { api = "widget"|"rest", what = "getRecords", base, path, body, method (default
-- POST), auth (send the JWT), retry = bool }.
-- start() sends it on a transport of its own; finish() collects the answer, retrying what may be
-- retried, and returns the decoded JSON document or nil, err.

local function widget_base(s, fname)
  if not s.c.widget_url then
    raise(fname .. ": no widget API URL: set TRACKER_REGION (us, ca, global) or TRACKER_WIDGET_URL,"
          .. " or pass region/widget_url to tracker.connect")
  end
  return s.c.widget_url
end

local function rest_base(s, fname)
  if not s.c.rest_url then
    raise(fname .. ": no REST API URL: set TRACKER_REGION (us, ca, global) or TRACKER_REST_URL,"
          .. " or pass region/rest_url to tracker.connect")
  end
  return s.c.rest_url
end

-- The HTTP request of a call, with credentials, built anew for each attempt.
local JSON_HEADERS = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

local function http_request(s, call)
  local headers = JSON_HEADERS
  if call.auth then
    headers = { Authorization = rest.authorization(s.jwt) }
    for k, v in pairs(JSON_HEADERS) do headers[k] = v end
  end
  return { method = call.method or "POST", url = call.base .. call.path, body = call.body,
           headers = headers, fresh = call.write }
end

local function send(s, call)
  rate_wait(s)
  call.jwt = s.jwt
  call.tr = call.tr or take_transport(s)
  call.tr:send(http_request(s, call))
end

-- The decoded document of an answer, or nil, err and a wait hint for a retry.
local function decode(call, status, headers, body)
  if status == nil then return nil, headers end        -- the transport's nil, err
  local doc = native.decode(body)
  if status < 200 or status > 299 then
    local e = http_error(call.what, status, doc)
    return nil, e, retry_after(headers)
  end
  if doc == nil and call.raw and body == "" then return true end
  if doc == nil then
    local _, why = native.decode(body)
    return nil, err("bad_response", fmt("%s: the answer is not valid JSON (%s)", call.what,
                                        tostring(why)), status)
  end
  return doc
end

local exchange_token

-- A write is sent again only when the server surely did not process it: the connection was
-- never made, or the answer says so (429; 503 with Retry-After).
local function write_may_retry(e, wait)
  return e.sent == false or e.status == 429 or (e.status == 503 and wait ~= nil)
end

-- The error a failed write ends with. After a timeout, a dropped connection, another 5xx or an
-- unreadable answer, the write may have happened: that is unknown_outcome, never retried, for
-- the caller (the journal) to settle by reading the record back.
local function unknown_outcome(what, why, status)
  return err("unknown_outcome", fmt("%s: the write may or may not have happened (%s)", what, why),
             status)
end

local function write_error(call, e, wait)
  if write_may_retry(e, wait) or (e.status and e.status >= 400 and e.status < 500) then return e end
  return unknown_outcome(call.what, e.message, e.status)
end

-- The coroutines in which t:batch runs deferred writes (writes.lua makes them). While a write's
-- request travels, its coroutine gives way to the script, and the batch resumes it to collect
-- the answer. Only these coroutines yield here, never a script's own, and only for a write's
-- own request: the reads a write may make block, so a JWT is never exchanged twice at once.
local batch_threads = setmetatable({}, { __mode = "k" })
local IN_FLIGHT = setmetatable({}, { __name = "tracker.in_flight" })

local function give_way(call)
  local co, main = running()
  if call.write and not main and batch_threads[co] and isyieldable() then yield(IN_FLIGHT) end
end

local function finish(s, call)
  local started, attempt = s.c.clock(), 0
  while true do
    give_way(call)
    local status, headers, body = call.tr:wait()
    if status ~= nil then s.reached = true end
    local doc, e, wait = decode(call, status, headers, body)
    if doc ~= nil then
      give_transport(s, call.tr)
      call.tr = nil
      return doc
    end
    if e.code == "auth" and call.api == "rest" and call.auth and not call.reauthed then
      -- a JWT expired or superseded: exchange once more, then repeat the call once
      call.reauthed = true
      if rawequal(s.jwt, call.jwt) then s.jwt = nil end
      local ok, xe = exchange_token(s, call.what)
      if not ok then
        give_transport(s, call.tr)
        call.tr = nil
        return nil, xe
      end
      send(s, call)
    else
      local delay = wait or min(BACKOFF_CAP, BACKOFF_BASE * 2 ^ attempt) * (0.5 + random() / 2)
      local elapsed = s.c.clock() - started
      local again
      if call.write then again = write_may_retry(e, wait) else again = call.retry and e.retryable end
      local retry_for = s.c.retry_for
      if not s.reached and e.sent == false then retry_for = min(retry_for, FIRST_CONTACT_FOR) end
      if not again or elapsed + delay > retry_for then
        give_transport(s, call.tr)
        call.tr = nil
        if attempt > 0 then
          e.message = fmt("%s (gave up after %d attempts in %.0f s)", e.message, attempt + 1, elapsed)
        end
        if call.write then e = write_error(call, e, wait) end
        return nil, e
      end
      attempt = attempt + 1
      s.stats.retries = s.stats.retries + 1
      s.c.sleep(delay)
      send(s, call)
    end
  end
end

-- The widget credentials node; raises naming what to set when there is none.
local function widget_credentials(s, fname)
  local creds, missing = widget.credentials(s.c)
  if creds then return creds end
  if s.c.transport then
    misuse(fname, "no widget API credentials: the emulator has none (create it with apikey and "
           .. "username), or pass apikey and username to tracker.connect")
  end
  misuse(fname, "no widget API credentials: set %s (and TRACKER_USERNAME), or pass apikey and "
         .. "username to tracker.connect", missing)
end

-- One widget call, synchronous. Returns the envelope or nil, err.
local function widget_call(s, fname, verb, instructions, nodes, want_results)
  local path, body = widget.request(verb, widget_credentials(s, fname), instructions, nodes)
  local call = { api = "widget", what = verb, base = widget_base(s, fname), path = path,
                 body = body, retry = true }
  send(s, call)
  local doc, e = finish(s, call)
  if not doc then return nil, e end
  local env, code, msg = widget.answer(verb, doc, want_results)
  if not env then return nil, err(code, msg) end
  return env
end

-- Exchanges the API token for a JWT (§4), once; returns true or nil, err.
function exchange_token(s, fname)
  if not s.c.api_token then
    raise(fname .. ": no REST API token: set TRACKER_API_TOKEN, or pass api_token to "
          .. "tracker.connect")
  end
  local method, path, body = rest.exchange(s.c.api_token)
  local call = { api = "rest", what = "ExchangeToken", base = rest_base(s, fname),
                 method = method, path = path, body = body, retry = true }
  send(s, call)
  local doc, e = finish(s, call)
  if not doc then
    if e.code == "auth" then
      e.message = "ExchangeToken: the REST API refused the API token (check TRACKER_API_TOKEN)"
    end
    return nil, e
  end
  local jwt, exp = rest.token(doc, function(v)
    local ok, t = pcall(ttime.parse, v)
    return ok and t or nil
  end)
  if not jwt then return nil, err("bad_response", exp) end
  s.jwt, s.jwt_expires = jwt, exp and (exp - JWT_EARLY)
  s.stats.exchanges = s.stats.exchanges + 1
  return true
end

local function ensure_jwt(s, fname)
  rest_base(s, fname)
  if s.jwt and (not s.jwt_expires or s.c.epoch() < s.jwt_expires) then return true end
  s.jwt = nil
  return exchange_token(s, fname)
end

-- A REST call: starts it (exchanging a JWT first when needed) and returns the call, or nil, err.
local function rest_start(s, fname, what, method, path, body)
  local ok, e = ensure_jwt(s, fname)
  if not ok then return nil, e end
  local call = { api = "rest", what = what, base = s.c.rest_url, method = method, path = path,
                 body = body, auth = true, retry = true }
  send(s, call)
  return call
end

local function rest_call(s, fname, what, method, path, body)
  local call, e = rest_start(s, fname, what, method, path, body)
  if not call then return nil, e end
  return finish(s, call)
end

-- ---- metadata -------------------------------------------------------------------------------

local function metadata(s, fname)
  if s.meta then return s.meta end
  local doc, e = widget_call(s, fname, "getSettingsData", {}, nil, false)
  if not doc then return nil, e end
  local m = widget.metadata(doc)
  m.stage_by_id, m.stage_by_name = {}, {}
  for _, st in ipairs(m.stages) do
    m.stage_by_id[st.id] = st
    m.stage_by_name[lower(st.name)] = st
  end
  m.fields_by_id = {}
  for kind, list in pairs(m.custom_fields) do
    local byid = {}
    for _, f in ipairs(list) do byid[f.id] = f end
    m.fields_by_id[kind] = byid
  end
  s.meta = m
  s.conv.fields = m.fields_by_id
  return m
end

local function copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do out[copy(k, seen)] = copy(x, seen) end
  return out
end

-- Metadata for the caller: a copy, so that a script cannot change what the client validates with.
function Client:metadata()
  local s = state(self, "metadata")
  local m, e = metadata(s, "metadata")
  if not m then return nil, e end
  local out = copy(m)
  out.stage_by_id, out.stage_by_name, out.fields_by_id = nil, nil, nil
  return out
end

function Client:refresh_metadata()
  local s = state(self, "refresh_metadata")
  s.meta = nil
  local m, e = metadata(s, "refresh_metadata")
  if not m then return nil, e end
  return true
end

function Client:stages()
  local s = state(self, "stages")
  local m, e = metadata(s, "stages")
  if not m then return nil, e end
  return copy(m.stages)
end

-- The stage record for a name (any case) or id; nil, not_found with suggestions otherwise.
local function find_stage(m, v)
  local st = m.stage_by_id[tointeger(v) or false] or (type(v) == "string" and m.stage_by_name[lower(v)])
  if st then return st end
  local names = {}
  for i, x in ipairs(m.stages) do names[i] = x.name end
  return nil, err("not_found", fmt("no stage '%s'%s", tostring(v), suggest(tostring(v), names)))
end

function Client:stage(name_or_id)
  local s = state(self, "stage")
  if type(name_or_id) ~= "string" and tointeger(name_or_id) == nil then
    misuse("stage", "argument 1 must be a stage name or id, got %s", type(name_or_id))
  end
  local m, e = metadata(s, "stage")
  if not m then return nil, e end
  local st, e2 = find_stage(m, name_or_id)
  if not st then return nil, e2 end
  return copy(st)
end

local KINDS = { job = true, candidate = true, application = true, activity = true }

function Client:custom_fields(kind)
  local s = state(self, "custom_fields")
  if not KINDS[kind] then
    misuse("custom_fields", "argument 1 must be 'job', 'candidate', 'application' or 'activity', "
           .. "got %s", tostring(kind))
  end
  local m, e = metadata(s, "custom_fields")
  if not m then return nil, e end
  return copy(m.custom_fields[kind])
end

-- ---- streams --------------------------------------------------------------------------------

-- Ids yielded by one stream: a bit per id, 64 ids a word, so a million records of nearby ids
-- cost a few hundred KiB at most.
local function idset()
  return {}
end

local function idset_add(set, id)
  local w, bit = id >> 6, 1 << (id & 63)
  local word = set[w] or 0
  if word & bit ~= 0 then return false end
  set[w] = word | bit
  return true
end

local Stream = {}
local stream_mt = { __index = Stream, __metatable = "tracker.stream", __name = "tracker.stream" }

function stream_mt.__tostring(st)
  return fmt("stream of %s (%s)", st.what, st.closed and "closed" or "open")
end

-- A source describes one kind of stream: request(after, page) -> call, parse(doc) -> items,
-- is_last | nil, message; key(item) -> ts, id; record(item) -> rec.
local function new_stream(s, what, source)
  return setmetatable({ s = s, what = what, src = source, seen = idset(), items = {}, i = 1, n = 0,
                        yielded = 0, after = source.after, page = source.first_page,
                        closed = false }, stream_mt)
end

local function stream_fail(st, e)
  st.err = e
  st:close()
  return nil, e
end

-- Asks for the page at the stream's cursor; the answer is collected by the next fill().
local function stream_request(st)
  local call, e = st.src.request(st.after, st.page)
  if not call then return stream_fail(st, e) end
  st.call = call
  return true
end

-- Collects the page in flight, keeps its unseen records, moves the cursor and sends the next
-- request at once (so the page after this one travels while the script works on this one).
local function fill(st)
  if st.call == nil and not stream_request(st) then return nil, st.err end
  local call = st.call
  st.call = nil
  local doc, e = finish(st.s, call)
  if not doc then return stream_fail(st, e) end
  local list, last_or_why, code = st.src.parse(doc)
  if not list then return stream_fail(st, err(code or "bad_response", last_or_why)) end
  local n, items, key = 0, st.items, st.src.key
  local last_ts
  for i = 1, #list do
    local ts, id = key(list[i])
    if ts == nil then
      return stream_fail(st, err("bad_response", fmt("%s: record %d of the page has no id or "
                                                    .. "last-updated time", call.what, i)))
    end
    if last_ts and ts < last_ts then
      return stream_fail(st, err("bad_response", fmt("%s: the page is not sorted by last-updated "
                                                    .. "time (record %d)", call.what, i)))
    end
    last_ts = ts
    if idset_add(st.seen, id) then
      n = n + 1
      items[n] = list[i]
    end
  end
  st.n, st.i = n, 1
  if last_or_why or #list == 0 then
    st.done = true
  else
    -- keyset: continue from the last time seen; if the whole page shared the cursor's time,
    -- go one page deeper within that time instead
    if last_ts == st.after then st.page = st.page + 1
    else st.after, st.page = last_ts, st.src.first_page end
    stream_request(st)
  end
  return true
end

function Stream:next()
  if getmetatable(self) ~= "tracker.stream" then
    raise("next: expected a stream as 'self' (use s:next())")
  end
  while true do
    if self.closed then return nil, self.err end
    local i = self.i
    if i <= self.n then
      local item = self.items[i]
      self.items[i] = nil
      self.i = i + 1
      local rec = self.src.record(item)
      if rec == nil then
        return stream_fail(self, err("bad_response", fmt("%s: a record could not be read", self.what)))
      end
      if rec then                 -- false: a record the stream's own filter leaves out
        self.yielded = self.yielded + 1
        return rec
      end
    elseif self.done then
      self:close()
      return nil
    else
      local ok, e = fill(self)
      if not ok then return nil, e end
    end
  end
end

-- Closing drops the page in flight (its transport is closed, not reused) and is idempotent.
function Stream:close()
  if self.closed then return end
  self.closed = true
  if self.call and self.call.tr then
    self.call.tr:close()
    self.call = nil
  end
  self.items, self.n = {}, 0
end

-- The number of records yielded so far.
function Stream:count()
  return self.yielded
end

-- for-loop form: the iterator raises on failure, since a nil would end the loop silently.
local function iterate(st)
  if getmetatable(st) ~= "tracker.stream" then
    raise("a stream's iterator needs its stream: write `for r in t:candidates{} do`, or call "
          .. "s:next() on the stream (the second value t:candidates returns)")
  end
  local rec, e = st:next()
  if rec == nil and e ~= nil then error(e, 2) end
  return rec
end

stream_mt.__close = function(st) st:close() end

-- A stream that failed before its first page (metadata could not be read).
local function failed_stream(what, e)
  return setmetatable({ what = what, closed = true, err = e, yielded = 0 }, stream_mt)
end

local function stream_values(st)
  return iterate, st, nil, st
end

-- The stream filters each kind accepts.
local FILTERS = {
  jobs = { state = "string", updated_after = "any", updated_before = "any", search = "string",
           page_size = "number" },
  candidates = { status = "string", updated_after = "any", updated_before = "any",
                 search = "string", page_size = "number" },
  applications = { job = "any", candidate = "any", stage = "any", updated_after = "any",
                   updated_before = "any", page_size = "number" },
  activities = { candidate = "any", job = "any", updated_after = "any", updated_before = "any",
                 page_size = "number" },
}

-- The id of a record or id argument.
local function id_of(fname, name, v, kind)
  if type(v) == "table" then
    if kind and v.kind and v.kind ~= kind then
      misuse(fname, "option '%s' must be a %s or its id, got a %s record", name, kind, tostring(v.kind))
    end
    v = v.id
  end
  local id = tointeger(v)
  if id == nil or id <= 0 then
    misuse(fname, "'%s' must be a positive integer id or a record, got %s", name, tostring(v))
  end
  return id
end

local function page_size(s, f, cap)
  return min(tointeger(f.page_size) or s.c.page_size, cap)
end

-- Common filter handling: time bounds as database local text.
local function time_bounds(s, fname, f)
  local after, before
  if f.updated_after ~= nil then after = s.conv.filter(instant(fname, "updated_after", f.updated_after)) end
  if f.updated_before ~= nil then
    local t = instant(fname, "updated_before", f.updated_before)
    -- without a zone the true local time may be up to 14 hours later than UTC
    before = s.c.timezone and s.conv.filter(t) or ttime.to_local(t + 14 * 3600, "UTC")
  end
  return after, before
end

local function widget_stream(self, fname, kind, f, extra)
  local s = state(self, fname)
  f = options(fname, f, FILTERS[fname])
  local after, before = time_bounds(s, fname, f)
  local filt = { before = before, search = f.search, state = extra and extra.state or nil }
  local size = page_size(s, f, widget.max_page)
  local m, e = metadata(s, fname)
  if not m then return stream_values(failed_stream(fname, e)) end
  local creds = widget_credentials(s, fname)
  local base = widget_base(s, fname)
  local conv = s.conv
  local match_fn = extra and extra.match
  local source = {
    first_page = 0, after = after,
    request = function(a, page)
      local path, body = widget.request("getRecords", creds, widget.list(kind, filt, a, page, size))
      local call = { api = "widget", what = "getRecords", base = base, path = path, body = body,
                     retry = true }
      send(s, call)
      return call
    end,
    parse = function(doc)
      local env, code, msg = widget.answer("getRecords", doc, true)
      if not env then return nil, msg, code end
      return env.results, #env.results < size
    end,
    key = widget.key,
    record = function(item) return widget.record(kind, item, conv) end,
  }
  if match_fn then
    local record = source.record
    source.record = function(item)
      local r = record(item)
      if r and not match_fn(r) then return false end
      return r
    end
  end
  return stream_values(new_stream(s, fname, source))
end

function Client:jobs(f)
  if type(f) == "table" and f.state ~= nil and not widget.job_states[f.state] then
    misuse("jobs", "option 'state' must be 'open', 'won' or 'closed', got '%s'", tostring(f.state))
  end
  return widget_stream(self, "jobs", "job", f, { state = type(f) == "table" and f.state or nil })
end

function Client:candidates(f)
  local status = type(f) == "table" and f.status or nil
  -- the widget API has no status filter: the stream leaves out the other statuses itself
  return widget_stream(self, "candidates", "candidate", f,
    status and { match = function(r) return r.status ~= nil and lower(r.status) == lower(status) end })
end

function Client:activities(f)
  local fname = "activities"
  local cand = type(f) == "table" and f.candidate ~= nil and id_of(fname, "candidate", f.candidate, "candidate")
  local job = type(f) == "table" and f.job ~= nil and id_of(fname, "job", f.job, "job")
  -- nor links for activities: the stream compares them
  return widget_stream(self, fname, "activity", f, (cand or job) and { match = function(r)
    return (not cand or r.candidate_id == cand) and (not job or r.job_id == job)
  end })
end

function Client:applications(f)
  local fname = "applications"
  local s = state(self, fname)
  f = options(fname, f, FILTERS.applications)
  local filt = {}
  if f.job ~= nil then filt.job = id_of(fname, "job", f.job, "job") end
  if f.candidate ~= nil then filt.candidate = id_of(fname, "candidate", f.candidate, "candidate") end
  local after, before = time_bounds(s, fname, f)
  filt.before = before
  local m, e = metadata(s, fname)
  if not m then return stream_values(failed_stream(fname, e)) end
  if f.stage ~= nil then
    local st, se = find_stage(m, f.stage)
    if not st then misuse(fname, "option 'stage': %s", se.message) end
    filt.stage_id = st.id
  end
  local size = page_size(s, f, rest.max_page)
  local conv = s.conv
  local source = {
    first_page = 1, after = after,
    request = function(a, page)
      local method, path, body = rest.search(filt, a, page, size)
      return rest_start(s, fname, "PagedSearch", method, path, body)
    end,
    parse = rest.page,
    key = rest.key,
    record = function(item) return rest.record(item, conv, widget.custom) end,
  }
  return stream_values(new_stream(s, fname, source))
end

-- ---- lookups --------------------------------------------------------------------------------

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

-- Counters: requests sent, retries, JWT exchanges.
function Client:stats()
  local s = state(self, "stats")
  return copy(s.stats)
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

function M.connect(opts)
  local c = configure(opts)
  local emu = c.transport
  c.epoch = emu and function() return emu:now() end or native.epoch
  local s = { c = c, pool = {}, conv = converters(c), stats = { requests = 0, retries = 0, exchanges = 0 } }
  s.conv.fields = { job = {}, candidate = {}, application = {}, activity = {} }
  s.conv.typed = typed
  local t = setmetatable({}, client_mt)
  private[t] = s
  return t
end

-- ---- writes ---------------------------------------------------------------------------------

-- writes.lua adds the write methods, through what this file keeps private.
import("writes")(Client, {
  state = state, raise = raise, misuse = misuse, options = options, suggest = suggest,
  err = err, unknown_outcome = unknown_outcome, metadata = metadata, find_stage = find_stage, id_of = id_of, copy = copy,
  widget_credentials = widget_credentials, widget_base = widget_base, widget_call = widget_call,
  rest_base = rest_base, ensure_jwt = ensure_jwt, send = send, finish = finish,
  private = private, ttime = ttime, batch_threads = batch_threads, in_flight = IN_FLIGHT,
})

M.Client = Client
return M
