/* json for scripts: encode, decode and null, over a private cjson instance they cannot configure. */

#include <lauxlib.h>

#include "sbxlib.h"
#include "tracker.h"

/* ---- encode ------------------------------------------------------------------------ */

/* Bounded as the client's encode is (bindings/json.c): over the memory left, the memory limit
   stops the run; over TRK_JSON_MAX_TEXT, an error; cjson's buffer counts as the script's. */
static int json_encode (lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  return trk_json_encode(L, lua_upvalueindex(1), 1, TRK_JSON_MAX_DEPTH, "json.encode");
}

/* ---- decode ------------------------------------------------------------------------ */

static int json_decode (lua_State *L) {
  size_t len;
  luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  if (len > TRK_JSON_MAX_DECODE)
    return luaL_error(L, "json.decode: input is %d MiB, over the %d MiB limit",
                      (int)(len >> 20), (int)(TRK_JSON_MAX_DECODE >> 20));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  int status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    trk_sandbox_check(L, status);
    return luaL_error(L, "json.decode: %s", lua_tostring(L, -1));
  }
  trk_json_integers(L, TRK_JSON_MAX_DEPTH);   /* integral values as integers: 1, not 1.0 */
  return 1;
}

/* ---- the module -------------------------------------------------------------------- */

void trk_sbx_json_open (lua_State *L, trk_sandbox *S) {
  (void)S;
  trk_json_module(L, TRK_JSON_MAX_DEPTH, 1, json_encode, json_decode);
}
