-- batch: the one path of every write (perform) and t:batch. A write hands its action to the
-- client's sink (sinks.lua) and, when the sink sends it, runs its request(s). Inside t:batch the
-- writes the catalog marks deferred (actions.lua) run each in a coroutine of its own that gives
-- way while its request travels (pipeline.lua: give_way), up to the batch's concurrency at once;
-- writes to one record land in the order they were made.

local actions, usage, failures = import "actions", import "usage", import "failures"
local object, pipeline, values = import "object", import "pipeline", import "values"
local raise, misuse, options = usage.raise, usage.misuse, usage.options
local err = failures.err
local Client, state = object.Client, object.state
local batch_threads, IN_FLIGHT = pipeline.batch_threads, pipeline.IN_FLIGHT
local copy = values.copy

local type, ipairs, tostring, pcall, error = type, ipairs, tostring, pcall, error
local tointeger = math.tointeger
local fmt = string.format
local sort, pack, unpack = table.sort, table.pack, table.unpack
local create, resume, status, running, yield, close =
      coroutine.create, coroutine.resume, coroutine.status, coroutine.running, coroutine.yield,
      coroutine.close

local M = {}

-- ---- the choke point ------------------------------------------------------------------------

-- The action to the client's sink (send it, plan it, journal it: the session chose when it
-- made the client); `run` sends it, once. The sink gets copies: what it does to them changes
-- nothing the client goes on with.
local function to_sink(s, op, target, payload, key, run)
  local used = false
  local action = { op = op, target = copy(target), payload = copy(payload), key = key }
  return s.c.sink:write(action, function()
    if used then raise("send: an action can be sent once") end
    used = true
    return run()
  end)
end

-- ---- batches --------------------------------------------------------------------------------

-- While t:batch runs, s.batch = { frames, queue, seq, sends, last }:
--   frames  the batches open, outermost first: { limit, done, failed = { write, ... } }
--   queue   the deferred writes not yet settled, oldest first: { first, last, [i] = write }
--   sends   requests sent so far (a write's `sent` is its request's number)
--   last    by "kind:id", the latest unsettled write to that record
-- A write: { op, target, key, seq, depth (frames it counts in), co, after (the write to the
-- same record before it), prior (the reject part before it), answer, settled, ok, err,
-- cause (the failed part that kept a reject part from being sent), waiting (the write it
-- waits for), waiters (the writes waiting for it), sent }.

local function in_flight(b) return b.queue.last - b.queue.first + 1 end

local function settled(b, w, ok, e)
  w.settled, w.ok, w.err = true, ok, e
  w.co, w.after, w.prior = nil, nil, nil       -- what a settled write holds on to goes
  if w.record and b.last[w.record] == w then b.last[w.record] = nil end
  for d = 1, w.depth do
    local f = b.frames[d]
    if ok then f.done = f.done + 1 else f.failed[#f.failed + 1] = w end
  end
end

local step

-- The writes that waited for w (wait_for) are resumed once now that it has settled: each
-- sends its request and gives way, rather than waiting to be the oldest (a note, then a
-- field on the same record, would otherwise each cost a round trip of the script's time).
local function wake(b, w)
  local waiters = w.waiters
  w.waiters = nil
  for i = 1, waiters and #waiters or 0 do
    local x = waiters[i]
    if x.waiting == w then
      x.waiting = nil
      step(b, x)
    end
  end
end

-- Resumes a write once: its request's answer is collected, or it starts. True when it has
-- ended; what it raised is raised here.
step = function(b, w)
  local ok, v = resume(w.co)
  if not ok then
    settled(b, w, false, v)
    error(v, 0)
  end
  if status(w.co) == "dead" then
    local a = w.answer
    settled(b, w, a[1] ~= nil and a[1] ~= false, a[2])
    wake(b, w)
    return true
  end
  if v ~= IN_FLIGHT then           -- a hook yielded: its coroutine's caller is not here
    close(w.co)
    local msg = fmt("batch: the hook yielded during a %s write; a hook cannot yield in t:batch",
                    w.op)
    settled(b, w, false, msg)
    error(msg, 0)
  end
  if not w.waiting and not w.sent then  -- its request went now: the order requests went in
    b.sends = b.sends + 1
    w.sent = b.sends
  end
  return false
end

-- Drops the settled writes at the queue's head.
local function trim(q)
  while q.first <= q.last and q[q.first].settled do
    q[q.first].answer = nil
    q[q.first], q.first = nil, q.first + 1
  end
end

-- Settles the oldest write in the queue: resumed until it ends, it blocks on its answers.
local function settle_oldest(b)
  local q = b.queue
  local w = q[q.first]
  q[q.first], q.first = nil, q.first + 1
  if not w.settled then repeat until step(b, w) end
  w.answer = nil
  trim(q)
end

-- The writes whose requests travel: queued, neither settled nor waiting for another write.
local function sending(b)
  local q, n = b.queue, 0
  for i = q.first, q.last do
    local w = q[i]
    if not w.settled and not w.waiting then n = n + 1 end
  end
  return n
end

-- Settles the write whose request went first of those still travelling: the likeliest to
-- have its answer (one just sent, after the write it waited for, would cost a round trip).
local function settle_sending(b)
  local q, first = b.queue, nil
  for i = q.first, q.last do
    local w = q[i]
    if not w.settled and not w.waiting and (first == nil or (w.sent or 0) < (first.sent or 0)) then
      first = w
    end
  end
  if first then repeat until step(b, first) end
  trim(q)
end

-- Settles writes, oldest first, until w has settled (or all of them, without w).
local function drain(b, w)
  while in_flight(b) > 0 and not (w and w.settled) do settle_oldest(b) end
end

-- Inside the coroutine of write `self`, waits for an earlier write w: it is resumed when w
-- has settled (settle_oldest), or as the oldest, when it settles w first.
local function wait_for(b, self, w)
  if w and not w.settled then
    local list = w.waiters or {}
    w.waiters = list
    list[#list + 1] = self
    self.waiting = w
    yield(IN_FLIGHT)
    self.waiting = nil
    drain(b, w)
  end
end

-- Before a write reads its record (a tag list, the stage to move from), the writes to that
-- record still in flight land.
local function settle_record(s, target)
  local b = s.batch
  local w = b and b.last[target.kind .. ":" .. target.id]
  if w and not batch_threads[running()] then drain(b, w) end
end

-- A deferred write: started in a coroutine of its own once fewer than the batch's limit are in
-- flight. The hook sees it now, in the script's order; its request waits for the writes to
-- the same record made before it, so they land in that order; a part of a reject whose part
-- before failed is not sent. Answers true (queued), or the answer of a write that ended at
-- once (a dry run, a failure before sending).
local function defer(s, b, op, target, payload, key, run, chain)
  local frame = b.frames[#b.frames]
  -- at most `limit` requests travel at once, and at most 4 * limit writes wait in all
  while sending(b) >= frame.limit do settle_sending(b) end
  while in_flight(b) >= 4 * frame.limit do settle_oldest(b) end
  b.seq = b.seq + 1
  local record = target.id and (target.kind .. ":" .. target.id)
  local w = { op = op, target = copy(target), key = key, seq = b.seq, depth = #b.frames,
              record = record, after = record and b.last[record], prior = chain and chain.last }
  if record then b.last[record] = w end
  if chain then chain.last = w end
  local function go()
    wait_for(b, w, w.after)
    local prior = w.prior
    if prior then
      wait_for(b, w, prior)
      if not prior.ok then
        local cause = prior.cause or prior
        w.cause = cause
        return nil, err("conflict", fmt("%s: not sent, as the %s before it failed (%s)", op,
                                        cause.op, tostring(cause.err)), nil, { skipped = true })
      end
    end
    return run()
  end
  w.co = create(function() w.answer = pack(to_sink(s, op, target, payload, key, go)) end)
  batch_threads[w.co] = true
  if step(b, w) then
    local a = w.answer
    w.answer = nil
    return unpack(a, 1, a.n)
  end
  local q = b.queue
  q.last = q.last + 1
  q[q.last] = w
  return true
end

-- Every write ends here. `run` sends the action's request(s) and interprets the answer.
-- `chain` links the parts of one reject: in a batch, a part is not sent when one before failed.
local function perform(s, op, target, payload, key, run, chain)
  local ok, why = actions.validate({ op = op, target = target, payload = payload })
  if not ok then error("trk: a write made an action the catalog does not describe: " .. why, 0) end
  key = key or actions.key(op, target, payload)
  local b = s.batch
  if b and actions.entry(op).deferred and not batch_threads[running()] then
    return defer(s, b, op, target, payload, key, run, chain)
  end
  return to_sink(s, op, target, payload, key, run)
end

-- Runs fn(...) as a batch of `limit` writes in flight (joining the batch open, if any), then
-- settles every write still in flight, even when fn raised. Returns the batch's frame.
local function run_batch(s, limit, fn, ...)
  local b = s.batch
  if b == nil then
    b = { frames = {}, queue = { first = 1, last = 0 }, seq = 0, sends = 0, last = {} }
    s.batch = b
  end
  local frame = { limit = limit, done = 0, failed = {} }
  b.frames[#b.frames + 1] = frame
  local ok, e = pcall(fn, ...)
  while in_flight(b) > 0 do         -- they were sent: their answers are collected whatever fn did
    local ok2, e2 = pcall(settle_oldest, b)
    if ok and not ok2 then ok, e = false, e2 end
  end
  b.frames[#b.frames] = nil
  if #b.frames == 0 then s.batch = nil end
  if not ok then error(e, 0) end
  sort(frame.failed, function(x, y) return x.seq < y.seq end)
  return frame
end

function Client:batch(fn, opts)
  local fname = "batch"
  local s = state(self, fname)
  if type(fn) ~= "function" then
    misuse(fname, "argument 1 must be a function that makes the writes, got %s", type(fn))
  end
  local o = options(fname, opts, { concurrency = "number" }, "argument 2")
  local limit = s.c.concurrency
  if o.concurrency ~= nil then
    limit = tointeger(o.concurrency)
    if not (limit and limit >= 1) then
      misuse(fname, "option 'concurrency' must be a whole number of writes, at least 1, got %s",
             tostring(o.concurrency))
    end
  end
  if batch_threads[running()] then misuse(fname, "a write's hook cannot start a batch") end
  local frame = run_batch(s, limit, fn)
  local failed = {}
  for i, w in ipairs(frame.failed) do
    failed[i] = { op = w.op, target = w.target, key = w.key, err = w.err }
  end
  return { done = frame.done, failed = failed }
end

M.perform, M.run_batch, M.settle_record = perform, run_batch, settle_record
return M
