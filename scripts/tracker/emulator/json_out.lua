-- tracker.emulator.json_out: JSON as the emulator writes it.
--
-- cjson writes an empty Lua table as {}; arrays that may be empty go out as the EMPTY marker
-- and are rewritten to [] after encoding. Absent and "" values that Tracker shows as null go
-- out as NULL.
--
--   NULL, EMPTY            json.null; the empty-array marker
--   arr(t)                 t, or EMPTY when t has no first element
--   nz(v)                  v, or NULL when v is nil or ""
--   encode(v)              -> JSON text, every EMPTY written []
--   jsonable(v)            -> a copy in which every empty table is EMPTY (for fixtures)
--   headers()              -> fresh response headers of a JSON answer

local json = require "json"
local W = require "tracker.emulator.wire"

local M = {}

local type, next = type, next
local find, gsub = string.find, string.gsub

local NULL = json.null
local EMPTY = "\0trk-emulator:empty-array\0"
local EMPTY_JSON = '"\\u0000trk%-emulator:empty%-array\\u0000"'
M.NULL, M.EMPTY = NULL, EMPTY

function M.arr(t)
  if t[1] == nil then return EMPTY end
  return t
end

function M.nz(v)
  if v == nil or v == "" then return NULL end
  return v
end

function M.encode(v)
  local s = json.encode(v)
  if find(s, "trk-emulator:empty-array", 1, true) then s = gsub(s, EMPTY_JSON, "[]") end
  return s
end

local function jsonable(v)
  if type(v) ~= "table" then return v end
  if next(v) == nil then return EMPTY end
  local t = {}
  for k, x in next, v do t[k] = jsonable(x) end
  return t
end
M.jsonable = jsonable

function M.headers()
  return { ["content-type"] = W.content.json }
end

return M
