// Replaying fuzz inputs in the unit tests: the checked-in seeds (tests/fuzz/corpus/<target>/)
// and crash inputs (tests/fuzz/regressions/<target>/) run through the target's own harness,
// which aborts on a failed property and so fails the test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sluice::testing {

// tests/fuzz/<sub>, found next to this header. __FILE__ is absolute, or (with ccache's
// base_dir) relative to the folder the compiler ran in: the executable's folder or above.
inline std::filesystem::path fuzz_dir(const std::string& sub) {
  namespace fs = std::filesystem;
  const fs::path rel = fs::path(__FILE__).parent_path() / "fuzz" / sub;
  const fs::path exe_dir = fs::canonical("/proc/self/exe").parent_path();
  for (const fs::path& p : {rel, exe_dir / rel, exe_dir.parent_path() / rel})
    if (fs::exists(p)) return p;
  return rel;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs every file of tests/fuzz/<kind>/<target>/, in name order, through `run`; returns how
// many there were (0 when the folder does not exist).
inline size_t replay_fuzz_inputs(const std::string& kind, const std::string& target,
                                 int (*run)(const uint8_t*, size_t)) {
  const std::filesystem::path dir = fuzz_dir(kind) / target;
  if (!std::filesystem::exists(dir)) return 0;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& f : files) {
    SCOPED_TRACE(f.string());
    const std::string bytes = slurp(f);
    run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return files.size();
}

}  // namespace sluice::testing
