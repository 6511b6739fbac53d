-- The credentials the whole suite runs with, and the scan that proves none of them leaks.
--
-- They are distinctive on purpose: no other text in trk, its data or its messages contains
-- them, so finding one (or its base64 form) in anything trk produced is a leak. spec/support/
-- server.lua starts every emulator with them and client_env hands them to trk; spec/support/
-- trk.lua scans every byte a trk process writes; spec/secrets_spec.lua runs what tends to leak.
local M = {}

M.apikey = "trk-secret-apikey-7Q4ZvX2mK9pL"
M.username = "soak.automation@example.com"     -- not a secret: it appears in data and logs
M.api_token = "trk-secret-token-R8nW3cT6yB1d"
M.password = "trk-secret-password-J5hF0qZ4sE7u"

-- name -> value, for each value that must never appear
M.values = { apikey = M.apikey, api_token = M.api_token, password = M.password }

-- ---- base64 ----------------------------------------------------------------------------------

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local quad = {}
    for k = 1, 4 do
      local v = (n >> (6 * (4 - k))) & 63
      quad[k] = ALPHABET:sub(v + 1, v + 1)
    end
    if not b then quad[3], quad[4] = "=", "="
    elseif not c then quad[4] = "=" end
    out[#out + 1] = table.concat(quad)
  end
  return table.concat(out)
end
M.base64 = b64

-- The base64 texts that show a value wherever it sits in a longer encoded string (as in an HTTP
-- Basic header, "user:password"): one per alignment, cut to the characters that depend only on
-- the value's own bytes. URL-safe base64 differs only in + and /, which are mapped too.
local function encoded_forms(value)
  local forms = {}
  for shift = 0, 2 do
    local enc = b64(("\0"):rep(shift) .. value)
    local first = shift == 0 and 1 or (shift == 1 and 3 or 4)   -- skip chars mixing the padding
    local tail = (shift + #value) % 3                            -- bytes of the last, partial group
    local last = #enc - (tail == 0 and 0 or 4)
    local core = enc:sub(first, last)
    forms[#forms + 1] = core
    forms[#forms + 1] = (core:gsub("%+", "-"):gsub("/", "_"))
  end
  return forms
end

-- The patterns of values (name -> value): { { name =, form =, text = }, ... }, every form
-- to look for.
function M.patterns_of(values)
  local list = {}
  for name, value in pairs(values) do
    list[#list + 1] = { name = name, form = "plain", text = value }
    local seen = {}
    for _, f in ipairs(encoded_forms(value)) do
      if not seen[f] then list[#list + 1] = { name = name, form = "base64", text = f } end
      seen[f] = true
    end
  end
  return list
end
M.patterns = M.patterns_of(M.values)

-- The first secret found in text, as "the apikey (base64)"; nil when there is none. patterns
-- defaults to the suite's credentials.
function M.find(text, patterns)
  if type(text) ~= "string" then return nil end
  for _, p in ipairs(patterns or M.patterns) do
    if text:find(p.text, 1, true) then
      return "the " .. p.name .. (p.form == "plain" and "" or " (" .. p.form .. ")")
    end
  end
  return nil
end

return M
