-- The duplicate-email rule, against the in-process emulator.
local testing = require "tracker.testing"

describe("the duplicate-email rule", function()
  local rule = testing.load_rule("duplicate_email.lua")

  -- the write that marks `dup` as a duplicate of `of` (a Number field: its text is the id)
  local function marked(dup, of)
    return { op = "set_custom_fields", target = dup,
             payload = { fields = { ["Duplicate Of"] = tostring(of.id) } } }
  end

  it("marks and notes the newer of two candidates with one email, and reports it", function()
    local first = testing.candidate{ name = "Wei Chen", email = "wei.chen@example.com" }
    local again = testing.candidate{ name = "Wei Chen", email = "Wei.Chen@Example.com" }
    local actions, summary = testing.run_rule(rule, testing.emulator{ first, again })
    assert.planned(actions, marked(again, first))
    assert.planned(actions, { op = "add_note", target = again, payload = {
      subject = "Possible duplicate", text = testing.contains("candidate " .. first.id) } })
    assert.not_planned(actions, { target = first })
    assert.planned_count(2, actions)
    assert.are.equal(1, #summary.log)
    assert.are.equal("warn", summary.log[1].level)
    assert.truthy(summary.log[1].text:find("duplicate email wei.chen@example.com", 1, true))
  end)

  it("marks every newer one of a group, once, as a duplicate of the oldest", function()
    local a = testing.candidate{ email = "sam@example.org" }
    local b = testing.candidate{ email = "sam@example.org" }
    local c = testing.candidate{ email = "SAM@example.org" }
    local actions = testing.run_rule(rule, testing.emulator{ c, a, b })
    assert.planned_count(1, actions, marked(b, a))
    assert.planned_count(1, actions, marked(c, a))
    assert.not_planned(actions, { target = a })
    assert.planned_count(4, actions)
  end)

  it("finds nothing among distinct emails", function()
    local actions, summary = testing.run_rule(rule, testing.emulator{
      testing.candidate{ email = "a@example.com" }, testing.candidate{ email = "b@example.com" },
      testing.candidate{ email = false } })
    assert.planned_count(0, actions)
    assert.are.equal(3, summary.seen)
    assert.are.equal(2, summary.matched)
  end)

  it("finds the older one when only the newer one changed", function()
    local old = testing.candidate{ email = "kim@example.net", updated_at = "2026-01-01T00:00:00Z" }
    local new = testing.candidate{ email = "kim@example.net", updated_at = "2026-10-30T00:00:00Z" }
    local actions = testing.run_rule(rule, testing.emulator{ old, new },
                                     { since = "2026-10-01T00:00:00Z" })
    assert.planned(actions, marked(new, old))
  end)

  it("leaves a candidate marked already, and marks only the newcomer", function()
    local a = testing.candidate{ email = "lee@example.com" }
    local b = testing.candidate{ email = "lee@example.com", custom = { ["Duplicate Of"] = a.id } }
    assert.planned_count(0, testing.run_rule(rule, testing.emulator{ a, b }))
    local c = testing.candidate{ email = "lee@example.com" }
    local actions = testing.run_rule(rule, testing.emulator{ a, b, c })
    assert.planned(actions, marked(c, a))
    assert.not_planned(actions, { target = b })
    assert.planned_count(2, actions)
  end)

  it("plans nothing once applied", function()
    local a = testing.candidate{ email = "jo@example.com" }
    local b = testing.candidate{ email = "jo@example.com" }
    local t = testing.emulator{ a, b }
    assert.planned_count(2, testing.run_rule(rule, t, { apply = true }))
    assert.are.equal(a.id, t:candidate(b.id).custom["Duplicate Of"])
    local actions, summary = testing.run_rule(rule, t)
    assert.planned_count(0, actions)
    assert.are.same({}, summary.log)
  end)
end)
