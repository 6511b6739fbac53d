-- A database's schema brought home (trk schema export, trk emulator --schema,
-- testing.emulator{ schema = }), and an emulator that keeps its data (trk emulator --data DIR).
local emulator = require "tracker.emulator"
local json = require "json"
local tracker = require "tracker"
local server = require "support.server"
local trk = require "support.trk"

local q = trk.quote
local secrets = server.secrets

-- A user's database, as its export would show it: fields and stages the built-in data lacks.
local USER_SCHEMA = [[{
  "format": "trk-schema", "version": 1, "stage_source": "settings",
  "custom_fields": {
    "candidate": [
      { "id": 9101, "name": "Clearance Level", "type": "List",
        "items": [ { "id": 1, "name": "None" }, { "id": 2, "name": "Secret" },
                   { "id": 3, "name": "Top Secret" } ] },
      { "id": 9102, "name": "Years Experience", "type": "Number" },
      { "id": 9103, "name": "Relocates", "type": "Checkbox" }
    ],
    "job": [
      { "id": 9201, "name": "Shift", "type": "List",
        "items": [ { "id": 11, "name": "Day" }, { "id": 12, "name": "Night" } ] },
      { "id": 9202, "name": "Go-live", "type": "Date" }
    ],
    "application": [
      { "id": 9301, "name": "Panel Verdict", "type": "List",
        "items": [ { "id": 21, "name": "Hire" }, { "id": 22, "name": "No hire" } ] }
    ],
    "activity": []
  },
  "stages": [ { "id": 31, "name": "New Lead" }, { "id": 32, "name": "Phone Screen" },
              { "id": 33, "name": "Panel" }, { "id": 34, "name": "Offer Made" },
              { "id": 35, "name": "Declined" } ],
  "job_statuses": [ { "id": 41, "name": "Open" }, { "id": 42, "name": "Filled" } ],
  "activity_types": [ { "id": 51, "name": "Phone Call" }, { "id": 52, "name": "Note" } ],
  "users": [ { "id": 61, "name": "Rita Moreno", "active": true },
             { "id": 62, "name": "Old Account", "active": false } ]
}]]

local function write(dir, name, text)
  local path = dir .. "/" .. name
  trk.write(path, text)
  return path
end

-- A client of emulator s, as the suite's users connect (stages configured in the evidence
-- dialect, as a user of such a database names them).
local function client(s, stages)
  return tracker.connect{ widget_url = s.url, rest_url = s.url, apikey = secrets.apikey,
                          username = secrets.username, api_token = secrets.api_token,
                          timezone = "UTC", rate_limit = false, stages = stages }
end

local function stages_env(list)
  local parts = {}
  for i, st in ipairs(list) do parts[i] = st.name .. "=" .. st.id end
  return table.concat(parts, ";")
end

local function id_names(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = { id = e.id, name = e.name } end
  return out
end

-- trk schema export FILE against emulator s; FILE's document.
local function export(s, dir, env_extra)
  local env = server.client_env(s)
  for k, v in pairs(env_extra or {}) do env[k] = v end
  local r = trk.exec({ "schema", "export", "schema.json" }, { cwd = dir, env = env })
  assert.are.equal(0, r.code, r.stderr)
  return json.decode(trk.slurp(dir .. "/schema.json")), trk.slurp(dir .. "/schema.json"), r
end

describe("trk schema export and trk emulator --schema", function()
  local dir, fixture, source_data
  setup(function()
    dir = trk.tmpdir()
    -- the source database: a fixture file with the user's schema and records of its own
    source_data = emulator.generate{ seed = 5, candidates = 40, jobs = 6,
                                     schema = emulator.schema_from_json(USER_SCHEMA) }
    fixture = write(dir, "source.json", emulator.new{ data = source_data }:to_json())
  end)
  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  for _, dialect in ipairs({ "evidence", "rich" }) do
    it("gives a fresh emulator the source's custom fields, lists and stages (" .. dialect .. ")",
       function()
      local src = server.start({ "--data", fixture, "--dialect", dialect })
      local stages = id_names(source_data.lists.opportunityResourceStatuses)
      local doc = export(src, dir, { TRACKER_STAGES = stages_env(stages) })
      local dst = server.start({ "--schema", dir .. "/schema.json", "--dialect", dialect,
                                 "--admin", "--generate", "30", "--seed", "3" })
      local a, b = client(src, stages), client(dst, stages)
      local ma, mb = assert(a:metadata()), assert(b:metadata())
      assert.are.same(ma.custom_fields, mb.custom_fields)
      assert.are.equal("Clearance Level", mb.custom_fields.candidate[1].name)
      assert.are.same({ "None", "Secret", "Top Secret" },
                      { mb.custom_fields.candidate[1].items[1].name,
                        mb.custom_fields.candidate[1].items[2].name,
                        mb.custom_fields.candidate[1].items[3].name })
      -- the stages the fresh emulator holds are the source's, in its order
      local state = server.state(dst)
      assert.are.same(stages, id_names(state.lists.opportunityResourceStatuses))
      assert.are.same(doc.stages, stages)
      if dialect == "rich" then assert.are.same(assert(a:stages()), assert(b:stages())) end
      a:close()
      b:close()
      server.stop(src)
      server.stop(dst)
    end)
  end

  it("generates records that carry the schema's custom values and stages", function()
    local path = write(dir, "user.json", USER_SCHEMA)
    local s = server.start({ "--schema", path, "--generate", "60", "--admin" })
    local state = server.state(s)
    server.stop(s)
    local levels, stage_ids = {}, { [31] = 0, [32] = 0, [33] = 0, [34] = 0, [35] = 0 }
    for _, c in ipairs(state.candidates) do
      local v = c.custom and c.custom["9101"]
      if v then levels[v] = true end
      assert.is_nil(c.custom and c.custom["441"])         -- no built-in field is left
    end
    assert.are.same({ None = true, Secret = true, ["Top Secret"] = true }, levels)
    for _, app in ipairs(state.applications) do
      assert.is_not_nil(stage_ids[app.statusid], "stage " .. tostring(app.statusid))
      stage_ids[app.statusid] = stage_ids[app.statusid] + 1
    end
    assert.is_true(stage_ids[31] > 0 and stage_ids[35] > 0)
    local dated = 0
    for _, j in ipairs(state.jobs) do
      local v = j.custom and j.custom["9202"]
      if v then
        assert.truthy(v:match("^%d%d%d%d%-%d%d%-%d%d$"), v)
        dated = dated + 1
      end
    end
    assert.is_true(dated > 0)
    assert.are.same({ 61, 62 }, { state.users[1].id, state.users[2].id })
  end)

  it("saves no secret and no email address", function()
    local s = server.start()
    local _, text = export(s, dir)
    server.stop(s)
    assert.is_nil(secrets.find(text))
    assert.is_nil(text:find("@", 1, true))
    local demo = emulator.generate{ seed = 1 }
    for _, u in ipairs(demo.users) do
      assert.is_nil(text:find(u.email, 1, true), u.email)
    end
    assert.truthy(text:find('"name": "' .. demo.users[1].firstname, 1, true))
  end)

  it("names what is wrong in a bad schema file, and where", function()
    local bad = USER_SCHEMA:gsub('"type": "Number"', '"kind": "Number"')
    local path = write(dir, "bad.json", bad)
    local code, out = trk.sh("timeout 20 " .. q(trk.bin) .. " emulator --port 0 --schema "
                             .. q(path))
    assert.are.equal(1, code)
    assert.truthy(out:find("--schema: " .. path .. ": custom_fields.candidate[2]: has no type",
                           1, true), out)
    local notjson = write(dir, "notjson.json", "{ not json")
    code, out = trk.sh("timeout 20 " .. q(trk.bin) .. " emulator --port 0 --schema "
                       .. q(notjson))
    assert.are.equal(1, code)
    assert.truthy(out:find(notjson .. ": not JSON", 1, true), out)
  end)

  it("refuses --schema with a --data FILE fixture", function()
    local r = trk.exec({ "emulator", "--schema", "x.json", "--data", fixture })
    assert.are.equal(2, r.code)
    assert.truthy(r.stderr:find("--schema makes generated data", 1, true), r.stderr)
  end)
end)

describe("testing.emulator{ schema = FILE }", function()
  teardown(trk.cleanup)

  it("runs a rule on a custom field of the imported schema, in its busted spec", function()
    local project = trk.dir_with({
      ["schema.json"] = USER_SCHEMA,
      ["cleared.lua"] = [[
return {
  name = "cleared",
  on = "candidates",
  when = function(c) return c.custom["Clearance Level"] == "Top Secret" end,
  action = function(c, t) t:add_note(c, "cleared for the night shift") end,
}]],
      ["cleared_spec.lua"] = [[
local testing = require "tracker.testing"
describe("the cleared rule", function()
  it("notes every candidate cleared Top Secret", function()
    local t = testing.emulator{ schema = "schema.json", candidates = 50 }
    local want = 0
    for _, c in ipairs(testing.state(t).candidates) do
      if c.custom and c.custom["9101"] == "Top Secret" then want = want + 1 end
    end
    assert.is_true(want > 0)
    local actions = testing.run_rule(testing.load_rule("cleared.lua"), t)
    assert.planned_count(want, actions, { op = "add_note" })
  end)
  it("takes built fixtures that name the schema's fields and stages", function()
    local c = testing.candidate{ custom = { ["Clearance Level"] = "Top Secret" } }
    local t = testing.emulator({ c }, { schema = "schema.json" })
    local actions = testing.run_rule(testing.load_rule("cleared.lua"), t)
    assert.planned(actions, { op = "add_note", target = c })
    assert.are.equal("Phone Screen", t:stages()[2].name)
  end)
end)]],
    }, "project")
    local r = trk.exec({ "test", "cleared_spec.lua" }, { cwd = project })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    assert.truthy(r.stdout:find("2 successes", 1, true), r.stdout)
  end)

  it("says which schema file is bad and where", function()
    local dir = trk.tmpdir()
    local path = write(dir, "bad.json", USER_SCHEMA:gsub('"name": "Phone Screen"', '"name": ""'))
    local testing = require "tracker.testing"
    assert.has_error(function() testing.emulator{ schema = path } end,
                     "testing.emulator: option 'schema': " .. path .. ": stages[2]: has no name")
  end)
end)

describe("trk emulator --data DIR", function()
  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  local NOTE = [[
local tracker = require "tracker"
local t = tracker.connect()
local c = assert(t:candidate(188003))
t:add_note(c, "kept across restarts")
]]

  local function notes(state)
    local n = 0
    for _, a in ipairs(state.activities) do
      if a.note == "kept across restarts" then n = n + 1 end
    end
    return n
  end

  it("keeps an applied write across a kill -9 and a restart", function()
    local data = trk.tmpdir()
    local s = server.start({ "--data", data, "--generate", "20", "--admin" })
    assert.are.equal(20, #server.state(s).candidates)
    local r = trk.run(NOTE, { "--apply" }, nil, nil, server.client_env(s))
    assert.are.equal(0, r.code, r.stderr)
    server.stop(s)                                        -- SIGKILL: no chance to save
    local again = server.start({ "--data", data, "--admin" })
    local state = server.state(again)
    server.stop(again)
    assert.are.equal(20, #state.candidates)               -- loaded, not the demo's 200
    assert.are.equal(1, notes(state))
  end)

  it("says a corrupt data file is not one, and what to do", function()
    local data = trk.tmpdir()
    trk.write(data .. "/emulator.db", ("not a database\n"):rep(200))
    local code, out = trk.sh("timeout 20 " .. q(trk.bin) .. " emulator --port 0 --data " .. q(data))
    assert.are.equal(1, code)
    assert.truthy(out:find("--data: " .. data .. "/emulator.db is not a trk emulator data file",
                           1, true), out)
    assert.truthy(out:find("move it away to start afresh", 1, true), out)
  end)
end)
