-- The interview-note rule, against the in-process emulator.
local testing = require "tracker.testing"

describe("the interview-note rule", function()
  local rule = testing.load_rule("interview_note.lua")
  local job = testing.job{ name = "Data Engineer" }
  local ann = testing.candidate{ name = "Ann Lee" }

  it("notes an application at Interview and marks the note as sent", function()
    local app = testing.application{ candidate = ann, job = job, stage = "Interview" }
    local actions = testing.run_rule(rule, testing.emulator{ app })
    assert.planned(actions, { op = "add_note", target = app, payload = {
      subject = "Interview", text = testing.contains("Ann Lee is at the interview stage for Data Engineer") } })
    assert.planned(actions, { op = "set_custom_fields", target = app,
                              payload = { fields = { ["Interview Note Sent"] = "Yes" } } })
    assert.planned_count(2, actions)
    assert.are.equal("add_note", actions[1].op)          -- the flag comes after the note
  end)

  it("leaves an application whose note was sent", function()
    local app = testing.application{ candidate = ann, job = job, stage = "Interview",
                                     custom = { ["Interview Note Sent"] = "Yes" } }
    local actions, summary = testing.run_rule(rule, testing.emulator{ app })
    assert.planned_count(0, actions)
    assert.are.equal(1, summary.seen)
    assert.are.equal(0, summary.matched)
  end)

  it("notes an application marked No", function()
    local app = testing.application{ candidate = ann, job = job, stage = "interview",
                                     custom = { ["Interview Note Sent"] = "No" } }
    assert.planned_count(1, testing.run_rule(rule, testing.emulator{ app }), { op = "add_note" })
  end)

  it("leaves applications in other stages", function()
    local screening = testing.application{ candidate = ann, job = job, stage = "Screening" }
    local second = testing.application{ candidate = testing.candidate{}, job = job,
                                        stage = "Second Interview" }
    local actions = testing.run_rule(rule, testing.emulator{ screening, second })
    assert.not_planned(actions, { target = screening })
    assert.not_planned(actions, { target = second })
  end)

  it("plans nothing once its writes are applied", function()
    local app = testing.application{ candidate = ann, job = job, stage = "Interview" }
    local t = testing.emulator{ app }
    assert.planned_count(2, testing.run_rule(rule, t, { apply = true }))
    assert.are.equal("Yes", t:application(app.id).custom["Interview Note Sent"])
    assert.planned_count(0, testing.run_rule(rule, t))
  end)
end)
