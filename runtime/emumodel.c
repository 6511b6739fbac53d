/* trk emulator's model: setting tracker.emulator up, and handing it one request (emumodel.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "cli.h"
#include "emumodel.h"
#include "sbxlib.h"
#include "scripts.h"
#include "store.h"

#define EMU_MODEL             "tracker.emulator"
#define EMU_REPLAY            "tracker.emulator.replay"   /* --replay DIR's model */
#define EMU_CASSETTE          "/cassette.jsonl"           /* what --record DIR writes in DIR */
#define EMU_KEEPER            "trk.emudata"          /* --data DIR: the data kept there */
#define EMU_FRONT_HEADER      "x-emulator-"          /* the model's instructions to the front */
#define EMU_DELAY_HEADER      "x-emulator-delay-ms"     /* wait this long before answering */
#define EMU_FAULT_HEADER      "x-emulator-fault"        /* drop, truncate or malformed */
#define EMU_LENGTH_HEADER     "x-emulator-full-length"  /* a truncated body's whole length */

static const char *const emu_fault_names[] = {"none", "drop", "truncate", "malformed", NULL};

/* ---- setting up ------------------------------------------------------------------------------ */

typedef struct emu_setup_ctx {
  const trk_emu_config *c;
  trk_sandbox *sandbox;
  const char *data;                /* --data FILE's text, or --replay DIR's cassette */
  const char *path;                /* the file data was read from */
  size_t datalen;
  const char *schema;              /* --schema FILE's text */
  size_t schemalen;
  const char *stage;               /* what was being done, for an error message */
  const char *usage;               /* the option whose value the model refused */
  int ref;
} emu_setup_ctx;

static void emu_setstr (lua_State *L, const char *key, const char *value) {
  if (value == NULL) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

static void emu_setint (lua_State *L, const char *key, lua_Integer value) {
  lua_pushinteger(L, value);
  lua_setfield(L, -2, key);
}

/* The model's faults table, from --faults, --latency and --rate-limit. */
static void emu_push_faults (lua_State *L, const trk_emu_config *c) {
  lua_newtable(L);
  for (size_t k = 0; k < TRK_EMU_NFAULTS; k++) {
    if (!c->has_fault[k]) continue;
    if (trk_emu_fault_keys[k].kind == TRK_EMU_FRACTION) lua_pushnumber(L, c->fault[k]);
    else lua_pushinteger(L, (lua_Integer)c->fault[k]);
    lua_setfield(L, -2, trk_emu_fault_keys[k].field);
  }
  if (c->latency_min >= 0) {
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, c->latency_min);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, c->latency_max);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "latency");
  }
  if (c->rate > 0) emu_setint(L, "rate_limit", c->rate);
}

/* In protected mode, for --replay: the recording served (tracker.emulator.replay). */
static int emu_setup_replay (lua_State *L, emu_setup_ctx *x) {
  x->usage = "--replay";           /* a cassette that is not one is a usage error */
  trk_sandbox_push_env(x->sandbox);
  lua_getfield(L, -1, "require");
  lua_pushliteral(L, EMU_REPLAY);
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new");
  lua_pushlstring(L, x->data, x->datalen);
  lua_pushstring(L, x->path);
  lua_call(L, 2, 1);
  x->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* --data DIR: pushes the keeper of the data kept in DIR (trk.emudata), and the data it holds
   (nil when DIR has none yet). mod is the model's module. */
static void emu_keeper (lua_State *L, const trk_emu_config *c, int mod) {
  const trk_embedded *e = trk_embedded_find(EMU_KEEPER);
  const char *made[3];
  int n = 0;
  if (e == NULL) {
    luaL_error(L, EMU_KEEPER " is not embedded");
    return;
  }
  if (luaL_loadbufferx(L, e->chunk, e->size, e->path, "b") != LUA_OK) lua_error(L);
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "open");
  lua_remove(L, -2);
  trk_store_open(L);
  lua_pushstring(L, c->data_dir);
  lua_pushvalue(L, mod);
  lua_newtable(L);
  lua_pushboolean(L, c->quiet);
  lua_setfield(L, -2, "quiet");
  if (c->candidates >= 0) made[n++] = "--generate";
  if (c->schema) made[n++] = "--schema";
  if (c->seed != TRK_EMU_DEMO_SEED) made[n++] = "--seed";
  if (n) {                         /* what a start that loads kept data does not use */
    lua_pushstring(L, made[0]);
    for (int i = 1; i < n; i++) lua_pushfstring(L, ", %s", made[i]);
    lua_concat(L, n);
    lua_setfield(L, -2, "ignored");
  }
  lua_call(L, 4, 1);
  lua_getfield(L, -1, "load");
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
}

/* In protected mode: loads the model and its data, and makes the emulator. */
static int emu_setup (lua_State *L) {
  emu_setup_ctx *x = lua_touserdata(L, 1);
  const trk_emu_config *c = x->c;
  int mod, opts, keeper = 0, schema = 0;
  if (c->replay) return emu_setup_replay(L, x);
  x->stage = "loading " EMU_MODEL;
  trk_sandbox_push_env(x->sandbox);
  lua_getfield(L, -1, "require");
  lua_pushliteral(L, EMU_MODEL);
  lua_call(L, 1, 1);
  mod = lua_gettop(L);
  if (lua_type(L, mod) != LUA_TTABLE) return luaL_error(L, EMU_MODEL " is not a module table");
  /* the model checks the command line's values on an empty database, before any time goes
     into data: the time zone, the dialect, then the faults, each alone, so that an error
     names its option */
  const struct { const char *option, *field, *value; } words[] = {
    {"--timezone", "timezone", c->timezone}, {"--dialect", "dialect", c->dialect}
  };
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (words[i].value == NULL) continue;
    x->usage = words[i].option;
    lua_getfield(L, mod, "new");
    lua_newtable(L);
    emu_setstr(L, words[i].field, words[i].value);
    lua_call(L, 1, 1);
    lua_pop(L, 1);
  }
  x->usage = "--faults";
  lua_getfield(L, mod, "new");
  lua_newtable(L);
  emu_push_faults(L, c);
  lua_setfield(L, -2, "faults");
  lua_call(L, 1, 1);
  lua_pop(L, 1);
  x->usage = NULL;
  lua_newtable(L);
  opts = lua_gettop(L);
  emu_setstr(L, "timezone", c->timezone);
  emu_setstr(L, "dialect", c->dialect);
  emu_setstr(L, "apikey", c->apikey);
  emu_setstr(L, "username", c->username);
  emu_setstr(L, "api_token", c->api_token);
  lua_pushboolean(L, c->admin);
  lua_setfield(L, opts, "admin");
  emu_push_faults(L, c);
  lua_setfield(L, opts, "faults");
  if (c->schema) {
    x->stage = "--schema";
    lua_getfield(L, mod, "schema_from_json");
    lua_pushlstring(L, x->schema, x->schemalen);
    lua_pushstring(L, c->schema);
    lua_call(L, 2, 1);
    schema = lua_gettop(L);
  }
  if (c->data_dir) {
    x->stage = "--data";
    emu_keeper(L, c, mod);         /* the keeper, and the data kept (or nil) */
    keeper = lua_gettop(L) - 1;
  }
  if (keeper && !lua_isnil(L, keeper + 1))
    lua_pushvalue(L, keeper + 1);  /* the data kept from an earlier start */
  else if (c->synthetic >= 0) {
    x->stage = "making the synthetic database";
    lua_newtable(L);
    emu_setint(L, "candidates", c->synthetic);
    emu_setint(L, "seed", c->seed);
    if (schema) {
      lua_pushvalue(L, schema);
      lua_setfield(L, -2, "schema");
    }
    lua_setfield(L, opts, "synthetic");
    lua_pushnil(L);                  /* no data: the model makes its own */
  }
  else if (c->data) {
    x->stage = c->data;
    lua_getfield(L, mod, "from_json");
    lua_pushlstring(L, x->data, x->datalen);
    lua_call(L, 1, 1);
  }
  else {
    x->stage = "generating the data";
    lua_getfield(L, mod, "generate");
    lua_newtable(L);
    emu_setint(L, "seed", c->seed);
    emu_setint(L, "candidates", c->candidates >= 0 ? c->candidates : TRK_EMU_DEMO_CANDIDATES);
    emu_setstr(L, "timezone", c->timezone);
    if (schema) {
      lua_pushvalue(L, schema);
      lua_setfield(L, -2, "schema");
    }
    lua_call(L, 1, 1);
  }
  lua_setfield(L, opts, "data");
  x->stage = c->data ? c->data : "starting the emulator";
  lua_getfield(L, mod, "new");
  lua_pushvalue(L, opts);
  lua_call(L, 1, 1);
  if (lua_getfield(L, -1, "handle") != LUA_TFUNCTION)
    return luaL_error(L, EMU_MODEL ".new answered no object with a handle method");
  lua_pop(L, 1);
  if (keeper) {                    /* saves it all now, and each write from now on */
    x->stage = "--data";
    lua_getfield(L, keeper, "attach");
    lua_pushvalue(L, keeper);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 0);
  }
  x->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Reads a whole file; NULL with errno set when it cannot. */
static char *emu_slurp (const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;
  int err;
  if (f == NULL) return NULL;
  for (;;) {
    if (n == cap) {
      char *b = realloc(buf, cap = cap ? cap * 2 : 65536);
      if (b == NULL) {
        err = ENOMEM;
        goto fail;
      }
      buf = b;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (ferror(f)) {
      err = EIO;
      goto fail;
    }
    if (feof(f)) break;
  }
  fclose(f);
  *len = n;
  return buf;
fail:
  free(buf);
  fclose(f);
  errno = err;
  return NULL;
}

/* The sandbox state with the model in it, or an exit code after saying why not. */
int trk_emu_model_open (trk_emu_model *m, const trk_emu_config *c) {
  emu_setup_ctx setup;
  trk_options o;
  char err[512], *data = NULL, *schema = NULL;
  int code;
  memset(m, 0, sizeof *m);
  memset(&setup, 0, sizeof setup);
  if (c->data && (data = emu_slurp(c->data, &setup.datalen)) == NULL) {
    fprintf(stderr, "trk emulator: --data: cannot read '%s': %s%s\n", c->data, strerror(errno),
            errno == ENOENT ? " (to keep the data across restarts, give an existing directory: "
                              "mkdir it first)" : "");
    return TRK_EXIT_USAGE;
  }
  if (c->schema && (schema = emu_slurp(c->schema, &setup.schemalen)) == NULL) {
    fprintf(stderr, "trk emulator: --schema: cannot read '%s': %s\n", c->schema,
            strerror(errno));
    free(data);
    return TRK_EXIT_USAGE;
  }
  if (c->replay) {
    size_t n = strlen(c->replay);
    while (n > 1 && c->replay[n - 1] == '/') n--;
    snprintf(m->cassette, sizeof m->cassette, "%.*s" EMU_CASSETTE, (int)n, c->replay);
    if ((data = emu_slurp(m->cassette, &setup.datalen)) == NULL) {
      fprintf(stderr, "trk emulator: --replay: cannot read '%s': %s (record one with "
              "`trk rules DIR --record %s`)\n", m->cassette, strerror(errno), c->replay);
      return TRK_EXIT_USAGE;
    }
    setup.path = m->cassette;
  }
  trk_options_default(&o);
  o.limits.max_memory = 0;           /* the host's own state: no sandbox limits */
  o.limits.max_cpu = 0;
  o.limits.max_output = 0;
  o.limits.deadline = 0;
  m->sandbox = trk_sandbox_new(&o, err, sizeof err);
  if (m->sandbox == NULL) {
    fprintf(stderr, "trk emulator: %s\n", err);
    free(data);
    free(schema);
    return TRK_EXIT_ERROR;
  }
  m->L = trk_sandbox_state(m->sandbox);
  setup.c = c;
  setup.sandbox = m->sandbox;
  setup.data = data;
  setup.schema = schema;
  setup.stage = "starting";
  lua_pushcfunction(m->L, emu_setup);
  lua_pushlightuserdata(m->L, &setup);
  code = lua_pcall(m->L, 1, 0, 0);
  free(data);
  free(schema);
  if (code != LUA_OK) {
    const char *msg = lua_type(m->L, -1) == LUA_TSTRING ? lua_tostring(m->L, -1)
                                                        : "(no message)";
    if (setup.usage) {
      if (strncmp(msg, "emulator.new: ", 14) == 0) msg += 14;
      code = trk_usage_error("emulator", "%s: %s", setup.usage, msg);
    }
    else {
      fprintf(stderr, "trk emulator: %s: %s\n", setup.stage, msg);
      code = TRK_EXIT_ERROR;
    }
    trk_sandbox_free(m->sandbox);
    m->sandbox = NULL;
    return code;
  }
  m->ref = setup.ref;
  lua_settop(m->L, 0);
  return -1;
}

void trk_emu_model_close (trk_emu_model *m) {
  if (m->sandbox == NULL) return;
  luaL_unref(m->L, LUA_REGISTRYINDEX, m->ref);
  trk_sandbox_free(m->sandbox);
  m->sandbox = NULL;
}

/* emu:client_exports(): what a client needs of the database, printed one line each to out.
   Returns 0, or -1 after saying why on stderr. */
static int emu_exports (lua_State *L) {
  trk_emu_model *m = lua_touserdata(L, 1);
  FILE *out = lua_touserdata(L, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
  lua_getfield(L, -1, "client_exports");
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
    fprintf(out, "%s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return 0;
}

int trk_emu_model_exports (trk_emu_model *m, FILE *out) {
  int code;
  lua_pushcfunction(m->L, emu_exports);
  lua_pushlightuserdata(m->L, m);
  lua_pushlightuserdata(m->L, out);
  code = lua_pcall(m->L, 2, 0, 0);
  if (code != LUA_OK) fprintf(stderr, "trk emulator: %s\n", lua_tostring(m->L, -1));
  lua_settop(m->L, 0);
  return code == LUA_OK ? 0 : -1;
}

/* ---- a request --------------------------------------------------------------------------------- */

/* What trk_emu_model_handle hands emu_handle. */
typedef struct emu_call {
  trk_emu_model *m;
  const char *method, *uri;
  const trk_emu_fields *headers;
  const char *body;
  size_t len;
} emu_call;

/* Pushes the request headers as a table: lower-case names, repeated headers joined by ", ". */
static void emu_push_headers (lua_State *L, const trk_emu_fields *h) {
  lua_createtable(L, 0, (int)h->n);
  for (size_t i = 0; i < h->n; i++) {
    luaL_Buffer b;
    const char *p;
    luaL_buffinit(L, &b);
    for (p = h->v[i].name; *p; p++) luaL_addchar(&b, (char)tolower((unsigned char)*p));
    luaL_pushresult(&b);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TSTRING) {
      lua_pushliteral(L, ", ");
      lua_pushstring(L, h->v[i].value);
      lua_concat(L, 3);
    }
    else {
      lua_pop(L, 1);
      lua_pushstring(L, h->v[i].value);
    }
    lua_rawset(L, -3);
  }
}

/* Headers the front never passes on: its own instructions, and what the HTTP library
   writes itself. */
static int emu_hop_header (const char *name) {
  static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                      "keep-alive", NULL};
  for (int i = 0; names[i]; i++)
    if (strcasecmp(name, names[i]) == 0) return 1;
  return 0;
}

/* In protected mode: calls emu:handle(method, target, headers, body) and checks what it
   answers. Returns status, a list {name, value, name, value, ...} of headers to send,
   the body, the delay in ms, the fault (an index into emu_fault_names) and the length a
   truncated body announces. */
static int emu_handle (lua_State *L) {
  emu_call *x = lua_touserdata(L, 1);
  int isnum, delay = 0, fault = TRK_EMU_FAULT_NONE, n = 0;
  lua_Integer status, full = -1;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, x->m->ref);
  lua_getfield(L, 1, "handle");
  lua_pushvalue(L, 1);
  lua_pushstring(L, x->method);
  lua_pushstring(L, x->uri);
  emu_push_headers(L, x->headers);
  lua_pushlstring(L, x->body ? x->body : "", x->len);
  lua_call(L, 5, 3);                                       /* 2 status, 3 headers, 4 body */
  if (!lua_isnil(L, 4) && lua_type(L, 4) != LUA_TSTRING)
    return luaL_error(L, "emu:handle answered a body of type %s (want a string)",
                      luaL_typename(L, 4));
  lua_newtable(L);                                         /* 5: headers to send */
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      const char *name, *value;
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_error(L, "emu:handle answered a header name of type %s",
                          luaL_typename(L, -2));
      name = lua_tostring(L, -2);
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "emu:handle answered header '%s' of type %s", name,
                          luaL_typename(L, -1));
      value = luaL_tolstring(L, -1, NULL);                 /* a copy: the table is untouched */
      if (strcasecmp(name, EMU_DELAY_HEADER) == 0) {
        char *end;
        double ms = strtod(value, &end);
        if (end == value || *end || !(ms >= 0))
          return luaL_error(L, "emu:handle answered %s: '%s'", EMU_DELAY_HEADER, value);
        delay = ms > TRK_EMU_MAX_DELAY_MS ? TRK_EMU_MAX_DELAY_MS : (int)ms;
      }
      else if (strcasecmp(name, EMU_FAULT_HEADER) == 0) {
        for (fault = 1; emu_fault_names[fault]; fault++)
          if (strcmp(value, emu_fault_names[fault]) == 0) break;
        if (emu_fault_names[fault] == NULL)
          return luaL_error(L, "emu:handle answered %s: '%s' (want drop, truncate or "
                            "malformed)", EMU_FAULT_HEADER, value);
      }
      else if (strcasecmp(name, EMU_LENGTH_HEADER) == 0) {
        char *end;
        errno = 0;
        full = (lua_Integer)strtoll(value, &end, 10);
        if (end == value || *end || errno || full < 0)
          return luaL_error(L, "emu:handle answered %s: '%s'", EMU_LENGTH_HEADER, value);
      }
      else if (strncasecmp(name, EMU_FRONT_HEADER, sizeof EMU_FRONT_HEADER - 1) != 0
               && !emu_hop_header(name)) {
        lua_pushvalue(L, -3);
        lua_rawseti(L, 5, ++n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, 5, ++n);
      }
      lua_pop(L, 2);                                       /* the copy and the value */
    }
  }
  else if (!lua_isnil(L, 3))
    return luaL_error(L, "emu:handle answered headers of type %s (want a table)",
                      luaL_typename(L, 3));
  status = lua_tointegerx(L, 2, &isnum);
  if (fault != TRK_EMU_FAULT_DROP && (!isnum || status < 100 || status > 599))
    return luaL_error(L, "emu:handle answered status %s (want an integer from 100 to 599)",
                      luaL_tolstring(L, 2, NULL));
  lua_pushinteger(L, status);
  lua_pushvalue(L, 5);
  if (lua_isnil(L, 4)) lua_pushliteral(L, "");
  else lua_pushvalue(L, 4);
  lua_pushinteger(L, delay);
  lua_pushinteger(L, fault);
  lua_pushinteger(L, full);
  return 6;
}

/* Message handler: the error and a traceback, for the log. */
static int emu_msgh (lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int trk_emu_model_handle (trk_emu_model *m, const char *method, const char *uri,
                          const trk_emu_fields *headers, const char *body, size_t len,
                          trk_emu_answer *a) {
  lua_State *L = m->L;
  emu_call x = {m, method, uri, headers, body, len};
  lua_settop(L, 0);
  lua_pushcfunction(L, emu_msgh);
  lua_pushcfunction(L, emu_handle);
  lua_pushlightuserdata(L, &x);
  if (lua_pcall(L, 1, 6, 1) != LUA_OK) {
    fprintf(stderr, "trk emulator: error in the model: %s\n",
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)");
    lua_settop(L, 0);
    return 0;
  }
  /* stack: msgh, status, headers list, body, delay, fault, full length; checked by
     emu_handle */
  a->status = (int)lua_tointeger(L, 2);
  a->headers = 3;
  a->body = lua_tolstring(L, 4, &a->len);
  a->delay = (int)lua_tointeger(L, 5);
  a->fault = (trk_emu_fault)lua_tointeger(L, 6);
  a->full = lua_tointeger(L, 7);
  return 1;
}
