// The TF op table, second part: the ops mapped onto Sluice's strided slice, pack/unpack,
// pads, tile, range, gather/scatter, depthwise and transposed convolutions, activations,
// floor division, batch matmul, cumulative sums, top-k, resizes and LRN, each against
// hand-computed values for its tricky attrs (all five StridedSlice masks, FloorDiv/FloorMod
// signs, SAME padding with an even kernel and stride 2, NCHW, EXPLICIT padding), and
// shape-like inputs computed at run time (Keras' Flatten: Shape -> StridedSlice -> Pack ->
// Reshape with an unknown batch).
#include <gtest/gtest.h>

#include <cmath>

#include "sluice/sluice.h"
#include "test_util.h"
#include "tf_graph_builder.h"

using namespace sluice;
using namespace sluice::testing::tfpb;
using sluice::testing::contains;
using sluice::testing::error_of;

namespace {

Tensor run(const GraphBuilder& gb, const std::string& fetch, const FeedList& feeds = {}) {
  Graph g;
  io::import_tf_graph_def_bytes(g, gb.bytes());
  return Session(g).run(feeds, {fetch})[0];
}

std::vector<float> floats(const Tensor& t) { return t.cast(DType::f32).to_vector<float>(); }
std::vector<int32_t> ints(const Tensor& t) { return t.cast(DType::i32).to_vector<int32_t>(); }

std::map<std::string, std::string> slice_attrs(int64_t begin, int64_t end, int64_t ellipsis, int64_t new_axis,
                                               int64_t shrink) {
  return {{"T", attr::type(DT_FLOAT)},          {"Index", attr::type(DT_INT32)},
          {"begin_mask", attr::i(begin)},       {"end_mask", attr::i(end)},
          {"ellipsis_mask", attr::i(ellipsis)}, {"new_axis_mask", attr::i(new_axis)},
          {"shrink_axis_mask", attr::i(shrink)}};
}

std::map<std::string, std::string> conv_attrs(const std::vector<int64_t>& strides, const std::string& padding,
                                              const std::string& format = "NHWC") {
  return {{"T", attr::type(DT_FLOAT)}, {"strides", attr::ints(strides)}, {"padding", attr::str(padding)},
          {"data_format", attr::str(format)}};
}

}  // namespace

TEST(TfOpsLayout, StridedSliceMasks) {
  // x = 0..11 as [3, 4].
  GraphBuilder gb;
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<float>(i);
  gb.f32("x", {3, 4}, v);
  // x[1:-1, ::-1]: begin/end masks on dim 1 with a negative stride.
  gb.i32("b1", {2}, {1, 0}).i32("e1", {2}, {-1, 0}).i32("s1", {2}, {1, -1});
  gb.node("a", "StridedSlice", {"x", "b1", "e1", "s1"}, slice_attrs(0b10, 0b10, 0, 0, 0));
  // x[..., 0]: ellipsis then a shrunk index.
  gb.i32("b2", {2}, {0, 0}).i32("e2", {2}, {0, 1}).i32("s2", {2}, {1, 1});
  gb.node("b", "StridedSlice", {"x", "b2", "e2", "s2"}, slice_attrs(0, 0, 0b01, 0, 0b10));
  // x[:, None]: a new axis.
  gb.node("c", "StridedSlice", {"x", "b2", "e2", "s2"}, slice_attrs(0b01, 0b01, 0, 0b10, 0));
  // x[2]: shrink dim 0, the rest taken whole.
  gb.i32("b3", {1}, {2}).i32("e3", {1}, {3}).i32("s3", {1}, {1});
  gb.node("d", "StridedSlice", {"x", "b3", "e3", "s3"}, slice_attrs(0, 0, 0, 0, 0b1));
  // x[-1:0:-2, 1:3]: negative begin and stride, end exclusive.
  gb.i32("b4", {2}, {-1, 1}).i32("e4", {2}, {0, 3}).i32("s4", {2}, {-2, 1});
  gb.node("e", "StridedSlice", {"x", "b4", "e4", "s4"}, slice_attrs(0, 0, 0, 0, 0));
  // x[-1::-2, 1:3]: with dim 0's end masked, the first row is reached.
  gb.node("f", "StridedSlice", {"x", "b4", "e4", "s4"}, slice_attrs(0, 0b01, 0, 0, 0));
  const Tensor a = run(gb, "a:0");
  EXPECT_EQ(a.shape(), (Shape{1, 4}));
  EXPECT_EQ(floats(a), (std::vector<float>{7, 6, 5, 4}));
  const Tensor b = run(gb, "b:0");
  EXPECT_EQ(b.shape(), (Shape{3}));
  EXPECT_EQ(floats(b), (std::vector<float>{0, 4, 8}));
  EXPECT_EQ(run(gb, "c:0").shape(), (Shape{3, 1, 4}));
  EXPECT_EQ(floats(run(gb, "c:0")), v);
  const Tensor d = run(gb, "d:0");
  EXPECT_EQ(d.shape(), (Shape{4}));
  EXPECT_EQ(floats(d), (std::vector<float>{8, 9, 10, 11}));
  const Tensor e = run(gb, "e:0");
  EXPECT_EQ(e.shape(), (Shape{1, 2}));
  EXPECT_EQ(floats(e), (std::vector<float>{9, 10}));
  const Tensor f = run(gb, "f:0");
  EXPECT_EQ(f.shape(), (Shape{2, 2}));
  EXPECT_EQ(floats(f), (std::vector<float>{9, 10, 1, 2}));
}

TEST(TfOpsLayout, FlattenWithUnknownBatchReadsShapesAtRunTime) {
  // Keras' Flatten: Reshape(x, Pack(StridedSlice(Shape(x), [0], [1], [1], shrink), -1)),
  // then Fill(Shape(y), 7): the batch is only known when x is fed.
  GraphBuilder gb;
  gb.placeholder("x", DT_FLOAT, {-1, 2, 3}).node("sh", "Shape", {"x"});
  gb.i32("b", {1}, {0}).i32("e", {1}, {1}).i32("s", {1}, {1}).i32("m1", {}, {-1}).f32("seven", {}, {7});
  std::map<std::string, std::string> sa = slice_attrs(0, 0, 0, 0, 1);
  sa["T"] = attr::type(DT_INT32);
  gb.node("n", "StridedSlice", {"sh", "b", "e", "s"}, sa);
  gb.node("p", "Pack", {"n", "m1"}, {{"N", attr::i(2)}, {"axis", attr::i(0)}});
  gb.node("flat", "Reshape", {"x", "p"}).node("sh2", "Shape", {"flat"});
  gb.node("fill", "Fill", {"sh2", "seven"});
  std::vector<float> xv(12);
  for (int i = 0; i < 12; ++i) xv[i] = static_cast<float>(i);
  const Tensor x = Tensor::from_vector<float>(xv, {2, 2, 3});
  const Tensor flat = run(gb, "flat:0", {{"x:0", x}});
  EXPECT_EQ(flat.shape(), (Shape{2, 6}));
  EXPECT_EQ(floats(flat), xv);
  const Tensor fill = run(gb, "fill:0", {{"x:0", x}});
  EXPECT_EQ(fill.shape(), (Shape{2, 6}));
  EXPECT_EQ(floats(fill), std::vector<float>(12, 7));
  // With a known batch the same chain folds: the Reshape gets a constant shape attr.
  GraphBuilder known;
  known.placeholder("x", DT_FLOAT, {2, 2, 3}).node("sh", "Shape", {"x"});
  known.i32("b", {1}, {0}).i32("e", {1}, {1}).i32("s", {1}, {1}).i32("m1", {}, {-1});
  known.node("n", "StridedSlice", {"sh", "b", "e", "s"}, sa);
  known.node("p", "Pack", {"n", "m1"}, {{"N", attr::i(2)}});
  known.node("flat", "Reshape", {"x", "p"});
  Graph g;
  io::import_tf_graph_def_bytes(g, known.bytes());
  EXPECT_EQ(g.operation("flat").output(0).shape(), (Shape{2, 6}));
  EXPECT_EQ(g.operation("flat").node()->inputs.size(), 1u);  // the shape folded into the attr
}

TEST(TfOpsLayout, PackUnpackSplitVWhere) {
  GraphBuilder gb;
  gb.f32("a", {2}, {1, 2}).f32("b", {2}, {3, 4}).f32("m", {2, 3}, {1, 2, 3, 4, 5, 6});
  gb.node("p0", "Pack", {"a", "b"}, {{"N", attr::i(2)}, {"axis", attr::i(0)}});
  gb.node("p1", "Pack", {"a", "b"}, {{"N", attr::i(2)}, {"axis", attr::i(-1)}});
  gb.node("u", "Unpack", {"m"}, {{"num", attr::i(3)}, {"axis", attr::i(1)}});
  gb.i32("sizes", {2}, {1, -1}).i32("one", {}, {1});
  gb.node("sv", "SplitV", {"m", "sizes", "one"}, {{"num_split", attr::i(2)}});
  gb.constant<bool>("c", DT_BOOL, {2, 2}, {true, false, false, true});
  gb.node("w", "Where", {"c"});
  EXPECT_EQ(floats(run(gb, "p0:0")), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(floats(run(gb, "p1:0")), (std::vector<float>{1, 3, 2, 4}));
  EXPECT_EQ(floats(run(gb, "u:0")), (std::vector<float>{1, 4}));
  EXPECT_EQ(floats(run(gb, "u:2")), (std::vector<float>{3, 6}));
  EXPECT_EQ(floats(run(gb, "sv:0")), (std::vector<float>{1, 4}));
  EXPECT_EQ(run(gb, "sv:1").shape(), (Shape{2, 2}));
  EXPECT_EQ(floats(run(gb, "sv:1")), (std::vector<float>{2, 3, 5, 6}));
  const Tensor w = run(gb, "w:0");
  EXPECT_EQ(w.dtype(), DType::i64);
  EXPECT_EQ(w.shape(), (Shape{2, 2}));
  EXPECT_EQ(w.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 1}));
  GraphBuilder bad;
  bad.f32("a", {2}, {1, 2}).node("p", "Pack", {"a", "a"}, {{"N", attr::i(3)}});
  Graph g;
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, bad.bytes()); }),
                       "node 'p' (Pack): attr N is 3 but the node has 2 inputs"));
}

TEST(TfOpsLayout, FloorDivisionSigns) {
  GraphBuilder gb;
  gb.i32("a", {4}, {-7, 7, -7, 7}).i32("b", {4}, {2, 2, -2, -2});
  gb.node("fd", "FloorDiv", {"a", "b"}).node("fm", "FloorMod", {"a", "b"});
  gb.node("tm", "TruncateMod", {"a", "b"}).node("div", "Div", {"a", "b"});
  gb.f32("x", {4}, {-1.5f, 1.5f, 2.5f, -0.5f}).f32("y", {4}, {1, 1, 2, 2});
  gb.node("fl", "Floor", {"x"}).node("ce", "Ceil", {"x"}).node("ro", "Round", {"x"});
  gb.node("ffd", "FloorDiv", {"x", "y"}).node("ffm", "FloorMod", {"x", "y"}).node("sd", "SquaredDifference", {"x", "y"});
  EXPECT_EQ(ints(run(gb, "fd:0")), (std::vector<int32_t>{-4, 3, 3, -4}));
  EXPECT_EQ(ints(run(gb, "fm:0")), (std::vector<int32_t>{1, 1, -1, -1}));
  EXPECT_EQ(ints(run(gb, "tm:0")), (std::vector<int32_t>{-1, 1, -1, 1}));
  EXPECT_EQ(ints(run(gb, "div:0")), (std::vector<int32_t>{-3, 3, 3, -3}));
  EXPECT_EQ(floats(run(gb, "fl:0")), (std::vector<float>{-2, 1, 2, -1}));
  EXPECT_EQ(floats(run(gb, "ce:0")), (std::vector<float>{-1, 2, 3, -0.0f}));
  EXPECT_EQ(floats(run(gb, "ro:0")), (std::vector<float>{-2, 2, 2, -0.0f}));  // half to even
  EXPECT_EQ(floats(run(gb, "ffd:0")), (std::vector<float>{-2, 1, 1, -1}));
  EXPECT_EQ(floats(run(gb, "ffm:0")), (std::vector<float>{0.5f, 0.5f, 0.5f, 1.5f}));
  EXPECT_EQ(floats(run(gb, "sd:0")), (std::vector<float>{6.25f, 0.25f, 0.25f, 6.25f}));
}

TEST(TfOpsLayout, DepthwiseConvSameEvenKernelStride2AndNCHW) {
  GraphBuilder gb;
  // One channel, multiplier 1: a 2x2 filter of ones on 1..9, SAME stride 2 (the extra
  // padding row/column at the bottom/right): as Conv2D, 12 9 15 9.
  gb.f32("x", {1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}).f32("w", {2, 2, 1, 1}, {1, 1, 1, 1});
  gb.node("y", "DepthwiseConv2dNative", {"x", "w"}, conv_attrs({1, 2, 2, 1}, "SAME"));
  // Two channels (c0 = 1..4, c1 = 10..40 over a 2x2 image), multiplier 2, 1x1 filter:
  // outputs [c0*1, c0*2, c1*0.5, c1*-1] per pixel.
  gb.f32("x2", {1, 2, 2, 2}, {1, 10, 2, 20, 3, 30, 4, 40}).f32("w2", {1, 1, 2, 2}, {1, 2, 0.5f, -1});
  gb.node("y2", "DepthwiseConv2dNative", {"x2", "w2"}, conv_attrs({1, 1, 1, 1}, "VALID"));
  // The same image as NCHW.
  gb.f32("x3", {1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  gb.node("y3", "DepthwiseConv2dNative", {"x3", "w2"}, conv_attrs({1, 1, 1, 1}, "VALID", "NCHW"));
  EXPECT_EQ(floats(run(gb, "y:0")), (std::vector<float>{12, 9, 15, 9}));
  EXPECT_EQ(floats(run(gb, "y2:0")),
            (std::vector<float>{1, 2, 5, -10, 2, 4, 10, -20, 3, 6, 15, -30, 4, 8, 20, -40}));
  const Tensor y3 = run(gb, "y3:0");
  EXPECT_EQ(y3.shape(), (Shape{1, 4, 2, 2}));
  EXPECT_EQ(floats(y3), (std::vector<float>{1, 2, 3, 4, 2, 4, 6, 8, 5, 10, 15, 20, -10, -20, -30, -40}));
}

TEST(TfOpsLayout, Conv2DExplicitPaddingAndBackpropInput) {
  GraphBuilder gb;
  gb.f32("x", {1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}).f32("w", {2, 2, 1, 1}, {1, 1, 1, 1});
  auto ea = conv_attrs({1, 1, 1, 1}, "EXPLICIT");
  ea["explicit_paddings"] = attr::ints({0, 0, 1, 0, 0, 1, 0, 0});  // one row on top, one column right
  gb.node("ex", "Conv2D", {"x", "w"}, ea);
  // Conv2DBackpropInput (tf.nn.conv2d_transpose): each of dy's pixels spreads over a 2x2
  // block of the output; SAME with input_sizes 3x3 drops the last row and column.
  gb.f32("dy", {1, 2, 2, 1}, {1, 2, 3, 4}).i32("s4", {4}, {1, 4, 4, 1}).i32("s3", {4}, {1, 3, 3, 1});
  gb.node("tv", "Conv2DBackpropInput", {"s4", "w", "dy"}, conv_attrs({1, 2, 2, 1}, "VALID"));
  gb.node("ts", "Conv2DBackpropInput", {"s3", "w", "dy"}, conv_attrs({1, 2, 2, 1}, "SAME"));
  EXPECT_EQ(floats(run(gb, "ex:0")), (std::vector<float>{3, 5, 3, 12, 16, 9, 24, 28, 15}));
  EXPECT_EQ(floats(run(gb, "tv:0")), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  const Tensor ts = run(gb, "ts:0");
  EXPECT_EQ(ts.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(floats(ts), (std::vector<float>{1, 1, 2, 1, 1, 2, 3, 3, 4}));
}

TEST(TfOpsLayout, PadsTileBroadcastRange) {
  GraphBuilder gb;
  gb.f32("x", {2, 3}, {1, 2, 3, 4, 5, 6}).i32("p", {2, 2}, {1, 0, 0, 2}).f32("nine", {}, {9});
  gb.node("pad", "Pad", {"x", "p"}).node("pad2", "PadV2", {"x", "p", "nine"});
  gb.f32("r", {1, 3}, {1, 2, 3}).i32("mp", {2, 2}, {0, 0, 2, 2});
  gb.node("refl", "MirrorPad", {"r", "mp"}, {{"mode", attr::str("REFLECT")}});
  gb.node("sym", "MirrorPad", {"r", "mp"}, {{"mode", attr::str("SYMMETRIC")}});
  gb.f32("t", {1, 2}, {1, 2}).i32("mult", {2}, {2, 2}).node("tile", "Tile", {"t", "mult"});
  gb.f32("v", {3}, {1, 2, 3}).i32("bs", {2}, {2, 3}).node("bt", "BroadcastTo", {"v", "bs"});
  gb.i32("r0", {}, {1}).i32("r1", {}, {10}).i32("r2", {}, {3}).node("rg", "Range", {"r0", "r1", "r2"});
  gb.i32("d0", {}, {5}).i32("d1", {}, {1}).i32("d2", {}, {-2}).node("rg2", "Range", {"d0", "d1", "d2"});
  EXPECT_EQ(floats(run(gb, "pad:0")), (std::vector<float>{0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0}));
  EXPECT_EQ(floats(run(gb, "pad2:0")), (std::vector<float>{9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9}));
  EXPECT_EQ(floats(run(gb, "refl:0")), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(floats(run(gb, "sym:0")), (std::vector<float>{2, 1, 1, 2, 3, 3, 2}));
  EXPECT_EQ(floats(run(gb, "tile:0")), (std::vector<float>{1, 2, 1, 2, 1, 2, 1, 2}));
  EXPECT_EQ(floats(run(gb, "bt:0")), (std::vector<float>{1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(ints(run(gb, "rg:0")), (std::vector<int32_t>{1, 4, 7}));
  EXPECT_EQ(ints(run(gb, "rg2:0")), (std::vector<int32_t>{5, 3}));
  // TF refuses REFLECT pads beyond dim - 1 (NumPy would keep mirroring).
  GraphBuilder bad;
  bad.f32("r", {1, 3}, {1, 2, 3}).i32("mp", {2, 2}, {0, 0, 3, 0});
  bad.node("refl", "MirrorPad", {"r", "mp"}, {{"mode", attr::str("REFLECT")}});
  Graph g;
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, bad.bytes()); }),
                       "paddings of dim 1 must be at most 2 in REFLECT mode"));
}

TEST(TfOpsLayout, GatherScatterOneHotTopKCumsum) {
  GraphBuilder gb;
  gb.f32("pa", {2, 2}, {1, 2, 3, 4}).i32("idx", {2, 2}, {1, 0, 0, 1}).node("gnd", "GatherNd", {"pa", "idx"});
  gb.i32("si", {2, 1}, {1, 3}).f32("su", {2}, {9, 10}).i32("ss", {1}, {5});
  gb.node("snd", "ScatterNd", {"si", "su", "ss"});
  gb.i32("oi", {2}, {0, 2}).i32("depth", {}, {3}).f32("on", {}, {1}).f32("off", {}, {0});
  gb.node("oh", "OneHot", {"oi", "depth", "on", "off"}, {{"axis", attr::i(0)}});
  gb.f32("tk", {4}, {1, 3, 2, 3}).i32("k", {}, {2}).node("top", "TopKV2", {"tk", "k"});
  gb.f32("cs", {3}, {1, 2, 3}).i32("ax", {}, {0});
  gb.node("ex", "Cumsum", {"cs", "ax"}, {{"exclusive", attr::b(true)}});
  gb.node("rev", "Cumsum", {"cs", "ax"}, {{"reverse", attr::b(true)}});
  gb.node("both", "Cumsum", {"cs", "ax"}, {{"exclusive", attr::b(true)}, {"reverse", attr::b(true)}});
  EXPECT_EQ(floats(run(gb, "gnd:0")), (std::vector<float>{3, 2}));
  EXPECT_EQ(floats(run(gb, "snd:0")), (std::vector<float>{0, 9, 0, 10, 0}));
  const Tensor oh = run(gb, "oh:0");
  EXPECT_EQ(oh.shape(), (Shape{3, 2}));
  EXPECT_EQ(floats(oh), (std::vector<float>{1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(floats(run(gb, "top:0")), (std::vector<float>{3, 3}));
  const Tensor ti = run(gb, "top:1");
  EXPECT_EQ(ti.dtype(), DType::i32);
  EXPECT_EQ(ti.to_vector<int32_t>(), (std::vector<int32_t>{1, 3}));  // ties: lower index first
  EXPECT_EQ(floats(run(gb, "ex:0")), (std::vector<float>{0, 1, 3}));
  EXPECT_EQ(floats(run(gb, "rev:0")), (std::vector<float>{6, 5, 3}));
  EXPECT_EQ(floats(run(gb, "both:0")), (std::vector<float>{5, 3, 0}));
}

TEST(TfOpsLayout, Activations) {
  const std::vector<double> xs = {-2, -0.5, 0, 3, 7};
  GraphBuilder gb;
  gb.f32("x", {5}, {-2, -0.5f, 0, 3, 7});
  for (const char* op : {"Relu6", "Elu", "Selu", "Softplus", "Softsign"}) gb.node(op, op, {"x"});
  gb.node("LeakyRelu", "LeakyRelu", {"x"}, {{"alpha", attr::f(0.1f)}});
  gb.node("LeakyDefault", "LeakyRelu", {"x"});
  const double alpha = 1.6732632423543772, scale = 1.0507009873554805;
  auto expect = [&](const std::string& op, auto f) {
    const std::vector<float> y = floats(run(gb, op + ":0"));
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(y[i], f(xs[i]), 1e-6 * (1 + std::abs(f(xs[i])))) << op << " " << i;
  };
  expect("Relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); });
  expect("Elu", [](double x) { return x < 0 ? std::exp(x) - 1 : x; });
  expect("Selu", [&](double x) { return x < 0 ? scale * alpha * (std::exp(x) - 1) : scale * x; });
  expect("Softplus", [](double x) { return std::log1p(std::exp(x)); });
  expect("Softsign", [](double x) { return x / (1 + std::abs(x)); });
  expect("LeakyRelu", [](double x) { return x < 0 ? 0.1 * x : x; });
  expect("LeakyDefault", [](double x) { return x < 0 ? 0.2 * x : x; });
}

TEST(TfOpsLayout, BatchMatMulReductionsLrnResize) {
  GraphBuilder gb;
  // a [2,1,2] x b [2,1] (V2 broadcasts the batch): [[1,2]]·[1,1] = 3, [[3,4]]·[1,1] = 7.
  gb.f32("a", {2, 1, 2}, {1, 2, 3, 4}).f32("b", {2, 1}, {1, 1}).node("bmm", "BatchMatMulV2", {"a", "b"});
  // adj_x: a^T [2,2,1] x c [2,1,1]: [1,2]*5, [3,4]*6.
  gb.f32("c", {2, 1, 1}, {5, 6}).node("adj", "BatchMatMul", {"a", "c"}, {{"adj_x", attr::b(true)}});
  gb.f32("m", {2, 2}, {1, 2, 3, 4}).i32("one", {}, {1}).node("prod", "Prod", {"m", "one"});
  gb.constant<bool>("bb", DT_BOOL, {2, 2}, {true, false, true, true});
  gb.node("all", "All", {"bb", "one"}).node("any", "Any", {"bb", "one"});
  gb.placeholder("axes", DT_INT32, {-1}).node("sum", "Sum", {"m", "axes"}, {{"keep_dims", attr::b(true)}});
  // LRN, depth_radius 1, bias 1, alpha 1, beta 1 on channels [1,2,3]: x / (1 + sum of
  // squares of the neighbours): 1/6, 2/15, 3/14.
  gb.f32("l", {1, 1, 1, 3}, {1, 2, 3});
  gb.node("lrn", "LRN", {"l"}, {{"depth_radius", attr::i(1)}, {"bias", attr::f(1)}, {"alpha", attr::f(1)},
                               {"beta", attr::f(1)}});
  // Resizes of a 2x2 image [0 10; 20 30]: bilinear align_corners to 3x3, nearest to 4x4.
  gb.f32("im", {1, 2, 2, 1}, {0, 10, 20, 30}).i32("s3", {2}, {3, 3}).i32("s4", {2}, {4, 4});
  gb.node("bil", "ResizeBilinear", {"im", "s3"}, {{"align_corners", attr::b(true)}});
  gb.node("nn", "ResizeNearestNeighbor", {"im", "s4"});
  EXPECT_EQ(floats(run(gb, "bmm:0")), (std::vector<float>{3, 7}));
  const Tensor adj = run(gb, "adj:0");
  EXPECT_EQ(adj.shape(), (Shape{2, 2, 1}));
  EXPECT_EQ(floats(adj), (std::vector<float>{5, 10, 18, 24}));
  EXPECT_EQ(floats(run(gb, "prod:0")), (std::vector<float>{2, 12}));
  EXPECT_EQ(ints(run(gb, "all:0")), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(ints(run(gb, "any:0")), (std::vector<int32_t>{1, 1}));
  // Axes fed at run time: [0] sums columns, [] reduces nothing (TF), [0, 1] everything.
  const Tensor s0 = run(gb, "sum:0", {{"axes:0", Tensor::from_vector<int32_t>({0}, {1})}});
  EXPECT_EQ(s0.shape(), (Shape{1, 2}));
  EXPECT_EQ(floats(s0), (std::vector<float>{4, 6}));
  EXPECT_EQ(floats(run(gb, "sum:0", {{"axes:0", Tensor(DType::i32, Shape{0})}})), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(floats(run(gb, "sum:0", {{"axes:0", Tensor::from_vector<int32_t>({0, 1}, {2})}})), (std::vector<float>{10}));
  const std::vector<float> lrn = floats(run(gb, "lrn:0"));
  EXPECT_NEAR(lrn[0], 1.0 / 6, 1e-6);
  EXPECT_NEAR(lrn[1], 2.0 / 15, 1e-6);
  EXPECT_NEAR(lrn[2], 3.0 / 14, 1e-6);
  EXPECT_EQ(floats(run(gb, "bil:0")), (std::vector<float>{0, 5, 10, 10, 15, 20, 20, 25, 30}));
  EXPECT_EQ(floats(run(gb, "nn:0")),
            (std::vector<float>{0, 0, 10, 10, 0, 0, 10, 10, 20, 20, 30, 30, 20, 20, 30, 30}));
  // BatchMatMul (v1) does not broadcast batch dims.
  GraphBuilder bad;
  bad.f32("a", {2, 1, 2}, {1, 2, 3, 4}).f32("b", {3, 2, 1}, {1, 1, 1, 1, 1, 1}).node("y", "BatchMatMul", {"a", "b"});
  Graph g;
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { io::import_tf_graph_def_bytes(g, bad.bytes()); }),
                       "BatchMatMul needs equal batch dims"));
}
