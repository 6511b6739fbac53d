-- Steering the rules' checkpoints: `trk rules --since` overrides them for one pass and says so,
-- and `trk checkpoints` lists, rewinds and resets them. The real trk against `trk emulator`.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

local q = trk.quote
local SINCE = "2000-01-01T00:00:00Z"                    -- before every generated record
local DATA = { "--generate", "40", "--seed", "3", "--admin", "--dialect", "rich" }
local ISO = "%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ"

-- A note on every changed application: acts once per change (the handled table).
local NOTE_ALL = [[
return {
  name = "note-all",
  on = "applications",
  action = function(app, t) assert(t:add_note(app, "note-all saw it")) end,
}
]]

-- Another rule on the same stream, which writes nothing.
local WATCH = [[
return { name = "watch", on = "applications", action = function() end }
]]

local function rules(srv, dir, ...)
  return trk.exec({ "rules", dir, ... }, { env = server.client_env(srv) })
end

local function checkpoints(...)
  return trk.exec({ "checkpoints", ... })
end

-- The summary's row of a rule: { seen =, matched =, actions =, changes = }.
local function row(r, name)
  local pat = "^  " .. name:gsub("%p", "%%%0") .. "%s+([%d,]+)%s+([%d,]+)%s+([%d,]+)%s+[%d,]+%s+(.-)%s*$"
  for line in r.stderr:gmatch("[^\n]+") do
    local seen, matched, actions, changes = line:match(pat)
    if seen then
      local function n(s) return tonumber((s:gsub(",", ""))) end
      return { seen = n(seen), matched = n(matched), actions = n(actions), changes = changes }
    end
  end
  error("no summary row for rule " .. name .. " in:\n" .. r.stderr, 2)
end

local function note_count(srv)
  local n = 0
  for _, a in ipairs(server.state(srv).activities) do
    if a.note == "note-all saw it" then n = n + 1 end
  end
  return n
end

-- `trk checkpoints DIR --json` as { [rule] = { kind, since, updated } }.
local function held(dir)
  local r = checkpoints(dir, "--json")
  assert.are.equal(0, r.code, r.stderr)
  local out = {}
  for line in r.stdout:gmatch("[^\n]+") do
    local c = json.decode(line)
    out[c.rule] = c
  end
  return out
end

-- A rules directory whose two rules have applied once from SINCE: every change handled.
local function applied(srv)
  local dir = trk.dir_with{ ["note_all.lua"] = NOTE_ALL, ["watch.lua"] = WATCH }
  local r = rules(srv, dir, "--since", SINCE, "--apply")
  assert.are.equal(0, r.code, r.stderr)
  return dir, #server.state(srv).applications
end

describe("checkpoints", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  describe("trk rules --since", function()
    it("overrides every rule's checkpoint for the pass, says so, and re-reads", function()
      local srv = server.start(DATA)
      local dir, total = applied(srv)
      local before = held(dir)
      local quiet = rules(srv, dir)                -- from the checkpoints: next to nothing
      assert.are.equal(0, quiet.code, quiet.stderr)
      assert.is_true(row(quiet, "note-all").seen <= 1, quiet.stderr)
      assert.is_nil(quiet.stderr:find("overrides", 1, true), quiet.stderr)

      local r = rules(srv, dir, "--since", SINCE)
      assert.are.equal(0, r.code, r.stderr)
      local a, b = before["note-all"].since, before.watch.since
      local newest = a > b and a or b                 -- ISO UTC: text order is time order
      assert.is_truthy(r.stderr:find("trk rules: --since " .. SINCE .. " overrides the checkpoints "
                                     .. "of 2 rules (newest was " .. newest .. ")\n", 1, true),
                       r.stderr)
      -- every change is read again, and none acted on twice (the handled table)
      assert.are.same({ total, 0, 0 }, { row(r, "note-all").seen, row(r, "note-all").matched,
                                         row(r, "note-all").actions })
      assert.are.equal("since " .. SINCE, row(r, "note-all").changes)
      assert.are.equal(total, row(r, "watch").seen)
    end)

    it("saves, with --apply, the checkpoint the pass reached, not the one it started from",
       function()
      local srv = server.start(DATA)
      local dir, total = applied(srv)
      local before = held(dir)["note-all"].since
      local r = rules(srv, dir, "--since", SINCE, "--apply", "--fresh")
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(total, row(r, "note-all").seen)
      assert.are.equal(0, row(r, "note-all").actions)     -- --fresh re-acts on nothing either
      assert.are.equal(total, note_count(srv))
      local after = held(dir)["note-all"].since
      assert.matches("^" .. ISO .. "$", after)
      assert.is_true(after > SINCE and after >= before, before .. " → " .. after)
    end)
  end)

  describe("trk checkpoints", function()
    it("lists each rule's checkpoint: rule, kind, since, updated, in ISO 8601 UTC", function()
      local srv = server.start(DATA)
      local dir = applied(srv)
      local r = checkpoints(dir)
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^  rule%s+on%s+since%s+updated\n", r.stdout)
      for _, name in ipairs({ "note-all", "watch" }) do
        assert.matches("\n  " .. name:gsub("%-", "%%-") .. "%s+applications%s+" .. ISO .. "%s+"
                       .. ISO .. "\n", r.stdout)
      end
      local list = held(dir)
      assert.are.same({ "applications", "applications" }, { list["note-all"].kind, list.watch.kind })
      assert.matches("^" .. ISO .. "$", list.watch.updated)
      -- --state FILE names the same store
      local same = checkpoints("--state", dir .. "/.trk/state.db")
      assert.are.equal(r.stdout, same.stdout)
    end)

    it("rewinds one rule: its next pass reads its older changes, the other rule's does not",
       function()
      local srv = server.start(DATA)
      local dir, total = applied(srv)
      local r = checkpoints(dir, "--rewind", "note-all", "--to", SINCE)
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("moved rule note%-all's checkpoint from " .. ISO .. " to "
                     .. SINCE:gsub("%-", "%%-"), r.stdout)
      assert.are.equal(SINCE, held(dir)["note-all"].since)
      local pass = rules(srv, dir, "--apply")
      assert.are.equal(0, pass.code, pass.stderr)
      assert.are.equal(total, row(pass, "note-all").seen)
      assert.is_true(row(pass, "watch").seen <= 1, pass.stderr)
      assert.are.equal(0, row(pass, "note-all").actions)   -- changes it acted on stay handled
      assert.is_true(held(dir)["note-all"].since > SINCE)  -- and it moved on with the pass
    end)

    it("refuses a time after now, and --rewind without --to", function()
      local srv = server.start(DATA)
      local dir = applied(srv)
      local r = checkpoints(dir, "--rewind", "note-all", "--to", "2999-01-01T00:00:00Z")
      assert.are.equal(1, r.code)
      assert.matches("%-%-to 2999%-01%-01T00:00:00Z is after now %(" .. ISO .. "%)", r.stderr)
      local u = checkpoints(dir, "--rewind", "note-all")
      assert.are.equal(2, u.code)
      assert.matches("%-%-rewind note%-all needs %-%-to TIME", u.stderr)
    end)

    it("names the rules it holds for an unknown rule, with a suggestion", function()
      local srv = server.start(DATA)
      local dir = applied(srv)
      for _, args in ipairs({ { "--rewind", "note-al", "--to", SINCE }, { "--reset", "note-al" } }) do
        local r = checkpoints(dir, table.unpack(args))
        assert.are.equal(1, r.code)
        assert.is_truthy(r.stderr:find("holds no checkpoint of rule 'note-al' (did you mean "
                                       .. "'note-all'?) (its rules: note-all, watch)", 1, true),
                         r.stderr)
      end
    end)

    it("resets one rule: its next pass is a new rule's, which acts again from --since", function()
      local srv = server.start(DATA)
      local dir, total = applied(srv)
      local r = checkpoints(dir, "--reset", "note-all")
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("reset rule note%-all", r.stdout)
      assert.are.same({ "watch" }, (function()
        local names = {}
        for name in pairs(held(dir)) do names[#names + 1] = name end
        return names
      end)())
      local pass = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, pass.code, pass.stderr)
      assert.are.equal("new: from " .. SINCE, row(pass, "note-all").changes)
      assert.are.equal(total, row(pass, "note-all").actions)  -- its handled changes went too
      assert.are.equal(2 * total, note_count(srv))
    end)

    it("--reset-all resets every rule", function()
      local srv = server.start(DATA)
      local dir = applied(srv)
      local r = checkpoints(dir, "--reset-all")
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("reset the checkpoints of 2 rules", r.stdout)
      assert.are.same({}, held(dir))
      local empty = checkpoints(dir)
      assert.are.equal("no checkpoints yet\n", empty.stdout)
    end)

    it("changes nothing while a trk process holds the store", function()
      local srv = server.start(DATA)
      local dir = applied(srv)
      -- a live process of our own, which closing the pipe reaps once it is killed
      local bg = io.popen("echo $$; exec sleep 30")
      local pid = bg:read("l")
      local db = dir .. "/.trk/state.db"
      assert.is_true(os.execute("sqlite3 " .. q(db) .. " \"INSERT INTO runs (identity, command, "
                                .. "started, status, pid) VALUES ('x', 'trk rules x', "
                                .. "'2026-01-01T00:00:00Z', 'running', " .. pid .. ")\""))
      local r = checkpoints(dir, "--reset", "note-all")
      os.execute("kill " .. pid)
      bg:close()
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("is in use by trk (process " .. pid .. ", run 2: trk rules x)",
                                     1, true), r.stderr)
      assert.is_truthy(held(dir)["note-all"])
      -- once that process is gone, the store is free
      local free = checkpoints(dir, "--reset", "note-all")
      assert.are.equal(0, free.code, free.stderr)
    end)

    it("says where there is no store, and refuses DIR with --state", function()
      local dir = trk.dir_with{ ["note_all.lua"] = NOTE_ALL }
      local r = checkpoints(dir)
      assert.are.equal(1, r.code)
      assert.is_truthy(r.stderr:find("no state store at " .. dir .. "/.trk/state.db", 1, true),
                       r.stderr)
      local both = checkpoints(dir, "--state", "x.db")
      assert.are.equal(2, both.code)
      assert.is_truthy(both.stderr:find("give " .. dir .. " or --state FILE, not both", 1, true))
    end)
  end)
end)
