// TensorFlow V2 checkpoints (tensor bundles): the index and data-shard reader behind
// io::CheckpointReader, and the `checkpoint` state file.
#include "tf_checkpoint.h"

#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <cstdio>
#include <map>

#include "detail/bundle_reader.h"
#include "detail/sstable.h"
#include "detail/tf_proto.h"

namespace sluice::io {

namespace {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

constexpr int kMaxShards = 1 << 20;
constexpr int kBundleVersion = 1;  // TensorFlow's kTensorBundleVersion

}  // namespace

bool is_tf_checkpoint(const std::string& path) {
  return !path.empty() && !is_regular_file(path) && is_regular_file(path + ".index");
}

std::string latest_checkpoint(const std::string& dir_in) {
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string state_path = dir + "/checkpoint";
  SLUICE_REQUIRE(is_regular_file(state_path), NotFound, "latest_checkpoint: '", dir,
                 "' has no TensorFlow 'checkpoint' state file");
  RandomAccessFile file(state_path);
  SLUICE_REQUIRE(file.size() <= (1u << 20), DataLoss, "checkpoint state file '", state_path, "' is larger than 1 MiB");
  std::string text(file.size(), '\0');
  if (!text.empty()) file.read(0, &text[0], text.size(), "checkpoint state");
  tfproto::CheckpointState state;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  SLUICE_REQUIRE(parser.ParseFromString(text, &state), DataLoss, "checkpoint state file '", state_path,
                 "' is not a valid CheckpointState text proto");
  std::string p = state.model_checkpoint_path();
  SLUICE_REQUIRE(!p.empty(), NotFound, "checkpoint state file '", state_path, "' names no checkpoint");
  if (p[0] != '/') p = dir + "/" + p;
  SLUICE_REQUIRE(is_tf_checkpoint(p), NotFound, "checkpoint state file '", state_path, "' names '", p,
                 "', which has no .index file");
  return p;
}

namespace tf {

BundleReader::BundleReader(const std::string& prefix) : prefix_(prefix) {
  const std::string index_path = prefix + ".index";
  const std::string what = "TensorFlow checkpoint '" + prefix + "'";
  const auto table = read_table(index_path);
  SLUICE_REQUIRE(!table.empty() && table.front().first.empty(), DataLoss, what,
                 ": the index has no bundle header (empty key)");
  tfproto::BundleHeaderProto header;
  parse_proto(table.front().second, &header, what + ": bundle header");
  SLUICE_REQUIRE(header.endianness() == 0, Unimplemented, what, ": big-endian checkpoints are not supported");
  SLUICE_REQUIRE(header.num_shards() >= 1 && header.num_shards() <= kMaxShards, DataLoss, what,
                 ": the header claims ", header.num_shards(), " shards");
  num_shards_ = header.num_shards();
  if (header.has_version()) {
    const auto& v = header.version();
    SLUICE_REQUIRE(v.min_consumer() <= kBundleVersion, Unimplemented, what, ": bundle version needs a reader of ",
                   "version >= ", v.min_consumer(), " (Sluice reads version ", kBundleVersion, ")");
    for (int bad : v.bad_consumers())
      SLUICE_REQUIRE(bad != kBundleVersion, Unimplemented, what, ": the bundle excludes reader version ", bad);
  }
  for (size_t i = 1; i < table.size(); ++i) {
    const std::string& name = table[i].first;
    if (name[0] == '\0') continue;  // an encoded slice key of a partitioned variable
    const std::string ew = what + ": entry '" + name + "'";
    tfproto::BundleEntryProto e;
    parse_proto(table[i].second, &e, ew);
    Entry entry;
    entry.tf_dtype = e.dtype();
    entry.sliced = e.slices_size() > 0;
    entry.shard = e.shard_id();
    entry.offset = e.offset();
    entry.size = e.size();
    entry.masked_crc = e.crc32c();
    SLUICE_REQUIRE(entry.shard >= 0 && entry.shard < num_shards_, DataLoss, ew, ": shard ", entry.shard,
                   " of ", num_shards_);
    SLUICE_REQUIRE(entry.offset >= 0 && entry.size >= 0 && entry.offset <= INT64_MAX - entry.size, DataLoss, ew,
                   ": bad offset ", entry.offset, " / size ", entry.size);
    VariableInfo info;
    info.name = name;
    try {
      info.shape = shape_from_tf(e.shape(), ew);
    } catch (const Error& err) {
      throw DataLoss(err.what());
    }
    SLUICE_REQUIRE(info.shape.is_fully_defined(), DataLoss, ew, ": shape ", info.shape.to_string(),
                   " is not fully defined");
    if (entry.tf_dtype == kTfString) {
      info.dtype = DType::string;
    } else {
      try {
        info.dtype = dtype_from_tf(entry.tf_dtype, ew);
      } catch (const Unimplemented&) {
        // Listed nowhere, read() explains: a checkpoint with, say, one float16 tensor still
        // serves every tensor Sluice can hold.
        unsupported_[name] = entry.tf_dtype;
        continue;
      }
      if (!entry.sliced) {
        const int64_t n = info.shape.num_elements();
        const auto elem = static_cast<int64_t>(dtype_size(info.dtype));
        SLUICE_REQUIRE(n <= INT64_MAX / elem && n * elem == entry.size, DataLoss, ew, ": ", entry.size,
                       " bytes stored for a ", dtype_name(info.dtype), info.shape.to_string(), " tensor");
      }
    }
    index_[name] = infos_.size();
    infos_.push_back(std::move(info));
    entries_.push_back(entry);
  }
}

std::string BundleReader::shard_path(int shard) const {
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), ".data-%05d-of-%05d", shard, num_shards_);
  return prefix_ + suffix;
}

Tensor BundleReader::read(const std::string& name) const {
  const std::string what = "TensorFlow checkpoint '" + prefix_ + "': tensor '" + name + "'";
  auto u = unsupported_.find(name);
  SLUICE_REQUIRE(u == unsupported_.end(), Unimplemented, what, " has TensorFlow dtype ", tf_dtype_name(u->second),
                 ", which Sluice cannot hold");
  auto found = index_.find(name);
  const size_t i = found == index_.end() ? infos_.size() : found->second;
  SLUICE_REQUIRE(i < infos_.size(), NotFound, "TensorFlow checkpoint '", prefix_, "' has no tensor '", name, "'");
  const VariableInfo& info = infos_[i];
  const Entry& e = entries_[i];
  SLUICE_REQUIRE(!e.sliced, Unimplemented, what, " is a partitioned variable (saved as slices); reading slices ",
                 "is not supported");
  SLUICE_REQUIRE(info.dtype != DType::string, Unimplemented, what, " is a string tensor; Sluice cannot read ",
                 "string tensors from checkpoints yet");
  const std::string shard = shard_path(e.shard);
  std::unique_ptr<RandomAccessFile> file;
  try {
    file = std::make_unique<RandomAccessFile>(shard);
  } catch (const NotFound&) {
    throw DataLoss(what + ": data file '" + shard + "' is missing");
  }
  SLUICE_REQUIRE(static_cast<uint64_t>(e.offset) <= file->size() &&
                     static_cast<uint64_t>(e.size) <= file->size() - static_cast<uint64_t>(e.offset),
                 DataLoss, what, ": bytes [", e.offset, ", ", e.offset + e.size, ") lie outside '", shard, "' (",
                 file->size(), " bytes): truncated");
  Tensor t(info.dtype, info.shape);
  if (e.size > 0) file->read(static_cast<uint64_t>(e.offset), t.raw_data(), static_cast<uint64_t>(e.size), what);
  const uint32_t crc = tf::crc32c_mask(tf::crc32c(t.raw_data(), static_cast<size_t>(e.size)));
  SLUICE_REQUIRE(crc == e.masked_crc, DataLoss, what, ": CRC32C mismatch in '", shard, "' (stored ", e.masked_crc,
                 ", computed ", crc, ")");
  if (info.dtype == DType::boolean) {
    const auto* b = static_cast<const unsigned char*>(t.raw_data());
    for (int64_t k = 0; k < e.size; ++k)
      SLUICE_REQUIRE(b[k] <= 1, DataLoss, what, ": bool element ", k, " holds byte ", int{b[k]});
  }
  return t;
}

}  // namespace tf
}  // namespace sluice::io
