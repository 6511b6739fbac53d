-- tracker.sandbox: the one definition of what a trk script may see.
--
-- The trk runtime builds every script's environment with M.build, passing its own safe
-- replacements (print, pcall, require, ...) as overrides; specs build the same environment
-- around plain Lua so rules can be tested as they will run.

local M = {}

local error, next, pairs, type = error, next, pairs, type
local rawset, rawget, setmetatable, getmetatable = rawset, rawget, setmetatable, getmetatable
local load, collectgarbage, tostring = load, collectgarbage, tostring
local find, fmt, gmatch, match, sub =
      string.find, string.format, string.gmatch, string.match, string.sub
local sort = table.sort

-- Global functions and values a script sees.
M.globals = {
  "_G", "_VERSION", "arg", "assert", "collectgarbage", "error", "files", "getmetatable",
  "ipairs", "json", "load", "log", "next", "pairs", "pcall", "print", "rawequal", "rawget",
  "rawlen", "rawset", "require", "select", "setmetatable", "tonumber", "tostring", "type",
  "xpcall",
}

-- Library tables and the names each keeps. Every one is frozen for the script.
M.libraries = {
  coroutine = { "close", "create", "isyieldable", "resume", "running", "status", "wrap",
                "yield" },
  math = { "abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge",
           "log", "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random",
           "randomseed", "sin", "sqrt", "tan", "tointeger", "type", "ult" },
  os = { "clock", "date", "difftime", "time" },
  string = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match",
             "pack", "packsize", "rep", "reverse", "sub", "unpack", "upper" },
  table = { "concat", "insert", "move", "pack", "remove", "sort", "unpack" },
  utf8 = { "char", "charpattern", "codepoint", "codes", "len", "offset" },
}

-- What is deliberately absent (documentation, and the spec checks each stays absent).
M.denied = {
  "io", "package", "debug", "dofile", "loadfile", "warn", "string.dump", "os.execute",
  "os.exit", "os.getenv", "os.remove", "os.rename", "os.setlocale", "os.tmpname",
}

-- What a script has instead of each absent name, for the error that meets it.
local DOCS = "see docs/sandbox.md"
M.instead = {
  io = "read a file granted with --input through files.open(name), write one granted with "
       .. "--output through files.create(name)",
  package = "require finds trk's modules and .lua files beside the script",
  debug = "an error names its file and line, and its traceback shows the script's frames",
  dofile = "require a .lua file beside the script",
  loadfile = "require a .lua file beside the script, or load(text)",
  warn = "log.warn(...) writes a warning on stderr",
  ["string.dump"] = "load takes Lua text only",
  ["os.execute"] = "a script runs no programs: run them before or after trk",
  ["os.exit"] = "return from the script, or error(...) to fail it",
  ["os.getenv"] = "pass values as script arguments (trk run SCRIPT -- ARGS: arg[1], ...)",
  ["os.remove"] = "files.create(name) writes a file granted with --output",
  ["os.rename"] = "files.create(name) writes a file granted with --output",
  ["os.setlocale"] = "string.format and os.date use the C locale",
  ["os.tmpname"] = "files.create(name) writes a file granted with --output",
}

-- The sorted list of every dotted name the environment holds ("string.rep", "print", ...).
function M.names()
  local out = {}
  for _, g in pairs(M.globals) do out[#out + 1] = g end
  for lib, names in pairs(M.libraries) do
    out[#out + 1] = lib
    for _, n in pairs(names) do out[#out + 1] = lib .. "." .. n end
  end
  sort(out)
  return out
end

-- ---- errors as a script's author reads them ---------------------------------------------

-- Where trk's own Lua lives when it is loaded from files (busted, with tracker.testing): the
-- directory above this file's. Inside trk every module is an embedded "=[trk]"/"=[tracker]" chunk.
local getinfo = type(debug) == "table" and debug.getinfo or nil
local OWN_ROOT = getinfo and match(getinfo(1, "S").source, "^@(.-)tracker[/\\][^/\\]*$")

-- Whether a chunk's source is trk's own code (or the test framework's, in busted).
local function own_source(src)
  if find(src, "^=%[t") then return true end                    -- =[trk] and =[tracker] chunks
  if OWN_ROOT and (find(src, OWN_ROOT .. "tracker/", 2, true) == 2
                   or find(src, OWN_ROOT .. "trk/", 2, true) == 2) then return true end
  return find(src, "[/\\]luassert[/\\]") ~= nil or find(src, "[/\\]busted[/\\]") ~= nil
end

-- "file:line" of the innermost caller outside trk's code, from `level` up, and its debug info;
-- nil where the debug library is absent (inside trk the host knows the script's line:
-- runtime/sandbox.c).
function M.user_where(level)
  if not getinfo then return nil end
  for l = (level or 1) + 1, 60 do
    local info = getinfo(l, "Sl")
    if info == nil then return nil end
    if info.what ~= "C" and info.currentline > 0 and not own_source(info.source) then
      return info.short_src .. ":" .. info.currentline, info
    end
  end
end

-- The location an error message starts with when it is a line of trk's own code: an embedded
-- module ("[trk] tracker/rules.lua:180: ", "[tracker] pipeline.lua:232: ") or one of trk's
-- library files ("/usr/share/lua/5.4/tracker/testing.lua:53: ", maybe cut to "...").
local function own_location(line)
  local loc = match(line, "^%[trk%] [%w_/.]+:%d+: ") or match(line, "^%[tracker%] [%w_/.]+:%d+: ")
  if loc then return loc end
  loc = match(line, "^[^:\n]-:%d+: ")
  if loc and (find(loc, "[/.]tracker/[%w_/]+%.lua:%d+: $") or find(loc, "[/.]trk/[%w_]+%.lua:%d+: $")
              or find(loc, "^tracker/") or find(loc, "^trk/")) then
    return loc
  end
end

-- msg as a script's author should read it: its first line at the author's own line `where`
-- ("file:line", when known) instead of a line of trk's code or none, and, when it is about a
-- name the sandbox removes, what to use instead. The rest (a traceback) is kept as it is.
function M.explain(msg, where)
  msg = tostring(msg)
  local first, rest = match(msg, "^([^\n]*)(.*)$")
  local own = own_location(first)
  if own then first = sub(first, #own + 1) end
  if where and where ~= "" and not match(first, "^[^:]-:%d+: ")
     and sub(first, 1, #where + 2) ~= where .. ": " then
    first = where .. ": " .. first
  end
  local global = match(first, "%(global '([%w_]+)'%)$")
  local field = match(first, "%(field '([%w_]+)'%)$") or match(first, "%(method '([%w_]+)'%)$")
  local name = global and M.instead[global] and global
  if not name and field then
    name = (M.instead["os." .. field] and "os." .. field)
           or (M.instead["string." .. field] and "string." .. field)
  end
  if name then
    first = fmt("%s; %s is not available in trk scripts (the sandbox removes it): %s; %s", first,
                global and name or "if that is " .. name .. ", it", M.instead[name], DOCS)
  end
  return first .. rest
end

-- ---- freezing -------------------------------------------------------------------------

local frozen = setmetatable({}, { __mode = "k" })   -- proxy -> library name

-- A read-only view of t: reads and pairs go through, writes raise, the real table is hidden.
local function freeze(name, t)
  local proxy = {}
  setmetatable(proxy, {
    __index = t,
    __newindex = function(_, k)
      local field = type(k) == "string" and "'" .. k .. "'" or "of type " .. type(k)
      error("attempt to modify read-only table '" .. name .. "' (field " .. field .. ")", 2)
    end,
    __pairs = function() return function(_, k) return next(t, k) end, proxy, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  frozen[proxy] = name
  return proxy
end
M.freeze = freeze

-- Marks trk's own object t (a client) read-only to rawset too; its metatable refuses the rest.
function M.protect(t, name)
  frozen[t] = name
  return t
end

function M.is_frozen(t)
  return frozen[t] ~= nil
end

-- ---- replacements that need nothing from the host ------------------------------------

local function safe_rawset(t, k, v)
  if frozen[t] then
    error("rawset: table '" .. frozen[t] .. "' is read-only", 2)
  end
  return rawset(t, k, v)
end

-- Finalizers run with debug hooks off, where no limit can stop them: refuse them outright.
-- (Lua marks an object for finalization only if __gc is present when the metatable is set.)
local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc metamethods are not allowed in the sandbox", 2)
  end
  return setmetatable(t, mt)
end

-- Lua's parser resolves gotos in time that grows with the square of their number, inside one
-- C call no limit can interrupt: a chunk may hold this many at most.
M.max_gotos = 10000

local function count_gotos(text, n)
  local i = 1
  while n <= M.max_gotos do
    local _, last = find(text, "goto", i, true)
    if not last then break end
    n, i = n + 1, last + 1
  end
  return n
end

local GOTO_ERROR = "load: more than " .. M.max_gotos .. " goto statements in one chunk"

local function safe_load(env, chunk, name, e)
  if type(chunk) == "string" and sub(chunk, 1, 1) == "\27" then
    return nil, "attempt to load a binary chunk (mode is 't'): trk loads Lua text only, never "
                .. "bytecode (" .. DOCS .. ")"
  elseif type(chunk) == "string" and count_gotos(chunk, 0) > M.max_gotos then
    return nil, GOTO_ERROR
  elseif type(chunk) == "function" then
    local reader, n = chunk, 0
    chunk = function()
      local piece = reader()
      if type(piece) == "string" then
        n = count_gotos(piece, n)
        if n > M.max_gotos then error(GOTO_ERROR, 0) end
      end
      return piece
    end
  end
  return load(chunk, name, "t", e == nil and env or e)
end

local function safe_collectgarbage(opt)
  if opt ~= "count" then
    error("collectgarbage: only \"count\" is available in the sandbox", 2)
  end
  return collectgarbage("count")
end

-- ---- require -------------------------------------------------------------------------

-- Module names trk accepts: dot-separated segments of letters, digits and _, none starting
-- with a digit, 200 bytes at most.
local function valid_module(name)
  if type(name) ~= "string" or name == "" or #name > 200 then return false end
  for segment in gmatch(name .. ".", "(.-)%.") do
    if not match(segment, "^[%a_][%w_]*$") then return false end
  end
  return true
end

local LOADING = setmetatable({}, { __name = "loading" })   -- a module being loaded

-- M.requirer(how) -> require: trk's require for one script environment, the same under trk
-- (runtime/sbxlib.c gives its finder) and in the busted kit (tracker.testing gives its own).
--   how.loaded   name -> module: what is loaded so far (may start with modules of the host's)
--   how.builtin  name -> function() -> module, for modules that are not a chunk ("tracker")
--   how.find     function(name) -> chunk (a function whose _ENV is the script's environment)
--                | nil, the file looked for | false, why it cannot be loaded (a module no
--                script may load, a chunk with a syntax error)
-- Errors name the script's line: invalid names, loops, modules not found or refused, chunks
-- that do not load; what a module raises as it runs is raised as it is.
function M.requirer(how)
  local loaded, builtin, find_module = how.loaded or {}, how.builtin or {}, how.find
  return function(name)
    if not valid_module(name) then
      error(fmt("bad argument #1 to 'require' (invalid module name '%s' (use names like "
                .. "'helpers' or 'lib.util': letters, digits, _ and dots))", tostring(name)), 2)
    end
    local v = loaded[name]
    if v == LOADING then error(fmt("require: module '%s' requires itself (a loop)", name), 2) end
    if v ~= nil then return v end
    local make = builtin[name]
    if make then
      v = make()
    else
      local chunk, tried = find_module(name)
      if chunk == false then error(tried, 2) end      -- refused, or it does not load
      if not chunk then
        error(fmt("module '%s' not found: not shipped with trk, and no file '%s' beside the "
                  .. "script (trk loads no C modules or LuaRocks packages; %s)", name,
                  tostring(tried), DOCS), 2)
      end
      loaded[name] = LOADING
      -- a module that raises while it loads is not left marked (it could be required again);
      -- called directly, not in a pcall, so that a traceback shows the module's own frames
      local _ <close> = setmetatable({}, { __close = function(_, e)
        if e ~= nil and loaded[name] == LOADING then loaded[name] = nil end
      end })
      v = chunk(name)
    end
    if v == nil then v = true end
    loaded[name] = v
    return v
  end
end

-- ---- building -------------------------------------------------------------------------

-- Builds a script environment.
--   opts.source     where unreplaced names come from (default: this module's _G)
--   opts.overrides  replacements by dotted name: { print = f, ["string.find"] = f, json = t }
--   opts.string_metatable  point the shared string metatable at the frozen string table
--                          (the trk runtime does; specs in a shared state must not)
function M.build(opts)
  opts = opts or {}
  local source = opts.source or _G
  local over = opts.overrides or {}
  local env = {}

  local function pick(dotted, value)
    local v = over[dotted]
    if v == nil then v = value end
    if v == nil then error("sandbox.build: nothing provides '" .. dotted .. "'", 2) end
    return v
  end

  local defaults = {
    rawset = safe_rawset, setmetatable = safe_setmetatable,
    collectgarbage = safe_collectgarbage,
    load = function(chunk, name, _, e) return safe_load(env, chunk, name, e) end,
  }
  for _, g in pairs(M.globals) do
    if g ~= "_G" then
      local v = over[g]
      if v == nil then v = defaults[g] end
      if v == nil then v = source[g] end
      if v ~= nil then
        if type(v) == "table" and not frozen[v] then v = freeze(g, v) end
        env[g] = v
      elseif g ~= "arg" then
        error("sandbox.build: nothing provides '" .. g .. "'", 2)
      end
    end
  end
  env._G = env

  local copies = {}
  for lib, names in pairs(M.libraries) do
    local from = source[lib] or {}
    local copy = {}
    for _, n in pairs(names) do copy[n] = pick(lib .. "." .. n, from[n]) end
    copies[lib] = copy
    env[lib] = freeze(lib, copy)
  end

  if opts.string_metatable then
    -- Methods look up the copy directly (one step, not two through the proxy): scripts
    -- cannot reach it, since the metatable itself is hidden.
    local smt = getmetatable("")
    smt.__index = copies.string
    smt.__metatable = false
  end
  return env
end

return M
