// CRC32C and the LevelDB-format table reader behind TensorFlow checkpoint indexes.
#include "detail/sstable.h"

#include <snappy.h>

#include <array>
#include <cstring>

#include "../checkpoint.h"  // RandomAccessFile

namespace sluice::io::tf {

// ---- CRC32C ----

namespace {

// Slicing-by-8 tables for the reflected Castagnoli polynomial 0x82f63b78.
struct Crc32cTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  static const Crc32cTables tables;
  const auto& t = tables.t;
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

// ---- tables ----

namespace {

constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
constexpr uint64_t kFooterSize = 48;
constexpr uint64_t kTrailerSize = 5;

uint32_t load_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// A bounded cursor over bytes; every read checks the end and throws DataLoss naming `what`.
class Cursor {
 public:
  Cursor(const char* p, size_t n, std::string what) : p_(p), end_(p + n), what_(std::move(what)) {}
  uint64_t varint(int max_bytes) {
    uint64_t v = 0;
    for (int shift = 0, i = 0; i < max_bytes; ++i, shift += 7) {
      SLUICE_REQUIRE(p_ < end_, DataLoss, what_, ": truncated varint");
      const auto b = static_cast<unsigned char>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw DataLoss(what_ + ": malformed varint");
  }
  const char* take(uint64_t n) {
    SLUICE_REQUIRE(n <= static_cast<uint64_t>(end_ - p_), DataLoss, what_, ": ", n,
                   " bytes claimed past the end of the block");
    const char* r = p_;
    p_ += n;
    return r;
  }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  const char* pos() const { return p_; }

 private:
  const char* p_;
  const char* end_;
  std::string what_;
};

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

BlockHandle read_handle(Cursor& c) {
  BlockHandle h;
  h.offset = c.varint(10);
  h.size = c.varint(10);
  return h;
}

// The contents of the block at `h`, CRC-checked and decompressed.
std::string read_block(const RandomAccessFile& file, const BlockHandle& h, const std::string& what) {
  const uint64_t size = file.size();
  SLUICE_REQUIRE(h.offset <= size && h.size <= size - h.offset && kTrailerSize <= size - h.offset - h.size,
                 DataLoss, what, ": block at offset ", h.offset, " of ", h.size, " bytes lies outside the file (",
                 size, " bytes): truncated or corrupt");
  SLUICE_REQUIRE(h.size <= kMaxTableBlockBytes, DataLoss, what, ": block of ", h.size, " bytes exceeds the limit");
  std::string raw(h.size + kTrailerSize, '\0');
  file.read(h.offset, &raw[0], raw.size(), what);
  const uint32_t stored = load_u32(raw.data() + h.size + 1);
  const uint32_t actual = crc32c_mask(crc32c(raw.data(), h.size + 1));
  SLUICE_REQUIRE(stored == actual, DataLoss, what, ": block at offset ", h.offset, ": CRC32C mismatch (stored ",
                 stored, ", computed ", actual, ")");
  const auto type = static_cast<unsigned char>(raw[h.size]);
  raw.resize(h.size);
  if (type == 0) return raw;
  SLUICE_REQUIRE(type == 1, DataLoss, what, ": block at offset ", h.offset, " has unknown compression type ",
                 int{type});
  size_t n = 0;
  SLUICE_REQUIRE(snappy::GetUncompressedLength(raw.data(), raw.size(), &n), DataLoss, what, ": block at offset ",
                 h.offset, ": corrupt Snappy header");
  SLUICE_REQUIRE(n <= kMaxTableBlockBytes, DataLoss, what, ": block at offset ", h.offset, " claims ", n,
                 " uncompressed bytes, over the limit");
  std::string out(n, '\0');
  SLUICE_REQUIRE(snappy::RawUncompress(raw.data(), raw.size(), out.empty() ? nullptr : &out[0]), DataLoss, what,
                 ": block at offset ", h.offset, ": corrupt Snappy data");
  return out;
}

// Every entry of a block, checking restart points (each one starts an entry that shares
// no key bytes) and that keys strictly increase.
std::vector<std::pair<std::string, std::string>> parse_block(const std::string& block, const std::string& what) {
  SLUICE_REQUIRE(block.size() >= 4, DataLoss, what, ": block of ", block.size(), " bytes is too small");
  const uint32_t num_restarts = load_u32(block.data() + block.size() - 4);
  SLUICE_REQUIRE(num_restarts >= 1 && num_restarts <= (block.size() - 4) / 4, DataLoss, what, ": block claims ",
                 num_restarts, " restart points");
  const size_t data_end = block.size() - 4 - 4 * static_cast<size_t>(num_restarts);
  std::vector<uint32_t> restarts(num_restarts);
  for (uint32_t i = 0; i < num_restarts; ++i) restarts[i] = load_u32(block.data() + data_end + 4 * i);

  std::vector<std::pair<std::string, std::string>> out;
  Cursor c(block.data(), data_end, what);
  std::string key;
  size_t next_restart = 0;
  while (c.left() > 0) {
    const auto offset = static_cast<uint64_t>(c.pos() - block.data());
    const uint64_t shared = c.varint(5), unshared = c.varint(5), value_len = c.varint(5);
    const bool is_restart = next_restart < restarts.size() && restarts[next_restart] == offset;
    SLUICE_REQUIRE(next_restart >= restarts.size() || restarts[next_restart] >= offset, DataLoss, what,
                   ": restart point ", restarts[next_restart], " is not the start of an entry");
    if (is_restart) {
      ++next_restart;
      SLUICE_REQUIRE(shared == 0, DataLoss, what, ": the entry at restart point ", offset, " shares key bytes");
    }
    SLUICE_REQUIRE(offset != 0 || is_restart, DataLoss, what, ": the first restart point is not 0");
    SLUICE_REQUIRE(shared <= key.size(), DataLoss, what, ": entry shares ", shared, " bytes of a ", key.size(),
                   "-byte key");
    const char* suffix = c.take(unshared);
    std::string next = key.substr(0, shared);
    next.append(suffix, unshared);
    SLUICE_REQUIRE(out.empty() || next > key, DataLoss, what, ": keys out of order");
    key = std::move(next);
    const char* value = c.take(value_len);
    out.emplace_back(key, std::string(value, value_len));
  }
  const bool empty_block = out.empty() && restarts.size() == 1 && restarts[0] == 0;  // LevelDB's empty block
  SLUICE_REQUIRE(empty_block || next_restart == restarts.size(), DataLoss, what, ": restart point ",
                 next_restart < restarts.size() ? restarts[next_restart] : 0, " is not the start of an entry");
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_table(const std::string& path) {
  RandomAccessFile file(path);
  const std::string what = "checkpoint index '" + path + "'";
  SLUICE_REQUIRE(file.size() >= kFooterSize, DataLoss, what, ": ", file.size(),
                 " bytes is too short for a table footer (truncated?)");
  char footer[kFooterSize];
  file.read(file.size() - kFooterSize, footer, kFooterSize, what);
  uint64_t magic;
  std::memcpy(&magic, footer + 40, 8);
  SLUICE_REQUIRE(magic == kTableMagic, DataLoss, what, ": bad table magic (not a TensorFlow checkpoint index, "
                 "or truncated)");
  Cursor fc(footer, 40, what + ": footer");
  const BlockHandle meta_handle = read_handle(fc);
  const BlockHandle index_handle = read_handle(fc);
  // Writers pad the footer with zeros; checking that (and the metaindex block, empty in
  // TensorFlow's bundles, but CRC-checked like any block) leaves no byte of the file unchecked.
  for (const char* p = fc.pos(); p < footer + 40; ++p)
    SLUICE_REQUIRE(*p == 0, DataLoss, what, ": footer padding is not zero (corrupt)");
  parse_block(read_block(file, meta_handle, what + ": metaindex block"), what + ": metaindex block");
  const auto index = parse_block(read_block(file, index_handle, what + ": index block"), what + ": index block");
  std::vector<std::pair<std::string, std::string>> out;
  uint64_t total = 0;
  for (const auto& [last_key, handle_bytes] : index) {
    Cursor hc(handle_bytes.data(), handle_bytes.size(), what + ": index entry");
    const BlockHandle h = read_handle(hc);
    const std::string bw = what + ": data block at offset " + std::to_string(h.offset);
    auto entries = parse_block(read_block(file, h, bw), bw);
    for (auto& e : entries) {
      SLUICE_REQUIRE(out.empty() || e.first > out.back().first, DataLoss, bw, ": keys out of order");
      SLUICE_REQUIRE(e.first <= last_key, DataLoss, bw, ": key beyond the index's bound for the block");
      total += e.first.size() + e.second.size();
      SLUICE_REQUIRE(total <= kMaxTableBytes, DataLoss, what, ": entries exceed ", kMaxTableBytes, " bytes");
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace sluice::io::tf
