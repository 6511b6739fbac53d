/* Shared libraries opened on first use instead of linked: libcurl (transport.c), and in the
   runtime SQLite (store.c) and libmicrohttpd (emulator.c). Loading them at every start costs
   milliseconds that most runs never need. */
#ifndef TRK_DYNLIB_H
#define TRK_DYNLIB_H

#include <pthread.h>
#include <stddef.h>

/* A function to find: its name in the library, and where its address goes (the address of a
   function pointer declared with the function's own prototype, __typeof__(curl_easy_init) *). */
typedef struct trk_dynsym {
  const char *name;     /* "curl_easy_init" */
  void *slot;           /* &fns.easy_init */
} trk_dynsym;

/* A library opened once, by the first thread that needs it, and never closed: its file, the
   functions to find (a list ended by a NULL name), and what to do once they are found (NULL, or
   a function that answers 0 with why in err, e.g. curl_global_init failing). Declare one with
   TRK_DYNLIB. */
typedef struct trk_dynlib {
  const char *file;                         /* "libcurl.so.4" */
  const trk_dynsym *syms;
  int (*init)(char *err, size_t errlen);
  pthread_mutex_t lock;
  int tried;
  char error[256];                          /* why it cannot be used; "" once it can */
} trk_dynlib;

#define TRK_DYNLIB(file, syms, init)  {(file), (syms), (init), PTHREAD_MUTEX_INITIALIZER, 0, ""}

/* Opens lib on the first call, from any thread. NULL when its functions are ready, else why
   not, the same on every call: "cannot load FILE (dlerror)", "FILE has no NAME: too old", or
   what its init said. */
const char *trk_dynlib_ready(trk_dynlib *lib);

#endif
