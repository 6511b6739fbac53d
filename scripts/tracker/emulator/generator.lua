-- tracker.emulator.generator: realistic demo databases, the same for the same seed.
--
-- generate(opts) -> data: the metadata of tracker.emulator.schema plus users (the agency's
-- recruiters, the last one inactive), clients with their contacts, jobs, candidates,
-- applications moving through the funnel, activities, and documents (a resume for some
-- candidates), leads for the clients, and calls, emails and meetings with the contacts (on the
-- contact, its client or a lead), with custom values and a spread of update times (some exact
-- ties, as bulk imports make). Options, all optional: seed (1), jobs (20), candidates (200),
-- applications, activities, documents, clients, users (8), leads (one a client),
-- crm_activities (one a contact; made after the others, so `activities` counts those alone),
-- now (epoch of "now": fixed by default, so the data does not depend on the clock), span_days
-- (365), timezone ("UTC"), schema (a database's metadata from a schema file,
-- tracker.emulator.schema.metadata_of: the records then use its custom fields, lists, stages,
-- statuses, types and users instead of the built-in ones; without it the data is exactly what
-- it always was for a seed). emulator.generate is this function; misuse raises naming it.

local b64 = require "tracker.emulator.base64"
local localtime = require "tracker.emulator.localtime"
local random = require "tracker.emulator.random"
local schema = require "tracker.emulator.schema"
local util = require "tracker.emulator.util"
local W = require "tracker.emulator.wire"
local words = require "tracker.emulator.words"

local M = {}

local type, ipairs, tostring, error, select = type, ipairs, tostring, error, select
local mtype = math.type
local fmt, sub, match, gsub = string.format, string.sub, string.match, string.gsub
local lower = string.lower

local DAY = localtime.DAY
local GEN_NOW = 1795176000     -- 2026-11-20T12:00:00Z: generated data does not depend on the clock

local FIRST_ID = schema.FIRST_ID
local check_keys, numstr = util.check_keys, util.numstr
local rng, localizer, parse_stamp = random.rng, localtime.localizer, localtime.parse_stamp
local b64encode, ascii_fold = b64.encode, words.ascii_fold
local FIRST, LAST, TITLES, CO_A, CO_B = words.first, words.last, words.titles, words.company_a,
                                        words.company_b
local PLACES, STREETS, DOMAINS, AGENCY_DOMAIN = words.places, words.streets, words.domains,
                                                words.agency_domain
local TAGS, NOTES = words.tags, words.notes

local builtin_pickers, schema_pickers, imported   -- below: what the records draw from

-- Weighted choice: weights is a list of {value, weight}.
local function chooser(weights)
  local total = 0
  for _, w in ipairs(weights) do total = total + w[2] end
  return function(r)
    local x = r(total)
    for _, w in ipairs(weights) do
      x = x - w[2]
      if x <= 0 then return w[1] end
    end
  end
end

local GEN_OPTS = { seed = true, jobs = true, candidates = true, applications = true,
  activities = true, documents = true, clients = true, users = true, now = true,
  span_days = true, timezone = true, schema = true, leads = true, crm_activities = true }

local function count_opt(o, name, default)
  local v = o[name]
  if v == nil then return default end
  if mtype(v) ~= "integer" or v < 0 then
    error(fmt("emulator.generate: '%s' must be a non-negative integer", name), 3)
  end
  return v
end

-- ---- what the records draw from ---------------------------------------------------------

-- The built-in metadata's draws: the ids of tracker.emulator.schema's lists, with the weights
-- and meanings (stage 10 rejected, 7 to 9 placed) the demo data has always had.
function builtin_pickers(r)
  local job_status = chooser({ { 1, 50 }, { 2, 8 }, { 3, 10 }, { 4, 17 }, { 5, 9 }, { 6, 6 } })
  local cand_status = chooser({ { 1, 55 }, { 2, 20 }, { 3, 10 }, { 4, 12 }, { 5, 3 } })
  local stage = chooser({ { 1, 24 }, { 2, 15 }, { 3, 12 }, { 4, 9 }, { 5, 9 }, { 6, 4 },
                          { 7, 3 }, { 8, 4 }, { 9, 3 }, { 10, 13 }, { 11, 4 } })
  local act_type = chooser({ { 1, 40 }, { 2, 25 }, { 3, 20 }, { 4, 3 }, { 5, 7 }, { 6, 3 },
                             { 7, 2 } })
  local meta = schema.base_metadata().lists
  local departments, sources = meta.departments, meta.resourceSources
  return {
    job_status = function() return job_status(r) end,
    job_closed = function(id) return id >= 5 end,
    work_type = function() return r(4) end,
    department = function() return departments[r(#departments)].name end,
    candidate_status = function() return cand_status(r) end,
    source = function() return sources[r(#sources)].name end,
    stage = function() return stage(r) end,
    fate = function(st)
      return { ended = st == 10 or st == 11, placed = st >= 7 and st <= 9, finished = st == 9 }
    end,
    activity_type = function() return act_type(r) end,
    activity_status = function(scheduled) return scheduled and 2 or 1 end,
  }
end

-- Weights falling along a list: its first entries are the common ones (the first status, the
-- early stages); `heavy` entries (stages that end an application) weigh as the middle ones.
local function falling(list, heavy)
  local weights = {}
  for i, e in ipairs(list) do
    local w = #list - i + 1
    if heavy and heavy(e) then w = (#list + 1) // 2 end
    weights[i] = { i, w * 2 }
  end
  return chooser(weights)
end

-- A schema's draws: from its lists (an empty list draws nothing), and a value of every custom
-- field of a record's association, by the field's type, for most records.
function schema_pickers(d, r, pick, between, date_of, start, now)
  local L = d.lists
  local function from(list, heavy)
    if #list == 0 then return function() return nil end end
    local choose = falling(list, heavy)
    return function() return list[choose(r)] end
  end
  local job_status = from(L.opportunityStatuses)
  local work_type, department = from(L.opportunityWorkTypes), from(L.departments)
  local cand_status, source = from(L.resourceStatuses), from(L.resourceSources)
  local stage = from(L.opportunityResourceStatuses, function(e) return e.ended end)
  local act_type = falling(L.activityTypes)
  local stages, jobs = {}, {}
  for _, e in ipairs(L.opportunityResourceStatuses) do stages[e.id] = e end
  for _, e in ipairs(L.opportunityStatuses) do jobs[e.id] = e end
  local fields, items = {}, {}
  for _, l in ipairs(d.customfieldlists) do items[l.id] = l.items or {} end
  for _, def in ipairs(d.customfields) do
    local f = fields[def.association] or {}
    f[#f + 1] = def
    fields[def.association] = f
  end
  local function value(def)
    local t = def.type
    if t == "List" then
      local l = items[def.listid] or {}
      return #l > 0 and pick(l).name or nil
    elseif t == "Number" then return numstr(between(1, 100))
    elseif t == "Date" then return date_of(between(start, now))
    elseif t == "Checkbox" then return r() < 0.5 and "Yes" or "No"
    end
    local text = pick(TITLES)
    return def.maxlength and sub(text, 1, def.maxlength) or text
  end
  local function id_of(e) return e and e.id end
  return {
    job_status = function() return id_of(job_status()) end,
    job_closed = function(id) return jobs[id] ~= nil and jobs[id].state ~= "open" end,
    work_type = function() return id_of(work_type()) end,
    department = function() local e = department() return e and e.name end,
    candidate_status = function() return id_of(cand_status()) end,
    source = function() local e = source() return e and e.name or "Other" end,
    stage = function() return id_of(stage()) end,
    fate = function(st)
      local e = stages[st] or {}
      return { ended = e.ended or false, placed = e.placement or false, finished = false }
    end,
    activity_type = function() return act_type(r) end,
    activity_status = function() return L.activityStatuses[1] and L.activityStatuses[1].id end,
    custom = function(rec, assoc)
      for _, def in ipairs(fields[assoc] or {}) do
        if r() < 0.75 then rec.custom[numstr(def.id)] = value(def) end
      end
    end,
  }
end

-- A schema's metadata for generate: a fresh copy, checked enough to be one.
function imported(meta)
  if type(meta) ~= "table" or type(meta.lists) ~= "table" or type(meta.customfields) ~= "table"
     or type(meta.customfieldlists) ~= "table" then
    error("emulator.generate: 'schema' must be a database's metadata "
          .. "(tracker.emulator.schema.metadata_of of a schema file)", 3)
  end
  local d = util.deepcopy(meta)
  for _, kind in ipairs(schema.KINDS) do d[kind] = d[kind] or {} end
  if #d.lists.activityTypes == 0 then
    error("emulator.generate: the schema has no activity types", 3)
  end
  return d
end

function M.generate(opts)
  local o = check_keys(opts, GEN_OPTS, "emulator.generate", "options")
  local seed = o.seed or 1
  if mtype(seed) ~= "integer" then error("emulator.generate: 'seed' must be an integer", 2) end
  local zone = o.timezone or "UTC"
  local okz, why = localtime.zone_valid(zone)
  if not okz then error("emulator.generate: " .. tostring(why), 2) end
  local njobs = count_opt(o, "jobs", 20)
  local ncand = count_opt(o, "candidates", 200)
  local napps = count_opt(o, "applications", (njobs > 0 and ncand > 0) and ncand + ncand // 2 or 0)
  local nact = count_opt(o, "activities", ncand)
  local ndocs = count_opt(o, "documents", ncand // 2)
  local nclients = count_opt(o, "clients", njobs > 0 and math.max(3, njobs // 5) or 0)
  local nusers = count_opt(o, "users", 8)
  local now = o.now or GEN_NOW
  local span = (o.span_days or 365) * DAY
  local start = now - span
  local r = rng(seed)
  local toloc = localizer(zone)
  local d = schema.base_metadata()
  if o.schema ~= nil then d = imported(o.schema) end
  d.timezone = zone

  local function pick(t) return t[r(#t)] end
  local function between(a, b) if b <= a then return a end return a + r(b - a + 1) - 1 end
  -- Update times: spread over the span, with a share of exact ties (bulk imports do that).
  local last_stamp = start
  local function updated_after(t0)
    if r() < 0.04 and last_stamp >= t0 then return last_stamp end
    last_stamp = between(t0, now)
    return last_stamp
  end
  local function date_of(epoch) return sub(toloc(epoch), 1, 10) end
  local P = o.schema and schema_pickers(d, r, pick, between, date_of, start, now)
            or builtin_pickers(r)

  -- users: the agency's recruiters; the last one has left (inactive).
  local logins = {}
  if #d.users > 0 then nusers = 0 end        -- the schema's users
  for i = 1, nusers do
    local f, l = pick(FIRST), pick(LAST)
    local base = ascii_fold(f) .. "." .. ascii_fold(l)
    local login, n = base .. "@" .. AGENCY_DOMAIN, 1
    while logins[login] do n = n + 1; login = base .. n .. "@" .. AGENCY_DOMAIN end
    logins[login] = true
    d.users[i] = { id = FIRST_ID.users + i - 1, username = login, email = login,
                   firstname = f, lastname = l, active = not (nusers >= 3 and i == nusers),
                   lastlogon = toloc(between(now - 30 * DAY, now)) }
  end
  local active_users = {}
  for _, u in ipairs(d.users) do if u.active then active_users[#active_users + 1] = u end end
  local function a_user() return #active_users > 0 and pick(active_users).id or nil end

  -- clients and their contacts
  local contacts_of = {}
  for i = 1, nclients do
    local c = { id = FIRST_ID.clients + i - 1,
                name = CO_A[(i - 1) % #CO_A + 1] .. " " .. pick(CO_B) ..
                       (i > #CO_A and " " .. tostring((i - 1) // #CO_A + 1) or "") }
    local place = pick(PLACES)
    c.town, c.county, c.country = place[1], place[2], "United States"
    -- made from what is drawn already, so the rest of the data stays as it was
    c.website = "https://www." .. ascii_fold(c.name) .. ".example"
    c.email = "info@" .. ascii_fold(c.name) .. ".example"
    c.telephone = fmt("(%s) 555-%04d", place[4], 1000 + i)
    local opened = between(start - 2 * span, start)
    c.dateopened = toloc(opened)
    c.lastupdated = toloc(updated_after(opened))
    d.clients[i] = c
    local list = {}
    for _ = 1, between(1, 3) do
      local f, l = pick(FIRST), pick(LAST)
      local k = {
        id = FIRST_ID.contacts + #d.contacts, clientid = c.id, firstname = f, lastname = l,
        jobtitle = pick({ "Hiring Manager", "HR Director", "Talent Acquisition Lead",
                          "VP Operations", "Engineering Manager", "Nurse Manager" }),
        email = ascii_fold(f) .. "." .. ascii_fold(l) .. "@" .. ascii_fold(c.name) .. ".example",
        lastupdated = c.lastupdated, dateopened = c.dateopened, town = c.town,
        county = c.county, country = c.country,
        businesstelephone = fmt("(%s) 555-%04d", place[4], 2000 + #d.contacts), custom = {},
      }
      d.contacts[#d.contacts + 1] = k
      list[#list + 1] = k
    end
    contacts_of[c.id] = list
  end

  -- jobs
  local jobs_placeable = {}
  for i = 1, njobs do
    local client = #d.clients > 0 and d.clients[r(#d.clients)] or nil
    local contact = client and pick(contacts_of[client.id]) or nil
    local title = pick(TITLES)
    local place = pick(PLACES)
    local opened = between(start, now - 7 * DAY)
    local salary = between(38, 180) * 1000
    local owners = { { userid = a_user(), percent = 100, role = "Primary" } }
    if r() < 0.3 and #active_users > 1 then
      local second = a_user()
      if second ~= owners[1].userid then
        owners[1].percent = 60
        owners[2] = { userid = second, percent = 40, role = "Secondary" }
      end
    end
    if owners[1].userid == nil then owners = {} end
    local j = {
      id = FIRST_ID.jobs + i - 1, name = title, clientid = client and client.id or nil,
      contactid = contact and contact.id or nil, statusid = P.job_status(),
      typeid = P.work_type(), department = P.department(),
      description = fmt("%s needed for %s in %s, %s.", title,
                        client and client.name or "a confidential client", place[1], place[2]),
      location = place[1] .. ", " .. place[2], dateopened = date_of(opened),
      startdate = r() < 0.6 and date_of(opened + between(14, 60) * DAY) or nil,
      estimatedvalue = salary // 5, probability = between(2, 9) * 10,
      publishtitle = title, publishlocation = place[1] .. ", " .. place[2],
      publishonline = r() < 0.7 and "y" or "n", publishsalaryfrom = salary - 10000,
      publishsalaryto = salary + 10000, owners = owners,
      lastupdated = toloc(updated_after(opened)),
      custom = {},
    }
    if P.job_closed(j.statusid) then j.reasonforclose = pick({ "Client hired direct", "Budget cut",
                                                     "Filled by competitor", "Role on hold" }) end
    if P.custom then
      P.custom(j, "Opportunity")
    else
      j.custom["445"] = pick({ "High", "Medium", "Low" })
      if r() < 0.8 then j.custom["446"] = pick({ "On-site", "Hybrid", "Remote" }) end
      if contact then j.custom["447"] = contact.firstname .. " " .. contact.lastname end
      if j.startdate then j.custom["453"] = j.startdate end
    end
    d.jobs[i] = j
    jobs_placeable[i] = j
  end

  -- candidates
  local emails = {}
  for i = 1, ncand do
    local f, l = pick(FIRST), pick(LAST)
    local ff, fl = ascii_fold(f), ascii_fold(l)
    local pattern = r(5)
    local localpart = pattern == 1 and ff .. "." .. fl or pattern == 2 and ff .. fl
      or pattern == 3 and sub(ff, 1, 1) .. fl or pattern == 4 and ff .. "." .. fl .. between(70, 99)
      or ff .. "_" .. fl
    local email = localpart .. "@" .. pick(DOMAINS)
    local n = 1
    while emails[email] do
      n = n + 1
      email = localpart .. n .. "@" .. match(email, "@(.*)$")
    end
    emails[email] = true
    local place = pick(PLACES)
    local created = between(start - span, now - DAY)
    local c = {
      id = FIRST_ID.candidates + i - 1, firstname = f, lastname = l, jobtitle = pick(TITLES),
      companyname = pick(CO_A) .. " " .. pick(CO_B), email = email,
      address1 = between(10, 9800) .. " " .. pick(STREETS), town = place[1], county = place[2],
      postcode = place[3], country = "United States",
      mobiletelephone = fmt("(%s) 555-%04d", place[4], between(100, 199)),
      linkedin = "https://www.linkedin.com/in/" .. ff .. "-" .. fl .. "-" .. fmt("%x", r(0xfffff)),
      source = P.source(), ownerid = a_user(), statusid = P.candidate_status(),
      workavailable = r() < 0.6 and "y" or "n",
      availability = pick({ "Immediately", "2 weeks notice", "1 month notice", "Open to offers" }),
      dateopened = toloc(created), lastupdated = toloc(updated_after(created)),
      custom = {},
    }
    if r() < 0.3 then c.hometelephone = fmt("(%s) 555-%04d", place[4], between(100, 199)) end
    if r() < 0.25 then c.tag = pick(TAGS) .. (r() < 0.3 and "," .. pick(TAGS) or "") end
    if r() < 0.4 then c.lastcontacted = toloc(between(created, now)) end
    if P.custom then
      P.custom(c, "Resource")
    else
      if r() < 0.7 then c.custom["441"] = numstr(between(40, 99)) end
      if r() < 0.6 then c.custom["442"] = pick({ "US Citizen", "Permanent Resident", "H-1B",
                                                "TN Visa", "Requires Sponsorship" }) end
      if r() < 0.3 then c.custom["443"] = r() < 0.3 and "Yes" or "No" end
      if r() < 0.5 then c.custom["444"] = pick({ "Email", "Phone", "Text" }) end
      if r() < 0.4 then c.custom["448"] = pick({ "High", "Medium", "Low" }) end
    end
    d.candidates[i] = c
  end

  -- applications: distinct (job, candidate) pairs moving through the funnel
  local pairs_seen = {}
  local apps = d.applications
  local tries = 0
  while #apps < napps and tries < napps * 4 and njobs > 0 and ncand > 0 do
    tries = tries + 1
    local j = jobs_placeable[r(njobs)]
    local c = d.candidates[r(ncand)]
    local key = j.id * 1000003 + c.id
    if not pairs_seen[key] then
      pairs_seen[key] = true
      local st = P.stage()
      local fate = P.fate(st)
      local by_resource = r() < 0.45
      local t0 = math.max(select(1, parse_stamp(j.dateopened)) or start, start)
      local assigned = between(t0, now)
      local a = {
        id = FIRST_ID.applications + #apps, opportunityid = j.id, resourceid = c.id,
        statusid = st, list = r() < 0.8 and "short" or "long",
        shortlistedby = by_resource and "resource" or "user",
        source = by_resource and P.source() or "Database search",
        dateassigned = toloc(assigned), active = fate.ended and "n" or "y",
        lastupdated = toloc(updated_after(assigned)), custom = {},
      }
      if fate.placed then
        local rate = between(25, 95)
        a.dateconfirmed = date_of(between(assigned, now))
        a.startdate = date_of(assigned + between(14, 45) * DAY)
        if fate.finished then a.enddate = date_of(assigned + between(90, 200) * DAY) end
        a.payrate, a.chargerate = rate, rate + between(8, 40)
        a.chargeperiod, a.currency = "Hour", "USD"
      end
      if P.custom then
        P.custom(a, "OpportunityResource")
      else
        if st >= 5 and st <= 9 then a.custom["449"] = r() < 0.6 and "Yes" or "No" end
        if r() < 0.5 then a.custom["450"] = numstr(between(1, 10)) end
        if st == 10 then
          a.custom["451"] = pick({ "Skills mismatch", "Salary expectations", "Failed screening",
                                   "Position filled", "No show" })
        end
      end
      apps[#apps + 1] = a
    end
  end

  -- activities: notes and calls on candidates, their applications, and jobs
  local type_names = d.lists.activityTypes
  for i = 1, nact do
    if ncand == 0 and njobs == 0 then break end
    local tid = P.activity_type()
    local tname = type_names[tid].name
    local a = { id = FIRST_ID.activities + i - 1, typeid = type_names[tid].id, custom = {} }
    local roll = r()
    local job, cand, app
    if roll < 0.6 and #apps > 0 then
      app = apps[r(#apps)]
      cand = d.candidates[app.resourceid - FIRST_ID.candidates + 1]
      job = d.jobs[app.opportunityid - FIRST_ID.jobs + 1]
    elseif (roll < 0.9 or njobs == 0) and ncand > 0 then
      cand = d.candidates[r(ncand)]
    else
      job = d.jobs[r(njobs)]
    end
    if cand then
      a.linkrecordtype, a.linkrecordid, a.resourceid = "R", cand.id, cand.id
    else
      a.linkrecordtype, a.linkrecordid = "O", job.id
    end
    if job then a.opportunityid, a.clientid, a.contactid = job.id, job.clientid, job.contactid end
    if app then a.opportunityresourceid = app.id end
    local about = job and job.name or (cand and cand.jobtitle) or "the role"
    a.subject = tname .. ": " .. about
    a.note = fmt(pick(NOTES[tname] or NOTES.Note), about)
    local when = between(start, now)
    a.date, a.time = date_of(when), sub(toloc(when), 12, 16)
    a.statusid = P.activity_status(when > now - DAY and tid == 5)
    a.priority = pick({ "Low", "Medium", "Medium", "High" })
    a.contacttype = pick({ "Outbound", "Outbound", "Inbound", "Internal" })
    a.userid = a_user()
    a.lastupdated = toloc(updated_after(when))
    if P.custom then
      P.custom(a, "Activity")
    elseif r() < 0.15 then
      a.custom["452"] = r() < 0.5 and "Yes" or "No"
    end
    d.activities[i] = a
  end

  -- documents: a resume for some candidates, a cover letter for a few of them
  local order = {}
  for i = 1, ncand do order[i] = i end
  for i = ncand, 2, -1 do
    local k = r(i)
    order[i], order[k] = order[k], order[i]
  end
  local docs = d.documents
  for i = 1, math.min(ndocs, ncand) do
    local c = d.candidates[order[i]]
    local created = select(1, parse_stamp(c.dateopened)) or start
    local stem = gsub(c.firstname .. "_" .. c.lastname, "[^%w_]", "")
    local pdf = fmt("%%PDF-1.4\n%% Resume: %s %s, %s\n1 0 obj << /Type /Catalog >> endobj\n"
                    .. "trailer << /Root 1 0 R >>\n%%%%EOF\n", c.firstname, c.lastname, c.jobtitle)
    docs[#docs + 1] = {
      id = FIRST_ID.documents + #docs, recordtype = "R", recordid = c.id,
      filename = stem .. "_Resume.pdf", documenttype = "Resume", primary = true,
      contenttype = W.content_types.pdf, data = b64encode(pdf),
      dateadded = toloc(between(created, now)),
    }
    if r() < 0.1 then
      docs[#docs + 1] = {
        id = FIRST_ID.documents + #docs, recordtype = "R", recordid = c.id,
        filename = stem .. "_Cover_Letter.txt", documenttype = "Cover Letter", primary = false,
        contenttype = W.content_types.txt,
        data = b64encode("Dear hiring manager,\nI am applying for the " .. c.jobtitle
                         .. " role.\n"),
        dateadded = toloc(between(created, now)),
      }
    end
  end
  -- leads for the clients, and activities with their contacts
  local nleads = count_opt(o, "leads", #d.clients)
  local ncrm = count_opt(o, "crm_activities", #d.contacts)
  local lead_sources = d.lists.leadSources
  for i = 1, (#d.clients > 0 and nleads or 0) do
    local c = d.clients[r(#d.clients)]
    local opened = between(start, now)
    d.leads[i] = {
      id = FIRST_ID.leads + i - 1, name = pick({ "New site staffing", "Contract renewal",
        "Night shift cover", "Expansion hiring", "Temp-to-perm pilot" }) .. " - " .. c.name,
      clientid = c.id, source = lead_sources[r(#lead_sources)].name,
      description = "Raised with " .. c.name .. ".", statusid = r(#d.lists.leadStatuses),
      dateopened = toloc(opened), lastupdated = toloc(updated_after(opened)), custom = {},
    }
  end
  -- calls, emails and meetings: the types of those names (the built-in list's 2, 3, 4), else
  -- any of a schema's types
  local crm_types = {}
  for i, ty in ipairs(type_names) do
    local n = lower(tostring(ty.name))
    if n == "call" or n == "email" or n == "meeting" then crm_types[#crm_types + 1] = i end
  end
  if #crm_types == 0 then for i = 1, #type_names do crm_types[i] = i end end
  for _ = 1, (#d.contacts > 0 and #crm_types > 0 and ncrm or 0) do
    local k = d.contacts[r(#d.contacts)]
    local tid = pick(crm_types)
    local a = { id = FIRST_ID.activities + #d.activities, typeid = type_names[tid].id,
                custom = {}, clientid = k.clientid, contactid = k.id }
    local roll = r()
    if roll < 0.6 then a.linkrecordtype, a.linkrecordid = "N", k.id
    else a.linkrecordtype, a.linkrecordid = "C", k.clientid end
    for _, l in ipairs(d.leads) do
      if l.clientid == k.clientid and roll > 0.8 then
        a.leadid, a.linkrecordtype, a.linkrecordid = l.id, "L", l.id
        break
      end
    end
    a.subject = type_names[tid].name .. " with " .. k.firstname .. " " .. k.lastname
    a.note = "Discussed open roles with " .. k.firstname .. "."
    local when = between(start, now)
    a.date, a.time = date_of(when), sub(toloc(when), 12, 16)
    a.statusid, a.priority, a.contacttype = 1, "Medium", "Outbound"
    a.userid = a_user()
    a.lastupdated = toloc(updated_after(when))
    d.activities[#d.activities + 1] = a
  end
  return d
end

return M
