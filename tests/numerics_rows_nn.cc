// NaN and Inf rows for the extended nn families: depthwise and transposed convolutions (with
// each fused activation, which must keep NaN), resizing (TF and ONNX) with its gradients,
// layer norm, local response normalization, and the GRU and SimpleRNN sequence ops. The
// gradient ops are reached through gradients().
#include "op_numerics.h"

namespace sluice::testing {
namespace {

Output filled(const Scope& s, const Output& like, const Shape& shape, double v) {
  return ops::fill(s, like.dtype(), shape, v);
}
// gradients(y(x[0]), x[0], x[1]).
Build grad_of(std::function<Output(const Scope&, const Output&)> y) {
  return [y](const Scope& s, const X& x) { return gradients(s, {y(s, x[0])}, {x[0]}, {x[1]})[0]; };
}

std::vector<NumericsRow> conv_rows() {
  // [1,3,3,16] of ones with a special value at the centre pixel's channel 0 (and for Inf,
  // -inf at pixel (0,0) channel 1 with +inf at the centre: inf - inf = NaN in channel 1); a
  // 3x3 depthwise filter of ones gives one output pixel of 16 channels, 9 where clean.
  std::vector<double> dn(144, 1.0), di = dn, dn_out(16, 9.0), di_out(16, 9.0);
  dn[4 * 16] = kNaN;
  di[4 * 16] = kInf;
  di[1] = -kInf;
  di[4 * 16 + 1] = kInf;
  dn_out[0] = kNaN;
  di_out[0] = kInf;
  di_out[1] = kNaN;
  auto depthwise = [](const Scope& s, const Output& x) {
    return ops::depthwise_conv2d(s, x, filled(s, x, {1, 1, 1, 1}, 2.0));
  };
  auto fused = [](FusedActivation a) {
    return [a](const Scope& s, const X& x) {
      return ops::fused_depthwise_conv2d(s, x[0], filled(s, x[0], {1, 1, 1, 1}, 1.0),
                                         filled(s, x[0], {1}, 0.5), a);
    };
  };
  FusedActivation leaky(FusedActivation::leaky_relu), clip(FusedActivation::clip);
  leaky.alpha = 0.5;
  clip.clip_max = 1;
  const Tensor fn = T({kNaN, -1, 2, 3}, {1, 2, 2, 1}), fi = T({-kInf, kInf, -3, 3}, {1, 2, 2, 1});
  auto transpose = [](const Scope& s, const X& x) {  // 2x2 filter of ones, stride 1: [1,3,3,1]
    return ops::conv2d_transpose(s, x[0], filled(s, x[0], {2, 2, 1, 1}, 1.0));
  };
  return join({
      rows("DepthwiseConv2dNative", {T({kNaN, 1, 2, 3}, {1, 2, 2, 1})}, {kNaN, 2, 4, 6},
           {T({kInf, -kInf, 2, 3}, {1, 2, 2, 1})}, {kInf, -kInf, 4, 6},
           [depthwise](const Scope& s, const X& x) { return depthwise(s, x[0]); }),
      rows("DepthwiseConv2dNative", {T(dn, {1, 3, 3, 16})}, dn_out, {T(di, {1, 3, 3, 16})}, di_out,
           [](const Scope& s, const X& x) {
             return ops::depthwise_conv2d(s, x[0], filled(s, x[0], {3, 3, 16, 1}, 1.0));
           }),
      rows("FusedDepthwiseConv2dNative", {fn}, {kNaN, -0.5, 2.5, 3.5}, {fi},
           {-kInf, kInf, -2.5, 3.5}, fused(FusedActivation())),
      rows("FusedDepthwiseConv2dNative", {fn}, {kNaN, 0, 2.5, 3.5}, {fi}, {0, kInf, 0, 3.5},
           fused(FusedActivation::relu)),
      rows("FusedDepthwiseConv2dNative", {fn}, {kNaN, 0, 2.5, 3.5}, {fi}, {0, 6, 0, 3.5},
           fused(FusedActivation::relu6)),
      rows("FusedDepthwiseConv2dNative", {fn}, {kNaN, -0.25, 2.5, 3.5}, {fi},
           {-kInf, kInf, -1.25, 3.5}, fused(leaky)),
      rows("FusedDepthwiseConv2dNative", {fn}, {kNaN, 0, 1, 1}, {fi}, {0, 1, 0, 1}, fused(clip)),
      // dx = 2 dy; dw = sum x dy
      rows("DepthwiseConv2dNativeBackpropInput",
           {T({1, 1, 1, 1}, {1, 2, 2, 1}), T({kNaN, 1, 2, 3}, {1, 2, 2, 1})}, {kNaN, 2, 4, 6},
           {T({1, 1, 1, 1}, {1, 2, 2, 1}), T({kInf, -kInf, 2, 3}, {1, 2, 2, 1})},
           {kInf, -kInf, 4, 6}, grad_of(depthwise)),
      rows("DepthwiseConv2dNativeBackpropFilter",
           {T({1, kNaN, 1, 1}, {1, 2, 2, 1}), T({1, 1, 1, 1}, {1, 2, 2, 1})}, {kNaN},
           {T({1, kInf, 1, 1}, {1, 2, 2, 1}), T({1, 1, 1, 1}, {1, 2, 2, 1})}, {kInf},
           [](const Scope& s, const X& x) {
             const Output w = filled(s, x[0], {1, 1, 1, 1}, 2.0);
             return gradients(s, {ops::depthwise_conv2d(s, x[0], w)}, {w}, {x[1]})[0];
           }),
      // Each input pixel reaches the 2x2 outputs below-right of it: NaN there, inf - inf =
      // NaN where +inf and -inf meet.
      rows("Conv2DTranspose", {T({kNaN, 1, 2, 3}, {1, 2, 2, 1})},
           {kNaN, kNaN, 1, kNaN, kNaN, 4, 2, 5, 3}, {T({kInf, -kInf, 2, 3}, {1, 2, 2, 1})},
           {kInf, kNaN, -kInf, kInf, kNaN, -kInf, 2, 5, 3}, transpose),
  });
}

std::vector<NumericsRow> resize_rows() {
  // [1,1,2,1] -> [1,1,4,1]. TF's legacy scale (no half-pixel centres) samples source
  // columns 0, 0.5, 1, 1.5; ONNX's half_pixel samples -0.25, 0.25, 0.75, 1.25 (clamped).
  const Tensor rn = T({kNaN, 1}, {1, 1, 2, 1}), ri = T({kInf, -kInf}, {1, 1, 2, 1});
  auto bilinear = [](const Scope& s, const Output& x) {
    return ops::resize_bilinear(s, x, {1, 4});
  };
  auto nearest = [](const Scope& s, const Output& x) {
    return ops::resize_nearest_neighbor(s, x, {1, 4});
  };
  auto onnx = [](const std::string& mode) {
    return [mode](const Scope& s, const Output& x) {
      ops::ResizeOptions o;
      o.mode = mode;
      return ops::resize(s, x, {1, 4}, o);
    };
  };
  auto fwd = [](std::function<Output(const Scope&, const Output&)> f) {
    return [f](const Scope& s, const X& x) { return f(s, x[0]); };
  };
  // A column next to +inf interpolates inf * w + (-inf) * (1 - w) (or a - b form): NaN or
  // +-inf depending on the formula, so the Inf rows of the interpolating modes only ask for
  // non-finite values there.
  const double nf = kNonFinite;
  return join({
      rows("ResizeBilinear", {rn}, {kNaN, kNaN, 1, 1}, {T({kInf, 1}, {1, 1, 2, 1})}, {nf, nf, 1, 1},
           fwd(bilinear)),
      rows("ResizeNearestNeighbor", {rn}, {kNaN, kNaN, 1, 1}, {ri}, {kInf, kInf, -kInf, -kInf},
           fwd(nearest)),
      rows("Resize", {rn}, {kNaN, kNaN, 1, 1}, {ri}, {kInf, kInf, -kInf, -kInf},
           fwd(onnx("nearest"))),
      rows("Resize", {rn}, {kNaN, kNaN, kNaN, 1}, {T({kInf, 1}, {1, 1, 2, 1})}, {nf, nf, nf, 1},
           fwd(onnx("linear"))),
      rows("Resize", {rn}, {kNaN, kNaN, kNaN, kNaN}, {T({kInf, 1}, {1, 1, 2, 1})}, {nf, nf, nf, nf},
           fwd(onnx("cubic"))),
      // Gradients: nearest sends columns {0, 0, 1, 1} of dy back; bilinear (TF legacy)
      // sends dy0 to pixel 0, dy1 half to each, dy2 and dy3 to pixel 1.
      rows("ResizeNearestNeighborGrad", {rn, T({kNaN, 1, 2, 3}, {1, 1, 4, 1})}, {kNaN, 5},
           {rn, T({kInf, 1, -kInf, 3}, {1, 1, 4, 1})}, {kInf, -kInf}, grad_of(nearest)),
      // (+-inf times a zero interpolation weight is NaN, as in TF's kernel: the Inf row asks
      // only for non-finite values where an infinite dy lands.)
      rows("ResizeBilinearGrad", {rn, T({kNaN, 1, 2, 3}, {1, 1, 4, 1})}, {kNaN, 5.5},
           {rn, T({1, kInf, 2, -kInf}, {1, 1, 4, 1})}, {nf, nf}, grad_of(bilinear)),
      rows("ResizeGrad", {rn, T({kNaN, 1, 2, 3}, {1, 1, 4, 1})}, {kNaN, 5},
           {rn, T({kInf, 1, -kInf, 3}, {1, 1, 4, 1})}, {kInf, -kInf}, grad_of(onnx("nearest"))),
  });
}

std::vector<NumericsRow> norm_rows() {
  auto ln = [](const Scope& s, const Output& x) {
    return ops::layer_norm(s, x, filled(s, x, {3}, 1.0), filled(s, x, {3}, 0.0));
  };
  // depth radius 1, bias 1, alpha 1, beta 0.5: y_c = x_c / sqrt(1 + sum of x^2 over c-1..c+1)
  auto lrn = [](const Scope& s, const Output& x) { return ops::lrn(s, x, 1, 1.0, 1.0, 0.5); };
  const double k = 1.2247356859083902;  // [4, 5, 6] normalized: -k, 0, k
  return join({
      // A NaN or +-inf makes its slice's mean or variance NaN: the whole row is NaN, the
      // other row is untouched.
      rows("LayerNorm", {T({1, kNaN, 3, 4, 5, 6}, {2, 3})}, {kNaN, kNaN, kNaN, -k, 0, k},
           {T({kInf, 1, 2, 4, 5, 6}, {2, 3})}, {kNaN, kNaN, kNaN, -k, 0, k},
           [ln](const Scope& s, const X& x) { return ln(s, x[0]); }),
      rows("LayerNormGrad", {T({1, 2, 3, 4, 5, 6}, {2, 3}), T({kNaN, 0, 0, 1, 0, 0}, {2, 3})},
           {kNaN, kNaN, kNaN, kFinite, kFinite, kFinite},
           {T({1, 2, 3, 4, 5, 6}, {2, 3}), T({kInf, 0, 0, 1, 0, 0}, {2, 3})},
           {kNonFinite, kNonFinite, kNonFinite, kFinite, kFinite, kFinite}, grad_of(ln)),
      // A special value reaches the channels within the radius; inf / sqrt(inf) = NaN.
      rows("LRN", {T({kNaN, 2, 3, 1}, {1, 1, 1, 4})}, {kNaN, kNaN, kFinite, 0.30151134457776363},
           {T({kInf, 2, 3, 1}, {1, 1, 1, 4})}, {kNaN, 0, kFinite, 0.30151134457776363},
           [lrn](const Scope& s, const X& x) { return lrn(s, x[0]); }),
      rows("LRNGrad", {T({1, 2, 3, 1}, {1, 1, 1, 4}), T({kNaN, 0, 0, 0}, {1, 1, 1, 4})},
           {kNaN, kNaN, kFinite, kFinite},
           {T({1, 2, 3, 1}, {1, 1, 1, 4}), T({kInf, 0, 0, 0}, {1, 1, 1, 4})},
           {kNonFinite, kNonFinite, kFinite, kFinite}, grad_of(lrn)),
  });
}

std::vector<NumericsRow> rnn_rows() {
  // B = 2, T = 2, F = 1, U = 1; every weight 1, bias 0, zero initial state.
  auto zeros_h = [](const Scope& s, const Output& x) {
    return ops::zeros_like(s, ops::reshape(s, ops::slice(s, x, {0, 0, 0}, {-1, 1, 1}), {-1, 1}));
  };
  // h_t = tanh(x_t + h_{t-1}): +inf saturates to 1, -inf to -1.
  auto rnn = [zeros_h](const Scope& s, const Output& x) {
    return ops::simple_rnn(s, x, zeros_h(s, x), filled(s, x, {1, 1}, 1.0),
                           filled(s, x, {1, 1}, 1.0), filled(s, x, {1}, 0.0));
  };
  // z = r = sigmoid(x + h), h~ = tanh(x + r h), h = z h_prev + (1 - z) h~: +inf shuts the
  // update (z = 1, h stays 0), -inf opens it onto h~ = -1.
  auto gru = [zeros_h](const Scope& s, const Output& x) {
    return ops::gru(s, x, zeros_h(s, x), filled(s, x, {1, 3}, 1.0), filled(s, x, {1, 3}, 1.0),
                    filled(s, x, {2, 3}, 0.0));
  };
  const Tensor xn = T({1, kNaN, 1, 2}, {2, 2, 1}), xi = T({kInf, kInf, -kInf, -kInf}, {2, 2, 1});
  const Tensor x = T({0.5, -0.3, 0.2, 0.1}, {2, 2, 1});
  return join({
      rows("SimpleRNN", {xn}, {kNaN, 0.9920455700292888}, {xi}, {1, -1},
           [rnn](const Scope& s, const X& v) { return rnn(s, v[0])[1]; }),
      rows("SimpleRNN", {xn}, {0.7615941559557649, kNaN, 0.7615941559557649, 0.9920455700292888},
           {xi}, {1, 1, -1, -1}, [rnn](const Scope& s, const X& v) { return rnn(s, v[0])[0]; }),
      rows("SimpleRNNGrad", {x, T({kNaN, 1}, {2, 1})}, {kNaN, kNaN, kFinite, kFinite},
           {x, T({kInf, 1}, {2, 1})}, {kNonFinite, kNonFinite, kFinite, kFinite},
           [rnn](const Scope& s, const X& v) {
             return gradients(s, {rnn(s, v[0])[1]}, {v[0]}, {v[1]})[0];
           }),
      rows("GRU", {xn}, {kNaN, kFinite}, {xi}, {0, -1},
           [gru](const Scope& s, const X& v) { return gru(s, v[0])[1]; }),
      rows("GRU", {xn}, {kFinite, kNaN, kFinite, kFinite}, {xi}, {0, 0, -1, -1},
           [gru](const Scope& s, const X& v) { return gru(s, v[0])[0]; }),
      rows("GRUGrad", {x, T({kNaN, 1}, {2, 1})}, {kNaN, kNaN, kFinite, kFinite},
           {x, T({kInf, 1}, {2, 1})}, {kNonFinite, kNonFinite, kFinite, kFinite},
           [gru](const Scope& s, const X& v) {
             return gradients(s, {gru(s, v[0])[1]}, {v[0]}, {v[1]})[0];
           }),
  });
}

std::vector<NumericsRow> nn_family_rows() {
  return join({conv_rows(), resize_rows(), norm_rows(), rnn_rows()});
}

const bool registered = register_numerics_rows(nn_family_rows);

}  // namespace
}  // namespace sluice::testing
