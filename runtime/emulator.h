/* trk emulator: the HTTP front, serving the emulator's model with libmicrohttpd. Its options
   are emuopts.h, the model emumodel.h, the --static answers emustatic.h. */
#ifndef TRK_EMULATOR_H
#define TRK_EMULATOR_H

/* Runs `trk emulator ARGS...`; argv starts after the word "emulator". Serves until SIGINT or
   SIGTERM, then returns TRK_EXIT_OK; TRK_EXIT_USAGE for a bad command line, TRK_EXIT_ERROR
   when the emulator cannot start. */
int trk_emulator_main(int argc, char **argv);

/* libmicrohttpd's version, loading it if need be; NULL when it cannot be loaded. */
const char *trk_emulator_http_version(void);

#ifdef TRK_FUZZ
/* The emulator without a socket, for the fuzz target (spec/fuzz/fuzz_emulator.c): open takes
   the arguments of `trk emulator` (not --data) and sets the model up as it does; request hands
   one request to the model as the HTTP front does and answers the status (0: dropped; -1: the
   model failed, and the front would answer 500) and the body, valid until the next request. */
#include <stddef.h>
#include <lua.h>
typedef struct trk_emulator trk_emulator;
trk_emulator *trk_emulator_open(int argc, char **argv);
lua_State *trk_emulator_state(trk_emulator *e);
int trk_emulator_request(trk_emulator *e, const char *method, const char *uri,
                         const char *const *headers, size_t nheaders, const char *body,
                         size_t len, const char **answer, size_t *answer_len);
void trk_emulator_close(trk_emulator *e);
#endif

#endif
