// Layout ops: Pad (all modes), Tile, BroadcastTo (TensorFlow and ONNX Expand),
// DepthToSpace, SpaceToDepth, and their gradients. Pad and Tile build per-dimension index
// maps (axis_map.h): the forward op gathers through them and the gradient scatter-adds
// through the same maps, summing where several outputs read one input.
#include "layout_ops.h"

#include <algorithm>
#include <cctype>

#include "array_ops.h"
#include "axis_map.h"
#include "math_ops.h"
#include "reduction_ops.h"
#include "static_value.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The shape given by a shape-tensor input, as far as it is known statically.
Shape shape_input(const ShapeContext& ctx, int i, const char* what) {
  const auto elems = static_int_vector(ctx.node().inputs[i]);
  if (!elems) {
    const int64_t n = static_length(ctx.node().inputs[i]);
    return n < 0 ? Shape::unknown_rank() : Shape(Ints(n, -1));
  }
  Ints dims;
  for (const StaticElem& e : *elems) {
    SLUICE_REQUIRE(!e.known || e.value >= 0, InvalidArgument, what, " entries must be >= 0, got ",
                   e.value);
    dims.push_back(e.known ? e.value : -1);
  }
  return Shape(dims);
}

Ints shape_values(const Tensor& t, const char* what) {
  SLUICE_REQUIRE(t.rank() == 1, InvalidArgument, what, " must be a vector, got shape ",
                 t.shape().to_string());
  const Ints v = int_values(t, what);
  for (int64_t d : v)
    SLUICE_REQUIRE(d >= 0, InvalidArgument, what, " ", ints_to_string(v), " must be >= 0");
  return v;
}

// ---------------------------------------------------------------------------------------
// Pad, PadGrad

enum class PadMode { constant, reflect, symmetric, edge };

PadMode pad_mode(const std::string& name) {
  const std::string m = lower(name);
  if (m == "constant") return PadMode::constant;
  if (m == "reflect") return PadMode::reflect;
  if (m == "symmetric") return PadMode::symmetric;
  if (m == "edge") return PadMode::edge;
  throw InvalidArgument("Pad mode must be constant, reflect, symmetric or edge, got '" + name +
                        "'");
}

// {before_i, after_i} per dim from a [rank, 2] (TensorFlow) or [2*rank] (ONNX) tensor.
std::vector<std::pair<int64_t, int64_t>> pad_amounts(const Tensor& p, int rank) {
  const Ints v =
      int_values(p.rank() == 2 ? p.reshaped(Shape{p.num_elements()}) : p, "Pad paddings");
  const bool tf = p.rank() == 2;
  SLUICE_REQUIRE(tf ? p.dim(0) == rank && p.dim(1) == 2 : p.rank() == 1 && p.dim(0) == 2 * rank,
                 InvalidArgument, "Pad paddings of shape ", p.shape().to_string(),
                 " for an input of rank ", rank, " (expected [", rank, ",2] or [", 2 * rank, "])");
  // Paddings come from tensors: keep every sum far from overflow.
  constexpr int64_t kLimit = int64_t{1} << 40;
  for (int64_t x : v)
    SLUICE_REQUIRE(x > -kLimit && x < kLimit, InvalidArgument, "Pad paddings ", ints_to_string(v),
                   " are too large");
  std::vector<std::pair<int64_t, int64_t>> r(rank);
  for (int i = 0; i < rank; ++i)
    r[i] = tf ? std::make_pair(v[2 * i], v[2 * i + 1]) : std::make_pair(v[i], v[rank + i]);
  return r;
}

// Index into a dim of size n for the (possibly outside) position i.
int64_t pad_source(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::constant:
      return -1;
    case PadMode::edge:
      return i < 0 ? 0 : n - 1;
    case PadMode::reflect: {
      if (n == 1) return 0;
      const int64_t p = 2 * (n - 1), m = ((i % p) + p) % p;
      return m < n ? m : p - m;
    }
    case PadMode::symmetric: {
      const int64_t p = 2 * n, m = ((i % p) + p) % p;
      return m < n ? m : p - 1 - m;
    }
  }
  return -1;
}

// The padded shape (-1 where the input dim is unknown), validated.
Shape pad_out_shape(const Shape& in, const std::vector<std::pair<int64_t, int64_t>>& pads,
                    PadMode mode) {
  Ints out(in.rank(), -1);
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t n = in.dim(d), before = pads[d].first, after = pads[d].second;
    if (n < 0) continue;
    out[d] = n + before + after;
    SLUICE_REQUIRE(out[d] >= 0, InvalidArgument, "Pad paddings ", before, ", ", after, " crop dim ",
                   d, " of ", in.to_string(), " below zero");
    SLUICE_REQUIRE(mode == PadMode::constant || n > 0 || out[d] == 0, InvalidArgument,
                   "Pad cannot mirror or extend dim ", d, " of the empty input ", in.to_string());
  }
  return Shape(out);
}

// Maps of a validated pad whose output is not empty (so each map is at most its size).
AxisMaps pad_maps(const Shape& in, const std::vector<std::pair<int64_t, int64_t>>& pads,
                  PadMode mode) {
  AxisMaps maps(in.rank());
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t n = in.dim(d), before = pads[d].first;
    maps[d].resize(static_cast<size_t>(n + before + pads[d].second));
    for (size_t o = 0; o < maps[d].size(); ++o)
      maps[d][o] = pad_source(static_cast<int64_t>(o) - before, n, mode);
  }
  return maps;
}

Shape pad_static_shape(const ShapeContext& ctx, const Shape& in, int paddings_input) {
  const Output& p = ctx.node().inputs[paddings_input];
  const DType pd = p.dtype();
  SLUICE_REQUIRE(pd == DType::i32 || pd == DType::i64, InvalidArgument,
                 "Pad paddings must be int32 or int64, got ", dtype_name(pd));
  if (!in.known_rank()) return in;
  const Shape& ps = p.shape();
  SLUICE_REQUIRE(!ps.known_rank() || ps.compatible_with(Shape{in.rank(), 2}) ||
                     ps.compatible_with(Shape{2 * in.rank()}),
                 InvalidArgument, "Pad paddings of shape ", ps.to_string(),
                 " for an input of shape ", in.to_string(), " (expected [", in.rank(), ",2] or [",
                 2 * in.rank(), "])");
  const Tensor* c = ctx.input_constant(paddings_input);
  if (!c) return Shape(Ints(in.rank(), -1));
  return pad_out_shape(in, pad_amounts(*c, in.rank()), pad_mode(ctx.attr<std::string>("mode")));
}

void pad_shape(ShapeContext& ctx) {
  (void)pad_mode(ctx.attr<std::string>("mode"));
  const Shape& cv = ctx.input_shape(2);
  require_same_dtype(ctx, 0, 2);
  SLUICE_REQUIRE(!cv.known_rank() || cv.rank() == 0, InvalidArgument,
                 "Pad constant_value must be a scalar, got shape ", cv.to_string());
  ctx.add_output(ctx.input_dtype(0), pad_static_shape(ctx, ctx.input_shape(0), 1));
}
void pad_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cv = ctx.input(2);
  SLUICE_REQUIRE(cv.num_elements() == 1 && cv.rank() == 0, InvalidArgument,
                 "Pad constant_value must be a scalar, got shape ", cv.shape().to_string());
  const auto pads = pad_amounts(ctx.input(1), x.rank());
  const PadMode mode = pad_mode(ctx.attr<std::string>("mode"));
  Tensor& y = ctx.allocate_output(0, pad_out_shape(x.shape(), pads, mode));
  if (y.num_elements() > 0)
    gather_axis_maps(ctx.pool(), x, pad_maps(x.shape(), pads, mode), cv.raw_data(), y);
}
Grads pad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx pad(x) = g summed back onto the input element each output copies;
  // d/dvalue = sum of g over the padded positions (constant mode).
  const std::string& mode = op.node()->attr<std::string>("mode");
  Output dx = NodeBuilder(s, "PadGrad")
                  .input(g[0])
                  .input(ops::shape(s, op.input(0)))
                  .input(op.input(1))
                  .attr("mode", mode)
                  .finish()
                  .output(0);
  Output dc;
  if (pad_mode(mode) == PadMode::constant) dc = ops::sub(s, ops::sum(s, g[0]), ops::sum(s, dx));
  return {dx, Output(), dc};
}

void pad_grad_shape(ShapeContext& ctx) {
  (void)pad_mode(ctx.attr<std::string>("mode"));
  const Shape out = shape_input(ctx, 1, "PadGrad shape");
  const Shape padded = pad_static_shape(ctx, out, 2);
  SLUICE_REQUIRE(padded.compatible_with(ctx.input_shape(0)), InvalidArgument,
                 "PadGrad: gradient of shape ", ctx.input_shape(0).to_string(),
                 " for a padded shape ", padded.to_string());
  ctx.add_output(ctx.input_dtype(0), out);
}
void pad_grad_kernel(KernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  const Shape shape(shape_values(ctx.input(1), "PadGrad shape"));
  const auto pads = pad_amounts(ctx.input(2), shape.rank());
  const PadMode mode = pad_mode(ctx.attr<std::string>("mode"));
  const Shape padded = pad_out_shape(shape, pads, mode);
  SLUICE_REQUIRE(padded == g.shape(), InvalidArgument, "PadGrad: gradient of shape ",
                 g.shape().to_string(), " for a padded shape ", padded.to_string());
  Tensor& dx = ctx.allocate_output(0, shape);
  scatter_add_axis_maps(ctx.pool(), g,
                        g.num_elements() > 0 ? pad_maps(shape, pads, mode) : AxisMaps(shape.rank()),
                        dx);
}
Grads pad_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // PadGrad is the adjoint of pad with a zero constant, so its gradient is that pad.
  return {ops::pad(s, g[0], op.input(2), op.node()->attr<std::string>("mode")), Output(), Output()};
}

// ---------------------------------------------------------------------------------------
// Tile, TileGrad

// The tiled shape, validated.
Shape tile_out_shape(const Shape& in, const Ints& multiples) {
  SLUICE_REQUIRE(static_cast<int>(multiples.size()) == in.rank(), InvalidArgument,
                 "Tile multiples ", ints_to_string(multiples),
                 " must have one entry per dim of the input ", in.to_string());
  Ints out(in.rank());
  for (int d = 0; d < in.rank(); ++d) {
    SLUICE_REQUIRE(multiples[d] >= 0, InvalidArgument, "Tile multiples ", ints_to_string(multiples),
                   " must be >= 0");
    out[d] = checked_mul(in.dim(d), multiples[d], "Tile output size");
  }
  return Shape(out);
}

// Maps of a tile whose output is not empty: output index o reads o mod d.
AxisMaps tile_maps(const Shape& in, const Shape& out) {
  AxisMaps maps(in.rank());
  for (int d = 0; d < in.rank(); ++d) {
    maps[d].resize(static_cast<size_t>(out.dim(d)));
    for (int64_t o = 0; o < out.dim(d); ++o) maps[d][o] = o % in.dim(d);
  }
  return maps;
}

Shape tile_static_shape(const ShapeContext& ctx, const Shape& in, int multiples_input) {
  require_int_vector_input(ctx, multiples_input, "Tile multiples");
  const auto m = static_int_vector(ctx.node().inputs[multiples_input]);
  if (!in.known_rank()) return m ? Shape(Ints(m->size(), -1)) : in;
  SLUICE_REQUIRE(!m || static_cast<int>(m->size()) == in.rank(), InvalidArgument,
                 "Tile multiples of length ", m ? m->size() : 0, " for an input of shape ",
                 in.to_string());
  Ints out(in.rank(), -1);
  for (int d = 0; m && d < in.rank(); ++d) {
    const StaticElem& e = (*m)[d];
    SLUICE_REQUIRE(!e.known || e.value >= 0, InvalidArgument, "Tile multiples must be >= 0, got ",
                   e.value);
    if (e.known && in.dim(d) >= 0) out[d] = checked_mul(in.dim(d), e.value, "Tile output size");
  }
  return Shape(out);
}

void tile_shape(ShapeContext& ctx) {
  ctx.add_output(ctx.input_dtype(0), tile_static_shape(ctx, ctx.input_shape(0), 1));
}
void tile_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y =
      ctx.allocate_output(0, tile_out_shape(x.shape(), int_values(ctx.input(1), "Tile multiples")));
  if (y.num_elements() > 0)
    gather_axis_maps(ctx.pool(), x, tile_maps(x.shape(), y.shape()), nullptr, y);
}
Grads tile_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx tile(x) = g summed over the tiles
  Output dx = NodeBuilder(s, "TileGrad")
                  .input(g[0])
                  .input(ops::shape(s, op.input(0)))
                  .input(op.input(1))
                  .finish()
                  .output(0);
  return {dx, Output()};
}

void tile_grad_shape(ShapeContext& ctx) {
  const Shape out = shape_input(ctx, 1, "TileGrad shape");
  SLUICE_REQUIRE(tile_static_shape(ctx, out, 2).compatible_with(ctx.input_shape(0)),
                 InvalidArgument, "TileGrad: gradient of shape ", ctx.input_shape(0).to_string(),
                 " for a tiled ", out.to_string());
  ctx.add_output(ctx.input_dtype(0), out);
}
void tile_grad_kernel(KernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  const Shape shape(shape_values(ctx.input(1), "TileGrad shape"));
  const Shape tiled = tile_out_shape(shape, int_values(ctx.input(2), "Tile multiples"));
  SLUICE_REQUIRE(tiled == g.shape(), InvalidArgument, "TileGrad: gradient of shape ",
                 g.shape().to_string(), " for a tiled shape ", tiled.to_string());
  Tensor& dx = ctx.allocate_output(0, shape);
  scatter_add_axis_maps(
      ctx.pool(), g, g.num_elements() > 0 ? tile_maps(shape, tiled) : AxisMaps(shape.rank()), dx);
}
Grads tile_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::tile(s, g[0], op.input(2)), Output(), Output()};
}

// ---------------------------------------------------------------------------------------
// BroadcastTo (TensorFlow BroadcastTo; bidirectional: ONNX Expand)

// The output shape for x broadcast to `target` (-1 dims allowed at build time).
Shape broadcast_target(const Shape& x, const Shape& target, bool bidirectional) {
  const Shape b = broadcast_shapes(x, target);
  if (bidirectional || !target.known_rank() || !x.known_rank()) return b;
  SLUICE_REQUIRE(x.rank() <= target.rank(), InvalidArgument, "Unable to broadcast tensor of shape ",
                 x.to_string(), " to tensor of shape ", target.to_string());
  for (int i = 0; i < target.rank(); ++i) {
    SLUICE_REQUIRE(target.dim(i) < 0 || b.dim(i) < 0 || target.dim(i) == b.dim(i), InvalidArgument,
                   "Unable to broadcast tensor of shape ", x.to_string(), " to tensor of shape ",
                   target.to_string());
  }
  return target.merge(b);
}

void broadcast_to_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 1, "BroadcastTo shape");
  const Shape target = shape_input(ctx, 1, "BroadcastTo shape");
  ctx.add_output(ctx.input_dtype(0),
                 broadcast_target(ctx.input_shape(0), target, ctx.attr<bool>("bidirectional")));
}
void broadcast_to_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Shape out =
      broadcast_target(x.shape(), Shape(shape_values(ctx.input(1), "BroadcastTo shape")),
                       ctx.attr<bool>("bidirectional"));
  Tensor& y = ctx.allocate_output(0, out);
  if (y.num_elements() == 0) return;
  BroadcastLoop<1> loop(out, {&x.shape()});
  by_element_size(x.dtype(), [&](auto e) {
    using E = decltype(e);
    const E* src = static_cast<const E*>(x.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    for_each_broadcast_row<1>(ctx.pool(), loop, [&](int64_t o, auto off, int64_t n, auto st) {
      for (int64_t j = 0; j < n; ++j) dst[o + j] = src[off[0] + j * st[0]];
    });
  });
}
Grads broadcast_to_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx broadcast(x) = g summed over the broadcast dims
  return {ops::sum_to_like(s, g[0], op.input(0)), Output()};
}

// ---------------------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth

struct DepthSpaceAttrs {
  int64_t b;
  bool crd, nchw;
};

DepthSpaceAttrs depth_space_attrs(const Node& n) {
  const int64_t b = n.attr_int("block_size");
  const std::string mode = n.attr<std::string>("mode"), fmt = n.attr<std::string>("data_format");
  SLUICE_REQUIRE(b >= 1 && b <= (1 << 16), InvalidArgument,
                 "block_size must be in [1, 65536], got ", b);
  SLUICE_REQUIRE(mode == "DCR" || mode == "CRD", InvalidArgument, "mode must be DCR or CRD, got '",
                 mode, "'");
  SLUICE_REQUIRE(fmt == "NHWC" || fmt == "NCHW", InvalidArgument,
                 "data_format must be NHWC or NCHW, got '", fmt, "'");
  return {b, mode == "CRD", fmt == "NCHW"};
}

// The other side's shape: depth [N,H,W,C*b*b] <-> space [N,H*b,W*b,C] (or NCHW); -1 stays.
Shape depth_space_shape_of(const Shape& in, const DepthSpaceAttrs& a, bool to_space) {
  if (!in.known_rank()) return in;
  SLUICE_REQUIRE(in.rank() == 4, InvalidArgument, "input must have rank 4, got shape ",
                 in.to_string());
  const int ci = a.nchw ? 1 : 3, hi = a.nchw ? 2 : 1, wi = a.nchw ? 3 : 2;
  Ints d = in.dims();
  const int64_t bb = a.b * a.b;
  auto mul = [&](int64_t v) { return v < 0 ? v : checked_mul(v, a.b, "output size"); };
  if (to_space) {
    SLUICE_REQUIRE(d[ci] < 0 || d[ci] % bb == 0, InvalidArgument,
                   "DepthToSpace: the channel count ", d[ci], " of ", in.to_string(),
                   " is not divisible by block_size^2 = ", bb);
    d[ci] = d[ci] < 0 ? -1 : d[ci] / bb;
    d[hi] = mul(d[hi]);
    d[wi] = mul(d[wi]);
  } else {
    for (int i : {hi, wi})
      SLUICE_REQUIRE(d[i] < 0 || d[i] % a.b == 0, InvalidArgument, "SpaceToDepth: dim ", i, " of ",
                     in.to_string(), " is not divisible by block_size ", a.b);
    d[ci] = d[ci] < 0 ? -1 : checked_mul(d[ci], bb, "output size");
    d[hi] = d[hi] < 0 ? -1 : d[hi] / a.b;
    d[wi] = d[wi] < 0 ? -1 : d[wi] / a.b;
  }
  return Shape(d);
}

// Copies between the depth tensor D [N,H,W,Cd] (or NCHW) and the space tensor S
// [N,H*b,W*b,C] (or NCHW), Cd = C*b*b, in the direction given; rows of D over the pool.
void depth_space_copy(KernelContext& ctx, const Tensor& depth, const Tensor& space, bool to_space,
                      const DepthSpaceAttrs& a) {
  const Shape& ds = depth.shape();
  const int ci = a.nchw ? 1 : 3, hi = a.nchw ? 2 : 1, wi = a.nchw ? 3 : 2;
  const int64_t N = ds.dim(0), H = ds.dim(hi), W = ds.dim(wi), Cd = ds.dim(ci), b = a.b,
                C = Cd / (b * b);
  const int64_t Hs = H * b, Ws = W * b;
  by_element_size(depth.dtype(), [&](auto e) {
    using E = decltype(e);
    E* dp = static_cast<E*>(const_cast<void*>(depth.raw_data()));
    E* sp = static_cast<E*>(const_cast<void*>(space.raw_data()));
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, W * Cd));
    parallel_range(ctx.pool(), N * H, grain, [&](int64_t begin, int64_t end) {
      for (int64_t nh = begin; nh < end; ++nh) {
        const int64_t n = nh / H, h = nh % H;
        for (int64_t w = 0; w < W; ++w) {
          for (int64_t dc = 0; dc < Cd; ++dc) {
            const int64_t c = a.crd ? dc / (b * b) : dc % C;
            const int64_t by = a.crd ? (dc / b) % b : dc / (b * C);
            const int64_t bx = a.crd ? dc % b : (dc / C) % b;
            const int64_t y = h * b + by, x = w * b + bx;
            const int64_t d_off =
                a.nchw ? ((n * Cd + dc) * H + h) * W + w : ((n * H + h) * W + w) * Cd + dc;
            const int64_t s_off =
                a.nchw ? ((n * C + c) * Hs + y) * Ws + x : ((n * Hs + y) * Ws + x) * C + c;
            if (to_space) {
              sp[s_off] = dp[d_off];
            } else {
              dp[d_off] = sp[s_off];
            }
          }
        }
      }
    });
  });
}

template <bool kToSpace>
void depth_space_shape(ShapeContext& ctx) {
  ctx.add_output(ctx.input_dtype(0),
                 depth_space_shape_of(ctx.input_shape(0), depth_space_attrs(ctx.node()), kToSpace));
}
template <bool kToSpace>
void depth_space_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const DepthSpaceAttrs a = depth_space_attrs(ctx.node());
  Tensor& y = ctx.allocate_output(0, depth_space_shape_of(x.shape(), a, kToSpace));
  if (y.num_elements() == 0) return;
  if (kToSpace) {
    depth_space_copy(ctx, x, y, true, a);
  } else {
    depth_space_copy(ctx, y, x, false, a);
  }
}
template <bool kToSpace>
Grads depth_space_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx depth_to_space(x) = space_to_depth(g) with the same block, mode and layout (and back)
  const Node& n = *op.node();
  const int64_t b = n.attr_int("block_size");
  const std::string& mode = n.attr<std::string>("mode");
  const std::string& fmt = n.attr<std::string>("data_format");
  return {kToSpace ? ops::space_to_depth(s, g[0], b, mode, fmt)
                   : ops::depth_to_space(s, g[0], b, mode, fmt)};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registration

void register_layout_ops(OpRegistry& r) {
  r.op("Pad")
      .input("input")
      .input("paddings")
      .input("constant_value")
      .output("output")
      .attr("mode", "constant")
      .shape_fn(pad_shape)
      .kernel(pad_kernel)
      .gradient(pad_grad);
  r.op("PadGrad")
      .input("grad")
      .input("shape")
      .input("paddings")
      .output("output")
      .attr("mode", "constant")
      .shape_fn(pad_grad_shape)
      .kernel(pad_grad_kernel)
      .gradient(pad_grad_grad);
  r.op("Tile")
      .input("input")
      .input("multiples")
      .output("output")
      .shape_fn(tile_shape)
      .kernel(tile_kernel)
      .gradient(tile_grad);
  r.op("TileGrad")
      .input("grad")
      .input("shape")
      .input("multiples")
      .output("output")
      .shape_fn(tile_grad_shape)
      .kernel(tile_grad_kernel)
      .gradient(tile_grad_grad);
  r.op("BroadcastTo")
      .input("input")
      .input("shape")
      .output("output")
      .attr("bidirectional", false)
      .shape_fn(broadcast_to_shape)
      .kernel(broadcast_to_kernel)
      .gradient(broadcast_to_grad);
  r.op("DepthToSpace")
      .input("input")
      .output("output")
      .required_attr("block_size")
      .attr("mode", "DCR")
      .attr("data_format", "NHWC")
      .shape_fn(depth_space_shape<true>)
      .kernel(depth_space_kernel<true>)
      .gradient(depth_space_grad<true>);
  r.op("SpaceToDepth")
      .input("input")
      .output("output")
      .required_attr("block_size")
      .attr("mode", "DCR")
      .attr("data_format", "NHWC")
      .shape_fn(depth_space_shape<false>)
      .kernel(depth_space_kernel<false>)
      .gradient(depth_space_grad<false>);
}

// ---------------------------------------------------------------------------------------
// Builders

namespace ops {

Output pad(const Scope& scope, const Output& x, const Output& paddings, const std::string& mode,
           const Output& constant_value) {
  Output cv = constant_value;
  if (!cv.valid()) cv = ops::constant(scope.without_name(), Tensor::zeros(x.dtype(), Shape{}));
  return NodeBuilder(scope, "Pad")
      .input(x)
      .input(paddings)
      .input(cv)
      .attr("mode", mode)
      .finish()
      .output(0);
}

Output tile(const Scope& scope, const Output& x, const Output& multiples) {
  return NodeBuilder(scope, "Tile").input(x).input(multiples).finish().output(0);
}

Output broadcast_to(const Scope& scope, const Output& x, const Output& shape) {
  return NodeBuilder(scope, "BroadcastTo")
      .input(x)
      .input(shape)
      .attr("bidirectional", false)
      .finish()
      .output(0);
}

Output expand(const Scope& scope, const Output& x, const Output& shape) {
  return NodeBuilder(scope, "BroadcastTo")
      .input(x)
      .input(shape)
      .attr("bidirectional", true)
      .finish()
      .output(0);
}

Output depth_to_space(const Scope& scope, const Output& x, int64_t block_size,
                      const std::string& mode, const std::string& data_format) {
  return NodeBuilder(scope, "DepthToSpace")
      .input(x)
      .attr("block_size", block_size)
      .attr("mode", mode)
      .attr("data_format", data_format)
      .finish()
      .output(0);
}

Output space_to_depth(const Scope& scope, const Output& x, int64_t block_size,
                      const std::string& mode, const std::string& data_format) {
  return NodeBuilder(scope, "SpaceToDepth")
      .input(x)
      .attr("block_size", block_size)
      .attr("mode", mode)
      .attr("data_format", data_format)
      .finish()
      .output(0);
}

}  // namespace ops
}  // namespace sluice
