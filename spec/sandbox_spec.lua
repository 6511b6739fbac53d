-- The sandbox under attack: escapes and resource exhaustion, each with its expected outcome.
local trk = require "support.trk"

local CPU = "--max-cpu=0.5"

-- Each case: a script, trk options, and what must happen:
--   code    the exit status (0 ok, 1 script error, 3 limit)
--   out     exact stdout, or
--   absent  text stdout must not contain (script code that must never run)
--   err     a plain substring of stderr
local cases = {
  -- reaching the host ------------------------------------------------------------------
  { "has no io library", "print(io)", out = "nil\n" },
  { "has no package library", "print(package)", out = "nil\n" },
  { "has no debug library", "print(debug)", out = "nil\n" },
  { "has no dofile or loadfile", "print(dofile, loadfile)", out = "nil\tnil\n" },
  { "has no string.dump", "print(string.dump, ('').dump)", out = "nil\tnil\n" },
  { "keeps only time functions in os", "print(os.execute, os.getenv, os.exit, os.remove)",
    out = "nil\tnil\tnil\tnil\n" },
  { "refuses to require a standard library", "require 'io'", code = 1,
    err = "module 'io' not found" },
  { "refuses to require a C module", "require 'cjson'", code = 1,
    err = "module 'cjson' not found" },
  { "refuses module names that climb directories", "require '..secret'", code = 1,
    err = "invalid module name" },
  { "refuses module names with slashes", "require 'a/b'", code = 1, err = "invalid module name" },
  { "refuses binary chunks in load",
    "print(load('\\27Lua\\84\\0', 'x', 'bt'))",
    out = "nil\tattempt to load a binary chunk (mode is 't'): trk loads Lua text only, never "
          .. "bytecode (see docs/sandbox.md)\n" },
  { "loads text chunks into the sandbox environment",
    "x = 41; print(load('return x + 1')(), load('return io')())", out = "42\tnil\n" },
  { "hides the string metatable", "print(getmetatable(''))", out = "false\n" },
  { "hides library metatables", "print(getmetatable(string), getmetatable(math))",
    out = "false\tfalse\n" },
  { "refuses writes to library tables", "string.rep = function() end", code = 1,
    err = "read-only table 'string'" },
  { "refuses rawset on library tables", "rawset(table, 'insert', print)", code = 1,
    err = "rawset: table 'table' is read-only" },
  { "refuses a new metatable on library tables", "setmetatable(os, {})", code = 1,
    err = "cannot change a protected metatable" },
  { "keeps string methods when _G.string is replaced",
    "_G.string = { rep = function() return 'pwned' end }; print(('ab'):rep(2))", out = "abab\n" },
  { "keeps require working when _G is replaced",
    "_G = nil; print(require('tracker').version ~= nil)", out = "true\n" },
  { "hides the real library table from pairs",
    "local _, s = pairs(string); print(s == string); rawset(s, 'rep', print)", code = 1,
    out = "true\n", err = "read-only" },
  { "protects the tracker error metatable",
    "local e = require('tracker').error{ code = 'auth', message = 'no' }; print(getmetatable(e))",
    out = "tracker.error\n" },
  { "does not let json be reconfigured", "print(json.encode_max_depth, json.decode_invalid_numbers)",
    out = "nil\tnil\n" },
  { "lets collectgarbage only count",
    "print(math.type(collectgarbage('count'))); collectgarbage('collect')", code = 1,
    out = "float\n", err = "only \"count\"" },
  { "shows no addresses in tostring",
    "print(tostring({}), tostring(print), tostring(coroutine.create(print)))",
    out = "table: #1\tfunction: #2\tthread: #3\n" },
  { "gives an object the same name each time", "local t = {}; print(tostring(t) == tostring(t))",
    out = "true\n" },
  { "shows no addresses with %p or %s",
    "print(string.format('%p %s %10p|', {}, print, 1))", out = "#1 function: #2     (null)|\n" },
  { "refuses files that were not granted", "files.open('/etc/passwd')", code = 1,
    err = "'/etc/passwd' is not granted" },
  { "refuses writing files that were not granted", "files.create('out.txt')", code = 1,
    err = "'out.txt' is not granted" },

  -- finalizers, which run with hooks off ----------------------------------------------------
  { "refuses __gc metamethods", "setmetatable({}, { __gc = function() end })", code = 1,
    err = "__gc metamethods are not allowed" },
  { "never runs a __gc added after setmetatable",
    "local mt = {}; setmetatable({}, mt); mt.__gc = function() print('finalized') end\n" ..
    "for i = 1, 200000 do local _ = {} end",
    out = "" },

  -- CPU -------------------------------------------------------------------------------------
  { "stops an endless loop", "while true do end", CPU, code = 3, err = "cpu limit exceeded" },
  { "names the line where the cpu limit hit", "local x = 0\nwhile true do x = x + 1 end", CPU,
    code = 3, err = "script.lua:2: cpu limit exceeded" },
  { "is not fooled by a pcall loop",
    "while true do pcall(function() while true do end end) end print('escaped')", CPU,
    code = 3, absent = "escaped" },
  { "is not fooled by xpcall with a handler that loops",
    "xpcall(function() while true do end end, function() print('handler') while true do end end)" ..
    " print('escaped')", CPU, code = 3, absent = "escaped" },
  { "is not fooled by coroutines",
    "local co = coroutine.create(function() while true do end end)\n" ..
    "while true do print(coroutine.resume(co)) end", CPU, code = 3, absent = "false" },
  { "is not fooled by a coroutine per slice of work",
    "while true do local co = coroutine.wrap(function() for i = 1, 1e6 do end end); pcall(co) end",
    CPU, code = 3 },
  { "is not fooled by pcall around coroutine.resume",
    "local co = coroutine.create(function() while true do end end)\n" ..
    "while true do pcall(coroutine.resume, co) end", CPU, code = 3 },
  { "runs no __close handler after the kill",
    "do local x <close> = setmetatable({}, { __close = function() print('closed') end })\n" ..
    "while true do end end", CPU, code = 3, absent = "closed" },
  { "runs no __close handler of a coroutine after the kill",
    "local co = coroutine.create(function() local x <close> = setmetatable({}, { __close = " ..
    "function() print('closed') end }); while true do end end)\n" ..
    "print(coroutine.resume(co)); print(coroutine.close(co))", CPU, code = 3, absent = "closed" },
  { "runs no error object __tostring after the kill",
    "local e = setmetatable({}, { __tostring = function() print('tostring') return 'e' end })\n" ..
    "pcall(function() while true do end end); error(e)", CPU, code = 3, absent = "tostring" },
  { "stops an error object whose __tostring loops",
    "error(setmetatable({}, { __tostring = function() while true do end end }))", CPU, code = 3 },
  { "stops a loop hidden in an __index metamethod",
    "setmetatable(_G, { __index = function() while true do end end }); print(undefined)", CPU,
    code = 3 },
  { "stops a pattern bomb in string.find",
    "string.find(('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40)); print('done')", CPU, code = 3,
    absent = "done", err = "cpu limit exceeded" },
  { "stops a pattern bomb in string.gsub",
    "local s = ('a'):rep(30); s:gsub(('a?'):rep(30) .. ('a'):rep(30) .. 'b', '')", CPU,
    code = 3 },
  { "stops a pattern bomb in gmatch inside pcall",
    "pcall(function() for m in (('a'):rep(40)):gmatch(('a?'):rep(40) .. ('a'):rep(40)) do end end)" ..
    " print('escaped')", CPU, code = 3, absent = "escaped" },
  { "stops a pattern bomb against the wall clock too",
    "string.find(('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40))", "--max-cpu=0",
    "--deadline=0.5", code = 3, err = "deadline limit exceeded" },
  { "answers string.rep of nothing at once", "print(#string.rep('', 1e18), #('x'):rep(0))",
    out = "0\t0\n" },
  { "stops table.move over a huge range", "table.move({}, 1, math.maxinteger - 1, 2)", CPU,
    code = 3 },
  { "stops a sort of millions of numbers",
    "local t = {} for i = 1, 1e7 do t[i] = (i * 7919) % 1000003 end\n" ..
    "local ok = pcall(table.sort, t) print('sorted')", CPU, "--max-memory=1G", code = 3,
    absent = "sorted" },
  { "refuses a chunk whose gotos would take the parser minutes",
    "print(load(('do ' .. ('goto L '):rep(32000) .. ' ::L:: end '):rep(30)))", CPU,
    out = "nil\tload: more than 10000 goto statements in one chunk\n" },
  { "counts gotos across the pieces of a reader function",
    "local n = 0\n" ..
    "local f, e = load(function() n = n + 1 if n <= 20 then return ('goto L '):rep(600) end end)\n" ..
    "print(f, (e:match('^[^\\n]*')))",
    out = "nil\tload: more than 10000 goto statements in one chunk\n" },
  { "stops table.remove shifting under a lying __len",
    "local t = setmetatable({}, { __len = function() return math.maxinteger // 2 end })\n" ..
    "table.remove(t, 1) print('done')", CPU, code = 3, absent = "done" },
  { "stops table.insert shifting under a lying __len",
    "local t = setmetatable({}, { __len = function() return math.maxinteger // 2 end })\n" ..
    "table.insert(t, 1, 'x') print('done')", CPU, code = 3, absent = "done" },
  { "keeps the kill when coroutine.close fails",
    "local main = coroutine.running()\n" ..
    "local co = coroutine.create(function() pcall(coroutine.close, main) while true do end end)\n" ..
    "coroutine.resume(co)", CPU, code = 3 },
  { "keeps the kill after a failed coroutine.close, even through load",
    "local main = coroutine.running()\nlocal co = coroutine.create(function()\n" ..
    "  pcall(coroutine.close, main)\n" ..
    "  print(load(function() local s = 'x' while true do s = s .. s end end))\n" ..
    "  print('still running') end)\ncoroutine.resume(co)", "--max-memory=32M", code = 3,
    absent = "running" },
  { "runs no C __close handler that writes after the kill",
    "local x <close> = setmetatable({}, { __close = print })\n" ..
    "local y <close> = setmetatable({}, { __close = log.error })\nwhile true do end", CPU,
    code = 3, out = "", absent = "table" },
  { "bounds the error message it reports", "error(('x'):rep(1e6))", code = 1,
    err = "more bytes of error message" },
  { "keeps require('json') read-only too", "require('json').decode = print", code = 1,
    err = "read-only table 'json'" },
  { "stops an endless loop at the deadline", "while true do end", "--max-cpu=0",
    "--deadline=300ms", code = 3, err = "deadline limit exceeded" },

  -- memory ----------------------------------------------------------------------------------
  { "stops a growing table", "local t = {} for i = 1, 1e9 do t[i] = {} end", "--max-memory=32M",
    code = 3, err = "memory limit exceeded (32 MiB" },
  { "stops a doubling string", "local s = 'x' while true do s = s .. s end", "--max-memory=32M",
    code = 3, err = "memory limit exceeded" },
  { "stops a huge string.rep", "local s = ('x'):rep(2^30)", "--max-memory=32M", code = 3 },
  { "is not fooled by pcall around a memory bomb",
    "local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end)\n" ..
    "print('survived', ok)", "--max-memory=32M", code = 3, absent = "survived" },
  { "is not fooled by a coroutine memory bomb",
    "local co = coroutine.wrap(function() local s = 'x' while true do s = s .. s end end)\n" ..
    "print(pcall(co))", "--max-memory=32M", code = 3, absent = "false" },
  { "stops memory spread over many coroutines",
    "local cs = {} while true do cs[#cs + 1] = coroutine.create(print) end", "--max-memory=32M",
    code = 3 },
  { "lets a script use memory up to the limit after collecting garbage",
    "for i = 1, 50 do local t = {} for j = 1, 1e5 do t[j] = j end end print('ok')",
    "--max-memory=8M", out = "ok\n" },
  { "stops a json.encode whose text would not fit at the memory limit",
    "local s = ('x'):rep(1e6); local t = {} for i = 1, 200 do t[i] = s end; print(pcall(json.encode, t))",
    "--max-memory=64M", code = 3, err = "memory limit exceeded", absent = "false" },
  { "refuses deeply nested json", "json.decode(('['):rep(100000))", code = 1,
    err = "json.decode:" },
  { "refuses cyclic tables in json.encode", "local t = {}; t[1] = t; json.encode(t)", code = 1,
    err = "nesting" },

  -- output ----------------------------------------------------------------------------------
  { "stops endless printing", "while true do print(('x'):rep(1000)) end", "--max-output=64K",
    code = 3, err = "output limit exceeded (64 KiB, --max-output)" },
  { "counts log output too", "while true do log.info(('x'):rep(1000)) end", "--max-output=64K",
    code = 3, err = "output limit exceeded" },

  -- the host survives -------------------------------------------------------------------------
  { "turns endless recursion into an error", "local function f() return 1 + f() end f()",
    code = 1, err = "stack overflow" },
  { "turns nested coroutine recursion into an error",
    "local function f() coroutine.wrap(f)() end f()", code = 1, err = "stack overflow" },
  { "turns deeply nested source into an error", "load(('('):rep(1e5))() ", code = 1 },
  { "survives an error object whose __tostring fails",
    "error(setmetatable({}, { __tostring = function() error('inner') end }))", code = 1 },
  { "reports a nil error object", "error()", code = 1, err = "(error object is a nil value)" },
  { "reports a table error object without an address", "error({})", code = 1,
    err = "(error object is a table value)" },
  { "survives a comparator that errors", "table.sort({3, 2, 1}, function() error('cmp') end)",
    code = 1, err = "cmp" },
  { "survives an invalid format", "string.format('%99999d', 1)", code = 1, err = "invalid" },
}

describe("the sandbox", function()
  after_each(trk.cleanup)

  it("has at least 40 attack cases", function()
    assert.is_true(#cases >= 40, #cases .. " cases")
  end)

  for _, c in ipairs(cases) do
    it(c[1], function()
      local options = {}
      for i = 3, #c do options[#options + 1] = c[i] end
      local r = trk.run(c[2], options)
      local code = c.code or 0
      assert.are.equal(code, r.code, "exit status; stderr:\n" .. r.stderr)
      if c.out then assert.are.equal(c.out, r.stdout) end
      if c.absent then
        assert.is_nil(r.stdout:find(c.absent, 1, true), "stdout: " .. r.stdout)
      end
      if c.err then
        assert.is_truthy(r.stderr:find(c.err, 1, true), "stderr:\n" .. r.stderr)
      end
      assert.is_nil(r.stderr:find("0x%x+"), "an address leaked:\n" .. r.stderr)
    end)
  end
end)
