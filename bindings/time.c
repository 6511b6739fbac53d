/* tracker.time: ISO 8601 UTC instants and IANA time-zone conversion read from TZif files. */
/*
** - Instants are integer seconds since 1970-01-01T00:00:00Z without leap seconds, limited to
**   years 0000-9999 (TRK_TIME_MIN..TRK_TIME_MAX) so that they always print as four digits.
** - from_local, for wall-clock times that are not exactly one instant:
**     a time that occurs twice (DST fall-back) gives the EARLIER instant (the DST one);
**     a time that does not exist (spring-forward gap) is read with the offset in force
**     before the gap, so it lands after the transition: New York 02:30 -> 03:30 EDT.
** - Zones are TZif files under $TZDIR (default /usr/share/zoneinfo): the 64-bit block of
**   v2+ files, the 32-bit block of v1 files, and the footer's POSIX TZ string for instants
**   after the last transition. Each zone is parsed once into one userdata block (header and
**   arrays together) kept in a cache table that is the functions' upvalue: no C-heap memory
**   to leak on an error, and no state shared between lua_States.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "trk_time.h"

#define TIME_TZDIR          "/usr/share/zoneinfo"  /* zone directory unless TZDIR is set */
#define TIME_NAME_MAX       255          /* longest zone name accepted */
#define TIME_PATH_MAX       4096         /* longest TZDIR "/" name path */
#define TIME_TZIF_MAX       (1L << 20)   /* larger zone files are refused, not read */
#define TIME_OFFSET_MAX     (26 * 3600)  /* |UTC offset| must stay below (RFC 8536) */
#define TIME_RULE_HOURS_MAX 167          /* TZ-string rule times may reach 167:59:59 */
#define TIME_ECHO_MAX       64           /* bytes of bad input quoted in a message */
#define TIME_ISO_EXAMPLE    "2026-11-21T22:05:00Z"
#define TIME_LOCAL_EXAMPLE  "2026-11-21 17:05:00"

#define TIME_DAY  86400


/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ---------------------- */

static int64_t time_floordiv (int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int time_is_leap (int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int time_month_days (int64_t y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return days[m - 1] + (m == 2 && time_is_leap(y));
}

/* Counts years from March, so that the leap day is the last day of a year and the day of
   the year follows from the month by a linear formula; 400-year eras repeat exactly. */
static int64_t time_days_from_civil (int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = time_floordiv(y, 400);
  int64_t yoe = y - era * 400;                                    /* [0, 399] */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
  return era * 146097 + doe - 719468;    /* 719468: days from 0000-03-01 to 1970-01-01 */
}

static void time_civil_from_days (int64_t days, int64_t *y, int *m, int *d) {
  int64_t z = days + 719468;
  int64_t era = time_floordiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static char *time_digits (char *p, int64_t v, int n) {
  for (int i = n - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + n;
}

/* Writes t (within TRK_TIME_MIN..MAX) as "YYYY-MM-DD<sep>HH:MM:SS", 19 bytes, no NUL. */
static void time_write (int64_t t, char sep, char *out) {
  int64_t days = time_floordiv(t, TIME_DAY), secs = t - days * TIME_DAY, y;
  int m, d;
  time_civil_from_days(days, &y, &m, &d);
  out = time_digits(out, y, 4); *out++ = '-';
  out = time_digits(out, m, 2); *out++ = '-';
  out = time_digits(out, d, 2); *out++ = sep;
  out = time_digits(out, secs / 3600, 2); *out++ = ':';
  out = time_digits(out, secs / 60 % 60, 2); *out++ = ':';
  time_digits(out, secs % 60, 2);
}


/* ---- text ----------------------------------------------------------------------- */

/* Reads exactly n digits at *pos; -1 if they are not there. */
static int time_num (const char *s, size_t len, size_t *pos, int n) {
  int v = 0;
  if (len - *pos < (size_t)n) return -1;
  for (int i = 0; i < n; i++) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  *pos += (size_t)n;
  return v;
}

static int time_lit (const char *s, size_t len, size_t *pos, char c) {
  if (*pos < len && s[*pos] == c) {
    (*pos)++;
    return 1;
  }
  return 0;
}

/* Scans "YYYY-MM-DD[<sep>HH:MM:SS[.fraction]]" (sep any of seps) at the start of s into
   the seconds since 1970 of that reading taken as UTC. Returns the bytes used, 0 if none;
   10 means a bare date. Fractions are dropped: instants are whole seconds. */
static size_t time_scan (const char *s, size_t len, const char *seps, int64_t *secs) {
  size_t pos = 0;
  int y, mo, d, h = 0, mi = 0, se = 0;
  if ((y = time_num(s, len, &pos, 4)) < 0 || !time_lit(s, len, &pos, '-')
      || (mo = time_num(s, len, &pos, 2)) < 0 || !time_lit(s, len, &pos, '-')
      || (d = time_num(s, len, &pos, 2)) < 0
      || mo < 1 || mo > 12 || d < 1 || d > time_month_days(y, mo))
    return 0;
  if (pos < len && s[pos] != '\0' && strchr(seps, s[pos])) {
    pos++;
    if ((h = time_num(s, len, &pos, 2)) < 0 || !time_lit(s, len, &pos, ':')
        || (mi = time_num(s, len, &pos, 2)) < 0 || !time_lit(s, len, &pos, ':')
        || (se = time_num(s, len, &pos, 2)) < 0
        || h > 23 || mi > 59 || se > 59)   /* no 24:00, no leap second 60 */
      return 0;
    if (time_lit(s, len, &pos, '.')) {
      size_t digits = pos;
      while (pos < len && s[pos] >= '0' && s[pos] <= '9') pos++;
      if (pos == digits) return 0;
    }
  }
  *secs = time_days_from_civil(y, mo, d) * TIME_DAY + h * 3600 + mi * 60 + se;
  return pos;
}

int trk_time_local_iso (const char *s, size_t len, char out[19]) {
  int64_t t;
  if (len < 19 || time_scan(s, 19, "T ", &t) != 19) return 0;
  time_write(t, 'T', out);
  return 1;
}

static int time_parse_iso (const char *s, size_t len, int64_t *epoch) {
  int64_t t;
  size_t pos = time_scan(s, len, "T", &t);
  if (pos == 0) return 0;
  if (pos > 10 && !time_lit(s, len, &pos, 'Z')) {  /* a time needs its zone designator */
    int oh, om, west;
    if (pos >= len || (s[pos] != '+' && s[pos] != '-')) return 0;
    west = s[pos++] == '-';
    if ((oh = time_num(s, len, &pos, 2)) < 0) return 0;
    time_lit(s, len, &pos, ':');                     /* +HH:MM or +HHMM */
    if ((om = time_num(s, len, &pos, 2)) < 0 || oh > 23 || om > 59) return 0;
    t += (west ? 1 : -1) * (oh * 3600 + om * 60);
  }
  if (pos != len || t < TRK_TIME_MIN || t > TRK_TIME_MAX) return 0;
  *epoch = t;
  return 1;
}

int trk_time_parse_iso (const char *s, int64_t *epoch) {
  return s != NULL && time_parse_iso(s, strlen(s), epoch);
}

void trk_time_format_iso (int64_t epoch, char out[21]) {
  if (epoch < TRK_TIME_MIN) epoch = TRK_TIME_MIN;
  if (epoch > TRK_TIME_MAX) epoch = TRK_TIME_MAX;
  time_write(epoch, 'T', out);
  out[19] = 'Z';
  out[20] = '\0';
}

/* Pushes s for quoting in a message: at most TIME_ECHO_MAX bytes, "..." marking a cut. */
static const char *time_echo (lua_State *L, const char *s, size_t len) {
  if (len <= TIME_ECHO_MAX) return lua_pushlstring(L, s, len);
  lua_pushlstring(L, s, TIME_ECHO_MAX);
  lua_pushliteral(L, "...");
  lua_concat(L, 2);
  return lua_tostring(L, -1);
}

/* Returns nil, "<fname>: '<s>' is not <what> (expected e.g. <example>)". */
static int time_fail (lua_State *L, const char *fname, const char *s, size_t len,
                      const char *what, const char *example) {
  lua_pushnil(L);
  const char *echo = time_echo(L, s, len);
  lua_pushfstring(L, "%s: '%s' is not %s (expected e.g. %s)", fname, echo, what, example);
  lua_remove(L, -2);
  return 2;
}


/* ---- zones ------------------------------------------------------------------------ */

/* A TZ-string rule date: Jn (1-365, Feb 29 never counted), n (0-365) or Mm.w.d. */
typedef struct tz_date {
  char kind;            /* 'J', 'D' or 'M' */
  int a, b, c;          /* the day; or month, week (5 = last) and weekday (0 = Sunday) */
  int32_t time;         /* local time of day; may be negative or past 24h */
} tz_date;

/* The footer's TZ string: local time after the last transition. */
typedef struct tz_rule {
  int present;          /* 0: no footer (v1) or an empty one: the last type holds */
  int dst;              /* has a daylight-saving part, switched by start and end */
  int32_t std_off, dst_off;   /* seconds east of UTC */
  tz_date start, end;   /* start is in standard local time, end in daylight local time */
} tz_rule;

/* A parsed zone: one userdata holding this header and then the three arrays. */
typedef struct tz_zone {
  const int64_t *trans; /* transition instants, strictly ascending */
  const int32_t *offs;  /* UTC offset of each local time type */
  const uint8_t *types; /* type in force from each transition on */
  size_t ntrans, ntypes;
  tz_rule rule;
} tz_zone;

/* Why a zone is unusable; the first two read as "<why> '<name>'". */
static const char tz_badname[] = "invalid time zone name";
static const char tz_unknown[] = "unknown time zone";

/* The day (since 1970) on which rule date dt falls in year y. */
static int64_t tz_rule_day (const tz_date *dt, int64_t y) {
  int64_t jan1 = time_days_from_civil(y, 1, 1), first, day;
  int wday;
  switch (dt->kind) {
    case 'J': return jan1 + dt->a - 1 + (dt->a >= 60 && time_is_leap(y));
    case 'D': return jan1 + dt->a;
    default:
      first = time_days_from_civil(y, dt->a, 1);
      wday = (int)(first + 4 - 7 * time_floordiv(first + 4, 7));  /* 1970-01-01: Thursday */
      day = first + (dt->c - wday + 7) % 7 + 7 * (dt->b - 1);
      while (day - first >= time_month_days(y, dt->a)) day -= 7;   /* week 5: the last */
      return day;
  }
}

/* The TZ-string offset at t and the instants [from, until) it holds over. */
static void tz_rule_at (const tz_rule *r, int64_t t, int32_t *off, int64_t *from,
                        int64_t *until) {
  struct { int64_t at; int dst; } ev[6], tmp;
  int n = 0, i, j;
  int64_t y0, y;
  int m, d;
  *off = r->std_off;
  *from = INT64_MIN;
  *until = INT64_MAX;
  if (!r->dst) return;
  /* the switches of the years around t, each year's pair in its own order, so that a tie
     across a year boundary (all-year DST) resolves to the later year's switch */
  time_civil_from_days(time_floordiv(t, TIME_DAY), &y0, &m, &d);
  for (y = y0 - 1; y <= y0 + 1; y++) {
    int64_t s = tz_rule_day(&r->start, y) * TIME_DAY + r->start.time - r->std_off;
    int64_t e = tz_rule_day(&r->end, y) * TIME_DAY + r->end.time - r->dst_off;
    ev[n].at = s < e ? s : e;  ev[n++].dst = s < e;
    ev[n].at = s < e ? e : s;  ev[n++].dst = !(s < e);
  }
  for (i = 1; i < n; i++)   /* stable insertion sort */
    for (j = i; j > 0 && ev[j - 1].at > ev[j].at; j--) {
      tmp = ev[j]; ev[j] = ev[j - 1]; ev[j - 1] = tmp;
    }
  for (i = 0; i < n && ev[i].at <= t; i++) {
    *off = ev[i].dst ? r->dst_off : r->std_off;
    *from = ev[i].at;
  }
  if (i < n) *until = ev[i].at;
}

/* The zone's offset at t and the instants [from, until) it holds over. */
static void tz_at (const tz_zone *z, int64_t t, int32_t *off, int64_t *from, int64_t *until) {
  size_t n = z->ntrans, lo, hi;
  if (n == 0 || t >= z->trans[n - 1]) {
    if (z->rule.present) {
      tz_rule_at(&z->rule, t, off, from, until);
      if (n > 0 && *from < z->trans[n - 1]) *from = z->trans[n - 1];
    } else {
      *off = z->offs[n > 0 ? z->types[n - 1] : 0];
      *from = n > 0 ? z->trans[n - 1] : INT64_MIN;
      *until = INT64_MAX;
    }
    return;
  }
  if (t < z->trans[0]) {   /* RFC 8536: type 0 before the first transition */
    *off = z->offs[0];
    *from = INT64_MIN;
    *until = z->trans[0];
    return;
  }
  lo = 0;                  /* trans[lo] <= t < trans[hi] */
  hi = n - 1;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->trans[mid] <= t) lo = mid; else hi = mid;
  }
  *off = z->offs[z->types[lo]];
  *from = z->trans[lo];
  *until = z->trans[hi];
}

/* The instant whose local time in z reads l (seconds since 1970 of the reading taken as
   UTC). Walks the spans of constant offset that can hold the answer, oldest first, so the
   first hit is the earliest; with no hit, l fell into a gap: use the offset before it. */
static int64_t tz_from_local (const tz_zone *z, int64_t l) {
  int64_t t = l - TIME_OFFSET_MAX, from, until, cand;
  int32_t off, before = 0;
  int spans = 0;
  for (;;) {
    tz_at(z, t, &off, &from, &until);
    cand = l - off;
    if (cand >= from && cand < until) return cand;
    if (spans++ > 0 && l - before >= from && cand < from)
      return l - before;   /* jumped over: the gap between the last span and this one */
    if (until > l + TIME_OFFSET_MAX) break;
    t = until;
    before = off;
  }
  tz_at(z, l, &off, &from, &until);   /* unreachable with offsets below TIME_OFFSET_MAX */
  return l - off;
}


/* ---- TZ strings (the TZif footer) ------------------------------------------------- */

static int tz_isdigit (char c) { return c >= '0' && c <= '9'; }
static int tz_isalpha (char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Reads 1 to maxd digits; NULL if there are none. */
static const char *tz_num (const char *p, const char *e, int maxd, int *v) {
  int n = 0;
  for (*v = 0; p < e && n < maxd && tz_isdigit(*p); p++, n++)
    *v = *v * 10 + (*p - '0');
  return n > 0 ? p : NULL;
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits, '+' and '-'. */
static const char *tz_abbr (const char *p, const char *e) {
  const char *s = p;
  if (p < e && *p == '<') {
    for (p++; p < e && *p != '>'; p++)
      if (!tz_isalpha(*p) && !tz_isdigit(*p) && *p != '+' && *p != '-') return NULL;
    return (p < e && p - s >= 4) ? p + 1 : NULL;
  }
  while (p < e && tz_isalpha(*p)) p++;
  return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] in seconds, hours at most maxh. */
static const char *tz_hms (const char *p, const char *e, int maxh, int32_t *out) {
  int neg = 0, h, m = 0, s = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  if (!(p = tz_num(p, e, 3, &h)) || h > maxh) return NULL;
  if (p < e && *p == ':') {
    if (!(p = tz_num(p + 1, e, 2, &m)) || m > 59) return NULL;
    if (p < e && *p == ':' && (!(p = tz_num(p + 1, e, 2, &s)) || s > 59)) return NULL;
  }
  *out = (neg ? -1 : 1) * (h * 3600 + m * 60 + s);
  return p;
}

/* date[/time] */
static const char *tz_date_read (const char *p, const char *e, tz_date *dt) {
  dt->a = dt->b = dt->c = 0;
  dt->time = 2 * 3600;   /* POSIX default: 02:00 */
  if (p < e && *p == 'J') {
    dt->kind = 'J';
    if (!(p = tz_num(p + 1, e, 3, &dt->a)) || dt->a < 1 || dt->a > 365) return NULL;
  } else if (p < e && *p == 'M') {
    dt->kind = 'M';
    if (!(p = tz_num(p + 1, e, 2, &dt->a)) || dt->a < 1 || dt->a > 12
        || p >= e || *p != '.' || !(p = tz_num(p + 1, e, 1, &dt->b)) || dt->b < 1 || dt->b > 5
        || p >= e || *p != '.' || !(p = tz_num(p + 1, e, 1, &dt->c)) || dt->c > 6)
      return NULL;
  } else {
    dt->kind = 'D';
    if (!(p = tz_num(p, e, 3, &dt->a)) || dt->a > 365) return NULL;
  }
  if (p < e && *p == '/') p = tz_hms(p + 1, e, TIME_RULE_HOURS_MAX, &dt->time);
  return p;
}

/* std offset [dst [offset] ,start[/time],end[/time]]; an empty string means no rule. */
static int tz_rule_read (const char *p, size_t len, tz_rule *r) {
  const char *e = p + len;
  int32_t v;
  memset(r, 0, sizeof *r);
  if (len == 0) return 1;
  if (!(p = tz_abbr(p, e)) || !(p = tz_hms(p, e, 24, &v))) return 0;
  r->present = 1;
  r->std_off = -v;           /* POSIX counts hours west of UTC */
  if (p == e) return 1;
  if (!(p = tz_abbr(p, e))) return 0;
  r->dst = 1;
  r->dst_off = r->std_off + 3600;
  if (p < e && *p != ',') {
    if (!(p = tz_hms(p, e, 24, &v))) return 0;
    r->dst_off = -v;
  }
  /* zic always writes the rules; POSIX leaves their absence implementation-defined */
  if (p >= e || *p != ',' || !(p = tz_date_read(p + 1, e, &r->start))
      || p >= e || *p != ',' || !(p = tz_date_read(p + 1, e, &r->end)))
    return 0;
  return p == e;
}


/* ---- TZif files --------------------------------------------------------------------- */

static uint32_t tz_u32 (const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int32_t tz_i32 (const unsigned char *p) {
  uint32_t u = tz_u32(p);
  return u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static int64_t tz_i64 (const unsigned char *p) {
  uint64_t u = (uint64_t)tz_u32(p) << 32 | tz_u32(p + 4);
  return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* A TZif header's counts, and where its data block lies. */
typedef struct tz_head {
  uint32_t isut, isstd, leap, time, type, chars;
  size_t data, size;
} tz_head;

/* Reads the header at pos, for times of tsize bytes, checking its block fits the file. */
static const char *tz_head_read (const unsigned char *p, size_t n, size_t pos, int tsize,
                                 tz_head *h) {
  uint64_t size;
  if (n - pos < 44) return "truncated header";
  if (memcmp(p + pos, "TZif", 4) != 0) return "not a TZif file";
  h->isut = tz_u32(p + pos + 20);
  h->isstd = tz_u32(p + pos + 24);
  h->leap = tz_u32(p + pos + 28);
  h->time = tz_u32(p + pos + 32);
  h->type = tz_u32(p + pos + 36);
  h->chars = tz_u32(p + pos + 40);
  /* 64-bit sums of 32-bit counts cannot overflow */
  size = (uint64_t)h->time * (uint64_t)(tsize + 1) + (uint64_t)h->type * 6 + h->chars
       + (uint64_t)h->leap * (uint64_t)(tsize + 4) + h->isstd + h->isut;
  h->data = pos + 44;
  if (size > n - h->data) return "counts exceed the file size";
  h->size = (size_t)size;
  return NULL;
}

/* Parses the TZif image p[0..n) and pushes the zone userdata; or returns why not, having
   pushed nothing. */
static const char *tz_parse (lua_State *L, const unsigned char *p, size_t n) {
  tz_head h;
  const char *why, *footer = NULL;
  const unsigned char *d;
  size_t flen = 0, tsize = 4, i;
  if ((why = tz_head_read(p, n, 0, 4, &h))) return why;
  if (p[4] != 0 && p[4] < '2') return "unknown TZif version";
  if (p[4] != 0) {   /* v2+: skip the 32-bit block for the 64-bit one and its footer */
    if ((why = tz_head_read(p, n, h.data + h.size, 8, &h))) return why;
    tsize = 8;
    size_t f = h.data + h.size;
    const unsigned char *nl;
    if (n - f < 2 || p[f] != '\n' || !(nl = memchr(p + f + 1, '\n', n - f - 1)))
      return "missing footer";
    footer = (const char *)p + f + 1;
    flen = (size_t)(nl - (p + f + 1));
  }
  if (h.type == 0 || h.type > 256) return "bad count of local time types";
  if ((h.isut != 0 && h.isut != h.type) || (h.isstd != 0 && h.isstd != h.type))
    return "bad indicator counts";
  if (h.leap != 0) return "leap-second zones (right/...) are not supported";

  tz_zone *z = lua_newuserdatauv(L, sizeof(tz_zone) + h.time * sizeof(int64_t)
                                    + h.type * sizeof(int32_t) + h.time, 0);
  int64_t *trans = (int64_t *)(z + 1);
  int32_t *offs = (int32_t *)(trans + h.time);
  uint8_t *types = (uint8_t *)(offs + h.type);
  z->trans = trans;
  z->offs = offs;
  z->types = types;
  z->ntrans = h.time;
  z->ntypes = h.type;
  d = p + h.data;
  for (i = 0; i < h.time; i++, d += tsize) {
    trans[i] = tsize == 8 ? tz_i64(d) : tz_i32(d);
    if (i > 0 && trans[i] <= trans[i - 1]) why = "transitions out of order";
  }
  for (i = 0; i < h.time; i++, d++)
    if ((types[i] = *d) >= h.type) why = "bad local time type index";
  for (i = 0; i < h.type; i++, d += 6) {
    offs[i] = tz_i32(d);
    if (offs[i] <= -TIME_OFFSET_MAX || offs[i] >= TIME_OFFSET_MAX) why = "UTC offset out of range";
    if (d[4] > 1 || d[5] >= h.chars) why = "bad local time type";
  }
  if (!why && !tz_rule_read(footer, flen, &z->rule)) why = "bad TZ string in the footer";
  if (why) lua_pop(L, 1);
  return why;
}

/* Only [A-Za-z0-9_+-] segments between single slashes: no ".", "..", absolute paths. */
static int tz_name_ok (const char *s, size_t len) {
  size_t seg = 0, i;
  if (len == 0 || len > TIME_NAME_MAX) return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (c == '/') {
      if (seg == 0) return 0;
      seg = 0;
    } else if (tz_isalpha(c) || tz_isdigit(c) || c == '_' || c == '+' || c == '-') {
      seg++;
    } else {
      return 0;
    }
  }
  return seg > 0;
}

/* Reads zone name (already validated) and pushes it; or returns why not, pushing nothing.
   No Lua call runs while the file is open, so an error cannot leak the FILE. */
static const char *tz_load (lua_State *L, const char *name) {
  const char *dir = getenv("TZDIR"), *why;
  char path[TIME_PATH_MAX];
  struct stat st;
  unsigned char *buf;
  size_t n, got;
  FILE *f;
  int len;
  if (dir == NULL || *dir == '\0') dir = TIME_TZDIR;
  len = snprintf(path, sizeof path, "%s/%s", dir, name);
  if (len < 0 || (size_t)len >= sizeof path) return "path too long";
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return tz_unknown;
  if (st.st_size > TIME_TZIF_MAX) return "file too large";
  n = (size_t)st.st_size;
  buf = lua_newuserdatauv(L, n + 1, 0);   /* Lua owns the buffer; one more byte sees growth */
  if ((f = fopen(path, "rb")) == NULL) {
    lua_pop(L, 1);
    return "cannot open the file";
  }
  got = fread(buf, 1, n + 1, f);
  fclose(f);
  why = got != n ? "file changed while being read" : tz_parse(L, buf, n);
  lua_remove(L, why ? -1 : -2);   /* the buffer */
  return why;
}

/* Pushes the zone "UTC" for systems without tzdata. */
static void tz_push_utc (lua_State *L) {
  tz_zone *z = lua_newuserdatauv(L, sizeof(tz_zone) + sizeof(int32_t), 0);
  int32_t *offs = (int32_t *)(z + 1);
  memset(z, 0, sizeof *z);
  offs[0] = 0;
  z->offs = offs;
  z->ntypes = 1;
}

/* The zone named by argument arg, from the cache (upvalue 1) or loaded into it; NULL and
   why not otherwise. */
static const tz_zone *tz_get (lua_State *L, int arg, const char **why) {
  size_t len;
  const char *name = luaL_checklstring(L, arg, &len);
  const tz_zone *z;
  *why = NULL;
  if (!tz_name_ok(name, len)) {
    *why = tz_badname;
    return NULL;
  }
  if (lua_getfield(L, lua_upvalueindex(1), name) == LUA_TUSERDATA) {
    z = lua_touserdata(L, -1);
    lua_pop(L, 1);       /* the cache keeps it alive */
    return z;
  }
  lua_pop(L, 1);
  if ((*why = tz_load(L, name)) != NULL) {
    if (*why != tz_unknown || strcmp(name, "UTC") != 0) return NULL;
    *why = NULL;
    tz_push_utc(L);
  }
  z = lua_touserdata(L, -1);
  lua_setfield(L, lua_upvalueindex(1), name);
  return z;
}

/* Pushes "<fname>: <why> '<name>'" or "<fname>: time zone '<name>': <why>". */
static const char *tz_pushwhy (lua_State *L, const char *fname, int arg, const char *why) {
  size_t len;
  const char *name = lua_tolstring(L, arg, &len);
  const char *echo = time_echo(L, name, len);
  if (why == tz_badname || why == tz_unknown)
    lua_pushfstring(L, "%s: %s '%s'", fname, why, echo);
  else
    lua_pushfstring(L, "%s: time zone '%s': %s", fname, echo, why);
  lua_remove(L, -2);
  return lua_tostring(L, -1);
}

/* A zone argument: a bad one is a configuration mistake, so it raises. */
static const tz_zone *tz_check (lua_State *L, int arg, const char *fname) {
  const char *why;
  const tz_zone *z = tz_get(L, arg, &why);
  if (z == NULL) {
    luaL_where(L, 1);
    tz_pushwhy(L, fname, arg, why);
    lua_concat(L, 2);
    lua_error(L);
  }
  return z;
}


/* ---- the Lua functions ---------------------------------------------------------------- */

/* An instant argument: an integer, or a float with an integral value, in range. */
static int64_t time_checkepoch (lua_State *L, int arg) {
  int isint;
  lua_Integer t;
  if (lua_type(L, arg) != LUA_TNUMBER) luaL_typeerror(L, arg, "number");
  t = lua_tointegerx(L, arg, &isint);
  if (!isint) luaL_argerror(L, arg, "number has no integer representation");
  luaL_argcheck(L, t >= TRK_TIME_MIN && t <= TRK_TIME_MAX, arg,
                "instant out of range (years 0000-9999)");
  return (int64_t)t;
}

static int time_parse (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int64_t t;
  if (!time_parse_iso(s, len, &t))
    return time_fail(L, "time.parse", s, len, "an ISO 8601 time", TIME_ISO_EXAMPLE);
  lua_pushinteger(L, (lua_Integer)t);
  return 1;
}

static int time_format (lua_State *L) {
  char out[21];
  trk_time_format_iso(time_checkepoch(L, 1), out);
  lua_pushlstring(L, out, 20);
  return 1;
}

static int time_to_local (lua_State *L) {
  int64_t t = time_checkepoch(L, 1), from, until;
  const tz_zone *z = tz_check(L, 2, "time.to_local");
  int32_t off;
  char out[19];
  tz_at(z, t, &off, &from, &until);
  luaL_argcheck(L, t + off >= TRK_TIME_MIN && t + off <= TRK_TIME_MAX, 1,
                "local time out of range (years 0000-9999)");
  time_write(t + off, ' ', out);
  lua_pushlstring(L, out, sizeof out);
  return 1;
}

static int time_from_local (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const tz_zone *z = tz_check(L, 2, "time.from_local");
  int64_t l;
  size_t used = time_scan(s, len, "T ", &l);
  if (used == 0 || used != len)
    return time_fail(L, "time.from_local", s, len, "a local date and time", TIME_LOCAL_EXAMPLE);
  lua_pushinteger(L, (lua_Integer)tz_from_local(z, l));
  return 1;
}

static int time_offset (lua_State *L) {
  int64_t t = time_checkepoch(L, 1), from, until;
  const tz_zone *z = tz_check(L, 2, "time.offset");
  int32_t off;
  tz_at(z, t, &off, &from, &until);
  lua_pushinteger(L, off);
  return 1;
}

static int time_zone_valid (lua_State *L) {
  const char *why;
  if (tz_get(L, 1, &why) != NULL) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushnil(L);
  tz_pushwhy(L, "time.zone_valid", 1, why);
  return 2;
}

static const luaL_Reg time_funcs[] = {
  {"parse", time_parse},
  {"format", time_format},
  {"to_local", time_to_local},
  {"from_local", time_from_local},
  {"offset", time_offset},
  {"zone_valid", time_zone_valid},
  {NULL, NULL}
};

int trk_time_open (lua_State *L) {
  luaL_newlibtable(L, time_funcs);
  lua_newtable(L);                     /* zone cache: name -> zone userdata */
  luaL_setfuncs(L, time_funcs, 1);
  return 1;
}
