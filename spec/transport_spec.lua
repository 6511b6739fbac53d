-- tracker.transport.curl: the libcurl transport, driven against `trk emulator --port 0`.
local json = require "json"
local tracker = require "tracker"

local server = require "support.server"
local start, stop, stop_all, now = server.start, server.stop, server.stop_all, server.now

-- ---- requests -----------------------------------------------------------------------------

local JSON = { ["Content-Type"] = "application/json" }

local function get_records_body(numrecords)
  return json.encode({ trackerrms = { getRecords = {
    credentials = { apikey = server.secrets.apikey, username = server.secrets.username },
    instructions = { recordtype = "R", numrecords = numrecords or 2 },
  } } })
end

local function get_records(tr, base, extra)
  local req = { method = "POST", url = base .. "/api/widget/getRecords", headers = JSON,
                body = get_records_body() }
  for k, v in pairs(extra or {}) do req[k] = v end
  return tr:request(req)
end

-- Requests a handle must refuse, each with the field its message names.
local function misuse_cases(url)
  return {
    { {}, "'url'" },
    { { url = 42 }, "'url'" },
    { { url = "ftp://127.0.0.1/x" }, "'url'" },
    { { url = "not a url" }, "'url'" },
    { { url = url, method = 1 }, "'method'" },
    { { url = url, method = "GET\r\nX: y" }, "'method'" },
    { { url = url, body = {} }, "'body'" },
    { { url = url, headers = "x" }, "'headers'" },
    { { url = url, headers = { ["X-A"] = "a\r\nX-B: b" } }, "'headers'" },
    { { url = url, headers = { ["Bad Name"] = "a" } }, "'headers'" },
    { { url = url, timeout = -1 }, "'timeout'" },
  }
end

-- Spins for the given seconds: Lua work that keeps this thread busy.
local function busy_for(seconds)
  local t0, n = now(), 0
  while now() - t0 < seconds do
    for i = 1, 1000 do n = n + i % 7 end
  end
  return n
end

-- How many threads this process runs.
local function threads()
  local f = assert(io.open("/proc/self/status"))
  local n = tonumber(f:read("a"):match("\nThreads:%s*(%d+)"))
  f:close()
  return n
end

-- The local ends of the TCP connections (IPv4, in any state) to the given port on this host,
-- as a set.
local function connections_to(port)
  local ends, f = {}, assert(io.open("/proc/net/tcp"))
  for line in f:lines() do
    local from, to = line:match("^%s*%d+: (%x+:%x+) %x+:(%x+) ")
    if to and tonumber(to, 16) == port then ends[from] = true end
  end
  f:close()
  return ends
end

local assert_error = require "support.errors"

-- ---- specs --------------------------------------------------------------------------------

describe("the curl transport", function()
  local s, tr

  setup(function() s = start() end)
  teardown(stop_all)
  before_each(function() tr = tracker.transport.curl() end)
  after_each(function() tr:close() end)

  it("answers a widget getRecords POST with 200 and a JSON body", function()
    local status, headers, body = get_records(tr, s.url)
    assert.are.equal(200, status)
    assert.are.equal("table", type(headers))
    local page = json.decode(body)
    assert.are.equal(0, page.status)
    assert.are.equal(2, #page.results)
  end)

  it("gives response headers with lower-case names", function()
    local _, headers = get_records(tr, s.url)
    assert.is_truthy(headers["content-type"]:find("application/json", 1, true))
    assert.is_truthy(tonumber(headers["content-length"]) or headers["transfer-encoding"])
    for name in pairs(headers) do assert.are.equal(name:lower(), name) end
  end)

  it("serves several requests on one handle", function()
    for _ = 1, 3 do
      local status, _, body = get_records(tr, s.url)
      assert.are.equal(200, status)
      assert.are.equal(2, #json.decode(body).results)
    end
  end)

  it("returns a 404 as a status, not as an error", function()
    local status, headers, body = tr:request{ method = "GET", url = s.url .. "/no/such/path" }
    assert.are.equal(404, status)
    assert.are.equal("table", type(headers))
    assert.are.equal("string", type(body))
  end)

  it("answers bad_response when the body exceeds max_body", function()
    local small = tracker.transport.curl{ max_body = 64 }
    local status, err = get_records(small, s.url)
    small:close()
    assert.is_nil(status)
    assert_error("bad_response", err, "max_body", "64")
    assert.is_false(err.retryable)
    -- the handle that refused a body still works with a bigger one
    assert.are.equal(200, (get_records(tr, s.url)))
  end)

  it("times out by the per-request timeout", function()
    local slow = start({ "--latency", "3000" })
    local t0 = os.time()
    local status, err = get_records(tr, slow.url, { timeout = 0.5 })
    stop(slow)
    assert.is_nil(status)
    assert_error("timeout", err, "127.0.0.1:" .. slow.port, "0.5")
    assert.is_true(err.retryable)
    assert.is_true(os.time() - t0 <= 2)
  end)

  it("reports a dropped connection as a network error", function()
    local bad = start({ "--faults", "drop=1" })
    local status, err = get_records(tr, bad.url)
    stop(bad)
    assert.is_nil(status)
    assert_error("network", err, "127.0.0.1:" .. bad.port)
    assert.is_true(err.retryable)
  end)

  it("reports a truncated body as a network error saying so", function()
    local bad = start({ "--faults", "truncate=1" })
    local status, err = get_records(tr, bad.url)
    stop(bad)
    assert.is_nil(status)
    assert_error("network", err, "truncat", "127.0.0.1:" .. bad.port)
  end)

  describe("with nothing listening", function()
    local port

    setup(function()
      local gone = start()
      port = gone.port
      stop(gone)
    end)

    it("answers a retryable network error naming host and port", function()
      local status, err = tr:request{ url = "http://127.0.0.1:" .. port .. "/api/widget/getRecords" }
      assert.is_nil(status)
      assert_error("network", err, "127.0.0.1:" .. port, "/api/widget/getRecords")
      assert.is_true(err.retryable)
    end)

    it("never puts the query string or user info in the message", function()
      local url = "http://user:PASSW0RD@127.0.0.1:" .. port .. "/api/widget/getRecords?apikey=SECRET"
      local status, err = tr:request{ method = "POST", url = url, body = "{}",
                                      headers = { Authorization = "Bearer T0KEN" } }
      assert.is_nil(status)
      for _, text in ipairs({ err.message, tostring(err) }) do
        for _, secret in ipairs({ "SECRET", "apikey", "?", "PASSW0RD", "user", "T0KEN" }) do
          assert.is_falsy(text:find(secret, 1, true), text)
        end
      end
    end)
  end)

  it("raises on misuse, naming the field", function()
    for _, case in ipairs(misuse_cases(s.url)) do
      local ok, msg = pcall(tr.request, tr, case[1])
      assert.is_false(ok)
      assert.is_truthy(msg:find(case[2], 1, true), msg)
    end
    local ok, msg = pcall(tracker.transport.curl, { timeout = "soon" })
    assert.is_false(ok)
    assert.is_truthy(msg:find("'timeout'", 1, true), msg)
    ok, msg = pcall(tracker.transport.curl, { max_body = 1.5 })
    assert.is_false(ok)
    assert.is_truthy(msg:find("'max_body'", 1, true), msg)
    -- a handle that refused a request still works
    assert.are.equal(200, (get_records(tr, s.url)))
  end)

  it("shows its state in tostring and raises when used after close", function()
    local t = tracker.transport.curl()
    assert.are.equal("transport (curl)", tostring(t))
    t:close()
    assert.are.equal("transport (closed)", tostring(t))
    t:close()                                 -- closing twice is harmless
    local ok, msg = pcall(t.request, t, { url = s.url })
    assert.is_false(ok)
    assert.is_truthy(msg:find("closed", 1, true), msg)
  end)

  it("reuses one connection for consecutive requests", function()
    local fresh = start()
    local earlier = connections_to(fresh.port)   -- a reused port may show an old server's
    for _ = 1, 3 do assert.are.equal(200, (get_records(tr, fresh.url))) end
    local made = 0
    for e in pairs(connections_to(fresh.port)) do
      if not earlier[e] then made = made + 1 end
    end
    stop(fresh)
    assert.are.equal(1, made)
  end)

  it("closes as a to-be-closed variable", function()
    local kept
    do
      local t <close> = tracker.transport.curl()
      kept = t
      assert.are.equal(200, (get_records(t, s.url)))
    end
    assert.are.equal("transport (closed)", tostring(kept))
  end)
end)

describe("the curl transport in the background", function()
  local s, slow, tr

  -- what get_records sends, for send
  local function records_request(base, numrecords)
    return { method = "POST", url = base .. "/api/widget/getRecords", headers = JSON,
             body = get_records_body(numrecords) }
  end

  setup(function()
    s = start()
    slow = start({ "--latency", "600" })   -- wide margins: the sanitizer build runs beside others
  end)
  teardown(stop_all)
  before_each(function() tr = tracker.transport.curl() end)
  after_each(function() tr:close() end)

  it("answers from wait what request answers, the sent body kept alive meanwhile", function()
    tr:send(records_request(s.url, 3))   -- the only reference to the body is the handle's
    assert.is_true(tr:busy())
    collectgarbage()
    collectgarbage()
    local status, headers, body = tr:wait()
    assert.is_false(tr:busy())
    assert.are.equal(200, status)
    assert.is_truthy(headers["content-type"]:find("application/json", 1, true))
    assert.are.equal(3, #json.decode(body).results)
  end)

  it("runs the transfers of two handles at the same time", function()
    local a, b = tracker.transport.curl(), tracker.transport.curl()
    local t0 = now()
    a:send(records_request(slow.url))
    b:send(records_request(slow.url))
    local sa, sb = a:wait(), b:wait()
    local took = now() - t0
    a:close()
    b:close()
    assert.are.equal(200, sa)
    assert.are.equal(200, sb)
    assert.is_true(took >= 0.58, took)        -- the latency was there...
    assert.is_true(took < 1.0, took)          -- ...but paid once, not twice (1.2 s)
  end)

  it("says whether the answer is in, so that wait would not block", function()
    assert.is_false(tr:ready())                -- nothing sent
    tr:send(records_request(slow.url))
    assert.is_false(tr:ready())                -- 600 ms of latency ahead
    local t0 = now()
    while not tr:ready() and now() - t0 < 5 do busy_for(0.05) end
    assert.is_true(tr:ready())
    assert.are.equal(200, (tr:wait()))
    assert.is_false(tr:ready())                -- collected
  end)

  it("lets Lua work while the transfer is under way", function()
    local t0 = now()
    tr:send(records_request(slow.url))
    busy_for(0.6)
    local status = tr:wait()
    local took = now() - t0
    assert.are.equal(200, status)
    assert.is_true(took < 1.0, took)          -- one after the other would take 1.2 s
  end)

  it("runs each transfer on a thread that ends by wait", function()
    local before = threads()
    tr:send(records_request(slow.url))
    assert.are.equal(before + 1, threads())
    assert.are.equal(200, (tr:wait()))
    assert.are.equal(before, threads())
  end)

  it("raises on wait with nothing in flight", function()
    local ok, msg = pcall(tr.wait, tr)
    assert.is_false(ok)
    assert.is_truthy(msg:find("no request in flight", 1, true), msg)
    tr:send(records_request(s.url))
    tr:wait()
    ok, msg = pcall(tr.wait, tr)             -- an answer is collected once
    assert.is_false(ok)
    assert.is_truthy(msg:find("no request in flight", 1, true), msg)
  end)

  it("raises on send or request while a request is in flight", function()
    tr:send(records_request(slow.url))
    for _, f in ipairs({ tr.send, tr.request }) do
      local ok, msg = pcall(f, tr, { url = s.url })
      assert.is_false(ok)
      assert.is_truthy(msg:find("transport: a request is already in flight", 1, true), msg)
    end
    assert.is_true(tr:busy())
    local status, _, body = tr:wait()          -- the first request is unharmed
    assert.are.equal(200, status)
    assert.are.equal(2, #json.decode(body).results)
  end)

  it("raises on misuse in send as request does, and stays idle", function()
    for _, case in ipairs(misuse_cases(s.url)) do
      local ok, msg = pcall(tr.send, tr, case[1])
      assert.is_false(ok)
      assert.is_truthy(msg:find(case[2], 1, true), msg)
      assert.is_false(tr:busy())
    end
    local ok, msg = pcall(tr.send, tr)
    assert.is_false(ok)
    assert.is_truthy(msg:find("table expected", 1, true), msg)
    tr:send(records_request(s.url))
    assert.are.equal(200, (tr:wait()))
  end)

  it("answers a failed transfer from wait as nil and a network error", function()
    local gone = start()
    stop(gone)
    tr:send{ url = "http://127.0.0.1:" .. gone.port .. "/api/widget/getRecords?apikey=SECRET" }
    local status, err = tr:wait()
    assert.is_nil(status)
    assert_error("network", err, "127.0.0.1:" .. gone.port, "/api/widget/getRecords")
    assert.is_falsy(err.message:find("SECRET", 1, true), err.message)
    assert.is_true(err.retryable)
    assert.is_false(tr:busy())
  end)

  it("answers a timeout from wait", function()
    tr:send{ url = slow.url .. "/api/widget/getRecords", timeout = 0.1 }
    local status, err = tr:wait()
    assert.is_nil(status)
    assert_error("timeout", err, "127.0.0.1:" .. slow.port, "0.1")
  end)

  it("answers bad_response from wait when the body exceeds max_body", function()
    local small = tracker.transport.curl{ max_body = 64 }
    small:send(records_request(s.url))
    local status, err = small:wait()
    small:close()
    assert.is_nil(status)
    assert_error("bad_response", err, "max_body", "64")
  end)

  describe("with a transfer that would take 5 s", function()
    local stalled

    setup(function() stalled = start({ "--latency", "5000" }) end)

    -- A handle whose request is on the wire, waiting for the answer: past curl's early timers
    -- (about 0.2 s in), when curl alone would sleep up to a second before looking again.
    local function stalled_handle()
      local t = tracker.transport.curl()
      t:send(records_request(stalled.url))
      busy_for(0.3)
      return t
    end

    it("closes promptly, ends the thread and leaves the handle closed", function()
      local before = threads()
      local t = stalled_handle()
      assert.are.equal(before + 1, threads())
      local t0 = now()
      t:close()
      local took = now() - t0
      assert.is_true(took < 0.5, took)      -- curl's own poll alone would take up to 1 s
      assert.are.equal(before, threads())
      assert.are.equal("transport (closed)", tostring(t))
      t:close()                             -- closing twice is harmless
      for _, f in ipairs({ t.wait, t.busy, t.send }) do
        local ok, msg = pcall(f, t, { url = s.url })
        assert.is_false(ok)
        assert.is_truthy(msg:find("closed", 1, true), msg)
      end
    end)

    it("closes promptly as a to-be-closed variable", function()
      local t0
      do
        local _ <close> = stalled_handle()
        t0 = now()
      end
      local took = now() - t0
      assert.is_true(took < 0.5, took)
    end)

    it("collects an in-flight handle promptly, leaving no thread behind", function()
      local before = threads()
      local weak = setmetatable({}, { __mode = "v" })
      weak[1] = stalled_handle()
      assert.are.equal(before + 1, threads())
      local t0 = now()
      collectgarbage()
      collectgarbage()
      local took = now() - t0
      assert.is_nil(weak[1])
      assert.is_true(took < 0.5, took)
      assert.are.equal(before, threads())
      assert.are.equal(200, (get_records(tr, s.url)))   -- and the process goes on
    end)
  end)
end)
