/* Opening a shared library on first use and finding its functions (dynlib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dynlib.h"

/* POSIX has dlsym's object pointer hold a function's address: it is copied as bytes into a
   function pointer of the same size. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function pointers fit a void *");

static int dynlib_load (trk_dynlib *lib) {
  void *h = dlopen(lib->file, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    snprintf(lib->error, sizeof lib->error, "cannot load %s (%s)", lib->file, dlerror());
    return 0;
  }
  for (const trk_dynsym *s = lib->syms; s->name; s++) {
    void *f = dlsym(h, s->name);
    if (f == NULL) {
      snprintf(lib->error, sizeof lib->error, "%s has no %s: too old", lib->file, s->name);
      return 0;
    }
    memcpy(s->slot, &f, sizeof f);
  }
  return lib->init == NULL || lib->init(lib->error, sizeof lib->error);
}

const char *trk_dynlib_ready (trk_dynlib *lib) {
  pthread_mutex_lock(&lib->lock);
  if (!lib->tried) {
    lib->tried = 1;
    if (dynlib_load(lib)) lib->error[0] = '\0';
    else if (lib->error[0] == '\0') snprintf(lib->error, sizeof lib->error, "cannot use %s", lib->file);
  }
  pthread_mutex_unlock(&lib->lock);
  return lib->error[0] ? lib->error : NULL;
}
