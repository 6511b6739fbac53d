-- trk.probe: `trk doctor --probe`, a read-only conformance report: for each fact of Tracker's
-- contract trk depends on (docs/tracker-api.md §9), what this database does: ✓ as trk expects,
-- ≠ it differs (and what trk does about it), ? trk could not tell (and why). It asks through
-- trk's own client (its streams, metadata, t:tags, t:request for the raw reads), whose sink
-- refuses any write, within a budget of requests (REQUESTS), and keeps what it learnt in the
-- probe file (.trk/probe.json), which every later run's clients start from (client.lua
-- use_probe). Host-side: scripts never reach this module or the file.

local report = require "trk.report"

local M = {}

local fmt, concat = string.format, table.concat

-- ---- tunables -------------------------------------------------------------------------------

M.PATH = ".trk/probe.json"   -- in the current directory: one entry for each database probed
M.REQUESTS = 20              -- the most requests a probe makes (spec/probe_spec.lua counts)
local VERSION = 1            -- the probe file's format
local STALE_DAYS = 90        -- an entry older than this is ignored (the database may have moved on)
local MAX_ENTRIES = 20       -- databases one file remembers (the oldest go first)
local TIMEOUT, CONNECT_TIMEOUT = 20, 10
local NO_RETRY = 0.001       -- retry_for: a probe reports what it saw, it does not retry
local DEFAULT_PAGE = 100     -- a page size trk cannot take for granted: more is asked, and counted
local WIDGET_ASK = 500       -- what trk asks a widget page for (widget.lua max_page)
local REST_ASK = 100         -- what the probe asks a REST search page for
local ACTIVITY_DAYS = 30     -- "recent" activities
local ACTIVITIES = 50        -- the most read of them
local FRESH = 3600           -- seconds: a time this recent can tell local from UTC
local SLACK = 600            -- seconds a server's clock may be ahead without meaning a zone
local SHOWN = 4              -- names shown of a list
local NAME_WIDTH = 16        -- the fact column
local SECRET_MIN = 4         -- shorter values are not scrubbed (they would maim the text)

local SYMBOL = { ok = "✓", differs = "≠", unknown = "?" }

-- The REST search answers as they come (tracker-api.md §4 PagedSearch, §9.7 Search): the probe
-- reads the raw page, since the point is to see what the server sends.
local SEARCH = {
  routes = { "PagedSearch", "Search" },
  path = "/api/v1/OpportunityResource/",
  items = { "opportunityResources", "data" },
  total = { "totalCount", "totalRecords" },
  stage_id = "opportunityResourceStatusId", stage_name = "opportunityResourceStatusName",
  time = "lastUpdatedDateTime",
}

local function first_of(doc, keys)
  for _, k in ipairs(keys) do
    if doc[k] ~= nil then return doc[k] end
  end
end

local function names(list, n)
  local out = {}
  for i = 1, math.min(#list, n or SHOWN) do out[i] = tostring(list[i]) end
  if #list > (n or SHOWN) then out[#out + 1] = fmt("and %d more", #list - (n or SHOWN)) end
  return concat(out, ", ")
end

local function plural(n, word, many)
  return fmt("%d %s", n, n == 1 and word or many or word .. "s")
end

-- ---- the probe file -------------------------------------------------------------------------

local function iso(epoch) return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch // 1) end

local function epoch_of(text)
  local ok, t = pcall(require("tracker").time.parse, text)
  return ok and t or nil
end

local function random_salt()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(16)
  if f then f:close() end
  if not bytes or #bytes < 16 then return nil end
  return (bytes:gsub(".", function(ch) return fmt("%02x", ch:byte()) end))
end

-- The file's entries checked: a table { salt =, databases = { entry... } } or nil and why.
local ENTRY = { database = "string", key = "string", probed_at = "string",
                widget_page_cap = "number", rest_page_cap = "number", search_route = "string",
                stage_source = "string", stages = "table", item_times = "table",
                tag_column = "boolean" }

local function check(doc)
  if type(doc) ~= "table" or doc.trk_probe == nil then return nil, "not a probe file" end
  if doc.trk_probe ~= VERSION then
    return nil, fmt("written in format %s, this trk reads %d", tostring(doc.trk_probe), VERSION)
  end
  if type(doc.salt) ~= "string" or #doc.salt < 16 or type(doc.databases) ~= "table" then
    return nil, "no salt or no databases"
  end
  for i, e in ipairs(doc.databases) do
    if type(e) ~= "table" then return nil, fmt("database %d is not an object", i) end
    for k, want in pairs(ENTRY) do
      if e[k] ~= nil and type(e[k]) ~= want then
        return nil, fmt("database %d: '%s' is a %s, not a %s", i, k, type(e[k]), want)
      end
    end
    if not (e.database and e.key and e.probed_at and epoch_of(e.probed_at)) then
      return nil, fmt("database %d has no database, key or probed_at time", i)
    end
  end
  return doc
end

local function read_file(host, path)
  local f = io.open(path, "rb")
  if not f then return nil end                   -- no probe yet: nothing to say
  local text = f:read("a")
  f:close()
  local ok, doc = pcall(host.json.decode, text)
  if not ok or doc == nil then return nil, "not JSON" end
  return check(doc)
end

local loaded, load_warned   -- once a process: --watch makes a session a pass

-- The probe file for a run's clients to connect with (client.lua use_probe): the entries less
-- the stale ones; nil when there is none. A file trk cannot read, or a stale entry, is
-- ignored with a one-line warning on stderr, never fatal.
function M.load(host)
  if loaded ~= nil then return loaded or nil end
  local doc, why = read_file(host, M.PATH)
  loaded = false
  local warn = {}
  if why then
    warn[#warn + 1] = fmt("%s is not a probe file trk can read (%s): ignored; run trk doctor "
                          .. "--probe to write it again", M.PATH, why)
  elseif doc then
    local fresh = {}
    for _, e in ipairs(doc.databases) do
      local age = (os.time() - epoch_of(e.probed_at)) // 86400
      if age > STALE_DAYS then
        warn[#warn + 1] = fmt("%s: the probe of %s is %d days old: ignored; run trk doctor "
                              .. "--probe to refresh it", M.PATH, report.safe_url(e.database), age)
      else
        fresh[#fresh + 1] = e
      end
    end
    loaded = { salt = doc.salt, databases = fresh }
  end
  if not load_warned then
    for _, w in ipairs(warn) do io.stderr:write("trk: warning: ", w, "\n") end
    load_warned = true
  end
  return loaded or nil
end

-- Writes this database's entry into the file (the other databases' entries stay), through a
-- temporary file renamed over it. Answers true or nil and why.
local function save(host, t, entry)
  local doc = read_file(host, M.PATH) or {}
  local salt = doc.salt or random_salt()
  if not salt then return nil, "no random source for the file's salt (/dev/urandom)" end
  local d = t:database()
  entry.database, entry.key = d.id, require("tracker").fingerprint(t, salt) or "-"
  local list = { entry }
  for _, e in ipairs(doc.databases or {}) do
    if (e.database ~= entry.database or e.key ~= entry.key) and #list < MAX_ENTRIES then
      list[#list + 1] = e
    end
  end
  local dir = M.PATH:match("^(.*)/[^/]*$")
  if dir then os.execute("mkdir -p " .. report.quote(dir)) end
  local tmp = M.PATH .. ".tmp"
  local f, e = io.open(tmp, "wb")
  if not f then return nil, e end
  f:write(host.json.encode({ trk_probe = VERSION, salt = salt, databases = list }), "\n")
  f:close()
  local ok, e2 = os.rename(tmp, M.PATH)
  if not ok then return nil, e2 end
  loaded = nil                                   -- a later load reads what was written
  return true
end

-- ---- the report -----------------------------------------------------------------------------

local Probe = {}
Probe.__index = Probe

-- One fact: status "ok" | "differs" | "unknown", what was seen, what trk will do, and detail
-- lines (--verbose).
function Probe:fact(name, status, seen, will, details)
  -- trk_will is null in --json where trk does as it expects
  local f = { fact = name, status = status, seen = self:scrub(seen),
              trk_will = self:scrub(will) or require("tracker").json.null }
  self.facts[#self.facts + 1] = f
  self.counts[status] = self.counts[status] + 1
  if self.json or (self.out.quiet and status == "ok") then return end
  local paint = self.out.out
  local sym = SYMBOL[status]
  sym = status == "ok" and paint.green(sym) or status == "differs" and paint.yellow(sym)
        or paint.bold(sym)
  local line = fmt("  %s  %-" .. NAME_WIDTH .. "s %s", sym, name, report.printable(f.seen))
  if will then line = line .. "; trk " .. report.printable(f.trk_will) end
  io.stdout:write(line, "\n")
  if self.out.verbose then
    for _, d in ipairs(details or {}) do
      io.stdout:write("      ", report.printable(self:scrub(d)), "\n")
    end
  end
  io.stdout:flush()
end

-- A text without any of the configured secrets (a message may quote what it was given).
function Probe:scrub(text)
  if text == nil then return nil end
  text = tostring(text)
  for _, secret in ipairs(self.secrets) do
    local i, j = text:find(secret, 1, true)
    while i do
      text = text:sub(1, i - 1) .. "[secret]" .. text:sub(j + 1)
      i, j = text:find(secret, i + #"[secret]", true)
    end
  end
  return text
end

-- ---- the facts ------------------------------------------------------------------------------

-- The credentials: the configured ones (checkLogon), an API key without its user (a second
-- client, when both are configured), the REST token (its exchange, seen after the search).
local function credentials(t, settings, connect)
  local style = settings.apikey and (settings.username and "apikey + username" or "apikey alone")
                or settings.password and "username + password"
                or settings.api_token and "REST token as oauth token" or "none"
  local ok, e = t:request({ api = "widget", path = "checkLogon" })
  if not ok then return nil, e, style end
  local seen = { style .. " accepted" }
  if settings.apikey and settings.username then
    local alone = {}
    for k, v in pairs(settings) do alone[k] = v end
    alone.username, alone.password, alone.api_token = nil, nil, nil
    local t2 = connect(alone)
    local ok2, e2 = t2:request({ api = "widget", path = "checkLogon" })   -- closed by M.run
    seen[2] = ok2 and "apikey alone accepted"
              or (e2.code == "auth" and "apikey alone refused (a username is needed)"
                  or "apikey alone: " .. tostring(e2.message))
  end
  return seen
end

-- The first n records of stream st (closed after), and the error that ended it early, if any.
local function first_records(st, n)
  local recs, e = {}, nil
  while #recs < n do
    local rec
    rec, e = st:next()
    if not rec then break end
    recs[#recs + 1] = rec
  end
  st:close()
  return recs, e
end

-- Up to DEFAULT_PAGE + 1 candidates, asked WIDGET_ASK a page: the stream learns the cap when a
-- short page is followed by more (t:stats().page_caps). Answers the records, err.
local function candidates(t)
  local _, st = t:candidates({ page_size = WIDGET_ASK })
  return first_records(st, DEFAULT_PAGE + 1)
end

local function activities(t)
  local _, st = t:activities({ updated_after = os.time() - ACTIVITY_DAYS * 86400,
                               page_size = ACTIVITIES })
  return first_records(st, ACTIVITIES)
end

-- One page of the application search, raw: the route that answers (PagedSearch, else Search
-- on 404/405, as the client tries them) and what the page holds.
local function search(t)
  local last
  for _, route in ipairs(SEARCH.routes) do
    local doc, e = t:request({ api = "rest", method = "POST", path = SEARCH.path .. route,
                               body = { pageNumber = 1, pageSize = REST_ASK } })
    if doc then
      local items = type(doc) == "table" and first_of(doc, SEARCH.items)
      if type(items) ~= "table" then
        return nil, { message = route .. " answered no list of applications" }
      end
      return { route = route, items = items, total = tonumber(first_of(doc, SEARCH.total)),
               more = doc.hasNextPage, told = tonumber(doc.pageSize) }
    end
    last = e
    if not (e.status == 404 or e.status == 405) then break end
  end
  return nil, last
end

-- What the times seen say of the database's zone: the newest against now, read in the
-- configured zone (tz) and as UTC. Answers status, seen, will.
local function zone_hint(newest_naive, tz)
  local ttime = require("tracker").time
  local now = os.time()
  if not newest_naive then
    return "unknown", "no record read shows a time", "cannot check TRACKER_TIMEZONE against one"
  end
  local ok, as_utc = pcall(ttime.from_local, newest_naive, "UTC")
  if not ok then return "unknown", "a time it cannot read: " .. newest_naive, nil end
  local as_tz = tz and select(2, pcall(ttime.from_local, newest_naive, tz)) or nil
  local newest = fmt("the newest time seen, %s,", newest_naive)
  local function hours(s) return fmt("%.1f hours", s / 3600) end
  if tz then
    if as_tz - now > SLACK then
      return "differs", fmt("%s is %s ahead of now in %s", newest, hours(as_tz - now), tz),
             "reads times in " .. tz .. ": the database's zone is probably further east; set "
             .. "TRACKER_TIMEZONE to it"
    elseif now - as_tz <= FRESH then
      return "ok", fmt("%s is %d minutes ago in %s: looks local to it%s", newest,
                       (now - as_tz) // 60, tz, as_tz == as_utc and " (UTC)" or ""), nil
    elseif now - as_utc <= FRESH and as_utc - now <= SLACK then
      return "differs", fmt("%s is %d minutes ago as UTC, %s in %s: looks UTC", newest,
                            (now - as_utc) // 60, hours(now - as_tz), tz),
             "reads times in " .. tz .. ": set TRACKER_TIMEZONE=UTC if Tracker's times are UTC"
    end
    return "unknown", fmt("%s is %s old: too old to tell local from UTC (TRACKER_TIMEZONE=%s)",
                          newest, hours(now - as_tz), tz), "reads times in " .. tz
  end
  local guess
  if as_utc - now > SLACK then
    guess = fmt("looks local to a zone about %+d hours from UTC",
                math.floor((as_utc - now) / 3600 + 0.5))
  elseif now - as_utc <= FRESH then guess = "looks UTC"
  else guess = fmt("%s old as UTC: cannot tell local from UTC", hours(now - as_utc)) end
  return "differs", fmt("TRACKER_TIMEZONE is not set; %s %s", newest, guess),
         "keeps an 8-hour margin on time filters and shows naive times; set TRACKER_TIMEZONE"
end

-- Runs every read and adds the facts. Answers the probe file's entry (nil: nothing learnt).
local function probe(p, t, settings, connect)
  local creds, ce, style = credentials(t, settings, connect)
  if not creds then
    p:fact("credentials", "unknown", fmt("checkLogon with %s failed: %s", style,
                                         tostring(ce and ce.message)),
           "cannot read this database: run trk doctor to check the settings")
    p.failed = true
    return nil
  end
  local entry = { probed_at = iso(os.time()), item_times = {} }
  local m, me = t:metadata()
  local cands, cand_err = candidates(t)
  local caps = t:stats().page_caps or {}
  local first_cand = cands[1]
  local tags, tag_err
  if first_cand then tags, tag_err = t:tags(first_cand) end
  local acts, act_err = activities(t)
  local job_rec, job_err
  for _, a in ipairs(acts) do
    if a.job_id then
      job_rec, job_err = t:job(a.job_id)
      break
    end
  end
  if not job_rec and not job_err then
    local _, st = t:jobs({ page_size = 1 })
    job_rec, job_err = st:next()
    st:close()
  end
  local page, search_err
  if settings.api_token then page, search_err = search(t) end
  local stats = t:stats()

  -- credentials
  if settings.api_token then
    creds[#creds + 1] = stats.exchanges > 0 and "REST token exchanged for a JWT"
                        or "REST token: " .. tostring(search_err and search_err.message)
  end
  p:fact("credentials", "ok", concat(creds, "; "), nil)

  -- item times
  local times, missing = {}, {}
  local function timed(kind, rec, e)
    if e or not rec then
      times[#times + 1] = fmt("%s ?", kind)
      return
    end
    local has = rec.updated_at ~= nil
    entry.item_times[kind] = has
    times[#times + 1] = fmt("%s %s", kind, has and "yes" or "none")
    if not has then missing[#missing + 1] = kind end
  end
  timed("job", job_rec, job_err)
  timed("candidate", first_cand, cand_err)
  timed("activity", acts[1], act_err)
  local tstatus = #missing > 0 and "differs"
                  or (entry.item_times.job and entry.item_times.candidate
                      and entry.item_times.activity) and "ok" or "unknown"
  p:fact("item times", tstatus, "last-updated times on " .. concat(times, ", "),
         #missing > 0 and "pages by id within a window fixed when a stream opens, and keys a "
                          .. "rule's changes by content, not time (tracker-api.md §9.1)"
         or tstatus == "unknown" and "assumes none where it could not tell" or nil)

  -- widget page cap
  if cand_err then
    p:fact("widget page", "unknown", "candidates could not be read: " .. tostring(cand_err.message),
           "learns the cap as it reads")
  elseif caps.widget then
    entry.widget_page_cap = caps.widget
    p:fact("widget page", "differs", fmt("asked %d, got %d a page (more followed)", WIDGET_ASK,
                                         caps.widget),
           fmt("asks %d a page, and takes a shorter page as the end", caps.widget))
  elseif #cands > DEFAULT_PAGE then
    p:fact("widget page", "ok", fmt("asked %d, got more than %d in one page", WIDGET_ASK,
                                    DEFAULT_PAGE), nil)
  else
    p:fact("widget page", "unknown", fmt("only %s: too few to see a cap",
                                         plural(#cands, "candidate")),
           "learns the cap as it reads (one request more per stream)")
  end

  -- stages
  if not m then
    p:fact("stages", "unknown", "getSettingsData failed: " .. tostring(me and me.message),
           "cannot check stages")
  else
    local seen_stages, seen_by_id = {}, {}
    for _, item in ipairs(page and page.items or {}) do
      local id = math.tointeger(tonumber(item[SEARCH.stage_id]))
      local name = item[SEARCH.stage_name]
      if id and type(name) == "string" and not seen_by_id[id] then
        seen_by_id[id] = true
        seen_stages[#seen_stages + 1] = { id = id, name = name }
      end
    end
    table.sort(seen_stages, function(a, b) return a.id < b.id end)
    entry.stage_source = m.stage_source
    local stage_names = {}
    for i, st in ipairs(m.stages) do stage_names[i] = st.name end
    if m.stage_source == "settings" then
      p:fact("stages", "ok", fmt("opportunityResourceStatuses in the settings: %d stages (%s)",
                                 #m.stages, names(stage_names)), nil)
    elseif m.stage_source == "configuration" then
      p:fact("stages", "differs", fmt("no opportunityResourceStatuses in the settings; "
                                      .. "TRACKER_STAGES names %d", #m.stages),
             "takes the stages from TRACKER_STAGES, and adds those applications show")
    else
      entry.stages = seen_stages
      local seen_names = {}
      for i, st in ipairs(seen_stages) do seen_names[i] = st.name end
      p:fact("stages", "differs", fmt("no opportunityResourceStatuses in the settings, no "
                                      .. "TRACKER_STAGES; %d seen on applications (%s)",
                                      #seen_stages, names(seen_names)),
             "learns stages from the applications it reads (starting from these); name them "
             .. "all in TRACKER_STAGES so a move to one not seen yet works")
    end
  end

  -- search route and REST page cap
  if not settings.api_token then
    p:fact("search route", "unknown", "TRACKER_API_TOKEN is not set: the REST API was not tried",
           "cannot read applications")
    p:fact("REST page", "unknown", "the REST API was not tried", nil)
  elseif not page then
    local why = tostring(search_err and search_err.message)
    p:fact("search route", "unknown", "the application search failed: " .. why,
           "tries PagedSearch, then Search")
    p:fact("REST page", "unknown", "the application search failed", nil)
  else
    entry.search_route = page.route
    if page.route == "PagedSearch" then
      p:fact("search route", "ok", "POST .../OpportunityResource/PagedSearch answers", nil)
    else
      p:fact("search route", "differs", "no PagedSearch; POST .../OpportunityResource/Search "
             .. "answers", "searches with Search first, and applies job, candidate, stage and time "
             .. "filters itself (tracker-api.md §9.7)")
    end
    local n = #page.items
    local more = page.more == true or (page.total and page.total > n)
    if n < REST_ASK and more then
      entry.rest_page_cap = n
      p:fact("REST page", "differs", fmt("asked %d, got %d a page (%s in all)", REST_ASK, n,
                                         page.total and tostring(page.total) or "more"),
             fmt("asks %d a page", n))
    elseif n >= REST_ASK then
      p:fact("REST page", "ok", fmt("asked %d, got %d", REST_ASK, n), nil)
    else
      p:fact("REST page", "unknown", fmt("only %s: too few to see a cap",
                                         plural(n, "application")), "learns the cap as it reads")
    end
  end

  -- tag column
  if tags then
    entry.tag_column = true
    p:fact("tag column", "ok", fmt("candidate %d read with its tag column", first_cand.id), nil)
  elseif tag_err and tag_err.code == "unsupported" then
    entry.tag_column = false
    p:fact("tag column", "differs", fmt("candidate %d read without a tag column", first_cand.id),
           "refuses tags, add_tag and remove_tag (unsupported), writing nothing")
  else
    p:fact("tag column", "unknown", first_cand and "candidate read failed: "
           .. tostring(tag_err and tag_err.message) or "no candidate to read", nil)
  end

  -- activity types and statuses
  if act_err then
    p:fact("activities", "unknown", "activities could not be read: " .. tostring(act_err.message),
           nil)
  elseif #acts == 0 then
    p:fact("activities", "unknown", fmt("no activity in the last %d days", ACTIVITY_DAYS),
           "leaves a note's type and status to Tracker unless TRACKER_NOTE_TYPE/STATUS are set")
  else
    local types, statuses, tseen, sseen = {}, {}, {}, {}
    for _, a in ipairs(acts) do
      if a.type and not tseen[a.type] then
        tseen[a.type], types[#types + 1] = true, a.type
      end
      if a.status and not sseen[a.status] then
        sseen[a.status], statuses[#statuses + 1] = true, a.status
      end
    end
    local seen = fmt("%s read: types %s; statuses %s",
                     plural(#acts, "recent activity", "recent activities"),
                     #types > 0 and names(types, 8) or "none",
                     #statuses > 0 and names(statuses, 8) or "none")
    local bad = {}
    if settings.note_type and not tseen[settings.note_type] then
      bad[#bad + 1] = "TRACKER_NOTE_TYPE=" .. settings.note_type
    end
    if settings.note_status and not sseen[settings.note_status] then
      bad[#bad + 1] = "TRACKER_NOTE_STATUS=" .. settings.note_status
    end
    if #bad > 0 then
      p:fact("activities", "differs", seen, fmt("sends %s, which no activity read shows: check it",
                                                concat(bad, " and ")))
    else
      p:fact("activities", "ok", seen, (settings.note_type or settings.note_status) and nil
             or "leaves a note's type and status to Tracker (TRACKER_NOTE_TYPE/STATUS set them)")
    end
  end

  -- custom fields
  if m then
    local counts, shown, details, lists = {}, {}, {}, 0
    for _, kind in ipairs({ "candidate", "job", "application", "activity" }) do
      local list = m.custom_fields[kind] or {}
      local these = {}
      for i, f in ipairs(list) do
        these[i] = fmt("%s (%s%s)", f.name, tostring(f.type),
                       f.items and fmt(", %d items", #f.items) or "")
        shown[#shown + 1] = these[i]
        if f.items then lists = lists + 1 end
      end
      counts[#counts + 1] = fmt("%d %s", #list, kind)
      if #list > 0 then details[#details + 1] = kind .. ": " .. concat(these, ", ") end
    end
    p:fact("custom fields", "ok", fmt("%s; %s; %s", concat(counts, ", "),
                                      plural(lists, "list field"),
                                      #shown > 0 and names(shown, 3) or "none"), nil, details)
  end

  -- time zone
  local newest
  local function consider(rec)
    local ts = rec and rec.updated_at
    if type(ts) ~= "string" then return end
    local naive = ts
    if ts:match("Z$") then
      local at = epoch_of(ts)
      naive = at and require("tracker").time.to_local(at, settings.timezone or "UTC")
    end
    naive = naive and naive:sub(1, 19):gsub("T", " ")
    if naive and (not newest or naive > newest) then newest = naive end
  end
  for _, a in ipairs(acts) do consider(a) end
  for _, c in ipairs(cands) do consider(c) end
  consider(job_rec)
  for _, item in ipairs(page and page.items or {}) do
    local ts = item[SEARCH.time]
    if type(ts) == "string" and #ts >= 19 then
      local naive = ts:sub(1, 19):gsub("T", " ")
      if not newest or naive > newest then newest = naive end
    end
  end
  p:fact("time zone", zone_hint(newest, settings.timezone))
  return entry
end

-- ---- the command ----------------------------------------------------------------------------

-- The settings a client connects with: the selected profile's, else the TRACKER_* variables
-- as a profile holds them (apikey for TRACKER_APIKEY).
local function settings_of(host, opts)
  local p, why = require("trk.profiles").selected(host, opts)
  if why then return nil, why end
  if p then return p.settings end
  local s = {}
  for _, var in ipairs(require("trk.doctor").VARIABLES) do
    local v = os.getenv(var)
    if v and v ~= "" then s[var:sub(#"TRACKER_" + 1):lower()] = v end
  end
  return s
end

function M.run(host, opts)
  local out = report.output(host, opts)
  local p = setmetatable({ out = out, json = opts.json or false, facts = {}, secrets = {},
                           counts = { ok = 0, differs = 0, unknown = 0 } }, Probe)
  local settings, why = settings_of(host, opts)
  if not settings then
    io.stderr:write("trk doctor --probe: ", why, "\n")
    return 1
  end
  for _, k in ipairs(require("trk.profiles").SECRETS) do
    local v = settings[k]
    if type(v) == "string" and #v >= SECRET_MIN then p.secrets[#p.secrets + 1] = v end
  end
  table.sort(p.secrets, function(a, b) return #a > #b end)
  local log = {}
  report.log_requests(host, function(r) log[#log + 1] = r end)
  if out.verbose then report.request_log(host, out.err) end
  local tracker = require "tracker"
  -- the probe's clients send no write: their sink refuses every one, before any request
  local sink = { write = function(_, action)
    local no = "trk doctor --probe sends no write (" .. action.op .. ")"
    return nil, tracker.error({ code = "invalid_request", message = no })
  end }
  local clients = {}
  local function connect(s)
    local t = tracker.connect({ retry_for = NO_RETRY, timeout = TIMEOUT,
                                connect_timeout = CONNECT_TIMEOUT }, sink, s)
    clients[#clients + 1] = t
    return t
  end
  local ok, t = pcall(connect, settings)
  if not ok then
    io.stderr:write("trk doctor --probe: ", p:scrub(tostring(t)),
                    "; run trk doctor to check the settings\n")
    return 1
  end
  local d = t:database()
  if not (p.json or out.quiet) then
    io.stdout:write(out.out.bold(fmt("trk doctor --probe: %s and %s as %s",
                                     report.safe_url(d.widget_url or "no widget URL"),
                                     report.safe_url(d.rest_url or "no REST URL"),
                                     p:scrub(d.user or "no user"))), "\n")
  end
  local cok, entry, stop = host.call(probe, p, t, settings, connect)
  local retry_after
  for _, c in ipairs(clients) do
    local st = c:stats()
    if st.retry_after and st.retry_after > (retry_after or 0) then retry_after = st.retry_after end
  end
  local written, werr
  if cok and entry then written, werr = save(host, t, entry) end   -- keyed by t's database
  for _, c in ipairs(clients) do c:close() end
  if not cok then
    if stop == "interrupt" or host.interrupted() then
      io.stderr:write("trk doctor --probe: interrupted\n")
      return 130
    end
    io.stderr:write("trk doctor --probe: ", p:scrub(tostring(entry)), "\n")
    return 1
  end
  -- the rate budget: every request went through the log
  local limited = 0
  for _, r in ipairs(log) do if r.status == 429 then limited = limited + 1 end end
  if limited > 0 then
    p:fact("rate budget", "differs", fmt("%s of %d answered 429%s", plural(limited, "request"),
                                         #log, retry_after
                                           and fmt(", Retry-After %g s", retry_after) or ""),
           "waits as Retry-After says; keep TRACKER_RATE_LIMIT below the server's budget")
  elseif not p.failed then
    p:fact("rate budget", "ok", fmt("%d requests, no 429", #log), nil)
  end
  local requests = {}
  for i, r in ipairs(log) do
    requests[i] = fmt("%s %s", r.method, r.url:gsub("^%a[%w+.-]*://[^/]*", ""))
  end
  if p.json then
    io.stdout:write(report.encode(host.json, {
      database = { widget_url = d.widget_url and report.safe_url(d.widget_url),
                   rest_url = d.rest_url and report.safe_url(d.rest_url), user = d.user },
      facts = p.facts, counts = p.counts, requests = requests,
      file = written and M.PATH or nil, file_error = werr and tostring(werr) or nil,
    }), "\n")
  elseif not out.quiet or werr then
    local parts = { fmt("%d as trk expects", p.counts.ok) }
    if p.counts.differs > 0 then parts[#parts + 1] = fmt("%d differ", p.counts.differs) end
    if p.counts.unknown > 0 then parts[#parts + 1] = fmt("%d unknown", p.counts.unknown) end
    io.stdout:write(fmt("\ntrk doctor --probe: %s; %s, all reads; %s\n", concat(parts, ", "),
                        plural(#log, "request"),
                        written and "wrote " .. M.PATH
                        or werr and "could not write " .. M.PATH .. ": " .. tostring(werr)
                        or M.PATH .. " not written"))
  end
  if p.failed or werr then return 1 end
  return 0
end

return M
