// The fused recurrent ops with their options (LSTM, GRU both ways, SimpleRNN): forward values
// and gradients against the same networks composed from primitive ops in float64, the
// masking and sequence-length semantics spelled out, direction, thread-count independence,
// NaN propagation, activation names and bad input.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>

#include "rnn_composite.h"
#include "test_util.h"

namespace sluice {
namespace {

using ops::RnnActivation;
using ops::RnnOptions;
using testing::composite_rnn;
using testing::error_of;
using testing::fused_rnn;
using testing::RnnCell;

using sluice::testing::random_tensor;

// Largest |a - b| / (1 + |b|).
double max_rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    const double d = std::fabs(a.as_double(i) - b.as_double(i)) / (1.0 + std::fabs(b.as_double(i)));
    worst = std::max(worst, std::isnan(d) ? INFINITY : d);
  }
  return worst;
}

const RnnCell kCells[] = {RnnCell::lstm, RnnCell::gru_after, RnnCell::gru_before, RnnCell::simple};

// One configuration of options; masks and lengths are fed through placeholders.
struct Config {
  std::string name;
  bool reverse = false, reverse_output = false, mask = false, lengths = false, zero = false;
  double clip = 0;
  RnnActivation act = RnnActivation::tanh(), rec = RnnActivation::sigmoid();
  std::optional<RnnActivation> cell_act;
  bool peepholes = false, input_forget = false;
  int64_t units = 5;
};

std::vector<Config> configs() {
  std::vector<Config> c(17);
  const char* names[] = {"plain", "reverse", "go_backwards", "reversed_output", "mask",
                         "mask_zero_output", "mask_go_backwards", "lengths", "lengths_reverse",
                         "clip", "keras_hard_sigmoid", "onnx_activations", "relu_elu", "units_37",
                         "peepholes", "peepholes_input_forget_clip", "leaky_thresholded_softplus"};
  for (size_t i = 0; i < c.size(); ++i) c[i].name = names[i];
  c[1].reverse = true;
  c[2].reverse = c[2].reverse_output = true;
  c[3].reverse_output = true;
  c[4].mask = true;
  c[5].mask = c[5].zero = true;
  c[6].mask = c[6].reverse = c[6].reverse_output = true;
  c[7].lengths = c[7].zero = true;
  c[8].lengths = c[8].zero = c[8].reverse = true;
  c[9].clip = 0.6;
  c[10].rec = RnnActivation::hard_sigmoid();
  c[11].act = RnnActivation::scaled_tanh(1.2, 0.9);
  c[11].rec = RnnActivation::affine(0.3, 0.4);
  c[12].act = RnnActivation::relu();
  c[12].rec = RnnActivation::elu(0.8);
  c[12].cell_act = RnnActivation::softsign();  // LSTM only
  c[13].units = 37;
  c[13].mask = true;
  c[14].peepholes = true;
  c[15].peepholes = c[15].input_forget = true;
  c[15].clip = 0.5;
  c[15].lengths = c[15].zero = true;
  c[16].act = RnnActivation::leaky_relu(0.2);
  c[16].rec = RnnActivation::softplus();
  c[16].cell_act = RnnActivation::thresholded_relu(0.1);
  return c;
}

constexpr int64_t kB = 3, kT = 5, kF = 4;

// Row 0 all valid, row 1 masked at the start and in the middle, row 2 all masked.
Tensor test_mask() {
  return Tensor::from_vector<bool>({1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0}, {kB, kT});
}
Tensor test_lengths() { return Tensor::from_vector<int32_t>({5, 2, 0}, {kB}); }

// Placeholders for a cell's inputs (plus mask, lengths and peepholes) and their values.
struct Net {
  Graph g;
  Scope root{g};
  std::vector<Output> in;  // x, states, kernel, recurrent_kernel, bias [, peepholes]
  Output mask, lengths;
  FeedList feeds;
  RnnOptions opts;

  Net(RnnCell cell, const Config& c, DType dt, uint32_t seed, int64_t b = kB, int64_t t = kT,
      int64_t f = kF) {
    const std::vector<Shape> shapes = testing::rnn_input_shapes(cell, b, t, f, c.units);
    for (size_t i = 0; i < shapes.size(); ++i) {
      Shape ps = shapes[i];
      if (i < 2 || (cell == RnnCell::lstm && i == 2)) ps = Shape{-1, ps.dims()[1]};  // batch unknown
      if (i == 0) ps = Shape{-1, t, f};
      in.push_back(ops::placeholder(root.named("in" + std::to_string(i)), dt, ps));
      const double scale = i >= (cell == RnnCell::lstm ? 3u : 2u) ? 0.7 : 1.0;
      feeds.emplace_back(in.back(), random_tensor(dt, shapes[i], seed + static_cast<uint32_t>(i), -scale, scale));
    }
    opts.activation = c.act;
    opts.recurrent_activation = c.rec;
    if (cell == RnnCell::lstm) opts.cell_activation = c.cell_act;
    opts.reverse = c.reverse;
    opts.reverse_sequence_output = c.reverse_output;
    opts.zero_output_for_mask = c.zero;
    opts.clip = c.clip;
    opts.input_forget = c.input_forget;
    if (c.mask) {
      mask = opts.mask = ops::placeholder(root.named("mask"), DType::boolean, {-1, t});
      feeds.emplace_back(mask, test_mask());
    }
    if (c.lengths) {
      lengths = opts.sequence_lengths = ops::placeholder(root.named("lengths"), DType::i32, {-1});
      feeds.emplace_back(lengths, test_lengths());
    }
    if (c.peepholes) {
      in.push_back(ops::placeholder(root.named("peepholes"), dt, {3 * c.units}));
      opts.peepholes = in.back();
      feeds.emplace_back(in.back(), random_tensor(dt, {3 * c.units}, seed + 50, -0.8, 0.8));
    }
  }
};

// loss = sum of every output times fixed random weights.
Output weighted_loss(const Scope& s, const std::vector<Output>& y, const std::vector<Tensor>& w) {
  std::vector<Output> terms;
  for (size_t k = 0; k < y.size(); ++k)
    terms.push_back(ops::sum(s, ops::mul(s, y[k], ops::constant(s, w[k]))));
  return ops::add_n(s, terms);
}

TEST(RnnOps, ForwardAndGradientsMatchComposedNetworks) {
  for (RnnCell cell : kCells) {
    for (const Config& c : configs()) {
      if ((c.peepholes || c.input_forget) && cell != RnnCell::lstm) continue;
      const std::string what = std::string(testing::cell_name(cell)) + " " + c.name;
      Net net(cell, c, DType::f64, 7);
      const std::vector<Output> fused = fused_rnn(net.root.sub("fused"), cell, net.in, net.opts);
      const std::vector<Output> comp = composite_rnn(net.root.sub("composite"), cell, net.in, net.opts);
      ASSERT_EQ(fused.size(), comp.size()) << what;
      std::vector<Tensor> w;
      for (size_t k = 0; k < fused.size(); ++k) {
        std::vector<int64_t> dims = fused[k].shape().dims();
        dims[0] = kB;
        w.push_back(random_tensor(DType::f64, Shape(dims), 30 + static_cast<uint32_t>(k)));
      }
      const std::vector<Output> gf = gradients(net.root, {weighted_loss(net.root, fused, w)}, net.in);
      const std::vector<Output> gc = gradients(net.root, {weighted_loss(net.root, comp, w)}, net.in);
      std::vector<TensorRef> fetches;
      for (size_t k = 0; k < fused.size(); ++k) fetches.insert(fetches.end(), {fused[k], comp[k]});
      for (size_t i = 0; i < net.in.size(); ++i) {
        ASSERT_TRUE(gf[i].valid() && gc[i].valid()) << what << " input " << i;
        fetches.insert(fetches.end(), {gf[i], gc[i]});
      }
      Session sess(net.g, SessionOptions{1});
      const std::vector<Tensor> r = sess.run(net.feeds, fetches);
      for (size_t k = 0; k < fused.size(); ++k)
        EXPECT_LT(max_rel_diff(r[2 * k], r[2 * k + 1]), 1e-12) << what << " output " << k;
      for (size_t i = 0; i < net.in.size(); ++i) {
        const size_t at = 2 * fused.size() + 2 * i;
        EXPECT_LT(max_rel_diff(r[at], r[at + 1]), 1e-10) << what << " gradient of input " << i;
      }

      // float32: the fused op against the float64 composite.
      Net net32(cell, c, DType::f32, 7);
      const std::vector<Output> f32 = fused_rnn(net32.root, cell, net32.in, net32.opts);
      Session s32(net32.g, SessionOptions{1});
      const std::vector<Tensor> r32 = s32.run(net32.feeds, f32);
      for (size_t k = 0; k < f32.size(); ++k)
        EXPECT_LT(max_rel_diff(r32[k], r[2 * k + 1]), 3e-5) << what << " float32 output " << k;
    }
  }
}

// Host-side helpers for the semantic tests below (float64 tensors [B, T, ...]).
Tensor rows_of(const Tensor& t, int64_t b, int64_t t0, int64_t t1) {
  // t[b, t0:t1, :] as [1, t1-t0, d]
  const int64_t T = t.dim(1), d = t.dim(2);
  Tensor r(DType::f64, {1, t1 - t0, d});
  for (int64_t i = t0; i < t1; ++i)
    for (int64_t j = 0; j < d; ++j) r.data<double>()[(i - t0) * d + j] = t.as_double((b * T + i) * d + j);
  return r;
}
Tensor row_of(const Tensor& t, int64_t b) {  // t[b:b+1, :]
  const int64_t d = t.dim(1);
  Tensor r(DType::f64, {1, d});
  for (int64_t j = 0; j < d; ++j) r.data<double>()[j] = t.as_double(b * d + j);
  return r;
}
Tensor reversed_in_time(const Tensor& t) {
  const int64_t B = t.dim(0), T = t.dim(1), d = t.dim(2);
  Tensor r(DType::f64, t.shape());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < d; ++j)
        r.data<double>()[(b * T + i) * d + j] = t.as_double((b * T + T - 1 - i) * d + j);
  return r;
}
bool all_zero(const Tensor& t) {
  for (int64_t i = 0; i < t.num_elements(); ++i)
    if (t.as_double(i) != 0.0) return false;
  return true;
}

// Runs the fused op (float64) on explicit values: in = x, states, weights.
std::vector<Tensor> run_fused(RnnCell cell, std::vector<Tensor> in, const RnnOptions& base,
                              const Tensor& mask = Tensor(), const Tensor& lengths = Tensor()) {
  Graph g;
  Scope root(g);
  std::vector<Output> ph;
  FeedList feeds;
  for (const Tensor& v : in) {
    ph.push_back(ops::placeholder(root, DType::f64, v.shape()));
    feeds.emplace_back(ph.back(), v);
  }
  RnnOptions o = base;
  if (mask.valid()) {
    o.mask = ops::placeholder(root, mask.dtype(), mask.shape());
    feeds.emplace_back(o.mask, mask);
  }
  if (lengths.valid()) {
    o.sequence_lengths = ops::placeholder(root, lengths.dtype(), lengths.shape());
    feeds.emplace_back(o.sequence_lengths, lengths);
  }
  const std::vector<Output> y = fused_rnn(root, cell, ph, o);
  Session sess(g);
  return sess.run(feeds, y);
}

std::vector<Tensor> values_of(const Net& net) {
  std::vector<Tensor> v;
  for (size_t i = 0; i < net.in.size(); ++i) v.push_back(net.feeds[i].second);
  return v;
}

// ONNX sequence_lens: row b behaves exactly as the op run on x[b, :len] alone, forward or
// reverse; the outputs past the end are zeros and the final state is that of the last
// valid step (the initial state for length 0).
TEST(RnnOps, SequenceLengthsEqualRunsOnTruncatedSequences) {
  const int64_t lengths[] = {5, 2, 0};
  for (RnnCell cell : kCells) {
    for (bool reverse : {false, true}) {
      Config c;
      const Net net(cell, c, DType::f64, 11);
      const std::vector<Tensor> v = values_of(net);
      RnnOptions o;
      o.reverse = reverse;
      o.zero_output_for_mask = true;
      const std::vector<Tensor> all = run_fused(cell, v, o, Tensor(), test_lengths());
      const int n_states = cell == RnnCell::lstm ? 2 : 1;
      for (int64_t b = 0; b < kB; ++b) {
        const std::string what = std::string(testing::cell_name(cell)) + (reverse ? " reverse" : "") +
                                 " row " + std::to_string(b);
        const int64_t len = lengths[b];
        EXPECT_TRUE(all_zero(rows_of(all[0], b, len, kT))) << what;
        if (len == 0) {
          for (int k = 0; k < n_states; ++k)
            EXPECT_TRUE(row_of(all[1 + k], b).equals(row_of(v[1 + k], b))) << what;
          continue;
        }
        std::vector<Tensor> alone = {rows_of(v[0], b, 0, len)};
        for (int k = 0; k < n_states; ++k) alone.push_back(row_of(v[1 + k], b));
        alone.insert(alone.end(), v.begin() + 1 + n_states, v.end());
        RnnOptions plain;
        plain.reverse = reverse;
        const std::vector<Tensor> one = run_fused(cell, alone, plain);
        EXPECT_LT(max_rel_diff(rows_of(all[0], b, 0, len), one[0]), 1e-14) << what;
        for (int k = 0; k < n_states; ++k)
          EXPECT_LT(max_rel_diff(row_of(all[1 + k], b), one[1 + k]), 1e-14) << what << " state " << k;
      }
    }
  }
}

// Keras masking: a masked step keeps every state and repeats the previous output (zeros
// before the first valid step); the valid steps compute exactly what the op computes on
// the valid steps alone. With zero_output_for_mask the masked outputs are zeros instead.
TEST(RnnOps, MaskedStepsCarryStatesAndRepeatOutputs) {
  for (RnnCell cell : kCells) {
    for (bool zero : {false, true}) {
      const std::string what = std::string(testing::cell_name(cell)) + (zero ? " zero" : " carry");
      Config c;
      const Net net(cell, c, DType::f64, 13);
      const std::vector<Tensor> v = values_of(net);
      RnnOptions o;
      o.zero_output_for_mask = zero;
      const std::vector<Tensor> r = run_fused(cell, v, o, test_mask());
      const Tensor& seq = r[0];
      const int n_states = cell == RnnCell::lstm ? 2 : 1;
      // Row 1: mask 0 1 1 0 1.
      EXPECT_TRUE(all_zero(rows_of(seq, 1, 0, 1))) << what;
      if (zero) {
        EXPECT_TRUE(all_zero(rows_of(seq, 1, 3, 4))) << what;
      } else {
        EXPECT_TRUE(rows_of(seq, 1, 3, 4).equals(rows_of(seq, 1, 2, 3))) << what;
      }
      // The valid steps 1, 2, 4 alone.
      Tensor x1(DType::f64, {1, 3, kF});
      const int64_t steps[] = {1, 2, 4};
      for (int i = 0; i < 3; ++i)
        for (int64_t j = 0; j < kF; ++j)
          x1.data<double>()[i * kF + j] = v[0].as_double((1 * kT + steps[i]) * kF + j);
      std::vector<Tensor> alone = {x1};
      for (int k = 0; k < n_states; ++k) alone.push_back(row_of(v[1 + k], 1));
      alone.insert(alone.end(), v.begin() + 1 + n_states, v.end());
      const std::vector<Tensor> one = run_fused(cell, alone, RnnOptions());
      for (int i = 0; i < 3; ++i)
        EXPECT_LT(max_rel_diff(rows_of(seq, 1, steps[i], steps[i] + 1), rows_of(one[0], 0, i, i + 1)), 1e-14)
            << what << " step " << steps[i];
      for (int k = 0; k < n_states; ++k) {
        EXPECT_LT(max_rel_diff(row_of(r[1 + k], 1), one[1 + k]), 1e-14) << what;
        // Row 2 is all masked: its states stay the initial ones and its outputs are zeros.
        EXPECT_TRUE(row_of(r[1 + k], 2).equals(row_of(v[1 + k], 2))) << what;
      }
      EXPECT_TRUE(all_zero(rows_of(seq, 2, 0, kT))) << what;
      // Row 0 is all valid: the same as without a mask.
      const std::vector<Tensor> unmasked = run_fused(cell, v, RnnOptions());
      EXPECT_TRUE(rows_of(seq, 0, 0, kT).equals(rows_of(unmasked[0], 0, 0, kT))) << what;
    }
  }
}

// reverse reads x[:, T-1] first and keeps outputs in input order; it equals the forward op
// on the time-reversed input with its outputs reversed back. go_backwards (reverse plus
// reverse_sequence_output) equals the forward op on the reversed input as it is.
TEST(RnnOps, ReverseAndGoBackwardsMatchTheForwardOpOnReversedInput) {
  for (RnnCell cell : kCells) {
    const std::string what = testing::cell_name(cell);
    Config c;
    const Net net(cell, c, DType::f64, 17);
    std::vector<Tensor> v = values_of(net);
    RnnOptions rev, back;
    rev.reverse = true;
    back.reverse = back.reverse_sequence_output = true;
    const std::vector<Tensor> r = run_fused(cell, v, rev);
    const std::vector<Tensor> gb = run_fused(cell, v, back);
    v[0] = reversed_in_time(v[0]);
    const std::vector<Tensor> f = run_fused(cell, v, RnnOptions());
    EXPECT_LT(max_rel_diff(reversed_in_time(r[0]), f[0]), 1e-14) << what;
    EXPECT_LT(max_rel_diff(gb[0], f[0]), 1e-14) << what;
    for (size_t k = 1; k < r.size(); ++k) {
      EXPECT_LT(max_rel_diff(r[k], f[k]), 1e-14) << what;
      EXPECT_LT(max_rel_diff(gb[k], f[k]), 1e-14) << what;
    }
  }
}

// Results do not depend on the number of threads: steps split by units (64 x 64) and by
// rows (1024 x 16), forward and every gradient, with a mask and reversed.
TEST(RnnOps, OneAndTwoThreadsGiveTheSameBits) {
  for (RnnCell cell : kCells) {
    for (const auto& [B, U] : {std::pair<int64_t, int64_t>{64, 64}, {1024, 16}}) {
      for (bool masked : {false, true}) {
        const std::string what = std::string(testing::cell_name(cell)) + " B" + std::to_string(B) +
                                 " U" + std::to_string(U) + (masked ? " masked" : "");
        Config c;
        c.units = U;
        c.reverse = masked;
        c.peepholes = masked && cell == RnnCell::lstm;
        Net net(cell, c, DType::f32, 5, B, 6, 8);
        if (masked) {
          Tensor m(DType::boolean, {B, 6});
          for (int64_t i = 0; i < m.num_elements(); ++i) m.data<bool>()[i] = (i * 7) % 5 != 0;
          net.opts.mask = ops::placeholder(net.root, DType::boolean, {-1, 6});
          net.feeds.emplace_back(net.opts.mask, m);
        }
        const std::vector<Output> y = fused_rnn(net.root, cell, net.in, net.opts);
        Output loss = ops::sum(net.root, ops::square(net.root, y[0]));
        for (size_t k = 1; k < y.size(); ++k) loss = ops::add(net.root, loss, ops::sum(net.root, y[k]));
        std::vector<TensorRef> fetches(y.begin(), y.end());
        for (const Output& g : gradients(net.root, {loss}, net.in)) fetches.push_back(g);
        Session one(net.g, SessionOptions{1}), two(net.g, SessionOptions{2});
        const std::vector<Tensor> a = one.run(net.feeds, fetches);
        const std::vector<Tensor> b = two.run(net.feeds, fetches);
        for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].equals(b[i])) << what << " fetch " << i;
      }
    }
  }
}

// NaN reaches every output that depends on it, and nothing else; a masked step's input is
// not read (as Keras' tf.where does not).
TEST(RnnOps, NaNPropagatesExceptThroughMaskedSteps) {
  for (RnnCell cell : kCells) {
    for (const RnnActivation& act : {RnnActivation::tanh(), RnnActivation::relu(), RnnActivation::hard_sigmoid()}) {
      const std::string what = std::string(testing::cell_name(cell)) + " " + act.name();
      Config c;
      c.act = c.rec = act;
      const Net net(cell, c, DType::f64, 19);
      std::vector<Tensor> v = values_of(net);
      v[0].data<double>()[(0 * kT + 2) * kF + 1] = NAN;  // row 0, step 2
      RnnOptions o;
      o.activation = o.recurrent_activation = act;
      const std::vector<Tensor> r = run_fused(cell, v, o);
      for (int64_t t = 0; t < kT; ++t) {
        const Tensor out = rows_of(r[0], 0, t, t + 1);
        for (int64_t j = 0; j < out.num_elements(); ++j)
          EXPECT_EQ(std::isnan(out.as_double(j)), t >= 2) << what << " t " << t << " unit " << j;
      }
      for (int64_t j = 0; j < r[0].num_elements() / kB; ++j)
        EXPECT_FALSE(std::isnan(r[0].as_double(kT * r[0].dim(2) + j))) << what << " row 1";
      // Mask that step out: everything stays finite.
      Tensor m = Tensor::from_vector<bool>(std::vector<bool>(kB * kT, true), {kB, kT});
      m.data<bool>()[2] = false;
      const std::vector<Tensor> masked = run_fused(cell, v, o, m);
      for (const Tensor& t : masked)
        for (int64_t j = 0; j < t.num_elements(); ++j) EXPECT_FALSE(std::isnan(t.as_double(j))) << what;
    }
  }
}

// A GRU with one unit computed by hand (Keras' equations, reset_after and not).
TEST(RnnOps, GruOneUnitByHand) {
  // kernel [1,3] = (1, -2, 3), recurrent [1,3] = (-0.5, 2, -1.1), biases, x = (1, 0.5), h0 = 0.3
  const double k[3] = {1, -2, 3}, rk[3] = {-0.5, 2, -1.1}, bi[3] = {0.1, -0.2, 0.3}, br[3] = {0.05, 0.4, -0.6};
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (bool after : {true, false}) {
    double h = 0.3;
    std::vector<double> want;
    for (double x : {1.0, 0.5}) {
      double z, r, hh;
      if (after) {
        z = sig(x * k[0] + bi[0] + h * rk[0] + br[0]);
        r = sig(x * k[1] + bi[1] + h * rk[1] + br[1]);
        hh = std::tanh(x * k[2] + bi[2] + r * (h * rk[2] + br[2]));
      } else {
        z = sig(x * k[0] + bi[0] + h * rk[0]);
        r = sig(x * k[1] + bi[1] + h * rk[1]);
        hh = std::tanh(x * k[2] + bi[2] + (r * h) * rk[2]);
      }
      h = z * h + (1 - z) * hh;
      want.push_back(h);
    }
    const Tensor bias = after ? Tensor::from_vector<double>({bi[0], bi[1], bi[2], br[0], br[1], br[2]}, {2, 3})
                              : Tensor::from_vector<double>({bi[0], bi[1], bi[2]}, {3});
    const std::vector<Tensor> r = run_fused(
        after ? RnnCell::gru_after : RnnCell::gru_before,
        {Tensor::from_vector<double>({1.0, 0.5}, {1, 2, 1}), Tensor::from_vector<double>({0.3}, {1, 1}),
         Tensor::from_vector<double>({k[0], k[1], k[2]}, {1, 3}),
         Tensor::from_vector<double>({rk[0], rk[1], rk[2]}, {1, 3}), bias},
        RnnOptions());
    EXPECT_NEAR(r[0].as_double(0), want[0], 1e-14) << after;
    EXPECT_NEAR(r[0].as_double(1), want[1], 1e-14) << after;
    EXPECT_NEAR(r[1].as_double(0), want[1], 1e-14) << after;
  }
}

// Empty batch, sequence, features or units: outputs of the right (empty) shapes, states
// passed through, gradients of the right shapes (zeros where nothing flows).
TEST(RnnOps, EmptyDimensionsWork) {
  struct Dims4 {
    int64_t b, t, f, u;
  };
  for (RnnCell cell : kCells) {
    for (const Dims4& d : {Dims4{0, 3, 2, 4}, Dims4{2, 0, 2, 4}, Dims4{2, 3, 0, 4}, Dims4{2, 3, 2, 0}}) {
      for (bool masked : {false, true}) {
        const std::string what = std::string(testing::cell_name(cell)) + " B" + std::to_string(d.b) + " T" +
                                 std::to_string(d.t) + " F" + std::to_string(d.f) + " U" + std::to_string(d.u);
        Config c;
        c.units = d.u;
        c.lengths = masked;
        c.zero = masked;
        c.reverse = masked;
        Net net(cell, c, DType::f64, 3, d.b, d.t, d.f);
        if (masked) net.feeds.back().second = Tensor::filled(DType::i32, {d.b}, static_cast<double>(d.t));
        const std::vector<Output> y = fused_rnn(net.root, cell, net.in, net.opts);
        Output loss = ops::sum(net.root, y[0]);
        for (size_t k = 1; k < y.size(); ++k) loss = ops::add(net.root, loss, ops::sum(net.root, y[k]));
        std::vector<TensorRef> fetches(y.begin(), y.end());
        for (const Output& g : gradients(net.root, {loss}, net.in)) fetches.push_back(g);
        Session sess(net.g);
        std::vector<Tensor> r;
        ASSERT_NO_THROW(r = sess.run(net.feeds, fetches)) << what;
        EXPECT_EQ(r[0].shape(), (Shape{d.b, d.t, d.u})) << what;
        for (size_t k = 1; k < y.size(); ++k) {
          EXPECT_EQ(r[k].shape(), (Shape{d.b, d.u})) << what;
          if (d.t == 0) EXPECT_TRUE(r[k].equals(net.feeds[k].second)) << what;  // the initial state
        }
        for (size_t i = 0; i < net.in.size(); ++i)
          EXPECT_EQ(r[y.size() + i].shape(), net.feeds[i].second.shape()) << what << " gradient " << i;
      }
    }
  }
}

// Every option survives a graph file: the forward ops and their gradient ops are written
// with their attrs and extra inputs, imported into a fresh graph, and give the same bits.
TEST(RnnOps, GraphFileRoundTripKeepsEveryOption) {
  testing::TempDir dir("rnn_graph");
  std::vector<std::pair<RnnCell, Config>> cases = {{RnnCell::lstm, configs()[15]},
                                                   {RnnCell::gru_before, configs()[6]},
                                                   {RnnCell::gru_after, configs()[11]},
                                                   {RnnCell::simple, configs()[8]}};
  cases[0].second.cell_act = RnnActivation::scaled_tanh(1.1, 0.9);
  cases[1].second.act = RnnActivation::hard_sigmoid(0.3, 0.4);
  for (const auto& [cell, config] : cases) {
    const std::string what = testing::cell_name(cell);
    const std::string path = dir / (what + ".json");
    std::vector<std::string> fetch_names;
    std::vector<std::pair<std::string, Tensor>> feed_names;
    std::vector<Tensor> want;
    {
      Net net(cell, config, DType::f64, 3);
      const std::vector<Output> ys = fused_rnn(net.root.sub("rnn"), cell, net.in, net.opts);
      std::vector<Output> all = ys;
      const std::vector<Output> grads = gradients(net.root, {ops::sum(net.root, ys[0])}, net.in);
      all.insert(all.end(), grads.begin(), grads.end());
      for (const Output& o : all) fetch_names.push_back(o.name());
      Session sess(net.g);
      want = sess.run(net.feeds, fetch_names);
      std::vector<Output> fed = net.in;
      if (net.mask.valid()) fed.push_back(net.mask);
      if (net.lengths.valid()) fed.push_back(net.lengths);
      for (const Output& o : fed)
        for (const auto& [ref, value] : net.feeds)
          if (ref.resolve(net.g) == o) feed_names.emplace_back(o.name(), value);
      io::write_graph(net.g, path);
    }
    Graph g2;
    io::import_graph_file(g2, path);
    FeedList feeds;
    for (const auto& [name, value] : feed_names) feeds.emplace_back(name, value);
    Session s2(g2);
    const std::vector<Tensor> got = s2.run(feeds, fetch_names);
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(got[i].equals(want[i])) << what << " " << fetch_names[i];
    if (cell != RnnCell::lstm) continue;
    bool found = false;
    for (const Operation& op : g2.operations()) {
      if (op.type() != "LSTMGrad") continue;
      found = true;
      EXPECT_EQ(op.node()->attr<std::string>("cell_activation"), "scaled_tanh");
      EXPECT_EQ(op.node()->attr<std::vector<double>>("cell_activation_params"), (std::vector<double>{1.1, 0.9}));
      EXPECT_TRUE(op.node()->attr<bool>("peepholes"));
      EXPECT_EQ(op.node()->attr<std::string>("masking"), "sequence_lengths");
    }
    EXPECT_TRUE(found);
  }
}

TEST(RnnActivation, NamesFromKerasAndOnnx) {
  EXPECT_EQ(RnnActivation::from_name("hard_sigmoid"), RnnActivation::hard_sigmoid(0.2, 0.5));
  EXPECT_EQ(RnnActivation::from_name("HardSigmoid"), RnnActivation::hard_sigmoid());
  EXPECT_EQ(RnnActivation::from_name("LeakyRelu"), RnnActivation::leaky_relu(0.01));
  EXPECT_EQ(RnnActivation::from_name("ThresholdedRelu", 2.0, 7.0), RnnActivation::thresholded_relu(2.0));
  EXPECT_EQ(RnnActivation::from_name("ScaledTanh", 0.5, 3.0), RnnActivation::scaled_tanh(0.5, 3.0));
  EXPECT_EQ(RnnActivation::from_name("Affine", 2.0, -1.0), RnnActivation::affine(2.0, -1.0));
  EXPECT_EQ(RnnActivation("Tanh"), RnnActivation::tanh());
  EXPECT_EQ(RnnActivation("linear"), RnnActivation::linear());
  EXPECT_EQ(RnnActivation::from_name("Elu", 0.5, 0.0).alpha, 0.5);
  EXPECT_EQ(RnnActivation::scaled_tanh().name(), "scaled_tanh");
  EXPECT_EQ(RnnActivation::hard_sigmoid().to_string(), "hard_sigmoid(alpha=0.2, beta=0.5)");
  const std::string msg = error_of<InvalidArgument>([] { RnnActivation::from_name("swish"); });
  EXPECT_TRUE(testing::contains(msg, "swish") && testing::contains(msg, "softsign")) << msg;
}

TEST(RnnOps, BadInputsAreTypedErrors) {
  Graph g;
  Scope root(g);
  auto ph = [&](DType dt, const Shape& s) { return ops::placeholder(root, dt, s); };
  const DType f = DType::f32;
  Output x = ph(f, {2, 3, 4}), h = ph(f, {2, 5}), k = ph(f, {4, 15}), r = ph(f, {5, 15});
  EXPECT_NO_THROW(ops::gru(root, x, h, k, r, ph(f, {2, 15})));
  EXPECT_NO_THROW(ops::gru(root, x, h, k, r, ph(f, {15}), false));
  // reset_after wants [2, 3U].
  std::string msg = error_of<InvalidArgument>([&] { ops::gru(root.named("gb"), x, h, k, r, ph(f, {15})); });
  EXPECT_TRUE(testing::contains(msg, "gb") && testing::contains(msg, "bias")) << msg;
  msg = error_of<InvalidArgument>([&] { ops::gru(root.named("gk"), x, h, ph(f, {4, 14}), r, ph(f, {2, 15})); });
  EXPECT_TRUE(testing::contains(msg, "kernel [4,14]") && testing::contains(msg, "3*units")) << msg;
  msg = error_of<InvalidArgument>([&] { ops::simple_rnn(root.named("sr"), x, h, ph(f, {4, 5}), ph(f, {5, 6}), ph(f, {5})); });
  EXPECT_TRUE(testing::contains(msg, "sr") && testing::contains(msg, "recurrent_kernel [5,6]")) << msg;
  // Options that do not apply, or conflict.
  RnnOptions peep;
  peep.peepholes = ph(f, {15});
  EXPECT_THROW(ops::gru(root, x, h, k, r, ph(f, {2, 15}), true, peep), InvalidArgument);
  RnnOptions both;
  both.mask = ph(DType::boolean, {2, 3});
  both.sequence_lengths = ph(DType::i32, {2});
  msg = error_of<InvalidArgument>([&] { ops::gru(root, x, h, k, r, ph(f, {2, 15}), true, both); });
  EXPECT_TRUE(testing::contains(msg, "not both")) << msg;
  RnnOptions bad_mask;
  bad_mask.mask = ph(DType::boolean, {2, 4});
  msg = error_of<InvalidArgument>([&] { ops::gru(root.named("bm"), x, h, k, r, ph(f, {2, 15}), true, bad_mask); });
  EXPECT_TRUE(testing::contains(msg, "bm") && testing::contains(msg, "mask [2,4]")) << msg;
  RnnOptions float_lengths;
  float_lengths.sequence_lengths = ph(f, {2});
  EXPECT_THROW(ops::gru(root, x, h, k, r, ph(f, {2, 15}), true, float_lengths), InvalidArgument);
  RnnOptions clip;
  clip.clip = -1;
  EXPECT_THROW(ops::gru(root, x, h, k, r, ph(f, {2, 15}), true, clip), InvalidArgument);

  // Run-time checks: lengths out of range, a mask of the wrong batch.
  Output xs = ph(f, {-1, 3, 4}), hs = ph(f, {-1, 5}), len = ph(DType::i32, {-1}), m = ph(DType::boolean, {-1, 3});
  RnnOptions lo, mo;
  lo.sequence_lengths = len;
  mo.mask = m;
  const std::vector<Output> yl = ops::gru(root.named("late_len"), xs, hs, k, r, ph(f, {2, 15}), true, lo);
  const std::vector<Output> ym = ops::simple_rnn(root.named("late_mask"), xs, hs, ph(f, {4, 5}), ph(f, {5, 5}), ph(f, {5}), mo);
  Session sess(g);
  FeedList feeds = {{xs, Tensor::zeros(f, {2, 3, 4})}, {hs, Tensor::zeros(f, {2, 5})}, {k, Tensor::zeros(f, {4, 15})},
                    {r, Tensor::zeros(f, {5, 15})}};
  for (const Operation& op : g.operations())
    if (op.type() == "Placeholder" && op.output(0) != xs && op.output(0) != hs && op.output(0) != k &&
        op.output(0) != r && op.output(0) != len && op.output(0) != m && op.output(0).shape().is_fully_defined())
      feeds.emplace_back(op.output(0), Tensor::zeros(op.output(0).dtype(), op.output(0).shape()));
  FeedList fl = feeds;
  fl.emplace_back(len, Tensor::from_vector<int32_t>({1, 4}, {2}));
  msg = error_of<InvalidArgument>([&] { sess.run(fl, {yl[0]}); });
  EXPECT_TRUE(testing::contains(msg, "late_len") && testing::contains(msg, "sequence_lengths[1] = 4")) << msg;
  FeedList fm = feeds;
  fm.emplace_back(m, Tensor::zeros(DType::boolean, {3, 3}));
  msg = error_of<InvalidArgument>([&] { sess.run(fm, {ym[0]}); });
  EXPECT_TRUE(testing::contains(msg, "late_mask") && testing::contains(msg, "[3,3]")) << msg;
}

TEST(RnnOps, UnsupportedGradientsAreUnimplemented) {
  Graph g;
  Scope root(g);
  auto ph = [&](const Shape& s) { return ops::placeholder(root, DType::f64, s); };
  Output x = ph({2, 3, 4}), h = ph({2, 5});
  RnnOptions o;
  o.activation = RnnActivation::leaky_relu(-0.5);  // not invertible: forward only
  const std::vector<Output> y = ops::simple_rnn(root.named("neg"), x, h, ph({4, 5}), ph({5, 5}), ph({5}), o);
  std::string msg = error_of<Unimplemented>([&] { gradients(root, {ops::sum(root, y[0])}, {x}); });
  EXPECT_TRUE(testing::contains(msg, "neg") && testing::contains(msg, "leaky_relu")) << msg;
  const std::vector<Output> gy = ops::gru(root.named("gi"), x, h, ph({4, 15}), ph({5, 15}), ph({2, 15}));
  msg = error_of<Unimplemented>([&] { gradients(root, {ops::sum(root, gy[0].op().output(2))}, {x}); });
  EXPECT_TRUE(testing::contains(msg, "gi") && testing::contains(msg, "gates")) << msg;
}

}  // namespace
}  // namespace sluice
