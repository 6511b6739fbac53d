-- Named profiles (scripts/trk/profiles.lua): where the file is found, how a profile is picked,
-- what a profile may hold, that the file is data, production's confirmation, and a full run of
-- rules on a profile alone, its secrets never shown.
local trk = require "support.trk"
local server = require "support.server"
local secrets = require "support.secrets"

local q = trk.quote

-- Runs trk in dir with a clean environment (PATH, HOME = dir/home, and env's variables: no
-- TRACKER_* unless given); { code, stdout, stderr }. Fails if a suite secret is printed.
local function run(dir, args, env)
  local vars = { "env -i", "PATH=" .. q(os.getenv("PATH")), "HOME=" .. q(dir .. "/home") }
  for k, v in pairs(env or {}) do vars[#vars + 1] = q(k .. "=" .. v) end
  local argv = { server.PLAIN, "cd", q(dir), "&&", table.concat(vars, " "), q(trk.bin) }
  for _, a in ipairs(args) do argv[#argv + 1] = q(a) end
  local errfile = os.tmpname()
  local p = io.popen(table.concat(argv, " ") .. " 2>" .. q(errfile) .. " </dev/null")
  local out = p:read("a")
  local _, _, code = p:close()
  local err = trk.slurp(errfile)
  os.remove(errfile)
  local leak = secrets.find(out) or secrets.find(err)
  if leak then error("trk " .. table.concat(args, " ") .. " printed " .. leak .. ":\n" .. out .. err, 2) end
  return { code = code, stdout = out, stderr = err }
end

-- A scratch directory with a script that prints the client's URLs (tostring of a client).
local function project()
  local dir = trk.tmpdir()
  assert(os.execute("mkdir -p " .. q(dir .. "/home")))
  trk.write(dir .. "/where.lua", 'print(tostring(require("tracker").connect()))\n')
  return dir
end

local function profile_at(url)
  return string.format('return { sandbox = { widget_url = %q, rest_url = %q, '
                       .. 'timezone = "UTC", rate_limit = false } }\n', url, url)
end

describe("a profiles file", function()
  after_each(function() trk.cleanup() end)

  it("is $TRK_PROFILES when set", function()
    local dir = project()
    trk.write(dir .. "/elsewhere.lua", profile_at("http://given.example"))
    trk.write(dir .. "/trk.profiles.lua", profile_at("http://here.example"))
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" },
                  { TRK_PROFILES = dir .. "/elsewhere.lua" })
    assert.equal(0, r.code, r.stderr)
    assert.matches("http://given.example", r.stdout, 1, true)
  end)

  it("is trk.profiles.lua in the current directory, else the user's config", function()
    local dir = project()
    assert(os.execute("mkdir -p " .. q(dir .. "/home/.config/trk") .. " " .. q(dir .. "/xdg/trk")))
    trk.write(dir .. "/home/.config/trk/profiles.lua", profile_at("http://home.example"))
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    assert.matches("http://home.example", r.stdout, 1, true)
    trk.write(dir .. "/xdg/trk/profiles.lua", profile_at("http://xdg.example"))
    r = run(dir, { "run", "where.lua", "--profile", "sandbox" }, { XDG_CONFIG_HOME = dir .. "/xdg" })
    assert.matches("http://xdg.example", r.stdout, 1, true)
    trk.write(dir .. "/trk.profiles.lua", profile_at("http://here.example"))
    r = run(dir, { "run", "where.lua", "--profile", "sandbox" }, { XDG_CONFIG_HOME = dir .. "/xdg" })
    assert.matches("http://here.example", r.stdout, 1, true)
  end)

  it("is picked from by TRK_PROFILE too, and --profile wins; TRACKER_* does not override", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", 'return { a = { widget_url = "http://a.example" }, '
                                          .. 'b = { widget_url = "http://b.example" } }\n')
    local env = { TRK_PROFILE = "a", TRACKER_WIDGET_URL = "http://env.example" }
    assert.matches("http://a.example", run(dir, { "run", "where.lua" }, env).stdout, 1, true)
    assert.matches("http://b.example", run(dir, { "run", "where.lua", "--profile", "b" }, env).stdout,
                   1, true)
  end)

  it("is an error naming where it was looked for when a profile is asked for and none exists", function()
    local dir = project()
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    assert.equal(1, r.code)
    assert.matches("profile 'sandbox' (--profile): no profiles file; looked for trk.profiles.lua, "
                   .. dir .. "/home/.config/trk/profiles.lua", r.stderr, 1, true)
  end)
end)

describe("a profile", function()
  after_each(function() trk.cleanup() end)

  it("that does not exist is an error naming the file and its profiles", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", 'return { sandbox = {}, prod = {} }\n')
    local r = run(dir, { "run", "where.lua", "--profile", "sandbx" })
    assert.equal(1, r.code)
    assert.matches("trk.profiles.lua holds no profile 'sandbx' (--profile) (did you mean "
                   .. "'sandbox'?); its profiles: prod, sandbox", r.stderr, 1, true)
  end)

  it("with an unknown setting is an error naming the file, the profile and the closest key", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", 'return { sandbox = { timezon = "UTC" } }\n')
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    assert.equal(1, r.code)
    assert.matches("trk.profiles.lua: profile 'sandbox': unknown setting 'timezon' (did you mean "
                   .. "'timezone'?)", r.stderr, 1, true)
  end)

  it("takes production = false, and refuses a production that is not a boolean", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", 'return { sandbox = { widget_url = "http://x.example", '
                                          .. 'production = false } }\n')
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    assert.equal(0, r.code, r.stderr)
    assert.matches("http://x.example", r.stdout, 1, true)
    trk.write(dir .. "/trk.profiles.lua", 'return { sandbox = { production = "yes" } }\n')
    r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    assert.equal(1, r.code)
    assert.matches("'production' must be a boolean, not string", r.stderr, 1, true)
  end)

  it("refuses a secret written in it, without repeating it", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", string.format('return { sandbox = { apikey = %q } }\n',
                                                        secrets.apikey))
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })    -- run() fails on a leak
    os.remove(dir .. "/trk.profiles.lua")      -- the suite's own secret: not one trk wrote
    assert.equal(1, r.code)
    assert.matches("'apikey' is written in the file; a profile names its secrets instead: "
                   .. 'apikey_env = "VARIABLE"', r.stderr, 1, true)
  end)

  it("refuses a secret file others can read, saying what chmod to run", function()
    local dir = project()
    trk.write(dir .. "/key", secrets.apikey .. "\n")
    assert(os.execute("chmod 644 " .. q(dir .. "/key")))
    trk.write(dir .. "/trk.profiles.lua", 'return { sandbox = { apikey_file = "key" } }\n')
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    os.remove(dir .. "/key")
    assert.equal(1, r.code)
    assert.matches("apikey_file: key can be read by others (mode 644): run chmod 600 key",
                   r.stderr, 1, true)
  end)

  it("names an unset secret variable", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", 'return { sandbox = { api_token_env = "NO_SUCH" } }\n')
    local r = run(dir, { "run", "where.lua", "--profile", "sandbox" })
    assert.equal(1, r.code)
    assert.matches("api_token_env names $NO_SUCH, which is not set", r.stderr, 1, true)
  end)
end)

describe("a profiles file is data", function()
  after_each(function() trk.cleanup() end)

  for _, case in ipairs({
    { "os.exit()", "os.exit(3)", "global 'os'" },
    { "require", 'return require("io")', "global 'require'" },
    { "a string method", 'return { a = { region = ("x"):rep(9) } }', "index a string value" },
  }) do
    it("cannot call " .. case[1], function()
      local dir = project()
      trk.write(dir .. "/trk.profiles.lua", case[2] .. "\n")
      local r = run(dir, { "run", "where.lua", "--profile", "a" })
      assert.equal(1, r.code)
      assert.matches(case[3], r.stderr, 1, true)
      assert.matches("a profiles file is data: it can call no function", r.stderr, 1, true)
    end)
  end

  it("is stopped when it loops", function()
    local dir = project()
    trk.write(dir .. "/trk.profiles.lua", "while true do end\n")
    local r = run(dir, { "run", "where.lua", "--profile", "a" })
    assert.equal(1, r.code)
    assert.matches("did not finish within 1000000 instructions", r.stderr, 1, true)
  end)
end)

describe("profiles against an emulator", function()
  local emu

  local tokens = {}            -- the suite's secrets the specs wrote themselves (not trk)

  setup(function() emu = server.start({ "--admin" }) end)
  teardown(function()
    server.stop_all()
    for _, f in ipairs(tokens) do os.remove(f) end
    trk.cleanup()
  end)

  -- What the emulator holds, as it sends it: equal texts, nothing written.
  local function state()
    local p = io.popen(server.PLAIN .. "curl -sf " .. q(emu.url .. "/_emulator/state"))
    local body = p:read("a")
    p:close()
    return body
  end

  -- A project whose profiles point at the emulator: sandbox, and prod (production = true).
  -- The API key comes from $SANDBOX_KEY, the token from a private file.
  local function emulator_project()
    local dir = project()
    trk.write(dir .. "/token", secrets.api_token .. "\n")
    tokens[#tokens + 1] = dir .. "/token"
    assert(os.execute("chmod 600 " .. q(dir .. "/token")))
    local body = string.format('{ widget_url = %q, rest_url = %q, username = %q, '
                               .. 'apikey_env = "SANDBOX_KEY", api_token_file = "token", '
                               .. 'timezone = "UTC", rate_limit = false, stages = %q',
                               emu.url, emu.url, secrets.username, server.stages_env())
    trk.write(dir .. "/trk.profiles.lua", "return {\n  sandbox = " .. body .. " },\n"
                                          .. "  prod = " .. body .. ", production = true },\n}\n")
    trk.write(dir .. "/note.lua", [[
local t = require("tracker").connect()
for c in t:candidates{} do assert(t:add_note(c, "profiled")) break end
]])
    return dir, { SANDBOX_KEY = secrets.apikey }
  end

  it("refuses --apply on a production profile off a terminal without --yes, sending nothing", function()
    local dir, env = emulator_project()
    local before = state()
    local r = run(dir, { "run", "note.lua", "--profile", "prod", "--apply" }, env)
    assert.equal(1, r.code)
    assert.matches("profile 'prod' is a production profile (production = true in "
                   .. "trk.profiles.lua): --apply off a terminal needs --yes", r.stderr, 1, true)
    assert.equal(before, state())
    r = run(dir, { "run", "note.lua", "--profile", "prod" }, env)      -- a dry run never asks
    assert.equal(0, r.code, r.stderr)
    assert.equal(before, state())
  end)

  it("applies on a production profile with --yes", function()
    local dir, env = emulator_project()
    local before = state()
    local r = run(dir, { "run", "note.lua", "--profile", "prod", "--apply", "--yes" }, env)
    assert.equal(0, r.code, r.stderr)
    assert.matches("1 applied", r.stderr, 1, true)
    assert.not_equal(before, state())
  end)

  it("runs rules with --apply on the profile alone, its secrets never shown", function()
    local dir, env = emulator_project()
    assert(os.execute("mkdir -p " .. q(dir .. "/rules")))
    trk.write(dir .. "/rules/shortlist.lua", [[
return { name = "shortlist", on = "applications", where = { stage = "Applied" },
         action = function(a, t) assert(t:move_to_stage(a, "Shortlisted")) end }
]])
    local r = run(dir, { "rules", "rules", "--apply", "--profile", "sandbox",
                         "--since", "2000-01-01T00:00:00Z" }, env)
    assert.equal(0, r.code, r.stderr)
    assert.matches("applied", r.stderr, 1, true)
    -- the profile's own store: another profile's database keeps its state apart
    assert.is_nil(io.open(dir .. "/rules/.trk/state.db"))
    local journal = trk.slurp(dir .. "/rules/.trk/state-sandbox.db")
    assert.is_nil(secrets.find(journal))
    -- trk journal and trk checkpoints find the profile's store as the runs do
    local j = run(dir, { "journal", "rules", "--profile", "sandbox" }, env)
    assert.equal(0, j.code, j.stderr)
    assert.matches("trk rules rules", j.stdout, 1, true)
    local penv = {}
    for k, v in pairs(env) do penv[k] = v end
    penv.TRK_PROFILE = "sandbox"
    local c = run(dir, { "checkpoints", "rules" }, penv)
    assert.equal(0, c.code, c.stderr)
    assert.matches("shortlist", c.stdout, 1, true)
    c = run(dir, { "checkpoints", "rules" }, env)
    assert.equal(1, c.code, c.stderr)
    assert.matches("there: rules/.trk/state-sandbox.db", c.stderr, 1, true)
    local doctor = run(dir, { "doctor", "--profile", "sandbox" }, env)
    assert.equal(0, doctor.code, doctor.stdout)
    assert.matches("profile        'sandbox' from trk.profiles.lua (--profile)", doctor.stdout, 1, true)
    doctor = run(dir, { "doctor", "--profile", "sandbox", "--verbose" }, env)
    assert.matches("apikey: set, from $SANDBOX_KEY", doctor.stdout, 1, true)
    assert.matches("api_token: set, from file token", doctor.stdout, 1, true)
  end)
end)
