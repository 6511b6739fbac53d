-- hello.lua: what a trk script can see. Run it with `trk run examples/hello.lua -- NAME`.
local tracker = require "tracker"

local who = arg[1] or "world"
print(("hello, %s: trk %s, %s"):format(who, tracker.version, _VERSION))

local record = json.decode('{"id": 188077, "name": "Ada Lovelace", "stage": "Interview"}')
print(("candidate %d (%s) is at stage %s"):format(record.id, record.name, record.stage))
print("as JSON again: " .. json.encode({ id = record.id, stage = record.stage }))

log.info("scripts log to stderr; print goes to stdout")
