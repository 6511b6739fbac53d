-- tracker.testing.asserts: the assertions the busted kit registers with luassert
-- (assert.planned, assert.not_planned, assert.planned_count) and how they show a plan.

local luassert = require "luassert"
local say = require "say"
local sandbox = require "tracker.sandbox"

local M = {}

local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error, setmetatable
local tointeger = math.tointeger
local fmt, find, match = string.format, string.find, string.match
local concat, sort = table.concat, table.sort

local summaries = setmetatable({}, { __mode = "k" })   -- what testing.run_rule returned second

-- Marks a run's summary, so that assert.planned_count ignores it in place of a spec.
function M.summary(s)
  summaries[s] = true
  return s
end


-- A mistake in an expectation, reported at the spec's line (not the kit's).
local function misuse(msg)
  error(sandbox.explain(msg, sandbox.user_where(2)), 0)
end

local described = setmetatable({}, { __mode = "k" })   -- a matcher -> how a failure shows it

-- A payload value that matches any string containing `text`.
function M.contains(text)
  local f = function(v) return type(v) == "string" and find(v, text, 1, true) ~= nil end
  described[f] = fmt("contains(%q)", tostring(text))
  return f
end

-- How an expectation shows a function the spec gave as a matcher: where it is defined.
local function matcher(f)
  if described[f] then return described[f] end
  local info = type(debug) == "table" and debug.getinfo(f, "S")
  if info and info.linedefined > 0 then
    return fmt("a value the function at %s:%d accepts", info.short_src, info.linedefined)
  end
  return "a value the given function accepts"
end

local function subset(want, got)
  if type(want) == "function" then return want(got) and true or false end
  if type(want) ~= "table" then return want == got end
  if type(got) ~= "table" then return false end
  for k, v in pairs(want) do
    if not subset(v, got[k]) then return false end
  end
  return true
end

local function target_matches(want, got)
  if want == nil then return true end
  if type(got) ~= "table" then return false end
  if type(want) ~= "table" then return got.id == tointeger(want) end
  return got.id == want.id and (want.kind == nil or got.kind == want.kind)
end

local SPEC_KEYS = { op = true, target = true, payload = true, key = true }

local function like(fname, want)
  if type(want) ~= "table" then
    misuse(fmt("%s: the expected action must be a table { op =, target =, payload =, key = }", fname))
  end
  for k in pairs(want) do
    if not SPEC_KEYS[k] then
      misuse(fmt("%s: unknown key '%s' in the expected action (op, target, payload, key)", fname,
                 tostring(k)))
    end
  end
  return function(a)
    return type(a) == "table" and (want.op == nil or a.op == want.op)
       and target_matches(want.target, a.target) and subset(want.payload or {}, a.payload or {})
       and (want.key == nil or a.key == want.key)
  end
end

local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return fmt("%q", v) end
  if type(v) == "function" then return matcher(v) end
  if type(v) ~= "table" then return tostring(v) end
  if depth > 3 then return "{...}" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and match(k, "^[%a_][%w_]*$") and k or "[" .. show(k) .. "]"
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{ " .. concat(parts, ", ") .. " }"
end

-- One line per action: "add_note application 70001 (Ann Lee - Engineer) { subject = ... }".
function M.describe(action)
  local tg = action.target or {}
  return fmt("%s %s %s%s %s", tostring(action.op), tostring(tg.kind), tostring(tg.id),
             tg.name and " (" .. tg.name .. ")" or "", show(action.payload or {}))
end

local function describe_spec(want)
  local tg = want.target
  local parts = { "op = " .. tostring(want.op or "any") }
  if tg ~= nil then
    parts[#parts + 1] = "target = " .. (type(tg) == "table"
      and fmt("%s %s", tostring(tg.kind or "any"), tostring(tg.id)) or tostring(tg))
  end
  if want.payload then parts[#parts + 1] = "payload includes " .. show(want.payload) end
  if want.key then parts[#parts + 1] = "key = " .. want.key end
  return concat(parts, ", ")
end

local function describe_plan(actions)
  if type(actions) ~= "table" or #actions == 0 then return "  (nothing planned)" end
  local lines = {}
  for i, a in ipairs(actions) do lines[i] = fmt("  %d. %s", i, M.describe(a)) end
  return concat(lines, "\n")
end

local function check_actions(fname, actions)
  if type(actions) ~= "table" then
    misuse(fmt("%s: expected the list of actions from testing.run_rule, got %s", fname, type(actions)))
  end
end

-- assert.planned(actions, spec) / assert.not_planned(actions, spec)
local function planned(_, args)
  local actions, want = args[1], args[2]
  check_actions("assert.planned", actions)
  local ok = like("assert.planned", want)
  local found = false
  for _, a in ipairs(actions) do if ok(a) then found = true break end end
  args[1], args[2], args.n, args.nofmt = describe_spec(want), describe_plan(actions), 2, { true, true }
  return found
end

-- assert.planned_count(n, actions [, spec]); a run's summary in place of spec is ignored, so
-- assert.planned_count(0, testing.run_rule(rule, t)) reads as it should.
local function planned_count(_, args)
  local n, actions, want = args[1], args[2], args[3]
  if summaries[want] then want = nil end
  check_actions("assert.planned_count", actions)
  local ok = want ~= nil and like("assert.planned_count", want) or function() return true end
  local count = 0
  for _, a in ipairs(actions) do if ok(a) then count = count + 1 end end
  args[1], args[2], args[3] = tostring(n), want ~= nil and describe_spec(want) or "any", tostring(count)
  args[4], args.n, args.nofmt = describe_plan(actions), 4, { true, true, true, true }
  return count == n
end

say:set("assertion.planned.positive", "Expected an action planned like:\n  %s\nPlanned:\n%s")
say:set("assertion.planned.negative", "Expected no action planned like:\n  %s\nPlanned:\n%s")
say:set("assertion.planned_count.positive",
        "Expected %s actions planned like: %s\nbut %s were:\n%s")
say:set("assertion.planned_count.negative",
        "Expected other than %s actions planned like: %s\nbut %s were:\n%s")
luassert:register("assertion", "planned", planned, "assertion.planned.positive",
                  "assertion.planned.negative")
luassert:register("assertion", "planned_count", planned_count, "assertion.planned_count.positive",
                  "assertion.planned_count.negative")

return M
