-- trk.profiles: named profiles (docs/configuration.md#profiles). A profiles file is Lua data:
-- a table of profiles, each holding the settings the TRACKER_* variables hold, with its secrets
-- named (apikey_env = "VAR", apikey_file = "PATH"), never written in it.
--
-- Host-side: the session and trk doctor resolve the profile the command line or TRK_PROFILE
-- selects; scripts never reach this module, the file or the settings it gives.

local M = {}

local fmt, concat = string.format, table.concat

-- ---- tunables -------------------------------------------------------------------------------

local INSTRUCTIONS = 1000000     -- a profiles file is data: this is far more than it needs
local MAX_SECRET = 4096          -- bytes read from a secret file

M.SECRETS = { "apikey", "password", "api_token" }
local SECRET = { apikey = true, password = true, api_token = true }

-- The settings a profile may hold besides its secrets, and what each must be: those of the
-- TRACKER_* variables (trk.doctor's list, which spec/doctor_spec.lua keeps equal to the
-- client's), and `production`.
local function kinds()
  local k = { production = "boolean" }
  for _, var in ipairs(require("trk.doctor").VARIABLES) do
    local key = var:sub(#"TRACKER_" + 1):lower()
    if SECRET[key] then
      k[key .. "_env"], k[key .. "_file"] = "string", "string"
    else
      k[key] = "string"
    end
  end
  k.rate_limit, k.timezone = "number|false", "string|false"
  -- stages and reasons as TRACKER_* writes them ("Applied=1;Interview=5"), or as tables
  k.stages, k.rejection_reasons, k.rejection_stage = "table|string", "table|string", "string|number"
  return k
end

local function getenv(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

-- ---- finding the file -----------------------------------------------------------------------

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- The profiles file: $TRK_PROFILES, else ./trk.profiles.lua, else
-- $XDG_CONFIG_HOME/trk/profiles.lua (~/.config/trk/profiles.lua). Answers the path (nil when
-- none exists) and the places looked at.
function M.find()
  local given = getenv("TRK_PROFILES")
  if given then return exists(given) and given or nil, { given .. " (TRK_PROFILES)" } end
  local config = getenv("XDG_CONFIG_HOME") or ((getenv("HOME") or "~") .. "/.config")
  local places = { "trk.profiles.lua", config .. "/trk/profiles.lua" }
  for _, p in ipairs(places) do
    if exists(p) then return p, places end
  end
  return nil, places
end

-- ---- reading it as data ---------------------------------------------------------------------

-- Runs the file with nothing in reach: an empty environment, text only, a budget of
-- instructions, and no string methods (their metatable is the one library every value can
-- reach). Answers the table of profiles, or nil and why.
local function read(host, path)
  local f, e = io.open(path, "r")
  if not f then return nil, "cannot read " .. tostring(e) end
  local text = f:read("a")
  f:close()
  local globals = {}
  local chunk, why = load(text, "@" .. path, "t", globals)
  if not chunk then return nil, tostring(why) end
  local strings = debug.getmetatable("")
  local index = strings.__index
  strings.__index = nil
  local ok, res, stop = host.budget_call(INSTRUCTIONS, chunk)
  strings.__index = index
  if not ok then
    if stop == "budget" then
      return nil, fmt("%s: did not finish within %d instructions: a profiles file is data (a "
                      .. "table of profiles), it runs no loops", path, INSTRUCTIONS)
    end
    local msg = tostring(res):match("^[^\n]*")
    return nil, fmt("%s (a profiles file is data: it can call no function, not require, os "
                    .. "or io, nor a string method)", msg)
  end
  if res == nil then res = globals end           -- .luacheckrc's form: each profile a global
  if type(res) ~= "table" then
    return nil, fmt("%s: returns a %s: return a table of profiles, like "
                    .. "return { sandbox = { region = \"us\", ... } }", path, type(res))
  end
  return res
end

-- What a secret file holds: its first line. Refused when group or others may read it.
local function secret_file(host, file)
  local mode, e = host.mode(file)
  if not mode then return nil, "cannot read " .. tostring(e) end
  if mode & 0x3f ~= 0 then                      -- 0077: group and others
    return nil, fmt("%s can be read by others (mode %o): run chmod 600 %s", file, mode, file)
  end
  local f, e2 = io.open(file, "r")
  if not f then return nil, "cannot read " .. tostring(e2) end
  local text = f:read(MAX_SECRET) or ""
  f:close()
  text = text:match("^[^\r\n]*")
  if text == "" then return nil, file .. " is empty" end
  return text
end

-- A profile's settings checked, its secrets read: settings, sources; or nil and why.
local function resolve(host, path, name, p)
  local where = fmt("%s: profile '%s'", path, name)
  if type(p) ~= "table" then
    return nil, fmt("%s is a %s: a profile is a table of settings", where, type(p))
  end
  local kind = kinds()
  local names = {}
  for k in pairs(kind) do names[#names + 1] = k end
  table.sort(names)
  local settings, sources = {}, {}
  for k, v in pairs(p) do
    if SECRET[k] then
      -- the value is never repeated: it is a secret, now in a file that should not hold it
      return nil, fmt("%s: '%s' is written in the file; a profile names its secrets instead: "
                      .. "%s_env = \"VARIABLE\" (read from the environment) or %s_file = "
                      .. "\"PATH\" (a file only you can read)", where, k, k, k)
    end
    local want = kind[k]
    if want == nil then
      return nil, fmt("%s: unknown setting '%s'%s", where, tostring(k),
                      require("tracker").suggest(tostring(k), names))
    end
    -- false is its own kind where a setting takes it (rate_limit = false), a boolean elsewhere
    local t = type(v)
    if v == false and want:find("false", 1, true) then t = "false" end
    if not want:find(t, 1, true) or v == "" then
      return nil, fmt("%s: '%s' must be a %s, not %s", where, k, want:gsub("|", " or "),
                      v == "" and "empty" or t)
    end
    if not k:match("_env$") and not k:match("_file$") and k ~= "production" then
      settings[k], sources[k] = v, "profile"
    end
  end
  local dir = path:match("^(.*/)") or ""
  for _, s in ipairs(M.SECRETS) do
    local var, file = p[s .. "_env"], p[s .. "_file"]
    if var and file then
      return nil, fmt("%s: give %s_env or %s_file, not both", where, s, s)
    elseif var then
      settings[s] = getenv(var)
      if not settings[s] then
        return nil, fmt("%s: %s_env names $%s, which is not set", where, s, var)
      end
      sources[s] = "from $" .. var
    elseif file then
      if file:sub(1, 1) ~= "/" then file = dir .. file end   -- beside the profiles file
      local v, why = secret_file(host, file)
      if not v then return nil, fmt("%s: %s_file: %s", where, s, why) end
      settings[s], sources[s] = v, "from file " .. file
    end
  end
  return settings, sources
end

-- The profile to use: --profile NAME (opts.profile), else $TRK_PROFILE; nil when neither names
-- one. Answers { name =, path =, production =, settings =, sources =, how = }, or nil and why.
function M.selected(host, opts)
  local name, how = opts.profile, "--profile"
  if name == nil then name, how = getenv("TRK_PROFILE"), "TRK_PROFILE" end
  if name == nil then return nil end
  local path, places = M.find()
  if not path then
    return nil, fmt("profile '%s' (%s): no profiles file; looked for %s", name, how,
                    concat(places, ", "))
  end
  local all, why = read(host, path)
  if not all then return nil, why end
  local p = all[name]
  if p == nil then
    local list = {}
    for k in pairs(all) do list[#list + 1] = tostring(k) end
    table.sort(list)
    return nil, fmt("%s holds no profile '%s' (%s)%s; its profiles: %s", path, name, how,
                    require("tracker").suggest(name, list),
                    #list > 0 and concat(list, ", ") or "none")
  end
  local settings, sources = resolve(host, path, name, p)
  if not settings then return nil, sources end
  return { name = name, path = path, how = how, production = p.production == true,
           settings = settings, sources = sources }
end

-- Where a profile's writes go, for the production prompt.
local function target(p)
  local s = p.settings
  return s.widget_url or s.rest_url or (s.region and "region " .. s.region) or "no URL"
end

-- Before --apply on a production profile: the user types the profile's name on a terminal,
-- or gave --yes. Answers true, or nil and why (nothing has been sent).
function M.confirm(host, p, opts)
  if not p.production or opts.yes then return true end
  if not (host.isatty(0) and host.isatty(2)) then
    return nil, fmt("profile '%s' is a production profile (production = true in %s): --apply "
                    .. "off a terminal needs --yes as well; nothing was sent", p.name, p.path)
  end
  io.stderr:write(fmt("This applies writes to production profile '%s' (%s). Type the profile "
                      .. "name to continue: ", p.name, target(p)))
  io.stderr:flush()
  local answer = io.stdin:read("l")
  if answer and answer:match("^%s*(.-)%s*$") == p.name then return true end
  return nil, fmt("not confirmed (the answer was not '%s'): nothing was sent", p.name)
end

return M
