---@meta
-- LuaLS definitions of the `tracker` module (tracker.so, and the module trk gives its scripts):
-- the client, its records, streams, errors and writes. Never loaded at run time; an editor reads
-- it once this directory is on `workspace.library` (docs/editor.md). The reference is
-- docs/client.md; spec/meta_spec.lua checks every public function has an entry here.

---@class tracker
---@field version string the module's version, e.g. "0.1.0"
local tracker = {}

-- ---- errors ---------------------------------------------------------------------------------

---The stable code of a failure of Tracker or the network.
---@alias tracker.ErrorCode
---| "not_found"       # no such record
---| "auth"            # credentials refused (widget status 1 or 2, HTTP 401/403)
---| "rate_limited"    # Tracker answered 429 (reads retry after Retry-After)
---| "invalid_request" # Tracker refused the request (widget status 99, HTTP 400)
---| "conflict"        # the record exists or has moved on (widget status 3, HTTP 409)
---| "server"          # HTTP 5xx
---| "network"         # no answer: cannot connect, connection dropped, body truncated
---| "timeout"         # no complete answer within `timeout`
---| "bad_response"    # an answer trk cannot read
---| "unknown_outcome" # a write whose result is unknown: settle it with t:check
---| "unsupported"     # this database does not give what the call needs to be safe
---| "unreachable"     # the server could not be reached for the outage budget: nothing is sent
---| "invalid"         # a value Tracker would refuse, found before anything was sent (raised, like misuse)

---What lookups, `s:next()` and writes return as their second value on failure.
---`tostring(err)` reads `not_found: job: no job with id 99 (HTTP 404)`.
---@class tracker.Error
---@field code tracker.ErrorCode
---@field message string what failed, where, and what to do about it
---@field status? integer the HTTP status, when there was one
---@field retryable boolean whether trying again later may succeed
---@field sent? boolean false when the request surely never left (a write is then resent)
---@field current? tracker.Stage for a `move_to_stage{ from = }` conflict: the stage the application is in
---@field existing? tracker.Application for a `create_application` conflict: the application that exists
---@field skipped? boolean a part of a `reject` in a batch not sent because an earlier part failed

-- ---- records ---------------------------------------------------------------------------------

---What every record has. Fields Tracker leaves empty are absent (`nil`, never `""`).
---@class tracker.Record
---@field id integer
---@field kind "job"|"candidate"|"application"|"activity"|"client"|"contact"|"lead"
---@field name? string
---@field updated_at? string UTC ISO 8601 (`2026-11-21T22:05:00Z`) with a time zone configured, else naive local time
---@field custom table<string, string|number|boolean> custom-field values by field name
---@field raw table the item exactly as Tracker sent it

---@class tracker.Job: tracker.Record
---@field kind "job"
---@field status? string a job status name
---@field company? string
---@field client_id? integer
---@field contact_id? integer
---@field contact? string
---@field type? string
---@field description? string
---@field owner? string
---@field opened_on? string YYYY-MM-DD

---@class tracker.Candidate: tracker.Record
---@field kind "candidate"
---@field status? string
---@field first_name? string
---@field last_name? string
---@field email? string
---@field other_email? string
---@field job_title? string
---@field company? string
---@field phone? string
---@field town? string
---@field county? string
---@field country? string
---@field source? string
---@field owner? string
---@field linkedin? string
---@field created_at? string
---@field created? boolean set by `t:create_candidate`: whether it was created (false: an existing match)

---@class tracker.Application: tracker.Record
---@field kind "application"
---@field stage? string the stage's name
---@field stage_id? integer
---@field job_id integer
---@field candidate_id integer
---@field client_id? integer
---@field job_name? string
---@field candidate_name? string
---@field client_name? string
---@field email? string the candidate's
---@field active? boolean
---@field start_date? string YYYY-MM-DD
---@field end_date? string YYYY-MM-DD
---@field pay_rate? number
---@field charge_rate? number
---@field created? boolean set by `t:create_application`

---An activity (a note, a call, ...). `t:add_note` answers one.
---@class tracker.Activity: tracker.Record
---@field kind "activity"
---@field subject? string
---@field type? string an activity type name (Note, Call, ...)
---@field status? string
---@field candidate_id? integer
---@field job_id? integer
---@field application_id? integer
---@field client_id? integer
---@field contact_id? integer
---@field user_id? integer
---@field user? string
---@field note? string the text
---@field date? string YYYY-MM-DD
---@field time? string HH:MM
---@field lead_id? integer
---@field company? string the linked client's name
---@field contact? string the linked contact's name
---@field priority? string
---@field contact_type? string Outbound, Inbound, ...
---@field custom? table<string, any>

---A client company (Tracker's C record). `t:clients{}` and `t:client(id)` answer these.
---@class tracker.ClientRecord: tracker.Record
---@field kind "client"
---@field status? string
---@field email? string
---@field phone? string
---@field website? string
---@field address1? string
---@field address2? string
---@field town? string
---@field county? string
---@field postcode? string
---@field country? string
---@field department? string
---@field source? string
---@field owner? string
---@field type? string client types, comma-separated
---@field created_at? string
---@field created? boolean

---A client's contact person (Tracker's N record).
---@class tracker.Contact: tracker.Record
---@field kind "contact"
---@field status? string
---@field first_name? string
---@field last_name? string
---@field job_title? string
---@field company? string the client's name
---@field client_id? integer the client (companyId)
---@field email? string
---@field phone? string mobile, else business, else home
---@field work_phone? string
---@field linkedin? string
---@field town? string
---@field county? string
---@field country? string
---@field type? string contact types
---@field created_at? string
---@field created? boolean true for the contact `create_contact` made
---@field planned? boolean

---A sales lead (Tracker's L record).
---@class tracker.Lead: tracker.Record
---@field kind "lead"
---@field subject? string
---@field status? string
---@field source? string
---@field description? string
---@field client_id? integer
---@field company? string the client's name
---@field created_at? string
---@field created? boolean true for the lead `create_lead` made
---@field planned? boolean

---A placement: an application in a Working, Offer or Complete stage (getRecords X).
---@class tracker.Placement: tracker.Record
---@field kind "placement"
---@field status? string its stage
---@field application_id? integer
---@field candidate_id? integer
---@field candidate_name? string
---@field job_id? integer
---@field client_id? integer
---@field contact_id? integer
---@field company? string
---@field start_date? string YYYY-MM-DD
---@field end_date? string YYYY-MM-DD
---@field pay_rate? number
---@field charge_rate? number
---@field charge_period? string
---@field currency? string
---@field assigned_at? string
---@field confirmed_on? string YYYY-MM-DD

---A person `t:find_person` found.
---@class tracker.Person
---@field kind "candidate"|"contact"
---@field id integer
---@field name? string

---@class tracker.PlacementFilters
---@field job? tracker.IdOrRecord
---@field candidate? tracker.IdOrRecord
---@field updated_after? string|integer
---@field updated_before? string|integer
---@field page_size? integer
---@field whole? boolean every record made whole as its page arrives, not field by field where read

---@class tracker.NewJob
---@field client? tracker.IdOrRecord the job's client (this or `contact` is needed)
---@field contact? tracker.IdOrRecord the contact who owns the job, at that client
---@field title string
---@field work_type? string an item of the database's work types
---@field description? string
---@field start_date? string YYYY-MM-DD
---@field end_date? string YYYY-MM-DD
---@field pay_rate? number
---@field charge_rate? number
---@field salary_from? number
---@field salary_to? number
---@field custom? table<string|integer, string|number|boolean>
---@field key? string

---@class tracker.NewCandidateFromResume
---@field filename string
---@field data string the file's bytes
---@field content_type? string
---@field job? tracker.IdOrRecord applies the candidate to this job
---@field list? "short"|"long"
---@field by? "user"|"resource"
---@field first_name? string fields given win over the parse (any of create_candidate's)
---@field last_name? string
---@field email? string
---@field source? string
---@field key? string

---A record or its id, where a write or a filter takes either.
---@alias tracker.RecordRef tracker.Record|{ kind: string, id: integer }
---@alias tracker.IdOrRecord integer|tracker.Record

---@class tracker.Stage
---@field id integer
---@field name string

---@class tracker.CustomField
---@field id integer
---@field name string
---@field type string Text, Number, List, Checkbox, Date, ...
---@field items? string[] a List field's items

---@class tracker.Metadata
---@field stages tracker.Stage[]
---@field candidate_statuses table[]
---@field job_statuses table[]
---@field sources table[]
---@field users table[]
---@field work_types table[]
---@field departments table[]
---@field custom_fields table<string, tracker.CustomField[]> by kind: job, candidate, application, activity, client, contact, lead
---@field activity_types? table[] nil where the settings list none (Tracker then checks the names)
---@field activity_statuses? table[]
---@field lead_sources table[]

---@class tracker.Resume
---@field filename string
---@field content_type? string
---@field data string the file's bytes

---@class tracker.Document
---@field kind "document"
---@field id integer
---@field filename string
---@field record_kind string
---@field record_id integer

---@class tracker.Stats
---@field requests integer
---@field retries integer
---@field exchanges integer REST tokens exchanged for a JWT
---@field page_caps { widget?: integer, rest?: integer } page sizes the server turned out to cap pages at

-- ---- writes: actions, hooks, batches ----------------------------------------------------------

---One write, as the hook, plans and journals see it.
---@class tracker.Action
---@field op string the method's name (`move_to_stage`, ...); raw writes: "request"
---@field target { kind: string, id: integer, name?: string }
---@field payload table what changes, in trk's names (no secrets)
---@field key string the idempotency key: the same write gives the same key in every run

---Sees every write before it is sent; `send()` sends it. What the hook returns is what the
---write returns, so a hook that does not call `send` makes a dry run.
---@alias tracker.Hook fun(action: tracker.Action, send: fun(): any, ...): any

---@class tracker.WriteOptions
---@field key? string the action's idempotency key, instead of the hash trk makes

---@class tracker.BatchFailure
---@field op string
---@field target { kind: string, id: integer, name?: string }
---@field key string
---@field err tracker.Error

---@class tracker.BatchResults
---@field done integer writes that succeeded
---@field failed tracker.BatchFailure[] in the order the writes were made

---@class tracker.BulkResults
---@field succeeded integer[] ids of the applications rejected
---@field failed { id: integer, err: tracker.Error }[]

-- ---- connecting ------------------------------------------------------------------------------

---Options of `tracker.connect`; each defaults to its TRACKER_* environment variable.
---@class tracker.ConnectOptions
---@field region? "us"|"ca"|"global" Tracker's own hosts (TRACKER_REGION)
---@field widget_url? string base URL of the widget API (TRACKER_WIDGET_URL)
---@field rest_url? string base URL of the REST API (TRACKER_REST_URL)
---@field apikey? string widget API key (TRACKER_APIKEY)
---@field username? string the API user (TRACKER_USERNAME)
---@field password? string that user's password, instead of an API key (TRACKER_PASSWORD)
---@field api_token? string REST API token, exchanged for a JWT (TRACKER_API_TOKEN)
---@field timezone? string|false the database's IANA zone, e.g. "America/Chicago" (TRACKER_TIMEZONE)
---@field rate_limit? integer|false requests a minute (default 100; TRACKER_RATE_LIMIT)
---@field rejection_stage? string|integer the stage `reject` moves to (TRACKER_REJECTION_STAGE)
---@field rejection_reasons? string[] the reasons `reject` accepts (TRACKER_REJECTION_REASONS)
---@field stages? table<string, integer>|{ id: integer, name: string }[] the stages by name, for a database whose settings list none (TRACKER_STAGES)
---@field search_route? "PagedSearch"|"Search" the REST application search (default: learnt; TRACKER_SEARCH_ROUTE)
---@field note_type? string the activity type notes are created with (TRACKER_NOTE_TYPE)
---@field note_status? string the activity status notes are created with (TRACKER_NOTE_STATUS)
---@field timeout? number seconds for one request (default 60)
---@field connect_timeout? number seconds to connect (default 10)
---@field retry_for? number seconds a read keeps retrying (default 120)
---@field page_size? integer records a page (default 500, capped by each API)
---@field concurrency? integer writes a batch keeps in flight (default 4)
---@field ca_file? string an extra CA bundle
---@field transport? table|function an in-process emulator (`require("tracker.emulator").new{}`)
---@field clock? fun(): number the client's monotonic clock, for tests
---@field sleep? fun(seconds: number) the client's sleep, for tests
---@field hook? tracker.Hook intercepts every write

---Makes a client. Without options everything comes from the environment (TRACKER_*). A missing
---credential is reported when an operation first needs it, naming the variable. `sink` (not
---with `opts.hook`) is where its writes go (default: `tracker.sinks.send`); inside trk the
---session chooses it and a script's is not used.
---@param opts? tracker.ConnectOptions
---@param sink? tracker.Sink
---@return tracker.Client
function tracker.connect(opts, sink) end

---Makes an error object (for hooks and transports that report failures as trk does).
---@param fields { code: tracker.ErrorCode, message: string, status?: integer }
---@return tracker.Error
function tracker.error(fields) end

---Whether `v` is an error object of this module.
---@param v any
---@return boolean
function tracker.is_error(v) end

---A migration's map from the source system's ids to Tracker's, in the state store: only inside
---`trk run` and `trk rules` (nil in plain Lua). migrate.linked keeps its map here.
---@class tracker.IdMap
---@field stored boolean whether what is set outlives the run (--apply)
---@field get fun(type: string, source: string): ("pending"|"done")?, integer?, integer?
---@field set fun(type: string, source: string, status: "pending"|"done", id?: integer, attempt?: integer)

---The id map `name` of the state store (trk only).
---@type (fun(name: string): tracker.IdMap)?
tracker.id_map = nil

---" (did you mean 'x'?)" for the names closest to `name`, or "": the suggestion every message
---of trk ends with.
---@param name string
---@param names string[]
---@return string
function tracker.suggest(name, names) end

---An HTTP exchange's parts ({ target =, headers =, body = }) without credentials: secret
---headers, query parameters and body fields replaced by placeholders, and every secret value
---found (added to `known`, longest first) scrubbed wherever else it appears. trk's scripts do
---not get it (trk's recorder, `--record DIR`, uses it).
---@param parts { target?: string, headers?: table<string, string>, body?: any }
---@param known string[] the secrets found so far, kept between exchanges
---@return table
function tracker.redact_exchange(parts, known) end

---8 hex digits of a salted hash of a client's API key (else its REST token), or nil: how a
---state store tells two databases at one URL apart. trk's scripts do not get it.
---@param t tracker.Client
---@param salt string at least 16 characters
---@return string?
function tracker.fingerprint(t, salt) end

-- ---- tracker.actions and tracker.sinks ----------------------------------------------------------

---Where a client's writes go: `write(action, send)` answers what the write answers; `send()`
---(at most once) sends it.
---@class tracker.Sink
---@field write fun(self: tracker.Sink, action: tracker.Action, send: fun(): any, tracker.Error?): any

---What trk knows about one kind of write (docs/client.md#actions-and-the-hook).
---@class tracker.ActionEntry
---@field target { kinds: table<string, true>, id?: boolean } the records it may target
---@field payload table<string, string> its payload's fields and their types ("string?": may be absent)
---@field deferred? boolean in `t:batch` it travels while the script goes on
---@field repeatable? boolean sending it again changes nothing
---@field creates? string the kind of record it makes
---@field check? fun(t: tracker.Client, target: table, payload: table, since?: integer|string, n: integer): boolean?, tracker.Error?
---@field describe? fun(payload: table): string
---@field unsure? fun(payload: table): string? why a pending one can be neither checked nor resent
---@field resent_conflict? boolean a resend's conflict names the record an earlier attempt made
---@field sets? fun(payload: table): table?, table? the fields a write that overwrites sets, and its custom fields
---@field replay? fun(t: tracker.Client, target: table, payload: table, key: string): any makes the write again (trk apply)

---The catalog of write operations: the one place that says what each is.
---@class tracker.actions
---@field PLANNED_ID integer ids of the records a plan pretends to create start above this
tracker.actions = {}

---The entry of an operation, or nil.
---@param op string
---@return tracker.ActionEntry?
function tracker.actions.entry(op) end

---Whether an action is one the catalog describes (its operation, target and payload): true, or
---nil and what is wrong.
---@param action any
---@return true|nil ok
---@return string? err
function tracker.actions.validate(action) end

---Every operation's name, sorted.
---@return string[]
function tracker.actions.ops() end

---Whether `id` is one a plan gave a record it pretends to create.
---@param id any
---@return boolean
function tracker.actions.is_planned_id(id) end

---The canonical text of a value: equal for equal values, whatever order their tables were built in.
---@param v any
---@return string
function tracker.actions.canonical(v) end

---16 hex digits naming a value's canonical text (FNV-1a, 64 bits): equal values, equal
---digits. Not a secure hash: it names content (the rule runner keys a record's change by it).
---@param v any
---@return string
function tracker.actions.fingerprint(v) end

---The idempotency key of an action ("op:16 hex digits").
---@param op string
---@param target { kind: string, id?: integer }
---@param payload table
---@return string
function tracker.actions.key(op, target, payload) end

---What a planned (unsent) write answers: `true`, or a stand-in with `planned = true`.
---@param action tracker.Action
---@param id integer the id a planned create's stand-in gets
---@return true|table
function tracker.actions.planned(action, id) end

---The change an action makes, in a few words.
---@param op string
---@param payload table
---@return string
function tracker.actions.describe(op, payload) end

---Reads back, with client `t`, whether an action happened: true, false, or nil, err.
---@param t tracker.Client
---@param action tracker.Action
---@param since? integer|string
---@param n integer
---@return boolean?, tracker.Error?
function tracker.actions.check(t, action, since, n) end

---The values a write that overwrites sets, by field (custom fields by name), and which of them
---are custom fields; nil for a write that overwrites nothing (a note, a tag, a create).
---@param op string
---@param payload table
---@return table<string, any>? values
---@return table<string, true>? custom
function tracker.actions.sets(op, payload) end

---What a record (as the client read it) holds now for the fields a write sets, from what
---Tracker sent ("" for empty); a field no read shows is left out.
---@param op string
---@param payload table
---@param record table
---@return table<string, any>
function tracker.actions.current(op, payload, record) end

---Reads a write's target record with client `t`.
---@param t tracker.Client
---@param target { kind: string, id: integer }
---@return tracker.Record|nil
---@return tracker.Error? err
function tracker.actions.read_record(t, target) end

---Reads the record an overwriting action targets, with client `t`: its values now, by field.
---@param t tracker.Client
---@param action tracker.Action
---@return table<string, any>|nil
---@return tracker.Error? err
function tracker.actions.read_current(t, action) end

---Whether two values of a field are the same as Tracker keeps them ("" and nil alike, numbers
---as numbers, checkboxes as Yes/No).
---@param a any
---@param b any
---@return boolean
function tracker.actions.same(a, b) end

---A field's value as plans and messages show it: 'text', a number, or (empty).
---@param v any
---@return string
function tracker.actions.shown(v) end

---The change a write makes, old -> new for each field it sets when `before` is known, else
---tracker.actions.describe's few words.
---@param op string
---@param payload table
---@param before? table<string, any>
---@return string
function tracker.actions.describe_change(op, payload, before) end

---Makes an action's write again with client `t`, under its own key (trk apply); raises for an
---operation a plan cannot replay (attach, request).
---@param t tracker.Client
---@param action tracker.Action
---@return any
function tracker.actions.replay(t, action) end

---The plain sinks.
---@class tracker.sinks
---@field send tracker.Sink sends each write
tracker.sinks = {}

---A sink from a hook function (the connect option `hook`).
---@param fn tracker.Hook
---@return tracker.Sink
function tracker.sinks.hook(fn) end

---A sink that plans: adds each action to `list` (when given) and answers it as planned.
---@param list? tracker.Action[]
---@return tracker.Sink
function tracker.sinks.plan(list) end

-- ---- tracker.time -----------------------------------------------------------------------------

---Instants as epoch seconds, ISO 8601 text and IANA time zones (read from TZif files).
---@class tracker.time
tracker.time = {}

---Epoch seconds of an ISO 8601 time with `Z` or an offset, or nil and a message.
---@param iso string
---@return integer|nil epoch
---@return string? err
function tracker.time.parse(iso) end

---`YYYY-MM-DDTHH:MM:SSZ` of epoch seconds.
---@param epoch integer
---@return string
function tracker.time.format(epoch) end

---The naive local time (`YYYY-MM-DD HH:MM:SS`) of an instant in a zone. A bad zone raises.
---@param epoch integer
---@param zone string an IANA zone, e.g. "America/Chicago"
---@return string
function tracker.time.to_local(epoch, zone) end

---Epoch seconds of a naive local time in a zone, or nil and a message.
---@param text string `YYYY-MM-DD HH:MM:SS` (or with a T)
---@param zone string
---@return integer|nil epoch
---@return string? err
function tracker.time.from_local(text, zone) end

---The zone's UTC offset in seconds at an instant.
---@param epoch integer
---@param zone string
---@return integer
function tracker.time.offset(epoch, zone) end

---true when the zone can be read, else nil and why.
---@param zone string
---@return true|nil ok
---@return string? err
function tracker.time.zone_valid(zone) end

-- ---- tracker.transport --------------------------------------------------------------------------

---The raw transports (not given to scripts inside trk).
---@class tracker.transport
tracker.transport = {}

---A libcurl transport, as the client makes for itself.
---@param opts? table
---@return table
function tracker.transport.curl(opts) end

-- ---- tracker.json ------------------------------------------------------------------------------

---The module's JSON, for plain Lua (the `json` module of busted specs is built on it); inside
---trk scripts have the global `json` instead.
---@class tracker.json
---@field null lightuserdata JSON null
tracker.json = {}

---JSON text of a value (nesting to 128 levels).
---@param value any
---@return string
function tracker.json.encode(value) end

---The value of JSON text, whole numbers as integers; nil and why when the text is not JSON.
---@param text string
---@return any value
---@return string? err
function tracker.json.decode(text) end

-- ---- the client -------------------------------------------------------------------------------

---A connection to one Tracker database. It has no fields of its own (credentials stay inside).
---@class tracker.Client
local Client = {}

---@class tracker.JobFilters
---@field state? "open"|"won"|"closed"
---@field updated_after? string|integer ISO 8601 or epoch seconds (inclusive)
---@field updated_before? string|integer (exclusive)
---@field search? string names
---@field page_size? integer
---@field whole? boolean every record made whole as its page arrives, not field by field where read

---@class tracker.CandidateFilters
---@field status? string
---@field updated_after? string|integer
---@field updated_before? string|integer
---@field search? string
---@field page_size? integer
---@field whole? boolean every record made whole as its page arrives, not field by field where read

---@class tracker.ApplicationFilters
---@field job? tracker.IdOrRecord
---@field candidate? tracker.IdOrRecord
---@field stage? string|integer a stage name (any case) or id
---@field updated_after? string|integer
---@field updated_before? string|integer
---@field page_size? integer

---@class tracker.ActivityFilters
---@field job? tracker.IdOrRecord
---@field candidate? tracker.IdOrRecord
---@field client? tracker.IdOrRecord activities linked to the client (or to its contacts, leads, jobs)
---@field contact? tracker.IdOrRecord
---@field lead? tracker.IdOrRecord
---@field updated_after? string|integer
---@field updated_before? string|integer
---@field page_size? integer
---@field whole? boolean every record made whole as its page arrives, not field by field where read

---Jobs, for a generic `for` (iterator, stream, nil, and the stream as the closing value).
---Inside `for` a failure raises; `s:next()` answers `nil, err` instead.
---@param filters? tracker.JobFilters
---@return fun(s: tracker.Stream): tracker.Job iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:jobs(filters) end

---@param filters? tracker.CandidateFilters
---@return fun(s: tracker.Stream): tracker.Candidate iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:candidates(filters) end

---Applications (from the REST API: needs `api_token`).
---@param filters? tracker.ApplicationFilters
---@return fun(s: tracker.Stream): tracker.Application iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:applications(filters) end

---@param filters? tracker.ActivityFilters
---@return fun(s: tracker.Stream): tracker.Activity iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:activities(filters) end

---@param id integer
---@return tracker.Job|nil
---@return tracker.Error? err `not_found` when there is none
function Client:job(id) end

---@param id integer
---@return tracker.Candidate|nil
---@return tracker.Error? err
function Client:candidate(id) end

---@param id integer
---@return tracker.Application|nil
---@return tracker.Error? err
function Client:application(id) end

---Placements (getRecords X), for a generic `for`.
---@param filters? tracker.PlacementFilters
---@return fun(s: tracker.Stream): tracker.Placement iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:placements(filters) end

---A placement by its application id; `not_found` also for an application not placed.
---@param id integer
---@return tracker.Placement|nil
---@return tracker.Error? err
function Client:placement(id) end

---The candidates and contacts Tracker knows by an email, phone or LinkedIn address.
---@param query { email?: string, phone?: string, linkedin?: string }
---@return tracker.Person[]|nil
---@return tracker.Error? err
function Client:find_person(query) end

---Creates a job (createOpportunity) for a client and its contact; answers it read back.
---@param job tracker.NewJob
---@return tracker.Job|nil
---@return tracker.Error? err
function Client:create_job(job) end

---A candidate from a CV (createResourceFromResume); the file is kept as its resume.
---@param cv tracker.NewCandidateFromResume
---@return tracker.Candidate|nil
---@return tracker.Error? err
function Client:create_candidate_from_resume(cv) end

---Updates a placement's status (a stage), dates, rates and `custom`.
---@param placement tracker.IdOrRecord
---@param fields { status?: string|integer, start_date?: string, end_date?: string, pay_rate?: number, charge_rate?: number, custom?: table }
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_placement(placement, fields, opts) end

---Candidates by name (searched on the server) and/or email (compared here, in any case).
---@param query { name?: string, email?: string }
---@return tracker.Candidate[]|nil
---@return tracker.Error? err
function Client:find_candidates(query) end

---@return tracker.Stage[]|nil
---@return tracker.Error? err
function Client:stages() end

---A stage by name (any case) or id, or nil and an error naming the closest stages.
---@param name_or_id string|integer
---@return tracker.Stage|nil
---@return tracker.Error? err
function Client:stage(name_or_id) end

---Stages, statuses, sources, users and custom fields (a copy; loaded once per client).
---@return tracker.Metadata|nil
---@return tracker.Error? err
function Client:metadata() end

---@param kind "job"|"candidate"|"application"|"activity"
---@return tracker.CustomField[]|nil
---@return tracker.Error? err
function Client:custom_fields(kind) end

---Reloads the metadata.
---@return tracker.Metadata|nil
---@return tracker.Error? err
function Client:refresh_metadata() end

---A candidate's resume, or nil when there is none.
---@param candidate tracker.IdOrRecord
---@return tracker.Resume|nil
---@return tracker.Error? err
function Client:resume(candidate) end

---Checks the widget credentials, and the REST token when one is set.
---@return true|nil
---@return tracker.Error? err
function Client:ping() end

---@return tracker.Stats
function Client:stats() end

---@class tracker.Database
---@field widget_url string?
---@field rest_url string?
---@field user string?
---@field in_process true? an emulator in this process (option `transport`): no database
---@field id string the URLs and the user as one string

---Which database the client talks to, as far as trk can tell without a request.
---@return tracker.Database
function Client:database() end

---Releases the client's connections.
function Client:close() end

---A candidate's tags.
---@param candidate tracker.IdOrRecord
---@return string[]|nil
---@return tracker.Error? err
function Client:tags(candidate) end

---The reasons `reject` accepts (may be empty: then any reason).
---@return string[]|nil
---@return tracker.Error? err
function Client:rejection_reasons() end

---Moves an application to a stage (a name, any case, or an id). With `from`, a move from any
---other stage is `conflict` and nothing is sent.
---@param app tracker.IdOrRecord
---@param stage string|integer
---@param opts? { from?: string|integer, key?: string }
---@return true|nil
---@return tracker.Error? err
function Client:move_to_stage(app, stage, opts) end

---@class tracker.NewApplication
---@field candidate tracker.IdOrRecord
---@field job tracker.IdOrRecord
---@field list? "short"|"long"
---@field by? "user"|"resource"
---@field source? string
---@field key? string the action's idempotency key

---Applies a candidate to a job; answers the new application (read back). The same pair twice
---is `conflict` with `err.existing`.
---@param fields tracker.NewApplication
---@return tracker.Application|nil
---@return tracker.Error? err
function Client:create_application(fields) end

---@class tracker.NewCandidate
---@field first_name? string
---@field last_name? string
---@field name? string
---@field email? string matched against existing candidates
---@field status? string
---@field custom? table<string, any>
---@field overwrite? boolean update an existing match (default false)
---@field job? tracker.IdOrRecord also apply the candidate to this job
---@field list? "short"|"long"
---@field by? "user"|"resource"
---@field other_email? string
---@field job_title? string
---@field company? string
---@field phone? string
---@field home_phone? string
---@field work_phone? string
---@field address1? string
---@field address2? string
---@field town? string
---@field county? string
---@field postcode? string
---@field country? string
---@field linkedin? string
---@field source? string
---@field availability? string
---@field nationality? string
---@field key? string the action's idempotency key

---Creates a candidate, or finds the one with that email (`created = false`).
---@param fields tracker.NewCandidate
---@return tracker.Candidate|nil
---@return tracker.Error? err
function Client:create_candidate(fields) end

---@class tracker.ClientFilters
---@field updated_after? string|integer
---@field updated_before? string|integer
---@field search? string names
---@field page_size? integer
---@field whole? boolean every record made whole as its page arrives, not field by field where read

---@class tracker.ContactFilters: tracker.ClientFilters
---@field client? tracker.IdOrRecord

---@class tracker.LeadFilters: tracker.ClientFilters
---@field client? tracker.IdOrRecord

---Clients, for a generic `for` (as `t:jobs`).
---@param filters? tracker.ClientFilters
---@return fun(s: tracker.Stream): tracker.ClientRecord iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:clients(filters) end

---Contacts, for a generic `for` (as `t:jobs`).
---@param filters? tracker.ContactFilters
---@return fun(s: tracker.Stream): tracker.Contact iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:contacts(filters) end

---Leads, for a generic `for` (as `t:jobs`).
---@param filters? tracker.LeadFilters
---@return fun(s: tracker.Stream): tracker.Lead iterator
---@return tracker.Stream stream
---@return nil
---@return tracker.Stream closing
function Client:leads(filters) end

---One client by id; `nil, err` (not_found) when there is none.
---@param id integer
---@return tracker.ClientRecord|nil
---@return tracker.Error? err
function Client:client(id) end

---@param id integer
---@return tracker.Contact|nil
---@return tracker.Error? err
function Client:contact(id) end

---@param id integer
---@return tracker.Lead|nil
---@return tracker.Error? err
function Client:lead(id) end

---@class tracker.NewContact
---@field first_name? string
---@field last_name? string
---@field name? string
---@field email? string matched against existing contacts (a match is `conflict`)
---@field phone? string
---@field work_phone? string
---@field home_phone? string
---@field job_title? string
---@field company? string the client's name
---@field create_company? boolean make the client when none has that name (default false)
---@field address1? string
---@field address2? string
---@field town? string
---@field county? string
---@field postcode? string
---@field country? string
---@field linkedin? string
---@field website? string
---@field note? string
---@field custom? table<string, any>
---@field key? string the action's idempotency key

---Creates a contact (and, with `create_company`, its client); answers it read back.
---@param fields tracker.NewContact
---@return tracker.Contact|nil
---@return tracker.Error? err
function Client:create_contact(fields) end

---@class tracker.NewLead
---@field subject string
---@field client? tracker.IdOrRecord
---@field source? string one of the database's lead sources, where it lists any
---@field description? string
---@field department? string
---@field custom? table<string, any>
---@field key? string the action's idempotency key

---Creates a lead; answers it read back.
---@param fields tracker.NewLead
---@return tracker.Lead|nil
---@return tracker.Error? err
function Client:create_lead(fields) end

---@class tracker.NewActivity
---@field type string one of the database's activity types (Telephone, Email, Meeting, ...)
---@field status? string one of its activity statuses
---@field subject? string
---@field note? string
---@field date? string YYYY-MM-DD, database local
---@field time? string HH:MM or h:mm AM/PM, database local
---@field user? string|integer the user it is for: an id, username or email
---@field priority? string
---@field contact_type? string
---@field custom? table<string, any> activity custom fields
---@field key? string the action's idempotency key

---Logs an activity of any type on a candidate, job, application, client, contact or lead.
---@param record tracker.RecordRef
---@param activity tracker.NewActivity
---@return tracker.Activity|nil
---@return tracker.Error? err
function Client:add_activity(record, activity) end

---Updates an activity: subject, note, priority, contact_type, date, time, type, status, `custom`.
---@param activity tracker.IdOrRecord
---@param fields table<string, any>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_activity(activity, fields, opts) end

---Updates a client's columns (docs/client.md lists them) and `custom`.
---@param client tracker.IdOrRecord
---@param fields table<string, any>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_client(client, fields, opts) end

---@param contact tracker.IdOrRecord
---@param fields table<string, any>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_contact(contact, fields, opts) end

---@param lead tracker.IdOrRecord
---@param fields table<string, any>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_lead(lead, fields, opts) end

---Adds a plain-text note to a candidate, job, application, client, contact or lead.
---@param record tracker.RecordRef
---@param text string
---@param opts? { subject?: string, type?: string, user?: string|integer, key?: string }
---@return tracker.Activity|nil
---@return tracker.Error? err
function Client:add_note(record, text, opts) end

---Attaches a file (an application's goes to its candidate).
---@param record tracker.RecordRef
---@param file { filename: string, data: string, content_type?: string, type?: string, primary?: boolean, key?: string }
---@return tracker.Document|nil
---@return tracker.Error? err
function Client:attach(record, file) end

---Sets custom fields by name (any case) or id; `""` clears one.
---@param record tracker.RecordRef
---@param fields table<string|integer, string|number|boolean>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:set_custom_fields(record, fields, opts) end

---Updates a candidate's columns (docs/client.md lists them) and `custom`.
---@param candidate tracker.IdOrRecord
---@param fields table<string, any>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_candidate(candidate, fields, opts) end

---Updates a job's columns (docs/client.md lists them) and `custom`.
---@param job tracker.IdOrRecord
---@param fields table<string, any>
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:update_job(job, fields, opts) end

---@param candidate tracker.IdOrRecord
---@param tag string
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:add_tag(candidate, tag, opts) end

---@param candidate tracker.IdOrRecord
---@param tag string
---@param opts? tracker.WriteOptions
---@return true|nil
---@return tracker.Error? err
function Client:remove_tag(candidate, tag, opts) end

---Moves to the rejection stage, sets "Rejection Reason" when the database has it, and notes why.
---@param app tracker.IdOrRecord
---@param opts? { reason?: string, note?: string, key?: string }
---@return true|nil
---@return tracker.Error? err
function Client:reject(app, opts) end

---`reject` for each application, going on past failures.
---@param apps tracker.IdOrRecord[]
---@param opts? { reason?: string, note?: string }
---@return tracker.BulkResults
function Client:bulk_reject(apps, opts) end

---Anything trk does not model, with the same credentials, rate limit and retries.
---@param req { method?: string, api?: "widget"|"rest", path: string, body?: table|string, key?: string }
---@return any|nil answer the decoded answer (`true` for an empty one)
---@return tracker.Error? err
function Client:request(req) end

---Runs `fn` with writes deferred: sent at once, answering `true` while they travel, up to
---`concurrency` in flight. Answers what became of them once all have settled.
---@param fn fun()
---@param opts? { concurrency?: integer }
---@return tracker.BatchResults
function Client:batch(fn, opts) end

---Settles a write whose outcome is unknown by reading its target back: true (it is there),
---false (send it again), or nil and an error. `n` is for the n-th of identical writes.
---@param action tracker.Action
---@param since? string|integer a time before the write
---@param n? integer
---@return boolean|nil
---@return tracker.Error? err
function Client:check(action, since, n) end

-- ---- streams ------------------------------------------------------------------------------------

---A record stream (`t:jobs{}` ...): pages by key, yields each record once.
---@class tracker.Stream
local Stream = {}

---The next record, nil at the end, or nil and an error.
---@return tracker.Record|nil
---@return tracker.Error? err
function Stream:next() end

---Releases the stream; idempotent (`break` and errors in a `for` close it too).
function Stream:close() end

---Records yielded so far.
---@return integer
function Stream:count() end

---Whether the server applied the stream's filters: false for a route seen to ignore them
---(REST /Search), where the stream applies them itself; nil before the first page.
---@return boolean?
function Stream:windowed() end

return tracker
