-- migrate.linked: CSV files that refer to each other by the source system's ids, imported in
-- the order of their references, against the in-process emulator. (The example of a whole
-- firm, run with trk twice and killed at random points: examples/migrations/import_firm_spec.)
local tracker = require "tracker"
local emulator = require "tracker.emulator"
local migrate = require "tracker.migrate"
local trk = require "support.trk"

local secrets = require "support.secrets"
local KEY, USER, TOKEN = secrets.apikey, secrets.username, secrets.api_token

-- A fresh emulator with a few generated records, and a client of it; dry: writes are planned
-- (a hook that answers nothing), not sent.
local function fresh(dry)
  local emu = emulator.new({ apikey = KEY, username = USER, api_token = TOKEN,
                             data = emulator.generate({ candidates = 10, seed = 5 }) })
  local writes = {}
  local opts = { transport = emu, rate_limit = false, timezone = false, stages = emu:stages() }
  if dry then return emu, tracker.connect(opts, tracker.sinks.plan(writes)), writes end
  opts.hook = function(action, send)
    writes[#writes + 1] = action
    return send()
  end
  return emu, tracker.connect(opts), writes
end

-- A folder of CSV files: { ["name.csv"] = text }, and a folder `failed` for failure files.
local function folder(files)
  local dir = trk.tmpdir()
  assert(os.execute("mkdir " .. trk.quote(dir .. "/failed")))
  for name, text in pairs(files) do trk.write(dir .. "/" .. name, text) end
  return dir
end

local FILES = {
  ["clients.csv"] = "ClientID,Company,Phone\nC1,Acme Anvils,(312) 555-0100\nC2,Zenith Zips,\n",
  ["contacts.csv"] = "ContactID,ClientID,First,Last,Email\n"
                     .. "N1,C1,Ada,Stone,ada.stone@acme.example\n"
                     .. "N2,C2,Ben,Ortiz,ben.ortiz@zenith.example\n"
                     .. "N3,C1,Cy,Lund,cy.lund@acme.example\n",
  ["jobs.csv"] = "JobID,ClientID,ContactID,Title\nJ1,C1,N1,Anvil Tester\nJ2,C2,N2,Zip Fitter\n",
  ["candidates.csv"] = "CandidateID,First,Last,Email\nR1,Dee,Park,dee.park@example.com\n"
                       .. "R2,Eli,Moss,eli.moss@example.com\n",
  ["applications.csv"] = "AppID,CandidateID,JobID\nA1,R1,J1\nA2,R2,J1\nA3,R2,J2\n",
  ["activities.csv"] = "ActID,On,RecordID,Type,Subject\nT1,contact,N2,Call,Intro\n"
                       .. "T2,application,A1,Meeting,First interview\nT3,job,J2,Note,Rates agreed\n",
}

-- The set describing FILES in dir.
local function firm(dir, extra)
  local set = {
    dir = dir,
    clients = { file = "clients.csv", id = "ClientID",
                header = { Company = "name", Phone = "phone" } },
    contacts = { file = "contacts.csv", id = "ContactID", refs = { client = "clients" },
                 header = { ClientID = "client", First = "first_name", Last = "last_name",
                            Email = "email" } },
    jobs = { file = "jobs.csv", id = "JobID", refs = { client = "clients", contact = "contacts" },
             header = { ClientID = "client", ContactID = "contact", Title = "title" } },
    candidates = { file = "candidates.csv", id = "CandidateID",
                   header = { First = "first_name", Last = "last_name", Email = "email" } },
    applications = { file = "applications.csv", id = "AppID",
                     refs = { candidate = "candidates", job = "jobs" },
                     header = { CandidateID = "candidate", JobID = "job" } },
    activities = { file = "activities.csv", id = "ActID", refs = { on = { type = "on_type" } },
                   header = { On = "on_type", RecordID = "on", Type = "type",
                              Subject = "subject" } },
  }
  for k, v in pairs(extra or {}) do set[k] = v end
  return set
end

local function named(list, field, value)
  local out = {}
  for _, r in ipairs(list) do
    if r[field] == value then out[#out + 1] = r end
  end
  return out
end

describe("migrate.linked", function()
  after_each(function() trk.cleanup() end)

  it("imports every type after the types it refers to, each link right", function()
    local emu, t = fresh()
    local dir = folder(FILES)
    local sum = migrate.linked(t, firm(dir))
    assert.are.same({ "clients", "contacts", "jobs", "candidates", "applications", "activities" },
                    sum.order)
    assert.are.equal(0, sum.failed, tostring(sum))
    local st = emu:state()
    local acme = named(st.clients, "name", "Acme Anvils")
    assert.are.equal(1, #acme)
    assert.are.equal("(312) 555-0100", acme[1].telephone)   -- the client's own fields, set after
    local ada = named(st.contacts, "email", "ada.stone@acme.example")
    local cy = named(st.contacts, "email", "cy.lund@acme.example")
    assert.are.equal(1, #ada)
    assert.are.equal(acme[1].id, ada[1].clientid)
    assert.are.equal(acme[1].id, cy[1].clientid)
    local tester = named(st.jobs, "name", "Anvil Tester")
    assert.are.equal(1, #tester)
    assert.are.equal(acme[1].id, tester[1].clientid)
    local dee = named(st.candidates, "email", "dee.park@example.com")
    local apps = named(st.applications, "opportunityid", tester[1].id)
    assert.are.equal(2, #apps)
    assert.are.equal(1, #named(apps, "resourceid", dee[1].id))
    assert.are.equal(3, sum.types.activities.created)
    assert.are.equal(2, sum.types.clients.created)
    assert.are.equal(3, sum.types.contacts.created)
  end)

  it("makes nothing twice when run again with the same map", function()
    local emu, t = fresh()
    local dir = folder(FILES)
    local ids = {}
    migrate.linked(t, firm(dir, { ids = ids }))
    local before = emu:state()
    local counts = { #before.clients, #before.contacts, #before.jobs, #before.candidates,
                     #before.applications, #before.activities }
    local writes = {}
    local t2 = tracker.connect({ transport = emu, rate_limit = false, timezone = false,
                           stages = emu:stages(),
                           hook = function(a, send) writes[#writes + 1] = a; return send() end })
    local again = migrate.linked(t2, firm(dir, { ids = ids }))
    assert.are.equal(0, #writes)
    assert.are.equal(0, again.created)
    assert.are.equal(3, again.types.contacts.mapped)
    local after = emu:state()
    assert.are.same(counts, { #after.clients, #after.contacts, #after.jobs, #after.candidates,
                              #after.applications, #after.activities })
    assert.is_number(ids.jobs.J1)
  end)

  it("links a person Tracker knows instead of making a second", function()
    local emu, t = fresh()
    local known = emu:state().candidates[1]
    local files = {}
    for k, v in pairs(FILES) do files[k] = v end
    files["candidates.csv"] = "CandidateID,First,Last,Email\nR1,Dee,Park," .. known.email
                              .. "\nR2,Eli,Moss,eli.moss@example.com\n"
    local sum = migrate.linked(t, firm(folder(files)))
    assert.are.equal(1, sum.types.candidates.linked)
    assert.are.equal(1, #named(emu:state().candidates, "email", known.email))
  end)

  it("checks every reference before sending anything, naming file, line, column and id", function()
    local _, t, writes = fresh(true)
    local files = {}
    for k, v in pairs(FILES) do files[k] = v end
    files["contacts.csv"] = FILES["contacts.csv"] .. "N4,C9,Gus,Hale,gus.hale@example.com\n"
    files["jobs.csv"] = FILES["jobs.csv"] .. "J3,C1,N4,Hammer Hand\n"
    local dir = folder(files)
    local sum = migrate.linked(t, firm(dir, { failures = dir .. "/failed" }))
    assert.are.equal(2, sum.failed)
    local failed = trk.slurp(dir .. "/failed/contacts.csv")
    assert.is_truthy(failed:find("N4,C9,Gus,Hale,gus.hale@example.com,\"contacts.csv line 5, "
                                 .. "column 'ClientID': no client 'C9' in clients.csv\"", 1, true),
                     failed)
    -- its job is reported with the parent's reason, and not sent
    local jobs = trk.slurp(dir .. "/failed/jobs.csv")
    assert.is_truthy(jobs:find("J3,C1,N4,Hammer Hand,\"its contact N4 failed (contacts.csv line 5",
                               1, true), jobs)
    for _, w in ipairs(writes) do
      assert.is_falsy(w.op == "create_job" and w.payload.title == "Hammer Hand")
    end
    assert.are.equal("", trk.slurp(dir .. "/failed/clients.csv"):gsub("^[^\n]*\n", ""))
  end)

  it("plans with counts per type and a sample of each", function()
    local emu, t = fresh(true)
    local n = #emu:state().contacts
    local sum = migrate.linked(t, firm(folder(FILES), { sample = 2 }))
    assert.are.equal(n, #emu:state().contacts)              -- nothing sent
    local text = tostring(sum)
    assert.is_truthy(text:find("contacts (contacts.csv) 3 rows: created 3, linked 0, mapped 0, "
                               .. "failed 0", 1, true), text)
    assert.is_truthy(text:find("  job J1 'Anvil Tester' (client C1, contact N1): created", 1, true),
                     text)
    assert.are.equal(2, #sum.types.applications.sample)
  end)

  it("fails a client no contact names, and every row that needs it", function()
    local _, t = fresh()
    local files = {}
    for k, v in pairs(FILES) do files[k] = v end
    files["clients.csv"] = FILES["clients.csv"] .. "C3,Lone Lamps,\n"
    files["jobs.csv"] = FILES["jobs.csv"] .. "J3,C3,,Lamp Lighter\n"
    local sum = migrate.linked(t, firm(folder(files)))
    assert.are.equal(1, sum.types.clients.failed)
    assert.are.equal(1, sum.types.jobs.failed)
    assert.is_truthy(sum.types.jobs.sample[3]:find("its client C3 failed (clients.csv line 4: no "
                                                   .. "contact names client 'C3'", 1, true),
                     sum.types.jobs.sample[3])
  end)

  it("names a cycle of references", function()
    local _, t = fresh(true)
    local set = firm(folder(FILES))
    set.contacts.refs = { client = "jobs" }
    assert.has_error(function() migrate.linked(t, set) end,
                     "linked: the references make a cycle (contacts → jobs → contacts): no order "
                     .. "imports each type after the ones its rows name; remove one of these refs")
  end)

  it("refuses a column that goes nowhere before anything is read from Tracker", function()
    local _, t, writes = fresh(true)
    local set = firm(folder(FILES))
    set.jobs.header.Title = "titel"
    local ok, e = pcall(migrate.linked, t, set)
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("column 'Title' is not a job field (did you mean 'title'?)",
                                      1, true), tostring(e))
    assert.are.equal(0, #writes)
  end)
end)
