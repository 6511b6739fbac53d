-- stuck-reminder: an application that has sat in "Submitted to Client" for 14 days or more
-- gets a reminder note to chase the client.
--
-- scan = "all": an application that does not change is exactly what this rule is after, so it
-- looks at every one, every run. It reminds at most once every 14 days: the notes of the last
-- 14 days are read once a run, and an application that has one is skipped. (trk rules also
-- never acts twice on the same change of a record, so one stuck period gets one reminder.)
local tracker = require "tracker"

local STAGE, DAYS = "Submitted to Client", 14
local SUBJECT = "Reminder: waiting on the client"
local DAY = 86400

-- Epoch seconds of a record's time. Without the database's time zone (TRACKER_TIMEZONE)
-- records carry naive local times; read as UTC they are off by hours at most, which a
-- 14-day threshold does not notice.
local function epoch(time)
  if not time:find("[Zz]$") and not time:find("[+-]%d%d:?%d%d$") then time = time .. "Z" end
  return tracker.time.parse(time)
end

-- The ids of applications reminded in the last DAYS days, read once a run.
local function reminded(t, ctx)
  local ids = ctx.state.reminded
  if ids then return ids end
  ids = {}
  for note in t:activities{ updated_after = ctx.now - DAYS * DAY } do
    if note.subject == SUBJECT and note.application_id then ids[note.application_id] = true end
  end
  ctx.state.reminded = ids
  return ids
end

return {
  name = "stuck-reminder",
  on = "applications",
  where = { stage = STAGE },
  scan = "all",
  when = function(app, ctx)
    local since = app.updated_at and epoch(app.updated_at)
    return since ~= nil and ctx.now - since >= DAYS * DAY
  end,
  action = function(app, t, ctx)
    local ids = reminded(t, ctx)
    if ids[app.id] then return end
    local days = (ctx.now - epoch(app.updated_at)) // DAY
    local text = ("%s has been in %s since %s (%d days). Chase the client for feedback.")
                 :format(app.name, STAGE, app.updated_at:sub(1, 10), days)
    assert(t:add_note(app, text, { subject = SUBJECT }))
    ids[app.id] = true
  end,
}
