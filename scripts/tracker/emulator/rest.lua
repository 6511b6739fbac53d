-- tracker.emulator.rest: the REST API v1 as docs/tracker-api.md describes it. POST
-- /api/Auth/ExchangeToken turns the API token into a JWT (one that expires, and that a newer
-- exchange supersedes); the other endpoints take it as `Authorization: Bearer` and answer the
-- applications (opportunity resources, paged) and a candidate's documents. Bodies are read
-- strictly, as System.Text.Json does; every failure is an RFC 7807 problem
-- (tracker.emulator.problem). The emulator's fields it keeps: tokens (JWT -> {serial, exp})
-- and token_serial, which the front creates; it reads limits and faults.page_cap, and two
-- rows of the dialect: rest_search (which application search the front routes here:
-- PagedSearch as inferred, or Search as seen) and rest_rows (the fields of an application).
--
--   answer(emu, endpoint, headers, body, now, ...) -> status, headers, body
--                          endpoint: exchange_token, paged_search, search, get_application
--                          (id), list_documents (id), get_document (id, documentId), with the
--                          path's parts as text after now (the emulator's epoch)

local json = require "json"
local b64 = require "tracker.emulator.base64"
local custom_fields = require("tracker.emulator.items").custom_fields
local json_out = require "tracker.emulator.json_out"
local localtime = require "tracker.emulator.localtime"
local model = require "tracker.emulator.model"
local problem = require "tracker.emulator.problem"
local random = require "tracker.emulator.random"
local util = require "tracker.emulator.util"
local W = require "tracker.emulator.wire"

local M = {}

local type, ipairs, next, tonumber, error, pcall = type, ipairs, next, tonumber, error, pcall
local floor, mtype, tointeger, min = math.floor, math.type, math.tointeger, math.min
local fmt, match, gsub = string.format, string.match, string.gsub
local concat = table.concat

local NULL, arr, nz, encode = json_out.NULL, json_out.arr, json_out.nz, json_out.encode
local json_headers = json_out.headers
local lowerkeys, present, secret_ok, numstr = util.lowerkeys, util.present, util.secret_ok,
                                              util.numstr
local parse_stamp, naive, iso_utc = localtime.parse_stamp, localtime.naive, localtime.iso_utc
local fnv = random.fnv
local person = model.person

local function fail(status, detail, errors, headers)
  error({ rest = true, status = status, detail = detail, errors = errors, headers = headers }, 0)
end

local function rest_stamp(s)
  if not present(s) then return NULL end
  if #s == 10 then return s .. "T00:00:00" end
  return (gsub(s, " ", "T"))
end

-- An application as the REST API shows it, by the dialect's rest_rows row: "inferred" (every
-- row with lastUpdatedDateTime and customFields, rates as numbers) or "seen" [CLIENT:
-- tracker-evidence.md §3.6] (rates as strings, overtimeRate and the job's owner ids, no
-- lastUpdatedDateTime, customFields only on a GET of one: searches show none [OBS]).
-- ROW[value](emu, a, one) -> the row; one: it answers a GET of this application, not a search.
local ROW = {}

ROW.inferred = function(self, a)
  local c = self.idx.candidates[a.resourceid]
  local j = self.idx.jobs[a.opportunityid]
  local client = j and self.idx.clients[j.clientid]
  return {
    opportunityResourceId = a.id, opportunityId = a.opportunityid, resourceId = a.resourceid,
    clientId = nz(j and j.clientid), opportunityName = j and j.name or "",
    opportunityResourceStatusId = nz(a.statusid),
    opportunityResourceStatusName = self:list_name("opportunityResourceStatuses", a.statusid),
    startDate = rest_stamp(a.startdate), endDate = rest_stamp(a.enddate),
    payRate = nz(a.payrate), chargeRate = nz(a.chargerate), activeRecord = a.active or "y",
    clientName = client and client.name or "", resourceDisplayAs = person(c),
    resourceEmail = c and c.email or "", lastUpdatedDateTime = rest_stamp(a.lastupdated),
    customFields = custom_fields(self, "OpportunityResource", a),
  }
end

local function rate_text(v)
  if v == nil or v == "" then return NULL end
  return type(v) == "number" and numstr(v) or v
end

ROW.seen = function(self, a, one)
  local row = ROW.inferred(self, a)
  local j = self.idx.jobs[a.opportunityid]
  local owners = j and j.owners or {}
  row.lastUpdatedDateTime = nil
  row.payRate, row.chargeRate = rate_text(a.payrate), rate_text(a.chargerate)
  row.overtimeRate = rate_text(a.overtimerate)
  row.firstOwnerId = nz(owners[1] and owners[1].userid)
  row.secondOwnerId = nz(owners[2] and owners[2].userid)
  if not one then row.customFields = nil end
  return row
end

local function rest_application(self, a, one)
  return ROW[self.dialect.rest_rows](self, a, one)
end

local function rest_body(body)
  if body == "" then
    fail(400, "A non-empty request body is required.",
         { [""] = { "A non-empty request body is required." } })
  end
  local ok, doc = pcall(json.decode, body)
  if not ok or type(doc) ~= "table" or (next(doc) ~= nil and doc[1] ~= nil) then
    fail(400, "The request body is not a JSON object.",
         { ["$"] = { "The JSON value could not be converted to the request type." } })
  end
  return lowerkeys(doc)
end

-- REST bodies are read strictly (System.Text.Json): a number must be a JSON number.
local function r_int(v, name, errors)
  if v == nil or v == NULL then return nil end
  if mtype(v) == "integer" then return v end
  errors[name] = { fmt(W.conversion_error, "System.Int32", name) }
end

local function rest_time(self, v, name, errors)
  if v == nil or v == NULL then return nil end
  local t, zone = parse_stamp(v)
  if not t then
    errors[name] = { fmt(W.conversion_error, "System.DateTime", name) }
    return nil
  end
  if zone then return self.toloc(t - zone) end
  return naive(t)
end

local function rest_auth(self, headers, now)
  local auth = headers.authorization
  local token = type(auth) == "string" and match(auth, "^[Bb]earer%s+(%S+)%s*$")
  local wa = W.www_authenticate
  if not token then
    fail(401, "A bearer token is required.", nil, { ["www-authenticate"] = wa.missing })
  end
  local t = self.tokens[token]
  if not t then
    fail(401, "The token is not valid.", nil, { ["www-authenticate"] = wa.invalid })
  end
  if self.limits.jwt_supersede and t.serial ~= self.token_serial then
    fail(401, "The token was superseded by a newer exchange.", nil,
         { ["www-authenticate"] = wa.revoked })
  end
  if now >= t.exp then
    fail(401, "The token expired.", nil,
         { ["www-authenticate"] = fmt(wa.expired, iso_utc(t.exp)) })
  end
end

local REST = {}

REST.exchange_token = function(self, _, body, now)
  local doc = rest_body(body)
  local given = doc.bearertoken
  if given == nil or given == NULL or given == "" then
    fail(400, "The bearerToken field is required.",
         { bearerToken = { "The bearerToken field is required." } })
  end
  if type(given) ~= "string" then
    fail(400, "bearerToken must be a string.",
         { bearerToken = { fmt(W.conversion_error, "System.String", "bearerToken") } })
  end
  if not secret_ok(given, self.api_token) then
    fail(401, "The API token is not valid.")
  end
  self.token_serial = self.token_serial + 1
  local iat = floor(now)
  local exp = iat + self.limits.jwt_lifetime
  local header = b64.url('{"alg":"HS256","typ":"JWT"}')
  local user = self:api_user()
  local sub_claim = gsub(user and user.username or "api", '["\\]', "")
  local payload = b64.url(fmt('{"sub":"%s","jti":"%d","iat":%d,"exp":%d,"iss":"tracker-emulator"}',
                             sub_claim, self.token_serial, iat, exp))
  local signed = header .. "." .. payload
  local sig = {}
  local h = fnv(signed, fnv(self.api_token))
  for i = 1, 4 do
    h = fnv(signed, h + i)
    sig[i] = string.pack(">i8", h)
  end
  local token = signed .. "." .. b64.url(concat(sig))
  self.tokens[token] = { serial = self.token_serial, exp = exp }
  return 200, json_headers(), encode({ token = token, expiration = iso_utc(exp) })
end

-- POST /api/v1/OpportunityResource/PagedSearch as trk inferred it: the filters honoured, the
-- matches by id ascending [INF: the order is not known; id is the one an update cannot change].
REST.paged_search = function(self, headers, body, now)
  rest_auth(self, headers, now)
  local doc = rest_body(body)
  local errors = {}
  local page = r_int(doc.pagenumber, "pageNumber", errors) or 1
  local size = r_int(doc.pagesize, "pageSize", errors) or self.limits.page_size_default
  local jid = r_int(doc.opportunityid, "opportunityId", errors)
  local rid = r_int(doc.resourceid, "resourceId", errors)
  local sid = r_int(doc.opportunityresourcestatusid, "opportunityResourceStatusId", errors)
  local after = rest_time(self, doc.updatedafter, "updatedAfter", errors)
  local before = rest_time(self, doc.updatedbefore, "updatedBefore", errors)
  if not errors.pageNumber and page < 1 then
    errors.pageNumber = { "pageNumber must be 1 or more (pages count from 1)." }
  end
  if not errors.pageSize and size < 1 then errors.pageSize = { "pageSize must be 1 or more." } end
  if next(errors) then fail(400, "The request is not valid.", errors) end
  if size > self.limits.page_size then size = self.limits.page_size end
  if self.faults.page_cap and size > self.faults.page_cap then size = self.faults.page_cap end
  local list = self:sorted("applications", "id", false)
  local first, last = (page - 1) * size + 1, page * size
  local items, total = {}, 0
  for _, a in ipairs(list) do
    local lu = a.lastupdated or ""
    if (not jid or a.opportunityid == jid) and (not rid or a.resourceid == rid)
        and (not sid or a.statusid == sid) and (not after or lu >= after)
        and (not before or lu < before) then
      total = total + 1
      if total >= first and total <= last then items[#items + 1] = rest_application(self, a) end
    end
  end
  local pages = (total + size - 1) // size
  return 200, json_headers(), encode({
    opportunityResources = arr(items), totalCount = total, totalPages = pages,
    pageNumber = page, pageSize = size, hasNextPage = page < pages,
  })
end

-- POST /api/v1/OpportunityResource/Search as seen [OBS: 10 a page whatever pageSize asks,
-- filters ignored; CLIENT: the envelope]: every application, by id ascending [INF: the order
-- is not known], SEARCH_PAGE a page (fewer under a page_cap fault or limits.page_size), every
-- field of the body but pageNumber (1-based) ignored. pageSize in the answer is the page's cap.
local SEARCH_PAGE = 10

REST.search = function(self, headers, body, now)
  rest_auth(self, headers, now)
  local doc = rest_body(body)
  local errors = {}
  local page = r_int(doc.pagenumber, "pageNumber", errors) or 1
  if not errors.pageNumber and page < 1 then
    errors.pageNumber = { "pageNumber must be 1 or more (pages count from 1)." }
  end
  if next(errors) then fail(400, "The request is not valid.", errors) end
  local size = min(SEARCH_PAGE, self.limits.page_size, self.faults.page_cap or SEARCH_PAGE)
  local list = self:sorted("applications", "id", false)
  local items = {}
  for i = (page - 1) * size + 1, min(page * size, #list) do
    items[#items + 1] = rest_application(self, list[i])
  end
  return 200, json_headers(), encode({
    data = arr(items), totalRecords = #list, pageNumber = page, pageSize = size,
  })
end

local function path_id(s, name)
  local n = match(s, "^%d+$") and tointeger(tonumber(s))
  if not n or n > 2147483647 then
    local why = fmt("The value '%s' is not valid.", s)
    fail(400, why, { [name] = { why } })
  end
  return n
end

REST.get_application = function(self, headers, _, now, sid)
  rest_auth(self, headers, now)
  local id = path_id(sid, "id")
  local a = self.idx.applications[id]
  if not a then fail(404, fmt("Opportunity resource %d was not found.", id)) end
  return 200, json_headers(), encode(rest_application(self, a, true))
end

local function resource_documents(self, id)
  local out = {}
  for _, d in ipairs(self.data.documents) do
    if d.recordtype == "R" and d.recordid == id then out[#out + 1] = d end
  end
  return out
end

REST.list_documents = function(self, headers, _, now, sid)
  rest_auth(self, headers, now)
  local id = path_id(sid, "id")
  if not self.idx.candidates[id] then fail(404, fmt("Resource %d was not found.", id)) end
  local out = {}
  for i, d in ipairs(resource_documents(self, id)) do
    out[i] = { documentId = d.id, filename = d.filename, documentType = d.documenttype,
               isPrimary = d.primary == true, dateAdded = rest_stamp(d.dateadded) }
  end
  return 200, json_headers(), encode(arr(out))
end

REST.get_document = function(self, headers, _, now, sid, sdoc)
  rest_auth(self, headers, now)
  local id = path_id(sid, "id")
  local docid = path_id(sdoc, "documentId")
  if not self.idx.candidates[id] then fail(404, fmt("Resource %d was not found.", id)) end
  local d = self.idx.documents[docid]
  if not d or d.recordtype ~= "R" or d.recordid ~= id then
    fail(404, fmt("Document %d was not found for resource %d.", docid, id))
  end
  return 200, json_headers(), encode({ documentId = d.id, filename = d.filename,
                                       contentType = d.contenttype, data = d.data })
end

function M.answer(self, endpoint, headers, body, now, ...)
  local ok, status, h, b = pcall(REST[endpoint], self, headers, body, now, ...)
  if ok then return status, h, b end
  if type(status) == "table" and status.rest then
    return problem.answer(self, status.status, status.detail, status.errors, status.headers)
  end
  error(status, 0)
end

return M
