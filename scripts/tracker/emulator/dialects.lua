-- tracker.emulator.dialects: the ways the emulator can answer, as one table of differences.
--
-- The emulator first answered in the shapes trk inferred (docs/tracker-api.md §1–§8): the
-- "rich" dialect. A deeper read of the evidence (§9 there, tracker-evidence.md beside it)
-- showed Tracker answering otherwise in places, and leaving other things unknown: the
-- "evidence" dialect answers as the evidence shows, and gives nothing the evidence does not
-- (the least-assuming server a careful client must cope with). Each row below is one
-- difference: its value in each dialect, the evidence it stands on (`tag`) and what it changes
-- (`says`). Every part of the emulator that answers differently reads its row from
-- emu.dialect (emu.dialect.<row>); nothing else looks at the dialect's name.
--
--   DEFAULT                the dialect emulator.new{} and `trk emulator` serve when none is
--                          named (the one place the default is set)
--   DIALECTS               name -> what the dialect is for
--   ROWS                   the differences, in order: { name, evidence, rich, tag, says }
--   names()                -> the dialects' names, sorted
--   resolve(name [, fname]) -> a fresh table row name -> value for that dialect; an unknown
--                          name raises "fname: unknown dialect 'x' (known: evidence, rich)"
--                          (fname default "dialects.resolve") at the caller's caller

local deepcopy = require("tracker.emulator.util").deepcopy

local M = {}

local type, ipairs, pairs, tostring, error = type, ipairs, pairs, tostring, error
local fmt, concat, sort = string.format, table.concat, table.sort

M.DEFAULT = "evidence"

M.DIALECTS = {
  evidence = "what the evidence shows Tracker answering (tracker-api.md §9), and no more: "
             .. "the least-assuming server, for proving a client needs nothing it was not shown",
  rich = "the shapes trk inferred first (tracker-api.md §1-§8): richer answers (last-updated "
         .. "times, record ids on every write, the stages in the settings)",
}

-- tags: § numbers are tracker-api.md's round-2 table (§9.n is its row n); DOC, OBS, CLIENT and
-- INF as tracker-evidence.md marks its sources.
M.ROWS = {
  { name = "item_timestamp", evidence = false, rich = true,
    tag = "§9.1 DOC 361 sample; SDK result models [CLIENT]; SDK search tests [OBS]",
    says = "getRecords items (every type) and getIndividualRecord O and R carry a top-level "
           .. "lastupdateddatetime (activities keep details.lastupdateddatetime, placements "
           .. "details.lastupdated either way)" },
  { name = "item_text_customfields", evidence = "always", rich = "asked",
    tag = "§9.1 SDK result models [CLIENT]; SDK search tests [OBS]",
    says = "getRecords items carry `text` (\"\") and `customfields` always, or only "
           .. "customfields and only when includecustomfields asks" },
  { name = "settings_stages", evidence = false, rich = true,
    tag = "§9.2 SDK settings model [CLIENT]; DOC 840",
    says = "getSettingsData lists opportunityResourceStatuses; without them it answers "
           .. "namingConventions, accessRights and count instead" },
  { name = "users_active", evidence = "string", rich = "boolean",
    tag = "§9.2 SDK settings model [CLIENT] (spelling \"True\"/\"False\" [INF])",
    says = "getSettingsData users[].Active is the string \"True\"/\"False\" or a JSON boolean" },
  { name = "application_answer", evidence = "plain", rich = "record",
    tag = "§9.3 DOC 1124 sample; SDK live test [OBS]",
    says = "resourceApplication answers {status, message, count: 0} (plain) or the write "
           .. "envelope with recordId and recordName (record)" },
  { name = "exists_record_id", evidence = false, rich = true,
    tag = "§9.4 DOC 840, 1123, 1125; SDK tests [OBS]",
    says = "status 3 answers (resourceApplication of an existing pair, createResource of a "
           .. "known email without overwrite) carry the existing recordId and recordName" },
  { name = "write_messages",
    evidence = { updateRecord = "success", createActivity = "success",
                 attachDocument = "success", resourceApplication = "success",
                 createResource = "created", createResource_overwrite = "created",
                 createOpportunity = "success", createResourceFromResume = "created",
                 createContact = "created", createLead = "success" },
    rich = { updateRecord = "updated", createActivity = "created", attachDocument = "created",
             resourceApplication = "created", createResource = "created",
             createResource_overwrite = "updated", createOpportunity = "created",
             createResourceFromResume = "created", createContact = "created",
             createLead = "created" },
    tag = "§9.4 DOC 840, 1123, 1125; SDK tests [OBS]",
    says = "the message of each successful write (createResource_overwrite: createResource "
           .. "that updated an existing candidate)" },
  { name = "rest_search", evidence = "Search", rich = "PagedSearch",
    tag = "§9.7 cap and ignored filters [OBS]; envelope [CLIENT]; order by id [INF]",
    says = "the application search served: POST /api/v1/OpportunityResource/Search "
           .. "({data, totalRecords, pageNumber, pageSize}; 10 a page, by id, every filter but "
           .. "pageNumber ignored; /PagedSearch 404) or /PagedSearch as inferred (/Search 405)" },
  { name = "widget_page_cap", evidence = 100, rich = 500,
    tag = "§9 unknowns: a short page is not proof of the end [INF: 100]",
    says = "getRecords returns at most this many items a page whatever numrecords asks" },
  { name = "activity_types",
    evidence = { types = { "Telephone", "InMail", "Email", "Meeting", "Note" },
                 statuses = { "Completed", "Closed" } },
    rich = { types = {}, statuses = {} },
    tag = "§9.8 DOC 1123; OBS",
    says = "activity types and statuses added to the database's lists when data loads "
           .. "(missing names only, after the existing ids)" },
  { name = "update_kinds", evidence = "documented", rich = "inferred",
    tag = "§9.9 DOC 840; OBS (SDK update schemas)",
    says = "updateRecord's columns (wire.update_columns): R, O (with its rates), X, A, C, N, L "
           .. "(inferred) or also O's publishworktype (documented)" },
  { name = "settings_activity_lists", evidence = false, rich = true,
    tag = "§9.8 [INF]: no model of getSettingsData shows activity types or statuses",
    says = "getSettingsData lists activityTypes and activityStatuses ([{Id, Name}]), so a "
           .. "client can check the names before createActivity; or not (Tracker checks them)" },
  { name = "unknown_individual", evidence = "empty", rich = "error",
    tag = "§9.5 SDK find test [OBS]",
    says = "getIndividualRecord of an unknown id answers status 0 with no results (empty) or "
           .. "status 99 \"record ... not found\" (error)" },
  { name = "credentials", evidence = "apikey_alone", rich = "apikey_with_username",
    tag = "§9.6 DOC 357, 1124-1126; OBS",
    says = "an apikey alone (no username) is accepted and acts as the API user, or an apikey "
           .. "needs a username" },
  { name = "tag_column", evidence = false, rich = true,
    tag = "§9 unknowns: whether candidate reads return tag",
    says = "getIndividualRecord R returns the tag column (updateRecord takes it either way)" },
  { name = "rest_rows", evidence = "seen", rich = "inferred",
    tag = "§9.7; tracker-evidence.md §3.6 row fields [CLIENT]; customFields absent from "
          .. "Search [OBS]",
    says = "OpportunityResource rows: payRate and chargeRate strings, no lastUpdatedDateTime, "
           .. "overtimeRate and owner ids, customFields on GET only (seen), or as inferred" },
  { name = "field_max_length", evidence = false, rich = true,
    tag = "[INF] no evidence shows a length limit or how Tracker would tell one",
    says = "getSettingsData customFields carry MaxLength for a text field that has one, and "
           .. "updateRecord/createResource refuse longer text (99); or no field has a limit" },
}

function M.names()
  local out = {}
  for name in pairs(M.DIALECTS) do out[#out + 1] = name end
  sort(out)
  return out
end

function M.resolve(name, fname)
  if type(name) ~= "string" or not M.DIALECTS[name] then
    error(fmt("%s: unknown dialect '%s' (known: %s)", fname or "dialects.resolve",
              tostring(name), concat(M.names(), ", ")), 3)
  end
  local out = {}
  for _, row in ipairs(M.ROWS) do out[row.name] = deepcopy(row[name]) end
  return out
end

return M
