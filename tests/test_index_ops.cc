// Forward tests of the indexing ops (gather_nd, scatter_nd, tensor_scatter_nd,
// gather_elements, scatter_elements, one_hot with tensor depth, non_zero) against
// hand-computed values and the TensorFlow / ONNX documentation examples, with negative,
// duplicate and out-of-range indices, batch dims, empty tensors and several dtypes.
#include <gtest/gtest.h>

#include <limits>

#include "op_eval.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers

Tensor idx(std::vector<int64_t> v, const Shape& shape) { return Tensor::from_vector(v, shape); }

TEST(GatherNd, TensorFlowExamples) {
  const Tensor m = f32({1, 2, 3, 4}, {2, 2});  // [[a, b], [c, d]]
  auto g = [&](const Tensor& p, const Tensor& i, int64_t b = 0) {
    return eval([&](const Scope& s) { return ops::gather_nd(s, c(s, p), c(s, i), b); });
  };
  expect_values(g(m, idx({0, 0, 1, 1}, {2, 2})), {2}, {1, 4});
  expect_values(g(m, idx({1, 0}, {2, 1})), {2, 2}, {3, 4, 1, 2});
  expect_values(g(m, idx({-1, -2}, {1, 2})), {1}, {3});  // negative: from the end
  const Tensor p3 = iota({2, 2, 2});
  expect_values(g(p3, idx({1}, {1, 1})), {1, 2, 2}, {4, 5, 6, 7});
  expect_values(g(p3, idx({0, 1, 1, 0}, {2, 2})), {2, 2}, {2, 3, 4, 5});
  expect_values(g(p3, idx({0, 0, 1, 1, 0, 1}, {2, 3})), {2}, {1, 5});
  // ONNX GatherND with batch_dims = 1.
  expect_values(g(p3, idx({1, 0}, {2, 1}), 1), {2, 2}, {2, 3, 4, 5});
  // Tuples of length 0 take the whole tensor; no tuples give an empty result.
  expect_values(g(m, Tensor(DType::i64, {3, 0})), {3, 2, 2}, {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4});
  expect_values(g(m, Tensor(DType::i32, {0, 2})), {0}, {});
  expect_values(g(Tensor({true, false, true}), idx({2, 1}, {2, 1})), {2}, {1, 0});
  Graph gr;
  Scope s(gr);
  EXPECT_EQ(ops::gather_nd(s, c(s, p3), c(s, idx({0, 1, 1, 0}, {2, 2}))).shape(), Shape({2, 2}));
  EXPECT_THROW(ops::gather_nd(s, c(s, m), c(s, idx({0, 0, 0}, {1, 3}))),
               InvalidArgument);  // K > rank
  EXPECT_THROW(ops::gather_nd(s, c(s, p3), c(s, idx({0}, {1, 1})), 2),
               InvalidArgument);  // batch_dims
  const std::string msg = run_error<InvalidArgument>([&](const Scope& s) {
    return ops::gather_nd(s.named("gnd"), c(s, m), c(s, idx({0, 1, 2, 0}, {2, 2})));
  });
  EXPECT_TRUE(has(msg, "node 'gnd' (GatherNd)") && has(msg, "[2,0]") && has(msg, "[2,2]")) << msg;
}

TEST(GatherNd, ThreadIndependent) {
  Graph g;
  Scope s(g);
  std::vector<int64_t> rows;
  for (int i = 0; i < 5000; ++i) rows.push_back((i * 7919) % 300);
  Output y = ops::gather_nd(s, c(s, iota({300, 40})), c(s, idx(rows, {5000, 1})));
  const Tensor one = Session(g, SessionOptions{1}).run({}, {y})[0];
  const Tensor two = Session(g, SessionOptions{2}).run({}, {y})[0];
  EXPECT_TRUE(one.equals(two));
  EXPECT_EQ(one.at<float>({4999, 3}), static_cast<float>(rows[4999] * 40 + 3));
}

TEST(ScatterNd, IntoZerosSummingDuplicates) {
  auto sc = [&](const Tensor& i, const Tensor& u, std::vector<int64_t> shape) {
    return eval(
        [&](const Scope& s) { return ops::scatter_nd(s, c(s, i), c(s, u), c(s, i64(shape))); });
  };
  // TensorFlow's documentation example.
  expect_values(sc(idx({4, 3, 1, 7}, {4, 1}), f32({9, 10, 11, 12}, {4}), {8}), {8},
                {0, 11, 0, 10, 9, 0, 0, 12});
  expect_values(sc(idx({1, 1, -1}, {3, 1}), f32({1, 2, 5}, {3}), {3}), {3}, {0, 3, 5});
  expect_values(sc(idx({0, 2}, {2, 1}), f32({5, 5, 6, 6}, {2, 2}), {3, 2}), {3, 2},
                {5, 5, 0, 0, 6, 6});
  expect_values(sc(idx({1, 0}, {1, 2}), Tensor({int32_t{7}}), {2, 2}), {2, 2}, {0, 0, 7, 0});
  Graph g;
  Scope s(g);
  Output y =
      ops::scatter_nd(s, c(s, idx({1}, {1, 1})), c(s, f32({1, 2}, {1, 2})), c(s, i64({3, 2})));
  EXPECT_EQ(y.shape(), Shape({3, 2}));
  EXPECT_THROW(
      ops::scatter_nd(s, c(s, idx({1}, {1, 1})), c(s, f32({1, 2, 3}, {1, 3})), c(s, i64({3, 2}))),
      InvalidArgument);
  const std::string msg = run_error<InvalidArgument>([&](const Scope& s) {
    return ops::scatter_nd(s.named("snd"), c(s, idx({8}, {1, 1})), c(s, f32({1}, {1})),
                           c(s, i64({8})));
  });
  EXPECT_TRUE(has(msg, "node 'snd' (ScatterNd)") && has(msg, "[8]")) << msg;
}

TEST(TensorScatterNd, OnnxScatterNDAndReductions) {
  const Tensor data = f32({1, 2, 3, 4, 5, 6, 7, 8}, {8});
  auto sc = [&](const Tensor& d, const Tensor& i, const Tensor& u, const std::string& r) {
    return eval(
        [&](const Scope& s) { return ops::tensor_scatter_nd(s, c(s, d), c(s, i), c(s, u), r); });
  };
  // ONNX ScatterND's documentation example.
  expect_values(sc(data, idx({4, 3, 1, 7}, {4, 1}), f32({9, 10, 11, 12}, {4}), "none"), {8},
                {1, 11, 3, 10, 9, 6, 7, 12});
  const Tensor dup = idx({0, 0}, {2, 1});
  const Tensor u = f32({5, 6}, {2});
  expect_values(sc(data, dup, u, "none"), {8}, {6, 2, 3, 4, 5, 6, 7, 8});  // the later update wins
  expect_values(sc(data, dup, u, "add"), {8}, {12, 2, 3, 4, 5, 6, 7, 8});
  expect_values(sc(data, dup, u, "mul"), {8}, {30, 2, 3, 4, 5, 6, 7, 8});
  expect_values(sc(data, dup, u, "max"), {8}, {6, 2, 3, 4, 5, 6, 7, 8});
  expect_values(sc(data, dup, f32({-5, 6}, {2}), "min"), {8}, {-5, 2, 3, 4, 5, 6, 7, 8});
  // Slices of a matrix, and bool data with "none".
  expect_values(sc(iota({3, 2}), idx({2, 0}, {2, 1}), f32({7, 8, 9, 10}, {2, 2}), "none"), {3, 2},
                {9, 10, 2, 3, 7, 8});
  expect_values(sc(Tensor({false, false}), idx({1}, {1, 1}), Tensor({true}), "none"), {2}, {0, 1});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::tensor_scatter_nd(s, c(s, data), c(s, dup), c(s, u), "sum"), InvalidArgument);
  EXPECT_THROW(ops::tensor_scatter_nd(s, c(s, Tensor({true})), c(s, idx({0}, {1, 1})),
                                      c(s, Tensor({true})), "add"),
               InvalidArgument);
}

TEST(GatherElements, OnnxExamples) {
  auto ge = [&](const Tensor& d, const Tensor& i, int64_t axis) {
    return eval([&](const Scope& s) { return ops::gather_elements(s, c(s, d), c(s, i), axis); });
  };
  expect_values(ge(f32({1, 2, 3, 4}, {2, 2}), idx({0, 0, 1, 0}, {2, 2}), 1), {2, 2}, {1, 1, 4, 3});
  const Tensor d3 = f32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  expect_values(ge(d3, idx({1, 2, 0, 2, 0, 0}, {2, 3}), 0), {2, 3}, {4, 8, 3, 7, 2, 3});
  expect_values(ge(d3, idx({-1, -2, 0, -2, 0, 0}, {2, 3}), 0), {2, 3}, {7, 5, 3, 4, 2, 3});
  expect_values(ge(d3, idx({2, 0}, {1, 2}), -1), {1, 2}, {3, 1});  // indices smaller than data
  expect_values(ge(d3, Tensor(DType::i64, {0, 3}), 0), {0, 3}, {});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::gather_elements(s, c(s, d3), c(s, idx({0, 1, 2}, {3}))),
               InvalidArgument);  // rank
  const std::string msg = run_error<InvalidArgument>([&](const Scope& s) {
    return ops::gather_elements(s.named("ge"), c(s, d3), c(s, idx({0, 3}, {1, 2})), 1);
  });
  EXPECT_TRUE(has(msg, "node 'ge' (GatherElements)") && has(msg, "= 3") && has(msg, "[3,3]"))
      << msg;
}

TEST(ScatterElements, OnnxExamplesAndReductions) {
  auto se = [&](const Tensor& d, const Tensor& i, const Tensor& u, int64_t axis,
                const std::string& r) {
    return eval([&](const Scope& s) {
      return ops::scatter_elements(s, c(s, d), c(s, i), c(s, u), axis, r);
    });
  };
  expect_values(
      se(Tensor::zeros(DType::f64, {3, 3}), idx({1, 0, 2, 0, 2, 1}, {2, 3}),
         Tensor::from_vector(std::vector<double>{1.0, 1.1, 1.2, 2.0, 2.1, 2.2}, {2, 3}), 0, "none"),
      {3, 3}, {2.0, 1.1, 0.0, 1.0, 0.0, 2.2, 0.0, 2.1, 1.2});
  const Tensor row = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5}, {1, 5});
  const Tensor upd = Tensor::from_vector(std::vector<double>{1.1, 2.1}, {1, 2});
  expect_values(se(row, idx({1, 3}, {1, 2}), upd, 1, "none"), {1, 5}, {1, 1.1, 3, 2.1, 5});
  expect_values(se(row, idx({1, 1}, {1, 2}), upd, 1, "add"), {1, 5}, {1, 2 + 1.1 + 2.1, 3, 4, 5});
  expect_values(se(row, idx({1, -4}, {1, 2}), upd, -1, "mul"), {1, 5}, {1, 2 * 1.1 * 2.1, 3, 4, 5});
  expect_values(se(Tensor({uint8_t{1}, uint8_t{2}}), idx({0}, {1}), Tensor({uint8_t{9}}), 0, "max"),
                {2}, {9, 2});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::scatter_elements(s, c(s, row), c(s, idx({1, 1}, {1, 2})), c(s, row)),
               InvalidArgument);
  const std::string msg = run_error<InvalidArgument>([&](const Scope& s) {
    return ops::scatter_elements(s.named("se"), c(s, row), c(s, idx({5}, {1, 1})),
                                 c(s, Tensor::zeros(DType::f64, {1, 1})), 1);
  });
  EXPECT_TRUE(has(msg, "node 'se' (ScatterElements)") && has(msg, "= 5")) << msg;
}

TEST(OneHotTensorDepth, TensorFlowAndOnnxRules) {
  auto oh = [&](const Tensor& i, const Tensor& depth, int64_t axis, bool wrap) {
    return eval([&](const Scope& s) {
      return ops::one_hot(s, c(s, i), c(s, depth), c(s, Tensor(5.0f)), c(s, Tensor(0.0f)), axis,
                          wrap);
    });
  };
  const Tensor i = i64({0, 2, -1, 5});
  expect_values(oh(i, Tensor(3), -1, false), {4, 3}, {5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0});
  expect_values(oh(i, Tensor(int64_t{3}), -1, true), {4, 3}, {5, 0, 0, 0, 0, 5, 0, 0, 5, 0, 0, 0});
  expect_values(oh(i64({0, 2}), Tensor(3.0f), 0, false), {3, 2}, {5, 0, 0, 0, 0, 5});
  expect_values(oh(f32({1.7f, 0.0f}, {2}), Tensor(2), 1, false), {2, 2}, {0, 5, 5, 0});
  expect_values(oh(Tensor::from_vector(std::vector<int32_t>{1, 0}, {2, 1}), Tensor(2), 1, false),
                {2, 2, 1}, {0, 5, 5, 0});
  expect_values(oh(i64({}), Tensor(4), -1, false), {0, 4}, {});
  const Tensor b = eval([&](const Scope& s) {
    return ops::one_hot(s, c(s, i32({1})), c(s, Tensor(2)), c(s, Tensor(true)),
                        c(s, Tensor(false)));
  });
  EXPECT_EQ(b.dtype(), DType::boolean);
  expect_values(b, {1, 2}, {0, 1});
  Graph g;
  Scope s(g);
  EXPECT_EQ(ops::one_hot(s, c(s, i), c(s, Tensor(3)), c(s, Tensor(1.0)), c(s, Tensor(0.0))).shape(),
            Shape({4, 3}));
  Output d = ops::placeholder(s, DType::i32, {});
  Output y = ops::one_hot(s.named("oh"), c(s, i), d, c(s, Tensor(1.0)), c(s, Tensor(0.0)));
  EXPECT_EQ(y.shape(), Shape({4, -1}));
  EXPECT_THROW(ops::one_hot(s, c(s, i), d, c(s, Tensor(1.0)), c(s, Tensor(0.0f))), InvalidArgument);
  EXPECT_THROW(ops::one_hot(s, c(s, i), d, c(s, Tensor(1.0)), c(s, Tensor(0.0)), 2),
               InvalidArgument);
  Session sess(g);
  const std::string msg = error_of<InvalidArgument>([&] { sess.run({{d, Tensor(-2)}}, {y}); });
  EXPECT_TRUE(has(msg, "node 'oh' (DynamicOneHot)") && has(msg, "depth")) << msg;
}

TEST(NonZero, CoordinatesInRowMajorOrder) {
  expect_values(eval([&](const Scope& s) {
                  return ops::non_zero(s, c(s, f32({1, 0, 0, 3}, {2, 2})));
                }),
                {2, 2}, {0, 1, 0, 1});
  expect_values(eval([&](const Scope& s) {
                  return ops::non_zero(s, c(s, iota({2, 3})));
                }),
                {2, 5}, {0, 0, 1, 1, 1, 1, 2, 0, 1, 2});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_values(eval([&](const Scope& s) {
                  return ops::non_zero(s, c(s, f32({0.0f, -0.0f, nan}, {3})));
                }),
                {1, 1}, {2});
  expect_values(eval([&](const Scope& s) { return ops::non_zero(s, c(s, Tensor(int64_t{5}))); }),
                {1, 1}, {0});
  expect_values(eval([&](const Scope& s) {
                  return ops::non_zero(s, c(s, Tensor({false, true})));
                }),
                {1, 1}, {1});
  expect_values(eval([&](const Scope& s) {
                  return ops::non_zero(s, c(s, Tensor::zeros(DType::u8, {2, 0})));
                }),
                {2, 0}, {});
  Graph g;
  Scope s(g);
  EXPECT_EQ(ops::non_zero(s, c(s, iota({2, 3}))).shape(), Shape({2, -1}));
}

}  // namespace
}  // namespace sluice
