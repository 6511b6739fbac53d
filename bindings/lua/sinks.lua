-- sinks: where a client's writes go. Every write becomes an action (actions.lua) and is handed
-- to the client's one sink, chosen when the client is made: sink:write(action, send) answers
-- what the write answers, and send() (at most once) sends it and answers what the server made
-- of it. The sinks here are the plain ones; trk's session (scripts/trk/session.lua) and the
-- busted kit (tracker.testing) make their own with the same method.
--
--   tracker.connect(opts)                      -- sends every write
--   tracker.connect{ hook = function(action, send) ... end }
--   tracker.connect(opts, sinks.plan(list))    -- plans: records each action, sends none

local actions = import "actions"

local M = {}

-- Sends each write as it is.
M.send = { write = function(_, _, send) return send() end }

-- The connect option `hook`: a function(action, send) that decides.
function M.hook(fn)
  return { write = function(_, action, send) return fn(action, send) end }
end

-- A plan: each action is added to `list` (when given) and answered as planned, with the
-- stand-in records a create answers numbered from actions.PLANNED_ID.
function M.plan(list)
  local n = 0
  return {
    write = function(_, action)
      n = n + 1
      if list then list[#list + 1] = action end
      return actions.planned(action, actions.PLANNED_ID + n)
    end,
  }
end

return M
