/* Fuzz target: the emulator's request handling, as `trk emulator` runs it for an HTTP request
   (runtime/emulator.c -> scripts/tracker/emulator.lua), without a socket. The input holds up
   to FUZZ_MAX_REQUESTS requests separated by lines "~~~", each written as on the wire without
   the HTTP version:

     POST /api/widget/getRecords
     Content-Type: application/json

     {"trackerrms":{"getRecords":{"credentials":{...},"instructions":{...}}}}

   "$JWT" in a header value stands for a token fresh from POST /api/Auth/ExchangeToken (the
   emulator's tokens change with the clock). Every input starts from the same database: the
   target resets it first (POST /_emulator/reset). A bug is an error inside the model (the
   front would answer its own 500), the model's "internal emulator error" answer, or a JSON
   answer (one that starts with { or [) that json.decode cannot read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "emulator.h"
#include "fuzz_lua.h"
#include "sandbox.h"

#define FUZZ_MAX_REQUESTS  8
#define FUZZ_MAX_HEADERS   32
#define FUZZ_SEP           "\n~~~\n"
#define FUZZ_APIKEY        "fuzz-key"
#define FUZZ_USERNAME      "fuzz@example.com"
#define FUZZ_API_TOKEN     "fuzz-token"

static trk_emulator *fuzz_emu;
static int fuzz_decode = LUA_NOREF;  /* the sandbox's json.decode */
static int fuzz_debug;             /* TRK_FUZZ_DEBUG=1: a line a request on stderr */

int LLVMFuzzerInitialize (int *argc, char ***argv) {
  static char *args[] = {"--generate", "12", "--admin", "--apikey", FUZZ_APIKEY, "--username",
                         FUZZ_USERNAME, "--api-token", FUZZ_API_TOKEN, NULL};
  const char *debug = getenv("TRK_FUZZ_DEBUG");
  (void)argc;
  (void)argv;
  fuzz_debug = debug && debug[0] == '1';
  fuzz_emu = trk_emulator_open((int)(sizeof args / sizeof *args) - 1, args);
  if (fuzz_emu == NULL) fuzz_bug("cannot start the emulator");
  lua_State *L = trk_emulator_state(fuzz_emu);
  lua_getfield(L, LUA_REGISTRYINDEX, TRK_ENV_KEY);
  lua_getfield(L, -1, "json");
  lua_getfield(L, -1, "decode");
  if (!lua_isfunction(L, -1)) fuzz_bug("no json.decode in the sandbox");
  fuzz_decode = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 2);
  fuzz_cover(L);
  return 0;
}

/* Is the answer, when it looks like JSON, valid JSON? */
static void fuzz_check_json (const char *method, const char *uri, const char *answer,
                             size_t n) {
  lua_State *L = trk_emulator_state(fuzz_emu);
  size_t i = 0;
  while (i < n && (answer[i] == ' ' || answer[i] == '\n')) i++;
  if (i == n || (answer[i] != '{' && answer[i] != '[')) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_decode);
  lua_pushlstring(L, answer, n);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    fuzz_bug("%s %s: the answer is not valid JSON (%s): %.300s", method, uri,
             lua_tostring(L, -1), answer);
}

/* Hands one request over; a failure of the model is a bug. */
static int fuzz_request (const char *method, const char *uri, const char *const *headers,
                         size_t nheaders, const char *body, size_t len, const char **answer) {
  size_t n;
  int status = trk_emulator_request(fuzz_emu, method, uri, headers, nheaders, body, len, answer,
                                    &n);
  if (fuzz_debug) fprintf(stderr, "%s %s -> %d %.100s\n", method, uri, status, *answer);
  if (status < 0) fuzz_bug("%s %s: the model failed (see above)", method, uri);
  if (status == 500 && strstr(*answer, "internal emulator error"))
    fuzz_bug("%s %s: %s", method, uri, *answer);
  fuzz_check_json(method, uri, *answer, n);
  return status;
}

/* A fresh JWT, copied into buf ("" when the exchange fails). */
static void fuzz_jwt (char *buf, size_t size) {
  static const char body[] = "{\"bearerToken\":\"" FUZZ_API_TOKEN "\"}";
  const char *answer, *p, *q;
  buf[0] = '\0';
  if (fuzz_request("POST", "/api/Auth/ExchangeToken", NULL, 0, body, sizeof body - 1,
                   &answer) != 200) return;
  if ((p = strstr(answer, "\"token\":\"")) == NULL) return;
  p += 9;
  if ((q = strchr(p, '"')) == NULL || (size_t)(q - p) >= size) return;
  memcpy(buf, p, (size_t)(q - p));
  buf[q - p] = '\0';
}

/* Splits one request (NUL-terminated, modified in place) and hands it over. */
static void fuzz_one (char *text, size_t len, char *jwt, size_t jwtsize) {
  const char *headers[2 * FUZZ_MAX_HEADERS];
  char *values[FUZZ_MAX_HEADERS] = {0};
  size_t nh = 0;
  char *end = text + len, *line = text, *nl, *method, *uri, *body = end;
  const char *answer;
  nl = memchr(line, '\n', (size_t)(end - line));
  if (nl) *nl = '\0';
  method = line;
  uri = strchr(line, ' ');
  if (uri == NULL) return;
  *uri++ = '\0';
  line = nl ? nl + 1 : end;
  while (line < end) {                      /* headers, up to an empty line */
    char *colon;
    nl = memchr(line, '\n', (size_t)(end - line));
    if (nl) *nl = '\0';
    if (*line == '\0' || (*line == '\r' && line[1] == '\0')) {
      body = nl ? nl + 1 : end;
      break;
    }
    colon = strchr(line, ':');
    if (colon && nh < FUZZ_MAX_HEADERS) {
      char *v = colon + 1, *at;
      *colon = '\0';
      while (*v == ' ') v++;
      if ((at = strstr(v, "$JWT")) != NULL) {  /* a fresh token in place of $JWT */
        size_t vl = strlen(v), tl;
        if (jwt[0] == '\0') fuzz_jwt(jwt, jwtsize);
        tl = strlen(jwt);
        values[nh] = malloc(vl - 4 + tl + 1);
        if (values[nh] == NULL) abort();
        memcpy(values[nh], v, (size_t)(at - v));
        memcpy(values[nh] + (at - v), jwt, tl);
        strcpy(values[nh] + (at - v) + tl, at + 4);
        v = values[nh];
      }
      headers[2 * nh] = line;
      headers[2 * nh + 1] = v;
      nh++;
    }
    line = nl ? nl + 1 : end;
  }
  fuzz_request(method, uri, headers, nh, body, (size_t)(end - body), &answer);
  for (size_t i = 0; i < nh; i++) free(values[i]);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), *p, *end;
  char jwt[1024] = "";
  const char *answer;
  int n = 0;
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  fuzz_request("POST", "/_emulator/reset", NULL, 0, "", 0, &answer);
  for (p = text, end = text + size; p <= end && n < FUZZ_MAX_REQUESTS; n++) {
    char *sep = strstr(p, FUZZ_SEP);       /* a NUL in the input ends the requests there */
    size_t len = sep ? (size_t)(sep - p) : strlen(p);
    p[len] = '\0';
    fuzz_one(p, len, jwt, sizeof jwt);
    if (sep == NULL) break;
    p = sep + sizeof FUZZ_SEP - 1;
  }
  free(text);
  return 0;
}
