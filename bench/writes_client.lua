-- The client side of bench/writes.sh, run by `trk run` against a `trk emulator` over HTTP.
-- usage: trk run bench/writes_client.lua -- MODE AMOUNT URL [BUDGET]
--   MODE budget   rate_limit = BUDGET (requests a minute; default: the client's default);
--                 writes for AMOUNT seconds
--   MODE free     rate_limit = false; AMOUNT writes
-- The writes alternate t:move_to_stage(app, stage) and t:add_note(app, text) over applications
-- read once beforehand (those reads, and the metadata, come before the timed part).
--
-- Scripts have no wall clock finer than os.time(), so the timing is the shell's: the client
-- reports on stderr (log.info is unbuffered), and bench/writes.sh stamps each line as it
-- arrives:
--   info: start REQUESTS RETRIES                   just before the first timed write
--   info: end WRITES FAILED REQUESTS RETRIES CODES just after the last one (REQUESTS and
--                                                  RETRIES: t:stats() deltas over the writes;
--                                                  CODES: err.code=count,... of failed writes)
local tracker = require "tracker"
local mode, amount, url, budget = arg[1], tonumber(arg[2]), arg[3], math.tointeger(tonumber(arg[4] or ""))
assert((mode == "budget" or mode == "free") and amount and amount > 0 and url,
       "usage: writes_client.lua budget|free AMOUNT URL")

local opts = { widget_url = url, rest_url = url, apikey = "demo-key",
               username = "demo@example.com", api_token = "demo-token" }
if mode == "free" then opts.rate_limit = false end     -- budget: BUDGET, or the default
if mode == "budget" and budget then opts.rate_limit = budget end
local t = tracker.connect(opts)

-- ---- reads, untimed -----------------------------------------------------------------------
local stages = t:stages()
assert(#stages >= 2, "need at least two stages")
t:metadata()
-- Enough applications for one move and one note each (the pairs then repeat, moving on to
-- another stage), but no more: in budget mode every read spends the same budget.
local want = mode == "free" and math.ceil(amount / 2)
             or math.ceil(amount * (budget or 100) / 60 / 2) + 5
local apps = {}
for a in t:applications{ page_size = math.min(want, 500) } do
  apps[#apps + 1] = { rec = a, stage = a.stage_id }
  if #apps >= want then break end
end
assert(#apps > 0, "the emulator has no applications")

-- The next stage for an application: the one after its current stage, so each move changes it.
local function next_stage(e)
  for i, s in ipairs(stages) do
    if s.id == e.stage then return stages[i % #stages + 1] end
  end
  return stages[1]
end

-- ---- writes, timed by the shell -----------------------------------------------------------
local failed, codes = 0, {}
local function check(ok, err)
  if ok then return true end
  failed = failed + 1
  local code = tracker.is_error(err) and err.code or tostring(err)
  codes[code] = (codes[code] or 0) + 1
  return false
end

local s0 = t:stats()
log.info(("start %d %d"):format(s0.requests, s0.retries))
local t0 = os.time()
local i = 0
while true do
  if mode == "free" then
    if i >= amount then break end
  elseif os.time() - t0 >= amount then
    break
  end
  local e = apps[(i // 2) % #apps + 1]
  if i % 2 == 0 then
    local s = next_stage(e)
    if check(t:move_to_stage(e.rec, s.id)) then e.stage = s.id end
  else
    check(t:add_note(e.rec, ("bench note %d"):format(i), { subject = "bench" }))
  end
  i = i + 1
end
local s1 = t:stats()
local list = {}
for code, n in pairs(codes) do list[#list + 1] = code .. "=" .. n end
table.sort(list)
log.info(("end %d %d %d %d %s"):format(i - failed, failed, s1.requests - s0.requests,
                                       s1.retries - s0.retries,
                                       #list > 0 and table.concat(list, ",") or "-"))
t:close()
