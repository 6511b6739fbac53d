-- usage: how the client says a call was misused. A misuse raises at the script's line, with
-- the closest names suggested; options tables and id arguments are checked here.

local type, pairs, tostring, error = type, pairs, tostring, error
local tointeger, min, max = math.tointeger, math.min, math.max
local fmt, sub, lower = string.format, string.sub, string.lower
local concat, sort = table.concat, table.sort
local new_error = tracker.error

local M = {}


-- Levenshtein distance, for "did you mean".
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = sub(a, i, i) == sub(b, j, j) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- " (did you mean 'x' or 'y'?)" for the names closest to `name`, or "" (a name that one
-- begins with counts as close: 'Prio' for 'Priority'). Exported as tracker.suggest, so every
-- "did you mean" of trk reads the same.
local function suggest(name, names)
  local best, scored = {}, {}
  local a = lower(tostring(name))
  for _, n in ipairs(names) do
    local b = lower(tostring(n))
    local d = distance(a, b)
    if #a >= 3 and (sub(b, 1, #a) == a or sub(a, 1, #b) == b) then d = min(d, 1) end
    if d <= max(2, #b // 3) then scored[#scored + 1] = { d, tostring(n) } end
  end
  sort(scored, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2]) end)
  for i = 1, min(3, #scored) do best[i] = "'" .. scored[i][2] .. "'" end
  if #best == 0 then return "" end
  return " (did you mean " .. concat(best, " or ") .. "?)"
end
M.suggest = suggest

-- Misuse raises at the script's line: the first caller outside the client's own code and
-- trk's own (the "=[trk] ..." chunks trk embeds: its drivers and the connect it hands scripts).
local getinfo = debug.getinfo
local function located(msg)
  for level = 3, 40 do
    local info = getinfo(level, "Sl")
    if info == nil then break end
    local src = info.source
    if info.what ~= "C" and sub(src, 1, 10) ~= "=[tracker]" and sub(src, 1, 6) ~= "=[trk]" then
      return fmt("%s:%d: %s", info.short_src, info.currentline, msg)
    end
  end
  return msg
end

local function raise(msg)
  error(located(msg), 0)
end

local function misuse(fname, fmtstr, ...)
  raise(fname .. ": " .. fmt(fmtstr, ...))
end

-- A value Tracker would refuse (docs/client.md, "Values"): raised like misuse, before anything
-- is sent, so a dry run fails where --apply would; but as an error of code `invalid` that
-- carries `field`, `value`, `allowed`, `suggestion` and `reason` (the message without the
-- script's line), so a caller (a migration) can say which column of which row held it.
local function invalid(fname, extra, fmtstr, ...)
  local reason = fname .. ": " .. fmt(fmtstr, ...)
  local e = new_error({ code = "invalid", message = located(reason) })
  e.reason = reason
  for k, v in pairs(extra) do e[k] = v end
  error(e, 0)
end

local function keys_of(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  sort(out)
  return out
end

-- Checks an options table against the allowed keys: { key = "type" | checker }.
local function options(fname, opts, allowed, arg)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    raise(fmt("%s: %s must be a table of options, got %s", fname, arg or "argument", type(opts)))
  end
  for k, v in pairs(opts) do
    local want = allowed[k]
    if want == nil then
      raise(fmt("%s: unknown option '%s'%s", fname, tostring(k), suggest(k, keys_of(allowed))))
    end
    if type(want) == "string" and want ~= "any" and type(v) ~= want then
      raise(fmt("%s: option '%s' must be a %s, got %s", fname, k, want, type(v)))
    end
  end
  return opts
end
-- The id of a record or id argument.
local function id_of(fname, name, v, kind)
  if type(v) == "table" then
    if kind and v.kind and v.kind ~= kind then
      misuse(fname, "option '%s' must be a %s or its id, got a %s record", name, kind, tostring(v.kind))
    end
    v = v.id
  end
  local id = tointeger(v)
  if id == nil or id <= 0 then
    misuse(fname, "'%s' must be a positive integer id or a record, got %s", name, tostring(v))
  end
  return id
end


M.suggest = suggest
M.raise = raise
M.misuse = misuse
M.invalid = invalid
M.options = options
M.id_of = id_of
return M
