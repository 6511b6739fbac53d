-- trk rules end to end: the real trk against `trk emulator` servers over HTTP. Plans by
-- default and applies with --apply, runs incrementally from each rule's checkpoint, acts once
-- per change of a record, holds each rule invocation to its instruction budget, watches
-- without busy-waiting, and says what it did (the summary, --json, --plan, trk journal).
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

local q = trk.quote
local SINCE = "2000-01-01T00:00:00Z"                    -- before every generated record
-- 40 candidates, 60 applications, in the rich dialect: these specs count what a server that
-- windows by time and shows tags gives (spec/firstcontact_spec.lua runs rules over both dialects)
local DATA = { "--generate", "40", "--seed", "3", "--admin", "--dialect", "rich" }




local rules_dir = trk.dir_with

local function rules(srv, dir, ...)
  return trk.exec({ "rules", dir, ... }, { env = server.client_env(srv) })
end

-- The summary's row of a rule: { seen =, matched =, actions =, errors =, changes = }.
local function row(r, name)
  local pat = "^  " .. name:gsub("%p", "%%%0") .. "%s+([%d,]+)%s+([%d,]+)%s+([%d,]+)%s+([%d,]+)%s+(.-)%s*$"
  for line in r.stderr:gmatch("[^\n]+") do
    local seen, matched, actions, errors, changes = line:match(pat)
    if seen then
      local function n(s) return tonumber((s:gsub(",", ""))) end
      return { seen = n(seen), matched = n(matched), actions = n(actions), errors = n(errors),
               changes = changes }
    end
  end
  error("no summary row for rule " .. name .. " in:\n" .. r.stderr, 2)
end

local function has(text, s)
  return text:find(s, 1, true) ~= nil
end

-- The application notes whose text is `text`: { [application id] = how many }, and the total.
local function notes(doc, text)
  local by, n = {}, 0
  for _, a in ipairs(doc.activities) do
    if a.note == text then
      local id = a.opportunityresourceid
      by[id] = (by[id] or 0) + 1
      n = n + 1
    end
  end
  return by, n
end

local function stage_ids(doc)
  local ids = {}
  for _, s in ipairs(doc.lists.opportunityResourceStatuses) do ids[s.name] = s.id end
  return ids
end

local function has_tag(cand, tag)
  for t in tostring(cand.tag or ""):gmatch("[^,]+") do
    if t == tag then return true end
  end
  return false
end

local edit_file = trk.edit

-- Changes one application through the emulator, as someone else would: a `trk run --apply`
-- of its own (its own directory and state store). what: "stage" or a custom field's name.
local CHANGE = [==[
local t = require("tracker").connect()
local app = assert(t:application(math.tointeger(tonumber(arg[1]))))
if arg[2] == "stage" then
  assert(t:move_to_stage(app, arg[3]))
else
  assert(t:set_custom_fields(app, { [arg[2]] = tonumber(arg[3]) or arg[3] }))
end
]==]
local function change(srv, id, what, value)
  local dir = trk.tmpdir()
  trk.write(dir .. "/change.lua", CHANGE)
  local r = trk.exec({ "run", dir .. "/change.lua", "--apply", "--", tostring(id), what, value },
                     { env = server.client_env(srv) })
  assert.are.equal(0, r.code, r.stderr)
end

-- Rules used by several tests.

-- Every application at Screening gets Recruiter Score 42; idempotent (skips a 42).
local SCORE = [[
return {
  name = "score",
  on = "applications",
  where = { stage = "Screening" },
  when = function(app) return app.custom["Recruiter Score"] ~= 42 end,
  action = function(app, t) assert(t:set_custom_fields(app, { ["Recruiter Score"] = 42 })) end,
}
]]

-- A note on every changed application, guarded by nothing but trk's "once per change".
local NOTE_ALL = [[
return {
  name = "note-all",
  on = "applications",
  action = function(app, t) assert(t:add_note(app, "note-all saw it")) end,
}
]]

-- Every candidate gets the tag "good".
local GOOD = [[
return {
  name = "good",
  on = "candidates",
  action = function(c, t) assert(t:add_tag(c, "good")) end,
}
]]

-- Whether every candidate has the tag "good"; false and which one does not.
local function all_good(doc)
  for _, c in ipairs(doc.candidates) do
    if not has_tag(c, "good") then return false, "candidate " .. c.id .. ": " .. tostring(c.tag) end
  end
  return true
end

local function app_of(doc, id)
  for _, a in ipairs(doc.applications) do
    if a.id == id then return a end
  end
end

local function screening(doc)
  local id, out = stage_ids(doc).Screening, {}
  for _, a in ipairs(doc.applications) do
    if a.statusid == id then out[#out + 1] = a end
  end
  return out
end

describe("trk rules", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  describe("plans, applies, and applies nothing twice", function()
    it("plans by default: the emulator is unchanged, the plan on stdout, the summary on stderr",
       function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["score.lua"] = SCORE }
      local before = server.state(srv)
      local n = #screening(before)
      assert.is_true(n > 1, "screening applications: " .. n)
      local r = rules(srv, dir, "--since", SINCE)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same(before, server.state(srv))
      -- the plan table, on stdout only
      assert.is_truthy(r.stdout:find("#%s+operation%s+target%s+change"), r.stdout)
      local lines = 0
      for _ in r.stdout:gmatch("set_custom_fields%s+application %d+[^\n]*Recruiter Score: [^\n]*→ 42") do
        lines = lines + 1
      end
      assert.are.equal(n, lines, r.stdout)
      assert.is_falsy(r.stderr:find("operation", 1, true), r.stderr)
      -- the per-rule summary, on stderr only
      assert.is_truthy(r.stderr:find("rule%s+seen%s+matched%s+planned%s+errors"), r.stderr)
      assert.is_falsy(r.stdout:find("matched", 1, true), r.stdout)
      local s = row(r, "score")
      assert.are.same({ n, n, n, 0 }, { s.seen, s.matched, s.actions, s.errors })
      assert.are.equal("new: from " .. SINCE, s.changes)
      assert.is_truthy(has(r.stderr, n .. " writes planned (" .. n .. " set_custom_fields); "
                                      .. "nothing was sent"), r.stderr)
      -- and a plan moves no checkpoint: the next plan is the same
      local again = rules(srv, dir, "--since", SINCE)
      assert.are.same({ n, n, n }, { row(again, "score").seen, row(again, "score").matched,
                                     row(again, "score").actions })
    end)

    it("applies with --apply, and a second --apply finds nothing left to do", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["score.lua"] = SCORE }
      local want = screening(server.state(srv))
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, #want .. " writes: " .. #want .. " applied"), r.stderr)
      assert.are.equal("", r.stdout)                          -- no plan table when applying
      local s = row(r, "score")
      assert.are.same({ #want, #want, 0 }, { s.matched, s.actions, s.errors })
      local after = server.state(srv)
      for _, a in ipairs(screening(after)) do
        assert.are.equal("42", tostring(a.custom["450"]), "application " .. a.id)
      end
      assert.are.equal(#want, #screening(after))

      local r2 = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, r2.code, r2.stderr)
      local s2 = row(r2, "score")
      assert.are.same({ 0, 0, 0 }, { s2.matched, s2.actions, s2.errors })
      assert.is_truthy(has(r2.stderr, "0 writes: 0 applied"), r2.stderr)
      assert.is_truthy(s2.changes:find("^since "), s2.changes)  -- from its checkpoint now
      assert.are.same(after, server.state(srv))
      -- and planning after it plans nothing
      local r3 = rules(srv, dir)
      assert.are.equal(0, r3.code, r3.stderr)
      assert.are.equal(0, row(r3, "score").actions)
      assert.are.equal("", r3.stdout)
    end)

    it("sees a record changed after the checkpoint on the next run, and only it", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["note_all.lua"] = NOTE_ALL }
      local doc = server.state(srv)
      local total = #doc.applications
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ total, total, total }, { row(r, "note-all").seen, row(r, "note-all").matched,
                                                 row(r, "note-all").actions })
      local _, n = notes(server.state(srv), "note-all saw it")
      assert.are.equal(total, n)

      -- nothing changed: nothing to do (a note changes its application in no way)
      local quiet = rules(srv, dir, "--apply")
      assert.are.equal(0, quiet.code, quiet.stderr)
      assert.are.equal(0, row(quiet, "note-all").matched)
      assert.is_true(row(quiet, "note-all").seen <= 1, quiet.stderr)  -- the newest, at the checkpoint

      local target = doc.applications[7].id
      change(srv, target, "Recruiter Score", "7")
      local r2 = rules(srv, dir, "--apply", "--plan", dir .. "/../plan.jsonl")
      assert.are.equal(0, r2.code, r2.stderr)
      local s = row(r2, "note-all")
      assert.are.same({ 1, 1, 0 }, { s.matched, s.actions, s.errors })
      assert.is_true(s.seen <= 2, r2.stderr)
      local by, n2 = notes(server.state(srv), "note-all saw it")
      assert.are.equal(total + 1, n2)
      assert.are.equal(2, by[target])
      local line = json.decode(trk.slurp(dir .. "/../plan.jsonl"))
      assert.are.equal(target, line.target.id)
      assert.are.equal("done", line.status)
      -- the next run reads that change again (it is recent: the checkpoint keeps a margin) and
      -- does not act on it twice
      local r3 = rules(srv, dir, "--apply")
      assert.are.equal(0, r3.code, r3.stderr)
      assert.is_true(row(r3, "note-all").seen >= 1, r3.stderr)
      assert.are.same({ 0, 0 }, { row(r3, "note-all").matched, row(r3, "note-all").actions })
      assert.are.equal(total + 1, select(2, notes(server.state(srv), "note-all saw it")))
    end)
  end)

  describe("a new rule", function()
    it("starts from now without --since, seeing nothing of the old data", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["note_all.lua"] = NOTE_ALL }
      local before = server.state(srv)
      local r = rules(srv, dir, "--apply")
      assert.are.equal(0, r.code, r.stderr)
      local s = row(r, "note-all")
      assert.are.same({ 0, 0, 0 }, { s.seen, s.matched, s.actions })
      local from = s.changes:match("^new: from (%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ)$")
      assert.is_truthy(from, s.changes)
      assert.is_true(from >= os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 120), from)
      assert.are.same(before, server.state(srv))
    end)

    it("starts from --since, seeing the records changed since then", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["note_all.lua"] = NOTE_ALL }
      local doc = server.state(srv)
      local since, cut = "2026-11-01T00:00:00Z", "2026-11-01 00:00:00"
      local want = 0
      for _, a in ipairs(doc.applications) do
        if a.lastupdated >= cut then want = want + 1 end
      end
      assert.is_true(want > 0 and want < #doc.applications, "changed since: " .. want)
      local r = rules(srv, dir, "--since", since)
      assert.are.equal(0, r.code, r.stderr)
      local s = row(r, "note-all")
      assert.are.same({ want, want, want }, { s.seen, s.matched, s.actions })
      assert.are.equal("new: from " .. since, s.changes)
    end)

    it("added beside rules with checkpoints starts at --since or now; they go on from theirs",
       function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["score.lua"] = SCORE }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, r.code, r.stderr)
      trk.write(dir .. "/note_all.lua", NOTE_ALL)
      local target = screening(server.state(srv))[1].id
      change(srv, target, "Recruiter Score", "3")
      local r2 = rules(srv, dir, "--since", SINCE)
      assert.are.equal(0, r2.code, r2.stderr)
      -- the old rule goes on from its checkpoint: the changed record
      local s = row(r2, "score")
      assert.are.same({ 1, 1 }, { s.matched, s.actions })
      assert.is_truthy(s.changes:find("^since "), s.changes)
      -- the new one starts at --since (it has no checkpoint yet), sees everything
      local n = row(r2, "note-all")
      assert.are.equal("new: from " .. SINCE, n.changes)
      assert.are.equal(#server.state(srv).applications, n.matched)
      -- without --since it starts from now: not even the changes made a moment ago (a second
      -- ago: record times have whole seconds, and one of now's second counts as changed since)
      os.execute("sleep 1.1")
      local r3 = rules(srv, dir)
      assert.are.equal(0, r3.code, r3.stderr)
      assert.are.same({ 1, 1 }, { row(r3, "score").matched, row(r3, "score").actions })
      assert.are.equal(0, row(r3, "note-all").seen)
      assert.is_truthy(row(r3, "note-all").changes:find("^new: from 20"), r3.stderr)
    end)
  end)

  describe("once per change", function()
    -- scan = "all": every record at Screening, every run, no guard of its own
    local SCAN_ALL = [[
return {
  name = "remind",
  on = "applications",
  where = { stage = "Screening" },
  scan = "all",
  action = function(app, t) assert(t:add_note(app, "reminder")) end,
}
]]
    it("a scan = \"all\" rule acts once on a change, and again once the record changes", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["remind.lua"] = SCAN_ALL }
      local apps = screening(server.state(srv))
      local k = #apps
      local r = rules(srv, dir, "--apply")          -- no --since: scan = "all" sees every record
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ k, k, k }, { row(r, "remind").seen, row(r, "remind").matched,
                                     row(r, "remind").actions })
      local _, n = notes(server.state(srv), "reminder")
      assert.are.equal(k, n)

      local again = rules(srv, dir, "--apply")
      assert.are.equal(0, again.code, again.stderr)
      assert.are.same({ k, 0, 0 }, { row(again, "remind").seen, row(again, "remind").matched,
                                     row(again, "remind").actions })
      _, n = notes(server.state(srv), "reminder")
      assert.are.equal(k, n)
      -- planning sees the same: nothing
      assert.are.equal(0, row(rules(srv, dir), "remind").actions)

      change(srv, apps[1].id, "Recruiter Score", "5")
      local r3 = rules(srv, dir, "--apply")
      assert.are.equal(0, r3.code, r3.stderr)
      assert.are.same({ 1, 1 }, { row(r3, "remind").matched, row(r3, "remind").actions })
      local by
      by, n = notes(server.state(srv), "reminder")
      assert.are.equal(k + 1, n)
      assert.are.equal(2, by[apps[1].id])
    end)
  end)

  describe("errors and budgets", function()
    local function candidate_id(srv, i)
      return server.state(srv).candidates[i].id
    end

    it("gives a change a rule failed on to the next run again", function()
      local srv = server.start(DATA)
      local id = candidate_id(srv, 3)
      local dir = rules_dir{ ["flaky.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c) return c.id == %d end,
  action = function(c, t)
    error("not today")
  end,
}
]], id) }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(1, r.code, r.stderr)
      edit_file(dir .. "/flaky.lua", 'error("not today")', 'assert(t:add_tag(c, "fixed"))')
      local r2 = rules(srv, dir, "--apply")
      assert.are.equal(0, r2.code, r2.stderr)
      assert.are.same({ 1, 1 }, { row(r2, "flaky").matched, row(r2, "flaky").actions })
      for _, c in ipairs(server.state(srv).candidates) do
        assert.are.equal(c.id == id, has_tag(c, "fixed"), c.id)
      end
    end)

    it("stops a rule that loops forever, names its file, line and record; the others apply",
       function()
      local srv = server.start(DATA)
      local id = candidate_id(srv, 3)
      local dir = rules_dir{
        ["a_loop.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c)
    if c.id == %d then
      while true do end
    end
    return false
  end,
  action = function() end,
}
]], id),
        ["b_good.lua"] = GOOD,
      }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "error: rule a_loop, candidate " .. id .. ": " .. dir
                                      .. "/a_loop.lua:5: instruction budget exceeded (50000000 "
                                      .. "instructions, --rule-budget)"), r.stderr)
      assert.are.equal(1, row(r, "a_loop").errors)
      assert.are.equal(0, row(r, "a_loop").matched)
      local g = row(r, "good")
      assert.are.same({ 40, 40, 0 }, { g.matched, g.actions, g.errors })
      -- the other rule applied, to every candidate, the looping rule's one included
      assert(all_good(server.state(srv)))
    end)

    it("--rule-budget stops a moderately heavy rule that the default budget lets through",
       function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["heavy.lua"] = [[
return {
  on = "candidates",
  when = function(c)
    local s = 0
    for i = 1, 20000 do s = s + i % 7 end
    return s > 0
  end,
  action = function(c, t) assert(t:add_tag(c, "heavy")) end,
}
]] }
      local ok = rules(srv, dir, "--since", SINCE)
      assert.are.equal(0, ok.code, ok.stderr)
      assert.are.same({ 40, 0 }, { row(ok, "heavy").matched, row(ok, "heavy").errors })
      local r = rules(srv, dir, "--since", SINCE, "--rule-budget", "1000")
      assert.are.equal(1, r.code, r.stderr)
      assert.are.same({ 0, 40 }, { row(r, "heavy").matched, row(r, "heavy").errors })
      assert.is_truthy(has(r.stderr, "heavy.lua:5: instruction budget exceeded (1000 instructions, "
                                      .. "--rule-budget)"), r.stderr)
      assert.are.equal("", r.stdout)                   -- nothing planned
    end)

    it("reports a rule that raises with its file, line and record, and goes on", function()
      local srv = server.start(DATA)
      local id = candidate_id(srv, 5)
      local dir = rules_dir{
        ["boom.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c) return c.id == %d end,
  action = function(c, t)
    error("boom")
  end,
}
]], id),
        ["good.lua"] = GOOD,
      }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "error: rule boom, candidate " .. id .. ": " .. dir
                                      .. "/boom.lua:5: boom\n"), r.stderr)
      assert.are.same({ 1, 0 }, { row(r, "boom").errors, row(r, "boom").actions })
      assert(all_good(server.state(srv)))
    end)

    it("does not let a rule catch the budget stop with pcall and write after it", function()
      local srv = server.start(DATA)
      local id = candidate_id(srv, 2)
      local dir = rules_dir{ ["sly.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c) return c.id == %d end,
  action = function(c, t)
    local ok = pcall(function() while true do end end)
    assert(t:add_tag(c, "escaped"))
    assert(t:add_note(c, "escaped the budget"))
  end,
}
]], id) }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "error: rule sly, candidate " .. id .. ": " .. dir
                                      .. "/sly.lua:5: instruction budget exceeded"), r.stderr)
      assert.are.same({ 0, 1 }, { row(r, "sly").actions, row(r, "sly").errors })
      local doc = server.state(srv)
      for _, c in ipairs(doc.candidates) do assert.is_false(has_tag(c, "escaped"), c.id) end
      for _, a in ipairs(doc.activities) do assert.are_not.equal("escaped the budget", a.note) end
    end)

    it("refuses forbidden globals (io, os.execute) at the line using them; the others go on",
       function()
      local srv = server.start(DATA)
      local a, b = candidate_id(srv, 1), candidate_id(srv, 2)
      local dir = rules_dir{
        ["reads_files.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c) return c.id == %d end,
  action = function(c, t)
    local f = io.open("/etc/passwd")
    assert(t:add_tag(c, "read-a-file"))
  end,
}
]], a),
        ["runs_commands.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c)
    if c.id == %d then os.execute("touch /tmp/trk-rules-spec-pwned") end
    return false
  end,
  action = function() end,
}
]], b),
        ["good.lua"] = GOOD,
      }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "error: rule reads_files, candidate " .. a .. ": " .. dir
                                      .. "/reads_files.lua:5: attempt to index a nil value (global 'io')"),
                       r.stderr)
      assert.is_truthy(has(r.stderr, "error: rule runs_commands, candidate " .. b .. ": " .. dir
                                      .. "/runs_commands.lua:4: attempt to call a nil value (field "
                                      .. "'execute')"), r.stderr)
      assert.is_nil(io.open("/tmp/trk-rules-spec-pwned"))
      assert.are.equal(1, row(r, "reads_files").errors)
      assert.are.equal(1, row(r, "runs_commands").errors)
      local doc = server.state(srv)
      assert(all_good(doc))
      for _, c in ipairs(doc.candidates) do assert.is_false(has_tag(c, "read-a-file"), c.id) end
    end)

    describe("refuses to start on an invalid rule file, naming it", function()
      local cases = {
        { "a syntax error", "return { on = \"candidates\",\n  action = function() end\n",
          "bad.lua:3: '}' expected (to close '{' at line 1) near <eof>" },
        { "a missing action", "return { on = \"candidates\" }\n",
          "bad.lua: rule field 'action' is missing" },
        { "a bad on", "return { on = \"candidate\", action = function() end }\n",
          "bad.lua: rule field 'on' is 'candidate'; use one of applications, candidates, jobs, "
          .. "clients, contacts, leads, placements "
          .. "(did you mean 'candidates'?)" },
        { "an error while the file runs", "local x = nil\nreturn { on = x.on }\n",
          "bad.lua:2: attempt to index a nil value (local 'x')" },
      }
      for _, case in ipairs(cases) do
        it("with " .. case[1], function()
          local srv = server.start(DATA)
          local dir = rules_dir{ ["bad.lua"] = case[2], ["good.lua"] = GOOD }
          local before = server.state(srv)
          local r = rules(srv, dir, "--since", SINCE, "--apply")
          assert.are.equal(1, r.code, r.stderr)
          assert.is_truthy(has(r.stderr, "trk rules: " .. dir .. "/" .. case[3]), r.stderr)
          assert.are.same(before, server.state(srv))     -- not even the good rule ran
          assert.is_nil(io.open(dir .. "/.trk/state.db"))
        end)
      end
    end)
  end)

  describe("tells what it did", function()
    local TWO = {
      ["score.lua"] = SCORE,
      ["tag_source.lua"] = [[
return {
  on = "candidates",
  when = function(c) return c.source == "Referral" end,
  action = function(c, t) assert(t:add_tag(c, "referred")) end,
}
]],
    }

    local function referrals(doc)
      local n = 0
      for _, c in ipairs(doc.candidates) do
        if c.source == "Referral" then n = n + 1 end
      end
      return n
    end

    it("--json prints one JSON object on stdout and no table", function()
      local srv = server.start(DATA)
      local dir = rules_dir(TWO)
      local doc = server.state(srv)
      local n, m = #screening(doc), referrals(doc)
      local r = rules(srv, dir, "--since", SINCE, "--json")
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(r.stdout:match("^{[^\n]*}\n$"), r.stdout)
      local sum = json.decode(r.stdout)
      assert.are.equal("plan", sum.mode)
      assert.are.equal("complete", sum.status)
      assert.are.same({ n + m, n + m, 0, 0 }, { sum.actions, sum.planned, sum.applied, sum.failed })
      assert.are.same({ set_custom_fields = n, add_tag = m }, sum.by_op)
      assert.are.equal("", r.stderr)

      local a = rules(srv, dir, "--since", SINCE, "--json", "--apply")
      assert.are.equal(0, a.code, a.stderr)
      sum = json.decode(a.stdout)
      assert.are.same({ "apply", "complete", n + m, n + m, 0 },
                      { sum.mode, sum.status, sum.actions, sum.applied, sum.planned })
      assert.are.equal(dir .. "/.trk/state.db", sum.state)
      assert.are.equal(1, sum.run)
    end)

    it("--json lists each rule's records seen, matched, actions and errors, and every error",
       function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["score.lua"] = SCORE, ["boom.lua"] = [[
return {
  on = "candidates",
  action = function(c) error("boom " .. c.id) end,
}
]] }
      local n = #screening(server.state(srv))
      local r = rules(srv, dir, "--since", SINCE, "--json")
      assert.are.equal(1, r.code, r.stderr)
      local sum = json.decode(r.stdout)
      assert.are.equal("failed", sum.status)
      local by = {}
      for _, rule in ipairs(sum.rules) do by[rule.name] = rule end
      assert.are.same({ n, n, n, 0, 0, true, SINCE, dir .. "/score.lua" },
                      { by.score.seen, by.score.matched, by.score.actions, by.score.errors,
                        by.score.failed, by.score.new, by.score.since, by.score.file })
      -- it has no `when`: every record matched, then its action failed
      assert.are.same({ 40, 40, 0, 40 }, { by.boom.seen, by.boom.matched, by.boom.actions,
                                           by.boom.errors })
      -- every error, with its rule, file, line and record
      assert.are.equal(40, #sum.errors)
      local records = {}
      for _, e in ipairs(sum.errors) do
        assert.are.same({ "boom", dir .. "/boom.lua", "candidates" }, { e.rule, e.file, e.kind })
        assert.are.equal(dir .. "/boom.lua:3", e.where)
        assert.is_truthy(has(e.message, dir .. "/boom.lua:3: boom " .. e.record), e.message)
        records[e.record] = true
      end
      for _, c in ipairs(server.state(srv).candidates) do assert.is_true(records[c.id], c.id) end
      -- the plain summary lists five per rule and counts the rest
      local plain = rules(srv, dir, "--since", SINCE)
      assert.are.equal(1, plain.code, plain.stderr)
      assert.are.equal(5, select(2, plain.stderr:gsub("\nerror: rule boom, candidate ", "")), plain.stderr)
      assert.is_truthy(has(plain.stderr, "error: rule boom: 35 more errors like these"), plain.stderr)
    end)

    it("--plan writes every action as a JSON line naming its rule", function()
      local srv = server.start(DATA)
      local dir = rules_dir(TWO)
      local doc = server.state(srv)
      local plan = dir .. "/../plan.jsonl"
      local r = rules(srv, dir, "--since", SINCE, "--plan", plan)
      assert.are.equal(0, r.code, r.stderr)
      local by_rule = {}
      for line in io.lines(plan) do
        local a = json.decode(line)
        assert.are.equal("planned", a.status)
        by_rule[a.rule] = (by_rule[a.rule] or 0) + 1
        if a.rule == "score" then
          assert.are.same({ "set_custom_fields", "application" }, { a.op, a.target.kind })
        else
          assert.are.same({ "tag_source", "add_tag", "candidate", "referred" },
                          { a.rule, a.op, a.target.kind, a.payload.tag })
        end
        assert.is_string(a.key)
      end
      assert.are.same({ score = #screening(doc), tag_source = referrals(doc) }, by_rule)
      assert.are.same({ row(r, "score").actions, row(r, "tag_source").actions },
                      { by_rule.score, by_rule.tag_source })
    end)

    it("trk journal shows the runs and checkpoints, and --failed the failed writes", function()
      local srv = server.start(DATA)
      local id = server.state(srv).candidates[1].id
      local dir = rules_dir{
        ["ghost.lua"] = string.format([[
return {
  on = "candidates",
  when = function(c) return c.id == %d end,
  action = function(c, t)
    t:move_to_stage({ kind = "application", id = 99999999 }, "Offer")
  end,
}
]], id),
        ["good.lua"] = GOOD,
      }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(1, r.code, r.stderr)
      assert.are.equal(1, row(r, "ghost").errors)       -- a failed write counts as an error
      assert.is_truthy(has(r.stderr, "failed: move_to_stage application 99999999: "), r.stderr)
      assert.is_truthy(has(r.stderr, "40 applied, 1 failed"), r.stderr)
      assert(all_good(server.state(srv)))
      local state = dir .. "/.trk/state.db"

      local j = trk.exec({ "journal", "--state", state })
      assert.are.equal(0, j.code, j.stderr)
      assert.is_truthy(j.stdout:find("\n  1%s+%S+%s+failed%s+1%s+41%s+40%s+1%s+0%s+trk rules "), j.stdout)
      assert.is_truthy(j.stdout:find("checkpoints:", 1, true), j.stdout)
      assert.is_truthy(j.stdout:find("\n  ghost%s+candidates%s+%d%d%d%d%-"), j.stdout)
      assert.is_truthy(j.stdout:find("\n  good%s+candidates%s+%d%d%d%d%-"), j.stdout)

      -- a run that is not there is an error naming the runs there are
      local missing = trk.exec({ "journal", "--state", state, "--run", "99" })
      assert.are.equal(1, missing.code, missing.stdout)
      assert.matches("holds no run 99 %(its only run is 1%)", missing.stderr)

      local f = trk.exec({ "journal", "--state", state, "--failed" })
      assert.are.equal(0, f.code, f.stderr)
      assert.is_truthy(f.stdout:find("\n  1%s+%d+%s+ghost%s+move_to_stage%s+application 99999999%s+"
                                     .. "stage → Offer%s+failed%s+%d%d%d%d%-%d%d%-%d%dT[%d:]+Z%s+"
                                     .. "invalid_request: updateRecord: invalid request: record X 99"),
                       f.stdout)
      local lines = {}
      for l in trk.exec({ "journal", "--state", state, "--failed", "--json" }).stdout:gmatch("[^\n]+") do
        lines[#lines + 1] = json.decode(l)
      end
      assert.are.equal(1, #lines)
      assert.are.same({ "move_to_stage", "failed", 99999999, "Offer" },
                      { lines[1].op, lines[1].status, lines[1].target_id,
                        lines[1].payload.stage })
    end)
  end)

  describe("--concurrency", function()
    local RULES = {
      ["screen.lua"] = [[
return {
  on = "applications",
  where = { stage = "Screening" },
  when = function(app) return app.custom["Interview Note Sent"] ~= "Yes" end,
  action = function(app, t)
    assert(t:add_note(app, "screened " .. app.id))
    assert(t:set_custom_fields(app, { ["Interview Note Sent"] = "Yes" }))
    assert(t:set_custom_fields(app, { ["Recruiter Score"] = app.id % 10 }))
    assert(t:move_to_stage(app, "Interview"))
  end,
}
]],
      ["shortlist.lua"] = [[
return {
  on = "applications",
  where = { stage = "Applied" },
  action = function(app, t)
    assert(t:move_to_stage(app, "Shortlisted"))
    assert(t:add_note(app, "shortlisted " .. app.id))
  end,
}
]],
      ["tag_source.lua"] = [[
return {
  on = "candidates",
  action = function(c, t)
    assert(t:add_tag(c, ((c.source or "none"):lower():gsub("%W", "-"))))
    assert(t:add_tag(c, "seen"))
  end,
}
]],
    }

    -- What the rules change, comparable between two emulators.
    local function outcome(doc)
      local out = { apps = {}, tags = {}, notes = {} }
      for _, a in ipairs(doc.applications) do
        out.apps[a.id] = { stage = a.statusid, custom = a.custom }
      end
      for _, c in ipairs(doc.candidates) do out.tags[c.id] = c.tag or "" end
      for _, a in ipairs(doc.activities) do
        local key = tostring(a.opportunityresourceid) .. "|" .. tostring(a.note)
        out.notes[key] = (out.notes[key] or 0) + 1
      end
      return out
    end

    it("1 and the default end in the same state on identical emulators", function()
      local got = {}
      for _, conc in ipairs({ "1", false }) do
        local srv = server.start({ "--generate", "40", "--seed", "5", "--admin", "--dialect", "rich" })
        local before = outcome(server.state(srv))
        local dir = rules_dir(RULES)
        local r = conc and rules(srv, dir, "--since", SINCE, "--apply", "--concurrency", conc)
                       or rules(srv, dir, "--since", SINCE, "--apply")
        assert.are.equal(0, r.code, r.stderr)
        local doc = server.state(srv)
        local o = outcome(doc)
        assert.are_not.same(before, o)
        -- two tags on each candidate, the second written after reading the first's list back
        for _, c in ipairs(doc.candidates) do
          local source = ((c.source or "none"):lower():gsub("%W", "-"))
          assert.is_true(has_tag(c, "seen") and has_tag(c, source), c.id .. ": " .. tostring(c.tag))
        end
        got[#got + 1] = { outcome = o, stderr = r.stderr }
        server.stop(srv)
      end
      assert.are.same(got[1].outcome, got[2].outcome)
      local function counts(s)
        return s:match("trk: (%d+) writes: (%d+) applied")
      end
      assert.are.same({ counts(got[1].stderr) }, { counts(got[2].stderr) })
      assert.is_truthy(counts(got[1].stderr), got[1].stderr)
    end)
  end)

  describe("--watch", function()
    local OFFER = [[
return {
  name = "offer-note",
  on = "applications",
  where = { stage = "Offer" },
  when = function(app) return app.custom["Interview Note Sent"] ~= "Yes" end,
  action = function(app, t)
    assert(t:add_note(app, "offer made"))
    assert(t:set_custom_fields(app, { ["Interview Note Sent"] = "Yes" }))
  end,
}
]]

    -- CPU seconds (user + system) a process has used so far.
    local function cpu_seconds(pid)
      local stat = trk.slurp("/proc/" .. pid .. "/stat")
      local fields = {}
      for f in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = f end
      local p = io.popen("getconf CLK_TCK")
      local hz = tonumber(p:read("l")) or 100
      p:close()
      return (tonumber(fields[12]) + tonumber(fields[13])) / hz   -- utime, stime
    end

    local function wait_for(what, f, secs)
      local deadline = server.now() + secs
      while server.now() < deadline do
        local v = f()
        if v then return v end
        os.execute("sleep 0.1")
      end
      error("timed out waiting for " .. what, 2)
    end

    it("acts on changes at each interval, sleeps in between, and stops on Ctrl-C", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["offer.lua"] = OFFER }
      local doc = server.state(srv)
      local target
      for _, a in ipairs(doc.applications) do
        if a.statusid == stage_ids(doc).Applied then target = a.id break end
      end
      local out, err = dir .. "/../out.txt", dir .. "/../err.txt"
      local cmd = { server.PLAIN, "echo $$; exec env", server.shell_env(server.client_env(srv)) }
      if os.getenv("TRK_SANITIZE") then
        cmd[#cmd + 1] = "ASAN_OPTIONS=detect_leaks=1:exitcode=86"
      end
      for _, a in ipairs({ trk.bin, "rules", dir, "--apply", "--watch", "1s" }) do
        cmd[#cmd + 1] = q(a)
      end
      cmd[#cmd + 1] = ">" .. q(out) .. " 2>" .. q(err) .. " </dev/null"
      local pipe = io.popen(table.concat(cmd, " "), "r")
      local pid = tonumber(pipe:read("l"))
      local ok, e = pcall(function()
        -- the first pass: nothing at Offer changed since now
        wait_for("the first pass", function()
          local f = io.open(err)                   -- there once the shell has exec'd trk
          local text = f and f:read("a") or ""
          if f then f:close() end
          return text:find("journal:", 1, true)
        end, 10)
        local started = server.now()
        change(srv, target, "stage", "Offer")
        wait_for("the note", function() return notes(server.state(srv), "offer made")[target] end, 10)
        local left = started + 3 - server.now()
        if left > 0 then os.execute(string.format("sleep %.2f", left)) end
        local cpu = cpu_seconds(pid)
        local limit = os.getenv("TRK_SANITIZE") and 1.5 or 0.5
        assert.is_true(cpu < limit, string.format("%.2f s of CPU in about 3 s of watching", cpu))
      end)
      os.execute(server.PLAIN .. "kill -INT " .. pid .. " 2>/dev/null")
      local _, how, code = pipe:close()
      local stderr = trk.slurp(err)
      assert(ok, tostring(e) .. "\ntrk's stderr:\n" .. stderr)
      assert.are.same({ "exit", 130 }, { how, code }, stderr)
      assert.is_truthy(stderr:find("interrupted[^\n]*\n$"), stderr)   -- the last word
      -- several passes, one of which acted on the change, once
      local passes = select(2, stderr:gsub("journal: ", "")) + select(2, stderr:gsub("nothing to do\n", ""))
      assert.is_true(passes >= 3, stderr)
      assert.is_truthy(stderr:find("\n  offer%-note%s+%d+%s+1%s+2%s+0%s"), stderr)
      local by, n = notes(server.state(srv), "offer made")
      assert.are.same({ 1, 1 }, { n, by[target] })
      assert.are.equal("Yes", app_of(server.state(srv), target).custom["449"])
    end)
  end)
  describe("holds against rules that try to get around it", function()
    it("a rule that keeps tracker.connect from its top level still only plans", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["keep.lua"] = [[
local tracker = require "tracker"
local connect = tracker.connect
return {
  on = "applications",
  action = function(app, t)
    assert(tracker.transport == nil, "the raw transport is visible")
    assert(connect():add_note(app, "kept connect"))
  end,
}
]], ["early.lua"] = [[
local t = require("tracker").connect()
return { on = "jobs", action = function() end }
]] }
      local r = rules(srv, dir, "--since", SINCE)
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "cannot connect while it loads"), r.stderr)
      os.remove(dir .. "/early.lua")
      r = rules(srv, dir, "--since", SINCE)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(60, row(r, "keep").actions)
      local _, n = notes(server.state(srv), "kept connect")
      assert.are.equal(0, n)                         -- planned, not sent
    end)

    it("a rule failing after its own first write finds that write done when run again", function()
      local srv = server.start(DATA)
      -- the score changes the record (a new updated_at); then the rule fails, once
      local dir = rules_dir{ ["twostep.lua"] = [[
return {
  on = "applications",
  where = { stage = "Screening" },
  when = function(app) return app.custom["Recruiter Score"] ~= 7 or app.custom["Interview Note Sent"] ~= "Yes" end,
  action = function(app, t, ctx)
    t:set_custom_fields(app, { ["Recruiter Score"] = 7 })
    t:add_note(app, "two steps")
    if ctx.now < 1800000000 then error("not yet") end
    t:set_custom_fields(app, { ["Interview Note Sent"] = "Yes" })
  end,
}
]] }
      local first = rules(srv, dir, "--since", SINCE, "--apply", "--now", "2026-11-01T00:00:00Z")
      assert.are.equal(1, first.code, first.stderr)
      local n_screening = #screening(server.state(srv))
      assert.is_true(n_screening > 0)
      local again = rules(srv, dir, "--since", SINCE, "--apply", "--now", "2030-01-01T00:00:00Z")
      assert.are.equal(0, again.code, again.stderr)
      local by, n = notes(server.state(srv), "two steps")
      assert.are.equal(n_screening, n, again.stderr)
      for id, k in pairs(by) do assert.are.equal(1, k, "application " .. id) end
    end)

    it("a rule that sets a metatable on its record cannot stall the runner or other rules", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["a_meta.lua"] = [[
return {
  on = "candidates",
  action = function(c)
    c.id = nil
    c.updated_at = nil
    setmetatable(c, { __index = function() while true do end end })
  end,
}
]], ["b_good.lua"] = GOOD }
      local r = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, r.code, r.stderr)
      assert.is_true(all_good(server.state(srv)))
    end)

    it("a rule file whose top level loops is stopped by the budget", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["spin.lua"] = "while true do end\n" }
      local r = rules(srv, dir, "--rule-budget", "100000")
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "instruction budget exceeded"), r.stderr)
      assert.is_truthy(has(r.stderr, "spin.lua:1"), r.stderr)
    end)

    it("without credentials, a pass fails saying what to set, and its run is closed as failed", function()
      local srv = server.start(DATA)
      local dir = rules_dir{ ["good.lua"] = GOOD }
      local env = server.client_env(srv)
      env.TRACKER_APIKEY = nil
      env.TRACKER_API_TOKEN = nil             -- which would stand in for the key
      local r = trk.exec({ "rules", dir, "--since", SINCE, "--apply" }, { env = env })
      assert.are.equal(1, r.code, r.stderr)
      assert.is_truthy(has(r.stderr, "no widget API credentials: set TRACKER_APIKEY"), r.stderr)
      assert.is_nil(r.stderr:find("commands.lua", 1, true), r.stderr)
      local j = trk.exec({ "journal", "--state", dir .. "/.trk/state.db", "--json" })
      assert.are.equal("failed", json.decode(j.stdout:match("[^\n]+")).status, j.stdout)   -- a run a line
    end)
  end)
end)
