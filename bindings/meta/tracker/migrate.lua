---@meta
-- LuaLS definitions of tracker.migrate, the kit for one-off migrations (docs/migrations.md).

---@class tracker.migrate
local migrate = {}

---A row of a CSV file: the mapped fields (strings; empty values absent) and these.
---@class tracker.migrate.Row
---@field line integer the line the row starts on
---@field columns string[] the values as read, in the header's order
---@field error? string why the row cannot be used as it is
---@field [string] string

---A reader of a CSV file's rows; callable, so `for row in migrate.csv(...)` works.
---@class tracker.migrate.CsvReader
---@field header string[] the column names
---@field fields string[] the mapped names
---@field path string
---@field rows integer rows read so far
---@overload fun(): tracker.migrate.Row|nil
local CsvReader = {}

---The next row, or nil at the end (which closes the file).
---@return tracker.migrate.Row|nil
function CsvReader:next() end

---Closes the file (idempotent; `<close>` does it too).
function CsvReader:close() end

---The next physical line with its end of line, or nil at the end (used by the reader itself).
---@return string|nil
function CsvReader:readline() end

---The next record as a list of values, its line and what is wrong with its quoting (used by
---the reader itself).
---@return string[]|nil values
---@return integer? line
---@return string? problem
function CsvReader:record() end

---@class tracker.migrate.CsvOptions
---@field header? table<string, string|false> `{ ["Column"] = "field" }`; false leaves a column out
---@field required? string[] fields the header must have and each row must fill
---@field sep? string one character (default ",")
---@field trim? boolean trim spaces around unquoted values (default true)
---@field name? string the file's name in messages, for an open file

---A reader of a CSV file (a granted file name, or an open file), and a closing value.
---@param file string|file*
---@param opts? tracker.migrate.CsvOptions
---@return tracker.migrate.CsvReader
function migrate.csv(file, opts) end

---A writer of failed rows: the input's columns and an `error` column.
---@class tracker.migrate.FailureWriter
---@field count integer rows written
---@field path string
local FailureWriter = {}

---Writes a row (a CSV row's columns, else the fields the header names) and the error's text.
---@param row tracker.migrate.Row|table
---@param err? any default row.error
function FailureWriter:add(row, err) end

---Closes the file it opened; answers the number of rows written.
---@return integer
function FailureWriter:close() end

---@param file string|file* a granted output name or an open file
---@param header tracker.migrate.CsvReader|string[] the reader the rows come from, or column names
---@param opts? { sep?: string }
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
