-- tracker.emulator.schema: what an emulator database is. Its record kinds, the id each kind's
-- first record gets, and the metadata every database starts with: the lookup lists (statuses,
-- sources, types, departments, skills), the custom fields and the lists they draw from.
--
--   KINDS                  the record kinds, each a list of records with an integer id:
--                          users, clients, contacts, jobs, candidates, applications,
--                          activities, documents
--   FIRST_ID               kind -> the id a new record gets when the kind is empty
--   base_metadata()        -> a fresh database holding the metadata and no records:
--                          { format, timezone, lists, customfields, customfieldlists, <kinds> }

local M = {}

local pairs, ipairs = pairs, ipairs

function M.base_metadata()
  local function list(names, extra)
    local t = {}
    for i, n in ipairs(names) do
      t[i] = { id = i, name = n }
      if extra then for k, v in pairs(extra[i] or {}) do t[i][k] = v end end
    end
    return t
  end
  local lists = {
    -- state: what getRecords' `state` instruction ("open", "won", "closed") selects.
    opportunityStatuses = list({ "Active", "On Hold", "Sourcing", "Filled", "Lost", "Cancelled" },
      { { state = "open" }, { state = "open" }, { state = "open" }, { state = "won" },
        { state = "closed" }, { state = "closed" } }),
    -- placement: the states getRecords X returns [DOC: Working, Offer or Complete].
    opportunityResourceStatuses = list({ "Applied", "Shortlisted", "Screening",
      "Submitted to Client", "Interview", "Second Interview", "Offer", "Working", "Complete",
      "Rejected", "Withdrawn" },
      { nil, nil, nil, nil, nil, nil, { placement = true }, { placement = true },
        { placement = true } }),
    resourceStatuses = list({ "Active", "Available", "Placed", "Not Looking", "Do Not Use" }),
    resourceSources = list({ "LinkedIn", "Indeed", "Company Website", "Referral", "Dice",
      "CareerBuilder", "Job Fair", "Other" }),
    opportunityWorkTypes = list({ "Permanent", "Contract", "Contract to Hire", "Temporary" }),
    departments = list({ "Technology", "Finance & Accounting", "Healthcare", "Industrial",
      "Sales & Marketing" }),
    activityTypes = list({ "Note", "Call", "Email", "Meeting", "Interview", "Task",
                           "Text Message" }),
    activityStatuses = list({ "Completed", "Scheduled", "Pending", "Cancelled" }),
    -- leads' lists, as getSettingsData names them [CLIENT: the SDK's settings model]
    leadStatuses = list({ "Open", "Qualified", "Won", "Lost" }),
    leadSources = list({ "Website", "Referral", "Event", "Cold Call" }),
    skills = {},
  }
  local skills = { "Java", "Python", "SQL", "AWS", "Excel", "Salesforce", "Forklift", "CDL-A",
                   "Phlebotomy", "QuickBooks", "Project Management", "Spanish", "Kubernetes",
                   "React", "AutoCAD" }
  for i, n in ipairs(skills) do lists.skills[i] = { id = 780 + i, name = n } end
  local function items(names)
    local t = {}
    for i, n in ipairs(names) do t[i] = n end
    return t
  end
  local cflists = {}
  local list_defs = {
    { 701, "Work Authorization", { "US Citizen", "Permanent Resident", "H-1B", "TN Visa",
                                   "Requires Sponsorship" } },
    { 702, "Priority", { "High", "Medium", "Low" } },
    { 703, "Remote Policy", { "On-site", "Hybrid", "Remote" } },
    { 704, "Yes/No", { "Yes", "No" } },
    { 705, "Rejection Reason", { "Skills mismatch", "Salary expectations", "Withdrew",
                                 "Failed screening", "Position filled", "No show" } },
    { 706, "Preferred Contact", { "Email", "Phone", "Text" } },
  }
  for i, l in ipairs(list_defs) do
    local its = {}
    for j, n in ipairs(items(l[3])) do its[j] = { id = l[1] * 10 + j, name = n } end
    cflists[i] = { id = l[1], name = l[2], items = its }
  end
  local customfields = {
    { id = 441, association = "Resource", name = "Score", type = "Number" },
    { id = 442, association = "Resource", name = "Work Authorization", type = "List",
      listid = 701 },
    { id = 443, association = "Resource", name = "Security Clearance", type = "Checkbox" },
    { id = 444, association = "Resource", name = "Preferred Contact", type = "List", listid = 706 },
    { id = 445, association = "Opportunity", name = "Hiring Priority", type = "List",
      listid = 702 },
    { id = 446, association = "Opportunity", name = "Remote Policy", type = "List", listid = 703 },
    -- a limit served and kept only where the dialect has field_max_length [INF]
    { id = 447, association = "Opportunity", name = "Hiring Manager", type = "Text",
      maxlength = 80 },
    { id = 448, association = "Resource", name = "Priority", type = "List", listid = 702 },
    { id = 449, association = "OpportunityResource", name = "Interview Note Sent", type = "List",
      listid = 704 },
    { id = 450, association = "OpportunityResource", name = "Recruiter Score", type = "Number" },
    { id = 451, association = "OpportunityResource", name = "Rejection Reason", type = "List",
      listid = 705 },
    { id = 452, association = "Activity", name = "Follow-up Required", type = "Checkbox" },
    { id = 453, association = "Opportunity", name = "Target Start", type = "Date" },
    -- the candidate this one duplicates (examples/rules/duplicate_email.lua)
    { id = 454, association = "Resource", name = "Duplicate Of", type = "Number" },
    -- one field each for clients, contacts and leads [INF: association names]
    { id = 455, association = "Client", name = "Account Tier", type = "List", listid = 702 },
    { id = 456, association = "Contact", name = "Preferred Contact", type = "List",
      listid = 706 },
    { id = 457, association = "Lead", name = "Lead Score", type = "Number" },
  }
  return {
    format = 1, timezone = "UTC", lists = lists, customfields = customfields,
    customfieldlists = cflists, users = {}, clients = {}, contacts = {}, jobs = {},
    candidates = {}, applications = {}, activities = {}, documents = {}, leads = {},
  }
end

M.KINDS = { "users", "clients", "contacts", "jobs", "candidates", "applications",
                "activities", "documents", "leads" }

-- Ids a new record of each kind starts from when the kind is empty (Tracker-like magnitudes).
M.FIRST_ID = { users = 17, clients = 301, contacts = 4001, jobs = 1001, candidates = 188001,
                   applications = 70001, activities = 500001, documents = 9001,
                   leads = 6001 }


return M
