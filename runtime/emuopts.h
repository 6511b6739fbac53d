/* trk emulator's command line: its options, the settings they make, and its help. */
#ifndef TRK_EMUOPTS_H
#define TRK_EMUOPTS_H

#include <netinet/in.h>
#include <sys/socket.h>

#include <lua.h>

#define TRK_EMU_DEMO_SEED        1            /* the built-in demo database */
#define TRK_EMU_DEMO_CANDIDATES  200
#define TRK_EMU_DEMO_APIKEY      "demo-key"   /* public demo credentials */
#define TRK_EMU_DEMO_USERNAME    "demo@example.com"
#define TRK_EMU_DEMO_API_TOKEN   "demo-token"
#define TRK_EMU_MAX_DELAY_MS     600000       /* the longest latency --latency or the model may ask */

/* The keys of --faults and the fields of the model's faults table they set. */
typedef enum trk_emu_kind {
  TRK_EMU_FRACTION, TRK_EMU_COUNT, TRK_EMU_SECONDS, TRK_EMU_INTEGER
} trk_emu_kind;
typedef struct trk_emu_fault_key {
  const char *key;                 /* "5xx" */
  const char *field;               /* "errors" */
  trk_emu_kind kind;
} trk_emu_fault_key;
#define TRK_EMU_NFAULTS  9
extern const trk_emu_fault_key trk_emu_fault_keys[TRK_EMU_NFAULTS];

/* Credentials given on the command line, which are never printed. */
enum { TRK_EMU_GIVEN_APIKEY = 1, TRK_EMU_GIVEN_USERNAME = 2, TRK_EMU_GIVEN_API_TOKEN = 4 };

/* What the command line sets; the strings point into argv. */
typedef struct trk_emu_config {
  const char *host;
  struct sockaddr_storage addr;    /* host and port, parsed */
  socklen_t addrlen;
  int port;
  const char *data;                /* --data FILE */
  const char *replay;              /* --replay DIR: a cassette served */
  const char *data_dir;            /* --data DIR: the data kept there */
  const char *schema;              /* --schema FILE */
  lua_Integer candidates;          /* --generate N; -1 for the demo */
  lua_Integer synthetic;           /* --synthetic N; -1 when not asked */
  lua_Integer seed;
  const char *timezone;
  const char *dialect;             /* --dialect NAME; NULL: the model's default */
  int latency_min, latency_max;    /* milliseconds; -1 when off */
  lua_Integer rate;                /* --rate-limit: requests a minute; 0 when off */
  int has_fault[TRK_EMU_NFAULTS];
  double fault[TRK_EMU_NFAULTS];
  const char *apikey, *username, *api_token;
  int given;                       /* TRK_EMU_GIVEN_* */
  int admin, verbose, quiet;
  int is_static;                   /* --static */
} trk_emu_config;

/* Fills c from `trk emulator ARGS...` (argv starts after "emulator"). Returns -1 to go on,
   else the exit code: TRK_EXIT_OK once -h shows the help, TRK_EXIT_USAGE for a usage error
   (reported, naming the option and never a credential's value). */
int trk_emu_options(trk_emu_config *c, int argc, char **argv);

/* The text of `trk help emulator`. */
extern const char trk_emulator_usage[];

#endif
