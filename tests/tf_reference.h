// An independent float64 evaluator for the TF-import artifact tests: plain loops over the
// imported graph's nodes and constants (no Sluice kernels), for the op types the artifacts
// use, and a check that compares a Sluice run with it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/sluice.h"

namespace sluice::testing::tfref {

// ---- an independent float64 evaluator for the op types of the artifacts ----

struct Arr {
  std::vector<int64_t> dims;
  std::vector<double> v;
};

class Reference {
 public:
  explicit Reference(std::map<std::string, Arr> feeds) : memo_(std::move(feeds)) {}

  Arr eval(const Output& x) {
    const Node* n = x.node();
    auto it = memo_.find(n->name);
    if (it != memo_.end()) return it->second;
    Arr r = compute(*n);
    memo_[n->name] = r;
    return r;
  }

 private:
  static int64_t count(const std::vector<int64_t>& d) {
    int64_t c = 1;
    for (int64_t x : d) c *= x;
    return c;
  }
  Arr compute(const Node& n) {
    const std::string& op = n.op_type();
    auto in = [&](int i) { return eval(n.inputs[i]); };
    if (op == "Const") {
      const Tensor& t = n.attr<Tensor>("value");
      Arr a{t.shape().dims(), {}};
      for (int64_t i = 0; i < t.num_elements(); ++i) a.v.push_back(t.as_double(i));
      return a;
    }
    if (op == "Identity") return in(0);
    if (op == "Relu" || op == "Sigmoid") {
      Arr a = in(0);
      for (double& x : a.v) x = op == "Relu" ? std::max(x, 0.0) : 1 / (1 + std::exp(-x));
      return a;
    }
    if (op == "BiasAdd" || op == "Add") {
      Arr a = in(0), b = in(1);
      const size_t m = b.v.size();  // bias / same-shape or trailing broadcast
      for (size_t i = 0; i < a.v.size(); ++i) a.v[i] += b.v[i % m];
      return a;
    }
    if (op == "MatMul") {
      const Arr a = in(0), b = in(1);
      const int64_t M = a.dims[0], K = a.dims[1], N = b.dims[1];
      Arr c{{M, N}, std::vector<double>(static_cast<size_t>(M * N), 0.0)};
      for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < N; ++j) c.v[i * N + j] += a.v[i * K + k] * b.v[k * N + j];
      return c;
    }
    if (op == "Reshape") {
      Arr a = in(0);
      std::vector<int64_t> d = n.attr<std::vector<int64_t>>("shape");
      int64_t known = 1, unk = -1;
      for (size_t i = 0; i < d.size(); ++i) (d[i] < 0 ? unk = static_cast<int64_t>(i) : known *= d[i]);
      if (unk >= 0) d[unk] = static_cast<int64_t>(a.v.size()) / known;
      a.dims = d;
      return a;
    }
    if (op == "Conv2D" || op == "MaxPool" || op == "AvgPool" || op == "DepthwiseConv2dNative") {
      const Arr x = in(0);
      const bool conv = op == "Conv2D", dw = op == "DepthwiseConv2dNative", avg = op == "AvgPool";
      const Arr w = conv || dw ? in(1) : Arr{};
      const auto strides = n.attr<std::vector<int64_t>>("strides");
      const std::vector<int64_t> k =
          conv || dw ? std::vector<int64_t>{w.dims[0], w.dims[1]} : n.attr<std::vector<int64_t>>("ksize");
      const bool same = n.attr<std::string>("padding") == "SAME";
      const int64_t N = x.dims[0], H = x.dims[1], W = x.dims[2], C = x.dims[3];
      const int64_t M = dw ? w.dims[3] : 1, F = conv ? w.dims[3] : C * M;
      // TF: SAME out = ceil(in / s), padding split with the smaller half first.
      auto out_dim = [&](int64_t in_, int64_t kk, int64_t s, int64_t* pad) {
        const int64_t o = same ? (in_ + s - 1) / s : (in_ - kk + s) / s;
        *pad = same ? std::max<int64_t>((o - 1) * s + kk - in_, 0) / 2 : 0;
        return o;
      };
      int64_t pt, pl;
      const int64_t OH = out_dim(H, k[0], strides[0], &pt), OW = out_dim(W, k[1], strides[1], &pl);
      const bool is_max = op == "MaxPool";
      Arr y{{N, OH, OW, F}, std::vector<double>(static_cast<size_t>(N * OH * OW * F), is_max ? -INFINITY : 0.0)};
      for (int64_t b = 0; b < N; ++b)
        for (int64_t oy = 0; oy < OH; ++oy)
          for (int64_t ox = 0; ox < OW; ++ox) {
            double* py = &y.v[((b * OH + oy) * OW + ox) * F];
            int64_t taps = 0;
            for (int64_t i = 0; i < k[0]; ++i)
              for (int64_t j = 0; j < k[1]; ++j) {
                const int64_t iy = oy * strides[0] - pt + i, ix = ox * strides[1] - pl + j;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                ++taps;
                const double* px = &x.v[((b * H + iy) * W + ix) * C];
                for (int64_t c = 0; c < C; ++c) {
                  if (is_max) {
                    py[c] = std::max(py[c], px[c]);
                  } else if (avg) {
                    py[c] += px[c];
                  } else if (dw) {
                    for (int64_t m = 0; m < M; ++m) py[c * M + m] += px[c] * w.v[((i * k[1] + j) * C + c) * M + m];
                  } else {
                    for (int64_t f = 0; f < F; ++f) py[f] += px[c] * w.v[((i * k[1] + j) * C + c) * F + f];
                  }
                }
              }
            if (avg)  // TF averages over the taps inside the image
              for (int64_t c = 0; c < C; ++c) py[c] /= static_cast<double>(taps);
          }
      return y;
    }
    if (op == "FusedBatchNorm") {  // inference: (x - mean) / sqrt(var + eps) * scale + offset
      Arr x = in(0);
      const Arr scale = in(1), offset = in(2), mean = in(3), var = in(4);
      if (in(5).v.at(0) != 0) throw std::runtime_error("reference: FusedBatchNorm in training");
      const double eps = n.attr<double>("epsilon");
      const size_t C = scale.v.size();
      for (size_t i = 0; i < x.v.size(); ++i) {
        const size_t c = i % C;
        x.v[i] = (x.v[i] - mean.v[c]) / std::sqrt(var.v[c] + eps) * scale.v[c] + offset.v[c];
      }
      return x;
    }
    if (op == "Squeeze") {
      Arr a = in(0);
      std::vector<int64_t> d;
      const auto axes = n.attr<std::vector<int64_t>>("axes");
      const int64_t r = static_cast<int64_t>(a.dims.size());
      for (int64_t i = 0; i < r; ++i) {
        bool drop = axes.empty() && a.dims[i] == 1;
        for (int64_t ax : axes) drop = drop || (ax + r) % r == i;
        if (!drop) d.push_back(a.dims[i]);
      }
      a.dims = d;
      return a;
    }
    if (op == "Softmax") {  // over the last axis
      Arr a = in(0);
      const size_t C = static_cast<size_t>(a.dims.back());
      for (size_t r0 = 0; r0 < a.v.size(); r0 += C) {
        double m = -INFINITY, sum = 0;
        for (size_t c = 0; c < C; ++c) m = std::max(m, a.v[r0 + c]);
        for (size_t c = 0; c < C; ++c) sum += std::exp(a.v[r0 + c] - m);
        for (size_t c = 0; c < C; ++c) a.v[r0 + c] = std::exp(a.v[r0 + c] - m) / sum;
      }
      return a;
    }
    throw std::runtime_error("reference: no evaluation for " + op + " (" + n.name + ")");
  }
  std::map<std::string, Arr> memo_;
};

inline Tensor random_input(const Shape& shape, uint32_t seed) {
  Tensor t(DType::f32, shape);
  uint32_t s = seed;
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    s = s * 1664525u + 1013904223u;
    p[i] = static_cast<float>((s >> 8) % 1000) / 1000.0f;
  }
  return t;
}

// Imports `file`, runs `output` on a random batch fed to `input`, and compares with the
// float64 evaluation: agreement to float32 precision (relative to the output's scale).
inline void check_against_reference(const std::string& file, const std::string& input, const std::string& output,
                             const Shape& in_shape) {
  Graph g;
  io::import_tf_graph_def(g, file);
  const Tensor x = random_input(in_shape, 7);
  const Tensor y = Session(g).run({{input, x}}, {output})[0];
  Arr ax{in_shape.dims(), {}};
  for (int64_t i = 0; i < x.num_elements(); ++i) ax.v.push_back(x.as_double(i));
  Reference ref({{g.tensor(input).node()->name, ax}});
  const Arr r = ref.eval(g.tensor(output));
  ASSERT_EQ(static_cast<int64_t>(r.v.size()), y.num_elements());
  double scale = 1e-30;
  for (double v : r.v) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < r.v.size(); ++i) ASSERT_NEAR(y.as_double(static_cast<int64_t>(i)), r.v[i], 2e-5 * scale) << i;
}


}  // namespace sluice::testing::tfref
