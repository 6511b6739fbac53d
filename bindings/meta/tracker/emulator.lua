---@meta
-- LuaLS definitions of tracker.emulator, the in-memory Tracker behind both APIs
-- (docs/emulator.md; the options in full at the top of scripts/tracker/emulator.lua).

---@class tracker.emulator
---@field limits table the page-size caps and token lifetimes new emulators start from
---@field wire table Tracker's wire vocabulary (verbs, columns, statuses) as the emulator speaks it
local emulator = {}

---@class tracker.emulator.Faults
---@field seed? integer seed of the fault dice (default 1)
---@field latency? integer|{ [1]: integer, [2]: integer } ms, answered as x-emulator-delay-ms
---@field rate_limit? integer|false requests a minute, past which 429
---@field errors? number|{ rate: number, statuses?: integer[] } fraction answered 5xx unprocessed
---@field drop? number fraction processed, then not answered
---@field truncate? number fraction processed, then half the body
---@field malformed? number fraction processed, then broken JSON
---@field page_cap? integer|false REST pages hold at most this many items
---@field clock_skew? number seconds the clock runs ahead
---@field burst? number fraction of requests that start a burst of 429s
---@field burst_length? integer requests in a burst (default 3)

---@class tracker.emulator.Options
---@field timezone? string the database's IANA zone (default data.timezone, else "UTC")
---@field apikey? string the widget API key it accepts
---@field username? string the API user
---@field password? string that user's password
---@field api_token? string the REST token ExchangeToken accepts
---@field clock? fun(): integer epoch seconds (default os.time)
---@field data? table a database from emulator.generate{} or emulator.from_json()
---@field synthetic? { candidates: integer, seed?: integer } a read-only computed database
---@field admin? boolean serve GET /_emulator/state and POST /_emulator/reset
---@field limits? table overrides of emulator.limits
---@field faults? tracker.emulator.Faults
---@field dialect? "evidence"|"rich" how answers are shaped (default "evidence": only what Tracker's evidence shows; docs/emulator.md, Dialects)

---@class tracker.emulator.GenerateOptions
---@field seed? integer default 1: the same seed gives the same database
---@field jobs? integer
---@field candidates? integer
---@field applications? integer
---@field activities? integer
---@field documents? integer
---@field clients? integer
---@field users? integer
---@field now? integer
---@field span_days? integer
---@field timezone? string

---A new emulator. Pass it as `tracker.connect{ transport = emu }`.
---@param opts? tracker.emulator.Options
---@return tracker.Emulator
function emulator.new(opts) end

---A realistic database, the same for the same seed.
---@param opts? tracker.emulator.GenerateOptions
---@return table data
function emulator.generate(opts) end

---A database saved with emu:to_json().
---@param text string
---@return table data
function emulator.from_json(text) end

---The database whose parts (emu:parts(true): the JSON text of each, by name) a store kept; a
---part missing or not JSON raises, naming it after `where`.
---@param parts table<string, string>
---@param where string
---@return table data
function emulator.from_parts(parts, where) end

---The metadata of a schema file (`trk schema export`), for generate{ schema = }; a bad file
---raises "where: the place in the file: what is wrong".
---@param text string the file's JSON text
---@param where? string how messages name the file (default "schema")
---@return table
function emulator.schema_from_json(text, where) end

---One in-memory Tracker database.
---@class tracker.Emulator
local Emulator = {}

---The database as JSON texts by part (tracker.emulator.model): the kept parts, or all of
---them with `all`.
---@param all? boolean
---@return table<string, string>
function Emulator:parts(all) end

---The one entry point: an HTTP request in, an HTTP answer out. Never raises for a bad request.
---@param method string
---@param path string
---@param headers table<string, string>
---@param body? string
---@return integer status
---@return table<string, string> headers lower-case names
---@return string body
function Emulator:handle(method, path, headers, body) end

---Replaces the database with `data`.
---@param data table
function Emulator:load(data) end

---A copy of the database.
---@return table
function Emulator:save() end

---The database as JSON, for emulator.from_json and `trk emulator --data`.
---@return string
function Emulator:to_json() end

---The live database (Tracker's field names), for assertions: read it, change it only by requests.
---@return table
function Emulator:state() end

---The application stages, what a client of a database whose settings list none is given as
---`stages` (TRACKER_STAGES).
---@return { id: integer, name: string }[]
function Emulator:stages() end

---One record of a kind ("candidates", "jobs", ...) by id, or nil.
---@param kind string
---@param id integer
---@return table|nil
function Emulator:get(kind, id) end

---Back to the data last loaded.
function Emulator:reset() end

---Replaces the faults.
---@param faults tracker.emulator.Faults
function Emulator:set_faults(faults) end

---The emulator's clock (clock + skew), epoch seconds.
---@return integer
function Emulator:now() end

---The database's naive local time of an instant (default: now).
---@param epoch? integer
---@return string
function Emulator:local_time(epoch) end

return emulator
