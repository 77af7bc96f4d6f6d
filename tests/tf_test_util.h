// Helpers of the TensorFlow-import tests: where the shared TF artifacts live.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sluice::testing {

// The folder of real TensorFlow files (../shared/interop next to the source tree; the
// SLUICE_INTEROP environment variable overrides it). Empty when absent.
inline std::string interop_dir() {
  if (const char* env = std::getenv("SLUICE_INTEROP")) return std::filesystem::is_directory(env) ? env : "";
#ifdef SLUICE_SOURCE_DIR
  const std::filesystem::path src = SLUICE_SOURCE_DIR;
#else
  const std::filesystem::path src = std::filesystem::current_path();
#endif
  // A clone sits next to shared/ (main/ and shared/); a worktree one level deeper (wt/tf).
  for (const auto& p : {src / ".." / "shared" / "interop", src / ".." / ".." / "shared" / "interop"})
    if (std::filesystem::is_directory(p)) return std::filesystem::canonical(p).string();
  return "";
}

// The path of an artifact, or "" (the caller skips) when it is missing.
inline std::string interop_file(const std::string& rel) {
  const std::string dir = interop_dir();
  if (dir.empty()) return "";
  const std::string p = dir + "/" + rel;
  return std::filesystem::exists(p) || std::filesystem::exists(p + ".index") ? p : "";
}

}  // namespace sluice::testing

// Skips the test (with the reason) when the artifact is absent.
#define SLUICE_INTEROP_OR_SKIP(var, rel)                                                              \
  const std::string var = ::sluice::testing::interop_file(rel);                                      \
  if (var.empty()) GTEST_SKIP() << "TensorFlow artifact '" << (rel) << "' not found (../shared/interop " \
                                << "next to the source tree, or set SLUICE_INTEROP)"
