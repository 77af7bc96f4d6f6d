// Internal: CRC32C and a reader of LevelDB-format tables (SSTables), the container of
// TensorFlow's checkpoint index files. Layout (LevelDB's doc/table_format.md):
//
//   [data block 0][trailer] ... [data block n][trailer] [metaindex block][trailer]
//   [index block][trailer] [footer: 48 bytes]
//   trailer: 1 byte compression type (0 none, 1 Snappy) + fixed32 masked CRC32C of the
//            block contents and the type byte
//   footer:  metaindex handle, index handle (varint64 offset + varint64 size each),
//            zero padding to 40 bytes, fixed64 magic 0xdb4775248b80fb57
//   block:   entries (varint32 shared key bytes, varint32 unshared bytes, varint32 value
//            bytes, the unshared key suffix, the value), then fixed32 restart offsets
//            (entries that store their whole key) and a fixed32 count of them
//   index block: last key of a data block (or a separator) -> handle of that block
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sluice::io::tf {

// CRC-32C (Castagnoli), continuing from `crc` (0 to start).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t bytes);
inline uint32_t crc32c(const void* data, size_t bytes) { return crc32c_extend(0, data, bytes); }
// LevelDB / TensorFlow store CRCs "masked" so that a CRC of data holding CRCs is not weak.
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// Limits for untrusted tables.
inline constexpr uint64_t kMaxTableBlockBytes = uint64_t{1} << 26;  // one block, uncompressed
inline constexpr uint64_t kMaxTableBytes = uint64_t{1} << 28;       // all entries, uncompressed

// Reads every (key, value) of the table in `path`, in key order, verifying the footer, the
// CRC32C of every block, Snappy decompression, restart points and that keys strictly
// increase. NotFound when the file is missing; DataLoss naming the file and the block for
// anything else (truncation, a flipped byte, a bad varint, an oversized block).
std::vector<std::pair<std::string, std::string>> read_table(const std::string& path);

}  // namespace sluice::io::tf
