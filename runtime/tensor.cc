#include "tensor.h"

#include <cstdlib>
#include <new>
#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <sstream>

#include "allocator.h"

namespace sluice {

namespace detail {

static_assert(sizeof(Buffer) <= Buffer::kHeader, "the buffer header must fit in kHeader bytes");
static_assert(alignof(std::string) <= kTensorAlignment, "string elements must be aligned");

Buffer* Buffer::allocate(size_t bytes) {
  void* mem = allocate_aligned(kHeader + bytes);
  auto* b = new (mem) Buffer();
  b->bytes_ = bytes;
  return b;
}

Buffer* Buffer::allocate_strings(int64_t count) {
  Buffer* b = allocate(static_cast<size_t>(count) * sizeof(std::string));
  // std::string's default constructor does not throw, so no element is left half-made.
  auto* p = static_cast<std::string*>(b->data());
  for (int64_t i = 0; i < count; ++i) new (p + i) std::string();
  b->strings_ = count;
  return b;
}

void Buffer::unref() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    auto* p = static_cast<std::string*>(data());
    for (int64_t i = 0; i < strings_; ++i) p[i].~basic_string();
    const size_t total = kHeader + bytes_;
    this->~Buffer();
    free_aligned(this, total);
  }
}

}  // namespace detail

void check_string_tensor_size(int64_t elements, uint64_t string_bytes, const std::string& what) {
  const uint64_t limit = max_allocation_bytes();
  const uint64_t count = static_cast<uint64_t>(std::max<int64_t>(elements, 0));
  const bool fits = count <= limit / sizeof(std::string) &&
                    string_bytes <= limit - count * sizeof(std::string);
  SLUICE_REQUIRE(fits, ResourceExhausted, what,
                 ": a string tensor of ", elements, " elements and ", string_bytes,
                 " bytes of strings exceeds the limit of ", limit,
                 " bytes (set_max_allocation_bytes)");
}

Tensor::Tensor(DType dtype, const Shape& shape) : dtype_(dtype), shape_(shape) {
  SLUICE_REQUIRE(shape.is_fully_defined(), InvalidArgument,
                 "cannot allocate a tensor of shape ", shape.to_string(),
                 " (not fully defined)");
  num_elements_ = shape.num_elements();  // <= 2^62
  const size_t elem = dtype_storage_size(dtype);
  SLUICE_REQUIRE(num_elements_ <= (int64_t{1} << 62) / static_cast<int64_t>(elem), InvalidArgument,
                 "tensor bytes overflow: ", num_elements_, " elements of ", dtype_name(dtype));
  buffer_ = dtype == DType::string
                ? detail::Buffer::allocate_strings(num_elements_)
                : detail::Buffer::allocate(static_cast<size_t>(num_elements_) * elem);
}

Tensor::Tensor(std::initializer_list<const char*> values) {
  *this = from_strings(std::vector<std::string>(values.begin(), values.end()));
}

Tensor::Tensor(std::initializer_list<std::initializer_list<const char*>> rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t m = n ? static_cast<int64_t>(rows.begin()->size()) : 0;
  std::vector<std::string> flat;
  for (const auto& row : rows) {
    SLUICE_REQUIRE(static_cast<int64_t>(row.size()) == m, InvalidArgument,
                   "ragged nested initializer list: rows of ", m, " and ", row.size(),
                   " elements");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  *this = from_strings(std::move(flat), Shape{n, m});
}

Tensor Tensor::from_strings(std::vector<std::string> values, const Shape& shape) {
  SLUICE_REQUIRE(shape.is_fully_defined() &&
                     static_cast<int64_t>(values.size()) == shape.num_elements(),
                 InvalidArgument, "from_strings: ", values.size(), " strings for shape ",
                 shape.to_string());
  uint64_t bytes = 0;
  for (const std::string& v : values) bytes += v.size();
  check_string_tensor_size(static_cast<int64_t>(values.size()), bytes, "from_strings");
  Tensor t(DType::string, shape);
  std::string* p = t.data<std::string>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = std::move(values[i]);
  return t;
}

Tensor Tensor::from_strings(std::vector<std::string> values) {
  const Shape shape{static_cast<int64_t>(values.size())};
  return from_strings(std::move(values), shape);
}

uint64_t Tensor::string_bytes() const {
  uint64_t n = 0;
  const std::string* p = data<std::string>();
  for (int64_t i = 0; i < num_elements_; ++i) n += p[i].size();
  return n;
}

const std::string& Tensor::string_at(int64_t i) const {
  const std::string* p = data<std::string>();
  SLUICE_REQUIRE(i >= 0 && i < num_elements_, OutOfRange, "string_at(", i, ") of ", summary());
  return p[i];
}

Tensor::Tensor(const Tensor& other) noexcept
    : buffer_(other.buffer_), dtype_(other.dtype_), shape_(other.shape_),
      num_elements_(other.num_elements_) {
  if (buffer_) buffer_->ref();
}

Tensor::Tensor(Tensor&& other) noexcept
    : buffer_(other.buffer_), dtype_(other.dtype_), shape_(other.shape_),
      num_elements_(other.num_elements_) {
  other.buffer_ = nullptr;
  other.num_elements_ = 0;
}

Tensor& Tensor::operator=(const Tensor& other) noexcept {
  if (this != &other) {
    if (other.buffer_) other.buffer_->ref();
    release();
    buffer_ = other.buffer_;
    dtype_ = other.dtype_;
    shape_ = other.shape_;
    num_elements_ = other.num_elements_;
  }
  return *this;
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    release();
    buffer_ = other.buffer_;
    dtype_ = other.dtype_;
    shape_ = other.shape_;
    num_elements_ = other.num_elements_;
    other.buffer_ = nullptr;
    other.num_elements_ = 0;
  }
  return *this;
}

Tensor::~Tensor() { release(); }

void Tensor::release() noexcept {
  if (buffer_) buffer_->unref();
  buffer_ = nullptr;
}

Tensor Tensor::zeros(DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  if (dtype != DType::string && t.num_bytes()) std::memset(t.raw_data(), 0, t.num_bytes());
  return t;
}

Tensor Tensor::ones(DType dtype, const Shape& shape) { return filled(dtype, shape, 1.0); }

Tensor Tensor::filled(DType dtype, const Shape& shape, double value) {
  SLUICE_REQUIRE(dtype != DType::string, InvalidArgument,
                 "Tensor::filled: string tensors cannot be filled with a number");
  Tensor t(dtype, shape);
  // Through a one-element float64 tensor, so that out-of-range values and NaN follow the
  // cast rules instead of being undefined behaviour.
  const Tensor v = from_scalar(value).cast(dtype);
  dispatch<SLUICE_ALL_TYPES>(dtype, "Tensor::filled", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::fill(t.data<T>(), t.data<T>() + t.num_elements(), v.data<T>()[0]);
  });
  return t;
}

void Tensor::check_type(DType want) const {
  SLUICE_REQUIRE(valid(), FailedPrecondition, "access to the data of an empty Tensor handle");
  SLUICE_REQUIRE(want == dtype_, InvalidArgument, "tensor of dtype ", dtype_name(dtype_),
                 " accessed as ", dtype_name(want));
}

int64_t Tensor::flat_index(std::initializer_list<int64_t> index) const {
  SLUICE_REQUIRE(static_cast<int>(index.size()) == shape_.rank(), InvalidArgument, "index of ",
                 index.size(), " coordinates into a tensor of shape ", shape_.to_string());
  int64_t flat = 0;
  int i = 0;
  for (int64_t c : index) {
    const int64_t d = shape_.dim(i);
    SLUICE_REQUIRE(c >= 0 && c < d, OutOfRange, "index ", c, " out of range [0, ", d,
                   ") in dimension ", i, " of shape ", shape_.to_string());
    flat = flat * d + c;
    ++i;
  }
  return flat;
}

double Tensor::as_double(int64_t i) const {
  SLUICE_REQUIRE(i >= 0 && i < num_elements_, OutOfRange, "flat index ", i, " out of range [0, ",
                 num_elements_, ")");
  double r = 0;
  dispatch<SLUICE_ALL_TYPES>(dtype_, "Tensor::as_double", [&](auto tag) {
    using T = typename decltype(tag)::type;
    r = static_cast<double>(data<T>()[i]);
  });
  return r;
}

Tensor Tensor::reshaped(const Shape& shape) const {
  SLUICE_REQUIRE(shape.is_fully_defined() && shape.num_elements() == num_elements_,
                 InvalidArgument, "cannot reshape ", summary(), " to ", shape.to_string());
  Tensor r = *this;
  r.shape_ = shape;
  return r;
}

Tensor Tensor::clone() const {
  if (!valid()) return Tensor();
  Tensor r(dtype_, shape_);
  if (dtype_ == DType::string) {
    check_string_tensor_size(num_elements_, string_bytes(), "Tensor::clone");
    std::copy_n(data<std::string>(), num_elements_, r.data<std::string>());
  } else if (num_bytes()) {
    std::memcpy(r.raw_data(), raw_data(), num_bytes());
  }
  return r;
}

Tensor Tensor::cast(DType to) const {
  SLUICE_REQUIRE(valid(), FailedPrecondition, "cast of an empty Tensor handle");
  Tensor r(to, shape_);
  detail::cast_elements(*this, r, 0, num_elements_);
  return r;
}

namespace detail {

namespace {
// One element, with the rules documented at cast_elements.
template <class To, class From>
To cast_one(From v) {
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To> &&
                !std::is_same_v<To, bool>) {
    // Converting a float outside the integer's range is undefined behaviour in C++:
    // saturate instead (NaN gives 0). Both bounds are exact powers of two as From, so the
    // comparisons are exact.
    constexpr int kBits = std::numeric_limits<To>::digits;
    const From hi = std::ldexp(From(1), kBits);  // 2^bits: the first value above max
    const From lo = std::is_signed_v<To> ? -hi : From(0);
    if (!(v == v)) return To(0);
    if (v >= hi) return std::numeric_limits<To>::max();
    if (v <= lo) return std::numeric_limits<To>::lowest();
    return static_cast<To>(v);  // truncates toward zero
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else {
    // Integer to integer: modulo 2^bits (two's complement; C++17 leaves narrowing to a
    // signed type implementation-defined, and GCC and Clang define it so).
    return static_cast<To>(v);
  }
}
}  // namespace

void cast_elements(const Tensor& src, Tensor& dst, int64_t begin, int64_t end) {
  dispatch<SLUICE_ALL_TYPES>(src.dtype(), "Cast", [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    dispatch<SLUICE_ALL_TYPES>(dst.dtype(), "Cast", [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      const From* s = src.data<From>();
      To* d = dst.data<To>();
      for (int64_t i = begin; i < end; ++i) d[i] = cast_one<To>(s[i]);
    });
  });
}

}  // namespace detail

bool Tensor::equals(const Tensor& other) const {
  if (valid() != other.valid()) return false;
  if (!valid()) return true;
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  if (dtype_ == DType::string)
    return std::equal(data<std::string>(), data<std::string>() + num_elements_, other.data<std::string>());
  return num_bytes() == 0 || std::memcmp(raw_data(), other.raw_data(), num_bytes()) == 0;
}

std::string Tensor::summary() const {
  static const char* short_names[kNumDTypes] = {"f32", "f64", "i32", "i64", "u8",  "bool",
                                                "string", "i8", "i16", "u16", "u32", "u64"};
  return std::string(short_names[static_cast<int>(dtype_)]) + shape_.to_string();
}

namespace {
// A string element as a C-style literal: printable ASCII as is (with \ and \" escaped),
// everything else as \xNN, so any bytes print unambiguously on one line.
void format_string(std::ostream& os, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  os << '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (u >= 32 && u < 127) {
      os << c;
    } else {
      os << "\\x" << kHex[u >> 4] << kHex[u & 15];
    }
  }
  os << '"';
}

void format_element(std::ostream& os, const Tensor& t, int64_t i) {
  if (t.dtype() == DType::string) {
    format_string(os, t.data<std::string>()[i]);
    return;
  }
  dispatch<SLUICE_ALL_TYPES>(t.dtype(), "Tensor::to_string", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = t.data<T>()[i];
    if constexpr (std::is_same_v<T, bool>) {
      os << (v ? "true" : "false");
    } else if constexpr (std::is_floating_point_v<T>) {
      os << static_cast<double>(v);
    } else if constexpr (std::is_signed_v<T>) {
      os << static_cast<int64_t>(v);  // exact, and int8 prints as a number
    } else {
      os << static_cast<uint64_t>(v);
    }
  });
}

// Prints nested brackets row-major.
void format_level(std::ostream& os, const Tensor& t, int level, int64_t& flat) {
  if (level == t.rank()) {
    format_element(os, t, flat++);
    return;
  }
  os << "[";
  for (int64_t i = 0; i < t.dim(level); ++i) {
    if (i) os << ", ";
    format_level(os, t, level + 1, flat);
  }
  os << "]";
}
}  // namespace

std::string Tensor::to_string(int64_t max_elements) const {
  if (!valid()) return "Tensor(<empty handle>)";
  std::ostringstream os;
  os << summary() << " ";
  const int64_t n = num_elements_;
  if (n <= max_elements) {
    int64_t flat = 0;
    format_level(os, *this, 0, flat);
    return os.str();
  }
  // Too many to show: the first and last few in flat order.
  const int64_t keep = std::max<int64_t>(1, max_elements / 2);
  os << "flat [";
  for (int64_t i = 0; i < keep; ++i) format_element(os << (i ? ", " : ""), *this, i);
  os << ", ...";
  for (int64_t i = n - keep; i < n; ++i) format_element(os << ", ", *this, i);
  os << "]";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace sluice
