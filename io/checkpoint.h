// Checkpoints: named tensors in one file (Sluice's own format, docs/formats.md#checkpoint).
//
//   io::write_checkpoint("w.ckpt", {{"dense/kernel", k}, {"dense/bias", b}});
//   for (const auto& v : io::list_variables("w.ckpt")) std::cout << v.name << v.shape;
//   Tensor k2 = io::load_variable("w.ckpt", "dense/kernel");
//
// Layout: a 64-byte header, an index (name, dtype, shape, offset, length and CRC32 of each
// tensor), then each tensor's bytes at a 64-byte aligned offset, all little-endian (string
// tensors: each element's length, then the elements' bytes). Reading
// validates every field against the file size before trusting it: any problem is a
// DataLoss naming the file (and the tensor), never a crash and never an allocation larger
// than the file could hold. Writing goes through AtomicFile, so a crash mid-save leaves the
// previous file in place.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../runtime/tensor.h"

namespace sluice::io {

struct VariableInfo {
  std::string name;
  DType dtype;
  Shape shape;  // fully defined; [] for a scalar
};

// Writes `tensors` (any dtype, strings included, any shape incl. scalars and empty tensors;
// names non-empty, unique, without NUL bytes) to `path` atomically (see AtomicFile). The
// file is format version 1 unless a tensor has a dtype that version 1 lacks (int8, int16,
// uint16, uint32, uint64, string): then version 2. Throws InvalidArgument for a bad name or
// tensor (before touching the file system), NotFound when the folder does not exist,
// Internal for I/O errors (disk full, ...).
void write_checkpoint(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors);

// These readers (read_checkpoint, list_variables, load_variable, CheckpointReader) also
// take a TensorFlow checkpoint prefix (io/tf/tf_checkpoint.h): names as TF saved them,
// sorted by name; errors name the .index or .data file.
//
// Every tensor in the file, in file order, fully validated (checksums, zero padding).
// NotFound when the file cannot be opened; DataLoss naming the file and tensor for anything
// wrong inside it (including files of another kind, e.g. an .npz).
std::vector<std::pair<std::string, Tensor>> read_checkpoint(const std::string& path);

// Names, dtypes and shapes of the tensors in the file, in file order (reads and validates
// the header and index only; no graph needed).
std::vector<VariableInfo> list_variables(const std::string& path);

// One tensor of the file (checksum verified); NotFound naming the file and the name (and
// listing what the file holds) when absent.
Tensor load_variable(const std::string& path, const std::string& name);

// A read-only file with bounds-checked positional reads (the readers' common ground).
class RandomAccessFile {
 public:
  // NotFound when `path` cannot be opened or is not a regular file.
  explicit RandomAccessFile(const std::string& path);
  ~RandomAccessFile();
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Reads bytes [offset, offset + length); DataLoss naming the file and `what` when the
  // range is outside the file or the read comes up short (the file shrank underneath).
  void read(uint64_t offset, void* dst, uint64_t length, const std::string& what) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// An open checkpoint whose header and index have been validated; tensors are read on
// demand. Cheaper than load_variable when reading several tensors of one file.
namespace tf {
class BundleReader;
}

// Also reads TensorFlow checkpoints: a `path` that is a TF checkpoint prefix ("dir/model",
// with dir/model.index and dir/model.data-*-of-*) goes through io/tf's tensor-bundle reader,
// so list_variables, load_variable, read_checkpoint and Saver::restore accept both kinds.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::string& path);  // NotFound / DataLoss as above

  const std::string& path() const { return path_; }
  const std::vector<VariableInfo>& variables() const { return infos_; }
  bool contains(const std::string& name) const { return find(name) >= 0; }
  // Reads and checksums one tensor; NotFound when absent, DataLoss when corrupt.
  Tensor read(const std::string& name) const;
  // Reads everything and also checks that every byte between tensors is zero padding.
  std::vector<std::pair<std::string, Tensor>> read_all() const;

 private:
  struct Entry {
    uint64_t offset = 0;
    uint64_t length = 0;
    uint32_t crc = 0;
  };
  int find(const std::string& name) const;
  Tensor read_entry(size_t i) const;
  Tensor read_strings(size_t i) const;

  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;                  // a Sluice checkpoint
  std::shared_ptr<const tf::BundleReader> bundle_;          // or a TensorFlow one
  uint64_t index_end_ = 0;
  uint64_t data_offset_ = 0;
  std::vector<VariableInfo> infos_;
  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, size_t>> by_name_;  // sorted, for lookup
};

// Writes a file so that readers see either the old file or the complete new one: the bytes
// go to a temporary file in the same folder ("<dir>/.<name>.tmp-<pid>-<n>"), which commit()
// flushes, fsyncs and renames over `path`, then fsyncs the folder. Destroying an
// uncommitted AtomicFile (an exception, an early return) removes the temporary file. A
// process killed mid-write can leave the temporary file behind, never a damaged `path`.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // NotFound if the folder does not exist
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);  // Internal on an I/O error
  void write_zeros(size_t bytes);
  uint64_t bytes_written() const { return written_; }
  void commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// zlib's CRC-32 (the one zip and PNG use) of `bytes` continuing from `crc` (0 to start);
// any length.
uint32_t crc32_update(uint32_t crc, const void* data, size_t bytes);

// Convenience: writes `contents` to `path` through AtomicFile.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace sluice::io
