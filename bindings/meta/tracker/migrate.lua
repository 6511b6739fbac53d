---@meta
-- LuaLS definitions of tracker.migrate, the kit for one-off migrations (docs/migrations.md).

---@class tracker.migrate
local migrate = {}

---A row of a CSV file: tracker.csv's (bindings/meta/tracker/csv.lua).
---@alias tracker.migrate.Row tracker.csv.Row

---@alias tracker.migrate.CsvOptions tracker.csv.ReaderOptions

---migrate.csv's reader: tracker.csv's. Its methods, documented as tracker.csv.Reader's, are
---named again under this module's name for it.
---@class tracker.migrate.CsvReader: tracker.csv.Reader
---@overload fun(): tracker.csv.Row|nil
local CsvReader = {}
---@return tracker.csv.Row|nil
function CsvReader:next() end
function CsvReader:close() end
---@return string|nil
function CsvReader:readline() end
---@return string[]|nil values, integer? line, string? problem
function CsvReader:record() end

---A reader of a CSV file (a granted file name, or an open file), and a closing value:
---tracker.csv's `csv.reader`.
---@param file string|file*
---@param opts? tracker.csv.ReaderOptions
---@return tracker.migrate.CsvReader
function migrate.csv(file, opts) end

---migrate.failures's writer: tracker.csv's. Its methods, documented as
---tracker.csv.FailureWriter's, are named again under this module's name for it.
---@class tracker.migrate.FailureWriter: tracker.csv.FailureWriter
local FailureWriter = {}
---@param row tracker.csv.Row|table
---@param err? any
function FailureWriter:add(row, err) end
---@return integer
function FailureWriter:close() end

---A writer of failed rows: tracker.csv's `csv.failures`.
---@param file string|file* a granted output name or an open file
---@param header tracker.csv.Reader|string[] the reader the rows come from, or column names
---@param opts? tracker.csv.FailureOptions
---@return tracker.migrate.FailureWriter
function migrate.failures(file, header, opts) end

---A summary that prints as one line (`rows 5000: created 4900, ...`); the counts are fields.
---@class tracker.migrate.Summary
---@field rows? integer
---@field records? integer
---@field created? integer
---@field updated? integer
---@field unchanged? integer
---@field skipped? integer
---@field moved? integer
---@field attached? integer
---@field failed integer
---@field errors { line?: integer, id?: integer, error: string }[] the first 100, without a failure writer

---@alias tracker.migrate.Rows tracker.migrate.CsvReader|table[]|fun(): table|nil

---@class tracker.migrate.CommonOptions
---@field failures? tracker.migrate.FailureWriter
---@field on_row? fun(row: table, status: string, detail: any)

---@class tracker.migrate.UpsertOptions: tracker.migrate.CommonOptions
---@field key? string "email" (default), another field, "custom.Field Name", or "id"
---@field update? boolean false: leave existing candidates as they are
---@field defaults? table<string, any> values for fields a row leaves empty

---Finds each row's candidate by `key`: none, creates one; one, updates what differs.
---@param t tracker.Client
---@param rows tracker.migrate.Rows
---@param opts? tracker.migrate.UpsertOptions
---@return tracker.migrate.Summary
function migrate.upsert_candidates(t, rows, opts) end

---@class tracker.migrate.AttachOptions: tracker.migrate.CommonOptions
---@field key? string "email" (default), another candidate field, or "id"
---@field target? "candidate"|"application"
---@field dir? string the directory `file` paths are relative to
---@field type? string a document type for rows that do not say
---@field primary? boolean
---@field skip_existing? boolean false: attach even when a document of that name is there

---Attaches each row's `file` to the record its key names.
---@param t tracker.Client
---@param rows tracker.migrate.Rows
---@param opts? tracker.migrate.AttachOptions
---@return tracker.migrate.Summary
function migrate.attach_files(t, rows, opts) end

---@class tracker.migrate.BackfillOptions: tracker.migrate.CommonOptions
---@field where? table filters of the stream, as t:candidates{...} takes
---@field kind? "candidate"|"job"|"application" for rows of a CSV reader

---Sets custom fields record by record: `fn(record)` answers `{ ["Field"] = value }` or nil.
---@param t tracker.Client
---@param records "candidates"|"jobs"|"applications"|tracker.Stream|table[]|tracker.migrate.CsvReader
---@param fn fun(record: table): table<string, any>|nil
---@param opts? tracker.migrate.BackfillOptions
---@return tracker.migrate.Summary
function migrate.backfill(t, records, fn, opts) end

---@class tracker.migrate.MoveOptions: tracker.migrate.CommonOptions
---@field from? string|integer only applications in this stage move (others fail: conflict)
---@field column? string the id column of CSV rows (default "id")

---Moves applications to a stage (nil: each row's `stage` column).
---@param t tracker.Client
---@param ids integer[]|tracker.migrate.Rows
---@param stage string|integer|nil
---@param opts? tracker.migrate.MoveOptions
---@return tracker.migrate.Summary
function migrate.move_applications(t, ids, stage, opts) end

---A reference to a record of another type of the set whose type the row names: its field
---(a type's name or kind, any case) is `type`, the field itself holds the record's source id.
---@class tracker.migrate.AnyRef
---@field type string the row field naming the type ("on_type")

---One CSV file of a linked import.
---@class tracker.migrate.LinkedType
---@field file string the CSV file, in the set's `dir`
---@field id? string the field of the source system's id (default "id")
---@field kind? "client"|"contact"|"job"|"candidate"|"application"|"activity"|"document" default: from the type's name
---@field header? table<string, string|false> columns -> fields, as migrate.csv takes
---@field sep? string the separator
---@field refs? table<string, string|tracker.migrate.AnyRef> fields naming another type's records: `client = "clients"`
---@field failures? string this file's failure file
---@field folder? string documents: where the files are (default: the set's `dir`)

---The files of a linked import (`clients = { ... }`, `contacts = { ... }`, ...) and its options.
---@class tracker.migrate.LinkedSet
---@field dir? string the folder of the files
---@field name? string the id map's name in the state store (default: `dir`, else "linked")
---@field failures? string a folder getting one failure file per type (TYPE.csv)
---@field sample? integer rows of each type the summary shows (default 3)
---@field ids? table plain Lua: a table keeping the map between calls (`ids.jobs["J1"]`)
---@field on_row? fun(type: string, row: tracker.csv.Row, status: string, detail: any)
---@field [string] tracker.migrate.LinkedType

---What one type of a linked import came to.
---@class tracker.migrate.LinkedCounts
---@field rows integer
---@field created integer
---@field linked integer records Tracker had already (a person by email, a client by name)
---@field mapped integer rows the id map knew from an earlier run
---@field failed integer
---@field sample string[] a few rows, each with what became of it
---@field file string

---@class tracker.migrate.LinkedSummary
---@field types table<string, tracker.migrate.LinkedCounts>
---@field order string[] the types in the order they were imported
---@field created integer
---@field failed integer

---Imports CSV files that refer to each other by the source system's ids, in the order of their
---references, each source id once (docs/migrations.md).
---@param t tracker.Client
---@param set tracker.migrate.LinkedSet
---@return tracker.migrate.LinkedSummary
function migrate.linked(t, set) end

return migrate
