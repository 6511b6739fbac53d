-- Lazy records (bindings/lazy.c, widget.lua): a stream's record makes each field where it is
-- read, from its item's own copy of the JSON text. Each field must equal the eager record's
-- (t:get reads the same item decoded whole), raw must equal the item as decoded, and records
-- kept past the loop must stay whole after the pages are gone.
local tracker = require "tracker"
local emulator = require "tracker.emulator"

local DATA = { candidates = {} }
for i = 1, 30 do
  DATA.candidates[i] = { id = 100 + i, firstname = "Ann" .. i, lastname = "O\"Neil \u{e9}",
                         email = ("ann%d@example.com"):format(i), town = i % 2 == 0 and "Leeds" or nil,
                         custom = { [441] = tostring(i) } }
end

-- edit(body) -> the body the client gets for each getRecords answer (default: as sent)
local function connect(edit)
  local emu = emulator.new({ apikey = "k", username = "u", api_token = "t", data = DATA,
                             dialect = "rich" })
  local transport = emu
  if edit then
    transport = { handle = function(_, method, path, headers, body)
      local status, h, answer = emu:handle(method, path, headers, body)
      if path:find("getRecords", 1, true) and body:find('"R"', 1, true) then answer = edit(answer) end
      return status, h, answer
    end }
  end
  return tracker.connect({ transport = transport, rate_limit = false, timezone = false,
                           page_size = 7, apikey = "k", username = "u", api_token = "t" })
end

-- every field of a record, through pairs
local function fields(r)
  local out = {}
  for k, v in pairs(r) do out[k] = v end
  return out
end

describe("lazy records of a stream", function()
  it("read as the eager record of the same item reads, raw included", function()
    local t = connect()
    local n = 0
    for r in t:candidates{} do
      n = n + 1
      assert.are.equal("tracker.record", getmetatable(r))   -- lazy: made by native.page's items
      local eager = assert(t:candidate(r.id))
      assert.are.same(eager.email, r.email)
      assert.are.same(eager.last_name, r.last_name)
      assert.are.same(eager.custom, r.custom)
      assert.are.same(eager.raw, r.raw)
      assert.are.same(fields(eager), fields(r))        -- pairs makes every field
    end
    assert.are.equal(#DATA.candidates, n)
  end)

  it("stay whole when kept past the loop, after the pages are collected", function()
    local t = connect()
    local kept = {}
    for r in t:candidates{} do kept[#kept + 1] = r end
    collectgarbage(); collectgarbage()
    for i, r in ipairs(kept) do
      assert.are.equal(("ann%d@example.com"):format(i), r.email)
      assert.are.equal("O\"Neil \u{e9}", r.raw.details.lastname)
      assert.are.equal(i, r.custom.Score)               -- a Number field, typed
    end
  end)

  it("keep what a script sets or removes, and read an absent field as nil", function()
    local t = connect()
    local _, stream = t:candidates{}
    local r = stream:next()
    assert.is_nil(r.town)                              -- candidate 101 has no town
    r.email = nil                                      -- removed before it was read
    assert.is_nil(r.email)
    assert.is_string(r.first_name)
    r.first_name = nil                                 -- removed after it was read
    assert.is_nil(r.first_name)
    r.note = "x"
    assert.are.equal("x", fields(r).note)
  end)

  it("are made whole as their page arrives when the stream is asked for whole records", function()
    local t = connect()
    local lazy, whole = {}, {}
    for r in t:candidates{} do lazy[#lazy + 1] = fields(r) end
    for r in t:candidates{ whole = true } do
      assert.is_nil(getmetatable(r))                   -- a plain table, every field in it
      assert.is_string(rawget(r, "email"))
      whole[#whole + 1] = fields(r)
    end
    assert.are.same(lazy, whole)
    assert.has_error(function() t:candidates{ whole = "yes" } end,
                     "candidates: option 'whole' must be a boolean, got string")
  end)

  -- simdjson's On-Demand API checks only what it is asked to read; what it skips, cjson would
  -- decode where a script reads it, and raise there. Every value of a page is checked first.
  it("make a page a full decoder refuses a bad answer, whatever part of an item is broken", function()
    local broken = {
      ["an escape in a value no one reads"] = function(b) return (b:gsub('"town":"Leeds"', '"town":"Le\\qds"', 1)) end,
      ["an escape in a key"] = function(b) return (b:gsub('"town":', '"to\\qwn":', 1)) end,
      ["a number that is not one"] = function(b) return (b:gsub('"id":441', '"id":4-41', 1)) end,
      ["a member in an array"] = function(b) return (b:gsub('"customfields":%[', '"customfields":["a":"b",', 1)) end,
      ["a list closed as an object"] = function(b) return (b:gsub('}%]', '}}', 1)) end,
      ["nesting deeper than answers may be"] = function(b)
        return (b:gsub('"customfields":%b[]', '"customfields":' .. ("["):rep(130) .. ("]"):rep(130), 1))
      end,
      -- found by the fuzzer: a string On-Demand is not asked to read is skipped up to the brace
      ["a member in an array a brace ends"] = function(b)
        return (b:gsub('"customfields":%[', '"customfields":["a":"b"},1,', 1))
      end,
    }
    for what, edit in pairs(broken) do
      local t = connect(function(b)
        local out = edit(b)
        assert(out ~= b, what .. ": the answer was not changed")
        return out
      end)
      local _, stream = t:candidates{}
      local r, e = stream:next()
      assert.is_nil(r, what)
      assert.are.equal("bad_response", e and e.code, what .. ": " .. tostring(e))
      assert.is_truthy(tostring(e.message):find("not valid JSON", 1, true), what)
    end
  end)
end)
