/* Fuzz target: the CSV reader of tracker.migrate (migrate.csv), reading the input as the
   content of a file granted to a script, as `trk run SCRIPT --input FILE` does, in trk's own
   sandbox. drivers/csv.lua reads every row, writes them back through migrate.failures and
   reads that file again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_lua.h"
#include "sandbox.h"
#include "sbxlib.h"

static trk_sandbox *fuzz_S;
static char fuzz_in[64], fuzz_out[64], fuzz_extra[160];

static void fuzz_cleanup (void) {
  remove(fuzz_in);
  remove(fuzz_out);
}

int LLVMFuzzerInitialize (int *argc, char ***argv) {
  static const char *inputs[2], *outputs[1];
  trk_options o;
  char err[256];
  const char *strict = getenv("TRK_FUZZ_STRICT");
  (void)argc;
  (void)argv;
  snprintf(fuzz_in, sizeof fuzz_in, "/tmp/trk-fuzz-csv-%ld.csv", (long)getpid());
  snprintf(fuzz_out, sizeof fuzz_out, "/tmp/trk-fuzz-csv-%ld.out.csv", (long)getpid());
  snprintf(fuzz_extra, sizeof fuzz_extra, "%s\t%s\t%s", fuzz_in, fuzz_out,
           strict && strict[0] == '0' ? "" : "strict");
  atexit(fuzz_cleanup);
  inputs[0] = fuzz_in;
  inputs[1] = fuzz_out;              /* the failure file is read back */
  outputs[0] = fuzz_out;
  trk_options_default(&o);
  o.inputs = inputs;
  o.ninputs = 2;
  o.outputs = outputs;
  o.noutputs = 1;
  o.limits.max_cpu = 0;              /* libFuzzer's -timeout watches time; no timer signals */
  o.limits.deadline = 0;
  o.limits.max_output = 0;
  o.limits.max_memory = 0;           /* a memory error would stop the sandbox for good */
  fuzz_S = trk_sandbox_new(&o, err, sizeof err);
  if (fuzz_S == NULL) fuzz_bug("cannot build the sandbox: %s", err);
  lua_State *L = trk_sandbox_state(fuzz_S);
  trk_sandbox_push_env(fuzz_S);
  fuzz_driver(L, "csv", -1);
  lua_pop(L, 1);
  fuzz_cover(L);
  return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  FILE *f = fopen(fuzz_in, "wb");
  if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
    fuzz_bug("cannot write %s", fuzz_in);
  fuzz_run(trk_sandbox_state(fuzz_S), (const char *)data, size, fuzz_extra);
  return 0;
}
