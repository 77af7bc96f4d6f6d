#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "test_util.h"

#include <memory>
#include <thread>

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

TEST(Graph, NamesAreUniqueAndScoped) {
  Graph g;
  Scope root(g);
  Output a = ops::constant(root, Tensor(1.0f));
  Output b = ops::constant(root, Tensor(2.0f));
  EXPECT_EQ(a.op().name(), "Const");
  EXPECT_EQ(b.op().name(), "Const_1");
  Scope block = root.sub("block1");
  Output c = ops::add(block, a, b);
  EXPECT_EQ(c.op().name(), "block1/Add");
  EXPECT_EQ(ops::add(block.named("total"), a, b).op().name(), "block1/total");
  EXPECT_EQ(ops::add(block.named("total"), a, b).op().name(), "block1/total_1");
  EXPECT_EQ(c.name(), "block1/Add:0");
  EXPECT_EQ(root.sub("x").sub("y").prefix(), "x/y/");
  EXPECT_THROW(root.named("bad:name"), InvalidArgument);
  EXPECT_THROW(root.sub(""), InvalidArgument);
}

TEST(Graph, LookupByName) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 3});
  auto parts = ops::split(root.named("parts"), x, 3, 1);
  EXPECT_EQ(g.operation("x"), x.op());
  EXPECT_EQ(g.tensor("x:0"), x);
  EXPECT_EQ(g.tensor("x"), x);
  EXPECT_EQ(g.tensor("parts:2"), parts[2]);
  EXPECT_TRUE(contains(error_of<NotFound>([&] { g.operation("nope"); }), "'nope'"));
  EXPECT_TRUE(contains(error_of<NotFound>([&] { g.tensor("parts:3"); }), "parts:3"));
  EXPECT_THROW(g.tensor("x:abc"), InvalidArgument);
  EXPECT_EQ(g.num_operations(), 2);
  EXPECT_EQ(g.operations().size(), 2u);
}

TEST(Graph, StaticShapesAndDtypesAreInferred) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {-1, 784});
  Output w = ops::constant(root, Tensor::zeros(DType::f32, {784, 10}));
  Output y = ops::matmul(root, x, w);
  EXPECT_EQ(y.shape(), (Shape{-1, 10}));
  EXPECT_EQ(y.dtype(), DType::f32);
  EXPECT_EQ(ops::sum(root, y, {1}).shape(), (Shape{-1}));
  EXPECT_EQ(ops::sum(root, y, {0}, true).shape(), (Shape{1, 10}));
  EXPECT_EQ(ops::reshape(root, x, {-1, 28, 28}).shape(), (Shape{-1, 28, 28}));
  EXPECT_EQ(ops::equal(root, y, y).dtype(), DType::boolean);
  EXPECT_EQ(ops::argmax(root, y, 1).dtype(), DType::i64);
}

TEST(Graph, ShapeErrorsAtBuildTimeNameTheNodeAndShapes) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {-1, 784});
  Output w = ops::constant(root, Tensor::zeros(DType::f32, {100, 10}));
  const std::string m = error_of<InvalidArgument>([&] { ops::matmul(root.named("logits"), x, w); });
  EXPECT_TRUE(contains(m, "'logits' (MatMul)")) << m;
  EXPECT_TRUE(contains(m, "[?,784]")) << m;
  EXPECT_TRUE(contains(m, "[100,10]")) << m;
  const std::string m2 = error_of<InvalidArgument>(
      [&] { ops::add(root, ops::constant(root, Tensor::zeros(DType::f32, {2, 3})), ops::constant(root, Tensor::zeros(DType::f32, {4}))); });
  EXPECT_TRUE(contains(m2, "[2,3] and [4]")) << m2;
  const std::string m3 = error_of<InvalidArgument>(
      [&] { ops::add(root, x, ops::constant(root, Tensor(1.0))); });
  EXPECT_TRUE(contains(m3, "float32") && contains(m3, "float64")) << m3;
  EXPECT_THROW(ops::reshape(root, ops::constant(root, Tensor::zeros(DType::f32, {2, 3})), {5}), InvalidArgument);
  EXPECT_THROW(ops::transpose(root, x, {0, 0}), InvalidArgument);
  EXPECT_THROW(ops::concat(root, {x, ops::constant(root, Tensor::zeros(DType::f32, {2, 5}))}, 0), InvalidArgument);
  EXPECT_THROW(ops::sum(root, x, {2}), InvalidArgument);
  EXPECT_THROW(ops::slice(root, x, {0, 780}, {1, 10}), InvalidArgument);
}

TEST(Graph, AttrsAreTypedAndChecked) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {2, 3});
  Operation t = ops::transpose(root, x, {1, 0}).op();
  EXPECT_EQ(t.node()->attr<std::vector<int64_t>>("perm"), (std::vector<int64_t>{1, 0}));
  EXPECT_THROW(t.node()->attr<double>("perm"), InvalidArgument);
  EXPECT_THROW(t.node()->attr<double>("missing"), InvalidArgument);
  EXPECT_THROW(NodeBuilder(root, "Transpose").input(x).attr("perm", 1.5).finish(), InvalidArgument);
  EXPECT_THROW(NodeBuilder(root, "Transpose").input(x).attr("bogus", 1).finish(), InvalidArgument);
  EXPECT_THROW(NodeBuilder(root, "Reshape").input(x).finish(), InvalidArgument);  // required attr
  EXPECT_THROW(NodeBuilder(root, "Add").input(x).finish(), InvalidArgument);      // input count
  EXPECT_THROW(NodeBuilder(root, "NoSuchOp").finish(), NotFound);
}

TEST(Graph, InputsFromAnotherGraphAreRejected) {
  Graph g1, g2;
  Output a = ops::constant(Scope(g1).named("a"), Tensor(1.0f));
  const std::string m = error_of<InvalidArgument>([&] { ops::neg(Scope(g2), a); });
  EXPECT_TRUE(contains(m, "Tensor 'a:0' is not an element of this graph")) << m;
}

TEST(Graph, ControlDependenciesAndDevices) {
  Graph g;
  Scope root(g);
  Operation first = ops::no_op(root.named("first"));
  Scope dep = root.with_control_dependencies({first}).with_device("/cpu:0");
  Output c = ops::constant(dep, Tensor(1.0f));
  ASSERT_EQ(c.op().control_inputs().size(), 1u);
  EXPECT_EQ(c.op().control_inputs()[0], first);
  EXPECT_EQ(c.op().device(), "/cpu:0");
}

TEST(Graph, CollectionsFilterByScope) {
  Graph g;
  Scope root(g);
  for (const char* m : {"model_001", "model_002", "model_0020"}) {
    Scope s = root.sub(m);
    ops::variable(s.named("w"), {2}, DType::f32);
    ops::variable(s.named("steps"), {}, DType::i64, Initializer::zeros(), false);
  }
  EXPECT_EQ(g.global_variables().size(), 6u);
  EXPECT_EQ(g.trainable_variables().size(), 3u);
  auto m2 = g.global_variables("model_002");
  ASSERT_EQ(m2.size(), 2u);
  EXPECT_EQ(m2[0].name(), "model_002/w");
  EXPECT_EQ(g.trainable_variables("model_002/").size(), 1u);
  EXPECT_TRUE(g.update_ops().empty());
  g.add_to_collection("mine", m2[0]);
  EXPECT_EQ(g.collection("mine").size(), 1u);
  EXPECT_TRUE(g.variable_initializer(m2[0]).valid());
  EXPECT_EQ(g.variable_initializer(m2[0]).name(), "model_002/w/Assign");
}

TEST(Graph, LearningPhaseIsOnePerGraph) {
  Graph g, h;
  Output a = learning_phase(g);
  EXPECT_EQ(learning_phase(g), a);
  EXPECT_NE(learning_phase(h), a);
  EXPECT_EQ(a.dtype(), DType::boolean);
  EXPECT_EQ(a.shape(), Shape{});
  Session sess(g);
  EXPECT_FALSE(sess.run({}, {a})[0].scalar<bool>());
  EXPECT_TRUE(sess.run({{a, Tensor(true)}}, {a})[0].scalar<bool>());
}

TEST(Graph, BuildingGraphsInManyThreadsIsSafe) {
  std::vector<std::thread> threads;
  std::vector<int> counts(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &counts] {
      Graph g;
      Scope root(g);
      Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 4});
      layers::Dense d(3, Activation::relu);
      Output y = x;
      for (int i = 0; i < 20; ++i) y = ops::add(root, y, y);
      y = d(root, y);
      counts[t] = g.num_operations();
    });
  }
  for (auto& th : threads) th.join();
  for (int c : counts) EXPECT_EQ(c, counts[0]);
}

TEST(Graph, ASessionKeepsItsGraphAlive) {
  std::unique_ptr<Session> sess;
  Output y;
  {
    Graph g;
    y = ops::constant(Scope(g).named("c"), Tensor(2.0f));
    sess = std::make_unique<Session>(g);
  }  // the last Graph handle is gone; the session still holds the graph
  EXPECT_EQ(sess->run({}, {y})[0].scalar<float>(), 2.0f);
  EXPECT_EQ(sess->run({}, {"c:0"})[0].scalar<float>(), 2.0f);
}

// Issue 10: names come from a per-base counter (building 100,000 default-named ops is fast;
// see bench/bench_graph.cc) with exactly the old results: the first free of base, base_1,
// base_2, ..., skipping names a user or an import took.
TEST(Graph, DefaultNamesSkipTakenNamesExactlyAsBefore) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {1});
  EXPECT_EQ(ops::neg(root.named("Neg_2"), x).op().name(), "Neg_2");  // chosen by the user
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) names.push_back(ops::neg(root, x).op().name());
  EXPECT_EQ(names, (std::vector<std::string>{"Neg", "Neg_1", "Neg_3", "Neg_4", "Neg_5"}));
  EXPECT_EQ(ops::neg(root.named("Neg_7"), x).op().name(), "Neg_7");
  EXPECT_EQ(ops::neg(root.named("Neg"), x).op().name(), "Neg_6");  // a taken user name
  EXPECT_EQ(ops::neg(root, x).op().name(), "Neg_8");
  // A base that looks like a suffixed name has its own counter.
  EXPECT_EQ(ops::neg(root.named("Neg_1"), x).op().name(), "Neg_1_1");
  EXPECT_EQ(ops::neg(root.named("Neg_1"), x).op().name(), "Neg_1_2");
  // Layers: dense, dense_1, ...; a name taken by an op is skipped.
  ops::neg(root.named("dense_2"), x);
  std::vector<std::string> layer_names;
  std::vector<std::unique_ptr<layers::Dense>> ls;
  for (int i = 0; i < 4; ++i) {
    ls.push_back(std::make_unique<layers::Dense>(2));
    (*ls.back())(root, ops::reshape(root, x, {1, 1}));
    layer_names.push_back(ls.back()->name());
  }
  EXPECT_EQ(layer_names, (std::vector<std::string>{"dense", "dense_1", "dense_3", "dense_4"}));
  // Many ops under one base stay exact.
  std::string last;
  for (int i = 0; i < 3000; ++i) last = ops::identity(root.sub("many"), x).op().name();
  EXPECT_EQ(last, "many/Identity_2999");
}

}  // namespace
}  // namespace sluice
