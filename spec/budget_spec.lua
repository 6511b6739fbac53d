-- A rule's instruction budget holds for the work trk's C library does on its behalf too
-- (pattern matching, sorting), not only for its Lua code: the real trk against `trk emulator`.
local trk = require "support.trk"
local server = require "support.server"

local SINCE = "2000-01-01T00:00:00Z"
local DATA = { "--generate", "3", "--seed", "3", "--admin" }

local rules_dir = trk.dir_with

-- Runs `trk rules DIR --rule-budget 1000000` (with a deadline, so that a rule the budget
-- misses ends the run rather than the test); answers the result and the seconds it took.
local function rules(srv, dir)
  local clock = io.popen("date +%s.%N")
  local t0 = tonumber(clock:read("l"))
  clock:close()
  local r = trk.exec({ "rules", dir, "--since", SINCE, "--rule-budget", "1000000",
                       "--deadline", "60s" }, { env = server.client_env(srv) })
  clock = io.popen("date +%s.%N")
  local t1 = tonumber(clock:read("l"))
  clock:close()
  return r, t1 - t0
end

local function rule(when)
  return string.format([[
return {
  on = "candidates",
  when = function(c)
    %s
  end,
  action = function() end,
}
]], when)
end

describe("a rule's instruction budget", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("stops a pathological pattern match", function()
    local srv = server.start(DATA)
    -- about 7e11 matcher steps: hours, unless the matcher is charged to the budget
    local dir = rules_dir{ ["match.lua"] = rule([[return ("a"):rep(2000):find("^.-.-.-.-b") ~= nil]]) }
    local r, secs = rules(srv, dir)
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("match.lua:4: instruction budget exceeded (1000000 instructions, "
                                   .. "--rule-budget)", 1, true), r.stderr)
    assert.is_nil(r.stderr:find("deadline", 1, true), r.stderr)
    assert.is_true(secs < 10, secs)
  end)

  it("stops many short matches that add up", function()
    local srv = server.start(DATA)
    -- each find is under one poll's worth of steps; together, about 8e8 steps
    local dir = rules_dir{ ["short.lua"] = rule([[
    local s = ("a"):rep(200)
    for i = 1, 20000 do s:find("^.-.-b") end
    return false]]) }
    local r, secs = rules(srv, dir)
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("instruction budget exceeded (1000000 instructions", 1, true),
                     r.stderr)
    assert.is_true(secs < 10, secs)
  end)

  it("stops a long sort", function()
    local srv = server.start(DATA)
    -- filling the table costs under half the budget; sorting it, over a million comparisons
    local dir = rules_dir{ ["sort.lua"] = rule([[
    local t = {}
    for i = 1, 100000 do t[i] = -i end
    table.sort(t)
    return false]]) }
    local r = rules(srv, dir)
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("instruction budget exceeded (1000000 instructions", 1, true),
                     r.stderr)
  end)
end)
