-- The bash completion (scripts/completion/trk.bash), sourced in bash and called as bash's
-- completion would call it, in a directory of a few files.
local trk = require "support.trk"

local ROOT = os.getenv("TRK_ROOT") or "."
local SCRIPT = ROOT .. "/scripts/completion/trk.bash"
local quote = trk.quote

describe("the bash completion", function()
  local dir

  setup(function()
    dir = trk.tmpdir() .. "/project"
    assert(os.execute("mkdir -p " .. quote(dir .. "/rules") .. " " .. quote(dir .. "/spec")))
    for _, f in ipairs{ "rule.lua", "notes.txt", "state.db", "rules/a.lua", "spec/x_spec.lua" } do
      trk.write(dir .. "/" .. f, "")
    end
  end)
  teardown(trk.cleanup)

  -- COMPREPLY, sorted, for the command line `words` (the last is the word being completed).
  local function complete(...)
    local words = { quote(trk.bin) }
    for _, w in ipairs{ ... } do words[#words + 1] = quote(w) end
    local p = io.popen(table.concat({
      "cd " .. quote(dir) .. " && bash --norc --noprofile -c " .. quote(
        "source " .. quote(SCRIPT) .. " && COMP_WORDS=(" .. table.concat(words, " ") .. ") && " ..
        "COMP_CWORD=" .. (#words - 1) .. " && _trk && printf '%s\\n' \"${COMPREPLY[@]}\""),
      "2>&1" }, " "))
    local out = p:read("a")
    local _, _, code = p:close()
    assert(code == 0, out)
    local list = {}
    for w in out:gmatch("[^\n]+") do list[#list + 1] = w end
    table.sort(list)
    return list
  end

  local function contains(list, x)
    for _, v in ipairs(list) do if v == x then return true end end
    return false
  end

  it("registers itself for trk", function()
    local p = io.popen("bash --norc --noprofile -c " .. quote("source " .. quote(SCRIPT) .. " && complete -p trk"))
    local out = p:read("a")
    p:close()
    assert.are.equal("complete -F _trk trk\n", out)
  end)

  it("completes the commands trk help lists", function()
    local all = complete("")
    for _, c in ipairs{ "run", "rules", "journal", "checkpoints", "test", "init", "emulator", "help",
                        "version" } do
      assert.is_true(contains(all, c), c .. " not in " .. table.concat(all, " "))
    end
    assert.are.same({ "rules", "run" }, complete("r"))
  end)

  it("completes a command's options from its help", function()
    assert.are.same({ "--state" }, complete("run", "--st"))
    local rules = complete("rules", "--")
    for _, o in ipairs{ "--apply", "--since", "--watch", "--rule-budget", "--plan", "--help" } do
      assert.is_true(contains(rules, o), o .. " not in " .. table.concat(rules, " "))
    end
    assert.is_false(contains(rules, "--input"))       -- run's, not rules'
    assert.are.same({ "--port" }, complete("emulator", "--po"))
  end)

  it("completes .lua files and directories for run", function()
    assert.are.same({ "notes.txt", "rule.lua", "rules", "spec", "state.db" }, complete("rules", "--state", ""))
    assert.are.same({ "rule.lua", "rules", "spec" }, complete("run", ""))
  end)

  it("completes directories for rules, init and checkpoints", function()
    assert.are.same({ "rules", "spec" }, complete("rules", ""))
    assert.are.same({ "rules" }, complete("init", "ru"))
    assert.are.same({ "rules", "spec" }, complete("checkpoints", ""))
    assert.are.same({ "--reset", "--reset-all", "--rewind" }, complete("checkpoints", "--re"))
  end)

  it("completes a script or a rules directory for journal", function()
    assert.are.same({ "rule.lua", "rules" }, complete("journal", "rul"))
    assert.are.same({ "--created" }, complete("journal", "--cr"))
  end)

  it("completes files for the options that take a FILE, nothing for other values", function()
    assert.are.same({ "state.db" }, complete("run", "rule.lua", "--state", "st"))
    assert.are.same({ "notes.txt" }, complete("run", "rule.lua", "--input", "n"))
    assert.are.same({ "notes.txt" }, complete("emulator", "--data", "n"))
    assert.are.same({}, complete("run", "rule.lua", "--max-memory", ""))
    assert.are.same({}, complete("rules", "rules", "--since", ""))
  end)

  it("completes export after schema, then its FILE; a file or directory for --data", function()
    assert.are.same({ "export" }, complete("schema", "e"))
    assert.are.same({ "notes.txt" }, complete("schema", "export", "no"))
    assert.are.same({ "--schema" }, complete("emulator", "--sch"))
    assert.are.same({ "rule.lua", "rules" }, complete("emulator", "--data", "rul"))
  end)

  it("completes commands after help, and files after --", function()
    assert.are.same({ "emulator" }, complete("help", "em"))
    assert.are.same({ "notes.txt" }, complete("run", "rule.lua", "--", "no"))
  end)
end)
