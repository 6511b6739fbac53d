/* The trk sandbox: the state, its counting allocator, the limit hook, and running code under
   the limits (the host decides what code: host.c). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "pattern.h"
#include "sandbox.h"
#include "scripts.h"
#include "tracker.h"

#define SBX_HOOK_STEPS     10000        /* VM instructions between two checks, when counting */
#define SBX_POLL_STEPS     TRK_POLL_STEPS  /* instructions a poll from C code is charged */
#define SBX_TICK_NS        10000000L    /* 10 ms between two checks of the clocks otherwise */
#define SBX_KILL_HEADROOM  ((size_t)1 << 20)  /* memory the host may still use after a kill */
#define SBX_TRACE_HEAD     10           /* traceback frames kept before and after a gap */
#define SBX_TRACE_TAIL     11
#define SBX_TRACE_SCAN     200          /* levels examined at each end of the stack */
#define SBX_REPORT_MAX     8192         /* bytes of a script's error message that are shown */

_Static_assert(TRK_PATTERN_POLL_STEPS == TRK_POLL_STEPS,
               "the matcher polls as often as a poll is charged for");


struct trk_sandbox {
  lua_State *main;
  lua_State *volatile running;  /* thread executing script code now (the tick reads it) */
  trk_options opts;
  trk_sandbox_library library;  /* builds the environment's replacements (sbxlib.c) */
  char *script_dir;

  size_t mem_used, mem_peak;
  int mem_pending;            /* a refused request Lua may retry after an emergency GC */
  void *pending_ptr;
  size_t pending_size;

  uint64_t instructions;
  size_t output_used;
  double cpu_start, wall_start;

  trk_limit killed;           /* the limit that stopped the run, once exceeded */
  char where[256];            /* "script.lua:12", where the kill was noticed */

  uint64_t budget;            /* instructions one host.budget_call may use; 0 = none running */
  uint64_t budget_used;
  trk_stop stop;              /* a host stop unwinding script code, until the host catches it */
  int interruptible;          /* may Ctrl-C stop the code running now? */
  char error_where[256];      /* the script position of the last error the host caught */

  trk_host host;              /* what the client (bindings/) is lent: see sbx_lend */
};

/* Ctrl-C and SIGTERM: counted here, noticed by the hook of the sandbox being run. */
static volatile sig_atomic_t sbx_interrupts;
static trk_sandbox *volatile sbx_interruptee;

/* ---- clocks ------------------------------------------------------------------------ */

static double sbx_clock (clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- limits ------------------------------------------------------------------------ */

void trk_options_default (trk_options *o) {
  memset(o, 0, sizeof *o);
  o->limits.max_memory = TRK_DEFAULT_MAX_MEMORY;
  o->limits.max_cpu = TRK_DEFAULT_MAX_CPU;
  o->limits.deadline = TRK_DEFAULT_DEADLINE;
  o->limits.max_output = TRK_DEFAULT_MAX_OUTPUT;
}

const char *trk_limit_name (trk_limit l) {
  switch (l) {
    case TRK_LIMIT_MEMORY: return "memory";
    case TRK_LIMIT_CPU: return "cpu";
    case TRK_LIMIT_DEADLINE: return "deadline";
    case TRK_LIMIT_OUTPUT: return "output";
    case TRK_LIMIT_INSTRUCTIONS: return "instructions";
    default: return "none";
  }
}

const char *trk_limit_option (trk_limit l) {
  switch (l) {
    case TRK_LIMIT_MEMORY: return "--max-memory";
    case TRK_LIMIT_CPU: return "--max-cpu";
    case TRK_LIMIT_DEADLINE: return "--deadline";
    case TRK_LIMIT_OUTPUT: return "--max-output";
    case TRK_LIMIT_INSTRUCTIONS: return "--rule-budget";
    default: return "";
  }
}

trk_sandbox *trk_sandbox_of (lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  return ud;
}

static void sbx_hook (lua_State *L, lua_Debug *ar);
static void sbx_locate (trk_sandbox *S, lua_State *L);
static void sbx_script_where (lua_State *L, char *out, size_t n);

/* Marks the run as stopped. From here on every thread that runs Lua code raises at its
   next instruction, and every place that could catch an error raises again. */
static void sbx_kill (trk_sandbox *S, trk_limit limit) {
  if (S->killed) return;
  S->killed = limit;
  if (S->running) sbx_locate(S, S->running);   /* reads debug info only: no allocation */
  lua_sethook(S->main, sbx_hook, LUA_MASKCOUNT, 1);
  if (S->running && S->running != S->main)
    lua_sethook(S->running, sbx_hook, LUA_MASKCOUNT, 1);
}

/* The innermost frame of a script file ('@' chunks: the script, its modules, rule files). */
static void sbx_script_where (lua_State *L, char *out, size_t n) {
  lua_Debug ar;
  out[0] = '\0';
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "Sl", &ar) && ar.source[0] == '@' && ar.currentline > 0) {
      snprintf(out, n, "%s:%d", ar.short_src, ar.currentline);
      return;
    }
  }
}

/* Remembers the script's position at the kill, for the report. */
static void sbx_locate (trk_sandbox *S, lua_State *L) {
  if (!S->where[0]) sbx_script_where(L, S->where, sizeof S->where);
}

static void sbx_raise (lua_State *L, trk_sandbox *S) {
  lua_sethook(L, sbx_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s limit exceeded", trk_limit_name(S->killed));
  abort();  /* not reached */
}

static void sbx_check_time (trk_sandbox *S) {
  const trk_limits *lim = &S->opts.limits;
  if (lim->max_instructions && S->instructions > lim->max_instructions)
    sbx_kill(S, TRK_LIMIT_INSTRUCTIONS);
  else if (lim->max_cpu > 0 &&
           sbx_clock(CLOCK_PROCESS_CPUTIME_ID) - S->cpu_start > lim->max_cpu)
    sbx_kill(S, TRK_LIMIT_CPU);
  else if (lim->deadline > 0 && sbx_clock(CLOCK_MONOTONIC) - S->wall_start > lim->deadline)
    sbx_kill(S, TRK_LIMIT_DEADLINE);
}

/* Unwinds the script with a stop only the host catches: every place a script could catch an
   error raises it again until the host clears it. */
static void sbx_stop (lua_State *L, trk_sandbox *S, trk_stop why, const char *host_why) {
  char msg[512];
  sbx_script_where(L, S->error_where, sizeof S->error_where);
  if (why == TRK_STOP_HOST)
    snprintf(msg, sizeof msg, "%s%s%s", host_why, S->error_where[0] ? " at " : "",
             S->error_where);
  else if (why == TRK_STOP_BUDGET)
    snprintf(msg, sizeof msg, "%s%sinstruction budget exceeded (%llu instructions, --rule-budget)",
             S->error_where, S->error_where[0] ? ": " : "", (unsigned long long)S->budget);
  else
    snprintf(msg, sizeof msg, "interrupted%s%s", S->error_where[0] ? " at " : "", S->error_where);
  S->stop = why;
  lua_pushstring(L, msg);
  lua_setfield(L, LUA_REGISTRYINDEX, TRK_STOP_KEY);
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_STOP_KEY);
  lua_error(L);
}

/* After the checks of the hook or a poll: raises what stops the script now. A limit kills;
   a stop already unwinding stops again script code met on the way (a __close handler), while
   the host's own code runs on; Ctrl-C and the budget start a stop. */
static void sbx_raise_pending (lua_State *L, trk_sandbox *S) {
  if (S->killed) sbx_raise(L, S);
  if (S->stop) {
    if (S->interruptible) {
      lua_getfield(L, LUA_REGISTRYINDEX, TRK_STOP_KEY);
      lua_error(L);
    }
    return;
  }
  if (sbx_interrupts && S->interruptible) sbx_stop(L, S, TRK_STOP_INTERRUPT, NULL);
  if (S->budget && S->budget_used > S->budget) sbx_stop(L, S, TRK_STOP_BUDGET, NULL);
}

static void sbx_hook (lua_State *L, lua_Debug *ar) {
  trk_sandbox *S = trk_sandbox_of(L);
  int steps = lua_gethookcount(L);
  (void)ar;
  if (!S->killed) {
    if (S->mem_pending)               /* no retry came: the refusal was final */
      sbx_kill(S, TRK_LIMIT_MEMORY);
    else if (S->opts.limits.max_instructions || S->budget) {
      S->instructions += (uint64_t)steps;
      S->budget_used += (uint64_t)steps;
      if (steps != SBX_HOOK_STEPS)    /* was set to settle a refusal (or inherited): restore */
        lua_sethook(L, sbx_hook, LUA_MASKCOUNT, SBX_HOOK_STEPS);
      sbx_check_time(S);
    }
    else {                            /* armed by the tick: check, then let Lua run free */
      lua_sethook(L, NULL, 0, 0);
      sbx_check_time(S);
    }
  }
  sbx_raise_pending(L, S);
}

/* A C loop polls after about SBX_POLL_STEPS steps of work and is charged for them as for
   that many instructions, so that a pattern match or a sort is held to a budget as Lua code
   is. Otherwise the same checks as the hook's. */
void trk_sandbox_poll (lua_State *L, void *ud) {
  trk_sandbox *S = ud ? ud : trk_sandbox_of(L);
  if (!S->killed) {
    if (S->opts.limits.max_instructions || S->budget) {
      S->instructions += SBX_POLL_STEPS;
      S->budget_used += SBX_POLL_STEPS;
    }
    sbx_check_time(S);
  }
  sbx_raise_pending(L, S);
}

void trk_sandbox_check (lua_State *L, int status) {
  trk_sandbox *S = trk_sandbox_of(L);
  if (status == LUA_ERRMEM) sbx_kill(S, TRK_LIMIT_MEMORY);
  if (S->killed) sbx_raise(L, S);
  if (S->stop) {
    lua_getfield(L, LUA_REGISTRYINDEX, TRK_STOP_KEY);
    lua_error(L);
  }
}

/* ---- host calls: budgets, stops and interrupts ------------------------------------------- */

void trk_sandbox_budget (trk_sandbox *S, lua_State *L, uint64_t n) {
  S->budget = n;
  S->budget_used = 0;
  if (n) lua_sethook(L, sbx_hook, LUA_MASKCOUNT, SBX_HOOK_STEPS);
  else if (!S->opts.limits.max_instructions) lua_sethook(L, NULL, 0, 0);
}

trk_stop trk_sandbox_stopped (trk_sandbox *S) { return S->stop; }
void trk_sandbox_clear_stop (trk_sandbox *S) { S->stop = TRK_STOP_NONE; }

int trk_sandbox_stop (lua_State *L, trk_sandbox *S, const char *why) {
  if (S->stop || !S->interruptible) return 0;
  sbx_stop(L, S, TRK_STOP_HOST, why);
  return 1;  /* not reached */
}
const char *trk_sandbox_error_where (trk_sandbox *S) { return S->error_where; }

int trk_sandbox_set_interruptible (trk_sandbox *S, int on) {
  int was = S->interruptible;
  S->interruptible = on;
  return was;
}
int trk_sandbox_interrupted (void) { return sbx_interrupts > 0; }

/* The first Ctrl-C asks the script to stop at the next instruction (the host decides when
   that is safe); a second one ends the process at once. */
static void sbx_on_interrupt (int sig) {
  trk_sandbox *S = sbx_interruptee;
  if (sbx_interrupts++) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  if (S && S->running) lua_sethook(S->running, sbx_hook, LUA_MASKCOUNT, 1);
}

int trk_sandbox_catch_interrupts (trk_sandbox *S) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sbx_on_interrupt;
  sigemptyset(&sa.sa_mask);
  sbx_interruptee = S;
  return sigaction(SIGINT, &sa, NULL) == 0 && sigaction(SIGTERM, &sa, NULL) == 0;
}

lua_State *trk_sandbox_state (trk_sandbox *S) { return S->main; }

void trk_sandbox_push_env (trk_sandbox *S) {
  lua_getfield(S->main, LUA_REGISTRYINDEX, TRK_ENV_KEY);
}

int trk_sandbox_killed (trk_sandbox *S) { return S->killed != TRK_LIMIT_NONE; }

/* The thread swapped in is watched as the caller was: with an instruction budget or limit it
   gets the counting hook (a coroutine made before the budget started has none, and would
   escape it); once the run is stopped or stopping, or Ctrl-C is pending, a hook that fires at
   its first instruction. */
lua_State *trk_sandbox_swap_running (trk_sandbox *S, lua_State *co) {
  lua_State *prev = S->running;
  S->running = co;
  if (co) {
    if (S->killed || S->stop || S->mem_pending || sbx_interrupts)
      lua_sethook(co, sbx_hook, LUA_MASKCOUNT, 1);
    else if ((S->budget || S->opts.limits.max_instructions) &&
             (lua_gethook(co) != sbx_hook || !(lua_gethookmask(co) & LUA_MASKCOUNT)))
      lua_sethook(co, sbx_hook, LUA_MASKCOUNT, SBX_HOOK_STEPS);
  }
  return prev;
}

int trk_sandbox_expired (trk_sandbox *S) {
  if (!S->killed) sbx_check_time(S);
  return S->killed != TRK_LIMIT_NONE;
}

const trk_options *trk_sandbox_options (trk_sandbox *S) { return &S->opts; }
const char *trk_sandbox_script_dir (trk_sandbox *S) { return S->script_dir ? S->script_dir : ""; }

int trk_sandbox_set_script_dir (trk_sandbox *S, const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) + 1 : 0;
  free(S->script_dir);
  S->script_dir = malloc(n + 1);
  if (S->script_dir == NULL) return 0;
  memcpy(S->script_dir, path, n);
  S->script_dir[n] = '\0';
  return 1;
}

void trk_sandbox_write (lua_State *L, FILE *f, const char *data, size_t len) {
  trk_sandbox *S = trk_sandbox_of(L);
  size_t max = S->opts.limits.max_output;
  if (S->killed) sbx_raise(L, S);     /* a C function as a __close handler writes nothing */
  if (max && (len > max || S->output_used > max - len)) {
    sbx_kill(S, TRK_LIMIT_OUTPUT);
    sbx_raise(L, S);
  }
  S->output_used += len;
  if (len && fwrite(data, 1, len, f) != len)
    luaL_error(L, "write failed: %s", strerror(errno));
}

/* ---- the tick -------------------------------------------------------------------------

   A count hook makes Lua 5.4 trap on every instruction whatever the count, which halves the
   speed of plain Lua code. Unless an instruction budget is set, the hook is therefore off, and
   a timer signal every SBX_TICK_NS arms it on the running thread (lua_sethook is safe in a
   signal handler); the hook checks the clocks and switches itself off again. A signal handler
   reaches no state but a global: the one sandbox being watched. */

static trk_sandbox *volatile sbx_watched;

/* lua_sethook marks every Lua frame of the thread (O(depth)): a hook still armed (no Lua
   instruction ran since the last tick: C code, an error unwinding a deep stack) is left as it
   is, or ticks on a deep stack would take all the time there is. */
static void sbx_tick (int sig) {
  trk_sandbox *S = sbx_watched;
  lua_State *L = S ? S->running : NULL;
  (void)sig;
  if (L && !(lua_gethook(L) == sbx_hook && lua_gethookcount(L) == 1))
    lua_sethook(L, sbx_hook, LUA_MASKCOUNT, 1);
}

typedef struct sbx_timer {
  int on;
  timer_t id;
  struct sigaction old;
} sbx_timer;

static int sbx_timer_start (trk_sandbox *S, sbx_timer *t) {
  struct sigaction sa;
  struct sigevent sev;
  struct itimerspec its;
  t->on = 0;
  if (S->opts.limits.max_instructions) {     /* the count hook checks the clocks itself */
    lua_sethook(S->main, sbx_hook, LUA_MASKCOUNT, SBX_HOOK_STEPS);
    return 1;
  }
  if (S->opts.limits.max_cpu <= 0 && S->opts.limits.deadline <= 0) return 1;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sbx_tick;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGRTMIN;
  if (sigaction(SIGRTMIN, &sa, &t->old) != 0) return 0;
  if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) != 0) {
    sigaction(SIGRTMIN, &t->old, NULL);
    return 0;
  }
  sbx_watched = S;
  its.it_interval.tv_sec = its.it_value.tv_sec = 0;
  its.it_interval.tv_nsec = its.it_value.tv_nsec = SBX_TICK_NS;
  timer_settime(t->id, 0, &its, NULL);
  t->on = 1;
  return 1;
}

static void sbx_timer_stop (sbx_timer *t) {
  if (!t->on) return;
  timer_delete(t->id);
  sbx_watched = NULL;
  sigaction(SIGRTMIN, &t->old, NULL);
  t->on = 0;
}

/* ---- the allocator ----------------------------------------------------------------- */

/* Counts every byte the state holds. With ptr == NULL, osize is a type tag, not a size. */
static void *sbx_alloc (void *ud, void *ptr, size_t osize, size_t nsize) {
  trk_sandbox *S = ud;
  size_t old = ptr ? osize : 0, max = S->opts.limits.max_memory;
  int retry = 0;
  if (nsize == 0) {
    free(ptr);
    S->mem_used -= old;
    return NULL;
  }
  if (S->mem_pending) {  /* Lua retries the very same request after an emergency GC */
    retry = (ptr == S->pending_ptr && nsize == S->pending_size);
    S->mem_pending = 0;
    if (!retry) sbx_kill(S, TRK_LIMIT_MEMORY);
  }
  if (max && nsize > old) {
    size_t cap = S->killed ? max + SBX_KILL_HEADROOM : max;
    if (S->mem_used - old + nsize > cap) {
      if (S->killed) return NULL;
      if (retry) {
        sbx_kill(S, TRK_LIMIT_MEMORY);
        return NULL;
      }
      S->mem_pending = 1;
      S->pending_ptr = ptr;
      S->pending_size = nsize;
      if (S->running)    /* settle it before the script runs another instruction */
        lua_sethook(S->running, sbx_hook, LUA_MASKCOUNT, 1);
      return NULL;
    }
  }
  void *p = realloc(ptr, nsize);
  if (p == NULL) return NULL;
  S->mem_used = S->mem_used - old + nsize;
  /* the script's peak: what the host uses of the headroom after a kill is not the script's */
  if (S->mem_used > S->mem_peak && !S->killed) S->mem_peak = S->mem_used;
  return p;
}

static int sbx_panic (lua_State *L) {
  fprintf(stderr, "trk: unprotected error: %s\n",
          lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)");
  return 0;  /* abort */
}

/* ---- what the client is lent (bindings/tracker.h, trk_host) ------------------------------- */

/* The hook's checks, without raising: a limit (the clocks are read now), a stop that may
   unwind the code running now, Ctrl-C while it may be interrupted, a spent budget. */
static int sbx_host_should_stop (void *ud) {
  trk_sandbox *S = ud;
  if (!S->killed) {
    if (S->mem_pending) sbx_kill(S, TRK_LIMIT_MEMORY);
    else sbx_check_time(S);
  }
  if (S->killed) return 1;
  if (S->stop || sbx_interrupts) return S->interruptible;
  return S->budget && S->budget_used > S->budget;
}

static void sbx_host_raise (lua_State *L, void *ud) {
  sbx_raise_pending(L, ud);
}

static double sbx_host_time_left (void *ud) {
  trk_sandbox *S = ud;
  if (S->opts.limits.deadline <= 0) return HUGE_VAL;
  return S->opts.limits.deadline - (sbx_clock(CLOCK_MONOTONIC) - S->wall_start);
}

static size_t sbx_host_memory_left (void *ud) {
  trk_sandbox *S = ud;
  size_t max = S->opts.limits.max_memory;
  if (max == 0) return SIZE_MAX;
  return max > S->mem_used ? max - S->mem_used : 0;
}

/* C memory the script causes (cjson's buffer) counts as the state's own while it lives. */
static int sbx_host_reserve (void *ud, size_t n) {
  trk_sandbox *S = ud;
  size_t max = S->opts.limits.max_memory;
  if (S->killed) return 0;
  if (max && (n > max || S->mem_used > max - n)) {
    sbx_kill(S, TRK_LIMIT_MEMORY);
    return 0;
  }
  S->mem_used += n;
  if (S->mem_used > S->mem_peak) S->mem_peak = S->mem_used;
  return 1;
}

static void sbx_host_release (void *ud, size_t n) {
  trk_sandbox *S = ud;
  S->mem_used -= n;
}

/* Lends the client the sandbox's limits: registry[TRK_HOST_KEY]. */
static void sbx_lend (lua_State *L, trk_sandbox *S) {
  S->host.ud = S;
  S->host.should_stop = sbx_host_should_stop;
  S->host.raise = sbx_host_raise;
  S->host.time_left = sbx_host_time_left;
  S->host.poll = trk_sandbox_poll;
  S->host.memory_left = sbx_host_memory_left;
  S->host.reserve = sbx_host_reserve;
  S->host.release = sbx_host_release;
  lua_pushlightuserdata(L, &S->host);
  lua_setfield(L, LUA_REGISTRYINDEX, TRK_HOST_KEY);
}

/* ---- building --------------------------------------------------------------------- */

/* The host's own coroutine.resume, wrap and close become the sandbox's (from the overrides
   table on top), which keep S->running current: the client runs script code (a hook, a
   transport's handle) in coroutines it resumes itself (bindings/lua/writes.lua), and the tick
   arms the hook on S->running only. */
static void sbx_host_coroutines (lua_State *L) {
  static const char *const names[] = {"resume", "wrap", "close", NULL};
  lua_getglobal(L, "coroutine");
  for (int i = 0; names[i]; i++) {
    lua_pushfstring(L, "coroutine.%s", names[i]);
    lua_gettable(L, -3);
    if (lua_isfunction(L, -1)) lua_setfield(L, -2, names[i]);
    else lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* Builds the environment in protected mode: tracker.sandbox does the work. */
static int sbx_build (lua_State *L) {
  trk_sandbox *S = lua_touserdata(L, 1);
  const trk_embedded *e = trk_embedded_find("tracker.sandbox");
  luaL_openlibs(L);                             /* host-side only: never seen by scripts */
  sbx_lend(L, S);
  if (e == NULL) return luaL_error(L, "tracker.sandbox is not embedded");
  if (luaL_loadbufferx(L, e->chunk, e->size, "=[trk] tracker/sandbox.lua", "b") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  lua_getglobal(L, "package");                  /* the host's require answers this very */
  lua_getfield(L, -1, "loaded");                /* instance: what it marks read-only, the */
  lua_pushvalue(L, -3);                         /* script's rawset refuses */
  lua_setfield(L, -2, "tracker.sandbox");
  lua_pop(L, 2);
  lua_getfield(L, -1, "build");
  lua_createtable(L, 0, 3);
  lua_pushglobaltable(L);
  lua_setfield(L, -2, "source");
  S->library(L, S);
  sbx_host_coroutines(L);
  lua_setfield(L, -2, "overrides");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "string_metatable");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "json");                  /* require "json" answers the frozen table */
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_LOADED_KEY);
  lua_insert(L, -2);
  lua_setfield(L, -2, "json");
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, TRK_ENV_KEY);
  if (S->opts.has_seed) {
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, (lua_Integer)S->opts.seed);
    lua_call(L, 1, 0);
  }
  return 0;
}

trk_sandbox *trk_sandbox_create (const trk_options *o, trk_sandbox_library library, char *err,
                                 size_t errlen) {
  trk_sandbox *S = calloc(1, sizeof *S);
  if (S == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  S->opts = *o;
  S->library = library;
  S->cpu_start = sbx_clock(CLOCK_PROCESS_CPUTIME_ID);
  S->wall_start = sbx_clock(CLOCK_MONOTONIC);
  S->main = lua_newstate(sbx_alloc, S);
  if (S->main == NULL) {
    snprintf(err, errlen, "cannot create a Lua state");
    free(S);
    return NULL;
  }
  S->running = S->main;
  lua_atpanic(S->main, sbx_panic);
  lua_gc(S->main, LUA_GCGEN, 0, 0);   /* as the lua interpreter: young objects die cheaply */
  lua_pushcfunction(S->main, sbx_build);
  lua_pushlightuserdata(S->main, S);
  if (lua_pcall(S->main, 1, 0, 0) != LUA_OK) {
    snprintf(err, errlen, "cannot build the sandbox: %s",
             lua_type(S->main, -1) == LUA_TSTRING ? lua_tostring(S->main, -1) : "memory");
    trk_sandbox_free(S);
    return NULL;
  }
  return S;
}

void trk_sandbox_free (trk_sandbox *S) {
  if (S == NULL) return;
  lua_close(S->main);
  free(S->script_dir);
  free(S);
}

void trk_sandbox_usage (trk_sandbox *S, trk_usage *u) {
  u->memory = S->mem_used;
  u->memory_peak = S->mem_peak;
  u->output = S->output_used;
  u->instructions = S->instructions;
  u->cpu = sbx_clock(CLOCK_PROCESS_CPUTIME_ID) - S->cpu_start;
  u->wall = sbx_clock(CLOCK_MONOTONIC) - S->wall_start;
}

/* ---- running code: traceback, report ---------------------------------------------------- */

static void sbx_frame (luaL_Buffer *b, lua_Debug *ar) {
  char line[512];
  if (*ar->namewhat)
    snprintf(line, sizeof line, "\n\t%s:%d: in %s '%s'", ar->short_src, ar->currentline,
             ar->namewhat, ar->name);
  else if (*ar->what == 'm')
    snprintf(line, sizeof line, "\n\t%s:%d: in main chunk", ar->short_src, ar->currentline);
  else
    snprintf(line, sizeof line, "\n\t%s:%d: in function <%s:%d>", ar->short_src,
             ar->currentline, ar->short_src, ar->linedefined);
  luaL_addstring(b, line);
}

/* The deepest stack level, found in O(log n) probes (each probe walks the stack). */
static int sbx_lastlevel (lua_State *L) {
  lua_Debug ar;
  int li = 1, le = 1;
  while (lua_getstack(L, le, &ar)) {
    li = le;
    le *= 2;
  }
  while (li < le) {
    int m = (li + le) / 2;
    if (lua_getstack(L, m, &ar)) li = m + 1;
    else le = m;
  }
  return le - 1;
}

/* A traceback of the script's own frames (files it loaded), without host or C frames:
   the innermost few and the outermost few, whatever the depth. */
static void sbx_traceback (lua_State *L, luaL_Buffer *b) {
  lua_Debug ar;
  int last = sbx_lastlevel(L), level, top = 0, nbottom = 0, bottom[SBX_TRACE_TAIL];
  int header = 0;
  for (level = 1; level <= last && level <= SBX_TRACE_SCAN && top < SBX_TRACE_HEAD; level++) {
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Slnt", &ar) || ar.source[0] != '@')
      continue;
    if (!header++) luaL_addstring(b, "\nstack traceback:");
    sbx_frame(b, &ar);
    top++;
  }
  for (int l = last; l >= level && l > last - SBX_TRACE_SCAN && nbottom < SBX_TRACE_TAIL; l--)
    if (lua_getstack(L, l, &ar) && lua_getinfo(L, "S", &ar) && ar.source[0] == '@')
      bottom[nbottom++] = l;
  if (nbottom && bottom[nbottom - 1] > level) {
    if (!header++) luaL_addstring(b, "\nstack traceback:");
    char gap[64];
    snprintf(gap, sizeof gap, "\n\t...\t(skipping %d levels)", bottom[nbottom - 1] - level);
    luaL_addstring(b, gap);
  }
  while (nbottom-- > 0) {
    lua_getstack(L, bottom[nbottom], &ar);
    lua_getinfo(L, "Slnt", &ar);
    if (!header++) luaL_addstring(b, "\nstack traceback:");
    sbx_frame(b, &ar);
  }
}

/* Message handler: the error text and the script's traceback. Runs no script code once
   a limit has stopped the run. */
int trk_sandbox_msgh (lua_State *L) {
  trk_sandbox *S = trk_sandbox_of(L);
  luaL_Buffer b;
  if (S->killed || S->stop) return 1;
  sbx_script_where(L, S->error_where, sizeof S->error_where);
  if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
    if (luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
      lua_pop(L, 1);
      luaL_tolstring(L, 1, NULL);    /* the script's own __tostring, still under limits */
    }
    else
      lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    lua_replace(L, 1);
  }
  luaL_buffinit(L, &b);
  {
    size_t len;                      /* all of it: a message may hold a NUL */
    const char *msg = lua_tolstring(L, 1, &len);
    luaL_addlstring(&b, msg, len);
  }
  sbx_traceback(L, &b);
  luaL_pushresult(&b);
  return 1;
}

/* "256 MiB", "1500 bytes" */
static void sbx_size (char *buf, size_t n, size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) snprintf(buf, n, "%zu MiB", bytes >> 20);
  else if (bytes >= 1024 && bytes % 1024 == 0) snprintf(buf, n, "%zu KiB", bytes >> 10);
  else snprintf(buf, n, "%zu bytes", bytes);
}

static int sbx_report (trk_sandbox *S, int status) {
  lua_State *L = S->main;
  if (S->killed) {
    const trk_limits *lim = &S->opts.limits;
    char value[64] = "";
    switch (S->killed) {
      case TRK_LIMIT_MEMORY: sbx_size(value, sizeof value, lim->max_memory); break;
      case TRK_LIMIT_CPU: snprintf(value, sizeof value, "%g s of CPU", lim->max_cpu); break;
      case TRK_LIMIT_DEADLINE: snprintf(value, sizeof value, "%g s", lim->deadline); break;
      case TRK_LIMIT_OUTPUT: sbx_size(value, sizeof value, lim->max_output); break;
      case TRK_LIMIT_INSTRUCTIONS:
        snprintf(value, sizeof value, "%llu instructions",
                 (unsigned long long)lim->max_instructions);
        break;
      default: break;
    }
    fprintf(stderr, "trk: %s%s%s limit exceeded (%s, %s); the script was stopped\n",
            S->where, S->where[0] ? ": " : "", trk_limit_name(S->killed), value,
            trk_limit_option(S->killed));
    return TRK_EXIT_LIMIT;
  }
  if (status == LUA_OK) return TRK_EXIT_OK;
  if (lua_type(L, -1) != LUA_TSTRING)
    fprintf(stderr, "(error without a message)\n");
  else
    fprintf(stderr, "%s\n", trk_sandbox_bounded(L, -1));
  return TRK_EXIT_ERROR;
}

const char *trk_sandbox_bounded (lua_State *L, int idx) {
  size_t len;
  const char *msg = lua_tolstring(L, idx, &len);
  if (len <= SBX_REPORT_MAX) {
    lua_pushvalue(L, idx);
    return msg;
  }
  lua_pushlstring(L, msg, SBX_REPORT_MAX);
  lua_pushfstring(L, "\n... (%I more bytes of error message)", (lua_Integer)(len - SBX_REPORT_MAX));
  lua_concat(L, 2);
  return lua_tostring(L, -1);
}

int trk_sandbox_run (trk_sandbox *S, lua_CFunction fn, void *ud) {
  lua_State *L = S->main;
  sbx_timer timer;
  int status;
  lua_settop(L, 0);
  lua_pushcfunction(L, trk_sandbox_msgh);
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, ud);
  S->cpu_start = sbx_clock(CLOCK_PROCESS_CPUTIME_ID);
  S->wall_start = sbx_clock(CLOCK_MONOTONIC);
  if (!sbx_timer_start(S, &timer)) {
    fprintf(stderr, "trk: cannot start the limit timer: %s\n", strerror(errno));
    return TRK_EXIT_ERROR;
  }
  status = lua_pcall(L, 1, 1, 1);
  sbx_timer_stop(&timer);
  fflush(stdout);
  if (status != LUA_OK || S->killed) return sbx_report(S, status);
  return TRK_EXIT_OK;
}
