/* Command-line helpers shared by trk's commands: options and the values they take. */
#ifndef TRK_CLI_H
#define TRK_CLI_H

#include <stddef.h>

/* The value of "--name value" or "--name=value"; NULL if argv[*i] is not that option, or if
   its value is missing (then *missing is set). Advances *i past what it consumed. */
const char *trk_cli_opt(int argc, char **argv, int *i, const char *name, int *missing);

/* "256M", "1G", "4096": bytes. Returns 1, or 0 for anything else. */
int trk_cli_size(const char *s, size_t *out);

/* "300", "1.5s", "250ms", "5m", "1h": seconds, not negative. */
int trk_cli_duration(const char *s, double *out);

/* A whole number in [min, max], nothing else. */
int trk_cli_int(const char *s, long long min, long long max, long long *out);

#endif
