-- trk init and trk test end to end: the real trk makes a rules project a newcomer can follow,
-- runs its specs with busted (passing and failing as they do), and the project's rule runs
-- under trk rules against a `trk emulator`, as its README says.
local trk = require "support.trk"
local server = require "support.server"
local scaffold = require "trk.scaffold"
local json = require "json"

local q = trk.quote

-- trk test replaces itself with busted, which runs on the distribution's lua5.4: under the
-- sanitizer build that interpreter carries the preloaded ASan runtime (spec/tests.cmake) and
-- its leaks are not ours to check (trk itself never exits, so there is nothing of its own).
local TEST_ENV = os.getenv("TRK_SANITIZE") and { ASAN_OPTIONS = "detect_leaks=0" } or nil

local function has(text, s)
  return text:find(s, 1, true) ~= nil
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- A fresh project: DIR/proj made by trk init; answers its path.
local function project()
  local dir = trk.tmpdir() .. "/proj"
  local r = trk.exec({ "init", dir })
  assert.are.equal(0, r.code, r.stderr)
  return dir
end

local function test_in(dir, args)
  return trk.exec(args or { "test" }, { cwd = dir, env = TEST_ENV })
end

local edit = trk.edit

-- busted's closing line: successes, failures, errors.
local function tally(r)
  local s, f, e = r.stdout:match("(%d+) successes? / (%d+) failures? / (%d+) errors?")
  assert(s, "no busted summary in:\n" .. r.stdout .. r.stderr)
  return { tonumber(s), tonumber(f), tonumber(e) }
end

describe("trk init", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("creates a rule, its spec beside it, a README, a .gitignore and a .luarc.json, and says so", function()
    local dir = trk.tmpdir() .. "/proj"
    local r = trk.exec({ "init", dir })
    assert.are.equal(0, r.code, r.stderr)
    local files = scaffold.files()
    local names = {}
    for _, f in ipairs(files) do
      names[f.path] = true
      assert.are.equal(f.text, trk.slurp(dir .. "/" .. f.path))
      assert.is_truthy(has(r.stdout, "created " .. dir .. "/" .. f.path .. "\n"), r.stdout)
    end
    assert.is_true(names["README.md"] and names["rules/first_rule.lua"]
                   and names["rules/first_rule_spec.lua"] and names[".gitignore"])
    local p = io.popen("cd " .. q(dir) .. " && find . -type f | sort")
    local listing = p:read("a")
    p:close()
    assert.are.equal("./.gitignore\n./.luarc.json\n./README.md\n./rules/first_rule.lua\n"
                     .. "./rules/first_rule_spec.lua\n", listing)
    assert.is_truthy(has(r.stdout, "created " .. dir .. "/.luarc.json\n"), r.stdout)
    assert.is_truthy(has(r.stdout, "Next: cd " .. dir .. " && trk test"), r.stdout)
    assert.are.equal("", r.stderr)
  end)

  it("points editors at trk's LuaLS definitions in .luarc.json", function()
    local dir = trk.tmpdir() .. "/proj"
    assert.are.equal(0, trk.exec({ "init", dir }).code)
    -- it names a path of this machine: git leaves it out
    assert.are.equal(".trk/\n.luarc.json\n", trk.slurp(dir .. "/.gitignore"))
    local rc = json.decode(trk.slurp(dir .. "/.luarc.json"))
    assert.are.equal("Lua 5.4", rc["runtime.version"])
    local meta = rc["workspace.library"][1]
    assert.is_truthy(trk.slurp(meta .. "/tracker.lua"):find("---@meta", 1, true), meta)
    assert.is_truthy(trk.slurp(meta .. "/tracker/testing.lua"):find("---@meta", 1, true), meta)
  end)

  it("makes the directories it needs, and takes an existing empty one", function()
    local nested = trk.tmpdir() .. "/a/b/proj"
    assert.are.equal(0, trk.exec({ "init", nested }).code)
    assert.is_true(exists(nested .. "/rules/first_rule.lua"))
    local empty = trk.tmpdir()
    local r = trk.exec({ "init", empty })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_true(exists(empty .. "/README.md"))
  end)

  it("refuses a directory that is not empty, and touches nothing in it", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/notes.txt", "mine\n")
    local r = trk.exec({ "init", dir })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(has(r.stderr, "trk init: " .. dir .. " is not empty; give a new directory"),
                     r.stderr)
    assert.are.equal("mine\n", trk.slurp(dir .. "/notes.txt"))
    assert.is_false(exists(dir .. "/README.md"))
    assert.is_false(exists(dir .. "/rules/first_rule.lua"))
    -- a directory holding only a hidden file is not empty either
    local hidden = trk.tmpdir()
    trk.write(hidden .. "/.keep", "")
    assert.are.equal(1, trk.exec({ "init", hidden }).code)
    assert.is_false(exists(hidden .. "/README.md"))
  end)

  it("wants exactly one directory", function()
    local none = trk.exec({ "init" })
    assert.are.equal(2, none.code)
    assert.is_truthy(has(none.stderr, "trk init: give one directory (trk init DIR)"), none.stderr)
    local two = trk.exec({ "init", trk.tmpdir() .. "/a", trk.tmpdir() .. "/b" })
    assert.are.equal(2, two.code)
  end)

  it("has help: trk help init and trk init --help", function()
    for _, argv in ipairs({ { "help", "init" }, { "init", "--help" }, { "init", "-h" } }) do
      local r = trk.exec(argv)
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(has(r.stdout, "usage: trk init DIR"), r.stdout)
      assert.is_truthy(has(r.stdout, "must not exist or be empty"), r.stdout)
    end
  end)

  it("makes a rule that trk rules runs against an emulator, as the README says", function()
    local dir = project()
    local srv = server.start({ "--generate", "40", "--seed", "3", "--admin" })
    local env = server.client_env(srv)
    local function state()
      local p = io.popen(server.PLAIN .. "curl -s " .. q(srv.url .. "/_emulator/state"))
      local doc = json.decode(p:read("a"))
      p:close()
      return doc
    end
    -- the LinkedIn candidates not yet High priority (the generated data sets Priority on some)
    local linkedin, todo = {}, 0
    for _, c in ipairs(state().candidates) do
      if c.source == "LinkedIn" then
        linkedin[#linkedin + 1] = c.id
        if (c.custom or {})["448"] ~= "High" then todo = todo + 1 end
      end
    end
    assert.is_true(todo > 0)
    local since = "2000-01-01T00:00:00Z"
    local plan = trk.exec({ "rules", "rules/", "--since", since }, { cwd = dir, env = env })
    assert.are.equal(0, plan.code, plan.stderr)
    assert.are.equal(todo, select(2, plan.stdout:gsub("set_custom_fields%s+candidate %d+", "")),
                     plan.stdout)
    assert.is_truthy(plan.stderr:find("first%-rule%s+40%s+" .. todo .. "%s+" .. todo
                                      .. "%s+0"), plan.stderr)
    local apply = trk.exec({ "rules", "rules/", "--since", since, "--apply" }, { cwd = dir, env = env })
    assert.are.equal(0, apply.code, apply.stderr)
    local high = {}
    for _, c in ipairs(state().candidates) do
      if c.source == "LinkedIn" and (c.custom or {})["448"] == "High" then high[#high + 1] = c.id end
    end
    table.sort(linkedin)
    table.sort(high)
    assert.are.same(linkedin, high)
    local again = trk.exec({ "rules", "rules/" }, { cwd = dir, env = env })
    assert.are.equal(0, again.code, again.stderr)
    assert.are.equal("", again.stdout)                  -- nothing left to plan
    assert.is_true(exists(dir .. "/rules/.trk/state.db"))
  end)
end)

describe("trk test", function()
  after_each(function() trk.cleanup() end)

  it("passes on the project trk init makes", function()
    local dir = project()
    local r = test_in(dir)
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    assert.are.same({ 3, 0, 0 }, tally(r))
  end)

  it("fails when the rule is broken", function()
    local dir = project()
    edit(dir .. "/rules/first_rule.lua", '"LinkedIn"', '"Linkedin"')
    local r = test_in(dir)
    assert.are_not.equal(0, r.code)
    assert.are.same({ 2, 1, 0 }, tally(r))
    assert.is_truthy(has(r.stdout, "marks a candidate who came from LinkedIn as High priority"), r.stdout)
  end)

  it("fails when a spec is broken", function()
    local dir = project()
    edit(dir .. "/rules/first_rule_spec.lua", "assert.planned_count(1, actions)",
         "assert.planned_count(2, actions)")
    local r = test_in(dir)
    assert.are_not.equal(0, r.code)
    assert.are.same({ 2, 1, 0 }, tally(r))
  end)

  it("fails a rule that uses a forbidden global, as trk rules would", function()
    local dir = project()
    edit(dir .. "/rules/first_rule.lua", "return cand.source == \"LinkedIn\"",
         "return io.open(\"/etc/passwd\") ~= nil and cand.source == \"LinkedIn\"")
    local r = test_in(dir)
    assert.are_not.equal(0, r.code)
    assert.is_truthy(has(r.stdout, "first_rule.lua:11: attempt to index a nil value (global 'io')"),
                     r.stdout)
  end)

  it("runs the spec files it is given, passing busted's options through", function()
    local dir = project()
    trk.write(dir .. "/failing_spec.lua", [[
describe("x", function() it("fails", function() assert.are.equal(1, 2) end) end)
]])
    local all = test_in(dir)
    assert.are_not.equal(0, all.code)
    assert.are.same({ 3, 1, 0 }, tally(all))
    -- only the file given: the failing spec is not run
    local one = test_in(dir, { "test", "rules/first_rule_spec.lua", "-o", "TAP" })
    assert.are.equal(0, one.code, one.stdout .. one.stderr)
    assert.are.equal(3, select(2, ("\n" .. one.stdout):gsub("\nok %d", "")), one.stdout)
    assert.is_truthy(one.stdout:find("\n1%.%.3\n$"), one.stdout)
    -- an option's value is not taken for a path: without one, trk test still runs "."
    local opt = test_in(dir, { "test", "-o", "TAP" })
    assert.are_not.equal(0, opt.code)
    assert.are.equal(3, select(2, ("\n" .. opt.stdout):gsub("\nok %d", "")), opt.stdout)
    assert.are.equal(1, select(2, ("\n" .. opt.stdout):gsub("\nnot ok %d", "")), opt.stdout)
    assert.is_truthy(opt.stdout:find("\n1%.%.4\n$"), opt.stdout)
  end)

  it("has help: trk help test and trk test --help", function()
    for _, argv in ipairs({ { "help", "test" }, { "test", "--help" } }) do
      local r = trk.exec(argv)
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(has(r.stdout, "usage: trk test [PATH...] [BUSTED OPTIONS]"), r.stdout)
      assert.is_truthy(has(r.stdout, "Exits non-zero when a spec fails"), r.stdout)
    end
  end)
end)
