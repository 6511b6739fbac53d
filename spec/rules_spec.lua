-- tracker.rules: checking rule tables, loading rule files and directories, matching records.
local rules = require "tracker.rules"
local trk = require "support.trk"

local function noop() end

-- A valid rule definition with `changes` applied (false removes a field).
local function def(changes)
  local d = { on = "applications", action = noop }
  for k, v in pairs(changes or {}) do
    if v == false then d[k] = nil else d[k] = v end
  end
  return d
end

local function check_error(d, path)
  local ok, e = pcall(rules.check, d, path or "rules/x.lua")
  assert.is_false(ok, "expected rules.check to raise")
  return e
end

describe("rules.check", function()
  it("fills in the defaults: the file's name, no filter, scan = changes", function()
    local r = rules.check(def(), "rules/interview_note.lua")
    assert.are.equal("interview_note", r.name)
    assert.are.equal("applications", r.on)
    assert.are.same({}, r.where)
    assert.are.equal("changes", r.scan)
    assert.is_nil(r.when)
    assert.are.equal(noop, r.action)
    assert.are.equal("rules/interview_note.lua", r.file)
  end)

  it("keeps what the rule says, records becoming ids", function()
    local when = function() return true end
    local r = rules.check(def{ name = "n", where = { stage = "Interview", job = { kind = "job", id = 7 },
                                                     candidate = 9 },
                                scan = "all", when = when }, "r.lua")
    assert.are.same({ stage = "Interview", job = 7, candidate = 9 }, r.where)
    assert.are.equal("all", r.scan)
    assert.are.equal(when, r.when)
    assert.are.equal("n", r.name)
  end)

  it("does not keep the caller's where table", function()
    local where = { stage = "Offer" }
    local r = rules.check(def{ where = where }, "r.lua")
    where.stage = "Applied"
    assert.are.equal("Offer", r.where.stage)
  end)

  it("refuses a file that returns no table", function()
    assert.are.equal("rules/x.lua: a rule file must return a table (name, on, where, scan, when, "
                     .. "action), got nil", check_error(nil))
  end)

  it("names an unknown field and the closest one", function()
    assert.are.equal("rules/x.lua: unknown rule field 'acton' (did you mean 'action'?); a rule has "
                     .. "name, on, where, scan, when, action", check_error(def{ acton = noop }))
    assert.matches("unknown rule field 1;", check_error({ on = "jobs", action = noop, "x" }))
  end)

  it("explains a bad or missing 'on'", function()
    assert.are.equal("examples/rules/x.lua: rule field 'on' is 'application'; use one of "
                     .. "applications, candidates, jobs, clients, contacts, leads, placements "
                     .. "(did you mean 'applications'?)",
                     check_error(def{ on = "application" }, "examples/rules/x.lua"))
    assert.are.equal("rules/x.lua: rule field 'on' is missing; use one of applications, "
                     .. "candidates, jobs, clients, contacts, leads, placements",
                     check_error(def{ on = false }))
    assert.matches("rule field 'on' is 'activities'; use one of", check_error(def{ on = "activities" }))
  end)

  it("checks where: a table, keys of the rule's kind, sensible values", function()
    assert.are.equal("rules/x.lua: rule field 'where' must be a table of filters, got string",
                     check_error(def{ where = "Interview" }))
    assert.are.equal("rules/x.lua: rule field 'where' has 'stgae', which applications cannot "
                     .. "filter on; use candidate, job, stage (did you mean 'stage'?)",
                     check_error(def{ where = { stgae = "Interview" } }))
    assert.are.equal("rules/x.lua: rule field 'where' has 'stage', which candidates cannot "
                     .. "filter on; use status", check_error(def{ on = "candidates",
                                                                  where = { stage = "Interview" } }))
    assert.are.equal("rules/x.lua: rule field 'where' has 'updated_after', which jobs cannot "
                     .. "filter on; use state",
                     check_error(def{ on = "jobs", where = { updated_after = "2026-01-01" } }))
    assert.are.equal("rules/x.lua: rule field 'where.state' must be 'open', 'won' or 'closed', "
                     .. "got 'opne' (did you mean 'open'?)",
                     check_error(def{ on = "jobs", where = { state = "opne" } }))
    assert.are.equal("rules/x.lua: rule field 'where.job' must be a job id or record, got 'x'",
                     check_error(def{ where = { job = "x" } }))
    assert.are.equal("rules/x.lua: rule field 'where.stage' must be a stage name or id, got 0",
                     check_error(def{ where = { stage = 0 } }))
    assert.are.equal("rules/x.lua: rule field 'where.status' must be a candidate status name, "
                     .. "got 3", check_error(def{ on = "candidates", where = { status = 3 } }))
  end)

  it("checks scan, when, action and name", function()
    assert.are.equal("rules/x.lua: rule field 'scan' is 'al'; use 'changes' (records changed "
                     .. "since the last run) or 'all' (every record, every run) (did you mean 'all'?)",
                     check_error(def{ scan = "al" }))
    assert.are.equal("rules/x.lua: rule field 'when' must be a function(record, ctx), got boolean",
                     check_error(def{ when = true }))
    assert.are.equal("rules/x.lua: rule field 'action' is missing: a function(record, t, ctx) "
                     .. "that makes the writes", check_error(def{ action = false }))
    assert.are.equal("rules/x.lua: rule field 'action' must be a function(record, t, ctx), got "
                     .. "string", check_error(def{ action = "note" }))
    assert.are.equal("rules/x.lua: rule field 'name' must be a non-empty string, got ' '",
                     check_error(def{ name = " " }))
  end)
end)

describe("rules.load", function()
  local dir
  before_each(function() dir = trk.tmpdir() end)
  after_each(trk.cleanup)

  it("runs the file in the environment it is given", function()
    trk.write(dir .. "/note.lua", 'return { on = "jobs", where = { state = STATE }, action = function() end }')
    local r = rules.load(dir .. "/note.lua", { STATE = "won" })
    assert.are.equal("note", r.name)
    assert.are.equal("won", r.where.state)
    assert.are.equal(dir .. "/note.lua", r.file)
  end)

  it("reports syntax errors with the file and line", function()
    trk.write(dir .. "/bad.lua", "return {\n  on = 'jobs'\n  action = nil,\n}\n")
    local ok, e = pcall(rules.load, dir .. "/bad.lua", {})
    assert.is_false(ok)
    assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/bad%.lua:3: '}' expected", e)
  end)

  it("reports errors raised while the file runs, and globals it lacks", function()
    trk.write(dir .. "/io.lua", "local f = io.open('x')\nreturn {}\n")
    local ok, e = pcall(rules.load, dir .. "/io.lua", {})
    assert.is_false(ok)
    assert.matches("/io%.lua:1: attempt to index a nil value %(global 'io'%)", e)
  end)

  it("checks what the file returns", function()
    trk.write(dir .. "/half.lua", "return { on = 'jobs' }\n")
    local ok, e = pcall(rules.load, dir .. "/half.lua", {})
    assert.is_false(ok)
    assert.matches("/half%.lua: rule field 'action' is missing", e)
  end)

  it("says when the file cannot be read", function()
    local ok, e = pcall(rules.load, dir .. "/none.lua", {})
    assert.is_false(ok)
    assert.matches("/none%.lua: cannot read the rule: ", e)
  end)

  it("reads through the reader it is given", function()
    local asked
    local r = rules.load("virtual/r.lua", {}, function(path)
      asked = path
      return "return { on = 'candidates', action = function() end }"
    end)
    assert.are.equal("virtual/r.lua", asked)
    assert.are.equal("r", r.name)
    assert.are.equal("candidates", r.on)
  end)

  it("wants an environment table", function()
    assert.has_error(function() rules.load("x.lua") end,
                     "rules.load: argument 2 must be the environment table for the rule")
  end)
end)

describe("rules.load_dir", function()
  local dir
  before_each(function() dir = trk.tmpdir() end)
  after_each(trk.cleanup)

  local RULE = "return { on = '%s', action = function() end%s }"

  it("loads every rule file sorted by name, leaving specs and other files", function()
    trk.write(dir .. "/b_rule.lua", RULE:format("jobs", ""))
    trk.write(dir .. "/a_rule.lua", RULE:format("candidates", ""))
    trk.write(dir .. "/a_rule_spec.lua", "error('specs are not rules')")
    trk.write(dir .. "/README.md", "not lua")
    local seen = {}
    local list = rules.load_dir(dir .. "/", function(path)
      seen[#seen + 1] = path
      return {}
    end)
    assert.are.same({ dir .. "/a_rule.lua", dir .. "/b_rule.lua" }, seen)
    assert.are.equal(2, #list)
    assert.are.equal("a_rule", list[1].name)
    assert.are.equal("b_rule", list[2].name)
  end)

  it("refuses two rules of one name", function()
    trk.write(dir .. "/one.lua", RULE:format("jobs", ", name = 'same'"))
    trk.write(dir .. "/two.lua", RULE:format("jobs", ", name = 'same'"))
    local ok, e = pcall(rules.load_dir, dir, function() return {} end)
    assert.is_false(ok)
    assert.are.equal(dir .. "/two.lua: rule name 'same' is already used by " .. dir
                     .. "/one.lua; names must be unique in a directory", e)
  end)

  it("uses the lister and reader it is given", function()
    local files = { ["d/x.lua"] = RULE:format("jobs", "") }
    local list = rules.load_dir("d", function() return {} end,
                                function(p) return files[p] end,
                                function(d) assert.are.equal("d", d) return { "x.lua", "y.txt" } end)
    assert.are.equal("x", list[1].name)
  end)

  it("says when the directory cannot be listed", function()
    local ok, e = pcall(rules.load_dir, dir .. "/missing", function() return {} end)
    assert.is_false(ok)
    assert.matches("/missing: cannot list the directory", e)
  end)

  it("loads the example rules", function()
    local list = rules.load_dir("examples/rules", function() return { require = require, log = {} } end)
    local names = {}
    for i, r in ipairs(list) do names[i] = r.name end
    assert.are.same({ "duplicate-email", "interview-note", "placement-end", "score-routing",
                      "source-priority", "sponsorship-knockout", "stuck-reminder" }, names)
  end)
end)

describe("rules.stream_filter", function()
  local function rule(where, on)
    return rules.check(def{ on = on or "applications", where = where }, "r.lua")
  end

  it("keeps the filters every rule shares", function()
    local f = rules.stream_filter{ rule{ stage = "Interview", job = 7 }, rule{ stage = "interview" } }
    assert.are.same({ stage = "Interview" }, f)
  end)

  it("drops a filter the rules disagree on or one rule lacks", function()
    assert.are.same({}, rules.stream_filter{ rule{ job = 7 }, rule{ job = 8 } })
    assert.are.same({}, rules.stream_filter{ rule{ stage = "Offer" }, rule{} })
    assert.are.same({}, rules.stream_filter{ rule{ job = 7 }, rule{} })
    assert.are.same({ job = 7 }, rules.stream_filter{ rule{ job = 7 } })
  end)

  it("keeps the stages of rules that each name a different one, as a list of them", function()
    assert.are.same({ stage = { "Offer", "Interview" } },
                    rules.stream_filter{ rule{ stage = "Offer" }, rule{ stage = "Interview" },
                                         rule{ stage = "offer" } })
    assert.are.same({ stage = { "Offer", 5 } },
                    rules.stream_filter{ rule{ stage = "Offer", job = 7 }, rule{ stage = 5 } })
  end)

  it("is empty for no rules, and refuses rules on different kinds", function()
    assert.are.same({}, rules.stream_filter{})
    local ok, e = pcall(rules.stream_filter, { rule{}, rule(nil, "jobs") })
    assert.is_false(ok)
    assert.matches("one stream serves one kind", e)
  end)
end)

describe("rules.streams", function()
  local function rule(on, where, name)
    return rules.check(def{ on = on, where = where, name = name }, "r.lua")
  end

  it("gives one stream per kind with its shared filter", function()
    local a = rule("applications", { stage = "Offer" }, "a")
    local c = rule("candidates", nil, "c")
    local s = rules.streams{ c, a }
    assert.are.equal(2, #s)
    assert.are.equal("applications", s[1].on)
    assert.are.same({ stage = "Offer" }, s[1].filter)
    assert.are.same({ a }, s[1].rules)
    assert.are.equal("candidates", s[2].on)
    assert.are.same({ c }, s[2].rules)
  end)

  it("splits job rules by state, which records do not show", function()
    local open1, open2 = rule("jobs", { state = "open" }, "o1"), rule("jobs", { state = "open" }, "o2")
    local won, any = rule("jobs", { state = "won" }, "w"), rule("jobs", nil, "any")
    local s = rules.streams{ open1, won, open2, any }
    assert.are.equal(3, #s)
    assert.are.same({ state = "open" }, s[1].filter)
    assert.are.same({ open1, open2 }, s[1].rules)
    assert.are.same({ state = "won" }, s[2].filter)
    assert.are.same({}, s[3].filter)
    assert.are.same({ any }, s[3].rules)
  end)
end)

describe("rules.matches", function()
  local app = { kind = "application", id = 70001, stage = "Interview", stage_id = 5, job_id = 1001,
                candidate_id = 188001 }
  local function rule(where, on)
    return rules.check(def{ on = on or "applications", where = where }, "r.lua")
  end

  it("matches a stage by name in any case, or by id", function()
    assert.is_true(rules.matches(rule{ stage = "interview" }, app))
    assert.is_true(rules.matches(rule{ stage = 5 }, app))
    assert.is_false(rules.matches(rule{ stage = "Offer" }, app))
    assert.is_false(rules.matches(rule{ stage = 6 }, app))
  end)

  it("matches the job and candidate by id", function()
    assert.is_true(rules.matches(rule{ job = 1001, candidate = { id = 188001 } }, app))
    assert.is_false(rules.matches(rule{ job = 1002 }, app))
    assert.is_false(rules.matches(rule{ candidate = 188002 }, app))
  end)

  it("matches a candidate's status in any case", function()
    local cand = { kind = "candidate", id = 1, status = "Active" }
    assert.is_true(rules.matches(rule({ status = "active" }, "candidates"), cand))
    assert.is_false(rules.matches(rule({ status = "Placed" }, "candidates"), cand))
    assert.is_false(rules.matches(rule({ status = "Placed" }, "candidates"), { id = 2 }))
  end)

  it("matches everything without a filter", function()
    assert.is_true(rules.matches(rule(), app))
  end)
end)

describe("rules.invoke", function()
  it("runs the action when `when` says so, and answers whether it did", function()
    local calls = {}
    local r = rules.check(def{
      when = function(rec, ctx) calls[#calls + 1] = "when " .. rec.id .. " " .. ctx.rule; return rec.id > 1 end,
      action = function(rec, t, ctx) calls[#calls + 1] = "action " .. rec.id .. " " .. t .. " " .. ctx.rule end,
    }, "r.lua")
    assert.is_false(rules.invoke(r, { id = 1 }, "T", { rule = "r" }))
    assert.is_true(rules.invoke(r, { id = 2 }, "T", { rule = "r" }))
    assert.are.same({ "when 1 r", "when 2 r", "action 2 T r" }, calls)
  end)

  it("runs the action for every record without `when`", function()
    local n = 0
    local r = rules.check(def{ action = function() n = n + 1 end }, "r.lua")
    assert.is_true(rules.invoke(r, {}, nil, {}))
    assert.are.equal(1, n)
  end)

  it("lets errors through to the caller", function()
    local r = rules.check(def{ action = function() error("boom") end }, "r.lua")
    assert.has_error(function() rules.invoke(r, {}, nil, {}) end)
  end)
end)

-- The runner over records that carry no last-updated time (tracker-api.md §9.1): a change is
-- the record's content, and a new rule's first run from now notes what an unwindowed stream
-- sends instead of acting on it.
describe("rules.run over records without a time", function()
  local tracker = require "tracker"
  local emulator = require "tracker.emulator"

  local function client()
    local emu = emulator.new({ apikey = "k", username = "u@example.com", api_token = "tok",
                               data = emulator.generate({ seed = 4, candidates = 12 }) })
    return tracker.connect({ transport = emu, rate_limit = false, timezone = "UTC",
                             apikey = "k", username = "u@example.com", api_token = "tok",
                             stages = emu:stages() }), emu
  end

  -- One pass of `rule` with a handled store kept in `store` across passes.
  local function pass(rule, t, store, how)
    local acted = {}
    local r = rules.check({ on = rule.on, where = rule.where, action = function(rec)
      acted[#acted + 1] = rec.id
    end }, "rules/x.lua")
    local o = {
      since = function() return how and how.since or 0 end,
      handled = function(_, kind, id, change) return store[kind .. id] == change end,
      after = function(scope, ok, matched)
        if ok and matched then store[scope.key] = scope.change end
      end,
      before = function(_, kind, id, change) return { key = kind .. id, change = change } end,
      baseline = how and how.baseline and function() return true end,
      mark = function(_, kind, id, change) store[kind .. id] = change end,
    }
    rules.run({ r }, t, o)
    table.sort(acted)
    return acted
  end

  it("acts once per content of a record, and again when it changes", function()
    local t = client()
    local store = {}
    local first = pass({ on = "candidates" }, t, store)
    assert.are.equal(12, #first)
    assert.is_nil((select(2, t:candidates()):next()).updated_at)     -- no time to go by
    assert.are.same({}, pass({ on = "candidates" }, t, store))
    assert.is_true(t:update_candidate(first[3], { job_title = "Changed" }))
    assert.are.same({ first[3] }, pass({ on = "candidates" }, t, store))
    assert.are.same({}, pass({ on = "candidates" }, t, store))
  end)

  it("notes, without acting, what a stream the server did not window sends a new rule", function()
    local t = client()
    local store = {}
    local _, st = t:applications()
    assert(st:next())
    assert.is_false(st:windowed())                                  -- /Search ignores filters
    st:close()
    assert.are.same({}, pass({ on = "applications" }, t, store, { baseline = true }))
    local some = next(store)
    assert.is_truthy(some, "nothing was noted")
    assert.are.same({}, pass({ on = "applications" }, t, store))
    local app = select(2, t:applications()):next()
    assert.is_true(t:move_to_stage(app, app.stage == "Offer" and "Interview" or "Offer"))
    assert.are.same({ app.id }, pass({ on = "applications" }, t, store))
  end)
end)

describe("rules on placements", function()
  it("filter by candidate and job, and nothing else", function()
    local r = rules.check(def{ on = "placements", where = { job = { kind = "job", id = 1001 },
                                                            candidate = 188001 } }, "r.lua")
    assert.are.same({ job = 1001, candidate = 188001 }, r.where)
    local placement = { kind = "placement", id = 70001, status = "Working", job_id = 1001,
                        candidate_id = 188001 }
    assert.is_true(rules.matches(r, placement))
    assert.is_false(rules.matches(r, { kind = "placement", id = 70002, job_id = 1002,
                                       candidate_id = 188001 }))
    assert.are.equal("rules/x.lua: rule field 'where' has 'stage', which placements cannot "
                     .. "filter on; use candidate, job",
                     check_error(def{ on = "placements", where = { stage = "Working" } }))
  end)

  it("get a stream of their own, after the other kinds", function()
    local p = rules.check(def{ on = "placements", where = { job = 1001 }, name = "p" }, "p.lua")
    local a = rules.check(def{ name = "a" }, "a.lua")
    local s = rules.streams{ p, a }
    assert.are.same({ "applications", "placements" }, { s[1].on, s[2].on })
    assert.are.same({ job = 1001 }, s[2].filter)
    assert.are.same({ p }, s[2].rules)
  end)
end)

describe("tracker.util.fingerprint", function()
  local util = require "tracker.util"

  -- the runner keys a change by it in the state store's handled table: the same record must
  -- give the same digits in every version of trk, or a new version would act on changes the
  -- last one handled (these are FNV-1a over the canonical text, as trk has always computed)
  it("gives a record the digits earlier versions of trk gave it", function()
    assert.are.equal("82ef125212dcf2a8", util.fingerprint({ id = 1 }, "raw"))
    assert.are.equal("518908632eb9659c",
                     util.fingerprint({ id = 2, name = "é\0x", custom = { a = 1.5, b = true },
                                        raw = { ignored = true } }, "raw"))
  end)
end)
