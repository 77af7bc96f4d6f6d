#include "npz.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

#include "../runtime/allocator.h"
#include "checkpoint.h"  // RandomAccessFile, AtomicFile, crc32_update

namespace sluice::io {

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, ".npy I/O assumes a little-endian host");

constexpr char kNpyMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50,
                   kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEocdSize = 22, kCentralSize = 46, kLocalSize = 30, kLocatorSize = 20,
                   kZip64EocdSize = 56;
constexpr uint32_t k32 = 0xFFFFFFFFu;
constexpr uint16_t k16 = 0xFFFFu;
// Deflate cannot compress better than 1032:1; a larger declared size is a lie, and
// believing it would let a tiny file make us allocate gigabytes.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// ---- byte sources that an .npy array is parsed from ----

// Delivers exactly the bytes asked for or throws DataLoss; keeps a CRC-32 of them.
class Source {
 public:
  explicit Source(std::string what) : what_(std::move(what)) {}
  virtual ~Source() = default;
  void get(void* dst, size_t n, const char* part) {
    fill(dst, n, part);
    crc_ = crc32_update(crc_, dst, n);
  }
  uint32_t crc() const { return crc_; }
  const std::string& what() const { return what_; }

 protected:
  virtual void fill(void* dst, size_t n, const char* part) = 0;
  std::string what_;

 private:
  uint32_t crc_ = 0;
};

class MemorySource : public Source {
 public:
  MemorySource(const std::string& bytes, std::string what) : Source(std::move(what)), b_(bytes) {}

 protected:
  void fill(void* dst, size_t n, const char* part) override {
    SLUICE_REQUIRE(n <= b_.size() - pos_, DataLoss, what_, ": truncated in ", part);
    std::memcpy(dst, b_.data() + pos_, n);
    pos_ += n;
  }

 private:
  const std::string& b_;
  size_t pos_ = 0;
};

// A byte range of a file (a stored zip entry, or a whole .npy file).
class FileSource : public Source {
 public:
  FileSource(const RandomAccessFile& f, uint64_t offset, uint64_t length, std::string what)
      : Source(std::move(what)), f_(f), pos_(offset), end_(offset + length) {}

 protected:
  void fill(void* dst, size_t n, const char* part) override {
    SLUICE_REQUIRE(n <= end_ - pos_, DataLoss, what_, ": truncated in ", part);
    f_.read(pos_, dst, n, what_ + " " + part);
    pos_ += n;
  }

 private:
  const RandomAccessFile& f_;
  uint64_t pos_, end_;
};

// A raw-deflate stream (zip method 8) inflated on demand from a byte range of a file.
class InflateSource : public Source {
 public:
  InflateSource(const RandomAccessFile& f, uint64_t offset, uint64_t length, std::string what)
      : Source(std::move(what)), f_(f), pos_(offset), end_(offset + length) {
    std::memset(&z_, 0, sizeof(z_));
    SLUICE_REQUIRE(inflateInit2(&z_, -MAX_WBITS) == Z_OK, ResourceExhausted, what_,
                   ": cannot initialise zlib");
  }
  ~InflateSource() override { inflateEnd(&z_); }

  // After the array: the deflate stream must end exactly here, with no input left over.
  void finish() {
    unsigned char extra;
    z_.next_out = &extra;
    z_.avail_out = 1;
    const int rc = step();
    SLUICE_REQUIRE(rc == Z_STREAM_END && z_.avail_out == 1, DataLoss, what_,
                   ": compressed data holds more bytes than the entry's declared size");
    SLUICE_REQUIRE(z_.avail_in == 0 && pos_ == end_, DataLoss, what_,
                   ": bytes after the end of the compressed stream");
  }

 protected:
  void fill(void* dst, size_t n, const char* part) override {
    auto* out = static_cast<Bytef*>(dst);
    while (n > 0) {
      const uInt chunk = static_cast<uInt>(std::min<size_t>(n, size_t{1} << 30));
      z_.next_out = out;
      z_.avail_out = chunk;
      while (z_.avail_out > 0) {
        const int rc = step();
        SLUICE_REQUIRE(rc != Z_STREAM_END || z_.avail_out == 0, DataLoss, what_,
                       ": compressed data ends early in ", part);
      }
      out += chunk;
      n -= chunk;
    }
  }

 private:
  // One inflate call, refilling the input first when it ran dry.
  int step() {
    if (z_.avail_in == 0 && pos_ < end_) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(end_ - pos_, sizeof(in_)));
      f_.read(pos_, in_, n, what_ + " compressed data");
      pos_ += n;
      z_.next_in = in_;
      z_.avail_in = static_cast<uInt>(n);
    }
    const uInt before_out = z_.avail_out, before_in = z_.avail_in;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) return rc;
    SLUICE_REQUIRE(rc == Z_OK || rc == Z_BUF_ERROR, DataLoss, what_, ": corrupt compressed data (",
                   z_.msg ? z_.msg : "zlib error", ")");
    SLUICE_REQUIRE(z_.avail_out != before_out || z_.avail_in != before_in || pos_ < end_, DataLoss,
                   what_, ": compressed data is truncated");
    return rc;
  }

  const RandomAccessFile& f_;
  uint64_t pos_, end_;
  z_stream z_;
  Bytef in_[65536];
};

// ---- the .npy header: a Python dict literal, parsed by a small strict parser ----

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class DictParser {
 public:
  DictParser(const std::string& s, const std::string& what) : s_(s), what_(what) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = string_literal();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        SLUICE_REQUIRE(!have_descr, DataLoss, what_, ": key 'descr' appears twice");
        SLUICE_REQUIRE(peek() != '[', Unimplemented, what_,
                       ": structured NumPy dtypes (a list 'descr') are not supported");
        h.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        SLUICE_REQUIRE(!have_order, DataLoss, what_, ": key 'fortran_order' appears twice");
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        SLUICE_REQUIRE(!have_shape, DataLoss, what_, ": key 'shape' appears twice");
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    expect('}');
    // numpy pads the header with spaces and ends it with a newline.
    for (; pos_ < s_.size(); ++pos_)
      if (!is_ws(s_[pos_])) fail("unexpected text after the dict");
    SLUICE_REQUIRE(have_descr && have_order && have_shape, DataLoss, what_,
                   ": header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
  }
  [[noreturn]] void fail(const std::string& msg) const {
    std::string shown = s_.substr(0, 120);
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
    throw DataLoss(::sluice::detail::str_cat(what_, ": bad .npy header at byte ", pos_, ": ", msg,
                                   " (header: \"", shown, "\")"));
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\' || s_[pos_] == '\n') fail("unsupported character in a string");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    return s_.substr(start, pos_++ - start);
  }
  bool boolean() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("expected a non-negative integer dimension");
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        v = v * 10 + static_cast<uint64_t>(peek() - '0');
        if (v > (uint64_t{1} << 62)) fail("dimension too large");
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 longs
      if (dims.size() >= 64) fail("too many dimensions");
      dims.push_back(static_cast<int64_t>(v));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != ')') fail("expected ',' or ')'");
    }
    expect(')');
    return dims;
  }

  const std::string& s_;
  const std::string& what_;
  size_t pos_ = 0;
};

constexpr const char* kSupportedDescrs =
    "'<f4', '<f8', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8', '|b1', "
    "'|S<n>' (bytes), '<U<n>' (unicode, read only)";

// What an .npy descr means: a fixed-size dtype, or a fixed-width string kind ('S': n bytes
// per element, 'U': n UCS-4 code points per element) read into a string tensor.
struct NpyType {
  DType dtype = DType::f32;
  char string_kind = 0;  // 0, 'S' or 'U'
  uint64_t width = 0;    // characters per element of a string kind
};

NpyType type_from_descr(const std::string& descr, const std::string& what) {
  std::string d = descr;
  char order = '=';
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) {
    order = d[0];
    d = d.substr(1);
  }
  NpyType t;
  static const std::pair<const char*, DType> kFixed[] = {
      {"f4", DType::f32}, {"f8", DType::f64}, {"i1", DType::i8},  {"i2", DType::i16},
      {"i4", DType::i32}, {"i8", DType::i64}, {"u1", DType::u8},  {"u2", DType::u16},
      {"u4", DType::u32}, {"u8", DType::u64}, {"b1", DType::boolean}, {"?", DType::boolean}};
  bool found = false;
  for (const auto& [code, dtype] : kFixed) {
    if (d == code) {
      found = true;
      t.dtype = dtype;
    }
  }
  if (!found && d.size() >= 2 && (d[0] == 'S' || d[0] == 'U') &&
      d.find_first_not_of("0123456789", 1) == std::string::npos && d.size() <= 12) {
    t.dtype = DType::string;
    t.string_kind = d[0];
    t.width = std::stoull(d.substr(1));
    SLUICE_REQUIRE(t.width >= 1, Unimplemented, what, ": NumPy dtype '", descr,
                   "' (zero-width strings) is not supported");
    found = true;
  }
  SLUICE_REQUIRE(d != "O", Unimplemented, what, ": NumPy object arrays ('", descr,
                 "') are stored with pickle, which Sluice does not read; save strings as "
                 "a.astype(bytes) (dtype 'S')");
  SLUICE_REQUIRE(found, Unimplemented, what, ": NumPy dtype '", descr, "' is not supported (supported: ",
                 kSupportedDescrs, ")");
  const bool one_byte = t.string_kind == 'S' || (t.string_kind == 0 && dtype_size(t.dtype) == 1);
  SLUICE_REQUIRE(order != '>' || one_byte, Unimplemented, what,
                 ": big-endian data ('", descr, "') is not supported; convert it in NumPy with "
                 "a.astype(a.dtype.newbyteorder('<'))");
  return t;
}

std::string descr_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
    case DType::boolean: return "|b1";
    case DType::i8: return "|i1";
    case DType::i16: return "<i2";
    case DType::u16: return "<u2";
    case DType::u32: return "<u4";
    case DType::u64: return "<u8";
    case DType::string: break;
  }
  throw Internal(std::string("descr_of: no fixed NumPy descr for dtype ") + dtype_name(dtype));
}

// Appends code point `cp` (valid: <= 0x10FFFF, not a surrogate) as UTF-8.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A string tensor from NumPy's fixed-width layout in `raw` (count x width characters):
// 'S' elements are bytes, 'U' elements UCS-4 code points (little-endian) written out as
// UTF-8. As numpy does, trailing NUL characters are padding and are dropped.
Tensor strings_from_npy(const std::string& raw, const NpyType& type, const Shape& shape,
                        int64_t count, const std::string& what) {
  const uint64_t char_size = type.string_kind == 'S' ? 1 : 4;
  const uint64_t stride = type.width * char_size;
  // UTF-8 never takes more bytes than UCS-4, so the payload is at most the data size.
  check_string_tensor_size(count, raw.size(), what);
  Tensor t(DType::string, shape);
  std::string* out = t.data<std::string>();
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  for (int64_t i = 0; i < count; ++i, p += stride) {
    uint64_t n = type.width;
    if (type.string_kind == 'S') {
      while (n > 0 && p[n - 1] == 0) --n;
      out[i].assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
      continue;
    }
    while (n > 0 && get_le(p + 4 * (n - 1), 4) == 0) --n;
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t cp = get_le(p + 4 * k, 4);
      SLUICE_REQUIRE(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), DataLoss, what, ": element ", i,
                     " holds ", cp, ", which is not a Unicode code point");
      append_utf8(out[i], static_cast<uint32_t>(cp));
    }
  }
  return t;
}

// Parses one .npy array of exactly `total` bytes from `src`.
Tensor parse_npy(Source& src, uint64_t total) {
  const std::string& what = src.what();
  unsigned char pre[12];
  SLUICE_REQUIRE(total >= 10, DataLoss, what, ": ", total, " bytes is too short for a .npy header");
  src.get(pre, 8, "the .npy magic");
  SLUICE_REQUIRE(std::memcmp(pre, kNpyMagic, 6) == 0, DataLoss, what,
                 ": not a .npy array (bad magic)");
  const int major = pre[6], minor = pre[7];
  SLUICE_REQUIRE((major >= 1 && major <= 3) && minor == 0, DataLoss, what,
                 ": unsupported .npy format version ", major, ".", minor,
                 " (this build reads 1.0, 2.0 and 3.0)");
  const int len_bytes = major == 1 ? 2 : 4;
  SLUICE_REQUIRE(total >= 8 + static_cast<uint64_t>(len_bytes), DataLoss, what,
                 ": truncated .npy header");
  src.get(pre + 8, static_cast<size_t>(len_bytes), "the .npy header length");
  const uint64_t header_len = get_le(pre + 8, len_bytes);
  const uint64_t preamble = 8 + static_cast<uint64_t>(len_bytes);
  SLUICE_REQUIRE(header_len <= total - preamble, DataLoss, what, ": .npy header length ",
                 header_len, " exceeds the ", total - preamble, " bytes that follow");
  std::string header(static_cast<size_t>(header_len), '\0');
  src.get(header.data(), header.size(), "the .npy header");
  const NpyHeader h = DictParser(header, what).parse();
  const NpyType type = type_from_descr(h.descr, what);
  const DType dtype = type.dtype;
  SLUICE_REQUIRE(h.shape.size() <= static_cast<size_t>(Shape::kMaxRank), Unimplemented, what,
                 ": arrays of rank ", h.shape.size(), " are not supported (at most ",
                 Shape::kMaxRank, ")");
  // Fortran and C order store a rank <= 1 array identically.
  SLUICE_REQUIRE(!h.fortran_order || h.shape.size() <= 1, Unimplemented, what,
                 ": Fortran-order arrays are not supported; save np.ascontiguousarray(a)");
  int64_t count = 1;
  for (int64_t d : h.shape) {
    try {
      count = checked_mul(count, d);
    } catch (const InvalidArgument& e) {
      throw DataLoss(what + ": " + e.what());
    }
  }
  const Shape shape(h.shape);
  // Bytes per element: width x 1 ('S') or x 4 ('U') for strings (width <= 10^11: no overflow).
  const uint64_t esize = type.string_kind ? type.width * (type.string_kind == 'S' ? 1 : 4)
                                          : dtype_size(dtype);
  const uint64_t data_bytes = total - preamble - header_len;
  SLUICE_REQUIRE(static_cast<uint64_t>(count) <= data_bytes / esize &&
                     static_cast<uint64_t>(count) * esize == data_bytes,
                 DataLoss, what, ": header declares ", h.descr, shape.to_string(), " (",
                 count, " elements) but ", data_bytes, " data bytes follow");
  if (type.string_kind) {
    // data_bytes is bounded by the file, as below.
    std::string raw(static_cast<size_t>(data_bytes), '\0');
    src.get(raw.data(), raw.size(), "the array data");
    return strings_from_npy(raw, type, shape, count, what);
  }
  // data_bytes is bounded by the file (or, compressed, by kMaxDeflateRatio times it).
  Tensor t(dtype, shape);
  src.get(t.raw_data(), static_cast<size_t>(data_bytes), "the array data");
  if (dtype == DType::boolean) {
    // NumPy treats any nonzero byte as True; a C++ bool must hold 0 or 1.
    auto* b = static_cast<unsigned char*>(t.raw_data());
    for (uint64_t i = 0; i < data_bytes; ++i) b[i] = b[i] != 0;
  }
  return t;
}

std::string npy_header(const Tensor& t, const std::string& descr) {
  // Byte for byte what numpy.save writes (numpy >= 1.24): keys sorted, a trailing ", ",
  // spaces left for growing the first axis, then padding to a 64-byte boundary and '\n'.
  std::string shape = "(";
  for (int i = 0; i < t.rank(); ++i) shape += (i ? ", " : "") + std::to_string(t.dim(i));
  shape += t.rank() == 1 ? ",)" : ")";  // Python's repr of a 1-tuple
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                     shape + ", }";
  if (t.rank() > 0) {
    const size_t digits = std::to_string(t.dim(0)).size();
    dict.append(digits < 21 ? 21 - digits : 0, ' ');
  }
  // Version 1.0 (2-byte length) when the padded header fits, else 2.0 (as numpy does).
  auto padded_size = [&](size_t preamble) {
    return (preamble + dict.size() + 1 + 63) / 64 * 64 - preamble;
  };
  const bool v1 = padded_size(10) <= 65535;
  dict.append(padded_size(v1 ? 10 : 12) - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out(kNpyMagic, sizeof(kNpyMagic));
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back(0);
  put_le(out, dict.size(), v1 ? 2 : 4);
  return out + dict;
}

// The width of NumPy's 'S' dtype for a string tensor: its longest element (at least 1, as
// numpy). numpy drops trailing NUL bytes when reading 'S' data, so an element ending in
// NUL could not come back: refused.
uint64_t string_width(const Tensor& t, const std::string& where) {
  uint64_t width = 1;
  const std::string* p = t.data<std::string>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    SLUICE_REQUIRE(p[i].empty() || p[i].back() != '\0', InvalidArgument, where, ": string element ", i,
                   " ends with a NUL byte, which NumPy's fixed-width 'S' dtype cannot hold (numpy "
                   "strips trailing NULs)");
    width = std::max<uint64_t>(width, p[i].size());
  }
  // Every element is padded to the longest: refuse what the allocation limit refuses.
  SLUICE_REQUIRE(static_cast<uint64_t>(t.num_elements()) <= max_allocation_bytes() / width,
                 ResourceExhausted, where, ": ", t.num_elements(), " strings padded to ", width,
                 " bytes exceed the limit of ", max_allocation_bytes(), " bytes (set_max_allocation_bytes)");
  return width;
}

// A tensor in .npy form: the header and the data bytes. String tensors become NumPy's
// fixed-width 'S' layout, held in `owned`.
struct NpyArray {
  std::string header;
  std::string owned;
  const void* data = nullptr;
  size_t bytes = 0;
};

NpyArray to_npy(const Tensor& t, const std::string& where) {
  NpyArray a;
  if (t.dtype() != DType::string) {
    a.header = npy_header(t, descr_of(t.dtype()));
    a.data = t.raw_data();
    a.bytes = t.num_bytes();
    return a;
  }
  const uint64_t width = string_width(t, where);
  a.header = npy_header(t, "|S" + std::to_string(width));
  a.owned.assign(static_cast<size_t>(width * static_cast<uint64_t>(t.num_elements())), '\0');
  const std::string* p = t.data<std::string>();
  for (int64_t i = 0; i < t.num_elements(); ++i)
    std::copy(p[i].begin(), p[i].end(), a.owned.begin() + static_cast<std::ptrdiff_t>(width * static_cast<uint64_t>(i)));
  a.data = a.owned.data();
  a.bytes = a.owned.size();
  return a;
}

void validate_for_write(const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const std::string& where) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    SLUICE_REQUIRE(!name.empty(), InvalidArgument, where, ": array names must not be empty");
    SLUICE_REQUIRE(name.find('\0') == std::string::npos && name.size() + 4 <= 65535,
                   InvalidArgument, where, ": bad array name '", name, "'");
    SLUICE_REQUIRE(t.valid(), InvalidArgument, where, ": array '", name, "' is empty (no value)");
    if (t.dtype() == DType::string) string_width(t, where + ": array '" + name + "'");
    SLUICE_REQUIRE(seen.insert(name).second, InvalidArgument, where, ": array name '", name,
                   "' appears more than once");
  }
}

// ---- zip writing ----

// Raw deflate of header + data (zlib's default level, as numpy.savez_compressed uses).
std::string deflate_entry(const std::string& header, const void* data, size_t bytes) {
  z_stream z;
  std::memset(&z, 0, sizeof(z));
  SLUICE_REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                              Z_DEFAULT_STRATEGY) == Z_OK,
                 ResourceExhausted, "write_npz: cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, deflateEnd);
  std::string out;
  unsigned char buf[65536];
  auto pump = [&](const void* in, size_t n, bool last) {
    z.next_in = static_cast<Bytef*>(const_cast<void*>(in));
    do {
      const uInt chunk = static_cast<uInt>(std::min<size_t>(n, size_t{1} << 30));
      z.avail_in = chunk;
      n -= chunk;
      const int flush = last && n == 0 ? Z_FINISH : Z_NO_FLUSH;
      int rc;
      do {
        z.next_out = buf;
        z.avail_out = sizeof(buf);
        rc = deflate(&z, flush);
        SLUICE_REQUIRE(rc != Z_STREAM_ERROR, Internal, "write_npz: deflate failed");
        out.append(reinterpret_cast<char*>(buf), sizeof(buf) - z.avail_out);
      } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    } while (n > 0);
  };
  pump(header.data(), header.size(), false);
  pump(data, bytes, true);
  return out;
}

void write_zip(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
               bool compress, bool force_zip64) {
  const std::string where = "write_npz('" + path + "')";
  validate_for_write(tensors, where);
  constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible files
  AtomicFile f(path);
  std::string central;
  for (const auto& [name, t] : tensors) {
    const std::string entry_name = name + ".npy";
    const NpyArray a = to_npy(t, where + ": array '" + name + "'");
    const std::string& header = a.header;
    const uint64_t usize = header.size() + a.bytes;
    uint32_t crc = crc32_update(0, header.data(), header.size());
    crc = crc32_update(crc, a.data, a.bytes);
    std::string packed;
    if (compress) packed = deflate_entry(header, a.data, a.bytes);
    const uint64_t csize = compress ? packed.size() : usize;
    const uint64_t offset = f.bytes_written();
    const bool zip64_sizes = force_zip64 || usize >= k32 || csize >= k32;
    const bool zip64_offset = force_zip64 || offset >= k32;
    const uint16_t needed = zip64_sizes || zip64_offset ? 45 : 20;
    const bool utf8 = std::any_of(entry_name.begin(), entry_name.end(),
                                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    const uint16_t flags = utf8 ? 0x800 : 0;
    const uint16_t method = compress ? 8 : 0;

    std::string local;
    put_le(local, kLocalSig, 4);
    put_le(local, needed, 2);
    put_le(local, flags, 2);
    put_le(local, method, 2);
    put_le(local, 0, 2);  // time
    put_le(local, kDosDate, 2);
    put_le(local, crc, 4);
    put_le(local, zip64_sizes ? k32 : csize, 4);
    put_le(local, zip64_sizes ? k32 : usize, 4);
    put_le(local, entry_name.size(), 2);
    put_le(local, zip64_sizes ? 20 : 0, 2);
    local += entry_name;
    if (zip64_sizes) {
      put_le(local, 1, 2);
      put_le(local, 16, 2);
      put_le(local, usize, 8);
      put_le(local, csize, 8);
    }
    f.write(local.data(), local.size());
    if (compress) {
      f.write(packed.data(), packed.size());
    } else {
      f.write(header.data(), header.size());
      f.write(a.data, a.bytes);
    }

    std::string extra;
    if (zip64_sizes || zip64_offset) {
      // The ZIP64 extra field holds, in this order, only the fields that overflowed.
      std::string body;
      if (zip64_sizes) {
        put_le(body, usize, 8);
        put_le(body, csize, 8);
      }
      if (zip64_offset) put_le(body, offset, 8);
      put_le(extra, 1, 2);
      put_le(extra, body.size(), 2);
      extra += body;
    }
    put_le(central, kCentralSig, 4);
    put_le(central, (3 << 8) | needed, 2);  // made by: Unix
    put_le(central, needed, 2);
    put_le(central, flags, 2);
    put_le(central, method, 2);
    put_le(central, 0, 2);
    put_le(central, kDosDate, 2);
    put_le(central, crc, 4);
    put_le(central, zip64_sizes ? k32 : csize, 4);
    put_le(central, zip64_sizes ? k32 : usize, 4);
    put_le(central, entry_name.size(), 2);
    put_le(central, extra.size(), 2);
    put_le(central, 0, 2);  // comment
    put_le(central, 0, 2);  // disk
    put_le(central, 0, 2);  // internal attributes
    put_le(central, uint64_t{0100644} << 16, 4);  // regular file, rw-r--r--
    put_le(central, zip64_offset ? k32 : offset, 4);
    central += entry_name;
    central += extra;
  }
  const uint64_t cd_offset = f.bytes_written();
  const uint64_t count = tensors.size();
  const bool zip64_end = force_zip64 || count >= k16 || cd_offset >= k32 || central.size() >= k32;
  if (zip64_end) {
    const uint64_t record_offset = cd_offset + central.size();
    put_le(central, kZip64EocdSig, 4);
    put_le(central, kZip64EocdSize - 12, 8);
    put_le(central, (3 << 8) | 45, 2);
    put_le(central, 45, 2);
    put_le(central, 0, 4);
    put_le(central, 0, 4);
    put_le(central, count, 8);
    put_le(central, count, 8);
    put_le(central, record_offset - cd_offset, 8);
    put_le(central, cd_offset, 8);
    put_le(central, kZip64LocatorSig, 4);
    put_le(central, 0, 4);
    put_le(central, record_offset, 8);
    put_le(central, 1, 4);
  }
  const uint64_t cd_size = zip64_end ? central.size() - kZip64EocdSize - kLocatorSize : central.size();
  put_le(central, kEocdSig, 4);
  put_le(central, 0, 2);
  put_le(central, 0, 2);
  put_le(central, zip64_end ? k16 : count, 2);
  put_le(central, zip64_end ? k16 : count, 2);
  put_le(central, zip64_end ? k32 : cd_size, 4);
  put_le(central, zip64_end ? k32 : cd_offset, 4);
  put_le(central, 0, 2);
  f.write(central.data(), central.size());
  f.commit();
}

// ---- zip reading ----

struct ZipEntry {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t csize = 0, usize = 0, local_offset = 0;
};

// Reads the central directory, validating it against the file size; *cd_start receives its
// offset (every entry's data must end before it).
std::vector<ZipEntry> read_central_directory(const RandomAccessFile& f, const std::string& where,
                                             uint64_t* cd_start) {
  const uint64_t size = f.size();
  if (size >= 8) {
    unsigned char m[8];
    f.read(0, m, 8, "magic");
    SLUICE_REQUIRE(std::memcmp(m, "SLUICECK", 8) != 0, DataLoss, where,
                   ": not a zip archive (this is a Sluice checkpoint: use read_checkpoint)");
    SLUICE_REQUIRE(std::memcmp(m, kNpyMagic, 6) != 0, DataLoss, where,
                   ": not a zip archive (this is a single .npy array: use read_npy)");
  }
  SLUICE_REQUIRE(size >= kEocdSize, DataLoss, where, ": ", size,
                 " bytes is too short for a zip archive");
  // The end record sits at the very end, followed only by a comment of up to 64 KiB.
  const uint64_t tail_len = std::min<uint64_t>(size, kEocdSize + 65535);
  std::vector<unsigned char> tail(static_cast<size_t>(tail_len));
  f.read(size - tail_len, tail.data(), tail_len, "zip end record");
  int64_t at = -1;
  for (int64_t p = static_cast<int64_t>(tail_len - kEocdSize); p >= 0; --p) {
    const unsigned char* e = tail.data() + p;
    if (get_le(e, 4) == kEocdSig && static_cast<uint64_t>(p) + kEocdSize + get_le(e + 20, 2) == tail_len) {
      at = p;
      break;
    }
  }
  SLUICE_REQUIRE(at >= 0, DataLoss, where,
                 ": not a zip archive or truncated (no end of central directory record)");
  const unsigned char* e = tail.data() + at;
  const uint64_t eocd_pos = size - tail_len + static_cast<uint64_t>(at);
  uint64_t disk = get_le(e + 4, 2), cd_disk = get_le(e + 6, 2);
  uint64_t n_disk = get_le(e + 8, 2), count = get_le(e + 10, 2);
  uint64_t cd_size = get_le(e + 12, 4), cd_offset = get_le(e + 16, 4);
  uint64_t cd_end_limit = eocd_pos;  // the central directory ends before this
  // ZIP64: a locator just before the end record points at the ZIP64 end record.
  if (eocd_pos >= kLocatorSize) {
    unsigned char loc[kLocatorSize];
    f.read(eocd_pos - kLocatorSize, loc, kLocatorSize, "zip64 locator");
    if (get_le(loc, 4) == kZip64LocatorSig) {
      const uint64_t rec = get_le(loc + 8, 8);
      SLUICE_REQUIRE(get_le(loc + 4, 4) == 0 && get_le(loc + 16, 4) <= 1, DataLoss, where,
                     ": multi-volume zip archives are not supported");
      SLUICE_REQUIRE(rec <= eocd_pos - kLocatorSize && eocd_pos - kLocatorSize - rec >= kZip64EocdSize,
                     DataLoss, where, ": zip64 end record offset ", rec, " is out of bounds");
      unsigned char z[kZip64EocdSize];
      f.read(rec, z, kZip64EocdSize, "zip64 end record");
      SLUICE_REQUIRE(get_le(z, 4) == kZip64EocdSig, DataLoss, where,
                     ": bad zip64 end record signature");
      disk = get_le(z + 16, 4);
      cd_disk = get_le(z + 20, 4);
      n_disk = get_le(z + 24, 8);
      count = get_le(z + 32, 8);
      cd_size = get_le(z + 40, 8);
      cd_offset = get_le(z + 48, 8);
      cd_end_limit = rec;
    }
  }
  SLUICE_REQUIRE(disk == 0 && cd_disk == 0 && n_disk == count, DataLoss, where,
                 ": multi-volume zip archives are not supported");
  SLUICE_REQUIRE(cd_offset <= cd_end_limit && cd_size <= cd_end_limit - cd_offset, DataLoss, where,
                 ": central directory [", cd_offset, ", +", cd_size, ") lies outside the archive");
  SLUICE_REQUIRE(count <= cd_size / kCentralSize, DataLoss, where, ": ", count,
                 " entries cannot fit in a central directory of ", cd_size, " bytes");
  *cd_start = cd_offset;
  std::vector<unsigned char> cd(static_cast<size_t>(cd_size));
  f.read(cd_offset, cd.data(), cd_size, "zip central directory");

  std::vector<ZipEntry> entries;
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string ew = where + ": zip entry " + std::to_string(i);
    SLUICE_REQUIRE(cd.size() - pos >= kCentralSize, DataLoss, ew, ": central directory truncated");
    const unsigned char* c = cd.data() + pos;
    SLUICE_REQUIRE(get_le(c, 4) == kCentralSig, DataLoss, ew, ": bad central header signature");
    ZipEntry z;
    z.flags = static_cast<uint16_t>(get_le(c + 8, 2));
    z.method = static_cast<uint16_t>(get_le(c + 10, 2));
    z.crc = static_cast<uint32_t>(get_le(c + 16, 4));
    z.csize = get_le(c + 20, 4);
    z.usize = get_le(c + 24, 4);
    const uint64_t name_len = get_le(c + 28, 2), extra_len = get_le(c + 30, 2),
                   comment_len = get_le(c + 32, 2);
    uint64_t entry_disk = get_le(c + 34, 2);
    z.local_offset = get_le(c + 42, 4);
    SLUICE_REQUIRE(cd.size() - pos - kCentralSize >= name_len + extra_len + comment_len, DataLoss,
                   ew, ": central directory truncated");
    z.name.assign(reinterpret_cast<const char*>(c + kCentralSize), static_cast<size_t>(name_len));
    const std::string nw = where + ": entry '" + z.name + "'";
    // Extra fields: walk them; the ZIP64 one (id 1) holds the 64-bit values of the fields
    // that are all ones above, in this order.
    const unsigned char* x = c + kCentralSize + name_len;
    for (uint64_t xp = 0; xp + 4 <= extra_len;) {
      const uint64_t id = get_le(x + xp, 2), len = get_le(x + xp + 2, 2);
      SLUICE_REQUIRE(xp + 4 + len <= extra_len, DataLoss, nw, ": extra field overruns");
      if (id == 1) {
        const unsigned char* v = x + xp + 4;
        uint64_t vp = 0;
        auto take = [&](uint64_t* field, int bytes) {
          SLUICE_REQUIRE(vp + static_cast<uint64_t>(bytes) <= len, DataLoss, nw,
                         ": zip64 extra field too short");
          *field = get_le(v + vp, bytes);
          vp += static_cast<uint64_t>(bytes);
        };
        if (z.usize == k32) take(&z.usize, 8);
        if (z.csize == k32) take(&z.csize, 8);
        if (z.local_offset == k32) take(&z.local_offset, 8);
        if (entry_disk == k16) take(&entry_disk, 4);
      }
      xp += 4 + len;
    }
    SLUICE_REQUIRE(entry_disk == 0, DataLoss, nw, ": multi-volume zip archives are not supported");
    SLUICE_REQUIRE(!(z.flags & 1), Unimplemented, nw, ": encrypted zip entries are not supported");
    SLUICE_REQUIRE(z.method == 0 || z.method == 8, Unimplemented, nw, ": zip compression method ",
                   z.method, " is not supported (stored and deflate are)");
    SLUICE_REQUIRE(z.method != 0 || z.csize == z.usize, DataLoss, nw, ": stored entry with ",
                   z.csize, " compressed and ", z.usize, " uncompressed bytes");
    SLUICE_REQUIRE(z.usize <= z.csize * kMaxDeflateRatio + 64, DataLoss, nw, ": declared size ",
                   z.usize, " is impossible for ", z.csize, " compressed bytes");
    SLUICE_REQUIRE(z.local_offset < cd_offset && z.csize <= cd_offset - z.local_offset, DataLoss,
                   nw, ": data [", z.local_offset, ", +", z.csize,
                   ") lies outside the archive's entries");
    entries.push_back(std::move(z));
    pos += static_cast<size_t>(kCentralSize + name_len + extra_len + comment_len);
  }
  SLUICE_REQUIRE(pos == cd.size(), DataLoss, where, ": ", cd.size() - pos,
                 " unexplained bytes at the end of the central directory");
  return entries;
}

Tensor read_entry(const RandomAccessFile& f, const ZipEntry& z, uint64_t cd_limit,
                  const std::string& where) {
  const std::string nw = where + ": entry '" + z.name + "'";
  unsigned char l[kLocalSize];
  f.read(z.local_offset, l, kLocalSize, "local header of '" + z.name + "'");
  SLUICE_REQUIRE(get_le(l, 4) == kLocalSig, DataLoss, nw, ": bad local header signature");
  const uint64_t name_len = get_le(l + 26, 2), extra_len = get_le(l + 28, 2);
  SLUICE_REQUIRE(get_le(l + 8, 2) == z.method, DataLoss, nw,
                 ": local and central headers disagree on the compression method");
  // Without a data descriptor (flag bit 3) the local CRC must match the central one.
  SLUICE_REQUIRE((z.flags & 8) || get_le(l + 14, 4) == z.crc, DataLoss, nw,
                 ": local and central headers disagree on the CRC");
  const uint64_t data = z.local_offset + kLocalSize + name_len + extra_len;
  SLUICE_REQUIRE(data <= cd_limit && z.csize <= cd_limit - data, DataLoss, nw, ": data [", data,
                 ", +", z.csize, ") runs into the central directory");
  std::string local_name(static_cast<size_t>(name_len), '\0');
  f.read(z.local_offset + kLocalSize, local_name.data(), name_len, "local name");
  SLUICE_REQUIRE(local_name == z.name, DataLoss, nw, ": local header names '", local_name, "'");
  Tensor t;
  uint32_t crc = 0;
  if (z.method == 0) {
    FileSource src(f, data, z.csize, nw);
    t = parse_npy(src, z.usize);
    crc = src.crc();
  } else {
    InflateSource src(f, data, z.csize, nw);
    t = parse_npy(src, z.usize);
    src.finish();
    crc = src.crc();
  }
  SLUICE_REQUIRE(crc == z.crc, DataLoss, nw, ": CRC-32 mismatch (stored ", z.crc, ", computed ",
                 crc, ")");
  return t;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path) {
  const std::string where = "npz '" + path + "'";
  RandomAccessFile f(path);
  uint64_t cd_offset = 0;
  const std::vector<ZipEntry> entries = read_central_directory(f, where, &cd_offset);
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<std::string> seen;
  for (const ZipEntry& z : entries) {
    if (!z.name.empty() && z.name.back() == '/' && z.usize == 0) continue;  // a folder
    std::string key = z.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    SLUICE_REQUIRE(seen.insert(key).second, DataLoss, where, ": array '", key,
                   "' appears more than once");
    out.emplace_back(key, read_entry(f, z, cd_offset, where));
  }
  return out;
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
               bool compress) {
  write_zip(path, tensors, compress, false);
}

namespace detail {
void write_npz_zip64(const std::string& path,
                     const std::vector<std::pair<std::string, Tensor>>& tensors, bool compress) {
  write_zip(path, tensors, compress, true);
}
}  // namespace detail

std::string encode_npy(const Tensor& tensor) {
  SLUICE_REQUIRE(tensor.valid(), InvalidArgument, "encode_npy: empty tensor handle");
  const NpyArray a = to_npy(tensor, "encode_npy");
  std::string out = a.header;
  if (a.bytes) out.append(static_cast<const char*>(a.data), a.bytes);
  return out;
}

Tensor decode_npy(const std::string& bytes, const std::string& what) {
  MemorySource src(bytes, what);
  return parse_npy(src, bytes.size());
}

Tensor read_npy(const std::string& path) {
  RandomAccessFile f(path);
  FileSource src(f, 0, f.size(), "npy '" + path + "'");
  return parse_npy(src, f.size());
}

void write_npy(const std::string& path, const Tensor& tensor) {
  SLUICE_REQUIRE(tensor.valid(), InvalidArgument, "write_npy('", path, "'): empty tensor handle");
  const NpyArray a = to_npy(tensor, "write_npy('" + path + "')");
  AtomicFile f(path);
  f.write(a.header.data(), a.header.size());
  f.write(a.data, a.bytes);
  f.commit();
}

}  // namespace sluice::io
