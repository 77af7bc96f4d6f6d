// The fused LSTM op and the LSTM layer: forward values against a plain-loop reference and
// against the same network composed from primitive ops, gradients against autodiff through
// that composed network, the layer's Keras behaviour (names, initialisation, states,
// sharing), unknown batch sizes, and bad input.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "test_util.h"

#include <cmath>
#include <random>
#include <string>
#include <thread>

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

using sluice::testing::random_tensor;

// The six LSTM inputs for sizes (B, T, F, U).
struct LstmValues {
  int64_t b, t, f, u;
  Tensor x, h0, c0, kernel, rec, bias;
  LstmValues(DType dt, int64_t b_, int64_t t_, int64_t f_, int64_t u_, uint32_t seed = 1)
      : b(b_), t(t_), f(f_), u(u_) {
    x = random_tensor(dt, {b, t, f}, seed);
    h0 = random_tensor(dt, {b, u}, seed + 1);
    c0 = random_tensor(dt, {b, u}, seed + 2);
    kernel = random_tensor(dt, {f, 4 * u}, seed + 3, -0.6, 0.6);
    rec = random_tensor(dt, {u, 4 * u}, seed + 4, -0.6, 0.6);
    bias = random_tensor(dt, {4 * u}, seed + 5, -0.5, 0.5);
  }
};

// Plain loops in double, written from the Keras equations (shares nothing with the kernel).
struct Reference {
  std::vector<double> seq, h, c;  // [B,T,U], [B,U], [B,U]
};

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

Reference reference_lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& kernel,
                         const Tensor& rec, const Tensor& bias) {
  const int64_t B = x.dim(0), T = x.dim(1), F = x.dim(2), U = rec.dim(0);
  Reference r;
  r.seq.assign(static_cast<size_t>(B * T * U), 0.0);
  r.h.assign(static_cast<size_t>(B * U), 0.0);
  r.c.assign(static_cast<size_t>(B * U), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(U), c(U), z(4 * U);
    for (int64_t u = 0; u < U; ++u) {
      h[u] = h0.as_double(b * U + u);
      c[u] = c0.as_double(b * U + u);
    }
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t j = 0; j < 4 * U; ++j) {
        double acc = bias.as_double(j);
        for (int64_t f = 0; f < F; ++f)
          acc += x.as_double((b * T + t) * F + f) * kernel.as_double(f * 4 * U + j);
        for (int64_t u = 0; u < U; ++u) acc += h[u] * rec.as_double(u * 4 * U + j);
        z[j] = acc;
      }
      for (int64_t u = 0; u < U; ++u) {
        const double in = sigmoid(z[u]), forget = sigmoid(z[U + u]), cand = std::tanh(z[2 * U + u]),
                     out = sigmoid(z[3 * U + u]);
        c[u] = forget * c[u] + in * cand;
        h[u] = out * std::tanh(c[u]);
        r.seq[(b * T + t) * U + u] = h[u];
      }
    }
    for (int64_t u = 0; u < U; ++u) {
      r.h[b * U + u] = h[u];
      r.c[b * U + u] = c[u];
    }
  }
  return r;
}

Reference reference_lstm(const LstmValues& v) {
  return reference_lstm(v.x, v.h0, v.c0, v.kernel, v.rec, v.bias);
}

void expect_close(const Tensor& t, const std::vector<double>& want, double tol,
                  const std::string& what) {
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(want.size())) << what;
  double worst = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i)
    worst = std::max(worst, std::fabs(t.as_double(i) - want[i]) / (1.0 + std::fabs(want[i])));
  EXPECT_LE(worst, tol) << what;
}

void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  std::vector<double> want(static_cast<size_t>(b.num_elements()));
  for (int64_t i = 0; i < b.num_elements(); ++i) want[i] = b.as_double(i);
  expect_close(a, want, tol, what);
}

// Placeholders for the six inputs (batch unknown) and their feeds.
struct LstmGraph {
  Graph g;
  Scope root{g};
  std::vector<Output> in;  // x, h0, c0, kernel, rec, bias
  LstmGraph(DType dt, int64_t t, int64_t f, int64_t u) {
    const char* names[] = {"x", "h0", "c0", "kernel", "rec", "bias"};
    const Shape shapes[] = {{-1, t, f}, {-1, u}, {-1, u}, {f, 4 * u}, {u, 4 * u}, {4 * u}};
    for (int i = 0; i < 6; ++i) in.push_back(ops::placeholder(root.named(names[i]), dt, shapes[i]));
  }
  FeedList feeds(const LstmValues& v) const {
    return {{in[0], v.x},      {in[1], v.h0},  {in[2], v.c0},
            {in[3], v.kernel}, {in[4], v.rec}, {in[5], v.bias}};
  }
  std::vector<Output> fused() {
    return ops::lstm(root.sub("fused"), in[0], in[1], in[2], in[3], in[4], in[5]);
  }
};

// The same network composed from primitive ops, one time step after another.
std::vector<Output> composed_lstm(const Scope& s, const std::vector<Output>& in, int64_t steps) {
  const int64_t f = in[0].shape().dim(2);
  Output h = in[1], c = in[2];
  std::vector<Output> hs;
  for (int64_t t = 0; t < steps; ++t) {
    Output xt = ops::reshape(s, ops::slice(s, in[0], {0, t, 0}, {-1, 1, -1}), {-1, f});
    Output z =
        ops::bias_add(s, ops::add(s, ops::matmul(s, xt, in[3]), ops::matmul(s, h, in[4])), in[5]);
    std::vector<Output> q = ops::split(s, z, 4, 1);
    Output i = ops::sigmoid(s, q[0]), fg = ops::sigmoid(s, q[1]), g = ops::tanh(s, q[2]),
           o = ops::sigmoid(s, q[3]);
    c = ops::add(s, ops::mul(s, fg, c), ops::mul(s, i, g));
    h = ops::mul(s, o, ops::tanh(s, c));
    hs.push_back(ops::expand_dims(s, h, 1));
  }
  return {ops::concat(s, hs, 1), h, c};
}

// ---------------------------------------------------------------------------------------
// The op

TEST(LstmOp, ForwardMatchesPlainLoopReference) {
  struct Case {
    int64_t b, t, f, u;
    int threads;
  };
  // 20 and 33 units: full 16-unit blocks plus tails; 64x64 with 2 threads splits each
  // step by units, 1024x16 by rows.
  const Case cases[] = {{2, 3, 4, 5, 1},   {3, 7, 5, 20, 1},    {1, 1, 1, 1, 1}, {4, 5, 3, 33, 2},
                        {64, 4, 8, 64, 2}, {1024, 2, 3, 16, 2}, {5, 6, 7, 40, 2}};
  for (DType dt : {DType::f32, DType::f64}) {
    for (const Case& k : cases) {
      const std::string what = std::string(dtype_name(dt)) + " B" + std::to_string(k.b) + " T" +
                               std::to_string(k.t) + " F" + std::to_string(k.f) + " U" +
                               std::to_string(k.u) + " threads " + std::to_string(k.threads);
      LstmGraph lg(dt, k.t, k.f, k.u);
      std::vector<Output> y = lg.fused();
      EXPECT_EQ(y[0].shape(), (Shape{-1, k.t, k.u}));
      EXPECT_EQ(y[1].shape(), (Shape{-1, k.u}));
      const LstmValues v(dt, k.b, k.t, k.f, k.u, static_cast<uint32_t>(k.b * 7 + k.u));
      Session sess(lg.g, SessionOptions{k.threads});
      const std::vector<Tensor> r = sess.run(lg.feeds(v), {y[0], y[1], y[2]});
      const Reference want = reference_lstm(v);
      const double tol = dt == DType::f32 ? 2e-5 : 1e-12;
      EXPECT_EQ(r[0].shape(), (Shape{k.b, k.t, k.u})) << what;
      expect_close(r[0], want.seq, tol, what + " sequence");
      expect_close(r[1], want.h, tol, what + " h");
      expect_close(r[2], want.c, tol, what + " c");
    }
  }
}

// loss = sum(seq * w0) + sum(h * w1) + sum(c * w2), with the terms selected by `use`.
Output weighted_loss(const Scope& s, const std::vector<Output>& y, const std::vector<Tensor>& w,
                     const std::array<bool, 3>& use) {
  std::vector<Output> terms;
  for (int k = 0; k < 3; ++k)
    if (use[k]) terms.push_back(ops::sum(s, ops::mul(s, y[k], ops::constant(s, w[k]))));
  return ops::add_n(s, terms);
}

TEST(LstmOp, MatchesComposedNetworkValuesAndGradients) {
  const int64_t B = 3, T = 4, F = 5, U = 6;
  for (DType dt : {DType::f64, DType::f32}) {
    // Gradients arriving through everything, through the sequence only, through h only,
    // through c only.
    const std::array<bool, 3> uses[] = {
        {true, true, true}, {true, false, false}, {false, true, false}, {false, false, true}};
    for (const auto& use : uses) {
      const std::string what = std::string(dtype_name(dt)) + " use " + std::to_string(use[0]) +
                               std::to_string(use[1]) + std::to_string(use[2]);
      LstmGraph lg(dt, T, F, U);
      const std::vector<Tensor> w = {random_tensor(dt, {B, T, U}, 11),
                                     random_tensor(dt, {B, U}, 12), random_tensor(dt, {B, U}, 13)};
      std::vector<Output> fused = lg.fused();
      std::vector<Output> comp = composed_lstm(lg.root.sub("composed"), lg.in, T);
      Output loss_f = weighted_loss(lg.root, fused, w, use);
      Output loss_c = weighted_loss(lg.root, comp, w, use);
      std::vector<Output> gf = gradients(lg.root, {loss_f}, lg.in);
      std::vector<Output> gc = gradients(lg.root, {loss_c}, lg.in);
      bool has_grad_op = false, has_sigmoid_grad_path = false;
      for (const Operation& op : lg.g.operations()) {
        has_grad_op = has_grad_op || op.type() == "LSTMGrad";
        has_sigmoid_grad_path =
            has_sigmoid_grad_path || (op.type() == "Sigmoid" && op.name().rfind("fused", 0) == 0);
      }
      EXPECT_TRUE(has_grad_op) << what;
      EXPECT_FALSE(has_sigmoid_grad_path) << what;

      const LstmValues v(dt, B, T, F, U, 21);
      Session sess(lg.g, SessionOptions{1});
      std::vector<TensorRef> fetches = {fused[0], fused[1], fused[2], comp[0], comp[1], comp[2]};
      for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(gf[i].valid() && gc[i].valid()) << what << " input " << i;
        fetches.push_back(gf[i]);
        fetches.push_back(gc[i]);
      }
      const std::vector<Tensor> r = sess.run(lg.feeds(v), fetches);
      const double tol = dt == DType::f32 ? 5e-5 : 1e-12;
      for (int k = 0; k < 3; ++k)
        expect_close(r[k], r[k + 3], tol, what + " output " + std::to_string(k));
      const char* names[] = {"x", "h0", "c0", "kernel", "recurrent_kernel", "bias"};
      for (int i = 0; i < 6; ++i)
        expect_close(r[6 + 2 * i], r[7 + 2 * i], dt == DType::f32 ? 2e-4 : 1e-11,
                     what + " d" + names[i]);
    }
  }
}

TEST(LstmOp, OneAndTwoThreadsAgree) {
  // 64 x 64 splits each step by units on two threads, 1024 x 16 by rows.
  for (const auto& [B, U] : {std::pair<int64_t, int64_t>{64, 64}, {1024, 16}}) {
    const int64_t T = 5, F = 8;
    LstmGraph lg(DType::f32, T, F, U);
    std::vector<Output> y = lg.fused();
    Output loss =
        ops::add(lg.root, ops::sum(lg.root, ops::square(lg.root, y[0])), ops::sum(lg.root, y[2]));
    std::vector<Output> grads = gradients(lg.root, {loss}, lg.in);
    std::vector<TensorRef> fetches = {y[0], y[1], y[2]};
    for (const Output& g : grads) fetches.push_back(g);
    const LstmValues v(DType::f32, B, T, F, U, 5);
    Session one(lg.g, SessionOptions{1}), two(lg.g, SessionOptions{2});
    const std::vector<Tensor> a = one.run(lg.feeds(v), fetches);
    const std::vector<Tensor> b = two.run(lg.feeds(v), fetches);
    const std::string what = "B" + std::to_string(B) + " U" + std::to_string(U) + " fetch ";
    // Nothing depends on the split: the recurrence, the states and every gradient (the
    // GEMMs are arranged to split by rows, see rnn::gemm_by_rows).
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(b[i].equals(a[i])) << what << i;
    // And the same threads give the same bits every run.
    const std::vector<Tensor> c = two.run(lg.feeds(v), fetches);
    for (size_t i = 0; i < b.size(); ++i) EXPECT_TRUE(c[i].equals(b[i])) << what << i;
  }
}

// LSTMGrad writes its pre-activation gradient over the saved gates when nothing else reads
// them; fetching the gates as well forces a separate buffer. Both must give the same bits,
// and the fetched gates must be the activations (i, f, o in (0, 1), c~ in (-1, 1)).
TEST(LstmOp, GradientsDoNotDependOnWhoElseReadsTheGates) {
  const int64_t B = 3, T = 4, F = 2, U = 5;
  LstmGraph lg(DType::f64, T, F, U);
  std::vector<Output> y = lg.fused();
  std::vector<Output> grads =
      gradients(lg.root, {ops::sum(lg.root, ops::square(lg.root, y[0]))}, lg.in);
  std::vector<TensorRef> fetches(grads.begin(), grads.end());
  const LstmValues v(DType::f64, B, T, F, U, 3);
  Session sess(lg.g);
  const std::vector<Tensor> alone = sess.run(lg.feeds(v), fetches);
  fetches.push_back(y[0].op().output(3));
  const std::vector<Tensor> with_gates = sess.run(lg.feeds(v), fetches);
  for (size_t i = 0; i < alone.size(); ++i) EXPECT_TRUE(alone[i].equals(with_gates[i])) << i;
  const Tensor& gates = with_gates.back();
  ASSERT_EQ(gates.shape(), (Shape{B, T, 4 * U}));
  for (int64_t i = 0; i < gates.num_elements(); ++i) {
    const bool candidate = (i % (4 * U)) / U == 2;
    EXPECT_GT(gates.as_double(i), candidate ? -1.0 : 0.0);
    EXPECT_LT(gates.as_double(i), 1.0);
  }
}

// Several sessions sharing the process-wide pool run split LSTM steps at once: the step
// scheduler must neither deadlock nor mix up their work.
TEST(LstmOp, ConcurrentSessionsOnTheSharedPool) {
  const int64_t B = 64, T = 6, F = 8, U = 64;
  LstmGraph lg(DType::f32, T, F, U);
  std::vector<Output> y = lg.fused();
  std::vector<Output> grads = gradients(lg.root, {ops::sum(lg.root, y[0])}, {lg.in[4]});
  const LstmValues v(DType::f32, B, T, F, U, 8);
  const Reference want = reference_lstm(v);
  Session reference_session(lg.g, SessionOptions{1});
  const Tensor want_grad = reference_session.run(lg.feeds(v), {grads[0]})[0];
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      Session sess(lg.g);  // num_threads 0: the shared pool
      for (int rep = 0; rep < 5; ++rep) {
        const auto r = sess.run(lg.feeds(v), {y[0], grads[0]});
        double worst = 0;
        for (int64_t i = 0; i < r[0].num_elements(); ++i)
          worst = std::max(worst, std::fabs(r[0].as_double(i) - want.seq[i]));
        for (int64_t i = 0; i < r[1].num_elements(); ++i)
          worst = std::max(worst, std::fabs(r[1].as_double(i) - want_grad.as_double(i)) /
                                      (1 + std::fabs(want_grad.as_double(i))));
        ok[k] += worst < 1e-4;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ok[k], 5) << "thread " << k;
}

TEST(LstmOp, EmptySequencePassesTheStateThrough) {
  LstmGraph lg(DType::f64, 0, 3, 2);
  std::vector<Output> y = lg.fused();
  const std::vector<Tensor> w = {Tensor::zeros(DType::f64, {2, 0, 2}),
                                 random_tensor(DType::f64, {2, 2}, 3),
                                 random_tensor(DType::f64, {2, 2}, 4)};
  Output loss = weighted_loss(lg.root, y, w, {true, true, true});
  std::vector<Output> grads = gradients(lg.root, {loss}, lg.in);
  const LstmValues v(DType::f64, 2, 0, 3, 2);
  Session sess(lg.g);
  auto r = sess.run(lg.feeds(v),
                    {y[0], y[1], y[2], grads[0], grads[1], grads[2], grads[3], grads[4], grads[5]});
  EXPECT_EQ(r[0].shape(), (Shape{2, 0, 2}));
  EXPECT_TRUE(r[1].equals(v.h0));
  EXPECT_TRUE(r[2].equals(v.c0));
  EXPECT_EQ(r[3].shape(), (Shape{2, 0, 3}));
  EXPECT_TRUE(r[4].equals(w[1]));  // dh0 = dh_last
  EXPECT_TRUE(r[5].equals(w[2]));  // dc0 = dc_last
  for (int i = 6; i < 9; ++i) {
    EXPECT_EQ(r[i].shape(), lg.in[i - 3].shape());
    for (int64_t j = 0; j < r[i].num_elements(); ++j) EXPECT_EQ(r[i].as_double(j), 0.0);
  }
}

TEST(LstmOp, UnknownBatchFedWithDifferentSizes) {
  LstmGraph lg(DType::f32, 4, 3, 5);
  std::vector<Output> y = lg.fused();
  Output dk = gradients(lg.root, {ops::sum(lg.root, y[0])}, {lg.in[3]})[0];
  Session sess(lg.g);
  for (int64_t b : {1, 3, 6}) {
    const LstmValues v(DType::f32, b, 4, 3, 5, static_cast<uint32_t>(b));
    const auto r = sess.run(lg.feeds(v), {y[0], y[1], dk});
    const Reference want = reference_lstm(v);
    EXPECT_EQ(r[0].shape(), (Shape{b, 4, 5}));
    expect_close(r[0], want.seq, 2e-5, "sequence B=" + std::to_string(b));
    expect_close(r[1], want.h, 2e-5, "h B=" + std::to_string(b));
    EXPECT_EQ(r[2].shape(), (Shape{3, 20}));
  }
}

void expect_contains(const std::string& msg, const std::vector<std::string>& parts) {
  for (const std::string& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

TEST(LstmOp, BadInputsAreTypedErrorsNamingNodeAndShapes) {
  Graph g;
  Scope root(g);
  auto ph = [&](DType dt, const Shape& s) { return ops::placeholder(root, dt, s); };
  const DType f = DType::f32;
  Output x = ph(f, {2, 3, 4}), h = ph(f, {2, 5}), c = ph(f, {2, 5}), k = ph(f, {4, 20}),
         r = ph(f, {5, 20}), b = ph(f, {20});
  EXPECT_NO_THROW(ops::lstm(root, x, h, c, k, r, b));
  // Wrong rank.
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_rank"), ph(f, {2, 4}), h, c, k, r, b);
                  }),
                  {"bad_rank", "LSTM", "x must have rank 3", "[2,4]"});
  // Features of x against the kernel's rows.
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_f"), ph(f, {2, 3, 7}), h, c, k, r, b);
                  }),
                  {"bad_f", "feature size mismatch", "[2,3,7]", "kernel [4,20]"});
  // Bias of the wrong size; gate width not a multiple of 4.
  expect_contains(error_of<InvalidArgument>(
                      [&] { ops::lstm(root.named("bad_bias"), x, h, c, k, r, ph(f, {16})); }),
                  {"bad_bias", "bias [16]", "units = 5"});
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_k"), x, h, c, ph(f, {4, 18}), r, b);
                  }),
                  {"bad_k", "kernel [4,18]", "multiple of 4"});
  // State of the wrong width or batch.
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_h"), x, ph(f, {2, 6}), c, k, r, b);
                  }),
                  {"bad_h", "h0 [2,6]", "units = 5"});
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_b"), x, ph(f, {3, 5}), c, k, r, b);
                  }),
                  {"bad_b", "batch sizes", "x [2,3,4]", "h0 [3,5]"});
  // Dtypes: integers, and a mix.
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_int"), ph(DType::i32, {2, 3, 4}), h, c, k, r, b);
                  }),
                  {"bad_int", "int32"});
  expect_contains(error_of<InvalidArgument>([&] {
                    ops::lstm(root.named("bad_mix"), x, h, c, ph(DType::f64, {4, 20}), r, b);
                  }),
                  {"bad_mix", "kernel", "float64", "float32"});

  // Unknown static shapes: the kernel re-validates at run time, naming the node.
  Output ux = ph(f, Shape::unknown_rank()), uk = ph(f, {-1, -1});
  std::vector<Output> y = ops::lstm(root.named("late"), ux, h, c, uk, r, b);
  Session sess(g);
  const std::string msg = error_of<InvalidArgument>([&] {
    sess.run({{ux, Tensor::zeros(f, {2, 3, 6})},
              {uk, Tensor::zeros(f, {4, 20})},
              {h, Tensor::zeros(f, {2, 5})},
              {c, Tensor::zeros(f, {2, 5})},
              {r, Tensor::zeros(f, {5, 20})},
              {b, Tensor::zeros(f, {20})}},
             {y[0]});
  });
  expect_contains(msg, {"late", "feature size mismatch", "[2,3,6]", "[4,20]"});
}

TEST(LstmOp, GradientThroughInternalOutputsIsRefused) {
  LstmGraph lg(DType::f64, 2, 2, 2);
  std::vector<Output> y = lg.fused();
  Output gates = y[0].op().output(3);
  const std::string msg =
      error_of<Unimplemented>([&] { gradients(lg.root, {ops::sum(lg.root, gates)}, {lg.in[0]}); });
  expect_contains(msg, {"fused/LSTM", "internal output 3"});
}

// ---------------------------------------------------------------------------------------
// The layer

TEST(LstmLayer, NamesWeightsAfterScopeAndLayer) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 7, 3});
  layers::LSTM mine(4, false, false, "mylstm"), plain(2), plain2(2);
  Output y = mine(root.sub("block1"), x);
  EXPECT_EQ(mine.name(), "block1/mylstm");
  const std::vector<Operation> w = mine.trainable_weights();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].name(), "block1/mylstm/kernel");
  EXPECT_EQ(w[1].name(), "block1/mylstm/recurrent_kernel");
  EXPECT_EQ(w[2].name(), "block1/mylstm/bias");
  EXPECT_EQ(mine.kernel().shape(), (Shape{3, 16}));
  EXPECT_EQ(mine.recurrent_kernel().shape(), (Shape{4, 16}));
  EXPECT_EQ(mine.bias().shape(), (Shape{16}));
  EXPECT_EQ(y.shape(), (Shape{-1, 4}));
  plain(root, x);
  plain2(root, x);
  EXPECT_EQ(plain.name(), "lstm");
  EXPECT_EQ(plain2.name(), "lstm_1");
  EXPECT_EQ(g.trainable_variables().size(), 9u);
  EXPECT_EQ(g.trainable_variables("block1").size(), 3u);
  layers::LSTM dup(3, false, false, "mylstm");
  EXPECT_THROW(dup(root.sub("block1"), x), AlreadyExists);
}

TEST(LstmLayer, InitialisesLikeKeras) {
  Graph g;
  g.set_random_seed(7);
  Scope root(g);
  const int64_t F = 5, U = 8;
  Output x = ops::placeholder(root, DType::f32, {-1, 3, F});
  layers::LSTM def(U), no_forget(U, false, false, "", false),
      random_bias(U, false, false, "", true, Initializer::glorot_uniform(),
                  Initializer::orthogonal(), Initializer::random_uniform(-0.5, -0.1));
  def(root, x);
  no_forget(root, x);
  random_bias(root, x);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto r = sess.run(
      {}, {def.kernel(), def.recurrent_kernel(), def.bias(), no_forget.bias(), random_bias.bias()});
  // glorot uniform over [F, 4U]
  const double limit = std::sqrt(6.0 / (F + 4 * U));
  for (float v : r[0].to_vector<float>()) EXPECT_LE(std::fabs(v), limit);
  // orthogonal [U, 4U]: orthonormal rows, R R^T = I
  for (int64_t i = 0; i < U; ++i)
    for (int64_t j = 0; j < U; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < 4 * U; ++k)
        dot += r[1].as_double(i * 4 * U + k) * r[1].as_double(j * 4 * U + k);
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5);
    }
  // unit_forget_bias: [0 x U, 1 x U, 0 x 2U]; without it all zeros.
  for (int64_t j = 0; j < 4 * U; ++j) {
    EXPECT_EQ(r[2].as_double(j), j >= U && j < 2 * U ? 1.0 : 0.0) << j;
    EXPECT_EQ(r[3].as_double(j), 0.0);
    if (j >= U && j < 2 * U) {
      EXPECT_EQ(r[4].as_double(j), 1.0);
    } else {
      EXPECT_GE(r[4].as_double(j), -0.5);
      EXPECT_LT(r[4].as_double(j), -0.1);
    }
  }
  // A tensor-valued bias cannot be split around the forget gate.
  layers::LSTM bad(U, false, false, "", true, Initializer::glorot_uniform(),
                   Initializer::orthogonal(),
                   Initializer::constant(Tensor::zeros(DType::f32, {4 * U})));
  EXPECT_THROW(bad(root, x), InvalidArgument);
}

// An LSTM layer with the given weights (and the unit-forget bias off, so they stay exact).
struct FixedLstm {
  LstmValues v;
  layers::LSTM layer;
  FixedLstm(int64_t u, bool seq, bool state, uint32_t seed, int64_t f = 3)
      : v(DType::f32, 1, 1, f, u, seed),
        layer(u, seq, state, "", false, Initializer::constant(v.kernel),
              Initializer::constant(v.rec), Initializer::constant(v.bias)) {}
};

TEST(LstmLayer, SequencesStatesAndInitialState) {
  Graph g;
  Scope root(g);
  const int64_t T = 6, F = 3, U = 5, B = 4;
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, T, F});
  Output h0 = ops::placeholder(root.named("h0"), DType::f32, {-1, U});
  Output c0 = ops::placeholder(root.named("c0"), DType::f32, {-1, U});
  FixedLstm full(U, true, true, 1), last(U, false, false, 1), last_state(U, false, true, 1);
  std::vector<Output> a = full.layer.call_with_state(root, x, {h0, c0});
  std::vector<Output> b = last.layer.call_with_state(root, x);
  std::vector<Output> c = last_state.layer.call_with_state(root, x);
  Output d = last.layer(root, x);  // operator(): the output alone, weights shared with b
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(a[0].shape(), (Shape{-1, T, U}));
  EXPECT_EQ(b[0].shape(), (Shape{-1, U}));
  EXPECT_EQ(g.trainable_variables().size(), 9u);

  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor(DType::f32, {B, T, F}, 3),
               hv = random_tensor(DType::f32, {B, U}, 4), cv = random_tensor(DType::f32, {B, U}, 5);
  auto r = sess.run({{x, xv}, {h0, hv}, {c0, cv}}, {a[0], a[1], a[2], b[0], c[0], c[1], c[2], d});
  const Reference with_state = reference_lstm(xv, hv, cv, full.v.kernel, full.v.rec, full.v.bias);
  const Tensor zeros = Tensor::zeros(DType::f32, {B, U});
  const Reference from_zero =
      reference_lstm(xv, zeros, zeros, full.v.kernel, full.v.rec, full.v.bias);
  expect_close(r[0], with_state.seq, 2e-5, "sequence from the initial state");
  expect_close(r[1], with_state.h, 2e-5, "h from the initial state");
  expect_close(r[2], with_state.c, 2e-5, "c from the initial state");
  expect_close(r[3], from_zero.h, 2e-5, "last output from zeros");
  expect_close(r[4], from_zero.h, 2e-5, "return_state output");
  EXPECT_TRUE(r[5].equals(r[4]));  // the output is h_T
  expect_close(r[6], from_zero.c, 2e-5, "return_state c");
  EXPECT_TRUE(r[7].equals(r[3]));

  // The zero initial state takes the batch size of every run, and passes no gradient to x
  // except through the LSTM.
  const Tensor x2 = random_tensor(DType::f32, {7, T, F}, 9);
  const Tensor zeros7 = Tensor::zeros(DType::f32, {7, U});
  expect_close(sess.run({{x, x2}}, {b[0]})[0],
               reference_lstm(x2, zeros7, zeros7, full.v.kernel, full.v.rec, full.v.bias).h, 2e-5,
               "batch 7");
}

TEST(LstmLayer, CallingTwiceSharesWeightsAndSumsGradients) {
  Graph g;
  Scope root(g);
  Output x1 = ops::placeholder(root.named("x1"), DType::f32, {-1, 4, 3});
  Output x2 = ops::placeholder(root.named("x2"), DType::f32, {-1, 4, 3});
  FixedLstm shared(6, false, false, 2);
  Output y1 = shared.layer(root, x1), y2 = shared.layer(root, x2);
  EXPECT_EQ(g.trainable_variables().size(), 3u);
  std::vector<Output> w = {shared.layer.kernel(), shared.layer.recurrent_kernel(),
                           shared.layer.bias()};
  Output s1 = ops::sum(root, y1), s2 = ops::sum(root, ops::square(root, y2));
  std::vector<Output> both = gradients(root, {ops::add(root, s1, s2)}, w);
  std::vector<Output> g1 = gradients(root, {s1}, w), g2 = gradients(root, {s2}, w);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const FeedList feeds = {{x1, random_tensor(DType::f32, {2, 4, 3}, 1)},
                          {x2, random_tensor(DType::f32, {5, 4, 3}, 2)}};
  for (int i = 0; i < 3; ++i) {
    auto r = sess.run(feeds, {both[i], g1[i], g2[i]});
    std::vector<double> sum(static_cast<size_t>(r[1].num_elements()));
    for (int64_t j = 0; j < r[1].num_elements(); ++j)
      sum[j] = r[1].as_double(j) + r[2].as_double(j);
    expect_close(r[0], sum, 1e-5, "weight " + std::to_string(i));
  }
}

TEST(LstmLayer, BadInputsAreTypedErrors) {
  Graph g;
  Scope root(g);
  EXPECT_THROW(layers::LSTM(0), InvalidArgument);
  layers::LSTM a(4);
  expect_contains(error_of<InvalidArgument>([&] {
                    a(root, ops::placeholder(root, DType::f32, {-1, 3}));
                  }),
                  {"lstm", "[batch, time, features]", "[?,3]"});
  layers::LSTM b(4);
  EXPECT_THROW(b(root, ops::placeholder(root, DType::f32, {-1, 3, -1})), InvalidArgument);
  layers::LSTM c(4);
  expect_contains(error_of<InvalidArgument>([&] {
                    c(root, ops::placeholder(root, DType::i32, {-1, 3, 2}));
                  }),
                  {"float", "int32"});
  layers::LSTM d(4, false, false, "dl");
  Output x = ops::placeholder(root, DType::f32, {-1, 3, 2});
  d(root, x);
  expect_contains(error_of<InvalidArgument>([&] {
                    d(root, ops::placeholder(root, DType::f32, {-1, 3, 5}));
                  }),
                  {"dl", "[?,3,5]"});
  Output h_bad = ops::placeholder(root, DType::f32, {-1, 3});
  expect_contains(error_of<InvalidArgument>([&] {
                    d.call_with_state(root, x, {h_bad, h_bad});
                  }),
                  {"dl", "initial_state[0]", "[?,3]"});
  EXPECT_THROW(d.call_with_state(root, x, {h_bad}), InvalidArgument);
  // The failed calls leave no state behind: a plain call still works.
  EXPECT_NO_THROW(d(root, x));
}

// A real training run: a small LSTM learns to output the mean of its input sequence.
TEST(LstmLayer, LearnsTheMeanOfASequence) {
  Graph g;
  g.set_random_seed(5);
  Scope root(g);
  const int64_t T = 8, B = 32;
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, T, 1});
  Output y = ops::placeholder(root.named("y"), DType::f32, {-1, 1});
  layers::LSTM lstm(16);
  layers::Dense out(1);
  Output pred = out(root, lstm(root, x));
  Output loss = ops::mean(root, losses::mean_squared_error(root, y, pred));
  optimizers::Adam adam(0.01);
  Operation train = adam.minimize(root, loss);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto batch = [&] {
    Tensor xb(DType::f32, {B, T, 1}), yb(DType::f32, {B, 1});
    for (int64_t b = 0; b < B; ++b) {
      float s = 0;
      for (int64_t t = 0; t < T; ++t) s += xb.data<float>()[b * T + t] = dist(rng);
      yb.data<float>()[b] = s / T;
    }
    return FeedList{{x, xb}, {y, yb}};
  };
  const FeedList test = batch();
  const float initial = sess.run(test, {loss})[0].scalar<float>();
  for (int step = 0; step < 300; ++step) sess.run(batch(), {}, {train});
  const float final_loss = sess.run(test, {loss})[0].scalar<float>();
  EXPECT_LT(final_loss, 0.1f * initial) << "initial " << initial;
}

}  // namespace
}  // namespace sluice
