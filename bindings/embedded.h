/* Lua parts compiled to bytecode and kept in C arrays by runtime/embed.cmake. */
#ifndef TRK_EMBEDDED_H
#define TRK_EMBEDDED_H

#include <stddef.h>

typedef struct trk_embedded {
  const char *module;   /* "tracker.sandbox" */
  const char *path;     /* "tracker/sandbox.lua", relative to its root folder */
  const char *chunk;    /* bytecode, named "=[trk] tracker/sandbox.lua": load it with mode "b" */
  size_t size;
} trk_embedded;

/* bindings/lua/: the client's Lua parts, in the generated client_lua.c; ends with a NULL
   module. (trk's own list, scripts/, is the runtime's: runtime/scripts.h.) */
extern const trk_embedded trk_client_scripts[];

#endif
