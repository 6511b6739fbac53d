/* files: the only filesystem a script has, the paths granted with --input and --output. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "sbxlib.h"

#define FILE_MT     "trk.file"
#define FILE_CHUNK  65536        /* bytes read at a time by read("a") */

typedef struct sbx_file {
  FILE *f;                       /* NULL once closed */
  int writable;
} sbx_file;

/* ---- handles ------------------------------------------------------------------------- */

static sbx_file *file_check (lua_State *L) {
  sbx_file *h = luaL_checkudata(L, 1, FILE_MT);
  if (h->f == NULL) luaL_error(L, "attempt to use a closed file");
  return h;
}

static int file_close (lua_State *L) {
  sbx_file *h = luaL_checkudata(L, 1, FILE_MT);
  if (h->f) {
    FILE *f = h->f;
    h->f = NULL;               /* mark handle as closed */
    if (fclose(f) != 0) {
      lua_pushnil(L);
      lua_pushfstring(L, "close failed: %s", strerror(errno));
      return 2;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int file_gc (lua_State *L) {
  sbx_file *h = luaL_checkudata(L, 1, FILE_MT);
  if (h->f) {
    fclose(h->f);
    h->f = NULL;
  }
  return 0;
}

static int file_tostring (lua_State *L) {
  sbx_file *h = luaL_checkudata(L, 1, FILE_MT);
  lua_pushstring(L, h->f ? "file" : "file (closed)");
  return 1;
}

/* One line, without (keep = 0) or with its newline; nil at end of file. */
static int file_readline (lua_State *L, FILE *f, int keep) {
  luaL_Buffer b;
  int c = EOF;
  size_t n = 0;
  luaL_buffinit(L, &b);
  while ((c = getc(f)) != EOF && c != '\n') {
    luaL_addchar(&b, (char)c);
    if ((++n & 0xFFFFF) == 0) trk_sandbox_poll(L, NULL);
  }
  if (c == '\n' && keep) luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  return c == '\n' || lua_rawlen(L, -1) > 0;
}

static void file_readall (lua_State *L, FILE *f) {
  luaL_Buffer b;
  size_t n;
  luaL_buffinit(L, &b);
  do {
    char *p = luaL_prepbuffsize(&b, FILE_CHUNK);
    n = fread(p, 1, FILE_CHUNK, f);
    luaL_addsize(&b, n);
    trk_sandbox_poll(L, NULL);
  } while (n == FILE_CHUNK);
  luaL_pushresult(&b);
}

static int file_readbytes (lua_State *L, FILE *f, size_t n) {
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n);
  size_t got = fread(p, 1, n, f);
  luaL_pushresultsize(&b, got);
  return got > 0;
}

/* Reads per format: "l" (line), "L" (line with newline), "a" (all), or a byte count. */
static int file_readfmt (lua_State *L, FILE *f, int first, int last) {
  int n, ok = 1;
  if (first > last) return file_readline(L, f, 0) ? 1 : (lua_pop(L, 1), lua_pushnil(L), 1);
  luaL_checkstack(L, last - first + 1, "too many formats");
  for (n = first; n <= last && ok; n++) {
    if (lua_type(L, n) == LUA_TNUMBER) {
      lua_Integer count = luaL_checkinteger(L, n);
      luaL_argcheck(L, count >= 0, n, "negative byte count");
      if (count == 0) {
        int c = getc(f);
        ungetc(c, f);
        lua_pushliteral(L, "");
        ok = (c != EOF);
      }
      else
        ok = file_readbytes(L, f, (size_t)count);
    }
    else {
      const char *fmt = luaL_checkstring(L, n);
      if (*fmt == '*') fmt++;
      switch (*fmt) {
        case 'l': ok = file_readline(L, f, 0); break;
        case 'L': ok = file_readline(L, f, 1); break;
        case 'a': file_readall(L, f); break;
        default: return luaL_argerror(L, n, "invalid format (use \"l\", \"L\", \"a\" or a count)");
      }
    }
  }
  if (ferror(f)) return luaL_error(L, "read failed: %s", strerror(errno));
  if (!ok) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  return n - first;
}

static int file_read (lua_State *L) {
  sbx_file *h = file_check(L);
  if (h->writable) return luaL_error(L, "read: this file was granted for writing (--output)");
  return file_readfmt(L, h->f, 2, lua_gettop(L));
}

static int file_linesaux (lua_State *L) {
  sbx_file *h = lua_touserdata(L, lua_upvalueindex(1));
  int nfmt = (int)lua_tointeger(L, lua_upvalueindex(2));
  if (h->f == NULL) return luaL_error(L, "file is already closed");
  lua_settop(L, 0);
  luaL_checkstack(L, nfmt + LUA_MINSTACK, "too many formats");
  for (int i = 1; i <= nfmt; i++) lua_pushvalue(L, lua_upvalueindex(2 + i));
  return file_readfmt(L, h->f, 1, nfmt);
}

static int file_lines (lua_State *L) {
  sbx_file *h = file_check(L);
  int nfmt = lua_gettop(L) - 1;
  if (h->writable) return luaL_error(L, "lines: this file was granted for writing (--output)");
  luaL_argcheck(L, nfmt <= 250, 252, "too many formats");
  lua_pushinteger(L, nfmt);
  lua_insert(L, 2);
  lua_pushcclosure(L, file_linesaux, 2 + nfmt);
  return 1;
}

static int file_write (lua_State *L) {
  sbx_file *h = file_check(L);
  int n = lua_gettop(L);
  if (!h->writable) return luaL_error(L, "write: this file was granted for reading (--input)");
  for (int i = 2; i <= n; i++) {
    size_t len;
    const char *s = luaL_checklstring(L, i, &len);
    trk_sandbox_write(L, h->f, s, len);
  }
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg file_methods[] = {
  {"read", file_read}, {"lines", file_lines}, {"write", file_write}, {"close", file_close},
  {NULL, NULL}
};

static const luaL_Reg file_meta[] = {
  {"__gc", file_gc}, {"__close", file_gc}, {"__tostring", file_tostring},
  {"__index", NULL}, {"__metatable", NULL}, {NULL, NULL}
};

/* ---- the files module ------------------------------------------------------------------ */

/* The granted path matching name ("./a.csv" and "a.csv" are the same grant), or NULL. */
static const char *files_grant (const char *const *list, int n, const char *name) {
  const char *bare = strncmp(name, "./", 2) == 0 ? name + 2 : name;
  for (int i = 0; i < n; i++) {
    const char *g = strncmp(list[i], "./", 2) == 0 ? list[i] + 2 : list[i];
    if (strcmp(g, bare) == 0) return list[i];
  }
  return NULL;
}

static int files_openmode (lua_State *L, int writable) {
  const trk_options *o = trk_sandbox_options(trk_sandbox_of(L));
  const char *name = luaL_checkstring(L, 1);
  const char *fn = writable ? "files.create" : "files.open";
  const char *path = writable ? files_grant(o->outputs, o->noutputs, name)
                              : files_grant(o->inputs, o->ninputs, name);
  sbx_file *h;
  if (path == NULL)
    return luaL_error(L, "%s: '%s' is not granted to this script (run it with %s %s)", fn,
                      name, writable ? "--output" : "--input", name);
  h = lua_newuserdatauv(L, sizeof *h, 0);
  h->f = NULL;                   /* closed until fopen succeeds */
  h->writable = writable;
  luaL_setmetatable(L, FILE_MT);
  h->f = fopen(path, writable ? "wb" : "rb");
  if (h->f == NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: cannot open '%s': %s", fn, name, strerror(errno));
    return 2;
  }
  return 1;
}

static int files_open (lua_State *L) { return files_openmode(L, 0); }
static int files_create (lua_State *L) { return files_openmode(L, 1); }

static const luaL_Reg files_funcs[] = {
  {"open", files_open}, {"create", files_create}, {NULL, NULL}
};

void trk_sbx_files_open (lua_State *L, trk_sandbox *S) {
  (void)S;
  if (luaL_newmetatable(L, FILE_MT)) {
    luaL_setfuncs(L, file_meta, 0);
    luaL_newlib(L, file_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "file");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "file");
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  luaL_newlib(L, files_funcs);
}
