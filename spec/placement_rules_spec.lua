-- trk rules on placements end to end: the real trk against `trk emulator` over HTTP, in both
-- dialects, with the example rule examples/rules/placement_end.lua. It plans an end date for
-- exactly the working placements that lack one (no other application, in any stage), applies
-- it, keeps a checkpoint on placements, and plans nothing once applied.
local trk = require "support.trk"
local server = require "support.server"
local json = require "json"
local tracker = require "tracker"

local SINCE = "2000-01-01T00:00:00Z"                    -- before every generated record
local RULE = trk.slurp(trk.root .. "/examples/rules/placement_end.lua")

local function rules(srv, dir, ...)
  return trk.exec({ "rules", dir, ... }, { env = server.client_env(srv) })
end

local function lines_of(path)
  local out = {}
  for line in io.lines(path) do out[#out + 1] = json.decode(line) end
  return out
end

local function nonempty(v) return v ~= nil and v ~= "" and v ~= json.null end

-- The applications the rule should end, by id: Working, with a start date and no end date;
-- the value is the end date it should get.
local function to_end(doc)
  local working
  for _, s in ipairs(doc.lists.opportunityResourceStatuses) do
    if s.name == "Working" then working = s.id end
  end
  local want, n = {}, 0
  for _, a in ipairs(doc.applications) do
    if a.statusid == working and nonempty(a.startdate) and not nonempty(a.enddate) then
      local start = assert(tracker.time.parse(a.startdate))
      want[a.id] = tracker.time.format(start + 182 * 86400):sub(1, 10)
      n = n + 1
    end
  end
  return want, n
end

describe("trk rules on placements", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  for _, dialect in ipairs({ "evidence", "rich" }) do
    it("ends exactly the working placements without an end date, once (" .. dialect .. ")", function()
      local srv = server.start({ "--generate", "40", "--seed", "3", "--admin", "--dialect", dialect })
      local before = server.state(srv)
      local want, n = to_end(before)
      assert.is_true(n > 1, "working placements without an end date: " .. n)
      local dir = trk.dir_with{ ["placement_end.lua"] = RULE }
      local plan = dir .. "/../plan.jsonl"

      local r = rules(srv, dir, "--since", SINCE, "--plan", plan)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same(before, server.state(srv))               -- a plan sends nothing
      local planned = {}
      for _, a in ipairs(lines_of(plan)) do
        assert.are.same({ "update_placement", "placement", "placement-end" },
                        { a.op, a.target.kind, a.rule })
        planned[a.target.id] = a.payload.fields.end_date
      end
      assert.are.same(want, planned)

      local applied = rules(srv, dir, "--since", SINCE, "--apply")
      assert.are.equal(0, applied.code, applied.stderr)
      assert.is_truthy(applied.stderr:find(n .. " writes: " .. n .. " applied", 1, true), applied.stderr)
      local after = server.state(srv)
      local old = {}
      for _, a in ipairs(before.applications) do old[a.id] = a end
      for _, a in ipairs(after.applications) do
        assert.are.equal(want[a.id] or old[a.id].enddate, a.enddate, "application " .. a.id)
        assert.are.equal(old[a.id].statusid, a.statusid, "application " .. a.id)
      end

      -- the rule's checkpoint is on placements, and from it a run finds nothing left to do
      local c = trk.exec({ "checkpoints", dir, "--json" })
      assert.are.equal(0, c.code, c.stderr)
      assert.are.same({ "placement-end", "placements" },
                      { json.decode(c.stdout).rule, json.decode(c.stdout).kind })
      local again = rules(srv, dir, "--apply")
      assert.are.equal(0, again.code, again.stderr)
      assert.is_truthy(again.stderr:find("0 writes: 0 applied", 1, true), again.stderr)
      assert.are.same(after, server.state(srv))
    end)
  end
end)
