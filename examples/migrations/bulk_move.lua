-- bulk_move.lua: moves a list of applications to one stage. The ids come from a CSV with an
-- `id` column, or from the command line separated by commas. Applications already in the stage
-- are left alone; with a FROM stage, only applications in that stage move, and the others are
-- reported.
--
--   trk run bulk_move.lua --input ids.csv --output failed.csv -- ids.csv Interview failed.csv
--   trk run bulk_move.lua -- 70005,70012,70019 Interview - Screening
--
-- Arguments: IDS STAGE [FAILED.csv or -] [FROM]. Add --apply to send the moves.
local tracker = require "tracker"
local migrate = require "tracker.migrate"

local ids, stage, failures, from = arg[1], arg[2], arg[3], arg[4]
if not (ids and stage) then
  error("usage: trk run bulk_move.lua [--input IDS.csv] -- IDS.csv|ID,ID,... STAGE [FAILED.csv|-] [FROM]", 0)
end
if failures == "-" then failures = nil end

-- a file of ids, or the ids themselves
local items
if ids:match("^[%d,%s]+$") then
  items = {}
  for id in ids:gmatch("%d+") do items[#items + 1] = id end
else
  items = migrate.csv(ids, { required = { "id" } })
end

local t = tracker.connect()
local failed <close> = failures and migrate.failures(failures, items.header or { "id" })
local sum = migrate.move_applications(t, items, stage, { from = from, failures = failed })

print(sum)
if not failed then
  for _, e in ipairs(sum.errors or {}) do log.warn(("%s: %s"):format(e.id, e.error)) end
end
