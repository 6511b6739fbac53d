-- tracker.emulator.wire: every name Tracker uses, in one place. Envelope shapes and status
-- codes of the widget API, record-type letters, the field names of each answer and request,
-- content types, and the wording of the REST API's problems and of a gateway's error pages,
-- as docs/tracker-api.md records them ([DOC], [OBS] and [INF] as it marks them).
-- Data only: the parts that answer requests read it; tracker.emulator exports it as
-- emulator.wire (read-only in spirit: specs and docs quote it). Where the dialects
-- (tracker.emulator.dialects) differ in names, the tables here are keyed by the value of the
-- dialect's row (update_columns by update_kinds); the rows decide, these tables only name.

local W = {}

W.content = {
  json = "application/json; charset=utf-8",
  problem = "application/problem+json; charset=utf-8",
  html = "text/html; charset=utf-8",
}

-- Widget status codes and their messages [DOC; 1 OBS].
W.status = { ok = 0, no_user = 1, inactive = 2, exists = 3, invalid = 99 }
W.messages = {
  [0] = "success", [1] = "user or API Key not found", [2] = "user not active",
  [3] = "record found and cannot be overwritten", [99] = "invalid request",
}

-- Widget verbs: the envelope of each answer ("read": count + results; "write": count +
-- recordId + recordName; "plain": status + message only).
W.verbs = {
  getRecords = "read", getIndividualRecord = "read", updateRecord = "write",
  createActivity = "write", resourceApplication = "write", createResource = "write",
  attachDocument = "write", checkLogon = "plain", getSettingsData = "plain",
  createOpportunity = "write", createResourceFromResume = "write", checkPerson = "plain",
  createContact = "write", createLead = "write",
}

-- Record-type letters [DOC] and the database kind behind each (nil: valid, holds nothing here).
W.record_kinds = { C = "clients", N = "contacts", L = "leads", O = "jobs", P = false, T = false,
                   R = "candidates", X = "applications", A = "activities" }

-- Custom-field associations by letter [INF: names].
W.associations = { R = "Resource", O = "Opportunity", X = "OpportunityResource", A = "Activity",
                   C = "Client", N = "Contact", L = "Lead" }

-- getSettingsData: the lookup lists given as [{"Id", "Name"}], by wire name [OBS]; the
-- stages list only where the dialect's settings_stages row is true [INF: §9.2 finds it in no
-- model of the answer].
W.settings_lists = { "opportunityStatuses", "resourceStatuses", "resourceSources",
                     "opportunityWorkTypes", "departments", "leadStatuses", "leadSources" }
-- The activity types and statuses, listed where the dialect's settings_activity_lists row is
-- true [INF: no model of the answer shows them].
W.settings_activity_lists = { "activityTypes", "activityStatuses" }
W.settings_stages = "opportunityResourceStatuses"
-- getSettingsData without the stages: what the SDK's model shows instead [CLIENT: keys of
-- namingConventions; their values and accessRights' are INF].
W.naming_conventions = {
  client = "Client", contact = "Contact", lead = "Lead", opportunity = "Job",
  project = "Project", resource = "Candidate", ticket = "Ticket", resume = "Resume",
  opportunities = "Jobs", leads = "Leads", tickets = "Tickets", projects = "Projects",
}
W.access_rights = ""
-- users[].Active as a string (the dialect's users_active row "string") [INF: spelling].
W.active_text = { [true] = "True", [false] = "False" }

-- `details` of getRecords items, by letter [OBS]. Text fields default to "", dates to null.
W.details_text = {
  R = { "firstname", "lastname", "preferredname", "jobtitle", "companyname", "address1",
        "address2", "town", "county", "postcode", "country", "email", "otheremail",
        "worktelephone", "hometelephone", "mobiletelephone", "linkedin", "department", "source",
        "territory", "workavailable", "availability" },
}
-- C, N and L [OBS: the SDK's result models]; N's companyId and L's clientid are set apart.
W.details_text.C = { "address1", "address2", "town", "county", "postcode", "country", "email",
                     "website", "telephone", "internalreference", "department", "vertical",
                     "type", "source", "rank", "territory", "owner", "nameinitials",
                     "clienttypes" }
W.details_text.N = { "firstname", "lastname", "preferredname", "jobtitle", "address1",
                     "address2", "town", "county", "postcode", "country", "email",
                     "businesstelephone", "hometelephone", "mobiletelephone", "linkedin",
                     "nameinitials", "contactType" }
W.details_text.L = { "subject", "source", "description", "nameinitials" }
W.details_dates = {
  R = { availablefromdate = "availablefromdate", lastContacted = "lastcontacted" },
}

-- Extra fields getIndividualRecord returns for R [INF: the updatable columns, read back].
W.individual_text = { R = { "nationality", "noticeperiod", "note", "tag" } }
W.individual_numbers = { R = { "currentsalary", "desiredsalary" } }

-- updateRecord columns, by the dialect's update_kinds row and record-type letter: column ->
-- { internal field, kind [, "name"] }. kind: nil text, "date", "time" (HH:MM or h:mm AM/PM),
-- "number", or the lookup list whose Id the value must name (whose entry's name, with "name").
-- "inferred": R, O, X as §7 lists them [DOC + OBS], with A, C, N and L. "documented": those and
-- O's further columns (§9.9: DOC 840, the SDK's update schemas [OBS]), each with the columns
-- the emulator keeps a field for.
local columns = {
  R = {
    firstname = { "firstname" }, surname = { "lastname" }, jobtitle = { "jobtitle" },
    email = { "email" }, email2 = { "otheremail" }, mobilephone = { "mobiletelephone" },
    homephone = { "hometelephone" }, workphone = { "worktelephone" },
    addressline1 = { "address1" }, addressline2 = { "address2" }, town = { "town" },
    county = { "county" }, postcode = { "postcode" }, country = { "country" },
    nationality = { "nationality" }, dateofbirth = { "dateofbirth", "date" },
    availability = { "availability" }, currentsalary = { "currentsalary", "number" },
    desiredsalary = { "desiredsalary", "number" }, noticeperiod = { "noticeperiod" },
    note = { "note" }, tag = { "tag" }, resourcestatusid = { "statusid", "resourceStatuses" },
  },
  O = {
    opportunityname = { "name" }, opportunitydescription = { "description" },
    dateopened = { "dateopened", "date" }, startdate = { "startdate", "date" },
    enddate = { "enddate", "date" }, location = { "location" }, department = { "department" },
    estimatedvalue = { "estimatedvalue", "number" }, probability = { "probability", "number" },
    publishtitle = { "publishtitle" }, publishdescription = { "publishdescription" },
    publishlocation = { "publishlocation" }, publishonline = { "publishonline" },
    publishsalaryfrom = { "publishsalaryfrom", "number" },
    publishsalaryto = { "publishsalaryto", "number" }, reasonforclose = { "reasonforclose" },
    tag = { "tag" }, opportunitystatusid = { "statusid", "opportunityStatuses" },
    -- a job's rates (§9.9 [OBS]), which create_job sets after createOpportunity
    opportunityrate = { "opportunityrate", "number" },
    opportunitychargerate = { "opportunitychargerate", "number" },
  },
  X = {
    opportunityresourcestatusid = { "statusid", "opportunityResourceStatuses" },
    startdate = { "startdate", "date" }, enddate = { "enddate", "date" },
    payrate = { "payrate", "number" }, chargerate = { "chargerate", "number" },
  },
}
local documented = {
  R = columns.R, X = columns.X, O = {
    publishworktype = { "publishworktype" },
  },
  A = {
    subject = { "subject" }, note = { "note" }, priority = { "priority" },
    contacttype = { "contacttype" }, datedue = { "date", "date" }, startdate = { "date", "date" },
    timedue = { "time", "time" }, starttime = { "time", "time" },
    taskstatus = { "statusid", "activityStatuses", "name" },
    activitytype = { "typeid", "activityTypes", "name" },
  },
  C = {
    clientname = { "name" }, addressline1 = { "address1" }, addressline2 = { "address2" },
    town = { "town" }, county = { "county" }, postcode = { "postcode" },
    country = { "country" }, telephone = { "telephone" }, email = { "email" },
    website = { "website" }, department = { "department" }, note = { "note" }, tag = { "tag" },
    clientsource = { "source" },
  },
  N = {
    firstname = { "firstname" }, surname = { "lastname" }, lastname = { "lastname" },
    jobtitle = { "jobtitle" }, email = { "email" }, mobilephone = { "mobiletelephone" },
    businessphone = { "businesstelephone" }, homephone = { "hometelephone" }, note = { "note" },
    tag = { "tag" }, addressline1 = { "address1" }, addressline2 = { "address2" },
    town = { "town" }, county = { "county" }, postcode = { "postcode" },
    country = { "country" }, department = { "department" }, website = { "website" },
  },
  L = {
    leadname = { "name" }, leaddescription = { "description" }, department = { "department" },
    tag = { "tag" }, leadsource = { "source" }, email = { "email" }, telephone = { "telephone" },
  },
}
for k, v in pairs(columns.O) do documented.O[k] = v end
-- A, C, N and L are served in both dialects (issue 22: trk updates them); O's further columns
-- stay the difference.
for _, letter in ipairs({ "A", "C", "N", "L" }) do columns[letter] = documented[letter] end
W.update_columns = { inferred = columns, documented = documented }

-- createResource `resource` node: accepted names -> internal field [DOC + OBS aliases].
W.resource_fields = {
  firstname = "firstname", lastname = "lastname", preferredname = "preferredname",
  jobtitle = "jobtitle", company = "companyname", companyname = "companyname",
  email = "email", email2 = "otheremail", otheremail = "otheremail",
  worktelephone = "worktelephone", workphone = "worktelephone", businessphone = "worktelephone",
  hometelephone = "hometelephone", homephone = "hometelephone",
  mobiletelephone = "mobiletelephone", mobilephone = "mobiletelephone",
  cellphone = "mobiletelephone",
  address1 = "address1", addressline1 = "address1", address2 = "address2",
  addressline2 = "address2", town = "town", city = "town", county = "county", state = "county",
  postcode = "postcode", zipcode = "postcode", country = "country", linkedin = "linkedin",
  source = "source", availability = "availability", note = "note", nationality = "nationality",
  department = "department", territory = "territory",
}

-- createOpportunity `opportunity` node: the contact person's fields [DOC 360; SDK schema OBS].
W.opportunity_person = { "firstname", "lastname", "fullname", "email", "company" }

-- checkPerson: the record types it names, in the order of its sample ("CRU") [DOC 363].
W.person_types = { "C", "R", "U" }
-- createContact `contact` node: accepted names -> internal field [DOC 356].
W.contact_fields = {
  firstname = "firstname", lastname = "lastname", jobtitle = "jobtitle", email = "email",
  address1 = "address1", address2 = "address2", city = "town", state = "county",
  zipcode = "postcode", country = "country", businessphone = "businesstelephone",
  homephone = "hometelephone", cellphone = "mobiletelephone", linkedin = "linkedin",
  website = "website", note = "note",
}

-- Stages a new application starts in, by shortlistedby [INF].
W.first_stage = { user = "Shortlisted", resource = "Applied" }

-- getRecords sort fields.
W.sortfields = { id = true, name = true, lastupdateddatetime = true, dateopened = true }

-- attachDocument: content types by file extension.
W.content_types = {
  pdf = "application/pdf", doc = "application/msword",
  docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  rtf = "application/rtf", txt = "text/plain", html = "text/html", htm = "text/html",
  png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif",
  xls = "application/vnd.ms-excel",
  xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt = "application/vnd.oasis.opendocument.text",
}

-- RFC 7807 problem types, as ASP.NET Core writes them.
W.problems = {
  [400] = { "https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad Request" },
  [401] = { "https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized" },
  [404] = { "https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found" },
  [405] = { "https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed" },
  [429] = { "https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests" },
  [500] = { "https://tools.ietf.org/html/rfc9110#section-15.6.1",
            "An error occurred while processing your request." },
}
W.validation_title = "One or more validation errors occurred."
W.conversion_error = "The JSON value could not be converted to %s. Path: $.%s"

-- WWW-Authenticate of the REST API's 401s, as ASP.NET's JWT bearer handler words them.
W.www_authenticate = {
  missing = "Bearer",
  invalid = 'Bearer error="invalid_token", error_description="The signature is invalid"',
  revoked = 'Bearer error="invalid_token", error_description="The token has been revoked"',
  expired = 'Bearer error="invalid_token", error_description="The token expired at \'%s\'"',
}

W.gateway_pages = {
  [502] = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
       .. "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
  [503] = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
       .. "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
       .. "</body>\r\n</html>\r\n",
}

return W
