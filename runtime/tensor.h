// Tensor: a dtype, a shape and a reference-counted, 64-byte aligned buffer. Copies are
// cheap and share the buffer (like a shared_ptr); clone() makes a deep copy. Row-major.
//
//   Tensor s = 3.0f;                                  // f32 scalar
//   Tensor v = {1.0f, 2.0f, 3.0f};                    // f32 [3]
//   Tensor m = {{1.0, 2.0}, {3.0, 4.0}};              // f64 [2,2]
//   Tensor z = Tensor::zeros(DType::f32, {64, 784});
//   float x = m.at<double>({1, 0});                   // 3.0
//   Tensor w = {"cat", "dog"};                        // string [2]
//   Tensor b = Tensor::from_strings({std::string("\x89PNG\0", 5)}, {1});  // any bytes
//   const std::string& first = w.string_at(0);        // "cat"
//
// String tensors (DType::string) hold byte strings of any length and content (not only
// UTF-8; NUL bytes included), as TensorFlow's tf.string. Their buffer is an array of
// std::string objects constructed when the buffer is made and destroyed with its last
// reference, so copies of the handle share the strings and clone() copies them. Access
// them with string_at(i), strings(), data<std::string>(), at<std::string>({...}),
// scalar<std::string>(). The bytes-level views (num_bytes(), dtype_size()) do not apply
// to them and throw. A string tensor's size for set_max_allocation_bytes() is its element
// array plus its string bytes: from_strings() and the kernels and readers that make
// string tensors refuse larger ones with ResourceExhausted.
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
  // A buffer of `count` empty std::string objects, destroyed with the buffer.
  static Buffer* allocate_strings(int64_t count);
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
  int64_t strings_ = 0;  // number of std::string objects to destroy with the buffer
};
}  // namespace detail

class Tensor {
 public:
  Tensor() = default;  // an empty handle: valid() is false
  // Allocates a tensor of `shape` (must be fully defined); the contents are uninitialised,
  // except that a string tensor's elements are empty strings.
  Tensor(DType dtype, const Shape& shape);

  // Scalars.
  Tensor(float v) : Tensor(from_scalar(v)) {}     // NOLINT(google-explicit-constructor)
  Tensor(double v) : Tensor(from_scalar(v)) {}    // NOLINT(google-explicit-constructor)
  Tensor(int32_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(int64_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(uint8_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(bool v) : Tensor(from_scalar(v)) {}      // NOLINT(google-explicit-constructor)
  Tensor(int8_t v) : Tensor(from_scalar(v)) {}    // NOLINT(google-explicit-constructor)
  Tensor(int16_t v) : Tensor(from_scalar(v)) {}   // NOLINT(google-explicit-constructor)
  Tensor(uint16_t v) : Tensor(from_scalar(v)) {}  // NOLINT(google-explicit-constructor)
  Tensor(uint32_t v) : Tensor(from_scalar(v)) {}  // NOLINT(google-explicit-constructor)
  Tensor(uint64_t v) : Tensor(from_scalar(v)) {}  // NOLINT(google-explicit-constructor)
  // String scalars (without these, a string literal would convert to a bool tensor).
  Tensor(const std::string& v) : Tensor(from_strings({v}, Shape{})) {}  // NOLINT
  Tensor(const char* v) : Tensor(std::string(v)) {}                     // NOLINT
  // Vectors and matrices from braces.
  template <class T>
  Tensor(std::initializer_list<T> values)  // NOLINT(google-explicit-constructor)
      : Tensor(from_vector(std::vector<T>(values), Shape{static_cast<int64_t>(values.size())})) {}
  template <class T>
  Tensor(std::initializer_list<std::initializer_list<T>> rows);  // NOLINT
  // String vectors and matrices from braces of literals: {"a", "b"}, {{"a"}, {"b"}}.
  Tensor(std::initializer_list<const char*> values);                         // NOLINT
  Tensor(std::initializer_list<std::initializer_list<const char*>> rows);    // NOLINT

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
  // A string tensor of `shape` holding `values` in row-major order (moved in; counts must
  // match). ResourceExhausted when the strings exceed max_allocation_bytes().
  static Tensor from_strings(std::vector<std::string> values, const Shape& shape);
  static Tensor from_strings(std::vector<std::string> values);  // shape [values.size()]
  // Zeros of any fixed-size dtype; empty strings for DType::string.
  static Tensor zeros(DType dtype, const Shape& shape);
  static Tensor ones(DType dtype, const Shape& shape);
  // Every element set to `value` converted to `dtype` (fixed-size dtypes only).
  static Tensor filled(DType dtype, const Shape& shape, double value);

  bool valid() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t num_elements() const { return num_elements_; }
  // Bytes of the elements (fixed-size dtypes; throws InvalidArgument for string tensors).
  size_t num_bytes() const { return static_cast<size_t>(num_elements_) * dtype_size(dtype_); }
  // Total length of the strings of a string tensor (InvalidArgument for other dtypes).
  uint64_t string_bytes() const;

  // Typed access; throws InvalidArgument when T does not match dtype() (std::string for
  // string tensors).
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
  // The buffer (for a string tensor: an array of std::string objects, never to be read
  // or written as bytes).
  void* raw_data() { return buffer_ ? buffer_->data() : nullptr; }
  const void* raw_data() const { return buffer_ ? buffer_->data() : nullptr; }

  // Element `flat` (row-major) of a string tensor; OutOfRange past the end,
  // InvalidArgument for other dtypes.
  const std::string& string_at(int64_t flat) const;
  // All elements of a string tensor, row-major (a copy).
  std::vector<std::string> strings() const { return to_vector<std::string>(); }

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
  // Element i converted to double (any fixed-size dtype); handy in tests.
  double as_double(int64_t flat) const;

  // Same buffer, another shape with the same element count.
  Tensor reshaped(const Shape& shape) const;
  Tensor clone() const;
  // Converts to another fixed-size dtype (a copy), with the Cast op's rules (ops::cast).
  Tensor cast(DType dtype) const;

  // Number of Tensor handles sharing this buffer (0 for an empty handle).
  int use_count() const { return buffer_ ? buffer_->use_count() : 0; }
  bool shares_buffer_with(const Tensor& other) const {
    return buffer_ != nullptr && buffer_ == other.buffer_;
  }

  // Same dtype, shape and bytes (for strings: the same strings).
  bool equals(const Tensor& other) const;
  // "f32[2,3] [[1, 2, 3], [4, 5, 6]]", eliding the middle past max_elements; strings are
  // quoted with C escapes for bytes outside printable ASCII ("a\x00b").
  std::string to_string(int64_t max_elements = 64) const;
  std::string summary() const;  // "f32[2,3]", "string[2]"

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

// Throws ResourceExhausted (naming `what`) when a string tensor of `elements` elements
// holding `string_bytes` bytes of strings would exceed max_allocation_bytes(). Kernels and
// readers that make string tensors call it before copying the strings.
void check_string_tensor_size(int64_t elements, uint64_t string_bytes, const std::string& what);

namespace detail {
// dst[i] = src[i] converted with the Cast op's rules, for i in [begin, end): src and dst
// have the same element count and fixed-size dtypes. Float to integer truncates toward
// zero and saturates at the integer's range (NaN gives 0); integer to integer wraps
// (two's complement); anything to bool is x != 0. Shared by Tensor::cast and the Cast op.
void cast_elements(const Tensor& src, Tensor& dst, int64_t begin, int64_t end);
}  // namespace detail

// ---- template implementations ----

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  if constexpr (std::is_same_v<T, std::string>) {
    return from_strings(values, shape);
  } else {
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
