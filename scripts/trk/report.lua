-- trk.report: what trk's drivers show people: the output level and colour, the request
-- log, the progress line, the plan table, the summaries, and the journal. Host-side, with
-- trk's drivers (trk.commands, trk.doctor).

-- The host's own instance of the catalog (no script can reach it), loaded when first asked
-- for: a run that makes no write does not load the client for it.
local function actions() return require("tracker").actions end

local M = {}

local fmt, concat, rep = string.format, table.concat, string.rep

M.PLAN_ROWS = 200          -- rows of the plan table (all of them go to --plan FILE)
local PROGRESS_EVERY = 0.1 -- seconds between two redraws of the progress line
local CHANGE_WIDTH = 60
local ERRORS_SHOWN = 5     -- errors listed per rule in the plain summary

function M.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Text from Tracker or a script as it may reach a terminal: control characters (C0, DEL and
-- the C1 range, which can move the cursor or rewrite the screen) shown as \xNN, NUL included,
-- so that nothing is hidden or cut. With `lines`, newlines and tabs are kept.
local function printable(s, lines)
  s = tostring(s)
  local controls = lines and "[\0-\8\11-\31\127]" or "[\0-\31\127]"
  s = s:gsub(controls, function(c) return fmt("\\x%02x", c:byte()) end)
  return (s:gsub("\194([\128-\159])", function(c) return fmt("\\u00%02x", c:byte()) end))
end
M.printable = printable

-- An error message as trk shows it: placed at the script's line `where` (when given) rather
-- than a line of trk's own code, with what to use instead of a name the sandbox removes
-- (tracker.sandbox.explain), cut to a readable size by the host (host.bounded, which also cuts
-- the runtime's own reports), shown printable.
function M.bounded(host, msg, where)
  return printable(host.bounded(require("tracker.sandbox").explain(msg, where)), true)
end

-- The absolute form of a path, for a run's identity.
function M.absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local p = io.popen("pwd")
  local cwd = p and p:read("l") or "."
  if p then p:close() end
  return cwd .. "/" .. path:gsub("^%./", "")
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

-- A span of seconds as people say it: "45 s", "1 min 12 s", "2 h 5 min".
function M.duration(secs)
  secs = math.floor(secs + 0.5)
  if secs < 60 then return fmt("%d s", secs) end
  if secs < 3600 then
    return secs % 60 == 0 and fmt("%d min", secs // 60) or fmt("%d min %d s", secs // 60, secs % 60)
  end
  return fmt("%d h %d min", secs // 3600, secs % 3600 // 60)
end

-- ---- output: how much, and in colour or not --------------------------------------------------

-- Select Graphic Rendition codes of the few styles trk uses.
local SGR = { bold = "1", red = "31", green = "32", yellow = "33" }

-- A painter: paint.red(s) and so on answer s in that style, or s itself when `on` is false.
function M.paint(on)
  local p = { on = on and true or false }
  for name, code in pairs(SGR) do
    if on then
      p[name] = function(s) return "\27[" .. code .. "m" .. tostring(s) .. "\27[0m" end
    else
      p[name] = function(s) return tostring(s) end
    end
  end
  return p
end

-- What the command line asked for (opts.output: "quiet", "verbose" or nil) and what the
-- terminal allows: colour on a stream only when it is a terminal and NO_COLOR is unset or
-- empty (https://no-color.org) and TERM is not "dumb"; cursor control (the progress line) only
-- when stderr is a terminal that is not dumb.
function M.output(host, opts)
  local no_color = os.getenv("NO_COLOR")
  local dumb = os.getenv("TERM") == "dumb"
  local colour = (no_color == nil or no_color == "") and not dumb
  local level = opts and opts.output or "normal"
  return {
    level = level, quiet = level == "quiet", verbose = level == "verbose",
    out = M.paint(colour and host.isatty(1)),          -- for stdout
    err = M.paint(colour and host.isatty(2)),          -- for stderr
    cursor = host.isatty(2) and not dumb,
  }
end

-- ---- the request log ------------------------------------------------------------------------

local observers              -- what sees every exchange, once the observer is installed

-- A URL as the log shows it: without user info, query or fragment, which may hold secrets.
function M.safe_url(url)
  url = tostring(url):gsub("^(%a[%w+.-]*://)[^/@]*@", "%1")
  return (url:gsub("[?#].*$", ""))
end

-- Calls f(req, status, headers, body, seconds) after every HTTP exchange any client in this
-- state makes over curl (the tracker module's transport handles share one method table, which
-- no script reaches): the request as sent (credentials included: host code only), then the
-- answer, or nil and the transport's error. The one place trk sees its exchanges whole.
function M.observe_requests(host, f)
  if observers then
    observers[#observers + 1] = f
    return
  end
  observers = { f }
  require("tracker")                       -- registers the transport's metatable
  local mt = debug.getregistry()["tracker.transport"]
  local methods = mt and mt.__index
  if type(methods) ~= "table" then return end
  local send, wait = methods.send, methods.wait
  local started = setmetatable({}, { __mode = "k" })
  local function emit(tr, status, h, body)
    local r = started[tr]
    if not r then return end
    started[tr] = nil
    local seconds = host.clock() - r.at
    for _, g in ipairs(observers) do g(r.req, status, h, body, seconds) end
  end
  methods.send = function(tr, req)
    if type(req) == "table" then started[tr] = { req = req, at = host.clock() } end
    return send(tr, req)
  end
  methods.wait = function(tr)
    local status, headers, body = wait(tr)
    emit(tr, status, headers, body)
    return status, headers, body
  end
  methods.request = function(tr, req)
    methods.send(tr, req)
    return methods.wait(tr)
  end
end

-- Calls sink{ method, url, status | nil, code | nil, ms } after every HTTP request any client
-- in this state makes. Only the method, the URL (safe_url) and what came back are seen: never
-- headers or bodies.
function M.log_requests(host, sink)
  M.observe_requests(host, function(req, status, e, _, seconds)
    local r = { method = tostring(req.method or "GET"), url = M.safe_url(req.url),
                ms = seconds * 1000 }
    if status then r.status = math.tointeger(status)
    else r.code = type(e) == "table" and tostring(e.code) or "error" end
    sink(r)
  end)
end

-- The --verbose request log on stderr, one line a request; answers a counter of requests and
-- of the time spent waiting for answers.
function M.request_log(host, paint)
  local count = { requests = 0, seconds = 0 }
  M.log_requests(host, function(r)
    count.requests = count.requests + 1
    count.seconds = count.seconds + r.ms / 1000
    local what = r.status and tostring(r.status) or r.code .. " error"
    if r.code or (r.status and r.status >= 400) then what = paint.red(what) end
    io.stderr:write(fmt("trk: %s %s -> %s (%.0f ms)\n", r.method, r.url, what, r.ms))
  end)
  return count
end

-- ---- the progress line ------------------------------------------------------------------------

-- On a terminal, one line on stderr redrawn in place: records streamed, their rate, actions,
-- errors, time. Elsewhere (a pipe, a log file, a dumb terminal, --json, --quiet, --verbose)
-- nothing: the summary says it all. `wanted`: the caller's say; `cursor`: whether the terminal
-- takes cursor control (M.output's cursor; by default, whether stderr is a terminal).
function M.progress(host, wanted, cursor)
  if cursor == nil then cursor = host.isatty(2) end
  local p = { host = host, on = wanted and cursor, records = 0, kind = nil, last = 0,
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
      parts[#parts + 1] = s.apply and fmt("%s actions applied", thousands(c.done or 0))
                          or fmt("%s actions planned", thousands(c.planned or 0))
      local earlier = (c.already or 0) + (c.skipped or 0)
      if earlier > 0 then parts[#parts + 1] = fmt("%s already done", thousands(earlier)) end
      local bad = (c.failed or 0) + (c.unknown or 0) + (c.conflict or 0)
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

function M.change(op, payload, before)
  return actions().describe_change(op, payload, before)
end

function M.target(t)
  if type(t) ~= "table" then return "" end
  local id = t.id and (actions().is_planned_id(t.id) and "(planned)" or tostring(t.id)) or ""
  return concat({ t.kind or "", id, t.name or "" }, " "):gsub("%s+$", "")
end

-- JSON has empty lists and Lua does not: cjson writes an empty table as {}. A list that may be
-- empty goes through M.list, and the text through M.encode, which writes it as [].
local EMPTY = "\1trk:empty list\1"
function M.list(t)
  if t == nil or next(t) ~= nil then return t end
  return EMPTY
end

function M.encode(json, v)
  return (json.encode(v):gsub('"\\u0001trk:empty list\\u0001"', "[]"))
end

-- One action as a JSON line for --plan.
-- `job` names the run the plan belongs to ({ identity =, state = }): trk apply journals the
-- plan's writes as that job's, so a later run of it finds them applied.
function M.plan_line(e, json, job)
  return json.encode({ n = e.n, op = e.op, target = e.target, payload = e.payload, key = e.key,
                       before = e.before, rule = e.rule, status = e.status, error = e.error,
                       job = job })
end

-- A table of text: the head row, then rows, columns aligned. `paint` (optional) sets the head
-- in bold, and `style(column, text)` (optional) may paint a cell, after it has been padded.
local function table_text(head, rows, paint, style)
  local width = {}
  for i, h in ipairs(head) do width[i] = utf8.len(h) end
  local clean = {}
  for n, r in ipairs(rows) do
    clean[n] = {}
    for i, c in ipairs(r) do
      c = printable(c)
      clean[n][i] = c
      width[i] = math.max(width[i], utf8.len(c) or #c)
    end
  end
  rows = clean
  local out = {}
  local function line(r, is_head)
    local cells = {}
    for i, c in ipairs(r) do
      local cell = i == #r and c or c .. rep(" ", width[i] - (utf8.len(c) or #c))
      if not is_head and style then cell = style(i, cell, c) end
      cells[i] = cell
    end
    local text = "  " .. concat(cells, "  ")
    if is_head and paint then text = "  " .. paint.bold(concat(cells, "  ")) end
    out[#out + 1] = text
  end
  line(head, true)
  for _, r in ipairs(rows) do line(r) end
  return concat(out, "\n") .. "\n"
end
M.table_text = table_text

-- The dry run's plan: every action, what it targets and what it changes.
function M.plan_table(s, paint)
  local rows, head = {}, { "#", "operation", "target", "change" }
  local marked = false           -- a column for the writes an earlier run settles (trk run)
  for _, e in ipairs(s.planned) do
    marked = marked or e.status ~= "planned"
    rows[#rows + 1] = { tostring(e.n), e.op, short(M.target(e.target), 44),
                        short(M.change(e.op, e.payload, e.before), CHANGE_WIDTH),
                        e.status == "already" and "already applied" or e.status }
  end
  if marked then head[5] = "status" else for _, r in ipairs(rows) do r[5] = nil end end
  local text = "\n" .. table_text(head, rows, paint)
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

-- The plain summary, on stderr. `paint` colours it (M.paint); `quiet` keeps only what went
-- wrong: the rules' errors, the writes that failed, and an interruption.
function M.summary_text(s, sum, paint, quiet)
  paint = paint or M.paint(false)
  local out = {}
  if s.rule_stats and not quiet then
    local rows = {}
    for _, r in ipairs(s.rule_stats) do
      rows[#rows + 1] = { r.name, thousands(r.seen), thousands(r.matched), thousands(r.actions),
                          thousands(r.errors + r.failed),
                          r.new and "new: from " .. os.date("!%Y-%m-%dT%H:%M:%SZ", r.since // 1)
                            or "since " .. os.date("!%Y-%m-%dT%H:%M:%SZ", r.since // 1) }
    end
    out[#out + 1] = table_text({ "rule", "seen", "matched", sum.mode == "apply" and "applied" or "planned",
                                 "errors", "changes" }, rows, paint)
  end
  if s.rule_stats then
    local shown, hidden = {}, {}
    for _, e in ipairs(s.errors or {}) do
      local key = e.rule or ""
      shown[key] = (shown[key] or 0) + 1
      if shown[key] <= ERRORS_SHOWN then
        local msg = tostring(e.message)
        if e.where and e.where ~= "" and msg:sub(1, #e.where) ~= e.where then
          msg = e.where .. ": " .. msg
        end
        out[#out + 1] = fmt("%s %s%s: %s\n", paint.red("error:"), e.rule and "rule " .. e.rule or "stream",
                            e.record and fmt(", %s %s", e.kind and e.kind:gsub("s$", "") or "record",
                                             tostring(e.record)) or "",
                            printable(msg:match("^[^\n]*")))
      else
        hidden[key] = (hidden[key] or 0) + 1
      end
    end
    local keys = {}
    for key in pairs(hidden) do keys[#keys + 1] = key end
    table.sort(keys)
    for _, key in ipairs(keys) do
      local n = hidden[key]
      out[#out + 1] = fmt("%s rule %s: %s more errors like these (trk rules --json lists them all)\n",
                          paint.red("error:"), key, thousands(n))
    end
  end
  for _, e in ipairs(s.failed) do
    out[#out + 1] = fmt("%s %s %s: %s\n", e.status == "unknown" and paint.yellow("unknown outcome:")
                                          or paint.red(e.status == "conflict" and "conflict:"
                                                       or "failed:"),
                        e.op, printable(M.target(e.target)), printable(e.error))
  end
  local elapsed = fmt("%.1f s", sum.elapsed)
  -- what earlier runs of the job settle (trk run): applied already, or changed since
  local earlier = {}
  if sum.already > 0 then
    local by = sum.already_by
    earlier[#earlier + 1] = fmt("%s already applied by run %d on %s; use --again to repeat",
                                thousands(sum.already), by.run, tostring(by.started):sub(1, 10))
  end
  if sum.conflicts > 0 then
    earlier[#earlier + 1] = paint.red(fmt("%s conflicts: changed in Tracker since this job wrote "
                                          .. "them; use --force to overwrite", thousands(sum.conflicts)))
  end
  local also = #earlier > 0 and "; " .. concat(earlier, "; ") or ""
  -- with --quiet, the counts are chatter
  if not quiet and sum.mode == "plan" and (sum.actions > 0 or s.rule_stats or #s.clients > 0) then
    local planned = sum.planned
    out[#out + 1] = planned > 0
      and fmt("trk: %s writes planned (%s)%s; nothing was sent. Run with --apply to send them. "
              .. "(%s)\n", thousands(planned), ops(sum.by_op), also, elapsed)
      or fmt("trk: no writes planned%s. (%s)\n", also, elapsed)
  elseif not quiet and sum.mode ~= "plan" then
    local parts = { fmt("%s applied", thousands(sum.applied)) }
    if sum.skipped > 0 then parts[#parts + 1] = fmt("%s already done", thousands(sum.skipped)) end
    if sum.failed > 0 then parts[#parts + 1] = paint.red(fmt("%s failed", thousands(sum.failed))) end
    if sum.unknown > 0 then
      parts[#parts + 1] = paint.yellow(fmt("%s outcome unknown (run again to settle)",
                                           thousands(sum.unknown)))
    end
    out[#out + 1] = fmt("trk: %s writes: %s%s; journal: %s, run %d%s (%s)\n",
                        thousands(sum.actions), concat(parts, ", "), also, tostring(sum.state),
                        sum.run, sum.resumed and " (resumed)" or "", elapsed)
  end
  if sum.status == "unreachable" then
    out[#out + 1] = fmt("trk: %s: Tracker could not be reached for the outage budget; stopped "
                        .. "after %s writes%s. Run the same command again to resume%s.\n",
                        paint.yellow("stopped"), thousands(sum.actions),
                        sum.where and " at " .. sum.where or "",
                        sum.mode == "apply" and ": what was applied will not be sent again, "
                        .. "and a write left pending is read back first" or "")
  end
  if sum.status == "interrupted" then
    out[#out + 1] = fmt("trk: %s%s after %s writes. Run the same command again to "
                        .. "resume%s.\n", paint.yellow("interrupted"), sum.where and " at " .. sum.where or "",
                        thousands(sum.actions),
                        sum.mode == "apply" and ": what was applied will not be sent again" or "")
  end
  return concat(out)
end

-- ---- trk journal ---------------------------------------------------------------------------------

-- The colour of a run's or an action's status.
local STATUS_STYLE = { done = "green", complete = "green", failed = "red", unknown = "yellow",
                       pending = "yellow", interrupted = "yellow", running = "yellow",
                       unreachable = "yellow" }

-- An action's payload as fields (a table), from the journal's JSON; nil when it has none.
local function payload_of(a, json)
  if a.payload == nil then return nil end
  local ok, v = pcall(json.decode, a.payload)
  return ok and type(v) == "table" and v or nil
end

-- An action as --json shows it: what the table shows (its rule, ISO times, the change in
-- words), the payload as fields, not JSON text; the answer of a create is --created's.
local function action_json(a, json)
  local payload = payload_of(a, json)
  a.payload = payload or a.payload
  a.change = M.change(a.op, payload)
  a.result = nil
  return a
end

-- opts: the command line's (json, run, failed); out: M.output's answer (colour for stdout,
-- quiet: no "nothing here" lines, verbose: cells in full).
function M.journal(j, opts, json, out_opts)
  out_opts = out_opts or { out = M.paint(false) }
  local paint = out_opts.out
  local cut = out_opts.verbose and function(x) return (tostring(x):gsub("%s+", " ")) end or short
  local function status_style(column)
    return function(i, cell, raw)
      local style = i == column and STATUS_STYLE[raw]
      return style and paint[style](cell) or cell
    end
  end
  local out = {}
  local actions_list = (opts.run or opts.failed) and j:actions(opts.run, opts.failed)
  if opts.json then
    for _, r in ipairs(actions_list or j:runs()) do
      out[#out + 1] = json.encode(actions_list and action_json(r, json) or r) .. "\n"
    end
    return concat(out)
  end
  if actions_list then
    -- the rule column for rules runs only: trk run's actions have none
    local ruled = false
    for _, a in ipairs(actions_list) do ruled = ruled or a.rule ~= nil end
    local rows = {}
    for _, a in ipairs(actions_list) do
      local row = { tostring(a.run), tostring(a.seq) }
      if ruled then row[#row + 1] = a.rule or "" end
      for _, cell in ipairs({ a.op,
                              cut(M.target({ kind = a.kind, id = a.target_id, name = a.target_name }), 40),
                              cut(M.change(a.op, payload_of(a, json)), 40), a.status,
                              a.settled or a.recorded,
                              cut(a.error and ((a.code and a.code .. ": " or "") .. a.error) or "", 60) }) do
        row[#row + 1] = cell
      end
      rows[#rows + 1] = row
    end
    if #rows == 0 then
      if out_opts.quiet then return "" end
      return opts.failed and "no failed actions\n" or "no actions in that run\n"
    end
    local head = { "run", "#", "operation", "target", "change", "status", "at", "error" }
    if ruled then table.insert(head, 3, "rule") end
    return table_text(head, rows, paint, status_style(ruled and 7 or 6))
  end
  local rows = {}
  for _, r in ipairs(j:runs()) do
    rows[#rows + 1] = { tostring(r.id), r.started, r.status, tostring(r.attempts),
                        thousands(r.actions), thousands(r.done), thousands(r.failed),
                        thousands(r.unsettled), r.command }
  end
  if #rows == 0 then
    if not out_opts.quiet then out[#out + 1] = "no runs yet\n" end
  else
    out[#out + 1] = table_text({ "run", "started", "status", "attempts", "actions", "done",
                                 "failed", "unsettled", "command" }, rows, paint, status_style(3))
  end
  local cps = j:checkpoints()
  if #cps > 0 then
    out[#out + 1] = "\n" .. paint.bold("checkpoints:") .. "\n" .. M.checkpoints(cps, false, json, out_opts)
  end
  return concat(out)
end

-- The rules' checkpoints: a table (rule, the kind it is on, since, updated), or JSON Lines.
function M.checkpoints(list, as_json, json, out_opts)
  local out = {}
  if as_json then
    for _, c in ipairs(list) do out[#out + 1] = json.encode(c) .. "\n" end
    return concat(out)
  end
  if #list == 0 then return out_opts.quiet and "" or "no checkpoints yet\n" end
  local rows = {}
  for _, c in ipairs(list) do rows[#rows + 1] = { c.rule, c.kind, c.since, c.updated } end
  return table_text({ "rule", "on", "since", "updated" }, rows, out_opts.out)
end

-- The records runs created (journal:created), for a rollback: "KIND ID" a line, plain enough
-- to pipe; or JSON Lines. Those whose id the journal does not hold are left out (the caller
-- says so).
function M.created(list, as_json, json)
  local out = {}
  for _, c in ipairs(list) do
    if c.id then
      out[#out + 1] = as_json and json.encode(c) or fmt("%s %d", c.kind, c.id)
    end
  end
  return #out > 0 and concat(out, "\n") .. "\n" or ""
end

return M
