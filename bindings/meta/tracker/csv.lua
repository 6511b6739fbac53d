---@meta
-- LuaLS definitions of tracker.csv, CSV files for one-off jobs (docs/migrations.md); the
-- reader and the failure writer of tracker.migrate are these.

---@class tracker.csv
local csv = {}

---A row of a CSV file: the mapped fields (strings; empty values absent) and these.
---@class tracker.csv.Row
---@field line integer the line the row starts on
---@field columns string[] the values as read, in the header's order
---@field error? string why the row cannot be used as it is
---@field [string] string

---A reader of a CSV file's rows; callable, so `for row in csv.reader(...)` works.
---@class tracker.csv.Reader
---@field header string[] the column names
---@field fields string[] the mapped names
---@field path string
---@field rows integer rows read so far
---@overload fun(): tracker.csv.Row|nil
local Reader = {}

---The next row, or nil at the end (which closes the file).
---@return tracker.csv.Row|nil
function Reader:next() end

---Closes the file (idempotent; `<close>` does it too).
function Reader:close() end

---The next physical line with its end of line, or nil at the end (used by the reader itself).
---@return string|nil
function Reader:readline() end

---The next record as a list of values, its line and what is wrong with its quoting (used by
---the reader itself).
---@return string[]|nil values
---@return integer? line
---@return string? problem
function Reader:record() end

---@class tracker.csv.ReaderOptions
---@field header? table<string, string|false> `{ ["Column"] = "field" }`; false leaves a column out
---@field required? string[] fields the header must have and each row must fill
---@field sep? string one character (default ",")
---@field trim? boolean trim spaces around unquoted values (default true)
---@field name? string the file's name in messages, for an open file

---A reader of a CSV file (a granted file name, or an open file), and a closing value.
---@param file string|file*
---@param opts? tracker.csv.ReaderOptions
---@return tracker.csv.Reader
function csv.reader(file, opts) end

---A writer of failed rows: the input's columns and an `error` column.
---@class tracker.csv.FailureWriter
---@field count integer rows written
---@field path string
local FailureWriter = {}

---Writes a row (a CSV row's columns, else the fields the header names) and the error's text.
---@param row tracker.csv.Row|table
---@param err? any default row.error
function FailureWriter:add(row, err) end

---Closes the file it opened; answers the number of rows written.
---@return integer
function FailureWriter:close() end

---@class tracker.csv.FailureOptions
---@field sep? string one character (default: the reader's, else ",")
---@field name? string the file's name in messages, for an open file

---@param file string|file* a granted output name or an open file
---@param header tracker.csv.Reader|string[] the reader the rows come from, or column names
---@param opts? tracker.csv.FailureOptions
---@return tracker.csv.FailureWriter
function csv.failures(file, header, opts) end

---Whether v is a reader of this module.
---@param v any
---@return boolean
function csv.is_reader(v) end

---Whether a name is one every row keeps for itself (`line`, `columns`, `error`).
---@param name string
---@return boolean
function csv.is_reserved(name) end

---The one-line text a failure file writes for an error: a tracker error as "code: message",
---a raised message without its script position.
---@param err any
---@return string
function csv.error_text(err) end

return csv
