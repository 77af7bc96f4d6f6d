// Gradient cases for the foundation's op families (array, math, reduction, nn) and for the
// composites built from them (l2_normalize, losses).
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;

Output c64(const Scope& s, std::initializer_list<double> v, const Shape& shape) {
  return ops::constant(s, Tensor::from_vector(std::vector<double>(v), shape));
}

// Cases for ops of the foundation (array, math, reduction, nn ops and composites).
std::vector<GradCase> core_cases() {
  std::vector<GradCase> cases = {
      {"identity", {{2, 3}}, [](const Scope& s, const X& x) { return ops::identity(s, x[0]); }},
      {"placeholder_with_default", {{2, 3}},
       [](const Scope& s, const X& x) { return ops::placeholder_with_default(s, x[0], {-1, 3}); }},
      {"reshape", {{2, 3}}, [](const Scope& s, const X& x) { return ops::reshape(s, x[0], {3, -1}); }},
      {"reshape_like", {{2, 3}, {6}},
       [](const Scope& s, const X& x) { return ops::mul(s, ops::reshape_like(s, x[0], x[1]), x[1]); }},
      {"expand_dims", {{2, 3}}, [](const Scope& s, const X& x) { return ops::expand_dims(s, x[0], -1); }},
      {"squeeze", {{2, 1, 3}}, [](const Scope& s, const X& x) { return ops::squeeze(s, x[0], {1}); }},
      {"transpose", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::transpose(s, x[0], {2, 0, 1}); }},
      {"concat", {{2, 3}, {2, 1}, {2, 2}},
       [](const Scope& s, const X& x) { return ops::concat(s, {x[0], x[1], x[2]}, 1); }},
      {"split", {{2, 4}},
       [](const Scope& s, const X& x) {
         auto parts = ops::split(s, x[0], 2, 1);
         return ops::mul(s, parts[0], parts[1]);
       }},
      {"split_like", {{5, 2}, {2, 2}, {3, 2}},
       [](const Scope& s, const X& x) {
         auto parts = ops::split_like(s, x[0], {x[1], x[2]}, 0);
         return ops::concat(s, {ops::mul(s, parts[0], x[1]), parts[1]}, 0);
       }},
      {"slice", {{3, 4}}, [](const Scope& s, const X& x) { return ops::slice(s, x[0], {1, 1}, {2, -1}); }},
      {"slice_grad", {{2, 3}, {3, 4}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "SliceGrad").input(x[0]).input(x[1]).attr("begin", std::vector<int64_t>{1, 1})
             .attr("size", std::vector<int64_t>{2, -1}).finish().output(0);
       }},
      {"gather", {{4, 3}},
       [](const Scope& s, const X& x) {
         return ops::gather(s, x[0], ops::constant(s, Tensor({int32_t{2}, int32_t{0}, int32_t{2}})));
       }},
      {"gather_axis1", {{2, 4, 2}},
       [](const Scope& s, const X& x) {
         return ops::gather(s, x[0], ops::constant(s, Tensor({int64_t{3}, int64_t{3}, int64_t{1}})), 1);
       }},
      {"gather_grad", {{3, 2}, {4, 2}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "GatherGrad").input(x[0])
             .input(ops::constant(s, Tensor({int32_t{1}, int32_t{1}, int32_t{3}}))).input(x[1])
             .finish().output(0);
       }},
      {"broadcast_like", {{3}, {2, 3}},
       [](const Scope& s, const X& x) { return ops::broadcast_like(s, x[0], x[1]); }},
      {"sum_to_like", {{2, 3, 4}, {3, 1}},
       [](const Scope& s, const X& x) { return ops::sum_to_like(s, x[0], x[1]); }},
      {"select", {{2, 3}, {3}},
       [](const Scope& s, const X& x) {
         Output cond = ops::constant(s, Tensor({true, false, true}));
         return ops::select(s, cond, x[0], x[1]);
       }},
      {"neg", {{2, 3}}, [](const Scope& s, const X& x) { return ops::neg(s, x[0]); }},
      {"abs", {{2, 3}}, [](const Scope& s, const X& x) { return ops::abs(s, x[0]); }},
      {"square", {{2, 3}}, [](const Scope& s, const X& x) { return ops::square(s, x[0]); }},
      {"exp", {{2, 3}}, [](const Scope& s, const X& x) { return ops::exp(s, x[0]); }},
      {"sigmoid", {{2, 3}}, [](const Scope& s, const X& x) { return ops::sigmoid(s, x[0]); }},
      {"tanh", {{2, 3}}, [](const Scope& s, const X& x) { return ops::tanh(s, x[0]); }},
      {"add_broadcast", {{2, 3}, {3}}, [](const Scope& s, const X& x) { return ops::add(s, x[0], x[1]); }},
      {"sub_broadcast", {{2, 1}, {1, 3}}, [](const Scope& s, const X& x) { return ops::sub(s, x[0], x[1]); }},
      {"mul", {{2, 3}, {2, 3}}, [](const Scope& s, const X& x) { return ops::mul(s, x[0], x[1]); }},
      {"mul_scalar", {{2, 3}, {}}, [](const Scope& s, const X& x) { return ops::mul(s, x[0], x[1]); }},
      {"maximum", {{2, 3}, {3}}, [](const Scope& s, const X& x) { return ops::maximum(s, x[0], x[1]); }},
      {"minimum", {{2, 3}, {2, 1}}, [](const Scope& s, const X& x) { return ops::minimum(s, x[0], x[1]); }},
      {"matmul", {{2, 3}, {3, 4}}, [](const Scope& s, const X& x) { return ops::matmul(s, x[0], x[1]); }},
      {"matmul_ta", {{3, 2}, {3, 4}},
       [](const Scope& s, const X& x) { return ops::matmul(s, x[0], x[1], true, false); }},
      {"matmul_tb", {{2, 3}, {4, 3}},
       [](const Scope& s, const X& x) { return ops::matmul(s, x[0], x[1], false, true); }},
      {"matmul_tab", {{3, 2}, {4, 3}},
       [](const Scope& s, const X& x) { return ops::matmul(s, x[0], x[1], true, true); }},
      {"add_n", {{2, 3}, {2, 3}, {2, 3}},
       [](const Scope& s, const X& x) { return ops::add_n(s, {x[0], x[1], ops::mul(s, x[2], x[0])}); }},
      {"sum_axis", {{2, 3, 4}}, [](const Scope& s, const X& x) { return ops::sum(s, x[0], {1}); }},
      {"sum_all_keepdims", {{2, 3}}, [](const Scope& s, const X& x) { return ops::sum(s, x[0], {}, true); }},
      {"sum_noncontiguous", {{2, 3, 4}}, [](const Scope& s, const X& x) { return ops::sum(s, x[0], {0, 2}); }},
      {"mean", {{2, 3, 4}}, [](const Scope& s, const X& x) { return ops::mean(s, x[0], {-1}); }},
      {"max", {{3, 4}}, [](const Scope& s, const X& x) { return ops::max(s, x[0], {0}); }},
      {"min_keepdims", {{3, 4}}, [](const Scope& s, const X& x) { return ops::min(s, x[0], {1}, true); }},
      {"relu", {{3, 4}}, [](const Scope& s, const X& x) { return ops::relu(s, x[0]); }},
      {"relu_grad", {{2, 3}},
       [](const Scope& s, const X& x) {
         Output y = c64(s, {1, 0, 2, -1, 3, 0.5}, {2, 3});
         return NodeBuilder(s, "ReluGrad").input(x[0]).input(y).finish().output(0);
       }},
      {"softmax", {{2, 5}}, [](const Scope& s, const X& x) { return ops::softmax(s, x[0]); }},
      {"log_softmax", {{2, 5}}, [](const Scope& s, const X& x) { return ops::log_softmax(s, x[0]); }},
      {"bias_add", {{2, 3, 4}, {4}}, [](const Scope& s, const X& x) { return ops::bias_add(s, x[0], x[1]); }},
      {"dropout_inference", {{2, 3}},
       [](const Scope& s, const X& x) { return ops::dropout(s, x[0], ops::constant(s, Tensor(false)), 0.5, 7); }},
      {"l2_normalize", {{2, 4}}, [](const Scope& s, const X& x) { return ops::l2_normalize(s, x[0], {-1}); }},
      {"categorical_crossentropy_softmax", {{3, 4}, {3, 4}},
       [](const Scope& s, const X& x) {
         return losses::categorical_crossentropy(s, ops::softmax(s, x[1]), ops::softmax(s, x[0]));
       }},
      {"categorical_crossentropy_logits", {{3, 4}, {3, 4}},
       [](const Scope& s, const X& x) {
         return losses::categorical_crossentropy(s, ops::softmax(s, x[1]), x[0], true);
       }},
      {"categorical_crossentropy_probs", {{3, 4}, {3, 4}},
       [](const Scope& s, const X& x) {
         return losses::categorical_crossentropy(s, ops::softmax(s, x[1]), ops::sigmoid(s, x[0]));
       }},
      {"mean_squared_error", {{3, 4}, {3, 4}},
       [](const Scope& s, const X& x) { return losses::mean_squared_error(s, x[1], x[0]); }},
      {"binary_crossentropy_logits", {{3, 4}, {3, 4}},
       [](const Scope& s, const X& x) { return losses::binary_crossentropy(s, ops::sigmoid(s, x[1]), x[0], true); }},
  };
  // Ops that need inputs away from zero or positive.
  GradCase log_case{"log", {{2, 3}}, [](const Scope& s, const X& x) { return ops::log(s, x[0]); }};
  GradCase sqrt_case{"sqrt", {{2, 3}}, [](const Scope& s, const X& x) { return ops::sqrt(s, x[0]); }};
  GradCase rsqrt_case{"rsqrt", {{2, 3}}, [](const Scope& s, const X& x) { return ops::rsqrt(s, x[0]); }};
  GradCase recip_case{"reciprocal", {{2, 3}}, [](const Scope& s, const X& x) { return ops::reciprocal(s, x[0]); }};
  GradCase div_case{"div_broadcast", {{2, 3}, {3}}, [](const Scope& s, const X& x) { return ops::div(s, x[0], x[1]); }};
  GradCase pow_case{"pow", {{2, 3}, {2, 3}}, [](const Scope& s, const X& x) { return ops::pow(s, x[0], x[1]); }};
  for (GradCase* c : {&log_case, &sqrt_case, &rsqrt_case, &recip_case, &div_case, &pow_case}) {
    c->low = 0.5;
    c->high = 2.0;
    cases.push_back(*c);
  }
  GradCase cast_case{"cast_f32_roundtrip", {{2, 3}},
                     [](const Scope& s, const X& x) { return ops::cast(s, ops::cast(s, x[0], DType::f32), DType::f64); }};
  cast_case.step = 1e-2;  // linear, and float32 rounding needs a coarse step
  cast_case.tolerance = 1e-4;
  cases.push_back(cast_case);
  return cases;
}

const bool registered = testing::register_grad_cases(core_cases);

}  // namespace
}  // namespace sluice
