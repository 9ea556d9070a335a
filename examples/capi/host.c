/* A host program embedding Rapport through its C API: compiles the packs given on the command
 * line, loads an export, evaluates, and prints the findings JSON (rapport.findings/1).
 *
 *   rapport_host DATA_DIR AS_OF PACK... [--set name=value]...
 *   build/capi/rapport_host examples/data 2026-11-01 rulesets/portfolio --set dunbar_limit=90
 *
 * Build against an installed library: cc host.c -lrapport -o rapport_host */

#include <stdio.h>
#include <string.h>

#include "rapport/rapport.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s DATA_DIR AS_OF PACK... [--set name=value]...\n", argv[0]);
    return 2;
  }
  rapport_engine* engine = rapport_engine_new();
  if (!engine) return 70;
  rapport_status status = RAPPORT_OK;
  for (int i = 3; i < argc && status == RAPPORT_OK; ++i) {
    if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) status = rapport_engine_set(engine, argv[++i]);
    else status = rapport_engine_add_pack(engine, argv[i]);
  }
  if (status == RAPPORT_OK) status = rapport_engine_compile(engine);
  if (status == RAPPORT_OK) status = rapport_engine_load(engine, argv[1]);
  char* findings = NULL;
  unsigned long count = 0;
  if (status == RAPPORT_OK) status = rapport_engine_evaluate(engine, argv[2], &findings, &count);
  if (status != RAPPORT_OK) {
    fprintf(stderr, "rapport %s (ABI %d) failed with status %d:\n%s\n", rapport_version(), rapport_abi_version(),
            (int)status, rapport_engine_diagnostics(engine));
  } else {
    fputs(findings, stdout);
    fprintf(stderr, "%lu finding(s)\n", count);
  }
  rapport_free(findings);
  rapport_engine_free(engine);
  return (int)status;
}
