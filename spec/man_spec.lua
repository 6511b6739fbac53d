-- The man page trk(1), built from `trk help` by docs/man.lua, against `trk help` itself: every
-- command and option in both, and a page man renders without a warning.
local trk = require "support.trk"

local BUILD = os.getenv("TRK_BUILD") or "build"
local ROOT = os.getenv("TRK_ROOT") or "."
local PAGE = BUILD .. "/trk.1"

-- man and groff run without the sanitizer runtime the ASan suite preloads (groff is C++, and
-- its allocations trip ASan's checks).
local function sh(cmd)
  local p = io.popen("env -u LD_PRELOAD " .. cmd)
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out
end

local function help(topic)
  local r = trk.exec(topic and { "help", topic } or { "help" })
  assert(r.code == 0, "trk help " .. (topic or "") .. ": " .. r.stderr)
  return r.stdout
end

local function commands()
  local list = {}
  local section = help():match("\ncommands:\n(.-)\n\n")
  for line in section:gmatch("[^\n]+") do list[#list + 1] = line:match("^  (%l+)") end
  return list
end

-- The options a help page's items name ("  --state FILE   ...", "  -h, --help   ...").
local function options(text)
  local set = {}
  for line in text:gmatch("[^\n]+") do
    local term = line:match("^  +(%-%S.-)%s%s") or line:match("^  +(%-%S+)$")
    if term then
      for word in term:gmatch("[^%s,]+") do
        local opt = word:match("^%-%-?%w[%w-]*$")
        if opt then set[opt] = true end
      end
    end
  end
  return set
end

-- The page as man renders it, wide enough that no option is hyphenated across lines.
local function rendered()
  local code, out = sh("MANWIDTH=250 man -l " .. trk.quote(PAGE) .. " 2>&1")
  assert(code == 0, out)
  return out
end

-- A command's part of the rendered page: from its heading to the next one.
local function section(page, cmd)
  local s = page:match("\n   trk " .. cmd .. "\n(.-)\n   %S") or page:match("\n   trk " .. cmd .. "\n(.-)\n%u")
  assert(s, "the man page has no section for trk " .. cmd)
  return s
end

describe("the man page", function()
  local page

  setup(function()
    page = rendered()
  end)

  it("has a section for every command trk help lists", function()
    local cmds = commands()
    assert.is_true(#cmds >= 6)
    for _, c in ipairs(cmds) do section(page, c) end
  end)

  it("documents every option of every trk help page in that command's section", function()
    for _, c in ipairs(commands()) do
      local r = trk.exec({ "help", c })
      if r.code == 0 then
        local s = section(page, c)
        for opt in pairs(options(r.stdout)) do
          assert(s:find("%s" .. opt:gsub("%-", "%%-") .. "%f[^%w-]"), "man page, trk " .. c .. ": no " .. opt)
        end
      end
    end
    for opt in pairs(options(help())) do
      assert.is_truthy(page:find(opt, 1, true), "man page: no " .. opt)
    end
  end)

  it("names no option that no trk help page has", function()
    local known = options(help())
    for _, c in ipairs(commands()) do
      local r = trk.exec({ "help", c })
      for opt in pairs(options(r.stdout)) do known[opt] = true end
    end
    local unknown = {}
    for opt in page:gmatch("%f[%w-]%-%-[%a][%w-]*") do
      if not known[opt] then unknown[#unknown + 1] = opt end
    end
    assert(#unknown == 0, "man page names options trk help does not: " .. table.concat(unknown, ", "))
  end)

  it("describes every TRACKER_* variable the client reads", function()
    local env = page:match("\nENVIRONMENT\n(.-)\n%u")
    assert(env, "no ENVIRONMENT section")
    local source = assert(io.open(ROOT .. "/bindings/lua/config.lua")):read("a")
    local vars = source:match("local ENV = (%b{})")
    local n = 0
    for var in vars:gmatch('"(TRACKER_[%u_]+)"') do
      n = n + 1
      assert.is_truthy(env:find("\n%s+" .. var .. "\n"), "ENVIRONMENT lacks " .. var)
    end
    assert.is_true(n >= 10)
  end)

  it("renders without a warning from groff or man", function()
    local code, out = sh("groff -ww -man -z " .. trk.quote(PAGE) .. " 2>&1")
    assert.are.equal(0, code, out)
    assert.are.equal("", out)
    code, out = sh("MANWIDTH=80 man --warnings -l " .. trk.quote(PAGE) .. " 2>&1 >/dev/null")
    assert.are.equal(0, code, out)
    assert.are.equal("", out)
  end)

  it("carries the version trk reports", function()
    local version = trk.exec({ "version" }).stdout:match("^trk (%S+)")
    assert.is_truthy(page:find("trk " .. version, 1, true), "no version " .. version)
  end)
end)
