-- tracker.migrate: helpers for one-off jobs run with `trk run`: CSV rows in, writes through
-- the client, failed rows out to a CSV that can be fed back in. The CSV files themselves are
-- tracker.csv's: migrate.csv and migrate.failures are its reader and its failure writer.
--
-- Inside trk this module is loaded into the script's environment, so it reads the files it
-- attaches through the sandbox's `files` (only what --input grants); in plain Lua (busted) it
-- falls back to `io`. Every write goes through the client `t`, so a dry run plans them and
-- `--apply` journals them like any other write.

local tracker = require "tracker"
local csv = require "tracker.csv"

local M = {}

local type, pairs, ipairs, next, tostring, tonumber, error, pcall =
      type, pairs, ipairs, next, tostring, tonumber, error, pcall
local setmetatable, getmetatable = setmetatable, getmetatable
local fmt, lower, match = string.format, string.lower, string.match
local concat, sort, unpack, pack = table.concat, table.sort, table.unpack, table.pack
local tointeger = math.tointeger

-- Errors of these codes would repeat for every row: the job stops instead of filling the
-- failure file with them.
local FATAL = { auth = true }

-- ---- misuse ----------------------------------------------------------------------------------

-- Misuse is raised as a marked message deep inside a helper, and re-raised by `guard` at the
-- line of the script that called the helper.
local Misuse = {}

local function misuse(...)
  error(setmetatable({ message = fmt(...) }, Misuse), 0)
end

-- Runs f(...) for a public function. Called as `return guard(f, ...)`, a tail call, so level
-- 2 is the script's line.
local function guard(f, ...)
  local r = pack(pcall(f, ...))
  if r[1] then return unpack(r, 2, r.n) end
  local e = r[2]
  if getmetatable(e) == Misuse then error(e.message, 2) end
  error(e, 0)
end

-- ---- small helpers ---------------------------------------------------------------------------

local args = require "tracker.util"
local trim, blank, has_method = args.trim, args.blank, args.has_method

-- " (did you mean 'x'?)": the client's, so every message of trk suggests alike.
local suggest = require("tracker").suggest

-- The text of an error for a failure file: a tracker error as "code: message", a raised
-- message without the "file:line:" of where it was raised, all on one line.
local error_text = csv.error_text

-- Calls f(...) and answers its first result, or nil, the error's text and the error when it
-- returns nil, err or raises. A sink may answer nil for a write (a hook that plans): that is
-- success. Errors that would repeat for every row re-raise.
local function attempt(f, ...)
  local ok, a, b = pcall(f, ...)
  if not ok then
    if getmetatable(a) == Misuse then a = a.message end
    return nil, error_text(a), a
  end
  if a == nil and b ~= nil then
    if tracker.is_error(b) and FATAL[b.code] then error(b, 0) end
    return nil, error_text(b), b
  end
  if a == nil then return true end
  return a
end

-- The text of a row's failure: for a value the client refused as Tracker would (code
-- `invalid`, naming its field), where it is: "line 3, column 'Source': invalid: ...".
local function row_error(row, reader, text, e)
  if not (tracker.is_error(e) and e.code == "invalid" and type(row) == "table") then return text end
  local col
  for k, field in pairs(reader and reader.map or {}) do
    if field == e.field or field == "custom." .. tostring(e.field) then col = reader.header[k] end
  end
  local where = {}
  if row.line then where[1] = "line " .. row.line end
  if col then where[#where + 1] = fmt("column '%s'", col) end
  if #where == 0 then return text end
  return concat(where, ", ") .. ": invalid: " .. e.reason
end

-- Iterates what a helper is given to work through: a CSV reader or anything else with a next
-- method (a stream), a function called until it returns nil, or a list.
local function each(fname, source)
  if type(source) == "function" then return source end
  if has_method(source, "next") then
    return function()
      local v, e = source:next()
      if v == nil and e ~= nil then error(e, 0) end
      return v
    end
  end
  if type(source) == "table" then
    local i = 0
    return function()
      i = i + 1
      return source[i]
    end
  end
  misuse("%s: the records must be a CSV reader, a stream, a function or a list, got %s", fname,
         type(source))
end

-- The options of fname, checked against { name = "type" or "any" } as tracker.csv checks its
-- own: opts, or {} for none.
local function check_options(fname, opts, allowed)
  local checked, e = args.options(fname, opts, allowed)
  if not checked then misuse("%s", e) end
  return checked
end

-- Summaries print as one line: "rows 5000: created 4900, ..., failed 100".
local function summary(first, names)
  local s = { [first] = 0, failed = 0 }
  for _, n in ipairs(names) do s[n] = 0 end
  return setmetatable(s, { __tostring = function(self)
    local parts = {}
    for _, n in ipairs(names) do parts[#parts + 1] = fmt("%s %d", n, self[n]) end
    parts[#parts + 1] = fmt("failed %d", self.failed)
    return fmt("%s %d: %s", first, self[first], concat(parts, ", "))
  end })
end

-- The outcome of one row: counted, passed to on_row, and for a failure written to the failure
-- file (or kept in summary.errors, the first 100, when there is none).
local function outcome(sum, opts, row, status, detail)
  sum[status] = sum[status] + 1
  if status == "failed" then
    if opts.failures then
      opts.failures:add(row, detail)
    else
      sum.errors = sum.errors or {}
      if #sum.errors < 100 then
        sum.errors[#sum.errors + 1] = { line = type(row) == "table" and row.line or nil,
                                        id = type(row) == "table" and row.id or row,
                                        error = detail }
      end
    end
  end
  if opts.on_row then opts.on_row(row, status, detail) end
end

-- ---- driving the rows ------------------------------------------------------------------------

-- Rows go through in chunks. With a client that has t:batch, each chunk's writes are made in
-- one batch, so that independent writes travel together; a write's failure is then known only
-- when its batch ends, so each chunk's outcomes are reported in row order once it has settled.
-- A batch answers its failures by target: a row whose write goes to a record that already has
-- one in the chunk starts the next chunk, after the first write has settled.
local CHUNK = 200

-- drive(t, sum, count, opts, nextrow, decide): decide(row) reads what it needs and answers the
-- row's plan: { status =, detail = } and, for a write, `target` ("candidate:42"), `write` (a
-- function making it, answering like a client write), `after` (run once it has succeeded) and
-- `reader` (the CSV reader of the rows, whose columns a refused value is reported in).
-- sum[count] counts the rows read.
local function drive(t, sum, count, opts, nextrow, decide)
  local carry, finished = nil, false
  repeat
    local chunk, by_target = {}, {}
    local function fill()
      while #chunk < CHUNK do
        local row = carry
        carry = nil
        if row == nil then
          row = nextrow()
          if row == nil then finished = true; return end
          sum[count] = sum[count] + 1
        end
        local p = decide(row)
        if p.target and by_target[p.target] then
          carry = row                 -- decided again once the earlier write has settled
          return
        end
        p.row = row
        if p.write then
          local ok, e, raw = attempt(p.write)
          if not ok then p.status, p.detail = "failed", row_error(row, p.reader, e, raw) end
          if p.target then by_target[p.target] = p end
        end
        chunk[#chunk + 1] = p
      end
    end
    local results
    if t.batch then results = t:batch(fill) else fill() end
    for _, f in ipairs(type(results) == "table" and results.failed or {}) do
      if tracker.is_error(f.err) and FATAL[f.err.code] then error(f.err, 0) end
      local p = by_target[f.target.kind .. ":" .. tostring(f.target.id)]
      if p then p.status, p.detail = "failed", error_text(f.err) end
    end
    for _, p in ipairs(chunk) do
      if p.after and p.status ~= "failed" then p.after() end
      outcome(sum, opts, p.row, p.status, p.detail)
    end
  until finished
end

-- A public helper: helper(count, statuses, plan) answers migrate.x(t, ...), which runs
-- plan(t, sum, ...) on a fresh summary (sum[count] rows read, a count for each status and
-- `failed`). plan checks the arguments and answers the options, the rows (a function answering
-- the next until nil) and decide (see drive); the rows are then driven and the summary
-- answered. Misuse raises at the script's line.
local function helper(count, statuses, plan)
  local function run(t, ...)
    local sum = summary(count, statuses)
    local opts, nextrow, decide = plan(t, sum, ...)
    drive(t, sum, count, opts, nextrow, decide)
    return sum
  end
  return function(...) return guard(run, ...) end
end

-- ---- CSV -----------------------------------------------------------------------------------

-- migrate.csv(path_or_handle, { header =, required =, sep =, trim =, name = }): a reader of
-- the file's rows (tracker.csv's reader). Returns the reader, nil, nil and the reader again,
-- so that `for row in migrate.csv(...)` closes the file however the loop ends.
M.csv = csv.reader

-- migrate.failures(path_or_handle, header [, { sep =, name = }]): a writer of failed rows, with
-- the header's columns and an `error` column (tracker.csv's). header: the CSV reader the rows
-- come from, or a list of column names.
M.failures = csv.failures

-- ---- custom fields ---------------------------------------------------------------------------

-- A kind's custom fields: { by = { [lower name] = def }, list = { def, ... } }.
local function custom_defs(fname, t, kind)
  local list, e = t:custom_fields(kind)
  if not list then error(fmt("%s: cannot read the custom fields: %s", fname, error_text(e)), 0) end
  local by = {}
  for _, d in ipairs(list) do by[lower(d.name)] = d end
  return { by = by, list = list }
end

local function def_named(fname, defs, kind, name)
  local d = defs.by[lower(trim(name))]
  if d then return d end
  local names = {}
  for _, x in ipairs(defs.list) do names[#names + 1] = x.name end
  misuse("%s: no %s custom field '%s'%s", fname, kind, name, suggest(name, names))
end

local CHECK = { yes = true, y = true, ["true"] = true, ["1"] = true,
                no = false, n = false, ["false"] = false, ["0"] = false }

-- A custom-field value in a form in which two values compare (nil: unset).
local function comparable(def, v)
  if blank(v) then return nil end
  if def.type == "Number" then return tonumber(v) or tostring(v) end
  if def.type == "Checkbox" then
    if type(v) == "boolean" then return v end
    local b = CHECK[lower(trim(tostring(v)))]
    if b == nil then return tostring(v) end
    return b
  end
  if def.type == "List" then return lower(trim(tostring(v))) end
  return trim(tostring(v))
end

-- ---- candidates ------------------------------------------------------------------------------

-- The candidate fields an upsert can set: "update" fields are read back and updated; "read"
-- fields are read back (so they can be the key) but set only on create, since updateRecord
-- has no column for them; "create" fields are set only on create, since the client does not
-- read them back to tell whether they changed.
local CANDIDATE_FIELDS = {
  first_name = "update", last_name = "update", email = "update", other_email = "update",
  job_title = "update", phone = "update", town = "update", county = "update",
  country = "update", status = "update",
  name = "read", company = "read", linkedin = "read", source = "read",
  home_phone = "create", work_phone = "create", address1 = "create", address2 = "create",
  postcode = "create", availability = "create", nationality = "create",
}
local CASELESS = { email = true, other_email = true, status = true }

local function candidate_field_names()
  local names = {}
  for k in pairs(CANDIDATE_FIELDS) do names[#names + 1] = k end
  sort(names)
  return names
end

-- What an upsert does with the fields of its rows: { plain = { field, ... }, custom =
-- { ["custom.Name"] = def } }; raises on a field that is not a candidate's.
local function candidate_plan(fname, defs, fields, key, where)
  local plan = { plain = {}, custom = {} }
  for _, f in ipairs(fields) do
    local cname = match(f, "^custom%.(.+)$")
    if cname then
      plan.custom[f] = def_named(fname, defs, "candidate", cname)
    elseif CANDIDATE_FIELDS[f] then
      plan.plain[#plan.plain + 1] = f
    elseif f ~= "id" and f ~= key then
      misuse("%s: %scolumn '%s' is not a candidate field%s: map it to one with header = "
             .. "{ [%q] = \"...\" }, to a custom field with \"custom.Field Name\", or leave it "
             .. "out with [%q] = false", fname, where, f, suggest(f, candidate_field_names()), f, f)
    end
  end
  return plan
end

-- Every field an upsert may compare: for rows that are not a CSV reader's.
local function full_plan(defs)
  local plan = { plain = {}, custom = {} }
  for _, f in ipairs(candidate_field_names()) do plan.plain[#plan.plain + 1] = f end
  for _, d in ipairs(defs.list) do plan.custom["custom." .. d.name] = d end
  return plan
end

-- The key of a candidate or a row, as compared: trimmed, lower case; nil when blank.
local function key_text(v)
  if blank(v) then return nil end
  return lower(trim(tostring(v)))
end

-- What the index keeps of a candidate: its id and the fields a row can change.
local function snapshot(rec, plan)
  local s = { kind = "candidate", id = rec.id, name = rec.name, custom = {},
              first_name = rec.first_name, last_name = rec.last_name }     -- same_person
  for _, f in ipairs(plan.plain) do
    if CANDIDATE_FIELDS[f] == "update" then s[f] = rec[f] end
  end
  for _, def in pairs(plan.custom) do s.custom[def.name] = rec.custom and rec.custom[def.name] end
  return s
end

-- A person's email, phone or LinkedIn address as compared: an email in any case, a phone by
-- its last 10 digits (7 at least), a LinkedIn address without scheme, "www." and trailing "/".
local PERSON_KEY = {
  email = key_text,
  phone = function(v)
    local d = (tostring(v):gsub("%D", ""))
    if #d < 7 then return nil end
    return d:sub(-10)
  end,
  linkedin = function(v)
    return (lower(trim(tostring(v))):gsub("^%a+://", ""):gsub("^www%.", ""):gsub("/+$", ""))
  end,
}
local PERSON_FIELDS = { email = { "email", "other_email" }, phone = { "phone" },
                        linkedin = { "linkedin" } }

-- A name as compared: words in any case, spaces folded.
local function name_key(v)
  if blank(v) then return nil end
  return (lower(trim(tostring(v))):gsub("%s+", " "))
end

-- The candidates of `named` (found by another email, a phone or a LinkedIn address) whose
-- name agrees with the row's (each of name, first_name, last_name the row gives): two people
-- may share a phone.
local function same_person(named, fields)
  local out = {}
  for _, snap in ipairs(named) do
    local agree = true
    for _, f in ipairs({ "name", "first_name", "last_name" }) do
      local want = name_key(fields[f])
      if want and name_key(snap[f]) ~= want then agree = false end
    end
    if agree then out[#out + 1] = snap end
  end
  return out
end

-- Indexes a candidate's snapshot by each email, phone and LinkedIn address it shows.
local function index_person(people, rec, snap)
  for what, fields in pairs(PERSON_FIELDS) do
    for _, f in ipairs(fields) do
      local k = not blank(rec[f]) and PERSON_KEY[what](rec[f]) or nil
      if k then
        local byk = people[what]
        byk[k] = byk[k] or {}
        byk[k][#byk[k] + 1] = snap
      end
    end
  end
end

-- The candidates a row's email, phone or LinkedIn address names in `people`, each once.
local function people_named(people, fields)
  local out, seen = {}, {}
  for what in pairs(PERSON_FIELDS) do
    local k = not blank(fields[what]) and PERSON_KEY[what](fields[what]) or nil
    for _, snap in ipairs(k and people[what][k] or {}) do
      if not seen[snap] then seen[snap], out[#out + 1] = true, snap end
    end
  end
  sort(out, function(a, b) return (a.id or 0) < (b.id or 0) end)
  return out
end

-- Candidates by key: one read of every candidate (Tracker cannot search by most fields, email
-- included), keeping only what the rows compare. key "id": by id. Also every candidate by its
-- emails, phone and LinkedIn address (`people`), so a row whose key matches none is still
-- matched to the candidate those name.
local function candidate_index(t, key, plan, key_def, people)
  local index = {}
  local _, s = t:candidates{}
  while true do
    local rec, e = s:next()
    if rec == nil then
      if e ~= nil then error(e, 0) end
      break
    end
    local k
    if key == "id" then k = rec.id
    elseif key_def then k = key_text(rec.custom and rec.custom[key_def.name])
    else k = key_text(rec[key]) end
    local snap = snapshot(rec, plan)
    if k ~= nil then
      local list = index[k]
      if not list then list = {}; index[k] = list end
      list[#list + 1] = snap
    end
    if people then index_person(people, rec, snap) end
  end
  return index
end

-- A row as create_candidate's argument: { field = text, custom = { [name] = text } }.
local function candidate_fields(row, plan, defaults)
  local function value(f)
    local v = row[f]
    if blank(v) and defaults then v = defaults[f] end
    if blank(v) then return nil end
    return type(v) == "string" and trim(v) or v
  end
  local o = {}
  for _, f in ipairs(plan.plain) do o[f] = value(f) end
  for f, def in pairs(plan.custom) do
    local v = value(f)
    if v ~= nil then
      o.custom = o.custom or {}
      o.custom[def.name] = v
    end
  end
  return o
end

-- The changes that bring a candidate's snapshot to a row's fields, or nil for none.
local function candidate_changes(snap, fields, plan)
  local changes, any = {}, false
  for _, f in ipairs(plan.plain) do
    local v = fields[f]
    if v ~= nil and CANDIDATE_FIELDS[f] == "update" then
      local cur = snap[f] ~= nil and trim(tostring(snap[f])) or nil
      local same
      if CASELESS[f] then same = cur ~= nil and lower(cur) == lower(v) else same = cur == v end
      if not same then changes[f], any = v, true end
    end
  end
  for _, def in pairs(plan.custom) do
    local v = fields.custom and fields.custom[def.name]
    if v ~= nil and comparable(def, v) ~= comparable(def, snap.custom[def.name]) then
      changes.custom = changes.custom or {}
      changes.custom[def.name], any = v, true
    end
  end
  return any and changes or nil
end

-- Folds written fields into a snapshot.
local function remember(snap, fields)
  for k, v in pairs(fields) do
    if k == "custom" then
      for name, cv in pairs(v) do snap.custom[name] = cv end
    else
      snap[k] = v
    end
  end
end

-- Writes a candidate's changes: custom fields alone as set_custom_fields (so the plan reads
-- as what it is), anything else as update_candidate.
local function write_changes(t, snap, changes)
  local target = { kind = "candidate", id = snap.id, name = snap.name }
  if next(changes) == "custom" and next(changes, "custom") == nil then
    return t:set_custom_fields(target, changes.custom)
  end
  return t:update_candidate(target, changes)
end

local UPSERT_OPTIONS = { key = "string", update = "boolean", failures = "table",
                         on_row = "function", defaults = "table", lookup = "string" }
local LOOKUPS = { index = true, find_person = true }

-- Whether a plan compares an email, phone or LinkedIn address.
local function have_person(plan)
  for _, f in ipairs(plan.plain) do
    if f == "email" or f == "phone" or f == "linkedin" then return true end
  end
  return false
end

-- The candidates t:find_person names for a row's email, phone and LinkedIn address, as
-- snapshots (each read whole, to compare): a list, or nil and why.
local function person_lookup(t, fields, plan)
  local q = {}
  for _, f in ipairs({ "email", "phone", "linkedin" }) do
    if not blank(fields[f]) then q[f] = fields[f] end
  end
  if next(q) == nil then return {} end
  local list, why = attempt(t.find_person, t, q)
  if not list then return nil, why end
  local out = {}
  for _, p in ipairs(list) do
    if p.kind == "candidate" then
      local rec, e = attempt(t.candidate, t, p.id)
      if not rec then return nil, e end
      out[#out + 1] = snapshot(rec, plan)
    end
  end
  return out
end

local function upsert_candidates(t, sum, rows, opts)
  local fname = "upsert_candidates"
  opts = check_options(fname, opts, UPSERT_OPTIONS)
  local key = opts.key or "email"
  local update = opts.update ~= false
  local defs = custom_defs(fname, t, "candidate")
  local key_def = match(key, "^custom%.(.+)$")
  key_def = key_def and def_named(fname, defs, "candidate", key_def)
  local kclass = CANDIDATE_FIELDS[key]
  if not (key == "id" or key_def or kclass == "update" or kclass == "read") then
    misuse("%s: option 'key' must be a candidate field Tracker answers with (such as \"email\"), "
           .. "\"custom.Field Name\" or \"id\", got '%s'%s", fname, key,
           suggest(key, candidate_field_names()))
  end
  local nextrow = each(fname, rows)
  local defaults = {}
  for f in pairs(opts.defaults or {}) do defaults[#defaults + 1] = tostring(f) end
  sort(defaults)
  candidate_plan(fname, defs, defaults, key, "option 'defaults': ")
  -- a reader's fields are known before its first row: a wrong column fails before any write
  local reader = csv.is_reader(rows) and rows or nil
  local plan
  if reader then
    local fields, have = {}, {}
    for _, f in ipairs(reader.fields) do fields[#fields + 1], have[f] = f, true end
    if key ~= "id" and not have[key] then
      misuse("%s: %s has no column for the key '%s' (columns: %s)", fname, reader.path, key,
             concat(reader.header, ", "))
    end
    for _, f in ipairs(defaults) do
      if not have[f] then fields[#fields + 1] = f end
    end
    plan = candidate_plan(fname, defs, fields, key, reader.path .. ": ")
  else
    plan = full_plan(defs)
  end
  -- how rows are matched: by an index of every candidate, read once (the default), or by
  -- t:find_person for each row (docs/migrations.md says when each is cheaper)
  local lookup = opts.lookup or "index"
  if not LOOKUPS[lookup] then
    misuse("%s: option 'lookup' must be 'index' or 'find_person', got '%s'%s", fname, lookup,
           suggest(lookup, { "index", "find_person" }))
  end
  local people = { email = {}, phone = {}, linkedin = {} }
  local index = {}
  if lookup == "index" then
    index = candidate_index(t, key, plan, key_def, people)
  elseif key == "id" or (reader and not (have_person(plan))) then
    misuse("%s: lookup 'find_person' finds candidates by email, phone or LinkedIn address: "
           .. "%s", fname, key == "id" and "not with key 'id'"
           or (reader.path .. " has none of those columns"))
  end

  local seen = {}                     -- key -> { row =, where = } of its first row in this run
  local function failure(e) return { status = "failed", detail = e } end
  -- an update of the candidate `snap`, whose index entry takes the changes once written
  local function updating(snap, changes)
    return { status = "updated", detail = snap, target = "candidate:" .. snap.id, reader = reader,
             write = function() return write_changes(t, snap, changes) end,
             after = function() remember(snap, changes) end }
  end
  local function decide(row)
    if type(row) ~= "table" then misuse("%s: row %d is a %s, not a table", fname, sum.rows, type(row)) end
    if not reader then
      local names = {}
      for f in pairs(row) do
        if type(f) == "string" and not csv.is_reserved(f) then names[#names + 1] = f end
      end
      sort(names)
      candidate_plan(fname, defs, names, key, fmt("row %d: ", sum.rows))    -- only checks
    end
    local fields = candidate_fields(row, plan, opts.defaults)
    local k
    if key == "id" then k = tointeger(tonumber(row.id))
    elseif key_def then k = key_text(fields.custom and fields.custom[key_def.name])
    else k = key_text(fields[key]) end
    if k ~= nil and not seen[k] then
      seen[k] = { row = row, where = row.line and ("line " .. row.line) or ("row " .. sum.rows) }
    end
    local found = k ~= nil and index[k] or nil
    if row.error then return failure(row.error) end
    if k == nil then return failure(fmt("no %s (the key of this import)", key)) end
    if seen[k].row ~= row then
      return failure(fmt("%s '%s' is also on %s: one row per candidate", key, tostring(k),
                         seen[k].where))
    end
    if not found and not row.error and seen[k].row == row then
      -- a person Tracker knows by another email, a phone or a LinkedIn address is matched,
      -- not made again: when the names agree (a phone or an address two people share is not
      -- one person)
      local named
      if lookup == "find_person" then
        local e
        named, e = person_lookup(t, fields, plan)
        if named == nil then return failure(e) end
      else
        named = people_named(people, fields)
      end
      named = same_person(named, fields)
      found = #named > 0 and named or nil
      if found and #found > 1 then
        local ids = {}
        for i, m in ipairs(found) do ids[i] = tostring(m.id) end
        return failure(fmt("%d candidates have this row's email, phone or LinkedIn address "
                           .. "(ids %s): merge them first", #found, concat(ids, ", ")))
      end
      if found then index[k] = found end
    end
    if found and #found > 1 then
      local ids = {}
      for i, m in ipairs(found) do ids[i] = tostring(m.id) end
      return failure(fmt("%d candidates have %s '%s' (ids %s): merge them first", #found, key,
                         tostring(k), concat(ids, ", ")))
    end
    if found then
      local snap = found[1]
      local changes = update and snap.id and candidate_changes(snap, fields, plan)
      if not changes then return { status = "unchanged", detail = snap } end
      return updating(snap, changes)
    end
    if key == "id" then return failure(fmt("no candidate with id %d", k)) end
    -- a create is made at once, in a batch too: its answer is the candidate
    local rec, e, raw = attempt(t.create_candidate, t, fields)
    if not rec then return failure(row_error(row, reader, e, raw)) end
    -- a dry run answers without an id: the row is remembered all the same
    local snap = { id = type(rec) == "table" and rec.id or nil, custom = {} }
    remember(snap, fields)
    index[k] = { snap }
    index_person(people, fields, snap)
    if type(rec) == "table" and rec.created == false then
      -- Tracker matched it by email: it was created after the index was read
      local changes = update and candidate_changes(snapshot(rec, plan), fields, plan)
      if not changes then return { status = "unchanged", detail = snap } end
      return updating(snap, changes)
    end
    return { status = "created", detail = rec }
  end
  return opts, nextrow, decide
end

-- migrate.upsert_candidates(t, rows, { key =, update =, defaults =, failures =, on_row = }):
-- creates a candidate for each row that matches none by key, and updates the one it matches
-- where the row differs (unless update = false). Returns { rows, created, updated, unchanged,
-- failed }.
M.upsert_candidates = helper("rows", { "created", "updated", "unchanged" }, upsert_candidates)

-- ---- attachments -----------------------------------------------------------------------------

local function basename(path)
  return match(path, "([^/\\]+)$") or path
end

-- A file's content: opened through the sandbox's grants inside trk (`files`, a global of trk's
-- sandbox, absent in plain Lua), with the io library in plain Lua.
local function read_bytes(path)
  local h, e
  if files then h, e = files.open(path) else h, e = io.open(path, "rb") end
  if not h then return nil, e end
  local data = h:read("a")
  h:close()
  if data == nil or data == "" then return nil, path .. " is empty" end
  return data
end

-- Whether a candidate already holds a document of that file name.
local function has_document(t, cand, filename)
  local list, e = t:request{ api = "rest", path = fmt("/api/v1/Resource/%d/Documents", cand) }
  if not list then return nil, e end
  for _, d in ipairs(type(list) == "table" and list or {}) do
    if type(d) == "table" and d.filename == filename then return true end
  end
  return false
end

local ATTACH_OPTIONS = { key = "string", target = "string", dir = "string", type = "string",
                         primary = "boolean", skip_existing = "boolean", failures = "table",
                         on_row = "function" }

-- The id of the record a row names, or nil and why not.
local function attach_target(row, target, key, index)
  if key == "id" then
    local id = tointeger(tonumber(row.id or row[target .. "_id"]))
    if not id then return nil, fmt("no %s id", target) end
    return id
  end
  local k = key_text(row[key])
  local found = k and index[k]
  if not k then return nil, "no " .. key end
  if not found then return nil, fmt("no candidate with %s '%s'", key, row[key]) end
  if #found > 1 then return nil, fmt("%d candidates have %s '%s'", #found, key, row[key]) end
  return found[1].id
end

local function attach_files(t, _, rows, opts)
  local fname = "attach_files"
  opts = check_options(fname, opts, ATTACH_OPTIONS)
  local target = opts.target or "candidate"
  if target ~= "candidate" and target ~= "application" then
    misuse("%s: option 'target' must be 'candidate' or 'application', got '%s'", fname, target)
  end
  local key = opts.key or (target == "candidate" and "email" or "id")
  local kclass = CANDIDATE_FIELDS[key]
  if key ~= "id" and (target ~= "candidate" or not (kclass == "update" or kclass == "read")) then
    misuse("%s: option 'key' must be \"id\"%s, got '%s'", fname,
           target == "candidate" and " or a candidate field such as \"email\"" or "", key)
  end
  local nextrow = each(fname, rows)
  local index = key ~= "id" and candidate_index(t, key, { plain = {}, custom = {} }) or nil
  local function decide(row)
    local id, e
    if row.error then e = row.error
    elseif blank(row.file) then e = "no file"
    else id, e = attach_target(row, target, key, index) end
    if e then return { status = "failed", detail = e } end
    local filename = row.filename or basename(row.file)
    if opts.skip_existing ~= false then
      local cand = id
      if target == "application" then
        local app
        app, e = attempt(t.application, t, id)
        cand = app and app.candidate_id
      end
      local skip
      if cand then skip, e = attempt(has_document, t, cand, filename) end
      if e then return { status = "failed", detail = e } end
      if skip == true then return { status = "skipped", detail = id } end
    end
    local data
    data, e = attempt(read_bytes, opts.dir and (opts.dir .. "/" .. row.file) or row.file)
    if e then return { status = "failed", detail = e } end
    local primary = opts.primary
    if row.primary ~= nil then primary = CHECK[lower(trim(row.primary))] == true end
    return { status = "attached", detail = id, target = target .. ":" .. id, write = function()
      return t:attach({ kind = target, id = id }, { filename = filename, data = data,
                                                    type = row.type or opts.type,
                                                    primary = primary })
    end }
  end
  return opts, nextrow, decide
end

-- migrate.attach_files(t, rows, { key =, target =, dir =, type =, primary =, skip_existing =,
-- failures =, on_row = }): attaches each row's `file` to the candidate (or application) the
-- row names. Returns { rows, attached, skipped, failed }.
M.attach_files = helper("rows", { "attached", "skipped" }, attach_files)

-- ---- custom-field backfill -------------------------------------------------------------------

local KIND_OF_STREAM = { candidates = "candidate", jobs = "job", applications = "application" }
local KINDS = { candidate = true, job = true, application = true }

local BACKFILL_OPTIONS = { kind = "string", where = "table", failures = "table",
                           on_row = "function" }

local function backfill(t, sum, records, fields_fn, opts)
  local fname = "backfill"
  opts = check_options(fname, opts, BACKFILL_OPTIONS)
  if type(fields_fn) ~= "function" then
    misuse("%s: argument 3 must be a function(record) returning the fields to set, got %s",
           fname, type(fields_fn))
  end
  if opts.kind and not KINDS[opts.kind] then
    misuse("%s: option 'kind' must be 'candidate', 'job' or 'application', got '%s'", fname,
           opts.kind)
  end
  local kind = opts.kind
  if type(records) == "string" then
    if not KIND_OF_STREAM[records] then
      misuse("%s: argument 2 must be \"candidates\", \"jobs\" or \"applications\" (or records), "
             .. "got '%s'", fname, records)
    end
    kind = KIND_OF_STREAM[records]
    local _, s = t[records](t, opts.where or {})
    records = s
  elseif opts.where then
    misuse("%s: option 'where' filters a stream named by kind (\"candidates\", ...)", fname)
  end
  local nextrec = each(fname, records)
  local defs = {}
  local function decide(rec)
    local k = rec.kind or kind
    local id = tointeger(tonumber(rec.id))
    if not KINDS[k] then
      misuse("%s: record %d has no kind: pass { kind = \"candidate\" } (or job, application)",
             fname, sum.records)
    end
    if rec.error then return { status = "failed", detail = rec.error } end
    if not id then return { status = "failed", detail = "no id" } end
    local fields = fields_fn(rec)
    if fields ~= nil and type(fields) ~= "table" then
      misuse("%s: the function must return a table of custom fields or nil, got %s", fname,
             type(fields))
    end
    if fields == nil or next(fields) == nil then return { status = "skipped" } end
    defs[k] = defs[k] or custom_defs(fname, t, k)
    -- a record read from Tracker shows its values: fields already right are left alone
    local changes
    for name, v in pairs(fields) do
      local def = def_named(fname, defs[k], k, tostring(name))
      if not rec.custom or comparable(def, v) ~= comparable(def, rec.custom[def.name]) then
        changes = changes or {}
        changes[def.name] = v
      end
    end
    if not changes then return { status = "unchanged" } end
    return { status = "updated", detail = changes, target = k .. ":" .. id, write = function()
      return t:set_custom_fields({ kind = k, id = id, name = rec.name }, changes)
    end }
  end
  return opts, nextrec, decide
end

-- migrate.backfill(t, records, fields_fn, { kind =, where =, failures =, on_row = }): sets on
-- each record the custom fields fields_fn(record) gives (nil: none), leaving alone those that
-- already hold the value. records: "candidates", "jobs" or "applications" (a stream over
-- them, filtered by `where`), a stream, a CSV reader, a function or a list. Returns
-- { records, updated, unchanged, skipped, failed }.
M.backfill = helper("records", { "updated", "unchanged", "skipped" }, backfill)

-- ---- bulk stage moves ------------------------------------------------------------------------

local MOVE_OPTIONS = { from = "any", column = "string", failures = "table", on_row = "function" }

-- The stage named v, or nil and why not; raises when the stages cannot be read.
local function stage_named(fname, t, v)
  if type(v) ~= "string" and not tointeger(v) then
    return nil, fmt("a stage must be a name or an id, got %s", type(v))
  end
  local st, e = t:stage(v)
  if st then return st end
  if tracker.is_error(e) and e.code ~= "not_found" then
    error(fmt("%s: cannot read the stages: %s", fname, error_text(e)), 0)
  end
  return nil, e.message
end

local function move_applications(t, _, items, stage, opts)
  local fname = "move_applications"
  opts = check_options(fname, opts, MOVE_OPTIONS)
  local column = opts.column or "id"
  local target, from, why
  if stage ~= nil then
    target, why = stage_named(fname, t, stage)
    if not target then misuse("%s: %s", fname, why) end
  end
  if opts.from ~= nil then
    from, why = stage_named(fname, t, opts.from)
    if not from then misuse("%s: option 'from': %s", fname, why) end
  end
  local each_item = each(fname, items)
  local function nextrow()               -- an id alone is a row of one column
    local row = each_item()
    if row ~= nil and type(row) ~= "table" then row = { [column] = row } end
    return row
  end
  local function decide(row)
    local id = tointeger(tonumber(row[column]))
    local st, app, e = target, nil, nil
    if row.error then
      e = row.error
    elseif not id then
      e = row[column] == nil and fmt("no %s", column)
          or fmt("'%s' is not an application id", tostring(row[column]))
    elseif not st then
      if blank(row.stage) then e = "no stage" else st, e = stage_named(fname, t, row.stage) end
    end
    if not e then app, e = attempt(t.application, t, id) end
    if e then return { status = "failed", detail = e } end
    if app.stage_id == st.id then return { status = "unchanged", detail = app } end
    if from and app.stage_id ~= from.id then
      return { status = "failed", detail = fmt("conflict: application %d is in stage '%s', not "
                                               .. "'%s'", id, tostring(app.stage), from.name) }
    end
    return { status = "moved", detail = app, target = "application:" .. id,
             write = function() return t:move_to_stage(app, st.id) end }
  end
  return opts, nextrow, decide
end

-- migrate.move_applications(t, ids_or_rows, stage, { from =, column =, failures =, on_row = }):
-- moves each application to `stage` (or, when stage is nil, to the stage in its row's `stage`).
-- Each application is read first: one already there is left alone, and with `from`, one in any
-- other stage fails instead of moving. Returns { rows, moved, unchanged, failed }.
M.move_applications = helper("rows", { "moved", "unchanged" }, move_applications)

-- ---- linked files ----------------------------------------------------------------------------

-- migrate.linked(t, set): CSV files that refer to each other by the source system's ids,
-- imported in the order of their references (tracker.migrate.linked).
require("tracker.migrate.linked")(M, { misuse = misuse, attempt = attempt, guard = guard,
                                       read_bytes = read_bytes, error_text = error_text,
                                       check_options = check_options })

return M
