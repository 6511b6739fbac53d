/* JSON both ways around cjson: one bounded encode and one integer fix-up after decode, for the
   client's native.encode/decode and the sandbox's json.encode/decode. */
/*
** lua-cjson 2.1 builds its text in a malloc'd buffer (strbuf) whose size is an int that starts
** at 1023 and doubles: once a text needs more than about 2 GiB, the doubling overflows and
** cjson loops for ever, in C, where no limit hook runs. Its buffer is also outside any Lua
** allocator, so a host's memory limit never sees it.
**
** So before cjson starts, a walk of the value (raw: no metamethod, no script code runs between
** the walk and the encode) bounds the text from above, with cjson's own rules: the escaped
** length of every string and key, at most 32 bytes a number, arrays without keys but with a
** "null" a hole, objects with theirs. The walk gives up as soon as the bound passes what may
** be made, so it costs at most what the text it refuses would have cost; it polls the host's
** limits as it goes. Then:
**   - over TRK_JSON_MAX_TEXT: a plain error that names the cap (catchable);
**   - over what the host's memory left can hold (the text as a Lua string, and up to twice
**     the text in cjson's buffer as it doubles): after one full collection and a second walk,
**     the host's memory limit stops the run, as any allocation past it does;
**   - else cjson runs, with its buffer counted as the script's memory until it is done.
** Under plain Lua (no host lent, see tracker.h) only the cap applies.
*/
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "tracker.h"

int luaopen_cjson(lua_State *L);   /* lua-cjson: linked in (trk) or beside (tracker.so) */

#define JSON_POLL_WORK     4096              /* units of work between two polls (a value is one) */
#define JSON_SCAN_CHUNK    ((size_t)1 << 16) /* string bytes measured between two looks */
#define JSON_NUMBER_MAX    32                /* cjson's FPCONV_G_FMT_BUFSIZE: longest number */
#define JSON_SPARSE_RATIO  2                 /* cjson's encode_sparse_ratio default */
#define JSON_SPARSE_SAFE   10                /* cjson's encode_sparse_safe default */
#define JSON_SLACK         256               /* the result string's header, terminators */

/* cjson's strbuf reserves 6 times a string's length (plus 2) over what it holds before adding
   it, and doubles from 1023: with texts capped, the largest size it asks for, under
   1023 * 2^21, never overflows its int. */
_Static_assert(TRK_JSON_MAX_TEXT * 7 + 3 <= ((size_t)1023 << 21),
               "cjson's int-sized buffer must not overflow below the cap");

/* Bytes cjson writes for each byte of a string: \u00XX for control characters and DEL,
   \b \t \n \f \r \" \/ \\ as two. */
static const unsigned char json_escaped[256] = {
  6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 6, 2, 2, 6, 6,   /* 0x00 */
  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,   /* 0x10 */
  1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,   /* 0x20: " and / */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x30 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x40 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,   /* 0x50: backslash */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x60 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6,   /* 0x70: DEL */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

typedef struct json_walk {
  lua_State *L;
  const trk_host *host;       /* NULL under plain Lua */
  size_t size;                /* the text so far, at most */
  size_t stop;                /* the walk gives up once size passes this */
  unsigned work;              /* units since the last poll */
  int max_depth;
} json_walk;

static void json_work (json_walk *w, unsigned units) {
  w->work += units;
  if (w->work >= JSON_POLL_WORK) {
    w->work = 0;
    if (w->host) w->host->poll(w->L, w->host->ud);
  }
}

/* A string or a key: its escaped bytes and the quotes. */
static void json_string (json_walk *w, int idx) {
  size_t len;
  const unsigned char *s = (const unsigned char *)lua_tolstring(w->L, idx, &len);
  w->size += 2;
  while (len > 0 && w->size <= w->stop) {
    size_t chunk = len < JSON_SCAN_CHUNK ? len : JSON_SCAN_CHUNK, add = 0;
    for (size_t i = 0; i < chunk; i++) add += json_escaped[s[i]];
    w->size += add;
    s += chunk;
    len -= chunk;
    json_work(w, (unsigned)(chunk >> 8) + 1);
  }
}

/* cjson writes numbers with "%.14g": an integer under 10^14 in its digits, anything else in
   at most JSON_NUMBER_MAX bytes. */
static size_t json_number (lua_State *L, int idx) {
  if (lua_isinteger(L, idx)) {
    lua_Integer v = lua_tointeger(L, idx);
    if (v > -100000000000000 && v < 100000000000000) {
      uint64_t u = v < 0 ? (uint64_t)-v : (uint64_t)v;
      size_t n = v < 0 ? 2 : 1;
      while (u >= 10) {
        u /= 10;
        n++;
      }
      return n;
    }
  }
  return JSON_NUMBER_MAX;
}

static void json_value (json_walk *w, int idx, int depth);

/* A table at nesting `depth` (1 for the outermost), as cjson decides: an array when every key
   is an integer >= 1 (and it is not too sparse), else an object. cjson keeps the largest key
   in an int: past INT_MAX its choice is anyone's guess, and both forms are counted. */
static void json_table (json_walk *w, int idx, int depth) {
  lua_State *L = w->L;
  size_t n = 0, keys = 0;
  double max = 0;
  int array = 1, huge = 0;
  if (depth > w->max_depth || !lua_checkstack(L, 3))   /* as cjson says it */
    luaL_error(L, "Cannot serialise, excessive nesting (%d)", depth);
  idx = lua_absindex(L, idx);
  w->size += 2;                                 /* [] or {} */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int type = lua_type(L, -2), index = 0;
    size_t k = 4;                               /* cjson refuses other keys */
    n++;
    if (type == LUA_TNUMBER) {
      double d = lua_tonumber(L, -2);
      k = json_number(L, -2) + 3;               /* "12": */
      index = d != 0 && floor(d) == d && d >= 1;
      if (index && d > max) max = d;
      if (index && d > (double)INT_MAX) huge = 1;
    }
    if (array && !index) {                      /* an object after all: its keys count */
      array = 0;
      w->size += keys;
    }
    if (array) keys += k;
    else if (type == LUA_TSTRING) {
      json_string(w, -2);
      w->size += 1;                             /* : */
    }
    else w->size += k;
    json_value(w, -1, depth);
    w->size += 1;                               /* , */
    lua_pop(L, 1);
    json_work(w, 1);
    if (w->size > w->stop) {
      lua_pop(L, 1);
      return;
    }
  }
  if (!array || n == 0) return;
  if (huge)             /* an object with its keys, or an array of at most the length below */
    w->size += keys + 5 * (n * JSON_SPARSE_RATIO > JSON_SPARSE_SAFE ? n * JSON_SPARSE_RATIO
                                                                    : JSON_SPARSE_SAFE);
  /* the holes of an array cjson accepts: null each (a sparser one is refused) */
  else if (!(max > (double)n * JSON_SPARSE_RATIO && max > JSON_SPARSE_SAFE))
    w->size += ((size_t)max - n) * 5;
}

static void json_value (json_walk *w, int idx, int depth) {
  switch (lua_type(w->L, idx)) {
    case LUA_TSTRING: json_string(w, idx); break;
    case LUA_TNUMBER: w->size += json_number(w->L, idx); break;
    case LUA_TBOOLEAN: w->size += 5; break;
    case LUA_TTABLE: json_table(w, idx, depth + 1); break;
    default: w->size += 4; break;               /* null; cjson refuses the rest */
  }
}

static size_t json_size (lua_State *L, const trk_host *h, int idx, int max_depth, size_t stop) {
  json_walk w;
  memset(&w, 0, sizeof w);
  w.L = L;
  w.host = h;
  w.max_depth = max_depth;
  w.stop = stop;
  json_value(&w, idx, 0);
  return w.size;
}

size_t trk_json_size (lua_State *L, int idx, int max_depth, size_t stop) {
  return json_size(L, trk_host_get(L), lua_absindex(L, idx), max_depth, stop);
}

int trk_json_encode (lua_State *L, int fn, int idx, int max_depth, const char *who) {
  const trk_host *h = trk_host_get(L);
  size_t size = 0, charge = 0;
  int status;
  fn = lua_absindex(L, fn);
  idx = lua_absindex(L, idx);
  for (int round = 0;; round++) {
    size_t left = h ? h->memory_left(h->ud) : SIZE_MAX;
    size_t fits = left > JSON_SLACK ? (left - JSON_SLACK) / 3 : 0;
    size_t stop = fits < TRK_JSON_MAX_TEXT ? fits : TRK_JSON_MAX_TEXT;
    if (round == 0 || fits >= size) {   /* else the first walk's count is already over */
      size = json_size(L, h, idx, max_depth, stop);
      if (size <= stop) break;
      if (stop == TRK_JSON_MAX_TEXT)
        return luaL_error(L, "%s: the JSON text would be over %d MiB, the most one encode may "
                          "make", who, (int)(TRK_JSON_MAX_TEXT >> 20));
    }
    /* over the memory left: garbage may be holding it (a collection may run finalizers, so
       the value is walked again if enough was freed), else the memory limit stops the run */
    if (round == 0) {
      lua_gc(L, LUA_GCCOLLECT, 0);
      if (h->should_stop(h->ud)) h->raise(L, h->ud);
      continue;
    }
    if (!h->reserve(h->ud, size * 3 + JSON_SLACK)) h->raise(L, h->ud);
    return luaL_error(L, "%s: not enough memory", who);   /* not reached */
  }
  if (h) {              /* cjson's buffer, while it works; the result is the allocator's */
    charge = size * 2 + JSON_SLACK;
    if (!h->reserve(h->ud, charge)) h->raise(L, h->ud);
  }
  lua_pushvalue(L, fn);
  lua_pushvalue(L, idx);
  status = lua_pcall(L, 1, 1, 0);
  if (h) h->release(h->ud, charge);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}


/* ---- decoding: integers ---------------------------------------------------------------- */

#define JSON_EXACT  9007199254740992.0   /* 2^53: every integer up to it is exact in a double */

/* Whether the value at idx is a float holding an integer a double holds exactly. */
static int json_integral (lua_State *L, int idx, lua_Integer *n) {
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER || lua_isinteger(L, idx)) return 0;
  d = lua_tonumber(L, idx);
  if (d != floor(d) || d < -JSON_EXACT || d > JSON_EXACT) return 0;   /* NaN fails too */
  *n = (lua_Integer)d;
  return 1;
}

static void json_integers_in (lua_State *L, int t, int depth, int max_depth) {
  lua_Integer n;
  if (depth > max_depth) return;
  luaL_checkstack(L, 3, "JSON too deep");
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -1) == LUA_TTABLE)
      json_integers_in(L, lua_gettop(L), depth + 1, max_depth);
    else if (json_integral(L, -1, &n)) {
      lua_pushvalue(L, -2);
      lua_pushinteger(L, n);
      lua_rawset(L, t);            /* an existing key: lua_next goes on */
    }
    lua_pop(L, 1);
  }
}

void trk_json_integers (lua_State *L, int max_depth) {
  lua_Integer n;
  if (lua_type(L, -1) == LUA_TTABLE) json_integers_in(L, lua_gettop(L), 0, max_depth);
  else if (json_integral(L, -1, &n)) {
    lua_pop(L, 1);
    lua_pushinteger(L, n);
  }
}

/* ---- a private instance ------------------------------------------------------------------ */

static void json_configure (lua_State *L, const char *setting, int arg) {
  lua_getfield(L, -1, setting);
  if (arg < 0) lua_pushboolean(L, 0);
  else lua_pushinteger(L, arg);
  lua_call(L, 1, 0);
}

void trk_json_module (lua_State *L, int max_depth, int strict, lua_CFunction encode,
                      lua_CFunction decode) {
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);                          /* a fresh cjson: its settings are its own */
  json_configure(L, "encode_max_depth", max_depth);
  json_configure(L, "decode_max_depth", max_depth);
  if (strict) {
    json_configure(L, "encode_invalid_numbers", -1);
    json_configure(L, "decode_invalid_numbers", -1);
    json_configure(L, "encode_keep_buffer", -1);
  }
  lua_createtable(L, 0, 3);
  lua_getfield(L, -2, "encode");
  lua_pushcclosure(L, encode, 1);
  lua_setfield(L, -2, "encode");
  lua_getfield(L, -2, "decode");
  lua_pushcclosure(L, decode, 1);
  lua_setfield(L, -2, "decode");
  lua_getfield(L, -2, "null");
  lua_setfield(L, -2, "null");
  lua_remove(L, -2);
}
