---@meta _
-- LuaLS definitions of a rule file's table and the context its functions get (docs/rules.md).
-- Annotate a rule file's table with `---@type tracker.Rule` to have its fields checked.

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
---@field job? tracker.IdOrRecord applications
---@field candidate? tracker.IdOrRecord applications
---@field status? string candidates: a status name
---@field state? "open"|"won"|"closed" jobs

---What a rule file returns.
---@class tracker.Rule
---@field name? string unique in the directory (default: the file name); checkpoints are kept by name
---@field on "applications"|"candidates"|"jobs"
---@field where? tracker.RuleWhere
---@field scan? "changes"|"all" records changed since the checkpoint (default), or every record every run
---@field when? fun(record: tracker.Record, ctx: tracker.RuleContext): any truthy when the rule should act
---@field action fun(record: tracker.Record, t: tracker.Client, ctx: tracker.RuleContext) makes the writes
