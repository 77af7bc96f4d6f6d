// Resize ops: TensorFlow 1.x's resize_bilinear / resize_nearest_neighbor against values
// computed by hand for each align_corners / half_pixel_centers combination and against
// nn_reference.h; ONNX's Resize against ONNX's documented examples and a reference written
// the way ONNX's reference implementation is; every gradient as the exact adjoint of its
// forward op; dtypes, run-time sizes and bad input.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <random>

#include "nn_reference.h"
#include "test_util.h"

namespace sluice {
namespace {

// Session::run takes fetches as TensorRefs.
std::vector<TensorRef> refs(const std::vector<Output>& v) { return {v.begin(), v.end()}; }


using Ints = std::vector<int64_t>;

using sluice::testing::random_tensor;

Tensor iota(const Shape& shape) {
  Tensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = static_cast<float>(i + 1);
  return t;
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(want.size())) << what;
  for (int64_t i = 0; i < t.num_elements(); ++i)
    EXPECT_NEAR(t.as_double(i), want[static_cast<size_t>(i)], tol) << what << " element " << i;
}

TEST(ResizeBilinearTF, HandComputedForEachFlag) {
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, iota({1, 2, 2, 1}));  // [[1, 2], [3, 4]]
  Output legacy = ops::resize_bilinear(s, x, Ints{4, 4});
  Output align = ops::resize_bilinear(s, x, Ints{3, 3}, true);
  Output half = ops::resize_bilinear(s, x, Ints{4, 4}, false, true);
  EXPECT_EQ(legacy.shape(), (Shape{1, 4, 4, 1}));
  EXPECT_EQ(legacy.dtype(), DType::f32);
  Session sess(g);
  auto r = sess.run({}, {legacy, align, half});
  // scale 0.5, positions 0, .5, 1, 1.5 (the last clamps to the edge).
  expect_values(r[0], {1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4}, 0, "legacy");
  // scale (2-1)/(3-1): the corners land on the corners.
  expect_values(r[1], {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, 0, "align_corners");
  // positions (o + .5) * .5 - .5 = -.25, .25, .75, 1.25.
  expect_values(r[2], {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4},
                0, "half_pixel_centers");
}

TEST(ResizeNearestTF, HandComputedForEachFlag) {
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, iota({1, 1, 3, 1}));  // [1, 2, 3] along the width
  std::vector<Output> outs;
  for (int64_t w : {2, 5})
    for (auto flags : {std::pair<bool, bool>{false, false}, {true, false}, {false, true}})
      outs.push_back(ops::resize_nearest_neighbor(s, x, Ints{1, w}, flags.first, flags.second));
  Session sess(g);
  auto r = sess.run({}, refs(outs));
  expect_values(r[0], {1, 2}, 0, "3->2 legacy: floor(o * 1.5)");
  expect_values(r[1], {1, 3}, 0, "3->2 align: round(o * 2)");
  expect_values(r[2], {1, 3}, 0, "3->2 half: floor((o + .5) * 1.5)");
  expect_values(r[3], {1, 1, 2, 2, 3}, 0, "3->5 legacy: floor(o * .6)");
  expect_values(r[4], {1, 2, 2, 3, 3}, 0, "3->5 align: round(o * .5), halves away from 0");
  expect_values(r[5], {1, 1, 2, 3, 3}, 0, "3->5 half: floor((o + .5) * .6)");
}

TEST(ResizeTF, AgainstReferenceAllDtypesAndRunTimeSize) {
  const Tensor xv = random_tensor(DType::f32, {2, 7, 9, 3}, 1);
  Tensor u8(DType::u8, {1, 2, 3, 1});
  for (int i = 0; i < 6; ++i) u8.data<uint8_t>()[i] = static_cast<uint8_t>(i * 50);
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, -1, -1, 3});
  Output size = ops::placeholder(s, DType::i32, {2});
  struct Flags {
    bool align, half;
  };
  std::vector<Output> outs;
  for (Flags f : {Flags{false, false}, Flags{true, false}, Flags{false, true}}) {
    outs.push_back(ops::resize_bilinear(s, x, size, f.align, f.half));
    outs.push_back(ops::resize_nearest_neighbor(s, x, size, f.align, f.half));
  }
  EXPECT_EQ(outs[0].shape(), (Shape{-1, -1, -1, 3}));
  Output ub = ops::resize_bilinear(s, ops::constant(s, u8), Ints{3, 5}, true);
  Output un = ops::resize_nearest_neighbor(s, ops::constant(s, u8), Ints{4, 6});
  EXPECT_EQ(ub.dtype(), DType::f32);
  EXPECT_EQ(un.dtype(), DType::u8);
  Session sess(g, SessionOptions{2});
  for (const Ints& hw : {Ints{11, 4}, Ints{3, 13}, Ints{7, 9}, Ints{1, 1}}) {
    auto r = sess.run({{x, xv}, {size, Tensor::from_vector(std::vector<int32_t>{static_cast<int32_t>(hw[0]), static_cast<int32_t>(hw[1])}, {2})}}, refs(outs));
    int i = 0;
    for (Flags f : {Flags{false, false}, Flags{true, false}, Flags{false, true}}) {
      const std::string what = "size " + std::to_string(hw[0]) + "x" + std::to_string(hw[1]) +
                                " align " + std::to_string(f.align) + " half " + std::to_string(f.half);
      expect_values(r[i++], reference::tf_resize(xv, hw[0], hw[1], true, f.align, f.half), 1e-6, what + " bilinear");
      expect_values(r[i++], reference::tf_resize(xv, hw[0], hw[1], false, f.align, f.half), 0, what + " nearest");
    }
  }
  auto r = sess.run({}, {ub, un});
  Tensor u8d(DType::f64, u8.shape());
  for (int i = 0; i < 6; ++i) u8d.data<double>()[i] = u8.data<uint8_t>()[i];
  expect_values(r[0], reference::tf_resize(u8d, 3, 5, true, true, false), 1e-4, "uint8 bilinear");
  expect_values(r[1], reference::tf_resize(u8d, 4, 6, false, false, false), 0, "uint8 nearest");
}

TEST(ResizeOnnx, DocumentedExamples) {
  Graph g;
  Scope s(g);
  Output x2 = ops::constant(s, iota({1, 2, 2, 1}));
  Output x24 = ops::constant(s, iota({1, 2, 4, 1}));
  Output x4 = ops::constant(s, iota({1, 4, 4, 1}));
  ops::ResizeOptions linear;
  linear.mode = "linear";
  linear.scales = {2, 2};
  ops::ResizeOptions linear_ac = linear;
  linear_ac.coordinate_transformation_mode = "align_corners";
  ops::ResizeOptions nearest_down;
  nearest_down.scales = {0.6, 0.6};
  ops::ResizeOptions nearest_up;
  nearest_up.scales = {2, 3};
  ops::ResizeOptions nearest_ceil;
  nearest_ceil.nearest_mode = "ceil";
  ops::ResizeOptions cubic_down;
  cubic_down.mode = "cubic";
  cubic_down.scales = {0.8, 0.8};
  ops::ResizeOptions cubic_up = cubic_down;
  cubic_up.scales = {2, 2};
  const Output empty = ops::constant(s, Tensor(DType::i64, {0}));
  std::vector<Output> outs = {ops::resize(s, x2, empty, linear),
                              ops::resize(s, x2, empty, linear_ac),
                              ops::resize(s, x24, empty, nearest_down),
                              ops::resize(s, x2, empty, nearest_up),
                              ops::resize(s, x4, Ints{8, 8}, nearest_ceil),
                              ops::resize(s, x4, empty, cubic_down),
                              ops::resize(s, x4, empty, cubic_up)};
  EXPECT_EQ(outs[2].shape(), (Shape{1, 1, 2, 1}));
  EXPECT_EQ(outs[5].shape(), (Shape{1, 3, 3, 1}));
  Session sess(g);
  auto r = sess.run({}, refs(outs));
  // test_resize_upsample_scales_linear
  expect_values(r[0], {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4},
                1e-6, "linear");
  // test_resize_upsample_scales_linear_align_corners
  const double t = 1.0 / 3;
  expect_values(r[1], {1, 1 + t, 2 - t, 2, 2 - t, 2, 2 + t, 3 - t, 2 + t, 3 - t, 3, 3 + t, 3, 3 + t, 4 - t, 4},
                1e-6, "linear align_corners");
  // test_resize_downsample_scales_nearest and test_resize_upsample_scales_nearest
  expect_values(r[2], {1, 3}, 0, "nearest down");
  expect_values(r[3], {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}, 0,
                "nearest up");
  // test_resize_upsample_sizes_nearest_ceil_half_pixel: rows 0, 1, 1, 2, 2, 3, 3, 3
  const std::vector<int> idx = {0, 1, 1, 2, 2, 3, 3, 3};
  std::vector<double> want;
  for (int a : idx)
    for (int b : idx) want.push_back(a * 4 + b + 1);
  expect_values(r[4], want, 0, "nearest ceil");
  // test_resize_downsample_scales_cubic
  expect_values(r[5], {1.47119141, 2.78125, 4.08251953, 6.71142578, 8.02148438, 9.32275391,
                       11.91650391, 13.2265625, 14.52783203},
                1e-5, "cubic down");
  // test_resize_upsample_scales_cubic, first row
  const std::vector<double> row0 = {0.47265625, 0.76953125, 1.24609375, 1.875,
                                    2.28125,    2.91015625, 3.38671875, 3.68359375};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(r[6].as_double(i), row0[static_cast<size_t>(i)], 1e-5) << i;
}

TEST(ResizeOnnx, EveryModeAgainstTheReference) {
  const Tensor xv = random_tensor(DType::f64, {2, 5, 7, 2}, 3);
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, xv);
  struct Mode {
    std::string mode, ctm, nearest;
    bool exclude;
  };
  const std::vector<Mode> modes = {
      {"nearest", "half_pixel", "round_prefer_floor", false},
      {"nearest", "asymmetric", "floor", false},
      {"nearest", "tf_half_pixel_for_nn", "round_prefer_ceil", false},
      {"nearest", "align_corners", "round_prefer_floor", false},
      {"linear", "half_pixel", "", false},
      {"linear", "pytorch_half_pixel", "", false},
      {"linear", "align_corners", "", false},
      {"linear", "asymmetric", "", false},
      {"cubic", "half_pixel", "", false},
      {"cubic", "half_pixel", "", true},
      {"cubic", "align_corners", "", false},
      {"cubic", "asymmetric", "", true},
  };
  const std::vector<Ints> sizes = {{9, 12}, {3, 4}, {1, 7}, {5, 1}};
  std::vector<Output> outs;
  std::vector<ops::ResizeOptions> opts;
  for (const Mode& m : modes)
    for (const Ints& hw : sizes) {
      ops::ResizeOptions o;
      o.mode = m.mode, o.coordinate_transformation_mode = m.ctm, o.exclude_outside = m.exclude;
      if (!m.nearest.empty()) o.nearest_mode = m.nearest;
      o.cubic_coeff_a = m.mode == "cubic" && m.exclude ? -0.5 : -0.75;
      opts.push_back(o);
      outs.push_back(ops::resize(s, x, hw, o));
    }
  Session sess(g);
  auto r = sess.run({}, refs(outs));
  size_t k = 0;
  for (size_t i = 0; i < modes.size(); ++i)
    for (const Ints& hw : sizes) {
      const std::string what = modes[i].mode + " " + modes[i].ctm + " " + modes[i].nearest + " " +
                               std::to_string(hw[0]) + "x" + std::to_string(hw[1]);
      expect_values(r[k], reference::onnx_resize(xv, hw[0], hw[1], opts[k]), 1e-6, what);
      ++k;
    }
}

TEST(Resize, GradientsAreTheAdjoints) {
  // Every resize is linear in the image: <resize(x), gy> = <x, d/dx>.
  const Tensor xv = random_tensor(DType::f64, {2, 5, 6, 3}, 5);
  const Tensor gv = random_tensor(DType::f64, {2, 8, 4, 3}, 6);
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, xv), gy = ops::constant(s, gv);
  std::vector<Output> ys = {ops::resize_bilinear(s, x, Ints{8, 4}),
                            ops::resize_bilinear(s, x, Ints{8, 4}, true),
                            ops::resize_bilinear(s, x, Ints{8, 4}, false, true),
                            ops::resize_nearest_neighbor(s, x, Ints{8, 4}),
                            ops::resize_nearest_neighbor(s, x, Ints{8, 4}, false, true)};
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    ops::ResizeOptions o;
    o.mode = mode;
    ys.push_back(ops::resize(s, x, Ints{8, 4}, o));
  }
  std::vector<Output> fetches;
  for (const Output& y : ys) {
    fetches.push_back(ops::sum(s, ops::mul(s, y, gy)));
    fetches.push_back(ops::sum(s, ops::mul(s, x, gradients(s, {y}, {x}, {gy})[0])));
  }
  Session sess(g);
  auto r = sess.run({}, refs(fetches));
  for (size_t i = 0; i < r.size(); i += 2)
    EXPECT_NEAR(r[i].scalar<double>(), r[i + 1].scalar<double>(), 1e-12) << "resize " << i / 2;
}

TEST(ResizeErrors, FlagsSizesAndModes) {
  using testing::contains;
  using testing::error_of;
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {1, 4, 4, 2});
  std::string m = error_of<InvalidArgument>(
      [&] { ops::resize_bilinear(s.named("rb"), x, Ints{2, 2}, true, true); });
  EXPECT_TRUE(contains(m, "'rb' (ResizeBilinear)") && contains(m, "align_corners must be False")) << m;
  m = error_of<InvalidArgument>([&] { ops::resize_nearest_neighbor(s.named("rn"), x, Ints{0, 2}); });
  EXPECT_TRUE(contains(m, "positive")) << m;
  m = error_of<InvalidArgument>([&] { ops::resize_bilinear(s.named("r3"), x, Ints{2, 2, 2}); });
  EXPECT_TRUE(contains(m, "2 elements")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::resize_bilinear(s.named("r4"), ops::placeholder(s, DType::f32, {4, 4, 2}), Ints{2, 2}); });
  EXPECT_TRUE(contains(m, "4-D")) << m;
  ops::ResizeOptions crop;
  crop.coordinate_transformation_mode = "tf_crop_and_resize";
  m = error_of<InvalidArgument>([&] { ops::resize(s.named("r5"), x, Ints{2, 2}, crop); });
  EXPECT_TRUE(contains(m, "'r5' (Resize)") && contains(m, "tf_crop_and_resize is not supported")) << m;
  ops::ResizeOptions lin;
  lin.mode = "linear";
  m = error_of<InvalidArgument>(
      [&] { ops::resize(s.named("r6"), ops::placeholder(s, DType::i32, {1, 4, 4, 2}), Ints{2, 2}, lin); });
  EXPECT_TRUE(contains(m, "linear resize needs float32 or float64 images, got int32")) << m;
  ops::ResizeOptions bad;
  bad.mode = "area";
  m = error_of<InvalidArgument>([&] { ops::resize(s.named("r7"), x, Ints{2, 2}, bad); });
  EXPECT_TRUE(contains(m, "mode must be nearest, linear or cubic")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::resize(s.named("r8"), x, ops::constant(s, Tensor(DType::i64, {0})));
  });
  EXPECT_TRUE(contains(m, "an empty size needs scales")) << m;
  // Tiny scales with an explicit size put the source far outside the image: edge values.
  ops::ResizeOptions tiny;
  tiny.mode = "cubic";
  tiny.scales = {1e-30, 1e-30};
  Output far = ops::resize(s, ops::constant(s, iota({1, 2, 2, 1})), Ints{2, 2}, tiny);
  // A run-time size that is not positive.
  Output size = ops::placeholder(s, DType::i32, {2});
  Output y = ops::resize_bilinear(s.named("rt"), x, size);
  Session sess(g);
  m = error_of<InvalidArgument>([&] {
    sess.run({{x, Tensor::zeros(DType::f32, {1, 4, 4, 2})},
              {size, Tensor::from_vector(std::vector<int32_t>{3, -1}, {2})}},
             {y});
  });
  EXPECT_TRUE(contains(m, "'rt' (ResizeBilinear)") && contains(m, "positive")) << m;
  for (float v : sess.run({}, {far})[0].to_vector<float>()) EXPECT_TRUE(v >= 1 && v <= 4) << v;
}

}  // namespace
}  // namespace sluice
