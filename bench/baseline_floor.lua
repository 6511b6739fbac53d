-- BASELINE (the floor) for the streaming benchmark: the same candidates fetched with the curl
-- command line and decoded with lua-cjson in plain lua5.4, reading the same fields as
-- bench/stream_client.lua. One curl process fetches every page over one kept-alive connection
-- (pagenum paging, pages of PAGE_SIZE, sorted by last update) and writes each page as one line
-- into a pipe; this script decodes each line as it arrives, so fetching and decoding overlap.
-- usage: lua5.4 bench/baseline_floor.lua URL APIKEY USERNAME RECORDS PAGE_SIZE
-- stderr: "BENCH start" before curl starts, "BENCH end N CHECK" after the last record.
local cjson = require "cjson"
local url, key, user = arg[1], arg[2], arg[3]
local records, page = math.tointeger(tonumber(arg[4])), math.tointeger(tonumber(arg[5] or "500"))
assert(url and key and user and records and page, "usage: baseline_floor.lua URL KEY USER RECORDS PAGE")

-- curl's config: one transfer a page (and one more, which comes back short or empty)
local cfg = os.tmpname()
local f = assert(io.open(cfg, "w"))
for p = 0, records // page do
  local body = cjson.encode({ trackerrms = { getRecords = {
    credentials = { apikey = key, username = user },
    instructions = { recordtype = "R", numrecords = page, pagenum = p,
                     sortfield = "lastupdateddatetime", sortdir = "asc", updatedafter = "",
                     updatedbefore = "", includecustomfields = true } } } })
  f:write(('url = "%s/api/widget/getRecords"\n'):format(url))
  f:write(('data = "%s"\n'):format(body:gsub('[\\"]', "\\%0")))
  f:write('header = "Content-Type: application/json"\nwrite-out = "\\n"\n')
  if p < records // page then f:write("next\n") end
end
f:close()

-- 1 for a field that holds text (trk leaves empty fields out of its records), else 0
local function present(v) return type(v) == "string" and v ~= "" and 1 or 0 end

io.stderr:write("BENCH start\n")
local pipe = assert(io.popen("curl -sS --fail -K " .. cfg))
local n, check = 0, 0
for line in pipe:lines() do
  if line ~= "" then
    local doc = cjson.decode(line)
    for _, item in ipairs(doc.results) do
      n = n + 1
      local d = item.details
      check = check + item.id + present(item.name) + present(type(d) == "table" and d.email)
                    + present(item.lastupdateddatetime)
    end
  end
end
assert(pipe:close(), "curl failed")
io.stderr:write(("BENCH end %d %d\n"):format(n, check))
os.remove(cfg)
