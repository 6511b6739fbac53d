/* trk emulator --static: answers kept in C (emustatic.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "emustatic.h"
#include "tracker.h"

#define EMU_STATIC_MAX_BYTES  ((size_t)1 << 30)    /* answers kept, in all */
#define EMU_STATIC_MAX_KEY    8192         /* longer requests are never kept */
#define EMU_STATIC_DEPTH      16           /* deeper request JSON is never kept */
#define EMU_STATIC_PREFIX     "/api/widget/get"    /* the reads that are kept */

/* A read's answer depends only on its method, target and body (the synthetic database never
   changes), so the first answer the model makes for a request is kept and sent again for the
   same request without entering Lua. Bodies are compared in a canonical form (object members
   sorted by name, no whitespace, "\/" as "/"), since clients encode the same request with
   members in any order. */

/* ---- the key: canonical JSON ---------------------------------------------------------------- */

static void emu_buf_add (trk_emu_buf *b, const char *s, size_t n) {
  if (b->bad) return;
  if (n > EMU_STATIC_MAX_KEY - b->n) {
    b->bad = 1;
    return;
  }
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    char *p;
    while (cap < b->n + n) cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
      b->bad = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static const char *emu_ws (const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* The JSON string at p (its opening quote) into b, "\/" written "/". Returns the position
   after its closing quote, NULL when it is not a string. */
static const char *emu_canon_string (const char *p, const char *e, trk_emu_buf *b) {
  const char *q;
  if (p >= e || *p != '"') return NULL;
  emu_buf_add(b, "\"", 1);
  for (q = ++p; q < e && *q != '"'; q++) {
    if ((unsigned char)*q < 0x20) return NULL;
    if (*q == '\\') {
      if (q + 1 >= e) return NULL;
      emu_buf_add(b, p, (size_t)(q - p));
      if (q[1] == '/') emu_buf_add(b, "/", 1);
      else emu_buf_add(b, q, 2);
      p = ++q + 1;
    }
  }
  if (q >= e) return NULL;
  emu_buf_add(b, p, (size_t)(q - p));
  emu_buf_add(b, "\"", 1);
  return q + 1;
}

typedef struct emu_member {
  trk_emu_buf text;                /* "name":value, canonical */
  size_t namelen;                  /* the "name" part */
} emu_member;

static int emu_member_cmp (const void *a, const void *b) {
  const emu_member *x = a, *y = b;
  size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
  int c = memcmp(x->text.p, y->text.p, n);
  if (c) return c;
  return x->namelen < y->namelen ? -1 : x->namelen > y->namelen;
}

/* The JSON value at p into b in canonical form. Returns the position after it, NULL when
   the text is not JSON this can read. */
static const char *emu_canon (const char *p, const char *e, trk_emu_buf *b, int depth) {
  p = emu_ws(p, e);
  if (p >= e || depth > EMU_STATIC_DEPTH) return NULL;
  if (*p == '"') return emu_canon_string(p, e, b);
  if (*p == '[') {
    int first = 1;
    emu_buf_add(b, "[", 1);
    p = emu_ws(p + 1, e);
    if (p < e && *p == ']') return emu_buf_add(b, "]", 1), p + 1;
    for (;;) {
      if (!first) emu_buf_add(b, ",", 1);
      first = 0;
      if ((p = emu_canon(p, e, b, depth + 1)) == NULL) return NULL;
      p = emu_ws(p, e);
      if (p < e && *p == ']') return emu_buf_add(b, "]", 1), p + 1;
      if (p >= e || *p != ',') return NULL;
      p++;
    }
  }
  if (*p == '{') {
    emu_member m[64];              /* requests have a handful of members a level */
    size_t n = 0, i;
    const char *ok = NULL;
    p = emu_ws(p + 1, e);
    if (p < e && *p == '}') return emu_buf_add(b, "{}", 2), p + 1;
    for (;;) {
      if (n == sizeof m / sizeof m[0]) break;
      memset(&m[n], 0, sizeof m[n]);
      n++;
      if ((p = emu_canon_string(emu_ws(p, e), e, &m[n - 1].text)) == NULL) break;
      m[n - 1].namelen = m[n - 1].text.n;
      p = emu_ws(p, e);
      if (p >= e || *p != ':') break;
      emu_buf_add(&m[n - 1].text, ":", 1);
      if ((p = emu_canon(p + 1, e, &m[n - 1].text, depth + 1)) == NULL) break;
      if (m[n - 1].text.bad) break;
      p = emu_ws(p, e);
      if (p < e && *p == '}') {
        ok = p + 1;
        break;
      }
      if (p >= e || *p != ',') break;
      p++;
    }
    if (ok) {
      qsort(m, n, sizeof m[0], emu_member_cmp);
      emu_buf_add(b, "{", 1);
      for (i = 0; i < n; i++) {
        if (i) emu_buf_add(b, ",", 1);
        emu_buf_add(b, m[i].text.p, m[i].text.n);
      }
      emu_buf_add(b, "}", 1);
    }
    for (i = 0; i < n; i++) free(m[i].text.p);
    return ok;
  }
  {                                /* a number, true, false or null: as written */
    const char *q = p;
    while (q < e && (isalnum((unsigned char)*q) || *q == '-' || *q == '+' || *q == '.')) q++;
    if (q == p) return NULL;
    emu_buf_add(b, p, (size_t)(q - p));
    return q;
  }
}

int trk_emu_static_key (const char *method, const char *uri, const char *body, size_t len,
                        trk_emu_key *key) {
  const char *b = body ? body : "", *end;
  trk_emu_buf *t = &key->text;
  if (strcmp(method, "POST") != 0
      || strncmp(uri, EMU_STATIC_PREFIX, sizeof EMU_STATIC_PREFIX - 1) != 0)
    return 0;
  emu_buf_add(t, method, strlen(method));
  emu_buf_add(t, " ", 1);
  emu_buf_add(t, uri, strlen(uri));
  emu_buf_add(t, "\n", 1);
  end = emu_canon(b, b + len, t, 0);
  if (end == NULL || emu_ws(end, b + len) != b + len || t->bad) return 0;
  key->hash = trk_fnv1a(t->p, t->n);
  return 1;
}

/* ---- the table ------------------------------------------------------------------------------- */

void trk_emu_static_init (trk_emu_static *st, int on) {
  memset(st, 0, sizeof *st);
  st->on = on;
  pthread_mutex_init(&st->lock, NULL);
}

static const trk_emu_kept *emu_static_find_locked (const trk_emu_static *st,
                                                   const trk_emu_key *key) {
  const trk_emu_kept *k;
  for (k = st->table[key->hash & (TRK_EMU_STATIC_BUCKETS - 1)]; k; k = k->next)
    if (k->hash == key->hash && k->keylen == key->text.n
        && memcmp(k->key, key->text.p, key->text.n) == 0)
      break;
  return k;
}

const trk_emu_kept *trk_emu_static_find (trk_emu_static *st, const trk_emu_key *key) {
  const trk_emu_kept *k;
  pthread_mutex_lock(&st->lock);
  k = emu_static_find_locked(st, key);
  pthread_mutex_unlock(&st->lock);
  return k;
}

void trk_emu_static_keep (trk_emu_static *st, const trk_emu_key *key, lua_State *L, int headers,
                          const char *body, size_t len) {
  size_t nh = 0, hlen = 0, n = (size_t)lua_rawlen(L, headers), keylen = key->text.n;
  trk_emu_kept *k;
  char *hp;
  for (size_t i = 1; i <= n; i++) {
    size_t l;
    lua_rawgeti(L, headers, (lua_Integer)i);
    lua_tolstring(L, -1, &l);
    hlen += l + 1;
    lua_pop(L, 1);
  }
  nh = n / 2;
  k = calloc(1, sizeof *k);
  if (k == NULL) return;
  k->key = malloc(keylen);
  k->body = malloc(len ? len : 1);
  k->headers = malloc(hlen ? hlen : 1);
  if (k->key == NULL || k->body == NULL || k->headers == NULL) goto fail;
  memcpy(k->key, key->text.p, keylen);
  k->keylen = keylen;
  memcpy(k->body, body, len);
  k->len = len;
  hp = k->headers;
  for (size_t i = 1; i <= nh * 2; i++) {
    size_t l;
    const char *s;
    lua_rawgeti(L, headers, (lua_Integer)i);
    s = lua_tolstring(L, -1, &l);
    memcpy(hp, s, l + 1);
    hp += l + 1;
    lua_pop(L, 1);
  }
  k->nheaders = nh;
  k->hash = key->hash;
  pthread_mutex_lock(&st->lock);
  if (st->bytes + len + keylen > EMU_STATIC_MAX_BYTES || emu_static_find_locked(st, key)) {
    pthread_mutex_unlock(&st->lock);
    goto fail;
  }
  k->next = st->table[key->hash & (TRK_EMU_STATIC_BUCKETS - 1)];
  st->table[key->hash & (TRK_EMU_STATIC_BUCKETS - 1)] = k;
  st->bytes += len + keylen;
  st->kept++;
  pthread_mutex_unlock(&st->lock);
  return;
fail:
  free(k->key);
  free(k->body);
  free(k->headers);
  free(k);
}

void trk_emu_static_free (trk_emu_static *st) {
  for (size_t b = 0; b < TRK_EMU_STATIC_BUCKETS; b++) {
    trk_emu_kept *k = st->table[b];
    while (k) {
      trk_emu_kept *next = k->next;
      free(k->key);
      free(k->body);
      free(k->headers);
      free(k);
      k = next;
    }
    st->table[b] = NULL;
  }
  pthread_mutex_destroy(&st->lock);
}
