// Helpers of the Keras HDF5 tests: the staged files, a scratch folder, Debian's python3-h5py.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tf_test_util.h"

#define KERAS_FILE_OR_SKIP(var, rel)                                                                     \
  const std::string var = ::sluice::testing::interop_file("keras/" + std::string(rel));                \
  if (var.empty()) GTEST_SKIP() << "Keras file 'keras/" << (rel) << "' not found (../shared/interop next " \
                                << "to the source tree, or set SLUICE_INTEROP)"

namespace sluice::testing {

// The source tree (for tests/scripts).
inline std::string source_dir() {
#ifdef SLUICE_SOURCE_DIR
  return SLUICE_SOURCE_DIR;
#else
  return std::filesystem::current_path().string();
#endif
}

// Whether Debian's /usr/bin/python3 with h5py and numpy is there (python3-h5py).
inline bool have_h5py() {
  static const bool ok =
      std::system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") == 0;
  return ok;
}

// Runs a python3 command line; returns its exit status (stderr into `err_file`).
inline int run_python(const std::string& args, const std::string& err_file) {
  return std::system(("/usr/bin/python3 " + args + " 2>" + err_file + " >/dev/null").c_str());
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A fresh folder removed at scope exit.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-keras-XXXXXX").string();
    path = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace sluice::testing
