-- values: readers of JSON values as Tracker sends them (numbers sometimes as strings, empty
-- strings for unset), shared by widget.lua and rest.lua.

local type, tostring, tonumber, tointeger = type, tostring, tonumber, math.tointeger

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

return M
