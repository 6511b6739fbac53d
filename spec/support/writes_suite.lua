-- The client's writes, one suite run over two transports, like spec/support/client_suite.lua
-- (whose backend contract B this extends): spec/client_inprocess_spec.lua and
-- spec/client_http_spec.lua load it into their own environment and call it with their B.
--
-- Every check of what a write did reads the emulator itself, never only what the client
-- answers: raw widget calls (B.widget), raw REST reads (B.rest) and the emulator's data
-- (B.state). Besides client_suite's B.start/connect/widget/clock/requests/stop, a backend gives:
--   B.rest(method, path, body) -> HTTP status, decoded answer of a raw REST call (own JWT)
--   B.state()                  the emulator's data (kind lists in insertion order); never
--                              faulted, rate-limited or authenticated
--   B.epoch()                  the emulator's clock, epoch seconds
--   B.set_faults(f)            (optional) replaces the emulator's faults at run time
--   B.wrap(handle)             (optional) a transport for B.connect: the emulator, with
--                              handle(emu, method, path, headers, body) answering instead
--   B.start_late(cfg, seconds) (optional) an emulator that starts listening only later
--   B.unreachable(opts)        (optional) a client of a URL where nothing listens
local tracker = require "tracker"
local emulator = require "tracker.emulator"
local json = require "json"

local ZONE = "America/Chicago"

local function fixture()
  return emulator.generate({ seed = 3, jobs = 4, candidates = 40 })
end

local assert_error = require "support.errors"

-- f must raise misuse, positioned at the caller's line (this file) and naming fname.
local function assert_misuse(fname, text, f)
  local ok, msg = pcall(f)
  assert.is_false(ok, "expected " .. fname .. " to raise")
  msg = tostring(msg)
  assert.is_truthy(msg:find("writes_suite%.lua:%d+: " .. fname .. ": "), msg)
  if text then assert.is_truthy(msg:find(text, 1, true), msg) end
  return msg
end

local function set_of(list)
  local out = {}
  for _, v in ipairs(list) do out[v] = true end
  return out
end

local function sorted(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v end
  table.sort(out)
  return out
end

local function split_tags(text)
  local out = {}
  for tag in (text or ""):gmatch("[^,]+") do
    tag = tag:match("^%s*(.-)%s*$")
    if tag ~= "" then out[#out + 1] = tag end
  end
  return sorted(out)
end

return function(B)
  describe("the client's writes over " .. B.name, function()
    local data = fixture()

    -- A test that writes tags runs where candidate reads show the tag column (the rich
    -- dialect); elsewhere tags are refused (the "tags" tests below prove how).
    local function needs_tags()
      if B.dialect and not B.rich then
        pending("this dialect's candidate reads show no tag column: tag writes are refused")
        return true
      end
    end

    -- ids by name in the fixture's lists
    local function list_id(list, name)
      for _, e in ipairs(data.lists[list]) do if e.name == name then return e.id end end
      error("no " .. name .. " in " .. list)
    end
    local APPLIED = list_id("opportunityResourceStatuses", "Applied")
    local SCREENING = list_id("opportunityResourceStatuses", "Screening")

    -- the n-th application of the fixture in stage Applied
    local function applied(n)
      for _, a in ipairs(data.applications) do
        if a.statusid == APPLIED then
          n = n - 1
          if n == 0 then return a end
        end
      end
      error("the fixture has too few applications in Applied")
    end

    -- a job and a candidate without an application together
    local function free_pair()
      local taken = {}
      for _, a in ipairs(data.applications) do taken[a.opportunityid .. ":" .. a.resourceid] = true end
      for _, j in ipairs(data.jobs) do
        for _, c in ipairs(data.candidates) do
          if not taken[j.id .. ":" .. c.id] then return j, c end
        end
      end
      error("every pair has an application")
    end

    local function tagged()
      for _, c in ipairs(data.candidates) do
        if c.tag and c.tag:find(",", 1, true) then return c end
      end
      error("the fixture has no candidate with two tags")
    end

    local function untagged()
      for _, c in ipairs(data.candidates) do
        if not c.tag or c.tag == "" then return c end
      end
      error("the fixture has no candidate without tags")
    end

    -- A fresh emulator (cfg adds to the fixture's) and a client of it (opts add to the zone).
    local function fresh(cfg, opts)
      local c = { data = data, timezone = ZONE }
      for k, v in pairs(cfg or {}) do c[k] = v end
      B.start(c)
      local o = { timezone = ZONE }
      for k, v in pairs(opts or {}) do o[k] = v end
      return B.connect(o)
    end

    -- ---- the emulator's side, read raw --------------------------------------------------

    local function raw_individual(letter, id)
      local doc = B.widget("getIndividualRecord", { recordtype = letter, recordid = id })
      assert.are.equal(0, doc.status, doc.message)
      return doc.results[1]
    end
    -- A candidate or job as a read shows it, with the tag and last-updated time the emulator
    -- holds where the dialect's read does not show them.
    local function raw_with_stored(letter, kind, id)
      local r = raw_individual(letter, id)
      for _, x in ipairs(B.state()[kind]) do
        if x.id == id then
          r.tag = r.tag or x.tag
          r.lastupdateddatetime = r.lastupdateddatetime or x.lastupdated
        end
      end
      return r
    end
    local function raw_candidate(id) return raw_with_stored("R", "candidates", id) end
    local function raw_job(id) return raw_with_stored("O", "jobs", id) end
    local function raw_activity(id) return raw_individual("A", id) end

    local function raw_app(id)
      local status, doc = B.rest("GET", "/api/v1/OpportunityResource/" .. id)
      assert.are.equal(200, status)
      return doc
    end
    local function raw_stage(id) return raw_app(id).opportunityResourceStatusName end

    -- a custom field's value in a raw item (widget `customfields`, REST `customFields`)
    local function raw_custom(item, id)
      for _, cf in ipairs(item.customfields or item.customFields or {}) do
        if cf.id == id then return cf.value end
      end
      error("the item has no custom field " .. id)
    end

    local function count(kind) return #B.state()[kind] end

    -- the records of a kind the emulator added after it held n of them
    local function added(kind, n)
      local list, out = B.state()[kind], {}
      for i = n + 1, #list do out[#out + 1] = list[i] end
      return out
    end

    local function sent(t) return t:stats().requests end

    -- a raw widget write for t:request: a note on a candidate
    local function raw_note_request(cand_id, subject)
      return { api = "widget", path = "createActivity",
               body = { instructions = {}, activity = { subject = subject, note = "raw",
                        linkRecordType = "R", linkRecordId = cand_id } } }
    end

    -- ---- moving applications --------------------------------------------------------------

    describe("move_to_stage", function()
      after_each(B.stop)

      it("moves an application by stage name in any case, by id, and as a record", function()
        local t = fresh()
        local a = applied(1)
        t:stages()
        local n = sent(t)
        assert.is_true(t:move_to_stage(a.id, "interview"))
        assert.are.equal(n + 1, sent(t))             -- the update alone: no read without `from`
        assert.are.equal("Interview", raw_stage(a.id))
        assert.is_true(t:move_to_stage(a.id, SCREENING))
        assert.are.equal("Screening", raw_stage(a.id))
        local rec = assert(t:application(a.id))
        assert.is_true(t:move_to_stage(rec, "SUBMITTED TO CLIENT"))
        assert.are.equal("Submitted to Client", raw_stage(a.id))
      end)

      it("moves only from the expected stage", function()
        local t = fresh()
        local a = applied(2)
        assert(t:application(a.id))              -- the JWT is at hand: the guard costs one read
        local n = sent(t)
        local ok, e = t:move_to_stage(a.id, "Screening", { from = "Interview" })
        assert.is_nil(ok)
        assert_error("conflict", e)
        assert.are.equal("Applied", e.current)
        assert.are.equal(n + 1, sent(t))         -- the read, no write
        assert.are.equal("Applied", raw_stage(a.id))
        assert.is_true(t:move_to_stage(a.id, "Screening", { from = "applied" }))
        assert.are.equal("Screening", raw_stage(a.id))
        assert.is_true(t:move_to_stage(a.id, "Interview", { from = SCREENING }))
        assert.are.equal("Interview", raw_stage(a.id))
      end)

      it("answers Tracker's refusal (widget status 99) for an application that does not exist", function()
        local t = fresh()
        local ok, e = t:move_to_stage(999999, "Interview")
        assert.is_nil(ok)
        assert_error("invalid_request", e)
      end)
    end)

    -- ---- creating applications and candidates ---------------------------------------------

    describe("create_application", function()
      after_each(B.stop)

      it("creates an application, shortlisted by a user in Shortlisted", function()
        local t = fresh()
        local job, cand = free_pair()
        local n = count("applications")
        local r = assert(t:create_application({ candidate = cand.id, job = job.id }))
        assert.are.equal("application", r.kind)
        assert.is_true(r.created)
        assert.are.equal(job.id, r.job_id)
        assert.are.equal(cand.id, r.candidate_id)
        assert.are.equal("Shortlisted", r.stage)
        assert.are.equal(n + 1, count("applications"))
        local raw = raw_app(r.id)
        assert.are.equal(job.id, raw.opportunityId)
        assert.are.equal(cand.id, raw.resourceId)
        assert.are.equal("Shortlisted", raw.opportunityResourceStatusName)
      end)

      it("takes records, the long list, the resource as shortlister and a source", function()
        local t = fresh()
        local jobv, candv = free_pair()
        local job, cand = assert(t:job(jobv.id)), assert(t:candidate(candv.id))
        local n = count("applications")
        local r = assert(t:create_application({ candidate = cand, job = job, list = "long",
                                                by = "resource", source = "Careers page" }))
        assert.are.equal("Applied", r.stage)
        local new = added("applications", n)
        assert.are.equal(1, #new)
        assert.are.equal(r.id, new[1].id)
        assert.are.equal("long", new[1].list)
        assert.are.equal("resource", new[1].shortlistedby)
        assert.are.equal("Careers page", new[1].source)
        assert.are.equal("Applied", raw_stage(r.id))
      end)

      it("answers conflict carrying the existing application for the same pair", function()
        local t = fresh()
        local a = data.applications[1]
        local n = count("applications")
        local r, e = t:create_application({ candidate = a.resourceid, job = a.opportunityid })
        assert.is_nil(r)
        assert_error("conflict", e)
        assert.is_table(e.existing)
        assert.are.equal("application", e.existing.kind)
        assert.are.equal(a.id, e.existing.id)
        assert.are.equal(n, count("applications"))
      end)
    end)

    describe("create_candidate", function()
      after_each(B.stop)

      it("creates a candidate with its fields, status and custom values", function()
        local t = fresh()
        local n = count("candidates")
        local r = assert(t:create_candidate({ first_name = "Ada", last_name = "Lovelace",
          email = "ada.lovelace@example.org", job_title = "Analyst", town = "London",
          status = "Available", custom = { Priority = "high", Score = 91 } }))
        assert.are.equal("candidate", r.kind)
        assert.is_true(r.created)
        assert.are.equal("integer", math.type(r.id))
        assert.are.equal(n + 1, count("candidates"))
        local raw = raw_candidate(r.id)
        assert.are.equal("Ada", raw.firstname)
        assert.are.equal("Lovelace", raw.lastname)
        assert.are.equal("ada.lovelace@example.org", raw.email)
        assert.are.equal("Analyst", raw.jobtitle)
        assert.are.equal("London", raw.town)
        assert.are.equal("Available", raw.status)
        assert.are.equal("High", raw_custom(raw, 448))
        assert.are.equal(91, tonumber(raw_custom(raw, 441)))
      end)

      it("splits a full name", function()
        local t = fresh()
        local r = assert(t:create_candidate({ name = "Grace Brewster Hopper",
                                              email = "grace@example.org" }))
        local raw = raw_candidate(r.id)
        assert.are.equal("Grace", raw.firstname)
        assert.are.equal("Brewster Hopper", raw.lastname)
      end)

      it("answers the candidate with the same email, any case, changing nothing", function()
        local t = fresh()
        local c = data.candidates[3]
        local before = raw_candidate(c.id)
        local n = count("candidates")
        local r = assert(t:create_candidate({ first_name = "Someone", last_name = "Else",
                                              email = c.email:upper(), job_title = "Changed" }))
        assert.is_false(r.created)
        assert.are.equal(c.id, r.id)
        assert.are.equal(n, count("candidates"))
        local after = raw_candidate(c.id)
        assert.are.equal(before.jobtitle, after.jobtitle)
        assert.are.equal(before.firstname, after.firstname)
        assert.are.equal(before.lastupdateddatetime, after.lastupdateddatetime)
      end)

      it("updates the candidate with the same email when told to overwrite", function()
        local t = fresh()
        local c = data.candidates[4]
        local n = count("candidates")
        local r = assert(t:create_candidate({ first_name = c.firstname, last_name = c.lastname,
          email = c.email, job_title = "Chief Controller", overwrite = true }))
        if B.rich then assert.is_false(r.created)
        else assert.is_nil(r.created) end  -- "created" either way (§9.4): the answer cannot tell
        assert.are.equal(c.id, r.id)
        assert.are.equal(n, count("candidates"))
        assert.are.equal("Chief Controller", raw_candidate(c.id).jobtitle)
      end)

      it("applies the new candidate to a job", function()
        local t = fresh()
        local job = data.jobs[2]
        local n = count("applications")
        local r = assert(t:create_candidate({ first_name = "Alan", last_name = "Turing",
          email = "alan@example.org", job = job.id, by = "resource" }))
        local new = added("applications", n)
        assert.are.equal(1, #new)
        assert.are.equal(job.id, new[1].opportunityid)
        assert.are.equal(r.id, new[1].resourceid)
        assert.are.equal("Applied", raw_stage(new[1].id))
      end)

      it("raises without a name, sending nothing", function()
        local t = fresh()
        t:stages()
        local n, cands = sent(t), count("candidates")
        assert_misuse("create_candidate", nil, function()
          t:create_candidate({ email = "nameless@example.org" })
        end)
        assert.are.equal(n, sent(t))
        assert.are.equal(cands, count("candidates"))
      end)
    end)

    -- ---- notes and documents --------------------------------------------------------------

    describe("add_note", function()
      after_each(B.stop)

      it("adds a note to a candidate with its subject, text and type", function()
        local t = fresh()
        local c = data.candidates[5]
        local n = count("activities")
        local r = assert(t:add_note({ kind = "candidate", id = c.id }, "Phoned; call back Monday.",
                                    { subject = "Phone screen", type = "Call" }))
        assert.are.equal("activity", r.kind)
        assert.are.equal(c.id, r.candidate_id)
        assert.are.equal("Phone screen", r.subject)
        local new = added("activities", n)
        assert.are.equal(1, #new)
        assert.are.equal(r.id, new[1].id)
        local raw = raw_activity(r.id)
        assert.are.equal("R", raw.linkrecordtype)
        assert.are.equal(c.id, raw.linkrecordid)
        assert.are.equal(c.id, raw.resourceid)
        assert.are.equal("Phone screen", raw.subject)
        assert.are.equal("Phoned; call back Monday.", raw.note)
        assert.are.equal("Call", raw.type)
      end)

      it("links a note on an application to its candidate, job and application", function()
        local t = fresh()
        local app = assert(t:application(applied(3).id))
        local r = assert(t:add_note(app, "Strong SQL.", { subject = "Screen" }))
        assert.are.equal(app.candidate_id, r.candidate_id)
        assert.are.equal(app.job_id, r.job_id)
        assert.are.equal(app.id, r.application_id)
        local raw = raw_activity(r.id)
        assert.are.equal("R", raw.linkrecordtype)
        assert.are.equal(app.candidate_id, raw.resourceid)
        assert.are.equal(app.job_id, raw.opportunityid)
        assert.are.equal(app.id, raw.opportunityresourceid)
        assert.are.equal("Strong SQL.", raw.note)
        assert.are.equal("Note", raw.type)
        -- and the client's own read shows the same links
        local found
        for act in t:activities({ candidate = app.candidate_id }) do
          if act.id == r.id then found = act end
        end
        assert.is_table(found)
        assert.are.equal(app.id, found.application_id)
        assert.are.equal(app.job_id, found.job_id)
      end)

      it("adds a note to a job, by a user given by email or id", function()
        local t = fresh()
        local job, user = data.jobs[3], data.users[2]
        local r = assert(t:add_note({ kind = "job", id = job.id }, "Intake done.",
                                    { user = user.email }))
        local raw = raw_activity(r.id)
        assert.are.equal("O", raw.linkrecordtype)
        assert.are.equal(job.id, raw.opportunityid)
        assert.are.equal(user.id, raw.userid)
        r = assert(t:add_note({ kind = "job", id = job.id }, "Second.", { user = data.users[3].id }))
        assert.are.equal(data.users[3].id, raw_activity(r.id).userid)
      end)

      it("dates a note in the database's local time", function()
        local t = fresh()
        local from = B.epoch()
        local r = assert(t:add_note({ kind = "candidate", id = data.candidates[6].id }, "timed"))
        local to = B.epoch()
        local raw = raw_activity(r.id)
        local stamp = raw.startdate .. " " .. raw.starttime
        -- a minute's resolution: the stamp must be the local time of some second of the call
        local ok = false
        for s = from - 60, to + 60 do
          if tracker.time.to_local(s, ZONE):sub(1, 16) == stamp then ok = true end
        end
        assert.is_true(ok, "stored " .. stamp .. ", local time at the call "
                       .. tracker.time.to_local(from, ZONE))
      end)
    end)

    describe("attach", function()
      after_each(B.stop)

      local PDF = "%PDF-1.4\n\0\1\2\255 binary résumé\n%%EOF"

      it("attaches a primary resume to a candidate, which resume() then returns", function()
        local t = fresh()
        local cand
        for _, d in ipairs(data.documents) do
          if d.recordtype == "R" and d.primary and d.documenttype == "Resume" then cand = d.recordid end
        end
        local n = count("documents")
        local r = assert(t:attach({ kind = "candidate", id = cand },
          { filename = "new_cv.pdf", data = PDF, type = "resume", primary = true }))
        assert.are.equal("document", r.kind)
        assert.are.equal("new_cv.pdf", r.filename)
        assert.are.equal("candidate", r.record_kind)
        assert.are.equal(cand, r.record_id)
        local new = added("documents", n)
        assert.are.equal(1, #new)
        assert.are.equal(r.id, new[1].id)
        assert.are.equal("R", new[1].recordtype)
        assert.are.equal(cand, new[1].recordid)
        assert.is_true(new[1].primary)
        local cv = assert(t:resume(cand))
        assert.are.equal("new_cv.pdf", cv.filename)
        assert.are.equal(PDF, cv.data)
      end)

      it("stores an application's document on its candidate", function()
        local t = fresh()
        local app = assert(t:application(applied(4).id))
        local n = count("documents")
        assert(t:attach(app, { filename = "notes.txt", data = "interview notes" }))
        local new = added("documents", n)
        assert.are.equal(1, #new)
        assert.are.equal("R", new[1].recordtype)
        assert.are.equal(app.candidate_id, new[1].recordid)
        assert.are.equal("notes.txt", new[1].filename)
      end)

      it("attaches to a job", function()
        local t = fresh()
        local job = data.jobs[1]
        local n = count("documents")
        local r = assert(t:attach({ kind = "job", id = job.id },
                                  { filename = "spec.txt", data = "job spec" }))
        assert.are.equal("job", r.record_kind)
        local new = added("documents", n)
        assert.are.equal(1, #new)
        assert.are.equal("O", new[1].recordtype)
        assert.are.equal(job.id, new[1].recordid)
        assert.are.equal("am9iIHNwZWM=", new[1].data)     -- base64 of "job spec"
      end)
    end)

    -- ---- fields, updates and tags ---------------------------------------------------------

    describe("set_custom_fields", function()
      after_each(B.stop)

      it("sets candidate fields by name and id, typed, list items as the list spells them", function()
        local t = fresh()
        local c = data.candidates[7]
        local rec = { kind = "candidate", id = c.id }
        assert.is_true(t:set_custom_fields(rec, { Priority = "hIGH", Score = "87",
                                                  ["Security Clearance"] = true }))
        local raw = raw_candidate(c.id)
        assert.are.equal("High", raw_custom(raw, 448))
        assert.are.equal(87, tonumber(raw_custom(raw, 441)))
        assert.are.equal("Yes", raw_custom(raw, 443))
        assert.is_true(t:set_custom_fields(rec, { [448] = "low", [441] = 12.5,
                                                  ["Security Clearance"] = "No" }))
        raw = raw_candidate(c.id)
        assert.are.equal("Low", raw_custom(raw, 448))
        assert.are.equal(12.5, tonumber(raw_custom(raw, 441)))
        assert.are.equal("No", raw_custom(raw, 443))
      end)

      it("clears a field with an empty string", function()
        local t = fresh()
        local c = data.candidates[8]
        assert.is_true(t:set_custom_fields({ kind = "candidate", id = c.id }, { Score = 50 }))
        assert.are.equal(50, tonumber(raw_custom(raw_candidate(c.id), 441)))
        assert.is_true(t:set_custom_fields({ kind = "candidate", id = c.id }, { Score = "" }))
        assert.are.equal("", raw_custom(raw_candidate(c.id), 441))
      end)

      it("sets application and job fields", function()
        local t = fresh()
        local app = assert(t:application(applied(5).id))
        assert.is_true(t:set_custom_fields(app, { ["Interview Note Sent"] = "yes",
                                                  ["Recruiter Score"] = 4 }))
        local raw = raw_app(app.id)
        assert.are.equal("Yes", raw_custom(raw, 449))
        assert.are.equal(4, tonumber(raw_custom(raw, 450)))
        local job = data.jobs[2]
        assert.is_true(t:set_custom_fields({ kind = "job", id = job.id }, {
          ["Hiring Manager"] = "Pat Doe", ["Remote Policy"] = "remote",
          ["Target Start"] = "2027-01-15" }))
        raw = raw_job(job.id)
        assert.are.equal("Pat Doe", raw_custom(raw, 447))
        assert.are.equal("Remote", raw_custom(raw, 446))
        assert.are.equal("2027-01-15", raw_custom(raw, 453))
      end)
    end)

    describe("update_candidate and update_job", function()
      after_each(B.stop)

      it("updates a candidate's columns, status and custom fields", function()
        local t = fresh()
        local c = data.candidates[9]
        assert.is_true(t:update_candidate(c.id, { job_title = "Staff Engineer", town = "Austin",
          status = "Placed", current_salary = 120000, date_of_birth = "1990-02-03",
          other_email = "other@example.org", custom = { Priority = "medium" } }))
        local raw = raw_candidate(c.id)
        assert.are.equal("Staff Engineer", raw.jobtitle)
        assert.are.equal("Austin", raw.town)
        assert.are.equal("Placed", raw.status)
        assert.are.equal(120000, tonumber(raw.currentsalary))
        assert.are.equal("1990-02-03", raw.dateofbirth)
        assert.are.equal("other@example.org", raw.otheremail)
        assert.are.equal("Medium", raw_custom(raw, 448))
      end)

      it("updates a job's columns, status and custom fields", function()
        local t = fresh()
        local job = data.jobs[3]
        assert.is_true(t:update_job({ kind = "job", id = job.id }, { name = "Principal Engineer",
          location = "Austin, TX", status = "On Hold", probability = 60,
          custom = { ["Hiring Manager"] = "Sam Roe" } }))
        local raw = raw_job(job.id)
        assert.are.equal("Principal Engineer", raw.name)
        assert.are.equal("Austin, TX", raw.location)
        assert.are.equal("On Hold", raw.status)
        assert.are.equal(60, tonumber(raw.probability))
        assert.are.equal("Sam Roe", raw_custom(raw, 447))
      end)
    end)

    describe("tags", function()
      after_each(B.stop)

      it("refuses them, writing nothing, where candidate reads show no tag column", function()
        if not B.dialect or B.rich then return pending("this dialect's reads show tags") end
        local t = fresh()
        local c = tagged()
        local before = raw_candidate(c.id)
        for _, call in ipairs({ function() return t:tags(c.id) end,
                                function() return t:add_tag(c.id, "urgent-hire") end,
                                function() return t:remove_tag(c.id, split_tags(c.tag)[1]) end }) do
          local ok, e = call()
          assert.is_nil(ok)
          assert.are.equal("unsupported", e.code)
          assert.is_truthy(e.message:find("will not overwrite tags it cannot see", 1, true), e.message)
        end
        assert.are.equal(before.tag, raw_candidate(c.id).tag)
        assert.are.equal(before.lastupdateddatetime, raw_candidate(c.id).lastupdateddatetime)
      end)

      it("reads a candidate's tags", function()
        if needs_tags() then return end
        local t = fresh()
        local c = tagged()
        assert.are.same(split_tags(c.tag), sorted(assert(t:tags(c.id))))
        assert.are.same({}, assert(t:tags(untagged().id)))
      end)

      it("adds and removes a tag, keeping the others", function()
        if needs_tags() then return end
        local t = fresh()
        local c = tagged()
        local tags = split_tags(c.tag)
        assert.is_true(t:add_tag(c.id, "urgent-hire"))
        local want = sorted({ "urgent-hire", table.unpack(tags) })
        assert.are.same(want, split_tags(raw_candidate(c.id).tag))
        assert.is_true(t:remove_tag({ kind = "candidate", id = c.id }, tags[1]))
        table.remove(tags, 1)
        assert.are.same(sorted({ "urgent-hire", table.unpack(tags) }),
                        split_tags(raw_candidate(c.id).tag))
        assert.is_true(t:add_tag(untagged().id, "first"))
        assert.are.same({ "first" }, split_tags(raw_candidate(untagged().id).tag))
      end)

      it("tags an application's candidate, as add_note takes an application", function()
        if needs_tags() then return end
        local t = fresh()
        local app = assert(t:application(applied(6).id))
        assert.is_true(t:add_tag(app, "via-application"))
        assert.is_truthy(raw_candidate(app.candidate_id).tag:find("via-application", 1, true))
        -- { kind =, id = } has no candidate_id: the application is read for it
        assert.is_true(t:remove_tag({ kind = "application", id = app.id }, "via-application"))
        assert.is_falsy((raw_candidate(app.candidate_id).tag or ""):find("via-application", 1, true))
        local ok, e = pcall(t.add_note, t, app.candidate_id, "hello")
        assert.is_false(ok)
        assert.matches("a bare id, which does not say what record it is: pass the record, or "
                       .. "{ kind = 'candidate', id = " .. app.candidate_id .. " }", tostring(e), 1, true)
      end)

      it("sends no write to add a present tag (any case) or remove an absent one", function()
        if needs_tags() then return end
        local t = fresh()
        local c = tagged()
        t:stages()
        local before = raw_candidate(c.id)
        local n, served = sent(t), B.requests and B.requests()
        assert.is_true(t:add_tag(c.id, split_tags(c.tag)[1]:upper()))
        assert.are.equal(n + 1, sent(t))           -- the read
        assert.is_true(t:remove_tag(c.id, "never-there"))
        assert.are.equal(n + 2, sent(t))
        if served then assert.are.equal(served + 2, B.requests()) end
        local after = raw_candidate(c.id)
        assert.are.equal(before.tag, after.tag)
        assert.are.equal(before.lastupdateddatetime, after.lastupdateddatetime)
      end)
    end)

    -- ---- rejecting ------------------------------------------------------------------------

    describe("reject", function()
      after_each(B.stop)

      it("lists the reasons from the Rejection Reason field, or the configured ones", function()
        local t = fresh()
        assert.are.same({ "Skills mismatch", "Salary expectations", "Withdrew",
                          "Failed screening", "Position filled", "No show" },
                        assert(t:rejection_reasons()))
        B.stop()
        t = fresh({}, { rejection_reasons = { "Too far", "Overqualified" } })
        assert.are.same({ "Too far", "Overqualified" }, assert(t:rejection_reasons()))
      end)

      it("moves to the rejection stage, sets the reason and adds a note", function()
        local t = fresh()
        local a = applied(6)
        local n = count("activities")
        assert.is_true(t:reject(a.id, { reason = "Skills mismatch", note = "Not enough SQL." }))
        local raw = raw_app(a.id)
        assert.are.equal("Rejected", raw.opportunityResourceStatusName)
        assert.are.equal("Skills mismatch", raw_custom(raw, 451))
        local new = added("activities", n)
        assert.are.equal(1, #new)
        assert.are.equal(a.id, new[1].opportunityresourceid)
        assert.are.equal(a.resourceid, new[1].resourceid)
        assert.are.equal("Rejected", new[1].subject)
        assert.is_truthy(new[1].note:find("Skills mismatch", 1, true), new[1].note)
        assert.is_truthy(new[1].note:find("Not enough SQL.", 1, true), new[1].note)
      end)

      it("moves to the configured rejection stage, by name or id", function()
        local t = fresh({}, { rejection_stage = "withdrawn" })
        local a = applied(7)
        local n = count("activities")
        assert.is_true(t:reject(a.id, { reason = "Withdrew" }))
        assert.are.equal("Withdrawn", raw_stage(a.id))
        assert.are.equal("Withdrew", raw_custom(raw_app(a.id), 451))
        assert.are.equal(n + 1, count("activities"))
        B.stop()
        t = fresh({}, { rejection_stage = SCREENING })
        assert.is_true(t:reject(a.id, {}))
        assert.are.equal("Screening", raw_stage(a.id))
      end)

      it("raises naming the option when no stage is a rejection stage", function()
        local d = {}
        for k, v in pairs(data) do d[k] = v end
        d.lists = {}
        for k, v in pairs(data.lists) do d.lists[k] = v end
        local stages = {}
        for _, s in ipairs(data.lists.opportunityResourceStatuses) do
          if not s.name:lower():find("reject", 1, true) then stages[#stages + 1] = s end
        end
        d.lists.opportunityResourceStatuses = stages
        local t = fresh({ data = d })
        local a = applied(8)
        assert_misuse("reject", "rejection_stage", function() t:reject(a.id, {}) end)
        assert.are.equal("Applied", raw_stage(a.id))
      end)

      it("rejects many applications, reporting each failure and going on", function()
        local t = fresh()
        local a1, a2 = applied(9), applied(10)
        local res = assert(t:bulk_reject({ a1.id, 999999, assert(t:application(a2.id)) },
                                         { reason = "Position filled" }))
        assert.are.same(sorted({ a1.id, a2.id }), sorted(res.succeeded))
        assert.are.equal(1, #res.failed)
        assert.are.equal(999999, res.failed[1].id)
        assert.is_true(tracker.is_error(res.failed[1].err), tostring(res.failed[1].err))
        assert.are.equal("Rejected", raw_stage(a1.id))
        assert.are.equal("Rejected", raw_stage(a2.id))
        assert.are.equal("Position filled", raw_custom(raw_app(a2.id), 451))
      end)
    end)

    -- ---- raw requests ---------------------------------------------------------------------

    describe("request", function()
      after_each(B.stop)

      it("sends a widget verb with trk's envelope and credentials", function()
        local t = fresh()
        local c = data.candidates[10]
        local doc = assert(t:request({ api = "widget", path = "updateRecord",
          body = { instructions = { recordtype = "R", recordid = c.id },
                   updates = { { column = "jobtitle", value = "Raw Title" } } } }))
        assert.are.equal(0, doc.status)
        assert.are.equal("Raw Title", raw_candidate(c.id).jobtitle)
        doc = assert(t:request({ api = "widget", path = "/api/widget/getRecords",
          body = { instructions = { recordtype = "R", recordid = c.id } } }))
        assert.are.equal(c.id, doc.results[1].id)
      end)

      it("answers a widget status 99 as invalid_request", function()
        local t = fresh()
        local doc, e = t:request({ api = "widget", path = "updateRecord",
          body = { instructions = { recordtype = "R", recordid = 999999 },
                   updates = { { column = "jobtitle", value = "x" } } } })
        assert.is_nil(doc)
        assert_error("invalid_request", e)
      end)

      it("sends REST calls with the JWT", function()
        local t = fresh()
        local a = data.applications[2]
        local doc = assert(t:request({ method = "GET", api = "rest",
                                       path = "/api/v1/OpportunityResource/" .. a.id }))
        assert.are.equal(a.id, doc.opportunityResourceId)
        if B.rich then
          doc = assert(t:request({ method = "POST", api = "rest",
            path = "/api/v1/OpportunityResource/PagedSearch", body = { pageNumber = 1, pageSize = 5 } }))
          assert.are.equal(5, #doc.opportunityResources)
          assert.are.equal(#data.applications, doc.totalCount)
        else
          doc = assert(t:request({ method = "POST", api = "rest",
            path = "/api/v1/OpportunityResource/Search", body = { pageNumber = 2, pageSize = 5 } }))
          assert.are.equal(10, #doc.data)                      -- 10 a page whatever is asked
          assert.are.equal(#data.applications, doc.totalRecords)
        end
      end)
    end)

    -- ---- misuse: raised before anything is sent -------------------------------------------

    describe("misuse", function()
      local t
      before_each(function()
        t = fresh()
        t:stages()
        t:custom_fields("candidate")
      end)
      after_each(B.stop)

      -- f raises misuse of fname mentioning text, having sent nothing
      local function refused(fname, text, f)
        local n, served = sent(t), B.requests and B.requests()
        local msg = assert_misuse(fname, text, f)
        assert.are.equal(n, sent(t), "sent requests before raising: " .. msg)
        if served then assert.are.equal(served, B.requests(), "the emulator saw requests") end
        return msg
      end

      it("names the stage it meant for an unknown stage", function()
        local a = applied(1)
        refused("move_to_stage", "did you mean 'Interview'", function()
          t:move_to_stage(a.id, "Intervew")
        end)
        refused("move_to_stage", "did you mean 'Interview'", function()
          t:move_to_stage(a.id, "Screening", { from = "Intervew" })
        end)
        assert.are.equal("Applied", raw_stage(a.id))
      end)

      it("names the field it meant for an unknown custom field", function()
        local c = data.candidates[11]
        local before = raw_candidate(c.id)
        refused("set_custom_fields", "did you mean 'Priority'", function()
          t:set_custom_fields({ kind = "candidate", id = c.id }, { Prority = "High" })
        end)
        assert.are.equal(before.lastupdateddatetime, raw_candidate(c.id).lastupdateddatetime)
      end)

      it("lists the items for a value that is not one", function()
        local c = data.candidates[11]
        local msg = refused("set_custom_fields", "Urgent", function()
          t:set_custom_fields({ kind = "candidate", id = c.id }, { Priority = "Urgent" })
        end)
        for _, item in ipairs({ "High", "Medium", "Low" }) do
          assert.is_truthy(msg:find(item, 1, true), msg)
        end
        refused("set_custom_fields", "Score", function()
          t:set_custom_fields({ kind = "candidate", id = c.id }, { Score = "lots" })
        end)
      end)

      it("names the field it meant for an unknown update field", function()
        local c = data.candidates[12]
        refused("update_candidate", "did you mean 'job_title'", function()
          t:update_candidate(c.id, { job_tilte = "x" })
        end)
        refused("update_job", "did you mean 'location'", function()
          t:update_job(data.jobs[1].id, { locaton = "x" })
        end)
        refused("update_candidate", "did you mean 'Priority'", function()
          t:update_candidate(c.id, { custom = { Priorty = "High" } })
        end)
      end)

      it("refuses a tag with a comma, or an empty one", function()
        local c = tagged()
        refused("add_tag", nil, function() t:add_tag(c.id, "a,b") end)
        refused("add_tag", nil, function() t:add_tag(c.id, "") end)
        refused("remove_tag", nil, function() t:remove_tag(c.id, "x,y") end)
        assert.are.equal(c.tag, raw_candidate(c.id).tag)
      end)

      it("names the reason it meant for an unknown reason", function()
        local a = applied(2)
        local n = count("activities")
        refused("reject", "did you mean 'Skills mismatch'", function()
          t:reject(a.id, { reason = "Skill mismatch" })
        end)
        refused("bulk_reject", "did you mean 'No show'", function()
          t:bulk_reject({ a.id }, { reason = "No shw" })
        end)
        assert.are.equal("Applied", raw_stage(a.id))
        assert.are.equal(n, count("activities"))
      end)
    end)

    -- ---- the choke point ------------------------------------------------------------------

    describe("the hook", function()
      after_each(B.stop)

      local function ops_of(actions)
        local out = {}
        for i, x in ipairs(actions) do out[i] = x.op end
        return out
      end

      -- a client whose hook records every action, sending it only when send_it says so
      local function hooked(send_it, opts)
        local actions = {}
        local o = { hook = function(action, send)
          actions[#actions + 1] = action
          if send_it then return send() end
          return { dry_run = action.op }
        end }
        for k, v in pairs(opts or {}) do o[k] = v end
        return fresh({}, o), actions
      end

      it("sees each write as an action before it is sent", function()
        if needs_tags() then return end
        local t, actions = hooked(true)
        local a, c = applied(1), tagged()
        assert.is_true(t:move_to_stage(a.id, "Interview"))
        assert.is_true(t:add_tag(c.id, "hooked"))
        assert(t:add_note({ kind = "candidate", id = c.id }, "seen by the hook"))
        assert.is_true(t:set_custom_fields({ kind = "candidate", id = c.id }, { Score = 3 }))
        assert(t:request(raw_note_request(c.id, "raw")))
        assert.are.same({ "move_to_stage", "add_tag", "add_note", "set_custom_fields", "request" },
                        ops_of(actions))
        assert.are.same({ "application", a.id }, { actions[1].target.kind, actions[1].target.id })
        assert.are.same({ "candidate", c.id }, { actions[2].target.kind, actions[2].target.id })
        for _, x in ipairs(actions) do
          assert.is_table(x.payload, x.op)
          assert.matches("^" .. x.op .. ":%x+$", x.key)
        end
        assert.are.equal("Interview", raw_stage(a.id))          -- sent through the hook
        assert.is_truthy(raw_candidate(c.id).tag:find("hooked", 1, true))
      end)

      it("makes a dry run when the hook does not send, returning what the hook returns", function()
        if needs_tags() then return end
        local t, actions = hooked(false)
        local a, c = applied(2), tagged()
        local n = { activities = count("activities"), candidates = count("candidates"),
                    applications = count("applications"), documents = count("documents") }
        local before = raw_candidate(c.id)
        assert.are.same({ dry_run = "move_to_stage" }, t:move_to_stage(a.id, "Interview"))
        assert.are.same({ dry_run = "add_note" }, t:add_note({ kind = "candidate", id = c.id }, "x"))
        assert.are.same({ dry_run = "create_candidate" },
                        t:create_candidate({ name = "Dry Run", email = "dry@example.org" }))
        local job, cand = free_pair()
        assert.are.same({ dry_run = "create_application" },
                        t:create_application({ candidate = cand.id, job = job.id }))
        assert.are.same({ dry_run = "attach" },
                        t:attach({ kind = "candidate", id = c.id }, { filename = "a.txt", data = "a" }))
        assert.are.same({ dry_run = "update_candidate" }, t:update_candidate(c.id, { town = "Nowhere" }))
        assert.are.same({ dry_run = "add_tag" }, t:add_tag(c.id, "dry"))
        assert.are.same({ dry_run = "set_custom_fields" },
                        t:set_custom_fields({ kind = "candidate", id = c.id }, { Score = 1 }))
        assert.are.same({ dry_run = "request" }, t:request(raw_note_request(c.id, "dry")))
        assert.are.equal(9, #actions)
        assert.are.equal("Applied", raw_stage(a.id))
        for kind, k in pairs(n) do assert.are.equal(k, count(kind), kind) end
        local after = raw_candidate(c.id)
        assert.are.equal(before.town, after.town)
        assert.are.equal(before.tag, after.tag)
        assert.are.equal(before.lastupdateddatetime, after.lastupdateddatetime)
        assert.are.equal(raw_custom(before, 441), raw_custom(after, 441))
      end)

      it("shows reject as a move, a custom field write and a note", function()
        local t, actions = hooked(false)
        local a = applied(3)
        t:reject(a.id, { reason = "No show", note = "twice" })
        assert.are.same({ "move_to_stage", "set_custom_fields", "add_note" }, ops_of(actions))
        assert.are.equal("Applied", raw_stage(a.id))
      end)

      it("sees a REST write as an action whatever its query string says", function()
        local t, actions = hooked(false)
        local n = sent(t)
        local path = "/api/v1/Resource/" .. data.candidates[2].id .. "?x=/PagedSearch"
        assert.are.same({ dry_run = "request" },
                        t:request({ api = "rest", method = "DELETE", path = path }))
        assert.are.same({ dry_run = "request" },
                        t:request({ api = "rest", method = "POST", path = path, body = { a = 1 } }))
        assert.are.same({ dry_run = "request" },
                        t:request({ api = "rest", method = "PUT",
                                    path = "/api/v1/Resource/PagedSearch#x" }))
        assert.are.same({ "request", "request", "request" }, ops_of(actions))
        assert.are.same({ "DELETE", "POST", "PUT" },
                        { actions[1].payload.method, actions[2].payload.method,
                          actions[3].payload.method })
        assert.are.equal("DELETE /api/v1/Resource/" .. data.candidates[2].id, actions[1].target.name)
        assert.are.equal(n, sent(t))                             -- a dry run: nothing sent
      end)

      it("lets REST reads through without an action: GET, HEAD, a POST to a search", function()
        local t, actions = hooked(false)
        local a = data.applications[3]
        local doc = assert(t:request({ api = "rest", method = "get",
                                       path = "/api/v1/OpportunityResource/" .. a.id .. "?x=1" }))
        assert.are.equal(a.id, doc.opportunityResourceId)
        doc = assert(t:request({ api = "rest", method = "POST",
          path = "/api/v1/OpportunityResource/" .. (B.rich and "PagedSearch" or "Search") .. "?page=1",
          body = { pageNumber = 1, pageSize = 3 } }))
        assert.are.equal(B.rich and 3 or 10, #(doc.opportunityResources or doc.data))
        assert.are.same({}, actions)
      end)

      it("keeps credentials, keys, passwords and tokens out of a raw request's action", function()
        local t, actions = hooked(false)
        local c = data.candidates[4]
        local JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        local secrets = { "caller-apikey-1111", "caller-password-2222", "caller-oauth-3333",
                          "query-apikey-4444", "query-token-5555", "body-token-6666",
                          "string-password-7777", JWT }
        local widget_body = raw_note_request(c.id, "raw widget").body
        widget_body.credentials = { apikey = secrets[1], username = "someone@example.com" }
        local envelope = { trackerrms = { createActivity = {
          credentials = { username = "someone@example.com", password = secrets[2] },
          instructions = {}, activity = { subject = "enveloped", note = "raw",
                                          linkRecordType = "R", linkRecordId = c.id } } } }
        local oauth = { instructions = {}, credentials = { oauthtoken = secrets[3] },
                        activity = { subject = "oauth", note = "raw", linkRecordType = "R",
                                     linkRecordId = c.id } }
        t:request({ api = "widget", path = "createActivity", body = widget_body })
        t:request({ api = "widget", path = "createActivity", body = envelope })
        t:request({ api = "widget", path = "createActivity", body = oauth })
        t:request({ api = "rest", method = "POST",
                    path = "/api/v1/Resource/" .. c.id .. "?APIKey=" .. secrets[4]
                           .. "&keep=1&access_token=" .. secrets[5] .. "#jwt=" .. JWT,
                    body = { name = "kept", key = "Status", token = secrets[6],
                             nested = { bearer = JWT } } })
        t:request({ api = "rest", method = "PUT", path = "/api/v1/Resource/" .. c.id,
                    body = '{"name":"kept","password":"' .. secrets[7] .. '"}' })
        assert.are.equal(5, #actions)
        for i, action in ipairs(actions) do
          local text = json.encode(action)
          for _, secret in ipairs(secrets) do
            assert.is_nil(text:find(secret, 1, true), "action " .. i .. " holds " .. secret)
          end
          assert.is_nil(text:find("credentials", 1, true), "action " .. i)
        end
        -- what is no secret stays; the caller's tables are as they were
        assert.are.equal("raw widget", actions[1].payload.body.activity.subject)
        assert.are.equal("someone@example.com", widget_body.credentials.username)
        assert.are.equal(secrets[1], widget_body.credentials.apikey)
        assert.are.equal(secrets[2], envelope.trackerrms.createActivity.credentials.password)
        assert.is_truthy(actions[4].payload.path:find("keep=1", 1, true))
        assert.is_truthy(actions[4].payload.path:find("APIKey=[redacted]", 1, true))
        assert.are.equal("kept", actions[4].payload.body.name)
        assert.are.equal("Status", actions[4].payload.body.key)
        assert.are.equal("kept", json.decode(actions[5].payload.body).name)
      end)

      it("keeps the client's own API key out of a raw request's action", function()
        fresh()
        local own, seen = "own-apikey-9999", nil
        local t = B.connect({ timezone = ZONE, apikey = own, username = "someone@example.com",
                              hook = function(action) seen = action return true end })
        t:request({ api = "rest", method = "POST", path = "/api/v1/Resource/1?k2=" .. own,
                    body = { note = "the key is " .. own } })
        assert.is_nil(json.encode(seen):find(own, 1, true))
        assert.are.equal("the key is [redacted]", seen.payload.body.note)
      end)
      it("keys writes deterministically, and takes the key given", function()
        local t, actions = hooked(false)
        local a, b = applied(4), applied(5)
        t:move_to_stage(a.id, "Interview")
        t:move_to_stage(a.id, "Interview")
        t:move_to_stage(a.id, "Screening")
        t:move_to_stage(b.id, "Interview")
        t:move_to_stage(a.id, "Interview", { key = "batch-7:app-1" })
        t:add_note({ kind = "candidate", id = a.resourceid }, "same text")
        t:add_note({ kind = "candidate", id = a.resourceid }, "same text")
        t:add_note({ kind = "candidate", id = a.resourceid }, "other text")
        local k = {}
        for i, x in ipairs(actions) do k[i] = x.key end
        assert.are.equal(k[1], k[2])
        assert.are_not.equal(k[1], k[3])
        assert.are_not.equal(k[1], k[4])
        assert.are.equal("batch-7:app-1", k[5])
        assert.are.equal(k[6], k[7])
        assert.are_not.equal(k[6], k[8])
        -- another client computes the same key: its hook answers with the action
        local t2 = B.connect({ timezone = ZONE, hook = function(action) return action end })
        assert.are.equal(k[1], t2:move_to_stage(a.id, "Interview").key)
      end)
    end)

    -- ---- retries of writes ----------------------------------------------------------------

    describe("check", function()
      after_each(B.stop)

      -- one of each checkable write, through client w
      local function write_each(w, a, c, job)
        w:move_to_stage(a.id, "Interview")
        w:set_custom_fields({ kind = "application", id = a.id }, { ["Recruiter Score"] = 7 })
        w:add_tag(c.id, "checked")
        w:remove_tag(tagged().id, "nope-not-there")          -- absent: no action
        w:add_note({ kind = "application", id = a.id }, "checked note", { subject = "Check" })
        w:create_application({ candidate = c.id, job = job.id })
        w:create_candidate({ name = "Cleo Check", email = "cleo.check@example.com" })
        w:attach({ kind = "candidate", id = c.id }, { filename = "check.txt", data = "x" })
      end

      it("answers false for planned writes and true once they are sent", function()
        if needs_tags() then return end
        local t = fresh()
        local job, c = free_pair()
        local a = applied(7)
        local planned, sent_all = {}, {}
        write_each(B.connect({ timezone = ZONE, hook = function(action)
          planned[#planned + 1] = action
          return true
        end }), a, c, job)
        assert.are.equal(7, #planned)
        for _, action in ipairs(planned) do
          assert.are.equal(false, t:check(action), action.op)
        end
        write_each(B.connect({ timezone = ZONE, hook = function(action, send)
          sent_all[#sent_all + 1] = action
          return assert(send())
        end }), a, c, job)
        assert.are.equal(7, #sent_all)
        for i, action in ipairs(planned) do
          assert.are.equal(action.key, sent_all[i].key)
          assert.are.equal(true, t:check(action), action.op)
        end
      end)

      it("settles an unknown outcome: the note whose answer was lost is there", function()
        if not B.set_faults then return pending("needs faults set after the metadata is read") end
        local t = fresh({}, { retry_for = 60 })
        local c = data.candidates[21]
        local action
        local hooked = B.connect({ timezone = ZONE, hook = function(a, send)
          action = a
          return send()
        end })
        hooked:stages()
        B.set_faults({ drop = 1 })
        local ok, e = hooked:add_note({ kind = "candidate", id = c.id }, "lost answer")
        B.set_faults({})
        assert.is_nil(ok)
        assert_error("unknown_outcome", e)
        assert.are.equal(true, t:check(action))
      end)

      it("says when a write cannot be checked", function()
        local t = fresh()
        local r, e = t:check({ op = "update_job", target = { kind = "job", id = data.jobs[1].id },
                               payload = { fields = { name = "x" } } })
        assert.is_nil(r)
        assert_error("invalid_request", e, "sending it again changes nothing")
        assert.has_error(function() t:check({ op = "add_note" }) end)
      end)

      -- a client whose hook sends each write and keeps its action
      local function keeping()
        local actions = {}
        return B.connect({ timezone = ZONE, hook = function(action, send)
          actions[#actions + 1] = action
          return assert(send())
        end }), actions
      end

      it("counts identical notes: the second is there only once two are", function()
        local t = fresh()
        local w, actions = keeping()
        local c = data.candidates[23]
        local since = B.epoch() - 60
        w:add_note({ kind = "candidate", id = c.id }, "said twice", { subject = "Twice" })
        local action = actions[1]
        assert.are.equal(true, t:check(action, since))
        assert.are.equal(true, t:check(action, since, 1))
        assert.are.equal(false, t:check(action, since, 2))
        w:add_note({ kind = "candidate", id = c.id }, "said twice", { subject = "Twice" })
        assert.are.equal(action.key, actions[2].key)
        assert.are.equal(true, t:check(action, since, 2))
        assert.are.equal(true, t:check(action, nil, 2))
        assert.are.equal(false, t:check(action, since, 3))
      end)

      it("counts identical files on the record", function()
        local t = fresh()
        local w, actions = keeping()
        local c = data.candidates[24]
        local file = { filename = "twice.txt", data = "same bytes" }
        w:attach({ kind = "candidate", id = c.id }, file)
        local action = actions[1]
        assert.are.equal(true, t:check(action))
        assert.are.equal(false, t:check(action, nil, 2))
        w:attach({ kind = "candidate", id = c.id }, file)
        assert.are.equal(true, t:check(action, nil, 2))
        assert.are.equal(false, t:check(action, nil, 3))
      end)

      it("takes a count of at least 1", function()
        local t = fresh()
        local action = { op = "add_note", target = { kind = "candidate", id = data.candidates[1].id },
                         payload = { text = "x" } }
        assert_misuse("check", "argument 3", function() t:check(action, nil, 0) end)
        assert_misuse("check", "argument 3", function() t:check(action, nil, 1.5) end)
        assert_misuse("check", "argument 3", function() t:check(action, nil, "2") end)
      end)
    end)

    describe("write retries", function()
      after_each(B.stop)

      local function warm(t)
        t:stages()
        t:custom_fields("candidate")
      end

      it("does not repeat a raw write whose answer was lost or damaged: unknown_outcome", function()
        for _, fault in ipairs({ "drop", "truncate", "malformed" }) do
          local t = fresh({ faults = { [fault] = 1 } }, { retry_for = B.fake_time and 60 or 2 })
          local c = data.candidates[13]
          local doc, e = t:request(raw_note_request(c.id, "lost " .. fault))
          assert.is_nil(doc, fault)
          assert_error("unknown_outcome", e)
          assert.are.equal(0, t:stats().retries, fault)
          local new = added("activities", #data.activities)
          assert.are.equal(1, #new, fault .. ": the write must land exactly once")
          assert.are.equal("lost " .. fault, new[1].subject)
          B.stop()
        end
      end)

      it("retries a raw read verb as a read, not as a write", function()
        local t = fresh({ faults = { drop = 1 } }, { retry_for = B.fake_time and 30 or 1 })
        local doc, e = t:request({ api = "widget", path = "getRecords",
                                   body = { instructions = { recordtype = "R", numrecords = 1 } } })
        assert.is_nil(doc)
        assert_error("network", e)
        assert.is_true(t:stats().retries > 0)
      end)

      it("does not repeat a write whose connection dropped after it was processed", function()
        if not B.set_faults then return pending("needs faults set after the metadata is read") end
        local t = fresh({}, { retry_for = 60 })
        local c, a = data.candidates[14], applied(6)
        warm(t)
        assert(t:application(a.id))
        B.set_faults({ drop = 1 })
        local n = count("activities")
        local ok, e = t:add_note({ kind = "candidate", id = c.id }, "once")
        assert.is_nil(ok)
        assert_error("unknown_outcome", e)
        assert.are.equal(n + 1, count("activities"))
        local job, cand = free_pair()
        local apps = count("applications")
        local r, e2 = t:create_application({ candidate = cand.id, job = job.id })
        assert.is_nil(r)
        assert_error("unknown_outcome", e2)          -- not the conflict a second attempt meets
        assert.are.equal(apps + 1, count("applications"))
        ok, e = t:move_to_stage(a.id, "Interview")
        assert.is_nil(ok)
        assert_error("unknown_outcome", e)
        B.set_faults({})
        assert.are.equal("Interview", raw_stage(a.id))
        assert.are.equal(0, t:stats().retries)
      end)

      it("does not repeat a write answered 5xx, and nothing was applied", function()
        local t = fresh({ faults = { errors = 1 } }, { retry_for = B.fake_time and 60 or 2 })
        local c = data.candidates[15]
        local doc, e = t:request(raw_note_request(c.id, "refused"))
        assert.is_nil(doc)
        assert_error("unknown_outcome", e)
        assert.are.equal(0, t:stats().retries)
        assert.are.equal(#data.activities, count("activities"))
        if B.set_faults then
          B.stop()
          t = fresh()
          warm(t)
          B.set_faults({ errors = { rate = 1, statuses = { 500 } } })
          local ok, e2 = t:add_note({ kind = "candidate", id = c.id }, "refused")
          assert.is_nil(ok)
          assert_error("unknown_outcome", e2)
          assert.are.equal(0, t:stats().retries)
          assert.are.equal(#data.activities, count("activities"))
        end
      end)

      it("waits out a 429 and sends the write again, which lands once", function()
        if not (B.fake_time and B.wrap) then
          return pending("needs simulated time (Retry-After is up to 60 s)")
        end
        local c = data.candidates[16]
        fresh({ rate_limit = 2 })
        local answers = {}
        local t = B.connect({ timezone = ZONE, transport = B.wrap(function(emu, m, p, h, b)
          local status, rh, rb = emu:handle(m, p, h, b)
          if p:find("createActivity", 1, true) then answers[#answers + 1] = status end
          return status, rh, rb
        end) })
        warm(t)
        local n = count("activities")
        assert(t:add_note({ kind = "candidate", id = c.id }, "first"))
        assert(t:add_note({ kind = "candidate", id = c.id }, "second"))
        assert.are.equal(n + 2, count("activities"))
        assert.is_truthy(set_of(answers)[429], "no write was answered 429")
        assert.are.equal(answers[#answers], 200)
        assert.is_true(t:stats().retries >= 1)
      end)

      it("waits out a 503 with Retry-After and sends the write again, which lands once", function()
        if not B.wrap then return pending("needs a transport the spec answers for") end
        local c = data.candidates[17]
        fresh()
        local refused = 0
        local t = B.connect({ timezone = ZONE, transport = B.wrap(function(emu, m, p, h, b)
          if refused == 0 and p:find("createActivity", 1, true) then
            refused = refused + 1
            return 503, { ["retry-after"] = "7", ["content-type"] = "text/html" }, "<html>busy</html>"
          end
          return emu:handle(m, p, h, b)
        end) })
        warm(t)
        local n, t0 = count("activities"), B.clock()
        assert(t:add_note({ kind = "candidate", id = c.id }, "after a 503"))
        assert.are.equal(1, refused)
        assert.are.equal(n + 1, count("activities"))
        assert.are.equal(1, t:stats().retries)
        assert.is_true(B.clock() - t0 >= 7, "waited " .. (B.clock() - t0))
      end)

      it("answers unknown_outcome for a 503 without Retry-After, not sending again", function()
        if not B.wrap then return pending("needs a transport the spec answers for") end
        local c = data.candidates[17]
        fresh()
        local seen = 0
        local t = B.connect({ timezone = ZONE, transport = B.wrap(function(emu, m, p, h, b)
          if p:find("createActivity", 1, true) then
            seen = seen + 1
            return 503, { ["content-type"] = "text/html" }, "<html>busy</html>"
          end
          return emu:handle(m, p, h, b)
        end) })
        warm(t)
        local ok, e = t:add_note({ kind = "candidate", id = c.id }, "x")
        assert.is_nil(ok)
        assert_error("unknown_outcome", e)
        assert.are.equal(1, seen)
      end)

      it("sends a write again after a connection that was never made; it lands once", function()
        if not B.wrap then return pending("needs a transport the spec answers for") end
        local c = data.candidates[16]
        fresh()
        local refused = 0
        local t = B.connect({ timezone = ZONE, transport = B.wrap(function(emu, m, p, h, b)
          if refused < 2 and p:find("createActivity", 1, true) then
            refused = refused + 1
            return 0, { ["x-emulator-fault"] = "refuse" }, ""
          end
          return emu:handle(m, p, h, b)
        end) })
        warm(t)
        local n = count("activities")
        assert(t:add_note({ kind = "candidate", id = c.id }, "after a refusal"))
        assert.are.equal(2, refused)
        assert.are.equal(2, t:stats().retries)
        assert.are.equal(n + 1, count("activities"))
      end)

      it("answers unknown_outcome for a write that timed out after it was sent", function()
        if B.fake_time then return pending("needs a real connection to time out") end
        local t = fresh({ latency = 1500 }, { timeout = 0.4, retry_for = 2 })
        local c = data.candidates[18]
        local doc, e = t:request(raw_note_request(c.id, "slow"))
        assert.is_nil(doc)
        assert_error("unknown_outcome", e)
        assert.are.equal(0, t:stats().retries)
        assert.are.equal(#data.activities + 1, count("activities"))
      end)

      it("retries a write whose connection could not be made, giving up with network", function()
        if not B.unreachable then return pending("needs a port where nothing listens") end
        local t = B.unreachable({ retry_for = 1.5 })
        local doc, e = t:request(raw_note_request(data.candidates[1].id, "nowhere"))
        assert.is_nil(doc)
        assert_error("network", e)
        assert.is_true(t:stats().retries > 0)
      end)

      it("retries a write until the server it could not reach comes up; it lands once", function()
        if not B.start_late then return pending("needs a server that starts late") end
        B.start_late({ data = data, timezone = ZONE }, 1)
        local t = B.connect({ timezone = ZONE, retry_for = 20 })
        local doc = assert(t:request(raw_note_request(data.candidates[19].id, "late")))
        assert.are.equal(0, doc.status)
        assert.is_true(t:stats().retries > 0)
        local new = added("activities", #data.activities)
        assert.are.equal(1, #new)
        assert.are.equal("late", new[1].subject)
      end)
    end)

    -- ---- batches: writes in flight ---------------------------------------------------------

    describe("batch", function()
      after_each(B.stop)

      -- A client whose hook logs "+i" when it sees write i (in the order it sees them) and "-i"
      -- once send() has answered, and keeps the most writes seen in flight at once.
      local function watched(opts)
        local w = { log = {}, answers = {}, most = 0 }
        local open = 0
        local o = { hook = function(action, send)
          local i = #w.answers + 1
          w.answers[i] = false
          w.log[#w.log + 1] = "+" .. i
          open = open + 1
          if open > w.most then w.most = open end
          local r, e = send()
          open = open - 1
          w.log[#w.log + 1] = "-" .. i
          w.answers[i] = { op = action.op, r = r, e = e }
          return r, e
        end }
        for k, v in pairs(opts or {}) do o[k] = v end
        w.t = fresh({}, o)
        w.t:stages()                   -- the metadata read is not part of what is measured
        return w
      end

      -- the "+i" entries of a log, in order
      local function seen(log)
        local out = {}
        for _, x in ipairs(log) do
          if x:sub(1, 1) == "+" then out[#out + 1] = tonumber(x:sub(2)) end
        end
        return out
      end

      local function subjects(list)
        local out = {}
        for i, a in ipairs(list) do out[i] = a.subject end
        return sorted(out)
      end

      it("sends each write once, answering true at once, and counts them done", function()
        local t = fresh()
        t:stages()
        local n = count("activities")
        local want, apps = {}, {}
        local res = t:batch(function()
          for i = 1, 8 do
            want[i] = "batch " .. i
            assert.are.equal(true, t:add_note({ kind = "candidate", id = data.candidates[i].id },
                                              "in a batch", { subject = want[i] }))
          end
          for i = 1, 8 do
            apps[i] = data.applications[i].id
            assert.are.equal(true, t:move_to_stage(apps[i], "Offer"))
          end
        end)
        assert.are.same({ done = 16, failed = {} }, res)
        assert.are.same(sorted(want), subjects(added("activities", n)))
        for _, id in ipairs(apps) do assert.are.equal("Offer", raw_stage(id)) end
      end)

      it("keeps no more writes in flight than its concurrency", function()
        local w = watched({ concurrency = 2 })
        local function notes(k, opts)
          w.log, w.most = {}, 0
          assert(w.t:batch(function()
            for i = 1, k do w.t:add_note({ kind = "candidate", id = data.candidates[i].id }, "n" .. i) end
          end, opts))
        end
        notes(7)
        assert.are.equal(2, w.most)             -- the client's concurrency
        notes(7, { concurrency = 3 })
        assert.are.equal(3, w.most)             -- the batch's own
        notes(4, { concurrency = 1 })
        assert.are.equal(1, w.most)             -- one at a time: each answered before the next
        assert.are.same({ "+15", "-15", "+16", "-16", "+17", "-17", "+18", "-18" }, w.log)
      end)

      it("shows the hook each action in the script's order, its code after send running as each settles", function()
        if needs_tags() then return end
        local w = watched()
        local t = w.t
        local a, c = applied(1), untagged()
        local res = t:batch(function()
          t:move_to_stage(a.id, "Screening")
          t:add_note({ kind = "candidate", id = c.id }, "first")
          t:set_custom_fields({ kind = "candidate", id = c.id }, { Score = 5 })
          t:update_candidate(c.id, { town = "Batchville" })
          t:attach({ kind = "candidate", id = c.id }, { filename = "b.txt", data = "b" })
          t:add_tag(c.id, "batched")
          t:add_note({ kind = "application", id = a.id }, "second")
        end)
        assert.are.equal(7, res.done)
        assert.are.same({ 1, 2, 3, 4, 5, 6, 7 }, seen(w.log))
        local ops = {}
        for i, x in ipairs(w.answers) do ops[i] = x.op end
        assert.are.same({ "move_to_stage", "add_note", "set_custom_fields", "update_candidate",
                          "attach", "add_tag", "add_note" }, ops)
        -- what send() answered is the write's own answer, not the queued true
        assert.are.equal("activity", w.answers[2].r.kind)
        assert.are.equal("document", w.answers[5].r.kind)
        assert.are.equal(a.id, w.answers[7].r.application_id)
        assert.is_true(w.most > 1, "the writes ran one at a time")
        local raw = raw_candidate(c.id)
        assert.are.equal("Batchville", raw.town)
        assert.are.same({ "batched" }, split_tags(raw.tag))
        assert.are.equal("Screening", raw_stage(a.id))
      end)

      it("collects failures in the order the writes were made, going on past them", function()
        local t = fresh()
        local a1, a2 = applied(2), applied(3)
        local n = count("activities")
        local res = t:batch(function()
          t:move_to_stage(999999, "Interview")
          t:move_to_stage(a1.id, "Interview")
          t:add_note({ kind = "candidate", id = data.candidates[2].id }, "between")
          t:move_to_stage(999998, "Interview")
          t:move_to_stage(a2.id, "Interview")
        end)
        assert.are.equal(3, res.done)
        assert.are.equal(2, #res.failed)
        for i, id in ipairs({ 999999, 999998 }) do
          local f = res.failed[i]
          assert.are.equal("move_to_stage", f.op)
          assert.are.same({ "application", id }, { f.target.kind, f.target.id })
          assert.matches("^move_to_stage:%x+$", f.key)
          assert_error("invalid_request", f.err, tostring(id))
        end
        assert.are.equal("Interview", raw_stage(a1.id))
        assert.are.equal("Interview", raw_stage(a2.id))
        assert.are.equal(n + 1, count("activities"))
      end)

      it("collects a write answered 5xx as an unknown outcome, sent once", function()
        if not B.wrap then return pending("needs a transport the spec answers for") end
        fresh()
        local refused = 0
        local t = B.connect({ timezone = ZONE, transport = B.wrap(function(emu, m, p, h, b)
          if p:find("createActivity", 1, true) and b:find("refuse me", 1, true) then
            refused = refused + 1
            return 500, { ["content-type"] = "text/html" }, "<html>oops</html>"
          end
          return emu:handle(m, p, h, b)
        end) })
        t:stages()
        local n = count("activities")
        local res = t:batch(function()
          for i = 1, 5 do
            t:add_note({ kind = "candidate", id = data.candidates[i].id }, i == 3 and "refuse me" or "fine")
          end
        end)
        assert.are.equal(4, res.done)
        assert.are.equal(1, #res.failed)
        assert.are.equal(data.candidates[3].id, res.failed[1].target.id)
        assert_error("unknown_outcome", res.failed[1].err)
        assert.are.equal(1, refused)
        assert.are.equal(0, t:stats().retries)
        assert.are.equal(n + 4, count("activities"))
      end)

      it("lands the writes to one record in the order they were made", function()
        if needs_tags() then return end
        local t = fresh()
        local a, c = applied(4), untagged()
        -- with a transport the spec answers for: what reaches the emulator for each record,
        -- and when the hook sees a write settle
        local events = { X = {}, R = {} }
        if B.wrap then
          local function note(letter, id, what)
            if (letter == "X" and id == a.id) or (letter == "R" and id == c.id) then
              local list = events[letter]
              list[#list + 1] = what
            end
          end
          t = B.connect({ timezone = ZONE, transport = B.wrap(function(emu, m, p, h, b)
            local verb = p:match("/api/widget/(%w+)$")
            if verb == "updateRecord" or verb == "getIndividualRecord" then
              local ins = json.decode(b).trackerrms[verb].instructions
              note(ins.recordtype, ins.recordid, verb == "updateRecord" and "sent" or "read")
            end
            return emu:handle(m, p, h, b)
          end), hook = function(action, send)
            local r, e = send()
            note(action.target.kind == "application" and "X" or "R", action.target.id, "settled")
            return r, e
          end })
        end
        local res = t:batch(function()
          t:move_to_stage(a.id, "Screening")
          t:move_to_stage(a.id, "Interview")
          t:move_to_stage(a.id, "Offer")
          t:add_tag(c.id, "one")           -- each tag write reads the tags the one before wrote
          t:add_tag(c.id, "two")
          t:add_tag(c.id, "three")
          t:remove_tag(c.id, "two")
        end, { concurrency = 8 })
        assert.are.same({ done = 7, failed = {} }, res)
        assert.are.equal("Offer", raw_stage(a.id))
        assert.are.same({ "one", "three" }, split_tags(raw_candidate(c.id).tag))
        if B.wrap then
          assert.are.same({ "sent", "settled", "sent", "settled", "sent", "settled" }, events.X)
          local want = {}
          for _ = 1, 4 do
            for _, x in ipairs({ "read", "sent", "settled" }) do want[#want + 1] = x end
          end
          assert.are.same(want, events.R)
        end
      end)

      it("rejects in a batch, not sending the parts after one that failed", function()
        local t = fresh()
        local a = applied(5)
        local n = count("activities")
        local res = t:batch(function()
          assert.are.equal(true, t:reject(999999, { reason = "Withdrew", note = "never sent" }))
          assert.are.equal(true, t:reject(a.id, { reason = "Withdrew", note = "sent" }))
        end)
        assert.are.equal(3, res.done)
        local ops = {}
        for i, f in ipairs(res.failed) do
          ops[i] = f.op
          assert.are.equal(999999, f.target.id)
        end
        assert.are.same({ "move_to_stage", "set_custom_fields", "add_note" }, ops)
        assert_error("invalid_request", res.failed[1].err)
        for i = 2, 3 do
          assert_error("conflict", res.failed[i].err, "not sent", "move_to_stage before it failed")
          assert.is_true(res.failed[i].err.skipped)
        end
        local raw = raw_app(a.id)
        assert.are.equal("Rejected", raw.opportunityResourceStatusName)
        assert.are.equal("Withdrew", raw_custom(raw, 451))
        local new = added("activities", n)
        assert.are.equal(1, #new)
        assert.are.equal(a.id, new[1].opportunityresourceid)
      end)

      it("answers bulk_reject in a batch with each application's outcome", function()
        local t = fresh()
        local a1, a2 = applied(6), applied(7)
        local out
        local res = t:batch(function()
          out = t:bulk_reject({ a1.id, 999999, a2.id }, { reason = "Position filled" })
        end)
        assert.are.same(sorted({ a1.id, a2.id }), sorted(out.succeeded))
        assert.are.equal(1, #out.failed)
        assert.are.equal(999999, out.failed[1].id)
        assert_error("invalid_request", out.failed[1].err)
        assert.are.equal(6, res.done)                 -- a move, the reason and a note, twice
        assert.are.equal(3, #res.failed)
        assert.are.equal("Rejected", raw_stage(a1.id))
        assert.are.equal("Position filled", raw_custom(raw_app(a2.id), 451))
      end)

      it("runs creates at once, answering the created record", function()
        if needs_tags() then return end
        local t = fresh()
        local job, cand = free_pair()
        local apps, cands = count("applications"), count("candidates")
        local res = t:batch(function()
          t:add_note({ kind = "candidate", id = cand.id }, "before the create")
          local app = assert(t:create_application({ candidate = cand.id, job = job.id }))
          assert.is_true(app.created)
          assert.are.equal(apps + 1, count("applications"))    -- landed before it answered
          assert.are.equal(true, t:move_to_stage(app, "Screening"))
          local c = assert(t:create_candidate({ name = "Bea Batch", email = "bea.batch@example.com" }))
          assert.is_true(c.created)
          assert.are.equal(cands + 1, count("candidates"))
          assert.are.equal(true, t:add_tag(c, "new"))
        end)
        assert.are.same({ done = 3, failed = {} }, res)
        local new = added("applications", apps)
        assert.are.equal(1, #new)
        assert.are.equal("Screening", raw_stage(new[1].id))
        assert.are.same({ "new" }, split_tags(raw_candidate(added("candidates", cands)[1].id).tag))
      end)

      it("settles the writes in flight when fn raises, then raises its error", function()
        local w = watched()
        local t = w.t
        local n = count("activities")
        local ok, msg = pcall(t.batch, t, function()
          for i = 1, 6 do t:add_note({ kind = "candidate", id = data.candidates[i].id }, "then a raise") end
          error("stop here")
        end)
        assert.is_false(ok)
        assert.is_truthy(tostring(msg):find("stop here", 1, true), tostring(msg))
        assert.are.equal(n + 6, count("activities"))
        for i = 1, 6 do assert.are.equal("activity", w.answers[i].r.kind) end
        -- the batch is over: a write answers as it does outside one
        local r = assert(t:add_note({ kind = "candidate", id = data.candidates[7].id }, "after"))
        assert.are.equal("activity", r.kind)
      end)

      it("raises what a hook raises, once the other writes made have settled", function()
        local made, settled = 0, 0
        local t = fresh({}, { hook = function(action, send)
          made = made + 1
          local r, e = send()
          if action.payload.text == "break" then error("the hook broke") end
          settled = settled + 1
          return r, e
        end })
        t:stages()
        local n = count("activities")
        local ok, msg = pcall(t.batch, t, function()
          for i = 1, 6 do
            t:add_note({ kind = "candidate", id = data.candidates[i].id }, i == 2 and "break" or "fine")
          end
        end)
        assert.is_false(ok)
        assert.is_truthy(tostring(msg):find("the hook broke", 1, true), tostring(msg))
        -- the raise stops fn where the batch meets it: when a later write waits for room
        assert.is_true(made >= 2 and made < 6, made)
        assert.are.equal(n + made, count("activities"))   -- the broken hook's note was sent too
        assert.are.equal(made - 1, settled)
      end)

      it("joins a batch inside a batch, each counting its own writes", function()
        local t = fresh()
        local inner
        local outer = t:batch(function()
          t:add_note({ kind = "candidate", id = data.candidates[1].id }, "outer")
          inner = t:batch(function()
            t:add_note({ kind = "candidate", id = data.candidates[2].id }, "inner")
            t:move_to_stage(999999, "Interview")
          end, { concurrency = 2 })
          t:add_note({ kind = "candidate", id = data.candidates[3].id }, "outer again")
        end)
        assert.are.equal(1, inner.done)
        assert.are.equal(1, #inner.failed)
        assert.are.equal(3, outer.done)
        assert.are.equal(1, #outer.failed)
        assert.are.equal(999999, outer.failed[1].target.id)
      end)

      it("raises on misuse, before anything is sent", function()
        local t = fresh()
        local a = applied(8)
        t:stages()
        assert_misuse("batch", "must be a function", function() t:batch("writes") end)
        assert_misuse("batch", "at least 1", function() t:batch(function() end, { concurrency = 0 }) end)
        assert_misuse("batch", "whole number", function() t:batch(function() end, { concurrency = 1.5 }) end)
        assert_misuse("batch", "did you mean 'concurrency'", function()
          t:batch(function() end, { concurency = 2 })
        end)
        local n = sent(t)
        assert_misuse("move_to_stage", "did you mean 'Interview'", function()
          t:batch(function() t:move_to_stage(a.id, "Intervew") end)
        end)
        assert.are.equal(n, sent(t))
        local ok, msg = pcall(B.connect, { concurrency = 0 })
        assert.is_false(ok)
        assert.is_truthy(tostring(msg):find("option 'concurrency'", 1, true), tostring(msg))
      end)

      it("raises when a hook yields or starts a batch inside a deferred write", function()
        local t
        local what = "yield"
        t = fresh({}, { hook = function(_, send)
          if what == "yield" then coroutine.yield("mine") end
          t:batch(function() end)
          return send()
        end })
        t:stages()
        local c = data.candidates[9]
        local ok, msg = pcall(t.batch, t, function() t:add_note({ kind = "candidate", id = c.id }, "x") end)
        assert.is_false(ok)
        assert.is_truthy(tostring(msg):find("a hook cannot yield in t:batch", 1, true), tostring(msg))
        what = "batch"
        ok, msg = pcall(t.batch, t, function() t:add_note({ kind = "candidate", id = c.id }, "x") end)
        assert.is_false(ok)
        assert.is_truthy(tostring(msg):find("batch: a write's hook cannot start a batch", 1, true),
                         tostring(msg))
        assert.are.equal(#data.activities, count("activities"))
      end)

      it("overlaps the writes over a slow connection, four at a time", function()
        if B.fake_time then return pending("needs real connections and real time") end
        local latency = 0.1
        local open, most = 0, 0
        local t = fresh({ latency = math.floor(latency * 1000) }, { hook = function(_, send)
          open = open + 1
          most = math.max(most, open)
          local r, e = send()
          open = open - 1
          return r, e
        end })
        t:stages()
        local function note(i, what)
          return t:add_note({ kind = "candidate", id = data.candidates[i].id }, what)
        end
        local t0 = B.clock()
        for i = 1, 10 do assert(note(i, "one at a time")) end
        local sequential = (B.clock() - t0) * 2        -- for 20
        t0, most = B.clock(), 0
        local res = t:batch(function()
          for i = 1, 20 do note(i, "in flight") end
        end)
        local took = B.clock() - t0
        assert.are.equal(20, res.done)
        assert.are.equal(4, most)                      -- the default concurrency
        assert.is_true(took < 0.6 * sequential, ("batch %.2f s, one at a time %.2f s"):format(took, sequential))
        -- each request waits out the latency: 20 of them, 4 at a time, take 5 latencies at least
        assert.is_true(took >= 5 * latency * 0.9, ("batch %.2f s"):format(took))
      end)
    end)
  end)
end
