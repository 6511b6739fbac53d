-- streams: record streams (t:jobs(), t:candidates(), t:activities(), t:applications()): pages
-- read by number within a fixed window of last-updated times, the next pages requested while
-- the script works on this one (as many as hide the network's latency: prefetch), each record
-- yielded once.
--
-- Why pages by number, in id order (tracker-api.md §9.1): Tracker's items may carry no
-- last-updated time, so a stream cannot page by key on it. The window (updatedafter) is fixed
-- when the stream opens and the pages are ordered by id, which an update does not change: a
-- record updated while the stream runs stays where it was (its new change is the next run's,
-- whose window starts before this run did), a record that enters the window moves the rest one
-- place later (read twice, yielded once), and a new record comes last. No record present when
-- the stream opened is skipped.

local widget, rest = import "widget", import "rest"
local usage, failures, times = import "usage", import "failures", import "times"
local object, pipeline, metadata_mod = import "object", import "pipeline", import "metadata"
local raise, misuse, options, id_of = usage.raise, usage.misuse, usage.options, usage.id_of
local err = failures.err
local instant, ttime = times.instant, times.time
local Client, state = object.Client, object.state
local send, finish = pipeline.send, pipeline.finish
local widget_base, widget_credentials, rest_start =
      pipeline.widget_base, pipeline.widget_credentials, pipeline.rest_start
local metadata, find_stage = metadata_mod.metadata, metadata_mod.find_stage

local type, tostring, ipairs, pairs, setmetatable, getmetatable, error =
      type, tostring, ipairs, pairs, setmetatable, getmetatable, error
local tointeger, min, max = math.tointeger, math.min, math.max
local fmt, lower = string.format, string.lower

local M = {}


-- Ids yielded by one stream: a bit per id, 64 ids a word, so a million records of nearby ids
-- cost a few hundred KiB at most.
local function idset()
  return {}
end

local function idset_add(set, id)
  local w, bit = id >> 6, 1 << (id & 63)
  local word = set[w] or 0
  if word & bit ~= 0 then return false end
  set[w] = word | bit
  return true
end

local Stream = {}
local stream_mt = { __index = Stream, __metatable = "tracker.stream", __name = "tracker.stream" }

function stream_mt.__tostring(st)
  return fmt("stream of %s (%s)", st.what, st.closed and "closed" or "open")
end

-- A source describes one kind of stream: api ("widget" or "rest"), size (records asked for a
-- page), first_page, request(page) -> call | nil, err; parse(doc) -> items, last (true:
-- the answer proves this page the last, false: it proves more, nil: it does not say), the page
-- size and the total the server reports (or nil) | nil, err; key(item) -> id (nil: malformed),
-- its time; record(item, id, time) -> rec (false: left out by the stream's own filter, nil:
-- malformed), given what key said of it; and
-- optionally switch(err) -> true when the source moved to another route after err, so the same
-- page is asked again there.
local function new_stream(s, what, source)
  return setmetatable({ s = s, what = what, src = source, seen = idset(), items = {}, ids = {},
                        times = {}, i = 1, n = 0,
                        yielded = 0, page = source.first_page, closed = false, rows = 0,
                        pass_new = 0, ahead = source.first_page, calls = {}, depth = 1 },
                      stream_mt)
end

-- ---- the end of a stream ------------------------------------------------------------------

-- A server may answer fewer records than a page asks for ([INF] tracker-api.md: its cap is not
-- documented), so a short page is not the end unless the answer says so: the stream asks for
-- the next one, and the end is a page that is empty or brings nothing new. When that next page
-- brings new records, the short one was the server's cap: the client keeps it
-- (t:stats().page_caps), asks for no more than it from then on, and a page shorter than the cap,
-- which the server would have filled, is the end. `count` is the page's records, `new` those
-- the stream had not yet seen.
local function page_ends(st, count, new, proof, told, total)
  local caps, api = st.s.stats.page_caps, st.src.api
  if told and told < st.src.size and count <= told and (caps[api] == nil or told < caps[api]) then
    caps[api] = told                       -- the server says how many it gives
  end
  if count == 0 then return true end       -- whatever the answer claims
  if proof ~= nil then return proof end
  -- a total proves the end once this pass has read that many rows, whatever page sizes the
  -- server says it used
  if total then return st.rows >= total end
  if st.short then
    if new == 0 then return true end     -- the page after a short one brought nothing new
    if caps[api] == nil or st.short < caps[api] then caps[api] = st.short end
    st.short = nil
  end
  local cap = caps[api]
  if count >= (cap and min(st.src.size, cap) or st.src.size) then return false end
  if cap then return true end              -- the server would have filled it
  st.short = count
  return false
end

-- ---- prefetch -----------------------------------------------------------------------------

-- Pages in flight ahead of the one the script reads (st.calls, oldest first; st.ahead is the
-- next page to ask for). The depth adapts to the latency and to the script's work on a page:
-- one more page when the script found the next one still travelling (the network is slower
-- than the work), one fewer when even the furthest one ahead was in already (the work is
-- slower). With a rate budget the budget paces the pages: one ahead, so that no request of it
-- goes to pages past the end. Nor does a stream go deeper before it has read PREFETCH_AFTER
-- pages: one a script leaves after a page or two (a probe, a lookup) asks for no more.
local PREFETCH_MAX, PREFETCH_AFTER = 4, 2

local function drop_ahead(st)
  for i = #st.calls, 1, -1 do
    local c = st.calls[i].call
    if c.tr then c.tr:close() end        -- its answer is not wanted: not reused either
    st.calls[i] = nil
  end
end

local function stream_fail(st, e)
  st.err = e
  st:close()
  return nil, e
end

-- Asks for the page st.ahead; its answer is collected by a later fill().
local function stream_request(st)
  local call, e = st.src.request(st.ahead)
  if not call then return stream_fail(st, e) end
  st.calls[#st.calls + 1] = { page = st.ahead, call = call }
  st.ahead = st.ahead + 1
  return true
end

local function ready(call)
  return call.tr ~= nil and call.tr:ready()
end

-- Before the oldest page in flight is collected: the depth for the pages asked for after it.
local function adapt(st, head)
  st.collected = (st.collected or 0) + 1
  if st.s.c.rate_limit or st.collected <= PREFETCH_AFTER then return end
  local calls = st.calls
  if not ready(head) then
    if st.depth < PREFETCH_MAX then st.depth = st.depth + 1 end
    local stats = st.s.stats
    if st.depth > (stats.prefetch or 1) then stats.prefetch = st.depth end   -- t:stats()
  elseif st.depth > 1 and #calls > 0 and ready(calls[#calls].call) then
    st.depth = st.depth - 1
  end
end

-- Requests pages until `want` are in flight.
local function prefetch(st, want)
  while #st.calls < want and stream_request(st) do end
end

-- Collects the oldest page in flight, keeps its unseen records, moves the cursor and tops the
-- pages in flight up (so that the pages after this one travel while the script works on it).
local function fill(st)
  if #st.calls == 0 and not stream_request(st) then return nil, st.err end
  local head = table.remove(st.calls, 1)
  local call = head.call
  st.page = head.page
  adapt(st, call)
  local doc, e = finish(st.s, call)
  if not doc then
    drop_ahead(st)                         -- asked of a route or a pass that is over
    if st.src.switch and st.src.switch(e) then
      st.ahead = st.page                   -- the same page, asked again on the new route
      return stream_request(st) or nil, st.err
    end
    return stream_fail(st, e)
  end
  local list, proof, told, total = st.src.parse(doc)
  if not list then return stream_fail(st, proof) end
  st.rows = st.rows + #list
  local n, items, ids, ats, key = 0, st.items, st.ids, st.times, st.src.key
  local prev
  for i = 1, #list do
    local id, at = key(list[i])
    if id == nil then
      return stream_fail(st, err("bad_response", fmt("%s: record %d of page %d has no id",
                                                    call.what, i, st.page)))
    end
    if prev and id < prev and not st.unordered then
      -- the server did not sort by id as asked: an update while the stream runs may move a
      -- record to a page already read; counted, so doctor and --verbose can say so
      st.unordered = true
      st.s.stats.unordered_streams = (st.s.stats.unordered_streams or 0) + 1
    end
    prev = id
    if idset_add(st.seen, id) then
      n = n + 1
      items[n], ids[n], ats[n] = list[i], id, at
    end
  end
  st.n, st.i = n, 1
  st.pass_new = st.pass_new + n
  if not page_ends(st, #list, n, proof, told, total) then
    st.page = st.page + 1
    local want = st.depth
    if total then                          -- a total says where the pages end: none past it
      local per = min(st.src.size, st.s.stats.page_caps[st.src.api] or st.src.size)
      want = max(1, min(want, st.src.first_page + (total - 1) // per - st.page + 1))
    end
    prefetch(st, want)
  elseif st.pass_new > 0 and st.src.rescan and st.src.rescan() then
    -- the server applied a filter a record can leave (a stage, a job's state, a time before):
    -- one that left while the stream ran moved the rest one place earlier, so a record may
    -- have slipped onto a page already read. Read again from the first page until a pass
    -- brings nothing new.
    drop_ahead(st)
    st.page, st.rows, st.pass_new, st.short = st.src.first_page, 0, 0, nil
    st.ahead = st.page
    st.s.stats.rescans = (st.s.stats.rescans or 0) + 1
    stream_request(st)
  else
    drop_ahead(st)                         -- pages asked for past the end
    st.done = true
  end
  return true
end

function Stream:next()
  if getmetatable(self) ~= "tracker.stream" then
    raise("next: expected a stream as 'self' (use s:next())")
  end
  while true do
    if self.closed then return nil, self.err end
    local i = self.i
    if i <= self.n then
      local item = self.items[i]
      self.items[i] = nil
      self.i = i + 1
      local rec, re = self.src.record(item, self.ids[i], self.times[i])
      if rec == nil then
        return stream_fail(self, re or err("bad_response", fmt("%s: a record could not be read",
                                                               self.what)))
      end
      if rec then                 -- false: a record the stream's own filter leaves out
        self.yielded = self.yielded + 1
        return rec
      end
    elseif self.done then
      self:close()
      return nil
    else
      local ok, e = fill(self)
      if not ok then return nil, e end
    end
  end
end

-- Closing drops the page in flight (its transport is closed, not reused) and is idempotent.
function Stream:close()
  if self.closed then return end
  self.closed = true
  if self.calls then drop_ahead(self) end
  self.items, self.n = {}, 0
  if self.src and self.src.close then self.src.close() end
end

-- The number of records yielded so far.
function Stream:count()
  return self.yielded
end

-- Whether the server applied the stream's filters (its time window above all): false for a
-- route seen to ignore them (REST /Search, tracker-api.md §9.7), where the stream applies
-- them again itself, and cannot for a record that shows no time; nil until the first page
-- says which route answers.
function Stream:windowed()
  if not self.src then return nil end        -- a stream that failed to open
  return self.src.windowed
end

-- for-loop form: the iterator raises on failure, since a nil would end the loop silently.
local function iterate(st)
  if getmetatable(st) ~= "tracker.stream" then
    raise("a stream's iterator needs its stream: write `for r in t:candidates{} do`, or call "
          .. "s:next() on the stream (the second value t:candidates returns)")
  end
  local rec, e = st:next()
  if rec == nil and e ~= nil then error(e, 2) end
  return rec
end

stream_mt.__close = function(st) st:close() end

-- A stream that failed before its first page (metadata could not be read).
local function failed_stream(what, e)
  return setmetatable({ what = what, closed = true, err = e, yielded = 0 }, stream_mt)
end

local function stream_values(st)
  return iterate, st, nil, st
end

-- The stream filters each kind accepts.
local FILTERS = {
  jobs = { state = "string", updated_after = "any", updated_before = "any", search = "string",
           page_size = "number" },
  candidates = { status = "string", updated_after = "any", updated_before = "any",
                 search = "string", page_size = "number" },
  applications = { job = "any", candidate = "any", stage = "any", updated_after = "any",
                   updated_before = "any", page_size = "number" },
  activities = { candidate = "any", job = "any", updated_after = "any", updated_before = "any",
                 page_size = "number", client = "any", contact = "any", lead = "any" },
  placements = { candidate = "any", job = "any", updated_after = "any", updated_before = "any",
                 page_size = "number" },
  clients = { updated_after = "any", updated_before = "any", search = "string",
              page_size = "number" },
}
FILTERS.contacts = { client = "any", updated_after = "any", updated_before = "any",
                     search = "string", page_size = "number" }
FILTERS.leads = { client = "any", updated_after = "any", updated_before = "any",
                  search = "string", page_size = "number" }
-- whole: every record made whole as its page arrives, not field by field where it is read
-- (docs/client.md): for code that walks every field of every record, as the rule runner does
for kind, allowed in pairs(FILTERS) do
  if kind ~= "applications" then allowed.whole = "boolean" end
end

local function page_size(s, f, cap)
  return min(tointeger(f.page_size) or s.c.page_size, cap)
end

-- Common filter handling: time bounds as database local text.
local function time_bounds(s, fname, f)
  local after, before
  if f.updated_after ~= nil then after = s.conv.filter(instant(fname, "updated_after", f.updated_after)) end
  if f.updated_before ~= nil then
    local t = instant(fname, "updated_before", f.updated_before)
    -- without a zone the true local time may be up to 14 hours later than UTC
    before = s.c.timezone and s.conv.filter(t) or ttime.to_local(t + 14 * 3600, "UTC")
  end
  return after, before
end

-- A record filter the stream applies itself, around source.record.
local function filtered(source, match_fn)
  if not match_fn then return source end
  local record = source.record
  source.record = function(item, id, at)
    local r = record(item, id, at)
    if r and not match_fn(r, item) then return false end
    return r
  end
  return source
end

local function widget_stream(self, fname, kind, f, extra)
  local s = state(self, fname)
  f = options(fname, f, FILTERS[fname])
  local after, before = time_bounds(s, fname, f)
  local filt = { before = before, search = f.search, state = extra and extra.state or nil }
  local size = page_size(s, f, s.stats.page_caps.widget or widget.max_page)
  local m, e = metadata(s, fname)
  if not m then return stream_values(failed_stream(fname, e)) end
  local creds = widget_credentials(s, fname)
  local base = widget_base(s, fname)
  local conv = s.conv
  local source = {
    api = "widget", size = size, first_page = 0, windowed = true,
    -- a record can leave these while the stream runs (updatedafter only gains records)
    rescan = function() return filt.before ~= nil or filt.search ~= nil or filt.state ~= nil end,
    request = function(page)
      local path, body = widget.request("getRecords", creds, widget.list(kind, filt, after, page, size))
      -- lazy: the page's items are decoded only where the script reads them (widget.lua)
      local call = { api = "widget", what = "getRecords", base = base, path = path, body = body,
                     retry = true, lazy = not f.whole and "results" or nil }
      send(s, call)
      return call
    end,
    parse = function(doc)
      local env, code, msg = widget.answer("getRecords", doc, true)
      if not env then return nil, err(code, msg) end
      return env.results, nil               -- getRecords says no total: the stream decides
    end,
    key = widget.key,
    record = function(item, id, at) return widget.record(kind, item, conv, id, at) end,
  }
  return stream_values(new_stream(s, fname, filtered(source, extra and extra.match)))
end

function Client:jobs(f)
  if type(f) == "table" and f.state ~= nil and not widget.job_states[f.state] then
    misuse("jobs", "option 'state' must be 'open', 'won' or 'closed', got '%s'", tostring(f.state))
  end
  return widget_stream(self, "jobs", "job", f, { state = type(f) == "table" and f.state or nil })
end

function Client:candidates(f)
  local status = type(f) == "table" and f.status or nil
  -- the widget API has no status filter: the stream leaves out the other statuses itself
  return widget_stream(self, "candidates", "candidate", f,
    status and { match = function(r) return r.status ~= nil and lower(r.status) == lower(status) end })
end

-- The record ids a stream's link filters name ({ field of the record = id }), or nil: the
-- widget API filters no links, so the stream compares them itself.
local LINKS = { candidate = "candidate_id", job = "job_id", client = "client_id",
                contact = "contact_id", lead = "lead_id" }

local function link_filter(fname, f)
  if type(f) ~= "table" then return nil end
  local want
  for key, field in pairs(LINKS) do
    if f[key] ~= nil then
      want = want or {}
      want[field] = id_of(fname, key, f[key], key)
    end
  end
  return want and { match = function(r)
    for field, id in pairs(want) do if r[field] ~= id then return false end end
    return true
  end }
end

function Client:activities(f)
  return widget_stream(self, "activities", "activity", f, link_filter("activities", f))
end

function Client:clients(f) return widget_stream(self, "clients", "client", f) end

function Client:contacts(f)
  return widget_stream(self, "contacts", "contact", f, link_filter("contacts", f))
end

function Client:leads(f)
  return widget_stream(self, "leads", "lead", f, link_filter("leads", f))
end

-- Placements: getRecords X, which answers only placements in a Working, Offer or Complete
-- state [DOC 361]; it has no link filters either.
function Client:placements(f)
  local fname = "placements"
  local cand = type(f) == "table" and f.candidate ~= nil and id_of(fname, "candidate", f.candidate, "candidate")
  local job = type(f) == "table" and f.job ~= nil and id_of(fname, "job", f.job, "job")
  return widget_stream(self, fname, "placement", f, (cand or job) and { match = function(r)
    return (not cand or r.candidate_id == cand) and (not job or r.job_id == job)
  end })
end

-- The application search route to ask: the configured one, else the one learnt, else the next
-- of rest.search_routes to try (s.route moves on when a route answers 404 or 405).
local function search_route(s)
  return s.c.search_route or s.route or (s.routes or rest.search_routes)[1]
end

-- A search answered on `route`: it is the database's from now on (t:stats().search_route).
local function route_answered(s, route)
  s.route, s.stats.search_route = route, route
end

-- After a search failed with e: moves to the next route when e says the route does not exist
-- here, unless the route was configured or has answered before, so the search is asked again.
local function next_route(s, e)
  local cur = search_route(s)
  if s.c.search_route or s.stats.search_route or not (e.status == 404 or e.status == 405) then
    return false
  end
  local routes = s.routes or rest.search_routes     -- a probed route first (client.lua)
  for i, r in ipairs(routes) do
    if r == cur and routes[i + 1] then
      s.route = routes[i + 1]
      return true
    end
  end
  return false
end

-- One search page, synchronously (moving to the next route as a stream does): items, proof,
-- told, total (see rest.page) or nil, err.
local function search_page(s, fname, filt, page, size)
  while true do
    local route = search_route(s)
    local method, path, body = rest.search(route, filt, nil, page, size)
    local doc, e = pipeline.rest_call(s, fname, route, method, path, body)
    if doc then
      local list, proof, told, total = rest.page(doc)
      if not list then return nil, err("bad_response", proof) end
      route_answered(s, route)
      return list, proof, told, total
    end
    if not next_route(s, e) then return nil, e end
  end
end

-- The application of (candidate, job), read back after a create that did not answer its id
-- (§9.3), or nil when none is found, or nil, err. A route that honours the filters answers at
-- once; one that ignores them (Search) is read from its last page back, since a new
-- application has the highest id [INF: Search's order].
function M.find_application(s, fname, cand, job)
  local filt = { job = job, candidate = cand }
  local function pick(list)
    for _, item in ipairs(list) do
      local r = rest.record(item, s.conv, widget.custom)
      if r and r.candidate_id == cand and r.job_id == job then return r end
    end
  end
  local size = s.stats.page_caps.rest or rest.max_page
  local list, proof, _, total = search_page(s, fname, filt, 1, size)
  if not list then return nil, proof end
  local found = pick(list)
  if found or proof == true or #list == 0 or (total and #list >= total) then return found end
  -- page 1 is not the last, so it is full at the server's cap: the pages are total / #list
  -- (without a total: read forward until a page is empty or brings nothing new)
  local per, seen = #list, {}
  local last = total and (total + per - 1) // per or nil
  local function page_of(n)
    local l, e = search_page(s, fname, filt, n, size)
    if not l then return nil, e end
    local new = false
    for _, item in ipairs(l) do
      local id = rest.key(item)
      if id and not seen[id] then seen[id], new = true, true end
    end
    return l, nil, new
  end
  if not last then
    local n = 1
    repeat
      n = n + 1
      local l, e, new = page_of(n)
      if not l then return nil, e end
      found = pick(l)
    until found or #l == 0 or not new
    return found
  end
  for n = last, 2, -1 do
    local l, e = page_of(n)
    if not l then return nil, e end
    found = pick(l)
    if found then return found end
  end
  return nil
end

function Client:applications(f)
  local fname = "applications"
  local s = state(self, fname)
  f = options(fname, f, FILTERS.applications)
  local filt = {}
  if f.job ~= nil then filt.job = id_of(fname, "job", f.job, "job") end
  if f.candidate ~= nil then filt.candidate = id_of(fname, "candidate", f.candidate, "candidate") end
  local after, before = time_bounds(s, fname, f)
  filt.before = before
  local m, e = metadata(s, fname)
  if not m then return stream_values(failed_stream(fname, e)) end
  -- a stage: its id, else (stages known only from applications read so far: an unknown one
  -- may still come) its name in lower case, compared on each record
  local function stage_wanted(v, what)
    local st, se = find_stage(m, v)
    if st then return st.id end
    if m.stage_source == "seen" then
      if tointeger(v) then return tointeger(v) end
      if type(v) == "string" then return nil, lower(v) end
    end
    misuse(fname, "%s: %s", what, se.message)
  end
  local stage_name, stage_set
  if type(f.stage) == "table" then
    -- a list of stages: none is sent (a search takes one); rows in any of them are kept, so
    -- the others cost no read of their custom fields (below)
    if #f.stage == 0 then
      misuse(fname, "option 'stage' is an empty list: name at least one stage, or leave it out")
    end
    stage_set = {}
    for i, v in ipairs(f.stage) do
      local id, name = stage_wanted(v, fmt("option 'stage', item %d", i))
      stage_set[id or name] = true
    end
  elseif f.stage ~= nil then
    filt.stage_id, stage_name = stage_wanted(f.stage, "option 'stage'")
  end
  local size = page_size(s, f, s.stats.page_caps.rest or rest.max_page)
  local conv = s.conv
  local function wanted(r, item)
    if filt.job and r.job_id ~= filt.job then return false end
    if filt.candidate and r.candidate_id ~= filt.candidate then return false end
    if filt.stage_id and r.stage_id ~= filt.stage_id then return false end
    if stage_name and (r.stage == nil or lower(r.stage) ~= stage_name) then return false end
    if stage_set and not (stage_set[r.stage_id] or (r.stage and stage_set[lower(r.stage)])) then
      return false
    end
    local _, ts = rest.key(item)
    if ts and ((after and ts < after) or (before and ts >= before)) then return false end
    return true
  end
  local source
  source = {
    api = "rest", size = size, first_page = 1,
    request = function(page)
      local route = search_route(s)
      return rest_start(s, fname, route, rest.search(route, filt, after, page, size))
    end,
    parse = function(doc)
      local list, proof, told, total = rest.page(doc)
      if not list then return nil, err("bad_response", proof) end
      -- the stages the records of this page show, for move_to_stage{ from = } (writes.lua):
      -- a record the stream holds is not read again; the page before is let go
      source.held = {}
      s.held_stages = source.held
      route_answered(s, search_route(s))
      source.windowed = rest.route_filters[s.route]
      return list, proof, told, total
    end,
    -- a record can leave a stage or a time before while the stream runs; a route that
    -- ignores the filters sends every row, so nothing moves
    rescan = function()
      return source.windowed ~= false and (filt.stage_id ~= nil or filt.before ~= nil)
    end,
    switch = function(e2) return next_route(s, e2) end,
    key = rest.key,
    record = function(item)
      local r = rest.record(item, conv, widget.custom)
      if not r then return nil end
      metadata_mod.saw_stage(s, r.stage_id, r.stage)          -- every row shows its stage
      -- a route may ignore the filters it is sent (§9.7): they are applied again, on the row
      -- as it came, before anything more is read for it
      if not wanted(r, item) then return false end
      -- a row without customFields (Search's) is completed by a read of the application when
      -- the database has application fields: an empty `custom` would say "unset"
      if type(item) == "table" and item.customFields == nil and #m.custom_fields.application > 0 then
        local method, path = rest.application(r.id)
        local doc, ge = pipeline.rest_call(s, fname, "OpportunityResource", method, path)
        if not doc then
          if ge.code == "not_found" then return false end   -- deleted since the page was read
          return nil, ge
        end
        s.stats.row_reads = (s.stats.row_reads or 0) + 1
        if type(doc) == "table" then
          for k, v in pairs(doc) do if item[k] == nil then item[k] = v end end
          r = rest.record(item, conv, widget.custom)
          if not r then return nil end
        end
      end
      local held = source.held
      if held and r.stage_id then held[r.id] = { id = r.stage_id, name = r.stage } end
      return r
    end,
    -- a closed stream holds no page: a later `from` reads
    close = function()
      if s.held_stages == source.held then s.held_stages = nil end
    end,
  }
  return stream_values(new_stream(s, fname, source))
end
return M
