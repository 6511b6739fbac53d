/* The Lua scripts shipped inside trk (scripts/), compiled to bytecode by embed.cmake. */
#ifndef TRK_SCRIPTS_H
#define TRK_SCRIPTS_H

#include <string.h>

#include "embedded.h"

/* Every file under scripts/, in the generated embedded.c; ends with a NULL module. */
extern const trk_embedded trk_embedded_scripts[];

/* The shipped module called `module` ("tracker.sandbox"), or NULL. */
const trk_embedded *trk_embedded_find(const char *module);

/* scripts/trk/ is the host's (commands, journal, reports): no script may require it;
   scripts/tracker/ holds the libraries a script may. */
static inline int trk_embedded_host_only (const trk_embedded *e) {
  return strncmp(e->path, "trk/", 4) == 0;
}

#endif
