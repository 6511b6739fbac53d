/* json for scripts: encode, decode and null, over a private cjson instance they cannot configure. */
#include <math.h>
#include <stdint.h>

#include <lauxlib.h>

#include "sbxlib.h"

int luaopen_cjson(lua_State *L);

#define JSON_POLL_EVERY  4096     /* values walked between two limit checks */

/* ---- encode ------------------------------------------------------------------------ */

typedef struct json_walk {
  size_t size, cap;               /* estimated output bytes; give up past cap */
  unsigned long seen;
} json_walk;

/* An upper bound of the encoded size of the value at idx. cjson builds its output in
   malloc'd memory outside the sandbox's allocator, so a value whose text would not fit in
   the memory left is refused before cjson starts. */
static void json_estimate (lua_State *L, int idx, int depth, json_walk *w) {
  if (w->size > w->cap || depth > TRK_JSON_MAX_DEPTH) return;  /* cjson reports the depth */
  if (++w->seen % JSON_POLL_EVERY == 0) trk_sandbox_poll(L, NULL);
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: w->size += lua_rawlen(L, idx) * 6 + 2; break;   /* \u00XX worst case */
    case LUA_TNUMBER: w->size += 32; break;
    case LUA_TBOOLEAN: w->size += 5; break;
    case LUA_TTABLE:
      luaL_checkstack(L, 3, "json.encode: value too deep");
      idx = lua_absindex(L, idx);
      w->size += 2;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        json_estimate(L, -2, depth + 1, w);
        json_estimate(L, -1, depth + 1, w);
        w->size += 2;
        lua_pop(L, 1);
        if (w->size > w->cap) {
          lua_pop(L, 1);
          return;
        }
      }
      break;
    default: w->size += 4; break;
  }
}

static size_t json_memory_left (lua_State *L) {
  trk_sandbox *S = trk_sandbox_of(L);
  trk_usage u;
  size_t max = trk_sandbox_options(S)->limits.max_memory;
  trk_sandbox_usage(S, &u);
  if (max == 0) return SIZE_MAX / 8;
  return max > u.memory ? max - u.memory : 0;
}

static int json_encode (lua_State *L) {
  json_walk w = {0, 0, 0};
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  w.cap = json_memory_left(L);
  json_estimate(L, 1, 0, &w);
  if (w.size > w.cap)
    return luaL_error(L, "json.encode: the encoded value would not fit in the memory left "
                      "(%d KiB; see --max-memory)", (int)(w.cap >> 10));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

/* ---- decode ------------------------------------------------------------------------ */

/* JSON has one number type: integral values come back as Lua integers (1, not 1.0). */
static void json_integers (lua_State *L, int idx, int depth) {
  if (depth > TRK_JSON_MAX_DEPTH) return;
  luaL_checkstack(L, 3, "json.decode: value too deep");
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TTABLE)
      json_integers(L, -1, depth + 1);
    else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      double d = lua_tonumber(L, -1);
      if (d == floor(d) && fabs(d) <= 9007199254740992.0) {   /* 2^53: exact in a double */
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)d);
        lua_rawset(L, idx);
      }
    }
    lua_pop(L, 1);
  }
}

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
  if (lua_type(L, -1) == LUA_TTABLE)
    json_integers(L, -1, 0);
  else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
    double d = lua_tonumber(L, -1);
    if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
      lua_pop(L, 1);
      lua_pushinteger(L, (lua_Integer)d);
    }
  }
  return 1;
}

/* ---- the module -------------------------------------------------------------------- */

static void json_configure (lua_State *L, const char *setting, int arg) {
  lua_getfield(L, -1, setting);
  if (arg < 0) lua_pushboolean(L, 0);
  else lua_pushinteger(L, arg);
  lua_call(L, 1, 0);
}

void trk_sbx_json_open (lua_State *L, trk_sandbox *S) {
  (void)S;
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "new");             /* a private instance: settings are per instance */
  lua_call(L, 0, 1);
  json_configure(L, "encode_max_depth", TRK_JSON_MAX_DEPTH);
  json_configure(L, "decode_max_depth", TRK_JSON_MAX_DEPTH);
  json_configure(L, "encode_invalid_numbers", -1);
  json_configure(L, "decode_invalid_numbers", -1);
  json_configure(L, "encode_keep_buffer", -1);

  lua_createtable(L, 0, 3);
  lua_getfield(L, -2, "encode");
  lua_pushcclosure(L, json_encode, 1);
  lua_setfield(L, -2, "encode");
  lua_getfield(L, -2, "decode");
  lua_pushcclosure(L, json_decode, 1);
  lua_setfield(L, -2, "decode");
  lua_getfield(L, -2, "null");
  lua_setfield(L, -2, "null");
  lua_replace(L, -3);
  lua_pop(L, 1);
}
