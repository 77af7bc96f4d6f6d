// distributed/ across processes: run by ctest as `mpirun -np 2 test_distributed_mpi` (see
// tests/CMakeLists.txt). Every rank runs every test in the same order; each test's
// collectives meet the other rank's. Started without mpirun, the tests skip.
#include <gtest/gtest.h>

#include <cmath>

#include "distributed_test_util.h"
#include "gradient_checker.h"
#include "test_util.h"

namespace sluice {
namespace {

namespace dist = sluice::distributed;
using testing::ToyOpt;
using X = std::vector<Output>;

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    dist::init();
    if (dist::size() != 2) GTEST_SKIP() << "needs mpirun -np 2 (size is " << dist::size() << ")";
  }
};

// Every rank's copy of t, through an allgather (to compare ranks).
std::vector<Tensor> gather_all(const Tensor& t) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, t.dtype(), {-1});
  Output all = dist::allgather(root.named("gather_all"), x);
  const Tensor flat = t.reshaped({t.num_elements()});
  const Tensor r = Session(g).run({{x, flat}}, {all})[0];
  std::vector<Tensor> parts;
  for (int i = 0; i < dist::size(); ++i)
    parts.push_back(io::slice_rows(r, i * t.num_elements(), (i + 1) * t.num_elements()));
  return parts;
}

TEST_F(Mpi, RanksAndSizes) {
  EXPECT_GE(dist::rank(), 0);
  EXPECT_LT(dist::rank(), 2);
  EXPECT_EQ(dist::local_size(), 2);  // both on this machine
  EXPECT_EQ(dist::local_rank(), dist::rank());
}

TEST_F(Mpi, AllreduceBroadcastAllgatherValues) {
  const int r = dist::rank();
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {-1, 2});
  Output s = dist::allreduce(root, x, dist::ReduceOp::sum);
  Output a = dist::allreduce(root, x, dist::ReduceOp::average);
  Output b = dist::broadcast(root, x, 1);
  Output i64 = dist::allreduce(root, ops::cast(root, x, DType::i64), dist::ReduceOp::sum);
  Session sess(g);
  const float v = static_cast<float>(r + 1);  // rank 0: 1, rank 1: 2
  auto out = sess.run({{x, Tensor::filled(DType::f32, {3, 2}, v)}}, {s, a, b, i64});
  for (int i = 0; i < 6; ++i) {
    EXPECT_FLOAT_EQ(out[0].data<float>()[i], 3.0f);
    EXPECT_FLOAT_EQ(out[1].data<float>()[i], 1.5f);
    EXPECT_FLOAT_EQ(out[2].data<float>()[i], 2.0f);  // rank 1's
    EXPECT_EQ(out[3].data<int64_t>()[i], 3);
  }

  // allgather: rank r contributes r + 1 rows of value r; 3 rows in all.
  Graph g2;
  Scope r2(g2);
  Output xg = ops::placeholder(r2, DType::f64, {-1, 2});
  Output gat = dist::allgather(r2, xg);
  const std::vector<Tensor> res = Session(g2).run(
      {{xg, Tensor::filled(DType::f64, {r + 1, 2}, r)}}, {gat, gat.op().output(1)});
  EXPECT_EQ(res[0].shape(), Shape({3, 2}));
  EXPECT_EQ(res[0].to_vector<double>(), (std::vector<double>{0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(res[1].to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
}

// Gradients across ranks, by hand: L = sum over ranks of sum(y_r * c_r), c_r = r + 1.
TEST_F(Mpi, GradientsOfBroadcastAndAllgatherSumOverRanks) {
  const int r = dist::rank();
  Graph g;
  Scope root(g);
  Output xb = ops::placeholder(root, DType::f64, {2, 2});  // broadcast: one shape on all ranks
  Output x = ops::placeholder(root, DType::f64, {-1, 2});   // allgather: r + 1 rows
  Output c = ops::constant(root, Tensor(static_cast<double>(r + 1)));
  Output yb = dist::broadcast(root, xb, 0);
  Output yg = dist::allgather(root, x);
  Output db = gradients(root, {ops::sum(root, ops::mul(root, yb, c))}, {xb})[0];
  Output dg = gradients(root, {ops::sum(root, ops::mul(root, yg, c))}, {x})[0];
  const auto out = Session(g).run(
      {{xb, Tensor::ones(DType::f64, {2, 2})}, {x, Tensor::ones(DType::f64, {r + 1, 2})}}, {db, dg});
  // broadcast: only the root's x matters, with weight c_0 + c_1 = 3.
  for (double v : out[0].to_vector<double>()) EXPECT_DOUBLE_EQ(v, r == 0 ? 3.0 : 0.0);
  // allgather: every rank's rows appear in every output: dx = c_0 + c_1 = 3 on every row.
  EXPECT_EQ(out[1].shape(), Shape({r + 1, 2}));
  for (double v : out[1].to_vector<double>()) EXPECT_DOUBLE_EQ(v, 3.0);
}

// The shared gradient checker with two ranks: both draw the same inputs (same seed) and
// perturb them in step, so for allreduce the local numeric derivative equals the
// registered gradient (sum: 2w on both sides; average: w).
TEST_F(Mpi, AllreduceGradientsMatchCentralDifferencesAcrossRanks) {
  for (auto op : {dist::ReduceOp::sum, dist::ReduceOp::average}) {
    testing::GradCase c{"mpi_allreduce", {{3, 2}}, [op](const Scope& s, const X& x) {
                          return dist::allreduce(s, ops::tanh(s, x[0]), op);
                        }};
    const auto res = testing::check_gradients(c);
    EXPECT_GT(res.checked, 0);
    EXPECT_LT(res.max_error, 1e-6);
  }
}

TEST_F(Mpi, TwoRanksWithBatchBEqualOneWithBatch2B_SGD) {
  const auto two = testing::train_toy(true, ToyOpt::sgd, 20, 8, false, false);
  const auto one = testing::train_toy(false, ToyOpt::sgd, 20, 16, false, false);
  const double d = testing::max_relative_difference(two, one);
  EXPECT_LT(d, 1e-5);
  std::printf("[rank %d] SGD: 2 ranks x batch 8 vs 1 x 16 after 20 steps: max relative difference %.3g\n",
              dist::rank(), d);
  // Without averaging (each rank alone on its shard) the weights differ: the test can fail.
  const auto alone = testing::train_toy(false, ToyOpt::sgd, 20, 8, false, false);
  EXPECT_GT(testing::max_relative_difference(alone, one), 1e-3);
}

TEST_F(Mpi, TwoRanksWithBatchBEqualOneWithBatch2B_Adam) {
  const auto two = testing::train_toy(true, ToyOpt::adam, 20, 8, false, false);
  const auto one = testing::train_toy(false, ToyOpt::adam, 20, 16, false, false);
  const double d = testing::max_relative_difference(two, one);
  EXPECT_LT(d, 1e-5);
  std::printf("[rank %d] Adam: 2 ranks x batch 8 vs 1 x 16 after 20 steps: max relative difference %.3g\n",
              dist::rank(), d);
}

TEST_F(Mpi, SyncBatchNormEqualsFullBatchBatchNorm) {
  const auto two = testing::train_toy(true, ToyOpt::sgd, 20, 8, true, true);
  const auto one = testing::train_toy(false, ToyOpt::sgd, 20, 16, true, false);
  ASSERT_TRUE(one.count("batch_normalization/moving_mean"));
  const double d = testing::max_relative_difference(two, one);
  EXPECT_LT(d, 1e-5);
  std::printf("[rank %d] sync batch norm: max relative difference %.3g\n", dist::rank(), d);
  // Per-replica statistics (the default) do not equal the full batch's.
  const auto local = testing::train_toy(true, ToyOpt::sgd, 20, 8, true, false);
  EXPECT_GT(testing::max_relative_difference(local, one), 1e-4);
}

TEST_F(Mpi, BroadcastVariablesUnifiesDifferentSeeds) {
  Graph g;
  g.set_random_seed(100 + dist::rank());  // different initial weights per rank
  Scope root(g);
  layers::Dense d1(5), d2(3);
  d2(root, d1(root, ops::placeholder(root, DType::f32, {-1, 4})));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto before = gather_all(sess.variable_value("dense/kernel"));
  EXPECT_FALSE(before[0].equals(before[1]));
  dist::broadcast_variables(sess);
  for (const Operation& v : g.global_variables()) {
    auto after = gather_all(sess.variable_value(v.name()));
    EXPECT_TRUE(after[0].equals(after[1])) << v.name();
  }
  // From another root.
  sess.set_variable_value("dense/bias", Tensor::filled(DType::f32, {5}, dist::rank() + 7.0));
  dist::broadcast_variables(sess, 1);
  EXPECT_FLOAT_EQ(sess.variable_value("dense/bias").data<float>()[4], 8.0f);
}

TEST_F(Mpi, BroadcastVariablesNamesTheFirstDifference) {
  Graph g;
  Scope root(g);
  layers::Dense d(dist::rank() == 0 ? 4 : 5);
  d(root, ops::placeholder(root, DType::f32, {-1, 2}));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const std::string msg = testing::error_of<InvalidArgument>([&] { dist::broadcast_variables(sess); });
  EXPECT_NE(msg.find("dense/kernel float32[2,4] on rank 0 but dense/kernel float32[2,5] on rank 1"), std::string::npos)
      << msg;
}

TEST_F(Mpi, CheckpointSavedByRankZeroRestoredEverywhere) {
  Graph g;
  g.set_random_seed(3);
  Scope root(g);
  layers::Dense d(3);
  d(root, ops::placeholder(root, DType::f32, {-1, 2}));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  sess.set_variable_value("dense/bias", Tensor::filled(DType::f32, {3}, dist::rank() + 1.0));
  // One path for both ranks (same machine): rank 0 names it, the others learn it.
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/sluice_dist_ckpt_" + std::to_string(::getppid()) + ".ckpt";
  dist::save_checkpoint(sess, path);
  sess.set_variable_value("dense/bias", Tensor::zeros(DType::f32, {3}));
  dist::restore_checkpoint(sess, path);
  EXPECT_FLOAT_EQ(sess.variable_value("dense/bias").data<float>()[0], 1.0f);  // rank 0's value
  dist::save_checkpoint(sess, path);  // overwrites atomically; all ranks wait for it
  if (dist::rank() == 0) std::remove(path.c_str());
}

TEST_F(Mpi, DistributedOptimizerOverlapsAndFuses) {
  dist::reset_stats();
  testing::train_toy(true, ToyOpt::sgd, 10, 8, false, false);
  const dist::Stats st = dist::stats();
  // 4 gradients per step (2 kernels, 2 biases) + the signature and 4 variable broadcasts.
  EXPECT_EQ(st.tensors, 10 * 4 + 1 + 4);
  EXPECT_LT(st.fused_batches, st.tensors);  // fusion packed some gradients together
  std::printf("[rank %d] 10 steps: %lld tensors in %lld transfers, %.3f ms in transfers, %.3f ms waited\n",
              dist::rank(), static_cast<long long>(st.tensors), static_cast<long long>(st.fused_batches),
              st.collective_seconds * 1e3, st.wait_seconds * 1e3);
}

}  // namespace
}  // namespace sluice
