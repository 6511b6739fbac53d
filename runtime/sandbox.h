/* The trk sandbox: one lua_State per run, an allowlisted environment, and hard limits. The core:
   it knows nothing of the commands or the host table (host.h); its library (sbxlib.h) and the
   host build on it. */
#ifndef TRK_SANDBOX_H
#define TRK_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <lua.h>

/* ---- limits and their defaults ---------------------------------------------------- */

#define TRK_DEFAULT_MAX_MEMORY   ((size_t)256 << 20)   /* --max-memory: bytes the Lua state may hold */
#define TRK_DEFAULT_MAX_CPU      300.0                 /* --max-cpu: seconds of CPU */
#define TRK_DEFAULT_DEADLINE     0.0                   /* --deadline: wall-clock seconds, 0 = none */
#define TRK_DEFAULT_MAX_OUTPUT   ((size_t)16 << 20)    /* --max-output: bytes of print, log and files */

typedef enum trk_limit {
  TRK_LIMIT_NONE = 0,
  TRK_LIMIT_MEMORY,
  TRK_LIMIT_CPU,
  TRK_LIMIT_DEADLINE,
  TRK_LIMIT_OUTPUT,
  TRK_LIMIT_INSTRUCTIONS
} trk_limit;

typedef struct trk_limits {
  size_t max_memory;          /* 0 = unlimited */
  double max_cpu;             /* seconds; 0 = unlimited */
  double deadline;            /* seconds from the start of the run; 0 = none */
  size_t max_output;          /* 0 = unlimited */
  uint64_t max_instructions;  /* Lua VM instructions; 0 = unlimited */
} trk_limits;

/* How a run is set up: limits, grants and determinism. */
typedef struct trk_options {
  trk_limits limits;
  const char *const *inputs;  /* files the script may read (files.open), as given */
  int ninputs;
  const char *const *outputs; /* files the script may write (files.create) */
  int noutputs;
  int has_now;                /* --now: os.time()/os.date() answer this instant */
  int64_t now;
  int has_seed;               /* --seed: math.random starts from this seed */
  int64_t seed;
} trk_options;

void trk_options_default(trk_options *o);

/* Exit codes of a run. */
enum { TRK_EXIT_OK = 0, TRK_EXIT_ERROR = 1, TRK_EXIT_USAGE = 2, TRK_EXIT_LIMIT = 3 };

typedef struct trk_sandbox trk_sandbox;   /* opaque */

/* Pushes the table of the environment's C replacements (print, require, ...) that
   tracker.sandbox builds the script's environment with: the sandbox's library (sbxlib.h). */
typedef void (*trk_sandbox_library)(lua_State *L, trk_sandbox *S);

/* A fresh sandbox whose environment is built with `library`; NULL (with a message in err) if it
   cannot be built. trk_sandbox_new (sbxlib.h) is this with trk's own library. */
trk_sandbox *trk_sandbox_create(const trk_options *o, trk_sandbox_library library, char *err,
                                size_t errlen);
void trk_sandbox_free(trk_sandbox *S);

/* The sandbox's state, for hosts that call into it (the emulator's HTTP front), and its
   script environment: push it and set it as a loaded chunk's first upvalue (_ENV). */
lua_State *trk_sandbox_state(trk_sandbox *S);
void trk_sandbox_push_env(trk_sandbox *S);

/* Calls fn with ud (a light userdata) in protected mode on the sandbox's state, with the
   limits watched from now: the clocks start and the tick or the counting hook is armed. An
   exceeded limit, or an error fn raises, is reported on stderr (the error with the script's
   traceback, cut to a readable size). Returns TRK_EXIT_OK with fn's one result on top of the
   state's stack, or the report's exit code (TRK_EXIT_LIMIT, TRK_EXIT_ERROR). */
int trk_sandbox_run(trk_sandbox *S, lua_CFunction fn, void *ud);

/* ---- stops, budgets and interrupts, for the host's calls into script code ------------------ */

/* A stop the host raises through script code and only the host catches. */
typedef enum trk_stop {
  TRK_STOP_NONE = 0, TRK_STOP_BUDGET, TRK_STOP_INTERRUPT,
  TRK_STOP_HOST                /* the host's own decision (trk_sandbox_stop) */
} trk_stop;

/* An instruction budget for the code L runs next (0 ends it); past it, a TRK_STOP_BUDGET. */
void trk_sandbox_budget(trk_sandbox *S, lua_State *L, uint64_t n);
trk_stop trk_sandbox_stopped(trk_sandbox *S);
/* Stops the script code running now, as Ctrl-C would, with a TRK_STOP_HOST whose message is
   why (the host's code decided the run cannot go on: Tracker unreachable). Returns 0 without
   raising when no script code that may be stopped is running. */
int trk_sandbox_stop(lua_State *L, trk_sandbox *S, const char *why);
void trk_sandbox_clear_stop(trk_sandbox *S);

/* "rules/x.lua:12": the script position of the last error caught with trk_sandbox_msgh. */
const char *trk_sandbox_error_where(trk_sandbox *S);

/* Message handler: the error with the script's traceback (a stop or a kill passes as is). */
int trk_sandbox_msgh(lua_State *L);

/* Ctrl-C (SIGINT) and SIGTERM: once caught, the first one stops interruptible code with a
   TRK_STOP_INTERRUPT; a second one ends the process. */
int trk_sandbox_catch_interrupts(trk_sandbox *S);
/* Whether Ctrl-C may stop the code running now; returns the previous setting, to restore. */
int trk_sandbox_set_interruptible(trk_sandbox *S, int on);
int trk_sandbox_interrupted(void);

/* Usage of each limit, for reports. */
typedef struct trk_usage {
  size_t memory, memory_peak, output;
  uint64_t instructions;
  double cpu, wall;
} trk_usage;
void trk_sandbox_usage(trk_sandbox *S, trk_usage *u);

/* Name of a limit and its command-line option ("memory", "--max-memory"). */
const char *trk_limit_name(trk_limit l);
const char *trk_limit_option(trk_limit l);

/* ---- for C code that runs under the limits (the sandbox's library, sbxlib.h) ---------- */

#define TRK_ENV_KEY     "trk.env"      /* registry: the script environment */
#define TRK_STOP_KEY    "trk.stop"     /* registry: the message of the host stop unwinding */
#define TRK_LOADED_KEY  "trk.loaded"   /* registry: modules loaded by require */

trk_sandbox *trk_sandbox_of(lua_State *L);

/* Called by long-running C functions every TRK_POLL_STEPS steps of work (elements moved,
   comparisons, matcher steps): charges them as that many instructions to the instruction
   limit and to a host call's budget, and raises once a limit or a budget is exceeded, or
   Ctrl-C stops the code. ud is the sandbox, or NULL to find it from L. */
#define TRK_POLL_STEPS 65536
void trk_sandbox_poll(lua_State *L, void *ud);

/* Raises if the sandbox has been stopped by a limit (a memory error counts as one). */
void trk_sandbox_check(lua_State *L, int status);

/* Has a limit stopped the run? */
int trk_sandbox_killed(trk_sandbox *S);

/* Reads the clocks now, as the hook does (past --max-cpu or --deadline, the run is stopped);
   whether a limit has stopped the run. For host code that waits in C (host.sleep). */
int trk_sandbox_expired(trk_sandbox *S);

/* The thread now running script code; the resume wrappers keep it current (the host's own
   coroutine.resume, wrap and close are the same wrappers). The thread swapped in gets the
   hook it needs: the counting one under an instruction budget or limit, one that fires at
   once when the run is stopped or stopping or Ctrl-C is pending. */
lua_State *trk_sandbox_swap_running(trk_sandbox *S, lua_State *co);

/* Writes script output to f within --max-output; raises past it. */
void trk_sandbox_write(lua_State *L, FILE *f, const char *data, size_t len);

const trk_options *trk_sandbox_options(trk_sandbox *S);

/* Directory of the running script ("" for the current one), for require; set from the path
   of a file in it ("rules/x.lua" or "rules/"). */
const char *trk_sandbox_script_dir(trk_sandbox *S);

/* Pushes the string at idx as an error message is shown, readable and bounded (a message is
   output too): its first 8 KiB, then "... (N more bytes of error message)". Returns it. Every
   report of trk cuts messages so (the Lua drivers through host.bounded). */
const char *trk_sandbox_bounded(lua_State *L, int idx);
int trk_sandbox_set_script_dir(trk_sandbox *S, const char *path);

#endif
