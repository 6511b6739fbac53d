-- tracker.emulator.problem: RFC 7807 problem answers, as ASP.NET Core writes them: the REST
-- API's failures, and the front's own (404 and 405 of any path, 429 of the rate limit and of
-- bursts, 500 of an error fault or of a bug). The trace id follows from the request count, so
-- answers are the same from run to run.
--
--   answer(emu, status, detail [, errors [, headers]]) -> status, headers, body
--                          errors: { [field] = { message, ... } } makes it a validation
--                          problem; headers are added to the answer's

local json_out = require "tracker.emulator.json_out"
local random = require "tracker.emulator.random"
local W = require "tracker.emulator.wire"

local M = {}

local pairs, tostring = pairs, tostring
local fmt = string.format

local fnv = random.fnv

local function trace_id(emu)
  local h = fnv(tostring(emu.requests), fnv(emu.timezone))
  return fmt("00-%016x%016x-%016x-00", h, fnv("t", h), fnv("s", h))
end

function M.answer(emu, status, detail, errors, headers)
  local p = W.problems[status] or W.problems[500]
  local body = { type = p[1], title = errors and W.validation_title or p[2], status = status,
                 traceId = trace_id(emu), detail = detail, errors = errors }
  local h = { ["content-type"] = W.content.problem }
  for k, v in pairs(headers or {}) do h[k] = v end
  return status, h, json_out.encode(body)
end

return M
