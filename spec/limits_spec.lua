-- Limits that C code must keep too: JSON encodes bounded before they start (memory, a hard
-- cap), waits in C that end at the deadline and at the first Ctrl-C, and script code run in the
-- client's own coroutines, watched like any other. Each test runs the real trk, killed after a
-- bound of its own, so that a regression fails rather than hangs.
local trk = require "support.trk"
local server = require "support.server"

local q = trk.quote
local SANITIZE = os.getenv("TRK_SANITIZE") ~= nil
local SLOW = SANITIZE and 3 or 1                   -- the sanitizer build is slower
local HAS_TIME = os.execute("test -x /usr/bin/time")
-- v: 10^9 booleans reached through 3 tables of 1000, gigabytes of JSON text
local WIDE_DAG = [[
local t = {} for i = 1, 1000 do t[i] = true end
local u = {} for i = 1, 1000 do u[i] = t end
local v = {} for i = 1, 1000 do v[i] = u end
]]

local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

-- The environment words for a shell line: the sanitizer's options, then env.
local function env_words(env)
  local words = {}
  if SANITIZE then
    words[#words + 1] = "ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
  end
  if env then words[#words + 1] = server.shell_env(env) end
  return #words > 0 and ("env " .. table.concat(words, " ") .. " ") or ""
end

local function check_sanitizer(err)
  if err:find("ERROR: AddressSanitizer", 1, true) or err:find("runtime error:", 1, true) then
    error("sanitizer report from trk:\n" .. err, 3)
  end
end

-- Runs `trk ARGS...` in dir (a fresh one by default) with files written there, killed after
-- `kill` seconds; answers { code, stdout, stderr, secs, rss_mb (when /usr/bin/time is there) }.
local function exec(args, o)
  o = o or {}
  local dir = o.dir or trk.tmpdir()
  for name, text in pairs(o.files or {}) do trk.write(dir .. "/" .. name, text) end
  local errfile, rssfile = dir .. "/.stderr", dir .. "/.rss"
  local argv = {}
  for _, a in ipairs(args) do argv[#argv + 1] = q(a) end
  local measure = HAS_TIME and ("/usr/bin/time -f %M -o " .. q(rssfile) .. " ") or ""
  local cmd = "cd " .. q(dir) .. " && " .. server.PLAIN .. measure .. "timeout -s KILL "
              .. (o.kill or 30) .. " " .. env_words(o.env) .. q(trk.bin) .. " "
              .. table.concat(argv, " ") .. " 2>" .. q(errfile) .. " </dev/null"
  local t0 = now()
  local p = io.popen(cmd, "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local r = { code = code, stdout = out, secs = now() - t0, dir = dir }
  r.stderr = trk.slurp(errfile)
  check_sanitizer(r.stderr)
  local f = io.open(rssfile)
  if f then
    local kib = tonumber((f:read("a") or ""):match("(%d+)%s*$"))
    f:close()
    r.rss_mb = kib and kib / 1024
  end
  return r
end

-- `trk run script.lua OPTIONS...` on source.
local function run(source, options, o)
  o = o or {}
  o.files = { ["script.lua"] = source }
  local args = { "run", "script.lua" }
  for _, a in ipairs(options or {}) do args[#args + 1] = a end
  return exec(args, o)
end

-- Starts `trk ARGS...` in the background, waits `after` seconds (until it is blocked where the
-- test wants it), sends SIGINT and answers { code, stderr, secs } where secs runs from the
-- signal to the exit. A guard kills it 15 seconds after the signal.
local function interrupt(args, o)
  local dir = o.dir or trk.tmpdir()
  for name, text in pairs(o.files or {}) do trk.write(dir .. "/" .. name, text) end
  local errfile, timefile = dir .. "/.stderr", dir .. "/.times"
  local argv = {}
  for _, a in ipairs(args) do argv[#argv + 1] = q(a) end
  local line = "cd " .. q(dir) .. " && " .. server.PLAIN .. "exec " .. env_words(o.env)
               .. q(trk.bin) .. " " .. table.concat(argv, " ")
  local script = string.format(
    "(%s) >/dev/null 2>%s </dev/null & pid=$!; sleep %.2f; date +%%s.%%N >%s; kill -INT $pid; "
    .. "(sleep 15; kill -KILL $pid) >/dev/null 2>&1 & guard=$!; wait $pid; rc=$?; "
    .. "date +%%s.%%N >>%s; kill $guard 2>/dev/null; exit $rc",
    line, q(errfile), o.after or 1.0, q(timefile), q(timefile))
  local _, _, code = os.execute(script)
  local f = assert(io.open(timefile))
  local t0, t1 = f:read("n", "n")
  f:close()
  local r = { code = code, stderr = trk.slurp(errfile), secs = t1 - t0, dir = dir }
  check_sanitizer(r.stderr)
  return r
end

local LIMITED = { "--max-memory", "64M", "--max-cpu", "20" }

-- A client whose transport is the script's own handle: answers `{}` at once.
local HANDLE_CLIENT = [[
local tracker = require "tracker"
local t = tracker.connect{ rate_limit = false, transport = { apikey = "k", username = "u",
  handle = function() return 200, {}, "{}" end } }
]]

local function stopped_by_memory(r, secs)
  assert.are.equal(3, r.code, r.stderr)
  assert.is_truthy(r.stderr:find("memory limit exceeded (64 MiB, --max-memory)", 1, true), r.stderr)
  assert.is_true(r.secs < secs * SLOW, "took " .. r.secs .. " s")
  if r.rss_mb and not SANITIZE then
    assert.is_true(r.rss_mb < 96, "peak RSS " .. r.rss_mb .. " MiB")
  end
end

describe("a JSON encode is bounded before it starts", function()
  after_each(trk.cleanup)

  it("stops json.encode of shared strings nested in shared tables at the memory limit", function()
    -- 40 x 40 references to one 1 MiB string: 1.6 GiB of JSON text (9.6 GiB escaped)
    local r = run([[
local s = ("\1"):rep(1024 * 1024)
local a = {} for i = 1, 40 do a[i] = s end
local b = {} for i = 1, 40 do b[i] = { list = a, copy = a } end
local ok, e = pcall(json.encode, b)
print("caught", ok, e)
]], LIMITED)
    stopped_by_memory(r, 5)
    assert.is_nil(r.stdout:find("caught", 1, true), r.stdout)
  end)

  it("stops json.encode of a wide DAG of small values quickly", function()
    -- 10^9 booleans reached through 3 tables of 1000: gigabytes of text
    local r = run(WIDE_DAG .. "json.encode(v)\n", LIMITED)
    stopped_by_memory(r, 5)
  end)

  it("counts the keys of an object, escaped", function()
    -- 12 distinct keys of 1 MiB of control bytes: 72 MiB of text, the values nothing
    local r = run([[
local k = ("\31"):rep(1024 * 1024)
local t = {}
for i = 1, 12 do t[k .. i] = 0 end
json.encode(t)
]], LIMITED)
    stopped_by_memory(r, 5)
  end)

  it("refuses a text over the hard cap with an error that names it, even with no memory limit", function()
    -- 300 references to a 1 MiB string: 300 MiB of text, over the 256 MiB cap
    local r = run([[
local s = ("x"):rep(1024 * 1024)
local t = {} for i = 1, 300 do t[i] = s end
local ok, e = pcall(json.encode, t)
print(ok, e)
print(#json.encode({ s, s }))
]], { "--max-memory", "0", "--deadline", "60s" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("false", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("json.encode: the JSON text would be over 256 MiB", 1, true),
                     r.stdout)
    assert.is_truthy(r.stdout:find("\n2097159\n", 1, true), r.stdout)
    assert.is_true(r.secs < 10 * SLOW, "took " .. r.secs .. " s")
  end)

  it("estimates tightly: a text that fits with room for cjson's buffer is encoded", function()
    -- 16 MiB of plain text: the string (8 MiB) + text + twice it for cjson fit in 64 MiB
    local r = run([[
local s = ("a"):rep(8 * 1024 * 1024)
print(#json.encode({ s, s }))
print(#json.encode({ n = 123456789, s = "\1\n/\"", t = { true, false, json.null }, [2] = 1.5 }))
]], LIMITED)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("16777223\n" .. #'{"s":"\\u0001\\n\\/\\"","n":123456789,"t":[true,false,null],"2":1.5}'
                     .. "\n", r.stdout)
  end)

  it("gives back what it counted for cjson, also when cjson refuses the value", function()
    -- each refused encode counts 2 MiB for cjson's buffer while it runs: kept, 50 of them
    -- would pass the 32 MiB limit
    local r = run([[
local s = ("a"):rep(1024 * 1024)
for i = 1, 50 do
  assert(not pcall(json.encode, { s, print }))
  assert(#json.encode({ s }) == #s + 4)
end
print("done")
]], { "--max-memory", "32M" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("done\n", r.stdout)
  end)

  it("checks the deadline while it measures", function()
    -- with no memory limit the walk measures up to the 256 MiB cap: seconds of C
    local r = run(WIDE_DAG .. [[
pcall(json.encode, v)
print("survived")
]], { "--max-memory", "0", "--deadline", "0.3s" })
    assert.are.equal(3, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("deadline limit exceeded", 1, true), r.stderr)
    assert.is_nil(r.stdout:find("survived", 1, true))
  end)

  it("stops a client request body (t:request) at the memory limit", function()
    local r = run(HANDLE_CLIENT .. [[
local s = ("\1"):rep(1024 * 1024)
local rows = {} for i = 1, 400 do rows[i] = { data = s } end
print("caught", pcall(t.request, t, { api = "rest", method = "POST", path = "/x", body = { rows = rows } }))
]], LIMITED)
    stopped_by_memory(r, 5)
    assert.is_nil(r.stdout:find("caught", 1, true), r.stdout)
  end)

  it("counts the client's encode against --max-memory (16 MiB of control bytes)", function()
    local r = run(HANDLE_CLIENT .. [[
local s = ("\1"):rep(16 * 1024 * 1024)
print(pcall(t.request, t, { api = "rest", method = "GET", path = "/x", body = { s } }))
]], LIMITED)
    stopped_by_memory(r, 5)
  end)

  it("refuses a client request body over the hard cap with a catchable error", function()
    local r = run(HANDLE_CLIENT .. [[
local s = ("\1"):rep(1024 * 1024)
local body = {} for i = 1, 400 do body[i] = s end
print(pcall(t.request, t, { api = "rest", method = "GET", path = "/x", body = body }))
]], { "--max-memory", "0", "--deadline", "60s" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("false", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("request body: the JSON text would be over 256 MiB", 1, true),
                     r.stdout)
    assert.is_true(r.secs < 10 * SLOW, "took " .. r.secs .. " s")
  end)

  it("stops a write's body (t:add_note, --apply) at the memory limit", function()
    -- 4 MiB of control bytes: 24 MiB of text in the widget envelope
    local r = run([[
local tracker = require "tracker"
local emu = require("tracker.emulator").new{ apikey = "k", username = "u@example.com" }
local t = tracker.connect{ transport = emu, rate_limit = false }
print(pcall(t.add_note, t, { kind = "candidate", id = 1 }, ("\1"):rep(4 * 1024 * 1024)))
]], { "--apply", "--max-memory", "64M" })
    stopped_by_memory(r, 10)
  end)

  it("holds the cap under plain Lua (tracker.so, no sandbox)", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/plain.lua", [[
package.cpath = os.getenv("TRK_BUILD") .. "/?.so;" .. package.cpath
local tracker = require "tracker"
local t = tracker.connect{ rate_limit = false, transport = { apikey = "k", username = "u",
  handle = function() return 200, {}, "{}" end } }
local s = ("\1"):rep(1024 * 1024)
local body = {} for i = 1, 400 do body[i] = s end
print(pcall(t.request, t, { api = "rest", method = "GET", path = "/x", body = body }))
]])
    local build = os.getenv("TRK_BUILD") or (trk.root .. "/build")
    local code, out = trk.sh("cd " .. q(dir) .. " && TRK_BUILD=" .. q(build)
                             .. " timeout -s KILL 30 lua5.4 plain.lua")
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find("request body: the JSON text would be over 256 MiB", 1, true), out)
  end)
end)

describe("a wait in C", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("ends a rate-limit sleep at the first Ctrl-C", function()
    local r = interrupt({ "run", "script.lua" }, { files = { ["script.lua"] = [[
local tracker = require "tracker"
local t = tracker.connect{ rate_limit = 1e-6, transport = { apikey = "k", username = "u",
  handle = function() return 200, {}, "{}" end } }
for i = 1, 3 do pcall(t.ping, t) end
]] } })
    assert.are.equal(130, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("interrupted", 1, true), r.stderr)
    assert.is_true(r.secs < 1.5 * SLOW, "ended " .. r.secs .. " s after the signal")
  end)

  it("ends a rate-limit sleep inside t:batch (a write's coroutine) at the first Ctrl-C", function()
    local r = interrupt({ "run", "script.lua", "--apply" }, { files = { ["script.lua"] = [[
local tracker = require "tracker"
local emu = require("tracker.emulator").new{ apikey = "k", username = "u@example.com" }
local t = tracker.connect{ transport = emu, rate_limit = 1e-6 }
t:batch(function()
  for i = 1, 5 do t:add_note({ kind = "candidate", id = 1 }, "note " .. i) end
end)
]] }, after = 1.5 })
    assert.are.equal(130, r.code, r.stderr)
    assert.is_true(r.secs < 1.5 * SLOW, "ended " .. r.secs .. " s after the signal")
  end)

  -- Each: a server that makes the script wait, and what the script asks of it.
  local WAITS = {
    { "a Retry-After sleep from a real server", { "--rate-limit", "1/min" },
      "local t = tracker.connect{ retry_for = 1e9 }\nfor i = 1, 3 do print(pcall(t.ping, t)) end" },
    { "a request to a slow server, whatever its timeout", { "--latency", "600000" },
      "local t = tracker.connect{ timeout = 3600, rate_limit = false }\nprint(pcall(t.ping, t))" },
    { "a request to a server that never answers", {},
      "local t = tracker.connect{ rate_limit = false }\nprint(pcall(t.ping, t))", stop = true },
  }
  for _, w in ipairs(WAITS) do
    it("ends " .. w[1] .. " at the deadline", function()
      local srv = server.start(w[2])
      -- stopped: the kernel accepts the connection, nothing ever answers
      if w.stop then os.execute(server.PLAIN .. "kill -STOP " .. srv.pid) end
      local r = run('local tracker = require "tracker"\n' .. w[3] .. "\n", { "--deadline", "2s" },
                    { env = server.client_env(srv) })
      assert.are.equal(3, r.code, r.stderr)
      assert.is_truthy(r.stderr:find("deadline limit exceeded (2 s, --deadline)", 1, true), r.stderr)
      assert.is_true(r.secs < 3.5 * SLOW, "took " .. r.secs .. " s")
    end)
  end

  it("ends a write to a server that never answers at the first Ctrl-C, journal intact", function()
    local srv = server.start({ "--generate", "3" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/script.lua", [[
local tracker = require "tracker"
local t = tracker.connect{ rate_limit = false }
local app
for a in t:applications{} do app = a break end
assert(t:add_note(app, "first"))
log.info("SENT-FIRST")
while not files.open("go") do end       -- until the test has stopped the server
assert(t:add_note(app, "second"))
]])
    -- the first note lands; then the server stops answering
    local env = server.client_env(srv)
    local line = "cd " .. q(dir) .. " && " .. server.PLAIN .. "exec " .. env_words(env) .. q(trk.bin)
                 .. " run script.lua --apply --input go"
    os.execute(string.format("(%s) >/dev/null 2>%s </dev/null & echo $! >%s",
                             line, q(dir .. "/.stderr"), q(dir .. "/.pid")))
    local pid = trk.slurp(dir .. "/.pid"):match("%d+")
    local t0 = now()
    while not trk.slurp(dir .. "/.stderr"):find("SENT-FIRST", 1, true) and now() - t0 < 10 do
      os.execute("sleep 0.05")
    end
    os.execute(server.PLAIN .. "kill -STOP " .. srv.pid)
    trk.write(dir .. "/go", "")
    os.execute("sleep 1")
    local t1 = now()
    os.execute(server.PLAIN .. "kill -INT " .. pid .. "; for i in $(seq 1 150); do kill -0 " .. pid
               .. " 2>/dev/null || break; sleep 0.1; done; kill -KILL " .. pid .. " 2>/dev/null")
    local secs = now() - t1
    os.execute(server.PLAIN .. "kill -CONT " .. srv.pid)
    local err = trk.slurp(dir .. "/.stderr")
    check_sanitizer(err)
    -- well under a second on a quiet machine; the bound leaves room for a loaded one (ctest
    -- runs specs side by side) and still tells it from the request's 60 s timeout
    assert.is_true(secs < 3 * SLOW, "ended " .. secs .. " s after the signal")
    assert.is_truthy(err:find("interrupted", 1, true), err)
    -- the journal says so, and the next run resumes
    local j = exec({ "journal", "--state", dir .. "/.trk/state.db", "--json" })
    assert.are.equal(0, j.code, j.stderr)
    assert.is_truthy(j.stdout:find('"interrupted"', 1, true), j.stdout)
    local r = exec({ "run", "script.lua", "--apply", "--input", "go" }, { dir = dir, env = env })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("(resumed)", 1, true), r.stderr)
  end)

  it("ends a request to a server that never answers at the first Ctrl-C", function()
    local srv = server.start({})
    os.execute(server.PLAIN .. "kill -STOP " .. srv.pid)
    local r = interrupt({ "run", "script.lua" }, { env = server.client_env(srv), files = {
      ["script.lua"] = [[
local tracker = require "tracker"
local t = tracker.connect{ rate_limit = false }
print(pcall(t.ping, t))
]] } })
    assert.are.equal(130, r.code, r.stderr)
    assert.is_true(r.secs < 1.5 * SLOW, "ended " .. r.secs .. " s after the signal")
  end)

  it("ends trk rules --watch's sleep between passes at the deadline", function()
    local srv = server.start({ "--generate", "3" })
    local dir = trk.dir_with{ ["r.lua"] = [[
return { on = "candidates", when = function() return false end, action = function() end }
]] }
    local r = exec({ "rules", dir, "--since", "2000-01-01T00:00:00Z", "--watch", "1h",
                     "--deadline", "3s" }, { env = server.client_env(srv) })
    assert.are.equal(3, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("deadline limit exceeded", 1, true), r.stderr)
    assert.is_true(r.secs < 4.5 * SLOW, "took " .. r.secs .. " s")
  end)
end)

describe("script code the client runs in coroutines of its own", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("is stopped by --max-cpu: a transport handle that loops inside t:batch", function()
    local r = run([[
local tracker = require "tracker"
local emu = require("tracker.emulator").new{ apikey = "k", username = "u@example.com" }
local n = 0
local t = tracker.connect{ rate_limit = false, transport = { apikey = "k", username = "u@example.com",
  handle = function(self, ...)
    n = n + 1
    if n > 3 then while true do end end
    return emu:handle(...)
  end } }
t:batch(function()
  for i = 1, 10 do t:add_note({ kind = "candidate", id = 1 }, "n" .. i) end
end)
]], { "--apply", "--max-cpu", "2" }, { kill = 20 })
    assert.are.equal(3, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("cpu limit exceeded", 1, true), r.stderr)
    assert.is_true(r.secs < 6 * SLOW, "took " .. r.secs .. " s")
  end)

  it("is stopped by the first Ctrl-C: a hook that loops inside t:batch", function()
    local r = interrupt({ "run", "script.lua" }, { files = { ["script.lua"] = [[
local tracker = require "tracker"
local emu = require("tracker.emulator").new{ apikey = "k", username = "u@example.com" }
local t = tracker.connect{ transport = emu, hook = function() while true do end end }
t:batch(function() t:add_note({ kind = "candidate", id = 1 }, "x") end)
]] } })
    assert.are.equal(130, r.code, r.stderr)
    assert.is_true(r.secs < 1.5 * SLOW, "ended " .. r.secs .. " s after the signal")
  end)

  it("keeps to a rule's instruction budget, even in a coroutine made before it began", function()
    local srv = server.start({ "--generate", "3" })
    local dir = trk.dir_with{ ["spin.lua"] = [[
local spin = coroutine.wrap(function() while true do end end)
return { on = "candidates", when = function() spin() return false end, action = function() end }
]] }
    local r = exec({ "rules", dir, "--since", "2000-01-01T00:00:00Z", "--rule-budget", "1000000",
                     "--deadline", "20s" }, { env = server.client_env(srv), kill = 40 })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("instruction budget exceeded (1000000 instructions", 1, true),
                     r.stderr)
    assert.is_true(r.secs < 10 * SLOW, "took " .. r.secs .. " s")
  end)
end)
