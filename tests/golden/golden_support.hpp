#pragma once
// Shared helpers for the file-driven golden tests: list cases, compare with the expected file,
// and rewrite expectations when RAPPORT_UPDATE_GOLDEN=1.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace rapport::testing {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Files (or directories when `directories`) under tests/golden/<folder> with the given extension.
inline std::vector<std::string> golden_cases(const std::string& folder, const std::string& extension,
                                             bool directories = false) {
  std::vector<std::string> names;
  std::filesystem::path root = std::filesystem::path(RAPPORT_TEST_DATA) / "golden" / folder;
  if (!std::filesystem::exists(root)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (directories ? entry.is_directory() : entry.path().extension() == extension) {
      names.push_back(directories ? entry.path().filename().string() : entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Compares `actual` with the expectation file; rewrites it when RAPPORT_UPDATE_GOLDEN=1.
inline void expect_golden(const std::filesystem::path& expected_path, const std::string& actual) {
  const char* update = std::getenv("RAPPORT_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(expected_path, std::ios::binary) << actual;
    return;
  }
  std::string expected = std::filesystem::exists(expected_path) ? read_text(expected_path) : std::string();
  EXPECT_EQ(expected, actual) << "golden mismatch for " << expected_path.string() << "\n--- actual output ---\n"
                              << actual << "--- end ---\n(rerun with RAPPORT_UPDATE_GOLDEN=1 to accept)";
}

/// A readable name for a parameterised test from a case name.
inline std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

}  // namespace rapport::testing
