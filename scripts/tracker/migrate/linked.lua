-- tracker.migrate.linked: migrate.linked, the import of a set of CSV files that refer to each
-- other by the source system's ids (clients, their contacts, jobs, candidates, applications,
-- activities and documents). tracker.migrate installs it (M.linked) with its own helpers.
--
-- Every file is read, and every reference checked, before anything is written. The types are
-- then imported in the order their references make, each row once: the map from a source id
-- to Tracker's id is kept in the state store inside trk (tracker.id_map, the host's), so a run
-- killed and run again, or run again when it is done, makes nothing twice. docs/migrations.md
-- is the user's page; docs/architecture.md says how the map and the journal share the work.

local tracker = require "tracker"
local csv = require "tracker.csv"
local util = require "tracker.util"

local type, pairs, ipairs, next, tostring, tonumber, error, pcall =
      type, pairs, ipairs, next, tostring, tonumber, error, pcall
local setmetatable, unpack = setmetatable, table.unpack
local fmt, lower, match = string.format, string.lower, string.match
local concat, sort = table.concat, table.sort
local tointeger = math.tointeger
local trim, blank = util.trim, util.blank
local suggest = tracker.suggest

-- ---- what each kind of record takes ------------------------------------------------------------

-- fields: the row fields its write takes ("custom.Name" columns too, where custom); required:
-- those a row must fill; refs: the fields naming another record, and the kind they name
-- ("any": an activity or document goes on a record of any kind but its own).
local KINDS = {
  client = { fields = { "name", "email", "phone", "website", "address1", "address2", "town",
                        "county", "postcode", "country", "department", "source", "note" },
             required = { "name" }, custom = true, refs = {} },
  contact = { fields = { "first_name", "last_name", "name", "job_title", "email", "phone",
                         "work_phone", "home_phone", "address1", "address2", "town", "county",
                         "postcode", "country", "linkedin", "website", "note" },
              custom = true, refs = { client = "client" } },
  job = { fields = { "title", "work_type", "description", "start_date", "end_date", "pay_rate",
                     "charge_rate", "salary_from", "salary_to" },
          required = { "title" }, custom = true, refs = { client = "client", contact = "contact" },
          needs = { "client" } },
  candidate = { fields = { "first_name", "last_name", "name", "email", "other_email",
                           "job_title", "company", "phone", "home_phone", "work_phone",
                           "address1", "address2", "town", "county", "postcode", "country",
                           "linkedin", "source", "availability", "nationality", "status" },
                custom = true, refs = {} },
  application = { fields = { "list", "by", "source", "stage" }, refs = { candidate = "candidate",
                  job = "job" }, needs = { "candidate", "job" } },
  activity = { fields = { "type", "status", "subject", "note", "date", "time", "user",
                          "priority", "contact_type" },
               required = { "type" }, custom = true, refs = { on = "any" }, needs = { "on" } },
  document = { fields = { "file", "filename", "type", "primary" }, required = { "file" },
               refs = { on = "any" }, needs = { "on" } },
}
-- The kinds in the order a set's types are imported when their references leave a choice.
local KIND_ORDER = { "client", "contact", "job", "candidate", "application", "activity",
                     "document" }
local RANK = {}
for i, k in ipairs(KIND_ORDER) do RANK[k] = i end
-- What an activity or a document can go on.
local ON_KINDS = { client = true, contact = true, job = true, candidate = true, application = true }
-- Job fields that are numbers in Tracker, text in a CSV file.
local NUMBERS = { pay_rate = true, charge_rate = true, salary_from = true, salary_to = true }

local SET_OPTIONS = { dir = "string", name = "string", failures = "string", sample = "number",
                      ids = "table", on_row = "function" }
local TYPE_OPTIONS = { file = "string", id = "string", kind = "string", header = "table",
                       sep = "string", refs = "table", failures = "string", folder = "string" }
local STATUSES = { "created", "linked", "mapped" }

return function(M, h)
  local misuse, attempt, guard, read_bytes = h.misuse, h.attempt, h.guard, h.read_bytes
  local error_text, check_options = h.error_text, h.check_options

  -- ---- the set: its types, their references and their order ----------------------------------

  -- The kind a type names by default: "clients" -> "client", "activities" -> "activity".
  local function kind_of_name(name)
    local k = lower(name):gsub("ies$", "y"):gsub("s$", "")
    return KINDS[k] and k or nil
  end

  local function kind_names()
    return concat(KIND_ORDER, ", ")
  end

  -- The types of the set, checked: { name =, kind =, spec =, refs = { field = target } } where
  -- a target is a type name, or { by = field } (the row's field names the type).
  local function set_types(fname, set)
    local types, names = {}, {}
    for name in pairs(set) do
      if not SET_OPTIONS[name] then names[#names + 1] = name end
    end
    sort(names)
    if #names == 0 then
      misuse("%s: name the files to import, e.g. contacts = { file = \"contacts.csv\", id = "
             .. "\"ContactID\", refs = { client = \"clients\" } }", fname)
    end
    for _, name in ipairs(names) do
      local spec = set[name]
      if type(name) ~= "string" or type(spec) ~= "table" then
        misuse("%s: '%s' must be a table describing a file (file =, id =, ...), got %s", fname,
               tostring(name), type(spec))
      end
      spec = check_options(fname .. ": " .. name, spec, TYPE_OPTIONS)
      if not spec.file then misuse("%s: %s: give the CSV file as file = \"...\"", fname, name) end
      local kind = spec.kind or kind_of_name(name)
      if not KINDS[kind or ""] then
        misuse("%s: %s: %s; give kind = one of %s", fname, name,
               spec.kind and fmt("no kind '%s'%s", spec.kind, suggest(spec.kind, KIND_ORDER))
               or "its kind cannot be told from its name", kind_names())
      end
      types[name] = { name = name, kind = kind, spec = spec, refs = {} }
    end
    -- references: a field -> a type of the set, or { type = field }
    for _, name in ipairs(names) do
      local ty = types[name]
      for field, target in pairs(ty.spec.refs or {}) do
        if type(target) == "table" and type(target.type) == "string" then
          target = { by = target.type }
        elseif type(target) ~= "string" then
          misuse("%s: %s: refs.%s must name a type of this set (\"clients\") or be { type = "
                 .. "\"field\" } (the row's field that names it), got %s", fname, name,
                 tostring(field), type(target))
        elseif not types[target] then
          misuse("%s: %s: refs.%s names '%s', which is not a type of this set%s (types: %s)",
                 fname, name, field, target, suggest(target, names), concat(names, ", "))
        end
        ty.refs[field] = target
      end
    end
    return types, names
  end

  -- The order the types are imported in: each after the types its rows refer to. A cycle raises,
  -- naming it.
  local function import_order(fname, types, names)
    local order, state = {}, {}
    local sorted = { unpack(names) }
    sort(sorted, function(a, b)
      local ra, rb = RANK[types[a].kind], RANK[types[b].kind]
      if ra ~= rb then return ra < rb end
      return a < b
    end)
    local function deps(ty)
      local out = {}
      for _, target in pairs(ty.refs) do
        if type(target) == "string" then out[#out + 1] = target
        else                               -- any type a row may name: those it can go on
          for _, other in ipairs(sorted) do
            if ON_KINDS[types[other].kind] and other ~= ty.name then out[#out + 1] = other end
          end
        end
      end
      sort(out, function(a, b) return RANK[types[a].kind] < RANK[types[b].kind] end)
      return out
    end
    local path = {}
    local function visit(name)
      if state[name] == "done" then return end
      if state[name] == "open" then
        local from = 1
        while path[from] ~= name do from = from + 1 end
        local cycle = { unpack(path, from) }
        cycle[#cycle + 1] = name
        misuse("%s: the references make a cycle (%s): no order imports each type after the ones "
               .. "its rows name; remove one of these refs", fname, concat(cycle, " → "))
      end
      state[name] = "open"
      path[#path + 1] = name
      for _, d in ipairs(deps(types[name])) do visit(d) end
      path[#path] = nil
      state[name] = "done"
      order[#order + 1] = types[name]
    end
    for _, name in ipairs(sorted) do visit(name) end
    return order
  end

  -- Each reference field must be one the kind has, naming a type of the kind it takes.
  local function check_refs(fname, types)
    for _, ty in pairs(types) do
      local k = KINDS[ty.kind]
      for field, target in pairs(ty.refs) do
        local want = k.refs[field]
        if not want then
          local known = {}
          for f in pairs(k.refs) do known[#known + 1] = f end
          sort(known)
          misuse("%s: %s: a %s has no reference '%s'%s (%s)", fname, ty.name, ty.kind, field,
                 suggest(field, known), #known > 0 and "references: " .. concat(known, ", ")
                 or "it refers to nothing")
        end
        if type(target) == "string" then
          local tk = types[target].kind
          if want == "any" and not ON_KINDS[tk] or want ~= "any" and tk ~= want then
            misuse("%s: %s: refs.%s names '%s', a type of %ss, not of %ss", fname, ty.name, field,
                   target, tk, want == "any" and "records an activity can go on" or want)
          end
        end
      end
      for _, field in ipairs(k.needs or {}) do
        if not ty.refs[field] then
          misuse("%s: %s: a %s needs refs.%s (the column of its %s's id)", fname, ty.name, ty.kind,
                 field, field, field == "on" and "record" or field)
        end
      end
    end
  end

  -- ---- the files ------------------------------------------------------------------------------

  local function path_in(dir, file)
    if not dir or dir == "" or match(file, "^/") then return file end
    return (dir:gsub("/+$", "")) .. "/" .. file
  end

  -- Reads a type's file whole: its reader (closed), rows and rows by source id. A column that
  -- goes nowhere raises before anything is written.
  local function read_type(fname, set, ty)
    local k, spec = KINDS[ty.kind], ty.spec
    local idf = spec.id or "id"
    local header = {}
    for col, field in pairs(spec.header or {}) do header[col] = field end
    ty.path = path_in(set.dir, spec.file)
    local reader = csv.reader(ty.path, { header = header, sep = spec.sep })
    ty.reader, ty.idf = reader, idf
    local known = { [idf] = true }
    for _, f in ipairs(k.fields) do known[f] = true end
    for f in pairs(ty.refs) do known[f] = true end
    for _, target in pairs(ty.refs) do
      if type(target) == "table" then known[target.by] = true end
    end
    local have = {}
    for i, f in ipairs(reader.fields) do
      have[f] = true
      if not known[f] and not (k.custom and match(f, "^custom%.(.+)$")) then
        local names = {}
        for n in pairs(known) do names[#names + 1] = n end
        sort(names)
        reader:close()
        local col = reader.header[i] or f
        local near = match(suggest(lower(f), names), "'(.-)'")
        misuse("%s: %s: column '%s' is not a %s field%s: map it with header = { [%q] = %q }%s, "
               .. "or leave it out with [%q] = false (fields: %s)", fname, ty.path, col, ty.kind,
               suggest(f, names), col, near or "field",
               k.custom and " (\"custom.Field Name\" for a custom field)" or "", col,
               concat(names, ", "))
      end
    end
    for _, f in ipairs({ idf, unpack(k.required or {}) }) do
      if not have[f] then
        reader:close()
        misuse("%s: %s has no column for '%s' (columns: %s); map one with header = "
               .. "{ [\"Column\"] = %q }", fname, ty.path, f, concat(reader.header, ", "), f)
      end
    end
    for f, target in pairs(ty.refs) do
      for _, need in ipairs({ f, type(target) == "table" and target.by or nil }) do
        if not have[need] then
          reader:close()
          misuse("%s: %s has no column for the reference '%s' (columns: %s)", fname, ty.path, need,
                 concat(reader.header, ", "))
        end
      end
    end
    ty.rows, ty.by_id = {}, {}
    for row in reader do ty.rows[#ty.rows + 1] = row end
    reader:close()
  end

  -- The column a field was read from, for messages.
  local function column(ty, field)
    for i, f in pairs(ty.reader.map) do
      if f == field then return ty.reader.header[i] end
    end
    return field
  end

  local function where(ty, row, field)
    return fmt("%s line %d%s", ty.spec.file, row.line or 0,
               field and fmt(", column '%s'", column(ty, field)) or "")
  end

  -- The type a polymorphic reference names in a row: a type's name or its kind, any case.
  local function named_type(types, text)
    if blank(text) then return nil end
    local t = lower(trim(text))
    for name, ty in pairs(types) do
      if lower(name) == t or ty.kind == t or ty.kind .. "s" == t then return ty end
    end
    return nil
  end

  -- Checks each row before anything is sent: its id (present, once in its file), its required
  -- fields, and that every reference names a row of the type it refers to. A row that fails
  -- keeps why in row.failed.
  local function check_rows(types, order)
    for _, ty in ipairs(order) do
      local k = KINDS[ty.kind]
      for _, row in ipairs(ty.rows) do
        local id = row[ty.idf]
        if row.error then
          row.failed = row.error
        elseif blank(id) then
          row.failed = fmt("%s: no id", where(ty, row, ty.idf))
        elseif ty.by_id[trim(id)] then
          row.failed = fmt("%s: id '%s' is also on line %d: one row per %s", where(ty, row, ty.idf),
                           trim(id), ty.by_id[trim(id)].line or 0, ty.kind)
        else
          row.src = trim(id)
          ty.by_id[row.src] = row
        end
        for _, f in ipairs(k.required or {}) do
          if not row.failed and blank(row[f]) then
            row.failed = fmt("%s: no value for '%s'", where(ty, row, f), f)
          end
        end
      end
    end
    for _, ty in ipairs(order) do
      local needs = {}
      for _, f in ipairs(KINDS[ty.kind].needs or {}) do needs[f] = true end
      for _, row in ipairs(ty.rows) do
        row.parents = {}
        local fields = {}
        for f in pairs(ty.refs) do fields[#fields + 1] = f end
        sort(fields)
        for _, f in ipairs(fields) do
          if row.failed then break end
          local target, v = ty.refs[f], row[f]
          if type(target) == "table" then
            local named = named_type(types, row[target.by])
            if not named or not ON_KINDS[named.kind] or named == ty then
              row.failed = fmt("%s: '%s' is not a type this %s can go on (types: %s)",
                               where(ty, row, target.by), tostring(row[target.by] or ""), ty.kind,
                               (function()
                                 local ok = {}
                                 for n, o in pairs(types) do
                                   if ON_KINDS[o.kind] and o ~= ty then ok[#ok + 1] = n end
                                 end
                                 sort(ok)
                                 return concat(ok, ", ")
                               end)())
              break
            end
            target = named
          else
            target = types[target]
          end
          if blank(v) then
            if needs[f] then row.failed = fmt("%s: no %s id", where(ty, row, f), f) end
          elseif not target.by_id[trim(v)] then
            row.failed = fmt("%s: no %s '%s' in %s", where(ty, row, f), target.kind, trim(v),
                             target.spec.file)
          else
            row.parents[f] = { type = target, row = target.by_id[trim(v)] }
          end
        end
      end
    end
  end

  -- ---- the map from source ids to Tracker's ---------------------------------------------

  -- The map in memory (plain Lua, or option `ids`): ids[type][source] = Tracker's id.
  local function memory_map(ids)
    local pending = {}
    local m = { stored = false }
    function m.get(kind, source)
      local id = ids[kind] and ids[kind][source]
      if id ~= nil then return "done", tointeger(id), 1 end
      local p = pending[kind .. "\0" .. source]
      if p then return "pending", nil, p end
    end
    function m.set(kind, source, status, id, n)
      if status == "done" then
        ids[kind] = ids[kind] or {}
        ids[kind][source] = id or true
        pending[kind .. "\0" .. source] = nil
      else
        pending[kind .. "\0" .. source] = n or 1
      end
    end
    return m
  end

  -- ---- finding a record Tracker may have already ---------------------------------------------

  local function same(a, b)
    return a ~= nil and b ~= nil and lower(trim(tostring(a))) == lower(trim(tostring(b)))
  end

  -- The first record of a stream that pred likes, or nil, or nil, err.
  local function first(pred, _, st)
    while true do
      local r, e = st:next()
      if r == nil then return nil, e end
      if pred(r) then
        st:close()
        return r
      end
    end
  end

  local function person_name(f)
    return f.name or trim(concat({ f.first_name or "", f.last_name or "" }, " "))
  end

  -- The records of `kind` Tracker holds for a person's email, phone or LinkedIn address: a list
  -- (checkPerson, t:find_person), so a migration never makes a second record for a person.
  local function people(t, kind, f)
    local q, any = {}, false
    for _, k in ipairs({ "email", "phone", "linkedin" }) do
      if not blank(f[k]) then q[k], any = f[k], true end
    end
    if not any then return {} end
    local list, e = attempt(t.find_person, t, q)
    if not list then return nil, e end
    local out = {}
    for _, p in ipairs(type(list) == "table" and list or {}) do
      if p.kind == kind then out[#out + 1] = p end
    end
    return out
  end

  -- Looks for the record a row would make, by what Tracker tells records apart by: the id of
  -- one found, false for none, or nil and why. Asked before a person's create (people are
  -- matched), and for any row whose create a stopped run may have sent (the map says pending).
  local LOOKUP = {}
  function LOOKUP.client(t, f)
    local c, e = first(function(r) return same(r.name, f.name) end, t:clients({ search = f.name }))
    if e then return nil, error_text(e) end
    return c and c.id or false
  end
  local function person(kind, by_name)
    return function(t, f, ids, pending)
      local list, e = people(t, kind, f)
      if not list then return nil, e end
      if #list > 1 then
        local got = {}
        for i, p in ipairs(list) do got[i] = tostring(p.id) end
        return nil, fmt("%d %ss have this row's email, phone or LinkedIn address (ids %s): merge "
                        .. "them first", #list, kind, concat(got, ", "))
      end
      if list[1] then return list[1].id end
      if not pending then return false end    -- namesakes are not the same person
      return by_name(t, f, ids)
    end
  end
  LOOKUP.contact = person("contact", function(t, f, ids)
    local name = person_name(f)
    local c, e = first(function(r) return same(r.name, name) and r.client_id == ids.client end,
                       t:contacts({ search = name }))
    if e then return nil, error_text(e) end
    return c and c.id or false
  end)
  LOOKUP.candidate = person("candidate", function(t, f)
    local list, e = attempt(t.find_candidates, t, { name = person_name(f) })
    if not list then return nil, e end
    return type(list) == "table" and list[1] and list[1].id or false
  end)
  function LOOKUP.job(t, f, ids)
    local function titled(name)
      -- Tracker may prefix a job's name ("JOB-1034 Java Programmer")
      return name == f.title
             or (type(name) == "string" and name:sub(-#f.title - 1) == " " .. f.title)
    end
    local j, e = first(function(r) return titled(r.name) and r.client_id == ids.client end,
                       t:jobs({ search = f.title }))
    if e then return nil, error_text(e) end
    return j and j.id or false
  end
  function LOOKUP.application(t, _, ids)
    local a, e = first(function() return true end,
                       t:applications({ candidate = ids.candidate, job = ids.job }))
    if e then return nil, error_text(e) end
    return a and a.id or false
  end

  -- ---- the writes ---------------------------------------------------------------------------

  -- A row's fields as its write takes them: custom.* columns in `custom`, numbers as numbers.
  local function write_fields(ty, row)
    local out = {}
    for _, f in ipairs(KINDS[ty.kind].fields) do
      local v = row[f]
      if not blank(v) then
        v = trim(v)
        if NUMBERS[f] and tonumber(v) then v = tonumber(v) end
        out[f] = v
      end
    end
    for f, v in pairs(row) do
      local cname = type(f) == "string" and match(f, "^custom%.(.+)$")
      if cname and not blank(v) then
        out.custom = out.custom or {}
        out.custom[cname] = trim(v)
      end
    end
    return out
  end

  local CLIENT_ONLY = { name = true }

  -- The id of the record a write answered, or true when it answered none (a hook that plans).
  local function record_id(rec)
    return type(rec) == "table" and tointeger(rec.id) or true
  end

  -- The writes of each kind: make(t, ty, row, fields, ids, key) answers Tracker's id (or true
  -- for a record nothing refers to), or nil and why; `linked` says Tracker had it already.
  local MAKE = {}

  -- A client comes with its first contact: Tracker has no createClient verb (client.md).
  function MAKE.client(t, ty, row, f, _, _, ctx)
    local first_contact = ctx.first_contact(ty, row)
    if not first_contact then
      return nil, fmt("%s: no contact names client '%s': Tracker makes a client only with a "
                      .. "contact (it has no createClient verb); add one to the contacts file",
                      where(ty, row), row.src)
    end
    local cty, crow = first_contact.type, first_contact.row
    local cf = write_fields(cty, crow)
    ctx.map.set(cty.name, crow.src, "pending", nil, 1)     -- looked for, if this run stops
    cf.company, cf.create_company, cf.key = f.name, true, ctx.key_of(cty, crow, 1)
    local rec, e = attempt(t.create_contact, t, cf)
    if not rec then return nil, fmt("its first contact (%s): %s", where(cty, crow), e) end
    local cid = type(rec) == "table" and rec.client_id
    if not cid then
      return nil, fmt("contact %s was made but does not name its client", tostring(record_id(rec)))
    end
    ctx.made(cty, crow, record_id(rec))
    return cid
  end

  -- What a record made by this import gets after its create: found after a stopped run by
  -- looking for it, it gets it then (each such write has its own key: sent once).
  local FINISH = {}
  function FINISH.client(t, cid, f, key)
    local extra = {}
    for k, v in pairs(f) do
      if not CLIENT_ONLY[k] then extra[k] = v end
    end
    if next(extra) == nil then return true end
    local ok, ue = attempt(t.update_client, t, { kind = "client", id = cid, name = f.name }, extra,
                           { key = key .. ":fields" })
    if not ok then return nil, fmt("client %d was made; its fields were not set: %s", cid, ue) end
    return true
  end
  function FINISH.application(t, id, f, key, ids)
    if not f.stage then return true end
    local ok, se = attempt(t.move_to_stage, t, { kind = "application", id = id,
                                                 candidate_id = ids.candidate, job_id = ids.job },
                           f.stage, { key = key .. ":stage" })
    if not ok then
      return nil, fmt("application %d was made; not moved to '%s': %s", id, f.stage, se)
    end
    return true
  end

  function MAKE.contact(t, _, _, f, ids, key)
    f.company, f.key = ids.client_name, key
    local rec, e, raw = attempt(t.create_contact, t, f)
    if not rec and tracker.is_error(raw) and raw.code == "conflict" and raw.existing then
      return raw.existing.id, nil, true
    end
    if not rec then return nil, e end
    return record_id(rec)
  end

  function MAKE.job(t, _, _, f, ids, key)
    f.client, f.contact, f.key = ids.client, ids.contact, key
    local rec, e = attempt(t.create_job, t, f)
    if not rec then return nil, e end
    return record_id(rec)
  end

  function MAKE.candidate(t, _, _, f, _, key)
    f.key = key
    local rec, e = attempt(t.create_candidate, t, f)
    if not rec then return nil, e end
    return record_id(rec), nil, type(rec) == "table" and rec.created == false
  end

  function MAKE.application(t, _, _, f, ids, key)
    local rec, e, raw = attempt(t.create_application, t, { candidate = ids.candidate, job = ids.job,
                                list = f.list, by = f.by, source = f.source, key = key })
    local linked = false
    if not rec and tracker.is_error(raw) and raw.code == "conflict" and raw.existing then
      rec, linked = raw.existing, true
    end
    if not rec then return nil, e end
    return record_id(rec), nil, linked
  end

  function MAKE.activity(t, _, _, f, ids, key)
    f.key = key
    local rec, e = attempt(t.add_activity, t, ids.on, f)
    if not rec then return nil, e end
    return record_id(rec)
  end

  function MAKE.document(t, ty, _, f, ids, key, ctx)
    local path = path_in(ty.spec.folder or ctx.dir, f.file)
    local data, e = attempt(read_bytes, path)
    if not data then return nil, e end
    local rec
    local primary = f.primary and lower(f.primary) == "yes" or nil
    rec, e = attempt(t.attach, t, ids.on, { filename = f.filename or match(f.file, "([^/\\]+)$"),
                                            data = data, type = f.type, primary = primary,
                                            key = key })
    if not rec then return nil, e end
    return record_id(rec)
  end

  -- ---- the run ------------------------------------------------------------------------------

  local function summary(order, sample)
    local by = {}
    for _, ty in ipairs(order) do
      by[ty.name] = { rows = #ty.rows, created = 0, linked = 0, mapped = 0, failed = 0,
                      sample = {}, file = ty.spec.file }
    end
    local s = { types = by, order = {}, failed = 0, created = 0, sample_size = sample }
    for i, ty in ipairs(order) do s.order[i] = ty.name end
    return setmetatable(s, { __tostring = function(self)
      local lines = {}
      for _, name in ipairs(self.order) do
        local c = self.types[name]
        local parts = {}
        for _, st in ipairs(STATUSES) do parts[#parts + 1] = fmt("%s %d", st, c[st]) end
        parts[#parts + 1] = fmt("failed %d", c.failed)
        lines[#lines + 1] = fmt("%s (%s) %d rows: %s", name, c.file, c.rows, concat(parts, ", "))
        for _, ex in ipairs(c.sample) do lines[#lines + 1] = "  " .. ex end
      end
      return concat(lines, "\n")
    end })
  end

  -- A few words naming a row, for the plan's samples.
  local function described(ty, row)
    local f = row
    local what = f.name or f.title or f.subject or f.filename or f.file
                 or (f.first_name or f.last_name) and person_name(f) or f.email or f.type
    local refs = {}
    for field, p in pairs(row.parents or {}) do refs[#refs + 1] = fmt("%s %s", field, p.row.src) end
    sort(refs)
    return fmt("%s %s%s%s", ty.kind, row.src or "?", what and fmt(" '%s'", what) or "",
               #refs > 0 and " (" .. concat(refs, ", ") .. ")" or "")
  end

  local function linked(t, set)
    local fname = "linked"
    if type(set) ~= "table" then
      misuse("%s: argument 2 must be a table naming the files to import, got %s", fname, type(set))
    end
    local types, names = set_types(fname, set)
    for k, want in pairs(SET_OPTIONS) do
      if set[k] ~= nil and type(set[k]) ~= want then
        misuse("%s: option '%s' must be a %s, got %s", fname, k, want, type(set[k]))
      end
    end
    local order = import_order(fname, types, names)
    check_refs(fname, types)
    for _, ty in ipairs(order) do read_type(fname, set, ty) end
    check_rows(types, order)

    local mapname = set.name or set.dir or "linked"
    local map
    if set.ids then map = memory_map(set.ids)
    elseif tracker.id_map then map = tracker.id_map(mapname)
    else map = memory_map({}) end
    local sum = summary(order, tointeger(set.sample) or 3)

    -- failure files: a type's own, else one per type in the set's folder
    local writers = {}
    for _, ty in ipairs(order) do
      local out = ty.spec.failures or (set.failures and path_in(set.failures, ty.name .. ".csv"))
      if out then writers[ty.name] = csv.failures(out, ty.reader) end
    end
    local function close_all()
      for _, w in pairs(writers) do w:close() end
    end

    local ids = {}            -- by type: source id -> Tracker's id, this run's view of the map
    for _, ty in ipairs(order) do ids[ty.name] = {} end
    local made_here = {}      -- rows created in this run (a client's first contact)

    local ctx = {}
    function ctx.key_of(ty, row, n)
      return fmt("migrate:%s:%s:%s:%d", mapname, ty.name, row.src, n)
    end
    -- the first contact (in file order) naming a client row
    function ctx.first_contact(cty, crow)
      for _, ty in ipairs(order) do
        if ty.kind == "contact" and ty.refs.client == cty.name then
          for _, row in ipairs(ty.rows) do
            if not row.failed and row.parents.client and row.parents.client.row == crow then
              return { type = ty, row = row }
            end
          end
        end
      end
    end
    function ctx.made(ty, row, id)
      map.set(ty.name, row.src, "done", id, 1)
      ids[ty.name][row.src] = id
      made_here[row] = true
    end
    ctx.map, ctx.dir = map, set.dir

    local function report(ty, row, status, detail)
      local c = sum.types[ty.name]
      c[status] = c[status] + 1
      if status == "failed" then
        sum.failed = sum.failed + 1
        if writers[ty.name] then writers[ty.name]:add(row, detail) end
        row.failed = row.failed or detail
      elseif status == "created" then
        sum.created = sum.created + 1
      end
      if #c.sample < sum.sample_size then
        c.sample[#c.sample + 1] = fmt("%s: %s%s", described(ty, row), status,
                                      status == "failed" and (": " .. detail) or "")
      end
      if set.on_row then set.on_row(ty.name, row, status, detail) end
    end

    -- The Tracker ids of a row's parents: { client =, client_name =, on = record, ... }, or nil
    -- and why a parent cannot be used.
    local function parent_ids(row)
      local out = {}
      for field, p in pairs(row.parents) do
        if p.row.failed then
          return nil, fmt("its %s %s failed (%s)", p.type.kind, p.row.src,
                          error_text(p.row.failed))
        end
        local id = ids[p.type.name][p.row.src]
        if id == nil or id == true then
          return nil, fmt("its %s %s has no Tracker id", p.type.kind, p.row.src)
        end
        out[field] = id
        if field == "on" then
          out.on = { kind = p.type.kind, id = id }
          if p.type.kind == "application" then
            local ap = p.row.parents
            out.on.candidate_id = ap.candidate and ids[ap.candidate.type.name][ap.candidate.row.src]
            out.on.job_id = ap.job and ids[ap.job.type.name][ap.job.row.src]
          end
        end
        if field == "client" then out.client_name = p.row.name and trim(p.row.name) end
      end
      return out
    end

    local function import(ty, row)
      if row.failed then return report(ty, row, "failed", row.failed) end
      local status, id, n = map.get(ty.name, row.src)
      if made_here[row] then
        ids[ty.name][row.src] = id
        return report(ty, row, "created", id)
      end
      if status == "done" then
        ids[ty.name][row.src] = id or true
        return report(ty, row, "mapped", id)
      end
      local pids, why = parent_ids(row)
      if not pids then return report(ty, row, "failed", why) end
      local f = write_fields(ty, row)
      local lookup = LOOKUP[ty.kind]
      -- a create a stopped run may have sent is looked for first; a person always is
      local look = lookup and (status == "pending" or ty.kind == "contact"
                               or ty.kind == "candidate" or ty.kind == "client")
      if look then
        local found, le = lookup(t, f, pids, status == "pending")
        if found == nil then return report(ty, row, "failed", le) end
        if found and status == "pending" and FINISH[ty.kind] then
          -- made by a run that stopped: finished now, with the keys that run used
          local ok, fe = FINISH[ty.kind](t, found, f, ctx.key_of(ty, row, n or 1), pids)
          if not ok then return report(ty, row, "failed", fe) end
        end
        if found then
          map.set(ty.name, row.src, "done", found, n or 1)
          ids[ty.name][row.src] = found
          return report(ty, row, "linked", found)
        end
      end
      -- activities and documents keep their key: the journal reads a pending one back
      n = (status == "pending" and lookup) and (n or 1) + 1 or (n or 1)
      map.set(ty.name, row.src, "pending", nil, n)
      local key = ctx.key_of(ty, row, n)
      local made, e, was = MAKE[ty.kind](t, ty, row, f, pids, key, ctx)
      if not made then return report(ty, row, "failed", e) end
      if made ~= true and not was and FINISH[ty.kind] then
        local ok, fe = FINISH[ty.kind](t, made, f, key, pids)
        if not ok then return report(ty, row, "failed", fe) end
      end
      map.set(ty.name, row.src, "done", made ~= true and made or nil, n)
      ids[ty.name][row.src] = made
      return report(ty, row, was and "linked" or "created", made)
    end

    local ok, e = pcall(function()
      for _, ty in ipairs(order) do
        for _, row in ipairs(ty.rows) do import(ty, row) end
      end
    end)
    close_all()
    if not ok then error(e, 0) end
    return sum
  end

  -- migrate.linked(t, set): imports the CSV files of `set` that refer to each other by the
  -- source system's ids; see docs/migrations.md. Returns the summary by type.
  M.linked = function(...) return guard(linked, ...) end
end
