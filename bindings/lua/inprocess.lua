-- inprocess: the in-process transport. It hands requests to an emulator's handle() in the same
-- Lua state (no sockets) and answers exactly as the curl transport would, including the
-- emulator's damaged answers: a dropped connection and a truncated body become the same
-- "network" errors curl reports, so retries are tested through the same code. An answer
-- marked `x-emulator-fault: refuse` (from a test's wrapper) is a connection that was never
-- made, as curl reports one: an error with sent = false.

local new_error = tracker.error
local type, tostring, tonumber, match, fmt = type, tostring, tonumber, string.match, string.format

local M = {}

local Transport = {}
Transport.__index = Transport
Transport.__metatable = "tracker.transport"
Transport.__tostring = function(self)
  return self.emu and "transport (in-process)" or "transport (closed)"
end

-- Is v an emulator (anything with a handle method)?
function M.accepts(v)
  return type(v) == "table" and type(v.handle) == "function"
end

function M.new(emu, sleep)
  return setmetatable({ emu = emu, sleep = sleep }, Transport)
end

local function fail(code, fmtstr, ...)
  return nil, new_error({ code = code, message = fmt(fmtstr, ...) })
end

local function exchange(self, req)
  local path = match(req.url, "^https?://[^/]+(/.*)$")
  local where = fmt("%s %s", req.method or "GET", path and match(path, "^[^?]*") or "?")
  if not path then error("transport: 'url' is not a valid URL", 3) end
  local status, headers, body = self.emu:handle(req.method or "GET", path, req.headers or {},
                                                req.body or "")
  headers = type(headers) == "table" and headers or {}
  local delay = tonumber(headers["x-emulator-delay-ms"])
  if delay and self.sleep then self.sleep(delay / 1000) end
  local fault = headers["x-emulator-fault"]
  if fault == "refuse" then       -- a connection never made: nothing reached the server
    local e = new_error({ code = "network", message = where .. ": the emulator refused the connection" })
    e.sent = false
    return nil, e
  end
  if status == 0 or fault == "drop" then
    return fail("network", "%s: the emulator closed the connection without answering", where)
  end
  if fault == "truncate" then
    return fail("network", "%s: response body truncated: the emulator closed the connection "
                .. "after %d of %s bytes", where, #body, tostring(headers["x-emulator-full-length"]))
  end
  return status, headers, body
end

function Transport:request(req)
  if not self.emu then error("attempt to use a closed transport", 2) end
  return exchange(self, req)
end

-- send/wait: the answer is computed at once and kept until wait() collects it.
function Transport:send(req)
  if not self.emu then error("attempt to use a closed transport", 2) end
  if self.pending then error("transport: a request is already in flight", 2) end
  self.pending = table.pack(exchange(self, req))
end

function Transport:wait()
  local p = self.pending
  if not p then error("transport: no request in flight", 2) end
  self.pending = nil
  return table.unpack(p, 1, p.n)
end

function Transport:busy()
  return self.pending ~= nil
end

-- The answer is made at send: it is in as soon as a request is.
Transport.ready = Transport.busy

function Transport:close()
  self.emu, self.pending = nil, nil
end

return M
