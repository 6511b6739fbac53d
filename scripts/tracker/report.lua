-- tracker.report: what trk's drivers show people: the progress line, the plan table, the
-- summaries, and the journal. Host-side, with trk's drivers (tracker.runtime).

local M = {}

local fmt, concat, rep = string.format, table.concat, string.rep

M.PLAN_ROWS = 200          -- rows of the plan table (all of them go to --plan FILE)
local PROGRESS_EVERY = 0.1 -- seconds between two redraws of the progress line
local CHANGE_WIDTH = 60
local ERRORS_SHOWN = 5     -- errors listed per rule in the plain summary

function M.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local MESSAGE_MAX = 8192   -- bytes of a script's error message that are shown

-- An error message, cut to a readable size (a message is output too).
function M.bounded(msg)
  msg = tostring(msg)
  if #msg <= MESSAGE_MAX then return msg end
  return fmt("%s\n... (%d more bytes of error message)", msg:sub(1, MESSAGE_MAX), #msg - MESSAGE_MAX)
end

-- The absolute form of a path, for a run's identity.
function M.absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local p = io.popen("pwd")
  local cwd = p and p:read("l") or "."
  if p then p:close() end
  return cwd .. "/" .. path:gsub("^%./", "")
end

-- "90s", "5m", "250ms", "1h" or plain seconds.
function M.seconds(s)
  local n, unit = tostring(s):match("^([%d.]+)(%a*)$")
  n = tonumber(n)
  local mult = ({ [""] = 1, s = 1, ms = 0.001, m = 60, min = 60, h = 3600 })[unit]
  return n and mult and n * mult or nil
end

local function thousands(n)
  local s = tostring(math.tointeger(n) or n)
  repeat
    local k
    s, k = s:gsub("^(-?%d+)(%d%d%d)", "%1,%2")
  until k == 0
  return s
end
M.thousands = thousands

local function clock(secs)
  secs = math.floor(secs + 0.5)
  if secs >= 3600 then return fmt("%d:%02d:%02d", secs // 3600, secs % 3600 // 60, secs % 60) end
  return fmt("%d:%02d", secs // 60, secs % 60)
end

-- ---- the progress line ------------------------------------------------------------------------

-- On a terminal, one line on stderr redrawn in place: records streamed, their rate, actions,
-- errors, time. Elsewhere (a pipe, a log file, --json) nothing: the summary says it all.
function M.progress(host, wanted)
  local p = { host = host, on = wanted and host.isatty(2), records = 0, kind = nil, last = 0,
              started = host.clock(), shown = false, session = nil }
  function p:record(kind)
    self.records = self.records + 1
    self.kind = kind
    self:draw()
  end
  function p:update(session)
    self.session = session
    self:draw()
  end
  function p:draw()
    if not self.on then return end
    local now = self.host.clock()
    if now - self.last < PROGRESS_EVERY then return end
    self.last = now
    local s, el = self.session, now - self.started
    local parts = {}
    if self.records > 0 then
      parts[#parts + 1] = fmt("%s %s streamed", thousands(self.records), self.kind or "records")
      parts[#parts + 1] = fmt("%s/s", thousands(math.floor(self.records / math.max(el, 0.001))))
    end
    if s then
      local c = s.counts
      parts[#parts + 1] = fmt("%s actions %s", thousands(s.nplanned), s.apply and "applied" or "planned")
      local bad = (c.failed or 0) + (c.unknown or 0)
      if bad > 0 then parts[#parts + 1] = fmt("%d failed", bad) end
    end
    parts[#parts + 1] = clock(el)
    io.stderr:write("\r\27[K", concat(parts, " · "))
    self.shown = true
  end
  function p:clear()
    if self.shown then io.stderr:write("\r\27[K") end
    self.shown = false
  end
  return p
end

-- ---- actions ------------------------------------------------------------------------------------

local function short(s, n)
  s = tostring(s):gsub("%s+", " ")
  if #s > n then return s:sub(1, n - 1) .. "…" end
  return s
end

local function value(v)
  if type(v) == "string" then return v == "" and '""' or v end
  if type(v) == "table" then return "{...}" end
  return tostring(v)
end

local function fields(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. " = " .. value(t[k]) end
  return concat(out, ", ")
end

-- What an action changes, in a few words.
local CHANGES = {
  move_to_stage = function(p) return "stage → " .. tostring(p.stage) .. (p.from and " (from " .. p.from .. ")" or "") end,
  add_note = function(p) return (p.subject and p.subject .. ": " or "") .. '"' .. tostring(p.text) .. '"' end,
  set_custom_fields = function(p) return fields(p.fields) end,
  update_candidate = function(p) return fields(p.fields) .. (p.custom and ", " .. fields(p.custom) or "") end,
  add_tag = function(p) return "+" .. tostring(p.tag) end,
  remove_tag = function(p) return "-" .. tostring(p.tag) end,
  attach = function(p) return tostring(p.filename) .. (p.size and fmt(" (%d bytes)", p.size) or "") end,
  create_candidate = function(p) return fields({ email = p.email, name = p.name, first_name = p.first_name, last_name = p.last_name }) end,
  create_application = function(p) return fmt("candidate %s → job %s", tostring(p.candidate), tostring(p.job)) end,
  request = function(p) return fmt("%s %s %s", tostring(p.api), tostring(p.method), tostring(p.path)) end,
}
CHANGES.update_job = CHANGES.update_candidate

function M.change(op, payload)
  local f = CHANGES[op]
  local ok, s = pcall(f or fields, payload or {})
  return ok and s or "?"
end

function M.target(t)
  if type(t) ~= "table" then return "" end
  local id = t.id and (t.id >= 900000000000000 and "(planned)" or tostring(t.id)) or ""
  return concat({ t.kind or "", id, t.name or "" }, " "):gsub("%s+$", "")
end

-- One action as a JSON line for --plan.
function M.plan_line(e, json)
  return json.encode({ n = e.n, op = e.op, target = e.target, payload = e.payload, key = e.key,
                       rule = e.rule, status = e.status, error = e.error })
end

local function table_text(head, rows)
  local width = {}
  for i, h in ipairs(head) do width[i] = utf8.len(h) end
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do width[i] = math.max(width[i], utf8.len(c) or #c) end
  end
  local out = {}
  local function line(r)
    local cells = {}
    for i, c in ipairs(r) do
      cells[i] = i == #r and c or c .. rep(" ", width[i] - (utf8.len(c) or #c))
    end
    out[#out + 1] = "  " .. concat(cells, "  ")
  end
  line(head)
  for _, r in ipairs(rows) do line(r) end
  return concat(out, "\n") .. "\n"
end
M.table_text = table_text

-- The dry run's plan: every action, what it targets and what it changes.
function M.plan_table(s)
  local rows = {}
  for _, e in ipairs(s.planned) do
    rows[#rows + 1] = { tostring(e.n), e.op, short(M.target(e.target), 44),
                        short(M.change(e.op, e.payload), CHANGE_WIDTH) }
  end
  local text = "\n" .. table_text({ "#", "operation", "target", "change" }, rows)
  if s.nplanned > #rows then
    text = text .. fmt("  ... and %s more (write them all with --plan FILE)\n",
                       thousands(s.nplanned - #rows))
  end
  return text .. "\n"
end

local function ops(by_op)
  local keys = {}
  for k in pairs(by_op) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = fmt("%s %s", thousands(by_op[k]), k) end
  return concat(out, ", ")
end

-- The plain summary, on stderr.
function M.summary_text(s, sum)
  local out = {}
  if s.rule_stats then
    local rows = {}
    for _, r in ipairs(s.rule_stats) do
      rows[#rows + 1] = { r.name, thousands(r.seen), thousands(r.matched), thousands(r.actions),
                          thousands(r.errors + r.failed),
                          r.new and "new: from " .. os.date("!%Y-%m-%dT%H:%M:%SZ", r.since // 1)
                            or "since " .. os.date("!%Y-%m-%dT%H:%M:%SZ", r.since // 1) }
    end
    out[#out + 1] = table_text({ "rule", "seen", "matched", sum.mode == "apply" and "applied" or "planned",
                                 "errors", "changes" }, rows)
    local shown, hidden = {}, {}
    for _, e in ipairs(s.errors or {}) do
      local key = e.rule or ""
      shown[key] = (shown[key] or 0) + 1
      if shown[key] <= ERRORS_SHOWN then
        local msg = tostring(e.message)
        if e.where and e.where ~= "" and msg:sub(1, #e.where) ~= e.where then
          msg = e.where .. ": " .. msg
        end
        out[#out + 1] = fmt("error: %s%s: %s\n", e.rule and "rule " .. e.rule or "stream",
                            e.record and fmt(", %s %s", e.kind and e.kind:gsub("s$", "") or "record",
                                             tostring(e.record)) or "",
                            msg:match("^[^\n]*"))
      else
        hidden[key] = (hidden[key] or 0) + 1
      end
    end
    local keys = {}
    for key in pairs(hidden) do keys[#keys + 1] = key end
    table.sort(keys)
    for _, key in ipairs(keys) do
      local n = hidden[key]
      out[#out + 1] = fmt("error: rule %s: %s more errors like these (trk rules --json lists them all)\n", key, thousands(n))
    end
  end
  for _, e in ipairs(s.failed) do
    out[#out + 1] = fmt("%s: %s %s: %s\n", e.status == "unknown" and "unknown outcome" or "failed",
                        e.op, M.target(e.target), tostring(e.error))
  end
  local elapsed = fmt("%.1f s", sum.elapsed)
  if sum.mode == "plan" then
    if sum.actions > 0 then
      out[#out + 1] = fmt("trk: %s writes planned (%s); nothing was sent. Run with --apply to "
                          .. "send them. (%s)\n", thousands(sum.actions), ops(sum.by_op), elapsed)
    end
  else
    local parts = { fmt("%s applied", thousands(sum.applied)) }
    if sum.skipped > 0 then parts[#parts + 1] = fmt("%s already done", thousands(sum.skipped)) end
    if sum.failed > 0 then parts[#parts + 1] = fmt("%s failed", thousands(sum.failed)) end
    if sum.unknown > 0 then
      parts[#parts + 1] = fmt("%s outcome unknown (run again to settle)", thousands(sum.unknown))
    end
    out[#out + 1] = fmt("trk: %s writes: %s; journal: %s, run %d%s (%s)\n",
                        thousands(sum.actions), concat(parts, ", "), tostring(sum.state), sum.run,
                        sum.resumed and " (resumed)" or "", elapsed)
  end
  if sum.status == "interrupted" then
    out[#out + 1] = fmt("trk: interrupted%s after %s writes. Run the same command again to "
                        .. "resume%s.\n", sum.where and " at " .. sum.where or "",
                        thousands(sum.actions),
                        sum.mode == "apply" and ": what was applied will not be sent again" or "")
  end
  return concat(out)
end

-- ---- trk journal ---------------------------------------------------------------------------------

function M.journal(j, opts, json)
  local out = {}
  if opts.json then
    local rows = opts.run and j:actions(math.tointeger(tonumber(opts.run)), opts.failed)
                 or (opts.failed and j:failures()) or j:runs()
    for _, r in ipairs(rows) do out[#out + 1] = json.encode(r) .. "\n" end
    return concat(out)
  end
  if opts.run or opts.failed then
    local rows = {}
    local list = opts.run and j:actions(math.tointeger(tonumber(opts.run)), opts.failed) or j:failures()
    for _, a in ipairs(list) do
      local ok, payload = pcall(json.decode, a.payload or "null")
      rows[#rows + 1] = { tostring(a.run or opts.run), tostring(a.seq), a.op,
                          short(M.target({ kind = a.kind, id = a.target_id, name = a.target_name }), 40),
                          short(ok and M.change(a.op, payload) or "", 40), a.status,
                          short(a.error and ((a.code and a.code .. ": " or "") .. a.error) or "", 60) }
    end
    if #rows == 0 then return opts.failed and "no failed actions\n" or "no actions in that run\n" end
    return table_text({ "run", "#", "operation", "target", "change", "status", "error" }, rows)
  end
  local rows = {}
  for _, r in ipairs(j:runs()) do
    rows[#rows + 1] = { tostring(r.id), r.started, r.status, tostring(r.attempts),
                        thousands(r.actions), thousands(r.done), thousands(r.failed),
                        thousands(r.unsettled), r.command }
  end
  if #rows == 0 then out[#out + 1] = "no runs yet\n"
  else
    out[#out + 1] = table_text({ "run", "started", "status", "attempts", "actions", "done",
                                 "failed", "unsettled", "command" }, rows)
  end
  local cps = {}
  for _, c in ipairs(j:checkpoints()) do cps[#cps + 1] = { c.rule, c.kind, c.since, c.updated } end
  if #cps > 0 then
    out[#out + 1] = "\ncheckpoints:\n" .. table_text({ "rule", "on", "since", "updated" }, cps)
  end
  return concat(out)
end

return M
