-- The fault soak: trk streams and writes over HTTP while `trk emulator` injects 5xx answers,
-- dropped connections, bursts of 429 with Retry-After and truncated bodies. Every record is
-- yielded exactly once and every write lands exactly once, checked against the emulator's own
-- state. Scaled down in make test; TRK_SOAK=1 (make soak) runs it at full size.
--
-- Writes that end unknown_outcome (the answer was lost: the write may or may not have
-- happened) are part of the contract: the job runs through `trk run --apply`, whose journal
-- reads each one back, and is run again, as a user would, until it completes. Each run resends
-- only what did not happen.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

local SOAK = os.getenv("TRK_SOAK") == "1"
local RECORDS = SOAK and 20000 or 2000       -- candidates streamed
local WRITES = SOAK and 2000 or 200          -- writes applied (a note and one more per application)
local PAGE = SOAK and 200 or 50              -- small pages: more requests meet more faults
local MAX_RUNS = 12
local SEED = tonumber(os.getenv("TRK_SOAK_SEED") or "") or os.time() % 100000
local FAULTS = "5xx=0.1,drop=0.05,truncate=0.02,burst=0.005,burst-length=4,seed=" .. SEED

local STREAM = [[
local t = require("tracker").connect()
local out = {}
for c in t:candidates{ page_size = tonumber(arg[1]) } do out[#out + 1] = c.id end
print(table.concat(out, "\n"))
print("retries " .. t:stats().retries)
]]

-- The applications of job arg[1] with the lowest ids, arg[2] of them: a note on each, and a
-- stage move (even ids) or a custom field (odd ids); the first half one write at a time, the
-- rest in t:batch. Results are not asserted: the journal settles what failed.
local JOB = [[
local t = require("tracker").connect()
local job, want = tonumber(arg[1]), tonumber(arg[2])
local apps = {}
for app in t:applications{ job = job, page_size = 100 } do apps[#apps + 1] = app end
table.sort(apps, function(a, b) return a.id < b.id end)
assert(#apps >= want, "job " .. job .. " has " .. #apps .. " applications")
local stages = { "Screening", "Interview", "Offer" }
local function work(from, to)
  for i = from, to do
    local app = apps[i]
    t:add_note(app, "soak note " .. app.id, { subject = "Soak" })
    if app.id % 2 == 0 then
      t:move_to_stage(app, stages[app.id % 3 + 1])
    else
      t:set_custom_fields(app, { ["Recruiter Score"] = app.id % 97 })
    end
  end
end
local half = want // 2
work(1, half)
t:batch(function() work(half + 1, want) end)
]]

local STAGE_IDS = { Screening = 3, Interview = 5, Offer = 7 }

-- The job with the most applications, and the ids of its `want` lowest.
local function pick_job(state, want)
  local by_job = {}
  for _, a in ipairs(state.applications) do
    local list = by_job[a.opportunityid] or {}
    by_job[a.opportunityid] = list
    list[#list + 1] = a.id
  end
  local best, ids
  for job, list in pairs(by_job) do
    if not ids or #list > #ids or (#list == #ids and job < best) then best, ids = job, list end
  end
  table.sort(ids)
  assert(#ids >= want, "the largest job has only " .. #ids .. " applications")
  return best, table.move(ids, 1, want, 1, {})
end

local function elapsed_since(t0)
  return string.format("%.1f s", server.now() - t0)
end

describe("the emulator's burst fault", function()
  it("answers 429 with Retry-After in runs of burst_length, before processing", function()
    local emulator = require "tracker.emulator"
    local emu = emulator.new({ apikey = "k", username = "u@example.com",
                               data = emulator.generate({ seed = 1, candidates = 5 }),
                               faults = { burst = 0.2, burst_length = 3, seed = 2 } })
    local body = json.encode({ trackerrms = { createActivity = {
      credentials = { apikey = "k", username = "u@example.com" },
      activity = { linkrecordtype = "R", linkrecordid = emu:state().candidates[1].id,
                   subject = "s", note = "n" } } } })
    local runs, run, limited = {}, 0, 0
    for _ = 1, 300 do
      local status, headers = emu:handle("POST", "/api/widget/getRecords", {},
                                         '{"trackerrms":{"getRecords":{"credentials":'
                                         .. '{"apikey":"k","username":"u@example.com"},'
                                         .. '"instructions":{"recordtype":"R"}}}}')
      if status == 429 then
        assert.are.equal("1", headers["retry-after"])
        run, limited = run + 1, limited + 1
      else
        assert.are.equal(200, status)
        if run > 0 then runs[#runs + 1] = run end
        run = 0
      end
    end
    assert.is_true(#runs >= 5, "bursts: " .. #runs)
    for _, n in ipairs(runs) do assert.are.equal(0, n % 3, "a burst of " .. n) end
    -- a write met by a burst is not processed
    local before = #emu:state().activities
    emu:set_faults({ burst = 1, burst_length = 2 })
    assert.are.equal(429, (emu:handle("POST", "/api/widget/createActivity", {}, body)))
    assert.are.equal(before, #emu:state().activities)
    emu:set_faults({})
    assert.are.equal(200, (emu:handle("POST", "/api/widget/createActivity", {}, body)))
    assert.are.equal(before + 1, #emu:state().activities)   -- the same write, processed
    assert.is_true(limited > 0)
  end)
end)

describe("the fault soak (" .. FAULTS .. ")", function()
  local srv

  setup(function()
    srv = server.start({ "--generate", tostring(RECORDS), "--seed", "11", "--admin",
                         "--timezone", "UTC", "--faults", FAULTS })
  end)
  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("yields every one of " .. RECORDS .. " candidates exactly once", function()
    local t0 = server.now()
    local r = trk.run(STREAM, {}, { tostring(PAGE) }, "stream.lua", server.client_env(srv))
    assert.are.equal(0, r.code, "seed " .. SEED .. ": " .. r.stderr)
    local seen, n = {}, 0
    local retries
    for line in r.stdout:gmatch("[^\n]+") do
      local id = tonumber(line)
      if id then
        assert.is_nil(seen[id], "seed " .. SEED .. ": candidate " .. id .. " yielded twice")
        seen[id] = true
        n = n + 1
      else
        retries = tonumber(line:match("^retries (%d+)$"))
      end
    end
    local want = server.state(srv).candidates
    assert.are.equal(RECORDS, #want)
    for _, c in ipairs(want) do
      assert.is_true(seen[c.id], "seed " .. SEED .. ": candidate " .. c.id .. " never yielded")
    end
    assert.are.equal(#want, n)
    -- the faults were met: pages were retried
    assert.is_true(retries and retries > 0, "no retries: " .. tostring(retries))
    print(string.format("\nsoak stream: %d candidates in pages of %d, %d retries, %s (seed %d)",
                        n, PAGE, retries, elapsed_since(t0), SEED))
  end)

  it("applies " .. WRITES .. " writes exactly once, running the job again until it completes",
     function()
    local t0 = server.now()
    local job, ids = pick_job(server.state(srv), WRITES // 2)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", JOB)
    local argv = { "run", "job.lua", "--apply", "--", tostring(job), tostring(#ids) }
    local runs, log = 0, {}
    local code
    repeat
      runs = runs + 1
      local r = trk.exec(argv, { cwd = dir, env = server.client_env(srv) })
      code = r.code
      log[#log + 1] = string.format("run %d (exit %d): %s", runs, r.code,
                                    r.stderr:match("[%d,]+ writes:[^\n]*") or r.stderr)
      -- a run stops only on what the journal records (failed or unknown writes), never on
      -- an error of its own
      assert.is_true(r.code == 0 or r.code == 1, r.stderr)
      if r.code == 1 then
        assert.is_truthy(r.stderr:find("[%d,]+ writes:"), "seed " .. SEED .. ": " .. r.stderr)
      end
    until code == 0 or runs == MAX_RUNS
    assert.are.equal(0, code, "seed " .. SEED .. ": not complete after " .. runs .. " runs:\n"
                     .. table.concat(log, "\n"))

    -- the emulator's state: one note per application, and each one's stage or score
    local state = server.state(srv)
    local notes = {}
    for _, a in ipairs(state.activities) do
      local id = type(a.note) == "string" and tonumber(a.note:match("^soak note (%d+)$"))
      if id then notes[id] = (notes[id] or 0) + 1 end
    end
    local apps = {}
    for _, a in ipairs(state.applications) do apps[a.id] = a end
    local stages = { "Screening", "Interview", "Offer" }
    for _, id in ipairs(ids) do
      assert.are.equal(1, notes[id] or 0, "seed " .. SEED .. ": note on application " .. id)
      notes[id] = nil
      local a = apps[id]
      if id % 2 == 0 then
        assert.are.equal(STAGE_IDS[stages[id % 3 + 1]], a.statusid, "stage of " .. id)
      else
        local custom = type(a.custom) == "table" and a.custom or {}
        assert.are.equal(tostring(id % 97), tostring(custom["450"]), "score of " .. id)
      end
    end
    assert.is_nil(next(notes), "notes on applications the job did not touch")

    -- the journal: one run, complete, every write done once
    local j = trk.exec({ "journal", "--state", dir .. "/.trk/state.db", "--json" })
    local list = {}
    for l in j.stdout:gmatch("[^\n]+") do list[#list + 1] = json.decode(l) end
    assert.are.equal(1, #list)
    assert.are.equal("complete", list[1].status)
    assert.are.equal(2 * #ids, list[1].done)
    assert.are.equal(2 * #ids, list[1].actions)
    assert.are.equal(0, list[1].unsettled)
    print(string.format("\nsoak writes: %d writes in %d runs, %s (seed %d)\n%s", 2 * #ids, runs,
                        elapsed_since(t0), SEED, table.concat(log, "\n")))
  end)
end)
