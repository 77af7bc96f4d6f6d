// Small helpers shared by the test suites.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <string>

namespace sluice::testing {

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs `f`, which must throw an E; returns its message. Any other outcome fails the test
// (and returns "").
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

// A fresh folder under the system temp dir, removed (with its contents) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("sluice_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A fixture whose tests each get a fresh temp folder: dir_, and path(name) inside it.
class TempDirTest : public ::testing::Test {
 protected:
  TempDirTest() : dir_(tmp_.path()) {}
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  TempDir tmp_{"test"};
  const std::filesystem::path dir_;
};

}  // namespace sluice::testing
