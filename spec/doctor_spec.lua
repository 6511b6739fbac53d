-- trk doctor against `trk emulator`: good settings, and each kind of bad one. Every check is a
-- line "  ok|warn|FAIL  NAME  what was found; fix: what to set"; --json gives the same checks.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"
local doctor = require "trk.doctor"

-- The suite's credentials (spec/support/secrets.lua), which every emulator here is started
-- with, and wrong ones as distinctive: any appearance of one in the output is found.
local KEY = server.secrets.apikey
local USER = server.secrets.username
local TOKEN = server.secrets.api_token
local WRONG_KEY = "K3y-wrong-0d9a77c3e512"
local WRONG_TOKEN = "T0k-wrong-8b3c19f4d026"
local SECRETS = { KEY, TOKEN, WRONG_KEY, WRONG_TOKEN, "hunter2-password-1f0e" }

-- Every variable doctor reads, empty unless set below: an empty variable counts as unset, so the
-- environment the specs run in cannot leak in.
local function env_for(s, changes)
  local env = {}
  for _, name in ipairs(doctor.VARIABLES) do env[name] = "" end
  for k, v in pairs(server.client_env(s)) do env[k] = v end
  for k, v in pairs(changes or {}) do env[k] = v end
  return env
end

local function run_doctor(env, args)
  local argv = { "doctor" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  return trk.exec(argv, { env = env })
end

-- The checks of a text report: name -> { status =, text = the whole line }.
local function checks(out)
  local found = {}
  for line in out:gmatch("[^\n]+") do
    local status, rest = line:match("^  (%S+)%s+(.*)$")
    if status == "ok" or status == "warn" or status == "FAIL" then
      local name = rest:sub(1, 14):gsub("%s+$", "")
      found[name] = { status = status, text = line }
    end
  end
  return found
end

local function assert_no_secret(r)
  for _, secret in ipairs(SECRETS) do
    assert.is_nil(r.stdout:find(secret, 1, true), "a secret in stdout:\n" .. r.stdout)
    assert.is_nil(r.stderr:find(secret, 1, true), "a secret in stderr:\n" .. r.stderr)
  end
end

describe("trk doctor", function()
  local s

  setup(function()
    s = server.start()
  end)

  teardown(function()
    server.stop_all()
  end)

  it("passes every check with good settings and exits 0", function()
    local r = run_doctor(env_for(s))
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local c = checks(r.stdout)
    for _, name in ipairs({ "variables", "widget URL", "REST URL", "widget login", "REST token",
                            "rate limit", "widget reach", "widget auth", "REST reach", "REST auth",
                            "metadata", "stages", "paging", "time zone" }) do
      assert.is_truthy(c[name], "no line for " .. name .. " in:\n" .. r.stdout)
      assert.are.equal("ok", c[name].status, c[name].text)
    end
    assert.matches("\ntrk doctor: %d+ ok\n$", r.stdout)      -- no warning, no failure
    -- a secret is its length; the user name is no secret
    assert.truthy(c["widget login"].text:find(("TRACKER_APIKEY set (%d characters), TRACKER_USERNAME=%s")
                                              :format(#KEY, USER), 1, true), c["widget login"].text)
    assert_no_secret(r)
  end)

  it("reports the metadata's counts as the database has them", function()
    local tracker = require "tracker"
    local t = tracker.connect({ widget_url = s.url, rest_url = s.url, apikey = KEY,
                                username = USER, api_token = TOKEN, rate_limit = false })
    local m = assert(t:metadata())
    t:close()
    local c = checks(run_doctor(env_for(s)).stdout)
    local line = c.metadata.text
    -- the settings list no stages in the emulator's default dialect: the configured ones count
    assert.are.equal(0, #m.stages)
    assert.truthy(line:find("no stages in the settings", 1, true), line)
    assert.truthy(c.stages.text:find(("%d stages from TRACKER_STAGES")
                                     :format(select(2, server.stages_env():gsub("=", ""))), 1, true),
                  c.stages.text)
    for _, kind in ipairs({ "candidate", "job", "application", "activity" }) do
      assert.truthy(line:find(("%d %s"):format(#m.custom_fields[kind], kind), 1, true), line)
    end
    assert.truthy(line:find(("%d users"):format(#m.users), 1, true), line)
  end)

  it("shows each request, and never a secret, with --verbose", function()
    local r = run_doctor(env_for(s), { "--verbose" })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    assert.matches("trk: POST " .. s.url:gsub("%p", "%%%0") .. "/api/widget/checkLogon %-> 200", r.stderr)
    assert.matches("/api/Auth/ExchangeToken %-> 200", r.stderr)
    assert.matches("        stages: ", r.stdout)          -- the details under the metadata
    assert_no_secret(r)
  end)

  it("fails the widget credentials for a wrong API key, naming what to fix", function()
    local r = run_doctor(env_for(s, { TRACKER_APIKEY = WRONG_KEY }))
    assert.are.equal(1, r.code, r.stdout)
    local c = checks(r.stdout)
    assert.are.equal("ok", c["widget reach"].status)
    assert.are.equal("FAIL", c["widget auth"].status)
    assert.matches("fix: check TRACKER_APIKEY", c["widget auth"].text)
    assert.are.equal("ok", c["REST auth"].status)      -- the REST API has its own credential
    assert_no_secret(r)
  end)

  it("fails the REST credentials for a wrong token", function()
    local r = run_doctor(env_for(s, { TRACKER_API_TOKEN = WRONG_TOKEN }), { "--verbose" })
    assert.are.equal(1, r.code, r.stdout)
    local c = checks(r.stdout)
    assert.are.equal("ok", c["widget auth"].status)
    assert.are.equal("ok", c["REST reach"].status)
    assert.are.equal("FAIL", c["REST auth"].status)
    assert.matches("fix: set TRACKER_API_TOKEN=", c["REST auth"].text)
    assert_no_secret(r)
  end)

  it("fails a missing username, with an example value", function()
    local r = run_doctor(env_for(s, { TRACKER_USERNAME = "", TRACKER_API_TOKEN = "" }))
    assert.are.equal(1, r.code, r.stdout)
    local c = checks(r.stdout)
    assert.are.equal("FAIL", c["widget login"].status)
    assert.matches("TRACKER_USERNAME is not set; fix: set TRACKER_USERNAME .*TRACKER_USERNAME=%S+@",
                   c["widget login"].text)
    assert_no_secret(r)
  end)

  it("warns of a username missing beside an API key when the token stands in for it", function()
    local r = run_doctor(env_for(s, { TRACKER_USERNAME = "" }))
    assert.are.equal(0, r.code, r.stdout)
    local c = checks(r.stdout)
    assert.are.equal("warn", c["widget login"].status)
    assert.matches("the API key is not used", c["widget login"].text)
    assert.are.equal("ok", c["widget auth"].status)
  end)

  it("fails an unreachable URL (a closed port) at the connection, naming the variable", function()
    local closed = server.start()
    local url = closed.url
    server.stop(closed)
    local r = run_doctor(env_for(s, { TRACKER_WIDGET_URL = url }))
    assert.are.equal(1, r.code, r.stdout)
    local c = checks(r.stdout)
    assert.are.equal("FAIL", c["widget reach"].status)
    assert.matches("connect failed: .*cannot connect", c["widget reach"].text)
    assert.matches("fix: check the host and port in TRACKER_WIDGET_URL", c["widget reach"].text)
    assert.is_nil(c["metadata"])                        -- nothing more is asked of that server
    assert.are.equal("ok", c["REST auth"].status)
  end)

  it("fails a rate limit that is not a number, and warns of one above Tracker's", function()
    local r = run_doctor(env_for(s, { TRACKER_RATE_LIMIT = "fast" }))
    assert.are.equal(1, r.code, r.stdout)
    local line = checks(r.stdout)["rate limit"]
    assert.are.equal("FAIL", line.status)
    assert.matches("TRACKER_RATE_LIMIT=fast is not a number.*fix: set TRACKER_RATE_LIMIT=100", line.text)
    r = run_doctor(env_for(s, { TRACKER_RATE_LIMIT = "5000" }))
    assert.are.equal(0, r.code, r.stdout)
    assert.are.equal("warn", checks(r.stdout)["rate limit"].status)
  end)

  it("fails an outage budget that is not seconds, and states one that is", function()
    local r = run_doctor(env_for(s, { TRACKER_OUTAGE_BUDGET = "soon" }))
    assert.are.equal(1, r.code, r.stdout)
    local line = checks(r.stdout)["outage budget"]
    assert.are.equal("FAIL", line.status)
    assert.matches("TRACKER_OUTAGE_BUDGET=soon is not a number of seconds.*fix: set "
                   .. "TRACKER_OUTAGE_BUDGET", line.text)
    r = run_doctor(env_for(s, { TRACKER_OUTAGE_BUDGET = "90" }))
    assert.are.equal(0, r.code, r.stdout)
    assert.matches("unreachable for 90 s", checks(r.stdout)["outage budget"].text)
  end)

  it("fails a missing time zone when the database's times are naive, saying what to set", function()
    local r = run_doctor(env_for(s, { TRACKER_TIMEZONE = "" }))
    assert.are.equal(1, r.code, r.stdout)
    local line = checks(r.stdout)["time zone"]
    assert.are.equal("FAIL", line.status)
    -- candidates and jobs show no time in the emulator's default dialect: an activity does
    assert.matches("local with no zone %(activity %d+ changed at %d%d%d%d%-%d%d%-%d%dT[%d:]+%)", line.text)
    assert.matches("fix: set TRACKER_TIMEZONE .*TRACKER_TIMEZONE=%a+/%a+", line.text)
  end)

  it("fails a time zone that is not an IANA name", function()
    local r = run_doctor(env_for(s, { TRACKER_TIMEZONE = "Mars/Olympus" }))
    assert.are.equal(1, r.code, r.stdout)
    assert.matches("FAIL  time zone +TRACKER_TIMEZONE=Mars/Olympus", r.stdout)
  end)

  it("warns when records changed later than now by the zone given (a zone too far west)", function()
    local east = server.start({ "--timezone", "Asia/Tokyo" })
    local env = env_for(east)
    -- a change now: Tokyo's local time, 9 hours ahead of UTC
    local w = trk.run([[
      local t = require("tracker").connect()
      local _, st = t:candidates{ page_size = 1 }
      assert(t:add_note(assert(st:next()), "Checked by doctor"))
    ]], { "--apply" }, nil, nil, env)
    assert.are.equal(0, w.code, w.stderr)
    local r = run_doctor(env)
    local line = checks(r.stdout)["time zone"]
    assert.are.equal("warn", line.status, r.stdout)
    assert.matches("9%.0 hours from now", line.text)
    env.TRACKER_TIMEZONE = "Asia/Tokyo"
    assert.are.equal("ok", checks(run_doctor(env).stdout)["time zone"].status)
    server.stop(east)
  end)

  it("says where the stages come from, and how to name them when the settings list none", function()
    local c = checks(run_doctor(env_for(s)).stdout)
    assert.matches("%d+ stages from TRACKER_STAGES", c.stages.text)
    local r = run_doctor(env_for(s, { TRACKER_STAGES = "" }))
    assert.are.equal(0, r.code, r.stdout)
    c = checks(r.stdout)
    assert.are.equal("warn", c.stages.status, c.stages.text)
    assert.matches("stages from the applications read %(the settings list none%)", c.stages.text)
    assert.matches("fix: name every stage in TRACKER_STAGES", c.stages.text)
    assert.matches("application search: Search; widget page cap: 100 %(%d+ candidates read%); "
                   .. "REST page cap: 10", c.paging.text)
    local rich = server.start({ "--dialect", "rich" })
    c = checks(run_doctor(env_for(rich, { TRACKER_STAGES = "" })).stdout)
    assert.are.equal("ok", c.stages.status, c.stages.text)
    assert.matches("%d+ stages from getSettingsData", c.stages.text)
    assert.matches("application search: PagedSearch", c.paging.text)
    server.stop(rich)
  end)

  it("checks TRACKER_REJECTION_STAGE against the database's stages", function()
    local r = run_doctor(env_for(s, { TRACKER_REJECTION_STAGE = "rejected" }))
    assert.matches("ok    rejection +TRACKER_REJECTION_STAGE=rejected is stage %d+ 'Rejected'", r.stdout)
    r = run_doctor(env_for(s, { TRACKER_REJECTION_STAGE = "Rejectd" }))
    assert.are.equal(1, r.code)
    assert.matches("FAIL  rejection .*did you mean 'Rejected'", r.stdout)
  end)

  it("fails URLs that are not http(s), and never shows a password written into one", function()
    local r = run_doctor(env_for(s, { TRACKER_WIDGET_URL = "ftp://tracker.example.com",
                                      TRACKER_REST_URL = "https://me:hunter2-password-1f0e@x.example" }))
    assert.are.equal(1, r.code)
    local c = checks(r.stdout)
    assert.matches("is not an http:// or https:// URL", c["widget URL"].text)
    assert.matches("holds a user name or password", c["REST URL"].text)
    assert_no_secret(r)
  end)

  it("fails an unknown region, with the closest one", function()
    local env = env_for(s, { TRACKER_WIDGET_URL = "", TRACKER_REST_URL = "", TRACKER_REGION = "usa" })
    local r = run_doctor(env)
    assert.are.equal(1, r.code)
    assert.matches("FAIL  widget URL +TRACKER_REGION=usa is not a region %(did you mean 'us'", r.stdout)
  end)

  it("warns of TRACKER_ variables trk does not read", function()
    local r = run_doctor(env_for(s, { TRACKER_API_KEY = KEY }))
    local line = checks(r.stdout).variables
    assert.are.equal("warn", line.status)
    assert.matches("TRACKER_API_KEY %(did you mean 'TRACKER_APIKEY'", line.text)
    assert_no_secret(r)
  end)

  it("prints only what warns or fails with --quiet", function()
    local r = run_doctor(env_for(s), { "--quiet" })
    assert.are.equal(0, r.code)
    assert.are.equal("", r.stdout)
    r = run_doctor(env_for(s, { TRACKER_API_TOKEN = WRONG_TOKEN }), { "--quiet" })
    assert.are.equal(1, r.code)
    assert.matches("^  FAIL  REST auth [^\n]*\n$", r.stdout)
  end)

  it("prints the checks as one JSON object with --json", function()
    local r = run_doctor(env_for(s, { TRACKER_APIKEY = WRONG_KEY }), { "--json" })
    assert.are.equal(1, r.code)
    local doc = json.decode(r.stdout)
    assert.are.equal("fail", doc.status)
    local by_name = {}
    for _, c in ipairs(doc.checks) do by_name[c.name] = c end
    assert.are.equal("fail", by_name["widget auth"].status)
    assert.matches("TRACKER_APIKEY", by_name["widget auth"].fix)
    assert.are.equal("ok", by_name["REST auth"].status)
    assert.are.equal(doc.counts.fail, 1)
    assert_no_secret(r)
  end)

  it("refuses arguments it does not take, with exit status 2", function()
    assert.are.equal(2, run_doctor(env_for(s), { "now" }).code)
    assert.are.equal(2, run_doctor(env_for(s), { "--bogus" }).code)
    assert.are.equal(2, run_doctor(env_for(s), { "--quiet", "--verbose" }).code)
  end)

  it("knows every variable tracker.connect reads", function()
    local f = assert(io.open(trk.root .. "/bindings/lua/config.lua"))
    local src = f:read("a")
    f:close()
    local block = assert(src:match("\nlocal ENV = (%b{})"), "config.lua has no ENV table")
    local read, known = {}, {}
    for name in block:gmatch('"(TRACKER_[%w_]+)"') do read[#read + 1] = name end
    for _, name in ipairs(doctor.VARIABLES) do known[name] = true end
    assert.is_true(#read >= 10)
    for _, name in ipairs(read) do assert.is_true(known[name], name .. " is not checked") end
    assert.are.equal(#read, #doctor.VARIABLES)
  end)
end)
