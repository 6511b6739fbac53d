-- trk run --apply and its journal: a run killed at any point and run again applies every
-- write exactly once. Against real `trk emulator` servers over HTTP.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

local q = trk.quote
-- TRK_SOAK=1 (make soak): larger and repeated, each round on other data and other kill points
local SOAK = os.getenv("TRK_SOAK") == "1"
local KILLS = tonumber(os.getenv("TRK_KILLS") or "") or (SOAK and 50 or 20)
local APPS = tonumber(os.getenv("TRK_KILL_APPS") or "") or (SOAK and 1667 or 500)   -- three writes each
local CANDIDATES = SOAK and 1200 or 400            -- 1.5 applications each
local SEEDS = SOAK and { 7, 8, 9 } or { 7 }

-- The job: for each of the first APPS applications by id, a note, a stage move and a custom
-- field, each decided by the id alone, so every run of it wants the same writes.
local SCRIPT = [[
local tracker = require "tracker"
local t = tracker.connect()
local ids = {}
for app in t:applications{} do ids[#ids + 1] = app.id end
table.sort(ids)
local stages = { "Screening", "Interview", "Offer" }
for i = 1, math.min(#ids, tonumber(arg[1])) do
  local app = t:application(ids[i])
  assert(t:add_note(app, "journal check " .. app.id))
  assert(t:move_to_stage(app, stages[app.id % 3 + 1]))
  assert(t:set_custom_fields(app, { ["Recruiter Score"] = app.id % 97 }))
end
]]

-- The same job with the writes in flight four at a time.
local BATCHED = SCRIPT:gsub("for i = 1, math.min", "t:batch(function()\nfor i = 1, math.min")
                      :gsub("\nend\n$", "\nend\nend)\n")



-- What the job changes, comparable between two emulators: each application's stage and score,
-- and how many times each note was written.
local function outcome(doc)
  local out = { notes = {}, apps = {}, nnotes = 0 }
  for _, a in ipairs(doc.activities) do
    if type(a.note) == "string" and a.note:find("^journal check ") then
      out.notes[a.note] = (out.notes[a.note] or 0) + 1
      out.nnotes = out.nnotes + 1
    end
  end
  for _, a in ipairs(doc.applications) do
    out.apps[a.id] = { stage = a.statusid, score = a.custom and a.custom["450"] }
  end
  return out
end

local function setup(dir, source)
  trk.write(dir .. "/job.lua", source or SCRIPT)
  return { "run", "job.lua", "--apply", "--", tostring(APPS) }
end


describe("trk run --apply", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("plans without sending unless --apply is given, and the plan lists every action", function()
    local srv = server.start({ "--generate", "60", "--admin" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", SCRIPT)
    local before = outcome(server.state(srv))
    local r = trk.exec({ "run", "job.lua", "--plan", "plan.jsonl", "--", "5" },
                       { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(before, outcome(server.state(srv)))
    assert.is_truthy(r.stdout:find("add_note", 1, true), r.stdout)
    -- each update shows old -> new, from the application the script read
    assert.is_truthy(r.stdout:match("stage: '[^']+' → '[^']+'"), r.stdout)
    assert.is_truthy(r.stdout:match("Recruiter Score: [^\n]* → 6%d"), r.stdout)
    assert.is_truthy(r.stderr:find("15 writes planned (5 add_note, 5 move_to_stage, 5 "
                                   .. "set_custom_fields); nothing was sent", 1, true), r.stderr)
    local lines = 0
    for line in io.lines(dir .. "/plan.jsonl") do
      local a = json.decode(line)
      assert.are.equal("planned", a.status)
      assert.are.equal("application", a.target.kind)
      lines = lines + 1
    end
    assert.are.equal(15, lines)
    assert.is_nil(io.open(dir .. "/.trk/state.db"))     -- a dry run keeps no journal
  end)

  it("applies once, and a second run of a completed job is a new run", function()
    local srv = server.start({ "--generate", "60", "--admin" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", SCRIPT)
    local r = trk.exec({ "run", "job.lua", "--apply", "--", "4" }, { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("12 writes: 12 applied", 1, true), r.stderr)
    assert.are.equal(4, outcome(server.state(srv)).nnotes)
    local j = trk.exec({ "journal", "--state", dir .. "/.trk/state.db" })
    assert.are.equal(0, j.code, j.stderr)
    assert.is_truthy(j.stdout:find("1%s+%S+%s+complete%s+1%s+12%s+12%s+0%s+0%s+trk run job.lua"), j.stdout)
    local js = trk.exec({ "journal", "--state", dir .. "/.trk/state.db", "--run", "1", "--json" })
    local n = 0
    for line in js.stdout:gmatch("[^\n]+") do
      assert.are.equal("done", json.decode(line).status)
      n = n + 1
    end
    assert.are.equal(12, n)
  end)

  for _, case in ipairs({ { "one write at a time", SCRIPT }, { "in t:batch", BATCHED } }) do
  for _, seed in ipairs(SEEDS) do
  it("killed at random points at least " .. KILLS .. " times (" .. case[1] .. ", data seed "
     .. seed .. "), ends as an uninterrupted run does", function()
    local data = { "--generate", tostring(CANDIDATES), "--seed", tostring(seed), "--admin" }
    -- the reference: the same job on the same data, never interrupted
    local ref_srv = server.start(data)
    local ref_dir = trk.tmpdir()
    local t0 = server.now()
    local r = trk.exec(setup(ref_dir, case[2]), { cwd = ref_dir, env = server.client_env(ref_srv) })
    local ref_secs = server.now() - t0
    assert.are.equal(0, r.code, r.stderr)
    local want = outcome(server.state(ref_srv))
    local total = 3 * math.min(APPS, #server.state(ref_srv).applications)
    assert.is_true(total >= 900, "the job makes " .. total .. " writes")
    local shown = tostring(total):reverse():gsub("(%d%d%d)(%d)", "%1,%2"):reverse()
    assert.is_truthy(r.stderr:find(shown .. " writes: " .. shown .. " applied", 1, true), r.stderr)

    local srv = server.start(data)
    local dir = trk.tmpdir()
    local argv = setup(dir, case[2])
    local cmd = { "cd", q(dir), "&&", server.PLAIN, "exec env",
                  server.shell_env(server.client_env(srv)) }
    if os.getenv("TRK_SANITIZE") then cmd[#cmd + 1] = "ASAN_OPTIONS=detect_leaks=0" end
    cmd[#cmd + 1] = q(trk.bin)
    for _, a in ipairs(argv) do cmd[#cmd + 1] = q(a) end
    local line = table.concat(cmd, " ")
    math.randomseed(os.time() + seed)
    -- kill points spread so that KILLS interruptions cover about 3/4 of an uninterrupted run
    local window = 1.5 * ref_secs / KILLS
    local kills, ints, done = 0, 0, false
    for i = 1, KILLS * 3 do
      local delay = 0.01 + math.random() * window
      local sig = (i % 4 == 0 and kills + ints < KILLS - 1) and "INT" or "KILL"
      -- a Ctrl-C before trk has set its handler would be ignored (a background job of a shell
      -- without job control ignores SIGINT): those come once it runs
      if sig == "INT" then delay = math.max(delay, 0.15) end
      local status = os.execute(string.format(
        "{ (%s) >/dev/null 2>&1 & pid=$!; sleep %.3f; kill -%s $pid; wait $pid; } 2>/dev/null",
        line, delay, sig))
      if status then done = true break end     -- finished before the signal came
      if sig == "INT" then ints = ints + 1 else kills = kills + 1 end
      if kills + ints >= KILLS then break end
      -- the next kills share what is left of the work, so the job cannot finish before every
      -- kill is made (and late kills land early in a run: start-up, the reads, the first writes)
      local left = 1 - outcome(server.state(srv)).nnotes / (total / 3)
      window = math.max(0.02, ref_secs * left / (KILLS - kills - ints + 1))
    end
    assert.is_true(kills + ints >= KILLS, "only " .. (kills + ints) .. " interruptions")
    -- then run it to the end, as a user would after the last interruption
    if not done then
      r = trk.exec(argv, { cwd = dir, env = server.client_env(srv) })
      assert.are.equal(0, r.code, r.stderr)
    end
    local got = outcome(server.state(srv))
    for note, n in pairs(got.notes) do
      assert.are.equal(1, n, "note '" .. note .. "' written " .. n .. " times")
    end
    assert.are.same(want, got)
    -- the journal shows the resumed run, complete, with nothing left unsettled
    local j = trk.exec({ "journal", "--state", dir .. "/.trk/state.db", "--json" })
    local runs = {}
    for l in j.stdout:gmatch("[^\n]+") do runs[#runs + 1] = json.decode(l) end
    assert.are.equal(1, #runs)
    assert.are.equal("complete", runs[1].status)
    assert.are.equal(total, runs[1].done)
    assert.are.equal(0, runs[1].unsettled)
    assert.is_true(runs[1].attempts > KILLS // 2, "attempts: " .. runs[1].attempts)
  end)
  end
  end

  it("Ctrl-C stops at a safe point, says how far it got, and the next run resumes", function()
    -- rich: its one search page lets the writes start well within the 1.5 s before the signal
    -- (evidence's pages of 10 and reads of each application take longer at 20 ms a request)
    local srv = server.start({ "--generate", "100", "--admin", "--latency", "20", "--dialect", "rich" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", SCRIPT)
    local errfile = dir .. "/err.txt"
    local cmd = { "cd", q(dir), "&&", server.PLAIN, "exec env",
                  server.shell_env(server.client_env(srv)) }
    if os.getenv("TRK_SANITIZE") then cmd[#cmd + 1] = "ASAN_OPTIONS=detect_leaks=0" end
    cmd[#cmd + 1] = q(trk.bin) .. " run job.lua --apply -- 30"
    local ok, _, code = os.execute(string.format(
      "(%s) >/dev/null 2>%s & pid=$!; sleep 1.5; kill -INT $pid; wait $pid",
      table.concat(cmd, " "), q(errfile)))
    assert.is_falsy(ok)
    assert.are.equal(130, code)
    local err = trk.slurp(errfile)
    assert.is_truthy(err:find("trk: interrupted", 1, true), err)
    assert.is_truthy(err:find("Run the same command again to resume", 1, true), err)
    local applied = tonumber(err:match("(%d+) applied"))
    assert.is_truthy(applied and applied > 0 and applied < 90, err)
    local r = trk.exec({ "run", "job.lua", "--apply", "--", "30" }, { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("(resumed)", 1, true), r.stderr)
    assert.are.equal(30, outcome(server.state(srv)).nnotes)
  end)
  it("refuses a second process on the same run, and --fresh starts a new run", function()
    local srv = server.start({ "--generate", "100", "--admin", "--latency", "20" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", SCRIPT)
    local cmd = { "cd", q(dir), "&&", server.PLAIN, "exec env",
                  server.shell_env(server.client_env(srv)) }
    if os.getenv("TRK_SANITIZE") then cmd[#cmd + 1] = "ASAN_OPTIONS=detect_leaks=0" end
    cmd[#cmd + 1] = q(trk.bin) .. " run job.lua --apply -- 40"
    local bg = io.popen("(" .. table.concat(cmd, " ") .. ") >/dev/null 2>&1 & echo $!")
    local pid = bg:read("l")
    bg:close()
    os.execute("sleep 1")
    local r = trk.exec({ "run", "job.lua", "--apply", "--", "40" },
                       { cwd = dir, env = server.client_env(srv) })
    os.execute(server.PLAIN .. "kill -INT " .. pid .. "; while kill -0 " .. pid
               .. " 2>/dev/null; do sleep 0.1; done")
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("another trk (process " .. pid .. ") is running this command",
                                   1, true), r.stderr)
    -- the interrupted run resumes; --fresh would start over
    r = trk.exec({ "run", "job.lua", "--apply", "--", "40" }, { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("(resumed)", 1, true), r.stderr)
    assert.are.equal(40, outcome(server.state(srv)).nnotes)
    r = trk.exec({ "run", "job.lua", "--apply", "--fresh", "--", "2" },
                 { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("run 2 ", 1, true), r.stderr)
    assert.are.equal(42, outcome(server.state(srv)).nnotes)
  end)

  it("records what trk sends, whatever a script's own hook does to the action", function()
    local srv = server.start({ "--generate", "20", "--admin" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/hook.lua", [[
local t = require("tracker").connect{ hook = function(action, send)
  action.target.id = 1
  action.payload.text = "harmless"
  action.key = "made-up"
  return send()
end }
local app
for a in t:applications{} do app = a break end
local note = assert(t:add_note(app, "the real note"))
print(note.kind, note.id ~= nil)
]])
    local r = trk.exec({ "run", "hook.lua", "--apply", "--plan", "plan.jsonl" },
                       { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    local a = json.decode(trk.slurp(dir .. "/plan.jsonl"))
    assert.are.equal("the real note", a.payload.text)
    assert.are_not.equal(1, a.target.id)
    assert.are_not.equal("made-up", a.key)
    -- a resumed run answers a done note with its record, as the first run did
    local db = dir .. "/.trk/state.db"
    assert.is_true(os.execute("sqlite3 " .. q(db) .. " \"UPDATE runs SET status = 'interrupted'\""))
    r = trk.exec({ "run", "hook.lua", "--apply" }, { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("activity\ttrue\n", r.stdout)
    assert.is_truthy(r.stderr:find("1 already done", 1, true), r.stderr)
  end)
end)

-- What trk journal shows, and where it finds the store (issue 19, item 7).
describe("trk journal", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  local ISO = "%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ"

  -- Every time in text: each date-like token must be ISO 8601 UTC, and no epoch seconds (ten
  -- digits, as 1764...) may be left. Answers how many times it found.
  local function all_iso(text)
    local n = 0
    for t in text:gmatch("%d%d%d%d%-%d%d%-%d%d[T ][%d:.]*Z?") do
      assert.matches("^" .. ISO .. "$", t)
      n = n + 1
    end
    assert.is_nil(text:match("%f[%d]1%d%d%d%d%d%d%d%d%d%f[%D]"), text)
    return n
  end

  local function lines_of(text)
    local out = {}
    for l in text:gmatch("[^\n]+") do out[#out + 1] = json.decode(l) end
    return out
  end

  local NOTE_ALL = [[
return {
  name = "note-all",
  on = "applications",
  action = function(app, t) assert(t:add_note(app, "note-all saw it")) end,
}
]]

  -- A rules directory whose rule applied notes to the applications changed since November.
  local function rules_run(srv)
    local dir = trk.dir_with{ ["note_all.lua"] = NOTE_ALL }
    local r = trk.exec({ "rules", dir, "--since", "2026-11-01T00:00:00Z", "--apply" },
                       { env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    local n = tonumber(r.stderr:match("(%d+) writes: "))
    assert.is_true(n > 0, r.stderr)
    return dir, n
  end

  it("names the rule of each action of a rules run, in the table and in --json", function()
    local srv = server.start({ "--generate", "40", "--seed", "3", "--admin", "--dialect", "rich" })
    local dir, n = rules_run(srv)
    local r = trk.exec({ "journal", dir, "--run", "1" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^  run%s+#%s+rule%s+operation%s+target%s+change%s+status%s+at%s+error\n", r.stdout)
    local rows = select(2, r.stdout:gsub("\n  1%s+%d+%s+note%-all%s+add_note%s+application %d+[^\n]-%s+"
                                         .. '"note%-all saw it"%s+done%s+' .. ISO, ""))
    assert.are.equal(n, rows, r.stdout)
    for _, a in ipairs(lines_of(trk.exec({ "journal", dir, "--run", "1", "--json" }).stdout)) do
      assert.are.equal("note-all", a.rule)
    end
    -- a trk run's actions have no rule: no column
    trk.write(dir .. "/../one.lua", [[
local t = require("tracker").connect()
for app in t:applications{} do assert(t:add_note(app, "one")) break end
]])
    r = trk.exec({ "run", dir .. "/../one.lua", "--apply" }, { env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    r = trk.exec({ "journal", dir .. "/../one.lua", "--run", "1" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^  run%s+#%s+operation%s+target", r.stdout)
  end)

  it("shows every time in ISO 8601 UTC, and payloads as fields, not JSON", function()
    local srv = server.start({ "--generate", "40", "--seed", "3", "--admin", "--dialect", "rich" })
    local dir = rules_run(srv)
    local found = 0
    for _, args in ipairs({ {}, { "--run", "1" }, { "--json" }, { "--run", "1", "--json" },
                            { "--failed", "--json" } }) do
      local r = trk.exec({ "journal", dir, table.unpack(args) })
      assert.are.equal(0, r.code, r.stderr)
      found = found + all_iso(r.stdout)
      assert.is_nil(r.stdout:find('"payload":"', 1, true), r.stdout)   -- not JSON in a string
    end
    assert.is_true(found > 4, found)
    local a = lines_of(trk.exec({ "journal", dir, "--run", "1", "--json" }).stdout)[1]
    assert.are.same({ text = "note-all saw it" }, a.payload)
    assert.are.equal('"note-all saw it"', a.change)
    assert.matches("^" .. ISO .. "$", a.recorded)
    assert.matches("^" .. ISO .. "$", a.settled)
  end)

  it("finds the store of a rules directory or a script, as --state would", function()
    local srv = server.start({ "--generate", "40", "--seed", "3", "--admin", "--dialect", "rich" })
    local dir = rules_run(srv)
    local by_state = trk.exec({ "journal", "--state", dir .. "/.trk/state.db" })
    local by_dir = trk.exec({ "journal", dir })
    assert.are.equal(0, by_dir.code, by_dir.stderr)
    assert.are.equal(by_state.stdout, by_dir.stdout)
    assert.are.equal(by_state.stdout, trk.exec({ "journal", dir .. "/" }).stdout)
    -- a script's store is beside it
    local sdir = trk.tmpdir()
    trk.write(sdir .. "/job.lua", SCRIPT)
    local r = trk.exec({ "run", "job.lua", "--apply", "--", "2" },
                       { cwd = sdir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    local by_script = trk.exec({ "journal", sdir .. "/job.lua" })
    assert.are.equal(0, by_script.code, by_script.stderr)
    assert.is_truthy(by_script.stdout:find("trk run job.lua", 1, true), by_script.stdout)
    local missing = trk.exec({ "journal", sdir .. "/nothing" })
    assert.are.equal(2, missing.code)
    assert.is_truthy(missing.stderr:find("nothing: no such directory or file", 1, true))
  end)

  it("reads a store made before the rule column, naming the rule from the scope", function()
    local srv = server.start({ "--generate", "40", "--seed", "3", "--admin", "--dialect", "rich" })
    local dir = rules_run(srv)
    local db = dir .. "/.trk/state.db"
    assert.is_true(os.execute("sqlite3 " .. q(db) .. " 'ALTER TABLE actions DROP COLUMN rule'"))
    local r = trk.exec({ "journal", dir, "--run", "1" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("\n  1%s+1%s+note%-all%s+add_note", r.stdout)
    -- and a run adds the column back
    r = trk.exec({ "rules", dir, "--apply" }, { env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    local p = io.popen("sqlite3 " .. q(db) .. " \"SELECT count(*) FROM pragma_table_info('actions') "
                       .. "WHERE name = 'rule'\"")
    assert.are.equal("1", p:read("l"))
    p:close()
  end)

  it("--created lists exactly the records a run created, for a rollback", function()
    local srv = server.start({ "--generate", "20", "--admin" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/make.lua", [[
local t = require("tracker").connect()
local job
for j in t:jobs{} do job = j break end
for i = 1, 3 do
  local c = assert(t:create_candidate{ first_name = "Roll", last_name = "Back" .. i,
                                       email = "rollback" .. i .. "@example.com" })
  if i <= 2 then assert(t:create_application{ candidate = c, job = job }) end
  assert(t:add_note(c, "made " .. i))
end
]])
    local before = server.state(srv)
    local r = trk.exec({ "run", "make.lua", "--apply" }, { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, r.code, r.stderr)
    local after = server.state(srv)
    local function new_ids(kind)
      local old = {}
      for _, x in ipairs(before[kind]) do old[x.id] = true end
      local ids = {}
      for _, x in ipairs(after[kind]) do if not old[x.id] then ids[#ids + 1] = x.id end end
      table.sort(ids)
      return ids
    end
    local want = {}
    for _, id in ipairs(new_ids("candidates")) do want[#want + 1] = "candidate " .. id end
    for _, id in ipairs(new_ids("applications")) do want[#want + 1] = "application " .. id end
    table.sort(want)
    assert.are.equal(5, #want)
    local c = trk.exec({ "journal", dir .. "/make.lua", "--created", "--run", "1" })
    assert.are.equal(0, c.code, c.stderr)
    local got = {}
    for l in c.stdout:gmatch("[^\n]+") do got[#got + 1] = l end
    table.sort(got)
    assert.are.same(want, got)
    local js = lines_of(trk.exec({ "journal", dir .. "/make.lua", "--created", "--json" }).stdout)
    assert.are.equal(5, #js)
    for _, x in ipairs(js) do
      assert.is_truthy(c.stdout:find(x.kind .. " " .. x.id .. "\n", 1, true))
      assert.are.equal(1, x.run)
    end
  end)
end)
