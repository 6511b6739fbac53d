-- The hello example, as `make demo` runs it.
local trk = require "support.trk"

describe("examples/hello.lua", function()
  it("greets by name and shows JSON round-tripping", function()
    local r = trk.exec({ "run", trk.root .. "/examples/hello.lua", "--", "Ada" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_truthy(r.stdout:find("^hello, Ada: trk %d+%.%d+%.%d+, Lua 5%.4\n"), r.stdout)
    assert.is_truthy(r.stdout:find("candidate 188077 (Ada Lovelace) is at stage Interview", 1, true))
    assert.are.equal("info: scripts log to stderr; print goes to stdout\n", r.stderr)
  end)
end)
