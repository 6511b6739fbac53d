-- trk.journal: the state store's journal of writes, and the rules' checkpoints.
--
-- Host-side only (trk's drivers use it; scripts cannot reach the store). With --apply every
-- action is recorded as pending before it is sent and marked with its result after, in
-- SQLite (WAL), so a run killed at any point can be run again: an action already done is
-- answered from the journal, a pending one (sent or not, nobody knows) is settled by reading
-- the record back (client:check), and only what did not happen is sent.
--
-- Actions are identified within a run by (scope, key, occurrence): the key is the action's
-- idempotency key, the occurrence counts the same key within the scope (a script may make the
-- same write twice on purpose), and the scope is "" for trk run, and the rule and record for
-- trk rules, so that skipping one rule's work does not shift another's count. (Not the record's
-- change: a rule's own first write changes the record, and a rule that fails after it must
-- find that write done when the run is resumed.)

local M = {}
M.__index = M

local fmt = string.format

local SCHEMA = [[
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  identity TEXT NOT NULL,          -- the command and what it ran: a re-run resumes by it
  command TEXT NOT NULL,           -- as shown to people
  started TEXT NOT NULL,
  finished TEXT,
  status TEXT NOT NULL,            -- running, complete, failed, interrupted
  attempts INTEGER NOT NULL DEFAULT 1,
  pid INTEGER                      -- the trk process running it, while status is running
);
CREATE INDEX IF NOT EXISTS runs_identity ON runs (identity, id);
CREATE TABLE IF NOT EXISTS actions (
  run INTEGER NOT NULL REFERENCES runs (id),
  seq INTEGER NOT NULL,            -- order of first record within the run
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  occurrence INTEGER NOT NULL,
  op TEXT NOT NULL,
  kind TEXT,
  target_id INTEGER,
  target_name TEXT,
  payload TEXT,                    -- JSON
  status TEXT NOT NULL,            -- pending, done, failed, unknown
  code TEXT,                       -- the error code of a failure
  error TEXT,
  result TEXT,                     -- JSON of what the write answered, for creates
  recorded REAL NOT NULL,          -- epoch seconds when first recorded
  settled REAL,
  attempts INTEGER NOT NULL DEFAULT 1,
  rule TEXT,                       -- the rule that made it (trk rules); NULL for trk run
  PRIMARY KEY (run, scope, key, occurrence)
);
CREATE INDEX IF NOT EXISTS actions_seq ON actions (run, seq);
CREATE INDEX IF NOT EXISTS actions_key ON actions (key, scope, occurrence);
CREATE INDEX IF NOT EXISTS actions_target ON actions (target_id, kind);
CREATE TABLE IF NOT EXISTS checkpoints (
  rule TEXT PRIMARY KEY,           -- "DIR/name"
  kind TEXT NOT NULL,
  since TEXT NOT NULL,             -- ISO 8601: the rule has seen every change before this
  updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS store (
  key TEXT PRIMARY KEY,            -- 'database': the database the store belongs to
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handled (
  rule TEXT NOT NULL,
  kind TEXT NOT NULL,
  id INTEGER NOT NULL,
  updated_at TEXT NOT NULL,        -- the change of the record the rule acted on
  PRIMARY KEY (rule, kind, id)
);
CREATE TABLE IF NOT EXISTS idmap (
  name TEXT NOT NULL,              -- the migration's name (tracker.migrate's linked import)
  type TEXT NOT NULL,              -- the type of record in the source ("contacts")
  source TEXT NOT NULL,            -- the source system's id
  status TEXT NOT NULL,            -- pending (its create may have been sent), done
  id INTEGER,                      -- Tracker's id, once done (NULL: done without one)
  attempt INTEGER NOT NULL,        -- creates tried, each with an idempotency key of its own
  updated TEXT NOT NULL,
  PRIMARY KEY (name, type, source)
);
]]

-- What each kind of action allows a resumed run (sent again, read back, or neither) is the
-- catalog's: the host's own instance (no script can reach it), loaded when first asked for.
local function actions() return require("tracker").actions end

local since_first

local function iso(epoch) return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch // 1) end
M.iso = iso

-- Opens the store at path: mode true creates it when missing, false opens an existing one,
-- "read" opens one read-only (trk journal: the file is not changed). nil, message when it
-- cannot.
function M.open(host, path, mode)
  local db, e = host.store(path, mode)
  if not db then return nil, e end
  local ok, why
  if mode == "read" then
    ok, why = pcall(db.first, db, "SELECT 1 FROM sqlite_master WHERE name = 'runs'")
    if ok and why == nil then ok, why = false, "it has no runs table" end
  else
    ok, why = pcall(db.exec, db, SCHEMA)
    if ok and not db:first("SELECT 1 FROM pragma_table_info('runs') WHERE name = 'pid'") then
      ok, why = pcall(db.exec, db, "ALTER TABLE runs ADD COLUMN pid INTEGER")
    end
    if ok and not db:first("SELECT 1 FROM pragma_table_info('actions') WHERE name = 'rule'") then
      ok, why = pcall(db.exec, db, "ALTER TABLE actions ADD COLUMN rule TEXT")
    end
  end
  if not ok then
    db:close()
    return nil, fmt("state store %s: %s (is it a trk state store?)", path,
                    tostring(why):gsub("^state store [^:]*: ", ""))
  end
  return setmetatable({ db = db, path = path, json = host.json, clock = os.time, host = host,
                        scope = "", seen = {}, seq = 0,
                        counts = { done = 0, skipped = 0, failed = 0, unknown = 0, checked = 0 } },
                      M)
end

function M:close() self.db:close() end

-- ---- the database it belongs to ---------------------------------------------------------------

-- What a database id (client:database().id) says, in words: its URL and user.
local function database_words(id)
  local url = id:match("widget=(%S+)")
  local user = id:match("user=(%S+)")
  return fmt("%s%s", url ~= "-" and url or id:match("rest=(%S+)") or "?",
             user and user ~= "-" and (" as " .. user) or "")
end

-- The store's salt for fingerprints of keys (client.fingerprint): random, made the first time
-- it is asked for with `make` (a run that may write), kept in the store; nil in a store that
-- has none yet when `make` is false.
function M:salt(make)
  local row = self.db:first("SELECT value FROM store WHERE key = 'salt'")
  if row or not make then return row and row.value end
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(16)
  if f then f:close() end
  if not bytes or #bytes < 16 then return nil end
  local salt = bytes:gsub(".", function(ch) return fmt("%02x", ch:byte()) end)
  self.db:run("INSERT INTO store (key, value) VALUES ('salt', ?)", salt)
  return salt
end

-- Binds the store to database `id` (client:database().id and the key's fingerprint): the first
-- client a run connects makes it the store's, and a store holds one database's runs,
-- checkpoints and handled changes only (the same command against a sandbox and then
-- production must not resume, or skip, the other's writes). `record` is false in a dry run:
-- it reads, and binds nothing. `rebind` (--rebind): the store is this database's from now on
-- (the same database under a new key). True (and, when it rebound, what it belonged to), or
-- nil and a message saying which database the store is for and how to keep the two apart.
function M:bind(id, record, rebind)
  local row = self.db:first("SELECT value FROM store WHERE key = 'database'")
  if row == nil or (rebind and record and row.value ~= id) then
    if record then
      self.db:run("INSERT INTO store (key, value) VALUES ('database', ?) ON CONFLICT (key) DO "
                  .. "UPDATE SET value = excluded.value", id)
    end
    return true, row and database_words(row.value)
  end
  if row.value == id then return true end
  local was, now = database_words(row.value), database_words(id)
  local what = was == now and "the same URL and user with another key (another database)" or now
  return nil, fmt("the state store %s belongs to %s, and this run connects to %s: its runs, "
                  .. "checkpoints and handled changes are not this database's. Give each database "
                  .. "its own store: --state FILE, or a profile (--profile NAME keeps "
                  .. ".trk/state-NAME.db); if it is the same database under a new key, run once "
                  .. "with --apply --rebind", self.path, was, what)
end

-- The database the store belongs to (its id), or nil before a run has connected.
function M:database()
  local row = self.db:first("SELECT value FROM store WHERE key = 'database'")
  return row and row.value
end

-- ---- runs ------------------------------------------------------------------------------------

-- Starts a run of identity, or resumes the last one of it that did not complete (unless fresh).
-- Refuses, with nil and a message, while another trk process is running it: two processes on
-- one run would each send what the other is sending.
function M:begin(identity, command, fresh)
  local db, host = self.db, self.host
  db:exec("BEGIN IMMEDIATE")            -- one process at a time decides
  local ok, err = pcall(function()
    local last = db:first("SELECT id, status, pid, finished FROM runs WHERE identity = ? "
                          .. "ORDER BY id DESC LIMIT 1", identity)
    if last and last.status == "running" and last.pid and last.pid ~= host.pid()
        and host.alive(last.pid) then
      error(fmt("another trk (process %d) is running this command on %s; wait for it, or stop "
                .. "it (it resumes where it stopped)", last.pid, self.path), 0)
    end
    if last and last.status ~= "complete" and not fresh then
      self.began = { status = last.status, pid = last.pid, finished = last.finished }
      db:run("UPDATE runs SET status = 'running', attempts = attempts + 1, finished = NULL, "
             .. "pid = ? WHERE id = ?", host.pid(), last.id)
      self.run, self.resumed = last.id, true
      self.seq = db:first("SELECT max(seq) AS seq FROM actions WHERE run = ?", last.id).seq or 0
    else
      local _, id = db:run("INSERT INTO runs (identity, command, started, status, pid) "
                           .. "VALUES (?, ?, ?, 'running', ?)", identity, command,
                           iso(os.time()), host.pid())
      self.run, self.resumed = id, false
    end
  end)
  db:exec(ok and "COMMIT" or "ROLLBACK")
  if not ok then return nil, err end
  return self.run, self.resumed
end

-- Undoes begin, before anything was recorded in the run: a run refused at its first connect
-- (another database's store) leaves the store as it found it.
function M:unbegin()
  local b = self.began
  if self.resumed and b then
    self.db:run("UPDATE runs SET status = ?, attempts = attempts - 1, pid = ?, finished = ? "
                .. "WHERE id = ?", b.status, b.pid, b.finished, self.run)
  elseif self.run then
    self.db:run("DELETE FROM runs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM actions WHERE "
                .. "run = ?)", self.run, self.run)
  end
  self.run = nil
end

function M:finish(status)
  if self.run == nil then return end
  self.db:run("UPDATE runs SET status = ?, finished = ?, pid = NULL WHERE id = ?", status,
              iso(os.time()), self.run)
end

-- ---- actions --------------------------------------------------------------------------------

local function encode(self, v)
  if v == nil then return nil end
  local ok, text = pcall(self.json.encode, v)
  return ok and text or nil
end

local function decode(self, text)
  if text == nil then return true end
  local ok, v = pcall(self.json.decode, text)
  if ok then return v end
  return true
end

local function settle(self, row, status, e, result)
  self.db:run("UPDATE actions SET status = ?, code = ?, error = ?, result = ?, settled = ? "
              .. "WHERE run = ? AND scope = ? AND key = ? AND occurrence = ?",
              status, e and e.code, e and tostring(e.message or e), encode(self, result),
              self.clock(), self.run, row.scope, row.key, row.occurrence)
end

-- How far back to look for the change of an action: from when its first occurrence in this
-- run was recorded, less a minute (Tracker keeps a note's time to the minute).
local NOTE_CLOCK = 60
since_first = function(self, ident, fallback)
  local first = self.db:first("SELECT min(recorded) AS at FROM actions WHERE run = ? AND "
                              .. "scope = ? AND key = ?", self.run, ident.scope, ident.key)
  return (first and first.at or fallback) - NOTE_CLOCK
end

-- What a write the journal says is done answers the script: the record it made, or true.
local function answer(self, _, result)
  if result ~= nil then return decode(self, result) end
  return true
end
function M:answer(result) return answer(self, nil, result) end

-- The --apply half of the session's sink: records the action as pending, sends it through
-- send and marks the outcome; reader() gives a client that reads a pending one back. Returns a
-- word for the progress line (done, skipped, failed, unknown), then what the write returns.
function M:apply(action, send, reader, ident)
  ident = ident or self:ident(action)
  local occ = ident.occurrence
  local row = self.db:first("SELECT status, result, recorded FROM actions WHERE run = ? AND "
                            .. "scope = ? AND key = ? AND occurrence = ?",
                            self.run, ident.scope, ident.key, occ)
  if row and row.status == "done" then
    self.counts.skipped = self.counts.skipped + 1
    return "skipped", answer(self, action, row.result)
  end
  local entry = actions().entry(action.op) or {}
  local unsure = row and (row.status == "pending" or row.status == "unknown")
                 and entry.unsure and entry.unsure(action.payload or {})
  if unsure then
    local e = { code = "unknown_outcome", message = unsure }
    settle(self, ident, "unknown", e)
    self.counts.unknown = self.counts.unknown + 1
    return "unknown", nil, e
  end
  if row and (row.status == "pending" or row.status == "unknown") and not entry.creates then
    -- it may have happened: read the record back before deciding (the n-th identical write
    -- is there when n such changes are)
    local there, why = reader():check(action, since_first(self, ident, row.recorded), occ)
    self.counts.checked = self.counts.checked + 1
    if there == true then
      settle(self, ident, "done")
      self.counts.skipped = self.counts.skipped + 1
      return "skipped", true
    elseif there == nil and not entry.repeatable then
      settle(self, ident, "unknown", why)
      self.counts.unknown = self.counts.unknown + 1
      return "unknown", nil, why
    end
  end
  local t = action.target or {}
  if row then
    self.db:run("UPDATE actions SET status = 'pending', attempts = attempts + 1 WHERE run = ? "
                .. "AND scope = ? AND key = ? AND occurrence = ?", self.run, ident.scope,
                ident.key, occ)
  else
    self.seq = self.seq + 1
    self.db:run("INSERT INTO actions (run, seq, scope, key, occurrence, op, kind, target_id, "
                .. "target_name, payload, status, recorded, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                .. "?, ?, 'pending', ?, ?)", self.run, self.seq, ident.scope, ident.key, occ,
                action.op, t.kind, math.tointeger(t.id), t.name, encode(self, action.payload),
                self.clock(), self.rule)
  end
  local res = table.pack(send())
  local v, e = res[1], res[2]
  if v == nil and type(e) == "table" and e.code == "conflict" and e.existing
      and entry.resent_conflict then
    v, e = e.existing, nil          -- created by an earlier attempt whose answer was lost
  end
  if v ~= nil then
    settle(self, ident, "done", nil, type(v) == "table" and v or nil)   -- a record: kept for a resume
    self.counts.done = self.counts.done + 1
    return "done", table.unpack(res, 1, res.n)
  end
  if type(e) == "table" and e.code == "unknown_outcome" then
    local there = reader():check(action, since_first(self, ident, os.time()), occ)
    if there == true then
      settle(self, ident, "done")
      self.counts.done = self.counts.done + 1
      return "done", true
    end
    settle(self, ident, "unknown", e)
    self.counts.unknown = self.counts.unknown + 1
    return "unknown", nil, e
  end
  settle(self, ident, "failed", type(e) == "table" and e or { message = tostring(e) })
  self.counts.failed = self.counts.failed + 1
  return "failed", table.unpack(res, 1, res.n)
end

-- Where an action stands in its run: its scope, its key, and which occurrence of that key in
-- the scope it is (counted as the run makes them, in a plan too). Only the current scope's
-- counts are kept: a rule's scope is one record, which its stream yields once a pass, so the
-- counts of a long run's records do not pile up in memory.
function M:ident(action)
  local scope = self.scope
  if scope ~= self.seen_scope then self.seen, self.seen_scope = {}, scope end
  local ident = { scope = scope, key = action.key }
  ident.occurrence = (self.seen[ident.key] or 0) + 1
  self.seen[ident.key] = ident.occurrence
  return ident
end

-- ---- earlier runs of the same job -------------------------------------------------------------

-- The newest run of the command `identity` that applied the write ident names (scope, key,
-- occurrence): { run =, started =, result = }, or nil. `this_run`: this run counts too.
function M:applied(identity, ident, this_run)
  return self.db:first("SELECT a.run, r.started, a.result FROM actions a JOIN runs r ON "
                       .. "r.id = a.run WHERE a.key = ? AND a.scope = ? AND a.occurrence = ? "
                       .. "AND a.status = 'done' AND a.run <> ? AND r.identity = ? "
                       .. "ORDER BY a.run DESC LIMIT 1", ident.key, ident.scope,
                       ident.occurrence, this_run and -1 or self.run or -1, identity)
end

-- What earlier runs of the command `identity` say of an action (trk run's guard against doing a
-- finished job twice): "already", { run =, started =, result = } when one of them applied this
-- very write (the same occurrence of the same key); "conflict", message when one of them wrote
-- a field this action overwrites, and Tracker no longer holds what it wrote nor what this
-- action writes (someone changed it since: overwriting would undo their change); else nil.
-- `again`: the first question is not asked. current(): the record's values now, by field (the
-- action's `before` when the script held the record, else read), or nil, err.
function M:earlier(identity, ident, action, again, current)
  if not again then
    local row = self:applied(identity, ident, false)
    if row then return "already", row end
  end
  local cat = actions()
  local sets, t = cat.sets(action.op, action.payload), action.target or {}
  if not sets or not math.tointeger(t.id) then return nil end
  -- the value each field was last given by an earlier run, newest first
  local wrote, runs = {}, {}
  for _, row in ipairs(self.db:rows("SELECT a.run, a.op, a.payload FROM actions a JOIN runs r ON "
                                    .. "r.id = a.run WHERE a.target_id = ? AND a.kind = ? AND "
                                    .. "a.status = 'done' AND a.run <> ? AND r.identity = ? "
                                    .. "ORDER BY a.run DESC, a.seq DESC", t.id, t.kind,
                                    self.run or -1, identity)) do
    for field, v in pairs(cat.sets(row.op, decode(self, row.payload)) or {}) do
      if sets[field] ~= nil and wrote[field] == nil then wrote[field], runs[field] = v, row.run end
    end
  end
  if next(wrote) == nil then return nil end
  local now, e = current()
  if not now then
    return "conflict", fmt("%s %d: could not read it to check that nobody changed what run %d "
                           .. "wrote (%s); not sent", t.kind, t.id, select(2, next(runs)),
                           type(e) == "table" and tostring(e.message) or tostring(e))
  end
  local changed = {}
  for field, mine in pairs(wrote) do      -- a field no read shows (nil) cannot be told
    if now[field] ~= nil and not cat.same(now[field], mine)
        and not cat.same(now[field], sets[field]) then
      changed[#changed + 1] = fmt("%s was set to %s by run %d and is now %s", field,
                                  cat.shown(mine), runs[field], cat.shown(now[field]))
    end
  end
  if #changed == 0 then return nil end
  table.sort(changed)
  return "conflict", fmt("%s %d changed in Tracker since this job last wrote it: %s; not "
                         .. "overwritten (--force to overwrite)", t.kind, t.id,
                         table.concat(changed, "; "))
end

-- ---- rules: checkpoints and handled changes ----------------------------------------------

function M:checkpoint(rule)
  local row = self.db:first("SELECT since FROM checkpoints WHERE rule = ?", rule)
  return row and row.since
end

function M:set_checkpoint(rule, kind, since)
  self.db:run("INSERT INTO checkpoints (rule, kind, since, updated) VALUES (?, ?, ?, ?) "
              .. "ON CONFLICT (rule) DO UPDATE SET since = excluded.since, "
              .. "updated = excluded.updated", rule, kind, since, iso(os.time()))
end

function M:handled(rule, kind, id, updated_at)
  local row = self.db:first("SELECT updated_at FROM handled WHERE rule = ? AND kind = ? AND id = ?",
                            rule, kind, id)
  return row ~= nil and row.updated_at == updated_at
end

function M:set_handled(rule, kind, id, updated_at)
  self.db:run("INSERT INTO handled (rule, kind, id, updated_at) VALUES (?, ?, ?, ?) "
              .. "ON CONFLICT (rule, kind, id) DO UPDATE SET updated_at = excluded.updated_at",
              rule, kind, id, updated_at)
end

-- Forgets what a rule (every rule when rule is nil) has seen: its checkpoint and the changes it
-- acted on, so its next pass treats it as a new rule. Answers how many checkpoints went.
function M:reset(rule)
  local n
  local where, params = rule and " WHERE rule = ?" or "", { rule }
  self:transaction(function()
    n = self.db:first("SELECT count(*) AS n FROM checkpoints" .. where, table.unpack(params)).n
    self.db:run("DELETE FROM checkpoints" .. where, table.unpack(params))
    self.db:run("DELETE FROM handled" .. where, table.unpack(params))
  end)
  return n
end

-- The run a live trk process holds (status running, its process alive), or nil: while one
-- does, the checkpoints are its to move.
function M:holder()
  for _, r in ipairs(self.db:rows("SELECT id, pid, command FROM runs WHERE status = 'running' "
                                  .. "AND pid IS NOT NULL ORDER BY id")) do
    if r.pid ~= self.host.pid() and self.host.alive(r.pid) then return r end
  end
end

function M:transaction(f, ...)
  self.db:exec("BEGIN")
  local ok, e = pcall(f, ...)
  if ok then self.db:exec("COMMIT") else self.db:exec("ROLLBACK"); error(e, 0) end
end

-- ---- the id map of migrations ----------------------------------------------------------------

-- Where the source record (name, type, source id) stands: { status =, id =, attempt = }, or nil
-- when no create of it was ever tried.
function M:mapped(name, type, source)
  return self.db:first("SELECT status, id, attempt FROM idmap WHERE name = ? AND type = ? AND "
                       .. "source = ?", name, type, source)
end

-- Records where it stands: status "pending" before its create is sent, "done" with Tracker's id
-- after (kept in the store at once: a run killed after it reuses the id).
function M:map(name, type, source, status, id, attempt)
  self.db:run("INSERT INTO idmap (name, type, source, status, id, attempt, updated) VALUES "
              .. "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, type, source) DO UPDATE SET "
              .. "status = excluded.status, id = excluded.id, attempt = excluded.attempt, "
              .. "updated = excluded.updated", name, type, source, status, id, attempt,
              iso(os.time()))
end

-- ---- reading it back (trk journal) -----------------------------------------------------------

function M:runs()
  return self.db:rows([[
    SELECT r.id, r.command, r.started, r.finished, r.status, r.attempts,
           count(a.key) AS actions, coalesce(sum(a.status = 'done'), 0) AS done,
           coalesce(sum(a.status = 'failed'), 0) AS failed,
           coalesce(sum(a.status IN ('pending', 'unknown')), 0) AS unsettled
    FROM runs r LEFT JOIN actions a ON a.run = r.id GROUP BY r.id ORDER BY r.id]])
end

-- The rule of an action: its column, or in a store older than the column, the rule its scope
-- names ("RULE|id"; "" is trk run's). Read-only stores may lack the column: it is not added.
local function rule_of(self)
  self.rule_column = self.rule_column
    or (self.db:first("SELECT 1 FROM pragma_table_info('actions') WHERE name = 'rule'")
        and "rule" or "NULL")
  local bare = "rtrim(scope, '0123456789')"
  return fmt("coalesce(%s, CASE WHEN scope <> '' THEN substr(%s, 1, length(%s) - 1) END) AS rule",
             self.rule_column, bare, bare)
end

-- An epoch column as journal output shows every time: ISO 8601 UTC.
local function iso_of(column)
  return fmt("strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', %s, 'unixepoch') AS %s", column, column)
end

local UNSETTLED = "status IN ('failed', 'unknown', 'pending')"

-- The actions of a run (run nil: of every run), in order; only the unsettled with failed_only.
function M:actions(run, failed_only)
  local where, params = {}, {}
  if run then where[#where + 1], params[1] = "run = ?", run end
  if failed_only then where[#where + 1] = UNSETTLED end
  return self.db:rows(fmt("SELECT run, seq, %s, op, kind, target_id, target_name, payload, status, "
                          .. "code, error, result, attempts, %s, %s FROM actions%s ORDER BY run, seq",
                          rule_of(self), iso_of("recorded"), iso_of("settled"),
                          #where > 0 and " WHERE " .. table.concat(where, " AND ") or ""),
                      table.unpack(params))
end

function M:failures()
  return self:actions(nil, true)
end

-- The records a run (every run, when run is nil) created, for a rollback: { run, seq, rule, op,
-- kind, id }; id is nil when the journal holds no answer (a create settled by reading back).
function M:created(run)
  local out = {}
  for _, a in ipairs(self:actions(run)) do
    local entry = a.status == "done" and actions().entry(a.op)
    if entry and entry.creates then
      local rec = a.result and decode(self, a.result)
      out[#out + 1] = { run = a.run, seq = a.seq, rule = a.rule, op = a.op, kind = entry.creates,
                        id = type(rec) == "table" and math.tointeger(rec.id) or nil }
    end
  end
  return out
end

function M:checkpoints()
  return self.db:rows("SELECT rule, kind, since, updated FROM checkpoints ORDER BY rule")
end

return M
