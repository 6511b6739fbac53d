/* trk emulator --static: the model's answers to reads, kept in C and sent again for the same
   request without entering Lua. */
#ifndef TRK_EMUSTATIC_H
#define TRK_EMUSTATIC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#define TRK_EMU_STATIC_BUCKETS  4096   /* hash table size (a power of 2) */

/* One kept answer. Never changed or freed while the server runs. */
typedef struct trk_emu_kept {
  struct trk_emu_kept *next;
  uint64_t hash;
  char *key;                       /* method, target and canonical body */
  size_t keylen;
  char *body;
  size_t len;
  char *headers;                   /* "name\0value\0" pairs, nheaders of them */
  size_t nheaders;
} trk_emu_kept;

typedef struct trk_emu_static {
  int on;                          /* --static */
  pthread_mutex_t lock;            /* the table and bytes */
  trk_emu_kept *table[TRK_EMU_STATIC_BUCKETS];
  size_t bytes, kept;
  atomic_ullong hits, misses;      /* answers sent again, and made by the model */
} trk_emu_static;

/* A growing text, capped at the longest key. */
typedef struct trk_emu_buf {
  char *p;
  size_t n, cap;
  int bad;                         /* out of memory or too long: the request is not kept */
} trk_emu_buf;

/* A request's key: method, target and body in canonical form, and its hash. */
typedef struct trk_emu_key {
  trk_emu_buf text;
  uint64_t hash;
} trk_emu_key;

void trk_emu_static_init(trk_emu_static *st, int on);
void trk_emu_static_free(trk_emu_static *st);   /* every kept answer, and the lock */

/* The key of a request that may be kept: 1, or 0 when it is not a read or its body cannot be
   put in canonical form. Either way key->text.p is the caller's to free. */
int trk_emu_static_key(const char *method, const char *uri, const char *body, size_t len,
                       trk_emu_key *key);

/* The answer kept for key, or NULL. */
const trk_emu_kept *trk_emu_static_find(trk_emu_static *st, const trk_emu_key *key);

/* Keeps the model's answer to the request with this key (status 200, nothing faulted): body
   and the header list {name, value, ...} at index headers of L. Quietly keeps nothing when
   memory or the byte budget runs out. */
void trk_emu_static_keep(trk_emu_static *st, const trk_emu_key *key, lua_State *L, int headers,
                         const char *body, size_t len);

#endif
