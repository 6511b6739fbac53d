-- `cmake --install` into a scratch prefix, then trk, plain lua5.4 and `trk test` from there.
local trk = require "support.trk"

local BUILD = os.getenv("TRK_BUILD") or "build"
local quote = trk.quote

local sh = trk.sh

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- A script that reads an in-process emulator through the installed module. Its records are
-- lazy when the installed trk-lazyjson.so is found (bindings/lazy.c), from bin/trk and from
-- tracker.so alike.
local EMULATOR_SCRIPT = [[
local tracker = require "tracker"
local emulator = require "tracker.emulator"
local emu = emulator.new{ apikey = "k", username = "u@example.com", api_token = "t",
                          data = emulator.generate{ candidates = 7 } }
local t = tracker.connect{ transport = emu, rate_limit = false }
local n, lazy = 0, 0
for r in t:candidates{} do
  n = n + 1
  if getmetatable(r) == "tracker.record" then lazy = lazy + 1 end
end
print("candidates " .. n .. ", lazy " .. lazy)
]]

describe("an installed trk", function()
  local prefix

  setup(function()
    prefix = trk.tmpdir() .. "/prefix"
    local code, out = sh("cmake --install " .. quote(BUILD) .. " --prefix " .. quote(prefix))
    assert(code == 0, "cmake --install failed:\n" .. out)
  end)
  teardown(trk.cleanup)

  -- Plain lua5.4 with the Lua paths at the prefix only (and the standard ones after).
  local function lua_env()
    return "env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 LUA_PATH=" ..
           quote(prefix .. "/share/lua/5.4/?.lua;" .. prefix .. "/share/lua/5.4/?/init.lua;;") ..
           " LUA_CPATH=" .. quote(prefix .. "/lib/lua/5.4/?.so;;")
  end

  it("lays out the executable, the module, the Lua modules, the man page and the rest", function()
    for _, f in ipairs{ "bin/trk", "lib/lua/5.4/tracker.so", "lib/lua/5.4/trk-lazyjson.so",
                        "share/lua/5.4/json.lua",
                        "share/lua/5.4/tracker/testing.lua", "share/lua/5.4/tracker/migrate.lua",
                        "share/lua/5.4/tracker/emulator.lua", "share/man/man1/trk.1",
                        "share/bash-completion/completions/trk", "share/trk/meta/tracker.lua",
                        "share/trk/meta/tracker/testing.lua", "share/doc/trk/examples/hello.lua",
                        "share/doc/trk/examples/rules/interview_note.lua" } do
      assert(exists(prefix .. "/" .. f), "not installed: " .. f)
    end
    assert.is_false(exists(prefix .. "/share/lua/5.4/completion"))
  end)

  it("runs a script with trk run, against the in-process emulator", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/emu.lua", EMULATOR_SCRIPT)
    local code, out = sh("cd " .. quote(dir) .. " && " .. quote(prefix .. "/bin/trk") .. " run emu.lua")
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find("candidates 7, lazy 7", 1, true), out)
  end)

  it("gives plain lua5.4 the tracker module from the prefix", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/emu.lua", "print(package.searchpath('tracker', package.cpath))\n" ..
                                 "print(package.searchpath('tracker.testing', package.path))\n" ..
                                 EMULATOR_SCRIPT)
    local code, out = sh("cd " .. quote(dir) .. " && " .. lua_env() .. " lua5.4 emu.lua")
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find(prefix .. "/lib/lua/5.4/tracker.so\n", 1, true), out)
    assert.is_truthy(out:find(prefix .. "/share/lua/5.4/tracker/testing.lua\n", 1, true), out)
    assert.is_truthy(out:find("candidates 7, lazy 7", 1, true), out)
  end)

  it("runs a new project's specs with trk test, with the prefix's modules", function()
    local dir = trk.tmpdir() .. "/rules-project"
    local bin = quote(prefix .. "/bin/trk")
    local code, out = sh(bin .. " init " .. quote(dir))
    assert.are.equal(0, code, out)
    trk.write(dir .. "/rules/paths_spec.lua", ([[
      describe("trk test", function()
        it("puts the installed tree on the Lua paths", function()
          assert.are.equal(%q, package.searchpath("tracker", package.cpath))
          assert.are.equal(%q, package.searchpath("tracker.testing", package.path))
        end)
      end)]]):format(prefix .. "/bin/../lib/lua/5.4/tracker.so",
                     prefix .. "/bin/../share/lua/5.4/tracker/testing.lua"))
    code, out = sh("cd " .. quote(dir) .. " && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 " ..
                   "-u LUA_CPATH_5_4 " .. bin .. " test")
    assert.are.equal(0, code, out)
    local passed = out:match("(%d+) successes? / 0 failures / 0 errors")
    assert(passed and tonumber(passed) >= 2, out)       -- the scaffold's spec and this one
  end)

  it("installs a man page that man renders", function()
    -- (man runs without the sanitizer runtime the ASan suite preloads: groff trips its checks)
    local code, out = sh("env -u LD_PRELOAD MANWIDTH=80 man --warnings -l " .. quote(prefix .. "/share/man/man1/trk.1") ..
                         " 2>&1 >/dev/null")
    assert.are.equal(0, code, out)
    assert.are.equal("", out)
    code, out = sh("env -u LD_PRELOAD MANWIDTH=80 man -l " .. quote(prefix .. "/share/man/man1/trk.1"))
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find("trk rules DIR", 1, true), out)
  end)
end)
