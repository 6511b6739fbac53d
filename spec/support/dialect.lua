-- The client suites over every emulator dialect (docs/emulator.md, Dialects).
--   each(B, suites...)  runs each suite (a function of a backend) once a dialect, with
--                       backend(B, dialect)
--   backend(B, dialect) a client-suite backend (spec/support/client_suite.lua) for one
--                       dialect: B, its emulators started in `dialect`, and its clients given
--                       the fixture's stages as configuration where that dialect's settings
--                       list none (docs/configuration.md: how a user of such a database names
--                       them). opts.stages given by a test wins; false gives none.
local emulator = require "tracker.emulator"

local M = {}

function M.backend(B, dialect)
  local rows = emulator.dialects.resolve(dialect)
  local b = setmetatable({ dialect = dialect, rich = dialect == "rich",
                           name = B.name .. ", " .. dialect .. " dialect" }, { __index = B })
  local stages
  function b.start(cfg)
    local c = {}
    for k, v in pairs(cfg or {}) do c[k] = v end
    c.dialect = dialect
    stages = nil
    if not rows.settings_stages then stages = emulator.new({ data = c.data }):stages() end
    return B.start(c)
  end
  function b.connect(opts)
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    if o.stages == nil then o.stages = stages end
    if o.stages == false then o.stages = nil end
    return B.connect(o)
  end
  return b
end

function M.each(B, ...)
  for _, dialect in ipairs(emulator.dialects.names()) do
    local b = M.backend(B, dialect)
    for i = 1, select("#", ...) do (select(i, ...))(b) end
  end
end

return M
