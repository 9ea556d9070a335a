/* The C API as a C host uses it: only include/rapport/rapport.h and librapport.so, compiled as C.
 * Usage: rapport_capi_test SOURCE_DIR SCRATCH_DIR (the repository, for its packs and example
 * data; a writable folder). Prints each failed check and exits 1 when any failed. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rapport/rapport.h"

static int failures = 0;

#define CHECK(condition)                                                   \
  do {                                                                     \
    if (!(condition)) {                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

static char source[4096];
static char scratch[4096];

static const char* path(const char* base, const char* rest) {
  static char buffer[4][4096];
  static int next = 0;
  char* out = buffer[next++ % 4];
  int n = snprintf(out, 4096, "%s/%s", base, rest);
  if (n < 0 || n >= 4096) {
    fprintf(stderr, "capi_test: path too long: %s/%s\n", base, rest);
    exit(1);
  }
  return out;
}

static unsigned long count_of(const char* text, const char* needle) {
  unsigned long n = 0;
  for (const char* at = strstr(text, needle); at; at = strstr(at + 1, needle)) ++n;
  return n;
}

/* Findings of the portfolio pack over the example export, with one optional override. */
static unsigned long portfolio_findings(const char* assignment, char** json_out) {
  rapport_engine* e = rapport_engine_new();
  CHECK(e != NULL);
  CHECK(rapport_engine_add_pack(e, path(source, "rulesets/portfolio")) == RAPPORT_OK);
  if (assignment) CHECK(rapport_engine_set(e, assignment) == RAPPORT_OK);
  CHECK(rapport_engine_compile(e) == RAPPORT_OK);
  CHECK(rapport_engine_load(e, path(source, "examples/data")) == RAPPORT_OK);
  char* json = NULL;
  unsigned long count = 0;
  CHECK(rapport_engine_evaluate(e, "2026-11-01", &json, &count) == RAPPORT_OK);
  CHECK(json != NULL);
  if (json) {
    CHECK(strstr(json, "\"schema\": \"rapport.findings/1\"") != NULL);
    CHECK(strstr(json, "\"as_of\": \"2026-11-01T00:00:00Z\"") != NULL);
    CHECK(count_of(json, "\"fingerprint\":") == count);
  }
  if (json_out) *json_out = json;
  else rapport_free(json);
  rapport_engine_free(e);
  return count;
}

static void test_versions(void) {
  CHECK(rapport_abi_version() == RAPPORT_ABI_VERSION);
  CHECK(strlen(rapport_version()) > 0);
}

static void test_evaluates_packs_over_an_export(void) {
  char* json = NULL;
  unsigned long by_default = portfolio_findings(NULL, &json);
  CHECK(by_default > 0);
  CHECK(json && strstr(json, "\"rule\": \"unowned_or_inactive_owner\", \"title\"") != NULL);
  CHECK(json && strstr(json, "\"rule\": \"dunbar_portfolio_limit\", \"title\"") == NULL);  /* nobody is over 150 */
  rapport_free(json);
  /* A lower limit: the example's account managers (60 to 107 accounts) are over it. */
  unsigned long lower = portfolio_findings("dunbar_limit=50", &json);
  CHECK(lower > by_default);
  CHECK(json && strstr(json, "\"rule\": \"dunbar_portfolio_limit\", \"title\"") != NULL);
  rapport_free(json);
}

static void test_rule_file_mistakes_come_back_as_diagnostics(void) {
  const char* rules = path(scratch, "broken.rules");
  FILE* f = fopen(rules, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("pack broken\n\nrule r\n  title \"T\"\n  for each a in acounts\n  when true\n  message \"m\"\nend\n", f);
  fclose(f);
  rapport_engine* e = rapport_engine_new();
  CHECK(rapport_engine_add_pack(e, rules) == RAPPORT_OK);
  CHECK(rapport_engine_compile(e) == RAPPORT_INVALID);
  const char* d = rapport_engine_diagnostics(e);
  CHECK(strstr(d, "\"file\":") != NULL);
  CHECK(strstr(d, "\"line\":5") != NULL);
  CHECK(strstr(d, "\"severity\":\"error\"") != NULL);
  CHECK(strstr(d, "accounts") != NULL); /* did you mean `accounts`? */
  rapport_engine_free(e);
}

static void test_calls_out_of_order_and_bad_arguments_are_refused(void) {
  rapport_engine* e = rapport_engine_new();
  char* json = (char*)"untouched";
  CHECK(rapport_engine_compile(e) == RAPPORT_INVALID); /* no pack */
  CHECK(strstr(rapport_engine_diagnostics(e), "add at least one rule pack") != NULL);
  CHECK(rapport_engine_load(e, path(source, "examples/data")) == RAPPORT_INVALID); /* not compiled */
  CHECK(rapport_engine_evaluate(e, NULL, &json, NULL) == RAPPORT_INVALID);          /* nothing loaded */
  CHECK(json == NULL);
  CHECK(rapport_engine_add_pack(e, NULL) == RAPPORT_INVALID);
  CHECK(rapport_engine_add_pack(e, "") == RAPPORT_INVALID);
  CHECK(rapport_engine_add_pack(e, path(source, "no/such/pack")) == RAPPORT_OK);
  CHECK(rapport_engine_compile(e) == RAPPORT_INVALID);
  CHECK(strstr(rapport_engine_diagnostics(e), "no such rule file or directory") != NULL);
  rapport_engine_free(e);

  e = rapport_engine_new();
  CHECK(rapport_engine_add_pack(e, path(source, "rulesets/portfolio")) == RAPPORT_OK);
  CHECK(rapport_engine_compile(e) == RAPPORT_OK);
  CHECK(rapport_engine_add_pack(e, path(source, "rulesets/relationships")) == RAPPORT_INVALID); /* compiled */
  CHECK(rapport_engine_load(e, path(scratch, "no-such-folder")) == RAPPORT_DATA_ERROR);
  CHECK(strstr(rapport_engine_diagnostics(e), "no-such-folder") != NULL);
  CHECK(rapport_engine_load(e, path(source, "examples/data")) == RAPPORT_OK);
  CHECK(rapport_engine_evaluate(e, "next tuesday", &json, NULL) == RAPPORT_INVALID);
  CHECK(strstr(rapport_engine_diagnostics(e), "as_of must be a date") != NULL);
  CHECK(rapport_engine_evaluate(e, "2026-11-01", NULL, NULL) == RAPPORT_INVALID);
  rapport_engine_free(e);

  CHECK(rapport_engine_compile(NULL) == RAPPORT_INVALID);
  CHECK(strcmp(rapport_engine_diagnostics(NULL), "[]") == 0);
  rapport_engine_free(NULL);
  rapport_free(NULL);
}

static void test_unknown_parameter_is_a_diagnostic(void) {
  rapport_engine* e = rapport_engine_new();
  CHECK(rapport_engine_add_pack(e, path(source, "rulesets/portfolio")) == RAPPORT_OK);
  CHECK(rapport_engine_set(e, "dunbar_limt=120") == RAPPORT_OK);
  CHECK(rapport_engine_compile(e) == RAPPORT_INVALID);
  CHECK(strstr(rapport_engine_diagnostics(e), "dunbar_limit") != NULL);
  rapport_engine_free(e);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: rapport_capi_test SOURCE_DIR SCRATCH_DIR\n");
    return 2;
  }
  snprintf(source, sizeof source, "%s", argv[1]);
  snprintf(scratch, sizeof scratch, "%s", argv[2]);
  test_versions();
  test_evaluates_packs_over_an_export();
  test_rule_file_mistakes_come_back_as_diagnostics();
  test_calls_out_of_order_and_bad_arguments_are_refused();
  test_unknown_parameter_is_a_diagnostic();
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("all C API checks passed\n");
  return failures ? 1 : 0;
}
