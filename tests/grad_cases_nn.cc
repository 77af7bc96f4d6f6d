// Gradient cases for the ops added for the importers: depthwise and grouped convolutions
// (and their backprop ops), explicit and SAME_LOWER padding, the fused activations,
// conv2d_transpose, conv1d, the pooling options, global max pooling, layer and instance
// normalization, LRN and every resize (with their gradient ops).
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;
using Ints = std::vector<int64_t>;

Output zeros(const Scope& s, const Shape& shape) { return ops::fill(s, DType::f64, shape, 0); }

// A pool op of `type` with the given attrs (for the gradient ops, which have no builders).
Output pool_node(const Scope& s, const char* type, const Output& a, const Output& b, Ints ksize,
                 Ints strides, const Pads& pads, bool ceil_mode, bool count_include_pad) {
  return NodeBuilder(s, type)
      .input(a)
      .input(b)
      .attr("ksize", ksize)
      .attr("strides", strides)
      .attr("padding", padding_name(pads.mode))
      .attr("explicit_paddings", pads.attr_list())
      .attr("ceil_mode", ceil_mode)
      .attr("count_include_pad", count_include_pad)
      .finish()
      .output(0);
}

std::vector<GradCase> conv_cases() {
  const Pads E = Pads::explicit_pads(1, 0, 0, 2);
  return {
      {"depthwise_3x3_same_s1",
       {{1, 5, 6, 3}, {3, 3, 3, 1}},
       [](const Scope& s, const X& x) { return ops::depthwise_conv2d(s, x[0], x[1], {1, 1}, Padding::same); }},
      {"depthwise_multiplier2_s2_explicit",
       {{2, 5, 5, 2}, {3, 2, 2, 2}},
       [E](const Scope& s, const X& x) { return ops::depthwise_conv2d(s, x[0], x[1], {2, 2}, E); }},
      {"depthwise_dilated_same_lower",
       {{1, 6, 5, 2}, {2, 2, 2, 1}},
       [](const Scope& s, const X& x) {
         return ops::depthwise_conv2d(s, x[0], x[1], {1, 2}, Padding::same_lower, {2, 1});
       }},
      {"fused_depthwise_relu6",
       {{1, 4, 5, 3}, {3, 3, 3, 1}, {3}},
       [](const Scope& s, const X& x) {
         return ops::fused_depthwise_conv2d(s, x[0], x[1], x[2], FusedActivation::relu6, {1, 1},
                                            Padding::same);
       },
       -2, 2, 1e-6, 1e-6},
      {"depthwise_backprop_input",
       {{3, 3, 2, 2}, {1, 3, 2, 4}},
       [](const Scope& s, const X& x) {
         return ops::depthwise_conv2d_backprop_input(s, zeros(s, {1, 5, 4, 2}), x[0], x[1], {2, 2},
                                                     Padding::same);
       }},
      {"depthwise_backprop_filter",
       {{1, 5, 4, 2}, {1, 5, 4, 2}},
       [](const Scope& s, const X& x) {
         return ops::depthwise_conv2d_backprop_filter(s, x[0], zeros(s, {3, 3, 2, 1}), x[1], {1, 1},
                                                      Padding::same);
       }},
      {"grouped_conv2d_explicit",
       {{1, 5, 4, 4}, {3, 2, 2, 6}},
       [E](const Scope& s, const X& x) { return ops::conv2d(s, x[0], x[1], {1, 1}, E, {1, 1}, 2); }},
      {"grouped_conv2d_as_depthwise",
       {{1, 4, 4, 3}, {3, 3, 1, 6}},
       [](const Scope& s, const X& x) {
         return ops::conv2d(s, x[0], x[1], {2, 1}, Padding::same, {1, 1}, 3);
       }},
      {"conv2d_same_lower_s2",
       {{1, 6, 5, 2}, {3, 2, 2, 2}},
       [](const Scope& s, const X& x) { return ops::conv2d(s, x[0], x[1], {2, 2}, Padding::same_lower); }},
      {"fused_conv2d_clip_grouped",
       {{1, 4, 4, 4}, {3, 3, 2, 4}, {4}},
       [](const Scope& s, const X& x) {
         return ops::fused_conv2d(s, x[0], x[1], x[2], FusedActivation::clip_to(-1, 1.5), {1, 1},
                                  Padding::same, {1, 1}, 2);
       }},
      {"fused_conv2d_leaky",
       {{1, 4, 5, 2}, {2, 2, 2, 3}, {3}},
       [](const Scope& s, const X& x) {
         return ops::fused_conv2d(s, x[0], x[1], x[2], FusedActivation::leaky(0.2), {1, 1},
                                  Padding::valid);
       }},
      {"fused_matmul_relu",
       {{3, 4}, {4, 5}, {5}},
       [](const Scope& s, const X& x) {
         return ops::fused_matmul(s, x[0], x[1], x[2], FusedActivation::relu);
       }},
      {"fused_matmul_transposed_leaky",
       {{4, 3}, {5, 4}, {5}},
       [](const Scope& s, const X& x) {
         return ops::fused_matmul(s, x[0], x[1], x[2], FusedActivation::leaky(0.2), true, true);
       }},
      {"fused_matmul_clip_transpose_b",
       {{2, 3}, {4, 3}, {4}},
       [](const Scope& s, const X& x) {
         return ops::fused_matmul(s, x[0], x[1], x[2], FusedActivation::clip_to(-0.5, 0.7), false,
                                  true);
       }},
      {"conv2d_backprop_grouped",
       {{3, 3, 1, 4}, {1, 3, 3, 4}},
       [](const Scope& s, const X& x) {
         return ops::conv2d_backprop_input(s, zeros(s, {1, 5, 5, 2}), x[0], x[1], {2, 2},
                                           Padding::same, {1, 1}, 2);
       }},
      {"conv2d_backprop_filter_grouped_explicit",
       {{1, 5, 4, 4}, {1, 5, 2, 2}},
       [E](const Scope& s, const X& x) {
         return ops::conv2d_backprop_filter(s, x[0], zeros(s, {2, 3, 2, 2}), x[1], {1, 2}, E,
                                            {1, 1}, 2);
       }},
      {"conv2d_transpose_explicit_output_padding",
       {{1, 3, 2, 2}, {3, 3, 3, 2}},
       [](const Scope& s, const X& x) {
         return ops::conv2d_transpose(s, x[0], x[1], {2, 2}, Pads::explicit_pads(1, 1, 0, 1), {},
                                      {1, 1});
       }},
      {"conv2d_transpose_valid_cropped_gradient",
       {{1, 2, 3, 2}, {2, 2, 2, 2}},
       [](const Scope& s, const X& x) {
         // output_padding beyond the pads: conv2d of the output needs a negative pad
         return ops::conv2d_transpose(s, x[0], x[1], {2, 2}, Padding::valid, {}, {1, 0});
       }},
      {"conv2d_transpose_same_output_size_grouped",
       {{1, 3, 3, 4}, {3, 3, 1, 4}},
       [](const Scope& s, const X& x) {
         return ops::conv2d_transpose(s, x[0], x[1], {2, 2}, Padding::same, {5, 6}, {0, 0}, {1, 1},
                                      4);
       }},
      {"conv1d_causal_dilated",
       {{2, 7, 2}, {3, 2, 3}},
       [](const Scope& s, const X& x) {
         return ops::conv1d(s, x[0], x[1], 1, Pads::explicit_pads(0, 0, 4, 0), 2);
       }},
  };
}

std::vector<GradCase> pool_cases() {
  const Pads E = Pads::explicit_pads(1, 0, 1, 1);
  return {
      {"max_pool_explicit_ceil",
       {{1, 6, 5, 2}},
       [E](const Scope& s, const X& x) { return ops::max_pool(s, x[0], {3, 2}, {2, 2}, E, {1, 1}, true); }},
      {"max_pool_dilated",
       {{1, 6, 6, 2}},
       [](const Scope& s, const X& x) {
         return ops::max_pool(s, x[0], {2, 2}, {1, 2}, Padding::same_lower, {2, 2});
       }},
      {"avg_pool_count_include_pad_ceil",
       {{1, 6, 5, 2}},
       [E](const Scope& s, const X& x) { return ops::avg_pool(s, x[0], {3, 2}, {2, 2}, E, true, true); }},
      {"avg_pool_grad_count_include_pad",
       {{1, 3, 3, 2}},
       [E](const Scope& s, const X& x) {
         return pool_node(s, "AvgPoolGrad", zeros(s, {1, 6, 5, 2}), x[0], {3, 2}, {2, 2}, E, true, true);
       }},
      {"max_pool_grad_explicit",
       {{1, 6, 5, 2}, {1, 3, 3, 2}},
       [E](const Scope& s, const X& x) {
         return pool_node(s, "MaxPoolGrad", x[0], x[1], {3, 2}, {2, 2}, E, true, false);
       }},
      {"global_max_pool",
       {{2, 3, 4, 2}},
       [](const Scope& s, const X& x) { return ops::global_max_pool(s, x[0], true); }},
  };
}

std::vector<GradCase> norm_cases() {
  return {
      {"layer_norm_last_axis",
       {{3, 2, 5}, {5}, {5}},
       [](const Scope& s, const X& x) { return ops::layer_norm(s, x[0], x[1], x[2], -1, 1e-3); }},
      {"layer_norm_two_axes_with_statistics",
       {{3, 2, 4}, {2, 4}, {2, 4}},
       [](const Scope& s, const X& x) {
         const auto r = ops::layer_norm_full(s, x[0], x[1], x[2], 1);
         return ops::add(s, r.y, ops::add(s, ops::square(s, r.mean), r.inv_std));
       }},
      {"instance_norm",
       {{2, 3, 2, 3}, {3}, {3}},
       [](const Scope& s, const X& x) { return ops::instance_norm(s, x[0], x[1], x[2]); }},
      {"lrn_tf",
       {{1, 2, 2, 7}},
       [](const Scope& s, const X& x) { return ops::lrn(s, x[0], 2, 1.5, 0.4, 0.75); }},
      {"lrn_asymmetric_beta",
       {{2, 1, 1, 6}},
       [](const Scope& s, const X& x) { return ops::lrn(s, x[0], 1, 2.0, 0.3, 0.6, 2); }},
  };
}

std::vector<GradCase> resize_cases() {
  std::vector<GradCase> cases = {
      {"resize_bilinear_half_pixel",
       {{1, 3, 4, 2}},
       [](const Scope& s, const X& x) { return ops::resize_bilinear(s, x[0], Ints{5, 3}, false, true); }},
      {"resize_bilinear_align_corners",
       {{2, 3, 3, 1}},
       [](const Scope& s, const X& x) { return ops::resize_bilinear(s, x[0], Ints{4, 5}, true); }},
      {"resize_nearest_legacy",
       {{1, 4, 3, 2}},
       [](const Scope& s, const X& x) { return ops::resize_nearest_neighbor(s, x[0], Ints{3, 5}); }},
      {"resize_bilinear_grad",
       {{1, 5, 3, 2}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "ResizeBilinearGrad")
             .input(x[0])
             .input(zeros(s, {1, 3, 4, 2}))
             .attr("half_pixel_centers", true)
             .finish()
             .output(0);
       }},
      {"resize_nearest_grad",
       {{1, 3, 5, 2}},
       [](const Scope& s, const X& x) {
         return NodeBuilder(s, "ResizeNearestNeighborGrad")
             .input(x[0])
             .input(ops::constant(s, Tensor::from_vector(std::vector<int32_t>{4, 3}, {2})))
             .finish()
             .output(0);
       }},
  };
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    cases.push_back({std::string("resize_onnx_") + mode,
                     {{1, 3, 4, 2}},
                     [mode](const Scope& s, const X& x) {
                       ops::ResizeOptions o;
                       o.mode = mode;
                       o.exclude_outside = std::string(mode) == "cubic";
                       return ops::resize(s, x[0], Ints{5, 7}, o);
                     }});
  }
  cases.push_back({"resize_onnx_grad",
                   {{1, 5, 7, 2}},
                   [](const Scope& s, const X& x) {
                     return NodeBuilder(s, "ResizeGrad")
                         .input(x[0])
                         .input(zeros(s, {1, 3, 4, 2}))
                         .attr("mode", "linear")
                         .attr("coordinate_transformation_mode", "align_corners")
                         .finish()
                         .output(0);
                   }});
  return cases;
}

std::vector<GradCase> nn_cases() {
  std::vector<GradCase> all;
  for (auto list : {conv_cases, pool_cases, norm_cases, resize_cases})
    for (GradCase& c : list()) all.push_back(std::move(c));
  return all;
}

const bool registered = testing::register_grad_cases(nn_cases);

}  // namespace
}  // namespace sluice
