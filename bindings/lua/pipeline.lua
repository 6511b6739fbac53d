-- pipeline: every request of the client, through one path: rate limit, credentials and the
-- JWT, a transport from the pool, the answer decoded, errors mapped, retries where they are safe
-- (a write only when the server surely did not process it).

local widget, rest, inprocess = import "widget", import "rest", import "inprocess"
local usage, failures, times = import "usage", import "failures", import "times"
local native = native
-- captured now, before any script holds the module table: a script that replaces
-- tracker.transport.curl later must not receive requests (they carry credentials)
local curl = tracker.transport.curl
local raise, misuse = usage.raise, usage.misuse
local err, http_error, retry_after = failures.err, failures.http_error, failures.retry_after
local write_may_retry, write_error = failures.write_may_retry, failures.write_error
local ttime = times.time

local pairs, tostring, setmetatable, rawequal, pcall = pairs, tostring, setmetatable, rawequal, pcall
local min, max, floor, random = math.min, math.max, math.floor, math.random
local fmt = string.format
local running, yield, isyieldable = coroutine.running, coroutine.yield, coroutine.isyieldable

local M = {}

local RATE_MARGIN = 0.98     -- send at 98% of the budget: arrival jitter must not cross it
local BACKOFF_BASE = 0.5     -- first retry delay (seconds), doubled each attempt
local BACKOFF_CAP = 30       -- longest delay between two attempts
local FIRST_CONTACT_FOR = 5  -- seconds a server that never answered this client is retried:
                             -- a wrong URL or a server that is down fails fast, an outage
                             -- after the first answer is retried for retry_for
local JWT_EARLY = 60         -- re-exchange a JWT this many seconds before it expires
local POOL_MAX = 8           -- idle transports kept for reuse
local BREAKER_FAILURES = 3   -- connection failures in a row that open the breaker
local PROBE_FIRST = 5        -- seconds from a failure to the next probe while it is open,
local PROBE_CAP = 30         -- doubled after each failed probe, up to this

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

-- A sliding one-minute window, as Tracker counts (§5): a request leaves at once while the last
-- 60 seconds hold fewer than the budget (less the margin), else when the oldest of them is a
-- minute old. A short job goes at full speed; a long one at the budget, never above it.
local WINDOW, MAX_SLOTS = 60, 100000    -- past 100,000 a minute a budget changes nothing

local function rate_wait(s)
  s.stats.requests = s.stats.requests + 1
  local rpm = s.c.rate_limit
  if not rpm then return end
  local n = min(MAX_SLOTS, max(1, floor(rpm * RATE_MARGIN)))
  local w = s.rate_window
  if not w then
    w = { head = 1, count = 0 }
    s.rate_window = w
  end
  local now = s.c.clock()
  if w.count == n then                      -- full: wait for the oldest to leave the window
    local oldest = w[w.head]
    if now - oldest < WINDOW then
      s.c.sleep(oldest + WINDOW - now)
      now = oldest + WINDOW
    end
    w[w.head] = now
    w.head = w.head % n + 1
  else
    w.count = w.count + 1
    w[(w.head + w.count - 2) % n + 1] = now
  end
end

-- ---- the breaker ------------------------------------------------------------------------------

-- After BREAKER_FAILURES connection failures in a row (no answer at all: refused, reset, timed
-- out; never an HTTP answer, whatever its status) from a server that answered before, the
-- breaker opens: no request leaves, and one at a time probes the server, PROBE_FIRST seconds
-- after the failure and then less and less often. Any answer closes it. When the server has been
-- unreachable for the outage budget, every call, then and after, fails with `unreachable`
-- without sending. The state is s.breaker: the client's own, or one the sink lends (trk's
-- session shares one among its clients and hears each change through its notify).

local function connection_failure(status, e)
  return status == nil and (e.code == "network" or e.code == "timeout")
end

-- What the breaker is now, for t:stats() and notify: nil while closed.
local function outage(b, now)
  if not b.since then return nil end
  return { open = b.open or false, down_for = now - b.since, attempt = b.attempt,
           retry_in = b.next_at and max(0, b.next_at - now), gave_up = b.gave_up or nil }
end

local function notify(s, b, state, now)
  local ev = outage(b, now) or {}
  ev.state, ev.budget = state, s.c.outage_budget
  if b.since then ev.budget_left = max(0, b.since + s.c.outage_budget - now) end
  if b.notify then b.notify(ev) end
end

-- Takes note of an attempt's end: an answer (status), or the transport's error.
local function breaker_note(s, status, e)
  local b, now = s.breaker, s.c.clock()
  if status ~= nil then
    b.reached = true
    if b.open then
      notify(s, b, "closed", now)
      s.stats.outages = (s.stats.outages or 0) + 1
    end
    b.failures, b.since, b.open, b.attempt, b.wait, b.next_at = 0, nil, nil, nil, nil, nil
    return
  end
  if not connection_failure(status, e) or not b.reached then return end
  b.failures = (b.failures or 0) + 1
  b.since = b.since or now
  if not b.open and b.failures < BREAKER_FAILURES then return end
  b.wait = b.open and min(PROBE_CAP, b.wait * 2) or PROBE_FIRST
  b.open, b.attempt = true, (b.attempt or 0) + 1
  b.next_at = now + b.wait
  notify(s, b, "open", now)
end

-- The error of a call the breaker refuses for good.
local function unreachable(s, what)
  return err("unreachable", fmt("%s: Tracker unreachable for %.0f s, the outage budget (option "
                                .. "'outage_budget', TRACKER_OUTAGE_BUDGET): nothing more is sent",
                                what, s.c.outage_budget))
end

-- Holds a call while the breaker is open: true when it may be sent now (as the probe), or
-- nil, err once the outage budget is spent.
local function breaker_wait(s, call)
  local b = s.breaker
  while true do
    if b.gave_up then return nil, unreachable(s, call.what) end
    if not b.open then return true end
    local now, deadline = s.c.clock(), b.since + s.c.outage_budget
    if now >= deadline then
      b.gave_up = true
      notify(s, b, "gave_up", now)       -- trk's session stops the run here
      return nil, unreachable(s, call.what)
    end
    if now >= b.next_at then
      b.next_at = now + b.wait           -- the probe: the next call waits for its turn
      return true
    end
    s.c.sleep(min(b.next_at, deadline) - now)
  end
end
M.outage = outage

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

local function send(s, call, probe)
  if not probe and (s.breaker.open or s.breaker.gave_up) then   -- finish() sends it when it may
    call.held = true
    return
  end
  rate_wait(s)
  call.jwt = s.jwt
  call.tr = call.tr or take_transport(s)
  call.tr:send(http_request(s, call))
end

-- The decoded document of an answer, or nil, err and a wait hint for a retry.
local function decode(call, status, headers, body)
  if status == nil then return nil, headers end        -- the transport's nil, err
  local ok = status >= 200 and status <= 299
  -- a call that names a lazy list gets its items undecoded (bindings/lazy.c); a text simdjson
  -- refuses is decoded in full, which says what is wrong with it
  local doc = ok and call.lazy and native.page(body, call.lazy) or native.decode(body)
  if not ok then
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
    if call.held then
      local ok, be = breaker_wait(s, call)
      if not ok then
        if call.tr then give_transport(s, call.tr) end
        call.tr = nil
        return nil, be
      end
      call.held = nil
      send(s, call, true)
    end
    give_way(call)
    local status, headers, body = call.tr:wait()
    if status ~= nil then s.reached = true end
    breaker_note(s, status, headers)
    local doc, e, wait = decode(call, status, headers, body)
    if status == 429 then            -- the rate budget the server showed (trk doctor --probe)
      s.stats.rate_limited = (s.stats.rate_limited or 0) + 1
      if wait and wait > (s.stats.retry_after or 0) then s.stats.retry_after = wait end
    end
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
      -- while the breaker is open, the outage budget bounds the wait, not retry_for
      local open = s.breaker.open
      if not again or (not open and elapsed + delay > retry_for) then
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
      if not open then s.c.sleep(delay) end
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

-- Where a credential came from, for an error that asks to check it: its variable, or the
-- connect option (never its value).
local function setting(s, k)
  return s.c.env_names[k] or fmt("tracker.connect's option '%s'", k)
end

-- What to check when Tracker refused the widget credentials: the settings that were sent.
local function widget_auth_hint(s)
  local c = s.c
  if c.transport then return "check the emulator's apikey and username" end
  if c.apikey then
    return c.username and fmt("check %s and %s", setting(s, "apikey"), setting(s, "username"))
           or fmt("check %s (sent without a username: Tracker then acts as the administrator)",
                  setting(s, "apikey"))
  elseif c.password then
    return fmt("check %s and %s", setting(s, "username"), setting(s, "password"))
  end
  return fmt("check %s (sent as the widget API's oauthtoken)", setting(s, "api_token"))
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
  if not env then
    if code == "auth" then msg = fmt("%s; %s", msg, widget_auth_hint(s)) end
    return nil, err(code, msg)
  end
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
      e.message = fmt("ExchangeToken: the REST API refused the API token (check %s)",
                      setting(s, "api_token"))
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
M.give_transport = give_transport
M.widget_base = widget_base
M.rest_base = rest_base
M.send = send
M.finish = finish
M.batch_threads = batch_threads
M.IN_FLIGHT = IN_FLIGHT
M.widget_credentials = widget_credentials
M.widget_call = widget_call
M.exchange_token = exchange_token
M.ensure_jwt = ensure_jwt
M.rest_start = rest_start
M.rest_call = rest_call
return M
