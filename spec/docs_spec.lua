-- The docs cannot rot: every code block of README.md and docs/*.md is run or checked, and
-- every public function found at run time has an entry in docs/reference.md.
--
-- The convention: a fenced block's info string says what the block is.
--
--   ```lua              a `trk run` script, run against a started `trk emulator` (the demo
--                       database, reset before each doc file) and expected to exit 0.
--   ```lua rule         a rule file, run with `trk rules` (a plan) in a directory of its own.
--   ```lua spec         a busted spec, run with `trk test`.
--   ```lua file         a file a later block uses (a module, a script that needs arguments):
--                       saved only; some later block must name it.
--   ```sh               bash lines, run with `set -e` in the doc's directory, with trk on PATH
--                       (and as build/trk) and the emulator's TRACKER_* variables set.
--   ```sh serve         each line starts a server (`trk emulator ...`): it must print
--                       "listening on http://..." first; it is then stopped.
--   ```text             an output sample or a message, not checked.
--   ```text output      the output of the runnable block before it: each line must occur in
--                       what that block printed, `...` standing for any text.
--   ```json             must be valid JSON.
--   ```json file=NAME   a file a later block uses (a schema file), saved as NAME.
--   ```csv file=NAME    a file a later block uses, saved as NAME.
--   ```LANG norun: WHY  not run, for a reason it must give (needs a real Tracker, runs until
--                       Ctrl-C, ...). Use it sparingly.
--
-- `exit=N` after the kind expects exit status N instead of 0 (a limit, a misuse). A Lua block
-- whose first line is a comment naming a file (`-- rules/x.lua`) is also saved under that
-- name, so that later blocks of the same doc can use it. Each doc runs in a scratch directory
-- of its own that starts with a copy of examples/; its blocks run in order and share it.
-- A failure names the doc file and the line of the block's opening fence.
local trk = require "support.trk"
local server = require "support.server"
local docs = require "support.docs"

local q = trk.quote
local ROOT = trk.root
local SANITIZE = os.getenv("TRK_SANITIZE")
local BLOCK_SECONDS = 60             -- a block that runs longer has hung

local function doc_files()
  local files = { "README.md" }
  local p = io.popen("cd " .. q(ROOT) .. " && ls docs/*.md")
  for f in p:lines() do files[#files + 1] = f end
  p:close()
  return files
end

local function where(doc, b) return string.format("%s:%d", doc, b.line) end

-- A trk for the doc's shell: a link, or under the sanitizer build a wrapper that gives trk
-- its leak check, and `trk test` (busted on the uninstrumented lua5.4) the ASan runtime.
local function install_trk(dir)
  assert(os.execute("mkdir -p " .. q(dir .. "/.bin") .. " " .. q(dir .. "/build")))
  if SANITIZE then
    local w = table.concat({
      "#!/bin/sh",
      "if [ \"$1\" = test ]; then export LD_PRELOAD=" .. q(os.getenv("LD_PRELOAD") or "")
        .. " ASAN_OPTIONS=detect_leaks=0",
      "else export ASAN_OPTIONS=detect_leaks=1:exitcode=86 "
        .. "UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1; fi",
      "exec " .. q(trk.bin) .. " \"$@\"", "" }, "\n")
    trk.write(dir .. "/.bin/trk", w)
    assert(os.execute("chmod +x " .. q(dir .. "/.bin/trk")))
  else
    assert(os.execute("ln -s " .. q(trk.bin) .. " " .. q(dir .. "/.bin/trk")))
  end
  assert(os.execute("ln -s ../.bin/trk " .. q(dir .. "/build/trk")))
end

-- The clean shell a verbatim doc runs in: only PATH and HOME (a HOME of its own: no profiles
-- or settings of the machine's user). Its variables pass from one block to the next through
-- SHELL_STATE, as if every block ran in one shell.
local CLEAN_PATH = "/usr/bin:/bin"
local SHELL_STATE = ".shell_state"

local function clean_shell(dir, line)
  return "env -i PATH=" .. CLEAN_PATH .. " HOME=" .. q(dir .. "/.home") .. " bash -c "
         .. q("[ -f " .. SHELL_STATE .. " ] && . ./" .. SHELL_STATE .. "; " .. line)
end

-- Runs a shell command line in dir with the emulator's environment, or (env "verbatim") in
-- the doc's clean shell; { code, out, err }.
local function shell(dir, env, line)
  local errfile = os.tmpname()
  local how = env == "verbatim" and clean_shell(dir, line)
              or "env PATH=" .. q(dir .. "/.bin") .. ":\"$PATH\" " .. server.shell_env(env) .. " "
                 .. line
  local cmd = server.PLAIN .. "cd " .. q(dir) .. " && timeout " .. BLOCK_SECONDS .. " " .. how
              .. " 2>" .. q(errfile) .. " </dev/null"
  local p = io.popen(cmd, "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local err = trk.slurp(errfile)
  os.remove(errfile)
  return { code = code, out = out, err = err }
end

local function check_exit(doc, b, what, r)
  local want = b.attrs.exit or 0
  local report = (r.err:find("AddressSanitizer", 1, true) or r.err:find("runtime error:", 1, true))
                 and "a sanitizer report" or nil
  if r.code ~= want or report then
    error(string.format("%s: ```%s block: %s exited %s (expected %d)%s\n--- stdout:\n%s\n--- stderr:\n%s",
                        where(doc, b), b.info, what, tostring(r.code), want,
                        report and ", with " .. report or "", r.out, r.err), 0)
  end
end

local function save(dir, b)
  local path = dir .. "/" .. b.name
  assert(os.execute("mkdir -p " .. q(path:match("^(.*)/"))))
  trk.write(path, b.text)
end

-- Runs one block; answers its output (for a `text output` block after it), or nil.
local run = {}

function run.script(ctx, b)
  local name = b.name or string.format("doc_example_%d.lua", b.line)
  if not b.name then trk.write(ctx.dir .. "/" .. name, b.text) end
  local r = shell(ctx.dir, ctx.env, "trk run " .. q(name))
  check_exit(ctx.doc, b, "trk run", r)
  return r.out .. r.err
end

function run.rule(ctx, b)
  local rdir = trk.tmpdir()
  trk.write(rdir .. "/" .. (b.name and b.name:match("[^/]+$") or "rule.lua"), b.text)
  local r = shell(ctx.dir, ctx.env, "trk rules " .. q(rdir) .. " --since 2000-01-01T00:00:00Z")
  check_exit(ctx.doc, b, "trk rules", r)
  if (b.attrs.exit or 0) == 0 and not r.err:find("planned", 1, true)
     and not r.err:find("nothing", 1, true) then
    error(where(ctx.doc, b) .. ": ```lua rule block: trk rules printed no summary:\n" .. r.err, 0)
  end
  return r.out .. r.err
end

function run.spec(ctx, b)
  local name = b.name or string.format("doc_example_%d_spec.lua", b.line)
  if not b.name then trk.write(ctx.dir .. "/" .. name, b.text) end
  local r = shell(ctx.dir, ctx.env, "trk test " .. q(name) .. " -o TAP")
  check_exit(ctx.doc, b, "trk test", r)
  if (b.attrs.exit or 0) == 0 and b.text:find("%f[%w]it%(")
     and not r.out:find("\nok %d") and not r.out:find("^ok %d") then
    error(where(ctx.doc, b) .. ": ```lua spec block: no test ran:\n" .. r.out .. r.err, 0)
  end
  return r.out .. r.err
end

function run.sh(ctx, b)
  local file = string.format("%s/.block_%d.sh", ctx.dir, b.line)
  if ctx.banner then                    -- the block after a verbatim serve: what it printed
    for line in b.text:gmatch("[^\n]+") do
      if not ctx.banner[line] then
        error(string.format("%s: ```sh block: '%s' is not a line the emulator printed:\n%s",
                            where(ctx.doc, b), line, ctx.banner_text), 0)
      end
    end
    ctx.banner = nil
  end
  -- in a verbatim doc the block's variables reach the blocks after it
  local keep = ctx.env == "verbatim" and "\nexport -p > " .. SHELL_STATE .. "\n" or ""
  trk.write(file, "set -eo pipefail\n" .. b.text .. keep)
  local r = shell(ctx.dir, ctx.env, "bash " .. q(file))
  check_exit(ctx.doc, b, "bash", r)
  return r.out .. r.err
end

-- In a verbatim doc a server keeps running for the blocks after it (until the doc ends), and
-- the block after it must be lines it printed (pasted from its banner).
local function serve_verbatim(ctx, b)
  local line = b.text:match("^%s*([^#\n]-)%s*#") or b.text:match("^%s*([^\n]-)%s*$")
  local errfile = ctx.dir .. "/.serve.err"
  local p = io.popen(server.PLAIN .. "cd " .. q(ctx.dir) .. " && echo $$ && exec "
                     .. clean_shell(ctx.dir, "exec " .. line) .. " 2>" .. q(errfile)
                     .. " </dev/null", "r")
  ctx.servers[#ctx.servers + 1] = { pid = p:read("l"), pipe = p }
  local first = p:read("l")
  if not (first and first:match("^listening on http://[^%s]+$")) then
    error(string.format("%s: ```sh serve block: '%s' did not start: first line %s\n%s",
                        where(ctx.doc, b), line, tostring(first), trk.slurp(errfile)), 0)
  end
  local lines, all = {}, { first }
  for l in p:lines() do
    if l:match("^stop with") then break end
    lines[l] = true
    all[#all + 1] = l
  end
  ctx.banner, ctx.banner_text = lines, table.concat(all, "\n")
end

function run.serve(ctx, b)
  if ctx.env == "verbatim" then return serve_verbatim(ctx, b) end
  for line in b.text:gmatch("[^\n]+") do
    if line:find("%S") and not line:match("^%s*#") then
      local errfile = os.tmpname()
      local p = io.popen(server.PLAIN .. "cd " .. q(ctx.dir) .. " && export PATH="
                         .. q(ctx.dir .. "/.bin") .. ":\"$PATH\"; echo $$; exec " .. line
                         .. " 2>" .. q(errfile) .. " </dev/null", "r")
      local pid = p:read("l")
      local first = p:read("l")
      os.execute(server.PLAIN .. "kill -KILL " .. pid .. " 2>/dev/null")
      p:close()
      local err = trk.slurp(errfile)
      os.remove(errfile)
      if not (first and first:match("^listening on http://[^%s]+$")) then
        error(string.format("%s: ```sh serve block: '%s' did not start: first line %s\n%s",
                            where(ctx.doc, b), line, tostring(first), err), 0)
      end
    end
  end
end

function run.json(ctx, b)
  local ok, e = pcall(require("json").decode, b.text)
  if not ok then error(where(ctx.doc, b) .. ": ```json block is not JSON: " .. tostring(e), 0) end
end

function run.output(ctx, b, last)
  if last == nil then
    error(where(ctx.doc, b) .. ": ```text output block follows no block that ran", 0)
  end
  local missing = docs.missing_lines(b.text, last)
  if #missing > 0 then
    error(string.format("%s: ```text output block: not in the output of the block before it:\n"
                        .. "  %s\n--- that output:\n%s", where(ctx.doc, b),
                        table.concat(missing, "\n  "), last), 0)
  end
end

-- A file block must be used by a block after it.
local function check_files_used(doc, blocks)
  for i, b in ipairs(blocks) do
    if b.kind == "file" then
      local base, used = b.name:match("[^/]+$"), false
      for j = i + 1, #blocks do
        if blocks[j].text and blocks[j].text:find(base, 1, true) then used = true break end
      end
      if not used then
        error(where(doc, b) .. ": ```" .. b.info .. " block: no later block uses " .. b.name, 0)
      end
    end
  end
end

-- Docs that run as a user would run them: every variable they need, they set themselves.
local VERBATIM = { ["docs/getting-started.md"] = true }

-- Runs a doc's blocks in order in a scratch directory; env is the emulator's variables, or
-- "verbatim" (the doc's own clean shell, and the servers it starts). Answers its context.
local function run_doc(doc, env)
  local blocks = docs.blocks(trk.slurp(ROOT .. "/" .. doc))
  for _, b in ipairs(blocks) do
    if b.problem then error(where(doc, b) .. ": ```" .. b.info .. ": " .. b.problem, 0) end
  end
  check_files_used(doc, blocks)
  local dir = trk.tmpdir() .. "/doc"
  assert(os.execute("mkdir -p " .. q(dir .. "/.home") .. " && cp -r " .. q(ROOT .. "/examples")
                    .. " " .. q(dir)))
  install_trk(dir)
  local ctx = { doc = doc, dir = dir, env = env, servers = {} }
  local ok, e = pcall(function()
    local last
    for _, b in ipairs(blocks) do
      if b.name and b.kind ~= "norun" then save(dir, b) end
      if run[b.kind] then
        local out = run[b.kind](ctx, b, last)
        if b.kind ~= "output" then last = out end
        if out and b.text:match("^trk doctor") and out:find("trk doctor: %d+ ok") then
          ctx.doctor = not out:find("failed", 1, true)
        end
      end
    end
  end)
  for _, sv in ipairs(ctx.servers) do
    os.execute(server.PLAIN .. "kill -KILL " .. sv.pid .. " 2>/dev/null")
    sv.pipe:close()
  end
  if not ok then error(e, 0) end
  return ctx
end

describe("the docs", function()
  local emu

  setup(function()
    emu = server.start({ "--admin" })
  end)

  teardown(function()
    server.stop_all()
    trk.cleanup()
  end)

  for _, doc in ipairs(doc_files()) do
    if not VERBATIM[doc] then
      it("run as written: " .. doc, function()
        os.execute(server.PLAIN .. "curl -sf -X POST " .. q(emu.url .. "/_emulator/reset")
                   .. " >/dev/null")
        run_doc(doc, server.client_env(emu))
      end)
    end
  end
end)

describe("docs/getting-started.md", function()
  it("runs verbatim in a clean shell: only PATH and HOME set, nothing injected", function()
    local ctx = run_doc("docs/getting-started.md", "verbatim")
    assert.is_true(ctx.doctor)
  end)
end)

describe("the docs convention", function()
  it("reads info strings, and refuses blocks that do not say what they are", function()
    assert.are.same({ lang = "lua", kind = "rule", attrs = {} }, docs.info("lua rule"))
    assert.are.equal(3, docs.info("sh exit=3").attrs.exit)
    assert.are.equal("needs a real Tracker", docs.info("sh norun: needs a real Tracker").reason)
    assert.is_nil((docs.info("")))
    assert.is_nil((docs.info("lua norun")))              -- no reason
    assert.is_nil((docs.info("lua rules")))              -- no such kind
    assert.is_nil((docs.info("python")))
  end)

  it("finds blocks with their lines, names and indentation", function()
    local bs = docs.blocks("# t\n\n```lua rule\n-- rules/a.lua\nreturn {}\n```\n\n- x\n  ```sh\n  trk help\n  ```\n```\n")
    assert.are.equal(3, #bs)
    assert.are.equal(3, bs[1].line)
    assert.are.equal("rules/a.lua", bs[1].name)
    assert.are.equal("trk help\n", bs[2].text)
    assert.is_truthy(bs[3].problem)
  end)

  it("matches output samples line by line, ... standing for any text", function()
    assert.are.same({}, docs.missing_lines("trk: 2 writes planned ... (...)\n",
                                           "x\ntrk: 2 writes planned (2 add_note) (0.1 s)\n"))
    assert.are.same({ "trk: 3 writes" }, docs.missing_lines("trk: 3 writes\n", "trk: 2 writes\n"))
    assert.are.same({ "a (b) [c]" }, docs.missing_lines("a (b) [c]", "a b c"))
    assert.are.same({}, docs.missing_lines("1  add_tag  candidate", "  1   add_tag      candidate 7"))
  end)
end)

-- ---- docs/reference.md covers the API found at run time ---------------------------------------

-- The public names of a table of functions, as `prefix .. name`, sorted.
local function functions(t, prefix, out, values)
  for k, v in pairs(t) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" and (type(v) == "function" or values) then
      out[#out + 1] = prefix .. k
    end
  end
  return out
end

local function enumerate()
  local tracker = require "tracker"
  local testing = require "tracker.testing"
  local migrate = require "tracker.migrate"
  local emulator = require "tracker.emulator"
  local names = {}
  functions(tracker, "tracker.", names)
  names[#names + 1] = "tracker.version"
  functions(tracker.time, "tracker.time.", names)
  functions(tracker.transport, "tracker.transport.", names)
  -- the client and its streams lock their metatables; busted's debug library reads them anyway
  local t = testing.emulator{ testing.candidate{} }
  functions(debug.getmetatable(t).__index, "t:", names)
  local _, s = t:candidates{}
  functions(debug.getmetatable(s).__index, "s:", names)
  s:close()
  functions(testing, "testing.", names, true)
  functions(migrate, "migrate.", names)
  local path = os.tmpname()
  trk.write(path, "id\n1\n")
  local reader = migrate.csv(path)
  functions(getmetatable(reader), "reader:", names)
  local w = migrate.failures(os.tmpname(), { "id" })
  functions(getmetatable(w), "w:", names)
  reader:close()
  os.remove(path)
  functions(emulator, "emulator.", names)
  return names, t
end

describe("docs/reference.md", function()
  local text = trk.slurp(ROOT .. "/docs/reference.md")
  local sections = docs.sections(text)

  local function entry(name)
    for _, sec in ipairs(sections) do
      if sec.level >= 3 and docs.heading_names(sec.heading, name) then return sec end
    end
  end

  local function section(heading)
    for _, sec in ipairs(sections) do
      if sec.heading == heading then return sec end
    end
    error("docs/reference.md has no section '" .. heading .. "'", 2)
  end

  it("has an entry with an example for every public function found at run time", function()
    local names = enumerate()
    table.sort(names)
    local missing = {}
    for _, name in ipairs(names) do
      local sec = entry(name)
      if not sec then
        missing[#missing + 1] = name .. " (no ### heading names it)"
      elseif not sec.body:find("```", 1, true) then
        missing[#missing + 1] = string.format("%s (docs/reference.md:%d: no example)", name, sec.line)
      end
    end
    assert(#names > 70, "found only " .. #names .. " functions: the enumeration is broken")
    assert(#missing == 0, "docs/reference.md lacks:\n  " .. table.concat(missing, "\n  "))
  end)

  it("lists every field the records of each kind have", function()
    local emu = require("tracker.emulator")
    local t = require("tracker").connect{ rate_limit = false, transport = emu.new{
      apikey = "k", username = "ops@example.com", api_token = "tok",
      data = emu.generate{ candidates = 60 } } }
    local missing = {}
    for kind, stream in pairs{ job = "jobs", candidate = "candidates", application = "applications",
                               activity = "activities", placement = "placements",
                               client = "clients", contact = "contacts", lead = "leads" } do
      local body = section(kind .. " records").body
      local seen = {}
      for rec in t[stream](t, {}) do
        for k in pairs(rec) do seen[k] = true end
      end
      assert(next(seen), "no " .. kind .. " records to look at")
      for k in pairs(seen) do
        if not body:find("`" .. k .. "`", 1, true) then missing[#missing + 1] = kind .. "." .. k end
      end
    end
    table.sort(missing)
    assert(#missing == 0, "docs/reference.md does not list record fields:\n  " .. table.concat(missing, "\n  "))
  end)

  it("describes the error object's fields", function()
    local _, t = enumerate()
    local _, err = t:job(999999)
    assert.are.equal("not_found", err.code)
    local body = section("Error objects").body
    for k in pairs(err) do
      assert(body:find("`" .. k .. "`", 1, true), "docs/reference.md: Error objects lacks `" .. k .. "`")
    end
    assert.is_truthy(body:find("tostring(err)", 1, true))
  end)

  it("has an entry for every global a script sees beyond standard Lua", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/g.lua", [[
      for _, lib in ipairs{ "json", "log", "files" } do
        for k in pairs(_G[lib]) do print(lib .. "." .. k) end
      end]])
    local r = trk.exec({ "run", "g.lua" }, { cwd = dir })
    assert.are.equal(0, r.code, r.stderr)
    local missing = {}
    for name in r.stdout:gmatch("[^\n]+") do
      if not entry(name) then missing[#missing + 1] = name end
    end
    assert(#missing == 0, "docs/reference.md lacks:\n  " .. table.concat(missing, "\n  "))
  end)
end)

describe("docs/troubleshooting.md", function()
  it("explains every error code the client has", function()
    -- the codes are the table in bindings/error.c; tracker.error accepts exactly those
    local codes = {}
    local src = trk.slurp(ROOT .. "/bindings/error.c")
    local list = assert(src:match("err_codes%[%] = {(.-)};"), "no err_codes in bindings/error.c")
    for code in list:gmatch('{"([%w_]+)"') do codes[#codes + 1] = code end
    assert(#codes >= 10, "found only " .. #codes .. " codes in bindings/error.c")
    local tracker = require "tracker"
    local text = trk.slurp(ROOT .. "/docs/troubleshooting.md")
    for _, code in ipairs(codes) do
      assert.are.equal(code, tracker.error{ code = code, message = "m" }.code)
      assert(text:find("\n### " .. code .. "\n", 1, true),
             "docs/troubleshooting.md has no '### " .. code .. "' section")
    end
  end)
end)
