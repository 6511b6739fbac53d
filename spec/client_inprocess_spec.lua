-- The client over the in-process transport: the emulator in the same Lua state, time simulated.
local tracker = require "tracker"
local emulator = require "tracker.emulator"
-- the suite uses busted's describe/it/assert: it is loaded into this file's environment
local suite = assert(loadfile("spec/support/client_suite.lua", "t", _ENV))()

local KEY, USER, TOKEN = "demo-key", "demo@example.com", "demo-token"

local now = 1795000000.0          -- simulated seconds, shared by the client and the emulator
local emu

local B = { name = "the in-process transport", fake_time = true }

function B.clock() return now end
function B.advance(s) now = now + s end

function B.start(cfg)
  local faults = {}
  for k, v in pairs(cfg.faults or {}) do faults[k] = v end
  faults.rate_limit = cfg.rate_limit
  emu = emulator.new({ apikey = KEY, username = USER, api_token = TOKEN, data = cfg.data,
                       timezone = cfg.timezone, limits = cfg.limits, faults = faults,
                       clock = function() return math.floor(now) end })
end

function B.stop() emu = nil end
function B.requests() return emu.requests end

function B.connect(opts)
  local o = { transport = emu, rate_limit = false, clock = B.clock, sleep = B.advance }
  for k, v in pairs(opts) do o[k] = v end
  if o.timezone == nil then o.timezone = false end
  return tracker.connect(o)
end

local json = require "json"

function B.widget(verb, instructions, nodes)
  local inner = { credentials = { apikey = KEY, username = USER }, instructions = instructions }
  for k, v in pairs(nodes or {}) do inner[k] = v end
  local _, _, body = emu:handle("POST", "/api/widget/" .. verb, {},
                                json.encode({ trackerrms = { [verb] = inner } }))
  return json.decode(body)
end

function B.exchange()
  local status = emu:handle("POST", "/api/Auth/ExchangeToken", {},
                            json.encode({ bearerToken = TOKEN }))
  assert.are.equal(200, status)
end

suite(B)
