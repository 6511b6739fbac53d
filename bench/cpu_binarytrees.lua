-- A CPU-bound workload for the sandbox-overhead benchmark (bench/startup.sh sandbox): the
-- classic binary-trees benchmark (allocation and recursion), depth 14. Plain Lua only, so
-- that `lua5.4 FILE` and `trk run FILE` run the very same source.
local function bottom_up(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end

local function check(tree)
  if tree[1] then return 1 + check(tree[1]) + check(tree[2]) end
  return 1
end

local N = 14
local maxdepth = math.max(6, N)
local stretch = maxdepth + 1
print(("stretch tree of depth %d\t check: %d"):format(stretch, check(bottom_up(stretch))))
local long_lived = bottom_up(maxdepth)
for depth = 4, maxdepth, 2 do
  local iters = 1 << (maxdepth - depth + 4)
  local c = 0
  for _ = 1, iters do c = c + check(bottom_up(depth)) end
  print(("%d\t trees of depth %d\t check: %d"):format(iters, depth, c))
end
print(("long lived tree of depth %d\t check: %d"):format(maxdepth, check(long_lived)))
