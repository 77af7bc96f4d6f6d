// FusedBottleneckConv2D (bottleneck_ops.h): declaration, shape function, CPU kernel and
// gradient.
#include "bottleneck_ops.h"

#include "conv_attrs.h"
#include "conv_lowering.h"
#include "gemm_prepacked.h"
#include "kernel_util.h"
#include "shape_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using conv::ConvGeometry;
using Grads = std::vector<Output>;

const char* const kStages[3] = {"expand_", "depthwise_", "project_"};

// The three stages' geometries, from the input's and filters' shapes (static shapes may
// hold -1; each message names the node's stage).
struct Stages {
  ConvGeometry expand, depthwise, project;
};

Stages stages_of(const Node& node, const Shape& x, const Shape& we, const Shape& wd, const Shape& wp) {
  Stages st;
  const ConvArgs pointwise;  // 1x1 filters at stride 1, unpadded
  st.expand = conv_geometry(x, we, pointwise, FilterLayout::grouped);
  SLUICE_REQUIRE((st.expand.kh < 0 || st.expand.kh == 1) && (st.expand.kw < 0 || st.expand.kw == 1), InvalidArgument,
                 "expand_filter must be [1,1,C,E], got ", we.to_string());
  const ConvArgs a = read_conv_args(node);
  SLUICE_REQUIRE(a.groups >= 1 && (st.expand.f < 0 || a.groups == st.expand.f), InvalidArgument,
                 "the depthwise stage's groups (", a.groups, ") must equal the expanded channels E = ", st.expand.f);
  st.depthwise = conv_geometry(conv_output_shape(st.expand), wd, a, FilterLayout::grouped);
  SLUICE_REQUIRE(st.depthwise.f < 0 || st.depthwise.c < 0 || st.depthwise.f == st.depthwise.c, InvalidArgument,
                 "depthwise_filter must be [KH,KW,1,E] with E = ", st.depthwise.c, ", got ", wd.to_string());
  st.project = conv_geometry(conv_output_shape(st.depthwise), wp, pointwise, FilterLayout::grouped);
  SLUICE_REQUIRE((st.project.kh < 0 || st.project.kh == 1) && (st.project.kw < 0 || st.project.kw == 1),
                 InvalidArgument, "project_filter must be [1,1,E,F], got ", wp.to_string());
  return st;
}

void bottleneck_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1, 2, 3, 4, 5, 6});
  for (const char* stage : kStages) read_activation(ctx.node(), stage);
  const Stages st = stages_of(ctx.node(), ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(3),
                              ctx.input_shape(5));
  check_bias(ctx.input_shape(2), st.expand.f, "expand_bias");
  check_bias(ctx.input_shape(4), st.depthwise.f, "depthwise_bias");
  check_bias(ctx.input_shape(6), st.project.f, "project_bias");
  ctx.add_output(ctx.input_dtype(0), conv_output_shape(st.project));
}

void bottleneck_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_inputs_dtype_of_first(ctx);
  const Stages st = stages_of(ctx.node(), x.shape(), ctx.input(1).shape(), ctx.input(3).shape(), ctx.input(5).shape());
  check_bias(ctx.input(2).shape(), st.expand.f, "expand_bias");
  check_bias(ctx.input(4).shape(), st.depthwise.f, "depthwise_bias");
  check_bias(ctx.input(6).shape(), st.project.f, "project_bias");
  conv::Epilogue act[3];
  for (int s = 0; s < 3; ++s) act[s] = epilogue_of(read_activation(ctx.node(), kStages[s]));
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "FusedBottleneckConv2D", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, conv_output_shape(st.project));
    if (conv::bottleneck_applies(st.expand, st.depthwise, st.project)) {
      conv::forward_bottleneck<T>(x.data<T>(), st.expand, *packed_filter<T>(ctx, 1, st.expand),
                                  ctx.input(2).data<T>(), act[0], st.depthwise, ctx.input(3).data<T>(),
                                  ctx.input(4).data<T>(), act[1], st.project, *packed_filter<T>(ctx, 5, st.project),
                                  ctx.input(6).data<T>(), act[2], y.data<T>(), ctx.pool());
      return;
    }
    // Other geometries (a small image, where the 1x1 stages take another path): the three
    // stages one after the other, on whole tensors.
    Tensor e(x.dtype(), conv_output_shape(st.expand)), d(x.dtype(), conv_output_shape(st.depthwise));
    conv_forward<T>(ctx, 1, st.expand, x.data<T>(), ctx.input(2).data<T>(), act[0], e.data<T>());
    conv_forward<T>(ctx, 3, st.depthwise, e.data<T>(), ctx.input(4).data<T>(), act[1], d.data<T>());
    conv_forward<T>(ctx, 5, st.project, d.data<T>(), ctx.input(6).data<T>(), act[2], y.data<T>());
  });
}

// The three FusedConv2Ds the op stands for, on its inputs.
struct Unfused {
  Output e, d;
};

Unfused unfused_of(const Scope& s, const Operation& op) {
  const Node& n = *op.node();
  const ConvArgs a = read_conv_args(n);
  Unfused u;
  u.e = ops::fused_conv2d(s, op.input(0), op.input(1), op.input(2), read_activation(n, kStages[0]));
  u.d = ops::fused_conv2d(s, u.e, op.input(3), op.input(4), read_activation(n, kStages[1]), a.strides, a.pads,
                          a.dilations, a.groups);
  return u;
}

Grads bottleneck_grad(const Scope& s, const Operation& op, const Grads& g) {
  // The expanded and depthwise tensors are recomputed (the forward kept neither), then the
  // chain rule runs back through the three convolutions as FusedConv2D's gradient does.
  const Node& n = *op.node();
  const ConvArgs a = read_conv_args(n);
  const Unfused u = unfused_of(s, op);
  const Ints one{1, 1};
  const Output dzp = activation_grad(s, read_activation(n, kStages[2]), g[0], op.output(0));
  const Output dd = ops::conv2d_backprop_input(s, u.d, op.input(5), dzp, one, Padding::valid, one, 1);
  const Output dzd = activation_grad(s, read_activation(n, kStages[1]), dd, u.d);
  const Output de =
      ops::conv2d_backprop_input(s, u.e, op.input(3), dzd, a.strides, a.pads, a.dilations, a.groups);
  const Output dze = activation_grad(s, read_activation(n, kStages[0]), de, u.e);
  return {ops::conv2d_backprop_input(s, op.input(0), op.input(1), dze, one, Padding::valid, one, 1),
          ops::conv2d_backprop_filter(s, op.input(0), op.input(1), dze, one, Padding::valid, one, 1),
          ops::sum_to_like(s, dze, op.input(2)),
          ops::conv2d_backprop_filter(s, u.e, op.input(3), dzd, a.strides, a.pads, a.dilations, a.groups),
          ops::sum_to_like(s, dzd, op.input(4)),
          ops::conv2d_backprop_filter(s, u.d, op.input(5), dzp, one, Padding::valid, one, 1),
          ops::sum_to_like(s, dzp, op.input(6))};
}

}  // namespace

void register_bottleneck_ops(OpRegistry& r) {
  OpDefBuilder b = r.op("FusedBottleneckConv2D")
                       .input("input")
                       .input("expand_filter")
                       .input("expand_bias")
                       .input("depthwise_filter")
                       .input("depthwise_bias")
                       .input("project_filter")
                       .input("project_bias")
                       .output("output")
                       .attr("strides", Ints{1, 1})
                       .attr("padding", "VALID")
                       .attr("explicit_paddings", Ints{})
                       .attr("dilations", Ints{1, 1})
                       .attr("groups", 1);
  for (const char* stage : kStages) {
    const std::string p = stage;
    b.attr(p + "activation", "none").attr(p + "clip_min", 0.0).attr(p + "clip_max", 0.0).attr(p + "alpha", 0.0);
  }
  b.shape_fn(bottleneck_shape).kernel(bottleneck_kernel).gradient(bottleneck_grad);
}

namespace ops {

Output fused_bottleneck_conv2d(const Scope& s, const Output& input, const BottleneckStage& expand,
                               const BottleneckStage& depthwise, const BottleneckStage& project,
                               std::vector<int64_t> strides, Pads padding, std::vector<int64_t> dilations) {
  NodeBuilder b(s, "FusedBottleneckConv2D");
  b.input(input).input(expand.filter).input(expand.bias);
  b.input(depthwise.filter).input(depthwise.bias).input(project.filter).input(project.bias);
  const BottleneckStage* stages[3] = {&expand, &depthwise, &project};
  for (int i = 0; i < 3; ++i) set_activation(b, stages[i]->activation, kStages[i]);
  ConvArgs a;
  a.strides = std::move(strides), a.dilations = std::move(dilations), a.pads = padding;
  a.groups = depthwise.filter.valid() && depthwise.filter.shape().known_rank() ? depthwise.filter.shape().dim(3) : 1;
  set_conv_args(b, a);
  return b.finish().output(0);
}

}  // namespace ops
}  // namespace sluice
