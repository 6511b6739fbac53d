/* The tracker module's one error type: a table with code, message, status and retryable. */
#include <stdarg.h>
#include <string.h>

#include <lauxlib.h>

#include "tracker.h"

/* The stable codes, and whether a failure of that kind is worth retrying. */
static const struct { const char *code; int retryable; } err_codes[] = {
  {"not_found", 0}, {"auth", 0}, {"rate_limited", 1}, {"invalid_request", 0},
  {"conflict", 0}, {"server", 1}, {"network", 1}, {"timeout", 1},
  {"bad_response", 0}, {"unknown_outcome", 0}, {"unsupported", 0}, {"invalid", 0},
  {"unreachable", 0},
  {NULL, 0}
};

static int err_index (const char *code) {
  for (int i = 0; err_codes[i].code; i++)
    if (strcmp(err_codes[i].code, code) == 0) return i;
  return -1;
}

/* "not_found: candidate 12 does not exist (HTTP 404)" */
static int err_tostring (lua_State *L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_getfield(L, 1, "status");
  const char *code = lua_tostring(L, 2), *msg = lua_tostring(L, 3);
  lua_Integer status = lua_tointeger(L, 4);
  if (status > 0)
    lua_pushfstring(L, "%s: %s (HTTP %I)", code ? code : "error", msg ? msg : "", status);
  else
    lua_pushfstring(L, "%s: %s", code ? code : "error", msg ? msg : "");
  return 1;
}

void trk_error_init (lua_State *L) {
  if (luaL_newmetatable(L, TRK_ERROR_MT)) {
    lua_pushcfunction(L, err_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "tracker.error");
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "tracker.error");   /* scripts may not alter the shared metatable */
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
}

/* Builds the error table from code, status and the message on top of the stack. */
static void err_build (lua_State *L, const char *code, lua_Integer status, int retryable) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_rotate(L, -2, 1);           /* message above the table */
  lua_setfield(L, -2, "message");
  if (status > 0) {
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
  }
  lua_pushboolean(L, retryable);
  lua_setfield(L, -2, "retryable");
  trk_error_init(L);
  luaL_setmetatable(L, TRK_ERROR_MT);
}

int trk_error_result (lua_State *L, const char *code, int status, const char *fmt, ...) {
  int i = err_index(code);
  va_list ap;
  lua_pushnil(L);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  err_build(L, code, status, i >= 0 && err_codes[i].retryable);
  return 2;
}

int trk_error_lnew (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "code");
  const char *code = lua_tostring(L, -1);
  int i = code ? err_index(code) : -1;
  if (i < 0)
    return luaL_argerror(L, 1, lua_pushfstring(L, "unknown error code '%s'", code ? code : "nil"));
  lua_getfield(L, 1, "message");
  if (!lua_isstring(L, -1))
    return luaL_argerror(L, 1, "'message' must be a string");
  lua_getfield(L, 1, "status");
  lua_Integer status = luaL_opt(L, lua_tointeger, -1, 0);
  lua_pop(L, 1);
  lua_getfield(L, 1, "retryable");
  int retryable = lua_isnil(L, -1) ? err_codes[i].retryable : lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_tostring(L, -1);            /* message as a string */
  err_build(L, err_codes[i].code, status, retryable);
  return 1;
}

int trk_error_lis (lua_State *L) {
  int is = 0;
  if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, TRK_ERROR_MT);
    is = lua_rawequal(L, -1, -2);
  }
  lua_pushboolean(L, is);
  return 1;
}
