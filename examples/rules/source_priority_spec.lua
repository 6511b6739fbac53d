-- The source-priority rule, against the in-process emulator.
local testing = require "tracker.testing"

describe("the source-priority rule", function()
  local rule = testing.load_rule("source_priority.lua")

  it("gives a referred candidate High priority", function()
    local c = testing.candidate{ name = "Raj Patel", source = "Referral" }
    local actions = testing.run_rule(rule, testing.emulator{ c })
    assert.planned(actions, { op = "set_custom_fields", target = c,
                              payload = { fields = { Priority = "High" } } })
    assert.planned_count(1, actions)
  end)

  it("gives a job-fair candidate Medium priority", function()
    local c = testing.candidate{ source = "Job Fair" }
    local actions = testing.run_rule(rule, testing.emulator{ c })
    assert.planned(actions, { op = "set_custom_fields", target = c,
                              payload = { fields = { Priority = "Medium" } } })
  end)

  it("keeps a priority a recruiter set", function()
    local c = testing.candidate{ source = "Referral", custom = { Priority = "Low" } }
    assert.planned_count(0, testing.run_rule(rule, testing.emulator{ c }))
  end)

  it("leaves other sources and candidates without one", function()
    local linkedin = testing.candidate{ source = "LinkedIn" }
    local unknown = testing.candidate{}
    local actions, summary = testing.run_rule(rule, testing.emulator{ linkedin, unknown })
    assert.planned_count(0, actions)
    assert.are.equal(2, summary.seen)
    assert.are.equal(0, summary.matched)
  end)

  it("plans nothing once its writes are applied", function()
    local c = testing.candidate{ source = "Referral" }
    local t = testing.emulator{ c }
    assert.planned_count(1, testing.run_rule(rule, t, { apply = true }))
    assert.are.equal("High", t:candidate(c.id).custom.Priority)
    assert.planned_count(0, testing.run_rule(rule, t))
  end)
end)
