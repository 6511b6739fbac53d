/* C tests of the limits C code keeps: the JSON size bound against what cjson really writes, the
   interface the sandbox lends the client (bindings/tracker.h, trk_host), sleeps that end at
   the deadline and at Ctrl-C, and coroutines the host resumes held to a budget. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "host.h"
#include "sbxlib.h"
#include "tracker.h"

int luaopen_cjson(lua_State *L);

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) passed++; \
    else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
  } while (0)

static double t_now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the JSON bound is an upper bound of cjson's text, and a tight one ---------------------- */

/* size(v [, depth]) -> the bound (no stop). */
static int t_size (lua_State *L) {
  int depth = (int)luaL_optinteger(L, 2, 128);
  lua_pushinteger(L, (lua_Integer)trk_json_size(L, 1, depth, SIZE_MAX));
  return 1;
}

static const char *const JSON_CHECK =
  "local encode, size = ...\n"
  "math.randomseed(7)\n"
  "local R = math.random\n"
  "local function str()\n"
  "  local t = {}\n"
  "  for i = 1, R(0, 30) do t[i] = string.char(R(0, 255)) end\n"
  "  return table.concat(t)\n"
  "end\n"
  "local nums = { 0, -0.0, 1, -1, 1e14 - 1, -(1e14 - 1), 1e14, 2^53, -2^63, math.maxinteger,\n"
  "  math.mininteger, 1/3, -1e-300, 1.7976931348623157e308, 4.9e-324, 123456.789 }\n"
  "local function num()\n"
  "  local k = R(1, 4)\n"
  "  if k == 1 then return nums[R(#nums)] end\n"
  "  if k == 2 then return R(-1e15, 1e15) end\n"
  "  if k == 3 then return (R() - 0.5) * 10.0 ^ R(-300, 300) end\n"
  "  return R(-1000, 1000)\n"
  "end\n"
  "local val\n"
  "local function tab(d)\n"
  "  local t, k = {}, R(1, 5)\n"
  "  local n = R(0, 12)\n"
  "  if k == 1 then for i = 1, n do t[i] = val(d + 1) end\n"                       /* array */
  "  elseif k == 2 then for i = 1, n do t[R(1, 2 * n + 10)] = val(d + 1) end\n"     /* holes */
  "  elseif k == 3 then for i = 1, n do t[str()] = val(d + 1) end\n"                /* object */
  "  elseif k == 4 then for i = 1, n do t[num()] = val(d + 1) end\n"                /* numbers */
  "  else t[1] = val(d + 1); t.x = val(d + 1); t[2.5] = val(d + 1) end\n"          /* mixed */
  "  return t\n"
  "end\n"
  "function val(d)\n"
  "  local k = R(1, d > 5 and 4 or 6)\n"
  "  if k == 1 then return str() elseif k == 2 then return num()\n"
  "  elseif k == 3 then return R(2) == 1 elseif k == 4 then return json_null end\n"
  "  return R(8) == 1 and big(d) or tab(d)\n"
  "end\n"
  "function big(d)\n"                    /* integer keys past cjson's int */
  "  local t = {}\n"
  "  for i = 1, R(1, 6) do t[R(1, 3) == 1 and R(1, 12) or 2^R(31, 70) + R(0, 9)] = val(d + 1) end\n"
  "  return t\n"
  "end\n"
  "local encoded, worst = 0, 0\n"
  "for i = 1, 20000 do\n"
  "  local v = val(0)\n"
  "  local ok, text = pcall(encode, v)\n"
  "  if ok then\n"
  "    local b = size(v)\n"
  "    if b < #text then return false, ('bound %d under the text %d: %s'):format(b, #text, text) end\n"
  "    encoded = encoded + 1\n"
  "    if b / math.max(#text, 8) > worst then worst = b / math.max(#text, 8); wt = text end\n"
  "  end\n"
  "end\n"
  "if encoded < 10000 then return false, 'only ' .. encoded .. ' values encoded' end\n"
  /* strings, keys and integers are counted exactly */
  "local exact = { 'a\\0\\1\\31\\127\\128\\255\"\\\\/\\b\\t\\n\\f\\r', { ['k\\1/'] = 'v\"', n = 12345 },\n"
  "  { 1, -22, 333, 'x' }, { [1] = true, [3] = false } }\n"
  "for _, v in ipairs(exact) do\n"
  "  local text = encode(v)\n"
  "  local b = size(v)\n"
  "  if b < #text or b > #text + 2 then return false, ('bound %d for %s'):format(b, text) end\n"
  "end\n"
  "return true, ('%d values encoded, worst bound %.1f times the text (%s)'):format(encoded, worst, wt)\n";

static void t_json_bound (void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "encode_max_depth");
  lua_pushinteger(L, 128);
  lua_call(L, 1, 0);
  lua_getfield(L, -1, "null");
  lua_setglobal(L, "json_null");
  if (luaL_loadstring(L, JSON_CHECK) != LUA_OK) {
    CHECK(0, "json bound check: %s", lua_tostring(L, -1));
    lua_close(L);
    return;
  }
  lua_getfield(L, -2, "encode");
  lua_pushcfunction(L, t_size);
  if (lua_pcall(L, 2, 2, 0) != LUA_OK)
    CHECK(0, "json bound check: %s", lua_tostring(L, -1));
  else {
    CHECK(lua_toboolean(L, -2), "json bound: %s", lua_tostring(L, -1));
    printf("json bound: %s\n", lua_tostring(L, -1));
  }
  lua_settop(L, 0);

  /* nesting past the depth is cjson's error, raised by the walk itself */
  (void)luaL_dostring(L, "local t = {} local x = t for i = 1, 200 do x[1] = {} x = x[1] end return t");
  lua_pushcfunction(L, t_size);
  lua_insert(L, 1);
  CHECK(lua_pcall(L, 1, 1, 0) != LUA_OK &&
        strstr(lua_tostring(L, -1), "Cannot serialise, excessive nesting (129)") != NULL,
        "deep value: %s", lua_tostring(L, -1));
  lua_settop(L, 0);

  /* a cycle too */
  (void)luaL_dostring(L, "local t = {} t.self = t return t");
  lua_pushcfunction(L, t_size);
  lua_insert(L, 1);
  CHECK(lua_pcall(L, 1, 1, 0) != LUA_OK && strstr(lua_tostring(L, -1), "excessive nesting") != NULL,
        "cycle: %s", lua_tostring(L, -1));

  /* counting stops once past `stop`: a DAG of 10^12 values answers at once */
  (void)luaL_dostring(L, "local t = {} for i = 1, 10000 do t[i] = true end "
                   "local u = {} for i = 1, 10000 do u[i] = t end "
                   "local v = {} for i = 1, 10000 do v[i] = u end return v");
  double t0 = t_now();
  size_t b = trk_json_size(L, -1, 128, 1u << 20);
  CHECK(b > (1u << 20) && b < (2u << 20) && t_now() - t0 < 1.0, "stop: %zu after %.2f s", b,
        t_now() - t0);
  lua_close(L);
}

/* ---- the interface the sandbox lends ---------------------------------------------------------- */

static trk_sandbox *t_sandbox (size_t max_memory, double deadline) {
  char err[256];
  trk_options o;
  trk_sandbox *S;
  trk_options_default(&o);
  o.limits.max_memory = max_memory;
  o.limits.deadline = deadline;
  S = trk_sandbox_new(&o, err, sizeof err);
  if (S == NULL) {
    printf("cannot create sandbox: %s\n", err);
    exit(1);
  }
  return S;
}

static int t_sleep (lua_State *L) {
  trk_host_sleep(L, luaL_checknumber(L, 1));
  return 0;
}

static void t_interface (void) {
  trk_sandbox *S = t_sandbox(8u << 20, 0);
  lua_State *L = trk_sandbox_state(S);
  const trk_host *h = trk_host_get(L);
  trk_usage u0, u1;
  CHECK(h != NULL && h->ud != NULL, "the sandbox lends its limits under %s", TRK_HOST_KEY);
  if (h == NULL) return;
  trk_sandbox_usage(S, &u0);
  CHECK(h->memory_left(h->ud) == (8u << 20) - u0.memory, "memory left %zu, used %zu",
        h->memory_left(h->ud), u0.memory);
  CHECK(isinf(h->time_left(h->ud)), "no deadline: %g s left", h->time_left(h->ud));
  CHECK(!h->should_stop(h->ud), "nothing to stop");
  CHECK(h->reserve(h->ud, 1u << 20), "a reserve within the limit");
  trk_sandbox_usage(S, &u1);
  CHECK(u1.memory == u0.memory + (1u << 20) && u1.memory_peak >= u1.memory,
        "reserved memory counts: %zu -> %zu", u0.memory, u1.memory);
  h->release(h->ud, 1u << 20);
  trk_sandbox_usage(S, &u1);
  CHECK(u1.memory == u0.memory, "released: %zu -> %zu", u0.memory, u1.memory);
  CHECK(!h->reserve(h->ud, 8u << 20), "a reserve past the limit is refused");
  CHECK(trk_sandbox_killed(S), "... and stops the run");
  CHECK(h->should_stop(h->ud), "a stopped run must stop");
  lua_pushcfunction(L, t_sleep);
  lua_pushnumber(L, 5);
  double t0 = t_now();
  CHECK(lua_pcall(L, 1, 0, 0) != LUA_OK && t_now() - t0 < 0.5 &&
        strstr(lua_tostring(L, -1), "memory limit exceeded") != NULL,
        "a sleep in a stopped run raises at once: %s", lua_tostring(L, -1));
  trk_sandbox_free(S);

  /* the deadline ends a sleep: within a slice of it, as the limit hook would */
  S = t_sandbox(0, 0.3);
  L = trk_sandbox_state(S);
  h = trk_host_get(L);
  CHECK(h->memory_left(h->ud) == SIZE_MAX, "no memory limit");
  CHECK(h->time_left(h->ud) > 0 && h->time_left(h->ud) <= 0.3, "%g s left", h->time_left(h->ud));
  lua_pushcfunction(L, t_sleep);
  lua_pushnumber(L, 3600);
  t0 = t_now();
  int status = lua_pcall(L, 1, 0, 0);
  double took = t_now() - t0;
  CHECK(status != LUA_OK && strstr(lua_tostring(L, -1), "deadline limit exceeded") != NULL,
        "an hour's sleep ends at the deadline: %s", lua_tostring(L, -1));
  CHECK(took < 0.45, "the sleep ended %.3f s after it began (deadline 0.3 s)", took);
  CHECK(h->time_left(h->ud) <= 0 && h->should_stop(h->ud), "past the deadline");
  trk_sandbox_free(S);
}

/* ---- coroutines the host resumes are held to a budget --------------------------------------- */

static void t_budget (void) {
  trk_sandbox *S = t_sandbox(0, 0);
  lua_State *L = trk_sandbox_state(S);
  trk_host_open(L, S);
  lua_setglobal(L, "host");
  /* made while no hook is set (no budget, no tick): only the resume can give it one */
  alarm(30);                      /* the old behaviour loops for ever: fail instead */
  if (luaL_dostring(L,
        "local co = coroutine.create(function() while true do end end)\n"
        "local ok, msg, why = host.budget_call(1000000, coroutine.resume, co)\n"
        "local w = coroutine.wrap(function() while true do end end)\n"
        "local ok2, msg2, why2 = host.budget_call(1000000, w)\n"
        "return not ok and why == 'budget' and not ok2 and why2 == 'budget',\n"
        "  tostring(msg) .. ' / ' .. tostring(msg2)") != LUA_OK)
    CHECK(0, "budget: %s", lua_tostring(L, -1));
  else
    CHECK(lua_toboolean(L, -2), "a coroutine made before the budget is held to it: %s",
          lua_tostring(L, -1));
  alarm(0);
  trk_sandbox_free(S);
}

/* ---- Ctrl-C: stops interruptible code only (last: the count of signals is process-wide) ---- */

static void t_interrupt (void) {
  trk_sandbox *S = t_sandbox(0, 0);
  lua_State *L = trk_sandbox_state(S);
  const trk_host *h = trk_host_get(L);
  CHECK(trk_sandbox_catch_interrupts(S), "catch interrupts");
  raise(SIGINT);                  /* the first one is counted, not fatal */
  CHECK(trk_sandbox_interrupted(), "interrupted");
  trk_sandbox_set_interruptible(S, 0);
  CHECK(!h->should_stop(h->ud), "host code that may not be interrupted waits on");
  trk_sandbox_set_interruptible(S, 1);
  CHECK(h->should_stop(h->ud), "interruptible code must stop");
  lua_pushcfunction(L, t_sleep);
  lua_pushnumber(L, 3600);
  double t0 = t_now();
  CHECK(lua_pcall(L, 1, 0, 0) != LUA_OK && t_now() - t0 < 0.2 &&
        trk_sandbox_stopped(S) == TRK_STOP_INTERRUPT,
        "a sleep stops for Ctrl-C: %s", lua_tostring(L, -1));
  trk_sandbox_clear_stop(S);
  trk_sandbox_set_interruptible(S, 0);
  trk_sandbox_free(S);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

int main (void) {
  t_json_bound();
  t_interface();
  t_budget();
  t_interrupt();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
