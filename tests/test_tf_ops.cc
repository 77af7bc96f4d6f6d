// The TensorFlow op table: each mapped op's tricky attrs against hand-computed values
// (SAME padding with even kernels and stride 2, NCHW, integer division signs, FusedBatchNorm
// epsilon, empty reduction axes, Select v1, tf.cond), the docs generated from the table,
// and bad GraphDefs (cycles, dangling inputs, huge shapes, wrong attr kinds) as typed errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sluice/sluice.h"
#include "test_util.h"
#include "tf_graph_builder.h"

using namespace sluice;
using namespace sluice::testing::tfpb;
using sluice::testing::contains;
using sluice::testing::error_of;

namespace {

// Imports `gb` and fetches `fetch` ("name:index") with `feeds`.
Tensor run(const GraphBuilder& gb, const std::string& fetch, const FeedList& feeds = {}) {
  Graph g;
  io::import_tf_graph_def_bytes(g, gb.bytes());
  Session s(g);
  return s.run(feeds, {fetch})[0];
}

std::vector<float> floats(const Tensor& t) { return t.cast(DType::f32).to_vector<float>(); }

std::map<std::string, std::string> conv_attrs(const std::vector<int64_t>& strides, const std::string& padding,
                                              const std::string& format = "NHWC") {
  return {{"T", attr::type(DT_FLOAT)}, {"strides", attr::ints(strides)}, {"padding", attr::str(padding)},
          {"data_format", attr::str(format)}};
}

}  // namespace

TEST(TfOps, Conv2DSameEvenKernelStride2) {
  // x = 1..9 as 3x3, 2x2 filter of ones. SAME, stride 2: out 2x2, total padding 1 split
  // 0 before / 1 after (TF puts the extra row and column at the bottom/right).
  GraphBuilder gb;
  gb.f32("x", {1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}).f32("w", {2, 2, 1, 1}, {1, 1, 1, 1});
  gb.node("y", "Conv2D", {"x", "w"}, conv_attrs({1, 2, 2, 1}, "SAME"));
  gb.node("y1", "Conv2D", {"x", "w"}, conv_attrs({1, 1, 1, 1}, "SAME"));
  gb.node("yv", "Conv2D", {"x", "w"}, conv_attrs({1, 2, 2, 1}, "VALID"));
  EXPECT_EQ(floats(run(gb, "y:0")), (std::vector<float>{12, 9, 15, 9}));
  EXPECT_EQ(floats(run(gb, "y1:0")), (std::vector<float>{12, 16, 9, 24, 28, 15, 15, 17, 9}));
  EXPECT_EQ(floats(run(gb, "yv:0")), (std::vector<float>{12}));
}

TEST(TfOps, Conv2DAndPoolNCHW) {
  // NCHW [1,2,2,2]: channel 0 = 1..4, channel 1 = 10..40; a 1x1 filter [1, 0.5] mixes them.
  GraphBuilder gb;
  gb.f32("x", {1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40}).f32("w", {1, 1, 2, 1}, {1, 0.5f});
  gb.node("y", "Conv2D", {"x", "w"}, conv_attrs({1, 1, 1, 1}, "VALID", "NCHW"));
  gb.node("mp", "MaxPool", {"x"}, {{"ksize", attr::ints({1, 1, 2, 2})}, {"strides", attr::ints({1, 1, 2, 2})},
                                   {"padding", attr::str("VALID")}, {"data_format", attr::str("NCHW")}});
  gb.f32("b", {2}, {100, 200});
  gb.node("ba", "BiasAdd", {"x", "b"}, {{"data_format", attr::str("NCHW")}});
  const Tensor y = run(gb, "y:0");
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(floats(y), (std::vector<float>{6, 12, 18, 24}));
  const Tensor mp = run(gb, "mp:0");
  EXPECT_EQ(mp.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(floats(mp), (std::vector<float>{4, 40}));
  EXPECT_EQ(floats(run(gb, "ba:0")), (std::vector<float>{101, 102, 103, 104, 210, 220, 230, 240}));
}

TEST(TfOps, AvgPoolSameCountsRealElements) {
  GraphBuilder gb;
  gb.f32("x", {1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  gb.node("y", "AvgPool", {"x"}, {{"ksize", attr::ints({1, 2, 2, 1})}, {"strides", attr::ints({1, 2, 2, 1})},
                                  {"padding", attr::str("SAME")}});
  EXPECT_EQ(floats(run(gb, "y:0")), (std::vector<float>{3, 4.5f, 7.5f, 9}));
}

TEST(TfOps, IntegerDivisionTruncates) {
  // TF's Div / TruncateDiv kernels on integers truncate toward zero (C semantics).
  GraphBuilder gb;
  gb.i32("a", {4}, {-7, 7, -7, 7}).i32("b", {4}, {2, -2, -2, 2});
  gb.node("d", "Div", {"a", "b"}).node("t", "TruncateDiv", {"a", "b"});
  EXPECT_EQ(run(gb, "d:0").to_vector<int32_t>(), (std::vector<int32_t>{-3, -3, 3, 3}));
  EXPECT_EQ(run(gb, "t:0").to_vector<int32_t>(), (std::vector<int32_t>{-3, -3, 3, 3}));
  GraphBuilder z;
  z.i32("a", {1}, {1}).i32("b", {1}, {0}).node("d", "Div", {"a", "b"});
  error_of<InvalidArgument>([&] { run(z, "d:0"); });
}

TEST(TfOps, BroadcastingArithmetic) {
  GraphBuilder gb;
  gb.f32("a", {2, 1}, {1, 2}).f32("b", {3}, {10, 20, 30});
  gb.node("s", "Sub", {"a", "b"}).node("m", "Maximum", {"a", "b"}).node("r", "RealDiv", {"b", "a"});
  EXPECT_EQ(run(gb, "s:0").shape(), (Shape{2, 3}));
  EXPECT_EQ(floats(run(gb, "s:0")), (std::vector<float>{-9, -19, -29, -8, -18, -28}));
  EXPECT_EQ(floats(run(gb, "r:0")), (std::vector<float>{10, 20, 30, 5, 10, 15}));
}

TEST(TfOps, FusedBatchNormEpsilonAndTraining) {
  // Inference: y = scale (x - mean) / sqrt(var + eps) + offset with the attr's epsilon.
  GraphBuilder gb;
  gb.f32("x", {1, 1, 2, 2}, {1, 2, 3, 5}).f32("scale", {2}, {2, 1}).f32("offset", {2}, {0.5f, 0});
  gb.f32("mean", {2}, {0, 1}).f32("var", {2}, {3, 0.5f}).f32("empty", {0}, {});
  gb.node("bn", "FusedBatchNormV3", {"x", "scale", "offset", "mean", "var"},
          {{"epsilon", attr::f(1.0f)}, {"is_training", attr::b(false)}});
  const std::vector<float> y = floats(run(gb, "bn:0"));
  EXPECT_NEAR(y[0], 2 * 1 / 2.0 + 0.5, 1e-6);
  EXPECT_NEAR(y[1], 1 / std::sqrt(1.5), 1e-6);
  EXPECT_NEAR(y[2], 2 * 3 / 2.0 + 0.5, 1e-6);
  EXPECT_NEAR(y[3], 4 / std::sqrt(1.5), 1e-6);
  // Training (TF's default): batch statistics; batch_variance Bessel-corrected.
  gb.node("bt", "FusedBatchNorm", {"x", "scale", "offset", "empty", "empty"}, {{"epsilon", attr::f(0.0f)}});
  const std::vector<float> yt = floats(run(gb, "bt:0"));
  EXPECT_NEAR(yt[0], -2 + 0.5, 1e-5);  // channel 0: {1, 3}, mean 2, biased var 1
  EXPECT_NEAR(yt[3], 1, 1e-5);          // channel 1: {2, 5}, mean 3.5, biased var 2.25
  EXPECT_NEAR(floats(run(gb, "bt:1"))[1], 3.5, 1e-6);
  EXPECT_NEAR(floats(run(gb, "bt:2"))[1], 4.5, 1e-5);  // 2.25 * 2 / 1
}

TEST(TfOps, Reductions) {
  GraphBuilder gb;
  gb.f32("x", {2, 3}, {1, 2, 3, 4, 5, 6}).i32("neg", {}, {-1}).i32("none", {0}, {});
  gb.node("s", "Sum", {"x", "neg"}, {{"keep_dims", attr::b(true)}});
  gb.node("m", "Mean", {"x", "none"});
  gb.node("mx", "Max", {"x", "neg"});
  gb.node("am", "ArgMax", {"x", "neg"}, {{"output_type", attr::type(DT_INT32)}});
  gb.node("l2", "L2Loss", {"x"});
  const Tensor s = run(gb, "s:0");
  EXPECT_EQ(s.shape(), (Shape{2, 1}));
  EXPECT_EQ(floats(s), (std::vector<float>{6, 15}));
  EXPECT_EQ(floats(run(gb, "m:0")), (std::vector<float>{1, 2, 3, 4, 5, 6}));  // empty axes: nothing reduced
  EXPECT_EQ(floats(run(gb, "mx:0")), (std::vector<float>{3, 6}));
  EXPECT_EQ(run(gb, "am:0").to_vector<int32_t>(), (std::vector<int32_t>{2, 2}));
  EXPECT_FLOAT_EQ(run(gb, "l2:0").scalar<float>(), 91.0f / 2);
}

TEST(TfOps, ArrayOpsWithConstantShapeInputs) {
  GraphBuilder gb;
  gb.placeholder("x", DT_FLOAT, {-1, 3}).i32("shape", {2}, {3, -1}).i32("perm", {2}, {1, 0});
  gb.i32("axis", {}, {-1}).i32("one", {}, {1}).i32("begin", {2}, {0, 1}).i32("size", {2}, {-1, 2});
  gb.node("r", "Reshape", {"x", "shape"}).node("t", "Transpose", {"x", "perm"});
  gb.node("c", "ConcatV2", {"x", "x", "axis"}, {{"N", attr::i(2)}});
  gb.node("sl", "Slice", {"x", "begin", "size"});
  gb.node("sp", "Split", {"one", "x"}, {{"num_split", attr::i(3)}});
  gb.node("e", "ExpandDims", {"x", "axis"});
  gb.node("sh", "Shape", {"x"});
  gb.node("g", "GatherV2", {"x", "begin", "one"});
  gb.node("cast", "Cast", {"x"}, {{"DstT", attr::type(DT_INT32)}});
  const Tensor x = Tensor::from_vector<float>({1, 2, 3, -4.7f, 5, 6}, {2, 3});
  EXPECT_EQ(run(gb, "r:0", {{"x:0", x}}).shape(), (Shape{3, 2}));
  EXPECT_EQ(floats(run(gb, "t:0", {{"x:0", x}})), (std::vector<float>{1, -4.7f, 2, 5, 3, 6}));
  EXPECT_EQ(run(gb, "c:0", {{"x:0", x}}).shape(), (Shape{2, 6}));
  EXPECT_EQ(floats(run(gb, "sl:0", {{"x:0", x}})), (std::vector<float>{2, 3, 5, 6}));
  EXPECT_EQ(floats(run(gb, "sp:2", {{"x:0", x}})), (std::vector<float>{3, 6}));
  EXPECT_EQ(run(gb, "e:0", {{"x:0", x}}).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(run(gb, "sh:0", {{"x:0", x}}).to_vector<int32_t>(), (std::vector<int32_t>{2, 3}));  // int32 default
  EXPECT_EQ(floats(run(gb, "g:0", {{"x:0", x}})), (std::vector<float>{1, 2, -4.7f, 5}));
  EXPECT_EQ(run(gb, "cast:0", {{"x:0", x}}).to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, -4, 5, 6}));
}

TEST(TfOps, ShapeOfStaticShapeIsFoldedToAConstant) {
  GraphBuilder gb;
  gb.placeholder("x", DT_FLOAT, {2, 3}).node("sh", "Shape", {"x"}, {{"out_type", attr::type(DT_INT64)}});
  gb.node("r", "Reshape", {"x", "sh"});
  Graph g;
  io::import_tf_graph_def_bytes(g, gb.bytes());
  EXPECT_EQ(g.operation("sh").type(), "Const");
  EXPECT_EQ(g.operation("r").type(), "Reshape");
}

TEST(TfOps, SelectV1VectorCondition) {
  GraphBuilder gb;
  gb.constant<bool>("c", DT_BOOL, {2}, {true, false}).f32("a", {2, 2}, {1, 2, 3, 4}).f32("b", {2, 2}, {5, 6, 7, 8});
  gb.node("s", "Select", {"c", "a", "b"});
  EXPECT_EQ(floats(run(gb, "s:0")), (std::vector<float>{1, 2, 7, 8}));
}

TEST(TfOps, CondWithConstantPredicateIsFolded) {
  // tf.cond(pred, lambda: x * 2, lambda: x + 100) as TF writes it, pred a Const.
  for (bool pred : {true, false}) {
    GraphBuilder gb;
    gb.placeholder("x", DT_FLOAT, {2}).constant<bool>("pred", DT_BOOL, {}, {pred});
    gb.node("cond/Switch", "Switch", {"x", "pred"});
    gb.f32("two", {}, {2}).f32("hundred", {}, {100});
    gb.node("cond/mul", "Mul", {"cond/Switch:1", "two"});
    gb.node("cond/add", "Add", {"cond/Switch:0", "hundred"});
    gb.node("cond/Merge", "Merge", {"cond/add", "cond/mul"}, {{"N", attr::i(2)}});
    const Tensor x = Tensor::from_vector<float>({1, 2}, {2});
    EXPECT_EQ(floats(run(gb, "cond/Merge:0", {{"x:0", x}})), pred ? (std::vector<float>{2, 4}) : (std::vector<float>{101, 102}));
    Graph g;
    io::import_tf_graph_def_bytes(g, gb.bytes());
    EXPECT_FALSE(g.find_operation(pred ? "cond/add" : "cond/mul")) << "the untaken branch is not imported";
    // value_index (output 1) through a return element (the node named cond/Merge has one output).
    Graph g2;
    const Output idx = io::import_tf_graph_def_bytes(g2, gb.bytes(), {"", {}, {"cond/Merge:1"}}).tensors[0];
    EXPECT_EQ(Session(g2).run({{"x:0", x}}, {idx})[0].scalar<int32_t>(), pred ? 1 : 0);
  }
}

TEST(TfOps, CondOnPlaceholderWithDefaultSelectsAtRunTime) {
  // keras_learning_phase-style predicate: defaulted (false) or fed per run.
  GraphBuilder gb;
  gb.placeholder("x", DT_FLOAT, {2}).constant<bool>("default", DT_BOOL, {}, {false});
  gb.node("phase", "PlaceholderWithDefault", {"default"}, {{"dtype", attr::type(DT_BOOL)}, {"shape", attr::shape({})}});
  gb.node("cond/pred_id", "Identity", {"phase"});
  gb.node("cond/Switch", "Switch", {"x", "cond/pred_id"});
  gb.f32("two", {}, {2}).f32("hundred", {}, {100});
  gb.node("cond/mul", "Mul", {"cond/Switch:1", "two"});
  gb.node("cond/add", "Add", {"cond/Switch:0", "hundred"});
  gb.node("cond/Merge", "Merge", {"cond/add", "cond/mul"}, {{"N", attr::i(2)}});
  Graph g;
  const Output idx = io::import_tf_graph_def_bytes(g, gb.bytes(), {"", {}, {"cond/Merge:0", "cond/Merge:1"}}).tensors[1];
  Session s(g);
  const Tensor x = Tensor::from_vector<float>({1, 2}, {2});
  EXPECT_EQ(s.run({{"x:0", x}}, {"cond/Merge:0"})[0].to_vector<float>(), (std::vector<float>{101, 102}));
  EXPECT_EQ(s.run({{"x:0", x}, {"phase:0", Tensor(true)}}, {"cond/Merge:0"})[0].to_vector<float>(),
            (std::vector<float>{2, 4}));
  EXPECT_EQ(s.run({{"x:0", x}, {"phase:0", Tensor(true)}}, {idx})[0].scalar<int32_t>(), 1);
  EXPECT_EQ(s.run({{"x:0", x}}, {idx})[0].scalar<int32_t>(), 0);
}

TEST(TfOps, ResourceVariables) {
  GraphBuilder gb;
  gb.node("v", "VarHandleOp", {}, {{"dtype", attr::type(DT_FLOAT)}, {"shape", attr::shape({2})},
                                   {"shared_name", attr::str("v")}});
  gb.f32("init", {2}, {3, 4});
  gb.node("v/Assign", "AssignVariableOp", {"v", "init"}, {{"dtype", attr::type(DT_FLOAT)}});
  gb.node("read", "ReadVariableOp", {"v"}, {{"dtype", attr::type(DT_FLOAT)}});
  gb.f32("k", {}, {2}).node("y", "Mul", {"read", "k"});
  Graph g;
  io::import_tf_graph_def_bytes(g, gb.bytes());
  ASSERT_EQ(g.global_variables().size(), 1u);
  Session s(g);
  s.run({}, {}, {ops::global_variables_initializer(Scope(g))});
  EXPECT_EQ(s.run({}, {"y:0"})[0].to_vector<float>(), (std::vector<float>{6, 8}));
}

TEST(TfOps, OneHotFillRandom) {
  GraphBuilder gb;
  gb.i32("idx", {3}, {0, 2, 5}).i32("depth", {}, {3}).f32("on", {}, {5}).f32("off", {}, {-1});
  gb.node("oh", "OneHot", {"idx", "depth", "on", "off"});
  gb.i32("dims", {2}, {2, 2}).f32("v", {}, {7}).node("fill", "Fill", {"dims", "v"});
  gb.node("ru", "RandomUniform", {"dims"}, {{"dtype", attr::type(DT_FLOAT)}, {"seed", attr::i(3)}});
  EXPECT_EQ(floats(run(gb, "oh:0")), (std::vector<float>{5, -1, -1, -1, -1, 5, -1, -1, -1}));
  EXPECT_EQ(floats(run(gb, "fill:0")), (std::vector<float>{7, 7, 7, 7}));
  for (float u : floats(run(gb, "ru:0"))) EXPECT_TRUE(u >= 0 && u < 1);
}

// ---- import behaviour ----

TEST(TfImport, UnsupportedOpsListedOncePrunedToTheOutputs) {
  GraphBuilder gb;
  gb.placeholder("wav", DT_STRING, {}).node("decoded", "DecodeWav", {"wav"}).node("spec", "AudioSpectrogram", {"decoded"});
  gb.node("Mfcc", "Mfcc", {"spec", "decoded:1"});
  gb.f32("w", {}, {3}).node("y", "Mul", {"Mfcc", "w"}).node("z", "Erfinv", {"y"}).node("z2", "Erfinv", {"z"});
  Graph g;
  const std::string msg = error_of<Unimplemented>([&] { io::import_tf_graph_def_bytes(g, gb.bytes(), {}, "GraphDef 'x.pb'"); });
  EXPECT_EQ(msg, "GraphDef 'x.pb': TensorFlow op types Sluice does not support (each with its first node): "
                 "AudioSpectrogram (first node 'spec'), DecodeWav (first node 'decoded'), Erfinv (first node 'z'), "
                 "Mfcc (first node 'Mfcc') (import only the outputs you need with return_elements, or input-map a "
                 "tensor past them)");
  EXPECT_EQ(g.num_operations(), 0);
  // Mfcc:0 input-mapped and only y requested: nothing unsupported is needed.
  Scope root(g);
  Output m = ops::placeholder(root.named("features"), DType::f32, {-1});
  const Output y = io::import_tf_graph_def_bytes(g, gb.bytes(), {"kws", {{"Mfcc:0", m}}, {"y:0"}}).tensors[0];
  EXPECT_EQ(y.name(), "kws/y:0");
  EXPECT_FALSE(g.find_operation("kws/Mfcc"));
  Session s(g);
  EXPECT_EQ(s.run({{m, Tensor::from_vector<float>({1, 2}, {2})}}, {y})[0].to_vector<float>(), (std::vector<float>{3, 6}));
}

TEST(TfImport, NamesPrefixInputMapReturnElementsAllOrNothing) {
  GraphBuilder gb;
  gb.placeholder("X", DT_FLOAT, {-1}).f32("W", {}, {2}).f32("b", {}, {1});
  gb.node("mul", "Mul", {"X", "W"}).node("add", "Add", {"mul", "b"}).node("pred", "Identity", {"add"});
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1});
  auto r = io::import_tf_graph_def_bytes(g, gb.bytes(), {"m1", {{"X:0", x}}, {"pred:0", "add"}});
  ASSERT_EQ(r.tensors.size(), 1u);
  ASSERT_EQ(r.operations.size(), 1u);
  EXPECT_EQ(r.operations[0].name(), "m1/add");
  Session s(g);
  const Tensor v = Tensor::from_vector<float>({1, 2}, {2});
  EXPECT_EQ(s.run({{x, v}}, {"m1/pred:0"})[0].to_vector<float>(), (std::vector<float>{3, 5}));
  EXPECT_EQ(s.run({{x, v}}, {r.tensors[0]})[0].to_vector<float>(), (std::vector<float>{3, 5}));
  // Any tensor can be fed: mul:0.
  EXPECT_EQ(s.run({{"m1/mul:0", v}}, {"m1/pred:0"})[0].to_vector<float>(), (std::vector<float>{2, 3}));
  // Same prefix again: AlreadyExists, the graph unchanged.
  const int n = g.num_operations();
  error_of<AlreadyExists>([&] { io::import_tf_graph_def_bytes(g, gb.bytes(), {"m1", {}, {}}); });
  EXPECT_EQ(g.num_operations(), n);
  // A failing node late in the graph: nothing was added either.
  GraphBuilder bad = gb;
  bad.i32("i", {}, {1}).node("oops", "Add", {"pred", "i"});
  error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, bad.bytes(), {"m2", {}, {}}); });
  EXPECT_EQ(g.num_operations(), n);
  // Unknown input-map key and return element.
  error_of<NotFound>([&] { io::import_tf_graph_def_bytes(g, gb.bytes(), {"m3", {{"nope:0", x}}, {}}); });
  error_of<NotFound>([&] { io::import_tf_graph_def_bytes(g, gb.bytes(), {"m3", {}, {"nope:0"}}); });
  // A wrong dtype in the input map.
  Output xi = ops::placeholder(root.named("xi"), DType::i32, {-1});
  error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, gb.bytes(), {"m4", {{"X:0", xi}}, {}}); });
  EXPECT_EQ(g.num_operations(), n + 1);
}

TEST(TfImport, BadGraphsAreTypedErrors) {
  Graph g;
  auto code_of = [&](const GraphBuilder& gb) {
    try {
      io::import_tf_graph_def_bytes(g, gb.bytes());
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::internal;
  };
  GraphBuilder cycle;
  cycle.node("a", "Neg", {"b"}).node("b", "Neg", {"a"});
  EXPECT_EQ(code_of(cycle), ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, cycle.bytes()); }), "cycle"));
  GraphBuilder dangling;
  dangling.node("a", "Neg", {"missing:0"});
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, dangling.bytes()); }), "dangling"));
  GraphBuilder huge;
  huge.placeholder("x", DT_FLOAT, {int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_EQ(code_of(huge), ErrorCode::invalid_argument);
  GraphBuilder huge_const;
  huge_const.node("c", "Const", {}, {{"dtype", attr::type(DT_FLOAT)},
                                     {"value", attr::tensor(tensor<float>(DT_FLOAT, {1 << 20, 1 << 20}, {}))}});
  EXPECT_EQ(code_of(huge_const), ErrorCode::invalid_argument);
  GraphBuilder wrong_attr;
  wrong_attr.f32("x", {1, 1, 1, 1}, {1}).f32("w", {1, 1, 1, 1}, {1});
  wrong_attr.node("y", "Conv2D", {"x", "w"}, {{"strides", attr::i(1)}, {"padding", attr::str("SAME")}});
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, wrong_attr.bytes()); }),
                       "attr 'strides' holds a int, expected a list"));
  GraphBuilder dup;
  dup.f32("x", {}, {1}).f32("x", {}, {2});
  EXPECT_EQ(code_of(dup), ErrorCode::invalid_argument);
  GraphBuilder bad_dtype;
  bad_dtype.placeholder("h", DT_HALF, {1});
  EXPECT_EQ(code_of(bad_dtype), ErrorCode::unimplemented);
  error_of<DataLoss>([&] { io::import_tf_graph_def_bytes(g, "\xff\xff\xff\xff not a protobuf"); });
  EXPECT_EQ(g.num_operations(), 0);
}

TEST(TfOpTable, DocsMatchTable) {
  const std::string md = io::tf_op_table_markdown();
  const std::string path = std::string(SLUICE_SOURCE_DIR) + "/docs/tf_ops.md";
  if (std::getenv("SLUICE_UPDATE_DOCS")) std::ofstream(path) << md;
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), md) << "docs/tf_ops.md is out of date: run SLUICE_UPDATE_DOCS=1 build/tests/test_tf_ops";
  // Every op the issue names that maps onto existing Sluice ops is in the table.
  const auto ops = io::tf_supported_op_types();
  for (const char* op : {"Placeholder", "PlaceholderWithDefault", "Const", "Identity", "IdentityN", "NoOp", "StopGradient",
                         "MatMul", "BiasAdd", "Add", "AddV2", "AddN", "Sub", "Mul", "RealDiv", "Neg", "Maximum",
                         "Minimum", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Pow", "Relu", "Sigmoid", "Tanh",
                         "Softmax", "LogSoftmax", "Conv2D", "MaxPool", "AvgPool", "FusedBatchNorm", "FusedBatchNormV2",
                         "FusedBatchNormV3", "Mean", "Sum", "Max", "Min", "ArgMax", "ArgMin", "Reshape", "Squeeze",
                         "ExpandDims", "Shape", "Size", "Rank", "Slice", "ConcatV2", "Split", "Fill", "ZerosLike",
                         "OnesLike", "Transpose", "GatherV2", "Cast", "Select", "SelectV2", "Equal", "NotEqual", "Less",
                         "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot",
                         "RandomUniform", "RandomStandardNormal", "OneHot", "L2Loss", "Switch", "Merge", "VariableV2",
                         "VarHandleOp", "ReadVariableOp", "Assign", "AssignVariableOp"})
    EXPECT_TRUE(std::find(ops.begin(), ops.end(), op) != ops.end()) << op;
}
