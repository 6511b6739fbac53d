/* The host table: what the runtime's Lua drivers (scripts/trk/commands.lua) get from C to
   run scripts and rules in the sandbox, and running a driver with it. Scripts never see it. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "sbxlib.h"
#include "scripts.h"
#include "store.h"
#include "tracker.h"

static trk_sandbox *host_sandbox (lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

/* host.load(path): the file as a chunk whose _ENV is the script environment, or nil, message
   and "missing" (cannot open) or "syntax". */
static int host_load (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int status = luaL_loadfilex(L, path, "t");
  if (status != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    lua_pushstring(L, status == LUA_ERRFILE ? "missing" : "syntax");
    return 3;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_ENV_KEY);
  lua_setupvalue(L, -2, 1);
  return 1;
}

/* Calls f with the arguments above it: true and its results, or false, the message (with the
   script's traceback), "budget", "interrupt" or "stop" (host.stop) for a stop, and where it
   happened. A limit that stopped the whole run raises on. Calls nest: the caller's
   interruptibility comes back on return. */
static int host_pcall (lua_State *L, int base, int interruptible) {
  trk_sandbox *S = host_sandbox(L);
  int status, was;
  lua_pushcfunction(L, trk_sandbox_msgh);
  lua_insert(L, base);
  was = trk_sandbox_set_interruptible(S, interruptible);
  status = lua_pcall(L, lua_gettop(L) - base - 1, LUA_MULTRET, base);
  trk_sandbox_set_interruptible(S, was);
  lua_remove(L, base);
  if (trk_sandbox_killed(S)) return lua_error(L);
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    lua_insert(L, base);
    return lua_gettop(L) - base + 1;
  }
  lua_pushboolean(L, 0);
  lua_insert(L, -2);
  switch (trk_sandbox_stopped(S)) {
    case TRK_STOP_BUDGET: lua_pushliteral(L, "budget"); break;
    case TRK_STOP_INTERRUPT: lua_pushliteral(L, "interrupt"); break;
    case TRK_STOP_HOST: lua_pushliteral(L, "stop"); break;
    default: lua_pushboolean(L, 0);
  }
  lua_pushstring(L, trk_sandbox_error_where(S));
  return 4;
}

/* host.call(f, ...): runs script code, stoppable by Ctrl-C. */
static int host_call (lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  return host_pcall(L, 1, 1);
}

/* host.budget_call(n, f, ...): the same within n instructions; a budget stop is cleared once
   caught, so the next call starts afresh. */
static int host_budget_call (lua_State *L) {
  trk_sandbox *S = host_sandbox(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  int r;
  luaL_argcheck(L, n >= 0, 1, "budget must not be negative");
  luaL_checktype(L, 2, LUA_TFUNCTION);
  trk_sandbox_budget(S, L, (uint64_t)n);
  r = host_pcall(L, 2, 1);
  trk_sandbox_budget(S, L, 0);
  if (trk_sandbox_stopped(S) == TRK_STOP_BUDGET) trk_sandbox_clear_stop(S);
  return r;
}

/* host.stop(why): stops the script code running now with the message why, as Ctrl-C would;
   host.call answers false, the message, "stop". Answers false when no script code that may
   be stopped is running. */
static int host_stop (lua_State *L) {
  const char *why = luaL_checkstring(L, 1);
  lua_pushboolean(L, trk_sandbox_stop(L, host_sandbox(L), why));
  return 1;
}

static int host_interrupted (lua_State *L) {
  lua_pushboolean(L, trk_sandbox_interrupted());
  return 1;
}

/* host.sleep(seconds): sleeps in short slices, waking early for Ctrl-C (answers false then:
   the host decides what to do); a limit that passes meanwhile (--deadline, --max-cpu) stops
   the run at once, as it would stop script code. */
#define HOST_SLEEP_SLICE  0.05     /* seconds between two looks at Ctrl-C and the clocks */

static double host_monotonic (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int host_sleep (lua_State *L) {
  trk_sandbox *S = host_sandbox(L);
  double s = luaL_checknumber(L, 1);
  double end = host_monotonic() + (s > 0 ? s : 0);
  while (!trk_sandbox_interrupted()) {
    if (trk_sandbox_expired(S)) trk_sandbox_check(L, LUA_OK);   /* raises the limit */
    double left = end - host_monotonic();
    if (!(left > 0)) break;
    if (left > HOST_SLEEP_SLICE) left = HOST_SLEEP_SLICE;
    struct timespec ts;
    ts.tv_sec = (time_t)left;
    ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);         /* a signal ends a slice early: look again */
  }
  lua_pushboolean(L, !trk_sandbox_interrupted());
  return 1;
}

static int host_isatty (lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* Seconds on a monotonic clock. */
static int host_clock (lua_State *L) {
  lua_pushnumber(L, host_monotonic());
  return 1;
}

/* The process's peak resident memory, in bytes. */
static int host_peak_rss (lua_State *L) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  lua_pushinteger(L, (lua_Integer)ru.ru_maxrss * 1024);
  return 1;
}

/* host.pid(): this process's id. */
static int host_pid (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* host.alive(pid): whether process pid exists (it may belong to another user). */
static int host_alive (lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  /* 0 and negative ids name process groups, not a process */
  lua_pushboolean(L, pid > 0 && pid <= INT_MAX &&
                     (kill((pid_t)pid, 0) == 0 || errno == EPERM));
  return 1;
}

/* host.now(): the --now instant, or nil. */
static int host_now (lua_State *L) {
  const trk_options *o = trk_sandbox_options(host_sandbox(L));
  if (!o->has_now) return 0;
  lua_pushinteger(L, (lua_Integer)o->now);
  return 1;
}

/* host.set_script_dir(dir): where require finds modules beside the script. */
static int host_set_script_dir (lua_State *L) {
  trk_sandbox_set_script_dir(host_sandbox(L), luaL_checkstring(L, 1));
  return 0;
}

/* host.exec(argv, env): replaces the process with argv[1] (searched on PATH), after setting
   the environment variables in env. Returns only on failure: nil, message. */
static int host_exec (lua_State *L) {
  int n;
  char **argv;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "empty command");
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      setenv(luaL_checkstring(L, -2), luaL_checkstring(L, -1), 1);
      lua_pop(L, 1);
    }
  }
  argv = lua_newuserdatauv(L, sizeof *argv * (size_t)(n + 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    argv[i] = (char *)luaL_checkstring(L, -1);   /* kept alive by the table */
    lua_pop(L, 1);
  }
  argv[n] = NULL;
  fflush(NULL);
  execvp(argv[0], argv);
  lua_pushnil(L);
  lua_pushfstring(L, "cannot run %s: %s", argv[0], strerror(errno));
  return 2;
}

/* host.mode(path): the file's permission bits (st_mode & 07777), or nil and why. A secret
   file must not be readable by others: trk.profiles checks with this. */
static int host_mode (lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) return luaL_fileresult(L, 0, path);
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  return 1;
}

/* host.bounded(text) -> the text as an error message is shown: bounded (trk_sandbox_bounded). */
static int host_bounded (lua_State *L) {
  luaL_checkstring(L, 1);
  trk_sandbox_bounded(L, 1);
  return 1;
}

void trk_host_open (lua_State *L, trk_sandbox *S) {
  static const luaL_Reg funcs[] = {
    {"load", host_load}, {"call", host_call}, {"budget_call", host_budget_call},
    {"interrupted", host_interrupted}, {"stop", host_stop}, {"sleep", host_sleep},
    {"isatty", host_isatty},
    {"clock", host_clock}, {"peak_rss", host_peak_rss}, {"now", host_now},
    {"set_script_dir", host_set_script_dir}, {"exec", host_exec}, {"pid", host_pid},
    {"alive", host_alive}, {"bounded", host_bounded}, {"mode", host_mode}, {NULL, NULL}
  };
  lua_newtable(L);
  lua_pushlightuserdata(L, S);
  luaL_setfuncs(L, funcs, 1);
  trk_store_open(L);
  lua_setfield(L, -2, "store");
  trk_sbx_json_open(L, S);        /* the host's own json: scripts can neither reach nor replace it */
  lua_setfield(L, -2, "json");
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_ENV_KEY);
  lua_setfield(L, -2, "env");
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_LOADED_KEY);
  lua_setfield(L, -2, "loaded");
  lua_pushboolean(L, trk_sandbox_catch_interrupts(S));
  lua_setfield(L, -2, "catches_interrupts");
}

/* ---- running a driver ------------------------------------------------------------------------ */

/* The host's require finds trk's own modules only: package.preload, then the embedded
   scripts; never a file on disk. */
static int host_searcher (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const trk_embedded *e = trk_embedded_find(name);
  if (e == NULL) {
    lua_pushfstring(L, "no module '%s' shipped with trk", name);
    return 1;
  }
  if (luaL_loadbufferx(L, e->chunk, e->size, e->path, "b") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, e->path);
  return 2;
}

static void host_require (lua_State *L) {
  lua_getglobal(L, "package");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_tracker);
  lua_setfield(L, -2, "tracker");
  lua_pop(L, 1);
  lua_getfield(L, -1, "searchers");
  lua_rawgeti(L, -1, 1);                 /* the preload searcher */
  lua_newtable(L);
  lua_insert(L, -2);
  lua_rawseti(L, -2, 1);
  lua_pushcfunction(L, host_searcher);
  lua_rawseti(L, -2, 2);
  lua_setfield(L, -3, "searchers");
  lua_pop(L, 2);
}

/* What trk_host_run hands host_driver. */
typedef struct host_job {
  trk_sandbox *S;
  const char *command;
  const trk_cli *cli;
} host_job;

static int host_driver (lua_State *L) {
  const host_job *job = lua_touserdata(L, 1);
  const trk_embedded *e = trk_embedded_find("trk.commands");
  if (e == NULL) return luaL_error(L, "trk.commands is not embedded");
  host_require(L);
  if (luaL_loadbufferx(L, e->chunk, e->size, e->path, "b") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  if (lua_getfield(L, -1, job->command) != LUA_TFUNCTION)
    return luaL_error(L, "trk.commands has no command '%s'", job->command);
  trk_host_open(L, job->S);
  trk_cli_push(L, job->cli);
  lua_call(L, 2, 1);
  return 1;
}

int trk_host_run (trk_sandbox *S, const char *command, const trk_cli *c) {
  host_job job = {S, command, c};
  lua_State *L = trk_sandbox_state(S);
  int code = trk_sandbox_run(S, host_driver, &job);
  if (code == TRK_EXIT_OK && lua_isinteger(L, -1)) code = (int)lua_tointeger(L, -1);
  lua_settop(L, 0);
  return code;
}
