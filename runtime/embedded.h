/* The Lua scripts shipped inside trk (generated into embedded.c by runtime/embed.cmake). */
#ifndef TRK_EMBEDDED_H
#define TRK_EMBEDDED_H

#include <stddef.h>

typedef struct trk_embedded {
  const char *module;   /* "tracker.sandbox" */
  const char *path;     /* "tracker/sandbox.lua", relative to scripts/ */
  const char *source;
  size_t size;
} trk_embedded;

extern const trk_embedded trk_embedded_scripts[];   /* ends with a NULL module */

const trk_embedded *trk_embedded_find(const char *module);

#endif
