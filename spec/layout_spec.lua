-- The layout's promises (docs/architecture.md): what a script may require, and what is trk's own.
local trk = require "support.trk"

local ROOT = os.getenv("TRK_ROOT") or "."   -- (changed by one spec below)

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

-- The action catalog (bindings/lua/actions.lua) is the one place that says what a write
-- operation is: no other Lua file of trk keeps a table keyed by operation names, or a list of
-- them. The names come from the catalog itself.
describe("the action catalog", function()
  local ops = require("tracker").actions.ops()

  -- "path:line: text" for each line outside the catalog that keys a table by an operation
  -- (`{ add_note = ...`, `["add_note"] =`, `CHECKS.add_note =`, `function CHECKS.add_note(`) or
  -- lists two operations.
  local function verb_lists()
    local found = {}
    local p = io.popen("find " .. ROOT .. "/bindings/lua " .. ROOT .. "/scripts -name '*.lua'")
    for path in p:lines() do
      if not path:match("/actions%.lua$") then
        local n = 0
        for line in io.lines(path) do
          n = n + 1
          local code = line:gsub("%-%-.*$", "")
          local quoted = 0
          for _, op in ipairs(ops) do
            -- ("request", t:request's raw write, is also every wire module's word for a request)
            local keyed = op ~= "request" and (code:find("[{,]%s*" .. op .. "%s*=")
              or code:find("%[%s*[\"']" .. op .. "[\"']%s*%]%s*=")
              or code:find("[%w_]%." .. op .. "%s*=")
              or code:find("function%s+[%w_]+%." .. op .. "%s*%("))
            if keyed then found[#found + 1] = path:sub(#ROOT + 2) .. ":" .. n .. ": " .. line end
            if code:find("[\"']" .. op .. "[\"']") then quoted = quoted + 1 end
          end
          if quoted >= 2 then found[#found + 1] = path:sub(#ROOT + 2) .. ":" .. n .. ": " .. line end
        end
      end
    end
    p:close()
    return found
  end

  it("names every write operation", function()
    assert.is_true(#ops >= 10, table.concat(ops, ", "))
    for _, op in ipairs({ "add_note", "move_to_stage", "create_candidate", "request" }) do
      assert.is_truthy(require("tracker").actions.entry(op), op)
    end
  end)

  it("describes every action a write makes, and refuses others with the reason", function()
    local actions = require("tracker").actions
    local ok = actions.validate({ op = "add_note", target = { kind = "application", id = 7 },
                                  payload = { text = "hi", subject = "S" } })
    assert.is_true(ok)
    local cases = {
      { { op = "add_nte", target = { kind = "job", id = 1 }, payload = {} }, "unknown operation 'add_nte' (did you mean 'add_note'?)" },
      { { op = "add_tag", target = { kind = "job", id = 1 }, payload = { tag = "x" } },
        "add_tag targets a candidate record, not 'job'" },
      { { op = "add_note", target = { kind = "job" }, payload = { text = "x" } },
        "add_note's target needs an id (a positive integer), got nil" },
      { { op = "add_note", target = { kind = "job", id = 1 }, payload = {} },
        "add_note's payload needs 'text' (a string), got nil" },
      { { op = "add_note", target = { kind = "job", id = 1 }, payload = { text = "x", subject = 2 } },
        "add_note's payload needs 'subject' (absent or a string), got 2" },
      { { op = "add_tag", target = { kind = "candidate", id = 1 }, payload = { tag = "x", extra = 1 } },
        "add_tag's payload has no field 'extra'" },
    }
    for _, c in ipairs(cases) do
      local valid, why = actions.validate(c[1])
      assert.is_nil(valid)
      assert.are.equal(c[2], why)
    end
    -- and t:check says so at the script's line
    local testing = require "tracker.testing"
    local t = testing.emulator({})
    local fine, e = pcall(t.check, t, { op = "add_note", target = { kind = "job", id = 1 }, payload = {} })
    assert.is_false(fine)
    assert.is_truthy(e:find("layout_spec.lua:%d+: check: argument 1 must be an action as a write makes it: "
                            .. "add_note's payload needs 'text'"), e)
  end)

  it("is the only place that lists them", function()
    assert.are.same({}, verb_lists())
  end)

  it("would see a list kept elsewhere", function()
    local dir = trk.tmpdir()
    local saved = ROOT
    ROOT = dir
    os.execute("mkdir -p " .. dir .. "/bindings/lua " .. dir .. "/scripts")
    trk.write(dir .. "/scripts/stray.lua", 'local DEFERRED = { add_note = true }\n'
      .. 'local L = { "add_tag", "remove_tag" }\nfunction CHECKS.attach() end\n')
    local found = verb_lists()
    ROOT = saved
    assert.are.equal(3, #found, table.concat(found, "\n"))
  end)
end)
