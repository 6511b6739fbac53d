---@meta _
-- LuaLS definitions of a rule file's table and the context its functions get (docs/rules.md).
-- Annotate a rule file's table with the class of its record kind (`---@type
-- tracker.ApplicationRule`, tracker.CandidateRule, tracker.JobRule, tracker.ClientRecordRule,
-- tracker.ContactRule, tracker.LeadRule, tracker.PlacementRule) to have its fields checked
-- and its record typed; `---@type tracker.Rule` checks the fields only.

---What both `when` and `action` get.
---@class tracker.RuleContext
---@field rule string the rule's name
---@field now integer the run's clock, epoch seconds (`trk rules --now` sets it)
---@field since string the rule's checkpoint, ISO 8601: records changed since it are this run's changes
---@field apply boolean true with --apply, false when planning
---@field state table the rule's own table for the whole run (a cache, an index)

---The filters of a rule's stream (less the time bounds, which checkpoints own).
---@class tracker.RuleWhere
---@field stage? string|integer applications: a stage name (any case) or id
---@field job? tracker.IdOrRecord applications, placements
---@field candidate? tracker.IdOrRecord applications, placements
---@field status? string candidates: a status name
---@field state? "open"|"won"|"closed" jobs
---@field client? tracker.IdOrRecord contacts, leads

---What a rule file returns.
---@class tracker.Rule
---@field name? string unique in the directory (default: the file name); checkpoints are kept by name
---@field on "applications"|"candidates"|"jobs"|"clients"|"contacts"|"leads"|"placements"
---@field where? tracker.RuleWhere
---@field scan? "changes"|"all" records changed since the checkpoint (default), or every record every run
---@field when? fun(record: tracker.Record, ctx: tracker.RuleContext): any truthy when the rule should act
---@field action fun(record: tracker.Record, t: tracker.Client, ctx: tracker.RuleContext): boolean? makes the writes (false: it did not act after all)

---A rule on applications: `when` and `action` get an application.
---@class tracker.ApplicationRule: tracker.Rule
---@field on "applications"
---@field when? fun(app: tracker.Application, ctx: tracker.RuleContext): any
---@field action fun(app: tracker.Application, t: tracker.Client, ctx: tracker.RuleContext): boolean?

---A rule on candidates: `when` and `action` get a candidate.
---@class tracker.CandidateRule: tracker.Rule
---@field on "candidates"
---@field when? fun(candidate: tracker.Candidate, ctx: tracker.RuleContext): any
---@field action fun(candidate: tracker.Candidate, t: tracker.Client, ctx: tracker.RuleContext): boolean?

---A rule on jobs: `when` and `action` get a job.
---@class tracker.JobRule: tracker.Rule
---@field on "jobs"
---@field when? fun(job: tracker.Job, ctx: tracker.RuleContext): any
---@field action fun(job: tracker.Job, t: tracker.Client, ctx: tracker.RuleContext): boolean?

---A rule on clients: `when` and `action` get a client.
---@class tracker.ClientRecordRule: tracker.Rule
---@field on "clients"
---@field when? fun(client: tracker.ClientRecord, ctx: tracker.RuleContext): any
---@field action fun(client: tracker.ClientRecord, t: tracker.Client, ctx: tracker.RuleContext): boolean?

---A rule on contacts: `when` and `action` get a contact.
---@class tracker.ContactRule: tracker.Rule
---@field on "contacts"
---@field when? fun(contact: tracker.Contact, ctx: tracker.RuleContext): any
---@field action fun(contact: tracker.Contact, t: tracker.Client, ctx: tracker.RuleContext): boolean?

---A rule on leads: `when` and `action` get a lead.
---@class tracker.LeadRule: tracker.Rule
---@field on "leads"
---@field when? fun(lead: tracker.Lead, ctx: tracker.RuleContext): any
---@field action fun(lead: tracker.Lead, t: tracker.Client, ctx: tracker.RuleContext): boolean?

---A rule on placements (applications in a placement stage): `when` and `action` get a placement.
---@class tracker.PlacementRule: tracker.Rule
---@field on "placements"
---@field when? fun(placement: tracker.Placement, ctx: tracker.RuleContext): any
---@field action fun(placement: tracker.Placement, t: tracker.Client, ctx: tracker.RuleContext): boolean?
