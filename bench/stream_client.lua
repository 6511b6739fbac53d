-- The trk side of the streaming benchmarks (bench/stream.sh), run by `trk run` with TRACKER_*
-- pointing at an emulator.
-- usage: trk run bench/stream_client.lua -- MODE PAGE_SIZE WORK_MS [LOOPS_PER_MS]
--   MODE stream       for r in t:candidates{} (keyset pages; the next page is fetched while
--                     the script works on this one)
--   MODE sequential   BASELINE for the latency benchmark: the same records, each page asked
--                     for with t:request only after the previous page's records were worked
--                     on (fetch, then work, one after the other)
--   MODE calibrate    prints "LOOPS N": the loop count of 1 ms of work here, for the shell to
--                     pass both modes as LOOPS_PER_MS, so that they do the same work
-- Every record's id, name, email and last-updated time are read (the same fields as
-- bench/baseline_floor.lua and bench/baseline_python.py read). On stderr, for the shell's
-- clock: "BENCH start" before the first request of the stream, "BENCH end N CHECK" after the
-- last record (CHECK: the sum of the ids plus the fields present, the same in all clients).
local tracker = require "tracker"
local mode, page, work_ms = arg[1] or "stream", math.tointeger(tonumber(arg[2] or "500")),
                            tonumber(arg[3] or "0")

-- About work_ms of pure computation a record: a loop calibrated against os.clock (here, or
-- once for both modes: LOOPS_PER_MS), so that the work itself makes no system call.
local function calibrate()
  local n, loops, t0 = 0, 0, os.clock()
  repeat
    for i = 1, 10000 do n = n + i % 7 end
    loops = loops + 10000
  until os.clock() - t0 >= 0.5
  return loops / 500
end
if mode == "calibrate" then
  print(("LOOPS %d"):format(math.floor(calibrate())))
  return
end
local loops = 0
if work_ms > 0 then
  loops = math.floor((tonumber(arg[4]) or calibrate()) * work_ms)
end
local sink = 0
local function work()
  local n = 0
  for i = 1, loops do n = n + i % 7 end
  sink = sink + n
end

local t = tracker.connect({ rate_limit = false, page_size = page })
t:stages()                       -- metadata first, outside the timing
local n, check = 0, 0

if mode == "stream" then
  log.info("BENCH start")
  for r in t:candidates{} do
    n = n + 1
    check = check + r.id + (r.name and 1 or 0) + (r.email and 1 or 0) + (r.updated_at and 1 or 0)
    if loops > 0 then work() end
  end
elseif mode == "sequential" then
  log.info("BENCH start")
  local pagenum = 0
  while true do
    local doc = assert(t:request{ api = "widget", path = "getRecords", body = { instructions = {
      recordtype = "R", numrecords = page, pagenum = pagenum, sortfield = "lastupdateddatetime",
      sortdir = "asc", includecustomfields = true } } })
    for _, item in ipairs(doc.results) do
      n = n + 1
      local d = item.details or {}
      check = check + item.id + (item.name and 1 or 0) + (d.email and 1 or 0)
                    + (item.lastupdateddatetime and 1 or 0)
      work()
    end
    if #doc.results < page then break end
    pagenum = pagenum + 1
  end
else
  error("unknown mode " .. mode)
end
log.info(("BENCH end %d %d"):format(n, check))
t:close()
