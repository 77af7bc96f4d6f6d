// `sluice run MODEL [--signature S] --input key=VALUE... [--fetch NAME]... [--output out.npz]
// [--repeat N] [--threads T]`: runs a signature (or any tensors) of any model the library reads.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "command.h"
#include "model_util.h"

namespace sluice::cli {
namespace {

struct RunOptions {
  std::string model;
  std::string signature = "serving_default";
  std::vector<std::string> inputs;
  std::vector<std::string> fetches;
  std::string output;
  int repeat = 0;
  int threads = 0;
};

const io::Signature& find_signature(const Model& m, const std::string& name) {
  auto it = m.signatures.find(name);
  if (it != m.signatures.end()) return it->second;
  std::string names;
  for (const auto& kv : m.signatures) names += (names.empty() ? "" : ", ") + kv.first;
  throw NotFound("the " + std::string(format_name(m.source.format)) + " '" + m.source.path +
                 "' has no signature '" + name + "' (" + (names.empty() ? "it has none" : "it has: " + names) +
                 "); feed and fetch tensors by name instead: --input X:0=... --fetch Y:0");
}

double percentile(std::vector<double> sorted, double p) {
  const double pos = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

void run(const RunOptions& o) {
  SessionOptions so;
  so.num_threads = o.threads;
  const std::unique_ptr<Model> m = open_model(o.model, so);

  // Inputs: "key=value", split at the first '=' (tensor names hold ':' but never '=').
  bool needs_signature = o.fetches.empty();
  for (const std::string& in : o.inputs) {
    const size_t eq = in.find('=');
    SLUICE_REQUIRE(eq != std::string::npos && eq > 0, InvalidArgument, "--input '", in,
                   "': expected KEY=FILE.npy, KEY=FILE.npz:NAME or KEY='[[1,2]]'");
    if (in.substr(0, eq).find(':') == std::string::npos) needs_signature = true;
  }
  const io::Signature* sig = needs_signature ? &find_signature(*m, o.signature) : nullptr;

  FeedList feeds;
  std::vector<std::string> fed_keys;
  int64_t batch = -1;
  for (const std::string& in : o.inputs) {
    const size_t eq = in.find('=');
    const std::string key = in.substr(0, eq), value = in.substr(eq + 1);
    Output target;
    if (key.find(':') != std::string::npos) {
      target = find_tensor(*m, key);
    } else {
      auto it = sig->inputs.find(key);
      if (it == sig->inputs.end()) {
        std::string keys;
        for (const auto& kv : sig->inputs) keys += (keys.empty() ? "" : ", ") + kv.first;
        throw InvalidArgument("signature '" + o.signature + "' has no input '" + key + "' (inputs: " + keys +
                              "); a tensor name needs its index: " + key + ":0");
      }
      target = it->second;
      fed_keys.push_back(key);
    }
    Tensor t = parse_tensor_arg(value, target.dtype());
    if (batch < 0 && t.rank() > 0) batch = t.dim(0);
    feeds.emplace_back(target, std::move(t));
  }
  if (sig && o.fetches.empty()) {
    std::string missing;
    for (const auto& kv : sig->inputs)
      if (std::find(fed_keys.begin(), fed_keys.end(), kv.first) == fed_keys.end() &&
          std::none_of(feeds.begin(), feeds.end(), [&](const auto& f) { return f.first.resolve(m->graph) == kv.second; }))
        missing += (missing.empty() ? "" : ", ") + kv.first + " (" + dtype_name(kv.second.dtype()) +
                   kv.second.shape().to_string() + ")";
    SLUICE_REQUIRE(missing.empty(), InvalidArgument, "signature '", o.signature, "' needs inputs: ", missing);
  }

  std::vector<std::string> names;
  std::vector<Output> fetches;
  if (!o.fetches.empty()) {
    for (const std::string& f : o.fetches) {
      names.push_back(f);
      fetches.push_back(find_tensor(*m, f));
    }
  } else {
    for (const auto& [key, out] : sig->outputs) {
      names.push_back(key);
      fetches.push_back(out);
    }
  }

  std::vector<Tensor> results = m->session->run(feeds, fetches);
  if (!o.output.empty()) {
    std::vector<std::pair<std::string, Tensor>> arrays;
    for (size_t i = 0; i < names.size(); ++i) arrays.emplace_back(names[i], results[i]);
    io::write_npz(o.output, arrays);
    std::cout << "wrote " << names.size() << " array" << (names.size() == 1 ? "" : "s") << " to " << o.output << "\n";
  } else {
    for (size_t i = 0; i < names.size(); ++i)
      std::cout << names[i] << ": " << results[i].to_string(1000) << "\n";
  }

  if (o.repeat > 0) {
    std::vector<double> ms;
    ms.reserve(static_cast<size_t>(o.repeat));
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < o.repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      m->session->run(feeds, fetches);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::sort(ms.begin(), ms.end());
    std::printf("latency over %d runs (after one warm-up run, %d threads): p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  "
                "min %.3f ms  max %.3f ms\n",
                o.repeat, m->session->thread_pool().num_threads(), percentile(ms, 50), percentile(ms, 90),
                percentile(ms, 99), ms.front(), ms.back());
    std::printf("throughput: %.1f runs/s", o.repeat / total);
    if (batch > 0) std::printf(", %.1f examples/s (batch %lld)", o.repeat * static_cast<double>(batch) / total,
                               static_cast<long long>(batch));
    std::printf("\n");
  }
}

void add_run(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("run", "Run a model's signature (or any of its tensors) on inputs");
  sub->footer(
      "An input KEY is a signature input key, or (containing ':') a tensor name such as X:0 -\n"
      "any tensor, not only placeholders. VALUE is a .npy file, FILE.npz:NAME (or a .npz with\n"
      "one array), or a JSON literal; values are converted to the input's dtype.\n"
      "Without --fetch the signature's outputs are computed (saved under their keys); each\n"
      "--fetch NAME computes that tensor instead (saved under NAME).\n\n"
      "Examples:\n"
      "  sluice run export/mnist --input image=digits.npy --output probs.npz\n"
      "  sluice run half_plus_two/00000123 --input x='[[1],[2],[5]]'\n"
      "  sluice run frozen.pb --input X:0='[3]' --fetch pred:0\n"
      "  sluice run model.onnx --input input=batch.npz:x --repeat 100 --threads 1");
  auto o = std::make_shared<RunOptions>();
  sub->add_option("model", o->model, "any model file or folder `sluice inspect` reads")->required();
  sub->add_option("--signature", o->signature, "signature to run")->capture_default_str();
  sub->add_option("--input", o->inputs, "KEY=FILE.npy | KEY=FILE.npz:NAME | KEY='[[1,2]]' (repeatable)");
  sub->add_option("--fetch", o->fetches, "tensor to compute, e.g. logits:0 (repeatable)");
  sub->add_option("--output", o->output, "write the outputs to this .npz instead of printing them");
  sub->add_option("--repeat", o->repeat, "time N more runs: latency percentiles and throughput")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--threads", o->threads, "intra-op threads (0: one per core)")->check(CLI::NonNegativeNumber);
  sub->callback([o] { run(*o); });
}
SLUICE_CLI_COMMAND(add_run);

}  // namespace
}  // namespace sluice::cli
