// io::optimize_for_inference on small hand-built graphs: which rewrites fire, with which
// attrs, and that the optimized graph computes what the original did. (The CLI test
// test_cli_convert covers `sluice convert --optimize` on a trained CNN end to end.)
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <algorithm>
#include <functional>
#include <string>

using namespace sluice;

namespace {

// Runs signature `serving_default` of `def` (imported into a fresh graph) on `x`.
Tensor run_def(const io::GraphDef& def, const Tensor& x) {
  Graph g;
  io::ImportResult r = io::import_graph_def(g, def);
  const io::Signature& s = r.signatures.at("serving_default");
  Session session(g);
  return session.run({{s.inputs.at("x"), x}}, {s.outputs.at("y")})[0];
}

int count_ops(const io::GraphDef& def, const std::string& op) {
  int n = 0;
  for (const io::NodeDef& node : def.nodes) n += node.op == op;
  return n;
}

const AttrValue& attr(const AttrMap& attrs, const std::string& key) {
  for (const auto& kv : attrs)
    if (kv.first == key) return kv.second;
  throw NotFound("no attr " + key);
}

const io::NodeDef& only_node(const io::GraphDef& def, const std::string& op) {
  for (const io::NodeDef& node : def.nodes)
    if (node.op == op) return node;
  throw NotFound("no " + op + " node");
}

// x [3,4] -> MatMul with constant weights -> BiasAdd -> `activation`, as signature
// serving_default {x} -> {y}.
io::GraphDef dense_graph(const std::function<Output(const Scope&, const Output&)>& activation) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::f32, {-1, 4});
  std::vector<float> w(4 * 5), b(5);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * static_cast<float>(i % 7) - 0.8f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * static_cast<float>(i) - 0.2f;
  Output h = ops::bias_add(s, ops::matmul(s, x, ops::constant(s, Tensor::from_vector<float>(w, {4, 5}))),
                           ops::constant(s, Tensor::from_vector<float>(b, {5})));
  Output y = activation(s.named("y"), h);
  return io::graph_to_def(g, {{"serving_default", io::Signature{{{"x", x}}, {{"y", y}}}}});
}

Tensor input() {
  std::vector<float> v(12);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.3f * static_cast<float>(i) - 1.7f;
  return Tensor::from_vector<float>(v, {3, 4});
}

}  // namespace

TEST(OptimizeForInference, MatMulBiasAddActivationsFuseIntoOneFusedMatMul) {
  struct Case {
    const char* name;
    std::function<Output(const Scope&, const Output&)> activation;
    const char* fused;  // the FusedMatMul's activation attr
  };
  const Case cases[] = {
      {"relu", [](const Scope& s, const Output& h) { return ops::relu(s, h); }, "relu"},
      {"relu6", [](const Scope& s, const Output& h) { return ops::relu6(s, h); }, "relu6"},
      {"leaky_relu 0.1", [](const Scope& s, const Output& h) { return ops::leaky_relu(s, h, 0.1); }, "leaky_relu"},
      {"leaky_relu default", [](const Scope& s, const Output& h) { return ops::leaky_relu(s, h); }, "leaky_relu"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const io::GraphDef def = dense_graph(c.activation);
    io::OptimizeStats stats;
    const io::GraphDef opt = io::optimize_for_inference(def, &stats);
    EXPECT_EQ(stats.fused_matmuls, 1);
    EXPECT_EQ(count_ops(opt, "FusedMatMul"), 1);
    EXPECT_EQ(count_ops(opt, "MatMul") + count_ops(opt, "BiasAdd"), 0);
    const io::NodeDef& f = only_node(opt, "FusedMatMul");
    EXPECT_EQ(f.name, "y");  // the rewritten output keeps its name
    EXPECT_EQ(attr(f.attrs, "activation").get<std::string>("activation"), c.fused);
    const Tensor want = run_def(def, input()), got = run_def(opt, input());
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < want.num_elements(); ++i)
      EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-6) << i;
  }
}

TEST(OptimizeForInference, LeakyReluSlopeIsTheNodesOwnOrTheOpsDefault) {
  const io::GraphDef explicit_alpha = io::optimize_for_inference(
      dense_graph([](const Scope& s, const Output& h) { return ops::leaky_relu(s, h, 0.05); }));
  EXPECT_DOUBLE_EQ(attr(only_node(explicit_alpha, "FusedMatMul").attrs, "alpha").get<double>("alpha"), 0.05);

  // A LeakyRelu node without the attr (as an older graph file may have) means the op's
  // registered default, whatever that is.
  io::GraphDef def = dense_graph([](const Scope& s, const Output& h) { return ops::leaky_relu(s, h, 0.3); });
  for (io::NodeDef& n : def.nodes)
    if (n.op == "LeakyRelu")
      n.attrs.erase(std::remove_if(n.attrs.begin(), n.attrs.end(), [](const auto& kv) { return kv.first == "alpha"; }),
                    n.attrs.end());
  const double registered = attr(OpRegistry::global().get("LeakyRelu").attr_defaults, "alpha").get<double>("alpha");
  const io::GraphDef opt = io::optimize_for_inference(def);
  EXPECT_DOUBLE_EQ(attr(only_node(opt, "FusedMatMul").attrs, "alpha").get<double>("alpha"), registered);
  const Tensor want = run_def(def, input()), got = run_def(opt, input());
  for (int64_t i = 0; i < want.num_elements(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-6) << i;
}

TEST(OptimizeForInference, NegativeLeakyReluSlopeStaysUnfused) {
  // The fused gradient reads the slope's side from the output's sign, which a negative
  // slope flips: MatMul + BiasAdd still fuse, the activation stays its own node.
  const io::GraphDef def = dense_graph([](const Scope& s, const Output& h) { return ops::leaky_relu(s, h, -0.5); });
  io::OptimizeStats stats;
  const io::GraphDef opt = io::optimize_for_inference(def, &stats);
  EXPECT_EQ(count_ops(opt, "LeakyRelu"), 1);
  EXPECT_EQ(count_ops(opt, "FusedMatMul"), 1);
  EXPECT_EQ(attr(only_node(opt, "FusedMatMul").attrs, "activation").get<std::string>("activation"), "none");
  const Tensor want = run_def(def, input()), got = run_def(opt, input());
  for (int64_t i = 0; i < want.num_elements(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-6) << i;
}
