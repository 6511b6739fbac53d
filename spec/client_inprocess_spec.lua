-- The client over the in-process transport: the emulator in the same Lua state, time simulated.
local tracker = require "tracker"
local emulator = require "tracker.emulator"
-- the suite uses busted's describe/it/assert: it is loaded into this file's environment
local suite = assert(loadfile("spec/support/client_suite.lua", "t", _ENV))()

local secrets = require "support.secrets"   -- the suite's distinctive credentials
local KEY, USER, TOKEN = secrets.apikey, secrets.username, secrets.api_token

local now = 1795000000.0          -- simulated seconds, shared by the client and the emulator
local emu, jwt                    -- jwt: B.rest's own

local B = { name = "the in-process transport", fake_time = true }

function B.clock() return now end
function B.advance(s) now = now + s end

function B.start(cfg)
  local faults = {}
  for k, v in pairs(cfg.faults or {}) do faults[k] = v end
  faults.rate_limit = cfg.rate_limit
  emu = emulator.new({ apikey = KEY, username = USER, api_token = TOKEN, data = cfg.data,
                       timezone = cfg.timezone, limits = cfg.limits, faults = faults,
                       dialect = cfg.dialect, clock = function() return math.floor(now) end })
end

function B.stop() emu, jwt = nil, nil end
function B.requests() return emu.requests end

function B.connect(opts)
  local o = { transport = emu, rate_limit = false, clock = B.clock, sleep = B.advance }
  for k, v in pairs(opts) do o[k] = v end
  if o.timezone == nil then o.timezone = false end
  return tracker.connect(o)
end

local json = require "json"
local call = require("support.widget").caller({ apikey = KEY, username = USER })

function B.widget(verb, instructions, nodes)
  local node = { instructions = instructions }
  for k, v in pairs(nodes or {}) do node[k] = v end
  return (call(emu, verb, node))
end

function B.exchange()
  local status = emu:handle("POST", "/api/Auth/ExchangeToken", {},
                            json.encode({ bearerToken = TOKEN }))
  assert.are.equal(200, status)
end

-- For spec/support/writes_suite.lua: the emulator's side of writes, read and set raw.
function B.state() return emu:state() end
function B.epoch() return emu:now() end
function B.set_faults(f) emu:set_faults(f) end

-- A transport that is the emulator, except that handle(emu, method, path, headers, body)
-- answers: for injected answers, and for watching what the client sends.
function B.wrap(handle)
  local real = emu
  return setmetatable({ handle = function(_, method, path, headers, body)
    return handle(real, method, path, headers, body)
  end }, { __index = real })
end

-- A raw REST call with a JWT of its own (exchanging supersedes the client's: it exchanges again).
function B.rest(method, path, body)
  for _ = 1, 2 do
    if not jwt then
      local _, _, answer = emu:handle("POST", "/api/Auth/ExchangeToken", {},
                                      json.encode({ bearerToken = TOKEN }))
      jwt = json.decode(answer).token
    end
    local status, _, answer = emu:handle(method, path, { Authorization = "Bearer " .. jwt,
      ["Content-Type"] = "application/json" }, body and json.encode(body) or "")
    if status ~= 401 then return status, json.decode(answer) end
    jwt = nil
  end
  error("B.rest: the emulator refused a fresh JWT")
end

-- the suites over every dialect of the emulator
require("support.dialect").each(B, suite, assert(loadfile("spec/support/writes_suite.lua", "t", _ENV))(),
  assert(loadfile("spec/support/crm_suite.lua", "t", _ENV))())
-- jobs created, placements, people found, CVs, documents on any record
require("support.dialect").each(B, assert(loadfile("spec/support/hiring_suite.lua", "t", _ENV))())

-- A server that answers oddly: each test gives the widget answer's JSON text.
describe("the client given answers it cannot read", function()
  local function odd(widget_body)
    local server = {}
    function server.handle(_, _, path)
      if path:find("getSettingsData", 1, true) then
        return 200, { ["content-type"] = "application/json" },
               '{"status":0,"message":"success","opportunityResourceStatuses":[{"Id":1,"Name":"Applied"}]}'
      end
      return 200, { ["content-type"] = "application/json" }, widget_body
    end
    return tracker.connect({ transport = server, apikey = KEY, username = USER, rate_limit = false,
                             clock = B.clock, sleep = B.advance, timezone = false })
  end

  local function stream_error(body)
    local st = select(2, odd(body):candidates())
    local r, e = st:next()
    assert.is_nil(r)
    assert.is_true(tracker.is_error(e), tostring(e))
    return e
  end

  local item = '{"id":5,"name":"A","lastupdateddatetime":"2026-01-01 00:00:00"}'

  it("answers bad_response for a page without results", function()
    local e = stream_error('{"status":0,"message":"success"}')
    assert.are.equal("bad_response", e.code)
    assert.is_truthy(e.message:find("no 'results' list", 1, true), e.message)
  end)

  it("answers bad_response for a status that is not a number", function()
    assert.are.equal("bad_response", stream_error('{"status":"ok","results":[]}').code)
  end)

  it("answers bad_response for an item without an id", function()
    local e = stream_error('{"status":0,"results":[{"name":"no id","lastupdateddatetime":"2026-01-01 00:00:00"}]}')
    assert.are.equal("bad_response", e.code)
    assert.is_truthy(e.message:find("record 1 of page 0 has no id", 1, true), e.message)
  end)

  it("yields a page out of id order and counts it in stats().unordered_streams", function()
    local t = odd('{"status":0,"results":[{"id":6,"name":"B"},' .. item .. ']}')
    local ids = {}
    for r in t:candidates() do ids[#ids + 1] = r.id end
    assert.are.same({ 6, 5 }, ids)
    assert.are.equal(1, t:stats().unordered_streams)
  end)

  it("answers bad_response for a JSON array where an object belongs", function()
    assert.are.equal("bad_response", stream_error('[1,2,3]').code)
  end)

  it("answers bad_response for JSON nested too deep", function()
    assert.are.equal("bad_response", stream_error(string.rep("[", 500) .. string.rep("]", 500)).code)
  end)

  it("maps widget statuses to codes", function()
    assert.are.equal("auth", stream_error('{"status":1,"message":"user or API Key not found","results":[]}').code)
    assert.are.equal("auth", stream_error('{"status":2,"message":"user not active","results":[]}').code)
    assert.are.equal("invalid_request", stream_error('{"status":99,"message":"invalid request","results":[]}').code)
    assert.are.equal("conflict", stream_error('{"status":3,"message":"record found","results":[]}').code)
    assert.are.equal("bad_response", stream_error('{"status":7,"results":[]}').code)
  end)

  it("reads a well-formed odd page to its end", function()
    local list = {}
    for r in odd('{"status":0,"results":[' .. item .. ']}'):candidates() do list[#list + 1] = r end
    assert.are.equal(1, #list)
    assert.are.equal(5, list[1].id)
  end)
end)
