// Writes the seed corpus of fuzz_onnx (tests/fuzz/corpus/fuzz_onnx/): small ONNX models
// built with the ONNX protobuf classes, one per op family and opset style, plus two
// TensorProto files. Deterministic (fixed seeds): rerunning rewrites identical files.
//
//   make_onnx_fuzz_corpus tests/fuzz/corpus/fuzz_onnx
#include <cstdio>
#include <fstream>
#include <string>

#include "../onnx_test_util.h"

using namespace sluice;
using sluice::testing::OnnxModel;
using sluice::testing::random_tensor;
constexpr int F = ::onnx::TensorProto::FLOAT;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  auto save = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
  };
  {
    OnnxModel m(13);
    m.input("input.1", F, {-1, 3, 6, 6});
    m.init("onnx::Conv_1", random_tensor<float>({4, 3, 3, 3}, 1));
    m.init("b", random_tensor<float>({4}, 2));
    m.init("fc", random_tensor<float>({2, 4}, 3));
    m.node("Conv", {"input.1", "onnx::Conv_1", "b"}, {"/c/Conv_output_0"}).ints("pads", {1, 1, 1, 1});
    m.node("Relu", {"/c/Conv_output_0"}, {"r"});
    m.node("MaxPool", {"r"}, {"p"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2});
    m.node("GlobalAveragePool", {"p"}, {"g"});
    m.node("Flatten", {"g"}, {"f"});
    m.node("Gemm", {"f", "fc"}, {"y"}).i("transB", 1);
    m.output("y");
    save("cnn.onnx", m.bytes());
  }
  {
    // MobileNetV2's inverted bottleneck (1x1 + Clip, depthwise 3x3 + Clip, 1x1), which the
    // importer builds as one FusedBottleneckConv2D, then a residual one at stride 1.
    OnnxModel m(13);
    m.input("x", F, {-1, 4, 8, 8});
    m.init("lo", Tensor(0.0f));
    m.init("hi", Tensor(6.0f));
    m.init("we", random_tensor<float>({12, 4, 1, 1}, 11));
    m.init("be", random_tensor<float>({12}, 12));
    m.init("wd", random_tensor<float>({12, 1, 3, 3}, 13));
    m.init("bd", random_tensor<float>({12}, 14));
    m.init("wp", random_tensor<float>({4, 12, 1, 1}, 15));
    m.init("bp", random_tensor<float>({4}, 16));
    m.node("Conv", {"x", "we", "be"}, {"e"});
    m.node("Clip", {"e", "lo", "hi"}, {"e6"});
    m.node("Conv", {"e6", "wd", "bd"}, {"d"}).i("group", 12).ints("pads", {1, 1, 1, 1});
    m.node("Clip", {"d", "lo", "hi"}, {"d6"});
    m.node("Conv", {"d6", "wp", "bp"}, {"p"});
    m.node("Add", {"x", "p"}, {"y"});
    m.output("y");
    save("bottleneck.onnx", m.bytes());
  }
  {
    // SqueezeNet's fire module (a 1x1 squeeze, then a 1x1 and a 3x3 expansion concatenated
    // along the channels), whose expansions and Concat the importer builds as one
    // FusedConcatConv2D.
    OnnxModel m(13);
    m.input("x", F, {-1, 6, 7, 7});
    m.init("ws", random_tensor<float>({3, 6, 1, 1}, 21));
    m.init("bs", random_tensor<float>({3}, 22));
    m.init("w1", random_tensor<float>({4, 3, 1, 1}, 23));
    m.init("b1", random_tensor<float>({4}, 24));
    m.init("w3", random_tensor<float>({5, 3, 3, 3}, 25));
    m.init("b3", random_tensor<float>({5}, 26));
    m.node("Conv", {"x", "ws", "bs"}, {"s"});
    m.node("Relu", {"s"}, {"sr"});
    m.node("Conv", {"sr", "w1", "b1"}, {"e1"});
    m.node("Relu", {"e1"}, {"e1r"});
    m.node("Conv", {"sr", "w3", "b3"}, {"e3"}).ints("pads", {1, 1, 1, 1});
    m.node("Relu", {"e3"}, {"e3r"});
    m.node("Concat", {"e1r", "e3r"}, {"y"}).i("axis", 1);
    m.output("y");
    save("fire.onnx", m.bytes());
  }
  {
    OnnxModel m(9);
    m.input("x", F, {3, 6});
    m.node("Slice", {"x"}, {"s"}).ints("starts", {1, -4}).ints("ends", {1000, -1}).ints("axes", {0, 1});
    m.node("Softmax", {"s"}, {"y"}).i("axis", 1);
    m.output("y");
    save("slice1_softmax.onnx", m.bytes());
  }
  {
    OnnxModel m(13);
    m.input("x", F, {1, 3, 1, 2});
    m.init("ax", Tensor::from_vector(std::vector<int64_t>{0, 2}, {2}));
    m.init("shape", Tensor::from_vector(std::vector<int64_t>{0, -1}, {2}));
    m.node("Squeeze", {"x", "ax"}, {"s"});
    m.node("ReduceSum", {"s", "ax"}, {"r"}).i("keepdims", 1);
    m.node("Reshape", {"s", "shape"}, {"t"});
    m.node("Transpose", {"t"}, {"u"}).ints("perm", {1, 0});
    m.node("Concat", {"u", "u"}, {"y"}).i("axis", 0);
    m.output("y");
    save("shapes13.onnx", m.bytes());
  }
  {
    OnnxModel m(14);
    m.input("X", F, {3, -1, 4});
    m.init("W", random_tensor<float>({1, 8, 4}, 1));
    m.init("R", random_tensor<float>({1, 8, 2}, 2));
    m.node("LSTM", {"X", "W", "R"}, {"Y", "Y_h"}).i("hidden_size", 2);
    m.output("Y_h");
    save("lstm.onnx", m.bytes());
  }
  {
    OnnxModel m(6);
    m.input("x", F, {2, 3, 2, 2});
    for (const char* n : {"s", "b", "m", "v"}) m.init(n, random_tensor<float>({3}, 4, 0.5, 1.5));
    m.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"n"}).i("is_test", 1);
    m.node("Add", {"n", "b"}, {"y"}).i("broadcast", 1).i("axis", 1);
    m.output("y");
    save("bn6_broadcast.onnx", m.bytes());
  }
  {
    OnnxModel m(13);
    m.input("a", ::onnx::TensorProto::INT64, {2, 3});
    m.input("i", ::onnx::TensorProto::INT32, {2});
    m.node("Gather", {"a", "i"}, {"g"}).i("axis", 1);
    m.node("Cast", {"g"}, {"c"}).i("to", F);
    m.node("Shape", {"c"}, {"sh"});
    m.node("Equal", {"a", "a"}, {"e"});
    m.node("Where", {"e", "a", "a"}, {"w"});
    m.node("ArgMax", {"c"}, {"y"}).i("axis", 1);
    m.output("y", ::onnx::TensorProto::INT64);
    m.output("w", ::onnx::TensorProto::INT64);
    save("int_ops.onnx", m.bytes());
  }
  {
    OnnxModel m(13);
    m.input("x", F, {2, 3});
    m.node("Constant", {}, {"k"}).tensor("value", Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}));
    m.node("Mul", {"x", "k"}, {"p"});
    m.node("Dropout", {"p"}, {"d"});
    m.node("ReduceLogSumExp", {"d"}, {"l"}).ints("axes", {1});
    m.node("Split", {"x"}, {"s0", "s1"}).i("axis", 0);
    m.node("Sum", {"s0", "s1", "l"}, {"y"});
    m.output("y");
    save("misc.onnx", m.bytes());
  }
  {
    OnnxModel m(13);
    m.input("x", F, {2, 3});
    m.node("LeakyRelu", {"x"}, {"y"});
    m.output("y");
    save("unsupported.onnx", m.bytes());
  }
  save("tensor_float.pb", sluice::testing::to_proto(random_tensor<float>({2, 3}, 5), "t").SerializeAsString());
  ::onnx::TensorProto p;
  p.set_data_type(::onnx::TensorProto::INT64);
  p.add_dims(3);
  for (int64_t v : {1, -2, 3}) p.add_int64_data(v);
  save("tensor_int64_typed.pb", p.SerializeAsString());
  return 0;
}
