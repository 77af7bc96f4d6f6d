// ONNX import (io/onnx/): names, layout propagation, input maps and return elements,
// signatures and load_model, errors for unsupported and malformed models, and per-version
// op semantics. Models are built with the ONNX protobuf classes (tests/onnx_test_util.h);
// expected values come from plain loops written here in ONNX's NCHW order.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "onnx_test_util.h"
#include "test_util.h"

using namespace sluice;
using sluice::testing::contains;
using sluice::testing::error_of;
using sluice::testing::OnnxModel;
using sluice::testing::random_tensor;
constexpr int F = ::onnx::TensorProto::FLOAT;

namespace {

// ---- NCHW references ----

// x [N,C,H,W], w [M,C,K,K], b [M], stride 1, symmetric pad p -> [N,M,OH,OW].
Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t p) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), m = w.dim(0), k = w.dim(2);
  const int64_t oh = h + 2 * p - k + 1, ow = wd + 2 * p - k + 1;
  Tensor y(DType::f32, {n, m, oh, ow});
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = b.data<float>()[om];
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t yy = i + ki - p, xx = j + kj - p;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                s += x.at<float>({in, ic, yy, xx}) * w.at<float>({om, ic, ki, kj});
              }
          y.at<float>({in, om, i, j}) = static_cast<float>(s);
        }
  return y;
}

Tensor ref_map(const Tensor& x, const std::function<float(float)>& f) {
  Tensor y = x.clone();
  for (int64_t i = 0; i < y.num_elements(); ++i) y.data<float>()[i] = f(y.data<float>()[i]);
  return y;
}

// 2x2 stride-2 max pooling of [N,C,H,W].
Tensor ref_maxpool2(const Tensor& x) {
  const int64_t n = x.dim(0), c = x.dim(1), oh = x.dim(2) / 2, ow = x.dim(3) / 2;
  Tensor y(DType::f32, {n, c, oh, ow});
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < c; ++b)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          y.at<float>({a, b, i, j}) = std::max({x.at<float>({a, b, 2 * i, 2 * j}), x.at<float>({a, b, 2 * i + 1, 2 * j}),
                                                x.at<float>({a, b, 2 * i, 2 * j + 1}),
                                                x.at<float>({a, b, 2 * i + 1, 2 * j + 1})});
  return y;
}

void expect_near(const Tensor& got, const Tensor& want, double tol = 1e-4) {
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.num_elements(); ++i)
    ASSERT_NEAR(got.as_double(i), want.as_double(i), tol * (1 + std::fabs(want.as_double(i)))) << "element " << i;
}

int count_reachable(const Output& out, const std::string& op_type) {
  std::set<Node*> seen;
  std::vector<Node*> stack{out.node()};
  int n = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (!seen.insert(node).second) continue;
    n += node->op_type() == op_type;
    for (const Output& in : node->inputs) stack.push_back(in.node());
  }
  return n;
}

// A small CNN with PyTorch-style names: conv (pads 1) -> relu -> maxpool 2x2 -> global
// average pool -> flatten -> gemm.
struct Cnn {
  Tensor w = random_tensor<float>({4, 3, 3, 3}, 1), b = random_tensor<float>({4}, 2);
  Tensor w2 = random_tensor<float>({5, 4}, 3), b2 = random_tensor<float>({5}, 4);
  OnnxModel model{13};
  Cnn() {
    model.input("input.1", F, {-1, 3, 8, 8});
    model.init("onnx::Conv_12", w);
    model.init("conv1.bias", b);
    model.init("fc.weight", w2);
    model.init("fc.bias", b2);
    model.node("Conv", {"input.1", "onnx::Conv_12", "conv1.bias"}, {"/conv1/Conv_output_0"}, "/conv1/Conv")
        .ints("pads", {1, 1, 1, 1})
        .ints("kernel_shape", {3, 3});
    model.node("Relu", {"/conv1/Conv_output_0"}, {"/relu/Relu_output_0"}, "/relu/Relu");
    model.node("MaxPool", {"/relu/Relu_output_0"}, {"pool:out"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2});
    model.node("GlobalAveragePool", {"pool:out"}, {"gap"});
    model.node("Flatten", {"gap"}, {"flat"});
    model.node("Gemm", {"flat", "fc.weight", "fc.bias"}, {"logits"}).i("transB", 1);
    model.output("logits");
  }
  // The reference output and intermediates for x.
  Tensor conv(const Tensor& x) const { return ref_conv(x, w, b, 1); }
  Tensor logits(const Tensor& x) const {
    const Tensor p = ref_maxpool2(ref_map(conv(x), [](float v) { return std::max(v, 0.0f); }));
    const int64_t n = x.dim(0);
    Tensor y(DType::f32, {n, 5});
    for (int64_t a = 0; a < n; ++a)
      for (int64_t o = 0; o < 5; ++o) {
        double s = b2.data<float>()[o];
        for (int64_t c = 0; c < 4; ++c) {
          double m = 0;
          for (int64_t i = 0; i < 16; ++i) m += p.data<float>()[(a * 4 + c) * 16 + i];
          s += m / 16 * w2.at<float>({o, c});
        }
        y.at<float>({a, o}) = static_cast<float>(s);
      }
    return y;
  }
};

}  // namespace

TEST(OnnxImport, CnnMatchesNchwReferenceAndEveryValueIsFetchableInOnnxOrder) {
  Cnn cnn;
  Graph g;
  io::ImportResult r = io::import_onnx_bytes(g, cnn.model.bytes(), {"", {}, {"logits:0", "/conv1/Conv_output_0:0"}});
  ASSERT_EQ(r.tensors.size(), 2u);
  const Tensor x = random_tensor<float>({2, 3, 8, 8}, 7);
  Session sess(g);
  const Output in = g.tensor(io::onnx_tensor_name("input.1"));
  auto got = sess.run({{in, x}}, {r.tensors[0], r.tensors[1], g.tensor(io::onnx_tensor_name("pool:out")),
                                  g.tensor(io::onnx_tensor_name("/relu/Relu_output_0"))});
  expect_near(got[0], cnn.logits(x));
  expect_near(got[1], cnn.conv(x));  // an intermediate, fetched in NCHW
  expect_near(got[2], ref_maxpool2(ref_map(cnn.conv(x), [](float v) { return std::max(v, 0.0f); })));
  expect_near(got[3], ref_map(cnn.conv(x), [](float v) { return std::max(v, 0.0f); }));
  EXPECT_EQ(got[1].shape(), Shape({2, 4, 8, 8}));
  // Layout: the path to the output transposes once (the input to channels-last); the
  // weights were permuted at import time and the [N,1,1,C] result needs only a reshape. The
  // convolution, its Relu and the max pool run as one op.
  EXPECT_EQ(count_reachable(r.tensors[0], "Transpose"), 1);
  EXPECT_EQ(count_reachable(r.tensors[0], "FusedConv2DMaxPool"), 1);
  EXPECT_EQ(count_reachable(r.tensors[0], "Conv2D") + count_reachable(r.tensors[0], "FusedConv2D") +
                count_reachable(r.tensors[0], "MaxPool"),
            0);
  // Initializers are constants under their ONNX names.
  EXPECT_EQ(g.operation("onnx-3a-3aConv_12").type(), "Const");
  EXPECT_EQ(g.operation("conv1.bias").type(), "Const");
  EXPECT_TRUE(g.trainable_variables().empty());
}

TEST(OnnxImport, NamesAreEscapedInjectivelyAndPrefixed) {
  EXPECT_EQ(io::onnx_tensor_name("input.1"), "input.1:0");
  EXPECT_EQ(io::onnx_tensor_name("onnx::Conv_12"), "onnx-3a-3aConv_12:0");
  EXPECT_EQ(io::onnx_tensor_name("/conv1/Conv_output_0"), "-2fconv1/Conv_output_0:0");
  EXPECT_EQ(io::onnx_tensor_name("a//b/"), "a/-2fb-2f:0");
  EXPECT_EQ(io::onnx_tensor_name("x:0", "m1"), "m1/x-3a0:0");
  EXPECT_EQ(io::onnx_tensor_name("a-b"), "a-2db:0");  // '-' is the escape, so it is escaped too
  EXPECT_NE(io::onnx_tensor_name("a-2db"), io::onnx_tensor_name("a-b"));

  // Values whose names collide once naively cleaned ("a:b" / "a_b" / "a-b") stay distinct,
  // and one model imports twice under two prefixes.
  OnnxModel m(13);
  m.input("a:b", F, {2});
  m.input("a_b", F, {2});
  m.input("a-b", F, {2});
  m.node("Add", {"a:b", "a_b"}, {"s"});
  m.node("Mul", {"s", "a-b"}, {"x:0"});
  m.output("x:0");
  Graph g;
  io::import_onnx_bytes(g, m.bytes(), {"m1", {}, {}});
  io::ImportResult r2 = io::import_onnx_bytes(g, m.bytes(), {"m2", {}, {"x:0:0", "s"}});
  Session sess(g);
  const Tensor one = Tensor::from_vector(std::vector<float>{1, 2}, {2});
  const Tensor two = Tensor::from_vector(std::vector<float>{10, 20}, {2});
  const Tensor three = Tensor::from_vector(std::vector<float>{2, 3}, {2});
  for (std::string p : {"m1", "m2"}) {
    const Tensor y = sess.run({{io::onnx_tensor_name("a:b", p), one},
                               {io::onnx_tensor_name("a_b", p), two},
                               {io::onnx_tensor_name("a-b", p), three}},
                              {io::onnx_tensor_name("x:0", p)})[0];
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{22, 66}));
  }
  EXPECT_EQ(r2.tensors[0].name(), "m2/x-3a0:0");
  EXPECT_EQ(r2.tensors[1].name(), "m2/s:0");  // a bare name works too

  // The same prefix again: AlreadyExists, and the graph is untouched.
  const int before = g.num_operations();
  const std::string msg = error_of<AlreadyExists>([&] { io::import_onnx_bytes(g, m.bytes(), {"m1", {}, {}}); });
  EXPECT_TRUE(contains(msg, "m1/")) << msg;
  EXPECT_EQ(g.num_operations(), before);
  // Unknown return element / input-map key: NotFound naming the model's inputs.
  const std::string nf = error_of<NotFound>([&] { io::import_onnx_bytes(g, m.bytes(), {"m3", {}, {"nope:0"}}); });
  EXPECT_TRUE(contains(nf, "'nope:0'") && contains(nf, "a:b:0")) << nf;
  EXPECT_EQ(g.num_operations(), before);
}

TEST(OnnxImport, InputMapReplacesInputsInitializersAndChannelsLastIntermediates) {
  Cnn cnn;
  Graph g;
  Scope root(g);
  const Tensor x = random_tensor<float>({1, 3, 8, 8}, 9);
  const Tensor w_new = random_tensor<float>({4, 3, 3, 3}, 10);
  const Output xin = ops::placeholder(root.named("images"), DType::f32, {-1, 3, 8, 8});
  const Output wconst = ops::constant(root.named("w_new"), w_new);
  // The intermediate "/relu/Relu_output_0" is held channels-last inside; mapped, it is fed in
  // ONNX order by a tensor of the target graph.
  const Tensor relu_in = random_tensor<float>({1, 4, 8, 8}, 11, 0.0, 1.0);
  const Output rp = ops::placeholder(root.named("relu_feed"), DType::f32, {1, 4, 8, 8});
  io::ImportResult a = io::import_onnx_bytes(
      g, cnn.model.bytes(), {"a", {{"input.1:0", xin}, {"onnx::Conv_12", wconst}}, {"logits:0", "/conv1/Conv_output_0:0"}});
  io::ImportResult b = io::import_onnx_bytes(g, cnn.model.bytes(), {"b", {{"/relu/Relu_output_0:0", rp}}, {"logits:0"}});
  Session sess(g);
  auto got = sess.run({{xin, x}, {rp, relu_in}}, {a.tensors[0], a.tensors[1], b.tensors[0]});
  Cnn other = cnn;
  other.w = w_new;
  expect_near(got[0], other.logits(x));
  expect_near(got[1], other.conv(x));
  // b: logits from the fed relu output (pool -> gap -> gemm).
  Cnn ref = cnn;
  const Tensor p = ref_maxpool2(relu_in);
  for (int64_t o = 0; o < 5; ++o) {
    double s = cnn.b2.data<float>()[o];
    for (int64_t c = 0; c < 4; ++c) {
      double m = 0;
      for (int64_t i = 0; i < 16; ++i) m += p.data<float>()[c * 16 + i];
      s += m / 16 * cnn.w2.at<float>({o, c});
    }
    EXPECT_NEAR(got[2].data<float>()[o], s, 1e-4);
  }
  // Wrong dtype in the map: InvalidArgument naming the key.
  const Output bad = ops::placeholder(root.named("bad"), DType::f64, {-1, 3, 8, 8});
  const std::string msg =
      error_of<InvalidArgument>([&] { io::import_onnx_bytes(g, cnn.model.bytes(), {"c", {{"input.1:0", bad}}, {}}); });
  EXPECT_TRUE(contains(msg, "input.1:0") && contains(msg, "float64")) << msg;
}

TEST(OnnxImport, FeedingAnOnnxOrderIntermediateReachesItsReaders) {
  OnnxModel m(13);
  m.input("x", F, {2, 3});
  m.node("Relu", {"x"}, {"h"});
  m.node("Add", {"h", "h"}, {"y"});
  m.output("y");
  Graph g;
  io::import_onnx_bytes(g, m.bytes());
  Session sess(g);
  const Tensor x = Tensor::from_vector(std::vector<float>{-1, 2, -3, 4, -5, 6}, {2, 3});
  EXPECT_EQ(sess.run({{"x:0", x}}, {"y:0"})[0].to_vector<float>(), (std::vector<float>{0, 4, 0, 8, 0, 12}));
  EXPECT_EQ(sess.run({{"h:0", x}}, {"y:0"})[0].to_vector<float>(), (std::vector<float>{-2, 4, -6, 8, -10, 12}));
}

TEST(OnnxImport, LoadModelGivesAServingSignatureByOnnxNames) {
  Cnn cnn;
  sluice::testing::TempDir dir("onnx_load");
  const std::string path = (dir.path() / "cnn.onnx").string();
  cnn.model.save(path);
  io::LoadedModel m = io::load_model(path);
  EXPECT_EQ(m.source(), path);
  ASSERT_EQ(m.signature_names(), std::vector<std::string>{"serving_default"});
  const io::Signature& sig = m.signature("serving_default");
  ASSERT_EQ(sig.inputs.size(), 1u);  // initializers are not inputs
  EXPECT_EQ(sig.inputs.begin()->first, "input.1");
  EXPECT_EQ(sig.outputs.begin()->first, "logits");
  const Tensor x = random_tensor<float>({3, 3, 8, 8}, 12);
  expect_near(m.run("serving_default", {{"input.1", x}}).at("logits"), cnn.logits(x));
  // Inputs are checked against the model's declared shape.
  const std::string msg = error_of<InvalidArgument>(
      [&] { m.run("serving_default", {{"input.1", random_tensor<float>({1, 3, 9, 8}, 1)}}); });
  EXPECT_TRUE(contains(msg, "input.1")) << msg;
  EXPECT_THROW(io::load_model((dir.path() / "missing.onnx").string()), NotFound);
}

TEST(OnnxImport, UnsupportedOpsAreListedTogetherBeforeAnythingIsBuilt) {
  OnnxModel m(13);
  m.input("x", F, {1, 4, 5, 5});
  m.init("w", random_tensor<float>({4, 2, 3, 3}, 1));
  m.node("Einsum", {"x"}, {"a"}).s("equation", "nchw->nchw");
  m.node("Cast", {"a"}, {"b"}, "half").i("to", 10);  // FLOAT16
  m.node("Einsum", {"b"}, {"c"}).s("equation", "nchw->nchw");
  m.node("Foo", {"c"}, {"d"}, "custom", "com.example");
  m.output("d");
  m.proto().add_opset_import()->set_domain("com.example");
  m.proto().mutable_opset_import(1)->set_version(3);
  Graph g;
  const std::string msg = error_of<Unimplemented>([&] { io::import_onnx_bytes(g, m.bytes(), {}, "m.onnx"); });
  EXPECT_TRUE(contains(msg, "'m.onnx'")) << msg;
  EXPECT_TRUE(contains(msg, "Einsum (ai.onnx, version 12)")) << msg;
  EXPECT_TRUE(contains(msg, "Foo (com.example, no such op at opset 3)")) << msg;
  EXPECT_TRUE(contains(msg, "Cast (ai.onnx, version 13), node 'half': Cast to FLOAT16")) << msg;
  EXPECT_EQ(msg.find("Einsum"), msg.rfind("Einsum"));  // each type once
  EXPECT_EQ(g.num_operations(), 0);
}

TEST(OnnxImport, MalformedModelsGiveTypedErrors) {
  Graph g;
  auto import = [&](const std::string& bytes) { io::import_onnx_bytes(g, bytes, {}, "bad.onnx"); };
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { import("this is not protobuf \xff\xff\xff"); }), "'bad.onnx'"));
  EXPECT_THROW(io::import_onnx(g, "/nonexistent/model.onnx"), NotFound);

  OnnxModel undefined(13);
  undefined.input("x", F, {2});
  undefined.node("Relu", {"nope"}, {"y"});
  undefined.output("y");
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { import(undefined.bytes()); }), "reads 'nope'"));

  OnnxModel dup(13);
  dup.input("x", F, {2});
  dup.node("Relu", {"x"}, {"y"});
  dup.node("Relu", {"x"}, {"y"});
  dup.output("y");
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { import(dup.bytes()); }), "already defined"));

  // Tensor data that disagrees with its dims, before anything is allocated for the dims.
  OnnxModel short_data(13);
  short_data.input("x", F, {2});
  short_data.init("w", Tensor::from_vector(std::vector<float>{1, 2}, {2}));
  short_data.graph()->mutable_initializer(0)->set_dims(0, int64_t{1} << 40);
  short_data.node("Add", {"x", "w"}, {"y"});
  short_data.output("y");
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { import(short_data.bytes()); }), "raw_data holds 8 bytes"));
  short_data.graph()->mutable_initializer(0)->set_dims(0, -3);
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { import(short_data.bytes()); }), "negative"));

  OnnxModel half(13);  // float16: a type Sluice has no dtype for
  half.input("x", F, {2});
  half.graph()->add_initializer()->CopyFrom(sluice::testing::to_proto(Tensor::zeros(DType::u8, {4}), "q"));
  half.graph()->mutable_initializer(0)->set_data_type(::onnx::TensorProto::FLOAT16);
  half.graph()->mutable_initializer(0)->set_dims(0, 2);
  half.node("Identity", {"q"}, {"y"});
  half.output("y");
  EXPECT_TRUE(contains(error_of<Unimplemented>([&] { import(half.bytes()); }), "FLOAT16"));

  OnnxModel bad_attr(13);
  bad_attr.input("x", F, {1, 1, 4, 4});
  bad_attr.node("MaxPool", {"x"}, {"y"}).f("kernel_shape", 2.0f);
  bad_attr.output("y");
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { import(bad_attr.bytes()); }), "kernel_shape"));

  OnnxModel future(18);
  future.input("x", F, {2});
  future.node("Relu", {"x"}, {"y"});
  future.output("y");
  EXPECT_TRUE(contains(error_of<Unimplemented>([&] { import(future.bytes()); }), "opset 18"));

  OnnxModel shapes(13);  // a shape error of the model names the ONNX node
  shapes.input("a", F, {2, 3});
  shapes.input("b", F, {4, 5});
  shapes.node("MatMul", {"a", "b"}, {"y"}, "mm");
  shapes.output("y");
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { import(shapes.bytes()); }), "ONNX node 'mm' (MatMul)"));
  EXPECT_EQ(g.num_operations(), 0);
}

TEST(OnnxImport, ReadsTensorProtoFilesWithTypedFields) {
  sluice::testing::TempDir dir("onnx_tensor");
  ::onnx::TensorProto p;
  p.set_data_type(::onnx::TensorProto::INT64);
  p.add_dims(3);
  for (int64_t v : {5, -7, 1 << 20}) p.add_int64_data(v);
  const std::string path = (dir.path() / "t.pb").string();
  {
    std::ofstream f(path, std::ios::binary);
    f << p.SerializeAsString();
  }
  EXPECT_EQ(io::read_onnx_tensor(path).to_vector<int64_t>(), (std::vector<int64_t>{5, -7, 1 << 20}));
  p.add_dims(2);  // [3,2] now needs 6 values
  {
    std::ofstream f(path, std::ios::binary);
    f << p.SerializeAsString();
  }
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_onnx_tensor(path); }), "int64_data holds 3 values"));
}

// ---- versions ----

namespace {
Tensor run_single(OnnxModel& m, const std::vector<Tensor>& inputs) {
  Graph g;
  io::ImportResult r = io::import_onnx_bytes(g, m.bytes());
  const io::Signature& sig = r.signatures.at("serving_default");
  FeedList feeds;
  size_t i = 0;
  for (const auto& in : m.graph()->input()) feeds.emplace_back(sig.inputs.at(in.name()), inputs.at(i++));
  Session sess(g);
  return sess.run(feeds, {sig.outputs.begin()->second})[0];
}
}  // namespace

TEST(OnnxImport, ReadsEverySluiceDtypeFromRawAndTypedFields) {
  sluice::testing::TempDir dir("onnx_tensor_types");
  const std::string path = (dir.path() / "t.pb").string();
  auto read = [&](const ::onnx::TensorProto& p) {
    std::ofstream(path, std::ios::binary) << p.SerializeAsString();
    return io::read_onnx_tensor(path);
  };
  ::onnx::TensorProto p;
  p.add_dims(3);
  // ONNX keeps int8, int16 and uint16 in int32_data, uint32 and uint64 in uint64_data.
  p.set_data_type(::onnx::TensorProto::INT8);
  for (int v : {-128, 5, 127}) p.add_int32_data(v);
  Tensor t = read(p);
  ASSERT_EQ(t.dtype(), DType::i8);
  EXPECT_EQ(t.to_vector<int8_t>(), (std::vector<int8_t>{-128, 5, 127}));
  p.set_data_type(::onnx::TensorProto::INT16);
  t = read(p);
  ASSERT_EQ(t.dtype(), DType::i16);
  EXPECT_EQ(t.to_vector<int16_t>(), (std::vector<int16_t>{-128, 5, 127}));
  p.clear_int32_data();
  for (int v : {0, 40000, 65535}) p.add_int32_data(v);
  p.set_data_type(::onnx::TensorProto::UINT16);
  t = read(p);
  ASSERT_EQ(t.dtype(), DType::u16);
  EXPECT_EQ(t.to_vector<uint16_t>(), (std::vector<uint16_t>{0, 40000, 65535}));
  p.clear_int32_data();
  p.set_data_type(::onnx::TensorProto::UINT64);
  for (uint64_t v : {uint64_t{0}, uint64_t{1} << 63, ~uint64_t{0}}) p.add_uint64_data(v);
  t = read(p);
  ASSERT_EQ(t.dtype(), DType::u64);
  EXPECT_EQ(t.to_vector<uint64_t>(), (std::vector<uint64_t>{0, uint64_t{1} << 63, ~uint64_t{0}}));
  p.clear_uint64_data();
  p.set_data_type(::onnx::TensorProto::UINT32);
  for (uint64_t v : {7u, 4000000000u, 1u}) p.add_uint64_data(v);
  t = read(p);
  ASSERT_EQ(t.dtype(), DType::u32);
  EXPECT_EQ(t.to_vector<uint32_t>(), (std::vector<uint32_t>{7, 4000000000u, 1}));
  p.add_uint64_data(9);  // 4 values for 3 elements
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { read(p); }), "uint64_data holds 4 values"));
  // raw_data: little-endian bytes, as for every fixed-size type.
  ::onnx::TensorProto r;
  r.set_data_type(::onnx::TensorProto::UINT16);
  r.add_dims(2);
  r.set_raw_data(std::string("\x01\x02\xff\xff", 4));
  t = read(r);
  EXPECT_EQ(t.to_vector<uint16_t>(), (std::vector<uint16_t>{0x0201, 0xffff}));
  // Strings: any bytes, NUL included, only in string_data.
  ::onnx::TensorProto st;
  st.set_data_type(::onnx::TensorProto::STRING);
  st.add_dims(2);
  st.add_string_data("cat");
  st.add_string_data(std::string("\0b", 2));
  t = read(st);
  ASSERT_EQ(t.dtype(), DType::string);
  EXPECT_EQ(t.string_at(0), "cat");
  EXPECT_EQ(t.string_at(1), std::string("\0b", 2));
  st.set_dims(0, 3);
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { read(st); }), "string_data holds 2 values"));
}

TEST(OnnxImport, SmallIntegerAndUnsignedTensorsFlowThroughTheGraph) {
  // An int8 initializer cast to float and added to a float input; a uint64 input through
  // Identity; a uint16 input compared with an initializer.
  OnnxModel m(13);
  m.input("x", F, {3});
  m.input("u", ::onnx::TensorProto::UINT64, {2});
  ::onnx::TensorProto q;
  q.set_name("q");
  q.set_data_type(::onnx::TensorProto::INT8);
  q.add_dims(3);
  for (int v : {-3, 0, 100}) q.add_int32_data(v);
  *m.graph()->add_initializer() = q;
  m.node("Cast", {"q"}, {"qf"}).i("to", ::onnx::TensorProto::FLOAT);
  m.node("Add", {"x", "qf"}, {"y"});
  m.node("Identity", {"u"}, {"v"});
  m.node("Cast", {"x"}, {"xi"}).i("to", ::onnx::TensorProto::INT16);
  m.output("y");
  m.output("v", ::onnx::TensorProto::UINT64);
  m.output("xi", ::onnx::TensorProto::INT16);
  Graph g;
  io::ImportResult r = io::import_onnx_bytes(g, m.bytes());
  const io::Signature& sig = r.signatures.at("serving_default");
  const Tensor u = Tensor::from_vector(std::vector<uint64_t>{~uint64_t{0}, 3}, {2});
  const Tensor x = Tensor::from_vector(std::vector<float>{1.5f, 2, -7.25f}, {3});
  Session sess(g);
  const auto out = sess.run({{sig.inputs.at("x"), x}, {sig.inputs.at("u"), u}},
                            {sig.outputs.at("y"), sig.outputs.at("v"), sig.outputs.at("xi")});
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{-1.5f, 2, 92.75f}));
  EXPECT_TRUE(out[1].equals(u));
  ASSERT_EQ(out[2].dtype(), DType::i16);
  EXPECT_EQ(out[2].to_vector<int16_t>(), (std::vector<int16_t>{1, 2, -7}));
}

TEST(OnnxImport, SqueezeUnsqueezeSplitArgumentsFedAtRunTime) {
  const Tensor x = random_tensor<float>({2, 1, 3}, 3);
  auto i64 = [](std::vector<int64_t> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
  OnnxModel sq(13);
  sq.input("x", F, {2, 1, 3});
  sq.input("axes", ::onnx::TensorProto::INT64, {1});
  sq.node("Squeeze", {"x", "axes"}, {"y"});
  sq.output("y");
  Tensor y = run_single(sq, {x, i64({-2})});
  ASSERT_EQ(y.shape(), Shape({2, 3}));
  EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());

  OnnxModel unsq(13);
  unsq.input("x", F, {2, 1, 3});
  unsq.input("axes", ::onnx::TensorProto::INT64, {2});
  unsq.node("Unsqueeze", {"x", "axes"}, {"y"});
  unsq.output("y");
  y = run_single(unsq, {x, i64({-1, 0})});  // unsorted, negative: [1, 2, 1, 3, 1]
  ASSERT_EQ(y.shape(), Shape({1, 2, 1, 3, 1}));
  EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());

  OnnxModel split(13);
  split.input("x", F, {2, 1, 3});
  split.input("sizes", ::onnx::TensorProto::INT64, {2});
  split.node("Split", {"x", "sizes"}, {"a", "b"}).i("axis", -1);
  split.output("a");
  split.output("b");
  Graph g;
  io::ImportResult r = io::import_onnx_bytes(g, split.bytes());
  const io::Signature& sig = r.signatures.at("serving_default");
  Session sess(g);
  const auto parts = sess.run({{sig.inputs.at("x"), x}, {sig.inputs.at("sizes"), i64({1, 2})}},
                              {sig.outputs.at("a"), sig.outputs.at("b")});
  ASSERT_EQ(parts[0].shape(), Shape({2, 1, 1}));
  ASSERT_EQ(parts[1].shape(), Shape({2, 1, 2}));
  for (int64_t n = 0; n < 2; ++n) {
    EXPECT_EQ(parts[0].at<float>({n, 0, 0}), x.at<float>({n, 0, 0}));
    for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(parts[1].at<float>({n, 0, c}), x.at<float>({n, 0, c + 1}));
  }
  // Sizes that do not add up to the axis, or are negative, fail the run with a message.
  for (const Tensor& bad : {i64({2, 2}), i64({4, -1})}) {
    const std::string msg = error_of<InvalidArgument>(
        [&] { sess.run({{sig.inputs.at("x"), x}, {sig.inputs.at("sizes"), bad}}, {sig.outputs.at("b")}); });
    EXPECT_TRUE(contains(msg, "split sizes fed at run time")) << msg;
  }
  // Repeated or out-of-range axes likewise (ONNX rejects them; counted, they would squeeze
  // the wrong dims).
  for (const Tensor& bad : {i64({5}), i64({-4})}) {
    const std::string msg = error_of<InvalidArgument>([&] { run_single(sq, {x, bad}); });
    EXPECT_TRUE(contains(msg, "axes fed at run time must be distinct")) << msg;
  }
  const std::string msg = error_of<InvalidArgument>([&] { run_single(unsq, {x, i64({1, 1})}); });
  EXPECT_TRUE(contains(msg, "axes fed at run time must be distinct")) << msg;
}

TEST(OnnxImport, SliceOneAttributesAndSliceThirteenInputsAgree) {
  const Tensor x = random_tensor<float>({3, 6}, 1);
  OnnxModel v1(9);
  v1.input("x", F, {3, 6});
  v1.node("Slice", {"x"}, {"y"}).ints("starts", {1, -4}).ints("ends", {1000, -1}).ints("axes", {0, 1});
  v1.output("y");
  OnnxModel v13(13);
  v13.input("x", F, {3, 6});
  v13.init("starts", Tensor::from_vector(std::vector<int64_t>{1, -4}, {2}));
  v13.init("ends", Tensor::from_vector(std::vector<int64_t>{INT64_MAX, -1}, {2}));
  v13.init("axes", Tensor::from_vector(std::vector<int64_t>{0, -1}, {2}));
  v13.node("Slice", {"x", "starts", "ends", "axes"}, {"y"});
  v13.output("y");
  const Tensor a = run_single(v1, {x}), b = run_single(v13, {x});
  ASSERT_EQ(a.shape(), Shape({2, 3}));
  EXPECT_TRUE(a.equals(b)) << a << " vs " << b;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(a.at<float>({i, j}), x.at<float>({i + 1, j + 2}));
}

TEST(OnnxImport, AxesAttributeBefore13AndInputFrom13) {
  const Tensor x = random_tensor<float>({1, 3, 1, 2}, 2);
  for (int opset : {11, 13}) {
    OnnxModel m(opset);
    m.input("x", F, {1, 3, 1, 2});
    if (opset >= 13) {
      m.init("ax", Tensor::from_vector(std::vector<int64_t>{0, 2}, {2}));
      m.init("ax2", Tensor::from_vector(std::vector<int64_t>{1}, {1}));
      m.node("Squeeze", {"x", "ax"}, {"s"});
      m.node("ReduceSum", {"s", "ax2"}, {"r"}).i("keepdims", 0);
      m.node("Unsqueeze", {"r", "ax2"}, {"y"});
    } else {
      m.node("Squeeze", {"x"}, {"s"}).ints("axes", {0, 2});
      m.node("ReduceSum", {"s"}, {"r"}).ints("axes", {1}).i("keepdims", 0);
      m.node("Unsqueeze", {"r"}, {"y"}).ints("axes", {1});
    }
    m.output("y");
    const Tensor y = run_single(m, {x});
    ASSERT_EQ(y.shape(), Shape({3, 1})) << "opset " << opset;
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_NEAR(y.at<float>({c, 0}), x.at<float>({0, c, 0, 0}) + x.at<float>({0, c, 0, 1}), 1e-6);
  }
}

TEST(OnnxImport, SoftmaxElevenCoercesTo2dThirteenUsesTheAxis) {
  const Tensor x = random_tensor<float>({2, 3, 4}, 3);
  auto softmax_of = [&](int opset) {
    OnnxModel m(opset);
    m.input("x", F, {2, 3, 4});
    m.node("Softmax", {"x"}, {"y"}).i("axis", 1);
    m.output("y");
    return run_single(m, {x});
  };
  const Tensor y11 = softmax_of(11), y13 = softmax_of(13);
  for (int64_t n = 0; n < 2; ++n) {
    double all = 0;
    for (int64_t i = 0; i < 12; ++i) all += std::exp(x.data<float>()[n * 12 + i]);
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t k = 0; k < 4; ++k) {
        double col = 0;
        for (int64_t cc = 0; cc < 3; ++cc) col += std::exp(x.at<float>({n, cc, k}));
        EXPECT_NEAR(y11.at<float>({n, c, k}), std::exp(x.at<float>({n, c, k})) / all, 1e-6);
        EXPECT_NEAR(y13.at<float>({n, c, k}), std::exp(x.at<float>({n, c, k})) / col, 1e-6);
      }
  }
}

TEST(OnnxImport, BatchNormalizationSixIsTestAndFifteen) {
  const Tensor x = random_tensor<float>({2, 3, 2, 2}, 4);
  const Tensor scale = random_tensor<float>({3}, 5), bias = random_tensor<float>({3}, 6);
  const Tensor mean = random_tensor<float>({3}, 7), var = random_tensor<float>({3}, 8, 0.5, 2.0);
  auto bn = [&](int opset, int is_test) {
    OnnxModel m(opset);
    m.input("x", F, {2, 3, 2, 2});
    m.init("s", scale);
    m.init("b", bias);
    m.init("m", mean);
    m.init("v", var);
    auto n = m.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}).f("epsilon", 1e-3f);
    if (opset < 7) n.i("is_test", is_test);
    m.output("y");
    return run_single(m, {x});
  };
  const Tensor inf6 = bn(6, 1), inf15 = bn(15, 0), train6 = bn(6, 0);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 4; ++i) {
        const float v = x.data<float>()[(n * 3 + c) * 4 + i];
        const double want = scale.data<float>()[c] * (v - mean.data<float>()[c]) /
                                std::sqrt(var.data<float>()[c] + 1e-3) + bias.data<float>()[c];
        EXPECT_NEAR(inf6.data<float>()[(n * 3 + c) * 4 + i], want, 1e-5);
        EXPECT_NEAR(inf15.data<float>()[(n * 3 + c) * 4 + i], want, 1e-5);
      }
  // is_test=0 normalises with the batch statistics: each channel comes out with mean
  // `bias`.
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 4; ++i) s += train6.data<float>()[(n * 3 + c) * 4 + i];
    EXPECT_NEAR(s / 8, bias.data<float>()[c], 1e-5);
  }
}

TEST(OnnxImport, ShapeArithmeticWithADynamicBatchFoldsIntoReshape) {
  // PyTorch's x.view(x.size(0), -1) and friends: Shape -> Gather -> Unsqueeze -> Concat ->
  // Reshape, with the batch known only at run time.
  OnnxModel m(13);
  m.input("x", F, {-1, 3, 4});
  m.init("zero", Tensor::from_vector(std::vector<int64_t>{0}, {1}));
  m.init("i0", Tensor(int64_t{0}));
  m.init("i1", Tensor(int64_t{1}));
  m.init("i2", Tensor(int64_t{2}));
  m.node("Shape", {"x"}, {"s"});
  m.node("Gather", {"s", "i0"}, {"n"});
  m.node("Gather", {"s", "i1"}, {"c"});
  m.node("Gather", {"s", "i2"}, {"w"});
  m.node("Mul", {"c", "w"}, {"cw"});
  m.node("Unsqueeze", {"n", "zero"}, {"n1"});
  m.node("Unsqueeze", {"cw", "zero"}, {"cw1"});
  m.node("Concat", {"n1", "cw1"}, {"shape"}).i("axis", 0);
  m.node("Reshape", {"x", "shape"}, {"y"});
  m.output("y");
  Graph g;
  io::ImportResult r = io::import_onnx_bytes(g, m.bytes(), {"", {}, {"y:0", "cw:0"}});
  EXPECT_EQ(r.tensors[0].shape(), Shape({-1, 12}));
  EXPECT_EQ(r.tensors[1].op().type(), "Const");  // 3 * 4, known at import time
  const Tensor x = random_tensor<float>({5, 3, 4}, 13);
  Session sess(g);
  const Tensor y = sess.run({{"x:0", x}}, {r.tensors[0]})[0];
  EXPECT_EQ(y.shape(), Shape({5, 12}));
  EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());
  // The shape value itself is still computed at run time when fetched.
  const Tensor s = sess.run({{"x:0", x}}, {"shape:0"})[0];
  EXPECT_EQ(s.to_vector<int64_t>(), (std::vector<int64_t>{5, 12}));

  // Two dims known only at run time: the shape tensor goes to Reshape at run time (its
  // 0 entries copy the input's dims, as ONNX's allowzero=0).
  OnnxModel two(13);
  two.input("x", F, {-1, -1});
  two.init("flip", Tensor::from_vector(std::vector<int64_t>{1, 0}, {2}));
  two.node("Shape", {"x"}, {"s"});
  two.node("Gather", {"s", "flip"}, {"t"});
  two.node("Reshape", {"x", "t"}, {"y"});
  two.output("y");
  io::ImportResult r2 = io::import_onnx_bytes(g, two.bytes(), {"t", {}, {"y:0"}});
  const Tensor x2 = random_tensor<float>({2, 3}, 14);
  const Tensor y2 = Session(g).run({{io::onnx_tensor_name("x", "t"), x2}}, {r2.tensors[0]})[0];
  EXPECT_EQ(y2.shape(), Shape({3, 2}));
  EXPECT_EQ(y2.to_vector<float>(), x2.to_vector<float>());
}

TEST(OnnxImport, OpTableMatchesDocsOnnxOpsMd) {
  // docs/onnx_ops.md is generated from the table: SLUICE_UPDATE_DOCS=1 rewrites it.
  std::string text =
      "# ONNX ops Sluice imports\n\n"
      "Generated from the importer's op table (`io::onnx_supported_ops()`, io/onnx/onnx_ops_*.cc);\n"
      "`tests/test_onnx_import.cc` fails when they differ (`SLUICE_UPDATE_DOCS=1 build/tests/test_onnx_import\n"
      "--gtest_filter=*Docs*` rewrites this file). Default domain (`ai.onnx`), opsets 1 to 17. Any other op\n"
      "type, and the attribute combinations a row does not list, raise one `Unimplemented` error naming\n"
      "every such op (type, domain, version) before anything is built.\n\n"
      "| op | handled |\n|---|---|\n";
  for (const auto& op : io::onnx_supported_ops()) text += "| " + op.op_type + " | " + op.notes + " |\n";
  const char* src = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "SLUICE_SOURCE_DIR is set by ctest";
  const std::string path = std::string(src) + "/docs/onnx_ops.md";
  if (std::getenv("SLUICE_UPDATE_DOCS")) {
    std::ofstream(path) << text;
  }
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), text) << "docs/onnx_ops.md is out of date: run with SLUICE_UPDATE_DOCS=1";
  EXPECT_GE(io::onnx_supported_ops().size(), 60u);
}

TEST(OnnxImport, ConvFollowedByReluOrClipFusesAndKeepsThePreActivationValue) {
  // Conv -> Relu and Conv -> Clip(-0.5, 0.5): the activations run inside FusedConv2D, and the
  // convolutions' own values (negative entries included) can still be fetched by name.
  OnnxModel m(13);
  m.input("x", F, {2, 3, 6, 6});
  m.init("w", random_tensor<float>({4, 3, 3, 3}, 21));
  m.init("b", random_tensor<float>({4}, 22));
  m.init("lo", Tensor(-0.5f));
  m.init("hi", Tensor(0.5f));
  m.node("Conv", {"x", "w", "b"}, {"c1"}).ints("pads", {1, 1, 1, 1});
  m.node("Relu", {"c1"}, {"r"});
  m.node("Conv", {"x", "w", "b"}, {"c2"}).ints("pads", {0, 1, 2, 1});
  m.node("Clip", {"c2", "lo", "hi"}, {"k"});
  m.output("r");
  m.output("k");
  Graph g;
  io::ImportResult r = io::import_onnx_bytes(g, m.bytes(), {"", {}, {"r:0", "k:0", "c1:0", "c2:0"}});
  const Tensor x = random_tensor<float>({2, 3, 6, 6}, 23);
  const std::vector<Tensor> got = Session(g).run({{"x:0", x}}, r.tensors);
  ASSERT_EQ(got[2].shape(), Shape({2, 4, 6, 6}));
  ASSERT_EQ(got[3].shape(), Shape({2, 4, 6, 6}));  // pads top 0, bottom 2
  int negative = 0;
  for (int64_t i = 0; i < got[2].num_elements(); ++i) {
    const float c = got[2].data<float>()[i];
    negative += c < 0;
    EXPECT_FLOAT_EQ(got[0].data<float>()[i], std::max(c, 0.0f));
  }
  for (int64_t i = 0; i < got[3].num_elements(); ++i)
    EXPECT_FLOAT_EQ(got[1].data<float>()[i], std::min(std::max(got[3].data<float>()[i], -0.5f), 0.5f));
  EXPECT_GT(negative, 0);
  int fused = 0;
  for (const Operation& op : g.operations()) {
    if (op.type() != "FusedConv2D") continue;
    for (const auto& [name, value] : op.attrs())
      if (name == "activation" && value.get<std::string>("activation") != "none") ++fused;
  }
  EXPECT_EQ(fused, 2);
}

TEST(OnnxImport, RecurrentInputsWithoutADirectionAxisAreInvalid) {
  // Found by mutating ONNX's conformance models through the fuzz_onnx harness: a bias of
  // rank 0 (or of unknown rank) once indexed past its dims while being split by direction.
  OnnxModel m(14);
  m.input("x", F, {2, 1, 3});
  m.input("b", F, {});
  m.init("w", random_tensor<float>({1, 8, 3}, 31));
  m.init("r", random_tensor<float>({1, 8, 2}, 32));
  m.node("LSTM", {"x", "w", "r", "b"}, {"y"}, "lstm").i("hidden_size", 2);
  m.output("y");
  Graph g;
  const std::string msg = error_of<InvalidArgument>([&] { io::import_onnx_bytes(g, m.bytes(), {}, "m.onnx"); });
  EXPECT_TRUE(contains(msg, "has no direction 0 at axis 0")) << msg;
  EXPECT_EQ(g.num_operations(), 0);
}
