/* The sandbox's library: the C functions a script's environment gets in place of Lua's own
   (sbxlib.c), and its json (sbxjson.c) and files (sbxfiles.c) modules. Built on the sandbox
   core only. */
#ifndef TRK_SBXLIB_H
#define TRK_SBXLIB_H

#include <lua.h>

#include "sandbox.h"

#define TRK_JSON_MAX_DEPTH     128               /* nesting json.encode/decode accept */
#define TRK_JSON_MAX_DECODE    ((size_t)64 << 20) /* bytes json.decode accepts */

/* sbxlib.c: pushes the table of replacements handed to tracker.sandbox (print, require, the
   budgeted string and table functions, log, json, files, ...): a trk_sandbox_library. */
void trk_sbxlib_overrides(lua_State *L, trk_sandbox *S);

/* A fresh sandbox with this library: trk_sandbox_create(o, trk_sbxlib_overrides, ...). */
trk_sandbox *trk_sandbox_new(const trk_options *o, char *err, size_t errlen);

/* sbxlib.c: "table: #3" style names without addresses; pushes exactly one string. */
const char *trk_sbx_tostring(lua_State *L, int idx);

/* sbxjson.c and sbxfiles.c: push the module table. */
void trk_sbx_json_open(lua_State *L, trk_sandbox *S);
void trk_sbx_files_open(lua_State *L, trk_sandbox *S);

#endif
