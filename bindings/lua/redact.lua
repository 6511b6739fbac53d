-- redact: secrets out of a raw request's action (t:request{}): what a sink, a plan and a
-- journal see of it holds no credentials (docs/client.md#actions-and-the-hook).

local actions = import "actions"
local native = native

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local mtype = math.type
local lower, match, find, gsub, char =
      string.lower, string.match, string.find, string.gsub, string.char
local sort = table.sort

local M = {}

-- Secrets out of a raw request's action: what the hook, a plan and a journal see holds no
-- credentials node, and no value of a secret-looking name (a key, a token, a password), of
-- a JWT's shape, or of the client's own secrets.

local REDACTED = "[redacted]"
local SECRET_NAMES = { key = true, pass = true, pwd = true, auth = true, authorization = true,
                       sig = true, signature = true }
local SECRET_PARTS = { "token", "secret", "passw", "apikey", "api_key", "api-key", "jwt",
                       "credential", "session" }
local MIN_SCRUBBED = 6        -- a shorter secret is not searched for in other text

local function unescape(text)
  return (gsub(text, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

-- Does a parameter's name (or, `in_body`, a body field's) look secret? A body's field `key` is
-- more often a name than a secret.
local function secret_name(name, in_body)
  if type(name) ~= "string" then return false end
  name = lower(unescape(name))
  if in_body and name == "key" then return false end
  if SECRET_NAMES[name] or match(name, "[_%-]key$") then return true end
  for _, part in ipairs(SECRET_PARTS) do
    if find(name, part, 1, true) then return true end
  end
  return false
end

local function jwt_like(v)
  return type(v) == "string" and match(v, "^eyJ[%w_%-]+%.[%w_%-]+%.[%w_%-]*$") ~= nil
end

-- Adds to `found` the strings (and whole numbers) of v, or with `named`, those under secret
-- names only (a credentials node: its username is no secret).
local function collect(v, found, named)
  if type(v) == "table" then
    for k, x in pairs(v) do
      if not named or secret_name(k, true) then collect(x, found)
      elseif type(x) == "table" then collect(x, found, true) end
    end
  elseif type(v) == "string" or mtype(v) == "integer" then
    found[#found + 1] = tostring(v)
  end
end

-- `name=value` parameters of text (a query string, a fragment, a form body) with the values
-- of secret names (or of a JWT's shape) redacted.
local function redact_params(text, found)
  return (gsub(text, "([^?#&;=]+)=([^&#;]*)", function(name, value)
    if secret_name(name) or jwt_like(unescape(value)) then
      found[#found + 1] = unescape(value)
      found[#found + 1] = value
      return name .. "=" .. REDACTED
    end
  end))
end

-- A copy of a body table with secret values redacted (each added to found) and each
-- credentials node replaced by on_credentials(node, found): nil leaves it out (a payload the
-- journal keeps), placeholders keep its shape (a cassette, which replay matches).
local function redact_table(v, found, seen, on_credentials)
  if type(v) ~= "table" then
    if jwt_like(v) then
      found[#found + 1] = v
      return REDACTED
    end
    return v
  end
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do
    if type(k) == "string" and lower(k) == "credentials" then
      out[k] = on_credentials(x, found)
    elseif secret_name(k, true) and x ~= "" then
      collect(x, found)
      out[k] = REDACTED
    else
      out[k] = redact_table(x, found, seen, on_credentials)
    end
  end
  return out
end

-- A credentials node left out of a payload, its values collected as secrets.
local function left_out(node, found)
  collect(node, found, true)
end

-- Every occurrence of a secret in the strings of v replaced.
local function scrub(v, secrets, seen)
  if type(v) == "string" then
    for _, x in ipairs(secrets) do
      if find(v, x, 1, true) then v = gsub(v, gsub(x, "%W", "%%%0"), REDACTED) end
    end
    return v
  end
  if type(v) ~= "table" then return v end
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do out[scrub(k, secrets, seen)] = scrub(x, secrets, seen) end
  return out
end

-- The action payload of a raw request: its path and body without secrets, a copy (the
-- caller's tables are left as they are).
local function request_payload(s, api, method, path, body)
  local found = {}
  local base, rest = match(path, "^([^?#]*)(.*)$")
  path = base .. redact_params(rest, found)
  if type(body) == "table" then
    body = redact_table(body, found, {}, left_out)
  elseif type(body) == "string" then
    local doc = native.decode(body)
    if type(doc) == "table" then                  -- JSON: re-encoded when it held a secret
      local clean = redact_table(doc, found, {}, left_out)
      if actions.canonical(clean) ~= actions.canonical(doc) then
        body = native.encode(clean)
      end
    else
      body = redact_params(body, found)
    end
  end
  for _, k in ipairs({ "apikey", "password", "api_token" }) do found[#found + 1] = s.c[k] end
  found[#found + 1] = s.jwt
  local secrets = {}
  for _, x in ipairs(found) do
    if type(x) == "string" and #x >= MIN_SCRUBBED and x ~= REDACTED then
      secrets[#secrets + 1] = x
    end
  end
  sort(secrets, function(a, b) return #a > #b end)   -- the longest first
  return scrub({ api = api, method = method, path = path, body = body }, secrets, {})
end
M.request_payload = request_payload

-- ---- cassettes --------------------------------------------------------------------------------

-- An exchange's parts without credentials, for a cassette (`--record DIR`) and for matching a
-- request against one (`trk emulator --replay`): a credentials node's values, secret headers
-- (Authorization, cookies), values of secret names or of a JWT's shape, in the query or a
-- JSON body, become fixed placeholders whatever they were, so that a replay matches any
-- credentials. Each secret value met is added to `known` (kept by the caller across
-- exchanges: the token a request sent, the JWT an answer gave) and removed wherever any part
-- shows it. parts: { target = "path?query", headers = {}, body = a decoded table or text };
-- answers a copy.
local PLACEHOLDERS = { apikey = "[apikey]", username = "[username]", password = "[password]",
                       oauthtoken = "[token]" }
local SECRET_HEADERS = { authorization = true, ["proxy-authorization"] = true, cookie = true,
                         ["set-cookie"] = true }

-- The credentials node with each value a placeholder; the secret ones added to found.
local function placeholders(node, found)
  if type(node) ~= "table" then return REDACTED end
  local out = {}
  for k, v in pairs(node) do
    local name = type(k) == "string" and lower(k) or k
    if v ~= "" then
      if name ~= "username" then collect(v, found) end
      out[k] = PLACEHOLDERS[name] or REDACTED
    else
      out[k] = v
    end
  end
  return out
end

function M.exchange(parts, known)
  local found, out = {}, {}
  if parts.target then
    local base, rest = match(parts.target, "^([^?#]*)(.*)$")
    out.target = base .. redact_params(rest, found)
  end
  if type(parts.headers) == "table" then
    out.headers = {}
    for k, v in pairs(parts.headers) do
      local name = lower(tostring(k))
      if SECRET_HEADERS[name] or secret_name(name) then
        found[#found + 1] = tostring(v)
        found[#found + 1] = match(tostring(v), "^%a+%s+(.+)$")     -- Bearer X: X alone too
        out.headers[name] = REDACTED
      else
        out.headers[name] = v
      end
    end
  end
  if type(parts.body) == "table" then out.body = redact_table(parts.body, found, {}, placeholders)
  elseif type(parts.body) == "string" then out.body = redact_params(parts.body, found) end
  for _, x in ipairs(found) do
    if type(x) == "string" and #x >= MIN_SCRUBBED and x ~= REDACTED and not known[x] then
      known[x] = true
      known[#known + 1] = x
    end
  end
  sort(known, function(a, b) return #a > #b end)   -- the longest first
  return scrub(out, known, {})
end
return M
