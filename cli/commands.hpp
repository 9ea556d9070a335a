#pragma once
// Subcommands implemented outside app.cpp; each takes the arguments after its name and returns
// the process exit code (see ExitCode in cli/pipeline.hpp).

#include <string>
#include <vector>

namespace rapport::cli {

/// `rapport test PACK...`: runs pack test cases.
int command_test(const std::vector<std::string>& args);
/// `rapport doc PACK`: a pack's Markdown reference.
int command_doc(const std::vector<std::string>& args);
/// `rapport explain RULE PACK... --data DIR --subject ID`: how one rule judged one subject.
int command_explain(const std::vector<std::string>& args);
/// `rapport fetch --source source.yaml --out DIR`: CRM data to canonical `<entity>.jsonl` files.
int command_fetch(const std::vector<std::string>& args);

}  // namespace rapport::cli
