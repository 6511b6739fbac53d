-- trk run: the command line, errors, output, grants, determinism and modules.
local trk = require "support.trk"

describe("trk", function()
  after_each(trk.cleanup)

  it("lists its commands with --help", function()
    local r = trk.exec({ "--help" })
    assert.are.equal(0, r.code)
    assert.is_truthy(r.stdout:find("run SCRIPT", 1, true))
  end)

  it("documents every limit and its default in 'trk help run'", function()
    local r = trk.exec({ "help", "run" })
    assert.are.equal(0, r.code)
    for _, text in ipairs({ "--max-memory SIZE", "default 256M", "--max-cpu DURATION",
                            "default 300s", "--deadline DURATION", "--max-output SIZE",
                            "default 16M", "--input FILE", "--output FILE", "--now TIME",
                            "--seed N" }) do
      assert.is_truthy(r.stdout:find(text, 1, true), text)
    end
  end)

  it("prints its version", function()
    local r = trk.exec({ "--version" })
    assert.are.equal(0, r.code)
    assert.is_truthy(r.stdout:match("^trk %d+%.%d+%.%d+ %(Lua 5%.4"))
  end)

  it("exits 2 without a command", function()
    assert.are.equal(2, trk.exec({}).code)
  end)

  it("exits 2 on an unknown command, naming it", function()
    local r = trk.exec({ "frobnicate" })
    assert.are.equal(2, r.code)
    assert.is_truthy(r.stderr:find("unknown command 'frobnicate'", 1, true))
  end)
end)

describe("trk run", function()
  after_each(trk.cleanup)

  describe("usage errors", function()
    local bad = {
      { { "run" }, "missing SCRIPT" },
      { { "run", "s.lua", "--bogus" }, "unknown option '--bogus'" },
      { { "run", "s.lua", "--max-memory", "lots" }, "--max-memory: 'lots' is not a size" },
      { { "run", "s.lua", "--max-cpu=soon" }, "--max-cpu: 'soon' is not a duration" },
      { { "run", "s.lua", "--now", "yesterday" }, "--now: 'yesterday' is not an ISO 8601 time" },
      { { "run", "s.lua", "--now", "2026-11-01T00:00:00" }, "is not an ISO 8601 time with a zone" },
      { { "run", "s.lua", "--seed", "x" }, "--seed: 'x' is not an integer" },
      { { "run", "s.lua", "--input" }, "--input needs a value" },
      { { "run", "s.lua", "extra" }, "unexpected argument 'extra' (script arguments go after --)" },
      { { "run", "/nonexistent/s.lua" }, "cannot open /nonexistent/s.lua" },
    }
    for _, case in ipairs(bad) do
      it("exits 2 for " .. table.concat(case[1], " "), function()
        local r = trk.exec(case[1])
        assert.are.equal(2, r.code, r.stderr)
        assert.is_truthy(r.stderr:find(case[2], 1, true), r.stderr)
      end)
    end
  end)

  it("passes arguments in arg and as ...", function()
    local r = trk.run("print(arg[0], arg[1], arg[2], select('#', ...), ...)", {}, { "a", "b c" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("script.lua\ta\tb c\t2\ta\tb c\n", r.stdout)
  end)

  it("reports a syntax error with its line and exits 1", function()
    local r = trk.run("local x = 1\nlocal = 2\n")
    assert.are.equal(1, r.code)
    assert.is_truthy(r.stderr:find("script.lua:2: <name> expected near '='", 1, true), r.stderr)
  end)

  it("reports a runtime error with a traceback of the script's own frames", function()
    local r = trk.run("local function inner() error('boom') end\n" ..
                      "local function outer() table.sort({ 2, 1 }, function() inner() end) end\n" ..
                      "outer()\n")
    assert.are.equal(1, r.code)
    assert.is_truthy(r.stderr:find("^script.lua:1: boom\nstack traceback:\n"), r.stderr)
    assert.is_truthy(r.stderr:find("script.lua:1: in upvalue 'inner'", 1, true), r.stderr)
    assert.is_truthy(r.stderr:find("script.lua:3: in main chunk", 1, true), r.stderr)
    assert.is_nil(r.stderr:find("[C]", 1, true), "C frames are not the script's")
    assert.is_nil(r.stderr:find("[trk]", 1, true), "host frames are not the script's")
  end)

  it("writes print to stdout and log to stderr with a level prefix", function()
    local r = trk.run("print('out', 1, nil, true)\nlog.info('starting', 3)\nlog.warn('careful')\n" ..
                      "log.error('bad')")
    assert.are.equal(0, r.code)
    assert.are.equal("out\t1\tnil\ttrue\n", r.stdout)
    assert.are.equal("info: starting\t3\nwarn: careful\nerror: bad\n", r.stderr)
  end)

  describe("with --now and --seed", function()
    it("answers os.time and os.date with the fixed instant", function()
      local r = trk.run("print(os.time(), os.date('!%Y-%m-%dT%H:%M:%S'))",
                        { "--now", "2026-11-01T00:00:00Z" })
      assert.are.equal("1793491200\t2026-11-01T00:00:00\n", r.stdout)
    end)

    it("takes offsets into account", function()
      local r = trk.run("print(os.time())", { "--now=2026-11-01T01:00:00+01:00" })
      assert.are.equal("1793491200\n", r.stdout)
    end)

    it("still converts explicit times", function()
      local r = trk.run("print(os.date('!%Y', 0))", { "--now", "2026-11-01T00:00:00Z" })
      assert.are.equal("1970\n", r.stdout)
    end)

    it("repeats math.random for the same seed", function()
      local src = "local t = {} for i = 1, 5 do t[i] = math.random(1000) end print(table.concat(t, ','))"
      local a, b = trk.run(src, { "--seed", "42" }), trk.run(src, { "--seed", "42" })
      local c = trk.run(src, { "--seed", "43" })
      assert.are.equal(a.stdout, b.stdout)
      assert.are_not.equal(a.stdout, c.stdout)
    end)
  end)

  describe("files", function()
    it("reads a granted input", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/data.csv", "id,name\n1,Ada\n2,Grace\n")
      trk.write(dir .. "/s.lua", [[
        local f = assert(files.open("data.csv"))
        print(f:read("l"))
        for line in f:lines() do print((line:gsub(",", "="))) end
        print(f:read("l"), tostring(f))
        f:close()
        print(tostring(f))
      ]])
      local r = trk.exec({ "run", "s.lua", "--input", "data.csv" }, { cwd = dir })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("id,name\n1=Ada\n2=Grace\nnil\tfile\nfile (closed)\n", r.stdout)
    end)

    it("writes a granted output", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/s.lua", [[
        local f = assert(files.create("./out.csv"))
        f:write("id,", 7, "\n"):write("done\n")
        f:close()
      ]])
      local r = trk.exec({ "run", "s.lua", "--output", "out.csv" }, { cwd = dir })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("id,7\ndone\n", trk.slurp(dir .. "/out.csv"))
    end)

    it("keeps reads and writes to their grants", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/in.txt", "x")
      trk.write(dir .. "/s.lua", [[
        print(pcall(files.create, "in.txt"))
        print(pcall(files.open, "out.txt"))
        local f = files.create("out.txt")
        print(pcall(f.read, f))
      ]])
      local r = trk.exec({ "run", "s.lua", "--input", "in.txt", "--output", "out.txt" }, { cwd = dir })
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(r.stdout:find("files.create: 'in.txt' is not granted to this script " ..
                                     "(run it with --output in.txt)", 1, true), r.stdout)
      assert.is_truthy(r.stdout:find("files.open: 'out.txt' is not granted", 1, true))
      assert.is_truthy(r.stdout:find("granted for writing", 1, true))
    end)

    it("reads with many formats at once, even on a coroutine's small stack", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/in.txt", "a\nb\n")
      trk.write(dir .. "/s.lua", [[
        local fmts = {} for i = 1, 250 do fmts[i] = "l" end
        local it = files.open("in.txt"):lines(table.unpack(fmts))
        local a, b, c = coroutine.wrap(function() return it() end)()
        print(a, b, c)
      ]])
      local r = trk.exec({ "run", "s.lua", "--input", "in.txt" }, { cwd = dir })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("a\tb\tnil\n", r.stdout)
    end)

    it("returns nil and a message when a granted input is missing", function()
      local r = trk.run("print(files.open('missing.csv'))", { "--input", "missing.csv" })
      assert.are.equal(0, r.code)
      assert.are.equal("nil\tfiles.open: cannot open 'missing.csv': No such file or directory\n",
                       r.stdout)
    end)
  end)

  describe("require", function()
    it("loads a module beside the script, once, into the same environment", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/helpers.lua", "loads = (loads or 0) + 1\nreturn { twice = function(x) return 2 * x end }")
      trk.write(dir .. "/main.lua", "local h = require 'helpers'\nlocal h2 = require 'helpers'\n" ..
                                    "print(h.twice(21), h == h2, loads)")
      local r = trk.exec({ "run", "main.lua" }, { cwd = dir })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("42\ttrue\t1\n", r.stdout)
    end)

    it("maps dots to directories beside the script, wherever trk runs", function()
      local dir = trk.tmpdir()
      os.execute("mkdir -p " .. trk.quote(dir .. "/lib"))
      trk.write(dir .. "/lib/util.lua", "return { name = ... }")
      trk.write(dir .. "/main.lua", "print(require('lib.util').name)")
      local r = trk.exec({ "run", dir .. "/main.lua" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("lib.util\n", r.stdout)
    end)

    it("shows a module's own frames in a traceback", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/helpers.lua", "return { fail = function() error('nope') end }")
      trk.write(dir .. "/main.lua", "require('helpers').fail()")
      local r = trk.exec({ "run", "main.lua" }, { cwd = dir })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("^helpers.lua:1: nope"), r.stderr)
      assert.is_truthy(r.stderr:find("main.lua:1: in main chunk", 1, true), r.stderr)
    end)

    it("says where it looked for a missing module", function()
      local r = trk.run("require 'nothere'")
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("module 'nothere' not found: not shipped with trk, and " ..
                                     "no file 'nothere.lua' beside the script", 1, true), r.stderr)
    end)

    it("lets a module that failed while it loaded be required again, with its frames shown", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/flaky.lua", "tries = (tries or 0) + 1\nif tries == 1 then error('first time') end\n"
                                     .. "return { tries = tries }")
      trk.write(dir .. "/main.lua", "print(pcall(require, 'flaky'))\nprint(require('flaky').tries)\n"
                                    .. "require 'broken'")
      trk.write(dir .. "/broken.lua", "local function inner() error('while loading') end\ninner()")
      local r = trk.exec({ "run", "main.lua" }, { cwd = dir })
      assert.are.equal(1, r.code)
      assert.are.equal("false\tflaky.lua:2: first time\n2\n", r.stdout)
      assert.is_truthy(r.stderr:find("^broken.lua:1: while loading"), r.stderr)
      assert.is_truthy(r.stderr:find("broken.lua:2: in ", 1, true), r.stderr)
    end)

    it("reports a module that requires itself", function()
      local dir = trk.tmpdir()
      trk.write(dir .. "/loop.lua", "require 'loop'")
      trk.write(dir .. "/main.lua", "require 'loop'")
      local r = trk.exec({ "run", "main.lua" }, { cwd = dir })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("requires itself", 1, true), r.stderr)
    end)

    it("loads the tracker module", function()
      local r = trk.run("local t = require 'tracker'; print(t.version, tostring(t.error{ code = " ..
                        "'not_found', message = 'candidate 12', status = 404 }))")
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(r.stdout:match("^%d+%.%d+%.%d+\tnot_found: candidate 12 %(HTTP 404%)\n$"),
                       r.stdout)
    end)

    it("loads the client only when the script first requires tracker, as the same module", function()
      -- the client's parts are hundreds of kilobytes of the state's memory: a run that never
      -- requires it (start-up: bench/startup.sh) does not pay for them
      local r = trk.run([[
        local before = collectgarbage("count")
        local t = require "tracker"
        local grew = collectgarbage("count") - before
        print(grew > 200, t == require "tracker", t.transport, t.actions)
      ]])
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("true\ttrue\tnil\tnil\n", r.stdout)
    end)
  end)

  it("sorts as Lua's table.sort does, with and without an order function", function()
    local r = trk.run([[
      math.randomseed(3)
      for trial = 1, 300 do
        local n, t, count = math.random(0, 200), {}, {}
        for i = 1, n do
          local v = math.random(1, trial % 5 == 0 and 3 or 1000)
          t[i], count[v] = v, (count[v] or 0) + 1
        end
        local desc = trial % 2 == 0
        table.sort(t, desc and function(a, b) return a > b end or nil)
        for i = 2, n do assert(desc and t[i - 1] >= t[i] or (not desc and t[i - 1] <= t[i])) end
        for _, v in ipairs(t) do count[v] = count[v] - 1 end
        for _, c in pairs(count) do assert(c == 0) end
      end
      local w = { "pear", "apple", "fig" }
      table.sort(w)
      print(table.concat(w, ","))
      print(pcall(table.sort, { 5, 4, 3, 2, 1, 6, 7, 8, 9, 10, 11, 12, 13, 14 },
                  function() return true end))
    ]])
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("apple,fig,pear\nfalse\tinvalid order function for sorting\n", r.stdout)
  end)

  describe("json", function()
    it("decodes integral numbers as integers", function()
      local r = trk.run("local v = json.decode('{\"id\": 188077, \"score\": 87.5, \"n\": [1, 2.0]}')\n" ..
                        "print(math.type(v.id), v.id, v.score, math.type(v.n[2]))")
      assert.are.equal("integer\t188077\t87.5\tinteger\n", r.stdout)
    end)

    it("round-trips json.null", function()
      local r = trk.run("local v = json.decode('[null]') print(v[1] == json.null, tostring(json.null), " ..
                        "json.encode({ a = json.null }))")
      assert.are.equal("true\tjson.null\t{\"a\":null}\n", r.stdout)
    end)

    it("says where invalid JSON went wrong", function()
      local r = trk.run("json.decode('{\"a\": }')")
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("json.decode: Expected value but found T_OBJ_END at character 7",
                                     1, true), r.stderr)
    end)

    it("refuses input over its size cap", function()
      local r = trk.run("json.decode(('x'):rep(65 * 2^20))")
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("json.decode: input is 65 MiB, over the 64 MiB limit", 1, true),
                       r.stderr)
    end)
  end)
end)
