// Model bundles: save, load and run by signature with bit-identical results; what a bundle
// holds; every error path of save_model, load_model and LoadedModel::run; damaged bundles.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "test_util.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

namespace fs = std::filesystem;

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
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i * c + (i * 5 + 2) % c] = 1.0f;
  return t;
}

// A trained classifier: Flatten, Dense, Dropout, Dense with an Adam step (whose slot
// variables a serving bundle leaves out).
struct Model {
  Graph g;
  Output x, labels, probs, loss;
  Operation train;
  std::unique_ptr<Session> sess;
};

std::unique_ptr<Model> trained_model(int64_t seed, int steps = 5) {
  auto m = std::make_unique<Model>();
  m->g.set_random_seed(seed);
  Scope root(m->g);
  m->x = ops::placeholder(root.named("input"), DType::f32, {-1, 4, 5});
  m->labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 3});
  layers::Flatten flat;
  layers::Dense hidden(8, Activation::relu);
  layers::Dropout drop(0.25, 7);
  layers::Dense out(3, Activation::softmax);
  m->probs = out(root, drop(root, hidden(root, flat(root, m->x))));
  m->loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, m->labels, m->probs));
  optimizers::Adam adam(0.01);
  m->train = adam.minimize(root.sub("train"), m->loss);
  m->sess = std::make_unique<Session>(m->g);
  m->sess->run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor x = data({8, 4, 5}, 1), y = one_hot_rows(8, 3);
  for (int i = 0; i < steps; ++i)
    m->sess->run({{m->x, x}, {m->labels, y}, {learning_phase(m->g), Tensor(true)}}, {}, {m->train});
  return m;
}

std::map<std::string, io::Signature> signatures_of(const Model& m) {
  return {{"serving_default", {{{"image", m.x}}, {{"scores", m.probs}}}},
          {"evaluate", {{{"image", m.x}, {"labels", m.labels}}, {{"loss", m.loss}, {"scores", m.probs}}}}};
}

class Bundle : public testing::TempDirTest {
 protected:
  std::vector<std::string> listing(const fs::path& d) const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(Bundle, SavedModelRunsBySignatureBitIdentically) {
  auto m = trained_model(3);
  io::save_model(path("mlp"), *m->sess, signatures_of(*m));
  EXPECT_EQ(listing(dir_), std::vector<std::string>{"mlp"});  // no temporary folder left
  EXPECT_EQ(listing(path("mlp")), (std::vector<std::string>{"graph.json", "variables.ckpt"}));
  // Only what the signatures need: the model's four weights, no Adam slots, no training ops.
  std::vector<std::string> saved;
  for (const auto& v : io::list_variables(path("mlp/variables.ckpt"))) saved.push_back(v.name);
  std::sort(saved.begin(), saved.end());
  EXPECT_EQ(saved, (std::vector<std::string>{"dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel"}));
  const io::GraphDef def = io::graph_def_from_json(io::read_graph_file_text(path("mlp/graph.json")));
  for (const io::NodeDef& n : def.nodes) {
    EXPECT_NE(n.op, "ApplyAdam") << n.name;
    EXPECT_NE(n.op, "Assign") << n.name;
  }
  EXPECT_TRUE(def.variable_initializers.empty());
  EXPECT_EQ(def.signatures.at("serving_default").inputs.at("image").name, "input:0");

  io::LoadedModel model = io::load_model(path("mlp") + "/");
  EXPECT_EQ(model.signature_names(), (std::vector<std::string>{"evaluate", "serving_default"}));
  EXPECT_EQ(model.signature("serving_default").inputs.at("image").shape(), (Shape{-1, 4, 5}));
  const Tensor x = data({5, 4, 5}, 9), y = one_hot_rows(5, 3);
  auto want = m->sess->run({{m->x, x}, {m->labels, y}}, {m->probs, m->loss});
  auto scores = model.run("serving_default", {{"image", x}});
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_TRUE(scores.at("scores").equals(want[0]));
  auto eval = model.run("evaluate", {{"image", x}, {"labels", y}});
  EXPECT_TRUE(eval.at("scores").equals(want[0]));
  EXPECT_TRUE(eval.at("loss").equals(want[1]));
  // Weights equal the session's at save time, bit for bit.
  for (const std::string& name : saved)
    EXPECT_TRUE(model.session().variable_value(name).equals(m->sess->variable_value(name))) << name;
  // The learning phase came along and still drives dropout.
  auto train_mode = model.session().run({{"input:0", x}, {learning_phase(model.graph()), Tensor(true)}},
                                        {m->probs.name()});
  EXPECT_FALSE(train_mode[0].equals(want[0]));

  // Moving keeps it usable.
  io::LoadedModel moved = std::move(model);
  EXPECT_TRUE(moved.run("serving_default", {{"image", x}}).at("scores").equals(want[0]));
}

TEST_F(Bundle, RunFromManyThreadsMatchesSingleThreaded) {
  auto m = trained_model(4);
  io::save_model(path("m"), *m->sess, signatures_of(*m));
  const io::LoadedModel model = io::load_model(path("m"));
  std::vector<Tensor> inputs, want;
  for (int i = 0; i < 16; ++i) {
    inputs.push_back(data({1 + i % 5, 4, 5}, 100 + i));
    want.push_back(model.run("serving_default", {{"image", inputs.back()}}).at("scores"));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 50; ++r) {
        const int i = (t * 7 + r) % 16;
        if (!model.run("serving_default", {{"image", inputs[i]}}).at("scores").equals(want[i])) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(Bundle, FrozenGraphBundleHasNoVariables) {
  auto m = trained_model(5);
  Graph frozen = io::freeze_graph(*m->sess, {m->probs.name()});
  Session fs_sess(frozen);
  io::save_model(path("frozen"), fs_sess,
                 {{"serving_default", {{{"image", frozen.tensor("input:0")}}, {{"scores", frozen.tensor(m->probs.name())}}}}});
  EXPECT_TRUE(io::list_variables(path("frozen/variables.ckpt")).empty());
  io::LoadedModel model = io::load_model(path("frozen"));
  const Tensor x = data({3, 4, 5}, 2);
  EXPECT_TRUE(model.run("serving_default", {{"image", x}}).at("scores").equals(m->sess->run({{m->x, x}}, {m->probs})[0]));
}

TEST_F(Bundle, RunErrorsNameSignatureKeyAndTypes) {
  auto m = trained_model(6, 0);
  io::save_model(path("m"), *m->sess, signatures_of(*m));
  io::LoadedModel model = io::load_model(path("m"));
  const Tensor x = data({2, 4, 5}, 1);
  std::string e = error_of<NotFound>([&] { model.run("serve", {{"image", x}}); });
  EXPECT_TRUE(contains(e, "no signature 'serve'") && contains(e, "'evaluate', 'serving_default'")) << e;
  e = error_of<InvalidArgument>([&] { model.run("serving_default", {}); });
  EXPECT_TRUE(contains(e, "signature 'serving_default': missing input 'image' (float32[?,4,5])")) << e;
  e = error_of<InvalidArgument>([&] { model.run("serving_default", {{"image", x}, {"labels", x}}); });
  EXPECT_TRUE(contains(e, "unexpected input 'labels'") && contains(e, "'image'")) << e;
  e = error_of<InvalidArgument>([&] { model.run("serving_default", {{"image", x.cast(DType::f64)}}); });
  EXPECT_TRUE(contains(e, "input 'image' expects float32[?,4,5], got float64[2,4,5]")) << e;
  e = error_of<InvalidArgument>([&] { model.run("serving_default", {{"image", data({2, 20}, 1)}}); });
  EXPECT_TRUE(contains(e, "expects float32[?,4,5], got float32[2,20]")) << e;
  e = error_of<InvalidArgument>([&] { model.run("serving_default", {{"image", Tensor()}}); });
  EXPECT_TRUE(contains(e, "empty Tensor")) << e;
  e = error_of<InvalidArgument>([&] { model.run("evaluate", {{"image", x}}); });
  EXPECT_TRUE(contains(e, "missing input 'labels'")) << e;
}

TEST_F(Bundle, SaveErrorsLeaveNothingBehind) {
  auto m = trained_model(7, 0);
  const auto sigs = signatures_of(*m);
  std::string e = error_of<InvalidArgument>([&] { io::save_model(path("a"), *m->sess, {}); });
  EXPECT_TRUE(contains(e, "at least one signature")) << e;
  e = error_of<InvalidArgument>([&] { io::save_model(path("a"), *m->sess, {{"s", {{{"image", m->x}}, {}}}}); });
  EXPECT_TRUE(contains(e, "signature 's' has no outputs")) << e;
  e = error_of<InvalidArgument>([&] { io::save_model(path("a"), *m->sess, {{"s", {{}, {{"", m->probs}}}}}); });
  EXPECT_TRUE(contains(e, "empty output key")) << e;
  Graph other;
  Output foreign = ops::placeholder(Scope(other), DType::f32, {});
  e = error_of<InvalidArgument>([&] { io::save_model(path("a"), *m->sess, {{"s", {{}, {{"y", foreign}}}}}); });
  EXPECT_TRUE(contains(e, "not an element of this graph")) << e;
  e = error_of<NotFound>([&] { io::save_model(path("no/such/parent/a"), *m->sess, sigs); });
  EXPECT_TRUE(contains(e, "no/such/parent")) << e;
  // An uninitialised variable is reported before anything is written.
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  Output w = ops::variable(root.named("w"), {2, 2}, DType::f32, Initializer::ones());
  Output y = ops::matmul(root.named("y"), x, w);
  Session fresh(g);
  e = error_of<FailedPrecondition>([&] { io::save_model(path("a"), fresh, {{"s", {{{"x", x}}, {{"y", y}}}}}); });
  EXPECT_TRUE(contains(e, "not initialised") && contains(e, "'w'")) << e;
  EXPECT_TRUE(listing(dir_).empty());
  // Never over an existing bundle or file; an empty folder is fine.
  io::save_model(path("a"), *m->sess, sigs);
  e = error_of<AlreadyExists>([&] { io::save_model(path("a"), *m->sess, sigs); });
  EXPECT_TRUE(contains(e, "already exists")) << e;
  std::ofstream(path("file")) << "x";
  EXPECT_THROW(io::save_model(path("file"), *m->sess, sigs), AlreadyExists);
  fs::create_directories(path("empty"));
  io::save_model(path("empty"), *m->sess, sigs);
  EXPECT_EQ(listing(path("empty")), (std::vector<std::string>{"graph.json", "variables.ckpt"}));
  EXPECT_EQ(listing(dir_), (std::vector<std::string>{"a", "empty", "file"}));
}

TEST_F(Bundle, LoadErrorsNameTheFile) {
  auto m = trained_model(8, 1);
  io::save_model(path("good"), *m->sess, signatures_of(*m));
  auto copy = [&](const std::string& name) {
    fs::copy(path("good"), path(name), fs::copy_options::recursive);
    return path(name);
  };
  std::string e = error_of<NotFound>([&] { io::load_model(path("missing")); });
  EXPECT_TRUE(contains(e, "no model bundle at '" + path("missing") + "'")) << e;
  fs::create_directories(path("empty"));
  e = error_of<NotFound>([&] { io::load_model(path("empty")); });
  EXPECT_TRUE(contains(e, "not a model bundle (no graph.json)")) << e;
  // A save that died before its final rename leaves only a hidden temporary folder: the
  // bundle's own name does not exist, so nothing half-written can be loaded.
  fs::create_directories(path(".half.tmp-1-0"));
  fs::copy_file(path("good/graph.json"), path(".half.tmp-1-0/graph.json"));
  EXPECT_THROW(io::load_model(path("half")), NotFound);

  std::string p = copy("no_ckpt");
  fs::remove(p + "/variables.ckpt");
  e = error_of<NotFound>([&] { io::load_model(p); });
  EXPECT_TRUE(contains(e, "(no variables.ckpt)")) << e;

  p = copy("bad_json");
  {
    std::string text = io::read_graph_file_text(p + "/graph.json");
    std::ofstream(p + "/graph.json") << text.substr(0, text.size() / 2);
  }
  e = error_of<DataLoss>([&] { io::load_model(p); });
  EXPECT_TRUE(contains(e, p + "/graph.json") && contains(e, "invalid JSON")) << e;

  p = copy("no_sigs");
  {
    io::GraphDef def = io::graph_def_from_json(io::read_graph_file_text(p + "/graph.json"));
    def.signatures.clear();
    std::ofstream(p + "/graph.json") << io::graph_def_to_json(def);
  }
  e = error_of<DataLoss>([&] { io::load_model(p); });
  EXPECT_TRUE(contains(e, "holds no signatures")) << e;

  p = copy("truncated_ckpt");
  fs::resize_file(p + "/variables.ckpt", fs::file_size(p + "/variables.ckpt") - 10);
  EXPECT_THROW(io::load_model(p), DataLoss);

  p = copy("missing_var");
  {
    auto tensors = io::read_checkpoint(p + "/variables.ckpt");
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(), [](const auto& t) { return t.first == "dense/bias"; }),
                  tensors.end());
    fs::remove(p + "/variables.ckpt");
    io::write_checkpoint(p + "/variables.ckpt", tensors);
  }
  e = error_of<NotFound>([&] { io::load_model(p); });
  EXPECT_TRUE(contains(e, "dense/bias")) << e;

  p = copy("wrong_shape");
  {
    auto tensors = io::read_checkpoint(p + "/variables.ckpt");
    for (auto& t : tensors)
      if (t.first == "dense/bias") t.second = Tensor::zeros(DType::f32, {9});
    fs::remove(p + "/variables.ckpt");
    io::write_checkpoint(p + "/variables.ckpt", tensors);
  }
  e = error_of<InvalidArgument>([&] { io::load_model(p); });
  EXPECT_TRUE(contains(e, "dense/bias") && contains(e, "[9]")) << e;

  // The intact bundle still loads after all that.
  EXPECT_NO_THROW(io::load_model(path("good")));
}

TEST(LoadedModelParts, FromPartsRunsBySignatureAndRejectsForeignTensors) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1});
  Output y = ops::add(root.named("y"), ops::mul(root, x, ops::scalar_like(root, x, 0.5)),
                      ops::scalar_like(root, x, 2.0));
  auto sess = std::make_unique<Session>(g);
  io::LoadedModel m = io::LoadedModel::from_parts("half_plus_two", g, std::move(sess),
                                                  {{"serving_default", {{{"x", x}}, {{"y", y}}}}});
  EXPECT_EQ(m.source(), "half_plus_two");
  const Tensor out = m.run("serving_default", {{"x", Tensor({1.0f, 2.0f, 5.0f})}}).at("y");
  EXPECT_TRUE(out.equals(Tensor({2.5f, 3.0f, 4.5f})));

  Graph other;
  Output z = ops::placeholder(Scope(other).named("z"), DType::f32, {-1});
  const std::string msg = error_of<InvalidArgument>([&] {
    io::LoadedModel::from_parts("bad", g, std::make_unique<Session>(g),
                                {{"serving_default", {{{"x", z}}, {{"y", y}}}}});
  });
  EXPECT_TRUE(contains(msg, "key 'x'")) << msg;
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] {
    io::LoadedModel::from_parts("bad", g, std::make_unique<Session>(other), {});
  }), "not on its graph"));
}

}  // namespace
}  // namespace sluice
