// conv2d_transpose: output sizes under TF's, Keras' and ONNX's rules, values against the
// scatter definition (nn_reference.h) and a hand-computed case, gradients against the
// adjoint relations, and bad input.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <random>

#include "nn_reference.h"
#include "test_util.h"

namespace sluice {
namespace {

using Ints = std::vector<int64_t>;

using sluice::testing::random_tensor;

TEST(ConvTranspose, HandComputedStride2) {
  // One 2x2 input [1,2;3,4], a 2x2 filter [1,10;100,1000], stride 2, VALID: each input
  // pixel writes its own 2x2 block of the 4x4 output.
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {1, 2, 2, 1}));
  Output w = ops::constant(s, Tensor::from_vector(std::vector<float>{1, 10, 100, 1000}, {2, 2, 1, 1}));
  Output y = ops::conv2d_transpose(s, x, w, {2, 2});
  EXPECT_EQ(y.shape(), (Shape{1, 4, 4, 1}));
  // Stride 1 overlaps: out[i][j] sums x[a][b] * w[i-a][j-b].
  Output z = ops::conv2d_transpose(s, x, w, {1, 1});
  EXPECT_EQ(z.shape(), (Shape{1, 3, 3, 1}));
  Session sess(g);
  auto r = sess.run({}, {y, z});
  EXPECT_EQ(r[0].to_vector<float>(),
            (std::vector<float>{1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400,
                                4000}));
  EXPECT_EQ(r[1].to_vector<float>(),
            (std::vector<float>{1, 12, 20, 103, 1234, 2040, 300, 3400, 4000}));
}

struct Case {
  std::string name;
  int64_t n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, groups;
  std::string padding;
  Pads pads;
  Ints output_size, output_padding;
  int64_t want_oh, want_ow;  // the size TF / Keras / ONNX give
};

// Pads of the forward convolution that the case implies (for the reference).
void resolve(const Case& k, int64_t& oh, int64_t& ow, int64_t& pt, int64_t& pl) {
  oh = k.want_oh, ow = k.want_ow;
  const int64_t eff_h = (k.kh - 1) * k.dh + 1, eff_w = (k.kw - 1) * k.dw + 1;
  if (k.padding == "SAME" || k.padding == "SAME_LOWER") {
    const int64_t th = std::max<int64_t>(0, k.sh * (k.h - 1) + k.output_padding[0] + eff_h - oh);
    const int64_t tw = std::max<int64_t>(0, k.sw * (k.w - 1) + k.output_padding[1] + eff_w - ow);
    pt = k.padding == "SAME" ? th / 2 : th - th / 2;
    pl = k.padding == "SAME" ? tw / 2 : tw - tw / 2;
  } else if (k.padding == "EXPLICIT") {
    pt = k.pads.top, pl = k.pads.left;
  } else {
    pt = pl = 0;
  }
}

class TransposeAgainstNaive : public ::testing::TestWithParam<Case> {};

TEST_P(TransposeAgainstNaive, ForwardAndGradients) {
  const Case& k = GetParam();
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tol = dtype == DType::f32 ? 3e-5 : 1e-12;
    int64_t oh, ow, pt, pl;
    resolve(k, oh, ow, pt, pl);
    const Tensor xv = random_tensor(dtype, {k.n, k.h, k.w, k.cin}, 1);
    const Tensor wv = random_tensor(dtype, {k.kh, k.kw, k.cout / k.groups, k.cin}, 2);
    const Tensor gv = random_tensor(dtype, {k.n, oh, ow, k.cout}, 3);
    Graph g;
    Scope s(g);
    Output x = ops::placeholder(s, dtype, {k.n, k.h, k.w, k.cin});
    Output w = ops::placeholder(s, dtype, {k.kh, k.kw, k.cout / k.groups, k.cin});
    Output y = ops::conv2d_transpose(s, x, w, {k.sh, k.sw}, k.pads, k.output_size,
                                     k.output_padding, {k.dh, k.dw}, k.groups);
    ASSERT_EQ(y.shape(), (Shape{k.n, k.want_oh, k.want_ow, k.cout})) << k.name;
    Output gy = ops::constant(s, gv);
    auto grads = gradients(s, {y}, {x, w}, {gy});
    Session sess(g, SessionOptions{2});
    auto r = sess.run({{x, xv}, {w, wv}}, {y, grads[0], grads[1]});
    const reference::Vec want =
        reference::conv_transpose(xv, wv, oh, ow, k.sh, k.sw, pt, pl, k.dh, k.dw, k.groups);
    ASSERT_EQ(r[0].num_elements(), static_cast<int64_t>(want.size())) << k.name;
    for (int64_t i = 0; i < r[0].num_elements(); ++i)
      ASSERT_NEAR(r[0].as_double(i), want[static_cast<size_t>(i)], tol) << k.name << " " << i;
    // The adjoint: <y(x, w), gy> is linear in x and in w, so the gradients must satisfy
    // <dx, x> = <y, gy> = <dw, w>.
    double ygy = 0, dxx = 0, dww = 0;
    for (int64_t i = 0; i < r[0].num_elements(); ++i) ygy += r[0].as_double(i) * gv.as_double(i);
    for (int64_t i = 0; i < xv.num_elements(); ++i) dxx += r[1].as_double(i) * xv.as_double(i);
    for (int64_t i = 0; i < wv.num_elements(); ++i) dww += r[2].as_double(i) * wv.as_double(i);
    EXPECT_NEAR(dxx, ygy, tol * 100 * std::max(1.0, std::fabs(ygy))) << k.name;
    EXPECT_NEAR(dww, ygy, tol * 100 * std::max(1.0, std::fabs(ygy))) << k.name;
  }
}

const Pads V = Padding::valid, S = Padding::same, SL = Padding::same_lower;

// name, n, h, w, cin, kh, kw, cout, sh, sw, dh, dw, groups, padding, pads, output_size,
// output_padding, want_oh, want_ow
INSTANTIATE_TEST_SUITE_P(
    Cases, TransposeAgainstNaive,
    ::testing::Values(
        // ONNX without output_shape: s*(in-1) + output_padding + eff - pads.
        Case{"valid_s2", 2, 3, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, "VALID", V, {}, {0, 0}, 7, 9},
        Case{"explicit_pads_output_padding", 1, 4, 3, 2, 3, 3, 3, 2, 2, 1, 1, 1, "EXPLICIT",
             Pads::explicit_pads(1, 1, 1, 1), {}, {1, 1}, 8, 6},
        Case{"explicit_asym_pads", 1, 3, 3, 2, 4, 4, 2, 2, 2, 1, 1, 1, "EXPLICIT",
             Pads::explicit_pads(1, 2, 0, 1), {}, {0, 0}, 5, 7},
        Case{"output_padding_beyond_pads", 1, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, "VALID", V, {},
             {1, 1}, 7, 7},
        Case{"dilated", 1, 4, 4, 2, 3, 3, 2, 1, 1, 2, 2, 1, "VALID", V, {}, {0, 0}, 8, 8},
        Case{"grouped", 2, 3, 3, 4, 3, 3, 6, 2, 2, 1, 1, 2, "EXPLICIT",
             Pads::explicit_pads(1, 1, 1, 1), {}, {1, 1}, 6, 6},
        // ONNX auto_pad SAME_UPPER / SAME_LOWER without output_shape: in * stride.
        Case{"same_upper_s2", 1, 3, 4, 2, 3, 3, 3, 2, 2, 1, 1, 1, "SAME", S, {}, {0, 0}, 6, 8},
        Case{"same_lower_s2", 1, 3, 4, 2, 3, 3, 3, 2, 2, 1, 1, 1, "SAME_LOWER", SL, {}, {0, 0}, 6,
             8},
        // TF's conv2d_transpose / Keras' Conv2DTranspose: output_shape given, SAME or VALID.
        Case{"tf_same_output_shape_odd", 2, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, "SAME", S, {7, 8},
             {0, 0}, 7, 8},
        Case{"tf_valid_output_shape", 1, 3, 3, 2, 3, 3, 2, 2, 2, 1, 1, 1, "VALID", V, {8, 7},
             {0, 0}, 8, 7},
        Case{"keras_same_s1", 2, 5, 6, 3, 3, 3, 4, 1, 1, 1, 1, 1, "SAME", S, {5, 6}, {0, 0}, 5,
             6}),
    [](const auto& info) { return info.param.name; });

TEST(ConvTranspose, IsTheAdjointOfConv2D) {
  // conv2d_transpose(dy, w) with output_size = x's size equals conv2d_backprop_input.
  const Tensor xv = random_tensor(DType::f64, {2, 9, 8, 3}, 11);
  const Tensor wv = random_tensor(DType::f64, {3, 3, 3, 5}, 12);
  const Tensor dyv = random_tensor(DType::f64, {2, 5, 4, 5}, 13);
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, xv), w = ops::constant(s, wv), dy = ops::constant(s, dyv);
  Output a = ops::conv2d_backprop_input(s, x, w, dy, {2, 2}, Padding::same);
  Output b = ops::conv2d_transpose(s, dy, w, {2, 2}, Padding::same, {9, 8});
  Session sess(g);
  auto r = sess.run({}, {a, b});
  ASSERT_EQ(r[1].shape(), xv.shape());
  for (int64_t i = 0; i < r[0].num_elements(); ++i)
    EXPECT_NEAR(r[0].as_double(i), r[1].as_double(i), 1e-12);
}

TEST(ConvTranspose, GroupedAndTransposedResultsDoNotDependOnTheNumberOfThreads) {
  const Tensor xv = random_tensor(DType::f32, {6, 20, 18, 32}, 21);
  const Tensor wg = random_tensor(DType::f32, {3, 3, 8, 32}, 22);
  const Tensor wt = random_tensor(DType::f32, {4, 4, 16, 32}, 23);
  auto run = [&](int threads) {
    Graph g;
    Scope s(g);
    Output x = ops::placeholder(s, DType::f32, {-1, 20, 18, 32});
    Output a = ops::conv2d(s, x, ops::constant(s, wg), {1, 1}, Padding::same, {1, 1}, 4);
    Output t = ops::conv2d_transpose(s, x, ops::constant(s, wt), {2, 2},
                                     Pads::explicit_pads(1, 1, 1, 1));
    Output loss = ops::add(s, ops::sum(s, ops::square(s, a)), ops::sum(s, ops::square(s, t)));
    auto grads = gradients(s, {loss}, {x});
    Session sess(g, SessionOptions{threads});
    return sess.run({{x, xv}}, {a, t, grads[0]});
  };
  auto one = run(1), four = run(4);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(one[i].equals(four[i])) << i;
}

TEST(ConvTranspose, Errors) {
  using testing::contains;
  using testing::error_of;
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {1, 4, 4, 3});
  Output w = ops::placeholder(s, DType::f32, {3, 3, 2, 3});
  std::string m = error_of<InvalidArgument>(
      [&] { ops::conv2d_transpose(s.named("t1"), x, ops::placeholder(s, DType::f32, {3, 3, 2, 4})); });
  EXPECT_TRUE(contains(m, "'t1' (Conv2DTranspose)") && contains(m, "in_channels (dim 3)")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d_transpose(s.named("t2"), x, w, {2, 2}, Padding::same, {11, 11});
  });
  EXPECT_TRUE(contains(m, "convolves back to size 5, not the input's 4")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::conv2d_transpose(s.named("t3"), x, w, {2, 2}, Padding::valid, {}, {2, 0}); });
  EXPECT_TRUE(contains(m, "output_padding 2 must be in [0, stride 2)")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::conv2d_transpose(s.named("t4"), x, w, {1, 1}, Padding::valid, {5}); });
  EXPECT_TRUE(contains(m, "output_size must be empty or {OH,OW}")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d_transpose(s.named("t5"), x, w, {1, 1}, Pads::explicit_pads(4, 4, 0, 0));
  });
  EXPECT_TRUE(contains(m, "must be positive")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d_transpose(s.named("t6"), x, ops::placeholder(s, DType::f32, {3, 3, 2, 3}),
                          {1, 1}, Padding::valid, {}, {0, 0}, {1, 1}, 2);
  });
  EXPECT_TRUE(contains(m, "groups (2) must divide")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d_transpose(s.named("t7"), x, w, {1, 1}, Padding::valid, {int64_t{1} << 50, 6});
  });
  EXPECT_TRUE(contains(m, "output_size 1125899906842624 is out of range")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d_transpose(s.named("t8"), x, w, {1, 1},
                          Pads::explicit_pads(int64_t{1} << 62, 0, 0, 0));
  });
  EXPECT_TRUE(contains(m, "out of range")) << m;
}

}  // namespace
}  // namespace sluice
