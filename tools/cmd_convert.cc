// `sluice convert IN OUT [--outputs names] [--optimize]`: any readable model to a frozen
// Sluice bundle, optionally optimized for inference (io::optimize_for_inference, io/optimize.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <set>

#include "command.h"
#include "model_util.h"

namespace sluice::cli {
namespace {

struct ConvertOptions {
  std::string in, out;
  std::vector<std::string> outputs;
  bool optimize = false;
};

// Signature "serving_default" for --outputs: those tensors, fed by the placeholders they need.
std::map<std::string, io::Signature> signature_for_outputs(const Model& m, const std::vector<std::string>& names) {
  io::Signature sig;
  std::vector<Node*> stack;
  for (const std::string& name : names) {
    const Output t = find_tensor(m, name);
    std::string key = name;
    if (key.size() > 2 && key.compare(key.size() - 2, 2, ":0") == 0) key.resize(key.size() - 2);
    sig.outputs[key] = t;
    stack.push_back(t.node());
  }
  const std::string lp = learning_phase_name(m.graph);
  std::set<Node*> seen;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    const Operation op(n);
    if (op.type() == "Placeholder" && op.name() != lp) sig.inputs[op.name()] = op.output(0);
    for (int i = 0; i < op.num_inputs(); ++i) stack.push_back(op.input(i).node());
    for (const Operation& c : op.control_inputs()) stack.push_back(c.node());
  }
  return {{"serving_default", sig}};
}

// Example inputs for a signature: normal noise (zeros for integer and bool inputs), unknown
// dims 2 for the batch and 8 elsewhere.
std::map<std::string, Tensor> example_inputs(const io::Signature& sig, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::map<std::string, Tensor> r;
  for (const auto& [key, o] : sig.inputs) {
    // An unknown rank: try a vector of two (the checks below report if that does not fit).
    std::vector<int64_t> dims = o.shape().known_rank() ? o.shape().dims() : std::vector<int64_t>{-1};
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] < 0) dims[i] = i == 0 ? 2 : 8;
    Tensor t = Tensor::zeros(DType::f64, Shape(dims));
    if (is_floating(o.dtype()))
      for (int64_t i = 0; i < t.num_elements(); ++i) t.data<double>()[i] = normal(rng);
    r[key] = t.cast(o.dtype());
  }
  return r;
}

std::vector<Tensor> run_signature(Session& s, const io::Signature& sig, const std::map<std::string, Tensor>& in) {
  FeedList feeds;
  for (const auto& [key, o] : sig.inputs) feeds.emplace_back(o, in.at(key));
  std::vector<Output> fetches;
  for (const auto& kv : sig.outputs) fetches.push_back(kv.second);
  return s.run(feeds, fetches);
}

double median_ms(Session& s, const io::Signature& sig, const std::map<std::string, Tensor>& in) {
  run_signature(s, sig, in);
  std::vector<double> ms;
  const auto start = std::chrono::steady_clock::now();
  while (ms.size() < 5 || (ms.size() < 200 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 0.5)) {
    const auto t0 = std::chrono::steady_clock::now();
    run_signature(s, sig, in);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void convert(const ConvertOptions& o) {
  const std::unique_ptr<Model> m = open_model(o.in);
  std::vector<std::string> output_names;
  for (const std::string& list : o.outputs)
    for (size_t b = 0, e; b <= list.size(); b = e + 1) {
      e = std::min(list.find(',', b), list.size());
      if (e > b) output_names.push_back(list.substr(b, e - b));
    }
  const std::map<std::string, io::Signature> sigs =
      output_names.empty() ? m->signatures : signature_for_outputs(*m, output_names);
  SLUICE_REQUIRE(!sigs.empty(), InvalidArgument, "'", o.in,
                 "' has no signatures: name the tensors to keep with --outputs (e.g. --outputs pred:0)");

  // Freeze: variables become constants, the graph is cut to what the signatures need.
  std::vector<std::string> roots;
  for (const auto& [name, sig] : sigs)
    for (const auto& kv : sig.outputs) roots.push_back(kv.second.name());
  const Graph frozen = io::freeze_graph(*m->session, roots);
  std::map<std::string, io::Signature> frozen_sigs;
  for (const auto& [name, sig] : sigs) {
    io::Signature& f = frozen_sigs[name];
    for (const auto& [key, t] : sig.inputs)
      if (frozen.find_operation(t.node() ? Operation(t.node()).name() : ""))  // an unused input is dropped
        f.inputs[key] = frozen.tensor(t.name());
    for (const auto& [key, t] : sig.outputs) f.outputs[key] = frozen.tensor(t.name());
  }
  io::GraphDef def = io::graph_to_def(frozen, frozen_sigs);
  const int original_nodes = m->graph.num_operations(), frozen_nodes = static_cast<int>(def.nodes.size());
  io::OptimizeStats st;
  if (o.optimize) def = io::optimize_for_inference(def, &st);

  Graph g;
  const io::ImportResult imported = io::import_graph_def(g, def);
  Session sess(g);
  std::printf("%s (%s, %d nodes) -> frozen: %d nodes", o.in.c_str(), format_name(m->source.format), original_nodes,
              frozen_nodes);
  if (o.optimize) {
    std::printf(" -> optimized: %d nodes (%d constants folded, %d training-only nodes removed, %d batch norms "
                "folded, %d convolutions and %d matmuls fused)\n",
                st.nodes_after, st.folded_constants, st.removed_training, st.folded_batch_norms,
                st.fused_convolutions, st.fused_matmuls);
    // The optimized model must compute what the frozen one does: check every signature on
    // example inputs, then time both.
    Session before(frozen);
    for (const auto& [name, sig] : frozen_sigs) {
      const std::map<std::string, Tensor> in = example_inputs(sig, 1234);
      std::vector<Tensor> want;
      try {
        want = run_signature(before, sig, in);
      } catch (const Error& e) {
        std::fprintf(stderr, "warning: signature '%s' not checked: the frozen model does not run on example inputs: %s\n",
                     name.c_str(), e.what());
        continue;
      }
      const std::vector<Tensor> got = run_signature(sess, imported.signatures.at(name), in);
      size_t k = 0;
      for (const auto& kv : sig.outputs) {
        const Tensor& a = want[k];
        const Tensor& b = got[k++];
        SLUICE_REQUIRE(a.dtype() == b.dtype() && a.shape() == b.shape(), Internal, "optimization changed output '",
                       kv.first, "' of signature '", name, "': ", a.summary(), " became ", b.summary());
        double scale = 0, err = 0;
        for (int64_t i = 0; i < a.num_elements(); ++i) scale = std::max(scale, std::fabs(a.as_double(i)));
        for (int64_t i = 0; i < a.num_elements(); ++i) err = std::max(err, std::fabs(a.as_double(i) - b.as_double(i)));
        SLUICE_REQUIRE(err <= 1e-4 * std::max(scale, 1.0), Internal, "optimization changed output '", kv.first,
                       "' of signature '", name, "' by up to ", err, " (values up to ", scale, ")");
        std::printf("checked signature '%s' output '%s': max difference %.3g (values up to %.3g)\n", name.c_str(),
                    kv.first.c_str(), err, scale);
      }
      const double t0 = median_ms(before, sig, in), t1 = median_ms(sess, imported.signatures.at(name), in);
      std::printf("signature '%s' on the example inputs: frozen %.3f ms, optimized %.3f ms (median; %.2fx)\n",
                  name.c_str(), t0, t1, t0 / t1);
    }
  } else {
    std::printf("\n");
  }
  io::save_model(o.out, sess, imported.signatures);
  std::printf("wrote bundle %s (signatures:", o.out.c_str());
  for (const auto& kv : imported.signatures) std::printf(" %s", kv.first.c_str());
  std::printf(")\n");
}

void add_convert(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("convert", "Convert any readable model to a frozen Sluice bundle");
  sub->footer(
      "The bundle keeps the model's signatures (or one 'serving_default' signature for --outputs,\n"
      "fed by the placeholders those outputs need), with variables frozen into constants.\n"
      "--optimize rewrites it for inference as TensorFlow's optimize_for_inference: constant\n"
      "folding, training-only nodes removed (dropout, identities), batch normalization folded\n"
      "into the preceding convolution or dense layer, Conv2D+BiasAdd(+Relu) fused; the result is\n"
      "checked against the frozen model on example inputs and both are timed.\n\n"
      "Examples:\n"
      "  sluice convert export/mnist mnist_frozen --optimize\n"
      "  sluice convert frozen.pb regression_bundle --outputs pred:0\n"
      "  sluice convert model.onnx onnx_bundle");
  auto o = std::make_shared<ConvertOptions>();
  sub->add_option("in", o->in, "any model `sluice inspect` reads")->required();
  sub->add_option("out", o->out, "bundle folder to create (must not exist)")->required();
  sub->add_option("--outputs", o->outputs, "tensors to keep, comma-separated (e.g. pred:0,probs:0)");
  sub->add_flag("--optimize", o->optimize, "optimize for inference (checked and timed)");
  sub->callback([o] { convert(*o); });
}
SLUICE_CLI_COMMAND(add_convert);

}  // namespace
}  // namespace sluice::cli
