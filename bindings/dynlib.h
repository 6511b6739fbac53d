/* Shared libraries opened on first use instead of linked: libcurl (transport.c), and in the
   runtime SQLite (store.c) and libmicrohttpd (emulator.c). Loading them at every start costs
   milliseconds that most runs never need. */
#ifndef TRK_DYNLIB_H
#define TRK_DYNLIB_H

#include <stddef.h>

/* A function to find: its name in the library, and where its address goes (the address of a
   function pointer declared with the function's own prototype, __typeof__(curl_easy_init) *). */
typedef struct trk_dynsym {
  const char *name;     /* "curl_easy_init" */
  void *slot;           /* &fns.easy_init */
} trk_dynsym;

/* Opens the library `file` for good (it is never closed) and sets every slot of syms, a list
   ended by a NULL name. Returns 1, or 0 with why in err: "cannot load FILE (dlerror)", or
   "FILE has no NAME: too old". Call it once (pthread_once): it is not thread-safe. */
int trk_dynlib_load(const char *file, const trk_dynsym *syms, char *err, size_t errlen);

#endif
