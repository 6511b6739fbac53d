-- tracker.emulator.widget: the widget API, POST /api/widget/<verb>, as docs/tracker-api.md
-- describes it: reading a request (Tracker's lenient values: "2482" for 2482, "false" for
-- false), the credentials it carries, each verb's work on the database, and the envelope of
-- every answer, always HTTP 200 with a widget status (0 success, 1 unknown user or key,
-- 2 inactive user, 3 record exists, 99 invalid request). Where the dialects differ, each verb
-- reads its row of emu.dialect (tracker.emulator.dialects): credentials, widget_page_cap,
-- unknown_individual, update_kinds, write_messages, application_answer, exists_record_id,
-- settings_stages, users_active (items read item_timestamp, item_text_customfields and
-- tag_column; the model activity_types).
--
--   answer(emu, verb, headers, body) -> 200, headers, body
--                          headers with lower-case names; verb as the path gave it
--   ok_read(results)       -> the success envelope of a read verb (count + results)
--   reject(status, message [, extra [, shape]])
--                          raises out of a verb: its answer is the envelope of that status,
--                          with extra's fields (the synthetic source answers this way too), in
--                          the verb's shape or the one given ("bare": status, message, count 0)

local json = require "json"
local b64 = require "tracker.emulator.base64"
local items = require "tracker.emulator.items"
local json_out = require "tracker.emulator.json_out"
local localtime = require "tracker.emulator.localtime"
local model = require "tracker.emulator.model"
local util = require "tracker.emulator.util"
local W = require "tracker.emulator.wire"

local M = {}

local type, pairs, ipairs, next, tostring, tonumber, error, pcall =
      type, pairs, ipairs, next, tostring, tonumber, error, pcall
local floor, mtype, tointeger, min = math.floor, math.type, math.tointeger, math.min
local fmt, sub, lower, upper, find, match =
      string.format, string.sub, string.lower, string.upper, string.find, string.match

local NULL, EMPTY, arr, nz, encode = json_out.NULL, json_out.EMPTY, json_out.arr, json_out.nz,
                                     json_out.encode
local json_headers = json_out.headers
local lowerkeys, present, numstr, secret_ok = util.lowerkeys, util.present, util.numstr,
                                              util.secret_ok
local parse_stamp, parse_date, naive = localtime.parse_stamp, localtime.parse_date, localtime.naive
local person, names = model.person, model.names

-- ---- reading a request -----------------------------------------------------------------------

local function reject(status, message, extra, shape)
  error({ widget = true, status = status, message = message, extra = extra, shape = shape }, 0)
end

local function invalid(msg, ...)
  reject(99, "invalid request: " .. fmt(msg, ...))
end

-- Lenient readers: Tracker takes "2482" for 2482 and "false" for false [DOC]. Absent, null and
-- "" read as nil; anything else that does not fit is status 99.
local function w_int(v, name)
  if v == nil or v == NULL or v == "" then return nil end
  if mtype(v) == "integer" then return v end
  if mtype(v) == "float" and v == floor(v) then return tointeger(v) end
  if type(v) == "string" then
    local s = match(v, "^%s*(%-?%d+)%s*$")
    local n = s and tointeger(tonumber(s))
    if n then return n end
  end
  invalid("'%s' must be an integer", name)
end

local function w_str(v, name)
  if v == nil or v == NULL then return nil end
  if type(v) == "string" then return v end
  if type(v) == "number" then return numstr(v) end
  invalid("'%s' must be a string", name)
end

local BOOLS = { ["true"] = true, ["false"] = false, yes = true, no = false, y = true, n = false,
                ["1"] = true, ["0"] = false }

local function w_bool(v, name)
  if v == nil or v == NULL or v == "" then return nil end
  if type(v) == "boolean" then return v end
  if v == 1 or v == 0 then return v == 1 end
  if type(v) == "string" and BOOLS[lower(v)] ~= nil then return BOOLS[lower(v)] end
  invalid("'%s' must be true or false", name)
end

local function w_table(v, name)
  if v == nil or v == NULL then return nil end
  if type(v) ~= "table" then invalid("'%s' must be an object", name) end
  return lowerkeys(v)
end

local function w_list(v, name)
  if v == nil or v == NULL then return {} end
  if type(v) ~= "table" then invalid("'%s' must be a list", name) end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then invalid("'%s' must be a list", name) end
  for i, x in ipairs(v) do
    if type(x) ~= "table" then invalid("'%s[%d]' must be an object", name, i - 1) end
  end
  return v
end

local function w_letter(v, name)
  local s = w_str(v, name)
  if not s or s == "" then invalid("'%s' is required", name) end
  s = upper(s)
  if W.record_kinds[s] == nil then invalid("unknown %s '%s'", name, s) end
  return s
end

-- A filter time: naive local time compared as text; an explicit zone is converted to the
-- database's zone first.
local function filter_time(self, v, name)
  local s = w_str(v, name)
  if s == nil or s == "" then return nil end
  local t, zone = parse_stamp(s)
  if not t then invalid("'%s' must be a date and time like 2026-11-21 14:05:00", name) end
  if zone then return self.toloc(t - zone) end
  return naive(t)
end

-- Custom-field values given as [{"id", "value"}]: checked against the field's type; returns
-- a map of string id -> stored value. assoc nil: any field (see createActivity).
local function read_custom(self, list, assoc, name)
  local out = {}
  for i, e in ipairs(w_list(list, name)) do
    e = lowerkeys(e)
    local id = w_int(e.id, name .. "[].id")
    local def = id and self.cf[id]
    if not def then invalid("unknown custom field %s", tostring(id or e.id)) end
    if assoc and def.association ~= assoc then
      invalid("custom field %d belongs to %s records, not %s", id, def.association, assoc)
    end
    local value = w_str(e.value, name .. "[].value")
    if value == nil then invalid("%s[%d] has no value", name, i - 1) end
    if value ~= "" then
      if def.type == "List" then
        local l = self.cf_list[def.listid]
        local it = l and l.by_name[lower(value)]
        if not it then
          invalid("'%s' is not an item of custom field %d (%s)", value, id, def.name)
        end
        value = it.name
      elseif def.type == "Number" then
        if not tonumber(value) then invalid("custom field %d (%s) takes a number", id, def.name) end
      elseif def.type == "Date" then
        value = parse_date(value) or invalid("custom field %d (%s) takes a date", id, def.name)
      elseif def.type == "Checkbox" then
        local b = BOOLS[lower(value)]
        if b == nil then invalid("custom field %d (%s) takes Yes or No", id, def.name) end
        value = b and "Yes" or "No"
      elseif def.maxlength and self.dialect.field_max_length
             and (utf8.len(value) or #value) > def.maxlength then
        invalid("custom field %d (%s) takes at most %d characters", id, def.name, def.maxlength)
      end
    end
    out[tostring(id)] = value
  end
  return out
end

local function apply_custom(rec, values)
  if next(values) == nil then return end
  rec.custom = rec.custom or {}
  for k, v in pairs(values) do
    if v == "" then rec.custom[k] = nil else rec.custom[k] = v end
  end
end

-- "14:05", "2:05 PM", "2:05pm", "14:05:30" -> "HH:MM", or nil.
local function parse_clock(s)
  local h, m, ap = match(s, "^%s*(%d%d?):(%d%d)%s*([AaPp])%.?[Mm]%.?%s*$")
  if h then
    h, m = tonumber(h), tonumber(m)
    if h < 1 or h > 12 or m > 59 then return nil end
    if lower(ap) == "a" then h = h % 12 else h = h % 12 + 12 end
    return fmt("%02d:%02d", h, m)
  end
  local rest
  h, m, rest = match(s, "^%s*(%d%d?):(%d%d)(.*)$")
  if not h or not (match(rest, "^%s*$") or match(rest, "^:%d%d%s*$")) then return nil end
  h, m = tonumber(h), tonumber(m)
  if h > 23 or m > 59 then return nil end
  return fmt("%02d:%02d", h, m)
end

-- The value of an updateRecord column, checked for its kind (wire.update_columns).
local function column_value(self, col, kind, value, by_name)
  if value == "" then return nil end
  if kind == "date" then
    return parse_date(value) or invalid("column '%s' takes a date (YYYY-MM-DD)", col)
  elseif kind == "time" then
    return parse_clock(value) or invalid("column '%s' takes a time (HH:MM or h:mm AM/PM)", col)
  elseif kind == "number" then
    local n = tonumber(value)
    if not n then invalid("column '%s' takes a number", col) end
    return tointeger(n) or n
  elseif by_name then
    local e = self.lk[kind].by_name[lower(value)]
    if not e then invalid("column '%s': '%s' is not a name in %s", col, value, kind) end
    return e.id
  elseif kind then
    local id = tointeger(tonumber(value))
    if not id or not self.lk[kind].by_id[id] then
      invalid("column '%s': %s is not an id of %s", col, value, kind)
    end
    return id
  end
  return value
end

-- ---- the verbs -------------------------------------------------------------------------------

local VERB = {}
local envelope       -- the envelope of an answer (below, with the credentials)

local function ok_read(results)
  return { status = 0, message = W.messages[0], count = #results, results = arr(results) }
end

local function ok_write(message, id, name)
  return { status = 0, message = message, count = 1, recordId = id, recordName = name or "" }
end

-- Status 3 for an existing record: with its id and name where the dialect gives them
-- (exists_record_id), else the bare envelope.
local function exists(self, id, name)
  if self.dialect.exists_record_id then
    reject(3, W.messages[3], { recordId = id, recordName = name })
  end
  reject(3, W.messages[3], nil, "bare")
end

local function is_mine(self, kind, rec, user)
  if kind == "jobs" then
    for _, o in ipairs(rec.owners or {}) do if o.userid == user.id then return true end end
    return false
  elseif kind == "candidates" then
    return rec.ownerid == user.id
  elseif kind == "activities" then
    return rec.userid == user.id
  elseif kind == "applications" then
    local j = self.idx.jobs[rec.opportunityid]
    return j ~= nil and is_mine(self, "jobs", j, user)
  end
  return true
end

VERB.getRecords = function(self, node, user)
  local ins = w_table(node.instructions, "instructions") or {}
  local letter = w_letter(ins.recordtype, "recordtype")
  local kind = W.record_kinds[letter]
  local with_custom = w_bool(ins.includecustomfields, "includecustomfields")
  local recordid = w_int(ins.recordid, "recordid")
  if recordid and recordid ~= 0 then
    local rec = kind and self:record(kind, recordid)
    if rec and (kind ~= "applications" or self:is_placement(rec)) then
      return ok_read({ items.item(self, kind, rec, with_custom) })
    end
    return ok_read({})
  end
  local state = lower(w_str(ins.state, "state") or "")
  if state ~= "" and state ~= "open" and state ~= "won" and state ~= "closed" then
    invalid("unknown state '%s' (use open, won or closed)", state)
  end
  local search = lower(w_str(ins.searchtext, "searchtext") or "")
  local mine = w_bool(ins.onlymyrecords, "onlymyrecords")
  local size = w_int(ins.numrecords, "numrecords") or 0
  if size < 0 then invalid("'numrecords' must not be negative") end
  if size == 0 then size = self.limits.numrecords_default end
  local cap = min(self.limits.numrecords, self.dialect.widget_page_cap)
  if size > cap then size = cap end
  if self.faults.page_cap and size > self.faults.page_cap then size = self.faults.page_cap end
  local page = w_int(ins.pagenum, "pagenum") or 0
  if page < 0 then invalid("'pagenum' must not be negative (pages count from 0)") end
  local sortfield = lower(w_str(ins.sortfield, "sortfield") or "")
  if sortfield == "" then sortfield = "id" end
  if not W.sortfields[sortfield] then invalid("unknown sortfield '%s'", sortfield) end
  local sortdir = lower(w_str(ins.sortdir, "sortdir") or "")
  if sortdir ~= "" and sortdir ~= "asc" and sortdir ~= "desc" then
    invalid("'sortdir' must be asc or desc")
  end
  local after = filter_time(self, ins.updatedafter, "updatedafter")
  local before = filter_time(self, ins.updatedbefore, "updatedbefore")
  if not kind then return ok_read({}) end
  if self.synthetic and kind == "candidates" then         -- the answer as JSON text
    return self.synthetic:page({ page = page, size = size, sortfield = sortfield,
      desc = sortdir == "desc", after = after, before = before, search = search,
      user = mine and user or nil, with_custom = with_custom })
  end

  local list = self:sorted(kind, sortfield, sortdir == "desc")
  local first, last = page * size + 1, page * size + size
  local results, n = {}, 0
  local namef = names[kind]
  for _, rec in ipairs(list) do
    local keep = true
    local lu = rec.lastupdated or ""
    if after and lu < after then keep = false
    elseif before and lu >= before then keep = false
    elseif kind == "applications" and not self:is_placement(rec) then keep = false
    elseif state ~= "" and kind == "jobs" and self:job_state(rec) ~= state then keep = false
    elseif search ~= "" and not find(lower(namef(self, rec)), search, 1, true) then keep = false
    elseif mine and not is_mine(self, kind, rec, user) then keep = false end
    if keep then
      n = n + 1
      if n > last then break end
      if n >= first then results[#results + 1] = items.item(self, kind, rec, with_custom) end
    end
  end
  return ok_read(results)
end

local INDIVIDUAL_KIND = { O = "jobs", R = "candidates", A = "activities", L = "leads", P = false,
                          T = false }

VERB.getIndividualRecord = function(self, node)
  local ins = w_table(node.instructions, "instructions") or {}
  local letter = w_letter(ins.recordtype, "recordtype")
  local kind = INDIVIDUAL_KIND[letter]
  if kind == nil then invalid("getIndividualRecord does not take recordtype '%s'", letter) end
  local id = w_int(ins.recordid, "recordid")
  if not id then invalid("'recordid' is required") end
  local rec = kind and self:record(kind, id)
  if not rec then
    if self.dialect.unknown_individual == "empty" then return ok_read({}) end
    invalid("record %s %d not found", letter, id)
  end
  return ok_read({ items.individual(self, kind, rec) })
end

VERB.updateRecord = function(self, node)
  local ins = w_table(node.instructions, "instructions") or {}
  local letter = w_letter(ins.recordtype, "recordtype")
  local columns = W.update_columns[self.dialect.update_kinds][letter]
  if not columns then invalid("updateRecord does not take recordtype '%s'", letter) end
  local kind = W.record_kinds[letter]
  local id = w_int(ins.recordid, "recordid")
  if not id then invalid("'recordid' is required") end
  local rec = kind and self.idx[kind][id]
  if not rec then invalid("record %s %d not found", letter, id) end
  -- check everything first: a rejected request changes nothing
  local changes = {}
  for i, u in ipairs(w_list(node.updates, "updates")) do
    u = lowerkeys(u)
    local col = lower(w_str(u.column, "updates[].column") or "")
    local spec = columns[col]
    if not spec then invalid("unknown column '%s' for recordtype %s", col, letter) end
    local value = w_str(u.value, "updates[].value")
    if value == nil then invalid("updates[%d] has no value", i - 1) end
    changes[#changes + 1] = { spec[1], column_value(self, col, spec[2], value, spec[3] == "name") }
  end
  -- a record type without custom fields (C, N) takes none: its letter matches no association
  local custom = read_custom(self, node.customfields, W.associations[letter] or letter,
                             "customfields")
  local skills = {}
  for _, s in ipairs(w_list(node.skills, "skills")) do
    if letter ~= "R" then invalid("skills apply to resources only") end
    s = lowerkeys(s)
    local sid = w_int(s.id, "skills[].id")
    if not sid or not self.lk.skills.by_id[sid] then invalid("unknown skill %s", tostring(s.id)) end
    skills[tostring(sid)] = w_str(s.value, "skills[].value") or ""
  end
  local any = #changes > 0 or next(custom) ~= nil or next(skills) ~= nil
  for _, c in ipairs(changes) do
    if kind == "candidates" and c[1] == "email" then self:set_email(rec, c[2])
    else rec[c[1]] = c[2] end
  end
  apply_custom(rec, custom)
  if next(skills) then
    rec.skills = rec.skills or {}
    for k, v in pairs(skills) do rec.skills[k] = v ~= "" and v or nil end
  end
  if any then
    rec.lastupdated = self:local_time()
    self:touched(kind, rec)
  end
  return ok_write(self.dialect.write_messages.updateRecord, rec.id, names[kind](self, rec))
end

local LINK_KIND = { R = "candidates", O = "jobs", C = "clients", N = "contacts", L = "leads",
                    P = false, T = false }

VERB.createActivity = function(self, node, user)
  local act = w_table(node.activity, "activity")
  if not act then invalid("'activity' is required") end
  local letter = w_letter(act.linkrecordtype, "linkRecordType")
  local kind = LINK_KIND[letter]
  if kind == nil then invalid("activities cannot link to recordtype '%s'", letter) end
  local link_id = w_int(act.linkrecordid, "linkRecordId")
  if not link_id then invalid("'linkRecordId' is required") end
  local linked = kind and self.idx[kind][link_id]
  if not linked then invalid("record %s %d not found", letter, link_id) end
  local a = { linkrecordtype = letter, linkrecordid = link_id }
  if letter == "R" then a.resourceid = link_id
  elseif letter == "O" then a.opportunityid = link_id
  elseif letter == "C" then a.clientid = link_id
  elseif letter == "N" then a.contactid, a.clientid = link_id, linked.clientid
  elseif letter == "L" then a.leadid, a.clientid = link_id, linked.clientid end
  local orid = w_int(act.opportunityresourceid, "opportunityResourceId")
  if orid then
    local app = self.idx.applications[orid]
    if not app then invalid("opportunity-resource %d not found", orid) end
    if a.resourceid and app.resourceid ~= a.resourceid then
      invalid("opportunity-resource %d does not belong to resource %d", orid, a.resourceid)
    end
    if a.opportunityid and app.opportunityid ~= a.opportunityid then
      invalid("opportunity-resource %d does not belong to opportunity %d", orid, a.opportunityid)
    end
    a.opportunityresourceid, a.resourceid, a.opportunityid = orid, app.resourceid, app.opportunityid
  end
  local oid = w_int(act.opportunityid, "opportunityId")
  if oid then
    if not self.idx.jobs[oid] then invalid("opportunity %d not found", oid) end
    if a.opportunityid and a.opportunityid ~= oid then
      invalid("opportunityId %d does not match the linked records", oid)
    end
    a.opportunityid = oid
  end
  if a.opportunityid and not a.clientid then
    local j = self.idx.jobs[a.opportunityid]
    a.clientid, a.contactid = j.clientid, a.contactid or j.contactid
  end
  local tname = w_str(act.type, "type") or "Note"
  local te = self.lk.activityTypes.by_name[lower(tname)]
  if not te then invalid("unknown activity type '%s'", tname) end
  a.typeid = te.id
  local sname = w_str(act.status, "status") or "Completed"
  local se = self.lk.activityStatuses.by_name[lower(sname)]
  if not se then invalid("unknown activity status '%s'", sname) end
  a.statusid = se.id
  local now_local = self:local_time()
  local date = w_str(act.date, "date")
  if present(date) then
    a.date = match(date, "^%d%d%d%d%-%d%d%-%d%d$") and parse_date(date)
    if not a.date then invalid("'date' must be YYYY-MM-DD") end
  else
    a.date = sub(now_local, 1, 10)
  end
  local time = w_str(act.time, "time")
  if present(time) then
    a.time = parse_clock(time)
    if not a.time then invalid("'time' must be HH:MM or h:mm AM/PM") end
  else
    a.time = sub(now_local, 12, 16)
  end
  local uid = w_int(act.userid, "userId")
  if uid and not self.idx.users[uid] then invalid("user %d not found", uid) end
  a.userid = uid or user.id
  a.subject = w_str(act.subject, "subject") or ""
  a.note = w_str(act.note, "note") or ""
  a.priority = w_str(act.priority, "priority") or ""
  a.contacttype = w_str(act.contacttype, "contactType") or ""
  -- custom fields: any defined field is accepted here (the contract's own samples send a
  -- resource field with an activity); values are checked for the field's type
  local custom = read_custom(self, node.customfields, nil, "customfields")
  for k, v in pairs(read_custom(self, act.customfields, nil, "activity.customfields")) do
    custom[k] = v
  end
  a.custom = {}
  apply_custom(a, custom)
  a.lastupdated = now_local
  self:insert("activities", a)
  return ok_write(self.dialect.write_messages.createActivity, a.id, a.subject)
end

local LISTS = { short = true, long = true }
local BY = { user = true, resource = true }

local function stage_named(self, name)
  local e = self.lk.opportunityResourceStatuses.by_name[lower(name)]
  if e then return e.id end
  local first = self.data.lists.opportunityResourceStatuses[1]
  return first and first.id or nil
end

-- Creates the application of (job, candidate), or answers status 3 when it exists [INF].
local function apply(self, job, cand, list, by, source)
  local existing = self.app_pair[job.id .. ":" .. cand.id]
  if existing then exists(self, existing.id, self:application_name(existing)) end
  local now_local = self:local_time()
  local a = self:insert("applications", {
    opportunityid = job.id, resourceid = cand.id, statusid = stage_named(self, W.first_stage[by]),
    list = list, shortlistedby = by, source = source or "", dateassigned = now_local,
    active = "y", lastupdated = now_local, custom = {},
  })
  self:index_application(a)
  return a
end

local function read_list_by(ins)
  local list = lower(w_str(ins.assigntolist, "assigntolist") or "")
  if list == "" then list = "short" end
  if not LISTS[list] then invalid("'assigntolist' must be short or long") end
  local by = lower(w_str(ins.shortlistedby, "shortlistedby") or "")
  if by == "" then by = "user" end
  if not BY[by] then invalid("'shortlistedby' must be user or resource") end
  return list, by
end

VERB.resourceApplication = function(self, node)
  local ins = w_table(node.instructions, "instructions") or {}
  local jid = w_int(ins.opportunityid, "opportunityid")
  local rid = w_int(ins.resourceid, "resourceid")
  if not jid then invalid("'opportunityid' is required") end
  if not rid then invalid("'resourceid' is required") end
  local job = self.idx.jobs[jid]
  if not job then invalid("opportunity %d not found", jid) end
  local cand = self.idx.candidates[rid]
  if not cand then invalid("resource %d not found", rid) end
  local list, by = read_list_by(ins)
  local a = apply(self, job, cand, list, by, w_str(ins.source, "source"))
  local message = self.dialect.write_messages.resourceApplication
  if self.dialect.application_answer == "plain" then return envelope("bare", 0, message) end
  return ok_write(message, a.id, self:application_name(a))
end

-- A person node's fields by internal name (accepted: wire name -> field), its fullname split
-- when no first or last name is given; refused (99) without any name.
local function person_fields(node, accepted, what)
  local fields = {}
  for wire, field in pairs(accepted) do
    local v = w_str(node[wire], wire)
    if present(v) then fields[field] = v end
  end
  local full = w_str(node.fullname, "fullname")
  if present(full) and not fields.firstname and not fields.lastname then
    fields.firstname, fields.lastname = match(full, "^%s*(%S+)%s+(.-)%s*$")
    if not fields.firstname then fields.firstname = match(full, "^%s*(.-)%s*$") end
  end
  if not fields.firstname and not fields.lastname then
    invalid("a %s needs firstname, lastname or fullname", what)
  end
  return fields
end

VERB.createResource = function(self, node)
  local res = w_table(node.resource, "resource")
  if not res then invalid("'resource' is required") end
  local ins = w_table(node.instructions, "instructions") or {}
  local overwrite = w_bool(ins.overwriteresource, "overwriteresource") or false
  local jid = w_int(ins.assigntoopportunity, "assigntoopportunity")
  if jid == 0 then jid = nil end
  local job = jid and self.idx.jobs[jid]
  if jid and not job then invalid("opportunity %d not found", jid) end
  local list, by = read_list_by(ins)
  local fields = person_fields(res, W.resource_fields, "resource")
  -- a source is one of resourceSources (any case, kept as the list spells it), where the
  -- database lists any [INF: the issue that reported a source outside the list refused]
  local sources = self.lk.resourceSources
  if fields.source and sources and next(sources.by_id) then
    local e = sources.by_name[lower(fields.source)]
    if not e then invalid("'%s' is not one of the resource sources", fields.source) end
    fields.source = e.name
  end
  local statusname = w_str(res.status, "status")
  local statusid
  if present(statusname) then
    local e = self.lk.resourceStatuses.by_name[lower(statusname)]
    if not e then invalid("unknown resource status '%s'", statusname) end
    statusid = e.id
  end
  local custom = read_custom(self, res.customfields or node.customfields, "Resource", "customfields")
  local now_local = self:local_time()
  local match_rec = fields.email and self.emails[lower(fields.email)]
  if match_rec then
    if not overwrite then exists(self, match_rec.id, person(match_rec)) end
    for k, v in pairs(fields) do
      if k == "email" then self:set_email(match_rec, v) else match_rec[k] = v end
    end
    if statusid then match_rec.statusid = statusid end
    apply_custom(match_rec, custom)
    match_rec.lastupdated = now_local
    self:touched("candidates", match_rec)
    if job and not self.app_pair[job.id .. ":" .. match_rec.id] then
      apply(self, job, match_rec, list, by, fields.source)
    end
    return ok_write(self.dialect.write_messages.createResource_overwrite, match_rec.id,
                    person(match_rec))
  end
  local c = { statusid = statusid or (self.data.lists.resourceStatuses[1] or {}).id,
              dateopened = now_local, lastupdated = now_local, custom = {} }
  for k, v in pairs(fields) do c[k] = v end
  apply_custom(c, custom)
  c.email = nil
  self:insert("candidates", c)
  self:set_email(c, fields.email)
  if job then apply(self, job, c, list, by, fields.source) end
  return ok_write(self.dialect.write_messages.createResource, c.id, person(c))
end

-- ---- clients, contacts and leads ------------------------------------------------------------

-- The client named `name` (any case), or nil.
local function client_named(self, name)
  for _, c in ipairs(self.data.clients) do
    if lower(c.name or "") == lower(name) then return c end
  end
  return nil
end

-- createContact [DOC 356]: a contact of the client `company`; createcompanyifnotexists makes
-- the client when none has that name, else an unknown company is 99 [INF]. A contact with the
-- same email (any case) is status 3 unless overwritecontact [INF, as createResource].
VERB.createContact = function(self, node)
  local con = w_table(node.contact, "contact")
  if not con then invalid("'contact' is required") end
  local ins = w_table(node.instructions, "instructions") or {}
  local make = w_bool(ins.createcompanyifnotexists, "createcompanyifnotexists") or false
  local overwrite = w_bool(ins.overwritecontact, "overwritecontact") or false
  local fields = person_fields(con, W.contact_fields, "contact")
  local company = w_str(con.company, "company")
  local client = present(company) and client_named(self, company) or nil
  if present(company) and not client and not make then
    invalid("company '%s' not found (createcompanyifnotexists is false)", company)
  end
  local custom = read_custom(self, con.customfields or node.customfields, "Contact", "customfields")
  local now_local = self:local_time()
  if fields.email then
    for _, k in ipairs(self.data.contacts) do
      if present(k.email) and lower(k.email) == lower(fields.email) then
        if not overwrite then exists(self, k.id, person(k)) end
        for f, v in pairs(fields) do k[f] = v end
        if client then k.clientid = client.id end
        apply_custom(k, custom)
        k.lastupdated = now_local
        self:touched("contacts", k)
        return ok_write(self.dialect.write_messages.createContact, k.id, person(k))
      end
    end
  end
  if present(company) and not client then
    client = self:insert("clients", { name = company, dateopened = now_local,
                                      lastupdated = now_local, custom = {} })
  end
  local k = { clientid = client and client.id or nil, dateopened = now_local,
              lastupdated = now_local, custom = {} }
  for f, v in pairs(fields) do k[f] = v end
  apply_custom(k, custom)
  self:insert("contacts", k)
  return ok_write(self.dialect.write_messages.createContact, k.id, person(k))
end

-- createLead [DOC 359]: `leadname` names it; its client by `clientid` [INF] or `company`
-- [DOC]; a source is one of leadSources where the settings list any [INF].
VERB.createLead = function(self, node)
  local lead = w_table(node.lead, "lead")
  if not lead then invalid("'lead' is required") end
  local name = w_str(lead.leadname, "leadname")
  if not present(name) then invalid("'leadname' is required") end
  local client
  local cid = w_int(lead.clientid, "clientid")
  if cid then
    client = self.idx.clients[cid]
    if not client then invalid("client %d not found", cid) end
  else
    local company = w_str(lead.company, "company")
    client = present(company) and client_named(self, company) or nil
    if present(company) and not client then invalid("company '%s' not found", company) end
  end
  local source = w_str(lead.source, "source")
  if present(source) and next(self.lk.leadSources.by_id) then
    local e = self.lk.leadSources.by_name[lower(source)]
    if not e then invalid("'%s' is not one of the lead sources", source) end
    source = e.name
  end
  local custom = read_custom(self, lead.customfields or node.customfields, "Lead", "customfields")
  local now_local = self:local_time()
  local l = { name = name, clientid = client and client.id or nil, source = source,
              description = w_str(lead.description, "description"),
              department = w_str(lead.department, "department"),
              statusid = (self.data.lists.leadStatuses[1] or {}).id,
              dateopened = now_local, lastupdated = now_local, custom = {} }
  apply_custom(l, custom)
  self:insert("leads", l)
  return ok_write(self.dialect.write_messages.createLead, l.id, name)
end

local ATTACH_KIND = { R = "candidates", O = "jobs", C = "clients", N = "contacts",
                      A = "activities", X = "applications", L = "leads", P = false, T = false }

VERB.attachDocument = function(self, node)
  local file = w_table(node.file, "file")
  if not file then invalid("'file' is required") end
  local filename = w_str(file.filename, "filename")
  if not present(filename) then invalid("'filename' is required") end
  local letter = w_letter(file.recordtype, "recordType")
  local id = w_int(file.recordid, "recordId")
  if not id then invalid("'recordId' is required") end
  local kind = ATTACH_KIND[letter]
  if not (kind and self.idx[kind][id]) then invalid("record %s %d not found", letter, id) end
  local data = w_str(file.data, "data")
  local clean = data and b64.clean(data)
  if not clean then invalid("'data' must be base64") end
  local primary = w_bool(file.primary, "primary") or false
  local dtype = w_str(file.documenttype, "documentType")
  if not present(dtype) then dtype = "General" end
  local ext = lower(match(filename, "%.([%w]+)$") or "")
  if primary then
    -- one primary document of a type per record
    for _, d in ipairs(self.data.documents) do
      if d.recordtype == letter and d.recordid == id and lower(d.documenttype) == lower(dtype) then
        d.primary = false
      end
    end
  end
  local doc = self:insert("documents", {
    recordtype = letter, recordid = id, filename = filename, documenttype = dtype,
    primary = primary, contenttype = W.content_types[ext] or "application/octet-stream",
    data = clean, dateadded = self:local_time(),
  })
  return ok_write(self.dialect.write_messages.attachDocument, doc.id, filename)
end

VERB.checkLogon = function()
  return { status = 0, message = W.messages[0] }
end

VERB.getSettingsData = function(self)
  local d = self.dialect
  local out = { status = 0, message = W.messages[0] }
  local function list_out(name)
    local l = {}
    for i, e in ipairs(self.data.lists[name] or {}) do l[i] = { Id = e.id, Name = e.name } end
    out[name] = arr(l)
  end
  for _, name in ipairs(W.settings_lists) do list_out(name) end
  if d.settings_activity_lists then
    for _, name in ipairs(W.settings_activity_lists) do list_out(name) end
  end
  if d.settings_stages then
    list_out(W.settings_stages)
  else
    out.count, out.accessRights = 0, W.access_rights
    out.namingConventions = {}
    for k, v in pairs(W.naming_conventions) do out.namingConventions[k] = v end
  end
  local users = {}
  for i, u in ipairs(self.data.users) do
    local active = u.active ~= false
    if d.users_active == "string" then active = W.active_text[active] end
    users[i] = { UserId = u.id, Username = u.username or u.email or "", Email = u.email or "",
                 LastLogon = nz(u.lastlogon), Active = active }
  end
  out.users = arr(users)
  local fields = {}
  for i, f in ipairs(self.data.customfields) do
    fields[i] = { Association = f.association, Id = f.id, Name = f.name, Type = f.type,
                  ListId = nz(f.listid),
                  MaxLength = d.field_max_length and f.maxlength or nil }
  end
  out.customFields = arr(fields)
  local lists = {}
  for i, l in ipairs(self.data.customfieldlists) do
    local entries = {}
    for j, it in ipairs(l.items or {}) do entries[j] = { Id = it.id, Name = it.name } end
    lists[i] = { Id = l.id, Name = l.name, Items = arr(entries) }
  end
  out.customFieldLists = arr(lists)
  return out
end

-- ---- jobs created, people found, candidates from a CV (issue 22) ----------------------------

-- createOpportunity [DOC 360]: the job and the contact who owns it, named (company and person
-- fields: no ids are documented). The client is found by name, the contact by email or name at
-- that client; createpersonifnotexists makes whichever is missing [INF].
VERB.createOpportunity = function(self, node, user)
  local o = w_table(node.opportunity, "opportunity")
  if not o then invalid("'opportunity' is required") end
  local ins = w_table(node.instructions, "instructions") or {}
  local make = w_bool(ins.createpersonifnotexists, "createpersonifnotexists") or false
  local name = w_str(o.opportunityname, "opportunityname")
  if not present(name) then invalid("'opportunityname' is required") end
  local p = {}
  for _, k in ipairs(W.opportunity_person) do p[k] = w_str(o[k], k) end
  if present(p.fullname) and not present(p.firstname) and not present(p.lastname) then
    p.firstname, p.lastname = match(p.fullname, "^%s*(%S+)%s*(.-)%s*$")
  end
  local typeid
  local wt = w_str(o.worktype, "worktype")
  if present(wt) then
    local e = self.lk.opportunityWorkTypes.by_name[lower(wt)]
    if not e then invalid("unknown worktype '%s'", wt) end
    typeid = e.id
  end
  local custom = read_custom(self, o.customfields or node.customfields, "Opportunity",
                             "customfields")
  local client
  if present(p.company) then
    for _, c in ipairs(self.data.clients) do
      if lower(c.name or "") == lower(p.company) then client = c break end
    end
    if not client and not make then invalid("client '%s' not found", p.company) end
  end
  local contact
  local someone = present(p.email) or present(p.firstname) or present(p.lastname)
  if someone then
    for _, k in ipairs(self.data.contacts) do
      if not client or k.clientid == client.id then
        if present(p.email) and lower(k.email or "") == lower(p.email)
            or not present(p.email) and lower(person(k)) == lower(person(p)) then
          contact = k
          break
        end
      end
    end
    if not contact and not make then invalid("contact '%s' not found", p.email or person(p)) end
  end
  local now_local = self:local_time()
  if not client and present(p.company) then
    client = self:insert("clients", { name = p.company, dateopened = now_local,
                                      lastupdated = now_local })
  end
  if not contact and someone then
    contact = self:insert("contacts", { clientid = client and client.id, firstname = p.firstname,
                                        lastname = p.lastname, email = p.email,
                                        lastupdated = now_local })
  end
  local j = self:insert("jobs", {
    name = name, clientid = client and client.id or (contact and contact.clientid),
    contactid = contact and contact.id, typeid = typeid,
    statusid = (self.data.lists.opportunityStatuses[1] or {}).id,
    department = w_str(o.department, "department"), description = w_str(o.description, "description"),
    dateopened = sub(now_local, 1, 10), lastupdated = now_local, custom = {},
    owners = { { userid = user.id, percent = 100, role = "Primary" } },
  })
  apply_custom(j, custom)
  return ok_write(self.dialect.write_messages.createOpportunity, j.id, name)
end

-- checkPerson [DOC 363]: which record types hold a person with this email, phone or LinkedIn
-- address (C contacts, R resources, U users), and the first such record, without an id.
local function digits(v) return (v or ""):gsub("%D", "") end
local function same_phone(a, b)
  local x, y = digits(a), digits(b)
  if #x < 7 or #y < 7 then return false end
  if #x < #y then x, y = y, x end
  return sub(x, -#y) == y
end
local function linkedin_key(v)
  return (lower(v):gsub("^%a+://", ""):gsub("^www%.", ""):gsub("/+$", ""))
end

local function is_person(rec, q)
  if q.email and (lower(rec.email or "") == q.email or lower(rec.otheremail or "") == q.email) then
    return true
  end
  if q.phone then
    for _, k in ipairs({ "mobiletelephone", "worktelephone", "hometelephone" }) do
      if present(rec[k]) and same_phone(rec[k], q.phone) then return true end
    end
  end
  return q.linkedin ~= nil and present(rec.linkedin) and linkedin_key(rec.linkedin) == q.linkedin
end

VERB.checkPerson = function(self, node)
  local d = w_table(node.details, "details")
  if not d then invalid("'details' is required") end
  local q = {}
  local email, phone, li = w_str(d.email, "email"), w_str(d.phone, "phone"),
                           w_str(d.linkedin, "linkedin")
  if present(email) then q.email = lower(email) end
  if present(phone) then q.phone = phone end
  if present(li) then q.linkedin = linkedin_key(li) end
  if not (q.email or q.phone or q.linkedin) then invalid("give an email, phone or linkedin") end
  local lists = { C = self.data.contacts, R = self.data.candidates, U = self.data.users }
  local types, first, firstletter = "", nil, nil
  for _, letter in ipairs(W.person_types) do
    for _, rec in ipairs(lists[letter]) do
      if is_person(rec, q) then
        types = types .. letter
        if not first then first, firstletter = rec, letter end
        break
      end
    end
  end
  local out = { status = 0, message = W.messages[0], count = 0,
                recordLink = "https://emulator.tracker-rms.invalid", recordTypes = types }
  if first then
    local client = firstletter == "C" and self.idx.clients[first.clientid]
    out.firstRecord = {
      fullname = person(first), jobtitle = first.jobtitle or "",
      company = client and client.name or first.companyname or "",
      phone = first.worktelephone or first.hometelephone or "",
      cell = first.mobiletelephone or "", email = first.email or "",
      linkedin = first.linkedin or "",
    }
  end
  return out
end

-- createResourceFromResume [DOC 358]: Tracker parses the CV (docx, pdf...) for the candidate's
-- fields. The emulator's parse is minimal: of a plain-text file, the first line that is neither
-- an email nor a phone is the name, and the first email and phone found are kept; of any other
-- file, the name comes from its file name ("Jane Selby Resume.docx"). Fields given in
-- `resource` win. The candidate is made as createResource makes it, and the file attached to it
-- as its primary resume.
local function parse_resume(filename, bytes)
  local out = {}
  if bytes and not find(bytes, "[%z\1-\8\14-\31]") then
    for line in bytes:gmatch("[^\r\n]+") do
      local l = match(line, "^%s*(.-)%s*$")
      local em = match(l, "[%w._%%+-]+@[%w.-]+%.%a+")
      local ph = match(l, "%+?[%d][%d%s().-]+%d")
      if em and not out.email then out.email = em
      elseif ph and #digits(ph) >= 7 and not out.mobilephone then out.mobilephone = ph
      elseif not out.fullname and not em and not ph and l ~= "" and #l <= 60 then
        out.fullname = l
      end
    end
  end
  if not out.fullname then
    local base = match(filename, "^(.-)%.[%w]+$") or filename
    base = base:gsub("[_-]", " "):gsub("%f[%a][Rr]esume%f[%A]", ""):gsub("%f[%a][Cc][Vv]%f[%A]", "")
    base = match(base, "^%s*(.-)%s*$")
    if base ~= "" then out.fullname = base end
  end
  return out
end

VERB.createResourceFromResume = function(self, node, user)
  local file = w_table(node.file, "file")
  if not file then invalid("'file' is required") end
  local filename = w_str(file.filename, "filename")
  if not present(filename) then invalid("'filename' is required") end
  local data = w_str(file.data, "data")
  local clean = data and b64.clean(data)
  if not clean then invalid("'data' must be base64") end
  local res = parse_resume(filename, b64.decode(clean))
  for k, v in pairs(w_table(node.resource, "resource") or {}) do res[k] = v end
  if present(res.firstname) or present(res.lastname) then res.fullname = nil end
  if not (present(res.fullname) or present(res.firstname) or present(res.lastname)) then
    invalid("no name could be read from '%s': give the resource's firstname and lastname",
            filename)
  end
  local answer = VERB.createResource(self, { resource = res, instructions = node.instructions,
                                              customfields = node.customfields }, user)
  VERB.attachDocument(self, { file = { filename = filename, recordtype = "R",
                                       recordid = answer.recordId, documenttype = "resume",
                                       primary = "y", data = clean } })
  answer.message = self.dialect.write_messages.createResourceFromResume
  return answer
end

-- ---- envelopes and credentials ---------------------------------------------------------------

-- shape: a verb's (read, write, plain) or "bare" (status, message and count 0, as the
-- evidence dialect answers some writes).
function envelope(shape, status, message, extra)
  local e = { status = status, message = message }
  if shape == "read" then
    e.count, e.results = 0, EMPTY
  elseif shape == "write" then
    e.count, e.recordId, e.recordName = 0, 0, ""
  elseif shape == "bare" then
    e.count = 0
  end
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local VERB_BY_LOWER = {}
for name, shape in pairs(W.verbs) do VERB_BY_LOWER[lower(name)] = { name = name, shape = shape } end

-- The user a widget request acts as, or nil and the widget status (1 unknown, 2 inactive).
local function widget_user(self, creds, headers)
  local user
  if type(creds) == "table" then
    local c = lowerkeys(creds)
    local name = type(c.username) == "string" and c.username or ""
    if secret_ok(c.oauthtoken, self.api_token) then
      user = self:api_user()
    elseif name ~= "" then
      local u = self.logins[lower(name)]
      if u and (secret_ok(c.apikey, self.apikey) or secret_ok(c.password, u.password)) then
        user = u
      end
    elseif self.dialect.credentials == "apikey_alone" and secret_ok(c.apikey, self.apikey) then
      user = self:api_user()         -- "user will default to system admin" [DOC 357]
    end
  end
  local auth = headers.authorization
  if not user and type(auth) == "string" then
    local token = match(auth, "^[Bb]earer%s+(%S+)%s*$")
    local basic = match(auth, "^[Bb]asic%s+(%S+)%s*$")
    if token and secret_ok(token, self.api_token) then
      user = self:api_user()
    elseif basic then
      local pair = b64.decode(basic)
      local name, secret = match(pair or "", "^([^:]*):(.*)$")
      local u = name and self.logins[lower(name)]
      if u and (secret_ok(secret, self.apikey) or secret_ok(secret, u.password)) then user = u end
    end
  end
  if not user then return nil, 1 end
  if user.active == false then return nil, 2 end
  return user
end

function M.answer(self, verbname, headers, body)
  local verb = VERB_BY_LOWER[lower(verbname)]
  -- t: an answer table, or its JSON text (the synthetic source's pages)
  local function answer(t) return 200, json_headers(), type(t) == "string" and t or encode(t) end
  if not verb then
    return answer(envelope("plain", 99, "invalid request: unknown verb '" .. verbname .. "'"))
  end
  local ok, doc = pcall(json.decode, body)
  if not ok or type(doc) ~= "table" then
    return answer(envelope(verb.shape, 99, "invalid request: the body is not a JSON object"))
  end
  local root = lowerkeys(doc).trackerrms
  if type(root) ~= "table" then
    return answer(envelope(verb.shape, 99, "invalid request: no 'trackerrms' node"))
  end
  root = lowerkeys(root)
  local node = root[lower(verb.name)]
  if node == nil then
    -- the server dispatches on the URL [OBS]: a lone node is taken whatever its key says
    local k, v = next(root)
    if k ~= nil and next(root, k) == nil then node = v end
  end
  if type(node) ~= "table" then
    return answer(envelope(verb.shape, 99, "invalid request: no '" .. verb.name .. "' node"))
  end
  node = lowerkeys(node)
  local user, status = widget_user(self, node.credentials, headers)
  if not user then return answer(envelope(verb.shape, status, W.messages[status])) end
  if self.synthetic and verb.shape == "write" then
    return answer(envelope(verb.shape, 99, self.synthetic.READ_ONLY))
  end
  local okv, res = pcall(VERB[verb.name], self, node, user)
  if okv then return answer(res) end
  if type(res) == "table" and res.widget then
    return answer(envelope(res.shape or verb.shape, res.status, res.message, res.extra))
  end
  error(res, 0)
end

M.ok_read, M.reject = ok_read, reject

return M
