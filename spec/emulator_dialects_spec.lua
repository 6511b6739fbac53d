-- The emulator's dialects (tracker.emulator.dialects): the table itself, every one of its rows
-- observed in both dialects through emu:handle as the transports drive it, the synthetic mode
-- and the faults in each, and `trk emulator --dialect` over HTTP.
local emulator = require "tracker.emulator"
local dialects = require "tracker.emulator.dialects"
local json = require "json"
local time = require("tracker").time
local trk = require "support.trk"
local server = require "support.server"
local widget = require "support.widget"
local ids, keys = widget.ids, widget.keys

local NOW = time.parse("2026-11-20T12:00:00Z")      -- 07:00 in New York
local CREDS = { username = "ops@example.com", apikey = "K3y" }
local call, records = widget.caller(CREDS)

-- A small database: three jobs, fifteen candidates, fifteen applications whose last-updated
-- order is not their id order, one activity.
local function data()
  local d = {
    users = {
      { id = 20, username = "ops@example.com", email = "ops@example.com", firstname = "Olive",
        lastname = "Ops", active = true },
      { id = 21, username = "rec@example.com", email = "rec@example.com", firstname = "Rita",
        lastname = "Recruiter", active = true },
      { id = 22, username = "gone@example.com", email = "gone@example.com", firstname = "Gus",
        lastname = "Gone", active = false },
    },
    clients = { { id = 301, name = "Acme Health", lastupdated = "2026-10-01 09:00:00" } },
    contacts = { { id = 4001, clientid = 301, firstname = "Hank", lastname = "Hiring",
                   lastupdated = "2026-10-01 09:00:00" } },
    jobs = {
      { id = 1034, name = "Data Engineer", clientid = 301, contactid = 4001, statusid = 1,
        typeid = 1, owners = { { userid = 20, percent = 60, role = "Primary" },
                               { userid = 21, percent = 40, role = "Secondary" } },
        dateopened = "2026-10-01", lastupdated = "2026-11-01 10:00:00", custom = {} },
      { id = 1035, name = "Night Nurse", clientid = 301, statusid = 1, typeid = 2,
        owners = { { userid = 21, percent = 100, role = "Primary" } },
        dateopened = "2026-09-01", lastupdated = "2026-11-02 10:00:00", custom = {} },
      { id = 1036, name = "Forklift Operator", clientid = 301, statusid = 1, typeid = 4,
        owners = {}, dateopened = "2026-08-01", lastupdated = "2026-11-03 10:00:00", custom = {} },
    },
    candidates = {}, applications = {},
    activities = {
      { id = 500001, linkrecordtype = "R", linkrecordid = 188077, resourceid = 188077,
        clientid = 301, typeid = 1, statusid = 1, subject = "Screening call", note = "Went well",
        date = "2026-11-01", time = "09:30", userid = 20, lastupdated = "2026-11-01 09:31:00",
        custom = {} },
    },
    documents = {},
  }
  local names = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John",
                  "Radia", "Ken", "Dennis", "Margaret", "Tony", "Niklaus", "Leslie" }
  for i, first in ipairs(names) do
    d.candidates[i] = { id = 188076 + i, firstname = first, lastname = "Test" .. i,
                        email = first:lower() .. "@example.com", statusid = 1, ownerid = 20,
                        dateopened = "2026-01-05 08:00:00", custom = {},
                        lastupdated = string.format("2026-11-%02d 10:00:00", i) }
  end
  d.candidates[1].tag = "hot,python"
  d.applications[1] = { id = 70001, opportunityid = 1034, resourceid = 188077, statusid = 5,
                        list = "short", dateassigned = "2026-10-02 09:00:00", active = "y",
                        lastupdated = "2026-11-09 11:00:00", custom = { ["449"] = "Yes" } }
  d.applications[2] = { id = 70002, opportunityid = 1035, resourceid = 188078, statusid = 8,
                        list = "short", dateassigned = "2026-09-02 09:00:00",
                        startdate = "2026-10-01", payrate = 40, chargerate = 60.5, active = "y",
                        lastupdated = "2026-11-01 11:00:00", custom = {} }
  for i = 3, 15 do
    d.applications[i] = { id = 70000 + i, opportunityid = 1036, resourceid = 188076 + i,
                          statusid = 1, list = "long", active = "y", custom = {},
                          lastupdated = string.format("2026-10-%02d 11:00:00", 30 - i) }
  end
  return d
end

local function make(dialect, opts)
  opts = opts or {}
  opts.dialect = dialect
  opts.clock = function() return NOW end
  opts.apikey, opts.username, opts.api_token = "K3y", "ops@example.com", "T0k"
  opts.timezone = "America/New_York"
  if opts.data == nil then opts.data = data() end
  return emulator.new(opts)
end

-- The REST API: a JWT, then a request; the decoded answer and the status.
local function rest(emu, method, path, body)
  local _, _, tb = emu:handle("POST", "/api/Auth/ExchangeToken", {}, '{"bearerToken":"T0k"}')
  local headers = { Authorization = "Bearer " .. json.decode(tb).token }
  local status, h, text = emu:handle(method, path, headers, body and json.encode(body) or "")
  return json.decode(text), status, h
end

local function one(emu, letter, id)
  return call(emu, "getIndividualRecord", { instructions = { recordtype = letter, recordid = id } })
end

local function update(emu, letter, id, updates)
  return call(emu, "updateRecord", { instructions = { recordtype = letter, recordid = id },
                                     updates = updates })
end

local function read(path)
  return assert(io.open(trk.root .. "/" .. path)):read("a")
end

-- ---- the table -------------------------------------------------------------------------------

describe("the dialects table", function()
  it("gives every row a unique name, a value in each dialect, a tag and what it says", function()
    local seen = {}
    for i, row in ipairs(dialects.ROWS) do
      assert.is_string(row.name, "row " .. i)
      assert.is_nil(seen[row.name], row.name)
      seen[row.name] = true
      assert.is_true(type(row.tag) == "string" and row.tag:find("%S") ~= nil, row.name)
      assert.is_true(type(row.says) == "string" and row.says:find("%S") ~= nil, row.name)
      for _, d in ipairs(dialects.names()) do assert.is_not_nil(row[d], row.name .. " " .. d) end
      assert.is_false(row.evidence == row.rich and type(row.rich) ~= "table", row.name)
    end
    assert.is_true(#dialects.ROWS >= 15)
  end)

  it("resolves a dialect to its column of the table, row by row", function()
    assert.same({ "evidence", "rich" }, dialects.names())
    for _, d in ipairs(dialects.names()) do
      local t = dialects.resolve(d)
      for _, row in ipairs(dialects.ROWS) do assert.same(row[d], t[row.name], row.name) end
      assert.same(#dialects.ROWS, #keys(t))
    end
  end)

  it("refuses an unknown dialect, naming the known ones", function()
    local ok, e = pcall(dialects.resolve, "bogus")
    assert.is_false(ok)
    assert.matches("unknown dialect 'bogus' (known: evidence, rich)", e, 1, true)
    ok, e = pcall(emulator.new, { dialect = "bogus" })
    assert.is_false(ok)
    assert.matches("emulator.new: unknown dialect 'bogus' (known: evidence, rich)", e, 1, true)
  end)

  it("serves the default dialect when none is named, and says which", function()
    assert.equal(dialects.DEFAULT, emulator.new{}.dialect_name)
    assert.equal("evidence", make("evidence").dialect_name)
    assert.same(dialects.resolve("rich"), make("rich").dialect)
  end)

  it("is listed row by row, with its tags, in docs/emulator.md and the emulator's header", function()
    local doc, header = read("docs/emulator.md"), read("scripts/tracker/emulator.lua")
    for _, row in ipairs(dialects.ROWS) do
      assert.is_truthy(doc:find("`" .. row.name .. "`", 1, true), "docs: " .. row.name)
      assert.is_truthy(doc:find(row.tag, 1, true), "docs: the tag of " .. row.name)
      assert.is_truthy(header:find("--                " .. row.name .. " ", 1, true),
                       "header: " .. row.name)
    end
  end)
end)

-- ---- every row, in both dialects ---------------------------------------------------------------

describe("dialect row", function()
  it("item_timestamp: only rich items carry a top-level lastupdateddatetime", function()
    local ev, rich = make("evidence"), make("rich")
    for _, letter in ipairs({ "R", "O", "C", "N", "A", "X" }) do
      local e = records(ev, { recordtype = letter, numrecords = 1 }).results[1]
      local r = records(rich, { recordtype = letter, numrecords = 1 }).results[1]
      assert.is_nil(e.lastupdateddatetime, letter)
      assert.is_string(r.lastupdateddatetime, letter)
    end
    local act = records(ev, { recordtype = "A", recordid = 500001 }).results[1]
    assert.equal("2026-11-01 09:31:00", act.details.lastupdateddatetime)
    local plc = records(ev, { recordtype = "X", recordid = 70002 }).results[1]
    assert.equal("2026-11-01 11:00:00", plc.details.lastupdated)
    for _, letter in ipairs({ "O", "R" }) do
      local id = letter == "O" and 1034 or 188077
      assert.is_nil(one(ev, letter, id).results[1].lastupdateddatetime, letter)
      assert.is_string(one(rich, letter, id).results[1].lastupdateddatetime, letter)
    end
    assert.equal("2026-11-01 09:31:00", one(ev, "A", 500001).results[1].lastupdateddatetime)
  end)

  it("item_text_customfields: evidence items always carry text and customfields", function()
    local ev, rich = make("evidence"), make("rich")
    for _, letter in ipairs({ "R", "O", "C", "N", "A", "X" }) do
      for _, asked in ipairs({ false, true }) do
        local ins = { recordtype = letter, numrecords = 1, includecustomfields = asked }
        local e = records(ev, ins).results[1]
        local r = records(rich, ins).results[1]
        assert.equal("", e.text, letter)
        assert.is_table(e.customfields, letter)
        assert.is_nil(r.text, letter)
        assert.equal(asked, r.customfields ~= nil, letter)
      end
    end
    local c = records(ev, { recordtype = "R", recordid = 188077 }).results[1]
    assert.equal(441, c.customfields[1].id)
  end)

  it("settings_stages: rich lists the stages, evidence names its conventions instead", function()
    local e = call(make("evidence"), "getSettingsData")
    local r = call(make("rich"), "getSettingsData")
    assert.is_nil(e.opportunityResourceStatuses)
    assert.same({ "Job", "Candidate" }, { e.namingConventions.opportunity,
                                          e.namingConventions.resource })
    assert.is_string(e.accessRights)
    assert.equal(0, e.count)
    assert.equal("Applied", r.opportunityResourceStatuses[1].Name)
    assert.is_nil(r.namingConventions)
    assert.is_nil(r.accessRights)
    assert.same(keys(r.resourceStatuses[1]), keys(e.resourceStatuses[1]))
  end)

  it("users_active: a string in evidence, a boolean in rich", function()
    local e = call(make("evidence"), "getSettingsData").users
    local r = call(make("rich"), "getSettingsData").users
    assert.same({ "True", "False" }, { e[1].Active, e[3].Active })
    assert.same({ true, false }, { r[1].Active, r[3].Active })
  end)

  it("application_answer: evidence answers status, message and count only", function()
    local ins = { opportunityid = "1035", resourceid = "188079", assigntolist = "short",
                  shortlistedby = "user" }
    local ev = make("evidence")
    local e = call(ev, "resourceApplication", { instructions = ins })
    assert.same({ count = 0, message = "success", status = 0 }, e)
    assert.is_not_nil(ev.app_pair["1035:188079"])
    local r = call(make("rich"), "resourceApplication", { instructions = ins })
    assert.same({ 0, "created", "Alan Test3 - Night Nurse" }, { r.status, r.message, r.recordName })
    assert.equal("integer", math.type(r.recordId))
  end)

  it("exists_record_id: status 3 carries the existing record's id in rich only", function()
    local pair = { instructions = { opportunityid = 1034, resourceid = 188077 } }
    local known = { resource = { firstname = "Ada", email = "ADA@example.com" },
                    instructions = { overwriteresource = false } }
    local e1 = call(make("evidence"), "resourceApplication", pair)
    local e2 = call(make("evidence"), "createResource", known)
    for _, e in ipairs({ e1, e2 }) do
      assert.same({ "count", "message", "status" }, keys(e))
      assert.equal(3, e.status)
    end
    local r1 = call(make("rich"), "resourceApplication", pair)
    local r2 = call(make("rich"), "createResource", known)
    assert.same({ 3, 70001, 3, 188077, "Ada Test1" },
                { r1.status, r1.recordId, r2.status, r2.recordId, r2.recordName })
  end)

  it("write_messages: success for updates, notes and documents in evidence", function()
    local function writes(dialect)
      local emu = make(dialect)
      local out = {}
      out[1] = update(emu, "R", 188077, { { column = "jobtitle", value = "Analyst" } }).message
      out[2] = call(emu, "createActivity", { activity = { subject = "Hi", linkRecordType = "R",
                                                          linkRecordId = 188077 } }).message
      out[3] = call(emu, "attachDocument", { file = { filename = "cv.txt", recordType = "R",
                                                      recordId = 188077, data = "SGk=" } }).message
      local new = call(emu, "createResource", { resource = { firstname = "Katherine",
        lastname = "Johnson", email = "kj@example.com" } })
      out[4], out[5] = new.message, new.recordName
      out[6] = call(emu, "createResource", { resource = { firstname = "Ada", email = "ada@example.com",
        jobtitle = "Countess" }, instructions = { overwriteresource = true } }).message
      return out
    end
    assert.same({ "success", "success", "success", "created", "Katherine Johnson", "created" },
                writes("evidence"))
    assert.same({ "updated", "created", "created", "created", "Katherine Johnson", "updated" },
                writes("rich"))
  end)

  it("rest_search: evidence serves /Search, 10 a page by id, filters ignored", function()
    local ev = make("evidence")
    local a, status = rest(ev, "POST", "/api/v1/OpportunityResource/Search",
                           { pageNumber = 1, pageSize = 50, opportunityId = 1034,
                             updatedAfter = "2026-11-05T00:00:00" })
    assert.equal(200, status)
    assert.same({ "data", "pageNumber", "pageSize", "totalRecords" }, keys(a))
    assert.same({ 10, 15, 1, 10 }, { #a.data, a.totalRecords, a.pageNumber, a.pageSize })
    for i, row in ipairs(a.data) do assert.equal(70000 + i, row.opportunityResourceId) end
    local second = rest(ev, "POST", "/api/v1/OpportunityResource/Search", { pageNumber = 2 })
    assert.same({ 5, 70011, 2 }, { #second.data, second.data[1].opportunityResourceId,
                                   second.pageNumber })
    assert.equal(0, #rest(ev, "POST", "/api/v1/OpportunityResource/Search", { pageNumber = 3 }).data)
    assert.equal(400, select(2, rest(ev, "POST", "/api/v1/OpportunityResource/Search",
                                     { pageNumber = 0 })))
    assert.equal(404, select(2, rest(ev, "POST", "/api/v1/OpportunityResource/PagedSearch",
                                     { pageNumber = 1 })))
    local rich = make("rich")
    assert.equal(405, select(2, rest(rich, "POST", "/api/v1/OpportunityResource/Search",
                                     { pageNumber = 1 })))
    local p, ps = rest(rich, "POST", "/api/v1/OpportunityResource/PagedSearch",
                       { pageNumber = 1, pageSize = 50, opportunityId = 1034 })
    assert.same({ 200, 1, 1 }, { ps, p.totalCount, #p.opportunityResources })
  end)

  it("rest_search: the page_cap fault caps /Search lower still", function()
    local a = rest(make("evidence", { faults = { page_cap = 3 } }), "POST",
                   "/api/v1/OpportunityResource/Search", { pageNumber = 2, pageSize = 50 })
    assert.same({ 3, 3, 70004 }, { #a.data, a.pageSize, a.data[1].opportunityResourceId })
  end)

  it("widget_page_cap: evidence pages hold 100 records at most, rich pages 500", function()
    local big = emulator.generate{ seed = 2, jobs = 1, candidates = 130, applications = 0,
                                   activities = 0, documents = 0 }
    local ins = { recordtype = "R", numrecords = 500 }
    assert.equal(100, records(make("evidence", { data = big }), ins).count)
    assert.equal(130, records(make("rich", { data = big }), ins).count)
    for _, d in ipairs({ "evidence", "rich" }) do
      assert.equal(7, records(make(d, { data = big, faults = { page_cap = 7 } }), ins).count, d)
    end
  end)

  it("activity_types: evidence adds Telephone, InMail and Closed after the existing ids", function()
    local ev, rich = make("evidence"), make("rich")
    local lists = ev:state().lists
    local by = {}
    for _, e in ipairs(lists.activityTypes) do by[e.name] = e.id end
    assert.same({ 1, 3, 4, 8, 9 }, { by.Note, by.Email, by.Meeting, by.Telephone, by.InMail })
    assert.equal("Closed", lists.activityStatuses[#lists.activityStatuses].name)
    assert.equal(#rich:state().lists.activityTypes + 2, #lists.activityTypes)
    local act = { subject = "Call", type = "Telephone", status = "Closed", linkRecordType = "R",
                  linkRecordId = 188077 }
    local e = call(ev, "createActivity", { activity = act })
    assert.equal(0, e.status)
    assert.equal(8, ev:get("activities", e.recordId).typeid)
    local r = call(rich, "createActivity", { activity = act })
    assert.equal(99, r.status)
    assert.matches("unknown activity type 'Telephone'", r.message, 1, true)
  end)

  it("update_kinds: both update A, C, N and L; evidence O's further columns too", function()
    local ev, rich = make("evidence"), make("rich")
    local both = {
      { "C", 301, { { column = "clientname", value = "Acme Care" } } },
      { "N", 4001, { { column = "surname", value = "Hire" }, { column = "email", value = "h@x.com" } } },
      { "A", 500001, { { column = "subject", value = "Second call" },
                       { column = "taskstatus", value = "completed" },
                       { column = "timedue", value = "2:30 PM" } } },
    }
    for _, emu in ipairs({ ev, rich }) do
      for _, c in ipairs(both) do
        local e = update(emu, c[1], c[2], c[3])
        assert.equal(0, e.status, c[1] .. ": " .. tostring(e.message))
      end
      local a = emu:get("activities", 500001)
      assert.same({ "Second call", "14:30" }, { a.subject, a.time })
      assert.equal("Acme Care", emu:get("clients", 301).name)
      assert.same({ "Hire", "h@x.com" }, { emu:get("contacts", 4001).lastname,
                                           emu:get("contacts", 4001).email })
      local lead = update(emu, "L", 1, { { column = "leadname", value = "x" } })
      assert.equal(99, lead.status)
      assert.matches("record L 1 not found", lead.message, 1, true)
    end
    local o = { { column = "publishworktype", value = "Contract" },
                { column = "opportunityrate", value = "55" },
                { column = "opportunitychargerate", value = "80.5" },
                { column = "department", value = "Technology" } }
    assert.equal(0, update(ev, "O", 1034, o).status)
    assert.equal(99, update(rich, "O", 1034, o).status)
    local j = ev:get("jobs", 1034)
    assert.same({ "Contract", 55, 80.5 }, { j.publishworktype, j.opportunityrate, j.opportunitychargerate })
    assert.equal(0, update(ev, "A", 500001, { { column = "taskstatus", value = "closed" } }).status)
    assert.equal("Closed", ev:state().lists.activityStatuses[ev:get("activities", 500001).statusid].name)
  end)

  it("settings_activity_lists: rich lists activity types and statuses, evidence neither", function()
    local ev = call(make("evidence"), "getSettingsData", {})
    local rich = call(make("rich"), "getSettingsData", {})
    assert.is_nil(ev.activityTypes)
    assert.is_nil(ev.activityStatuses)
    local names = {}
    for _, e in ipairs(rich.activityTypes) do names[#names + 1] = e.Name end
    assert.same({ "Note", "Call", "Email", "Meeting", "Interview", "Task", "Text Message" }, names)
    assert.equal("Completed", rich.activityStatuses[1].Name)
  end)

  it("unknown_individual: evidence answers an unknown id with no results, rich with 99", function()
    assert.same({ count = 0, message = "success", status = 0, results = {} },
                one(make("evidence"), "R", 42))
    local r = one(make("rich"), "R", 42)
    assert.equal(99, r.status)
    assert.matches("not found", r.message)
  end)

  it("credentials: an apikey alone acts as the API user in evidence only", function()
    local alone = { apikey = "K3y" }
    local ev, rich = make("evidence"), make("rich")
    assert.equal(0, call(ev, "checkLogon", { credentials = alone }).status)
    local e = call(ev, "createActivity", { credentials = alone, activity = { subject = "Hi",
      linkRecordType = "R", linkRecordId = 188077 } })
    assert.equal(20, ev:get("activities", e.recordId).userid)
    assert.equal(1, call(ev, "checkLogon", { credentials = { apikey = "wrong" } }).status)
    assert.equal(1, call(rich, "checkLogon", { credentials = alone }).status)
    local four = { username = "ops@example.com", password = "", oauthtoken = "", apikey = "K3y" }
    for _, emu in ipairs({ ev, rich }) do
      assert.equal(0, call(emu, "checkLogon", { credentials = four }).status)
    end
    assert.equal(0, call(ev, "checkLogon", { credentials = { username = "", password = "",
                                                            oauthtoken = "", apikey = "K3y" } }).status)
  end)

  it("tag_column: only rich shows a candidate's tag; both take it in updateRecord", function()
    local ev, rich = make("evidence"), make("rich")
    assert.is_nil(one(ev, "R", 188077).results[1].tag)
    assert.equal("hot,python", one(rich, "R", 188077).results[1].tag)
    for _, emu in ipairs({ ev, rich }) do
      assert.equal(0, update(emu, "R", 188078, { { column = "tag", value = "java" } }).status)
      assert.equal("java", emu:get("candidates", 188078).tag)
    end
  end)

  it("rest_rows: evidence rows have string rates and owners, no time, custom fields on GET", function()
    local e = rest(make("evidence"), "GET", "/api/v1/OpportunityResource/70002")
    assert.same({ "40", "60.5", json.null, 21, json.null },
                { e.payRate, e.chargeRate, e.overtimeRate, e.firstOwnerId, e.secondOwnerId })
    assert.is_nil(e.lastUpdatedDateTime)
    assert.is_table(e.customFields)
    for _, k in ipairs({ "opportunityResourceId", "opportunityId", "resourceId", "clientId",
                         "opportunityName", "opportunityResourceStatusName",
                         "opportunityResourceStatusId", "startDate", "endDate", "activeRecord",
                         "clientName", "resourceDisplayAs", "resourceEmail" }) do
      assert.is_not_nil(e[k], k)
    end
    local first = rest(make("evidence"), "GET", "/api/v1/OpportunityResource/70001")
    assert.same({ 20, 21 }, { first.firstOwnerId, first.secondOwnerId })
    local row = rest(make("evidence"), "POST", "/api/v1/OpportunityResource/Search",
                     { pageNumber = 1 }).data[2]
    assert.same({ 70002, "40" }, { row.opportunityResourceId, row.payRate })
    assert.is_nil(row.customFields)
    assert.is_nil(row.lastUpdatedDateTime)
    local r = rest(make("rich"), "GET", "/api/v1/OpportunityResource/70002")
    assert.same({ 40, 60.5, "2026-11-01T11:00:00" }, { r.payRate, r.chargeRate, r.lastUpdatedDateTime })
    assert.is_nil(r.firstOwnerId)
  end)
end)

-- ---- what every dialect keeps ------------------------------------------------------------------

describe("every dialect", function()
  it("serves synthetic candidates cut from its own items", function()
    for _, d in ipairs(dialects.names()) do
      local syn = emulator.new{ apikey = "K3y", username = "ops@example.com", dialect = d,
                                synthetic = { candidates = 300, seed = 7 } }
      local normal = emulator.new{ apikey = "K3y", username = "ops@example.com", dialect = d,
                                   data = emulator.generate{ seed = 7, candidates = 5 } }
      for _, asked in ipairs({ false, true }) do
        local ins = { recordtype = "R", numrecords = 500, includecustomfields = asked }
        local page = records(syn, ins)
        assert.equal(d == "evidence" and 100 or 300, page.count, d)
        local want = records(normal, ins).results[1]
        assert.same(keys(want), keys(page.results[1]), d)
        assert.same(keys(want.details), keys(page.results[1].details), d)
        for _, item in ipairs({ page.results[1], page.results[77] }) do
          local again = records(syn, { recordtype = "R", recordid = item.id,
                                       includecustomfields = asked })
          assert.same(item, again.results[1], d)
        end
      end
      assert.equal(d == "rich", records(syn, { recordtype = "R" }).results[1].lastupdateddatetime ~= nil)
      assert.same(ids(records(syn, { recordtype = "R", numrecords = 3, pagenum = 1 })),
                  { 200004, 200005, 200006 })
    end
  end)

  it("applies latency, the rate limit, faults and the admin paths", function()
    for _, d in ipairs(dialects.names()) do
      local emu = make(d, { admin = true, faults = { latency = 25, rate_limit = 2 } })
      local s1, h1 = emu:handle("POST", "/api/widget/checkLogon", {},
                                json.encode({ trackerrms = { checkLogon = { credentials = CREDS } } }))
      assert.same({ 200, "25" }, { s1, h1["x-emulator-delay-ms"] }, d)
      emu:handle("POST", "/api/widget/checkLogon", {}, "{}")
      local s3, h3 = emu:handle("POST", "/api/widget/checkLogon", {}, "{}")
      assert.equal(429, s3, d)
      assert.is_string(h3["retry-after"], d)
      assert.equal(200, (emu:handle("GET", "/_emulator/state", {}, "")), d)
      local broken = make(d, { faults = { errors = 1 } })
      local s = broken:handle("POST", "/api/widget/getRecords", {}, "{}")
      assert.is_true(s == 500 or s == 502 or s == 503, d)
    end
  end)
end)

-- ---- over HTTP -----------------------------------------------------------------------------------

describe("trk emulator --dialect", function()
  after_each(function() server.stop_all() end)

  local function curl(url, headers, body)
    local args = { "curl", "-s", "-o", "-", "-w", "'\\n%{http_code}'" }
    for k, v in pairs(headers) do args[#args + 1] = "-H " .. trk.quote(k .. ": " .. v) end
    if body then args[#args + 1] = "--data-binary " .. trk.quote(body) end
    args[#args + 1] = trk.quote(url)
    local p = io.popen(server.PLAIN .. table.concat(args, " "))
    local out = p:read("a")
    p:close()
    local text, status = out:match("^(.*)\n(%d+)$")
    return tonumber(status), text
  end

  it("evidence serves POST /api/v1/OpportunityResource/Search, 10 a page", function()
    local s = server.start({ "--dialect", "evidence", "--generate", "30", "--seed", "5" })
    local json_type = { ["Content-Type"] = "application/json" }
    local st, text = curl(s.url .. "/api/Auth/ExchangeToken", json_type,
                          json.encode({ bearerToken = server.secrets.api_token }))
    assert.equal(200, st, text)
    local auth = { ["Content-Type"] = "application/json",
                   Authorization = "Bearer " .. json.decode(text).token }
    st, text = curl(s.url .. "/api/v1/OpportunityResource/Search", auth,
                    '{"pageNumber":1,"pageSize":100}')
    assert.equal(200, st, text)
    local page = json.decode(text)
    assert.same({ 10, 1, 10 }, { #page.data, page.pageNumber, page.pageSize })
    assert.is_true(page.totalRecords > 10)
    st = curl(s.url .. "/api/v1/OpportunityResource/PagedSearch", auth, '{"pageNumber":1}')
    assert.equal(404, st)
  end)

  it("is a usage error for an unknown name, naming the dialects", function()
    local r = trk.exec({ "emulator", "--port", "0", "--dialect", "bogus" })
    assert.equal(2, r.code, r.stderr)
    assert.matches("--dialect: unknown dialect 'bogus' (known: evidence, rich)", r.stderr, 1, true)
    local help = trk.exec({ "help", "emulator" }).stdout
    assert.is_truthy(help:find("--dialect NAME", 1, true))
  end)
end)
