-- tracker.time: ISO 8601 instants and IANA zone conversion, checked against known values.
local time = require("tracker").time
local trk = require "support.trk"

local NY, LONDON, SYDNEY = "America/New_York", "Europe/London", "Australia/Sydney"
local ZONEINFO = os.getenv("TZDIR") or "/usr/share/zoneinfo"

-- The UTC instant, as ISO 8601, of a local time in a zone.
local function utc_of(naive, zone)
  return time.format(assert(time.from_local(naive, zone)))
end

-- The local time in a zone of a UTC instant given as ISO 8601.
local function local_of(iso, zone)
  return time.to_local(assert(time.parse(iso)), zone)
end

describe("time.parse", function()
  it("reads a UTC time as seconds since 1970", function()
    assert.are.equal(1795298700, time.parse("2026-11-21T22:05:00Z"))
    assert.are.equal(0, time.parse("1970-01-01T00:00:00Z"))
    assert.are.equal(-1, time.parse("1969-12-31T23:59:59Z"))
    assert.are.equal("integer", math.type(time.parse("2026-11-21T22:05:00Z")))
  end)

  it("applies numeric offsets written with or without a colon", function()
    assert.are.equal(1795278900, time.parse("2026-11-21T22:05:00+05:30"))
    assert.are.equal(1795278900, time.parse("2026-11-21T22:05:00+0530"))
    assert.are.equal(1795327500, time.parse("2026-11-21T22:05:00-08:00"))
    assert.are.equal(1795327500, time.parse("2026-11-21T22:05:00-0800"))
    assert.are.equal(1795298700, time.parse("2026-11-21T22:05:00-00:00"))
  end)

  it("drops fractional seconds", function()
    assert.are.equal(1795298700, time.parse("2026-11-21T22:05:00.999999Z"))
    assert.are.equal(1795298700, time.parse("2026-11-21T22:05:00.5+00:00"))
  end)

  it("reads a bare date as midnight UTC", function()
    assert.are.equal(time.parse("2026-11-21T00:00:00Z"), time.parse("2026-11-21"))
  end)

  it("accepts February 29 only in leap years", function()
    assert.is_number(time.parse("2024-02-29T12:00:00Z"))
    assert.is_number(time.parse("2000-02-29"))
    assert.is_nil(time.parse("2026-02-29T12:00:00Z"))
    assert.is_nil(time.parse("1900-02-29"))
    assert.is_nil(time.parse("2100-02-29"))
  end)

  it("checks the range of every field", function()
    for _, s in ipairs({
      "2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z", "2026-01-00T00:00:00Z",
      "2026-01-32T00:00:00Z", "2026-04-31T00:00:00Z", "2026-06-31", "2026-11-21T24:00:00Z",
      "2026-11-21T23:60:00Z", "2026-11-21T23:59:60Z", "2026-11-21T22:05:00+24:00",
      "2026-11-21T22:05:00+05:60",
    }) do
      assert.is_nil(time.parse(s), s)
    end
  end)

  it("rejects what is not ISO 8601, quoting it in the message", function()
    for _, s in ipairs({
      "", "now", "2026-11-21T22:05:00", "2026-11-21 22:05:00Z", "2026-11-21t22:05:00Z",
      "2026-11-21T22:05:00z", "2026-11-21T22:05Z", "2026-1-21T22:05:00Z", "26-11-21",
      "2026-11-21T22:05:00.Z", "2026-11-21T22:05:00+5:30", "2026-11-21T22:05:00+05",
      "2026-11-21T22:05:00Z ", " 2026-11-21", "2026-11-21Z", "2026-11-21T",
      "2026-11-21T22:05:00Z\0junk", "+2026-11-21",
    }) do
      local t, err = time.parse(s)
      assert.is_nil(t, s)
      assert.are.equal("string", type(err))
    end
    local _, err = time.parse("21/11/2026")
    assert.are.equal("time.parse: '21/11/2026' is not an ISO 8601 time "
                     .. "(expected e.g. 2026-11-21T22:05:00Z)", err)
  end)

  it("shortens long input quoted in the message", function()
    local _, err = time.parse(("x"):rep(10000))
    assert.is_true(#err < 200)
    assert.truthy(err:find("xxx...'", 1, true))
  end)

  it("rejects instants that would not print with a four-digit year", function()
    assert.is_nil(time.parse("0000-01-01T00:00:00+01:00"))
    assert.is_nil(time.parse("9999-12-31T23:59:59-01:00"))
    assert.is_number(time.parse("0000-01-01T00:00:00Z"))
    assert.is_number(time.parse("9999-12-31T23:59:59Z"))
  end)
end)

describe("time.format", function()
  it("writes UTC ISO 8601 with a Z", function()
    assert.are.equal("1970-01-01T00:00:00Z", time.format(0))
    assert.are.equal("1969-12-31T23:59:59Z", time.format(-1))
    assert.are.equal("2026-11-21T22:05:00Z", time.format(1795298700))
    assert.are.equal("2024-02-29T23:59:59Z", time.format(1709251199))
  end)

  it("covers years 0000 to 9999", function()
    assert.are.equal("0000-01-01T00:00:00Z", time.format(-62167219200))
    assert.are.equal("9999-12-31T23:59:59Z", time.format(253402300799))
  end)

  it("round-trips with parse", function()
    for _, s in ipairs({ "1600-02-29T01:02:03Z", "1899-12-31T23:59:59Z", "1950-06-15T12:00:00Z",
                         "2000-02-29T00:00:00Z", "2038-01-19T03:14:08Z", "2100-03-01T00:00:00Z",
                         "0001-01-01T00:00:00Z" }) do
      assert.are.equal(s, time.format(time.parse(s)))
    end
    local t = -62167219200
    while t < 253402300799 do
      assert.are.equal(t, time.parse(time.format(t)))
      t = t + 86399 * 997 + 12345
    end
  end)

  it("accepts floats with an integral value", function()
    assert.are.equal("2026-11-21T22:05:00Z", time.format(1795298700.0))
  end)

  it("raises on non-numbers, fractions and instants outside years 0000-9999", function()
    assert.has_error(function() time.format("1795298700") end)
    assert.has_error(function() time.format(nil) end)
    assert.has_error(function() time.format(1.5) end)
    assert.has_error(function() time.format(1 / 0) end)
    assert.has_error(function() time.format(-62167219201) end)
    assert.has_error(function() time.format(253402300800) end)
  end)
end)

describe("time zones", function()
  it("converts New York standard and daylight time", function()
    assert.are.equal("2026-01-15 07:00:00", local_of("2026-01-15T12:00:00Z", NY))
    assert.are.equal("2026-07-01 08:00:00", local_of("2026-07-01T12:00:00Z", NY))
    assert.are.equal(-18000, time.offset(time.parse("2026-01-15T12:00:00Z"), NY))
    assert.are.equal(-14400, time.offset(time.parse("2026-07-01T12:00:00Z"), NY))
    assert.are.equal("2026-07-01T16:00:00Z", utc_of("2026-07-01 12:00:00", NY))
  end)

  it("shows 01:30 twice on New York's fall-back day", function()
    assert.are.equal("2026-11-01 01:30:00", local_of("2026-11-01T05:30:00Z", NY))
    assert.are.equal("2026-11-01 01:30:00", local_of("2026-11-01T06:30:00Z", NY))
    assert.are.equal("2026-11-01 01:59:59", local_of("2026-11-01T05:59:59Z", NY))
    assert.are.equal("2026-11-01 01:00:00", local_of("2026-11-01T06:00:00Z", NY))
  end)

  it("reads a twice-occurring local time as the earlier instant", function()
    assert.are.equal("2026-11-01T05:30:00Z", utc_of("2026-11-01 01:30:00", NY))
    assert.are.equal("2026-11-01T05:00:00Z", utc_of("2026-11-01 01:00:00", NY))
    assert.are.equal("2026-11-01T07:00:00Z", utc_of("2026-11-01 02:00:00", NY))
  end)

  it("reads a local time in the spring-forward gap with the offset before it", function()
    assert.are.equal("2026-03-08T07:30:00Z", utc_of("2026-03-08 02:30:00", NY))
    assert.are.equal("2026-03-08 03:30:00", time.to_local(time.from_local("2026-03-08 02:30:00", NY), NY))
    assert.are.equal("2026-03-08T07:00:00Z", utc_of("2026-03-08 02:00:00", NY))
    assert.are.equal("2026-03-08T06:59:59Z", utc_of("2026-03-08 01:59:59", NY))
    assert.are.equal("2026-03-08T07:00:00Z", utc_of("2026-03-08 03:00:00", NY))
  end)

  it("converts London, including British Standard Time in 1970", function()
    assert.are.equal("2026-01-15 12:00:00", local_of("2026-01-15T12:00:00Z", LONDON))
    assert.are.equal("2026-07-01 13:00:00", local_of("2026-07-01T12:00:00Z", LONDON))
    assert.are.equal("2026-03-29T01:30:00Z", utc_of("2026-03-29 01:30:00", LONDON))  -- gap
    assert.are.equal("2026-10-25T00:30:00Z", utc_of("2026-10-25 01:30:00", LONDON))  -- twice
    assert.are.equal(3600, time.offset(0, LONDON))
  end)

  it("converts Sydney, whose daylight time spans the new year", function()
    assert.are.equal(39600, time.offset(time.parse("2026-01-15T00:00:00Z"), SYDNEY))
    assert.are.equal(36000, time.offset(time.parse("2026-07-15T00:00:00Z"), SYDNEY))
    assert.are.equal("2026-01-15 23:00:00", local_of("2026-01-15T12:00:00Z", SYDNEY))
    assert.are.equal("2026-04-04T15:30:00Z", utc_of("2026-04-05 02:30:00", SYDNEY))  -- twice
    assert.are.equal("2026-10-03T16:30:00Z", utc_of("2026-10-04 02:30:00", SYDNEY))  -- gap
  end)

  it("converts half- and quarter-hour zones: Kolkata and Kathmandu", function()
    assert.are.equal(19800, time.offset(time.parse("2026-06-01T00:00:00Z"), "Asia/Kolkata"))
    assert.are.equal("2026-06-01T06:30:00Z", utc_of("2026-06-01 12:00:00", "Asia/Kolkata"))
    assert.are.equal(20700, time.offset(time.parse("2026-06-01T00:00:00Z"), "Asia/Kathmandu"))
    assert.are.equal("2026-06-01 17:45:00", local_of("2026-06-01T12:00:00Z", "Asia/Kathmandu"))
    assert.are.equal("2026-06-01T06:15:00Z", utc_of("2026-06-01 12:00:00", "Asia/Kathmandu"))
  end)

  it("converts UTC and the sign-inverted Etc/GMT+5", function()
    assert.are.equal(0, time.offset(1795298700, "UTC"))
    assert.are.equal("2026-11-21 22:05:00", time.to_local(1795298700, "UTC"))
    assert.are.equal(-18000, time.offset(1795298700, "Etc/GMT+5"))
    assert.are.equal("2026-11-21 17:05:00", time.to_local(1795298700, "Etc/GMT+5"))
    assert.are.equal("2026-11-21T22:05:00Z", utc_of("2026-11-21 17:05:00", "Etc/GMT+5"))
  end)

  it("follows the zone's rule string far past its last listed transition (2090)", function()
    assert.are.equal("2090-07-01T16:00:00Z", utc_of("2090-07-01 12:00:00", NY))
    assert.are.equal("2090-12-01T17:00:00Z", utc_of("2090-12-01 12:00:00", NY))
    assert.are.equal("2090-03-12T07:30:00Z", utc_of("2090-03-12 02:30:00", NY))      -- gap
    assert.are.equal("2090-11-05T05:30:00Z", utc_of("2090-11-05 01:30:00", NY))      -- twice
    assert.are.equal("2090-04-01T15:30:00Z", utc_of("2090-04-02 02:30:00", SYDNEY))  -- twice
    assert.are.equal("2090-09-30T16:30:00Z", utc_of("2090-10-01 02:30:00", SYDNEY))  -- gap
    assert.are.equal(3600, time.offset(time.parse("2090-07-01T00:00:00Z"), LONDON))
    assert.are.equal(20700, time.offset(time.parse("2090-07-01T00:00:00Z"), "Asia/Kathmandu"))
  end)

  it("knows history: 1950", function()
    assert.are.equal("1950-07-01T16:00:00Z", utc_of("1950-07-01 12:00:00", NY))   -- DST then too
    assert.are.equal("1950-01-15T17:00:00Z", utc_of("1950-01-15 12:00:00", NY))
    assert.are.equal(36000, time.offset(time.parse("1950-01-15T00:00:00Z"), SYDNEY))  -- no DST
    assert.are.equal(19800, time.offset(time.parse("1950-06-01T00:00:00Z"), "Asia/Kathmandu"))
  end)

  it("reads naive text with a T, with fractions, or as a bare date at local midnight", function()
    assert.are.equal("2026-07-01T16:00:00Z", utc_of("2026-07-01T12:00:00", NY))
    assert.are.equal("2026-07-01T16:00:00Z", utc_of("2026-07-01 12:00:00.750", NY))
    assert.are.equal("2026-07-01T04:00:00Z", utc_of("2026-07-01", NY))
  end)

  it("returns nil and a message for naive text it cannot read", function()
    for _, s in ipairs({ "", "yesterday", "2026-07-01 12:00", "2026-07-01 12:00:00Z",
                         "2026-07-01 12:00:00-04:00", "2026-02-30 12:00:00", "2026-07-01  12:00:00" }) do
      local t, err = time.from_local(s, NY)
      assert.is_nil(t, s)
      assert.are.equal("string", type(err))
    end
    local _, err = time.from_local("07/01/2026", NY)
    assert.are.equal("time.from_local: '07/01/2026' is not a local date and time "
                     .. "(expected e.g. 2026-11-21 17:05:00)", err)
  end)

  it("maps every instant back to itself through local time", function()
    for _, zone in ipairs({ NY, LONDON, SYDNEY, "Asia/Kolkata", "America/Santiago" }) do
      local t = time.parse("1940-01-01")
      while t < time.parse("2100-01-01") do
        -- only the later of two equal local times would come back as another instant
        local back = time.from_local(time.to_local(t, zone), zone)
        assert.is_true(back == t or time.to_local(back, zone) == time.to_local(t, zone))
        assert.is_true(back == t or back < t)
        t = t + 3 * 86400 + 3917
      end
    end
  end)
end)

describe("time zone names", function()
  it("are valid when tzdata knows them", function()
    for _, z in ipairs({ NY, LONDON, SYDNEY, "UTC", "Etc/GMT+5", "Etc/GMT-14",
                         "America/Argentina/Buenos_Aires", "America/Port-au-Prince" }) do
      assert.is_true(time.zone_valid(z), z)
    end
  end)

  it("are unknown when no such zone exists, or name a directory", function()
    local ok, err = time.zone_valid("Mars/Base")
    assert.is_nil(ok)
    assert.are.equal("time.zone_valid: unknown time zone 'Mars/Base'", err)
    assert.is_nil(time.zone_valid("America"))
  end)

  it("refuse paths, dots, empty segments and long names without touching the disk", function()
    for _, z in ipairs({ "../etc/passwd", "America/../Europe/London", "./UTC", "/etc/localtime",
                         "America//New_York", "America/New_York/", "", "zone.tab", "UTC ",
                         "UTC\0", ("A"):rep(256), "Amérique/Paris" }) do
      local ok, err = time.zone_valid(z)
      assert.is_nil(ok, z)
      assert.truthy(err:find("invalid time zone name", 1, true), z)
    end
    assert.is_nil(time.zone_valid(("A/"):rep(127) .. "A"))   -- 255 chars: well-formed, unknown
  end)

  it("raise when a conversion is given a bad zone, naming it", function()
    assert.error_matches(function() time.to_local(0, "Mars/Base") end,
                         "time.to_local: unknown time zone 'Mars/Base'", 1, true)
    assert.error_matches(function() time.from_local("2026-01-01", "../etc/passwd") end,
                         "time.from_local: invalid time zone name '../etc/passwd'", 1, true)
    assert.error_matches(function() time.offset(0, "Mars/Base") end,
                         "time.offset: unknown time zone 'Mars/Base'", 1, true)
    assert.has_error(function() time.to_local(0, nil) end)
  end)
end)

-- Runs code in a fresh lua5.4 whose TZDIR is dir, with this process's module path;
-- returns its output. The process must end normally: a crash fails the spec.
local function with_tzdir(dir, code)
  local script = trk.tmpdir() .. "/probe.lua"
  trk.write(script, "local time = require('tracker').time\n" .. code .. "\nprint('done')\n")
  local p = io.popen(("TZDIR=%s lua5.4 -e %s %s 2>&1"):format(trk.quote(dir),
    trk.quote("package.cpath = " .. ("%q"):format(package.cpath)), trk.quote(script)))
  local out = p:read("a")
  local ok = p:close()
  assert.is_true(ok and out:find("done\n$") ~= nil, out)
  assert.is_nil(out:find("Sanitizer", 1, true), out)
  return out
end

-- Where each part of a real v2+ TZif file starts.
local function tzif_layout(s)
  local function block(pos, tsize)
    local isut, isstd, leap, n, types, chars = string.unpack(">I4I4I4I4I4I4", s, pos + 20)
    local data = pos + 44
    return { data = data, n = n, types = types,
             size = n * (tsize + 1) + types * 6 + chars + leap * (tsize + 4) + isstd + isut }
  end
  local v1 = block(1, 4)
  local v2 = block(v1.data + v1.size, 8)
  v2.v1 = v1
  v2.footer = v2.data + v2.size          -- the "\n" before the TZ string
  return v2
end

describe("TZDIR", function()
  local ny = trk.slurp(ZONEINFO .. "/America/New_York")
  after_each(trk.cleanup)

  it("overrides where zones are read from", function()
    local dir = trk.tmpdir()
    os.execute("mkdir -p " .. trk.quote(dir .. "/Test"))
    trk.write(dir .. "/Test/Zone", ny)
    local out = with_tzdir(dir, [[
      print(time.offset(time.parse("2026-07-01T00:00:00Z"), "Test/Zone"))
      print(time.zone_valid("America/New_York"))]])
    assert.are.equal("-14400\nnil\ttime.zone_valid: unknown time zone 'America/New_York'\ndone\n", out)
  end)

  it("falls back to a built-in UTC when the directory has none", function()
    local out = with_tzdir(trk.tmpdir(), [[
      print(time.zone_valid("UTC"), time.offset(0, "UTC"), (time.zone_valid("Etc/UTC")))]])
    assert.are.equal("true\t0\tnil\ndone\n", out)
  end)

  it("reads v1 files, whose last transition then holds for good", function()
    local lay = tzif_layout(ny)
    assert.is_true(lay.v1.n > 0, "expected a 'fat' tzdata file with a full v1 block")
    local dir = trk.tmpdir()
    trk.write(dir .. "/V1", "TZif\0" .. ny:sub(6, lay.v1.data + lay.v1.size - 1))
    local out = with_tzdir(dir, [[
      for _, iso in ipairs({ "1950-07-01", "2026-01-15", "2026-07-01", "2030-11-03T05:59:59Z" }) do
        print(time.offset(time.parse(iso), "V1"))
      end
      print(time.to_local(time.parse("2090-07-01T12:00:00Z"), "V1"))]])
    assert.are.equal("-14400\n-18000\n-14400\n-14400\n2090-07-01 07:00:00\ndone\n", out)
  end)

  local function corrupt(name, bytes, expect)
    local dir = trk.tmpdir()
    trk.write(dir .. "/Bad", bytes)
    local out = with_tzdir(dir, [[
      print(time.zone_valid("Bad"))
      print(pcall(time.to_local, 0, "Bad"))]])
    assert.truthy(out:find("nil\ttime.zone_valid: time zone 'Bad': " .. expect, 1, true), name .. ": " .. out)
    assert.truthy(out:find("false\ttime.to_local: time zone 'Bad': " .. expect, 1, true), name .. ": " .. out)
  end

  it("reports an empty file as truncated", function()
    corrupt("empty", "", "truncated header")
  end)

  it("reports a file that is not TZif", function()
    corrupt("text", ("# not a zone\n"):rep(10), "not a TZif file")
  end)

  it("reports counts that run past the end of the file", function()
    local lay = tzif_layout(ny)
    local at = lay.data - 44 + 32                       -- timecnt of the 64-bit header
    corrupt("counts", ny:sub(1, at - 1) .. "\255\255\255\255" .. ny:sub(at + 4),
            "counts exceed the file size")
  end)

  it("reports a transition naming a type that does not exist", function()
    local lay = tzif_layout(ny)
    local at = lay.data + lay.n * 8                     -- first type index
    corrupt("index", ny:sub(1, at - 1) .. "\200" .. ny:sub(at + 1), "bad local time type index")
  end)

  it("reports a footer that is not a TZ string", function()
    local lay = tzif_layout(ny)
    corrupt("footer", ny:sub(1, lay.footer) .. "EST5EDT,M13.2.0,M11.1.0\n",
            "bad TZ string in the footer")
  end)

  it("refuses files over 1 MiB without reading them", function()
    corrupt("large", ny .. ("\0"):rep(1024 * 1024), "file too large")
  end)

  it("rejects every truncation of a real file", function()
    local dir = trk.tmpdir()
    local names = {}
    for n = 0, #ny - 1, 7 do
      trk.write(dir .. "/T" .. n, ny:sub(1, n))
      names[#names + 1] = ("%q"):format("T" .. n)
    end
    local out = with_tzdir(dir, "for _, z in ipairs({" .. table.concat(names, ",") .. [[}) do
        local ok, err = time.zone_valid(z)
        if ok or not err:find("time zone '" .. z .. "': ", 1, true) then print("accepted", z, err) end
      end]])
    assert.are.equal("done\n", out)
  end)

  it("survives random corruption of a real file", function()
    local dir = trk.tmpdir()
    math.randomseed(20261121)
    for i = 1, 300 do
      local b = { ny:byte(1, -1) }
      for _ = 1, math.random(1, 8) do
        b[math.random(1, #b)] = math.random(0, 255)
      end
      trk.write(dir .. "/R" .. i, string.char(table.unpack(b)))
    end
    with_tzdir(dir, [[
      for i = 1, 300 do
        local z = "R" .. i
        if time.zone_valid(z) then
          for t = -3e9, 5e9, 7e7 do
            time.from_local(time.to_local(math.floor(t), z), z)
          end
        end
      end]])
  end)
end)
