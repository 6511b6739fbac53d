-- The client side of bench/stream.sh, run by `trk run` with TRACKER_* pointing at an emulator.
-- usage: trk run bench/stream_client.lua -- MODE PAGE_SIZE WORK_MS [URL KEY USER]
--   MODE stream       for c in t:candidates{} (keyset pages, next page fetched during the work)
--   MODE sequential   the same pages fetched one after another, each worked on before the next
--                     is asked for: the baseline (needs URL KEY USER: scripts have no getenv)
-- Prints the number of records; bench/stream.sh times the process.
local tracker = require "tracker"
local mode, page, work_ms = arg[1] or "stream", math.tointeger(tonumber(arg[2] or "500")),
                            tonumber(arg[3] or "0")

-- About work_ms of pure computation per record: a loop calibrated once against os.clock,
-- so that the work itself makes no system calls.
local loops = 0
if work_ms > 0 then
  local n, t0 = 0, os.clock()
  repeat
    for i = 1, 10000 do n = n + i % 7 end
    loops = loops + 10000
  until os.clock() - t0 >= 0.2
  loops = math.floor(loops * work_ms / 200)
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
  for c in t:candidates{} do
    n = n + 1
    check = check + #c.name + (c.email and 1 or 0)
    work()
  end
elseif mode == "sequential" then
  -- one request, then its records, then the next request: no overlap
  local tr = tracker.transport.curl()
  local url, key, user = arg[4], arg[5], arg[6]
  local pagenum = 0
  while true do
    local body = json.encode({ trackerrms = { getRecords = {
      credentials = { apikey = key, username = user },
      instructions = { recordtype = "R", numrecords = page, pagenum = pagenum, sortfield = "id",
                       includecustomfields = true } } } })
    local status, _, answer = assert(tr:request({ method = "POST", url = url .. "/api/widget/getRecords",
      headers = { ["Content-Type"] = "application/json" }, body = body }))
    assert(status == 200, status)
    local doc = json.decode(answer)
    for _, c in ipairs(doc.results) do
      n = n + 1
      check = check + #c.name + (c.details.email and 1 or 0)
      work()
    end
    if #doc.results < page then break end
    pagenum = pagenum + 1
  end
else
  error("unknown mode " .. mode)
end
assert(check > 0)
print(n)
