-- interview-note: when an application reaches the Interview stage, note it once.
-- The application custom field "Interview Note Sent" (Yes/No) remembers that the note went out,
-- so later changes to the same application do not send it again.
local SENT = "Interview Note Sent"

return {
  name = "interview-note",
  on = "applications",
  where = { stage = "Interview" },
  when = function(app)
    return app.custom[SENT] ~= "Yes"
  end,
  action = function(app, t)
    local text = ("%s is at the interview stage for %s. Send the interview guide and confirm "
                  .. "the panel."):format(app.candidate_name or "The candidate",
                                           app.job_name or "this job")
    -- the note first, then the flag that says it went out
    assert(t:add_note(app, text, { subject = "Interview" }))
    assert(t:set_custom_fields(app, { [SENT] = "Yes" }))
  end,
}
