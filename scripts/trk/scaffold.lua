-- trk.scaffold: the files `trk init DIR` writes, a rules project a newcomer can follow:
-- one rule, its spec, a README, a .gitignore and, where trk's LuaLS definitions are found, a
-- .luarc.json.
--
--   for _, f in ipairs(require("trk.scaffold").files()) do write(dir .. "/" .. f.path, f.text) end

local M = {}

local RULE = [[
-- first-rule: mark every candidate who came from LinkedIn as High priority (the candidate
-- custom field "Priority", a list of High, Medium and Low).
--
-- A rule file returns a table: which records it is about (`on`, `where`), which of them it acts
-- on (`when`), and what it does (`action`). The reference is docs/rules.md in trk.
return {
  name = "first-rule",
  on = "candidates",   -- or applications, jobs, placements, clients, contacts, leads
  when = function(cand)
    -- a candidate marked already is left alone: running the rule again writes nothing
    return cand.source == "LinkedIn" and cand.custom.Priority ~= "High"
  end,
  action = function(cand, t)
    assert(t:set_custom_fields(cand, { Priority = "High" }))
  end,
}
]]

local SPEC = [[
-- The spec of first_rule.lua. `trk test` runs it against an in-process emulator: no Tracker,
-- no network, and nothing is written anywhere.
local testing = require "tracker.testing"

describe("first-rule", function()
  local rule = testing.load_rule("first_rule.lua")     -- beside this spec

  it("marks a candidate who came from LinkedIn as High priority", function()
    local ann = testing.candidate{ name = "Ann Lee", source = "LinkedIn" }
    local t = testing.emulator{ ann }
    local actions = testing.run_rule(rule, t)          -- the writes the rule plans
    assert.planned(actions, { op = "set_custom_fields", target = ann,
                              payload = { fields = { Priority = "High" } } })
    assert.planned_count(1, actions)
  end)

  it("leaves candidates from other sources", function()
    local bo = testing.candidate{ name = "Bo Chen", source = "Referral" }
    local actions = testing.run_rule(rule, testing.emulator{ bo })
    assert.planned_count(0, actions)
  end)

  it("does not mark a candidate twice", function()
    local ann = testing.candidate{ name = "Ann Lee", source = "LinkedIn",
                                   custom = { Priority = "High" } }
    local actions = testing.run_rule(rule, testing.emulator{ ann })
    assert.planned_count(0, actions)
  end)
end)
]]

local README = [[
# Tracker rules

Automation rules for Tracker RMS, run by trk. Each file in `rules/` is one rule; the
`*_spec.lua` beside it is its test.

```
rules/first_rule.lua        marks candidates who came from LinkedIn High priority
rules/first_rule_spec.lua   its spec
rules/.trk/                 made by trk rules: checkpoints and the journal (not in git)
```

## 1. Test the rules

```sh
trk test
```

runs every `*_spec.lua` in this directory (`trk test rules/first_rule_spec.lua` runs one)
against an in-process emulator (a fake Tracker inside
trk): no credentials, no network, nothing written. It exits non-zero when a spec fails. Change
`"LinkedIn"` in `rules/first_rule.lua` to see the spec fail, then put it back.

## 2. Rehearse against a local emulator

In a second terminal, start a fake Tracker with generated data:

```sh
trk emulator --generate 2000            # listening on http://127.0.0.1:8077
```

and point trk at it (these are the emulator's public demo credentials):

```sh
export TRACKER_WIDGET_URL=http://127.0.0.1:8077 TRACKER_REST_URL=http://127.0.0.1:8077
export TRACKER_APIKEY=demo-key TRACKER_USERNAME=demo@example.com TRACKER_API_TOKEN=demo-token
export TRACKER_RATE_LIMIT=60000         # the emulator has no rate limit; Tracker's is about 100/min
```

Then:

```sh
trk rules rules/ --since 2000-01-01T00:00:00Z            # plan: shows what the rules would do
trk rules rules/ --since 2000-01-01T00:00:00Z --apply    # does it
trk rules rules/                                         # again: nothing left to do
```

Without `--apply` nothing is written: trk prints the planned writes (operation, record,
change). A new rule starts from now, so the first run looks at records changed since
`--since`; after that trk keeps a checkpoint per rule in `rules/.trk/state.db` and each run sees
only what changed since the last one, and never acts twice on the same change of a record.

## 3. Run against Tracker

The first rule writes the candidate custom field "Priority", which the emulator has: change it
to a field of your own database first (trk refuses a custom field the database does not have).

```sh
export TRACKER_REGION=us                # us, ca or global
export TRACKER_APIKEY=...               # the widget API key
export TRACKER_USERNAME=...             # the API user (username or email)
export TRACKER_API_TOKEN=...            # the REST API token (applications need it)
export TRACKER_TIMEZONE=America/Chicago # your database's time zone
export TRACKER_STAGES=...               # the stages, as Interview=5;Offer=7 (if trk doctor finds none)
unset TRACKER_WIDGET_URL TRACKER_REST_URL TRACKER_RATE_LIMIT

trk rules rules/                        # plan first, always (a new rule starts from now:
                                        # add --since TIME to look further back)
trk rules rules/ --apply
trk rules rules/ --apply --watch 5m     # keep going: a run every five minutes
```

## Writing a rule

Copy `rules/first_rule.lua` and its spec, rename both, and change them. A rule says which
records it is about, when it acts and what it does:

```lua
return {
  name = "interview-note",
  on = "applications",
  where = { stage = "Interview" },
  when = function(app, ctx) return app.custom["Interview Note Sent"] ~= "Yes" end,
  action = function(app, t, ctx)
    assert(t:add_note(app, "Interview booked", { subject = "Interview" }))
    assert(t:set_custom_fields(app, { ["Interview Note Sent"] = "Yes" }))
  end,
}
```

Make every rule safe to run again: after its writes, the record must no longer match (here the
custom field says the note was sent). trk's docs: `docs/rules.md` (the rule format),
`docs/testing.md` (the spec kit), `docs/client.md` (reading and writing Tracker).
]]

-- The editor settings for the Lua Language Server: Lua 5.4, trk's definitions of the tracker
-- module, the kit and the sandbox's globals (`meta`, a directory, as JSON text), and busted.
local function luarc(meta)
  return ([[
{
  "runtime.version": "Lua 5.4",
  "workspace.library": [%s],
  "diagnostics.globals": ["describe", "it", "before_each", "after_each", "setup", "teardown",
                          "pending", "spy", "stub", "mock"]
}
]]):format(meta)
end

-- The files of a new project. `meta`, when given, is where trk's LuaLS definitions are, as a
-- JSON string: the project then gets a .luarc.json that points editors at them.
function M.files(meta)
  local files = {
    { path = "rules/first_rule.lua", text = RULE },
    { path = "rules/first_rule_spec.lua", text = SPEC },
    { path = "README.md", text = README },
    -- the state store is this machine's, and .luarc.json names where trk is installed here
    { path = ".gitignore", text = ".trk/\n.luarc.json\n" },
  }
  if meta then files[#files + 1] = { path = ".luarc.json", text = luarc(meta) } end
  return files
end

return M
