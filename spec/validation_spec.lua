-- Values checked the way Tracker checks them (docs/client.md, "Values"): a dry run refuses what
-- --apply would have sent and the server refused, and the emulator refuses the same values.
local tracker = require "tracker"
local emulator = require "tracker.emulator"
local migrate = require "tracker.migrate"
local secrets = require "support.secrets"
local KEY, USER, TOKEN = secrets.apikey, secrets.username, secrets.api_token

local call = require("support.widget").caller({ apikey = KEY, username = USER })

-- An emulator of `dialect` and a client of it whose writes are planned (dry) or sent; `planned`
-- lists the actions the sink was handed.
local function fresh(dialect, dry)
  local now = 1795000000.0
  local emu = emulator.new({ apikey = KEY, username = USER, api_token = TOKEN, dialect = dialect,
                             data = emulator.generate({ seed = 3, jobs = 3, candidates = 5 }),
                             clock = function() return math.floor(now) end })
  local planned, paths = {}, {}
  emu.sent_paths = paths              -- what the client sent, for writes_sent
  local transport = setmetatable({ handle = function(_, method, path, headers, body)
    paths[#paths + 1] = path
    return emu:handle(method, path, headers, body)
  end }, { __index = emu })
  local t = tracker.connect({ transport = transport, rate_limit = false, timezone = false,
                              stages = emu:stages(), clock = function() return now end,
                              sleep = function(s) now = now + s end,
                              hook = function(action, send)
                                planned[#planned + 1] = action
                                if dry then return true end
                                return send()
                              end })
  return emu, t, planned
end

local function writes_sent(emu)
  local n = 0
  for _, path in ipairs(emu.sent_paths) do
    local verb = path:match("/api/widget/(%w+)")
    if verb == "updateRecord" or verb == "createResource" then n = n + 1 end
  end
  return n
end

-- The invalid error f raises.
local function refused(f)
  local ok, e = pcall(f)
  assert.is_false(ok, "expected the write to be refused")
  assert.is_true(tracker.is_error(e), tostring(e))
  assert.are.equal("invalid", e.code, tostring(e))
  return e
end

local function a_job(emu) return { kind = "job", id = emu:state().jobs[1].id } end
local function a_candidate(emu) return { kind = "candidate", id = emu:state().candidates[1].id } end

for _, dialect in ipairs(emulator.dialects.names()) do
  describe("values checked as Tracker checks them (" .. dialect .. " dialect)", function()
    it("refuses 2026-02-30 in a dry run, naming the field and the value, and plans nothing",
       function()
      local emu, t, planned = fresh(dialect, true)
      local e = refused(function()
        t:set_custom_fields(a_job(emu), { ["Target Start"] = "2026-02-30" })
      end)
      assert.are.equal("Target Start", e.field)
      assert.are.equal("2026-02-30", e.value)
      assert.matches("set_custom_fields: custom field 'Target Start' takes a calendar date "
                     .. "(YYYY-MM-DD), got '2026-02-30': there is no such day", e.message, 1, true)
      assert.are.equal(0, #planned)
      assert.are.equal(0, writes_sent(emu))
    end)

    it("knows the calendar: leap days, month 13, day 31 of a 30-day month", function()
      local emu, t, planned = fresh(dialect, true)
      local cand = a_candidate(emu)
      assert.is_true(t:update_candidate(cand, { date_of_birth = "2024-02-29" }))
      assert.is_true(t:update_candidate(cand, { date_of_birth = "2000-02-29" }))
      for _, bad in ipairs({ "2023-02-29", "1900-02-29", "2026-13-01", "2026-04-31",
                             "2026-00-10" }) do
        local e = refused(function() t:update_candidate(cand, { date_of_birth = bad }) end)
        assert.are.equal("date_of_birth", e.field)
        assert.matches("'" .. bad .. "'", e.message, 1, true)
      end
      assert.are.equal(2, #planned)
    end)

    it("refuses a source the database does not list: did you mean 'LinkedIn'?", function()
      local emu, t, planned = fresh(dialect, true)
      local e = refused(function()
        t:create_candidate({ first_name = "Ada", last_name = "Ng", source = "Linkdin" })
      end)
      assert.are.equal("source", e.field)
      assert.are.equal("Linkdin", e.value)
      assert.are.equal("LinkedIn", e.suggestion)
      assert.matches("did you mean 'LinkedIn'?", e.message, 1, true)
      assert.matches("'Company Website'", e.message, 1, true)        -- what is allowed
      assert.are.equal(0, #planned)
      -- another case is the item: sent as the list spells it
      assert.is_truthy(t:create_candidate({ first_name = "Ada", last_name = "Ng",
                                            source = "Linkedin" }))
      assert.are.equal(1, #planned)
      assert.are.equal("LinkedIn", planned[1].payload.source)
      assert.are.equal(0, writes_sent(emu))
    end)

    it("refuses a list field's value that is no item, suggesting the closest", function()
      local emu, t = fresh(dialect, true)
      local e = refused(function() t:set_custom_fields(a_candidate(emu), { Priority = "Hgh" }) end)
      assert.are.equal("Priority", e.field)
      assert.matches("'Hgh' is not an item of custom field 'Priority' (did you mean 'High'?) "
                     .. "(items: 'High', 'Medium', 'Low')", e.message, 1, true)
    end)

    it("types numbers and checkboxes as the field's type", function()
      local emu, t = fresh(dialect, true)
      local cand = a_candidate(emu)
      assert.are.equal("Score", refused(function()
        t:set_custom_fields(cand, { Score = "ten" })
      end).field)
      assert.are.equal("Security Clearance", refused(function()
        t:set_custom_fields(cand, { ["Security Clearance"] = "maybe" })
      end).field)
      assert.is_true(t:set_custom_fields(cand, { Score = "10", ["Security Clearance"] = "yes" }))
    end)

    it("holds text to a length only where the settings give one", function()
      local emu, t, planned = fresh(dialect, true)
      local long = string.rep("x", 81)
      if dialect == "rich" then          -- its settings give Hiring Manager a MaxLength of 80
        local e = refused(function()
          t:set_custom_fields(a_job(emu), { ["Hiring Manager"] = long })
        end)
        assert.are.equal("Hiring Manager", e.field)
        assert.matches("is 81 characters long: custom field 'Hiring Manager' takes at most 80",
                       e.message, 1, true)
        assert.are.equal(0, #planned)
      else                               -- no limit known: none is invented
        assert.is_true(t:set_custom_fields(a_job(emu), { ["Hiring Manager"] = long }))
      end
      assert.is_true(t:set_custom_fields(a_job(emu), { ["Hiring Manager"] = string.rep("y", 80) }))
    end)

    -- trk-valid <=> emulator-accepts, over generated values: what trk lets through is what the
    -- emulator takes, and what trk refuses the emulator refuses too (sent raw).
    it("refuses exactly the values the emulator refuses", function()
      local emu, t = fresh(dialect, false)
      local job = a_job(emu)
      local rnd = 12345
      local function r(n) rnd = (rnd * 1103515245 + 12345) % 2147483648; return rnd % n end
      local cases = {}
      for _ = 1, 150 do
        cases[#cases + 1] = { "Target Start", string.format("%04d-%02d-%02d", 1896 + r(210),
                                                            r(14), r(33)) }
      end
      for _, v in ipairs({ "High", "high", "HIGH", "Medium", "Med", "Hgh", "low ", "Urgent" }) do
        cases[#cases + 1] = { "Hiring Priority", v }
      end
      for n = 78, 82 do cases[#cases + 1] = { "Hiring Manager", string.rep("m", n) } end
      local ids = {}
      for _, d in ipairs(t:custom_fields("job")) do ids[d.name] = d.id end
      local agreed = 0
      for _, c in ipairs(cases) do
        local ok_trk, e = pcall(t.set_custom_fields, t, job, { [c[1]] = c[2] })
        if not ok_trk then assert.are.equal("invalid", e.code, tostring(e)) end
        local answer = call(emu, "updateRecord", {
          instructions = { recordtype = "O", recordid = job.id },
          customfields = { { id = ids[c[1]], value = c[2] } } })
        local ok_emu = answer.status == 0
        assert.are.equal(ok_trk, ok_emu, string.format("%s = '%s': trk %s, the emulator %s (%s)",
          c[1], c[2], ok_trk and "accepts" or "refuses", ok_emu and "accepts" or "refuses",
          tostring(answer.message)))
        agreed = agreed + 1
      end
      assert.are.equal(#cases, agreed)
    end)

    it("shows the server's refusal with the values the write sent, and no secret", function()
      local emu = fresh(dialect, false)
      local transport = setmetatable({ handle = function(_, method, path, headers, body)
        if path:find("updateRecord", 1, true) then
          return 200, { ["content-type"] = "application/json" },
                 '{"status":99,"message":"Invalid request: value out of range","count":0}'
        end
        return emu:handle(method, path, headers, body)
      end }, { __index = emu })
      local t = tracker.connect({ transport = transport, apikey = KEY, username = USER,
                                  api_token = TOKEN, rate_limit = false, timezone = false,
                                  stages = emu:stages() })
      local ok, e = t:set_custom_fields(a_candidate(emu), { Score = 1000 })
      assert.is_nil(ok)
      assert.are.equal("invalid_request", e.code)
      assert.matches("Invalid request: value out of range", e.message, 1, true)
      assert.matches("custom field 441 (Score) = '1000'", e.message, 1, true)
      assert.is_nil(e.message:find(KEY, 1, true))
      assert.is_nil(e.message:find(USER, 1, true))
    end)

    it("reports a migration's refused value by line and column, in a dry run", function()
      local emu, t, planned = fresh(dialect, true)
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write("First Name,Last Name,Email,Source,Priority\n",
              "Ada,Ng,ada@example.com,LinkedIn,High\n",
              "Bo,Li,bo@example.com,Linkdin,High\n",
              "Cy,Oz,cy@example.com,Referral,Hihg\n")
      f:close()
      local rows = migrate.csv(path, { header = { ["First Name"] = "first_name",
        ["Last Name"] = "last_name", Email = "email", Source = "source",
        Priority = "custom.Priority" } })
      local sum = migrate.upsert_candidates(t, rows)
      os.remove(path)
      assert.are.equal(1, sum.created)
      assert.are.equal(2, sum.failed)
      assert.are.equal(3, sum.errors[1].line)
      assert.matches("^line 3, column 'Source': invalid: create_candidate: 'Linkdin' is not an "
                     .. "item of this database's candidate sources %(did you mean 'LinkedIn'%?%)",
                     sum.errors[1].error)
      assert.matches("^line 4, column 'Priority': invalid: create_candidate: 'Hihg' is not an "
                     .. "item of custom field 'Priority' %(did you mean 'High'%?%)",
                     sum.errors[2].error)
      assert.are.equal(1, #planned)
      assert.are.equal(0, writes_sent(emu))
    end)
  end)
end

describe("the emulator's refusals", function()
  it("refuses a source its settings do not list, and keeps one as the list spells it", function()
    local emu = fresh("evidence", false)
    local a = call(emu, "createResource", { resource = { firstname = "A", lastname = "B",
                                                         source = "Linkdin" } })
    assert.are.equal(99, a.status)
    assert.matches("'Linkdin' is not one of the resource sources", a.message, 1, true)
    local b = call(emu, "createResource", { resource = { firstname = "A", lastname = "B",
                                                         source = "linkedin" } })
    assert.are.equal(0, b.status)
    local last = emu:state().candidates
    assert.are.equal("LinkedIn", last[#last].source)
  end)

  it("refuses 2026-02-30 in a date column and a date field", function()
    local emu = fresh("evidence", false)
    local a = call(emu, "updateRecord", { instructions = { recordtype = "R",
      recordid = emu:state().candidates[1].id },
      updates = { { column = "dateofbirth", value = "2026-02-30" } } })
    assert.are.equal(99, a.status)
    local b = call(emu, "updateRecord", { instructions = { recordtype = "O",
      recordid = emu:state().jobs[1].id }, customfields = { { id = 453, value = "2026-02-30" } } })
    assert.are.equal(99, b.status)
  end)

  it("serves MaxLength only in the rich dialect", function()
    for dialect, want in pairs({ rich = 80, evidence = nil }) do
      local emu = fresh(dialect, false)
      local s = call(emu, "getSettingsData", { instructions = {} })
      local got
      for _, f in ipairs(s.customFields) do if f.Id == 447 then got = f.MaxLength end end
      assert.are.equal(want, got, dialect)
    end
  end)
end)
