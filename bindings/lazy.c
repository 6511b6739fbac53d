/* Lazy items: a page whose list items are decoded only where a script reads them. */
/*
** native.page(body, list) decodes an answer's top-level members as cjson would (through
** native.decode), except the array `list`, whose elements become items: full userdata, each
** holding a copy of its element's JSON text (so an item, and a record built on it, stays valid
** whatever becomes of the page), padded for simdjson (lazyjson.h). An item's member is read by
** indexing it (item.name), a member of its `details` by indexing native.details(item); each
** read finds that one value with simdjson's On-Demand API and makes only its Lua value. Nested
** values and anything simdjson refuses are decoded by cjson, the same decoder as the rest of
** the client, so every value read equals the one native.decode(native.text(item)) gives.
**
** Memory: items and values are the Lua allocator's, so the host counts them; simdjson's parser
** buffers are counted with the host's reserve while it works on a text.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lazyjson.h"
#include "tracker.h"

#define LAZY_ITEM     "tracker.item"
#define LAZY_SPANS    "tracker.item_spans"
#define LAZY_MEMBERS  32                 /* top-level members of a page read lazily, at most */
#define LAZY_EXACT    9007199254740992.0 /* 2^53, as json.c's integer fix-up */

typedef struct lazy_item {
  uint64_t claimed;     /* bits a lazy record has taken (native.claim) */
  size_t len;           /* of text; 0 for a details view, whose item is its user value */
  char text[];          /* len bytes, then TRK_LAZY_PADDING zero bytes */
} lazy_item;

typedef struct lazy_spans {
  trk_lazy_span *p;
  size_t n, cap;
} lazy_spans;

/* simdjson's buffers, counted as the script's memory while it works. */
static void lazy_reserve (lua_State *L, const trk_host *h, size_t n) {
  if (h && !h->reserve(h->ud, n)) h->raise(L, h->ud);
}

static void lazy_release (const trk_host *h, size_t n) {
  if (h) h->release(h->ud, n);
}

/* Upvalues of every function here: 1 native.decode, 2 native.null. */
static void lazy_decode (lua_State *L, const char *s, size_t len) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushlstring(L, s, len);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) luaL_error(L, "tracker: an answer's item is not valid JSON (%s)",
                                   lua_tostring(L, -1));
  lua_pop(L, 1);
}

static lazy_item *lazy_check (lua_State *L, int idx) {
  return (lazy_item *)luaL_checkudata(L, idx, LAZY_ITEM);
}

/* The item a view looks into, pushed; for an item, itself. */
static lazy_item *lazy_base (lua_State *L, int idx) {
  lazy_item *it = lazy_check(L, idx);
  if (it->len > 0) {
    lua_pushvalue(L, idx);
    return it;
  }
  lua_getiuservalue(L, idx, 1);
  return (lazy_item *)lua_touserdata(L, -1);
}

/* Replaces the value at the top of the stack with its member k (nil unless it is a table). */
static void lazy_member (lua_State *L, const char *k, size_t len) {
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_pushlstring(L, k, len);
    lua_rawget(L, -2);
  }
  else lua_pushnil(L);
  lua_remove(L, -2);
}

/* Pushes member k1 (or k1.k2) of the item at the top of the stack, which it replaces. */
static void lazy_push (lua_State *L, lazy_item *it, const char *k1, size_t l1, const char *k2,
                       size_t l2) {
  const trk_host *h = trk_host_get(L);
  size_t charge = trk_lazy_parser_bytes(it->len);
  trk_lazy_value v;
  lazy_reserve(L, h, charge);
  trk_lazy_find(it->text, it->len, k1, l1, k2, l2, &v);
  lazy_release(h, charge);
  lua_pop(L, 1);
  switch (v.type) {
    case TRK_LAZY_MISSING: lua_pushnil(L); break;
    case TRK_LAZY_NULL: lua_pushvalue(L, lua_upvalueindex(2)); break;
    case TRK_LAZY_BOOLEAN: lua_pushboolean(L, v.boolean); break;
    case TRK_LAZY_NUMBER:         /* an integer when it is one a double holds exactly */
      if (v.number == floor(v.number) && v.number >= -LAZY_EXACT && v.number <= LAZY_EXACT)
        lua_pushinteger(L, (lua_Integer)v.number);
      else lua_pushnumber(L, v.number);
      break;
    case TRK_LAZY_STRING: lua_pushlstring(L, v.text.s, v.text.len); break;
    case TRK_LAZY_NESTED: lazy_decode(L, v.text.s, v.text.len); break;
    default:                      /* simdjson refused it: the whole item, by cjson */
      lazy_decode(L, it->text, it->len);
      lazy_member(L, k1, l1);
      if (k2) lazy_member(L, k2, l2);
      break;
  }
}

/* item[k]: its member k; view[k]: member k of its item's details. Not a string: nil. */
static int lazy_index (lua_State *L) {
  size_t len;
  const char *k = lua_tolstring(L, 2, &len);
  lazy_item *base;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  base = lazy_base(L, 1);
  if (lazy_check(L, 1)->len > 0) lazy_push(L, base, k, len, NULL, 0);
  else lazy_push(L, base, "details", 7, k, len);
  return 1;
}

/* at(item, k1, k2): member k2 of member k1. */
static int lazy_at (lua_State *L) {
  size_t l1, l2;
  const char *k1 = luaL_checklstring(L, 2, &l1), *k2 = luaL_checklstring(L, 3, &l2);
  lazy_item *it = lazy_base(L, 1);
  lazy_push(L, it, k1, l1, k2, l2);
  return 1;
}

/* details(item): a view whose members are those of the item's details. */
static int lazy_details (lua_State *L) {
  lazy_check(L, 1);
  lazy_item *v = (lazy_item *)lua_newuserdatauv(L, sizeof(lazy_item), 1);
  v->claimed = 0;
  v->len = 0;
  luaL_setmetatable(L, LAZY_ITEM);
  lazy_base(L, 1);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

/* claim(item, bit) -> true the first time a bit (0..63) is claimed. */
static int lazy_claim (lua_State *L) {
  lazy_item *it = lazy_check(L, 1);
  lua_Integer bit = luaL_checkinteger(L, 2);
  luaL_argcheck(L, bit >= 0 && bit < 64, 2, "a bit from 0 to 63");
  uint64_t b = (uint64_t)1 << bit;
  lua_pushboolean(L, !(it->claimed & b));
  it->claimed |= b;
  return 1;
}

/* text(item) -> its JSON text; decode(item) -> the whole item, as native.decode makes it. */
static int lazy_text (lua_State *L) {
  lazy_item *it = lazy_base(L, 1);
  lua_pushlstring(L, it->text, it->len);
  return 1;
}

static int lazy_whole (lua_State *L) {
  lazy_item *it = lazy_base(L, 1);
  lazy_decode(L, it->text, it->len);
  return 1;
}

static int lazy_spans_gc (lua_State *L) {
  lazy_spans *sp = (lazy_spans *)lua_touserdata(L, 1);
  free(sp->p);
  sp->p = NULL;
  return 0;
}

/* page(body, list) -> the answer, its `list` as items | nil when simdjson refuses the text
   (the caller decodes it with native.decode, which says what is wrong). */
static int lazy_page (lua_State *L) {
  size_t len;
  const char *body = luaL_checklstring(L, 1, &len);
  const char *list = luaL_checkstring(L, 2);
  const trk_host *h = trk_host_get(L);
  trk_lazy_span keys[LAZY_MEMBERS], values[LAZY_MEMBERS];
  size_t n = 0, charge = trk_lazy_parser_bytes(len) + len + TRK_LAZY_PADDING;
  char *buf;
  int rc;
  lazy_spans *sp = (lazy_spans *)lua_newuserdatauv(L, sizeof *sp, 0);  /* freed if we raise */
  memset(sp, 0, sizeof *sp);
  if (luaL_newmetatable(L, LAZY_SPANS)) {
    lua_pushcfunction(L, lazy_spans_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lazy_reserve(L, h, charge);
  buf = malloc(len + TRK_LAZY_PADDING);          /* the body, padded for simdjson */
  if (buf == NULL) {
    lazy_release(h, charge);
    return luaL_error(L, "not enough memory");
  }
  memcpy(buf, body, len);
  memset(buf + len, 0, TRK_LAZY_PADDING);
  rc = trk_lazy_page(buf, len, list, keys, values, LAZY_MEMBERS, &n, &sp->p, &sp->n, &sp->cap);
  lazy_release(h, charge);
  /* the spans point into buf: they are turned into Lua values before it goes (a Lua error in
     between leaks it, but such an error is the memory limit's, which ends the run) */
  if (rc != 0) {
    free(buf);
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    lazy_decode(L, keys[i].s, keys[i].len);
    if (values[i].s) lazy_decode(L, values[i].s, values[i].len);
    else {
      lua_createtable(L, (int)sp->n, 0);
      for (size_t j = 0; j < sp->n; j++) {
        size_t el = sp->p[j].len;
        lazy_item *it = (lazy_item *)lua_newuserdatauv(L, sizeof(lazy_item) + el + TRK_LAZY_PADDING, 1);
        it->claimed = 0;
        it->len = el;
        memcpy(it->text, sp->p[j].s, el);
        memset(it->text + el, 0, TRK_LAZY_PADDING);
        luaL_setmetatable(L, LAZY_ITEM);
        lua_rawseti(L, -2, (lua_Integer)j + 1);
      }
    }
    lua_rawset(L, -3);
  }
  free(buf);
  return 1;
}

static const luaL_Reg lazy_funcs[] = {
  {"page", lazy_page},
  {"at", lazy_at},
  {"details", lazy_details},
  {"claim", lazy_claim},
  {"item_text", lazy_text},
  {"item_decode", lazy_whole},
  {NULL, NULL}
};

/* Adds the functions above to the native table at the top of the stack, which already holds
   decode and null; makes the item metatable. */
void trk_lazy_open (lua_State *L) {
  if (luaL_newmetatable(L, LAZY_ITEM)) {
    lua_getfield(L, -2, "decode");
    lua_getfield(L, -3, "null");
    lua_pushcclosure(L, lazy_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "tracker.item");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  lua_getfield(L, -1, "decode");
  lua_getfield(L, -2, "null");
  luaL_setfuncs(L, lazy_funcs, 2);
}
