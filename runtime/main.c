/* trk: the command line. Parses arguments and hands each command to its part of the runtime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emulator.h"
#include "sandbox.h"
#include "tracker.h"
#include "trk_time.h"

#ifndef TRK_VERSION
#define TRK_VERSION "0.0.0"
#endif

/* ---- help ---------------------------------------------------------------------------- */

static const char usage_main[] =
  "usage: trk COMMAND [OPTIONS]\n"
  "\n"
  "trk runs Lua 5.4 scripts against Tracker RMS, in a sandbox.\n"
  "\n"
  "commands:\n"
  "  run SCRIPT [OPTIONS] [-- ARGS...]   run a script in the sandbox\n"
  "  emulator [OPTIONS]                  serve a local Tracker emulator over HTTP\n"
  "  help [COMMAND]                      show help for trk or a command\n"
  "  version                             print the version\n"
  "\n"
  "options for every command:\n"
  "  -h, --help       show help\n"
  "  --version        print the version\n"
  "\n"
  "Run 'trk help run' for the sandbox's options and limits.\n";

static const char usage_run[] =
  "usage: trk run SCRIPT [OPTIONS] [-- ARGS...]\n"
  "\n"
  "Loads SCRIPT as Lua text into a fresh sandbox and runs it. The script sees ARGS in\n"
  "`arg` (arg[0] is SCRIPT) and as `...`. It can read and write nothing but Tracker and\n"
  "the files granted below.\n"
  "\n"
  "limits (exceeding one stops the script with exit status 3):\n"
  "  --max-memory SIZE     memory the script may hold (default 256M)\n"
  "  --max-cpu DURATION    CPU time (default 300s)\n"
  "  --deadline DURATION   wall-clock time (default: none)\n"
  "  --max-output SIZE     bytes written by print, log and files (default 16M)\n"
  "\n"
  "grants:\n"
  "  --input FILE          let the script read FILE with files.open(\"FILE\")  (repeatable)\n"
  "  --output FILE         let the script write FILE with files.create(\"FILE\")  (repeatable)\n"
  "\n"
  "determinism, for tests:\n"
  "  --now TIME            os.time() and os.date() answer TIME (ISO 8601, e.g.\n"
  "                        2026-11-01T00:00:00Z)\n"
  "  --seed N              math.random starts from seed N\n"
  "\n"
  "SIZE is bytes with an optional K, M or G suffix (256M); DURATION is seconds with an\n"
  "optional ms, s, m or h suffix (90s, 5m). Use 0 for no limit.\n"
  "\n"
  "exit status: 0 success, 1 the script failed, 2 usage error, 3 a limit was exceeded.\n";

static int usage_error (const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "trk%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nRun 'trk help%s%s' for usage.\n", cmd ? " " : "", cmd ? cmd : "");
  return TRK_EXIT_USAGE;
}

static int cmd_help (const char *topic) {
  if (topic == NULL) fputs(usage_main, stdout);
  else if (strcmp(topic, "run") == 0) fputs(usage_run, stdout);
  else if (strcmp(topic, "emulator") == 0) fputs(trk_emulator_usage, stdout);
  else return usage_error(NULL, "no help for unknown command '%s'", topic);
  return TRK_EXIT_OK;
}

/* ---- values on the command line ------------------------------------------------------------ */

/* ---- trk run ----------------------------------------------------------------------------- */

static int cmd_run (int argc, char **argv) {
  trk_options o;
  const char *script = NULL;
  const char **inputs = calloc((size_t)argc, sizeof *inputs);
  const char **outputs = calloc((size_t)argc, sizeof *outputs);
  int nargs = 0, code = TRK_EXIT_USAGE, i;
  char **args = NULL;
  char err[512];

  trk_options_default(&o);
  if (inputs == NULL || outputs == NULL) {
    fprintf(stderr, "trk: out of memory\n");
    goto done;
  }
  for (i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    if (strcmp(a, "--") == 0) {
      args = argv + i + 1;
      nargs = argc - i - 1;
      break;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      code = cmd_help("run");
      goto done;
    }
#define OPTION(name) ((v = trk_cli_opt(argc, argv, &i, name, &missing)) != NULL || missing)
#define MISSING(name) if (missing) { code = usage_error("run", "%s needs a value", name); goto done; }
    if (OPTION("--max-memory")) {
      MISSING("--max-memory");
      if (!trk_cli_size(v, &o.limits.max_memory)) {
        code = usage_error("run", "--max-memory: '%s' is not a size (examples: 64M, 1G, 0 for none)", v);
        goto done;
      }
    }
    else if (OPTION("--max-output")) {
      MISSING("--max-output");
      if (!trk_cli_size(v, &o.limits.max_output)) {
        code = usage_error("run", "--max-output: '%s' is not a size (examples: 1M, 64K, 0 for none)", v);
        goto done;
      }
    }
    else if (OPTION("--max-cpu")) {
      MISSING("--max-cpu");
      if (!trk_cli_duration(v, &o.limits.max_cpu)) {
        code = usage_error("run", "--max-cpu: '%s' is not a duration (examples: 30s, 5m, 0 for none)", v);
        goto done;
      }
    }
    else if (OPTION("--deadline")) {
      MISSING("--deadline");
      if (!trk_cli_duration(v, &o.limits.deadline)) {
        code = usage_error("run", "--deadline: '%s' is not a duration (examples: 30s, 5m)", v);
        goto done;
      }
    }
    else if (OPTION("--input")) {
      MISSING("--input");
      inputs[o.ninputs++] = v;
    }
    else if (OPTION("--output")) {
      MISSING("--output");
      outputs[o.noutputs++] = v;
    }
    else if (OPTION("--now")) {
      MISSING("--now");
      if (!trk_time_parse_iso(v, &o.now)) {
        code = usage_error("run", "--now: '%s' is not an ISO 8601 time with a zone "
                           "(example: 2026-11-01T00:00:00Z)", v);
        goto done;
      }
      o.has_now = 1;
    }
    else if (OPTION("--seed")) {
      MISSING("--seed");
      long long seed;
      if (!trk_cli_int(v, -0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL, &seed)) {
        code = usage_error("run", "--seed: '%s' is not an integer", v);
        goto done;
      }
      o.seed = seed;
      o.has_seed = 1;
    }
    else if (a[0] == '-' && a[1] != '\0') {
      code = usage_error("run", "unknown option '%s'", a);
      goto done;
    }
    else if (script == NULL)
      script = a;
    else {
      code = usage_error("run", "unexpected argument '%s' (script arguments go after --)", a);
      goto done;
    }
#undef OPTION
#undef MISSING
  }
  if (script == NULL) {
    code = usage_error("run", "%s", "missing SCRIPT");
    goto done;
  }
  o.inputs = inputs;
  o.outputs = outputs;
  {
    trk_sandbox *S = trk_sandbox_new(&o, err, sizeof err);
    if (S == NULL) {
      fprintf(stderr, "trk: %s\n", err);
      code = TRK_EXIT_ERROR;
      goto done;
    }
    code = trk_sandbox_run_file(S, script, nargs, args);
    trk_sandbox_free(S);
  }
done:
  free(inputs);
  free(outputs);
  return code;
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
    return cmd_help(argc > 2 ? argv[2] : NULL);
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("trk %s (%s)\n", TRK_VERSION, LUA_RELEASE);
    return TRK_EXIT_OK;
  }
  if (strcmp(cmd, "run") == 0)
    return cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "emulator") == 0)
    return trk_emulator_main(argc - 2, argv + 2);
  return usage_error(NULL, "unknown command '%s'", cmd);
}
