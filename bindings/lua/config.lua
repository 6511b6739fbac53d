-- config: a client's configuration, from tracker.connect's options and the TRACKER_*
-- environment, checked once when the client is made.

local widget, rest, inprocess = import "widget", import "rest", import "inprocess"
local sinks, usage, times = import "sinks", import "usage", import "times"
local raise, misuse, options = usage.raise, usage.misuse, usage.options
local ttime = times.time

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local tointeger = math.tointeger
local fmt, lower, gsub, match = string.format, string.lower, string.gsub, string.match
local getenv = os.getenv

local M = {}

local DEFAULTS = {
  rate_limit = 100,          -- requests a minute (§5: about 100 per database)
  retry_for = 120,           -- seconds a read keeps retrying before giving up
  timeout = 60,              -- seconds for one request
  connect_timeout = 10,      -- seconds to connect
  page_size = 500,           -- records a page (capped by each API's maximum)
  concurrency = 4,           -- writes in flight at once in t:batch
  outage_budget = 300,       -- seconds the server may be unreachable before calls give up
}

local ENV = {
  region = "TRACKER_REGION", widget_url = "TRACKER_WIDGET_URL", rest_url = "TRACKER_REST_URL",
  apikey = "TRACKER_APIKEY", username = "TRACKER_USERNAME", password = "TRACKER_PASSWORD",
  api_token = "TRACKER_API_TOKEN", timezone = "TRACKER_TIMEZONE",
  rate_limit = "TRACKER_RATE_LIMIT", rejection_stage = "TRACKER_REJECTION_STAGE",
  rejection_reasons = "TRACKER_REJECTION_REASONS", stages = "TRACKER_STAGES",
  search_route = "TRACKER_SEARCH_ROUTE", note_type = "TRACKER_NOTE_TYPE",
  note_status = "TRACKER_NOTE_STATUS", outage_budget = "TRACKER_OUTAGE_BUDGET",
}
local SECRETS = { apikey = true, password = true, api_token = true }


local CONNECT_OPTS = {
  region = "string", widget_url = "string", rest_url = "string", apikey = "string",
  username = "string", password = "string", api_token = "string", timezone = "any",
  rate_limit = "any", retry_for = "number", timeout = "number", connect_timeout = "number",
  page_size = "number", transport = "any", clock = "function", sleep = "function",
  ca_file = "string", hook = "function", rejection_stage = "any", rejection_reasons = "table",
  concurrency = "number", stages = "table", search_route = "string", note_type = "string",
  note_status = "string", outage_budget = "number",
}

local function base_url(fname, v, name)
  if not match(v, "^https?://[^/%s]+") then
    raise(fmt("%s: %s must be an http:// or https:// URL", fname, name))
  end
  return (gsub(v, "/+$", ""))
end

-- The application stages the configuration names: option `stages` as { Name = id } or a list
-- of { id =, name = }, or TRACKER_STAGES as "Name=id;Name=id". A sorted list of { id, name }.
local function stages(fname, opt, text)
  if opt == nil and text == nil then return nil end
  local list, where = {}, opt ~= nil and "option 'stages'" or "TRACKER_STAGES"
  local function add(name, id, what)
    local n = tointeger(tonumber(id))
    if type(name) ~= "string" or match(name, "^%s*$") or not n or n <= 0 then
      raise(fmt("%s: %s: %s must be a stage name and its id (a whole number above 0)", fname,
                where, what))
    end
    list[#list + 1] = { id = n, name = match(name, "^%s*(.-)%s*$") }
  end
  if opt ~= nil then
    for k, v in pairs(opt) do
      if type(v) == "table" then add(v.name, v.id, "item " .. tostring(k))
      else add(k, v, "'" .. tostring(k) .. "'") end
    end
  else
    for item in string.gmatch(text, "[^;]+") do
      if not match(item, "^%s*$") then
        local name, id = match(item, "^(.-)=([^=]*)$")
        add(name, id, "'" .. item .. "'")
      end
    end
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

-- The settings of a client from connect's options and the environment. Environment
-- credentials go only to Tracker's own hosts or to the URLs from the environment: a script
-- that names its own URL or transport must name its own credentials. `profile` (trk's host
-- passes it: a named profile, checked by scripts/trk/profiles.lua) takes the environment's
-- place whole: with a profile, no TRACKER_* variable is read.
local function configure(opts, sink, profile)
  local fname = "tracker.connect"
  local o = options(fname, opts, CONNECT_OPTS, "argument 1")
  local env = {}
  for k, var in pairs(ENV) do
    local v
    if profile then v = profile[k] else v = getenv(var) end
    if v ~= nil and v ~= "" then env[k] = v end
  end
  local c = { env_names = {} }
  local custom = o.transport ~= nil or o.widget_url ~= nil or o.rest_url ~= nil
  local function pick(k)
    if o[k] ~= nil then return o[k] end
    if custom and SECRETS[k] then return nil end
    if env[k] then c.env_names[k] = ENV[k] end
    return env[k]
  end
  c.transport = o.transport
  if o.transport ~= nil then
    if not inprocess.accepts(o.transport) then
      raise(fname .. ": option 'transport' must be an emulator (tracker.emulator.new{...})")
    end
    local emu = o.transport
    c.widget_url, c.rest_url = "http://emulator", "http://emulator"
    for _, k in ipairs({ "apikey", "username", "password", "api_token" }) do
      if o[k] == nil and type(emu[k]) == "string" then c[k] = emu[k] end
    end
    if o.timezone == nil and type(emu.timezone) == "string" then c.timezone = emu.timezone end
  else
    local region = o.region or ((o.widget_url or o.rest_url) == nil and env.region)
    if region then
      region = lower(region)
      if not widget.hosts[region] then
        raise(fmt("%s: unknown region '%s' (use us, ca or global)%s", fname, region,
                  o.region and "" or " in TRACKER_REGION"))
      end
      c.widget_url, c.rest_url = widget.hosts[region], rest.hosts[region]
    end
    c.widget_url = o.widget_url or (not o.region and env.widget_url) or c.widget_url
    c.rest_url = o.rest_url or (not o.region and env.rest_url) or c.rest_url
    if c.widget_url then c.widget_url = base_url(fname, c.widget_url, "the widget URL") end
    if c.rest_url then c.rest_url = base_url(fname, c.rest_url, "the REST URL") end
  end
  for _, k in ipairs({ "apikey", "username", "password", "api_token" }) do
    if c[k] == nil then c[k] = pick(k) end
  end
  local tz = o.timezone
  if tz == nil and c.timezone == nil then tz = env.timezone end
  if tz == false then c.timezone = nil
  elseif tz ~= nil then
    if type(tz) ~= "string" then
      raise(fname .. ": option 'timezone' must be an IANA zone name or false")
    end
    local ok, why = ttime.zone_valid(tz)
    if not ok then raise(fname .. ": " .. tostring(why)) end
    c.timezone = tz
  end
  local rate = o.rate_limit
  if rate == nil and type(env.rate_limit) ~= "string" then rate = env.rate_limit end -- profile
  if rate == nil and env.rate_limit then
    local text = env.rate_limit
    rate = tonumber(text)
    if text == "false" or text == "off" or text == "none" then rate = false end
    if rate == nil or (rate and rate <= 0) then
      raise(fmt("%s: TRACKER_RATE_LIMIT is '%s': give requests a minute above 0 (100), or "
                .. "'false' for no limit", fname, text))
    end
  end
  if rate == nil then rate = DEFAULTS.rate_limit end
  if rate ~= false and not (type(rate) == "number" and rate > 0) then
    raise(fname .. ": the rate limit (option 'rate_limit' or TRACKER_RATE_LIMIT) must be a "
          .. "number of requests a minute above 0, or false for none")
  end
  c.rate_limit = rate
  for _, k in ipairs({ "retry_for", "timeout", "connect_timeout", "page_size" }) do
    local v = o[k] or DEFAULTS[k]
    if v ~= v or v <= 0 then raise(fmt("%s: option '%s' must be above 0", fname, k)) end   -- NaN too
    c[k] = v
  end
  local budget = o.outage_budget
  if budget == nil and env.outage_budget then
    budget = tonumber(env.outage_budget)
    if not (budget and budget > 0) then
      raise(fmt("%s: TRACKER_OUTAGE_BUDGET is '%s': give the seconds the server may be "
                .. "unreachable before trk stops, above 0 (300)", fname, env.outage_budget))
    end
  end
  budget = budget or DEFAULTS.outage_budget
  if budget ~= budget or budget <= 0 then        -- NaN too
    raise(fname .. ": option 'outage_budget' must be above 0")
  end
  c.outage_budget = budget
  c.page_size = tointeger(c.page_size) or misuse(fname, "option 'page_size' must be a whole number")
  c.concurrency = o.concurrency or DEFAULTS.concurrency
  if not (tointeger(c.concurrency) and c.concurrency >= 1) then
    misuse(fname, "option 'concurrency' must be a whole number of writes, at least 1, got %s",
           tostring(c.concurrency))
  end
  c.concurrency = tointeger(c.concurrency)
  c.clock, c.sleep, c.ca_file = o.clock or native.clock, o.sleep or native.sleep, o.ca_file
  if sink ~= nil and o.hook ~= nil then
    raise(fname .. ": give a hook or a sink, not both")
  end
  if sink ~= nil and not (type(sink) == "table" and type(sink.write) == "function") then
    raise(fname .. ": argument 2 must be a sink (a table with a write method, see tracker.sinks)")
  end
  c.sink = sink or (o.hook and sinks.hook(o.hook)) or sinks.send
  c.rejection_stage = o.rejection_stage or env.rejection_stage
  if c.rejection_stage ~= nil and type(c.rejection_stage) ~= "string"
      and tointeger(c.rejection_stage) == nil then
    raise(fname .. ": option 'rejection_stage' must be a stage name or id")
  end
  local reasons = o.rejection_reasons
  if reasons == nil and type(env.rejection_reasons) == "table" then reasons = env.rejection_reasons end
  if reasons == nil and env.rejection_reasons then
    reasons = {}
    for r in string.gmatch(env.rejection_reasons, "[^;]+") do
      r = match(r, "^%s*(.-)%s*$")
      if r ~= "" then reasons[#reasons + 1] = r end
    end
  end
  if reasons then
    local list = {}
    for i, r in ipairs(reasons) do
      if type(r) ~= "string" or r == "" then
        raise(fmt("%s: option 'rejection_reasons' must be a list of strings (item %d is not)", fname, i))
      end
      list[i] = r
    end
    c.rejection_reasons = list
  end
  local listed = type(env.stages) == "table"                  -- a profile's
  c.stages = stages(fname, o.stages or (listed and env.stages or nil),
                    not listed and env.stages or nil)
  c.search_route = o.search_route or env.search_route
  if c.search_route ~= nil then
    local ok = false
    for _, r in ipairs(rest.search_routes) do ok = ok or r == c.search_route end
    if not ok then
      raise(fmt("%s: the search route (option 'search_route' or TRACKER_SEARCH_ROUTE) must be "
                .. "one of %s, got '%s'", fname, table.concat(rest.search_routes, ", "),
                tostring(c.search_route)))
    end
  end
  for _, k in ipairs({ "note_type", "note_status" }) do
    c[k] = o[k] or env[k]
    if c[k] == "" then raise(fmt("%s: option '%s' must not be empty", fname, k)) end
  end
  return c
end
M.configure = configure
return M
