#include "checkpoint.h"

#include "tf/detail/bundle_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>

namespace sluice::io {

namespace {

// ---- format constants (docs/formats.md#checkpoint) ----
constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'K'};
// Version 1 knows dtype codes 1-6; version 2 adds codes 7-12 (the extra integer types and
// strings) and nothing else. The writer writes version 1 unless a tensor needs a version 2
// code, so files without the new dtypes stay readable by older builds; the reader reads
// both.
constexpr uint32_t kVersion1 = 1, kVersion2 = 2;
constexpr uint8_t kLastVersion1Code = 6;
constexpr uint64_t kHeaderSize = 64;
constexpr uint64_t kAlign = 64;
constexpr size_t kCrcField = 52;  // offset of the header+index CRC inside the header
constexpr uint32_t kMaxNameLength = 65535;
// Smallest index entry: name length, 1-byte name, dtype, rank, reserved, offset, length, crc.
constexpr uint64_t kMinEntrySize = 4 + 1 + 1 + 1 + 2 + 8 + 8 + 4;

// Stable on-disk dtype codes, independent of the DType enumerator order.
constexpr DType kByCode[] = {DType::f32, DType::f64, DType::i32, DType::i64,
                             DType::u8,  DType::boolean, DType::i8, DType::i16,
                             DType::u16, DType::u32, DType::u64, DType::string};
constexpr uint8_t kNumCodes = sizeof(kByCode) / sizeof(kByCode[0]);

uint8_t dtype_code(DType d) {
  for (uint8_t c = 0; c < kNumCodes; ++c)
    if (kByCode[c] == d) return static_cast<uint8_t>(c + 1);
  throw InvalidArgument(std::string("checkpoints cannot hold tensors of dtype ") + dtype_name(d));
}

bool dtype_from_code(uint8_t code, DType* d) {
  if (code < 1 || code > kNumCodes) return false;
  *d = kByCode[code - 1];
  return true;
}

// A string tensor's data: the length of each element as a u64, then the elements' bytes
// back to back. `lengths` gets the first part; the result is the whole length.
uint64_t string_layout(const Tensor& t, std::string& lengths) {
  const std::string* p = t.data<std::string>();
  lengths.clear();
  uint64_t total = 8 * static_cast<uint64_t>(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    for (int k = 0; k < 8; ++k) lengths.push_back(static_cast<char>((p[i].size() >> (8 * k)) & 0xFF));
    total += p[i].size();
  }
  return total;
}

uint64_t align_up(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// Little-endian encoding, independent of the host's byte order.
void put_u16(std::string& s, uint16_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void set_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Tensor bytes on disk are little-endian; on a big-endian host they would need swapping.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint I/O assumes a little-endian host");

[[noreturn]] void throw_io_error(const std::string& what, int err) {
  const std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR: throw NotFound(msg);
    case EACCES:
    case EPERM:
    case EROFS:
    case EISDIR: throw FailedPrecondition(msg);
    case ENOSPC:
    case EDQUOT:
    case EFBIG: throw ResourceExhausted(msg);
    default: throw Internal(msg);
  }
}

// Bounded cursor over the index bytes; any read past the end is DataLoss.
class IndexCursor {
 public:
  IndexCursor(const std::string& bytes, const std::string& where) : b_(bytes), where_(where) {}
  uint64_t take(int n, const char* what) {
    need(static_cast<uint64_t>(n), what);
    const uint64_t v = get_le(reinterpret_cast<const unsigned char*>(b_.data()) + pos_, n);
    pos_ += static_cast<size_t>(n);
    return v;
  }
  std::string take_string(uint64_t n, const char* what) {
    need(n, what);
    std::string s = b_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  size_t pos() const { return pos_; }

 private:
  void need(uint64_t n, const char* what) {
    SLUICE_REQUIRE(n <= b_.size() - pos_, DataLoss, where_, ": index truncated while reading ",
                   what, " (", n, " bytes needed at index byte ", pos_, " of ", b_.size(), ")");
  }
  const std::string& b_;
  std::string where_;
  size_t pos_ = 0;
};

void validate_name(const std::string& name, const std::string& where) {
  SLUICE_REQUIRE(!name.empty(), InvalidArgument, where, ": tensor names must not be empty");
  SLUICE_REQUIRE(name.size() <= kMaxNameLength, InvalidArgument, where, ": tensor name of ",
                 name.size(), " bytes exceeds ", kMaxNameLength);
  SLUICE_REQUIRE(name.find('\0') == std::string::npos, InvalidArgument, where,
                 ": tensor name contains a NUL byte");
}

}  // namespace

uint32_t crc32_update(uint32_t crc, const void* data, size_t bytes) {
  const auto* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  while (bytes > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(bytes, size_t{1} << 30));
    c = ::crc32(c, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return static_cast<uint32_t>(c);
}

// ---- RandomAccessFile ----

RandomAccessFile::RandomAccessFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw_io_error("cannot open '" + path + "'", errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw NotFound("'" + path + "' is not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

RandomAccessFile::~RandomAccessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RandomAccessFile::read(uint64_t offset, void* dst, uint64_t length,
                            const std::string& what) const {
  SLUICE_REQUIRE(offset <= size_ && length <= size_ - offset, DataLoss, "'", path_, "': ", what,
                 " (bytes [", offset, ", ", offset, "+", length, ")) lies outside the file of ",
                 size_, " bytes");
  auto* p = static_cast<char*>(dst);
  while (length > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, uint64_t{1} << 30));
    const ssize_t got = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw DataLoss("'" + path_ + "': read error in " + what + ": " + std::strerror(errno));
    SLUICE_REQUIRE(got > 0, DataLoss, "'", path_, "': unexpected end of file in ", what,
                   " (the file shrank while being read)");
    p += got;
    offset += static_cast<uint64_t>(got);
    length -= static_cast<uint64_t>(got);
  }
}

// ---- AtomicFile ----

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  SLUICE_REQUIRE(!path.empty(), InvalidArgument, "cannot write a file with an empty path");
  static std::atomic<uint64_t> counter{0};
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  SLUICE_REQUIRE(!base.empty(), InvalidArgument, "cannot write '", path, "': it names a folder");
  temp_path_ = dir + "." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter.fetch_add(1));
  const int fd = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw_io_error("cannot write '" + path + "' (creating '" + temp_path_ + "')", errno);
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp_path_.c_str());
    throw_io_error("cannot write '" + path + "'", err);
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  SLUICE_REQUIRE(file_ && !committed_, Internal, "AtomicFile::write after commit");
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file_) != bytes)
    throw_io_error("cannot write '" + temp_path_ + "'", errno ? errno : EIO);
  written_ += bytes;
}

void AtomicFile::write_zeros(size_t bytes) {
  static const char zeros[256] = {};
  while (bytes > 0) {
    const size_t n = std::min(bytes, sizeof(zeros));
    write(zeros, n);
    bytes -= n;
  }
}

void AtomicFile::commit() {
  SLUICE_REQUIRE(file_ && !committed_, Internal, "AtomicFile::commit called twice");
  // fflush + fsync before the rename: otherwise a power cut could leave the new name
  // pointing at a file whose data never reached the disk.
  if (std::fflush(file_) != 0) throw_io_error("cannot write '" + temp_path_ + "'", errno);
  if (::fsync(::fileno(file_)) != 0) throw_io_error("cannot sync '" + temp_path_ + "'", errno);
  const int close_rc = std::fclose(file_);
  file_ = nullptr;
  if (close_rc != 0) throw_io_error("cannot close '" + temp_path_ + "'", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw_io_error("cannot rename '" + temp_path_ + "' to '" + path_ + "'", errno);
  committed_ = true;
  // The rename lives in the folder's metadata: sync the folder so it survives a power cut.
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    // Some file systems refuse fsync on folders (EINVAL); the file itself is safe by now.
    if (rc != 0 && err != EINVAL) throw_io_error("cannot sync folder '" + dir + "'", err);
  }
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.write(contents.data(), contents.size());
  f.commit();
}

// ---- writing checkpoints ----

void write_checkpoint(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors) {
  const std::string where = "write_checkpoint('" + path + "')";
  // Validate everything and lay the file out before touching the file system.
  std::vector<std::string> names;
  names.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    validate_name(name, where);
    SLUICE_REQUIRE(t.valid(), InvalidArgument, where, ": tensor '", name, "' is empty (no value)");
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  SLUICE_REQUIRE(dup == names.end(), InvalidArgument, where, ": tensor name '",
                 dup == names.end() ? "" : *dup, "' appears more than once");
  SLUICE_REQUIRE(tensors.size() <= std::numeric_limits<uint32_t>::max(), InvalidArgument, where,
                 ": too many tensors (", tensors.size(), ")");

  std::string index;
  uint64_t index_size = 0;
  for (const auto& [name, t] : tensors)
    index_size += 4 + name.size() + 4 + 8 * static_cast<uint64_t>(t.rank()) + 8 + 8 + 4;
  const uint64_t data_offset = align_up(kHeaderSize + index_size);
  uint64_t pos = data_offset;
  std::vector<uint64_t> offsets;
  std::vector<std::string> string_lengths(tensors.size());  // per string tensor
  uint32_t version = kVersion1;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const uint8_t code = dtype_code(t.dtype());
    if (code > kLastVersion1Code) version = kVersion2;
    put_u32(index, static_cast<uint32_t>(name.size()));
    index += name;
    index.push_back(static_cast<char>(code));
    index.push_back(static_cast<char>(t.rank()));
    put_u16(index, 0);
    for (int64_t d : t.shape()) put_u64(index, static_cast<uint64_t>(d));
    pos = align_up(pos);
    offsets.push_back(pos);
    put_u64(index, pos);
    uint64_t length = 0;
    uint32_t crc = 0;
    if (t.dtype() == DType::string) {
      length = string_layout(t, string_lengths[i]);
      crc = crc32_update(0, string_lengths[i].data(), string_lengths[i].size());
      const std::string* p = t.data<std::string>();
      for (int64_t k = 0; k < t.num_elements(); ++k) crc = crc32_update(crc, p[k].data(), p[k].size());
    } else {
      length = t.num_bytes();
      crc = crc32_update(0, t.raw_data(), t.num_bytes());
    }
    put_u64(index, length);
    put_u32(index, crc);
    pos += length;
  }
  const uint64_t file_length = pos;

  std::string header;
  header.append(kMagic, sizeof(kMagic));
  put_u32(header, version);
  put_u32(header, static_cast<uint32_t>(tensors.size()));
  put_u64(header, kHeaderSize);
  put_u64(header, index.size());
  put_u64(header, data_offset);
  put_u64(header, file_length);
  put_u32(header, 0);  // flags
  put_u32(header, 0);  // CRC placeholder (zero while computing it)
  put_u64(header, 0);  // reserved
  uint32_t crc = crc32_update(0, header.data(), header.size());
  crc = crc32_update(crc, index.data(), index.size());
  set_u32(header, kCrcField, crc);

  AtomicFile f(path);
  f.write(header.data(), header.size());
  f.write(index.data(), index.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i].second;
    f.write_zeros(static_cast<size_t>(offsets[i] - f.bytes_written()));
    if (t.dtype() == DType::string) {
      f.write(string_lengths[i].data(), string_lengths[i].size());
      const std::string* p = t.data<std::string>();
      for (int64_t k = 0; k < t.num_elements(); ++k) f.write(p[k].data(), p[k].size());
    } else {
      f.write(t.raw_data(), t.num_bytes());
    }
  }
  f.commit();
}

// ---- reading checkpoints ----

CheckpointReader::CheckpointReader(const std::string& path) : path_(path) {
  // A TensorFlow checkpoint prefix ("dir/model" for model.index + model.data-*): its
  // bundle reader (io/tf/) does the reading, the rest of this class stays the same.
  // "dir/model.index" names the TF checkpoint "dir/model" (a common slip).
  const std::string suffix = ".index";
  if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0 &&
      is_tf_checkpoint(path.substr(0, path.size() - suffix.size()))) {
    path_ = path.substr(0, path.size() - suffix.size());
  }
  if (is_tf_checkpoint(path_)) {
    bundle_ = std::make_shared<const tf::BundleReader>(path_);
    infos_ = bundle_->variables();
    for (size_t i = 0; i < infos_.size(); ++i) by_name_.emplace_back(infos_[i].name, i);
    std::sort(by_name_.begin(), by_name_.end());
    return;
  }
  file_ = std::make_unique<RandomAccessFile>(path);
  const std::string where = "checkpoint '" + path + "'";
  const uint64_t size = file_->size();
  unsigned char h[kHeaderSize];
  if (size >= 4) {
    unsigned char m[4];
    file_->read(0, m, 4, "magic");
    SLUICE_REQUIRE(!(m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4), DataLoss, where,
                   ": not a Sluice checkpoint (this is a zip archive, e.g. an .npz: use read_npz)");
    SLUICE_REQUIRE(!(m[0] == 0x93 && m[1] == 'N' && m[2] == 'U' && m[3] == 'M'), DataLoss, where,
                   ": not a Sluice checkpoint (this is a NumPy .npy file: use read_npy)");
  }
  SLUICE_REQUIRE(size >= kHeaderSize, DataLoss, where, ": ", size,
                 " bytes is too short for a checkpoint header (", kHeaderSize, " bytes)");
  file_->read(0, h, kHeaderSize, "header");
  SLUICE_REQUIRE(std::memcmp(h, kMagic, sizeof(kMagic)) == 0, DataLoss, where,
                 ": not a Sluice checkpoint (bad magic)");
  const uint64_t version = get_le(h + 8, 4);
  SLUICE_REQUIRE(version == kVersion1 || version == kVersion2, DataLoss, where,
                 ": unsupported checkpoint format version ", version, " (this build reads versions ",
                 kVersion1, " and ", kVersion2, ")");
  const uint64_t count = get_le(h + 12, 4);
  const uint64_t index_offset = get_le(h + 16, 8);
  const uint64_t index_length = get_le(h + 24, 8);
  data_offset_ = get_le(h + 32, 8);
  const uint64_t file_length = get_le(h + 40, 8);
  SLUICE_REQUIRE(file_length == size, DataLoss, where, ": header says ", file_length,
                 " bytes but the file has ", size, " (truncated or appended to)");
  SLUICE_REQUIRE(get_le(h + 48, 4) == 0 && get_le(h + 56, 8) == 0, DataLoss, where,
                 ": reserved header fields are not zero");
  SLUICE_REQUIRE(index_offset == kHeaderSize, DataLoss, where, ": index offset ", index_offset,
                 " (expected ", kHeaderSize, ")");
  SLUICE_REQUIRE(index_length <= size - kHeaderSize, DataLoss, where, ": index of ",
                 index_length, " bytes does not fit in the file of ", size, " bytes");
  SLUICE_REQUIRE(data_offset_ % kAlign == 0 && data_offset_ >= kHeaderSize + index_length &&
                     data_offset_ <= size,
                 DataLoss, where, ": bad data offset ", data_offset_);
  SLUICE_REQUIRE(count <= index_length / kMinEntrySize, DataLoss, where, ": ", count,
                 " tensors cannot fit in an index of ", index_length, " bytes");

  index_end_ = kHeaderSize + index_length;
  std::string index(static_cast<size_t>(index_length), '\0');
  file_->read(kHeaderSize, index.data(), index_length, "checkpoint index");
  const uint32_t stored_crc = static_cast<uint32_t>(get_le(h + kCrcField, 4));
  std::memset(h + kCrcField, 0, 4);
  uint32_t crc = crc32_update(0, h, kHeaderSize);
  crc = crc32_update(crc, index.data(), index.size());
  SLUICE_REQUIRE(crc == stored_crc, DataLoss, where, ": header/index checksum mismatch (stored ",
                 stored_crc, ", computed ", crc, ")");

  // The checksum matched, but a file can be crafted: validate every field anyway.
  IndexCursor c(index, where);
  uint64_t prev_end = data_offset_;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string entry = where + ": index entry " + std::to_string(i);
    const uint64_t name_len = c.take(4, "a name length");
    SLUICE_REQUIRE(name_len >= 1 && name_len <= kMaxNameLength, DataLoss, entry,
                   ": bad name length ", name_len);
    VariableInfo info;
    info.name = c.take_string(name_len, "a name");
    SLUICE_REQUIRE(info.name.find('\0') == std::string::npos, DataLoss, entry,
                   ": name contains a NUL byte");
    const std::string tw = where + ": tensor '" + info.name + "'";
    const auto code = static_cast<uint8_t>(c.take(1, "a dtype"));
    SLUICE_REQUIRE(dtype_from_code(code, &info.dtype) && (version >= kVersion2 || code <= kLastVersion1Code),
                   DataLoss, tw, ": invalid dtype code ", int{code}, " for format version ", version);
    const uint64_t rank = c.take(1, "a rank");
    SLUICE_REQUIRE(rank <= static_cast<uint64_t>(Shape::kMaxRank), DataLoss, tw, ": rank ", rank,
                   " exceeds ", Shape::kMaxRank);
    SLUICE_REQUIRE(c.take(2, "reserved bytes") == 0, DataLoss, tw, ": reserved bytes not zero");
    std::vector<int64_t> dims(static_cast<size_t>(rank));
    int64_t elements = 1;
    for (auto& d : dims) {
      const uint64_t v = c.take(8, "a dimension");
      SLUICE_REQUIRE(v <= (uint64_t{1} << 62), DataLoss, tw, ": bad dimension ",
                     static_cast<int64_t>(v));
      d = static_cast<int64_t>(v);
      try {
        elements = checked_mul(elements, d);
      } catch (const InvalidArgument& e) {
        throw DataLoss(tw + ": " + e.what());
      }
    }
    info.shape = Shape(dims);
    Entry e;
    e.offset = c.take(8, "an offset");
    e.length = c.take(8, "a length");
    e.crc = static_cast<uint32_t>(c.take(4, "a checksum"));
    if (info.dtype == DType::string) {
      // At least the 8-byte length of every element; the lengths are checked on reading.
      SLUICE_REQUIRE(static_cast<uint64_t>(elements) <= e.length / 8, DataLoss, tw, ": length ",
                     e.length, " bytes cannot hold the lengths of ", elements, " strings");
    } else {
      const auto esize = static_cast<uint64_t>(dtype_size(info.dtype));
      // elements < 2^62 and esize <= 8, but check the product without overflowing anyway.
      SLUICE_REQUIRE(static_cast<uint64_t>(elements) <= std::numeric_limits<uint64_t>::max() / esize &&
                         e.length == static_cast<uint64_t>(elements) * esize,
                     DataLoss, tw, ": length ", e.length, " bytes does not match ", dtype_name(info.dtype),
                     info.shape.to_string(), " (", elements, " elements)");
    }
    SLUICE_REQUIRE(e.offset % kAlign == 0, DataLoss, tw, ": offset ", e.offset,
                   " is not 64-byte aligned");
    SLUICE_REQUIRE(e.offset >= prev_end && e.offset <= size && e.length <= size - e.offset,
                   DataLoss, tw, ": data [", e.offset, ", +", e.length,
                   ") overlaps the index or another tensor, or lies outside the file of ", size,
                   " bytes");
    prev_end = e.offset + e.length;
    infos_.push_back(std::move(info));
    entries_.push_back(e);
  }
  SLUICE_REQUIRE(c.pos() == index.size(), DataLoss, where, ": ", index.size() - c.pos(),
                 " unexplained bytes at the end of the index");
  for (size_t i = 0; i < infos_.size(); ++i) by_name_.emplace_back(infos_[i].name, i);
  std::sort(by_name_.begin(), by_name_.end());
  for (size_t i = 1; i < by_name_.size(); ++i)
    SLUICE_REQUIRE(by_name_[i].first != by_name_[i - 1].first, DataLoss, where, ": tensor name '",
                   by_name_[i].first, "' appears more than once");
}

int CheckpointReader::find(const std::string& name) const {
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), std::make_pair(name, size_t{0}));
  return it != by_name_.end() && it->first == name ? static_cast<int>(it->second) : -1;
}

Tensor CheckpointReader::read_entry(size_t i) const {
  if (bundle_) return bundle_->read(infos_[i].name);
  const VariableInfo& info = infos_[i];
  const Entry& e = entries_[i];
  const std::string tw = "checkpoint '" + path() + "': tensor '" + info.name + "'";
  if (info.dtype == DType::string) return read_strings(i);
  // Length and offset were validated against the file size: this allocation is bounded.
  Tensor t(info.dtype, info.shape);
  file_->read(e.offset, t.raw_data(), e.length, "tensor '" + info.name + "'");
  const uint32_t crc = crc32_update(0, t.raw_data(), e.length);
  SLUICE_REQUIRE(crc == e.crc, DataLoss, tw, ": data checksum mismatch (stored ", e.crc,
                 ", computed ", crc, ")");
  if (info.dtype == DType::boolean) {
    const auto* b = static_cast<const unsigned char*>(t.raw_data());
    for (uint64_t k = 0; k < e.length; ++k)
      SLUICE_REQUIRE(b[k] <= 1, DataLoss, tw, ": bool element ", k, " holds byte ", int{b[k]});
  }
  return t;
}

Tensor CheckpointReader::read_strings(size_t i) const {
  const VariableInfo& info = infos_[i];
  const Entry& e = entries_[i];
  const std::string tw = "checkpoint '" + path() + "': tensor '" + info.name + "'";
  // The whole entry (bounded by the file size), checksummed before anything is parsed.
  std::string blob(static_cast<size_t>(e.length), '\0');
  file_->read(e.offset, blob.data(), e.length, "tensor '" + info.name + "'");
  const uint32_t crc = crc32_update(0, blob.data(), blob.size());
  SLUICE_REQUIRE(crc == e.crc, DataLoss, tw, ": data checksum mismatch (stored ", e.crc,
                 ", computed ", crc, ")");
  const int64_t n = info.shape.num_elements();
  const auto* lengths = reinterpret_cast<const unsigned char*>(blob.data());
  const uint64_t payload = e.length - 8 * static_cast<uint64_t>(n);  // >= 0: checked at open
  uint64_t sum = 0;
  for (int64_t k = 0; k < n; ++k) {
    const uint64_t len = get_le(lengths + 8 * k, 8);
    SLUICE_REQUIRE(len <= payload - sum, DataLoss, tw, ": string ", k, " of ", len,
                   " bytes runs past the tensor's ", payload, " bytes of strings");
    sum += len;
  }
  SLUICE_REQUIRE(sum == payload, DataLoss, tw, ": the string lengths add up to ", sum,
                 " bytes but the tensor holds ", payload);
  check_string_tensor_size(n, payload, tw);
  Tensor t(DType::string, info.shape);
  std::string* p = t.data<std::string>();
  const char* bytes = blob.data() + 8 * n;
  for (int64_t k = 0; k < n; ++k) {
    const uint64_t len = get_le(lengths + 8 * k, 8);
    p[k].assign(bytes, static_cast<size_t>(len));
    bytes += len;
  }
  return t;
}

Tensor CheckpointReader::read(const std::string& name) const {
  const int i = find(name);
  if (i < 0) {
    std::string have;
    for (size_t k = 0; k < infos_.size() && k < 20; ++k)
      have += (k ? ", " : "") + infos_[k].name;
    if (infos_.size() > 20) have += ", ... (" + std::to_string(infos_.size()) + " in all)";
    throw NotFound("checkpoint '" + path() + "' has no tensor '" + name + "' (it holds: " +
                   (have.empty() ? "nothing" : have) + ")");
  }
  return read_entry(static_cast<size_t>(i));
}

std::vector<std::pair<std::string, Tensor>> CheckpointReader::read_all() const {
  std::vector<std::pair<std::string, Tensor>> out;
  out.reserve(infos_.size());
  if (bundle_) {
    for (size_t i = 0; i < infos_.size(); ++i) out.emplace_back(infos_[i].name, read_entry(i));
    return out;
  }
  // Every byte not covered by the header, the index or a tensor must be zero padding, so
  // that no byte of the file escapes validation. Read in small chunks: gaps can be large in
  // a crafted file.
  auto check_zero = [&](uint64_t from, uint64_t to) {
    unsigned char pad[4096];
    while (from < to) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(to - from, sizeof(pad)));
      file_->read(from, pad, n, "padding");
      for (size_t k = 0; k < n; ++k)
        SLUICE_REQUIRE(pad[k] == 0, DataLoss, "checkpoint '", path(),
                       "': padding byte at offset ", from + k, " is not zero");
      from += n;
    }
  };
  uint64_t pos = index_end_;
  for (size_t i = 0; i < infos_.size(); ++i) {
    check_zero(pos, entries_[i].offset);
    out.emplace_back(infos_[i].name, read_entry(i));
    pos = entries_[i].offset + entries_[i].length;
  }
  check_zero(pos, file_->size());
  return out;
}

// ---- free functions ----

std::vector<std::pair<std::string, Tensor>> read_checkpoint(const std::string& path) {
  return CheckpointReader(path).read_all();
}

std::vector<VariableInfo> list_variables(const std::string& path) {
  return CheckpointReader(path).variables();
}

Tensor load_variable(const std::string& path, const std::string& name) {
  return CheckpointReader(path).read(name);
}

}  // namespace sluice::io
