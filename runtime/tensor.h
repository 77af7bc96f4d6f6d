// Tensor: a dtype, a shape and a reference-counted, 64-byte aligned buffer. Copies are
// cheap and share the buffer (like a shared_ptr); clone() makes a deep copy. Row-major.
//
//   Tensor s = 3.0f;                                  // f32 scalar
//   Tensor v = {1.0f, 2.0f, 3.0f};                    // f32 [3]
//   Tensor m = {{1.0, 2.0}, {3.0, 4.0}};              // f64 [2,2]
//   Tensor z = Tensor::zeros(DType::f32, {64, 784});
//   float x = m.at<double>({1, 0});                   // 3.0
#pragma once

#include <atomic>
#include <cstring>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "dtype.h"
#include "error.h"
#include "shape.h"

namespace sluice {

namespace detail {
// One allocation: a 64-byte header (the reference count) followed by the 64-byte aligned
// data, so a tensor costs a single allocation.
class Buffer {
 public:
  static Buffer* allocate(size_t bytes);  // throws ResourceExhausted
  void ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() noexcept;
  int use_count() const noexcept { return refs_.load(std::memory_order_acquire); }
  void* data() noexcept { return reinterpret_cast<char*>(this) + kHeader; }
  size_t bytes() const noexcept { return bytes_; }
  static constexpr size_t kHeader = 64;

 private:
  Buffer() = default;
  std::atomic<int> refs_{1};
  size_t bytes_ = 0;
};
}  // namespace detail

class Tensor {
 public:
  Tensor() = default;  // an empty handle: valid() is false
  // Allocates a tensor of `shape` (must be fully defined); the contents are uninitialised.
  Tensor(DType dtype, const Shape& shape);

  // Scalars.
  Tensor(float v) : Tensor(from_scalar(v)) {}     // NOLINT(google-explicit-constructor)
  Tensor(double v) : Tensor(from_scalar(v)) {}    // NOLINT(google-explicit-constructor)
  Tensor(int32_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(int64_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(uint8_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(bool v) : Tensor(from_scalar(v)) {}      // NOLINT(google-explicit-constructor)
  // Vectors and matrices from braces.
  template <class T>
  Tensor(std::initializer_list<T> values)  // NOLINT(google-explicit-constructor)
      : Tensor(from_vector(std::vector<T>(values), Shape{static_cast<int64_t>(values.size())})) {}
  template <class T>
  Tensor(std::initializer_list<std::initializer_list<T>> rows);  // NOLINT

  Tensor(const Tensor& other) noexcept;
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(const Tensor& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor();

  // Copies `values` into a new tensor of `shape` (element counts must match).
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  template <class T>
  static Tensor from_scalar(T value) {
    return from_vector(std::vector<T>{value}, Shape{});
  }
  static Tensor zeros(DType dtype, const Shape& shape);
  static Tensor ones(DType dtype, const Shape& shape);
  // Every element set to `value` converted to `dtype`.
  static Tensor filled(DType dtype, const Shape& shape, double value);

  bool valid() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t num_elements() const { return num_elements_; }
  size_t num_bytes() const { return static_cast<size_t>(num_elements_) * dtype_size(dtype_); }

  // Typed access; throws InvalidArgument when T does not match dtype().
  template <class T>
  T* data() {
    check_type(dtype_v<T>);
    return static_cast<T*>(raw_data());
  }
  template <class T>
  const T* data() const {
    check_type(dtype_v<T>);
    return static_cast<const T*>(raw_data());
  }
  void* raw_data() { return buffer_ ? buffer_->data() : nullptr; }
  const void* raw_data() const { return buffer_ ? buffer_->data() : nullptr; }

  // Element at a multi-index (bounds-checked, throws OutOfRange).
  template <class T>
  T& at(std::initializer_list<int64_t> index) {
    return data<T>()[flat_index(index)];
  }
  template <class T>
  const T& at(std::initializer_list<int64_t> index) const {
    return data<T>()[flat_index(index)];
  }
  // The value of a tensor with exactly one element.
  template <class T>
  T scalar() const;
  template <class T>
  std::vector<T> to_vector() const {
    const T* p = data<T>();
    return std::vector<T>(p, p + num_elements_);
  }
  // Element i converted to double (any numeric dtype); handy in tests and printing.
  double as_double(int64_t flat) const;

  // Same buffer, another shape with the same element count.
  Tensor reshaped(const Shape& shape) const;
  Tensor clone() const;
  // Converts to another dtype (a copy).
  Tensor cast(DType dtype) const;

  // Number of Tensor handles sharing this buffer (0 for an empty handle).
  int use_count() const { return buffer_ ? buffer_->use_count() : 0; }
  bool shares_buffer_with(const Tensor& other) const {
    return buffer_ != nullptr && buffer_ == other.buffer_;
  }

  // Same dtype, shape and bytes.
  bool equals(const Tensor& other) const;
  // "f32[2,3] [[1, 2, 3], [4, 5, 6]]", eliding the middle past max_elements.
  std::string to_string(int64_t max_elements = 64) const;
  std::string summary() const;  // "f32[2,3]"

 private:
  void check_type(DType want) const;
  int64_t flat_index(std::initializer_list<int64_t> index) const;
  void release() noexcept;

  detail::Buffer* buffer_ = nullptr;
  DType dtype_ = DType::f32;
  Shape shape_;
  int64_t num_elements_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- template implementations ----

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  Tensor t(dtype_v<T>, shape);
  SLUICE_REQUIRE(static_cast<int64_t>(values.size()) == t.num_elements(), InvalidArgument,
                 "from_vector: ", values.size(), " values for shape ", shape.to_string(),
                 " which holds ", t.num_elements());
  if constexpr (std::is_same_v<T, bool>) {
    bool* p = t.data<bool>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  } else if (!values.empty()) {
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return t;
}

template <class T>
Tensor::Tensor(std::initializer_list<std::initializer_list<T>> rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t m = n ? static_cast<int64_t>(rows.begin()->size()) : 0;
  std::vector<T> flat;
  flat.reserve(static_cast<size_t>(n * m));
  for (const auto& row : rows) {
    SLUICE_REQUIRE(static_cast<int64_t>(row.size()) == m, InvalidArgument,
                   "ragged nested initializer list: rows of ", m, " and ", row.size(),
                   " elements");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  *this = from_vector(flat, Shape{n, m});
}

template <class T>
T Tensor::scalar() const {
  SLUICE_REQUIRE(num_elements_ == 1, InvalidArgument, "scalar() of a tensor with ",
                 num_elements_, " elements (", summary(), ")");
  return data<T>()[0];
}

}  // namespace sluice
