-- source-priority: a candidate's source sets their "Priority" (a candidate custom field), e.g.
-- referred candidates are High. Candidates whose Priority is already set are left alone: a
-- recruiter's choice stands, and a candidate this rule has handled does not match again.
local PRIORITY_BY_SOURCE = {
  ["Referral"] = "High",
  ["Job Fair"] = "Medium",
}

return {
  name = "source-priority",
  on = "candidates",
  when = function(cand)
    return cand.source ~= nil and PRIORITY_BY_SOURCE[cand.source] ~= nil
       and cand.custom.Priority == nil
  end,
  action = function(cand, t)
    assert(t:set_custom_fields(cand, { Priority = PRIORITY_BY_SOURCE[cand.source] }))
  end,
}
