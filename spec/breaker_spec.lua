-- The client's circuit breaker (bindings/lua/pipeline.lua): an outage, as the in-process
-- emulator behind a wrapper that refuses every connection while `down`, in simulated time.
local tracker = require "tracker"
local emulator = require "tracker.emulator"

local now, sent                  -- simulated seconds; when requests came
local down_until, refusals       -- the server is unreachable until then; refuse this many more
local emu, data

local function start()
  now, sent, down_until, refusals = 1795000000.0, {}, nil, 0
  data = data or emulator.generate({ seed = 3, jobs = 4, candidates = 10 })
  emu = emulator.new({ apikey = "k", username = "u", api_token = "t", data = data,
                       clock = function() return math.floor(now) end })
end

-- The emulator, or a refused connection (nothing reaches it) while it is down.
local function transport()
  return setmetatable({ handle = function(_, method, path, headers, body)
    local down = (down_until and now < down_until) or refusals > 0
    refusals = math.max(0, refusals - 1)
    sent[#sent + 1] = { at = now, down = down }
    if down then return 200, { ["x-emulator-fault"] = "refuse" }, "" end
    return emu:handle(method, path, headers, body)
  end }, { __index = emu })
end

-- A client whose breaker tells `events` of each change, as trk's session hears them.
local function connect(opts, events, breaker)
  local o = { transport = transport(), rate_limit = false, timezone = false,
              clock = function() return now end, sleep = function(s) now = now + s end }
  for k, v in pairs(opts or {}) do o[k] = v end
  local sink = { write = function(_, _, send) return send() end,
                 outage = breaker or { notify = function(ev) events[#events + 1] = ev end } }
  return tracker.connect(o, sink)
end

-- A client that has reached the server once (the breaker guards only a server that answered).
local function reached(opts, events, breaker)
  local t = connect(opts, events, breaker)
  assert.is_truthy(t:job(data.jobs[1].id))
  return t
end

describe("the client's circuit breaker", function()
  before_each(start)

  it("retries a single connection failure as before, and says nothing of an outage", function()
    local events = {}
    local t = reached({}, events)
    refusals = 1
    assert.is_truthy(t:job(data.jobs[2].id))
    assert.are.same({}, events)
    assert.is_nil(t:stats().outage)
    assert.are.equal(1, t:stats().retries)
  end)

  it("opens after three failures in a row, then probes one request at a time, 5 s growing to "
     .. "30 s apart", function()
    local events = {}
    local t = reached({ outage_budget = 120, retry_for = 5 }, events)
    local before = #sent
    down_until = math.huge
    local start_at = now
    local r, e = t:job(data.jobs[2].id)
    assert.is_nil(r)
    assert.are.equal("unreachable", e.code)
    assert.matches("outage budget", e.message)
    -- the budget, not retry_for (5 s), bounded the wait
    assert.is_true(now - start_at >= 120)
    local gaps = {}
    for i = before + 2, #sent do gaps[#gaps + 1] = sent[i].at - sent[i - 1].at end
    -- two retries with backoff (under 5 s), then probes 5, 10, 20, 30, 30... s apart
    assert.is_true(gaps[1] < 5 and gaps[2] < 5)
    assert.are.same({ 5, 10, 20, 30, 30 }, { table.unpack(gaps, 3, 7) })
    assert.are.equal("open", events[1].state)
    assert.are.equal(1, events[1].attempt)
    assert.are.equal(5, events[1].retry_in)
    assert.are.equal(2, events[2].attempt)
    assert.are.equal(10, events[2].retry_in)
    assert.are.equal("gave_up", events[#events].state)
    assert.is_true(events[#events].down_for >= 120)
  end)

  it("closes when a probe is answered, and the held call goes on", function()
    local events = {}
    local t = reached({ outage_budget = 300 }, events)
    down_until = now + 40
    local r = t:job(data.jobs[2].id)
    assert.is_truthy(r)
    assert.are.equal(data.jobs[2].id, r.id)
    local last = events[#events]
    assert.are.equal("closed", last.state)
    assert.is_true(last.down_for >= 40 and last.down_for < 80)
    assert.is_nil(t:stats().outage)
    assert.are.equal(1, t:stats().outages)
  end)

  it("past the outage budget sends nothing more: every call fails at once", function()
    local events = {}
    local t = reached({ outage_budget = 10 }, events)
    down_until = now + 60
    local _, e = t:job(data.jobs[2].id)
    assert.are.equal("unreachable", e.code)
    now = now + 60                      -- even once it is back: the client has given up
    local n, at = #sent, now
    local _, e2 = t:candidate(data.candidates[1].id)
    assert.are.equal("unreachable", e2.code)
    assert.are.equal(n, #sent)
    assert.are.equal(at, now)
    assert.is_true(t:stats().outage.gave_up)
  end)

  it("holds every client lent the same breaker", function()
    local events = {}
    local shared = { notify = function(ev) events[#events + 1] = ev end }
    local a = reached({ outage_budget = 10 }, events, shared)
    local b = reached({ outage_budget = 10 }, events, shared)
    down_until = math.huge
    assert.are.equal("unreachable", select(2, a:job(data.jobs[2].id)).code)
    local n = #sent
    assert.are.equal("unreachable", select(2, b:job(data.jobs[2].id)).code)
    assert.are.equal(n, #sent)
    assert.are.equal(1, #(function() local g = {} for _, ev in ipairs(events) do
      if ev.state == "gave_up" then g[#g + 1] = ev end end return g end)())
  end)

  it("is lent one a server when the sink lends by server, and none for an in-process emulator",
     function()
    local asked = {}
    local function lend(server)
      asked[#asked + 1] = server
      return { notify = function() end }
    end
    local sink = { write = function(_, _, send) return send() end, outage = lend }
    tracker.connect({ widget_url = "http://a.example", rest_url = "http://a.example",
                      apikey = "k", rate_limit = false }, sink)
    tracker.connect({ widget_url = "http://b.example", apikey = "k", rate_limit = false }, sink)
    tracker.connect({ transport = transport(), rate_limit = false }, sink)
    assert.are.same({ "http://a.example http://a.example", "http://b.example -" }, asked)
  end)

  it("does not hold a server that never answered: it fails fast as before", function()
    local events = {}
    down_until = math.huge
    local t = connect({}, events)
    local _, e = t:job(data.jobs[1].id)
    assert.are.equal("network", e.code)
    assert.is_true(now - 1795000000.0 <= 5)
    assert.are.same({}, events)
  end)

  it("refuses an outage budget that is not above 0", function()
    assert.has_error(function() connect({ outage_budget = 0 }, {}) end,
                     "tracker.connect: option 'outage_budget' must be above 0")
  end)
end)
