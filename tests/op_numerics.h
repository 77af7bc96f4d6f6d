// The forward op test table for special values: every op with float inputs has a NaN row
// and an Inf row (or an exemption with a reason), checked in float32 and float64 by
// tests/test_op_numerics.cc, whose coverage test fails for a registered op with neither.
//
// NaN must propagate as in TensorFlow and PyTorch: an elementwise op maps NaN to NaN, a
// reduction or window over a NaN gives NaN, argmax/argmin pick the first NaN (NumPy), and
// nothing turns NaN into a plausible number. Inf rows pin down +-Inf arithmetic
// (exp(-inf) = 0, relu(-inf) = 0, max of [-inf, -inf] = -inf, inf - inf = NaN, ...).
//
// Rows live per op family in tests/numerics_rows_<family>.cc (all linked into
// test_op_numerics) and register themselves like the gradient cases:
//
//   std::vector<NumericsRow> my_rows() {
//     return join({
//         unary("Exp", ops::exp, {{kNaN, kNaN}, {0, 1}}, {{kInf, kInf}, {-kInf, 0}}),
//         binary("Maximum", ops::maximum, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}}, {{-kInf, 1, 1}}),
//         rows("Softmax", {T({1, kNaN, 2}, {1, 3})}, {kNaN, kNaN, kNaN}, {T({kInf, 1, 0}, {1, 3})},
//              {kNaN, kNaN, kNaN}, [](const Scope& s, const X& x) { return ops::softmax(s, x[0]); }),
//         exempt("Shape", "reads only the input's shape"),
//     });
//   }
//   const bool registered = testing::register_numerics_rows(my_rows);
#pragma once

#include <sluice/sluice.h>

#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// Expected-value wildcards (never produced by an op in a row): any NaN or +-Inf, and any
// finite number (for outputs whose exact value is not the point of the row).
constexpr double kNonFinite = 1.25e300;
constexpr double kFinite = -1.25e300;

using X = std::vector<Output>;
using Build = std::function<Output(const Scope&, const X&)>;

struct NumericsRow {
  std::string op;    // the registered op type the row covers (must appear in the built graph)
  std::string kind;  // "nan", "inf", or "exempt" (then `reason` says why no rows)
  // Float inputs, given in float64 and fed as placeholders of the dtype under test.
  std::vector<Tensor> inputs;
  Build build;                   // the graph from the placeholders; returns the output checked
  std::vector<double> expected;  // flat values of that output (may hold kNonFinite, kFinite)
  double tolerance = 1e-5;       // relative, on finite expected values
  std::vector<DType> dtypes = {DType::f32, DType::f64};
  std::string reason;            // exempt rows only
};

// A float64 tensor (converted to the tested dtype when fed).
inline Tensor T(std::vector<double> values, const Shape& shape) {
  return Tensor::from_vector(values, shape);
}

// Elementwise unary op: each {input, expected output} pair list becomes one row, the pairs
// repeated to 67 elements so both the vectorized and the scalar tail code paths see them.
using Pairs = std::vector<std::pair<double, double>>;
std::vector<NumericsRow> unary(const std::string& op,
                               std::function<Output(const Scope&, const Output&)> f,
                               const Pairs& nan_pairs, const Pairs& inf_pairs);
// Elementwise binary op, {a, b, expected} triples, repeated like unary's.
using Triples = std::vector<std::array<double, 3>>;
std::vector<NumericsRow> binary(const std::string& op,
                                std::function<Output(const Scope&, const Output&, const Output&)> f,
                                const Triples& nan_triples, const Triples& inf_triples);
// A NaN row and an Inf row with explicit inputs and expected outputs, one build for both.
std::vector<NumericsRow> rows(const std::string& op, std::vector<Tensor> nan_inputs,
                              std::vector<double> nan_expected, std::vector<Tensor> inf_inputs,
                              std::vector<double> inf_expected, Build build);
// No rows for `op`, and why (no float inputs, only the shape is read, ...).
std::vector<NumericsRow> exempt(const std::string& op, const std::string& reason);

std::vector<NumericsRow> join(std::initializer_list<std::vector<NumericsRow>> parts);

using NumericsRowList = std::vector<NumericsRow> (*)();
bool register_numerics_rows(NumericsRowList rows);
std::vector<NumericsRow> all_numerics_rows();

}  // namespace sluice::testing
