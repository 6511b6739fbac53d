-- Clients, contacts, leads and activities of any type (issue 22): one suite run over both
-- transports and every dialect, like spec/support/writes_suite.lua, whose backend contract B it
-- uses (B.start, B.connect, B.widget, B.state, B.stop). Every check of a write reads the
-- emulator raw (B.widget, B.state), not only what the client answers.
local tracker = require "tracker"
local emulator = require "tracker.emulator"

local ZONE = "America/Chicago"

local assert_error = require "support.errors"

local function collect(it, st, c, cl)
  local out = {}
  for r in it, st, c, cl do out[#out + 1] = r end
  return out
end

-- f must raise misuse (or invalid), at this file's line, naming fname and saying text.
local function assert_misuse(fname, text, f)
  local ok, msg = pcall(f)
  assert.is_false(ok, "expected " .. fname .. " to raise")
  msg = tostring(msg)
  assert.is_truthy(msg:find("crm_suite%.lua:%d+: " .. fname .. ": "), msg)
  if text then assert.is_truthy(msg:find(text, 1, true), msg) end
  return msg
end

return function(B)
  describe("clients, contacts and leads over " .. B.name, function()
    local data = emulator.generate({ seed = 3, jobs = 4, candidates = 40 })

    local function fresh(opts)
      B.start({ data = data, timezone = ZONE })
      local o = { timezone = ZONE }
      for k, v in pairs(opts or {}) do o[k] = v end
      return B.connect(o)
    end

    -- the emulator's record of a kind by id
    local function stored(kind, id)
      for _, r in ipairs(B.state()[kind]) do if r.id == id then return r end end
    end

    -- a record as getRecords shows it, raw
    local function raw_item(letter, id)
      local doc = B.widget("getRecords", { recordtype = letter, recordid = id,
                                           includecustomfields = true })
      assert.are.equal(0, doc.status, doc.message)
      return doc.results[1]
    end

    local function raw_custom(item, id)
      for _, cf in ipairs(item.customfields or {}) do
        if cf.id == id then return cf.value end
      end
      error("the item has no custom field " .. id)
    end

    local function raw_activity(id)
      local doc = B.widget("getIndividualRecord", { recordtype = "A", recordid = id })
      assert.are.equal(0, doc.status, doc.message)
      return doc.results[1]
    end

    describe("reads", function()
      local t
      setup(function() t = fresh() end)
      teardown(B.stop)

      it("streams every client, contact and lead once, normalised, with their links", function()
        local clients = collect(t:clients({ page_size = 2 }))
        assert.are.equal(#data.clients, #clients)
        local by_id = {}
        for _, c in ipairs(clients) do
          assert.are.equal("client", c.kind)
          assert.is_nil(by_id[c.id])
          by_id[c.id] = c
          assert.is_string(c.name)
          assert.is_string(c.email)
        end
        local contacts = collect(t:contacts({ page_size = 3 }))
        assert.are.equal(#data.contacts, #contacts)
        for _, k in ipairs(contacts) do
          assert.are.equal("contact", k.kind)
          assert.is_table(by_id[k.client_id], "contact " .. k.id .. "'s client")
          assert.are.equal(by_id[k.client_id].name, k.company)
          assert.is_string(k.first_name)
        end
        local leads = collect(t:leads())
        assert.are.equal(#data.leads, #leads)
        assert.is_true(#leads > 0)
        for _, l in ipairs(leads) do
          assert.are.equal("lead", l.kind)
          assert.is_table(by_id[l.client_id])
          assert.is_string(l.subject)
          assert.is_string(l.source)
        end
      end)

      it("gets one client, contact and lead by id, and not_found for none", function()
        local k = data.contacts[2]
        local c = assert(t:contact(k.id))
        assert.are.same({ k.id, k.firstname, k.lastname, k.email, k.clientid },
                        { c.id, c.first_name, c.last_name, c.email, c.client_id })
        assert.are.equal(data.clients[1].name, assert(t:client(data.clients[1].id)).name)
        local l = data.leads[1]
        local lead = assert(t:lead(l.id))
        assert.are.same({ l.name, l.clientid }, { lead.subject, lead.client_id })
        for _, get in ipairs({ "client", "contact", "lead" }) do
          local r, e = t[get](t, 999999)
          assert.is_nil(r)
          assert_error("not_found", e)
        end
      end)

      it("filters contacts by client, and activities by client, contact and lead", function()
        local client = data.clients[1]
        local mine = collect(t:contacts({ client = client.id }))
        assert.is_true(#mine > 0)
        for _, k in ipairs(mine) do assert.are.equal(client.id, k.client_id) end
        local want = { client = 0, contact = 0, lead = 0 }
        local target = { client = client.id, contact = mine[1].id }
        for _, a in ipairs(data.activities) do
          if a.clientid == client.id then want.client = want.client + 1 end
          if a.contactid == target.contact then want.contact = want.contact + 1 end
        end
        for _, a in ipairs(data.activities) do
          if a.leadid then target.lead = a.leadid break end
        end
        assert.is_number(target.lead, "the fixture has an activity on a lead")
        for _, a in ipairs(data.activities) do
          if a.leadid == target.lead then want.lead = want.lead + 1 end
        end
        for key, id in pairs(target) do
          local got = collect(t:activities({ [key] = id }))
          assert.are.equal(want[key], #got, key)
          for _, a in ipairs(got) do assert.are.equal(id, a[key .. "_id"], key) end
        end
      end)

      it("names the filter it meant for an unknown one", function()
        assert_misuse("contacts", "did you mean 'client'", function() t:contacts({ clinet = 1 }) end)
        assert_misuse("activities", "'lead'", function() t:activities({ lead = "x" }) end)
      end)
    end)

    describe("writes", function()
      after_each(B.stop)

      it("creates a contact with its client company, custom values, and reads it back", function()
        local t = fresh()
        local n = #B.state().clients
        local k = assert(t:create_contact({ first_name = "Ada", last_name = "Byron",
          email = "ada@analytical.example", job_title = "CTO", company = "Analytical Engines",
          create_company = true, custom = { ["Preferred Contact"] = "email" } }))
        assert.are.equal("contact", k.kind)
        assert.is_true(k.created)
        assert.are.equal(n + 1, #B.state().clients)
        local client = B.state().clients[n + 1]
        assert.are.equal("Analytical Engines", client.name)
        assert.are.equal(client.id, k.client_id)
        local raw = raw_item("N", k.id)
        assert.are.same({ "Ada", "Byron", "CTO", client.id },
                        { raw.details.firstname, raw.details.lastname, raw.details.jobtitle,
                          raw.details.companyId })
        assert.are.equal("Email", raw_custom(raw, 456))
        -- a second contact of the same company joins it
        local k2 = assert(t:create_contact({ name = "Charles Babbage", company = "analytical engines" }))
        assert.are.equal(client.id, k2.client_id)
        assert.are.equal(n + 1, #B.state().clients)
      end)

      it("answers conflict with the contact that has the email, any case", function()
        local t = fresh()
        local k = data.contacts[1]
        local n = #B.state().contacts
        local r, e = t:create_contact({ name = "Same Person", email = k.email:upper() })
        assert.is_nil(r)
        assert_error("conflict", e)
        assert.are.equal(k.id, e.id)
        assert.are.equal(k.id, e.existing.id)
        assert.are.equal(n, #B.state().contacts)
      end)

      it("refuses a company that does not exist unless told to create it", function()
        local t = fresh()
        local r, e = t:create_contact({ name = "No Firm", company = "Nowhere Ltd" })
        assert.is_nil(r)
        assert_error("invalid_request", e, "Nowhere Ltd")
      end)

      it("creates a lead for a client, its source as the list spells it", function()
        local t = fresh()
        local client = data.clients[2]
        local l = assert(t:create_lead({ subject = "Winter cover", client = client.id,
          source = "referral", description = "Ward staff", custom = { ["Lead Score"] = 8 } }))
        assert.are.same({ "lead", "Winter cover", client.id, "Referral", 8, true },
                        { l.kind, l.subject, l.client_id, l.source, l.custom["Lead Score"], l.created })
        local s = stored("leads", l.id)
        assert.are.same({ "Winter cover", client.id, "Referral", "Ward staff" },
                        { s.name, s.clientid, s.source, s.description })
        assert_misuse("create_lead", "did you mean 'Website'", function()
          t:create_lead({ subject = "x", source = "Websit" })
        end)
      end)

      it("updates clients, contacts and leads, columns and custom fields", function()
        local t = fresh()
        local c, k, l = data.clients[1], data.contacts[1], data.leads[1]
        assert.is_true(t:update_client(c.id, { phone = "(512) 555-0100", town = "Austin",
                                               custom = { ["Account Tier"] = "high" } }))
        local raw = raw_item("C", c.id)
        assert.are.same({ "(512) 555-0100", "Austin", "High" },
                        { raw.details.telephone, raw.details.town, raw_custom(raw, 455) })
        assert.is_true(t:update_contact({ kind = "contact", id = k.id },
                                        { job_title = "COO", work_phone = "555-0101" }))
        raw = raw_item("N", k.id)
        assert.are.same({ "COO", "555-0101" }, { raw.details.jobtitle, raw.details.businesstelephone })
        assert.is_true(t:update_lead(assert(t:lead(l.id)), { subject = "Renamed", source = "Event" }))
        local lead = assert(t:lead(l.id))
        assert.are.same({ "Renamed", "Event" }, { lead.subject, lead.source })
        assert.is_true(t:set_custom_fields(assert(t:contact(k.id)), { ["Preferred Contact"] = "Text" }))
        assert.are.equal("Text", assert(t:contact(k.id)).custom["Preferred Contact"])
        assert_misuse("update_contact", "did you mean 'job_title'", function()
          t:update_contact(k.id, { job_tilte = "x" })
        end)
        assert_misuse("set_custom_fields", "did you mean 'Account Tier'", function()
          t:set_custom_fields({ kind = "client", id = c.id }, { ["Account Tie"] = "High" })
        end)
      end)

      it("adds notes and activities of any type to clients, contacts and leads", function()
        local t = fresh()
        local c, k, l = data.clients[1], data.contacts[1], data.leads[1]
        local n1 = assert(t:add_note({ kind = "client", id = c.id }, "Account review due."))
        assert.are.same({ "C", c.id }, { raw_activity(n1.id).linkrecordtype, raw_activity(n1.id).clientid })
        local a = assert(t:add_activity(assert(t:contact(k.id)), { type = "email",
          status = "Completed", subject = "Intro call", note = "Wants two nurses.",
          date = "2026-11-02", time = "2:30 PM", priority = "High", contact_type = "Inbound" }))
        assert.are.same({ "activity", k.id }, { a.kind, a.contact_id })
        local raw = raw_activity(a.id)
        assert.are.same({ "N", k.id, k.clientid, "Intro call", "Wants two nurses.", "2026-11-02",
                          "14:30", "High", "Inbound" },
                        { raw.linkrecordtype, raw.contactid, raw.clientid, raw.subject, raw.note,
                          raw.startdate, raw.starttime, raw.priority, raw.contacttype })
        assert.are.equal("Email", raw.type)
        local m = assert(t:add_activity({ kind = "lead", id = l.id }, { type = "Meeting",
                                                                      subject = "Pitch" }))
        assert.are.same({ "L", l.id, "Meeting" },
                        { raw_activity(m.id).linkrecordtype, raw_activity(m.id).leadid,
                          raw_activity(m.id).type })
        local seen = {}
        for x in t:activities({ lead = l.id }) do seen[x.id] = x end
        assert.are.equal("Pitch", seen[m.id].subject)
        assert.is_true(t:update_activity({ kind = "activity", id = m.id },
                                         { status = "cancelled", subject = "Pitch moved" }))
        raw = raw_activity(m.id)
        assert.are.same({ "Cancelled", "Pitch moved" }, { raw.activitystatusname, raw.subject })
      end)

      it("checks activity types against the settings where they list them", function()
        local t = fresh()
        local k = data.contacts[1]
        local n = #B.state().activities
        if B.rich then
          assert_misuse("add_activity", "did you mean 'Meeting'", function()
            t:add_activity({ kind = "contact", id = k.id }, { type = "Meetng" })
          end)
        else
          -- no list in this dialect's settings (tracker-api.md §9.8): Tracker refuses it, and
          -- the error shows what was sent
          local r, e = t:add_activity({ kind = "contact", id = k.id }, { type = "Meetng" })
          assert.is_nil(r)
          assert_error("invalid_request", e, "type = 'Meetng'")
        end
        assert.are.equal(n, #B.state().activities)
      end)

      it("raises on a misused activity, sending nothing", function()
        local t = fresh()
        t:stages()
        local before = t:stats().requests
        local k = { kind = "contact", id = data.contacts[1].id }
        assert_misuse("add_activity", "'type'", function() t:add_activity(k, { subject = "x" }) end)
        assert_misuse("add_activity", "calendar date", function()
          t:add_activity(k, { type = "Email", date = "2026-02-30" })
        end)
        assert_misuse("add_activity", "HH:MM", function()
          t:add_activity(k, { type = "Email", time = "25:00" })
        end)
        assert_misuse("add_activity", "did you mean 'priority'", function()
          t:add_activity(k, { type = "Email", priorty = "High" })
        end)
        assert_misuse("add_activity", "must be a", function()
          t:add_activity({ kind = "document", id = 1 }, { type = "Email" })
        end)
        assert.are.equal(before, t:stats().requests)
      end)

      it("reads back each create and activity: false when planned, true once sent", function()
        local t = fresh()
        local client, k = data.clients[3], data.contacts[3]
        local function write_each(w)
          w:create_contact({ name = "Grace Hopper", email = "grace@navy.example",
                             company = client.name })
          w:create_lead({ subject = "Compilers team", client = client.id })
          w:add_activity({ kind = "contact", id = k.id }, { type = "Email", subject = "Follow-up",
                                                            note = "Sent rates." })
          w:add_note({ kind = "lead", id = data.leads[1].id }, "Checked lead note")
          w:set_custom_fields({ kind = "lead", id = data.leads[1].id }, { ["Lead Score"] = 3 })
        end
        local planned = {}
        write_each(B.connect({ timezone = ZONE, hook = function(action)
          planned[#planned + 1] = action
          return action.op:match("^create_") and tracker.actions.planned(action, 90000000000001)
                 or true
        end }))
        assert.are.equal(5, #planned)
        for _, action in ipairs(planned) do assert.are.equal(false, t:check(action), action.op) end
        write_each(t)
        for _, action in ipairs(planned) do assert.are.equal(true, t:check(action), action.op) end
      end)

      it("plans creates as records a script can go on with", function()
        fresh()
        local ops = {}
        local w = B.connect({ timezone = ZONE, hook = function(action)
          ops[#ops + 1] = action.op .. " " .. tracker.actions.describe(action.op, action.payload)
          return tracker.actions.planned(action, 90000000000001)
        end })
        local k = assert(w:create_contact({ name = "Plan Ned", email = "ned@plan.example" }))
        assert.are.same({ "contact", true }, { k.kind, k.planned })
        local l = assert(w:create_lead({ subject = "Planned lead" }))
        assert.are.same({ "lead", true }, { l.kind, l.planned })
        assert.matches("create_contact .*ned@plan.example", ops[1])
        assert.matches("create_lead .*Planned lead", ops[2])
      end)
    end)
  end)
end
