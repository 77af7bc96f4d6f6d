// The Keras layer table: class name -> a small function that builds the Sluice layer from the
// layer's config (versions and defaults handled inside the entry). README's "Keras models"
// lists these classes; test_keras_h5 checks that list against this table.
#include <set>

#include "../../graph/conv_layers.h"
#include "../../graph/layers_ext.h"
#include "../../graph/layers_keras.h"
#include "../../graph/normalization_layers.h"
#include "../../graph/recurrent_layers.h"
#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "keras_internal.h"

namespace sluice::io {
namespace keras {

namespace {

[[noreturn]] void bad(const std::string& layer, const std::string& what) {
  throw InvalidArgument("layer '" + layer + "': " + what);
}

const json* find(const json& c, const char* key) {
  if (!c.is_object()) return nullptr;
  auto it = c.find(key);
  return it == c.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

int64_t get_int(const json& c, const char* key, const std::string& layer, int64_t def) {
  const json* v = find(c, key);
  if (!v) return def;
  if (v->is_array() && v->size() == 1) v = &(*v)[0];
  if (!v->is_number()) bad(layer, std::string("'") + key + "' is not a number");
  const double d = v->get<double>();
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int64_t>(d)))
    bad(layer, std::string("'") + key + "' is not an integer in range");
  return static_cast<int64_t>(d);
}

double get_double(const json& c, const char* key, const std::string& layer, double def) {
  const json* v = find(c, key);
  if (!v) return def;
  if (!v->is_number()) bad(layer, std::string("'") + key + "' is not a number");
  return v->get<double>();
}

bool get_bool(const json& c, const char* key, const std::string& layer, bool def) {
  const json* v = find(c, key);
  if (!v) return def;
  if (!v->is_boolean()) bad(layer, std::string("'") + key + "' is not true/false");
  return v->get<bool>();
}

std::string get_string(const json& c, const char* key, const std::string& layer, const std::string& def) {
  const json* v = find(c, key);
  if (!v) return def;
  if (!v->is_string()) bad(layer, std::string("'") + key + "' is not a string");
  return v->get<std::string>();
}

std::vector<int64_t> get_ints(const json& c, const char* key, const std::string& layer, size_t n,
                              std::vector<int64_t> def) {
  const json* v = find(c, key);
  if (!v) return def;
  std::vector<int64_t> out;
  if (v->is_number()) {
    const json one = json::object({{"v", *v}});
    out.assign(n, get_int(one, "v", layer, 0));
    return out;
  }
  if (!v->is_array() || v->size() != n) bad(layer, std::string("'") + key + "' needs " + std::to_string(n) + " ints");
  for (const json& e : *v) {
    const json one = json::object({{"v", e}});
    out.push_back(get_int(one, "v", layer, 0));
  }
  return out;
}

namespace {

// A positive size (units, filters, kernel sizes): bounded so no config makes a huge graph.
int64_t positive(int64_t v, const std::string& layer, const char* what) {
  if (v < 1 || v > (int64_t{1} << 24)) bad(layer, std::string(what) + " must be in [1, 2^24], got " + std::to_string(v));
  return v;
}

std::vector<int64_t> positives(std::vector<int64_t> v, const std::string& layer, const char* what) {
  for (int64_t x : v) positive(x, layer, what);
  return v;
}

Padding padding_of(const json& c, const std::string& layer) {
  const std::string p = get_string(c, "padding", layer, "valid");
  if (p == "valid") return Padding::valid;
  if (p == "same") return Padding::same;
  bad(layer, "padding '" + p + "' is not supported (valid, same)");
}

// The enum form when the model API's layers take it directly.
bool simple_activation(const std::string& a, Activation* out) {
  static const std::map<std::string, Activation> m = {{"linear", Activation::linear},
                                                      {"relu", Activation::relu},
                                                      {"sigmoid", Activation::sigmoid},
                                                      {"tanh", Activation::tanh},
                                                      {"softmax", Activation::softmax}};
  auto it = m.find(a);
  if (it == m.end()) return false;
  *out = it->second;
  return true;
}

std::string activation_of(const json& c, const std::string& layer) {
  const json* v = find(c, "activation");
  if (!v) return "linear";
  // tf.keras 2.x may serialise an activation as {"class_name": ..., "config": {...}} or a
  // module path; the plain name is what counts.
  if (v->is_object()) {
    const std::string cls = get_string(*v, "class_name", layer, "");
    if (cls != "function" && !cls.empty()) return cls;
    const json* cfg = find(*v, "config");
    return cfg && cfg->is_string() ? cfg->get<std::string>() : "";
  }
  if (!v->is_string()) bad(layer, "'activation' is not a string");
  return v->get<std::string>();
}

// A layer with one input and one output; the mask passes through when `keep_mask`.
BuiltLayer single(std::shared_ptr<layers::Layer> l, bool keep_mask = false, std::string post_activation = "") {
  BuiltLayer b;
  b.layer = l;
  b.call = [l, keep_mask, post_activation](const Scope& s, const std::vector<KTensor>& in,
                                          const std::vector<Output>&) -> std::vector<KTensor> {
    Output y = (*l)(s, in.at(0).value);
    if (!post_activation.empty() && post_activation != "linear")
      y = apply_keras_activation(s.with_prefix(l->name()), y, post_activation);
    return {{y, keep_mask ? in.at(0).mask : Output()}};
  };
  return b;
}

// Layers built from ops alone (no weights).
BuiltLayer from_fn(std::function<Output(const Scope&, const std::vector<Output>&)> fn, bool keep_mask = false) {
  BuiltLayer b;
  b.call = [fn, keep_mask](const Scope& s, const std::vector<KTensor>& in,
                           const std::vector<Output>&) -> std::vector<KTensor> {
    std::vector<Output> xs;
    for (const KTensor& t : in) xs.push_back(t.value);
    return {{fn(s, xs), keep_mask ? in.at(0).mask : Output()}};
  };
  return b;
}

BuiltLayer merge(std::shared_ptr<layers::Merge> l) {
  BuiltLayer b;
  b.layer = l;
  b.call = [l](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) -> std::vector<KTensor> {
    std::vector<Output> xs;
    for (const KTensor& t : in) xs.push_back(t.value);
    return {{(*l)(s, xs), Output()}};
  };
  return b;
}

layers::RecurrentConfig recurrent_config(const json& c, const std::string& name, bool gru) {
  layers::RecurrentConfig rc;
  rc.name = name;
  rc.activation = ops::RnnActivation::from_name(get_string(c, "activation", name, "tanh"));
  // Keras 2.x's own default for the gates is hard_sigmoid (tf.keras 2: sigmoid); the files
  // always spell it out.
  rc.recurrent_activation = ops::RnnActivation::from_name(get_string(c, "recurrent_activation", name, "sigmoid"));
  rc.use_bias = get_bool(c, "use_bias", name, true);
  rc.return_sequences = get_bool(c, "return_sequences", name, false);
  rc.return_state = get_bool(c, "return_state", name, false);
  rc.go_backwards = get_bool(c, "go_backwards", name, false);
  rc.unit_forget_bias = get_bool(c, "unit_forget_bias", name, true);
  // Absent before Keras 2.1.5, whose GRU was the reset_after=False kind.
  if (gru) rc.reset_after = get_bool(c, "reset_after", name, false);
  return rc;
}

std::shared_ptr<layers::Recurrent> make_recurrent(const std::string& cls, const json& c, const std::string& name) {
  const int64_t units = positive(get_int(c, "units", name, 0), name, "units");
  if (cls == "LSTM") return std::make_shared<layers::LSTM>(units, recurrent_config(c, name, false));
  if (cls == "GRU") return std::make_shared<layers::GRU>(units, recurrent_config(c, name, true));
  return std::make_shared<layers::SimpleRNN>(units, recurrent_config(c, name, false));
}

// A recurrent layer (or Bidirectional) called with its initial states and input mask; its
// outputs are the sequence (or last output) then the final states; the mask goes on with
// the sequence when `return_sequences`.
template <class L>
BuiltLayer recurrent_layer(std::shared_ptr<L> l, bool return_sequences) {
  BuiltLayer b;
  b.layer = l;
  b.call = [l, return_sequences](const Scope& s, const std::vector<KTensor>& in,
                                 const std::vector<Output>& states) -> std::vector<KTensor> {
    std::vector<KTensor> out;
    for (const Output& o : l->call_with_state(s, in.at(0).value, states, in.at(0).mask)) out.push_back({o, Output()});
    if (return_sequences) out[0].mask = in.at(0).mask;
    return out;
  };
  return b;
}

BuiltLayer recurrent(const std::string& cls, const json& c, const std::string& name) {
  auto l = make_recurrent(cls, c, name);
  return recurrent_layer(l, l->config().return_sequences);
}

BuiltLayer bidirectional(const json& c, const std::string& name) {
  const json* inner = find(c, "layer");
  if (!inner || !inner->is_object()) bad(name, "Bidirectional without 'layer'");
  const std::string cls = get_string(*inner, "class_name", name, "");
  const json* icfg = find(*inner, "config");
  if (!icfg) bad(name, "Bidirectional's layer has no config");
  if (cls != "LSTM" && cls != "GRU" && cls != "SimpleRNN")
    throw Unimplemented("layer '" + name + "': Bidirectional over " + cls + " (LSTM, GRU, SimpleRNN only)");
  auto proto = make_recurrent(cls, *icfg, get_string(*icfg, "name", name, ""));
  const json* mm = find(c, "merge_mode");
  layers::MergeMode mode = layers::MergeMode::none;
  if (mm) {
    const std::string m = mm->is_string() ? mm->get<std::string>() : "";
    static const std::map<std::string, layers::MergeMode> modes = {{"concat", layers::MergeMode::concat},
                                                                   {"sum", layers::MergeMode::sum},
                                                                   {"mul", layers::MergeMode::mul},
                                                                   {"ave", layers::MergeMode::ave}};
    auto it = modes.find(m);
    if (it == modes.end()) bad(name, "unknown merge_mode '" + m + "'");
    mode = it->second;
  }
  auto l = std::make_shared<layers::Bidirectional>(*proto, mode, name);
  return recurrent_layer(l, proto->config().return_sequences);
}

BuiltLayer dense(const json& c, const std::string& n) {
  const std::string a = activation_of(c, n);
  Activation act = Activation::linear;
  const bool simple = simple_activation(a, &act);
  auto l = std::make_shared<layers::Dense>(positive(get_int(c, "units", n, 0), n, "units"), act,
                                           get_bool(c, "use_bias", n, true), n);
  return single(l, true, simple ? "" : a);
}

BuiltLayer conv2d(const json& c, const std::string& n) {
  const std::string a = activation_of(c, n);
  Activation act = Activation::linear;
  const bool simple = simple_activation(a, &act);
  auto l = std::make_shared<layers::Conv2D>(
      positive(get_int(c, "filters", n, 0), n, "filters"), positives(get_ints(c, "kernel_size", n, 2, {}), n, "kernel_size"),
      positives(get_ints(c, "strides", n, 2, {1, 1}), n, "strides"), padding_of(c, n), act,
      get_bool(c, "use_bias", n, true), n, positives(get_ints(c, "dilation_rate", n, 2, {1, 1}), n, "dilation_rate"));
  return single(l, false, simple ? "" : a);
}

BuiltLayer conv1d(const json& c, const std::string& n) {
  const std::string a = activation_of(c, n);
  Activation act = Activation::linear;
  const bool simple = simple_activation(a, &act);
  auto l = std::make_shared<layers::Conv1D>(
      positive(get_int(c, "filters", n, 0), n, "filters"), positive(get_ints(c, "kernel_size", n, 1, {0})[0], n, "kernel_size"),
      positive(get_ints(c, "strides", n, 1, {1})[0], n, "strides"), padding_of(c, n), act,
      get_bool(c, "use_bias", n, true), n, positive(get_ints(c, "dilation_rate", n, 1, {1})[0], n, "dilation_rate"));
  return single(l, false, simple ? "" : a);
}

// Conv2DTranspose, DepthwiseConv2D and SeparableConv2D (channels_last, no dilation).
BuiltLayer conv_variant(const std::string& cls, const json& c, const std::string& n) {
  const std::string a = activation_of(c, n);
  Activation act = Activation::linear;
  const bool simple = simple_activation(a, &act);
  if (get_ints(c, "dilation_rate", n, 2, {1, 1}) != std::vector<int64_t>{1, 1})
    throw Unimplemented("layer '" + n + "': " + cls + " with dilation_rate other than 1");
  const std::vector<int64_t> k = positives(get_ints(c, "kernel_size", n, 2, {}), n, "kernel_size");
  const std::vector<int64_t> st = positives(get_ints(c, "strides", n, 2, {1, 1}), n, "strides");
  const Padding pad = padding_of(c, n);
  const bool bias = get_bool(c, "use_bias", n, true);
  std::shared_ptr<layers::Layer> l;
  if (cls == "Conv2DTranspose") {
    const json* op = c.is_object() && c.contains("output_padding") ? &c["output_padding"] : nullptr;
    if (op && !op->is_null()) throw Unimplemented("layer '" + n + "': Conv2DTranspose with output_padding");
    // Keras' valid output length is (in - 1) s + max(k, s); Sluice's conv2d_transpose (in - 1) s + k.
    if (pad == Padding::valid && (k[0] < st[0] || k[1] < st[1]))
      throw Unimplemented("layer '" + n + "': Conv2DTranspose with valid padding and a kernel smaller than the stride");
    l = std::make_shared<layers::Conv2DTranspose>(positive(get_int(c, "filters", n, 0), n, "filters"), k, st, pad, act,
                                                  bias, n);
  } else {
    const int64_t m = positive(get_int(c, "depth_multiplier", n, 1), n, "depth_multiplier");
    if (cls == "DepthwiseConv2D")
      l = std::make_shared<layers::DepthwiseConv2D>(k, st, pad, m, act, bias, n);
    else
      l = std::make_shared<layers::SeparableConv2D>(positive(get_int(c, "filters", n, 0), n, "filters"), k, st, pad, m,
                                                    act, bias, n);
  }
  return single(l, false, simple ? "" : a);
}

std::vector<int64_t> pool_size(const json& c, const std::string& n, size_t dims) {
  return positives(get_ints(c, "pool_size", n, dims, std::vector<int64_t>(dims, 2)), n, "pool_size");
}

std::vector<int64_t> pool_strides(const json& c, const std::string& n, size_t dims) {
  return positives(get_ints(c, "strides", n, dims, pool_size(c, n, dims)), n, "strides");
}

BuiltLayer activation_layer(const json& c, const std::string& n) {
  const std::string a = activation_of(c, n);
  Activation act = Activation::linear;
  if (simple_activation(a, &act)) return single(std::make_shared<layers::Activation>(act, n), true);
  if (!is_keras_activation(a)) throw Unimplemented("layer '" + n + "': activation '" + a + "'");
  return single(std::make_shared<layers::NamedActivation>(a, n), true);
}

BuiltLayer batch_norm(const json& c, const std::string& n) {
  // axis: -1 or [rank - 1] (tf.keras 2.4+ writes the list); checked against the input rank
  // when the layer is called.
  int64_t axis = -1;
  if (const json* ax = find(c, "axis")) {
    if (ax->is_array() && ax->size() != 1) throw Unimplemented("layer '" + n + "': BatchNormalization over several axes");
    axis = get_int(c, "axis", n, -1);
  }
  auto l = std::make_shared<layers::BatchNormalization>(-1, get_double(c, "momentum", n, 0.99),
                                                        get_double(c, "epsilon", n, 1e-3),
                                                        get_bool(c, "center", n, true), get_bool(c, "scale", n, true), n);
  BuiltLayer b;
  b.layer = l;
  b.call = [l, axis, n](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) {
    const int rank = in.at(0).value.shape().rank();
    if (axis == 1 && rank > 2) {
      // Channels first: normalise the channels-last transpose, then transpose back.
      std::vector<int64_t> last = {0}, first = {0, rank - 1};
      for (int i = 2; i < rank; ++i) last.push_back(i);
      last.push_back(1);
      for (int i = 1; i < rank - 1; ++i) first.push_back(i);
      const Output y = (*l)(s, ops::transpose(s, in.at(0).value, last));
      return std::vector<KTensor>{{ops::transpose(s, y, first), in.at(0).mask}};
    }
    if (axis != -1 && axis != rank - 1)
      throw Unimplemented("layer '" + n + "': BatchNormalization axis " + std::to_string(axis) + " of a rank-" +
                          std::to_string(rank) + " input (the last axis only)");
    return std::vector<KTensor>{{(*l)(s, in.at(0).value), in.at(0).mask}};
  };
  return b;
}

BuiltLayer embedding(const json& c, const std::string& n) {
  const bool mask_zero = get_bool(c, "mask_zero", n, false);
  auto l = std::make_shared<layers::Embedding>(positive(get_int(c, "input_dim", n, 0), n, "input_dim"),
                                               positive(get_int(c, "output_dim", n, 0), n, "output_dim"), mask_zero, n);
  BuiltLayer b;
  b.layer = l;
  b.call = [l, mask_zero](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) {
    Output ids = in.at(0).value;
    // Keras casts whatever the input holds to int32 ids (e.g. a uint16 InputLayer).
    if (ids.dtype() != DType::i32 && ids.dtype() != DType::i64) ids = ops::cast(s, ids, DType::i32);
    const Output y = (*l)(s, ids);
    return std::vector<KTensor>{{y, mask_zero ? l->compute_mask(s, ids) : Output()}};
  };
  return b;
}

BuiltLayer relu_layer(const json& c, const std::string& n) {
  const json* mv = find(c, "max_value");
  const double max_value = mv ? get_double(c, "max_value", n, -1) : -1;
  if (mv && max_value < 0) bad(n, "max_value must not be negative");
  return single(std::make_shared<layers::ReLU>(max_value, get_double(c, "negative_slope", n, 0),
                                               get_double(c, "threshold", n, 0), n),
                true);
}

BuiltLayer zero_padding2d(const json& c, const std::string& n) {
  const json* p = find(c, "padding");
  std::vector<int64_t> pad = {1, 1, 1, 1};
  if (p && p->is_number()) {
    const int64_t v = get_int(c, "padding", n, 1);
    pad = {v, v, v, v};
  } else if (p && p->is_array() && p->size() == 2) {
    if ((*p)[0].is_array()) {
      const std::vector<int64_t> h = get_ints(json::object({{"v", (*p)[0]}}), "v", n, 2, {});
      const std::vector<int64_t> w = get_ints(json::object({{"v", (*p)[1]}}), "v", n, 2, {});
      pad = {h[0], h[1], w[0], w[1]};
    } else {
      const std::vector<int64_t> hw = get_ints(c, "padding", n, 2, {});
      pad = {hw[0], hw[0], hw[1], hw[1]};
    }
  } else if (p) {
    bad(n, "bad 'padding'");
  }
  for (int64_t v : pad)
    if (v < 0 || v > (1 << 20)) bad(n, "padding out of range");
  return single(std::make_shared<layers::ZeroPadding2D>(pad, n));
}

std::map<std::string, LayerFactory> make_table() {
  std::map<std::string, LayerFactory> t;
  t["Dense"] = dense;
  t["Conv2D"] = conv2d;
  t["Convolution2D"] = conv2d;
  t["Conv1D"] = conv1d;
  t["Convolution1D"] = conv1d;
  for (const char* v : {"Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"}) {
    const std::string cls = v;
    t[cls] = [cls](const json& c, const std::string& n) { return conv_variant(cls, c, n); };
  }
  t["Activation"] = activation_layer;
  t["BatchNormalization"] = batch_norm;
  t["Embedding"] = embedding;
  t["ReLU"] = relu_layer;
  t["ZeroPadding2D"] = zero_padding2d;
  t["LeakyReLU"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::ReLU>(-1, get_double(c, "alpha", n, 0.3), 0, n), true);
  };
  t["Dropout"] = [](const json& c, const std::string& n) {
    const double rate = get_double(c, "rate", n, 0.5);
    if (!(rate >= 0 && rate < 1)) bad(n, "rate must be in [0, 1)");
    return single(std::make_shared<layers::Dropout>(rate, get_int(c, "seed", n, 0), std::vector<int64_t>{}, n), true);
  };
  t["Flatten"] = [](const json&, const std::string& n) { return single(std::make_shared<layers::Flatten>(n)); };
  t["MaxPooling2D"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::MaxPooling2D>(pool_size(c, n, 2), pool_strides(c, n, 2), padding_of(c, n), n));
  };
  t["AveragePooling2D"] = [](const json& c, const std::string& n) {
    return single(
        std::make_shared<layers::AveragePooling2D>(pool_size(c, n, 2), pool_strides(c, n, 2), padding_of(c, n), n));
  };
  t["MaxPooling1D"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::MaxPooling1D>(pool_size(c, n, 1)[0], pool_strides(c, n, 1)[0],
                                                         padding_of(c, n), n));
  };
  t["AveragePooling1D"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::AveragePooling1D>(pool_size(c, n, 1)[0], pool_strides(c, n, 1)[0],
                                                             padding_of(c, n), n));
  };
  t["GlobalAveragePooling2D"] = [](const json&, const std::string& n) {
    return single(std::make_shared<layers::GlobalAveragePooling2D>(n));
  };
  t["GlobalMaxPooling2D"] = [](const json&, const std::string& n) {
    return single(std::make_shared<layers::GlobalMaxPooling2D>(n));
  };
  t["GlobalAveragePooling1D"] = [](const json&, const std::string& n) {
    return single(std::make_shared<layers::GlobalAveragePooling1D>(n));
  };
  t["GlobalMaxPooling1D"] = [](const json&, const std::string& n) {
    return single(std::make_shared<layers::GlobalMaxPooling1D>(n));
  };
  t["Reshape"] = [](const json& c, const std::string& n) {
    const json* ts = find(c, "target_shape");
    if (!ts || !ts->is_array() || ts->size() > 7) bad(n, "bad 'target_shape'");
    return single(std::make_shared<layers::Reshape>(get_ints(c, "target_shape", n, ts->size(), {}), n));
  };
  t["Permute"] = [](const json& c, const std::string& n) {
    const json* d = find(c, "dims");
    if (!d || !d->is_array() || d->size() > 7) bad(n, "bad 'dims'");
    return single(std::make_shared<layers::Permute>(get_ints(c, "dims", n, d->size(), {}), n));
  };
  t["RepeatVector"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::RepeatVector>(positive(get_int(c, "n", n, 0), n, "n"), n));
  };
  t["UpSampling2D"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::UpSampling2D>(positives(get_ints(c, "size", n, 2, {2, 2}), n, "size"), n));
  };
  t["LayerNormalization"] = [](const json& c, const std::string& n) {
    return single(std::make_shared<layers::LayerNormalization>(get_double(c, "epsilon", n, 1e-3),
                                                               get_bool(c, "center", n, true),
                                                               get_bool(c, "scale", n, true), n),
                  true);
  };
  t["Concatenate"] = [](const json& c, const std::string& n) {
    return merge(std::make_shared<layers::Concatenate>(get_int(c, "axis", n, -1), n));
  };
  t["Add"] = [](const json&, const std::string& n) { return merge(std::make_shared<layers::Add>(n)); };
  t["Multiply"] = [](const json&, const std::string& n) { return merge(std::make_shared<layers::Multiply>(n)); };
  t["Average"] = [](const json&, const std::string& n) { return merge(std::make_shared<layers::Average>(n)); };
  t["Subtract"] = [](const json&, const std::string&) {
    return from_fn([](const Scope& s, const std::vector<Output>& x) {
      SLUICE_REQUIRE(x.size() == 2, InvalidArgument, "Subtract takes two inputs, got ", x.size());
      return ops::sub(s, x[0], x[1]);
    });
  };
  t["Maximum"] = [](const json&, const std::string&) {
    return from_fn([](const Scope& s, const std::vector<Output>& x) {
      Output y = x.at(0);
      for (size_t i = 1; i < x.size(); ++i) y = ops::maximum(s, y, x[i]);
      return y;
    });
  };
  t["Minimum"] = [](const json&, const std::string&) {
    return from_fn([](const Scope& s, const std::vector<Output>& x) {
      Output y = x.at(0);
      for (size_t i = 1; i < x.size(); ++i) y = ops::minimum(s, y, x[i]);
      return y;
    });
  };
  for (const char* r : {"LSTM", "GRU", "SimpleRNN"}) {
    const std::string cls = r;
    t[cls] = [cls](const json& c, const std::string& n) { return recurrent(cls, c, n); };
  }
  t["Bidirectional"] = bidirectional;
  // data_format="channels_first": the channels-last layer on a transpose.
  for (const char* cls : {"Conv1D", "Conv2D", "Convolution1D", "Convolution2D", "Conv2DTranspose", "DepthwiseConv2D",
                          "SeparableConv2D", "MaxPooling1D", "MaxPooling2D",
                          "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
                          "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Flatten", "ZeroPadding2D", "UpSampling2D"}) {
    LayerFactory f = t[cls];
    t[cls] = [f](const json& c, const std::string& n) { return is_channels_first(c) ? channels_first(f(c, n)) : f(c, n); };
  }
  t["TimeDistributed"] = time_distributed;
  t["Sequential"] = nested_sequential;
  t["Functional"] = nested_functional;
  t["Model"] = nested_functional;
  return t;
}

}  // namespace

const std::map<std::string, LayerFactory>& layer_table() {
  static const std::map<std::string, LayerFactory> t = make_table();
  return t;
}

}  // namespace keras

std::vector<std::string> keras_layer_classes() {
  std::vector<std::string> out;
  for (const auto& kv : keras::layer_table()) out.push_back(kv.first);
  return out;
}

namespace keras {

void check_layer_config(const std::string& cls, const json& c, const std::string& name,
                        std::vector<std::string>& problems) {
  auto add = [&](const std::string& why) { problems.push_back(cls + " (" + name + "): " + why); };
  const std::string fmt = c.is_object() && c.contains("data_format") && c["data_format"].is_string()
                              ? c["data_format"].get<std::string>()
                              : "channels_last";
  if (fmt != "channels_last" && fmt != "channels_first") add("data_format " + fmt);
  if (c.is_object() && c.contains("groups") && c["groups"].is_number() && c["groups"].get<double>() != 1)
    add("grouped convolution");
  if (c.is_object() && c.contains("stateful") && c["stateful"].is_boolean() && c["stateful"].get<bool>())
    add("stateful=True (state kept across batches)");
  if (c.is_object() && c.contains("time_major") && c["time_major"].is_boolean() && c["time_major"].get<bool>())
    add("time_major=True");
  if (c.is_object() && c.contains("padding") && c["padding"].is_string() && c["padding"] == "causal")
    add("padding 'causal'");
  if (cls == "Bidirectional" && c.is_object() && c.contains("layer") && c["layer"].is_object()) {
    const json& inner = c["layer"];
    const std::string icls = inner.contains("class_name") && inner["class_name"].is_string()
                                 ? inner["class_name"].get<std::string>()
                                 : "?";
    if (icls != "LSTM" && icls != "GRU" && icls != "SimpleRNN") add("wraps " + icls);
    if (inner.contains("config")) check_layer_config(icls, inner["config"], name, problems);
  }
  if (c.is_object()) {
    for (const char* key : {"activation", "recurrent_activation"}) {
      if (!c.contains(key) || !c[key].is_string()) continue;
      const std::string a = c[key].get<std::string>();
      if (!is_keras_activation(a)) add(std::string(key) + " '" + a + "'");
    }
  }
}

}  // namespace keras
}  // namespace sluice::io
