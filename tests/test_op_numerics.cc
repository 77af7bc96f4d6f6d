// Runs the special-value op table (tests/op_numerics.h, rows in tests/numerics_rows_*.cc) in
// float32 and float64, and the coverage test: every registered op has a NaN row and an Inf
// row, or an exemption with a reason.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "op_numerics.h"

namespace sluice::testing {

namespace {

std::vector<NumericsRowList>& registry() {
  static std::vector<NumericsRowList> lists;
  return lists;
}

constexpr int64_t kRepeat = 67;  // > 2 AVX-512 vectors of float32, and not a multiple of 8

NumericsRow make_row(const std::string& op, const std::string& kind, std::vector<Tensor> inputs,
                     std::vector<double> expected, Build build) {
  NumericsRow r;
  r.op = op;
  r.kind = kind;
  r.inputs = std::move(inputs);
  r.expected = std::move(expected);
  r.build = std::move(build);
  return r;
}

}  // namespace

bool register_numerics_rows(NumericsRowList rows) {
  registry().push_back(rows);
  return true;
}

std::vector<NumericsRow> all_numerics_rows() {
  std::vector<NumericsRow> all;
  for (NumericsRowList f : registry()) {
    std::vector<NumericsRow> part = f();
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

std::vector<NumericsRow> join(std::initializer_list<std::vector<NumericsRow>> parts) {
  std::vector<NumericsRow> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

std::vector<NumericsRow> unary(const std::string& op,
                               std::function<Output(const Scope&, const Output&)> f,
                               const Pairs& nan_pairs, const Pairs& inf_pairs) {
  auto one = [&](const std::string& kind, const Pairs& pairs) {
    std::vector<double> in, want;
    for (int64_t i = 0; i < kRepeat; ++i) {
      in.push_back(pairs[i % pairs.size()].first);
      want.push_back(pairs[i % pairs.size()].second);
    }
    return make_row(op, kind, {T(in, {kRepeat})}, want,
                    [f](const Scope& s, const X& x) { return f(s, x[0]); });
  };
  return {one("nan", nan_pairs), one("inf", inf_pairs)};
}

std::vector<NumericsRow> binary(const std::string& op,
                                std::function<Output(const Scope&, const Output&, const Output&)> f,
                                const Triples& nan_triples, const Triples& inf_triples) {
  auto one = [&](const std::string& kind, const Triples& triples) {
    std::vector<double> a, b, want;
    for (int64_t i = 0; i < kRepeat; ++i) {
      const auto& t = triples[i % triples.size()];
      a.push_back(t[0]);
      b.push_back(t[1]);
      want.push_back(t[2]);
    }
    return make_row(op, kind, {T(a, {kRepeat}), T(b, {kRepeat})}, want,
                    [f](const Scope& s, const X& x) { return f(s, x[0], x[1]); });
  };
  return {one("nan", nan_triples), one("inf", inf_triples)};
}

std::vector<NumericsRow> rows(const std::string& op, std::vector<Tensor> nan_inputs,
                              std::vector<double> nan_expected, std::vector<Tensor> inf_inputs,
                              std::vector<double> inf_expected, Build build) {
  return {make_row(op, "nan", std::move(nan_inputs), std::move(nan_expected), build),
          make_row(op, "inf", std::move(inf_inputs), std::move(inf_expected), build)};
}

std::vector<NumericsRow> exempt(const std::string& op, const std::string& reason) {
  NumericsRow r;
  r.op = op;
  r.kind = "exempt";
  r.reason = reason;
  return {r};
}

namespace {

struct Param {
  NumericsRow row;
  DType dtype;
  std::string name;
};

std::vector<Param> params() {
  std::vector<Param> out;
  std::map<std::string, int> seen;
  for (const NumericsRow& r : all_numerics_rows()) {
    if (r.kind == "exempt") continue;
    const int n = seen[r.op + r.kind]++;
    for (DType dt : r.dtypes) {
      std::string name = r.op + "_" + r.kind + (n ? std::to_string(n) : "") + "_" + dtype_name(dt);
      out.push_back({r, dt, name});
    }
  }
  return out;
}

// Test names, not 248-byte dumps, in gtest's messages.
void PrintTo(const Param& p, std::ostream* os) { *os << p.name; }

std::string show(double v) {
  if (v == kNonFinite) return "non-finite";
  if (v == kFinite) return "finite";
  std::ostringstream os;
  os << v;
  return os.str();
}

bool matches(double got, double want, double tol) {
  if (want == kNonFinite) return !std::isfinite(got);
  if (want == kFinite) return std::isfinite(got);
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::isfinite(got) && std::abs(got - want) <= tol * std::max(1.0, std::abs(want));
}

class OpNumerics : public ::testing::TestWithParam<Param> {};

TEST_P(OpNumerics, PropagatesSpecialValues) {
  const NumericsRow& row = GetParam().row;
  const DType dt = GetParam().dtype;
  Graph g;
  Scope root(g);
  X xs;
  FeedList feeds;
  for (size_t i = 0; i < row.inputs.size(); ++i) {
    xs.push_back(ops::placeholder(root.named("x" + std::to_string(i)), dt, row.inputs[i].shape()));
    feeds.emplace_back(xs.back(), row.inputs[i].cast(dt));
  }
  const Output y = row.build(root, xs);
  bool has_op = false, has_variables = false;
  for (const Operation& op : g.operations()) {
    has_op = has_op || op.type() == row.op;
    has_variables = has_variables || op.type() == "VariableV2";
  }
  ASSERT_TRUE(has_op) << "the row for " << row.op << " builds no " << row.op << " node";
  Session sess(g, SessionOptions{1});
  if (has_variables) sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor out = sess.run(feeds, {y})[0];
  ASSERT_EQ(out.num_elements(), static_cast<int64_t>(row.expected.size())) << out.summary();
  // float32 rounds hand-computed references at ~1e-7; allow a little more.
  const double tol = std::max(row.tolerance, dt == DType::f32 ? 2e-6 : 0.0);
  int bad = 0;
  for (int64_t i = 0; i < out.num_elements() && bad < 8; ++i) {
    const double got = out.as_double(i), want = row.expected[i];
    if (!matches(got, want, tol)) {
      ++bad;
      ADD_FAILURE() << row.op << " (" << row.kind << ", " << dtype_name(dt) << ") element " << i
                    << ": got " << got << ", want " << show(want) << "\ninputs: "
                    << [&] {
                         std::string s;
                         for (const Tensor& t : row.inputs) s += t.to_string(16) + " ";
                         return s;
                       }();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, OpNumerics, ::testing::ValuesIn(params()),
                         [](const auto& info) { return info.param.name; });

TEST(OpNumericsCoverage, EveryRegisteredOpHasNaNAndInfRowsOrAnExemption) {
  std::map<std::string, std::set<std::string>> kinds;
  for (const NumericsRow& r : all_numerics_rows()) {
    if (r.kind == "exempt") {
      EXPECT_FALSE(r.reason.empty()) << r.op << " is exempt without a reason";
    } else {
      EXPECT_TRUE(r.kind == "nan" || r.kind == "inf") << r.op << ": unknown row kind " << r.kind;
      EXPECT_FALSE(r.expected.empty()) << r.op << " " << r.kind << " row expects nothing";
    }
    kinds[r.op].insert(r.kind);
  }
  std::vector<std::string> missing;
  for (const OpDef* def : OpRegistry::global().all()) {
    if (def->name.rfind("Test", 0) == 0) continue;  // Test*: ops registered by tests
    const std::set<std::string>& k = kinds[def->name];
    if (k.count("exempt")) continue;
    if (!k.count("nan")) missing.push_back(def->name + " (no NaN row)");
    if (!k.count("inf")) missing.push_back(def->name + " (no Inf row)");
  }
  std::sort(missing.begin(), missing.end());
  EXPECT_TRUE(missing.empty()) << [&] {
    std::string s = "add rows in tests/numerics_rows_<family>.cc, or exempt(op, reason):";
    for (const auto& m : missing) s += "\n  " + m;
    return s;
  }();
}

}  // namespace
}  // namespace sluice::testing
