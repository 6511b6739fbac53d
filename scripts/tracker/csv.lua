-- tracker.csv: CSV files for one-off jobs: a reader of a file's rows, its columns mapped to
-- field names, and a writer of the rows that failed, in the columns they were read in and an
-- `error` column, that reads back as the input did. tracker.migrate's csv and failures are
-- these, and its helpers take a reader as their rows.
--
--   csv.reader(file [, { header =, required =, sep =, trim =, name = }]) -> reader, nil, nil, reader
--   csv.failures(file, header [, { sep =, name = }])                     -> w (w:add, w:close)
--   csv.is_reader(v), csv.is_reserved(name), csv.error_text(err)
--
-- Inside trk this module is loaded into the script's environment, so it opens files through
-- the sandbox's `files` (only what --input and --output grant); in plain Lua (busted) it
-- falls back to `io`. Misuse raises at the script's line; inside, it travels as nil, message.

local tracker = require "tracker"

local M = {}

local type, pairs, ipairs, tostring, error, pcall = type, pairs, ipairs, tostring, error, pcall
local setmetatable, getmetatable = setmetatable, getmetatable
local fmt, sub, lower, find, match, gsub =
      string.format, string.sub, string.lower, string.find, string.match, string.gsub
local concat, unpack = table.concat, table.unpack
local min = math.min

-- " (did you mean 'x'?)": the client's, so every message of trk suggests alike.
local suggest = tracker.suggest
local args = require "tracker.util"
local trim, blank, has_method, checked_options = args.trim, args.blank, args.has_method, args.options

-- Names a row keeps for itself: a header cannot map a column onto them.
local RESERVED = { line = true, columns = true, error = true }

local UTF8_BOM = "\239\187\191"

-- ---- small helpers ---------------------------------------------------------------------------

-- Files: the sandbox's grants inside trk, the io library in plain Lua.
local function open_file(path, writing)
  if files then                       -- a global of trk's sandbox, absent in plain Lua
    return (writing and files.create or files.open)(path)
  end
  return io.open(path, writing and "wb" or "rb")
end

-- The text of an error for a failure file: a tracker error as "code: message", a raised
-- message without the "file:line:" of where it was raised, all on one line.
local function error_text(e)
  local text = tostring(e)
  if not tracker.is_error(e) then text = gsub(text, "^[^\n]-:%d+: ", "", 1) end
  return (gsub(text, "%s*[\r\n]+%s*", " "))
end

-- ---- reading ---------------------------------------------------------------------------------

local Reader = {}
Reader.__index = Reader

-- The next physical line with its end of line, or nil at the end of the file.
function Reader:readline()
  local line, e = self.h:read("L")
  if line == nil then
    if e then error(fmt("csv: %s: %s", self.path, tostring(e)), 0) end
    return nil
  end
  self.lineno = self.lineno + 1
  if self.lineno == 1 and sub(line, 1, 3) == UTF8_BOM then line = sub(line, 4) end
  return line
end

-- Where a line's text ends, before its "\n" or "\r\n".
local function body_end(line)
  if sub(line, -2) == "\r\n" then return #line - 2 end
  if sub(line, -1) == "\n" then return #line - 1 end
  return #line
end

-- One record: the list of its values, the line it starts on and, for malformed quoting, what
-- is wrong; nil at the end of the file. Blank lines are skipped. Quoted values keep their text
-- exactly, line breaks included; unquoted ones are trimmed when the reader trims.
function Reader:record()
  local line
  repeat
    line = self:readline()
    if line == nil then return nil end
  until not match(line, "^%s*$")
  local start, sep = self.lineno, self.sep
  local values, problem = {}, nil
  local i = 1
  while true do
    local stop = body_end(line)
    local q = match(line, "^[ \t]*()\"", i)
    if q then
      local parts, j = {}, q + 1
      while true do
        local close = find(line, "\"", j, true)
        if not close then
          parts[#parts + 1] = sub(line, j)
          local nextline = self:readline()
          if not nextline then
            values[#values + 1] = concat(parts)
            return values, start, fmt("a quoted value opened on line %d is never closed", start)
          end
          line, j = nextline, 1
        elseif sub(line, close + 1, close + 1) == "\"" then
          parts[#parts + 1] = sub(line, j, close)           -- "" is one quote
          j = close + 2
        else
          parts[#parts + 1] = sub(line, j, close - 1)
          i = close + 1
          break
        end
      end
      stop = body_end(line)
      local after = match(line, "^[ \t]*()", i)
      if after <= stop and sub(line, after, after) ~= sep then
        -- text after the closing quote: kept in the value, and the row is reported
        local e = find(line, sep, after, true)
        local upto = e and min(e - 1, stop) or stop
        parts[#parts + 1] = sub(line, i, upto)
        problem = problem or fmt("line %d, column %d: text after a closing quote (a quote "
                                 .. "inside a quoted value is written \"\")", self.lineno,
                                 #values + 1)
        after = upto + 1
      end
      values[#values + 1] = concat(parts)
      if after > stop then return values, start, problem end
      i = after + 1
    else
      local e = find(line, sep, i, true)
      local last = (e and e <= stop) and e - 1 or stop
      local v = sub(line, i, last)
      values[#values + 1] = self.trim and trim(v) or v
      if last == stop then return values, start, problem end
      i = e + 1
    end
  end
end

local function all_empty(values)
  for _, v in ipairs(values) do if v ~= "" then return false end end
  return true
end

-- The next row, or nil at the end (which closes the file). A row holds the mapped fields
-- (strings; empty values absent), `line`, `columns` (the values as read, in header order)
-- and, for a row that cannot be used as it is, `error`. Rows of nothing but separators are
-- skipped.
function Reader:next()
  local values, line, problem
  repeat
    if self.closed then return nil end
    values, line, problem = self:record()
    if not values then
      self:close()
      return nil
    end
  until problem or not all_empty(values)
  local n = #self.header
  if self.drop_error and #values == n + 1 then values[n + 1] = nil end   -- a failure file's
  -- trailing empty values (spreadsheets pad rows with separators) are not extra columns
  while #values > n and values[#values] == "" do values[#values] = nil end
  local row = { line = line, columns = values }
  if #values > n then
    local extra = {}
    for k = n + 1, #values do extra[#extra + 1] = fmt("%q", values[k]) end
    problem = problem or fmt("line %d: %d values, the header has %d (extra: %s)", line, #values,
                             n, concat(extra, ", "))
    for k = #values, n + 1, -1 do values[k] = nil end
  elseif #values < n then
    problem = problem or fmt("line %d: %d values, the header has %d", line, #values, n)
  end
  for k, field in pairs(self.map) do
    local v = values[k]
    if v ~= nil and v ~= "" then row[field] = v end
  end
  if not problem then
    for _, field in ipairs(self.required) do
      if blank(row[field]) then
        problem = fmt("line %d: no value for '%s'", line, field)
        break
      end
    end
  end
  row.error = problem
  self.rows = self.rows + 1
  return row
end

function Reader:close()
  if self.closed then return end
  self.closed = true
  if self.owned then self.h:close() end
end

Reader.__call = Reader.next
Reader.__close = Reader.close
function Reader.__tostring(self)
  return fmt("csv reader %s (line %d%s)", self.path, self.lineno, self.closed and ", closed" or "")
end

-- Reads the header row and maps column index -> field name: true, or nil and what is wrong.
local function read_header(r, opts)
  local header, _, problem = r:record()
  if not header then return nil, fmt("csv: %s is empty: the first line must name the columns", r.path) end
  if problem then return nil, fmt("csv: %s: the header row is malformed: %s", r.path, problem) end
  if header[#header] == "error" then
    header[#header] = nil                 -- the error column of a failure file: left out
    r.drop_error = true
  end
  while #header > 0 and header[#header] == "" do header[#header] = nil end
  r.header = header
  local by_name, map = {}, {}
  for k, name in ipairs(header) do
    local key = lower(trim(name))
    if key ~= "" then
      if by_name[key] then
        return nil, fmt("csv: %s: the header names column '%s' twice (columns %d and %d)", r.path,
                        name, by_name[key], k)
      end
      by_name[key], map[k] = k, trim(name)
    end
  end
  for col, field in pairs(opts.header or {}) do
    if type(col) ~= "string" or not (type(field) == "string" or field == false) then
      return nil, fmt("csv: option 'header' maps column names to field names (or false to leave "
                      .. "a column out), got [%s] = %s", tostring(col), tostring(field))
    end
    local k = by_name[lower(trim(col))]
    if not k then
      return nil, fmt("csv: %s has no column '%s'%s (columns: %s)", r.path, col,
                      suggest(col, header), concat(header, ", "))
    end
    map[k] = field or nil
  end
  local seen, fields = {}, {}
  for k = 1, #header do
    local field = map[k]
    if field then
      if RESERVED[field] then
        return nil, fmt("csv: %s: column '%s' cannot give '%s' (each row has its own '%s'): map "
                        .. "it to another name with header = { [%q] = \"...\" }", r.path,
                        header[k], field, field, header[k])
      end
      if seen[field] then
        return nil, fmt("csv: %s: columns '%s' and '%s' both give '%s'", r.path,
                        header[seen[field]], header[k], field)
      end
      seen[field] = k
      fields[#fields + 1] = field
    end
  end
  r.map, r.fields, r.required = map, fields, {}
  for _, field in ipairs(opts.required or {}) do
    if not seen[field] then
      return nil, fmt("csv: %s has no column for the required field '%s'%s (columns: %s; map one "
                      .. "with header = { [\"Column\"] = %q })", r.path, field,
                      suggest(field, header), concat(header, ", "), field)
    end
    r.required[#r.required + 1] = field
  end
  return true
end

local READER_OPTIONS = { header = "table", required = "table", sep = "string", trim = "boolean",
                         name = "string" }

-- A reader whose header has been read, or nil and what is wrong.
local function open_reader(source, opts)
  local e
  opts, e = checked_options("csv", opts, READER_OPTIONS)
  if not opts then return nil, e end
  local sep = opts.sep or ","
  if #sep ~= 1 or sep == "\"" or sep == "\r" or sep == "\n" then
    return nil, fmt("csv: option 'sep' must be one character other than a quote or a line "
                    .. "break, got %q", sep)
  end
  local h, path, owned = source, opts.name, false
  if type(source) == "string" then
    h, e = open_file(source, false)
    if not h then return nil, fmt("csv: cannot open %s: %s", source, tostring(e)) end
    path, owned = opts.name or source, true
  elseif not has_method(source, "read") then
    return nil, fmt("csv: argument 1 must be a file name or a file open for reading, got %s",
                    type(source))
  end
  local r = setmetatable({ h = h, path = path or "input", owned = owned, sep = sep,
                           trim = opts.trim ~= false, lineno = 0, rows = 0, closed = false },
                         Reader)
  local ok, done, why = pcall(read_header, r, opts)
  if not (ok and done) then r:close() end
  if not ok then error(done, 0) end
  if not done then return nil, why end
  return r
end

-- csv.reader(path_or_handle, { header =, required =, sep =, trim =, name = }): a reader of
-- the file's rows. Returns the reader, nil, nil and the reader again, so that
-- `for row in csv.reader(...)` closes the file however the loop ends.
function M.reader(source, opts)
  local r, e = open_reader(source, opts)
  if not r then error(e, 2) end
  return r, nil, nil, r
end

-- csv.is_reader(v): whether v is a reader of this module (its header and fields are known
-- before its first row).
function M.is_reader(v)
  return getmetatable(v) == Reader
end

-- ---- writing ---------------------------------------------------------------------------------

-- A value as a CSV field: quoted when it holds the separator, a quote, a line break, or spaces
-- at either end (which an unquoted value loses on reading).
local function csv_field(v, sep)
  v = v == nil and "" or tostring(v)
  if find(v, "[\"\r\n]") or find(v, sep, 1, true) or find(v, "^%s") or find(v, "%s$") then
    return "\"" .. gsub(v, "\"", "\"\"") .. "\""
  end
  return v
end

local function csv_line(values, n, sep)
  local out = {}
  for k = 1, n do out[k] = csv_field(values[k], sep) end
  return concat(out, sep) .. "\n"
end

local Writer = {}
Writer.__index = Writer

-- w:add(row, err): writes the row's original values (a CSV row's `columns`, else the row's
-- fields named by the header) and the error's text (err, else the row's own `error`).
function Writer:add(row, e)
  if self.closed then error("failures: add: the failure file is closed", 2) end
  if type(row) ~= "table" then row = { id = row } end
  local n = #self.header
  local values = {}
  for k = 1, n do
    if row.columns then values[k] = row.columns[k] else values[k] = row[self.header[k]] end
  end
  values[n + 1] = error_text(e or row.error or "failed")
  local ok, we = self.h:write(csv_line(values, n + 1, self.sep))
  if not ok then error(fmt("failures: cannot write %s: %s", self.path, tostring(we)), 2) end
  self.count = self.count + 1
end

-- w:close(): closes the file (when the writer opened it); returns the number of rows written.
function Writer:close()
  if not self.closed then
    self.closed = true
    if self.owned then self.h:close() end
  end
  return self.count
end

Writer.__close = Writer.close
function Writer.__tostring(self)
  return fmt("failure file %s (%d rows%s)", self.path, self.count, self.closed and ", closed" or "")
end

-- A writer whose header row is written, or nil and what is wrong.
local function open_writer(dest, header, opts)
  local e
  opts, e = checked_options("failures", opts, { sep = "string", name = "string" })
  if not opts then return nil, e end
  local reader = getmetatable(header) == Reader and header or nil
  local names = reader and reader.header or header
  if type(names) ~= "table" or #names == 0 then
    return nil, fmt("failures: argument 2 must be the CSV reader the rows come from or a list of "
                    .. "column names, got %s", type(header))
  end
  local h, owned, path = dest, false, opts.name or "output"
  if type(dest) == "string" then
    h, e = open_file(dest, true)
    if not h then return nil, fmt("failures: cannot create %s: %s", dest, tostring(e)) end
    owned, path = true, opts.name or dest
  elseif not has_method(dest, "write") then
    return nil, fmt("failures: argument 1 must be a file name or a file open for writing, got %s",
                    type(dest))
  end
  local w = setmetatable({ h = h, owned = owned, path = path, count = 0, closed = false,
                           sep = opts.sep or (reader and reader.sep) or ",",
                           header = { unpack(names) } }, Writer)
  local cols = { unpack(names) }
  cols[#cols + 1] = "error"
  h:write(csv_line(cols, #cols, w.sep))
  return w
end

-- csv.failures(path_or_handle, header [, { sep =, name = }]): a writer of failed rows, with
-- the header's columns and an `error` column. header: the CSV reader the rows come from, or a
-- list of column names.
function M.failures(dest, header, opts)
  local w, e = open_writer(dest, header, opts)
  if not w then error(e, 2) end
  return w
end

-- csv.error_text(err): the text a failure file gives an error (tracker.migrate's summaries
-- and on_row too).
M.error_text = error_text

-- csv.is_reserved(name): whether name is one every row keeps for itself (`line`, `columns`,
-- `error`), which no column can give.
function M.is_reserved(name)
  return RESERVED[name] == true
end

return M
