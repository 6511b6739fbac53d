/* C tests of the host table (runtime/host.c, runtime/store.c): nested calls, budgets that C
   loops are charged to, processes, and the state store's modes and its statements' cleanup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <sqlite3.h>

#include "host.h"
#include "sbxlib.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) passed++; \
    else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
  } while (0)

/* interruptible(): whether Ctrl-C may stop the code running now, read without changing it. */
static int t_interruptible (lua_State *L) {
  trk_sandbox *S = lua_touserdata(L, lua_upvalueindex(1));
  int was = trk_sandbox_set_interruptible(S, 0);
  trk_sandbox_set_interruptible(S, was);
  lua_pushboolean(L, was);
  return 1;
}

/* A sandbox whose host state has the globals host and interruptible. */
static trk_sandbox *t_sandbox (size_t max_memory) {
  char err[256];
  trk_options o;
  trk_sandbox *S;
  lua_State *L;
  trk_options_default(&o);
  if (max_memory) o.limits.max_memory = max_memory;
  S = trk_sandbox_new(&o, err, sizeof err);
  if (S == NULL) {
    printf("cannot create sandbox: %s\n", err);
    exit(1);
  }
  L = trk_sandbox_state(S);
  trk_host_open(L, S);
  lua_setglobal(L, "host");
  lua_pushlightuserdata(L, S);
  lua_pushcclosure(L, t_interruptible, 1);
  lua_setglobal(L, "interruptible");
  return S;
}

/* Runs code in the host state; it returns true, or false and what went wrong. */
static void t_lua (trk_sandbox *S, const char *name, const char *code) {
  lua_State *L = trk_sandbox_state(S);
  int top = lua_gettop(L);
  if (luaL_dostring(L, code) != LUA_OK)
    CHECK(0, "%s: %s", name, lua_tostring(L, -1));
  else
    CHECK(lua_toboolean(L, top + 1), "%s: %s", name,
          lua_isstring(L, top + 2) ? lua_tostring(L, top + 2) : "false");
  lua_settop(L, top);
}

static void t_calls (void) {
  trk_sandbox *S = t_sandbox(0);

  t_lua(S, "a budget_call inside a call leaves the call interruptible",
        "local ok, inner, after = host.call(function()\n"
        "  local inner = interruptible()\n"
        "  assert(host.budget_call(1000000, function() return 1 end))\n"
        "  return inner, interruptible()\n"
        "end)\n"
        "return ok and inner and after and not interruptible(), tostring(ok) .. ' ' .. "
        "tostring(inner) .. ' ' .. tostring(after)");

  t_lua(S, "a pathological pattern is held to the budget",
        "local find = host.env.string.find\n"
        "local ok, msg, why = host.budget_call(1000000, find, ('a'):rep(300), '^.-.-.-b')\n"
        "return not ok and why == 'budget' and "
        "msg:find('instruction budget exceeded (1000000 instructions', 1, true) ~= nil, "
        "tostring(ok) .. ' ' .. tostring(msg) .. ' ' .. tostring(why)");

  t_lua(S, "many short matches add up to the budget",
        "local find, s = host.env.string.find, ('a'):rep(200)\n"   /* < 65536 steps a call */
        "local ok, msg, why = host.budget_call(1000000, function()\n"
        "  for i = 1, 2000 do find(s, '^.-.-b') end\n"
        "end)\n"
        "return not ok and why == 'budget', tostring(ok) .. ' ' .. tostring(msg)");

  t_lua(S, "a sort is held to the budget",
        "local t = {} for i = 1, 300000 do t[i] = (i * 7919) % 300007 end\n"
        "local ok, msg, why = host.budget_call(1000000, host.env.table.sort, t)\n"
        "return not ok and why == 'budget', tostring(ok) .. ' ' .. tostring(msg)");

  t_lua(S, "many small sorts add up to the budget",
        "local sort, t = host.env.table.sort, {}\n"
        "for i = 1, 1000 do t[i] = i end\n"                     /* ~10k comparisons a sort */
        "local ok, msg, why = host.budget_call(1000000, function()\n"
        "  for i = 1, 400 do sort(t) end\n"
        "end)\n"
        "return not ok and why == 'budget', tostring(ok) .. ' ' .. tostring(msg)");

  t_lua(S, "the budget is cleared after a stop: the next call runs",
        "local ok, v = host.budget_call(1000000, host.env.string.find, ('a'):rep(100), 'b')\n"
        "return ok and v == nil, tostring(v)");

  t_lua(S, "a match within the budget is charged but runs",
        "local ok, i = host.budget_call(1000000, host.env.string.find, ('a'):rep(100), '^.-.-b')\n"
        "return ok and i == nil, tostring(ok)");
  trk_sandbox_free(S);
}

static void t_processes (void) {
  trk_sandbox *S = t_sandbox(0);
  lua_State *L = trk_sandbox_state(S);
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  lua_pushinteger(L, child);
  lua_setglobal(L, "dead");
  lua_pushinteger(L, getpid());
  lua_setglobal(L, "me");
  t_lua(S, "host.pid is this process", "return host.pid() == me");
  t_lua(S, "host.alive finds this process and init", "return host.alive(me) and host.alive(1)");
  t_lua(S, "host.alive does not find a process that has ended", "return not host.alive(dead)");
  t_lua(S, "host.alive takes no process group for a process",
        "return not host.alive(0) and not host.alive(-1) and not host.alive(math.maxinteger)");
  trk_sandbox_free(S);
}

/* The bytes of a file, malloc'd; NULL if it cannot be read. */
static char *t_slurp (const char *path, long *n) {
  FILE *f = fopen(path, "rb");
  char *buf;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  rewind(f);
  buf = malloc((size_t)*n + 1);
  if (buf && fread(buf, 1, (size_t)*n, f) != (size_t)*n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static void t_store (void) {
  trk_sandbox *S = t_sandbox(0);
  lua_State *L = trk_sandbox_state(S);
  char dir[64], path[128], wal[160];
  char *before, *after;
  long nbefore = 0, nafter = 0;
  sqlite3 *db;

  snprintf(dir, sizeof dir, "/tmp/trk-test-host-%d", (int)getpid());
  snprintf(path, sizeof path, "%s/plain.db", dir);
  snprintf(wal, sizeof wal, "%s-wal", path);
  mkdir(dir, 0777);
  /* a database in rollback-journal mode, as another program leaves it */
  sqlite3_open(path, &db);
  sqlite3_exec(db, "CREATE TABLE t(k INTEGER, v TEXT); INSERT INTO t VALUES (1, 'one');",
               NULL, NULL, NULL);
  sqlite3_close(db);
  before = t_slurp(path, &nbefore);
  lua_pushstring(L, path);
  lua_setglobal(L, "plain");
  lua_pushfstring(L, "%s/wal.db", dir);
  lua_setglobal(L, "walpath");

  t_lua(S, "a store opened to read reads and refuses writes",
        "local db = assert(host.store(plain, 'read'))\n"
        "local row = db:first('SELECT k, v FROM t')\n"
        "local ok, err = pcall(db.run, db, 'INSERT INTO t VALUES (2, ?)', 'two')\n"
        "local mode = db:first('PRAGMA journal_mode').journal_mode\n"
        "db:close()\n"
        "return row.k == 1 and row.v == 'one' and not ok and err:find('readonly') and "
        "mode == 'delete', tostring(err) .. ' ' .. tostring(mode)");
  after = t_slurp(path, &nafter);
  CHECK(before && after && nbefore == nafter && memcmp(before, after, (size_t)nafter) == 0,
        "a store opened to read left its file as it was");
  CHECK(access(wal, F_OK) != 0, "a store opened to read made no WAL file");
  free(before);
  free(after);

  t_lua(S, "a store opened to read does not create a missing file",
        "local db, err = host.store(plain .. '.missing', 'read')\n"
        "return db == nil and err:find('unable to open') ~= nil, tostring(err)");

  t_lua(S, "a store that another opened to write can be read",
        "local w = assert(host.store(walpath, true))\n"
        "w:exec('CREATE TABLE t(k); INSERT INTO t VALUES (7)')\n"
        "local r = assert(host.store(walpath, 'read'))\n"
        "local k = r:first('SELECT k FROM t').k\n"
        "r:close() w:close()\n"
        "return k == 7 and host.store(walpath):first('PRAGMA journal_mode').journal_mode == 'wal'");

  t_lua(S, "an unknown mode is refused",
        "local ok, err = pcall(host.store, plain, 'write')\n"
        "return not ok and err:find(\"invalid option 'write'\") ~= nil, tostring(err)");

  t_lua(S, "bad statements raise, naming the store",
        "local db = assert(host.store(walpath, false))\n"
        "local ok1, e1 = pcall(db.exec, db, 'NOT SQL')\n"
        "local ok2, e2 = pcall(db.rows, db, 'SELECT ?', 1, 2)\n"
        "local ok3, e3 = pcall(db.rows, db, 'SELECT ?', {})\n"
        "local ok4, e4 = pcall(db.rows, db, '  ')\n"
        "local ok5, e5 = pcall(db.rows, db, 'SELECT * FROM nowhere')\n"
        "db:close()\n"
        "return not (ok1 or ok2 or ok3 or ok4 or ok5) and e1:find('wal.db: near') and "
        "e2:find('takes 1 values, got 2') and e3:find('value 1 is a table') and "
        "e4:find('no statement') and e5:find('prepare: no such table'), "
        "table.concat({ e1, e2, e3, e4, e5 }, ' | ')");

  t_lua(S, "text, numbers and NULL come back as they went in",
        "local db = assert(host.store(walpath, false))\n"
        "db:exec('CREATE TABLE v(a, b, c, d)')\n"
        "db:run('INSERT INTO v VALUES (?, ?, ?, ?)', 'x\\0y', 1.5, nil, '')\n"
        "local r = db:first('SELECT * FROM v')\n"
        "db:close()\n"
        "return r.a == 'x\\0y' and r.b == 1.5 and r.c == nil and r.d == ''");
  trk_sandbox_free(S);

  /* a memory error while rows are collected leaves no statement behind (ASan checks the
     leak when the state is closed) */
  S = t_sandbox((size_t)8 << 20);
  L = trk_sandbox_state(S);
  lua_pushfstring(L, "%s/big.db", dir);
  lua_setglobal(L, "bigpath");
  {
    int status = luaL_dostring(L,
      "local db = assert(host.store(bigpath, true))\n"
      "db:exec(\"CREATE TABLE big(s); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
      "FROM n WHERE i < 200000) INSERT INTO big SELECT printf('%0100d', i) FROM n\")\n"
      "return db:rows('SELECT s FROM big')");
    CHECK(status != LUA_OK, "collecting 20 MB of rows in 8 MB fails");
  }
  trk_sandbox_free(S);

  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  if (system(path) != 0) printf("cannot remove %s\n", dir);
}

int main (void) {
  t_calls();
  t_processes();
  t_store();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
