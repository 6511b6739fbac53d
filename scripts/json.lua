-- json: encode, decode and null over a private lua-cjson instance, for plain lua5.4 and busted.
--
-- Inside trk the runtime provides a module of the same name (runtime/sbxjson.c) and this file
-- is never loaded; the two agree: integral numbers decode as Lua integers (1, not 1.0).

local cjson = require("cjson").new()   -- a private instance: its settings are ours alone

local M = {}

local type, next, mtype, tointeger = type, next, math.type, math.tointeger
local EXACT = 2 ^ 53                  -- beyond this a double no longer holds every integer

-- Turns integral floats into integers, in place, walking decoded tables.
local function integers(v, depth)
  if depth > 1000 then return v end
  if type(v) == "table" then
    for k, x in next, v do
      if type(x) == "table" then
        integers(x, depth + 1)
      elseif mtype(x) == "float" and x == x // 1 and -EXACT <= x and x <= EXACT then
        v[k] = tointeger(x)
      end
    end
  elseif mtype(v) == "float" and v == v // 1 and -EXACT <= v and v <= EXACT then
    return tointeger(v)
  end
  return v
end

M.null = cjson.null

function M.encode(value)
  return cjson.encode(value)
end

function M.decode(text)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  return integers(cjson.decode(text), 0)
end

return M
