/* The sandbox's own library: safe replacements for the standard functions scripts see. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "pattern.h"
#include "sandbox.h"
#include "sbxlib.h"
#include "scripts.h"
#include "tracker.h"

#define SBX_IDS_KEY      "trk.ids"      /* registry: object -> small integer, weak keys */
#define SBX_MOVE_POLL    65536          /* table.move elements between two limit checks */

/* Calls the wrapped standard function (upvalue 1) with the arguments on the stack. */
static int sbx_original (lua_State *L, int nresults) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, nresults);
  return nresults == LUA_MULTRET ? lua_gettop(L) : nresults;
}

/* ---- names without addresses --------------------------------------------------------- */

/* A stable small number per object, in order of first sight: "table: #3". */
static lua_Integer sbx_id (lua_State *L, int idx) {
  lua_Integer id;
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, SBX_IDS_KEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, SBX_IDS_KEY);
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) == LUA_TNUMBER) {
    id = lua_tointeger(L, -1);
    lua_pop(L, 2);
    return id;
  }
  lua_pop(L, 1);
  lua_rawgeti(L, -1, 0);              /* the counter lives at [0] */
  id = lua_tointeger(L, -1) + 1;
  lua_pop(L, 1);
  lua_pushinteger(L, id);
  lua_rawseti(L, -2, 0);
  lua_pushvalue(L, idx);
  lua_pushinteger(L, id);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return id;
}

/* Like luaL_tolstring, but an object without __tostring reads "table: #3". Pushes exactly
   one value, the string, whatever the metatable holds: a caller may keep a luaL_Buffer's box
   just below it (luaL_addvalue), and a value left over would be taken for the box. */
const char *trk_sbx_tostring (lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    if (!lua_isstring(L, -1)) luaL_error(L, "'__tostring' must return a string");
    return lua_tostring(L, -1);
  }
  switch (lua_type(L, idx)) {
    case LUA_TNIL: case LUA_TBOOLEAN: case LUA_TNUMBER: case LUA_TSTRING:
      return luaL_tolstring(L, idx, NULL);
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) return lua_pushliteral(L, "json.null");
      /* fall through */
    default: {
      /* any __name was pushed, string or not (a table, a file handle): pop it in all cases */
      int tt = luaL_getmetafield(L, idx, "__name");
      const char *kind = tt == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, idx);
      lua_Integer id = sbx_id(L, idx);
      lua_pushfstring(L, "%s: #%I", kind, id);
      if (tt != LUA_TNIL) lua_remove(L, -2);
      return lua_tostring(L, -1);
    }
  }
}

/* Replaces the arguments first to last with their strings. Runs any __tostring, the
   script's code, before a caller opens a luaL_Buffer: nothing runs while one is open. */
static void sbx_tostrings (lua_State *L, int first, int last) {
  for (int i = first; i <= last; i++) {
    trk_sbx_tostring(L, i);
    lua_replace(L, i);
  }
}

static int sbx_tostring (lua_State *L) {
  luaL_checkany(L, 1);
  trk_sbx_tostring(L, 1);
  return 1;
}

/* The conversion character of the next directive of fmt from *i on, with *i at it; -1 when
   there is none. Skips "%%", flags, width and precision as string.format reads them. */
static int sbx_format_next (const char *fmt, size_t len, size_t *i) {
  for (; *i < len; (*i)++) {
    if (fmt[*i] != '%') continue;
    if (*i + 1 < len && fmt[*i + 1] == '%') {
      (*i)++;
      continue;
    }
    while (*i + 1 < len && fmt[*i + 1] && strchr("-+ #0.123456789", fmt[*i + 1])) (*i)++;
    if (*i + 1 >= len) return -1;
    return (unsigned char)fmt[++*i];
  }
  return -1;
}

/* Whether an argument of a %s is neither a string nor a number: only those, and %p, could
   show an address. */
static int sbx_format_named (lua_State *L, int arg) {
  int t = lua_type(L, arg);
  return t != LUA_TSTRING && t != LUA_TNUMBER;
}

/* Whether a format has a %p, or a %s of a value sbx_format_named: 2 for a %p, 1 for a %s
   only, 0 when the original can run as is. */
static int sbx_format_rewrites (lua_State *L, const char *fmt, size_t len, int top) {
  int arg = 1, c, found = 0;
  for (size_t i = 0; (c = sbx_format_next(fmt, len, &i)) >= 0 && ++arg <= top; i++) {
    if (c == 'p') return 2;
    if (c == 's' && sbx_format_named(L, arg)) found = 1;
  }
  return found;
}

/* The format with each %p of an argument present read as %s; replaces argument 1. Plain C:
   no script code runs while the buffer is open. */
static void sbx_format_pointers (lua_State *L, const char *fmt, size_t len, int top) {
  luaL_Buffer b;
  int arg = 1, c;
  char *p = luaL_buffinitsize(L, &b, len);
  memcpy(p, fmt, len);
  for (size_t i = 0; (c = sbx_format_next(fmt, len, &i)) >= 0 && ++arg <= top; i++)
    if (c == 'p') p[i] = 's';
  luaL_pushresultsize(&b, len);
  lua_replace(L, 1);
}

/* string.format with %p and %s that never show an address. Most formats need no rewriting
   and go straight to the original. The arguments are turned into strings first (running any
   __tostring), and only then is the format rebuilt. */
static int sbx_format (lua_State *L) {
  size_t len;
  const char *fmt = luaL_checklstring(L, 1, &len);
  int arg = 1, top = lua_gettop(L), c, rewrites = sbx_format_rewrites(L, fmt, len, top);
  if (!rewrites) {
    /* the original is a plain C function without upvalues: run it in this very call */
    lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
    if (original && lua_getupvalue(L, lua_upvalueindex(1), 1) == NULL) return original(L);
    lua_settop(L, top);
    return sbx_original(L, 1);
  }
  for (size_t i = 0; (c = sbx_format_next(fmt, len, &i)) >= 0 && ++arg <= top; i++) {
    if (c == 'p') {
      int t = lua_type(L, arg);
      if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD ||
          t == LUA_TSTRING)
        lua_pushfstring(L, "#%I", sbx_id(L, arg));
      else
        lua_pushliteral(L, "(null)");
      lua_replace(L, arg);
    }
    else if (c == 's' && sbx_format_named(L, arg))
      sbx_tostrings(L, arg, arg);
  }
  if (rewrites == 2) sbx_format_pointers(L, fmt, len, top);
  return sbx_original(L, 1);
}

/* ---- output ---------------------------------------------------------------------------- */

/* Joins the arguments as print does (tabs, then end), within --max-output. */
static int sbx_emit (lua_State *L, FILE *f, const char *prefix, const char *end) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  sbx_tostrings(L, 1, n);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, prefix);
  for (int i = 1; i <= n; i++) {
    size_t l;
    const char *s = lua_tolstring(L, i, &l);
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_addlstring(&b, s, l);
  }
  luaL_addstring(&b, end);
  luaL_pushresult(&b);
  {
    size_t l;
    const char *s = lua_tolstring(L, -1, &l);
    trk_sandbox_write(L, f, s, l);
  }
  return 0;
}

static int sbx_print (lua_State *L) { return sbx_emit(L, stdout, "", "\n"); }

static int log_info (lua_State *L) { fflush(stdout); return sbx_emit(L, stderr, "info: ", "\n"); }
static int log_warn (lua_State *L) { fflush(stdout); return sbx_emit(L, stderr, "warn: ", "\n"); }
static int log_error (lua_State *L) { fflush(stdout); return sbx_emit(L, stderr, "error: ", "\n"); }

static const luaL_Reg log_funcs[] = {
  {"info", log_info}, {"warn", log_warn}, {"error", log_error}, {NULL, NULL}
};

/* ---- catching errors: pcall, xpcall, coroutines ------------------------------------------ */

/* Every place a script could catch an error re-raises once a limit stopped the run. */
static int sbx_finishpcall (lua_State *L, int status, lua_KContext extra) {
  trk_sandbox_check(L, status);
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}

static int sbx_pcall (lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);      /* first result when all goes well */
  lua_insert(L, 1);
  return sbx_finishpcall(L, lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0,
                                       sbx_finishpcall), 0);
}

/* Calls the script's message handler, unless a limit stopped the run: an error raised by
   the limit hook reaches the handler while Lua has hooks switched off. */
static int sbx_handler (lua_State *L) {
  trk_sandbox *S = trk_sandbox_of(L);
  if (trk_sandbox_killed(S) || trk_sandbox_stopped(S)) return 1;
  return sbx_original(L, 1);
}

static int sbx_xpcall (lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, sbx_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);      /* stack: f, h, ..., true */
  lua_pushvalue(L, 1);        /* f, h, ..., true, f */
  lua_rotate(L, 3, 2);        /* f, h, true, f, ... */
  return sbx_finishpcall(L, lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, sbx_finishpcall), 2);
}

static lua_State *sbx_getco (lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  return co;
}

/* Resumes co with narg values from L; returns the count of results moved to L, or -1
   with the error on top of L. Keeps the sandbox's idea of the running thread. */
static int sbx_auxresume (lua_State *L, lua_State *co, int narg) {
  trk_sandbox *S = trk_sandbox_of(L);
  lua_State *prev;
  int status, nres;
  trk_sandbox_check(L, LUA_OK);
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
    lua_pushliteral(L, "cannot resume dead coroutine");
    return -1;
  }
  lua_xmove(L, co, narg);
  prev = trk_sandbox_swap_running(S, co);
  status = lua_resume(co, L, narg, &nres);
  trk_sandbox_swap_running(S, prev);
  trk_sandbox_check(L, status);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);        /* the error object */
  return -1;
}

static int sbx_coresume (lua_State *L) {
  lua_State *co = sbx_getco(L);
  int r = sbx_auxresume(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

static int sbx_auxwrap (lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = sbx_auxresume(L, co, lua_gettop(L));
  if (r < 0) {
    int status = lua_status(co);
    if (status != LUA_OK && status != LUA_YIELD) {   /* dead by error: close its variables */
      trk_sandbox *S = trk_sandbox_of(L);
      lua_State *prev = trk_sandbox_swap_running(S, co);
      status = lua_resetthread(co);
      trk_sandbox_swap_running(S, prev);
      trk_sandbox_check(L, status);
      lua_xmove(co, L, 1);
    }
    if (lua_type(L, -1) == LUA_TSTRING) {     /* add where the wrap was called */
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return r;
}

static int sbx_cowrap (lua_State *L) {
  lua_State *co;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, sbx_auxwrap, 1);
  return 1;
}

/* coroutine.close runs the coroutine's pending __close handlers: in that thread. */
static int sbx_coclose (lua_State *L) {
  trk_sandbox *S = trk_sandbox_of(L);
  lua_State *co = sbx_getco(L), *prev;
  int status;
  trk_sandbox_check(L, LUA_OK);      /* a thread killed by the hook has hooks off */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  prev = trk_sandbox_swap_running(S, co);
  status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);   /* restore even on error */
  trk_sandbox_swap_running(S, prev);
  trk_sandbox_check(L, status);
  return status == LUA_OK ? lua_gettop(L) : lua_error(L);
}

/* ---- long C calls ------------------------------------------------------------------------ */

/* string.rep("", huge) loops in C without producing anything: answer it at once. */
static int sbx_rep (lua_State *L) {
  size_t l, lsep;
  luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || (l == 0 && lsep == 0)) {
    lua_pushliteral(L, "");
    return 1;
  }
  return sbx_original(L, 1);
}

/* table.move, checking the limits as it goes: a range can be as long as an integer. */
static int sbx_move (lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;   /* destination table */
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, tt, LUA_TTABLE);
  if (e >= f) {
    lua_Integer n, i;
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (i = 0; i < n; i++) {
        if ((i & (SBX_MOVE_POLL - 1)) == SBX_MOVE_POLL - 1) trk_sandbox_poll(L, NULL);
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
    else {
      for (i = n - 1; i >= 0; i--) {
        if ((i & (SBX_MOVE_POLL - 1)) == 0) trk_sandbox_poll(L, NULL);
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

/* table.insert and table.remove shift elements one by one in C; with a __len that lies,
   that is an endless loop the hook never sees. These check the limits as they shift. */
static int sbx_insert (lua_State *L) {
  lua_Integer e, pos, i;
  luaL_checktype(L, 1, LUA_TTABLE);
  e = luaL_len(L, 1) + 1;                    /* first empty slot */
  switch (lua_gettop(L)) {
    case 2:
      pos = e;
      break;
    case 3:
      pos = luaL_checkinteger(L, 2);
      luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
      for (i = e; i > pos; i--) {
        if (((e - i) & (SBX_MOVE_POLL - 1)) == SBX_MOVE_POLL - 1) trk_sandbox_poll(L, NULL);
        lua_geti(L, 1, i - 1);
        lua_seti(L, 1, i);
      }
      break;
    default:
      return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

static int sbx_remove (lua_State *L) {
  lua_Integer size, pos, start;
  luaL_checktype(L, 1, LUA_TTABLE);
  size = luaL_len(L, 1);
  pos = luaL_optinteger(L, 2, size);
  if (pos != size)
    luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
  lua_geti(L, 1, pos);                       /* the result */
  for (start = pos; pos < size; pos++) {
    if (((pos - start) & (SBX_MOVE_POLL - 1)) == SBX_MOVE_POLL - 1) trk_sandbox_poll(L, NULL);
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

/* table.sort, checking the limits as it goes: sorting millions of numbers is seconds of C.
   A quicksort with a median-of-three pivot, insertion sort for short runs, and the smaller
   side recursed first so the C stack stays shallow. The table is at index 1, the optional
   order function at index 2. */
typedef struct sbx_sort {
  lua_State *L;
  int has_cmp;
} sbx_sort;

#define SBX_SORT_POLL   65536    /* comparisons between two limit checks */

/* Comparisons since the last check, carried from one sort to the next: many small sorts are
   charged to the budget as one large one is. */
static unsigned long sbx_sort_steps;
#define SBX_SORT_SHORT  12       /* runs this short are insertion-sorted */

/* Is the value at stack index a less than the one at b? */
static int sort_less (sbx_sort *c, int a, int b) {
  lua_State *L = c->L;
  int r;
  if ((++sbx_sort_steps & (SBX_SORT_POLL - 1)) == 0) trk_sandbox_poll(L, NULL);
  if (!c->has_cmp) return lua_compare(L, a, b, LUA_OPLT);
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, a);
  lua_pushvalue(L, b);
  lua_call(L, 2, 1);
  r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

static void sort_swap (lua_State *L, lua_Integer i, lua_Integer j) {
  lua_geti(L, 1, i);
  lua_geti(L, 1, j);
  lua_seti(L, 1, i);
  lua_seti(L, 1, j);
}

/* Puts t[i] and t[j] in order. */
static void sort_order (sbx_sort *c, lua_Integer i, lua_Integer j) {
  int swap;
  lua_geti(c->L, 1, i);
  lua_geti(c->L, 1, j);
  swap = sort_less(c, -1, -2);
  lua_pop(c->L, 2);
  if (swap) sort_swap(c->L, i, j);
}

static void sort_insertion (sbx_sort *c, lua_Integer lo, lua_Integer hi) {
  lua_State *L = c->L;
  for (lua_Integer k = lo + 1; k <= hi; k++) {
    lua_Integer j = k - 1;
    lua_geti(L, 1, k);                       /* the value to place */
    while (j >= lo) {
      lua_geti(L, 1, j);
      if (!sort_less(c, -2, -1)) {
        lua_pop(L, 1);
        break;
      }
      lua_seti(L, 1, j + 1);                 /* shift t[j] up */
      j--;
    }
    lua_seti(L, 1, j + 1);
  }
}

static void sort_range (sbx_sort *c, lua_Integer lo, lua_Integer hi) {
  lua_State *L = c->L;
  luaL_checkstack(L, 8, "table.sort: nesting too deep");
  while (hi - lo >= SBX_SORT_SHORT) {
    lua_Integer mid = lo + (hi - lo) / 2, i = lo, j = hi - 1;
    sort_order(c, lo, mid);                  /* t[lo] <= t[mid] <= t[hi]: sentinels */
    sort_order(c, mid, hi);
    sort_order(c, lo, mid);
    sort_swap(L, mid, hi - 1);
    lua_geti(L, 1, hi - 1);                  /* the pivot */
    for (;;) {
      while (lua_geti(L, 1, ++i), sort_less(c, -1, -2)) {
        if (i >= hi) luaL_error(L, "invalid order function for sorting");
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      while (lua_geti(L, 1, --j), sort_less(c, -2, -1)) {
        if (j <= lo) luaL_error(L, "invalid order function for sorting");
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      if (j < i) break;
      sort_swap(L, i, j);
    }
    lua_pop(L, 1);
    sort_swap(L, i, hi - 1);                 /* the pivot to its place */
    if (i - lo < hi - i) {
      sort_range(c, lo, i - 1);
      lo = i + 1;
    }
    else {
      sort_range(c, i + 1, hi);
      hi = i - 1;
    }
  }
  sort_insertion(c, lo, hi);
}

static int sbx_sort_table (lua_State *L) {
  sbx_sort c = {L, 0};
  lua_Integer n;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = luaL_len(L, 1);
  if (n > 1) {
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2)) {
      luaL_checktype(L, 2, LUA_TFUNCTION);
      c.has_cmp = 1;
    }
    lua_settop(L, 2);
    sort_range(&c, 1, n);
  }
  return 0;
}

/* ---- time ------------------------------------------------------------------------------ */

/* With --now, os.time() and os.date(fmt) answer the fixed instant. */
static int sbx_ostime (lua_State *L) {
  const trk_options *o = trk_sandbox_options(trk_sandbox_of(L));
  if (o->has_now && lua_isnoneornil(L, 1)) {
    lua_pushinteger(L, (lua_Integer)o->now);
    return 1;
  }
  return sbx_original(L, 1);
}

static int sbx_osdate (lua_State *L) {
  const trk_options *o = trk_sandbox_options(trk_sandbox_of(L));
  if (o->has_now && lua_isnoneornil(L, 2)) {
    if (lua_isnone(L, 1)) lua_pushliteral(L, "%c");
    lua_settop(L, 1);
    lua_pushinteger(L, (lua_Integer)o->now);
  }
  return sbx_original(L, 1);
}

/* ---- require ---------------------------------------------------------------------------- */

/* require is tracker.sandbox's requirer (the busted kit's too); the sandbox gives it its finder:
   find(name) -> the chunk of a shipped library or of a .lua file beside the script, its _ENV
   the script's environment; nil and the file looked for; or false and why no script may load
   it (trk's own modules, a chunk that does not load). */
static int sbx_require_find (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const trk_embedded *e = trk_embedded_find(name);
  int status;
  lua_settop(L, 1);
  if (e && trk_embedded_host_only(e)) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "module '%s' is part of trk itself (scripts/trk/: its commands, journal "
                    "and reports), not a library a script may require", name);
    return 2;
  }
  if (e)
    status = luaL_loadbufferx(L, e->chunk, e->size, e->path, "b");
  else {
    luaL_Buffer b;
    FILE *f;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, trk_sandbox_script_dir(trk_sandbox_of(L)));
    for (const char *p = name; *p; p++) luaL_addchar(&b, *p == '.' ? '/' : *p);
    luaL_addstring(&b, ".lua");
    luaL_pushresult(&b);                         /* 2: the file */
    f = fopen(lua_tostring(L, 2), "r");
    if (f == NULL) {
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
    fclose(f);
    status = luaL_loadfilex(L, lua_tostring(L, 2), "t");
  }
  if (status != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "error loading module '%s':\n\t%s", name, lua_tostring(L, -2));
    return 2;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_ENV_KEY);
  lua_setupvalue(L, -2, 1);
  return 1;
}

/* require "tracker": a fresh instance of the module, the script's own. */
static int sbx_require_tracker (lua_State *L) {
  lua_settop(L, 0);
  lua_pushliteral(L, "tracker");
  return luaopen_tracker(L);
}

/* Pushes tracker.sandbox.requirer{ loaded =, find =, builtin = { tracker = } } for this sandbox:
   the loaded modules are the registry's table, where no script reaches. */
static void sbx_push_require (lua_State *L) {
  lua_getglobal(L, "package");                  /* the host's: tracker.sandbox is loaded */
  lua_getfield(L, -1, "loaded");
  lua_getfield(L, -1, "tracker.sandbox");
  lua_getfield(L, -1, "requirer");
  lua_replace(L, -4);
  lua_pop(L, 2);
  lua_createtable(L, 0, 3);
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_LOADED_KEY);
  lua_setfield(L, -2, "loaded");
  lua_pushcfunction(L, sbx_require_find);
  lua_setfield(L, -2, "find");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, sbx_require_tracker);
  lua_setfield(L, -2, "tracker");
  lua_setfield(L, -2, "builtin");
  lua_call(L, 1, 1);
}

/* ---- the overrides table handed to tracker.sandbox ------------------------------------------ */

/* Sets t[name] to a C closure over the current value of lib.field (the original). */
static void sbx_wrap (lua_State *L, const char *name, const char *lib, const char *field,
                      lua_CFunction f) {
  lua_getglobal(L, lib);
  lua_getfield(L, -1, field);
  lua_remove(L, -2);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}

static void sbx_set (lua_State *L, const char *name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, name);
}

void trk_sbxlib_overrides (lua_State *L, trk_sandbox *S) {
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, TRK_LOADED_KEY);

  lua_newtable(L);
  sbx_set(L, "print", sbx_print);
  sbx_set(L, "tostring", sbx_tostring);
  sbx_set(L, "pcall", sbx_pcall);
  sbx_set(L, "xpcall", sbx_xpcall);
  sbx_push_require(L);
  lua_setfield(L, -2, "require");
  sbx_set(L, "coroutine.resume", sbx_coresume);
  sbx_set(L, "coroutine.wrap", sbx_cowrap);
  sbx_set(L, "table.move", sbx_move);
  sbx_set(L, "table.sort", sbx_sort_table);
  sbx_set(L, "table.insert", sbx_insert);
  sbx_set(L, "table.remove", sbx_remove);
  sbx_wrap(L, "coroutine.close", "coroutine", "close", sbx_coclose);
  sbx_wrap(L, "string.format", "string", "format", sbx_format);
  sbx_wrap(L, "string.rep", "string", "rep", sbx_rep);
  sbx_wrap(L, "os.time", "os", "time", sbx_ostime);
  sbx_wrap(L, "os.date", "os", "date", sbx_osdate);

  lua_newtable(L);                   /* the budgeted pattern functions */
  trk_pattern_register(L, -1, trk_sandbox_poll, S);
  static const char *const pattern_names[] = {"find", "match", "gmatch", "gsub", NULL};
  for (int i = 0; pattern_names[i]; i++) {
    const char *key = lua_pushfstring(L, "string.%s", pattern_names[i]);
    lua_getfield(L, -2, pattern_names[i]);
    lua_setfield(L, -4, key);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  luaL_newlib(L, log_funcs);
  lua_setfield(L, -2, "log");
  trk_sbx_json_open(L, S);
  lua_setfield(L, -2, "json");
  trk_sbx_files_open(L, S);
  lua_setfield(L, -2, "files");
}

trk_sandbox *trk_sandbox_new (const trk_options *o, char *err, size_t errlen) {
  return trk_sandbox_create(o, trk_sbxlib_overrides, err, errlen);
}
