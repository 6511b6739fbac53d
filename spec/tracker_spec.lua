-- The tracker module as plain Lua and busted load it (tracker.so).
local tracker = require "tracker"
local trk = require "support.trk"

describe("the tracker module", function()
  it("carries the same version as trk", function()
    local r = trk.exec({ "--version" })
    assert.are.equal("trk " .. tracker.version, r.stdout:match("^(trk %S+)"))
  end)

  describe("errors", function()
    it("carry code, message, status and retryable", function()
      local e = tracker.error{ code = "rate_limited", message = "slow down", status = 429 }
      assert.are.same({ "rate_limited", "slow down", 429, true },
                      { e.code, e.message, e.status, e.retryable })
    end)

    it("read well as text", function()
      assert.are.equal("not_found: candidate 12 does not exist (HTTP 404)",
        tostring(tracker.error{ code = "not_found", message = "candidate 12 does not exist", status = 404 }))
      assert.are.equal("network: connection refused",
        tostring(tracker.error{ code = "network", message = "connection refused" }))
    end)

    it("know which failures are worth retrying", function()
      for code, retryable in pairs{ not_found = false, auth = false, rate_limited = true,
                                    invalid_request = false, conflict = false, server = true,
                                    network = true, timeout = true, bad_response = false } do
        assert.are.equal(retryable, tracker.error{ code = code, message = "" }.retryable, code)
      end
    end)

    it("let the caller override retryable", function()
      assert.is_false(tracker.error{ code = "server", message = "", retryable = false }.retryable)
    end)

    it("are recognised by is_error", function()
      assert.is_true(tracker.is_error(tracker.error{ code = "auth", message = "" }))
      assert.is_false(tracker.is_error({ code = "auth", message = "" }))
      assert.is_false(tracker.is_error("auth"))
    end)

    it("refuse an unknown code, naming the argument", function()
      assert.has_error(function() tracker.error{ code = "oops", message = "" } end,
                       "bad argument #1 to 'error' (unknown error code 'oops')")
    end)
  end)
end)
