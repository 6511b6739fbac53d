/* trk: the command line. Parses arguments and hands each command to its part of the runtime. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "emulator.h"
#include "emuopts.h"
#include "host.h"
#include "sandbox.h"
#include "sbxlib.h"
#include "store.h"

#ifndef TRK_VERSION
#define TRK_VERSION "0.0.0"
#endif
#ifndef TRK_SOURCE_DIR
#define TRK_SOURCE_DIR ""
#endif

/* The instructions one rule may use on one record (--rule-budget): trk rules' default. */
#define RULE_BUDGET  "50000000"

/* ---- help ---------------------------------------------------------------------------- */

static const char usage_main[] =
  "usage: trk COMMAND [OPTIONS]\n"
  "\n"
  "trk runs Lua 5.4 scripts and rules against Tracker RMS, in a sandbox. Writes are planned,\n"
  "not sent, unless --apply is given.\n"
  "\n"
  "commands:\n"
  "  run SCRIPT [OPTIONS] [-- ARGS...]   run a script in the sandbox\n"
  "  rules DIR [OPTIONS]                 run every rule in DIR over what changed\n"
  "  apply PLAN [OPTIONS]                send the writes a --plan file holds, if still current\n"
  "  journal [DIR|SCRIPT] [OPTIONS]      show what a state store holds\n"
  "  checkpoints [DIR] [OPTIONS]         list, rewind or reset the rules' checkpoints\n"
  "  test [PATH...]                      run busted specs with trk's modules on the path\n"
  "  init DIR                            create a rules project with a rule and its spec\n"
  "  doctor [OPTIONS]                    check configuration, connections and credentials\n"
  "  schema export FILE [OPTIONS]        save the database's custom fields, stages, ... to FILE\n"
  "  emulator [OPTIONS]                  serve a local Tracker emulator over HTTP\n"
  "  help [COMMAND]                      show help for trk or a command\n"
  "  version                             print the version\n"
  "\n"
  "options for every command:\n"
  "  -h, --help       show help\n"
  "  --version        print the version\n"
  "  --quiet          print only results and errors: no progress line, no summaries\n"
  "  --verbose        print more detail; commands that talk to Tracker log each HTTP\n"
  "                   request on stderr\n"
  "\n"
  "Colour is used only on a terminal, and never when NO_COLOR is set (https://no-color.org).\n"
  "Run 'trk help COMMAND' for a command's options.\n";

#define USAGE_LIMITS \
  "limits (exceeding one stops the run with exit status 3):\n" \
  "  --max-memory SIZE     memory the Lua state may hold (default 256M)\n" \
  "  --max-cpu DURATION    CPU time (default 300s for run, none for rules)\n" \
  "  --deadline DURATION   wall-clock time (default: none)\n" \
  "  --max-output SIZE     bytes written by print, log and files (default 16M)\n"

#define USAGE_WRITES \
  "writes:\n" \
  "  --apply               send the writes; without it they are planned and shown\n" \
  "  --plan FILE           also write the planned (or applied) actions as JSON Lines\n" \
  "  --state FILE          the state store (default %s)\n" \
  "  --concurrency N       writes in flight at once in t:batch (default 4)\n" \
  "  --outage-budget DURATION  how long Tracker may be unreachable before the run stops\n" \
  "                        with exit status 75 (default 300s, or TRACKER_OUTAGE_BUDGET)\n" \
  "  --fresh               start a new run even if the last one of this command did not complete\n" \
  "  --rebind              with --apply: the state store belongs to the database this run\n" \
  "                        connects to from now on (the same database under a new key)\n" \
  "  --json                print the summary as JSON on stdout\n" \
  "  --profile NAME        the settings of profile NAME (default $TRK_PROFILE), not TRACKER_*\n" \
  "  --yes                 --apply on a production profile without asking (needed off a\n" \
  "                        terminal)\n"

#define USAGE_OUTPUT_DRIVE \
  "output:\n" \
  "  --quiet               only results and errors: no progress line, plan table or summary\n" \
  "                        (--json and --plan FILE still write theirs)\n" \
  "  --verbose             also log each HTTP request on stderr (method, URL without its\n" \
  "                        query, status, time) and count them at the end\n"

#define USAGE_RECORD \
  "recording (docs/troubleshooting.md, Reporting a bug with a cassette):\n" \
  "  --record DIR          save every HTTP request and answer in DIR/cassette.jsonl, for\n" \
  "                        `trk emulator --replay DIR`; credentials are always removed\n" \
  "  --redact-personal     replace names, emails, phones, addresses and notes in the\n" \
  "                        recording by stable fakes (the default)\n" \
  "  --no-redact-personal  keep them as they are\n"

#define USAGE_UNITS \
  "SIZE is bytes with an optional K, M or G suffix (256M); DURATION is seconds with an\n" \
  "optional ms, s, m or h suffix (90s, 5m). Use 0 for no limit.\n"

static const char usage_run[] =
  "usage: trk run SCRIPT [OPTIONS] [-- ARGS...]\n"
  "\n"
  "Loads SCRIPT as Lua text into a fresh sandbox and runs it. The script sees ARGS in\n"
  "`arg` (arg[0] is SCRIPT) and as `...`. It can read and write nothing but Tracker and\n"
  "the files granted below. Its writes are planned and shown as a table at the end; with\n"
  "--apply they are sent, each recorded in the state store before and after, so running\n"
  "the same command again after a failure or Ctrl-C sends only what was not sent.\n"
  "\n"
  USAGE_LIMITS
  "\n"
  "grants:\n"
  "  --input FILE          let the script read FILE with files.open(\"FILE\")  (repeatable)\n"
  "  --output FILE         let the script write FILE with files.create(\"FILE\")  (repeatable)\n"
  "\n"
  "a job run again (the same SCRIPT and ARGS, after a run of it with --apply):\n"
  "  --again               send the writes an earlier run applied, instead of skipping them\n"
  "  --force               overwrite fields changed in Tracker since an earlier run wrote them\n"
  "                        (without it such a write is a conflict, shown and not sent)\n"
  "\n"
  "determinism, for tests:\n"
  "  --now TIME            os.time() and os.date() answer TIME (ISO 8601, e.g.\n"
  "                        2026-11-01T00:00:00Z)\n"
  "  --seed N              math.random starts from seed N\n"
  "\n";

static const char usage_run_tail[] =
  "\n"
  USAGE_OUTPUT_DRIVE
  "\n"
  USAGE_RECORD
  "\n"
  USAGE_UNITS
  "\n"
  "exit status: 0 success, 1 the script failed or writes failed, 2 usage error, 3 a limit\n"
  "was exceeded, 75 Tracker unreachable past --outage-budget, 130 interrupted (run the same\n"
  "command again to resume).\n";

static const char usage_rules[] =
  "usage: trk rules DIR [OPTIONS]\n"
  "\n"
  "Runs every rule in DIR (each *.lua file not ending in _spec.lua returns a rule) over one\n"
  "stream per record kind. Each rule sees the records changed since its checkpoint in the\n"
  "state store; a rule without one starts at --since, or now. Checkpoints move only with\n"
  "--apply. See docs/rules.md for the rule format.\n"
  "\n"
  "  --since TIME          where every rule starts this pass (ISO 8601): a rule with a\n"
  "                        checkpoint starts there instead (with --watch, the first pass)\n"
  "  --watch INTERVAL      run again every INTERVAL (a DURATION) until Ctrl-C\n"
  "  --rule-budget N       instructions one rule may use on one record (default "
  RULE_BUDGET ")\n"
  "  --now TIME            the rules' clock (ctx.now), for tests\n"
  "\n";

static const char usage_rules_tail[] =
  "\n"
  USAGE_LIMITS
  "\n"
  USAGE_OUTPUT_DRIVE
  "\n"
  USAGE_RECORD
  "\n"
  USAGE_UNITS
  "\n"
  "exit status: 0 success, 1 a rule or a write failed, 2 usage error, 3 a limit was\n"
  "exceeded, 75 Tracker unreachable past --outage-budget, 130 interrupted.\n";

static const char usage_journal[] =
  "usage: trk journal [DIR|SCRIPT] [OPTIONS]\n"
  "\n"
  "Shows what a state store holds: its runs, their actions and results, failures, and the\n"
  "rules' checkpoints. The store is DIR/.trk/state.db for a rules directory, .trk/state.db\n"
  "beside a script, or --state FILE (default .trk/state.db). Times are ISO 8601 UTC.\n"
  "\n"
  "  --state FILE          the state store\n"
  "  --profile NAME        the store of profile NAME's runs, .trk/state-NAME.db (default\n"
  "                        $TRK_PROFILE)\n"
  "  --run N               the actions of run N (default: the list of runs)\n"
  "  --failed              only actions that failed or whose outcome is unknown\n"
  "  --created             the records created (of run N with --run), one 'KIND ID' a line\n"
  "  --json                JSON Lines on stdout\n"
  "\n"
  "output:\n"
  "  --quiet               print nothing when there is nothing to show\n"
  "  --verbose             show errors, targets and changes in full, not cut to fit\n";

static const char usage_apply[] =
  "usage: trk apply PLAN [OPTIONS]\n"
  "\n"
  "Sends the writes of PLAN, a file `trk run SCRIPT --plan PLAN` wrote in a dry run. First\n"
  "it reads every record PLAN updates: when one no longer holds what the plan saw, nothing\n"
  "is sent (the plan is stale: make it again). Writes are journalled as that run's job with\n"
  "--apply would be, in its store: running it again after a failure or Ctrl-C sends only\n"
  "what was not sent, and neither a second apply nor the job run again repeats a write.\n"
  "\n"
  "  --state FILE          the state store (default: the one of the run that made PLAN)\n"
  "  --rebind              the state store belongs to the database this connects to from now\n"
  "                        on (the same database under a new key)\n"
  "  --outage-budget DURATION  how long Tracker may be unreachable before it stops\n"
  "                        with exit status 75 (default 300s, or TRACKER_OUTAGE_BUDGET)\n"
  "  --json                print the summary as JSON on stdout\n"
  "  --profile NAME        the settings of profile NAME (default $TRK_PROFILE), not TRACKER_*\n"
  "  --yes                 apply on a production profile without asking (needed off a\n"
  "                        terminal)\n"
  "\n"
  USAGE_OUTPUT_DRIVE
  "\n"
  "exit status: 0 applied, 1 the plan is stale or writes failed, 2 usage error, 75 Tracker\n"
  "unreachable past the outage budget, 130 interrupted (run the same command again to\n"
  "resume).\n";

static const char usage_checkpoints[] =
  "usage: trk checkpoints [DIR] [OPTIONS]\n"
  "\n"
  "Lists the checkpoint of each rule in the state store of rules directory DIR (the time up\n"
  "to which the rule has seen every change), or moves or removes one. Refuses to change\n"
  "them while a trk process is running on the store.\n"
  "\n"
  "  --state FILE          the state store (default DIR/.trk/state.db)\n"
  "  --profile NAME        the store of profile NAME's runs, DIR/.trk/state-NAME.db (default\n"
  "                        $TRK_PROFILE)\n"
  "  --rewind RULE         move RULE's checkpoint to --to TIME: its next pass reads the\n"
  "                        changes since then again (those it acted on stay handled)\n"
  "  --to TIME             where --rewind moves it (ISO 8601, not after now)\n"
  "  --reset RULE          forget RULE's checkpoint and the changes it acted on: its next\n"
  "                        pass is a new rule's (from --since, or now)\n"
  "  --reset-all           the same for every rule\n"
  "  --json                JSON Lines on stdout\n"
  "\n"
  "output:\n"
  "  --quiet               print nothing when there is nothing to show, and no confirmation\n"
  "  --verbose             accepted; changes nothing\n";

static const char usage_test[] =
  "usage: trk test [PATH...] [BUSTED OPTIONS]\n"
  "\n"
  "Runs busted on PATH (default: the current directory) with trk's modules (tracker,\n"
  "tracker.testing, ...) on the Lua paths. Exits non-zero when a spec fails.\n"
  "\n"
  "output:\n"
  "  --quiet               print only the specs that fail or raise, and their messages\n"
  "  --verbose             busted's --verbose: more detail on failures and errors\n";

static const char usage_init[] =
  "usage: trk init DIR\n"
  "\n"
  "Creates a rules project in DIR: one rule, its spec, and a README to start from.\n"
  "DIR must not exist or be empty.\n"
  "\n"
  "output:\n"
  "  --quiet               print nothing but errors\n"
  "  --verbose             also print each file's size\n";

static const char usage_doctor[] =
  "usage: trk doctor [OPTIONS]\n"
  "\n"
  "Checks what trk needs to work with Tracker and prints one line per check: ok, warn or\n"
  "FAIL, what it found and, when something is wrong, exactly what to set. It checks the\n"
  "TRACKER_* variables, reaches the widget API and the REST API (name, connection, TLS,\n"
  "HTTP status), validates the credentials (the widget API key or password, the REST API\n"
  "token), and shows the time zone trk reads the database's times in, the rate budget, and\n"
  "the metadata (stages, custom fields, users, ...). It sends no writes. Secrets are never\n"
  "shown: only whether they are set and their length.\n"
  "\n"
  "  --json                print the checks as one JSON object on stdout\n"
  "  --profile NAME        check profile NAME (default $TRK_PROFILE) instead of TRACKER_*\n"
  "  --probe               instead, probe the database (reads only, at most 20 requests):\n"
  "                        one row per contract fact trk depends on, as trk expects, differs\n"
  "                        (and what trk does about it) or could not tell; and keep what it\n"
  "                        learnt in .trk/probe.json, which later runs start from\n"
  "\n"
  "output:\n"
  "  --quiet               print only the checks that warn or fail\n"
  "  --verbose             also print details under the checks, and log each HTTP request\n"
  "                        on stderr\n"
  "\n"
  USAGE_RECORD
  "\n"
  "exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error.\n";

static const char usage_schema[] =
  "usage: trk schema export FILE [OPTIONS]\n"
  "\n"
  "Saves the metadata of the database trk connects to (TRACKER_*, or --profile) to FILE, a\n"
  "JSON schema file: custom fields by record kind (ids, names, types, list items), application\n"
  "stages, candidate and job statuses, sources, work types, departments, the activity types\n"
  "and statuses recent activities show, and users (ids, names, active; never an email).\n"
  "It only reads. `trk emulator --schema FILE` and testing.emulator{ schema = FILE } make\n"
  "databases that use it (docs/emulator.md, Schemas).\n"
  "\n"
  "  --profile NAME        the settings of profile NAME (default $TRK_PROFILE), not TRACKER_*\n"
  "\n"
  "output:\n"
  "  --quiet               print nothing but errors\n"
  "  --verbose             also log each HTTP request on stderr\n"
  "\n"
  "exit status: 0 saved, 1 the database could not be read or FILE written, 2 usage error.\n";

static const char usage_help[] =
  "usage: trk help [COMMAND]\n"
  "\n"
  "Shows help for trk, or for COMMAND (run, rules, apply, journal, checkpoints, test, init,\n"
  "doctor, schema, emulator, help, version). --quiet and --verbose are accepted and change nothing.\n";

static const char usage_version[] =
  "usage: trk version [OPTIONS]\n"
  "\n"
  "Prints trk's version and the Lua release it embeds.\n"
  "\n"
  "output:\n"
  "  --quiet               print the version number only\n"
  "  --verbose             also print the versions of SQLite and libmicrohttpd\n";

/* The commands, for "did you mean" after a mistyped one. */
static const char *const commands[] = {
  "run", "rules", "apply", "journal", "checkpoints", "test", "init", "doctor", "schema",
  "emulator", "help", "version", NULL
};

/* "unknown command 'rulse' (did you mean 'rules'?)", for trk and trk help. */
static int unknown_command (const char *what, const char *cmd) {
  trk_cli_suggestion s = {0};
  char hint[96];
  for (int i = 0; commands[i]; i++) trk_cli_closest(&s, cmd, strlen(cmd), commands[i]);
  return trk_usage_error(NULL, "%sunknown command '%s'%s", what, cmd,
                         trk_cli_did_you_mean(&s, hint, sizeof hint));
}

static int cmd_help (const char *topic) {
  if (topic == NULL) fputs(usage_main, stdout);
  else if (strcmp(topic, "run") == 0) {
    fputs(usage_run, stdout);
    printf(USAGE_WRITES, ".trk/state.db beside the script");
    fputs(usage_run_tail, stdout);
  }
  else if (strcmp(topic, "rules") == 0) {
    fputs(usage_rules, stdout);
    printf(USAGE_WRITES, "DIR/.trk/state.db");
    fputs(usage_rules_tail, stdout);
  }
  else if (strcmp(topic, "journal") == 0) fputs(usage_journal, stdout);
  else if (strcmp(topic, "apply") == 0) fputs(usage_apply, stdout);

  else if (strcmp(topic, "checkpoints") == 0) fputs(usage_checkpoints, stdout);
  else if (strcmp(topic, "test") == 0) fputs(usage_test, stdout);
  else if (strcmp(topic, "init") == 0) fputs(usage_init, stdout);
  else if (strcmp(topic, "doctor") == 0) fputs(usage_doctor, stdout);
  else if (strcmp(topic, "schema") == 0) fputs(usage_schema, stdout);
  else if (strcmp(topic, "help") == 0) fputs(usage_help, stdout);
  else if (strcmp(topic, "version") == 0) fputs(usage_version, stdout);
  else if (strcmp(topic, "emulator") == 0) fputs(trk_emulator_usage, stdout);
  else return unknown_command("no help for ", topic);
  return TRK_EXIT_OK;
}

/* ---- options ----------------------------------------------------------------------------- */

/* Each command's options. Those without a driver key are the sandbox's (see sandbox_options);
   the others reach the command's Lua driver, typed (cli.h). */
#define OPTS_OUTPUT \
  {.name = "--quiet", .type = TRK_OPT_LEVEL, .key = "output"}, \
  {.name = "--verbose", .type = TRK_OPT_LEVEL, .key = "output"}
#define OPTS_LIMITS(cpu_default) \
  {.name = "--max-memory", .type = TRK_OPT_SIZE, \
   .bad = "is not a size (examples: 64M, 1G, 0 for none)"}, \
  {.name = "--max-output", .type = TRK_OPT_SIZE, \
   .bad = "is not a size (examples: 1M, 64K, 0 for none)"}, \
  {.name = "--max-cpu", .type = TRK_OPT_DURATION, .dflt = cpu_default, \
   .bad = "is not a duration (examples: 30s, 5m, 0 for none)"}, \
  {.name = "--deadline", .type = TRK_OPT_DURATION, \
   .bad = "is not a duration (examples: 30s, 5m)"}
#define OPTS_WRITES \
  {.name = "--apply", .type = TRK_OPT_FLAG, .key = "apply"}, \
  {.name = "--plan", .type = TRK_OPT_WORD, .key = "plan"}, \
  {.name = "--state", .type = TRK_OPT_WORD, .key = "state"}, \
  {.name = "--concurrency", .type = TRK_OPT_COUNT, .key = "concurrency", .min = 1, \
   .max = INT64_MAX, .bad = "is not a positive whole number (example: --concurrency 4)"}, \
  {.name = "--outage-budget", .type = TRK_OPT_DURATION, .key = "outage_budget", \
   .flags = TRK_OPT_POSITIVE, .bad = "is not a positive duration (example: --outage-budget 5m)"}, \
  {.name = "--fresh", .type = TRK_OPT_FLAG, .key = "fresh"}, \
  {.name = "--rebind", .type = TRK_OPT_FLAG, .key = "rebind"}, \
  {.name = "--json", .type = TRK_OPT_FLAG, .key = "json"}
#define OPTS_RECORD \
  {.name = "--record", .type = TRK_OPT_WORD, .key = "record", .bad = "needs a directory"}, \
  {.name = "--redact-personal", .type = TRK_OPT_FLAG, .key = "redact_personal"}, \
  {.name = "--no-redact-personal", .type = TRK_OPT_FLAG, .key = "no_redact_personal"}
#define OPT_PROFILE \
  {.name = "--profile", .type = TRK_OPT_WORD, .key = "profile"}
#define OPT_YES \
  {.name = "--yes", .type = TRK_OPT_FLAG, .key = "yes"}
#define OPT_NOW \
  {.name = "--now", .type = TRK_OPT_TIME, .key = "now", \
   .bad = "is not an ISO 8601 time with a zone (example: 2026-11-01T00:00:00Z)"}

static const trk_opt opts_run[] = {
  OPTS_OUTPUT, OPTS_LIMITS(NULL), OPTS_WRITES, OPT_PROFILE, OPT_YES, OPTS_RECORD,
  {.name = "--input", .type = TRK_OPT_LIST, .flags = TRK_OPT_EMPTY_OK},
  {.name = "--output", .type = TRK_OPT_LIST, .flags = TRK_OPT_EMPTY_OK},
  OPT_NOW,
  {.name = "--seed", .type = TRK_OPT_COUNT, .min = INT64_MIN, .max = INT64_MAX,
   .bad = "is not an integer"},
  {.name = "--again", .type = TRK_OPT_FLAG, .key = "again"},
  {.name = "--force", .type = TRK_OPT_FLAG, .key = "force"},
  {0}
};

static const trk_opt opts_rules[] = {
  OPTS_OUTPUT, OPTS_LIMITS("0"), OPTS_WRITES,   /* no CPU limit: --watch runs as long as let */
  OPT_PROFILE, OPT_YES, OPTS_RECORD,
  {.name = "--since", .type = TRK_OPT_TIME, .key = "since",
   .bad = "is not an ISO 8601 time with a zone (example: --since 2026-11-01T00:00:00Z)"},
  {.name = "--watch", .type = TRK_OPT_DURATION, .key = "watch", .flags = TRK_OPT_POSITIVE,
   .bad = "is not a positive duration (example: --watch 30s)"},
  {.name = "--rule-budget", .type = TRK_OPT_COUNT, .key = "rule_budget", .min = 1,
   .max = INT64_MAX, .dflt = RULE_BUDGET,
   .bad = "is not a positive whole number (example: --rule-budget 1000000)"},
  OPT_NOW,
  {0}
};

static const trk_opt opts_journal[] = {
  OPTS_OUTPUT,
  {.name = "--state", .type = TRK_OPT_WORD, .key = "state"},
  {.name = "--run", .type = TRK_OPT_COUNT, .key = "run", .min = 1, .max = INT64_MAX,
   .bad = "is not a positive whole number (example: --run 3)"},
  {.name = "--failed", .type = TRK_OPT_FLAG, .key = "failed"},
  {.name = "--created", .type = TRK_OPT_FLAG, .key = "created"},
  {.name = "--json", .type = TRK_OPT_FLAG, .key = "json"},
  OPT_PROFILE,
  {0}
};

static const trk_opt opts_checkpoints[] = {
  OPTS_OUTPUT,
  {.name = "--state", .type = TRK_OPT_WORD, .key = "state"},
  {.name = "--rewind", .type = TRK_OPT_WORD, .key = "rewind"},
  {.name = "--to", .type = TRK_OPT_TIME, .key = "to",
   .bad = "is not an ISO 8601 time with a zone (example: --to 2026-11-01T00:00:00Z)"},
  {.name = "--reset", .type = TRK_OPT_WORD, .key = "reset"},
  {.name = "--reset-all", .type = TRK_OPT_FLAG, .key = "reset_all"},
  {.name = "--json", .type = TRK_OPT_FLAG, .key = "json"},
  OPT_PROFILE,
  {0}
};

static const trk_opt opts_apply[] = {
  OPTS_OUTPUT,
  {.name = "--state", .type = TRK_OPT_WORD, .key = "state"},
  {.name = "--outage-budget", .type = TRK_OPT_DURATION, .key = "outage_budget",
   .flags = TRK_OPT_POSITIVE, .bad = "is not a positive duration (example: --outage-budget 5m)"},
  {.name = "--rebind", .type = TRK_OPT_FLAG, .key = "rebind"},
  {.name = "--json", .type = TRK_OPT_FLAG, .key = "json"},
  OPT_PROFILE, OPT_YES,
  {0}
};

static const trk_opt opts_doctor[] = {
  OPTS_OUTPUT, {.name = "--json", .type = TRK_OPT_FLAG, .key = "json"}, OPT_PROFILE,
  {.name = "--probe", .type = TRK_OPT_FLAG, .key = "probe"},
  OPTS_RECORD, {0}
};

static const trk_opt opts_schema[] = {OPTS_OUTPUT, OPT_PROFILE, {0}};

/* trk test, init, help and version: --quiet and --verbose; the rest is passed on. */
static const trk_opt opts_output[] = {OPTS_OUTPUT, {0}};

/* Parses a command's line; -1 to go on, else the exit code (help shown, or a usage error). */
static int parse (const char *command, const trk_opt *opts, int flags, int argc, char **argv,
                  trk_cli *c) {
  int code = trk_cli_parse(c, command, opts, flags, argc, argv, NULL);
  return code == TRK_CLI_HELP ? cmd_help(command) : code;
}

/* The sandbox's limits and grants, from the options the driver does not get. */
static void sandbox_options (const trk_cli *c, trk_options *o) {
  const trk_optval *v;
  trk_options_default(o);
  if ((v = trk_cli_get(c, "--max-memory"))) o->limits.max_memory = v->v.bytes;
  if ((v = trk_cli_get(c, "--max-output"))) o->limits.max_output = v->v.bytes;
  if ((v = trk_cli_get(c, "--max-cpu"))) o->limits.max_cpu = v->v.secs;
  if ((v = trk_cli_get(c, "--deadline"))) o->limits.deadline = v->v.secs;
  if ((v = trk_cli_get(c, "--input"))) {
    o->inputs = v->list;
    o->ninputs = v->nlist;
  }
  if ((v = trk_cli_get(c, "--output"))) {
    o->outputs = v->list;
    o->noutputs = v->nlist;
  }
  if ((v = trk_cli_get(c, "--now"))) {
    o->has_now = 1;
    o->now = v->v.time;
  }
  if ((v = trk_cli_get(c, "--seed"))) {
    o->has_seed = 1;
    o->seed = v->v.n;
  }
}

/* Runs a command's Lua driver in a fresh sandbox. */
static int drive (const char *command, const trk_cli *c) {
  char err[512];
  int code;
  trk_options o;
  trk_sandbox *S;
  sandbox_options(c, &o);
  S = trk_sandbox_new(&o, err, sizeof err);
  if (S == NULL) {
    fprintf(stderr, "trk: %s\n", err);
    return TRK_EXIT_ERROR;
  }
  code = trk_host_run(S, command, c);
  trk_sandbox_free(S);
  return code;
}

/* ---- the commands ------------------------------------------------------------------------ */

static int cmd_run (int argc, char **argv) {
  trk_cli c;
  int code = parse("run", opts_run, 0, argc, argv, &c);
  if (code < 0) {
    if (c.nwords == 0) code = trk_usage_error("run", "%s", "missing SCRIPT");
    else if (c.nwords > 1)
      code = trk_usage_error("run", "unexpected argument '%s' (script arguments go after --)",
                             c.words[1]);
    else {
      trk_cli_set(&c, "script", c.words[0]);
      code = drive("run", &c);
    }
  }
  trk_cli_free(&c);
  return code;
}

static int cmd_rules (int argc, char **argv) {
  trk_cli c;
  int code = parse("rules", opts_rules, 0, argc, argv, &c);
  if (code < 0) {
    if (c.nwords != 1 || c.nrest)
      code = trk_usage_error("rules", "%s", c.nwords ? "give one rules directory" : "missing DIR");
    else {
      trk_cli_set(&c, "dir", c.words[0]);
      code = drive("rules", &c);
    }
  }
  trk_cli_free(&c);
  return code;
}

static int cmd_apply (int argc, char **argv) {
  trk_cli c;
  int code = parse("apply", opts_apply, 0, argc, argv, &c);
  if (code < 0) {
    if (c.nwords != 1 || c.nrest)
      code = trk_usage_error("apply", "%s", c.nwords ? "give one plan file" : "missing PLAN");
    else {
      trk_cli_set(&c, "plan_file", c.words[0]);
      code = drive("apply", &c);
    }
  }
  trk_cli_free(&c);
  return code;
}

/* trk doctor: options only. */
static int cmd_options_only (const char *command, const trk_opt *opts, int argc, char **argv) {
  trk_cli c;
  int code = parse(command, opts, 0, argc, argv, &c);
  if (code < 0) {
    if (c.nwords || c.nrest)
      code = trk_usage_error(command, "unexpected argument '%s'", c.nwords ? c.words[0] : "--");
    else code = drive(command, &c);
  }
  trk_cli_free(&c);
  return code;
}

/* trk schema export FILE: the one action there is, and the file. */
static int cmd_schema (int argc, char **argv) {
  trk_cli c;
  int code = parse("schema", opts_schema, 0, argc, argv, &c);
  if (code < 0) {
    if (c.nwords == 0 || strcmp(c.words[0], "export") != 0)
      code = c.nwords ? trk_usage_error("schema", "unknown action '%s' (trk schema export FILE)",
                                        c.words[0])
                      : trk_usage_error("schema", "%s", "missing action (trk schema export FILE)");
    else if (c.nwords != 2 || c.nrest)
      code = trk_usage_error("schema", "%s", c.nwords < 2 ? "missing FILE (trk schema export FILE)"
                                                          : "give one FILE");
    else {
      trk_cli_set(&c, "file", c.words[1]);
      code = drive("schema", &c);
    }
  }
  trk_cli_free(&c);
  return code;
}

/* trk journal and trk checkpoints: options, and at most one word saying where the state store
   is (a rules directory, a script), which the driver gets as opts.target. */
static int cmd_store (const char *command, const trk_opt *opts, int argc, char **argv) {
  trk_cli c;
  int code = parse(command, opts, 0, argc, argv, &c);
  if (code < 0) {
    if (c.nwords > 1 || c.nrest)
      code = trk_usage_error(command, "unexpected argument '%s' (give one directory or script)",
                             c.nwords > 1 ? c.words[1] : "--");
    else {
      if (c.nwords == 1) trk_cli_set(&c, "target", c.words[0]);
      code = drive(command, &c);
    }
  }
  trk_cli_free(&c);
  return code;
}

/* trk test and trk init hand everything to their drivers, but --quiet and --verbose; trk
   test passes busted's own options through. */
static int cmd_passthrough (const char *command, int argc, char **argv) {
  trk_cli c;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  int code = parse(command, opts_output, TRK_CLI_PASS, argc, argv, &c);
  if (code < 0) {
    self[n > 0 ? n : 0] = '\0';
    trk_cli_set(&c, "exe", self);
    trk_cli_set(&c, "source_dir", TRK_SOURCE_DIR);
    code = drive(command, &c);
  }
  trk_cli_free(&c);
  return code;
}

/* trk version: "trk 1.2.0 (Lua 5.4.6)"; --quiet "1.2.0"; --verbose adds the libraries linked
   in (libcurl is opened only when a request is made: it is not named). */
static int cmd_version (int argc, char **argv) {
  trk_cli c;
  const trk_optval *quiet, *verbose;
  int code = parse("version", opts_output, TRK_CLI_PASS, argc, argv, &c);
  if (code < 0 && c.nrest) code = trk_usage_error("version", "unexpected argument '%s'", c.rest[0]);
  quiet = trk_cli_get(&c, "--quiet");
  verbose = trk_cli_get(&c, "--verbose");
  trk_cli_free(&c);
  if (code >= 0) return code;
  if (quiet) {
    printf("%s\n", TRK_VERSION);
    return TRK_EXIT_OK;
  }
  printf("trk %s (%s)\n", TRK_VERSION, LUA_RELEASE);
  if (verbose) {
    const char *sqlite = trk_store_sqlite_version();
    printf("SQLite %s\n", sqlite ? sqlite : "(cannot be loaded)");
    const char *mhd = trk_emulator_http_version();
    printf("libmicrohttpd %s\n", mhd ? mhd : "(cannot be loaded)");
  }
  return TRK_EXIT_OK;
}

/* trk help [COMMAND]: --quiet and --verbose change nothing. */
static int cmd_help_words (int argc, char **argv) {
  trk_cli c;
  int code = parse("help", opts_output, TRK_CLI_PASS, argc, argv, &c);
  if (code < 0) {
    if (c.nrest > 1) code = trk_usage_error("help", "unexpected argument '%s'", c.rest[1]);
    else code = cmd_help(c.nrest ? c.rest[0] : NULL);
  }
  trk_cli_free(&c);
  return code;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int main (int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL) {
    fputs(usage_main, stderr);
    return TRK_EXIT_USAGE;
  }
  /* The transport's worker threads would each get a malloc arena of their own, which keeps
     the page buffers freed in it: one arena keeps a long run's memory flat (the threads
     only fill a buffer each). The emulator's server threads allocate all the time: they
     keep glibc's default. */
  if (strcmp(cmd, "emulator") != 0) mallopt(M_ARENA_MAX, 1);
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
    return cmd_help(NULL);
  if (strcmp(cmd, "help") == 0)
    return cmd_help_words(argc - 2, argv + 2);
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
    return cmd_version(argc - 2, argv + 2);
  if (strcmp(cmd, "run") == 0)
    return cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "rules") == 0)
    return cmd_rules(argc - 2, argv + 2);
  if (strcmp(cmd, "apply") == 0)
    return cmd_apply(argc - 2, argv + 2);
  if (strcmp(cmd, "journal") == 0)
    return cmd_store("journal", opts_journal, argc - 2, argv + 2);
  if (strcmp(cmd, "checkpoints") == 0)
    return cmd_store("checkpoints", opts_checkpoints, argc - 2, argv + 2);
  if (strcmp(cmd, "doctor") == 0)
    return cmd_options_only("doctor", opts_doctor, argc - 2, argv + 2);
  if (strcmp(cmd, "schema") == 0)
    return cmd_schema(argc - 2, argv + 2);
  if (strcmp(cmd, "test") == 0 || strcmp(cmd, "init") == 0)
    return cmd_passthrough(cmd, argc - 2, argv + 2);
  if (strcmp(cmd, "emulator") == 0)
    return trk_emulator_main(argc - 2, argv + 2);
  return unknown_command("", cmd);
}
