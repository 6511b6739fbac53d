-- tracker.emulator.util: the small helpers several parts of the emulator share.
--
--   deepcopy(v)            a copy of v, tables all the way down
--   lowerkeys(t)           a copy of t with its string keys lower-cased (Tracker's names are
--                          case-insensitive)
--   present(v)             v is neither nil, null nor ""
--   numstr(n)              a number as Tracker writes it in text: integers without ".0"
--   secret_ok(given, expected)
--                          given is a non-empty string equal to a configured secret
--   check_keys(t, allowed, fname, what [, level])
--                          t (nil: {}) after checking it is a table whose keys are all in
--                          allowed, else raises "fname: unknown option 'x'" at level (default 2,
--                          counted from the caller of check_keys)

local json = require "json"

local M = {}

local type, pairs, next, tostring, error = type, pairs, next, tostring, error
local floor, mtype, tointeger = math.floor, math.type, math.tointeger
local fmt, lower = string.format, string.lower

local NULL = json.null

local deepcopy = require("tracker.util").copy
M.deepcopy = deepcopy

function M.lowerkeys(t)
  local o = {}
  for k, v in next, t do
    if type(k) == "string" then o[lower(k)] = v else o[k] = v end
  end
  return o
end

function M.present(v)
  return v ~= nil and v ~= NULL and v ~= ""
end

function M.numstr(n)
  if mtype(n) == "integer" then return fmt("%d", n) end
  if n == floor(n) and n > -2^53 and n < 2^53 then return fmt("%d", tointeger(n)) end
  return fmt("%.14g", n)
end

function M.secret_ok(given, expected)
  return type(given) == "string" and given ~= "" and expected ~= nil and given == expected
end

-- level: of the misuse, counted from the caller of check_keys.
function M.check_keys(t, allowed, fname, what, level)
  level = (level or 2) + 1
  if t == nil then return {} end
  if type(t) ~= "table" then error(fmt("%s: %s must be a table", fname, what), level) end
  for k in pairs(t) do
    if allowed[k] == nil then
      local noun = what == "options" and "option" or what
      error(fmt("%s: unknown %s '%s'", fname, noun, tostring(k)), level)
    end
  end
  return t
end

return M
