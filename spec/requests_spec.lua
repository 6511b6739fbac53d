-- Requests a job does not need are not made (docs/performance.md): a stream of applications in
-- several stages reads the custom fields of those rows only, and a move's `from` is checked
-- against the page the stream holds. Against the in-process emulator, counting its requests.
local testing = require "tracker.testing"

-- A client over fixtures, and a function answering how many requests of `pattern` (matched on
-- "METHOD path") it has answered since the last call.
local function counted(fixtures, dialect)
  local t = testing.emulator(fixtures, { dialect = dialect })
  local emu = testing.emulator_of(t)
  local handle, log = emu.handle, {}
  emu.handle = function(self, method, path, headers, body)
    log[#log + 1] = method .. " " .. path
    return handle(self, method, path, headers, body)
  end
  return t, function(pattern)
    local n = 0
    for _, line in ipairs(log) do if line:find(pattern) then n = n + 1 end end
    for i = #log, 1, -1 do log[i] = nil end
    return n
  end
end

local APP_READ = "^GET /api/v1/OpportunityResource/%d+$"

local function applications(stages)
  local job, apps = testing.job{ name = "Paralegal" }, {}
  for i, stage in ipairs(stages) do
    apps[i] = testing.application{ candidate = testing.candidate{}, job = job, stage = stage }
  end
  return apps
end

describe("a stream of applications in a list of stages", function()
  local STAGES = { "Applied", "Screening", "Interview", "Offer", "Screening", "Rejected" }

  it("yields the applications in any of those stages, and no other", function()
    local apps = applications(STAGES)
    local t = counted(apps)
    local got = {}
    for a in t:applications{ stage = { "Screening", "interview" } } do got[#got + 1] = a.id end
    assert.are.same({ apps[2].id, apps[3].id, apps[5].id }, got)
  end)

  it("reads the custom fields of those rows only, where search rows lack them", function()
    -- the evidence dialect's /Search rows have no custom fields: each kept row is read
    local t, count = counted(applications(STAGES))
    for _ in t:applications{} do end
    assert.are.equal(#STAGES, count(APP_READ))
    for _ in t:applications{ stage = { "Screening", "Interview" } } do end
    assert.are.equal(3, count(APP_READ))
  end)

  it("refuses an empty list, and names the list item that is not a stage", function()
    local t = counted(applications(STAGES))
    assert.has_error(function() t:applications{ stage = {} } end,
      "applications: option 'stage' is an empty list: name at least one stage, or leave it out")
    local ok, e = pcall(t.applications, t, { stage = { "Screening", "Intervew" } })
    assert.is_false(ok)
    assert.matches("option 'stage', item 2: ", e, 1, true)
    assert.matches("Interview", e, 1, true)
  end)
end)

describe("move_to_stage with from", function()
  it("reads nothing for an application the stream holds", function()
    local apps = applications{ "Screening", "Screening", "Applied" }
    local t, count = counted(apps, "rich")
    for a in t:applications{} do
      if a.stage == "Screening" then
        assert.is_true(t:move_to_stage(a, "Interview", { from = "Screening" }))
      end
    end
    assert.are.equal(0, count(APP_READ))
    assert.are.equal("Interview", t:application(apps[1].id).stage)
    assert.are.equal("Interview", t:application(apps[2].id).stage)
  end)

  it("answers conflict from the stage the held page shows, without a read", function()
    local apps = applications{ "Screening" }
    local t, count = counted(apps, "rich")
    for a in t:applications{} do
      local ok, e = t:move_to_stage(a, "Interview", { from = "Applied" })
      assert.is_nil(ok)
      assert.are.equal("conflict", e.code)
      assert.are.equal("Screening", e.current)
    end
    assert.are.equal(0, count(APP_READ))
  end)

  it("reads an application it moved already, and one no stream holds", function()
    local apps = applications{ "Screening" }
    local t, count = counted(apps, "rich")
    for a in t:applications{} do
      assert.is_true(t:move_to_stage(a, "Interview", { from = "Screening" }))
      assert.is_true(t:move_to_stage(a, "Offer", { from = "Interview" }))
    end
    assert.are.equal(1, count(APP_READ))
    -- the stream has ended: it holds no page, so the move reads, and sees the last move
    local ok, e = t:move_to_stage(apps[1].id, "Working", { from = "Interview" })
    assert.is_nil(ok)
    assert.are.equal("Offer", e.current)
    assert.are.equal(1, count(APP_READ))
  end)
end)
