-- The sandbox environment, pinned: every allowed name is there and nothing else.
local trk = require "support.trk"
local sandbox = require "tracker.sandbox"

-- The environment as a script sees it, written out by hand: a change to the allowlist
-- must change this list too, on purpose.
local PINNED = [[
_G _VERSION arg assert collectgarbage coroutine coroutine.close coroutine.create
coroutine.isyieldable coroutine.resume coroutine.running coroutine.status coroutine.wrap
coroutine.yield error files files.create files.open getmetatable ipairs json json.decode
json.encode json.null load log log.error log.info log.warn math math.abs math.acos math.asin
math.atan math.ceil math.cos math.deg math.exp math.floor math.fmod math.huge math.log
math.max math.maxinteger math.min math.mininteger math.modf math.pi math.rad math.random
math.randomseed math.sin math.sqrt math.tan math.tointeger math.type math.ult next os
os.clock os.date os.difftime os.time pairs pcall print rawequal rawget rawlen rawset
require select setmetatable string string.byte string.char string.find string.format
string.gmatch string.gsub string.len string.lower string.match string.pack string.packsize
string.rep string.reverse string.sub string.unpack string.upper table table.concat
table.insert table.move table.pack table.remove table.sort table.unpack tonumber tostring
type utf8 utf8.char utf8.charpattern utf8.codepoint utf8.codes utf8.len utf8.offset xpcall
]]

local function words(s)
  local t = {}
  for w in s:gmatch("%S+") do t[#t + 1] = w end
  table.sort(t)
  return t
end

-- Lists every name reachable as a global or a field of a global table.
local LISTER = [[
local names = {}
for k, v in pairs(_G) do
  names[#names + 1] = k
  if type(v) == "table" and k ~= "_G" and k ~= "arg" then
    for f in pairs(v) do names[#names + 1] = k .. "." .. f end
  end
end
table.sort(names)
print(table.concat(names, " "))
]]

describe("the sandbox environment", function()
  after_each(trk.cleanup)

  it("holds exactly the pinned names", function()
    local r = trk.run(LISTER)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(words(PINNED), words(r.stdout))
  end)

  it("is what tracker.sandbox's allowlist says, plus the trk modules' fields", function()
    local expected = sandbox.names()
    for _, n in ipairs({ "files.create", "files.open", "json.decode", "json.encode",
                         "json.null", "log.error", "log.info", "log.warn" }) do
      expected[#expected + 1] = n
    end
    table.sort(expected)
    assert.are.same(words(PINNED), expected)
  end)

  for _, name in ipairs(sandbox.denied) do
    it("does not offer " .. name, function()
      local lib, field = name:match("^(%w+)%.(%w+)$")
      local probe = field and ("print(type(%s) == 'table' and %s.%s == nil)"):format(lib, lib, field)
                          or ("print(%s == nil)"):format(name)
      local r = trk.run(probe)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("true\n", r.stdout)
    end)
  end

  it("builds the same environment around plain Lua for specs", function()
    local env = sandbox.build{ overrides = { json = {}, log = {}, files = {} } }
    for _, name in ipairs(sandbox.names()) do
      local lib, field = name:match("^(%w+)%.(%w+)$")
      if lib then
        assert.is_not_nil(env[lib][field], name)
      elseif name ~= "arg" then
        assert.is_not_nil(env[name], name)
      end
    end
    assert.is_nil(env.io)
    assert.is_nil(env.string.dump)
    assert.has_error(function() env.string.rep = nil end)
  end)
end)
