// libFuzzer target: graph files (io/graph_io.h). The input is the JSON text, optionally
// followed by a NUL byte and control bytes (JSON text cannot hold a raw NUL) that steer the
// import: prefix, input map, return elements and which outputs to run.
//
//   graph_def_from_json(text)            parse and validate
//   graph_def_to_json / from_json again  the text round-trips (a fixed point after one pass)
//   import_graph_def into a fresh graph  (no prefix) then run it
//   import_graph_def into a graph that already has nodes (a placeholder "input", a
//     constant, a variable, the learning phase), under a prefix, with an input map and
//     return elements, then run that graph
//
// Runs feed every Placeholder a small random tensor of its dtype and (made concrete) shape,
// initialise the variables, sometimes set the learning phase, and fetch up to eight
// outputs one run each. Every failure must be a typed sluice::Error other than Internal;
// a failed import must leave the target graph unchanged (all or nothing).
#include <optional>

#include "fuzz_util.h"

namespace sluice::fuzz::graph_file {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

// Feeds for every Placeholder of `g` (false when one cannot be fed sensibly).
inline bool make_feeds(const Graph& g, Bytes& in, FeedList* feeds) {
  for (const Operation& op : g.operations()) {
    if (op.type() != "Placeholder") continue;
    const Output x = op.output(0);
    Shape shape;
    if (!concrete_shape(x.shape(), in, &shape)) return false;
    feeds->emplace_back(x, random_tensor(x.dtype(), shape, in.u64()));
  }
  return true;
}

// Runs up to eight outputs of `g`, one run each, after initialising its variables.
inline void run_graph(const Graph& g, Bytes& in) {
  FeedList feeds;
  if (!make_feeds(g, in, &feeds)) return;
  std::vector<Output> outputs;
  for (const Operation& op : g.operations())
    for (int i = 0; i < op.num_outputs(); ++i) outputs.push_back(op.output(i));
  if (outputs.empty()) return;
  Session sess(g, SessionOptions{1});
  try {
    sess.run(feeds, {}, {ops::global_variables_initializer(Scope(g))});
  } catch (const Error& e) {
    expect_typed(e);
  }
  const bool training = in.flag();
  for (int k = 0; k < 8; ++k) {
    // Default (no control bytes): the last outputs, where the model's results usually are.
    const size_t pick = outputs.size() - 1 - static_cast<size_t>(in.range(0, 255)) % outputs.size();
    const size_t at = k == 0 ? pick : (pick + outputs.size() - static_cast<size_t>(k) % outputs.size()) % outputs.size();
    FeedList f = feeds;
    if (training) f.emplace_back(learning_phase(g), Tensor(true));
    try {
      const std::vector<Tensor> r = sess.run(f, {outputs[at]});
      SLUICE_FUZZ_CHECK(r.size() == 1 && r[0].dtype() == outputs[at].dtype());
      SLUICE_FUZZ_CHECK(outputs[at].shape().compatible_with(r[0].shape()));
    } catch (const Error& e) {
      expect_typed(e);
    }
    if (static_cast<size_t>(k + 1) >= outputs.size()) break;
  }
}

inline void import_into_populated_graph(const io::GraphDef& def, Bytes& in) {
  Graph g;
  Scope root(g);
  const Output input = ops::placeholder(root.named("input"), DType::f32, Shape{-1, 4});
  const Output constant = ops::constant(root.named("c"), Tensor::from_vector<float>({1, 2, 3, 4}, Shape{4}));
  const Output var = ops::variable(root.named("v"), Shape{4}, DType::f32, Initializer::ones());
  const Output phase = learning_phase(g);
  const std::vector<Output> existing = {input, constant, var, phase};

  static const char* const kPrefixes[] = {"model_001", "", "a/b", "imported", "input", "bad prefix!", "v"};
  io::ImportOptions opt;
  opt.prefix = kPrefixes[in.range(0, 6)];
  // Map each placeholder (by default) and some other outputs of the file: to a new
  // placeholder of the recorded dtype and shape, or to an existing tensor (which may not fit).
  for (const io::NodeDef& n : def.nodes) {
    const bool is_placeholder = n.op == "Placeholder" || n.op == "PlaceholderWithDefault";
    const uint8_t choice = in.byte();
    if (!is_placeholder && choice < 224) continue;
    if (is_placeholder && choice >= 192) continue;
    const int idx = n.outputs.empty() ? 0 : static_cast<int>(choice % n.outputs.size());
    const std::string key = n.name + (choice & 1 ? "" : ":" + std::to_string(idx));
    if (!n.outputs.empty() && choice % 3 != 2) {
      const auto& [dtype, shape] = n.outputs[static_cast<size_t>(idx)];
      try {
        opt.input_map[key] = ops::placeholder(root.named("feed"), dtype, shape);
      } catch (const Error& e) {
        expect_typed(e);
      }
    } else {
      opt.input_map[key] = existing[choice % existing.size()];
    }
  }
  // Return elements: the signatures' tensors, then a few nodes and tensors by name.
  for (const auto& [name, sig] : def.signatures) {
    for (const auto& kv : sig.inputs) opt.return_elements.push_back(kv.second.name);
    for (const auto& kv : sig.outputs) opt.return_elements.push_back(kv.second.name);
  }
  const int extra = static_cast<int>(in.range(0, 3));
  for (int k = 0; k < extra && !def.nodes.empty(); ++k) {
    const io::NodeDef& n = def.nodes[static_cast<size_t>(in.range(0, 255)) % def.nodes.size()];
    opt.return_elements.push_back(in.flag() ? n.name : n.name + ":" + std::to_string(in.range(0, 2)));
  }

  const int before = g.num_operations();
  std::optional<io::ImportResult> result;
  try {
    result = io::import_graph_def(g, def, opt);
  } catch (const Error& e) {
    expect_typed(e);
    SLUICE_FUZZ_CHECK(g.num_operations() == before);  // all or nothing
    return;
  }
  SLUICE_FUZZ_CHECK(result->tensors.size() + result->operations.size() == opt.return_elements.size());
  SLUICE_FUZZ_CHECK(g.num_operations() == before + static_cast<int>(def.nodes.size()));
  run_graph(g, in);
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const auto* text_end = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t text_size = text_end ? static_cast<size_t>(text_end - data) : size;
  const std::string text(reinterpret_cast<const char*>(data), text_size);
  Bytes in(data + std::min(size, text_size + 1), size - std::min(size, text_size + 1));

  io::GraphDef def;
  try {
    def = io::graph_def_from_json(text);
  } catch (const Error& e) {
    expect_typed(e);
    return 0;
  }
  // Writing what was read and reading it back is a fixed point.
  const std::string json = io::graph_def_to_json(def);
  SLUICE_FUZZ_CHECK(io::graph_def_to_json(io::graph_def_from_json(json)) == json);

  {
    Graph g;
    g.set_random_seed(def.random_seed);
    bool imported = false;
    try {
      io::import_graph_def(g, def);
      imported = true;
    } catch (const Error& e) {
      expect_typed(e);
      SLUICE_FUZZ_CHECK(g.num_operations() == 0);
    }
    if (imported) {
      SLUICE_FUZZ_CHECK(g.num_operations() == static_cast<int>(def.nodes.size()));
      // The imported graph writes back to the same nodes (names, ops, inputs, attrs).
      const io::GraphDef back = io::graph_to_def(g);
      SLUICE_FUZZ_CHECK(back.nodes.size() == def.nodes.size());
      for (size_t i = 0; i < back.nodes.size(); ++i) {
        SLUICE_FUZZ_CHECK(back.nodes[i].name == def.nodes[i].name && back.nodes[i].op == def.nodes[i].op);
        SLUICE_FUZZ_CHECK(back.nodes[i].inputs.size() == def.nodes[i].inputs.size());
      }
      run_graph(g, in);
    }
  }
  import_into_populated_graph(def, in);
  return 0;
}

}  // namespace sluice::fuzz::graph_file

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::graph_file::run(data, size);
}
#endif
