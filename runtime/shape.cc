#include "shape.h"

#include <ostream>

#include "error.h"

namespace sluice {

namespace {
// Element counts stay below 2^62 so that byte counts of 8-byte elements never overflow.
constexpr int64_t kMaxElements = int64_t{1} << 62;
}  // namespace

void Shape::set(const int64_t* dims, size_t n) {
  SLUICE_REQUIRE(n <= static_cast<size_t>(kMaxRank), InvalidArgument, "shape of rank ", n,
                 " exceeds the maximum rank ", kMaxRank);
  for (size_t i = 0; i < n; ++i) {
    SLUICE_REQUIRE(dims[i] >= -1, InvalidArgument, "shape dimension ", i, " is ", dims[i],
                   "; dimensions must be >= 0 (or -1 for unknown)");
    dims_[i] = dims[i];
  }
  rank_ = static_cast<int>(n);
}

Shape::Shape(std::initializer_list<int64_t> dims) { set(dims.begin(), dims.size()); }

Shape::Shape(const std::vector<int64_t>& dims) { set(dims.data(), dims.size()); }

Shape Shape::unknown_rank() {
  Shape s;
  s.rank_ = -1;
  return s;
}

void Shape::throw_bad_dim(int i) const {
  SLUICE_REQUIRE(rank_ >= 0, InvalidArgument, "dim(", i, ") of a shape of unknown rank");
  throw OutOfRange(detail::str_cat("dimension index ", i, " out of range for shape ", to_string()));
}

std::vector<int64_t> Shape::dims() const { return std::vector<int64_t>(begin(), end()); }

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  if (a == 0 || b == 0) return 0;
  SLUICE_REQUIRE(a > 0 && b > 0 && a <= kMaxElements / b, InvalidArgument, what,
                 " overflows: ", a, " x ", b, " exceeds 2^62");
  return a * b;
}

int64_t Shape::num_elements_slow() const {
  SLUICE_REQUIRE(is_fully_defined(), InvalidArgument,
                 "number of elements of a shape that is not fully defined: ", to_string());
  int64_t n = 1;
  // A zero anywhere makes the product zero, whatever the other dims are.
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] == 0) return 0;
  for (int i = 0; i < rank_; ++i) n = checked_mul(n, dims_[i], "element count of shape");
  return n;
}

bool Shape::compatible_with(const Shape& other) const {
  if (rank_ < 0 || other.rank_ < 0) return true;
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] >= 0 && other.dims_[i] >= 0 && dims_[i] != other.dims_[i]) return false;
  return true;
}

Shape Shape::merge(const Shape& other) const {
  SLUICE_REQUIRE(compatible_with(other), InvalidArgument, "incompatible shapes ", to_string(),
                 " and ", other.to_string());
  if (rank_ < 0) return other;
  if (other.rank_ < 0) return *this;
  Shape r = *this;
  for (int i = 0; i < rank_; ++i)
    if (r.dims_[i] < 0) r.dims_[i] = other.dims_[i];
  return r;
}

Shape Shape::with_dim(int i, int64_t value) const {
  const int j = i < 0 ? i + rank_ : i;
  SLUICE_REQUIRE(j >= 0 && j < rank_, OutOfRange, "dimension index ", i,
                 " out of range for shape ", to_string());
  Shape r = *this;
  r.dims_[j] = value;
  return r;
}

Shape Shape::appended(int64_t value) const {
  SLUICE_REQUIRE(rank_ >= 0, InvalidArgument, "cannot append to a shape of unknown rank");
  std::vector<int64_t> d = dims();
  d.push_back(value);
  return Shape(d);
}

Shape Shape::sliced(int b, int e) const {
  SLUICE_REQUIRE(rank_ >= 0 && b >= 0 && b <= e && e <= rank_, OutOfRange, "dims [", b, ", ",
                 e, ") of shape ", to_string());
  return Shape(std::vector<int64_t>(dims_.begin() + b, dims_.begin() + e));
}

std::string Shape::to_string() const {
  if (rank_ < 0) return "<unknown>";
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ",";
    s += dims_[i] < 0 ? "?" : std::to_string(dims_[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) {
  return os << shape.to_string();
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (!a.known_rank() || !b.known_rank()) return Shape::unknown_rank();
  const int r = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(r);
  for (int i = 0; i < r; ++i) {
    const int ia = a.rank() - r + i, ib = b.rank() - r + i;
    const int64_t da = ia >= 0 ? a.dim(ia) : 1, db = ib >= 0 ? b.dim(ib) : 1;
    if (da == db) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da == -1 || db == -1) {
      // An unknown dim against a known one: the result is the known one unless it is 1.
      out[i] = da == -1 ? db : da;
    } else {
      throw InvalidArgument(detail::str_cat("shapes ", a.to_string(), " and ", b.to_string(),
                                            " cannot be broadcast together"));
    }
  }
  return Shape(out);
}

int normalize_axis(int64_t axis, int rank, const char* what) {
  SLUICE_REQUIRE(axis >= -rank && axis < rank, InvalidArgument, what, " ", axis,
                 " is out of range for rank ", rank);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace sluice
