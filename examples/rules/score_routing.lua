-- score-routing: applications in Screening that the recruiter scored 8 or more (the
-- application custom field "Recruiter Score") move on to "Submitted to Client", with a note
-- saying so.
-- The move names the stage it leaves ({ from = }): an application someone has moved since the
-- run read it is left where it is.
local FIELD, MIN_SCORE = "Recruiter Score", 8
local FROM, TO = "Screening", "Submitted to Client"

return {
  name = "score-routing",
  on = "applications",
  where = { stage = FROM },
  when = function(app)
    local score = app.custom[FIELD]
    return type(score) == "number" and score >= MIN_SCORE
  end,
  action = function(app, t)
    local ok, err = t:move_to_stage(app, TO, { from = FROM })
    if ok then
      -- the note dates the move: a database whose applications show no time (tracker-api.md
      -- §9.1) has nothing else that says when it happened (stuck_reminder.lua reads it)
      assert(t:add_note(app, ("Moved to %s by score-routing: %s %g."):format(TO, FIELD, app.custom[FIELD]),
                        { subject = TO }))
      return
    end
    if err.code == "conflict" then
      log.info(("score-routing: application %d is now in %s; left there"):format(app.id, err.current))
      return
    end
    error(tostring(err))
  end,
}
