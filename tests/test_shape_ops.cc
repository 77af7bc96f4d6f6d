// Forward tests of the tensor-argument shape ops (reshape, transpose, fill, range,
// invert_permutation), stack/unstack/split_v and where, against hand-computed values,
// with static-shape inference, every dtype, empty tensors and bad-input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "op_eval.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers

TEST(DynamicReshape, ConstantShapeKeepsStaticShape) {
  const Tensor x = iota({2, 3});
  auto f = [&](const Scope& s) { return ops::reshape(s, c(s, x), c(s, i64({3, -1}))); };
  EXPECT_EQ(static_shape(f), Shape({3, 2}));
  expect_values(eval(f), {3, 2}, {0, 1, 2, 3, 4, 5});
  expect_values(eval([&](const Scope& s) { return ops::reshape(s, c(s, x), c(s, i32({6}))); }), {6},
                {0, 1, 2, 3, 4, 5});
  // A scalar to and from [1, 1].
  expect_values(eval([&](const Scope& s) {
                  return ops::reshape(s, c(s, Tensor(5.0)), c(s, i64({1, 1})));
                }),
                {1, 1}, {5});
  expect_values(
      eval([&](const Scope& s) {
        return ops::reshape(s, c(s, f32({4}, {1, 1})), c(s, Tensor(DType::i64, Shape{0})));
      }),
      {}, {4});
}

TEST(DynamicReshape, ZeroCopiesInputDimOnlyWhenAsked) {
  const Tensor x = iota({2, 3, 4});
  auto onnx = [&](const Scope& s) { return ops::reshape(s, c(s, x), c(s, i64({0, -1})), true); };
  EXPECT_EQ(static_shape(onnx), Shape({2, 12}));
  const std::vector<float> xv = x.to_vector<float>();
  expect_values(eval(onnx), {2, 12}, std::vector<double>(xv.begin(), xv.end()));
  // TensorFlow / ONNX allowzero: 0 is a zero-sized dim, so 24 elements cannot fit.
  Graph g;
  Scope s(g);
  const std::string m = error_of<InvalidArgument>([&] {
    ops::reshape(s.named("r"), c(s, x), c(s, i64({0, -1})));
  });
  EXPECT_TRUE(has(m, "'r'") && has(m, "[2,3,4]")) << m;
  // An empty tensor may take a literal 0.
  expect_values(
      eval([&](const Scope& s) {
        return ops::reshape(s, c(s, Tensor::zeros(DType::f32, {0, 3})), c(s, i64({5, 0})));
      }),
      {5, 0}, {});
  expect_values(
      eval([&](const Scope& s) {
        return ops::reshape(s, c(s, Tensor::zeros(DType::f32, {0, 3})), c(s, i64({0, 3})), true);
      }),
      {0, 3}, {});
}

TEST(DynamicReshape, RunTimeShapeIsValidatedWithNodeName) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 3});
  Output shape = ops::placeholder(s, DType::i64, {2});
  Output y = ops::reshape(s.named("dyn"), x, shape);
  EXPECT_EQ(y.shape(), Shape({-1, -1}));
  Session sess(g);
  expect_values(sess.run({{x, iota({2, 3})}, {shape, i64({6, 1})}}, {y})[0], {6, 1},
                {0, 1, 2, 3, 4, 5});
  expect_values(sess.run({{x, iota({2, 3})}, {shape, i64({-1, 2})}}, {y})[0], {3, 2},
                {0, 1, 2, 3, 4, 5});
  for (const Tensor& bad : {i64({4, 2}), i64({-1, -1}), i64({-3, -2})}) {
    const std::string m = error_of<InvalidArgument>([&] {
      sess.run({{x, iota({2, 3})}, {shape, bad}}, {y});
    });
    EXPECT_TRUE(has(m, "node 'dyn' (DynamicReshape)")) << m;
  }
}

TEST(DynamicReshape, FlattenPatternInfersTheLastDim) {
  // Keras' Flatten in TensorFlow graphs: reshape(x, stack([shape(x)[0], -1])).
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, 4, 5});
  Output batch = ops::strided_slice(s, ops::shape(s, x), c(s, i64({0})), c(s, i64({1})),
                                    c(s, i64({1})), 0, 0, 0, 0, 1);
  EXPECT_EQ(batch.shape(), Shape({}));
  Output y = ops::reshape(s, x, ops::stack(s, {batch, c(s, Tensor(int64_t{-1}))}));
  EXPECT_EQ(y.shape(), Shape({-1, 20}));
  Session sess(g);
  EXPECT_EQ(sess.run({{x, iota({3, 4, 5})}}, {y})[0].shape(), Shape({3, 20}));
  // Shape(x) directly: every dim of x, known or not.
  Output z = ops::reshape(s, x, ops::shape(s, x));
  EXPECT_EQ(z.shape(), Shape({-1, 4, 5}));
}

TEST(DynamicReshape, AllDtypes) {
  for (const Tensor& t :
       {Tensor({true, false, true, true}), Tensor({uint8_t{1}, uint8_t{2}, uint8_t{3}, uint8_t{4}}),
        Tensor({int64_t{1}, int64_t{2}, int64_t{3}, int64_t{4}}), Tensor({1.0, 2.0, 3.0, 4.0}),
        Tensor({1, 2, 3, 4})}) {
    const Tensor y = eval([&](const Scope& s) {
      return ops::reshape(s, c(s, t), c(s, i64({2, 2})));
    });
    EXPECT_EQ(y.dtype(), t.dtype());
    EXPECT_TRUE(y.equals(t.reshaped({2, 2}))) << y;
  }
}

TEST(DynamicTranspose, ConstantAndRunTimePerm) {
  const Tensor x = iota({2, 3, 2});
  auto f = [&](const Scope& s) { return ops::transpose(s, c(s, x), c(s, i32({1, 2, 0}))); };
  EXPECT_EQ(static_shape(f), Shape({3, 2, 2}));
  expect_values(eval(f), {3, 2, 2}, {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11});
  Graph g;
  Scope s(g);
  Output p = ops::placeholder(s, DType::i64, {-1});
  Output y = ops::transpose(s.named("t"), c(s, x), p);
  EXPECT_EQ(y.shape(), Shape({-1, -1, -1}));
  Session sess(g);
  expect_values(sess.run({{p, i64({2, 1, 0})}}, {y})[0], {2, 3, 2},
                {0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11});
  for (const Tensor& bad : {i64({0, 0, 1}), i64({0, 1, 3}), i64({-1, 0, 1})}) {
    const std::string m = error_of<InvalidArgument>([&] { sess.run({{p, bad}}, {y}); });
    EXPECT_TRUE(has(m, "node 't' (DynamicTranspose)") && has(m, "not a permutation")) << m;
  }
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{p, i64({0, 1})}}, {y}); });
  EXPECT_TRUE(has(m, "[2,3,2]")) << m;
  // Rank 0 with an empty perm; bool elements.
  expect_values(eval([&](const Scope& s) {
                  return ops::transpose(s, c(s, Tensor(3.0f)), c(s, Tensor(DType::i64, {0})));
                }),
                {}, {3});
  expect_values(
      eval([&](const Scope& s) {
        return ops::transpose(s, c(s, Tensor({{true, true}, {false, false}})), c(s, i64({1, 0})));
      }),
      {2, 2}, {1, 0, 1, 0});
}

TEST(DynamicTranspose, ResultDoesNotDependOnThreads) {
  Graph g;
  Scope s(g);
  const Tensor x = iota({300, 217});
  Output y = ops::transpose(s, c(s, x), c(s, i64({1, 0})));
  const Tensor one = Session(g, SessionOptions{1}).run({}, {y})[0];
  const Tensor two = Session(g, SessionOptions{2}).run({}, {y})[0];
  EXPECT_TRUE(one.equals(two));
  EXPECT_EQ(one.at<float>({5, 7}), x.at<float>({7, 5}));
}

TEST(DynamicTranspose, EveryRank4PermMatchesNaiveIndexingOnTwoThreads) {
  // The kernel counts its way through the outer dims from each thread's first row: every
  // permutation, split across two threads at rows that are not dim boundaries. Permutations
  // that amount to swapping two blocks of dims ([batch, rows, cols] -> [batch, cols, rows],
  // e.g. NCHW <-> NHWC, once dims of 1 are dropped) take tiles instead: partial tiles at
  // every edge, 2, 3 and 4 rows (the unrolled channel loops), dims of 1 anywhere.
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{
           {3, 37, 41, 5}, {2, 3, 33, 35}, {1, 4, 1, 700}, {2, 2, 45, 1}, {1, 1, 67, 40}}) {
    const Tensor x = iota(Shape(dims));
    std::vector<int64_t> perm{0, 1, 2, 3};
    do {
      Graph g;
      Scope s(g);
      Output y = ops::transpose(s, c(s, x), c(s, i64(perm)));
      const Tensor t = Session(g, SessionOptions{2}).run({}, {y})[0];
      std::vector<int64_t> od;
      for (int64_t p : perm) od.push_back(dims[static_cast<size_t>(p)]);
      ASSERT_EQ(t.shape(), Shape(od));
      int64_t o = 0;
      std::vector<int64_t> i(4);
      for (i[0] = 0; i[0] < od[0]; ++i[0])
        for (i[1] = 0; i[1] < od[1]; ++i[1])
          for (i[2] = 0; i[2] < od[2]; ++i[2])
            for (i[3] = 0; i[3] < od[3]; ++i[3], ++o) {
              std::vector<int64_t> src(4);
              for (int k = 0; k < 4; ++k)
                src[static_cast<size_t>(perm[static_cast<size_t>(k)])] = i[static_cast<size_t>(k)];
              const int64_t flat =
                  ((src[0] * dims[1] + src[1]) * dims[2] + src[2]) * dims[3] + src[3];
              ASSERT_EQ(t.data<float>()[o], x.data<float>()[flat])
                  << Shape(dims).to_string() << " perm " << perm[0] << perm[1] << perm[2]
                  << perm[3];
            }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(InvertPermutation, ValuesAndErrors) {
  expect_values(eval([&](const Scope& s) {
                  return ops::invert_permutation(s, c(s, i32({2, 0, 1})));
                }),
                {3}, {1, 2, 0});
  expect_values(eval([&](const Scope& s) {
                  return ops::invert_permutation(s, c(s, Tensor(DType::i64, {0})));
                }),
                {0}, {});
  const std::string m = run_error<InvalidArgument>([&](const Scope& s) {
    return ops::invert_permutation(s.named("inv"), c(s, i64({0, 0})));
  });
  EXPECT_TRUE(has(m, "'inv'") && has(m, "[0,0]")) << m;
}

TEST(DynamicFill, ValuesShapesAndDtypes) {
  auto f = [&](const Scope& s) { return ops::fill(s, c(s, i64({2, 3})), c(s, Tensor(7.5f))); };
  EXPECT_EQ(static_shape(f), Shape({2, 3}));
  expect_values(eval(f), {2, 3}, {7.5, 7.5, 7.5, 7.5, 7.5, 7.5});
  const Tensor b =
      eval([&](const Scope& s) { return ops::fill(s, c(s, i32({2})), c(s, Tensor(true))); });
  EXPECT_EQ(b.dtype(), DType::boolean);
  expect_values(b, {2}, {1, 1});
  expect_values(eval([&](const Scope& s) {
                  return ops::fill(s, c(s, i64({0, 3})), c(s, Tensor(int64_t{4})));
                }),
                {0, 3}, {});
  expect_values(eval([&](const Scope& s) {
                  return ops::fill(s, c(s, Tensor(DType::i64, {0})), c(s, Tensor(uint8_t{9})));
                }),
                {}, {9});
  // dims from a run-time shape: ONNX ConstantOfShape(Shape(x)).
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, 2});
  Output y = ops::fill(s.named("fill"), ops::shape(s, x), c(s, Tensor(1.0)));
  EXPECT_EQ(y.shape(), Shape({-1, 2}));
  Session sess(g);
  expect_values(sess.run({{x, iota({3, 2})}}, {y})[0], {3, 2}, {1, 1, 1, 1, 1, 1});
  Output d = ops::placeholder(s, DType::i32, {-1});
  Output z = ops::fill(s.named("neg"), d, c(s, Tensor(1.0)));
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{d, i32({2, -1})}}, {z}); });
  EXPECT_TRUE(has(m, "'neg'") && has(m, "[2,-1]")) << m;
  EXPECT_THROW(ops::fill(s, c(s, i64({2})), c(s, f32({1, 2}, {2}))),
               InvalidArgument);  // value not a scalar
}

TEST(Range, TensorFlowAndOnnxRules) {
  auto range = [](auto a, auto b, auto d, bool onnx = false) {
    return eval([&](const Scope& s) {
      return ops::range(s, c(s, Tensor(a)), c(s, Tensor(b)), c(s, Tensor(d)), onnx);
    });
  };
  expect_values(range(0, 5, 1), {5}, {0, 1, 2, 3, 4});
  EXPECT_EQ(range(0, 5, 1).dtype(), DType::i32);
  expect_values(range(int64_t{1}, int64_t{10}, int64_t{3}), {3}, {1, 4, 7});
  expect_values(range(5, 1, -2), {2}, {5, 3});
  expect_values(range(4, 4, 1), {0}, {});
  expect_values(range(0.0, 1.0, 0.25), {4}, {0, 0.25, 0.5, 0.75});
  expect_values(range(1.0f, -1.0f, -0.5f), {4}, {1, 0.5, 0, -0.5});
  // TensorFlow accumulates (ten additions of 0.1 in double), ONNX multiplies (10 * 0.1).
  double acc = 0;
  for (int i = 0; i < 10; ++i) acc += 0.1;
  ASSERT_NE(acc, 10 * 0.1);
  EXPECT_EQ(range(0.0, 1.05, 0.1).data<double>()[10], acc);
  EXPECT_EQ(range(0.0, 1.05, 0.1, true).data<double>()[10], 10 * 0.1);
  // Extreme int64 values: |limit - start| does not fit in int64.
  constexpr int64_t lo = std::numeric_limits<int64_t>::min(),
                    hi = std::numeric_limits<int64_t>::max();
  const Tensor big = range(lo, hi, hi);
  ASSERT_EQ(big.shape(), Shape({3}));
  EXPECT_EQ(big.data<int64_t>()[0], lo);
  EXPECT_EQ(big.data<int64_t>()[1], -1);
  EXPECT_EQ(big.data<int64_t>()[2], hi - 1);
  // A direction away from limit: TensorFlow errors, ONNX gives an empty range.
  expect_values(range(5, 1, 1, true), {0}, {});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::range(s, c(s, Tensor(5)), c(s, Tensor(1)), c(s, Tensor(1))), InvalidArgument);
  EXPECT_THROW(ops::range(s, c(s, Tensor(0)), c(s, Tensor(1)), c(s, Tensor(0)), true),
               InvalidArgument);
  EXPECT_THROW(ops::range(s, c(s, Tensor(0)), c(s, Tensor(1.0f)), c(s, Tensor(1))),
               InvalidArgument);  // dtypes
  // Run-time arguments: unknown size statically, checked when run.
  Output lim = ops::placeholder(s, DType::f32, {});
  Output r = ops::range(s.named("rng"), c(s, Tensor(0.0f)), lim, c(s, Tensor(0.0f)));
  EXPECT_EQ(r.shape(), Shape({-1}));
  Session sess(g);
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{lim, Tensor(3.0f)}}, {r}); });
  EXPECT_TRUE(has(m, "'rng'") && has(m, "delta != 0")) << m;
  Output inf = ops::range(s.named("inf"), c(s, Tensor(0.0f)), lim, c(s, Tensor(1.0f)));
  const std::string m2 = error_of<InvalidArgument>([&] {
    sess.run({{lim, Tensor(std::numeric_limits<float>::infinity())}}, {inf});
  });
  EXPECT_TRUE(has(m2, "'inf'")) << m2;
}

TEST(StackUnstack, Values) {
  const Tensor a = f32({1, 2}, {2}), b = f32({3, 4}, {2});
  expect_values(eval([&](const Scope& s) {
                  return ops::stack(s, {c(s, a), c(s, b)});
                }),
                {2, 2}, {1, 2, 3, 4});
  expect_values(eval([&](const Scope& s) {
                  return ops::stack(s, {c(s, a), c(s, b)}, 1);
                }),
                {2, 2}, {1, 3, 2, 4});
  expect_values(eval([&](const Scope& s) {
                  return ops::stack(s, {c(s, a), c(s, b), c(s, a)}, -1);
                }),
                {2, 3}, {1, 3, 1, 2, 4, 2});
  expect_values(eval([&](const Scope& s) {
                  return ops::stack(s, {c(s, Tensor(1)), c(s, Tensor(2))});
                }),
                {2}, {1, 2});
  expect_values(
      eval([&](const Scope& s) {
        return ops::stack(
            s, {c(s, Tensor::zeros(DType::f32, {0, 2})), c(s, Tensor::zeros(DType::f32, {0, 2}))},
            1);
      }),
      {0, 2, 2}, {});
  const Tensor bools = eval([&](const Scope& s) {
    return ops::stack(s, {c(s, Tensor({true})), c(s, Tensor({false}))});
  });
  expect_values(bools, {2, 1}, {1, 0});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::stack(s, {c(s, a), c(s, f32({1, 2, 3}, {3}))}), InvalidArgument);
  EXPECT_THROW(ops::stack(s, {c(s, a), c(s, b)}, 2), InvalidArgument);

  auto parts = eval_all(
      [&](const Scope& s) {
        return ops::unstack(s, c(s, iota({2, 3})), 1)[0];
      },
      1, 3);
  expect_values(parts[0], {2}, {0, 3});
  expect_values(parts[2], {2}, {2, 5});
  auto rows = eval_all(
      [&](const Scope& s) {
        return ops::unstack(s, c(s, iota({2, 3})), -2)[0];
      },
      1, 2);
  expect_values(rows[1], {3}, {3, 4, 5});
  Output unknown = ops::placeholder(s, DType::f32, {-1, 3});
  EXPECT_THROW(ops::unstack(s, unknown), InvalidArgument);  // num unknown
  auto fed = ops::unstack(s.named("u"), unknown, 0, 2);
  Session sess(g);
  const std::string m = error_of<InvalidArgument>([&] {
    sess.run({{unknown, iota({3, 3})}}, {fed[0]});
  });
  EXPECT_TRUE(has(m, "'u'") && has(m, "[3,3]")) << m;
}

TEST(SplitV, SizesWithOneInferred) {
  auto parts = eval_all(
      [&](const Scope& s) {
        return ops::split_v(s, c(s, iota({2, 5})), {1, -1, 2}, 1)[0];
      },
      1, 3);
  expect_values(parts[0], {2, 1}, {0, 5});
  expect_values(parts[1], {2, 2}, {1, 2, 6, 7});
  expect_values(parts[2], {2, 2}, {3, 4, 8, 9});
  auto empty = eval_all(
      [&](const Scope& s) {
        return ops::split_v(s, c(s, iota({3})), {0, 3}, 0)[0];
      },
      1, 2);
  expect_values(empty[0], {0}, {});
  expect_values(empty[1], {3}, {0, 1, 2});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::split_v(s, c(s, iota({5})), {1, 1}, 0), InvalidArgument);
  EXPECT_THROW(ops::split_v(s, c(s, iota({5})), {-1, -1}, 0), InvalidArgument);
  EXPECT_THROW(ops::split_v(s, c(s, iota({5})), {6, -1}, 0), InvalidArgument);
  Output x = ops::placeholder(s, DType::f32, {-1});
  auto fed = ops::split_v(s.named("sv"), x, {2, -1}, 0);
  EXPECT_EQ(fed[0].shape(), Shape({2}));
  EXPECT_EQ(fed[1].shape(), Shape({-1}));
  Session sess(g);
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{x, iota({1})}}, {fed[0]}); });
  EXPECT_TRUE(has(m, "'sv'")) << m;
}

TEST(Where, FullBroadcasting) {
  const Tensor cond = Tensor::from_vector(std::vector<bool>{true, false}, {2, 1});
  expect_values(eval([&](const Scope& s) {
                  return ops::where(s, c(s, cond), c(s, f32({1, 2, 3}, {3})), c(s, Tensor(9.0f)));
                }),
                {2, 3}, {1, 2, 3, 9, 9, 9});
  expect_values(eval([&](const Scope& s) {
                  return ops::where(s, c(s, Tensor({true, false, true})), c(s, Tensor(int64_t{1})),
                                    c(s, Tensor::from_vector(std::vector<int64_t>{7, 8}, {2, 1})));
                }),
                {2, 3}, {1, 7, 1, 1, 8, 1});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::where(s, c(s, Tensor({1, 0})), c(s, Tensor(1)), c(s, Tensor(2))),
               InvalidArgument);
}

}  // namespace
}  // namespace sluice
