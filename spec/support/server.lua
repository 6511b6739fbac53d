-- Starts and stops `trk emulator` processes for specs that go over HTTP.
local trk = require "support.trk"
local secrets = require "support.secrets"

local M = {}
local q = trk.quote
M.secrets = secrets

-- Under the sanitizer build, busted runs with the ASan runtime preloaded; tools that are not
-- instrumented (curl, env, kill) can hang in it, so every shell here drops it (trk is
-- instrumented itself and checks its own leaks).
M.PLAIN = "unset LD_PRELOAD; "
local SANITIZE_ENV = "ASAN_OPTIONS=detect_leaks=1:exitcode=86 "
                     .. "UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1 "

local running = {}

-- The suite's credentials (spec/support/secrets.lua) as `trk emulator` options.
local CREDENTIALS = { "--apikey", secrets.apikey, "--username", secrets.username,
                      "--api-token", secrets.api_token }

-- Starts `trk emulator --port 0 ARGS...` with the suite's credentials (unless ARGS name
-- credentials of their own); returns { url, port, pid, first, errfile }.
function M.start(args)
  local errfile = os.tmpname()
  local argv = { q(trk.bin), "emulator", "--port", "0" }
  local own = false
  for _, a in ipairs(args or {}) do
    argv[#argv + 1] = q(a)
    if a == "--apikey" or a == "--username" or a == "--api-token" then own = true end
  end
  if not own then
    for _, a in ipairs(CREDENTIALS) do argv[#argv + 1] = q(a) end
  end
  local env = os.getenv("TRK_SANITIZE") and SANITIZE_ENV or ""
  local pipe = io.popen(M.PLAIN .. "echo $$; exec env " .. env .. table.concat(argv, " ")
                        .. " 2>" .. q(errfile) .. " </dev/null", "r")
  local s = { pid = tonumber(pipe:read("l")), pipe = pipe, errfile = errfile }
  running[#running + 1] = s
  s.first = pipe:read("l")
  if s.first == nil then error("trk emulator did not start:\n" .. trk.slurp(errfile), 2) end
  s.url = assert(s.first:match("^listening on (http://[^%s]+)$"), s.first)
  s.port = tonumber(s.url:match(":(%d+)$"))
  return s
end

-- Stops emulator s; raises if what it printed (its banner, its --verbose log, its errors)
-- holds one of the suite's secrets.
function M.stop(s)
  if not s.pipe then return end
  os.execute(M.PLAIN .. "kill -KILL " .. s.pid .. " 2>/dev/null")
  local out = (s.first or "") .. "\n" .. (s.pipe:read("a") or "")
  s.pipe:close()
  s.pipe = nil
  local err = trk.slurp(s.errfile)
  os.remove(s.errfile)
  local leak = secrets.find(out) or secrets.find(err)
  if leak then error("trk emulator printed " .. leak .. ":\n" .. out .. err, 2) end
  if err:find("ERROR: AddressSanitizer", 1, true) or err:find("runtime error:", 1, true) then
    error("sanitizer report from trk emulator:\n" .. err, 2)
  end
end

function M.stop_all()
  local list, first = running, nil
  running = {}
  for _, s in ipairs(list) do
    local ok, e = pcall(M.stop, s)
    first = first or (not ok and e) or nil
  end
  if first then error(first, 0) end
end

-- TRACKER_STAGES naming the stages every emulator database starts with: how a user of a
-- database whose settings list no stages (the evidence dialect) names them.
function M.stages_env()
  local parts = {}
  for i, e in ipairs(require("tracker.emulator").new({}):stages()) do parts[i] = e.name .. "=" .. e.id end
  return table.concat(parts, ";")
end

-- The environment that points trk at emulator s with the suite's credentials, UTC, no rate
-- budget (or `rate`, a TRACKER_RATE_LIMIT value) and the stages named (stages_env).
function M.client_env(s, rate)
  return { TRACKER_WIDGET_URL = s.url, TRACKER_REST_URL = s.url, TRACKER_APIKEY = secrets.apikey,
           TRACKER_USERNAME = secrets.username, TRACKER_API_TOKEN = secrets.api_token,
           TRACKER_TIMEZONE = "UTC", TRACKER_RATE_LIMIT = rate or "false",
           TRACKER_STAGES = M.stages_env() }
end

-- env as "K=V ..." words for a shell line.
function M.shell_env(env)
  local parts = {}
  for k, v in pairs(env) do parts[#parts + 1] = q(k .. "=" .. v) end
  return table.concat(parts, " ")
end

-- The emulator's whole database, as GET /_emulator/state answers it (started with --admin).
function M.state(s)
  local p = io.popen(M.PLAIN .. "curl -sf " .. q(s.url .. "/_emulator/state"))
  local body = p:read("a")
  p:close()
  return require("json").decode(body)
end

-- Seconds on a monotonic clock (plain lua5.4 has none: /proc/uptime has hundredths).
function M.now()
  local f = assert(io.open("/proc/uptime"))
  local up = f:read("n")
  f:close()
  return up
end

return M
