-- writes: the write methods of the client. Each checks its arguments (misuse raises before
-- anything is sent), builds its action { op, target, payload, key } and hands it to the one path
-- of every write (batch.lua: perform), with the function that sends its request(s) under the
-- write rules: a fresh connection, retried only when the server surely did not process it,
-- otherwise an unknown_outcome error (failures.lua). What each kind of action is lives in
-- actions.lua; wire names are in widget.lua.

local widget, actions, redact = import "widget", import "actions", import "redact"
local usage, failures, object = import "usage", import "failures", import "object"
local pipeline, metadata_mod, batch, values, times =
      import "pipeline", import "metadata", import "batch", import "values", import "times"
local streams = import "streams"
local native = native
local misuse, options, suggest, id_of = usage.misuse, usage.options, usage.suggest, usage.id_of
local invalid = usage.invalid
local err, unknown_outcome = failures.err, failures.unknown_outcome
local Client, state = object.Client, object.state
local send, finish, batch_threads = pipeline.send, pipeline.finish, pipeline.batch_threads
local metadata, find_stage = metadata_mod.metadata, metadata_mod.find_stage
local perform, run_batch, settle_record = batch.perform, batch.run_batch, batch.settle_record
local copy, ttime = values.copy, times.time

local type, pairs, ipairs, tostring, tonumber, next, select =
      type, pairs, ipairs, tostring, tonumber, next, select
local tointeger, mtype, huge = math.tointeger, math.type, math.huge
local fmt, sub, lower, upper, match, find, gsub =
      string.format, string.sub, string.lower, string.upper, string.match, string.find,
      string.gsub
local concat, sort = table.concat, table.sort
local utf8len = utf8.len
local running = coroutine.running

local REJECTION_FIELD = "rejection reason"   -- application custom field that holds the reason
local REJECTION_SUBJECT = "Rejected"

-- Extensions for content types, when a file name has none (Tracker types files by extension).
local EXTENSIONS = {
  ["application/pdf"] = "pdf", ["application/msword"] = "doc",
  ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"] = "docx",
  ["application/rtf"] = "rtf", ["text/plain"] = "txt", ["text/html"] = "html",
  ["image/png"] = "png", ["image/jpeg"] = "jpg", ["image/gif"] = "gif",
  ["application/vnd.oasis.opendocument.text"] = "odt",
}

-- The envelope of a widget answer to `call`, or nil, err and the decoded answer (for status
-- 3). A write whose answer cannot be read may or may not have happened.
local function widget_answer(call, doc)
  local env, code, msg = widget.answer(call.what, doc, false)
  if env then return env end
  if call.write and code == "bad_response" then
    return nil, unknown_outcome(call.what, msg, 200)
  end
  return nil, err(code, msg), doc
end

-- Custom field names by id, of every kind (for messages).
local function field_names(s)
  local out = {}
  for _, list in pairs(s.meta and s.meta.custom_fields or {}) do
    for _, d in ipairs(list) do out[d.id] = d.name end
  end
  return out
end

-- One widget write: as widget_answer. A refusal (status 99, HTTP 400/422) names what the write
-- sent beside the server's text, which need not say which value it refused.
local function widget_write(s, fname, verb, instructions, nodes)
  local path, body = widget.request(verb, pipeline.widget_credentials(s, fname), instructions, nodes)
  local call = { api = "widget", what = verb, base = pipeline.widget_base(s, fname), path = path,
                 body = body, write = true }
  send(s, call)
  local doc, e = finish(s, call)
  local env, doc2
  if doc then env, e, doc2 = widget_answer(call, doc) end
  if env then return env end
  if e.code == "invalid_request" then
    local what = widget.sent(instructions, nodes, field_names(s))
    if what ~= "" then
      e.message = fmt("%s (%s sent %s)", e.message, fname, what)
      e.sent = what
    end
  end
  return nil, e, doc2
end

-- ---- arguments ------------------------------------------------------------------------------

-- Activities (notes among them) link to these; custom fields are set on these too.
local ACTIVITY_KINDS = { candidate = true, application = true, job = true }
for _, k in ipairs(widget.crm_kinds) do ACTIVITY_KINDS[k] = true end
local FIELD_KINDS = ACTIVITY_KINDS

-- kind, id and name of a record argument: a record, { kind =, id = }, or, where `kind` is
-- fixed, a bare id.
local function target_of(fname, v, kinds, fixed)
  if type(v) == "table" then
    local kind = v.kind or fixed
    if not kinds[kind] then
      local names = {}
      for k in pairs(kinds) do names[#names + 1] = k end
      sort(names)
      local given = v.kind and tostring(v.kind)
      misuse(fname, "argument 1 must be a %s record, got %s", concat(names, ", "),
             given and ((given:match("^[aeiou]") and "an " or "a ") .. given .. " record")
             or "a table without 'kind'")
    end
    local id = id_of(fname, "argument 1", v.id)
    return { kind = kind, id = id, name = type(v.name) == "string" and v.name or nil }
  end
  if fixed and (tointeger(v) or type(v) == "string" and tointeger(tonumber(v))) then
    return { kind = fixed, id = id_of(fname, "argument 1", tointeger(tonumber(v))) }
  end
  if fixed then misuse(fname, "argument 1 must be a %s record or id, got %s", fixed, type(v)) end
  if tointeger(v) then
    misuse(fname, "argument 1 is a bare id, which does not say what record it is: pass the record, "
           .. "or { kind = 'candidate', id = %d } (or application, job)", tointeger(v))
  end
  misuse(fname, "argument 1 must be a record (or { kind = 'candidate', id = 42 }), got %s",
         type(v))
end

local function with_key(fname, opts, allowed)
  allowed.key = "string"
  return options(fname, opts, allowed, "the options")
end

local function names_of(list, field)
  local out = {}
  for i, x in ipairs(list) do out[i] = x[field or "name"] end
  return out
end

-- The entry of `list` named `v` (any case) or with id `v`; raises with suggestions.
local function lookup(fname, what, list, v)
  local id = tointeger(v)
  for _, x in ipairs(list) do
    if (id and x.id == id) or (type(v) == "string" and lower(x.name) == lower(v)) then return x end
  end
  misuse(fname, "unknown %s '%s'%s", what, tostring(v), suggest(tostring(v), names_of(list)))
end

local function stage_of(fname, m, v)
  if type(v) ~= "string" and tointeger(v) == nil then
    misuse(fname, "a stage must be a name or an id, got %s", type(v))
  end
  local st, e = find_stage(m, v)
  if not st then misuse(fname, "%s", e.message) end
  return st
end

-- ---- values, checked the way Tracker checks them (docs/client.md, "Values") ----------------

-- A calendar date YYYY-MM-DD (no February 30, no month 13; leap years right): the calendar is
-- the C time parser's (bindings/time.c), the one place trk reads dates.
local function is_date(v)
  if type(v) ~= "string" or not match(v, "^%d%d%d%d%-%d%d%-%d%d$") then return false end
  return ttime.from_local(v, "UTC") ~= nil
end

local function quoted_list(names)
  local out = {}
  for i, n in ipairs(names) do out[i] = "'" .. n .. "'" end
  return concat(out, ", ")
end

-- The item of `names` that `v` is, as the list spells it (any case: what is sent is always
-- the list's own spelling, which Tracker takes); else raises invalid with the closest names.
-- `what` names the field.
local function one_of(fname, field, what, names, v)
  if type(v) == "string" then
    for _, n in ipairs(names) do if lower(n) == lower(v) then return n end end
  end
  local hint = suggest(tostring(v), names)
  invalid(fname, { field = field, value = v, allowed = names, suggestion = match(hint, "'(.-)'") },
          "'%s' is not an item of %s%s (items: %s)", tostring(v), what, hint, quoted_list(names))
end

-- Raises invalid when text is longer than a maximum the metadata gives (none is documented,
-- so trk assumes none: docs/tracker-api.md, "Values").
local function check_length(fname, field, what, max, v)
  local n = utf8len(v) or #v
  if max and n > max then
    invalid(fname, { field = field, value = v, allowed = fmt("at most %d characters", max) },
            "'%s' is %d characters long: %s takes at most %d", sub(v, 1, 40)
            .. (n > 40 and "..." or ""), n, what, max)
  end
end

local function date_value(fname, field, what, v)
  if is_date(v) then return v end
  invalid(fname, { field = field, value = v, allowed = "a calendar date YYYY-MM-DD" },
          "%s takes a calendar date (YYYY-MM-DD), got '%s'%s", what, tostring(v),
          type(v) == "string" and match(v, "^%d%d%d%d%-%d%d%-%d%d$")
          and ": there is no such day" or "")
end

local function number_text(v)
  if type(v) == "number" then
    return mtype(v) == "integer" and tostring(v) or fmt("%.14g", v)
  end
  if type(v) == "string" and tonumber(v) then return v end
  return nil
end

-- A clock time as Tracker takes it (§3 createActivity: HH:MM or h:mm AM/PM).
local function time_value(fname, field, what, v)
  local h, mi, ap
  if type(v) == "string" then
    h, mi, ap = match(v, "^(%d%d?):(%d%d)%s*([AaPp][Mm])$")
    if not h then h, mi = match(v, "^(%d%d?):(%d%d)$") end
  end
  h, mi = tonumber(h), tonumber(mi)
  if h and mi < 60 and ((ap and h >= 1 and h <= 12) or (not ap and h < 24)) then return v end
  invalid(fname, { field = field, value = v, allowed = "a time HH:MM or h:mm AM/PM" },
          "%s takes a time (HH:MM or h:mm AM/PM), got '%s'", what, tostring(v))
end

-- A name of a metadata list (`list`: activity_types, activity_statuses), as the list spells
-- it; where the settings list none (§9.8: the names are the database's own), as given, for
-- Tracker to check.
local LIST_WHAT = { activity_types = "activity types", activity_statuses = "activity statuses" }

local function named_value(fname, m, list, field, v)
  if type(v) ~= "string" or v == "" then
    misuse(fname, "'%s' must be a name from %s, got %s", field, LIST_WHAT[list],
           v == "" and "an empty string" or type(v))
  end
  if not m[list] then return v end
  local names = {}
  for i, x in ipairs(m[list]) do names[i] = x.name end
  return one_of(fname, field, "this database's " .. LIST_WHAT[list], names, v)
end

local function number_value(fname, field, what, v)
  return number_text(v) or invalid(fname, { field = field, value = v, allowed = "a number" },
                                   "%s takes a number, got '%s'", what, tostring(v))
end

local CHECKBOX = { yes = "Yes", y = "Yes", ["true"] = "Yes", ["1"] = "Yes",
                   no = "No", n = "No", ["false"] = "No", ["0"] = "No" }

-- The wire text of a custom-field value, checked against the field's definition; "" clears.
local function field_value(fname, def, v)
  local what = fmt("custom field '%s'", def.name)
  if v == "" or v == native.null then return "" end
  if def.type == "List" then
    return one_of(fname, def.name, what, names_of(def.items or {}), v)
  elseif def.type == "Number" then
    return number_value(fname, def.name, what, v)
  elseif def.type == "Checkbox" then
    if v == true then return "Yes" elseif v == false then return "No" end
    return type(v) == "string" and CHECKBOX[lower(v)]
           or invalid(fname, { field = def.name, value = v, allowed = "true or false" },
                      "%s takes true or false, got '%s'", what, tostring(v))
  elseif def.type == "Date" then
    return date_value(fname, def.name, what, v)
  end
  if type(v) == "number" then return number_text(v) end
  if type(v) ~= "string" then misuse(fname, "%s takes text, got %s", what, type(v)) end
  check_length(fname, def.name, what, def.max_length, v)
  return v
end

-- Custom fields of `kind` by name or id: the wire list { { id, text } } sorted by id, and
-- the values by field name (for the action's payload).
local function custom_values(fname, m, kind, fields)
  if type(fields) ~= "table" then
    misuse(fname, "custom fields must be a table of name = value, got %s", type(fields))
  end
  local defs = m.custom_fields[kind] or {}
  local wire, named = {}, {}
  for k, v in pairs(fields) do
    local def
    for _, d in ipairs(defs) do
      if (tointeger(k) and d.id == k) or (type(k) == "string" and lower(d.name) == lower(k)) then
        def = d
        break
      end
    end
    if not def then
      misuse(fname, "no %s custom field '%s'%s", kind, tostring(k),
             suggest(tostring(k), names_of(defs)))
    end
    local text = field_value(fname, def, v)
    wire[#wire + 1] = { def.id, text }
    named[def.name] = text
  end
  sort(wire, function(a, b) return a[1] < b[1] end)
  return wire, named
end

-- updateRecord columns for fields by trk name: { { column, text } } sorted, and the payload.
local function column_values(fname, m, kind, fields)
  local columns = widget.columns[kind]
  local updates, named = {}, {}
  for k, v in pairs(fields) do
    if k ~= "custom" then
      local spec = type(k) == "string" and columns[k]
      if not spec then
        local names = {}
        for n in pairs(columns) do names[#names + 1] = n end
        sort(names)
        misuse(fname, "unknown %s field '%s'%s", kind, tostring(k), suggest(tostring(k), names))
      end
      local text
      if v == "" then
        text = ""
      elseif spec[2] == "date" then
        text = date_value(fname, k, fmt("field '%s'", k), v)
      elseif spec[2] == "number" then
        text = number_value(fname, k, fmt("field '%s'", k), v)
      elseif spec[2] == "time" then
        text = time_value(fname, k, fmt("field '%s'", k), v)
      elseif spec[2] == "named" then
        text = named_value(fname, m, spec.list, k, v)
      elseif spec[2] == "status" then
        local list = kind == "job" and m.job_statuses or m.candidate_statuses
        text = tostring(lookup(fname, kind .. " status", list, v).id)
      elseif spec[2] == "stage" then             -- a placement's status is a stage (§3)
        local st = stage_of(fname, m, v)
        text, v = tostring(st.id), st.name
      elseif type(v) == "string" or type(v) == "number" then
        text = type(v) == "number" and number_text(v) or v
      else
        misuse(fname, "field '%s' takes text, got %s", k, type(v))
      end
      updates[#updates + 1] = { spec[1], text }
      named[k] = v
    end
  end
  sort(updates, function(a, b) return a[1] < b[1] end)
  return updates, named
end

-- candidate id, job id of an application target (from the record, else read).
local function application_links(self, record, target)
  if type(record) == "table" and tointeger(record.candidate_id) and tointeger(record.job_id) then
    return record.candidate_id, record.job_id
  end
  local app, e = self:application(target.id)
  if not app then return nil, e end
  return app.candidate_id, app.job_id
end

-- ---- updates and stages ---------------------------------------------------------------------

-- An updateRecord write: columns { { column, text } } and custom fields { { id, text } }.
local function update(s, fname, op, target, updates, custom, payload, key, chain)
  return perform(s, op, target, payload, key, function()
    local ins, nodes = widget.update(target.kind, target.id, updates, custom)
    local env, e = widget_write(s, fname, "updateRecord", ins, nodes)
    if not env then return nil, e end
    return true
  end, chain)
end


-- The stage an application is in, for a move's `from`: the one the page the stream is on
-- showed (streams.lua: it holds the record, read moments ago), else read (REST).
local function current_stage(self, s, id)
  local held = s.held_stages and s.held_stages[id]
  if held then return held.id, held.name end
  local cur, e = self:application(id)
  if not cur then return nil, e end
  return cur.stage_id, cur.stage
end

local function move(self, s, fname, app, st, from, key, chain)
  local target = target_of(fname, app, { application = true }, "application")
  if from then
    settle_record(s, target)
    local cur_id, cur = current_stage(self, s, target.id)
    if cur_id == nil then return nil, cur end
    if cur_id ~= from.id then
      return nil, err("conflict", fmt("%s: application %d is in stage '%s', not '%s'", fname,
                                      target.id, tostring(cur), from.name), nil,
                      { current = cur })
    end
  end
  -- a move makes the stage the stream showed old: the next `from` reads it
  if s.held_stages then s.held_stages[target.id] = nil end
  local payload = { stage = st.name, stage_id = st.id, from = from and from.name or nil }
  return update(s, fname, "move_to_stage", target, { { widget.stage_column, tostring(st.id) } },
                nil, payload, key, chain)
end

function Client:move_to_stage(app, stage, opts)
  local fname = "move_to_stage"
  local s = state(self, fname)
  opts = with_key(fname, opts, { from = "any" })
  target_of(fname, app, { application = true }, "application")
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local st = stage_of(fname, m, stage)
  local from = opts.from ~= nil and stage_of(fname, m, opts.from) or nil
  return move(self, s, fname, app, st, from, opts.key)
end

-- ---- creates --------------------------------------------------------------------------------

local LISTS, BY = { short = true, long = true }, { user = true, resource = true }

local function list_by(fname, o)
  if o.list ~= nil and not LISTS[o.list] then
    misuse(fname, "option 'list' must be 'short' or 'long', got '%s'", tostring(o.list))
  end
  if o.by ~= nil and not BY[o.by] then
    misuse(fname, "option 'by' must be 'user' or 'resource', got '%s'", tostring(o.by))
  end
end

function Client:create_application(o)
  local fname = "create_application"
  local s = state(self, fname)
  o = with_key(fname, o, { candidate = "any", job = "any", list = "string", by = "string",
                           source = "string" })
  if o.candidate == nil or o.job == nil then misuse(fname, "give both 'candidate' and 'job'") end
  local cand = id_of(fname, "candidate", o.candidate, "candidate")
  local job = id_of(fname, "job", o.job, "job")
  list_by(fname, o)
  local target = { kind = "job", id = job, name = type(o.job) == "table" and o.job.name or nil }
  local payload = { candidate = cand, job = job, list = o.list or "short", by = o.by or "user",
                    source = o.source }
  return perform(s, "create_application", target, payload, o.key, function()
    local env, e, doc = widget_write(s, fname, "resourceApplication",
                                     widget.application(job, cand, payload.list, payload.by,
                                                        payload.source))
    if not env and e.code ~= "conflict" then return nil, e end
    -- the id: from the answer, else read back (§9.3: success and conflict may come without one)
    local id = widget.record_id(env or doc)
    local app
    if id then app = self:application(id)
    else
      local found, fe = streams.find_application(s, fname, cand, job)
      if found == nil then
        if not env then return nil, e end
        return nil, unknown_outcome(fname, fmt("the answer has no recordId and no application of "
                                               .. "candidate %d to job %d could be read back: %s",
                                               cand, job, fe and fe.message or "none was found"), 200)
      end
      id = found.id
      app = self:application(id) or found       -- a search row may lack the custom fields
      app.read_back = true
    end
    app = app or { kind = "application", id = id, candidate_id = cand, job_id = job }
    if not env then
      e.message = fmt("%s: candidate %d already has an application (%d) for job %d", fname,
                      cand, id, job)
      e.id, e.existing = id, app
      return nil, e
    end
    app.created = true
    return app
  end)
end

local CANDIDATE_OPTS = { custom = "table", overwrite = "boolean", job = "any", list = "string",
                         by = "string" }
for k in pairs(widget.resource_fields) do CANDIDATE_OPTS[k] = "string" end

-- The candidate with `email` (any case; the newest when several have it), or nil, or nil, err:
-- how a create whose answer has no recordId learns it (§9.3, §9.4). Tracker's search is not
-- known to match emails, so the client reads every candidate once and keeps an index of emails
-- for the rest of its life; a miss reads them again (a new candidate).
local function find_candidate(self, s, email)
  local want = lower(email)
  local idx = s.email_index
  if not (idx and idx[want]) then
    idx = {}
    local ok, e = pcall(function()
      for c in self:candidates() do
        local k = c.email and lower(c.email)
        if k and (idx[k] == nil or c.id > idx[k]) then idx[k] = c.id end
      end
    end)
    if not ok then
      return nil, type(e) == "table" and e or err("bad_response", tostring(e))
    end
    s.email_index = idx
  end
  return idx[want] and { id = idx[want] } or nil
end

-- The createResource fields of a create's options, by wire name, and the payload's, by trk
-- name: a status and a source as the database's lists spell them.
local function resource_values(fname, m, o)
  local fields, payload = {}, {}
  for k, wire in pairs(widget.resource_fields) do
    local v = o[k]
    if v ~= nil then
      if k == "status" then v = lookup(fname, "candidate status", m.candidate_statuses, v).name end
      if k == "source" and #m.sources > 0 then     -- a list only where the settings give one
        v = one_of(fname, k, "this database's candidate sources", names_of(m.sources), v)
      end
      fields[wire], payload[k] = v, v
    end
  end
  return fields, payload
end

-- An email a create is given is an address.
local function check_email(fname, o)
  if o.email ~= nil and not match(o.email, "^[^@%s]+@[^@%s]+$") then
    misuse(fname, "'%s' is not an email address", o.email)
  end
end

-- A person a create makes (a candidate, a contact) has a name, and an email that is one.
local function check_person(fname, what, o)
  if not (o.first_name or o.last_name or o.name) then
    misuse(fname, "a %s needs 'first_name', 'last_name' or 'name'", what)
  end
  check_email(fname, o)
end

function Client:create_candidate(o)
  local fname = "create_candidate"
  local s = state(self, fname)
  o = with_key(fname, o, CANDIDATE_OPTS)
  check_person(fname, "candidate", o)
  list_by(fname, o)
  local job = o.job ~= nil and id_of(fname, "job", o.job, "job") or nil
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local fields, payload = resource_values(fname, m, o)
  local custom
  if o.custom then custom, payload.custom = custom_values(fname, m, "candidate", o.custom) end
  payload.overwrite, payload.job, payload.list, payload.by = o.overwrite or false, job, o.list, o.by
  local name = o.name or concat({ o.first_name or "", o.last_name or "" }, " "):match("^%s*(.-)%s*$")
  local target = { kind = "candidate", name = name }
  return perform(s, "create_candidate", target, payload, o.key, function()
    local ins, nodes = widget.create_resource(fields, custom, payload)
    local env, e2, doc = widget_write(s, fname, "createResource", ins, nodes)
    if not env and e2.code ~= "conflict" then return nil, e2 end
    local id = widget.record_id(env or doc)
    if not id then
      -- read back by email (§9.3); without one there is nothing to find it by
      local found, fe
      if o.email then found, fe = find_candidate(self, s, o.email) end
      if not found then
        if not env then return nil, e2 end
        return nil, unknown_outcome(fname, fmt("the answer has no recordId and %s", o.email
          and fmt("no candidate with email %s could be read back%s", o.email,
                  fe and (": " .. fe.message) or "")
          or "the candidate has no email to read it back by"), 200)
      end
      id = found.id
    end
    -- "updated" says an existing candidate was overwritten; where every success says
    -- "created" (§9.4) an overwrite cannot be told from a create: read back, created = nil
    local ambiguous = env and o.overwrite and env.message ~= "updated"
    if env and env.message ~= "updated" and not ambiguous then
      -- what was sent is what the candidate holds: no need to read it back
      local first, last = o.first_name, o.last_name
      if not first and not last and o.name then first, last = match(o.name, "^%s*(%S+)%s+(.-)%s*$") end
      local rec = { kind = "candidate", id = id, name = name, first_name = first or o.name,
                    last_name = last, email = o.email, other_email = o.other_email,
                    job_title = o.job_title, company = o.company, phone = o.phone,
                    town = o.town, county = o.county, country = o.country, source = o.source,
                    linkedin = o.linkedin, status = payload.status, custom = {},
                    created = true }
      for field, text in pairs(payload.custom or {}) do
        local def
        for _, d in ipairs(m.custom_fields.candidate) do if d.name == field then def = d end end
        rec.custom[field] = s.conv.typed(def and def.type, text)
      end
      return rec
    end
    local rec, e3 = self:candidate(id)
    if not rec then return nil, e3 end
    if not ambiguous then rec.created = false end
    return rec
  end)
end

-- ---- jobs created (createOpportunity) ------------------------------------------------------

-- Whether a job's name is a title: Tracker may show it with a prefix ("JOB-1034 Java
-- Programmer" [DOC 361]).
local function titled(name, title)
  return name == title or (type(name) == "string" and sub(name, -#title - 1) == " " .. title)
end

-- create_job's fields createOpportunity does not take [DOC 360]: set by updateRecord after it,
-- as update_job's fields.
local JOB_LATER = { start_date = "start_date", end_date = "end_date", pay_rate = "pay_rate",
                    charge_rate = "charge_rate", salary_from = "publish_salary_from",
                    salary_to = "publish_salary_to" }
local JOB_OPTS = { client = "any", contact = "any", title = "string", work_type = "string",
                   description = "string", custom = "table" }
for k in pairs(JOB_LATER) do JOB_OPTS[k] = "any" end

-- The getRecords item of a client (C) or contact (N) by id, or nil, err.
local function linked_item(s, fname, letter, what, id)
  local doc, e = pipeline.widget_call(s, fname, "getRecords", { recordtype = letter, recordid = id },
                                      nil, true)
  if not doc then return nil, e end
  local item = doc.results[1]
  if type(item) ~= "table" or values.int(item.id) ~= id then
    return nil, err("not_found", fmt("%s: no %s with id %d", fname, what, id))
  end
  return item
end

-- The contact person createOpportunity names, from the client and contact asked for; reads
-- what the arguments do not show. nil, err when a link does not exist or they disagree.
local function job_person(s, fname, o, client_id, contact_id)
  local company = type(o.client) == "table" and values.str(o.client.name) or nil
  if client_id and not company then
    local item, e = linked_item(s, fname, "C", "client", client_id)
    if not item then return nil, e end
    company = values.str(item.name)
  end
  local person = { company = company }
  if contact_id then
    local item, e = linked_item(s, fname, "N", "contact", contact_id)
    if not item then return nil, e end
    local d = type(item.details) == "table" and item.details or {}
    local works = values.str(item.company) or values.str(d.companyname)
    if company and works and lower(works) ~= lower(company) then
      return nil, err("invalid_request", fmt("%s: contact %d works at '%s', not at client %d "
                                             .. "('%s'): give the contact of the job's client",
                                             fname, contact_id, works, client_id, company))
    end
    person.company = company or works
    person.name = values.str(item.name)
    person.first_name, person.last_name = values.str(d.firstname), values.str(d.lastname)
    if not person.first_name and person.name then
      person.first_name, person.last_name = match(person.name, "^%s*(%S+)%s*(.-)%s*$")
    end
    person.email = values.str(d.email)
  end
  return person
end

-- The newest record of a stream that pred likes, or nil, or nil, err: how a create whose
-- answer has no recordId learns it (§9.4: status 3 may come without one).
local function newest(st, pred)
  local found
  while true do
    local r, e = st:next()
    if r == nil then
      if e then return nil, e end
      return found
    end
    if pred(r) and (found == nil or r.id > found.id) then found = r end
  end
end

-- The id of the newest job titled `title` (of the client, when given), read back after a
-- create that answered none (§9.4), or nil, or nil, err.
local function find_job(self, title, client_id)
  local _, st = self:jobs({ search = title })
  local job, e = newest(st, function(j)
    return titled(j.name, title) and (client_id == nil or j.client_id == client_id)
  end)
  return job and job.id, e
end

function Client:create_job(o)
  local fname = "create_job"
  local s = state(self, fname)
  o = with_key(fname, o, JOB_OPTS)
  if type(o.title) ~= "string" or not match(o.title, "%S") then
    misuse(fname, "give the job's 'title'")
  end
  if o.client == nil and o.contact == nil then
    misuse(fname, "give the job's 'client' or 'contact' (a record or id): Tracker files a job "
           .. "under its client")
  end
  local client_id = o.client ~= nil and id_of(fname, "client", o.client, "client") or nil
  local contact_id = o.contact ~= nil and id_of(fname, "contact", o.contact, "contact") or nil
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local work_type = o.work_type
  if work_type ~= nil and #m.work_types > 0 then   -- a list only where the settings give one
    work_type = one_of(fname, "work_type", "this database's work types", names_of(m.work_types),
                       work_type)
  end
  local later = {}
  for k, field in pairs(JOB_LATER) do later[field] = o[k] end
  local updates, named = column_values(fname, m, "job", later)
  local custom, cnamed
  if o.custom ~= nil then custom, cnamed = custom_values(fname, m, "job", o.custom) end
  local payload = { title = o.title, client = client_id, contact = contact_id,
                    work_type = work_type, description = o.description,
                    fields = next(named) and named or nil, custom = cnamed }
  local target = { kind = "job", name = o.title }
  return perform(s, fname, target, payload, o.key, function()
    local person, pe = job_person(s, fname, o, client_id, contact_id)
    if not person then return nil, pe end
    local ins, nodes = widget.create_opportunity({ title = o.title, work_type = work_type,
                                                   description = o.description }, person, custom)
    local env, we = widget_write(s, fname, "createOpportunity", ins, nodes)
    if not env then return nil, we end
    local id = widget.record_id(env)
    if not id then
      local fe
      id, fe = find_job(self, o.title, client_id)
      if not id then
        return nil, unknown_outcome(fname, fmt("the answer has no recordId and no job titled "
                                               .. "'%s' could be read back%s", o.title,
                                               fe and (": " .. fe.message) or ""), 200)
      end
    end
    if #updates > 0 then
      local uins, unodes = widget.update("job", id, updates)
      local uenv, ue = widget_write(s, fname, "updateRecord", uins, unodes)
      if not uenv then
        ue.message = fmt("%s: job %d was created, but its dates and rates were not set (set "
                         .. "them with update_job): %s", fname, id, ue.message)
        ue.id = id
        return nil, ue
      end
    end
    local rec, re = self:job(id)
    if not rec then return nil, re end
    if client_id and rec.client_id ~= client_id then
      return nil, err("conflict", fmt("%s: Tracker filed the new job %d under client %s, not "
                                      .. "client %d: check the client's name", fname, id,
                                      tostring(rec.client_id), client_id), nil, { id = id })
    end
    for k, field in pairs(JOB_LATER) do if o[k] ~= nil then rec[k] = named[field] end end
    rec.work_type, rec.created = work_type, true
    return rec
  end)
end

-- ---- notes and files ------------------------------------------------------------------------

-- The user id for a `user` option: an id, a username or an email (any case).
local function user_id(fname, m, v)
  local id = tointeger(v)
  for _, u in ipairs(m.users) do
    if (id and u.id == id) or (type(v) == "string"
        and (lower(u.username or "") == lower(v) or lower(u.email or "") == lower(v))) then
      return u.id
    end
  end
  misuse(fname, "unknown user '%s'%s", tostring(v), suggest(tostring(v), names_of(m.users, "username")))
end

-- The link of a note on `target`: { letter, id, job, application }.
local function note_link(self, record, target)
  if target.kind == "application" then
    local cand, job = application_links(self, record, target)
    if not cand then return nil, job end
    return { "R", cand, job, target.id }
  end
  return { widget.note_letters[target.kind], target.id }
end

local function note(self, s, fname, record, text, o, key, chain)
  local target = target_of(fname, record, ACTIVITY_KINDS)
  if type(text) ~= "string" or text == "" then
    misuse(fname, "argument 2 must be the note's text, got %s",
           text == "" and "an empty string" or type(text))
  end
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local user = o.user ~= nil and user_id(fname, m, o.user) or nil
  local payload = { text = text, subject = o.subject, type = o.type or s.c.note_type, user = user }
  return perform(s, "add_note", target, payload, key, function()
    local link, le = note_link(self, record, target)
    if not link then return nil, le end
    local date, time
    if s.c.timezone then        -- else Tracker stamps its own local time
      local lt = ttime.to_local(s.c.epoch(), s.c.timezone)
      date, time = sub(lt, 1, 10), sub(lt, 12, 16)
    end
    local ins, nodes = widget.activity(link, { subject = o.subject or "", type = payload.type,
                                               status = s.c.note_status, note = text, user = user,
                                               date = date, time = time })
    local env, we = widget_write(s, fname, "createActivity", ins, nodes)
    if not env then return nil, we end
    return { kind = "activity", id = widget.record_id(env), subject = o.subject, note = text,
             type = payload.type or "Note", candidate_id = link[1] == "R" and link[2] or nil,
             job_id = link[1] == "O" and link[2] or link[3], application_id = link[4] }
  end, chain)
end

function Client:add_note(record, text, opts)
  local fname = "add_note"
  local s = state(self, fname)
  local o = with_key(fname, opts, { subject = "string", type = "string", user = "any" })
  return note(self, s, fname, record, text, o, o.key)
end

-- ---- activities of any type -----------------------------------------------------------------

local ACTIVITY_OPTS = { type = "string", status = "string", subject = "string", note = "string",
                        date = "string", time = "string", user = "any", priority = "string",
                        contact_type = "string", custom = "table" }

-- createActivity of any type on a candidate, job, application, client, contact or lead: type
-- and status are the database's own names (§9.8), checked against its settings where they
-- list them; date and time are the database's local time (now, when not given and a time zone
-- is configured; else Tracker stamps its own).
function Client:add_activity(record, a)
  local fname = "add_activity"
  local s = state(self, fname)
  local target = target_of(fname, record, ACTIVITY_KINDS)
  a = with_key(fname, a, ACTIVITY_OPTS)
  if a.type == nil then
    misuse(fname, "give the activity's 'type' (a name of this database's activity types, "
           .. "e.g. 'Telephone' or 'Meeting')")
  end
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local payload = {
    type = named_value(fname, m, "activity_types", "type", a.type),
    status = a.status ~= nil and named_value(fname, m, "activity_statuses", "status", a.status)
             or nil,
    subject = a.subject, note = a.note, priority = a.priority, contact_type = a.contact_type,
    date = a.date ~= nil and date_value(fname, "date", "'date'", a.date) or nil,
    time = a.time ~= nil and time_value(fname, "time", "'time'", a.time) or nil,
    user = a.user ~= nil and user_id(fname, m, a.user) or nil,
  }
  local custom
  if a.custom ~= nil then custom, payload.custom = custom_values(fname, m, "activity", a.custom) end
  return perform(s, "add_activity", target, payload, a.key, function()
    local link, le = note_link(self, record, target)
    if not link then return nil, le end
    local date, time = payload.date, payload.time
    if s.c.timezone and not (date and time) then
      local lt = ttime.to_local(s.c.epoch(), s.c.timezone)
      date, time = date or sub(lt, 1, 10), time or sub(lt, 12, 16)
    end
    local w = {}
    for k, v in pairs(payload) do w[k] = v end
    w.subject, w.date, w.time, w.custom = payload.subject or "", date, time, custom
    local env, we = widget_write(s, fname, "createActivity", widget.activity(link, w))
    if not env then return nil, we end
    local kind_of = { R = "candidate_id", O = "job_id", C = "client_id", N = "contact_id",
                      L = "lead_id" }
    local rec = { kind = "activity", id = widget.record_id(env), subject = payload.subject,
                  name = payload.subject, note = payload.note, type = payload.type,
                  status = payload.status, date = date, time = time, user_id = payload.user,
                  priority = payload.priority, contact_type = payload.contact_type,
                  job_id = link[3], application_id = link[4], custom = payload.custom or {} }
    rec[kind_of[link[1]]] = link[2]
    return rec
  end)
end

-- ---- clients, contacts and leads ------------------------------------------------------------

local CONTACT_OPTS = { custom = "table", create_company = "boolean" }
for k in pairs(widget.contact_fields) do CONTACT_OPTS[k] = "string" end

local function same_text(a, b) return a ~= nil and b ~= nil and lower(a) == lower(b) end

-- createContact (§2.4 [DOC 356]): a contact of the client `company`, which Tracker makes with
-- it when `create_company` is true (the one way to make a client: no createClient verb is
-- documented). The answer is the contact read back, with its client_id.
function Client:create_contact(o)
  local fname = "create_contact"
  local s = state(self, fname)
  o = with_key(fname, o, CONTACT_OPTS)
  check_person(fname, "contact", o)
  if o.create_company and not o.company then
    misuse(fname, "'create_company' needs the client's name as 'company'")
  end
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local fields, payload = {}, {}
  for k, wire in pairs(widget.contact_fields) do
    if o[k] ~= nil then fields[wire], payload[k] = o[k], o[k] end
  end
  local name = o.name or concat({ o.first_name or "", o.last_name or "" }, " "):match("^%s*(.-)%s*$")
  fields.fullname = name
  local custom
  if o.custom then custom, payload.custom = custom_values(fname, m, "contact", o.custom) end
  payload.create_company = o.create_company or false
  return perform(s, "create_contact", { kind = "contact", name = name }, payload, o.key, function()
    local env, e2, doc = widget_write(s, fname, "createContact",
                                      widget.contact_node(fields, custom, payload.create_company))
    if not env and e2.code ~= "conflict" then return nil, e2 end
    local id = widget.record_id(env or doc)
    if not id and o.email then
      local found, fe = newest(select(2, self:contacts()), function(r)
        return same_text(r.email, o.email)
      end)
      if fe then return nil, fe end
      id = found and found.id
    end
    if not id then
      if not env then return nil, e2 end
      return nil, unknown_outcome(fname, "the answer has no recordId and "
        .. (o.email and ("no contact with email " .. o.email .. " could be read back")
            or "the contact has no email to read it back by"), 200)
    end
    local rec, e3 = self:contact(id)
    if not rec then return nil, e3 end
    if not env then
      e2.message = fmt("%s: contact %d has email %s already", fname, id, tostring(o.email))
      e2.id, e2.existing = id, rec
      return nil, e2
    end
    rec.created = true
    return rec
  end)
end

local LEAD_OPTS = { subject = "string", client = "any", source = "string",
                    description = "string", department = "string", custom = "table" }

-- createLead (§2.7 [DOC 359]) for a client. The answer is the lead read back.
function Client:create_lead(o)
  local fname = "create_lead"
  local s = state(self, fname)
  o = with_key(fname, o, LEAD_OPTS)
  if o.subject == nil or o.subject == "" then misuse(fname, "give the lead's 'subject'") end
  local client = o.client ~= nil and id_of(fname, "client", o.client, "client") or nil
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local payload = { subject = o.subject, client = client, description = o.description,
                    department = o.department, source = o.source }
  if o.source ~= nil and #m.lead_sources > 0 then    -- a list only where the settings give one
    payload.source = one_of(fname, "source", "this database's lead sources",
                            names_of(m.lead_sources), o.source)
  end
  local custom
  if o.custom then custom, payload.custom = custom_values(fname, m, "lead", o.custom) end
  local company = type(o.client) == "table" and type(o.client.name) == "string" and o.client.name
  return perform(s, "create_lead", { kind = "lead", name = o.subject }, payload, o.key, function()
    if client and not company then
      local c, ce = self:client(client)
      if not c then return nil, ce end
      company = c.name
    end
    local l = { subject = o.subject, source = payload.source, description = o.description,
                department = o.department, company = company or nil, client_id = client }
    local env, e2 = widget_write(s, fname, "createLead", widget.lead_node(l, custom))
    if not env then return nil, e2 end
    local id = widget.record_id(env)
    if not id then
      local found, fe = newest(select(2, self:leads({ search = o.subject })), function(r)
        return r.subject == o.subject and (client == nil or r.client_id == client)
      end)
      if fe then return nil, fe end
      if not found then
        return nil, unknown_outcome(fname, "the answer has no recordId and no lead '" .. o.subject
                                    .. "' could be read back", 200)
      end
      id = found.id
    end
    local rec, e3 = self:lead(id)
    if not rec then return nil, e3 end
    rec.created = true
    return rec
  end)
end

-- A file's name as it is sent: with the extension of its content type when it has none
-- (Tracker types files by extension); raises when the file has no name or no bytes.
local function file_name(fname, f)
  if not f.filename or f.filename == "" then misuse(fname, "give the file's 'filename'") end
  if not f.data or f.data == "" then misuse(fname, "give the file's bytes as 'data'") end
  local filename = f.filename
  if f.content_type and not match(filename, "%.[%w]+$") then
    local ext = EXTENSIONS[lower(f.content_type)]
    if not ext then
      misuse(fname, "'%s' has no extension and content type '%s' is not one trk knows: add "
             .. "the extension to the filename", filename, f.content_type)
    end
    filename = filename .. "." .. ext
  end
  return filename
end

-- Records a document can be attached to (attachDocument [DOC 1125]).
local ATTACH_KINDS = { candidate = true, application = true, job = true, client = true,
                       contact = true, lead = true }

function Client:attach(record, f)
  local fname = "attach"
  local s = state(self, fname)
  local target = target_of(fname, record, ATTACH_KINDS)
  f = with_key(fname, f, { filename = "string", data = "string", content_type = "string",
                           type = "string", primary = "boolean" })
  local filename = file_name(fname, f)
  local payload = { filename = filename, type = f.type, primary = f.primary or false,
                    size = #f.data, hash = native.hash(f.data) }
  return perform(s, "attach", target, payload, f.key, function()
    local letter, id = widget.document_letters[target.kind], target.id
    if target.kind == "application" then     -- stored on the candidate
      local cand, e = application_links(self, record, target)
      if not cand then return nil, e end
      letter, id = "R", cand
    end
    local ins, nodes = widget.attach_document(letter, id, { filename = filename, type = f.type,
                                                   primary = f.primary,
                                                   data = native.base64_encode(f.data) })
    local env, e = widget_write(s, fname, "attachDocument", ins, nodes)
    if not env then return nil, e end
    return { kind = "document", id = widget.record_id(env), filename = filename,
             record_kind = widget.document_kinds[letter], record_id = id }
  end)
end

-- ---- candidates from a CV (createResourceFromResume) ------------------------------------------

local RESUME_OPTS = { filename = "string", data = "string", content_type = "string", job = "any",
                      list = "string", by = "string" }
for k in pairs(widget.resource_fields) do RESUME_OPTS[k] = "string" end

-- A candidate made from a CV: Tracker parses the file [DOC 358] and keeps it on the candidate.
-- Fields given win over the parse.
function Client:create_candidate_from_resume(o)
  local fname = "create_candidate_from_resume"
  local s = state(self, fname)
  o = with_key(fname, o, RESUME_OPTS)
  local filename = file_name(fname, o)
  check_email(fname, o)              -- the name may come from the file
  list_by(fname, o)
  local job = o.job ~= nil and id_of(fname, "job", o.job, "job") or nil
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  local fields, payload = resource_values(fname, m, o)
  payload.filename, payload.size, payload.hash = filename, #o.data, native.hash(o.data)
  payload.job, payload.list, payload.by = job, o.list, o.by
  local target = { kind = "candidate", name = filename }
  return perform(s, fname, target, payload, o.key, function()
    local ins, nodes = widget.resource_from_resume(fields, { filename = filename,
      data = native.base64_encode(o.data) }, payload)
    local env, we, doc = widget_write(s, fname, "createResourceFromResume", ins, nodes)
    if not env and we.code ~= "conflict" then return nil, we end
    local id = widget.record_id(env or doc)
    if not id and o.email then
      local found, fe = find_candidate(self, s, o.email)
      if not found and fe then return nil, fe end
      id = found and found.id
    end
    if not id then
      if not env then return nil, we end
      return nil, unknown_outcome(fname, "the answer has no recordId and the candidate has no "
                                  .. "email to read it back by", 200)
    end
    local rec, re = self:candidate(id)
    if not rec then return nil, re end
    -- status 3: a candidate Tracker matched, not overwritten, the file not kept [INF]
    rec.created = env ~= nil
    rec.resume = env ~= nil and filename or nil
    return rec
  end)
end

-- ---- custom fields and columns -------------------------------------------------------------

-- What every update starts with: the client's state, the target, the options and the
-- metadata (or nil, err). Raises on misuse.
local function update_args(self, fname, record, kinds, fixed, fields, opts)
  local s = state(self, fname)
  local target = target_of(fname, record, kinds, fixed)
  opts = with_key(fname, opts, {})
  if type(fields) ~= "table" or next(fields) == nil then
    misuse(fname, "argument 2 must be a non-empty table of field = value")
  end
  return s, target, opts, metadata(s, fname)
end

function Client:set_custom_fields(record, fields, opts)
  local fname = "set_custom_fields"
  local s, target, o, m, e = update_args(self, fname, record, FIELD_KINDS, nil, fields, opts)
  if not m then return nil, e end
  local wire, named = custom_values(fname, m, target.kind, fields)
  return update(s, fname, fname, target, nil, wire, { fields = named }, o.key)
end

local function update_record(self, fname, kind, record, fields, opts)
  local s, target, o, m, e = update_args(self, fname, record, { [kind] = true }, kind, fields, opts)
  if not m then return nil, e end
  local updates, named = column_values(fname, m, kind, fields)
  local custom, cnamed
  if fields.custom ~= nil then
    custom, cnamed = custom_values(fname, m, widget.custom_kind[kind] or kind, fields.custom)
  end
  return update(s, fname, fname, target, updates, custom, { fields = named, custom = cnamed },
                o.key)
end

-- t:update_KIND(record, fields, opts) for every kind the catalog updates (actions.UPDATED):
-- columns by trk name and `custom = {}` in one updateRecord. An activity's type and status are
-- names, as createActivity takes them (§9.9); a placement's status is a stage (§3).
for _, kind in ipairs(actions.UPDATED) do
  local fname = "update_" .. kind
  Client[fname] = function(self, record, fields, opts)
    return update_record(self, fname, kind, record, fields, opts)
  end
end

-- ---- tags -----------------------------------------------------------------------------------

local function read_tags(s, fname, id)
  local doc, e = pipeline.widget_call(s, fname, "getIndividualRecord", widget.individual("candidate", id),
                                 nil, true)
  if not doc then return nil, e end
  if doc.results[1] == nil then
    return nil, err("not_found", fmt("%s: no candidate with id %d", fname, id))
  end
  local tags = widget.tags(doc.results[1])
  if tags == nil then
    return nil, err("unsupported", fmt("%s: candidate %d was read without its tag column: this "
                                       .. "database does not show tags on reads, and trk will "
                                       .. "not overwrite tags it cannot see (tracker-api.md §9, unknowns)", fname, id))
  end
  return tags
end

function Client:tags(cand)
  local fname = "tags"
  local s = state(self, fname)
  local target = target_of(fname, cand, { candidate = true }, "candidate")
  return read_tags(s, fname, target.id)
end

local function check_tag(fname, tag)
  if type(tag) ~= "string" then misuse(fname, "argument 2 must be a tag (a string), got %s", type(tag)) end
  local t = match(tag, "^%s*(.-)%s*$")
  if t == "" then misuse(fname, "argument 2 must be a non-empty tag") end
  if find(t, ",", 1, true) then
    misuse(fname, "a tag cannot contain a comma ('%s'): Tracker keeps tags as a comma-separated list", t)
  end
  return t
end

-- Adds or removes a tag; no write when the tags already say so.
-- A tag is on a candidate: given an application (as add_note is), its candidate's.
local function retag(self, fname, cand, tag, opts, adding)
  local s = state(self, fname)
  if type(cand) == "table" and cand.kind == "application" then
    local app = target_of(fname, cand, { application = true }, "application")
    local id = tointeger(cand.candidate_id)
    if not id then
      local rec, e = self:application(app.id)
      if not rec then return nil, e end
      id = rec.candidate_id
    end
    cand = { kind = "candidate", id = id,
             name = type(cand.candidate_name) == "string" and cand.candidate_name or nil }
  end
  local target = target_of(fname, cand, { candidate = true }, "candidate")
  tag = check_tag(fname, tag)
  opts = with_key(fname, opts, {})
  settle_record(s, target)
  local tags, e = read_tags(s, fname, target.id)
  if not tags then return nil, e end
  local out, present = {}, false
  for _, t in ipairs(tags) do
    if lower(t) == lower(tag) then present = true
    else out[#out + 1] = t end
  end
  if present == adding then return true end
  if adding then
    out = tags
    out[#out + 1] = tag
  end
  return update(s, fname, fname, target, { { widget.tag_column, concat(out, ",") } }, nil,
                { tag = tag }, opts.key)
end

function Client:add_tag(cand, tag, opts) return retag(self, "add_tag", cand, tag, opts, true) end
function Client:remove_tag(cand, tag, opts) return retag(self, "remove_tag", cand, tag, opts, false) end

-- ---- reject (§8) ----------------------------------------------------------------------------

local function rejection_field(m)
  for _, d in ipairs(m.custom_fields.application or {}) do
    if lower(d.name) == REJECTION_FIELD and d.type == "List" then return d end
  end
  return nil
end

local function reasons_of(s, m)
  if s.c.rejection_reasons then return s.c.rejection_reasons end
  local d = rejection_field(m)
  return d and names_of(d.items or {}) or {}
end

function Client:rejection_reasons()
  local fname = "rejection_reasons"
  local s = state(self, fname)
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  return copy(reasons_of(s, m))
end

-- The stage, reason and note of a rejection; raises on misuse.
local function rejection(s, fname, m, o)
  local st
  if s.c.rejection_stage ~= nil then
    local e
    st, e = find_stage(m, s.c.rejection_stage)
    if not st then
      misuse(fname, "the rejection stage (option 'rejection_stage' or TRACKER_REJECTION_STAGE): %s",
             e.message)
    end
  else
    for _, x in ipairs(m.stages) do
      if find(lower(x.name), "reject", 1, true) then st = x break end
    end
    if not st then
      misuse(fname, "no stage name contains 'reject': set the rejection stage with option "
             .. "'rejection_stage' or TRACKER_REJECTION_STAGE (stages: %s)",
             concat(names_of(m.stages), ", "))
    end
  end
  local reason = o.reason
  local reasons = reasons_of(s, m)
  if reason ~= nil and #reasons > 0 then
    local found
    for _, r in ipairs(reasons) do if lower(r) == lower(reason) then found = r end end
    if not found then
      misuse(fname, "unknown rejection reason '%s'%s (reasons: %s)", reason,
             suggest(reason, reasons), concat(reasons, "; "))
    end
    reason = found
  end
  local field = reason and rejection_field(m)
  if field then             -- a configured reason need not be an item of the field
    local known = false
    for _, it in ipairs(field.items or {}) do known = known or lower(it.name) == lower(reason) end
    if not known then field = nil end
  end
  return { stage = st, reason = reason, note = o.note, field = field }
end

local function sub_key(key, part) return key and (key .. ":" .. part) or nil end

-- Move, then the reason's field, then the note: each its own action. In a batch each part is
-- deferred, chained: a part is not sent when one before it failed.
local function reject_one(self, s, fname, app, r, key)
  local chain = {}
  local ok, e = move(self, s, fname, app, r.stage, nil, sub_key(key, "stage"), chain)
  if not ok then return nil, e end
  local target = target_of(fname, app, { application = true }, "application")
  if r.field then
    local wire = { { r.field.id, field_value(fname, r.field, r.reason) } }
    ok, e = update(s, fname, "set_custom_fields", target, nil, wire,
                   { fields = { [r.field.name] = wire[1][2] } }, sub_key(key, "reason"), chain)
    if not ok then return nil, e end
  end
  if r.reason or r.note then
    local text = r.reason and ("Reason: " .. r.reason) or ""
    if r.note then text = text ~= "" and (text .. "\n\n" .. r.note) or r.note end
    local rec = type(app) == "table" and app or target
    ok, e = note(self, s, fname, rec, text, { subject = REJECTION_SUBJECT }, sub_key(key, "note"),
                 chain)
    if not ok then return nil, e end
  end
  return true
end

function Client:reject(app, opts)
  local fname = "reject"
  local s = state(self, fname)
  target_of(fname, app, { application = true }, "application")
  local o = with_key(fname, opts, { reason = "string", note = "string" })
  local m, e = metadata(s, fname)
  if not m then return nil, e end
  return reject_one(self, s, fname, app, rejection(s, fname, m, o), o.key)
end

function Client:bulk_reject(apps, opts)
  local fname = "bulk_reject"
  local s = state(self, fname)
  if type(apps) ~= "table" then
    misuse(fname, "argument 1 must be a list of applications or ids, got %s", type(apps))
  end
  local o = options(fname, opts, { reason = "string", note = "string" }, "the options")
  local ids = {}
  for i, app in ipairs(apps) do
    ids[i] = target_of(fname, app, { application = true }, "application").id
  end
  local m, e = metadata(s, fname)
  local r = m and rejection(s, fname, m, o)
  local errs = {}                   -- by index: the application's failure, if any
  local function reject_each(i, app)
    if e then errs[i] = e
    else errs[i] = select(2, reject_one(self, s, fname, app, r, nil)) end
  end
  local b = s.batch
  if b and not batch_threads[running()] then
    -- in a batch: the rejects are pipelined as a batch of their own, which this answer waits
    -- for; an application's writes are those from its first sequence number to the next's
    local first = {}
    local frame = run_batch(s, b.frames[#b.frames].limit, function()
      for i, app in ipairs(apps) do
        first[i] = b.seq + 1
        reject_each(i, app)
      end
    end)
    local j = 1
    for i = 1, #apps do
      local upto = first[i + 1] or huge
      while frame.failed[j] and frame.failed[j].seq < upto do
        errs[i] = errs[i] or frame.failed[j].err
        j = j + 1
      end
    end
  else
    for i, app in ipairs(apps) do reject_each(i, app) end
  end
  local out = { succeeded = {}, failed = {} }
  for i in ipairs(apps) do
    if errs[i] == nil then out.succeeded[#out.succeeded + 1] = ids[i]
    else out.failed[#out.failed + 1] = { id = ids[i], err = errs[i] } end
  end
  return out
end

-- ---- checking an action by reading back ----------------------------------------------------

-- t:check(action [, since [, n]]): reads the target back and answers whether the action's
-- change is there: true, false, or nil, err. For a write that ended in unknown_outcome.
-- `since` (a time before the write was sent) narrows the search for notes; `n` (default 1)
-- is how many matching notes or files there must be, for the n-th of identical writes.
function Client:check(action, since, n)
  local fname = "check"
  state(self, fname)
  local valid, why = actions.validate(action)
  if not valid then misuse(fname, "argument 1 must be an action as a write makes it: %s", why) end
  if n ~= nil and not (type(n) == "number" and tointeger(n) and n >= 1) then
    misuse(fname, "argument 3 must be a whole number of writes, at least 1, got %s", tostring(n))
  end
  return actions.check(self, action, since, tointeger(n) or 1)
end

-- ---- raw passthrough ------------------------------------------------------------------------

-- A raw REST request is a read when it is a GET or HEAD, or a POST to a search
-- (/PagedSearch, /Search); everything else may change data and is a write.
local REST_READS = { GET = true, HEAD = true }

-- The route of a REST path: without its query string and fragment.
local function route_of(path) return (gsub(path, "[?#].*$", "")) end

local function rest_write(method, route)
  if REST_READS[method] then return false end
  local r = lower(route)
  return not (method == "POST" and (match(r, "/pagedsearch$") or match(r, "/search$")))
end


function Client:request(r)
  local fname = "request"
  local s = state(self, fname)
  r = with_key(fname, r, { method = "string", api = "string", path = "string", body = "any" })
  local api = r.api or "widget"
  if api ~= "widget" and api ~= "rest" then
    misuse(fname, "option 'api' must be 'widget' or 'rest', got '%s'", api)
  end
  if type(r.path) ~= "string" or r.path == "" then misuse(fname, "give the 'path'") end
  if r.body ~= nil and type(r.body) ~= "table" and type(r.body) ~= "string" then
    misuse(fname, "option 'body' must be a table (sent as JSON) or a string")
  end
  local call, write
  if api == "widget" then
    local verb = match(r.path, "^/api/widget/(%w+)$") or match(r.path, "^(%w+)$")
    if not verb then misuse(fname, "a widget path is a verb ('getRecords') or /api/widget/<verb>") end
    if upper(r.method or "POST") ~= "POST" then misuse(fname, "the widget API takes POST only") end
    if type(r.body) == "string" then misuse(fname, "a widget body is a table: trk adds the envelope") end
    local inner = r.body or {}
    if type(inner.trackerrms) == "table" then     -- a whole envelope: take its inner node
      local _, node = next(inner.trackerrms)
      inner = type(node) == "table" and node or {}
    end
    local nodes = {}
    for k, v in pairs(inner) do
      if k ~= "instructions" and k ~= "credentials" then nodes[k] = v end
    end
    local creds = inner.credentials or pipeline.widget_credentials(s, fname)
    local path, body = widget.request(verb, creds, inner.instructions, nodes)
    write = not widget.read_verbs[verb]
    call = { api = "widget", what = verb, base = pipeline.widget_base(s, fname), path = path,
             body = body, retry = not write, write = write or nil, raw = true }
  else
    if sub(r.path, 1, 1) ~= "/" then misuse(fname, "a REST path starts with '/' (/api/v1/...)") end
    local method = upper(r.method or (r.body ~= nil and "POST" or "GET"))
    local body = r.body
    if type(body) == "table" then body = native.encode(body) end
    local route = route_of(r.path)
    write = rest_write(method, route)
    call = { api = "rest", what = method .. " " .. route,
             base = pipeline.rest_base(s, fname), method = method, path = r.path, body = body,
             auth = true, retry = not write, write = write or nil, raw = true }
  end
  local function run()
    if call.auth then
      local ok, e = pipeline.ensure_jwt(s, fname)
      if not ok then return nil, e end
    end
    send(s, call)
    local doc, e = finish(s, call)
    if not doc then return nil, e end
    if api == "widget" then
      local env, we = widget_answer(call, doc)
      if not env then return nil, we end
    end
    return doc
  end
  if not write then return run() end
  local payload = redact.request_payload(s, api, call.method or "POST", r.path, r.body)
  return perform(s, "request", { kind = "request", name = call.what }, payload, r.key, run)
end
