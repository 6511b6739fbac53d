/* Lua coverage and driver loading for the fuzz targets (spec/fuzz/). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "fuzz_lua.h"

#define FUZZ_COUNTERS  (1u << 16)            /* extra counters: edges between Lua lines */
#define FUZZ_DRIVER    "trk.fuzz.driver"      /* registry: the driver's function */

/* ---- coverage ------------------------------------------------------------------------ */

/* libFuzzer reads every byte of this section after each run as extra coverage features. */
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t fuzz_counters[FUZZ_COUNTERS];

/* The hash of a chunk's name, cached by the name's address: hashing the text keeps the
   counters the same across Lua states (a name's address is not). */
static uint32_t fuzz_source_hash (const char *source) {
  static const char *last;
  static uint32_t last_hash;
  if (source != last) {
    uint32_t h = 2166136261u;
    for (const char *p = source; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    last = source;
    last_hash = h;
  }
  return last_hash;
}

/* TRK_FUZZ_LINES=FILE: the Lua lines run are written to FILE at exit ("chunk:line" each),
   for a coverage report. Chunk names are kept by address: the states live until exit. */
#define FUZZ_LINES_MAX  (1u << 16)

static struct fuzz_line { const char *source; int line; } *fuzz_lines;
static const char *fuzz_lines_path;

static void fuzz_lines_add (const char *source, int line) {
  uint32_t h = ((uint32_t)(uintptr_t)source * 2654435761u) ^ ((uint32_t)line * 40503u);
  for (uint32_t i = 0; i < FUZZ_LINES_MAX; i++) {
    struct fuzz_line *e = &fuzz_lines[(h + i) % FUZZ_LINES_MAX];
    if (e->source == source && e->line == line) return;
    if (e->source == NULL) {
      e->source = source;
      e->line = line;
      return;
    }
  }
}

static void fuzz_lines_write (void) {
  FILE *f = fopen(fuzz_lines_path, "w");
  if (f == NULL) return;
  for (uint32_t i = 0; i < FUZZ_LINES_MAX; i++)
    if (fuzz_lines[i].source) fprintf(f, "%s:%d\n", fuzz_lines[i].source, fuzz_lines[i].line);
  fclose(f);
}

/* Counts the edge from the previous line run to this one (as AFL counts branch edges). */
static void fuzz_line_hook (lua_State *L, lua_Debug *ar) {
  static uint32_t prev;
  if (!lua_getinfo(L, "S", ar)) return;
  if (fuzz_lines) fuzz_lines_add(ar->source, ar->currentline);
  uint32_t loc = (fuzz_source_hash(ar->source) ^ ((uint32_t)ar->currentline * 2654435761u))
                 % FUZZ_COUNTERS;
  uint8_t *c = &fuzz_counters[(loc ^ prev) % FUZZ_COUNTERS];
  if (*c != 255) (*c)++;
  prev = loc >> 1;
}

void fuzz_cover (lua_State *L) {
  if (getenv("TRK_FUZZ_NOCOVER")) return;
  if ((fuzz_lines_path = getenv("TRK_FUZZ_LINES")) != NULL && fuzz_lines == NULL) {
    fuzz_lines = calloc(FUZZ_LINES_MAX, sizeof *fuzz_lines);
    if (fuzz_lines) atexit(fuzz_lines_write);
  }
  lua_sethook(L, fuzz_line_hook, LUA_MASKLINE, 0);
}

/* ---- drivers ------------------------------------------------------------------------- */

void fuzz_bug (const char *fmt, ...) {
  va_list ap;
  fputs("\n==== trk fuzz: bug found: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n", stderr);
  fflush(stderr);
  abort();
}

static int fuzz_traceback (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : luaL_tolstring(L, 1, NULL), 1);
  return 1;
}

void fuzz_driver (lua_State *L, const char *name, int env) {
  if (env) env = lua_absindex(L, env);
  lua_pushcfunction(L, fuzz_traceback);
  lua_pushfstring(L, "%s/%s.lua", TRK_FUZZ_DRIVERS, name);
  if (luaL_loadfilex(L, lua_tostring(L, -1), "t") != LUA_OK)
    fuzz_bug("driver %s: %s", name, lua_tostring(L, -1));
  lua_remove(L, -2);                                /* the file name */
  if (env) {
    lua_pushvalue(L, env);
    lua_setupvalue(L, -2, 1);                       /* _ENV */
  }
  if (lua_pcall(L, 0, 1, -2) != LUA_OK) fuzz_bug("driver %s: %s", name, lua_tostring(L, -1));
  if (lua_type(L, -1) != LUA_TFUNCTION) fuzz_bug("driver %s returned no function", name);
  lua_setfield(L, LUA_REGISTRYINDEX, FUZZ_DRIVER);
  lua_pop(L, 1);                                    /* the traceback handler */
}

void fuzz_run (lua_State *L, const char *data, size_t size, const char *extra) {
  int top = lua_gettop(L), status;
  lua_pushcfunction(L, fuzz_traceback);
  lua_getfield(L, LUA_REGISTRYINDEX, FUZZ_DRIVER);
  lua_pushlstring(L, data, size);
  if (extra) lua_pushstring(L, extra);
  else lua_pushnil(L);
  status = lua_pcall(L, 2, 1, top + 1);
  if (status == LUA_ERRMEM) {
    lua_settop(L, top);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return;
  }
  if (status != LUA_OK)
    fuzz_bug("error escaping the driver: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  if (!lua_isnil(L, -1)) fuzz_bug("%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  lua_settop(L, top);
  /* Frees what the run left: libFuzzer checks for leaks (slowly) after every run that
     allocated more than it freed. */
  lua_gc(L, LUA_GCCOLLECT, 0);
}
