-- The stuck-reminder rule, against the in-process emulator (its clock: 2026-11-01T00:00:00Z).
local testing = require "tracker.testing"

describe("the stuck-reminder rule", function()
  local rule = testing.load_rule("stuck_reminder.lua")
  local job = testing.job{ name = "Paralegal" }
  local SUBJECT = "Reminder: waiting on the client"

  local function submitted(updated_at, stage)
    return testing.application{ candidate = testing.candidate{ name = "Leila Haddad" }, job = job,
                                stage = stage or "Submitted to Client", updated_at = updated_at }
  end

  it("reminds about an application waiting 14 days or more", function()
    local app = submitted("2026-10-01T09:00:00Z")
    local actions = testing.run_rule(rule, testing.emulator{ app })
    assert.planned(actions, { op = "add_note", target = app, payload = { subject = SUBJECT,
      text = testing.contains("in Submitted to Client since 2026-10-01 (30 days)") } })
    assert.planned_count(1, actions)
  end)

  it("counts from the last change, to the second", function()
    local just = submitted("2026-10-18T00:00:00Z")        -- exactly 14 days
    local not_yet = submitted("2026-10-18T00:00:01Z")
    local actions = testing.run_rule(rule, testing.emulator{ just, not_yet })
    assert.planned(actions, { target = just })
    assert.not_planned(actions, { target = not_yet })
  end)

  it("reads naive times when the database's time zone is not known", function()
    local app = submitted("2026-10-01T09:00:00Z")
    local t = testing.emulator({ app }, { timezone = false })
    assert.are.equal("2026-10-01T09:00:00", t:application(app.id).updated_at)
    assert.planned(testing.run_rule(rule, t), { op = "add_note", target = app })
  end)

  it("leaves applications in other stages", function()
    local app = submitted("2026-09-01T00:00:00Z", "Interview")
    assert.planned_count(0, testing.run_rule(rule, testing.emulator{ app }))
  end)

  it("looks at unchanged applications too (scan = all)", function()
    local app = submitted("2026-09-01T00:00:00Z")
    local actions = testing.run_rule(rule, testing.emulator{ app }, { since = "2026-10-31T00:00:00Z" })
    assert.planned(actions, { target = app })
  end)

  it("does not remind again within 14 days of a reminder", function()
    local app = submitted("2026-09-01T00:00:00Z")
    local old = submitted("2026-09-01T00:00:00Z")
    local recent = testing.note{ on = app, subject = SUBJECT, updated_at = "2026-10-25T00:00:00Z" }
    local stale = testing.note{ on = old, subject = SUBJECT, updated_at = "2026-10-01T00:00:00Z" }
    local actions = testing.run_rule(rule, testing.emulator{ recent, stale })
    assert.not_planned(actions, { target = app })
    assert.planned(actions, { target = old })
  end)

  it("plans nothing on the next run once a reminder is applied, and reminds again later", function()
    local app = submitted("2026-10-01T00:00:00Z")
    local t = testing.emulator{ app }
    assert.planned_count(1, testing.run_rule(rule, t, { apply = true }))
    assert.planned_count(0, testing.run_rule(rule, t))
    testing.advance(t, 13 * 86400)
    assert.planned_count(0, testing.run_rule(rule, t))
    testing.advance(t, 2 * 86400)
    assert.planned_count(1, testing.run_rule(rule, t))
  end)
end)
