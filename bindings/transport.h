/* tracker.transport: the libcurl HTTP transport, one reusable connection per handle. */
#ifndef TRK_TRANSPORT_H
#define TRK_TRANSPORT_H

#include <lua.h>

#define TRK_TRANSPORT_MT  "tracker.transport"   /* metatable of transport handles */

/* Pushes the `transport` table: curl(opts) -> handle with request{...}, send{...}, wait(),
   busy() and close(); send runs the transfer on a thread of its own, wait collects it.
   Initialises libcurl for the process on first use. */
int trk_transport_open(lua_State *L);

#endif
