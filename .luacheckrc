-- luacheck configuration: `make lint` checks bindings/lua/, scripts/, examples/ and spec/ with it.
std = "lua54"
max_line_length = 120
codes = true

-- The globals trk's sandbox gives a script beside the standard library (docs/sandbox.md).
local sandbox = { "json", "log", "files" }

-- The assertions tracker.testing registers with luassert, read as fields of `assert`.
local kit_asserts = { "planned", "not_planned", "planned_count" }

files["examples"] = { read_globals = sandbox }
files["bench"] = { read_globals = sandbox }
files["examples/**/*_spec.lua"] = {
  std = "+busted", read_globals = { assert = { fields = kit_asserts, other_fields = true } },
}
files["spec"] = {
  std = "+busted", read_globals = { assert = { fields = kit_asserts, other_fields = true } },
}
-- The migration kit runs inside the sandbox, where `files` is the granted-files module.
files["scripts/tracker/migrate.lua"] = { read_globals = sandbox }
files["scripts/tracker/csv.lua"] = { read_globals = sandbox }
-- The client's Lua parts run in the private environment bindings/tracker.c makes: `import` loads
-- another part, `native` holds the C helpers, `tracker` is the module being built.
files["bindings/lua"] = { read_globals = { "import", "native", "tracker" } }
-- Specs quote whole expected messages; one line each reads better than a split string.
files["spec"].max_line_length = 140
