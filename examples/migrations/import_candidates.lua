-- import_candidates.lua: a CSV of candidates into Tracker, matched by email: new people are
-- created, people already there are updated where the file differs, and rows that cannot be
-- imported go to a failure file to fix and feed back.
--
--   trk run import_candidates.lua --input people.csv --output failed.csv -- people.csv failed.csv
--
-- That plans the writes; add --apply to send them. Then fix the rows in failed.csv and run it
-- again on them: --input failed.csv --output failed-2.csv -- failed.csv failed-2.csv
local tracker = require "tracker"
local migrate = require "tracker.migrate"

local input, failures = arg[1], arg[2]
if not input then
  error("usage: trk run import_candidates.lua --input FILE.csv [--output FAILED.csv] -- FILE.csv [FAILED.csv]", 0)
end

-- The file's columns -> candidate fields ("custom.Name" for a custom field).
local COLUMNS = {
  ["First Name"] = "first_name",
  ["Last Name"] = "last_name",
  ["Email"] = "email",
  ["Mobile"] = "phone",
  ["City"] = "town",
  ["Source"] = "source",
  ["Work Authorization"] = "custom.Work Authorization",
  ["Priority"] = "custom.Priority",
}

local t = tracker.connect()
local rows <close> = migrate.csv(input, { header = COLUMNS })
local failed <close> = failures and migrate.failures(failures, rows)
local sum = migrate.upsert_candidates(t, rows, { key = "email", failures = failed })

print(sum)
if sum.failed > 0 then
  if failed then
    print(("%d rows failed: fix them in %s and run this again on that file"):format(failed:close(), failures))
  else
    for _, e in ipairs(sum.errors) do log.warn(("line %d: %s"):format(e.line, e.error)) end
  end
end
