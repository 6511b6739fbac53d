/* lazyjson: the C face of simdjson's On-Demand API (bindings/lazyjson.cpp), for the lazy
   records of bindings/lazy.c. It only finds things in a JSON text: every Lua value is made by
   the caller, so no Lua error ever unwinds through C++. */
#ifndef TRK_LAZYJSON_H
#define TRK_LAZYJSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Nesting accepted in answers: cjson's limit (tracker.c), and so simdjson's here, so that cjson
   decodes every value a lazy page took. */
#define TRK_JSON_DEPTH 128

/* Bytes past a text's end that must be readable (simdjson reads in 64-byte blocks). */
#define TRK_LAZY_PADDING 64

typedef struct trk_lazy_span {
  const char *s;
  size_t len;
} trk_lazy_span;

/* A member's type. */
enum {
  TRK_LAZY_NULL = 1, TRK_LAZY_BOOLEAN, TRK_LAZY_NUMBER, TRK_LAZY_STRING,
  TRK_LAZY_NESTED                  /* an object or an array */
};

/* A member's flags. */
#define TRK_LAZY_TRUE    2         /* a boolean that is true */
#define TRK_LAZY_INNER   4         /* a member of the element's `details` object */

/* One member of a list element, found once when the page is read: where its key and its
   value are in the element's text, so that reading it later needs no parse of the element. */
typedef struct trk_lazy_member {
  uint32_t key, klen;              /* the key as sent, between its quotes (no escape in it) */
  uint32_t value, vlen;            /* the value's JSON text; a number: the number itself */
  uint8_t type, flags;             /* TRK_LAZY_NULL .. TRK_LAZY_NESTED; TRK_LAZY_* flags */
} trk_lazy_member;

/* A number member's value, kept in the 8 bytes of value and vlen (read with memcpy: members
   are packed, so these bytes need not be aligned for a double). */
#define TRK_LAZY_NUMBER_AT offsetof(trk_lazy_member, value)

static inline void trk_lazy_set_number (trk_lazy_member *m, double d) {
  memcpy((char *)m + TRK_LAZY_NUMBER_AT, &d, sizeof d);
}

static inline double trk_lazy_number (const trk_lazy_member *m) {
  double d;
  memcpy(&d, (const char *)m + TRK_LAZY_NUMBER_AT, sizeof d);
  return d;
}

/* An element of the list: its JSON text and its members (members[first .. first + n)), top
   level and `details`. `odd` when they can't be looked up by their raw keys (not an object, a
   key with an escape, `details` twice): the caller decodes such an element whole. */
typedef struct trk_lazy_element {
  trk_lazy_span text;
  size_t first, n;
  int odd;
} trk_lazy_element;

/* What trk_lazy_page found of the list; arrays grown with realloc, freed by the caller. */
typedef struct trk_lazy_list {
  trk_lazy_element *elems;
  size_t nelems, ecap;
  trk_lazy_member *members;
  size_t nmembers, mcap;
} trk_lazy_list;

/* The members of the top-level object of buf[0..len) (len + TRK_LAZY_PADDING readable): each
   key as its JSON token, each value as its JSON text, in order, at most `max`; and when the
   member named `list` is an array, its elements and their members into *out (the value of
   that member is then left NULL). Returns 0, or -1 when simdjson refuses the text or memory
   ran out (the caller decodes it another way). */
int trk_lazy_page (const char *buf, size_t len, const char *list, trk_lazy_span *keys,
                   trk_lazy_span *values, size_t max, size_t *n, trk_lazy_list *out);

/* The JSON string buf[0..len) unescaped into *out (valid until the next call), cap >= len +
   TRK_LAZY_PADDING bytes readable. Returns 0, or -1 when simdjson refuses it. */
int trk_lazy_string (const char *buf, size_t len, size_t cap, trk_lazy_span *out);

/* Bytes simdjson's parser holds for a text of len bytes, for the host's memory accounting. */
size_t trk_lazy_parser_bytes (size_t len);

#ifdef __cplusplus
}
#endif

#endif
