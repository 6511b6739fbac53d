/* Lua 5.4 pattern matching (find, match, gmatch, gsub) that counts its steps and polls a limit callback. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "pattern.h"

/* Tunables (TRK_PATTERN_POLL_STEPS lives in pattern.h). */
#define PAT_MAXCCALLS   200  /* recursion budget of one match, as Lua's MAXCCALLS */
#define PAT_MAXCAPTURES 32   /* as Lua's LUA_MAXCAPTURES */
#define PAT_BULK_SHIFT  4    /* bulk scans/copies are charged one step per 16 bytes */

#define PAT_ESC      '%'
#define PAT_SPECIALS "^$*+?.([%-"

#define PAT_CAP_UNFINISHED ((ptrdiff_t)-1)
#define PAT_CAP_POSITION   ((ptrdiff_t)-2)

#define pat_uchar(c) ((unsigned char)(c))

/* Kept in a full userdata upvalue: function pointers do not fit a light userdata portably.
   The count of steps left runs on across calls, so that many short matches poll too. */
typedef struct pat_hook {
  trk_pattern_poll poll;
  void *ud;
  size_t left;  /* steps left until the next poll */
} pat_hook;

/* All matcher state lives here, on the C stack, so a longjmp out of a poll leaks nothing. */
typedef struct pat_state {
  const char *src_init;
  const char *src_end;
  const char *p_end;
  lua_State *L;
  pat_hook *hook;  /* its count of steps left is the budget of every match */
  int depth;  /* recursion budget left */
  int level;  /* number of captures, finished or not */
  struct {
    const char *init;
    ptrdiff_t len;  /* or PAT_CAP_UNFINISHED / PAT_CAP_POSITION */
  } cap[PAT_MAXCAPTURES];
} pat_state;

static const char *pat_match(pat_state *ms, const char *s, const char *p);

/* ---- step accounting ---- */

static void pat_poll(pat_state *ms) {
  ms->hook->left = TRK_PATTERN_POLL_STEPS;  /* reset first: the poll may not return */
  if (ms->hook->poll != NULL)
    ms->hook->poll(ms->L, ms->hook->ud);
}

/* Counting down keeps the hot path to one decrement and branch. */
#define pat_step(ms) ((void)(--(ms)->hook->left == 0 ? (pat_poll(ms), 0) : 0))

static void pat_charge(pat_state *ms, size_t n) {
  if (n >= ms->hook->left)
    pat_poll(ms);
  else
    ms->hook->left -= n;
}

static void pat_prep(pat_state *ms, lua_State *L, pat_hook *hook,
                     const char *s, size_t ls, const char *p, size_t lp) {
  ms->L = L;
  ms->hook = hook;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->p_end = p + lp;
}

/* Called before each start position: every attempt starts with fresh captures. */
static void pat_reprep(pat_state *ms) {
  ms->level = 0;
  ms->depth = PAT_MAXCCALLS;
}

/* ---- single items ---- */

/* Does byte c belong to class %cl? Unknown letters stand for themselves. Both cases
   are listed instead of using tolower/isupper: same result, two fewer lookups. */
#define PAT_CLASS(lo, up, test) \
  case lo: return (test) != 0; \
  case up: return (test) == 0;

static inline int pat_class(int c, int cl) {
  switch (cl) {
    PAT_CLASS('a', 'A', isalpha(c))
    PAT_CLASS('c', 'C', iscntrl(c))
    PAT_CLASS('d', 'D', isdigit(c))
    PAT_CLASS('g', 'G', isgraph(c))
    PAT_CLASS('l', 'L', islower(c))
    PAT_CLASS('p', 'P', ispunct(c))
    PAT_CLASS('s', 'S', isspace(c))
    PAT_CLASS('u', 'U', isupper(c))
    PAT_CLASS('w', 'W', isalnum(c))
    PAT_CLASS('x', 'X', isxdigit(c))
    PAT_CLASS('z', 'Z', c == 0)  /* deprecated, but stock 5.4 still accepts it */
    default: return cl == c;
  }
}

#undef PAT_CLASS

/* Set membership; p points at '[' and ec at the closing ']'. */
static int pat_bracket(int c, const char *p, const char *ec) {
  int found = 1;
  if (*(p + 1) == '^') {
    found = 0;
    p++;
  }
  while (++p < ec) {
    if (*p == PAT_ESC) {
      p++;
      if (pat_class(c, pat_uchar(*p)))
        return found;
    } else if (*(p + 1) == '-' && p + 2 < ec) {
      p += 2;
      if (pat_uchar(*(p - 2)) <= c && c <= pat_uchar(*p))
        return found;
    } else if (pat_uchar(*p) == c) {
      return found;
    }
  }
  return !found;
}

/* End of the single item starting at p; validates escapes and sets. */
static const char *pat_class_end(pat_state *ms, const char *p) {
  switch (*p++) {
    case PAT_ESC:
      if (p == ms->p_end)
        luaL_error(ms->L, "malformed pattern (ends with '%%')");
      return p + 1;
    case '[': {
      const char *start = p;
      if (p < ms->p_end && *p == '^')
        p++;
      do {  /* the first member is taken literally, so "[]]" works */
        if (p == ms->p_end)
          luaL_error(ms->L, "malformed pattern (missing ']')");
        if (*(p++) == PAT_ESC && p < ms->p_end)
          p++;
      } while (p == ms->p_end || *p != ']');
      pat_charge(ms, (size_t)(p - start) >> PAT_BULK_SHIFT);
      return p + 1;
    }
    default:
      return p;
  }
}

/* Does the item p..ep match the byte at s? */
static inline int pat_single(pat_state *ms, const char *s, const char *p, const char *ep) {
  int c;
  pat_step(ms);
  if (s >= ms->src_end)
    return 0;
  c = pat_uchar(*s);
  switch (*p) {
    case '.':
      return 1;
    case PAT_ESC:
      return pat_class(c, pat_uchar(*(p + 1)));
    case '[':
      pat_charge(ms, (size_t)(ep - p) >> PAT_BULK_SHIFT);  /* long sets cost more */
      return pat_bracket(c, p, ep - 1);
    default:
      return pat_uchar(*p) == c;
  }
}

/* ---- compound items ---- */

static const char *pat_balance(pat_state *ms, const char *s, const char *p) {
  int open, close, depth = 1;
  if (p >= ms->p_end - 1)
    luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  pat_step(ms);
  if (s >= ms->src_end || *s != *p)
    return NULL;
  open = *p;
  close = *(p + 1);
  while (++s < ms->src_end) {
    pat_step(ms);  /* the scan may run to the end of the subject */
    if (*s == close) {
      if (--depth == 0)
        return s + 1;
    } else if (*s == open) {
      depth++;
    }
  }
  return NULL;
}

/* Greedy repetition: take as many as possible, then give back one at a time. */
static const char *pat_max_expand(pat_state *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t i = 0;
  while (pat_single(ms, s + i, p, ep))
    i++;
  for (; i >= 0; i--) {
    const char *res = pat_match(ms, s + i, ep + 1);
    if (res != NULL)
      return res;
  }
  return NULL;
}

/* Lazy repetition: try the rest first, extend by one on failure. */
static const char *pat_min_expand(pat_state *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *res = pat_match(ms, s, ep + 1);
    if (res != NULL)
      return res;
    if (!pat_single(ms, s, p, ep))
      return NULL;
    s++;
  }
}

static const char *pat_start_capture(pat_state *ms, const char *s, const char *p, ptrdiff_t what) {
  const char *res;
  int level = ms->level;
  if (level >= PAT_MAXCAPTURES)
    luaL_error(ms->L, "too many captures");
  ms->cap[level].init = s;
  ms->cap[level].len = what;
  ms->level = level + 1;
  res = pat_match(ms, s, p);
  if (res == NULL)
    ms->level--;  /* undo on backtrack */
  return res;
}

static const char *pat_end_capture(pat_state *ms, const char *s, const char *p) {
  const char *res;
  int l;
  for (l = ms->level - 1; l >= 0; l--)  /* innermost open capture */
    if (ms->cap[l].len == PAT_CAP_UNFINISHED)
      break;
  if (l < 0)
    luaL_error(ms->L, "invalid pattern capture");
  ms->cap[l].len = s - ms->cap[l].init;
  res = pat_match(ms, s, p);
  if (res == NULL)
    ms->cap[l].len = PAT_CAP_UNFINISHED;  /* undo on backtrack */
  return res;
}

/* Back-reference %1..%9 (l is the digit character). */
static const char *pat_backref(pat_state *ms, const char *s, int l) {
  size_t len;
  l -= '1';
  if (l < 0 || l >= ms->level || ms->cap[l].len == PAT_CAP_UNFINISHED)
    luaL_error(ms->L, "invalid capture index %%%d", l + 1);
  len = (size_t)ms->cap[l].len;  /* a position capture becomes huge and never matches */
  pat_charge(ms, len >> PAT_BULK_SHIFT);
  if ((size_t)(ms->src_end - s) >= len && memcmp(ms->cap[l].init, s, len) == 0)
    return s + len;
  return NULL;
}

/* Matches pattern p (up to ms->p_end) at s; returns the end of the match or NULL.
   Plain single items loop instead of recursing, as in Lua, so depth errors agree. */
static const char *pat_match(pat_state *ms, const char *s, const char *p) {
  if (ms->depth-- == 0)
    luaL_error(ms->L, "pattern too complex");
  pat_step(ms);
  while (p != ms->p_end) {
    const char *ep;
    int epc;
    switch (*p) {
      case '(':
        if (p + 1 < ms->p_end && *(p + 1) == ')')
          s = pat_start_capture(ms, s, p + 2, PAT_CAP_POSITION);
        else
          s = pat_start_capture(ms, s, p + 1, PAT_CAP_UNFINISHED);
        goto done;
      case ')':
        s = pat_end_capture(ms, s, p + 1);
        goto done;
      case '$':
        if (p + 1 != ms->p_end)
          goto single;  /* '$' only anchors at the very end */
        if (s != ms->src_end)
          s = NULL;
        goto done;
      case PAT_ESC:
        if (p + 1 == ms->p_end)
          goto single;  /* let pat_class_end report it */
        switch (*(p + 1)) {
          case 'b':
            s = pat_balance(ms, s, p + 2);
            if (s == NULL)
              goto done;
            p += 4;
            continue;
          case 'f': {
            int prev, cur;
            p += 2;
            if (p == ms->p_end || *p != '[')
              luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            ep = pat_class_end(ms, p);
            prev = (s == ms->src_init) ? 0 : pat_uchar(*(s - 1));
            cur = (s < ms->src_end) ? pat_uchar(*s) : 0;
            pat_charge(ms, (size_t)(ep - p) >> PAT_BULK_SHIFT);
            if (!pat_bracket(prev, p, ep - 1) && pat_bracket(cur, p, ep - 1)) {
              p = ep;
              continue;
            }
            s = NULL;
            goto done;
          }
          default:
            if (isdigit(pat_uchar(*(p + 1)))) {
              s = pat_backref(ms, s, pat_uchar(*(p + 1)));
              if (s == NULL)
                goto done;
              p += 2;
              continue;
            }
            goto single;
        }
      default:
        break;
    }
  single:
    ep = pat_class_end(ms, p);
    epc = (ep < ms->p_end) ? *ep : '\0';
    if (!pat_single(ms, s, p, ep)) {
      if (epc == '*' || epc == '?' || epc == '-') {  /* zero repetitions are fine */
        p = ep + 1;
        continue;
      }
      s = NULL;
      goto done;
    }
    switch (epc) {
      case '?': {
        const char *res = pat_match(ms, s + 1, ep + 1);
        if (res != NULL) {
          s = res;
          goto done;
        }
        p = ep + 1;
        continue;
      }
      case '+':
        s = pat_max_expand(ms, s + 1, p, ep);
        goto done;
      case '*':
        s = pat_max_expand(ms, s, p, ep);
        goto done;
      case '-':
        s = pat_min_expand(ms, s, p, ep);
        goto done;
      default:
        s++;
        p = ep;
        continue;
    }
  }
done:
  ms->depth++;
  return s;
}

/* ---- captures to Lua values ---- */

/* Capture i, or the whole match s..e when the pattern has no captures. Position
   captures are pushed right away and give PAT_CAP_POSITION; others give a length. */
static ptrdiff_t pat_get_capture(pat_state *ms, int i, const char *s, const char *e,
                                 const char **cap) {
  ptrdiff_t len;
  if (i >= ms->level) {
    if (i != 0)
      luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    *cap = s;
    return e - s;
  }
  len = ms->cap[i].len;
  *cap = ms->cap[i].init;
  if (len == PAT_CAP_UNFINISHED)
    luaL_error(ms->L, "unfinished capture");
  else if (len == PAT_CAP_POSITION)
    lua_pushinteger(ms->L, (ms->cap[i].init - ms->src_init) + 1);
  return len;
}

static void pat_push_capture(pat_state *ms, int i, const char *s, const char *e) {
  const char *cap;
  ptrdiff_t len = pat_get_capture(ms, i, s, e, &cap);
  if (len != PAT_CAP_POSITION)
    lua_pushlstring(ms->L, cap, (size_t)len);
}

/* s == NULL means "no whole-match fallback" (find pushes positions instead). */
static int pat_push_captures(pat_state *ms, const char *s, const char *e) {
  int i, n = (ms->level == 0 && s != NULL) ? 1 : ms->level;
  luaL_checkstack(ms->L, n, "too many captures");
  for (i = 0; i < n; i++)
    pat_push_capture(ms, i, s, e);
  return n;
}

/* ---- find / match ---- */

/* Lua 5.4's rule for a 1-based start position that may be negative. */
static size_t pat_posrelat(lua_Integer pos, size_t len) {
  if (pos > 0)
    return (size_t)pos;
  if (pos == 0)
    return 1;
  if (pos < -(lua_Integer)len)
    return 1;
  return len + (size_t)pos + 1;
}

/* True if p has none of the magic characters (it may contain embedded zeros). */
static int pat_nospecials(const char *p, size_t lp) {
  const char *sp;
  for (sp = PAT_SPECIALS; *sp != '\0'; sp++)
    if (memchr(p, *sp, lp) != NULL)
      return 0;
  return 1;
}

/* Plain substring search, charged so that huge haystacks/needles still poll. */
static const char *pat_memfind(pat_state *ms, const char *s, size_t ls, const char *p, size_t lp) {
  size_t starts;
  if (lp == 0)
    return s;
  if (lp > ls)
    return NULL;
  starts = ls - lp + 1;  /* candidate start positions */
  while (starts > 0) {
    const char *hit = memchr(s, *p, starts);
    size_t skip;
    if (hit == NULL)
      return NULL;
    skip = (size_t)(hit - s) + 1;
    pat_charge(ms, 1 + ((skip + lp) >> PAT_BULK_SHIFT));
    if (memcmp(hit + 1, p + 1, lp - 1) == 0)
      return hit;
    starts -= skip;
    s = hit + 1;
  }
  return NULL;
}

static int pat_find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = pat_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
  pat_state ms;
  if (init > ls) {  /* starts after the end: nothing to find */
    luaL_pushfail(L);
    return 1;
  }
  pat_prep(&ms, L, (pat_hook *)lua_touserdata(L, lua_upvalueindex(1)), s, ls, p, lp);
  if (find && (lua_toboolean(L, 4) || pat_nospecials(p, lp))) {
    const char *hit = pat_memfind(&ms, s + init, ls - init, p, lp);
    if (hit != NULL) {
      lua_pushinteger(L, (hit - s) + 1);
      lua_pushinteger(L, (hit - s) + (lua_Integer)lp);
      return 2;
    }
  } else {
    const char *s1 = s + init;
    int anchor = (lp > 0 && *p == '^');
    if (anchor)
      p++;  /* ms.p_end already points past the whole pattern */
    do {
      const char *e;
      pat_reprep(&ms);
      e = pat_match(&ms, s1, p);
      if (e != NULL) {
        if (find) {
          lua_pushinteger(L, (s1 - s) + 1);
          lua_pushinteger(L, e - s);
          return pat_push_captures(&ms, NULL, NULL) + 2;
        }
        return pat_push_captures(&ms, s1, e);
      }
    } while (s1++ < ms.src_end && !anchor);
  }
  luaL_pushfail(L);
  return 1;
}

static int pat_find(lua_State *L) {
  return pat_find_aux(L, 1);
}

static int pat_str_match(lua_State *L) {
  return pat_find_aux(L, 0);
}

/* ---- gmatch ---- */

/* Offsets rather than pointers: nothing dangles if the iterator outlives a call. */
typedef struct pat_gmstate {
  size_t src;        /* next start offset */
  size_t lastmatch;  /* end offset of the previous match, or (size_t)-1 */
} pat_gmstate;

/* Upvalues: hook, subject, pattern, pat_gmstate. */
static int pat_gmatch_aux(lua_State *L) {
  size_t ls, lp, src;
  const char *s = lua_tolstring(L, lua_upvalueindex(2), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(3), &lp);
  pat_gmstate *gm = (pat_gmstate *)lua_touserdata(L, lua_upvalueindex(4));
  pat_state ms;
  pat_prep(&ms, L, (pat_hook *)lua_touserdata(L, lua_upvalueindex(1)), s, ls, p, lp);
  for (src = gm->src; src <= ls; src++) {
    const char *e;
    pat_reprep(&ms);
    e = pat_match(&ms, s + src, p);
    /* an empty match right where the previous one ended does not count */
    if (e != NULL && (size_t)(e - s) != gm->lastmatch) {
      gm->src = gm->lastmatch = (size_t)(e - s);
      return pat_push_captures(&ms, s + src, e);
    }
  }
  gm->src = ls + 1;  /* exhausted; later calls return nothing at once */
  return 0;
}

static int pat_gmatch(lua_State *L) {
  size_t ls, lp, init;
  pat_gmstate *gm;
  luaL_checklstring(L, 1, &ls);
  luaL_checklstring(L, 2, &lp);
  init = pat_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
  if (init > ls)
    init = ls + 1;
  lua_settop(L, 2);  /* the strings become upvalues, which keeps them alive */
  gm = (pat_gmstate *)lua_newuserdatauv(L, sizeof *gm, 0);
  gm->src = init;
  gm->lastmatch = (size_t)-1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_pushcclosure(L, pat_gmatch_aux, 4);
  return 1;
}

/* ---- gsub ---- */

/* Expands a replacement string (argument 3) with %0-%9 and %%. */
static void pat_add_s(pat_state *ms, luaL_Buffer *b, const char *s, const char *e) {
  lua_State *L = ms->L;
  size_t l;
  const char *news = lua_tolstring(L, 3, &l);
  const char *end = news + l;
  const char *q;
  pat_charge(ms, l >> PAT_BULK_SHIFT);
  while ((q = (const char *)memchr(news, PAT_ESC, (size_t)(end - news))) != NULL) {
    int c;
    luaL_addlstring(b, news, (size_t)(q - news));
    q++;
    c = (q < end) ? pat_uchar(*q) : '\0';
    if (c == PAT_ESC) {
      luaL_addchar(b, PAT_ESC);
    } else if (c == '0') {
      pat_charge(ms, (size_t)(e - s) >> PAT_BULK_SHIFT);
      luaL_addlstring(b, s, (size_t)(e - s));
    } else if (isdigit(c)) {
      const char *cap;
      ptrdiff_t len = pat_get_capture(ms, c - '1', s, e, &cap);
      if (len == PAT_CAP_POSITION) {
        luaL_addvalue(b);  /* the position was pushed as an integer */
      } else {
        pat_charge(ms, (size_t)len >> PAT_BULK_SHIFT);
        luaL_addlstring(b, cap, (size_t)len);
      }
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", PAT_ESC);
    }
    news = q + 1;
  }
  luaL_addlstring(b, news, (size_t)(end - news));
}

/* Adds the replacement of match s..e; returns whether the text changed. */
static int pat_add_value(pat_state *ms, luaL_Buffer *b, const char *s, const char *e, int tr) {
  lua_State *L = ms->L;
  if (tr == LUA_TFUNCTION) {
    int n;
    lua_pushvalue(L, 3);
    n = pat_push_captures(ms, s, e);
    lua_call(L, n, 1);
  } else if (tr == LUA_TTABLE) {
    pat_push_capture(ms, 0, s, e);
    lua_gettable(L, 3);
  } else {
    pat_add_s(ms, b, s, e);
    return 1;
  }
  if (!lua_toboolean(L, -1)) {  /* nil or false keeps the original text */
    lua_pop(L, 1);
    pat_charge(ms, (size_t)(e - s) >> PAT_BULK_SHIFT);
    luaL_addlstring(b, s, (size_t)(e - s));
    return 0;
  }
  if (!lua_isstring(L, -1))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}

static int pat_gsub(lua_State *L) {
  size_t srcl, lp;
  const char *src = luaL_checklstring(L, 1, &srcl);
  const char *p = luaL_checklstring(L, 2, &lp);
  const char *lastmatch = NULL;
  int tr = lua_type(L, 3);
  lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
  int anchor = (lp > 0 && *p == '^');
  lua_Integer n = 0;
  int changed = 0;
  pat_state ms;
  luaL_Buffer b;
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                   tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3, "string/function/table");
  luaL_buffinit(L, &b);
  pat_prep(&ms, L, (pat_hook *)lua_touserdata(L, lua_upvalueindex(1)), src, srcl, p, lp);
  if (anchor)
    p++;
  while (n < max_s) {
    const char *e;
    pat_reprep(&ms);
    e = pat_match(&ms, src, p);
    if (e != NULL && e != lastmatch) {
      n++;
      changed = pat_add_value(&ms, &b, src, e, tr) | changed;
      src = lastmatch = e;
    } else if (src < ms.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor)
      break;
  }
  if (!changed) {
    lua_pushvalue(L, 1);  /* same string; skip building a copy */
  } else {
    pat_charge(&ms, (size_t)(ms.src_end - src) >> PAT_BULK_SHIFT);
    luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}

/* ---- registration ---- */

static const luaL_Reg pat_funcs[] = {
  {"find", pat_find},
  {"match", pat_str_match},
  {"gmatch", pat_gmatch},
  {"gsub", pat_gsub},
  {NULL, NULL}
};

void trk_pattern_register(lua_State *L, int idx, trk_pattern_poll poll, void *ud) {
  pat_hook *hook;
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, idx);
  hook = (pat_hook *)lua_newuserdatauv(L, sizeof *hook, 0);
  hook->poll = poll;
  hook->ud = ud;
  hook->left = TRK_PATTERN_POLL_STEPS;
  luaL_setfuncs(L, pat_funcs, 1);  /* every function gets the hook as upvalue 1 */
  lua_pop(L, 1);
}
