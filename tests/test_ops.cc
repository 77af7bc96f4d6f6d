// Forward results of every op against hand-computed values, including broadcasting and
// empty tensors, and the kernels' bad-input errors.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>

#include "ops/philox.h"

namespace sluice {
namespace {

using Build = std::function<Output(const Scope&)>;

std::vector<Tensor> eval_all(const Build& f, int threads = 1, int outputs = 1) {
  Graph g;
  Scope s(g);
  Output y = f(s);
  Session sess(g, SessionOptions{threads});
  std::vector<TensorRef> fetches;
  for (int i = 0; i < outputs; ++i) fetches.emplace_back(y.op().output(i));
  return sess.run({}, fetches);
}
Tensor eval(const Build& f, int threads = 1) { return eval_all(f, threads)[0]; }

Output c(const Scope& s, const Tensor& t) { return ops::constant(s, t); }
Tensor f32(std::vector<float> v, const Shape& shape) { return Tensor::from_vector(v, shape); }

void expect_values(const Tensor& t, const Shape& shape, const std::vector<double>& want, double tol = 1e-6) {
  ASSERT_EQ(t.shape(), shape) << t;
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(t.as_double(i))) << "element " << i << " of " << t;
    } else {
      EXPECT_NEAR(t.as_double(i), want[i], tol) << "element " << i << " of " << t;
    }
  }
}

template <class E>
std::string error_of(const Build& f) {
  try {
    eval(f);
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error of the expected type";
  return "";
}

TEST(ArrayOps, ConstIdentityReshapeTranspose) {
  const Tensor m = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(eval([&](const Scope& s) { return ops::identity(s, c(s, m)); }), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_values(eval([&](const Scope& s) { return ops::reshape(s, c(s, m), {3, -1}); }), {3, 2}, {1, 2, 3, 4, 5, 6});
  expect_values(eval([&](const Scope& s) { return ops::transpose(s, c(s, m)); }), {3, 2}, {1, 4, 2, 5, 3, 6});
  const Tensor t3 = f32({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 3, 2});
  expect_values(eval([&](const Scope& s) { return ops::transpose(s, c(s, t3), {1, 2, 0}); }), {3, 2, 2},
                {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11});
  expect_values(eval([&](const Scope& s) { return ops::expand_dims(s, c(s, m), 1); }), {2, 1, 3}, {1, 2, 3, 4, 5, 6});
  expect_values(eval([&](const Scope& s) { return ops::squeeze(s, c(s, f32({1, 2}, {1, 2, 1}))); }), {2}, {1, 2});
  expect_values(eval([&](const Scope& s) { return ops::reshape_like(s, c(s, m), c(s, f32({0, 0, 0, 0, 0, 0}, {6}))); }),
                {6}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(eval([&](const Scope& s) { return ops::squeeze(s, c(s, m), {0}); }), InvalidArgument);
}

TEST(ArrayOps, ConcatSplitSlice) {
  const Tensor a = f32({1, 2, 3, 4}, {2, 2}), b = f32({5, 6}, {2, 1});
  expect_values(eval([&](const Scope& s) { return ops::concat(s, {c(s, a), c(s, b)}, 1); }), {2, 3},
                {1, 2, 5, 3, 4, 6});
  expect_values(eval([&](const Scope& s) { return ops::concat(s, {c(s, a), c(s, a)}, 0); }), {4, 2},
                {1, 2, 3, 4, 1, 2, 3, 4});
  expect_values(eval([&](const Scope& s) { return ops::concat(s, {c(s, a), c(s, Tensor::zeros(DType::f32, {0, 2}))}, 0); }),
                {2, 2}, {1, 2, 3, 4});
  auto parts = eval_all([&](const Scope& s) { return ops::split(s, c(s, f32({1, 2, 3, 4, 5, 6}, {2, 3})), 3, 1)[0]; }, 1, 3);
  expect_values(parts[0], {2, 1}, {1, 4});
  expect_values(parts[2], {2, 1}, {3, 6});
  EXPECT_THROW(eval([&](const Scope& s) { return ops::split(s, c(s, a), 3, 1)[0]; }), InvalidArgument);
  const Tensor m = f32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  expect_values(eval([&](const Scope& s) { return ops::slice(s, c(s, m), {1, 0}, {2, 2}); }), {2, 2}, {4, 5, 7, 8});
  expect_values(eval([&](const Scope& s) { return ops::slice(s, c(s, m), {2, 1}, {-1, -1}); }), {1, 2}, {8, 9});
  expect_values(eval([&](const Scope& s) { return ops::slice(s, c(s, m), {3, 0}, {0, 3}); }), {0, 3}, {});
}

TEST(ArrayOps, GatherOneHotCastSelect) {
  const Tensor p = f32({1, 2, 3, 4, 5, 6}, {3, 2});
  expect_values(eval([&](const Scope& s) { return ops::gather(s, c(s, p), c(s, Tensor({2, 0, 2}))); }), {3, 2},
                {5, 6, 1, 2, 5, 6});
  expect_values(eval([&](const Scope& s) { return ops::gather(s, c(s, p), c(s, Tensor({int64_t{1}})), 1); }), {3, 1},
                {2, 4, 6});
  const std::string m = error_of<OutOfRange>([&](const Scope& s) { return ops::gather(s, c(s, p), c(s, Tensor({0, 3}))); });
  EXPECT_NE(m.find("indices[1] = 3 is not in [0, 3)"), std::string::npos) << m;
  expect_values(eval([&](const Scope& s) { return ops::one_hot(s, c(s, Tensor({0, 2, 5})), 3); }), {3, 3},
                {1, 0, 0, 0, 0, 1, 0, 0, 0});
  expect_values(eval([&](const Scope& s) { return ops::cast(s, c(s, f32({-1.7f, 2.5f, 1e20f}, {3})), DType::i32); }), {3},
                {-1, 2, 2147483647});
  expect_values(eval([&](const Scope& s) { return ops::cast(s, c(s, Tensor({0.0, 3.0})), DType::boolean); }), {2}, {0, 1});
  expect_values(eval([&](const Scope& s) {
                  return ops::select(s, c(s, Tensor({true, false})), c(s, f32({1, 2, 3, 4}, {2, 2})), c(s, Tensor(9.0f)));
                }),
                {2, 2}, {1, 9, 3, 9});
}

TEST(ArrayOps, ShapeSizeFillLikes) {
  const Tensor m = Tensor::zeros(DType::f32, {2, 0, 3});
  expect_values(eval([&](const Scope& s) { return ops::shape(s, c(s, m)); }), {3}, {2, 0, 3});
  expect_values(eval([&](const Scope& s) { return ops::size(s, c(s, m)); }), {}, {0});
  expect_values(eval([&](const Scope& s) { return ops::ones_like(s, c(s, f32({5, 5}, {2}))); }), {2}, {1, 1});
  expect_values(eval([&](const Scope& s) { return ops::zeros_like(s, c(s, f32({5, 5}, {2}))); }), {2}, {0, 0});
  expect_values(eval([&](const Scope& s) { return ops::fill(s, DType::i32, {2, 2}, 7); }), {2, 2}, {7, 7, 7, 7});
  expect_values(eval([&](const Scope& s) {
                  return ops::broadcast_like(s, c(s, f32({1, 2}, {2, 1})), c(s, Tensor::zeros(DType::f32, {0, 2, 3})));
                }),
                {0, 2, 3}, {});
  expect_values(eval([&](const Scope& s) {
                  return ops::broadcast_like(s, c(s, f32({1, 2}, {2, 1})), c(s, Tensor::zeros(DType::f32, {2, 3})));
                }),
                {2, 3}, {1, 1, 1, 2, 2, 2});
  expect_values(eval([&](const Scope& s) {
                  return ops::sum_to_like(s, c(s, f32({1, 2, 3, 4, 5, 6}, {2, 3})), c(s, Tensor::zeros(DType::f32, {3})));
                }),
                {3}, {5, 7, 9});
  expect_values(eval([&](const Scope& s) {
                  return ops::sum_to_like(s, c(s, f32({1, 2, 3, 4, 5, 6}, {2, 3})), c(s, Tensor::zeros(DType::f32, {2, 1})));
                }),
                {2, 1}, {6, 15});
}

TEST(MathOps, UnaryValues) {
  const Tensor x = f32({-2, 0.5f, 4}, {3});
  auto un = [&](Output (*f)(const Scope&, const Output&), const Tensor& in) {
    return eval([&](const Scope& s) { return f(s, c(s, in)); });
  };
  expect_values(un(ops::neg, x), {3}, {2, -0.5, -4});
  expect_values(un(ops::abs, x), {3}, {2, 0.5, 4});
  expect_values(un(ops::sign, x), {3}, {-1, 1, 1});
  expect_values(un(ops::square, x), {3}, {4, 0.25, 16});
  expect_values(un(ops::exp, x), {3}, {std::exp(-2.0), std::exp(0.5), std::exp(4.0)}, 1e-4);
  expect_values(un(ops::log, f32({1, 4}, {2})), {2}, {0, std::log(4.0)});
  expect_values(un(ops::sqrt, f32({4, 9}, {2})), {2}, {2, 3});
  expect_values(un(ops::rsqrt, f32({4, 0.25f}, {2})), {2}, {0.5, 2});
  expect_values(un(ops::reciprocal, f32({4, -0.5f}, {2})), {2}, {0.25, -2});
  expect_values(un(ops::sigmoid, f32({0, 100, -100}, {3})), {3}, {0.5, 1, 0});
  expect_values(un(ops::tanh, f32({0, 0.5f}, {2})), {2}, {0, std::tanh(0.5)});
  expect_values(un(ops::relu, x), {3}, {0, 0.5, 4});
  expect_values(un(ops::neg, Tensor({int32_t{-2147483647 - 1}, 5})), {2}, {-2147483648.0, -5});  // wraps, no UB
  expect_values(un(ops::exp, Tensor::zeros(DType::f64, {0})), {0}, {});
  expect_values(un(ops::logical_not, Tensor({true, false})), {2}, {0, 1});
  EXPECT_THROW(un(ops::exp, Tensor({1, 2})), InvalidArgument);  // int32 has no exp
}

TEST(MathOps, BinaryBroadcasting) {
  const Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor row = f32({10, 20, 30}, {3});
  const Tensor col = f32({100, 200}, {2, 1});
  auto bin = [&](Output (*f)(const Scope&, const Output&, const Output&), const Tensor& x, const Tensor& y) {
    return eval([&](const Scope& s) { return f(s, c(s, x), c(s, y)); });
  };
  expect_values(bin(ops::add, a, row), {2, 3}, {11, 22, 33, 14, 25, 36});
  expect_values(bin(ops::add, a, col), {2, 3}, {101, 102, 103, 204, 205, 206});
  expect_values(bin(ops::add, col, row), {2, 3}, {110, 120, 130, 210, 220, 230});
  expect_values(bin(ops::sub, a, Tensor(1.0f)), {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_values(bin(ops::sub, Tensor(1.0f), a), {2, 3}, {0, -1, -2, -3, -4, -5});
  expect_values(bin(ops::mul, a, a), {2, 3}, {1, 4, 9, 16, 25, 36});
  expect_values(bin(ops::div, a, row), {2, 3}, {0.1, 0.1, 0.1, 0.4, 0.25, 0.2});
  expect_values(bin(ops::pow, f32({2, 3}, {2}), f32({3, 2}, {2})), {2}, {8, 9});
  expect_values(bin(ops::maximum, a, Tensor(3.5f)), {2, 3}, {3.5, 3.5, 3.5, 4, 5, 6});
  expect_values(bin(ops::minimum, a, col.reshaped({2, 1})), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_values(bin(ops::add, Tensor::zeros(DType::f32, {0, 3}), row), {0, 3}, {});
  expect_values(bin(ops::div, Tensor({7, -7}), Tensor({2, 2})), {2}, {3, -3});
  const std::string m = error_of<InvalidArgument>([&](const Scope& s) { return ops::div(s, c(s, Tensor({1})), c(s, Tensor({0}))); });
  EXPECT_NE(m.find("division by zero"), std::string::npos) << m;
  expect_values(bin(ops::div, Tensor({int32_t{-2147483647 - 1}}), Tensor({-1})), {1}, {-2147483648.0});
  // Rank-4 broadcast through the general path.
  const Tensor x4 = Tensor::from_vector(std::vector<float>(24, 1.0f), {2, 3, 1, 4});
  const Tensor y4 = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5}, {5, 1});
  Tensor r = bin(ops::mul, x4, y4);
  EXPECT_EQ(r.shape(), (Shape{2, 3, 5, 4}));
  EXPECT_EQ(r.at<float>({1, 2, 3, 0}), 4.0f);
}

TEST(MathOps, ComparisonsAndLogic) {
  const Tensor a = f32({1, 2, 3}, {3});
  auto bin = [&](Output (*f)(const Scope&, const Output&, const Output&), const Tensor& x, const Tensor& y) {
    return eval([&](const Scope& s) { return f(s, c(s, x), c(s, y)); });
  };
  expect_values(bin(ops::equal, a, Tensor(2.0f)), {3}, {0, 1, 0});
  expect_values(bin(ops::not_equal, a, Tensor(2.0f)), {3}, {1, 0, 1});
  expect_values(bin(ops::less, a, Tensor(2.0f)), {3}, {1, 0, 0});
  expect_values(bin(ops::less_equal, a, Tensor(2.0f)), {3}, {1, 1, 0});
  expect_values(bin(ops::greater, a, Tensor(2.0f)), {3}, {0, 0, 1});
  expect_values(bin(ops::greater_equal, a, Tensor(2.0f)), {3}, {0, 1, 1});
  expect_values(bin(ops::logical_and, Tensor({true, true}), Tensor({true, false})), {2}, {1, 0});
  expect_values(bin(ops::logical_or, Tensor({false, false}), Tensor({true, false})), {2}, {1, 0});
}

TEST(MathOps, MatMulAndAddN) {
  const Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = f32({1, 0, 0, 1, 1, 1}, {3, 2});
  expect_values(eval([&](const Scope& s) { return ops::matmul(s, c(s, a), c(s, b)); }), {2, 2}, {4, 5, 10, 11});
  expect_values(eval([&](const Scope& s) { return ops::matmul(s, c(s, a), c(s, a), false, true); }), {2, 2},
                {14, 32, 32, 77});
  expect_values(eval([&](const Scope& s) { return ops::matmul(s, c(s, a), c(s, a), true, false); }), {3, 3},
                {17, 22, 27, 22, 29, 36, 27, 36, 45});
  expect_values(eval([&](const Scope& s) {
                  return ops::matmul(s, c(s, Tensor::zeros(DType::f32, {2, 0})), c(s, Tensor::zeros(DType::f32, {0, 3})));
                }),
                {2, 3}, {0, 0, 0, 0, 0, 0});
  expect_values(eval([&](const Scope& s) { return ops::add_n(s, {c(s, a), c(s, a), c(s, a)}); }), {2, 3},
                {3, 6, 9, 12, 15, 18});
  const std::string m = error_of<InvalidArgument>([&](const Scope& s) {
    return ops::matmul(s, ops::placeholder_with_default(s, c(s, a), {-1, -1}), c(s, a));
  });
  EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
}

// FusedMatMul against the unfused MatMul + BiasAdd + activation, every activation and
// transpose, on a product large enough for the BLAS path and several row chunks.
TEST(MathOps, FusedMatMulEqualsMatMulBiasActivation) {
  using Act = FusedActivation;
  const std::vector<std::pair<Act, std::function<Output(const Scope&, const Output&)>>> acts = {
      {Act::none, [](const Scope&, const Output& z) { return z; }},
      {Act::relu, [](const Scope& s, const Output& z) { return ops::relu(s, z); }},
      {Act::relu6, [](const Scope& s, const Output& z) { return ops::relu6(s, z); }},
      {Act::leaky(0.3), [](const Scope& s, const Output& z) { return ops::leaky_relu(s, z, 0.3); }},
      {Act::clip_to(-0.5, 0.25), [](const Scope& s, const Output& z) {
         return ops::clip_by_value(s, z, ops::scalar_like(s, z, -0.5), ops::scalar_like(s, z, 0.25));
       }}};
  for (DType dt : {DType::f32, DType::f64}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (const auto& act : acts) {
          const Shape as = ta ? Shape{19, 137} : Shape{137, 19}, bs = tb ? Shape{23, 19} : Shape{19, 23};
          auto build = [&](bool fused) {
            return [&, fused](const Scope& s) {
              const Output a = ops::random_uniform(s, as, dt, -1, 1, 1);
              const Output b = ops::random_uniform(s, bs, dt, -1, 1, 2);
              const Output bias = ops::random_uniform(s, {23}, dt, -1, 1, 3);
              if (fused) return ops::fused_matmul(s, a, b, bias, act.first, ta, tb);
              return act.second(s, ops::bias_add(s, ops::matmul(s, a, b, ta, tb), bias));
            };
          };
          for (int threads : {1, 2}) {  // the same GEMM split on both sides: bit-identical
            const Tensor want = eval(build(false), threads);
            const Tensor got = eval(build(true), threads);
            ASSERT_EQ(got.shape(), want.shape());
            for (int64_t i = 0; i < want.num_elements(); ++i)
              ASSERT_EQ(got.as_double(i), want.as_double(i))
                  << act.first.name() << " ta " << ta << " tb " << tb << " element " << i;
          }
        }
      }
    }
  }
  const std::string m = error_of<InvalidArgument>([&](const Scope& s) {
    const Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
    return ops::fused_matmul(s.named("fm"), c(s, a), ops::placeholder_with_default(s, c(s, a), {-1, -1}),
                             c(s, f32({1, 2, 3}, {3})), Act::relu, false, true);
  });
  EXPECT_NE(m.find("'fm' (FusedMatMul)"), std::string::npos) << m;
  EXPECT_NE(m.find("the product's 2 columns"), std::string::npos) << m;
}

TEST(ReductionOps, Values) {
  const Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  auto red = [&](Output (*f)(const Scope&, const Output&, const std::vector<int64_t>&, bool), std::vector<int64_t> axes,
                 bool keep) { return eval([&](const Scope& s) { return f(s, c(s, a), axes, keep); }); };
  expect_values(red(ops::sum, {}, false), {}, {21});
  expect_values(red(ops::sum, {0}, false), {3}, {5, 7, 9});
  expect_values(red(ops::sum, {1}, true), {2, 1}, {6, 15});
  expect_values(red(ops::sum, {-1}, false), {2}, {6, 15});
  expect_values(red(ops::mean, {1}, false), {2}, {2, 5});
  expect_values(red(ops::max, {0}, false), {3}, {4, 5, 6});
  expect_values(red(ops::min, {1}, false), {2}, {1, 4});
  const Tensor t3 = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 3, 2});
  expect_values(eval([&](const Scope& s) { return ops::sum(s, c(s, t3), {0, 2}); }), {3}, {14, 22, 30});
  expect_values(eval([&](const Scope& s) { return ops::sum(s, c(s, Tensor::zeros(DType::f32, {0, 3})), {0}); }), {3}, {0, 0, 0});
  expect_values(eval([&](const Scope& s) { return ops::mean(s, c(s, Tensor::zeros(DType::f32, {0, 3})), {0}); }), {3},
                {NAN, NAN, NAN});
  expect_values(eval([&](const Scope& s) { return ops::argmax(s, c(s, f32({1, 9, 3, 7, 2, 7}, {2, 3})), 1); }), {2}, {1, 0});
  expect_values(eval([&](const Scope& s) { return ops::argmin(s, c(s, f32({1, 9, 3, 7, 2, 7}, {2, 3})), 0); }), {3}, {0, 1, 0});
  expect_values(eval([&](const Scope& s) { return ops::sum(s, c(s, Tensor({1, 2, 3}))); }), {}, {6});
  EXPECT_THROW(eval([&](const Scope& s) { return ops::argmax(s, c(s, Tensor::zeros(DType::f32, {2, 0})), 1); }),
               InvalidArgument);
}

TEST(NnOps, SoftmaxBiasL2Dropout) {
  const Tensor x = f32({1, 2, 3, 1000, 1000, 1000}, {2, 3});
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), z = e1 + e2 + e3;
  expect_values(eval([&](const Scope& s) { return ops::softmax(s, c(s, x)); }), {2, 3},
                {e1 / z, e2 / z, e3 / z, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  expect_values(eval([&](const Scope& s) { return ops::log_softmax(s, c(s, x)); }), {2, 3},
                {1 - std::log(z), 2 - std::log(z), 3 - std::log(z), -std::log(3.0), -std::log(3.0), -std::log(3.0)}, 1e-5);
  expect_values(eval([&](const Scope& s) { return ops::bias_add(s, c(s, x), c(s, f32({1, 2, 3}, {3}))); }), {2, 3},
                {2, 4, 6, 1001, 1002, 1003});
  expect_values(eval([&](const Scope& s) { return ops::l2_normalize(s, c(s, f32({3, 4}, {1, 2}))); }), {1, 2}, {0.6, 0.8});
  // Inference: identity; training with rate 0: identity too.
  expect_values(eval([&](const Scope& s) { return ops::dropout(s, c(s, x), c(s, Tensor(false)), 0.5); }), {2, 3},
                {1, 2, 3, 1000, 1000, 1000});
  EXPECT_THROW(eval([&](const Scope& s) { return ops::dropout(s, c(s, x), c(s, Tensor(true)), 1.0); }), InvalidArgument);
  EXPECT_THROW(eval([&](const Scope& s) { return ops::bias_add(s, c(s, x), c(s, f32({1, 2}, {2}))); }), InvalidArgument);
}

TEST(NnOps, DropoutIsReproducibleAndNoiseShapeBroadcasts) {
  auto run = [](int64_t graph_seed) {
    Graph g;
    g.set_random_seed(graph_seed);
    Scope s(g);
    Output y = ops::dropout(s, ops::constant(s, Tensor::ones(DType::f32, {8, 16})), ops::constant(s, Tensor(true)),
                            0.5, 0, {8, 1});
    Session sess(g);
    return std::make_pair(sess.run({}, {y})[0], sess.run({}, {y})[0]);
  };
  auto [a1, a2] = run(1);
  auto [b1, b2] = run(1);
  auto [c1, c2] = run(2);
  EXPECT_TRUE(a1.equals(b1));   // same seeds: same sequence
  EXPECT_TRUE(a2.equals(b2));
  EXPECT_FALSE(a1.equals(a2));  // each run draws the next mask
  EXPECT_FALSE(a1.equals(c1));  // another graph seed: another sequence
  for (int64_t r = 0; r < 8; ++r)  // noise_shape [8, 1]: whole rows kept or dropped
    for (int64_t j = 1; j < 16; ++j) EXPECT_EQ(a1.at<float>({r, j}), a1.at<float>({r, 0}));
}

TEST(Philox, VectorGeneratorsMatchTheScalarBlocks) {
  const philox::Stream stream(123, 456, 7);
  for (uint64_t first : {uint64_t{0}, uint64_t{8}, (uint64_t{1} << 32) - 8}) {
    for (int64_t count : {8, 16, 32, 40, 96}) {
      std::vector<uint32_t> fast(4 * count), portable(4 * count);
      philox::generate_words(stream, first, count, fast.data());
      philox::generate_words_portable(stream, first, count, portable.data());
      for (int64_t g = 0; g < count / 8; ++g)
        for (int w = 0; w < 4; ++w)
          for (int l = 0; l < 8; ++l) {
            const uint32_t want = stream.block(first + 8 * g + l)[w];
            ASSERT_EQ(fast[32 * g + 8 * w + l], want) << "block " << first + 8 * g + l;
            ASSERT_EQ(portable[32 * g + 8 * w + l], want) << "block " << first + 8 * g + l;
          }
    }
  }
}

TEST(Kernels, MultiThreadedResultsMatchSingleThreaded) {
  std::vector<float> v(300000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.001f * static_cast<float>(i));
  const Tensor big = Tensor::from_vector(v, {600, 500});
  std::vector<Build> builds = {
      [&](const Scope& s) { return ops::exp(s, c(s, big)); },
      [&](const Scope& s) { return ops::add(s, c(s, big), c(s, big)); },
      [&](const Scope& s) { return ops::add(s, c(s, big), ops::slice(s, c(s, big), {0, 0}, {1, -1})); },
      [&](const Scope& s) { return ops::sum(s, c(s, big), {0}); },
      [&](const Scope& s) { return ops::sum(s, c(s, big), {1}); },
      [&](const Scope& s) { return ops::max(s, c(s, big), {0}); },
      [&](const Scope& s) { return ops::softmax(s, c(s, big)); },
      [&](const Scope& s) { return ops::transpose(s, c(s, big)); },
      [&](const Scope& s) { return ops::matmul(s, c(s, big), c(s, big), true, false); },
  };
  for (size_t i = 0; i < builds.size(); ++i) {
    const Tensor one = eval(builds[i], 1), two = eval(builds[i], 2), four = eval(builds[i], 4);
    EXPECT_TRUE(one.equals(two)) << "build " << i;
    EXPECT_TRUE(one.equals(four)) << "build " << i;  // GEMM panels are register-block aligned
  }
}

TEST(RandomOps, RangesAndMoments) {
  auto stats = [](const Tensor& t) {
    double sum = 0, sq = 0, lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const double v = t.as_double(i);
      sum += v;
      sq += v * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double n = static_cast<double>(t.num_elements());
    return std::array<double, 4>{sum / n, std::sqrt(sq / n - sum * sum / n / n), lo, hi};
  };
  auto u = stats(eval([](const Scope& s) { return ops::random_uniform(s, {100000}, DType::f32, -1, 3, 5); }));
  EXPECT_NEAR(u[0], 1.0, 0.02);
  EXPECT_GE(u[2], -1.0);
  EXPECT_LT(u[3], 3.0);
  auto n = stats(eval([](const Scope& s) { return ops::random_normal(s, {100000}, DType::f64, 2, 0.5, 5); }));
  EXPECT_NEAR(n[0], 2.0, 0.01);
  EXPECT_NEAR(n[1], 0.5, 0.01);
  auto t = stats(eval([](const Scope& s) { return ops::truncated_normal(s, {100000}, DType::f32, 0, 1, 5); }));
  EXPECT_GE(t[2], -2.0);
  EXPECT_LE(t[3], 2.0);
  EXPECT_NEAR(t[1], 0.8796, 0.01);
  // Orthogonal: Q^T Q = I.
  Tensor q = eval([](const Scope& s) {
    return NodeBuilder(s, "RandomOrthogonal").attr("shape", Shape{6, 4}).attr("dtype", DType::f64).finish().output(0);
  });
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double dot = 0;
      for (int r = 0; r < 6; ++r) dot += q.at<double>({r, i}) * q.at<double>({r, j});
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-9);
    }
}

}  // namespace
}  // namespace sluice
