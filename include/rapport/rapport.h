/* Rapport's embeddable C API (ABI version 1): compile rule packs, load a canonical CRM export,
 * evaluate, and get the findings as JSON (`rapport.findings/1`, docs/cli.md), from any host that
 * can call C: a CRM extension runtime, Python (ctypes/cffi), Node (N-API/ffi).
 *
 *   rapport_engine* e = rapport_engine_new();
 *   rapport_engine_add_pack(e, "rulesets/portfolio");
 *   rapport_engine_set(e, "dunbar_limit=120");
 *   if (rapport_engine_compile(e) != RAPPORT_OK) fputs(rapport_engine_diagnostics(e), stderr);
 *   rapport_engine_load(e, "examples/data");
 *   char* json = NULL;
 *   rapport_engine_evaluate(e, "2026-11-01", &json);
 *   ...
 *   rapport_free(json);
 *   rapport_engine_free(e);
 *
 * Rules of the road:
 *  - Every function returns a status; on failure rapport_engine_diagnostics() describes it as a
 *    JSON array of diagnostics (file, line, column, code, message, helps), the same as
 *    `rapport check --diagnostics json`. No function throws, aborts or prints.
 *  - Strings handed out by the library are released with rapport_free(); strings the library
 *    keeps (diagnostics, version) stay valid until the next call on the same engine.
 *  - One engine is used by one thread at a time; different engines are independent.
 *  - The ABI only grows: new functions get new names, and RAPPORT_ABI_VERSION changes only when
 *    something existing changes (the shared library's SONAME is librapport.so.<ABI version>).
 */
#ifndef RAPPORT_RAPPORT_H
#define RAPPORT_RAPPORT_H

#ifdef __cplusplus
extern "C" {
#endif

#define RAPPORT_ABI_VERSION 1

#if defined(__GNUC__)
#define RAPPORT_API __attribute__((visibility("default")))
#else
#define RAPPORT_API
#endif

typedef enum rapport_status {
  RAPPORT_OK = 0,
  RAPPORT_FINDINGS = 1,     /* not returned by this API; kept aligned with the CLI's exit codes */
  RAPPORT_INVALID = 2,      /* a wrong argument, a rule-pack or parameter error, a call out of order */
  RAPPORT_DATA_ERROR = 3,   /* the data folder is missing, malformed or lacks fields the rules use */
  RAPPORT_INTERNAL = 70     /* a bug or out of memory: the engine is still safe to free */
} rapport_status;

typedef struct rapport_engine rapport_engine;

/* The library's version ("0.1.0") and ABI version (RAPPORT_ABI_VERSION it was built with). */
RAPPORT_API const char* rapport_version(void);
RAPPORT_API int rapport_abi_version(void);

/* A new, empty engine; NULL only when out of memory. */
RAPPORT_API rapport_engine* rapport_engine_new(void);
RAPPORT_API void rapport_engine_free(rapport_engine* engine);

/* Before compile: a pack folder, a .rules file or a folder of them; a parameter override file
 * (the `--params` YAML); one `name=value` or `name[key]=value` override. */
RAPPORT_API rapport_status rapport_engine_add_pack(rapport_engine* engine, const char* path);
RAPPORT_API rapport_status rapport_engine_add_params(rapport_engine* engine, const char* path);
RAPPORT_API rapport_status rapport_engine_set(rapport_engine* engine, const char* assignment);

/* Parses and checks the packs and applies the parameters. On RAPPORT_INVALID the diagnostics
 * say what is wrong and where. */
RAPPORT_API rapport_status rapport_engine_compile(rapport_engine* engine);

/* After compile: loads a folder of canonical <entity>.jsonl or <entity>.csv files (what every
 * enabled rule needs). Loading again replaces the data. */
RAPPORT_API rapport_status rapport_engine_load(rapport_engine* engine, const char* data_dir);

/* After load: evaluates every enabled rule as of `as_of` (a date "2026-11-01" or a UTC timestamp;
 * NULL or "" means now) and sets *findings_json to a `rapport.findings/1` document, to be
 * released with rapport_free(). *findings_count, when not NULL, gets the number of findings. */
RAPPORT_API rapport_status rapport_engine_evaluate(rapport_engine* engine, const char* as_of, char** findings_json,
                                                   unsigned long* findings_count);

/* The diagnostics of the last call (a JSON array, "[]" when none): errors and warnings. */
RAPPORT_API const char* rapport_engine_diagnostics(const rapport_engine* engine);

/* Releases a string the library handed out (NULL is fine). */
RAPPORT_API void rapport_free(char* text);

#ifdef __cplusplus
}
#endif

#endif /* RAPPORT_RAPPORT_H */
