/* C tests of stack discipline in the sandbox's library: every C function that builds a
   luaL_Buffer, or turns a value into a string, keeps the stack balanced whatever a script's
   metatables hold. A value left above a buffer's box is taken for the box when the buffer
   grows: a crash, or the heap of whatever object the value was (a FILE behind a file handle).

   Each case runs a script in a fresh sandbox in a child process, so that a crash fails that
   case only, and compares what it printed. Strings are long, so that buffers grow into boxes,
   and the script lives in a directory with a path longer than a buffer, for require. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "sbxlib.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) passed++; \
    else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
  } while (0)

#define STACK_DEPTH    6          /* directories of ... */
#define STACK_DIRLEN   250        /* ... this many characters: a path of about 1500 */
#define STACK_TIMEOUT  120        /* seconds a case may run (a corrupt FILE can deadlock) */

/* Objects and helpers every case's script starts with. `out` is a granted file handle (a
   userdata), arg[2] a granted input file: a line of 3000 'a', then 100000 'b' and no newline. */
static const char prelude[] =
  "local out = assert(files.create(arg[1]))\n"
  "local X, Y = ('x'):rep(2000), ('y'):rep(100000)\n"
  "local function named (v) return setmetatable({}, { __name = v }) end\n"
  "local function shown (f) return setmetatable({}, { __tostring = f }) end\n"
  "local function try (f, ...)\n"
  "  local ok, e = pcall(f, ...)\n"
  "  return ok, (tostring(e):gsub('^[^\\n]-:%d+: ', ''))\n"
  "end\n"
  "local NAMES = { {}, 42, true, out, coroutine.create(print), print }\n";

typedef struct stack_case {
  const char *name;         /* the function and what attacks it */
  const char *script;       /* after the prelude */
  int code;                 /* the exit code expected */
  const char *out;          /* stdout expected exactly, NULL: not checked */
  const char *err;          /* a part of stderr expected, NULL: not checked */
  const char *module;       /* the source of helper.lua beside the script, or NULL */
} stack_case;

/* "{2000*x}" in an expectation stands for 2000 'x'. */
#define L2000(c)   "{2000*" c "}"
#define LINE(mid)  L2000("x") "\t" mid "\t{100000*y}\n"

static const stack_case cases[] = {
  /* ---- print ---- */
  {"print: __name of each non-string type, buffer grown before",
   "for _, v in ipairs(NAMES) do print(X, named(v), Y) end",
   0, LINE("table: #1") LINE("table: #2") LINE("table: #3") LINE("table: #4")
      LINE("table: #5") LINE("table: #6"), NULL, NULL},
  {"print: several non-string __name, buffer grown after them",
   "print('a', named({}), named(42), named(out), Y)",
   0, "a\ttable: #1\ttable: #2\ttable: #3\t{100000*y}\n", NULL, NULL},
  {"print: __tostring errors",
   "print(try(print, X, shown(function() error('boom') end), Y))",
   0, "false\tboom\n", NULL, NULL},
  {"print: __tostring returns a non-string or nothing, or is not callable",
   "for _, r in ipairs({ {}, true, out }) do print(try(print, X, shown(function() return r end), Y)) end\n"
   "print(try(print, X, shown(function() end), Y))\n"
   "print(try(print, X, setmetatable({}, { __tostring = 5 }), Y))",
   0, "false\t'__tostring' must return a string\nfalse\t'__tostring' must return a string\n"
      "false\t'__tostring' must return a string\nfalse\t'__tostring' must return a string\n"
      "false\tattempt to call a number value\n", NULL, NULL},
  {"print: __tostring returns a number, or a string larger than the buffer",
   "print(X, shown(function() return 42 end), Y)\n"
   "print(X, shown(function() return ('h'):rep(1 << 20) end), Y)",
   0, LINE("42") LINE("{1048576*h}"), NULL, NULL},
  {"print: __tostring yields, in a coroutine and outside one",
   "local co = coroutine.create(function() print(X, shown(coroutine.yield), Y) end)\n"
   "local ok, e = coroutine.resume(co)\n"
   "print(ok, e, coroutine.status(co))\n"
   "print(try(coroutine.wrap(function() print(X, shown(coroutine.yield), Y) end)))\n"
   "print(try(print, X, shown(coroutine.yield), Y))\n"
   "print('after')",
   0, "false\tattempt to yield across a C-call boundary\tdead\n"
      "false\tattempt to yield across a C-call boundary\n"
      "false\tattempt to yield from outside a coroutine\nafter\n", NULL, NULL},
  {"print: __tostring prints an object with a non-string __name",
   "print(X, shown(function() print(X, named(out), Y) return 'inner' end), Y)",
   0, LINE("table: #1") LINE("inner"), NULL, NULL},
  {"print: 250 arguments with non-string __name",
   "local t = {}\n"
   "for i = 1, 250 do t[i] = named(NAMES[i % #NAMES + 1]) end\n"
   "print(X, table.unpack(t))\n"
   "print(select('#', table.unpack(t)), tostring(t[250]))",
   0, NULL, NULL, NULL},

  /* ---- tostring ---- */
  {"tostring: __name of each non-string type",
   "local got = {}\n"
   "for i, v in ipairs(NAMES) do got[i] = tostring(named(v)) end\n"
   "print(table.concat(got, ' '), select('#', tostring(named(out))))",
   0, "table: #1 table: #2 table: #3 table: #4 table: #5 table: #6\t1\n", NULL, NULL},
  {"tostring: __tostring errors, returns a non-string, a number, a long string, yields",
   "print(try(tostring, shown(function() error('boom') end)))\n"
   "print(try(tostring, shown(function() return {} end)))\n"
   "print(try(tostring, shown(function() return 7 end)))\n"
   "print(#tostring(shown(function() return ('h'):rep(1 << 20) end)))\n"
   "print(coroutine.resume(coroutine.create(function() return tostring(shown(coroutine.yield)) end)))",
   0, "false\tboom\nfalse\t'__tostring' must return a string\ntrue\t7\n1048576\n"
      "false\tattempt to yield across a C-call boundary\n", NULL, NULL},

  /* ---- string.format ---- */
  {"string.format %s: __name of each non-string type, buffer grown before and after",
   "local s = string.format(X .. '%s|%s|%s|%s|%s|%s' .. Y, named({}), named(42), named(true),\n"
   "                        named(out), named(coroutine.create(print)), named(print))\n"
   "print(#s, s:sub(#X + 1, -#Y - 1))",
   0, "102059\ttable: #1|table: #2|table: #3|table: #4|table: #5|table: #6\n", NULL, NULL},
  {"string.format %s: as a string method, and the formats left to the original",
   "print(((('a'):rep(2000)) .. '%s'):format(named(out)):sub(2001))\n"
   "print(string.format('%d %s %5.1f %%', 1, 'two', 3))",
   0, "table: #1\n1 two   3.0 %\n", NULL, NULL},
  {"string.format %p: objects, non-objects and widths in a long format",
   "local s = string.format(X .. '%p %p %8p %-4p|' .. Y, named({}), out, 1, print)\n"
   "print(#s, s:sub(#X + 1, -#Y - 1))",
   0, "102020\t#1 #2   (null) #3  |\n", NULL, NULL},
  {"string.format %s: __tostring errors, returns a non-string, a long string, yields, re-enters",
   "local F = X .. '%s' .. Y\n"
   "print(try(string.format, F, shown(function() error('boom') end)))\n"
   "print(try(string.format, F, shown(function() return {} end)))\n"
   "print(#string.format(F, shown(function() return ('h'):rep(1 << 20) end)))\n"
   "print(coroutine.resume(coroutine.create(function() return string.format(F, shown(coroutine.yield)) end)))\n"
   "local s = string.format(F .. '%p', shown(function() return string.format('%s', named(out)) end), named({}))\n"
   "print(s:sub(#X + 1, #X + 9), s:sub(-2))",
   0, "false\tboom\nfalse\t'__tostring' must return a string\n1150576\n"
      "false\tattempt to yield across a C-call boundary\ntable: #1\t#2\n", NULL, NULL},

  /* ---- log ---- */
  {"log.info, log.warn, log.error: non-string __name",
   "log.info(('x'):rep(3000), named(42), ('z'):rep(50000))\n"
   "log.warn(X, named(out), Y)\n"
   "log.error('e', named(coroutine.create(print)), Y)\n"
   "print(try(log.warn, X, shown(function() error('boom') end), Y))",
   0, "false\tboom\n",
   "info: {3000*x}\ttable: #1\t{50000*z}\nwarn: " LINE("table: #2") "error: e\ttable: #3\t{100000*y}\n",
   NULL},

  /* ---- require: the path is built in a buffer, from a directory longer than one ---- */
  {"require: a module beside the script, a missing one, from a long directory",
   "local m = require('helper')\n"
   "print(tostring(m), require('helper') == m)\n"
   "local ok, e = try(require, ('m'):rep(200))\n"
   "print(ok, e:find(\"module '\" .. ('m'):rep(200) .. \"' not found\", 1, true) ~= nil, #e > 1500)",
   0, "table: #1\ttrue\nfalse\ttrue\ttrue\n", NULL,
   "return setmetatable({}, { __name = {} })"},
  {"require: a module that requires itself",
   "print(try(require, 'helper'))",
   0, "false\trequire: module 'helper' requires itself (a loop)\n", NULL,
   "return require('helper')"},
  {"require: a module that does not compile",
   "local ok, e = try(require, 'helper')\n"
   "print(ok, e:match(\"^error loading module 'helper'\"))",
   0, "false\terror loading module 'helper'\n", NULL, "return +"},

  /* ---- files ---- */
  {"files: read and lines over lines longer than a buffer, bad formats",
   "local f = assert(files.open(arg[2]))\n"
   "print(#f:read('l'), #f:read('a'), f:read('l'), f:read(0))\n"
   "f:close()\n"
   "f = assert(files.open(arg[2]))\n"
   "local lens = {}\n"
   "for l in f:lines('L') do lens[#lens + 1] = #l end\n"
   "print(table.concat(lens, ' '))\n"
   "f:close()\n"
   "f = assert(files.open(arg[2]))\n"
   "local ok, e = try(f.read, f, 'l', named({}))\n"
   "print(ok, e:match('string expected, got table'))\n"
   "print(try(f.read, f, 'x'))\n"
   "local ok2, e2 = try(out.write, out, X, named(out))\n"
   "print(ok2, e2:match('string expected, got table'))\n"
   "print(try(out.read, out, 'l'))\n"
   "out:write(X, Y)\n"
   "out:close()\n"
   "print(tostring(named(out)), tostring(out))",
   0, "3000\t100000\tnil\tnil\n3001 100000\nfalse\tstring expected, got table\n"
      "false\tbad argument #2 to '?' (invalid format (use \"l\", \"L\", \"a\" or a count))\n"
      "false\tstring expected, got table\n"
      "false\tread: this file was granted for writing (--output)\n"
      "table: #1\tfile (closed)\n", NULL, NULL},

  /* ---- json ---- */
  {"json: encode and decode errors",
   "print(try(json.encode, { X, named({}), out }))\n"
   "print(try(json.decode, X .. '{'))\n"
   "local ok, e = try(json.decode, named(out))\n"
   "print(ok, e:match('string expected, got table'))\n"
   "print(json.encode({ named(42) }))",
   0, "false\tCannot serialise userdata: type not supported\n"
      "false\tjson.decode: Expected value but found invalid token at character 1\n"
      "false\tstring expected, got table\n[{}]\n", NULL, NULL},

  /* ---- error objects reaching the message handler (runtime/sandbox.c) ---- */
  {"error object: a non-string __name and no __tostring",
   "print(X, named(out), Y)\n"
   "error(named(out))",
   1, LINE("table: #1"), "(error object is a table value)", NULL},
  {"error object: __tostring returns a non-string",
   "error(shown(function() return {} end))",
   1, "", "'__tostring' must return a string", NULL},
  {"error object: __tostring errors",
   "error(shown(function() error('inner boom') end))",
   1, "", "inner boom", NULL},
};

/* ---- files ---------------------------------------------------------------------------- */

static char dir[STACK_DEPTH * (STACK_DIRLEN + 1) + 64];
static char script[sizeof dir + 32], helper[sizeof dir + 32];
static char outfile[64], infile[64], stdout_file[64], stderr_file[64];

static void write_file (const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
    printf("cannot write %s\n", path);
    exit(1);
  }
}

/* The whole file, malloc'd; "" when it cannot be read. */
static char *read_file (const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *s = NULL;
  size_t n = 0, cap = 0, got;
  do {
    if (cap - n < 65536) s = realloc(s, cap = cap * 2 + 65536);
    got = f ? fread(s + n, 1, cap - n - 1, f) : 0;
    n += got;
  } while (got > 0);
  if (f) fclose(f);
  s[n] = '\0';
  *len = n;
  return s;
}

/* Expands "{N*c}" to N copies of c. */
static char *expand (const char *pattern, size_t *len) {
  size_t cap = strlen(pattern) + 1, n = 0;
  char *s = malloc(cap);
  for (const char *p = pattern; *p; ) {
    unsigned long count;
    char c, close;
    int used;
    if (*p == '{' && sscanf(p, "{%lu*%c%c%n", &count, &c, &close, &used) == 3 && close == '}') {
      s = realloc(s, cap += count);
      memset(s + n, c, count);
      n += count;
      p += used;
    }
    else
      s[n++] = *p++;
  }
  s[n] = '\0';
  *len = n;
  return s;
}

/* The directory: STACK_DEPTH levels of STACK_DIRLEN characters each. */
static void make_dir (int create) {
  size_t n = (size_t)snprintf(dir, sizeof dir, "/tmp/trk-test-stack-%d", (int)getpid());
  if (create && mkdir(dir, 0700) != 0) {
    printf("cannot create %s\n", dir);
    exit(1);
  }
  for (int level = 0; level < STACK_DEPTH; level++) {
    dir[n++] = '/';
    memset(dir + n, 'a' + level, STACK_DIRLEN);
    n += STACK_DIRLEN;
    dir[n] = '\0';
    if (create && mkdir(dir, 0700) != 0) {
      printf("cannot create %s\n", dir);
      exit(1);
    }
  }
  snprintf(script, sizeof script, "%s/stack.lua", dir);
  snprintf(helper, sizeof helper, "%s/helper.lua", dir);
}

static void remove_dir (void) {
  size_t n = strlen(dir);
  remove(script);
  remove(helper);
  for (int level = 0; level <= STACK_DEPTH; level++) {
    rmdir(dir);
    while (n > 0 && dir[n] != '/') n--;
    dir[n] = '\0';
  }
}

/* ---- running a case -------------------------------------------------------------------- */

/* In the child: runs the script with stdout and stderr in files; exits with its code. */
static void run_child (void) {
  static const char *outputs[1], *inputs[1];
  static const trk_opt no_options[] = {{0}};
  char err[256], dashes[] = "--", *argv[4] = {script, dashes, outfile, infile};
  trk_cli c;
  trk_options o;
  trk_sandbox *S;
  int code;
  alarm(STACK_TIMEOUT);
  if (!freopen(stdout_file, "w", stdout) || !freopen(stderr_file, "w", stderr)) _exit(100);
  trk_options_default(&o);
  outputs[0] = outfile;
  inputs[0] = infile;
  o.outputs = outputs;
  o.noutputs = 1;
  o.inputs = inputs;
  o.ninputs = 1;
  S = trk_sandbox_new(&o, err, sizeof err);
  if (S == NULL) {
    fprintf(stderr, "cannot create sandbox: %s\n", err);
    _exit(101);
  }
  if (trk_cli_parse(&c, "run", no_options, 0, 4, argv, NULL) >= 0) _exit(102);
  trk_cli_set(&c, "script", c.words[0]);
  code = trk_host_run(S, "run", &c);                 /* as `trk run SCRIPT -- OUT IN` */
  trk_cli_free(&c);
  trk_sandbox_free(S);
  fflush(stdout);
  exit(code);
}

/* Where a and b first differ, for the report. */
static size_t differ (const char *a, size_t na, const char *b, size_t nb) {
  size_t i = 0;
  while (i < na && i < nb && a[i] == b[i]) i++;
  return i;
}

static void run_case (const stack_case *c) {
  char *source = malloc(sizeof prelude + strlen(c->script) + 2), *got, *want;
  size_t ngot, nwant;
  int status, code;
  pid_t pid;
  sprintf(source, "%s%s\n", prelude, c->script);
  write_file(script, source);
  free(source);
  remove(helper);
  if (c->module) write_file(helper, c->module);
  fflush(stdout);
  pid = fork();
  if (pid < 0) {
    printf("cannot fork\n");
    exit(1);
  }
  if (pid == 0) run_child();
  waitpid(pid, &status, 0);
  got = read_file(stderr_file, &ngot);
  if (WIFSIGNALED(status)) {
    CHECK(0, "%s: killed by signal %d%s\n%.2000s", c->name, WTERMSIG(status),
          WTERMSIG(status) == SIGALRM ? " (timed out: a deadlock?)" : "", got);
    free(got);
    return;
  }
  code = WEXITSTATUS(status);
  CHECK(code == c->code, "%s: exit %d, not %d; stderr:\n%.2000s", c->name, code, c->code, got);
  if (c->err) {
    want = expand(c->err, &nwant);
    CHECK(strstr(got, want) != NULL, "%s: stderr lacks %.200s; it is:\n%.2000s", c->name,
          want, got);
    free(want);
  }
  free(got);
  if (c->out) {
    got = read_file(stdout_file, &ngot);
    want = expand(c->out, &nwant);
    size_t at = differ(got, ngot, want, nwant);
    CHECK(ngot == nwant && at == ngot, "%s: stdout differs at byte %zu of %zu (expected %zu): "
          "got \"%.60s\", expected \"%.60s\"", c->name, at, ngot, nwant,
          got + (at > 20 ? at - 20 : 0), want + (at > 20 ? at - 20 : 0));
    free(got);
    free(want);
  }
}

/* ---- trk_sbx_tostring itself ----------------------------------------------------------- */

/* Calls trk_sbx_tostring on argument 1; returns the string and how many values it pushed. */
static int t_tostring (lua_State *L) {
  int top = lua_gettop(L);
  trk_sbx_tostring(L, 1);
  lua_pushinteger(L, lua_gettop(L) - top);
  return 2;
}

/* For every kind of __name and __tostring: trk_sbx_tostring pushes one value, or raises. */
static void t_tostring_pushes_one (void) {
  static const char *const names[] = {
    "{}", "42", "true", "print", "coroutine.create(print)", "files", "'named'", NULL
  };
  char err[256], code[128];
  trk_options o;
  trk_sandbox *S;
  lua_State *L;
  trk_options_default(&o);
  S = trk_sandbox_new(&o, err, sizeof err);
  if (S == NULL) {
    printf("cannot create sandbox: %s\n", err);
    exit(1);
  }
  L = trk_sandbox_state(S);
  for (int i = 0; names[i]; i++) {
    snprintf(code, sizeof code, "return setmetatable({}, { __name = %s })", names[i]);
    if (luaL_loadstring(L, code) != LUA_OK) {
      CHECK(0, "%s: %s", code, lua_tostring(L, -1));
      lua_settop(L, 0);
      continue;
    }
    trk_sandbox_push_env(S);
    lua_setupvalue(L, -2, 1);
    lua_pushcfunction(L, t_tostring);
    lua_insert(L, -2);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK || lua_pcall(L, 1, 2, 0) != LUA_OK)
      CHECK(0, "__name = %s: %s", names[i], lua_tostring(L, -1));
    else
      CHECK(lua_tointeger(L, -1) == 1, "__name = %s: trk_sbx_tostring pushed %d values",
            names[i], (int)lua_tointeger(L, -1));
    lua_settop(L, 0);
  }
  trk_sandbox_free(S);
}

int main (void) {
  int pid = (int)getpid();
  size_t n;
  char *text;
  snprintf(outfile, sizeof outfile, "/tmp/trk-test-stack-%d.out", pid);
  snprintf(infile, sizeof infile, "/tmp/trk-test-stack-%d.in", pid);
  snprintf(stdout_file, sizeof stdout_file, "/tmp/trk-test-stack-%d.stdout", pid);
  snprintf(stderr_file, sizeof stderr_file, "/tmp/trk-test-stack-%d.stderr", pid);
  text = expand("{3000*a}\n{100000*b}", &n);
  write_file(infile, text);
  free(text);
  make_dir(1);

  t_tostring_pushes_one();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);

  remove_dir();
  remove(outfile);
  remove(infile);
  remove(stdout_file);
  remove(stderr_file);
  printf("stack: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
