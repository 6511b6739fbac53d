-- values: readers of JSON values as Tracker sends them (numbers sometimes as strings, empty
-- strings for unset), shared by widget.lua and rest.lua.

local type, pairs, tostring, tonumber, tointeger = type, pairs, tostring, tonumber, math.tointeger
local lower = string.lower
local native = native

local M = {}

-- An integer from a number or a numeric string, else nil.
function M.int(v)
  if type(v) == "number" then return tointeger(v) end
  if type(v) == "string" then return tointeger(tonumber(v)) end
  return nil
end

-- A non-empty string from a string or a number, else nil.
function M.str(v)
  if type(v) == "string" then
    if v == "" then return nil end
    return v
  end
  if type(v) == "number" then return tostring(tointeger(v) or v) end
  return nil
end

-- A number from a number or a numeric string (Tracker sends rates both ways), else nil.
function M.num(v)
  local n = tonumber(v)
  if n == nil then return nil end
  return tointeger(n) or n
end

-- Typed custom-field values: "" is unset (nil), Number fields are numbers, Checkbox booleans.
function M.typed(ftype, v)
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
-- A deep copy (shared and cyclic tables copied once).
function M.copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do out[M.copy(k, seen)] = M.copy(x, seen) end
  return out
end

return M
