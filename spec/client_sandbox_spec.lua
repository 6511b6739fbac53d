-- The client inside trk's sandbox: configured from the environment, over HTTP, and unable to
-- hand its credentials to the script.
local trk = require "support.trk"
local server = require "support.server"

local KEY, USER, TOKEN = server.secrets.apikey, server.secrets.username, server.secrets.api_token

describe("the client in trk run", function()
  local srv, env

  setup(function()
    srv = server.start({ "--generate", "30", "--apikey", KEY, "--username", USER,
                         "--api-token", TOKEN, "--timezone", "America/Chicago" })
    env = { TRACKER_WIDGET_URL = srv.url, TRACKER_REST_URL = srv.url, TRACKER_APIKEY = KEY,
            TRACKER_USERNAME = USER, TRACKER_API_TOKEN = TOKEN,
            TRACKER_TIMEZONE = "America/Chicago", TRACKER_RATE_LIMIT = "6000" }
  end)
  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  local function no_secrets(r)
    for _, s in ipairs({ KEY, TOKEN }) do
      assert.is_falsy(r.stdout:find(s, 1, true), r.stdout)
      assert.is_falsy(r.stderr:find(s, 1, true), r.stderr)
    end
  end

  it("connects from the environment and streams", function()
    local r = trk.run([[
      local tracker = require "tracker"
      local t = tracker.connect()
      local n, apps = 0, 0
      for c in t:candidates{} do n = n + 1 end
      for a in t:applications{} do apps = apps + 1 end
      print(n, apps > 0, tostring(t))
    ]], {}, nil, nil, env)
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^30\ttrue\ttracker client %(http://127%.0%.0%.1:%d+, http://127%.0%.0%.1:%d+%)\n$", r.stdout)
    no_secrets(r)
  end)

  it("keeps credentials out of the script's reach", function()
    local r = trk.run([[
      local tracker = require "tracker"
      local spied = {}
      -- the raw transport would send past the dry run and the journal: scripts do not get it,
      -- and the module cannot be changed
      print("transport", tracker.transport)
      print("swap", pcall(function() tracker.connect = function() spied[#spied + 1] = 1 end end))
      local t = tracker.connect()
      for k, v in pairs(t) do print("field", k, v) end
      print("mt", getmetatable(t))
      print(t:ping(), #spied)
      local _, e = t:job(987654)
      print(e)
      -- a URL of the script's own gets no environment credentials
      local evil = tracker.connect{ widget_url = "http://127.0.0.1:9", rest_url = "http://127.0.0.1:9" }
      print(pcall(evil.stages, evil))
    ]], {}, nil, nil, env)
    assert.are.equal(0, r.code, r.stderr)
    assert.is_falsy(r.stdout:find("field\t", 1, true))
    assert.is_truthy(r.stdout:find("mt\ttracker.client\n", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("transport\tnil\n", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("swap\tfalse\tscript.lua:%d+: attempt to modify read%-only table 'tracker'"), r.stdout)
    assert.is_truthy(r.stdout:find("true\t0\n", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("not_found: job: no job with id 987654", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("false\tscript.lua:%d+: stages: no widget API credentials"), r.stdout)
    no_secrets(r)
  end)

  it("names the missing variable when a credential is not set", function()
    local partial = { TRACKER_WIDGET_URL = srv.url, TRACKER_REST_URL = srv.url }
    local r = trk.run([[
      local t = require("tracker").connect()
      for c in t:candidates{} do end
    ]], {}, nil, nil, partial)
    assert.are.equal(1, r.code)
    assert.is_truthy(r.stderr:find("script.lua:2: candidates: no widget API credentials: set TRACKER_APIKEY", 1, true), r.stderr)
  end)
end)
