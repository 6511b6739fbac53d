-- trk emulator: the HTTP front. Starts `trk emulator --port 0`, drives it with curl, and checks
-- that it answers what the in-process model answers, faults included.
local trk = require "support.trk"
local json = require "json"
local emulator = require "tracker.emulator"

local q = trk.quote

local KEY, USER, TOKEN = "K3y-s3cret-7781", "ops@example.com", "T0k-s3cret-4410"
local SANITIZE_ENV = "ASAN_OPTIONS=detect_leaks=1:exitcode=86 "
                     .. "UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1 "
-- Under the sanitizer build, busted runs with the ASan runtime preloaded; tools that are not
-- instrumented (curl, env, timeout) can hang in it, so every shell here drops it (trk is
-- instrumented itself).
local PLAIN = "unset LD_PRELOAD; "

-- ---- the server ---------------------------------------------------------------------------

local running = {}

local function sanitizer_report(text)
  return text:find("ERROR: AddressSanitizer", 1, true) or text:find("ERROR: LeakSanitizer", 1, true)
         or text:find("runtime error:", 1, true)
end

-- Starts `trk emulator --port 0 ARGS...` and reads what it prints on starting.
-- Returns { url, pid, first (the first line), banner (all it printed), errfile }.
local function start(args)
  local errfile = os.tmpname()
  local argv = { q(trk.bin), "emulator", "--port", "0" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = q(a) end
  local env = os.getenv("TRK_SANITIZE") and SANITIZE_ENV or ""
  local pipe = io.popen(PLAIN .. "echo $$; exec env " .. env .. table.concat(argv, " ") .. " 2>" .. q(errfile)
                        .. " </dev/null", "r")
  local s = { pid = tonumber(pipe:read("l")), pipe = pipe, errfile = errfile }
  running[#running + 1] = s
  s.first = pipe:read("l")
  if s.first == nil then
    error("trk emulator did not start:\n" .. trk.slurp(errfile), 2)
  end
  s.url = s.first:match("^listening on (http://[^%s]+)$")
  local lines = { s.first }
  repeat
    local l = pipe:read("l")
    lines[#lines + 1] = l
  until l == nil or l:find("^stop with")
  s.banner = table.concat(lines, "\n")
  return s
end

local function stderr_of(s)
  return trk.slurp(s.errfile)
end

-- Sends a signal and waits for the exit; returns the exit code and stderr. Raises on a
-- sanitizer report.
local function stop(s, sig)
  os.execute(PLAIN .. "kill -" .. (sig or "TERM") .. " " .. s.pid)
  local _, how, code = s.pipe:close()
  s.pipe = nil
  local err = stderr_of(s)
  os.remove(s.errfile)
  if sanitizer_report(err) then error("sanitizer report from trk emulator:\n" .. err, 2) end
  return how == "exit" and code or 128 + code, err
end

-- Whatever a test left running is killed.
local function stop_all()
  for _, s in ipairs(running) do
    if s.pipe then
      os.execute(PLAIN .. "kill -KILL " .. s.pid .. " 2>/dev/null")
      s.pipe:close()
      os.remove(s.errfile)
    end
  end
  running = {}
end

-- ---- the client ----------------------------------------------------------------------------

-- Runs curl; returns { exit, status, time, headers (lower-case names), body }.
local function curl(url, opts)
  opts = opts or {}
  local bodyfile, headfile = os.tmpname(), os.tmpname()
  local cmd = { PLAIN .. "curl -sS --max-time 60 -o", q(bodyfile), "-D", q(headfile),
                "-w '%{http_code} %{time_total}'" }
  if opts.method then cmd[#cmd + 1] = "-X " .. q(opts.method) end
  for name, value in pairs(opts.headers or {}) do cmd[#cmd + 1] = "-H " .. q(name .. ": " .. value) end
  if opts.body then cmd[#cmd + 1] = "--data-binary " .. q(opts.body) end
  if opts.file then cmd[#cmd + 1] = "--data-binary @" .. q(opts.file) end
  cmd[#cmd + 1] = q(url) .. " 2>/dev/null"
  local p = io.popen(table.concat(cmd, " "), "r")
  local w = p:read("a")
  local _, _, code = p:close()
  local r = { exit = code, headers = {}, body = trk.slurp(bodyfile) }
  r.status, r.time = w:match("^(%d+) ([%d.]+)")
  r.status, r.time = tonumber(r.status), tonumber(r.time)
  for line in trk.slurp(headfile):gmatch("[^\r\n]+") do
    if line:find("^HTTP/") then r.headers = {} end     -- the last answer's headers (after a 100)
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then r.headers[name:lower()] = value end
  end
  os.remove(bodyfile)
  os.remove(headfile)
  return r
end

local function widget_body(verb, instructions, credentials)
  return json.encode({ trackerrms = { [verb] = {
    credentials = credentials or { apikey = KEY, username = USER },
    instructions = instructions or {},
  } } })
end

local function get_records(s, instructions, credentials)
  return curl(s.url .. "/api/widget/getRecords", {
    headers = { ["Content-Type"] = "application/json" },
    body = widget_body("getRecords", instructions, credentials) })
end

local function exchange(s, token)
  local r = curl(s.url .. "/api/Auth/ExchangeToken", {
    headers = { ["Content-Type"] = "application/json" },
    body = json.encode({ bearerToken = token or TOKEN }) })
  return r, r.status == 200 and json.decode(r.body).token or nil
end

local function paged_search(s, jwt, request)
  return curl(s.url .. "/api/v1/OpportunityResource/PagedSearch", {
    headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. jwt },
    body = json.encode(request) })
end

-- The model in this process, made as the server makes it for `--generate 30 --seed 5
-- --dialect rich` (the dialect of PagedSearch).
local function local_model()
  return emulator.new({ apikey = KEY, username = USER, api_token = TOKEN, dialect = "rich",
                        data = emulator.generate({ seed = 5, candidates = 30 }) })
end

local function decodes(text)
  return (pcall(json.decode, text))
end

-- Runs trk emulator expecting it to exit by itself (a bad command line): { code, stderr }.
local function exec(args)
  local errfile = os.tmpname()
  local argv = { "timeout -s KILL 60", q(trk.bin), "emulator" }
  for _, a in ipairs(args) do argv[#argv + 1] = q(a) end
  local env = os.getenv("TRK_SANITIZE") and "env " .. SANITIZE_ENV or ""
  local p = io.popen(PLAIN .. env .. table.concat(argv, " ") .. " 2>" .. q(errfile) .. " </dev/null", "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local err = trk.slurp(errfile)
  os.remove(errfile)
  if sanitizer_report(err) then error("sanitizer report:\n" .. err, 2) end
  return { code = code, stdout = out, stderr = err }
end

-- ---- specs ---------------------------------------------------------------------------------

describe("trk emulator", function()
  local s

  setup(function()
    s = start({ "--generate", "30", "--seed", "5", "--apikey", KEY, "--username", USER,
                "--api-token", TOKEN, "--verbose", "--dialect", "rich" })
  end)

  teardown(function()
    local code, err = stop(s)
    stop_all()
    assert.are.equal(0, code, err)
  end)

  it("prints where it listens as its first line", function()
    assert.is_truthy(s.first:match("^listening on http://127%.0%.0%.1:%d+$"), s.first)
  end)

  it("names the client's variables but never prints credentials given to it", function()
    assert.is_truthy(s.banner:find("TRACKER_APIKEY", 1, true), s.banner)
    assert.is_truthy(s.banner:find("TRACKER_API_TOKEN", 1, true), s.banner)
    assert.is_truthy(s.banner:find("TRACKER_WIDGET_URL=" .. s.url, 1, true), s.banner)
    for _, secret in ipairs({ KEY, USER, TOKEN }) do
      assert.is_falsy(s.banner:find(secret, 1, true), secret)
    end
  end)

  it("answers getRecords with the page the model answers", function()
    local instructions = { recordtype = "R", numrecords = 10, pagenum = 1 }
    local r = get_records(s, instructions)
    assert.are.equal(200, r.status)
    assert.is_truthy(r.headers["content-type"]:find("application/json", 1, true))
    local page = json.decode(r.body)
    assert.are.equal(0, page.status)
    assert.are.equal(10, page.count)
    assert.are.equal(10, #page.results)
    local _, _, body = local_model():handle("POST", "/api/widget/getRecords",
      { ["content-type"] = "application/json" }, widget_body("getRecords", instructions))
    assert.are.same(json.decode(body), page)
  end)

  it("answers a REST PagedSearch with the page the model answers", function()
    local _, jwt = exchange(s)
    assert.is_string(jwt)
    local request = { pageNumber = 2, pageSize = 7 }
    local r = paged_search(s, jwt, request)
    assert.are.equal(200, r.status, r.body)
    local page = json.decode(r.body)
    assert.are.equal(7, #page.opportunityResources)
    for _, k in ipairs({ "totalCount", "totalPages", "pageSize", "hasNextPage" }) do
      assert.is_not_nil(page[k], k)
    end
    local emu = local_model()
    local _, _, tb = emu:handle("POST", "/api/Auth/ExchangeToken",
      { ["content-type"] = "application/json" }, json.encode({ bearerToken = TOKEN }))
    local _, _, body = emu:handle("POST", "/api/v1/OpportunityResource/PagedSearch",
      { ["content-type"] = "application/json", authorization = "Bearer " .. json.decode(tb).token },
      json.encode(request))
    assert.are.same(json.decode(body), page)
  end)

  it("answers widget status 1 to a wrong API key", function()
    local r = get_records(s, { recordtype = "R" }, { apikey = "wrong", username = USER })
    assert.are.equal(200, r.status)
    local answer = json.decode(r.body)
    assert.are.equal(1, answer.status)
    assert.are.equal(0, answer.count)
  end)

  it("answers 401 to an exchange with a wrong API token", function()
    local r = exchange(s, "not-the-token")
    assert.are.equal(401, r.status)
  end)

  it("answers 401 with a problem body to a REST call with a forged JWT", function()
    local r = paged_search(s, "eyJhbGciOiJIUzI1NiJ9.e30.forged", { pageNumber = 1 })
    assert.are.equal(401, r.status)
    assert.are.equal(401, json.decode(r.body).status)
  end)

  it("answers 404 with a problem body for an unknown path", function()
    local r = curl(s.url .. "/api/v1/Nothing/Here")
    assert.are.equal(404, r.status)
    assert.are.equal(404, json.decode(r.body).status)
  end)

  it("keeps the admin endpoints closed without --admin", function()
    assert.are.equal(404, curl(s.url .. "/_emulator/state").status)
  end)

  it("answers 413 to a request body over 32 MiB", function()
    local big = os.tmpname()
    os.execute(PLAIN .. "head -c 34000000 /dev/zero > " .. q(big))
    local r = curl(s.url .. "/api/widget/getRecords", { file = big })
    os.remove(big)
    assert.are.equal(413, r.status)
  end)

  it("serves clients concurrently", function()
    local slow = start({ "--generate", "5", "--latency", "400" })
    local cmd = PLAIN .. "s=$(date +%s%N); for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code}\\n' "
      .. q(slow.url .. "/api/v1/Nothing") .. " & done; wait; e=$(date +%s%N); "
      .. "echo ms $(( (e - s) / 1000000 ))"
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    assert.are.equal(0, (stop(slow)))
    local _, n404 = out:gsub("404\n", "")
    assert.are.equal(6, n404, out)
    local ms = tonumber(out:match("ms (%d+)"))
    assert.is_true(ms >= 400 and ms < 6 * 400 / 2, out)   -- six waits overlap
  end)

  it("logs one line per request with --verbose, without credentials or query", function()
    get_records(s, { recordtype = "R", numrecords = 1 })
    curl(s.url .. "/api/v1/OpportunityResource/5?apikey=" .. KEY,
         { headers = { Authorization = "Bearer " .. TOKEN } })
    local err = stderr_of(s)
    assert.is_truthy(err:find("POST /api/widget/getRecords 200 %d+ [%d.]+ms\n"), err)
    assert.is_truthy(err:find("GET /api/v1/OpportunityResource/5 401 %d+ [%d.]+ms\n"), err)
    for _, secret in ipairs({ KEY, USER, TOKEN, "apikey" }) do
      assert.is_falsy(err:find(secret, 1, true), secret)
    end
  end)
end)

describe("trk emulator faults", function()
  after_each(stop_all)

  it("drops a connection without answering (curl: empty reply)", function()
    local s = start({ "--generate", "5", "--faults", "drop=1" })
    local r = get_records(s, { recordtype = "R" })
    assert.are.equal(52, r.exit)
    assert.are.equal("", r.body)
    assert.are.equal(0, (stop(s)))
  end)

  it("truncates a body: curl sees a short read and the JSON does not parse", function()
    local s = start({ "--generate", "5", "--faults", "truncate=1" })
    local r = get_records(s, { recordtype = "R" })
    assert.are.equal(18, r.exit)
    assert.is_true(#r.body < tonumber(r.headers["content-length"]))
    assert.is_false(decodes(r.body))
    assert.are.equal(0, (stop(s)))
  end)

  it("sends a malformed body as a complete answer", function()
    local s = start({ "--generate", "5", "--faults", "malformed=100%" })
    local r = get_records(s, { recordtype = "R" })
    assert.are.equal(0, r.exit)
    assert.are.equal(200, r.status)
    assert.are.equal(#r.body, tonumber(r.headers["content-length"]))
    assert.is_false(decodes(r.body))
    assert.are.equal(0, (stop(s)))
  end)

  it("strips the model's instructions from the headers it sends", function()
    local s = start({ "--generate", "5", "--faults", "truncate=1", "--latency", "5" })
    local r = get_records(s, { recordtype = "R" })
    for name in pairs(r.headers) do assert.is_falsy(name:find("^x%-emulator"), name) end
    assert.are.equal(0, (stop(s)))
  end)

  it("never faults the admin endpoints", function()
    local s = start({ "--generate", "5", "--faults", "drop=1", "--admin" })
    local r = curl(s.url .. "/_emulator/state")
    assert.are.equal(200, r.status)
    assert.are.equal(5, #json.decode(r.body).candidates)
    assert.are.equal(0, (stop(s)))
  end)

  it("answers a fraction of requests 500, 502 or 503 with 5xx=", function()
    local s = start({ "--generate", "5", "--faults", "5xx=1,seed=3" })
    for _ = 1, 3 do
      local status = get_records(s, { recordtype = "R" }).status
      assert.is_true(status == 500 or status == 502 or status == 503, tostring(status))
    end
    assert.are.equal(0, (stop(s)))
  end)

  it("answers 429 with Retry-After past the rate limit", function()
    local s = start({ "--generate", "5", "--rate-limit", "2/min" })
    assert.are.equal(200, get_records(s, { recordtype = "R" }).status)
    assert.are.equal(200, get_records(s, { recordtype = "R" }).status)
    local r = get_records(s, { recordtype = "R" })
    assert.are.equal(429, r.status)
    local wait = tonumber(r.headers["retry-after"])
    assert.is_true(wait ~= nil and wait >= 1 and wait <= 60, tostring(r.headers["retry-after"]))
    assert.are.equal(0, (stop(s)))
  end)

  it("delays answers by --latency", function()
    local s = start({ "--generate", "5", "--latency", "300-350" })
    local r = get_records(s, { recordtype = "R", numrecords = 1 })
    assert.are.equal(200, r.status)
    assert.is_true(r.time >= 0.3, tostring(r.time))
    assert.are.equal(0, (stop(s)))
  end)

  it("caps REST pages with page-cap=", function()
    local s = start({ "--generate", "20", "--faults", "page-cap=3", "--dialect", "rich" })
    local _, jwt = exchange(s, "demo-token")
    local page = json.decode(paged_search(s, jwt, { pageNumber = 1, pageSize = 50 }).body)
    assert.are.equal(3, #page.opportunityResources)
    assert.are.equal(0, (stop(s)))
  end)
end)

describe("trk emulator command line", function()
  after_each(function()
    stop_all()
    trk.cleanup()
  end)

  it("serves the demo database and demo credentials by default", function()
    local s = start({})
    assert.is_truthy(s.banner:find("TRACKER_APIKEY=demo-key", 1, true), s.banner)
    local r = get_records(s, { recordtype = "R" }, { apikey = "demo-key", username = "demo@example.com" })
    assert.are.equal(0, json.decode(r.body).status)
    assert.are.equal(0, (stop(s)))
  end)

  it("serves a JSON fixture given with --data", function()
    local dir = trk.tmpdir()
    local emu = emulator.new({ data = emulator.generate({ seed = 2, candidates = 3 }) })
    trk.write(dir .. "/fixture.json", emu:to_json())
    local s = start({ "--data", dir .. "/fixture.json", "--admin" })
    local state = json.decode(curl(s.url .. "/_emulator/state").body)
    assert.are.equal(3, #state.candidates)
    assert.are.equal(0, (stop(s)))
  end)

  it("exits 1 naming a fixture that is not JSON", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/broken.json", "{\"candidates\": [")
    local r = exec({ "--data", dir .. "/broken.json" })
    assert.are.equal(1, r.code)
    assert.is_truthy(r.stderr:find("broken.json", 1, true), r.stderr)
  end)

  it("stops on SIGINT with exit 0", function()
    local s = start({ "--generate", "5" })
    assert.are.equal(0, (stop(s, "INT")))
  end)

  it("stops on SIGTERM with exit 0, closing an idle keep-alive connection", function()
    local s = start({ "--generate", "5" })
    local p = io.popen(PLAIN .. "bash -c " .. q("exec 3<>/dev/tcp/127.0.0.1/" .. s.url:match(":(%d+)$")
                       .. " && printf 'GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n' >&3 && cat <&3 >/dev/null"),
                       "r")
    os.execute(PLAIN .. "sleep 0.3")
    assert.are.equal(0, (stop(s, "TERM")))
    p:close()
  end)

  it("documents itself in 'trk help emulator'", function()
    local r = trk.exec({ "help", "emulator" })
    assert.are.equal(0, r.code)
    for _, text in ipairs({ "--port N", "--faults SPEC", "page-cap=N", "--rate-limit N/min" }) do
      assert.is_truthy(r.stdout:find(text, 1, true), text)
    end
  end)

  local bad = {
    { { "--port", "65536" }, "--port: '65536'" },
    { { "--port" }, "--port needs a value" },
    { { "--host", "example.com" }, "--host: 'example.com' is not an IP address" },
    { { "--faults", "bogus=1" }, "--faults: unknown key 'bogus'" },
    { { "--faults", "drop=1.5" }, "--faults: drop=1.5" },
    { { "--faults", "drop" }, "--faults: 'drop' is not KEY=VALUE" },
    { { "--faults", "drop=0.1,,truncate=0.1" }, "--faults: empty item" },
    { { "--faults", "drop=0.6,truncate=0.6" }, "--faults: " },
    { { "--faults", "page-cap=0" }, "--faults: page-cap=0" },
    { { "--faults", "skew=soon" }, "--faults: skew=soon" },
    { { "--latency", "80-20" }, "--latency: '80-20'" },
    { { "--rate-limit", "fast" }, "--rate-limit: 'fast'" },
    { { "--timezone", "Mars/Olympus_Mons" }, "--timezone: " },
    { { "--generate", "-5" }, "--generate: '-5'" },
    { { "--data", "/nonexistent/fixture.json" }, "--data: cannot read" },
    { { "--data", "x.json", "--generate", "3" }, "cannot be used together" },
    { { "--verbos" }, "unknown option '--verbos'" },
  }
  for _, case in ipairs(bad) do
    it("exits 2 for " .. table.concat(case[1], " "), function()
      local r = exec(case[1])
      assert.are.equal(2, r.code, r.stderr)
      assert.is_truthy(r.stderr:find(case[2], 1, true), r.stderr)
      assert.are.equal("", r.stdout)
    end)
  end

  it("never echoes a credential, even in a usage error", function()
    local r = exec({ "--apikey", "S3cr3t-0001", "--api-key=S3cr3t-0002", "--port", "x" })
    assert.are.equal(2, r.code)
    assert.is_falsy(r.stderr:find("S3cr3t", 1, true), r.stderr)
  end)

  it("answers 400 to conflicting, repeated or non-numeric Content-Length, never the model", function()
    local s = start({ "--generate", "5", "--verbose" })
    local port = s.url:match(":(%d+)$")
    local dir = trk.tmpdir()
    -- curl sends one Content-Length only: the request goes raw over a socket
    local function raw(lengths, extra)
      local head = "POST /api/widget/checkLogon HTTP/1.1\r\nHost: a\r\n" .. (extra or "")
      for _, l in ipairs(lengths) do head = head .. "Content-Length: " .. l .. "\r\n" end
      trk.write(dir .. "/request", head .. "Connection: close\r\n\r\n{}")
      local p = io.popen(PLAIN .. "timeout 30 bash -c " .. q("exec 3<>/dev/tcp/127.0.0.1/" .. port
                         .. " && cat " .. q(dir .. "/request") .. " >&3 && cat <&3"), "r")
      local answer = p:read("a")
      p:close()
      return tonumber(answer:match("^HTTP/1%.1 (%d+)")), answer
    end
    for _, lengths in ipairs({ { "2", "3" }, { "3", "2" }, { "2", "2" }, { "0", "2" } }) do
      local status, answer = raw(lengths)
      assert.are.equal(400, status, answer)
      assert.is_truthy(answer:lower():find("\r\nconnection: close\r\n", 1, true), answer)
      local problem = json.decode(answer:match("\r\n\r\n(.*)$"))
      assert.are.equal(400, problem.status)
      assert.is_truthy(problem.detail:find("more than one Content-Length", 1, true), problem.detail)
    end
    -- libmicrohttpd refuses these itself, before the front sees the request
    for _, lengths in ipairs({ { "+2" }, { "0x2" }, { "2, 2" }, { "-2" }, { "2 2" } }) do
      local status, answer = raw(lengths)
      assert.are.equal(400, status, table.concat(lengths, " ") .. "\n" .. answer)
    end
    -- a length and a chunked body: two ways to frame one request
    local status, answer = raw({ "2" }, "Transfer-Encoding: chunked\r\n")
    assert.are.equal(400, status, answer)
    assert.is_truthy(answer:find("both Content-Length and Transfer-Encoding", 1, true), answer)
    assert.are.equal(200, (raw({ "2" })))
    local err = stderr_of(s)
    local _, answered = err:gsub("POST /api/widget/checkLogon 200 ", "")
    assert.are.equal(1, answered, err)                 -- the model saw only the good request
    assert.are.equal(0, (stop(s)))
  end)
end)

describe("trk emulator's banner", function()
  local server = require "support.server"
  teardown(function() server.stop_all() end)

  it("gives export lines to paste: its own zone and rate budget, notes on lines of their own", function()
    local s = server.start({ "--rate-limit", "300/min", "--timezone", "America/Chicago" })
    local lines = {}
    for l in s.pipe:lines() do
      if l:match("^stop with") then break end
      lines[#lines + 1] = l
    end
    local banner = table.concat(lines, "\n")
    assert.matches("\nexport TRACKER_TIMEZONE=America/Chicago\n", banner, 1, true)
    assert.matches("\nexport TRACKER_RATE_LIMIT=300\n", banner, 1, true)
    assert.matches("\nexport TRACKER_STAGES='Applied=1;", banner, 1, true)
    for _, l in ipairs(lines) do           -- an export line is all shell: nothing after it
      if l:match("^export ") then
        assert.matches("^export TRACKER_[%u_]+=%S+$", (l:gsub("'[^']*'", "Q")))
      end
    end
  end)
end)
