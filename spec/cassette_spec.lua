-- Cassettes: `--record DIR` saves every HTTP exchange of a trk command (credentials always out,
-- personal data faked by default), `trk emulator --replay DIR` and testing.replay serve it, so
-- that a user's run is seen again offline, exactly (docs/troubleshooting.md).
local trk = require "support.trk"
local server = require "support.server"
local secrets = require "support.secrets"
local json = require "json"

local q = trk.quote
local SINCE = "2000-01-01T00:00:00Z"
local DATA = { "--generate", "30", "--seed", "3", "--admin", "--dialect", "rich" }

-- Jobs to raise to High priority: a plan whose rows name jobs (titles), no person.
local PRIORITY = [[
return {
  name = "priority",
  on = "jobs",
  when = function(job) return job.custom["Hiring Priority"] ~= "High" end,
  action = function(job, t) assert(t:set_custom_fields(job, { ["Hiring Priority"] = "High" })) end,
}
]]

-- Applications at Screening get a score: a plan whose rows name candidates.
local SCORE = [[
return {
  name = "score",
  on = "applications",
  where = { stage = "Screening" },
  when = function(app) return app.custom["Recruiter Score"] ~= 42 end,
  action = function(app, t) assert(t:set_custom_fields(app, { ["Recruiter Score"] = 42 })) end,
}
]]

local function rules(srv, dir, ...)
  return trk.exec({ "rules", dir, "--since", SINCE, ... }, { env = server.client_env(srv) })
end

local function plan_of(path)
  local out = {}
  for line in io.lines(path) do out[#out + 1] = json.decode(line) end
  return out
end

-- A rules directory and a cassette of its dry run against a fresh emulator: { dir, cassette
-- (the directory), text (the cassette's), first (the run), plan (its --plan), state (the
-- emulator's database) }. The emulator is stopped.
local function recorded(rule, ...)
  local dir = trk.dir_with({ ["rule.lua"] = rule })
  local rec = { dir = dir, cassette = dir .. "/../cassette", plan = dir .. "/../plan1.jsonl" }
  local srv = server.start(DATA)
  rec.state = server.state(srv)
  rec.first = rules(srv, dir, "--record", rec.cassette, "--plan", rec.plan, ...)
  assert.are.equal(0, rec.first.code, rec.first.stderr)
  server.stop(srv)
  rec.text = trk.slurp(rec.cassette .. "/cassette.jsonl")
  return rec
end

-- Every person's full name and email in an emulator's database.
local function people(state)
  local names, emails = {}, {}
  for _, kind in ipairs({ "candidates", "contacts", "users" }) do
    for _, p in ipairs(state[kind] or {}) do
      if p.firstname and p.lastname then names[#names + 1] = p.firstname .. " " .. p.lastname end
      if type(p.email) == "string" and p.email ~= "" then emails[#emails + 1] = p.email end
    end
  end
  return names, emails
end

local function found(text, list)
  for _, s in ipairs(list) do
    if text:find(s, 1, true) then return s end
  end
end

describe("cassettes", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("replay a trk rules dry run with the emulator stopped: the same plan table and --plan",
     function()
    local rec = recorded(PRIORITY)
    local replay = server.start({ "--replay", rec.cassette })
    local again = rules(replay, rec.dir, "--plan", rec.dir .. "/../plan2.jsonl")
    assert.are.equal(0, again.code, again.stderr)
    assert.truthy(rec.first.stdout:find("set_custom_fields", 1, true))
    assert.are.equal(rec.first.stdout, again.stdout)
    local p1, p2 = plan_of(rec.plan), plan_of(rec.dir .. "/../plan2.jsonl")
    assert.is_true(#p1 > 0)
    assert.are.same(p1, p2)
  end)

  it("hold no credential, and by default no email or name from the data", function()
    local rec = recorded(SCORE)
    assert.is_nil(secrets.find(rec.text))
    assert.truthy(rec.text:find('"apikey":"[apikey]"', 1, true))
    assert.truthy(rec.text:find('"authorization":"[redacted]"', 1, true))
    local names, emails = people(rec.state)
    assert.is_true(#names >= 30 and #emails >= 30, #names .. " names, " .. #emails .. " emails")
    assert.is_nil(found(rec.text, emails))
    assert.is_nil(found(rec.text, names))
    assert.truthy(rec.text:find("@example.invalid", 1, true))      -- the fakes
    assert.are.equal("redacted", json.decode(rec.text:match("^[^\n]+")).personal)
  end)

  it("keep names and emails with --no-redact-personal, and replay them", function()
    local rec = recorded(SCORE, "--no-redact-personal")
    assert.is_nil(secrets.find(rec.text))
    local names, emails = people(rec.state)
    assert.truthy(found(rec.text, names))
    assert.truthy(found(rec.text, emails))
    assert.are.equal("kept", json.decode(rec.text:match("^[^\n]+")).personal)
    local replay = server.start({ "--replay", rec.cassette })
    local again = rules(replay, rec.dir)
    assert.are.equal(0, again.code, again.stderr)
    assert.truthy(found(again.stdout, names))
    assert.are.equal(rec.first.stdout, again.stdout)
  end)

  it("answer an unrecorded request 599, naming it and the closest recorded one", function()
    local rec = recorded(PRIORITY)
    local replay = server.start({ "--replay", rec.cassette })
    local p = io.popen(server.PLAIN .. "curl -s -w '\\n%{http_code}' -X POST -d "
                       .. q('{"trackerrms":{"getRecords":{"instructions":{"recordtype":"Q"}}}}')
                       .. " " .. q(replay.url .. "/api/widget/getRecords"))
    local out = p:read("a")
    p:close()
    local body, status = out:match("^(.*)\n(%d+)$")
    assert.are.equal("599", status)
    local doc = json.decode(body)
    assert.are.equal("POST", doc.request.method)
    assert.are.equal("/api/widget/getRecords", doc.request.target)
    assert.truthy(doc.detail:find("no recorded answer for POST /api/widget/getRecords", 1, true))
    assert.are.equal("/api/widget/getRecords", doc.closest.target:match("^[^?]*"))
  end)

  it("refuse --replay with options that shape a database", function()
    local r = trk.exec({ "emulator", "--replay", "x", "--generate", "5" })
    assert.are.equal(2, r.code)
    assert.truthy(r.stderr:find("--generate cannot be used with it", 1, true))
    r = trk.exec({ "emulator", "--replay", trk.tmpdir(), "--port", "0" })
    assert.are.equal(2, r.code)
    assert.truthy(r.stderr:find("cassette.jsonl", 1, true))
  end)

  it("run a rule's busted spec against a cassette with testing.replay", function()
    local rec = recorded(PRIORITY)
    local testing = require "tracker.testing"
    local t = testing.replay(rec.cassette)
    local rule = testing.load_rule(rec.dir .. "/rule.lua")
    local actions = testing.run_rule(rule, t, { since = SINCE })
    local plan = plan_of(rec.plan)
    assert.are.equal(#plan, #actions)
    for i, a in ipairs(actions) do
      assert.are.equal(plan[i].target.id, a.target.id)
      assert.are.same(plan[i].payload, a.payload)
    end
    -- what the replay did not serve: only what trk's own reader client asked (the metadata,
    -- and each planned job's values before, for the plan's old -> new)
    for _, ex in ipairs(testing.emulator_of(t):unplayed()) do
      local call = ex.request.body.trackerrms
      assert.truthy(call.getSettingsData or call.getRecords.instructions.recordid, ex.line)
    end
  end)

  it("cannot be turned off, changed or written to by the script", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    local r = trk.run([[
      local t = require("tracker").connect()
      print("require", (pcall(require, "trk.record")))
      print("redact", tostring(require("tracker").redact_exchange))
      print("transport", tostring(require("tracker").transport))
      print("debug", tostring(debug))
      print("connect", (pcall(require("tracker").connect, { record = false })))
      print("create", (pcall(files.create, "cassette/cassette.jsonl")))
      assert(t:job(1001))
    ]], { "--record", dir .. "/cassette" }, nil, nil, server.client_env(srv))
    assert.are.equal(0, r.code, r.stderr)
    for _, line in ipairs({ "require\tfalse", "redact\tnil", "transport\tnil", "debug\tnil",
                            "connect\tfalse", "create\tfalse" }) do
      assert.truthy(r.stdout:find(line, 1, true), line .. " in:\n" .. r.stdout)
    end
    local text = trk.slurp(dir .. "/cassette/cassette.jsonl")
    assert.truthy(text:find('"recordid":1001', 1, true))
  end)

  it("is refused with --no-redact-personal alone, or with both redaction flags", function()
    local r = trk.run("print(1)", { "--no-redact-personal" })
    assert.are.equal(1, r.code)
    assert.truthy(r.stderr:find("--no-redact-personal goes with --record DIR", 1, true))
    r = trk.run("print(1)", { "--record", trk.tmpdir(), "--redact-personal",
                              "--no-redact-personal" })
    assert.truthy(r.stderr:find("cannot be used together", 1, true))
  end)
end)
