-- tracker.emulator.random: the emulator's deterministic numbers. The same seed gives the same
-- generated database and the same fault decisions; the same text, the same token signature
-- and trace id.
--
--   rng(seed)              -> r: splitmix64; r(n) -> 1..n, r() -> [0, 1)
--   fnv(s [, h])           -> FNV-1a of s, 64 bits (an integer), continuing from h

local M = {}

local byte = string.byte
local tointeger = math.tointeger

-- Splitmix64: a small deterministic generator. r(n) -> 1..n, r() -> [0, 1).
function M.rng(seed)
  local s = (tointeger(seed) or 0) ~ 0x5DEECE66D
  return function(n)
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    if n then return (z >> 1) % n + 1 end
    return (z >> 11) * (1.0 / 9007199254740992.0)
  end
end

-- FNV-1a, 64 bit, for token signatures and trace ids.
function M.fnv(s, h)
  h = h or -3750763034362895579
  for i = 1, #s do
    h = (h ~ byte(s, i)) * 1099511628211
  end
  return h
end

return M
