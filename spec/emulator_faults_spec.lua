-- Faults and limits of the Tracker emulator: latency, rate limit, 5xx, damaged answers, the
-- REST page cap and clock skew. Each is off by default and shown here on its own.
local emulator = require "tracker.emulator"
local json = require "json"
local time = require("tracker").time

local NOW = time.parse("2026-11-20T12:00:00Z")
local CREDS = { username = "ops@example.com", apikey = "K3y" }

local function make(faults, data, dialect)
  local clock = { now = NOW }
  local emu = emulator.new{ clock = function() return clock.now end, apikey = "K3y",
                            username = "ops@example.com", api_token = "T0k",
                            timezone = "America/New_York", faults = faults, dialect = dialect,
                            data = data or emulator.generate{ seed = 5, jobs = 3, candidates = 30 } }
  return emu, clock
end

local function logon(emu)
  return emu:handle("POST", "/api/widget/checkLogon", {},
                    json.encode({ trackerrms = { checkLogon = { credentials = CREDS } } }))
end

local function tag(emu, value)
  return emu:handle("POST", "/api/widget/updateRecord", {}, json.encode({ trackerrms = { updateRecord = {
    credentials = CREDS, instructions = { recordtype = "R", recordid = 188001 },
    updates = { { column = "tag", value = value } } } } }))
end

describe("faults", function()
  it("are all off by default", function()
    local emu = make()
    for _ = 1, 200 do
      local status, h = logon(emu)
      assert.equal(200, status)
      assert.is_nil(h["x-emulator-delay-ms"])
      assert.is_nil(h["x-emulator-fault"])
    end
  end)

  it("raise on an unknown name, naming the function", function()
    local emu = make()
    assert.has_error(function() emu:set_faults{ lag = 5 } end, "emulator:set_faults: unknown fault 'lag'")
  end)

  it("raise when drop, truncate and malformed add up to more than 1", function()
    assert.has_error(function() make{ drop = 0.6, truncate = 0.6 } end)
  end)

  it("never touch /_emulator requests", function()
    local emu = emulator.new{ admin = true, faults = { errors = 1, rate_limit = 1, drop = 1 } }
    for _ = 1, 3 do
      assert.equal(200, (emu:handle("GET", "/_emulator/state", {}, "")))
    end
  end)
end)

describe("latency", function()
  it("is returned in x-emulator-delay-ms, not slept", function()
    local emu = make{ latency = 250 }
    local started = os.clock()
    local status, h = logon(emu)
    assert.equal(200, status)
    assert.equal("250", h["x-emulator-delay-ms"])
    assert.is_true(os.clock() - started < 0.2)
  end)

  it("draws from a range, the same for the same seed", function()
    local a, b = make{ latency = { 20, 80 }, seed = 9 }, make{ latency = { 20, 80 }, seed = 9 }
    local seen = {}
    for _ = 1, 100 do
      local _, ha = logon(a)
      local _, hb = logon(b)
      local ms = tonumber(ha["x-emulator-delay-ms"])
      assert.is_true(ms >= 20 and ms <= 80)
      assert.equal(ha["x-emulator-delay-ms"], hb["x-emulator-delay-ms"])
      seen[ms] = true
    end
    assert.is_true(next(seen, next(seen)) ~= nil)   -- more than one value
  end)

  it("applies to rejected requests too", function()
    local emu = make{ latency = 40, rate_limit = 1 }
    logon(emu)
    local status, h = logon(emu)
    assert.equal(429, status)
    assert.equal("40", h["x-emulator-delay-ms"])
  end)
end)

describe("rate limit", function()
  it("answers 429 with Retry-After past the budget", function()
    local emu = make{ rate_limit = 3 }
    for _ = 1, 3 do assert.equal(200, (logon(emu))) end
    local status, h, body = logon(emu)
    assert.equal(429, status)
    assert.equal("60", h["retry-after"])
    assert.equal(429, json.decode(body).status)
  end)

  it("counts Retry-After down to when the oldest request leaves the window", function()
    local emu, clock = make{ rate_limit = 2 }
    logon(emu)
    clock.now = NOW + 20
    logon(emu)
    clock.now = NOW + 45
    local _, h = logon(emu)
    assert.equal("15", h["retry-after"])
  end)

  it("lets requests through again once the window has moved", function()
    local emu, clock = make{ rate_limit = 2 }
    logon(emu)
    logon(emu)
    assert.equal(429, (logon(emu)))
    clock.now = NOW + 60
    assert.equal(200, (logon(emu)))
  end)

  it("limits both APIs together", function()
    local emu = make{ rate_limit = 1 }
    logon(emu)
    local status = emu:handle("POST", "/api/Auth/ExchangeToken", {}, '{"bearerToken":"T0k"}')
    assert.equal(429, status)
  end)
end)

describe("5xx answers", function()
  it("answer every request at rate 1 with 500, 502 or 503", function()
    local emu = make{ errors = 1 }
    local statuses = {}
    for _ = 1, 60 do
      local status = logon(emu)
      statuses[status] = true
    end
    assert.same({ [500] = true, [502] = true, [503] = true }, statuses)
  end)

  it("hit about the configured fraction, the same requests for the same seed", function()
    local function run()
      local emu, failed, pattern = make{ errors = 0.2, seed = 3 }, 0, {}
      for i = 1, 1000 do
        local status = logon(emu)
        if status >= 500 then failed = failed + 1; pattern[i] = true end
      end
      return failed, pattern
    end
    local n, first = run()
    local _, second = run()
    assert.is_true(n > 150 and n < 250, "failed " .. n)
    assert.same(first, second)
  end)

  it("send a gateway's HTML page for 502 and 503", function()
    local status, h, body = logon(make{ errors = { rate = 1, statuses = { 502 } } })
    assert.equal(502, status)
    assert.equal("text/html; charset=utf-8", h["content-type"])
    assert.matches("502 Bad Gateway", body)
  end)

  it("send a problem body for 500", function()
    local status, h, body = logon(make{ errors = { rate = 1, statuses = { 500 } } })
    assert.equal(500, status)
    assert.equal("application/problem+json; charset=utf-8", h["content-type"])
    assert.equal(500, json.decode(body).status)
  end)

  it("happen before the request is processed", function()
    local emu = make{ errors = 1 }
    tag(emu, "never")
    assert.not_equal("never", emu:get("candidates", 188001).tag)
  end)
end)

describe("damaged answers", function()
  it("drop: status 0, no body, marked for the HTTP front; the write happened", function()
    local emu = make{ drop = 1 }
    local status, h, body = tag(emu, "dropped")
    assert.same({ 0, "drop", "" }, { status, h["x-emulator-fault"], body })
    assert.equal("dropped", emu:get("candidates", 188001).tag)
  end)

  it("truncate: half the body and its full length, marked", function()
    local status, h, body = logon(make{ truncate = 1 })
    local full = tonumber(h["x-emulator-full-length"])
    assert.equal(200, status)
    assert.equal("truncate", h["x-emulator-fault"])
    assert.equal(full // 2, #body)
    assert.is_false(pcall(json.decode, body))
  end)

  it("malformed: a complete answer that is not JSON, marked", function()
    local status, h, body = logon(make{ malformed = 1 })
    assert.equal(200, status)
    assert.equal("malformed", h["x-emulator-fault"])
    assert.matches("^{", body)
    assert.is_false(pcall(json.decode, body))
  end)

  it("split the fractions between the three kinds", function()
    local emu = make{ drop = 0.1, truncate = 0.1, malformed = 0.1 }
    local kinds = {}
    for _ = 1, 600 do
      local _, h = logon(emu)
      local k = h["x-emulator-fault"] or "none"
      kinds[k] = (kinds[k] or 0) + 1
    end
    for _, k in ipairs({ "drop", "truncate", "malformed" }) do
      assert.is_true(kinds[k] > 30 and kinds[k] < 100, k .. " " .. tostring(kinds[k]))
    end
    assert.is_true(kinds.none > 350)
  end)
end)

describe("REST page cap", function()
  -- PagedSearch is the rich dialect's (the evidence dialect's /Search: emulator_dialects_spec)
  local function page(emu, size)
    local _, _, b = emu:handle("POST", "/api/Auth/ExchangeToken", {}, '{"bearerToken":"T0k"}')
    local headers = { authorization = "Bearer " .. json.decode(b).token }
    local _, _, body = emu:handle("POST", "/api/v1/OpportunityResource/PagedSearch", headers,
                                  json.encode({ pageNumber = 1, pageSize = size }))
    return json.decode(body)
  end

  it("returns at most page_cap items whatever pageSize says", function()
    local a = page(make({ page_cap = 10 }, nil, "rich"), 100)
    assert.equal(10, #a.opportunityResources)
    assert.equal(10, a.pageSize)
    assert.equal((a.totalCount + 9) // 10, a.totalPages)
    assert.is_true(a.hasNextPage)
  end)

  it("is off by default", function()
    assert.equal(45, #page(make(nil, nil, "rich"), 100).opportunityResources)
  end)
end)

describe("clock skew", function()
  it("shifts the stored last-updated times", function()
    local emu = make{ clock_skew = 3600 }
    tag(emu, "later")
    assert.equal("2026-11-20 08:00:00", emu:get("candidates", 188001).lastupdated)
  end)

  it("shifts token expiry", function()
    local emu = make{ clock_skew = -120 }
    local _, _, body = emu:handle("POST", "/api/Auth/ExchangeToken", {}, '{"bearerToken":"T0k"}')
    assert.equal("2026-11-27T11:58:00Z", json.decode(body).expiration)
  end)

  it("is visible through emu:now", function()
    assert.equal(NOW + 30, make{ clock_skew = 30 }:now())
  end)
end)

describe("set_faults", function()
  it("turns faults on and off at run time", function()
    local emu = make()
    emu:set_faults{ errors = 1 }
    assert.is_true(logon(emu) >= 500)
    emu:set_faults{}
    assert.equal(200, (logon(emu)))
  end)
end)
