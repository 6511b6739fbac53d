/* Step-limited Lua 5.4 pattern matching (find, match, gmatch, gsub) for the sandbox. */
#ifndef TRK_PATTERN_H
#define TRK_PATTERN_H

#include <lua.h>

/* Called periodically from inside the matcher; may raise a Lua error
   (longjmp), which is safe: the matcher holds no resources of its own. */
typedef void (*trk_pattern_poll)(lua_State *L, void *ud);

/* Matcher steps between two calls of the poll callback. A step is one
   single-character match attempt, one recursion of the matcher, one start
   position tried, or a share of a bulk copy/compare. */
#ifndef TRK_PATTERN_POLL_STEPS
#define TRK_PATTERN_POLL_STEPS 65536
#endif

/* Sets find, match, gmatch, gsub into the table at index idx. poll (may be
   NULL) is called with ud every TRK_PATTERN_POLL_STEPS matcher steps, counted
   across calls (many short matches poll as one long one does); ud must stay
   valid as long as the registered functions can be called. */
void trk_pattern_register(lua_State *L, int idx, trk_pattern_poll poll, void *ud);

#endif
