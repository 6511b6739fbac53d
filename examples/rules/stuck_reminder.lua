-- stuck-reminder: an application in "Submitted to Client" with no activity for 14 days or more
-- gets a reminder note to chase the client.
--
-- Its last activity is the later of its last-updated time and its newest note. Tracker may send
-- applications with no time at all (tracker-api.md §9.1, §9.7), so the notes of the last
-- HORIZON days are read once a run (one stream) into ctx.state. An application with no time
-- and no note in them cannot be judged (no note since the horizon and none ever look the same):
-- it is skipped, with one warning a run. One whose time is older than the horizon, with no note
-- since, has been quiet for more than HORIZON days. Without a time a stage move is not seen
-- unless it left a note (score_routing.lua notes its moves): an application moved in by hand
-- after a quiet spell may be reminded at once.
--
-- scan = "all": an application that does not change is exactly what this rule is after, so it
-- looks at every one, every run. It reminds at most once every 14 days: an application with a
-- reminder in the last 14 days is skipped. Reminders are not activity (the note says since when
-- nothing else happened). (trk rules also never acts twice on the same change of a record, so
-- one stuck period gets one reminder.)
--
-- `when` cannot read: the first application of a run that may be stuck goes to the action,
-- which reads the notes and judges it, answering false when it is not due (so trk rules does
-- not count it as handled); `when` judges the rest from the notes read.
local tracker = require "tracker"

local STAGE, DAYS = "Submitted to Client", 14
local SUBJECT = "Reminder: waiting on the client"
local DAY = 86400
local HORIZON = 90      -- days of notes read: more reads, fewer applications left unjudged

-- Epoch seconds of a record's time. Without the database's time zone (TRACKER_TIMEZONE)
-- records carry naive local times; read as UTC they are off by hours at most, which a
-- 14-day threshold does not notice.
local function epoch(time)
  if not time:find("[Zz]$") and not time:find("[+-]%d%d:?%d%d$") then time = time .. "Z" end
  return tracker.time.parse(time)
end

-- The notes of the last HORIZON days, read once a run: by application id, the time of its
-- newest note (`last`) and of its newest reminder (`reminded`).
local function read_notes(t, ctx)
  local s = ctx.state
  if s.last then return s end
  local last, reminded = {}, {}
  for note in t:activities{ updated_after = ctx.now - HORIZON * DAY } do
    local id, at = note.application_id, note.updated_at and epoch(note.updated_at)
    if id and at then
      local index = note.subject == SUBJECT and reminded or last
      if not index[id] or at > index[id] then index[id] = at end
    end
  end
  s.last, s.reminded = last, reminded
  return s
end

-- The time of the application's last activity when it is due a reminder, else nil. Without a
-- time or a note, a reminder of ours is its last activity; without that either, nothing is
-- known: it is skipped, and the first such application of a run is reported.
local function due(app, s, ctx)
  local at = app.updated_at and epoch(app.updated_at)
  local note = s.last[app.id]
  if note and (not at or note > at) then at = note end
  local reminded = s.reminded[app.id]
  at = at or reminded
  if not at then
    if not s.warned then
      s.warned = true
      log.warn(("not judged: %s (application %d) and any other application in %s with no "
                .. "last-updated time and no note in the last %d days")
               :format(app.name, app.id, STAGE, HORIZON))
    end
    return nil
  end
  if ctx.now - at < DAYS * DAY then return nil end
  if reminded and ctx.now - reminded <= DAYS * DAY then return nil end
  return at
end

return {
  name = "stuck-reminder",
  on = "applications",
  where = { stage = STAGE },
  scan = "all",
  when = function(app, ctx)
    local at = app.updated_at and epoch(app.updated_at)
    if at and ctx.now - at < DAYS * DAY then return false end   -- changed lately: no read
    if not ctx.state.last then return true end                  -- the action reads and judges
    return due(app, ctx.state, ctx) ~= nil
  end,
  action = function(app, t, ctx)
    local at = due(app, read_notes(t, ctx), ctx)
    if not at then return false end          -- not due after all: not a change acted on
    local since
    if at < ctx.now - HORIZON * DAY then     -- older notes are not read: one may be later
      since = ("for more than %d days"):format(HORIZON)
    else
      since = ("since %s (%d days)"):format(tracker.time.format(at):sub(1, 10),
                                            (ctx.now - at) // DAY)
    end
    local text = ("%s is in %s and has had no activity %s. Chase the client for feedback.")
                 :format(app.name, STAGE, since)
    assert(t:add_note(app, text, { subject = SUBJECT }))
    ctx.state.reminded[app.id] = ctx.now
  end,
}
