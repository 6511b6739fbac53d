-- The layout's promises (docs/architecture.md): what a script may require, and what is trk's own.
local trk = require "support.trk"

local ROOT = os.getenv("TRK_ROOT") or "."

-- Every module of scripts/trk/: the host's own Lua.
local function host_modules()
  local out = {}
  local p = io.popen("ls -1 " .. ROOT .. "/scripts/trk")
  for name in p:lines() do
    if name:match("%.lua$") then out[#out + 1] = "trk." .. name:gsub("%.lua$", "") end
  end
  p:close()
  return out
end

describe("a script cannot require trk's own modules", function()
  after_each(trk.cleanup)
  local modules = host_modules()

  it("finds the host's modules to try", function()
    assert.is_true(#modules >= 5, table.concat(modules, ", "))
    local names = table.concat(modules, " ")
    for _, m in ipairs({ "trk.commands", "trk.journal", "trk.report", "trk.doctor" }) do
      assert.is_truthy(names:find(m, 1, true), names)
    end
  end)

  it("refuses each from trk run, saying it is trk's own", function()
    local lines = {}
    for _, m in ipairs(modules) do
      lines[#lines + 1] = ("print(%q, pcall(require, %q))"):format(m, m)
    end
    lines[#lines + 1] = 'print("tracker.runtime", pcall(require, "tracker.runtime"))'
    local r = trk.run(table.concat(lines, "\n"))
    assert.are.equal(0, r.code, r.stderr)
    for _, m in ipairs(modules) do
      local line = r.stdout:match("\n?(" .. m:gsub("%.", "%%.") .. "\tfalse\t[^\n]*)")
      assert.is_truthy(line, m .. " was not refused:\n" .. r.stdout)
      assert.is_truthy(line:find("is part of trk itself", 1, true), line)
    end
    assert.is_truthy(r.stdout:find("tracker.runtime\tfalse\tmodule 'tracker.runtime' not found", 1, true),
                     r.stdout)
  end)

  it("refuses one from a rule file under trk rules, naming the file and line", function()
    local dir = trk.dir_with({ ["sneaky.lua"] = 'local j = require "trk.journal"\n'
      .. 'return { on = "applications", action = function() end }\n' })
    local r = trk.exec({ "rules", dir })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("sneaky.lua:1: module 'trk.journal' is part of trk itself", 1, true),
                     r.stderr)
  end)

  it("refuses one from a rule loaded by the busted kit", function()
    local testing = require "tracker.testing"
    local dir = trk.dir_with({ ["sneaky.lua"] = 'local j = require "trk.report"\n'
      .. 'return { on = "applications", action = function() end }\n' })
    local ok, e = pcall(testing.load_rule, dir .. "/sneaky.lua")
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("sneaky.lua:1: module 'trk.report' is part of trk itself", 1, true),
                     tostring(e))
  end)
end)
