-- First contact with a Tracker that answers only what the evidence shows (tracker-api.md §9),
-- and with one that sends the richer shapes trk first inferred: the real trk against
-- `trk emulator --dialect NAME` over HTTP.
--
-- The property: while an incremental `trk rules --apply` run reads candidates and applications,
-- its own rule changes other records at random (updates, creates, stage moves), some behind the
-- stream and some ahead of it. Every record's last state is then seen by the rule exactly once,
-- in this run or the next, and no state twice; a third run sees nothing.
local trk = require "support.trk"
local server = require "support.server"

local SINCE = "2000-01-01T00:00:00Z"                    -- before every generated record
local CANDIDATES, APPLICATIONS = 40, 60                  -- what --generate 40 makes

-- The rule (one on candidates, one on applications): prints each state it is given ("seen KIND
-- ID STATE"); with MUTATE, most records also make a change elsewhere, chosen by a hash of the
-- record and SEED: a candidate's job title, a new candidate, an application's stage.
local RULE = [[
local MUTATE, SEED, ON = %s, %d, %q
local FIRST_CAND, FIRST_APP, NCAND, NAPP = %d, %d, %d, %d
local STAGES = { "Applied", "Screening", "Interview", "Offer", "Rejected" }

local function hash(n)
  return (n * 2654435761 + SEED * 40503) %% 2147483647
end

local function mutate(id, t, ctx)
  local h = hash(id)
  ctx.state.k = (ctx.state.k or 0) + 1
  local k = ON .. ctx.state.k
  if h %% 3 == 0 then
    assert(t:update_candidate(FIRST_CAND + h %% NCAND, { job_title = ("v-%%d-%%s"):format(SEED, k) }))
  elseif h %% 7 == 1 then
    assert(t:create_candidate{ first_name = "New", last_name = "Person " .. k,
                               email = ("new.%%d.%%s@example.org"):format(SEED, k),
                               job_title = ("new-%%d-%%s"):format(SEED, k) })
  elseif h %% 5 == 2 then
    assert(t:move_to_stage(FIRST_APP + h %% NAPP, STAGES[h %% #STAGES + 1]))
  end
end

return {
  name = "watch-" .. ON, on = ON,
  action = function(r, t, ctx)
    print(("seen %%s %%d %%s"):format(r.kind, r.id,
                                   tostring(r.kind == "candidate" and r.job_title or r.stage)))
    if MUTATE then mutate(r.id + (r.kind == "application" and 17 or 0), t, ctx) end
  end,
}
]]

-- The rule files: one for candidates, one for applications.
local function rule_files(mutate, seed)
  local files = {}
  for _, on in ipairs({ "candidates", "applications" }) do
    files["watch_" .. on .. ".lua"] = RULE:format(tostring(mutate), seed, on, 188001, 70001,
                                                  CANDIDATES, APPLICATIONS)
  end
  return files
end

local function rules(srv, dir, ...)
  return trk.exec({ "rules", dir, ... }, { env = server.client_env(srv) })
end

-- "KIND ID STATE" -> times seen, from a run's output.
local function seen(r, into)
  for line in (r.stdout .. "\n" .. r.stderr):gmatch("[^\n]+") do
    local kind, id, st = line:match("seen (%a+) (%d+) (.*)$")
    if kind then
      local key = kind .. " " .. id .. " " .. st
      into[key] = (into[key] or 0) + 1
    end
  end
  return into
end

-- Every record's last state, as the emulator holds it: the keys `seen` must hold once each.
local function last_states(srv)
  local doc = server.state(srv)
  local names = {}
  for _, s in ipairs(doc.lists.opportunityResourceStatuses) do names[s.id] = s.name end
  local out = {}
  for _, c in ipairs(doc.candidates) do
    out[#out + 1] = ("candidate %d %s"):format(c.id, tostring(c.jobtitle))
  end
  for _, a in ipairs(doc.applications) do
    out[#out + 1] = ("application %d %s"):format(a.id, tostring(names[a.statusid]))
  end
  return out, #doc.candidates, #doc.applications
end

for _, dialect in ipairs({ "evidence", "rich" }) do
  describe("trk rules against the " .. dialect .. " dialect", function()
    teardown(server.stop_all)

    for _, seed in ipairs({ 3, 11 }) do
      it(("sees every record's last state exactly once while its own writes change them (seed %d)")
         :format(seed), function()
        local srv = server.start({ "--generate", tostring(CANDIDATES), "--seed", tostring(seed),
                                   "--admin", "--dialect", dialect })
        local dir = trk.dir_with(rule_files(true, seed))
        local _, cands0 = last_states(srv)
        assert.are.equal(CANDIDATES, cands0)

        local counts = {}
        local r1 = rules(srv, dir, "--since", SINCE, "--apply")
        assert.are.equal(0, r1.code, r1.stderr)
        seen(r1, counts)
        local states, cands1 = last_states(srv)
        assert.is_true(cands1 > cands0, "the run created no candidate: the property is weaker")

        -- the next run, with the same rules (the same checkpoints and handled changes), changes
        -- nothing itself
        for name, text in pairs(rule_files(false, seed)) do trk.write(dir .. "/" .. name, text) end
        local r2 = rules(srv, dir, "--apply")
        assert.are.equal(0, r2.code, r2.stderr)
        seen(r2, counts)

        local missing, twice = {}, {}
        for _, key in ipairs(states) do
          if not counts[key] then missing[#missing + 1] = key end
        end
        for key, n in pairs(counts) do
          if n > 1 then twice[#twice + 1] = key .. " x" .. n end
        end
        assert.are.same({}, missing, "last states never seen")
        assert.are.same({}, twice, "states seen more than once")
        -- some states were seen only in the second run: changes behind the first run's stream
        assert.is_true(next(seen(r2, {})) ~= nil, "the second run saw nothing: no change was behind the stream")

        local r3 = rules(srv, dir, "--apply")
        assert.are.equal(0, r3.code, r3.stderr)
        assert.are.same({}, seen(r3, {}), "a third run saw states again")
        server.stop(srv)
      end)
    end
  end)
end

describe("trk run --verbose against the evidence dialect", function()
  teardown(server.stop_all)

  it("says what the client learnt of the server: its page caps and search route", function()
    local srv = server.start({ "--generate", "250", "--dialect", "evidence", "--admin" })
    local r = trk.run([[
      local t = require("tracker").connect()
      local n = 0
      for _ in t:candidates() do n = n + 1 end
      for _ in t:applications{ page_size = 50 } do n = n + 1 end
      print(n)
    ]], { "--verbose" }, nil, nil, server.client_env(srv))
    assert.are.equal(0, r.code, r.stderr)
    local doc = server.state(srv)
    assert.are.equal(#doc.candidates + #doc.applications, tonumber(r.stdout:match("%d+")))
    assert.matches("trk: the server's page caps: widget 100, REST 10; application search: Search; "
                   .. "applications read one by one for their custom fields: " .. #doc.applications,
                   r.stderr)
    server.stop(srv)
  end)
end)

-- The client alone, in process, against the evidence dialect.
describe("the client against the evidence dialect", function()
  local tracker = require "tracker"
  local emulator = require "tracker.emulator"
  local KEY, USER, TOKEN = server.secrets.apikey, server.secrets.username, server.secrets.api_token

  local function connect(data, opts, dialect, wrap)
    local emu = emulator.new({ apikey = KEY, username = USER, api_token = TOKEN, data = data,
                               dialect = dialect })
    local o = { transport = wrap and wrap(emu) or emu, rate_limit = false, timezone = "UTC" }
    for k, v in pairs(opts or {}) do o[k] = v end
    return tracker.connect(o), emu
  end

  it("streams every record through a page cap below the size asked, and says what the cap is", function()
    local data = emulator.generate({ seed = 5, candidates = 230 })
    local t = connect(data, { page_size = 500 })
    local ids = {}
    for c in t:candidates() do
      assert.is_nil(ids[c.id], "candidate " .. c.id .. " twice")
      ids[c.id] = true
    end
    local n = 0
    for _ in pairs(ids) do n = n + 1 end
    assert.are.equal(#data.candidates, n)
    assert.are.equal(100, t:stats().page_caps.widget)       -- the dialect's cap, learnt
    local apps = 0
    for _ in t:applications() do apps = apps + 1 end
    assert.are.equal(#data.applications, apps)
    assert.are.equal(10, t:stats().page_caps.rest)          -- /Search: 10 a page
    assert.are.equal("Search", t:stats().search_route)
  end)

  it("learns the stages from the applications when neither the settings nor the configuration name them", function()
    local t = connect(emulator.generate({ seed = 5, candidates = 30 }))
    assert.are.same({}, t:stages())
    assert.are.equal("seen", t:metadata().stage_source)
    local _, e = t:stage("Interview")
    assert.are.equal("not_found", e.code)
    assert.matches("looked in the applications read so far: 0 stages known", e.message)
    assert.matches("TRACKER_STAGES", e.message)
    local app
    for a in t:applications() do
      if a.stage ~= "Interview" then app = app or a end
    end
    local known = t:stages()
    assert.is_true(#known > 0)
    local interview = t:stage("interview")
    assert.is_truthy(interview, "no application showed Interview")
    assert.is_true(t:move_to_stage(app, "Interview"))
    assert.are.equal("Interview", assert(t:application(app.id)).stage)
    -- a stage no application has shown: every source is named
    local ok, msg = pcall(t.move_to_stage, t, app, "Hired Elsewhere")
    assert.is_false(ok)
    assert.matches("looked in the applications read so far: %d+ stages known", msg)
  end)

  it("takes the configured stages, and a move names the configuration when one is missing", function()
    local t = connect(nil, { stages = { Applied = 1, Interview = 5 } })
    assert.are.equal("configuration", t:metadata().stage_source)
    assert.are.same({ { id = 1, name = "Applied" }, { id = 5, name = "Interview" } }, t:stages())
    local _, e = t:stage("Offer")
    assert.matches("looked in the configuration %('stages' or TRACKER_STAGES%) and the "
                   .. "applications read so far", e.message)
  end)

  it("reads a new application back when the answer has no recordId, far down the search's pages", function()
    local data = emulator.generate({ seed = 9, candidates = 60 })
    local t, emu = connect(data)
    local job, cand = data.jobs[1].id, nil
    local taken = {}
    for _, a in ipairs(data.applications) do taken[a.opportunityid .. ":" .. a.resourceid] = true end
    for _, c in ipairs(data.candidates) do
      if not taken[job .. ":" .. c.id] then cand = c.id break end
    end
    assert(t:metadata())
    local before = emu.requests
    local app = assert(t:create_application({ candidate = cand, job = job }))
    assert.is_true(app.created)
    assert.is_true(app.read_back)
    assert.are.equal(cand, app.candidate_id)
    assert.are.equal(job, app.job_id)
    local newest = 0
    for _, a in ipairs(emu:state().applications) do newest = math.max(newest, a.id) end
    assert.are.equal(newest, app.id)
    -- the write, the JWT, PagedSearch's 404 (the route is learnt once), the first Search page
    -- (the total), the last, then the application itself (its custom fields): not the pages
    -- between
    assert.is_true(emu.requests - before <= 6, "read back with " .. (emu.requests - before) .. " requests")
    -- the same pair again: a conflict naming the application that exists
    local none, e = t:create_application({ candidate = cand, job = job })
    assert.is_nil(none)
    assert.are.equal("conflict", e.code)
    assert.are.equal(app.id, e.existing.id)
  end)

  it("reads again from the first page when records leave a filter the server applied", function()
    -- rich: PagedSearch applies the stage filter, so each move shifts the rest one place earlier
    local t, emu = connect(emulator.generate({ seed = 5, candidates = 60 }), nil, "rich")
    local before = 0
    for _, a in ipairs(emu:state().applications) do
      if a.statusid == 1 then before = before + 1 end
    end
    assert.is_true(before > 10)
    local moved = 0
    for a in t:applications{ stage = "Applied", page_size = 5 } do
      assert.is_true(t:move_to_stage(a, "Screening"))
      moved = moved + 1
    end
    assert.are.equal(before, moved)
    assert.is_true(t:stats().rescans >= 1)
    for _, a in ipairs(emu:state().applications) do assert.are_not.equal(1, a.statusid) end
  end)

  it("counts the rows it read against the total, whatever page size the answer reports", function()
    -- a server that echoes the size asked for while it sends 10 rows a page
    local json = require "json"
    local function echo(emu)
      return setmetatable({ handle = function(_, method, path, headers, body)
        local status, h, answer = emu:handle(method, path, headers, body)
        if path:find("/Search", 1, true) and status == 200 then
          local doc = json.decode(answer)
          doc.pageSize = json.decode(body).pageSize
          answer = json.encode(doc)
        end
        return status, h, answer
      end }, { __index = emu })
    end
    local data = emulator.generate({ seed = 9, candidates = 60 })
    local t = connect(data, nil, nil, echo)
    local n = 0
    for _ in t:applications() do n = n + 1 end
    assert.are.equal(#data.applications, n)
    local taken, job, cand = {}, data.jobs[1].id, nil
    for _, a in ipairs(data.applications) do taken[a.opportunityid .. ":" .. a.resourceid] = true end
    for _, c in ipairs(data.candidates) do
      if not taken[job .. ":" .. c.id] then cand = c.id break end
    end
    local app = assert(t:create_application({ candidate = cand, job = job }))
    assert.is_true(app.read_back)
  end)

  it("says whether the server windowed a stream once it knows, and nil before", function()
    local t = connect(emulator.generate({ seed = 5, candidates = 20 }))
    local _, st = t:applications()
    assert.is_nil(st:windowed())
    assert(st:next())
    assert.is_false(st:windowed())
    st:close()
    local _, jobs = t:jobs()
    assert(jobs:next())
    assert.is_true(jobs:windowed())
    local bad = tracker.connect({ transport = emulator.new({ apikey = KEY, username = USER }),
                                  apikey = "wrong-key-000000", username = USER, rate_limit = false,
                                  timezone = "UTC" })
    local _, failed = bad:candidates()
    assert.is_nil(failed:next())
    assert.is_nil(failed:windowed())
  end)
end)
