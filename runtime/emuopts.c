/* trk emulator's command line: its options, checked by the one option parser (cli.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include "cli.h"
#include "emuopts.h"
#include "sandbox.h"

#define EMU_DEFAULT_HOST      "127.0.0.1"
#define EMU_DEFAULT_PORT      8077
#define EMU_MAX_CANDIDATES    100000000        /* --generate */
#define EMU_MAX_SYNTHETIC     1000000000       /* --synthetic (tracker.emulator_synthetic's cap) */
#define EMU_MAX_RATE          1000000          /* --rate-limit N */
#define EMU_MAX_SKEW          (10.0 * 366 * 86400)   /* skew=D: ten years either way */

#define EMU_STR_(x)  #x
#define EMU_STR(x)   EMU_STR_(x)               /* a number in a message */

/* ---- the help ------------------------------------------------------------------------------- */

const char trk_emulator_usage[] =
  "usage: trk emulator [OPTIONS]\n"
  "\n"
  "Serves a fake Tracker RMS over HTTP: the widget API (POST /api/widget/VERB) and the REST\n"
  "API (POST /api/Auth/ExchangeToken, /api/v1/...) on one port, with the behaviour of the\n"
  "in-process emulator (tracker.emulator). The first line it prints is\n"
  "\"listening on http://HOST:PORT\". It serves until SIGINT (Ctrl-C) or SIGTERM.\n"
  "\n"
  "listening:\n"
  "  --port N            TCP port (default 8077; 0 picks a free one)\n"
  "  --host ADDR         address to bind (default 127.0.0.1; ::1 for IPv6 loopback)\n"
  "\n"
  "data (default: a demo database, 200 candidates generated from seed 1):\n"
  "  --data FILE         load a JSON fixture\n"
  "  --data DIR          keep the data in DIR/emulator.db (SQLite) across restarts: a new DIR\n"
  "                      gets the data made now (the demo, --generate, --schema), later starts\n"
  "                      load it; every write is saved before it is answered\n"
  "  --schema FILE       generated records use the custom fields, lists, stages, statuses and\n"
  "                      users of FILE, a schema file `trk schema export` wrote\n"
  "  --generate N        generate a database of N candidates (with jobs, applications,\n"
  "                      notes and documents to match)\n"
  "  --synthetic N       serve N candidates computed on demand, never stored: read-only,\n"
  "                      for load tests; memory stays flat whatever N (0 to 1000000000)\n"
  "  --static            with --synthetic: keep each read's answer in C the first time it is\n"
  "                      made and serve it again without the model, so that the server is not\n"
  "                      what a load test measures (not with --faults or --rate-limit)\n"
  "  --seed S            the seed of --generate or --synthetic (default 1)\n"
  "  --timezone TZ       the database's IANA time zone (example: America/Chicago)\n"
  "  --replay DIR        serve the recording DIR/cassette.jsonl (made with --record DIR):\n"
  "                      each recorded request gets its recorded answer, in recorded order;\n"
  "                      any other gets 599 naming it; credentials are not checked\n"
  "\n"
  "answers:\n"
  "  --dialect NAME      how answers are shaped where Tracker's evidence and trk's first\n"
  "                      inferences differ: evidence (only what the evidence shows Tracker\n"
  "                      answering: REST /Search 10 a page, no last-updated times on widget\n"
  "                      items, ...) or rich (the inferred shapes); without it, the\n"
  "                      emulator's default dialect (docs/emulator.md, Dialects)\n"
  "\n"
  "credentials (default: the public demo values demo-key, demo@example.com, demo-token):\n"
  "  --apikey KEY        widget API key\n"
  "  --username U        widget API user\n"
  "  --api-token T       REST API token, exchanged for a JWT at /api/Auth/ExchangeToken\n"
  "\n"
  "faults and limits (all off by default):\n"
  "  --latency MS[-MS]   delay every answer by MS milliseconds, or by a random time in the range\n"
  "  --rate-limit N/min  answer 429 with Retry-After past N requests in any 60 seconds\n"
  "  --faults SPEC       inject faults, e.g. 5xx=0.1,drop=0.05,page-cap=10 (below); requests\n"
  "                      to /_emulator/ are never faulted or limited\n"
  "\n"
  "other:\n"
  "  --admin             serve GET /_emulator/state and POST /_emulator/reset\n"
  "  --verbose           log a line per request on stderr: method, path, status, bytes, time\n"
  "                      (never headers, bodies or query strings)\n"
  "  --quiet             print only the first line (\"listening on ...\"), not the settings\n"
  "                      a client needs\n"
  "  -h, --help          show this help\n"
  "\n"
  "SPEC is a comma-separated list of KEY=VALUE:\n"
  "  5xx=P               answer a fraction P of requests 500, 502 or 503 without processing them\n"
  "  drop=P              process, then close the connection without answering\n"
  "  truncate=P          process, declare the whole body, send half of it and close\n"
  "  malformed=P         process, then send a body that is not valid JSON\n"
  "  page-cap=N          REST and widget pages hold at most N items, whatever the dialect\n"
  "                      allows (Tracker's reported REST cap: 10)\n"
  "  burst=P             start a burst of 429 answers (Retry-After: 1) at a fraction P of requests\n"
  "  burst-length=N      requests a burst answers 429, the first included (default 3)\n"
  "  skew=D              the emulator's clock runs D ahead of real time (negative: behind)\n"
  "  seed=N              seed of the faults' random choices (default 1): a seed and a sequence\n"
  "                      of requests always give the same faults\n"
  "P is a fraction (0.05) or a percentage (5%); drop + truncate + malformed is at most 1.\n"
  "N is a whole number from 1 (seed: any integer); D is seconds, or with an s, m or h suffix\n"
  "(-90s, 1h).\n"
  "\n"
  "exit status: 0 stopped by SIGINT or SIGTERM, 1 could not start, 2 usage error.\n";

/* ---- values of their own kind ------------------------------------------------------------------ */

const trk_emu_fault_key trk_emu_fault_keys[TRK_EMU_NFAULTS] = {
  {"5xx", "errors", TRK_EMU_FRACTION},
  {"drop", "drop", TRK_EMU_FRACTION},
  {"truncate", "truncate", TRK_EMU_FRACTION},
  {"malformed", "malformed", TRK_EMU_FRACTION},
  {"page-cap", "page_cap", TRK_EMU_COUNT},
  {"burst", "burst", TRK_EMU_FRACTION},
  {"burst-length", "burst_length", TRK_EMU_COUNT},
  {"skew", "clock_skew", TRK_EMU_SECONDS},
  {"seed", "seed", TRK_EMU_INTEGER},
};

/* "0.05" or "5%": a fraction in [0, 1]. */
static int emu_parse_fraction (const char *s, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno || !isfinite(v)) return 0;
  if (*end == '%') {
    v /= 100.0;
    end++;
  }
  if (*end || v < 0.0 || v > 1.0) return 0;
  *out = v;
  return 1;
}

/* Milliseconds with an optional "ms"; advances *s past them. */
static int emu_parse_ms (const char **s, int *out) {
  char *end;
  long v;
  if (!isdigit((unsigned char)**s)) return 0;
  errno = 0;
  v = strtol(*s, &end, 10);
  if (errno || v < 0 || v > TRK_EMU_MAX_DELAY_MS) return 0;
  if (end[0] == 'm' && end[1] == 's') end += 2;
  *s = end;
  *out = (int)v;
  return 1;
}

/* --latency: "50" or "20-80" (milliseconds, "ms" allowed after each). */
static int emu_opt_latency (const char *s, void *ud) {
  trk_emu_config *c = ud;
  if (!emu_parse_ms(&s, &c->latency_min)) return 0;
  c->latency_max = c->latency_min;
  if (*s == '-') {
    s++;
    if (!emu_parse_ms(&s, &c->latency_max)) return 0;
  }
  return *s == '\0' && c->latency_min <= c->latency_max;
}

/* --rate-limit: "100/min" or "100": requests a minute (the model's window is a sliding
   minute). */
static int emu_opt_rate (const char *s, void *ud) {
  trk_emu_config *c = ud;
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (end == s || errno || v < 1 || v > EMU_MAX_RATE) return 0;
  if (*end != '\0' && strcmp(end, "/min") != 0 && strcmp(end, "/m") != 0) return 0;
  c->rate = (lua_Integer)v;
  return 1;
}

#define EMU_FAULTS_ERROR(...)  (trk_usage_error("emulator", "--faults: " __VA_ARGS__), -1)

/* --faults: KEY=VALUE[,KEY=VALUE]...; reports the bad part itself. */
static int emu_opt_faults (const char *spec, void *ud) {
  trk_emu_config *c = ud;
  const char *p = spec;
  if (*p == '\0') return EMU_FAULTS_ERROR("empty SPEC (example: 5xx=0.1,drop=0.05)");
  while (*p) {
    char item[128], *eq;
    size_t n = strcspn(p, ",");
    size_t k;
    if (n == 0) return EMU_FAULTS_ERROR("empty item in '%s'", spec);
    if (n >= sizeof item) return EMU_FAULTS_ERROR("item too long in '%s'", spec);
    memcpy(item, p, n);
    item[n] = '\0';
    p += n;
    if (*p == ',') {
      p++;
      if (*p == '\0') return EMU_FAULTS_ERROR("empty item at the end of '%s'", spec);
    }
    eq = strchr(item, '=');
    if (eq == NULL) return EMU_FAULTS_ERROR("'%s' is not KEY=VALUE (example: drop=0.05)", item);
    *eq = '\0';
    for (k = 0; k < TRK_EMU_NFAULTS; k++)
      if (strcmp(item, trk_emu_fault_keys[k].key) == 0) break;
    if (k == TRK_EMU_NFAULTS)
      return EMU_FAULTS_ERROR("unknown key '%s' (known: 5xx, drop, truncate, malformed, "
                              "page-cap, burst, burst-length, skew, seed)", item);
    if (c->has_fault[k]) return EMU_FAULTS_ERROR("'%s' given twice", item);
    switch (trk_emu_fault_keys[k].kind) {
      case TRK_EMU_FRACTION:
        if (!emu_parse_fraction(eq + 1, &c->fault[k]))
          return EMU_FAULTS_ERROR("%s=%s: not a fraction from 0 to 1 (examples: 0.05, 5%%)",
                                  item, eq + 1);
        break;
      case TRK_EMU_COUNT: {
        long long v;
        if (!trk_cli_int(eq + 1, 1, 1000000, &v))
          return EMU_FAULTS_ERROR("%s=%s: not a whole number from 1", item, eq + 1);
        c->fault[k] = (double)v;
        break;
      }
      case TRK_EMU_INTEGER: {
        long long v;
        if (!trk_cli_int(eq + 1, -(1LL << 40), 1LL << 40, &v))
          return EMU_FAULTS_ERROR("%s=%s: not an integer", item, eq + 1);
        c->fault[k] = (double)v;
        break;
      }
      case TRK_EMU_SECONDS: {      /* whole seconds: the model's clock moves by seconds */
        double v;
        if (!trk_cli_seconds(eq + 1, &v) || v != floor(v) || fabs(v) > EMU_MAX_SKEW)
          return EMU_FAULTS_ERROR("%s=%s: not a duration in seconds (examples: 3600, -90s, "
                                  "1h)", item, eq + 1);
        c->fault[k] = v;
        break;
      }
    }
    c->has_fault[k] = 1;
  }
  return 1;
}

/* --host: an IPv4 or IPv6 address ("localhost" is 127.0.0.1), with the port. */
static int emu_parse_host (trk_emu_config *c) {
  struct sockaddr_in *v4 = (struct sockaddr_in *)&c->addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&c->addr;
  const char *h = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
  memset(&c->addr, 0, sizeof c->addr);
  if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)c->port);
    c->addrlen = sizeof *v4;
    return 1;
  }
  if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)c->port);
    c->addrlen = sizeof *v6;
    return 1;
  }
  return 0;
}

/* ---- the options ----------------------------------------------------------------------------- */

/* Read in C only (no driver key); latency, the rate and the faults straight into the config.
   Credentials are checked for emptiness only: their values are never printed. */
static const trk_opt emu_opts[] = {
  {.name = "--port", .type = TRK_OPT_COUNT, .min = 0, .max = 65535,
   .bad = "is not a port number from 0 to 65535"},
  {.name = "--host", .type = TRK_OPT_WORD, .flags = TRK_OPT_EMPTY_OK},
  {.name = "--data", .type = TRK_OPT_WORD, .bad = "needs a file or directory name"},
  {.name = "--schema", .type = TRK_OPT_WORD, .bad = "needs a schema file (trk schema export FILE)"},
  {.name = "--replay", .type = TRK_OPT_WORD, .bad = "needs a directory (one --record DIR made)"},
  {.name = "--generate", .type = TRK_OPT_COUNT, .min = 0, .max = EMU_MAX_CANDIDATES,
   .bad = "is not a number of candidates from 0 to " EMU_STR(EMU_MAX_CANDIDATES)},
  {.name = "--synthetic", .type = TRK_OPT_COUNT, .min = 0, .max = EMU_MAX_SYNTHETIC,
   .bad = "is not a number of candidates from 0 to " EMU_STR(EMU_MAX_SYNTHETIC)},
  {.name = "--seed", .type = TRK_OPT_COUNT, .min = INT64_MIN, .max = INT64_MAX,
   .bad = "is not an integer"},
  {.name = "--timezone", .type = TRK_OPT_WORD,
   .bad = "needs a zone name (example: America/Chicago)"},
  {.name = "--dialect", .type = TRK_OPT_WORD, .bad = "needs a dialect name (evidence or rich)"},
  {.name = "--latency", .type = TRK_OPT_CUSTOM, .parse = emu_opt_latency,
   .bad = "is not milliseconds or a range of them (examples: 50, 20-80; at most "
          EMU_STR(TRK_EMU_MAX_DELAY_MS) ")"},
  {.name = "--rate-limit", .type = TRK_OPT_CUSTOM, .parse = emu_opt_rate,
   .bad = "is not a number of requests a minute from 1 (example: 100/min)"},
  {.name = "--faults", .type = TRK_OPT_CUSTOM, .parse = emu_opt_faults},
  {.name = "--apikey", .type = TRK_OPT_WORD, .bad = "is empty"},
  {.name = "--username", .type = TRK_OPT_WORD, .bad = "is empty"},
  {.name = "--api-token", .type = TRK_OPT_WORD, .bad = "is empty"},
  {.name = "--admin", .type = TRK_OPT_FLAG},
  {.name = "--static", .type = TRK_OPT_FLAG},
  {.name = "--verbose", .type = TRK_OPT_FLAG},   /* both may be given: --quiet is about the */
  {.name = "--quiet", .type = TRK_OPT_FLAG},     /* start, --verbose the requests */
  {0}
};

/* A word's value, or dflt. */
static const char *emu_word (const trk_cli *cli, const char *name, const char *dflt) {
  const trk_optval *v = trk_cli_get(cli, name);
  return v ? v->s : dflt;
}

static lua_Integer emu_count (const trk_cli *cli, const char *name, lua_Integer dflt) {
  const trk_optval *v = trk_cli_get(cli, name);
  return v ? (lua_Integer)v->v.n : dflt;
}

/* The settings, and the checks that take more than one option. */
static int emu_settings (trk_emu_config *c, const trk_cli *cli) {
  static const struct { const char *name; int bit; } credentials[] = {
    {"--apikey", TRK_EMU_GIVEN_APIKEY}, {"--username", TRK_EMU_GIVEN_USERNAME},
    {"--api-token", TRK_EMU_GIVEN_API_TOKEN}
  };
  if (cli->nwords && strcmp(cli->words[0], "-") != 0)
    return trk_usage_error("emulator", "unexpected argument '%s'", cli->words[0]);
  if (cli->nwords || cli->dashes)  /* the emulator takes no arguments: "-" and "--" are neither */
    return trk_usage_error("emulator", "unknown option '%s'", cli->nwords ? "-" : "--");
  c->host = emu_word(cli, "--host", EMU_DEFAULT_HOST);
  c->port = (int)emu_count(cli, "--port", EMU_DEFAULT_PORT);
  c->data = emu_word(cli, "--data", NULL);
  c->replay = emu_word(cli, "--replay", NULL);
  c->schema = emu_word(cli, "--schema", NULL);
  {
    struct stat st;
    if (c->data && stat(c->data, &st) == 0 && S_ISDIR(st.st_mode)) {
      c->data_dir = c->data;     /* a directory: the data kept there, not a fixture */
      c->data = NULL;
    }
  }
  c->candidates = emu_count(cli, "--generate", -1);
  c->synthetic = emu_count(cli, "--synthetic", -1);
  c->seed = emu_count(cli, "--seed", TRK_EMU_DEMO_SEED);
  c->timezone = emu_word(cli, "--timezone", NULL);
  c->dialect = emu_word(cli, "--dialect", NULL);   /* the model checks the name */
  c->apikey = emu_word(cli, "--apikey", TRK_EMU_DEMO_APIKEY);
  c->username = emu_word(cli, "--username", TRK_EMU_DEMO_USERNAME);
  c->api_token = emu_word(cli, "--api-token", TRK_EMU_DEMO_API_TOKEN);
  for (size_t i = 0; i < sizeof credentials / sizeof credentials[0]; i++)
    if (trk_cli_get(cli, credentials[i].name)) c->given |= credentials[i].bit;
  c->admin = trk_cli_get(cli, "--admin") != NULL;
  c->is_static = trk_cli_get(cli, "--static") != NULL;
  c->verbose = trk_cli_get(cli, "--verbose") != NULL;
  c->quiet = trk_cli_get(cli, "--quiet") != NULL;
  if (c->replay) {                 /* a recording answers as it was recorded, and only so */
    static const char *const shaping[] = {"--data", "--generate", "--synthetic", "--static",
                                          "--seed", "--timezone", "--dialect", "--faults",
                                          "--rate-limit", "--admin", "--schema", NULL};
    for (int i = 0; shaping[i]; i++)
      if (trk_cli_get(cli, shaping[i]))
        return trk_usage_error("emulator", "--replay serves a recording as it was: %s cannot "
                               "be used with it", shaping[i]);
  }
  if (c->data && c->candidates >= 0)
    return trk_usage_error("emulator", "--data FILE and --generate cannot be used together");
  if (c->data && c->schema)
    return trk_usage_error("emulator", "--schema makes generated data; a --data FILE fixture "
                           "brings its own custom fields and stages");
  if (c->data_dir && c->synthetic >= 0)
    return trk_usage_error("emulator", "--synthetic serves computed candidates and keeps "
                           "nothing: it cannot be used with --data DIR");
  if (c->synthetic >= 0 && (c->data || c->candidates >= 0))
    return trk_usage_error("emulator", "--synthetic cannot be used with %s",
                           c->data ? "--data FILE" : "--generate");
  if (c->is_static && c->synthetic < 0)
    return trk_usage_error("emulator", "--static goes with --synthetic (a read-only database)");
  if (c->is_static && c->rate > 0)
    return trk_usage_error("emulator", "--static cannot be used with --rate-limit");
  for (size_t k = 0; c->is_static && k < TRK_EMU_NFAULTS; k++)
    if (c->has_fault[k])
      return trk_usage_error("emulator", "--static cannot be used with --faults");
  if (c->data && trk_cli_get(cli, "--seed"))
    return trk_usage_error("emulator", "--seed goes with --generate or --synthetic, not with "
                           "--data FILE");
  if (!emu_parse_host(c))
    return trk_usage_error("emulator", "--host: '%s' is not an IP address (examples: "
                           "127.0.0.1, ::1)", c->host);
  return -1;
}

int trk_emu_options (trk_emu_config *c, int argc, char **argv) {
  trk_cli cli;
  int code;
  memset(c, 0, sizeof *c);
  c->latency_min = c->latency_max = -1;
  code = trk_cli_parse(&cli, "emulator", emu_opts, 0, argc, argv, c);
  if (code == TRK_CLI_HELP) {
    fputs(trk_emulator_usage, stdout);
    code = TRK_EXIT_OK;
  }
  else if (code < 0) code = emu_settings(c, &cli);
  trk_cli_free(&cli);
  return code;
}
