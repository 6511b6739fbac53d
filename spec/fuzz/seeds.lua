-- Writes the seed corpus of the fuzz targets from real answers of the emulator: runs each
-- operation of drivers/client.lua, and a few writes, through a client connected to
-- tracker.emulator, and keeps what went over the wire: the answers (corpus/client/) and the
-- requests (corpus/emulator/).
-- Run from the project root with a normal build's tracker.so:
--
--   LUA_PATH='scripts/?.lua;;' LUA_CPATH='build/?.so;;' lua5.4 spec/fuzz/seeds.lua spec/fuzz/corpus
--
-- The CSV seeds (corpus/csv/) are copies of files from examples/ and spec/, made by hand.

local tracker = require "tracker"
local emulator = require "tracker.emulator"

local out = assert(arg[1], "usage: seeds.lua CORPUS_DIR")
local _, OPS, K = dofile("spec/fuzz/drivers/client.lua")
local CREDS = { apikey = "fuzz-key", username = "fuzz@example.com", api_token = "fuzz-token" }
local MAX_REQUESTS = 8                       -- fuzz_emulator's limit an input

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- An emulator (faults optional) behind a proxy that records every exchange.
local function recorder(faults, tz)
  local emu = emulator.new{ apikey = CREDS.apikey, username = CREDS.username,
                            api_token = CREDS.api_token, timezone = tz, faults = faults,
                            clock = function() return K.NOW end,
                            data = emulator.generate{ seed = 1, candidates = 12, timezone = tz } }
  local log = {}
  local proxy = { apikey = CREDS.apikey, username = CREDS.username, api_token = CREDS.api_token,
                  timezone = tz }
  function proxy.handle(_, method, path, headers, body)
    local status, h, b = emu:handle(method, path, headers, body)
    log[#log + 1] = { method = method, path = path, headers = headers, body = body,
                      status = status, answer_headers = h or {}, answer = b or "" }
    return status, h, b
  end
  function proxy.now() return emu:now() end
  return proxy, log
end

-- The client target's input: the operation, then each answer.
local function client_seed(name, tz, log)
  local parts = {}
  for i, x in ipairs(log) do
    local head = ""
    if x.status ~= 200 then
      local ra = x.answer_headers["retry-after"]
      head = "!" .. x.status .. (ra and (" retry-after=" .. ra) or "") .. "\n"
    end
    parts[i] = head .. x.answer
  end
  return name .. (tz and (" tz=" .. tz) or "") .. "\n" .. table.concat(parts, K.SEP)
end

-- The emulator target's input: the requests as on the wire, the JWT as $JWT.
local function emulator_seed(log)
  local reqs = {}
  for i = 1, math.min(#log, MAX_REQUESTS) do
    local x = log[i]
    local lines = { x.method .. " " .. x.path }
    local names = {}
    for k in pairs(x.headers) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = x.headers[k]
      if k:lower() == "authorization" then v = "Bearer $JWT" end
      lines[#lines + 1] = k .. ": " .. v
    end
    reqs[i] = table.concat(lines, "\n") .. "\n\n" .. (x.body or "")
  end
  return table.concat(reqs, K.SEP)
end

local function run(name, opts)
  opts = opts or {}
  local proxy, log = recorder(opts.faults, opts.tz)
  local clock = K.NOW + 0.0
  local t = tracker.connect{ transport = proxy, rate_limit = false, retry_for = 20,
                             page_size = K.PAGE, clock = function() return clock end,
                             sleep = function(s) clock = clock + s end }
  local op = OPS[name]
  local res = table.pack(pcall(op[1], t))
  if res[1] then pcall(op[2], table.unpack(res, 2, res.n)) end
  t:close()
  local file = name .. (opts.suffix or "")
  write(out .. "/client/" .. file, client_seed(name, opts.tz, log))
  if not opts.faults then write(out .. "/emulator/" .. file, emulator_seed(log)) end
  return #log
end

-- Writes, for the emulator's seeds: what the client sends for each.
local WRITES = {
  add_note = function(t) return t:add_note(t:candidate(188004), "Called, left a message") end,
  set_custom_fields = function(t)
    local fields = t:custom_fields("candidate")
    return t:set_custom_fields(t:candidate(188004), { [fields[1].name] = fields[1].type == "Number" and 7 or "Yes" })
  end,
  move_to_stage = function(t) return t:move_to_stage(t:application(70001), "Interview") end,
  create_application = function(t) return t:create_application{ candidate = 188004, job = 1001 } end,
  attach = function(t)
    return t:attach(t:candidate(188004), { filename = "cv.txt", data = "Jos Schmidt\nEngineer\n" })
  end,
  update_candidate = function(t) return t:update_candidate(188004, { town = "Austin", first_name = "Jo" }) end,
  add_tag = function(t) return t:add_tag(t:candidate(188004), "python") end,
}

local function run_write(name)
  local proxy, log = recorder()
  local t = tracker.connect{ transport = proxy, rate_limit = false }
  local ok, e = pcall(WRITES[name], t)
  t:close()
  write(out .. "/emulator/write_" .. name, emulator_seed(log))
  return #log, ok and "ok" or tostring(e)
end

os.execute("mkdir -p '" .. out .. "/client' '" .. out .. "/emulator'")
local names = {}
for name in pairs(OPS) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do print(name, run(name)) end
-- a time zone, and Tracker failing: 5xx pages, 429 with Retry-After, broken JSON
print("candidates tz", run("candidates", { tz = "America/Chicago", suffix = "_tz" }))
print("applications tz", run("applications", { tz = "Asia/Kolkata", suffix = "_tz" }))
print("jobs 5xx", run("jobs", { faults = { errors = 0.5, seed = 3 }, suffix = "_5xx" }))
print("application 5xx", run("application", { faults = { errors = 0.5, seed = 4 }, suffix = "_5xx" }))
print("candidates 429", run("candidates", { faults = { rate_limit = 2 }, suffix = "_429" }))
print("resume malformed", run("resume", { faults = { malformed = 0.5, seed = 2 }, suffix = "_malformed" }))
names = {}
for name in pairs(WRITES) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do print("write " .. name, run_write(name)) end
