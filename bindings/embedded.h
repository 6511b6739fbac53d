/* Lua parts compiled to bytecode and kept in C arrays by runtime/embed.cmake. */
#ifndef TRK_EMBEDDED_H
#define TRK_EMBEDDED_H

#include <stddef.h>
#include <string.h>

typedef struct trk_embedded {
  const char *module;   /* "tracker.sandbox" */
  const char *path;     /* "tracker/sandbox.lua", relative to its root folder */
  const char *chunk;    /* bytecode, named "=[trk] tracker/sandbox.lua": load it with mode "b" */
  size_t size;
} trk_embedded;

/* Each list ends with a NULL module. */
extern const trk_embedded trk_embedded_scripts[];   /* scripts/: shipped modules (trk only) */
extern const trk_embedded trk_client_scripts[];     /* bindings/lua/: the client's Lua parts */

const trk_embedded *trk_embedded_find(const char *module);   /* in trk_embedded_scripts */

/* scripts/trk/ is the host's (commands, journal, reports): no script may require it; scripts/tracker/
   holds the libraries a script may. */
static inline int trk_embedded_host_only (const trk_embedded *e) {
  return strncmp(e->path, "trk/", 4) == 0;
}

#endif
