// Forward values of batch_matmul (ops/matrix_ops.h), the reductions added beside
// sum/mean/max/min (prod, all, any, the tensor-axes forms, logsumexp, l2_loss), the scans
// (ops/scan_ops.h), argmax/argmin with options and top_k (ops/sort_ops.h): hand-computed
// values, NaN and +-inf rows, shape inference, errors, thread-count independence.
#include <random>

#include "op_test_util.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers
using Ints = std::vector<int64_t>;

Output axes(const Scope& s, Ints v) { return c(s, Tensor::from_vector(v, {static_cast<int64_t>(v.size())})); }

// ---- batch_matmul ----

// Reference batched product in double with NumPy broadcasting of the batch dims.
std::vector<double> reference_bmm(const Tensor& a, const Tensor& b, bool adj_x, bool adj_y, Shape& out) {
  const int ra = a.rank(), rb = b.rank();
  const int64_t m = adj_x ? a.dim(ra - 1) : a.dim(ra - 2), k = adj_x ? a.dim(ra - 2) : a.dim(ra - 1);
  const int64_t n = adj_y ? b.dim(rb - 2) : b.dim(rb - 1);
  const int r = std::max(ra, rb) - 2;
  Ints batch(r);
  for (int i = 0; i < r; ++i) {
    const int ia = i - (r - (ra - 2)), ib = i - (r - (rb - 2));
    const int64_t da = ia >= 0 ? a.dim(ia) : 1, db = ib >= 0 ? b.dim(ib) : 1;
    batch[i] = std::max(da, db);
  }
  Ints od = batch;
  od.push_back(m);
  od.push_back(n);
  out = Shape(od);
  std::vector<double> y;
  const int64_t nb = Shape(batch).num_elements();
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t rest = bi, offa = 0, offb = 0, sa = 1, sb = 1;
    for (int i = r - 1; i >= 0; --i) {
      const int64_t coord = rest % batch[i];
      rest /= batch[i];
      const int ia = i - (r - (ra - 2)), ib = i - (r - (rb - 2));
      if (ia >= 0) {
        offa += (a.dim(ia) == 1 ? 0 : coord) * sa;
        sa *= a.dim(ia);
      }
      if (ib >= 0) {
        offb += (b.dim(ib) == 1 ? 0 : coord) * sb;
        sb *= b.dim(ib);
      }
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double av = a.as_double(offa * m * k + (adj_x ? p * m + i : i * k + p));
          const double bv = b.as_double(offb * k * n + (adj_y ? j * k + p : p * n + j));
          acc += av * bv;
        }
        y.push_back(acc);
      }
  }
  return y;
}

Tensor random_tensor(const Shape& s, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(static_cast<size_t>(s.num_elements()));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(v, s);
}

TEST(BatchMatMul, HandComputed) {
  // [2, 2, 2] x [2, 2] (b broadcast over the batch).
  const Tensor a = f32({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
  const Tensor b = f32({1, 0, 1, 1}, {2, 2});
  auto run = [&](bool ax, bool ay) {
    return eval([&](const Scope& s) { return ops::batch_matmul(s, c(s, a), c(s, b), ax, ay); });
  };
  expect_values(run(false, false), {2, 2, 2}, {3, 2, 7, 4, 11, 6, 15, 8});
  expect_values(run(true, false), {2, 2, 2}, {4, 3, 6, 4, 12, 7, 14, 8});
  expect_values(run(false, true), {2, 2, 2}, {1, 3, 3, 7, 5, 11, 7, 15});
  // Integers wrap instead of overflowing.
  expect_values(eval([](const Scope& s) {
                  return ops::batch_matmul(s, c(s, i32({1, 2, 3, 4}, {1, 2, 2})), c(s, i32({5, 6, 7, 8}, {2, 2})));
                }),
                {1, 2, 2}, {19, 22, 43, 50});
  const Tensor big = Tensor::from_vector(std::vector<int64_t>{int64_t{1} << 62, 4}, {1, 2});
  expect_values(eval([&](const Scope& s) {
                  return ops::batch_matmul(s, c(s, big), c(s, Tensor::from_vector(std::vector<int64_t>{4, 1}, {2, 1})));
                }),
                {1, 1}, {4});
}

TEST(BatchMatMul, MatchesAReferenceWithBroadcastingAndAdjoints) {
  std::mt19937 rng(3);
  struct Case {
    Shape a, b;
    bool ax, ay;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {4, 5}, false, false},          {{2, 3, 4}, {2, 4, 5}, false, false},
      {{2, 1, 3, 4}, {3, 4, 2}, false, false}, {{1, 4, 3}, {5, 4, 2}, true, false},
      {{2, 3, 4}, {6, 4}, false, true},         {{2, 2, 4, 3}, {2, 1, 6, 4}, true, true},
      {{7, 1, 5}, {5, 1}, false, false},        {{3, 70, 80}, {80, 90}, false, false},  // GEMM path
  };
  for (const Case& cs : cases) {
    const Tensor a = random_tensor(cs.a, rng), b = random_tensor(cs.b, rng);
    Shape want_shape;
    const std::vector<double> want = reference_bmm(a, b, cs.ax, cs.ay, want_shape);
    const Tensor got = eval([&](const Scope& s) { return ops::batch_matmul(s, c(s, a), c(s, b), cs.ax, cs.ay); });
    expect_values(got, want_shape, want, 1e-4);
    // The static shape is inferred when the node is built.
    Graph g;
    Scope s(g);
    EXPECT_EQ(ops::batch_matmul(s, c(s, a), c(s, b), cs.ax, cs.ay).shape(), want_shape);
  }
}

TEST(BatchMatMul, NanInfEmptyAndErrors) {
  const Tensor a = f32({NAN, 1, INFINITY, 1, 1, 1}, {3, 2});
  const Tensor b = f32({1, 2, 3, 4}, {2, 2});
  expect_values(eval([&](const Scope& s) { return ops::batch_matmul(s, c(s, a), c(s, b)); }), {3, 2},
                {kNaN, kNaN, kInf, kInf, 4, 6});
  // K = 0: zeros; an empty batch: an empty result.
  expect_values(eval([](const Scope& s) {
                  return ops::batch_matmul(s, c(s, Tensor::zeros(DType::f32, {2, 2, 0})), c(s, Tensor::zeros(DType::f32, {0, 3})));
                }),
                {2, 2, 3}, std::vector<double>(12, 0.0));
  expect_values(eval([](const Scope& s) {
                  return ops::batch_matmul(s, c(s, Tensor::zeros(DType::f32, {0, 2, 2})), c(s, Tensor::zeros(DType::f32, {2, 3})));
                }),
                {0, 2, 3}, {});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::batch_matmul(s, c(s, f32({1, 2})), c(s, b)), InvalidArgument);  // rank 1
  try {
    ops::batch_matmul(s.named("bmm"), c(s, Tensor::zeros(DType::f32, {2, 3, 4})), c(s, Tensor::zeros(DType::f32, {2, 3, 4})));
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Matrix size-incompatible"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'bmm'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::batch_matmul(s, c(s, Tensor::zeros(DType::f32, {2, 3, 4})), c(s, Tensor::zeros(DType::f32, {3, 4, 4}))),
               InvalidArgument);  // batch dims 2 and 3 do not broadcast
  // Run-time shapes are checked too.
  Output pa = ops::placeholder(s, DType::f32, Shape::unknown_rank());
  Output y = ops::batch_matmul(s, pa, c(s, b));
  Session sess(g);
  EXPECT_THROW(sess.run({{pa, Tensor::zeros(DType::f32, {2, 3})}}, {y}), InvalidArgument);
}

// ---- prod, all, any, tensor-axes reductions ----

TEST(ReductionExt, ProdAllAny) {
  const Tensor m = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(eval([&](const Scope& s) { return ops::prod(s, c(s, m), {1}); }), {2}, {6, 120});
  expect_values(eval([&](const Scope& s) { return ops::prod(s, c(s, m)); }), {}, {720});
  expect_values(eval([&](const Scope& s) { return ops::prod(s, c(s, m), {0}, true); }), {1, 3}, {4, 10, 18});
  expect_values(eval([&](const Scope& s) { return ops::prod(s, c(s, f32({NAN, 0, INFINITY, 0, INFINITY, 2}, {3, 2})), {1}); }),
                {3}, {kNaN, kNaN, kInf});
  expect_values(eval([](const Scope& s) { return ops::prod(s, c(s, Tensor::zeros(DType::f32, {0, 2})), {0}); }), {2}, {1, 1});
  // Integer products wrap: 65536^2 = 2^32 = 0 in int32.
  expect_values(eval([](const Scope& s) { return ops::prod(s, c(s, i32({65536, 65536, 3}))); }), {}, {0});
  const Tensor b = Tensor::from_vector(std::vector<bool>{true, false, true, true, true, true}, {2, 3});
  expect_values(eval([&](const Scope& s) { return ops::all(s, c(s, b), {1}); }), {2}, {0, 1});
  expect_values(eval([&](const Scope& s) { return ops::any(s, c(s, b), {0}, true); }), {1, 3}, {1, 1, 1});
  expect_values(eval([&](const Scope& s) { return ops::all(s, c(s, b)); }), {}, {0});
  expect_values(eval([](const Scope& s) { return ops::all(s, c(s, Tensor::zeros(DType::boolean, {0}))); }), {}, {1});
  expect_values(eval([](const Scope& s) { return ops::any(s, c(s, Tensor::zeros(DType::boolean, {0}))); }), {}, {0});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::all(s, c(s, m)), InvalidArgument);  // bool only
  EXPECT_THROW(ops::prod(s, c(s, b)), InvalidArgument);
}

TEST(ReductionExt, TensorAxes) {
  const Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  auto run = [&](auto f, const Tensor& ax, bool keep, bool noop) {
    return eval([&](const Scope& s) { return f(s, c(s, x), c(s, ax), keep, noop); });
  };
  expect_values(run(ops::reduce_sum, i32({1}), false, false), {2}, {6, 15});
  expect_values(run(ops::reduce_sum, Tensor(int64_t{-2}), false, false), {3}, {5, 7, 9});  // 0-D, negative
  expect_values(run(ops::reduce_sum, i64({0, 1, -1}), false, false), {}, {21});           // repeats count once
  expect_values(run(ops::reduce_mean, i32({0}), true, false), {1, 3}, {2.5, 3.5, 4.5});
  expect_values(run(ops::reduce_max, i32({1}), false, false), {2}, {3, 6});
  expect_values(run(ops::reduce_min, i32({0}), false, false), {3}, {1, 2, 3});
  expect_values(run(ops::reduce_prod, i32({1}), false, false), {2}, {6, 120});
  // Empty axes: all axes (ONNX default) or none (TF, ONNX noop_with_empty_axes).
  expect_values(run(ops::reduce_sum, i32({}), false, false), {}, {21});
  expect_values(run(ops::reduce_sum, i32({}), false, true), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_values(run(ops::reduce_prod, i32({}), true, false), {1, 1}, {720});
  const Tensor b = Tensor::from_vector(std::vector<bool>{true, false, true, true}, {2, 2});
  expect_values(eval([&](const Scope& s) { return ops::reduce_all(s, c(s, b), c(s, i32({1}))); }), {2}, {0, 1});
  expect_values(eval([&](const Scope& s) { return ops::reduce_any(s, c(s, b), c(s, i32({0}))); }), {2}, {1, 1});
  // NaN propagates through the sum and mean.
  expect_values(eval([](const Scope& s) { return ops::reduce_mean(s, c(s, f32({NAN, 1, INFINITY, 1}, {2, 2})), c(s, i32({1}))); }),
                {2}, {kNaN, kInf});
  // Out of range at run time.
  const std::string msg = run_error<InvalidArgument>([&](const Scope& s) {
    Output ax = ops::identity(s, c(s, i32({2})));
    return ops::reduce_sum(s, c(s, x), ax);
  });
  EXPECT_NE(msg.find("axis"), std::string::npos) << msg;
}

TEST(ReductionExt, TensorAxesShapeInference) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, 3, 4});
  // Constant axes: the full shape.
  EXPECT_EQ(ops::reduce_sum(s, x, axes(s, {1})).shape(), Shape({-1, 4}));
  EXPECT_EQ(ops::reduce_mean(s, x, axes(s, {-1, 0}), true).shape(), Shape({1, 3, 1}));
  EXPECT_EQ(ops::reduce_max(s, x, axes(s, {}), false, true).shape(), Shape({-1, 3, 4}));
  // Run-time axes: the rank with keepdims, else nothing.
  Output dyn = ops::placeholder(s, DType::i32, {-1});
  EXPECT_EQ(ops::reduce_sum(s, x, dyn, true).shape(), Shape({-1, -1, -1}));
  EXPECT_FALSE(ops::reduce_sum(s, x, dyn).shape().known_rank());
  EXPECT_THROW(ops::reduce_sum(s, x, axes(s, {3})), InvalidArgument);
  EXPECT_THROW(ops::reduce_sum(s, x, c(s, f32({1}))), InvalidArgument);  // float axes
  // Fed at run time.
  Output y = ops::reduce_sum(s, x, dyn);
  Session sess(g);
  const Tensor xv = Tensor::ones(DType::f32, {2, 3, 4});
  expect_values(sess.run({{x, xv}, {dyn, i32({0, 2})}}, {y})[0], {3}, {8, 8, 8});
  expect_values(sess.run({{x, xv}, {dyn, i32({})}}, {y})[0], {}, {24});
}

TEST(ReductionExt, ProdGradientWithZerosAndDynamicAxes) {
  // d/dx prod = product of the others: exact with one zero (only the zero gets a gradient)
  // and with two zeros (all zero).
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 3});
  Output dx = gradients(s, {ops::prod(s, x, {1})}, {x})[0];
  Session sess(g);
  expect_values(sess.run({{x, f32({2, 0, 3, 0, 5, 0}, {2, 3})}}, {dx})[0], {2, 3}, {0, 6, 0, 0, 0, 0});
  // Products over run-time axes have no gradient; the error says so when it is built.
  Output ax = ops::placeholder(s, DType::i32, {1});
  try {
    gradients(s, {ops::reduce_prod(s.named("p"), x, ax)}, {x});
    FAIL() << "expected an error";
  } catch (const Unimplemented& e) {
    EXPECT_NE(std::string(e.what()).find("constant axes"), std::string::npos) << e.what();
  }
}

TEST(ReductionExt, LogSumExpAndL2Loss) {
  const double l6 = std::log(6.0);
  expect_values(eval([&](const Scope& s) {
                  return ops::logsumexp(s, c(s, f32({0, float(std::log(2.0)), float(std::log(3.0)), 1000, 1000, -INFINITY}, {2, 3})), {1});
                }),
                {2}, {l6, 1000 + std::log(2.0)}, 2e-4);  // float32 spacing at 1000 is 6e-5
  expect_values(eval([](const Scope& s) {
                  return ops::logsumexp(s, c(s, f32({-INFINITY, -INFINITY, INFINITY, 0, NAN, 1}, {3, 2})), {1}, true);
                }),
                {3, 1}, {-kInf, kInf, kNaN});
  expect_values(eval([](const Scope& s) { return ops::logsumexp(s, c(s, f64({-1000, -1000}))); }), {},
                {-1000 + std::log(2.0)}, 1e-12);
  expect_values(eval([](const Scope& s) { return ops::l2_loss(s, c(s, f32({1, 2, 3}, {3, 1}))); }), {}, {7});
  expect_values(eval([](const Scope& s) { return ops::l2_loss(s, c(s, f32({1, NAN}))); }), {}, {kNaN});
}

// ---- argmax/argmin options ----

TEST(ArgOps, NanTiesKeepdimsAndOutputType) {
  const Tensor x = f32({1, 3, 3, 2, NAN, 5, NAN, 1, 0, -INFINITY, INFINITY, INFINITY}, {3, 4});
  auto run = [&](bool max, ops::ArgOptions o, int64_t axis = 1) {
    return eval([&](const Scope& s) { return max ? ops::argmax(s, c(s, x), axis, o) : ops::argmin(s, c(s, x), axis, o); });
  };
  // NaN wins for both (the first NaN, or the last with select_last_index), as NumPy.
  expect_values(run(true, {}), {3}, {1, 0, 2});
  expect_values(run(true, {false, true}), {3}, {2, 2, 3});
  expect_values(run(false, {}), {3}, {0, 0, 1});
  expect_values(run(false, {false, true}), {3}, {0, 2, 1});
  const Tensor k = run(true, {true, false, DType::i32});
  EXPECT_EQ(k.dtype(), DType::i32);
  expect_values(k, {3, 1}, {1, 0, 2});
  expect_values(run(true, {}, 0), {4}, {1, 1, 1, 2});
  expect_values(run(false, {false, true}, -2), {4}, {1, 2, 1, 1});
  // Integers and bools.
  expect_values(eval([](const Scope& s) { return ops::argmax(s, c(s, i32({4, 9, 9, -1})), 0, {false, true}); }), {}, {2});
  expect_values(eval([](const Scope& s) {
                  return ops::argmin(s, c(s, Tensor::from_vector(std::vector<bool>{true, false, false}, {3})), 0, {});
                }),
                {}, {1});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::argmax(s, c(s, x), 2, {}), InvalidArgument);
  EXPECT_THROW(ops::argmax(s, c(s, x), 0, {false, false, DType::f32}), InvalidArgument);
  EXPECT_THROW(eval([](const Scope& sc) { return ops::argmax(sc, c(sc, Tensor::zeros(DType::f32, {2, 0})), 1, {}); }),
               InvalidArgument);
}

// ---- cumsum, cumprod ----

TEST(ScanOps, CumsumCumprod) {
  const Tensor v = f32({1, 2, 3, 4});
  auto scan = [&](bool prod, const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
    return eval([&](const Scope& s) {
      return prod ? ops::cumprod(s, c(s, x), axis, exclusive, reverse) : ops::cumsum(s, c(s, x), axis, exclusive, reverse);
    });
  };
  expect_values(scan(false, v, 0, false, false), {4}, {1, 3, 6, 10});
  expect_values(scan(false, v, 0, true, false), {4}, {0, 1, 3, 6});
  expect_values(scan(false, v, 0, false, true), {4}, {10, 9, 7, 4});
  expect_values(scan(false, v, -1, true, true), {4}, {9, 7, 4, 0});
  expect_values(scan(true, v, 0, false, false), {4}, {1, 2, 6, 24});
  expect_values(scan(true, v, 0, true, true), {4}, {24, 12, 4, 1});
  const Tensor m = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(scan(false, m, 0, false, false), {2, 3}, {1, 2, 3, 5, 7, 9});
  expect_values(scan(false, m, 1, false, false), {2, 3}, {1, 3, 6, 4, 9, 15});
  expect_values(scan(true, m, 1, true, false), {2, 3}, {1, 1, 2, 1, 4, 20});
  // NaN and inf propagate along the scan only.
  expect_values(scan(false, f32({1, NAN, 2, INFINITY, -INFINITY}), 0, false, false), {5}, {1, kNaN, kNaN, kNaN, kNaN});
  expect_values(scan(false, f32({1, INFINITY, 2, -INFINITY}), 0, false, true), {4}, {kNaN, kNaN, -kInf, -kInf});
  // Integers wrap.
  const Tensor iv = i32({2147483647, 1, 5});
  expect_values(scan(false, iv, 0, false, false), {3}, {2147483647, -2147483648.0, -2147483643.0});
  // The axis as a tensor fed at run time.
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 3});
  Output ax = ops::placeholder(s, DType::i64, {});
  Output y = ops::cumsum(s, x, ax);
  EXPECT_EQ(y.shape(), Shape({2, 3}));
  Session sess(g);
  expect_values(sess.run({{x, m}, {ax, Tensor(int64_t{1})}}, {y})[0], {2, 3}, {1, 3, 6, 4, 9, 15});
  EXPECT_THROW(sess.run({{x, m}, {ax, Tensor(int64_t{2})}}, {y}), InvalidArgument);
  EXPECT_THROW(ops::cumsum(s, x, 5), InvalidArgument);
  EXPECT_THROW(ops::cumsum(s, c(s, Tensor(1.0f)), 0), InvalidArgument);
}

// ---- top_k ----

TEST(TopK, ValuesIndicesTiesNan) {
  auto run = [](const Tensor& x, int64_t k, int64_t axis, bool largest, DType it = DType::i64) {
    return eval_outputs([&](const Scope& s) { return ops::top_k(s, c(s, x), k, axis, largest, true, it).values; }, 1, 2);
  };
  auto r = run(f32({3, 1, 4, 1, 5, 9, 2, 6}), 3, -1, true);
  expect_values(r[0], {3}, {9, 6, 5});
  expect_values(r[1], {3}, {5, 7, 4});
  EXPECT_EQ(r[1].dtype(), DType::i64);
  r = run(f32({3, 1, 4, 1, 5, 9, 2, 6}), 3, -1, false, DType::i32);
  expect_values(r[0], {3}, {1, 1, 2});
  expect_values(r[1], {3}, {1, 3, 6});  // ties: lower index first
  EXPECT_EQ(r[1].dtype(), DType::i32);
  r = run(f32({1, 3, 3, 2}), 2, 0, true);
  expect_values(r[1], {2}, {1, 2});
  // NaN ranks above +inf.
  r = run(f32({1, NAN, INFINITY, -INFINITY}), 2, 0, true);
  expect_values(r[0], {2}, {kNaN, kInf});
  expect_values(r[1], {2}, {1, 2});
  r = run(f32({1, NAN, INFINITY, -INFINITY}), 4, 0, false);
  expect_values(r[0], {4}, {-kInf, 1, kInf, kNaN});
  // Along axis 0 of a matrix, integers.
  r = run(i32({5, 1, 7, 8, 3, 3}, {3, 2}), 2, 0, true);
  expect_values(r[0], {2, 2}, {7, 8, 5, 3});
  expect_values(r[1], {2, 2}, {1, 1, 0, 2});
  r = run(f32({1, 2}), 0, 0, true);
  expect_values(r[0], {0}, {});
}

TEST(TopK, KTensorAndErrors) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, 5});
  Output k = ops::placeholder(s, DType::i32, {});
  ops::TopK t = ops::top_k(s, x, k);
  EXPECT_EQ(t.values.shape(), Shape({-1, -1}));
  EXPECT_EQ(ops::top_k(s, x, 2).values.shape(), Shape({-1, 2}));
  EXPECT_THROW(ops::top_k(s, x, 6), InvalidArgument);
  EXPECT_THROW(ops::top_k(s, x, -1), InvalidArgument);
  Session sess(g);
  const Tensor xv = f32({5, 4, 3, 2, 1, 0, 1, 2, 3, 4}, {2, 5});
  auto r = sess.run({{x, xv}, {k, Tensor(int32_t{2})}}, {t.values, t.indices});
  expect_values(r[0], {2, 2}, {5, 4, 4, 3});
  expect_values(r[1], {2, 2}, {0, 1, 4, 3});
  const std::string m = [&] {
    try {
      sess.run({{x, xv}, {k, Tensor(int32_t{7})}}, {t.values});
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(m.find("k = 7"), std::string::npos) << m;
}

TEST(TopK, GradientGoesToTheSelectedElements) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 4});
  Output v = ops::top_k(s, x, 2).values;
  Output dx = gradients(s, {v}, {x}, {c(s, f32({10, 20, 30, 40}, {2, 2}))})[0];
  Session sess(g);
  expect_values(sess.run({{x, f32({1, 4, 3, 2, 8, 5, 9, 7}, {2, 4})}}, {dx})[0], {2, 4}, {0, 10, 20, 0, 40, 0, 30, 0});
}

TEST(ReductionExt, KernelsDoNotDependOnTheThreadCount) {
  const Tensor big = f32(wavy(600 * 500, 2.0f), {600, 500});
  const Tensor pos = eval([&](const Scope& s) { return ops::add(s, ops::abs(s, c(s, big)), ops::scalar_like(s, c(s, big), 0.5)); });
  std::mt19937 rng(5);
  const Tensor ba = random_tensor({64, 24, 32}, rng), bb = random_tensor({32, 40}, rng);
  const Tensor la = random_tensor({3, 200, 160}, rng), lb = random_tensor({3, 160, 120}, rng);
  using Fn = std::function<Output(const Scope&)>;
  const std::vector<std::pair<std::string, Fn>> fns = {
      {"prod0", [&](const Scope& s) { return ops::prod(s, c(s, pos), {0}); }},
      {"prod1", [&](const Scope& s) { return ops::prod(s, c(s, pos), {1}); }},
      {"reduce_sum", [&](const Scope& s) { return ops::reduce_sum(s, c(s, big), ops::identity(s, c(s, i32({0})))); }},
      {"reduce_mean", [&](const Scope& s) { return ops::reduce_mean(s, c(s, big), c(s, i32({1}))); }},
      {"cumsum0", [&](const Scope& s) { return ops::cumsum(s, c(s, big), 0); }},
      {"cumsum1", [&](const Scope& s) { return ops::cumsum(s, c(s, big), 1, true, true); }},
      {"cumprod", [&](const Scope& s) { return ops::cumprod(s, c(s, pos), 1); }},
      {"argmax", [&](const Scope& s) { return ops::argmax(s, c(s, big), 0, {}); }},
      {"top_k", [&](const Scope& s) { return ops::top_k(s, c(s, big), 7).indices; }},
      {"top_k_axis0", [&](const Scope& s) { return ops::top_k(s, c(s, big), 3, 0).values; }},
      {"bmm_small", [&](const Scope& s) { return ops::batch_matmul(s, c(s, ba), c(s, bb)); }},
      {"bmm_large", [&](const Scope& s) { return ops::batch_matmul(s, c(s, la), c(s, lb), false, false); }},
      {"top_k_grad", [&](const Scope& s) {
         Output x = c(s, big);
         return gradients(s, {ops::top_k(s, x, 5).values}, {x})[0]; }},
  };
  for (const auto& entry : fns) {
    const std::string& name = entry.first;
    const Fn& fn = entry.second;
    expect_thread_count_independent(fn, name);
  }
}

}  // namespace
}  // namespace sluice
