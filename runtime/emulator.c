/* trk emulator: the HTTP front, serving the emulator's model (emumodel.h) with libmicrohttpd. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lauxlib.h>
#include <microhttpd.h>

#include "dynlib.h"
#include "emulator.h"
#include "emumodel.h"
#include "emuopts.h"
#include "emustatic.h"
#include "sandbox.h"

/* ---- defaults ---------------------------------------------------------------------------- */

#define EMU_MAX_BODY          ((size_t)32 << 20)   /* larger request bodies answer 413 */
#define EMU_MAX_CONNECTIONS   1000         /* one thread each */
#define EMU_IDLE_TIMEOUT      60           /* seconds before an idle connection is closed */
#define EMU_CONN_MEMORY       ((size_t)64 << 10)   /* request line and headers must fit */
#define EMU_SLEEP_SLICE_MS    50           /* how often a latency wait looks for a shutdown */
#define EMU_LOG_PATH_MAX      160          /* characters of a path in --verbose lines */

/* What a client of the emulator sets (the names tracker.connect reads). */
#define EMU_ENV_WIDGET_URL    "TRACKER_WIDGET_URL"
#define EMU_ENV_REST_URL      "TRACKER_REST_URL"
#define EMU_ENV_APIKEY        "TRACKER_APIKEY"
#define EMU_ENV_USERNAME      "TRACKER_USERNAME"
#define EMU_ENV_API_TOKEN     "TRACKER_API_TOKEN"
#define EMU_GIVEN_ALL  (TRK_EMU_GIVEN_APIKEY | TRK_EMU_GIVEN_USERNAME | TRK_EMU_GIVEN_API_TOKEN)

/* ---- libmicrohttpd, loaded on first use ------------------------------------------------ */

/* libmicrohttpd is opened when an emulator starts, not linked: loading it and the TLS
   libraries it brings (GnuTLS, p11-kit) costs every trk start about 2 ms, though only
   `trk emulator` serves HTTP. Its functions are called through emu_mhd, whose pointers have
   the library's own prototypes; set once (trk_dynlib_ready), never unloaded. */
#define EMU_LIBMHD  "libmicrohttpd.so.12"
#define EMU_MHD_FUNCS(X) \
  X(create_response_from_buffer) X(create_response_from_callback) X(add_response_header) \
  X(queue_response) X(destroy_response) X(get_connection_values) \
  X(lookup_connection_value) X(start_daemon) X(stop_daemon) X(get_version)

static struct {
#define EMU_MHD_FIELD(name)  __typeof__(MHD_##name) *name;
  EMU_MHD_FUNCS(EMU_MHD_FIELD)
#undef EMU_MHD_FIELD
} emu_mhd;

#define EMU_MHD_SYM(name)  {"MHD_" #name, &emu_mhd.name},
static const trk_dynsym emu_mhd_syms[] = {EMU_MHD_FUNCS(EMU_MHD_SYM) {NULL, NULL}};
#undef EMU_MHD_SYM

static trk_dynlib emu_libmhd = TRK_DYNLIB(EMU_LIBMHD, emu_mhd_syms, NULL);

/* Loads libmicrohttpd once; NULL when ready, else why not. */
static const char *emu_mhd_ready (void) {
  return trk_dynlib_ready(&emu_libmhd);
}

const char *trk_emulator_http_version (void) {
  return emu_mhd_ready() == NULL ? emu_mhd.get_version() : NULL;
}


/* ---- the server's state ---------------------------------------------------------------- */

typedef struct emu_server {
  trk_emu_model model;
  pthread_mutex_t lock;            /* one thread at a time in the model */
  int verbose;
  atomic_ullong requests;          /* for trace ids */
  atomic_int stopping;             /* set on SIGINT or SIGTERM: latency waits end early */
  trk_emu_static st;               /* --static */
  int latency_min, latency_max;    /* --latency, applied by the front on a kept answer */
  atomic_uint dice;                /* for a latency range */
} emu_server;

/* One request, from its request line to its completion. */
typedef struct emu_request {
  char *uri;                       /* the target as sent, query string included */
  char *body;
  size_t len, cap;
  int started;                     /* the access handler has seen the headers */
  int refused;                     /* 400, 413 or 500 before the model saw it */
  double t0;                       /* when the request line arrived */
} emu_request;

static double emu_now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits ms milliseconds, or less once the server is stopping. */
static void emu_sleep_ms (const emu_server *srv, int ms) {
  while (ms > 0 && !atomic_load(&srv->stopping)) {
    int slice = ms < EMU_SLEEP_SLICE_MS ? ms : EMU_SLEEP_SLICE_MS;
    struct timespec ts = {0, (long)slice * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    ms -= slice;
  }
}

/* ---- the log ----------------------------------------------------------------------------- */

/* One line per request: method, path (no query string: it may hold credentials), status,
   bytes of body sent, and time. Nothing a client sent besides the method and path. */
static void emu_log (const emu_server *srv, const char *method, const emu_request *r,
                     int status, size_t bytes, const char *note) {
  char path[EMU_LOG_PATH_MAX + 4], meth[20], line[EMU_LOG_PATH_MAX + 128];
  size_t i;
  const char *u = r && r->uri ? r->uri : "";
  if (!srv->verbose) return;
  for (i = 0; u[i] && u[i] != '?' && u[i] != '#' && i < EMU_LOG_PATH_MAX; i++)
    path[i] = isprint((unsigned char)u[i]) && u[i] != ' ' ? u[i] : '?';
  if (u[i] && u[i] != '?' && u[i] != '#') path[i++] = '.', path[i++] = '.', path[i++] = '.';
  path[i] = '\0';
  for (i = 0; method[i] && i < sizeof meth - 1; i++)
    meth[i] = isprint((unsigned char)method[i]) && method[i] != ' ' ? method[i] : '?';
  meth[i] = '\0';
  snprintf(line, sizeof line, "%s %s %d %zu %.1fms%s%s\n", meth, path, status, bytes,
           r ? (emu_now() - r->t0) * 1000.0 : 0.0, note ? " " : "", note ? note : "");
  fputs(line, stderr);
}

/* ---- answers the front makes itself ------------------------------------------------------- */

/* An RFC 7807 problem, as Tracker's REST API answers errors; detail (a constant without
   quotes or backslashes) may be NULL. */
static enum MHD_Result emu_problem (emu_server *srv, struct MHD_Connection *conn,
                                    const char *method, emu_request *r, unsigned status,
                                    const char *title, const char *detail) {
  char body[512];
  struct MHD_Response *resp;
  enum MHD_Result ret;
  int n = snprintf(body, sizeof body, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%u,"
                   "%s%s%s\"traceId\":\"emulator-%llu\"}", title, status,
                   detail ? "\"detail\":\"" : "", detail ? detail : "", detail ? "\"," : "",
                   (unsigned long long)atomic_fetch_add(&srv->requests, 1));
  resp = emu_mhd.create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  emu_mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
  ret = emu_mhd.queue_response(conn, status, resp);
  emu_mhd.destroy_response(resp);
  emu_log(srv, method, r, (int)status, (size_t)n, NULL);
  return ret;
}

/* A truncated body: the response declares the whole length, the reader delivers what the
   model left and then fails, so the connection closes mid-body. */
typedef struct emu_partial {
  size_t len;
  char data[];
} emu_partial;

static ssize_t emu_partial_read (void *cls, uint64_t pos, char *buf, size_t max) {
  emu_partial *p = cls;
  size_t n;
  if (pos >= p->len) return MHD_CONTENT_READER_END_WITH_ERROR;
  n = p->len - (size_t)pos;
  if (n > max) n = max;
  memcpy(buf, p->data + pos, n);
  return (ssize_t)n;
}

/* ---- the model's headers ---------------------------------------------------------------- */

/* "retry-after" -> "Retry-After", "www-authenticate" -> "WWW-Authenticate", as servers
   usually spell header names. */
static void emu_header_case (char *dst, size_t size, const char *src) {
  size_t i;
  int up = 1;
  for (i = 0; src[i] && i < size - 1; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (up && strncasecmp(src + i, "www-", 4) == 0) up = 3;     /* the whole word */
    dst[i] = (char)(up ? toupper(ch) : tolower(ch));
    up = ch == '-' ? 1 : up > 1 ? up - 1 : 0;
  }
  dst[i] = '\0';
}

/* Adds the model's headers, the list { name, value, name, value, ... } at index idx, to resp,
   each name in the usual case; a name too long for any real header is left out. */
static void emu_add_headers (struct MHD_Response *resp, lua_State *L, int idx) {
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, idx); resp && i < n; i += 2) {
    char name[256];
    size_t namelen;
    lua_rawgeti(L, idx, i);
    lua_rawgeti(L, idx, i + 1);
    lua_tolstring(L, -2, &namelen);
    if (namelen < sizeof name) {
      emu_header_case(name, sizeof name, lua_tostring(L, -2));
      emu_mhd.add_response_header(resp, name, lua_tostring(L, -1));  /* refuses CR and LF */
    }
    lua_pop(L, 2);
  }
}

static enum MHD_Result emu_collect_header (void *cls, enum MHD_ValueKind kind,
                                           const char *name, const char *value) {
  trk_emu_fields *h = cls;
  (void)kind;
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    trk_emu_field *v = realloc(h->v, cap * sizeof *v);
    if (v == NULL) {
      h->oom = 1;
      return MHD_NO;
    }
    h->v = v;
    h->cap = cap;
  }
  h->v[h->n].name = name;
  h->v[h->n].value = value ? value : "";
  h->n++;
  return MHD_YES;
}

/* ---- --static: a kept answer ------------------------------------------------------------- */

/* Sends a kept answer: no Lua, the body sent from where it is kept. */
static enum MHD_Result emu_static_send (emu_server *srv, struct MHD_Connection *conn,
                                        const char *method, emu_request *r,
                                        const trk_emu_kept *k) {
  struct MHD_Response *resp;
  enum MHD_Result ret;
  const char *hp = k->headers;
  int delay = srv->latency_min;
  if (srv->latency_max > srv->latency_min) {
    unsigned x = atomic_fetch_add(&srv->dice, 2654435761u) * 2246822519u;
    delay += (int)((x >> 8) % (unsigned)(srv->latency_max - srv->latency_min + 1));
  }
  resp = emu_mhd.create_response_from_buffer(k->len, k->body, MHD_RESPMEM_PERSISTENT);
  if (resp == NULL) return MHD_NO;
  for (size_t i = 0; i < k->nheaders; i++) {
    char name[256];
    const char *value = hp + strlen(hp) + 1;
    if (strlen(hp) < sizeof name) {
      emu_header_case(name, sizeof name, hp);
      emu_mhd.add_response_header(resp, name, value);
    }
    hp = value + strlen(value) + 1;
  }
  if (delay > 0) emu_sleep_ms(srv, delay);
  ret = emu_mhd.queue_response(conn, 200, resp);
  emu_mhd.destroy_response(resp);
  atomic_fetch_add(&srv->st.hits, 1);
  emu_log(srv, method, r, 200, k->len, "(static)");
  return ret;
}

/* Hands a complete request to the model and sends what it answers. */
static enum MHD_Result emu_answer (emu_server *srv, struct MHD_Connection *conn,
                                   const char *method, emu_request *r) {
  lua_State *L = srv->model.L;
  trk_emu_fields headers = {NULL, 0, 0, 0};
  trk_emu_answer a;
  struct MHD_Response *resp = NULL;
  enum MHD_Result ret;
  size_t sent = 0;
  trk_emu_key key;
  int keep = 0;

  memset(&key, 0, sizeof key);
  if (srv->st.on && trk_emu_static_key(method, r->uri, r->body, r->len, &key)) {
    const trk_emu_kept *k;
    if ((k = trk_emu_static_find(&srv->st, &key)) != NULL) {
      free(key.text.p);
      return emu_static_send(srv, conn, method, r, k);
    }
    atomic_fetch_add(&srv->st.misses, 1);
    keep = 1;
  }
  emu_mhd.get_connection_values(conn, MHD_HEADER_KIND, emu_collect_header, &headers);
  if (headers.oom) {
    free(headers.v);
    free(key.text.p);
    return emu_problem(srv, conn, method, r, 500, "Internal Server Error", NULL);
  }

  pthread_mutex_lock(&srv->lock);
  if (!trk_emu_model_handle(&srv->model, method, r->uri, &headers, r->body, r->len, &a)) {
    pthread_mutex_unlock(&srv->lock);
    free(headers.v);
    free(key.text.p);
    return emu_problem(srv, conn, method, r, 500, "Internal Server Error", NULL);
  }
  if (a.fault != TRK_EMU_FAULT_DROP) {
    if (a.fault == TRK_EMU_FAULT_TRUNCATE) {
      /* the model cut the body already: announce the whole length (at least one byte more
         than is sent), send what there is, and close */
      emu_partial *p = malloc(sizeof *p + a.len + 1);
      if (p != NULL) {
        p->len = sent = a.len;
        memcpy(p->data, a.body, a.len);
        resp = emu_mhd.create_response_from_callback(a.full > (lua_Integer)a.len
                                                       ? (uint64_t)a.full : (uint64_t)a.len + 1,
                                                     4096, emu_partial_read, p, free);
        if (resp == NULL) free(p);
      }
    }
    else {
      sent = a.len;
      resp = emu_mhd.create_response_from_buffer(a.len, (void *)a.body, MHD_RESPMEM_MUST_COPY);
      if (keep && a.status == 200 && a.fault == TRK_EMU_FAULT_NONE)
        trk_emu_static_keep(&srv->st, &key, L, a.headers, a.body, a.len);
    }
    emu_add_headers(resp, L, a.headers);
  }
  lua_settop(L, 0);
  pthread_mutex_unlock(&srv->lock);
  free(headers.v);
  free(key.text.p);

  emu_sleep_ms(srv, a.delay);                     /* outside the lock: others go on meanwhile */
  if (a.fault == TRK_EMU_FAULT_DROP) {
    emu_log(srv, method, r, 0, 0, "(dropped)");
    return MHD_NO;                           /* closes the connection without an answer */
  }
  if (resp == NULL) return MHD_NO;
  ret = emu_mhd.queue_response(conn, (unsigned)a.status, resp);
  emu_mhd.destroy_response(resp);
  emu_log(srv, method, r, a.status, sent,
          a.fault == TRK_EMU_FAULT_TRUNCATE ? "(truncated)" :
          a.fault == TRK_EMU_FAULT_MALFORMED ? "(malformed)" : NULL);
  return ret;
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------- */

/* Called with the request line, before anything is parsed: keeps the target as sent. */
static void *emu_begin (void *cls, const char *uri, struct MHD_Connection *conn) {
  emu_request *r = calloc(1, sizeof *r);
  (void)cls;
  (void)conn;
  if (r == NULL) return NULL;
  r->t0 = emu_now();
  r->uri = strdup(uri ? uri : "");
  if (r->uri == NULL) {
    free(r);
    return NULL;
  }
  return r;
}

static void emu_end (void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe) {
  emu_request *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (r == NULL) return;
  free(r->uri);
  free(r->body);
  free(r);
  *con_cls = NULL;
}

static int emu_append (emu_request *r, const char *data, size_t n) {
  if (n > EMU_MAX_BODY - r->len) return 0;
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    char *b;
    while (cap < r->len + n) cap *= 2;
    if (cap > EMU_MAX_BODY) cap = EMU_MAX_BODY;
    b = realloc(r->body, cap);
    if (b == NULL) return 0;
    r->body = b;
    r->cap = cap;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
  return 1;
}

/* Counts the request's Content-Length headers into *cls. */
static enum MHD_Result emu_count_length (void *cls, enum MHD_ValueKind kind, const char *name,
                                         const char *value) {
  int *n = cls;
  (void)kind;
  (void)value;
  if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) (*n)++;
  return MHD_YES;
}

/* Why the request's Content-Length cannot be trusted, or NULL. libmicrohttpd refuses a
   value that is not a number itself, but of several Content-Length headers it reads the
   first and the model would see them all joined: two parties that read the length of one
   request differently is how a request is smuggled past one of them (RFC 9112 6.3). */
static const char *emu_bad_length (struct MHD_Connection *conn, const char *cl) {
  int n = 0;
  emu_mhd.get_connection_values(conn, MHD_HEADER_KIND, emu_count_length, &n);
  if (n > 1) return "The request has more than one Content-Length header.";
  if (cl && emu_mhd.lookup_connection_value(conn, MHD_HEADER_KIND,
                                            MHD_HTTP_HEADER_TRANSFER_ENCODING))
    return "The request has both Content-Length and Transfer-Encoding.";
  if (cl && (*cl == '\0' || cl[strspn(cl, "0123456789")] != '\0'))
    return "The Content-Length header is not a decimal number.";
  return NULL;
}

static enum MHD_Result emu_access (void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload, size_t *upload_size, void **con_cls) {
  emu_server *srv = cls;
  emu_request *r = *con_cls;
  (void)url;                                 /* decoded and without the query: r->uri instead */
  (void)version;
  if (r == NULL) return MHD_NO;              /* out of memory at the request line */
  if (!r->started) {                         /* headers only, so far */
    const char *cl = emu_mhd.lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *bad = emu_bad_length(conn, cl);
    r->started = 1;
    if (bad) {
      r->refused = 1;
      return emu_problem(srv, conn, method, r, 400, "Bad Request", bad);
    }
    if (cl && strtoull(cl, NULL, 10) > EMU_MAX_BODY) {
      r->refused = 1;
      return emu_problem(srv, conn, method, r, 413, "Payload Too Large", NULL);
    }
    return MHD_YES;
  }
  if (*upload_size) {
    if (!r->refused && !emu_append(r, upload, *upload_size)) {
      r->refused = 1;
      *upload_size = 0;
      return emu_problem(srv, conn, method, r, 413, "Payload Too Large", NULL);
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->refused) return MHD_YES;            /* answered already */
  return emu_answer(srv, conn, method, r);
}

/* ---- starting ----------------------------------------------------------------------------- */

/* A socket bound to c->addr and listening; -1 with a message when it cannot be. */
static int emu_listen (const trk_emu_config *c, int *port) {
  int fd, one = 1;
  struct sockaddr_storage got;
  socklen_t gotlen = sizeof got;
  fd = socket(c->addr.ss_family, SOCK_STREAM, 0);
  if (fd < 0) goto fail;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (c->addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (const struct sockaddr *)&c->addr, c->addrlen) != 0) goto fail;
  if (listen(fd, 128) != 0) goto fail;
  if (getsockname(fd, (struct sockaddr *)&got, &gotlen) != 0) goto fail;
  *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                          : ((struct sockaddr_in *)&got)->sin_port);
  return fd;
fail:
  fprintf(stderr, "trk emulator: cannot listen on %s port %d: %s\n", c->host, c->port,
          strerror(errno));
  if (fd >= 0) close(fd);
  return -1;
}

static int emu_is_loopback (const trk_emu_config *c) {
  if (c->addr.ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)&c->addr)->sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&c->addr)->sin6_addr);
}

/* What the emulator says once it listens: the first line is for programs. Credentials given
   on the command line are named, never shown. */
static void emu_announce (const trk_emu_config *c, emu_server *srv, int port) {
  char url[128];
  int v6 = c->addr.ss_family == AF_INET6;
  const char *host = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
  snprintf(url, sizeof url, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
  printf("listening on %s\n", url);
  fflush(stdout);
  if (c->quiet) return;                           /* the first line is all --quiet prints */
  if (c->synthetic >= 0)
    printf("data: synthetic, %lld candidates computed from seed %lld (read-only)\n",
           (long long)c->synthetic, (long long)c->seed);
  else if (c->replay)
    printf("data: the recording %s, replayed (credentials are not checked)\n",
           srv->model.cassette);
  else if (c->data) printf("data: %s\n", c->data);
  else if (c->candidates >= 0)
    printf("data: %lld candidates generated from seed %lld\n", (long long)c->candidates,
           (long long)c->seed);
  else
    printf("data: the demo database (%d candidates generated from seed %lld)\n",
           TRK_EMU_DEMO_CANDIDATES, (long long)c->seed);
  printf("for a client, paste these lines into its shell:\n");
  printf("export %s=%s\nexport %s=%s\n", EMU_ENV_WIDGET_URL, url, EMU_ENV_REST_URL, url);
  fflush(stdout);
  pthread_mutex_lock(&srv->lock);            /* the model may be answering a request */
  trk_emu_model_exports(&srv->model, stdout);
  pthread_mutex_unlock(&srv->lock);
  if ((c->given & EMU_GIVEN_ALL) != EMU_GIVEN_ALL)
    printf("# the emulator's public demo credentials (not secrets; --apikey, --username and "
           "--api-token set others)\n");
#define EMU_CREDENTIAL(var, bit, demo, option)                                                \
  if (c->given & bit) printf("# %s: the value given with %s (not shown)\n", var, option);     \
  else printf("export %s=%s\n", var, demo);
  EMU_CREDENTIAL(EMU_ENV_APIKEY, TRK_EMU_GIVEN_APIKEY, TRK_EMU_DEMO_APIKEY, "--apikey")
  EMU_CREDENTIAL(EMU_ENV_USERNAME, TRK_EMU_GIVEN_USERNAME, TRK_EMU_DEMO_USERNAME, "--username")
  EMU_CREDENTIAL(EMU_ENV_API_TOKEN, TRK_EMU_GIVEN_API_TOKEN, TRK_EMU_DEMO_API_TOKEN, "--api-token")
#undef EMU_CREDENTIAL
  printf("stop with Ctrl-C\n");
  fflush(stdout);
}

/* ---- trk emulator ------------------------------------------------------------------------- */

int trk_emulator_main (int argc, char **argv) {
  trk_emu_config c;
  emu_server srv;
  struct MHD_Daemon *daemon = NULL;
  sigset_t stop, old;
  const char *why;
  int code, fd, port, sig;

  if ((code = trk_emu_options(&c, argc, argv)) >= 0) return code;
  if ((why = emu_mhd_ready()) != NULL) {
    fprintf(stderr, "trk emulator: %s (it comes with the Debian package libmicrohttpd12)\n", why);
    return TRK_EXIT_ERROR;
  }
  memset(&srv, 0, sizeof srv);
  if ((code = trk_emu_model_open(&srv.model, &c)) >= 0) return code;
  srv.verbose = c.verbose;
  srv.latency_min = c.latency_min > 0 ? c.latency_min : 0;
  srv.latency_max = c.latency_max > 0 ? c.latency_max : 0;

  if ((fd = emu_listen(&c, &port)) < 0) {
    trk_emu_model_close(&srv.model);
    return TRK_EXIT_ERROR;
  }
  if (!emu_is_loopback(&c))
    fprintf(stderr, "trk emulator: warning: %s is not a loopback address: anyone who can "
            "reach this machine can use the emulator\n", c.host);

  /* SIGINT and SIGTERM are taken by sigwait below, in this thread only: the server's
     threads inherit the mask. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  signal(SIGPIPE, SIG_IGN);
  pthread_mutex_init(&srv.lock, NULL);
  trk_emu_static_init(&srv.st, c.is_static);
  daemon = emu_mhd.start_daemon(
    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO_INTERNAL_THREAD
      | (c.addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
    0, NULL, NULL, emu_access, &srv,
    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
    MHD_OPTION_URI_LOG_CALLBACK, emu_begin, &srv,
    MHD_OPTION_NOTIFY_COMPLETED, emu_end, &srv,
    MHD_OPTION_CONNECTION_LIMIT, (unsigned)EMU_MAX_CONNECTIONS,
    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EMU_IDLE_TIMEOUT,
    MHD_OPTION_CONNECTION_MEMORY_LIMIT, EMU_CONN_MEMORY,
    MHD_OPTION_END);
  if (daemon == NULL) {
    fprintf(stderr, "trk emulator: cannot start the HTTP server on %s port %d\n", c.host, port);
    close(fd);
    code = TRK_EXIT_ERROR;
  }
  else {
    emu_announce(&c, &srv, port);
    while (sigwait(&stop, &sig) != 0) {}
    if (c.verbose) fprintf(stderr, "trk emulator: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&srv.stopping, 1);
    emu_mhd.stop_daemon(daemon);           /* closes every connection and the socket */
    if (c.verbose && c.is_static)
      fprintf(stderr, "trk emulator: static: %zu answers kept (%.1f MiB), %llu sent again, "
              "%llu made by the model\n", srv.st.kept, (double)srv.st.bytes / 1048576.0,
              (unsigned long long)atomic_load(&srv.st.hits),
              (unsigned long long)atomic_load(&srv.st.misses));
    code = TRK_EXIT_OK;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_mutex_destroy(&srv.lock);
  trk_emu_static_free(&srv.st);
  trk_emu_model_close(&srv.model);
  return code;
}

#ifdef TRK_FUZZ
/* ---- without a socket: the fuzz target's way in (spec/fuzz/fuzz_emulator.c) --------------- */

struct trk_emulator {
  emu_server srv;
  char *body;                      /* the last answer's body */
  size_t cap;
};

trk_emulator *trk_emulator_open (int argc, char **argv) {
  trk_emu_config c;
  trk_emulator *e;
  if (trk_emu_options(&c, argc, argv) >= 0) return NULL;   /* it said what was wrong */
  if (emu_mhd_ready() != NULL) {
    fprintf(stderr, "trk emulator: %s\n", emu_mhd_ready());
    return NULL;
  }
  if (c.data) {
    fprintf(stderr, "trk emulator: --data is not for a socket-free emulator\n");
    return NULL;
  }
  if ((e = calloc(1, sizeof *e)) == NULL) return NULL;
  if (trk_emu_model_open(&e->srv.model, &c) >= 0) {          /* it said what was wrong */
    free(e);
    return NULL;
  }
  return e;
}

lua_State *trk_emulator_state (trk_emulator *e) { return e->srv.model.L; }

/* The model's part of emu_answer, and the response it would queue, built and dropped. */
int trk_emulator_request (trk_emulator *e, const char *method, const char *uri,
                          const char *const *headers, size_t nheaders, const char *body,
                          size_t len, const char **answer, size_t *answer_len) {
  lua_State *L = e->srv.model.L;
  trk_emu_field fields[64];
  trk_emu_fields h = {.v = fields, .cap = 64};
  trk_emu_answer a;
  struct MHD_Response *resp;
  int status;
  for (; h.n < nheaders && h.n < h.cap; h.n++) {
    fields[h.n].name = headers[2 * h.n];
    fields[h.n].value = headers[2 * h.n + 1];
  }
  *answer = "";
  *answer_len = 0;
  if (!trk_emu_model_handle(&e->srv.model, method, uri, &h, body, len, &a))
    return -1;                               /* the front answers its own 500 */
  status = a.fault == TRK_EMU_FAULT_DROP ? 0 : a.status;
  if (a.len + 1 > e->cap) {
    char *p = realloc(e->body, a.len + 1);
    if (p == NULL) abort();
    e->body = p;
    e->cap = a.len + 1;
  }
  memcpy(e->body, a.body, a.len);
  e->body[a.len] = '\0';
  *answer = e->body;
  *answer_len = a.len;
  resp = emu_mhd.create_response_from_buffer(a.len, e->body, MHD_RESPMEM_PERSISTENT);
  emu_add_headers(resp, L, a.headers);
  if (resp) emu_mhd.destroy_response(resp);
  lua_settop(L, 0);
  return status;
}

void trk_emulator_close (trk_emulator *e) {
  if (e == NULL) return;
  trk_emu_model_close(&e->srv.model);
  free(e->body);
  free(e);
}
#endif
