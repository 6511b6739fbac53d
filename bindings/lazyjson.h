/* lazyjson: the C face of simdjson's On-Demand API (bindings/lazyjson.cpp), for the lazy
   records of bindings/lazy.c. It only finds things in a JSON text: every Lua value is made by
   the caller, so no Lua error ever unwinds through C++. */
#ifndef TRK_LAZYJSON_H
#define TRK_LAZYJSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes past a text's end that must be readable (simdjson reads in 64-byte blocks). */
#define TRK_LAZY_PADDING 64

typedef struct trk_lazy_span {
  const char *s;
  size_t len;
} trk_lazy_span;

enum {
  TRK_LAZY_MISSING, TRK_LAZY_NULL, TRK_LAZY_BOOLEAN, TRK_LAZY_NUMBER, TRK_LAZY_STRING,
  TRK_LAZY_NESTED,                 /* an object or an array: `text` is its JSON text */
  TRK_LAZY_ERROR                   /* simdjson refused the text: the caller asks cjson */
};

typedef struct trk_lazy_value {
  int type;
  int boolean;
  double number;
  trk_lazy_span text;              /* a string (unescaped, valid until the next call) or nested */
} trk_lazy_value;

/* The members of the top-level object of buf[0..len) (len + TRK_LAZY_PADDING readable): each
   key as its JSON token, each value as its JSON text, in order, at most `max`; and the
   elements of the member named `list`, when it is an array, appended to *elems (grown with
   realloc, *cap elements allocated; the caller frees it). Returns 0, or -1 when simdjson
   refuses the text or memory ran out (the caller decodes it another way). */
int trk_lazy_page (const char *buf, size_t len, const char *list, trk_lazy_span *keys,
                   trk_lazy_span *values, size_t max, size_t *n, trk_lazy_span **elems,
                   size_t *nelems, size_t *cap);

/* The value of member k1 of the top-level object (k2 NULL), or of member k2 of that object:
   the last of equal keys wins, as when cjson decodes the whole text. */
void trk_lazy_find (const char *buf, size_t len, const char *k1, size_t l1, const char *k2,
                    size_t l2, trk_lazy_value *out);

/* Bytes simdjson's parser holds for a text of len bytes, for the host's memory accounting. */
size_t trk_lazy_parser_bytes (size_t len);

#ifdef __cplusplus
}
#endif

#endif
