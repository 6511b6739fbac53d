-- docs/man.lua: writes the man page trk(1) from `trk help` and `trk help COMMAND`, so the
-- page and the help never disagree. The hand-written parts (description, environment, files,
-- exit status, examples) are in docs/trk.1.in, around the markers this fills in.
--
--   lua5.4 docs/man.lua path/to/trk docs/trk.1.in out/trk.1

local trk, template, out = arg[1], arg[2], arg[3]
if not (trk and template and out) then
  io.stderr:write("usage: lua5.4 docs/man.lua TRK TEMPLATE OUT\n")
  os.exit(2)
end

local fmt, concat = string.format, table.concat

local function fail(...)
  io.stderr:write("docs/man.lua: ", fmt(...), "\n")
  os.exit(1)
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- What `trk ARGS` prints on stdout, and whether it exited 0.
local function trk_output(args)
  local p = io.popen(quote(trk) .. " " .. args .. " 2>/dev/null")
  if not p then fail("cannot run %s", trk) end
  local text = p:read("a")
  local ok = p:close()
  return text, ok
end

local function lines_of(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  return lines
end

-- ---- roff ------------------------------------------------------------------------------------

-- Text as roff: a backslash printed as such, ASCII hyphens as minus signs (options copy and
-- paste), and no line that groff would read as a request.
local function esc(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  if s:match("^[.']") then s = "\\&" .. s end
  return s
end

-- A synopsis or an option's term: the command and options in bold, the rest in italics.
local function term(s, bold_words)
  local words = {}
  local n = 0
  for w in s:gmatch("%S+") do
    n = n + 1
    local bold = n <= bold_words or w:match("^%[?%-") or w:match("^[%w.]+=")
    words[#words + 1] = (bold and "\\fB" or "\\fI") .. esc(w) .. "\\fR"
  end
  return concat(words, " ")
end

-- A help page's text (after its usage line) as roff: paragraphs, and "  TERM  description"
-- items (with their indented continuation lines) as tagged paragraphs.
local function render(lines, first)
  local r = {}
  local i = first
  while i <= #lines do
    local line = lines[i]
    local t, desc = line:match("^  (%S.-)%s%s+(%S.*)$")
    if line:match("^%s*$") then
      i = i + 1
    elseif t then
      local text = { desc }
      i = i + 1
      while lines[i] and lines[i]:match("^    +%S") do
        text[#text + 1] = lines[i]:match("^%s*(.-)%s*$")
        i = i + 1
      end
      r[#r + 1] = ".TP"
      r[#r + 1] = term(t, 1)
      for _, x in ipairs(text) do r[#r + 1] = esc(x) end
    elseif line:match("^%S") then
      r[#r + 1] = ".PP"
      while lines[i] and lines[i]:match("^%S") do
        r[#r + 1] = esc(lines[i])
        i = i + 1
      end
    else
      fail("cannot place this line of trk help: %q", line)
    end
  end
  return r
end

-- ---- trk help ----------------------------------------------------------------------------------

local main = lines_of((trk_output("help")))
if not (main[1] or ""):match("^usage: trk") then fail("'%s help' printed no usage", trk) end

-- The main page's sections: the introduction, the commands, the options for every command.
local intro, commands, global = {}, {}, {}
local section = "intro"
for idx = 2, #main do
  local line = main[idx]
  if line == "commands:" then section = "commands"
  elseif line:match("^options for every command") then section = "options"
  elseif line:match("^%S") and section ~= "intro" then section = "tail"
  elseif section == "intro" and line ~= "" then intro[#intro + 1] = line
  elseif section == "commands" and line:match("^  %S") then
    local name, args, summary = line:match("^  (%S+)(.-)%s%s+(%S.*)$")
    if not name then fail("cannot read the command line %q", line) end
    commands[#commands + 1] = { name = name, usage = name .. args, summary = summary }
  elseif section == "options" and line:match("^  %S") then
    global[#global + 1] = line
  end
end
if #commands == 0 then fail("'%s help' lists no commands", trk) end

local synopsis, body = {}, {}
for _, c in ipairs(commands) do
  local text, ok = trk_output("help " .. c.name)
  local lines = ok and lines_of(text) or {}
  local usage = ok and (lines[1] or ""):match("^usage: trk (.*)$")
  usage = (usage or c.usage):gsub("%s+$", "")
  synopsis[#synopsis + 1] = term("trk " .. usage, 2)
  body[#body + 1] = fmt('.SS "%s"', esc("trk " .. c.name))
  body[#body + 1] = term("trk " .. usage, 2)
  if ok then
    for _, l in ipairs(render(lines, 2)) do body[#body + 1] = l end
  else                               -- help and version have no page of their own
    body[#body + 1] = ".PP"
    body[#body + 1] = esc(c.summary:sub(1, 1):upper() .. c.summary:sub(2) .. ".")
  end
end

local version = (trk_output("version")):match("^trk (%S+)")
if not version then fail("'%s version' printed no version", trk) end

-- ---- the page -----------------------------------------------------------------------------------

local function block(list, sep) return concat(list, sep or "\n") end

local fills = {
  VERSION = esc(version),
  SYNOPSIS = block(synopsis, "\n.br\n"),
  INTRO = block((function() local t = {} for _, l in ipairs(intro) do t[#t + 1] = esc(l) end return t end)()),
  COMMANDS = block(body),
  OPTIONS = block(render(global, 1)),
}

local f = io.open(template, "r") or fail("cannot read %s", template)
local page = f:read("a")
f:close()
page = page:gsub("@(%u+)@", function(name)
  return fills[name] or fail("%s: unknown marker @%s@", template, name)
end)

local o = io.open(out, "w") or fail("cannot write %s", out)
o:write(page)
o:close()
