// `sluice run` / `sluice inspect` on Keras HDF5 files.
#include <gtest/gtest.h>

#include "cli_test_util.h"
#include "keras_test_util.h"

using namespace sluice;
using sluice::testing::run_cli;

TEST(CliKeras, RunMatchesKerasPredictions) {
  KERAS_FILE_OR_SKIP(path, "dl4j_cnn_batch_norm/cnn_batch_norm.h5");
  const std::string dir = path.substr(0, path.rfind('/'));
  sluice::testing::ScratchDir tmp;
  const auto r = run_cli({"run", path, "--input", "conv2d_1_input=" + dir + "/input.npy", "--output",
                          tmp.path + "/out.npz"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = io::read_npz(tmp.path + "/out.npz");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "dense_1");
  const Tensor want = io::read_npy(dir + "/predictions.npy");
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(out[0].second.data<float>()[i], want.data<float>()[i], 1e-6);
}

TEST(CliKeras, TokenIdsConvertLosslesslyOrFail) {
  KERAS_FILE_OR_SKIP(path, "dl4j_embedding_conv1d/issue_9349.hdf5");
  const auto ok = run_cli({"run", path, "--input", "input_1=[[1,2,3,4,0,1]]"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("dense: f32[1,2]"), std::string::npos) << ok.out;
  const auto bad = run_cli({"run", path, "--input", "input_1=[[1.5,2,3,4,0,1]]"});
  sluice::testing::expect_one_line_error(bad, "run");
  EXPECT_NE(bad.err.find("not exactly representable as uint16"), std::string::npos) << bad.err;
}

TEST(CliKeras, InspectNamesTheFormatAndSignature) {
  KERAS_FILE_OR_SKIP(path, "fdeep_gru_initial_state/temp_stateless.h5");
  const auto r = run_cli({"inspect", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("keras-h5: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("input_2: input_2:0 float32 [?,1]"), std::string::npos) << r.out;
}
