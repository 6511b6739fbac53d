-- failures: the client's error values. A failed call answers nil, err: err.code names what
-- went wrong (docs/client.md), and a write whose answer was lost is an unknown_outcome, which the
-- journal settles by reading the record back (actions.lua).

local rest = import "rest"
local new_error = tracker.error

local pairs, tonumber = pairs, tonumber
local min = math.min
local fmt = string.format

local M = {}


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


M.err = err
M.http_error = http_error
M.retry_after = retry_after
M.write_may_retry = write_may_retry
M.unknown_outcome = unknown_outcome
M.write_error = write_error
return M
