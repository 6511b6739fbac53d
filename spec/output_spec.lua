-- What trk prints: --quiet (results and errors only) and --verbose (more, and each HTTP request)
-- on every command; colour only on a terminal and never with NO_COLOR; no progress line or
-- cursor control when stderr is not a terminal. A terminal is a pseudo-terminal from
-- util-linux's `script`.
local trk = require "support.trk"
local server = require "support.server"

local q = trk.quote
local ESC = "\27["
local SANITIZE = os.getenv("TRK_SANITIZE")
-- `trk test` runs busted on the uninstrumented lua5.4: it checks no leaks (as test_init_spec)
local TEST_ENV = SANITIZE and { ASAN_OPTIONS = "detect_leaks=0" } or nil

local SCRIPT = [[
local t = require("tracker").connect()
local n = 0
for cand in t:candidates{} do
  t:add_note(cand, "checked")
  n = n + 1
  if n == 3 then break end
end
print("noted " .. n)
]]

-- Runs `trk ARGS` on a pseudo-terminal (stdout and stderr both); answers { code, out }, the
-- terminal's line ends made plain. opts: cwd, env, busted (trk test: under the sanitizer
-- build, busted's lua5.4 needs the ASan runtime preloaded, which `script` itself must not get).
local function tty(args, opts)
  opts = opts or {}
  local inner = { q(trk.bin) }
  if opts.busted and SANITIZE then
    inner = { "env", q("LD_PRELOAD=" .. (os.getenv("LD_PRELOAD") or "")), "ASAN_OPTIONS=detect_leaks=0",
              q(trk.bin) }
  end
  for _, a in ipairs(args) do inner[#inner + 1] = q(a) end
  local cmd = { server.PLAIN }
  if opts.cwd then cmd[#cmd + 1] = "cd " .. q(opts.cwd) .. " &&" end
  local vars = { "env", "TERM=xterm" }
  if SANITIZE then
    vars[#vars + 1] = "ASAN_OPTIONS=detect_leaks=1:exitcode=86"
    vars[#vars + 1] = "UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1"
  end
  for k, v in pairs(opts.env or {}) do vars[#vars + 1] = q(k .. "=" .. v) end
  cmd[#cmd + 1] = table.concat(vars, " ")
  cmd[#cmd + 1] = "script -qfec " .. q(table.concat(inner, " ")) .. " /dev/null </dev/null"
  local p = io.popen(table.concat(cmd, " "), "r")
  local out = p:read("a")
  local _, _, code = p:close()
  assert.is_nil(out:find("AddressSanitizer", 1, true), out)
  return { code = code, out = (out:gsub("\r\n", "\n")) }
end

local function with(env, extra)
  local out = {}
  for k, v in pairs(env) do out[k] = v end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

local function lines_of(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("output", function()
  local s, env

  setup(function()
    s = server.start()
    env = with(server.client_env(s), { NO_COLOR = "", TRACKER_REGION = "" })
  end)

  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  describe("trk run", function()
    it("shows the plan table and the summary by default", function()
      local r = trk.run(SCRIPT, {}, nil, nil, env)
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("noted 3\n", r.stdout)
      assert.matches("#%s+operation%s+target%s+change", r.stdout)
      assert.matches("trk: 3 writes planned", r.stderr)
    end)

    it("prints only the script's own output with --quiet", function()
      local r = trk.run(SCRIPT, { "--quiet" }, nil, nil, env)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("noted 3\n", r.stdout)
      assert.are.equal("", r.stderr)
    end)

    it("prints no summary of applied writes with --quiet", function()
      local r = trk.run(SCRIPT, { "--apply", "--quiet" }, nil, nil, env)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("noted 3\n", r.stdout)
      assert.are.equal("", r.stderr)
    end)

    it("still prints errors with --quiet", function()
      local r = trk.run("error('the script broke')", { "--quiet" }, nil, nil, env)
      assert.are.equal(1, r.code)
      assert.matches("the script broke", r.stderr)
    end)

    it("logs each HTTP request with --verbose: method, URL, status, time, nothing more", function()
      local r = trk.run(SCRIPT, { "--verbose" }, nil, nil, env)
      assert.are.equal(0, r.code, r.stderr)
      local requests = {}
      for _, l in ipairs(lines_of(r.stderr)) do
        if l:find("^trk: [A-Z]+ http") then
          assert.matches("^trk: [A-Z]+ http://127%.0%.0%.1:%d+/[%w/]+ %-> %d%d%d %(%d+ ms%)$", l)
          requests[#requests + 1] = l
        end
      end
      assert.is_true(#requests >= 2, r.stderr)
      assert.matches("/api/widget/getSettingsData %-> 200", r.stderr)
      assert.matches(("trk: %d HTTP requests, [%%d.]+ s waiting for answers"):format(#requests), r.stderr)
      assert.matches("trk: 3 writes planned", r.stderr)     -- and all the usual output
    end)

    it("refuses --quiet with --verbose", function()
      local r = trk.run(SCRIPT, { "--quiet", "--verbose" }, nil, nil, env)
      assert.are.equal(2, r.code)
      assert.matches("give %-%-quiet or %-%-verbose, not both", r.stderr)
    end)
  end)

  describe("trk rules", function()
    local dir

    setup(function()
      dir = trk.tmpdir() .. "/proj"
      assert.are.equal(0, trk.exec({ "init", dir, "--quiet" }).code)
    end)

    it("prints nothing for a plan with --quiet, and the plan and summary without", function()
      local r = trk.exec({ "rules", dir .. "/rules", "--since", "2020-01-01T00:00:00Z", "--quiet" },
                         { env = env })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.equal("", r.stderr)
      r = trk.exec({ "rules", dir .. "/rules", "--since", "2020-01-01T00:00:00Z" }, { env = env })
      assert.matches("set_custom_fields", r.stdout)
      assert.matches("first%-rule", r.stderr)
    end)

    it("still prints a rule's error with --quiet", function()
      local bad = trk.dir_with({ ["broken.lua"] = [[
        return { name = "broken", on = "candidates",
                 action = function(c) error("no luck with " .. c.id) end }
      ]] })
      local r = trk.exec({ "rules", bad, "--since", "2020-01-01T00:00:00Z", "--quiet" }, { env = env })
      assert.are.equal(1, r.code)
      assert.matches("error: rule broken, candidate %d+: .*no luck with", r.stderr)
      assert.is_nil(r.stderr:find("seen", 1, true))          -- no summary table
    end)

    it("logs the requests with --verbose", function()
      local r = trk.exec({ "rules", dir .. "/rules", "--since", "2020-01-01T00:00:00Z", "--verbose" },
                         { env = env })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("trk: POST http://[^ ]+/api/widget/getRecords %-> 200", r.stderr)
      assert.matches("trk: %d+ HTTP requests", r.stderr)
    end)
  end)

  describe("trk journal", function()
    local state

    setup(function()
      local r = trk.run(SCRIPT, { "--apply" }, nil, nil, env)
      assert.are.equal(0, r.code, r.stderr)
      state = r.dir .. "/.trk/state.db"
    end)

    it("says there is nothing to show, except with --quiet", function()
      local r = trk.exec({ "journal", "--state", state, "--failed" })
      assert.are.equal("no failed actions\n", r.stdout)
      r = trk.exec({ "journal", "--state", state, "--failed", "--quiet" })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.stdout)
    end)

    it("shows the same runs with --verbose, the actions in full", function()
      local plain = trk.exec({ "journal", "--state", state })
      local verbose = trk.exec({ "journal", "--state", state, "--verbose" })
      assert.are.equal(0, verbose.code)
      assert.are.equal(plain.stdout, verbose.stdout)
      local actions = trk.exec({ "journal", "--state", state, "--run", "1", "--verbose" })
      assert.are.equal(3, select(2, actions.stdout:gsub("add_note", "")))
    end)
  end)

  describe("trk init", function()
    it("prints nothing with --quiet, and each file's size with --verbose", function()
      local dir = trk.tmpdir() .. "/a"
      local r = trk.exec({ "init", dir, "--quiet" })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.stdout)
      assert.truthy(io.open(dir .. "/rules/first_rule.lua")):close()
      r = trk.exec({ "init", trk.tmpdir() .. "/b", "--verbose" })
      assert.matches("created [^\n]+first_rule%.lua %([%d,]+ bytes%)\n", r.stdout)
      assert.matches("Next:", r.stdout)
    end)
  end)

  describe("trk test", function()
    local dir

    setup(function()
      dir = trk.tmpdir() .. "/p"
      assert.are.equal(0, trk.exec({ "init", dir, "--quiet" }).code)
    end)

    it("prints nothing when every spec passes with --quiet", function()
      local r = trk.exec({ "test", "--quiet" }, { cwd = dir, env = TEST_ENV })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.are.equal("", r.stdout)
      assert.matches("3 successes", trk.exec({ "test" }, { cwd = dir, env = TEST_ENV }).stdout)
    end)

    it("prints each failing spec with --quiet, and busted's tracebacks with --verbose", function()
      trk.write(dir .. "/rules/zz_spec.lua", [[
        describe("arithmetic", function()
          it("is broken on purpose", function() assert.are.equal(1, 2) end)
        end)
      ]])
      local r = trk.exec({ "test", "--quiet" }, { cwd = dir, env = TEST_ENV })
      assert.are_not.equal(0, r.code)
      assert.matches("^failure: arithmetic is broken on purpose %([^)]*zz_spec%.lua:2%)\n", r.stdout)
      assert.is_nil(r.stdout:find("successes", 1, true))
      r = trk.exec({ "test", "--verbose" }, { cwd = dir, env = TEST_ENV })
      assert.matches("stack traceback", r.stdout)
      os.remove(dir .. "/rules/zz_spec.lua")
    end)
  end)

  describe("trk emulator", function()
    it("prints only the line that says where it listens with --quiet", function()
      local e = server.start({ "--quiet" })
      assert.matches("^listening on http://", e.first)
      os.execute(server.PLAIN .. "kill -TERM " .. e.pid)
      assert.are.equal("", e.pipe:read("a"))
      server.stop(e)
      local loud = server.start()
      os.execute(server.PLAIN .. "kill -TERM " .. loud.pid)
      assert.matches("for a client, paste these lines", loud.pipe:read("a"))
      server.stop(loud)
    end)
  end)

  describe("trk help and trk version", function()
    it("help says the same with --quiet and --verbose", function()
      local plain = trk.exec({ "help", "run" })
      assert.matches("%-%-quiet", plain.stdout)
      assert.are.equal(plain.stdout, trk.exec({ "help", "run", "--quiet" }).stdout)
      assert.are.equal(plain.stdout, trk.exec({ "help", "--verbose", "run" }).stdout)
    end)

    it("version prints the bare number with --quiet and the libraries with --verbose", function()
      local plain = trk.exec({ "version" }).stdout
      local number = assert(plain:match("^trk (%d+%.%d+%.%d+) %(Lua 5%.4"))
      assert.are.equal(number .. "\n", trk.exec({ "version", "--quiet" }).stdout)
      local verbose = trk.exec({ "version", "--verbose" }).stdout
      assert.are.equal(plain, verbose:sub(1, #plain))
      assert.matches("\nSQLite %d", verbose)
      assert.are.equal(2, trk.exec({ "version", "--quiet", "--verbose" }).code)
    end)
  end)

  describe("colour", function()
    it("colours trk doctor's statuses on a terminal", function()
      local r = tty({ "doctor" }, { env = env })
      assert.are.equal(0, r.code, r.out)
      assert.truthy(r.out:find(ESC .. "32mok", 1, true), r.out)
      assert.truthy(r.out:find(ESC .. "1mconfiguration", 1, true), r.out)
    end)

    it("uses none with NO_COLOR set, and none when not a terminal", function()
      local r = tty({ "doctor" }, { env = with(env, { NO_COLOR = "1" }) })
      assert.are.equal(0, r.code, r.out)
      assert.matches("ok    widget reach", r.out)
      assert.is_nil(r.out:find(ESC, 1, true), r.out)
      local piped = trk.exec({ "doctor" }, { env = env })
      assert.matches("ok    widget reach", piped.stdout)
      assert.is_nil((piped.stdout .. piped.stderr):find("\27", 1, true))
    end)

    it("marks a failed check in red", function()
      local r = tty({ "doctor", "--quiet" }, { env = with(env, { TRACKER_RATE_LIMIT = "x" }) })
      assert.are.equal(1, r.code)
      assert.truthy(r.out:find(ESC .. "31m", 1, true), r.out)
    end)

    it("sets the plan table's head in bold on a terminal, and draws the progress line", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/s.lua", SCRIPT)
      local r = tty({ "run", "s.lua" }, { cwd = dir, env = env })
      assert.are.equal(0, r.code, r.out)
      assert.truthy(r.out:find(ESC .. "1m  #", 1, true) or r.out:find(ESC .. "1m#", 1, true), r.out)
      assert.truthy(r.out:find("\r" .. ESC .. "K", 1, true), r.out)
    end)

    it("keeps the progress line but drops colour with NO_COLOR", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/s.lua", SCRIPT)
      local r = tty({ "run", "s.lua" }, { cwd = dir, env = with(env, { NO_COLOR = "yes" }) })
      assert.are.equal(0, r.code, r.out)
      assert.is_nil(r.out:find(ESC .. "1m", 1, true), r.out)
      assert.is_nil(r.out:find("\27%[%d+m"), r.out)
      assert.truthy(r.out:find("\r" .. ESC .. "K", 1, true), r.out)
    end)

    it("uses no escape at all on a dumb terminal, or with --quiet", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/s.lua", SCRIPT)
      local r = tty({ "run", "s.lua" }, { cwd = dir, env = with(env, { TERM = "dumb" }) })
      assert.are.equal(0, r.code, r.out)
      assert.is_nil(r.out:find("\27", 1, true), r.out)
      r = tty({ "run", "s.lua", "--quiet" }, { cwd = dir, env = env })
      assert.are.equal("noted 3\n", r.out)
    end)

    it("uses none in a pipe, progress line included", function()
      local r = trk.run(SCRIPT, {}, nil, nil, env)
      assert.are.equal(0, r.code)
      assert.is_nil((r.stdout .. r.stderr):find("[\27\r]"))
    end)

    it("lets busted colour trk test's output on a terminal, unless NO_COLOR is set", function()
      local dir = trk.tmpdir() .. "/p"
      assert.are.equal(0, trk.exec({ "init", dir, "--quiet" }).code)
      local r = tty({ "test" }, { cwd = dir, env = env, busted = true })
      assert.are.equal(0, r.code, r.out)
      assert.truthy(r.out:find(ESC, 1, true), r.out)
      r = tty({ "test" }, { cwd = dir, env = with(env, { NO_COLOR = "1" }), busted = true })
      assert.are.equal(0, r.code, r.out)
      assert.matches("3 successes", r.out)
      assert.is_nil(r.out:find(ESC, 1, true), r.out)
    end)

    it("colours the journal's statuses on a terminal only", function()
      local w = trk.run(SCRIPT, { "--apply" }, nil, nil, env)
      local state = w.dir .. "/.trk/state.db"
      local r = tty({ "journal", "--state", state }, { env = env })
      assert.truthy(r.out:find(ESC .. "32mcomplete", 1, true), r.out)
      r = tty({ "journal", "--state", state }, { env = with(env, { NO_COLOR = "1" }) })
      assert.is_nil(r.out:find(ESC, 1, true), r.out)
    end)
  end)
end)
