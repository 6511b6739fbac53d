-- placement-end: a working placement with a start date but no end date ends six months after it
-- starts (a contract's default term). A placement that has an end date, set by this rule or by a
-- recruiter, no longer matches.
local time = require("tracker").time
local SIX_MONTHS = 182 * 86400

return {
  name = "placement-end",
  on = "placements",
  when = function(p) return p.status == "Working" and p.start_date ~= nil and p.end_date == nil end,
  action = function(p, t)
    local ends = string.sub(time.format(time.parse(p.start_date) + SIX_MONTHS), 1, 10)
    assert(t:update_placement(p, { end_date = ends }))
  end,
}
