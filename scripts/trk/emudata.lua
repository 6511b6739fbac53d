-- trk.emudata: `trk emulator --data DIR`, the emulator's records kept in DIR/emulator.db across
-- restarts (docs/emulator.md, Keeping the data).
--
-- Host-side: runtime/emumodel.c loads this module into the emulator's own state and hands it
-- the state store's constructor (runtime/store.c) and tracker.emulator. The database is kept
-- as the JSON text of each part (emu:parts(): the metadata, and each record kind's list), one
-- row a part. A new DIR gets the database the emulator starts with; later starts load it. After
-- every request that wrote, the kinds it wrote are saved in one transaction before the answer
-- goes out (WAL, synchronous=NORMAL: a commit survives the process being killed), so an
-- acknowledged write is never lost; a save that fails answers 500 and says why on stderr.
--
--   open(store_open, dir, emulator, opts) -> keeper: opens or creates DIR/emulator.db; raises
--                          naming the file when it is not an emulator's data file. opts:
--                          { quiet = bool, ignored = "--generate, --seed" or nil }
--   keeper:load()          -> the kept database (emulator data), or nil for a new file
--   keeper:attach(emu)     saves all of emu's database, then every write it accepts

local M = {}

local fmt = string.format

M.FILE = "emulator.db"
M.FORMAT, M.VERSION = "trk-emulator-data", 1

local SCHEMA = [[
CREATE TABLE IF NOT EXISTS emulator_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS emulator_parts (name TEXT PRIMARY KEY, json TEXT NOT NULL);
]]

local FAILED = '{"type":"about:blank","title":"Internal Server Error","status":500,'
               .. '"detail":"the emulator could not save this write to its --data directory '
               .. '(its log says why): it is not kept"}'

local Keeper = {}
Keeper.__index = Keeper

local function stderr(...) io.stderr:write(...) end

-- The file's fault, said once: what it is, what is wrong, and what to do.
local function refuse(path, why)
  error(fmt("%s is not a trk emulator data file (%s): move it away to start afresh, or give "
            .. "another --data DIR", path, why), 0)
end

function M.open(store_open, dir, emulator, opts)
  local path = dir:gsub("/+$", "") .. "/" .. M.FILE
  local db, why = store_open(path, true)
  if not db then refuse(path, (tostring(why):gsub("^state store [^:]*: ", ""))) end
  local ok, e = pcall(db.exec, db, SCHEMA)
  if not ok then refuse(path, (tostring(e):gsub("^state store [^:]*: ", ""))) end
  local format = db:first("SELECT value FROM emulator_info WHERE key = 'format'")
  local version = db:first("SELECT value FROM emulator_info WHERE key = 'version'")
  local has_parts = db:first("SELECT count(*) AS n FROM emulator_parts").n > 0
  if (format and format.value ~= M.FORMAT) or (has_parts and not format) then
    refuse(path, "it holds no emulator data")
  end
  if version and (math.tointeger(tonumber(version.value)) or 0) > M.VERSION then
    refuse(path, fmt("a newer trk wrote it (version %s; this trk reads %d)", version.value,
                     M.VERSION))
  end
  return setmetatable({ db = db, path = path, emulator = emulator, opts = opts or {} }, Keeper)
end

function Keeper:load()
  local rows = self.db:rows("SELECT name, json FROM emulator_parts")
  if #rows == 0 then return nil end
  local parts = {}
  for _, r in ipairs(rows) do parts[r.name] = r.json end
  local ok, data = pcall(self.emulator.from_parts, parts, "its saved data")
  if not ok then refuse(self.path, tostring(data)) end
  self.loaded = true
  return data
end

-- Saves parts (name -> JSON text) in one transaction: true, or nil and why.
function Keeper:save(parts)
  local db = self.db
  local ok, e = pcall(function()
    db:exec("BEGIN IMMEDIATE")
    for name, text in pairs(parts) do
      db:run("INSERT INTO emulator_parts (name, json) VALUES (?, ?) "
             .. "ON CONFLICT (name) DO UPDATE SET json = excluded.json", name, text)
    end
    db:run("INSERT OR REPLACE INTO emulator_info (key, value) VALUES ('saved_at', ?)",
           os.date("!%Y-%m-%dT%H:%M:%SZ"))
    db:exec("COMMIT")
  end)
  if ok then return true end
  pcall(db.exec, db, "ROLLBACK")
  return nil, fmt("%s: cannot save: %s", self.path, tostring(e))
end

function Keeper:attach(emu)
  local db = self.db
  db:exec("BEGIN IMMEDIATE")
  db:run("INSERT OR REPLACE INTO emulator_info (key, value) VALUES ('format', ?)", M.FORMAT)
  db:run("INSERT OR REPLACE INTO emulator_info (key, value) VALUES ('version', ?)",
         tostring(M.VERSION))
  db:exec("COMMIT")
  -- all of it once: what load() added (the API user, the dialect's activity types) is kept too
  local ok, why = self:save(emu:parts(true))
  if not ok then error(why, 0) end
  if not self.opts.quiet then
    local n = #emu:state().candidates
    stderr(fmt("trk emulator: keeping the data in %s (%s: %d candidate%s)\n", self.path,
               self.loaded and "loaded" or "new", n, n == 1 and "" or "s"))
    if self.loaded and self.opts.ignored then
      stderr(fmt("trk emulator: %s made no data: %s holds the data kept from an earlier start "
                 .. "(move it away to make new)\n", self.opts.ignored, self.path))
    end
  end
  local handle = emu.handle
  function emu.handle(e, ...)            -- the object's own: every request passes here
    local status, headers, body = handle(e, ...)
    local parts = e:parts()
    if next(parts) ~= nil then
      local saved, failure = self:save(parts)
      if not saved then
        stderr("trk emulator: ", failure, "\n")
        return 500, { ["content-type"] = "application/problem+json; charset=utf-8" }, FAILED
      end
    end
    return status, headers, body
  end
end

return M
