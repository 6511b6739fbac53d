-- Runs the trk executable from specs: writes a script to a scratch directory, runs
-- `trk run` on it and returns what happened.
local secrets = require "support.secrets"

local M = {}

M.root = os.getenv("TRK_ROOT") or "."
-- ctest names the executable of the build under test; by hand, the plain build's.
M.bin = os.getenv("TRK") or (io.popen("pwd"):read("l") .. "/build/trk")

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end
M.slurp = slurp

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- A fresh scratch directory, removed by M.cleanup().
local dirs = {}
function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/trk-spec.XXXXXX")
  local d = p:read("l")
  p:close()
  dirs[#dirs + 1] = d
  return d
end

-- A directory `name` in a fresh scratch directory, holding files (name -> text).
function M.dir_with(files, name)
  local dir = M.tmpdir() .. "/" .. (name or "rules")
  assert(os.execute("mkdir -p " .. quote(dir)))
  for file, text in pairs(files) do M.write(dir .. "/" .. file, text) end
  return dir
end

-- Every file under dir (recursively) whose bytes hold one of the suite's secrets, as
-- "path: the apikey" lines; "" when none does.
function M.scan_dir(dir)
  local found = {}
  local p = io.popen("find " .. quote(dir) .. " -type f 2>/dev/null")
  for path in p:lines() do
    local f = io.open(path, "rb")
    local leak = f and secrets.find(f:read("a"))
    if f then f:close() end
    if leak then found[#found + 1] = path .. ": " .. leak end
  end
  p:close()
  return table.concat(found, "\n")
end

-- Removes the scratch directories; raises if a file trk left in one holds a secret (a plan, a
-- journal, a report: nothing trk writes may).
function M.cleanup()
  local leaks = {}
  for _, d in ipairs(dirs) do
    local found = M.scan_dir(d)
    if found ~= "" then leaks[#leaks + 1] = found end
    os.execute("rm -rf " .. quote(d))
  end
  dirs = {}
  if #leaks > 0 then error("secrets in files trk wrote:\n" .. table.concat(leaks, "\n"), 2) end
end

-- Replaces plain text `from` with `to` in a file, once; fails when it is not there.
function M.edit(path, from, to)
  local text = slurp(path)
  local i, j = text:find(from, 1, true)
  assert(i, "no '" .. from .. "' in " .. path)
  M.write(path, text:sub(1, i - 1) .. to .. text:sub(j + 1))
end

-- Runs a shell command; returns its exit code and its stdout and stderr together.
function M.sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out
end

-- Runs trk with the given argument list; returns { code, stdout, stderr }.
-- Under the sanitizer build, trk checks its own leaks, and any sanitizer report fails.
function M.exec(args, opts)
  opts = opts or {}
  local errfile = os.tmpname()
  local cmd = {}
  if os.getenv("TRK_SANITIZE") then
    cmd[#cmd + 1] = "env ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1"
  end
  if opts.cwd then table.insert(cmd, 1, "cd " .. quote(opts.cwd) .. " &&") end
  if opts.env then
    local vars = { "env" }
    for k, v in pairs(opts.env) do vars[#vars + 1] = quote(k .. "=" .. v) end
    cmd[#cmd + 1] = table.concat(vars, " ")
  end
  cmd[#cmd + 1] = quote(M.bin)
  for _, a in ipairs(args) do cmd[#cmd + 1] = quote(a) end
  cmd[#cmd + 1] = "2>" .. quote(errfile)
  if opts.stdin then cmd[#cmd + 1] = "<" .. quote(opts.stdin) else cmd[#cmd + 1] = "</dev/null" end
  local p = io.popen(table.concat(cmd, " "), "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local err = slurp(errfile)
  os.remove(errfile)
  if err:find("ERROR: AddressSanitizer", 1, true) or err:find("ERROR: LeakSanitizer", 1, true)
     or err:find("runtime error:", 1, true) then
    error("sanitizer report from trk " .. table.concat(args, " ") .. ":\n" .. err, 2)
  end
  local leak = secrets.find(out) and "stdout" or secrets.find(err) and "stderr"
  if leak then
    error(string.format("trk %s printed %s on %s:\n%s", table.concat(args, " "),
                        secrets.find(out) or secrets.find(err), leak, leak == "stdout" and out or err), 2)
  end
  return { code = code, stdout = out, stderr = err }
end

-- Writes source to a script file (name defaults to "script.lua") in a scratch directory and
-- runs `trk run` on it with options (a list) and script arguments (after --); env: variables.
function M.run(source, options, args, name, env)
  local dir = M.tmpdir()
  name = name or "script.lua"
  M.write(dir .. "/" .. name, source)
  local argv = { "run", name }
  for _, o in ipairs(options or {}) do argv[#argv + 1] = o end
  if args then
    argv[#argv + 1] = "--"
    for _, a in ipairs(args) do argv[#argv + 1] = a end
  end
  local r = M.exec(argv, { cwd = dir, env = env })
  r.dir = dir
  return r
end

return M
