-- tracker.testing, the busted kit: fixtures, the emulator with a fixed clock, rules loaded in
-- trk's sandbox environment, planned runs, the assertions, and the `trk init` scaffold.
local testing = require "tracker.testing"
-- tags and record times: what a database in the rich dialect shows (tracker-api.md §9)
local RICH = { dialect = "rich" }
local emulator = require "tracker.emulator"
local scaffold = require "trk.scaffold"
local trk = require "support.trk"

-- Writes a rule file into a scratch directory and loads it with the kit.
local function rule_file(text, name, dir)
  dir = dir or trk.tmpdir()
  local path = dir .. "/" .. (name or "rule.lua")
  trk.write(path, text)
  return testing.load_rule(path), dir
end

local function raises(pattern, f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(e))
  return e
end

describe("the fixture builders", function()
  it("give each fixture a kind and a fresh id", function()
    local j1, j2 = testing.job{}, testing.job{ name = "Nurse" }
    assert.are.equal("job", j1.kind)
    assert.are.equal(j1.id + 1, j2.id)
    assert.are.equal("Software Engineer", j1.name)
    assert.are.equal("Nurse", j2.name)
    local c = testing.candidate{ id = 190000 }
    assert.are.equal(190000, c.id)
    assert.are.equal(190001, testing.candidate{}.id)
  end)

  it("fill in a candidate's names and a unique email", function()
    local c = testing.candidate{ name = "Mary Ann Lee" }
    assert.are.equal("Mary", c.first_name)
    assert.are.equal("Ann Lee", c.last_name)
    assert.are.equal("Mary Ann Lee", c.name)
    assert.are.equal("candidate" .. c.id .. "@example.com", c.email)
    assert.is_nil(testing.candidate{ email = false }.email)
  end)

  it("link an application to its candidate and job", function()
    local c, j = testing.candidate{ name = "Ann Lee" }, testing.job{ name = "Pharmacist" }
    local a = testing.application{ candidate = c, job = j, stage = "Offer" }
    assert.are.equal("application", a.kind)
    assert.are.equal(c.id, a.candidate_id)
    assert.are.equal(j.id, a.job_id)
    assert.are.equal("Ann Lee - Pharmacist", a.name)
    assert.are.equal("Offer", a.stage)
  end)

  it("refuse unknown fields and missing links", function()
    raises("testing.candidate: unknown field 'frist_name' %(fields: id, first_name,",
           testing.candidate, { frist_name = "Ann" })
    raises("testing.application: 'candidate' and 'job' are required", testing.application,
           { candidate = testing.candidate{} })
    raises("testing.application: 'job' must be a testing.job{...} fixture or an id",
           testing.application, { candidate = testing.candidate{}, job = testing.candidate{} })
    raises("testing.note: 'on' must be a candidate, job, application, placement, client, contact "
           .. "or lead fixture", testing.note, {})
  end)
end)

describe("testing.emulator", function()
  it("answers as the evidence dialect by default, with the fixtures' stages configured", function()
    local c = testing.candidate{ name = "Ann Lee", tags = { "python" } }
    local a = testing.application{ candidate = c, job = testing.job{}, stage = "Applied" }
    local t = testing.emulator{ a }
    assert.are.equal("evidence", testing.emulator_of(t).dialect_name)
    assert.are.equal("configuration", t:metadata().stage_source)
    assert.is_true(t:move_to_stage(a, "Interview"))
    local _, e = t:add_tag(c, "x")
    assert.are.equal("unsupported", e.code)
    assert.is_nil(assert(t:candidate(c.id)).updated_at)
    local rich = testing.emulator({ a }, { dialect = "rich" })
    assert.are.equal("settings", rich:metadata().stage_source)
    assert.is_true(rich:add_tag(c, "x"))
    assert.is_string(assert(rich:candidate(c.id)).updated_at)
    assert.has_error(function() testing.emulator({}, { dialect = "lush" }) end,
                     "testing.emulator: option 'dialect' must be one of evidence, rich, got 'lush'")
  end)

  it("serves the fixtures as the client reads them", function()
    local c = testing.candidate{ name = "Ann Lee", email = "ann@example.com", source = "Referral",
                                 job_title = "Data Engineer", custom = { Priority = "high", Score = 71,
                                 ["Security Clearance"] = true }, updated_at = "2026-10-02T03:04:05Z" }
    local j = testing.job{ name = "Data Engineer", custom = { ["Hiring Priority"] = "Low" } }
    local a = testing.application{ candidate = c, job = j, stage = "interview",
                                   custom = { ["Recruiter Score"] = 7 } }
    local t = testing.emulator({ a }, RICH)                   -- the candidate and job come along
    local cand = assert(t:candidate(c.id))
    assert.are.equal("Ann Lee", cand.name)
    assert.are.equal("ann@example.com", cand.email)
    assert.are.equal("Referral", cand.source)
    assert.are.equal("Data Engineer", cand.job_title)
    assert.are.same({ Priority = "High", Score = 71, ["Security Clearance"] = true }, cand.custom)
    assert.are.equal("2026-10-02T03:04:05Z", cand.updated_at)
    local job = assert(t:job(j.id))
    assert.are.equal("Data Engineer", job.name)
    assert.are.equal("Low", job.custom["Hiring Priority"])
    local app = assert(t:application(a.id))
    assert.are.equal("Interview", app.stage)
    assert.are.equal(c.id, app.candidate_id)
    assert.are.equal(j.id, app.job_id)
    assert.are.equal(7, app.custom["Recruiter Score"])
    assert.are.equal("2026-10-31T23:00:00Z", app.updated_at)    -- an hour before the clock
  end)

  it("serves notes on applications", function()
    local a = testing.application{ candidate = testing.candidate{}, job = testing.job{} }
    local n = testing.note{ on = a, subject = "Call", text = "Left a message", type = "Call",
                            updated_at = "2026-10-20T10:00:00Z" }
    local t = testing.emulator{ n }
    local seen = {}
    for act in t:activities{} do seen[#seen + 1] = act end
    assert.are.equal(1, #seen)
    assert.are.equal(n.id, seen[1].id)
    assert.are.equal("Call", seen[1].subject)
    assert.are.equal("Left a message", seen[1].note)
    assert.are.equal(a.id, seen[1].application_id)
    assert.are.equal(a.candidate_id, seen[1].candidate_id)
    assert.are.equal("2026-10-20T10:00:00Z", seen[1].updated_at)
  end)

  it("explains unknown custom fields, items and stages", function()
    local c = testing.candidate{ custom = { Priorty = "High" } }
    raises("testing.candidate: no candidate custom field 'Priorty' %(fields: Score, Work "
           .. "Authorization,", testing.emulator, { c })
    raises("testing.candidate: 'Urgent' is not an item of custom field 'Priority' %(items: High, "
           .. "Medium, Low%)", testing.emulator, { testing.candidate{ custom = { Priority = "Urgent" } } })
    raises("testing.application: unknown stage 'Intervew' %(did you mean 'Interview'%?%); "
           .. "stages: Applied, Shortlisted,",
           testing.emulator, { testing.application{ candidate = testing.candidate{},
                                                    job = testing.job{}, stage = "Intervew" } })
    raises("testing.emulator: fixture 1 is not from a testing builder", testing.emulator,
           { { kind = "job", id = 1 } })
  end)

  it("loads emulator data as it is", function()
    local t = testing.emulator(emulator.generate{ candidates = 5, jobs = 2 })
    local n = 0
    for _ in t:candidates{} do n = n + 1 end
    assert.are.equal(5, n)
  end)

  it("keeps a fixed clock that specs move", function()
    local t = testing.emulator{}
    assert.are.equal(1793491200, testing.now(t))              -- 2026-11-01T00:00:00Z
    assert.are.equal(1793491200, testing.now())
    assert.are.equal(1793491200 + 60, testing.advance(t, 60))
    assert.are.equal(1793491200 + 60, testing.now(t))
    local later = testing.emulator({}, { now = "2027-01-01T00:00:00Z" })
    assert.are.equal(1798761600, testing.now(later))
    testing.advance(later, "2027-02-01T00:00:00Z")
    assert.are.equal(1801440000, testing.now(later))
    raises("testing.emulator: option 'now': expected an ISO 8601 time", testing.emulator, {},
           { now = "yesterday" })
    raises("testing.emulator: unknown option 'clock'", testing.emulator, {}, { clock = os.time })
  end)

  it("sends the writes a spec makes itself", function()
    local c = testing.candidate{}
    local t = testing.emulator({ c }, RICH)
    assert.is_true(t:add_tag(c, "python"))
    assert.are.same({ "python" }, t:tags(c))
    assert.are.equal("python", testing.state(t).candidates[1].tag)
    assert.are.equal("2026-11-01 00:00:00", testing.state(t).candidates[1].lastupdated)
    assert.are.equal(testing.state(t), testing.emulator_of(t):state())
  end)
end)

describe("testing.load_rule", function()
  after_each(trk.cleanup)

  it("gives the rule trk's sandbox: no io, os.execute, package or debug", function()
    for _, expr in ipairs({ "io.open('x')", "os.execute('true')", "package.loaded.x = 1",
                            "debug.getinfo(1)" }) do
      local rule = rule_file(("return { on = 'candidates', action = function() %s end }"):format(expr))
      local t = testing.emulator{ testing.candidate{} }
      raises("rule%.lua:1: attempt to", testing.run_rule, rule, t)
    end
  end)

  it("fails at load time too, naming the file and line", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/r.lua", "local f = io.open('secrets')\nreturn {}\n")
    raises("/r%.lua:1: attempt to index a nil value %(global 'io'%)", testing.load_rule, dir .. "/r.lua")
  end)

  it("grants no files", function()
    local rule = rule_file("return { on = 'jobs', action = function() files.open('x.csv') end }")
    raises("files%.open: not granted in a spec", testing.run_rule, rule,
           testing.emulator{ testing.job{} })
  end)

  it("requires helpers, shipped modules and nothing else", function()
    local dir = trk.tmpdir()
    os.execute("mkdir -p " .. trk.quote(dir .. "/lib"))
    trk.write(dir .. "/lib/words.lua", "return { sandboxed = (io == nil), word = 'hello' }")
    local rule = rule_file([[
      local words = require "lib.words"
      local again = require "lib.words"
      local tracker = require "tracker"
      local rules = require "tracker.rules"
      local json = require "json"
      return { on = "jobs", action = function(job)
        log.info(words.word, words == again, words.sandboxed, type(tracker.connect),
                 type(rules.check), json.encode({ id = job.id }))
        require "socket"
      end }
    ]], "r.lua", dir)
    local t = testing.emulator{ testing.job{ id = 1234 } }
    local _, summary
    local e = raises("module 'socket' not found: not shipped with trk, and no file '.*/socket%.lua' "
                     .. "beside the script", function()
      _, summary = testing.run_rule(rule, t, { catch = true })
      error(summary.errors[1].message, 0)
    end)
    assert.truthy(e)
    assert.are.same({ { level = "info", text = 'hello true true function function {"id":1234}' } },
                    summary.log)
    raises("invalid module name '%.%.x'", function()
      testing.run_rule(rule_file("return { on = 'jobs', action = function() require '..x' end }"), t)
    end)
  end)

  it("collects what a rule logs and prints during a run", function()
    local rule = rule_file([[return { on = "jobs", action = function(job)
      print("job", job.id) log.warn("careful") log.error("bad", 1) end }]])
    local j = testing.job{}
    local _, summary = testing.run_rule(rule, testing.emulator{ j })
    assert.are.same({ { level = "print", text = "job\t" .. j.id }, { level = "warn", text = "careful" },
                      { level = "error", text = "bad 1" } }, summary.log)
  end)

  it("finds a rule beside the spec that loads it", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/mine.lua", "return { on = 'jobs', action = function() end }")
    trk.write(dir .. "/mine_spec.lua", "local testing = ...\nlocal rule = testing.load_rule('mine.lua')\nreturn rule")
    local rule = assert(loadfile(dir .. "/mine_spec.lua"))(testing)
    assert.are.equal("mine", rule.name)
    assert.are.equal(dir .. "/mine.lua", rule.file)
    raises("no%.lua: cannot read the rule", testing.load_rule, "no.lua")
  end)
end)

describe("testing.run_rule", function()
  after_each(trk.cleanup)

  local job = testing.job{ name = "Welder" }
  local NOTE_RULE = [[return { on = "applications", where = { stage = "Offer" },
    when = function(app) return app.custom["Recruiter Score"] ~= 1 end,
    action = function(app, t, ctx)
      local note = t:add_note(app, "offer for " .. app.name, { subject = "Offer" })
      assert(note.planned)
      t:set_custom_fields(app, { ["Recruiter Score"] = 1 })
    end }]]

  it("plans the writes in order, sends none, and counts the records", function()
    local rule = rule_file(NOTE_RULE)
    local a = testing.application{ candidate = testing.candidate{ name = "Ann Lee" }, job = job, stage = "Offer" }
    local done = testing.application{ candidate = testing.candidate{}, job = job, stage = "Offer",
                                      custom = { ["Recruiter Score"] = 1 } }
    local other = testing.application{ candidate = testing.candidate{}, job = job, stage = "Applied" }
    local t = testing.emulator{ a, done, other }
    local actions, summary = testing.run_rule(rule, t)
    assert.are.equal(2, #actions)
    assert.are.equal("add_note", actions[1].op)
    assert.are.same({ kind = "application", id = a.id, name = "Ann Lee - Welder" }, actions[1].target)
    assert.are.same({ subject = "Offer", text = "offer for Ann Lee - Welder" }, actions[1].payload)
    assert.matches("^add_note:%x+$", actions[1].key)
    assert.are.equal("set_custom_fields", actions[2].op)
    assert.are.equal(2, summary.seen)                        -- the stream asks for Offer only
    assert.are.equal(1, summary.matched)
    assert.are.equal(2, summary.planned)
    assert.are.same({}, summary.errors)
    assert.is_nil(t:application(a.id).custom["Recruiter Score"])       -- nothing was sent
    assert.are.equal(0, #testing.state(t).activities)
  end)

  it("sends the writes with apply = true, and still lists them", function()
    local rule = rule_file([[return { on = "candidates", action = function(c, t, ctx)
      assert(ctx.apply)
      local ok = t:add_tag(c, "seen")
      assert(ok == true)
    end }]])
    local c = testing.candidate{}
    local t = testing.emulator({ c }, RICH)
    local actions = testing.run_rule(rule, t, { apply = true })
    assert.planned(actions, { op = "add_tag", target = c, payload = { tag = "seen" } })
    assert.are.same({ "seen" }, t:tags(c))
    assert.planned_count(0, testing.run_rule(rule, t, { apply = true }))   -- the tag is there
  end)

  it("hands the rule its context", function()
    local seen = {}
    local rule = { name = "ctx", on = "jobs", action = function(_, _, ctx)
      seen[#seen + 1] = ctx
      ctx.state.n = (ctx.state.n or 0) + 1
    end }
    local t = testing.emulator({ testing.job{}, testing.job{} }, { now = "2026-12-24T18:00:00Z" })
    local state = {}
    testing.run_rule(rule, t, { since = "2026-01-01T00:00:00Z", state = state })
    assert.are.equal(2, #seen)
    -- as under trk rules: each record gets a ctx of its own, sharing the rule's state
    assert.are_not.equal(seen[1], seen[2])
    assert.are.equal(seen[1].state, seen[2].state)
    assert.are.same({ rule = "ctx", now = 1798135200, since = "2026-01-01T00:00:00Z", apply = false,
                      state = { n = 2 } }, seen[1])
    assert.are.equal(state, seen[1].state)
  end)

  it("streams records changed since opts.since, or all of them with scan = all", function()
    local old = testing.job{ updated_at = "2026-09-01T00:00:00Z" }
    local new = testing.job{ updated_at = "2026-10-15T00:00:00Z" }
    local t = testing.emulator{ old, new }
    local function ids(scan)
      local out = {}
      testing.run_rule({ on = "jobs", scan = scan, action = function(j) out[#out + 1] = j.id end },
                       t, { since = "2026-10-01T00:00:00Z" })
      return out
    end
    assert.are.same({ new.id }, ids("changes"))
    assert.are.same({ old.id, new.id }, ids("all"))
  end)

  it("lets a rule's error fail the spec, and sends later writes again", function()
    local rule = rule_file("return { on = 'candidates', action = function(c, t)\n"
                           .. "  t:add_tag(c, 'x')\n  error('no luck')\nend }")
    local c = testing.candidate{}
    local t = testing.emulator({ c }, RICH)
    raises("rule%.lua:3: no luck", testing.run_rule, rule, t)
    assert.is_true(t:add_tag(c, "sent"))
    assert.are.same({ "sent" }, t:tags(c))
  end)

  it("with catch = true, records errors by record and goes on", function()
    local rule = rule_file([[return { on = "candidates", action = function(c, t)
      if c.first_name == "Bad" then error("cannot handle " .. c.id) end
      t:add_tag(c, "ok")
    end }]])
    local bad, good = testing.candidate{ name = "Bad One" }, testing.candidate{ name = "Good One" }
    local actions, summary = testing.run_rule(rule, testing.emulator({ bad, good }, RICH), { catch = true })
    assert.are.equal(1, #summary.errors)
    assert.are.equal(bad.id, summary.errors[1].id)
    assert.matches("rule%.lua:2: cannot handle " .. bad.id, summary.errors[1].message)
    assert.planned(actions, { op = "add_tag", target = good })
    assert.are.equal(2, summary.matched)     -- the bad one matched too: then its action failed
  end)

  it("refuses misuse", function()
    local t = testing.emulator{}
    raises("testing.run_rule: unknown option 'dry'", testing.run_rule, { on = "jobs", action = print }, t,
           { dry = true })
    raises("rule: rule field 'on' is 'job'", testing.run_rule, { on = "job", action = print }, t)
    raises("testing.run_rule: argument 1 must be a client from testing.emulator", testing.run_rule,
           { on = "jobs", action = print }, {})
  end)
end)

describe("the plan assertions", function()
  local c = testing.candidate{ name = "Ann Lee" }
  local app = testing.application{ candidate = c, job = testing.job{}, stage = "Interview" }
  local actions = {
    { op = "add_note", target = { kind = "application", id = app.id, name = app.name },
      payload = { subject = "Interview", text = "Booked for Tuesday" }, key = "add_note:01" },
    { op = "set_custom_fields", target = { kind = "application", id = app.id },
      payload = { fields = { ["Interview Note Sent"] = "Yes", ["Recruiter Score"] = 7 } }, key = "k2" },
    { op = "add_tag", target = { kind = "candidate", id = c.id }, payload = { tag = "python" }, key = "k3" },
  }

  it("find an action by op, target and a subset of its payload", function()
    assert.planned(actions, { op = "add_note", target = app })
    assert.planned(actions, { op = "add_note", target = { kind = "application", id = app.id },
                              payload = { subject = "Interview" } })
    assert.planned(actions, { target = app.id, payload = { fields = { ["Interview Note Sent"] = "Yes" } } })
    assert.planned(actions, { payload = { text = testing.contains("Tuesday") } })
    assert.planned(actions, { key = "k3" })
    assert.not_planned(actions, { op = "add_note", target = c })
    assert.not_planned(actions, { target = { kind = "candidate", id = app.id } })
    assert.not_planned(actions, { payload = { fields = { ["Interview Note Sent"] = "No" } } })
    assert.not_planned(actions, { payload = { text = testing.contains("Monday") } })
  end)

  it("count the actions planned", function()
    assert.planned_count(3, actions)
    assert.planned_count(2, actions, { target = app })
    assert.planned_count(0, {})
    assert.is_not.planned_count(1, actions)
  end)

  it("show the plan when they fail", function()
    local ok, e = pcall(function() assert.planned(actions, { op = "move_to_stage", target = app }) end)
    assert.is_false(ok)
    e = tostring(e)
    assert.truthy(e:find("Expected an action planned like:\n  op = move_to_stage, target = application "
                         .. app.id, 1, true), e)
    assert.truthy(e:find('  1. add_note application ' .. app.id .. ' (Ann Lee - Software Engineer) '
                         .. '{ subject = "Interview", text = "Booked for Tuesday" }', 1, true), e)
    assert.truthy(e:find("  3. add_tag candidate " .. c.id .. ' { tag = "python" }', 1, true), e)
    ok, e = pcall(function() assert.not_planned(actions, { op = "add_tag" }) end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("Expected no action planned like:\n  op = add_tag", 1, true))
    ok, e = pcall(function() assert.planned_count(2, actions, { op = "add_note" }) end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("Expected 2 actions planned like: op = add_note\nbut 1 were:", 1, true))
    ok = pcall(function() assert.planned_count(0, {}) end)
    assert.is_true(ok)
    ok, e = pcall(function() assert.planned(nil, { op = "add_tag" }) end)
    assert.is_false(ok)
    assert.matches("expected the list of actions from testing.run_rule, got nil", tostring(e))
  end)

  it("refuse an expectation they do not understand", function()
    local ok, e = pcall(function() assert.planned(actions, { operation = "add_note" }) end)
    assert.is_false(ok)
    assert.matches("unknown key 'operation' in the expected action %(op, target, payload, key%)", tostring(e))
  end)
end)

describe("the trk init scaffold", function()
  after_each(trk.cleanup)

  local root = os.getenv("TRK_ROOT") or io.popen("pwd"):read("l")
  local build = os.getenv("TRK_BUILD") or "build"
  if build:sub(1, 1) ~= "/" then build = root .. "/" .. build end

  local function write_project()
    local dir = trk.tmpdir()
    os.execute("mkdir -p " .. trk.quote(dir .. "/rules"))
    for _, f in ipairs(scaffold.files()) do trk.write(dir .. "/" .. f.path, f.text) end
    return dir
  end

  -- busted as `trk test` runs it: the shipped modules and tracker.so on the paths.
  local function busted(dir)
    local cmd = ("cd %s && lua5.4 $(command -v busted) --lpath=%s --cpath=%s -o plainTerminal rules/ 2>&1"):format(
      trk.quote(dir), trk.quote(root .. "/scripts/?.lua"), trk.quote(build .. "/?.so"))
    local p = io.popen(cmd)
    local out = p:read("a")
    local ok = p:close()
    return ok, out
  end

  it("makes a rule, its spec, a README and a .gitignore", function()
    local paths = {}
    for i, f in ipairs(scaffold.files()) do
      paths[i] = f.path
      assert.is_string(f.text)
    end
    assert.are.same({ "rules/first_rule.lua", "rules/first_rule_spec.lua", "README.md", ".gitignore" }, paths)
    assert.are.equal(".trk/\n.luarc.json\n", scaffold.files()[4].text)
    local readme = scaffold.files()[3].text
    for _, text in ipairs({ "trk test", "trk rules rules/", "--apply", "TRACKER_REGION",
                            "TRACKER_APIKEY", "TRACKER_USERNAME", "TRACKER_API_TOKEN" }) do
      assert.truthy(readme:find(text, 1, true), text)
    end
  end)

  it("whose spec passes", function()
    local ok, out = busted(write_project())
    assert.is_true(ok, out)
    assert.matches("3 successes / 0 failures / 0 errors", out)
  end)

  it("whose spec fails when the rule is broken", function()
    local dir = write_project()
    trk.edit(dir .. "/rules/first_rule.lua", '"LinkedIn"', '"Indeed"')
    local ok, out = busted(dir)
    assert.is_falsy(ok, out)
    assert.matches("2 successes / 1 failure / 0 errors", out)
  end)

  it("whose rule loads as a rule", function()
    local dir = write_project()
    local rule = testing.load_rule(dir .. "/rules/first_rule.lua")
    assert.are.equal("first-rule", rule.name)
    assert.are.equal("candidates", rule.on)
  end)
end)

describe("clients, contacts and leads in the kit", function()
  it("builds linked fixtures the client reads back", function()
    local acme = testing.client{ name = "Acme Health", custom = { ["Account Tier"] = "High" } }
    local hank = testing.contact{ client = acme, name = "Hank Hiring", email = "hank@acme.example" }
    local lead = testing.lead{ client = acme, subject = "Night cover", source = "Referral" }
    local call = testing.note{ on = hank, subject = "Intro", type = "Meeting" }
    local t = testing.emulator{ call, lead }           -- the rest comes with what refers to it
    local c = assert(t:client(acme.id))
    assert.are.same({ "Acme Health", "High" }, { c.name, c.custom["Account Tier"] })
    local k = assert(t:contact(hank.id))
    assert.are.same({ "Hank", "Hiring", acme.id, "Acme Health" },
                    { k.first_name, k.last_name, k.client_id, k.company })
    local l = assert(t:lead(lead.id))
    assert.are.same({ "Night cover", acme.id, "Referral" }, { l.subject, l.client_id, l.source })
    local acts = {}
    for a in t:activities{ contact = hank } do acts[#acts + 1] = a end
    assert.are.same({ call.id, "Meeting", acme.id }, { acts[1].id, acts[1].type, acts[1].client_id })
    raises("testing.contact: 'client' must be a testing.client", testing.contact, { client = "x" })
    raises("unknown field 'compny'", testing.client, { compny = 1 })
  end)

  it("runs a rule on contacts, filtered by client, planning its activities", function()
    local acme, other = testing.client{}, testing.client{ name = "Other" }
    local mine = testing.contact{ client = acme }
    local theirs = testing.contact{ client = other }
    local rule = rule_file([[return { on = "contacts", where = { client = ]] .. acme.id .. [[ },
      action = function(k, t) t:add_activity(k, { type = "Call", subject = "Check-in" }) end }]])
    local actions, summary = testing.run_rule(rule, testing.emulator{ mine, theirs })
    assert.are.equal(1, summary.matched)
    assert.planned(actions, { op = "add_activity", target = mine,
                              payload = { type = "Call", subject = "Check-in" } })
    raises("which contacts cannot filter on", function()
      testing.run_rule(rule_file("return { on = 'contacts', where = { stage = 'x' }, "
                                 .. "action = function() end }"), testing.emulator{})
    end)
  end)
end)

describe("placements in the kit", function()
  it("builds a placement the client reads back through t:placements, in both dialects", function()
    local ann, ward = testing.candidate{ name = "Ann Lee" }, testing.job{ name = "Ward Nurse" }
    local p = testing.placement{ candidate = ann, job = ward, start_date = "2026-11-02",
                                 end_date = "2027-03-31T12:00:00Z", pay_rate = 40, charge_rate = 55.5,
                                 charge_period = "Hour", currency = "USD",
                                 custom = { ["Recruiter Score"] = 8 },
                                 updated_at = "2026-10-20T10:00:00Z" }
    local call = testing.note{ on = p, subject = "Compliance check" }
    assert.are.same({ "placement", "Working", "Ann Lee - Ward Nurse" }, { p.kind, p.stage, p.name })
    -- a placement is an application: the two share Tracker's opportunity-resource ids
    assert.are.equal(p.id + 1, testing.application{ candidate = ann, job = ward }.id)
    for _, dialect in ipairs({ "evidence", "rich" }) do
      local t = testing.emulator({ call }, { dialect = dialect })   -- p, ann, ward come along
      local seen = {}
      for r in t:placements{} do seen[#seen + 1] = r end
      assert.are.equal(1, #seen, dialect)
      local r = seen[1]
      assert.are.same({ p.id, "Working", ann.id, "Ann Lee", ward.id, "2026-11-02", "2027-03-31",
                        40, 55.5, "Hour", "USD", 8, "2026-10-20T10:00:00Z" },
                      { r.id, r.status, r.candidate_id, r.candidate_name, r.job_id, r.start_date,
                        r.end_date, r.pay_rate, r.charge_rate, r.charge_period, r.currency,
                        r.custom["Recruiter Score"], r.updated_at }, dialect)
      assert.are.equal(p.id, assert(t:placement(p.id)).id)
      local acts = {}
      for a in t:activities{ candidate = ann } do acts[#acts + 1] = a end
      assert.are.same({ call.id, p.id }, { acts[1].id, acts[1].application_id }, dialect)
    end
  end)

  it("takes only the database's placement stages, suggesting the one meant", function()
    local function build(fields)
      fields.candidate, fields.job = testing.candidate{}, testing.job{}
      return { testing.placement(fields) }
    end
    local t = testing.emulator(build{ stage = "offer" })
    local stages = {}
    for r in t:placements{} do stages[#stages + 1] = r.status end
    assert.are.same({ "Offer" }, stages)
    raises("testing.placement: unknown placement stage 'Wrking' %(did you mean 'Working'%?%); "
           .. "placement stages: Offer, Working, Complete$", testing.emulator, build{ stage = "Wrking" })
    raises("testing.placement: stage 'Interview' is not a placement stage %(placement stages: "
           .. "Offer, Working, Complete%); an application there is a testing.application",
           testing.emulator, build{ stage = "Interview" })
    raises("testing.placement 'end_date': expected a date such as 2027%-01%-04", testing.emulator,
           build{ end_date = "next spring" })
    raises("testing.placement: 'pay_rate' must be a number, got string", testing.placement,
           { candidate = 1, job = 2, pay_rate = "40" })
    raises("testing.placement: 'candidate' and 'job' are required", testing.placement, { job = 2 })
    raises("testing.placement: unknown field 'startdate' %(fields: id, candidate, job, stage, "
           .. "start_date,", testing.placement, { candidate = 1, job = 2, startdate = "2027-01-04" })
  end)

  it("runs a rule on placements that plans an end date for exactly those it should", function()
    local ward, clinic = testing.job{ name = "Ward Nurse" }, testing.job{ name = "Clinic Nurse" }
    local open_ended = testing.placement{ candidate = testing.candidate{}, job = ward }
    local ending = testing.placement{ candidate = testing.candidate{}, job = ward,
                                      end_date = "2027-01-31" }
    local elsewhere = testing.placement{ candidate = testing.candidate{}, job = clinic }
    local offer = testing.placement{ candidate = testing.candidate{}, job = ward, stage = "Offer" }
    local interview = testing.application{ candidate = testing.candidate{}, job = ward,
                                           stage = "Interview" }
    local rule = rule_file(([[return {
      on = "placements", where = { job = %d },
      when = function(p) return p.status == "Working" and p.end_date == nil end,
      action = function(p, t) assert(t:update_placement(p, { end_date = "2027-06-30" })) end,
    }]]):format(ward.id))
    local t = testing.emulator{ open_ended, ending, elsewhere, offer, interview }
    local actions, summary = testing.run_rule(rule, t)
    assert.are.same({ 3, 1, 1 }, { summary.seen, summary.matched, summary.planned })
    assert.planned(actions, { op = "update_placement", target = open_ended,
                              payload = { fields = { end_date = "2027-06-30" } } })
    for _, other in ipairs({ ending, elsewhere, offer, interview }) do
      assert.not_planned(actions, { target = other.id })
    end
    -- applied, the placement is read back ended, and a second run plans nothing
    assert.planned_count(1, testing.run_rule(rule, t, { apply = true }))
    assert.are.equal("2027-06-30", assert(t:placement(open_ended.id)).end_date)
    assert.planned_count(0, testing.run_rule(rule, t))
  end)
end)
