-- trk.record: `--record DIR`, a cassette of every HTTP exchange the command's clients make
-- over curl (tracker.emulator.cassette has the format). Credentials are always replaced by
-- placeholders (tracker.redact_exchange); personal data by stable fakes unless
-- --no-redact-personal. An emulator in the same process (tracker.connect{ transport = ... })
-- is not recorded: nothing goes over HTTP.
--
-- Host-side: the recorder watches the curl transport's methods (report.observe_requests),
-- which no script reaches, and writes through a file handle only this module holds: a script
-- can neither turn recording off nor change what it writes, nor write to DIR through it.

-- The cassette format (and the tracker module it needs) loads only when a run records.
local function cassette() return require "tracker.emulator.cassette" end
local report = require "trk.report"

local M = {}

local fmt = string.format

local recorder        -- the recording of this process, once started: { dir, file, ... }

-- Headers a cassette leaves out: the transport's own (a replay answers with its own lengths;
-- curl has decoded the body already) and the date.
local DROPPED = { ["content-length"] = true, ["transfer-encoding"] = true, connection = true,
                  ["keep-alive"] = true, ["content-encoding"] = true, date = true }

local function headers_of(h)
  local out = {}
  for k, v in pairs(type(h) == "table" and h or {}) do
    local name = tostring(k):lower()
    if not DROPPED[name] then out[name] = v end
  end
  return out
end

-- A request's or an answer's part as the cassette keeps it: { headers, body | text }, the
-- credentials out (the secrets they hold added to rec.known) and personal data faked.
local function clean(rec, target, headers, text)
  local doc, raw = cassette().decode_body(text)
  local parts = require("tracker").redact_exchange({ target = target, headers = headers_of(headers),
                                                      body = doc or raw }, rec.known)
  if rec.faker then
    parts.target = parts.target and rec.faker:replace(parts.target)
    parts.headers = rec.faker:replace(parts.headers)
    parts.body = rec.faker:redact(parts.body)
  end
  local out = { headers = parts.headers }
  if type(parts.body) == "table" then out.body = parts.body
  elseif parts.body ~= nil and parts.body ~= "" then out.text = parts.body end
  return out, parts.target
end

-- An exchange's line, its fields in a fixed order for a reader.
local ORDER = { "seq", "method", "target", "status", "error", "ms", "request", "headers", "body",
                "text" }

local function line(json, ex)
  local parts = {}
  for _, k in ipairs(ORDER) do
    if ex[k] ~= nil then parts[#parts + 1] = json.encode(k) .. ":" .. json.encode(ex[k]) end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function write(rec, req, status, h, body, seconds)
  rec.seq = rec.seq + 1
  local target = tostring(req.url or ""):match("^%a[%w+.-]*://[^/]*(/.*)$") or "/"
  local request, clean_target = clean(rec, target, req.headers, req.body)
  local ex = { seq = rec.seq, method = tostring(req.method or "GET"):upper(),
               target = clean_target, request = request, ms = math.floor(seconds * 1e4) / 10 }
  if status then
    local answer = clean(rec, nil, h, body)
    ex.status, ex.headers, ex.body, ex.text = math.tointeger(status), answer.headers, answer.body,
                                               answer.text
  else
    ex.error = type(h) == "table" and tostring(h.code) or "error"
  end
  rec.file:write(line(rec.json, ex), "\n")
  rec.file:flush()                        -- a run stopped midway leaves what it recorded
end

-- Starts recording into opts.record (a directory, made when missing), once a process: true,
-- or nil and a message naming the option. opts.no_redact_personal keeps personal data.
function M.start(host, opts)
  if opts.redact_personal and opts.no_redact_personal then
    return nil, "--redact-personal and --no-redact-personal cannot be used together"
  end
  if not opts.record then
    if opts.no_redact_personal or opts.redact_personal then
      return nil, fmt("--%sredact-personal goes with --record DIR",
                      opts.no_redact_personal and "no-" or "")
    end
    return true
  end
  local dir = opts.record
  if recorder then
    if recorder.dir ~= dir then return nil, "--record: one recording a process" end
    return true
  end
  os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  local path = dir:gsub("/+$", "") .. "/" .. cassette().FILE
  local f, e = io.open(path, "w")
  if not f then return nil, fmt("--record: cannot write %s (give a directory trk may write)", e) end
  local json = require("tracker").json
  local keep = opts.no_redact_personal == true
  local settings = {}
  for _, setting in ipairs(cassette().SETTINGS) do settings[setting[1]] = os.getenv(setting[1]) end
  f:write(json.encode({ cassette = cassette().VERSION, personal = keep and "kept" or "redacted",
                        recorded = os.date("!%Y-%m-%dT%H:%M:%SZ"), settings = settings }), "\n")
  f:flush()
  -- the fakes' key: random, in memory only, so that a fake tells nothing of its value
  local key = fmt("%s %.9f %s %d", os.time(), host.clock(), tostring({}), math.random(1 << 30))
  recorder = { dir = dir, path = path, file = f, json = json, seq = 0, known = {},
               faker = not keep and cassette().faker(key) or nil }
  local rec = recorder
  report.observe_requests(host, function(req, status, h, body, seconds)
    local ok, why = pcall(write, rec, req, status, h, body, seconds)
    if not ok and not rec.failed then        -- said once; the run itself goes on
      rec.failed = true
      io.stderr:write("trk: --record: an exchange could not be recorded: ", tostring(why), "\n")
    end
  end)
  return true
end

return M
