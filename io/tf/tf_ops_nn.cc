// TF op table, neural-network ops: activations, softmax, convolution and pooling (NHWC
// kernels; NCHW by transposing around them), fused batch normalization.
#include "../../ops/array_ops.h"
#include "../../ops/codec_ops.h"
#include "../../ops/activation_ops.h"
#include "../../ops/conv_ops.h"
#include "../../ops/depthwise_ops.h"
#include "../../ops/image_ops.h"
#include "../../ops/layer_norm_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/normalization_ops.h"
#include "../../ops/pool_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

namespace {

template <Output (*f)(const Scope&, const Output&)>
Converted unary(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(f(ctx.scope(), ctx.input(0)));
}

Padding padding_of(const ConvertContext& ctx) {
  const std::string p = ctx.attr_string("padding");
  if (p == "SAME") return Padding::same;
  if (p == "VALID") return Padding::valid;
  ctx.unsupported("padding '" + p + "' is not supported (SAME, VALID)");
}

// Convolutions also take padding EXPLICIT with `explicit_paddings` (8 entries, pairs in
// data_format order; batch and channel pairs 0).
Pads pads_of(const ConvertContext& ctx, bool nchw) {
  if (ctx.attr_string("padding") != "EXPLICIT") return padding_of(ctx);
  const std::vector<int64_t> p = ctx.attr_ints("explicit_paddings");
  if (p.size() != 8) ctx.invalid("explicit_paddings must have 8 entries, has " + std::to_string(p.size()));
  const int h = nchw ? 4 : 2, c = nchw ? 2 : 6;
  if (p[0] != 0 || p[1] != 0 || p[c] != 0 || p[c + 1] != 0)
    ctx.unsupported("explicit_paddings must be 0 in the batch and channel dims");
  for (int64_t v : p)
    if (v < 0) ctx.invalid("explicit_paddings must be >= 0");
  return Pads::explicit_pads(p[h], p[h + 1], p[h + 2], p[h + 3]);
}

// The spatial {H, W} entries of a 4-entry strides/ksize/dilations attr, checking that the
// batch and channel entries are 1.
std::vector<int64_t> spatial(const ConvertContext& ctx, const std::string& attr, bool nchw,
                             std::vector<int64_t> def = {}) {
  const std::vector<int64_t> v = def.empty() ? ctx.attr_ints(attr) : ctx.attr_ints(attr, def);
  if (v.size() != 4) ctx.invalid("attr '" + attr + "' must have 4 entries, has " + std::to_string(v.size()));
  const int h = nchw ? 2 : 1, c = nchw ? 1 : 3;
  if (v[0] != 1 || v[c] != 1) ctx.unsupported("attr '" + attr + "' must be 1 in the batch and channel dims");
  return {v[h], v[h + 1]};
}

Converted convert_conv2d(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const bool nchw = is_nchw(ctx);
  const auto strides = spatial(ctx, "strides", nchw);
  const auto dilations = spatial(ctx, "dilations", nchw, {1, 1, 1, 1});
  const Pads padding = pads_of(ctx, nchw);
  const bool depthwise = ctx.op_type() == "DepthwiseConv2dNative";
  auto conv = [&](const Scope& s, const Output& x) {
    return depthwise ? ops::depthwise_conv2d(s, x, ctx.input(1), strides, padding, dilations)
                     : ops::conv2d(s, x, ctx.input(1), strides, padding, dilations);
  };
  if (!nchw) return ctx.one(conv(ctx.scope(), ctx.input(0)));
  return ctx.one(to_nchw(ctx, conv(ctx.aux("conv"), to_nhwc(ctx, ctx.input(0))), true));
}

// Conv2DBackpropInput(input_sizes, filter, out_backprop): the transposed convolution of
// out_backprop to the (constant) input_sizes.
Converted convert_conv2d_backprop_input(ConvertContext& ctx) {
  ctx.require_inputs(3);
  const bool nchw = is_nchw(ctx);
  const auto strides = spatial(ctx, "strides", nchw);
  const auto dilations = spatial(ctx, "dilations", nchw, {1, 1, 1, 1});
  const Pads padding = pads_of(ctx, nchw);
  const std::vector<int64_t> sizes = ctx.constant_ints(0, "the input_sizes input");
  if (sizes.size() != 4) ctx.invalid("input_sizes must have 4 entries, has " + std::to_string(sizes.size()));
  const std::vector<int64_t> hw = nchw ? std::vector<int64_t>{sizes[2], sizes[3]} : std::vector<int64_t>{sizes[1], sizes[2]};
  if (hw[0] < 1 || hw[1] < 1) ctx.invalid("input_sizes must be positive in H and W");
  auto tconv = [&](const Scope& s, const Output& dy) {
    return ops::conv2d_transpose(s, dy, ctx.input(1), strides, padding, hw, {0, 0}, dilations);
  };
  if (!nchw) return ctx.one(tconv(ctx.scope(), ctx.input(2)));
  return ctx.one(to_nchw(ctx, tconv(ctx.aux("conv"), to_nhwc(ctx, ctx.input(2))), true));
}

Converted convert_lrn(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const int64_t r = ctx.attr_int("depth_radius", 5);
  if (r < 0 || r > 65536) ctx.invalid("depth_radius must be in [0, 65536], is " + std::to_string(r));
  return ctx.one(ops::lrn(ctx.scope(), ctx.input(0), r, ctx.attr_float("bias", 1.0f), ctx.attr_float("alpha", 1.0f),
                          ctx.attr_float("beta", 0.5f)));
}

template <Output (*f)(const Scope&, const Output&, const Output&, bool, bool)>
Converted convert_resize(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(f(ctx.scope(), ctx.input(0), ctx.input(1), ctx.attr_bool("align_corners", false),
                   ctx.attr_bool("half_pixel_centers", false)));
}

Converted convert_leaky_relu(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(ops::leaky_relu(ctx.scope(), ctx.input(0), ctx.attr_float("alpha", 0.2f)));
}

// TF's pools with their defaults (no dilation, floor mode; AvgPool divides by the
// non-padding count), in one signature for convert_pool.
using PoolFn = Output (*)(const Scope&, const Output&, std::vector<int64_t>, std::vector<int64_t>, Padding);
Output tf_max_pool(const Scope& s, const Output& x, std::vector<int64_t> k, std::vector<int64_t> st, Padding p) {
  return ops::max_pool(s, x, std::move(k), std::move(st), p);
}
Output tf_avg_pool(const Scope& s, const Output& x, std::vector<int64_t> k, std::vector<int64_t> st, Padding p) {
  return ops::avg_pool(s, x, std::move(k), std::move(st), p);
}

template <PoolFn pool>
Converted convert_pool(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const bool nchw = is_nchw(ctx);
  const auto ksize = spatial(ctx, "ksize", nchw), strides = spatial(ctx, "strides", nchw);
  const Padding padding = padding_of(ctx);
  if (!nchw) return ctx.one(pool(ctx.scope(), ctx.input(0), ksize, strides, padding));
  Output y = pool(ctx.aux("pool"), to_nhwc(ctx, ctx.input(0)), ksize, strides, padding);
  return ctx.one(to_nchw(ctx, y, true));
}

// FusedBatchNorm / V2 / V3: y = scale * (x - m) / sqrt(v + epsilon) + offset with TF's
// epsilon (default 1e-4) as given. is_training (TF's default: true) uses batch statistics
// (batch_variance Bessel-corrected, y with the biased one, as TF); V3's
// exponential_avg_factor blends them with the given mean/variance.
Converted convert_fused_batch_norm(ConvertContext& ctx) {
  ctx.require_inputs(5);
  const bool nchw = is_nchw(ctx);
  const bool training = ctx.attr_bool("is_training", true);
  const double eps = ctx.attr_float("epsilon", 1e-4f);
  const double factor = ctx.attr_float("exponential_avg_factor", 1.0f);
  Output x = ctx.input(0);
  const Output scale = ctx.input(1), offset = ctx.input(2);
  Output mean = ctx.input(3), var = ctx.input(4);
  if (training) {
    // TF passes empty mean/variance in training; Sluice's op wants [C] tensors it ignores.
    if (mean.shape().rank() == 1 && mean.shape().dim(0) == 0) mean = ops::zeros_like(ctx.aux("mean"), scale);
    if (var.shape().rank() == 1 && var.shape().dim(0) == 0) var = ops::zeros_like(ctx.aux("variance"), scale);
  }
  if (nchw) {
    if (x.shape().rank() != 4) ctx.unsupported("NCHW needs a 4-d input, got " + x.shape().to_string());
    x = to_nhwc(ctx, x);
  }
  const Output phase = ops::constant(ctx.aux("is_training"), Tensor(training));
  const Scope s = nchw ? ctx.aux("bn") : ctx.scope();
  ops::FusedBatchNormOutputs bn = ops::fused_batch_norm(s, x, scale, offset, mean, var, phase, eps, true);
  Output y = nchw ? to_nchw(ctx, bn.y, true) : bn.y;
  Output batch_mean = bn.batch_mean, batch_var = bn.batch_variance;
  if (training && factor != 1.0) {
    auto blend = [&](const Output& old_v, const Output& new_v, const std::string& what) {
      return ops::add(ctx.aux(what), ops::mul(ctx.aux(what + "_old"), old_v, ops::scalar_like(ctx.aux(what + "_1mf"), old_v, 1.0 - factor)),
                      ops::mul(ctx.aux(what + "_new"), new_v, ops::scalar_like(ctx.aux(what + "_f"), new_v, factor)));
    };
    batch_mean = blend(ctx.input(3), batch_mean, "avg_mean");
    batch_var = blend(ctx.input(4), batch_var, "avg_var");
  }
  // reserve_space_1 is the mean used; the other reserve spaces are TF-internal (cuDNN) and
  // not produced.
  std::vector<Output> outs = {y, batch_mean, batch_var, bn.reserve_mean, Output()};
  if (ctx.op_type() == "FusedBatchNormV3") outs.push_back(Output());
  return Converted{outs, nchw ? y.op() : bn.op};
}

// The image decoders (ops/codec_ops.h). TF's DecodeJpeg options that change the pixels
// (ratio, dct_method, fancy_upscaling off, try_recover_truncated) are refused, not ignored.
Converted convert_decode(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const std::string type = ctx.op_type();
  const int64_t channels = ctx.attr_int("channels", 0);
  const DType dtype = ctx.has_attr("dtype") ? ctx.attr_dtype("dtype") : DType::u8;
  if (type == "DecodePng") return ctx.one(ops::decode_png(ctx.scope(), ctx.input(0), channels, dtype));
  if (type == "DecodeImage") return ctx.one(ops::decode_image(ctx.scope(), ctx.input(0), channels, dtype));
  if (ctx.attr_int("ratio", 1) != 1) ctx.unsupported("ratio other than 1 is not supported");
  if (!ctx.attr_bool("fancy_upscaling", true)) ctx.unsupported("fancy_upscaling = false is not supported");
  if (ctx.attr_bool("try_recover_truncated", false)) ctx.unsupported("try_recover_truncated is not supported");
  const std::string dct = ctx.attr_string("dct_method", "");
  if (!dct.empty() && dct != "INTEGER_FAST") ctx.unsupported("dct_method '" + dct + "' is not supported (INTEGER_FAST is)");
  return ctx.one(ops::decode_jpeg(ctx.scope(), ctx.input(0), channels));
}

}  // namespace

void add_nn_ops(std::vector<OpEntry>& t) {
  t.push_back({"Relu", unary<ops::relu>, "Relu", ""});
  t.push_back({"Softmax", unary<ops::softmax>, "Softmax", "over the last axis"});
  t.push_back({"LogSoftmax", unary<ops::log_softmax>, "LogSoftmax", "over the last axis"});
  const char* conv = "`strides`, `dilations` (1 in batch and channel), `padding` SAME (TF's split: the extra row/col "
                     "at the bottom/right, also for even kernels and stride 2), VALID or EXPLICIT (`explicit_paddings`), "
                     "`data_format` NHWC or NCHW (transposed around the NHWC kernel); filter HWIO";
  t.push_back({"Conv2D", convert_conv2d, "Conv2D (+ Transposes for NCHW)", conv});
  t.push_back({"DepthwiseConv2dNative", convert_conv2d, "DepthwiseConv2d (+ Transposes for NCHW)",
               "as Conv2D; filter [KH, KW, C, multiplier] -> C * multiplier channels"});
  t.push_back({"Conv2DBackpropInput", convert_conv2d_backprop_input, "Conv2DTranspose (+ Transposes for NCHW)",
               "constant input_sizes (the output's shape); `strides`, `dilations`, `padding` SAME/VALID/EXPLICIT, "
               "`data_format` as Conv2D; filter [KH, KW, C_out, C_in] (tf.nn.conv2d_transpose)"});
  t.push_back({"Relu6", unary<ops::relu6>, "Relu6", "min(max(x, 0), 6)"});
  t.push_back({"Elu", [](ConvertContext& c) { c.require_inputs(1); return c.one(ops::elu(c.scope(), c.input(0))); }, "Elu", "alpha 1"});
  t.push_back({"Selu", [](ConvertContext& c) { c.require_inputs(1); return c.one(ops::selu(c.scope(), c.input(0))); }, "Selu", "TF's alpha and scale"});
  t.push_back({"LeakyRelu", convert_leaky_relu, "LeakyRelu", "`alpha` (default 0.2)"});
  t.push_back({"Softplus", unary<ops::softplus>, "Softplus", "log(1 + exp(x)), overflow-safe"});
  t.push_back({"Softsign", unary<ops::softsign>, "Softsign", "x / (1 + |x|)"});
  t.push_back({"LRN", convert_lrn, "LRN", "`depth_radius` (default 5), `bias` (1), `alpha` (1), `beta` (0.5) over the "
               "last axis, as TF"});
  const char* rs = "size int32 [2] (constant or computed), `align_corners`, `half_pixel_centers` (not both) as TF; "
                   "NHWC";
  t.push_back({"ResizeBilinear", convert_resize<ops::resize_bilinear>, "ResizeBilinear",
               "size int32 [2] (constant or computed), `align_corners`, `half_pixel_centers` (not both) as TF; NHWC; "
               "float32 output (float64 for float64 images)"});
  t.push_back({"ResizeNearestNeighbor", convert_resize<ops::resize_nearest_neighbor>, "ResizeNearestNeighbor", rs});
  t.push_back({"DecodeBase64", [](ConvertContext& c) { c.require_inputs(1); return c.one(ops::decode_base64(c.scope(), c.input(0))); },
               "DecodeBase64", "web-safe alphabet, padding optional"});
  t.push_back({"EncodeBase64", [](ConvertContext& c) { c.require_inputs(1); return c.one(ops::encode_base64(c.scope(), c.input(0), c.attr_bool("pad", false))); },
               "EncodeBase64", "web-safe alphabet; `pad`"});
  t.push_back({"DecodePng", convert_decode, "DecodePng", "`channels` 0/1/3/4, `dtype` uint8/uint16; a string scalar"});
  t.push_back({"DecodeJpeg", convert_decode, "DecodeJpeg",
               "`channels` 0/1/3; the default ratio 1, fancy_upscaling, INTEGER_FAST DCT; try_recover_truncated "
               "refused"});
  t.push_back({"DecodeImage", convert_decode, "DecodeImage", "PNG or JPEG; `channels`, `dtype` uint8/uint16/float32; "
               "GIF and BMP fail at run time (Unimplemented)"});
  const char* pool = "`ksize`, `strides` (1 in batch and channel), `padding` SAME/VALID (average pooling divides by "
                     "the non-padding count, as TF), `data_format` NHWC or NCHW (transposed)";
  t.push_back({"MaxPool", convert_pool<tf_max_pool>, "MaxPool (+ Transposes for NCHW)", pool});
  t.push_back({"AvgPool", convert_pool<tf_avg_pool>, "AvgPool (+ Transposes for NCHW)", pool});
  const char* bn = "`epsilon` (default 1e-4) used as given, `is_training` (default true: batch statistics, "
                   "batch_variance Bessel-corrected), `data_format` NHWC/NCHW (transposed); outputs y, batch_mean, "
                   "batch_variance, reserve_space_1 (the mean used); the other reserve spaces are not produced";
  t.push_back({"FusedBatchNorm", convert_fused_batch_norm, "FusedBatchNorm", bn});
  t.push_back({"FusedBatchNormV2", convert_fused_batch_norm, "FusedBatchNorm", bn});
  t.push_back({"FusedBatchNormV3", convert_fused_batch_norm, "FusedBatchNorm (+ Add/Mul for the average factor)",
               "as FusedBatchNorm; `exponential_avg_factor` in training"});
}

}  // namespace sluice::io::tf
