// The recurrent layers beyond the LSTM basics (test_lstm.cc): GRU, SimpleRNN, LSTM's
// go_backwards / recurrent_activation / masks, Bidirectional and Embedding. Each gets its
// weight names, a forward reference (float64 networks composed from primitive ops, or
// Keras' own published numbers), a numeric gradient check through its variables, and a
// checkpoint round trip; plus masking end to end (Embedding(mask_zero) -> Bidirectional).
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "rnn_composite.h"
#include "test_util.h"

namespace sluice {
namespace {

using testing::composite_rnn;
using testing::error_of;
using testing::RnnCell;

using sluice::testing::random_tensor;

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

std::vector<std::string> names_of(const std::vector<Operation>& ops) {
  std::vector<std::string> r;
  for (const Operation& op : ops) r.push_back(op.name());
  return r;
}

// The composed reference for a layer's cell, on explicit values.
std::vector<Tensor> reference(RnnCell cell, const std::vector<Tensor>& in, const ops::RnnOptions& o,
                              const Tensor& mask = Tensor()) {
  Graph g;
  Scope root(g);
  std::vector<Output> c;
  for (const Tensor& t : in) c.push_back(ops::constant(root, t.cast(DType::f64)));
  ops::RnnOptions opts = o;
  if (mask.valid()) opts.mask = ops::constant(root, mask);
  const std::vector<Output> y = composite_rnn(root, cell, c, opts);
  Session sess(g);
  return sess.run({}, y);
}

Tensor zeros_state(int64_t b, int64_t u) { return Tensor::zeros(DType::f64, {b, u}); }

// ---------------------------------------------------------------------------------------
// Names and shapes

TEST(RecurrentLayers, WeightsAreNamedAndShapedAsKeras) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 7, 3});
  layers::GRU after(4), before(4, "tanh", "sigmoid", true, false), no_bias(4, "tanh", "sigmoid", false);
  layers::SimpleRNN rnn(5);
  after(root, x);
  before(root.sub("block"), x);
  no_bias(root, x);
  rnn(root, x);
  EXPECT_EQ(names_of(after.weights()), (std::vector<std::string>{"gru/kernel", "gru/recurrent_kernel", "gru/bias"}));
  EXPECT_EQ(after.kernel().shape(), (Shape{3, 12}));
  EXPECT_EQ(after.recurrent_kernel().shape(), (Shape{4, 12}));
  EXPECT_EQ(after.bias().shape(), (Shape{2, 12}));
  EXPECT_EQ(before.bias().shape(), (Shape{12}));
  EXPECT_EQ(before.name(), "block/gru");
  EXPECT_EQ(names_of(no_bias.weights()), (std::vector<std::string>{"gru_1/kernel", "gru_1/recurrent_kernel"}));
  EXPECT_FALSE(no_bias.bias().valid());
  EXPECT_EQ(names_of(rnn.weights()),
            (std::vector<std::string>{"simple_rnn/kernel", "simple_rnn/recurrent_kernel", "simple_rnn/bias"}));
  EXPECT_EQ(rnn.recurrent_kernel().shape(), (Shape{5, 5}));

  layers::Bidirectional bi(layers::LSTM(6));
  Output y = bi(root, x);
  EXPECT_EQ(y.shape(), (Shape{-1, 12}));
  EXPECT_EQ(names_of(bi.weights()),
            (std::vector<std::string>{"bidirectional/forward_lstm/kernel", "bidirectional/forward_lstm/recurrent_kernel",
                                      "bidirectional/forward_lstm/bias", "bidirectional/backward_lstm/kernel",
                                      "bidirectional/backward_lstm/recurrent_kernel",
                                      "bidirectional/backward_lstm/bias"}));
  layers::GRU named(3, "tanh", "sigmoid", true, true, false, false, false, "enc");
  layers::Bidirectional bi2(named, layers::MergeMode::sum, "bi");
  EXPECT_EQ(bi2(root, x).shape(), (Shape{-1, 3}));
  EXPECT_EQ(bi2.forward_layer().name(), "bi/forward_enc");
  EXPECT_EQ(bi2.backward_layer().name(), "bi/backward_enc");
  EXPECT_TRUE(bi2.backward_layer().config().go_backwards);

  layers::Embedding emb(10, 4);
  Output ids = ops::placeholder(root.named("ids"), DType::i32, {-1, 7});
  EXPECT_EQ(emb(root, ids).shape(), (Shape{-1, 7, 4}));
  EXPECT_EQ(names_of(emb.weights()), (std::vector<std::string>{"embedding/embeddings"}));
}

// ---------------------------------------------------------------------------------------
// Forward references

// Keras' own result for a GRU(1, linear, no bias, reset_after, return_sequences) with
// kernel [[1, -2, 3]], recurrent_kernel [[-0.5, 2, -1.1]], x = [1, 0, 0] and initial state
// [[10]], as published with ../shared/interop/keras/fdeep_gru_initial_state (SOURCE.md).
TEST(RecurrentLayers, GruMatchesKerasPublishedNumbers) {
  Graph g;
  Scope root(g);
  layers::RecurrentConfig c;
  c.activation = "linear";
  c.use_bias = false;
  c.return_sequences = true;
  c.kernel_initializer = Initializer::constant(Tensor::from_vector<float>({1, -2, 3}, {1, 3}));
  c.recurrent_initializer = Initializer::constant(Tensor::from_vector<float>({-0.5f, 2, -1.1f}, {1, 3}));
  layers::GRU gru(1, c);
  Output x = ops::placeholder(root, DType::f32, {1, 3, 1});
  Output h0 = ops::placeholder(root, DType::f32, {1, 1});
  Output y = gru.call_with_state(root, x, {h0})[0];
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor r = sess.run({{x, Tensor::from_vector<float>({1, 0, 0}, {1, 3, 1})},
                             {h0, Tensor::from_vector<float>({10}, {1, 1})}},
                            {y})[0];
  const float keras[] = {-7.676248f, -7.5144324f, -7.3429837f};
  for (int t = 0; t < 3; ++t) EXPECT_NEAR(r.data<float>()[t], keras[t], 2e-6) << t;
}

struct LayerCase {
  std::string name;
  RnnCell cell;
  std::function<std::unique_ptr<layers::Recurrent>()> make;
};

std::vector<LayerCase> layer_cases() {
  auto cfg = [](bool seq, bool state, bool back) {
    layers::RecurrentConfig c;
    c.return_sequences = seq;
    c.return_state = state;
    c.go_backwards = back;
    c.bias_initializer = Initializer::random_uniform(-0.5, 0.5, 3);
    c.kernel_initializer = Initializer::glorot_uniform(4);
    c.recurrent_initializer = Initializer::orthogonal(1.0, 5);
    return c;
  };
  return {
      {"gru_reset_after_sequences_states", RnnCell::gru_after,
       [=] { return std::make_unique<layers::GRU>(6, cfg(true, true, false)); }},
      {"gru_reset_before_go_backwards_hard_sigmoid", RnnCell::gru_before,
       [=] {
         auto c = cfg(true, true, true);
         c.reset_after = false;
         c.recurrent_activation = "hard_sigmoid";
         return std::make_unique<layers::GRU>(6, c);
       }},
      {"simple_rnn_relu_last", RnnCell::simple,
       [=] {
         auto c = cfg(false, true, false);
         c.activation = "relu";
         return std::make_unique<layers::SimpleRNN>(6, c);
       }},
      {"simple_rnn_go_backwards_sequences", RnnCell::simple,
       [=] { return std::make_unique<layers::SimpleRNN>(6, cfg(true, false, true)); }},
      {"lstm_go_backwards_hard_sigmoid", RnnCell::lstm,
       [=] {
         auto c = cfg(true, true, true);
         c.recurrent_activation = "hard_sigmoid";
         return std::make_unique<layers::LSTM>(6, c);
       }},
      {"lstm_no_bias_last", RnnCell::lstm,
       [=] {
         auto c = cfg(false, false, false);
         c.use_bias = false;
         return std::make_unique<layers::LSTM>(6, c);
       }},
  };
}

// Each layer against the composed network on its own weights, with and without a mask
// (rows: all valid, masked at the start and in the middle, all masked).
TEST(RecurrentLayers, MatchComposedReferenceWithAndWithoutMask) {
  const int64_t B = 3, T = 5, F = 4;
  const Tensor mask = Tensor::from_vector<bool>({1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0}, {B, T});
  for (const LayerCase& lc : layer_cases()) {
    for (bool masked : {false, true}) {
      const std::string what = lc.name + (masked ? " masked" : "");
      Graph g;
      Scope root(g);
      std::unique_ptr<layers::Recurrent> layer = lc.make();
      Output x = ops::placeholder(root.named("x"), DType::f64, {-1, T, F});
      Output m = ops::placeholder(root.named("m"), DType::boolean, {-1, T});
      const std::vector<Output> y = layer->call_with_state(root, x, {}, masked ? m : Output());
      Session sess(g);
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      const Tensor xv = random_tensor(DType::f64, {B, T, F}, 8);
      std::vector<TensorRef> fetches(y.begin(), y.end());
      fetches.push_back(layer->kernel());
      fetches.push_back(layer->recurrent_kernel());
      const std::vector<Tensor> r = sess.run({{x, xv}, {m, mask}}, fetches);
      const size_t nw = y.size();
      const int64_t U = layer->units();
      const layers::RecurrentConfig& c = layer->config();
      Tensor bias = layer->bias().valid() ? sess.run({}, {layer->bias()})[0]
                                          : Tensor::zeros(DType::f64, lc.cell == RnnCell::gru_after
                                                                          ? Shape{2, 3 * U}
                                                                          : Shape{testing::cell_gates(lc.cell) * U});
      std::vector<Tensor> in = {xv, zeros_state(B, U)};
      if (lc.cell == RnnCell::lstm) in.push_back(zeros_state(B, U));
      in.insert(in.end(), {r[nw], r[nw + 1], bias});
      ops::RnnOptions o;
      o.activation = c.activation;
      o.recurrent_activation = c.recurrent_activation;
      o.reverse = o.reverse_sequence_output = c.go_backwards;
      const std::vector<Tensor> want = reference(lc.cell, in, o, masked ? mask : Tensor());
      // Keras' last output: the output of the last processed step.
      Tensor last(DType::f64, {B, U});
      const int64_t pos = T - 1;  // processing order (go_backwards) or input order: the last one
      for (int64_t b = 0; b < B; ++b)
        for (int64_t u = 0; u < U; ++u) last.data<double>()[b * U + u] = want[0].as_double((b * T + pos) * U + u);
      EXPECT_LT(max_rel_diff(r[0], c.return_sequences ? want[0] : last), 1e-12) << what;
      ASSERT_EQ(nw, c.return_state ? want.size() : 1u) << what;
      for (size_t k = 1; k < nw; ++k) EXPECT_LT(max_rel_diff(r[k], want[k]), 1e-12) << what << " state " << k;
    }
  }
}

// With a mask, the last output of a row with no valid step is zeros (Keras), while its
// state stays the initial one.
TEST(RecurrentLayers, FullyMaskedRowGivesZeroOutputAndInitialState) {
  Graph g;
  Scope root(g);
  layers::RecurrentConfig c;
  c.return_state = true;
  layers::GRU gru(3, c);
  Output x = ops::placeholder(root, DType::f32, {2, 4, 2});
  Output h0 = ops::placeholder(root, DType::f32, {2, 3});
  Output m = ops::placeholder(root, DType::f32, {2, 4});  // numbers: nonzero means valid
  const std::vector<Output> y = gru.call_with_state(root, x, {h0}, m);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor hv = random_tensor(DType::f32, {2, 3}, 2);
  const std::vector<Tensor> r =
      sess.run({{x, random_tensor(DType::f32, {2, 4, 2}, 1)}, {h0, hv},
                {m, Tensor::from_vector<float>({1, 0, 1, 0, 0, 0, 0, 0}, {2, 4})}},
               {y[0], y[1]});
  for (int u = 0; u < 3; ++u) {
    EXPECT_EQ(r[0].data<float>()[3 + u], 0.0f);
    EXPECT_EQ(r[1].data<float>()[3 + u], hv.data<float>()[3 + u]);
    EXPECT_EQ(r[0].data<float>()[u], r[1].data<float>()[u]);  // row 0: last output = state
  }
}

// ---------------------------------------------------------------------------------------
// Numeric gradients through the layers' variables

// L = sum(y * w): autodiff with respect to x (if given) and every trainable variable
// against central differences, perturbing the feed and the variables' values.
void expect_layer_gradients(const std::string& what, const Shape& x_shape, DType x_dtype,
                            const std::function<Tensor()>& x_value,
                            const std::function<Output(const Scope&, const Output&)>& build,
                            bool check_x = true) {
  Graph g;
  g.set_random_seed(11);
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), x_dtype, x_shape);
  Output y = build(root, x);
  Session sess(g, SessionOptions{1});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = x_value();
  const Tensor y0 = sess.run({{x, xv}}, {y})[0];
  Output loss = ops::sum(root, ops::mul(root, y, ops::constant(root, random_tensor(DType::f64, y0.shape(), 12, 0.5, 1.5))));
  std::vector<Operation> vars = g.trainable_variables();
  std::vector<Output> wrt;
  if (check_x) wrt.push_back(x);
  for (const Operation& v : vars) wrt.push_back(v.output(0));
  const std::vector<Output> grads = gradients(root, {loss}, wrt);
  auto loss_at = [&](const Tensor& xt) { return sess.run({{x, xt}}, {loss})[0].scalar<double>(); };
  const double h = 1e-6;
  double worst = 0;
  int64_t checked = 0;
  for (size_t i = 0; i < wrt.size(); ++i) {
    ASSERT_TRUE(grads[i].valid()) << what << " " << wrt[i].name();
    const Tensor analytic = sess.run({{x, xv}}, {grads[i]})[0];
    const bool is_x = check_x && i == 0;
    const std::string var = is_x ? "" : vars[i - (check_x ? 1 : 0)].name();
    const Tensor base = is_x ? xv : sess.variable_value(var);
    for (int64_t j = 0; j < base.num_elements(); ++j) {
      Tensor p = base.clone();
      auto at = [&](double delta) {
        p.data<double>()[j] = base.data<double>()[j] + delta;
        if (is_x) return loss_at(p);
        sess.set_variable_value(var, p);
        return loss_at(xv);
      };
      const double numeric = (at(h) - at(-h)) / (2 * h);
      if (!is_x) sess.set_variable_value(var, base);
      worst = std::max(worst, std::fabs(numeric - analytic.as_double(j)) / std::max(1.0, std::fabs(numeric)));
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << what;
  EXPECT_LT(worst, 1e-6) << what;
}

TEST(RecurrentLayers, GradientsMatchCentralDifferences) {
  const int64_t B = 2, T = 4, F = 3;
  const Tensor mask = Tensor::from_vector<bool>({1, 1, 0, 1, 0, 1, 1, 0}, {B, T});
  auto xval = [] { return random_tensor(DType::f64, {2, 4, 3}, 21); };
  for (const LayerCase& lc : layer_cases()) {
    for (bool masked : {false, true}) {
      expect_layer_gradients(lc.name + (masked ? " masked" : ""), {B, T, F}, DType::f64, xval,
                             [&](const Scope& s, const Output& x) {
                               std::unique_ptr<layers::Recurrent> keep = lc.make();
                               const std::vector<Output> r =
                                   keep->call_with_state(s, x, {}, masked ? ops::constant(s, mask) : Output());
                               std::vector<Output> flat;
                               for (const Output& o : r) flat.push_back(ops::reshape(s, o, {B, -1}));
                               return ops::concat(s, flat, 1);
                             });
    }
  }
  for (layers::MergeMode mode : {layers::MergeMode::concat, layers::MergeMode::ave, layers::MergeMode::mul}) {
    expect_layer_gradients("bidirectional", {B, T, F}, DType::f64, xval, [&](const Scope& s, const Output& x) {
      layers::Bidirectional bi(layers::GRU(3, "tanh", "sigmoid", true, true, true), mode);
      return bi(s, x, ops::constant(s, mask));
    });
  }
  expect_layer_gradients(
      "embedding", {B, T}, DType::i32, [] { return Tensor::from_vector<int32_t>({0, 3, 1, 3, 4, 4, 2, 0}, {2, 4}); },
      [](const Scope& s, const Output& ids) {
        layers::Embedding emb(5, 3, true, "", Initializer::random_uniform(-0.05, 0.05), DType::f64);
        return emb(s, ids);
      },
      false);
}

// ---------------------------------------------------------------------------------------
// Save and restore

TEST(RecurrentLayers, CheckpointRoundTripGivesTheSameOutputs) {
  testing::TempDir dir("recurrent_layers");
  const std::string path = dir / "layers.ckpt";
  const Tensor ids = Tensor::from_vector<int32_t>({1, 2, 3, 0, 4, 4, 0, 0}, {2, 4});
  // Builds Embedding(mask_zero) -> Bidirectional(GRU sequences) -> GRU -> SimpleRNN under a
  // given random seed; returns the output.
  auto build = [&](Graph& g, int64_t seed) {
    g.set_random_seed(seed);
    Scope root(g);
    Output in = ops::placeholder(root.named("ids"), DType::i32, {-1, 4});
    auto emb = std::make_shared<layers::Embedding>(5, 3, true);
    auto bi = std::make_shared<layers::Bidirectional>(layers::GRU(4, "tanh", "sigmoid", true, false, true));
    auto gru = std::make_shared<layers::GRU>(3, "tanh", "hard_sigmoid", true, true, true);
    auto rnn = std::make_shared<layers::SimpleRNN>(2);
    layers::RecurrentConfig lc;
    lc.go_backwards = true;
    auto lstm = std::make_shared<layers::LSTM>(2, lc);
    const Output mask = emb->compute_mask(root, in);
    Output h = (*bi)(root, (*emb)(root, in), mask);
    h = (*gru)(root, h, mask);
    Output a = (*rnn)(root, h);
    Output b = (*lstm)(root, h);
    return std::make_pair(in, ops::concat(root, {a, b}, 1));
  };
  Graph g1;
  auto [in1, out1] = build(g1, 1);
  Session s1(g1);
  s1.run({}, {}, {ops::global_variables_initializer(Scope(g1))});
  const Tensor want = s1.run({{in1, ids}}, {out1})[0];
  io::Saver(g1).save(s1, path);

  Graph g2;
  auto [in2, out2] = build(g2, 99);  // other initial values, restored over
  Session s2(g2);
  s2.run({}, {}, {ops::global_variables_initializer(Scope(g2))});
  EXPECT_FALSE(s2.run({{in2, ids}}, {out2})[0].equals(want));
  io::Saver(g2).restore(s2, path);
  EXPECT_TRUE(s2.run({{in2, ids}}, {out2})[0].equals(want));
  EXPECT_EQ(g2.trainable_variables().size(), 1u + 6u + 3u + 3u + 3u);
}

// ---------------------------------------------------------------------------------------
// Bidirectional and Embedding

// Each merge mode against the two halves computed by hand: the forward half on x, the
// backward half on x reversed in time, its sequence reversed back.
TEST(Bidirectional, MergeModesAndStatesMatchTheTwoHalves) {
  const int64_t B = 2, T = 3, F = 2, U = 3;
  for (layers::MergeMode mode : {layers::MergeMode::concat, layers::MergeMode::sum, layers::MergeMode::mul,
                                 layers::MergeMode::ave, layers::MergeMode::none}) {
    for (bool seq : {true, false}) {
      Graph g;
      g.set_random_seed(4);
      Scope root(g);
      layers::Bidirectional bi(layers::LSTM(U, seq, true), mode);
      Output x = ops::placeholder(root, DType::f64, {-1, T, F});
      const std::vector<Output> y = bi.call_with_state(root, x);
      Session sess(g);
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      const Tensor xv = random_tensor(DType::f64, {B, T, F}, 3);
      std::vector<TensorRef> fetches(y.begin(), y.end());
      for (layers::Recurrent* l : {&bi.forward_layer(), &bi.backward_layer()})
        for (const Output& w : {l->kernel(), l->recurrent_kernel(), l->bias()}) fetches.push_back(w);
      const std::vector<Tensor> r = sess.run({{x, xv}}, fetches);
      const size_t n = y.size();
      ASSERT_EQ(n, mode == layers::MergeMode::none ? 6u : 5u);
      const Tensor z = zeros_state(B, U);
      ops::RnnOptions fwd, bwd;
      bwd.reverse = true;  // input order: what Keras gets after reversing the backward half
      const std::vector<Tensor> f = reference(RnnCell::lstm, {xv, z, z, r[n], r[n + 1], r[n + 2]}, fwd);
      const std::vector<Tensor> b = reference(RnnCell::lstm, {xv, z, z, r[n + 3], r[n + 4], r[n + 5]}, bwd);
      // The halves' outputs: the sequences, or the last outputs (the backward half's last
      // processed step reads x[:, 0]).
      const Tensor yf = seq ? f[0] : f[1], yb = seq ? b[0] : b[1];
      Tensor want(DType::f64, mode == layers::MergeMode::concat ? Shape{} : yf.shape());
      const int64_t rows = yf.num_elements() / U;
      if (mode == layers::MergeMode::concat) {
        std::vector<int64_t> dims = yf.shape().dims();
        dims.back() = 2 * U;
        want = Tensor(DType::f64, Shape(dims));
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t u = 0; u < U; ++u) {
            want.data<double>()[i * 2 * U + u] = yf.as_double(i * U + u);
            want.data<double>()[i * 2 * U + U + u] = yb.as_double(i * U + u);
          }
      } else {
        for (int64_t i = 0; i < yf.num_elements(); ++i) {
          const double a = yf.as_double(i), c = yb.as_double(i);
          want.data<double>()[i] = mode == layers::MergeMode::sum ? a + c
                                   : mode == layers::MergeMode::mul ? a * c
                                   : mode == layers::MergeMode::ave ? (a + c) / 2
                                                                    : a;
        }
      }
      const std::string what = std::string("mode ") + std::to_string(static_cast<int>(mode)) + (seq ? " seq" : "");
      EXPECT_LT(max_rel_diff(r[0], want), 1e-12) << what;
      size_t k = 1;
      if (mode == layers::MergeMode::none) EXPECT_LT(max_rel_diff(r[k++], yb), 1e-12) << what;
      for (const Tensor& s : {f[1], f[2], b[1], b[2]}) EXPECT_LT(max_rel_diff(r[k++], s), 1e-12) << what;
    }
  }
  Graph g;
  Scope root(g);
  layers::Bidirectional none(layers::GRU(2), layers::MergeMode::none);
  Output x = ops::placeholder(root, DType::f32, {-1, 3, 2});
  EXPECT_THROW(none(root, x), InvalidArgument);
  EXPECT_EQ(none.call_with_state(root, x).size(), 2u);
}

// Embedding(mask_zero) -> Bidirectional(LSTM): every post-padded row gives what the
// unpadded row gives alone, for the last output and for sequences (zeros at the padding).
TEST(Bidirectional, MaskedPaddingChangesNothing) {
  const std::vector<std::vector<int32_t>> rows = {{3, 1, 4, 1, 5}, {2, 7}, {6, 6, 2}, {}};
  const int64_t T = 5;
  for (bool seq : {false, true}) {
    Graph g;
    g.set_random_seed(8);
    Scope root(g);
    layers::Embedding emb(8, 3, true, "", Initializer::random_uniform(-1, 1), DType::f64);
    layers::Bidirectional bi(layers::LSTM(4, seq));
    Output ids = ops::placeholder(root.named("ids"), DType::i32, {-1, -1});
    Output y = bi(root, emb(root, ids), emb.compute_mask(root, ids));
    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    Tensor padded(DType::i32, {static_cast<int64_t>(rows.size()), T});
    for (size_t b = 0; b < rows.size(); ++b)
      for (int64_t t = 0; t < T; ++t)
        padded.data<int32_t>()[b * T + t] = t < static_cast<int64_t>(rows[b].size()) ? rows[b][t] : 0;
    const Tensor all = sess.run({{ids, padded}}, {y})[0];
    const int64_t W = 8;  // 2 * units
    for (size_t b = 0; b < rows.size(); ++b) {
      const int64_t len = static_cast<int64_t>(rows[b].size());
      Tensor alone;
      if (len > 0) alone = sess.run({{ids, Tensor::from_vector<int32_t>(rows[b], {1, len})}}, {y})[0];
      for (int64_t t = 0; t < (seq ? T : 1); ++t)
        for (int64_t u = 0; u < W; ++u) {
          const double got = all.as_double(seq ? (b * T + t) * W + u : b * W + u);
          const double want = t >= len ? 0.0 : alone.as_double(t * W + u);
          EXPECT_NEAR(got, want, 1e-13) << "row " << b << " t " << t << " u " << u << (seq ? " seq" : "");
        }
    }
  }
}

TEST(Embedding, LooksUpRowsAndMasksZeros) {
  Graph g;
  Scope root(g);
  const Tensor table = random_tensor(DType::f32, {4, 2}, 5);
  layers::Embedding emb(4, 2, true, "words", Initializer::constant(table)), plain(4, 2);
  Output ids = ops::placeholder(root, DType::i64, {-1, 3});
  Output fids = ops::placeholder(root, DType::f32, {-1, 3});  // floats holding ids, as Keras
  Output y = emb(root, ids), yf = emb(root, fids);
  Output m = emb.compute_mask(root, ids);
  EXPECT_FALSE(plain.compute_mask(root, ids).valid());
  EXPECT_EQ(m.dtype(), DType::boolean);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor iv = Tensor::from_vector<int64_t>({0, 3, 2, 1, 0, 3}, {2, 3});
  const std::vector<Tensor> r =
      sess.run({{ids, iv}, {fids, iv.cast(DType::f32)}}, {y, yf, m});
  for (int64_t i = 0; i < 6; ++i) {
    for (int64_t j = 0; j < 2; ++j)
      EXPECT_EQ(r[0].data<float>()[i * 2 + j], table.data<float>()[iv.data<int64_t>()[i] * 2 + j]);
    EXPECT_EQ(r[2].data<bool>()[i], iv.data<int64_t>()[i] != 0);
  }
  EXPECT_TRUE(r[1].equals(r[0]));
  // An id outside [0, input_dim) is an error naming the lookup, not a read out of bounds.
  EXPECT_THROW(sess.run({{ids, Tensor::from_vector<int64_t>({0, 4, 1}, {1, 3})}}, {y}), OutOfRange);
  EXPECT_THROW(layers::Embedding(0, 3), InvalidArgument);
  layers::Embedding bad(3, 2);
  EXPECT_THROW(bad(root, ops::placeholder(root, DType::boolean, {2})), InvalidArgument);
}

// A real training run: Embedding(mask_zero) -> Bidirectional(GRU) -> Dense learns whether a
// padded sequence holds more 1s than 2s.
TEST(RecurrentLayers, MaskedBidirectionalGruLearnsToCount) {
  Graph g;
  g.set_random_seed(2);
  Scope root(g);
  const int64_t T = 8, B = 32;
  Output ids = ops::placeholder(root.named("ids"), DType::i32, {-1, T});
  Output label = ops::placeholder(root.named("label"), DType::f32, {-1, 1});
  layers::Embedding emb(3, 8, true);
  layers::Bidirectional bi(layers::GRU(8));
  layers::Dense out(1, Activation::sigmoid);
  Output p = out(root, bi(root, emb(root, ids), emb.compute_mask(root, ids)));
  Output loss = ops::mean(root, losses::binary_crossentropy(root, label, p));
  optimizers::Adam adam(0.02);
  Operation train = adam.minimize(root, loss);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  std::mt19937 rng(4);
  auto batch = [&] {
    Tensor xb(DType::i32, {B, T}), yb(DType::f32, {B, 1});
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = 1 + static_cast<int64_t>(rng() % T);
      int diff = 0;
      for (int64_t t = 0; t < T; ++t) {
        const int32_t v = t < len ? 1 + static_cast<int32_t>(rng() % 2) : 0;
        xb.data<int32_t>()[b * T + t] = v;
        diff += v == 1 ? 1 : v == 2 ? -1 : 0;
      }
      yb.data<float>()[b] = diff > 0 ? 1.0f : 0.0f;
    }
    return FeedList{{ids, xb}, {label, yb}};
  };
  const FeedList test = batch();
  const float initial = sess.run(test, {loss})[0].scalar<float>();
  for (int step = 0; step < 200; ++step) sess.run(batch(), {}, {train});
  const float final_loss = sess.run(test, {loss})[0].scalar<float>();
  EXPECT_LT(final_loss, 0.35f * initial) << "initial " << initial;
}

TEST(RecurrentLayers, BadConfigurationsAreTypedErrors) {
  Graph g;
  Scope root(g);
  EXPECT_THROW(layers::GRU(0), InvalidArgument);
  EXPECT_THROW(layers::SimpleRNN(-2), InvalidArgument);
  EXPECT_THROW(layers::GRU(3, "swish"), InvalidArgument);
  layers::GRU gru(3);
  Output x = ops::placeholder(root, DType::f32, {-1, 4, 2});
  std::string msg = error_of<InvalidArgument>([&] { gru.call_with_state(root, x, {x, x}); });
  EXPECT_TRUE(testing::contains(msg, "initial state of 1")) << msg;
  msg = error_of<InvalidArgument>([&] { gru(root, x, ops::placeholder(root, DType::boolean, {-1, 5})); });
  EXPECT_TRUE(testing::contains(msg, "mask [?,5]")) << msg;
  layers::Bidirectional bi(layers::LSTM(2));
  msg = error_of<InvalidArgument>([&] { bi.call_with_state(root, x, {ops::placeholder(root, DType::f32, {-1, 2})}); });
  EXPECT_TRUE(testing::contains(msg, "forward then backward")) << msg;
}

}  // namespace
}  // namespace sluice
