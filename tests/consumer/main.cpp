// Built against an installed prefix (find_package and pkg-config): trains y = 2x + 1 with SGD.
#include <sluice/sluice.h>

#include <cmath>
#include <cstdio>

using namespace sluice;

int main() {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 1});
  Output y = ops::placeholder(root.named("y"), DType::f32, {-1, 1});
  layers::Dense line(1);
  Output pred = line(root, x);
  Output loss = ops::mean(root, losses::mean_squared_error(root, y, pred));
  optimizers::SGD sgd(0.1);
  Operation train = sgd.minimize(root, loss);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  Tensor xs = Tensor::from_vector(std::vector<float>{-1, 0, 1, 2}, {4, 1});
  Tensor ys = Tensor::from_vector(std::vector<float>{-1, 1, 3, 5}, {4, 1});
  for (int i = 0; i < 500; ++i) sess.run({{x, xs}, {y, ys}}, {}, {train});
  const float w = sess.run({}, {line.kernel()})[0].scalar<float>();
  const float b = sess.run({}, {line.bias()})[0].scalar<float>();
  std::printf("w=%.4f b=%.4f gemm=%s\n", w, b, gemm::backend_info().c_str());
  return std::fabs(w - 2) < 1e-3 && std::fabs(b - 1) < 1e-3 ? 0 : 1;
}
