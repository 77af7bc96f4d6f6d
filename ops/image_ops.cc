// Image resize ops: declaration, shape function, CPU kernel and gradient of each.
//
//   ResizeBilinear(images, size) -> y            ResizeBilinearGrad(grads, original) -> dx
//   ResizeNearestNeighbor(images, size) -> y     ResizeNearestNeighborGrad(grads, size) -> dx
//   Resize(images, size) -> y                    ResizeGrad(grads, original_like) -> dx
//
// Every resize is separable: along each axis, output index o reads up to 4 input indices
// with weights (1 for nearest, 2 for linear, 4 for cubic) computed once per axis. The
// forward kernels gather over those taps (output rows in parallel); the gradients scatter
// the same weights back (images in parallel: their scatters never overlap), so each is the
// exact adjoint of its forward op.
#include "image_ops.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "array_ops.h"
#include "kernel_util.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

// The sources of one output index along one axis.
struct Tap {
  int n = 0;
  int64_t idx[4] = {0, 0, 0, 0};
  float w[4] = {0, 0, 0, 0};
};

enum class Family { tf_bilinear, tf_nearest, onnx };

struct ResizeAttrs {
  Family family = Family::onnx;
  bool align_corners = false, half_pixel_centers = false;  // TF
  ops::ResizeOptions onnx;
};

Family family_of(const std::string& op_type) {
  if (op_type.rfind("ResizeBilinear", 0) == 0) return Family::tf_bilinear;
  if (op_type.rfind("ResizeNearestNeighbor", 0) == 0) return Family::tf_nearest;
  return Family::onnx;
}

ResizeAttrs read_attrs(const Node& node) {
  ResizeAttrs a;
  a.family = family_of(node.op_type());
  if (a.family != Family::onnx) {
    a.align_corners = node.attr<bool>("align_corners");
    a.half_pixel_centers = node.attr<bool>("half_pixel_centers");
    SLUICE_REQUIRE(!(a.align_corners && a.half_pixel_centers), InvalidArgument,
                   "If half_pixel_centers is True, align_corners must be False.");
    return a;
  }
  ops::ResizeOptions& o = a.onnx;
  o.mode = node.attr<std::string>("mode");
  o.coordinate_transformation_mode = node.attr<std::string>("coordinate_transformation_mode");
  o.nearest_mode = node.attr<std::string>("nearest_mode");
  o.cubic_coeff_a = node.attr<double>("cubic_coeff_a");
  o.exclude_outside = node.attr<bool>("exclude_outside");
  o.scales = node.attr<std::vector<double>>("scales");
  SLUICE_REQUIRE(o.mode == "nearest" || o.mode == "linear" || o.mode == "cubic", InvalidArgument,
                 "mode must be nearest, linear or cubic, got \"", o.mode, "\"");
  const std::string& t = o.coordinate_transformation_mode;
  SLUICE_REQUIRE(t != "tf_crop_and_resize", InvalidArgument,
                 "coordinate_transformation_mode tf_crop_and_resize is not supported");
  SLUICE_REQUIRE(t == "half_pixel" || t == "pytorch_half_pixel" || t == "align_corners" ||
                     t == "asymmetric" || t == "tf_half_pixel_for_nn",
                 InvalidArgument,
                 "coordinate_transformation_mode must be half_pixel, pytorch_half_pixel, "
                 "align_corners, asymmetric or tf_half_pixel_for_nn, got \"",
                 t, "\"");
  const std::string& nm = o.nearest_mode;
  SLUICE_REQUIRE(nm == "round_prefer_floor" || nm == "round_prefer_ceil" || nm == "floor" ||
                     nm == "ceil",
                 InvalidArgument,
                 "nearest_mode must be round_prefer_floor, round_prefer_ceil, floor or ceil, got \"",
                 nm, "\"");
  SLUICE_REQUIRE(o.scales.empty() || (o.scales.size() == 2 && o.scales[0] > 0 && o.scales[1] > 0),
                 InvalidArgument, "scales must be empty or two positive numbers {H, W}");
  return a;
}

// TF's CalculateResizeScale.
float tf_scale(int64_t in, int64_t out, bool align_corners) {
  return (align_corners && out > 1) ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                    : static_cast<float>(in) / static_cast<float>(out);
}

int64_t clamp_index(int64_t i, int64_t in) { return std::min(std::max<int64_t>(i, 0), in - 1); }

// Keys' cubic convolution weights of the taps floor(x)-1 .. floor(x)+2, t = x - floor(x).
void cubic_weights(float t, float a, float w[4]) {
  const float t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  w[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  w[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
  w[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

// The taps of every output index along `axis` (0 rows, 1 columns).
std::vector<Tap> axis_taps(const ResizeAttrs& a, int axis, int64_t in, int64_t out) {
  std::vector<Tap> taps(static_cast<size_t>(out));
  if (a.family != Family::onnx) {
    const float scale = tf_scale(in, out, a.align_corners);
    for (int64_t o = 0; o < out; ++o) {
      Tap& t = taps[static_cast<size_t>(o)];
      if (a.family == Family::tf_bilinear) {
        const float pos = a.half_pixel_centers
                              ? (static_cast<float>(o) + 0.5f) * scale - 0.5f
                              : static_cast<float>(o) * scale;
        const float lo = std::floor(pos);
        t.n = 2;
        t.idx[0] = std::max<int64_t>(static_cast<int64_t>(lo), 0);
        t.idx[1] = std::min(static_cast<int64_t>(std::ceil(pos)), in - 1);
        t.w[1] = pos - lo;  // the lerp
        t.w[0] = 1 - t.w[1];
      } else {
        const float pos = a.half_pixel_centers ? (static_cast<float>(o) + 0.5f) * scale
                                               : static_cast<float>(o) * scale;
        int64_t i = static_cast<int64_t>(a.align_corners ? std::round(pos) : std::floor(pos));
        i = std::min(i, in - 1);
        if (a.half_pixel_centers) i = std::max<int64_t>(i, 0);
        t.n = 1, t.idx[0] = i, t.w[0] = 1;
      }
    }
    return taps;
  }
  const ops::ResizeOptions& opt = a.onnx;
  const float s = opt.scales.empty() ? static_cast<float>(out) / static_cast<float>(in)
                                     : static_cast<float>(opt.scales[static_cast<size_t>(axis)]);
  const std::string& mode = opt.coordinate_transformation_mode;
  for (int64_t o = 0; o < out; ++o) {
    const float of = static_cast<float>(o);
    float x = 0;
    if (mode == "half_pixel") {
      x = (of + 0.5f) / s - 0.5f;
    } else if (mode == "pytorch_half_pixel") {
      x = out > 1 ? (of + 0.5f) / s - 0.5f : 0.0f;
    } else if (mode == "align_corners") {
      x = out > 1 ? of * static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
    } else if (mode == "asymmetric") {
      x = of / s;
    } else {  // tf_half_pixel_for_nn
      x = (of + 0.5f) / s;
    }
    // Far outside the image every tap lands on the edge (or is excluded): clamping keeps
    // the conversions below in range without changing any result.
    x = std::min(std::max(x, -4.0f), static_cast<float>(in) + 3.0f);
    Tap& t = taps[static_cast<size_t>(o)];
    const float fl = std::floor(x);
    if (opt.mode == "nearest") {
      const std::string& nm = opt.nearest_mode;
      float r;
      if (nm == "floor") {
        r = fl;
      } else if (nm == "ceil") {
        r = std::ceil(x);
      } else if (x == fl + 0.5f) {  // a tie
        r = nm == "round_prefer_floor" ? fl : fl + 1;
      } else {
        r = std::round(x);
      }
      t.n = 1, t.idx[0] = clamp_index(static_cast<int64_t>(r), in), t.w[0] = 1;
    } else if (opt.mode == "linear") {
      const int64_t i0 = static_cast<int64_t>(fl);
      t.n = 2;
      t.idx[0] = clamp_index(i0, in), t.idx[1] = clamp_index(i0 + 1, in);
      t.w[1] = x - fl, t.w[0] = 1 - t.w[1];
    } else {  // cubic
      const int64_t i0 = static_cast<int64_t>(fl);
      t.n = 4;
      cubic_weights(x - fl, static_cast<float>(opt.cubic_coeff_a), t.w);
      float total = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = i0 - 1 + k;
        if (opt.exclude_outside && (i < 0 || i >= in)) t.w[k] = 0;
        total += t.w[k];
        t.idx[k] = clamp_index(i, in);
      }
      if (opt.exclude_outside && total != 0)
        for (float& w : t.w) w /= total;
    }
  }
  return taps;
}

// ---- sizes ----

// {OH, OW} from a size tensor (int32/int64 [2]); with `allow_empty`, an empty [0] gives
// {-1, -1}.
std::array<int64_t, 2> read_size(const Tensor& size, bool allow_empty) {
  SLUICE_REQUIRE(size.dtype() == DType::i32 || size.dtype() == DType::i64, InvalidArgument,
                 "size must be int32 or int64, got ", size.summary());
  if (allow_empty && size.rank() == 1 && size.dim(0) == 0) return {-1, -1};
  SLUICE_REQUIRE(size.rank() == 1 && size.dim(0) == 2, InvalidArgument,
                 "size must be a 1-D tensor of 2 elements {height, width}, got ", size.summary());
  std::array<int64_t, 2> r;
  for (int i = 0; i < 2; ++i)
    r[i] = size.dtype() == DType::i32 ? size.data<int32_t>()[i] : size.data<int64_t>()[i];
  SLUICE_REQUIRE(r[0] > 0 && r[1] > 0, InvalidArgument, "size's elements must be positive, got [",
                 r[0], ",", r[1], "]");
  return r;
}

// The output's spatial size: the size input, or floor(in * scale) when it is empty and the
// op has scales. `in` entries may be -1 (unknown at build time).
std::array<int64_t, 2> output_hw(const ResizeAttrs& a, const std::array<int64_t, 2>& size,
                                 int64_t h, int64_t w) {
  if (size[0] >= 0) return size;
  SLUICE_REQUIRE(a.family == Family::onnx && !a.onnx.scales.empty(), InvalidArgument,
                 "an empty size needs scales");
  std::array<int64_t, 2> r;
  const int64_t in[2] = {h, w};
  for (int i = 0; i < 2; ++i) {
    r[i] = in[i] < 0 ? -1
                     : static_cast<int64_t>(std::floor(static_cast<double>(in[i]) *
                                                       a.onnx.scales[static_cast<size_t>(i)]));
    SLUICE_REQUIRE(r[i] != 0, InvalidArgument, "input size ", in[i], " times scale ",
                   a.onnx.scales[static_cast<size_t>(i)], " gives an empty output");
  }
  return r;
}

void require_images(const Shape& s, const char* what) {
  SLUICE_REQUIRE(!s.known_rank() || s.rank() == 4, InvalidArgument, what,
                 " must be 4-D [N,H,W,C], got ", s.to_string());
}

DType output_dtype(Family f, DType in) {
  if (f == Family::tf_bilinear) return in == DType::f64 ? DType::f64 : DType::f32;
  return in;
}

void require_supported(const ResizeAttrs& a, DType t) {
  const bool numeric = t == DType::f32 || t == DType::f64 || t == DType::i32 || t == DType::i64 ||
                       t == DType::u8;
  SLUICE_REQUIRE(numeric, InvalidArgument, "images must be a real number type, got ",
                 dtype_name(t));
  if (a.family == Family::onnx && a.onnx.mode != "nearest")
    SLUICE_REQUIRE(is_floating(t), InvalidArgument, a.onnx.mode,
                   " resize needs float32 or float64 images, got ", dtype_name(t));
}

void resize_shape(ShapeContext& ctx) {
  const ResizeAttrs a = read_attrs(ctx.node());
  const Shape& x = ctx.input_shape(0);
  require_images(x, "images");
  require_supported(a, ctx.input_dtype(0));
  const DType st = ctx.input_dtype(1);
  SLUICE_REQUIRE(st == DType::i32 || st == DType::i64, InvalidArgument,
                 "size must be int32 or int64, got ", dtype_name(st));
  std::array<int64_t, 2> size{-1, -1};
  const int64_t h = x.known_rank() ? x.dim(1) : -1, w = x.known_rank() ? x.dim(2) : -1;
  if (const Tensor* c = ctx.input_constant(1)) {
    size = output_hw(a, read_size(*c, a.family == Family::onnx), h, w);
  }
  const Shape out = x.known_rank() ? Shape{x.dim(0), size[0], size[1], x.dim(3)}
                                   : Shape{-1, size[0], size[1], -1};
  ctx.add_output(output_dtype(a.family, ctx.input_dtype(0)), out);
}

// ---- forward kernels ----

// The image geometry of one resize.
struct Geometry {
  int64_t n, h, w, c, oh, ow;
};

// out row (n, y): the weighted sum over taps (TF bilinear: its lerp form, so values match
// TensorFlow's rounding).
template <class In, class Out>
void resize_row(const ResizeAttrs& a, const Geometry& g, const In* x, const Tap& ty,
                const std::vector<Tap>& tx, int64_t n, Out* out) {
  const int64_t C = g.c;
  const In* img = x + n * g.h * g.w * C;
  for (int64_t xo = 0; xo < g.ow; ++xo) {
    const Tap& t = tx[static_cast<size_t>(xo)];
    Out* __restrict o = out + xo * C;
    if (ty.n == 1 && t.n == 1) {  // nearest: a copy, exact for every dtype
      const In* src = img + (ty.idx[0] * g.w + t.idx[0]) * C;
      for (int64_t ch = 0; ch < C; ++ch) o[ch] = static_cast<Out>(src[ch]);
      continue;
    }
    if (a.family == Family::tf_bilinear) {
      const In* tl = img + (ty.idx[0] * g.w + t.idx[0]) * C;
      const In* tr = img + (ty.idx[0] * g.w + t.idx[1]) * C;
      const In* bl = img + (ty.idx[1] * g.w + t.idx[0]) * C;
      const In* br = img + (ty.idx[1] * g.w + t.idx[1]) * C;
      const Out xl = static_cast<Out>(t.w[1]), yl = static_cast<Out>(ty.w[1]);
      for (int64_t ch = 0; ch < C; ++ch) {
        const Out top = static_cast<Out>(tl[ch]) +
                        (static_cast<Out>(tr[ch]) - static_cast<Out>(tl[ch])) * xl;
        const Out bottom = static_cast<Out>(bl[ch]) +
                           (static_cast<Out>(br[ch]) - static_cast<Out>(bl[ch])) * xl;
        o[ch] = top + (bottom - top) * yl;
      }
      continue;
    }
    for (int64_t ch = 0; ch < C; ++ch) o[ch] = Out(0);
    for (int i = 0; i < ty.n; ++i)
      for (int j = 0; j < t.n; ++j) {
        const Out wgt = static_cast<Out>(ty.w[i]) * static_cast<Out>(t.w[j]);
        const In* src = img + (ty.idx[i] * g.w + t.idx[j]) * C;
        for (int64_t ch = 0; ch < C; ++ch) o[ch] += wgt * static_cast<Out>(src[ch]);
      }
  }
}

void resize_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const ResizeAttrs a = read_attrs(ctx.node());
  SLUICE_REQUIRE(x.rank() == 4, InvalidArgument, "images must be 4-D [N,H,W,C], got ",
                 x.summary());
  require_supported(a, x.dtype());
  const auto hw = output_hw(a, read_size(ctx.input(1), a.family == Family::onnx), x.dim(1),
                            x.dim(2));
  const Geometry g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), hw[0], hw[1]};
  SLUICE_REQUIRE(g.h > 0 && g.w > 0, InvalidArgument, "cannot resize an empty image ",
                 x.summary());
  const std::vector<Tap> ty = axis_taps(a, 0, g.h, g.oh), tx = axis_taps(a, 1, g.w, g.ow);
  Tensor& y = ctx.allocate_output(
      0, Shape{g.n, g.oh, g.ow, g.c});  // checked against the allocation limit
  const int64_t row_cost = g.ow * g.c * 4;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row_cost, 1));
  dispatch<SLUICE_NUMERIC_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using In = typename decltype(tag)::type;
    auto run = [&](auto out_tag) {
      using Out = typename decltype(out_tag)::type;
      const In* xp = x.data<In>();
      Out* yp = y.data<Out>();
      parallel_range(ctx.pool(), g.n * g.oh, grain, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
          resize_row<In, Out>(a, g, xp, ty[static_cast<size_t>(r % g.oh)], tx, r / g.oh,
                              yp + r * g.ow * g.c);
      });
    };
    if (y.dtype() == DType::f32 && x.dtype() != DType::f32) {
      run(TypeTag<float>{});
    } else {
      run(TypeTag<In>{});
    }
  });
}

// ---- gradients ----

// dx [N,H,W,C] += the adjoint of the resize of an [N,H,W,C] image to dy [N,OH,OW,C].
template <class T>
void scatter_grad(ThreadPool& pool, const Geometry& g, const std::vector<Tap>& ty,
                  const std::vector<Tap>& tx, const T* dy, T* dx) {
  const int64_t C = g.c;
  std::fill_n(dx, g.n * g.h * g.w * C, T(0));
  parallel_range(pool, g.n, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t y = 0; y < g.oh; ++y) {
        const Tap& a = ty[static_cast<size_t>(y)];
        for (int64_t xo = 0; xo < g.ow; ++xo) {
          const Tap& b = tx[static_cast<size_t>(xo)];
          const T* src = dy + ((n * g.oh + y) * g.ow + xo) * C;
          for (int i = 0; i < a.n; ++i)
            for (int j = 0; j < b.n; ++j) {
              const T wgt = static_cast<T>(a.w[i]) * static_cast<T>(b.w[j]);
              T* dst = dx + ((n * g.h + a.idx[i]) * g.w + b.idx[j]) * C;
              for (int64_t ch = 0; ch < C; ++ch) dst[ch] += wgt * src[ch];
            }
        }
      }
  });
}

// (grads, original | size) -> the original image's shape. ResizeBilinearGrad and
// ResizeGrad take the original image (only its shape is read), ResizeNearestNeighborGrad
// its size.
void resize_grad_shape(ShapeContext& ctx) {
  const ResizeAttrs a = read_attrs(ctx.node());
  require_float(ctx, 0);
  const Shape& dy = ctx.input_shape(0);
  require_images(dy, "grads");
  if (a.family == Family::tf_nearest) {
    std::array<int64_t, 2> size{-1, -1};
    if (const Tensor* c = ctx.input_constant(1)) size = read_size(*c, false);
    ctx.add_output(ctx.input_dtype(0), dy.known_rank() ? Shape{dy.dim(0), size[0], size[1], dy.dim(3)}
                                                       : Shape{-1, size[0], size[1], -1});
    return;
  }
  const Shape& orig = ctx.input_shape(1);
  require_images(orig, "original_image");
  ctx.add_output(ctx.input_dtype(0), orig);
}

void resize_grad_kernel(KernelContext& ctx) {
  const Tensor& dy = ctx.input(0);
  const ResizeAttrs a = read_attrs(ctx.node());
  SLUICE_REQUIRE(dy.rank() == 4, InvalidArgument, "grads must be 4-D, got ", dy.summary());
  Geometry g{dy.dim(0), 0, 0, dy.dim(3), dy.dim(1), dy.dim(2)};
  if (a.family == Family::tf_nearest) {
    const auto hw = read_size(ctx.input(1), false);
    g.h = hw[0], g.w = hw[1];
  } else {
    const Tensor& orig = ctx.input(1);
    SLUICE_REQUIRE(orig.rank() == 4 && orig.dim(0) == g.n && orig.dim(3) == g.c, InvalidArgument,
                   "original_image ", orig.summary(), " does not match grads ", dy.summary());
    g.h = orig.dim(1), g.w = orig.dim(2);
    SLUICE_REQUIRE(g.h > 0 && g.w > 0, InvalidArgument, "empty original image ", orig.summary());
  }
  const std::vector<Tap> ty = axis_taps(a, 0, g.h, g.oh), tx = axis_taps(a, 1, g.w, g.ow);
  dispatch<SLUICE_FLOAT_TYPES>(dy.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, Shape{g.n, g.h, g.w, g.c});
    scatter_grad<T>(ctx.pool(), g, ty, tx, dy.data<T>(), dx.data<T>());
  });
}

// A node of `type` with the resize attrs of `op`.
Output like_op(const Scope& s, const char* type, const Operation& op, const Output& a,
               const Output& b) {
  NodeBuilder nb(s, type);
  nb.input(a).input(b);
  for (const auto& kv : op.node()->attrs) nb.attr(kv.first, kv.second);
  return nb.finish().output(0);
}

// The spatial size {H, W} of a 4-D tensor at run time (int64 [2]).
Output spatial_size(const Scope& s, const Output& x) {
  return ops::slice(s, ops::shape(s, x), {1}, {2});
}

Grads resize_grad(const Scope& s, const Operation& op, const Grads& g) {
  // The resize is linear in the image: its gradient scatters g back with the same weights
  const Output x = op.input(0);
  const Family f = family_of(op.type());
  if (f == Family::tf_nearest)
    return {like_op(s, "ResizeNearestNeighborGrad", op, g[0], spatial_size(s, x)), Output()};
  return {like_op(s, f == Family::tf_bilinear ? "ResizeBilinearGrad" : "ResizeGrad", op, g[0], x),
          Output()};
}

Grads resize_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // The gradient op is linear in grads; its adjoint is the forward resize to grads' size
  const Output dy = op.input(0);
  const Family f = family_of(op.type());
  const char* fwd = f == Family::tf_nearest    ? "ResizeNearestNeighbor"
                    : f == Family::tf_bilinear ? "ResizeBilinear"
                                               : "Resize";
  return {like_op(s, fwd, op, g[0], spatial_size(s, dy)), Output()};
}

NodeBuilder& tf_flags(NodeBuilder& b, bool align_corners, bool half_pixel_centers) {
  return b.attr("align_corners", align_corners).attr("half_pixel_centers", half_pixel_centers);
}

Output size_constant(const Scope& s, const std::vector<int64_t>& size) {
  return ops::constant(s, Tensor::from_vector(size, Shape{static_cast<int64_t>(size.size())}));
}

}  // namespace

void register_image_ops(OpRegistry& r) {
  auto tf = [](OpDefBuilder b) {
    b.attr("align_corners", false).attr("half_pixel_centers", false);
    return b;
  };
  tf(r.op("ResizeBilinear").input("images").input("size").output("resized_images"))
      .shape_fn(resize_shape)
      .kernel(resize_kernel)
      .gradient(resize_grad);
  tf(r.op("ResizeBilinearGrad").input("grads").input("original_image").output("output"))
      .shape_fn(resize_grad_shape)
      .kernel(resize_grad_kernel)
      .gradient(resize_grad_grad);
  tf(r.op("ResizeNearestNeighbor").input("images").input("size").output("resized_images"))
      .shape_fn(resize_shape)
      .kernel(resize_kernel)
      .gradient(resize_grad);
  tf(r.op("ResizeNearestNeighborGrad").input("grads").input("size").output("output"))
      .shape_fn(resize_grad_shape)
      .kernel(resize_grad_kernel)
      .gradient(resize_grad_grad);
  auto onnx = [](OpDefBuilder b) {
    b.attr("mode", "nearest")
        .attr("coordinate_transformation_mode", "half_pixel")
        .attr("nearest_mode", "round_prefer_floor")
        .attr("cubic_coeff_a", -0.75)
        .attr("exclude_outside", false)
        .attr("scales", std::vector<double>{});
    return b;
  };
  onnx(r.op("Resize").input("images").input("size").output("resized_images"))
      .shape_fn(resize_shape)
      .kernel(resize_kernel)
      .gradient(resize_grad);
  onnx(r.op("ResizeGrad").input("grads").input("original_image_like").output("output"))
      .shape_fn(resize_grad_shape)
      .kernel(resize_grad_kernel)
      .gradient(resize_grad_grad);
}

namespace ops {

Output resize_bilinear(const Scope& s, const Output& images, const Output& size,
                       bool align_corners, bool half_pixel_centers) {
  NodeBuilder b(s, "ResizeBilinear");
  b.input(images).input(size);
  return tf_flags(b, align_corners, half_pixel_centers).finish().output(0);
}

Output resize_bilinear(const Scope& s, const Output& images, std::vector<int64_t> size,
                       bool align_corners, bool half_pixel_centers) {
  return resize_bilinear(s, images, size_constant(s.without_name(), size), align_corners,
                         half_pixel_centers);
}

Output resize_nearest_neighbor(const Scope& s, const Output& images, const Output& size,
                               bool align_corners, bool half_pixel_centers) {
  NodeBuilder b(s, "ResizeNearestNeighbor");
  b.input(images).input(size);
  return tf_flags(b, align_corners, half_pixel_centers).finish().output(0);
}

Output resize_nearest_neighbor(const Scope& s, const Output& images, std::vector<int64_t> size,
                               bool align_corners, bool half_pixel_centers) {
  return resize_nearest_neighbor(s, images, size_constant(s.without_name(), size), align_corners,
                                 half_pixel_centers);
}

Output resize(const Scope& s, const Output& images, const Output& size,
              const ResizeOptions& o) {
  return NodeBuilder(s, "Resize")
      .input(images)
      .input(size)
      .attr("mode", o.mode)
      .attr("coordinate_transformation_mode", o.coordinate_transformation_mode)
      .attr("nearest_mode", o.nearest_mode)
      .attr("cubic_coeff_a", o.cubic_coeff_a)
      .attr("exclude_outside", o.exclude_outside)
      .attr("scales", o.scales)
      .finish()
      .output(0);
}

Output resize(const Scope& s, const Output& images, std::vector<int64_t> size,
              const ResizeOptions& o) {
  return resize(s, images, size_constant(s.without_name(), size), o);
}

}  // namespace ops
}  // namespace sluice
