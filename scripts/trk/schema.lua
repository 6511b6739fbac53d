-- trk.schema: `trk schema export FILE`, a database's metadata saved as a schema file that
-- `trk emulator --schema FILE` and testing.emulator{ schema = FILE } read back
-- (tracker.emulator.schema, which owns the format; docs/emulator.md, Schemas).
--
-- Read-only: the command connects as `trk run` does (TRACKER_* or --profile), through a dry
-- run's session, whose sink plans and never sends a write; it only reads. What it reads: the
-- settings (getSettingsData: custom fields and their lists, statuses, sources, work types,
-- departments, users), the application stages from the client's stage source (where that is
-- the applications read, up to SEEN of them are read to learn it), and up to SEEN recent
-- activities for their types and statuses and the names of the users who logged them.
-- Users are saved with an id, a name and whether they are active: never an email, and no text
-- shaped like an address survives into the file.

local report = require "trk.report"
local session = require "trk.session"
local format = require "tracker.emulator.schema"

local M = {}

local fmt, concat = string.format, table.concat
local EXIT = session.EXIT

local SEEN = 500                -- applications and activities read, at most, to learn from

local STAGE_SOURCES = { settings = "the settings", configuration = "TRACKER_STAGES or the profile",
                        seen = "the applications read" }

local function stderr(...) io.stderr:write(...) end

-- ---- the file's text ---------------------------------------------------------------------------

local LIST = {}                  -- the metatable of a list that may be empty
local function list(t) return setmetatable(t or {}, LIST) end

-- Keys in this order first, the rest alphabetically: a file a person can read and diff.
local ORDER = { "format", "version", "exported_at", "stage_source", "seen", "id", "name",
                "type", "active", "max_length", "items" }
local RANK = {}
for i, k in ipairs(ORDER) do RANK[k] = i end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local short = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t" }
    return short[c] or fmt("\\u%04x", c:byte())
  end) .. '"'
end

local EMAIL = "[%w._%%+%-]+@[%w.%-]+%.%a%a+"

-- JSON text of v: objects with their keys ordered, lists of objects one entry a line.
local function encode(v, indent)
  local t = type(v)
  if t == "string" then
    return quote((v:gsub(EMAIL, "(address removed)")))    -- no email, whatever the source
  elseif t == "number" then
    return math.type(v) == "integer" and fmt("%d", v) or fmt("%.14g", v)
  elseif t == "boolean" then
    return tostring(v)
  end
  local inner = indent .. "  "
  if getmetatable(v) == LIST or v[1] ~= nil then
    if #v == 0 then return "[]" end
    local parts = {}
    for i, e in ipairs(v) do parts[i] = encode(e, inner) end
    if type(v[1]) ~= "table" then return "[" .. concat(parts, ", ") .. "]" end
    return "[\n" .. inner .. concat(parts, ",\n" .. inner) .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ra, rb = RANK[a] or #ORDER + 1, RANK[b] or #ORDER + 1
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local parts, flat = {}, true
  for i, k in ipairs(keys) do
    parts[i] = quote(k) .. ": " .. encode(v[k], inner)
    if type(v[k]) == "table" then flat = false end
  end
  if flat then return "{ " .. concat(parts, ", ") .. " }" end
  return "{\n" .. inner .. concat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
end

-- ---- what the database shows ------------------------------------------------------------------

local function id_names(l)
  local out = list()
  for i, e in ipairs(l or {}) do out[i] = { id = e.id, name = e.name } end
  return out
end

-- Entries learnt from records, in id order (the order they were met in says nothing).
local function by_id(l)
  table.sort(l, function(a, b) return (a.id or math.maxinteger) < (b.id or math.maxinteger) end)
  return l
end

-- Up to SEEN records of a stream, each handed to f; the count read.
local function read_some(t, method, f)
  local n = 0
  for rec in t[method](t, {}) do
    f(rec)
    n = n + 1
    if n >= SEEN then break end
  end
  return n
end

-- A type or status seen on an activity: by name, with the id its details give, if any.
local function seen_in(into, index, id, name)
  if type(name) ~= "string" or name == "" or index[name:lower()] then return end
  index[name:lower()] = true
  into[#into + 1] = { id = math.tointeger(id), name = name }
end

-- The schema document of the database t reaches.
local function document(t, clock)
  local m = assert(t:metadata())
  local doc = {
    format = format.FORMAT, version = format.VERSION,
    exported_at = os.date("!%Y-%m-%dT%H:%M:%SZ", clock), seen = {},
    candidate_statuses = id_names(m.candidate_statuses), job_statuses = id_names(m.job_statuses),
    sources = id_names(m.sources), work_types = id_names(m.work_types),
    departments = id_names(m.departments), custom_fields = {},
  }
  local kinds = {}
  for kind in pairs(format.ASSOCIATIONS) do kinds[#kinds + 1] = kind end
  for _, kind in ipairs(kinds) do
    local fields = list()
    for i, f in ipairs(m.custom_fields[kind] or {}) do
      fields[i] = { id = f.id, name = f.name, type = f.type, max_length = f.max_length,
                    items = f.type == "List" and id_names(f.items) or nil }
    end
    doc.custom_fields[kind] = fields
  end
  -- stages: the client's source; applications read teach it where nothing else names them
  doc.stage_source = m.stage_source
  if m.stage_source == "seen" then
    doc.seen.applications = read_some(t, "applications", function() end)
  end
  doc.stages = id_names(assert(t:stages()))
  if m.stage_source == "seen" then by_id(doc.stages) end
  -- activity types and statuses, and users' names, as recent activities show them
  local types, statuses, ti, si, names = list(), list(), {}, {}, {}
  doc.seen.activities = read_some(t, "activities", function(a)
    local d = type(a.raw) == "table" and type(a.raw.details) == "table" and a.raw.details or {}
    seen_in(types, ti, d.activityTypeId, a.type)
    seen_in(statuses, si, d.activityStatusId, a.status)
    if a.user_id and a.user and a.user ~= "" then names[a.user_id] = names[a.user_id] or a.user end
  end)
  doc.activity_types, doc.activity_statuses = by_id(types), by_id(statuses)
  local users = list()
  for i, u in ipairs(m.users or {}) do
    local name = names[u.id]
    if not name and u.username and not u.username:find("@", 1, true) then name = u.username end
    users[i] = { id = u.id, name = name, active = u.active }
  end
  doc.users = users
  return doc
end

-- ---- trk schema export ----------------------------------------------------------------------

function M.export(host, opts)
  local file = opts.file
  local s, e = session.new(host, opts, { identity = "schema export", command = "trk schema export",
                                         default_state = ".trk/state.db" })
  if not s then
    stderr("trk schema export: ", e, "\n")
    return EXIT.failed
  end
  local ok, t = host.call(s:install():module().connect)
  local doc, failure = nil, t
  if ok then
    ok, doc = host.call(document, t, os.time())
    failure = doc
  end
  s:close()
  if not ok then
    stderr("trk schema export: cannot read the database's metadata: ",
           report.bounded(host, tostring(failure)), "\n")
    return EXIT.failed
  end
  local text = encode(doc, "") .. "\n"
  local f, why = io.open(file, "w")
  if not f then
    stderr("trk schema export: cannot write ", why, "\n")
    return EXIT.failed
  end
  f:write(text)
  f:close()
  if not report.output(host, opts).quiet then
    local n = 0
    for _, l in pairs(doc.custom_fields) do n = n + #l end
    stderr(fmt("trk schema export: %s: %d custom field%s, %d stage%s (from %s), %d user%s\n", file,
               n, n == 1 and "" or "s", #doc.stages, #doc.stages == 1 and "" or "s",
               STAGE_SOURCES[doc.stage_source] or doc.stage_source, #doc.users,
               #doc.users == 1 and "" or "s"))
  end
  return EXIT.ok
end

M.encode = encode
return M
