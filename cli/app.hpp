#pragma once
// The command-line front end: `rapport check|lint|params|codes`.

namespace rapport::cli {

/// Runs the command line; returns the process exit code (see ExitCode in cli/pipeline.hpp).
int run(int argc, char** argv);

}  // namespace rapport::cli
