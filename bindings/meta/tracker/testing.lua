---@meta
-- LuaLS definitions of tracker.testing, the busted kit for rules (docs/testing.md).

---@class tracker.testing
---@field default_now string the clock of every emulator unless `opts.now`: "2026-11-01T00:00:00Z"
local testing = {}

---A record built for the emulator: `kind`, `id` and the fields it was built with. Usable
---wherever a record is (`target = app` in an assertion, `t:application(app.id)`).
---@class tracker.testing.Fixture
---@field kind "job"|"candidate"|"application"|"placement"|"activity"|"client"|"contact"|"lead"
---@field id integer

---@class tracker.testing.JobFields
---@field id? integer
---@field name? string default "Software Engineer"
---@field status? string a job status name (default Active)
---@field description? string
---@field location? string
---@field department? string
---@field opened_on? string YYYY-MM-DD
---@field custom? table<string, any> by field name, checked against the emulator's fields
---@field updated_at? string|integer ISO 8601 or epoch seconds (default: an hour before the clock)
---@field raw? table merged into the emulator's record as is

---@class tracker.testing.CandidateFields
---@field id? integer
---@field name? string split into first and last
---@field first_name? string
---@field last_name? string
---@field email? string|false default candidate<id>@example.com; false: none
---@field other_email? string
---@field job_title? string
---@field company? string
---@field phone? string
---@field town? string
---@field county? string
---@field country? string
---@field source? string
---@field status? string default Active
---@field linkedin? string
---@field availability? string
---@field tags? string[]
---@field custom? table<string, any>
---@field created_at? string|integer
---@field updated_at? string|integer
---@field raw? table

---@class tracker.testing.ApplicationFields
---@field candidate tracker.testing.Fixture|integer required
---@field job tracker.testing.Fixture|integer required
---@field id? integer
---@field stage? string a stage name, any case (default Shortlisted)
---@field list? "short"|"long"
---@field by? "user"|"resource"
---@field source? string
---@field custom? table<string, any>
---@field created_at? string|integer
---@field updated_at? string|integer
---@field raw? table

---An application in one of the database's placement stages (those getRecords X answers).
---@class tracker.testing.PlacementFields
---@field candidate tracker.testing.Fixture|integer required
---@field job tracker.testing.Fixture|integer required
---@field id? integer shared with applications (Tracker's opportunity-resource ids)
---@field stage? string a placement stage, any case (default Working; the demo's: Offer, Working, Complete)
---@field start_date? string|integer YYYY-MM-DD (or an ISO 8601 time, or epoch seconds)
---@field end_date? string|integer YYYY-MM-DD (or an ISO 8601 time, or epoch seconds)
---@field pay_rate? number
---@field charge_rate? number
---@field charge_period? string e.g. "Hour"
---@field currency? string e.g. "USD"
---@field custom? table<string, any> application custom fields, by name
---@field created_at? string|integer
---@field updated_at? string|integer
---@field raw? table

---@class tracker.testing.NoteFields
---@field on tracker.testing.Fixture required: a candidate, job, application, placement, client, contact or lead
---@field id? integer
---@field subject? string
---@field text? string
---@field type? string an activity type (default Note)
---@field custom? table<string, any>
---@field updated_at? string|integer
---@field raw? table

---@param fields tracker.testing.JobFields
---@return tracker.testing.Fixture
function testing.job(fields) end

---@param fields tracker.testing.CandidateFields
---@return tracker.testing.Fixture
function testing.candidate(fields) end

---@param fields tracker.testing.ApplicationFields
---@return tracker.testing.Fixture
function testing.application(fields) end

---@param fields tracker.testing.PlacementFields
---@return tracker.testing.Fixture
function testing.placement(fields) end

---@param fields tracker.testing.NoteFields
---@return tracker.testing.Fixture
function testing.note(fields) end

---@class tracker.testing.ClientFields
---@field id? integer
---@field name? string default "Test Client"
---@field email? string
---@field phone? string
---@field website? string
---@field town? string
---@field county? string
---@field country? string
---@field custom? table<string, any>
---@field created_at? string|integer
---@field updated_at? string|integer
---@field raw? table

---@class tracker.testing.ContactFields
---@field id? integer
---@field client? tracker.testing.Fixture|integer the client fixture (or id) the contact works for
---@field first_name? string
---@field last_name? string
---@field name? string
---@field email? string
---@field phone? string
---@field job_title? string
---@field custom? table<string, any>
---@field created_at? string|integer
---@field updated_at? string|integer
---@field raw? table

---@class tracker.testing.LeadFields
---@field id? integer
---@field client? tracker.testing.Fixture|integer
---@field subject? string default "Test Lead"
---@field source? string
---@field description? string
---@field status? string a lead status (default Open)
---@field custom? table<string, any>
---@field created_at? string|integer
---@field updated_at? string|integer
---@field raw? table

---@param fields? tracker.testing.ClientFields
---@return tracker.testing.Fixture
function testing.client(fields) end

---@param fields? tracker.testing.ContactFields
---@return tracker.testing.Fixture
function testing.contact(fields) end

---@param fields? tracker.testing.LeadFields
---@return tracker.testing.Fixture
function testing.lead(fields) end

---@class tracker.testing.EmulatorOptions
---@field now? string|integer the fixed clock (default testing.default_now)
---@field timezone? false a client that does not know the database's zone (naive local times)
---@field dialect? "evidence"|"rich" the emulator's dialect (default "evidence"); where its settings list no stages the client is given the fixtures' stages, as a user configures them
---@field schema? string a schema file (`trk schema export FILE`): the custom fields, lists, stages and users the database has

---A client of a new in-process emulator holding the fixtures (and what they refer to), or
---emulator data (`require("tracker.emulator").generate{...}`). Writes a spec makes itself are sent.
---@param fixtures tracker.testing.Fixture[]|table
---@param opts? tracker.testing.EmulatorOptions
---@return tracker.Client
function testing.emulator(fixtures, opts) end

---The emulator's clock, epoch seconds.
---@param t tracker.Client a client from testing.emulator
---@return integer
function testing.now(t) end

---Moves the emulator's clock on by seconds, or to an ISO 8601 time.
---@param t tracker.Client
---@param by integer|string
---@return integer now
function testing.advance(t, by) end

---The emulator's live data (Tracker's field names), for assertions.
---@param t tracker.Client
---@return table
function testing.state(t) end

---@class tracker.testing.ReplayOptions
---@field now? string|integer the clock (default: the time of the recording)

---A client of a recording (`--record DIR` made DIR/cassette.jsonl), served as `trk emulator
-----replay` serves it, with the settings it was made with: a rule run against a user's
---recorded database. A request that was not recorded fails (status 599) naming it.
---@param dir string
---@param opts? tracker.testing.ReplayOptions
---@return tracker.Client
function testing.replay(dir, opts) end

---The emulator behind a client from testing.emulator.
---@param t tracker.Client
---@return tracker.Emulator
function testing.emulator_of(t) end

---The sandbox environment rules are loaded into, for loading other scripts the same way.
---@param path? string the script the environment's `require` looks beside
---@return table
function testing.environment(path) end

---Loads and checks a rule file, as `trk rules` does. A relative path is looked for from the
---current directory, then beside the calling spec.
---@param path string
---@return tracker.Rule
function testing.load_rule(path) end

---@class tracker.testing.RunOptions
---@field since? string|integer the rule's checkpoint (default: every record)
---@field catch? boolean record a rule's error in summary.errors and go on
---@field state? table what ctx.state starts as
---@field apply? boolean send the writes too (they are still listed)

---@class tracker.testing.Summary
---@field seen integer records passing the rule's `where`
---@field matched integer records `when` accepted
---@field planned integer actions
---@field errors { id: integer, message: string }[]
---@field log { level: "info"|"warn"|"error"|"print", text: string }[]

---Runs a rule over the emulator's records with every write planned, not sent.
---@param rule tracker.Rule
---@param t tracker.Client
---@param opts? tracker.testing.RunOptions
---@return tracker.Action[] actions
---@return tracker.testing.Summary summary
function testing.run_rule(rule, t, opts) end

---A payload matcher: matches a string holding `text`.
---@param text string
---@return function
function testing.contains(text) end

---One line describing an action, as assertion failures print it.
---@param action tracker.Action
---@return string
function testing.describe(action) end

---The assertions requiring tracker.testing registers with luassert.
---@class tracker.testing.Expected
---@field op? string
---@field target? tracker.testing.Fixture|tracker.Record|{ kind: string, id: integer }|integer
---@field payload? table a subset of the payload; a function is a matcher
---@field key? string

---@class luassert
---@field planned fun(actions: tracker.Action[], expected: tracker.testing.Expected)
---@field not_planned fun(actions: tracker.Action[], expected: tracker.testing.Expected)
---@field planned_count fun(n: integer, actions: tracker.Action[], expected?: tracker.testing.Expected)

return testing
