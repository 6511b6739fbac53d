-- One rule runner: `trk rules` and the busted kit (testing.run_rule) run rules through the same
-- tracker.rules.run, so a rule's spec proves what trk rules will do. The shipped example rules,
-- planned both ways over the same database, must plan the same writes, in the same order.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"
local testing = require "tracker.testing"
local canonical = require("tracker").actions.canonical

local ROOT = os.getenv("TRK_ROOT") or "."
local RULES = ROOT .. "/examples/rules"
local SINCE = "2000-01-01T00:00:00Z"
local NOW = "2026-11-20T12:00:00Z"

local function rule_files()
  local out = {}
  local p = io.popen("ls -1 " .. RULES)
  for name in p:lines() do
    if name:match("%.lua$") and not name:match("_spec%.lua$") then out[#out + 1] = name end
  end
  p:close()
  return out
end

-- What a planned action is, without what only one side knows (its number in the run).
local function shape(a)
  return canonical({ op = a.op, key = a.key, target = a.target, payload = a.payload })
end

describe("trk rules and testing.run_rule", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("plan the same writes for every example rule over the same data", function()
    local srv = server.start({ "--generate", "60", "--seed", "11", "--admin" })
    local data = server.state(srv)
    local plan = trk.tmpdir() .. "/plan.jsonl"
    local r = trk.exec({ "rules", RULES, "--since", SINCE, "--now", NOW, "--plan", plan },
                       { env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)

    local by_rule = {}                 -- trk rules' plan, each rule's actions in order
    for line in io.lines(plan) do
      local a = json.decode(line)
      by_rule[a.rule] = by_rule[a.rule] or {}
      table.insert(by_rule[a.rule], shape(a))
    end

    local files, compared = rule_files(), 0
    assert.is_true(#files >= 5, table.concat(files, ", "))
    for _, f in ipairs(files) do
      local rule = testing.load_rule(RULES .. "/" .. f)
      local t = testing.emulator(data, { now = NOW })
      local actions, summary = testing.run_rule(rule, t, { since = SINCE, catch = true })
      assert.are.same({}, summary.errors, f)
      local mine = {}
      for i, a in ipairs(actions) do mine[i] = shape(a) end
      assert.are.same(by_rule[rule.name] or {}, mine, f .. ": the plans differ")
      compared = compared + #mine
    end
    -- the comparison means something only if the rules planned writes
    assert.is_true(compared >= 10, "only " .. compared .. " actions planned")
  end)
end)
