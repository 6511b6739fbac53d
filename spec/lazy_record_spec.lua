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

local function connect()
  local emu = emulator.new({ apikey = "k", username = "u", api_token = "t", data = DATA,
                             dialect = "rich" })
  return tracker.connect({ transport = emu, rate_limit = false, timezone = false, page_size = 7,
                           apikey = "k", username = "u", api_token = "t" })
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
end)
