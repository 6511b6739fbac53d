-- The Tracker emulator's synthetic mode: a read-only database of N candidates computed from
-- their index (tracker.emulator.synthetic), driven through emu:handle like the normal emulator
-- and, at the end, over HTTP with `trk emulator --synthetic`.
local emulator = require "tracker.emulator"
local json = require "json"
local trk = require "support.trk"
local widget = require "support.widget"
local ids = widget.ids
local keys = widget.keys

local KEY, USER = "K3y", "ops@example.com"
local CREDS = { username = USER, apikey = KEY }
local call, records = widget.caller(CREDS)
local FIRST_ID = 200000

local function synthetic(n, opts)
  opts = opts or {}
  opts.apikey, opts.username = KEY, USER
  opts.synthetic = { candidates = n, seed = opts.seed or 7 }
  opts.seed = nil
  return emulator.new(opts)
end

-- The type a client sees for a decoded JSON value.
local function kind(v)
  if v == json.null then return "null" end
  if math.type(v) then return math.type(v) end
  return type(v)
end

-- Keys and the types seen for each, over items: top level, details, customfields entries.
local function shape(items)
  local s = { top = {}, details = {}, custom = {} }
  local function see(where, k, v)
    where[k] = where[k] or {}
    where[k][kind(v)] = true
  end
  for _, it in ipairs(items) do
    for k, v in pairs(it) do see(s.top, k, v) end
    for k, v in pairs(it.details) do see(s.details, k, v) end
    for _, cf in ipairs(it.customfields or {}) do
      for k, v in pairs(cf) do see(s.custom, k, v) end
    end
  end
  return s
end

-- Every record of a getRecords listing, by paging with pagenum until a short page.
local function all_pages(emu, ins, size)
  local seen, page = {}, 0
  repeat
    ins.numrecords, ins.pagenum = size, page
    local a = records(emu, ins)
    assert.equal(0, a.status, a.message)
    assert.equal(#a.results, a.count)
    for _, r in ipairs(a.results) do seen[#seen + 1] = r end
    page = page + 1
  until #a.results < size
  return seen
end

-- Specs that read last-updated times off items or ask for 500-record pages use the rich
-- dialect, whose items show them and whose pages hold 500 (the evidence dialect's synthetic
-- items: emulator_dialects_spec).
describe("synthetic candidates", function()
  local emu, normal
  setup(function()
    emu = synthetic(5000, { dialect = "rich" })
    normal = emulator.new{ apikey = KEY, username = USER, dialect = "rich",
                           data = emulator.generate{ seed = 1, candidates = 400 } }
  end)

  it("have the keys and value types of the normal emulator's candidates", function()
    for _, custom in ipairs({ true, false }) do
      local ins = { recordtype = "R", numrecords = 400, includecustomfields = custom }
      local want = shape(records(normal, ins).results)
      local got = shape(records(emu, ins).results)
      for _, part in ipairs({ "top", "details", "custom" }) do
        assert.same(keys(want[part]), keys(got[part]), part)
        for k, types in pairs(got[part]) do
          for t in pairs(types) do
            assert.is_true(want[part][k][t], part .. "." .. k .. " is " .. t)
          end
        end
      end
    end
  end)

  it("carry the database's custom fields, in the normal emulator's order", function()
    local function fields(e)
      local out = {}
      for i, cf in ipairs(records(e, { recordtype = "R", numrecords = 1,
                                       includecustomfields = true }).results[1].customfields) do
        out[i] = { cf.id, cf.name }
      end
      return out
    end
    assert.same(fields(normal), fields(emu))
  end)

  it("are numbered 200001 to 200000 + N, with integer ids", function()
    local a = records(emu, { recordtype = "R", numrecords = 3 })
    assert.same({ 200001, 200002, 200003 }, ids(a))
    assert.equal("integer", math.type(emu:get("candidates", 204999).id))
    assert.is_nil(emu:get("candidates", 205001))
  end)

  it("read the same by recordid as in a page, with and without custom fields", function()
    for _, custom in ipairs({ false, true }) do
      local page = records(emu, { recordtype = "R", numrecords = 500, pagenum = 3,
                                  includecustomfields = custom })
      assert.equal(500, page.count)
      for _, item in ipairs(page.results) do
        local one = records(emu, { recordtype = "R", recordid = item.id,
                                   includecustomfields = custom })
        assert.same(item, one.results[1])
      end
    end
  end)

  it("answer getIndividualRecord with the normal emulator's extended fields", function()
    local want = call(normal, "getIndividualRecord",
                      { instructions = { recordtype = "R", recordid = 188005 } }).results[1]
    local a = call(emu, "getIndividualRecord",
                   { instructions = { recordtype = "R", recordid = 200042 } })
    assert.equal(0, a.status)
    local got = a.results[1]
    assert.same(keys(want), keys(got))
    local item = records(emu, { recordtype = "R", recordid = 200042 }).results[1]
    assert.equal(item.name, got.name)
    assert.equal(item.details.email, got.email)
    assert.equal(item.lastupdateddatetime, got.lastupdateddatetime)
  end)

  it("have names from word lists and unique emails", function()
    local names, emails = {}, {}
    for _, r in ipairs(all_pages(emu, { recordtype = "R" }, 500)) do
      names[r.name] = true
      assert.equal(r.details.firstname .. " " .. r.details.lastname, r.name)
      assert.is_nil(emails[r.details.email], r.details.email)
      emails[r.details.email] = true
      assert.truthy(r.details.email:match("^[%w.]+" .. (r.id) .. "@[%w.]+$"), r.details.email)
    end
    local n = 0
    for _ in pairs(names) do n = n + 1 end
    assert.is_true(n > 2000, n .. " names")
  end)

  it("are the same for a seed and differ for another", function()
    local a = records(synthetic(100, { seed = 3 }), { recordtype = "R", numrecords = 50 })
    local b = records(synthetic(100, { seed = 3 }), { recordtype = "R", numrecords = 50 })
    local c = records(synthetic(100, { seed = 4 }), { recordtype = "R", numrecords = 50 })
    assert.same(a, b)
    assert.not_same(a.results, c.results)
  end)

  it("never go back in time, and every 7th and 8th share their time", function()
    local r = records(emu, { recordtype = "R", numrecords = 64 }).results
    for i = 2, 64 do
      local prev, this = r[i - 1].lastupdateddatetime, r[i].lastupdateddatetime
      assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", this)
      if i % 8 == 0 then
        assert.equal(prev, this, "record " .. i)
      else
        assert.is_true(prev < this, "record " .. i)
      end
    end
  end)
end)

describe("synthetic getRecords paging", function()
  local emu
  setup(function() emu = synthetic(1234, { dialect = "rich" }) end)

  it("covers 1..N exactly once with pagenum and numrecords", function()
    for _, dir in ipairs({ "asc", "desc" }) do
      local got = all_pages(emu, { recordtype = "R", sortdir = dir }, 100)
      assert.equal(1234, #got)
      for k, r in ipairs(got) do
        assert.equal(dir == "asc" and FIRST_ID + k or FIRST_ID + 1235 - k, r.id)
      end
    end
  end)

  it("orders by lastupdateddatetime as by id, ties by id in the sort direction", function()
    local by_time = records(emu, { recordtype = "R", numrecords = 40, pagenum = 2,
                                   sortfield = "lastupdateddatetime", sortdir = "desc" })
    local by_id = records(emu, { recordtype = "R", numrecords = 40, pagenum = 2, sortdir = "desc" })
    assert.same(ids(by_id), ids(by_time))
    assert.equal(FIRST_ID + 1234 - 80, by_time.results[1].id)
  end)

  it("covers all N exactly once by keyset paging, across equal times", function()
    for _, size in ipairs({ 7, 8, 50 }) do
      -- every page reads its boundary time again; a tie shows as two records seen already,
      -- or as a new record with the boundary's time
      local seen, order, after, inside_tie = {}, {}, nil, false
      for _ = 1, 2000 do
        local a = records(emu, { recordtype = "R", numrecords = size, updatedafter = after,
                                 sortfield = "lastupdateddatetime", sortdir = "asc" })
        local fresh, again = 0, 0
        for _, r in ipairs(a.results) do
          if seen[r.id] then
            again = again + 1
            inside_tie = inside_tie or again == 2
          else
            inside_tie = inside_tie or r.lastupdateddatetime == after
            seen[r.id] = true
            order[#order + 1] = r.id
            fresh = fresh + 1
          end
          after = r.lastupdateddatetime
        end
        if #a.results < size then break end
        assert.is_true(fresh > 0, "stuck at " .. after)
      end
      assert.equal(1234, #order, "size " .. size)
      for k, id in ipairs(order) do assert.equal(FIRST_ID + k, id) end
      assert.is_true(inside_tie, "no page boundary fell inside a tie (size " .. size .. ")")
    end
  end)

  it("includes updatedafter and excludes updatedbefore", function()
    local t15 = emu:get("candidates", FIRST_ID + 15).lastupdated
    assert.equal(t15, emu:get("candidates", FIRST_ID + 16).lastupdated)     -- a tie
    local function window(after, before)
      return ids(records(emu, { recordtype = "R", numrecords = 500, updatedafter = after,
                                updatedbefore = before }))
    end
    assert.equal(FIRST_ID + 15, window(t15, nil)[1])
    local before = window(nil, t15)
    assert.equal(14, #before)
    assert.equal(FIRST_ID + 14, before[14])
    assert.same({}, window(t15, t15))
    local t17 = emu:get("candidates", FIRST_ID + 17).lastupdated
    assert.same({ FIRST_ID + 15, FIRST_ID + 16 }, window(t15, t17))
    assert.same({}, window("2030-01-01 00:00:00", nil))
    assert.equal(1234, #all_pages(emu, { recordtype = "R", updatedafter = "2000-01-01" }, 500))
  end)

  it("converts a filter time with a zone to local time first", function()
    local ny = synthetic(100, { timezone = "America/New_York" })
    local t = ny:get("candidates", FIRST_ID + 33).lastupdated            -- in EDT: UTC - 4h
    local h = tonumber(t:sub(12, 13))
    local utc = string.format("%sT%02d%sZ", t:sub(1, 10), h + 4, t:sub(14))
    assert.equal(FIRST_ID + 33, records(ny, { recordtype = "R", updatedafter = utc }).results[1].id)
  end)

  it("answers an empty page past the end, and a short last page", function()
    local last = records(emu, { recordtype = "R", numrecords = 100, pagenum = 12 })
    assert.equal(34, last.count)
    local past = records(emu, { recordtype = "R", numrecords = 100, pagenum = 13 })
    assert.equal(0, past.status)
    assert.equal(0, past.count)
    assert.same({}, past.results)
    assert.equal(0, records(emu, { recordtype = "R", pagenum = math.maxinteger // 2 }).count)
  end)

  it("reads numrecords as the normal emulator does: 100 by default, 500 at most", function()
    assert.equal(100, records(emu, { recordtype = "R" }).count)
    assert.equal(500, records(emu, { recordtype = "R", numrecords = 900 }).count)
    assert.equal(99, records(emu, { recordtype = "R", numrecords = -1 }).status)
  end)
end)

describe("synthetic mode with 10,000,000 candidates", function()
  local emu
  setup(function() emu = synthetic(10000000, { dialect = "rich" }) end)

  it("answers a page deep in the set", function()
    local a = records(emu, { recordtype = "R", numrecords = 500, pagenum = 19000,
                             includecustomfields = true })
    assert.equal(500, a.count)
    for k, id in ipairs(ids(a)) do assert.equal(FIRST_ID + 19000 * 500 + k, id) end
    local d = records(emu, { recordtype = "R", numrecords = 500, pagenum = 19999,
                             sortdir = "desc" })
    assert.same({ FIRST_ID + 500, FIRST_ID + 1 }, { d.results[1].id, d.results[500].id })
  end)

  it("finds a time deep in the set, and pages by keyset to the end", function()
    local i0 = 9999001                                   -- first of a block of 8: no tie before
    local after = emu:get("candidates", FIRST_ID + i0).lastupdated
    local seen, n = {}, 0
    for _ = 1, 100 do
      local a = records(emu, { recordtype = "R", numrecords = 97, updatedafter = after,
                               sortfield = "lastupdateddatetime" })
      for _, r in ipairs(a.results) do
        if not seen[r.id] then
          seen[r.id] = true
          n = n + 1
          assert.equal(FIRST_ID + i0 + n - 1, r.id)
        end
        after = r.lastupdateddatetime
      end
      if a.count < 97 then break end
    end
    assert.equal(10000000 - i0 + 1, n)
  end)

  it("keeps its memory flat whatever N", function()
    collectgarbage()
    local base = collectgarbage("count")
    local small = synthetic(1000)
    collectgarbage()
    local with_small = collectgarbage("count") - base
    local huge = synthetic(1000000000)
    for page = 0, 2000000, 100000 do
      records(huge, { recordtype = "R", numrecords = 500, pagenum = page })
    end
    collectgarbage()
    local with_huge = collectgarbage("count") - base - with_small
    assert.is_true(with_huge < with_small + 512, with_huge .. " KB against " .. with_small .. " KB")
    assert.is_true(with_small < 16 * 1024, with_small .. " KB")
    assert.truthy(small and huge)
  end)
end)

describe("synthetic getRecords filters", function()
  local emu
  setup(function() emu = synthetic(3000) end)

  local function everyone()
    local out = {}
    for i = 1, 3000 do out[i] = emu:get("candidates", FIRST_ID + i) end
    return out
  end

  it("answers searchtext by a scan of the names, ignoring case", function()
    local want = {}
    for _, c in ipairs(everyone()) do
      if (c.firstname .. " " .. c.lastname):lower():find("mar", 1, true) then
        want[#want + 1] = c.id
      end
    end
    assert.is_true(#want > 20)
    local got = {}
    for _, r in ipairs(all_pages(emu, { recordtype = "R", searchtext = "MAR" }, 37)) do
      got[#got + 1] = r.id
    end
    assert.same(want, got)
    assert.equal(0, records(emu, { recordtype = "R", searchtext = "zzqx" }).count)
  end)

  it("answers onlymyrecords with the candidates the user owns", function()
    local owner = emu:get("candidates", FIRST_ID + 1).ownerid
    local login
    for _, u in ipairs(call(emu, "getSettingsData").users) do
      if u.UserId == owner then login = u.Username end
    end
    local want = {}
    for _, c in ipairs(everyone()) do
      if c.ownerid == owner then want[#want + 1] = c.id end
    end
    local got = {}
    local page = 0
    repeat
      local a = records(emu, { recordtype = "R", onlymyrecords = true, numrecords = 100,
                               pagenum = page, sortdir = "desc" },
                        { username = login, apikey = KEY })
      for _, id in ipairs(ids(a)) do table.insert(got, 1, id) end
      page = page + 1
    until a.count < 100
    assert.same(want, got)
    -- the API user owns no candidate
    assert.equal(0, records(emu, { recordtype = "R", onlymyrecords = true }).count)
  end)

  it("refuses sortfields other than id and lastupdateddatetime with 99", function()
    local a = records(emu, { recordtype = "R", sortfield = "name" })
    assert.equal(99, a.status)
    assert.matches("synthetic", a.message)
    assert.same({}, a.results)
  end)

  it("answers other record types with an empty list", function()
    for _, letter in ipairs({ "O", "A", "X", "C", "N", "L" }) do
      local a = records(emu, { recordtype = letter })
      assert.equal(0, a.status, letter)
      assert.equal(0, a.count, letter)
    end
  end)
end)

describe("synthetic mode's limits", function()
  local emu
  setup(function() emu = synthetic(100) end)

  it("refuses every write with status 99, saying the database is read-only", function()
    local n = 0
    for verb, verb_kind in pairs(emulator.wire.verbs) do
      if verb_kind == "write" then
        local a = call(emu, verb, { instructions = { recordtype = "R", recordid = 200001 },
                                    updates = { { column = "jobtitle", value = "X" } } })
        assert.equal(99, a.status, verb)
        assert.matches("read%-only", a.message)
        assert.equal(0, a.recordId)
        n = n + 1
      end
    end
    assert.is_true(n >= 9, n .. " write verbs")   -- every one the wire names, new ones too
    assert.equal(200001, records(emu, { recordtype = "R", numrecords = 1 }).results[1].id)
  end)

  it("answers ids out of range as absent records", function()
    local rich = synthetic(100, { dialect = "rich" })     -- its getIndividualRecord answers 99
    for _, id in ipairs({ 1, 200000, 200101, 188001, -5 }) do
      local a = records(emu, { recordtype = "R", recordid = id })
      assert.equal(0, a.status)
      assert.equal(0, a.count)
      local i = call(rich, "getIndividualRecord",
                     { instructions = { recordtype = "R", recordid = id } })
      assert.equal(99, i.status)
      assert.matches("not found", i.message)
    end
    assert.equal(1, records(emu, { recordtype = "R", recordid = 200100 }).count)
  end)

  it("checks credentials as the normal emulator does", function()
    local a = records(emu, { recordtype = "R" }, { username = USER, apikey = "wrong" })
    assert.equal(1, a.status)
    assert.same({}, a.results)
    assert.equal(0, call(emu, "checkLogon").status)
    local nobody = { credentials = { username = "nobody", apikey = KEY } }
    assert.equal(1, call(emu, "checkLogon", nobody).status)
    local w = call(emu, "updateRecord", { credentials = { username = USER, apikey = "wrong" } })
    assert.equal(1, w.status)
  end)

  it("serves the normal metadata in getSettingsData", function()
    local normal = call(emulator.new{ apikey = KEY, username = USER,
                                      data = emulator.generate{ seed = 7 } }, "getSettingsData")
    local got = call(emu, "getSettingsData")
    assert.equal(0, got.status)
    assert.same(keys(normal), keys(got))
    assert.same(normal.customFields, got.customFields)
    assert.same(normal.resourceStatuses, got.resourceStatuses)
    assert.is_true(#got.users > 1)
  end)

  it("answers the REST API as an empty database", function()
    local _, _, body = emu:handle("POST", "/api/Auth/ExchangeToken", {}, '{"bearerToken":"T"}')
    assert.equal(401, json.decode(body).status)            -- no api_token configured
    local e = synthetic(10, { api_token = "T0k", dialect = "rich" })      -- PagedSearch
    local jwt = json.decode(select(3, e:handle("POST", "/api/Auth/ExchangeToken", {},
                                               '{"bearerToken":"T0k"}'))).token
    local status, _, page = e:handle("POST", "/api/v1/OpportunityResource/PagedSearch",
                                     { Authorization = "Bearer " .. jwt }, "{}")
    assert.equal(200, status)
    assert.equal(0, json.decode(page).totalCount)
  end)

  it("applies latency, faults and the rate limit", function()
    local e = synthetic(10, { faults = { latency = 40, rate_limit = 2 } })
    local s1, h1 = e:handle("POST", "/api/widget/getRecords", {},
      json.encode({ trackerrms = { getRecords = { credentials = CREDS,
                                                  instructions = { recordtype = "R" } } } }))
    assert.equal(200, s1)
    assert.equal("40", h1["x-emulator-delay-ms"])
    e:handle("POST", "/api/widget/checkLogon", {}, "{}")
    assert.equal(429, (e:handle("POST", "/api/widget/checkLogon", {}, "{}")))
    local broken = synthetic(10, { faults = { errors = 1 } })
    local s = broken:handle("POST", "/api/widget/getRecords", {}, "{}")
    assert.is_true(s == 500 or s == 502 or s == 503)
    local cut = synthetic(10, { faults = { truncate = 1 } })
    local _, h, b = cut:handle("POST", "/api/widget/getRecords", {},
      json.encode({ trackerrms = { getRecords = { credentials = CREDS,
                                                  instructions = { recordtype = "R" } } } }))
    assert.equal("truncate", h["x-emulator-fault"])
    assert.equal(tonumber(h["x-emulator-full-length"]) // 2, #b)
  end)

  it("raises on bad options, naming them", function()
    assert.has_error(function() emulator.new{ synthetic = { candidates = -1 } } end,
      "emulator.new: synthetic.candidates must be an integer from 0 to 1000000000")
    assert.has_error(function() emulator.new{ synthetic = { candidates = 5, seeds = 1 } } end,
      "emulator.new: unknown synthetic option 'seeds'")
    assert.has_error(function() emulator.new{ synthetic = 5 } end)
    assert.has_error(function()
      emulator.new{ synthetic = { candidates = 5 }, data = emulator.generate{ candidates = 1 } }
    end, "emulator.new: options 'data' and 'synthetic' cannot be used together")
  end)

  it("serves no candidate when N is 0", function()
    local e = synthetic(0)
    assert.equal(0, records(e, { recordtype = "R" }).count)
    assert.equal(0, records(e, { recordtype = "R", recordid = 200001 }).count)
  end)
end)

-- ---- over HTTP -------------------------------------------------------------------------------

describe("trk emulator --synthetic", function()
  local q = trk.quote
  -- Under the sanitizer build, busted runs with the ASan runtime preloaded; curl and the
  -- other tools are not instrumented, so every shell here drops it (trk is instrumented).
  local PLAIN = "unset LD_PRELOAD; "
  local SANITIZE_ENV = "ASAN_OPTIONS=detect_leaks=1:exitcode=86 "
                       .. "UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1 "

  local function run(args, background)
    local errfile = os.tmpname()
    local argv = { q(trk.bin), "emulator" }
    for _, a in ipairs(args) do argv[#argv + 1] = q(a) end
    local env = os.getenv("TRK_SANITIZE") and SANITIZE_ENV or ""
    local prefix = background and "echo $$; exec env " .. env
                   or "exec env " .. env .. "timeout -s KILL 60 "
    local p = io.popen(PLAIN .. prefix .. table.concat(argv, " ") .. " 2>" .. q(errfile)
                       .. " </dev/null", "r")
    return p, errfile
  end

  local function post(url, body)
    local p = io.popen(PLAIN .. "curl -sS --max-time 60 -H 'Content-Type: application/json' "
                       .. "--data-binary " .. q(body) .. " " .. q(url) .. " 2>&1", "r")
    local out = p:read("a")
    p:close()
    return out
  end

  it("serves the pages the in-process model serves, and says it is synthetic", function()
    local p, errfile = run({ "--port", "0", "--synthetic", "1000", "--seed", "3",
                             "--apikey", KEY, "--username", USER }, true)
    local pid = p:read("l")
    local first = p:read("l")
    assert.truthy(first, "trk emulator did not start: " .. trk.slurp(errfile))
    local url = first:match("^listening on (http://%S+)$")
    local data = p:read("l")
    local ok, err = pcall(function()
      assert.equal("data: synthetic, 1000 candidates computed from seed 3 (read-only)", data)
      local model = synthetic(1000, { seed = 3 })
      for _, ins in ipairs({ { recordtype = "R", numrecords = 500, pagenum = 1 },
                             { recordtype = "R", numrecords = 20, includecustomfields = true,
                               sortdir = "desc" },
                             { recordtype = "R", recordid = 200999 } }) do
        local body = json.encode({ trackerrms = { getRecords = { credentials = CREDS,
                                                                 instructions = ins } } })
        local _, _, want = model:handle("POST", "/api/widget/getRecords", {}, body)
        assert.same(json.decode(want), json.decode(post(url .. "/api/widget/getRecords", body)))
      end
    end)
    os.execute(PLAIN .. "kill -TERM " .. pid)
    repeat until p:read("l") == nil
    local _, how, code = p:close()
    local stderr = trk.slurp(errfile)
    os.remove(errfile)
    assert(ok, err)
    assert.equal("exit", how, stderr)
    assert.equal(0, code, stderr)
  end)

  for _, case in ipairs({
    { { "--synthetic", "10", "--data", "x.json" }, "--synthetic cannot be used with --data" },
    { { "--generate", "10", "--synthetic", "10" }, "--synthetic cannot be used with --generate" },
    { { "--synthetic", "lots" }, "--synthetic: 'lots' is not a number of candidates" },
    { { "--synthetic", "1000000001" }, "--synthetic: '1000000001'" },
  }) do
    it("exits 2 for " .. table.concat(case[1], " "), function()
      local p, errfile = run(case[1])
      local out = p:read("a")
      local _, _, code = p:close()
      local stderr = trk.slurp(errfile)
      os.remove(errfile)
      assert.equal(2, code, stderr)
      assert.equal("", out)
      assert.truthy(stderr:find(case[2], 1, true), stderr)
    end)
  end

  it("is documented in 'trk help emulator'", function()
    local r = trk.exec({ "help", "emulator" })
    assert.equal(0, r.code)
    assert.truthy(r.stdout:find("--synthetic N", 1, true), r.stdout)
  end)
end)
