-- object: the client object. Its methods are one table (Client) that the parts fill
-- (metadata.lua, streams.lua, writes.lua, batch.lua, client.lua); its state (credentials
-- included) is kept in `private`, which no script can reach.

local usage = import "usage"
local raise = usage.raise

local type, tostring, setmetatable = type, tostring, setmetatable
local fmt = string.format

local M = {}


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
M.private = private
M.Client = Client
M.client_mt = client_mt
M.state = state
return M
