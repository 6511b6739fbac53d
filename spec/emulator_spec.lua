-- The Tracker emulator's widget API, driven through emu:handle as the transports drive it.
local emulator = require "tracker.emulator"
local json = require "json"
local time = require("tracker").time
local widget = require "support.widget"
local ids = widget.ids

local NOW = time.parse("2026-11-20T12:00:00Z")      -- 07:00 in New York
local CREDS = { username = "ops@example.com", apikey = "K3y" }
local call, records = widget.caller(CREDS)

-- A small hand-made database whose every value the specs can name.
local function tiny()
  return {
    users = {
      { id = 20, username = "ops@example.com", email = "ops@example.com", firstname = "Olive",
        lastname = "Ops", active = true },
      { id = 21, username = "rec@example.com", email = "rec@example.com", firstname = "Rita",
        lastname = "Recruiter", active = true, password = "s3cret" },
      { id = 22, username = "gone@example.com", email = "gone@example.com", firstname = "Gus",
        lastname = "Gone", active = false, password = "old" },
    },
    clients = { { id = 301, name = "Acme Health", lastupdated = "2026-10-01 09:00:00" } },
    contacts = { { id = 4001, clientid = 301, firstname = "Hank", lastname = "Hiring" } },
    jobs = {
      { id = 1034, name = "Data Engineer", clientid = 301, contactid = 4001, statusid = 1,
        typeid = 1, owners = { { userid = 20, percent = 100, role = "Primary" } },
        dateopened = "2026-10-01", lastupdated = "2026-11-01 10:00:00", custom = { ["445"] = "High" } },
      { id = 1035, name = "Night Nurse", clientid = 301, statusid = 4, typeid = 2,
        owners = { { userid = 21, percent = 100, role = "Primary" } },
        dateopened = "2026-09-01", lastupdated = "2026-11-02 10:00:00", custom = {} },
      { id = 1036, name = "Forklift Operator", clientid = 301, statusid = 5, typeid = 4,
        owners = {}, dateopened = "2026-08-01", lastupdated = "2026-11-03 10:00:00", custom = {} },
    },
    candidates = {
      { id = 188077, firstname = "Ada", lastname = "Lovelace", email = "ada@example.com",
        jobtitle = "Analyst", statusid = 1, ownerid = 20, dateopened = "2026-01-05 08:00:00",
        lastupdated = "2026-11-01 10:00:00", custom = { ["441"] = "91", ["442"] = "US Citizen" } },
      { id = 188078, firstname = "Grace", lastname = "Hopper", email = "grace@example.com",
        statusid = 2, ownerid = 21, dateopened = "2026-02-05 08:00:00",
        lastupdated = "2026-11-01 10:00:00", custom = {} },
      { id = 188079, firstname = "Alan", lastname = "Turing", email = "alan@example.com",
        statusid = 1, ownerid = 20, dateopened = "2026-03-05 08:00:00",
        lastupdated = "2026-11-01 10:00:00", custom = {} },
      { id = 188080, firstname = "Edsger", lastname = "Dijkstra", email = "edsger@example.com",
        statusid = 1, ownerid = 21, dateopened = "2026-04-05 08:00:00",
        lastupdated = "2026-11-02 08:00:00", custom = {} },
      { id = 188081, firstname = "Barbara", lastname = "Liskov", email = "barbara@example.com",
        statusid = 3, ownerid = 20, dateopened = "2026-05-05 08:00:00",
        lastupdated = "2026-10-30 12:00:00", custom = {} },
    },
    applications = {
      { id = 70001, opportunityid = 1034, resourceid = 188077, statusid = 5, list = "short",
        dateassigned = "2026-10-02 09:00:00", active = "y", lastupdated = "2026-11-01 11:00:00",
        custom = {} },
      { id = 70002, opportunityid = 1035, resourceid = 188078, statusid = 8, list = "short",
        dateassigned = "2026-09-02 09:00:00", startdate = "2026-10-01", payrate = 40,
        chargerate = 60, active = "y", lastupdated = "2026-11-02 11:00:00", custom = {} },
    },
    activities = {
      { id = 500001, linkrecordtype = "R", linkrecordid = 188077, resourceid = 188077,
        opportunityid = 1034, opportunityresourceid = 70001, clientid = 301, typeid = 1,
        statusid = 1, subject = "Screening call", note = "Went well", date = "2026-11-01",
        time = "09:30", userid = 20, lastupdated = "2026-11-01 09:31:00", custom = {} },
    },
    documents = {},
  }
end

local function make(opts)
  opts = opts or {}
  local clock = { now = NOW }
  opts.clock = opts.clock or function() return clock.now end
  opts.apikey = opts.apikey or "K3y"
  opts.username = opts.username or "ops@example.com"
  opts.api_token = opts.api_token or "T0k"
  opts.timezone = opts.timezone or "America/New_York"
  if opts.data == nil then opts.data = tiny() end
  return emulator.new(opts), clock
end

describe("emulator.new", function()
  it("starts with metadata and no records when given no data", function()
    local emu = emulator.new{}
    assert.same({}, emu:state().candidates)
    assert.is_true(#emu:state().lists.opportunityResourceStatuses > 0)
  end)

  it("adds the configured username as an active user", function()
    local emu = emulator.new{ username = "new@example.com", apikey = "k" }
    local a = call(emu, "checkLogon", { credentials = { username = "new@example.com", apikey = "k" } })
    assert.equal(0, a.status)
  end)

  it("raises on an unknown option, naming the function", function()
    local ok, err = pcall(emulator.new, { colour = "red" })
    assert.is_false(ok)
    assert.matches("emulator.new: unknown option 'colour'", err, 1, true)
  end)

  it("raises on an unknown fault", function()
    local ok, err = pcall(emulator.new, { faults = { gremlins = 1 } })
    assert.is_false(ok)
    assert.matches("emulator.new: unknown fault 'gremlins'", err, 1, true)
  end)

  it("raises on an unknown time zone", function()
    local ok, err = pcall(emulator.new, { timezone = "Mars/Olympus_Mons" })
    assert.is_false(ok)
    assert.matches("emulator.new:.*Mars/Olympus_Mons", err)
  end)
end)

describe("handle", function()
  it("answers 404 with a problem body for an unknown path", function()
    local emu = make()
    local status, h, body = emu:handle("GET", "/api/v1/Nothing", {}, "")
    assert.equal(404, status)
    assert.equal("application/problem+json; charset=utf-8", h["content-type"])
    assert.equal(404, json.decode(body).status)
  end)

  it("answers 405 with Allow for a wrong method", function()
    local emu = make()
    local status, h = emu:handle("GET", "/api/widget/getRecords", {}, "")
    assert.equal(405, status)
    assert.equal("POST", h.allow)
  end)

  it("ignores the query string, a trailing slash and the case of the path", function()
    local emu = make()
    local status, _, body = emu:handle("POST", "/API/Widget/checkLogon/?x=1", {},
      json.encode({ trackerrms = { checkLogon = { credentials = CREDS } } }))
    assert.equal(200, status)
    assert.equal(0, json.decode(body).status)
  end)

  it("turns an internal error into a 500 problem instead of raising", function()
    local emu = make()
    emu:state().candidates[1].firstname = {}     -- a value no request could have written
    local status, h, body = emu:handle("POST", "/api/widget/getRecords", {},
      json.encode({ trackerrms = { getRecords = { credentials = CREDS,
                                                  instructions = { recordtype = "R" } } } }))
    assert.equal(500, status)
    assert.equal("application/problem+json; charset=utf-8", h["content-type"])
    assert.matches("internal emulator error", json.decode(body).detail)
  end)

  it("raises when method or path is not a string", function()
    local emu = make()
    assert.has_error(function() emu:handle(nil, "/") end, "emulator:handle: method must be a string")
  end)

  it("reads header names in any case", function()
    local emu = make()
    local a = call(emu, "checkLogon", { credentials = false }, { AUTHORIZATION = "Bearer T0k" })
    assert.equal(0, a.status)
  end)
end)

describe("widget envelope", function()
  it("answers status 99 inside HTTP 200 for a body that is not JSON", function()
    local emu = make()
    local status, h, body = emu:handle("POST", "/api/widget/getRecords", {}, "{not json")
    assert.equal(200, status)
    assert.equal("application/json; charset=utf-8", h["content-type"])
    local a = json.decode(body)
    assert.equal(99, a.status)
    assert.equal(0, a.count)
    assert.matches('"results":%[%]', body)
  end)

  it("answers status 99 for a body without the trackerrms node", function()
    local emu = make()
    local _, _, body = emu:handle("POST", "/api/widget/getRecords", {}, '{"getRecords":{}}')
    assert.equal(99, json.decode(body).status)
  end)

  it("answers status 99 for an unknown verb", function()
    local emu = make()
    local a, status = call(emu, "getEverything", {})
    assert.equal(200, status)
    assert.equal(99, a.status)
    assert.matches("unknown verb 'getEverything'", a.message)
  end)

  it("dispatches on the URL verb when the inner key differs", function()
    local emu = make()
    local _, _, body = emu:handle("POST", "/api/widget/checkLogon", {},
      json.encode({ trackerrms = { somethingElse = { credentials = CREDS } } }))
    assert.equal(0, json.decode(body).status)
  end)

  it("matches verbs and keys without regard to case", function()
    local emu = make()
    local _, _, body = emu:handle("POST", "/api/widget/GETRECORDS", {},
      json.encode({ TrackerRMS = { GetRecords = { Credentials = CREDS,
                                                  Instructions = { RecordType = "r" } } } }))
    local a = json.decode(body)
    assert.equal(0, a.status)
    assert.equal(5, a.count)
  end)

  it("gives write verbs recordId 0 and an empty recordName when they fail", function()
    local emu = make()
    local a = call(emu, "createResource", { resource = {} })
    assert.same({ status = 99, count = 0, recordId = 0, recordName = "" },
                { status = a.status, count = a.count, recordId = a.recordId, recordName = a.recordName })
  end)

  it("answers status 99 when instructions is not an object", function()
    local emu = make()
    local a = call(emu, "getRecords", { instructions = "R" })
    assert.equal(99, a.status)
  end)
end)

describe("widget credentials", function()
  it("accepts apikey and username", function()
    assert.equal(0, call(make(), "checkLogon", {}).status)
  end)

  it("accepts username and password", function()
    local a = call(make(), "checkLogon", { credentials = { username = "rec@example.com", password = "s3cret" } })
    assert.equal(0, a.status)
  end)

  it("accepts an Authorization Bearer token", function()
    local a = call(make(), "checkLogon", { credentials = false }, { authorization = "Bearer T0k" })
    assert.equal(0, a.status)
  end)

  it("accepts an oauthtoken in the credentials node", function()
    local a = call(make(), "checkLogon", { credentials = { oauthtoken = "T0k" } })
    assert.equal(0, a.status)
  end)

  it("accepts HTTP Basic with username and API key", function()
    local basic = "Basic b3BzQGV4YW1wbGUuY29tOkszeQ=="     -- ops@example.com:K3y
    local a = call(make(), "checkLogon", { credentials = false }, { authorization = basic })
    assert.equal(0, a.status)
  end)

  it("answers status 1 for a wrong API key", function()
    local a = call(make(), "getRecords", { credentials = { username = "ops@example.com", apikey = "nope" },
                                           instructions = { recordtype = "R" } })
    assert.equal(1, a.status)
    assert.equal("user or API Key not found", a.message)
    assert.equal(0, a.count)
  end)

  it("answers status 1 for an unknown user", function()
    local a = call(make(), "checkLogon", { credentials = { username = "who@example.com", apikey = "K3y" } })
    assert.equal(1, a.status)
  end)

  it("answers status 1 for a wrong password", function()
    local a = call(make(), "checkLogon", { credentials = { username = "rec@example.com", password = "guess" } })
    assert.equal(1, a.status)
  end)

  it("answers status 1 without credentials", function()
    assert.equal(1, call(make(), "checkLogon", { credentials = false }).status)
  end)

  it("answers status 1 for a wrong Bearer token", function()
    local a = call(make(), "checkLogon", { credentials = false }, { authorization = "Bearer other" })
    assert.equal(1, a.status)
  end)

  it("answers status 2 for an inactive user", function()
    local a = call(make(), "checkLogon", { credentials = { username = "gone@example.com", apikey = "K3y" } })
    assert.equal(2, a.status)
    assert.equal("user not active", a.message)
  end)
end)

describe("getRecords", function()
  it("pages candidates 0-based", function()
    local emu = make()
    assert.same({ 188077, 188078 }, ids(records(emu, { recordtype = "R", numrecords = 2, pagenum = 0 })))
    assert.same({ 188079, 188080 }, ids(records(emu, { recordtype = "R", numrecords = 2, pagenum = 1 })))
    assert.same({ 188081 }, ids(records(emu, { recordtype = "R", numrecords = 2, pagenum = 2 })))
  end)

  it("answers an empty page, as a JSON array, past the end", function()
    local a, _, body = records(make(), { recordtype = "R", numrecords = 2, pagenum = 3 })
    assert.equal(0, a.status)
    assert.equal(0, a.count)
    assert.matches('"results":%[%]', body)
  end)

  it("reports count as the number of items in the page", function()
    assert.equal(1, records(make(), { recordtype = "R", numrecords = 2, pagenum = 2 }).count)
  end)

  it("caps numrecords at 500", function()
    local emu = make{ dialect = "rich", data = emulator.generate{ seed = 3, jobs = 2, candidates = 520,
                                               applications = 0, activities = 0, documents = 0 } }
    assert.equal(500, records(emu, { recordtype = "R", numrecords = 1000 }).count)
  end)

  it("uses a configured cap", function()
    local emu = make{ limits = { numrecords = 3 } }
    assert.equal(3, records(emu, { recordtype = "R", numrecords = 100 }).count)
  end)

  it("sorts by lastupdateddatetime and breaks ties by id", function()
    local a = records(make(), { recordtype = "R", sortfield = "lastupdateddatetime", sortdir = "asc" })
    assert.same({ 188081, 188077, 188078, 188079, 188080 }, ids(a))
  end)

  it("sorts descending with ties in descending id order", function()
    local a = records(make(), { recordtype = "R", sortfield = "lastupdateddatetime", sortdir = "desc" })
    assert.same({ 188080, 188079, 188078, 188077, 188081 }, ids(a))
  end)

  it("treats updatedafter as inclusive and updatedbefore as exclusive", function()
    local a = records(make(), { recordtype = "R", updatedafter = "2026-11-01 10:00:00",
                                updatedbefore = "2026-11-02 08:00:00" })
    assert.same({ 188077, 188078, 188079 }, ids(a))
  end)

  it("keyset-pages through ties larger than a page without losing or repeating a record", function()
    -- the client's loop: restart after the last time seen; skip what it saw; when a whole page
    -- is ties already seen, step pagenum within them (rich: items show their time)
    local emu = make{ dialect = "rich" }
    local seen, order, after, last_id, page = {}, {}, "", 0, 0
    for _ = 1, 20 do
      local a = records(emu, { recordtype = "R", sortfield = "lastupdateddatetime", numrecords = 2,
                               updatedafter = after, pagenum = page })
      local fresh = 0
      for _, r in ipairs(a.results) do
        if not (r.lastupdateddatetime == after and r.id <= last_id) then
          assert.is_nil(seen[r.id])
          seen[r.id] = true
          order[#order + 1] = r.id
          if r.lastupdateddatetime ~= after then page = 0 end
          after, last_id, fresh = r.lastupdateddatetime, r.id, fresh + 1
        end
      end
      if a.count < 2 and fresh == 0 then break end
      if fresh == 0 then page = page + 1 end
    end
    assert.same({ 188081, 188077, 188078, 188079, 188080 }, order)
  end)

  it("treats an empty updatedafter as no filter", function()
    assert.equal(5, records(make(), { recordtype = "R", updatedafter = "" }).count)
  end)

  it("answers 99 for a malformed updatedafter", function()
    local a = records(make(), { recordtype = "R", updatedafter = "yesterday" })
    assert.equal(99, a.status)
    assert.matches("updatedafter", a.message)
  end)

  it("answers 99 for an unknown recordtype", function()
    assert.equal(99, records(make(), { recordtype = "Q" }).status)
  end)

  it("answers 99 for a non-numeric numrecords", function()
    assert.equal(99, records(make(), { recordtype = "R", numrecords = "lots" }).status)
  end)

  it("answers 99 for a negative pagenum", function()
    assert.equal(99, records(make(), { recordtype = "R", pagenum = -1 }).status)
  end)

  it("answers 99 for an unknown sortfield", function()
    assert.equal(99, records(make(), { recordtype = "R", sortfield = "shoesize" }).status)
  end)

  it("accepts numbers and booleans given as strings", function()
    local a = records(make(), { recordtype = "R", numrecords = "2", pagenum = "1",
                                includecustomfields = "true" })
    assert.same({ 188079, 188080 }, ids(a))
    assert.is_table(a.results[1].customfields)
  end)

  it("returns one record for recordid, ignoring the other instructions", function()
    local a = records(make(), { recordtype = "R", recordid = 188080, numrecords = 1, pagenum = 7 })
    assert.same({ 188080 }, ids(a))
  end)

  it("answers an empty list for an unknown recordid", function()
    local a = records(make(), { recordtype = "R", recordid = 1 })
    assert.equal(0, a.status)
    assert.equal(0, a.count)
  end)

  it("filters jobs by state", function()
    local emu = make()
    assert.same({ 1034 }, ids(records(emu, { recordtype = "O", state = "open" })))
    assert.same({ 1035 }, ids(records(emu, { recordtype = "O", state = "won" })))
    assert.same({ 1036 }, ids(records(emu, { recordtype = "O", state = "closed" })))
    assert.equal(3, records(emu, { recordtype = "O", state = "" }).count)
  end)

  it("filters on the record name with searchtext", function()
    assert.same({ 188079 }, ids(records(make(), { recordtype = "R", searchtext = "turing" })))
  end)

  it("returns only my records with onlymyrecords", function()
    assert.same({ 188077, 188079, 188081 }, ids(records(make(), { recordtype = "R", onlymyrecords = true })))
  end)

  it("returns only placements in Offer, Working or Complete for X", function()
    local a = records(make(), { recordtype = "X" })
    assert.same({ 70002 }, ids(a))
    assert.equal("Working", a.results[1].status)
    assert.equal(188078, a.results[1].details.resourceid)
  end)

  it("includes custom fields only when asked", function()
    local emu = make{ dialect = "rich" }
    local plain = records(emu, { recordtype = "R", recordid = 188077 })
    assert.is_nil(plain.results[1].customfields)
    local with = records(emu, { recordtype = "R", recordid = 188077, includecustomfields = true })
    local byname = {}
    for _, f in ipairs(with.results[1].customfields) do byname[f.name] = f end
    assert.same({ id = 441, name = "Score", value = "91" }, byname.Score)
    assert.equal("", byname.Priority.value)
  end)

  it("shows a candidate with its details and last-updated time", function()
    local r = records(make{ dialect = "rich" }, { recordtype = "R", recordid = 188077 }).results[1]
    assert.equal("Ada Lovelace", r.name)
    assert.equal("Active", r.status)
    assert.equal("2026-11-01 10:00:00", r.lastupdateddatetime)
    assert.equal("ada@example.com", r.details.email)
    assert.equal("Olive Ops", r.details.owner)
    assert.equal(json.null, r.details.availablefromdate)
  end)

  it("shows a job with its client, Owners and executive summary", function()
    local r = records(make(), { recordtype = "O", recordid = 1034 }).results[1]
    assert.equal("Acme Health", r.company)
    assert.equal("Active", r.status)
    assert.equal("Hank Hiring", r.details.contactname)
    assert.same({ { OwnerId = 20, OwnerName = "Olive Ops", OwnerPercent = 100, OwnerRole = "Primary" } },
                r.details.Owners)
    assert.same({ recordName = "Status", recordValue = "Active" }, r.details.executivesummary[1])
  end)

  it("shows an activity with its candidate, job and opportunity-resource", function()
    local d = records(make(), { recordtype = "A", recordid = 500001 }).results[1].details
    assert.same({ 188077, 1034, 70001, "Note", "Went well" },
                { d.resourceid, d.opportunityid, d.opportunityresourceid, d.ActivityTypeName, d.note })
  end)

  it("gives each record type's details exactly the fields of the contract, §7", function()
    local function sorted_keys(t)
      local k = {}
      for x in pairs(t) do k[#k + 1] = x end
      table.sort(k)
      return k
    end
    local emu = make()
    local expected = {
      R = { "address1", "address2", "availability", "availablefromdate", "companyname", "country",
            "county", "department", "email", "firstname", "hometelephone", "jobtitle", "lastContacted",
            "lastname", "linkedin", "mobiletelephone", "otheremail", "owner", "postcode",
            "preferredname", "source", "territory", "town", "workavailable", "worktelephone" },
      O = { "Owners", "clientid", "clientname", "contactid", "contactname", "description",
            "executivesummary", "id", "name", "shortlisted", "status", "subject", "type", "values" },
      X = { "chargeperiod", "chargerate", "clientid", "contactid", "currency", "dateassigned",
            "dateconfirmed", "enddate", "id", "lastupdated", "name", "opportunityid", "payrate",
            "resourceid", "resourcename", "startdate", "status" },
      -- the contract's list, plus the note's text
      A = { "ActivityTypeName", "activityStatusId", "activityTypeId", "activityid",
            "activitystatusname", "clientid", "contactid", "contacttype", "datedue", "lastupdateddatetime",
            "leadid", "note", "opportunityid", "opportunityname", "opportunityresourceid", "priority",
            "resourceid", "resourcename", "startdate", "starttime", "subject", "timedue", "userid",
            "username", "clientname", "contactname", "leadname" },
      C = { "address1", "address2", "clienttypes", "country", "county", "department", "email",
            "internalreference", "nameinitials", "owner", "postcode", "rank", "source",
            "telephone", "territory", "town", "type", "vertical", "website" },
      N = { "address1", "address2", "businesstelephone", "companyId", "companyname",
            "contactType", "country", "county", "email", "firstname", "hometelephone",
            "jobtitle", "lastContacted", "lastname", "linkedin", "mobiletelephone",
            "nameinitials", "postcode", "preferredname", "town" },
    }
    table.sort(expected.A)
    for letter, keys in pairs(expected) do
      local r = records(emu, { recordtype = letter, numrecords = 1 }).results[1]
      assert.same(keys, sorted_keys(r.details), letter)
    end
  end)

  it("answers an empty list for record types that hold nothing here", function()
    local a = records(make(), { recordtype = "P" })
    assert.equal(0, a.status)
    assert.equal(0, a.count)
  end)
end)

describe("getIndividualRecord", function()
  local function one(emu, letter, id)
    return call(emu, "getIndividualRecord", { instructions = { recordtype = letter, recordid = id } })
  end

  it("returns a job with Owners, Placements and executivesummary", function()
    local r = one(make(), "O", 1035).results[1]
    assert.equal(301, r.clientid)
    assert.equal("Acme Health", r.clientname)
    assert.equal("Filled", r.status)
    assert.same({ { PlacementId = 70002, CandidateId = 188078, CandidateName = "Grace Hopper" } }, r.Placements)
    assert.equal("Rita Recruiter", r.Owners[1].OwnerName)
    assert.is_table(r.executivesummary)
  end)

  it("answers null for missing dates and ids", function()
    local r = one(make(), "O", 1035).results[1]
    assert.equal(json.null, r.enddate)
    assert.equal(json.null, r.contactid)
    assert.equal("2026-09-01", r.dateopened)
  end)

  it("answers empty Owners and Placements as JSON arrays", function()
    local _, _, body = one(make(), "O", 1036)
    assert.matches('"Owners":%[%]', body)
    assert.matches('"Placements":%[%]', body)
  end)

  it("returns a candidate with its custom fields", function()
    local r = one(make(), "R", 188077).results[1]
    assert.equal("Ada", r.firstname)
    assert.equal(1, r.resourcestatusid)
    assert.equal("US Citizen", r.customfields[2].value)
  end)

  it("returns an activity", function()
    local r = one(make(), "A", 500001).results[1]
    assert.equal("Screening call", r.subject)
    assert.equal("Note", r.type)
  end)

  it("answers 99 for an unknown id", function()
    local a = one(make{ dialect = "rich" }, "R", 42)
    assert.equal(99, a.status)
    assert.matches("not found", a.message)
  end)

  it("answers 99 for a record type it does not serve", function()
    assert.equal(99, one(make(), "X", 70002).status)
  end)
end)

describe("updateRecord", function()
  local function update(emu, letter, id, updates, extra)
    local node = { instructions = { recordtype = letter, recordid = id }, updates = updates }
    for k, v in pairs(extra or {}) do node[k] = v end
    return call(emu, "updateRecord", node)
  end

  it("changes columns of a candidate and answers updated", function()
    local emu = make{ dialect = "rich" }
    local a = update(emu, "R", 188077, { { column = "jobtitle", value = "Data Engineer" },
                                         { column = "surname", value = "King" } })
    assert.same({ 0, "updated", 188077, "Ada King" }, { a.status, a.message, a.recordId, a.recordName })
    assert.equal("Data Engineer", emu:get("candidates", 188077).jobtitle)
  end)

  it("stamps the last-updated time in the database's zone", function()
    local emu = make()
    update(emu, "R", 188077, { { column = "tag", value = "java,remote" } })
    assert.equal("2026-11-20 07:00:00", emu:get("candidates", 188077).lastupdated)
  end)

  it("moves an application to a stage with recordtype X", function()
    local emu = make()
    local a = update(emu, "X", 70001, { { column = "opportunityresourcestatusid", value = "7" } })
    assert.equal(0, a.status)
    assert.equal(7, emu:get("applications", 70001).statusid)
    assert.equal("2026-11-20 07:00:00", emu:get("applications", 70001).lastupdated)
  end)

  it("answers 99 for a stage id that does not exist", function()
    local a = update(make(), "X", 70001, { { column = "opportunityresourcestatusid", value = "999" } })
    assert.equal(99, a.status)
  end)

  it("answers 99 for an unknown column and changes nothing", function()
    local emu = make()
    local a = update(emu, "R", 188077, { { column = "jobtitle", value = "Boss" },
                                         { column = "shoesize", value = "9" } })
    assert.equal(99, a.status)
    assert.equal("Analyst", emu:get("candidates", 188077).jobtitle)
    assert.equal("2026-11-01 10:00:00", emu:get("candidates", 188077).lastupdated)
  end)

  it("sets list custom fields by item name", function()
    local emu = make()
    local a = update(emu, "R", 188077, {}, { customfields = { { id = 448, value = "high" } } })
    assert.equal(0, a.status)
    assert.equal("High", emu:get("candidates", 188077).custom["448"])
  end)

  it("answers 99 for a value that is not an item of a list field", function()
    local a = update(make(), "R", 188077, {}, { customfields = { { id = 448, value = "Urgent" } } })
    assert.equal(99, a.status)
  end)

  it("answers 99 for a custom field of another record type", function()
    local a = update(make(), "R", 188077, {}, { customfields = { { id = 445, value = "High" } } })
    assert.equal(99, a.status)
    assert.matches("Opportunity", a.message)
  end)

  it("sets application custom fields", function()
    local emu = make()
    update(emu, "X", 70001, {}, { customfields = { { id = 449, value = "Yes" } } })
    assert.equal("Yes", emu:get("applications", 70001).custom["449"])
  end)

  it("clears a custom field with an empty value", function()
    local emu = make()
    update(emu, "R", 188077, {}, { customfields = { { id = 441, value = "" } } })
    assert.is_nil(emu:get("candidates", 188077).custom["441"])
  end)

  it("stores skills of a candidate", function()
    local emu = make()
    local a = update(emu, "R", 188077, {}, { skills = { { id = 789, value = "Yes" } } })
    assert.equal(0, a.status)
    assert.equal("Yes", emu:get("candidates", 188077).skills["789"])
  end)

  it("answers 99 for an unknown record id", function()
    local a = update(make(), "R", 9, { { column = "tag", value = "x" } })
    assert.equal(99, a.status)
  end)

  it("accepts a recordid given as a string", function()
    assert.equal(0, update(make(), "R", "188077", { { column = "tag", value = "x" } }).status)
  end)

  it("answers 99 when a value is neither a string nor a number", function()
    assert.equal(99, update(make(), "R", 188077, { { column = "tag", value = { "x" } } }).status)
  end)

  it("answers 99 for a date column given something else", function()
    assert.equal(99, update(make(), "R", 188077, { { column = "dateofbirth", value = "soon" } }).status)
  end)

  it("changes a job's status through opportunitystatusid", function()
    local emu = make()
    update(emu, "O", 1034, { { column = "opportunitystatusid", value = "4" } })
    assert.same({ 1034, 1035 }, ids(records(emu, { recordtype = "O", state = "won" })))
  end)

  it("keeps getRecords in step with a changed email", function()
    local emu = make{ dialect = "rich" }
    update(emu, "R", 188077, { { column = "email", value = "ada@new.example" } })
    local a = call(emu, "createResource", { resource = { firstname = "A", email = "ADA@new.example" } })
    assert.equal(3, a.status)
    assert.equal(188077, a.recordId)
  end)
end)

describe("createActivity", function()
  local function note(emu, activity, extra)
    local node = { instructions = {}, activity = activity }
    for k, v in pairs(extra or {}) do node[k] = v end
    return call(emu, "createActivity", node)
  end

  it("creates a note linked to a candidate", function()
    local emu = make{ dialect = "rich" }
    local a = note(emu, { subject = "Screened", type = "Note", note = "Plain text body",
                          linkRecordType = "R", linkRecordId = 188079, userId = 21 })
    assert.same({ 0, "created", "Screened" }, { a.status, a.message, a.recordName })
    local act = emu:get("activities", a.recordId)
    assert.same({ "R", 188079, 188079, 21, "Plain text body" },
                { act.linkrecordtype, act.linkrecordid, act.resourceid, act.userid, act.note })
  end)

  it("links an application note to its opportunity and opportunity-resource", function()
    local emu = make()
    local a = note(emu, { subject = "Interview booked", linkRecordType = "R", linkRecordId = 188077,
                          opportunityId = 1034, opportunityResourceId = 70001 })
    local d = records(emu, { recordtype = "A", recordid = a.recordId }).results[1].details
    assert.same({ 1034, 188077, 70001 }, { d.opportunityid, d.resourceid, d.opportunityresourceid })
  end)

  it("reads 12-hour times as database local time", function()
    local emu = make()
    local a = note(emu, { linkRecordType = "R", linkRecordId = 188077, date = "2026-11-21", time = "2:05 PM" })
    assert.same({ "2026-11-21", "14:05" }, { emu:get("activities", a.recordId).date,
                                             emu:get("activities", a.recordId).time })
  end)

  it("defaults date and time to now in the database's zone", function()
    local emu = make()
    local a = note(emu, { linkRecordType = "R", linkRecordId = 188077 })
    local act = emu:get("activities", a.recordId)
    assert.same({ "2026-11-20", "07:00" }, { act.date, act.time })
  end)

  it("answers 99 for a time it cannot read", function()
    assert.equal(99, note(make(), { linkRecordType = "R", linkRecordId = 188077, time = "25:00" }).status)
  end)

  it("answers 99 when the opportunity-resource belongs to another candidate", function()
    local a = note(make(), { linkRecordType = "R", linkRecordId = 188079, opportunityResourceId = 70001 })
    assert.equal(99, a.status)
  end)

  it("answers 99 for a link record that does not exist", function()
    assert.equal(99, note(make(), { linkRecordType = "R", linkRecordId = 1 }).status)
  end)

  it("answers 99 for an unknown activity type", function()
    assert.equal(99, note(make(), { type = "Telegram", linkRecordType = "R", linkRecordId = 188077 }).status)
  end)

  it("answers 99 without an activity node", function()
    assert.equal(99, call(make(), "createActivity", { instructions = {} }).status)
  end)

  it("stores custom fields given beside the activity", function()
    local emu = make()
    local a = note(emu, { linkRecordType = "R", linkRecordId = 188077 },
                   { customfields = { { id = 452, value = "yes" } } })
    assert.equal("Yes", emu:get("activities", a.recordId).custom["452"])
  end)

  it("leaves the linked candidate's last-updated time alone", function()
    local emu = make()
    note(emu, { linkRecordType = "R", linkRecordId = 188077 })
    assert.equal("2026-11-01 10:00:00", emu:get("candidates", 188077).lastupdated)
  end)
end)

describe("resourceApplication", function()
  local function apply(emu, ins)
    return call(emu, "resourceApplication", { instructions = ins })
  end

  it("creates an application in Shortlisted when a user shortlists", function()
    local emu = make{ dialect = "rich" }
    local a = apply(emu, { opportunityid = 1034, resourceid = 188079, assigntolist = "short",
                           shortlistedby = "user", source = "Database search" })
    assert.same({ 0, "created", "Alan Turing - Data Engineer" }, { a.status, a.message, a.recordName })
    local app = emu:get("applications", a.recordId)
    assert.equal("Shortlisted", emu:state().lists.opportunityResourceStatuses[app.statusid].name)
  end)

  it("starts in Applied when the resource applies", function()
    local emu = make{ dialect = "rich" }
    local a = apply(emu, { opportunityid = "1034", resourceid = "188079", shortlistedby = "resource" })
    local app = emu:get("applications", a.recordId)
    assert.equal("Applied", emu:state().lists.opportunityResourceStatuses[app.statusid].name)
  end)

  it("answers status 3 with the existing id for the same pair", function()
    local a = apply(make{ dialect = "rich" }, { opportunityid = 1034, resourceid = 188077 })
    assert.same({ 3, 70001 }, { a.status, a.recordId })
  end)

  it("answers 99 for an unknown job", function()
    assert.equal(99, apply(make(), { opportunityid = 9, resourceid = 188077 }).status)
  end)

  it("answers 99 for an assigntolist other than short or long", function()
    assert.equal(99, apply(make(), { opportunityid = 1034, resourceid = 188079, assigntolist = "medium" }).status)
  end)
end)

describe("createResource", function()
  local function create(emu, resource, ins)
    return call(emu, "createResource", { instructions = ins or {}, resource = resource })
  end

  it("creates a candidate and answers its id and name", function()
    local emu = make()
    local a = create(emu, { firstname = "Katherine", lastname = "Johnson", email = "kj@example.com",
                            jobtitle = "Mathematician", source = "Referral", status = "Available",
                            customfields = { { id = 441, value = "99" } } })
    assert.same({ 0, "created", "Katherine Johnson" }, { a.status, a.message, a.recordName })
    local c = emu:get("candidates", a.recordId)
    assert.same({ "kj@example.com", 2, "99", "2026-11-20 07:00:00" },
                { c.email, c.statusid, c.custom["441"], c.lastupdated })
    assert.equal(188082, a.recordId)
  end)

  it("splits fullname when first and last names are missing", function()
    local emu = make()
    local a = create(emu, { fullname = "Mary Jackson Smith" })
    local c = emu:get("candidates", a.recordId)
    assert.same({ "Mary", "Jackson Smith" }, { c.firstname, c.lastname })
  end)

  it("answers status 3 with the existing id for a known email", function()
    local a = create(make{ dialect = "rich" }, { firstname = "Ada", email = "ADA@example.com" },
                     { overwriteresource = "false" })
    assert.same({ 3, 188077, "record found and cannot be overwritten" }, { a.status, a.recordId, a.message })
  end)

  it("overwrites a known email when overwriteresource is true", function()
    local emu = make{ dialect = "rich" }
    local a = create(emu, { firstname = "Ada", jobtitle = "Countess", email = "ada@example.com" },
                     { overwriteresource = true })
    assert.same({ 0, "updated", 188077 }, { a.status, a.message, a.recordId })
    assert.equal("Countess", emu:get("candidates", 188077).jobtitle)
  end)

  it("assigns the new candidate to a job", function()
    local emu = make()
    local a = create(emu, { firstname = "Dorothy", lastname = "Vaughan" },
                     { assigntoopportunity = 1034, assigntolist = "short", shortlistedby = "resource" })
    local found
    for _, app in ipairs(emu:state().applications) do
      if app.resourceid == a.recordId then found = app end
    end
    assert.equal(1034, found.opportunityid)
    assert.equal(1, found.statusid)
  end)

  it("answers 99 for an unknown status", function()
    assert.equal(99, create(make(), { firstname = "X", status = "Sleeping" }).status)
  end)

  it("answers 99 without any name", function()
    assert.equal(99, create(make(), { email = "nobody@example.com" }).status)
  end)
end)

describe("attachDocument", function()
  local function attach(emu, file)
    return call(emu, "attachDocument", { file = file })
  end

  it("stores a document whose base64 has whitespace in it", function()
    local emu = make{ dialect = "rich" }
    local a = attach(emu, { filename = "cv.pdf", recordType = "R", recordId = 188077,
                            documentType = "resume", primary = "y", data = "JVBE\nRi0x\r\nLjQ=" })
    assert.same({ 0, "created", "cv.pdf" }, { a.status, a.message, a.recordName })
    local d = emu:get("documents", a.recordId)
    assert.same({ "JVBERi0xLjQ=", true, "application/pdf" }, { d.data, d.primary, d.contenttype })
  end)

  it("keeps one primary document of a type per record", function()
    local emu = make()
    local first = attach(emu, { filename = "a.pdf", recordType = "R", recordId = 188077,
                                documentType = "resume", primary = "y", data = "QQ==" })
    attach(emu, { filename = "b.pdf", recordType = "R", recordId = 188077,
                  documentType = "Resume", primary = "y", data = "Qg==" })
    assert.is_false(emu:get("documents", first.recordId).primary)
  end)

  it("answers 99 for data that is not base64", function()
    local a = attach(make(), { filename = "a.pdf", recordType = "R", recordId = 188077, data = "%%%" })
    assert.equal(99, a.status)
  end)

  it("answers 99 for a record that does not exist", function()
    local a = attach(make(), { filename = "a.pdf", recordType = "R", recordId = 5, data = "QQ==" })
    assert.equal(99, a.status)
  end)
end)

describe("checkLogon", function()
  it("answers status 0 and success for good credentials", function()
    local a = call(make(), "checkLogon", {})
    assert.same({ status = 0, message = "success" }, a)
  end)
end)

describe("getSettingsData", function()
  local function settings(dialect) return call(make{ dialect = dialect }, "getSettingsData", {}) end

  it("returns every lookup list as Id and Name", function()
    local s = settings()
    for _, name in ipairs({ "opportunityStatuses", "resourceStatuses", "resourceSources",
                            "opportunityWorkTypes", "departments" }) do
      assert.is_true(#s[name] > 0, name)
      for _, e in ipairs(s[name]) do
        assert.same({ "Id", "Name" }, (function() local k = {} for x in pairs(e) do k[#k + 1] = x end
                                                 table.sort(k) return k end)())
      end
    end
  end)

  it("returns opportunityResourceStatuses, the application stages", function()
    local names = {}
    for _, e in ipairs(settings("rich").opportunityResourceStatuses) do names[#names + 1] = e.Name end
    assert.same({ "Applied", "Shortlisted", "Screening", "Submitted to Client", "Interview",
                  "Second Interview", "Offer", "Working", "Complete", "Rejected", "Withdrawn" }, names)
  end)

  it("returns users with PascalCase fields", function()
    local u = settings("rich").users[1]
    assert.same({ UserId = 20, Username = "ops@example.com", Email = "ops@example.com",
                  LastLogon = json.null, Active = true }, u)
  end)

  it("returns custom fields and their lists", function()
    local s = settings()
    local f448
    for _, f in ipairs(s.customFields) do if f.Id == 448 then f448 = f end end
    assert.same({ Association = "Resource", Id = 448, Name = "Priority", Type = "List", ListId = 702 }, f448)
    local l702
    for _, l in ipairs(s.customFieldLists) do if l.Id == 702 then l702 = l end end
    assert.same({ Id = 7021, Name = "High" }, l702.Items[1])
  end)
end)

describe("time zones", function()
  local function touch(emu)
    call(emu, "updateRecord", { instructions = { recordtype = "R", recordid = 188077 },
                                updates = { { column = "tag", value = "t" } } })
    return emu:get("candidates", 188077).lastupdated
  end

  it("stamps writes with the summer offset in July", function()
    local emu, clock = make()
    clock.now = time.parse("2026-07-01T12:00:00Z")
    assert.equal("2026-07-01 08:00:00", touch(emu))
  end)

  it("stamps writes with the winter offset in January", function()
    local emu, clock = make()
    clock.now = time.parse("2026-01-15T12:00:00Z")
    assert.equal("2026-01-15 07:00:00", touch(emu))
  end)

  it("repeats the local hour when the clocks fall back", function()
    local emu, clock = make()
    clock.now = time.parse("2026-11-01T05:30:00Z")          -- 01:30 EDT
    local first = touch(emu)
    clock.now = time.parse("2026-11-01T06:30:00Z")          -- 01:30 EST, an hour later
    assert.equal(first, touch(emu))
    assert.equal("2026-11-01 01:30:00", first)
  end)

  it("skips the missing hour when the clocks spring forward", function()
    local emu, clock = make()
    clock.now = time.parse("2026-03-08T06:59:59Z")
    assert.equal("2026-03-08 01:59:59", touch(emu))
    clock.now = time.parse("2026-03-08T07:00:00Z")
    assert.equal("2026-03-08 03:00:00", touch(emu))
  end)

  it("converts an updatedafter with a zone to database local time", function()
    -- 2026-11-01T15:00:00Z is 10:00 EST in New York
    local a = records(make(), { recordtype = "R", updatedafter = "2026-11-01T15:00:00Z" })
    assert.same({ 188077, 188078, 188079, 188080 }, ids(a))
  end)

  it("stamps in UTC for a UTC database", function()
    local emu = make{ timezone = "UTC" }
    assert.equal("2026-11-20 12:00:00", touch(emu))
  end)

  it("gives the database's local time through emu:local_time", function()
    local emu = make{ timezone = "Asia/Kolkata" }
    assert.equal("2026-11-20 17:30:00", emu:local_time())
  end)
end)

describe("the emulator's sorted lists", function()
  -- The order a fresh sort gives, as ids; the emulator's cached lists are left as they were.
  local function fresh_ids(emu, kind, field, desc)
    local kept = emu.cache
    emu.cache = {}
    local ids_of = {}
    for i, r in ipairs(emu:sorted(kind, field, desc)) do ids_of[i] = r.id end
    emu.cache = kept
    return ids_of
  end

  it("stay in the order a fresh sort gives across writes, moved record by record", function()
    local clock = { now = NOW }
    local emu = make{ data = emulator.generate{ seed = 3, jobs = 8, candidates = 120 },
                      clock = function() return clock.now end }
    local apps = emu:state().applications
    local stages = emu:state().lists.opportunityResourceStatuses
    local kept = emu:sorted("applications", "lastupdateddatetime", false)
    emu:sorted("applications", "lastupdateddatetime", true)
    emu:sorted("candidates", "lastupdateddatetime", false)
    for step = 1, 60 do
      if step % 3 == 0 then clock.now = clock.now + 1 end   -- and ties in between, by id
      local a = apps[(step * 37) % #apps + 1]
      local st = stages[step % #stages + 1].id
      local r = call(emu, "updateRecord", { instructions = { recordtype = "X", recordid = a.id },
                                            updates = { { column = "opportunityresourcestatusid",
                                                          value = tostring(st) } } })
      assert.equal(0, r.status, r.message)
      if step % 10 == 0 then
        call(emu, "updateRecord", { instructions = { recordtype = "R", recordid = a.resourceid },
                                    updates = { { column = "jobtitle", value = "T" .. step } } })
      end
      local got = {}
      for i, x in ipairs(emu:sorted("applications", "lastupdateddatetime", false)) do got[i] = x.id end
      local desc = {}
      for i, x in ipairs(emu:sorted("applications", "lastupdateddatetime", true)) do desc[i] = x.id end
      local cands = {}
      for i, x in ipairs(emu:sorted("candidates", "lastupdateddatetime", false)) do cands[i] = x.id end
      assert.same(fresh_ids(emu, "applications", "lastupdateddatetime", false), got)
      assert.same(fresh_ids(emu, "applications", "lastupdateddatetime", true), desc)
      assert.same(fresh_ids(emu, "candidates", "lastupdateddatetime", false), cands)
      if step < 10 then   -- patched in place until a candidate write (which applications show)
        assert.equal(kept, emu:sorted("applications", "lastupdateddatetime", false))
      end
    end
  end)

  it("are moved, not sorted again, after a write to one record", function()
    local emu = make{ data = emulator.generate{ seed = 3, jobs = 8, candidates = 120 } }
    local list = emu:sorted("applications", "lastupdateddatetime", false)
    local a = list[1]
    local st = a.statusid == 1 and 2 or 1
    local r = call(emu, "updateRecord", { instructions = { recordtype = "X", recordid = a.id },
                                          updates = { { column = "opportunityresourcestatusid",
                                                        value = tostring(st) } } })
    assert.equal(0, r.status, r.message)
    local again = emu:sorted("applications", "lastupdateddatetime", false)
    assert.equal(list, again)                -- the same table, patched in place
    local got = {}
    for i, x in ipairs(again) do got[i] = x.id end
    assert.same(fresh_ids(emu, "applications", "lastupdateddatetime", false), got)
    assert.are_not.equal(a, again[1])
  end)
end)
