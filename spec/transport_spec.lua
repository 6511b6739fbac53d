-- tracker.transport.curl: the libcurl transport, driven against `trk emulator --port 0`.
local trk = require "support.trk"
local json = require "json"
local tracker = require "tracker"

local q = trk.quote

-- Tools that are not instrumented can hang with the ASan runtime preloaded (see
-- emulator_http_spec.lua), so every shell here drops it.
local PLAIN = "unset LD_PRELOAD; "
local SANITIZE_ENV = "ASAN_OPTIONS=detect_leaks=1:exitcode=86 "
                     .. "UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1 "

-- ---- the server ---------------------------------------------------------------------------

local running = {}

-- Starts `trk emulator --port 0 ARGS...`; returns { url, port, pid, pipe, errfile }.
local function start(args)
  local errfile = os.tmpname()
  local argv = { q(trk.bin), "emulator", "--port", "0" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = q(a) end
  local env = os.getenv("TRK_SANITIZE") and SANITIZE_ENV or ""
  local pipe = io.popen(PLAIN .. "echo $$; exec env " .. env .. table.concat(argv, " ")
                        .. " 2>" .. q(errfile) .. " </dev/null", "r")
  local s = { pid = tonumber(pipe:read("l")), pipe = pipe, errfile = errfile }
  running[#running + 1] = s
  local first = pipe:read("l")
  if first == nil then error("trk emulator did not start:\n" .. trk.slurp(errfile), 2) end
  s.url = assert(first:match("^listening on (http://[^%s]+)$"), first)
  s.port = tonumber(s.url:match(":(%d+)$"))
  return s
end

local function stop(s)
  if not s.pipe then return end
  os.execute(PLAIN .. "kill -KILL " .. s.pid .. " 2>/dev/null")
  s.pipe:close()
  s.pipe = nil
  os.remove(s.errfile)
end

local function stop_all()
  for _, s in ipairs(running) do stop(s) end
  running = {}
end

-- ---- requests -----------------------------------------------------------------------------

local JSON = { ["Content-Type"] = "application/json" }

local function get_records_body(numrecords)
  return json.encode({ trackerrms = { getRecords = {
    credentials = { apikey = "demo-key", username = "demo@example.com" },
    instructions = { recordtype = "R", numrecords = numrecords or 2 },
  } } })
end

local function get_records(tr, base, extra)
  local req = { method = "POST", url = base .. "/api/widget/getRecords", headers = JSON,
                body = get_records_body() }
  for k, v in pairs(extra or {}) do req[k] = v end
  return tr:request(req)
end

local function assert_error(code, err, ...)
  assert.is_true(tracker.is_error(err), tostring(err))
  assert.are.equal(code, err.code, tostring(err))
  for _, text in ipairs({ ... }) do
    assert.is_truthy(err.message:find(text, 1, true), err.message)
  end
end

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
    local cases = {
      { {}, "'url'" },
      { { url = 42 }, "'url'" },
      { { url = "ftp://127.0.0.1/x" }, "'url'" },
      { { url = "not a url" }, "'url'" },
      { { url = s.url, method = 1 }, "'method'" },
      { { url = s.url, method = "GET\r\nX: y" }, "'method'" },
      { { url = s.url, body = {} }, "'body'" },
      { { url = s.url, headers = "x" }, "'headers'" },
      { { url = s.url, headers = { ["X-A"] = "a\r\nX-B: b" } }, "'headers'" },
      { { url = s.url, headers = { ["Bad Name"] = "a" } }, "'headers'" },
      { { url = s.url, timeout = -1 }, "'timeout'" },
    }
    for _, case in ipairs(cases) do
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
