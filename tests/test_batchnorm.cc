// Batch normalization: the FusedBatchNorm op and its gradient op against naive references
// in both phases, and the BatchNormalization layer's learning-phase and update-op semantics.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ops/normalization_kernels.h"

namespace sluice {
namespace {

using Vec = std::vector<double>;

// ---- naive references (plain loops over [rows, c], two-pass statistics) ----

struct RefStats {
  Vec mean, var;  // biased variance
};

RefStats ref_moments(const Vec& x, int64_t c) {
  const int64_t rows = static_cast<int64_t>(x.size()) / c;
  RefStats s{Vec(c, 0.0), Vec(c, 0.0)};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j) s.mean[j] += x[r * c + j];
  for (int64_t j = 0; j < c; ++j) s.mean[j] /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j) {
      const double d = x[r * c + j] - s.mean[j];
      s.var[j] += d * d;
    }
  for (int64_t j = 0; j < c; ++j) s.var[j] /= static_cast<double>(rows);
  return s;
}

Vec ref_normalize(const Vec& x, int64_t c, const Vec& gamma, const Vec& beta, const Vec& mean,
                  const Vec& var, double eps) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t j = i % static_cast<size_t>(c);
    y[i] = gamma[j] * (x[i] - mean[j]) / std::sqrt(var[j] + eps) + beta[j];
  }
  return y;
}

// Backward of y = gamma (x - m) / sqrt(v + eps) + beta, written out per element.
struct RefGrads {
  Vec dx, dgamma, dbeta;
};
RefGrads ref_backward(const Vec& dy, const Vec& x, int64_t c, const Vec& gamma, const Vec& mean,
                      const Vec& var, double eps, bool training) {
  const int64_t rows = static_cast<int64_t>(x.size()) / c;
  RefGrads g{Vec(x.size()), Vec(c, 0.0), Vec(c, 0.0)};
  for (int64_t j = 0; j < c; ++j) {
    const double inv = 1.0 / std::sqrt(var[j] + eps);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xhat = (x[r * c + j] - mean[j]) * inv;
      sum_dy += dy[r * c + j];
      sum_dy_xhat += dy[r * c + j] * xhat;
    }
    g.dbeta[j] = sum_dy;
    g.dgamma[j] = sum_dy_xhat;
    for (int64_t r = 0; r < rows; ++r) {
      const double xhat = (x[r * c + j] - mean[j]) * inv;
      const double d = dy[r * c + j];
      g.dx[r * c + j] = training ? gamma[j] * inv * (d - sum_dy / rows - xhat * sum_dy_xhat / rows)
                                 : gamma[j] * inv * d;
    }
  }
  return g;
}

Vec random_vec(size_t n, double lo, double hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  Vec v(n);
  for (double& e : v) e = d(rng);
  return v;
}

Tensor make(const Vec& v, const Shape& shape, DType dt) {
  return Tensor::from_vector(v, shape).cast(dt);
}

Vec values(const Tensor& t) {
  Vec v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.as_double(i);
  return v;
}

// max |a - b| / max(1, |b|)
double max_rel_err(const Vec& a, const Vec& b) {
  EXPECT_EQ(a.size(), b.size());
  double e = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    e = std::max(e, std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(b[i])));
  return e;
}

// ---- the op ----

struct OpCase {
  Shape shape;
  DType dtype;
  double center;  // inputs drawn from center + [-2, 3)
};

class FusedBatchNormOp : public ::testing::TestWithParam<OpCase> {};

TEST_P(FusedBatchNormOp, ForwardAndBackwardMatchNaiveReferenceInBothPhases) {
  const OpCase p = GetParam();
  const int64_t c = p.shape.dim(-1);
  const size_t n = static_cast<size_t>(p.shape.num_elements());
  const int64_t rows = static_cast<int64_t>(n) / c;
  const double eps = 1e-3;
  const DType dt = p.dtype;
  // Values as the graph sees them (rounded to dt), so the reference starts from the same data.
  auto rounded = [&](const Vec& v) {
    return values(make(v, Shape{static_cast<int64_t>(v.size())}, dt));
  };
  const Vec x = rounded(random_vec(n, p.center - 2, p.center + 3, 1));
  const Vec gamma = rounded(random_vec(c, 0.5, 2.0, 2)), beta = rounded(random_vec(c, -1, 1, 3));
  const Vec mmean = rounded(random_vec(c, p.center - 1, p.center + 1, 4));
  const Vec mvar = rounded(random_vec(c, 0.5, 3, 5));
  const Vec dy = rounded(random_vec(n, -1, 1, 6));

  Graph g;
  Scope root(g);
  Output xp = ops::placeholder(root.named("x"), dt, p.shape);
  Output training = ops::placeholder(root.named("training"), DType::boolean, {});
  auto cst = [&](const Vec& v, const Shape& s) { return ops::constant(root, make(v, s, dt)); };
  auto bn = ops::fused_batch_norm(root.named("bn"), xp, cst(gamma, {c}), cst(beta, {c}),
                                  cst(mmean, {c}), cst(mvar, {c}), training, eps, true);
  Output dyc = cst(dy, p.shape);
  auto grads = gradients(root, {ops::sum(root, ops::mul(root, bn.y, dyc))}, {xp});
  Operation grad_op = grads[0].op();
  ASSERT_EQ(grad_op.type(), "FusedBatchNormGrad");
  Session sess(g);
  // Rounding of the mean to dt limits the accuracy of x - mean when |mean| >> std.
  const double tol = (dt == DType::f32 ? 2e-5 : 1e-11) * std::max(1.0, 0.1 * std::fabs(p.center));

  const RefStats st = ref_moments(x, c);
  for (bool phase : {true, false}) {
    SCOPED_TRACE(phase ? "training" : "inference");
    auto r = sess.run({{xp, make(x, p.shape, dt)}, {training, Tensor(phase)}},
                      {bn.y, bn.batch_mean, bn.batch_variance, bn.reserve_mean, bn.reserve_inv_std,
                       grad_op.output(0), grad_op.output(1), grad_op.output(2)});
    const Vec& m = phase ? st.mean : mmean;
    const Vec& v = phase ? st.var : mvar;
    EXPECT_LT(max_rel_err(values(r[0]), ref_normalize(x, c, gamma, beta, m, v, eps)), tol);
    Vec bessel = v;
    for (double& e : bessel) e *= phase ? static_cast<double>(rows) / (rows - 1) : 1.0;
    EXPECT_LT(max_rel_err(values(r[1]), m), tol);
    EXPECT_LT(max_rel_err(values(r[2]), bessel), tol);
    EXPECT_LT(max_rel_err(values(r[3]), m), tol);
    Vec inv(c);
    for (int64_t j = 0; j < c; ++j) inv[j] = 1.0 / std::sqrt(v[j] + eps);
    EXPECT_LT(max_rel_err(values(r[4]), inv), tol);
    const RefGrads rg = ref_backward(dy, x, c, gamma, m, v, eps, phase);
    EXPECT_LT(max_rel_err(values(r[5]), rg.dx), tol);
    // Sums over many rows: compare relative to the size of the sum.
    EXPECT_LT(max_rel_err(values(r[6]), rg.dgamma), tol * std::sqrt(static_cast<double>(rows)));
    EXPECT_LT(max_rel_err(values(r[7]), rg.dbeta), tol * std::sqrt(static_cast<double>(rows)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedBatchNormOp,
    ::testing::Values(OpCase{{7, 5}, DType::f32, 0},  // [N,C], untiled channels
                      OpCase{{7, 5}, DType::f64, 0},
                      OpCase{{3, 4, 5, 32}, DType::f32, 0},  // NHWC, two channel tiles
                      OpCase{{2, 6, 7, 37}, DType::f64, 0},  // tiles + remainder
                      OpCase{{2, 9, 9, 37}, DType::f32, 0},
                      OpCase{{4, 16, 16, 64}, DType::f32, 0},     // several row blocks
                      OpCase{{2, 2, 3, 1000}, DType::f32, 0},     // few rows, wide C
                      OpCase{{8, 12, 12, 16}, DType::f32, 1000},  // |mean| >> std
                      OpCase{{50, 3}, DType::f64, -1e6}));

TEST(FusedBatchNormOp, ResultsDoNotDependOnTheThreadCount) {
  const Shape shape{16, 20, 20, 48};
  const Vec x = random_vec(static_cast<size_t>(shape.num_elements()), -3, 5, 9);
  std::vector<std::vector<Tensor>> results;
  for (int threads : {1, 2, 3}) {
    Graph g;
    Scope root(g);
    Output xp = ops::placeholder(root, DType::f32, shape);
    Output ones = ops::constant(root, Tensor::ones(DType::f32, {48}));
    Output zeros = ops::constant(root, Tensor::zeros(DType::f32, {48}));
    auto bn = ops::fused_batch_norm(root, xp, ones, zeros, zeros, ones,
                                    ops::constant(root, Tensor(true)));
    Output dx = gradients(root, {ops::sum(root, ops::square(root, bn.y))}, {xp})[0];
    Session sess(g, SessionOptions{threads});
    results.push_back(
        sess.run({{xp, make(x, shape, DType::f32)}}, {bn.y, bn.batch_mean, bn.batch_variance, dx}));
  }
  for (size_t t = 1; t < results.size(); ++t)
    for (size_t i = 0; i < results[0].size(); ++i)
      EXPECT_TRUE(results[t][i].equals(results[0][i])) << t << " " << i;
}

// The normalisation pass with streaming stores (used for outputs past the cache-size
// threshold) against the plain loop, where the layout allows streaming and where it does not.
template <class T>
void compare_streaming(int64_t rows, int64_t c) {
  const DType dt = dtype_v<T>;
  const Tensor x = make(random_vec(static_cast<size_t>(rows * c), -3, 3, 51), {rows, c}, dt);
  const Tensor m = make(random_vec(c, -1, 1, 52), {c}, dt),
               a = make(random_vec(c, 0.5, 2, 53), {c}, dt);
  const Tensor o = make(random_vec(c, -1, 1, 54), {c}, dt);
  Tensor plain(dt, {rows, c}), streamed(dt, {rows, c});
  kernels::batch_norm_rows(x.data<T>(), plain.data<T>(), 0, rows, c, m.data<T>(), a.data<T>(),
                           o.data<T>(), false);
  kernels::batch_norm_rows(x.data<T>(), streamed.data<T>(), 0, rows, c, m.data<T>(), a.data<T>(),
                           o.data<T>(), true);
  const Vec p = values(plain), q = values(streamed);
  Vec ref(p.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j)
      ref[r * c + j] = (x.as_double(r * c + j) - m.as_double(j)) * a.as_double(j) + o.as_double(j);
  const double tol = dt == DType::f32 ? 1e-6 : 1e-15;
  EXPECT_LT(max_rel_err(q, p), tol) << rows << "x" << c;
  EXPECT_LT(max_rel_err(p, ref), tol) << rows << "x" << c;
}

TEST(FusedBatchNormOp, StreamingStoresMatchThePlainLoop) {
  compare_streaming<float>(37, 48);   // 3 vectors of 16 per row
  compare_streaming<float>(37, 20);   // not a whole number of vectors: plain stores
  compare_streaming<double>(29, 24);  // 3 vectors of 8 per row
  compare_streaming<double>(29, 5);
  EXPECT_GE(kernels::streaming_store_threshold_bytes(), 0);
}

// An empty batch has no statistics: the given ones pass through (issue 10; the layer-level
// test is in test_sharp_edges), so a moving-average update moves nothing.
TEST(FusedBatchNormOp, EmptyBatchPassesTheGivenStatisticsThroughAndGivesAnEmptyOutput) {
  Graph g;
  Scope root(g);
  Output xp = ops::placeholder(root, DType::f32, {-1, 3});
  Output ones = ops::constant(root, Tensor::ones(DType::f32, {3}));
  Output mean = ops::constant(root, Tensor({0.5f, -1.0f, 2.0f}));
  Output var = ops::constant(root, Tensor({4.0f, 3.0f, 0.25f}));
  auto bn =
      ops::fused_batch_norm(root, xp, ones, ones, mean, var, ops::constant(root, Tensor(true)));
  Session sess(g);
  auto r =
      sess.run({{xp, Tensor::zeros(DType::f32, {0, 3})}}, {bn.y, bn.batch_mean, bn.batch_variance});
  EXPECT_EQ(r[0].shape(), (Shape{0, 3}));
  EXPECT_EQ(r[1].as_double(1), -1.0);
  EXPECT_EQ(r[2].as_double(2), 0.25);
}

TEST(FusedBatchNormOp, BadInputIsATypedErrorNamingNodeAndShapes) {
  Graph g;
  Scope root(g);
  auto vec = [&](int64_t n, DType dt = DType::f32) {
    return ops::constant(root, Tensor::ones(dt, {n}));
  };
  Output t = ops::constant(root, Tensor(true));
  Output x4 = ops::placeholder(root.named("x4"), DType::f32, {-1, 4, 4, 8});
  auto expect_error = [](auto&& f, const std::vector<std::string>& parts) {
    try {
      f();
      ADD_FAILURE() << "no error";
    } catch (const InvalidArgument& e) {
      const std::string msg = e.what();
      for (const std::string& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
  };
  // Rank.
  expect_error(
      [&] {
        ops::fused_batch_norm(root.named("bn_rank1"), ops::placeholder(root, DType::f32, {8}),
                              vec(8), vec(8), vec(8), vec(8), t);
      },
      {"bn_rank1", "FusedBatchNorm", "rank >= 2", "[8]"});
  // Parameter shapes vs channels.
  expect_error(
      [&] { ops::fused_batch_norm(root.named("bn_gamma"), x4, vec(7), vec(8), vec(8), vec(8), t); },
      {"bn_gamma", "scale", "[7]", "[?,4,4,8]"});
  expect_error(
      [&] { ops::fused_batch_norm(root.named("bn_beta"), x4, vec(8), vec(9), vec(8), vec(8), t); },
      {"bn_beta", "offset", "[9]"});
  expect_error(
      [&] {
        ops::fused_batch_norm(root.named("bn_mean"), x4, vec(8), vec(8),
                              ops::constant(root, Tensor::ones(DType::f32, {2, 8})), vec(8), t);
      },
      {"bn_mean", "mean", "[2,8]"});
  expect_error(
      [&] { ops::fused_batch_norm(root.named("bn_var"), x4, vec(8), vec(8), vec(8), vec(3), t); },
      {"bn_var", "variance", "[3]"});
  // Dtypes.
  expect_error(
      [&] {
        ops::fused_batch_norm(root.named("bn_int"), ops::placeholder(root, DType::i32, {2, 8}),
                              vec(8, DType::i32), vec(8, DType::i32), vec(8, DType::i32),
                              vec(8, DType::i32), t);
      },
      {"bn_int", "int32"});
  expect_error(
      [&] {
        ops::fused_batch_norm(root.named("bn_mixed"), x4, vec(8, DType::f64), vec(8), vec(8),
                              vec(8), t);
      },
      {"bn_mixed", "float64", "float32"});
  expect_error(
      [&] {
        ops::fused_batch_norm(root.named("bn_flag"), x4, vec(8), vec(8), vec(8), vec(8),
                              ops::constant(root, Tensor(1.0f)));
      },
      {"bn_flag", "bool"});
  expect_error(
      [&] {
        ops::fused_batch_norm(root.named("bn_eps"), x4, vec(8), vec(8), vec(8), vec(8), t, -1.0);
      },
      {"bn_eps", "epsilon"});

  // Shapes known only at run time: the kernel re-validates and the executor names the node.
  Output xu = ops::placeholder(root.named("xu"), DType::f32, Shape::unknown_rank());
  Output gu = ops::placeholder(root.named("gu"), DType::f32, {-1});
  auto bn = ops::fused_batch_norm(root.named("bn_runtime"), xu, gu, vec(8), vec(8), vec(8), t);
  Session sess(g);
  expect_error(
      [&] {
        sess.run({{xu, Tensor::ones(DType::f32, {2, 8})}, {gu, Tensor::ones(DType::f32, {5})}},
                 {bn.y});
      },
      {"bn_runtime", "[5]", "[2,8]"});
  expect_error(
      [&] {
        sess.run({{xu, Tensor::ones(DType::f32, {8})}, {gu, Tensor::ones(DType::f32, {8})}},
                 {bn.y});
      },
      {"bn_runtime", "rank >= 2", "[8]"});
  EXPECT_EQ(sess.run({{xu, Tensor::ones(DType::f32, {2, 8})}, {gu, Tensor::ones(DType::f32, {8})}},
                     {bn.y})[0]
                .shape(),
            (Shape{2, 8}));
}

// ---- the layer ----

TEST(BatchNormLayer, WeightsNamesInitialValuesAndErrors) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 4, 4, 3});
  layers::BatchNormalization bn;
  layers::BatchNormalization bn2(-1, 0.9, 1e-3, false, false, "plain");
  bn(root.sub("block1"), x);
  bn2(root, x);
  EXPECT_EQ(bn.name(), "block1/batch_normalization");
  ASSERT_EQ(bn.weights().size(), 4u);
  EXPECT_EQ(bn.weights()[0].name(), "block1/batch_normalization/gamma");
  EXPECT_EQ(bn.weights()[1].name(), "block1/batch_normalization/beta");
  EXPECT_EQ(bn.weights()[2].name(), "block1/batch_normalization/moving_mean");
  EXPECT_EQ(bn.weights()[3].name(), "block1/batch_normalization/moving_variance");
  ASSERT_EQ(bn.trainable_weights().size(), 2u);
  ASSERT_EQ(bn.non_trainable_weights().size(), 2u);
  EXPECT_EQ(bn.non_trainable_weights()[0].name(), "block1/batch_normalization/moving_mean");
  EXPECT_EQ(bn2.weights().size(), 2u);  // no gamma, no beta
  EXPECT_TRUE(bn2.trainable_weights().empty());
  EXPECT_EQ(bn.updates().size(), 2u);
  EXPECT_EQ(g.update_ops().size(), 4u);
  EXPECT_EQ(g.update_ops("block1").size(), 2u);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  EXPECT_EQ(sess.variable_value("block1/batch_normalization/gamma").to_vector<float>(),
            (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(sess.variable_value("block1/batch_normalization/beta").to_vector<float>(),
            (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(sess.variable_value("plain/moving_mean").to_vector<float>(),
            (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(sess.variable_value("plain/moving_variance").to_vector<float>(),
            (std::vector<float>{1, 1, 1}));

  layers::BatchNormalization axis1(1);
  EXPECT_THROW(axis1(root, x), Unimplemented);
  layers::BatchNormalization unknown_c, ints, rank1, again;
  EXPECT_THROW(unknown_c(root, ops::placeholder(root, DType::f32, {-1, -1})), InvalidArgument);
  EXPECT_THROW(ints(root, ops::placeholder(root, DType::i32, {-1, 3})), InvalidArgument);
  EXPECT_THROW(rank1(root, ops::placeholder(root, DType::f32, {3})), InvalidArgument);
  EXPECT_THROW(bn(root, ops::placeholder(root, DType::f32, {-1, 5})),
               InvalidArgument);  // built for 3 channels
  EXPECT_THROW(layers::BatchNormalization(-1, 1.5), InvalidArgument);
}

// A graph x -> BatchNormalization with both phases evaluated against the reference.
struct LayerFixture {
  Graph g;
  Scope root{g};
  Shape shape;
  DType dt;
  Output x;
  layers::BatchNormalization bn;
  Output y;

  LayerFixture(const Shape& s, DType dtype, double momentum = 0.9)
      : shape(s), dt(dtype), bn(-1, momentum) {
    x = ops::placeholder(root.named("x"), dt, shape);
    y = bn(root, x);
  }
  std::string var(const char* w) const { return bn.name() + "/" + w; }
};

TEST(BatchNormLayer, LearningPhaseSwitchesOneGraphAndDefaultsToInference) {
  for (const Shape& shape : {Shape{6, 5}, Shape{2, 3, 4, 5}}) {
    SCOPED_TRACE(shape.to_string());
    LayerFixture f(shape, DType::f32);
    Session sess(f.g);
    sess.run({}, {}, {ops::global_variables_initializer(f.root)});
    const int64_t c = 5;
    const Vec x = random_vec(static_cast<size_t>(shape.num_elements()), 2, 6, 11);
    const Tensor xt = make(x, shape, DType::f32);
    const Vec ones(c, 1.0), zeros(c, 0.0);
    // Set non-trivial moving statistics, so inference is not just x / sqrt(1 + eps).
    const Vec mm = random_vec(c, 1, 3, 12), mv = random_vec(c, 0.5, 2, 13);
    sess.set_variable_value(f.var("moving_mean"), make(mm, {c}, DType::f32));
    sess.set_variable_value(f.var("moving_variance"), make(mv, {c}, DType::f32));
    const Vec y_default = values(sess.run({{f.x, xt}}, {f.y})[0]);
    const Vec y_false =
        values(sess.run({{f.x, xt}, {learning_phase(f.g), Tensor(false)}}, {f.y})[0]);
    const Vec y_true = values(sess.run({{f.x, xt}, {learning_phase(f.g), Tensor(true)}}, {f.y})[0]);
    const RefStats st = ref_moments(x, c);
    EXPECT_LT(max_rel_err(y_default, ref_normalize(x, c, ones, zeros, mm, mv, 1e-3)), 2e-6);
    EXPECT_EQ(y_default, y_false);
    EXPECT_LT(max_rel_err(y_true, ref_normalize(x, c, ones, zeros, st.mean, st.var, 1e-3)), 2e-6);
    EXPECT_GT(max_rel_err(y_true, y_false), 0.1);
  }
}

// Expected moving statistic after one update: Keras' moving - (moving - stat) * (1 - momentum).
Vec moved(const Vec& moving, const Vec& stat, double momentum) {
  Vec r(moving.size());
  for (size_t j = 0; j < r.size(); ++j) r[j] = moving[j] * momentum + stat[j] * (1 - momentum);
  return r;
}

TEST(BatchNormLayer, MovingAveragesChangeOnlyWhenUpdateOpsRunInTraining) {
  struct Case {
    Shape shape;
    DType dt;
    bool bessel;  // TensorFlow's fused-kernel convention, for every dtype and rank (issue 10)
  };
  for (const Case& k :
       {Case{{2, 3, 4, 6}, DType::f32, true}, Case{{9, 6}, DType::f32, true},
        Case{{2, 3, 4, 6}, DType::f64, true}, Case{{2, 2, 2, 3, 6}, DType::f32, true}}) {
    SCOPED_TRACE(k.shape.to_string() + dtype_name(k.dt));
    LayerFixture f(k.shape, k.dt, 0.8);
    Session sess(f.g);
    sess.run({}, {}, {ops::global_variables_initializer(f.root)});
    const int64_t c = 6;
    const Vec x = random_vec(static_cast<size_t>(k.shape.num_elements()), -1, 4, 21);
    const Tensor xt = make(x, k.shape, k.dt);
    const Tensor on(true), off(false);
    auto mean_now = [&] { return values(sess.variable_value(f.var("moving_mean"))); };
    auto var_now = [&] { return values(sess.variable_value(f.var("moving_variance"))); };
    const Vec zeros(c, 0.0), ones(c, 1.0);

    // The layer output alone, in training: the moving statistics stay.
    sess.run({{f.x, xt}, {learning_phase(f.g), on}}, {f.y});
    EXPECT_EQ(mean_now(), zeros);
    EXPECT_EQ(var_now(), ones);
    // The update ops in an inference run (default, then fed false): no-ops.
    sess.run({{f.x, xt}}, {}, {f.bn.updates()[0], f.bn.updates()[1]});
    sess.run({{f.x, xt}, {learning_phase(f.g), off}}, {f.y},
             {f.bn.updates()[0], f.bn.updates()[1]});
    EXPECT_EQ(mean_now(), zeros);
    EXPECT_EQ(var_now(), ones);
    // The update ops in a training run: the momentum formula with this run's statistics.
    sess.run({{f.x, xt}, {learning_phase(f.g), on}}, {f.y}, {f.bn.updates()[0], f.bn.updates()[1]});
    const RefStats st = ref_moments(x, c);
    const int64_t n = k.shape.num_elements() / c;
    Vec batch_var = st.var;
    if (k.bessel)
      for (double& v : batch_var) v *= static_cast<double>(n) / (n - 1);
    const double tol = k.dt == DType::f32 ? 1e-6 : 1e-13;
    Vec m1 = moved(zeros, st.mean, 0.8), v1 = moved(ones, batch_var, 0.8);
    EXPECT_LT(max_rel_err(mean_now(), m1), tol);
    EXPECT_LT(max_rel_err(var_now(), v1), tol);
    // The biased/unbiased choice is visible: the other one is off by far more than tol.
    Vec other = st.var;
    if (!k.bessel)
      for (double& v : other) v *= static_cast<double>(n) / (n - 1);
    EXPECT_GT(max_rel_err(var_now(), moved(ones, other, 0.8)), 100 * tol);
    // Again with other data: moves from the new values; then an inference run changes nothing.
    const Vec x2 = random_vec(x.size(), 0, 2, 22);
    sess.run({{f.x, make(x2, k.shape, k.dt)}, {learning_phase(f.g), on}}, {},
             {f.bn.updates()[0], f.bn.updates()[1]});
    const RefStats st2 = ref_moments(x2, c);
    Vec batch_var2 = st2.var;
    if (k.bessel)
      for (double& v : batch_var2) v *= static_cast<double>(n) / (n - 1);
    const Vec m2 = moved(m1, st2.mean, 0.8), v2 = moved(v1, batch_var2, 0.8);
    EXPECT_LT(max_rel_err(mean_now(), m2), tol);
    EXPECT_LT(max_rel_err(var_now(), v2), tol);
    const Vec before_mean = mean_now(), before_var = var_now();
    sess.run({{f.x, xt}, {learning_phase(f.g), off}}, {}, {f.bn.updates()[0], f.bn.updates()[1]});
    EXPECT_EQ(mean_now(), before_mean);
    EXPECT_EQ(var_now(), before_var);
  }
}

// x -> Dense -> BatchNormalization -> Dense -> MSE, trained the obvious way.
struct TrainFixture {
  Graph g;
  Scope root{g};
  Output x, t, loss;
  layers::Dense d1{4, Activation::linear, true, "", Initializer::glorot_uniform(3)};
  layers::BatchNormalization bn;
  layers::Dense d2{1, Activation::linear, true, "", Initializer::glorot_uniform(4)};
  TrainFixture() {
    x = ops::placeholder(root.named("x"), DType::f32, {-1, 3});
    t = ops::placeholder(root.named("t"), DType::f32, {-1, 1});
    loss = ops::mean(root, losses::mean_squared_error(root, t, d2(root, bn(root, d1(root, x)))));
  }
};

TEST(BatchNormLayer, MinimizeRunsTheUpdateOpsUnlessDisabled) {
  const Vec xv = random_vec(32 * 3, -1, 3, 31), tv = random_vec(32, 0, 1, 32);
  for (bool with_updates : {true, false}) {
    SCOPED_TRACE(with_updates ? "default" : "with_update_ops(false)");
    TrainFixture f;
    optimizers::SGD sgd(0.1);
    sgd.with_update_ops(with_updates);
    Operation train = sgd.minimize(f.root, f.loss);
    Session sess(f.g);
    sess.run({}, {}, {ops::global_variables_initializer(f.root)});
    const FeedList feeds{{f.x, make(xv, {32, 3}, DType::f32)},
                         {f.t, make(tv, {32, 1}, DType::f32)},
                         {learning_phase(f.g), Tensor(true)}};
    const Vec mm0 = values(sess.variable_value(f.bn.name() + "/moving_mean"));
    const float loss0 = sess.run(feeds, {f.loss})[0].scalar<float>();
    for (int step = 0; step < 20; ++step) sess.run(feeds, {}, {train});
    const Vec mm = values(sess.variable_value(f.bn.name() + "/moving_mean"));
    const Vec mv = values(sess.variable_value(f.bn.name() + "/moving_variance"));
    EXPECT_LT(sess.run(feeds, {f.loss})[0].scalar<float>(), loss0);  // it trains either way
    if (with_updates) {
      EXPECT_GT(max_rel_err(mm, mm0), 1e-3);
      EXPECT_NE(mv, Vec(4, 1.0));
    } else {
      EXPECT_EQ(mm, mm0);
      EXPECT_EQ(mv, Vec(4, 1.0));
      // TensorFlow 1.x style: group the update ops with the train op yourself.
      std::vector<Operation> deps = f.g.update_ops();
      deps.push_back(train);
      Operation step = ops::no_op(f.root, deps);
      sess.run(feeds, {}, {step});
      EXPECT_GT(max_rel_err(values(sess.variable_value(f.bn.name() + "/moving_mean")), mm0), 1e-4);
    }
  }
}

TEST(BatchNormLayer, TrainingPhaseFalseInTheLoopLeavesMovingStatisticsAlone) {
  TrainFixture f;
  Operation train = optimizers::SGD(0.1).minimize(f.root, f.loss);
  Session sess(f.g);
  sess.run({}, {}, {ops::global_variables_initializer(f.root)});
  const FeedList feeds{{f.x, make(random_vec(24, -1, 3, 33), {8, 3}, DType::f32)},
                       {f.t, make(random_vec(8, 0, 1, 34), {8, 1}, DType::f32)}};
  const Vec mm0 = values(sess.variable_value(f.bn.name() + "/moving_mean"));
  sess.run(feeds, {}, {train});  // learning phase left at its default (false)
  EXPECT_EQ(values(sess.variable_value(f.bn.name() + "/moving_mean")), mm0);
  EXPECT_EQ(values(sess.variable_value(f.bn.name() + "/moving_variance")), Vec(4, 1.0));
}

TEST(BatchNormLayer, DropoutAndBatchNormSwitchOnTheOneFlag) {
  Graph g;
  Scope root(g);
  const Shape shape{4, 5, 5, 8};
  Output x = ops::placeholder(root.named("x"), DType::f32, shape);
  layers::Dropout drop(0.5, 7);
  layers::BatchNormalization bn;
  Output dropped = drop(root, x);
  Output y = bn(root, dropped);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xt =
      make(random_vec(static_cast<size_t>(shape.num_elements()), 1, 3, 41), shape, DType::f32);
  const Vec xv = values(xt);
  const Vec ones(8, 1.0), zeros(8, 0.0);

  // Inference (default): dropout is the identity, batchnorm uses the moving statistics.
  auto r = sess.run({{x, xt}}, {dropped, y});
  EXPECT_EQ(values(r[0]), xv);
  EXPECT_LT(max_rel_err(values(r[1]), ref_normalize(xv, 8, ones, zeros, zeros, ones, 1e-3)), 1e-6);

  // Training: dropout zeroes about half and scales the rest by 2; batchnorm normalises
  // what dropout produced with that run's batch statistics.
  r = sess.run({{x, xt}, {learning_phase(g), Tensor(true)}}, {dropped, y});
  const Vec d = values(r[0]);
  int64_t zeroed = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] == 0) {
      ++zeroed;
    } else {
      EXPECT_FLOAT_EQ(d[i], 2 * xv[i]);
    }
  }
  EXPECT_GT(zeroed, static_cast<int64_t>(d.size()) / 4);
  EXPECT_LT(zeroed, static_cast<int64_t>(d.size()) * 3 / 4);
  const RefStats st = ref_moments(d, 8);
  EXPECT_LT(max_rel_err(values(r[1]), ref_normalize(d, 8, ones, zeros, st.mean, st.var, 1e-3)),
            2e-6);
}

TEST(BatchNormLayer, EpsilonFollowsTheFusedKernelForEveryRank) {
  // TensorFlow's fused convention for every rank and dtype: epsilon raised to 1.001e-5.
  for (int rank : {2, 4}) {
    Graph g;
    Scope root(g);
    Shape shape = rank == 2 ? Shape{8, 2} : Shape{2, 2, 2, 2};
    Output x = ops::placeholder(root, DType::f32, shape);
    layers::BatchNormalization bn(-1, 0.99, 0.0);
    Output y = bn(root, x);
    double eps = -1;
    for (const Operation& op : g.operations())
      if (op.type() == "FusedBatchNorm") eps = op.node()->attr<double>("epsilon");
    EXPECT_EQ(eps, 1.001e-5);
  }
}

}  // namespace
}  // namespace sluice
