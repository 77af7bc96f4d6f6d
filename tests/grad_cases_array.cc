// Gradient cases for the array-family ops added for the TensorFlow / ONNX importers and
// Keras layers: tensor-argument reshape/transpose/fill/slice, strided and ONNX slices,
// reverse, pad (every mode), tile, broadcast_to/expand, depth/space moves, stack/unstack,
// split_v, and the ND / element gathers and scatters, plus their gradient ops.
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;
using Ints = std::vector<int64_t>;

Output ints(const Scope& s, Ints v) {
  return ops::constant(s, Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}));
}
Output ints2(const Scope& s, Ints v, const Shape& shape) {
  return ops::constant(s, Tensor::from_vector(v, shape));
}
Output i32s(const Scope& s, std::vector<int32_t> v) {
  return ops::constant(s, Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}));
}

std::vector<GradCase> array_cases() {
  std::vector<GradCase> cases = {
      {"reshape_tensor",
       {{2, 3}},
       [](const Scope& s, const X& x) {
         return ops::reshape(s, x[0], ints(s, {3, -1}));
       }},
      {"transpose_tensor",
       {{2, 3, 4}},
       [](const Scope& s, const X& x) {
         return ops::transpose(s, x[0], i32s(s, {2, 0, 1}));
       }},
      {"fill_tensor",
       {{}},
       [](const Scope& s, const X& x) {
         return ops::fill(s, ints(s, {2, 3}), x[0]);
       }},
      {"slice_tensor",
       {{3, 4}},
       [](const Scope& s, const X& x) {
         return ops::slice(s, x[0], ints(s, {1, 1}), ints(s, {2, -1}));
       }},
      {"slice_tensor_grad",
       {{2, 3}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "DynamicSliceGrad")
             .input(x[0])
             .input(ints(s, {3, 4}))
             .input(ints(s, {1, 1}))
             .input(ints(s, {2, -1}))
             .finish()
             .output(0);
       }},
      {"strided_slice_steps",
       {{4, 5}},
       [](const Scope& s, const X& x) {
         return ops::strided_slice(s, x[0], ints(s, {1, -1}), ints(s, {0, 0}), ints(s, {2, -2}),
                                   0b10, 0b11);
       }},
      {"strided_slice_masks",
       {{3, 4, 2}},
       [](const Scope& s, const X& x) {  // x[..., None, 1:, 0]
         return ops::strided_slice(s, x[0], ints(s, {0, 0, 1, 0}), ints(s, {0, 0, 0, 1}),
                                   ints(s, {1, 1, 1, 1}), 0, 0b100, 0b1, 0b10, 0b1000);
       }},
      {"strided_slice_grad",
       {{2, 2}},
       [](const Scope& s, const X& x) {
         return ops::strided_slice_grad(s, ints(s, {3, 4}), ints(s, {1, 0}), ints(s, {0, 0}),
                                        ints(s, {1, 2}), x[0], 0b10, 0b11);
       }},
      {"slice_onnx",
       {{3, 5}},
       [](const Scope& s, const X& x) {
         return ops::slice_onnx(s, x[0], ints(s, {-1, 1}), ints(s, {INT64_MIN, 100}),
                                ints(s, {1, 0}), ints(s, {-2, 1}));
       }},
      {"slice_onnx_grad",
       {{2, 3}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "SliceOnnxGrad")
             .input(x[0])
             .input(ints(s, {3, 5}))
             .input(ints(s, {-1, 1}))
             .input(ints(s, {INT64_MIN, 100}))
             .input(ints(s, {1, 0}))
             .input(ints(s, {-2, 1}))
             .finish()
             .output(0);
       }},
      {"reverse",
       {{2, 3, 2}},
       [](const Scope& s, const X& x) {
         return ops::reverse(s, x[0], {0, -1});
       }},
      {"pad_constant",
       {{2, 3}, {}},
       [](const Scope& s, const X& x) {
         return ops::pad(s, x[0], ints2(s, {1, 0, -1, 2}, {2, 2}), "constant", x[1]);
       }},
      {"pad_reflect",
       {{3, 4}},
       [](const Scope& s, const X& x) {
         return ops::pad(s, x[0], ints2(s, {2, 1, 3, 4}, {2, 2}), "REFLECT");
       }},
      {"pad_symmetric",
       {{3, 2}},
       [](const Scope& s, const X& x) {
         return ops::pad(s, x[0], ints(s, {1, 2, 3, 1}), "symmetric");
       }},
      {"pad_edge",
       {{2, 3}},
       [](const Scope& s, const X& x) {
         return ops::pad(s, x[0], ints2(s, {1, 1, 0, 2}, {2, 2}), "edge");
       }},
      {"pad_grad",
       {{4, 5}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "PadGrad")
             .input(x[0])
             .input(ints(s, {3, 2}))
             .input(ints2(s, {1, 0, 1, 2}, {2, 2}))
             .attr("mode", "reflect")
             .finish()
             .output(0);
       }},
      {"tile",
       {{2, 3}},
       [](const Scope& s, const X& x) {
         return ops::tile(s, x[0], ints(s, {2, 3}));
       }},
      {"tile_grad",
       {{4, 3}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "TileGrad")
             .input(x[0])
             .input(ints(s, {2, 1}))
             .input(ints(s, {2, 3}))
             .finish()
             .output(0);
       }},
      {"broadcast_to",
       {{3, 1}},
       [](const Scope& s, const X& x) {
         return ops::broadcast_to(s, x[0], ints(s, {2, 3, 4}));
       }},
      {"expand",
       {{2, 1}},
       [](const Scope& s, const X& x) {
         return ops::expand(s, x[0], ints(s, {3, 1, 3}));
       }},
      {"depth_to_space",
       {{1, 2, 3, 8}},
       [](const Scope& s, const X& x) { return ops::depth_to_space(s, x[0], 2); }},
      {"space_to_depth_crd_nchw",
       {{1, 2, 4, 2}},
       [](const Scope& s, const X& x) { return ops::space_to_depth(s, x[0], 2, "CRD", "NCHW"); }},
      {"stack",
       {{2, 3}, {2, 3}},
       [](const Scope& s, const X& x) {
         return ops::stack(s, {x[0], x[1], x[0]}, 1);
       }},
      {"unstack",
       {{3, 2}},
       [](const Scope& s, const X& x) {
         auto parts = ops::unstack(s, x[0], 1);
         return ops::mul(s, parts[0], parts[1]);
       }},
      {"unstack_partial",
       {{3, 2}},
       [](const Scope& s, const X& x) { return ops::unstack(s, x[0], 0)[1]; }},
      {"split_v",
       {{2, 6}},
       [](const Scope& s, const X& x) {
         auto parts = ops::split_v(s, x[0], {1, -1, 2}, 1);
         return ops::concat(s, {ops::mul(s, parts[0], parts[0]), parts[2]}, 1);
       }},
      {"gather_nd",
       {{3, 2, 2}},
       [](const Scope& s, const X& x) {  // duplicate tuples sum their gradients
         return ops::gather_nd(s, x[0], ints2(s, {1, 0, 2, -1, 1, 0}, {3, 2}));
       }},
      {"gather_nd_batch",
       {{2, 3, 2}},
       [](const Scope& s, const X& x) {
         return ops::gather_nd(s, x[0], ints2(s, {2, 0, 1, 1}, {2, 2, 1}), 1);
       }},
      {"scatter_nd",
       {{3, 2}},
       [](const Scope& s, const X& x) {
         return ops::scatter_nd(s, ints2(s, {1, 3, 1}, {3, 1}), x[0], ints(s, {4, 2}));
       }},
      {"tensor_scatter_nd",
       {{4, 2}, {2, 2}},
       [](const Scope& s, const X& x) {
         return ops::tensor_scatter_nd(s, x[0], ints2(s, {3, 1}, {2, 1}), x[1]);
       }},
      {"tensor_scatter_nd_add",
       {{4, 2}, {3, 2}},
       [](const Scope& s, const X& x) {
         return ops::tensor_scatter_nd(s, x[0], ints2(s, {3, 1, 3}, {3, 1}), x[1], "add");
       }},
      {"gather_elements",
       {{3, 3}},
       [](const Scope& s, const X& x) {
         return ops::gather_elements(s, x[0], ints2(s, {1, 2, 0, 1, -1, 0}, {2, 3}), 0);
       }},
      {"scatter_elements",
       {{3, 3}, {2, 2}},
       [](const Scope& s, const X& x) {
         return ops::scatter_elements(s, x[0], ints2(s, {2, 0, 1, 0}, {2, 2}), x[1], 1);
       }},
      {"scatter_elements_add",
       {{3, 3}, {2, 2}},
       [](const Scope& s, const X& x) {
         return ops::scatter_elements(s, x[0], ints2(s, {2, 2, 0, 0}, {2, 2}), x[1], 0, "add");
       }},
  };
  return cases;
}

const bool registered = testing::register_grad_cases(array_cases);

}  // namespace
}  // namespace sluice
