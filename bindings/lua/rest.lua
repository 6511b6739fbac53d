-- rest: all that trk knows of Tracker's REST API v1 (docs/tracker-api.md §4, §7): paths, bodies,
-- answer shapes and the application item's fields. Nothing else in the client spells them.

local native = native
local values = import "values"
local int, str = values.int, values.str
local type, ipairs, tonumber, fmt, gsub = type, ipairs, tonumber, string.format, string.gsub

local M = {}

M.hosts = {                                  -- §1 [DOC]
  us = "https://evousapi.tracker-rms.com",
  ca = "https://evocaapi.tracker-rms.com",
  global = "https://evoglapi.tracker-rms.com",
}
M.max_page = 500                             -- pageSize cap [INF: §9]
M.max_id = 2147483647                        -- path ids are 32-bit [INF: §9]



-- ---- auth (§4 ExchangeToken) ---------------------------------------------------------------

function M.exchange(api_token)
  return "POST", "/api/Auth/ExchangeToken", native.encode({ bearerToken = api_token })
end

-- jwt, expiry (epoch or nil) from the exchange answer, or nil, message.
function M.token(doc, parse_time)
  if type(doc) ~= "table" or type(doc.token) ~= "string" or doc.token == "" then
    return nil, "ExchangeToken: the answer has no 'token'"
  end
  local exp
  if type(doc.expiration) == "string" then exp = parse_time(doc.expiration) end
  return doc.token, exp
end

function M.authorization(jwt)
  return "Bearer " .. jwt
end

-- ---- applications (§4 OpportunityResource) -------------------------------------------------

-- Local naive "YYYY-MM-DD HH:MM:SS" as the REST API writes it ("YYYY-MM-DDTHH:MM:SS").
local function rest_time(t)
  if t == nil then return nil end
  return (gsub(t, " ", "T", 1))
end

-- Application searches (§4, §9.7). Two routes are known: PagedSearch, which trk inferred
-- (`opportunityResources`, `hasNextPage`), and Search, which was seen (`data`, `totalRecords`,
-- `pageNumber`, `pageSize`; 10 a page whatever is asked). A database answers one of them; the
-- client tries them in this order and keeps the one that answers (streams.lua).
M.search_routes = { "PagedSearch", "Search" }
-- Whether each route applies the filters it is sent [PagedSearch: INF; Search: OBS, it does not].
M.route_filters = { PagedSearch = true, Search = false }

function M.search(route, f, after, page, size)
  return "POST", "/api/v1/OpportunityResource/" .. route, native.encode({
    pageNumber = page, pageSize = size,
    opportunityId = f.job, resourceId = f.candidate, opportunityResourceStatusId = f.stage_id,
    updatedAfter = rest_time(after), updatedBefore = rest_time(f.before),
  })
end

-- The items of a search answer (either route), whether the answer proves the page the last
-- (true: hasNextPage false), proves more (false) or does not say (nil: the stream decides,
-- streams.lua), and the page size and total the server says (nil when it does not say). nil,
-- message when the answer is neither shape.
function M.page(doc)
  if type(doc) ~= "table" then return nil, "OpportunityResource search: the answer is not an object" end
  local list, more = doc.opportunityResources, doc.hasNextPage
  if type(list) == "table" then
    if type(more) ~= "boolean" then return list, nil end
    return list, not more
  end
  list = doc.data
  if type(list) ~= "table" then
    return nil, "OpportunityResource search: the answer has neither 'opportunityResources' nor 'data'"
  end
  -- the total is not turned into a proof here: the stream counts the rows it read against it
  -- (a pageSize the server reports may not be the one it used)
  return list, nil, int(doc.pageSize), int(doc.totalRecords)
end

function M.application(id)
  return "GET", fmt("/api/v1/OpportunityResource/%d", id)
end

-- The id of an item and its local naive time ("YYYY-MM-DD HH:MM:SS", as widget items have
-- it) when it shows one (§9.7: Search rows do not); nil when it has no id.
function M.key(item)
  if type(item) ~= "table" then return nil end
  local id, ts = int(item.opportunityResourceId), item.lastUpdatedDateTime
  if id == nil then return nil end
  if type(ts) ~= "string" or ts == "" then return id, nil end
  return id, (gsub(ts, "T", " ", 1))
end

-- A normalised application from an item, or nil when malformed (see widget.record).
function M.record(item, c, custom)
  local id, ts = M.key(item)
  if id == nil then return nil end
  local job, cand = str(item.opportunityName), str(item.resourceDisplayAs)
  return {
    id = id, kind = "application",
    name = cand and job and (cand .. " - " .. job) or cand or job,
    stage = str(item.opportunityResourceStatusName), stage_id = int(item.opportunityResourceStatusId),
    job_id = int(item.opportunityId), candidate_id = int(item.resourceId),
    client_id = int(item.clientId), job_name = job, candidate_name = cand,
    client_name = str(item.clientName), email = str(item.resourceEmail),
    active = item.activeRecord ~= "n", start_date = c.date(item.startDate),
    end_date = c.date(item.endDate), pay_rate = tonumber(item.payRate),
    charge_rate = tonumber(item.chargeRate), updated_at = ts and c.time(ts) or nil,
    custom = custom(item.customFields, c.fields.application, c.typed),
    raw = item,
  }
end

-- ---- documents (§4 Resource/{id}/Documents) ------------------------------------------------

function M.documents(candidate_id)
  return "GET", fmt("/api/v1/Resource/%d/Documents", candidate_id)
end

function M.document(candidate_id, document_id)
  return "GET", fmt("/api/v1/Resource/%d/Documents/%d", candidate_id, document_id)
end

-- The id of the candidate's resume in a documents list: the primary document of type resume,
-- else the newest resume, else nil.
function M.resume_id(list)
  if type(list) ~= "table" then return nil, "Documents: the answer is not a list" end
  local best, best_date, primary
  for _, d in ipairs(list) do
    if type(d) == "table" and type(d.documentType) == "string"
        and d.documentType:lower() == "resume" and int(d.documentId) then
      if d.isPrimary == true and not primary then primary = int(d.documentId) end
      local date = type(d.dateAdded) == "string" and d.dateAdded or ""
      if best == nil or date > best_date then best, best_date = int(d.documentId), date end
    end
  end
  return primary or best
end

-- filename, content type, base64 data of a document answer, or nil, message.
function M.file(doc)
  if type(doc) ~= "table" or type(doc.data) ~= "string" then
    return nil, "Documents: the answer has no 'data'"
  end
  return str(doc.filename), str(doc.contentType), doc.data
end

-- The problem detail of an error answer (RFC 7807 body), for messages; never the whole body.
function M.problem(doc)
  if type(doc) ~= "table" then return nil end
  return str(doc.detail) or str(doc.title)
end

return M
