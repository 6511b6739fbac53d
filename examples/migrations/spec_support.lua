-- What the migration examples' specs share (not a migration): a `trk emulator` with generated
-- data and its admin routes, the environment that points trk at it, and `trk run` in this
-- directory.
local trk = require "support.trk"
local server = require "support.server"

local M = {}

M.dir = trk.root .. "/examples/migrations"

-- Starts an emulator of n generated candidates; returns it with the environment for trk. The
-- environment names the stages, as a user names theirs: a database's settings may list none.
function M.start(n)
  local s = server.start({ "--generate", tostring(n or 200), "--admin", "--timezone", "UTC" })
  s.env = server.client_env(s, "60000")
  s.env.TRACKER_STAGES = server.stages_env()
  return s
end

function M.stop()
  server.stop_all()
  trk.cleanup()
end

M.state = server.state

-- `trk run SCRIPT OPTIONS... -- ARGS...` from this directory, against the emulator s.
function M.run(s, script, options, args)
  local argv = { "run", script }
  for _, o in ipairs(options) do argv[#argv + 1] = o end
  argv[#argv + 1] = "--"
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  return trk.exec(argv, { cwd = M.dir, env = s.env })
end

-- Whether this trk plans writes unless given --apply (the dry run of `trk run`).
function M.dry_by_default()
  return trk.exec({ "help", "run" }).stdout:find("--apply", 1, true) ~= nil
end

M.tmpdir, M.slurp, M.write = trk.tmpdir, trk.slurp, trk.write

return M
