// distributed/ in one process (size 1, not started by mpirun): the collective ops' values
// and gradients (through the shared gradient checker), the registry coverage of the
// library's ops, tensor fusion in the engine, run_early scheduling, sharding, broadcast of
// variables, rank-0 checkpoints and synchronized batch norm against the fused kernel.
// tests/test_distributed_mpi.cc runs the multi-process cases under `mpirun -np 2`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <set>

#include "distributed_test_util.h"
#include "gradient_checker.h"
#include "test_util.h"

namespace sluice {
namespace {

using testing::GradCase;
using testing::check_gradients;
using X = std::vector<Output>;
namespace dist = sluice::distributed;

Tensor f32(std::vector<float> v, const Shape& s) { return Tensor::from_vector(v, s); }

TEST(Distributed, SingleProcessWithoutMpirun) {
  dist::init();
  EXPECT_TRUE(dist::initialized());
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_EQ(dist::size(), 1);
  EXPECT_EQ(dist::local_rank(), 0);
  EXPECT_NE(dist::description().find("single process"), std::string::npos);
}

TEST(Distributed, CollectivesAreIdentitiesOfOneRank) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  Output s = dist::allreduce(root.named("sum"), x, dist::ReduceOp::sum);
  Output a = dist::allreduce(root, x);
  Output b = dist::broadcast(root, x, 0);
  Output ga = dist::allgather(root, x);
  Output counts = ga.op().output(1);
  Session sess(g);
  const Tensor v = f32({1, -2, 3.5f, 4}, {2, 2});
  auto r = sess.run({{x, v}}, {s, a, b, ga, counts});
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r[i].equals(v)) << i << ": " << r[i].to_string();
  EXPECT_EQ(r[4].to_vector<int64_t>(), std::vector<int64_t>{2});
  EXPECT_EQ(s.op().input(0).node()->name, "sum");  // the Async node carries the given name
  // Ran twice: names are reused once complete.
  r = sess.run({{x, v}}, {s});
  EXPECT_TRUE(r[0].equals(v));
}

TEST(Distributed, AllreduceIfPassesThroughWhenDisabled) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f64, {3});
  Output on = ops::placeholder(root, DType::boolean, {});
  Output y = dist::allreduce_if(root, x, on, dist::ReduceOp::sum);
  Session sess(g);
  const Tensor v = Tensor::from_vector<double>({1, 2, 3}, {3});
  EXPECT_TRUE(sess.run({{x, v}, {on, Tensor(false)}}, {y})[0].equals(v));
  EXPECT_TRUE(sess.run({{x, v}, {on, Tensor(true)}}, {y})[0].equals(v));
  // `enabled` must be a bool scalar.
  const std::string msg = testing::error_of<InvalidArgument>(
      [&] { dist::allreduce_if(root, x, ops::placeholder(root, DType::f32, {}), dist::ReduceOp::sum); });
  EXPECT_NE(msg.find("bool scalar"), std::string::npos) << msg;
}

TEST(Distributed, BadArgumentsAreClearErrors) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {2});
  Output b = dist::broadcast(root, x, 3);  // no rank 3 in a job of 1
  Session sess(g);
  const std::string msg = testing::error_of<InvalidArgument>(
      [&] { sess.run({{x, f32({1, 2}, {2})}}, {b}); });
  EXPECT_NE(msg.find("root 3 is not a rank"), std::string::npos) << msg;
  EXPECT_NE(testing::error_of<InvalidArgument>([&] { dist::allgather(root, ops::constant(root, Tensor(1.0f))); })
                .find("rank >= 1"),
            std::string::npos);
  EXPECT_NE(testing::error_of<InvalidArgument>([&] { dist::allreduce(root, ops::constant(root, Tensor(true))); })
                .find("numeric"),
            std::string::npos);
}

// ---- gradients through the shared checker (size 1: each collective is the identity, so
// the checker sees the registered gradients compose exactly) ----

std::vector<GradCase> distributed_cases() {
  return {
      {"mpi_allreduce_sum", {{3, 4}}, [](const Scope& s, const X& x) {
         return dist::allreduce(s, ops::square(s, x[0]), dist::ReduceOp::sum); }},
      {"mpi_allreduce_average", {{5}}, [](const Scope& s, const X& x) {
         return ops::mul(s, dist::allreduce(s, x[0]), x[0]); }},
      {"mpi_allreduce_if", {{2, 3}}, [](const Scope& s, const X& x) {
         return dist::allreduce_if(s, x[0], ops::constant(s, Tensor(true)), dist::ReduceOp::sum); }},
      {"mpi_broadcast", {{2, 2}}, [](const Scope& s, const X& x) { return dist::broadcast(s, ops::exp(s, x[0]), 0); }},
      {"mpi_allgather", {{3, 2}}, [](const Scope& s, const X& x) { return dist::allgather(s, ops::tanh(s, x[0])); }},
  };
}

TEST(DistributedGradients, MatchCentralDifferences) {
  for (const GradCase& c : distributed_cases()) {
    const auto r = check_gradients(c);
    EXPECT_GT(r.checked, 0) << c.name;
    EXPECT_LT(r.max_error, c.tolerance) << c.name;
  }
}

// The registry-coverage rule of test_gradients, for the ops this library registers
// (test_gradients does not link it).
TEST(DistributedGradients, EveryCollectiveOpIsChecked) {
  dist::init();
  std::set<std::string> covered;
  for (const GradCase& c : distributed_cases()) {
    const auto r = check_gradients(c);
    covered.insert(r.op_types.begin(), r.op_types.end());
  }
  int mpi_ops = 0;
  for (const OpDef* def : OpRegistry::global().all()) {
    if (def->name.rfind("Mpi", 0) != 0) continue;
    ++mpi_ops;
    EXPECT_TRUE(def->not_differentiable || (def->gradient && covered.count(def->name)))
        << def->name << " has no gradient case";
  }
  EXPECT_EQ(mpi_ops, 4);
}

// ---- the engine ----

TEST(DistributedEngine, SmallAllreducesOfOneRunAreFused) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {64});
  // The inputs first, then the collectives (as the Distributed optimizer builds them after
  // the whole backward pass): every Wait has a higher id than every input.
  std::vector<Output> xs, ys;
  for (int i = 0; i < 6; ++i) xs.push_back(ops::scalar_like(root, x, i + 1.0) * x);
  Output x64 = ops::cast(root, x, DType::f64);
  for (int i = 0; i < 6; ++i) ys.push_back(dist::allreduce(root, xs[i]));
  Output d = dist::allreduce(root, x64);  // another dtype: its own buffer
  ys.push_back(ops::cast(root, d, DType::f32));
  Session sess(g, SessionOptions{1});
  dist::reset_stats();
  auto r = sess.run({{x, Tensor::ones(DType::f32, {64})}}, ys);
  const dist::Stats st = dist::stats();
  EXPECT_EQ(st.tensors, 7);
  // All seven Async ops ran before any Wait, so one cycle sees them all, giving one f32
  // buffer and one f64 transfer; a cycle boundary may fall among the seven submissions
  // (microseconds of a 1 ms cycle): then one more.
  EXPECT_GE(st.fused_batches, 2);
  EXPECT_LE(st.fused_batches, 3);
  EXPECT_EQ(st.bytes, 6 * 64 * 4 + 64 * 8);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(r[i].data<float>()[63], i + 1.0f);
}

// ctest runs this once more with SLUICE_FUSION_THRESHOLD=600 (test distributed_fusion_threshold).
TEST(DistributedEngine, FusionThresholdFromTheEnvironment) {
  const char* t = std::getenv("SLUICE_FUSION_THRESHOLD");
  if (!t || std::string(t) != "600") GTEST_SKIP() << "run with SLUICE_FUSION_THRESHOLD=600";
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {64});  // 256 bytes per tensor
  std::vector<Output> xs, ys;
  for (int i = 0; i < 6; ++i) xs.push_back(ops::scalar_like(root, x, i + 1.0) * x);
  for (int i = 0; i < 6; ++i) ys.push_back(dist::allreduce(root, xs[i]));
  Session sess(g, SessionOptions{1});
  dist::reset_stats();
  sess.run({{x, Tensor::ones(DType::f32, {64})}}, ys);
  // Two tensors (512 bytes) fit under 600, three do not: at least three buffers (one with
  // the default 64 MB); four if a cycle boundary split the submissions.
  EXPECT_EQ(dist::stats().tensors, 6);
  EXPECT_GE(dist::stats().fused_batches, 3);
  EXPECT_LE(dist::stats().fused_batches, 4);
}

std::vector<std::string>& order_log() {
  static std::vector<std::string> log;
  return log;
}

TEST(DistributedEngine, RunEarlyOpsAreScheduledAheadOfLowerIds) {
  static std::once_flag once;
  std::call_once(once, [] {
    for (bool early : {false, true}) {
      auto b = OpRegistry::global().op(early ? "TestOrderEarly" : "TestOrderLate").input("x").output("y")
          .shape_fn([](ShapeContext& c) { c.add_output(c.input_dtype(0), c.input_shape(0)); })
          .kernel([](KernelContext& c) { order_log().push_back(c.node().name); c.set_output(0, c.input(0)); })
          .not_differentiable().stateful();
      if (early) b.run_early();
    }
  });
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {});
  Output late = NodeBuilder(root.named("late"), "TestOrderLate").input(x).finish().output(0);
  Output early = NodeBuilder(root.named("early"), "TestOrderEarly").input(x).finish().output(0);
  order_log().clear();
  Session(g).run({{x, Tensor(1.0f)}}, {late, early});
  EXPECT_EQ(order_log(), (std::vector<std::string>{"early", "late"}));
}

// ---- data sharding ----

TEST(DistributedShard, RanksSplitEachEpochsOrder) {
  const int64_t n = 10;
  const auto order = dist::epoch_order(n, 5, 2);
  EXPECT_EQ(order, dist::epoch_order(n, 5, 2));
  EXPECT_NE(order, dist::epoch_order(n, 5, 3));  // a new shuffle each epoch
  const auto r0 = dist::shard_order(n, 5, 2, 0, 3), r1 = dist::shard_order(n, 5, 2, 1, 3),
             r2 = dist::shard_order(n, 5, 2, 2, 3);
  ASSERT_EQ(r0.size(), 4u);  // ceil(10 / 3), padded by wrapping
  ASSERT_EQ(r2.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    // The i-th example of every rank together are positions 3i .. 3i+2 of the epoch order.
    EXPECT_EQ(r0[i], order[(3 * i) % n]);
    EXPECT_EQ(r1[i], order[(3 * i + 1) % n]);
    EXPECT_EQ(r2[i], order[(3 * i + 2) % n]);
  }
  EXPECT_EQ(dist::shard_order(n, 5, 2, 1, 3, true).size(), 3u);
  EXPECT_EQ(dist::shard_order(n, 5, 2), order);  // size 1: the whole order
  EXPECT_THROW(dist::shard_order(n, 5, 2, 3, 3), InvalidArgument);
}

// ---- variables and checkpoints ----

TEST(DistributedVariables, BroadcastKeepsValuesAndNeedsInitialisation) {
  Graph g;
  g.set_random_seed(4);
  Scope root(g);
  layers::Dense d(3);
  d(root, ops::placeholder(root, DType::f32, {-1, 2}));
  Session sess(g);
  EXPECT_NE(testing::error_of<FailedPrecondition>([&] { dist::broadcast_variables(sess); }).find("not initialised"),
            std::string::npos);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor before = sess.variable_value("dense/kernel");
  dist::broadcast_variables(sess);
  EXPECT_TRUE(sess.variable_value("dense/kernel").equals(before));
  EXPECT_THROW(dist::broadcast_variables(sess, 1), InvalidArgument);

  testing::TempDir dir("dist_ckpt");
  const std::string path = (dir.path() / "m.ckpt").string();
  dist::save_checkpoint(sess, path);
  sess.set_variable_value("dense/kernel", Tensor::zeros(DType::f32, {2, 3}));
  dist::restore_checkpoint(sess, path);
  EXPECT_TRUE(sess.variable_value("dense/kernel").equals(before));
  EXPECT_NE(testing::error_of<FailedPrecondition>([&] { dist::restore_checkpoint(sess, path + ".missing"); })
                .find("missing"),
            std::string::npos);
}

// ---- synchronized batch norm: in one process it must equal the fused kernel ----
// (Its composite is built from primitives the gradient checker covers; 20 training steps
// equal to the fused kernel's, whose gradient is checked, compare its gradients too.)

TEST(DistributedBatchNorm, SyncEqualsFusedInOneProcess) {
  for (testing::ToyOpt opt : {testing::ToyOpt::sgd, testing::ToyOpt::adam}) {
    const auto fused = testing::train_toy(false, opt, 20, 16, true, false);
    const auto sync = testing::train_toy(false, opt, 20, 16, true, true);
    EXPECT_LT(testing::max_relative_difference(sync, fused), 1e-5);
    EXPECT_TRUE(fused.count("batch_normalization/moving_variance"));
  }
}

}  // namespace
}  // namespace sluice
