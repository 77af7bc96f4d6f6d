#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <map>
#include <thread>

#include "test_util.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

TEST(Session, FeedsAndFetchesByHandleOrName) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  Output y = ops::mul(root.named("y"), x, ops::constant(root, Tensor(2.0f)));
  Session sess(g);
  Tensor in = Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}};
  auto r1 = sess.run({{x, in}}, {y});
  auto r2 = sess.run({{"x:0", in}}, {"y:0", "y"});
  EXPECT_EQ(r1[0].to_vector<float>(), (std::vector<float>{2, 4, 6, 8}));
  EXPECT_TRUE(r1[0].equals(r2[0]));
  EXPECT_TRUE(r2[0].equals(r2[1]));
  // Fetching a fed tensor returns the feed; feeding an intermediate bypasses its inputs.
  EXPECT_TRUE(sess.run({{x, in}}, {x})[0].equals(in));
  EXPECT_EQ(sess.run({{y, Tensor{{5.0f, 5.0f}}}}, {ops::add(root, y, y)})[0].to_vector<float>(),
            (std::vector<float>{10, 10}));
}

TEST(Session, OpTimingsPerOpTypeOrPerNode) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  Output a = ops::mul(root.named("a"), x, x);
  Output b = ops::mul(root.named("b"), a, x);
  Output y = ops::add(root.named("y"), a, b);
  const Tensor in = Tensor{{1.0f, 2.0f}};
  // Nothing is kept unless asked for.
  Session plain(g);
  plain.run({{x, in}}, {y});
  EXPECT_TRUE(plain.op_timings().empty());
  // Per op type: both Muls in one entry, two calls per run.
  SessionOptions by_type;
  by_type.collect_op_timings = true;
  Session typed(g, by_type);
  for (int i = 0; i < 3; ++i) typed.run({{x, in}}, {y});
  std::map<std::string, OpTiming> t;
  for (const OpTiming& e : typed.op_timings()) t[e.op_type] = e;
  ASSERT_TRUE(t.count("Mul") && t.count("Add"));
  EXPECT_EQ(t["Mul"].calls, 6);
  EXPECT_EQ(t["Add"].calls, 3);
  EXPECT_TRUE(t["Mul"].node.empty());
  EXPECT_GE(t["Mul"].seconds, 0);
  // Per node: one entry per node, named, with its op type; largest first.
  SessionOptions by_node = by_type;
  by_node.op_timings_by_node = true;
  Session named(g, by_node);
  for (int i = 0; i < 3; ++i) named.run({{x, in}}, {y});
  const std::vector<OpTiming> n = named.op_timings();
  std::map<std::string, OpTiming> m;
  for (const OpTiming& e : n) m[e.node] = e;
  ASSERT_TRUE(m.count("a") && m.count("b") && m.count("y"));
  EXPECT_EQ(m["a"].op_type, "Mul");
  EXPECT_EQ(m["y"].op_type, "Add");
  EXPECT_EQ(m["b"].calls, 3);
  for (size_t i = 1; i < n.size(); ++i) EXPECT_GE(n[i - 1].seconds, n[i].seconds);
}

TEST(Session, RunsOnlyTheNeededSubgraph) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {});
  Output unused_var = ops::variable(root.named("never_initialized"), {}, DType::f32);
  Output bad = ops::add(root, unused_var, x);  // would fail: uninitialised
  (void)bad;
  Output good = ops::add(root, x, x);
  Session sess(g);
  EXPECT_EQ(sess.run({{x, Tensor(1.5f)}}, {good})[0].scalar<float>(), 3.0f);
}

TEST(Session, ErrorsNameTheTensor) {
  Graph g;
  Scope root(g);
  Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
  Output y = ops::sum(root.named("total"), img);
  Output w = ops::variable(root.named("w"), {2}, DType::f32);
  Session sess(g);
  std::string m = error_of<InvalidArgument>([&] { sess.run({}, {y}); });
  EXPECT_TRUE(contains(m, "You must feed a value for placeholder tensor 'img' with dtype float32 and shape [?,784]")) << m;
  m = error_of<InvalidArgument>([&] { sess.run({{img, Tensor::zeros(DType::f64, {1, 784})}}, {y}); });
  EXPECT_TRUE(contains(m, "dtype float64") && contains(m, "'img:0'") && contains(m, "float32")) << m;
  m = error_of<InvalidArgument>([&] { sess.run({{img, Tensor::zeros(DType::f32, {1, 783})}}, {y}); });
  EXPECT_TRUE(contains(m, "[1,783]") && contains(m, "'img:0'") && contains(m, "[?,784]")) << m;
  m = error_of<NotFound>([&] { sess.run({}, {"nope:0"}); });
  EXPECT_TRUE(contains(m, "'nope:0'")) << m;
  m = error_of<NotFound>([&] { sess.run({}, {}, {"no_such_op"}); });
  EXPECT_TRUE(contains(m, "'no_such_op'")) << m;
  m = error_of<FailedPrecondition>([&] { sess.run({}, {w}); });
  EXPECT_TRUE(contains(m, "Attempting to use uninitialized value w")) << m;
  EXPECT_THROW(sess.run({{img, Tensor()}}, {y}), InvalidArgument);
  EXPECT_THROW(sess.run({{img, Tensor::zeros(DType::f32, {1, 784})}, {"img", Tensor::zeros(DType::f32, {1, 784})}}, {y}),
               InvalidArgument);
  // Kernel errors carry the node and op.
  Output idx = ops::placeholder(root.named("idx"), DType::i32, {-1});
  Output gathered = ops::gather(root.named("lookup"), ops::constant(root, Tensor({1.0f, 2.0f})), idx);
  m = error_of<OutOfRange>([&] { sess.run({{idx, Tensor({5})}}, {gathered}); });
  EXPECT_TRUE(contains(m, "'lookup' (Gather)") && contains(m, "indices[0] = 5")) << m;
}

TEST(Session, HandlesFromAnotherGraphAreRejected) {
  Graph g1, g2;
  Output a = ops::l2_normalize(Scope(g1).sub("norm_layer"), ops::placeholder(Scope(g1).named("in"), DType::f32, {2}));
  ASSERT_EQ(a.name(), "norm_layer/l2_normalize:0");
  Output b = ops::placeholder(Scope(g2).named("in"), DType::f32, {2});
  Session s2(g2);
  std::string m = error_of<InvalidArgument>([&] { s2.run({{b, Tensor({1.0f, 2.0f})}}, {a}); });
  EXPECT_EQ(m, "Tensor 'norm_layer/l2_normalize:0' is not an element of this graph.");
  m = error_of<InvalidArgument>([&] { s2.run({{a, Tensor({1.0f, 2.0f})}}, {b}); });
  EXPECT_EQ(m, "Tensor 'norm_layer/l2_normalize:0' is not an element of this graph.");
  m = error_of<InvalidArgument>([&] { s2.run({}, {}, {a.op()}); });
  EXPECT_TRUE(contains(m, "is not an element of this graph")) << m;
}

TEST(Session, TwoSessionsOnOneGraphHoldSeparateVariables) {
  Graph g;
  Scope root(g);
  Output v = ops::variable(root.named("v"), {2}, DType::f32, Initializer::constant(1.0));
  Output inc = ops::assign_add(root, v, ops::constant(root, Tensor({1.0f, 10.0f})));
  Operation init = ops::global_variables_initializer(root);
  Session a(g), b(g);
  a.run({}, {}, {init});
  b.run({}, {}, {init});
  a.run({}, {}, {inc.op()});
  a.run({}, {}, {inc.op()});
  EXPECT_EQ(a.run({}, {v})[0].to_vector<float>(), (std::vector<float>{3, 21}));
  EXPECT_EQ(b.run({}, {v})[0].to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(a.variable_value("v").to_vector<float>(), (std::vector<float>{3, 21}));
  b.set_variable_value("v", Tensor({5.0f, 6.0f}));
  EXPECT_EQ(b.run({}, {v})[0].to_vector<float>(), (std::vector<float>{5, 6}));
  EXPECT_THROW(b.set_variable_value("v", Tensor({5.0f})), InvalidArgument);
  EXPECT_THROW(b.variable_value("nope"), NotFound);
}

TEST(Session, FetchedValuesNeverChangeAfterwards) {
  Graph g;
  Scope root(g);
  Output v = ops::variable(root.named("v"), {3}, DType::f32, Initializer::zeros());
  Output inc = ops::assign_add(root, v, ops::constant(root, Tensor({1.0f, 1.0f, 1.0f})));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  Tensor before = sess.run({}, {v})[0];
  sess.run({}, {}, {inc.op()});
  EXPECT_EQ(before.to_vector<float>(), (std::vector<float>{0, 0, 0}));  // snapshot kept
  EXPECT_EQ(sess.run({}, {v})[0].to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

// A Const's value is taken when the plan is made and handed out on every run without its
// kernel; kernels that reuse an input's buffer in place must still never write into it.
TEST(Session, ConstantsAreHandedOutUnchanged) {
  Graph g;
  Scope root(g);
  const Tensor value({-1.0f, 2.0f, -3.0f});
  Output c = ops::constant(root.named("c"), value);
  Output y = ops::neg(root, ops::relu(root, ops::neg(root, c)));  // each may reuse its input
  Session sess(g, SessionOptions{1});
  for (int run = 0; run < 3; ++run) {
    auto r = sess.run({}, {c, y});
    EXPECT_EQ(r[0].to_vector<float>(), (std::vector<float>{-1, 2, -3}));
    EXPECT_EQ(r[1].to_vector<float>(), (std::vector<float>{-1, 0, -3}));
  }
  EXPECT_EQ(value.to_vector<float>(), (std::vector<float>{-1, 2, -3}));
  // Feeding the Const's output replaces it, as for any other tensor.
  EXPECT_EQ(sess.run({{c, Tensor({4.0f, -5.0f, 6.0f})}}, {y})[0].to_vector<float>(), (std::vector<float>{0, -5, 0}));
}

TEST(Session, AssignChecksShapes) {
  Graph g;
  Scope root(g);
  Output v = ops::variable(root.named("v"), {2}, DType::f32);
  Output p = ops::placeholder(root, DType::f32, Shape::unknown_rank());
  Output a = ops::assign(root.named("set_v"), v, p);
  Session sess(g);
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{p, Tensor({1.0f, 2.0f, 3.0f})}}, {}, {a.op()}); });
  EXPECT_TRUE(contains(m, "'set_v' (Assign)") && contains(m, "[2]") && contains(m, "[3]")) << m;
  EXPECT_THROW(ops::assign(root, v, ops::constant(root, Tensor({1.0f, 2.0f, 3.0f}))), InvalidArgument);
  EXPECT_THROW(ops::assign(root, ops::identity(root, v), ops::constant(root, Tensor({1.0f, 2.0f}))), InvalidArgument);
}

// Builds the same small model in a fresh graph with the given weights.
struct TinyModel {
  Graph g;
  Output x, y;
  std::unique_ptr<Session> sess;
  explicit TinyModel(float scale) {
    Scope root(g);
    x = ops::placeholder(root.named("input"), DType::f32, {-1, 4});
    Output w = ops::variable(root.named("w"), {4, 3}, DType::f32, Initializer::constant(scale));
    y = ops::softmax(root.named("output"), ops::matmul(root, x, w));
    sess = std::make_unique<Session>(g);
    sess->run({}, {}, {ops::global_variables_initializer(root)});
    // Give the columns different weights so the outputs differ per model.
    Tensor wv(DType::f32, {4, 3});
    for (int i = 0; i < 12; ++i) wv.data<float>()[i] = scale * static_cast<float>(i % 5 - 2);
    sess->set_variable_value("w", wv);
  }
};

TEST(Session, TwoGraphsWithIdenticalNamesInterleavedAndThreaded) {
  TinyModel m1(0.5f), m2(-1.5f);
  ASSERT_EQ(m1.x.name(), m2.x.name());
  Tensor batch = Tensor{{1.0f, 2.0f, 3.0f, 4.0f}, {0.5f, -1.0f, 0.0f, 2.0f}};
  const Tensor alone1 = m1.sess->run({{"input:0", batch}}, {"output:0"})[0];
  const Tensor alone2 = m2.sess->run({{"input:0", batch}}, {"output:0"})[0];
  EXPECT_FALSE(alone1.equals(alone2));
  for (int i = 0; i < 5; ++i) {  // interleaved
    EXPECT_TRUE(m1.sess->run({{"input:0", batch}}, {"output:0"})[0].equals(alone1));
    EXPECT_TRUE(m2.sess->run({{"input:0", batch}}, {"output:0"})[0].equals(alone2));
  }
  std::atomic<int> mismatches{0};
  std::thread t1([&] {
    for (int i = 0; i < 300; ++i)
      if (!m1.sess->run({{m1.x, batch}}, {m1.y})[0].equals(alone1)) ++mismatches;
  });
  std::thread t2([&] {
    for (int i = 0; i < 300; ++i)
      if (!m2.sess->run({{m2.x, batch}}, {m2.y})[0].equals(alone2)) ++mismatches;
  });
  t1.join();
  t2.join();
  EXPECT_EQ(mismatches.load(), 0);
  // Feeding model 1's handle into model 2's session names the tensor.
  EXPECT_THROW(m2.sess->run({{m1.x, batch}}, {m2.y}), InvalidArgument);
}

TEST(Session, OneSessionFromManyThreads) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1});
  Output y = ops::sum(root, ops::square(root, x));
  Session sess(g);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const float v = static_cast<float>(t * 1000 + i);
        const float r = sess.run({{x, Tensor({v, 1.0f})}}, {y})[0].scalar<float>();
        if (r != v * v + 1.0f) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Session, TargetsAndControlDependencies) {
  Graph g;
  Scope root(g);
  Output counter = ops::variable(root.named("counter"), {}, DType::i64, Initializer::zeros());
  Output inc = ops::assign_add(root, counter, ops::constant(root, Tensor(int64_t{1})));
  Operation after = ops::no_op(root.with_control_dependencies({inc.op()}).named("step"));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  for (int i = 0; i < 3; ++i) sess.run({}, {}, {"step"});
  sess.run({}, {}, {after});
  EXPECT_EQ(sess.run({}, {counter})[0].scalar<int64_t>(), 4);
}

TEST(Session, InitializersAreSeededAndReproducible) {
  auto init_values = [](int64_t seed) {
    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output w = ops::variable(root.named("w"), {3, 4}, DType::f32, Initializer::glorot_uniform());
    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    return sess.run({}, {w})[0];
  };
  const Tensor a = init_values(1), b = init_values(1), c = init_values(2);
  EXPECT_TRUE(a.equals(b));
  EXPECT_FALSE(a.equals(c));
  const double limit = std::sqrt(6.0 / 7.0);
  for (float v : a.to_vector<float>()) EXPECT_LE(std::fabs(v), limit);
}

}  // namespace
}  // namespace sluice
