-- import_candidates.lua against `trk emulator`: plan, apply, apply again, then the fixed failures.
local ex = dofile((os.getenv("TRK_ROOT") or ".") .. "/examples/migrations/spec_support.lua")

local HEADER = "First Name,Last Name,Email,Mobile,City,Source,Work Authorization,Priority,error"

describe("examples/migrations/import_candidates.lua", function()
  local s, dir, state_db

  setup(function()
    s = ex.start(200)
    dir = ex.tmpdir()
    state_db = dir .. "/state.db"
  end)
  teardown(ex.stop)

  local function import(file, failed, apply)
    local options = { "--input", file, "--output", failed, "--state", state_db }
    if apply then options[#options + 1] = "--apply" end
    local r = ex.run(s, "import_candidates.lua", options, { file, failed })
    assert.are.equal(0, r.code, r.stderr)
    return r
  end

  local function by_email()
    local out = {}
    for _, c in ipairs(ex.state(s).candidates) do
      if c.email then out[c.email] = (out[c.email] or 0) + 1 end
    end
    return out
  end

  it("plans the import without --apply and changes nothing", function()
    if not ex.dry_by_default() then pending("trk run sends writes: no dry run in this build") return end
    local r = import("people.csv", dir .. "/planned-failures.csv")
    assert.is_truthy(r.stdout:find("rows 8: created 6, updated 0, unchanged 0, failed 2\n", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("create_candidate", 1, true), r.stdout)
    assert.are.equal(200, #ex.state(s).candidates)
  end)

  it("creates each good row once and writes the bad rows, as they were, to the failure file", function()
    local failed = dir .. "/failed.csv"
    local r = import("people.csv", failed, true)
    assert.is_truthy(r.stdout:find("rows 8: created 6, updated 0, unchanged 0, failed 2\n", 1, true), r.stdout)
    local emails = by_email()
    for _, e in ipairs({ "ada.okafor@example.com", "bruno.silva@example.com", "chloe.dubois@example.com",
                         "fatima.haddad@example.com", "grace.obrien@example.com",
                         "hiroshi.nakamura@example.com" }) do
      assert.are.equal(1, emails[e], e)
    end
    assert.are.equal(206, #ex.state(s).candidates)
    assert.are.equal(HEADER .. "\n"
      .. "Dmitri,Ivanova,dmitri.ivanova@example.com,,Denver,Job Fair,Green Card,Low,\"line 5, column "
      .. "'Work Authorization': invalid: create_candidate: 'Green Card' is not an item of custom "
      .. "field 'Work Authorization' (items: 'US Citizen', 'Permanent Resident', 'H-1B', "
      .. "'TN Visa', 'Requires Sponsorship')\"\n"
      .. "Emeka,Mensah,,(404) 555-0105,Atlanta,Referral,US Citizen,High,no email (the key of this import)\n",
      ex.slurp(failed))
  end)

  it("writes nothing when run again on the same file", function()
    local r = import("people.csv", dir .. "/failed-again.csv", true)
    assert.is_truthy(r.stdout:find("rows 8: created 0, updated 0, unchanged 6, failed 2\n", 1, true), r.stdout)
    assert.are.equal(206, #ex.state(s).candidates)
  end)

  it("imports the failure file once its rows are fixed", function()
    local text = ex.slurp(dir .. "/failed.csv")
    text = text:gsub("Green Card", "Permanent Resident"):gsub("Mensah,,", "Mensah,emeka.mensah@example.com,")
    ex.write(dir .. "/fixed.csv", text)
    local r = import(dir .. "/fixed.csv", dir .. "/failed-2.csv", true)
    assert.is_truthy(r.stdout:find("rows 2: created 2, updated 0, unchanged 0, failed 0\n", 1, true), r.stdout)
    assert.are.equal(HEADER .. "\n", ex.slurp(dir .. "/failed-2.csv"))
    local emails = by_email()
    assert.are.equal(1, emails["emeka.mensah@example.com"])
    assert.are.equal(1, emails["dmitri.ivanova@example.com"])
    assert.are.equal(208, #ex.state(s).candidates)
  end)
end)
