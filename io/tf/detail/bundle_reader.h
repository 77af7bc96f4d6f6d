// Internal: TensorFlow's V2 checkpoint format (tensor bundles), read through
// io::CheckpointReader. A checkpoint "prefix" names two kinds of files:
//   <prefix>.index                      an SSTable (detail/sstable.h): key "" holds a
//                                       BundleHeaderProto (shard count, endianness,
//                                       version); every other key is a tensor name holding
//                                       a BundleEntryProto (dtype, shape, shard, offset,
//                                       size, masked CRC32C of the bytes, slices)
//   <prefix>.data-SSSSS-of-NNNNN         the shards: tensors' raw little-endian bytes
#pragma once

#include <map>
#include <string>
#include <vector>

#include "../../checkpoint.h"
#include "../tf_checkpoint.h"

namespace sluice::io::tf {

class BundleReader {
 public:
  // Reads and validates the index (every entry's fields, against the header's shard count).
  // NotFound when there is no <prefix>.index; DataLoss for a corrupt index; Unimplemented
  // for big-endian bundles or a newer bundle version.
  explicit BundleReader(const std::string& prefix);

  const std::string& prefix() const { return prefix_; }
  // Every tensor, sorted by name (as the index stores them).
  const std::vector<VariableInfo>& variables() const { return infos_; }
  // One tensor's value, its CRC32C checked. NotFound for an unknown name; DataLoss for a
  // missing or short shard or a checksum mismatch; Unimplemented for string tensors and
  // partitioned (sliced) variables.
  Tensor read(const std::string& name) const;

 private:
  struct Entry {
    int shard = 0;
    int64_t offset = 0;
    int64_t size = 0;
    uint32_t masked_crc = 0;
    bool sliced = false;
    int tf_dtype = 0;
  };
  std::string shard_path(int shard) const;

  std::string prefix_;
  int num_shards_ = 1;
  std::vector<VariableInfo> infos_;
  std::vector<Entry> entries_;  // parallel to infos_
  std::map<std::string, size_t> index_;     // name -> position in infos_
  std::map<std::string, int> unsupported_;  // tensors of dtypes Sluice lacks -> TF dtype
};

}  // namespace sluice::io::tf
