-- json: encode, decode and null for plain lua5.4 and busted: the tracker module's own JSON (a
-- private lua-cjson instance; integral numbers decode as Lua integers, 1 and not 1.0).
--
-- Inside trk the runtime provides a module of the same name (runtime/sbxjson.c) and this file
-- is never loaded; the two agree: the same integers, the same nesting (128 levels).

local json = require("tracker").json

local M = {}

local type, error = type, error

M.null = json.null

function M.encode(value)
  return json.encode(value)
end

function M.decode(text)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  local v, e = json.decode(text)
  if v == nil and e ~= nil then error(e, 0) end
  return v
end

return M
