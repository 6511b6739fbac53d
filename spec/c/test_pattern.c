/* Differential and poll tests for runtime/pattern.c against stock Lua 5.4 string functions. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "pattern.h"

static int t_passed, t_failed;

/* ---- growable string for serialized outcomes ---- */

typedef struct t_str {
  char *p;
  size_t n, cap;
} t_str;

static void t_add(t_str *d, const char *s, size_t n) {
  if (d->n + n + 1 > d->cap) {
    size_t cap = d->cap ? d->cap : 256;
    while (d->n + n + 1 > cap)
      cap *= 2;
    d->p = realloc(d->p, cap);
    if (d->p == NULL) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    d->cap = cap;
  }
  memcpy(d->p + d->n, s, n);
  d->n += n;
  d->p[d->n] = '\0';
}

static void t_addf(t_str *d, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1)
    n = (int)sizeof buf - 1;
  t_add(d, buf, (size_t)n);
}

/* Printable, unambiguous rendering of bytes. */
static void t_add_escaped(t_str *d, const char *s, size_t n) {
  size_t i;
  t_add(d, "\"", 1);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 32 || c >= 127 || c == '"' || c == '\\')
      t_addf(d, "\\%03u", c);
    else
      t_add(d, (const char *)&c, 1);
  }
  t_add(d, "\"", 1);
}

static void t_ser_value(lua_State *L, int i, t_str *d) {
  switch (lua_type(L, i)) {
    case LUA_TNIL: t_add(d, "nil", 3); break;
    case LUA_TBOOLEAN: t_addf(d, "%s", lua_toboolean(L, i) ? "true" : "false"); break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, i))
        t_addf(d, "i:%lld", (long long)lua_tointeger(L, i));
      else
        t_addf(d, "f:%.17g", (double)lua_tonumber(L, i));
      break;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, i, &n);
      t_add_escaped(d, s, n);
      break;
    }
    default: t_addf(d, "<%s>", luaL_typename(L, i)); break;
  }
}

/* Error text without the function name, which differs ('string.find' vs '?'). */
static void t_ser_error(lua_State *L, t_str *d) {
  size_t n;
  const char *msg = lua_tolstring(L, -1, &n);
  const char *ba, *to, *q;
  if (msg == NULL) {
    t_addf(d, "ERR<%s>", luaL_typename(L, -1));
    return;
  }
  t_add(d, "ERR:", 4);
  ba = strstr(msg, "bad argument #");
  to = ba ? strstr(ba, " to '") : NULL;
  q = to ? strchr(to + 5, '\'') : NULL;
  if (q != NULL) {
    t_add(d, msg, (size_t)(to - msg));
    t_add(d, q + 1, n - (size_t)(q + 1 - msg));
  } else {
    t_add_escaped(d, msg, n);
  }
}

/* Calls lib[fname] with the nargs values on top of the stack (left in place) and
   appends the whole outcome to d. For gmatch, runs the iterator to exhaustion. */
static void t_run(lua_State *L, const char *lib, const char *fname, int nargs, t_str *d) {
  int base = lua_gettop(L) - nargs, top, i, rounds;
  lua_getglobal(L, lib);
  lua_getfield(L, -1, fname);
  lua_remove(L, -2);
  for (i = 1; i <= nargs; i++)
    lua_pushvalue(L, base + i);
  top = lua_gettop(L) - nargs - 1;
  if (lua_pcall(L, nargs, LUA_MULTRET, 0) != LUA_OK) {
    t_ser_error(L, d);
    lua_settop(L, base + nargs);
    return;
  }
  if (strcmp(fname, "gmatch") != 0) {
    for (i = top + 1; i <= lua_gettop(L); i++) {
      t_ser_value(L, i, d);
      t_add(d, " ", 1);
    }
    lua_settop(L, base + nargs);
    return;
  }
  lua_settop(L, top + 1);  /* the iterator */
  for (rounds = 0; rounds < 2000; rounds++) {
    int n;
    lua_pushvalue(L, top + 1);
    if (lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
      t_ser_error(L, d);
      break;
    }
    n = lua_gettop(L) - (top + 1);
    if (n == 0 || lua_isnil(L, top + 2)) {
      t_addf(d, "end(%d)", n);
      break;
    }
    t_add(d, "[", 1);
    for (i = top + 2; i <= lua_gettop(L); i++) {
      t_ser_value(L, i, d);
      t_add(d, " ", 1);
    }
    t_add(d, "]", 1);
    lua_settop(L, top + 1);
  }
  lua_settop(L, base + nargs);
}

/* Runs string.fname and P.fname on the nargs values on top of the stack, pops them. */
static void t_diff(lua_State *L, const char *fname, int nargs, const char *what) {
  t_str a = {0}, b = {0};
  t_run(L, "string", fname, nargs, &a);
  t_run(L, "P", fname, nargs, &b);
  t_add(&a, "", 0);
  t_add(&b, "", 0);
  if (strcmp(a.p, b.p) == 0) {
    t_passed++;
  } else {
    t_failed++;
    printf("FAIL %s(%s)\n  stock: %s\n  ours:  %s\n", fname, what, a.p, b.p);
  }
  lua_pop(L, nargs);
  free(a.p);
  free(b.p);
}

/* Evaluates "return <args>" and diffs fname on the resulting values. */
static void t_diff_src(lua_State *L, const char *fname, const char *args) {
  char code[4096];
  int top = lua_gettop(L);
  snprintf(code, sizeof code, "return %s", args);
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
    t_failed++;
    printf("FAIL bad test case %s(%s): %s\n", fname, args, lua_tostring(L, -1));
    lua_settop(L, top);
    return;
  }
  t_diff(L, fname, lua_gettop(L) - top, args);
}

static void t_check(int ok, const char *fmt, ...) {
  va_list ap;
  if (ok) {
    t_passed++;
    return;
  }
  t_failed++;
  printf("FAIL ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* ---- hand-written corpus ---- */

/* (subject, pattern) pairs run through find, match, gmatch and gsub(..., "<%0>"). */
static const char *const t_pairs[] = {
  "'hello world', 'o'", "'hello world', 'o w'", "'hello world', 'l+'", "'hello world', 'l*'",
  "'hello world', 'l-'", "'hello world', 'l?'", "'hello world', 'x*'", "'', ''", "'', 'a*'",
  "'abc', ''", "'abc', '^'", "'abc', '$'", "'abc', '^$'", "'', '^$'", "'abc', '^abc$'",
  "'abc', '^b'", "'abc', 'c$'", "'abc', 'b$'", "'a$b', 'a$b'", "'a$b', '$b'", "'a^b', 'a^b'",
  "'a^b', '%^'", "'abc', '.'", "'abc', '..'", "'abc', '.-'", "'abc', '.-$'", "'abc', '.*'",
  "'abc', 'a.-c'", "'aXbXc', 'X(.-)X'", "'aXbXc', 'X(.*)X'",
  "'Hello World 123', '%a+'", "'Hello World 123', '%A+'", "'a\\1b\\127c', '%c'",
  "'a\\1b\\127c', '%C+'", "'x=42, y=7', '%d+'", "'x=42, y=7', '%D+'", "'a b\\tc', '%g+'",
  "'a b\\tc', '%G'", "'Hello World', '%l+'", "'Hello World', '%L+'", "'a.b,c!', '%p'",
  "'a.b,c!', '%P+'", "'a b\\n\\tc\\r', '%s+'", "'a b\\n\\tc\\r', '%S+'", "'Hello World', '%u'",
  "'Hello World', '%U+'", "'foo_bar9 baz', '%w+'", "'foo_bar9 baz', '%W+'",
  "'0x1F zz', '%x+'", "'0x1F zz', '%X+'", "'a\\0b', '%z'", "'a\\0b', '%Z+'", "'a\\0b', '\\0'",
  "'a\\0b', '[\\0]'", "'a\\0b', '.\\0.'", "'100%', '%%'", "'a.b', '%.'", "'a+b', 'a%+b'",
  "'(x)', '%(x%)'", "'a]b', '%]'", "'a-b', '%-'", "'a-b', 'a-b'", "'aaab', 'a-b'",
  "'hello', '[aeiou]'", "'hello', '[^aeiou]+'", "'hello', '[a-f]+'", "'hello', '[%a]+'",
  "'x]y', '[]]'", "'x]y', '[^]]+'", "'x-y', '[a-]'", "'x-y', '[-a]'", "'x-y', '[%-]'",
  "'a^b', '[%^]'", "'a^b', '[b^]'", "'a^b', '[^^]+'", "'12ab', '[%d%u]+'", "'12ab', '[^%d]+'",
  "'a%b', '[%%]'", "'z-a', '[z-a]'", "'az', '[z-a]'", "'a.b', '[.]'", "'a]b', '[]a]+'",
  "'ab[c', '[[]'", "'abc', '[a-c-e]+'", "'a-e', '[a-c-e]+'", "'\\200\\255x', '[\\128-\\255]+'",
  "'\\200\\255x', '[^\\128-\\255]'", "'hello world', '(o)'", "'hello world', '(l)(l)'",
  "'hello world', '(h)(e)(l)(l)(o)'", "'hello world', '()ll()'", "'hello', '()'",
  "'hello', '(h)()(e)'", "'key = value', '(%w+)%s*=%s*(%w+)'", "'hello', '((l)(l))'",
  "'hello', '(l*)'", "'abba', '(.)(.)%2%1'", "'abab', '(ab)%1'", "'abcabc', '(a(b)c)%1%2'",
  "'aa', '(a)%1'", "'ab', '(a)%1'", "'xx', '()%1'", "'THE (quick) fox', '%((%a+)%)'",
  "'f(a(b)c)d', '%b()'", "'f(a(b)c)d', '%b()d'", "'f(a(b)c', '%b()'", "'[[x]]', '%b[]'",
  "'if x then y end', '%bie'", "'aaa', '%baa'", "'xyz', '%bxz'", "'THE (quick) fox', '%f[%a]%a+'",
  "'THE (quick) fox', '%f[%A]'", "'hello', '%f[%l]'", "'hello', '%f[%z]'", "'hello', '%f[^%z]'",
  "'a1b2', '%f[%d]%d'", "'THE quick', '%f[%a]%u+%f[%A]'", "'abc', '%f[a]'", "'abc', '%f[c]'",
  "'abc', 'a?b?c?d?'", "'abc', 'a+b+'", "'aaa', 'a-a'", "'aaa', 'a-$'", "'aaa', '^a-'",
  "'  x  ', '^%s*(.-)%s*$'", "'one two  three', '(%S+)'", "'a,b,,c', '([^,]*)'",
  "'a,b,,c', ',?([^,]*)'", "'abc', 'b*'", "'abc', '()b*'", "'abc', '%w-'",
  "'--[[x]]', '%-%-%[%[(.-)%]%]'", "'2024-01-15', '(%d+)-(%d+)-(%d+)'",
  "'hello', 'l%'", "'hello', '[a'", "'hello', '[a%'", "'hello', '[%'", "'hello', '['",
  "'hello', '[^'", "'hello', '[]'", "'hello', '[^]'", "'hello', '%f'", "'hello', '%fa'",
  "'hello', '%f[a'", "'hello', '%b'", "'hello', '%bx'", "'hello', '(l'", "'hello', 'l)'",
  "'hello', '%1'", "'hello', '(l)%2'", "'hello', '(l%1)'", "'hello', '%0'", "'hello', '(()'",
  "'hello', ')'", "'hello', '%g%'", "'hello', 'h(e(l)'", "'hello', '(h)%9'",
  "string.rep('a', 300), string.rep('a?', 300)", "string.rep('a', 150), string.rep('a?', 150)",
  "string.rep('a', 10), string.rep('()', 33)", "string.rep('a', 10), string.rep('()', 32)",
  "string.rep('a', 40), string.rep('(a)', 32)", "'ab', string.rep('(', 40) .. 'a' .. string.rep(')', 40)",
  "'ab', string.rep('(', 20) .. 'a' .. string.rep(')', 20)",
  "string.rep('x', 500), '.-$'", "string.rep('ab', 100), '(ab)*'", "'a.b', 'a.b', 1, true",
  "123, 2", "12.5, '%.'", "123, '(%d)(%d)'", "'abc', 98",
};

/* Single calls with extra arguments and argument errors. */
static const struct { const char *f, *args; } t_calls[] = {
  {"find", "'hello', 'l', 1"}, {"find", "'hello', 'l', 4"}, {"find", "'hello', 'l', 5"},
  {"find", "'hello', 'l', -1"}, {"find", "'hello', 'l', -2"}, {"find", "'hello', 'l', -100"},
  {"find", "'hello', 'l', 0"}, {"find", "'hello', '', 6"}, {"find", "'hello', '', 7"},
  {"find", "'hello', '', 100"}, {"find", "'hello', '', -100"}, {"find", "'hello', 'l+', 4"},
  {"find", "'hello', '^l', 3"}, {"find", "'hello', '^l', 4"}, {"find", "'', '', 1"},
  {"find", "'', '', 2"}, {"find", "'a.b', '.', 1, true"}, {"find", "'a.b', '.', 1, false"},
  {"find", "'a.b', '.', 1, 0"}, {"find", "'a.b', '.', 1, nil"}, {"find", "'a(b', '(', 1, true"},
  {"find", "'a(b', '(', 1"}, {"find", "'a%b', '%', 1, true"}, {"find", "'a%b', '%'"},
  {"find", "'a[b', '[', 1, true"}, {"find", "'x^y', '^y', 1, true"}, {"find", "'hello', 'll', -3, true"},
  {"find", "'hello', 'lo', 5, true"}, {"find", "'hello', '', 3, true"}, {"find", "'hello', 'xyz', 1, true"},
  {"find", "'hello', 'hello world', 1, true"}, {"find", "'a\\0b\\0c', '\\0c'"},
  {"find", "'a\\0b\\0c', 'b\\0c', 1, true"}, {"find", "'a\\0b\\0c', '\\0.'"},
  {"find", "'hello', 'l', 2.0"}, {"find", "'hello', 'l', '3'"}, {"find", "'hello', 'l', 1.5"},
  {"find", "'hello', 'l', 'x'"}, {"find", "'hello', 'l', {}"}, {"find", "'hello'"}, {"find", ""},
  {"find", "nil, 'a'"}, {"find", "{}, 'a'"}, {"find", "'a', {}"}, {"find", "'hello', 'l', math.mininteger"},
  {"find", "'hello', 'l', math.maxinteger"}, {"find", "'hello', '', math.mininteger"},
  {"match", "'hello', 'l+', 1"}, {"match", "'hello', 'l+', 4"}, {"match", "'hello', '.', -1"},
  {"match", "'hello', '.', -10"}, {"match", "'hello', '()', 6"}, {"match", "'hello', '()', 7"},
  {"match", "'hello', '^h', 2"}, {"match", "'hello', '^e', 2"}, {"match", "'hello'"},
  {"match", "'hello', 'x', 'y'"}, {"match", "'hello', '$', 3"}, {"match", "'hello', '.', 0"},
  {"gmatch", "'hello world from lua', '%a+'"}, {"gmatch", "'k1=v1, k2=v2', '(%w+)=(%w+)'"},
  {"gmatch", "'abc', ''"}, {"gmatch", "'abc', '()'"}, {"gmatch", "'abc', 'b*'"}, {"gmatch", "'', ''"},
  {"gmatch", "'abc', '.', 2"}, {"gmatch", "'abc', '.', -1"}, {"gmatch", "'abc', '.', -10"},
  {"gmatch", "'abc', '.', 4"}, {"gmatch", "'abc', '', 4"}, {"gmatch", "'abc', '', 5"},
  {"gmatch", "'abc', '', 100"}, {"gmatch", "'abc', '.', 0"}, {"gmatch", "'^a^a', '^a'"},
  {"gmatch", "'aaa', 'a-'"}, {"gmatch", "'aaa', 'a*'"}, {"gmatch", "'a,b,,c', '([^,]*)'"},
  {"gmatch", "'hello', '(l'"}, {"gmatch", "'hello', '%'"}, {"gmatch", "'hello'"},
  {"gmatch", "'hello', 'l', 'x'"}, {"gmatch", "'one two', '%f[%w]%w+'"},
  {"gsub", "'hello world', 'o', '0'"}, {"gsub", "'hello world', '(o)', '[%1]'"},
  {"gsub", "'hello world', 'o', '%0%0'"}, {"gsub", "'hello world', 'o', '%1'"},
  {"gsub", "'hello world', 'o', '%2'"}, {"gsub", "'hello world', '(o)', '%2'"},
  {"gsub", "'hello world', 'o', '%%'"}, {"gsub", "'hello world', 'o', '%'"},
  {"gsub", "'hello world', 'o', 'x%'"}, {"gsub", "'hello world', 'o', '%x'"},
  {"gsub", "'hello world', 'o', '%a'"}, {"gsub", "'hello world', 'x', '%a'"},
  {"gsub", "'hello world', '()o', '%1'"}, {"gsub", "'hello world', '(o)()', '%2-%1'"},
  {"gsub", "'hello world', '', '-'"}, {"gsub", "'hello world', 'l*', '-'"},
  {"gsub", "'hello world', '^h', 'H'"}, {"gsub", "'hello world', '^l', 'L'"},
  {"gsub", "'hello world', '^', '>'"}, {"gsub", "'hello world', '$', '<'"},
  {"gsub", "'hello world', '^.*$', '%0%0'"}, {"gsub", "'hello world', 'o', '0', 0"},
  {"gsub", "'hello world', 'o', '0', 1"}, {"gsub", "'hello world', 'o', '0', -1"},
  {"gsub", "'hello world', 'o', '0', 2.0"}, {"gsub", "'hello world', 'o', '0', 1.5"},
  {"gsub", "'hello world', 'o', '0', 'x'"}, {"gsub", "'hello world', 'o', '0', '1'"},
  {"gsub", "'hello world', 'l', 7"}, {"gsub", "'hello world', 'l', 7.5"},
  {"gsub", "'hello world', 'l'"}, {"gsub", "'hello world', 'l', nil"}, {"gsub", "'hello world', 'l', true"},
  {"gsub", "'hello world', 'l', {}, 'x'"}, {"gsub", "'hello', '', '', math.maxinteger"},
  {"gsub", "'hello world', '%w+', {hello='HI', world=false}"}, {"gsub", "'hello world', '%w+', {}"},
  {"gsub", "'hello world', '(%w)(%w*)', {h='H', w=42}"}, {"gsub", "'hello world', '%w+', {hello=1.5}"},
  {"gsub", "'hello world', '%w+', {hello={}}"}, {"gsub", "'hello world', '%w+', {hello=true}"},
  {"gsub", "'hello world', '()%w+', {[1]='one', [7]='seven'}"},
  {"gsub", "'hello world', '%w+', setmetatable({}, {__index=function(t, k) return k:upper() end})"},
  {"gsub", "'hello world', '%w+', string.upper"}, {"gsub", "'hello world', '(%w+) (%w+)', function(a, b) return b .. ' ' .. a end"},
  {"gsub", "'hello world', '%w+', function() end"}, {"gsub", "'hello world', '%w+', function() return false end"},
  {"gsub", "'hello world', '%w+', function() return 12 end"}, {"gsub", "'hello world', '%w+', function() return {} end"},
  {"gsub", "'hello world', '%w+', function() return true end"}, {"gsub", "'hello world', '()(%w+)()', function(a, b, c) return a .. b .. c end"},
  {"gsub", "'hello world', '%w+', function(...) return select('#', ...) end"},
  {"gsub", "'hello world', '', function(x) return '<' .. x .. '>' end"},
  {"gsub", "'hello world', '%w+', function(w) error('boom ' .. w) end"},
  {"gsub", "'hello world', '%w+', function(w) return w end, 1"},
  {"gsub", "'abc', '%w', '%0%0', 2"}, {"gsub", "'abc', '%w', {a=1, b=false, c='C'}, 3"},
  {"gsub", "'abc', 'b*', '-', 2"}, {"gsub", "'a b c', ' ', '', 1"}, {"gsub", "'hello', '(l)(l)', '%2%1%0'"},
  {"gsub", "'hello', 'l', '%0%'"}, {"gsub", "'hello', '(l', 'x'"}, {"gsub", "'hello', 'l', '\\0%%\\0'"},
  {"gsub", "'', '', 'x'"}, {"gsub", "'', 'a', 'x'"}, {"gsub", "'abc', '.', {a='%1'}"},
  {"gsub", "'abc', '%f[%w]%w+', '<%0>'"}, {"gsub", "'THE (quick) fox', '%f[%a]%a+', '%0'"},
  {"gsub", "'x = 1, y = 2', '(%w+) = (%w+)', '%2 = %1'"},
};

/* ---- random corpus ---- */

static unsigned long t_rng = 12345;

static unsigned t_rand(unsigned n) {
  t_rng = t_rng * 6364136223846793005UL + 1442695040888963407UL;
  return (unsigned)((t_rng >> 33) % n);
}

static const char *t_pick(const char *const *v, unsigned n) {
  return v[t_rand(n)];
}

#define T_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Appends one random pattern item; ncap counts closed captures for back-references. */
static void t_gen_item(t_str *d, int depth, int *ncap) {
  static const char *const atoms[] = {
    "a", "b", "c", "1", " ", "-", ".", "%a", "%d", "%s", "%w", "%l", "%u", "%p", "%A",
    "%S", "%W", "%(", "%)", "%%", "%.", "[ab]", "[^a]", "[a-c]", "[%d ]", "[]a]", "[^%s]",
    "[a-]", "[%a%d]", "[c-a]", "(", ")", "^", "$", "%x", "%c", "%g"
  };
  static const char *const quants[] = {"", "", "", "*", "+", "-", "?"};
  unsigned k = t_rand(20);
  if (k == 0 && depth < 3) {  /* capture group */
    int i, n = 1 + (int)t_rand(3);
    t_add(d, "(", 1);
    for (i = 0; i < n; i++)
      t_gen_item(d, depth + 1, ncap);
    t_add(d, ")", 1);
    (*ncap)++;
  } else if (k == 1) {
    t_add(d, "()", 2);
    (*ncap)++;
  } else if (k == 2) {
    t_addf(d, "%%b%s", t_pick((const char *const[]){"()", "ab", "a)", "((", " a"}, 5));
  } else if (k == 3) {
    t_addf(d, "%%f%s", t_pick((const char *const[]){"[%w]", "[^a]", "[%s]", "[a-b]", "[%z]", "[^%z]", "[()]"}, 7));
  } else if (k == 4) {
    /* usually a valid back-reference, sometimes one past the last capture */
    t_addf(d, "%%%d", *ncap > 0 ? 1 + (int)t_rand((unsigned)*ncap + 1) : 1);
  } else {
    t_addf(d, "%s%s", t_pick(atoms, T_COUNT(atoms)), t_pick(quants, T_COUNT(quants)));
  }
}

static void t_gen_pattern(t_str *d) {
  int i, n = 1 + (int)t_rand(5), ncap = 0;
  if (t_rand(7) == 0)
    t_add(d, "^", 1);
  for (i = 0; i < n; i++)
    t_gen_item(d, 0, &ncap);
  if (t_rand(7) == 0)
    t_add(d, "$", 1);
  if (t_rand(25) == 0) {  /* malformed tails */
    const char *tail = t_pick((const char *const[]){"%", "[a", "(", ")", "%f", "%b", "[%", "%fx"}, 8);
    t_add(d, tail, strlen(tail));
  }
}

static void t_gen_subject(t_str *d) {
  static const char alpha[] = "aab(c)1 -.A%b\0";
  int i, n = (int)t_rand(13);
  for (i = 0; i < n; i++)
    t_add(d, &alpha[t_rand(sizeof alpha)], 1);  /* includes the trailing NUL */
}

/* Pushes one random optional init argument; returns how many values were pushed. */
static int t_push_init(lua_State *L, t_str *what) {
  static const int inits[] = {1, 2, 3, -1, -3, 0, 20, -20, 14};
  unsigned k = t_rand(12);
  if (k >= T_COUNT(inits))
    return 0;
  lua_pushinteger(L, inits[k]);
  t_addf(what, ", %d", inits[k]);
  return 1;
}

static void t_random_corpus(lua_State *L, int count) {
  static const char *const repls[] = {
    "'%0'", "'<%1>'", "'x'", "'%%'", "''", "'[%2]'", "'%'", "'%z'", "'%1%1'", "42",
    "R.tab", "R.cat", "R.maybe", "R.bad", "R.num"
  };
  int i;
  for (i = 0; i < count; i++) {
    t_str subj = {0}, pat = {0}, what = {0};
    int nargs;
    t_add(&subj, "", 0);
    t_add(&pat, "", 0);
    t_gen_subject(&subj);
    t_gen_pattern(&pat);
    t_add(&what, "", 0);
    t_add_escaped(&what, subj.p, subj.n);
    t_add(&what, ", ", 2);
    t_add_escaped(&what, pat.p, pat.n);
    {
      size_t base = what.n;
      const char *const fns[] = {"find", "match", "gmatch"};
      int f;
      for (f = 0; f < 3; f++) {
        what.n = base;
        what.p[base] = '\0';
        lua_pushlstring(L, subj.p, subj.n);
        lua_pushlstring(L, pat.p, pat.n);
        nargs = 2 + t_push_init(L, &what);
        if (f == 0 && nargs == 3 && t_rand(4) == 0) {
          lua_pushboolean(L, 1);
          t_add(&what, ", true", 6);
          nargs++;
        }
        t_diff(L, fns[f], nargs, what.p);
      }
      what.n = base;
      what.p[base] = '\0';
      {
        const char *r = t_pick(repls, T_COUNT(repls));
        char code[64];
        lua_pushlstring(L, subj.p, subj.n);
        lua_pushlstring(L, pat.p, pat.n);
        snprintf(code, sizeof code, "return %s", r);
        if (luaL_dostring(L, code) != LUA_OK)
          lua_pushnil(L);
        t_addf(&what, ", %s", r);
        nargs = 3;
        if (t_rand(4) == 0) {
          int n = (int)t_rand(4) - 1;
          lua_pushinteger(L, n);
          t_addf(&what, ", %d", n);
          nargs++;
        }
        t_diff(L, "gsub", nargs, what.p);
      }
    }
    free(subj.p);
    free(pat.p);
    free(what.p);
  }
}

/* ---- poll tests ---- */

typedef struct t_poll {
  int calls;
  int limit;  /* raise an error on this call; 0 = never */
} t_poll;

static void t_poll_fn(lua_State *L, void *ud) {
  t_poll *pc = (t_poll *)ud;
  pc->calls++;
  if (pc->limit > 0 && pc->calls >= pc->limit)
    luaL_error(L, "poll limit reached");
}

static double t_now(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);  /* C11; good enough for durations */
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs code (which must return ok, msg from a pcall) and expects the poll error. */
static void t_expect_poll_stop(lua_State *L, t_poll *pc, const char *name, const char *code) {
  double t0;
  int ok;
  const char *msg;
  pc->calls = 0;
  pc->limit = 50;
  t0 = t_now();
  if (luaL_dostring(L, code) != LUA_OK) {
    t_check(0, "%s: script error %s", name, lua_tostring(L, -1));
    lua_settop(L, 0);
    return;
  }
  ok = lua_toboolean(L, -2);
  msg = lua_tostring(L, -1);
  t_check(!ok && msg != NULL && strstr(msg, "poll limit reached") != NULL,
          "%s: expected the poll error, got %s / %s", name, ok ? "true" : "false", msg ? msg : "(nil)");
  t_check(pc->calls == 50, "%s: expected 50 polls, got %d", name, pc->calls);
  t_check(t_now() - t0 < 5.0, "%s: took %.2fs to stop", name, t_now() - t0);
  lua_settop(L, 0);
  pc->limit = 0;
}

static void t_poll_tests(lua_State *L, t_poll *pc) {
  /* (a) the classic bomb, through every entry point */
  t_expect_poll_stop(L, pc, "bomb find",
    "return pcall(P.find, ('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40))");
  t_expect_poll_stop(L, pc, "bomb match",
    "return pcall(P.match, ('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40))");
  t_expect_poll_stop(L, pc, "bomb gmatch",
    "return pcall(function() for _ in P.gmatch(('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40)) do end end)");
  t_expect_poll_stop(L, pc, "bomb gsub",
    "return pcall(P.gsub, ('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40), 'x')");
  t_expect_poll_stop(L, pc, "bomb in coroutine",
    "return coroutine.resume(coroutine.create(function() return P.find(('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40)) end))");
  t_expect_poll_stop(L, pc, "quadratic %b",
    "return pcall(P.find, ('('):rep(200000), '%b()')");
  t_expect_poll_stop(L, pc, "quadratic plain find",
    "return pcall(P.find, ('a'):rep(2000000), ('a'):rep(1000000) .. 'b', 1, true)");
  t_expect_poll_stop(L, pc, "quadratic back-reference",
    "return pcall(P.find, ('a'):rep(100000) .. 'b', '(a*)%1b')");
  t_expect_poll_stop(L, pc, "huge set",
    "return pcall(P.find, ('b'):rep(100000), '[' .. ('a'):rep(100000) .. ']')");

  /* the state is still usable after all those longjmps */
  if (luaL_dostring(L, "return P.find('key=val', '(%w+)=(%w+)')") == LUA_OK)
    t_check(lua_gettop(L) == 4 && lua_tointeger(L, 1) == 1 && strcmp(lua_tostring(L, 4), "val") == 0,
            "find after poll errors returned wrong values");
  else
    t_check(0, "find after poll errors: %s", lua_tostring(L, -1));
  lua_settop(L, 0);

  /* (b) a 10 MB gsub polls and agrees with stock */
  pc->calls = 0;
  pc->limit = 0;
  if (luaL_dostring(L,
      "local s = ('ab  c\\t'):rep(10 * 1024 * 1024 // 6)\n"
      "local a, na = string.gsub(s, '%s+', ' ')\n"
      "local b, nb = P.gsub(s, '%s+', ' ')\n"
      "return a == b and na == nb, #s") == LUA_OK) {
    t_check(lua_toboolean(L, 1), "10 MB gsub differs from stock");
    t_check(pc->calls >= 100, "10 MB gsub polled only %d times", pc->calls);
  } else {
    t_check(0, "10 MB gsub: %s", lua_tostring(L, -1));
  }
  lua_settop(L, 0);
  t_expect_poll_stop(L, pc, "10 MB gsub stopped mid-buffer",
    "return pcall(P.gsub, ('ab  c\\t'):rep(10 * 1024 * 1024 // 6), '%s+', ' ')");

  /* (c) poll == NULL: Q has no callback and still matches */
  if (luaL_dostring(L,
      "local s, p = ('a'):rep(14), ('a?'):rep(14) .. ('a'):rep(14)\n"
      "local a1, a2 = string.find(s, p)\n"
      "local b1, b2 = Q.find(s, p)\n"
      "local g1 = string.gsub(('x y '):rep(100000), '%s+', '_')\n"
      "local g2 = Q.gsub(('x y '):rep(100000), '%s+', '_')\n"
      "return a1 == b1 and a2 == b2 and g1 == g2 and Q.match('k=v', '(%w)=(%w)') == 'k'") == LUA_OK)
    t_check(lua_toboolean(L, 1), "NULL poll results differ from stock");
  else
    t_check(0, "NULL poll: %s", lua_tostring(L, -1));
  lua_settop(L, 0);
}

int main(void) {
  lua_State *L = luaL_newstate();
  t_poll pc = {0, 0};
  size_t i;
  luaL_openlibs(L);
  lua_newtable(L);
  trk_pattern_register(L, -1, t_poll_fn, &pc);
  lua_setglobal(L, "P");
  lua_newtable(L);
  trk_pattern_register(L, -1, NULL, NULL);
  lua_setglobal(L, "Q");
  if (luaL_dostring(L,
      "R = {\n"
      "  tab = {a = 'A', ['1'] = 1, b = false, ['(c)'] = 'C'},\n"
      "  cat = function(...) return table.concat({...}, '|') end,\n"
      "  maybe = function(x) if x == 'a' then return nil end return '<' .. x .. '>' end,\n"
      "  bad = function(x) if #x > 1 then return {} end end,\n"
      "  num = function(x) return #x end,\n"
      "}") != LUA_OK) {
    printf("FAIL setup: %s\n", lua_tostring(L, -1));
    return 1;
  }

  for (i = 0; i < T_COUNT(t_pairs); i++) {
    char args[512];
    t_diff_src(L, "find", t_pairs[i]);
    t_diff_src(L, "match", t_pairs[i]);
    t_diff_src(L, "gmatch", t_pairs[i]);
    snprintf(args, sizeof args, "%s, '<%%0>'", t_pairs[i]);
    t_diff_src(L, "gsub", args);
  }
  for (i = 0; i < T_COUNT(t_calls); i++)
    t_diff_src(L, t_calls[i].f, t_calls[i].args);
  {
    int hand = t_passed + t_failed;
    t_random_corpus(L, 3000);
    printf("differential: %d hand-written, %d random comparisons\n", hand, t_passed + t_failed - hand);
  }

  t_poll_tests(L, &pc);

  lua_close(L);
  printf("pattern: %d passed, %d failed\n", t_passed, t_failed);
  return t_failed == 0 ? 0 : 1;
}
