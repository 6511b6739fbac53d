/* trk emulator's model: tracker.emulator in a state of its own, set up from the command line
   and handed the requests the HTTP front receives, one at a time. */
#ifndef TRK_EMUMODEL_H
#define TRK_EMUMODEL_H

#include <stddef.h>
#include <stdio.h>

#include <lua.h>

#include "emuopts.h"
#include "sandbox.h"

typedef struct trk_emu_model {
  trk_sandbox *sandbox;            /* the host's own state: no sandbox limits */
  lua_State *L;
  int ref;                         /* registry reference to the emulator object */
  char cassette[4096];             /* --replay DIR's cassette file */
} trk_emu_model;

/* Loads the model and its data (--data FILE, --generate, --synthetic or the demo) as c says.
   Returns -1, or the exit code of what it reported: TRK_EXIT_USAGE when --data cannot be read
   or the model refuses a value (naming the option), TRK_EXIT_ERROR when it cannot start. */
int trk_emu_model_open(trk_emu_model *m, const trk_emu_config *c);
void trk_emu_model_close(trk_emu_model *m);

/* Prints what a client needs of the database (its zone, rate budget, stages) as shell export
   lines, one a line, to out. Returns 0, or -1 after saying why on stderr. */
int trk_emu_model_exports(trk_emu_model *m, FILE *out);

/* A request's headers, as the front collects them. */
typedef struct trk_emu_field {
  const char *name, *value;
} trk_emu_field;

typedef struct trk_emu_fields {
  trk_emu_field *v;
  size_t n, cap;
  int oom;
} trk_emu_fields;

/* What the model tells the front to do besides answering. */
typedef enum trk_emu_fault {
  TRK_EMU_FAULT_NONE = 0, TRK_EMU_FAULT_DROP, TRK_EMU_FAULT_TRUNCATE, TRK_EMU_FAULT_MALFORMED
} trk_emu_fault;

/* The model's answer, checked. body and the header list live on the model's stack until the
   front clears it (lua_settop(L, 0)). */
typedef struct trk_emu_answer {
  int status;                      /* 100 to 599; anything when dropped */
  int headers;                     /* stack index of the list {name, value, name, value, ...} */
  const char *body;
  size_t len;
  int delay;                       /* milliseconds to wait before answering */
  trk_emu_fault fault;
  lua_Integer full;                /* the whole length a truncated body announces; -1 */
} trk_emu_answer;

/* Hands one request to the model (emu:handle(method, target, headers, body)). Returns 1 with
   the answer, or 0 when the model failed (said on stderr: the front answers 500). The caller
   holds the model: one request at a time. */
int trk_emu_model_handle(trk_emu_model *m, const char *method, const char *uri,
                         const trk_emu_fields *headers, const char *body, size_t len,
                         trk_emu_answer *a);

#endif
