// The TensorFlow artifacts that needed the array / nn / math ops added after the first
// import round: the tf2onnx LSTM and GRU (StridedSlice, Pack, Unpack, Floor, run-time
// shapes), ds_cnn_s from Mfcc:0 (DepthwiseConv2dNative), half_plus_two_mkl's
// serving_default (StridedSlice) and the nnfusion depthwise / pad / padv2 graphs. Each is
// checked against its known result or an independent float64 computation (the recurrent
// cells written out from TF's definitions with the weights read out of the graph's Consts).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "sluice/sluice.h"
#include "test_util.h"
#include "tf_reference.h"
#include "tf_test_util.h"

using namespace sluice;
using sluice::testing::error_of;
using namespace sluice::testing::tfref;

namespace {

// Row-major float64 matrix helpers for the recurrent references.
using Vec = std::vector<double>;

Vec const_values(const Graph& g, const std::string& name, std::vector<int64_t>* dims = nullptr) {
  const Tensor t = g.operation(name).node()->attr<Tensor>("value");
  if (dims) *dims = t.shape().dims();
  Vec v;
  for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(t.as_double(i));
  return v;
}

// [B, K] x [K, N] + bias [N]
Vec affine(const Vec& a, int64_t B, int64_t K, const Vec& w, int64_t N, const Vec& bias) {
  Vec y(static_cast<size_t>(B * N));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      double s = bias[j];
      for (int64_t k = 0; k < K; ++k) s += a[b * K + k] * w[k * N + j];
      y[b * N + j] = s;
    }
  return y;
}

// [B, n1] ++ [B, n2] along the last axis.
Vec concat_cols(const Vec& a, int64_t n1, const Vec& b, int64_t n2, int64_t B) {
  Vec y;
  for (int64_t r = 0; r < B; ++r) {
    y.insert(y.end(), a.begin() + r * n1, a.begin() + (r + 1) * n1);
    y.insert(y.end(), b.begin() + r * n2, b.begin() + (r + 1) * n2);
  }
  return y;
}

double sigm(double x) { return 1 / (1 + std::exp(-x)); }

// X [B, T*I] (reshaped to [B, T, I]) fed row by row (model/unstack along axis 1) through TF 1.x's BasicLSTMCell
// (forget_bias 1: c' = c*s(f+1) + s(i)*tanh(j), h' = tanh(c')*s(o), gates i, j, f, o) or
// GRUCell (r, u = s([x,h] Wg + bg); c = tanh([x, r*h] Wc + bc); h' = u*h + (1-u)*c), then
// pred = h_T w1 + b1 (dropout with keep_prob 1 is the identity).
Vec rnn_reference(const Graph& g, bool lstm, const Tensor& x, int64_t B, int64_t T, int64_t I) {
  std::vector<int64_t> wd, w1d;
  const Vec w = const_values(g, lstm ? "rnn/basic_lstm_cell/kernel" : "rnn/gru_cell/gates/kernel", &wd);
  const Vec bias = const_values(g, lstm ? "rnn/basic_lstm_cell/bias" : "rnn/gru_cell/gates/bias");
  const int64_t H = wd[0] - I;
  Vec wc, bc;
  if (!lstm) wc = const_values(g, "rnn/gru_cell/candidate/kernel"), bc = const_values(g, "rnn/gru_cell/candidate/bias");
  Vec h(static_cast<size_t>(B * H), 0.0), c(static_cast<size_t>(B * H), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    Vec xt;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < I; ++i) xt.push_back(x.as_double((b * T + t) * I + i));
    const Vec z = affine(concat_cols(xt, I, h, H, B), B, I + H, w, wd[1], bias);
    if (lstm) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < H; ++k) {
          const double* zb = &z[b * 4 * H];
          double& cc = c[b * H + k];
          cc = cc * sigm(zb[2 * H + k] + 1.0) + sigm(zb[k]) * std::tanh(zb[H + k]);
          h[b * H + k] = std::tanh(cc) * sigm(zb[3 * H + k]);
        }
    } else {
      Vec rh(static_cast<size_t>(B * H));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < H; ++k) rh[b * H + k] = sigm(z[b * 2 * H + k]) * h[b * H + k];
      const Vec cand = affine(concat_cols(xt, I, rh, H, B), B, I + H, wc, H, bc);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < H; ++k) {
          const double u = sigm(z[b * 2 * H + H + k]);
          h[b * H + k] = u * h[b * H + k] + (1 - u) * std::tanh(cand[b * H + k]);
        }
    }
  }
  const Vec w1 = const_values(g, "model/w1", &w1d), b1 = const_values(g, "model/b1");
  return affine(h, B, H, w1, w1d[1], b1);
}

void expect_close(const Tensor& y, const Vec& r, double rel) {
  ASSERT_EQ(y.num_elements(), static_cast<int64_t>(r.size()));
  double scale = 1e-30;
  for (double v : r) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(y.as_double(static_cast<int64_t>(i)), r[i], rel * scale) << i;
}

TEST(TfArtifactsRnn, LstmAndGruAgainstFloat64Cells) {
  for (const bool lstm : {true, false}) {
    SLUICE_INTEROP_OR_SKIP(pb, lstm ? "tf2onnx/lstm/frozen.pb" : "tf2onnx/gru/frozen.pb");
    // X's batch is unknown in the file; dropout's RandomUniform needs its shape when the
    // graph is built, so X is input-mapped to a placeholder with a known batch.
    for (const int64_t B : {int64_t{1}, int64_t{3}}) {
      Graph g;
      Scope root(g);
      const int64_t T = 28, I = 28;
      Output x = ops::placeholder(root.named("x"), DType::f32, {B, T * I});
      const Output pred = io::import_tf_graph_def(g, pb, {"", {{"X:0", x}}, {"output:0"}}).tensors[0];
      const Tensor xv = random_input(Shape{B, T * I}, lstm ? 11 : 12);
      const Tensor y = Session(g).run({{x, xv}, {g.tensor("keep_prob:0"), Tensor(1.0f)}}, {pred})[0];
      EXPECT_EQ(y.shape(), (Shape{B, 10}));
      expect_close(y, rnn_reference(g, lstm, xv, B, T, I), 2e-5);
      // keep_prob 0.5: dropout is live (Floor(keep_prob + U) masks, survivors scaled by 2),
      // so the output differs from the keep_prob 1 one.
      const Tensor yd = Session(g).run({{x, xv}, {g.tensor("keep_prob:0"), Tensor(0.5f)}}, {pred})[0];
      double diff = 0;
      for (int64_t i = 0; i < y.num_elements(); ++i) diff += std::abs(y.as_double(i) - yd.as_double(i));
      EXPECT_GT(diff, 1e-3);
    }
  }
}

TEST(TfArtifactsRnn, UnknownBatchNeedsAKnownShapeForDropout) {
  // Imported as it is (X [?, 784]), everything up to the dropout reads its shapes at run
  // time; dropout's RandomUniform cannot: the exact error says what to do.
  SLUICE_INTEROP_OR_SKIP(pb, "tf2onnx/lstm/frozen.pb");
  Graph g;
  EXPECT_EQ(error_of<Unimplemented>([&] { io::import_tf_graph_def(g, pb); }),
            "GraphDef '" + pb + "': node 'model/dropout/random_uniform/RandomUniform' (RandomUniform): the shape "
            "input (known when building the graph: input-map a placeholder with a known batch size) must be a "
            "constant (here it is computed at run time by 'model/dropout/Shape:0')");
  EXPECT_TRUE(g.operations().empty());
  // The recurrent part itself runs with the unknown batch (shapes read at run time).
  Graph g2;
  const Output last = io::import_tf_graph_def(g2, pb, {"", {}, {"model/rnn/basic_lstm_cell/Mul_83:0"}}).tensors[0];
  const Tensor h = Session(g2).run({{"X:0", random_input(Shape{2, 28 * 28}, 3)}}, {last})[0];
  EXPECT_EQ(h.shape(), (Shape{2, 128}));
}

TEST(TfArtifactsKws, DsCnnSFromMfccAgainstFloat64) {
  SLUICE_INTEROP_OR_SKIP(pb, "more/ds_cnn_s/DS_CNN_S.pb");
  Graph g;
  Scope root(g);
  Output mfcc = ops::placeholder(root.named("mfcc"), DType::f32, {-1, 49, 10});
  const Output out = io::import_tf_graph_def(g, pb, {"", {{"Mfcc:0", mfcc}}, {"labels_softmax:0"}}).tensors[0];
  const Tensor x = random_input(Shape{2, 49, 10}, 21);
  const Tensor y = Session(g).run({{mfcc, x}}, {out})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 12}));
  Arr ax{{2, 49, 10}, {}};
  for (int64_t i = 0; i < x.num_elements(); ++i) ax.v.push_back(x.as_double(i));
  Reference ref({{"mfcc", ax}});
  const Arr r = ref.eval(out);
  expect_close(y, r.v, 2e-5);
  for (int b = 0; b < 2; ++b) {
    double s = 0;
    for (int c = 0; c < 12; ++c) s += y.as_double(b * 12 + c);
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  // The whole graph (from a WAV string) needs the audio ops: the exact error.
  Graph g2;
  const std::string msg = error_of<Unimplemented>([&] { io::import_tf_graph_def(g2, pb); });
  EXPECT_TRUE(sluice::testing::contains(
      msg, "TensorFlow op types Sluice does not support (each with its first node): AudioSpectrogram (first node "
           "'AudioSpectrogram'), DecodeWav (first node 'decoded_sample_data'), Mfcc (first node 'Mfcc')"))
      << msg;
}

TEST(TfArtifactsServing, HalfPlusTwoMklServingDefault) {
  // y = a*x + b + strided_slice(Conv2D(zeros) + bias, shrink 15) with a = 0.5, b = 2 and
  // zero biases: 0.5 x + 2, through resource variables restored from the bundle.
  SLUICE_INTEROP_OR_SKIP(dir, "more/half_plus_two_mkl/00000123");
  io::LoadedModel m = io::load_model(dir);
  EXPECT_EQ(m.signature_names(), (std::vector<std::string>{"regress_x2_to_y3", "serving_default"}));
  EXPECT_EQ(io::inspect_tf_saved_model(dir).meta_graphs[0].signatures.at("serving_default").unsupported, "");
  const Tensor x = Tensor::from_vector<float>({1, 2, 5, -4}, {4, 1});
  EXPECT_EQ(m.run("serving_default", {{"x", x}}).at("y").to_vector<float>(), (std::vector<float>{2.5f, 3, 4.5f, 0}));
}

// ---- nnfusion single-op graphs: values against float64 loops ----

Tensor run_single(const std::string& pb, Graph& g, const std::vector<std::pair<std::string, Tensor>>& feeds,
                  const std::string& out) {
  io::import_tf_graph_def(g, pb);
  FeedList f;
  for (const auto& [name, t] : feeds) f.emplace_back(g.tensor(name), t);
  return Session(g).run(f, {g.tensor(out)})[0];
}

std::string placeholder_named(const Graph& g, int which) {
  int k = 0;
  for (const Operation& op : g.operations())
    if (op.type() == "Placeholder" && k++ == which) return op.name() + ":0";
  return "";
}

TEST(TfArtifactsNnfusion, DepthwiseConv2dAgainstFloat64) {
  SLUICE_INTEROP_OR_SKIP(pb, "more/nnfusion_ops/frozen_depthwise_conv2d_graph.pb");
  Graph probe;
  io::import_tf_graph_def(probe, pb);
  const Output in = probe.tensor(placeholder_named(probe, 0)), filt = probe.tensor(placeholder_named(probe, 1));
  std::vector<int64_t> xd = in.shape().dims(), fd = filt.shape().dims();
  for (auto& d : xd) d = d < 0 ? 2 : d;
  ASSERT_EQ(fd.size(), 4u);
  const Tensor x = random_input(Shape(xd), 31), w = random_input(Shape(fd), 32);
  const std::string out = probe.operations().back().name() + ":0";
  Graph g;
  const Tensor y = run_single(pb, g, {{in.name(), x}, {filt.name(), w}}, out);
  Arr ax{xd, {}}, aw{fd, {}};
  for (int64_t i = 0; i < x.num_elements(); ++i) ax.v.push_back(x.as_double(i));
  for (int64_t i = 0; i < w.num_elements(); ++i) aw.v.push_back(w.as_double(i));
  Reference ref({{in.node()->name, ax}, {filt.node()->name, aw}});
  const Arr r = ref.eval(g.tensor(out));
  EXPECT_EQ(y.shape().dims(), r.dims);
  expect_close(y, r.v, 1e-5);
}

TEST(TfArtifactsNnfusion, PadAndPadV2AgainstLoops) {
  for (const std::string file : {"frozen_pad_graph.pb", "frozen_padv2_graph.pb"}) {
    SLUICE_INTEROP_OR_SKIP(pb, "more/nnfusion_ops/" + file);
    Graph g;
    io::import_tf_graph_def(g, pb);
    Operation pad;
    for (const Operation& op : g.operations())
      if (op.type() == "Pad") pad = op;
    ASSERT_TRUE(pad.node()) << file;
    const Output in = g.tensor(placeholder_named(g, 0));
    std::vector<int64_t> xd = in.shape().dims();
    for (auto& d : xd) d = d < 0 ? 2 : d;
    const Tensor x = random_input(Shape(xd), 41);
    const Tensor p = pad.node()->inputs[1].node()->attr<Tensor>("value");
    double cv = 0;
    if (pad.node()->inputs.size() > 2) cv = pad.node()->inputs[2].node()->attr<Tensor>("value").as_double(0);
    const Tensor y = Session(g).run({{in, x}}, {g.operations().back().output(0)})[0];
    // Loop over the output: inside the input's box -> x, else the constant.
    const int64_t r = static_cast<int64_t>(xd.size());
    std::vector<int64_t> od(xd.size());
    for (int64_t d = 0; d < r; ++d) od[d] = xd[d] + static_cast<int64_t>(p.as_double(2 * d) + p.as_double(2 * d + 1));
    ASSERT_EQ(y.shape().dims(), od) << file;
    for (int64_t i = 0; i < y.num_elements(); ++i) {
      int64_t rem = i, src = 0, stride = 1;
      bool inside = true;
      for (int64_t d = r - 1; d >= 0; --d) {
        const int64_t o = rem % od[d] - static_cast<int64_t>(p.as_double(2 * d));
        rem /= od[d];
        inside = inside && o >= 0 && o < xd[d];
        src += o * stride;
        stride *= xd[d];
      }
      ASSERT_EQ(y.as_double(i), inside ? x.as_double(src) : cv) << file << " " << i;
    }
  }
}

}  // namespace
