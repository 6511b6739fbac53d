/* Command-line helpers shared by trk's commands: options and the values they take. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *trk_cli_opt (int argc, char **argv, int *i, const char *name, int *missing) {
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

int trk_cli_duration (const char *s, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno || v < 0) return 0;
  if (strcmp(end, "ms") == 0) v /= 1000.0;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) v *= 60.0;
  else if (strcmp(end, "h") == 0) v *= 3600.0;
  else if (strcmp(end, "s") != 0 && *end != '\0') return 0;
  *out = v;
  return 1;
}
