-- The sandbox's promises under attack, beyond ../shared/redteam's cases: a dry run writes
-- nothing whatever the script passes to tracker.connect; trk's reports and journal are written
-- with trk's own functions, not the script's globals; every path by which script code runs is
-- held to the limits. Each describe block is one invariant of docs/sandbox.md.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

-- A spy transport for `trk run` scripts: the in-process emulator behind a wrapper that counts
-- the widget writes that reach it. A dry run must send none.
local SPY = [[
local emu = require("tracker.emulator").new{ apikey = "k", username = "u@example.com" }
local READS = { getRecords = true, getIndividualRecord = true, getSettingsData = true,
                checkLogon = true }
local spy = { apikey = "k", username = "u@example.com", writes = 0 }
function spy.handle(_, method, path, headers, body)
  local verb = path:match("^/api/widget/(%w+)")
  if verb and not READS[verb] then spy.writes = spy.writes + 1 end
  return emu:handle(method, path, headers, body)
end
local function report() print("writes sent: " .. spy.writes) end
]]

local function run(source, options)
  return trk.run(SPY .. source, options)
end

local function writes_sent(r)
  return tonumber(r.stdout:match("writes sent: (%d+)"))
end

describe("a dry run writes nothing, whatever the script passes to tracker.connect", function()
  after_each(trk.cleanup)

  it("ignores an __index that answers hook = false: the session's hook is still installed", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect(setmetatable({ transport = spy }, { __index = function(_, k)
  if k == "hook" then return false end
end }))
t:add_note({ kind = "candidate", id = 1 }, "planned only")
t:create_candidate{ first_name = "A", last_name = "B", email = "a@example.com" }
report()
]], { "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(0, writes_sent(r))
    local sum = json.decode(r.stdout:match("(%b{})%s*$"))
    assert.are.equal(2, sum.actions)
    assert.are.equal(2, sum.planned)
  end)

  it("takes options raw: a __pairs that shows a transport and a hook of its own is not seen", function()
    local r = run([[
local tracker = require "tracker"
local mine = { transport = spy, hook = function(action, send) return send() end }
local opts = setmetatable({ transport = spy }, { __pairs = function() return next, mine, nil end })
local t = tracker.connect(opts)
t:add_note({ kind = "candidate", id = 1 }, "x")
report()
]])
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(0, writes_sent(r))
  end)

  it("refuses a hook that is not a function, naming the script's line", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect{ transport = spy, hook = setmetatable({}, { __call = function(_, a, send) return send() end }) }
]])
    assert.are.equal(1, r.code)
    assert.is_truthy(r.stderr:find("script.lua:12: tracker.connect: option 'hook' must be a function", 1, true), r.stderr)
  end)

  it("lets a script's hook keep send and call it later, or twice: the session still decides", function()
    local r = run([[
local tracker = require "tracker"
local kept = {}
local t = tracker.connect{ transport = spy, hook = function(action, send)
  kept[#kept + 1] = send
  return true
end }
t:add_note({ kind = "candidate", id = 1 }, "x")
t:add_note({ kind = "candidate", id = 2 }, "y")
for _, send in ipairs(kept) do send(); pcall(send) end
t:batch(function() t:add_note({ kind = "candidate", id = 3 }, "z") end)
for _, send in ipairs(kept) do pcall(send) end
report()
]])
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(0, writes_sent(r))
  end)

  it("keeps trk's objects read-only: the module, tracker.time and a client", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect{ transport = spy }
print(pcall(function() tracker.connect = function() end end))
print(pcall(function() tracker.time.parse = function() end end))
print(pcall(function() t.add_note = function() end end))
print(pcall(rawset, t, "add_note", function() end))
t:add_note({ kind = "candidate", id = 1 }, "x")
report()
]])
    assert.are.equal(0, r.code, r.stderr)
    local lines = {}
    for l in r.stdout:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.is_truthy(lines[1]:find("^false.*read%-only table 'tracker'"), lines[1])
    assert.is_truthy(lines[2]:find("^false.*read%-only table 'tracker.time'"), lines[2])
    assert.is_truthy(lines[3]:find("^false.*a tracker client is read%-only: cannot set its field 'add_note'"), lines[3])
    assert.is_truthy(lines[4]:find("^false.*rawset: table 'tracker client' is read%-only"), lines[4])
    assert.are.equal(0, writes_sent(r))
  end)

  it("under --apply, sends through the journal what the session decided, and nothing else", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect(setmetatable({ transport = spy }, { __index = { hook = true } }))
t:create_candidate{ first_name = "Ann", last_name = "Lee", email = "ann@example.com" }
report()
]], { "--apply", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(1, writes_sent(r))
    local j = trk.exec({ "journal", "--state", r.dir .. "/.trk/state.db", "--run", "1", "--json" })
    assert.are.equal(0, j.code, j.stderr)
    local rows = {}
    for l in j.stdout:gmatch("[^\n]+") do rows[#rows + 1] = json.decode(l) end
    assert.are.equal(1, #rows)
    assert.are.equal("create_candidate", rows[1].op)
    assert.are.equal("done", rows[1].status)
  end)
end)

describe("trk's reports and journal are written with trk's own functions", function()
  after_each(trk.cleanup)

  it("writes --plan lines with its own json, whatever the script's global json is", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect{ transport = spy }
_ENV.json = { encode = function() return '{"op":"forged"}' end, decode = json.decode }
t:create_candidate{ first_name = "Real", last_name = "Plan", email = "real@example.com" }
report()
]], { "--plan", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    local line = trk.slurp(r.dir .. "/plan.jsonl"):match("[^\n]+")
    local entry = json.decode(line)
    assert.are.equal("create_candidate", entry.op)
    assert.are.equal("real@example.com", entry.payload.email)
  end)

  it("summarises truly when the script replaces the globals trk's Lua might use", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect{ transport = spy }
t:add_note({ kind = "candidate", id = 1 }, "x")
pairs = function() error("poisoned pairs") end
next, type, tostring, ipairs = nil, function() return "nil" end, function() return "poisoned" end, nil
json = nil
]], { "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local sum = json.decode(r.stdout:match("(%b{})%s*$"))
    assert.are.equal("plan", sum.mode)
    assert.are.equal(1, sum.actions)
    assert.are.equal(1, sum.by_op.add_note)
  end)

  it("journals the payload that was sent, not the script's encoding of it", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect{ transport = spy }
local real = json
json = { encode = function() return '{"email":"forged"}' end, decode = real.decode, null = real.null }
t:create_candidate{ first_name = "Ann", last_name = "Lee", email = "the.real@example.com" }
]], { "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    local j = trk.exec({ "journal", "--state", r.dir .. "/.trk/state.db", "--run", "1", "--json" })
    assert.are.equal(0, j.code, j.stderr)
    assert.is_truthy(j.stdout:find("the.real@example.com", 1, true), j.stdout)
    assert.is_falsy(j.stdout:find("forged", 1, true))
  end)
end)

describe("text from Tracker or a script reaches the terminal printable", function()
  after_each(trk.cleanup)

  it("shows control characters and NUL in the plan table as \\xNN", function()
    local r = run([[
local tracker = require "tracker"
local t = tracker.connect{ transport = spy }
t:add_note({ kind = "candidate", id = 1 }, "clear\27[2J screen\0 hidden")
]])
    assert.are.equal(0, r.code, r.stderr)
    assert.is_falsy(r.stdout:find("\27", 1, true))
    assert.is_truthy(r.stdout:find("clear\\x1b[2J", 1, true), r.stdout)
  end)

  it("shows a script error's control characters escaped, and all of it past a NUL", function()
    local r = trk.run('error("bad\\27]0;title\\7 news\\0 after the NUL")')
    assert.are.equal(1, r.code)
    assert.is_falsy(r.stderr:find("\27", 1, true))
    assert.is_truthy(r.stderr:find("bad\\x1b]0;title\\x07 news\\x00 after the NUL", 1, true), r.stderr)
  end)
end)

describe("trk rules calls no code a rule can replace, outside the limits", function()
  local srv
  setup(function() srv = server.start({ "--generate", "20", "--seed", "5" }) end)
  teardown(server.stop_all)
  after_each(trk.cleanup)

  local function rules(files, ...)
    local dir = trk.dir_with(files)
    return trk.exec({ "rules", dir, "--since", "2000-01-01T00:00:00Z", "--json", ... },
                    { env = server.client_env(srv) }), dir
  end

  local function summary(r)
    return json.decode(r.stdout:match("(%b{})%s*$"))
  end

  it("refuses a rule that replaces a client method, and streams the next kind with trk's own", function()
    local r = rules({
      ["a.lua"] = [[return { on = "applications", scan = "all", action = function(app, t)
        t.candidates = function() while true do end end
      end }]],
      ["b.lua"] = [[return { on = "candidates", scan = "all", action = function() end }]],
    }, "--rule-budget", "100000")
    assert.are.equal(1, r.code, r.stderr)
    local sum = summary(r)
    assert.is_truthy(sum.errors[1].message:find("a tracker client is read-only", 1, true))
    assert.is_truthy(sum.rules[2].seen > 0)
  end)

  it("gives each rule a record of its own, nested tables included", function()
    local r = rules({
      ["a.lua"] = [[return { on = "applications", scan = "all", action = function(app)
        app.custom.poisoned, app.raw.poisoned, app.stage = true, true, "Poisoned"
      end }]],
      ["b.lua"] = [[return { on = "applications", scan = "all", action = function(app)
        if app.custom.poisoned or app.raw.poisoned or app.stage == "Poisoned" then
          error("BREACH: rule a's change reached rule b")
        end
      end }]],
    })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local sum = summary(r)
    assert.is_truthy(sum.rules[2].matched > 0)
  end)

  it("refuses rawset of t.batch too", function()
    local r = rules({
      ["a.lua"] = [[return { on = "applications", scan = "all", action = function(app, t)
        rawset(t, "batch", function() while true do end end)
      end }]],
    })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(summary(r).errors[1].message:find("rawset: table 'tracker client' is read-only", 1, true))
  end)

  it("holds a coroutine made while the rule file loaded to the rule budget", function()
    local r = rules({
      ["a.lua"] = [[
local spin = coroutine.wrap(function() while true do end end)
return { on = "applications", scan = "all", action = function() spin() end }]],
    }, "--rule-budget", "100000")
    assert.are.equal(1, r.code, r.stderr)
    local e = summary(r).errors[1]
    assert.is_true(e.budget)
  end)

  it("holds a __close handler of a rule to the rule budget", function()
    local r = rules({
      ["a.lua"] = [[return { on = "applications", scan = "all", action = function()
        local x <close> = setmetatable({}, { __close = function() while true do end end })
      end }]],
    }, "--rule-budget", "100000")
    assert.are.equal(1, r.code, r.stderr)
    assert.is_true(summary(r).errors[1].budget)
  end)

  it("holds a write's coroutine in t:batch to the rule budget (a transport that spins)", function()
    local r = rules({
      ["a.lua"] = [[return { on = "applications", scan = "all", action = function(app, t)
        local c = require("tracker").connect{ transport = { apikey = "k", username = "u@example.com",
          handle = function(_, ...) while true do end end } }
        c:batch(function() c:add_note({ kind = "candidate", id = 1 }, "x") end)
      end }]],
    }, "--rule-budget", "100000", "--apply")
    assert.are.equal(1, r.code, r.stderr)
    assert.is_true(summary(r).errors[1].budget)
  end)
end)

describe("a server that never answered", function()
  after_each(trk.cleanup)

  it("is retried for 5 seconds, not retry_for: a wrong URL fails fast", function()
    local started = os.time()
    local r = trk.run([[
local t = require("tracker").connect{ widget_url = "http://127.0.0.1:9", apikey = "k",
                                      username = "u", rate_limit = false }
print(select(2, t:ping()))
]])
    local took = os.time() - started
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("network", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find("gave up after", 1, true), r.stdout)
    assert.is_true(took <= 12, "took " .. took .. " s")
  end)
end)
