/* Opening a shared library on first use and finding its functions (dynlib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dynlib.h"

/* POSIX has dlsym's object pointer hold a function's address: it is copied as bytes into a
   function pointer of the same size. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function pointers fit a void *");

int trk_dynlib_load (const char *file, const trk_dynsym *syms, char *err, size_t errlen) {
  void *lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    snprintf(err, errlen, "cannot load %s (%s)", file, dlerror());
    return 0;
  }
  for (const trk_dynsym *s = syms; s->name; s++) {
    void *f = dlsym(lib, s->name);
    if (f == NULL) {
      snprintf(err, errlen, "%s has no %s: too old", file, s->name);
      return 0;
    }
    memcpy(s->slot, &f, sizeof f);
  }
  return 1;
}
