-- The secret scan: what tends to leak credentials, run with the suite's distinctive ones
-- (spec/support/secrets.lua). Every byte trk produces is searched for each secret and its
-- base64 forms: stdout, stderr, every file left in the scratch directory (plans, journals),
-- every table of the journal read back with sqlite3, and the emulator's --verbose log.
-- (spec/support/trk.lua scans the output of every trk the suite runs as well.)
local trk = require "support.trk"
local server = require "support.server"
local secrets = require "support.secrets"

local q = trk.quote
local SINCE = "2000-01-01T00:00:00Z"

-- Wrong credentials, as distinctive: they must not leak either.
local WRONG = { apikey = "trk-wrong-apikey-Hx81Lq0Zt5Wc", api_token = "trk-wrong-token-Vb27Nm4Kc9Qe" }
local ALL = {}
for k, v in pairs(secrets.values) do ALL[k] = v end
for k, v in pairs(WRONG) do ALL["wrong " .. k] = v end
local PATTERNS = secrets.patterns_of(ALL)
table.insert(PATTERNS, { name = "JWT", form = "header", text = "eyJhbGci" })   -- any JWT's start

local function where_leaked(text)
  return secrets.find(text, PATTERNS)
end

-- No secret in r's output, in any file under dir, nor in any table of the stores found there.
local function assert_clean(r, dir)
  assert.is_nil(where_leaked(r.stdout), r.stdout)
  assert.is_nil(where_leaked(r.stderr), r.stderr)
  if not dir then return end
  -- the bytes of every file first: sqlite3 folds a journal's WAL file away when it closes
  local p = io.popen("find " .. q(dir) .. " -type f")
  local paths = {}
  for path in p:lines() do paths[#paths + 1] = path end
  p:close()
  for _, path in ipairs(paths) do
    local f = assert(io.open(path, "rb"))
    local leak = where_leaked(f:read("a"))
    f:close()
    assert.is_nil(leak, path)
  end
  local files = #paths
  for _, path in ipairs(paths) do
    if path:match("%.db$") then
      -- every table, row by row, as sqlite3 reads it (WAL content included)
      local tables = io.popen(server.PLAIN .. "sqlite3 " .. q(path)
                              .. " \"SELECT name FROM sqlite_master WHERE type = 'table'\"")
      for name in tables:lines() do
        local rows = io.popen(server.PLAIN .. "sqlite3 -json " .. q(path) .. " " .. q("SELECT * FROM " .. name))
        local text = rows:read("a")
        rows:close()
        assert.is_nil(where_leaked(text), path .. " table " .. name .. ":\n" .. text)
      end
      tables:close()
    end
  end
  return files
end

-- A file outside every scratch directory the scan reads: what a user keeps the credentials in.
local function outside_file(text)
  local path = os.tmpname()
  trk.write(path, text)
  return path
end

describe("secrets", function()
  local srv, log

  before_each(function()
    srv = server.start({ "--generate", "30", "--seed", "5", "--admin", "--verbose",
                         "--timezone", "UTC" })
    log = srv.errfile
  end)
  after_each(function()
    local text = trk.slurp(log)
    server.stop_all()
    trk.cleanup()
    assert.is_nil(where_leaked(text), "emulator log:\n" .. text)
  end)

  it("the scan finds a secret trk prints, plain or in base64, and in files", function()
    local ok, e = pcall(trk.run, "print(arg[1])", {}, { "key=" .. secrets.apikey })
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("printed the apikey on stdout", 1, true), tostring(e))
    local basic = "Basic " .. secrets.base64("ops:" .. secrets.password)
    ok, e = pcall(trk.run, "error(arg[1])", {}, { basic })
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("printed the password (base64) on stderr", 1, true), tostring(e))
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. q(dir)))
    trk.write(dir .. "/plan.jsonl", '{"token":"' .. secrets.base64("x" .. secrets.api_token) .. '"}')
    local found = trk.scan_dir(dir)
    os.execute("rm -rf " .. q(dir))
    assert.is_truthy(found:find("the api_token (base64)", 1, true), found)
  end)

  it("keeps bad credentials out of auth errors, widget and REST", function()
    local env = server.client_env(srv)
    env.TRACKER_APIKEY, env.TRACKER_API_TOKEN = WRONG.apikey, WRONG.api_token
    local r = trk.run([[
local t = require("tracker").connect()
print(t:ping())
print(t:application(70001))
print(tostring(t))
for _ in t:candidates{} do end
]], {}, nil, nil, env)
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("auth", 1, true), r.stdout)
    assert.is_truthy(r.stderr:find("auth", 1, true), r.stderr)
    assert_clean(r, r.dir)
  end)

  it("keeps them out of a script's reach: nothing reachable from it holds one", function()
    -- every string reachable from the script's globals, the client and its records
    local r = trk.run([[
local tracker = require "tracker"
local t = tracker.connect()
local app = assert(t:application(70001))
local seen, out = {}, {}
local function walk(v, depth)
  if depth > 12 or seen[v] then return end
  if type(v) == "string" then out[#out + 1] = v return end
  if type(v) ~= "table" then return end
  seen[v] = true
  for k, x in pairs(v) do walk(k, depth + 1) walk(x, depth + 1) end
  local mt = getmetatable(v)
  if type(mt) == "table" then walk(mt, depth + 1) end
end
walk(_ENV, 0) walk(t, 0) walk(app, 0) walk(t:stats(), 0) walk(t:metadata(), 0)
out[#out + 1] = tostring(os.getenv and os.getenv("TRACKER_APIKEY"))
out[#out + 1] = tostring(t)
print(#out)
print(table.concat(out, "\n"))
]], {}, nil, nil, server.client_env(srv))
    assert.are.equal(0, r.code, r.stderr)
    assert.is_true(tonumber(r.stdout:match("^(%d+)")) > 100, r.stdout:sub(1, 200))
    assert_clean(r, r.dir)
  end)

  it("keeps them out of plans, --json summaries, the journal and trk journal, with "
     .. "credentials in raw request bodies", function()
    local creds = outside_file(table.concat({ secrets.apikey, secrets.api_token, secrets.password,
                                              secrets.username }, "\n"))
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", [[
local f = assert(files.open(arg[1]))
local key, token, password, user = f:read("l"), f:read("l"), f:read("l"), f:read("l")
f:close()
local t = require("tracker").connect()
local app = assert(t:application(70001))
assert(t:add_note(app, "token exchange done", { subject = "Secrets" }))
assert(t:move_to_stage(app, "Interview"))
-- raw writes that carry credentials in every place a body can
assert(t:request{ api = "widget", path = "updateRecord", body = {
  credentials = { apikey = key, username = user },
  instructions = { recordtype = "R", recordid = app.candidate_id },
  updates = { { column = "town", value = "York" } }, token = token } })
local r, e = t:request{ api = "rest", method = "POST",
  path = "/api/v1/Nowhere?apikey=" .. key .. "&access_token=" .. token,
  body = '{"password":"' .. password .. '","secret":"' .. token .. '"}' }
print("raw error", r, e)
local r2, e2 = t:request{ api = "widget", path = "noSuchVerb",
  body = { credentials = { apikey = key, password = password }, note = token } }
print("raw widget error", r2, e2)
]])
    local argv = { "run", "job.lua", "--input", creds, "--apply", "--plan", "plan.jsonl", "--json",
                   "--", creds }
    local r = trk.exec(argv, { cwd = dir, env = server.client_env(srv) })
    os.remove(creds)
    assert.are.equal(1, r.code, r.stderr)        -- the failed raw writes fail the run
    assert.is_truthy(r.stdout:find("raw error", 1, true), r.stdout)
    assert.is_truthy(r.stdout:find('"status"', 1, true), r.stdout)      -- the JSON summary
    assert_clean(r, dir)
    assert.is_truthy(trk.slurp(log):find("/api/Auth/ExchangeToken", 1, true))   -- --verbose logs
    local plan = trk.slurp(dir .. "/plan.jsonl")
    assert.is_truthy(plan:find("[redacted]", 1, true), plan)
    local db = dir .. "/.trk/state.db"
    for _, args in ipairs({ {}, { "--json" }, { "--run", "1" }, { "--run", "1", "--json" },
                            { "--failed" }, { "--failed", "--json" } }) do
      local j = trk.exec({ "journal", "--state", db, table.unpack(args) })
      assert.are.equal(0, j.code, j.stderr)
      assert.is_truthy(#j.stdout > 0)
      assert_clean(j)
    end
    assert.is_true(assert_clean(r, dir) >= 2)     -- the plan and the journal were there to read
  end)

  it("keeps them out of the report of a rule that errors", function()
    local creds = outside_file(secrets.apikey)
    local dir = trk.dir_with({ ["boom.lua"] = [[
return {
  name = "boom",
  on = "applications",
  action = function(app, t)
    if app.id % 2 == 0 then error("boom on " .. app.id .. " with " .. tostring(t)) end
    local r, e = t:request{ api = "rest", method = "POST", path = "/api/v1/Nowhere?token=x",
                            body = { password = "not-a-real-one", apikey = "also-not" } }
    error(e)
  end,
}
]] })
    local r = trk.exec({ "rules", dir, "--since", SINCE, "--apply", "--json" },
                       { env = server.client_env(srv) })
    os.remove(creds)
    assert.are.equal(1, r.code, r.stderr)
    assert.is_truthy((r.stdout .. r.stderr):find("boom on", 1, true), r.stderr)
    assert_clean(r, dir:match("^(.*)/[^/]+$"))
    local j = trk.exec({ "journal", "--state", dir .. "/.trk/state.db", "--failed" })
    assert_clean(j)
  end)
end)
