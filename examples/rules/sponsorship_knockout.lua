-- sponsorship-knockout: a new application (stage Applied) from a candidate whose "Work
-- Authorization" (a candidate custom field) is "Requires Sponsorship" is rejected with the
-- reason "Failed screening" and a note saying why.
-- The rejected application leaves Applied, so it never matches again.
local FIELD, KNOCKOUT = "Work Authorization", "Requires Sponsorship"
local REASON = "Failed screening"
local NOTE = "Knock-out: the candidate requires visa sponsorship, which these roles do not offer."

-- The candidate's work authorization (false: not set). One read per candidate while a run
-- needs few; past BULK of them, one stream of every candidate instead (a hundred or more to a
-- page), which costs far fewer requests against Tracker's rate limit.
local BULK = 100

local function authorization(t, ctx, id)
  local s = ctx.state
  s.known = s.known or {}
  if s.known[id] == nil and not s.read_all and (s.reads or 0) >= BULK then
    for cand in t:candidates{} do s.known[cand.id] = cand.custom[FIELD] or false end
    s.read_all = true
  end
  if s.known[id] == nil then           -- few reads so far, or a candidate newer than the stream
    local cand, err = t:candidate(id)
    if not cand then error(tostring(err)) end
    s.known[id] = cand.custom[FIELD] or false
    s.reads = (s.reads or 0) + 1
  end
  return s.known[id]
end

return {
  name = "sponsorship-knockout",
  on = "applications",
  where = { stage = "Applied" },
  action = function(app, t, ctx)
    if authorization(t, ctx, app.candidate_id) ~= KNOCKOUT then return end
    assert(t:reject(app, { reason = REASON, note = NOTE }))
  end,
}
