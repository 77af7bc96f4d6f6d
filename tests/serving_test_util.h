// Models the serving tests publish as version folders: TF Serving's half_plus_two /
// half_plus_three built as Sluice bundles, and small seeded MLPs.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <sluice/sluice.h>

#include "test_util.h"
#include "tf_test_util.h"

namespace sluice::testing {

// TF Serving's half_plus_two family as a Sluice bundle: variables a = 0.5, b = `plus`,
// c = 3; signatures serving_default {x: "x:0" f32 `x_shape`} -> {y: "y:0" = a*x + b} and
// regress_x2_to_y3 {inputs: "x2:0" f32 [-1,1]} -> {outputs: "y3:0" = a*x2 + c}.
inline void save_half_plus(const std::string& dir, float plus, const Shape& x_shape = Shape{-1, 1}) {
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, x_shape);
  Output x2 = ops::placeholder(root.named("x2"), DType::f32, {-1, 1});
  Output a = ops::variable(root.named("a"), {}, DType::f32, Initializer::constant(0.5));
  Output b = ops::variable(root.named("b"), {}, DType::f32, Initializer::constant(plus));
  Output c = ops::variable(root.named("c"), {}, DType::f32, Initializer::constant(3.0));
  Output y = ops::add(root.named("y"), ops::mul(root, a, x), b);
  Output y3 = ops::add(root.named("y3"), ops::mul(root, a, x2), c);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  io::save_model(dir, sess,
                 {{"serving_default", {{{"x", x}}, {{"y", y}}}},
                  {"regress_x2_to_y3", {{{"inputs", x2}}, {{"outputs", y3}}}}});
}

// A small MLP [-1,4] -> relu 16 -> softmax 3, weights from `seed`; signature serving_default
// {x} -> {probs, logits}.
inline void save_mlp(const std::string& dir, int64_t seed) {
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
  Graph g;
  g.set_random_seed(seed);
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 4});
  layers::Dense hidden(16, Activation::relu);
  layers::Dense out(3);
  Output logits = out(root, hidden(root, x));
  Output probs = ops::softmax(root, logits);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  io::save_model(dir, sess, {{"serving_default", {{{"x", x}}, {{"probs", probs}, {"logits", logits}}}}});
}

// ../shared/interop/tf_serving (tf_test_util.h finds ../shared/interop), or "" when absent.
inline std::string tf_serving_interop_dir() {
  const std::string base = interop_dir();
  if (base.empty() || !std::filesystem::is_directory(base + "/tf_serving")) return "";
  return base + "/tf_serving";
}

}  // namespace sluice::testing
