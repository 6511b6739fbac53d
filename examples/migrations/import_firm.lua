-- import_firm.lua: a whole firm's records, exported from another system as CSV files that refer
-- to each other by that system's ids, into Tracker: clients with their contacts, jobs for
-- them, candidates, applications, activities on any of these, and documents. The order comes
-- from the references; each source id's Tracker id is kept in the state store, so a run that
-- stops can be run again, and a run of a finished import makes nothing.
--
--   trk run import_firm.lua $(cat firm/grants) -- firm        # the plan: counts and samples
--   trk run import_firm.lua $(cat firm/grants) --apply -- firm
--
-- Rows that cannot be imported go to firm/failed/<type>.csv, with an `error` column.
local tracker = require "tracker"
local migrate = require "tracker.migrate"

local dir = arg[1]
if not dir then error("usage: trk run import_firm.lua --input ... --output ... -- DIR", 0) end

local t = tracker.connect()
local sum = migrate.linked(t, {
  dir = dir,
  failures = dir .. "/failed",
  clients = { file = "clients.csv", id = "id",
              header = { ClientID = "id", Company = "name", Phone = "phone", Website = "website" } },
  contacts = { file = "contacts.csv", id = "id", refs = { client = "clients" },
               header = { ContactID = "id", ClientID = "client", ["First Name"] = "first_name",
                          ["Last Name"] = "last_name", Email = "email", Title = "job_title" } },
  jobs = { file = "jobs.csv", id = "id", refs = { client = "clients", contact = "contacts" },
           header = { JobID = "id", ClientID = "client", ContactID = "contact", Title = "title",
                      ["Pay Rate"] = "pay_rate" } },
  candidates = { file = "candidates.csv", id = "id",
                 header = { CandidateID = "id", ["First Name"] = "first_name",
                            ["Last Name"] = "last_name", Email = "email", Mobile = "phone",
                            City = "town" } },
  applications = { file = "applications.csv", id = "id",
                   refs = { candidate = "candidates", job = "jobs" },
                   header = { ApplicationID = "id", CandidateID = "candidate", JobID = "job" } },
  -- an activity names the type of its record in `On` and the record's id in `RecordID`
  activities = { file = "activities.csv", id = "id", refs = { on = { type = "on_type" } },
                 header = { ActivityID = "id", On = "on_type", RecordID = "on", Type = "type",
                            Subject = "subject", Notes = "note" } },
  documents = { file = "documents.csv", id = "id", folder = dir .. "/files",
                refs = { on = { type = "on_type" } },
                header = { DocumentID = "id", On = "on_type", RecordID = "on", File = "file",
                           Type = "type" } },
})
print(sum)
if sum.failed > 0 then
  error(("%d rows failed: see %s/failed/"):format(sum.failed, dir), 0)
end
