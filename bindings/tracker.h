/* The tracker Lua module: public C interface shared by tracker.so and the trk runtime. */
#ifndef TRK_TRACKER_H
#define TRK_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#define TRK_ERROR_MT  "tracker.error"   /* metatable of error values */

int luaopen_tracker(lua_State *L);

/* ---- what a host lends the client: limits, stops and memory accounting ---------------- */

/* The module never links to its host: a host that watches limits (trk's sandbox) lends this
   interface at run time, as a light userdata in the registry under TRK_HOST_KEY. Under plain
   Lua there is none, and the defaults apply: waits wait, and only the hard caps below hold. */
#define TRK_HOST_KEY  "trk.host"   /* registry: light userdata, a const trk_host * */

typedef struct trk_host {
  void *ud;                        /* passed back to every function */
  /* Does not raise. Non-zero when the code running now must stop: a limit is exceeded (the CPU
     time and the deadline are checked now; past one, the run is stopped as by the limit hook),
     Ctrl-C is pending while the code may be interrupted, or a stop is unwinding. */
  int (*should_stop)(void *ud);
  /* Raises what should_stop reported, exactly as the limit hook would (a limit error, or the
     stop only the host catches). Returns only when nothing is pending. */
  void (*raise)(lua_State *L, void *ud);
  /* Seconds left until the deadline (<= 0 once past); HUGE_VAL when there is none. */
  double (*time_left)(void *ud);
  /* For long C work, every TRK_POLL_STEPS steps: charges them to the instruction limits and
     raises past a limit or at a stop, as the sandbox's own C functions do. */
  void (*poll)(lua_State *L, void *ud);
  /* Bytes the script may still allocate; SIZE_MAX when memory is not limited. */
  size_t (*memory_left)(void *ud);
  /* Counts n bytes of C memory as the script's, until release(n): 1, or 0 when they would pass
     the memory limit, which then stops the run (call raise). */
  int (*reserve)(void *ud, size_t n);
  void (*release)(void *ud, size_t n);
} trk_host;

/* The interface the host lent, or NULL (plain Lua). */
const trk_host *trk_host_get(lua_State *L);

/* Waits up to `seconds` (capped at TRK_SLEEP_MAX) in short slices; with a host, raises as soon
   as the host says the code must stop (the deadline, a limit, Ctrl-C). */
#define TRK_SLEEP_MAX    3600.0    /* longest single sleep (seconds) */
#define TRK_WAIT_SLICE   0.05      /* seconds between two looks at the host's limits */
void trk_host_sleep(lua_State *L, double seconds);

/* ---- JSON around cjson (json.c): bounded encoding, integers after decoding ---------------- */

/* lua-cjson 2.1 builds its text in a malloc'd buffer sized by an int that doubles: past about
   2 GiB it loops for ever. Every encode is therefore measured first: no text over this many
   bytes is ever made. */
#define TRK_JSON_MAX_TEXT  ((size_t)256 << 20)

/* Encodes the value at idx with fn, a lua-cjson encode (an instance whose encode_max_depth is
   max_depth and whose sparse-array settings are the defaults); pushes the text. Before cjson
   starts, a walk of the value (which polls the host's limits) bounds the text's size: over
   TRK_JSON_MAX_TEXT it raises an error naming the cap and `who`; over what the memory left can
   hold (the text, and twice it for cjson's buffer) the host's memory limit stops the run. While
   cjson works, its buffer is counted as the script's memory. */
int trk_json_encode(lua_State *L, int fn, int idx, int max_depth, const char *who);

/* The bound trk_json_encode checks: at least the length of the text cjson makes of the value at
   idx. Counting stops once past `stop` (the answer is then over stop, not the whole bound).
   Raises cjson's error for nesting over max_depth; polls the host's limits as it goes. */
size_t trk_json_size(lua_State *L, int idx, int max_depth, size_t stop);

/* JSON has one number type and cjson decodes each as a double: the integral ones in the value
   on top of the stack (a table, walked in place to max_depth levels, or a number, replaced)
   become Lua integers, 188077 and never 188077.0, when a double holds them exactly. */
void trk_json_integers(lua_State *L, int max_depth);

/* Pushes { encode =, decode =, null = } over a new private cjson instance, whose settings no one
   else shares: nesting to max_depth both ways and, when strict, no NaN or infinity either way and
   no buffer kept between encodes. encode and decode are C closures over the instance's own
   function (upvalue 1): they bound or check what cjson does (trk_json_encode, trk_json_integers). */
void trk_json_module(lua_State *L, int max_depth, int strict, lua_CFunction encode,
                     lua_CFunction decode);

/* ---- hashing (tracker.c) ------------------------------------------------------------------ */

/* FNV-1a, 64 bits: quick and stable, for keys (the client's idempotency keys, the emulator's
   kept answers), not for secrecy. */
uint64_t trk_fnv1a(const void *data, size_t n);

/* ---- the one error type ---------------------------------------------------- */

/* Opens the error metatable (idempotent) and leaves nothing on the stack. */
void trk_error_init(lua_State *L);

/* Pushes nil and an error value and returns 2: `return trk_error_result(L, ...)`. */
int trk_error_result(lua_State *L, const char *code, int status, const char *fmt, ...);

/* Lua functions registered in the module table. */
int trk_error_lnew(lua_State *L);      /* tracker.error{ code=, message=, status=, retryable= } */
int trk_error_lis(lua_State *L);       /* tracker.is_error(v) */

/* Adds the lazy-item functions (lazy.c) to the native table at the top of the stack, which
   holds decode and null already. */
void trk_lazy_open(lua_State *L);

#endif
