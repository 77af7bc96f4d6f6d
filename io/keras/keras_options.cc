// Keras' per-layer weight options: trainable, the weights' initializers, regularizers and
// constraints. On load the config's trainable flag, kernel/bias regularizers and constraints and
// activity regularizer are set on the Sluice layer before its first call (so fine-tuning in
// Sluice freezes and penalises what Keras would); on save they are recovered from the ops each
// option put into the graph (the variable's initializer, "<weight>/regularizer/",
// "<weight>/constraint/", "<layer>/activity_regularizer/") and written as Keras serialises
// them ({"class_name": "GlorotUniform", "config": {"seed": null}}, {"class_name": "L2",
// "config": {"l2": 0.01}}, {"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}).
#include <cmath>
#include <optional>
#include <set>

#include "../../graph/recurrent_layers.h"
#include "keras_internal.h"

namespace sluice::io::keras {

namespace {

// ---------------------------------------------------------------- reading configs

// Classes whose "kernel"/"bias" weights Sluice's set_kernel_*/set_bias_* reach, with the
// config key prefixes Keras uses for those weights.
struct WeightKeys {
  std::vector<std::string> kernel;  // e.g. {"depthwise_", "pointwise_"}
  bool bias = true;
  bool activity = true;  // the activity regularizer goes through the layer's call
};

const std::map<std::string, WeightKeys>& weight_keys() {
  static const std::map<std::string, WeightKeys> m = {
      {"Dense", {{"kernel_"}, true, true}},
      {"Conv1D", {{"kernel_"}, true, true}},
      {"Conv2D", {{"kernel_"}, true, true}},
      {"Convolution1D", {{"kernel_"}, true, true}},
      {"Convolution2D", {{"kernel_"}, true, true}},
      {"Conv2DTranspose", {{"kernel_"}, true, true}},
      {"DepthwiseConv2D", {{"depthwise_"}, true, true}},
      {"SeparableConv2D", {{"depthwise_", "pointwise_"}, true, true}},
      {"Embedding", {{"embeddings_"}, false, true}},
      {"LSTM", {{"kernel_"}, true, true}},
      {"GRU", {{"kernel_"}, true, true}},
      {"SimpleRNN", {{"kernel_"}, true, true}},
  };
  return m;
}

// Keys naming a regularizer or constraint of weights Sluice cannot attach one to.
const std::vector<std::string>& other_option_keys() {
  static const std::vector<std::string> k = {
      "recurrent_regularizer", "recurrent_constraint", "gamma_regularizer", "gamma_constraint",
      "beta_regularizer",      "beta_constraint",      "depthwise_regularizer", "depthwise_constraint",
      "pointwise_regularizer", "pointwise_constraint", "embeddings_regularizer", "embeddings_constraint",
      "kernel_regularizer",    "kernel_constraint",    "bias_regularizer",      "bias_constraint",
      "activity_regularizer"};
  return k;
}

const json* non_null(const json& c, const std::string& key) {
  if (!c.is_object()) return nullptr;
  auto it = c.find(key);
  return it == c.end() || it->is_null() ? nullptr : &*it;
}

// {"class_name": X, "config": {...}} (or a bare identifier string "l2") -> class and config.
void class_and_config(const json& v, const std::string& layer, const std::string& key, std::string* cls,
                      json* cfg) {
  if (v.is_string()) {
    *cls = v.get<std::string>();
    *cfg = json::object();
    return;
  }
  if (!v.is_object() || !v.contains("class_name") || !v["class_name"].is_string())
    throw InvalidArgument("layer '" + layer + "': '" + key + "' is not a Keras object");
  *cls = v["class_name"].get<std::string>();
  *cfg = v.contains("config") && v["config"].is_object() ? v["config"] : json::object();
}

regularizers::Regularizer regularizer_of(const json& v, const std::string& layer, const std::string& key) {
  std::string cls;
  json c;
  class_and_config(v, layer, key, &cls, &c);
  regularizers::Regularizer r;
  // Keras' defaults: L1(0.01), L2(0.01), L1L2(0, 0); the string forms "l1", "l2", "l1_l2"
  // take 0.01 each.
  if (cls == "L1" || cls == "l1") {
    r.l1 = get_double(c, "l1", layer, 0.01);
  } else if (cls == "L2" || cls == "l2") {
    r.l2 = get_double(c, "l2", layer, 0.01);
  } else if (cls == "L1L2" || cls == "l1_l2") {
    const double def = cls == "l1_l2" ? 0.01 : 0.0;
    r.l1 = get_double(c, "l1", layer, def);
    r.l2 = get_double(c, "l2", layer, def);
  } else {
    throw Unimplemented("layer '" + layer + "': " + key + " " + cls + " (L1, L2, L1L2 only)");
  }
  if (!std::isfinite(r.l1) || !std::isfinite(r.l2))
    throw InvalidArgument("layer '" + layer + "': " + key + " factors must be finite");
  return r;
}

std::vector<int64_t> axis_of(const json& c, const std::string& layer) {
  const json* a = non_null(c, "axis");
  if (!a) return {0};
  if (a->is_array()) return get_ints(c, "axis", layer, a->size(), {0});
  return {get_int(c, "axis", layer, 0)};
}

constraints::Constraint constraint_of(const json& v, const std::string& layer, const std::string& key) {
  std::string cls;
  json c;
  class_and_config(v, layer, key, &cls, &c);
  auto finite = [&](double x) {
    if (!std::isfinite(x)) throw InvalidArgument("layer '" + layer + "': " + key + " values must be finite");
    return x;
  };
  if (cls == "MaxNorm" || cls == "max_norm")
    return constraints::max_norm(finite(get_double(c, "max_value", layer, 2.0)), axis_of(c, layer));
  if (cls == "NonNeg" || cls == "non_neg") return constraints::non_neg();
  if (cls == "UnitNorm" || cls == "unit_norm") return constraints::unit_norm(axis_of(c, layer));
  if (cls == "MinMaxNorm" || cls == "min_max_norm")
    return constraints::min_max_norm(finite(get_double(c, "min_value", layer, 0.0)),
                                     finite(get_double(c, "max_value", layer, 1.0)),
                                     finite(get_double(c, "rate", layer, 1.0)), axis_of(c, layer));
  throw Unimplemented("layer '" + layer + "': " + key + " " + cls + " (MaxNorm, NonNeg, UnitNorm, MinMaxNorm only)");
}

bool same_json(const json* a, const json* b) { return (!a && !b) || (a && b && *a == *b); }

}  // namespace

void check_layer_options(const std::string& cls, const json& c, const std::string& name,
                         std::vector<std::string>& problems) {
  auto add = [&](const std::string& why) { problems.push_back(cls + " (" + name + "): " + why); };
  if (!c.is_object()) return;
  // TimeDistributed and nested Sequential models set the options on their inner layers
  // (keras_wrappers.cc; the nested model's layers are checked there); Bidirectional on both
  // copies of its layer (apply_layer_options).
  const json* inner = non_null(c, "layer");
  const json* icfg = inner && inner->is_object() ? non_null(*inner, "config") : nullptr;
  if ((cls == "TimeDistributed" || cls == "Bidirectional") && icfg && inner->contains("class_name") &&
      (*inner)["class_name"].is_string())
    check_layer_options((*inner)["class_name"].get<std::string>(), *icfg, name, problems);
  if (cls == "TimeDistributed" || cls == "Sequential" || cls == "Functional" || cls == "Model" ||
      cls == "Bidirectional")
    return;
  auto it = weight_keys().find(cls);
  std::set<std::string> handled;
  if (it != weight_keys().end()) {
    for (const std::string& p : it->second.kernel) {
      handled.insert(p + "regularizer");
      handled.insert(p + "constraint");
    }
    if (it->second.bias) {
      handled.insert("bias_regularizer");
      handled.insert("bias_constraint");
    }
    // Keras penalises every output of a layer's call; Sluice the first (a recurrent layer's
    // sequence or last output, not its states).
    if (it->second.activity && !(get_bool(c, "return_state", name, false) && non_null(c, "activity_regularizer")))
      handled.insert("activity_regularizer");
    const auto& kern = it->second.kernel;
    if (kern.size() == 2 && (!same_json(non_null(c, kern[0] + "regularizer"), non_null(c, kern[1] + "regularizer")) ||
                             !same_json(non_null(c, kern[0] + "constraint"), non_null(c, kern[1] + "constraint"))))
      add("different depthwise and pointwise regularizers or constraints");
  }
  for (const std::string& k : other_option_keys()) {
    if (!non_null(c, k)) continue;
    if (!handled.count(k)) {
      // Keras 2.1 wrote L1L2(0, 0) for "no regularizer".
      try {
        if (k.find("regularizer") != std::string::npos && !regularizer_of(c[k], name, k).active()) continue;
      } catch (const Error&) {
      }
      add(k + " (Sluice attaches regularizers and constraints to kernels and biases only)");
      continue;
    }
    try {
      if (k.find("regularizer") != std::string::npos)
        regularizer_of(c[k], name, k);
      else
        constraint_of(c[k], name, k);
    } catch (const Error& e) {
      add(e.what());
    }
  }
}

void apply_layer_options(const std::string& cls, const json& c, const std::string& name, layers::Layer& l) {
  if (!c.is_object()) return;
  if (!get_bool(c, "trainable", name, true)) l.set_trainable(false);
  // Keras builds both halves of a Bidirectional from its layer's config (regularizers and
  // constraints included); a frozen wrapper freezes both.
  auto* bidi = dynamic_cast<layers::Bidirectional*>(&l);
  const json* inner = non_null(c, "layer");
  if (bidi && inner && inner->is_object() && non_null(*inner, "config") && non_null(*inner, "class_name")) {
    for (layers::Layer* half : {static_cast<layers::Layer*>(&bidi->forward_layer()),
                                static_cast<layers::Layer*>(&bidi->backward_layer())}) {
      apply_layer_options(get_string(*inner, "class_name", name, ""), (*inner)["config"], name, *half);
      if (!l.trainable()) half->set_trainable(false);
    }
    return;
  }
  auto it = weight_keys().find(cls);
  if (it == weight_keys().end()) return;
  const std::string& kp = it->second.kernel.front();
  if (const json* v = non_null(c, kp + "regularizer")) l.set_kernel_regularizer(regularizer_of(*v, name, kp + "regularizer"));
  if (const json* v = non_null(c, kp + "constraint")) l.set_kernel_constraint(constraint_of(*v, name, kp + "constraint"));
  if (it->second.bias) {
    if (const json* v = non_null(c, "bias_regularizer")) l.set_bias_regularizer(regularizer_of(*v, name, "bias_regularizer"));
    if (const json* v = non_null(c, "bias_constraint")) l.set_bias_constraint(constraint_of(*v, name, "bias_constraint"));
  }
  if (it->second.activity)
    if (const json* v = non_null(c, "activity_regularizer"))
      l.set_activity_regularizer(regularizer_of(*v, name, "activity_regularizer"));
}

// ---------------------------------------------------------------- writing configs

std::string keras_weight_name(const models::LayerInfo& l, const std::string& var) {
  if (l.type != "TimeDistributed" || var.compare(0, l.name.size() + 1, l.name + "/") != 0) return var;
  const size_t inner_end = var.find('/', l.name.size() + 1);
  return inner_end == std::string::npos ? var : l.name + var.substr(inner_end);
}

double tidy(double v) {
  for (int digits = 1; digits <= 9; ++digits) {
    const double scale = std::pow(10.0, digits);
    const double r = std::round(v * scale) / scale;
    if (static_cast<float>(r) == static_cast<float>(v)) return r;
  }
  return v;
}

namespace {

std::vector<Operation> ops_under(const Graph& g, const std::string& prefix) {
  std::vector<Operation> out;
  for (const Operation& op : g.operations())
    if (op.name().compare(0, prefix.size(), prefix) == 0) out.push_back(op);
  return out;
}

json keras_object(const char* cls, json config = json::object()) {
  return {{"class_name", cls}, {"config", std::move(config)}};
}

// Keras' fans of a weight shape (as Sluice's initializers compute them).
void fans(const Shape& s, double& fan_in, double& fan_out) {
  fan_in = fan_out = 1;
  const int r = s.rank();
  if (r == 1) fan_in = fan_out = static_cast<double>(s.dim(0));
  if (r < 2) return;
  double receptive = 1;
  for (int i = 0; i < r - 2; ++i) receptive *= static_cast<double>(s.dim(i));
  fan_in = static_cast<double>(s.dim(r - 2)) * receptive;
  fan_out = static_cast<double>(s.dim(r - 1)) * receptive;
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::fabs(b); }

// The Keras initializer that made the variable's first value (null when it has no Keras form,
// e.g. a constant tensor). Seeds are written as null: Keras' generators do not reproduce
// Sluice's draws anyway, and the file's weights are what a loader uses.
json initializer_json(const Graph& g, const std::string& var) {
  const std::optional<Operation> assign = g.find_operation(var + "/Assign");
  if (!assign || assign->num_inputs() < 2) return nullptr;
  const Node* n = assign->input(1).node();
  const std::string& t = n->op_type();
  const Shape shape = assign->input(1).shape();
  double fi = 1, fo = 1;
  if (shape.known_rank()) fans(shape, fi, fo);
  const json seed = {{"seed", nullptr}};
  if (t == "Fill") {
    const double v = n->attr<double>("value");
    if (v == 0) return keras_object("Zeros");
    if (v == 1) return keras_object("Ones");
    return keras_object("Constant", {{"value", tidy(v)}});
  }
  if (t == "RandomUniform") {
    const double lo = n->attr<double>("minval"), hi = n->attr<double>("maxval");
    if (lo == -hi && close(hi, std::sqrt(6.0 / (fi + fo)))) return keras_object("GlorotUniform", seed);
    if (lo == -hi && close(hi, std::sqrt(6.0 / fi))) return keras_object("HeUniform", seed);
    return keras_object("RandomUniform", {{"minval", tidy(lo)}, {"maxval", tidy(hi)}, {"seed", nullptr}});
  }
  if (t == "TruncatedNormal" || t == "RandomNormal") {
    const double mean = n->attr<double>("mean"), sd = n->attr<double>("stddev");
    constexpr double kTruncCorrection = 0.87962566103423978;  // as Initializer::build
    if (t == "TruncatedNormal" && mean == 0 && close(sd, std::sqrt(2.0 / (fi + fo)) / kTruncCorrection))
      return keras_object("GlorotNormal", seed);
    if (t == "TruncatedNormal" && mean == 0 && close(sd, std::sqrt(2.0 / fi) / kTruncCorrection))
      return keras_object("HeNormal", seed);
    return keras_object(t == "TruncatedNormal" ? "TruncatedNormal" : "RandomNormal",
                        {{"mean", tidy(mean)}, {"stddev", tidy(sd)}, {"seed", nullptr}});
  }
  if (t == "RandomOrthogonal") return keras_object("Orthogonal", {{"gain", tidy(n->attr<double>("gain"))}, {"seed", nullptr}});
  return nullptr;
}

// A regularizer from its ops (Mul(l1, Sum(Abs(x))), Mul(l2, Sum(Square(x))), or elementwise
// for the activity penalty): null without ops; `why` set when they do not read as one.
json regularizer_json(const std::vector<Operation>& ops, std::string& why) {
  if (ops.empty()) return nullptr;
  double l1 = 0, l2 = 0;
  for (const Operation& op : ops) {
    if (op.type() != "Mul") continue;
    Output arg = op.input(1);
    if (arg.op().type() == "Sum") arg = arg.op().input(0);
    const double f = const_value(op.input(0));
    if (std::isnan(f)) continue;
    if (arg.op().type() == "Abs") l1 = f;
    if (arg.op().type() == "Square") l2 = f;
  }
  if (l1 == 0 && l2 == 0) {
    why = "a regularizer of unexpected form";
    return nullptr;
  }
  if (l1 == 0) return keras_object("L2", {{"l2", tidy(l2)}});
  if (l2 == 0) return keras_object("L1", {{"l1", tidy(l1)}});
  return keras_object("L1L2", {{"l1", tidy(l1)}, {"l2", tidy(l2)}});
}

json axis_json(const std::vector<int64_t>& axis) { return axis.size() == 1 ? json(axis[0]) : json(axis); }

// A constraint from its ops (graph/regularizers.cc's forms): null without ops.
json constraint_json(const std::vector<Operation>& ops, std::string& why) {
  if (ops.empty()) return nullptr;
  std::vector<int64_t> axis = {0};
  const Operation* clip = nullptr;
  bool ge = false, div = false;
  for (const Operation& op : ops) {
    if (op.type() == "Sum") axis = op.node()->attr<std::vector<int64_t>>("axes");
    if (op.type() == "ClipByValue") clip = &op;
    ge = ge || op.type() == "GreaterEqual";
    div = div || op.type() == "Div";
  }
  if (ge) return keras_object("NonNeg");
  if (clip) {
    const double lo = const_value(clip->input(1)), hi = const_value(clip->input(2));
    double rate = 1;
    for (const Operation& op : ops)
      if (op.type() == "Mul" && op.input(1).node() == clip->node()) rate = const_value(op.input(0));
    if (std::isnan(lo) || std::isnan(hi) || std::isnan(rate)) {
      why = "a constraint of unexpected form";
      return nullptr;
    }
    if (lo == 0 && rate == 1) return keras_object("MaxNorm", {{"max_value", tidy(hi)}, {"axis", axis_json(axis)}});
    return keras_object("MinMaxNorm", {{"min_value", tidy(lo)},
                                       {"max_value", tidy(hi)},
                                       {"rate", tidy(rate)},
                                       {"axis", axis_json(axis)}});
  }
  if (div) return keras_object("UnitNorm", {{"axis", axis_json(axis)}});
  why = "a constraint of unexpected form";
  return nullptr;
}

// The config key prefix Keras uses for a weight ("kernel" -> "kernel_"), empty for none.
std::string option_prefix(const std::string& local) {
  static const std::map<std::string, std::string> m = {
      {"kernel", "kernel_"},         {"recurrent_kernel", "recurrent_"},
      {"bias", "bias_"},             {"depthwise_kernel", "depthwise_"},
      {"pointwise_kernel", "pointwise_"}, {"embeddings", "embeddings_"},
      {"gamma", "gamma_"},           {"beta", "beta_"},
      {"moving_mean", "moving_mean_"}, {"moving_variance", "moving_variance_"}};
  auto it = m.find(local);
  return it == m.end() ? "" : it->second;
}

}  // namespace

bool layer_frozen(const Graph& g, const models::LayerInfo& l) {
  if (l.type == "BatchNormalization") return g.find_operation(l.name + "/frozen_training").has_value();
  if (l.weights.empty()) return false;
  for (bool t : l.trainable)
    if (t) return false;
  return true;
}

void add_weight_options(const Graph& g, const models::LayerInfo& l, const std::string& cls, json& c,
                        std::string& why) {
  if (layer_frozen(g, l)) c["trainable"] = false;
  const bool options_here = weight_keys().count(cls) || cls == "BatchNormalization" || cls == "LayerNormalization";
  size_t found = 0;  // regularizer and constraint op groups accounted for
  for (const std::string& w : l.weights) {
    const std::string local = w.compare(0, l.name.size() + 1, l.name + "/") == 0 ? w.substr(l.name.size() + 1) : w;
    const std::string p = option_prefix(local);
    const std::vector<Operation> reg_ops = ops_under(g, w + "/regularizer/");
    const std::vector<Operation> con_ops = ops_under(g, w + "/constraint/");
    if (!options_here || p.empty()) continue;  // (Bidirectional halves: the inner config)
    const json init = initializer_json(g, w);
    if (!init.is_null()) c[p + "initializer"] = init;
    if (p == "moving_mean_" || p == "moving_variance_") continue;
    c[p + "regularizer"] = regularizer_json(reg_ops, why);
    c[p + "constraint"] = constraint_json(con_ops, why);
    found += !reg_ops.empty() + !con_ops.empty();
  }
  const std::vector<Operation> act_ops = ops_under(g, l.name + "/activity_regularizer/");
  if (options_here) {
    c["activity_regularizer"] = regularizer_json(act_ops, why);
    found += !act_ops.empty();
    // Keras would penalise the states too (and Sluice does not load that back).
    if (!act_ops.empty() && c.value("return_state", false)) why = "an activity regularizer with return_state";
  }
  // Any penalty or constraint of this layer not written above (a wrapped layer's) would be
  // lost: refuse instead.
  // (One collection entry per weight; the activity penalty has one per call, counted once.)
  size_t total = 0;
  bool activity = false;
  for (const char* key : {layers::kRegularizationLosses, layers::kWeightConstraints})
    for (const Operation& op : g.collection(key)) {
      if (op.name().compare(0, l.name.size() + 1, l.name + "/") != 0) continue;
      if (op.name().compare(l.name.size() + 1, 20, "activity_regularizer") == 0)
        activity = true;
      else
        ++total;
    }
  total += activity;
  if (total > found && why.empty()) why = "a regularizer or constraint Keras' config for it cannot hold";
}

}  // namespace sluice::io::keras
