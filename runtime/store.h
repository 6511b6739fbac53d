/* The state store: a small SQLite binding for trk's drivers (the journal, rule checkpoints). */
#ifndef TRK_STORE_H
#define TRK_STORE_H

#include <lua.h>

/* Pushes store.open, the store's constructor. */
void trk_store_open(lua_State *L);

/* SQLite's version, loading it if need be; NULL when it cannot be loaded. */
const char *trk_store_sqlite_version(void);

#endif
