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

return migrate
