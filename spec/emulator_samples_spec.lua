-- Sample fidelity: each request sample of the Tracker contract (docs/tracker-api.md), sent as
-- written, gets an answer of the documented shape from the emulator.
--
-- The samples are copied verbatim. Where the contract abbreviates the credentials node as
-- {...}, the credentials of its first sample are put in its place; nothing else is changed.
-- The answers §1-§8 document are the rich dialect's where the dialects differ: those specs name
-- it (the evidence dialect's answers: emulator_dialects_spec).
local emulator = require "tracker.emulator"
local json = require "json"
local time = require("tracker").time
local keys = require("support.widget").keys

local CREDENTIALS = '{"username": "ops@example.com", "apikey": "K3y..."}'

local SAMPLES = {
  getRecords = [[
{"trackerrms": {"getRecords": {
  "credentials": {"username": "ops@example.com", "apikey": "K3y..."},
  "instructions": {"recordtype": "R", "numrecords": 100, "pagenum": 0}
}}}]],
  updateRecord = [[
{"trackerrms": {"updateRecord": {"credentials": {...},
  "instructions": {"recordtype": "R", "recordid": 188077},
  "updates": [{"column": "jobtitle", "value": "Data Engineer"}],
  "customfields": [{"id": 448, "value": "High"}],
  "skills": [{"id": 789, "value": "Yes"}]}}}]],
  createActivity = [[
{"trackerrms": {"createActivity": {"credentials": {...}, "instructions": {},
  "activity": {"subject": "Screening call", "type": "Note", "date": "2026-11-21",
    "time": "14:05", "status": "Completed", "priority": "Medium", "contactType": "Outbound",
    "note": "Plain text body", "userId": 20, "linkRecordType": "R", "linkRecordId": 188077},
  "customfields": [{"id": 448, "value": "High"}]}}}]],
  ExchangeToken = [[{"bearerToken": "<api token>"}]],
  PagedSearch = [[{"pageNumber": 1, "pageSize": 100, "opportunityId": 1034, "resourceId": null,
"opportunityResourceStatusId": null, "updatedAfter": "2026-11-01T00:00:00"}]],
}

local function as_written(sample)
  return (sample:gsub('"credentials": {%.%.%.}', '"credentials": ' .. CREDENTIALS))
end

-- The database the samples name: candidate 188077, jobs 1034 and 2482, user 20.
local function make(dialect)
  local data = emulator.generate{ seed = 1, jobs = 40, candidates = 100,
                                  timezone = "America/New_York" }
  local j = {}
  for k, v in pairs(data.jobs[34]) do j[k] = v end
  j.id, j.owners, j.custom = 2482, {}, {}
  data.jobs[#data.jobs + 1] = j
  return emulator.new{ data = data, timezone = "America/New_York", apikey = "K3y...", dialect = dialect,
                       username = "ops@example.com", api_token = "<api token>",
                       clock = function() return time.parse("2026-11-21T19:05:00Z") end }
end

local function widget(emu, verb, body)
  local status, h, text = emu:handle("POST", "/api/widget/" .. verb,
                                     { ["Content-Type"] = "application/json" }, body)
  assert.equal(200, status)
  assert.equal("application/json; charset=utf-8", h["content-type"])
  return json.decode(text)
end

local function jwt(emu)
  local _, _, text = emu:handle("POST", "/api/Auth/ExchangeToken", {}, SAMPLES.ExchangeToken)
  return { Authorization = "Bearer " .. json.decode(text).token }
end

describe("contract samples", function()
  it("getRecords: the envelope of §2 with a page of resources", function()
    local a = widget(make("rich"), "getRecords", SAMPLES.getRecords)
    assert.same({ "count", "message", "results", "status" }, keys(a))
    assert.same({ 0, "success", 100, 100 }, { a.status, a.message, a.count, #a.results })
    assert.same({ "company", "dateopened", "details", "id", "lastupdateddatetime", "name", "status" },
                keys(a.results[1]))
    assert.equal("integer", math.type(a.results[1].id))
  end)

  it("updateRecord: status 0, message updated, the record's id and name", function()
    local emu = make("rich")
    local a = widget(emu, "updateRecord", as_written(SAMPLES.updateRecord))
    assert.same({ "count", "message", "recordId", "recordName", "status" }, keys(a))
    assert.same({ 0, "updated", 188077 }, { a.status, a.message, a.recordId })
    local c = emu:get("candidates", 188077)
    assert.same({ "Data Engineer", "High", "Yes" }, { c.jobtitle, c.custom["448"], c.skills["789"] })
  end)

  it("createActivity: status 0, message created, a new integer recordId", function()
    local emu = make("rich")
    local a = widget(emu, "createActivity", as_written(SAMPLES.createActivity))
    assert.same({ 0, "created", "Screening call" }, { a.status, a.message, a.recordName })
    assert.equal("integer", math.type(a.recordId))
    local act = emu:get("activities", a.recordId)
    assert.same({ "2026-11-21", "14:05", 20, "Plain text body" }, { act.date, act.time, act.userid, act.note })
  end)

  it("resourceApplication: takes \"opportunityid\": \"2482\" as a string", function()
    local a = widget(make("rich"), "resourceApplication", json.encode({ trackerrms = { resourceApplication = {
      credentials = json.decode(CREDENTIALS),
      instructions = { opportunityid = "2482", resourceid = 188077, assigntolist = "short",
                       shortlistedby = "user", source = "Referral" } } } }))
    assert.same({ 0, "created" }, { a.status, a.message })
    assert.is_string(a.recordName)
  end)

  it("createResource: takes \"overwriteresource\": \"false\" and answers recordId and recordName", function()
    local a = widget(make(), "createResource", json.encode({ trackerrms = { createResource = {
      credentials = json.decode(CREDENTIALS),
      instructions = { overwriteresource = "false", assigntoopportunity = 1034, assigntolist = "short",
                       shortlistedby = "resource" },
      resource = { firstname = "Katherine", lastname = "Johnson", fullname = "Katherine Johnson",
                   jobtitle = "Mathematician", email = "katherine.johnson@example.org",
                   source = "Referral", status = "Active" } } } }))
    assert.same({ 0, "created", "Katherine Johnson" }, { a.status, a.message, a.recordName })
    assert.equal("integer", math.type(a.recordId))
  end)

  it("attachDocument: the file node of §3", function()
    local a = widget(make("rich"), "attachDocument", json.encode({ trackerrms = { attachDocument = {
      credentials = json.decode(CREDENTIALS),
      file = { filename = "resume.pdf", recordType = "R", recordId = 188077, documentType = "resume",
               primary = "y", data = "JVBERi0xLjQK\n" } } } }))
    assert.same({ 0, "created", "resume.pdf" }, { a.status, a.message, a.recordName })
  end)

  it("getIndividualRecord: an opportunity with Owners, Placements and executivesummary", function()
    local a = widget(make(), "getIndividualRecord", json.encode({ trackerrms = { getIndividualRecord = {
      credentials = json.decode(CREDENTIALS), instructions = { recordtype = "O", recordid = 1034 } } } }))
    local r = a.results[1]
    for _, k in ipairs({ "clientid", "clientname", "contactid", "contactname", "status",
                         "description", "executivesummary", "Owners", "Placements" }) do
      assert.is_not_nil(r[k], k)
    end
    assert.same({ "recordName", "recordValue" }, keys(r.executivesummary[1]))
    assert.same({ "OwnerId", "OwnerName", "OwnerPercent", "OwnerRole" }, keys(r.Owners[1]))
  end)

  it("checkLogon: status 0", function()
    local a = widget(make(), "checkLogon", json.encode({ trackerrms = { checkLogon = {
      credentials = json.decode(CREDENTIALS) } } }))
    assert.equal(0, a.status)
  end)

  it("getSettingsData: the lookup lists with PascalCase entries", function()
    local a = widget(make("rich"), "getSettingsData", json.encode({ trackerrms = { getSettingsData = {
      credentials = json.decode(CREDENTIALS) } } }))
    for _, k in ipairs({ "opportunityStatuses", "resourceStatuses", "resourceSources",
                         "opportunityWorkTypes", "departments", "opportunityResourceStatuses" }) do
      assert.same({ "Id", "Name" }, keys(a[k][1]), k)
    end
    assert.same({ "Active", "Email", "LastLogon", "UserId", "Username" }, keys(a.users[1]))
    assert.same({ "Association", "Id", "ListId", "Name", "Type" }, keys(a.customFields[1]))
    assert.same({ "Id", "Items", "Name" }, keys(a.customFieldLists[1]))
    assert.same({ "Id", "Name" }, keys(a.customFieldLists[1].Items[1]))
  end)

  it("ExchangeToken: token and expiration", function()
    local status, _, text = make():handle("POST", "/api/Auth/ExchangeToken", {}, SAMPLES.ExchangeToken)
    assert.equal(200, status)
    local a = json.decode(text)
    assert.same({ "expiration", "token" }, keys(a))
    assert.equal(time.parse("2026-11-21T19:05:00Z") + 7 * 86400, time.parse(a.expiration))
  end)

  it("PagedSearch: opportunityResources with totals", function()
    local emu = make("rich")
    local status, _, text = emu:handle("POST", "/api/v1/OpportunityResource/PagedSearch", jwt(emu),
                                       SAMPLES.PagedSearch)
    assert.equal(200, status)
    local a = json.decode(text)
    for _, k in ipairs({ "opportunityResources", "totalCount", "totalPages", "pageSize", "hasNextPage" }) do
      assert.is_not_nil(a[k], k)
    end
    assert.same({ "activeRecord", "chargeRate", "clientId", "clientName", "customFields", "endDate",
                  "lastUpdatedDateTime", "opportunityId", "opportunityName",
                  "opportunityResourceId", "opportunityResourceStatusId",
                  "opportunityResourceStatusName", "payRate", "resourceDisplayAs",
                  "resourceEmail", "resourceId", "startDate" }, keys(a.opportunityResources[1]))
    for _, item in ipairs(a.opportunityResources) do
      assert.equal(1034, item.opportunityId)
      assert.is_true(item.lastUpdatedDateTime >= "2026-11-01T00:00:00")
    end
  end)

  it("GET OpportunityResource/{id}: one item of the same shape", function()
    local emu = make()
    local status, _, text = emu:handle("GET", "/api/v1/OpportunityResource/70001", jwt(emu), "")
    assert.equal(200, status)
    assert.equal(70001, json.decode(text).opportunityResourceId)
  end)

  it("GET Resource/{id}/Documents and .../{documentId}: the list and one document", function()
    local emu = make()
    local headers = jwt(emu)
    local id = emu:state().documents[1].recordid
    local _, _, text = emu:handle("GET", "/api/v1/Resource/" .. id .. "/Documents", headers, "")
    local list = json.decode(text)
    assert.same({ "dateAdded", "documentId", "documentType", "filename", "isPrimary" }, keys(list[1]))
    local _, _, one = emu:handle("GET", "/api/v1/Resource/" .. id .. "/Documents/" .. list[1].documentId,
                                 headers, "")
    assert.same({ "contentType", "data", "documentId", "filename" }, keys(json.decode(one)))
  end)

  it("errors: an RFC 7807 body with type, title, status and traceId", function()
    local emu = make()
    local status, _, text = emu:handle("GET", "/api/v1/OpportunityResource/1", jwt(emu), "")
    assert.equal(404, status)
    local a = json.decode(text)
    for _, k in ipairs({ "type", "title", "status", "traceId" }) do assert.is_not_nil(a[k], k) end
  end)
end)
