-- The allocation-failure sweep through trk itself: a script that connects, streams, looks up
-- and plans a write over HTTP, run under `--max-memory N` with N raised one step at a time
-- until it succeeds. Every run before that stops cleanly at the limit (exit 3, the limit named)
-- with no crash, no other error and, in the sanitizer build, no leak (spec/support/trk.lua
-- runs trk with LeakSanitizer on). spec/c/test_alloc.c sweeps each client operation in
-- finer detail.
local trk = require "support.trk"
local server = require "support.server"

local SOAK = os.getenv("TRK_SOAK") == "1"
local FROM, STEP = 256 * 1024, (SOAK and 4 or 16) * 1024
local LAST = 8 * 1024 * 1024        -- past this it never succeeds: a failure

local SCRIPT = [[
local t = require("tracker").connect()
local n = 0
for c in t:candidates{ page_size = 50 } do n = n + 1 end
local app = assert(t:application(70001))
assert(t:add_note(app, "planned under a memory limit"))
print("streamed " .. n)
]]

describe("trk run under a memory limit", function()
  after_each(function()
    server.stop_all()
    trk.cleanup()
  end)

  it("stops cleanly at every limit below what the script needs, then succeeds", function()
    local srv = server.start({ "--generate", "200", "--seed", "3" })
    local dir = trk.tmpdir()
    trk.write(dir .. "/job.lua", SCRIPT)
    local env = server.client_env(srv)
    -- lua-cjson's known leak when a memory error stops a decode (spec/support/lsan.supp)
    env.LSAN_OPTIONS = "suppressions=" .. trk.root .. "/spec/support/lsan.supp:print_suppressions=0"
    local limit, stops, r = FROM, 0, nil
    while limit <= LAST do
      r = trk.exec({ "run", "job.lua", "--max-memory", tostring(limit) }, { cwd = dir, env = env })
      if r.code == 0 then break end
      assert.are.equal(3, r.code, "at " .. limit .. " bytes: " .. r.stderr)
      local kib = limit // 1024
      assert.is_truthy(r.stderr:find("memory limit exceeded (" .. (kib % 1024 == 0 and
                                       (kib // 1024) .. " MiB" or kib .. " KiB"), 1, true),
                       "at " .. limit .. " bytes: " .. r.stderr)
      assert.is_truthy(r.stderr:find("the script was stopped", 1, true), r.stderr)
      -- one line: the limit, and nothing else went wrong on the way
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
      stops = stops + 1
      limit = limit + STEP
    end
    assert.are.equal(0, r.code, "never succeeded up to " .. LAST .. " bytes: " .. r.stderr)
    assert.are.equal("streamed 200\n", r.stdout:match("streamed %d+\n"))
    assert.is_true(stops >= 10, "only " .. stops .. " limits were too small")
    print(string.format("\nalloc sweep: %d clean stops in steps of %d KiB; succeeds at %d KiB",
                        stops, STEP // 1024, limit // 1024))
  end)
end)
