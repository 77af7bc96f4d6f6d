// Graph files: JSON round trips of every dtype, shape and attr kind; imports that give
// bit-identical results; prefix imports, input maps and return elements (and their
// errors); freezing; corrupt and hostile files.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "test_util.h"
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

namespace fs = std::filesystem;

// Deterministic f32 test data in [-1, 1).
Tensor data(const Shape& shape, uint32_t seed) {
  Tensor t(DType::f32, shape);
  uint32_t s = seed * 2654435761u + 1;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(s >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return t;
}

Tensor one_hot_rows(int64_t n, int64_t c) {
  Tensor t = Tensor::zeros(DType::f32, {n, c});
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i * c + (i * 7 + 1) % c] = 1.0f;
  return t;
}

class TempDir : public testing::TempDirTest {
 protected:
};

// A small classifier with every layer family of this branch (Flatten, Dense, Dropout) and an
// Adam training step.
struct Mlp {
  Graph g;
  Output x, labels, probs, loss;
  Operation train, init;
};

Mlp build_mlp(int64_t seed) {
  Mlp m;
  m.g.set_random_seed(seed);
  Scope root(m.g);
  m.x = ops::placeholder(root.named("input"), DType::f32, {-1, 4, 5});
  m.labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 3});
  layers::Flatten flat;
  layers::Dense hidden(8, Activation::relu);
  layers::Dropout drop(0.25, 7);
  layers::Dense out(3, Activation::softmax);
  m.probs = out(root, drop(root, hidden(root, flat(root, m.x))));
  m.loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, m.labels, m.probs));
  optimizers::Adam adam(0.01);
  m.train = adam.minimize(root.sub("train"), m.loss);
  m.init = ops::global_variables_initializer(root);
  return m;
}

// ---- attr and tensor codec ----

bool same_double(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);  // payload: see docs
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same_attr(const AttrValue& a, const AttrValue& b) {
  if (a.value().index() != b.value().index()) return false;
  if (a.holds<double>()) return same_double(a.get<double>("a"), b.get<double>("b"));
  if (a.holds<std::vector<double>>()) {
    const auto &x = a.get<std::vector<double>>("a"), &y = b.get<std::vector<double>>("b");
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!same_double(x[i], y[i])) return false;
    return true;
  }
  return a == b;
}

TEST(GraphCodec, EveryAttrKindRoundTripsExactly) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  io::GraphDef def;
  def.random_seed = -42;
  io::NodeDef n;
  n.name = "scope/custom.op-1";
  n.op = "AnyOpName";  // the codec does not consult the registry
  n.device = "/cpu:0";
  n.attrs = {
      {"b_false", false},
      {"b_true", true},
      {"d_bool", DType::boolean},
      {"d_string", DType::string},
      {"d_u8", DType::u8},
      {"f_denormal", 5e-324},
      {"f_inf", -inf},
      {"f_max", std::numeric_limits<double>::max()},
      {"f_nan", nan},
      {"f_neg_zero", -0.0},
      {"f_pi", 3.141592653589793},
      {"f_tenth", 0.1},
      {"i_max", std::numeric_limits<int64_t>::max()},
      {"i_min", std::numeric_limits<int64_t>::min()},
      {"i_zero", int64_t{0}},
      {"lf", std::vector<double>{0.1, nan, inf, -0.0, 1e300}},
      {"lf_empty", std::vector<double>{}},
      {"li", std::vector<int64_t>{-1, std::numeric_limits<int64_t>::max(), 0}},
      {"li_empty", std::vector<int64_t>{}},
      {"ls", std::vector<std::string>{"a", "", "h\xC3\xA9llo \"q\" \\ \n\t \xF0\x9F\x98\x80"}},
      {"ls_empty", std::vector<std::string>{}},
      {"s", std::string("line1\nline2 \x01 \xE2\x82\xAC")},
      {"s_empty", std::string()},
      {"shape", Shape{-1, 0, 3}},
      {"shape_rank8", Shape{1, 2, 3, 4, 5, 6, 7, 8}},
      {"shape_scalar", Shape{}},
      {"shape_unknown", Shape::unknown_rank()},
      {"t_listed", Tensor{{1.5f, -0.0f}, {3.0f, 1e-45f}}},
      {"t_scalar", Tensor(int64_t{-7})},
  };
  n.outputs = {{DType::f32, Shape{-1, 3}}, {DType::i64, Shape::unknown_rank()}};
  def.nodes.push_back(n);
  io::NodeDef m;
  m.name = "second";
  m.op = "Other";
  m.inputs = {"scope/custom.op-1:1", "scope/custom.op-1:0"};
  m.control_inputs = {"scope/custom.op-1"};
  def.nodes.push_back(m);
  def.collections["my_key"] = {"second", "scope/custom.op-1"};
  def.learning_phase = "second";

  const std::string text = io::graph_def_to_json(def);
  const io::GraphDef back = io::graph_def_from_json(text);
  EXPECT_EQ(back.random_seed, -42);
  ASSERT_EQ(back.nodes.size(), 2u);
  const io::NodeDef& r = back.nodes[0];
  EXPECT_EQ(r.name, n.name);
  EXPECT_EQ(r.op, n.op);
  EXPECT_EQ(r.device, n.device);
  ASSERT_EQ(r.attrs.size(), n.attrs.size());
  for (size_t i = 0; i < n.attrs.size(); ++i) {
    EXPECT_EQ(r.attrs[i].first, n.attrs[i].first);
    EXPECT_TRUE(same_attr(r.attrs[i].second, n.attrs[i].second))
        << n.attrs[i].first << ": " << r.attrs[i].second.to_string() << " vs " << n.attrs[i].second.to_string();
  }
  EXPECT_EQ(r.outputs, n.outputs);
  EXPECT_EQ(back.nodes[1].inputs, m.inputs);
  EXPECT_EQ(back.nodes[1].control_inputs, m.control_inputs);
  EXPECT_EQ(back.collections, def.collections);
  EXPECT_EQ(back.learning_phase, "second");
  // Writing what was read gives the same text: the format is stable.
  EXPECT_EQ(io::graph_def_to_json(back), text);
  // Readable: short values stay on one line, non-finite floats are spelled out.
  EXPECT_TRUE(contains(text, "\"shape\": {\"shape\": [-1, 0, 3]}")) << text;
  EXPECT_TRUE(contains(text, "\"f_nan\": {\"float\": \"nan\"}")) << text;
  EXPECT_TRUE(contains(text, "\"f_inf\": {\"float\": \"-inf\"}")) << text;
  EXPECT_TRUE(contains(text, "\"shape_unknown\": {\"shape\": null}")) << text;
  EXPECT_EQ(text.rfind("{\n  \"format\": \"sluice-graph\",\n  \"version\": 1,", 0), 0u) << text.substr(0, 80);
}

TEST(GraphCodec, InvalidUtf8AttrsAreRefusedOnWrite) {
  io::GraphDef def;
  io::NodeDef n;
  n.name = "n";
  n.op = "Op";
  n.attrs = {{"label", std::string("bad \xFF byte")}};
  def.nodes.push_back(n);
  std::string m = error_of<InvalidArgument>([&] { io::graph_def_to_json(def); });
  EXPECT_TRUE(contains(m, "node 'n'") && contains(m, "attr 'label'") && contains(m, "UTF-8")) << m;
}

// Every dtype, scalar / empty / listed / base64-sized shapes, and awkward values: Consts
// exported and imported give the same bytes when run.
TEST(GraphFile, ConstsOfEveryDtypeAndShapeRoundTripBitIdentically) {
  Graph g;
  Scope root(g);
  std::vector<Tensor> values;
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  Tensor weird_f32 = Tensor::from_vector<float>(
      {fnan, -fnan, std::numeric_limits<float>::infinity(), -0.0f, 1e-45f, std::numeric_limits<float>::max(),
       std::numeric_limits<float>::lowest(), 0.1f},
      {8});
  uint32_t payload_nan = 0x7fc01234u;  // a NaN with a payload must survive bit for bit
  std::memcpy(weird_f32.data<float>() + 1, &payload_nan, 4);
  values.push_back(weird_f32);
  values.push_back(Tensor::from_vector<double>({-0.0, 5e-324, std::numeric_limits<double>::max(), 0.1,
                                                std::numeric_limits<double>::quiet_NaN()},
                                               {5}));
  values.push_back(Tensor::from_vector<int32_t>({std::numeric_limits<int32_t>::min(), -1, 0,
                                                 std::numeric_limits<int32_t>::max()},
                                                {2, 2}));
  values.push_back(Tensor::from_vector<int64_t>({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}, {2}));
  values.push_back(Tensor::from_vector<uint8_t>({0, 255, 7}, {3, 1}));
  values.push_back(Tensor::from_vector<bool>({true, false, true}, {3}));
  for (DType dt : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::boolean}) {
    values.push_back(Tensor::ones(dt, {}));                      // scalar
    values.push_back(Tensor::zeros(dt, {0}));                    // empty
    values.push_back(Tensor::zeros(dt, {2, 0, 3}));              // empty, rank 3
    values.push_back(data({7, 5}, static_cast<uint32_t>(dt)).cast(dt));  // 35 elements: base64
    values.push_back(data({1, 2, 1, 2, 1, 2, 1, 2}, 9).cast(dt));        // rank 8
  }
  std::vector<Output> consts;
  for (size_t i = 0; i < values.size(); ++i)
    consts.push_back(ops::constant(root.named("c" + std::to_string(i)), values[i]));
  Output s = ops::placeholder(root.named("string_input"), DType::string, Shape::unknown_rank());
  (void)s;

  const std::string text = io::graph_to_json(g);
  Graph g2;
  io::import_graph(g2, text);
  Session sess(g2);
  for (size_t i = 0; i < values.size(); ++i) {
    const Tensor got = sess.run({}, {"c" + std::to_string(i) + ":0"})[0];
    EXPECT_TRUE(got.equals(values[i])) << i << ": " << got.to_string() << " vs " << values[i].to_string();
  }
  EXPECT_EQ(g2.operation("string_input").node()->output_dtypes[0], DType::string);
  EXPECT_EQ(io::graph_to_json(g2), text);
}

// ---- whole models ----

TEST_F(TempDir, ImportedTrainingGraphTrainsBitIdentically) {
  Mlp a = build_mlp(11);
  io::write_graph(a.g, path("mlp.json"));
  Graph b = io::read_graph(path("mlp.json"));
  EXPECT_EQ(b.random_seed(), 11);
  EXPECT_EQ(b.num_operations(), a.g.num_operations());
  EXPECT_EQ(io::graph_to_json(b), io::graph_to_json(a.g));
  EXPECT_EQ(b.global_variables().size(), a.g.global_variables().size());
  EXPECT_EQ(b.trainable_variables().size(), 4u);
  EXPECT_EQ(learning_phase(b).name(), learning_phase(a.g).name());

  Session sa(a.g), sb(b);
  sa.run({}, {}, {a.init});
  sb.run({}, {}, {ops::global_variables_initializer(Scope(b))});  // through the imported initializer map
  const Tensor x = data({6, 4, 5}, 1), y = one_hot_rows(6, 3), yes(true);
  const std::string probs = a.probs.name(), loss = a.loss.name(), train = a.train.name();
  for (int step = 0; step < 5; ++step) {
    auto ra = sa.run({{a.x, x}, {a.labels, y}, {learning_phase(a.g), yes}}, {a.loss, a.probs}, {a.train});
    auto rb = sb.run({{"input:0", x}, {"labels:0", y}, {learning_phase(b), yes}}, {loss, probs}, {train});
    ASSERT_TRUE(ra[0].equals(rb[0])) << step << ": " << ra[0].to_string() << " vs " << rb[0].to_string();
    ASSERT_TRUE(ra[1].equals(rb[1])) << step;
  }
  for (const Operation& v : a.g.global_variables())
    EXPECT_TRUE(sa.variable_value(v.name()).equals(sb.variable_value(v.name()))) << v.name();
  // Inference (dropout off) agrees too.
  EXPECT_TRUE(sa.run({{a.x, x}}, {a.probs})[0].equals(sb.run({{"input:0", x}}, {probs})[0]));
}

TEST(GraphImport, PrefixThreeTimesWithSharedInput) {
  Mlp a = build_mlp(5);
  const std::string text = io::graph_to_json(a.g);
  Graph ens;
  Scope root(ens);
  Output x = ops::placeholder(root.named("input"), DType::f32, {-1, 4, 5});
  std::vector<TensorRef> outs;
  for (int i = 1; i <= 3; ++i) {
    io::ImportOptions opt;
    opt.prefix = "model_00" + std::to_string(i);
    opt.input_map = {{"input:0", x}};
    opt.return_elements = {a.probs.name(), a.train.name()};
    io::ImportResult r = io::import_graph(ens, text, opt);
    ASSERT_EQ(r.tensors.size(), 1u);
    ASSERT_EQ(r.operations.size(), 1u);
    EXPECT_EQ(r.tensors[0].name(), opt.prefix + "/" + a.probs.name());
    EXPECT_EQ(r.operations[0].name(), opt.prefix + "/" + a.train.name());
    outs.push_back(r.tensors[0]);
  }
  EXPECT_EQ(ens.operation("model_002/dense/kernel").type(), "VariableV2");
  EXPECT_EQ(ens.global_variables("model_002").size(), a.g.global_variables().size());
  EXPECT_EQ(ens.trainable_variables("model_003/").size(), 4u);
  EXPECT_EQ(ens.global_variables().size(), 3 * a.g.global_variables().size());
  EXPECT_EQ(ens.variable_initializer(ens.operation("model_001/dense/kernel")).name(), "model_001/dense/kernel/Assign");
  // The first import's flag became the graph's learning phase; the others kept their own.
  EXPECT_EQ(learning_phase(ens).name(), "model_001/keras_learning_phase:0");
  EXPECT_EQ(ens.operation("model_002/keras_learning_phase").type(), "PlaceholderWithDefault");
  // Importing under a taken prefix fails and adds nothing.
  const int before = ens.num_operations();
  io::ImportOptions again;
  again.prefix = "model_002";
  std::string m = error_of<AlreadyExists>([&] { io::import_graph(ens, text, again); });
  EXPECT_TRUE(contains(m, "'model_002/input'") && contains(m, "another prefix")) << m;
  EXPECT_EQ(ens.num_operations(), before);

  // Each member computes what the original computes with the same weights.
  Session se(ens), sa(a.g);
  se.run({}, {}, {ops::global_variables_initializer(root)});
  sa.run({}, {}, {a.init});
  const Tensor in = data({9, 4, 5}, 3);
  const Tensor want = sa.run({{a.x, in}}, {a.probs})[0];
  auto got = se.run({{x, in}}, outs);
  for (const Tensor& t : got) EXPECT_TRUE(t.equals(want));
  // Members are independent: new weights in model_002 change only its output.
  se.set_variable_value("model_002/dense/bias", Tensor::ones(DType::f32, {8}));
  got = se.run({{x, in}}, outs);
  EXPECT_TRUE(got[0].equals(want));
  EXPECT_FALSE(got[1].equals(want));
  EXPECT_TRUE(got[2].equals(want));
}

// Issue 10: one learning phase per graph. An imported graph's flag is mapped onto the
// target's flag by default; an explicit input_map entry for it still wins.
TEST(GraphImport, LearningPhaseFollowsTheTargetGraphsFlagUnlessMapped) {
  Mlp a = build_mlp(3);
  const std::string text = io::graph_to_json(a.g);
  Graph g;
  Scope root(g);
  Output flag = learning_phase(g);  // g has its own flag before the import
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 4, 5});
  io::ImportOptions pinned, shared;
  shared.prefix = "shared";
  shared.input_map = {{"input", x}};
  shared.return_elements = {a.probs.name()};
  pinned = shared;
  pinned.prefix = "pinned";
  pinned.input_map["keras_learning_phase:0"] = ops::constant(root, Tensor(false));
  Output ps = io::import_graph(g, text, shared).tensors[0];
  Output pp = io::import_graph(g, text, pinned).tensors[0];
  EXPECT_EQ(learning_phase(g), flag);  // unchanged
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor in = data({4, 4, 5}, 8);
  auto off = sess.run({{x, in}}, {ps, pp});
  auto on = sess.run({{x, in}, {flag, Tensor(true)}}, {ps, pp});
  EXPECT_FALSE(on[0].equals(off[0]));  // "shared" follows the graph's flag: dropout on
  EXPECT_TRUE(on[1].equals(off[1]));   // "pinned" was mapped to false: still inference
  EXPECT_TRUE(off[0].equals(off[1]));
}

TEST(GraphImport, InputMapAndReturnElementErrors) {
  Graph src;
  Scope s(src);
  Output in = ops::placeholder(s.named("input"), DType::f32, {-1, 3});
  Output w = ops::constant(s.named("w"), Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}});
  Output y = ops::matmul(s.named("y"), in, w);
  (void)y;
  const std::string text = io::graph_to_json(src);

  Graph g;
  Scope root(g);
  Output f64 = ops::placeholder(root.named("f64"), DType::f64, {-1, 3});
  Output wide = ops::placeholder(root.named("wide"), DType::f32, {-1, 4});
  Output good = ops::placeholder(root.named("good"), DType::f32, {2, 3});
  const int before = g.num_operations();
  auto import = [&](io::ImportOptions o) { return io::import_graph(g, text, o); };
  io::ImportOptions o;
  o.prefix = "p";
  o.input_map = {{"input:0", f64}};
  std::string m = error_of<InvalidArgument>([&] { import(o); });
  EXPECT_TRUE(contains(m, "'input:0' of dtype float32") && contains(m, "'f64:0' of dtype float64")) << m;
  o.input_map = {{"input:0", wide}};
  m = error_of<InvalidArgument>([&] { import(o); });
  EXPECT_TRUE(contains(m, "[?,3]") && contains(m, "'wide:0'") && contains(m, "[?,4]")) << m;
  o.input_map = {{"nope:0", good}};
  m = error_of<NotFound>([&] { import(o); });
  EXPECT_TRUE(contains(m, "input_map key 'nope:0'")) << m;
  o.input_map = {{"input:1", good}};
  m = error_of<NotFound>([&] { import(o); });
  EXPECT_TRUE(contains(m, "'input:1'") && contains(m, "1 outputs")) << m;
  o.input_map = {{"input:x", good}};
  EXPECT_THROW(import(o), InvalidArgument);
  Graph other;
  o.input_map = {{"input:0", ops::placeholder(Scope(other), DType::f32, {-1, 3})}};
  m = error_of<InvalidArgument>([&] { import(o); });
  EXPECT_TRUE(contains(m, "not an element of the target graph")) << m;
  o.input_map = {{"input:0", Output()}};
  EXPECT_THROW(import(o), InvalidArgument);
  o.input_map = {};
  o.return_elements = {"missing:0"};
  m = error_of<NotFound>([&] { import(o); });
  EXPECT_TRUE(contains(m, "return element 'missing:0'")) << m;
  o.return_elements = {"y:3"};
  m = error_of<NotFound>([&] { import(o); });
  EXPECT_TRUE(contains(m, "'y:3'") && contains(m, "1 outputs")) << m;
  o.return_elements = {"missing"};
  EXPECT_THROW(import(o), NotFound);
  o.return_elements = {};
  o.prefix = "bad//prefix";
  EXPECT_THROW(import(o), InvalidArgument);
  EXPECT_EQ(g.num_operations(), before);  // every failure left the graph untouched

  // Working case: the mapped input's shape is more specific, shapes follow it; a mapped
  // return element gives the tensor it was mapped to.
  o = {};
  o.prefix = "p";
  o.input_map = {{"input", good}};
  o.return_elements = {"y:0", "input:0", "w:0", "y"};
  io::ImportResult r = import(o);
  ASSERT_EQ(r.tensors.size(), 3u);
  EXPECT_EQ(r.tensors[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(r.tensors[1], good);
  EXPECT_EQ(r.tensors[2].name(), "p/w:0");
  EXPECT_EQ(r.operations.at(0).name(), "p/y");
  Session sess(g);
  auto out = sess.run({{good, Tensor{{1.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 1.0f}}}}, {r.tensors[0]});
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{1, 2, 5, 6}));
  // Without a prefix, names clash with nodes of the same name.
  Graph h;
  ops::placeholder(Scope(h).named("w"), DType::f32, {});
  m = error_of<AlreadyExists>([&] { io::import_graph(h, text); });
  EXPECT_TRUE(contains(m, "'w'") && contains(m, "import under a prefix")) << m;
}

TEST(GraphImport, SignaturesAreStoredByNameAndResolvedUnderThePrefix) {
  Mlp a = build_mlp(2);
  io::Signature sig{{{"image", a.x}}, {{"scores", a.probs}}};
  const std::string text = io::graph_to_json(a.g, {{"serving_default", sig}});
  EXPECT_TRUE(contains(text, "\"image\": {\"name\": \"input:0\", \"dtype\": \"float32\", \"shape\": [-1, 4, 5]}")) << text;
  Graph g;
  io::ImportOptions o;
  o.prefix = "m";
  io::ImportResult r = io::import_graph(g, text, o);
  ASSERT_EQ(r.signatures.count("serving_default"), 1u);
  EXPECT_EQ(r.signatures["serving_default"].inputs.at("image").name(), "m/input:0");
  EXPECT_EQ(r.signatures["serving_default"].outputs.at("scores").name(), "m/" + a.probs.name());
  Graph other;
  Output foreign = ops::placeholder(Scope(other), DType::f32, {});
  std::string m = error_of<InvalidArgument>([&] { io::graph_to_json(a.g, {{"s", {{{"x", foreign}}, {{"y", a.probs}}}}}); });
  EXPECT_TRUE(contains(m, "signature 's'") && contains(m, "not an element of this graph")) << m;
}

// ---- freezing ----

TEST_F(TempDir, FrozenGraphRunsWithoutInitialisationBitIdentically) {
  Mlp a = build_mlp(21);
  Session sa(a.g);
  sa.run({}, {}, {a.init});
  const Tensor x = data({8, 4, 5}, 4), y = one_hot_rows(8, 3);
  for (int i = 0; i < 3; ++i) sa.run({{a.x, x}, {a.labels, y}, {learning_phase(a.g), Tensor(true)}}, {}, {a.train});
  Graph frozen = io::freeze_graph(sa, {a.probs.name()});
  for (const Operation& op : frozen.operations()) {
    EXPECT_NE(op.type(), "VariableV2") << op.name();
    EXPECT_NE(op.type(), "ApplyAdam") << op.name();
    EXPECT_NE(op.type(), "Assign") << op.name();
  }
  EXPECT_FALSE(frozen.find_operation("labels"));  // not needed by the output
  EXPECT_EQ(frozen.operation("dense/kernel").type(), "Const");  // names preserved
  EXPECT_TRUE(frozen.global_variables().empty());
  EXPECT_EQ(frozen.random_seed(), 21);
  const Tensor test_x = data({16, 4, 5}, 5);
  const Tensor want = sa.run({{a.x, test_x}}, {a.probs})[0];
  Session sf(frozen);
  EXPECT_TRUE(sf.run({{"input:0", test_x}}, {a.probs.name()})[0].equals(want));
  // A frozen graph survives a file round trip, and still drives its dropout.
  io::write_graph(frozen, path("frozen.json"));
  Graph back = io::read_graph(path("frozen.json"));
  Session sb(back);
  EXPECT_TRUE(sb.run({{"input:0", test_x}}, {a.probs.name()})[0].equals(want));
  EXPECT_FALSE(sb.run({{"input:0", test_x}, {learning_phase(back), Tensor(true)}}, {a.probs.name()})[0].equals(want));
  // Later training does not change the frozen values.
  sa.run({{a.x, x}, {a.labels, y}}, {}, {a.train});
  EXPECT_TRUE(sf.run({{"input:0", test_x}}, {a.probs.name()})[0].equals(want));

  std::string m = error_of<InvalidArgument>([&] { io::freeze_graph(sa, {a.train.name()}); });
  EXPECT_TRUE(contains(m, "writes a variable")) << m;
  m = error_of<NotFound>([&] { io::freeze_graph(sa, {"nope:0"}); });
  EXPECT_TRUE(contains(m, "'nope:0'")) << m;
  EXPECT_THROW(io::freeze_graph(sa, {}), InvalidArgument);
  Mlp fresh = build_mlp(1);
  Session uninit(fresh.g);
  m = error_of<FailedPrecondition>([&] { io::freeze_graph(uninit, {fresh.probs.name()}); });
  EXPECT_TRUE(contains(m, "'dense/kernel'") || contains(m, "'dense_1/kernel'")) << m;
}

// ---- hostile files ----

// A hand-written graph file with one node spliced in.
std::string file_with(const std::string& nodes) {
  return std::string(R"({"format": "sluice-graph", "version": 1, "nodes": [)") + nodes + "]}";
}

const char* kX = R"({"name": "x", "op": "Placeholder", "attrs": {"dtype": {"dtype": "float32"}, "shape": {"shape": [3, 2]}}})";

TEST(GraphFileErrors, BadNodesAreTypedErrorsNamingTheNode) {
  Graph g;
  auto import = [&](const std::string& text) {
    io::import_graph(g, text);
    g = Graph();  // reached only when a case wrongly imports: keep the next case independent
  };
  std::string m = error_of<NotFound>([&] { import(file_with(R"({"name": "n", "op": "Bogus"})")); });
  EXPECT_TRUE(contains(m, "'n'") && contains(m, "Op type not registered 'Bogus'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(file_with(std::string(kX) + R"(, {"name": "y", "op": "Neg", "inputs": ["ghost:0"]})"));
  });
  EXPECT_TRUE(contains(m, "node 'y' (Neg)") && contains(m, "unknown node 'ghost'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(file_with(R"({"name": "a", "op": "Neg", "inputs": ["b:0"]}, {"name": "b", "op": "Neg", "inputs": ["a:0"]})"));
  });
  EXPECT_TRUE(contains(m, "node 'a' (Neg)") && contains(m, "comes later") && contains(m, "cycle")) << m;
  m = error_of<InvalidArgument>([&] { import(file_with(std::string(kX) + ", " + kX)); });
  EXPECT_TRUE(contains(m, "duplicate node name 'x'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(file_with(std::string(kX) + R"(, {"name": "y", "op": "Neg", "inputs": ["x"]})"));
  });
  EXPECT_TRUE(contains(m, "'x' must be 'node_name:index'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(file_with(std::string(kX) + R"(, {"name": "y", "op": "MatMul", "inputs": ["x:0", "x:0"], "attrs": {"transpose_a": {"int": 1}}})"));
  });
  EXPECT_TRUE(contains(m, "'y' (MatMul)") && contains(m, "transpose_a") && contains(m, "bool")) << m;
  m = error_of<InvalidArgument>([&] {
    import(file_with(std::string(kX) + R"(, {"name": "y", "op": "Neg", "inputs": ["x:0"], "attrs": {"colour": {"int": 1}}})"));
  });
  EXPECT_TRUE(contains(m, "'y' (Neg)") && contains(m, "unknown attr 'colour'")) << m;
  m = error_of<InvalidArgument>([&] { import(file_with(R"({"name": "x", "op": "Placeholder"})")); });
  EXPECT_TRUE(contains(m, "'x' (Placeholder)") && contains(m, "missing required attr 'dtype'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(file_with(std::string(kX) + R"(, {"name": "y", "op": "MatMul", "inputs": ["x:0", "x:0"]})"));
  });
  EXPECT_TRUE(contains(m, "'y' (MatMul)") && contains(m, "[3,2]")) << m;  // shape function error
  m = error_of<InvalidArgument>([&] {
    import(file_with(R"({"name": "x", "op": "Placeholder", "attrs": {"dtype": {"dtype": "float32"}}, "outputs": [{"dtype": "int32", "shape": null}]})"));
  });
  EXPECT_TRUE(contains(m, "'x' (Placeholder)") && contains(m, "records outputs (int32<unknown>)")) << m;
  m = error_of<InvalidArgument>([&] { import(file_with(R"({"name": "bad name", "op": "NoOp"})")); });
  EXPECT_TRUE(contains(m, "invalid op name 'bad name'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(R"({"format": "sluice-graph", "version": 1, "learning_phase": "x", "nodes": [)" + std::string(kX) + "]}");
  });
  EXPECT_TRUE(contains(m, "learning_phase 'x'") && contains(m, "PlaceholderWithDefault")) << m;
  m = error_of<InvalidArgument>([&] {
    import(R"({"format": "sluice-graph", "version": 1, "collections": {"variables": ["nope"]}, "nodes": []})");
  });
  EXPECT_TRUE(contains(m, "collection 'variables'") && contains(m, "'nope'")) << m;
  m = error_of<InvalidArgument>([&] {
    import(R"({"format": "sluice-graph", "version": 1, "variable_initializers": {"x": "x"}, "nodes": [)" +
           std::string(kX) + "]}");
  });
  EXPECT_TRUE(contains(m, "'x' is a Placeholder, not a variable")) << m;
  EXPECT_EQ(g.num_operations(), 0);
}

TEST(GraphFileErrors, MalformedFilesAreDataLossWithThePlace) {
  Graph g;
  auto import = [&](const std::string& text) { io::import_graph(g, text); };
  std::string m = error_of<DataLoss>([&] { import("{\"format\": \"sluice-graph\", "); });
  EXPECT_TRUE(contains(m, "invalid JSON") && contains(m, "parse error")) << m;
  m = error_of<DataLoss>([&] { import(R"({"format": "tf-graph", "version": 1, "nodes": []})"); });
  EXPECT_TRUE(contains(m, "\"tf-graph\" is not \"sluice-graph\"")) << m;
  m = error_of<Unimplemented>([&] { import(R"({"format": "sluice-graph", "version": 3, "nodes": []})"); });
  EXPECT_TRUE(contains(m, "version 3")) << m;
  m = error_of<DataLoss>([&] { import(R"({"format": "sluice-graph", "version": 1})"); });
  EXPECT_TRUE(contains(m, "missing key \"nodes\"")) << m;
  m = error_of<DataLoss>([&] { import(R"({"format": "sluice-graph", "version": 1, "nodes": [], "extra": 1})"); });
  EXPECT_TRUE(contains(m, "unknown key \"extra\"")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": 5})")); });
  EXPECT_TRUE(contains(m, "nodes[0] ('n').op") && contains(m, "expected a string, got number")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "float32", "shape": [2], "values": [1]}}}})")); });
  EXPECT_TRUE(contains(m, "attrs.value.tensor") && contains(m, "1 values for shape [2]")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "uint8", "shape": [1], "values": [256]}}}})")); });
  EXPECT_TRUE(contains(m, "256 is outside the range of uint8")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "float32", "shape": [1], "values": [1e39]}}}})")); });
  EXPECT_TRUE(contains(m, "outside the float32 range")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "bool", "shape": [2], "base64": "AAI="}}}})")); });
  EXPECT_TRUE(contains(m, "bool element 1 has byte value 2")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "int32", "shape": [1000000000000], "base64": "AAAA"}}}})")); });
  EXPECT_TRUE(contains(m, "base64 data of 4 characters")) << m;  // checked before any allocation
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "int32", "shape": [4611686018427387904, 4], "base64": ""}}}})")); });
  EXPECT_TRUE(contains(m, "overflows")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "uint8", "shape": [3], "base64": "AA*A"}}}})")); });
  EXPECT_TRUE(contains(m, "invalid base64 character")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "uint8", "shape": [1], "base64": "AB=="}}}})")); });
  EXPECT_TRUE(contains(m, "non-canonical")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "int32", "shape": [-1]}}}})")); });
  EXPECT_TRUE(contains(m, "not fully defined")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Const", "attrs": {"value": {"tensor": {"dtype": "string", "shape": [1], "values": [1]}}}})")); });
  EXPECT_TRUE(contains(m, "values[0]: expected a string, got number")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Placeholder", "attrs": {"dtype": {"dtype": "float16"}}})")); });
  EXPECT_TRUE(contains(m, "unknown dtype \"float16\"")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Placeholder", "attrs": {"shape": {"shape": [1,2,3,4,5,6,7,8,9]}}})")); });
  EXPECT_TRUE(contains(m, "rank 9")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Placeholder", "attrs": {"shape": {"shape": [-2]}}})")); });
  EXPECT_TRUE(contains(m, "dimension 0 is -2")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Placeholder", "attrs": {"dtype": {"dtype": "float32", "int": 1}}})")); });
  EXPECT_TRUE(contains(m, "exactly one key")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Fill", "attrs": {"value": {"float": "NaNa"}}})")); });
  EXPECT_TRUE(contains(m, "\"NaNa\"")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Fill", "attrs": {"value": {"complex": 1}}})")); });
  EXPECT_TRUE(contains(m, "unknown attr kind \"complex\"")) << m;
  m = error_of<DataLoss>([&] { import(file_with(R"({"name": "n", "op": "Fill", "attrs": {"seed": {"int": 9223372036854775808}}})")); });
  EXPECT_TRUE(contains(m, "exceeds the int64 range")) << m;
  // Nesting is bounded before parsing: a deep document is refused quickly, without recursion.
  m = error_of<DataLoss>([&] { import(std::string(100000, '[') + std::string(100000, ']')); });
  EXPECT_TRUE(contains(m, "nesting deeper than 16")) << m;
  m = error_of<DataLoss>([&] { import(""); });
  EXPECT_TRUE(contains(m, "invalid JSON")) << m;
  m = error_of<DataLoss>([&] { import("[]"); });
  EXPECT_TRUE(contains(m, "top level") && contains(m, "expected an object")) << m;
  EXPECT_THROW(import(std::string("{\"format\": \"sluice-graph\xFF\"}")), DataLoss);  // invalid UTF-8
  EXPECT_EQ(g.num_operations(), 0);
}

// A small but complete file: placeholders, listed and base64 Consts of several dtypes,
// ops with attrs, a variable with its initializer, collections, the learning phase and a
// signature.
std::string small_file() {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 3});
  Output w = ops::constant(root.named("w"), Tensor{{1.0f, -2.0f}, {0.5f, 4.0f}, {3.0f, 0.25f}});
  Output b = ops::variable(root.named("b"), {2}, DType::f32, Initializer::constant(0.5));
  Output big = ops::constant(root.named("big"), data({4, 5}, 2));
  Output mask = ops::constant(root.named("mask"), Tensor::from_vector<bool>(std::vector<bool>(20, true), {4, 5}));
  Output sel = ops::select(root.named("sel"), mask, big, ops::zeros_like(root, big));
  Output y = ops::add(root.named("y"), ops::matmul(root.named("mm"), x, w, false, false), b);
  Output d = ops::dropout(root.named("drop"), y, learning_phase(g), 0.5, 3);
  Output r = ops::reshape(root.named("r"), sel, {-1, 10});
  (void)d;
  (void)r;
  return io::graph_to_json(g, {{"serve", {{{"in", x}}, {{"out", y}}}}});
}

// Imports a (possibly corrupted) text and runs every op it holds; only sluice::Error may
// come out. Returns whether the import succeeded.
bool import_and_run(const std::string& text, const std::string& what) {
  Graph g;
  try {
    io::import_graph(g, text);
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": non-sluice exception from import: " << e.what();
    return false;
  }
  try {
    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(Scope(g))});
    std::vector<TensorRef> fetches;
    for (const Operation& op : g.operations())
      if (op.num_outputs() > 0 && op.type() != "Placeholder" && op.type() != "VariableV2") fetches.emplace_back(op.output(0));
    FeedList feeds;
    if (auto x = g.find_operation("x"); x && x->type() == "Placeholder" && x->output(0).dtype() == DType::f32 &&
                                        x->output(0).shape().compatible_with(Shape{2, 3}))
      feeds.push_back({x->output(0), data({2, 3}, 1)});
    for (const TensorRef& f : fetches) {
      try {
        sess.run(feeds, {f});
      } catch (const Error&) {
      }
    }
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": non-sluice exception: " << e.what();
  }
  return true;
}

TEST(GraphFileErrors, TruncatedAtEveryLengthIsACleanError) {
  const std::string text = small_file();
  ASSERT_GT(text.size(), 1000u);
  ASSERT_TRUE(import_and_run(text, "intact"));
  for (size_t len = 0; len + 1 < text.size(); ++len) {  // all but the final newline
    Graph g;
    try {
      io::import_graph(g, text.substr(0, len));
      ADD_FAILURE() << "truncation at " << len << " was accepted";
    } catch (const DataLoss& e) {
      ASSERT_TRUE(contains(e.what(), "graph file: ")) << len << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "truncation at " << len << ": " << e.what();
    }
    EXPECT_EQ(g.num_operations(), 0);
  }
}

TEST(GraphFileErrors, FlippedBytesNeverCrash) {
  const std::string text = small_file();
  int failures = 0, accepted = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    for (unsigned char mask : {0x01, 0x02, 0x20, 0x80}) {
      std::string bad = text;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
      if (import_and_run(bad, "flip at " + std::to_string(i))) {
        ++accepted;
      } else {
        ++failures;
      }
    }
  }
  // Most flips break the syntax or a name; some land in values and are legitimately accepted.
  EXPECT_GT(failures, 0);
  EXPECT_GT(accepted, 0);
}

TEST_F(TempDir, FilesAreWrittenAtomicallyAndReadErrorsNameThePath) {
  Mlp a = build_mlp(1);
  const std::string p = path("g.json");
  io::write_graph(a.g, p);
  io::write_graph(a.g, p);  // replaces
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "g.json");  // no temporary left behind
  }
  EXPECT_EQ(files, 1);
  std::string m = error_of<NotFound>([&] { io::write_graph(a.g, path("no/such/dir/g.json")); });
  EXPECT_TRUE(contains(m, "no/such/dir/g.json")) << m;
  m = error_of<NotFound>([&] { io::read_graph(path("missing.json")); });
  EXPECT_TRUE(contains(m, "missing.json")) << m;
  m = error_of<InvalidArgument>([&] { io::read_graph(dir_.string()); });
  EXPECT_TRUE(contains(m, "not a regular file")) << m;
  std::ofstream(path("bad.json")) << "{\"format\": \"sluice-graph\", \"version\": 1, \"nodes\": [{\"name\": \"n\", \"op\": \"Bogus\"}]}";
  Graph g;
  m = error_of<NotFound>([&] { io::import_graph_file(g, path("bad.json")); });
  EXPECT_TRUE(contains(m, "graph file '" + path("bad.json") + "'") && contains(m, "Bogus")) << m;
  std::ofstream(path("trunc.json")) << "{\"format\": ";
  m = error_of<DataLoss>([&] { io::read_graph(path("trunc.json")); });
  EXPECT_TRUE(contains(m, "graph file '" + path("trunc.json") + "': invalid JSON")) << m;
}

}  // namespace
}  // namespace sluice
