-- tracker.rules: the rule format and the one rule runner. A rule file returns a table
-- (docs/rules.md); this module checks it, loads rule files and directories, tells which records
-- a rule is about, and runs rules over a client's records (M.run), for `trk rules` on the host
-- side and for tracker.testing in busted alike, so a rule's spec proves what trk rules does.
--
-- Plain Lua 5.4; it requires only the tracker module (for suggestions and times).
--
--   local rules = require "tracker.rules"
--   local list = rules.load_dir("rules", function(path) return env end)
--   local stats, errors = rules.run(list, t, { now = os.time() })

local M = {}

local type, pairs, ipairs, tostring, error, load, pcall, next, rawget =
      type, pairs, ipairs, tostring, error, load, pcall, next, rawget
local tointeger = math.tointeger
local fmt, lower, match, gsub = string.format, string.lower, string.match, string.gsub
local concat, sort = table.concat, table.sort

-- The record kinds a rule can be `on`, and the `where` keys of each: the stream filters of
-- docs/client.md, less the time bounds (the runner owns those) and page_size/search.
M.kinds = { "applications", "candidates", "jobs", "clients", "contacts", "leads", "placements" }
M.where = {
  applications = { "candidate", "job", "stage" },
  placements = { "candidate", "job" },
  candidates = { "status" },
  jobs = { "state" },
  clients = {},
  contacts = { "client" },
  leads = { "client" },
}
M.fields = { "name", "on", "where", "scan", "when", "action" }
M.scans = { "changes", "all" }

-- `where` keys the server applies but a record does not show (a job record has a status name,
-- not its open/won/closed state): rules that disagree on one need streams of their own.
local SERVER_ONLY = { jobs = { state = true } }
local JOB_STATES = { open = true, won = true, closed = true }

-- ---- messages ------------------------------------------------------------------------------

-- " (did you mean 'x'?)": the client's, so every message of trk suggests alike.
local function suggest(...) return require("tracker").suggest(...) end   -- loaded when needed

local function quoted(v)
  return type(v) == "string" and "'" .. v .. "'" or tostring(v)
end

local function fail(path, fmtstr, ...)
  error(fmt("%s: " .. fmtstr, path, ...), 0)
end

-- ---- check ---------------------------------------------------------------------------------

local function member(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function id_value(v)
  if type(v) == "table" then v = v.id end
  local id = tointeger(v)
  return id and id > 0 and id or nil
end

-- Checks one `where` value; returns it normalised (a record becomes its id).
local function where_value(path, on, key, v)
  local what = fmt("rule field 'where.%s'", key)
  if key == "job" or key == "candidate" or key == "client" then
    local id = id_value(v)
    if not id then fail(path, "%s must be a %s id or record, got %s", what, key, quoted(v)) end
    return id
  elseif key == "stage" then
    if type(v) == "string" and v ~= "" then return v end
    local id = tointeger(v)
    if id and id > 0 then return id end
    fail(path, "%s must be a stage name or id, got %s", what, quoted(v))
  elseif key == "status" then
    if type(v) ~= "string" or v == "" then
      fail(path, "%s must be a candidate status name, got %s", what, quoted(v))
    end
    return v
  elseif key == "state" then
    if not JOB_STATES[v] then
      fail(path, "%s must be 'open', 'won' or 'closed', got %s%s", what, quoted(v),
           type(v) == "string" and suggest(v, { "open", "won", "closed" }) or "")
    end
    return v
  end
  error("rules: no check for where key " .. on .. "." .. key)   -- M.where and this agree
end

-- The file name without directories and ".lua": a rule's default name.
local function basename(path)
  return (gsub(match(path, "([^/\\]+)$") or path, "%.lua$", ""))
end

function M.check(def, path)
  path = path or "rule"
  if type(def) ~= "table" then
    fail(path, "a rule file must return a table (name, on, where, scan, when, action), got %s",
         type(def))
  end
  for k in pairs(def) do
    if type(k) ~= "string" or not member(M.fields, k) then
      fail(path, "unknown rule field %s%s; a rule has %s", quoted(k),
           type(k) == "string" and suggest(k, M.fields) or "", concat(M.fields, ", "))
    end
  end
  local rule = { file = path }

  local name = def.name
  if name == nil then name = basename(path) end
  if type(name) ~= "string" or not match(name, "%S") then
    fail(path, "rule field 'name' must be a non-empty string, got %s", quoted(name))
  end
  rule.name = name

  local on = def.on
  local kinds = concat(M.kinds, ", ")
  if on == nil then
    fail(path, "rule field 'on' is missing; use one of %s", kinds)
  elseif not member(M.kinds, on) then
    fail(path, "rule field 'on' is %s; use one of %s%s", quoted(on), kinds,
         type(on) == "string" and suggest(on, M.kinds) or "")
  end
  rule.on = on

  local where = def.where
  rule.where = {}
  if where ~= nil then
    if type(where) ~= "table" then
      fail(path, "rule field 'where' must be a table of filters, got %s", type(where))
    end
    local keys = M.where[on]
    for k, v in pairs(where) do
      if type(k) ~= "string" or not member(keys, k) then
        fail(path, "rule field 'where' has %s, which %s cannot filter on; use %s%s", quoted(k),
             on, concat(keys, ", "), type(k) == "string" and suggest(k, keys) or "")
      end
      rule.where[k] = where_value(path, on, k, v)
    end
  end

  local scan = def.scan
  if scan == nil then scan = "changes" end
  if not member(M.scans, scan) then
    fail(path, "rule field 'scan' is %s; use 'changes' (records changed since the last run) "
         .. "or 'all' (every record, every run)%s", quoted(scan),
         type(scan) == "string" and suggest(scan, M.scans) or "")
  end
  rule.scan = scan

  if def.when ~= nil and type(def.when) ~= "function" then
    fail(path, "rule field 'when' must be a function(record, ctx), got %s", type(def.when))
  end
  rule.when = def.when
  if def.action == nil then
    fail(path, "rule field 'action' is missing: a function(record, t, ctx) that makes the writes")
  elseif type(def.action) ~= "function" then
    fail(path, "rule field 'action' must be a function(record, t, ctx), got %s", type(def.action))
  end
  rule.action = def.action
  return rule
end

-- ---- loading -------------------------------------------------------------------------------

local function read_file(path)
  local f, e = io.open(path, "rb")
  if not f then return nil, e end
  local text = f:read("a")
  f:close()
  return text
end

-- rules.load(path, env [, read]): read(path) -> text | nil, err (default: io.open).
function M.load(path, env, read)
  if type(env) ~= "table" then
    error("rules.load: argument 2 must be the environment table for the rule", 2)
  end
  local text, e = (read or read_file)(path)
  if type(text) ~= "string" then
    error(fmt("%s: cannot read the rule: %s", path, tostring(e or "no text")), 0)
  end
  local chunk, why = load(text, "@" .. path, "t", env)
  if not chunk then error(why, 0) end         -- "path:line: ..." from the parser
  local ok, def = pcall(chunk)
  if not ok then
    error(type(def) == "string" and def or fmt("%s: %s", path, tostring(def)), 0)
  end
  return M.check(def, path)
end

-- The names in a directory. Standard Lua cannot list one: this asks `ls` (POSIX); a caller
-- may pass its own lister to load_dir.
local function list_dir(dir)
  local p = io.popen("ls -1A -- '" .. gsub(dir, "'", "'\\''") .. "' 2>/dev/null")
  if not p then return nil, "cannot list the directory" end
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  local ok = p:close()
  if not ok then return nil, "cannot list the directory (does it exist?)" end
  return names
end

-- rules.load_dir(dir, env_for [, read [, list]]): every rule of dir, sorted by file name.
-- env_for(path) gives each file its environment; list(dir) -> file names (default: ls).
function M.load_dir(dir, env_for, read, list)
  if type(env_for) ~= "function" then
    error("rules.load_dir: argument 2 must be a function(path) returning an environment", 2)
  end
  local names, e = (list or list_dir)(dir)
  if not names then error(fmt("%s: %s", dir, tostring(e)), 0) end
  local files = {}
  for _, n in ipairs(names) do
    if match(n, "%.lua$") and not match(n, "_spec%.lua$") then files[#files + 1] = n end
  end
  sort(files)
  local out, by_name = {}, {}
  local base = gsub(dir, "/+$", "")
  for _, n in ipairs(files) do
    local path = base .. "/" .. n
    local rule = M.load(path, env_for(path), read)
    local other = by_name[rule.name]
    if other then
      error(fmt("%s: rule name '%s' is already used by %s; names must be unique in a directory",
                path, rule.name, other.file), 0)
    end
    by_name[rule.name] = rule
    out[#out + 1] = rule
  end
  return out
end

-- ---- streams and matching ------------------------------------------------------------------

local function same(key, a, b)
  if key == "stage" and type(a) == "string" and type(b) == "string" then
    return lower(a) == lower(b)
  end
  return a == b
end

local function kind_of(list)
  local on
  for _, rule in ipairs(list) do
    if on ~= nil and rule.on ~= on then
      error(fmt("rules.stream_filter: %s is on %s, %s on %s: one stream serves one kind",
                rule.file or rule.name, rule.on, list[1].file or list[1].name, on), 0)
    end
    on = rule.on
  end
  return on
end

-- The filter of one stream that serves every rule of `list` (all on the same kind): a where
-- key is kept when every rule has the same value for it; the rest is left to rules.matches.
-- Stages that differ, one for every rule, are kept as the list of them: the stream then skips
-- the applications in no rule's stage before reading more of them (docs/performance.md).
function M.stream_filter(list)
  kind_of(list)
  local first = list[1]
  local out = {}
  if not first then return out end
  for k, v in pairs(first.where) do
    local common, stages = true, { v }
    for i = 2, #list do
      local w = list[i].where[k]
      if w == nil then common, stages = false, nil break end
      if not same(k, v, w) then
        common = false
        local known = false
        for _, x in ipairs(stages) do known = known or same(k, x, w) end
        if not known then stages[#stages + 1] = w end
      end
    end
    if common then out[k] = v
    elseif k == "stage" and stages then out[k] = stages end
  end
  return out
end

-- The streams a list of rules (any kinds) needs: { { on =, filter =, rules = { ... } }, ... },
-- one per kind, in the order of M.kinds, except that rules on jobs asking for different
-- states get one stream per state (a record does not show its state, so no rule could tell).
function M.streams(list)
  local out = {}
  for _, on in ipairs(M.kinds) do
    local groups, order = {}, {}
    for _, rule in ipairs(list) do
      if rule.on == on then
        local label = ""
        for k in pairs(SERVER_ONLY[on] or {}) do label = label .. tostring(rule.where[k]) end
        if not groups[label] then groups[label] = {}; order[#order + 1] = label end
        local g = groups[label]
        g[#g + 1] = rule
      end
    end
    for _, label in ipairs(order) do
      local g = groups[label]
      out[#out + 1] = { on = on, filter = M.stream_filter(g), rules = g }
    end
  end
  return out
end

-- Whether `record` passes rule.where, checked here (the stream may have applied less).
function M.matches(rule, record)
  for k, v in pairs(rule.where) do
    if k == "stage" then
      if type(v) == "string" then
        if type(record.stage) ~= "string" or lower(record.stage) ~= lower(v) then return false end
      elseif record.stage_id ~= v then
        return false
      end
    elseif k == "job" then
      if record.job_id ~= v then return false end
    elseif k == "candidate" then
      if record.candidate_id ~= v then return false end
    elseif k == "client" then
      if record.client_id ~= v then return false end
    elseif k == "status" then
      if type(record.status) ~= "string" or lower(record.status) ~= lower(v) then return false end
    elseif k == "state" then
      -- applied by the server (see M.streams); a record that says its state is checked
      if record.state ~= nil and record.state ~= v then return false end
    end
  end
  return true
end

-- Calls rule.when (if any), then rule.action; answers whether the record matched `when`.
-- Errors propagate: the caller decides (pcall in tests, the instruction budget in trk).
-- `mark`, when given, gets matched = true once `when` passes: a record whose action then
-- raised still counts as matched.
function M.invoke(rule, record, t, ctx, mark)
  if rule.when ~= nil and not rule.when(record, ctx) then return false end
  if mark then mark.matched = true end
  -- an action that answers false decided, once it could read more, not to act: the record
  -- did not match, and its change is not marked handled
  return rule.action(record, t, ctx) ~= false
end

-- ---- the runner ----------------------------------------------------------------------------

local function ttime() return require("tracker").time end
-- Epoch seconds of a record's updated_at (a naive local time is read as UTC: without the
-- database's time zone nothing better is known, and a checkpoint's margin covers it).
local function epoch_of(s)
  if type(s) ~= "string" then return nil end
  if not match(s, "[Zz]$") and not match(s, "[+-]%d%d:?%d%d$") then s = s .. "Z" end
  return ttime().parse(s)
end

local deep_copy, fingerprint = require("tracker.util").copy, require("tracker.util").fingerprint

local function plain_call(f, ...) return pcall(f, ...) end

local explain = require("tracker.sandbox").explain

-- "rules/a.lua, rules/b.lua": where a stream's failure is the user's to fix (the stream itself
-- is trk's: no line of a rule opened it).
local function stream_files(list)
  local files = {}
  for i, rule in ipairs(list) do files[i] = tostring(rule.file or rule.name) end
  return concat(files, ", ")
end

-- rules.run(list, t, how) -> stats, errors, stopped: one pass of every rule of `list` over the
-- records each should see, as `trk rules` runs it and as tracker.testing runs it in a spec.
-- One stream per kind serves every rule on it (M.streams); a record goes to each rule in turn,
-- each getting its own copy; the writes go through t, inside one t:batch per stream.
--
-- `how` (every field optional) is where the runs differ:
--   now               the run's clock, epoch seconds (ctx.now)
--   apply             ctx.apply
--   since(rule)       epoch seconds where the rule's changes start (its checkpoint); nil: every
--                     record (as scan = "all")
--   state(rule)       the table ctx.state starts as (default: a fresh one)
--   methods           the client's methods, read where no rule can write (default: t's)
--   guard(f)          runs a stream's whole pass: ok, err, why, where (default: pcall)
--   call(f, ...)      runs a rule's code: ok, matched or err, why ("interrupt", "budget", or
--                     "stop": the host stopped the run, Tracker unreachable), where (default:
--                     pcall)
--   handled(st, kind, id, change)   the rule already acted on this change (default: never)
--   baseline(rule)    true: the rule's first run, from now; a record without a time from a
--                     stream the server did not window is noted (mark), not acted on
--   mark(st, kind, id, change)      note a change as handled without acting (baseline)
--   record(kind)      each record read (progress)
--   before(st, kind, id, change, at, record) -> scope; after(scope, ok, matched): around each
--                     action; `record` is the record as read, before any rule saw it
--   stop_on_error     the first rule error ends the pass (a spec without catch)
--   stream_done(stream, ok)        after each stream (checkpoints)
--   stats(rule, st)   each rule's stats as they are made (a caller adds counts of its own)
-- stats: one per rule, in list order: { name, file, rule, seen, matched, skipped, errors,
-- since, newest, hold }; errors: { rule, file, where, record, kind, message, budget };
-- stopped: where an interrupt or a stop ended the pass ("" when between records), else nil.
function M.run(list, t, how)
  how = how or {}
  local call, guard = how.call or plain_call, how.guard or pcall
  local methods = how.methods or t
  local stats, by_rule, errors, stopped = {}, {}, {}, nil
  for _, rule in ipairs(list) do
    local since
    if how.since then since = how.since(rule) end
    local st = { name = rule.name, file = rule.file, rule = rule, seen = 0, matched = 0,
                 skipped = 0, errors = 0, since = since,
                 baseline = how.baseline and how.baseline(rule) or nil,
                 state = how.state and how.state(rule) or {} }
    stats[#stats + 1], by_rule[rule] = st, st
    if how.stats then how.stats(rule, st) end
  end
  for _, stream in ipairs(M.streams(list)) do
    local rules_of, n = stream.rules, #stream.rules
    local from
    for _, rule in ipairs(rules_of) do
      local since = by_rule[rule].since
      if rule.scan == "all" or since == nil then from = false
      elseif from ~= false and (from == nil or since < from) then from = since end
    end
    local filter = {}
    for k, v in pairs(stream.filter) do filter[k] = v end
    if from then filter.updated_after = from end

    local opened_stream      -- the stream being read, once open
    local function windowed()
      local ok, w = pcall(function() return opened_stream:windowed() end)
      return not ok or w ~= false
    end

    local function each(record)
      if how.record then how.record(stream.on) end
      -- every field made first: a stream's record is lazy (docs/client.md), and pairs, which
      -- runs the client's own protected metamethod, makes it a plain table
      pairs(record)
      -- read once, raw: each rule gets its own copy of the record, so none can change what the
      -- runner or the next rule sees (or hide a loop in a metatable the runner would trip on)
      local id, updated = rawget(record, "id"), rawget(record, "updated_at")
      local at = epoch_of(updated)
      -- the change a rule acts on once: what the record holds (a fingerprint, `raw` left out),
      -- after its last-updated time when it has one. Not the time alone: the database may send
      -- none (tracker-api.md §9.1), and two changes within its second share one
      local change = "content:" .. fingerprint(record, "raw")
      if at then change = tostring(updated) .. " " .. change end
      for i, rule in ipairs(rules_of) do
        local st = by_rule[rule]
        -- without a time, the record is in the window the stream asked for: the handled store
        -- tells a change already acted on from a new one
        local fresh = rule.scan == "all" or st.since == nil or at == nil or at >= st.since
        local matching = fresh and M.matches(rule, record)
        if matching and at == nil and st.baseline and rule.scan ~= "all" and not windowed() then
          -- a rule's first run from now, over a server that ignored the window and a record
          -- without a time: its state may be old. It is noted as handled, not acted on; a
          -- later change of it is new
          matching = false
          st.skipped = st.skipped + 1
          if how.mark then how.mark(st, stream.on, id, change) end
        end
        if matching then
          st.seen = st.seen + 1
          if at and (st.newest == nil or at > st.newest) then st.newest = at end
          if how.handled and how.handled(st, stream.on, id, change) then
            st.skipped = st.skipped + 1
          else
            local ctx = { rule = rule.name, now = how.now, apply = how.apply == true,
                          since = st.since and ttime().format(st.since), state = st.state }
            local view
            if i < n then view = deep_copy(record)
            else
              view = {}
              for k, v in next, record do view[k] = v end
            end
            local scope = how.before and how.before(st, stream.on, id, change, at, record)
            local mark = {}
            local ok, matched, why, where = call(M.invoke, rule, view, t, ctx, mark)
            if how.after then how.after(scope, ok, matched) end
            if not ok and (why == "interrupt" or why == "stop") then
              stopped = where
              return false
            elseif not ok then
              st.errors = st.errors + 1
              if mark.matched then st.matched = st.matched + 1 end   -- matched, then failed
              -- the checkpoint stays before this change, so the next run offers it again
              local hold = at or st.since
              if hold and (st.hold == nil or hold < st.hold) then st.hold = hold end
              errors[#errors + 1] = { rule = rule.name, file = rule.file, where = where,
                                      record = id, kind = stream.on,
                                      message = explain(matched, where), budget = why == "budget" }
              if how.stop_on_error then
                stopped = false
                return false
              end
            elseif matched then
              st.matched = st.matched + 1
            end
          end
        end
      end
      return true
    end

    local ok, e, why, where = guard(function()
      -- opening the stream may raise (no credentials): that fails the pass, and the message is
      -- the client's, placed at the files of the rules the stream serves (not this line of trk's)
      -- every field of every record is copied for the rules: made whole as each page comes
      if stream.on ~= "applications" then filter.whole = true end
      local opened, it, state = pcall(methods[stream.on], t, filter)
      if not opened then error(explain(it, stream_files(rules_of)), 0) end
      opened_stream = state
      return methods.batch(t, function()
        for record in it, state, nil, state do
          if not each(record) then break end
        end
      end)
    end)
    if not ok and (why == "interrupt" or why == "stop") then
      stopped = stopped or where or ""
    elseif not ok and stopped == nil then
      errors[#errors + 1] = { message = explain(e, stream_files(rules_of)), kind = stream.on }
    end
    if how.stream_done then how.stream_done(stream, ok and stopped == nil) end
    if stopped ~= nil then break end
  end
  return stats, errors, stopped
end

return M
