// TensorFlow V2 checkpoints (tensor bundles) read through io::CheckpointReader, Saver and
// restore_into_scope; CRC32C; the SSTable index; corruption detection.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/tf/detail/sstable.h"
#include "sluice/sluice.h"
#include "test_util.h"
#include "tf_test_util.h"

using namespace sluice;
using sluice::testing::contains;
using sluice::testing::error_of;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST(TfCrc32c, KnownValues) {
  // RFC 3720 (iSCSI) test vectors and LevelDB's masking.
  const std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(io::tf::crc32c(zeros.data(), zeros.size()), 0x8a9136aau);
  EXPECT_EQ(io::tf::crc32c(ones.data(), ones.size()), 0x62a8ab43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(io::tf::crc32c(inc.data(), inc.size()), 0x46dd794eu);
  EXPECT_EQ(io::tf::crc32c("123456789", 9), 0xe3069283u);
  // Extending in pieces gives the same CRC as one call.
  EXPECT_EQ(io::tf::crc32c_extend(io::tf::crc32c("12345", 5), "6789", 4), 0xe3069283u);
  EXPECT_NE(io::tf::crc32c_mask(0xe3069283u), 0xe3069283u);
}

TEST(TfCheckpoint, RegressionListAndLoad) {
  SLUICE_INTEROP_OR_SKIP(prefix, "tf2onnx/regression/checkpoint/model");
  EXPECT_TRUE(io::is_tf_checkpoint(prefix));
  const auto vars = io::list_variables(prefix);
  std::map<std::string, std::string> got;
  for (const auto& v : vars) got[v.name] = dtype_name(v.dtype) + v.shape.to_string();
  ASSERT_TRUE(got.count("W")) << ::testing::PrintToString(got);
  EXPECT_EQ(got["W"], "float32[]");
  EXPECT_EQ(got["b"], "float32[]");
  // The values the artifact's README documents.
  EXPECT_FLOAT_EQ(io::load_variable(prefix, "W").scalar<float>(), 0.21396178f);
  EXPECT_FLOAT_EQ(io::load_variable(prefix, "b").scalar<float>(), 1.0495254f);
  EXPECT_TRUE(contains(error_of<NotFound>([&] { io::load_variable(prefix, "nope"); }), "nope"));
  // The .index file's path names the checkpoint too.
  EXPECT_FLOAT_EQ(io::load_variable(prefix + ".index", "W").scalar<float>(), 0.21396178f);
  // read_checkpoint reads them all.
  EXPECT_EQ(io::read_checkpoint(prefix).size(), vars.size());
}

TEST(TfCheckpoint, LatestCheckpoint) {
  SLUICE_INTEROP_OR_SKIP(dir, "tf2onnx/regression/checkpoint");
  const std::string p = io::latest_checkpoint(dir);
  EXPECT_EQ(std::filesystem::path(p).filename(), "model");
  EXPECT_TRUE(io::is_tf_checkpoint(p));
  sluice::testing::TempDir tmp("tfck");
  EXPECT_TRUE(contains(error_of<NotFound>([&] { io::latest_checkpoint(tmp.path().string()); }), "checkpoint"));
  write_bytes(tmp / "checkpoint", "model_checkpoint_path: \"missing\"\n");
  EXPECT_TRUE(contains(error_of<NotFound>([&] { io::latest_checkpoint(tmp.path().string()); }), "missing"));
  write_bytes(tmp / "checkpoint", "model_checkpoint_path: {{{\n");
  error_of<DataLoss>([&] { io::latest_checkpoint(tmp.path().string()); });
}

TEST(TfCheckpoint, SnappyIndexHalfPlusTwo) {
  // This bundle's index blocks are Snappy-compressed.
  SLUICE_INTEROP_OR_SKIP(prefix, "tf_serving/saved_model_half_plus_two_cpu/00000123/variables/variables");
  std::map<std::string, float> v;
  for (const auto& info : io::list_variables(prefix))
    if (info.dtype == DType::f32 && info.shape == Shape{}) v[info.name] = io::load_variable(prefix, info.name).scalar<float>();
  EXPECT_FLOAT_EQ(v.at("a"), 0.5f);
  EXPECT_FLOAT_EQ(v.at("b"), 2.0f);
  EXPECT_FLOAT_EQ(v.at("c"), 3.0f);
}

TEST(TfCheckpoint, SaverRestoreAndRestoreIntoScope) {
  SLUICE_INTEROP_OR_SKIP(prefix, "tf2onnx/regression/checkpoint/model");
  Graph g;
  Scope root(g);
  Output w1 = ops::variable(root.sub("model_001").named("W"), Shape{}, DType::f32);
  Output w2 = ops::variable(root.sub("model_002").named("W"), Shape{}, DType::f32);
  Output b2 = ops::variable(root.sub("model_002").named("b"), Shape{}, DType::f32);
  Session sess(g);
  io::restore_into_scope(sess, prefix, "model_002");
  EXPECT_FLOAT_EQ(sess.variable_value(w2.op().name()).scalar<float>(), 0.21396178f);
  EXPECT_FLOAT_EQ(sess.variable_value(b2.op().name()).scalar<float>(), 1.0495254f);
  EXPECT_FALSE(sess.is_variable_initialized(w1.op().name()));
  io::Saver({{"W", w1.op()}}).restore(sess, prefix);
  EXPECT_FLOAT_EQ(sess.variable_value(w1.op().name()).scalar<float>(), 0.21396178f);
  // Missing names are reported as for Sluice checkpoints.
  Output other = ops::variable(root.named("other"), Shape{2}, DType::f32);
  EXPECT_TRUE(contains(error_of<NotFound>([&] { io::Saver({other.op()}).restore(sess, prefix); }), "other"));
}

// Copies the regression checkpoint into a temp folder so the test can damage it.
class TfCheckpointCorruption : public sluice::testing::TempDirTest {
 protected:
  void SetUp() override {
    src_ = sluice::testing::interop_file("tf2onnx/regression/checkpoint/model");
    if (src_.empty()) GTEST_SKIP() << "TensorFlow artifact 'tf2onnx/regression/checkpoint' not found";
    index_ = read_bytes(src_ + ".index");
    data_ = read_bytes(src_ + ".data-00000-of-00001");
    prefix_ = path("model");
  }
  void write(const std::string& index, const std::string& data) {
    write_bytes(prefix_ + ".index", index);
    write_bytes(prefix_ + ".data-00000-of-00001", data);
  }
  // Reads everything; returns the error code, or -1 when it all read fine.
  int read_all_code() {
    try {
      for (const auto& v : io::list_variables(prefix_)) io::load_variable(prefix_, v.name);
      return -1;
    } catch (const Error& e) {
      return static_cast<int>(e.code());
    }
  }
  std::string src_, index_, data_, prefix_;
};

TEST_F(TfCheckpointCorruption, EveryByteFlipIsDetected) {
  write(index_, data_);
  ASSERT_EQ(read_all_code(), -1);
  // Every single-byte flip of the index and the data is caught (CRC32C of blocks and data,
  // magic, sizes), never a crash.
  for (size_t i = 0; i < index_.size(); ++i) {
    std::string bad = index_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    write(bad, data_);
    EXPECT_EQ(read_all_code(), static_cast<int>(ErrorCode::data_loss)) << "index byte " << i;
  }
  for (size_t i = 0; i < data_.size(); ++i) {
    std::string bad = data_;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    write(index_, bad);
    EXPECT_EQ(read_all_code(), static_cast<int>(ErrorCode::data_loss)) << "data byte " << i;
  }
}

TEST_F(TfCheckpointCorruption, TruncationsAreDataLoss) {
  for (size_t n = 0; n < index_.size(); ++n) {
    write(index_.substr(0, n), data_);
    EXPECT_EQ(read_all_code(), static_cast<int>(ErrorCode::data_loss)) << "index cut at " << n;
  }
  for (size_t n = 0; n < data_.size(); ++n) {
    write(index_, data_.substr(0, n));
    EXPECT_EQ(read_all_code(), static_cast<int>(ErrorCode::data_loss)) << "data cut at " << n;
  }
  // A missing shard too.
  write(index_, data_);
  std::filesystem::remove(prefix_ + ".data-00000-of-00001");
  EXPECT_EQ(read_all_code(), static_cast<int>(ErrorCode::data_loss));
}
