-- tracker.util: the small helpers trk's libraries share: argument checks worded alike
-- (tracker.csv, tracker.migrate), and a raw deep copy (the rule runner, the emulator, trk's
-- session).

local type, pairs, next, tostring, pcall = type, pairs, next, tostring, pcall
local fmt, match = string.format, string.match
local sort = table.sort

-- " (did you mean 'x'?)": the client's, so every message of trk suggests alike.
local function suggest(...) return require("tracker").suggest(...) end   -- loaded when needed

local M = {}

-- copy(v): v, tables all the way down, read raw (next): no metamethod runs, and the copy shares
-- no table with v (a cycle would not end: for data, records and actions).
function M.copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in next, v do out[k] = M.copy(x) end
  return out
end

-- fingerprint(t, skip): 16 hex digits that change when anything in t does (its canonical
-- text, the one actions are keyed by, with the top-level key `skip` left out), by FNV-1a, 64
-- bits. How the rule runner tells one change of a record from another when the record has no
-- last-updated time (docs/tracker-api.md §9.1). Not a secure hash: it names content.
function M.fingerprint(t, skip)
  local body = t
  if skip ~= nil and type(t) == "table" then
    body = {}
    for k, x in next, t do if k ~= skip then body[k] = x end end
  end
  return require("tracker").actions.fingerprint(body)
end

-- trim(s): s without leading and trailing spaces.
function M.trim(s)
  return match(s, "^%s*(.-)%s*$")
end

-- blank(v): nil, or a string of spaces only.
function M.blank(v)
  return v == nil or (type(v) == "string" and M.trim(v) == "")
end

-- has_method(v, name): v has a method `name` (reading it may not raise).
function M.has_method(v, name)
  if type(v) ~= "table" and type(v) ~= "userdata" then return false end
  local ok, f = pcall(function() return v[name] end)
  return ok and type(f) == "function"
end

-- The options of fname, checked against { name = "type" or "any" }: opts (or {}), or nil and
-- why not.
function M.options(fname, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    return nil, fmt("%s: the options must be a table, got %s", fname, type(opts))
  end
  local names = {}
  for k in pairs(allowed) do names[#names + 1] = k end
  sort(names)
  for k, v in pairs(opts) do
    local want = allowed[k]
    if not want then
      return nil, fmt("%s: unknown option '%s'%s", fname, tostring(k), suggest(tostring(k), names))
    end
    if want ~= "any" and type(v) ~= want then
      return nil, fmt("%s: option '%s' must be a %s, got %s", fname, k, want, type(v))
    end
  end
  return opts
end

return M
