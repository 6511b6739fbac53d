-- trk.busted_quiet: busted's output for `trk test --quiet`: the specs that fail or raise,
-- each with where it is and its message, and nothing else (nothing at all when all pass: the
-- exit status says so). Runs in busted, not in trk: `busted -o trk.busted_quiet`.

return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.base")()

  local function message(f)
    local m = f.message
    if type(m) == "string" then return m end
    if m == nil then return "(no message)" end
    local ok, pretty = pcall(require, "pl.pretty")
    return ok and pretty.write(m) or tostring(m)
  end

  local function describe(f, word)
    local trace = f.element and f.element.trace
    local where = trace and trace.short_src and (trace.short_src .. ":" .. tostring(trace.currentline))
    local text = word .. ": " .. (f.name or "?") .. (where and " (" .. where .. ")" or "") .. "\n"
                 .. message(f) .. "\n"
    if options.verbose and f.trace and f.trace.traceback then
      text = text .. f.trace.traceback .. "\n"
    end
    return text
  end

  handler.suiteEnd = function()
    for _, f in ipairs(handler.failures) do io.write(describe(f, "failure"), "\n") end
    for _, e in ipairs(handler.errors) do io.write(describe(e, "error"), "\n") end
    io.flush()
    return nil, true
  end

  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  return handler
end
