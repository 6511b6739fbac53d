/* The tracker Lua module: public C interface shared by tracker.so and the trk runtime. */
#ifndef TRK_TRACKER_H
#define TRK_TRACKER_H

#include <lua.h>

#define TRK_ERROR_MT  "tracker.error"   /* metatable of error values */

int luaopen_tracker(lua_State *L);

/* ---- the one error type ---------------------------------------------------- */

/* Opens the error metatable (idempotent) and leaves nothing on the stack. */
void trk_error_init(lua_State *L);

/* Is code one of the stable error codes ("not_found", "auth", ...)? */
int trk_error_known(const char *code);

/* Pushes an error value; status is the HTTP status or 0. Returns nothing useful. */
void trk_error_new(lua_State *L, const char *code, int status, const char *fmt, ...);

/* Pushes nil and an error value and returns 2: `return trk_error_result(L, ...)`. */
int trk_error_result(lua_State *L, const char *code, int status, const char *fmt, ...);

/* Lua functions registered in the module table. */
int trk_error_lnew(lua_State *L);      /* tracker.error{ code=, message=, status=, retryable= } */
int trk_error_lis(lua_State *L);       /* tracker.is_error(v) */

#endif
