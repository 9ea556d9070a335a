#pragma once
// `rapport fetch`: reads a source file, fetches its objects, maps them onto the canonical model
// and writes `<entity>.jsonl` files atomically. The CLI is a thin wrapper around fetch().

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "connectors/http/options.hpp"
#include "diag/diagnostic.hpp"

namespace rapport::source {

/// Exit codes, as `rapport check` uses them (docs/cli.md).
enum FetchExit : int {
  kFetchOk = 0,
  kFetchConfig = 2,  // source file, mapping file or secret errors
  kFetchSource = 3,  // the CRM failed, or its data cannot be mapped
};

struct FetchOptions {
  std::string source_path;
  std::string out_dir;
  http::ClientOptions client;  // transport settings (tests shorten the backoff)
};

struct FetchReport {
  int exit_code = kFetchOk;
  diag::DiagnosticSink sink;  // configuration mistakes, with positions
  std::string error;          // the failure that stopped the fetch (redacted), when there is one
  std::vector<std::pair<std::string, std::size_t>> written;  // entity, records
};

/// Fetches every object of the source. Nothing is written unless all objects were fetched and
/// mapped; each file is written to a temporary file in `out_dir` and renamed into place.
FetchReport fetch(const FetchOptions& options);

}  // namespace rapport::source
