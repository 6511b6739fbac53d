/* The host: what trk's Lua drivers (scripts/trk/) get from C, and running them. Built on the
   sandbox core; scripts never see any of it. */
#ifndef TRK_HOST_H
#define TRK_HOST_H

#include <lua.h>

#include "cli.h"
#include "sandbox.h"

/* Pushes the host table a driver receives: loading scripts into the sandbox, calls under an
   instruction budget, Ctrl-C, sleeping within the limits, the state store, trk's own json. */
void trk_host_open(lua_State *L, trk_sandbox *S);

/* Runs require("trk.commands")[command](host, opts) in the sandbox, opts the command line c
   made (trk_cli_push: typed options, the strings the command added, and `args`). Returns the
   exit code the driver returns, or reports an exceeded limit or a failure of the driver
   itself. */
int trk_host_run(trk_sandbox *S, const char *command, const trk_cli *c);

#endif
