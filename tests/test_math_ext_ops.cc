// Forward values of the unary and binary math ops added beside math_ops
// (ops/math_unary_ops.h, ops/math_binary_ops.h) against hand-computed ones: NaN and +-inf
// rows, integer signs of floor_div/floor_mod/truncate_mod, broadcasting, errors.
#include "op_test_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers

constexpr double kPi = 3.14159265358979323846;

template <class F>
Tensor un(F f, const Tensor& x) {
  return eval([&](const Scope& s) { return f(s, c(s, x)); });
}
template <class F>
Tensor bin(F f, const Tensor& a, const Tensor& b) {
  return eval([&](const Scope& s) { return f(s, c(s, a), c(s, b)); });
}

TEST(MathUnaryOps, ErfLog1pExpm1) {
  const Tensor x = f32({0, 0.5f, -1, NAN, INFINITY, -INFINITY});
  expect_values(un(ops::erf, x), {6}, {0, 0.5204998778130465, -0.8427007929497149, kNaN, 1, -1});
  expect_values(un(ops::erf, f64({0.5, 3})), {2}, {0.5204998778130465, 0.9999779095030014}, 1e-15);
  // Accurate near zero where log(1 + x) and exp(x) - 1 would lose every digit.
  expect_values(un(ops::log1p, f32({1e-7f})), {1}, {9.999999500000033e-08}, 1e-6, true);
  expect_values(un(ops::expm1, f32({1e-7f})), {1}, {1.0000000500000016e-07}, 1e-6, true);
  expect_values(un(ops::log1p, f64({1, -1, -2, NAN, INFINITY})), {5}, {std::log(2.0), -kInf, kNaN, kNaN, kInf});
  expect_values(un(ops::expm1, f64({1, NAN, INFINITY, -INFINITY})), {4}, {std::exp(1.0) - 1, kNaN, kInf, -1}, 1e-15);
}

TEST(MathUnaryOps, Rounding) {
  const Tensor x = f32({-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.7f, -2.7f, NAN, INFINITY, -INFINITY});
  const Shape sh{11};
  expect_values(un(ops::floor, x), sh, {-3, -2, -1, 0, 1, 2, 2, -3, kNaN, kInf, -kInf});
  expect_values(un(ops::ceil, x), sh, {-2, -1, -0.0, 1, 2, 3, 3, -2, kNaN, kInf, -kInf});
  // Half to even (TF Round, ONNX Round, NumPy), not half away from zero.
  expect_values(un(ops::round, x), sh, {-2, -2, -0.0, 0, 2, 2, 3, -3, kNaN, kInf, -kInf});
  expect_values(un(ops::round, f64({0.5, 1.5, 2.5, 3.5, -3.5, 1e300})), {6}, {0, 2, 2, 4, -4, 1e300});
  const Tensor ri = un(ops::round, i32({-3, 7}));
  EXPECT_EQ(ri.dtype(), DType::i32);
  expect_values(ri, {2}, {-3, 7});
  EXPECT_THROW(un(ops::floor, i32({1})), InvalidArgument);  // float only, as TF and ONNX
}

TEST(MathUnaryOps, TrigonometricAndHyperbolic) {
  expect_values(un(ops::sin, f32({kPi / 6, 0, NAN, INFINITY})), {4}, {0.5, 0, kNaN, kNaN});
  expect_values(un(ops::cos, f32({kPi / 3, 0, NAN, -INFINITY})), {4}, {0.5, 1, kNaN, kNaN});
  expect_values(un(ops::tan, f32({kPi / 4, 0, NAN})), {3}, {1, 0, kNaN});
  expect_values(un(ops::asin, f32({0.5f, 1, 2, NAN})), {4}, {kPi / 6, kPi / 2, kNaN, kNaN});
  expect_values(un(ops::acos, f32({0.5f, -1, -1.5f, NAN})), {4}, {kPi / 3, kPi, kNaN, kNaN});
  expect_values(un(ops::atan, f32({1, INFINITY, -INFINITY, NAN})), {4}, {kPi / 4, kPi / 2, -kPi / 2, kNaN});
  expect_values(un(ops::sinh, f32({1, INFINITY, -INFINITY, NAN})), {4}, {1.1752011936438014, kInf, -kInf, kNaN});
  expect_values(un(ops::cosh, f32({1, INFINITY, -INFINITY, NAN})), {4}, {1.5430806348152437, kInf, kInf, kNaN});
  expect_values(un(ops::asinh, f32({1, INFINITY, -INFINITY, NAN})), {4}, {0.881373587019543, kInf, -kInf, kNaN});
  expect_values(un(ops::acosh, f32({2, 1, 0.5f, INFINITY, NAN})), {5}, {1.3169578969248166, 0, kNaN, kInf, kNaN});
  expect_values(un(ops::atanh, f32({0.5f, 1, -1, 2, NAN})), {5}, {0.5493061443340548, kInf, -kInf, kNaN, kNaN});
  // float64 runs the same functions at full precision.
  expect_values(un(ops::sinh, f64({1})), {1}, {1.1752011936438014}, 1e-15);
  expect_values(un(ops::acosh, f64({2})), {1}, {1.3169578969248166}, 1e-15);
}

TEST(MathUnaryOps, Predicates) {
  const Tensor x = f32({1, NAN, INFINITY, -INFINITY, 0});
  const Tensor nan = un(ops::is_nan, x);
  EXPECT_EQ(nan.dtype(), DType::boolean);
  expect_values(nan, {5}, {0, 1, 0, 0, 0});
  expect_values(un([](const Scope& s, const Output& v) { return ops::is_inf(s, v); }, x), {5}, {0, 0, 1, 1, 0});
  expect_values(un([](const Scope& s, const Output& v) { return ops::is_inf(s, v, true, false); }, x), {5},
                {0, 0, 1, 0, 0});
  expect_values(un([](const Scope& s, const Output& v) { return ops::is_inf(s, v, false, true); }, x), {5},
                {0, 0, 0, 1, 0});
  expect_values(un(ops::is_finite, x), {5}, {1, 0, 0, 0, 1});
  expect_values(un(ops::is_nan, f64({NAN, 2})), {2}, {1, 0});
}

TEST(MathBinaryOps, IntegerFloorDivAndModulosFollowTheirSignRules) {
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  const Tensor a = i32({7, -7, 7, -7, 0, 6, kMin, kMin});
  const Tensor b = i32({2, 2, -2, -2, 3, -3, -1, 1});
  const Shape sh{8};
  // Python: 7 // 2 = 3, -7 // 2 = -4, 7 // -2 = -4, -7 // -2 = 3; INT_MIN // -1 wraps.
  expect_values(bin(ops::floor_div, a, b), sh, {3, -4, -4, 3, 0, -2, kMin, kMin});
  // floor_mod: the divisor's sign (Python %).
  expect_values(bin(ops::floor_mod, a, b), sh, {1, 1, -1, -1, 0, 0, 0, 0});
  // truncate_mod: the dividend's sign (C %).
  expect_values(bin(ops::truncate_mod, a, b), sh, {1, -1, 1, -1, 0, 0, 0, 0});
  // int64 and uint8, broadcasting a scalar divisor.
  expect_values(bin(ops::floor_div, i64({-9, 9}), Tensor(int64_t{4})), {2}, {-3, 2});
  expect_values(bin(ops::floor_mod, i64({-9, 9}), Tensor(int64_t{4})), {2}, {3, 1});
  expect_values(bin(ops::truncate_mod, i64({-9, 9}), Tensor(int64_t{4})), {2}, {-1, 1});
  const Tensor u = Tensor::from_vector(std::vector<uint8_t>{200, 7}, {2});
  expect_values(bin(ops::floor_div, u, Tensor(uint8_t{3})), {2}, {66, 2});
  expect_values(bin(ops::floor_mod, u, Tensor(uint8_t{3})), {2}, {2, 1});
}

TEST(MathBinaryOps, IntegerDivisionByZeroIsAnError) {
  for (auto f : {ops::floor_div, ops::floor_mod, ops::truncate_mod}) {
    const std::string m = run_error<InvalidArgument>(
        [&](const Scope& s) { return f(s.named("q"), c(s, i32({1, 2})), c(s, i32({1, 0}))); });
    EXPECT_NE(m.find("Integer division by zero"), std::string::npos) << m;
    EXPECT_NE(m.find("'q'"), std::string::npos) << m;
  }
}

TEST(MathBinaryOps, FloatFloorDivAndModulos) {
  const Tensor a = f32({7.5f, -7.5f, 7.5f, -7.5f, 1, -1, NAN, INFINITY, 1, 0});
  const Tensor b = f32({2, 2, -2, -2, 0, INFINITY, 2, 2, 0.1f, 0});
  const Shape sh{10};
  // TF FloorDiv is floor(a / b): 1 // 0.1 gives 10 (Python's // gives 9).
  expect_values(bin(ops::floor_div, a, b), sh, {3, -4, -4, 3, kInf, -0.0, kNaN, kInf, 10, kNaN});
  expect_values(bin(ops::floor_mod, a, b), sh, {1.5, 0.5, -0.5, -1.5, kNaN, kInf, kNaN, kNaN, 0.1, kNaN}, 1e-6);
  expect_values(bin(ops::truncate_mod, a, b), sh, {1.5, -1.5, 1.5, -1.5, kNaN, -1, kNaN, kNaN, 0.1, kNaN}, 1e-6);
  expect_values(bin(ops::floor_mod, f64({-1e-20}), f64({3})), {1}, {3});  // a - floor(a/b) b rounds to b
}

TEST(MathBinaryOps, SquaredDifferenceAndXor) {
  expect_values(bin(ops::squared_difference, f32({1, 2, 3, NAN}, {2, 2}), f32({3, INFINITY})), {2, 2},
                {4, kInf, 0, kNaN});
  expect_values(bin(ops::squared_difference, i32({-5, 5}), i32({5})), {2}, {100, 0});
  const Tensor x = Tensor::from_vector(std::vector<bool>{true, true, false, false}, {4});
  const Tensor y = Tensor::from_vector(std::vector<bool>{true, false, true, false}, {4});
  expect_values(bin(ops::logical_xor, x, y), {4}, {0, 1, 1, 0});
  expect_values(bin(ops::logical_xor, x.reshaped({4, 1}), Tensor(true)), {4, 1}, {0, 0, 1, 1});
  EXPECT_THROW(bin(ops::logical_xor, f32({1}), f32({0})), InvalidArgument);
}

TEST(MathBinaryOps, ClipByValue) {
  auto clip = [](const Tensor& x, const Tensor& lo, const Tensor& hi, bool numpy_order = false) {
    return eval([&](const Scope& s) { return ops::clip_by_value(s, c(s, x), c(s, lo), c(s, hi), numpy_order); });
  };
  expect_values(clip(f32({-2, 0.5f, 3, NAN, INFINITY, -INFINITY}), Tensor(0.0f), Tensor(1.0f)), {6},
                {0, 0.5, 1, kNaN, 1, 0});
  // A NaN bound gives NaN (NumPy clip).
  expect_values(clip(f32({-2, 0.5f, 3}), Tensor(NAN), Tensor(1.0f)), {3}, {kNaN, kNaN, kNaN});
  expect_values(clip(f32({-2, 0.5f, 3}), Tensor(0.0f), Tensor(NAN)), {3}, {kNaN, kNaN, kNaN});
  // Tensor bounds broadcast; the output takes the shape of all three; lo > hi gives lo.
  expect_values(clip(f32({-5, 0, 5}, {3, 1}), f32({-1, 0, 2}), Tensor(1.0f)), {3, 3},
                {-1, 0, 2, 0, 0, 2, 1, 1, 2});
  // NumPy/ONNX order: hi wins where lo > hi; elsewhere the same.
  expect_values(clip(f32({-5, 0, 5}, {3, 1}), f32({-1, 0, 2}), Tensor(1.0f), true), {3, 3},
                {-1, 0, 1, 0, 0, 1, 1, 1, 1});
  expect_values(clip(f32({-2, 0.5f, 3, NAN, INFINITY}), Tensor(0.0f), Tensor(1.0f), true), {5}, {0, 0.5, 1, kNaN, 1});
  expect_values(clip(f32({-2, 0.5f}), Tensor(0.0f), Tensor(NAN), true), {2}, {kNaN, kNaN});
  expect_values(clip(i32({-7, 3, 9}), i32({0}), i32({5})), {3}, {0, 3, 5});
  EXPECT_THROW(clip(f32({1}), i32({0}), i32({5})), InvalidArgument);
}

TEST(MathBinaryOps, VariadicBroadcasting) {
  auto run = [](Output (*f)(const Scope&, const std::vector<Output>&), const std::vector<Tensor>& xs) {
    return eval([&](const Scope& s) {
      std::vector<Output> in;
      for (const Tensor& t : xs) in.push_back(c(s, t));
      return f(s, in);
    });
  };
  const std::vector<Tensor> xs = {f32({1, 5, 3}), f32({4}, {1, 1}), f32({0, 6}, {2, 1})};
  expect_values(run(ops::maximum_n, xs), {2, 3}, {4, 5, 4, 6, 6, 6});
  expect_values(run(ops::minimum_n, xs), {2, 3}, {0, 0, 0, 1, 4, 3});
  expect_values(run(ops::sum_n, xs), {2, 3}, {5, 9, 7, 11, 15, 13});
  expect_values(run(ops::mean_n, xs), {2, 3}, {5.0 / 3, 3, 7.0 / 3, 11.0 / 3, 5, 13.0 / 3});
  expect_values(run(ops::sum_n, {f32({2, INFINITY})}), {2}, {2, kInf});  // one input: itself
  expect_values(run(ops::sum_n, {f32({1, NAN}), f32({1})}), {2}, {2, kNaN});
  EXPECT_THROW(run(ops::sum_n, {}), InvalidArgument);
  EXPECT_THROW(run(ops::mean_n, {i32({1})}), InvalidArgument);
}

TEST(MathExtOps, KernelsDoNotDependOnTheThreadCount) {
  const Tensor big = f32(wavy(300001, 3.0f), {300001});
  const Tensor other = f32(wavy(300001, 1.0f), {300001});
  using Fn = std::function<Output(const Scope&, const Output&, const Output&)>;
  const std::vector<std::pair<std::string, Fn>> fns = {
      {"erf", [](const Scope& s, const Output& x, const Output&) { return ops::erf(s, x); }},
      {"sin", [](const Scope& s, const Output& x, const Output&) { return ops::sin(s, x); }},
      {"expm1", [](const Scope& s, const Output& x, const Output&) { return ops::expm1(s, x); }},
      {"round", [](const Scope& s, const Output& x, const Output&) { return ops::round(s, x); }},
      {"floor_mod", [](const Scope& s, const Output& x, const Output& y) { return ops::floor_mod(s, x, y); }},
      {"clip", [](const Scope& s, const Output& x, const Output& y) { return ops::clip_by_value(s, x, y, ops::abs(s, y)); }},
  };
  for (const auto& entry : fns) {
    const std::string& name = entry.first;
    const Fn& fn = entry.second;
    expect_thread_count_independent([&](const Scope& s) { return fn(s, c(s, big), c(s, other)); }, name);
  }
}

}  // namespace
}  // namespace sluice
