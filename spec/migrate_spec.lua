-- tracker.migrate: CSV in and out, and the helpers' writes against the in-process emulator.
local tracker = require "tracker"
local emulator = require "tracker.emulator"
local migrate = require "tracker.migrate"
local csv = require "tracker.csv"

local secrets = require "support.secrets"   -- the suite's distinctive credentials
local KEY, USER, TOKEN = secrets.apikey, secrets.username, secrets.api_token

-- ---- scratch files ---------------------------------------------------------------------------

local scratch = {}

local function tmpfile(text)
  local path = os.tmpname()
  scratch[#scratch + 1] = path
  if text then
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
  end
  return path
end

local trk = require "support.trk"
local slurp = trk.slurp

local function rows_of(text, opts)
  local out = {}
  for row in migrate.csv(tmpfile(text), opts) do out[#out + 1] = row end
  return out
end

teardown(function()
  for _, p in ipairs(scratch) do os.remove(p) end
end)

-- ---- the emulator ----------------------------------------------------------------------------

-- A fresh in-process emulator with `n` generated candidates, and a client whose writes are
-- counted (and sent, unless dry).
local function fresh(n, dry)
  local now = 1795000000.0
  local emu = emulator.new({ apikey = KEY, username = USER, api_token = TOKEN,
                             data = emulator.generate({ candidates = n or 50, seed = 3 }),
                             clock = function() return math.floor(now) end })
  local writes = {}
  -- the stages named, as a user of a database whose settings list none does
  local t = tracker.connect({ transport = emu, rate_limit = false, timezone = false, stages = emu:stages(),
                              clock = function() return now end,
                              sleep = function(s) now = now + s end,
                              hook = function(action, send)
                                writes[#writes + 1] = action
                                if dry then return nil end
                                return send()
                              end })
  return emu, t, writes
end

-- A client of emu whose widget writes holding `text` in their body are refused (widget status
-- 99), as Tracker refuses a value: a failure that comes back from the server, after the write
-- has left (in a batch, when the batch ends).
local function refusing(emu, text)
  local transport = setmetatable({ handle = function(_, method, path, headers, body)
    if path:find("/api/widget/", 1, true) and body and body:find(text, 1, true)
        and not path:find("getRecords", 1, true) then
      return 200, { ["content-type"] = "application/json" },
             '{"status":99,"message":"refused by the spec","count":0}'
    end
    return emu:handle(method, path, headers, body)
  end }, { __index = emu })
  return tracker.connect({ transport = transport, apikey = KEY, username = USER,
                           api_token = TOKEN, rate_limit = false, timezone = false })
end

local function by_email(emu)
  local out = {}
  for _, c in ipairs(emu:state().candidates) do
    if c.email then
      local k = c.email:lower()
      out[k] = out[k] or {}
      table.insert(out[k], c)
    end
  end
  return out
end

-- The emulator's stored value of a candidate's custom field, by the field's name.
local function stored_custom(emu, c, name)
  for _, d in ipairs(emu:state().customfields) do
    if d.name == name and d.association == "Resource" then
      return c.custom and c.custom[tostring(d.id)]
    end
  end
end

-- ---- CSV -------------------------------------------------------------------------------------

describe("migrate.csv", function()
  it("reads quoted values with separators, doubled quotes and line breaks", function()
    local rows = rows_of('name,note\n"Lee, Ann","said ""hi""\nthen left"\nBo,plain\n')
    assert.are.equal(2, #rows)
    assert.are.equal("Lee, Ann", rows[1].name)
    assert.are.equal('said "hi"\nthen left', rows[1].note)
    assert.are.equal(2, rows[1].line)
    assert.are.equal(4, rows[2].line)       -- the line the row starts on, after a line break
    assert.are.same({ "Bo", "plain" }, rows[2].columns)
  end)

  it("reads CRLF files and drops a UTF-8 byte order mark", function()
    local rows = rows_of('\239\187\191email,town\r\na@x.com,"Salt\r\nLake"\r\nb@x.com,Boston')
    assert.are.equal(2, #rows)
    assert.are.equal("a@x.com", rows[1].email)   -- the header's first name has no BOM left
    assert.are.equal("Salt\r\nLake", rows[1].town)
    assert.are.equal("Boston", rows[2].town)     -- no line break at the end of the file
    assert.is_nil(rows[2].error)
  end)

  it("trims unquoted values, keeps quoted ones, and leaves empty values out", function()
    local rows = rows_of('a,b,c\n  x  ," y ",\n')
    assert.are.equal("x", rows[1].a)
    assert.are.equal(" y ", rows[1].b)
    assert.is_nil(rows[1].c)
    assert.are.same({ "x", " y ", "" }, rows[1].columns)
    assert.are.equal("  x  ", rows_of('a,b,c\n  x  ,1,2\n', { trim = false })[1].a)
  end)

  it("skips blank lines and rows of nothing but separators, and ignores trailing empty values", function()
    local rows = rows_of('a,b\n\n1,2\n,\n  \n3,4,,\n')
    assert.are.equal(2, #rows)
    assert.are.equal("3", rows[2].a)
    assert.are.equal(6, rows[2].line)
    assert.is_nil(rows[2].error)
  end)

  it("yields rows of the wrong width with an error and their values", function()
    local rows = rows_of('a,b,c\n1,2\n1,2,3,4,5\n7,8,9\n')
    assert.are.equal(3, #rows)
    assert.are.equal("line 2: 2 values, the header has 3", rows[1].error)
    assert.are.same({ "1", "2" }, rows[1].columns)
    assert.are.equal('line 3: 5 values, the header has 3 (extra: "4", "5")', rows[2].error)
    assert.are.same({ "1", "2", "3" }, rows[2].columns)
    assert.is_nil(rows[3].error)
  end)

  it("reports a quote that is never closed, and text after a closing quote", function()
    local rows = rows_of('a,b\n"x"y,1\nok,2\n3,"open\nstill open\n')
    assert.are.equal("line 2, column 1: text after a closing quote (a quote inside a quoted value is written \"\")", rows[1].error)
    assert.are.equal("xy", rows[1].a)
    assert.is_nil(rows[2].error)
    assert.are.equal("a quoted value opened on line 4 is never closed", rows[3].error)
  end)

  it("maps columns by name in any case, keeps unmapped ones, and leaves out those mapped to false", function()
    local rows = rows_of('E-Mail,First Name,Notes\na@x.com,Ann,n\n', {
      header = { ["e-mail"] = "email", ["First Name"] = "first_name", Notes = false } })
    assert.are.equal("a@x.com", rows[1].email)
    assert.are.equal("Ann", rows[1].first_name)
    assert.is_nil(rows[1].Notes)
    assert.are.same({ "a@x.com", "Ann", "n" }, rows[1].columns)
    local unmapped = rows_of('email,Town\na@x.com,Boston\n')
    assert.are.equal("Boston", unmapped[1].Town)
  end)

  it("reads other separators", function()
    local rows = rows_of('a;b\n"1;2";3\n', { sep = ";" })
    assert.are.same({ "1;2", "3" }, rows[1].columns)
  end)

  it("marks rows whose required fields are empty", function()
    local rows = rows_of('email,name\n,Ann\nb@x.com,Bo\n', { required = { "email" } })
    assert.are.equal("line 2: no value for 'email'", rows[1].error)
    assert.is_nil(rows[2].error)
  end)

  it("raises naming the file and the column for a mapping of a column it lacks", function()
    local path = tmpfile("Email,First\n")
    local ok, e = pcall(migrate.csv, path, { header = { ["E-mail"] = "email" } })
    assert.is_false(ok)
    assert.are.equal(("csv: %s has no column 'E-mail' (did you mean 'Email'?) (columns: Email, First)")
                     :format(path), e)
  end)

  it("raises at the caller's line for a required field without a column", function()
    local path = tmpfile("First,Mail\n")
    local ok, e = pcall(function()
      local r = migrate.csv(path, { required = { "email" } })
      return r
    end)
    assert.is_false(ok)
    assert.matches("migrate_spec%.lua:%d+: csv: " .. path:gsub("%p", "%%%0")
                   .. " has no column for the required field 'email'", e)
  end)

  it("raises for a header that names a column twice, a reserved field, or no header at all", function()
    assert.has_error(function() migrate.csv(tmpfile("a,A\n")) end)
    local ok, e = pcall(migrate.csv, tmpfile("a,b\n"), { header = { a = "line" } })
    assert.is_false(ok)
    assert.is_truthy(e:find("column 'a' cannot give 'line'", 1, true), e)
    ok, e = pcall(migrate.csv, tmpfile(""))
    assert.is_false(ok)
    assert.is_truthy(e:find("is empty: the first line must name the columns", 1, true), e)
    ok, e = pcall(migrate.csv, tmpfile("a\n"), { hedaer = {} })
    assert.is_false(ok)
    assert.is_truthy(e:find("csv: unknown option 'hedaer' (did you mean 'header'?)", 1, true), e)
  end)

  it("reads an open file, and closes the file it opened when a loop breaks", function()
    local f = assert(io.open(tmpfile("a\n1\n2\n"), "rb"))
    local n = 0
    for _ in migrate.csv(f, { name = "given.csv" }) do n = n + 1 end
    assert.are.equal(2, n)
    f:close()
    local it, _, _, closer = migrate.csv(tmpfile("a\n1\n2\n"))
    for _ in it, nil, nil, closer do break end -- luacheck: ignore 512 (the break is the point)
    assert.is_true(closer.closed)
    assert.is_nil(closer())
  end)
end)

describe("migrate.failures", function()
  it("writes the original columns and the error, quoted so that they read back the same", function()
    local src = tmpfile('name,note\n"Lee, Ann","x ""y""\nz"\n Bo ,2\n')
    local rows = migrate.csv(src)
    local out = tmpfile()
    local w = migrate.failures(out, rows)
    for row in rows do w:add(row, "bad: " .. row.name) end
    assert.are.equal(2, w:close())
    assert.are.equal('name,note,error\n"Lee, Ann","x ""y""\nz","bad: Lee, Ann"\nBo,2,bad: Bo\n',
                     slurp(out))
  end)

  it("drops the error column when a failure file is read again", function()
    local back = rows_of('name,note,error\n"Lee, Ann",x,old error\n')
    assert.are.same({ "Lee, Ann", "x" }, back[1].columns)
    assert.is_nil(back[1].error)
    local out = tmpfile()
    local rows = migrate.csv(tmpfile('name,note,error\nA,x,old\n'))
    local w = migrate.failures(out, rows)
    for row in rows do w:add(row, "new") end
    w:close()
    assert.are.equal("name,note,error\nA,x,new\n", slurp(out))
  end)

  it("writes rows that are not from a CSV by the header's names, and tracker errors with their code", function()
    local out = tmpfile()
    local w = migrate.failures(out, { "id", "name" })
    w:add({ id = 7, name = "Ann" }, setmetatable({}, { __tostring = function() return "x" end }))
    w:add(8, "spec.lua:12: create_candidate: bad\nthing")
    local _, t = fresh(5)
    local _, e = t:job(987654)
    w:add({ id = 9 }, e)
    w:close()
    local lines = {}
    for l in slurp(out):gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("id,name,error", lines[1])
    assert.are.equal("7,Ann,x", lines[2])
    assert.are.equal("8,,create_candidate: bad thing", lines[3])
    assert.are.equal("9,,not_found: job: no job with id 987654", lines[4])
  end)
end)

describe("tracker.csv", function()
  teardown(trk.cleanup)

  it("is what migrate.csv and migrate.failures are", function()
    assert.are.equal(csv.reader, migrate.csv)
    assert.are.equal(csv.failures, migrate.failures)
    assert.is_true(csv.is_reader((migrate.csv(tmpfile("a\n")))))
    assert.is_false(csv.is_reader({ header = { "a" }, fields = { "a" } }))
    assert.is_false(csv.is_reader(csv.failures(tmpfile(), { "a" })))
  end)

  it("reads rows by the names the header maps, and marks those without a required field", function()
    local rows = {}
    for row in csv.reader(tmpfile("E-mail,Name\n,Ann\nb@x.com, Bo \n"),
                          { header = { ["e-mail"] = "email" }, required = { "email" } }) do
      rows[#rows + 1] = row
    end
    assert.are.equal(2, #rows)
    assert.are.equal("line 2: no value for 'email'", rows[1].error)
    assert.are.same({ "", "Ann" }, rows[1].columns)
    assert.are.equal("b@x.com", rows[2].email)
    assert.are.equal("Bo", rows[2].Name)
    assert.is_nil(rows[2].error)
  end)

  it("writes failure files that its reader reads back as they were read", function()
    local values = { { "Lee, Ann", 'said "hi"', " lead" }, { "two\nlines", "", "x;y" } }
    local src = tmpfile()
    local w = csv.failures(src, { "a", "b", "c" }, { sep = ";" })
    for _, v in ipairs(values) do w:add({ columns = v }, "first pass") end
    assert.are.equal(2, w:close())
    local rows = csv.reader(src, { sep = ";" })
    local out = tmpfile()
    local again = csv.failures(out, rows)
    local n = 0
    for row in rows do
      n = n + 1
      assert.are.same(values[n], row.columns)
      assert.is_nil(row.error)                            -- the error column is left out
      again:add(row, "second pass")
    end
    again:close()
    assert.are.equal(2, n)
    assert.are.equal(slurp(src):gsub("first", "second"), slurp(out))
  end)

  it("raises misuse at the caller's line", function()
    local path = tmpfile("a\n")
    local ok, e = pcall(function()
      local r = csv.reader(path, { sep = ";;" })
      return r
    end)
    assert.is_false(ok)
    assert.matches("^[^:]*migrate_spec%.lua:%d+: csv: option 'sep' must be one character", e)
    ok, e = pcall(function()
      local w = csv.failures(path, {})
      return w
    end)
    assert.is_false(ok)
    assert.matches("^[^:]*migrate_spec%.lua:%d+: failures: argument 2 must be the CSV reader", e)
  end)

  it("words errors for a failure file on one line, and keeps line, columns and error for rows", function()
    local _, t = fresh(5)
    local _, e = t:job(987654)
    assert.are.equal("not_found: job: no job with id 987654", csv.error_text(e))
    assert.are.equal("create_candidate: bad thing", csv.error_text("x.lua:12: create_candidate: bad\n thing"))
    for _, name in ipairs{ "line", "columns", "error" } do assert.is_true(csv.is_reserved(name)) end
    assert.is_false(csv.is_reserved("email"))
  end)

  it("opens only the files trk grants a script", function()
    local dir = trk.tmpdir()
    trk.write(dir .. "/in.csv", "id,name\n1,Ann\n2,\n")
    trk.write(dir .. "/check.lua", [[
      local csv = require "tracker.csv"
      local rows <close> = csv.reader(arg[1], { required = { "name" } })
      local failed <close> = csv.failures(arg[2], rows)
      for row in rows do if row.error then failed:add(row) end end
      print(failed.count .. " failed")
    ]])
    local r = trk.exec({ "run", "check.lua", "--input", "in.csv", "--output", "out.csv", "--",
                         "in.csv", "out.csv" }, { cwd = dir })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("1 failed\n", r.stdout)
    assert.are.equal("id,name,error\n2,,line 3: no value for 'name'\n", slurp(dir .. "/out.csv"))
    r = trk.exec({ "run", "check.lua", "--input", "in.csv", "--", "in.csv", "out.csv" }, { cwd = dir })
    assert.are.equal(1, r.code)                          -- not with io: out.csv is not granted
    assert.is_truthy(r.stderr:find("'out.csv' is not granted to this script (run it with --output out.csv)",
                                   1, true), r.stderr)
  end)
end)

-- ---- upserts ---------------------------------------------------------------------------------

local HEADER = { "First Name", "Last Name", "E-mail", "Phone", "Town", "Priority", "Score" }
local MAP = { ["First Name"] = "first_name", ["Last Name"] = "last_name", ["E-mail"] = "email",
              Phone = "phone", Town = "town", Priority = "custom.Priority", Score = "custom.Score" }

-- The row of line i+1 of the generated import: every 50th is bad in one of four ways.
local function import_row(i)
  local r = { "Ann" .. i, i % 7 == 0 and ('O"Brien, ' .. i) or ("Lee" .. i),
              ("person%d@import.example.com"):format(i), ("555-%04d"):format(i),
              i % 11 == 0 and "Salt\nLake" or "Boston", ({ "High", "Medium", "Low" })[i % 3 + 1],
              tostring(i % 10) }
  local bad
  if i % 50 == 0 then
    bad = ({ "no email", "bad item", "bad email", "short" })[(i // 50) % 4 + 1]
    if bad == "no email" then r[3] = ""
    elseif bad == "bad item" then r[6] = "Urgent"
    elseif bad == "bad email" then r[3] = "person" .. i
    else r[7] = nil end
  end
  return r, bad
end

local function csv_text(header, rows)
  local function field(v)
    if v:find('[",\n]') then return '"' .. v:gsub('"', '""') .. '"' end
    return v
  end
  local out = {}
  for _, r in ipairs({ header, table.unpack(rows) }) do
    local f = {}
    for k, v in ipairs(r) do f[k] = field(v) end
    out[#out + 1] = table.concat(f, ",") .. "\n"
  end
  return table.concat(out)
end

describe("migrate.upsert_candidates", function()
  local N = 5000

  it("imports 5,000 rows once each, writes exactly the bad rows to the failure file, and reruns to no writes", function()
    local emu, t, writes = fresh(200)
    local rows, bad = {}, {}
    for i = 1, N do
      local r, why = import_row(i)
      rows[i] = r
      if why then bad[i] = why end
    end
    local input = tmpfile(csv_text(HEADER, rows))
    local failed = tmpfile()

    local reader = migrate.csv(input, { header = MAP })
    local w = migrate.failures(failed, reader)
    local sum = migrate.upsert_candidates(t, reader, { failures = w })
    assert.are.equal(100, w:close())
    assert.are.same({ rows = N, created = N - 100, updated = 0, unchanged = 0, failed = 100 },
                    { rows = sum.rows, created = sum.created, updated = sum.updated,
                      unchanged = sum.unchanged, failed = sum.failed })
    assert.are.equal("rows 5000: created 4900, updated 0, unchanged 0, failed 100", tostring(sum))
    assert.are.equal(N - 100, #writes)

    -- each good row is one candidate, with its fields
    local emails = by_email(emu)
    assert.are.equal(200 + N - 100, #emu:state().candidates)
    for i = 1, N do
      local list = emails[("person%d@import.example.com"):format(i)]
      if bad[i] == "bad item" or bad[i] == "short" or bad[i] == "no email" then
        assert.is_nil(list, "row " .. i)
      elseif not bad[i] then
        assert.are.equal(1, #list, "row " .. i)
        assert.are.equal(rows[i][2], list[1].lastname)
        assert.are.equal(rows[i][5], list[1].town)
        assert.are.equal(rows[i][6], stored_custom(emu, list[1], "Priority"))
      end
    end

    -- the failure file: the bad rows, in order, as they were, with why
    local back = {}
    for row in migrate.csv(failed) do back[#back + 1] = row end
    assert.are.equal(100, #back)
    local expect = { ["no email"] = "^no email %(the key of this import%)$",
                     ["bad item"] = "^line %d+, column 'Priority': invalid: create_candidate: "
                                    .. "'Urgent' is not an item of custom field 'Priority'",
                     ["bad email"] = "^create_candidate: 'person%d+' is not an email address$",
                     ["short"] = "^line %d+: 6 values, the header has 7$" }
    assert.are.equal(table.concat(HEADER, ",") .. ",error\n", slurp(failed):match("^[^\n]*\n"))
    -- read again with a header that keeps the error column under another name
    local whys = rows_of((slurp(failed):gsub("^[^\n]*,error\n", table.concat(HEADER, ",") .. ",why\n")))
    local k = 0
    for i = 1, N do
      if bad[i] then
        k = k + 1
        local want = { table.unpack(rows[i]) }
        for c = #want + 1, #HEADER do want[c] = "" end
        assert.are.same(want, back[k].columns, "row " .. i)
        assert.matches(expect[bad[i]], whys[k].why, "row " .. i)
      end
    end

    -- the same file again: nothing to write
    local again = migrate.upsert_candidates(t, migrate.csv(input, { header = MAP }))
    assert.are.equal(0, again.created)
    assert.are.equal(N - 100, again.unchanged)
    assert.are.equal(100, again.failed)
    assert.are.equal(N - 100, #writes)
    assert.are.equal(200 + N - 100, #emu:state().candidates)

    -- the failure file, corrected, fed back in: its error column is ignored
    local fixed = {}
    for _, row in ipairs(back) do
      local c = { table.unpack(row.columns) }
      local n = tonumber(c[1]:match("%d+"))
      c[3] = ("person%d@import.example.com"):format(n)
      c[6] = "Low"
      c[7] = c[7] ~= "" and c[7] or "1"
      fixed[#fixed + 1] = c
    end
    local refed = tmpfile()
    local fw = migrate.failures(refed, HEADER)
    for _, c in ipairs(fixed) do fw:add({ columns = c }, "was wrong") end
    fw:close()
    local third = migrate.upsert_candidates(t, migrate.csv(refed, { header = MAP }))
    assert.are.equal(100, third.created)
    assert.are.equal(0, third.failed)
    emails = by_email(emu)
    for i = 1, N do
      assert.are.equal(1, #emails[("person%d@import.example.com"):format(i)], "row " .. i)
    end
  end)

  it("updates only what differs, and nothing with update = false", function()
    local emu, t, writes = fresh(5)
    local text = "email,first_name,town,priority\nx1@example.com,X,Boston,High\nx2@example.com,Y,Austin,Low\n"
    local map = { priority = "custom.Priority" }
    migrate.upsert_candidates(t, migrate.csv(tmpfile(text), { header = map }))
    local n = #writes
    local changed = "email,first_name,town,priority\nX1@Example.com,X,Denver,high\nx2@example.com,Y,Austin,Medium\n"
    local keep = migrate.upsert_candidates(t, migrate.csv(tmpfile(changed), { header = map }),
                                           { update = false })
    assert.are.equal(2, keep.unchanged)
    assert.are.equal(n, #writes)
    local sum = migrate.upsert_candidates(t, migrate.csv(tmpfile(changed), { header = map }))
    assert.are.equal(2, sum.updated)
    assert.are.equal(n + 2, #writes)
    -- the email's case and "high" for "High" are no change
    assert.are.equal("update_candidate", writes[n + 1].op)
    assert.are.same({ town = "Denver" }, writes[n + 1].payload.fields)
    assert.are.equal("set_custom_fields", writes[n + 2].op)
    assert.are.same({ Priority = "Medium" }, writes[n + 2].payload.fields)
    local c = by_email(emu)["x1@example.com"][1]
    assert.are.equal("Denver", c.town)
  end)

  -- a candidate with a phone no other candidate has
  local function unique_phone(emu)
    local count = {}
    for _, c in ipairs(emu:state().candidates) do
      local d = (c.mobiletelephone or ""):gsub("%D", "")
      count[d] = (count[d] or 0) + 1
    end
    for _, c in ipairs(emu:state().candidates) do
      if count[(c.mobiletelephone or ""):gsub("%D", "")] == 1 then return c end
    end
    error("no candidate has a phone of its own")
  end

  for _, lookup in ipairs({ "index", "find_person" }) do
    it("never creates a second candidate for a person Tracker knows, by email or phone (lookup "
       .. lookup .. ")", function()
      local emu, t = fresh(60)
      local known = emu:state().candidates[4]
      local by_phone = unique_phone(emu)
      local n = #emu:state().candidates
      local sum = migrate.upsert_candidates(t, {
        { first_name = known.firstname, email = known.email:upper() },
        { first_name = by_phone.firstname, email = "moved@elsewhere.example",
          phone = "+1 " .. by_phone.mobiletelephone },
        { first_name = "New", last_name = "Person", email = "new.person@import.example" },
        -- the same phone, another name: another person (a shared phone), made
        { first_name = "Not" .. by_phone.firstname, email = "someone.else@import.example",
          phone = by_phone.mobiletelephone },
      }, { lookup = lookup })
      assert.are.same({ 2, 0 }, { sum.created, sum.failed })
      assert.are.equal(n + 2, #emu:state().candidates)
      -- the row known by its phone updated that candidate's email
      assert.are.equal("moved@elsewhere.example", by_phone.email)
    end)
  end

  it("measures a 200-row import both ways: one read of every candidate, or requests per row", function()
    local counts = {}
    for _, lookup in ipairs({ "index", "find_person" }) do
      local emu, t = fresh(1000)
      local rows = {}
      for i = 1, 200 do
        local c = emu:state().candidates[i]
        rows[i] = i <= 100 and { first_name = c.firstname, email = c.email }
                  or { first_name = "P" .. i, email = ("p%d@new.example"):format(i) }
      end
      t:metadata()
      local before = t:stats().requests
      local sum = migrate.upsert_candidates(t, rows, { lookup = lookup })
      assert.are.same({ 100, 100 }, { sum.created, sum.unchanged })
      counts[lookup] = t:stats().requests - before
    end
    -- index: 1000 candidates read 100 a page (11 pages), then the 100 creates; find_person:
    -- a checkPerson each row, and a name search (2 pages) and a read for each known one
    assert.are.same({ index = 111, find_person = 200 + 100 * 3 + 100 }, counts)
  end)

  it("fails a second row with the same key instead of applying both", function()
    local _, t = fresh(5)
    local sum = migrate.upsert_candidates(t, migrate.csv(tmpfile(
      "email,first_name\nd@example.com,Ann\nD@example.com,Anne\n")))
    assert.are.equal(1, sum.created)
    assert.are.equal(1, sum.failed)
    assert.are.equal("email 'd@example.com' is also on line 2: one row per candidate",
                     sum.errors[1].error)
    assert.are.equal(3, sum.errors[1].line)
  end)

  it("refuses a column that is not a candidate field before writing anything", function()
    local _, t, writes = fresh(5)
    local path = tmpfile("email,frist_name\na@example.com,Ann\n")
    local ok, e = pcall(migrate.upsert_candidates, t, migrate.csv(path))
    assert.is_false(ok)
    assert.is_truthy(e:find(path .. ": column 'frist_name' is not a candidate field (did you mean 'first_name'",
                            1, true), e)
    assert.are.equal(0, #writes)
    ok, e = pcall(migrate.upsert_candidates, t, migrate.csv(tmpfile("email,custom.Prio\n")))
    assert.is_false(ok)
    assert.is_truthy(e:find("no candidate custom field 'Prio' (did you mean 'Priority'?)", 1, true), e)
  end)

  it("plans creates in a dry run without changing Tracker", function()
    local emu, t, writes = fresh(5, true)
    local sum = migrate.upsert_candidates(t, {
      { first_name = "Ann", email = "ann@example.com" },
      { first_name = "Bo", email = "bo@example.com", ["custom.Score"] = "7" } })
    assert.are.equal(2, sum.created)
    assert.are.equal(2, #writes)
    assert.are.equal("create_candidate", writes[2].op)
    assert.are.same({ Score = "7" }, writes[2].payload.custom)
    assert.are.equal(5, #emu:state().candidates)
  end)

  it("updates by id, and fails rows whose id matches no candidate", function()
    local emu, t = fresh(5)
    local first = emu:state().candidates[1]
    local sum = migrate.upsert_candidates(t, { { id = tostring(first.id), job_title = "Welder" },
                                               { id = "999999", job_title = "Welder" } },
                                          { key = "id" })
    assert.are.equal(1, sum.updated)
    assert.are.equal("no candidate with id 999999", sum.errors[1].error)
    assert.are.equal("Welder", first.jobtitle)
  end)

  it("fills empty values from defaults", function()
    local emu, t = fresh(5)
    migrate.upsert_candidates(t, migrate.csv(tmpfile("email,first_name,source\nq@example.com,Q,\n")),
                              { defaults = { source = "Job Fair", ["custom.Priority"] = "Low" } })
    local c = by_email(emu)["q@example.com"][1]
    assert.are.equal("Job Fair", c.source)
    assert.are.equal("Low", stored_custom(emu, c, "Priority"))
  end)
end)

-- ---- backfill, moves, files ------------------------------------------------------------------

describe("migrate.backfill", function()
  local function priority(c)
    local s = c.custom.Score
    if s == nil then return nil end
    return { Priority = s >= 8 and "High" or s >= 5 and "Medium" or "Low" }
  end

  it("sets what the function gives, skips what it does not, and leaves right values alone", function()
    local emu, t, writes = fresh(60)
    local sum = migrate.backfill(t, "candidates", priority)
    assert.are.equal(60, sum.records)
    assert.is_true(sum.skipped > 0)
    assert.are.equal(60, sum.updated + sum.unchanged + sum.skipped)
    assert.are.equal(sum.updated, #writes)
    for _, c in ipairs(emu:state().candidates) do
      local score = tonumber(stored_custom(emu, c, "Score"))
      if score then
        assert.are.equal(priority({ custom = { Score = score } }).Priority,
                         stored_custom(emu, c, "Priority"))
      end
    end
    local again = migrate.backfill(t, "candidates", priority)
    assert.are.equal(0, again.updated)
    assert.are.equal(sum.updated, #writes)
  end)

  it("records values Tracker refuses as failures, and raises for a field that does not exist", function()
    local _, t = fresh(5)
    local out = tmpfile()
    local w = migrate.failures(out, { "id", "name" })
    local sum = migrate.backfill(t, "candidates", function() return { Priority = "Urgent" } end,
                                 { failures = w })
    assert.are.equal(5, sum.failed)
    assert.are.equal(5, w:close())
    assert.is_truthy(slurp(out):find("not an item of custom field 'Priority'", 1, true))
    local ok, e = pcall(migrate.backfill, t, "candidates", function() return { Prioity = "High" } end)
    assert.is_false(ok)
    assert.is_truthy(e:find("backfill: no candidate custom field 'Prioity' (did you mean 'Priority'?)", 1, true), e)
  end)

  it("takes rows of ids from a CSV with the kind given", function()
    local emu, t = fresh(5)
    local id = emu:state().candidates[2].id
    local sum = migrate.backfill(t, migrate.csv(tmpfile("id,score\n" .. id .. ",9\n")),
                                 function(row) return { Score = row.score } end,
                                 { kind = "candidate" })
    assert.are.equal(1, sum.updated)
    assert.are.equal("9", stored_custom(emu, emu:state().candidates[2], "Score"))
  end)
end)

describe("writes that fail after they were sent", function()
  it("are reported on their own rows, in row order", function()
    local emu = fresh(5)
    local cands = emu:state().candidates
    local t = refusing(emu, '"recordid":' .. cands[2].id)
    local out = tmpfile()
    local w = migrate.failures(out, { "id", "name" })
    local seen = {}
    local list = {}
    for i = 1, 3 do list[i] = { kind = "candidate", id = cands[i].id, name = "c" .. i } end
    local sum = migrate.backfill(t, list, function() return { Score = 4 } end, {
      failures = w, on_row = function(rec, status) seen[#seen + 1] = rec.name .. " " .. status end })
    assert.are.same({ "c1 updated", "c2 failed", "c3 updated" }, seen)
    assert.are.equal(1, sum.failed)
    w:close()
    -- the server's text, and what the write sent (it need not say which value it refused)
    assert.are.equal(("id,name,error\n%d,c2,invalid_request: updateRecord: refused by the spec (widget "
                      .. "status 99) (set_custom_fields sent custom field 441 (Score) = '4')\n")
                     :format(cands[2].id), slurp(out))
  end)

  it("are told apart when two rows write to the same record", function()
    local emu = fresh(5)
    local c = emu:state().candidates[1]
    local t = refusing(emu, '"filename":"a.pdf"')
    local a, b = tmpfile("first file"), tmpfile("second file")
    local out = tmpfile()
    local w = migrate.failures(out, { "id", "filename" })
    local sum = migrate.attach_files(t, { { id = c.id, file = a, filename = "a.pdf" },
                                          { id = c.id, file = b, filename = "b.pdf" } },
                                     { key = "id", failures = w })
    assert.are.equal(1, sum.attached)
    assert.are.equal(1, sum.failed)
    w:close()
    assert.matches("^id,filename,error\n" .. c.id .. ",a%.pdf,\"invalid_request: attachDocument: "
                   .. "refused by the spec .* %(attach sent file%.filename = 'a%.pdf',",
                   slurp(out))
    local names = {}
    for _, d in ipairs(emu:state().documents) do
      if d.recordid == c.id then names[d.filename] = true end
    end
    assert.is_nil(names["a.pdf"])
    assert.is_true(names["b.pdf"])
  end)
end)

describe("migrate.move_applications", function()
  it("moves the listed applications, leaves those already there, and guards with from", function()
    local _, t, writes = fresh(40)
    local apps = {}
    for a in t:applications{} do apps[#apps + 1] = a end
    local screening, other = {}, nil
    for _, a in ipairs(apps) do
      if a.stage == "Screening" and #screening < 3 then screening[#screening + 1] = a.id end
      if a.stage == "Applied" and not other then other = a.id end
    end
    assert.are.equal(3, #screening)
    local ids = { screening[1], tostring(screening[2]), screening[3], other, "x12", 99999999 }
    local sum = migrate.move_applications(t, ids, "Interview", { from = "screening" })
    assert.are.equal(3, sum.moved)
    assert.are.equal(3, sum.failed)
    assert.are.equal(3, #writes)
    assert.are.equal("conflict: application " .. other .. " is in stage 'Applied', not 'Screening'",
                     sum.errors[1].error)
    assert.are.equal("'x12' is not an application id", sum.errors[2].error)
    assert.matches("^not_found: ", sum.errors[3].error)
    for _, id in ipairs(screening) do assert.are.equal("Interview", t:application(id).stage) end
    local again = migrate.move_applications(t, screening, "Interview", { from = "Screening" })
    assert.are.equal(3, again.unchanged)
    assert.are.equal(3, #writes)
  end)

  it("moves rows to their own stage, and raises for a stage that does not exist", function()
    local _, t = fresh(20)
    local a = select(2, t:applications{}):next()
    local sum = migrate.move_applications(t, migrate.csv(tmpfile(
      "id,stage\n" .. a.id .. ",Offer\n" .. a.id .. ",Ofer\n")))
    assert.are.equal(1, sum.moved)
    assert.is_truthy(sum.errors[1].error:find("no stage 'Ofer' (did you mean 'Offer'?)", 1, true))
    local ok, e = pcall(migrate.move_applications, t, { a.id }, "Intervew")
    assert.is_false(ok)
    assert.is_truthy(e:find("move_applications: no stage 'Intervew' (did you mean 'Interview'?)", 1, true), e)
  end)
end)

describe("migrate.attach_files", function()
  it("attaches each row's file to the candidate of its email, once", function()
    local emu, t, writes = fresh(5)
    local c = emu:state().candidates[1]
    local cv = tmpfile("%PDF-1.4 a resume")
    local rows = migrate.csv(tmpfile(("email,file,filename\n%s,%s,ann-cv.pdf\nnobody@example.com,%s,\n%s,/nonexistent/x.pdf,x.pdf\n")
                                     :format(c.email, cv, cv, c.email)))
    local sum = migrate.attach_files(t, rows, { type = "resume", primary = true })
    assert.are.equal(1, sum.attached)
    assert.are.equal(2, sum.failed)
    assert.are.equal("no candidate with email 'nobody@example.com'", sum.errors[1].error)
    assert.is_truthy(sum.errors[2].error:find("/nonexistent/x.pdf", 1, true))
    assert.are.equal("attach", writes[1].op)
    assert.are.equal("ann-cv.pdf", writes[1].payload.filename)
    assert.are.equal(c.id, writes[1].target.id)
    local again = migrate.attach_files(t, { { email = c.email, file = cv, filename = "ann-cv.pdf" } })
    assert.are.equal(1, again.skipped)
    assert.are.equal(1, #writes)
  end)
end)
