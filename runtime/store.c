/* The state store: a small SQLite binding for the runtime's drivers (the journal, rule
   checkpoints). Host-side only: scripts never see it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <sqlite3.h>

#include "dynlib.h"
#include "store.h"

#define STORE_MT       "trk.store"
#define STMT_MT        "trk.store.statement"
#define STORE_BUSY_MS  5000     /* wait this long for another trk holding the store */
#define STORE_CACHED   32       /* prepared statements a store keeps, by SQL text, for reuse */

/* ---- SQLite, loaded on first use ---------------------------------------------------------- */

/* libsqlite3 is opened when the first store is, not linked: most runs (every dry run) never
   open one, and loading it cost every start about half a millisecond. Its functions are
   called through sq, whose pointers have SQLite's own prototypes; set once, never unloaded. */
#define STORE_LIBSQLITE  "libsqlite3.so.0"
#define STORE_SQLITE_FUNCS(X) \
  X(bind_double) X(bind_int) X(bind_int64) X(bind_null) X(bind_parameter_count) \
  X(bind_text64) X(busy_timeout) X(changes) X(close_v2) X(column_bytes) X(column_count) \
  X(column_double) X(column_int64) X(column_name) X(column_text) X(column_type) \
  X(db_filename) X(errcode) X(errmsg) X(exec) X(finalize) X(last_insert_rowid) X(open_v2) \
  X(prepare_v2) X(step) X(libversion) X(reset) X(clear_bindings)

static struct {
#define STORE_SQ_FIELD(name)  __typeof__(sqlite3_##name) *name;
  STORE_SQLITE_FUNCS(STORE_SQ_FIELD)
#undef STORE_SQ_FIELD
} sq;

#define STORE_SQ_SYM(name)  {"sqlite3_" #name, &sq.name},
static const trk_dynsym sq_syms[] = {STORE_SQLITE_FUNCS(STORE_SQ_SYM) {NULL, NULL}};
#undef STORE_SQ_SYM

static trk_dynlib sq_lib = TRK_DYNLIB(STORE_LIBSQLITE, sq_syms, NULL);

/* Loads SQLite once; NULL when ready, else why not. */
static const char *sq_ready (void) {
  return trk_dynlib_ready(&sq_lib);
}

const char *trk_store_sqlite_version (void) {
  return sq_ready() == NULL ? sq.libversion() : NULL;
}


typedef struct store {
  sqlite3 *db;                  /* NULL once closed */
  int cached;                   /* statements in the cache (the userdata's user value) */
} store;

/* A prepared statement, held by a userdata so that an error while it runs (a memory error
   as a row is collected, a bad parameter) still finalizes it, when the userdata is
   collected. */
typedef struct stmt {
  sqlite3_stmt *st;             /* NULL once finalized */
} stmt;

static store *store_check (lua_State *L) {
  store *s = luaL_checkudata(L, 1, STORE_MT);
  if (s->db == NULL) luaL_error(L, "state store: used after close");
  return s;
}

/* The file name of a store, for messages. */
static const char *store_name (sqlite3 *db) {
  const char *file = sq.db_filename(db, "main");
  return file && *file ? file : "(memory)";
}

/* Raises the database's last error, naming the file. */
static int store_fail (lua_State *L, sqlite3 *db, const char *what) {
  return luaL_error(L, "state store %s: %s: %s", store_name(db), what, sq.errmsg(db));
}

/* ---- statements ---------------------------------------------------------------------- */

/* Raises a failed step's error, the statement reset first (a cached one may hold a lock). */
static int store_fail_reset (lua_State *L, sqlite3 *db, sqlite3_stmt *st) {
  lua_pushfstring(L, "state store %s: step: %s", store_name(db), sq.errmsg(db));
  sq.reset(st);
  return lua_error(L);
}

static int stmt_finalize (lua_State *L) {
  stmt *q = luaL_checkudata(L, 1, STMT_MT);
  if (q->st) {
    sq.finalize(q->st);
    q->st = NULL;               /* mark it finalized */
  }
  return 0;
}

/* Prepares sql into a statement userdata it pushes: created empty first, so that the
   statement is never without an owner. */
static stmt *stmt_prepare (lua_State *L, sqlite3 *db, const char *sql) {
  stmt *q = lua_newuserdatauv(L, sizeof *q, 0);
  q->st = NULL;
  luaL_setmetatable(L, STMT_MT);
  if (sq.prepare_v2(db, sql, -1, &q->st, NULL) != SQLITE_OK) store_fail(L, db, "prepare");
  if (q->st == NULL) luaL_error(L, "state store: no statement in '%s'", sql);  /* blank */
  return q;
}

/* Binds the n values from stack index first on as the statement's parameters. */
static void store_bind (lua_State *L, sqlite3 *db, sqlite3_stmt *st, int first, int n) {
  int rc = SQLITE_OK;
  if (n != sq.bind_parameter_count(st))
    luaL_error(L, "state store: the statement takes %d values, got %d",
               sq.bind_parameter_count(st), n);
  for (int i = 1; i <= n && rc == SQLITE_OK; i++) {
    int idx = first + i - 1;
    switch (lua_type(L, idx)) {
      case LUA_TNIL: rc = sq.bind_null(st, i); break;
      case LUA_TBOOLEAN: rc = sq.bind_int(st, i, lua_toboolean(L, idx)); break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) rc = sq.bind_int64(st, i, lua_tointeger(L, idx));
        else rc = sq.bind_double(st, i, lua_tonumber(L, idx));
        break;
      case LUA_TSTRING: {
        size_t len;
        const char *v = lua_tolstring(L, idx, &len);
        rc = sq.bind_text64(st, i, v, len, SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      }
      default:
        luaL_error(L, "state store: value %d is a %s (use nil, booleans, numbers or strings)",
                   i, luaL_typename(L, idx));
    }
  }
  if (rc != SQLITE_OK) store_fail(L, db, "bind");
}

static void store_push_column (lua_State *L, sqlite3 *db, sqlite3_stmt *st, int i) {
  switch (sq.column_type(st, i)) {
    case SQLITE_INTEGER: lua_pushinteger(L, sq.column_int64(st, i)); break;
    case SQLITE_FLOAT: lua_pushnumber(L, sq.column_double(st, i)); break;
    case SQLITE_NULL: lua_pushnil(L); break;
    default: {
      const char *text = (const char *)sq.column_text(st, i);   /* text, then its size */
      size_t len = (size_t)sq.column_bytes(st, i);
      if (text == NULL && sq.errcode(db) == SQLITE_NOMEM)
        luaL_error(L, "state store %s: out of memory", store_name(db));
      lua_pushlstring(L, text ? text : "", text ? len : 0);
    }
  }
}

/* The statement for sql, from the store's cache (reset, unbound) or prepared and kept there:
   the journal runs the same few statements for every write and every record, and preparing
   one costs more than running it. The cache is the store userdata's user value (at index 1),
   SQL text -> statement; a full cache starts again empty (the old ones go at collection). */
static stmt *store_statement (lua_State *L, store *s, const char *sql) {
  lua_getiuservalue(L, 1, 1);
  if (lua_getfield(L, -1, sql) == LUA_TUSERDATA) {
    stmt *q = lua_touserdata(L, -1);
    if (q->st) {
      sq.reset(q->st);
      sq.clear_bindings(q->st);
      lua_remove(L, -2);
      return q;
    }
  }
  lua_pop(L, 1);
  if (s->cached >= STORE_CACHED) {
    lua_newtable(L);
    lua_setiuservalue(L, 1, 1);
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, 1);
    s->cached = 0;
  }
  stmt *q = stmt_prepare(L, s->db, sql);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, sql);
  s->cached++;
  lua_remove(L, -2);
  return q;
}

/* Runs one statement with the parameters after the SQL (stack index 2); with rows,
   collects each row as a table keyed by column name (NULL columns absent) into a table it
   pushes. */
static void store_step (lua_State *L, store *s, int rows) {
  const char *sql = luaL_checkstring(L, 2);
  sqlite3 *db = s->db;
  int nparams = lua_gettop(L) - 2, rc, n = 0;
  stmt *q = store_statement(L, s, sql);
  store_bind(L, db, q->st, 3, nparams);
  if (rows) lua_newtable(L);
  while ((rc = sq.step(q->st)) == SQLITE_ROW) {
    if (!rows) continue;
    int ncol = sq.column_count(q->st);
    lua_createtable(L, 0, ncol);
    for (int i = 0; i < ncol; i++) {
      const char *name = sq.column_name(q->st, i);
      if (name == NULL) luaL_error(L, "state store %s: out of memory", store_name(db));
      store_push_column(L, db, q->st, i);
      lua_setfield(L, -2, name);
    }
    lua_rawseti(L, -2, ++n);
  }
  if (rc != SQLITE_DONE) {
    store_fail_reset(L, db, q->st);
  }
  sq.reset(q->st);         /* now, not at its next use: it may hold a read lock */
}

/* ---- the store --------------------------------------------------------------------------- */

/* db:exec(sql): one or more statements without parameters. The error comes from the
   database's own message, which SQLite frees: nothing to free here if a push raises. */
static int store_exec (lua_State *L) {
  store *s = store_check(L);
  if (sq.exec(s->db, luaL_checkstring(L, 2), NULL, NULL, NULL) != SQLITE_OK)
    return luaL_error(L, "state store %s: %s", store_name(s->db), sq.errmsg(s->db));
  return 0;
}

/* db:run(sql, ...): one statement; answers the rows changed and the last inserted row id. */
static int store_run (lua_State *L) {
  store *s = store_check(L);
  store_step(L, s, 0);
  lua_pushinteger(L, sq.changes(s->db));
  lua_pushinteger(L, sq.last_insert_rowid(s->db));
  return 2;
}

/* db:rows(sql, ...): every row, as a list of tables. */
static int store_rows (lua_State *L) {
  store *s = store_check(L);
  store_step(L, s, 1);
  return 1;
}

/* db:first(sql, ...): the first row, or nil. */
static int store_first (lua_State *L) {
  store *s = store_check(L);
  store_step(L, s, 1);
  lua_rawgeti(L, -1, 1);
  return 1;
}

static int store_close (lua_State *L) {
  store *s = luaL_checkudata(L, 1, STORE_MT);
  if (s->db) {
    lua_getiuservalue(L, 1, 1);           /* the cached statements go first */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      stmt *q = lua_touserdata(L, -1);
      if (q && q->st) {
        sq.finalize(q->st);
        q->st = NULL;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->cached = 0;
    sq.close_v2(s->db);
    s->db = NULL;
  }
  return 0;
}

static int store_tostring (lua_State *L) {
  store *s = luaL_checkudata(L, 1, STORE_MT);
  const char *file = s->db ? sq.db_filename(s->db, "main") : NULL;
  lua_pushfstring(L, "state store (%s)", file ? file : "closed");
  return 1;
}

/* Creates the directory holding path when it is missing (one level: ".trk/"); the directory
   goes to dir. Returns 0, or the errno of the failure. */
static int store_mkdir (const char *path, char *dir, size_t n) {
  const char *slash = strrchr(path, '/');
  struct stat st;
  dir[0] = '\0';
  if (slash == NULL || slash == path) return 0;
  if ((size_t)(slash - path) >= n) return ENAMETOOLONG;
  memcpy(dir, path, (size_t)(slash - path));
  dir[slash - path] = '\0';
  if (stat(dir, &st) == 0 || mkdir(dir, 0777) == 0) return 0;
  return errno;
}

/* store.open(path [, mode]): the store at path, or nil, message. mode true creates a
   missing file (and its directory); false or none opens an existing one; "read" opens an
   existing one read-only and leaves it as it is (no journal mode switched). */
static int store_open (lua_State *L) {
  static const char *const modes[] = {"read", NULL};
  const char *path = luaL_checkstring(L, 1);
  int readonly = lua_type(L, 2) == LUA_TSTRING && luaL_checkoption(L, 2, NULL, modes) == 0;
  int create = !readonly && lua_toboolean(L, 2);
  const char *why;
  char dir[4096];
  struct stat st;
  int failed;
  /* a store that is looked for, not made, and is not there: said without loading SQLite,
     as SQLite says it (trk run looks for one beside every script) */
  if (!create && stat(path, &st) != 0 && errno == ENOENT) {
    lua_pushnil(L);
    lua_pushfstring(L, "state store %s: unable to open database file", path);
    return 2;
  }
  why = sq_ready();
  if (why != NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "state store %s: %s (it comes with the Debian package libsqlite3-0)",
                    path, why);
    return 2;
  }
  store *s = lua_newuserdatauv(L, sizeof *s, 1);
  s->db = NULL;
  s->cached = 0;
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, STORE_MT);
  if (create && (failed = store_mkdir(path, dir, sizeof dir)) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "state store %s: cannot create directory %s: %s", path, dir,
                    strerror(failed));
    return 2;
  }
  int flags = readonly ? SQLITE_OPEN_READONLY
                       : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sq.open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "state store %s: %s", path,
                    s->db ? sq.errmsg(s->db) : "out of memory");
    sq.close_v2(s->db);
    s->db = NULL;
    return 2;
  }
  sq.busy_timeout(s->db, STORE_BUSY_MS);
  if (readonly) return 1;
  /* WAL with synchronous=NORMAL: a commit survives the process being killed at any point */
  if (sq.exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                   NULL, NULL, NULL) != SQLITE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "state store %s: %s", path, sq.errmsg(s->db));
    sq.close_v2(s->db);
    s->db = NULL;
    return 2;
  }
  return 1;
}

void trk_store_open (lua_State *L) {
  static const luaL_Reg methods[] = {
    {"exec", store_exec}, {"run", store_run}, {"rows", store_rows}, {"first", store_first},
    {"close", store_close}, {NULL, NULL}
  };
  static const luaL_Reg stmt_meta[] = {
    {"__gc", stmt_finalize}, {"__close", stmt_finalize}, {NULL, NULL}
  };
  if (luaL_newmetatable(L, STMT_MT)) luaL_setfuncs(L, stmt_meta, 0);
  lua_pop(L, 1);
  if (luaL_newmetatable(L, STORE_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, store_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, store_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, store_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, store_open);
}
