-- Jobs created, placements, people found, candidates from a CV and documents on any record:
-- one suite over both transports and both dialects, like spec/support/writes_suite.lua (whose
-- backend contract B it takes: start, connect, state, widget, stop). What a write did is read
-- from the emulator's data (B.state), never only from the client's answer.
local emulator = require "tracker.emulator"

local ZONE = "America/Chicago"

-- f must raise misuse naming fname; text, when given, is in the message.
local function assert_misuse(fname, text, f)
  local ok, msg = pcall(f)
  assert.is_false(ok, "expected " .. fname .. " to raise")
  msg = tostring(msg)
  assert.is_truthy(msg:find(fname .. ": ", 1, true), msg)
  if text then assert.is_truthy(msg:find(text, 1, true), msg) end
  return msg
end

return function(B)
  describe("jobs, placements, people and documents over " .. B.name, function()
    local data = emulator.generate({ seed = 3, jobs = 4, candidates = 40 })
    after_each(B.stop)

    local function fresh()
      B.start({ data = data, timezone = ZONE })
      return B.connect({ timezone = ZONE })
    end
    local function stored(kind, id)
      for _, r in ipairs(B.state()[kind]) do if r.id == id then return r end end
    end
    local function list_name(list, id)
      for _, e in ipairs(B.state().lists[list]) do if e.id == id then return e.name end end
    end
    -- the fixture's placements (applications in a Working, Offer or Complete stage)
    local function placed()
      local out = {}
      for _, a in ipairs(data.applications) do
        local st = list_name("opportunityResourceStatuses", a.statusid)
        if st == "Offer" or st == "Working" or st == "Complete" then out[#out + 1] = a end
      end
      assert.is_true(#out > 1, "the fixture has too few placements")
      return out
    end
    local function contact_of(client_id)
      for _, k in ipairs(data.contacts) do if k.clientid == client_id then return k end end
    end

    describe("placements", function()
      it("streams every placement, linked to its candidate and job, and no other application", function()
        local t = fresh()
        local want = {}
        for _, a in ipairs(placed()) do want[a.id] = a end
        local n = 0
        for p in t:placements() do
          local a = want[p.id]
          assert.is_truthy(a, "placement " .. p.id .. " is not one")
          assert.are.equal("placement", p.kind)
          assert.are.same({ a.resourceid, a.opportunityid }, { p.candidate_id, p.job_id })
          assert.are.equal(list_name("opportunityResourceStatuses", a.statusid), p.status)
          n = n + 1
        end
        assert.are.equal(#placed(), n)
      end)

      it("streams a job's placements, and reads one by id", function()
        local t = fresh()
        local a = placed()[1]
        for p in t:placements({ job = a.opportunityid }) do
          assert.are.equal(a.opportunityid, p.job_id)
        end
        local p = assert(t:placement(a.id))
        assert.are.same({ a.resourceid, a.startdate }, { p.candidate_id, p.start_date })
        local rate = a.payrate and math.tointeger(a.payrate) or a.payrate
        assert.are.equal(rate, p.pay_rate)
      end)

      it("answers not_found for an application that is not a placement", function()
        local t = fresh()
        local app
        for _, a in ipairs(data.applications) do
          if list_name("opportunityResourceStatuses", a.statusid) == "Applied" then app = a end
        end
        local p, e = t:placement(app.id)
        assert.is_nil(p)
        assert.are.equal("not_found", e.code)
      end)

      it("updates dates, rates and the status by stage name, and reads the change back", function()
        local t = fresh()
        local a = placed()[1]
        local fields = { start_date = "2027-01-04", end_date = "2027-06-30", pay_rate = 52.5,
                         charge_rate = 80, status = "complete" }
        assert.is_true(t:update_placement({ kind = "placement", id = a.id }, fields))
        local s = stored("applications", a.id)
        assert.are.same({ "2027-01-04", "2027-06-30", 52.5, 80, "Complete" },
                        { s.startdate, s.enddate, s.payrate, s.chargerate,
                          list_name("opportunityResourceStatuses", s.statusid) })
        local action = { op = "update_placement", target = { kind = "placement", id = a.id },
                         payload = { fields = { start_date = "2027-01-04", status = "Complete",
                                                pay_rate = 52.5 } } }
        assert.is_true(t:check(action))
        action.payload.fields.pay_rate = 99
        assert.is_false(t:check(action))
      end)

      it("names the field it meant for an unknown one, sending nothing", function()
        local t = fresh()
        local before = #B.state().applications
        assert_misuse("update_placement", "did you mean 'start_date'", function()
          t:update_placement(placed()[1].id, { start_dat = "2027-01-04" })
        end)
        assert_misuse("update_placement", "no stage 'Werking'", function()
          t:update_placement(placed()[1].id, { status = "Werking" })
        end)
        assert.are.equal(before, #B.state().applications)
      end)
    end)

    describe("create_job", function()
      it("creates a job for a client and its contact, with work type, dates and rates", function()
        local t = fresh()
        local client = data.clients[1]
        local contact = contact_of(client.id)
        local n = #B.state().jobs
        local job = assert(t:create_job({ client = client.id, contact = { kind = "contact", id = contact.id },
          title = "Night Nurse", work_type = "contract", start_date = "2027-02-01",
          pay_rate = 40, charge_rate = 60.5, salary_from = 50000, salary_to = 60000,
          description = "Nights on the ward", custom = { ["Hiring Priority"] = "High" } }))
        assert.are.equal(n + 1, #B.state().jobs)
        local j = stored("jobs", job.id)
        assert.are.same({ "Night Nurse", client.id, contact.id, "Contract", "2027-02-01", 40, 60.5,
                          50000, 60000, "High" },
                        { j.name, j.clientid, j.contactid,
                          list_name("opportunityWorkTypes", j.typeid), j.startdate,
                          j.opportunityrate, j.opportunitychargerate, j.publishsalaryfrom,
                          j.publishsalaryto, j.custom["445"] })
        assert.are.same({ true, client.id, contact.id, "Contract" },
                        { job.created, job.client_id, job.contact_id, job.work_type })
        local action = { op = "create_job", target = { kind = "job" },
                         payload = { title = "Night Nurse", client = client.id } }
        assert.is_true(t:check(action))
        action.payload.client = data.clients[2].id
        assert.is_false(t:check(action))
      end)

      it("refuses a contact of another client, creating nothing", function()
        local t = fresh()
        local other = contact_of(data.clients[2].id)
        local n = #B.state().jobs
        local job, e = t:create_job({ client = data.clients[1].id, contact = other.id, title = "X" })
        assert.is_nil(job)
        assert.are.equal("invalid_request", e.code)
        assert.is_truthy(e.message:find("works at", 1, true), e.message)
        assert.are.equal(n, #B.state().jobs)
      end)

      it("names the work type it meant, and asks for a title and a client", function()
        local t = fresh()
        local ok, msg = pcall(t.create_job, t, { client = data.clients[1].id, title = "X",
                                                 work_type = "Permenant" })
        assert.is_false(ok)
        assert.is_truthy(tostring(msg):find("did you mean 'Permanent'", 1, true), tostring(msg))
        assert_misuse("create_job", "'title'", function() t:create_job({ client = 301 }) end)
        assert_misuse("create_job", "'client' or 'contact'", function() t:create_job({ title = "X" }) end)
      end)
    end)

    describe("find_person", function()
      it("finds a candidate by email, by phone and by LinkedIn address", function()
        local t = fresh()
        local c = data.candidates[7]
        for _, q in ipairs({ { email = c.email:upper() }, { phone = c.mobiletelephone },
                             { linkedin = c.linkedin:gsub("^https://www%.", "http://") .. "/" } }) do
          local found = assert(t:find_person(q))
          local ids = {}
          for _, p in ipairs(found) do
            if p.kind == "candidate" then ids[#ids + 1] = p.id end
          end
          assert.is_truthy(#ids >= 1, next(q))
          local hit = false
          for _, id in ipairs(ids) do hit = hit or id == c.id end
          assert.is_true(hit, next(q))
        end
      end)

      it("finds a contact, and nobody for an address Tracker does not know", function()
        local t = fresh()
        local k = data.contacts[2]
        assert.are.same({ { kind = "contact", id = k.id, name = k.firstname .. " " .. k.lastname } },
                        t:find_person({ email = k.email }))
        assert.are.same({}, t:find_person({ email = "nobody@nowhere.example" }))
      end)

      it("asks for something to find by", function()
        local t = fresh()
        assert_misuse("find_person", "give 'email', 'phone' or 'linkedin'", function() t:find_person({}) end)
        assert_misuse("find_person", "did you mean 'email'", function() t:find_person({ emial = "a@b.c" }) end)
      end)
    end)

    describe("create_candidate_from_resume", function()
      local CV = "Ada Lovelace\nada@engine.example\n+1 (312) 555-0199\nAnalyst\n"

      it("makes a candidate from a plain-text CV, keeps the file as its resume and applies it", function()
        local t = fresh()
        local job = data.jobs[1]
        local n = #B.state().candidates
        local rec = assert(t:create_candidate_from_resume({ filename = "ada", content_type = "text/plain",
                                                            data = CV, job = job.id }))
        assert.are.equal(n + 1, #B.state().candidates)
        assert.are.same({ "Ada Lovelace", "ada@engine.example", true, "ada.txt" },
                        { rec.name, rec.email, rec.created, rec.resume })
        local r = assert(t:resume(rec))
        assert.are.same({ "ada.txt", CV }, { r.filename, r.data })
        local applied = false
        for _, a in ipairs(B.state().applications) do
          applied = applied or (a.resourceid == rec.id and a.opportunityid == job.id)
        end
        assert.is_true(applied)
      end)

      it("takes the fields given over the parse, and asks for the file's bytes", function()
        local t = fresh()
        local rec = assert(t:create_candidate_from_resume({ filename = "cv.txt", data = CV,
                                                            first_name = "Augusta", last_name = "King" }))
        assert.are.equal("Augusta King", rec.name)
        assert_misuse("create_candidate_from_resume", "give the file's bytes", function()
          t:create_candidate_from_resume({ filename = "cv.txt" })
        end)
      end)
    end)

    describe("attach to any record", function()
      it("attaches documents of any type to a client and a contact", function()
        local t = fresh()
        local client, contact = data.clients[1], data.contacts[1]
        local d1 = assert(t:attach({ kind = "client", id = client.id },
                                   { filename = "terms.pdf", data = "%PDF", type = "Contract" }))
        local d2 = assert(t:attach({ kind = "contact", id = contact.id },
                                   { filename = "card.png", data = "PNG" }))
        assert.are.same({ "client", "contact" }, { d1.record_kind, d2.record_kind })
        local docs = B.state().documents
        local last, prev = docs[#docs], docs[#docs - 1]
        assert.are.same({ "C", client.id, "terms.pdf", "Contract" },
                        { prev.recordtype, prev.recordid, prev.filename, prev.documenttype })
        assert.are.same({ "N", contact.id, "card.png" }, { last.recordtype, last.recordid, last.filename })
      end)

      it("names the record kinds it takes for one it does not", function()
        local t = fresh()
        assert_misuse("attach", "application, candidate, client, contact, job, lead record, got a placement",
                      function() t:attach({ kind = "placement", id = 1 }, { filename = "a.txt", data = "a" }) end)
      end)
    end)
  end)
end
