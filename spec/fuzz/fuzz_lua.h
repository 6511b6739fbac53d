/* Shared by the fuzz targets: Lua coverage for libFuzzer, and the Lua drivers. */
#ifndef TRK_FUZZ_LUA_H
#define TRK_FUZZ_LUA_H

#include <stddef.h>

#include <lua.h>

/* Turns on Lua coverage for L (and the coroutines it makes from now on): every line Lua runs
   feeds libFuzzer's extra counters, so the fuzzer steers by the Lua code it reaches, not only
   by the C code. */
void fuzz_cover(lua_State *L);

/* Loads the driver spec/fuzz/drivers/NAME.lua (from the source tree) and runs its chunk, which returns the function
   that takes one input; leaves that function in the registry for fuzz_run. With env != 0, the
   chunk's _ENV is the table at that index (a sandbox's script environment). Aborts when the
   driver cannot be loaded. */
void fuzz_driver(lua_State *L, const char *name, int env);

/* Calls the driver with the input (and extra, when not NULL). The driver returns nothing, or
   a message when it found a bug: then, as for an error escaping the driver, this prints it and
   aborts, so that libFuzzer saves the input. A memory error is not a bug: it returns. */
void fuzz_run(lua_State *L, const char *data, size_t size, const char *extra);

/* Aborts with a message, the way a target reports a bug to libFuzzer. */
void fuzz_bug(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
