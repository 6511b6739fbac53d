/* trk: the command line. Parses arguments and hands each command to its part of the runtime. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cli.h"
#include "emulator.h"
#include "sandbox.h"
#include "tracker.h"
#include "trk_time.h"

#ifndef TRK_VERSION
#define TRK_VERSION "0.0.0"
#endif
#ifndef TRK_SOURCE_DIR
#define TRK_SOURCE_DIR ""
#endif

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
  "  journal [OPTIONS]                   show what a state store holds\n"
  "  test [PATH...]                      run busted specs with trk's modules on the path\n"
  "  init DIR                            create a rules project with a rule and its spec\n"
  "  doctor [OPTIONS]                    check configuration, connections and credentials\n"
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
  "  --fresh               start a new run even if the last one of this command did not complete\n" \
  "  --json                print the summary as JSON on stdout\n"

#define USAGE_OUTPUT_DRIVE \
  "output:\n" \
  "  --quiet               only results and errors: no progress line, plan table or summary\n" \
  "                        (--json and --plan FILE still write theirs)\n" \
  "  --verbose             also log each HTTP request on stderr (method, URL without its\n" \
  "                        query, status, time) and count them at the end\n"

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
  "determinism, for tests:\n"
  "  --now TIME            os.time() and os.date() answer TIME (ISO 8601, e.g.\n"
  "                        2026-11-01T00:00:00Z)\n"
  "  --seed N              math.random starts from seed N\n"
  "\n";

static const char usage_run_tail[] =
  "\n"
  USAGE_OUTPUT_DRIVE
  "\n"
  USAGE_UNITS
  "\n"
  "exit status: 0 success, 1 the script failed or writes failed, 2 usage error, 3 a limit\n"
  "was exceeded, 130 interrupted (run the same command again to resume).\n";

static const char usage_rules[] =
  "usage: trk rules DIR [OPTIONS]\n"
  "\n"
  "Runs every rule in DIR (each *.lua file not ending in _spec.lua returns a rule) over one\n"
  "stream per record kind. Each rule sees the records changed since its checkpoint in the\n"
  "state store; a rule without one starts at --since, or now. Checkpoints move only with\n"
  "--apply. See docs/rules.md for the rule format.\n"
  "\n"
  "  --since TIME          where rules without a checkpoint start (ISO 8601)\n"
  "  --watch INTERVAL      run again every INTERVAL (a DURATION) until Ctrl-C\n"
  "  --rule-budget N       instructions one rule may use on one record (default 50000000)\n"
  "  --now TIME            the rules' clock (ctx.now), for tests\n"
  "\n";

static const char usage_rules_tail[] =
  "\n"
  USAGE_LIMITS
  "\n"
  USAGE_OUTPUT_DRIVE
  "\n"
  USAGE_UNITS
  "\n"
  "exit status: 0 success, 1 a rule or a write failed, 2 usage error, 3 a limit was\n"
  "exceeded, 130 interrupted.\n";

static const char usage_journal[] =
  "usage: trk journal [OPTIONS]\n"
  "\n"
  "Shows what a state store holds: its runs, their actions and results, failures, and the\n"
  "rules' checkpoints.\n"
  "\n"
  "  --state FILE          the state store (default .trk/state.db)\n"
  "  --run N               the actions of run N (default: the list of runs)\n"
  "  --failed              only actions that failed or whose outcome is unknown\n"
  "  --json                JSON Lines on stdout\n"
  "\n"
  "output:\n"
  "  --quiet               print nothing when there is nothing to show\n"
  "  --verbose             show errors, targets and changes in full, not cut to fit\n";

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
  "\n"
  "output:\n"
  "  --quiet               print only the checks that warn or fail\n"
  "  --verbose             also print details under the checks, and log each HTTP request\n"
  "                        on stderr\n"
  "\n"
  "exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 usage error.\n";

static const char usage_help[] =
  "usage: trk help [COMMAND]\n"
  "\n"
  "Shows help for trk, or for COMMAND (run, rules, journal, test, init, doctor, emulator,\n"
  "help, version). --quiet and --verbose are accepted and change nothing.\n";

static const char usage_version[] =
  "usage: trk version [OPTIONS]\n"
  "\n"
  "Prints trk's version and the Lua release it embeds.\n"
  "\n"
  "output:\n"
  "  --quiet               print the version number only\n"
  "  --verbose             also print the versions of SQLite and libmicrohttpd\n";

static int usage_error (const char *cmd, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static int usage_error (const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "trk%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun 'trk help%s%s' for usage.\n", cmd ? " " : "", cmd ? cmd : "");
  return TRK_EXIT_USAGE;
}

/* --quiet and --verbose, which every command takes: 1 when `a` is one of them (stored in
   *level as "quiet" or "verbose"), 0 when it is not, -1 when it contradicts the one given. */
static int output_flag (const char *a, const char **level) {
  const char *l;
  if (strcmp(a, "--quiet") == 0) l = "quiet";
  else if (strcmp(a, "--verbose") == 0) l = "verbose";
  else return 0;
  if (*level && strcmp(*level, l) != 0) return -1;
  *level = l;
  return 1;
}

#define OUTPUT_CONFLICT "give --quiet or --verbose, not both"

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
  else if (strcmp(topic, "test") == 0) fputs(usage_test, stdout);
  else if (strcmp(topic, "init") == 0) fputs(usage_init, stdout);
  else if (strcmp(topic, "doctor") == 0) fputs(usage_doctor, stdout);
  else if (strcmp(topic, "help") == 0) fputs(usage_help, stdout);
  else if (strcmp(topic, "version") == 0) fputs(usage_version, stdout);
  else if (strcmp(topic, "emulator") == 0) fputs(trk_emulator_usage, stdout);
  else return usage_error(NULL, "no help for unknown command '%s'", topic);
  return TRK_EXIT_OK;
}

/* ---- options ----------------------------------------------------------------------------- */

/* What an option sets: a limit or grant of the sandbox, or a host option handed to the
   command's Lua driver as a string (checked here when it has a type). */
typedef enum opt_kind {
  OPT_MEMORY, OPT_OUTPUT_BYTES, OPT_CPU, OPT_DEADLINE, OPT_INPUT, OPT_OUTPUT, OPT_NOW, OPT_SEED,
  OPT_FLAG, OPT_STRING, OPT_COUNT, OPT_DURATION, OPT_TIME
} opt_kind;

typedef struct opt_def {
  const char *name;       /* "--max-memory" */
  opt_kind kind;
  const char *host;       /* the driver's name for it ("apply"), for host options */
} opt_def;

#define OPTS_LIMITS \
  {"--max-memory", OPT_MEMORY, NULL}, {"--max-output", OPT_OUTPUT_BYTES, NULL}, \
  {"--max-cpu", OPT_CPU, NULL}, {"--deadline", OPT_DEADLINE, NULL}
#define OPTS_WRITES \
  {"--apply", OPT_FLAG, "apply"}, {"--plan", OPT_STRING, "plan"}, \
  {"--state", OPT_STRING, "state"}, {"--concurrency", OPT_COUNT, "concurrency"}, \
  {"--fresh", OPT_FLAG, "fresh"}, {"--json", OPT_FLAG, "json"}

static const opt_def opts_run[] = {
  OPTS_LIMITS, OPTS_WRITES,
  {"--input", OPT_INPUT, NULL}, {"--output", OPT_OUTPUT, NULL}, {"--now", OPT_NOW, "now"},
  {"--seed", OPT_SEED, NULL}, {NULL, 0, NULL}
};

static const opt_def opts_rules[] = {
  OPTS_LIMITS, OPTS_WRITES,
  {"--since", OPT_TIME, "since"}, {"--watch", OPT_DURATION, "watch"},
  {"--rule-budget", OPT_COUNT, "rule_budget"}, {"--now", OPT_NOW, "now"}, {NULL, 0, NULL}
};

static const opt_def opts_doctor[] = {
  {"--json", OPT_FLAG, "json"}, {NULL, 0, NULL}
};

static const opt_def opts_journal[] = {
  {"--state", OPT_STRING, "state"}, {"--run", OPT_COUNT, "run"}, {"--failed", OPT_FLAG, "failed"},
  {"--json", OPT_FLAG, "json"}, {NULL, 0, NULL}
};

/* A value that fits an option taking a count or a duration, for the message refusing one. */
static const char *opt_example (const char *name) {
  static const char *const examples[][2] = {
    {"--concurrency", "4"}, {"--rule-budget", "1000000"}, {"--run", "3"}, {"--watch", "30s"}
  };
  for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
    if (strcmp(name, examples[i][0]) == 0) return examples[i][1];
  return "1";
}

/* A parsed command line: the sandbox's options, the driver's name/value pairs, positional
   words, and what follows "--". */
typedef struct cmdline {
  trk_options o;
  const char **inputs, **outputs;
  const char **host;      /* name, value, name, value, ... */
  int nhost;
  const char **words;
  int nwords;
  char **rest;
  int nrest;
  const char *output;     /* "quiet", "verbose" or NULL */
} cmdline;

static void cmdline_free (cmdline *c) {
  free(c->inputs);
  free(c->outputs);
  free(c->host);
  free(c->words);
}

static void host_opt (cmdline *c, const char *name, const char *value) {
  c->host[c->nhost++] = name;
  c->host[c->nhost++] = value;
}

/* Parses argv against defs; returns -1 when all is well, or the exit code to end with. */
static int parse (const char *cmd, const opt_def *defs, int argc, char **argv, cmdline *c) {
  memset(c, 0, sizeof *c);
  trk_options_default(&c->o);
  c->inputs = calloc((size_t)argc + 1, sizeof *c->inputs);
  c->outputs = calloc((size_t)argc + 1, sizeof *c->outputs);
  c->host = calloc(2 * (size_t)argc + 8, sizeof *c->host);
  c->words = calloc((size_t)argc + 1, sizeof *c->words);
  if (!c->inputs || !c->outputs || !c->host || !c->words) {
    fprintf(stderr, "trk: out of memory\n");
    return TRK_EXIT_ERROR;
  }
  c->o.inputs = c->inputs;
  c->o.outputs = c->outputs;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const opt_def *d;
    int missing = 0;
    if (strcmp(a, "--") == 0) {
      c->rest = argv + i + 1;
      c->nrest = argc - i - 1;
      break;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return cmd_help(cmd);
    switch (output_flag(a, &c->output)) {
      case 1: continue;
      case -1: return usage_error(cmd, OUTPUT_CONFLICT);
    }
    if (a[0] != '-' || a[1] == '\0') {
      c->words[c->nwords++] = a;
      continue;
    }
    for (d = defs; d->name; d++) {
      if (d->kind == OPT_FLAG) {
        if (strcmp(a, d->name) == 0) break;
      }
      else if ((v = trk_cli_opt(argc, argv, &i, d->name, &missing)) != NULL || missing)
        break;
    }
    if (d->name == NULL) return usage_error(cmd, "unknown option '%s'", a);
    if (missing) return usage_error(cmd, "%s needs a value", d->name);
    switch (d->kind) {
      case OPT_MEMORY:
        if (!trk_cli_size(v, &c->o.limits.max_memory))
          return usage_error(cmd, "--max-memory: '%s' is not a size (examples: 64M, 1G, 0 for none)", v);
        break;
      case OPT_OUTPUT_BYTES:
        if (!trk_cli_size(v, &c->o.limits.max_output))
          return usage_error(cmd, "--max-output: '%s' is not a size (examples: 1M, 64K, 0 for none)", v);
        break;
      case OPT_CPU:
        if (!trk_cli_duration(v, &c->o.limits.max_cpu))
          return usage_error(cmd, "--max-cpu: '%s' is not a duration (examples: 30s, 5m, 0 for none)", v);
        break;
      case OPT_DEADLINE:
        if (!trk_cli_duration(v, &c->o.limits.deadline))
          return usage_error(cmd, "--deadline: '%s' is not a duration (examples: 30s, 5m)", v);
        break;
      case OPT_INPUT: c->inputs[c->o.ninputs++] = v; break;
      case OPT_OUTPUT: c->outputs[c->o.noutputs++] = v; break;
      case OPT_NOW:
        if (!trk_time_parse_iso(v, &c->o.now))
          return usage_error(cmd, "--now: '%s' is not an ISO 8601 time with a zone "
                             "(example: 2026-11-01T00:00:00Z)", v);
        c->o.has_now = 1;
        host_opt(c, d->host, v);
        break;
      case OPT_SEED: {
        long long seed;
        if (!trk_cli_int(v, -0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL, &seed))
          return usage_error(cmd, "--seed: '%s' is not an integer", v);
        c->o.seed = seed;
        c->o.has_seed = 1;
        break;
      }
      case OPT_FLAG: host_opt(c, d->host, "1"); break;
      case OPT_STRING:
        if (*v == '\0') return usage_error(cmd, "%s needs a value", d->name);
        host_opt(c, d->host, v);
        break;
      case OPT_COUNT: {
        long long n;
        if (!trk_cli_int(v, 1, 0x7fffffffffffffffLL, &n))
          return usage_error(cmd, "%s: '%s' is not a positive whole number (example: %s %s)",
                             d->name, v, d->name, opt_example(d->name));
        host_opt(c, d->host, v);
        break;
      }
      case OPT_DURATION: {
        double secs;
        if (!trk_cli_duration(v, &secs) || secs <= 0)
          return usage_error(cmd, "%s: '%s' is not a positive duration (example: %s %s)",
                             d->name, v, d->name, opt_example(d->name));
        host_opt(c, d->host, v);
        break;
      }
      case OPT_TIME: {
        int64_t t;
        if (!trk_time_parse_iso(v, &t))
          return usage_error(cmd, "%s: '%s' is not an ISO 8601 time with a zone "
                             "(example: %s 2026-11-01T00:00:00Z)", d->name, v, d->name);
        host_opt(c, d->host, v);
        break;
      }
    }
  }
  if (c->output) host_opt(c, "output", c->output);
  return -1;
}

/* Runs a command's Lua driver in a fresh sandbox. */
static int drive (const char *command, cmdline *c) {
  char err[512];
  int code;
  trk_sandbox *S = trk_sandbox_new(&c->o, err, sizeof err);
  if (S == NULL) {
    fprintf(stderr, "trk: %s\n", err);
    return TRK_EXIT_ERROR;
  }
  code = trk_sandbox_run_host(S, command, c->nhost, c->host, c->nrest, c->rest);
  trk_sandbox_free(S);
  return code;
}

/* ---- the commands ------------------------------------------------------------------------ */

static int cmd_run (int argc, char **argv) {
  cmdline c;
  int code = parse("run", opts_run, argc, argv, &c);
  if (code < 0) {
    if (c.nwords == 0) code = usage_error("run", "%s", "missing SCRIPT");
    else if (c.nwords > 1)
      code = usage_error("run", "unexpected argument '%s' (script arguments go after --)",
                         c.words[1]);
    else {
      host_opt(&c, "script", c.words[0]);
      code = drive("run", &c);
    }
  }
  cmdline_free(&c);
  return code;
}

static int cmd_rules (int argc, char **argv) {
  cmdline c;
  int code = parse("rules", opts_rules, argc, argv, &c);
  if (code < 0) {
    if (c.nwords != 1 || c.nrest)
      code = usage_error("rules", "%s", c.nwords ? "give one rules directory" : "missing DIR");
    else {
      int cpu_given = 0;
      for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "--max-cpu", 9) == 0) cpu_given = 1;
      if (!cpu_given) c.o.limits.max_cpu = 0;      /* --watch runs for as long as it is let */
      host_opt(&c, "dir", c.words[0]);
      code = drive("rules", &c);
    }
  }
  cmdline_free(&c);
  return code;
}

static int cmd_journal (int argc, char **argv) {
  cmdline c;
  int code = parse("journal", opts_journal, argc, argv, &c);
  if (code < 0) {
    if (c.nwords || c.nrest) code = usage_error("journal", "unexpected argument '%s'",
                                               c.nwords ? c.words[0] : "--");
    else code = drive("journal", &c);
  }
  cmdline_free(&c);
  return code;
}

static int cmd_doctor (int argc, char **argv) {
  cmdline c;
  int code = parse("doctor", opts_doctor, argc, argv, &c);
  if (code < 0) {
    if (c.nwords || c.nrest) code = usage_error("doctor", "unexpected argument '%s'",
                                               c.nwords ? c.words[0] : "--");
    else code = drive("doctor", &c);
  }
  cmdline_free(&c);
  return code;
}

/* trk test and trk init hand everything to their drivers, but --quiet and --verbose; trk
   test passes busted's own options through. */
static int cmd_passthrough (const char *command, int argc, char **argv) {
  cmdline c;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return cmd_help(command);
  memset(&c, 0, sizeof c);
  trk_options_default(&c.o);
  c.host = calloc(8, sizeof *c.host);
  c.rest = calloc((size_t)argc + 1, sizeof *c.rest);
  if (c.host == NULL || c.rest == NULL) {
    free(c.host);
    free(c.rest);
    fprintf(stderr, "trk: out of memory\n");
    return TRK_EXIT_ERROR;
  }
  for (int i = 0; i < argc; i++) {
    int r = output_flag(argv[i], &c.output);
    if (r < 0) {
      free(c.rest);
      cmdline_free(&c);
      return usage_error(command, OUTPUT_CONFLICT);
    }
    if (r == 0) c.rest[c.nrest++] = argv[i];
  }
  self[n > 0 ? n : 0] = '\0';
  host_opt(&c, "exe", self);
  host_opt(&c, "source_dir", TRK_SOURCE_DIR);
  if (c.output) host_opt(&c, "output", c.output);
  int code = drive(command, &c);
  free(c.rest);
  cmdline_free(&c);
  return code;
}

/* trk version: "trk 1.2.0 (Lua 5.4.6)"; --quiet "1.2.0"; --verbose adds the libraries linked
   in (libcurl is opened only when a request is made: it is not named). */
static int cmd_version (int argc, char **argv) {
  const char *level = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return cmd_help("version");
    switch (output_flag(argv[i], &level)) {
      case 0: return usage_error("version", "unexpected argument '%s'", argv[i]);
      case -1: return usage_error("version", OUTPUT_CONFLICT);
    }
  }
  if (level && strcmp(level, "quiet") == 0) {
    printf("%s\n", TRK_VERSION);
    return TRK_EXIT_OK;
  }
  printf("trk %s (%s)\n", TRK_VERSION, LUA_RELEASE);
  if (level) {
    const char *sqlite = trk_store_sqlite_version();
    printf("SQLite %s\n", sqlite ? sqlite : "(cannot be loaded)");
    const char *mhd = trk_emulator_http_version();
    printf("libmicrohttpd %s\n", mhd ? mhd : "(cannot be loaded)");
  }
  return TRK_EXIT_OK;
}

/* trk help [COMMAND]: --quiet and --verbose change nothing. */
static int cmd_help_words (int argc, char **argv) {
  const char *level = NULL, *topic = NULL;
  for (int i = 0; i < argc; i++) {
    int r = output_flag(argv[i], &level);
    if (r < 0) return usage_error("help", OUTPUT_CONFLICT);
    if (r > 0) continue;
    if (topic) return usage_error("help", "unexpected argument '%s'", argv[i]);
    topic = argv[i];
  }
  return cmd_help(topic);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int main (int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (cmd == NULL) {
    fputs(usage_main, stderr);
    return TRK_EXIT_USAGE;
  }
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
  if (strcmp(cmd, "journal") == 0)
    return cmd_journal(argc - 2, argv + 2);
  if (strcmp(cmd, "doctor") == 0)
    return cmd_doctor(argc - 2, argv + 2);
  if (strcmp(cmd, "test") == 0 || strcmp(cmd, "init") == 0)
    return cmd_passthrough(cmd, argc - 2, argv + 2);
  if (strcmp(cmd, "emulator") == 0)
    return trk_emulator_main(argc - 2, argv + 2);
  return usage_error(NULL, "unknown command '%s'", cmd);
}
