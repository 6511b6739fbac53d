-- A CPU-bound workload for the sandbox-overhead benchmark (bench/startup.sh sandbox): rule
-- evaluation over in-memory records, the shape of trk rules' `when` functions. Plain Lua only,
-- so that `lua5.4 FILE` and `trk run FILE` run the very same source.
local N, PASSES = 20000, 15
local stages = { "Applied", "Screening", "Interview", "Submitted to Client", "Offer", "Rejected" }
local sources = { "Referral", "Job Fair", "LinkedIn", "Website", "Agency" }

-- deterministic records (a linear congruential generator, no math.random seeding questions)
local seed = 12345
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
local records = {}
for i = 1, N do
  records[i] = {
    id = 100000 + i, kind = "application", stage = stages[rnd(#stages)],
    name = ("Candidate %d - Job %d"):format(i, rnd(200)),
    email = ("person%d@example.%s"):format(rnd(N), rnd(2) == 1 and "com" or "org"),
    updated_at = ("2026-%02d-%02dT%02d:%02d:00Z"):format(rnd(12), rnd(28), rnd(24) - 1, rnd(60) - 1),
    custom = { ["Recruiter Score"] = rnd(10), ["Interview Note Sent"] = rnd(3) == 1 and "Yes" or nil,
               Source = sources[rnd(#sources)] },
  }
end

local rules = {
  function(r) return r.stage == "Interview" and r.custom["Interview Note Sent"] ~= "Yes" end,
  function(r)
    local s = r.custom["Recruiter Score"]
    return r.stage == "Screening" and type(s) == "number" and s >= 8
  end,
  function(r)
    local y, m, d = r.updated_at:match("^(%d+)-(%d+)-(%d+)")
    return r.stage == "Submitted to Client" and tonumber(m) * 31 + tonumber(d) < 200 and y == "2026"
  end,
  function(r) return r.email:lower():find("@example.org", 1, true) ~= nil end,
  function(r)
    local src = r.custom.Source
    return (src == "Referral" or src == "Job Fair") and #r.name > 20
  end,
}

local hits, seen = 0, {}
for _ = 1, PASSES do
  for i = 1, N do
    local r = records[i]
    for k = 1, #rules do
      if rules[k](r) then
        hits = hits + 1
        seen[r.email] = (seen[r.email] or 0) + 1
      end
    end
  end
end
local groups = {}
for email, n in pairs(seen) do groups[#groups + 1] = { email, n } end
table.sort(groups, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
print(hits, #groups, groups[1][1])
