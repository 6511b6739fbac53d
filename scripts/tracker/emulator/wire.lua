-- tracker.emulator.wire: every name Tracker uses, in one place. Envelope shapes and status
-- codes of the widget API, record-type letters, the field names of each answer and request,
-- content types, and the wording of the REST API's problems and of a gateway's error pages,
-- as docs/tracker-api.md records them ([DOC], [OBS] and [INF] as it marks them).
-- Data only: the parts that answer requests read it; tracker.emulator exports it as
-- emulator.wire (read-only in spirit: specs and docs quote it).

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
}

-- Record-type letters [DOC] and the database kind behind each (nil: valid, holds nothing here).
W.record_kinds = { C = "clients", N = "contacts", L = false, O = "jobs", P = false, T = false,
                   R = "candidates", X = "applications", A = "activities" }

-- Custom-field associations by letter [INF: names].
W.associations = { R = "Resource", O = "Opportunity", X = "OpportunityResource", A = "Activity" }

-- getSettingsData: the lookup lists given as [{"Id", "Name"}], by wire name [OBS].
W.settings_lists = { "opportunityStatuses", "resourceStatuses", "resourceSources",
                     "opportunityWorkTypes", "departments", "opportunityResourceStatuses" }

-- `details` of getRecords items, by letter [OBS]. Text fields default to "", dates to null.
W.details_text = {
  R = { "firstname", "lastname", "preferredname", "jobtitle", "companyname", "address1",
        "address2", "town", "county", "postcode", "country", "email", "otheremail",
        "worktelephone", "hometelephone", "mobiletelephone", "linkedin", "department", "source",
        "territory", "workavailable", "availability" },
}
W.details_dates = {
  R = { availablefromdate = "availablefromdate", lastContacted = "lastcontacted" },
}

-- Extra fields getIndividualRecord returns for R [INF: the updatable columns, read back].
W.individual_text = { R = { "nationality", "noticeperiod", "note", "tag" } }
W.individual_numbers = { R = { "currentsalary", "desiredsalary" } }

-- updateRecord columns [DOC + OBS]: column -> { internal field, kind }. kind: nil text,
-- "date", "number", or the lookup list whose Id the value must name.
W.columns = {
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
  },
  X = {
    opportunityresourcestatusid = { "statusid", "opportunityResourceStatuses" },
    startdate = { "startdate", "date" }, enddate = { "enddate", "date" },
    payrate = { "payrate", "number" }, chargerate = { "chargerate", "number" },
  },
}

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
