-- backfill_custom.lua against `trk emulator`: Priority from Score for every candidate, once.
local ex = dofile((os.getenv("TRK_ROOT") or ".") .. "/examples/migrations/spec_support.lua")

local SCORE, PRIORITY = "441", "448"       -- the demo database's custom field ids

describe("examples/migrations/backfill_custom.lua", function()
  local s, dir, state_db

  setup(function()
    s = ex.start(200)
    dir = ex.tmpdir()
    state_db = dir .. "/state.db"
  end)
  teardown(ex.stop)

  local function backfill(apply)
    local failed = dir .. "/failed.csv"
    local options = { "--output", failed, "--state", state_db }
    if apply then options[#options + 1] = "--apply" end
    local r = ex.run(s, "backfill_custom.lua", options, { failed })
    assert.are.equal(0, r.code, r.stderr)
    return r, ex.slurp(failed)
  end

  local function priorities()
    local out = {}
    for _, c in ipairs(ex.state(s).candidates) do
      out[c.id] = { score = c.custom and tonumber(c.custom[SCORE]),
                    priority = c.custom and c.custom[PRIORITY] or false }
    end
    return out
  end

  local function expected(score)
    return score >= 8 and "High" or score >= 5 and "Medium" or "Low"
  end

  it("plans the writes without --apply and changes nothing", function()
    if not ex.dry_by_default() then pending("trk run sends writes: no dry run in this build") return end
    local before = priorities()
    local r = backfill(false)
    assert.matches("records 200: updated %d+, unchanged %d+, skipped %d+, failed 0\n", r.stdout)
    assert.is_truthy(r.stdout:find("set_custom_fields", 1, true), r.stdout)
    assert.are.same(before, priorities())
  end)

  it("sets Priority from Score, and leaves candidates without a Score as they were", function()
    local before = priorities()
    local r, failed = backfill(true)
    local updated = tonumber(r.stdout:match("updated (%d+)"))
    local changed, skipped = 0, 0
    for id, c in pairs(priorities()) do
      if c.score then
        assert.are.equal(expected(c.score), c.priority, "candidate " .. id)
        if before[id].priority ~= c.priority then changed = changed + 1 end
      else
        skipped = skipped + 1
        assert.are.equal(before[id].priority, c.priority, "candidate " .. id)
      end
    end
    assert.is_true(changed > 0)
    assert.are.equal(changed, updated)
    assert.is_truthy(r.stdout:find(("skipped %d, failed 0\n"):format(skipped), 1, true), r.stdout)
    assert.are.equal("id,name,error\n", failed)
  end)

  it("writes nothing when run again", function()
    local r = backfill(true)
    assert.matches("records 200: updated 0, unchanged %d+, skipped %d+, failed 0\n", r.stdout)
  end)
end)
