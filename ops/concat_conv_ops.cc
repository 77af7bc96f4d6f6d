// FusedConcatConv2D (concat_conv_ops.h): declaration, shape function, CPU kernel and
// gradient.
#include "concat_conv_ops.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "array_ops.h"
#include "conv_attrs.h"
#include "conv_lowering.h"
#include "kernel_util.h"
#include "math_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using conv::ConvGeometry;
using Grads = std::vector<Output>;

// The branches' count and their ConvArgs, from the node's inputs and branch_paddings.
std::vector<ConvArgs> branch_args(const Node& node) {
  const int64_t inputs = static_cast<int64_t>(node.inputs.size());
  SLUICE_REQUIRE(inputs >= 3 && inputs % 2 == 1, InvalidArgument,
                 "FusedConcatConv2D takes an input and a filter and a bias per branch, got ", inputs, " inputs");
  const Ints& pads = node.attr<Ints>("branch_paddings");
  const int64_t branches = (inputs - 1) / 2;
  SLUICE_REQUIRE(static_cast<int64_t>(pads.size()) == 4 * branches, InvalidArgument, "branch_paddings ",
                 ints_to_string(pads), " must hold top, bottom, left, right for each of the ", branches, " branches");
  std::vector<ConvArgs> args(static_cast<size_t>(branches));
  for (size_t i = 0; i < args.size(); ++i) {
    const int64_t* p = pads.data() + 4 * i;
    SLUICE_REQUIRE(p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0, InvalidArgument, "branch ", i,
                   "'s paddings must not be negative, got ", ints_to_string(pads));
    args[i].pads = Pads::explicit_pads(p[0], p[1], p[2], p[3]);
  }
  return args;
}

// Each branch's geometry (static shapes may hold -1), its output channels at the end of
// `channels`; every branch must give one output size.
std::vector<ConvGeometry> geometries(const Node& node, const Shape& x, const std::vector<Shape>& filters,
                                     int64_t& channels) {
  const std::vector<ConvArgs> args = branch_args(node);
  std::vector<ConvGeometry> gs;
  channels = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const ConvGeometry g = conv_geometry(x, filters[i], args[i], FilterLayout::grouped);
    if (!gs.empty()) {
      const ConvGeometry& g0 = gs.front();
      SLUICE_REQUIRE(g.oh < 0 || g0.oh < 0 || (g.oh == g0.oh && g.ow == g0.ow), InvalidArgument, "branch ", i,
                     " (filter ", filters[i].to_string(), ") gives ", g.oh, "x", g.ow, " outputs, branch 0 (filter ",
                     filters[0].to_string(), ") ", g0.oh, "x", g0.ow);
    }
    channels = channels < 0 || g.f < 0 ? -1 : channels + g.f;
    gs.push_back(g);
  }
  return gs;
}

Shape output_shape(const std::vector<ConvGeometry>& gs, int64_t channels) {
  Shape s = conv_output_shape(gs.front());
  return Shape{s.dim(0), s.dim(1), s.dim(2), channels};
}

std::string bias_name(size_t i) { return "bias " + std::to_string(i); }

void concat_conv_shape(ShapeContext& ctx) {
  const Node& node = ctx.node();
  read_activation(node);
  const std::vector<ConvArgs> args = branch_args(node);
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    require_float(ctx, i);
    require_same_dtype(ctx, 0, i);
  }
  std::vector<Shape> filters;
  for (size_t i = 0; i < args.size(); ++i) filters.push_back(ctx.input_shape(static_cast<int>(1 + 2 * i)));
  int64_t channels = 0;
  const std::vector<ConvGeometry> gs = geometries(node, ctx.input_shape(0), filters, channels);
  for (size_t i = 0; i < gs.size(); ++i)
    check_bias(ctx.input_shape(static_cast<int>(2 + 2 * i)), gs[i].f, bias_name(i).c_str());
  ctx.add_output(ctx.input_dtype(0), output_shape(gs, channels));
}

void concat_conv_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_inputs_dtype_of_first(ctx);
  std::vector<Shape> filters;
  for (int i = 1; i < ctx.num_inputs(); i += 2) filters.push_back(ctx.input(i).shape());
  int64_t channels = 0;
  std::vector<ConvGeometry> gs = geometries(ctx.node(), x.shape(), filters, channels);
  for (size_t i = 0; i < gs.size(); ++i)
    check_bias(ctx.input(static_cast<int>(2 + 2 * i)).shape(), gs[i].f, bias_name(i).c_str());
  const conv::Epilogue act = epilogue_of(read_activation(ctx.node()));
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "FusedConcatConv2D", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, output_shape(gs, channels));
    T* out = y.data<T>();
    // Images in chunks whose output fits in about kChunkBytes: the branches then write their
    // slices of a chunk while it is in cache (at batch 8, writing each branch's half of every
    // pixel across the whole 12 MB output cost more than the Concat it saves). A chunk runs
    // the path the whole batch would (paths depend on the geometry's size), so the bits
    // are the FusedConv2Ds'; when a chunk would change a branch's path, the batch goes whole.
    constexpr int64_t kChunkBytes = int64_t{1} << 20;
    const ConvGeometry& g0 = gs.front();
    const int64_t image_out = g0.oh * g0.ow * channels, image_in = g0.h * g0.w * g0.c;
    const int64_t image_bytes = image_out * static_cast<int64_t>(sizeof(T));
    int64_t step = std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(image_bytes, 1), 1, std::max<int64_t>(g0.n, 1));
    // The chunks are independent, so they go to the threads whole (a branch inside a chunk
    // then runs on one thread: the same bits as on several, and no hand-over per branch).
    // Their count is rounded up to a multiple of the threads, so that the threads get equal
    // shares (batch 8 at 13x13: 4 chunks of 2 images, not 3 of up to 3).
    const int64_t threads = ctx.pool().num_threads();
    if (threads > 1 && step < g0.n) {
      const int64_t count = ((g0.n + step - 1) / step + threads - 1) / threads * threads;
      step = std::max<int64_t>(1, (g0.n + count - 1) / count);
    }
    auto path = [](const ConvGeometry& g) {
      return std::array<bool, 3>{conv::prepacked_applies(g), conv::winograd_chosen(g), conv::implicit_chosen(g)};
    };
    for (const ConvGeometry& g : gs) {
      for (int64_t images : {std::min(step, g.n), g.n % step}) {  // a full chunk, the last one
        ConvGeometry chunk = g;
        chunk.n = images;
        if (images > 0 && path(chunk) != path(g)) step = std::max<int64_t>(g0.n, 1);
      }
    }
    ctx.pool().parallel_for((g0.n + step - 1) / step, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t n0 = c0 * step; n0 < std::min(g0.n, c1 * step); n0 += step) {
        const int64_t images = std::min(step, g0.n - n0);
        const T* xc = x.data<T>() + n0 * image_in;
        T* yc = out + n0 * image_out;
        int64_t offset = 0;
        for (size_t i = 0; i < gs.size(); ++i) {
          ConvGeometry g = gs[i];
          g.n = images;
          const int fi = static_cast<int>(1 + 2 * i);
          const T* bias = ctx.input(fi + 1).data<T>();
          g.ldy = channels;
          if (conv::strided_output_applies(g)) {
            conv_forward<T>(ctx, fi, g, xc, bias, act, yc + offset);
          } else {
            // A path that writes dense outputs (few input channels: the direct kernel): the
            // branch's own tensor, then its rows into the slice.
            g.ldy = 0;
            Tensor part(x.dtype(), conv_output_shape(g));
            conv_forward<T>(ctx, fi, g, xc, bias, act, part.data<T>());
            const T* src = part.data<T>();
            for (int64_t p = 0; p < g.out_pixels(); ++p) std::copy_n(src + p * g.f, g.f, yc + p * channels + offset);
          }
          offset += g.f;
        }
      }
    });
  });
}

Grads concat_conv_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Each branch's slice of the gradient (and of the output, which the activation's
  // derivative reads) goes back through that branch's convolution as FusedConv2D's
  // gradient does; the input's gradient is the sum over the branches.
  const Node& n = *op.node();
  const std::vector<ConvArgs> args = branch_args(n);
  const FusedActivation act = read_activation(n);
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < args.size(); ++i) {
    const Shape& f = op.input(static_cast<int>(1 + 2 * i)).shape();
    SLUICE_REQUIRE(f.known_rank() && f.rank() == 4 && f.dim(3) >= 0, Unimplemented,
                   "the gradient of FusedConcatConv2D needs each filter's output channels; filter ", i, " is ",
                   f.to_string());
    sizes.push_back(f.dim(3));
  }
  const std::vector<Output> gy = ops::split_v(s, g[0], sizes, 3), y = ops::split_v(s, op.output(0), sizes, 3);
  const Ints one{1, 1};
  const Output x = op.input(0);
  Grads grads(n.inputs.size());
  std::vector<Output> dx;
  for (size_t i = 0; i < args.size(); ++i) {
    const Output w = op.input(static_cast<int>(1 + 2 * i));
    const Output dz = activation_grad(s, act, gy[i], y[i]);
    dx.push_back(ops::conv2d_backprop_input(s, x, w, dz, one, args[i].pads, one, 1));
    grads[1 + 2 * i] = ops::conv2d_backprop_filter(s, x, w, dz, one, args[i].pads, one, 1);
    grads[2 + 2 * i] = ops::sum_to_like(s, dz, op.input(static_cast<int>(2 + 2 * i)));
  }
  grads[0] = ops::add_n(s, dx);
  return grads;
}

}  // namespace

void register_concat_conv_ops(OpRegistry& r) {
  r.op("FusedConcatConv2D")
      .input("input")
      .variadic_input("filters_and_biases")
      .output("output")
      .required_attr("branch_paddings")
      .attr("relu", false)  // FusedConv2D's older flag (read_activation reads both)
      .attr("activation", "none")
      .attr("clip_min", 0.0)
      .attr("clip_max", 0.0)
      .attr("alpha", 0.0)
      .shape_fn(concat_conv_shape)
      .kernel(concat_conv_kernel)
      .gradient(concat_conv_grad);
}

namespace ops {

Output fused_concat_conv2d(const Scope& s, const Output& input, const std::vector<ConcatConvBranch>& branches,
                           FusedActivation activation) {
  NodeBuilder b(s, "FusedConcatConv2D");
  b.input(input);
  std::vector<int64_t> pads;
  for (const ConcatConvBranch& br : branches) {
    const Pads& p = br.padding;
    SLUICE_REQUIRE(p.mode == Padding::valid || p.mode == Padding::explicit_pads, InvalidArgument,
                   "FusedConcatConv2D takes explicit or VALID padding per branch, got ", padding_name(p.mode));
    for (int64_t v : {p.top, p.bottom, p.left, p.right}) pads.push_back(p.mode == Padding::valid ? 0 : v);
    b.input(br.filter).input(br.bias);
  }
  b.attr("branch_paddings", pads);
  set_activation(b, activation);
  return b.finish().output(0);
}

}  // namespace ops
}  // namespace sluice
