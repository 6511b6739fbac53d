/* luaopen_tracker: the Tracker client as a Lua module. */
/*
** The module is C (errors, time, transport, JSON and base64 helpers) plus the client's Lua
** parts from bindings/lua/, compiled in (client_lua.c). Those are loaded into a PRIVATE
** environment: its globals read through to the state's real globals, and it adds `import`
** (the other Lua parts), `native` (the helpers below) and `tracker` (this module). A script
** can reach none of it but what client.lua returns, so credentials held there stay there.
*/
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "embedded.h"
#include "lazyjson.h"                    /* TRK_JSON_DEPTH */
#include "trk_time.h"
#include "tracker.h"
#include "transport.h"

#ifndef TRK_VERSION
#define TRK_VERSION "0.0.0"
#endif



/* ---- native: helpers for the Lua parts ----------------------------------------------- */

static double native_now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int native_clock (lua_State *L) {
  lua_pushnumber(L, (lua_Number)native_now());
  return 1;
}

static int native_epoch (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)time(NULL));
  return 1;
}

/* ---- what the host lends (tracker.h) ---------------------------------------------------- */

const trk_host *trk_host_get (lua_State *L) {
  const trk_host *h = NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, TRK_HOST_KEY) == LUA_TLIGHTUSERDATA)
    h = (const trk_host *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return h;
}

static void native_nap (double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
  nanosleep(&ts, NULL);           /* a signal ends it early: the caller looks again */
}

void trk_host_sleep (lua_State *L, double s) {
  const trk_host *h;
  if (!(s > 0)) return;
  if (s > TRK_SLEEP_MAX) s = TRK_SLEEP_MAX;
  h = trk_host_get(L);            /* NULL under plain Lua: sleep it all, in one slice */
  double end = native_now() + s;
  for (;;) {
    if (h && h->should_stop(h->ud)) h->raise(L, h->ud);
    double slice = end - native_now();
    if (slice <= 0) return;
    if (h) {
      double until = h->time_left(h->ud);        /* wake at the deadline, not after it */
      if (slice > TRK_WAIT_SLICE) slice = TRK_WAIT_SLICE;
      if (until < slice) slice = until > 0.001 ? until : 0.001;
    }
    native_nap(slice);
  }
}

static int native_sleep (lua_State *L) {
  trk_host_sleep(L, luaL_checknumber(L, 1));
  return 0;
}

/* encode(value) -> text, bounded (json.c). Upvalue 1: the private cjson's encode. */
static int native_encode (lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  return trk_json_encode(L, lua_upvalueindex(1), 1, TRK_JSON_DEPTH, "tracker: request body");
}

/* decode(text) -> value | nil, message. Upvalue 1: the private cjson's decode. */
static int native_decode (lua_State *L) {
  luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  int status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    if (status == LUA_ERRMEM || lua_type(L, -1) != LUA_TSTRING)
      lua_error(L);                       /* a memory error: not ours to hide */
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  trk_json_integers(L, TRK_JSON_DEPTH);   /* ids are integers: 188077, never 188077.0 */
  return 1;
}

static const char b64_chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int native_b64encode (lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16;
    if (i + 1 < n) v |= (unsigned)s[i + 1] << 8;
    if (i + 2 < n) v |= s[i + 2];
    luaL_addchar(&b, b64_chars[(v >> 18) & 63]);
    luaL_addchar(&b, b64_chars[(v >> 12) & 63]);
    luaL_addchar(&b, i + 1 < n ? b64_chars[(v >> 6) & 63] : '=');
    luaL_addchar(&b, i + 2 < n ? b64_chars[v & 63] : '=');
  }
  luaL_pushresult(&b);
  return 1;
}

static int b64_value (int c) {
  const char *p = (c == 0) ? NULL : strchr(b64_chars, c);
  return p ? (int)(p - b64_chars) : -1;
}

/* base64_decode(text) -> bytes | nil. Whitespace is skipped; anything else wrong is nil. */
static int native_b64decode (lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  unsigned v = 0;
  int bits = 0, pad = 0;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') { pad++; continue; }
    int d = b64_value(c);
    if (d < 0 || pad) goto bad;
    v = (v << 6) | (unsigned)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      luaL_addchar(&b, (char)((v >> bits) & 0xFF));
    }
  }
  if (pad > 2 || bits >= 6 || (v & ((1u << bits) - 1)) != 0) goto bad;
  luaL_pushresult(&b);
  return 1;
bad:
  luaL_pushresult(&b);
  lua_pushnil(L);
  return 1;
}

uint64_t trk_fnv1a (const void *data, size_t n) {
  const unsigned char *s = data;
  uint64_t h = 14695981039346656037u;       /* the offset basis */
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211u;                     /* the FNV prime */
  }
  return h;
}

/* hash(text) -> 16 hex digits: FNV-1a, 64 bits. For idempotency keys, not for secrecy. */
static int native_hash (lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)trk_fnv1a(s, n));
  lua_pushstring(L, hex);
  return 1;
}

/* local_iso(s) -> "YYYY-MM-DDTHH:MM:SS" from the naive local time s starts with | nil. */
static int native_local_iso (lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char out[19];
  if (!trk_time_local_iso(s, n, out)) return 0;
  lua_pushlstring(L, out, sizeof out);
  return 1;
}

static const luaL_Reg native_funcs[] = {
  {"clock", native_clock},
  {"epoch", native_epoch},
  {"sleep", native_sleep},
  {"base64_encode", native_b64encode},
  {"base64_decode", native_b64decode},
  {"hash", native_hash},
  {"local_iso", native_local_iso},
  {"decode", NULL},
  {"encode", NULL},
  {"null", NULL},
  {NULL, NULL}
};

/* Pushes the native table, with decode/encode/null from a private cjson instance. */
static void native_open (lua_State *L) {
  luaL_newlib(L, native_funcs);
  trk_json_module(L, TRK_JSON_DEPTH, 0, native_encode, native_decode);
  for (const char *const *k = (const char *const[]){"encode", "decode", "null", NULL}; *k; k++) {
    lua_getfield(L, -1, *k);
    lua_setfield(L, -3, *k);
  }
  lua_pop(L, 1);
  trk_lazy_open(L);                       /* page, details, ...: lazy items (lazy.c) */
}


/* ---- the private environment of the Lua parts ------------------------------------------ */

/* import(name): the Lua part `name`, loaded once. Upvalue 1: the environment; 2: the cache. */
static int client_import (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (lua_getfield(L, lua_upvalueindex(2), name) != LUA_TNIL) return 1;
  const trk_embedded *e = trk_client_scripts;
  while (e->module && strcmp(e->module, name) != 0) e++;
  if (e->module == NULL) return luaL_error(L, "tracker: no client part '%s'", name);
  if (luaL_loadbufferx(L, e->chunk, e->size, e->path, "b") != LUA_OK)
    return lua_error(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setupvalue(L, -2, 1);               /* _ENV */
  lua_call(L, 0, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, lua_upvalueindex(2), name);
  return 1;
}

/* Loads client.lua into a fresh private environment; leaves its module table on the stack.
   The module table `tracker` is at index mod. */
static void client_open (lua_State *L, int mod) {
  lua_newtable(L);                        /* the environment */
  int env = lua_gettop(L);
  lua_createtable(L, 0, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, env);
  native_open(L);
  lua_setfield(L, env, "native");
  lua_pushvalue(L, mod);
  lua_setfield(L, env, "tracker");
  lua_pushvalue(L, env);
  lua_newtable(L);                        /* cache of loaded parts */
  lua_pushcclosure(L, client_import, 2);
  lua_pushvalue(L, -1);
  lua_setfield(L, env, "import");
  lua_pushliteral(L, "client");
  lua_call(L, 1, 1);
  lua_remove(L, env);
}


/* ---- module ------------------------------------------------------------------------------ */

static const luaL_Reg tracker_funcs[] = {
  {"error", trk_error_lnew},
  {"is_error", trk_error_lis},
  {NULL, NULL}
};

int luaopen_tracker (lua_State *L) {
  trk_error_init(L);
  luaL_newlib(L, tracker_funcs);
  int mod = lua_gettop(L);
  lua_pushliteral(L, TRK_VERSION);
  lua_setfield(L, mod, "version");
  trk_time_open(L);
  lua_setfield(L, mod, "time");
  trk_transport_open(L);
  lua_setfield(L, mod, "transport");
  client_open(L, mod);                    /* every field of client.lua's module table */
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, mod);
  }
  lua_pop(L, 1);
  return 1;
}
