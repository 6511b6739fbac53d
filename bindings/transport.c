/* tracker.transport: the libcurl HTTP transport, one reusable easy handle per userdata. */
/*
** - transport.curl(opts) makes a handle holding ONE curl easy handle and ONE multi handle
**   (its connection cache), so that consecutive requests reuse the connection (keep-alive).
**   tr:request{...} answers status, headers, body for ANY HTTP answer (4xx/5xx included:
**   their meaning is the caller's business), or nil, err (a tracker error: "timeout",
**   "network", "bad_response") when there is none. An error raised before the request left
**   (no connection, no name, failed TLS handshake) carries sent = false: only then may a
**   write be sent again. A request with fresh = true gets a new connection.
** - Threads: tr:send{...} checks the request, builds it, and runs the transfer on a POSIX
**   thread of its own; tr:wait() joins that thread and answers as request does, which is
**   send + wait. At most one transfer per handle is in flight. The worker touches only the
**   handle's curl handles and C buffers, never the lua_State; the main thread leaves them
**   alone until the join. It blocks every signal, so that the sandbox's SIGRTMIN timer and
**   SIGINT reach the main thread. Closing (close, __close, __gc) an in-flight handle sets an
**   abort flag, wakes the worker and joins it: no thread outlives its handle.
** - Waiting: when a host lends its limits (tracker.h, trk's sandbox), wait() waits in slices
**   of TRK_WAIT_SLICE and asks the host between two whether the code must stop (the deadline,
**   the CPU limit, Ctrl-C). If so, the transfer is aborted, its worker joined and the request
**   released BEFORE the host raises: the handle stays usable and closable, and no longjmp
**   ever passes a running worker. A request thus waits for the least of its own timeout, the
**   run's deadline and a Ctrl-C.
** - Memory: everything allocated outside Lua (response body and headers, the request's header
**   list and parsed URL) is owned by the userdata, reset at the start of each request and
**   freed by __gc/__close; the request body, a Lua string, is kept alive in the userdata's
**   user value until the transfer ends. A Lua error at any point (a memory error while
**   pushing results, a bad argument) therefore leaks nothing. The curl callbacks never call Lua.
** - Messages name the method, scheme://host:port/path and what failed; never the query string,
**   user info, header values or bodies, which may hold credentials.
** - TLS verification is always on; only http and https; no redirects followed; gzip accepted
**   (max_body limits the DECODED body, so a compressed bomb is stopped too).
** - Proxy environment variables (http_proxy, https_proxy, no_proxy) are honoured as by curl.
*/
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "dynlib.h"
#include "tracker.h"
#include "transport.h"

#define TR_CONNECT_TIMEOUT  10.0              /* seconds to establish a connection */
#define TR_TIMEOUT          60.0              /* seconds for a whole request */
#define TR_TIMEOUT_MAX      86400.0           /* longest timeout accepted (seconds) */
#define TR_MAX_BODY         (64 * 1024 * 1024) /* bytes of decoded response body accepted */
#define TR_HEADERS_MAX      (1024 * 1024)     /* bytes of response headers accepted */
#define TR_KEEP_BUFFER      (256 * 1024)      /* larger buffers are freed after a request */
#define TR_METHOD_MAX       32                /* longest method name */
#define TR_WHERE_MAX        512               /* "METHOD scheme://host:port/path" kept for messages */
#define TR_HOSTPORT_MAX     280               /* "host:port" kept for messages */
#define TR_PROTOCOLS        "http,https"
#define TR_POLL_MS          1000              /* longest wait in curl_multi_poll (close wakes it) */

#ifndef TRK_VERSION
#define TRK_VERSION "0.0.0"
#endif


/* ---- state ------------------------------------------------------------------------ */

typedef struct TrBuf {
  char *data;
  size_t len, cap;
} TrBuf;

enum { TR_FAIL_NONE, TR_FAIL_BODY, TR_FAIL_HEADERS, TR_FAIL_MEMORY };

/* While a transfer is in flight (inflight), the worker owns curl, multi, body, head, fail,
   result and oserr; the main thread touches none of them until it has joined the worker. */
typedef struct Transport {
  CURL *curl;                 /* NULL once closed */
  CURLM *multi;               /* drives curl; its connection cache keeps connections alive */
  CURLU *url;                 /* the current request's URL */
  struct curl_slist *hdrs;    /* the current request's headers */
  TrBuf body, head;           /* the current answer's body and header lines */
  size_t max_body;
  double connect_timeout, timeout;   /* seconds */
  double req_timeout;         /* the current request's timeout (seconds) */
  int fail;                   /* why a callback stopped the transfer (TR_FAIL_*) */
  CURLcode result;            /* how the transfer ended */
  long oserr;                 /* errno of its last failed system call */
  int inflight;               /* a worker was started and not yet joined */
  pthread_t worker;
  int synced;                 /* done_lock and done_cond are initialised */
  pthread_mutex_t done_lock;  /* guards done */
  pthread_cond_t done_cond;   /* signalled by the worker as it ends */
  int done;                   /* the worker has finished its transfer */
  atomic_int abort;           /* set by close: the worker stops as soon as it sees it */
  char where[TR_WHERE_MAX];   /* "POST https://host:443/path": safe to print */
  char hostport[TR_HOSTPORT_MAX];
} Transport;


/* ---- libcurl, loaded on first use ------------------------------------------------------ */

/* libcurl is opened when the first transport is made, not linked: loading it (and the TLS,
   Kerberos and LDAP libraries it needs) costs every start several milliseconds, even a run
   that never uses the network. Its functions are called through tr_curl, whose pointers
   have curl's own prototypes. Like libcurl's own global state, tr_curl is process-wide, set
   once (trk_dynlib_ready) and never torn down: curl_global_cleanup never runs, because another
   lua_State in the process may still hold handles. */
#define TR_LIBCURL  "libcurl.so.4"
#define TR_CURL_FUNCS(X) \
  X(global_init) X(easy_init) X(easy_cleanup) X(easy_setopt) X(easy_getinfo) \
  X(easy_strerror) X(free) X(multi_init) X(multi_cleanup) X(multi_add_handle) \
  X(multi_remove_handle) X(multi_perform) X(multi_poll) X(multi_wakeup) \
  X(multi_info_read) X(slist_append) X(slist_free_all) X(url) X(url_cleanup) X(url_set) \
  X(url_get)

static struct {
#define TR_CURL_FIELD(name)  __typeof__(curl_##name) *name;
  TR_CURL_FUNCS(TR_CURL_FIELD)
#undef TR_CURL_FIELD
} tr_curl;

#define TR_CURL_SYM(name)  {"curl_" #name, &tr_curl.name},
static const trk_dynsym tr_curl_syms[] = {TR_CURL_FUNCS(TR_CURL_SYM) {NULL, NULL}};
#undef TR_CURL_SYM

static int tr_curl_init (char *err, size_t errlen) {
  if (tr_curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) return 1;
  snprintf(err, errlen, "cannot initialise libcurl");
  return 0;
}

static trk_dynlib tr_libcurl = TRK_DYNLIB(TR_LIBCURL, tr_curl_syms, tr_curl_init);

/* Loads libcurl once; NULL when ready, else why not. */
static const char *tr_curl_ready (void) {
  return trk_dynlib_ready(&tr_libcurl);
}


/* ---- buffers (C heap, owned by the userdata) ----------------------------------------- */

static int tr_buf_add (TrBuf *b, const char *data, size_t n) {
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 16 * 1024;
    while (cap - b->len < n) {
      if (cap > (size_t)-1 / 2) return 0;
      cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (d == NULL) return 0;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return 1;
}

static void tr_buf_free (TrBuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Keeps a small buffer for the next request; gives a big one back. */
static void tr_buf_trim (TrBuf *b) {
  if (b->cap > TR_KEEP_BUFFER) tr_buf_free(b);
  else b->len = 0;
}


/* ---- curl callbacks (no Lua here) ---------------------------------------------------- */

static size_t tr_on_body (char *data, size_t size, size_t n, void *ud) {
  Transport *p = (Transport *)ud;
  size_t len = size * n;
  if (len > p->max_body - p->body.len) {
    p->fail = TR_FAIL_BODY;       /* returning short aborts the transfer */
    return 0;
  }
  if (!tr_buf_add(&p->body, data, len)) {
    p->fail = TR_FAIL_MEMORY;
    return 0;
  }
  return len;
}

static size_t tr_on_header (char *data, size_t size, size_t n, void *ud) {
  Transport *p = (Transport *)ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    p->head.len = 0;              /* a new answer (after a 100 Continue): keep only the last */
    return len;
  }
  if (len > TR_HEADERS_MAX - p->head.len) {
    p->fail = TR_FAIL_HEADERS;
    return 0;
  }
  if (!tr_buf_add(&p->head, data, len)) {
    p->fail = TR_FAIL_MEMORY;
    return 0;
  }
  return len;
}

/* Called by curl as the transfer goes: non-zero aborts it, even in the middle of curl's work. */
static int tr_on_progress (void *ud, curl_off_t dltotal, curl_off_t dlnow,
                           curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
  return atomic_load(&((Transport *)ud)->abort);
}


/* ---- the worker thread (no Lua here) -------------------------------------------------- */

/* Runs one transfer: the loop curl_easy_perform runs, but on the handle's own multi handle,
   so that close can interrupt its sleep with curl_multi_wakeup (curl_easy_perform sleeps up
   to a second between looks at the abort flag). */
static void *tr_work (void *ud) {
  Transport *p = (Transport *)ud;
  CURLcode rc = CURLE_ABORTED_BY_CALLBACK;   /* unless curl tells how the transfer ended */
  CURLMcode mc = tr_curl.multi_add_handle(p->multi, p->curl);
  int running = 1, added = (mc == CURLM_OK);
  while (mc == CURLM_OK && running && !atomic_load(&p->abort)) {
    mc = tr_curl.multi_perform(p->multi, &running);
    if (mc == CURLM_OK && running)
      mc = tr_curl.multi_poll(p->multi, NULL, 0, TR_POLL_MS, NULL);
  }
  if (mc != CURLM_OK)             /* as curl_easy_perform says it */
    rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_BAD_FUNCTION_ARGUMENT;
  else {
    CURLMsg *m;
    int left;
    while ((m = tr_curl.multi_info_read(p->multi, &left)) != NULL)
      if (m->msg == CURLMSG_DONE) rc = m->data.result;
  }
  tr_curl.easy_getinfo(p->curl, CURLINFO_OS_ERRNO, &p->oserr);
  if (added) tr_curl.multi_remove_handle(p->multi, p->curl);
  p->result = rc;
  pthread_mutex_lock(&p->done_lock);
  p->done = 1;
  pthread_cond_signal(&p->done_cond);
  pthread_mutex_unlock(&p->done_lock);
  return NULL;
}

/* Starts the worker with every signal blocked in it; 0 or an errno. */
static int tr_start (Transport *p) {
  sigset_t all, old;
  sigfillset(&all);
  atomic_store(&p->abort, 0);
  p->done = 0;                                /* no worker runs: no lock needed */
  pthread_sigmask(SIG_SETMASK, &all, &old);   /* the new thread inherits this mask */
  int err = pthread_create(&p->worker, NULL, tr_work, p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err == 0) p->inflight = 1;
  return err;
}

/* Waits for the worker to end; with abort, makes it end now. */
static void tr_join (Transport *p, int abort) {
  if (!p->inflight) return;
  if (abort) {
    atomic_store(&p->abort, 1);
    tr_curl.multi_wakeup(p->multi);
  }
  pthread_join(p->worker, NULL);
  p->inflight = 0;
}

/* Waits at most `seconds` for the worker to finish its transfer; whether it has. */
static int tr_wait_done (Transport *p, double seconds) {
  struct timespec at;
  int done;
  clock_gettime(CLOCK_MONOTONIC, &at);
  long ns = at.tv_nsec + (long)(seconds * 1e9);
  at.tv_sec += ns / 1000000000L;
  at.tv_nsec = ns % 1000000000L;
  pthread_mutex_lock(&p->done_lock);
  while (!p->done)
    if (pthread_cond_timedwait(&p->done_cond, &p->done_lock, &at) == ETIMEDOUT) break;
  done = p->done;
  pthread_mutex_unlock(&p->done_lock);
  return done;
}

/* The lock and condition the worker signals its end with; 0 or an errno. */
static int tr_sync_init (Transport *p) {
  pthread_condattr_t attr;
  int err = pthread_condattr_init(&attr);
  if (err) return err;
  err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);   /* immune to clock changes */
  if (!err) err = pthread_mutex_init(&p->done_lock, NULL);
  if (!err) {
    err = pthread_cond_init(&p->done_cond, &attr);
    if (err) pthread_mutex_destroy(&p->done_lock);
  }
  pthread_condattr_destroy(&attr);
  if (!err) p->synced = 1;
  return err;
}


/* ---- handle life ----------------------------------------------------------------------- */

static const char *tr_oserror (long err, char *buf, size_t size);

/* Frees what one request built; curl forgets the pointers first. */
static void tr_release_request (Transport *p) {
  if (p->curl) {
    tr_curl.easy_setopt(p->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    tr_curl.easy_setopt(p->curl, CURLOPT_CURLU, (CURLU *)NULL);
  }
  tr_curl.slist_free_all(p->hdrs);
  p->hdrs = NULL;
  tr_curl.url_cleanup(p->url);
  p->url = NULL;
}

static void tr_release (Transport *p) {
  tr_join(p, 1);                  /* nothing may be freed under the worker */
  tr_release_request(p);
  tr_curl.easy_cleanup(p->curl);
  p->curl = NULL;                 /* mark handle as closed */
  if (p->multi) tr_curl.multi_cleanup(p->multi);   /* closes the kept-alive connections */
  p->multi = NULL;
  tr_buf_free(&p->body);
  tr_buf_free(&p->head);
}

static Transport *tr_check_open (lua_State *L) {
  Transport *p = (Transport *)luaL_checkudata(L, 1, TRK_TRANSPORT_MT);
  if (p->curl == NULL) luaL_error(L, "attempt to use a closed transport");
  return p;
}

/* __close and close(): closing twice is harmless. */
static int tr_close (lua_State *L) {
  Transport *p = (Transport *)luaL_checkudata(L, 1, TRK_TRANSPORT_MT);
  if (p->curl) tr_release(p);
  return 0;
}

/* __gc: closes, then frees what the worker signals with (no worker runs any more). */
static int tr_gc (lua_State *L) {
  Transport *p = (Transport *)luaL_checkudata(L, 1, TRK_TRANSPORT_MT);
  if (p->curl) tr_release(p);
  if (p->synced) {
    pthread_cond_destroy(&p->done_cond);
    pthread_mutex_destroy(&p->done_lock);
    p->synced = 0;
  }
  return 0;
}

static int tr_tostring (lua_State *L) {
  Transport *p = (Transport *)luaL_checkudata(L, 1, TRK_TRANSPORT_MT);
  lua_pushstring(L, p->curl ? "transport (curl)" : "transport (closed)");
  return 1;
}

static long tr_ms (double seconds) {
  long ms = (long)(seconds * 1000.0 + 0.5);
  return ms > 0 ? ms : 1;
}

/* The options every request shares. */
static CURLcode tr_setup (Transport *p, const char *user_agent, const char *ca_file) {
  CURL *c = p->curl;
  CURLcode rc = CURLE_OK;
#define TR_SET(opt, val)  if (rc == CURLE_OK) rc = tr_curl.easy_setopt(c, opt, val)
  TR_SET(CURLOPT_NOSIGNAL, 1L);
  TR_SET(CURLOPT_WRITEFUNCTION, tr_on_body);
  TR_SET(CURLOPT_WRITEDATA, (void *)p);
  TR_SET(CURLOPT_HEADERFUNCTION, tr_on_header);
  TR_SET(CURLOPT_HEADERDATA, (void *)p);
  TR_SET(CURLOPT_NOPROGRESS, 0L);
  TR_SET(CURLOPT_XFERINFOFUNCTION, tr_on_progress);
  TR_SET(CURLOPT_XFERINFODATA, (void *)p);
#if LIBCURL_VERSION_NUM >= 0x075500      /* 7.85: the string form; the bitmask is deprecated */
  TR_SET(CURLOPT_PROTOCOLS_STR, TR_PROTOCOLS);
  TR_SET(CURLOPT_REDIR_PROTOCOLS_STR, TR_PROTOCOLS);
#else
  TR_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  TR_SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  TR_SET(CURLOPT_FOLLOWLOCATION, 0L);
  TR_SET(CURLOPT_SSL_VERIFYPEER, 1L);   /* the defaults, stated: never turned off */
  TR_SET(CURLOPT_SSL_VERIFYHOST, 2L);
  TR_SET(CURLOPT_ACCEPT_ENCODING, "");  /* every encoding curl can decode, gzip included */
  TR_SET(CURLOPT_TCP_KEEPALIVE, 1L);
  TR_SET(CURLOPT_CONNECTTIMEOUT_MS, tr_ms(p->connect_timeout));
  TR_SET(CURLOPT_USERAGENT, user_agent);
  if (ca_file) TR_SET(CURLOPT_CAINFO, ca_file);
#undef TR_SET
  return rc;
}

/* Reads an optional positive number of seconds from the table at index t. */
static double tr_opt_seconds (lua_State *L, int arg, int t, const char *field, double def) {
  int type = lua_getfield(L, t, field);
  double v = def;
  if (type != LUA_TNIL) {
    int isnum;
    v = (double)lua_tonumberx(L, -1, &isnum);
    if (!isnum || type != LUA_TNUMBER || !(v > 0 && v <= TR_TIMEOUT_MAX))
      luaL_argerror(L, arg, lua_pushfstring(L, "'%s' must be a number of seconds above 0", field));
  }
  lua_pop(L, 1);
  return v;
}

/* Reads an optional string from the table at index t; it stays on the stack. */
static const char *tr_opt_string (lua_State *L, int arg, int t, const char *field) {
  int type = lua_getfield(L, t, field);
  if (type == LUA_TNIL) return NULL;
  if (type != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "'%s' must be a string", field));
  return lua_tostring(L, -1);
}

/* transport.curl{ connect_timeout=, timeout=, max_body=, user_agent=, ca_file= } */
static int tr_new (lua_State *L) {
  double connect_timeout = TR_CONNECT_TIMEOUT, timeout = TR_TIMEOUT;
  lua_Integer max_body = TR_MAX_BODY;
  const char *user_agent = "trk/" TRK_VERSION, *ca_file = NULL;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    connect_timeout = tr_opt_seconds(L, 1, 1, "connect_timeout", connect_timeout);
    timeout = tr_opt_seconds(L, 1, 1, "timeout", timeout);
    if (lua_getfield(L, 1, "max_body") != LUA_TNIL) {
      int isint;
      max_body = lua_tointegerx(L, -1, &isint);
      if (!isint || lua_type(L, -1) != LUA_TNUMBER || max_body <= 0)
        return luaL_argerror(L, 1, "'max_body' must be a whole number of bytes above 0");
    }
    lua_pop(L, 1);
    const char *ua = tr_opt_string(L, 1, 1, "user_agent");   /* both stay on the stack */
    if (ua) user_agent = ua;
    ca_file = tr_opt_string(L, 1, 1, "ca_file");
  }
  /* user value 1: the body of the request in flight, kept alive for the worker */
  Transport *p = (Transport *)lua_newuserdatauv(L, sizeof(Transport), 1);
  memset(p, 0, sizeof *p);        /* closed and empty, in case what follows fails */
  atomic_init(&p->abort, 0);
  luaL_setmetatable(L, TRK_TRANSPORT_MT);
  p->max_body = (size_t)max_body;
  p->connect_timeout = connect_timeout;
  p->timeout = timeout;
  const char *why = tr_curl_ready();
  if (why) return luaL_error(L, "transport.curl: %s", why);
  int err = tr_sync_init(p);
  if (err) {
    char os[128];
    return luaL_error(L, "transport.curl: cannot set up a lock (%s)", tr_oserror(err, os, sizeof os));
  }
  p->curl = tr_curl.easy_init();
  if (p->curl == NULL) return luaL_error(L, "transport.curl: cannot create a curl handle");
  p->multi = tr_curl.multi_init();
  if (p->multi == NULL) return luaL_error(L, "transport.curl: cannot create a curl handle");
  CURLcode rc = tr_setup(p, user_agent, ca_file);
  if (rc != CURLE_OK)
    return luaL_error(L, "transport.curl: cannot configure curl (%s)", tr_curl.easy_strerror(rc));
  return 1;
}


/* ---- request --------------------------------------------------------------------------- */

static int tr_is_token (const char *s, size_t len) {   /* RFC 9110 token */
  if (len == 0) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (!(isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL) || ch == '\0') return 0;
  }
  return 1;
}

/* Parses the URL into p->url and keeps a printable description; raises on a bad one. */
static void tr_set_url (lua_State *L, Transport *p, const char *method, const char *url) {
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int ok = 0, http = 0;
  p->url = tr_curl.url();
  if (p->url == NULL) luaL_error(L, "not enough memory");
  if (tr_curl.url_set(p->url, CURLUPART_URL, url, 0) == CURLUE_OK &&
      tr_curl.url_get(p->url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      tr_curl.url_get(p->url, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      tr_curl.url_get(p->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      tr_curl.url_get(p->url, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    ok = 1;
    http = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
    snprintf(p->hostport, sizeof p->hostport, "%s:%s", host, port);
    snprintf(p->where, sizeof p->where, "%s %s://%s%s", method, scheme, p->hostport, path);
  }
  tr_curl.free(scheme);
  tr_curl.free(host);
  tr_curl.free(port);
  tr_curl.free(path);
  if (!ok) luaL_argerror(L, 2, "'url' is not a valid URL");   /* never echoed: it may hold secrets */
  if (!http) luaL_argerror(L, 2, "'url' must start with http:// or https://");
}

/* Builds p->hdrs from the table at index t; raises naming a bad header (never its value). */
static void tr_set_headers (lua_State *L, Transport *p, int t) {
  p->hdrs = tr_curl.slist_append(NULL, "Expect:");   /* no 100-continue round trip */
  if (p->hdrs == NULL) luaL_error(L, "not enough memory");
  if (t == 0) return;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    size_t nlen, vlen;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_argerror(L, 2, "'headers' names must be strings");
    const char *name = lua_tolstring(L, -2, &nlen);
    if (!tr_is_token(name, nlen))
      luaL_argerror(L, 2, "'headers' has an invalid header name");
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, 2, lua_pushfstring(L, "'headers' value of '%s' must be a string", name));
    const char *value = lua_tolstring(L, -1, &vlen);   /* converts the value, not the key */
    if (strlen(value) != vlen || strpbrk(value, "\r\n") != NULL)
      luaL_argerror(L, 2, lua_pushfstring(L, "'headers' value of '%s' has a line break or NUL", name));
    /* "Name;" is curl's way to send an empty header ("Name:" would remove it) */
    const char *line = vlen ? lua_pushfstring(L, "%s: %s", name, value)
                            : lua_pushfstring(L, "%s;", name);
    struct curl_slist *l = tr_curl.slist_append(p->hdrs, line);
    if (l == NULL) luaL_error(L, "not enough memory");
    p->hdrs = l;
    lua_pop(L, 2);                /* the line and the value */
  }
}

/* The method's options: curl's own GET, POST and HEAD, anything else as a custom request. */
static CURLcode tr_set_method (Transport *p, const char *method, const char *body, size_t blen) {
  CURL *c = p->curl;
  int head = strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
  int has_body = body != NULL || post || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
  int plain = has_body ? post : (head || strcmp(method, "GET") == 0);
  CURLcode rc = CURLE_OK;
#define TR_SET(opt, val)  if (rc == CURLE_OK) rc = tr_curl.easy_setopt(c, opt, val)
  TR_SET(CURLOPT_NOBODY, 0L);
  if (has_body) {
    TR_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    TR_SET(CURLOPT_POSTFIELDS, body ? body : "");   /* the Lua string outlives the transfer */
  }
  else
    TR_SET(CURLOPT_HTTPGET, 1L);
  if (head) TR_SET(CURLOPT_NOBODY, 1L);
  TR_SET(CURLOPT_CUSTOMREQUEST, plain ? NULL : method);
#undef TR_SET
  return rc;
}

static const char *tr_oserror (long err, char *buf, size_t size) {
  if (err == 0 || strerror_r((int)err, buf, size) != 0) snprintf(buf, size, "no system error");
  return buf;
}

/* nil, err for a transfer that failed before the request left: the server never saw it, so
   even a write may be sent again. The error carries sent = false. */
static int tr_unsent (lua_State *L, int n) {
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "sent");
  return n;
}

/* nil, err for a failed transfer. */
static int tr_failure (lua_State *L, Transport *p, CURLcode rc, long oserr) {
  char os[128];
  curl_off_t got = 0, expected = -1, connected = 0;
  tr_curl.easy_getinfo(p->curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
  tr_curl.easy_getinfo(p->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
  tr_curl.easy_getinfo(p->curl, CURLINFO_CONNECT_TIME_T, &connected);
  if (p->fail == TR_FAIL_MEMORY || rc == CURLE_OUT_OF_MEMORY)
    return luaL_error(L, "not enough memory");
  if (p->fail == TR_FAIL_BODY)
    return trk_error_result(L, "bad_response", 0, "%s: response body exceeds max_body (%I bytes)",
                            p->where, (lua_Integer)p->max_body);
  if (p->fail == TR_FAIL_HEADERS)
    return trk_error_result(L, "bad_response", 0, "%s: response headers exceed %d bytes",
                            p->where, TR_HEADERS_MAX);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      if (connected == 0)
        return tr_unsent(L, trk_error_result(L, "timeout", 0, "%s: cannot connect to %s within %f s",
                                             p->where, p->hostport, (lua_Number)p->connect_timeout));
      return trk_error_result(L, "timeout", 0, "%s: no complete answer from %s within %f s",
                              p->where, p->hostport, (lua_Number)p->req_timeout);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return tr_unsent(L, trk_error_result(L, "network", 0, "%s: cannot resolve the host of %s (%s)",
                                           p->where, p->hostport, tr_curl.easy_strerror(rc)));
    case CURLE_COULDNT_CONNECT:
      return tr_unsent(L, trk_error_result(L, "network", 0, "%s: cannot connect to %s (%s)",
                                           p->where, p->hostport, tr_oserror(oserr, os, sizeof os)));
    case CURLE_GOT_NOTHING:
      return trk_error_result(L, "network", 0, "%s: %s closed the connection without answering",
                              p->where, p->hostport);
    case CURLE_PARTIAL_FILE:
      if (expected >= 0)
        return trk_error_result(L, "network", 0,
                                "%s: response body truncated: %s closed the connection after %I of %I bytes",
                                p->where, p->hostport, (lua_Integer)got, (lua_Integer)expected);
      return trk_error_result(L, "network", 0,
                              "%s: response body truncated: %s closed the connection early",
                              p->where, p->hostport);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return trk_error_result(L, "network", 0, "%s: connection to %s lost (%s)",
                              p->where, p->hostport, tr_oserror(oserr, os, sizeof os));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return trk_error_result(L, "bad_response", 0, "%s: unreadable answer from %s (%s)",
                              p->where, p->hostport, tr_curl.easy_strerror(rc));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
      /* the handshake comes before the request: nothing was sent */
      return tr_unsent(L, trk_error_result(L, "network", 0, "%s: TLS failure with %s (%s)",
                                           p->where, p->hostport, tr_curl.easy_strerror(rc)));
    default:
      return trk_error_result(L, "network", 0, "%s: request to %s failed (%s)",
                              p->where, p->hostport, tr_curl.easy_strerror(rc));
  }
}

/* Pushes a table of the answer's headers: lower-case names, the last value wins. */
static void tr_push_headers (lua_State *L, Transport *p) {
  char *s = p->head.data, *end = s + p->head.len;
  lua_newtable(L);
  while (s < end) {
    char *eol = memchr(s, '\n', (size_t)(end - s));
    char *next = eol ? eol + 1 : end;
    char *e = eol ? eol : end;
    char *colon = memchr(s, ':', (size_t)(e - s));
    if (colon && colon > s && *s != ' ' && *s != '\t') {   /* skip folded and blank lines */
      char *v = colon + 1;
      while (v < e && (*v == ' ' || *v == '\t')) v++;
      while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
      for (char *c = s; c < colon; c++) *c = (char)tolower((unsigned char)*c);
      lua_pushlstring(L, s, (size_t)(colon - s));
      lua_pushlstring(L, v, (size_t)(e - v));
      lua_rawset(L, -3);
    }
    s = next;
  }
}

/* Checks and builds the request in the table at index 2 and starts its transfer; raises on
   misuse. The body string goes to user value 1, where it outlives the transfer. */
static void tr_send_request (lua_State *L, Transport *p) {
  luaL_checktype(L, 2, LUA_TTABLE);
  if (p->inflight) luaL_error(L, "transport: a request is already in flight");
  size_t mlen, blen = 0;
  const char *method = "GET", *url, *body = NULL;
  int type = lua_getfield(L, 2, "method");
  if (type != LUA_TNIL) {
    if (type != LUA_TSTRING) luaL_argerror(L, 2, "'method' must be a string");
    method = lua_tolstring(L, -1, &mlen);
    if (mlen > TR_METHOD_MAX || !tr_is_token(method, mlen))
      luaL_argerror(L, 2, "'method' is not a valid HTTP method");
  }
  if (lua_getfield(L, 2, "url") != LUA_TSTRING)
    luaL_argerror(L, 2, "'url' must be a string");
  url = lua_tostring(L, -1);
  type = lua_getfield(L, 2, "headers");
  int headers = lua_gettop(L);
  if (type == LUA_TNIL) headers = 0;
  else if (type != LUA_TTABLE) luaL_argerror(L, 2, "'headers' must be a table");
  type = lua_getfield(L, 2, "body");
  int body_at = lua_gettop(L);
  if (type == LUA_TSTRING) body = lua_tolstring(L, -1, &blen);
  else if (type != LUA_TNIL) luaL_argerror(L, 2, "'body' must be a string");
  double timeout = tr_opt_seconds(L, 2, 2, "timeout", p->timeout);
  lua_getfield(L, 2, "fresh");
  long fresh = lua_toboolean(L, -1);   /* a new connection: curl resends a request on a dead
                                          reused one, which a write must never risk */

  /* what an earlier request left (it may have been interrupted by an error) */
  tr_release_request(p);
  p->body.len = p->head.len = 0;
  p->fail = TR_FAIL_NONE;
  tr_set_url(L, p, method, url);
  tr_set_headers(L, p, headers);
  CURLcode rc = tr_set_method(p, method, body, blen);
  if (rc == CURLE_OK) rc = tr_curl.easy_setopt(p->curl, CURLOPT_CURLU, p->url);
  if (rc == CURLE_OK) rc = tr_curl.easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->hdrs);
  if (rc == CURLE_OK) rc = tr_curl.easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, tr_ms(timeout));
  if (rc == CURLE_OK) rc = tr_curl.easy_setopt(p->curl, CURLOPT_FRESH_CONNECT, fresh);
  if (rc != CURLE_OK) {
    tr_release_request(p);
    luaL_error(L, "transport: cannot set up the request (%s)", tr_curl.easy_strerror(rc));
  }
  p->req_timeout = timeout;
  lua_pushvalue(L, body_at);      /* curl reads the body in place: keep it alive */
  lua_setiuservalue(L, 1, 1);
  int err = tr_start(p);
  if (err != 0) {
    char os[128];
    tr_release_request(p);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 1);
    luaL_error(L, "transport: cannot start a transfer thread (%s)", tr_oserror(err, os, sizeof os));
  }
}

/* Joins the transfer in flight and pushes what request answers. With a host, waits in slices
   and, when the host says the code must stop, aborts the transfer and releases the request
   before the host raises. */
static int tr_wait_answer (lua_State *L, Transport *p) {
  if (!p->inflight) return luaL_error(L, "transport: no request in flight");
  const trk_host *h = trk_host_get(L);
  int stop = 0;
  if (h)
    while (!stop && !tr_wait_done(p, TRK_WAIT_SLICE)) stop = h->should_stop(h->ud);
  tr_join(p, stop);               /* a stop aborts the transfer: the worker ends now */
  tr_release_request(p);
  lua_pushnil(L);                 /* the body may go now */
  lua_setiuservalue(L, 1, 1);
  if (stop || p->result != CURLE_OK) {
    tr_buf_trim(&p->body);        /* a refused body may be max_body bytes: give it back */
    tr_buf_trim(&p->head);
  }
  if (stop) {                     /* released first: no longjmp passes a running worker */
    h->raise(L, h->ud);
    return luaL_error(L, "%s: stopped", p->where);   /* raise found nothing to raise */
  }
  if (p->result != CURLE_OK) return tr_failure(L, p, p->result, p->oserr);
  long status = 0;
  tr_curl.easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
  lua_pushinteger(L, (lua_Integer)status);
  tr_push_headers(L, p);
  lua_pushlstring(L, p->body.data ? p->body.data : "", p->body.len);
  tr_buf_trim(&p->body);
  tr_buf_trim(&p->head);
  return 3;
}

/* tr:request{ method=, url=, headers=, body=, timeout= } -> status, headers, body | nil, err */
static int tr_request (lua_State *L) {
  Transport *p = tr_check_open(L);
  tr_send_request(L, p);
  return tr_wait_answer(L, p);
}

/* tr:send{...}: starts the request and returns at once; tr:wait() answers it. */
static int tr_send (lua_State *L) {
  tr_send_request(L, tr_check_open(L));
  return 0;
}

/* tr:wait() -> what tr:request would have answered */
static int tr_wait (lua_State *L) {
  return tr_wait_answer(L, tr_check_open(L));
}

/* tr:busy() -> true from send until wait */
static int tr_busy (lua_State *L) {
  lua_pushboolean(L, tr_check_open(L)->inflight);
  return 1;
}

/* tr:ready() -> true once the answer is in: wait() would not block (a stream's prefetch
   depth follows whether it had to) */
static int tr_ready (lua_State *L) {
  Transport *p = tr_check_open(L);
  lua_pushboolean(L, p->inflight && tr_wait_done(p, 0));
  return 1;
}



/* ---- module ---------------------------------------------------------------------------- */

static const luaL_Reg tr_methods[] = {
  {"request", tr_request},
  {"send", tr_send},
  {"wait", tr_wait},
  {"busy", tr_busy},
  {"ready", tr_ready},
  {"close", tr_close},
  {NULL, NULL}
};

static const luaL_Reg tr_meta[] = {
  {"__gc", tr_gc},
  {"__close", tr_close},
  {"__tostring", tr_tostring},
  {"__index", NULL},              /* set below */
  {NULL, NULL}
};

static const luaL_Reg tr_funcs[] = {
  {"curl", tr_new},
  {NULL, NULL}
};

int trk_transport_open (lua_State *L) {
  if (luaL_newmetatable(L, TRK_TRANSPORT_MT)) {
    luaL_setfuncs(L, tr_meta, 0);
    luaL_newlib(L, tr_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "tracker.transport");   /* locked: the methods are shared by every */
    lua_setfield(L, -2, "__metatable");        /* handle, the client's included */
  }
  lua_pop(L, 1);
  luaL_newlib(L, tr_funcs);
  return 1;
}
