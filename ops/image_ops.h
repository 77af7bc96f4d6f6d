// Image resize ops, NHWC: TensorFlow 1.x's ResizeBilinear and ResizeNearestNeighbor with
// their exact align_corners / half_pixel_centers semantics, and ONNX's Resize (opsets 11
// and 13) / Upsample as one general op. The output size `size` {OH, OW} is an int32/int64
// tensor [2], so it may be computed at run time; when it is a constant the output shape is
// known when the graph is built. Coordinates are computed in float32, as TensorFlow and
// ONNX Runtime do, so the sampled positions match theirs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// Bilinear resize, TF 1.x tf.image.resize_bilinear / ResizeBilinear:
//   scale = (align_corners && out > 1) ? (in - 1) / (out - 1) : in / out   (per axis)
//   source position of output index o: half_pixel_centers ? (o + 0.5) * scale - 0.5
//                                                         : o * scale
//   lower = max(floor(pos), 0), upper = min(ceil(pos), in - 1), lerp = pos - floor(pos)
//   top = tl + (tr - tl) * x_lerp; bottom = bl + (br - bl) * x_lerp;
//   out = top + (bottom - top) * y_lerp
// images [N,H,W,C] of any real dtype (uint8 from decode_png, int32, int64, float32,
// float64) -> float32 [N,OH,OW,C] (float64 for float64 images: TensorFlow returns float32
// there too; cast if you need that). align_corners and half_pixel_centers together are an
// error (as TensorFlow). Differentiable w.r.t. float images through ResizeBilinearGrad.
Output resize_bilinear(const Scope& scope, const Output& images, const Output& size,
                       bool align_corners = false, bool half_pixel_centers = false);
Output resize_bilinear(const Scope& scope, const Output& images, std::vector<int64_t> size,
                       bool align_corners = false, bool half_pixel_centers = false);

// Nearest-neighbour resize, TF 1.x ResizeNearestNeighbor (same scale as above):
//   in = min(align_corners ? round(o * scale) : floor(o * scale), in - 1)        (legacy)
//   in = max(min(floor((o + 0.5) * scale), in - 1), 0)              (half_pixel_centers)
//   (round halves away from zero; both flags together are an error, as in TensorFlow)
// images [N,H,W,C] of any numeric dtype -> the same dtype [N,OH,OW,C]. Differentiable
// (float) through ResizeNearestNeighborGrad.
Output resize_nearest_neighbor(const Scope& scope, const Output& images, const Output& size,
                               bool align_corners = false, bool half_pixel_centers = false);
Output resize_nearest_neighbor(const Scope& scope, const Output& images,
                               std::vector<int64_t> size, bool align_corners = false,
                               bool half_pixel_centers = false);

// ONNX Resize-11/13 (and Upsample) over the spatial axes of an NHWC image.
struct ResizeOptions {
  // "nearest", "linear" (bilinear) or "cubic" (bicubic).
  std::string mode = "nearest";
  // Source position x of output index o along an axis of input size `in`, output size
  // `out`, scale s (the `scales` entry when given, else out / in):
  //   half_pixel:           (o + 0.5) / s - 0.5
  //   pytorch_half_pixel:   out > 1 ? (o + 0.5) / s - 0.5 : 0
  //   align_corners:        out > 1 ? o * (in - 1) / (out - 1) : 0
  //   asymmetric:           o / s
  //   tf_half_pixel_for_nn: (o + 0.5) / s
  // (ONNX's tf_crop_and_resize is not supported: InvalidArgument.)
  std::string coordinate_transformation_mode = "half_pixel";
  // nearest: the index round_prefer_floor(x) (halves down), round_prefer_ceil (halves
  // up), floor or ceil, clamped to [0, in - 1]. Resize-10 and Upsample: asymmetric + floor
  // when upsampling (ONNX Runtime rounds up when they downsample: use ceil there).
  std::string nearest_mode = "round_prefer_floor";
  // cubic: Keys' kernel with this a over the 4 taps floor(x)-1 .. floor(x)+2; taps outside
  // the image take the edge value, or with exclude_outside get weight 0 and the rest are
  // renormalised. (TF 1.x's resize_bicubic uses a = -0.75 too.)
  double cubic_coeff_a = -0.75;
  bool exclude_outside = false;
  // Optional {scale_h, scale_w} (ONNX's scales input for the H and W axes): used in the
  // coordinate transform instead of out / in. With scales, `size` may be an empty int
  // tensor [0]: the output size is then floor(in * scale).
  std::vector<double> scales;
};
// images [N,H,W,C] -> [N,OH,OW,C], same dtype. nearest takes any numeric dtype; linear and
// cubic take float32/float64. Differentiable for float images in every mode (the sampling
// is linear in the image) through the ResizeGrad op.
// linear: x0 = floor(x), t = x - x0, out = (1-t) * in[clamp(x0)] + t * in[clamp(x0+1)].
Output resize(const Scope& scope, const Output& images, const Output& size,
              const ResizeOptions& options = ResizeOptions());
Output resize(const Scope& scope, const Output& images, std::vector<int64_t> size,
              const ResizeOptions& options = ResizeOptions());

}  // namespace sluice::ops
