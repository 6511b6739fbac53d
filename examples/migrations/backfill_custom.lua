-- backfill_custom.lua: sets every candidate's "Priority" custom field from their "Score":
-- 8 and up is High, 5 and up Medium, below that Low. Candidates without a score are skipped,
-- and those whose Priority is already right are left alone, so running it again writes nothing.
--
--   trk run backfill_custom.lua --output failed.csv -- failed.csv
--
-- Add --apply to send the writes. Candidates that could not be updated go to the failure file
-- (id, name and the error).
local tracker = require "tracker"
local migrate = require "tracker.migrate"

local function priority(score)
  if score >= 8 then return "High" end
  if score >= 5 then return "Medium" end
  return "Low"
end

local t = tracker.connect()
local failed <close> = arg[1] and migrate.failures(arg[1], { "id", "name" })
local sum = migrate.backfill(t, "candidates", function(c)
  local score = c.custom.Score
  if score == nil then return nil end
  return { Priority = priority(score) }
end, { failures = failed })

print(sum)
