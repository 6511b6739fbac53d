-- assert_error(code, err, text...): err is a tracker error of that code whose text holds each
-- given text. Shared by the specs (busted's assert is luassert, required here by name).
local assert = require "luassert"
local tracker = require "tracker"

return function(code, e, ...)
  assert.is_true(tracker.is_error(e), "expected an error, got " .. tostring(e))
  assert.are.equal(code, e.code, tostring(e))
  for _, text in ipairs({ ... }) do
    assert.is_truthy(tostring(e):find(text, 1, true), tostring(e))
  end
end
