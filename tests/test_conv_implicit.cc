// The implicit GEMM convolution (conv::forward_implicit): it reads the patches in place from
// a padded copy of the input and runs the same GEMM kernel as forward_im2col_packed on the
// same packed filter, so it must give its bits, on every way it splits the work: whole
// images per thread, one image's output rows, or its column strips (few pixels, a big
// filter); and which layers take it.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <type_traits>

#include "ops/conv_lowering.h"
#include "ops/gemm_packed.h"
#include "test_util.h"

namespace sluice {
namespace {

using sluice::testing::random_tensor;

conv::ConvGeometry geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t f,
                            int64_t s, int64_t dh, int64_t top, int64_t bottom, int64_t left,
                            int64_t right) {
  conv::ConvGeometry g;
  g.n = n, g.h = h, g.w = w, g.c = c, g.kh = k, g.kw = k, g.f = f, g.sh = s, g.sw = s, g.dh = dh;
  g.pad_top = top, g.pad_left = left;
  g.oh = (h + top + bottom - (k - 1) * dh - 1) / s + 1, g.ow = (w + left + right - k) / s + 1;
  return g;
}

// forward_implicit against forward_im2col_packed, bit for bit, with the output written densely
// and into a wider tensor (FusedConcatConv2D), on 1 and 2 threads, float and double.
void expect_bits_of_im2col(const conv::ConvGeometry& g0, const std::vector<DType>& dtypes) {
  for (DType dtype : dtypes) {
    for (int64_t extra : {0, 5}) {
      conv::ConvGeometry g = g0;
      g.ldy = extra ? g.f + extra : 0;
      const int64_t ldy = g.out_stride();
      const Tensor x = random_tensor(dtype, {g.n, g.h, g.w, g.c}, 31);
      const Tensor w = random_tensor(dtype, {g.patch(), g.f}, 32);
      const Tensor b = random_tensor(dtype, {g.f}, 33);
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        Tensor want = Tensor::filled(dtype, {g.out_pixels(), ldy}, 7), got = want.clone();
        const conv::Epilogue act(conv::Epilogue::clip, -0.5, 0.5, 0);
        auto run = [&](auto* type) {
          using T = std::remove_pointer_t<decltype(type)>;
          const gemm::PackedMatrix<T> packed(false, g.patch(), g.f, 1, w.data<T>(), g.f);
          conv::forward_im2col_packed<T>(g, x.data<T>(), packed, b.data<T>(), act, want.data<T>(),
                                         pool);
          conv::forward_implicit<T>(g, x.data<T>(), packed, b.data<T>(), act, got.data<T>(), pool);
        };
        if (dtype == DType::f32) {
          run(static_cast<float*>(nullptr));
        } else {
          run(static_cast<double*>(nullptr));
        }
        int64_t differ = 0, touched = 0;
        for (int64_t i = 0; i < got.num_elements(); ++i) {
          differ += got.as_double(i) != want.as_double(i);
          touched += i % ldy < g.f && got.as_double(i) != 7;
        }
        EXPECT_EQ(differ, 0) << "n " << g.n << " c " << g.c << " f " << g.f << " oh " << g.oh
                             << " ow " << g.ow << " ldy " << ldy << " threads " << threads << " "
                             << dtype_name(dtype);
        EXPECT_GT(touched, 0);
      }
    }
  }
}

// Strides, row dilation, asymmetric and negative (cropping) pads, a channel tail.
TEST(ConvImplicit, GivesTheBitsOfIm2col) {
  const conv::ConvGeometry cases[] = {
      geometry(2, 9, 70, 3, 3, 64, 2, 1, 0, 0, 0, 0),    // SqueezeNet's stem, valid
      geometry(1, 12, 70, 3, 7, 20, 2, 1, 3, 3, 3, 3),   // ResNet's stem: 7x7/2, pads 3
      geometry(2, 10, 37, 16, 3, 21, 1, 1, 1, 1, 1, 1),  // a fire module's 3x3, a channel tail
      geometry(1, 11, 33, 5, 3, 9, 1, 2, 0, 1, 2, 0),    // dilated rows, asymmetric pads
      geometry(1, 8, 36, 4, 3, 8, 1, 1, -1, 1, -2, 1),   // cropping pads
      geometry(3, 9, 9, 32, 3, 40, 2, 1, 1, 1, 1, 1),    // stride 2, 3 images on 2 threads
      geometry(1, 13, 12, 24, 3, 19, 1, 2, 2, 2, 1, 1),  // many channels, dilated rows
  };
  EXPECT_TRUE(conv::implicit_chosen(cases[0]));  // the models' layers take the path
  // A 3x3 at stride 1 takes Winograd from two vector widths of channels, else the implicit GEMM.
  EXPECT_NE(conv::implicit_chosen(cases[2]), conv::winograd_chosen(cases[2]));
  for (const conv::ConvGeometry& g : cases) expect_bits_of_im2col(g, {DType::f32, DType::f64});
}

// Filters beyond L2: one image of 14x14 (a block of output rows per thread, each product over
// several output rows) and of 7x7 with many filters (split by column strips, a partial last
// strip), and a batch of two 7x7 images (one per thread).
TEST(ConvImplicit, BigFiltersGiveTheBitsOfIm2col) {
  expect_bits_of_im2col(geometry(1, 14, 14, 128, 3, 200, 1, 1, 1, 1, 1, 1), {DType::f32});
  expect_bits_of_im2col(geometry(1, 7, 7, 256, 3, 300, 1, 1, 1, 1, 1, 1), {DType::f32, DType::f64});
  expect_bits_of_im2col(geometry(2, 7, 7, 64, 3, 100, 1, 1, 1, 1, 1, 1), {DType::f32});
}

// Which layers take the path: resnet18's 14x14 layers at any batch, its 7x7 layers (49
// pixels an image, a 9.4 MB filter) only at batch 1, its 56x56 layers stay on Winograd.
TEST(ConvImplicit, ChosenForManyChannelsAndEnoughPixels) {
  for (int64_t n : {1, 8}) {
    EXPECT_TRUE(conv::implicit_chosen(geometry(n, 14, 14, 256, 3, 256, 1, 1, 1, 1, 1, 1))) << n;
    EXPECT_TRUE(conv::implicit_chosen(geometry(n, 28, 28, 128, 3, 256, 2, 1, 1, 1, 1, 1)))
        << n;  // stride 2
    EXPECT_EQ(conv::implicit_chosen(geometry(n, 7, 7, 512, 3, 512, 1, 1, 1, 1, 1, 1)), n == 1) << n;
    EXPECT_FALSE(conv::implicit_chosen(geometry(n, 56, 56, 64, 3, 64, 1, 1, 1, 1, 1, 1))) << n;
  }
  EXPECT_FALSE(
      conv::implicit_chosen(geometry(1, 14, 14, 256, 1, 256, 1, 1, 0, 0, 0, 0)));  // pointwise
}

}  // namespace
}  // namespace sluice
