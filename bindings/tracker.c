/* luaopen_tracker: the Tracker client as a Lua module. */
#include <lauxlib.h>

#include "trk_time.h"
#include "tracker.h"
#include "transport.h"

#ifndef TRK_VERSION
#define TRK_VERSION "0.0.0"
#endif

static const luaL_Reg tracker_funcs[] = {
  {"error", trk_error_lnew},
  {"is_error", trk_error_lis},
  {NULL, NULL}
};

int luaopen_tracker (lua_State *L) {
  trk_error_init(L);
  luaL_newlib(L, tracker_funcs);
  lua_pushliteral(L, TRK_VERSION);
  lua_setfield(L, -2, "version");
  trk_time_open(L);
  lua_setfield(L, -2, "time");
  trk_transport_open(L);
  lua_setfield(L, -2, "transport");
  return 1;
}
