-- Fuzz driver of fuzz_csv, run in trk's sandbox: the input is the content of the granted file
-- `src`. Reads every row with tracker.csv's reader (with the default options, then with
-- others), and checks the promise of failure files: rows written with csv.failures read back
-- the same. (tracker.migrate's csv and failures are these two.)
--
-- What counts as a bug (the driver returns a message, the target aborts): a row read back
-- from the failure file with other values than it was written with, a row without its line
-- number or columns, and, unless the target says otherwise (TRK_FUZZ_STRICT=0), a Lua error
-- raised inside the module's own code ("[trk] tracker/...:N:"). Errors the reader raises on
-- purpose (a bad header) are fine.

local csv = require "tracker.csv"

local type, pcall, tostring, ipairs, pairs = type, pcall, tostring, ipairs, pairs
local fmt, find, match = string.format, string.find, string.match
local concat = table.concat
local mtype = math.type

local OPTIONS = {
  false,                                         -- the defaults
  { sep = ";", trim = false },
  { sep = "\t", required = { "key" }, header = { id = "key" } },
}

local function internal(e)
  return type(e) == "string" and find(e, "^%[trk%] tracker/[%w_]+%.lua:%d+:") ~= nil
end

-- Every row of the file, read as a script reads them; checks each row's shape.
local function read_all(path, opts)
  local rows = {}
  local reader = csv.reader(path, opts or nil)
  for row in reader do
    if mtype(row.line) ~= "integer" or type(row.columns) ~= "table" then
      error({ bug = fmt("row %d: no line number or columns", #rows + 1) })
    end
    for k, v in pairs(row) do
      if type(k) ~= "string" then error({ bug = "a row with a key of type " .. type(k) }) end
      local _ = tostring(v)
    end
    rows[#rows + 1] = row
  end
  return rows, reader
end

local function same(a, b)
  local n, m = #a, #b
  while n > 0 and a[n] == "" do n = n - 1 end          -- padding: an empty value is no value
  while m > 0 and b[m] == "" do m = m - 1 end
  if n ~= m then return false end
  for k = 1, n do if a[k] ~= b[k] then return false end end
  return true
end

local function show(values)
  local out = {}
  for k, v in ipairs(values) do out[k] = fmt("%q", v) end
  return "{" .. concat(out, ", ") .. "}"
end

-- Writes the good rows to a failure file and reads it back: the values must be the same.
local function round_trip(rows, reader, out)
  local w = csv.failures(out, reader)
  local good = {}
  for _, row in ipairs(rows) do
    if not row.error then
      w:add(row, "fuzz")
      good[#good + 1] = row
    end
  end
  w:close()
  local again = read_all(out)
  if #again ~= #good then
    return fmt("failure file: %d rows written, %d read back", #good, #again)
  end
  for i, row in ipairs(again) do
    if not same(row.columns, good[i].columns) then
      return fmt("failure file: line %d was %s, read back as %s", good[i].line,
                 show(good[i].columns), show(row.columns))
    end
  end
  return nil
end

local function failed(e, strict, what)
  if type(e) == "table" and e.bug then return what .. ": " .. e.bug end
  if strict and internal(e) then return what .. ": the reader raised " .. tostring(e) end
  return nil
end

return function(_, extra)
  local src, out, strict = match(extra, "^([^\t]*)\t([^\t]*)\t(.*)$")
  strict = strict == "strict"
  for i, opts in ipairs(OPTIONS) do
    local ok, rows, reader = pcall(read_all, src, opts)
    if not ok then
      local bug = failed(rows, strict, "options " .. i)
      if bug then return bug end
    elseif i == 1 then
      local rok, bug = pcall(round_trip, rows, reader, out)
      if not rok then bug = failed(bug, strict, "round trip") end
      if bug then return bug end
    end
  end
  return nil
end
