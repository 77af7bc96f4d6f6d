#include "tool_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice::cli {

std::string short_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
    case DType::i8: return "i8";
    case DType::i16: return "i16";
    case DType::u16: return "u16";
    case DType::u32: return "u32";
    case DType::u64: return "u64";
    case DType::boolean: return "bool";
    case DType::string: return "str";
  }
  return "?";
}

namespace {

std::string shell_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace

void run_program(const std::string& program, const std::vector<std::string>& args, const std::string& input) {
  SLUICE_REQUIRE(on_path(program), NotFound, "the program '", program,
                 "' is not installed (Debian: apt-get install ", program == "dot" ? "graphviz" : "gnuplot-nox", ")");
  char err_path[] = "/tmp/sluice-cli-XXXXXX";
  const int fd = mkstemp(err_path);
  SLUICE_REQUIRE(fd >= 0, Internal, "cannot create a temporary file for ", program, "'s messages");
  close(fd);
  std::string cmd = program;
  for (const std::string& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>" + shell_quote(err_path);
  std::FILE* p = popen(cmd.c_str(), "w");
  if (!p) {
    std::remove(err_path);
    throw Internal("cannot start " + program);
  }
  std::fwrite(input.data(), 1, input.size(), p);
  const int status = pclose(p);
  std::ifstream err(err_path);
  std::string first;
  std::getline(err, first);
  std::remove(err_path);
  SLUICE_REQUIRE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, Internal, program, " failed",
                 first.empty() ? std::string() : ": " + first);
}

std::string extension_of(const std::string& path) {
  const size_t dot = path.rfind('.'), slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot + 1);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

void render_dot(const std::string& dot, const std::string& out) {
  const std::string ext = extension_of(out);
  if (ext == "dot" || ext == "gv") {
    io::write_file_atomically(out, dot);
    return;
  }
  SLUICE_REQUIRE(ext == "svg" || ext == "png", InvalidArgument, "'", out, "': the picture must be .svg, .png or .dot");
  run_program("dot", {"-T" + ext, "-Gdpi=" + std::string(ext == "png" ? "96" : "72"), "-o", out}, dot);
}

}  // namespace sluice::cli
