-- Safe in an operator's hands (issue 19): a state store belongs to one database; a finished job
-- run again does not repeat its writes nor undo changes made in Tracker since; plans show
-- old -> new and can be applied later, unless the records changed. Real `trk emulator`
-- servers over HTTP, through the real binary.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

local DATA = { "--generate", "12", "--seed", "4", "--admin", "--dialect", "rich" }

-- A migration: a note and a job title on the first three candidates by id (the title is the
-- "input"); STOP = true makes it stop with an error after the first candidate.
local JOB = [[
local t = require("tracker").connect()
local ids = {}
for c in t:candidates{} do ids[#ids + 1] = c.id end
table.sort(ids)
for i = 1, 3 do
  local c = t:candidate(ids[i])
  assert(t:add_note(c, "migrated " .. c.id))
  local ok, e = t:update_candidate(c, { job_title = TITLE })
  if not ok then print("not written: " .. tostring(e)) end
  if STOP then error("stopped after the first candidate") end
end
]]

local function job(title, stop)
  return (JOB:gsub("TITLE", string.format("%q", title)):gsub("STOP", tostring(stop or false)))
end

-- Someone at the agency changes candidate `id`'s title in Tracker (a script of their own,
-- with its own state store).
local HUMAN = [[
local t = require("tracker").connect()
assert(t:update_candidate(tonumber(arg[1]), { job_title = arg[2] }))
]]

local function notes(srv)
  local n = 0
  for _, a in ipairs(server.state(srv).activities) do
    if type(a.note) == "string" and a.note:find("^migrated ") then n = n + 1 end
  end
  return n
end

local function first_ids(srv)
  local ids = {}
  for _, c in ipairs(server.state(srv).candidates) do ids[#ids + 1] = c.id end
  table.sort(ids)
  return ids
end

local function title_of(srv, id)
  for _, c in ipairs(server.state(srv).candidates) do
    if c.id == id then return c.jobtitle end
  end
end

local function run(dir, srv, args)
  return trk.exec(args, { cwd = dir, env = server.client_env(srv) })
end

describe("a state store", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("belongs to one database: a run against another refuses and sends nothing", function()
    local sandbox, production = server.start(DATA), server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", job("Engineer", true))
    -- interrupted against the sandbox: one candidate done, the run left to resume
    local r = run(dir, sandbox, { "run", "job.lua", "--apply" })
    assert.are.equal(1, r.code, r.stderr)
    assert.are.equal(1, notes(sandbox))
    trk.write(dir .. "/job.lua", job("Engineer"))     -- fixed
    -- the same command against production: it must not "resume" the sandbox's run
    r = run(dir, production, { "run", "job.lua", "--apply" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("job.lua:1: tracker.connect: the state store .trk/state.db "
                                   .. "belongs to " .. sandbox.url, 1, true), r.stderr)
    assert.is_truthy(r.stderr:find("this run connects to " .. production.url, 1, true), r.stderr)
    assert.is_truthy(r.stderr:find("--state FILE", 1, true), r.stderr)
    assert.is_falsy(r.stderr:find("resumed", 1, true), r.stderr)
    assert.are.equal(0, notes(production))
    -- the refused run left the sandbox's run as it was: failed, one attempt
    local j = trk.exec({ "journal", "--state", dir .. "/.trk/state.db", "--json" })
    local runs = {}
    for line in j.stdout:gmatch("[^\n]+") do runs[#runs + 1] = json.decode(line) end
    assert.are.equal(1, #runs, j.stdout)
    assert.are.same({ "failed", 1 }, { runs[1].status, runs[1].attempts })
    -- production's own store: every write, none skipped
    r = run(dir, production, { "run", "job.lua", "--apply", "--state", "production.db" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("6 writes: 6 applied", 1, true), r.stderr)
    assert.are.equal(3, notes(production))
    -- and the sandbox's run still resumes where it stopped
    r = run(dir, sandbox, { "run", "job.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("(resumed)", 1, true), r.stderr)
    assert.are.equal(3, notes(sandbox))
  end)

  it("is told the same database by its key, not by a token added or rebound with --rebind", function()
    local a, b = server.start(DATA), server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", job("Engineer"))
    local env = server.client_env(a)
    env.TRACKER_API_TOKEN = nil
    local r = trk.exec({ "run", "job.lua", "--apply" }, { cwd = dir, env = env })
    assert.are.equal(0, r.code, r.stderr)
    r = run(dir, a, { "run", "job.lua", "--apply" })           -- a REST token now too
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("6 already applied", 1, true), r.stderr)
    -- the store names no key, only its salted fingerprint
    local store = trk.slurp(dir .. "/.trk/state.db")
    assert.is_nil(server.secrets.find(store))
    -- --rebind: from now on the store is b's
    r = run(dir, b, { "run", "job.lua", "--apply", "--rebind" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("--rebind: the state store .trk/state.db belonged to " .. a.url,
                                   1, true), r.stderr)
    -- the user says b is the same database: what the store holds applied counts as applied
    assert.is_truthy(r.stderr:find("6 already applied by run 1", 1, true), r.stderr)
    assert.are.equal(0, notes(b))
    r = run(dir, a, { "run", "job.lua", "--apply" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("belongs to " .. b.url, 1, true), r.stderr)
  end)

  it("keeps one database's checkpoints from another's rules", function()
    local a, b = server.start(DATA), server.start(DATA)
    local dir = trk.tmpdir()
    os.execute("mkdir -p " .. trk.quote(dir .. "/rules"))
    trk.write(dir .. "/rules/note.lua", [[
return { on = "applications", when = function() return false end, action = function() end }
]])
    local r = run(dir, a, { "rules", "rules", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    r = run(dir, b, { "rules", "rules", "--apply" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("belongs to " .. a.url, 1, true), r.stderr)
    -- a dry run reads checkpoints too: refused as well
    r = run(dir, b, { "rules", "rules" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("belongs to " .. a.url, 1, true), r.stderr)
  end)
end)

describe("a finished job run again", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("applies nothing and says which run applied it; --again repeats", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", job("Engineer"))
    local r = run(dir, srv, { "run", "job.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(3, notes(srv))
    r = run(dir, srv, { "run", "job.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("6 writes: 0 applied; 6 already applied by run 1 on "
                                   .. os.date("!%Y-%m-%d") .. "; use --again to repeat", 1, true),
                     r.stderr)
    assert.are.equal(3, notes(srv))
    -- a dry run says the same, and marks each row
    r = run(dir, srv, { "run", "job.lua" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("trk: no writes planned; 6 already applied by run 1", 1, true),
                     r.stderr)
    assert.is_truthy(r.stdout:find("already applied", 1, true), r.stdout)
    r = run(dir, srv, { "run", "job.lua", "--apply", "--again" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(6, notes(srv))
  end)

  it("leaves a value changed in Tracker since it wrote it as a conflict, unless --force", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", job("Engineer"))
    trk.write(dir .. "/human.lua", HUMAN)
    local r = run(dir, srv, { "run", "job.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    local id = first_ids(srv)[1]
    assert.are.equal("Engineer", title_of(srv, id))
    r = run(dir, srv, { "run", "human.lua", "--apply", "--state", "human.db", "--", tostring(id),
                        "Senior Engineer" })
    assert.are.equal(0, r.code, r.stderr)
    -- the input changed (another title for everyone): the job's own earlier writes are
    -- overwritten, the agency's fix is not
    trk.write(dir .. "/job.lua", job("Lead"))
    r = run(dir, srv, { "run", "job.lua" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("job_title: 'Engineer' → 'Lead'", 1, true), r.stdout)
    assert.is_truthy(r.stderr:find("conflict: update_candidate candidate " .. id, 1, true), r.stderr)
    assert.is_truthy(r.stderr:find("job_title was set to 'Engineer' by run 1 and is now 'Senior "
                                   .. "Engineer'", 1, true), r.stderr)
    r = run(dir, srv, { "run", "job.lua", "--apply" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("1 conflicts", 1, true), r.stderr)
    assert.are.equal("Senior Engineer", title_of(srv, id))
    assert.are.equal("Lead", title_of(srv, first_ids(srv)[2]))
    -- the original input again: it would undo the fix, so it is a conflict too
    trk.write(dir .. "/job.lua", job("Engineer"))
    r = run(dir, srv, { "run", "job.lua", "--apply", "--again" })
    assert.are.equal(1, r.code, r.stderr)
    assert.are.equal("Senior Engineer", title_of(srv, id))
    -- --force alone: that write was applied by run 1, and is skipped as such
    r = run(dir, srv, { "run", "job.lua", "--apply", "--force" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Senior Engineer", title_of(srv, id))
    r = run(dir, srv, { "run", "job.lua", "--apply", "--again", "--force" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Engineer", title_of(srv, id))
  end)
end)

describe("trk apply", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("applies a plan later, once, and refuses one whose records changed", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", job("Engineer"))
    trk.write(dir .. "/human.lua", HUMAN)
    local r = run(dir, srv, { "run", "job.lua", "--plan", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    local befores = 0
    for line in io.lines(dir .. "/plan.jsonl") do
      local w = json.decode(line)
      if w.op == "update_candidate" then
        assert.is_table(w.before, line)
        befores = befores + 1
      end
    end
    assert.are.equal(3, befores)
    -- someone changes a record the plan updates: the plan is stale, and nothing is sent
    local ids = first_ids(srv)
    r = run(dir, srv, { "run", "human.lua", "--apply", "--state", "human.db", "--", tostring(ids[2]),
                        "Recruiter" })
    assert.are.equal(0, r.code, r.stderr)
    r = run(dir, srv, { "apply", "plan.jsonl" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("the plan is stale", 1, true), r.stderr)
    assert.is_truthy(r.stderr:find("candidate " .. ids[2] .. ": job_title was ", 1, true), r.stderr)
    assert.are.equal(0, notes(srv))
    -- a fresh plan applies; applied again, it sends nothing
    r = run(dir, srv, { "run", "job.lua", "--plan", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    r = run(dir, srv, { "apply", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("6 writes: 6 applied", 1, true), r.stderr)
    assert.are.equal(3, notes(srv))
    assert.are.equal("Engineer", title_of(srv, ids[2]))
    r = run(dir, srv, { "apply", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("6 already applied by run", 1, true), r.stderr)
    assert.are.equal(3, notes(srv))
    -- the job the plan came from, run again: the apply was that job's, so nothing repeats
    r = run(dir, srv, { "run", "job.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("6 already applied by run", 1, true), r.stderr)
    assert.are.equal(3, notes(srv))
  end)

  it("resumes an apply stopped with a write in flight, not calling its own write stale", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", job("Engineer"))
    assert.are.equal(0, run(dir, srv, { "run", "job.lua", "--plan", "plan.jsonl" }).code)
    assert.are.equal(0, run(dir, srv, { "apply", "plan.jsonl" }).code)
    -- as if killed after sending the second title: that write pending, the run interrupted
    local db = trk.quote(dir .. "/.trk/state.db")
    assert.are.equal(0, trk.sh("sqlite3 " .. db .. " \"UPDATE actions SET status = 'pending' WHERE "
                                .. "op = 'update_candidate' AND seq = 4; UPDATE runs SET status = "
                                .. "'interrupted'\""))
    local r = run(dir, srv, { "apply", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_falsy(r.stderr:find("stale", 1, true), r.stderr)
    assert.is_truthy(r.stderr:find("(resumed)", 1, true), r.stderr)
    assert.are.equal(3, notes(srv))
  end)

  it("refuses a plan it cannot apply whole before it sends anything", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/files.lua", [[
local t = require("tracker").connect()
for c in t:candidates{} do
  assert(t:add_note(c, "migrated " .. c.id))
  assert(t:attach(c, { filename = "cv.txt", data = "a CV" }))
  break
end
]])
    local r = run(dir, srv, { "run", "files.lua", "--plan", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    r = run(dir, srv, { "apply", "plan.jsonl" })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("plan.jsonl:2: attach cannot be applied from a plan", 1, true),
                     r.stderr)
    assert.are.equal(0, notes(srv))
  end)

  it("gives the records a plan creates their real ids in the writes after", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/new.lua", [[
local t = require("tracker").connect()
local c = assert(t:create_candidate{ first_name = "Ada", last_name = "Byron",
                                     email = "ada.byron@example.org" })
assert(t:add_note(c, "migrated from the old system"))
]])
    local r = run(dir, srv, { "run", "new.lua", "--plan", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    r = run(dir, srv, { "apply", "plan.jsonl" })
    assert.are.equal(0, r.code, r.stderr)
    local doc = server.state(srv)
    local id
    for _, c in ipairs(doc.candidates) do
      if c.email == "ada.byron@example.org" then id = c.id end
    end
    assert.is_number(id)
    local linked = 0
    for _, a in ipairs(doc.activities) do
      if a.note == "migrated from the old system" then
        assert.are.equal(id, a.resourceid or a.candidateid or a.recordid, json.encode(a))
        linked = linked + 1
      end
    end
    assert.are.equal(1, linked)
  end)

  it("names the file and line of a plan it cannot read, and refuses rules' plans", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/bad.jsonl", '{"op":"add_note","n":1}\nnot json\n')
    local r = trk.exec({ "apply", "bad.jsonl" }, { cwd = dir })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("bad.jsonl:1: ", 1, true), r.stderr)
    trk.write(dir .. "/bad.jsonl", '\n{"op":"add_note","rule":"greet","n":1}\n')
    r = trk.exec({ "apply", "bad.jsonl" }, { cwd = dir })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("bad.jsonl:2: a write of rule 'greet'", 1, true), r.stderr)
    r = trk.exec({ "apply" }, { cwd = dir })
    assert.are.equal(2, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("missing PLAN", 1, true), r.stderr)
  end)
end)

describe("a run's closing words", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("end a pass that plans no write, and list no errors as an empty list", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    os.execute("mkdir -p " .. trk.quote(dir .. "/rules"))
    trk.write(dir .. "/rules/quiet.lua", [[
return { on = "candidates", when = function() return false end, action = function() end }
]])
    local r = run(dir, srv, { "rules", "rules", "--since", "2000-01-01T00:00:00Z" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("trk: no writes planned. (", 1, true), r.stderr)
    r = run(dir, srv, { "rules", "rules", "--since", "2000-01-01T00:00:00Z", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find('"errors":[]', 1, true), r.stdout)
    assert.are.same({}, json.decode(r.stdout).errors)
    -- a script that connects and writes nothing says so too; one that never connects, nothing
    trk.write(dir .. "/read.lua", "local t = require('tracker').connect()\nfor _ in t:jobs{} do end\n")
    r = run(dir, srv, { "run", "read.lua" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stderr:find("trk: no writes planned. (", 1, true), r.stderr)
    trk.write(dir .. "/hello.lua", "print('hello')\n")
    r = run(dir, srv, { "run", "hello.lua" })
    assert.are.equal("", r.stderr)
  end)
end)

describe("a plan's old values", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("are what Tracker holds, read by trk, whatever the script did to its record", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    local POST = [[
local t = require("tracker").connect()
local ids = {}
for c in t:candidates{} do ids[#ids + 1] = c.id end
table.sort(ids)
local c = t:candidate(ids[1])
c.job_title = "Lead"                                  -- the script's own copy, changed
assert(t:update_candidate(c, { job_title = c.job_title, postcode = POSTCODE }))
]]
    local id = first_ids(srv)[1]
    local title
    for _, c in ipairs(server.state(srv).candidates) do if c.id == id then title = c.jobtitle end end
    trk.write(dir .. "/post.lua", (POST:gsub("POSTCODE", '"AB1 2CD"')))
    local r = run(dir, srv, { "run", "post.lua" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("job_title: '" .. title .. "' → 'Lead'", 1, true), r.stdout)
    r = run(dir, srv, { "run", "post.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    -- the input changes: the old postcode is the one this job wrote, and no conflict
    trk.write(dir .. "/post.lua", (POST:gsub("POSTCODE", '"AB1 2CE"')))
    r = run(dir, srv, { "run", "post.lua" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("job_title: 'Lead' (unchanged), postcode: 'AB1 2CD' → 'AB1",
                                   1, true), r.stdout)        -- the table cuts the rest
    r = run(dir, srv, { "run", "post.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_falsy(r.stderr:find("conflict", 1, true), r.stderr)
  end)

  it("say ? for a field no read shows, and never call it a conflict", function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    trk.write(dir .. "/pay.lua", [[
local t = require("tracker").connect()
local ids = {}
for c in t:candidates{} do ids[#ids + 1] = c.id end
table.sort(ids)
assert(t:update_candidate(ids[1], { desired_salary = SALARY }))
]])
    trk.edit(dir .. "/pay.lua", "SALARY", "90000")
    local r = run(dir, srv, { "run", "pay.lua" })
    assert.is_truthy(r.stdout:find("desired_salary: ? → 90000", 1, true), r.stdout)
    r = run(dir, srv, { "run", "pay.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    trk.edit(dir .. "/pay.lua", "90000", "95000")
    r = run(dir, srv, { "run", "pay.lua", "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_falsy(r.stderr:find("conflict", 1, true), r.stderr)
  end)
end)

describe("a rules plan's old values", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  local function requests(r)
    return tonumber((r.stderr:match("trk: ([%d,]+) HTTP requests") or ""):gsub(",", "") .. "")
  end

  it("come from the record the stream read, as read: no request more, whatever the rule did",
     function()
    local srv = server.start(DATA)
    local dir = trk.tmpdir()
    os.execute("mkdir -p " .. trk.quote(dir .. "/writes") .. " " .. trk.quote(dir .. "/reads"))
    trk.write(dir .. "/writes/score.lua", [[
return { on = "applications", action = function(app, t)
  app.custom["Recruiter Score"] = 99                 -- its own copy: the plan must not believe it
  assert(t:set_custom_fields(app, { ["Recruiter Score"] = 42 }))
end }
]])
    trk.write(dir .. "/reads/score.lua", [[
return { on = "applications", when = function() return false end, action = function() end }
]])
    local since = { "--since", "2000-01-01T00:00:00Z", "--verbose" }
    local w = run(dir, srv, { "rules", "writes", "--plan", "plan.jsonl", table.unpack(since) })
    assert.are.equal(0, w.code, w.stderr)
    local r = run(dir, srv, { "rules", "reads", table.unpack(since) })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_number(requests(w))
    assert.are.equal(requests(r), requests(w))
    local scores = {}
    for _, a in ipairs(server.state(srv).applications) do scores[a.id] = a.custom and a.custom["450"] end
    local n = 0
    for line in io.lines(dir .. "/plan.jsonl") do
      local p = json.decode(line)
      local was = p.before and p.before["Recruiter Score"]
      assert.is_not_nil(was, line)
      assert.are_not.equal(99, was)
      if scores[p.target.id] ~= nil then assert.are.equal(tonumber(scores[p.target.id]), was) end
      n = n + 1
    end
    assert.is_true(n > 10)
  end)
end)
