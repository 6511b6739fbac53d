-- The Tracker emulator's REST API v1: ExchangeToken, JWTs, OpportunityResource and Documents.
local emulator = require "tracker.emulator"
local json = require "json"
local time = require("tracker").time

local NOW = time.parse("2026-11-20T12:00:00Z")

-- A database with one job of 25 applications, one other job, and documents on one candidate.
local function data()
  local d = { users = { { id = 20, username = "ops@example.com", email = "ops@example.com",
                          firstname = "Olive", lastname = "Ops", active = true } },
              clients = { { id = 301, name = "Acme Health" } },
              jobs = { { id = 1034, name = "Data Engineer", clientid = 301, statusid = 1,
                         lastupdated = "2026-10-01 09:00:00" },
                       { id = 1040, name = "Nurse", clientid = 301, statusid = 1,
                         lastupdated = "2026-10-01 09:00:00" } },
              candidates = {}, applications = {},
              documents = {
                { id = 9001, recordtype = "R", recordid = 188001, filename = "Ann_Resume.pdf",
                  documenttype = "Resume", primary = true, contenttype = "application/pdf",
                  data = "JVBERi0xLjQK", dateadded = "2026-10-05 14:00:00" },
                { id = 9002, recordtype = "R", recordid = 188001, filename = "Ann_Cover.txt",
                  documenttype = "Cover Letter", primary = false, contenttype = "text/plain",
                  data = "SGk=", dateadded = "2026-10-06 14:00:00" },
                { id = 9003, recordtype = "R", recordid = 188002, filename = "Bob.pdf",
                  documenttype = "Resume", primary = true, contenttype = "application/pdf",
                  data = "JVBERg==", dateadded = "2026-10-07 14:00:00" },
              } }
  for i = 1, 26 do
    d.candidates[i] = { id = 188000 + i, firstname = "Cand", lastname = tostring(i),
                        email = "c" .. i .. "@example.com", statusid = 1,
                        lastupdated = "2026-10-01 09:00:00" }
  end
  for i = 1, 25 do
    d.applications[i] = { id = 70000 + i, opportunityid = 1034, resourceid = 188000 + i,
                          statusid = i <= 5 and 5 or 1, active = "y", custom = {},
                          lastupdated = string.format("2026-11-%02d 10:00:00", i) }
  end
  d.applications[26] = { id = 70026, opportunityid = 1040, resourceid = 188001, statusid = 8,
                         startdate = "2026-12-01", payrate = 40, chargerate = 65.5, active = "y",
                         lastupdated = "2026-10-15 10:00:00", custom = { ["449"] = "Yes" } }
  return d
end

local function make(opts)
  opts = opts or {}
  local clock = { now = NOW }
  opts.clock = function() return clock.now end
  opts.api_token = "T0k"
  opts.username = "ops@example.com"
  opts.timezone = "America/New_York"
  opts.data = data()
  return emulator.new(opts), clock
end

-- PagedSearch, and rows with lastUpdatedDateTime, are the rich dialect's (the evidence
-- dialect's Search and rows: emulator_dialects_spec).
local function rich(opts)
  opts = opts or {}
  opts.dialect = "rich"
  return make(opts)
end

local function exchange(emu, token)
  local status, h, body = emu:handle("POST", "/api/Auth/ExchangeToken",
                                     { ["Content-Type"] = "application/json" },
                                     json.encode({ bearerToken = token or "T0k" }))
  return json.decode(body), status, h
end

local function bearer(emu)
  return { Authorization = "Bearer " .. exchange(emu).token }
end

local function search(emu, body, headers)
  local status, h, text = emu:handle("POST", "/api/v1/OpportunityResource/PagedSearch",
                                     headers or bearer(emu), type(body) == "string" and body or json.encode(body))
  return json.decode(text), status, h, text
end

local function get(emu, path, headers)
  local status, h, text = emu:handle("GET", path, headers or bearer(emu), "")
  return json.decode(text), status, h, text
end

describe("ExchangeToken", function()
  it("exchanges the API token for a JWT and its expiration", function()
    local a, status, h = exchange((make()))
    assert.equal(200, status)
    assert.equal("application/json; charset=utf-8", h["content-type"])
    assert.matches("^[%w_-]+%.[%w_-]+%.[%w_-]+$", a.token)
    assert.equal("2026-11-27T12:00:00Z", a.expiration)
  end)

  it("answers 401 for a wrong API token", function()
    local a, status = exchange(make(), "guess")
    assert.equal(401, status)
    assert.equal(401, a.status)
  end)

  it("answers 400 for a body that is not JSON", function()
    local status, h = make():handle("POST", "/api/Auth/ExchangeToken", {}, "token=T0k")
    assert.equal(400, status)
    assert.equal("application/problem+json; charset=utf-8", h["content-type"])
  end)

  it("answers 400 when bearerToken is missing", function()
    local status, _, body = make():handle("POST", "/api/Auth/ExchangeToken", {}, "{}")
    assert.equal(400, status)
    assert.is_table(json.decode(body).errors.bearerToken)
  end)

  it("reads property names without regard to case", function()
    local status = make():handle("POST", "/api/Auth/ExchangeToken", {}, '{"BearerToken":"T0k"}')
    assert.equal(200, status)
  end)
end)

describe("JWT", function()
  local function probe(emu, headers)
    local _, status, h = get(emu, "/api/v1/OpportunityResource/70001", headers)
    return status, h
  end

  it("opens the REST API", function()
    local emu = make()
    assert.equal(200, (probe(emu, bearer(emu))))
  end)

  it("answers 401 with WWW-Authenticate when Authorization is missing", function()
    local status, h = probe(make(), {})
    assert.equal(401, status)
    assert.equal("Bearer", h["www-authenticate"])
  end)

  it("answers 401 for a token it never issued", function()
    local status, h = probe(make(), { authorization = "Bearer eyJ.forged.token" })
    assert.equal(401, status)
    assert.matches('invalid_token', h["www-authenticate"])
  end)

  it("answers 401 once the token has expired", function()
    local emu, clock = make()
    local headers = bearer(emu)
    clock.now = NOW + 7 * 86400 - 1
    assert.equal(200, (probe(emu, headers)))
    clock.now = NOW + 7 * 86400
    local status, h = probe(emu, headers)
    assert.equal(401, status)
    assert.matches("expired", h["www-authenticate"])
  end)

  it("honours a configured lifetime", function()
    local emu, clock = make{ limits = { jwt_lifetime = 60 } }
    local headers = bearer(emu)
    clock.now = NOW + 60
    assert.equal(401, (probe(emu, headers)))
  end)

  it("answers 401 for a token superseded by a newer exchange", function()
    local emu = make()
    local old = bearer(emu)
    local new = bearer(emu)
    assert.equal(401, (probe(emu, old)))
    assert.equal(200, (probe(emu, new)))
  end)

  it("keeps older tokens valid when supersede is turned off", function()
    local emu = make{ limits = { jwt_supersede = false } }
    local old = bearer(emu)
    bearer(emu)
    assert.equal(200, (probe(emu, old)))
  end)

  it("is not accepted by the widget API", function()
    local emu = make()
    local status, _, body = emu:handle("POST", "/api/widget/checkLogon", bearer(emu),
                                       '{"trackerrms":{"checkLogon":{}}}')
    assert.equal(200, status)
    assert.equal(1, json.decode(body).status)
  end)
end)

describe("OpportunityResource PagedSearch", function()
  it("pages 1-based with the totals", function()
    local a, status = search(rich(), { pageNumber = 1, pageSize = 10, opportunityId = 1034 })
    assert.equal(200, status)
    assert.same({ 10, 25, 3, 10, true },
                { #a.opportunityResources, a.totalCount, a.totalPages, a.pageSize, a.hasNextPage })
    assert.equal(70001, a.opportunityResources[1].opportunityResourceId)
  end)

  it("ends with a short last page without a next page", function()
    local a = search(rich(), { pageNumber = 3, pageSize = 10, opportunityId = 1034 })
    assert.equal(5, #a.opportunityResources)
    assert.is_false(a.hasNextPage)
  end)

  it("answers an empty array past the last page", function()
    local a, _, _, text = search(rich(), { pageNumber = 4, pageSize = 10, opportunityId = 1034 })
    assert.equal(25, a.totalCount)
    assert.matches('"opportunityResources":%[%]', text)
  end)

  it("orders by id, which an update does not change", function()
    local a = search(rich(), { pageNumber = 1, pageSize = 2 })
    assert.same({ 70001, 70002 }, { a.opportunityResources[1].opportunityResourceId,
                                    a.opportunityResources[2].opportunityResourceId })
  end)

  it("filters by resource and by stage", function()
    local emu = rich()
    assert.equal(2, search(emu, { resourceId = 188001 }).totalCount)
    assert.equal(5, search(emu, { opportunityResourceStatusId = 5 }).totalCount)
    assert.equal(1, search(emu, { opportunityId = 1034, resourceId = 188001, opportunityResourceStatusId = 5 }).totalCount)
  end)

  it("filters by updatedAfter in database local time, inclusively", function()
    local a = search(rich(), { opportunityId = 1034, updatedAfter = "2026-11-20T10:00:00" })
    assert.same(6, a.totalCount)
  end)

  it("treats null filters as absent", function()
    local a = search(rich(), '{"pageNumber":1,"pageSize":100,"opportunityId":null,"resourceId":null}')
    assert.equal(26, a.totalCount)
  end)

  it("gives items every documented field", function()
    local a = search(rich(), { opportunityId = 1040 })
    local item = a.opportunityResources[1]
    for _, k in ipairs({ "opportunityResourceId", "opportunityId", "resourceId", "clientId",
                         "opportunityName", "opportunityResourceStatusId",
                         "opportunityResourceStatusName", "startDate", "endDate", "payRate",
                         "chargeRate", "activeRecord", "clientName", "resourceDisplayAs",
                         "resourceEmail", "lastUpdatedDateTime", "customFields" }) do
      assert.is_not_nil(item[k], k)
    end
    assert.same({ "Working", "2026-12-01T00:00:00", json.null, 65.5, "y", "2026-10-15T10:00:00" },
                { item.opportunityResourceStatusName, item.startDate, item.endDate, item.chargeRate,
                  item.activeRecord, item.lastUpdatedDateTime })
    assert.same({ id = 449, name = "Interview Note Sent", value = "Yes" }, item.customFields[1])
  end)

  it("caps pageSize at the configured limit", function()
    local a = search(rich{ limits = { page_size = 7 } }, { pageSize = 100 })
    assert.equal(7, a.pageSize)
    assert.equal(7, #a.opportunityResources)
  end)

  it("answers 400 for pageNumber 0", function()
    local a, status = search(rich(), { pageNumber = 0 })
    assert.equal(400, status)
    assert.is_table(a.errors.pageNumber)
  end)

  it("answers 400 for a number sent as a string", function()
    local a, status = search(rich(), { pageNumber = "1" })
    assert.equal(400, status)
    assert.is_table(a.errors.pageNumber)
  end)

  it("answers 400 for an updatedAfter that is not a date", function()
    local _, status = search(rich(), { updatedAfter = "last week" })
    assert.equal(400, status)
  end)

  it("answers 400 for a body that is not a JSON object", function()
    local emu = rich()
    local _, status = search(emu, "[1,2]", bearer(emu))
    assert.equal(400, status)
  end)

  it("answers 401 before reading the body", function()
    local _, status = search(rich(), "not json", {})
    assert.equal(401, status)
  end)

  it("answers 405 for GET", function()
    local _, status, h = get(rich(), "/api/v1/OpportunityResource/PagedSearch")
    assert.equal(405, status)
    assert.equal("POST", h.allow)
  end)
end)

describe("GET OpportunityResource/{id}", function()
  it("answers one item of the search shape", function()
    local a, status = get(make(), "/api/v1/OpportunityResource/70026")
    assert.equal(200, status)
    assert.same({ 70026, 1040, 188001, "Nurse", "Acme Health", "Cand 1", "c1@example.com" },
                { a.opportunityResourceId, a.opportunityId, a.resourceId, a.opportunityName,
                  a.clientName, a.resourceDisplayAs, a.resourceEmail })
  end)

  it("shows a stage moved through the widget API", function()
    local emu = rich()
    local _, _, body = emu:handle("POST", "/api/widget/updateRecord", { authorization = "Bearer T0k" },
      json.encode({ trackerrms = { updateRecord = { instructions = { recordtype = "X", recordid = 70026 },
        updates = { { column = "opportunityresourcestatusid", value = "9" } } } } }))
    assert.equal(0, json.decode(body).status)
    local a = get(emu, "/api/v1/OpportunityResource/70026")
    assert.same({ 9, "Complete", "2026-11-20T07:00:00" },
                { a.opportunityResourceStatusId, a.opportunityResourceStatusName, a.lastUpdatedDateTime })
  end)

  it("answers 404 with a problem body for an unknown id", function()
    local a, status, h = get(make(), "/api/v1/OpportunityResource/999")
    assert.equal(404, status)
    assert.equal("application/problem+json; charset=utf-8", h["content-type"])
    assert.same({ 404, "Not Found" }, { a.status, a.title })
  end)

  it("answers 400 for an id that is not a number", function()
    local _, status = get(make(), "/api/v1/OpportunityResource/abc")
    assert.equal(400, status)
  end)
end)

describe("Resource Documents", function()
  it("lists a candidate's documents", function()
    local a, status = get(make(), "/api/v1/Resource/188001/Documents")
    assert.equal(200, status)
    assert.same({ documentId = 9001, filename = "Ann_Resume.pdf", documentType = "Resume",
                  isPrimary = true, dateAdded = "2026-10-05T14:00:00" }, a[1])
    assert.equal(2, #a)
  end)

  it("answers an empty JSON array for a candidate without documents", function()
    local _, status, _, text = get(make(), "/api/v1/Resource/188010/Documents")
    assert.equal(200, status)
    assert.equal("[]", text)
  end)

  it("answers one document with base64 data", function()
    local a = get(make(), "/api/v1/Resource/188001/Documents/9001")
    assert.same({ documentId = 9001, filename = "Ann_Resume.pdf", contentType = "application/pdf",
                  data = "JVBERi0xLjQK" }, a)
  end)

  it("answers 404 for an unknown candidate", function()
    local _, status = get(make(), "/api/v1/Resource/5/Documents")
    assert.equal(404, status)
  end)

  it("answers 404 for a document of another candidate", function()
    local _, status = get(make(), "/api/v1/Resource/188001/Documents/9003")
    assert.equal(404, status)
  end)

  it("lists a document attached through the widget API", function()
    local emu = make()
    local _, _, body = emu:handle("POST", "/api/widget/attachDocument", { authorization = "Bearer T0k" },
      json.encode({ trackerrms = { attachDocument = { file = { filename = "new.docx", recordType = "R",
        recordId = 188003, documentType = "resume", primary = "y", data = "UEsDBA==" } } } }))
    local id = json.decode(body).recordId
    local a = get(emu, "/api/v1/Resource/188003/Documents/" .. id)
    assert.same({ "new.docx", "UEsDBA==",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
                { a.filename, a.data, a.contentType })
  end)
end)

describe("REST problem bodies", function()
  it("carry type, title, status and traceId", function()
    local a = get(make(), "/api/v1/OpportunityResource/999")
    assert.matches("^https://tools.ietf.org/html/rfc9110", a.type)
    assert.is_string(a.title)
    assert.equal(404, a.status)
    assert.matches("^00%-%x+%-%x+%-00$", a.traceId)
  end)
end)
