/* C tests of the sandbox host: the allocator's accounting and limits kept in host state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "sbxlib.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) passed++; \
    else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
  } while (0)

static const char *script_file (const char *source) {
  static char path[64];
  FILE *f;
  snprintf(path, sizeof path, "/tmp/trk-test-sandbox-%d.lua", (int)getpid());
  f = fopen(path, "w");
  fputs(source, f);
  fclose(f);
  return path;
}

static int run (const trk_options *o, const char *source, trk_usage *u, size_t *lua_bytes) {
  static const trk_opt no_options[] = {{0}};
  char err[256], *argv[1] = {(char *)script_file(source)};
  trk_cli c;
  trk_sandbox *S = trk_sandbox_new(o, err, sizeof err);
  int code;
  if (S == NULL) {
    printf("cannot create sandbox: %s\n", err);
    exit(1);
  }
  if (trk_cli_parse(&c, "run", no_options, 0, 1, argv, NULL) >= 0) exit(1);
  trk_cli_set(&c, "script", c.words[0]);
  code = trk_host_run(S, "run", &c);                 /* as `trk run SCRIPT` */
  trk_cli_free(&c);
  trk_sandbox_usage(S, u);
  if (lua_bytes) {
    lua_State *L = trk_sandbox_state(S);
    *lua_bytes = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
  }
  trk_sandbox_free(S);
  return code;
}

int main (void) {
  trk_options o;
  trk_usage u;
  size_t lua_bytes;
  int code;

  /* Lua's own count of its memory and the allocator's must agree to the byte: with
     ptr == NULL, osize is a type tag, and counting it as a size would drift. */
  trk_options_default(&o);
  code = run(&o, "local t = {} for i = 1, 1e5 do t[i] = { i, tostring(i) } end "
                 "local co = coroutine.create(function() local s = ('x'):rep(1e5) "
                 "coroutine.yield(#s) end) coroutine.resume(co) keep = t", &u, &lua_bytes);
  CHECK(code == TRK_EXIT_OK, "script ran (exit %d)", code);
  CHECK(u.memory == lua_bytes, "allocator counts %zu bytes, Lua counts %zu", u.memory, lua_bytes);
  CHECK(u.memory_peak >= u.memory && u.memory_peak > 1000000, "peak %zu", u.memory_peak);

  /* The limit holds exactly: the peak never passes it, and the run stops. */
  trk_options_default(&o);
  o.limits.max_memory = 4u << 20;
  code = run(&o, "local t = {} while true do t[#t + 1] = ('y'):rep(100) .. #t end", &u, NULL);
  CHECK(code == TRK_EXIT_LIMIT, "memory bomb stopped (exit %d)", code);
  CHECK(u.memory_peak <= o.limits.max_memory, "peak %zu over the limit %zu", u.memory_peak,
        o.limits.max_memory);

  /* The instruction budget lives in the host: coroutines share it and cannot reset it. */
  trk_options_default(&o);
  o.limits.max_instructions = 2000000;
  code = run(&o, "while true do local co = coroutine.wrap(function() for i = 1, 1000 do end end) "
                 "co() end", &u, NULL);
  CHECK(code == TRK_EXIT_LIMIT, "instruction budget stopped coroutines (exit %d)", code);
  CHECK(u.instructions >= o.limits.max_instructions && u.instructions < 2 * o.limits.max_instructions,
        "instructions counted %llu", (unsigned long long)u.instructions);

  /* A script within its limits is not disturbed by them. */
  trk_options_default(&o);
  o.limits.max_instructions = 50000000;
  code = run(&o, "local n = 0 for i = 1, 1e6 do n = n + i end assert(n == 500000500000)", &u, NULL);
  CHECK(code == TRK_EXIT_OK, "ordinary script ran (exit %d)", code);

  remove(script_file(""));
  printf("sandbox: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
