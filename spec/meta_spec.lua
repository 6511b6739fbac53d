-- The LuaLS definitions (bindings/meta/) against the code: every public function found at run
-- time has an annotation, and the fields annotated for records, errors, options and the rule
-- context are the ones the code has.
local tracker = require "tracker"
local testing = require "tracker.testing"
local migrate = require "tracker.migrate"
local emulator = require "tracker.emulator"
local trk = require "support.trk"

local ROOT = os.getenv("TRK_ROOT") or "."
local META = ROOT .. "/bindings/meta"

-- ---- the definitions, read -----------------------------------------------------------------------

-- { functions = { ["tracker.Client.jobs"] = true }, classes = { name = { fields =, parent = } },
--   aliases = { name = { "member", ... } } }
local function read_meta()
  local defs = { functions = {}, classes = {}, aliases = {} }
  local list = assert(io.popen("find '" .. META .. "' -name '*.lua' | sort"))
  local nfiles = 0
  for path in list:lines() do
    nfiles = nfiles + 1
    local bind, pending, alias = {}, nil, nil
    for line in io.lines(path) do
      local class, parent = line:match("^%-%-%-@class ([%w_.]+):?%s*([%w_.]*)")
      if class then
        pending, alias = class, nil
        defs.classes[class] = defs.classes[class] or { fields = {} }
        if parent ~= "" then defs.classes[class].parent = parent end
      end
      local a = line:match("^%-%-%-@alias ([%w_.]+)%s*$")
      if a then alias, defs.aliases[a] = a, {} end
      local member = alias and line:match('^%-%-%-| "([%w_]+)"')
      if member then table.insert(defs.aliases[alias], member) end
      local field = pending and line:match("^%-%-%-@field ([%w_]+)")
      if field then defs.classes[pending].fields[field] = true end
      local var = line:match("^local ([%w_]+) = {}") or line:match("^([%w_.]+) = {}")
      if var then
        if pending then bind[var] = pending end
        pending = nil
      end
      local owner, name = line:match("^function ([%w_.]+)[.:]([%w_]+)%(")
      if owner then
        local head, rest = owner:match("^([%w_]+)(.*)$")
        local cls = bind[owner] or (bind[head] and bind[head] .. rest) or owner
        defs.functions[cls .. "." .. name] = true
      end
    end
  end
  list:close()
  assert(nfiles > 0, "no definition files under " .. META)
  return defs
end

local defs = read_meta()

-- The fields of a class and of the classes it extends.
local function fields_of(class)
  local out = {}
  while class do
    local c = defs.classes[class]
    assert(c, "no class " .. class .. " in " .. META)
    for f in pairs(c.fields) do out[f] = true end
    class = c.parent
  end
  return out
end

-- ---- what the code has ------------------------------------------------------------------------------

local function sorted(set)
  local l = {}
  for k in pairs(set) do l[#l + 1] = k end
  table.sort(l)
  return l
end

-- Fails naming every name of `names` that `set` lacks.
local function assert_all_in(names, set, what)
  local missing = {}
  for _, n in ipairs(names) do
    if not set[n] then missing[#missing + 1] = n end
  end
  assert(#missing == 0, what .. " missing from " .. META .. ": " .. table.concat(missing, ", "))
end

-- The functions of a table (its own, or a metatable's __index), as PREFIX.name.
local function functions_of(t, prefix, out)
  out = out or {}
  for k, v in pairs(t) do
    if type(v) == "function" and type(k) == "string" and not k:match("^__") then
      out[#out + 1] = prefix .. "." .. k
    end
  end
  return out
end

local function methods_of(obj, prefix)
  local mt = debug.getmetatable(obj)
  assert(mt and type(mt.__index) == "table", prefix .. ": no method table")
  return functions_of(mt.__index, prefix)
end

-- The names in a message's "(fields: a, b, c)" list.
local function listed(message, word)
  local list = tostring(message):match("%(" .. word .. ": ([^)]*)%)")
  assert(list, "no '" .. word .. "' list in: " .. tostring(message))
  local out = {}
  for name in list:gmatch("[%w_]+") do out[#out + 1] = name end
  return out
end

local function tmpname()
  local p = os.tmpname()
  finally(function() os.remove(p) end)
  return p
end

describe("the LuaLS definitions", function()
  teardown(trk.cleanup)

  it("annotate every function of the tracker module and its tables", function()
    local names = functions_of(tracker, "tracker")
    for k, v in pairs(tracker) do
      if type(v) == "table" then functions_of(v, "tracker." .. k, names) end
    end
    assert.is_true(#names >= 10)
    assert_all_in(names, defs.functions, "functions of tracker")
  end)

  it("annotate every method of a connected client", function()
    local names = methods_of(testing.emulator{}, "tracker.Client")
    assert.is_true(#names >= 30)
    assert_all_in(names, defs.functions, "client methods")
  end)

  it("annotate every method of a stream", function()
    local _, s = testing.emulator{}:jobs{}
    local names = methods_of(s, "tracker.Stream")
    s:close()
    assert_all_in(names, defs.functions, "stream methods")
  end)

  it("annotate every function of tracker.testing and tracker.migrate", function()
    local names = functions_of(testing, "tracker.testing")
    functions_of(migrate, "tracker.migrate", names)
    assert_all_in(names, defs.functions, "functions")
  end)

  it("annotate the CSV reader's and the failure writer's methods", function()
    local csv, out = tmpname(), tmpname()
    local f = assert(io.open(csv, "w"))
    f:write("email,name\na@example.com,Ann\n")
    f:close()
    local rows = migrate.csv(csv)
    local failures = migrate.failures(out, rows)
    local names = methods_of(rows, "tracker.migrate.CsvReader")
    for _, n in ipairs(methods_of(failures, "tracker.migrate.FailureWriter")) do names[#names + 1] = n end
    failures:close()
    rows:close()
    assert_all_in(names, defs.functions, "reader and writer methods")
  end)

  it("annotate tracker.emulator and the emulator methods its header names public", function()
    local names = functions_of(emulator, "tracker.emulator")
    local header = assert(io.open(ROOT .. "/scripts/tracker/emulator.lua")):read("a")
    local public = header:match("An emu: (.-)%.\n")
    assert(public, "scripts/tracker/emulator.lua: no 'An emu: ...' list of public methods")
    local emu = emulator.new{}
    for name in public:gmatch("([%w_]+)%(") do
      assert.are.equal("function", type(emu[name]), "emu:" .. name)
      names[#names + 1] = "tracker.Emulator." .. name
    end
    assert.is_true(#names >= 10)
    assert_all_in(names, defs.functions, "emulator functions")
  end)

  it("annotate the globals trk's sandbox gives scripts", function()
    local r = trk.run([[
      for _, g in ipairs{ "json", "log", "files" } do
        for k, v in pairs(_G[g]) do
          if type(v) == "function" then print(g .. "." .. k) end
        end
      end]])
    assert.are.equal(0, r.code, r.stderr)
    local names = {}
    for name in r.stdout:gmatch("[%w_.]+") do names[#names + 1] = name end
    assert.is_true(#names >= 6, r.stdout)
    assert_all_in(names, defs.functions, "sandbox globals")
  end)
end)

describe("the LuaLS field annotations", function()
  it("list every error code, and only codes tracker.error accepts", function()
    local codes = defs.aliases["tracker.ErrorCode"]
    assert(codes and #codes > 0, "no alias tracker.ErrorCode")
    for _, c in ipairs(codes) do
      assert(pcall(tracker.error, { code = c, message = "m" }), "tracker.error refuses code " .. c)
    end
    local known = {}
    for _, c in ipairs(codes) do known[c] = true end
    local source = assert(io.open(ROOT .. "/bindings/error.c")):read("a")
    local block = source:match("err_codes%[%] = {(.-)};")
    local names = {}
    for c in block:gmatch('{"([%w_]+)"') do names[#names + 1] = c end
    assert.is_true(#names >= 10)
    assert_all_in(names, known, "error codes")
  end)

  it("cover every field of an error", function()
    local _, err = testing.emulator{}:job(987654)
    assert.is_true(tracker.is_error(err))
    assert_all_in(sorted(err), fields_of("tracker.Error"), "tracker.Error fields")
  end)

  it("cover every field of every kind of record", function()
    local emu = emulator.new{ apikey = "k", username = "u@example.com", api_token = "t",
                              data = emulator.generate{ candidates = 40 } }
    local t = tracker.connect{ transport = emu, rate_limit = false }
    for stream, class in pairs{ jobs = "tracker.Job", candidates = "tracker.Candidate",
                                applications = "tracker.Application",
                                activities = "tracker.Activity", clients = "tracker.ClientRecord",
                                contacts = "tracker.Contact", leads = "tracker.Lead",
                                placements = "tracker.Placement" } do
      local seen, n = {}, 0
      for rec in t[stream](t, {}) do
        n = n + 1
        for k in pairs(rec) do seen[k] = true end
      end
      assert(n > 0, "no " .. stream .. " to look at")
      assert_all_in(sorted(seen), fields_of(class), class .. " fields")
    end
  end)

  it("name only options tracker.connect knows", function()
    for name in pairs(fields_of("tracker.ConnectOptions")) do
      local ok, e = pcall(tracker.connect, { [name] = {} })
      assert(ok or not tostring(e):find("unknown option", 1, true),
             "tracker.ConnectOptions." .. name .. ": " .. tostring(e))
    end
  end)

  it("match the fields of the testing builders both ways", function()
    for kind, class in pairs{ job = "JobFields", candidate = "CandidateFields",
                              application = "ApplicationFields", note = "NoteFields",
                              client = "ClientFields", contact = "ContactFields",
                              lead = "LeadFields", placement = "PlacementFields" } do
      local fields = { no_such_field = 1 }
      if kind == "note" then fields.on = testing.job{} end
      if kind == "application" or kind == "placement" then fields.candidate, fields.job = 1, 2 end
      local _, e = pcall(testing[kind], fields)
      local names = listed(e, "fields")
      local annotated = fields_of("tracker.testing." .. class)
      assert_all_in(names, annotated, "tracker.testing." .. class)
      local known = {}
      for _, n in ipairs(names) do known[n] = true end
      assert_all_in(sorted(annotated), known, "testing." .. kind .. " fields (annotated, unknown to the code)")
    end
  end)

  it("match the options of testing.emulator and testing.run_rule", function()
    local _, e1 = pcall(testing.emulator, {}, { no_such_option = 1 })
    assert_all_in(listed(e1, "options"), fields_of("tracker.testing.EmulatorOptions"), "EmulatorOptions")
    local rule = { on = "jobs", action = function() end }
    local _, e2 = pcall(testing.run_rule, rule, testing.emulator{}, { no_such_option = 1 })
    assert_all_in(listed(e2, "options"), fields_of("tracker.testing.RunOptions"), "RunOptions")
  end)

  it("type a rule's record by its kind, for every kind a rule may be on", function()
    local _, e = pcall(testing.run_rule, { on = "bogus", action = function() end }, testing.emulator{})
    local kinds = tostring(e):match("use one of ([%w_, ]+)")
    assert(kinds, "no list of kinds in: " .. tostring(e))
    local text = assert(io.open(META .. "/rule.lua")):read("a")
    local RECORD = { applications = "Application", candidates = "Candidate", jobs = "Job",
                     clients = "ClientRecord", contacts = "Contact", leads = "Lead",
                     placements = "Placement" }
    for on in kinds:gmatch("[%w_]+") do
      local record = assert(RECORD[on], "a kind the definitions do not know: " .. on)
      local class = "tracker." .. record .. "Rule"
      local body = text:match("%-%-%-@class " .. class:gsub("%.", "%%.") .. ": tracker%.Rule\n(.-)\n\n")
                   or text:match("%-%-%-@class " .. class:gsub("%.", "%%.") .. ": tracker%.Rule\n(.*)$")
      assert(body, "no class " .. class .. " extending tracker.Rule")
      assert.is_truthy(body:find('---@field on "' .. on .. '"', 1, true), class)
      for _, f in ipairs({ "when", "action" }) do
        assert.is_truthy(body:match("%-%-%-@field " .. f .. "%??%s+fun%([%w_]+: tracker%." .. record .. ","),
                         class .. "." .. f .. " takes a tracker." .. record)
      end
    end
  end)

  it("cover every field of a rule and of its ctx", function()
    local _, e = pcall(testing.run_rule, { on = "jobs", action = function() end, acton = 1 },
                       testing.emulator{})
    local fields = tostring(e):match("a rule has ([%w_, ]+)")
    assert(fields, "no list of rule fields in: " .. tostring(e))
    local names = {}
    for n in fields:gmatch("[%w_]+") do names[#names + 1] = n end
    assert_all_in(names, fields_of("tracker.Rule"), "tracker.Rule fields")

    local seen = {}
    local job = testing.job{}
    testing.run_rule({ on = "jobs", action = function(_, _, ctx)
      for k in pairs(ctx) do seen[k] = true end
    end }, testing.emulator{ job }, { since = "2026-01-01T00:00:00Z" })
    assert.is_true(next(seen) ~= nil)
    assert_all_in(sorted(seen), fields_of("tracker.RuleContext"), "tracker.RuleContext fields")
  end)
end)
