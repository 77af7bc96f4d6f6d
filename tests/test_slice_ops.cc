// Forward tests of the slicing and layout ops (slice with tensor arguments, strided_slice
// with every mask, slice_onnx, reverse, pad in all modes, tile, broadcast_to, expand,
// depth_to_space, space_to_depth) against hand-computed values and the TensorFlow / ONNX
// documentation examples, with static shapes, clamping, empty tensors and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "op_eval.h"

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(DynamicSlice, ValuesStaticShapesAndErrors) {
  const Tensor m = iota({3, 3});
  auto sl = [&](std::vector<int64_t> b, std::vector<int64_t> z) {
    return [=](const Scope& s) { return ops::slice(s, c(s, m), c(s, i64(b)), c(s, i64(z))); };
  };
  EXPECT_EQ(static_shape(sl({1, 0}, {2, 2})), Shape({2, 2}));
  expect_values(eval(sl({1, 0}, {2, 2})), {2, 2}, {3, 4, 6, 7});
  EXPECT_EQ(static_shape(sl({2, 1}, {-1, -1})), Shape({1, 2}));
  expect_values(eval(sl({2, 1}, {-1, -1})), {1, 2}, {7, 8});
  expect_values(eval(sl({3, 0}, {0, 3})), {0, 3}, {});
  expect_values(eval([&](const Scope& s) {
                  return ops::slice(s, c(s, m), c(s, i32({0, 2})), c(s, i32({3, 1})));
                }),
                {3, 1}, {2, 5, 8});
  // Braced lists still pick the attr form (the Slice op).
  Graph g;
  Scope s(g);
  EXPECT_EQ(ops::slice(s, c(s, m), {0, 0}, {1, 1}).op().type(), "Slice");
  EXPECT_THROW(ops::slice(s, c(s, m), c(s, i64({-1, 0})), c(s, i64({1, 1}))), InvalidArgument);
  EXPECT_THROW(ops::slice(s, c(s, m), c(s, i64({2, 0})), c(s, i64({2, 1}))), InvalidArgument);
  Output b = ops::placeholder(s, DType::i64, {2});
  Output y = ops::slice(s.named("sl"), c(s, m), b, c(s, i64({2, -1})));
  EXPECT_EQ(y.shape(), Shape({2, -1}));
  Session sess(g);
  expect_values(sess.run({{b, i64({1, 1})}}, {y})[0], {2, 2}, {4, 5, 7, 8});
  const std::string msg = error_of<InvalidArgument>([&] { sess.run({{b, i64({2, 0})}}, {y}); });
  EXPECT_TRUE(has(msg, "node 'sl' (DynamicSlice)") && has(msg, "[2,0]") && has(msg, "[3,3]"))
      << msg;
}

// x[spec] for x = iota(shape) with constant begin/end/strides.
Tensor strided(const Shape& shape, std::vector<int64_t> b, std::vector<int64_t> e,
               std::vector<int64_t> st, int64_t bm = 0, int64_t em = 0, int64_t ell = 0,
               int64_t na = 0, int64_t sh = 0) {
  return eval([&](const Scope& s) {
    return ops::strided_slice(s, c(s, iota(shape)), c(s, i64(b)), c(s, i64(e)), c(s, i64(st)), bm,
                              em, ell, na, sh);
  });
}

TEST(StridedSlice, MasksStridesAndClamping) {
  // x = iota [3, 4]: row r holds 4r .. 4r+3.
  expect_values(strided({3, 4}, {1, 0}, {0, 0}, {1, 2}, 0b10, 0b11), {2, 2},
                {4, 6, 8, 10});                                                        // x[1:, ::2]
  expect_values(strided({3, 4}, {-1}, {0}, {1}, 0, 0, 0, 0, 1), {4}, {8, 9, 10, 11});  // x[-1]
  expect_values(strided({3, 4}, {0, -1}, {0, 0}, {-1, 1}, 1, 1, 0, 0, 0b10), {3},
                {11, 7, 3});  // x[::-1, -1]
  expect_values(strided({3, 4}, {0, 1}, {0, 3}, {1, 1}, 0, 0, 1), {3, 2},
                {1, 2, 5, 6, 9, 10});  // x[..., 1:3]
  expect_values(strided({3, 4}, {0, 0, 0}, {0, 0, 1}, {1, 1, 1}, 0b10, 0b10, 0, 0b1, 0b100), {1, 3},
                {0, 4, 8});                                                 // x[None, :, 0]
  expect_values(strided({3, 4}, {-100, 2}, {100, 1}, {1, 1}), {3, 0}, {});  // clamped; empty
  expect_values(strided({3, 4}, {0, 10}, {0, -100}, {1, -3}, 0, 0, 0, 0, 1), {2},
                {3, 0});  // x[0, 10:-100:-3]
  expect_values(strided({3, 4}, {0, 0}, {0, 0}, {1, 1}, 0, 0, 1, 0b10), {3, 4, 1},
                {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});                // x[..., None]
  expect_values(strided({3, 4}, {1}, {2}, {1}), {1, 4}, {4, 5, 6, 7});  // trailing dims taken whole
  expect_values(
      strided({3, 4}, {2, 3}, {0, 0}, {-1, -1}, 0, 0b11), {3, 4},
      {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});  // x[2::-1, 3::-1]: end masks with negative strides
  // x[..., None, 1] on [2, 3, 4]: a new axis after the ellipsis.
  expect_values(strided({2, 3, 4}, {0, 0, 1}, {0, 0, 2}, {1, 1, 1}, 0, 0, 0b1, 0b10, 0b100),
                {2, 3, 1}, {1, 5, 9, 13, 17, 21});
  // Rank 0 input with an empty spec.
  expect_values(strided({}, {}, {}, {}), {}, {0});
}

TEST(StridedSlice, StaticShapesDtypesAndThreads) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, 4});
  auto ss = [&](const Output& in, std::vector<int64_t> b, std::vector<int64_t> e,
                std::vector<int64_t> st, int64_t bm, int64_t em, int64_t sh) {
    return ops::strided_slice(s, in, c(s, i32(std::vector<int32_t>(b.begin(), b.end()))),
                              c(s, i32(std::vector<int32_t>(e.begin(), e.end()))),
                              c(s, i32(std::vector<int32_t>(st.begin(), st.end()))), bm, em, 0, 0,
                              sh);
  };
  EXPECT_EQ(ss(x, {0, 1}, {0, 3}, {1, 1}, 1, 1, 0).shape(), Shape({-1, 2}));
  EXPECT_EQ(ss(x, {0, 1}, {0, 3}, {1, 1}, 1, 1, 0b1).shape(), Shape({2}));
  Output b = ops::placeholder(s, DType::i64, {2});
  EXPECT_EQ(ops::strided_slice(s, x, b, b, b, 0, 0, 0, 0, 0b10).shape(), Shape({-1}));
  // bool and int64 elements
  const Tensor bools = eval([&](const Scope& s) {
    return ops::strided_slice(s, c(s, Tensor({true, true, false, false})), c(s, i64({0})),
                              c(s, i64({0})), c(s, i64({-1})), 1, 1);
  });
  expect_values(bools, {4}, {0, 0, 1, 1});
  // One and two threads give the same bits.
  Output big = ops::strided_slice(s, c(s, iota({400, 301})), c(s, i64({1, -1})), c(s, i64({0, 0})),
                                  c(s, i64({2, -3})), 0b10, 0b11);
  EXPECT_EQ(big.shape(), Shape({200, 101}));
  const Tensor one = Session(g, SessionOptions{1}).run({}, {big})[0];
  const Tensor two = Session(g, SessionOptions{2}).run({}, {big})[0];
  EXPECT_TRUE(one.equals(two));
  EXPECT_EQ(one.at<float>({3, 2}), 7 * 301 + 294);  // row 1 + 2*3, column 300 - 3*2
}

TEST(StridedSlice, Errors) {
  Graph g;
  Scope s(g);
  const Output x = c(s, iota({3, 4}));
  auto build = [&](const std::string& name, std::vector<int64_t> b, std::vector<int64_t> e,
                   std::vector<int64_t> st, int64_t ell = 0, int64_t sh = 0) {
    return error_of<InvalidArgument>([&] {
      ops::strided_slice(s.named(name), x, c(s, i64(b)), c(s, i64(e)), c(s, i64(st)), 0, 0, ell, 0,
                         sh);
    });
  };
  std::string m = build("shrink_oob", {5}, {6}, {1}, 0, 1);
  EXPECT_TRUE(has(m, "'shrink_oob'") && has(m, "out of bounds")) << m;
  EXPECT_TRUE(has(build("zero_stride", {0}, {1}, {0}), "must be non-zero"));
  EXPECT_TRUE(has(build("ellipses", {0, 0}, {1, 1}, {1, 1}, 0b11), "Multiple ellipses"));
  EXPECT_TRUE(has(build("too_many", {0, 0, 0}, {1, 1, 1}, {1, 1, 1}), "Index out of range"));
  EXPECT_TRUE(has(build("lengths", {0, 0}, {1}, {1, 1}), "equal size"));
  EXPECT_TRUE(has(build("neg_shrink", {0}, {1}, {-1}, 0, 1), "only stride 1"));
  // At run time, through a fed begin.
  Output b = ops::placeholder(s, DType::i64, {1});
  Output y =
      ops::strided_slice(s.named("run"), x, b, c(s, i64({0})), c(s, i64({1})), 0, 0, 0, 0, 1);
  Session sess(g);
  expect_values(sess.run({{b, i64({-3})}}, {y})[0], {4}, {0, 1, 2, 3});
  m = error_of<InvalidArgument>([&] { sess.run({{b, i64({3})}}, {y}); });
  EXPECT_TRUE(has(m, "node 'run' (StridedSlice)") && has(m, "slice index 3")) << m;
}

TEST(StridedSlice, GradScattersIntoZeros) {
  const Tensor y = eval([&](const Scope& s) {
    return ops::strided_slice_grad(s, c(s, i64({3, 4})), c(s, i64({1, 0})), c(s, i64({0, 0})),
                                   c(s, i64({1, 2})), c(s, f32({1, 2, 3, 4}, {2, 2})), 0b10, 0b11);
  });
  expect_values(y, {3, 4}, {0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0});
}

TEST(SliceOnnx, StartsEndsAxesSteps) {
  auto sl = [&](const Shape& shape, std::vector<int64_t> st, std::vector<int64_t> en,
                std::vector<int64_t> ax, std::vector<int64_t> sp) {
    return [=](const Scope& s) {
      return ops::slice_onnx(s, c(s, iota(shape)), c(s, i64(st)), c(s, i64(en)),
                             ax.empty() ? Output() : c(s, i64(ax)),
                             sp.empty() ? Output() : c(s, i64(sp)));
    };
  };
  EXPECT_EQ(static_shape(sl({3, 4}, {1}, {kMax}, {1}, {})), Shape({3, 3}));
  expect_values(eval(sl({3, 4}, {1}, {kMax}, {1}, {})), {3, 3}, {1, 2, 3, 5, 6, 7, 9, 10, 11});
  expect_values(eval(sl({3, 4}, {-1}, {kMin}, {0}, {-1})), {3, 4},
                {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3});
  expect_values(eval(sl({3, 4}, {0, 1}, {2, 3}, {}, {})), {2, 2}, {1, 2, 5, 6});
  expect_values(eval(sl({3, 4}, {0}, {4}, {-1}, {2})), {3, 2}, {0, 2, 4, 6, 8, 10});
  expect_values(eval(sl({3, 4}, {3}, {-100}, {1}, {-2})), {3, 2}, {3, 1, 7, 5, 11, 9});
  expect_values(eval(sl({3, 4}, {5}, {10}, {0}, {})), {0, 4}, {});
  expect_values(eval(sl({0, 2}, {-1}, {kMin}, {0}, {-1})), {0, 2}, {});
  expect_values(eval([&](const Scope& s) {
                  return ops::slice_onnx(s, c(s, iota({4})), c(s, i32({1})),
                                         c(s, i32({2147483647})));
                }),
                {3}, {1, 2, 3});
  Graph g;
  Scope s(g);
  const Output x = c(s, iota({3, 4}));
  auto err = [&](std::vector<int64_t> ax, std::vector<int64_t> sp) {
    return error_of<InvalidArgument>([&] {
      ops::slice_onnx(s.named("bad"), x, c(s, i64({0, 0})), c(s, i64({1, 1})), c(s, i64(ax)),
                      c(s, i64(sp)));
    });
  };
  EXPECT_TRUE(has(err({1, -1}, {1, 1}), "twice"));
  EXPECT_TRUE(has(err({0, 1}, {1, 0}), "non-zero"));
  const std::string m = err({0, 2}, {1, 1});
  EXPECT_TRUE(has(m, "node 'bad") && has(m, "(SliceOnnx)") && has(m, "out of range")) << m;
  // Run-time starts: unknown dim statically, values checked when run.
  Output st = ops::placeholder(s, DType::i64, {1});
  Output y = ops::slice_onnx(s, x, st, c(s, i64({kMax})), c(s, i64({1})));
  EXPECT_EQ(y.shape(), Shape({3, -1}));
  Session sess(g);
  expect_values(sess.run({{st, i64({-2})}}, {y})[0], {3, 2}, {2, 3, 6, 7, 10, 11});
}

TEST(Reverse, AxesAndErrors) {
  const Tensor x = iota({2, 3});
  expect_values(eval([&](const Scope& s) { return ops::reverse(s, c(s, x), {1}); }), {2, 3},
                {2, 1, 0, 5, 4, 3});
  expect_values(eval([&](const Scope& s) {
                  return ops::reverse(s, c(s, x), {0, -1});
                }),
                {2, 3}, {5, 4, 3, 2, 1, 0});
  expect_values(eval([&](const Scope& s) { return ops::reverse(s, c(s, x), {}); }), {2, 3},
                {0, 1, 2, 3, 4, 5});
  expect_values(eval([&](const Scope& s) {
                  return ops::reverse(s, c(s, Tensor({int64_t{1}, int64_t{2}})), {0});
                }),
                {2}, {2, 1});
  expect_values(eval([&](const Scope& s) {
                  return ops::reverse(s, c(s, Tensor::zeros(DType::u8, {0, 2})), {0});
                }),
                {0, 2}, {});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::reverse(s, c(s, x), {1, -1}), InvalidArgument);
  EXPECT_THROW(ops::reverse(s, c(s, x), {2}), InvalidArgument);
}

Tensor padded(const Tensor& x, const Tensor& pads, const std::string& mode,
              const Tensor& value = Tensor()) {
  return eval([&](const Scope& s) {
    return ops::pad(s, c(s, x), c(s, pads), mode, value.valid() ? c(s, value) : Output());
  });
}
Tensor pairs(std::vector<int64_t> v) {
  return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size() / 2), 2});
}

TEST(Pad, ConstantModeLayoutsAndCropping) {
  const Tensor x = iota({2, 3});
  expect_values(padded(x, pairs({1, 0, 0, 2}), "constant"), {3, 5},
                {0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 5, 0, 0});
  // ONNX layout [begins.., ends..] and a constant value.
  expect_values(padded(x, i64({0, 1, 0, 1}), "constant", Tensor(9.0f)), {2, 5},
                {9, 0, 1, 2, 9, 9, 3, 4, 5, 9});
  // Negative pads crop.
  expect_values(padded(f32({1, 2, 3, 4}, {4}), i64({-1, 1}), "CONSTANT"), {4}, {2, 3, 4, 0});
  expect_values(padded(f32({1, 2, 3, 4}, {4}), i64({-2, -2}), "constant"), {0}, {});
  // Other dtypes; a scalar with no paddings.
  expect_values(padded(Tensor({true}), i64({1, 1}), "constant", Tensor(true)), {3}, {1, 1, 1});
  expect_values(padded(Tensor({int32_t{5}}), i64({2, 0}), "edge"), {3}, {5, 5, 5});
  expect_values(padded(Tensor(7.0), Tensor(DType::i64, {0}), "reflect"), {}, {7});
  auto f = [&](const Scope& s) { return ops::pad(s, c(s, x), c(s, pairs({1, 1, 2, 2}))); };
  EXPECT_EQ(static_shape(f), Shape({4, 7}));
}

TEST(Pad, MirrorAndEdgeModes) {
  const Tensor v = f32({1, 2, 3}, {3});
  expect_values(padded(v, i64({2, 2}), "reflect"), {7}, {3, 2, 1, 2, 3, 2, 1});
  expect_values(padded(v, i64({2, 2}), "symmetric"), {7}, {2, 1, 1, 2, 3, 3, 2});
  expect_values(padded(v, i64({2, 1}), "edge"), {6}, {1, 1, 1, 2, 3, 3});
  expect_values(padded(v, i64({5, 0}), "reflect"), {8},
                {2, 1, 2, 3, 2, 1, 2, 3});  // wider than the input
  // TensorFlow's MirrorPad documentation examples.
  const Tensor t = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(
      padded(t, pairs({1, 1, 2, 2}), "REFLECT"), {4, 7},
      {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1});
  expect_values(
      padded(t, pairs({1, 1, 2, 2}), "SYMMETRIC"), {4, 7},
      {2, 1, 1, 2, 3, 3, 2, 2, 1, 1, 2, 3, 3, 2, 5, 4, 4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 6, 5});
  Graph g;
  Scope s(g);
  const Output x = c(s, t);
  EXPECT_THROW(ops::pad(s, x, c(s, i64({1, 1}))), InvalidArgument);  // wrong paddings shape
  EXPECT_THROW(ops::pad(s, x, c(s, pairs({0, 0, -2, -2}))), InvalidArgument);  // cropped below zero
  EXPECT_THROW(ops::pad(s, x, c(s, pairs({0, 0, 1, 1})), "wrap"), InvalidArgument);
  EXPECT_THROW(ops::pad(s, c(s, Tensor::zeros(DType::f32, {0})), c(s, i64({1, 0})), "reflect"),
               InvalidArgument);
  Output p = ops::placeholder(s, DType::i32, {-1, 2});
  Output y = ops::pad(s.named("pad"), x, p, "edge");
  EXPECT_EQ(y.shape(), Shape({-1, -1}));
  Session sess(g);
  const std::string m = error_of<InvalidArgument>([&] {
    sess.run({{p, Tensor::from_vector(std::vector<int32_t>{0, 0, 0, 0, 0, 0}, {3, 2})}}, {y});
  });
  EXPECT_TRUE(has(m, "node 'pad' (Pad)") && has(m, "[3,2]")) << m;
}

TEST(Pad, ZeroPadding2DIsThreadIndependent) {
  Graph g;
  Scope s(g);
  const Tensor x = iota({2, 30, 31, 3});
  Output y = ops::pad(s, c(s, x), c(s, pairs({0, 0, 1, 1, 2, 2, 0, 0})));
  EXPECT_EQ(y.shape(), Shape({2, 32, 35, 3}));
  const Tensor one = Session(g, SessionOptions{1}).run({}, {y})[0];
  const Tensor two = Session(g, SessionOptions{2}).run({}, {y})[0];
  EXPECT_TRUE(one.equals(two));
  EXPECT_EQ(one.at<float>({1, 0, 5, 2}), 0);
  EXPECT_EQ(one.at<float>({1, 3, 5, 2}), x.at<float>({1, 2, 3, 2}));
}

TEST(Tile, Values) {
  const Tensor x = f32({1, 2, 3, 4}, {2, 2});
  auto t = [&](std::vector<int64_t> m) {
    return [=](const Scope& s) { return ops::tile(s, c(s, x), c(s, i64(m))); };
  };
  EXPECT_EQ(static_shape(t({2, 1})), Shape({4, 2}));
  expect_values(eval(t({2, 1})), {4, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  expect_values(eval(t({1, 3})), {2, 6}, {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  expect_values(eval(t({0, 2})), {0, 4}, {});
  expect_values(eval([&](const Scope& s) {
                  return ops::tile(s, c(s, Tensor({true, false})), c(s, i32({2})));
                }),
                {4}, {1, 0, 1, 0});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::tile(s, c(s, x), c(s, i64({2}))), InvalidArgument);
  EXPECT_THROW(ops::tile(s, c(s, x), c(s, i64({2, -1}))), InvalidArgument);
  Output big = ops::tile(s, c(s, iota({7, 1001})), c(s, i64({20, 3})));
  const Tensor one = Session(g, SessionOptions{1}).run({}, {big})[0];
  const Tensor two = Session(g, SessionOptions{2}).run({}, {big})[0];
  EXPECT_TRUE(one.equals(two));
  EXPECT_EQ(one.at<float>({69, 2002}), 6 * 1001);
}

TEST(BroadcastToExpand, TensorFlowAndOnnxRules) {
  const Tensor v = f32({1, 2, 3}, {3});
  auto bt = [&](const Tensor& x, std::vector<int64_t> shape, bool expand) {
    return eval([&](const Scope& s) {
      return expand ? ops::expand(s, c(s, x), c(s, i64(shape)))
                    : ops::broadcast_to(s, c(s, x), c(s, i64(shape)));
    });
  };
  expect_values(bt(v, {2, 3}, false), {2, 3}, {1, 2, 3, 1, 2, 3});
  expect_values(bt(f32({1, 2, 3}, {3, 1}), {2, 3, 2}, false), {2, 3, 2},
                {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  expect_values(bt(v, {2, 1}, true), {2, 3}, {1, 2, 3, 1, 2, 3});  // ONNX: the 1 keeps x's dim
  expect_values(bt(f32({1, 2}, {2, 1}), {1, 2}, true), {2, 2}, {1, 1, 2, 2});
  expect_values(bt(iota({2, 3}), {3}, true), {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_values(bt(v, {0, 3}, false), {0, 3}, {});
  expect_values(bt(Tensor(int64_t{4}), {2}, false), {2}, {4, 4});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::broadcast_to(s, c(s, v), c(s, i64({2, 1}))),
               InvalidArgument);  // TensorFlow: exact target
  EXPECT_THROW(ops::broadcast_to(s, c(s, v), c(s, i64({4}))), InvalidArgument);
  EXPECT_THROW(ops::expand(s, c(s, v), c(s, i64({4}))), InvalidArgument);
  Output shape = ops::placeholder(s, DType::i64, {2});
  Output y = ops::broadcast_to(s.named("bt"), c(s, v), shape);
  Session sess(g);
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{shape, i64({2, 2})}}, {y}); });
  EXPECT_TRUE(has(m, "node 'bt' (BroadcastTo)")) << m;
}

TEST(DepthToSpace, TensorFlowAndOnnxOrders) {
  auto d2s = [&](const Tensor& x, int64_t b, const std::string& mode, const std::string& fmt) {
    return eval([&](const Scope& s) { return ops::depth_to_space(s, c(s, x), b, mode, fmt); });
  };
  // TensorFlow's documentation examples (NHWC).
  expect_values(d2s(f32({1, 2, 3, 4}, {1, 1, 1, 4}), 2, "DCR", "NHWC"), {1, 2, 2, 1}, {1, 2, 3, 4});
  expect_values(d2s(iota({1, 1, 1, 12}), 2, "DCR", "NHWC"), {1, 2, 2, 3},
                {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  expect_values(d2s(iota({1, 2, 2, 4}), 2, "DCR", "NHWC"), {1, 4, 4, 1},
                {0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15});
  // ONNX NCHW: 8 channels of one pixel, b = 2, C' = 2.
  expect_values(d2s(iota({1, 8, 1, 1}), 2, "DCR", "NCHW"), {1, 2, 2, 2}, {0, 2, 4, 6, 1, 3, 5, 7});
  expect_values(d2s(iota({1, 8, 1, 1}), 2, "CRD", "NCHW"), {1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  // ONNX's [1, 8, 2, 3] arange example: the first output row in each mode.
  const Tensor dcr = d2s(iota({1, 8, 2, 3}), 2, "DCR", "NCHW"),
               crd = d2s(iota({1, 8, 2, 3}), 2, "CRD", "NCHW");
  ASSERT_EQ(dcr.shape(), Shape({1, 2, 4, 6}));
  for (int x = 0; x < 6; ++x) {
    EXPECT_EQ(dcr.at<float>({0, 0, 0, x}), std::vector<float>({0, 12, 1, 13, 2, 14})[x]);
    EXPECT_EQ(crd.at<float>({0, 0, 0, x}), std::vector<float>({0, 6, 1, 7, 2, 8})[x]);
  }
  // space_to_depth inverts it in every mode and layout, for any dtype.
  for (const char* mode : {"DCR", "CRD"}) {
    for (const char* fmt : {"NHWC", "NCHW"}) {
      const Tensor x = iota({2, 12, 3, 8}).cast(DType::i64);
      const Tensor back = eval([&](const Scope& s) {
        return ops::space_to_depth(s, ops::depth_to_space(s, c(s, x), 2, mode, fmt), 2, mode, fmt);
      });
      EXPECT_TRUE(back.equals(x)) << mode << " " << fmt;
    }
  }
  expect_values(eval([&](const Scope& s) {
                  return ops::space_to_depth(s, c(s, f32({1, 2, 3, 4}, {1, 2, 2, 1})), 2);
                }),
                {1, 1, 1, 4}, {1, 2, 3, 4});
  Graph g;
  Scope s(g);
  EXPECT_THROW(ops::depth_to_space(s, c(s, iota({1, 1, 1, 6})), 2), InvalidArgument);
  EXPECT_THROW(ops::space_to_depth(s, c(s, iota({1, 3, 2, 1})), 2), InvalidArgument);
  EXPECT_THROW(ops::depth_to_space(s, c(s, iota({1, 1, 1, 4})), 2, "XYZ"), InvalidArgument);
  EXPECT_THROW(ops::depth_to_space(s, c(s, iota({1, 1, 4})), 2), InvalidArgument);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): test helpers

// Independent references for the index-map kernels: Python's slice.indices() for strided
// slices, and iterated reflection (rather than the kernel's modular arithmetic) for pads.
std::vector<int64_t> python_slice(int64_t n, int64_t b, int64_t e, int64_t st) {
  auto fix = [&](int64_t v) {
    if (v < 0) v += n;
    if (v < 0) return st < 0 ? int64_t{-1} : int64_t{0};
    if (v >= n) return st < 0 ? n - 1 : n;
    return v;
  };
  std::vector<int64_t> r;
  for (int64_t i = fix(b); st > 0 ? i < fix(e) : i > fix(e); i += st) r.push_back(i);
  return r;
}
int64_t mirror(int64_t i, int64_t n, const std::string& mode) {
  if (mode == "edge") return std::min(std::max<int64_t>(i, 0), n - 1);
  if (mode == "constant") return i >= 0 && i < n ? i : -1;
  while (i < 0 || i >= n) {
    if (n == 1) return 0;
    if (i < 0) i = mode == "reflect" ? -i : -i - 1;
    if (i >= n) i = mode == "reflect" ? 2 * (n - 1) - i : 2 * n - 1 - i;
  }
  return i;
}
// out[o] = x[lists[0][o0], lists[1][o1], ..] (-1: 0), the slow way.
std::vector<double> naive_gather(const Tensor& x, const std::vector<std::vector<int64_t>>& lists) {
  int64_t total = 1;
  for (const auto& l : lists) total *= static_cast<int64_t>(l.size());
  std::vector<double> out;
  std::vector<size_t> o(lists.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    int64_t flat = 0;
    bool fill = false;
    for (size_t d = 0; d < lists.size(); ++d) {
      fill |= lists[d][o[d]] < 0;
      flat = flat * x.dim(static_cast<int>(d)) + lists[d][o[d]];
    }
    out.push_back(fill ? 0.0 : x.as_double(flat));
    for (int d = static_cast<int>(lists.size()) - 1; d >= 0 && ++o[d] == lists[d].size(); --d)
      o[d] = 0;
  }
  return out;
}

TEST(AxisMapKernels, RandomSlicesAndPadsMatchNaiveReference) {
  std::mt19937 rng(7);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 60; ++trial) {
    const int rank = static_cast<int>(uni(1, 4));
    std::vector<int64_t> dims, b, e, st, pads;
    for (int d = 0; d < rank; ++d) dims.push_back(uni(d == 0 ? 0 : 1, 6));
    const Tensor x = iota(Shape(dims));
    std::vector<std::vector<int64_t>> lists, pad_lists;
    const std::string mode =
        std::vector<std::string>{"constant", "reflect", "symmetric", "edge"}[trial % 4];
    for (int d = 0; d < rank; ++d) {
      b.push_back(uni(-8, 8));
      e.push_back(uni(-8, 8));
      st.push_back(uni(0, 1) ? uni(1, 3) : -uni(1, 3));
      lists.push_back(python_slice(dims[d], b[d], e[d], st[d]));
      const int64_t lo = dims[d] == 0 && mode != "constant" ? 0 : uni(-1, 4);
      const int64_t hi = dims[d] == 0 && mode != "constant" ? 0 : uni(0, 4);
      pads.push_back(lo);
      pads.push_back(hi);
      std::vector<int64_t> l;
      for (int64_t o = 0; o < dims[d] + lo + hi; ++o) l.push_back(mirror(o - lo, dims[d], mode));
      pad_lists.push_back(l);
    }
    const Tensor sliced = eval([&](const Scope& s) {
      return ops::strided_slice(s, c(s, x), c(s, i64(b)), c(s, i64(e)), c(s, i64(st)));
    });
    std::vector<int64_t> shape;
    for (const auto& l : lists) shape.push_back(static_cast<int64_t>(l.size()));
    expect_values(sliced, Shape(shape), naive_gather(x, lists));
    const Tensor pad_t = Tensor::from_vector(pads, Shape{rank, 2});
    const Tensor p = eval([&](const Scope& s) { return ops::pad(s, c(s, x), c(s, pad_t), mode); });
    shape.clear();
    for (const auto& l : pad_lists) shape.push_back(static_cast<int64_t>(l.size()));
    expect_values(p, Shape(shape), naive_gather(x, pad_lists));
    if (HasFailure()) {
      ADD_FAILURE() << "trial " << trial << " dims " << Shape(dims) << " mode " << mode;
      return;
    }
  }
}

TEST(AxisMapKernels, PadAndTileGradientsAreThreadIndependentAndMatchNaiveSums) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {40, 37});
  Output pads = c(s, Tensor::from_vector(std::vector<int64_t>{30, 45, 3, 60}, Shape{2, 2}));
  Output w = c(s, iota({115, 100}).cast(DType::f64));
  Output loss = ops::sum(s, ops::mul(s, ops::pad(s, x, pads, "reflect"), w));
  Output dx = gradients(s, {loss}, {x})[0];
  Output t = ops::tile(s, x, c(s, i64({3, 2})));
  Output dt =
      gradients(s, {ops::sum(s, ops::mul(s, t, c(s, iota({120, 74}).cast(DType::f64))))}, {x})[0];
  const Tensor xv = Tensor::zeros(DType::f64, {40, 37});
  const auto one = Session(g, SessionOptions{1}).run({{x, xv}}, {dx, dt});
  const auto two = Session(g, SessionOptions{2}).run({{x, xv}}, {dx, dt});
  EXPECT_TRUE(one[0].equals(two[0]));
  EXPECT_TRUE(one[1].equals(two[1]));
  // Naive sums: every padded / tiled position adds its weight to the input it copies.
  std::vector<double> want_pad(40 * 37, 0.0), want_tile(40 * 37, 0.0);
  for (int64_t i = 0; i < 115; ++i)
    for (int64_t j = 0; j < 100; ++j)
      want_pad[mirror(i - 30, 40, "reflect") * 37 + mirror(j - 3, 37, "reflect")] +=
          static_cast<double>(i * 100 + j);
  for (int64_t i = 0; i < 120; ++i)
    for (int64_t j = 0; j < 74; ++j)
      want_tile[(i % 40) * 37 + j % 37] += static_cast<double>(i * 74 + j);
  expect_values(one[0], {40, 37}, want_pad);
  expect_values(one[1], {40, 37}, want_tile);
}

}  // namespace
}  // namespace sluice
