#include "conv_attrs.h"

#include <algorithm>
#include <cstdlib>

#include "array_ops.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "nn_ops.h"

namespace sluice {

// ---- public helpers of conv_ops.h ----

const char* padding_name(Padding padding) {
  switch (padding) {
    case Padding::same:
      return "SAME";
    case Padding::valid:
      return "VALID";
    case Padding::explicit_pads:
      return "EXPLICIT";
    case Padding::same_lower:
      return "SAME_LOWER";
  }
  return "VALID";
}

Padding padding_from_name(const std::string& name) {
  if (name == "SAME" || name == "SAME_UPPER") return Padding::same;
  if (name == "VALID") return Padding::valid;
  if (name == "EXPLICIT") return Padding::explicit_pads;
  if (name == "SAME_LOWER") return Padding::same_lower;
  throw InvalidArgument("padding must be \"SAME\", \"VALID\", \"EXPLICIT\" or \"SAME_LOWER\", got \"" +
                        name + "\"");
}

Pads Pads::explicit_pads(int64_t top, int64_t bottom, int64_t left, int64_t right) {
  Pads p(Padding::explicit_pads);
  p.top = top, p.bottom = bottom, p.left = left, p.right = right;
  return p;
}

Pads Pads::onnx(const std::vector<int64_t>& pads) {
  SLUICE_REQUIRE(pads.size() == 4, InvalidArgument,
                 "ONNX pads for 2-D must have 4 entries [top, left, bottom, right], got ",
                 kernels::ints_to_string(pads));
  return explicit_pads(pads[0], pads[2], pads[1], pads[3]);
}

Pads Pads::tf_explicit(const std::vector<int64_t>& p) {
  SLUICE_REQUIRE(p.size() == 8 && p[0] == 0 && p[1] == 0 && p[6] == 0 && p[7] == 0,
                 InvalidArgument,
                 "explicit_paddings for NHWC must be [0,0,top,bottom,left,right,0,0], got ",
                 kernels::ints_to_string(p));
  return explicit_pads(p[2], p[3], p[4], p[5]);
}

std::vector<int64_t> Pads::attr_list() const {
  if (mode != Padding::explicit_pads) return {};
  return {top, bottom, left, right};
}

WindowDim window_dim(int64_t in, int64_t size, int64_t stride, int64_t dilation, Padding padding,
                     const char* what) {
  return window_dim(in, size, stride, dilation, padding, 0, 0, false, what);
}

WindowDim window_dim(int64_t in, int64_t size, int64_t stride, int64_t dilation, Padding padding,
                     int64_t explicit_before, int64_t explicit_after, bool ceil_mode,
                     const char* what) {
  SLUICE_REQUIRE(stride > 0, InvalidArgument, what, ": stride must be positive, got ", stride);
  SLUICE_REQUIRE(dilation > 0, InvalidArgument, what, ": dilation must be positive, got ",
                 dilation);
  SLUICE_REQUIRE(size > 0, InvalidArgument, what, ": window size must be positive, got ", size);
  const int64_t effective = checked_mul(size - 1, dilation, "dilated window size") + 1;
  WindowDim d;
  switch (padding) {
    case Padding::valid:
      if (in < 0) return {-1, 0, 0};
      SLUICE_REQUIRE(in >= effective, InvalidArgument, what,
                     ": computed output size would be empty (input size ", in,
                     " is smaller than the effective window size ", effective, ", VALID padding)");
      d.out = (in - effective) / stride + 1;  // = ceil((in - (size-1)*dilation) / stride)
      return d;
    case Padding::same:
    case Padding::same_lower: {
      if (in < 0) return {-1, 0, 0};
      d.out = (in + stride - 1) / stride;
      const int64_t total = std::max<int64_t>((d.out - 1) * stride + effective - in, 0);
      d.pad_before = padding == Padding::same ? total / 2 : total - total / 2;
      d.pad_after = total - d.pad_before;
      return d;
    }
    case Padding::explicit_pads: {
      constexpr int64_t kMaxPad = int64_t{1} << 40;  // keeps the sums below from overflowing
      SLUICE_REQUIRE(std::abs(explicit_before) <= kMaxPad && std::abs(explicit_after) <= kMaxPad,
                     InvalidArgument, what, ": explicit pads ", explicit_before, ", ",
                     explicit_after, " are out of range");
      d.pad_before = explicit_before, d.pad_after = explicit_after;
      if (in < 0) {
        d.out = -1;
        return d;
      }
      const int64_t padded = in + explicit_before + explicit_after;
      SLUICE_REQUIRE(padded >= effective, InvalidArgument, what,
                     ": computed output size would be empty (input size ", in, " padded by ",
                     explicit_before, " + ", explicit_after,
                     " is smaller than the effective window size ", effective, ")");
      if (!ceil_mode) {
        d.out = (padded - effective) / stride + 1;
      } else {
        d.out = (padded - effective + stride - 1) / stride + 1;
        // The last window must start inside the image or the leading padding.
        if ((d.out - 1) * stride >= in + explicit_before) --d.out;
      }
      return d;
    }
  }
  return d;
}

FusedActivation FusedActivation::clip_to(double lo, double hi) {
  FusedActivation a(clip);
  a.clip_min = lo, a.clip_max = hi;
  return a;
}

FusedActivation FusedActivation::leaky(double alpha) {
  FusedActivation a(leaky_relu);
  a.alpha = alpha;
  return a;
}

const char* FusedActivation::name() const {
  switch (kind) {
    case relu:
      return "relu";
    case relu6:
      return "relu6";
    case clip:
      return "clip";
    case leaky_relu:
      return "leaky_relu";
    default:
      return "none";
  }
}

namespace kernels {

Pads read_pads(const Node& node, const std::string& prefix) {
  const Padding mode = padding_from_name(node.attr<std::string>(prefix + "padding"));
  const std::string explicit_name = prefix + "explicit_paddings";
  const AttrValue* ep = node.find_attr(explicit_name);
  const Ints empty;
  const Ints& list = ep ? ep->get<Ints>(explicit_name) : empty;
  if (mode != Padding::explicit_pads) {
    SLUICE_REQUIRE(list.empty(), InvalidArgument, "explicit_paddings ", ints_to_string(list),
                   " given with padding ", padding_name(mode), " (only EXPLICIT takes them)");
    return Pads(mode);
  }
  if (list.size() == 8) return Pads::tf_explicit(list);
  SLUICE_REQUIRE(list.size() == 4, InvalidArgument,
                 "padding EXPLICIT needs explicit_paddings {top, bottom, left, right} (or TF's "
                 "8 NHWC entries), got ",
                 ints_to_string(list));
  return Pads::explicit_pads(list[0], list[1], list[2], list[3]);
}

void set_pads(NodeBuilder& b, const Pads& pads, const std::string& prefix) {
  b.attr(prefix + "padding", padding_name(pads.mode)).attr(prefix + "explicit_paddings", pads.attr_list());
}

ConvArgs read_conv_args(const Node& node) {
  ConvArgs a;
  a.strides = node.attr<Ints>("strides");
  a.dilations = node.attr<Ints>("dilations");
  const Ints &st = a.strides, &dl = a.dilations;
  SLUICE_REQUIRE(st.size() == 2, InvalidArgument, "strides must have 2 entries {SH,SW}, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(dl.size() == 2, InvalidArgument, "dilations must have 2 entries {DH,DW}, got ",
                 ints_to_string(dl));
  SLUICE_REQUIRE(st[0] > 0 && st[1] > 0, InvalidArgument, "strides must be positive, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(dl[0] > 0 && dl[1] > 0, InvalidArgument, "dilations must be positive, got ",
                 ints_to_string(dl));
  a.pads = read_pads(node);
  if (node.find_attr("groups")) {
    a.groups = node.attr<int64_t>("groups");
    SLUICE_REQUIRE(a.groups > 0, InvalidArgument, "groups must be positive, got ", a.groups);
  }
  return a;
}

NodeBuilder& set_conv_args(NodeBuilder& b, const ConvArgs& a, bool with_groups) {
  b.attr("strides", a.strides).attr("dilations", a.dilations);
  set_pads(b, a.pads);
  if (with_groups) b.attr("groups", a.groups);
  return b;
}

std::array<int64_t, 4> dims4(const Shape& s, const char* what, const char* layout) {
  SLUICE_REQUIRE(!s.known_rank() || s.rank() == 4, InvalidArgument, what, " must be 4-D ", layout,
                 ", got ", s.to_string());
  if (!s.known_rank()) return {-1, -1, -1, -1};
  return {s.dim(0), s.dim(1), s.dim(2), s.dim(3)};
}

conv::ConvGeometry conv_geometry(const Shape& input, const Shape& filter, const ConvArgs& a,
                                 FilterLayout layout) {
  const bool dw = layout == FilterLayout::depthwise;
  const auto in = dims4(input, "input", "[N,H,W,C]");
  const auto fl = dims4(filter, "filter", dw ? "[KH,KW,C,M]" : "[KH,KW,C/groups,F]");
  // Only an error message needs the shapes as text: a kernel calls this on every run.
  const auto shapes = [&] { return "input " + input.to_string() + ", filter " + filter.to_string(); };
  for (int i = 0; i < 2; ++i)
    SLUICE_REQUIRE(fl[i] != 0, InvalidArgument,
                   "filter height and width must be positive: ", shapes());
  conv::ConvGeometry g;
  g.n = in[0], g.h = in[1], g.w = in[2];
  g.kh = fl[0], g.kw = fl[1];
  g.sh = a.strides[0], g.sw = a.strides[1], g.dh = a.dilations[0], g.dw = a.dilations[1];
  if (dw) {
    SLUICE_REQUIRE(in[3] < 0 || fl[2] < 0 || in[3] == fl[2], InvalidArgument,
                   "input depth must equal the filter's in_channels (dim 2): ", shapes());
    g.c = in[3] >= 0 ? in[3] : fl[2];
    g.f = g.c >= 0 && fl[3] >= 0 ? g.c * fl[3] : -1;
    g.groups = g.c > 0 ? g.c : 1;
  } else {
    const int64_t groups = a.groups;
    SLUICE_REQUIRE(in[3] < 0 || fl[2] < 0 || in[3] == fl[2] * groups, InvalidArgument,
                   "input depth must equal the filter's in_channels (dim 2) times groups (",
                   groups, "): ", shapes());
    SLUICE_REQUIRE(fl[3] < 0 || fl[3] % groups == 0, InvalidArgument, "groups (", groups,
                   ") must divide the filter's out_channels (dim 3): ", shapes());
    g.c = in[3] >= 0 ? in[3] : (fl[2] >= 0 ? fl[2] * groups : -1);
    g.f = fl[3];
    g.groups = groups;
  }
  try {
    const Pads& p = a.pads;
    const WindowDim rows = window_dim(g.h, g.kh < 0 ? 1 : g.kh, g.sh, g.dh, p.mode, p.top,
                                      p.bottom, false, "rows");
    const WindowDim cols = window_dim(g.w, g.kw < 0 ? 1 : g.kw, g.sw, g.dw, p.mode, p.left,
                                      p.right, false, "cols");
    g.oh = g.kh < 0 ? -1 : rows.out, g.pad_top = rows.pad_before;
    g.ow = g.kw < 0 ? -1 : cols.out, g.pad_left = cols.pad_before;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + "; " + shapes());
  }
  return g;
}

Shape conv_output_shape(const conv::ConvGeometry& g) { return Shape{g.n, g.oh, g.ow, g.f}; }

void check_out_backprop(const conv::ConvGeometry& g, const Shape& dy, const Shape& input,
                        const Shape& filter) {
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,F]");
  const int64_t want[4] = {g.n, g.oh, g.ow, g.f};
  for (int i = 0; i < 4; ++i)
    SLUICE_REQUIRE(d[i] < 0 || want[i] < 0 || d[i] == want[i], InvalidArgument, "out_backprop ",
                   dy.to_string(), " does not match the convolution of input ", input.to_string(),
                   " and filter ", filter.to_string(), ", which gives ",
                   conv_output_shape(g).to_string());
}

FusedActivation read_activation(const Node& node, const std::string& prefix) {
  const std::string& name = node.attr<std::string>(prefix + "activation");
  const bool relu_flag = prefix.empty() && node.attr<bool>("relu");
  FusedActivation a;
  if (name == "none") {
    a.kind = relu_flag ? FusedActivation::relu : FusedActivation::none;
    return a;
  }
  SLUICE_REQUIRE(!relu_flag || name == "relu", InvalidArgument, "relu = true contradicts activation \"",
                 name, "\"");
  if (name == "relu") {
    a.kind = FusedActivation::relu;
  } else if (name == "relu6") {
    a.kind = FusedActivation::relu6;
  } else if (name == "clip") {
    a = FusedActivation::clip_to(node.attr<double>(prefix + "clip_min"), node.attr<double>(prefix + "clip_max"));
    SLUICE_REQUIRE(a.clip_min <= a.clip_max, InvalidArgument, "clip_min ", a.clip_min,
                   " must not exceed clip_max ", a.clip_max);
  } else if (name == "leaky_relu") {
    a = FusedActivation::leaky(node.attr<double>(prefix + "alpha"));
    SLUICE_REQUIRE(a.alpha >= 0, InvalidArgument,
                   "a fused leaky_relu needs alpha >= 0 (its gradient is read from the output), "
                   "got ",
                   a.alpha);
  } else {
    throw InvalidArgument("activation must be none, relu, relu6, clip or leaky_relu, got \"" +
                          name + "\"");
  }
  return a;
}

void set_activation(NodeBuilder& b, const FusedActivation& act, const std::string& prefix) {
  b.attr(prefix + "activation", act.name())
      .attr(prefix + "clip_min", act.clip_min)
      .attr(prefix + "clip_max", act.clip_max)
      .attr(prefix + "alpha", act.alpha);
}

conv::Epilogue epilogue_of(const FusedActivation& act) {
  using conv::Epilogue;
  switch (act.kind) {
    case FusedActivation::relu:
      return Epilogue(Epilogue::relu, 0, 0, 0);
    case FusedActivation::relu6:
      return Epilogue(Epilogue::clip, 0, 6, 0);
    case FusedActivation::clip:
      return Epilogue(Epilogue::clip, act.clip_min, act.clip_max, 0);
    case FusedActivation::leaky_relu:
      return Epilogue(Epilogue::leaky_relu, 0, 0, act.alpha);
    default:
      return Epilogue();
  }
}

Output activation_grad(const Scope& s, const FusedActivation& act, const Output& g,
                       const Output& y) {
  switch (act.kind) {
    case FusedActivation::relu:
      // d/dz relu(z) = 1 where y > 0
      return NodeBuilder(s, "ReluGrad").input(g).input(y).finish().output(0);
    case FusedActivation::relu6:
    case FusedActivation::clip: {
      // d/dz clip(z, lo, hi) = 1 where lo < y < hi, else 0
      const double lo = act.kind == FusedActivation::relu6 ? 0 : act.clip_min;
      const double hi = act.kind == FusedActivation::relu6 ? 6 : act.clip_max;
      const Output inside = ops::logical_and(s, ops::greater(s, y, ops::scalar_like(s, y, lo)),
                                             ops::less(s, y, ops::scalar_like(s, y, hi)));
      return ops::select(s, inside, g, ops::zeros_like(s, g));
    }
    case FusedActivation::leaky_relu:
      // d/dz leaky(z) = 1 where y > 0, else alpha (y and z have the same sign for alpha > 0)
      return ops::select(s, ops::greater(s, y, ops::scalar_like(s, y, 0.0)), g,
                         ops::mul(s, g, ops::scalar_like(s, g, act.alpha)));
    default:
      return g;
  }
}

void check_bias(const Shape& b, int64_t n, const char* what) {
  SLUICE_REQUIRE(!b.known_rank() || (b.rank() == 1 && (b.dim(0) < 0 || n < 0 || b.dim(0) == n)), InvalidArgument,
                 what, " must be [", n, "], got ", b.to_string());
}

Pads explicit_pads_of(const conv::ConvGeometry& g) {
  const int64_t bottom = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.pad_top;
  const int64_t right = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pad_left;
  return Pads::explicit_pads(g.pad_top, bottom, g.pad_left, right);
}

void require_inputs_dtype_of_first(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i)
    SLUICE_REQUIRE(ctx.input(i).dtype() == x.dtype(), InvalidArgument, "every input must be ", dtype_name(x.dtype()),
                   " like the input; input ", i, " is ", ctx.input(i).summary());
}

void require_float_inputs(const ShapeContext& ctx, std::initializer_list<int> inputs) {
  for (int i : inputs) {
    require_float(ctx, i);
    require_same_dtype(ctx, *inputs.begin(), i);
  }
}

}  // namespace kernels
}  // namespace sluice
