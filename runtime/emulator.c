/* trk emulator: serves the Tracker emulator (tracker.emulator) over HTTP with libmicrohttpd. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lauxlib.h>
#include <microhttpd.h>

#include "cli.h"
#include "emulator.h"
#include "sandbox.h"

/* ---- defaults ---------------------------------------------------------------------------- */

#define EMU_DEFAULT_HOST      "127.0.0.1"
#define EMU_DEFAULT_PORT      8077
#define EMU_DEMO_SEED         1            /* the built-in demo database */
#define EMU_DEMO_CANDIDATES   200
#define EMU_DEMO_APIKEY       "demo-key"   /* public demo credentials */
#define EMU_DEMO_USERNAME     "demo@example.com"
#define EMU_DEMO_API_TOKEN    "demo-token"
#define EMU_MAX_BODY          ((size_t)32 << 20)   /* larger request bodies answer 413 */
#define EMU_MAX_CONNECTIONS   1000         /* one thread each */
#define EMU_IDLE_TIMEOUT      60           /* seconds before an idle connection is closed */
#define EMU_CONN_MEMORY       ((size_t)64 << 10)   /* request line and headers must fit */
#define EMU_MAX_DELAY_MS      600000       /* the longest latency --latency or the model may ask */
#define EMU_SLEEP_SLICE_MS    50           /* how often a latency wait looks for a shutdown */
#define EMU_MAX_CANDIDATES    100000000    /* --generate */
#define EMU_MAX_SYNTHETIC     1000000000   /* --synthetic (tracker.emulator_synthetic's cap) */
#define EMU_MAX_RATE          1000000      /* --rate-limit N */
#define EMU_LOG_PATH_MAX      160          /* characters of a path in --verbose lines */
#define EMU_STATIC_MAX_BYTES  ((size_t)1 << 30)    /* --static: answers kept, in all */
#define EMU_STATIC_MAX_KEY    8192         /* --static: longer requests are never kept */
#define EMU_STATIC_DEPTH      16           /* --static: deeper request JSON is never kept */
#define EMU_STATIC_BUCKETS    4096         /* --static: hash table size (a power of 2) */
#define EMU_STATIC_PREFIX     "/api/widget/get"    /* --static: the reads that are kept */

#define EMU_MODEL             "tracker.emulator"
#define EMU_FRONT_HEADER      "x-emulator-"          /* the model's instructions to the front */
#define EMU_DELAY_HEADER      "x-emulator-delay-ms"     /* wait this long before answering */
#define EMU_FAULT_HEADER      "x-emulator-fault"        /* drop, truncate or malformed */
#define EMU_LENGTH_HEADER     "x-emulator-full-length"  /* a truncated body's whole length */

/* What a client of the emulator sets (the names tracker.connect reads). */
#define EMU_ENV_WIDGET_URL    "TRACKER_WIDGET_URL"
#define EMU_ENV_REST_URL      "TRACKER_REST_URL"
#define EMU_ENV_APIKEY        "TRACKER_APIKEY"
#define EMU_ENV_USERNAME      "TRACKER_USERNAME"
#define EMU_ENV_API_TOKEN     "TRACKER_API_TOKEN"
#define EMU_ENV_TIMEZONE      "TRACKER_TIMEZONE"

/* ---- the command line ---------------------------------------------------------------------- */

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
  "  --generate N        generate a database of N candidates (with jobs, applications,\n"
  "                      notes and documents to match)\n"
  "  --synthetic N       serve N candidates computed on demand, never stored: read-only,\n"
  "                      for load tests; memory stays flat whatever N (0 to 1000000000)\n"
  "  --static            with --synthetic: keep each read's answer in C the first time it is\n"
  "                      made and serve it again without the model, so that the server is not\n"
  "                      what a load test measures (not with --faults or --rate-limit)\n"
  "  --seed S            the seed of --generate or --synthetic (default 1)\n"
  "  --timezone TZ       the database's IANA time zone (example: America/Chicago)\n"
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
  "  page-cap=N          REST searches return at most N items a page (Tracker's reported cap: 10)\n"
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

typedef enum emu_kind { EMU_FRACTION, EMU_COUNT, EMU_SECONDS, EMU_INTEGER } emu_kind;

/* The keys of --faults and the fields of the model's faults table they set. */
static const struct emu_fault_key {
  const char *key;
  const char *field;
  emu_kind kind;
} emu_fault_keys[] = {
  {"5xx", "errors", EMU_FRACTION},
  {"drop", "drop", EMU_FRACTION},
  {"truncate", "truncate", EMU_FRACTION},
  {"malformed", "malformed", EMU_FRACTION},
  {"page-cap", "page_cap", EMU_COUNT},
  {"burst", "burst", EMU_FRACTION},
  {"burst-length", "burst_length", EMU_COUNT},
  {"skew", "clock_skew", EMU_SECONDS},
  {"seed", "seed", EMU_INTEGER},
};
#define EMU_NFAULTS (sizeof emu_fault_keys / sizeof emu_fault_keys[0])

enum { EMU_GIVEN_APIKEY = 1, EMU_GIVEN_USERNAME = 2, EMU_GIVEN_API_TOKEN = 4 };

typedef struct emu_config {
  const char *host;
  struct sockaddr_storage addr;    /* host and port, parsed */
  socklen_t addrlen;
  int port;
  const char *data;                /* --data FILE */
  lua_Integer candidates;          /* --generate N; -1 for the demo */
  lua_Integer synthetic;           /* --synthetic N; -1 when not asked */
  lua_Integer seed;
  const char *timezone;
  int latency_min, latency_max;    /* milliseconds; -1 when off */
  lua_Integer rate;                /* --rate-limit: requests a minute; 0 when off */
  int has_fault[EMU_NFAULTS];
  double fault[EMU_NFAULTS];
  const char *apikey, *username, *api_token;
  int given;                       /* EMU_GIVEN_*: credentials from the command line, which
                                      are never printed */
  int admin, verbose, quiet;
  int is_static;                   /* --static */
} emu_config;

static int emu_usage_error (const char *fmt, ...) {
  va_list ap;
  fputs("trk emulator: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nRun 'trk help emulator' for usage.\n", stderr);
  return TRK_EXIT_USAGE;
}

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

/* "3600", "-90s", "5m", "1h": whole seconds, signed. */
static int emu_parse_seconds (const char *s, double *out) {
  char *end;
  long long v, unit = 1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (end == s || errno) return 0;
  if (strcmp(end, "h") == 0) unit = 3600;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) unit = 60;
  else if (strcmp(end, "s") != 0 && *end != '\0') return 0;
  if (v > 10LL * 366 * 86400 / unit || v < -10LL * 366 * 86400 / unit) return 0;  /* 10 years */
  *out = (double)(v * unit);
  return 1;
}

/* Milliseconds with an optional "ms"; advances *s past them. */
static int emu_parse_ms (const char **s, int *out) {
  char *end;
  long v;
  if (!isdigit((unsigned char)**s)) return 0;
  errno = 0;
  v = strtol(*s, &end, 10);
  if (errno || v < 0 || v > EMU_MAX_DELAY_MS) return 0;
  if (end[0] == 'm' && end[1] == 's') end += 2;
  *s = end;
  *out = (int)v;
  return 1;
}

/* "50" or "20-80" (milliseconds, "ms" allowed after each). */
static int emu_parse_latency (const char *s, int *lo, int *hi) {
  if (!emu_parse_ms(&s, lo)) return 0;
  *hi = *lo;
  if (*s == '-') {
    s++;
    if (!emu_parse_ms(&s, hi)) return 0;
  }
  return *s == '\0' && *lo <= *hi;
}

/* "100/min" or "100": requests a minute (the model's window is a sliding minute). */
static int emu_parse_rate (const char *s, lua_Integer *n) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (end == s || errno || v < 1 || v > EMU_MAX_RATE) return 0;
  if (*end != '\0' && strcmp(end, "/min") != 0 && strcmp(end, "/m") != 0) return 0;
  *n = (lua_Integer)v;
  return 1;
}

/* --faults: KEY=VALUE[,KEY=VALUE]...; reports the bad part itself. */
static int emu_parse_faults (emu_config *c, const char *spec) {
  const char *p = spec;
  if (*p == '\0') return emu_usage_error("--faults: empty SPEC (example: 5xx=0.1,drop=0.05)");
  while (*p) {
    char item[128], *eq;
    size_t n = strcspn(p, ",");
    size_t k;
    if (n == 0) return emu_usage_error("--faults: empty item in '%s'", spec);
    if (n >= sizeof item) return emu_usage_error("--faults: item too long in '%s'", spec);
    memcpy(item, p, n);
    item[n] = '\0';
    p += n;
    if (*p == ',') {
      p++;
      if (*p == '\0') return emu_usage_error("--faults: empty item at the end of '%s'", spec);
    }
    eq = strchr(item, '=');
    if (eq == NULL)
      return emu_usage_error("--faults: '%s' is not KEY=VALUE (example: drop=0.05)", item);
    *eq = '\0';
    for (k = 0; k < EMU_NFAULTS; k++)
      if (strcmp(item, emu_fault_keys[k].key) == 0) break;
    if (k == EMU_NFAULTS)
      return emu_usage_error("--faults: unknown key '%s' (known: 5xx, drop, truncate, "
                             "malformed, page-cap, burst, burst-length, skew, seed)", item);
    if (c->has_fault[k]) return emu_usage_error("--faults: '%s' given twice", item);
    switch (emu_fault_keys[k].kind) {
      case EMU_FRACTION:
        if (!emu_parse_fraction(eq + 1, &c->fault[k]))
          return emu_usage_error("--faults: %s=%s: not a fraction from 0 to 1 (examples: 0.05, "
                                 "5%%)", item, eq + 1);
        break;
      case EMU_COUNT: {
        long long v;
        if (!trk_cli_int(eq + 1, 1, 1000000, &v))
          return emu_usage_error("--faults: %s=%s: not a whole number from 1", item, eq + 1);
        c->fault[k] = (double)v;
        break;
      }
      case EMU_INTEGER: {
        long long v;
        if (!trk_cli_int(eq + 1, -(1LL << 40), 1LL << 40, &v))
          return emu_usage_error("--faults: %s=%s: not an integer", item, eq + 1);
        c->fault[k] = (double)v;
        break;
      }
      case EMU_SECONDS:
        if (!emu_parse_seconds(eq + 1, &c->fault[k]))
          return emu_usage_error("--faults: %s=%s: not a duration in seconds (examples: 3600, "
                                 "-90s, 1h)", item, eq + 1);
        break;
    }
    c->has_fault[k] = 1;
  }
  return -1;
}

/* --host: an IPv4 or IPv6 address ("localhost" is 127.0.0.1). */
static int emu_parse_host (emu_config *c) {
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

/* Fills c from the command line. Returns -1 to go on, else an exit code. */
static int emu_parse_args (emu_config *c, int argc, char **argv) {
  int have_seed = 0;
  memset(c, 0, sizeof *c);
  c->host = EMU_DEFAULT_HOST;
  c->port = EMU_DEFAULT_PORT;
  c->candidates = -1;
  c->synthetic = -1;
  c->seed = EMU_DEMO_SEED;
  c->latency_min = c->latency_max = -1;
  c->apikey = EMU_DEMO_APIKEY;
  c->username = EMU_DEMO_USERNAME;
  c->api_token = EMU_DEMO_API_TOKEN;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    long long n;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(trk_emulator_usage, stdout);
      return TRK_EXIT_OK;
    }
#define OPTION(name) ((v = trk_cli_opt(argc, argv, &i, name, &missing)) != NULL || missing)
#define NEEDS(name) if (missing) return emu_usage_error("%s needs a value", name)
    if (OPTION("--port")) {
      NEEDS("--port");
      if (!trk_cli_int(v, 0, 65535, &n))
        return emu_usage_error("--port: '%s' is not a port number from 0 to 65535", v);
      c->port = (int)n;
    }
    else if (OPTION("--host")) {
      NEEDS("--host");
      c->host = v;
    }
    else if (OPTION("--data")) {
      NEEDS("--data");
      if (*v == '\0') return emu_usage_error("--data needs a file name");
      c->data = v;
    }
    else if (OPTION("--generate")) {
      NEEDS("--generate");
      if (!trk_cli_int(v, 0, EMU_MAX_CANDIDATES, &n))
        return emu_usage_error("--generate: '%s' is not a number of candidates from 0 to %d",
                               v, EMU_MAX_CANDIDATES);
      c->candidates = (lua_Integer)n;
    }
    else if (OPTION("--synthetic")) {
      NEEDS("--synthetic");
      if (!trk_cli_int(v, 0, EMU_MAX_SYNTHETIC, &n))
        return emu_usage_error("--synthetic: '%s' is not a number of candidates from 0 to %d",
                               v, EMU_MAX_SYNTHETIC);
      c->synthetic = (lua_Integer)n;
    }
    else if (OPTION("--seed")) {
      NEEDS("--seed");
      if (!trk_cli_int(v, INT64_MIN, INT64_MAX, &n))
        return emu_usage_error("--seed: '%s' is not an integer", v);
      c->seed = (lua_Integer)n;
      have_seed = 1;
    }
    else if (OPTION("--timezone")) {
      NEEDS("--timezone");
      if (*v == '\0') return emu_usage_error("--timezone needs a zone name (example: "
                                             "America/Chicago)");
      c->timezone = v;
    }
    else if (OPTION("--latency")) {
      NEEDS("--latency");
      if (!emu_parse_latency(v, &c->latency_min, &c->latency_max))
        return emu_usage_error("--latency: '%s' is not milliseconds or a range of them "
                               "(examples: 50, 20-80; at most %d)", v, EMU_MAX_DELAY_MS);
    }
    else if (OPTION("--rate-limit")) {
      NEEDS("--rate-limit");
      if (!emu_parse_rate(v, &c->rate))
        return emu_usage_error("--rate-limit: '%s' is not a number of requests a minute from 1 "
                               "(example: 100/min)", v);
    }
    else if (OPTION("--faults")) {
      int code;
      NEEDS("--faults");
      if ((code = emu_parse_faults(c, v)) >= 0) return code;
    }
    /* credentials: their values are never printed, not even in an error */
    else if (OPTION("--apikey")) {
      NEEDS("--apikey");
      if (*v == '\0') return emu_usage_error("--apikey is empty");
      c->apikey = v;
      c->given |= EMU_GIVEN_APIKEY;
    }
    else if (OPTION("--username")) {
      NEEDS("--username");
      if (*v == '\0') return emu_usage_error("--username is empty");
      c->username = v;
      c->given |= EMU_GIVEN_USERNAME;
    }
    else if (OPTION("--api-token")) {
      NEEDS("--api-token");
      if (*v == '\0') return emu_usage_error("--api-token is empty");
      c->api_token = v;
      c->given |= EMU_GIVEN_API_TOKEN;
    }
    else if (strcmp(a, "--admin") == 0) c->admin = 1;
    else if (strcmp(a, "--static") == 0) c->is_static = 1;
    else if (strcmp(a, "--verbose") == 0) c->verbose = 1;
    else if (strcmp(a, "--quiet") == 0) c->quiet = 1;
    else if (a[0] == '-') {   /* name only: a mistyped --apikey=SECRET stays secret */
      return emu_usage_error("unknown option '%.*s'", (int)strcspn(a, "="), a);
    }
    else return emu_usage_error("unexpected argument '%s'", a);
#undef OPTION
#undef NEEDS
  }
  if (c->data && c->candidates >= 0)
    return emu_usage_error("--data and --generate cannot be used together");
  if (c->synthetic >= 0 && (c->data || c->candidates >= 0))
    return emu_usage_error("--synthetic cannot be used with %s",
                           c->data ? "--data" : "--generate");
  if (c->is_static && c->synthetic < 0)
    return emu_usage_error("--static goes with --synthetic (a read-only database)");
  if (c->is_static && c->rate > 0)
    return emu_usage_error("--static cannot be used with --rate-limit");
  for (size_t k = 0; c->is_static && k < EMU_NFAULTS; k++)
    if (c->has_fault[k])
      return emu_usage_error("--static cannot be used with --faults");
  if (c->data && have_seed)
    return emu_usage_error("--seed goes with --generate or --synthetic, not with --data");
  if (!emu_parse_host(c))
    return emu_usage_error("--host: '%s' is not an IP address (examples: 127.0.0.1, ::1)",
                           c->host);
  return -1;
}

/* ---- libmicrohttpd, loaded on first use ------------------------------------------------ */

/* libmicrohttpd is opened when an emulator starts, not linked: loading it and the TLS
   libraries it brings (GnuTLS, p11-kit) costs every trk start about 2 ms, though only
   `trk emulator` serves HTTP. Its functions are called through emu_mhd, whose pointers have
   the library's own prototypes; set once (pthread_once), never unloaded. */
#define EMU_LIBMHD  "libmicrohttpd.so.12"
#define EMU_MHD_FUNCS(X) \
  X(create_response_from_buffer) X(create_response_from_callback) X(add_response_header) \
  X(queue_response) X(destroy_response) X(get_connection_values) \
  X(lookup_connection_value) X(start_daemon) X(stop_daemon) X(get_version)

static struct {
#define EMU_MHD_FIELD(name)  __typeof__(MHD_##name) *name;
  EMU_MHD_FUNCS(EMU_MHD_FIELD)
#undef EMU_MHD_FIELD
} emu_mhd;

static pthread_once_t emu_mhd_once = PTHREAD_ONCE_INIT;
static char emu_mhd_error[256] = "not loaded";   /* "" once emu_mhd is ready */

static void emu_mhd_load (void) {
  void *lib = dlopen(EMU_LIBMHD, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    snprintf(emu_mhd_error, sizeof emu_mhd_error, "cannot load %s (%s)", EMU_LIBMHD, dlerror());
    return;
  }
#define EMU_MHD_LOAD(name) \
  if ((emu_mhd.name = (__typeof__(emu_mhd.name))dlsym(lib, "MHD_" #name)) == NULL) { \
    snprintf(emu_mhd_error, sizeof emu_mhd_error, "%s has no MHD_%s: too old", EMU_LIBMHD, #name); \
    return; \
  }
  EMU_MHD_FUNCS(EMU_MHD_LOAD)
#undef EMU_MHD_LOAD
  emu_mhd_error[0] = '\0';
}

/* Loads libmicrohttpd once; NULL when ready, else why not. */
static const char *emu_mhd_ready (void) {
  pthread_once(&emu_mhd_once, emu_mhd_load);
  return emu_mhd_error[0] ? emu_mhd_error : NULL;
}

const char *trk_emulator_http_version (void) {
  return emu_mhd_ready() == NULL ? emu_mhd.get_version() : NULL;
}


/* ---- the server's state ---------------------------------------------------------------- */

/* --static: one kept answer. Never changed or freed while the server runs. */
typedef struct emu_kept {
  struct emu_kept *next;
  uint64_t hash;
  char *key;                       /* method, target and canonical body */
  size_t keylen;
  char *body;
  size_t len;
  char *headers;                   /* "name\0value\0" pairs, nheaders of them */
  size_t nheaders;
} emu_kept;

typedef struct emu_static {
  int on;
  pthread_mutex_t lock;            /* the table and bytes */
  emu_kept *table[EMU_STATIC_BUCKETS];
  size_t bytes, kept;
  atomic_ullong hits, misses;
  int latency_min, latency_max;    /* --latency, applied by the front on a kept answer */
  atomic_uint dice;                /* for a latency range */
} emu_static;

typedef struct emu_server {
  trk_sandbox *sandbox;
  lua_State *L;
  int emu;                         /* registry reference to the emulator object */
  pthread_mutex_t lock;            /* one thread at a time in L */
  int verbose;
  atomic_ullong requests;          /* for trace ids */
  atomic_int stopping;             /* set on SIGINT or SIGTERM: latency waits end early */
  emu_static st;                   /* --static */
} emu_server;

/* One request, from its request line to its completion. */
typedef struct emu_request {
  char *uri;                       /* the target as sent, query string included */
  char *body;
  size_t len, cap;
  int started;                     /* the access handler has seen the headers */
  int refused;                     /* 400, 413 or 500 before the model saw it */
  double t0;                       /* when the request line arrived */
} emu_request;

typedef struct emu_field {
  const char *name, *value;
} emu_field;

typedef struct emu_fields {
  emu_field *v;
  size_t n, cap;
  int oom;
} emu_fields;

typedef enum emu_fault {
  EMU_FAULT_NONE = 0, EMU_FAULT_DROP, EMU_FAULT_TRUNCATE, EMU_FAULT_MALFORMED
} emu_fault;

static const char *const emu_fault_names[] = {"none", "drop", "truncate", "malformed", NULL};

static double emu_now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits ms milliseconds, or less once the server is stopping. */
static void emu_sleep_ms (const emu_server *srv, int ms) {
  while (ms > 0 && !atomic_load(&srv->stopping)) {
    int slice = ms < EMU_SLEEP_SLICE_MS ? ms : EMU_SLEEP_SLICE_MS;
    struct timespec ts = {0, (long)slice * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    ms -= slice;
  }
}

/* ---- the log ----------------------------------------------------------------------------- */

/* One line per request: method, path (no query string: it may hold credentials), status,
   bytes of body sent, and time. Nothing a client sent besides the method and path. */
static void emu_log (const emu_server *srv, const char *method, const emu_request *r,
                     int status, size_t bytes, const char *note) {
  char path[EMU_LOG_PATH_MAX + 4], meth[20], line[EMU_LOG_PATH_MAX + 128];
  size_t i;
  const char *u = r && r->uri ? r->uri : "";
  if (!srv->verbose) return;
  for (i = 0; u[i] && u[i] != '?' && u[i] != '#' && i < EMU_LOG_PATH_MAX; i++)
    path[i] = isprint((unsigned char)u[i]) && u[i] != ' ' ? u[i] : '?';
  if (u[i] && u[i] != '?' && u[i] != '#') path[i++] = '.', path[i++] = '.', path[i++] = '.';
  path[i] = '\0';
  for (i = 0; method[i] && i < sizeof meth - 1; i++)
    meth[i] = isprint((unsigned char)method[i]) && method[i] != ' ' ? method[i] : '?';
  meth[i] = '\0';
  snprintf(line, sizeof line, "%s %s %d %zu %.1fms%s%s\n", meth, path, status, bytes,
           r ? (emu_now() - r->t0) * 1000.0 : 0.0, note ? " " : "", note ? note : "");
  fputs(line, stderr);
}

/* ---- answers the front makes itself ------------------------------------------------------- */

/* An RFC 7807 problem, as Tracker's REST API answers errors; detail (a constant without
   quotes or backslashes) may be NULL. */
static enum MHD_Result emu_problem (emu_server *srv, struct MHD_Connection *conn,
                                    const char *method, emu_request *r, unsigned status,
                                    const char *title, const char *detail) {
  char body[512];
  struct MHD_Response *resp;
  enum MHD_Result ret;
  int n = snprintf(body, sizeof body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%u,"
                   "%s%s%s\"traceId\":\"emulator-%llu\"}", title, status,
                   detail ? "\"detail\":\"" : "", detail ? detail : "", detail ? "\"," : "",
                   (unsigned long long)atomic_fetch_add(&srv->requests, 1));
  resp = emu_mhd.create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  emu_mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
  ret = emu_mhd.queue_response(conn, status, resp);
  emu_mhd.destroy_response(resp);
  emu_log(srv, method, r, (int)status, (size_t)n, NULL);
  return ret;
}

/* A truncated body: the response declares the whole length, the reader delivers what the
   model left and then fails, so the connection closes mid-body. */
typedef struct emu_partial {
  size_t len;
  char data[];
} emu_partial;

static ssize_t emu_partial_read (void *cls, uint64_t pos, char *buf, size_t max) {
  emu_partial *p = cls;
  size_t n;
  if (pos >= p->len) return MHD_CONTENT_READER_END_WITH_ERROR;
  n = p->len - (size_t)pos;
  if (n > max) n = max;
  memcpy(buf, p->data + pos, n);
  return (ssize_t)n;
}

/* ---- calling the model -------------------------------------------------------------------- */

typedef struct emu_call {
  emu_server *srv;
  const char *method;
  const emu_request *r;
  const emu_fields *headers;
} emu_call;

/* Pushes the request headers as a table: lower-case names, repeated headers joined by ", ". */
static void emu_push_headers (lua_State *L, const emu_fields *h) {
  lua_createtable(L, 0, (int)h->n);
  for (size_t i = 0; i < h->n; i++) {
    luaL_Buffer b;
    const char *p;
    luaL_buffinit(L, &b);
    for (p = h->v[i].name; *p; p++) luaL_addchar(&b, (char)tolower((unsigned char)*p));
    luaL_pushresult(&b);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TSTRING) {
      lua_pushliteral(L, ", ");
      lua_pushstring(L, h->v[i].value);
      lua_concat(L, 3);
    }
    else {
      lua_pop(L, 1);
      lua_pushstring(L, h->v[i].value);
    }
    lua_rawset(L, -3);
  }
}

/* Headers the front never passes on: its own instructions, and what the HTTP library
   writes itself. */
static int emu_hop_header (const char *name) {
  static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                      "keep-alive", NULL};
  for (int i = 0; names[i]; i++)
    if (strcasecmp(name, names[i]) == 0) return 1;
  return 0;
}

/* In protected mode: calls emu:handle(method, target, headers, body) and checks what it
   answers. Returns status, a list {name, value, name, value, ...} of headers to send,
   the body, the delay in ms, the fault (an index into emu_fault_names) and the length a
   truncated body announces. */
static int emu_handle (lua_State *L) {
  emu_call *x = lua_touserdata(L, 1);
  int isnum, delay = 0, fault = EMU_FAULT_NONE, n = 0;
  lua_Integer status, full = -1;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, x->srv->emu);
  lua_getfield(L, 1, "handle");
  lua_pushvalue(L, 1);
  lua_pushstring(L, x->method);
  lua_pushstring(L, x->r->uri);
  emu_push_headers(L, x->headers);
  lua_pushlstring(L, x->r->body ? x->r->body : "", x->r->len);
  lua_call(L, 5, 3);                                       /* 2 status, 3 headers, 4 body */
  if (!lua_isnil(L, 4) && lua_type(L, 4) != LUA_TSTRING)
    return luaL_error(L, "emu:handle answered a body of type %s (want a string)",
                      luaL_typename(L, 4));
  lua_newtable(L);                                         /* 5: headers to send */
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      const char *name, *value;
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_error(L, "emu:handle answered a header name of type %s",
                          luaL_typename(L, -2));
      name = lua_tostring(L, -2);
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "emu:handle answered header '%s' of type %s", name,
                          luaL_typename(L, -1));
      value = luaL_tolstring(L, -1, NULL);                 /* a copy: the table is untouched */
      if (strcasecmp(name, EMU_DELAY_HEADER) == 0) {
        char *end;
        double ms = strtod(value, &end);
        if (end == value || *end || !(ms >= 0))
          return luaL_error(L, "emu:handle answered %s: '%s'", EMU_DELAY_HEADER, value);
        delay = ms > EMU_MAX_DELAY_MS ? EMU_MAX_DELAY_MS : (int)ms;
      }
      else if (strcasecmp(name, EMU_FAULT_HEADER) == 0) {
        for (fault = 1; emu_fault_names[fault]; fault++)
          if (strcmp(value, emu_fault_names[fault]) == 0) break;
        if (emu_fault_names[fault] == NULL)
          return luaL_error(L, "emu:handle answered %s: '%s' (want drop, truncate or "
                            "malformed)", EMU_FAULT_HEADER, value);
      }
      else if (strcasecmp(name, EMU_LENGTH_HEADER) == 0) {
        char *end;
        errno = 0;
        full = (lua_Integer)strtoll(value, &end, 10);
        if (end == value || *end || errno || full < 0)
          return luaL_error(L, "emu:handle answered %s: '%s'", EMU_LENGTH_HEADER, value);
      }
      else if (strncasecmp(name, EMU_FRONT_HEADER, sizeof EMU_FRONT_HEADER - 1) != 0
               && !emu_hop_header(name)) {
        lua_pushvalue(L, -3);
        lua_rawseti(L, 5, ++n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, 5, ++n);
      }
      lua_pop(L, 2);                                       /* the copy and the value */
    }
  }
  else if (!lua_isnil(L, 3))
    return luaL_error(L, "emu:handle answered headers of type %s (want a table)",
                      luaL_typename(L, 3));
  status = lua_tointegerx(L, 2, &isnum);
  if (fault != EMU_FAULT_DROP && (!isnum || status < 100 || status > 599))
    return luaL_error(L, "emu:handle answered status %s (want an integer from 100 to 599)",
                      luaL_tolstring(L, 2, NULL));
  lua_pushinteger(L, status);
  lua_pushvalue(L, 5);
  if (lua_isnil(L, 4)) lua_pushliteral(L, "");
  else lua_pushvalue(L, 4);
  lua_pushinteger(L, delay);
  lua_pushinteger(L, fault);
  lua_pushinteger(L, full);
  return 6;
}

/* Message handler: the error and a traceback, for the log. */
static int emu_msgh (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* "retry-after" -> "Retry-After", "www-authenticate" -> "WWW-Authenticate", as servers
   usually spell header names. */
static void emu_header_case (char *dst, size_t size, const char *src) {
  size_t i;
  int up = 1;
  for (i = 0; src[i] && i < size - 1; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (up && strncasecmp(src + i, "www-", 4) == 0) up = 3;     /* the whole word */
    dst[i] = (char)(up ? toupper(ch) : tolower(ch));
    up = ch == '-' ? 1 : up > 1 ? up - 1 : 0;
  }
  dst[i] = '\0';
}

/* Adds the model's headers, the list { name, value, name, value, ... } at index idx, to resp,
   each name in the usual case; a name too long for any real header is left out. */
static void emu_add_headers (struct MHD_Response *resp, lua_State *L, int idx) {
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, idx); resp && i < n; i += 2) {
    char name[256];
    size_t namelen;
    lua_rawgeti(L, idx, i);
    lua_rawgeti(L, idx, i + 1);
    lua_tolstring(L, -2, &namelen);
    if (namelen < sizeof name) {
      emu_header_case(name, sizeof name, lua_tostring(L, -2));
      emu_mhd.add_response_header(resp, name, lua_tostring(L, -1));  /* refuses CR and LF */
    }
    lua_pop(L, 2);
  }
}

static enum MHD_Result emu_collect_header (void *cls, enum MHD_ValueKind kind,
                                           const char *name, const char *value) {
  emu_fields *h = cls;
  (void)kind;
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    emu_field *v = realloc(h->v, cap * sizeof *v);
    if (v == NULL) {
      h->oom = 1;
      return MHD_NO;
    }
    h->v = v;
    h->cap = cap;
  }
  h->v[h->n].name = name;
  h->v[h->n].value = value ? value : "";
  h->n++;
  return MHD_YES;
}

/* ---- --static: answers kept in C ---------------------------------------------------------- */

/* A read's answer depends only on its method, target and body (the synthetic database never
   changes), so the first answer the model makes for a request is kept and sent again for the
   same request without entering Lua. Bodies are compared in a canonical form (object members
   sorted by name, no whitespace, "\/" as "/"), since clients encode the same request with
   members in any order. */

typedef struct emu_buf {
  char *p;
  size_t n, cap;
  int bad;                         /* out of memory or too long: the request is not kept */
} emu_buf;

static void emu_buf_add (emu_buf *b, const char *s, size_t n) {
  if (b->bad) return;
  if (n > EMU_STATIC_MAX_KEY - b->n) {
    b->bad = 1;
    return;
  }
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    char *p;
    while (cap < b->n + n) cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
      b->bad = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static const char *emu_ws (const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* The JSON string at p (its opening quote) into b, "\/" written "/". Returns the position
   after its closing quote, NULL when it is not a string. */
static const char *emu_canon_string (const char *p, const char *e, emu_buf *b) {
  const char *q;
  if (p >= e || *p != '"') return NULL;
  emu_buf_add(b, "\"", 1);
  for (q = ++p; q < e && *q != '"'; q++) {
    if ((unsigned char)*q < 0x20) return NULL;
    if (*q == '\\') {
      if (q + 1 >= e) return NULL;
      emu_buf_add(b, p, (size_t)(q - p));
      if (q[1] == '/') emu_buf_add(b, "/", 1);
      else emu_buf_add(b, q, 2);
      p = ++q + 1;
    }
  }
  if (q >= e) return NULL;
  emu_buf_add(b, p, (size_t)(q - p));
  emu_buf_add(b, "\"", 1);
  return q + 1;
}

typedef struct emu_member {
  emu_buf text;                    /* "name":value, canonical */
  size_t namelen;                  /* the "name" part */
} emu_member;

static int emu_member_cmp (const void *a, const void *b) {
  const emu_member *x = a, *y = b;
  size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
  int c = memcmp(x->text.p, y->text.p, n);
  if (c) return c;
  return x->namelen < y->namelen ? -1 : x->namelen > y->namelen;
}

/* The JSON value at p into b in canonical form. Returns the position after it, NULL when
   the text is not JSON this can read. */
static const char *emu_canon (const char *p, const char *e, emu_buf *b, int depth) {
  p = emu_ws(p, e);
  if (p >= e || depth > EMU_STATIC_DEPTH) return NULL;
  if (*p == '"') return emu_canon_string(p, e, b);
  if (*p == '[') {
    int first = 1;
    emu_buf_add(b, "[", 1);
    p = emu_ws(p + 1, e);
    if (p < e && *p == ']') return emu_buf_add(b, "]", 1), p + 1;
    for (;;) {
      if (!first) emu_buf_add(b, ",", 1);
      first = 0;
      if ((p = emu_canon(p, e, b, depth + 1)) == NULL) return NULL;
      p = emu_ws(p, e);
      if (p < e && *p == ']') return emu_buf_add(b, "]", 1), p + 1;
      if (p >= e || *p != ',') return NULL;
      p++;
    }
  }
  if (*p == '{') {
    emu_member m[64];              /* requests have a handful of members a level */
    size_t n = 0, i;
    const char *ok = NULL;
    p = emu_ws(p + 1, e);
    if (p < e && *p == '}') return emu_buf_add(b, "{}", 2), p + 1;
    for (;;) {
      if (n == sizeof m / sizeof m[0]) break;
      memset(&m[n], 0, sizeof m[n]);
      n++;
      if ((p = emu_canon_string(emu_ws(p, e), e, &m[n - 1].text)) == NULL) break;
      m[n - 1].namelen = m[n - 1].text.n;
      p = emu_ws(p, e);
      if (p >= e || *p != ':') break;
      emu_buf_add(&m[n - 1].text, ":", 1);
      if ((p = emu_canon(p + 1, e, &m[n - 1].text, depth + 1)) == NULL) break;
      if (m[n - 1].text.bad) break;
      p = emu_ws(p, e);
      if (p < e && *p == '}') {
        ok = p + 1;
        break;
      }
      if (p >= e || *p != ',') break;
      p++;
    }
    if (ok) {
      qsort(m, n, sizeof m[0], emu_member_cmp);
      emu_buf_add(b, "{", 1);
      for (i = 0; i < n; i++) {
        if (i) emu_buf_add(b, ",", 1);
        emu_buf_add(b, m[i].text.p, m[i].text.n);
      }
      emu_buf_add(b, "}", 1);
    }
    for (i = 0; i < n; i++) free(m[i].text.p);
    return ok;
  }
  {                                /* a number, true, false or null: as written */
    const char *q = p;
    while (q < e && (isalnum((unsigned char)*q) || *q == '-' || *q == '+' || *q == '.')) q++;
    if (q == p) return NULL;
    emu_buf_add(b, p, (size_t)(q - p));
    return q;
  }
}

/* The key of a request that may be kept: method, target, canonical body. 0 when it is not a
   read or its body cannot be put in canonical form. */
static int emu_static_key (const char *method, const emu_request *r, emu_buf *key) {
  const char *end;
  if (strcmp(method, "POST") != 0
      || strncmp(r->uri, EMU_STATIC_PREFIX, sizeof EMU_STATIC_PREFIX - 1) != 0)
    return 0;
  emu_buf_add(key, method, strlen(method));
  emu_buf_add(key, " ", 1);
  emu_buf_add(key, r->uri, strlen(r->uri));
  emu_buf_add(key, "\n", 1);
  end = emu_canon(r->body ? r->body : "", (r->body ? r->body : "") + r->len, key, 0);
  if (end == NULL || emu_ws(end, r->body + r->len) != r->body + r->len) return 0;
  return !key->bad;
}

static uint64_t emu_hash (const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;       /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

static const emu_kept *emu_static_find_locked (const emu_static *st, const emu_buf *key,
                                               uint64_t h) {
  const emu_kept *k;
  for (k = st->table[h & (EMU_STATIC_BUCKETS - 1)]; k; k = k->next)
    if (k->hash == h && k->keylen == key->n && memcmp(k->key, key->p, key->n) == 0) break;
  return k;
}

static const emu_kept *emu_static_find (emu_server *srv, const emu_buf *key, uint64_t h) {
  const emu_kept *k;
  pthread_mutex_lock(&srv->st.lock);
  k = emu_static_find_locked(&srv->st, key, h);
  pthread_mutex_unlock(&srv->st.lock);
  return k;
}

/* Keeps the model's answer (status 200, nothing faulted) to the request with this key. hdrs:
   the header list emu_handle made, at index 3 of L. Quietly keeps nothing when memory or the
   byte budget runs out. */
static void emu_static_keep (emu_server *srv, lua_State *L, const emu_buf *key, uint64_t h,
                             const char *body, size_t len) {
  size_t nh = 0, hlen = 0, n = (size_t)lua_rawlen(L, 3);
  emu_kept *k;
  char *hp;
  for (size_t i = 1; i <= n; i++) {
    size_t l;
    lua_rawgeti(L, 3, (lua_Integer)i);
    lua_tolstring(L, -1, &l);
    hlen += l + 1;
    lua_pop(L, 1);
  }
  nh = n / 2;
  k = calloc(1, sizeof *k);
  if (k == NULL) return;
  k->key = malloc(key->n);
  k->body = malloc(len ? len : 1);
  k->headers = malloc(hlen ? hlen : 1);
  if (k->key == NULL || k->body == NULL || k->headers == NULL) goto fail;
  memcpy(k->key, key->p, key->n);
  k->keylen = key->n;
  memcpy(k->body, body, len);
  k->len = len;
  hp = k->headers;
  for (size_t i = 1; i <= nh * 2; i++) {
    size_t l;
    const char *s;
    lua_rawgeti(L, 3, (lua_Integer)i);
    s = lua_tolstring(L, -1, &l);
    memcpy(hp, s, l + 1);
    hp += l + 1;
    lua_pop(L, 1);
  }
  k->nheaders = nh;
  k->hash = h;
  pthread_mutex_lock(&srv->st.lock);
  if (srv->st.bytes + len + key->n > EMU_STATIC_MAX_BYTES
      || emu_static_find_locked(&srv->st, key, h)) {
    pthread_mutex_unlock(&srv->st.lock);
    goto fail;
  }
  k->next = srv->st.table[h & (EMU_STATIC_BUCKETS - 1)];
  srv->st.table[h & (EMU_STATIC_BUCKETS - 1)] = k;
  srv->st.bytes += len + key->n;
  srv->st.kept++;
  pthread_mutex_unlock(&srv->st.lock);
  return;
fail:
  free(k->key);
  free(k->body);
  free(k->headers);
  free(k);
}

/* Sends a kept answer: no Lua, the body sent from where it is kept. */
static enum MHD_Result emu_static_send (emu_server *srv, struct MHD_Connection *conn,
                                        const char *method, emu_request *r,
                                        const emu_kept *k) {
  struct MHD_Response *resp;
  enum MHD_Result ret;
  const char *hp = k->headers;
  int delay = srv->st.latency_min;
  if (srv->st.latency_max > srv->st.latency_min) {
    unsigned x = atomic_fetch_add(&srv->st.dice, 2654435761u) * 2246822519u;
    delay += (int)((x >> 8) % (unsigned)(srv->st.latency_max - srv->st.latency_min + 1));
  }
  resp = emu_mhd.create_response_from_buffer(k->len, k->body, MHD_RESPMEM_PERSISTENT);
  if (resp == NULL) return MHD_NO;
  for (size_t i = 0; i < k->nheaders; i++) {
    char name[256];
    const char *value = hp + strlen(hp) + 1;
    if (strlen(hp) < sizeof name) {
      emu_header_case(name, sizeof name, hp);
      emu_mhd.add_response_header(resp, name, value);
    }
    hp = value + strlen(value) + 1;
  }
  if (delay > 0) emu_sleep_ms(srv, delay);
  ret = emu_mhd.queue_response(conn, 200, resp);
  emu_mhd.destroy_response(resp);
  atomic_fetch_add(&srv->st.hits, 1);
  emu_log(srv, method, r, 200, k->len, "(static)");
  return ret;
}

static void emu_static_free (emu_static *st) {
  for (size_t b = 0; b < EMU_STATIC_BUCKETS; b++) {
    emu_kept *k = st->table[b];
    while (k) {
      emu_kept *next = k->next;
      free(k->key);
      free(k->body);
      free(k->headers);
      free(k);
      k = next;
    }
    st->table[b] = NULL;
  }
}

/* Hands a complete request to the model and sends what it answers. */
static enum MHD_Result emu_answer (emu_server *srv, struct MHD_Connection *conn,
                                   const char *method, emu_request *r) {
  lua_State *L = srv->L;
  emu_fields headers = {NULL, 0, 0, 0};
  emu_call x;
  struct MHD_Response *resp = NULL;
  enum MHD_Result ret;
  int status, delay = 0, fault = EMU_FAULT_NONE;
  size_t sent = 0;
  emu_buf key = {NULL, 0, 0, 0};
  uint64_t hash = 0;
  int keep = 0;

  if (srv->st.on && emu_static_key(method, r, &key)) {
    const emu_kept *k;
    hash = emu_hash(key.p, key.n);
    if ((k = emu_static_find(srv, &key, hash)) != NULL) {
      free(key.p);
      return emu_static_send(srv, conn, method, r, k);
    }
    atomic_fetch_add(&srv->st.misses, 1);
    keep = 1;
  }
  emu_mhd.get_connection_values(conn, MHD_HEADER_KIND, emu_collect_header, &headers);
  if (headers.oom) {
    free(headers.v);
    free(key.p);
    return emu_problem(srv, conn, method, r, 500, "Internal Server Error", NULL);
  }
  x.srv = srv;
  x.method = method;
  x.r = r;
  x.headers = &headers;

  pthread_mutex_lock(&srv->lock);
  lua_settop(L, 0);
  lua_pushcfunction(L, emu_msgh);
  lua_pushcfunction(L, emu_handle);
  lua_pushlightuserdata(L, &x);
  if (lua_pcall(L, 1, 6, 1) != LUA_OK) {
    fprintf(stderr, "trk emulator: error in the model: %s\n",
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)");
    lua_settop(L, 0);
    pthread_mutex_unlock(&srv->lock);
    free(headers.v);
    free(key.p);
    return emu_problem(srv, conn, method, r, 500, "Internal Server Error", NULL);
  }
  /* stack: msgh, status, headers list, body, delay, fault, full length; checked by
     emu_handle */
  status = (int)lua_tointeger(L, 2);
  delay = (int)lua_tointeger(L, 5);
  fault = (int)lua_tointeger(L, 6);
  if (fault != EMU_FAULT_DROP) {
    size_t len;
    const char *body = lua_tolstring(L, 4, &len);
    if (fault == EMU_FAULT_TRUNCATE) {
      /* the model cut the body already: announce the whole length (at least one byte more
         than is sent), send what there is, and close */
      lua_Integer full = lua_tointeger(L, 7);
      emu_partial *p = malloc(sizeof *p + len + 1);
      if (p != NULL) {
        p->len = sent = len;
        memcpy(p->data, body, len);
        resp = emu_mhd.create_response_from_callback(full > (lua_Integer)len ? (uint64_t)full
                                                                         : (uint64_t)len + 1,
                                                 4096, emu_partial_read, p, free);
        if (resp == NULL) free(p);
      }
    }
    else {
      sent = len;
      resp = emu_mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
      if (keep && status == 200 && fault == EMU_FAULT_NONE)
        emu_static_keep(srv, L, &key, hash, body, len);
    }
    emu_add_headers(resp, L, 3);
  }
  lua_settop(L, 0);
  pthread_mutex_unlock(&srv->lock);
  free(headers.v);
  free(key.p);

  emu_sleep_ms(srv, delay);                       /* outside the lock: others go on meanwhile */
  if (fault == EMU_FAULT_DROP) {
    emu_log(srv, method, r, 0, 0, "(dropped)");
    return MHD_NO;                           /* closes the connection without an answer */
  }
  if (resp == NULL) return MHD_NO;
  ret = emu_mhd.queue_response(conn, (unsigned)status, resp);
  emu_mhd.destroy_response(resp);
  emu_log(srv, method, r, status, sent,
          fault == EMU_FAULT_TRUNCATE ? "(truncated)" :
          fault == EMU_FAULT_MALFORMED ? "(malformed)" : NULL);
  return ret;
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------- */

/* Called with the request line, before anything is parsed: keeps the target as sent. */
static void *emu_begin (void *cls, const char *uri, struct MHD_Connection *conn) {
  emu_request *r = calloc(1, sizeof *r);
  (void)cls;
  (void)conn;
  if (r == NULL) return NULL;
  r->t0 = emu_now();
  r->uri = strdup(uri ? uri : "");
  if (r->uri == NULL) {
    free(r);
    return NULL;
  }
  return r;
}

static void emu_end (void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe) {
  emu_request *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (r == NULL) return;
  free(r->uri);
  free(r->body);
  free(r);
  *con_cls = NULL;
}

static int emu_append (emu_request *r, const char *data, size_t n) {
  if (n > EMU_MAX_BODY - r->len) return 0;
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    char *b;
    while (cap < r->len + n) cap *= 2;
    if (cap > EMU_MAX_BODY) cap = EMU_MAX_BODY;
    b = realloc(r->body, cap);
    if (b == NULL) return 0;
    r->body = b;
    r->cap = cap;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
  return 1;
}

/* Counts the request's Content-Length headers into *cls. */
static enum MHD_Result emu_count_length (void *cls, enum MHD_ValueKind kind, const char *name,
                                         const char *value) {
  int *n = cls;
  (void)kind;
  (void)value;
  if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) (*n)++;
  return MHD_YES;
}

/* Why the request's Content-Length cannot be trusted, or NULL. libmicrohttpd refuses a
   value that is not a number itself, but of several Content-Length headers it reads the
   first and the model would see them all joined: two parties that read the length of one
   request differently is how a request is smuggled past one of them (RFC 9112 6.3). */
static const char *emu_bad_length (struct MHD_Connection *conn, const char *cl) {
  int n = 0;
  emu_mhd.get_connection_values(conn, MHD_HEADER_KIND, emu_count_length, &n);
  if (n > 1) return "The request has more than one Content-Length header.";
  if (cl && emu_mhd.lookup_connection_value(conn, MHD_HEADER_KIND,
                                            MHD_HTTP_HEADER_TRANSFER_ENCODING))
    return "The request has both Content-Length and Transfer-Encoding.";
  if (cl && (*cl == '\0' || cl[strspn(cl, "0123456789")] != '\0'))
    return "The Content-Length header is not a decimal number.";
  return NULL;
}

static enum MHD_Result emu_access (void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload, size_t *upload_size, void **con_cls) {
  emu_server *srv = cls;
  emu_request *r = *con_cls;
  (void)url;                                 /* decoded and without the query: r->uri instead */
  (void)version;
  if (r == NULL) return MHD_NO;              /* out of memory at the request line */
  if (!r->started) {                         /* headers only, so far */
    const char *cl = emu_mhd.lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *bad = emu_bad_length(conn, cl);
    r->started = 1;
    if (bad) {
      r->refused = 1;
      return emu_problem(srv, conn, method, r, 400, "Bad Request", bad);
    }
    if (cl && strtoull(cl, NULL, 10) > EMU_MAX_BODY) {
      r->refused = 1;
      return emu_problem(srv, conn, method, r, 413, "Payload Too Large", NULL);
    }
    return MHD_YES;
  }
  if (*upload_size) {
    if (!r->refused && !emu_append(r, upload, *upload_size)) {
      r->refused = 1;
      *upload_size = 0;
      return emu_problem(srv, conn, method, r, 413, "Payload Too Large", NULL);
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->refused) return MHD_YES;            /* answered already */
  return emu_answer(srv, conn, method, r);
}

/* ---- starting ----------------------------------------------------------------------------- */

typedef struct emu_setup_ctx {
  const emu_config *c;
  trk_sandbox *sandbox;
  const char *data;                /* --data FILE's text */
  size_t datalen;
  const char *stage;               /* what was being done, for an error message */
  const char *usage;               /* the option whose value the model refused */
  int ref;
} emu_setup_ctx;

static void emu_setstr (lua_State *L, const char *key, const char *value) {
  if (value == NULL) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

static void emu_setint (lua_State *L, const char *key, lua_Integer value) {
  lua_pushinteger(L, value);
  lua_setfield(L, -2, key);
}

/* The model's faults table, from --faults, --latency and --rate-limit. */
static void emu_push_faults (lua_State *L, const emu_config *c) {
  lua_newtable(L);
  for (size_t k = 0; k < EMU_NFAULTS; k++) {
    if (!c->has_fault[k]) continue;
    if (emu_fault_keys[k].kind == EMU_FRACTION) lua_pushnumber(L, c->fault[k]);
    else lua_pushinteger(L, (lua_Integer)c->fault[k]);
    lua_setfield(L, -2, emu_fault_keys[k].field);
  }
  if (c->latency_min >= 0) {
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, c->latency_min);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, c->latency_max);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "latency");
  }
  if (c->rate > 0) emu_setint(L, "rate_limit", c->rate);
}

/* In protected mode: loads the model and its data, and makes the emulator. */
static int emu_setup (lua_State *L) {
  emu_setup_ctx *x = lua_touserdata(L, 1);
  const emu_config *c = x->c;
  int mod, opts;
  x->stage = "loading " EMU_MODEL;
  trk_sandbox_push_env(x->sandbox);
  lua_getfield(L, -1, "require");
  lua_pushliteral(L, EMU_MODEL);
  lua_call(L, 1, 1);
  mod = lua_gettop(L);
  if (lua_type(L, mod) != LUA_TTABLE) return luaL_error(L, EMU_MODEL " is not a module table");
  /* the model checks the command line's values on an empty database, before any time goes
     into data: first the time zone, then the faults, so that an error names its option */
  for (int check = 0; check < 2; check++) {
    lua_getfield(L, mod, "new");
    lua_newtable(L);
    if (check == 0) {
      x->usage = "--timezone";
      if (c->timezone == NULL) {
        lua_pop(L, 2);
        continue;
      }
      emu_setstr(L, "timezone", c->timezone);
    }
    else {
      x->usage = "--faults";
      emu_push_faults(L, c);
      lua_setfield(L, -2, "faults");
    }
    lua_call(L, 1, 1);
    lua_pop(L, 1);
  }
  x->usage = NULL;
  lua_newtable(L);
  opts = lua_gettop(L);
  emu_setstr(L, "timezone", c->timezone);
  emu_setstr(L, "apikey", c->apikey);
  emu_setstr(L, "username", c->username);
  emu_setstr(L, "api_token", c->api_token);
  lua_pushboolean(L, c->admin);
  lua_setfield(L, opts, "admin");
  emu_push_faults(L, c);
  lua_setfield(L, opts, "faults");
  if (c->synthetic >= 0) {
    x->stage = "making the synthetic database";
    lua_newtable(L);
    emu_setint(L, "candidates", c->synthetic);
    emu_setint(L, "seed", c->seed);
    lua_setfield(L, opts, "synthetic");
    lua_pushnil(L);                  /* no data: the model makes its own */
  }
  else if (c->data) {
    x->stage = c->data;
    lua_getfield(L, mod, "from_json");
    lua_pushlstring(L, x->data, x->datalen);
    lua_call(L, 1, 1);
  }
  else {
    x->stage = "generating the data";
    lua_getfield(L, mod, "generate");
    lua_newtable(L);
    emu_setint(L, "seed", c->seed);
    emu_setint(L, "candidates", c->candidates >= 0 ? c->candidates : EMU_DEMO_CANDIDATES);
    emu_setstr(L, "timezone", c->timezone);
    lua_call(L, 1, 1);
  }
  lua_setfield(L, opts, "data");
  x->stage = c->data ? c->data : "starting the emulator";
  lua_getfield(L, mod, "new");
  lua_pushvalue(L, opts);
  lua_call(L, 1, 1);
  if (lua_getfield(L, -1, "handle") != LUA_TFUNCTION)
    return luaL_error(L, EMU_MODEL ".new answered no object with a handle method");
  lua_pop(L, 1);
  x->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Reads a whole file; NULL with errno set when it cannot. */
static char *emu_slurp (const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;
  int err;
  if (f == NULL) return NULL;
  for (;;) {
    if (n == cap) {
      char *b = realloc(buf, cap = cap ? cap * 2 : 65536);
      if (b == NULL) {
        err = ENOMEM;
        goto fail;
      }
      buf = b;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (ferror(f)) {
      err = EIO;
      goto fail;
    }
    if (feof(f)) break;
  }
  fclose(f);
  *len = n;
  return buf;
fail:
  free(buf);
  fclose(f);
  errno = err;
  return NULL;
}

/* A socket bound to c->addr and listening; -1 with a message when it cannot be. */
static int emu_listen (const emu_config *c, int *port) {
  int fd, one = 1;
  struct sockaddr_storage got;
  socklen_t gotlen = sizeof got;
  fd = socket(c->addr.ss_family, SOCK_STREAM, 0);
  if (fd < 0) goto fail;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (c->addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (const struct sockaddr *)&c->addr, c->addrlen) != 0) goto fail;
  if (listen(fd, 128) != 0) goto fail;
  if (getsockname(fd, (struct sockaddr *)&got, &gotlen) != 0) goto fail;
  *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                          : ((struct sockaddr_in *)&got)->sin_port);
  return fd;
fail:
  fprintf(stderr, "trk emulator: cannot listen on %s port %d: %s\n", c->host, c->port,
          strerror(errno));
  if (fd >= 0) close(fd);
  return -1;
}

static int emu_is_loopback (const emu_config *c) {
  if (c->addr.ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)&c->addr)->sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&c->addr)->sin6_addr);
}

/* What the emulator says once it listens: the first line is for programs. Credentials given
   on the command line are named, never shown. */
static void emu_announce (const emu_config *c, int port) {
  char url[128];
  int v6 = c->addr.ss_family == AF_INET6;
  const char *host = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
  snprintf(url, sizeof url, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
  printf("listening on %s\n", url);
  fflush(stdout);
  if (c->quiet) return;                           /* the first line is all --quiet prints */
  if (c->synthetic >= 0)
    printf("data: synthetic, %lld candidates computed from seed %lld (read-only)\n",
           (long long)c->synthetic, (long long)c->seed);
  else if (c->data) printf("data: %s\n", c->data);
  else if (c->candidates >= 0)
    printf("data: %lld candidates generated from seed %lld\n", (long long)c->candidates,
           (long long)c->seed);
  else
    printf("data: the demo database (%d candidates generated from seed %lld)\n",
           EMU_DEMO_CANDIDATES, (long long)c->seed);
  printf("for a client, set:\n  %s=%s\n  %s=%s\n", EMU_ENV_WIDGET_URL, url, EMU_ENV_REST_URL, url);
  if (c->timezone) printf("  %s=%s\n", EMU_ENV_TIMEZONE, c->timezone);
#define EMU_CREDENTIAL(var, bit, demo, option)                                                \
  if (c->given & bit) printf("  %s to the value given with %s\n", var, option);                \
  else printf("  %s=%s  (public demo value)\n", var, demo);
  EMU_CREDENTIAL(EMU_ENV_APIKEY, EMU_GIVEN_APIKEY, EMU_DEMO_APIKEY, "--apikey")
  EMU_CREDENTIAL(EMU_ENV_USERNAME, EMU_GIVEN_USERNAME, EMU_DEMO_USERNAME, "--username")
  EMU_CREDENTIAL(EMU_ENV_API_TOKEN, EMU_GIVEN_API_TOKEN, EMU_DEMO_API_TOKEN, "--api-token")
#undef EMU_CREDENTIAL
  printf("stop with Ctrl-C\n");
  fflush(stdout);
}

/* ---- trk emulator ------------------------------------------------------------------------- */

int trk_emulator_main (int argc, char **argv) {
  emu_config c;
  emu_server srv;
  emu_setup_ctx setup;
  trk_options o;
  struct MHD_Daemon *daemon = NULL;
  sigset_t stop, old;
  char err[512];
  char *data = NULL;
  const char *why;
  int code, fd, port, sig;

  if ((code = emu_parse_args(&c, argc, argv)) >= 0) return code;
  if ((why = emu_mhd_ready()) != NULL) {
    fprintf(stderr, "trk emulator: %s (it comes with the Debian package libmicrohttpd12)\n", why);
    return TRK_EXIT_ERROR;
  }
  memset(&setup, 0, sizeof setup);
  if (c.data) {
    data = emu_slurp(c.data, &setup.datalen);
    if (data == NULL) {
      fprintf(stderr, "trk emulator: --data: cannot read '%s': %s\n", c.data, strerror(errno));
      return TRK_EXIT_USAGE;
    }
  }

  memset(&srv, 0, sizeof srv);
  srv.verbose = c.verbose;
  srv.st.on = c.is_static;
  srv.st.latency_min = c.latency_min > 0 ? c.latency_min : 0;
  srv.st.latency_max = c.latency_max > 0 ? c.latency_max : 0;
  trk_options_default(&o);
  o.limits.max_memory = 0;           /* the host's own state: no sandbox limits */
  o.limits.max_cpu = 0;
  o.limits.max_output = 0;
  o.limits.deadline = 0;
  srv.sandbox = trk_sandbox_new(&o, err, sizeof err);
  if (srv.sandbox == NULL) {
    fprintf(stderr, "trk emulator: %s\n", err);
    free(data);
    return TRK_EXIT_ERROR;
  }
  srv.L = trk_sandbox_state(srv.sandbox);

  setup.c = &c;
  setup.sandbox = srv.sandbox;
  setup.data = data;
  setup.stage = "starting";
  lua_pushcfunction(srv.L, emu_setup);
  lua_pushlightuserdata(srv.L, &setup);
  code = lua_pcall(srv.L, 1, 0, 0);
  free(data);
  if (code != LUA_OK) {
    const char *msg = lua_type(srv.L, -1) == LUA_TSTRING ? lua_tostring(srv.L, -1)
                                                         : "(no message)";
    if (setup.usage) {
      if (strncmp(msg, "emulator.new: ", 14) == 0) msg += 14;
      code = emu_usage_error("%s: %s", setup.usage, msg);
    }
    else {
      fprintf(stderr, "trk emulator: %s: %s\n", setup.stage, msg);
      code = TRK_EXIT_ERROR;
    }
    trk_sandbox_free(srv.sandbox);
    return code;
  }
  srv.emu = setup.ref;
  lua_settop(srv.L, 0);

  if ((fd = emu_listen(&c, &port)) < 0) {
    trk_sandbox_free(srv.sandbox);
    return TRK_EXIT_ERROR;
  }
  if (!emu_is_loopback(&c))
    fprintf(stderr, "trk emulator: warning: %s is not a loopback address: anyone who can "
            "reach this machine can use the emulator\n", c.host);

  /* SIGINT and SIGTERM are taken by sigwait below, in this thread only: the server's
     threads inherit the mask. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  signal(SIGPIPE, SIG_IGN);
  pthread_mutex_init(&srv.lock, NULL);
  pthread_mutex_init(&srv.st.lock, NULL);
  daemon = emu_mhd.start_daemon(
    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO_INTERNAL_THREAD
      | (c.addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
    0, NULL, NULL, emu_access, &srv,
    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
    MHD_OPTION_URI_LOG_CALLBACK, emu_begin, &srv,
    MHD_OPTION_NOTIFY_COMPLETED, emu_end, &srv,
    MHD_OPTION_CONNECTION_LIMIT, (unsigned)EMU_MAX_CONNECTIONS,
    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EMU_IDLE_TIMEOUT,
    MHD_OPTION_CONNECTION_MEMORY_LIMIT, EMU_CONN_MEMORY,
    MHD_OPTION_END);
  if (daemon == NULL) {
    fprintf(stderr, "trk emulator: cannot start the HTTP server on %s port %d\n", c.host, port);
    close(fd);
    code = TRK_EXIT_ERROR;
  }
  else {
    emu_announce(&c, port);
    while (sigwait(&stop, &sig) != 0) {}
    if (c.verbose) fprintf(stderr, "trk emulator: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&srv.stopping, 1);
    emu_mhd.stop_daemon(daemon);           /* closes every connection and the socket */
    if (c.verbose && c.is_static)
      fprintf(stderr, "trk emulator: static: %zu answers kept (%.1f MiB), %llu sent again, "
              "%llu made by the model\n", srv.st.kept, (double)srv.st.bytes / 1048576.0,
              (unsigned long long)atomic_load(&srv.st.hits),
              (unsigned long long)atomic_load(&srv.st.misses));
    code = TRK_EXIT_OK;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_mutex_destroy(&srv.lock);
  pthread_mutex_destroy(&srv.st.lock);
  emu_static_free(&srv.st);
  luaL_unref(srv.L, LUA_REGISTRYINDEX, srv.emu);
  trk_sandbox_free(srv.sandbox);
  return code;
}

#ifdef TRK_FUZZ
/* ---- without a socket: the fuzz target's way in (spec/fuzz/fuzz_emulator.c) --------------- */

struct trk_emulator {
  emu_server srv;
  char *body;                      /* the last answer's body */
  size_t cap;
};

trk_emulator *trk_emulator_open (int argc, char **argv) {
  emu_config c;
  emu_setup_ctx setup;
  trk_options o;
  trk_emulator *e;
  char err[512];
  if (emu_parse_args(&c, argc, argv) >= 0) return NULL;     /* it said what was wrong */
  if (emu_mhd_ready() != NULL) {
    fprintf(stderr, "trk emulator: %s\n", emu_mhd_ready());
    return NULL;
  }
  if (c.data) {
    fprintf(stderr, "trk emulator: --data is not for a socket-free emulator\n");
    return NULL;
  }
  if ((e = calloc(1, sizeof *e)) == NULL) return NULL;
  trk_options_default(&o);         /* as trk_emulator_main: the host's own state, no limits */
  o.limits.max_memory = 0;
  o.limits.max_cpu = 0;
  o.limits.max_output = 0;
  o.limits.deadline = 0;
  if ((e->srv.sandbox = trk_sandbox_new(&o, err, sizeof err)) == NULL) {
    fprintf(stderr, "trk emulator: %s\n", err);
    free(e);
    return NULL;
  }
  e->srv.L = trk_sandbox_state(e->srv.sandbox);
  memset(&setup, 0, sizeof setup);
  setup.c = &c;
  setup.sandbox = e->srv.sandbox;
  lua_pushcfunction(e->srv.L, emu_setup);
  lua_pushlightuserdata(e->srv.L, &setup);
  if (lua_pcall(e->srv.L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "trk emulator: %s\n", lua_tostring(e->srv.L, -1));
    trk_sandbox_free(e->srv.sandbox);
    free(e);
    return NULL;
  }
  e->srv.emu = setup.ref;
  lua_settop(e->srv.L, 0);
  return e;
}

lua_State *trk_emulator_state (trk_emulator *e) { return e->srv.L; }

/* The model's part of emu_answer, and the response it would queue, built and dropped. */
int trk_emulator_request (trk_emulator *e, const char *method, const char *uri,
                          const char *const *headers, size_t nheaders, const char *body,
                          size_t len, const char **answer, size_t *answer_len) {
  lua_State *L = e->srv.L;
  emu_field fields[64];
  emu_fields h = {.v = fields, .cap = 64};
  emu_request r = {.uri = (char *)uri, .body = (char *)body, .len = len, .cap = len,
                   .started = 1, .t0 = emu_now()};
  emu_call x = {.srv = &e->srv, .method = method, .r = &r, .headers = &h};
  struct MHD_Response *resp;
  const char *b;
  size_t n;
  int status;
  for (; h.n < nheaders && h.n < h.cap; h.n++) {
    fields[h.n].name = headers[2 * h.n];
    fields[h.n].value = headers[2 * h.n + 1];
  }
  *answer = "";
  *answer_len = 0;
  lua_settop(L, 0);
  lua_pushcfunction(L, emu_msgh);
  lua_pushcfunction(L, emu_handle);
  lua_pushlightuserdata(L, &x);
  if (lua_pcall(L, 1, 6, 1) != LUA_OK) {
    fprintf(stderr, "trk emulator: error in the model: %s\n", lua_tostring(L, -1));
    lua_settop(L, 0);
    return -1;                               /* the front answers its own 500 */
  }
  status = (int)lua_tointeger(L, 2);
  if (lua_tointeger(L, 6) == EMU_FAULT_DROP) status = 0;
  b = lua_tolstring(L, 4, &n);
  if (n + 1 > e->cap) {
    char *p = realloc(e->body, n + 1);
    if (p == NULL) abort();
    e->body = p;
    e->cap = n + 1;
  }
  memcpy(e->body, b, n);
  e->body[n] = '\0';
  *answer = e->body;
  *answer_len = n;
  resp = emu_mhd.create_response_from_buffer(n, e->body, MHD_RESPMEM_PERSISTENT);
  emu_add_headers(resp, L, 3);
  if (resp) emu_mhd.destroy_response(resp);
  lua_settop(L, 0);
  return status;
}

void trk_emulator_close (trk_emulator *e) {
  if (e == NULL) return;
  luaL_unref(e->srv.L, LUA_REGISTRYINDEX, e->srv.emu);
  trk_sandbox_free(e->srv.sandbox);
  free(e->body);
  free(e);
}
#endif
