-- The stuck-reminder rule, against the in-process emulator (its clock: 2026-11-01T00:00:00Z).
-- The emulator's default dialect sends applications with no last-updated time, as Tracker may
-- (tracker-api.md §9.1, §9.7): the rule goes by their notes. The rich dialect sends one.
local testing = require "tracker.testing"

describe("the stuck-reminder rule", function()
  local rule = testing.load_rule("stuck_reminder.lua")
  local job = testing.job{ name = "Paralegal" }
  local SUBJECT = "Reminder: waiting on the client"

  local function submitted(stage, updated_at)
    return testing.application{ candidate = testing.candidate{ name = "Leila Haddad" }, job = job,
                                stage = stage or "Submitted to Client", updated_at = updated_at }
  end

  local function note(app, updated_at, subject)
    return testing.note{ on = app, subject = subject or "Call", updated_at = updated_at }
  end

  it("reminds about an application whose newest note is 14 days old or more", function()
    local app = submitted()
    local t = testing.emulator{ note(app, "2026-10-12T00:00:00Z") }
    assert.is_nil(t:application(app.id).updated_at)            -- the notes are all there is
    local actions = testing.run_rule(rule, t)
    assert.planned(actions, { op = "add_note", target = app, payload = { subject = SUBJECT, text =
      testing.contains("in Submitted to Client and has had no activity since 2026-10-12 (20 days)") } })
    assert.planned_count(1, actions)
  end)

  it("counts from the newest note, to the second", function()
    local just, not_yet, busy = submitted(), submitted(), submitted()
    local t = testing.emulator{
      note(just, "2026-10-18T00:00:00Z"),                       -- exactly 14 days
      note(not_yet, "2026-10-18T00:00:01Z"),
      note(busy, "2026-09-01T00:00:00Z"), note(busy, "2026-10-29T00:00:00Z"),   -- 3 days
    }
    local actions, summary = testing.run_rule(rule, t)
    assert.planned(actions, { target = just })
    assert.not_planned(actions, { target = not_yet })
    assert.not_planned(actions, { target = busy })
    assert.planned_count(1, actions)
    assert.are.equal(0, #summary.log)
  end)

  it("leaves an application with no time and no note alone, and says so once a run", function()
    local bare, other = submitted(), submitted()
    local cand_only = testing.note{ on = other.candidate, updated_at = "2026-10-01T00:00:00Z" }
    local long_ago = note(other, "2026-07-01T00:00:00Z")       -- before the notes read
    local actions, summary = testing.run_rule(rule, testing.emulator{ bare, cand_only, long_ago })
    assert.planned_count(0, actions)
    assert.are.equal(1, #summary.log)
    assert.are.equal("warn", summary.log[1].level)
    assert.truthy(summary.log[1].text:find("not judged: Leila Haddad - Paralegal (application "
                                           .. bare.id .. ")", 1, true))
    assert.truthy(summary.log[1].text:find("no last-updated time and no note in the last 90 days",
                                           1, true))
  end)

  it("uses the application's last-updated time where the database sends one", function()
    local quiet = submitted(nil, "2026-10-12T00:00:00Z")
    local noted = submitted(nil, "2026-10-12T00:00:00Z")      -- but a note 3 days ago
    local changed = submitted(nil, "2026-10-29T00:00:00Z")    -- but its newest note is old
    local old = submitted(nil, "2026-06-01T00:00:00Z")
    local t = testing.emulator({ quiet, note(noted, "2026-10-29T00:00:00Z"),
                                 note(changed, "2026-09-01T00:00:00Z"), old }, { dialect = "rich" })
    assert.are.equal("2026-10-12T00:00:00Z", t:application(quiet.id).updated_at)
    local actions, summary = testing.run_rule(rule, t)
    assert.planned(actions, { op = "add_note", target = quiet, payload = {
      text = testing.contains("no activity since 2026-10-12 (20 days)") } })
    assert.not_planned(actions, { target = noted })
    assert.not_planned(actions, { target = changed })
    -- notes before the horizon are not read: one of them may be later than the time
    assert.planned(actions, { target = old, payload = {
      text = testing.contains("no activity for more than 90 days") } })
    assert.planned_count(2, actions)
    assert.are.equal(0, #summary.log)
  end)

  it("reads naive times when the database's time zone is not known", function()
    local app = submitted()
    local t = testing.emulator({ note(app, "2026-10-01T09:00:00Z") }, { timezone = false })
    local seen
    for n in t:activities{} do seen = n.updated_at end
    assert.are.equal("2026-10-01T09:00:00", seen)
    assert.planned(testing.run_rule(rule, t), { op = "add_note", target = app,
      payload = { text = testing.contains("since 2026-10-01 (30 days)") } })
  end)

  it("leaves applications in other stages", function()
    local app = submitted("Interview")
    local t = testing.emulator{ note(app, "2026-09-01T00:00:00Z") }
    assert.planned_count(0, testing.run_rule(rule, t))
  end)

  it("looks at unchanged applications too (scan = all)", function()
    -- an application with no time is always offered to a rule: one with a time shows it
    local app = submitted(nil, "2026-09-01T00:00:00Z")
    local t = testing.emulator({ app }, { dialect = "rich" })
    assert.planned(testing.run_rule(rule, t, { since = "2026-10-31T00:00:00Z" }), { target = app })
  end)

  it("does not remind again within 14 days of a reminder, nor count it as activity", function()
    local app, old = submitted(), submitted()
    local actions = testing.run_rule(rule, testing.emulator{
      note(app, "2026-09-15T00:00:00Z"), note(app, "2026-10-25T00:00:00Z", SUBJECT),
      note(old, "2026-09-15T00:00:00Z"), note(old, "2026-10-01T00:00:00Z", SUBJECT),
    })
    assert.not_planned(actions, { target = app })
    assert.planned(actions, { target = old, payload = {
      text = testing.contains("no activity since 2026-09-15 (47 days)") } })
    assert.planned_count(1, actions)
  end)

  it("goes by an old reminder when the notes read show nothing else", function()
    local app = submitted()
    local t = testing.emulator{ note(app, "2026-10-12T00:00:00Z", SUBJECT) }
    local actions = testing.run_rule(rule, t)
    assert.planned(actions, { target = app, payload = {
      text = testing.contains("no activity since 2026-10-12 (20 days)") } })
  end)

  it("plans nothing on the next run once a reminder is applied, and reminds again later", function()
    local app = submitted()
    local t = testing.emulator{ note(app, "2026-10-01T00:00:00Z") }
    assert.planned_count(1, testing.run_rule(rule, t, { apply = true }))
    assert.planned_count(0, testing.run_rule(rule, t))
    testing.advance(t, 13 * 86400)
    assert.planned_count(0, testing.run_rule(rule, t))
    testing.advance(t, 2 * 86400)
    local actions = testing.run_rule(rule, t)
    assert.planned_count(1, actions)
    assert.planned(actions, { target = app, payload = {
      text = testing.contains("no activity since 2026-10-01 (46 days)") } })
  end)

  it("judges in when once the notes are read, and in the action before", function()
    -- when cannot read: the first application goes to the action, which reads the notes and
    -- judges it, answering false when it is not due (not a match: trk rules offers it again)
    local first, recent, stuck = submitted(), submitted(), submitted()
    local actions, summary = testing.run_rule(rule, testing.emulator{
      note(first, "2026-10-29T00:00:00Z"), note(recent, "2026-10-29T00:00:00Z"),
      note(stuck, "2026-10-12T00:00:00Z") })
    assert.planned(actions, { target = stuck })
    assert.planned_count(1, actions)
    assert.are.equal(3, summary.seen)
    assert.are.equal(1, summary.matched)             -- stuck; not first (judged in the action)
  end)

  it("reads the notes in one stream a run, however many applications", function()
    local function reads(n)
      local fixtures = {}
      for i = 1, n do fixtures[i] = note(submitted(), "2026-10-01T00:00:00Z") end
      local t = testing.emulator(fixtures)
      local emu, count = testing.emulator_of(t), 0
      local handle = emu.handle
      emu.handle = function(self, method, path, headers, body)
        if path:find("/getRecords", 1, true) and body:find('"recordtype":"A"', 1, true) then
          count = count + 1
        end
        return handle(self, method, path, headers, body)
      end
      assert.planned_count(n, testing.run_rule(rule, t))
      return count
    end
    local one = reads(1)
    assert.is_true(one > 0)
    assert.are.equal(one, reads(5))
  end)
end)
