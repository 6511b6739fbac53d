/* The Lua scripts shipped inside trk: finding one by its module name. */
#include <string.h>

#include "scripts.h"

const trk_embedded *trk_embedded_find (const char *module) {
  for (const trk_embedded *e = trk_embedded_scripts; e->module; e++)
    if (strcmp(e->module, module) == 0) return e;
  return NULL;
}
