#include "tensor.h"

#include <cstdlib>
#include <new>
#include <algorithm>
#include <ostream>
#include <sstream>

#include "allocator.h"

namespace sluice {

namespace detail {

Buffer* Buffer::allocate(size_t bytes) {
  void* mem = allocate_aligned(kHeader + bytes);
  auto* b = new (mem) Buffer();
  b->bytes_ = bytes;
  return b;
}

void Buffer::unref() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    const size_t total = kHeader + bytes_;
    this->~Buffer();
    free_aligned(this, total);
  }
}

}  // namespace detail

Tensor::Tensor(DType dtype, const Shape& shape) : dtype_(dtype), shape_(shape) {
  SLUICE_REQUIRE(shape.is_fully_defined(), InvalidArgument,
                 "cannot allocate a tensor of shape ", shape.to_string(),
                 " (not fully defined)");
  num_elements_ = shape.num_elements();  // <= 2^62
  const size_t elem = dtype_size(dtype);
  SLUICE_REQUIRE(num_elements_ <= (int64_t{1} << 62) / static_cast<int64_t>(elem), InvalidArgument,
                 "tensor bytes overflow: ", num_elements_, " elements of ", dtype_name(dtype));
  buffer_ = detail::Buffer::allocate(static_cast<size_t>(num_elements_) * elem);
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
  if (t.num_bytes()) std::memset(t.raw_data(), 0, t.num_bytes());
  return t;
}

Tensor Tensor::ones(DType dtype, const Shape& shape) { return filled(dtype, shape, 1.0); }

Tensor Tensor::filled(DType dtype, const Shape& shape, double value) {
  Tensor t(dtype, shape);
  dispatch<SLUICE_ALL_TYPES>(dtype, "Tensor::filled", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    const T v = static_cast<T>(value);
    for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = v;
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
  if (num_bytes()) std::memcpy(r.raw_data(), raw_data(), num_bytes());
  return r;
}

Tensor Tensor::cast(DType to) const {
  Tensor r(to, shape_);
  dispatch<SLUICE_ALL_TYPES>(dtype_, "Tensor::cast", [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    dispatch<SLUICE_ALL_TYPES>(to, "Tensor::cast", [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      const From* src = data<From>();
      To* dst = r.data<To>();
      for (int64_t i = 0; i < num_elements_; ++i) dst[i] = static_cast<To>(src[i]);
    });
  });
  return r;
}

bool Tensor::equals(const Tensor& other) const {
  if (valid() != other.valid()) return false;
  if (!valid()) return true;
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         (num_bytes() == 0 || std::memcmp(raw_data(), other.raw_data(), num_bytes()) == 0);
}

std::string Tensor::summary() const {
  static const char* short_names[] = {"f32", "f64", "i32", "i64", "u8", "bool", "string"};
  return std::string(short_names[static_cast<int>(dtype_)]) + shape_.to_string();
}

namespace {
void format_element(std::ostream& os, const Tensor& t, int64_t i) {
  if (t.dtype() == DType::boolean) {
    os << (t.data<bool>()[i] ? "true" : "false");
  } else if (is_floating(t.dtype())) {
    os << t.as_double(i);
  } else {
    os << static_cast<int64_t>(t.as_double(i));
  }
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
