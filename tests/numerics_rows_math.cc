// NaN and Inf rows for the extended math families: unary math (erf, rounding, trigonometric,
// hyperbolic, log1p/expm1, the is_* predicates), the extra binary ops, clip_by_value and the
// activations with their gradient ops (reached through gradients()).
#include "op_numerics.h"

namespace sluice::testing {
namespace {

constexpr double kHalfPi = 1.5707963267948966;

std::vector<NumericsRow> unary_math_rows() {
  return join({
      unary("Erf", ops::erf, {{kNaN, kNaN}, {0, 0}, {0.5, 0.5204998778130465}},
            {{kInf, 1}, {-kInf, -1}, {0, 0}}),
      unary("Floor", ops::floor, {{kNaN, kNaN}, {1.5, 1}, {-1.5, -2}},
            {{kInf, kInf}, {-kInf, -kInf}, {2.5, 2}}),
      unary("Ceil", ops::ceil, {{kNaN, kNaN}, {1.5, 2}, {-1.5, -1}},
            {{kInf, kInf}, {-kInf, -kInf}, {2.5, 3}}),
      unary("Round", ops::round, {{kNaN, kNaN}, {1.5, 2}, {2.5, 2}},
            {{kInf, kInf}, {-kInf, -kInf}, {-2.5, -2}}),
      // The periodic functions have no value at +-inf: NaN (IEEE, as C, NumPy, TF).
      unary("Sin", ops::sin, {{kNaN, kNaN}, {0, 0}, {kHalfPi, 1}},
            {{kInf, kNaN}, {-kInf, kNaN}, {0, 0}}),
      unary("Cos", ops::cos, {{kNaN, kNaN}, {0, 1}}, {{kInf, kNaN}, {-kInf, kNaN}, {0, 1}}),
      unary("Tan", ops::tan, {{kNaN, kNaN}, {0, 0}}, {{kInf, kNaN}, {-kInf, kNaN}, {0, 0}}),
      // Outside [-1, 1] the inverse sine and cosine are NaN too.
      unary("Asin", ops::asin, {{kNaN, kNaN}, {1, kHalfPi}, {2, kNaN}},
            {{kInf, kNaN}, {-kInf, kNaN}, {0, 0}}),
      unary("Acos", ops::acos, {{kNaN, kNaN}, {1, 0}, {-2, kNaN}},
            {{kInf, kNaN}, {-kInf, kNaN}, {0, kHalfPi}}),
      unary("Atan", ops::atan, {{kNaN, kNaN}, {0, 0}, {1, 0.7853981633974483}},
            {{kInf, kHalfPi}, {-kInf, -kHalfPi}, {0, 0}}),
      unary("Sinh", ops::sinh, {{kNaN, kNaN}, {0, 0}},
            {{kInf, kInf}, {-kInf, -kInf}, {1000, kInf}}),
      unary("Cosh", ops::cosh, {{kNaN, kNaN}, {0, 1}},
            {{kInf, kInf}, {-kInf, kInf}, {-1000, kInf}}),
      unary("Asinh", ops::asinh, {{kNaN, kNaN}, {0, 0}}, {{kInf, kInf}, {-kInf, -kInf}, {0, 0}}),
      unary("Acosh", ops::acosh, {{kNaN, kNaN}, {1, 0}, {0.5, kNaN}},
            {{kInf, kInf}, {-kInf, kNaN}, {1, 0}}),
      unary("Atanh", ops::atanh, {{kNaN, kNaN}, {0, 0}, {2, kNaN}},
            {{kInf, kNaN}, {-kInf, kNaN}, {1, kInf}, {-1, -kInf}}),
      unary("Log1p", ops::log1p, {{kNaN, kNaN}, {0, 0}, {-2, kNaN}},
            {{kInf, kInf}, {-kInf, kNaN}, {-1, -kInf}}),
      unary("Expm1", ops::expm1, {{kNaN, kNaN}, {0, 0}}, {{kInf, kInf}, {-kInf, -1}, {1000, kInf}}),
      // The predicates: bool out, 1 for true.
      unary("IsNan", ops::is_nan, {{kNaN, 1}, {1, 0}}, {{kInf, 0}, {-kInf, 0}, {0, 0}}),
      unary("IsInf", [](const Scope& s, const Output& x) { return ops::is_inf(s, x); },
            {{kNaN, 0}, {1, 0}}, {{kInf, 1}, {-kInf, 1}, {0, 0}}),
      unary("IsFinite", ops::is_finite, {{kNaN, 0}, {1, 1}}, {{kInf, 0}, {-kInf, 0}, {0, 1}}),
  });
}

std::vector<NumericsRow> binary_math_rows() {
  // x, lo, hi [4]: NaN in any of the three gives NaN (TF's minimum/maximum composite).
  auto clip = [](bool numpy_order) {
    return [numpy_order](const Scope& s, const X& x) {
      return ops::clip_by_value(s, x[0], x[1], x[2], numpy_order);
    };
  };
  const std::vector<Tensor> clip_nan = {T({kNaN, 5, 5, 0.5}, {4}), T({0, kNaN, 0, 0}, {4}),
                                        T({1, 1, kNaN, 1}, {4})};
  const std::vector<Tensor> clip_inf = {T({kInf, -kInf, 5, 3}, {4}), T({0, 0, -kInf, -kInf}, {4}),
                                        T({1, 1, kInf, 1}, {4})};
  return join({
      // TF's float floor_div is floor(a / b).
      binary("FloorDiv", ops::floor_div, {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {7, 2, 3}},
             {{kInf, 2, kInf}, {1, kInf, 0}, {1, 0, kInf}, {kInf, kInf, kNaN}, {-kInf, 2, -kInf}}),
      // The floored remainder takes the divisor's sign: -1 mod inf = inf (NumPy, Python).
      binary("FloorMod", ops::floor_mod, {{kNaN, 2, kNaN}, {1, kNaN, kNaN}, {-7, 2, 1}},
             {{kInf, 2, kNaN}, {1, kInf, 1}, {-1, kInf, kInf}, {1, 0, kNaN}}),
      binary("TruncateMod", ops::truncate_mod, {{kNaN, 2, kNaN}, {1, kNaN, kNaN}, {-7, 2, -1}},
             {{kInf, 2, kNaN}, {1, kInf, 1}, {-1, kInf, -1}, {1, 0, kNaN}}),
      binary("SquaredDifference", ops::squared_difference,
             {{kNaN, 1, kNaN}, {1, kNaN, kNaN}, {1, 3, 4}},
             {{kInf, 1, kInf}, {-kInf, 1, kInf}, {kInf, kInf, kNaN}}),
      exempt("LogicalXor", "bool inputs only"),
      rows("ClipByValue", clip_nan, {kNaN, kNaN, kNaN, 0.5}, clip_inf, {1, 0, 5, 1}, clip(false)),
      rows("ClipByValue", clip_nan, {kNaN, kNaN, kNaN, 0.5}, clip_inf, {1, 0, 5, 1}, clip(true)),
  });
}

// An activation's gradient op: gradients(f(x), x, g) for inputs {x, g}.
Build grad_of(std::function<Output(const Scope&, const Output&)> f) {
  return [f](const Scope& s, const X& x) { return gradients(s, {f(s, x[0])}, {x[0]}, {x[1]})[0]; };
}

std::vector<NumericsRow> activation_rows() {
  auto relu6 = [](const Scope& s, const Output& x) { return ops::relu6(s, x); };
  auto elu = [](const Scope& s, const Output& x) { return ops::elu(s, x); };
  auto leaky = [](const Scope& s, const Output& x) { return ops::leaky_relu(s, x, 0.5); };
  auto softplus = [](const Scope& s, const Output& x) { return ops::softplus(s, x); };
  auto gelu = [](bool approximate) {
    return [approximate](const Scope& s, const Output& x) { return ops::gelu(s, x, approximate); };
  };
  // Gradient rows: x [6] and g [6]. A NaN in x or in g gives NaN, wherever x lies (as
  // ReluGrad: a NaN input must not come back as a zero or finite gradient).
  const Tensor gx = T({kNaN, kNaN, 1, -1, 1, -1}, {6}), gg = T({1, -1, kNaN, kNaN, 2, 3}, {6});
  auto g_nan = [](double at1, double at_minus1) {  // the last two: 2 f'(1), 3 f'(-1)
    return std::vector<double>{kNaN, kNaN, kNaN, kNaN, at1, at_minus1};
  };
  return join({
      unary("Relu6", relu6, {{kNaN, kNaN}, {-1, 0}, {3, 3}, {7, 6}},
            {{kInf, 6}, {-kInf, 0}, {2, 2}}),
      rows("Relu6Grad", {gx, gg}, g_nan(2, 0),
           {T({kInf, -kInf, 1, 7, 1, -1}, {6}), T({1, 1, kInf, kInf, -kInf, kInf}, {6})},
           {0, 0, kInf, 0, -kInf, 0}, grad_of(relu6)),
      unary("Elu", elu, {{kNaN, kNaN}, {0, 0}, {-1, -0.6321205588285577}, {2, 2}},
            {{kInf, kInf}, {-kInf, -1}, {1, 1}}),
      // d/dx elu = 1 above 0, y + 1 = e^x below: e^-inf = 0.
      rows("EluGrad", {gx, gg}, g_nan(2, 1.103638323514327),
           {T({kInf, -kInf, 1, -1000, 2, -1}, {6}), T({1, 1, kInf, 3, -kInf, 1}, {6})},
           {1, 0, kInf, 0, -kInf, 0.36787944117144233}, grad_of(elu)),
      unary("LeakyRelu", leaky, {{kNaN, kNaN}, {-2, -1}, {2, 2}},
            {{kInf, kInf}, {-kInf, -kInf}, {-4, -2}}),
      rows("LeakyReluGrad", {gx, gg}, g_nan(2, 1.5),
           {T({kInf, -kInf, 1, -1, 2, -1}, {6}), T({1, 1, kInf, kInf, -kInf, -kInf}, {6})},
           {1, 0.5, kInf, kInf, -kInf, -kInf}, grad_of(leaky)),
      unary("Softplus", softplus, {{kNaN, kNaN}, {0, 0.6931471805599453}, {100, 100}},
            {{kInf, kInf}, {-kInf, 0}, {-1000, 0}, {1000, 1000}}),
      // d/dx softplus = sigmoid(x): 1 at +inf, 0 at -inf.
      rows("SoftplusGrad", {gx, gg}, g_nan(1.4621171572600098, 0.8068242641099853),
           {T({kInf, -kInf, 0, 0, 1000, -1000}, {6}), T({2, 2, kInf, -kInf, 3, 3}, {6})},
           {2, 0, kInf, -kInf, 3, 0}, grad_of(softplus)),
      // gelu(+inf) = +inf; gelu(-inf) = -inf * Phi(-inf) = -inf * 0 = NaN, as TF and PyTorch.
      unary("Gelu", gelu(false), {{kNaN, kNaN}, {0, 0}, {1, 0.8413447460685429}},
            {{kInf, kInf}, {-kInf, kNaN}, {0, 0}}),
      unary("Gelu", gelu(true), {{kNaN, kNaN}, {0, 0}, {1, 0.8411919906082768}},
            {{kInf, kInf}, {-kInf, kNaN}, {0, 0}}),
      // d/dx gelu(x) = Phi(x) + x phi(x): 1 at large x; g = +-inf scales it.
      rows("GeluGrad", {gx, gg}, g_nan(2.166630941175373, -0.24994641176305887),
           {T({1000, 0, 0, 0, 1000, 0}, {6}), T({1, 1, kInf, -kInf, kInf, 2}, {6})},
           {1, 0.5, kInf, -kInf, kInf, 1}, grad_of(gelu(false))),
      rows("GeluGrad", {gx, gg}, g_nan(2.165928167691565, -0.24889225153734765),
           {T({1000, 0, 0, 0, 1000, 0}, {6}), T({1, 1, kInf, -kInf, kInf, 2}, {6})},
           {1, 0.5, kInf, -kInf, kInf, 1}, grad_of(gelu(true))),
  });
}

std::vector<NumericsRow> math_family_rows() {
  return join({unary_math_rows(), binary_math_rows(), activation_rows()});
}

const bool registered = register_numerics_rows(math_family_rows);

}  // namespace
}  // namespace sluice::testing
