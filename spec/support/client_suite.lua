-- The client's behaviour, one suite run over two transports (each spec file loads this one into
-- its own environment, for busted's describe, it and assert): spec/client_inprocess_spec.lua
-- (the emulator in the same Lua state) and spec/client_http_spec.lua (`trk emulator` over
-- HTTP through curl). A backend B provides:
--   B.name, B.fake_time     (true: time is simulated, sleeps cost nothing)
--   B.start(cfg)            a fresh emulator: cfg.data, cfg.timezone, cfg.faults (emulator.new
--                           fault names), cfg.rate_limit, cfg.limits
--   B.connect(opts)         a client of it (demo credentials unless opts says otherwise)
--   B.widget(verb, instr, nodes) -> the decoded answer of a raw widget call
--   B.exchange()            a raw ExchangeToken (supersedes the client's JWT)
--   B.advance(seconds)      moves simulated time (fake_time only)
--   B.requests()            requests the emulator has served (optional)
--   B.stop()
local tracker = require "tracker"
local emulator = require "tracker.emulator"

local secrets = require "support.secrets"   -- the suite's distinctive credentials
local KEY, USER, TOKEN = secrets.apikey, secrets.username, secrets.api_token
local BIG_ID = 3000000001          -- above 2^31: ids are 64-bit integers end to end

-- The time an item showed: top-level (rich), or in its details (activities, every dialect).
local function raw_time(r)
  return r.raw.lastupdateddatetime or r.raw.details.lastupdateddatetime
end

-- A small database: 40 candidates, 4 jobs and what goes with them, plus one candidate with an
-- id above 2^31.
local function fixture()
  local d = emulator.generate({ seed = 3, jobs = 4, candidates = 40 })
  local big = {}
  for k, v in pairs(d.candidates[1]) do big[k] = v end
  big.id, big.email, big.firstname, big.lastname = BIG_ID, "big.id@example.com", "Bigid", "Person"
  big.custom = {}
  d.candidates[#d.candidates + 1] = big
  return d
end

local function collect(it, st, c, cl)
  local out = {}
  for r in it, st, c, cl do out[#out + 1] = r end
  return out
end

local function ids(list)
  local out = {}
  for i, r in ipairs(list) do out[i] = r.id end
  return out
end

local function counts(list)
  local seen = {}
  for _, r in ipairs(list) do seen[r.id] = (seen[r.id] or 0) + 1 end
  return seen
end

local assert_error = require "support.errors"

local function widget_update(B, letter, id, column, value)
  local doc = B.widget("updateRecord", { recordtype = letter, recordid = id },
                       { updates = { { column = column, value = value } } })
  assert.are.equal(0, doc.status, doc.message)
end

return function(B)
  describe("the client over " .. B.name, function()
    local data = fixture()

    describe("records", function()
      local t
      setup(function()
        B.start({ data = data, timezone = "America/Chicago" })
        t = B.connect({ timezone = "America/Chicago" })
      end)
      teardown(B.stop)

      it("streams every candidate once, normalised", function()
        local list = collect(t:candidates({ page_size = 7 }))
        assert.are.equal(#data.candidates, #list)
        for id, n in pairs(counts(list)) do assert.are.equal(1, n, "candidate " .. id) end
        local c = list[1]
        assert.are.equal("candidate", c.kind)
        assert.are.equal("integer", math.type(c.id))
        assert.is_string(c.name)
        assert.is_string(c.email)
        if B.rich then
          assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", c.updated_at)
        else
          assert.is_nil(c.updated_at)         -- no item time in this dialect (tracker-api.md §9.1)
        end
        assert.are.equal(c.id, c.raw.id)
        assert.is_table(c.custom)
      end)

      it("keeps ids above 2^31 as integers", function()
        local c = assert(t:candidate(BIG_ID))
        assert.are.equal(BIG_ID, c.id)
        assert.are.equal("integer", math.type(c.id))
        assert.are.equal("integer", math.type(c.raw.id))
        local found = false
        for r in t:candidates({}) do if r.id == BIG_ID then found = true end end
        assert.is_true(found)
      end)

      it("streams jobs, applications and activities with their links", function()
        local jobs = collect(t:jobs())
        assert.are.equal(#data.jobs, #jobs)
        assert.are.equal("job", jobs[1].kind)
        local apps = collect(t:applications({ page_size = 9 }))
        assert.are.equal(#data.applications, #apps)
        for _, a in ipairs(apps) do
          assert.are.equal("application", a.kind)
          assert.is_string(a.stage)
          assert.are.equal("integer", math.type(a.job_id))
          assert.are.equal("integer", math.type(a.candidate_id))
        end
        local acts = collect(t:activities({ page_size = 11 }))
        assert.are.equal(#data.activities, #acts)
        assert.are.equal("activity", acts[1].kind)
      end)

      it("filters applications by job, candidate and stage", function()
        local all = collect(t:applications())
        local a = all[1]
        for _, r in ipairs(collect(t:applications({ job = a.job_id }))) do
          assert.are.equal(a.job_id, r.job_id)
        end
        local mine = collect(t:applications({ candidate = a.candidate_id, stage = a.stage }))
        assert.is_true(#mine >= 1)
        for _, r in ipairs(mine) do
          assert.are.equal(a.candidate_id, r.candidate_id)
          assert.are.equal(a.stage, r.stage)
        end
        local lower = collect(t:applications({ stage = a.stage:lower() }))
        assert.are.equal(#collect(t:applications({ stage = a.stage })), #lower)
      end)

      it("filters candidates by status and name, activities by candidate", function()
        for _, r in ipairs(collect(t:candidates({ status = "Active" }))) do
          assert.are.equal("Active", r.status)
        end
        local first = collect(t:candidates())[1]
        local found = collect(t:candidates({ search = first.last_name }))
        assert.is_true(#found >= 1)
        for _, r in ipairs(found) do assert.is_truthy(r.name:find(first.last_name, 1, true)) end
        local acts = collect(t:activities())
        local cid = acts[1].candidate_id
        for _, r in ipairs(collect(t:activities({ candidate = cid }))) do
          assert.are.equal(cid, r.candidate_id)
        end
      end)

      it("resolves custom fields by name through metadata, typed", function()
        local defs = {}
        for _, f in ipairs(t:custom_fields("candidate")) do defs[f.name] = f end
        assert.is_table(defs.Score)
        local seen_value = false
        for c in t:candidates() do
          for name, v in pairs(c.custom) do
            assert.is_table(defs[name], "unknown custom field " .. name)
            assert.are_not.equal("", v)
            if defs[name].type == "Number" then assert.is_number(v) end
            seen_value = true
          end
        end
        assert.is_true(seen_value)
      end)

      it("looks up single records, and answers not_found for missing ones", function()
        local job = collect(t:jobs())[1]
        assert.are.equal(job.id, t:job(job.id).id)
        local app = collect(t:applications())[1]
        local got = assert(t:application(app.id))
        assert.are.equal(app.stage, got.stage)
        local r, e = t:job(999999)
        assert.is_nil(r)
        assert_error("not_found", e, "999999")
        r, e = t:candidate(999999)
        assert.is_nil(r)
        assert_error("not_found", e)
        r, e = t:application(999999)
        assert.is_nil(r)
        assert_error("not_found", e)
      end)

      it("finds candidates by email, any case, and by name", function()
        local c = collect(t:candidates())[5]
        local found = assert(t:find_candidates({ email = c.email:upper() }))
        assert.are.same({ c.id }, ids(found))
        found = assert(t:find_candidates({ name = c.name }))
        assert.is_true(#found >= 1)
        assert.are.same({}, assert(t:find_candidates({ email = "nobody@nowhere.example" })))
      end)

      it("answers stages, stage lookups and metadata", function()
        local stages = assert(t:stages())
        assert.is_true(#stages > 3)
        assert.are.equal(stages[2].id, t:stage(stages[2].name:upper()).id)
        assert.are.equal(stages[2].name, t:stage(stages[2].id).name)
        local st, e = t:stage("Intervew")
        assert.is_nil(st)
        assert_error("not_found", e, "did you mean 'Interview'")
        local m = assert(t:metadata())
        assert.is_table(m.users)
        m.stages[1].name = "changed by a script"
        assert.are_not.equal("changed by a script", t:stages()[1].name)
      end)

      it("loads metadata once and again on refresh", function()
        local c = B.connect({ timezone = "America/Chicago" })
        c:stages()
        c:custom_fields("job")
        c:stage("Interview")
        assert.are.equal(1, c:stats().requests)
        assert.is_true(c:refresh_metadata())
        assert.are.equal(2, c:stats().requests)
      end)

      it("returns the primary resume of a candidate", function()
        local doc
        for _, d in ipairs(data.documents) do
          if d.recordtype == "R" and d.primary and d.documenttype == "Resume" then doc = d end
        end
        local r = assert(t:resume(doc.recordid))
        assert.are.equal(doc.filename, r.filename)
        assert.are.equal(doc.contenttype, r.content_type)
        assert.is_truthy(r.data:find("%PDF", 1, true))
      end)

      it("answers nil for a candidate without a resume", function()
        local with = {}
        for _, d in ipairs(data.documents) do if d.recordtype == "R" then with[d.recordid] = true end end
        for c in t:candidates() do
          if not with[c.id] and c.id < 2 ^ 31 then
            local r, e = t:resume(c)
            assert.is_nil(r)
            assert.is_nil(e)
            return
          end
        end
        error("the fixture has no candidate without documents")
      end)

      it("says how to call a stream's iterator called without its stream", function()
        local ok, msg = pcall(function() return t:candidates{}() end)
        assert.is_false(ok)
        assert.is_truthy(msg:find("a stream's iterator needs its stream", 1, true), msg)
        assert.is_nil(msg:find("client.lua", 1, true), msg)
      end)

      it("closes streams on break, explicitly, and twice", function()
        local it, st, c, cl = t:candidates({ page_size = 5 })
        assert.are.equal(st, cl)
        for _ in it, st, c, cl do break end -- luacheck: ignore 512 (closing on break is the point)
        st:close()
        st:close()
        assert.is_nil(st:next())
        local s2 = select(2, t:jobs())
        assert.is_table(s2:next())
        s2:close()
        assert.is_nil(s2:next())
      end)

      it("pings with good credentials", function()
        assert.is_true(t:ping())
      end)
    end)

    describe("streams", function()
      local t
      before_each(function()
        B.start({ data = data, timezone = "America/Chicago" })
        t = B.connect({ timezone = "America/Chicago" })
      end)
      after_each(B.stop)

      it("neither skips nor repeats records modified while the stream runs", function()
        local before = collect(t:candidates())
        local early, late = before[3], before[#before - 2]
        local got, n = {}, 0
        local st = select(2, t:candidates({ page_size = 6 }))
        while true do
          local r, e = st:next()
          assert.is_nil(e)
          if r == nil then break end
          got[#got + 1] = r
          n = n + 1
          if n == 10 then
            -- one record already yielded, one not reached yet: both move to the end
            widget_update(B, "R", early.id, "jobtitle", "Moved Early")
            widget_update(B, "R", late.id, "jobtitle", "Moved Late")
          end
        end
        assert.are.equal(#before, #got)
        assert.are.equal(#got, st:count())
        for id, k in pairs(counts(got)) do assert.are.equal(1, k, "candidate " .. id) end
        for _, r in ipairs(got) do
          if r.id == late.id then assert.are.equal("Moved Late", r.job_title) end
        end
      end)

      it("asks for the next page before the script has the first record of this one", function()
        if not B.requests then return pending("needs the emulator's request count") end
        t:stages()
        local before = B.requests()
        local it, st, c = t:candidates({ page_size = 10 })
        assert.are.equal(before, B.requests())       -- nothing sent until the first next()
        it(st, c)
        assert.are.equal(before + 2, B.requests())   -- this page, and the next one in flight
        st:close()
      end)

      it("reads every record from a server whose page cap is below the page asked for, and says so", function()
        B.stop()
        B.start({ data = data, timezone = "America/Chicago", faults = { page_cap = 7 } })
        t = B.connect({ timezone = "America/Chicago" })
        local want_c, want_a = #data.candidates, #data.applications
        local got = collect(t:candidates({ page_size = 10 }))
        assert.are.equal(want_c, #got)
        for id, k in pairs(counts(got)) do assert.are.equal(1, k, "candidate " .. id) end
        assert.are.equal(7, t:stats().page_caps.widget)
        -- learnt: the next stream asks for 7 a page, and a page shorter than that is the end
        assert.are.equal(want_c, #collect(t:candidates()))
        local apps = collect(t:applications({ page_size = 10 }))
        assert.are.equal(want_a, #apps)
        for id, k in pairs(counts(apps)) do assert.are.equal(1, k, "application " .. id) end
      end)

      it("pages through more equal timestamps than a page holds", function()
        local apps = collect(t:applications())
        -- stamp many applications in the same second
        for i = 1, 12 do
          local doc = B.widget("updateRecord", { recordtype = "X", recordid = apps[i].id },
            { updates = { { column = "opportunityresourcestatusid", value = tostring(apps[i].stage_id) } } })
          assert.are.equal(0, doc.status, doc.message)
        end
        local got = collect(t:applications({ page_size = 4 }))
        assert.are.equal(#apps, #got)
        for id, k in pairs(counts(got)) do assert.are.equal(1, k, "application " .. id) end
      end)
    end)

    describe("time", function()
      setup(function() B.start({ data = data, timezone = "America/Chicago" }) end)
      teardown(B.stop)

      it("normalises local times to UTC and converts filters exactly", function()
        -- activities: they carry a last-updated time in every dialect (tracker-api.md §9.1)
        local t = B.connect({ timezone = "America/Chicago" })
        local list = collect(t:activities())
        table.sort(list, function(a, b) return a.updated_at < b.updated_at end)
        local c = list[#list // 2]
        local off = tracker.time.offset(tracker.time.parse(c.updated_at), "America/Chicago")
        local utc = tracker.time.parse(c.updated_at)
        assert.are.equal(tracker.time.to_local(utc, "America/Chicago"), raw_time(c))
        assert.is_true(off < 0)
        local after = collect(t:activities({ updated_after = c.updated_at }))
        local expect = 0
        for _, r in ipairs(list) do if r.updated_at >= c.updated_at then expect = expect + 1 end end
        assert.are.equal(expect, #after)
        local before = collect(t:activities({ updated_before = c.updated_at }))
        assert.are.equal(#list - expect, #before)
        -- the same instant written with an offset selects the same records
        local plus2 = tracker.time.format(utc):gsub("Z$", "")
        local h = tonumber(plus2:sub(12, 13))
        local shifted = plus2:sub(1, 11) .. string.format("%02d", (h + 2) % 24) .. plus2:sub(14) .. "+02:00"
        if (h + 2) < 24 then
          assert.are.equal(expect, #collect(t:activities({ updated_after = shifted })))
        end
      end)

      it("without a time zone keeps local times and starts filters 8 hours early", function()
        local t = B.connect({ timezone = false })
        local list = collect(t:activities())
        for _, r in ipairs(list) do
          assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d$", r.updated_at)
          assert.are.equal((raw_time(r):gsub(" ", "T")), r.updated_at)
        end
        table.sort(list, function(a, b) return a.updated_at < b.updated_at end)
        local c = list[#list // 2]
        local at = tracker.time.parse(c.updated_at .. "Z")
        local got = collect(t:activities({ updated_after = at }))
        local expect = 0
        local margin = tracker.time.to_local(at - 8 * 3600, "UTC"):gsub(" ", "T")
        for _, r in ipairs(list) do if r.updated_at >= margin then expect = expect + 1 end end
        assert.are.equal(expect, #got)
        for id, k in pairs(counts(got)) do assert.are.equal(1, k, "activity " .. id) end
      end)

      it("rejects a time without a zone, naming the option", function()
        local t = B.connect({})
        assert.has_error(function() t:candidates({ updated_after = "2026-11-01 00:00:00" }) end)
        local ok, msg = pcall(t.candidates, t, { updated_after = "yesterday" })
        assert.is_false(ok)
        assert.is_truthy(msg:find("updated_after", 1, true), msg)
      end)
    end)

    describe("errors", function()
      after_each(B.stop)

      it("answers auth for bad widget credentials, without the secret", function()
        B.start({ data = data })
        local t = B.connect({ apikey = "wrong-key-123456", username = USER })
        local ok, e = t:ping()
        assert.is_nil(ok)
        assert_error("auth", e)
        assert.is_falsy(tostring(e):find("wrong-key-123456", 1, true))
        assert.is_falsy(tostring(t):find("wrong-key-123456", 1, true))
        local ok2, raised = pcall(function() for _ in t:candidates() do end end)
        assert.is_false(ok2)
        assert_error("auth", raised)
      end)

      it("answers auth for a bad REST token, without the secret", function()
        B.start({ data = data })
        local t = B.connect({ api_token = "wrong-token-98765" })
        local r, e = t:application(70001)
        assert.is_nil(r)
        -- the token came from the script: the message names the option it came through
        assert_error("auth", e, "option 'api_token'")
        assert.is_falsy(tostring(e):find("wrong-token-98765", 1, true))
      end)

      it("answers server after retrying 5xx answers for the configured time", function()
        B.start({ data = data, faults = { errors = 1 } })
        local t = B.connect({ retry_for = B.fake_time and 60 or 1.5 })
        local r, e = t:job(1001)
        assert.is_nil(r)
        assert_error("server", e, "gave up after")
        assert.is_true(t:stats().retries >= 1)
      end)

      it("answers network when connections drop, and bad_response for broken JSON", function()
        B.start({ data = data, faults = { drop = 1 } })
        local t = B.connect({ retry_for = B.fake_time and 30 or 1 })
        local _, e = t:job(1001)
        assert_error("network", e)
        B.stop()
        B.start({ data = data, faults = { malformed = 1 } })
        t = B.connect({})
        _, e = t:job(1001)
        assert_error("bad_response", e, "not valid JSON")
        assert.are.equal(0, t:stats().retries)
      end)

      it("answers rate_limited after 429s outlast the retry time", function()
        B.start({ data = data, rate_limit = 1 })
        local t = B.connect({ rate_limit = false, retry_for = B.fake_time and 30 or 1 })
        t:stages()
        local _, e = t:job(1001)
        assert_error("rate_limited", e)
      end)

      it("raises misuse naming the function and the argument", function()
        B.start({ data = data })
        local t = B.connect({})
        local ok, msg = pcall(t.candidates, t, { stauts = "Active" })
        assert.is_false(ok)
        assert.is_truthy(msg:find("candidates: unknown option 'stauts' (did you mean 'status'?)", 1, true), msg)
        ok, msg = pcall(t.job, t, "x")
        assert.is_false(ok)
        assert.is_truthy(msg:find("job: 'argument 1' must be a positive integer id", 1, true), msg)
        ok, msg = pcall(t.applications, t, { stage = "Intervew" })
        assert.is_false(ok)
        assert.is_truthy(msg:find("did you mean 'Interview'", 1, true), msg)
        ok, msg = pcall(t.custom_fields, t, "jobs")
        assert.is_false(ok)
        assert.is_truthy(msg:find("custom_fields: argument 1", 1, true), msg)
        ok, msg = pcall(tracker.connect, { regoin = "us" })
        assert.is_false(ok)
        assert.is_truthy(msg:find("unknown option 'regoin' (did you mean 'region'?)", 1, true), msg)
        ok, msg = pcall(tracker.connect, { region = "mars" })
        assert.is_false(ok)
        assert.is_truthy(msg:find("unknown region 'mars'", 1, true), msg)
      end)

      it("raises inside for when a stream fails, and returns nil, err from next", function()
        B.start({ data = data, faults = { malformed = 1 } })
        local t = B.connect({})
        local ok, e = pcall(function() for _ in t:candidates() do end end)
        assert.is_false(ok)
        assert_error("bad_response", e)
      end)
    end)

    describe("retries", function()
      after_each(B.stop)

      it("streams everything through 5xx answers and dropped connections", function()
        B.start({ data = data, faults = { errors = 0.3, drop = 0.15, seed = 4 } })
        local t = B.connect({})
        local list = collect(t:candidates({ page_size = 10 }))
        assert.are.equal(#data.candidates, #list)
        for id, k in pairs(counts(list)) do assert.are.equal(1, k, "candidate " .. id) end
        assert.is_true(t:stats().retries >= 1)
      end)

      it("streams everything through truncated bodies", function()
        B.start({ data = data, faults = { truncate = 0.3, seed = 6 } })
        local t = B.connect({})
        local list = collect(t:applications({ page_size = 10 }))
        assert.are.equal(#data.applications, #list)
        assert.is_true(t:stats().retries >= 1)
      end)

      it("honours Retry-After on 429", function()
        if not B.fake_time then return pending("needs simulated time (Retry-After is up to 60 s)") end
        B.start({ data = data, rate_limit = 5 })
        local t = B.connect({ rate_limit = false })
        local t0 = B.clock()
        local list = collect(t:candidates({ page_size = 5 }))
        assert.are.equal(#data.candidates, #list)
        assert.is_true(t:stats().retries >= 1)
        assert.is_true(B.clock() - t0 >= 60, "waited " .. (B.clock() - t0))
      end)

      it("keeps under its own rate budget: no 429 from an emulator with the same budget", function()
        if not B.fake_time then return pending("needs simulated time (minutes of requests)") end
        B.start({ data = data, rate_limit = 100 })
        local t = B.connect({ rate_limit = 100 })
        local t0 = B.clock()
        for _ = 1, 150 do assert(t:job(1001)) end
        assert.are.equal(0, t:stats().retries)
        -- a sliding minute: 98 at once (the budget less its margin), the rest once the first
        -- are a minute old
        local minutes = (B.clock() - t0) / 60
        assert.is_true(minutes >= 1 and minutes < 1.1, "took " .. minutes .. " min")
      end)
    end)

    describe("JWT", function()
      after_each(B.stop)

      it("exchanges once and reuses the JWT", function()
        B.start({ data = data })
        local t = B.connect({})
        for _ = 1, 3 do collect(t:applications({ page_size = 20 })) end
        assert(t:application(collect(t:applications())[1].id))
        assert.are.equal(1, t:stats().exchanges)
      end)

      it("exchanges again once when another exchange supersedes its JWT", function()
        B.start({ data = data })
        local t = B.connect({})
        collect(t:applications())
        B.exchange()
        assert.are.equal(#data.applications, #collect(t:applications()))
        assert.are.equal(2, t:stats().exchanges)
      end)

      it("exchanges again when the JWT expires", function()
        if not B.fake_time then return pending("needs simulated time (a JWT lives 7 days)") end
        B.start({ data = data })
        local t = B.connect({})
        collect(t:applications())
        B.advance(8 * 86400)
        collect(t:applications())
        assert.are.equal(2, t:stats().exchanges)
      end)
    end)

    describe("secrets", function()
      after_each(B.stop)

      it("never shows credentials in tostring, errors or the client's fields", function()
        B.start({ data = data })
        local t = B.connect({})
        assert.is_nil(next(t))
        assert.are.equal("tracker.client", getmetatable(t))
        for _, s in ipairs({ tostring(t), tostring(select(2, t:job(999999))) }) do
          assert.is_falsy(s:find(KEY, 1, true))
          assert.is_falsy(s:find(TOKEN, 1, true))
        end
      end)
    end)
  end)
end
