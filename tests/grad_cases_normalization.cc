// Gradient cases for the normalization ops: FusedBatchNorm in both phases (the phase a
// constant in the case), w.r.t. x, scale, offset and the given mean and variance, and with
// gradients flowing into its statistics outputs.
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;

// x, scale, offset, mean, variance = x[0..4]; variance made positive.
ops::FusedBatchNormOutputs bn(const Scope& s, const X& x, bool training, bool bessel = true) {
  const Output var = ops::add(s, ops::square(s, x[4]), ops::scalar_like(s, x[4], 0.5));
  return ops::fused_batch_norm(s, x[0], x[1], x[2], x[3], var, ops::constant(s, Tensor(training)),
                               1e-3, bessel);
}

std::vector<GradCase> normalization_cases() {
  std::vector<GradCase> cases;
  for (bool training : {true, false}) {
    const std::string phase = training ? "training" : "inference";
    // [N,C] with few channels (untiled path), and NHWC with 17 channels (a 16-channel
    // register tile plus a remainder channel).
    cases.push_back({"fused_batch_norm_nc_" + phase,
                     {{5, 3}, {3}, {3}, {3}, {3}},
                     [training](const Scope& s, const X& x) { return bn(s, x, training).y; }});
    cases.push_back({"fused_batch_norm_nhwc_" + phase,
                     {{2, 2, 2, 17}, {17}, {17}, {17}, {17}},
                     [training](const Scope& s, const X& x) { return bn(s, x, training).y; }});
    // Every output used: the statistics outputs carry gradient too.
    cases.push_back({"fused_batch_norm_statistics_" + phase,
                     {{4, 2, 3}, {3}, {3}, {3}, {3}},
                     [training](const Scope& s, const X& x) {
                       const auto r = bn(s, x, training);
                       Output stats = ops::add_n(s, {ops::mul(s, r.batch_mean, r.batch_variance),
                                                     ops::mul(s, r.reserve_mean, r.reserve_mean),
                                                     ops::mul(s, r.reserve_inv_std, x[1])});
                       return ops::add(s, r.y, stats);
                     }});
  }
  cases.push_back({"fused_batch_norm_statistics_biased",
                   {{3, 4}, {4}, {4}, {4}, {4}},
                   [](const Scope& s, const X& x) {
                     const auto r = bn(s, x, true, false);
                     return ops::add(s, r.y, ops::square(s, r.batch_variance));
                   }});
  return cases;
}

const bool registered = testing::register_grad_cases(normalization_cases);

}  // namespace
}  // namespace sluice
