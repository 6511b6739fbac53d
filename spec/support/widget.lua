-- Raw widget calls to an in-process emulator, for specs that check what it answers.
local json = require "json"

local M = {}

-- call(emu, verb, node, headers) and records(emu, instructions, credentials), sending `creds`
-- unless the node names its own credentials (false: none at all). Both return the decoded
-- answer, the HTTP status and the body text.
function M.caller(creds)
  local function call(emu, verb, node, headers)
    node = node or {}
    if node.credentials == nil then node.credentials = creds end
    if node.credentials == false then node.credentials = nil end
    local status, _, body = emu:handle("POST", "/api/widget/" .. verb, headers or {},
                                       json.encode({ trackerrms = { [verb] = node } }))
    return json.decode(body), status, body
  end
  local function records(emu, instructions, credentials)
    return call(emu, "getRecords", { instructions = instructions, credentials = credentials })
  end
  return call, records
end

-- The ids of a getRecords answer's results, in order.
function M.ids(answer)
  local out = {}
  for i, r in ipairs(answer.results) do out[i] = r.id end
  return out
end

-- The keys of a table, sorted.
function M.keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

return M
