// Gradient cases for the activation ops (ops/activation_ops.h): the fused ops, their
// gradient ops (second derivatives), and the composites.
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;

GradCase ranged(GradCase c, double low, double high) {
  c.low = low;
  c.high = high;
  return c;
}

std::vector<GradCase> activation_cases() {
  std::vector<GradCase> cases = {
      // Both kinks of relu6 (0 and 6) inside the range.
      ranged({"relu6", {{3, 5}}, [](const Scope& s, const X& x) { return ops::relu6(s, x[0]); }}, -2, 8),
      ranged({"relu6_grad", {{2, 4}, {2, 4}},
              [](const Scope& s, const X& x) {
                return NodeBuilder(s, "Relu6Grad").input(x[0]).input(x[1]).finish().output(0);
              }},
             -2, 8),
      {"leaky_relu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::leaky_relu(s, x[0]); }},
      {"leaky_relu_001", {{3, 4}}, [](const Scope& s, const X& x) { return ops::leaky_relu(s, x[0], 0.01); }},
      {"leaky_relu_grad", {{2, 3}, {2, 3}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "LeakyReluGrad").input(x[0]).input(x[1]).attr("alpha", 0.3).finish().output(0);
       }},
      {"elu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::elu(s, x[0]); }},
      {"elu_alpha", {{3, 4}}, [](const Scope& s, const X& x) { return ops::elu(s, x[0], 0.7); }},
      // EluGrad(g, x, y) with x and y independent: d/dy = g where x <= 0.
      {"elu_grad", {{2, 3}, {2, 3}, {2, 3}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "EluGrad").input(x[0]).input(x[1]).input(x[2]).attr("alpha", 0.7).finish().output(0);
       }},
      {"elu_second_order", {{2, 3}},
       [](const Scope& s, const X& x) {
         Output y = ops::elu(s, x[0], 1.3);
         return gradients(s, {ops::sum(s, ops::square(s, y))}, {x[0]})[0];
       }},
      {"selu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::selu(s, x[0]); }},
      ranged({"softplus", {{3, 4}}, [](const Scope& s, const X& x) { return ops::softplus(s, x[0]); }}, -6, 6),
      {"softplus_grad", {{2, 3}, {2, 3}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "SoftplusGrad").input(x[0]).input(x[1]).finish().output(0);
       }},
      {"softsign", {{3, 4}}, [](const Scope& s, const X& x) { return ops::softsign(s, x[0]); }},
      // alpha 0.2: the clip kinks at -2.5 and 2.5 are inside [-4, 4).
      ranged({"hard_sigmoid", {{3, 5}}, [](const Scope& s, const X& x) { return ops::hard_sigmoid(s, x[0]); }}, -4, 4),
      ranged({"hard_swish", {{3, 5}}, [](const Scope& s, const X& x) { return ops::hard_swish(s, x[0]); }}, -4, 4),
      ranged({"gelu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::gelu(s, x[0]); }}, -3, 3),
      ranged({"gelu_tanh", {{3, 4}}, [](const Scope& s, const X& x) { return ops::gelu(s, x[0], true); }}, -3, 3),
      ranged({"gelu_grad", {{2, 3}, {2, 3}},
              [](const Scope& s, const X& x) {
                return NodeBuilder(s, "GeluGrad").input(x[0]).input(x[1]).finish().output(0);
              }},
             -3, 3),
      ranged({"gelu_grad_tanh", {{2, 3}, {2, 3}},
              [](const Scope& s, const X& x) {
                return NodeBuilder(s, "GeluGrad").input(x[0]).input(x[1]).attr("approximate", true).finish().output(0);
              }},
             -3, 3),
      // Keras PReLU: slope of shape x.shape[1:]; ONNX: slope broadcast along the channels.
      {"prelu", {{2, 3, 4}, {3, 4}}, [](const Scope& s, const X& x) { return ops::prelu(s, x[0], x[1]); }},
      {"prelu_channel", {{2, 3, 2}, {3, 1}}, [](const Scope& s, const X& x) { return ops::prelu(s, x[0], x[1]); }},
      {"thresholded_relu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::thresholded_relu(s, x[0], 0.5); }},
      {"celu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::celu(s, x[0], 1.5); }},
  };
  return cases;
}

const bool registered = testing::register_grad_cases(activation_cases);

}  // namespace
}  // namespace sluice
