-- The client over HTTP: `trk emulator --port 0` served to the curl transport, in real time.
local tracker = require "tracker"
local emulator = require "tracker.emulator"
local json = require "json"
local trk = require "support.trk"
local server = require "support.server"
-- the suite uses busted's describe/it/assert: it is loaded into this file's environment
local suite = assert(loadfile("spec/support/client_suite.lua", "t", _ENV))()

local KEY, USER, TOKEN = server.secrets.apikey, server.secrets.username, server.secrets.api_token

local srv, dir, jwt               -- jwt: B.rest's own
local B = { name = "HTTP (curl) against trk emulator", fake_time = false, clock = server.now }

-- emulator.new fault names -> `trk emulator --faults` keys
local FAULT_KEYS = { errors = "5xx", drop = "drop", truncate = "truncate", malformed = "malformed",
                     page_cap = "page-cap", seed = "seed" }

-- `trk emulator` arguments for a B.start configuration (--admin: B.state reads the data).
local function emulator_args(cfg)
  dir = dir or trk.tmpdir()
  local file = dir .. "/fixture.json"
  trk.write(file, emulator.new({ data = cfg.data }):to_json())
  local args = { "--data", file, "--admin", "--apikey", KEY, "--username", USER, "--api-token", TOKEN }
  if cfg.latency then args[#args + 1] = "--latency"; args[#args + 1] = tostring(cfg.latency) end
  if cfg.timezone then args[#args + 1] = "--timezone"; args[#args + 1] = cfg.timezone end
  if cfg.dialect then args[#args + 1] = "--dialect"; args[#args + 1] = cfg.dialect end
  if cfg.rate_limit then args[#args + 1] = "--rate-limit"; args[#args + 1] = cfg.rate_limit .. "/min" end
  local spec = {}
  for k, v in pairs(cfg.faults or {}) do spec[#spec + 1] = FAULT_KEYS[k] .. "=" .. v end
  if #spec > 0 then args[#args + 1] = "--faults"; args[#args + 1] = table.concat(spec, ",") end
  return args
end

function B.start(cfg)
  srv = server.start(emulator_args(cfg))
end

function B.stop()
  if srv then server.stop(srv) end
  srv, jwt = nil, nil
end

function B.connect(opts)
  local o = { widget_url = srv.url, rest_url = srv.url, apikey = KEY, username = USER,
              api_token = TOKEN, rate_limit = false }
  for k, v in pairs(opts) do o[k] = v end
  if o.timezone == nil then o.timezone = false end
  return tracker.connect(o)
end

local function post(path, body)
  local tr = tracker.transport.curl()
  local status, _, answer = tr:request({ method = "POST", url = srv.url .. path, body = body,
                                         headers = { ["Content-Type"] = "application/json" } })
  tr:close()
  return status, answer
end

function B.widget(verb, instructions, nodes)
  local inner = { credentials = { apikey = KEY, username = USER }, instructions = instructions }
  for k, v in pairs(nodes or {}) do inner[k] = v end
  local _, body = post("/api/widget/" .. verb, json.encode({ trackerrms = { [verb] = inner } }))
  return json.decode(body)
end

function B.exchange()
  assert.are.equal(200, (post("/api/Auth/ExchangeToken", json.encode({ bearerToken = TOKEN }))))
end

-- For spec/support/writes_suite.lua: the emulator's side of writes, read raw.
local function http(method, path, body, headers)
  local tr = tracker.transport.curl()
  local h = { ["Content-Type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  local status, _, answer = tr:request({ method = method, url = srv.url .. path, body = body,
                                         headers = h })
  tr:close()
  return status, answer
end

function B.state()
  local status, body = http("GET", "/_emulator/state")
  assert.are.equal(200, status)
  return json.decode(body)
end

function B.epoch() return os.time() end

-- A raw REST call with a JWT of its own (exchanging supersedes the client's: it exchanges again).
function B.rest(method, path, body)
  for _ = 1, 2 do
    if not jwt then
      local _, answer = post("/api/Auth/ExchangeToken", json.encode({ bearerToken = TOKEN }))
      jwt = json.decode(answer).token
    end
    local status, answer = http(method, path, body and json.encode(body) or nil,
                                { Authorization = "Bearer " .. jwt })
    if status ~= 401 then return status, json.decode(answer) end
    jwt = nil
  end
  error("B.rest: the emulator refused a fresh JWT")
end

-- A port nothing listens on: one a server that is gone had.
local function free_url()
  local probe = server.start({})
  local url, port = probe.url, probe.port
  server.stop(probe)
  return url, port
end

function B.unreachable(opts)
  local url = free_url()
  local o = { widget_url = url, rest_url = url, apikey = KEY, username = USER,
              api_token = TOKEN, rate_limit = false }
  for k, v in pairs(opts) do o[k] = v end
  return tracker.connect(o)
end

-- An emulator that starts listening `seconds` from now, on a port nothing listens on yet.
function B.start_late(cfg, seconds)
  local url, port = free_url()
  local argv = { trk.quote(trk.bin), "emulator", "--port", tostring(port) }
  for _, a in ipairs(emulator_args(cfg)) do argv[#argv + 1] = trk.quote(a) end
  local errfile = os.tmpname()
  local pipe = io.popen(server.PLAIN .. "echo $$; sleep " .. seconds .. "; exec "
                        .. table.concat(argv, " ") .. " 2>" .. trk.quote(errfile) .. " </dev/null", "r")
  srv = { pid = tonumber(pipe:read("l")), pipe = pipe, errfile = errfile, url = url, port = port }
end

teardown(function()
  server.stop_all()
  trk.cleanup()
end)

-- the suites over every dialect of the emulator
require("support.dialect").each(B, suite, assert(loadfile("spec/support/writes_suite.lua", "t", _ENV))(),
  assert(loadfile("spec/support/crm_suite.lua", "t", _ENV))())
-- jobs created, placements, people found, CVs, documents on any record
require("support.dialect").each(B, assert(loadfile("spec/support/hiring_suite.lua", "t", _ENV))())

describe("the client over HTTP only", function()
  after_each(B.stop)

  it("answers timeout when the server is slower than the timeout", function()
    dir = dir or trk.tmpdir()
    srv = server.start({ "--latency", "3000" })
    local t = B.connect({ timeout = 0.5, retry_for = 0.1 })
    local _, e = t:stages()
    assert.is_true(tracker.is_error(e))
    assert.are.equal("timeout", e.code, tostring(e))
  end)

  -- Streams a whole kind from a server with 100 ms latency, pages of 100, doing no work on
  -- the records: the count and what t:stats() says.
  local function slow_stream(args, kind, opts)
    srv = server.start(args)
    local t = B.connect(opts)
    local n = 0
    for _ in t[kind](t, { page_size = 100 }) do n = n + 1 end
    local st = t:stats()
    t:close()
    return n, st
  end

  it("keeps more pages in flight while the script waits for them, one with a rate budget", function()
    local args = { "--synthetic", "3000", "--latency", "100" }
    local n, st = slow_stream(args, "candidates", {})
    assert.are.equal(3000, n)
    assert.is_true((st.prefetch or 1) > 1, tostring(st.prefetch))
    -- getSettingsData, 30 full pages, the empty one that ends it, at most 3 asked for past it
    assert.is_true(st.requests <= 1 + 31 + 3, tostring(st.requests))
    B.stop()
    n, st = slow_stream(args, "candidates", { rate_limit = 6000 })
    assert.are.equal(3000, n)
    assert.is_nil(st.prefetch)
    assert.are.equal(1 + 31, st.requests)
  end)

  it("asks for no page past the total a search answers", function()
    -- evidence's /Search answers a total, 10 rows a page; without application fields no row
    -- is read one by one
    local d = emulator.generate({ seed = 3, jobs = 4, candidates = 200 })
    local fields = {}
    for _, f in ipairs(d.customfields) do
      if f.association ~= "OpportunityResource" then fields[#fields + 1] = f end
    end
    d.customfields = fields
    local function read(opts)
      B.start({ data = d, latency = 100 })
      local t = B.connect(opts)
      local n = 0
      for _ in t:applications{ page_size = 100 } do n = n + 1 end
      local st = t:stats()
      B.stop()
      return n, st
    end
    local n, st = read({})
    local paced_n, paced = read({ rate_limit = 6000 })
    assert.are.equal(#d.applications, n)
    assert.are.equal(n, paced_n)
    assert.is_true((st.prefetch or 1) > 1, tostring(st.prefetch))
    assert.is_nil(paced.prefetch)
    assert.are.equal(paced.requests, st.requests)      -- no page asked for past the total
  end)

  it("answers network when nothing listens", function()
    srv = server.start({})
    local url = srv.url
    B.stop()
    local t = tracker.connect({ widget_url = url, rest_url = url, apikey = KEY, username = USER,
                                rate_limit = false, retry_for = 0.2 })
    local _, e = t:stages()
    assert.are.equal("network", e.code, tostring(e))
    assert.is_truthy(tostring(e):find("cannot connect", 1, true), tostring(e))
  end)
end)
