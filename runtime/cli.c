/* trk's command line: one typed option parser for every command (cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sandbox.h"
#include "trk_time.h"

/* ---- the values ------------------------------------------------------------------------------ */

int trk_cli_int (const char *s, long long min, long long max, long long *out) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (end == s || *end || errno || v < min || v > max) return 0;
  *out = v;
  return 1;
}

int trk_cli_size (const char *s, size_t *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno || v < 0) return 0;
  switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= 1024.0 * 1024.0; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024.0 * 1024.0; end++; break;
    default: break;
  }
  if (*end == 'i' && end[1] == 'B') end += 2;
  else if (*end == 'B') end++;
  if (*end != '\0' || v > 1e15) return 0;
  *out = (size_t)v;
  return 1;
}

int trk_cli_seconds (const char *s, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno) return 0;
  if (strcmp(end, "ms") == 0) v /= 1000.0;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) v *= 60.0;
  else if (strcmp(end, "h") == 0) v *= 3600.0;
  else if (strcmp(end, "s") != 0 && *end != '\0') return 0;
  *out = v;
  return 1;
}

/* ---- errors ------------------------------------------------------------------------------------ */

int trk_usage_error (const char *command, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "trk%s%s: ", command ? " " : "", command ? command : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun 'trk help%s%s' for usage.\n", command ? " " : "",
          command ? command : "");
  return TRK_EXIT_USAGE;
}

/* ---- did you mean ------------------------------------------------------------------------------ */

#define CLI_SUGGEST_LEN  64     /* names longer than this are not compared */

/* Levenshtein distance between a (alen bytes) and b, both at most CLI_SUGGEST_LEN. */
static size_t cli_distance (const char *a, size_t alen, const char *b, size_t blen) {
  size_t prev[CLI_SUGGEST_LEN + 1], cur[CLI_SUGGEST_LEN + 1];
  for (size_t j = 0; j <= blen; j++) prev[j] = j;
  for (size_t i = 1; i <= alen; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= blen; j++) {
      size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if (prev[j] + 1 < d) d = prev[j] + 1;
      if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
      cur[j] = d;
    }
    memcpy(prev, cur, (blen + 1) * sizeof *prev);
  }
  return prev[blen];
}

void trk_cli_closest (trk_cli_suggestion *s, const char *word, size_t len, const char *name) {
  size_t nlen = strlen(name), d;
  if (len > CLI_SUGGEST_LEN || nlen > CLI_SUGGEST_LEN) return;
  d = cli_distance(word, len, name, nlen);
  /* as the client's tracker.suggest: a name the word begins, or that begins the word, is close */
  if (len >= 3 && (strncmp(word, name, len < nlen ? len : nlen) == 0)) d = d < 1 ? d : 1;
  if (d <= (nlen / 3 > 2 ? nlen / 3 : 2) && (s->best == NULL || d < s->distance)) {
    s->distance = d;
    s->best = name;
  }
}

const char *trk_cli_did_you_mean (const trk_cli_suggestion *s, char *buf, size_t n) {
  if (s->best == NULL) return "";
  snprintf(buf, n, " (did you mean '%s'?)", s->best);
  return buf;
}

static int cli_oom (void) {
  fprintf(stderr, "trk: out of memory\n");
  return TRK_EXIT_ERROR;
}

/* ---- parsing ----------------------------------------------------------------------------------- */

/* The value of "--name value" or "--name=value"; NULL if argv[*i] is not that option, or if
   its value is missing (then *missing is set). Advances *i past what it consumed. */
static const char *cli_value (int argc, char **argv, int *i, const char *name, int *missing) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

static int cli_takes_value (const trk_opt *d) {
  return d->type != TRK_OPT_FLAG && d->type != TRK_OPT_LEVEL;
}

/* Checks v, the value of option k, and keeps it. Returns -1, or the exit code of the error
   reported. */
static int cli_take (trk_cli *c, int k, const char *v, int argc, void *ud) {
  const trk_opt *d = &c->opts[k];
  trk_optval *val = &c->vals[k];
  int ok = 1;
  switch (d->type) {
    case TRK_OPT_FLAG: break;
    case TRK_OPT_LEVEL:            /* one level: --quiet twice is fine, with --verbose not */
      for (int j = 0; c->opts[j].name; j++)
        if (j != k && c->opts[j].type == TRK_OPT_LEVEL && c->vals[j].given)
          return trk_usage_error(c->command, "give --quiet or --verbose, not both");
      v = d->name + 2;             /* "quiet" */
      break;
    case TRK_OPT_WORD:
      if (*v == '\0' && !(d->flags & TRK_OPT_EMPTY_OK))
        return trk_usage_error(c->command, "%s %s", d->name, d->bad ? d->bad : "needs a value");
      break;
    case TRK_OPT_LIST:
      if (*v == '\0' && !(d->flags & TRK_OPT_EMPTY_OK))
        return trk_usage_error(c->command, "%s %s", d->name, d->bad ? d->bad : "needs a value");
      if (val->list == NULL && (val->list = calloc((size_t)argc + 1, sizeof *val->list)) == NULL)
        return cli_oom();
      val->list[val->nlist++] = v;
      break;
    case TRK_OPT_COUNT: ok = trk_cli_int(v, d->min, d->max, &val->v.n); break;
    case TRK_OPT_SIZE: ok = trk_cli_size(v, &val->v.bytes); break;
    case TRK_OPT_DURATION:
      ok = trk_cli_seconds(v, &val->v.secs) && !(val->v.secs < 0)
           && !((d->flags & TRK_OPT_POSITIVE) && !(val->v.secs > 0));
      break;
    case TRK_OPT_TIME: ok = trk_time_parse_iso(v, &val->v.time); break;
    case TRK_OPT_CUSTOM:
      if ((ok = d->parse(v, ud)) < 0) return TRK_EXIT_USAGE;
      break;
  }
  if (!ok)
    return trk_usage_error(c->command, "%s: '%s' %s", d->name, v, d->bad ? d->bad : "is not valid");
  val->s = v;
  val->set = 1;
  return -1;
}

int trk_cli_parse (trk_cli *c, const char *command, const trk_opt *opts, int flags, int argc,
                   char **argv, void *ud) {
  int n = 0, code;
  memset(c, 0, sizeof *c);
  c->command = command;
  c->opts = opts;
  while (opts[n].name) n++;
  c->vals = calloc((size_t)n + 1, sizeof *c->vals);
  c->words = calloc((size_t)argc + 1, sizeof *c->words);
  c->rest = calloc((size_t)argc + 1, sizeof *c->rest);
  if (!c->vals || !c->words || !c->rest) return cli_oom();
  if (flags & TRK_CLI_PASS)
    for (int i = 0; i < argc; i++)
      if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return TRK_CLI_HELP;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    int k, missing = 0;
    if (!(flags & TRK_CLI_PASS)) {
      if (strcmp(a, "--") == 0) {
        c->dashes = 1;
        while (++i < argc) c->rest[c->nrest++] = argv[i];
        break;
      }
      if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return TRK_CLI_HELP;
    }
    for (k = 0; k < n; k++) {
      if (!cli_takes_value(&opts[k])) {
        if (strcmp(a, opts[k].name) == 0) break;
      }
      else if ((v = cli_value(argc, argv, &i, opts[k].name, &missing)) != NULL || missing)
        break;
    }
    if (k == n) {
      if (flags & TRK_CLI_PASS) c->rest[c->nrest++] = argv[i];
      else if (a[0] == '-' && a[1] != '\0') {  /* the name only: a mistyped --apikey=SECRET stays secret */
        trk_cli_suggestion s = {0};
        char hint[CLI_SUGGEST_LEN + 32];
        int len = (int)strcspn(a, "=");
        for (k = 0; k < n; k++) trk_cli_closest(&s, a, (size_t)len, opts[k].name);
        trk_cli_closest(&s, a, (size_t)len, "--help");
        return trk_usage_error(command, "unknown option '%.*s'%s", len, a,
                               trk_cli_did_you_mean(&s, hint, sizeof hint));
      }
      else c->words[c->nwords++] = a;
      continue;
    }
    if (missing) return trk_usage_error(command, "%s needs a value", opts[k].name);
    if ((code = cli_take(c, k, v, argc, ud)) >= 0) return code;
    c->vals[k].given = 1;
  }
  for (int k = 0; k < n; k++)
    if (!c->vals[k].set && opts[k].dflt && (code = cli_take(c, k, opts[k].dflt, 1, ud)) >= 0)
      return code;
  return -1;
}

void trk_cli_free (trk_cli *c) {
  for (int k = 0; c->vals && c->opts[k].name; k++) free(c->vals[k].list);
  free(c->vals);
  free(c->words);
  free(c->rest);
  c->vals = NULL;
  c->words = NULL;
  c->rest = NULL;
}

const trk_optval *trk_cli_get (const trk_cli *c, const char *name) {
  for (int k = 0; c->opts[k].name; k++)
    if (strcmp(c->opts[k].name, name) == 0) return c->vals[k].set ? &c->vals[k] : NULL;
  return NULL;
}

int trk_cli_set (trk_cli *c, const char *key, const char *value) {
  if (c->nextra == 2 * TRK_CLI_EXTRA) return 0;
  c->extra[c->nextra++] = key;
  c->extra[c->nextra++] = value;
  return 1;
}

/* ---- the driver's opts ------------------------------------------------------------------------- */

static void cli_push_value (lua_State *L, const trk_opt *d, const trk_optval *val) {
  switch (d->type) {
    case TRK_OPT_FLAG: lua_pushboolean(L, 1); break;
    case TRK_OPT_LIST:
      lua_createtable(L, val->nlist, 0);
      for (int i = 0; i < val->nlist; i++) {
        lua_pushstring(L, val->list[i]);
        lua_rawseti(L, -2, i + 1);
      }
      break;
    case TRK_OPT_COUNT: lua_pushinteger(L, (lua_Integer)val->v.n); break;
    case TRK_OPT_SIZE: lua_pushinteger(L, (lua_Integer)val->v.bytes); break;
    case TRK_OPT_DURATION: lua_pushnumber(L, (lua_Number)val->v.secs); break;
    case TRK_OPT_TIME: lua_pushinteger(L, (lua_Integer)val->v.time); break;
    default: lua_pushstring(L, val->s); break;   /* a word, a level, a custom value's text */
  }
}

void trk_cli_push (lua_State *L, const trk_cli *c) {
  lua_newtable(L);
  for (int k = 0; c->opts[k].name; k++) {
    if (c->opts[k].key == NULL || !c->vals[k].set) continue;
    cli_push_value(L, &c->opts[k], &c->vals[k]);
    lua_setfield(L, -2, c->opts[k].key);
  }
  for (int i = 0; i + 1 < c->nextra; i += 2) {
    lua_pushstring(L, c->extra[i + 1]);
    lua_setfield(L, -2, c->extra[i]);
  }
  lua_createtable(L, c->nrest, 0);
  for (int i = 0; i < c->nrest; i++) {
    lua_pushstring(L, c->rest[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "args");
}
