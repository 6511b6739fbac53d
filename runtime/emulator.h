/* trk emulator: the emulator's HTTP front, serving tracker.emulator with libmicrohttpd. */
#ifndef TRK_EMULATOR_H
#define TRK_EMULATOR_H

/* Runs `trk emulator ARGS...`; argv starts after the word "emulator". Serves until SIGINT or
   SIGTERM, then returns TRK_EXIT_OK; TRK_EXIT_USAGE for a bad command line, TRK_EXIT_ERROR
   when the emulator cannot start. */
int trk_emulator_main(int argc, char **argv);

/* The text of `trk help emulator`. */
extern const char trk_emulator_usage[];

#endif
