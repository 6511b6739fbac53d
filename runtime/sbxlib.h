/* The sandbox's own modules: json (a private cjson) and files (command-line grants). */
#ifndef TRK_SBXLIB_H
#define TRK_SBXLIB_H

#include <lua.h>

#include "sandbox.h"

#define TRK_JSON_MAX_DEPTH     128               /* nesting json.encode/decode accept */
#define TRK_JSON_MAX_DECODE    ((size_t)64 << 20) /* bytes json.decode accepts */

/* Push the module table. */
void trk_sbx_json_open(lua_State *L, trk_sandbox *S);
void trk_sbx_files_open(lua_State *L, trk_sandbox *S);

#endif
