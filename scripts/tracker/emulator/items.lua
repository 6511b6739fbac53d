-- tracker.emulator.items: records as the widget API shows them. A getRecords item (id, name,
-- company, status, dates and `details`, the fields of each record type [OBS]), the record
-- getIndividualRecord returns (the item flattened, with the extended fields of its type), and
-- a record's custom fields as [{"id", "name", "value"}] (every field of its association).
-- Read by the widget verbs, by the REST API (custom fields) and by the synthetic source, whose
-- templates are cut from these very items, so that they follow the dialect too. The
-- dialect's rows read here: item_timestamp (the top-level lastupdateddatetime of items and of
-- getIndividualRecord O and R), item_text_customfields (`text` and `customfields` on every
-- item, or customfields when asked) and tag_column (getIndividualRecord R's `tag`).
--
--   item(emu, kind, rec, with_custom)      -> the getRecords item (customfields when asked,
--                                             or always, as the dialect says)
--   individual(emu, kind, rec)             -> the getIndividualRecord record: jobs,
--                                             candidates or activities
--   custom_fields(emu, association, rec)   -> [{"id", "name", "value"}] (or the empty array)

local json_out = require "tracker.emulator.json_out"
local model = require "tracker.emulator.model"
local W = require "tracker.emulator.wire"

local M = {}

local pairs, ipairs, tostring, tonumber = pairs, ipairs, tostring, tonumber
local tointeger = math.tointeger
local sort = table.sort

local NULL, EMPTY, arr, nz = json_out.NULL, json_out.EMPTY, json_out.arr, json_out.nz
local person = model.person

-- Custom fields of a record as [{"id", "name", "value"}]: every field of the association.
local function custom_fields(self, assoc, rec)
  local out = {}
  local vals = rec.custom or {}
  for i, def in ipairs(self.cf_assoc[assoc] or {}) do
    out[i] = { id = def.id, name = def.name, value = vals[tostring(def.id)] or "" }
  end
  return arr(out)
end
M.custom_fields = custom_fields

-- ---- getRecords items ------------------------------------------------------------------------

local function owners_out(self, j)
  local out = {}
  for i, o in ipairs(j.owners or {}) do
    out[i] = { OwnerId = o.userid, OwnerName = self:user_name(o.userid),
               OwnerPercent = o.percent or 100, OwnerRole = o.role or "Primary" }
  end
  return arr(out)
end

local function shortlisted(self, j)
  local n = 0
  for _, a in ipairs(self.apps_by_job[j.id] or {}) do
    if a.list ~= "long" then n = n + 1 end
  end
  return n
end

local function summary_out(self, j)
  local client = self.idx.clients[j.clientid]
  local contact = self.idx.contacts[j.contactid]
  local rows = {
    { "Status", self:list_name("opportunityStatuses", j.statusid) },
    { "Client", client and client.name or "" },
    { "Contact", person(contact) },
    { "Type", self:list_name("opportunityWorkTypes", j.typeid) },
    { "Location", j.location or "" },
    { "Date Opened", j.dateopened or "" },
    { "Shortlisted", tostring(shortlisted(self, j)) },
  }
  for i, row in ipairs(rows) do rows[i] = { recordName = row[1], recordValue = row[2] } end
  return rows
end

-- The top-level last-updated time of an item, where the dialect shows one (else nil: absent).
local function stamp(self, rec)
  if self.dialect.item_timestamp then return nz(rec.lastupdated) end
  return nil
end

local ITEM = {}   -- kind -> function(self, rec) -> getRecords item (without customfields)

ITEM.jobs = function(self, j)
  local client = self.idx.clients[j.clientid]
  local contact = self.idx.contacts[j.contactid]
  local status = self:list_name("opportunityStatuses", j.statusid)
  return {
    id = j.id, name = j.name or "", company = client and client.name or "", status = status,
    dateopened = nz(j.dateopened), lastupdateddatetime = stamp(self, j),
    details = {
      id = j.id, name = j.name or "", clientid = nz(j.clientid),
      clientname = client and client.name or "", contactid = nz(j.contactid),
      contactname = person(contact), status = status,
      type = self:list_name("opportunityWorkTypes", j.typeid), values = j.estimatedvalue or 0,
      shortlisted = shortlisted(self, j), description = j.description or "",
      executivesummary = summary_out(self, j), subject = j.name or "",
      Owners = owners_out(self, j),
    },
  }
end

ITEM.candidates = function(self, c)
  local details = {}
  for _, k in ipairs(W.details_text.R) do details[k] = c[k] or "" end
  for wire, field in pairs(W.details_dates.R) do details[wire] = nz(c[field]) end
  details.owner = self:user_name(c.ownerid)
  return {
    id = c.id, name = person(c), company = c.companyname or "",
    status = self:list_name("resourceStatuses", c.statusid), dateopened = nz(c.dateopened),
    lastupdateddatetime = stamp(self, c), details = details,
  }
end

ITEM.applications = function(self, a)
  local c = self.idx.candidates[a.resourceid]
  local j = self.idx.jobs[a.opportunityid]
  local client = j and self.idx.clients[j.clientid]
  local status = self:list_name("opportunityResourceStatuses", a.statusid)
  local name = self:application_name(a)
  return {
    id = a.id, name = name, company = client and client.name or "", status = status,
    dateopened = nz(a.dateassigned), lastupdateddatetime = stamp(self, a),
    details = {
      id = a.id, name = name, clientid = nz(j and j.clientid), contactid = nz(j and j.contactid),
      resourceid = a.resourceid, resourcename = person(c), opportunityid = a.opportunityid,
      status = status, dateassigned = nz(a.dateassigned), dateconfirmed = nz(a.dateconfirmed),
      startdate = nz(a.startdate), enddate = nz(a.enddate), payrate = nz(a.payrate),
      chargerate = nz(a.chargerate), chargeperiod = a.chargeperiod or "",
      currency = a.currency or "", lastupdated = nz(a.lastupdated),
    },
  }
end

ITEM.activities = function(self, a)
  local j = self.idx.jobs[a.opportunityid]
  local c = self.idx.candidates[a.resourceid]
  local client = self.idx.clients[a.clientid]
  local contact, lead = self.idx.contacts[a.contactid], self.idx.leads[a.leadid]
  local status = self:list_name("activityStatuses", a.statusid)
  return {
    id = a.id, name = a.subject or "", company = client and client.name or "", status = status,
    dateopened = nz(a.date), lastupdateddatetime = stamp(self, a),
    details = {
      clientid = nz(a.clientid), contactid = nz(a.contactid), leadid = nz(a.leadid),
      clientname = client and client.name or "", contactname = person(contact),
      leadname = lead and lead.name or "",
      opportunityid = nz(a.opportunityid), opportunityname = j and j.name or "",
      resourceid = nz(a.resourceid), resourcename = person(c), activityid = a.id,
      activityTypeId = nz(a.typeid), ActivityTypeName = self:list_name("activityTypes", a.typeid),
      activityStatusId = nz(a.statusid), activitystatusname = status,
      subject = a.subject or "", datedue = nz(a.date), timedue = nz(a.time),
      lastupdateddatetime = nz(a.lastupdated), startdate = nz(a.date), starttime = nz(a.time),
      userid = nz(a.userid), username = self:user_name(a.userid), priority = a.priority or "",
      contacttype = a.contacttype or "", opportunityresourceid = nz(a.opportunityresourceid),
      note = a.note or "",
    },
  }
end

-- The text details of a record of `letter` (W.details_text), "" when unset.
local function text_details(letter, rec)
  local details = {}
  for _, k in ipairs(W.details_text[letter]) do details[k] = rec[k] or "" end
  return details
end

ITEM.clients = function(self, c)
  local details = text_details("C", c)
  details.owner = self:user_name(c.ownerid)
  return { id = c.id, name = c.name or "", company = c.name or "", status = "Active",
           dateopened = nz(c.dateopened), lastupdateddatetime = stamp(self, c),
           details = details }
end

ITEM.contacts = function(self, k)
  local client = self.idx.clients[k.clientid]
  local details = text_details("N", k)
  details.companyname, details.companyId = client and client.name or "", nz(k.clientid)
  details.lastContacted = nz(k.lastcontacted)
  return { id = k.id, name = person(k), company = client and client.name or "", status = "Active",
           dateopened = nz(k.dateopened), lastupdateddatetime = stamp(self, k),
           details = details }
end

ITEM.leads = function(self, l)
  local client = self.idx.clients[l.clientid]
  local status = self:list_name("leadStatuses", l.statusid)
  local details = text_details("L", l)
  details.id, details.name, details.status = l.id, l.name or "", status
  details.subject = l.name or ""
  details.clientid, details.clientname = nz(l.clientid), client and client.name or ""
  details.executivesummary = EMPTY
  return { id = l.id, name = l.name or "", company = client and client.name or "",
           status = status, dateopened = nz(l.dateopened), lastupdateddatetime = stamp(self, l),
           details = details }
end

local KIND_LETTER = { jobs = "O", candidates = "R", applications = "X", activities = "A",
                      clients = "C", contacts = "N", leads = "L" }

function M.item(self, kind, rec, with_custom)
  local it = ITEM[kind](self, rec)
  local always = self.dialect.item_text_customfields == "always"
  if with_custom or always then
    local assoc = W.associations[KIND_LETTER[kind] or ""]
    it.customfields = assoc and custom_fields(self, assoc, rec) or EMPTY
  end
  if always then it.text = "" end       -- [CLIENT: a string; what it holds is not known]
  return it
end

-- ---- getIndividualRecord: the item flattened, with the extended fields of its type -----------

local INDIVIDUAL = {}

INDIVIDUAL.jobs = function(self, j)
  local it = ITEM.jobs(self, j)
  local out = it.details
  out.status = it.status
  out.opportunitystatusid = nz(j.statusid)
  out.executivesummary = arr(out.executivesummary)
  out.subject = nil
  local placements = {}
  for _, a in ipairs(self.apps_by_job[j.id] or {}) do
    if self:is_placement(a) then
      placements[#placements + 1] = { PlacementId = a.id, CandidateId = a.resourceid,
        CandidateName = person(self.idx.candidates[a.resourceid]) }
    end
  end
  out.Placements = arr(placements)
  out.dateopened, out.startdate, out.enddate = nz(j.dateopened), nz(j.startdate), nz(j.enddate)
  out.dateclosed = NULL
  for _, k in ipairs({ "location", "department", "publishtitle", "publishdescription",
                       "publishlocation", "publishonline", "reasonforclose", "tag" }) do
    out[k] = j[k] or ""
  end
  for _, k in ipairs({ "estimatedvalue", "probability", "publishsalaryfrom", "publishsalaryto" }) do
    out[k] = nz(j[k])
  end
  -- the rates, under the names of the lesson's sample [DOC 1127]
  out.salarypayrate, out.feebillrate = nz(j.opportunityrate), nz(j.opportunitychargerate)
  out.lastupdateddatetime = it.lastupdateddatetime
  out.customfields = custom_fields(self, "Opportunity", j)
  return out
end

INDIVIDUAL.candidates = function(self, c)
  local it = ITEM.candidates(self, c)
  local out = it.details
  out.id, out.name, out.status, out.company = c.id, it.name, it.status, it.company
  out.resourcestatusid = nz(c.statusid)
  out.dateopened, out.lastupdateddatetime = it.dateopened, it.lastupdateddatetime
  out.dateofbirth = nz(c.dateofbirth)
  for _, k in ipairs(W.individual_text.R) do out[k] = c[k] or "" end
  if not self.dialect.tag_column then out.tag = nil end
  for _, k in ipairs(W.individual_numbers.R) do out[k] = nz(c[k]) end
  local skills = {}
  for id, value in pairs(c.skills or {}) do
    local nid = tointeger(tonumber(id))
    skills[#skills + 1] = { id = nid, name = self:list_name("skills", nid), value = value }
  end
  sort(skills, function(a, b) return a.id < b.id end)
  out.skills = arr(skills)
  out.customfields = custom_fields(self, "Resource", c)
  return out
end

INDIVIDUAL.activities = function(self, a)
  local it = ITEM.activities(self, a)
  local out = it.details
  out.id, out.name, out.status = a.id, it.name, it.status
  out.type = out.ActivityTypeName
  out.linkrecordtype, out.linkrecordid = nz(a.linkrecordtype), nz(a.linkrecordid)
  out.customfields = custom_fields(self, "Activity", a)
  return out
end

INDIVIDUAL.leads = function(self, l)
  local it = ITEM.leads(self, l)
  local out = it.details
  out.dateopened, out.lastupdateddatetime = it.dateopened, it.lastupdateddatetime
  out.customfields = custom_fields(self, "Lead", l)
  return out
end

function M.individual(self, kind, rec)
  return INDIVIDUAL[kind](self, rec)
end

return M
