-- bulk_move.lua against `trk emulator`: ids from a file with a FROM guard, then from the command line.
local ex = dofile((os.getenv("TRK_ROOT") or ".") .. "/examples/migrations/spec_support.lua")

describe("examples/migrations/bulk_move.lua", function()
  local s, dir, state_db
  local screening, applied = {}, nil        -- application ids, as found in the emulator

  local function stage_id(name)
    for _, st in ipairs(ex.state(s).lists.opportunityResourceStatuses) do
      if st.name == name then return st.id end
    end
  end

  local function stages()
    local out = {}
    for _, a in ipairs(ex.state(s).applications) do out[a.id] = a.statusid end
    return out
  end

  setup(function()
    s = ex.start(200)
    dir = ex.tmpdir()
    state_db = dir .. "/state.db"
    local screen, appl = stage_id("Screening"), stage_id("Applied")
    for _, a in ipairs(ex.state(s).applications) do
      if a.statusid == screen and #screening < 4 then screening[#screening + 1] = a.id end
      if a.statusid == appl then applied = applied or a.id end
    end
    assert(#screening == 4 and applied, "the generated data has applications in Screening and Applied")
    ex.write(dir .. "/ids.csv", ("id\n%d\n%d\n%d\n%d\nnot-an-id\n"):format(screening[1], screening[2],
                                                                         screening[3], applied))
  end)
  teardown(ex.stop)

  local function move(args, apply, failed)
    local options = { "--state", state_db, "--input", dir .. "/ids.csv" }
    if failed then
      options[#options + 1] = "--output"
      options[#options + 1] = failed
    end
    if apply then options[#options + 1] = "--apply" end
    local r = ex.run(s, "bulk_move.lua", options, args)
    assert.are.equal(0, r.code, r.stderr)
    return r
  end

  it("plans the moves without --apply and changes nothing", function()
    if not ex.dry_by_default() then pending("trk run sends writes: no dry run in this build") return end
    local before = stages()
    local r = move({ dir .. "/ids.csv", "Interview", "-", "Screening" })
    assert.is_truthy(r.stdout:find("rows 5: moved 3, unchanged 0, failed 2\n", 1, true), r.stdout)
    assert.are.same(before, stages())
  end)

  it("moves the listed applications that are in the FROM stage and reports the others", function()
    local failed = dir .. "/failed.csv"
    local r = move({ dir .. "/ids.csv", "Interview", failed, "Screening" }, true, failed)
    assert.is_truthy(r.stdout:find("rows 5: moved 3, unchanged 0, failed 2\n", 1, true), r.stdout)
    local now, interview = stages(), stage_id("Interview")
    for k = 1, 3 do assert.are.equal(interview, now[screening[k]]) end
    assert.are.equal(stage_id("Screening"), now[screening[4]])    -- not listed
    assert.are.equal(stage_id("Applied"), now[applied])
    assert.are.equal(("id,error\n%d,\"conflict: application %d is in stage 'Applied', not 'Screening'\"\n"
                      .. "not-an-id,'not-an-id' is not an application id\n"):format(applied, applied),
                     ex.slurp(failed))
  end)

  it("leaves alone applications already in the stage when run again", function()
    local r = move({ dir .. "/ids.csv", "Interview", "-", "Screening" }, true)
    assert.is_truthy(r.stdout:find("rows 5: moved 0, unchanged 3, failed 2\n", 1, true), r.stdout)
  end)

  it("takes ids from the command line", function()
    local r = move({ screening[4] .. "," .. applied, "Offer" }, true)
    assert.is_truthy(r.stdout:find("rows 2: moved 2, unchanged 0, failed 0\n", 1, true), r.stdout)
    local now = stages()
    assert.are.equal(stage_id("Offer"), now[screening[4]])
    assert.are.equal(stage_id("Offer"), now[applied])
  end)
end)
