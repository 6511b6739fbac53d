-- The sponsorship-knockout rule, against the in-process emulator.
local testing = require "tracker.testing"

describe("the sponsorship-knockout rule", function()
  local rule = testing.load_rule("sponsorship_knockout.lua")
  local job = testing.job{ name = "Controller" }

  local function applicant(authorization, stage)
    local c = testing.candidate{ custom = { ["Work Authorization"] = authorization } }
    return testing.application{ candidate = c, job = job, stage = stage or "Applied" }
  end

  it("rejects a new applicant who needs sponsorship, with the reason and a note", function()
    local app = applicant("Requires Sponsorship")
    local actions = testing.run_rule(rule, testing.emulator{ app })
    assert.planned(actions, { op = "move_to_stage", target = app, payload = { stage = "Rejected" } })
    assert.planned(actions, { op = "set_custom_fields", target = app,
                              payload = { fields = { ["Rejection Reason"] = "Failed screening" } } })
    assert.planned(actions, { op = "add_note", target = app, payload = {
      subject = "Rejected", text = testing.contains("requires visa sponsorship") } })
    assert.planned_count(3, actions)
  end)

  it("keeps applicants who may work here or did not say", function()
    local citizen, visa, silent = applicant("US Citizen"), applicant("H-1B"), applicant(nil)
    local actions = testing.run_rule(rule, testing.emulator{ citizen, visa, silent })
    assert.planned_count(0, actions)
  end)

  it("leaves applications past the Applied stage", function()
    local later = applicant("Requires Sponsorship", "Interview")
    assert.planned_count(0, testing.run_rule(rule, testing.emulator{ later }))
  end)

  it("reads each candidate once a run", function()
    local function requests(n)
      local c = testing.candidate{ custom = { ["Work Authorization"] = "Requires Sponsorship" } }
      local apps = {}
      for i = 1, n do
        apps[i] = testing.application{ candidate = c, job = testing.job{}, stage = "Applied" }
      end
      local t = testing.emulator(apps)
      local actions = testing.run_rule(rule, t)
      assert.planned_count(n, actions, { op = "move_to_stage" })
      -- less the reads of one application each, for the custom fields search rows lack
      -- where the database's search leaves them out (tracker-api.md §9.7)
      local stats = t:stats()
      return stats.requests - (stats.row_reads or 0)
    end
    assert.are.equal(requests(1), requests(3))
  end)

  it("reads every candidate in one stream once it needs more than 100", function()
    -- the candidate reads of a run over n applicants (widget getRecords of record type R)
    local function reads(n)
      local apps = {}
      for i = 1, n do apps[i] = applicant(i % 2 == 0 and "Requires Sponsorship" or "TN Visa") end
      local t = testing.emulator(apps)
      local emu, count = testing.emulator_of(t), 0
      local handle = emu.handle
      emu.handle = function(self, method, path, headers, body)
        if path:find("/getRecords", 1, true) and body:find('"recordtype":"R"', 1, true) then
          count = count + 1
        end
        return handle(self, method, path, headers, body)
      end
      local actions = testing.run_rule(rule, t)
      assert.planned_count(n // 2, actions, { op = "move_to_stage" })
      for i = 2, n, 2 do assert.planned(actions, { op = "move_to_stage", target = apps[i] }) end
      return count, emu.dialect.widget_page_cap
    end
    assert.are.equal(1, reads(1))
    -- 100 reads, then the 300 candidates in pages as large as the server gives and the page
    -- after the last (a short page is not the end until the server shows it:
    -- docs/tracker-api.md)
    local n, cap = reads(300)
    assert.are.equal(100 + (300 + cap - 1) // cap + 1, n)
  end)

  it("plans nothing once the rejections are applied", function()
    local app = applicant("Requires Sponsorship")
    local t = testing.emulator{ app }
    assert.planned_count(3, testing.run_rule(rule, t, { apply = true }))
    assert.are.equal("Rejected", t:application(app.id).stage)
    assert.planned_count(0, testing.run_rule(rule, t))
  end)
end)
