// Shapes: a list of dimensions, each >= 0 or -1 (unknown, only in static graph shapes),
// or an unknown rank. Element counts are overflow-checked.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

namespace sluice {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;  // rank 0 (a scalar)
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  static Shape unknown_rank();

  int rank() const { return rank_; }  // -1 when the rank is unknown
  bool known_rank() const { return rank_ >= 0; }
  // dim(i) accepts negative i counted from the end; throws OutOfRange.
  int64_t dim(int i) const {
    const int j = i < 0 ? i + rank_ : i;
    if (j < 0 || j >= rank_) throw_bad_dim(i);
    return dims_[j];
  }
  int64_t operator[](int i) const { return dim(i); }
  std::vector<int64_t> dims() const;
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + (rank_ > 0 ? rank_ : 0); }

  bool is_fully_defined() const {
    if (rank_ < 0) return false;
    for (int i = 0; i < rank_; ++i)
      if (dims_[i] < 0) return false;
    return true;
  }
  // Product of dims; throws InvalidArgument when not fully defined or above 2^62.
  int64_t num_elements() const {
    int64_t n = 1;
    bool overflow = rank_ < 0;
    for (int i = 0; i < rank_; ++i) overflow |= dims_[i] < 0 || __builtin_mul_overflow(n, dims_[i], &n);
    if (overflow || n > (int64_t{1} << 62)) return num_elements_slow();
    return n;
  }
  // True when the two could describe the same runtime shape (-1 and unknown rank match).
  bool compatible_with(const Shape& other) const;
  // The most specific shape compatible with both; throws InvalidArgument when incompatible.
  Shape merge(const Shape& other) const;

  Shape with_dim(int i, int64_t value) const;
  Shape appended(int64_t value) const;
  Shape sliced(int begin, int end) const;  // dims [begin, end)

  std::string to_string() const;  // "[?,784]", "[]" for a scalar, "<unknown>"
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  void set(const int64_t* dims, size_t n);
  [[noreturn]] void throw_bad_dim(int i) const;
  int64_t num_elements_slow() const;  // the checked path: errors, and zero-sized products
  int rank_ = 0;
  std::array<int64_t, kMaxRank> dims_{};
};

std::ostream& operator<<(std::ostream& os, const Shape& shape);

// Overflow-checked a * b for non-negative counts; throws InvalidArgument naming `what`.
int64_t checked_mul(int64_t a, int64_t b, const char* what = "element count");

// NumPy broadcasting of two static shapes (-1 broadcasts like an unknown); throws
// InvalidArgument naming both shapes when they cannot broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Normalizes a possibly negative axis against `rank`; throws InvalidArgument naming
// `what` when out of [-rank, rank).
int normalize_axis(int64_t axis, int rank, const char* what = "axis");

}  // namespace sluice
