// Model construction, the layer table and summary(), weights and the learning rate.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "../graph/graph_data.h"
#include "../graph/layers_ext.h"
#include "../graph/normalization_layers.h"
#include "../graph/recurrent_layers.h"
#include "../ops/array_ops.h"
#include "../ops/state_ops.h"
#include "model_internal.h"

namespace sluice::models {

Model& Callback::model() const {
  SLUICE_REQUIRE(model_ != nullptr, FailedPrecondition,
                 "callback used outside fit/evaluate/predict: it has no model");
  return *model_;
}

OptimizerConfig adam(double learning_rate, double beta_1, double beta_2, double epsilon) {
  OptimizerConfig c;
  c.name = "adam";
  c.learning_rate = learning_rate;
  c.beta_1 = beta_1;
  c.beta_2 = beta_2;
  c.epsilon = epsilon;
  return c;
}

OptimizerConfig sgd(double learning_rate, double momentum, bool nesterov) {
  OptimizerConfig c;
  c.name = "sgd";
  c.learning_rate = learning_rate;
  c.momentum = momentum;
  c.nesterov = nesterov;
  return c;
}

OptimizerConfig rmsprop(double learning_rate, double rho, double momentum, double epsilon) {
  OptimizerConfig c;
  c.name = "rmsprop";
  c.learning_rate = learning_rate;
  c.rho = rho;
  c.momentum = momentum;
  c.epsilon = epsilon;
  return c;
}

std::string keras_class_name(const std::string& snake) {
  // Keras' snake-case names of these split "ReLU" as "re_lu"; camel-casing them back part by
  // part would give "ReLu".
  static const std::map<std::string, std::string> irregular = {
      {"re_lu", "ReLU"}, {"leaky_re_lu", "LeakyReLU"}, {"p_re_lu", "PReLU"},
      {"thresholded_re_lu", "ThresholdedReLU"}, {"elu", "ELU"}};
  if (auto it = irregular.find(snake); it != irregular.end()) return it->second;
  static const std::set<std::string> upper = {"lstm", "gru", "rnn"};
  std::string out;
  size_t i = 0;
  while (i <= snake.size()) {
    size_t j = snake.find('_', i);
    if (j == std::string::npos) j = snake.size();
    std::string part = snake.substr(i, j - i);
    if (upper.count(part)) {
      for (char& c : part) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (!part.empty()) {
      part[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));
      // "2d" / "1d" / "3d" suffixes are upper case in Keras' class names.
      const size_t n = part.size();
      if (n >= 2 && part[n - 1] == 'd' && std::isdigit(static_cast<unsigned char>(part[n - 2])))
        part[n - 1] = 'D';
    }
    out += part;
    i = j + 1;
  }
  return out;
}

Model::Model() = default;
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model::Model(std::vector<Output> inputs, std::vector<Output> outputs, std::string name)
    : name_(std::move(name)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
  SLUICE_REQUIRE(!inputs_.empty() && !outputs_.empty(), InvalidArgument, "model '", name_,
                 "': needs at least one input and one output");
  graph_ = inputs_[0].graph();
  for (const auto& t : inputs_) {
    SLUICE_REQUIRE(t.valid() && t.node()->graph == graph_.data(), InvalidArgument, "model '",
                   name_, "': input ", t.valid() ? t.name() : "<empty>",
                   " is not a tensor of the model's graph");
    SLUICE_REQUIRE(t.node()->op_type() == "Placeholder", InvalidArgument, "model '", name_,
                   "': input ", t.name(), " is a ", t.node()->op_type(),
                   ", not a placeholder");
  }
  for (const auto& t : outputs_)
    SLUICE_REQUIRE(t.valid() && t.node()->graph == graph_.data(), InvalidArgument, "model '",
                   name_, "': output ", t.valid() ? t.name() : "<empty>",
                   " is not a tensor of the model's graph");
  finish_build();
}

void Model::build_from_data(const std::vector<Tensor>&) { require_built("fit"); }

void Model::require_built(const char* what) const {
  SLUICE_REQUIRE(built_, FailedPrecondition, "model '", name_, "': ", what,
                 " needs a built model (call build(input_shape) or fit first)");
}

void Model::require_compiled(const char* what) const {
  require_built(what);
  SLUICE_REQUIRE(compiled_ != nullptr, FailedPrecondition, "model '", name_, "': ", what,
                 " needs a compiled model: call compile(optimizer, loss, metrics) first");
}

bool Model::compiled() const { return compiled_ != nullptr; }

Session& Model::session() const {
  require_built("session()");
  return *session_;
}

namespace {

int64_t num_elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s.dims()) n *= d;
  return n;
}

}  // namespace

void Model::finish_build() {
  // Nodes the outputs depend on (data inputs only: control inputs are not model structure).
  std::set<const Node*> reach;
  std::vector<const Node*> stack;
  for (const auto& o : outputs_) stack.push_back(o.node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!reach.insert(n).second) continue;
    for (const auto& in : n->inputs) stack.push_back(in.node());
  }
  // Each recorded layer call inside the model, by output node.
  struct Call {
    const Node* node;
    std::string name, type;
  };
  std::vector<Call> calls;
  const size_t plen = std::strlen(layers::kLayerCallPrefix);
  for (const std::string& key : graph_.collection_keys()) {
    if (key.compare(0, plen, layers::kLayerCallPrefix) != 0) continue;
    const size_t colon = key.find(':', plen);
    if (colon == std::string::npos) continue;
    for (const Operation& op : graph_.collection(key))
      if (reach.count(op.node()))
        calls.push_back({op.node(), key.substr(colon + 1), key.substr(plen, colon - plen)});
  }
  // Layers inside wrappers (TimeDistributed's inner layer) belong to the wrapper's row.
  std::set<std::string> call_names;
  for (const auto& c : calls) call_names.insert(c.name);
  calls.erase(std::remove_if(calls.begin(), calls.end(),
                             [&](const Call& c) {
                               for (size_t p = c.name.find('/'); p != std::string::npos;
                                    p = c.name.find('/', p + 1))
                                 if (call_names.count(c.name.substr(0, p))) return true;
                               return false;
                             }),
              calls.end());
  std::sort(calls.begin(), calls.end(),
            [](const Call& a, const Call& b) { return a.node->id < b.node->id; });
  std::map<const Node*, std::string> owner;  // layer output / input node -> row name
  layers_.clear();
  for (const auto& in : inputs_) {
    LayerInfo info;
    info.name = in.node()->name;
    info.type = "InputLayer";
    info.output_shape = in.shape();
    owner[in.node()] = info.name;
    if (!sequential_) layers_.push_back(info);
  }
  const std::vector<Operation> all_vars = graph_.global_variables();
  const std::vector<Operation> trainable = graph_.trainable_variables();
  std::set<std::string> trainable_names, seen_layers;
  for (const auto& v : trainable) trainable_names.insert(v.name());
  for (const auto& c : calls) owner[c.node] = c.name;
  std::map<std::string, size_t> row_of;
  for (const auto& c : calls) {
    // A shared layer has one row (weights counted once); every call adds its inbound layers.
    const bool first = !seen_layers.count(c.name);
    seen_layers.insert(c.name);
    if (first) row_of[c.name] = layers_.size();
    LayerInfo fresh;
    LayerInfo& info = first ? fresh : layers_[row_of[c.name]];
    info.name = c.name;
    info.type = keras_class_name(c.type);
    if (first) info.output_shape = c.node->output_shapes.empty() ? Shape() : c.node->output_shapes[0];
    for (const auto& v : first ? all_vars : std::vector<Operation>()) {
      if (v.name().compare(0, c.name.size() + 1, c.name + "/") != 0) continue;
      const bool tr = trainable_names.count(v.name()) > 0;
      const int64_t n = num_elements(v.node()->output_shapes[0]);
      info.weights.push_back(v.name());
      info.trainable.push_back(tr);
      info.params += n;
      if (tr) info.trainable_params += n;
    }
    // Inbound layers: walk back from the output to the nearest other layer outputs or inputs.
    std::set<const Node*> visited;
    std::vector<const Node*> todo = {c.node};
    while (!todo.empty()) {
      const Node* n = todo.back();
      todo.pop_back();
      if (!visited.insert(n).second) continue;
      for (const auto& in : n->inputs) {
        auto it = owner.find(in.node());
        if (it != owner.end() && it->second != c.name) {
          if (std::find(info.inbound.begin(), info.inbound.end(), it->second) == info.inbound.end())
            info.inbound.push_back(it->second);
        } else if (in.node()->op_type() != "VariableV2" && in.node()->op_type() != "Placeholder") {
          todo.push_back(in.node());
        }
      }
    }
    if (first) layers_.push_back(info);
  }
  session_ = std::make_unique<Session>(graph_);
  Scope root(graph_);
  session_->run({}, {}, {ops::global_variables_initializer(root)});
  built_ = true;
}

int64_t Model::count_params() const {
  require_built("count_params");
  int64_t n = 0;
  for (const auto& l : layers_) n += l.params;
  return n;
}

namespace {

std::string shape_text(const Shape& s) {
  if (!s.known_rank()) return "?";
  std::string r = "(";
  for (int i = 0; i < s.rank(); ++i) {
    if (i) r += ", ";
    r += s.dim(i) < 0 ? "None" : std::to_string(s.dim(i));
  }
  if (s.rank() == 1) r += ",";
  return r + ")";
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) r += ',';
    r += s[i];
  }
  return r;
}

// Keras' print_row: each field is cut at its column end and padded to it.
std::string row(const std::vector<std::string>& fields, const std::vector<size_t>& ends) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line.back() = ' ';  // a cut field never runs into the next column
    line += fields[i];
    line = line.substr(0, ends[i]);
    line += std::string(ends[i] - line.size(), ' ');
  }
  return line + "\n";
}

}  // namespace

std::string Model::summary_string() const {
  require_built("summary");
  const size_t width = sequential_ ? 65 : 98;
  const std::vector<size_t> ends =
      sequential_ ? std::vector<size_t>{29, 55, 65} : std::vector<size_t>{32, 53, 65, 98};
  std::vector<std::string> header = {"Layer (type)", "Output Shape", "Param #"};
  if (!sequential_) header.push_back("Connected to");
  std::ostringstream s;
  s << "Model: \"" << name_ << "\"\n" << std::string(width, '_') << "\n" << row(header, ends)
    << std::string(width, '=') << "\n";
  int64_t total = 0, trainable = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerInfo& l = layers_[i];
    std::vector<std::string> f = {l.name + " (" + l.type + ")",
                                  l.type == "InputLayer" ? "[" + shape_text(l.output_shape) + "]"
                                                         : shape_text(l.output_shape),
                                  std::to_string(l.params)};
    if (!sequential_) f.push_back(l.inbound.empty() ? "" : l.inbound[0] + "[0][0]");
    s << row(f, ends);
    for (size_t k = 1; !sequential_ && k < l.inbound.size(); ++k)
      s << row({"", "", "", l.inbound[k] + "[0][0]"}, ends);
    s << std::string(width, i + 1 == layers_.size() ? '=' : '_') << "\n";
    total += l.params;
    trainable += l.trainable_params;
  }
  if (layers_.empty()) s << std::string(width, '=') << "\n";
  s << "Total params: " << with_commas(total) << "\n"
    << "Trainable params: " << with_commas(trainable) << "\n"
    << "Non-trainable params: " << with_commas(total - trainable) << "\n"
    << std::string(width, '_') << "\n";
  return s.str();
}

void Model::summary(std::FILE* out) const {
  const std::string t = summary_string();
  std::fwrite(t.data(), 1, t.size(), out);
  std::fflush(out);
}

std::vector<Tensor> Model::get_weights() const {
  require_built("get_weights");
  std::vector<Tensor> r;
  for (const auto& l : layers_)
    for (const auto& w : l.weights) r.push_back(session_->variable_value(w));
  return r;
}

void Model::set_weights(const std::vector<Tensor>& values) {
  require_built("set_weights");
  std::vector<const Node*> vars;
  for (const auto& l : layers_)
    for (const auto& w : l.weights) vars.push_back(graph_.operation(w).node());
  SLUICE_REQUIRE(values.size() == vars.size(), InvalidArgument, "model '", name_, "' has ",
                 vars.size(), " weights, got ", values.size(), " values");
  for (size_t i = 0; i < vars.size(); ++i)
    SLUICE_REQUIRE(values[i].valid() && values[i].dtype() == vars[i]->output_dtypes[0] &&
                       values[i].shape() == vars[i]->output_shapes[0],
                   InvalidArgument, "model '", name_, "': weight ", i, " '", vars[i]->name,
                   "' is ", dtype_name(vars[i]->output_dtypes[0]),
                   vars[i]->output_shapes[0].to_string(), ", got ",
                   values[i].valid() ? values[i].summary() : "an empty Tensor");
  for (size_t i = 0; i < vars.size(); ++i) session_->set_variable_value(vars[i]->name, values[i]);
}

double Model::learning_rate() const {
  require_compiled("learning_rate");
  return session_->variable_value(compiled_->learning_rate.node()->name).scalar<float>();
}

double Model::current_learning_rate() const {
  require_compiled("current_learning_rate");
  return session_->run({}, {compiled_->effective_learning_rate})[0].scalar<float>();
}

void Model::set_learning_rate(double lr) {
  require_compiled("set_learning_rate");
  session_->set_variable_value(compiled_->learning_rate.node()->name,
                               Tensor(static_cast<float>(lr)));
}

int64_t Model::iterations() const {
  require_compiled("iterations");
  return session_->variable_value(compiled_->iterations.node()->name).scalar<int64_t>();
}

// ---- Sequential ----

Sequential::Sequential(std::vector<LayerRef> layers, std::string name) {
  name_ = std::move(name);
  sequential_ = true;
  for (auto& l : layers) add(std::move(l));
}

void Sequential::add(LayerRef layer) {
  SLUICE_REQUIRE(!built_, FailedPrecondition, "model '", name_,
                 "': layers cannot be added once the model is built");
  SLUICE_REQUIRE(layer.get() != nullptr, InvalidArgument, "model '", name_, "': null layer");
  objects_.push_back(layer.get());
}

void Sequential::build(const Shape& input_shape, DType dtype) {
  SLUICE_REQUIRE(!built_, FailedPrecondition, "model '", name_, "' is already built");
  SLUICE_REQUIRE(!objects_.empty(), FailedPrecondition, "model '", name_, "' has no layers");
  std::vector<int64_t> dims = {-1};
  for (int64_t d : input_shape.dims()) dims.push_back(d);
  Scope root(graph_);
  Output x = ops::placeholder(root.named("input"), dtype, Shape(dims));
  inputs_ = {x};
  // Keras' mask propagation: an Embedding with mask_zero makes a mask [B, T] that reaches
  // the recurrent layers below it through the layers that keep the time axis; a recurrent
  // layer without return_sequences consumes it.
  Output mask;
  for (const auto& l : objects_) {
    const Output in = x;
    if (auto* r = dynamic_cast<layers::Recurrent*>(l.get())) {
      x = (*r)(root, x, mask);
      if (!r->config().return_sequences) mask = Output();
    } else if (auto* b = dynamic_cast<layers::Bidirectional*>(l.get())) {
      x = (*b)(root, x, mask);
      if (!b->forward_layer().config().return_sequences) mask = Output();
    } else {
      const bool passes_mask = dynamic_cast<layers::Dense*>(l.get()) || dynamic_cast<layers::Dropout*>(l.get()) ||
                               dynamic_cast<layers::Activation*>(l.get()) ||
                               dynamic_cast<layers::BatchNormalization*>(l.get()) ||
                               dynamic_cast<layers::LayerNormalization*>(l.get()) ||
                               dynamic_cast<layers::TimeDistributed*>(l.get());
      SLUICE_REQUIRE(!mask.valid() || passes_mask, InvalidArgument, "model '", name_, "': layer '",
                     l->type_name(), "' does not support masking, but the Embedding above it "
                     "(mask_zero) passes it a mask: put a recurrent layer without "
                     "return_sequences before it");
      x = (*l)(root, x);
    }
    if (auto* e = dynamic_cast<layers::Embedding*>(l.get())) mask = e->compute_mask(root, in);
  }
  outputs_ = {x};
  finish_build();
}

void Sequential::build_from_data(const std::vector<Tensor>& x) {
  if (built_) return;
  SLUICE_REQUIRE(x.size() == 1 && x[0].valid() && x[0].shape().rank() >= 1, InvalidArgument,
                 "model '", name_, "': a Sequential model takes one input tensor [N, ...]");
  const std::vector<int64_t> d = x[0].shape().dims();
  build(Shape(std::vector<int64_t>(d.begin() + 1, d.end())), x[0].dtype());
}

}  // namespace sluice::models
