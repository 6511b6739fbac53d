-- tracker.emulator.base64: the emulator's base64 (RFC 4648, standard alphabet).
--
-- The tracker module has base64 in C, but only for its own Lua parts (bindings/tracker.c gives
-- it to them as `native`, out of a script's reach), and the emulator must also run on a bare
-- lua5.4 without tracker.so. Its decoder is also stricter than that one, as the emulator's
-- attachDocument is (docs/tracker-api.md, section 9): whitespace aside, the text must be whole
-- groups of four with at most two "=" at the end.
--
--   encode(bytes)          -> text, padded with =
--   url(bytes)             -> base64url text without padding (JWT parts)
--   clean(text)            -> the text without whitespace when it is strict base64, or nil
--   decode(text)           -> bytes, or nil when the text is not strict base64

local M = {}

local sub, byte, char, find, gsub = string.sub, string.byte, string.char, string.find, string.gsub
local concat = table.concat

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_ENC, B64_DEC = {}, {}
for i = 1, 64 do
  B64_ENC[i - 1] = sub(B64, i, i)
  B64_DEC[byte(B64, i)] = i - 1
end

local function encode(s)
  local out, n = {}, 0
  for i = 1, #s - 2, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = a << 16 | b << 8 | c
    n = n + 1
    out[n] = B64_ENC[v >> 18] .. B64_ENC[v >> 12 & 63] .. B64_ENC[v >> 6 & 63] .. B64_ENC[v & 63]
  end
  local r = #s % 3
  if r == 1 then
    local v = byte(s, -1) << 16
    out[n + 1] = B64_ENC[v >> 18] .. B64_ENC[v >> 12 & 63] .. "=="
  elseif r == 2 then
    local a, b = byte(s, -2, -1)
    local v = a << 16 | b << 8
    out[n + 1] = B64_ENC[v >> 18] .. B64_ENC[v >> 12 & 63] .. B64_ENC[v >> 6 & 63] .. "="
  end
  return concat(out)
end
M.encode = encode

function M.url(s)
  return (gsub(gsub(encode(s), "[+/]", { ["+"] = "-", ["/"] = "_" }), "=+$", ""))
end

-- Strict base64 (whitespace removed first) -> the text without whitespace, or nil.
local function clean(s)
  s = gsub(s, "%s+", "")
  if #s == 0 or #s % 4 ~= 0 or not find(s, "^[A-Za-z0-9+/]+=?=?$") then return nil end
  return s
end
M.clean = clean

function M.decode(s)
  s = clean(s)
  if not s then return nil end
  local out, n = {}, 0
  for i = 1, #s, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local v = B64_DEC[a] << 18 | B64_DEC[b] << 12 | (B64_DEC[c] or 0) << 6 | (B64_DEC[d] or 0)
    n = n + 1
    if c == 61 then out[n] = char(v >> 16)
    elseif d == 61 then out[n] = char(v >> 16, v >> 8 & 255)
    else out[n] = char(v >> 16, v >> 8 & 255, v & 255) end
  end
  return concat(out)
end

return M
