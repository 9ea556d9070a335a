#pragma once
// Runs the `rapport` binary under test as users and schedulers do: arguments through a shell,
// standard output and standard error captured apart, the exit code as a scheduler sees it.
// Test areas define RAPPORT_BINARY (tests/CMakeLists.txt).

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rapport::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when the process did not exit normally (a crash)
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Runs `rapport ARGS` (ARGS is shell text: quote paths with spaces) with the environment
/// assignments `env` ("NAME=value ...") in front.
inline ProcessResult run_rapport(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  std::filesystem::path err = std::filesystem::temp_directory_path() /
                              ("rapport_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::string command = (env.empty() ? "" : env + " ") + std::string(RAPPORT_BINARY) + " " + args + " 2>" + err.string();
  ProcessResult run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 65536> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.out.append(buffer.data(), n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = slurp(err);
  std::filesystem::remove(err);
  return run;
}

/// A fresh folder under the system's temp dir, removed with its contents on scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("rapport_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace rapport::testing
