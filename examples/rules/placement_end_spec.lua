-- The placement-end rule, against the in-process emulator.
local testing = require "tracker.testing"

describe("the placement-end rule", function()
  local rule = testing.load_rule("placement_end.lua")
  local ward = testing.job{ name = "Ward Nurse" }

  it("ends a working placement six months after its start", function()
    local p = testing.placement{ candidate = testing.candidate{ name = "Ann Lee" }, job = ward,
                                 start_date = "2026-11-02", pay_rate = 40, charge_rate = 55 }
    local actions = testing.run_rule(rule, testing.emulator{ p })
    assert.planned(actions, { op = "update_placement", target = p,
                              payload = { fields = { end_date = "2027-05-03" } } })
    assert.planned_count(1, actions)
  end)

  it("leaves ended placements, offers, placements without a start, and other applications", function()
    local ended = testing.placement{ candidate = testing.candidate{}, job = ward,
                                     start_date = "2026-09-01", end_date = "2027-02-28" }
    local offer = testing.placement{ candidate = testing.candidate{}, job = ward, stage = "Offer",
                                     start_date = "2026-12-01" }
    local unstarted = testing.placement{ candidate = testing.candidate{}, job = ward }
    local interview = testing.application{ candidate = testing.candidate{}, job = ward,
                                           stage = "Interview" }
    local actions, summary = testing.run_rule(rule, testing.emulator{ ended, offer, unstarted,
                                                                      interview })
    assert.planned_count(0, actions)
    assert.are.same({ 3, 0 }, { summary.seen, summary.matched })   -- the interview is no placement
  end)

  it("plans nothing once its writes are applied", function()
    local p = testing.placement{ candidate = testing.candidate{}, job = ward,
                                 start_date = "2026-11-02" }
    local t = testing.emulator{ p }
    assert.planned_count(1, testing.run_rule(rule, t, { apply = true }))
    assert.are.equal("2027-05-03", t:placement(p.id).end_date)
    assert.planned_count(0, testing.run_rule(rule, t))
  end)
end)
