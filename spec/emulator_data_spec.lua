-- The Tracker emulator's data: the generator, JSON fixtures, and the admin endpoints.
local emulator = require "tracker.emulator"
local json = require "json"

local CREDS = { username = "ops@example.com", apikey = "K3y" }

local function widget(emu, verb, node)
  node.credentials = CREDS
  local _, _, body = emu:handle("POST", "/api/widget/" .. verb, {},
                                json.encode({ trackerrms = { [verb] = node } }))
  return json.decode(body)
end

local function by_id(list)
  local t = {}
  for _, e in ipairs(list) do t[e.id] = e end
  return t
end

local STAMP = "^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$"

describe("emulator.generate", function()
  local big                     -- one large database shared by the realism checks
  setup(function()
    big = emulator.generate{ seed = 1, jobs = 200, candidates = 10000 }
  end)

  it("makes the same database for the same seed", function()
    assert.same(emulator.generate{ seed = 4, jobs = 10, candidates = 300 },
                emulator.generate{ seed = 4, jobs = 10, candidates = 300 })
  end)

  it("makes a different database for another seed", function()
    local a = emulator.generate{ seed = 4, jobs = 10, candidates = 50 }
    local b = emulator.generate{ seed = 5, jobs = 10, candidates = 50 }
    assert.not_same(a.candidates, b.candidates)
  end)

  it("makes 10000 candidates well within two seconds", function()
    local started = os.clock()
    local d = emulator.generate{ seed = 2, jobs = 200, candidates = 10000 }
    assert.equal(10000, #d.candidates)
    assert.is_true(os.clock() - started < 2, "took " .. (os.clock() - started))
  end)

  it("makes as many records as asked", function()
    local d = emulator.generate{ seed = 1, jobs = 7, candidates = 40, applications = 30,
                                 activities = 12, documents = 5, clients = 2, users = 4,
                                 leads = 3, crm_activities = 5 }
    assert.same({ 7, 40, 30, 17, 2, 4, 3 }, { #d.jobs, #d.candidates, #d.applications,
                                              #d.activities, #d.clients, #d.users, #d.leads })
    assert.is_true(#d.documents >= 5)
  end)

  it("copes with empty kinds", function()
    for _, opts in ipairs({ { jobs = 0, candidates = 0 }, { jobs = 3, candidates = 0 },
                            { jobs = 0, candidates = 3 }, { users = 0 }, { clients = 0, jobs = 2 } }) do
      local emu = emulator.new{ data = emulator.generate(opts) }
      assert.is_string(emu:to_json())
    end
  end)

  it("raises on an unknown option, naming the function", function()
    assert.has_error(function() emulator.generate{ people = 5 } end,
                     "emulator.generate: unknown option 'people'")
  end)

  it("raises on a negative count", function()
    assert.has_error(function() emulator.generate{ jobs = -1 } end,
                     "emulator.generate: 'jobs' must be a non-negative integer")
  end)

  it("gives every candidate a unique, well-formed email", function()
    local seen = {}
    for _, c in ipairs(big.candidates) do
      assert.matches("^[%w._%-]+@[%w.%-]+%.%a+$", c.email)
      assert.is_nil(seen[c.email], c.email)
      seen[c.email] = true
    end
  end)

  it("gives names from a varied pool, some of them not ASCII", function()
    local first, utf8_names = {}, 0
    for _, c in ipairs(big.candidates) do
      assert.is_true(#c.firstname > 0 and #c.lastname > 0)
      first[c.firstname] = true
      if c.firstname:find("[\128-\255]") or c.lastname:find("[\128-\255]") then utf8_names = utf8_names + 1 end
    end
    local n = 0
    for _ in pairs(first) do n = n + 1 end
    assert.is_true(n > 80)
    assert.is_true(utf8_names > 100)
  end)

  it("uses only stages, statuses and users that exist", function()
    local stages = by_id(big.lists.opportunityResourceStatuses)
    local statuses = by_id(big.lists.resourceStatuses)
    local users = by_id(big.users)
    for _, a in ipairs(big.applications) do assert.is_not_nil(stages[a.statusid]) end
    for _, c in ipairs(big.candidates) do
      assert.is_not_nil(statuses[c.statusid])
      assert.is_not_nil(users[c.ownerid])
    end
    for _, j in ipairs(big.jobs) do
      for _, o in ipairs(j.owners) do assert.is_true(users[o.userid].active) end
    end
  end)

  it("spreads applications over every stage, one per job and candidate pair", function()
    local used, pairs_seen = {}, {}
    local jobs, cands = by_id(big.jobs), by_id(big.candidates)
    for _, a in ipairs(big.applications) do
      used[a.statusid] = true
      local key = a.opportunityid .. ":" .. a.resourceid
      assert.is_nil(pairs_seen[key])
      pairs_seen[key] = true
      assert.is_not_nil(jobs[a.opportunityid])
      assert.is_not_nil(cands[a.resourceid])
    end
    for _, s in ipairs(big.lists.opportunityResourceStatuses) do assert.is_true(used[s.id], s.name) end
  end)

  it("gives placements a start date and rates", function()
    local stages = by_id(big.lists.opportunityResourceStatuses)
    for _, a in ipairs(big.applications) do
      if stages[a.statusid].placement then
        assert.matches("^%d%d%d%d%-%d%d%-%d%d$", a.startdate)
        assert.is_true(a.chargerate > a.payrate)
      end
    end
  end)

  it("fills list custom fields with items of their lists only", function()
    local defs = by_id(big.customfields)
    local items = {}
    for _, l in ipairs(big.customfieldlists) do
      items[l.id] = {}
      for _, it in ipairs(l.items) do items[l.id][it.name] = true end
    end
    local filled = 0
    for _, kind in ipairs({ "jobs", "candidates", "applications", "activities" }) do
      for _, r in ipairs(big[kind]) do
        for id, value in pairs(r.custom) do
          local def = defs[tonumber(id)]
          assert.is_not_nil(def)
          if def.type == "List" then assert.is_true(items[def.listid][value], value) end
          filled = filled + 1
        end
      end
    end
    assert.is_true(filled > 10000)
  end)

  it("spreads update times over the year before its reference time, with some ties", function()
    local min, max, days, count = "9", "0", {}, {}
    for _, c in ipairs(big.candidates) do
      assert.matches(STAMP, c.lastupdated)
      assert.is_true(c.lastupdated >= c.dateopened)
      if c.lastupdated < min then min = c.lastupdated end
      if c.lastupdated > max then max = c.lastupdated end
      days[c.lastupdated:sub(1, 10)] = true
      count[c.lastupdated] = (count[c.lastupdated] or 0) + 1
    end
    local ndays, ties = 0, 0
    for _ in pairs(days) do ndays = ndays + 1 end
    for _, n in pairs(count) do if n > 1 then ties = ties + 1 end end
    assert.is_true(min < "2025-12-01" and max > "2026-11-10", min .. " " .. max)
    assert.is_true(ndays > 300)
    assert.is_true(ties > 50)
  end)

  it("writes times in the zone it is given", function()
    local utc = emulator.generate{ seed = 8, jobs = 1, candidates = 5 }
    local ny = emulator.generate{ seed = 8, jobs = 1, candidates = 5, timezone = "America/New_York" }
    assert.equal("America/New_York", ny.timezone)
    assert.not_equal(utc.candidates[1].lastupdated, ny.candidates[1].lastupdated)
  end)

  it("gives some candidates a base64 resume, primary", function()
    local d = emulator.generate{ seed = 1, jobs = 2, candidates = 20 }
    local doc = d.documents[1]
    assert.same({ "R", "Resume", true, "application/pdf" },
                { doc.recordtype, doc.documenttype, doc.primary, doc.contenttype })
    assert.matches("^[A-Za-z0-9+/]+=*$", doc.data)
  end)

  it("serves getRecords over its own output", function()
    local emu = emulator.new{ apikey = "K3y", username = "ops@example.com",
                              data = emulator.generate{ seed = 1, jobs = 5, candidates = 30 } }
    local a = widget(emu, "getRecords", { instructions = { recordtype = "R", numrecords = 10 } })
    assert.same({ 0, 10 }, { a.status, a.count })
  end)
end)

describe("fixtures", function()
  local function fresh()
    return emulator.new{ apikey = "K3y", username = "ops@example.com",
                         data = emulator.generate{ seed = 6, jobs = 4, candidates = 25 } }
  end

  it("round-trip through JSON", function()
    local emu = fresh()
    assert.same(emu:save(), emulator.from_json(emu:to_json()))
  end)

  it("load into an emulator that answers as the original did", function()
    local emu = fresh()
    local copy = emulator.new{ apikey = "K3y", username = "ops@example.com",
                               data = emulator.from_json(emu:to_json()) }
    local ins = { instructions = { recordtype = "X", includecustomfields = true } }
    assert.same(widget(emu, "getRecords", ins), widget(copy, "getRecords", ins))
  end)

  it("write empty lists as JSON arrays", function()
    local text = emulator.new{}:to_json()
    assert.matches('"candidates":%[%]', text)
  end)

  it("keep writes out of the table they were loaded from", function()
    local d = emulator.generate{ seed = 1, jobs = 1, candidates = 3 }
    local emu = emulator.new{ apikey = "K3y", username = "ops@example.com", data = d }
    widget(emu, "updateRecord", { instructions = { recordtype = "R", recordid = 188001 },
                                  updates = { { column = "tag", value = "changed" } } })
    assert.equal("changed", emu:get("candidates", 188001).tag)
    assert.not_equal("changed", d.candidates[1].tag)
  end)

  it("save returns a copy", function()
    local emu = fresh()
    emu:save().candidates[1].firstname = "Mallory"
    assert.not_equal("Mallory", emu:get("candidates", 188001).firstname)
  end)

  it("load replaces the database", function()
    local emu = fresh()
    emu:load(emulator.generate{ seed = 1, jobs = 0, candidates = 2 })
    assert.equal(2, widget(emu, "getRecords", { instructions = { recordtype = "R" } }).count)
  end)

  it("from_json raises on text that is not a JSON object", function()
    assert.has_error(function() emulator.from_json("[1, 2") end)
    local ok, err = pcall(emulator.from_json, "3")
    assert.is_false(ok)
    assert.matches("emulator.from_json", err)
  end)

  it("refuses a JSON array as data, saying what it wanted", function()
    local ok, err = pcall(emulator.new, { data = emulator.from_json("[1, 2]") })
    assert.is_false(ok)
    assert.matches("data must be an object of record lists (jobs, candidates, ...), not an array", err, 1, true)
  end)

  it("load custom values keyed by number as well as by string", function()
    local emu = emulator.new{ data = { candidates = { { id = 5, firstname = "A", custom = { [441] = "7" } } } } }
    assert.equal("7", emu:get("candidates", 5).custom["441"])
  end)

  it("load raises on records without an integer id", function()
    local emu = emulator.new{}
    assert.has_error(function() emu:load({ candidates = { { firstname = "X" } } }) end,
                     "emulator:load: data.candidates[1] has no integer id")
  end)
end)

describe("admin endpoints", function()
  local function admin_emu()
    return emulator.new{ admin = true, apikey = "K3y", username = "ops@example.com",
                         password = "pw", data = emulator.generate{ seed = 2, jobs = 2, candidates = 5 } }
  end

  it("serve the state as JSON", function()
    local status, h, body = admin_emu():handle("GET", "/_emulator/state", {}, "")
    assert.equal(200, status)
    assert.equal("application/json; charset=utf-8", h["content-type"])
    assert.equal(5, #json.decode(body).candidates)
  end)

  it("keep passwords out of the state", function()
    local _, _, body = admin_emu():handle("GET", "/_emulator/state", {}, "")
    assert.is_nil(body:find('"password"', 1, true))
  end)

  it("reset restores the initial data", function()
    local emu = admin_emu()
    widget(emu, "createResource", { resource = { firstname = "Temp", email = "t@example.com" } })
    assert.equal(6, #emu:state().candidates)
    local status = emu:handle("POST", "/_emulator/reset", {}, "")
    assert.equal(200, status)
    assert.equal(5, #emu:state().candidates)
    local again = widget(emu, "createResource", { resource = { firstname = "Temp", email = "t@example.com" } })
    assert.equal(0, again.status)
  end)

  it("answer 404 unless the emulator was made with admin", function()
    local emu = emulator.new{}
    assert.equal(404, (emu:handle("GET", "/_emulator/state", {}, "")))
    assert.equal(404, (emu:handle("POST", "/_emulator/reset", {}, "")))
  end)

  it("answer 405 for the wrong method", function()
    assert.equal(405, (admin_emu():handle("POST", "/_emulator/state", {}, "")))
  end)
end)
