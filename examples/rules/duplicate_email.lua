-- duplicate-email: candidates who share an email address (any case) are reported, and every
-- one but the oldest (the lowest id) gets the oldest's id in the candidate custom field
-- "Duplicate Of" (a Number), with a note naming it. A candidate whose field names the oldest
-- already is not marked or noted again.
--
-- Tracker cannot search by email, so the first candidate that needs it reads every candidate
-- once (one stream, a few pages) into ctx.state; the rest of the run uses that index.
local FIELD = "Duplicate Of"

local function index_by_email(t, ctx)
  local index = ctx.state.by_email
  if index then return index end
  index = {}
  for c in t:candidates{} do
    if c.email then
      local key = c.email:lower()
      local group = index[key] or {}
      group[#group + 1] = { kind = "candidate", id = c.id, name = c.name, of = c.custom[FIELD] }
      index[key] = group
    end
  end
  for _, group in pairs(index) do
    table.sort(group, function(a, b) return a.id < b.id end)
  end
  ctx.state.by_email = index
  ctx.state.done = {}
  return index
end

return {
  name = "duplicate-email",
  on = "candidates",
  when = function(cand)
    return cand.email ~= nil
  end,
  action = function(cand, t, ctx)
    local key = cand.email:lower()
    local group = index_by_email(t, ctx)[key]
    if not group or #group < 2 or ctx.state.done[key] then return end
    ctx.state.done[key] = true          -- one look at a group a run, whichever member came first
    local oldest = group[1]
    for i = 2, #group do
      local dup = group[i]
      if dup.of ~= oldest.id then
        log.warn(("duplicate email %s: candidate %d (%s) duplicates candidate %d (%s)")
                 :format(key, dup.id, dup.name, oldest.id, oldest.name))
        assert(t:set_custom_fields(dup, { [FIELD] = oldest.id }))
        assert(t:add_note(dup, ("Possible duplicate of candidate %d (%s): same email %s.")
                          :format(oldest.id, oldest.name, key), { subject = "Possible duplicate" }))
      end
    end
  end,
}
