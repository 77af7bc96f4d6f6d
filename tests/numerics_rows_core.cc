// NaN and Inf rows for the foundation's op families: array, math, reductions, nn.
#include "op_numerics.h"

namespace sluice::testing {
namespace {

Output c64(const Scope& s, std::vector<double> v, const Shape& shape) {
  return ops::constant(s, Tensor::from_vector(v, shape));
}
// A constant of x's dtype.
Output like(const Scope& s, const Output& x, std::vector<double> v, const Shape& shape) {
  return ops::cast(s, c64(s, std::move(v), shape), x.dtype());
}
Output first(const Scope& s, const X& x) { return x[0]; }

std::vector<NumericsRow> array_rows() {
  const Tensor n6 = T({1, kNaN, 3, 4, kNaN, 6}, {2, 3});
  const Tensor i6 = T({1, kInf, 3, 4, -kInf, 6}, {2, 3});
  const std::vector<double> n6v = {1, kNaN, 3, 4, kNaN, 6}, i6v = {1, kInf, 3, 4, -kInf, 6};
  // Ops that move values without arithmetic: the values come out unchanged.
  auto moved = [&](const std::string& op, Build b) { return rows(op, {n6}, n6v, {i6}, i6v, b); };
  return join({
      exempt("Const", "no inputs: the value is an attr"),
      exempt("Placeholder", "no inputs: the value is fed"),
      exempt("Shape", "reads only the input's shape"),
      exempt("Size", "reads only the input's shape"),
      exempt("Fill", "no inputs: the fill value is an attr"),
      exempt("OneHot", "integer indices in; on/off values are attrs"),
      exempt("CheckNumerics", "fails the run on NaN/Inf by design (tests/test_numerics.cc)"),
      moved("Identity", [](const Scope& s, const X& x) { return ops::identity(s, x[0]); }),
      moved("StopGradient", [](const Scope& s, const X& x) { return ops::stop_gradient(s, x[0]); }),
      moved("PlaceholderWithDefault",
            [](const Scope& s, const X& x) { return ops::placeholder_with_default(s, x[0], {-1, 3}); }),
      moved("Reshape", [](const Scope& s, const X& x) { return ops::reshape(s, x[0], {3, 2}); }),
      moved("ReshapeLike", [](const Scope& s, const X& x) {
        return ops::reshape_like(s, x[0], ops::zeros_like(s, ops::reshape(s, x[0], {6})));
      }),
      moved("ExpandDims", [](const Scope& s, const X& x) { return ops::expand_dims(s, x[0], 0); }),
      moved("Squeeze", [](const Scope& s, const X& x) {
        return ops::squeeze(s, ops::reshape(s, x[0], {1, 6}), {0});
      }),
      rows("Transpose", {n6}, {1, 4, kNaN, kNaN, 3, 6}, {i6}, {1, 4, kInf, -kInf, 3, 6},
           [](const Scope& s, const X& x) { return ops::transpose(s, x[0]); }),
      rows("Concat", {n6}, {1, kNaN, 3, 1, kNaN, 3, 4, kNaN, 6, 4, kNaN, 6},
           {i6}, {1, kInf, 3, 1, kInf, 3, 4, -kInf, 6, 4, -kInf, 6},
           [](const Scope& s, const X& x) { return ops::concat(s, {x[0], x[0]}, 1); }),
      rows("Split", {n6}, {kNaN, kNaN}, {i6}, {kInf, -kInf},
           [](const Scope& s, const X& x) {
             return ops::split(s, ops::slice(s, x[0], {0, 1}, {2, 2}), 2, 1)[0];
           }),
      rows("SplitLike", {n6}, {4, kNaN, 6}, {i6}, {4, -kInf, 6},
           [](const Scope& s, const X& x) {
             const Output a = ops::zeros_like(s, ops::slice(s, x[0], {0, 0}, {1, 3}));
             return ops::split_like(s, x[0], {a, a}, 0)[1];
           }),
      rows("Slice", {n6}, {kNaN, 3, kNaN, 6}, {i6}, {kInf, 3, -kInf, 6},
           [](const Scope& s, const X& x) { return ops::slice(s, x[0], {0, 1}, {2, -1}); }),
      // SliceGrad through the gradient of slice: the gradient lands in place, zeros around.
      rows("SliceGrad", {n6, T({kNaN, 2}, {1, 2})}, {0, kNaN, 2, 0, 0, 0},
           {n6, T({kInf, -kInf}, {1, 2})}, {0, kInf, -kInf, 0, 0, 0},
           [](const Scope& s, const X& x) {
             return gradients(s, {ops::slice(s, x[0], {0, 1}, {1, 2})}, {x[0]}, {x[1]})[0];
           }),
      rows("Gather", {n6}, {4, kNaN, 6, 1, kNaN, 3}, {i6}, {4, -kInf, 6, 1, kInf, 3},
           [](const Scope& s, const X& x) {
             return ops::gather(s, x[0], ops::constant(s, Tensor({int32_t{1}, int32_t{0}})));
           }),
      // GatherGrad sums the rows gathered twice: NaN + x and inf + -inf are NaN.
      rows("GatherGrad", {n6, T({kNaN, 1, 2, 3, 4, 5}, {2, 3})}, {kNaN, 5, 7, 0, 0, 0},
           {n6, T({kInf, 1, kInf, -kInf, 4, 5}, {2, 3})}, {kNaN, 5, kInf, 0, 0, 0},
           [](const Scope& s, const X& x) {
             const Output idx = ops::constant(s, Tensor({int32_t{0}, int32_t{0}}));
             return gradients(s, {ops::gather(s, x[0], idx)}, {x[0]}, {x[1]})[0];
           }),
      rows("BroadcastLike", {T({kNaN, 1}, {2, 1})}, {kNaN, kNaN, 1, 1}, {T({kInf, -kInf}, {2, 1})},
           {kInf, kInf, -kInf, -kInf},
           [](const Scope& s, const X& x) {
             return ops::broadcast_like(s, x[0], ops::zeros_like(s, ops::concat(s, {x[0], x[0]}, 1)));
           }),
      rows("SumToLike", {n6}, {5, kNaN, 9}, {i6}, {5, kNaN, 9},
           [](const Scope& s, const X& x) {
             return ops::sum_to_like(s, x[0], ops::zeros_like(s, ops::slice(s, x[0], {0, 0}, {1, 3})));
           }),
      // zeros_like/ones_like read only the shape: 0 and 1 for NaN too (as TensorFlow).
      rows("ZerosLike", {n6}, {0, 0, 0, 0, 0, 0}, {i6}, {0, 0, 0, 0, 0, 0},
           [](const Scope& s, const X& x) { return ops::zeros_like(s, x[0]); }),
      rows("OnesLike", {n6}, {1, 1, 1, 1, 1, 1}, {i6}, {1, 1, 1, 1, 1, 1},
           [](const Scope& s, const X& x) { return ops::ones_like(s, x[0]); }),
      // Float to float keeps NaN and Inf; float to int maps NaN to 0 and saturates +-Inf
      // (C++ leaves both undefined; TensorFlow's result is platform-dependent).
      rows("Cast", {n6}, n6v, {i6}, i6v,
           [](const Scope& s, const X& x) {
             return ops::cast(s, x[0], x[0].dtype() == DType::f32 ? DType::f64 : DType::f32);
           }),
      rows("Cast", {n6}, {1, 0, 3, 4, 0, 6}, {i6}, {1, 2147483647, 3, 4, -2147483648.0, 6},
           [](const Scope& s, const X& x) { return ops::cast(s, x[0], DType::i32); }),
      rows("Select", {n6, T({kNaN, 0, 0, 0, 0, 0}, {2, 3})}, {kNaN, kNaN, 3, 0, kNaN, 6},
           {i6, T({0, 0, 0, -kInf, kInf, 0}, {2, 3})}, {0, kInf, 3, -kInf, -kInf, 6},
           [](const Scope& s, const X& x) {
             const Output cond = ops::constant(s, Tensor({false, true, true}));
             return ops::select(s, cond, x[0], x[1]);
           }),
  });
}

std::vector<NumericsRow> math_rows() {
  return join({
      unary("Neg", ops::neg, {{kNaN, kNaN}, {1, -1}}, {{kInf, -kInf}, {-kInf, kInf}, {2, -2}}),
      unary("Abs", ops::abs, {{kNaN, kNaN}, {-1, 1}}, {{kInf, kInf}, {-kInf, kInf}, {-2, 2}}),
      unary("Sign", ops::sign, {{kNaN, kNaN}, {-3, -1}, {0, 0}, {2, 1}},
            {{kInf, 1}, {-kInf, -1}, {0.5, 1}}),
      unary("Square", ops::square, {{kNaN, kNaN}, {-3, 9}}, {{kInf, kInf}, {-kInf, kInf}, {2, 4}}),
      unary("Exp", ops::exp, {{kNaN, kNaN}, {0, 1}, {1, 2.718281828459045}},
            {{kInf, kInf}, {-kInf, 0}, {0, 1}, {1000, kInf}}),
      unary("Log", ops::log, {{kNaN, kNaN}, {1, 0}, {-1, kNaN}},
            {{kInf, kInf}, {0, -kInf}, {-kInf, kNaN}, {1, 0}}),
      unary("Sqrt", ops::sqrt, {{kNaN, kNaN}, {4, 2}, {-1, kNaN}}, {{kInf, kInf}, {-kInf, kNaN}, {0, 0}}),
      unary("Rsqrt", ops::rsqrt, {{kNaN, kNaN}, {4, 0.5}, {-1, kNaN}}, {{kInf, 0}, {0, kInf}, {4, 0.5}}),
      unary("Reciprocal", ops::reciprocal, {{kNaN, kNaN}, {4, 0.25}},
            {{kInf, 0}, {-kInf, 0}, {0, kInf}, {2, 0.5}}),
      unary("Sigmoid", ops::sigmoid, {{kNaN, kNaN}, {0, 0.5}, {40, 1}, {-2, 0.11920292202211755}},
            {{kInf, 1}, {-kInf, 0}, {0, 0.5}}),
      unary("Tanh", ops::tanh, {{kNaN, kNaN}, {0, 0}, {20, 1}, {0.5, 0.46211715726000974}},
            {{kInf, 1}, {-kInf, -1}, {0, 0}}),
      exempt("LogicalNot", "bool inputs only"),
      exempt("LogicalAnd", "bool inputs only"),
      exempt("LogicalOr", "bool inputs only"),
      binary("Add", ops::add, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {1, 2, 3}},
             {{kInf, 1, kInf}, {kInf, -kInf, kNaN}, {-kInf, -kInf, -kInf}}),
      binary("Sub", ops::sub, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {1, 2, -1}},
             {{kInf, kInf, kNaN}, {1, kInf, -kInf}, {-kInf, kInf, -kInf}}),
      binary("Mul", ops::mul, {{kNaN, 0, kNaN}, {0, kNaN, kNaN}, {2, 3, 6}},
             {{kInf, 0, kNaN}, {kInf, -2, -kInf}, {-kInf, -kInf, kInf}}),
      binary("Div", ops::div, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {0, 0, kNaN}, {3, 2, 1.5}},
             {{1, 0, kInf}, {-1, 0, -kInf}, {kInf, kInf, kNaN}, {1, kInf, 0}, {kInf, 2, kInf}}),
      // IEEE pow: pow(NaN, 0) = 1 and pow(1, NaN) = 1 (as C, NumPy, TensorFlow, PyTorch).
      binary("Pow", ops::pow, {{kNaN, 2, kNaN}, {2, kNaN, kNaN}, {kNaN, 0, 1}, {1, kNaN, 1}, {2, 3, 8}},
             {{kInf, 2, kInf}, {2, -kInf, 0}, {kInf, -1, 0}, {0.5, kInf, 0}, {2, kInf, kInf}}),
      binary("Maximum", ops::maximum, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {kNaN, kNaN, kNaN}, {1, 2, 2}},
             {{-kInf, 1, 1}, {kInf, 1, kInf}, {-kInf, -kInf, -kInf}, {1, kInf, kInf}}),
      binary("Minimum", ops::minimum, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {kNaN, kNaN, kNaN}, {1, 2, 1}},
             {{kInf, 1, 1}, {-kInf, 1, -kInf}, {kInf, kInf, kInf}, {1, -kInf, -kInf}}),
      // Comparisons with NaN are false (NotEqual true), as IEEE.
      binary("Equal", ops::equal, {{kNaN, kNaN, 0}, {kNaN, 1, 0}, {1, 1, 1}},
             {{kInf, kInf, 1}, {kInf, -kInf, 0}, {-kInf, -kInf, 1}}),
      binary("NotEqual", ops::not_equal, {{kNaN, kNaN, 1}, {kNaN, 1, 1}, {1, 1, 0}},
             {{kInf, kInf, 0}, {kInf, -kInf, 1}}),
      binary("Less", ops::less, {{kNaN, 1, 0}, {1, kNaN, 0}, {1, 2, 1}},
             {{-kInf, 1, 1}, {kInf, kInf, 0}, {1, kInf, 1}}),
      binary("LessEqual", ops::less_equal, {{kNaN, kNaN, 0}, {1, kNaN, 0}, {1, 1, 1}},
             {{-kInf, -kInf, 1}, {kInf, 1, 0}}),
      binary("Greater", ops::greater, {{kNaN, 1, 0}, {1, kNaN, 0}, {2, 1, 1}},
             {{kInf, 1, 1}, {-kInf, -kInf, 0}, {1, -kInf, 1}}),
      binary("GreaterEqual", ops::greater_equal, {{kNaN, kNaN, 0}, {1, kNaN, 0}, {1, 1, 1}},
             {{kInf, kInf, 1}, {-kInf, 1, 0}}),
      // A NaN (or inf * 0) reaches every output its row or column feeds, nothing else.
      rows("MatMul", {T({kNaN, 1, 2, 3}, {2, 2}), T({1, 0, 0, 1}, {2, 2})}, {kNaN, kNaN, 2, 3},
           {T({kInf, 1, 2, 3}, {2, 2}), T({1, 0, 1, 1}, {2, 2})}, {kInf, kNaN, 5, 3},
           [](const Scope& s, const X& x) { return ops::matmul(s, x[0], x[1]); }),
      rows("AddN", {T({kNaN, 1, 2}, {3})}, {kNaN, 3, 6}, {T({kInf, -kInf, 2}, {3})}, {kInf, -kInf, 6},
           [](const Scope& s, const X& x) { return ops::add_n(s, {x[0], x[0], x[0]}); }),
      rows("AddN", {T({kNaN, 1, 2}, {3}), T({1, kNaN, 2}, {3})}, {kNaN, kNaN, 4},
           {T({kInf, -kInf, kInf}, {3}), T({-kInf, kInf, 1}, {3})}, {kNaN, kNaN, kInf},
           [](const Scope& s, const X& x) { return ops::add_n(s, {x[0], x[1]}); }),
  });
}

std::vector<NumericsRow> reduction_rows() {
  const Tensor n = T({1, kNaN, 3, 4, 5, 6, kNaN, 2, kNaN}, {3, 3});
  const Tensor i = T({kInf, 1, 2, -kInf, -kInf, 0, kInf, -kInf, 5}, {3, 3});
  return join({
      rows("Sum", {n}, {kNaN, 15, kNaN}, {i}, {kInf, -kInf, kNaN},
           [](const Scope& s, const X& x) { return ops::sum(s, x[0], {1}); }),
      rows("Sum", {n}, {kNaN}, {i}, {kNaN}, [](const Scope& s, const X& x) { return ops::sum(s, x[0]); }),
      rows("Mean", {n}, {kNaN, 5, kNaN}, {i}, {kInf, -kInf, kNaN},
           [](const Scope& s, const X& x) { return ops::mean(s, x[0], {1}); }),
      rows("Mean", {n}, {kNaN, kNaN, kNaN}, {i}, {kNaN, -kInf, 2.3333333333333335},
           [](const Scope& s, const X& x) { return ops::mean(s, x[0], {0}); }),
      // Max/Min: NaN anywhere gives NaN; all -inf gives -inf (not the lowest finite number).
      rows("Max", {n}, {kNaN, 6, kNaN}, {i}, {kInf, 0, kInf},
           [](const Scope& s, const X& x) { return ops::max(s, x[0], {1}); }),
      rows("Max", {n}, {kNaN, kNaN, kNaN}, {T({-kInf, -kInf, -kInf, 1}, {2, 2})}, {-kInf, 1},
           [](const Scope& s, const X& x) { return ops::max(s, x[0], {0}); }),
      rows("Max", {n}, {kNaN}, {T({-kInf, -kInf}, {2})}, {-kInf},
           [](const Scope& s, const X& x) { return ops::max(s, x[0]); }),
      rows("Min", {n}, {kNaN, 4, kNaN}, {i}, {1, -kInf, -kInf},
           [](const Scope& s, const X& x) { return ops::min(s, x[0], {1}); }),
      rows("Min", {n}, {kNaN, kNaN, kNaN}, {T({kInf, kInf, kInf, 1}, {2, 2})}, {kInf, 1},
           [](const Scope& s, const X& x) { return ops::min(s, x[0], {0}); }),
      // NumPy's rule: the first NaN wins.
      rows("ArgMax", {T({1, kNaN, 3, kNaN, 9, 2, 5, 4, kNaN}, {3, 3})}, {1, 0, 2},
           {T({1, kInf, 3, -kInf, -kInf, -kInf, kInf, kInf, 0}, {3, 3})}, {1, 0, 0},
           [](const Scope& s, const X& x) { return ops::argmax(s, x[0], 1); }),
      rows("ArgMax", {T({1, 7, 2, kNaN, kNaN, 0}, {3, 2})}, {2, 1}, {T({-kInf, 1, -kInf, 1}, {2, 2})},
           {0, 0}, [](const Scope& s, const X& x) { return ops::argmax(s, x[0], 0); }),
      rows("ArgMin", {T({1, kNaN, -3, kNaN, -9, 2, 5, 4, kNaN}, {3, 3})}, {1, 0, 2},
           {T({1, -kInf, 3, kInf, kInf, kInf, -kInf, -kInf, 0}, {3, 3})}, {1, 0, 0},
           [](const Scope& s, const X& x) { return ops::argmin(s, x[0], 1); }),
  });
}

std::vector<NumericsRow> nn_rows() {
  const Tensor relu_g = T({1, 2, kNaN, 4, kNaN, 6}, {6});
  return join({
      unary("Relu", ops::relu, {{kNaN, kNaN}, {-1, 0}, {2, 2}, {0, 0}}, {{kInf, kInf}, {-kInf, 0}, {-1, 0}}),
      // ReluGrad(g, y): g where y > 0, else 0; NaN in either stays NaN.
      rows("ReluGrad", {T({kNaN, 1, kNaN, -1, 3, 0}, {6}), relu_g}, {kNaN, 2, kNaN, 0, kNaN, 0},
           {T({kInf, 1, -kInf, -1, 3, 0}, {6}), T({1, kInf, -kInf, 4, kInf, 6}, {6})},
           {1, kInf, 0, 0, kInf, 0},
           [](const Scope& s, const X& x) { return gradients(s, {ops::relu(s, x[0])}, {x[0]}, {x[1]})[0]; }),
      rows("Softmax", {T({1, kNaN, 2, 0, 1, 2}, {2, 3})},
           {kNaN, kNaN, kNaN, 0.09003057317038046, 0.24472847105479764, 0.6652409557748219},
           {T({kInf, 1, 0, -kInf, 0, 0, -kInf, -kInf, -kInf}, {3, 3})},
           {kNaN, kNaN, kNaN, 0, 0.5, 0.5, kNaN, kNaN, kNaN},
           [](const Scope& s, const X& x) { return ops::softmax(s, x[0]); }),
      rows("LogSoftmax", {T({1, kNaN, 2, 0, 0, 0}, {2, 3})},
           {kNaN, kNaN, kNaN, -1.0986122886681098, -1.0986122886681098, -1.0986122886681098},
           {T({kInf, 1, 0, -kInf, 0, 0}, {2, 3})}, {kNaN, kNaN, kNaN, -kInf, -0.6931471805599453, -0.6931471805599453},
           [](const Scope& s, const X& x) { return ops::log_softmax(s, x[0]); }),
      rows("BiasAdd", {T({kNaN, 1, 2, 3}, {2, 2}), T({1, kNaN}, {2})}, {kNaN, kNaN, 3, kNaN},
           {T({kInf, 1, 2, -kInf}, {2, 2}), T({-kInf, 1}, {2})}, {kNaN, 2, -kInf, -kInf},
           [](const Scope& s, const X& x) { return ops::bias_add(s, x[0], x[1]); }),
      // Inference: identity. Training (rate 0.5): a dropped NaN stays NaN (NaN * 0), as
      // TensorFlow's and PyTorch's x * mask.
      rows("Dropout", {T({kNaN, 1, kInf, -2}, {4})}, {kNaN, 1, kInf, -2}, {T({-kInf, 1, kInf, 0}, {4})},
           {-kInf, 1, kInf, 0},
           [](const Scope& s, const X& x) { return ops::dropout(s, x[0], ops::constant(s, Tensor(false)), 0.5); }),
      rows("Dropout", {T({kNaN, kNaN, kNaN, kNaN}, {4})}, {kNaN, kNaN, kNaN, kNaN},
           {T({kInf, kInf, kInf, kInf}, {4})}, {kNonFinite, kNonFinite, kNonFinite, kNonFinite},
           [](const Scope& s, const X& x) { return ops::dropout(s, x[0], ops::constant(s, Tensor(true)), 0.5, 7); }),
  });
}

std::vector<NumericsRow> core_rows() {
  return join({array_rows(), math_rows(), reduction_rows(), nn_rows()});
}

const bool registered = register_numerics_rows(core_rows);

}  // namespace
}  // namespace sluice::testing
