// FusedConv2DMaxPool (conv_pool_ops.h): declaration, shape function, CPU kernel and
// gradient.
#include "conv_pool_ops.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "conv_attrs.h"
#include "conv_lowering.h"
#include "kernel_util.h"
#include "pool_kernels.h"
#include "shape_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using conv::ConvGeometry;
using pool::PoolGeometry;
using Grads = std::vector<Output>;

const char* const kPool = "pool_";  // the prefix of the pool's attrs

// A band of pooled rows reads about this much of the convolution's output (L2 holds it
// between the convolution that writes it and the pool that reads it).
constexpr int64_t kBandBytes = 256 * 1024;

ConvGeometry conv_of(const Node& node, const Shape& x, const Shape& filter) {
  return conv_geometry(x, filter, read_conv_args(node), FilterLayout::grouped);
}

PoolGeometry pool_of(const Node& node, const ConvGeometry& g) {
  return pool::make_geometry(node, conv_output_shape(g), kPool);
}

void conv_pool_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1, 2});
  read_activation(ctx.node());
  const ConvGeometry g = conv_of(ctx.node(), ctx.input_shape(0), ctx.input_shape(1));
  check_bias(ctx.input_shape(2), g.f, "bias");
  ctx.add_output(ctx.input_dtype(0), pool::output_shape(pool_of(ctx.node(), g)));
}

// Pools the convolution's output in bands of `band` pooled rows: each band's convolution
// rows are computed into buf (the rows the previous band of the same part already computed
// are moved up, not recomputed), then pooled. Images split into `parts` ranges of pooled
// rows, the (image, part) pairs across the threads.
template <class T>
void banded(KernelContext& ctx, const ConvGeometry& g, const PoolGeometry& pg, const T* x, const T* bias,
            const conv::Epilogue& act, T* y) {
  const auto packed = packed_filter<T>(ctx, 1, g);
  const int64_t threads = ctx.pool().num_threads();
  // Images that the threads do not divide are cut into two ranges of pooled rows per thread
  // (each range recomputes the convolution rows its pooling windows share with the range
  // above: one row for a 3x3 stride-2 pool).
  const int64_t parts = threads > 1 && g.n % threads != 0 ? 2 * threads : 1;
  const int64_t row = g.ow * g.f;  // values per convolution row
  const int64_t extent = (pg.kh - 1) * pg.dh + 1;
  const int64_t fit = kBandBytes / std::max<int64_t>(row * static_cast<int64_t>(sizeof(T)), 1);
  const int64_t band = std::clamp<int64_t>((fit - extent) / pg.sh + 1, 1, std::max<int64_t>(pg.oh, 1));
  const int64_t max_rows = std::min(g.oh, (band - 1) * pg.sh + extent);
  auto buffers = [&] {
    return std::make_pair(workspace<T>(conv::implicit_workspace(g)), workspace<T>(max_rows * row));
  };
  // The (image, range) tasks in a contiguous share per thread; a thread that is done takes
  // tasks from the end of another's share.
  kernels::parallel_blocks(ctx.pool(), g.n * parts, buffers, [&](auto& buffer, int64_t t) {
    T *padded = buffer.first.get(), *buf = buffer.second.get();
    const int64_t n = t / parts, part = t % parts;
    const int64_t begin = pg.oh * part / parts, end = pg.oh * (part + 1) / parts;
    int64_t have_lo = 0, have_hi = 0;  // convolution rows [have_lo, have_hi) in buf
    for (int64_t py0 = begin; py0 < end; py0 += band) {
      const int64_t py1 = std::min(end, py0 + band);
      const int64_t first = py0 * pg.sh - pg.pad_top;  // the band's first window row
      const int64_t lo = std::clamp<int64_t>(first, 0, g.oh);
      const int64_t hi = std::clamp<int64_t>((py1 - 1) * pg.sh - pg.pad_top + extent, lo, g.oh);
      int64_t from = lo;
      if (have_lo <= lo && lo < have_hi) {
        std::memmove(buf, buf + (lo - have_lo) * row,
                     static_cast<size_t>((have_hi - lo) * row) * sizeof(T));
        from = have_hi;
      }
      if (hi > from)
        conv::implicit_rows<T>(g, x, n, from, hi, *packed, bias, act, padded,
                               buf + (from - lo) * row);
      have_lo = lo, have_hi = std::max(hi, from);
      // The band as an image of its own: rows [lo, hi), the rows above lo (padding or
      // outside the band) as pad_top.
      PoolGeometry gb = pg;
      gb.n = 1, gb.h = hi - lo, gb.oh = py1 - py0, gb.pad_top = lo - first;
      pool::max_pool_rows<T>(gb, buf, 0, 0, gb.oh, y + (n * pg.oh + py0) * pg.ow * pg.c);
    }
  });
}

void conv_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  require_inputs_dtype_of_first(ctx);
  const ConvGeometry g = conv_of(ctx.node(), x.shape(), ctx.input(1).shape());
  check_bias(ctx.input(2).shape(), g.f, "bias");
  const PoolGeometry pg = pool_of(ctx.node(), g);
  const conv::Epilogue act = epilogue_of(read_activation(ctx.node()));
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "FusedConv2DMaxPool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, pool::output_shape(pg));
    if (y.num_elements() == 0) return;
    const T* bias = ctx.input(2).data<T>();
    // Bands need the convolution by output rows (the implicit GEMM). Other paths write the
    // whole output: the convolution's tensor, then the pool.
    if (conv::implicit_chosen(g)) return banded<T>(ctx, g, pg, x.data<T>(), bias, act, y.data<T>());
    Tensor z(x.dtype(), conv_output_shape(g));
    conv_forward<T>(ctx, 1, g, x.data<T>(), bias, act, z.data<T>());
    pool::max_pool<T>(pg, z.data<T>(), y.data<T>(), ctx.pool());
  });
}

Grads conv_pool_grad(const Scope& s, const Operation& op, const Grads& g) {
  // The convolution's output again (the op does not keep it), MaxPool's gradient onto it,
  // then FusedConv2D's: dz = act'(z) * that; dx, dw as conv2d's, db the sum of dz.
  const Node& node = *op.node();
  const ConvArgs a = read_conv_args(node);
  const FusedActivation act = read_activation(node);
  const Output x = op.input(0), w = op.input(1), b = op.input(2);
  const Output z = ops::fused_conv2d(s, x, w, b, act, a.strides, a.pads, a.dilations, 1);
  NodeBuilder pool_grad(s, "MaxPoolGrad");
  pool_grad.input(z).input(g[0]);
  pool_grad.attr("ksize", node.attr<Ints>("pool_ksize")).attr("strides", node.attr<Ints>("pool_strides"));
  set_pads(pool_grad, read_pads(node, kPool));
  pool_grad.attr("dilations", node.attr<Ints>("pool_dilations")).attr("ceil_mode", node.attr<bool>("pool_ceil_mode"));
  const Output dz = activation_grad(s, act, pool_grad.finish().output(0), z);
  return {ops::conv2d_backprop_input(s, x, w, dz, a.strides, a.pads, a.dilations, 1),
          ops::conv2d_backprop_filter(s, x, w, dz, a.strides, a.pads, a.dilations, 1), ops::sum_to_like(s, dz, b)};
}

}  // namespace

void register_conv_pool_ops(OpRegistry& r) {
  const Ints ones{1, 1};
  r.op("FusedConv2DMaxPool")
      .input("input")
      .input("filter")
      .input("bias")
      .output("output")
      .attr("strides", ones)
      .attr("padding", "VALID")
      .attr("explicit_paddings", Ints{})
      .attr("dilations", ones)
      .attr("relu", false)  // FusedConv2D's older flag (read_activation reads both)
      .attr("activation", "none")
      .attr("clip_min", 0.0)
      .attr("clip_max", 0.0)
      .attr("alpha", 0.0)
      .required_attr("pool_ksize")
      .required_attr("pool_strides")
      .attr("pool_padding", "VALID")
      .attr("pool_explicit_paddings", Ints{})
      .attr("pool_dilations", ones)
      .attr("pool_ceil_mode", false)
      .shape_fn(conv_pool_shape)
      .kernel(conv_pool_kernel)
      .gradient(conv_pool_grad);
}

namespace ops {

Output fused_conv2d_max_pool(const Scope& s, const Output& input, const Output& filter, const Output& bias,
                             FusedActivation activation, std::vector<int64_t> strides, Pads padding,
                             std::vector<int64_t> dilations, const PoolWindow& pool) {
  NodeBuilder b(s, "FusedConv2DMaxPool");
  b.input(input).input(filter).input(bias);
  ConvArgs a;
  a.strides = std::move(strides), a.dilations = std::move(dilations), a.pads = padding;
  set_conv_args(b, a, false);
  set_activation(b, activation);
  b.attr("pool_ksize", pool.ksize).attr("pool_strides", pool.strides);
  set_pads(b, pool.padding, kPool);
  b.attr("pool_dilations", pool.dilations).attr("pool_ceil_mode", pool.ceil_mode);
  return b.finish().output(0);
}

}  // namespace ops
}  // namespace sluice
