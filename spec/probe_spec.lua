-- trk doctor --probe against `trk emulator` in each dialect: the facts it names, the requests it
-- makes (few, and reads only: the emulator's own request log is checked), and the probe file a
-- later `trk rules` dry run starts from (docs/commands.md, trk doctor --probe).
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"
local doctor = require "trk.doctor"

local PROBE_FILE = ".trk/probe.json"
local BUDGET = 20
-- What the probe may send: the widget verbs that read, and REST reads (the token exchange and
-- the application search are POSTs that change nothing).
local WIDGET_READS = { checkLogon = true, getRecords = true, getIndividualRecord = true,
                       getSettingsData = true }
local REST_POSTS = { ["/api/Auth/ExchangeToken"] = true,
                     ["/api/v1/OpportunityResource/PagedSearch"] = true,
                     ["/api/v1/OpportunityResource/Search"] = true }

-- Every variable trk reads, empty (unset) unless the emulator's: no TRACKER_STAGES, as a user
-- meeting a database for the first time has none.
local function env_for(s)
  local env = {}
  for _, name in ipairs(doctor.VARIABLES) do env[name] = "" end
  for k, v in pairs(server.client_env(s)) do env[k] = v end
  env.TRACKER_STAGES = ""
  return env
end

-- The requests the emulator logged (--verbose) since `from` lines: { method, path } each.
local function served(s, from)
  local list, n = {}, 0
  for line in io.lines(s.errfile) do
    local method, path = line:match("^(%u+) (/%S*) %d+")
    if method then
      n = n + 1
      if n > from then list[#list + 1] = { method = method, path = path } end
    end
  end
  return list, n
end

local function probe(s, dir)
  local _, before = served(s, math.huge)
  local r = trk.exec({ "doctor", "--probe", "--json" }, { cwd = dir, env = env_for(s) })
  assert.are.equal(0, r.code, r.stdout .. r.stderr)
  local doc = json.decode(r.stdout)
  doc.served = served(s, before)
  doc.by = {}
  for _, f in ipairs(doc.facts) do doc.by[f.fact] = f end
  return doc
end

local function read_file(dir)
  local f = assert(io.open(dir .. "/" .. PROBE_FILE))
  local doc = json.decode(f:read("a"))
  f:close()
  return doc
end

local function write_file(dir, doc)
  os.execute("mkdir -p " .. trk.quote(dir .. "/.trk"))
  trk.write(dir .. "/" .. PROBE_FILE, type(doc) == "string" and doc or json.encode(doc))
end

local function assert_reads_only(list)
  for _, r in ipairs(list) do
    local verb = r.path:match("^/api/widget/(%w+)$")
    if verb then
      assert.is_true(WIDGET_READS[verb] or false, "a widget write: " .. r.path)
    elseif r.method ~= "GET" then
      assert.is_true(r.method == "POST" and REST_POSTS[r.path] or false,
                     "a REST write: " .. r.method .. " " .. r.path)
    end
  end
end

-- A rules project: one rule on candidates, one on the applications of a stage.
local RULES = {
  ["high_score.lua"] = [[
return { name = "high-score", on = "candidates",
  when = function(c) return (c.custom["Score"] or 0) > 80 end,
  action = function(c, t) assert(t:add_note(c, "high score")) end }
]],
  ["interviews.lua"] = [[
return { name = "interviews", on = "applications", where = { stage = "Interview" },
  action = function(a, t) assert(t:add_note(a, "at interview")) end }
]],
}

-- A `trk rules` dry run from dir: its plan (stdout), how many requests it made, its stderr.
local function dry_run(s, dir)
  local rules = dir .. "/rules"
  os.execute("rm -rf " .. trk.quote(rules .. "/.trk"))
  local r = trk.exec({ "rules", "rules", "--since", "2000-01-01T00:00:00Z", "--verbose" },
                     { cwd = dir, env = env_for(s) })
  assert.are.equal(0, r.code, r.stderr)
  local n = tonumber(r.stderr:match("trk: (%d+) HTTP requests?,"))
  return r.stdout, assert(n, r.stderr), r.stderr
end

describe("trk doctor --probe", function()
  local evidence, rich

  setup(function()
    evidence = server.start({ "--verbose" })
    rich = server.start({ "--verbose", "--dialect", "rich" })
  end)

  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("names what the evidence dialect does differently, in few requests, all reads", function()
    local dir = trk.tmpdir()
    local doc = probe(evidence, dir)
    local by = doc.by
    assert.are.equal("ok", by.credentials.status, by.credentials.seen)
    assert.matches("apikey alone accepted", by.credentials.seen)
    assert.are.equal("differs", by["item times"].status)
    assert.matches("job none, candidate none, activity yes", by["item times"].seen)
    assert.are.equal("differs", by["widget page"].status)
    assert.matches("got 100 a page", by["widget page"].seen)
    assert.are.equal("differs", by.stages.status)
    assert.matches("no opportunityResourceStatuses", by.stages.seen)
    assert.matches("learns stages from the applications", by.stages.trk_will)
    assert.are.equal("differs", by["search route"].status)
    assert.matches("Search answers", by["search route"].seen)
    assert.are.equal("differs", by["REST page"].status)
    assert.matches("got 10 a page", by["REST page"].seen)
    assert.are.equal("differs", by["tag column"].status)
    assert.are.equal("ok", by["custom fields"].status)
    assert.matches("Score %(Number%)", by["custom fields"].seen)
    assert.are.equal("ok", by["rate budget"].status)
    for _, f in ipairs(doc.facts) do
      assert.is_truthy(({ ok = 1, differs = 1, unknown = 1 })[f.status], f.fact)
      if f.status ~= "ok" then assert.is_string(f.trk_will, f.fact) end
    end
    assert.is_true(#doc.served <= BUDGET, #doc.served .. " requests")
    assert.is_true(#doc.requests <= BUDGET)
    -- what the probe read, and at most a prefetched page a stream more that it closed unread
    -- (the server may or may not have seen it before the close)
    assert.is_true(#doc.requests <= #doc.served and #doc.served <= #doc.requests + 3,
                   #doc.requests .. " read, " .. #doc.served .. " served")
    assert_reads_only(doc.served)
  end)

  it("finds the rich dialect as trk expects, in few requests, all reads", function()
    local doc = probe(rich, trk.tmpdir())
    for _, name in ipairs({ "credentials", "item times", "widget page", "stages", "search route",
                            "REST page", "tag column", "custom fields", "rate budget" }) do
      assert.are.equal("ok", doc.by[name].status, name .. ": " .. doc.by[name].seen)
    end
    assert.matches("PagedSearch", doc.by["search route"].seen)
    assert.matches("apikey alone refused", doc.by.credentials.seen)
    assert.is_true(#doc.served <= BUDGET, #doc.served .. " requests")
    assert_reads_only(doc.served)
  end)

  it("prints a table with a row a fact, and the file it wrote", function()
    local dir = trk.tmpdir()
    local r = trk.exec({ "doctor", "--probe" }, { cwd = dir, env = env_for(evidence) })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("\n  ≠  widget page      asked 500, got 100 a page", r.stdout)
    assert.matches("\n  ✓  credentials      ", r.stdout)
    assert.matches("wrote %.trk/probe%.json\n$", r.stdout)
    local q = trk.exec({ "doctor", "--probe", "--quiet" }, { cwd = dir, env = env_for(evidence) })
    assert.is_nil(q.stdout:find("✓", 1, true), q.stdout)       -- only what differs or is unknown
    assert.matches("≠  search route", q.stdout)
  end)

  it("keeps what it learnt keyed by the database, with no secret", function()
    local dir = trk.tmpdir()
    probe(evidence, dir)
    local doc = read_file(dir)
    assert.are.equal(1, doc.trk_probe)
    assert.are.equal(1, #doc.databases)
    local e = doc.databases[1]
    assert.are.equal(("widget=%s rest=%s user=%s"):format(evidence.url, evidence.url,
                                                           server.secrets.username), e.database)
    assert.matches("^%x%x%x%x%x%x%x%x$", e.key)
    assert.are.equal(100, e.widget_page_cap)
    assert.are.equal(10, e.rest_page_cap)
    assert.are.equal("Search", e.search_route)
    assert.are.equal("seen", e.stage_source)
    assert.is_false(e.tag_column)
    assert.is_false(e.item_times.candidate)
    assert.are.equal("", trk.scan_dir(dir))
  end)

  it("lets a later dry run start from it: fewer requests, the same plan", function()
    local dir = (trk.dir_with(RULES, "project/rules"):gsub("/rules$", ""))
    local plan, without = dry_run(evidence, dir)
    probe(evidence, dir)
    local plan2, with = dry_run(evidence, dir)
    assert.are.equal(plan, plan2)
    assert.is_true(with < without, ("%d requests with the probe, %d without"):format(with, without))
  end)

  it("is not used for another database (another key at the same URL and user)", function()
    local dir = (trk.dir_with(RULES, "project/rules"):gsub("/rules$", ""))
    local _, without = dry_run(evidence, dir)
    probe(evidence, dir)
    local doc = read_file(dir)
    doc.databases[1].key = "00000000"
    write_file(dir, doc)
    local _, n = dry_run(evidence, dir)
    assert.are.equal(without, n)
  end)

  it("is refreshed by a second probe, one entry a database", function()
    local dir = trk.tmpdir()
    probe(evidence, dir)
    local doc = read_file(dir)
    doc.databases[1].widget_page_cap = 7
    doc.databases[1].probed_at = "2026-01-01T00:00:00Z"
    doc.databases[2] = { database = "widget=https://other rest=https://other user=x", key = "-",
                         probed_at = os.date("!%Y-%m-%dT%H:%M:%SZ"), widget_page_cap = 50 }
    write_file(dir, doc)
    probe(evidence, dir)
    local again = read_file(dir)
    assert.are.equal(doc.salt, again.salt)
    assert.are.equal(2, #again.databases)             -- the other database's entry stays
    assert.are.equal(100, again.databases[1].widget_page_cap)
    assert.are_not.equal("2026-01-01T00:00:00Z", again.databases[1].probed_at)
    assert.are.equal(50, again.databases[2].widget_page_cap)
  end)

  it("gives a script's client the stages the applications showed it", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/stages.lua", [[
local tracker = require "tracker"
local t = tracker.connect()
print(#assert(t:stages()), t:stats().probed)
]])
    local before = trk.exec({ "run", "stages.lua" }, { cwd = dir, env = env_for(evidence) })
    assert.are.equal("0\tnil\n", before.stdout, before.stderr)
    local doc = probe(evidence, dir)
    local seen = #read_file(dir).databases[1].stages
    assert.is_true(seen > 0, doc.by.stages.seen)
    local after = trk.exec({ "run", "stages.lua" }, { cwd = dir, env = env_for(evidence) })
    assert.are.equal(seen .. "\ttrue\n", after.stdout, after.stderr)
  end)

  it("ignores an entry older than 90 days, saying so in one line", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/stages.lua", [[
local tracker = require "tracker"
print(tracker.connect():stats().probed)
]])
    probe(evidence, dir)
    local doc = read_file(dir)
    doc.databases[1].probed_at = "2020-01-01T00:00:00Z"
    write_file(dir, doc)
    local r = trk.exec({ "run", "stages.lua" }, { cwd = dir, env = env_for(evidence) })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("nil\n", r.stdout)
    assert.matches("^trk: warning: %.trk/probe%.json: the probe of widget=%S+ rest=%S+ user=%S+ is "
                   .. "%d+ days old: ignored; run trk doctor %-%-probe to refresh it\n", r.stderr)
  end)

  it("reports the 429 answers and the Retry-After a rate budget gave", function()
    local limited = server.start({ "--verbose", "--rate-limit", "4/min" })
    local doc = probe(limited, trk.tmpdir())
    local rate = doc.by["rate budget"]
    assert.are.equal("differs", rate.status, rate.seen)
    assert.matches("answered 429, Retry%-After %d+ s", rate.seen)
    assert.matches("Retry%-After", rate.trk_will)
    assert.is_true(#doc.served <= BUDGET, #doc.served .. " requests")
  end)

  it("warns in one line and goes on when the file is corrupt", function()
    local dir = (trk.dir_with(RULES, "project/rules"):gsub("/rules$", ""))
    local plan = dry_run(evidence, dir)
    write_file(dir, "{ not json")
    local plan2, _, err = dry_run(evidence, dir)
    assert.are.equal(plan, plan2)
    local warnings = {}
    for line in err:gmatch("[^\n]+") do
      if line:find("probe.json", 1, true) then warnings[#warnings + 1] = line end
    end
    assert.are.same({ "trk: warning: .trk/probe.json is not a probe file trk can read (not "
                      .. "JSON): ignored; run trk doctor --probe to write it again" }, warnings)
  end)
end)
