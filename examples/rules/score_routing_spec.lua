-- The score-routing rule, against the in-process emulator.
local testing = require "tracker.testing"

describe("the score-routing rule", function()
  local rule = testing.load_rule("score_routing.lua")
  local job = testing.job{ name = "QA Analyst" }

  local function app(stage, score)
    return testing.application{ candidate = testing.candidate{}, job = job, stage = stage,
                                custom = { ["Recruiter Score"] = score } }
  end

  it("moves a Screening application scored 8 or more to Submitted to Client", function()
    local nine, eight = app("Screening", 9), app("Screening", 8)
    local actions = testing.run_rule(rule, testing.emulator{ nine, eight })
    for _, a in ipairs({ nine, eight }) do
      assert.planned(actions, { op = "move_to_stage", target = a,
                                payload = { stage = "Submitted to Client", from = "Screening" } })
      assert.planned(actions, { op = "add_note", target = a, payload = {
        subject = "Submitted to Client",
        text = testing.contains("by score-routing: Recruiter Score " .. (a == nine and 9 or 8)) } })
    end
    assert.planned_count(4, actions)
  end)

  it("leaves low and missing scores where they are", function()
    local low, none = app("Screening", 7), app("Screening", nil)
    local actions, summary = testing.run_rule(rule, testing.emulator{ low, none })
    assert.planned_count(0, actions)
    assert.are.equal(2, summary.seen)
  end)

  it("leaves high scores in other stages", function()
    assert.planned_count(0, testing.run_rule(rule, testing.emulator{ app("Interview", 10),
                                                                     app("Applied", 9) }))
  end)

  it("plans nothing once the moves are applied", function()
    local a = app("Screening", 10)
    local t = testing.emulator{ a }
    assert.planned_count(2, testing.run_rule(rule, t, { apply = true }))   -- the move, the note
    assert.are.equal("Submitted to Client", t:application(a.id).stage)
    assert.planned_count(0, testing.run_rule(rule, t))
  end)
end)
