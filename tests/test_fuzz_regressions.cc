// Fuzzing regressions (docs/fuzzing.md): every input a fuzz target crashed on is kept in
// tests/fuzz/regressions/<target>/ and replayed here, in the normal build, through the
// target's own code (the reader targets are #included with SLUICE_FUZZ_REPLAY, which
// leaves out their libFuzzer entry point). The checked-in seed corpora are replayed the
// same way, so a reader change that breaks a harness property (round trips, typed errors,
// all-or-nothing imports) shows up in ctest without a fuzz build. Each crash also has a
// test below that asserts the exact typed error (or result) its fix produces, so the test
// fails without the fix even where no sanitizer runs.
#define SLUICE_FUZZ_REPLAY 1

#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "fuzz/fuzz_bundle.cc"
#include "fuzz/fuzz_checkpoint.cc"
#include "fuzz/fuzz_graph_file.cc"
#include "fuzz/fuzz_idx.cc"
#include "fuzz/fuzz_image.cc"
#include "fuzz/fuzz_npz.cc"
#include "fuzz/fuzz_onnx.cc"
#include "fuzz/fuzz_tf_graph_def.cc"
#include "fuzz_replay.h"
#include "test_util.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

using testing::fuzz_dir;
using testing::slurp;

using Harness = int (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  Harness run;
};
const Target kTargets[] = {
    {"fuzz_checkpoint", fuzz::checkpoint::run}, {"fuzz_npz", fuzz::npz::run},
    {"fuzz_graph_file", fuzz::graph_file::run}, {"fuzz_bundle", fuzz::bundle::run},
    {"fuzz_idx", fuzz::idx::run},
    {"fuzz_onnx", fuzz::onnx_model::run},
    {"fuzz_image", fuzz::image::run},
};

size_t replay(const std::string& kind, const Target& t) { return sluice::testing::replay_fuzz_inputs(kind, t.name, t.run); }

TEST(FuzzRegressions, EverySeedReplaysCleanly) {
  for (const Target& t : kTargets) EXPECT_GT(replay("corpus", t), 3u) << t.name << ": seed corpus missing";
}

TEST(FuzzRegressions, EveryCrashReplaysCleanly) {
  size_t n = 0;
  for (const Target& t : kTargets) n += replay("regressions", t);
  EXPECT_GE(n, 2u) << "the regression inputs are missing";
}

// A file as the readers see it.
struct TempFile {
  explicit TempFile(const std::string& bytes) : file(bytes) {}
  fuzz::MemFile file;
  std::string path() const { return file.path(); }
};

using testing::error_of;

// ---- fuzz_idx ----

// An empty uint8 IDX file ([0, 28]) copied its (absent) data with memcpy from a null
// pointer: undefined behaviour even for zero bytes (UBSan: "null pointer passed as argument
// 2"). Now it reads as an empty tensor.
TEST(FuzzRegressions, IdxEmptyUint8) {
  const std::string bytes = slurp(fuzz_dir("regressions") / "fuzz_idx" / "empty_u8_memcpy_null.idx");
  ASSERT_EQ(bytes.size(), 12u);
  TempFile f(bytes);
  const Tensor t = io::read_idx(f.path());
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.shape(), (Shape{0, 28}));
  EXPECT_EQ(t.num_elements(), 0);
}

// A float IDX file of labels holding NaN went to one_hot_labels, which converted the NaN
// to int64 (undefined behaviour). Labels must be integers, as documented.
TEST(FuzzRegressions, OneHotLabelsRejectsFloatLabels) {
  const std::string bytes = slurp(fuzz_dir("regressions") / "fuzz_idx" / "one_hot_nan_label.idx");
  TempFile f(bytes);
  const Tensor labels = io::read_idx(f.path());
  ASSERT_EQ(labels.dtype(), DType::f32);
  ASSERT_TRUE(std::isnan(labels.data<float>()[1]));
  const std::string msg = error_of<InvalidArgument>([&] { io::one_hot_labels(labels, 10); });
  EXPECT_NE(msg.find("uint8, int32 or int64"), std::string::npos) << msg;
  // Integer labels still work, and one out of range is OutOfRange.
  const Tensor y = io::one_hot_labels(Tensor::from_vector<int32_t>({2, 0}, Shape{2}), 3);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0}));
  error_of<OutOfRange>([] { io::one_hot_labels(Tensor::from_vector<int64_t>({3}, Shape{1}), 3); });
}

// ---- fuzz_random_graph (FuzzedDataProvider input: replayed by tests/fuzz/run_fuzzers.sh
// under the sanitizers; here each finding is rebuilt as the graph it produced) ----

// OneHot(dtype=uint8, on_value=1e300) converted the double to uint8 in its kernel:
// undefined behaviour (UBSan: "1e+300 is outside the range of representable values of type
// 'unsigned char'"). Fill had the same conversion. Both now reject such values when the
// node is built, naming the attr and the dtype.
TEST(FuzzRegressions, OneHotAndFillRejectUnrepresentableValues) {
  Graph g;
  Scope root(g);
  const Output idx = ops::constant(root, Tensor::from_vector<int32_t>({0, 2}, Shape{2}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto& [dtype, bad] : std::vector<std::pair<DType, double>>{
           {DType::u8, 1e300}, {DType::u8, 256.0}, {DType::u8, -1.0}, {DType::i32, 2147483648.0},
           {DType::i32, nan}, {DType::i64, 9223372036854775808.0}, {DType::i64, -inf}}) {
    SCOPED_TRACE(std::string(dtype_name(dtype)) + " " + std::to_string(bad));
    std::string msg = error_of<InvalidArgument>([&, dtype = dtype, bad = bad] {
      ops::one_hot(root.named("hot"), idx, 3, bad, 0.0, dtype);
    });
    EXPECT_NE(msg.find("on_value"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not representable as " + std::string(dtype_name(dtype))), std::string::npos) << msg;
    msg = error_of<InvalidArgument>([&, dtype = dtype, bad = bad] {
      ops::one_hot(root.named("hot"), idx, 3, 1.0, bad, dtype);
    });
    EXPECT_NE(msg.find("off_value"), std::string::npos) << msg;
    msg = error_of<InvalidArgument>([&, dtype = dtype, bad = bad] { ops::fill(root.named("f"), dtype, {2}, bad); });
    EXPECT_NE(msg.find("value"), std::string::npos) << msg;
  }
  // The extremes of each type are fine, and float types take any double.
  Session sess(g, SessionOptions{1});
  const auto r = sess.run({}, {ops::one_hot(root, idx, 3, 255.0, 0.0, DType::u8),
                               ops::fill(root, DType::i32, {1}, -2147483648.0),
                               ops::fill(root, DType::i64, {1}, -9223372036854775808.0),
                               ops::fill(root, DType::f32, {1}, 1e300), ops::fill(root, DType::boolean, {1}, nan)});
  EXPECT_EQ(r[0].to_vector<uint8_t>(), (std::vector<uint8_t>{255, 0, 0, 0, 0, 255}));
  EXPECT_EQ(r[1].to_vector<int32_t>()[0], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(r[2].to_vector<int64_t>()[0], std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(std::isinf(r[3].to_vector<float>()[0]));
  EXPECT_TRUE(r[4].to_vector<bool>()[0]);
}

// ---- fuzz_tf_graph_def (its seeds are made from ../shared/interop, so only its crash inputs
// are checked in and replayed) ----

// A frozen GraphDef: MaxPool, data_format NCHW, 2x2 VALID, of a float placeholder
// [1,0,4,4] (an unknown field left the channel dim at 0). The max pool kernel divided
// by the channel count to find the columns it prefetches (UBSan: "division by zero";
// a trap where the compiler keeps the division). It now keeps that count of columns
// and divides nothing; the result is [1,0,2,2].
TEST(FuzzRegressions, TfGraphDefNchwMaxPoolOfZeroChannels) {
  EXPECT_GE(replay("regressions", {"fuzz_tf_graph_def", fuzz::tf_graph_def::run}), 1u);
  const std::string bytes =
      slurp(fuzz_dir("regressions") / "fuzz_tf_graph_def" / "nchw_max_pool_zero_channels.pb");
  Graph g;
  io::import_tf_graph_def_bytes(g, bytes);
  const Output x = g.tensor("Placeholder:0"), y = g.tensor("MaxPool:0");
  EXPECT_EQ(x.shape(), (Shape{1, 0, 4, 4}));
  Session sess(g, SessionOptions{2});
  const Tensor r = sess.run({{x, Tensor::zeros(DType::f32, {1, 0, 4, 4})}}, {y})[0];
  EXPECT_EQ(r.shape(), (Shape{1, 0, 2, 2}));
}

}  // namespace
}  // namespace sluice
