-- Tracker going away mid-run (issue 19, item 3): trk stops within its outage budget with exit
-- status 75, says so, and a re-run finishes the job with every write applied once.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"

local q = trk.quote
local UNREACHABLE = 75

-- A note on every candidate, one at a time, with tight timeouts (the emulator's latency makes
-- the run last a few seconds).
local SCRIPT = [[
local t = require("tracker").connect({ timeout = 1, connect_timeout = 1 })
for c in t:candidates{} do t:add_note(c, "outage check") end
]]

-- A note on every application.
local NOTE_ALL = [[
return {
  name = "note-all",
  on = "applications",
  action = function(app, t) assert(t:add_note(app, "note-all saw it")) end,
}
]]

-- Runs trk ARGS in dir in the background, sends `signal` to emulator srv after `after`
-- seconds, and waits for trk: { code, stderr, took = seconds from the signal to trk's end }.
local function cut_off(srv, dir, args, signal, after, env)
  env = env or server.client_env(srv)
  local words = {}
  for _, a in ipairs(args) do words[#words + 1] = q(a) end
  local errfile = dir .. "/err.txt"
  local cmd = server.PLAIN .. "cd " .. q(dir) .. " && (env " .. server.shell_env(env) .. " "
              .. q(trk.bin) .. " " .. table.concat(words, " ") .. " 2>" .. q(errfile)
              .. " </dev/null >/dev/null; echo $? >code.txt) & p=$!; sleep " .. after
              .. "; kill -" .. signal .. " " .. srv.pid .. "; t0=$(cut -d' ' -f1 /proc/uptime); "
              .. "wait $p; t1=$(cut -d' ' -f1 /proc/uptime); echo $t0 $t1"
  local pipe = io.popen(cmd)
  local t0, t1 = pipe:read("n", "n")
  pipe:close()
  return { code = tonumber(trk.slurp(dir .. "/code.txt")), stderr = trk.slurp(errfile),
           took = t1 - t0 }
end

-- The notes saying `text`, counted by the record they are on.
local function notes(state, text)
  local by, n = {}, 0
  for _, a in ipairs(state.activities) do
    if a.note == text then
      by[a.linkrecordid] = (by[a.linkrecordid] or 0) + 1
      n = n + 1
    end
  end
  return by, n
end

describe("an outage mid-run", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("stops trk run within the outage budget with exit status 75, and a re-run applies every "
     .. "write once", function()
    local srv = server.start({ "--generate", "40", "--seed", "7", "--latency", "40", "--admin" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/script.lua", SCRIPT)
    -- stopped, the server takes connections and never answers: every request times out
    local r = cut_off(srv, dir, { "run", "script.lua", "--apply", "--outage-budget", "3s" },
                      "STOP", 1.5)
    assert.are.equal(UNREACHABLE, r.code, r.stderr)
    assert.matches("trk: Tracker unreachable since %d%d:%d%d:%d%d", r.stderr)
    assert.matches("Run the same command again to resume", r.stderr, 1, true)
    -- the budget, the request that was timing out (1 s) and the failures that open the breaker
    assert.is_true(r.took < 3 + 1 + 3, r.took .. " s")
    local j = trk.exec({ "journal", "--json" }, { cwd = dir })
    assert.matches('"status":"unreachable"', j.stdout, 1, true)

    os.execute(server.PLAIN .. "kill -CONT " .. srv.pid)
    local again = trk.exec({ "run", "script.lua", "--apply" },
                           { cwd = dir, env = server.client_env(srv) })
    assert.are.equal(0, again.code, again.stderr)
    assert.matches("(resumed)", again.stderr, 1, true)
    local state = server.state(srv)
    local by, n = notes(state, "outage check")
    assert.are.equal(#state.candidates, n)
    for _, c in ipairs(state.candidates) do assert.are.equal(1, by[c.id], "candidate " .. c.id) end
  end)

  it("stops trk rules on a killed server, without moving the rule's checkpoint", function()
    local srv = server.start({ "--generate", "30", "--seed", "5", "--latency", "40" })
    local dir = trk.dir_with({ ["note_all.lua"] = NOTE_ALL })
    local env = server.client_env(srv)
    env.TRACKER_OUTAGE_BUDGET = "2"
    local r = cut_off(srv, dir, { "rules", ".", "--apply", "--since", "2000-01-01T00:00:00Z" },
                      "KILL", 1.5, env)
    assert.are.equal(UNREACHABLE, r.code, r.stderr)
    assert.matches("trk: Tracker unreachable since", r.stderr, 1, true)
    assert.is_true(r.took < 2 + 3, r.took .. " s")
    local state = dir .. "/.trk/state.db"
    local runs = trk.exec({ "journal", "--json", "--state", state }).stdout
    assert.are.equal("unreachable", json.decode(runs:match("[^\n]+")).status)
    -- the stream did not finish: its checkpoint is not set
    local shown = trk.exec({ "journal", "--state", state }).stdout
    assert.is_nil(shown:find("checkpoints:", 1, true), shown)
  end)

  it("retries a connection dropped now and then without a word of an outage", function()
    local srv = server.start({ "--generate", "20", "--seed", "7", "--faults", "drop=0.1,seed=3" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/script.lua", SCRIPT)
    local r = trk.exec({ "run", "script.lua", "--apply" },
                       { cwd = dir, env = server.client_env(srv) })
    assert.is_nil(r.stderr:find("unreachable", 1, true), r.stderr)
    assert.are_not.equal(UNREACHABLE, r.code)
  end)

  it("refuses an outage budget that is not a positive duration", function()
    local r = trk.exec({ "run", "x.lua", "--outage-budget", "0" })
    assert.are.equal(2, r.code)
    assert.matches("--outage-budget", r.stderr, 1, true)
  end)
end)
