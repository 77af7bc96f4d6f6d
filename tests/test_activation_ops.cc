// Forward values of the activation ops (ops/activation_ops.h) against hand-computed ones
// (reference numbers from Python's math module in float64), NaN and +-inf rows, float32 vs
// float64 agreement of the fused kernels and their gradient ops, and thread-count
// independence of the fused kernels.
#include "op_test_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers

// The common input row: negative, zero, positive, and the three special values.
const std::vector<float> kX = {-3, -1, -0.5f, 0, 0.5f, 2, 7, NAN, INFINITY, -INFINITY};
const Shape kShape{10};

// op(x) with the op's default attrs.
template <class F>
Tensor act(F f, const Tensor& x) {
  return eval([&](const Scope& s) { return f(s, c(s, x)); });
}
#define DEFAULTS(op) [](const Scope& s, const Output& x) { return op(s, x); }

TEST(ActivationOps, Relu6) {
  expect_values(act(DEFAULTS(ops::relu6), f32(kX)), kShape, {0, 0, 0, 0, 0.5, 2, 6, kNaN, 6, 0});
  expect_values(act(DEFAULTS(ops::relu6), f64({-1e300, 5.999, 6.001})), {3}, {0, 5.999, 6}, 1e-12);
  expect_values(act(DEFAULTS(ops::relu6), i32({-3, 0, 4, 9})), {4}, {0, 0, 4, 6});
  EXPECT_EQ(act(DEFAULTS(ops::relu6), i32({1})).dtype(), DType::i32);
}

TEST(ActivationOps, EluSeluCelu) {
  const std::vector<double> elu1 = {-0.950212931632136, -0.6321205588285577, -0.3934693402873666, 0, 0.5, 2, 7,
                                    kNaN, kInf, -1};
  expect_values(act(DEFAULTS(ops::elu), f32(kX)), kShape, elu1);
  expect_values(act(DEFAULTS(ops::elu), f64(std::vector<double>(kX.begin(), kX.end()))), kShape, elu1, 1e-15);
  std::vector<double> elu_half = elu1;
  for (double& v : elu_half)
    if (v < 0) v *= 0.5;
  expect_values(eval([&](const Scope& s) { return ops::elu(s, c(s, f32(kX)), 0.5); }), kShape, elu_half);
  // expm1 keeps precision near zero: elu(-1e-6) = -9.999995e-7.
  expect_values(act(DEFAULTS(ops::elu), f32({-1e-6f})), {1}, {-9.999995000001666e-07}, 1e-6, true);

  const double a = 1.6732632423543772848170429916717, g = 1.0507009873554804934193349852946;
  std::vector<double> selu;
  for (double v : elu1) selu.push_back(std::isnan(v) ? v : std::isinf(v) ? v : g * (v < 0 ? a * v : v));
  expect_values(act(DEFAULTS(ops::selu), f32(kX)), kShape, selu, 1e-6);

  expect_values(eval([&](const Scope& s) { return ops::celu(s, c(s, f32(kX)), 2.0); }), kShape,
                {-1.5537396797031404, -0.7869386805747332, -0.44239843385719024, 0, 0.5, 2, 7, kNaN, kInf, -2});
  EXPECT_THROW(eval([&](const Scope& s) { return ops::celu(s, c(s, f32(kX)), 0.0); }), InvalidArgument);
}

TEST(ActivationOps, LeakyReluAndPrelu) {
  expect_values(act(DEFAULTS(ops::leaky_relu), f32(kX)), kShape, {-0.6, -0.2, -0.1, 0, 0.5, 2, 7, kNaN, kInf, -kInf});
  expect_values(eval([&](const Scope& s) { return ops::leaky_relu(s, c(s, f32({-10, 10})), 0.01); }), {2},
                {-0.1, 10});
  // prelu: slope per column of a [2, 3] input; NaN passes through.
  expect_values(eval([&](const Scope& s) {
                  return ops::prelu(s, c(s, f32({-1, 2, -3, 4, NAN, -INFINITY}, {2, 3})), c(s, f32({0.1f, 0.2f, 0.3f})));
                }),
                {2, 3}, {-0.1, 2, -0.9, 4, kNaN, -kInf});
  // Integer prelu (ONNX allows int32/int64).
  expect_values(eval([&](const Scope& s) { return ops::prelu(s, c(s, i32({-4, 5})), c(s, i32({2}))); }), {2},
                {-8, 5});
  // The slope broadcasts and the output takes the broadcast shape.
  expect_values(eval([&](const Scope& s) {
                  return ops::prelu(s, c(s, f32({-1, 1}, {2, 1})), c(s, f32({1, 2, 3}, {1, 3})));
                }),
                {2, 3}, {-1, -2, -3, 1, 1, 1});
}

TEST(ActivationOps, SoftplusSoftsign) {
  expect_values(act(DEFAULTS(ops::softplus), f32(kX)), kShape,
                {0.04858735157374206, 0.31326168751822286, 0.4740769841801067, 0.6931471805599453,
                 0.9740769841801067, 2.1269280110429727, 7.000911466453774, kNaN, kInf, 0});
  // Stable at the extremes: no overflow to inf, no log(0).
  expect_values(act(DEFAULTS(ops::softplus), f32({100, -100, 88.8f})), {3}, {100, 0, 88.8}, 1e-4);
  expect_values(act(DEFAULTS(ops::softplus), f64({800, -800})), {2}, {800, 0}, 1e-12);
  // softsign(+-inf) is inf/inf = NaN, as TF, PyTorch and ONNX's reference compute it.
  expect_values(act(DEFAULTS(ops::softsign), f32(kX)), kShape, {-0.75, -0.5, -1.0 / 3, 0, 1.0 / 3, 2.0 / 3, 0.875, kNaN, kNaN, kNaN});
}

TEST(ActivationOps, HardSigmoidHardSwish) {
  expect_values(act(DEFAULTS(ops::hard_sigmoid), f32(kX)), kShape, {0, 0.3, 0.4, 0.5, 0.6, 0.9, 1, kNaN, 1, 0});
  // Keras 3 / PyTorch parameters.
  expect_values(eval([&](const Scope& s) { return ops::hard_sigmoid(s, c(s, f32({-3, 0, 1.5f, 3})), 1.0 / 6, 0.5); }),
                {4}, {0, 0.5, 0.75, 1});
  expect_values(act(DEFAULTS(ops::hard_swish), f32(kX)), kShape,
                {0, -1.0 / 3, -0.5 * 5 / 12, 0, 0.5 * 7 / 12, 2.0 * 5 / 6, 7, kNaN, kInf, kNaN});
}

TEST(ActivationOps, Gelu) {
  expect_values(act(DEFAULTS(ops::gelu), f32(kX)), kShape,
                {-0.00404969409489031, -0.15865525393145707, -0.15426876936299344, 0, 0.34573123063700656,
                 1.9544997361036416, 6.999999999991041, kNaN, kInf, kNaN});
  expect_values(eval([&](const Scope& s) { return ops::gelu(s, c(s, f32(kX)), true); }), kShape,
                {-0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0, 0.34571400982514394,
                 1.954597694087775, 6.999999999999997, kNaN, kInf, kNaN});
  expect_values(eval([&](const Scope& s) { return ops::gelu(s, c(s, f64({-3, 0.5, 2})), false); }), {3},
                {-0.00404969409489031, 0.34573123063700656, 1.9544997361036416}, 1e-14);
}

TEST(ActivationOps, ThresholdedRelu) {
  expect_values(act(DEFAULTS(ops::thresholded_relu), f32(kX)), kShape, {0, 0, 0, 0, 0, 2, 7, kNaN, kInf, 0});
  expect_values(eval([&](const Scope& s) { return ops::thresholded_relu(s, c(s, f32({1, 1.01f, -2})), 1.0); }), {3},
                {0, 1.01, 0});
}

TEST(ActivationOps, FloatOnlyOpsRejectIntegers) {
  EXPECT_THROW(act(DEFAULTS(ops::elu), i32({1})), InvalidArgument);
  EXPECT_THROW(act(DEFAULTS(ops::gelu), i32({1})), InvalidArgument);
  EXPECT_THROW(act(DEFAULTS(ops::softplus), i32({1})), InvalidArgument);
}

TEST(ActivationOps, CompositeNamesFollowTheScope) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2});
  EXPECT_EQ(ops::selu(s.named("act"), x).name(), "act:0");
  EXPECT_EQ(ops::hard_swish(s, x).name(), "hard_swish:0");
  EXPECT_EQ(ops::elu(s.named("e"), x).name(), "e:0");
}

// The fused kernels and gradient ops in float32 (Eigen's vectorized float paths) agree with
// float64 (scalar paths) on many inputs.
TEST(ActivationOps, Float32MatchesFloat64) {
  const std::vector<float> v = wavy(4099, 6.0f);
  std::vector<double> vd(v.begin(), v.end());
  const Tensor x32 = f32(v), x64 = f64(vd);
  std::vector<float> gv = wavy(4099, 1.0f);
  const Tensor g32 = f32(gv), g64 = f64(std::vector<double>(gv.begin(), gv.end()));
  using Fn = std::function<Output(const Scope&, const Output&, const Output&)>;
  const std::vector<std::pair<std::string, Fn>> fns = {
      {"relu6", [](const Scope& s, const Output& x, const Output&) { return ops::relu6(s, x); }},
      {"elu", [](const Scope& s, const Output& x, const Output&) { return ops::elu(s, x, 0.8); }},
      {"leaky_relu", [](const Scope& s, const Output& x, const Output&) { return ops::leaky_relu(s, x); }},
      {"softplus", [](const Scope& s, const Output& x, const Output&) { return ops::softplus(s, x); }},
      {"gelu", [](const Scope& s, const Output& x, const Output&) { return ops::gelu(s, x); }},
      {"gelu_tanh", [](const Scope& s, const Output& x, const Output&) { return ops::gelu(s, x, true); }},
      {"elu_grad", [](const Scope& s, const Output& x, const Output& g) {
         return gradients(s, {ops::elu(s, x, 0.8)}, {x}, {g})[0]; }},
      {"softplus_grad", [](const Scope& s, const Output& x, const Output& g) {
         return gradients(s, {ops::softplus(s, x)}, {x}, {g})[0]; }},
      {"gelu_grad", [](const Scope& s, const Output& x, const Output& g) {
         return gradients(s, {ops::gelu(s, x)}, {x}, {g})[0]; }},
      {"gelu_tanh_grad", [](const Scope& s, const Output& x, const Output& g) {
         return gradients(s, {ops::gelu(s, x, true)}, {x}, {g})[0]; }},
      {"relu6_grad", [](const Scope& s, const Output& x, const Output& g) {
         return gradients(s, {ops::relu6(s, x)}, {x}, {g})[0]; }},
      {"leaky_relu_grad", [](const Scope& s, const Output& x, const Output& g) {
         return gradients(s, {ops::leaky_relu(s, x)}, {x}, {g})[0]; }},
  };
  for (const auto& entry : fns) {
    // (no structured binding: clang 14 cannot capture one in a lambda)
    const std::string& name = entry.first;
    const Fn& fn = entry.second;
    const Tensor a = eval([&](const Scope& s) { return fn(s, c(s, x32), c(s, g32)); });
    const Tensor b = eval([&](const Scope& s) { return fn(s, c(s, x64), c(s, g64)); });
    double worst = 0;
    for (int64_t i = 0; i < a.num_elements(); ++i)
      worst = std::max(worst, std::fabs(a.as_double(i) - b.as_double(i)) / std::max(1.0, std::fabs(b.as_double(i))));
    // float32 rounding of terms up to ~30 (the tanh form's derivative near |x| = 4).
    EXPECT_LT(worst, 5e-6) << name;
  }
}

TEST(ActivationOps, FusedKernelsDoNotDependOnTheThreadCount) {
  const Tensor big = f32(wavy(300001, 8.0f), {300001});
  using Fn = std::function<Output(const Scope&, const Output&)>;
  const std::vector<std::pair<std::string, Fn>> fns = {
      {"relu6", [](const Scope& s, const Output& x) { return ops::relu6(s, x); }},
      {"elu", [](const Scope& s, const Output& x) { return ops::elu(s, x); }},
      {"leaky_relu", [](const Scope& s, const Output& x) { return ops::leaky_relu(s, x); }},
      {"softplus", [](const Scope& s, const Output& x) { return ops::softplus(s, x); }},
      {"gelu", [](const Scope& s, const Output& x) { return ops::gelu(s, x); }},
      {"gelu_tanh", [](const Scope& s, const Output& x) { return ops::gelu(s, x, true); }},
      {"elu_grad", [](const Scope& s, const Output& x) { return gradients(s, {ops::elu(s, x)}, {x})[0]; }},
      {"softplus_grad", [](const Scope& s, const Output& x) { return gradients(s, {ops::softplus(s, x)}, {x})[0]; }},
      {"gelu_grad", [](const Scope& s, const Output& x) { return gradients(s, {ops::gelu(s, x)}, {x})[0]; }},
      {"gelu_tanh_grad", [](const Scope& s, const Output& x) { return gradients(s, {ops::gelu(s, x, true)}, {x})[0]; }},
      {"relu6_grad", [](const Scope& s, const Output& x) { return gradients(s, {ops::relu6(s, x)}, {x})[0]; }},
      {"leaky_relu_grad", [](const Scope& s, const Output& x) { return gradients(s, {ops::leaky_relu(s, x)}, {x})[0]; }},
  };
  for (const auto& entry : fns) {
    const std::string& name = entry.first;
    const Fn& fn = entry.second;
    expect_thread_count_independent([&](const Scope& s) { return fn(s, ops::identity(s, c(s, big))); }, name);
  }
}

}  // namespace
}  // namespace sluice
