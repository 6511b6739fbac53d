/* embed_compile: a build step. Compiles one Lua source to bytecode under a chosen chunk name,
   for runtime/embed.cmake, so that trk and tracker.so load their Lua parts without parsing
   them at every start. Built against the same Lua library as trk, so the bytecode matches. */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

static int ec_write (lua_State *L, const void *p, size_t n, void *ud) {
  (void)L;
  return fwrite(p, 1, n, ud) != n;
}

/* Reads the whole file into a Lua string on the stack, or fails with a message. */
static int ec_read (lua_State *L, const char *path) {
  luaL_Buffer b;
  char chunk[8192];
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  luaL_buffinit(L, &b);
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) luaL_addlstring(&b, chunk, n);
  luaL_pushresult(&b);
  n = (size_t)ferror(f);
  fclose(f);
  return n == 0;
}

/* embed_compile IN OUT CHUNKNAME: the chunk's debug information is kept (line numbers in
   error messages); its source name is CHUNKNAME ("=[trk] tracker/sandbox.lua"). */
static int ec_main (lua_State *L) {
  char **argv = lua_touserdata(L, 1);
  size_t len;
  const char *text;
  FILE *out;
  int failed;
  if (!ec_read(L, argv[1])) return luaL_error(L, "cannot read %s", argv[1]);
  text = lua_tolstring(L, -1, &len);
  if (luaL_loadbufferx(L, text, len, argv[3], "t") != LUA_OK) return lua_error(L);
  out = fopen(argv[2], "wb");
  if (out == NULL) return luaL_error(L, "cannot write %s", argv[2]);
  failed = lua_dump(L, ec_write, out, 0);
  failed |= fclose(out) != 0;
  if (failed) return luaL_error(L, "cannot write %s", argv[2]);
  return 0;
}

int main (int argc, char **argv) {
  lua_State *L;
  int status;
  if (argc != 4) {
    fprintf(stderr, "usage: embed_compile IN.lua OUT.luac CHUNKNAME\n");
    return 2;
  }
  L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "embed_compile: cannot create a Lua state\n");
    return 1;
  }
  lua_pushcfunction(L, ec_main);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 1, 0, 0);
  if (status != LUA_OK)
    fprintf(stderr, "embed_compile: %s\n", lua_tostring(L, -1));
  lua_close(L);
  return status == LUA_OK ? 0 : 1;
}
