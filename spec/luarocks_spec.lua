-- `luarocks make` of the rockspec, from a copy of the source tree into a scratch rocks tree,
-- then plain lua5.4 requires the module from that tree.
local trk = require "support.trk"

local ROOT = os.getenv("TRK_ROOT") or "."
local quote = trk.quote

local sh = trk.sh

local function rockspec()
  local p = io.popen("cd " .. quote(ROOT) .. " && ls *.rockspec")
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  assert(#names == 1, "expected one rockspec at the project root, found: " .. table.concat(names, ", "))
  return names[1]
end

describe("the rockspec", function()
  local dir, tree, src, code, out

  setup(function()
    -- Not trk.tmpdir: the copy holds the suite's own secrets, which trk.cleanup looks for.
    local p = io.popen("mktemp -d /tmp/trk-rock.XXXXXX")
    dir = p:read("l")
    p:close()
    src, tree = dir .. "/src", dir .. "/tree"
    -- The source without build directories or state stores, so nothing of the repo's builds
    -- leaks into the rock, and the rock's build (build.luarocks) stays out of the repo.
    local c, o = sh("mkdir " .. quote(src) .. " && tar -C " .. quote(ROOT) ..
                    " --exclude='./build*' --exclude=./.git --exclude='.trk' -cf - . | tar -C " ..
                    quote(src) .. " -xf -")
    assert(c == 0, "copying the source: " .. o)
    -- luarocks make takes its build type from the rockspec; CMAKE_BUILD_PARALLEL_LEVEL reaches
    -- the `cmake --build` it runs.
    code, out = sh("cd " .. quote(src) .. " && CMAKE_BUILD_PARALLEL_LEVEL=2 luarocks make " ..
                   "--lua-version 5.4 --tree " .. quote(tree) .. " " .. rockspec())
  end)
  teardown(function()
    if dir then os.execute("rm -rf " .. quote(dir)) end
  end)

  it("builds and installs with luarocks make", function()
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find("is now installed in " .. tree, 1, true), out)
  end)

  it("puts the module where plain lua5.4 finds it, and it connects", function()
    assert.are.equal(0, code, out)
    local c, o = sh("eval \"$(luarocks --lua-version 5.4 --tree " .. quote(tree) .. " path)\" && " ..
                    "cd / && lua5.4 -e " .. quote([[
      print(package.searchpath("tracker", package.cpath))
      local tracker = require "tracker"
      local emulator = require "tracker.emulator"
      local t = tracker.connect{ transport = emulator.new{ apikey = "k", username = "u@example.com",
                                   data = emulator.generate{ candidates = 3 } }, rate_limit = false }
      local n = 0
      for _ in t:candidates{} do n = n + 1 end
      print("candidates " .. n .. ", version " .. tracker.version)
    ]]))
    assert.are.equal(0, c, o)
    assert.is_truthy(o:find(tree .. "/lib/lua/5.4/tracker.so\n", 1, true), o)
    assert.is_truthy(o:find("candidates 3, version %d+%.%d+%.%d+"), o)
  end)

  it("installs trk beside the tree's modules", function()
    assert.are.equal(0, code, out)
    local c, o = sh(quote(tree .. "/bin/trk") .. " version")
    assert.are.equal(0, c, o)
    assert.is_truthy(o:find("^trk %d+%.%d+%.%d+"), o)
  end)
end)
