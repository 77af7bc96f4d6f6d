// Readers for MNIST-format IDX files (plain or gzip-compressed, detected by content).
#pragma once

#include <string>
#include <vector>

#include "../runtime/tensor.h"

namespace sluice::io {

// Reads one IDX file. Element types: unsigned byte -> u8; signed byte, short, int -> i32;
// float -> f32; double -> f64. Shape from the header. Every header field and the data
// length are validated: bad files raise DataLoss naming the file, never a crash or an
// allocation larger than the data actually present.
Tensor read_idx(const std::string& path);

struct MnistData {
  Tensor train_images;  // u8 [60000, 28, 28]
  Tensor train_labels;  // u8 [60000]
  Tensor test_images;   // u8 [10000, 28, 28]
  Tensor test_labels;   // u8 [10000]
};

// Loads the four MNIST/Fashion-MNIST files from `dir`: train-images-idx3-ubyte[.gz] and
// friends (also the "train-images.idx3-ubyte" spelling). Checks that images and labels
// agree in count and that labels are in [0, 10).
MnistData load_mnist(const std::string& dir);

// Helpers for feeding such data (any number of leading dims).
// u8 images [N, ...] -> f32 scaled to [0, 1], shaped [N, per_example...] when per_example
// is given (e.g. {784}, or {28, 28, 1} for NHWC), else the input's shape.
Tensor scale_images(const Tensor& images, const std::vector<int64_t>& per_example = {});
// Integer labels [N] (u8/i32/i64) -> f32 one-hot [N, depth]; a label outside [0, depth)
// is an OutOfRange error.
Tensor one_hot_labels(const Tensor& labels, int64_t depth);
// Rows order[begin .. end) of t (along dim 0), any dtype: a shuffled mini-batch.
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& order, size_t begin, size_t end);
// Rows [begin, end) of t (along dim 0), any dtype.
Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end);
// Fraction of rows of scores [N, C] (f32) whose largest entry is at labels[i] (integer [N]).
double accuracy(const Tensor& scores, const Tensor& labels);

// Debian's dataset-fashion-mnist location.
inline constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace sluice::io
