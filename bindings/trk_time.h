/* tracker.time: ISO 8601 UTC instants and IANA time-zone conversion, for Lua and for C. */

#ifndef TRK_TIME_H
#define TRK_TIME_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

/* The instants trk handles: those that print with a four-digit year,
   0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as seconds since 1970 without leap seconds. */
#define TRK_TIME_MIN  (-62167219200LL)
#define TRK_TIME_MAX  253402300799LL

/* Pushes the `time` table: parse, format, to_local, from_local, offset, zone_valid. */
int trk_time_open(lua_State *L);

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|+HHMM)" or "YYYY-MM-DD" (midnight UTC) into
   *epoch; fractions are dropped. Returns 1, or 0 for anything else (*epoch untouched). */
int trk_time_parse_iso(const char *s, int64_t *epoch);

/* The date and time that s starts with, "YYYY-MM-DD HH:MM:SS" (or with a T: a naive local
   time, as Tracker sends them), written "YYYY-MM-DDTHH:MM:SS" into out (no NUL). Returns 1, or
   0 when s does not start with a valid one. */
int trk_time_local_iso(const char *s, size_t len, char out[19]);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" and a NUL. Instants outside TRK_TIME_MIN..TRK_TIME_MAX
   are clamped to that range: check first if that matters. */
void trk_time_format_iso(int64_t epoch, char out[21]);

#endif
