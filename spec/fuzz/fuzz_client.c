/* Fuzz target: the client's decoding and normalisation of Tracker's answers. The input is the
   list of HTTP answers a fake server gives, one per request, to a client running one
   operation (a stream read to its end, a lookup, metadata); drivers/client.lua says how. */
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lualib.h>

#include "fuzz_lua.h"
#include "tracker.h"

static lua_State *fuzz_L;

int LLVMFuzzerInitialize (int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_L = luaL_newstate();
  if (fuzz_L == NULL) fuzz_bug("cannot create a Lua state");
  luaL_openlibs(fuzz_L);
  luaL_requiref(fuzz_L, "tracker", luaopen_tracker, 0);   /* what require "tracker" finds */
  lua_pop(fuzz_L, 1);
  fuzz_driver(fuzz_L, "client", 0);
  fuzz_cover(fuzz_L);
  return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  fuzz_run(fuzz_L, (const char *)data, size, NULL);
  return 0;
}
