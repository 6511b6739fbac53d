-- The code blocks of the Markdown docs, read by the convention spec/docs_spec.lua states at
-- its top: each fenced block's info string says what the block is and how it is checked.
local M = {}

local fmt = string.format

-- What the first word of an info string may be, and the kinds each takes (nil: the plain one).
M.KINDS = {
  lua = { [""] = "script", rule = "rule", spec = "spec", file = "file", norun = "norun" },
  sh = { [""] = "sh", serve = "serve", norun = "norun" },
  text = { [""] = "text", output = "output" },
  json = { [""] = "json", file = "file" },
  csv = { file = "file" },
}

local function words(s)
  local out = {}
  for w in s:gmatch("%S+") do out[#out + 1] = w end
  return out
end

-- Reads one info string: lang, kind, attributes, the norun reason; or nil, why.
function M.info(s)
  local reason
  local head, why = s:match("^(.-)%f[%w]norun:%s*(.*)$")
  if head then
    s, reason = head .. "norun", why
  end
  local w = words(s)
  local lang = w[1]
  if lang == nil then
    return nil, "a block without an info string: say what it is (lua, lua rule, lua spec, "
                .. "lua file, sh, sh serve, text, text output, json, json file=NAME, "
                .. "csv file=NAME, or LANG "
                .. "norun: REASON)"
  end
  local kinds = M.KINDS[lang]
  if kinds == nil then
    return nil, fmt("unknown block language '%s' (use lua, sh, text, json or csv)", lang)
  end
  local kind, attrs = kinds[""], {}
  for i = 2, #w do
    local k, v = w[i]:match("^([%w_]+)=(.+)$")
    if k == "exit" and tonumber(v) then attrs.exit = tonumber(v)
    elseif k == "file" then attrs.file = v
    elseif k then return nil, fmt("unknown attribute '%s' (use exit=N or file=NAME)", k)
    elseif kinds[w[i]] and i == 2 then kind = kinds[w[i]]
    else return nil, fmt("'%s' is not a kind of %s block", w[i], lang)
    end
  end
  if kind == nil and attrs.file and kinds.file then kind = "file" end
  if kind == nil then return nil, fmt("a %s block needs a kind", lang) end
  if kind == "norun" and (reason == nil or #reason < 10) then
    return nil, "a norun block must say why it cannot run: '" .. lang .. " norun: REASON'"
  end
  return { lang = lang, kind = kind, attrs = attrs, reason = reason }
end

-- The fenced blocks of a Markdown text: { line =, info =, lang =, kind =, attrs =, text =,
-- name =, problem = }, in order. `line` is the line of the opening fence.
function M.blocks(text)
  local out, open, n = {}, nil, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if open then
      local ticks = line:match("^%s*(```+)%s*$")
      if ticks and #ticks >= #open.fence then
        open.text = table.concat(open.lines, "\n") .. (#open.lines > 0 and "\n" or "")
        open.lines = nil
        out[#out + 1] = open
        open = nil
      else
        -- inside a list the fence is indented: so is its text
        if line:sub(1, #open.indent) == open.indent then line = line:sub(#open.indent + 1) end
        open.lines[#open.lines + 1] = line
      end
    else
      local ind, ticks, info = line:match("^(%s*)(```+)(.*)$")
      if ticks then
        open = { line = n, indent = ind, fence = ticks, info = info, lines = {} }
        local i, why = M.info(info)
        if i then
          for k, v in pairs(i) do open[k] = v end
        else
          open.problem = why
        end
      end
    end
  end
  if open then
    open.problem = "the block is never closed"
    open.text = table.concat(open.lines, "\n")
    out[#out + 1] = open
  end
  for _, b in ipairs(out) do
    if not b.problem then
      -- a Lua block whose first line is `-- path.lua` is saved as that file
      b.name = b.attrs.file or (b.lang == "lua" and b.text:match("^%-%- ([%w_./-]+%.lua)[:%s]"))
      if b.name and (b.name:find("%.%.") or b.name:sub(1, 1) == "/") then
        b.problem = "a block's file name must be a relative path inside the example's directory"
      elseif b.kind == "file" and not b.name then
        b.problem = "a file block needs a name: '-- NAME.lua' as its first line, or file=NAME"
      end
    end
  end
  return out
end

-- A line of an output sample as a Lua pattern: `...` matches anything, spaces any spacing.
function M.line_pattern(line)
  local parts = {}
  for piece in (line .. "..."):gmatch("(.-)%.%.%.") do
    piece = piece:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
    parts[#parts + 1] = (piece:gsub("%s+", "%%s+"))     -- columns line up with any spacing
  end
  return table.concat(parts, ".-"):gsub("%.%-$", "")
end

-- The lines of `sample` missing from `output` (each must occur within one line of it).
function M.missing_lines(sample, output)
  local missing = {}
  for line in sample:gmatch("[^\n]+") do
    line = line:gsub("%s+$", "")
    if line:find("%S") then
      local pat = M.line_pattern(line:gsub("^%s+", ""))
      local found = false
      for out in output:gmatch("[^\n]+") do
        if out:find(pat) then found = true break end
      end
      if not found then missing[#missing + 1] = line end
    end
  end
  return missing
end

-- Markdown sections: { level =, heading =, line =, body = }, split at every heading outside a
-- code block.
function M.sections(text)
  local out, cur, fenced, n = {}, nil, false, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("^%s*```") then fenced = not fenced end
    local hashes, heading = line:match("^(#+)%s+(.*)$")
    if hashes and not fenced then
      cur = { level = #hashes, heading = heading, line = n, lines = {} }
      out[#out + 1] = cur
    elseif cur then
      cur.lines[#cur.lines + 1] = line
    end
  end
  for _, s in ipairs(out) do s.body = table.concat(s.lines, "\n") s.lines = nil end
  return out
end

-- Does a heading name `name` (`t:jobs` in "### t:jobs{...}", not in "t:jobs_x")?
function M.heading_names(heading, name)
  local plain = heading:gsub("`", "")
  local i = 1
  while true do
    local s, e = plain:find(name, i, true)
    if not s then return false end
    local before, after = plain:sub(s - 1, s - 1), plain:sub(e + 1, e + 1)
    if not before:match("[%w_.:]") and not after:match("[%w_]") then return true end
    i = e + 1
  end
end

return M
