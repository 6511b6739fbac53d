-- Errors that point at the fix, through the real trk: each names the user's file and line, the
-- option or variable to change, and a suggestion where there is one; none shows a line of trk's
-- own code (issue 19, item 9).
local trk = require "support.trk"
local server = require "support.server"

local SINCE = "2000-01-01T00:00:00Z"

-- A location in trk's own code: an embedded module ("[trk] tracker/rules.lua:180:",
-- "[tracker] pipeline.lua:232:"), a file of scripts/tracker, scripts/trk or bindings, or a chunk
-- named after one.
local INTERNAL = { "%[trk%]", "%[tracker%]", "scripts/tracker/", "scripts/trk/", "bindings/",
                   "tracker/[%w_/]+%.lua:%d+", "trk/[%w_]+%.lua:%d+", '%[string "tracker' }

local function assert_no_internal(text)
  for _, pat in ipairs(INTERNAL) do
    assert.is_nil(text:find(pat), "an internal location (" .. pat .. ") in:\n" .. text)
  end
end

local function has(text, s)
  assert.truthy(text:find(s, 1, true), "no '" .. s .. "' in:\n" .. text)
end

-- The environment of trk pointed at srv, with `changes` applied (false unsets a variable).
local function env_with(srv, changes)
  local env = server.client_env(srv)
  for k, v in pairs(changes or {}) do env[k] = v or nil end
  return env
end

local READ = [[
local tracker = require "tracker"
local t = tracker.connect()
for app in t:applications{} do print(app.id) end
]]

local function rule_dir(source, name)
  return trk.dir_with({ [(name or "rule") .. ".lua"] = source })
end

describe("an error a user meets", function()
  local srv
  setup(function() srv = server.start({ "--generate", "10", "--seed", "3" }) end)
  teardown(function() server.stop_all() end)
  after_each(trk.cleanup)

  describe("a wrong or missing credential", function()
    it("names the variables sent when the widget API refuses the key", function()
      local r = trk.run(READ, {}, nil, "read.lua", env_with(srv, { TRACKER_APIKEY = "wrong-key" }))
      assert.are.equal(1, r.code)
      has(r.stderr, "read.lua:3: auth:")
      has(r.stderr, "check TRACKER_APIKEY and TRACKER_USERNAME")
      assert_no_internal(r.stderr)
    end)

    it("names the password when a password was sent", function()
      local r = trk.run(READ, {}, nil, "read.lua",
                        env_with(srv, { TRACKER_APIKEY = false, TRACKER_PASSWORD = "wrong-pass" }))
      assert.are.equal(1, r.code)
      has(r.stderr, "check TRACKER_USERNAME and TRACKER_PASSWORD")
    end)

    it("names connect's options when the script passed the credentials", function()
      local source = READ:gsub("tracker%.connect%(%)", ("tracker.connect{ widget_url = %q, "
        .. "rest_url = %q, apikey = 'wrong-key', username = 'u@example.com', api_token = 'x' }")
        :format(srv.url, srv.url))
      local r = trk.run(source, {}, nil, "read.lua", env_with(srv))
      has(r.stderr, "check tracker.connect's option 'apikey' and tracker.connect's option 'username'")
    end)

    it("names TRACKER_API_TOKEN when the REST API refuses the token", function()
      local r = trk.run(READ, {}, nil, "read.lua",
                        env_with(srv, { TRACKER_API_TOKEN = "wrong-token" }))
      assert.are.equal(1, r.code)
      has(r.stderr, "read.lua:3: auth: ExchangeToken: the REST API refused the API token "
                    .. "(check TRACKER_API_TOKEN)")
      assert_no_internal(r.stderr)
    end)

    it("puts a missing token at the script's line, naming the variable", function()
      local r = trk.run(READ, {}, nil, "read.lua", env_with(srv, { TRACKER_API_TOKEN = false }))
      assert.are.equal(1, r.code)
      has(r.stderr, "read.lua:3: applications: no REST API token: set TRACKER_API_TOKEN")
      assert_no_internal(r.stderr)
    end)

    it("in trk rules, names the rule files whose stream failed and the variable", function()
      local dir = rule_dir([[return { on = "applications", action = function() end }]], "notes")
      local r = trk.exec({ "rules", dir, "--since", SINCE },
                         { env = env_with(srv, { TRACKER_API_TOKEN = false }) })
      assert.are.equal(1, r.code)
      has(r.stderr, dir .. "/notes.lua: applications: no REST API token: set TRACKER_API_TOKEN")
      r = trk.exec({ "rules", dir, "--since", SINCE },
                   { env = env_with(srv, { TRACKER_APIKEY = "wrong-key" }) })
      has(r.stderr, dir .. "/notes.lua: auth:")
      has(r.stderr, "check TRACKER_APIKEY and TRACKER_USERNAME")
      assert_no_internal(r.stderr)
    end)
  end)

  it("a stage typo in a rule names the rule's file and line and the closest stage", function()
    local dir = rule_dir([[
return {
  on = "applications",
  action = function(app, t)
    t:move_to_stage(app, "Intervew")
  end,
}
]], "route")
    local r = trk.exec({ "rules", dir, "--since", SINCE }, { env = env_with(srv) })
    assert.are.equal(1, r.code)
    has(r.stderr, dir .. "/route.lua:4: move_to_stage: no stage 'Intervew' (did you mean 'Interview'?)")
    assert_no_internal(r.stderr)
  end)

  describe("a name the sandbox removes", function()
    local CASES = {
      { "local f = io.open('x')", "io is not available in trk scripts (the sandbox removes it)",
        "files.open" },
      { "os.execute('ls')", "if that is os.execute, it is not available in trk scripts",
        "runs no programs" },
      { "print(os.getenv('HOME'):upper())", "if that is os.getenv, it is not available",
        "script arguments" },
      { "debug.traceback()", "debug is not available in trk scripts", "traceback" },
      { "dofile('x.lua')", "dofile is not available in trk scripts", "require" },
      { "assert(load(string.dump(print)))", "if that is string.dump, it is not available",
        "Lua text only" },
      { "assert(load('\\27Lua'))", "attempt to load a binary chunk", "Lua text only" },
      { "require 'socket'", "module 'socket' not found", "no C modules or LuaRocks packages" },
    }
    for _, case in ipairs(CASES) do
      it("explains what to use instead of: " .. case[1], function()
        local r = trk.run("local x = 1\n" .. case[1] .. "\n", {}, nil, "use.lua")
        assert.are.equal(1, r.code)
        has(r.stderr, "use.lua:2: ")
        has(r.stderr, case[2])
        has(r.stderr, case[3])
        has(r.stderr, "docs/sandbox.md")
        assert_no_internal(r.stderr)
      end)
    end

    it("explains it in a rule too", function()
      local dir = rule_dir([[
return { on = "candidates", action = function(c)
  io.write(c.name)
end }
]], "dump")
      local r = trk.exec({ "rules", dir, "--since", SINCE }, { env = env_with(srv) })
      has(r.stderr, dir .. "/dump.lua:2: attempt to index a nil value (global 'io'); io is not "
                    .. "available in trk scripts")
    end)

    it("has an alternative for every name it removes", function()
      local sandbox = require "tracker.sandbox"
      for _, name in ipairs(sandbox.denied) do
        assert.is_string(sandbox.instead[name], name)
      end
    end)
  end)

  describe("a mistyped option or command", function()
    local CASES = {
      { { "rules", "d", "--aply" }, "trk rules: unknown option '--aply' (did you mean '--apply'?)" },
      { { "run", "x.lua", "--max-memroy", "1M" },
        "trk run: unknown option '--max-memroy' (did you mean '--max-memory'?)" },
      { { "journal", "--fail" }, "trk journal: unknown option '--fail' (did you mean '--failed'?)" },
      { { "doctor", "--jsno" }, "trk doctor: unknown option '--jsno' (did you mean '--json'?)" },
      { { "emulator", "--prot", "1" },
        "trk emulator: unknown option '--prot' (did you mean '--port'?)" },
      { { "rulse", "d" }, "trk: unknown command 'rulse' (did you mean 'rules'?)" },
      { { "help", "dcotor" }, "trk: no help for unknown command 'dcotor' (did you mean 'doctor'?)" },
    }
    for _, case in ipairs(CASES) do
      it("suggests the closest: trk " .. table.concat(case[1], " "), function()
        local r = trk.exec(case[1])
        assert.are.equal(2, r.code)
        has(r.stderr, case[2])
      end)
    end

    it("suggests nothing when nothing is close, and never echoes an option's value", function()
      local r = trk.exec({ "rules", "d", "--zzzzzz=SECRET-VALUE" })
      assert.are.equal(2, r.code)
      has(r.stderr, "unknown option '--zzzzzz'\n")
      assert.is_nil(r.stderr:find("SECRET-VALUE", 1, true))
    end)
  end)

  describe("a failing rule spec under trk test", function()
    local function project()
      return trk.dir_with({
        ["route.lua"] = [[
return { on = "applications", action = function(app, t)
  t:add_note(app, "moved")
end }
]],
        ["route_spec.lua"] = [[
local testing = require "tracker.testing"
describe("route", function()
  local rule = testing.load_rule("route.lua")
  local app = testing.application{ candidate = testing.candidate{}, job = testing.job{} }
  it("matcher", function()
    local actions = testing.run_rule(rule, testing.emulator{ app })
    assert.planned(actions, { op = "add_note", payload = { text = testing.contains("hello") } })
  end)
  it("function", function()
    local actions = testing.run_rule(rule, testing.emulator{ app })
    assert.planned(actions, { payload = { text = function(v) return v == "x" end } })
  end)
  it("key", function()
    assert.planned({}, { opp = "add_note" })
  end)
  it("time", function()
    testing.emulator({}, { now = "yesterday" })
  end)
  it("file", function()
    testing.load_rule("nowhere.lua")
  end)
end)
]],
      }, "proj")
    end

    it("points at the spec's lines and shows a readable expectation", function()
      local dir = project()
      local r = trk.exec({ "test", "route_spec.lua" }, { cwd = dir })
      assert.are.equal(1, r.code)
      local out = r.stdout .. r.stderr
      has(out, 'route_spec.lua:7: Expected an action planned like:\n  op = add_note, payload '
               .. 'includes { text = contains("hello") }')
      has(out, "payload includes { text = a value the function at route_spec.lua:11 accepts }")
      has(out, "route_spec.lua:14: assert.planned: unknown key 'opp'")
      has(out, "route_spec.lua:17: testing.emulator: option 'now'")
      has(out, "route_spec.lua:20: nowhere.lua: cannot read the rule")
      assert.is_nil(out:find("<matcher>", 1, true), out)
      assert_no_internal(out)
    end)
  end)

  it("none of the common mistakes shows a line of trk's own code", function()
    local env = env_with(srv)
    local scripts = {
      "require('tracker').connect{ regoin = 'us' }",
      "require('tracker').connect():job('abc')",
      "require('tracker').connect():add_note(nil, 'x')",
      "for j in require('tracker').connect():jobs{ stat = 'open' } do end",
      "require('tracker').connect():move_to_stage({ id = 70001, kind = 'application' }, 'Ofer')",
      "local t = require('tracker').connect(); t.jobs()",
      "io.write('x')", "os.exit(1)", "package.path = ''", "warn('x')",
      "files.open('data.csv')",
      "require('tracker.csv').reader(5)",
    }
    local failed = 0
    for i, source in ipairs(scripts) do
      local r = trk.run(source .. "\n", {}, nil, "m" .. i .. ".lua", env)
      if r.code ~= 0 then failed = failed + 1 end
      has(r.stderr, "m" .. i .. ".lua:1: ")
      assert_no_internal(r.stderr)
    end
    assert.are.equal(#scripts, failed)
    for _, argv in ipairs({ { "run", "x.lua", "--aply" }, { "rules", "d", "--dry" },
                            { "journal", "--stat" }, { "doctor", "--verbos" }, { "tset" },
                            { "emulator", "--dialect" } }) do
      local r = trk.exec(argv)
      assert.are.equal(2, r.code)
      assert_no_internal(r.stderr)
    end
    for _, bad in ipairs({ { TRACKER_APIKEY = "wrong" }, { TRACKER_API_TOKEN = false } }) do
      local r = trk.run(READ, {}, nil, "read.lua", env_with(srv, bad))
      has(r.stderr, "read.lua:3: ")
      assert_no_internal(r.stderr)
    end
  end)
end)
