-- trk.doctor: `trk doctor`. Checks what trk needs to work with Tracker: the TRACKER_*
-- variables, both APIs (name, connection, TLS, HTTP), the credentials, the time zone, the rate
-- budget and the metadata; one line per check (ok, warn or FAIL), and for what is wrong exactly
-- what to set. Host-side, a driver of trk.commands. It sends no writes and shows no secret:
-- a secret is "set, N characters", and every line is scrubbed of the secrets' values.

local report = require "trk.report"

local M = {}

local fmt, concat = string.format, table.concat

-- ---- tunables -------------------------------------------------------------------------------

local TIMEOUT = 20            -- seconds for one request
local CONNECT_TIMEOUT = 10    -- seconds to connect
local NO_RETRY = 0.001        -- retry_for: a check reports what it saw, it does not retry
local TRACKER_RATE = 100      -- requests a minute Tracker allows a database (tracker-api.md §5)
local FUTURE_SLACK = 600      -- seconds: a record changed further ahead than this betrays a zone
local EXAMPLE_ZONE = "America/Chicago"
local EXAMPLE_USER = "ops@example.com"
local NAME_WIDTH = 14         -- the check-name column
local SECRET_MIN = 4          -- shorter values are not scrubbed from text (they would maim it)

-- The variables tracker.connect reads (bindings/lua/config.lua, ENV): spec/doctor_spec.lua
-- keeps the two lists equal.
M.VARIABLES = {
  "TRACKER_REGION", "TRACKER_WIDGET_URL", "TRACKER_REST_URL", "TRACKER_APIKEY",
  "TRACKER_USERNAME", "TRACKER_PASSWORD", "TRACKER_API_TOKEN", "TRACKER_TIMEZONE",
  "TRACKER_RATE_LIMIT", "TRACKER_REJECTION_STAGE", "TRACKER_REJECTION_REASONS",
  "TRACKER_STAGES", "TRACKER_SEARCH_ROUTE", "TRACKER_NOTE_TYPE", "TRACKER_NOTE_STATUS",
  "TRACKER_OUTAGE_BUDGET",
}
local SECRET = { TRACKER_APIKEY = true, TRACKER_PASSWORD = true, TRACKER_API_TOKEN = true }
local REGIONS = { "us", "ca", "global" }

-- ---- the checks' report ---------------------------------------------------------------------

local Report = {}
Report.__index = Report

local WORD = { ok = "ok", warn = "warn", fail = "FAIL" }

local function new_report(host, opts)
  local out = report.output(host, opts)
  return setmetatable({ host = host, out = out, json = opts.json or false, checks = {},
                        secrets = {}, counts = { ok = 0, warn = 0, fail = 0 } }, Report)
end

-- Removes every secret's value from a text (a message may quote what it was given).
function Report:scrub(text)
  if text == nil then return nil end
  text = tostring(text)
  for _, secret in ipairs(self.secrets) do
    local from = 1
    while true do
      local i, j = text:find(secret, from, true)
      if not i then break end
      text = text:sub(1, i - 1) .. "[secret]" .. text:sub(j + 1)
      from = i + #"[secret]"
    end
  end
  return text
end

-- With a profile, the checks' TRACKER_* names read as the profile's settings (TRACKER_APIKEY:
-- apikey): they are where the values came from.
function Report:rename(text)
  if text == nil or not self.profile then return text end
  return (tostring(text):gsub("TRACKER_([%u_]+)%f[^%w_]", function(k) return k:lower() end))
end

function Report:heading(title)
  self.section = title
  self.shown_heading = false
end

-- One check: status "ok" | "warn" | "fail", what was found, what to do (for warn and fail),
-- and detail lines (shown with --verbose).
function Report:add(name, status, found, fix, details)
  found, fix = self:rename(found), self:rename(fix)
  local c = { section = self.section, name = name, status = status, found = self:scrub(found),
              fix = fix and self:scrub(fix) or nil, details = {} }
  for i, d in ipairs(details or {}) do c.details[i] = self:scrub(d) end
  self.checks[#self.checks + 1] = c
  self.counts[status] = self.counts[status] + 1
  if self.json or (self.out.quiet and status == "ok") then return c end
  local paint = self.out.out
  if not self.shown_heading and not self.out.quiet then
    io.stdout:write(#self.checks > 1 and "\n" or "", paint.bold(self.section), "\n")
    self.shown_heading = true
  end
  local word = WORD[status]
  word = word .. string.rep(" ", 5 - #word)
  word = status == "ok" and paint.green(word) or status == "warn" and paint.yellow(word)
         or paint.red(paint.bold(word))
  -- what was found may be the server's text: shown printable, never as terminal controls
  local line = fmt("  %s %-" .. NAME_WIDTH .. "s %s", word, name, report.printable(c.found))
  if c.fix then line = line .. "; fix: " .. report.printable(c.fix) end
  io.stdout:write(line, "\n")
  if self.out.verbose then
    for _, d in ipairs(c.details) do io.stdout:write("        ", report.printable(d), "\n") end
  end
  io.stdout:flush()
  return c
end

function Report:finish()
  local n = self.counts
  local status = n.fail > 0 and "fail" or n.warn > 0 and "warn" or "ok"
  if self.json then
    io.stdout:write(self.host.json.encode({ status = status, counts = n, checks = self.checks }),
                    "\n")
  elseif not self.out.quiet then
    local paint = self.out.out
    local parts = { fmt("%d ok", n.ok) }
    if n.warn > 0 then parts[#parts + 1] = paint.yellow(fmt("%d warning%s", n.warn, n.warn == 1 and "" or "s")) end
    if n.fail > 0 then parts[#parts + 1] = paint.red(fmt("%d failed", n.fail)) end
    io.stdout:write("\ntrk doctor: ", concat(parts, ", "), "\n")
  end
  return n.fail > 0 and 1 or 0
end

-- ---- the environment ------------------------------------------------------------------------

local function getenv(name)
  local v = os.getenv(name)
  if v == "" then return nil end       -- tracker.connect reads an empty variable as unset
  return v
end

-- "set, 32 characters": all that is ever said of a secret.
local function secret_text(name, value)
  return fmt("%s set (%d characters)", name, utf8.len(value) or #value)
end

-- The TRACKER_* names in the environment (names only: values are never read from here).
local function environment_names()
  local f = io.open("/proc/self/environ", "rb")
  if not f then return {} end
  local data = f:read("a") or ""
  f:close()
  local names = {}
  for entry in data:gmatch("[^%z]+") do
    local name = entry:match("^(TRACKER_[%w_]*)=")
    if name then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- What is wrong with a base URL, or nil; and the URL as it may be shown.
local function url_problems(value)
  local shown = report.safe_url(value)
  if not value:match("^https?://[^/%s]+") then
    return "fail", shown, "is not an http:// or https:// URL"
  end
  local scheme, authority, path = value:match("^(https?)://([^/?#%s]+)([^%s]*)$")
  if not scheme then return "fail", shown, "holds spaces" end
  if authority:find("@", 1, true) then
    return "fail", shown, "holds a user name or password before the host (trk does not use them)"
  end
  local host = authority:gsub(":%d+$", ""):lower()
  path = path:gsub("/+$", "")
  if path ~= "" then
    return "warn", shown, fmt("has a path (%s): trk adds /api/... to the URL itself", report.safe_url(path))
  end
  local loopback = host == "localhost" or host:match("^127%.") or host == "[::1]"
  if scheme == "http" and not loopback then
    return "warn", shown, "is plain http: credentials would cross the network unencrypted"
  end
  return nil, shown
end

-- ---- configuration checks -------------------------------------------------------------------

-- The profile --profile or TRK_PROFILE names (trk.profiles), as the TRACKER_* values the
-- checks read: answers them, or nil when there is none or it is refused (a failed check).
local function check_profile(r, host, opts)
  local profiles = require "trk.profiles"
  local p, why = profiles.selected(host, opts)
  if why then
    r:add("profile", "fail", why, "fix the profiles file or the profile's name")
    return nil, true
  end
  if not p then
    local path = profiles.find()
    if path then
      r:add("profile", "ok", fmt("none selected (%s holds profiles: --profile NAME or "
                                 .. "TRK_PROFILE picks one); the TRACKER_* variables are read", path))
    end
    return nil
  end
  r.profile = p
  local env, details = {}, {}
  for _, var in ipairs(M.VARIABLES) do
    local key = var:sub(#"TRACKER_" + 1):lower()
    local v = p.settings[key]
    if type(v) == "table" then          -- stages { Name = id } or a list; reasons a list
      local parts = {}
      for k, x in pairs(v) do
        parts[#parts + 1] = type(x) == "table" and fmt("%s=%s", x.name, x.id)
                            or type(k) == "string" and fmt("%s=%s", k, x) or tostring(x)
      end
      v = concat(parts, ";")
    end
    if v ~= nil and v ~= false or key == "rate_limit" and v == false then
      env[var] = tostring(v)
      details[#details + 1] = fmt("%s: %s", key, SECRET[var] and "set, " .. p.sources[key]
                                                 or tostring(v))
    end
  end
  table.sort(details)
  r:add("profile", "ok", fmt("'%s' from %s (%s)%s; the TRACKER_* variables are not read", p.name,
                             p.path, p.how, p.production and ", production" or ""), nil, details)
  return env
end

-- Each answers what the network checks need: the URLs, the connect options, and whether each
-- API can be tried.
local function check_variables(r, env)
  local set, unset, unknown = {}, {}, {}
  local known = {}
  for _, name in ipairs(M.VARIABLES) do
    known[name] = true
    if env[name] then set[#set + 1] = name else unset[#unset + 1] = name end
  end
  for _, name in ipairs(environment_names()) do
    if not known[name] then unknown[#unknown + 1] = name end
  end
  local found = #set > 0 and "set: " .. concat(set, ", ") or "no TRACKER_* variable is set"
  local details = { "not set: " .. (#unset > 0 and concat(unset, ", ") or "none") }
  if #unknown == 0 then
    r:add("variables", "ok", found, nil, details)
    return
  end
  local hints = {}
  local suggest = require("tracker").suggest
  for _, name in ipairs(unknown) do hints[#hints + 1] = name .. suggest(name, M.VARIABLES) end
  r:add("variables", "warn", found .. "; trk does not read " .. concat(hints, ", "),
        "rename or remove " .. (#unknown == 1 and "it" or "them"), details)
end

-- The base URLs of a region, as tracker.connect resolves them.
local function region_urls(region)
  local ok, t = pcall(require("tracker").connect, { region = region, rate_limit = false,
                                                     timezone = false })
  if not ok then return nil end
  local widget, rest = tostring(t):match("^tracker client %((%S+), (%S+)%)$")
  t:close()
  return widget, rest
end

-- One API's base URL: from its variable, else from the region. Answers the URL to use or nil.
local function check_url(r, env, api, var)
  local label = api .. " URL"
  local region, value = env.TRACKER_REGION, env[var]
  if value then
    local status, shown, why = url_problems(value)
    local fix = status and fmt("set %s to the API's base, like %s=%s", var, var,
                               api == "widget" and "https://evoapius.tracker-rms.com"
                                               or "https://evousapi.tracker-rms.com")
    if status == "fail" then
      r:add(label, "fail", fmt("%s=%s %s", var, shown, why), fix)
      return nil
    end
    local found = fmt("%s (%s)", shown, var)
    if status == "warn" then
      r:add(label, "warn", fmt("%s %s", found, why), status and fix)
    elseif region then
      r:add(label, "warn", fmt("%s; TRACKER_REGION=%s is set too and %s wins for the %s API",
                               found, region, var, api),
            fmt("unset TRACKER_REGION or %s, so that one says where Tracker is", var))
    else
      r:add(label, "ok", found)
    end
    return (value:gsub("/+$", ""))
  end
  if region then
    local widget, rest = region_urls(region:lower())
    if not widget then
      local suggest = require("tracker").suggest
      r:add(label, "fail", fmt("TRACKER_REGION=%s is not a region%s", region,
                               suggest(region, REGIONS)),
            "set TRACKER_REGION=us, ca or global (where the database is hosted)")
      return nil
    end
    local url = api == "widget" and widget or rest
    r:add(label, "ok", fmt("%s (TRACKER_REGION=%s)", url, region))
    return url
  end
  r:add(label, "fail", fmt("neither TRACKER_REGION nor %s is set", var),
        fmt("set TRACKER_REGION=us (or ca, global: where the database is hosted), or %s",
            var == "TRACKER_WIDGET_URL" and "TRACKER_WIDGET_URL=https://HOST for another server"
                                          or "TRACKER_REST_URL=https://HOST for another server"))
  return nil
end

-- Which widget credentials trk will send. Answers whether there are any.
local function check_widget_credentials(r, env)
  local key, user, pw, token = env.TRACKER_APIKEY, env.TRACKER_USERNAME, env.TRACKER_PASSWORD,
                               env.TRACKER_API_TOKEN
  local who = user and "TRACKER_USERNAME=" .. user
  local set_user = fmt("set TRACKER_USERNAME to the Tracker user the key belongs to "
                       .. "(example: TRACKER_USERNAME=%s)", EXAMPLE_USER)
  if key and user then
    local found = secret_text("TRACKER_APIKEY", key) .. ", " .. who
    if pw then
      r:add("widget login", "warn", found .. "; TRACKER_PASSWORD is set too and not used",
            "unset TRACKER_PASSWORD (the API key is used)")
    else
      r:add("widget login", "ok", found)
    end
    return true
  elseif pw and user then
    r:add("widget login", "ok", who .. ", " .. secret_text("TRACKER_PASSWORD", pw))
    return true
  elseif token then
    if key or pw then
      r:add("widget login", "warn", fmt("%s but TRACKER_USERNAME is not set: the %s is not "
                                        .. "used, TRACKER_API_TOKEN is sent as an oauth token "
                                        .. "instead", secret_text(key and "TRACKER_APIKEY"
                                                                  or "TRACKER_PASSWORD", key or pw),
                                        key and "API key" or "password"), set_user)
    else
      r:add("widget login", "ok", secret_text("TRACKER_API_TOKEN", token)
                                  .. ", sent to the widget API as an oauth token")
    end
    return true
  end
  if key or pw then
    r:add("widget login", "fail", secret_text(key and "TRACKER_APIKEY" or "TRACKER_PASSWORD",
                                              key or pw) .. " but TRACKER_USERNAME is not set",
          set_user)
  elseif user then
    r:add("widget login", "fail", who .. " but neither TRACKER_APIKEY nor TRACKER_PASSWORD is set",
          "set TRACKER_APIKEY=<the database's API key> (or TRACKER_PASSWORD=<the user's password>)")
  else
    r:add("widget login", "fail", "no widget API credentials are set",
          fmt("set TRACKER_APIKEY=<the database's API key> and TRACKER_USERNAME=<its user, "
              .. "e.g. %s>", EXAMPLE_USER))
  end
  return false
end

local function check_rest_token(r, env)
  local token = env.TRACKER_API_TOKEN
  if token then
    r:add("REST token", "ok", secret_text("TRACKER_API_TOKEN", token))
    return true
  end
  r:add("REST token", "fail", "TRACKER_API_TOKEN is not set: applications and resumes (the "
        .. "REST API) cannot be read", "set TRACKER_API_TOKEN=<the database's REST API token>")
  return false
end

-- The time zone trk reads the database's times in. Answers the zone, false (none), or nil (bad).
local function check_timezone(r, env, ttime)
  local tz = env.TRACKER_TIMEZONE
  if not tz then return false end       -- judged with the database's times, below
  local ok, why = ttime.zone_valid(tz)
  if not ok then
    r:add("time zone", "fail", fmt("TRACKER_TIMEZONE=%s: %s", tz, tostring(why)),
          fmt("set TRACKER_TIMEZONE to the database's IANA zone name (example: "
              .. "TRACKER_TIMEZONE=%s)", EXAMPLE_ZONE))
    return nil
  end
  return tz
end

-- The rate budget in force, as tracker.connect reads it. Answers the rate_limit option or nil.
local function check_rate(r, env)
  local text = env.TRACKER_RATE_LIMIT
  local fix = fmt("set TRACKER_RATE_LIMIT=%d (requests a minute), or false for no limit", TRACKER_RATE)
  if text == nil then
    r:add("rate limit", "ok", fmt("%d requests a minute (the default): one every %.2f s",
                                  TRACKER_RATE, 60 / (TRACKER_RATE * 0.98)))
    return TRACKER_RATE
  end
  if text == "false" or text == "off" or text == "none" then
    r:add("rate limit", "ok", fmt("TRACKER_RATE_LIMIT=%s: no budget of trk's own (Tracker allows "
                                  .. "about %d requests a minute and answers 429 beyond, which trk "
                                  .. "waits out)", text, TRACKER_RATE))
    return false
  end
  local rate = tonumber(text)
  if rate == nil or rate <= 0 or rate ~= rate or rate == math.huge then
    r:add("rate limit", "fail", fmt("TRACKER_RATE_LIMIT=%s is not a number of requests a minute "
                                    .. "above 0", text), fix)
    return nil
  end
  if rate > TRACKER_RATE then
    r:add("rate limit", "warn", fmt("TRACKER_RATE_LIMIT=%s requests a minute: above the %d Tracker "
                                    .. "allows a database; expect 429 answers and waits", text,
                                    TRACKER_RATE), fix)
  else
    r:add("rate limit", "ok", fmt("TRACKER_RATE_LIMIT=%s requests a minute: one every %.2f s",
                                  text, 60 / (rate * 0.98)))
  end
  return rate
end

-- How long Tracker may be unreachable before a run stops (the circuit breaker's budget, as
-- tracker.connect reads it): a line when TRACKER_OUTAGE_BUDGET is set, a failure when it is
-- not a number of seconds above 0.
local function check_outage(r, env)
  local text = env.TRACKER_OUTAGE_BUDGET
  if text == nil then return end
  local n = tonumber(text)
  if n == nil or n <= 0 or n ~= n or n == math.huge then
    r:add("outage budget", "fail", fmt("TRACKER_OUTAGE_BUDGET=%s is not a number of seconds above "
                                       .. "0", text),
          "set TRACKER_OUTAGE_BUDGET to the seconds Tracker may be unreachable before a run stops "
          .. "(exit status 75; default 300), or unset it")
    return
  end
  r:add("outage budget", "ok", fmt("TRACKER_OUTAGE_BUDGET=%s: a run stops (exit status 75, to be "
                                   .. "resumed) after Tracker is unreachable for %s s", text, text))
end

-- ---- network checks -------------------------------------------------------------------------

-- What an error that came instead of an answer says about reaching a server: the step that
-- failed and what to do.
local function unreachable(e, var)
  local msg = tostring(e.message or e)
  local step, fix
  if e.code == "timeout" then
    step, fix = "timeout", "check that the server is up and that nothing (a firewall, a proxy) "
                           .. "swallows the connection"
  elseif msg:find("cannot resolve", 1, true) then
    step, fix = "DNS", fmt("check the host name in %s (or TRACKER_REGION), and this machine's DNS "
                           .. "or proxy (https_proxy)", var)
  elseif msg:find("TLS", 1, true) then
    step, fix = "TLS", fmt("check that %s is Tracker's (its certificate is not trusted); behind an "
                           .. "intercepting proxy, install the proxy's CA certificate", var)
  elseif msg:find("cannot connect", 1, true) then
    step, fix = "connect", fmt("check the host and port in %s, that the server is up (for a local "
                               .. "emulator: trk emulator), and that no firewall blocks it", var)
  else
    step, fix = "connection", fmt("check %s and the network", var)
  end
  return step, msg, fix
end

-- The last request the log saw, as "POST https://host/path answered HTTP 200 in 12 ms".
local function answered(log)
  local last = log[#log]
  if not last then return "answered" end
  if last.status then
    return fmt("%s %s answered HTTP %d in %.1f ms", last.method, last.url, last.status, last.ms)
  end
  return fmt("%s %s: %s", last.method, last.url, last.code)
end

local function check_widget(r, host, cfg, log)
  local tracker = require "tracker"
  local env = cfg.env
  local var = env.TRACKER_WIDGET_URL and "TRACKER_WIDGET_URL" or "TRACKER_REGION"
  local ok, t = pcall(tracker.connect, {
    widget_url = cfg.widget_url, apikey = env.TRACKER_APIKEY, username = env.TRACKER_USERNAME,
    password = env.TRACKER_PASSWORD, api_token = env.TRACKER_API_TOKEN,
    timezone = cfg.timezone or false, rate_limit = cfg.rate, retry_for = NO_RETRY,
    timeout = TIMEOUT, connect_timeout = CONNECT_TIMEOUT,
  }, nil, cfg.settings)
  if not ok then
    r:add("widget reach", "fail", tostring(t), "fix the settings above first")
    return nil
  end
  local before = #log
  -- checkLogon alone (t:ping would exchange the REST token too, when there is one)
  local cok, pong, e = host.call(t.request, t, { api = "widget", path = "checkLogon" })
  if not cok then
    t:close()
    return nil, pong, e
  end
  local reached = #log > before and log[#log].status ~= nil
  if pong then
    r:add("widget reach", "ok", answered(log))
    r:add("widget auth", "ok", "checkLogon accepted the credentials")
    return t
  end
  if not reached then
    local step, msg, fix = unreachable(e, var)
    r:add("widget reach", "fail", fmt("%s failed: %s", step, msg), fix)
  elseif e.code == "auth" then
    r:add("widget reach", "ok", answered(log))
    r:add("widget auth", "fail", fmt("Tracker refused the credentials: %s", tostring(e.message)),
          "check TRACKER_APIKEY (or TRACKER_PASSWORD) and TRACKER_USERNAME: the key must be the "
          .. "database's and the user one of its active users")
  elseif e.status == 429 then
    r:add("widget reach", "warn", answered(log) .. ": rate limited",
          "wait a minute, and keep TRACKER_RATE_LIMIT at or below " .. TRACKER_RATE)
  elseif e.status and e.status >= 500 then
    r:add("widget reach", "fail", answered(log) .. ": the server is failing",
          "try again later; if it lasts, check " .. var .. " and Tracker's status")
  else
    r:add("widget reach", "fail", fmt("%s: not the widget API (%s)", answered(log),
                                      tostring(e.message)),
          fmt("check %s: it is the API's base, like https://evoapius.tracker-rms.com", var))
  end
  t:close()
  return nil
end

local function check_rest(r, host, cfg, log)
  local tracker = require "tracker"
  local env = cfg.env
  local var = env.TRACKER_REST_URL and "TRACKER_REST_URL" or "TRACKER_REGION"
  local ok, t = pcall(tracker.connect, {
    rest_url = cfg.rest_url, api_token = env.TRACKER_API_TOKEN, timezone = cfg.timezone or false,
    rate_limit = cfg.rate, retry_for = NO_RETRY, timeout = TIMEOUT,
    connect_timeout = CONNECT_TIMEOUT,
  }, nil, cfg.settings)
  if not ok then
    r:add("REST reach", "fail", tostring(t), "fix the settings above first")
    return false
  end
  local before = #log
  -- the token exchange is what is checked; the read after it (one candidate's documents,
  -- which may well not exist) proves the JWT is taken
  local cok, _, e = host.call(t.resume, t, 1)
  local stats = t:stats()
  t:close()
  if not cok then return false, _, e end
  local first = log[before + 1]
  if stats.exchanges > 0 then
    r:add("REST reach", "ok", answered({ first }))
    r:add("REST auth", "ok", "the API token was exchanged for a JWT")
    if e and (e.code == "auth" or e.code == "network" or e.code == "timeout") then
      r:add("REST read", "fail", tostring(e.message), "check " .. var .. " and the token's rights")
      return false
    end
    return true
  end
  if first == nil or first.status == nil then
    local step, msg, fix = unreachable(e or {}, var)
    r:add("REST reach", "fail", fmt("%s failed: %s", step, msg), fix)
  elseif e and e.code == "auth" then
    r:add("REST reach", "ok", answered({ first }))
    r:add("REST auth", "fail", "the REST API refused TRACKER_API_TOKEN ("
          .. tostring(e.status or "no status") .. ")",
          "set TRACKER_API_TOKEN=<a current REST API token of the database>")
  else
    r:add("REST reach", "fail", fmt("%s: not the REST API (%s)", answered({ first }),
                                    tostring(e and e.message)),
          fmt("check %s: it is the API's base, like https://evousapi.tracker-rms.com", var))
  end
  return false
end

-- ---- database checks ------------------------------------------------------------------------

local function names(list, field)
  local out = {}
  for i, x in ipairs(list or {}) do out[i] = tostring(x[field or "name"]) end
  return concat(out, ", ")
end

local function check_metadata(r, t)
  local m, e = t:metadata()
  if not m then
    r:add("metadata", "fail", "getSettingsData failed: " .. tostring(e and e.message),
          "run trk doctor --verbose to see the requests")
    return nil
  end
  local cf = m.custom_fields or {}
  local active = 0
  for _, u in ipairs(m.users or {}) do if u.active then active = active + 1 end end
  local found = fmt("%s; custom fields: %d candidate, %d job, %d application, %d activity; "
                    .. "%d users (%d active), %d sources, %d candidate statuses, %d job statuses, "
                    .. "%d departments, %d work types",
                    m.stage_source == "settings" and fmt("%d stages", #(m.stages or {}))
                      or "no stages in the settings",
                    #(cf.candidate or {}), #(cf.job or {}),
                    #(cf.application or {}), #(cf.activity or {}), #(m.users or {}), active,
                    #(m.sources or {}), #(m.candidate_statuses or {}), #(m.job_statuses or {}),
                    #(m.departments or {}), #(m.work_types or {}))
  local details = { "stages: " .. names(m.stages) }
  for _, kind in ipairs({ "candidate", "job", "application", "activity" }) do
    if cf[kind] and #cf[kind] > 0 then
      details[#details + 1] = fmt("%s custom fields: %s", kind, names(cf[kind]))
    end
  end
  details[#details + 1] = "sources: " .. names(m.sources)
  r:add("metadata", "ok", found, nil, details)     -- the stages check says what is missing
  return m
end

local function check_rejection(r, env, m)
  local stage, reasons = env.TRACKER_REJECTION_STAGE, env.TRACKER_REJECTION_REASONS
  if not stage and not reasons then return end
  local parts = {}
  if reasons then
    local n = 0
    for x in reasons:gmatch("[^;]+") do if x:match("%S") then n = n + 1 end end
    parts[#parts + 1] = fmt("TRACKER_REJECTION_REASONS: %d reasons", n)
  end
  if stage then
    local want = stage:lower()
    local id = math.tointeger(tonumber(stage))
    for _, st in ipairs(m.stages or {}) do
      if st.name:lower() == want or st.id == id then
        parts[#parts + 1] = fmt("TRACKER_REJECTION_STAGE=%s is stage %d '%s'", stage, st.id, st.name)
        r:add("rejection", "ok", concat(parts, "; "))
        return
      end
    end
    local list = {}
    for i, st in ipairs(m.stages or {}) do list[i] = st.name end
    r:add("rejection", "fail", fmt("TRACKER_REJECTION_STAGE=%s is not a stage of the database%s",
                                   stage, require("tracker").suggest(stage, list)),
          "set TRACKER_REJECTION_STAGE to a stage's name or id (trk doctor --verbose lists them)")
    return
  end
  r:add("rejection", "ok", concat(parts, "; "))
end

-- The first record of a stream, or nil, err.
-- Reads up to n records of a stream: how many it read, the error that ended it (or nil) and
-- the first record.
local function read_some(t, kind, n, filter)
  local _, stream = t[kind](t, filter or {})
  local count, e, first = 0, nil, nil
  while count < n do
    local rec
    rec, e = stream:next()
    if not rec then break end
    first = first or rec
    count = count + 1
  end
  stream:close()
  return count, e, first
end

-- The first record with a last-updated time: candidates and jobs may carry none (tracker-api.md
-- §9.1); activities carry theirs in their details. rec (nil: none), err.
local function first_timed(t, filter)
  for _, k in ipairs({ "candidates", "jobs", "activities" }) do
    local _, e, rec = read_some(t, k, 1, filter)
    if e then return nil, e end
    if rec and rec.updated_at then return rec end
  end
  return nil
end

local function has_zone(iso)
  return type(iso) == "string" and (iso:match("[Zz]$") or iso:match("[+-]%d%d:?%d%d$")) ~= nil
end

-- Tracker's times are naive local times of the database's zone, which the API does not tell:
-- without TRACKER_TIMEZONE trk cannot say when anything happened in UTC.
local function check_time(r, t, tz, ttime)
  local set_zone = fmt("set TRACKER_TIMEZONE to the database's IANA zone (example: "
                       .. "TRACKER_TIMEZONE=%s)", EXAMPLE_ZONE)
  local now = os.time()
  if tz then
    local there = ttime.to_local(now, tz)
    local details = { fmt("now: %s UTC, %s in %s", ttime.format(now), there, tz),
                      "Tracker's API does not say the database's zone: check it in Tracker's settings" }
    -- a record changed later than now, by this zone, means the database's zone is further east
    local rec, e = first_timed(t, { updated_after = now + FUTURE_SLACK, page_size = 1 })
    if rec and rec.updated_at then
      local at = ttime.parse(rec.updated_at)
      r:add("time zone", "warn", fmt("TRACKER_TIMEZONE=%s, but %s %s changed at %s by it, "
                                     .. "%.1f hours from now: the database's zone is probably "
                                     .. "further east", tz, rec.kind, tostring(rec.id), rec.updated_at,
                                     (at - now) / 3600), set_zone, details)
    elseif e then
      r:add("time zone", "warn", fmt("TRACKER_TIMEZONE=%s (it is %s there now); records could not "
                                     .. "be read to compare: %s", tz, there, tostring(e.message)),
            nil, details)
    else
      r:add("time zone", "ok", fmt("TRACKER_TIMEZONE=%s: the database's times are read in it "
                                   .. "(it is %s there now)", tz, there), nil, details)
    end
    return
  end
  local rec, e = first_timed(t, { page_size = 1 })
  local kind = rec and rec.kind
  if e then
    r:add("time zone", "fail", "TRACKER_TIMEZONE is not set, and no record could be read to see "
          .. "the database's times: " .. tostring(e.message), set_zone)
  elseif rec == nil then
    r:add("time zone", "warn", "TRACKER_TIMEZONE is not set; the database has no records that "
          .. "show their times, which in Tracker are local", set_zone)
  elseif has_zone(rec.updated_at) then
    r:add("time zone", "ok", fmt("TRACKER_TIMEZONE is not set, and the database's times carry "
                                 .. "their zone (%s %s: %s)", kind, tostring(rec.id),
                                 tostring(rec.updated_at)))
  else
    r:add("time zone", "fail", fmt("TRACKER_TIMEZONE is not set and the database's times are local "
                                   .. "with no zone (%s %s changed at %s): trk can only read them "
                                   .. "8 hours early and cannot give UTC times", kind,
                                   tostring(rec.id), tostring(rec.updated_at)), set_zone)
  end
end

-- Where the application stages come from, and what reading showed of the server's paging:
-- one page of applications (the search route; the stages they carry) and candidates past one
-- full page (the widget page cap), so both are learnt before a real job needs them.
local STAGE_SOURCES = {
  settings = "getSettingsData", configuration = "TRACKER_STAGES",
  seen = "the applications read (the settings list none)",
}

local function check_reads(r, t, rest_ok)
  local apps, e = 0, nil
  if rest_ok then apps, e = read_some(t, "applications", 10) end   -- applications are REST's
  local m = t:metadata()
  if e then
    r:add("stages", "fail", "applications could not be read: " .. tostring(e.message),
          "run trk doctor --verbose to see the requests")
    return
  end
  local src = m.stage_source or "settings"
  local found = fmt("%d stages from %s", #m.stages, STAGE_SOURCES[src])
  local details = { "stages: " .. names(m.stages) }
  if src == "seen" then
    r:add("stages", "warn", fmt("%s: %d stages in the first %d applications; a move to a stage no "
                                .. "application has shown yet fails", found, #m.stages, apps),
          "name every stage in TRACKER_STAGES (e.g. TRACKER_STAGES='Applied=1;Interview=5'): "
          .. "Tracker's settings or Tracker support give the ids", details)
  elseif #m.stages == 0 then
    r:add("stages", "warn", found .. ": none, so no move can be checked",
          "check the database's stage settings in Tracker", details)
  else
    r:add("stages", "ok", found, nil, details)
  end
  local cands, e2 = read_some(t, "candidates", 501)
  local stats = t:stats()
  local caps = stats.page_caps or {}
  local paging = fmt("application search: %s; widget page cap: %s (%d candidates read); "
                     .. "REST page cap: %s", stats.search_route or "not learnt",
                     caps.widget and tostring(caps.widget) or "none seen", cands,
                     caps.rest and tostring(caps.rest) or "none seen")
  if e2 then
    r:add("paging", "warn", paging .. "; reading candidates failed: " .. tostring(e2.message))
  elseif stats.unordered_streams then
    r:add("paging", "warn", paging .. "; pages came back not in id order as asked: an update "
          .. "while a stream runs may move a record to a page already read",
          "report it: trk pages by id (docs/tracker-api.md §9)")
  else
    r:add("paging", "ok", paging)
  end
end

-- ---- the command ----------------------------------------------------------------------------

function M.run(host, opts)
  if opts.probe then return require("trk.probe").run(host, opts) end
  local r = new_report(host, opts)
  r:heading("configuration")
  local env, refused = check_profile(r, host, opts)
  if refused then return r:finish() end
  if not env then
    env = {}
    for _, name in ipairs(M.VARIABLES) do env[name] = getenv(name) end
  end
  for name in pairs(SECRET) do
    local v = env[name]
    if v and #v >= SECRET_MIN then r.secrets[#r.secrets + 1] = v end
  end
  table.sort(r.secrets, function(a, b) return #a > #b end)    -- the longest first
  local log = {}
  report.log_requests(host, function(rec) log[#log + 1] = rec end)
  if r.out.verbose then report.request_log(host, r.out.err) end
  local ttime = require("tracker").time

  if not r.profile then check_variables(r, env) end
  local cfg = { env = env, settings = r.profile and r.profile.settings }
  cfg.widget_url = check_url(r, env, "widget", "TRACKER_WIDGET_URL")
  cfg.rest_url = check_url(r, env, "REST", "TRACKER_REST_URL")
  local widget_creds = check_widget_credentials(r, env)
  local rest_token = check_rest_token(r, env)
  cfg.timezone = check_timezone(r, env, ttime)
  cfg.rate = check_rate(r, env)
  if cfg.rate == nil then cfg.rate = TRACKER_RATE end       -- a bad budget: check at the default
  check_outage(r, env)

  local t, stop, why, rest_ok
  r:heading("widget API")
  if cfg.widget_url and widget_creds then
    t, stop, why = check_widget(r, host, cfg, log)
  else
    r:add("widget reach", "fail", "not tried: the widget URL or credentials are missing",
          "fix the configuration above")
  end
  r:heading("REST API")
  if stop == nil then
    if cfg.rest_url and rest_token then
      local ok2, s2, w2 = check_rest(r, host, cfg, log)
      rest_ok, stop, why = ok2, s2, w2
    else
      r:add("REST reach", "fail", "not tried: the REST URL or token is missing",
            "fix the configuration above")
    end
  end
  if t and stop == nil then
    r:heading("database")
    local ok, m_or_err, w3 = host.call(function()
      local m = check_metadata(r, t)
      if m then
        check_reads(r, t, rest_ok)
        check_rejection(r, env, t:metadata())   -- with the stages the reads showed
      end
      if cfg.timezone ~= nil then check_time(r, t, cfg.timezone, ttime) end
    end)
    if not ok then stop, why = m_or_err, w3 end
  end
  if t then t:close() end
  if stop ~= nil then
    if why == "interrupt" or host.interrupted() then
      io.stderr:write("trk doctor: interrupted\n")
      return 130
    end
    r:add("internal", "fail", tostring(stop), "report this as a bug of trk doctor")
  end
  return r:finish()
end

return M
