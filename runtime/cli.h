/* trk's command line: one typed option parser for every command. */
/*
** A command describes its options in a table of trk_opt. The parser checks each value once,
** as it meets it, and keeps it typed: C reads the values it needs (the sandbox's limits and
** grants, the emulator's settings) with trk_cli_get, and a command's Lua driver gets the rest
** as its opts table (trk_cli_push): a flag as true, a count or a size as an integer, a
** duration as seconds, a time as seconds since 1970, a word or path as a string.
*/
#ifndef TRK_CLI_H
#define TRK_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

typedef enum trk_opt_type {
  TRK_OPT_FLAG,       /* --apply: true when given */
  TRK_OPT_WORD,       /* --state FILE: a string, not empty unless TRK_OPT_EMPTY_OK */
  TRK_OPT_LIST,       /* --input FILE, repeatable: every string given, in order */
  TRK_OPT_COUNT,      /* --concurrency N: a whole number in [min, max] */
  TRK_OPT_SIZE,       /* --max-memory SIZE: bytes, "256M" */
  TRK_OPT_DURATION,   /* --deadline DURATION: seconds, "90s", not negative */
  TRK_OPT_TIME,       /* --since TIME: ISO 8601 with a zone, as seconds since 1970 */
  TRK_OPT_LEVEL,      /* --quiet, --verbose: the output level, "quiet" or "verbose" */
  TRK_OPT_CUSTOM      /* the option's own parse reads the value */
} trk_opt_type;

#define TRK_OPT_EMPTY_OK   1   /* a WORD or LIST may be "" */
#define TRK_OPT_POSITIVE   2   /* a DURATION must be over 0 */

typedef struct trk_opt {
  const char *name;   /* "--concurrency" */
  trk_opt_type type;
  const char *key;    /* its field in the driver's opts ("concurrency"); NULL: read in C only */
  /* Why a value is refused, after "--name: 'VALUE' " ("is not a positive whole number
     (example: --concurrency 4)"); for a WORD, why "" is, after "--name " (NULL: "needs a
     value"). */
  const char *bad;
  long long min, max; /* a COUNT's range */
  int flags;          /* TRK_OPT_EMPTY_OK, TRK_OPT_POSITIVE */
  const char *dflt;   /* the value when the option is not given, as it would be written */
  /* CUSTOM: reads the value into ud (trk_cli_parse's); 1, or 0 to refuse it with `bad`, or
     -1 when it has reported a usage error itself. */
  int (*parse)(const char *value, void *ud);
} trk_opt;

/* An option's value: set when given (or defaulted); the text as written in s. */
typedef struct trk_optval {
  int set, given;               /* given: on the command line, not from the default */
  const char *s;                /* the text; a WORD's and a LEVEL's value */
  union {
    long long n;                /* COUNT */
    size_t bytes;               /* SIZE */
    double secs;                /* DURATION */
    int64_t time;               /* TIME */
  } v;
  const char **list;            /* LIST: nlist strings */
  int nlist;
} trk_optval;

#define TRK_CLI_EXTRA  8        /* named strings a command may add for its driver */

/* A parsed command line. */
typedef struct trk_cli {
  const char *command;          /* "run", for messages */
  const trk_opt *opts;          /* the table, ended by a NULL name */
  trk_optval *vals;             /* one per option */
  const char **words;           /* positional words, in order */
  int nwords;
  char **rest;                  /* after "--"; for TRK_CLI_PASS, all the table does not know */
  int nrest;
  int dashes;                   /* "--" was given (rest may still be empty) */
  const char *extra[2 * TRK_CLI_EXTRA];   /* name, value, ...: see trk_cli_set */
  int nextra;
} trk_cli;

#define TRK_CLI_PASS  1         /* what the table does not know goes to rest, in order, and
                                   -h or --help anywhere asks for help (trk test, trk init) */
#define TRK_CLI_HELP  (-2)      /* trk_cli_parse: -h or --help was given */

/* Parses argv, the words after the command's name, against opts. Returns -1 when all is well;
   TRK_CLI_HELP for -h or --help; else an exit code, having reported the usage error
   (TRK_EXIT_USAGE) or running out of memory (TRK_EXIT_ERROR). ud goes to every CUSTOM
   option's parse. Whatever it returns, c is freed with trk_cli_free. */
int trk_cli_parse(trk_cli *c, const char *command, const trk_opt *opts, int flags, int argc,
                  char **argv, void *ud);
void trk_cli_free(trk_cli *c);

/* The value of the option called name ("--max-memory"), or NULL when it is not set. */
const trk_optval *trk_cli_get(const trk_cli *c, const char *name);

/* Adds a string the driver finds as opts[key] ("script", "exe"): 1, or 0 when full. */
int trk_cli_set(trk_cli *c, const char *key, const char *value);

/* Pushes the driver's opts: every option with a key that is set, typed; the added strings;
   and `args`, the list of rest. */
void trk_cli_push(lua_State *L, const trk_cli *c);

/* "Did you mean": the closest of the names offered, one at a time, to a mistyped word. */
typedef struct trk_cli_suggestion {
  const char *best;             /* the closest name close enough, or NULL */
  size_t distance;
} trk_cli_suggestion;

/* Offers name as a correction of word (its first len bytes); start from a zeroed s. */
void trk_cli_closest(trk_cli_suggestion *s, const char *word, size_t len, const char *name);

/* " (did you mean 'NAME'?)" in buf (n bytes), or "" when no name was close. */
const char *trk_cli_did_you_mean(const trk_cli_suggestion *s, char *buf, size_t n);

/* "trk COMMAND: MESSAGE" and where to find the usage, on stderr; returns TRK_EXIT_USAGE. */
int trk_usage_error(const char *command, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* ---- the values, for CUSTOM options ---------------------------------------------------------- */

/* A whole number in [min, max], nothing else. */
int trk_cli_int(const char *s, long long min, long long max, long long *out);

/* "256M", "1G", "4096": bytes. Returns 1, or 0 for anything else. */
int trk_cli_size(const char *s, size_t *out);

/* "300", "1.5s", "250ms", "5m", "1h", "-90s": seconds, either sign (callers check the range).
   Returns 1, or 0 for anything else. */
int trk_cli_seconds(const char *s, double *out);

#endif
