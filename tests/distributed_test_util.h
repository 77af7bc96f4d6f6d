// Shared by the distributed tests (tests/test_distributed*.cc): a small model trained either
// data-parallel (each rank its shard, Distributed optimizer) or in one process on the full
// batch, so the two can be compared weight by weight.
#pragma once

#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sluice::testing {

struct ToyData {
  Tensor x, y;  // f32 [n, 12], one-hot f32 [n, 4]
};

inline ToyData toy_data(int64_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  ToyData d{Tensor(DType::f32, {n, 12}), Tensor::zeros(DType::f32, {n, 4})};
  for (int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int64_t j = 0; j < 12; ++j) {
      const float v = nd(rng);
      d.x.data<float>()[i * 12 + j] = v;
      s += v * static_cast<float>(j % 4 + 1);
    }
    d.y.data<float>()[i * 4 + (static_cast<int64_t>(std::fabs(s) * 3) % 4)] = 1.0f;
  }
  return d;
}

enum class ToyOpt { sgd, adam };

// Trains 12-16(-BN)-relu-4-softmax for `steps` steps; returns the trainable and moving
// weights by name. distributed: rank r of N trains on its shard (distributed::shard_order)
// with batch `batch`; else one process on the full order with batch `batch`.
inline std::map<std::string, Tensor> train_toy(bool distributed, ToyOpt opt, int steps, int64_t batch,
                                               bool batch_norm, bool sync_bn, int64_t seed = 3) {
  const int64_t n = 320;
  const ToyData data = toy_data(n);
  Graph g;
  g.set_random_seed(seed);
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 12});
  Output y = ops::placeholder(root.named("y"), DType::f32, {-1, 4});
  // Before batch norm no bias (its gradient is 0 up to rounding): as Keras models do.
  layers::Dense d1(16, batch_norm ? Activation::linear : Activation::tanh, !batch_norm);
  layers::Dense d2(4, Activation::softmax);
  Output h = d1(root, x);
  if (batch_norm) {
    layers::BatchNormalization bn(-1, 0.9, 1e-3, true, true, "", sync_bn);
    h = ops::relu(root, bn(root, h));
  }
  Output loss = ops::mean(root, losses::categorical_crossentropy(root, y, d2(root, h)));
  Operation train;
  if (distributed) {
    train = opt == ToyOpt::sgd ? optimizers::Distributed(optimizers::SGD(0.2)).minimize(root, loss)
                               : optimizers::Distributed(optimizers::Adam(0.01)).minimize(root, loss);
  } else {
    train = opt == ToyOpt::sgd ? optimizers::SGD(0.2).minimize(root, loss)
                               : optimizers::Adam(0.01).minimize(root, loss);
  }
  Session sess(g, SessionOptions{1});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  // Initial weights from the name alone: random initializers draw from the graph seed and
  // node ids, which differ between model variants (sync batch norm adds nodes).
  for (const Operation& v : g.trainable_variables()) {
    Tensor w(DType::f32, v.output(0).shape());
    for (int64_t i = 0; i < w.num_elements(); ++i)
      w.data<float>()[i] = 0.4f * std::sin(0.7f * static_cast<float>(i) + static_cast<float>(v.name().size()));
    sess.set_variable_value(v.name(), w);
  }
  if (distributed) sluice::distributed::broadcast_variables(sess);
  const std::vector<int64_t> order = distributed ? sluice::distributed::shard_order(n, 11, 0)
                                                 : sluice::distributed::epoch_order(n, 11, 0);
  for (int s = 0; s < steps; ++s) {
    const size_t b = static_cast<size_t>(s * batch), e = b + static_cast<size_t>(batch);
    sess.run({{x, io::gather_rows(data.x, order, b, e)},
              {y, io::gather_rows(data.y, order, b, e)},
              {learning_phase(g), Tensor(true)}},
             {}, {train});
  }
  std::map<std::string, Tensor> w;
  for (const Operation& v : g.global_variables())
    if (v.output(0).dtype() == DType::f32) w[v.name()] = sess.variable_value(v.name());
  return w;
}

// max over variables of ||a - b|| / max(||b||, 1e-12).
inline double max_relative_difference(const std::map<std::string, Tensor>& a,
                                      const std::map<std::string, Tensor>& b) {
  double worst = 0;
  for (const auto& kv : b) {
    auto it = a.find(kv.first);
    if (it == a.end()) return 1e300;
    double d = 0, nb = 0;
    for (int64_t i = 0; i < kv.second.num_elements(); ++i) {
      const double u = it->second.data<float>()[i], v = kv.second.data<float>()[i];
      d += (u - v) * (u - v);
      nb += v * v;
    }
    worst = std::max(worst, std::sqrt(d) / std::max(std::sqrt(nb), 1e-12));
  }
  return worst;
}

}  // namespace sluice::testing
