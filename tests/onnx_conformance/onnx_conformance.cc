// ONNX's backend test data (Debian's libonnx-testdata) run through Sluice's importer: every
// test of the four suites (node, pytorch-converted, pytorch-operator, simple) is imported;
// those whose ops Sluice maps are run on each test_data_set_N and every output is compared
// with ONNX's backend-test tolerance, |got - want| <= atol + rtol * |want| (rtol 1e-3,
// atol 1e-7; NaN matches NaN). Prints one table (per suite: passed / failed / unsupported)
// and the failures. Exits 1 when a test fails that is not in expected_failures.txt (or
// one listed there passes, so the list stays true), 77 (ctest's skip) without the data.
//
//   onnx_conformance [--data DIR] [--expected FILE] [--filter SUBSTRING] [--unsupported] [-v]
//
// --unsupported also lists, per missing op type or unmapped attribute, how many tests wait
// on it.
#include <onnx/onnx_pb.h>

#include <sluice/sluice.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace sluice;

namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-7;
const char* kSuites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

enum class Status { passed, failed, unsupported };

// Issue 12's op set: the targets count the tests whose every op is one of these and whose
// tensors are not float16, bfloat16 or string.
const std::set<std::string> kIssueOps = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Abs", "Neg",
    "Erf", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Softmax",
    "LogSoftmax", "Softplus", "Softsign", "BatchNormalization", "InstanceNormalization", "LayerNormalization", "LRN",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Reshape", "Flatten", "Transpose", "Concat",
    "Split", "Slice", "Gather", "Squeeze", "Unsqueeze", "Pad", "Tile", "Expand", "Shape", "Range", "Resize",
    "Upsample", "Constant", "ConstantOfShape", "Identity", "Dropout", "Cast", "Clip", "Where", "Equal", "Less",
    "Greater", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "LSTM", "GRU", "RNN"};

// True when a model holds a float16, bfloat16 or string tensor anywhere the types show:
// graph inputs, outputs, intermediate value infos, initializers, Cast targets, Constants.
bool has_excluded_type(const ::onnx::ModelProto& m) {
  auto bad = [](int t) {
    return t == ::onnx::TensorProto::FLOAT16 || t == ::onnx::TensorProto::BFLOAT16 || t == ::onnx::TensorProto::STRING;
  };
  auto bad_value = [&](const ::onnx::ValueInfoProto& v) {
    return v.type().has_tensor_type() && bad(v.type().tensor_type().elem_type());
  };
  const auto& g = m.graph();
  for (const auto& v : g.input()) if (bad_value(v)) return true;
  for (const auto& v : g.output()) if (bad_value(v)) return true;
  for (const auto& v : g.value_info()) if (bad_value(v)) return true;
  for (const auto& t : g.initializer()) if (bad(t.data_type())) return true;
  for (const auto& n : g.node())
    for (const auto& a : n.attribute())
      if ((a.name() == "to" && bad(static_cast<int>(a.i()))) || (a.has_t() && bad(a.t().data_type()))) return true;
  return false;
}

struct Result {
  std::string suite, name;
  Status status = Status::passed;
  std::string detail;                    // why it failed or is unsupported
  std::vector<std::string> missing_ops;  // op types without a table entry
  bool in_issue_set = false;             // counted by issue 12's targets (kIssueOps)
};

std::string first_line(const std::string& s, size_t max = 300) {
  std::string l = s.substr(0, s.find('\n'));
  return l.size() > max ? l.substr(0, max) + "..." : l;
}

// Compares one output; "" when it matches.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + dtype_name(got.dtype()) + ", expected " + dtype_name(want.dtype());
  if (got.shape() != want.shape()) return "shape " + got.shape().to_string() + ", expected " + want.shape().to_string();
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const double g = got.as_double(i), w = want.as_double(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::fabs(g - w) <= kAtol + kRtol * std::fabs(w))) {
      std::ostringstream os;
      os << "element " << i << " is " << g << ", expected " << w << " (shape " << want.shape().to_string() << ")";
      return os.str();
    }
  }
  return "";
}

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  // input_10.pb after input_9.pb: order by the number.
  std::sort(out.begin(), out.end(), [&](const fs::path& a, const fs::path& b) {
    auto num = [&](const fs::path& p) { return std::atoi(p.filename().string().c_str() + prefix.size()); };
    return num(a) < num(b);
  });
  return out;
}

Result run_test(const std::string& suite, const fs::path& dir, const std::set<std::string>& supported) {
  Result r;
  r.suite = suite;
  r.name = dir.filename().string();
  const fs::path model_path = dir / "model.onnx";
  // The model's ordered inputs (those without an initializer) and outputs.
  ::onnx::ModelProto model;
  {
    std::ifstream f(model_path, std::ios::binary);
    if (!model.ParseFromIstream(&f)) {
      r.status = Status::failed;
      r.detail = "model.onnx does not parse";
      return r;
    }
  }
  std::set<std::string> missing;
  for (const auto& node : model.graph().node())
    if (!supported.count(node.op_type()) || !(node.domain().empty() || node.domain() == "ai.onnx"))
      missing.insert(node.op_type());
  r.missing_ops.assign(missing.begin(), missing.end());
  r.in_issue_set = !has_excluded_type(model);
  for (const auto& node : model.graph().node())
    if (!kIssueOps.count(node.op_type()) || !(node.domain().empty() || node.domain() == "ai.onnx"))
      r.in_issue_set = false;
  std::set<std::string> inits;
  for (const auto& t : model.graph().initializer()) inits.insert(t.name());
  std::vector<std::string> inputs, outputs;
  for (const auto& in : model.graph().input())
    if (!inits.count(in.name())) inputs.push_back(in.name());
  for (const auto& out : model.graph().output()) outputs.push_back(out.name());

  Graph g;
  io::ImportResult imported;
  try {
    imported = io::import_onnx(g, model_path.string());
  } catch (const Unimplemented& e) {
    r.status = Status::unsupported;
    r.detail = first_line(e.what());
    return r;
  } catch (const Error& e) {
    r.status = Status::failed;
    r.detail = std::string("import: ") + first_line(e.what());
    return r;
  }
  const io::Signature& sig = imported.signatures.at("serving_default");
  Session sess(g);
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  for (const fs::path& set : sets) {
    try {
      FeedList feeds;
      const auto in_files = sorted_files(set, "input_");
      const auto out_files = sorted_files(set, "output_");
      if (in_files.size() > inputs.size()) throw InvalidArgument("more input files than model inputs");
      for (size_t i = 0; i < in_files.size(); ++i)
        feeds.emplace_back(sig.inputs.at(inputs[i]), io::read_onnx_tensor(in_files[i].string()));
      std::vector<TensorRef> fetches;
      for (size_t i = 0; i < out_files.size() && i < outputs.size(); ++i) fetches.emplace_back(sig.outputs.at(outputs[i]));
      const std::vector<Tensor> got = sess.run(feeds, fetches);
      for (size_t i = 0; i < got.size(); ++i) {
        const std::string diff = compare(got[i], io::read_onnx_tensor(out_files[i].string()));
        if (!diff.empty()) {
          r.status = Status::failed;
          r.detail = set.filename().string() + " output '" + outputs[i] + "': " + diff;
          return r;
        }
      }
    } catch (const Unimplemented& e) {
      r.status = Status::unsupported;
      r.detail = first_line(e.what());
      return r;
    } catch (const std::exception& e) {
      r.status = Status::failed;
      r.detail = set.filename().string() + ": " + first_line(e.what());
      return r;
    }
  }
  return r;
}

// "suite/test_name  reason" lines; '#' starts a comment.
std::map<std::string, std::string> read_expected(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    const size_t hash = line.find('#');
    if (hash == 0) continue;
    std::istringstream is(line);
    std::string key, reason;
    if (!(is >> key)) continue;
    std::getline(is, reason);
    out[key] = reason;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/libonnx-testdata/data", expected_path, filter;
  bool list_unsupported = false, verbose = false;
  if (const char* env = std::getenv("SLUICE_ONNX_TESTDATA")) data = env;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--expected" && i + 1 < argc) expected_path = argv[++i];
    else if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "--unsupported") list_unsupported = true;
    else if (a == "-v") verbose = true;
    else {
      std::fprintf(stderr, "usage: %s [--data DIR] [--expected FILE] [--filter S] [--unsupported] [-v]\n", argv[0]);
      return 2;
    }
  }
  if (!fs::is_directory(fs::path(data) / "node")) {
    std::printf("SKIPPED: no ONNX test data at %s (install libonnx-testdata)\n", data.c_str());
    return 77;
  }
  const std::map<std::string, std::string> expected = expected_path.empty() ? std::map<std::string, std::string>{}
                                                                            : read_expected(expected_path);
  std::set<std::string> supported;
  for (const auto& op : io::onnx_supported_ops()) supported.insert(op.op_type);

  const auto start = std::chrono::steady_clock::now();
  std::vector<Result> results;
  for (const char* suite : kSuites) {
    const fs::path sdir = fs::path(data) / suite;
    if (!fs::is_directory(sdir)) continue;
    std::vector<fs::path> tests;
    for (const auto& e : fs::directory_iterator(sdir))
      if (fs::exists(e.path() / "model.onnx")) tests.push_back(e.path());
    std::sort(tests.begin(), tests.end());
    for (const fs::path& t : tests) {
      if (!filter.empty() && t.filename().string().find(filter) == std::string::npos) continue;
      results.push_back(run_test(suite, t, supported));
      if (verbose) {
        const Result& r = results.back();
        const char* s = r.status == Status::passed ? "pass" : r.status == Status::failed ? "FAIL" : "unsupported";
        std::printf("%-60s %s %s\n", (r.suite + "/" + r.name).c_str(), s, r.detail.c_str());
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("\nONNX conformance (ONNX 1.12 backend test data, rtol %g, atol %g)\n", kRtol, kAtol);
  std::printf("%-20s %8s %8s %12s %8s\n", "suite", "passed", "failed", "unsupported", "total");
  int tp = 0, tf = 0, tu = 0;
  for (const char* suite : kSuites) {
    int p = 0, f = 0, u = 0;
    for (const Result& r : results) {
      if (r.suite != suite) continue;
      (r.status == Status::passed ? p : r.status == Status::failed ? f : u)++;
    }
    std::printf("%-20s %8d %8d %12d %8d\n", suite, p, f, u, p + f + u);
    tp += p;
    tf += f;
    tu += u;
  }
  std::printf("%-20s %8d %8d %12d %8d\n", "all", tp, tf, tu, tp + tf + tu);
  std::printf("passed %d of %d tests (%.1f s)\n", tp, tp + tf + tu, seconds);
  // Issue 12's targets: per suite, the tests whose ops are all in its set and whose types are
  // not float16/bfloat16/string, and how many of them pass.
  std::printf("\nin issue 12's op set (no float16/bfloat16/string): passed / tests\n");
  for (const char* suite : kSuites) {
    int p = 0, n = 0;
    for (const Result& r : results) {
      if (r.suite != suite || !r.in_issue_set) continue;
      ++n;
      p += r.status == Status::passed;
    }
    std::printf("%-20s %8d / %d\n", suite, p, n);
  }

  int unexpected = 0;
  std::vector<std::string> lines;
  for (const Result& r : results) {
    const std::string key = r.suite + "/" + r.name;
    const bool listed = expected.count(key) > 0;
    if (r.status == Status::failed) {
      lines.push_back((listed ? "  expected failure  " : "  FAILED            ") + key + ": " + r.detail);
      unexpected += !listed;
    } else if (listed && r.status == Status::passed) {
      lines.push_back("  UNEXPECTED PASS   " + key + " (remove it from the expected failures)");
      ++unexpected;
    }
  }
  if (!lines.empty()) {
    std::printf("\nfailures:\n");
    for (const auto& l : lines) std::printf("%s\n", l.c_str());
  }
  if (list_unsupported) {
    // Tests blocked by each missing op type (a test counts once per op it lacks), then the
    // node-level reasons of tests whose op types all have entries.
    std::map<std::string, int> by_op, by_reason;
    for (const Result& r : results) {
      if (r.status != Status::unsupported) continue;
      for (const auto& op : r.missing_ops) ++by_op[op];
      if (r.missing_ops.empty()) {
        std::string why = r.detail;
        const size_t q = why.find("): ");
        if (q != std::string::npos && why.find("ONNX node") != std::string::npos) why = why.substr(q + 3);
        ++by_reason[why];
      }
    }
    std::vector<std::pair<int, std::string>> ops;
    for (const auto& [op, n] : by_op) ops.push_back({-n, op});
    std::sort(ops.begin(), ops.end());
    std::printf("\nunsupported: tests per missing op type\n");
    for (const auto& [n, op] : ops) std::printf("  %4d  %s\n", -n, op.c_str());
    std::printf("\nunsupported: tests whose op types are all mapped, by reason\n");
    for (const auto& [why, n] : by_reason) std::printf("  %4d  %s\n", n, why.c_str());
    std::printf("\nin issue 12's op set but not passing\n");
    for (const Result& r : results)
      if (r.in_issue_set && r.status != Status::passed)
        std::printf("  %s/%s: %s\n", r.suite.c_str(), r.name.c_str(), r.detail.c_str());
  }
  std::printf("\n%d passed, %d failed\n", tp, unexpected);
  return unexpected ? 1 : 0;
}
