---@meta _
-- LuaLS definitions of the globals trk's sandbox gives `trk run` scripts and rules beside the
-- standard library (docs/sandbox.md). In plain Lua, `require "json"` gives the same json module.

---JSON, with integral numbers decoded as Lua integers.
---@class json
---@field null lightuserdata JSON null
json = {}

---@param value any
---@return string
function json.encode(value) end

---The value, or nil and a message saying where the text is wrong.
---@param text string
---@return any
---@return string? err
function json.decode(text) end

---Messages on stderr (and in a spec's summary.log), counted against --max-output.
log = {}

---@param ... any
function log.info(...) end

---@param ... any
function log.warn(...) end

---@param ... any
function log.error(...) end

---The files the command line grants: --input to read, --output to write.
files = {}

---Opens a file granted with --input, for reading (a file handle as io.open gives).
---@param name string
---@return file*|nil
---@return string? err
function files.open(name) end

---Creates a file granted with --output, for writing.
---@param name string
---@return file*|nil
---@return string? err
function files.create(name) end

---The script's arguments: arg[0] is the script, arg[1..n] what follows `--`.
---@type string[]
arg = {}
