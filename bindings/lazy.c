/* Lazy items: a page whose list items are decoded only where a script reads them. */
/*
** native.page(body, list) decodes an answer's top-level members as cjson would (through
** native.decode), except the array `list`, whose elements become items: full userdata, each
** holding a copy of its element's JSON text and where each of its members is in that text
** (found once, in simdjson's one pass over the page: lazyjson.h), so that an item, and a
** record built on it, stays valid whatever becomes of the page. An item's member is read by
** indexing it (item.name), a member of its `details` by indexing native.details(item); a read
** looks the key up in the item's members and makes only that value. Nested values, and items
** whose members can't be looked up by their raw keys, are decoded by cjson, the same decoder as
** the rest of the client, so every value read equals the one native.decode(native.text(item))
** gives.
**
** Memory: items and values are the Lua allocator's, so the host counts them; simdjson's parser
** buffers are counted with the host's reserve while it works on a page.
**
** The simdjson side (lazyjson.cpp) is a shared object of its own, trk-lazyjson.so, opened on
** the first page rather than linked: it brings libsimdjson and libstdc++, whose loading would
** cost every start of trk what most runs never use. Without it a page is decoded whole, by
** cjson, as before lazy items.
*/
#define _GNU_SOURCE                      /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "dynlib.h"
#include "lazyjson.h"
#include "tracker.h"

#define LAZY_ITEM     "tracker.item"
#define LAZY_WORK     "tracker.page_work"
#define LAZY_MEMBERS  32                 /* top-level members of a page read lazily, at most */
#define LAZY_EXACT    9007199254740992.0 /* 2^53, as json.c's integer fix-up */

/* An item: its members, then its text (len bytes and TRK_LAZY_PADDING zero bytes). A details
   view has none (len 0); its user value is its item. An item's user value is its view, once
   made. */
typedef struct lazy_item {
  uint64_t claimed;     /* the fields a lazy record made or was given (record_index) */
  size_t len;           /* of text; 0 for a details view */
  size_t n, top;        /* members: the top level's first, then those of details */
  int odd;              /* looked up by decoding the text whole (trk_lazy_element) */
  trk_lazy_member m[];
} lazy_item;

static const char *lazy_text_of (const lazy_item *it) { return (const char *)(it->m + it->n); }

/* ---- trk-lazyjson.so, opened on the first page -------------------------------------------- */

static struct {
  __typeof__(trk_lazy_page) *page;
  __typeof__(trk_lazy_string) *string;
  __typeof__(trk_lazy_parser_bytes) *parser_bytes;
} lazy_json;

#ifdef TRK_LAZYJSON_LINKED
/* A sanitizer build links the shim in (CMakeLists.txt: LeakSanitizer's scan at exit crashes on
   the thread-local storage of a libstdc++ opened with dlopen). */
static int lazy_json_ready (void) {
  lazy_json.page = trk_lazy_page;
  lazy_json.string = trk_lazy_string;
  lazy_json.parser_bytes = trk_lazy_parser_bytes;
  return 1;
}
#else
static const trk_dynsym lazy_json_syms[] = {
  {"trk_lazy_page", &lazy_json.page},
  {"trk_lazy_string", &lazy_json.string},
  {"trk_lazy_parser_bytes", &lazy_json.parser_bytes},
  {NULL, NULL}
};

static char lazy_json_file[PATH_MAX];
static trk_dynlib lazy_json_lib = TRK_DYNLIB(lazy_json_file, lazy_json_syms, NULL);
static pthread_once_t lazy_json_found = PTHREAD_ONCE_INIT;

/* Where the shim is: beside the file that holds this code (the build directory holds trk,
   tracker.so and the shim; an install puts tracker.so and the shim in one directory), or, from
   an installed trk's directory, in that one (TRK_LAZYJSON_FROM_BIN: relative to bin/, or
   absolute). The first place is named when it is in neither. */
static void lazy_json_find (void) {
  Dl_info info;
  char self[PATH_MAX], other[PATH_MAX], *slash;
  const char *from_bin = TRK_LAZYJSON_FROM_BIN;
  int n;
  snprintf(lazy_json_file, sizeof lazy_json_file, "%s", TRK_LAZYJSON_FILE);
  if (!dladdr((void *)lazy_json_find, &info) || info.dli_fname == NULL
      || realpath(info.dli_fname, self) == NULL || (slash = strrchr(self, '/')) == NULL)
    return;
  *slash = '\0';
  n = snprintf(lazy_json_file, sizeof lazy_json_file, "%s/%s", self, TRK_LAZYJSON_FILE);
  if (n < 0 || (size_t)n >= sizeof lazy_json_file || access(lazy_json_file, R_OK) == 0) return;
  if (from_bin[0] == '/') n = snprintf(other, sizeof other, "%s/%s", from_bin, TRK_LAZYJSON_FILE);
  else n = snprintf(other, sizeof other, "%s/%s/%s", self, from_bin, TRK_LAZYJSON_FILE);
  if (n > 0 && (size_t)n < sizeof other && access(other, R_OK) == 0)
    memcpy(lazy_json_file, other, (size_t)n + 1);
}

/* Whether the shim's functions are ready (opened on the first call). */
static int lazy_json_ready (void) {
  pthread_once(&lazy_json_found, lazy_json_find);
  return trk_dynlib_ready(&lazy_json_lib) == NULL;
}
#endif

/* simdjson's buffers, counted as the script's memory while it works. */
static void lazy_reserve (lua_State *L, const trk_host *h, size_t n) {
  if (h && !h->reserve(h->ud, n)) h->raise(L, h->ud);
}

static void lazy_release (const trk_host *h, size_t n) {
  if (h) h->release(h->ud, n);
}

/* Upvalues of every function here: 1 native.decode, 2 native.null, 3 the items' metatable. */
static void lazy_decode (lua_State *L, const char *s, size_t len) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushlstring(L, s, len);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) luaL_error(L, "tracker: an answer's item is not valid JSON (%s)",
                                   lua_tostring(L, -1));
  lua_pop(L, 1);
}

/* An item or a view at idx: its metatable compared with the upvalue's (luaL_checkudata would
   look the name up in the registry on every read). */
static lazy_item *lazy_check (lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  int ok = 0;
  if (p != NULL && lua_getmetatable(L, idx)) {
    ok = lua_rawequal(L, -1, lua_upvalueindex(3));
    lua_pop(L, 1);
  }
  if (!ok) luaL_typeerror(L, idx, LAZY_ITEM);
  return (lazy_item *)p;
}

/* The item a view looks into (for an item, itself), and whether idx is a view. */
static lazy_item *lazy_base (lua_State *L, int idx, int *view) {
  lazy_item *it = lazy_check(L, idx);
  *view = it->len == 0;
  if (!*view) return it;
  lua_getiuservalue(L, idx, 1);
  it = (lazy_item *)lua_touserdata(L, -1);
  lua_pop(L, 1);                /* the view's user value keeps it alive */
  return it;
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

/* Pushes member k of the item (of its details when inner), decoding it whole: odd items, and a
   value simdjson refused. */
static void lazy_slow (lua_State *L, const lazy_item *it, int inner, const char *k, size_t len) {
  lazy_decode(L, lazy_text_of(it), it->len);
  if (inner) lazy_member(L, "details", 7);
  lazy_member(L, k, len);
}

/* Pushes member k of the item (of its details when inner): the last of equal keys, as when
   cjson decodes the whole text. */
static void lazy_push (lua_State *L, const lazy_item *it, int inner, const char *k, size_t len) {
  const char *text = lazy_text_of(it);
  const trk_lazy_member *m = NULL;
  trk_lazy_span u;
  if (it->odd) {
    lazy_slow(L, it, inner, k, len);
    return;
  }
  for (size_t i = inner ? it->n : it->top, lo = inner ? it->top : 0; i-- > lo;) {
    const trk_lazy_member *c = &it->m[i];
    if (c->klen == len && memcmp(text + c->key, k, len) == 0) {
      m = c;
      break;
    }
  }
  if (m == NULL) {
    lua_pushnil(L);
    return;
  }
  switch (m->type) {
    case TRK_LAZY_NULL: lua_pushvalue(L, lua_upvalueindex(2)); return;
    case TRK_LAZY_BOOLEAN: lua_pushboolean(L, m->flags & TRK_LAZY_TRUE); return;
    case TRK_LAZY_NESTED: lazy_decode(L, text + m->value, m->vlen); return;
    case TRK_LAZY_NUMBER: {            /* an integer when it is one a double holds exactly */
      double d = trk_lazy_number(m);
      if (d == floor(d) && d >= -LAZY_EXACT && d <= LAZY_EXACT) lua_pushinteger(L, (lua_Integer)d);
      else lua_pushnumber(L, d);
      return;
    }
    default:                           /* a string */
      if (!memchr(text + m->value + 1, '\\', m->vlen - 2)) {   /* as sent, between its quotes */
        lua_pushlstring(L, text + m->value + 1, m->vlen - 2);
        return;
      }
      break;
  }
  /* a string with escapes: the text runs on past it to the item's padding */
  if (lazy_json.string(text + m->value, m->vlen, it->len - m->value + TRK_LAZY_PADDING, &u) == 0)
    lua_pushlstring(L, u.s, u.len);
  else lazy_slow(L, it, inner, k, len);
}

/* item[k]: its member k; view[k]: member k of its item's details. Not a string: nil. */
static int lazy_index (lua_State *L) {
  size_t len;
  int view;
  const char *k;
  const lazy_item *base;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  k = lua_tolstring(L, 2, &len);
  base = lazy_base(L, 1, &view);
  lazy_push(L, base, view, k, len);
  return 1;
}

/* Pushes the view of the item at idx: its details (made once an item, then kept). */
static void lazy_view (lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_getiuservalue(L, idx, 1) == LUA_TUSERDATA) return;
  lua_pop(L, 1);
  lazy_item *v = (lazy_item *)lua_newuserdatauv(L, sizeof(lazy_item), 1);
  memset(v, 0, sizeof *v);
  lua_pushvalue(L, lua_upvalueindex(3));
  lua_setmetatable(L, -2);
  lua_pushvalue(L, idx);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, idx, 1);
}

/* details(item): a view whose members are those of the item's details. */
static int lazy_details (lua_State *L) {
  lazy_item *it = lazy_check(L, 1);
  if (it->len == 0) return luaL_argerror(L, 1, "an item, not a view");
  lazy_view(L, 1);
  return 1;
}

/*
** Lazy records (widget.lua): a record's fields are made from its item the first time they are
** read. native.record_mt(specs, items, c) makes the metatable of one kind's records: specs
** names each field a record of the kind can have, { bit, how, key, inner, get }: the bit its
** item's `claimed` keeps (so a field is made once, and never after the script set or removed
** it); how it is made, REC_STR or REC_INT (member `key` of the item, or of its details when
** `inner`, as a non-empty string or an integer: here, with `get` for any other value), REC_CALL
** (get(item, details view, c)) or REC_WHOLE (the item decoded: `raw`). items maps each lazy
** record to its item (weak keys); a record no longer in it makes nothing. Upvalues 4 specs,
** 5 items, 6 c.
*/
enum { REC_CALL, REC_STR, REC_INT, REC_WHOLE };

/* Pushes field `spec` (at idx) of the item at item, by the spec's get function. */
static void record_call (lua_State *L, int spec, int item) {
  lua_rawgeti(L, spec, 5);
  lua_pushvalue(L, item);
  lazy_view(L, item);
  lua_pushvalue(L, lua_upvalueindex(6));
  lua_call(L, 3, 1);
}

static int record_index (lua_State *L) {
  lazy_item *it;
  lua_Integer bit, how;
  uint64_t b;
  lua_settop(L, 2);                                    /* record, key */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(4)) != LUA_TTABLE) return 0;   /* 3: its spec */
  lua_pushvalue(L, 1);
  if (lua_rawget(L, lua_upvalueindex(5)) != LUA_TUSERDATA) return 0; /* 4: its item */
  it = lazy_check(L, 4);
  lua_rawgeti(L, 3, 1);
  lua_rawgeti(L, 3, 2);
  bit = lua_tointeger(L, -2);
  how = lua_tointeger(L, -1);
  lua_pop(L, 2);
  b = (uint64_t)1 << (bit & 63);
  if (it->claimed & b) return 0;                       /* made before, or set by the script */
  it->claimed |= b;
  if (how == REC_WHOLE) lazy_decode(L, lazy_text_of(it), it->len);
  else if (how == REC_CALL) record_call(L, 3, 4);
  else {
    size_t len;
    const char *k;
    int inner, t;
    lua_rawgeti(L, 3, 3);
    k = lua_tolstring(L, -1, &len);
    inner = lua_rawgeti(L, 3, 4) == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 2);
    lazy_push(L, it, inner, k, len);
    t = lua_type(L, -1);
    if (t == LUA_TNIL) {}
    else if (how == REC_STR && t == LUA_TSTRING) {
      if (lua_rawlen(L, -1) == 0) {
        lua_pop(L, 1);
        lua_pushnil(L);
      }
    }
    else if (!(how == REC_INT && lua_isinteger(L, -1))) {   /* anything else: as get reads it */
      lua_pop(L, 1);
      record_call(L, 3, 4);
    }
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  return 1;
}

/* A field the script sets is never made from the item. */
static int record_newindex (lua_State *L) {
  lua_settop(L, 3);                                    /* record, key, value */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(4)) == LUA_TTABLE) {
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(5)) == LUA_TUSERDATA) {
      lazy_item *it = lazy_check(L, -1);
      lua_rawgeti(L, 4, 1);
      it->claimed |= (uint64_t)1 << (lua_tointeger(L, -1) & 63);
    }
  }
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

/* new(kind, id, updated_at, item) -> a lazy record (upvalues 1 its metatable, 2 items, 3..5
   the keys kind, id and updated_at), room made for the fields a script usually reads. */
static int record_new (lua_State *L) {
  lua_settop(L, 4);
  luaL_checktype(L, 4, LUA_TUSERDATA);
  lua_createtable(L, 0, 8);
  for (int i = 1; i <= 3; i++) {
    lua_pushvalue(L, lua_upvalueindex(2 + i));
    lua_pushvalue(L, i);
    lua_rawset(L, 5);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setmetatable(L, 5);
  lua_pushvalue(L, 5);
  lua_pushvalue(L, 4);
  lua_rawset(L, lua_upvalueindex(2));
  return 1;
}

/* record_mt(specs, items, c) -> the metatable of lazy records of one kind, and new (above). */
static int lazy_record_mt (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 3);
  lua_createtable(L, 0, 4);
  for (int i = 0; i < 2; i++) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_pushcclosure(L, i == 0 ? record_index : record_newindex, 6);
    lua_setfield(L, 4, i == 0 ? "__index" : "__newindex");
  }
  lua_pushliteral(L, "tracker.record");              /* scripts can't reach the table */
  lua_setfield(L, 4, "__metatable");
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 2);
  lua_pushliteral(L, "kind");
  lua_pushliteral(L, "id");
  lua_pushliteral(L, "updated_at");
  lua_pushcclosure(L, record_new, 5);
  return 2;
}

/* text(item) -> its JSON text; decode(item) -> the whole item, as native.decode makes it. */
static int lazy_text (lua_State *L) {
  int view;
  const lazy_item *it = lazy_base(L, 1, &view);
  lua_pushlstring(L, lazy_text_of(it), it->len);
  return 1;
}

static int lazy_whole (lua_State *L) {
  int view;
  const lazy_item *it = lazy_base(L, 1, &view);
  lazy_decode(L, lazy_text_of(it), it->len);
  return 1;
}

/* What lazy_page holds outside Lua while it works: the padded copy of the body and the index
   of its list. A full userdata, so that a Lua error (the memory limit) on the way frees it. */
typedef struct lazy_work {
  trk_lazy_list list;
  char *buf;
} lazy_work;

static void lazy_work_free (lazy_work *w) {
  free(w->list.elems);
  free(w->list.members);
  free(w->buf);
  memset(w, 0, sizeof *w);
}

static int lazy_work_gc (lua_State *L) {
  lazy_work_free((lazy_work *)lua_touserdata(L, 1));
  return 0;
}

/* An item for element e of l, pushed; the items' metatable is at mt. */
static void lazy_new_item (lua_State *L, const trk_lazy_list *l, const trk_lazy_element *e, int mt) {
  size_t mbytes = e->n * sizeof(trk_lazy_member);
  lazy_item *it = (lazy_item *)lua_newuserdatauv(L, sizeof(lazy_item) + mbytes + e->text.len
                                                 + TRK_LAZY_PADDING, 1);
  char *text;
  it->claimed = 0;
  it->len = e->text.len;
  it->n = e->n;
  it->odd = e->odd;
  it->top = 0;
  for (size_t i = 0; i < e->n; i++)            /* the top level's first, each level in order */
    if (!(l->members[e->first + i].flags & TRK_LAZY_INNER)) it->m[it->top++] = l->members[e->first + i];
  for (size_t i = 0, j = it->top; i < e->n; i++)
    if (l->members[e->first + i].flags & TRK_LAZY_INNER) it->m[j++] = l->members[e->first + i];
  text = (char *)(it->m + it->n);
  memcpy(text, e->text.s, e->text.len);
  memset(text + e->text.len, 0, TRK_LAZY_PADDING);
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);
}

/* page(body, list) -> the answer, its `list` as items | nil when simdjson refuses the text
   (the caller decodes it with native.decode, which says what is wrong). */
static int lazy_page (lua_State *L) {
  size_t len;
  const char *body = luaL_checklstring(L, 1, &len);
  const char *list = luaL_checkstring(L, 2);
  const trk_host *h = trk_host_get(L);
  trk_lazy_span keys[LAZY_MEMBERS], values[LAZY_MEMBERS];
  size_t n = 0, charge;
  char *buf;
  int rc;
  if (!lazy_json_ready()) {                      /* no shim: the caller decodes it whole */
    lua_pushnil(L);
    return 1;
  }
  charge = lazy_json.parser_bytes(len) + len + TRK_LAZY_PADDING;
  lazy_work *w = (lazy_work *)lua_newuserdatauv(L, sizeof *w, 0);
  trk_lazy_list *l = &w->list;
  memset(w, 0, sizeof *w);
  if (luaL_newmetatable(L, LAZY_WORK)) {
    lua_pushcfunction(L, lazy_work_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lazy_reserve(L, h, charge);
  buf = w->buf = malloc(len + TRK_LAZY_PADDING);   /* the body, padded for simdjson */
  if (buf == NULL) {
    lazy_release(h, charge);
    return luaL_error(L, "not enough memory");
  }
  memcpy(buf, body, len);
  memset(buf + len, 0, TRK_LAZY_PADDING);
  rc = lazy_json.page(buf, len, list, keys, values, LAZY_MEMBERS, &n, l);
  lazy_release(h, charge);
  if (rc != 0) {                                   /* the spans point into buf: made into */
    lazy_work_free(w);                             /* Lua values below, before it goes */
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    lazy_decode(L, keys[i].s, keys[i].len);
    if (values[i].s) lazy_decode(L, values[i].s, values[i].len);
    else {
      lua_createtable(L, (int)l->nelems, 0);
      for (size_t j = 0; j < l->nelems; j++) {
        lazy_new_item(L, l, &l->elems[j], lua_upvalueindex(3));
        lua_rawseti(L, -2, (lua_Integer)j + 1);
      }
    }
    lua_rawset(L, -3);
  }
  lazy_work_free(w);               /* now, not when the GC comes to it: the GC does not see it */
  return 1;
}

static const luaL_Reg lazy_funcs[] = {
  {"page", lazy_page},
  {"details", lazy_details},
  {"record_mt", lazy_record_mt},
  {"item_text", lazy_text},
  {"item_decode", lazy_whole},
  {NULL, NULL}
};

/* Adds the functions above to the native table at the top of the stack, which already holds
   decode and null; makes the item metatable. */
void trk_lazy_open (lua_State *L) {
  luaL_newmetatable(L, LAZY_ITEM);
  lua_pushliteral(L, "tracker.item");
  lua_setfield(L, -2, "__metatable");
  lua_getfield(L, -2, "decode");
  lua_getfield(L, -3, "null");
  lua_pushvalue(L, -3);
  lua_pushcclosure(L, lazy_index, 3);
  lua_setfield(L, -2, "__index");
  lua_getfield(L, -2, "decode");            /* native, mt -> native, decode, null, mt */
  lua_getfield(L, -3, "null");
  lua_rotate(L, -3, 2);
  luaL_setfuncs(L, lazy_funcs, 3);
}
