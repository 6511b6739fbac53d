-- import_firm.lua against `trk emulator`: a small firm's linked files planned, applied, applied
-- again (nothing made twice), and applied while being killed at random points (finished once).
local ex = dofile((os.getenv("TRK_ROOT") or ".") .. "/examples/migrations/spec_support.lua")
local trk = require "support.trk"
local server = require "support.server"

local q = trk.quote
local KILLS = tonumber(os.getenv("TRK_KILLS") or "") or 8

-- A copy of the example and its firm in a scratch folder (the run writes firm/failed/).
local function workdir()
  local dir = ex.tmpdir()
  assert(os.execute(("cp -r %s %s %s/"):format(q(ex.dir .. "/import_firm.lua"), q(ex.dir .. "/firm"),
                                             q(dir))))
  return dir
end

local function argv(apply)
  local a = { "run", "import_firm.lua" }
  for w in ex.slurp(ex.dir .. "/firm/grants"):gmatch("%S+") do a[#a + 1] = w end
  if apply then a[#a + 1] = "--apply" end
  a[#a + 1] = "--"
  a[#a + 1] = "firm"
  return a
end

local function run(s, dir, apply)
  return trk.exec(argv(apply), { cwd = dir, env = s.env })
end

-- What the firm became in the emulator, by the firm's own names: each record with the records
-- it links to, and how many times it is there.
local function firm_state(doc)
  local by = { clients = {}, contacts = {}, jobs = {}, candidates = {} }
  local out = { clients = {}, contacts = {}, jobs = {}, candidates = {}, applications = {},
                activities = {}, documents = {} }
  local function count(list, k, v)
    list[k] = list[k] or { n = 0 }
    list[k].n = list[k].n + 1
    for f, x in pairs(v or {}) do list[k][f] = x end
  end
  local people = { ["lena.novak@example.com"] = true, ["omar.haddad@example.com"] = true,
                   ["priya.raman@example.com"] = true, ["diego.marin@example.com"] = true,
                   ["hana.sato@example.com"] = true }
  local firm = { ["Northwind Traders"] = true, ["Bluefin Logistics"] = true,
                 ["Copper Kettle Foods"] = true }
  for _, c in ipairs(doc.clients) do
    by.clients[c.id] = c.name
    if firm[c.name] then count(out.clients, c.name, { phone = c.telephone, site = c.website }) end
  end
  for _, c in ipairs(doc.contacts) do
    by.contacts[c.id] = c.email
    if firm[by.clients[c.clientid] or ""] then
      count(out.contacts, c.email, { client = by.clients[c.clientid] })
    end
  end
  for _, j in ipairs(doc.jobs) do
    by.jobs[j.id] = j.name
    if firm[by.clients[j.clientid] or ""] then
      count(out.jobs, j.name, { client = by.clients[j.clientid], contact = by.contacts[j.contactid] })
    end
  end
  for _, c in ipairs(doc.candidates) do
    by.candidates[c.id] = c.email
    if people[c.email or ""] then count(out.candidates, c.email) end
  end
  local apps = {}
  for _, a in ipairs(doc.applications) do
    local job = by.jobs[a.opportunityid]
    if out.jobs[job or ""] then
      local k = by.candidates[a.resourceid] .. " → " .. job
      apps[a.id] = k
      count(out.applications, k)
    end
  end
  local subjects = { ["Kick-off"] = true, ["Intro call"] = true, ["Shift pattern"] = true,
                     ["CV received"] = true, ["First interview"] = true,
                     ["Reference check"] = true }
  for _, a in ipairs(doc.activities) do
    if subjects[a.subject] then
      count(out.activities, a.subject, { client = by.clients[a.clientid],
                                         contact = by.contacts[a.contactid],
                                         job = by.jobs[a.opportunityid],
                                         candidate = by.candidates[a.resourceid],
                                         application = apps[a.opportunityresourceid] })
    end
  end
  for _, d in ipairs(doc.documents or {}) do
    if d.filename == "lena-novak-cv.pdf" or d.filename == "diego-marin-offer.pdf" then
      count(out.documents, d.filename, { on = d.recordtype })
    end
  end
  return out
end

-- Every record of the firm is there once.
local function once_each(got)
  for kind, list in pairs(got) do
    for k, v in pairs(list) do assert.are.equal(1, v.n, kind .. " " .. k .. " is there " .. v.n .. " times") end
  end
end

describe("examples/migrations/import_firm.lua", function()
  teardown(ex.stop)

  it("plans counts and samples per type and changes nothing", function()
    if not ex.dry_by_default() then pending("trk run sends writes: no dry run in this build") return end
    local s = ex.start(20)
    local dir = workdir()
    local before = ex.state(s)
    local r = run(s, dir, false)
    assert.are.equal(0, r.code, r.stderr)
    for _, line in ipairs({ "clients (clients.csv) 3 rows: created 3, linked 0, mapped 0, failed 0",
                            "contacts (contacts.csv) 4 rows: created 4",
                            "jobs (jobs.csv) 4 rows: created 4",
                            "candidates (candidates.csv) 5 rows: created 5",
                            "applications (applications.csv) 6 rows: created 6",
                            "activities (activities.csv) 6 rows: created 6",
                            "documents (documents.csv) 2 rows: created 2",
                            "  job JB-1 'Warehouse Supervisor' (client CL-1, contact CO-1): created" }) do
      assert.is_truthy(r.stdout:find(line, 1, true), line .. "\n" .. r.stdout)
    end
    assert.are.same(firm_state(before), firm_state(ex.state(s)))
  end)

  it("moves the firm with every link right, and a second run makes nothing", function()
    local s = ex.start(20)
    local dir = workdir()
    local r = run(s, dir, true)
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local got = firm_state(ex.state(s))
    once_each(got)
    assert.are.same({ n = 1, client = "Northwind Traders" }, got.contacts["maya.patel@northwind.example"])
    assert.are.same({ n = 1, phone = "(312) 555-0140", site = "https://northwind.example" },
                    got.clients["Northwind Traders"])
    assert.are.same({ n = 1, client = "Bluefin Logistics", contact = "ines.duarte@bluefin.example" },
                    got.jobs["Fleet Coordinator"])
    assert.is_not_nil(got.applications["priya.raman@example.com → Fleet Coordinator"])
    local interview = got.activities["First interview"]
    assert.are.equal("lena.novak@example.com → Warehouse Supervisor", interview.application)
    assert.are.equal("lena.novak@example.com", interview.candidate)
    assert.are.equal("Bluefin Logistics", got.activities["Intro call"].client)
    assert.are.equal("ines.duarte@bluefin.example", got.activities["Intro call"].contact)
    -- an application's file is kept on its candidate
    assert.are.same({ n = 1, on = "R" }, got.documents["diego-marin-offer.pdf"])
    assert.are.same({ n = 1, on = "R" }, got.documents["lena-novak-cv.pdf"])
    for _, k in ipairs({ "clients", "contacts", "jobs", "candidates", "applications", "activities",
                         "documents" }) do
      local n = 0
      for _ in pairs(got[k]) do n = n + 1 end
      assert.are.equal(({ clients = 3, contacts = 4, jobs = 4, candidates = 5, applications = 6,
                          activities = 6, documents = 2 })[k], n, k)
    end
    -- the second run: every row is in the state store's map, nothing is sent
    local again = run(s, dir, true)
    assert.are.equal(0, again.code, again.stderr)
    assert.is_truthy(again.stdout:find("jobs (jobs.csv) 4 rows: created 0, linked 0, mapped 4, "
                                       .. "failed 0", 1, true), again.stdout)
    assert.is_truthy(again.stderr:find("0 writes", 1, true) or again.stderr:find("nothing", 1, true),
                     again.stderr)
    assert.are.same(got, firm_state(ex.state(s)))
  end)

  it("killed at random points " .. KILLS .. " times, finishes exactly once", function()
    -- each request takes 10 ms, so that kills land among the writes, not after them
    local function slow()
      local srv = server.start({ "--generate", "20", "--admin", "--timezone", "UTC",
                                 "--latency", "10" })
      srv.env = server.client_env(srv)
      return srv
    end
    local ref = slow()
    local t0 = server.now()
    assert.are.equal(0, run(ref, workdir(), true).code)
    local ref_secs = server.now() - t0
    local s = slow()
    local dir = workdir()
    local cmd = { "cd", q(dir), "&&", server.PLAIN, "exec env", server.shell_env(s.env) }
    if os.getenv("TRK_SANITIZE") then cmd[#cmd + 1] = "ASAN_OPTIONS=detect_leaks=0" end
    cmd[#cmd + 1] = q(trk.bin)
    for _, a in ipairs(argv(true)) do cmd[#cmd + 1] = q(a) end
    local line = table.concat(cmd, " ")
    math.randomseed(os.time())
    local function made()
      local n = 0
      for _, list in pairs(firm_state(ex.state(s))) do for _ in pairs(list) do n = n + 1 end end
      return n
    end
    local kills, partial, left = 0, 0, 1
    for _ = 1, KILLS * 3 do
      -- each kill somewhere in what is left of an uninterrupted run's time
      local delay = 0.02 + math.random() * ref_secs * 0.75 * math.max(left, 0.2)
      local finished = os.execute(("{ (%s) >/dev/null 2>&1 & pid=$!; sleep %.3f; kill -KILL $pid; "
                                   .. "wait $pid; } 2>/dev/null"):format(line, delay))
      if finished then break end
      kills = kills + 1
      local n = made()
      if n > 0 and n < 30 then partial = partial + 1 end    -- killed in the middle of the work
      left = 1 - n / 30
      if kills >= KILLS then break end
    end
    assert.is_true(partial >= 1, "no kill landed among the writes")
    local r = run(s, dir, true)
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local got = firm_state(ex.state(s))
    once_each(got)
    assert.are.same(firm_state(ex.state(ref)), got)
    local n = 0
    for _, list in pairs(got) do for _ in pairs(list) do n = n + 1 end end
    assert.are.equal(30, n)
    assert.are.same({ n = 1, client = "Bluefin Logistics", contact = "ines.duarte@bluefin.example" },
                    got.jobs["Fleet Coordinator"])
  end)
end)
