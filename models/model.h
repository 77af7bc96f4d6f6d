// Keras-style models over Sluice's explicit Graph and Session: Sequential and functional
// Model with compile / fit / evaluate / predict / summary, callbacks and save / load_model.
//
//   models::Sequential model({layers::Conv2D(32, {3, 3}, {1, 1}, Padding::valid, Activation::relu),
//                             layers::MaxPooling2D(), layers::Flatten(),
//                             layers::Dense(10, Activation::softmax)});
//   model.build({28, 28, 1});                 // or let the first fit() build it
//   model.summary();
//   model.compile(models::adam(1e-3), "categorical_crossentropy", {"accuracy"});
//   models::FitOptions opt;
//   opt.batch_size = 64; opt.epochs = 2; opt.validation_data = {test_x, test_y};
//   models::History h = model.fit(train_x, train_y, opt);
//   auto logs = model.evaluate(test_x, test_y);          // {"loss": .., "accuracy": ..}
//   Tensor probs = model.predict(test_x);
//
// A model owns its Session; a Sequential model also owns its Graph, a functional Model
// shares the graph of its tensors (a Graph is a handle). Everything the model needs to train
// is built into the graph by compile(): the learning-rate variable, the targets, the sample
// weights, the loss, the metrics' per-batch statistics and the train op (which also runs the
// graph's update ops, e.g. batch normalization's moving averages). fit() feeds the learning
// phase true; evaluate() and predict() leave it false.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../graph/layers.h"
#include "dataset.h"
#include "../runtime/session.h"

namespace sluice::models {

class Model;
class Callback;

using Logs = std::map<std::string, double>;

// A learning-rate schedule (Keras' keras.optimizers.schedules), evaluated in the graph from
// the model's step counter (iterations(): 0 for the first step):
//   exponential: initial * decay_rate^(step / decay_steps)  (floor of the ratio if staircase)
//   piecewise:   values[i] for boundaries[i-1] < step <= boundaries[i] (values: one more)
//   polynomial:  (initial - end) * (1 - min(step, decay_steps) / decay_steps)^power + end
//   cosine:      linear warm-up from initial to warmup_target over warmup_steps (none when
//                warmup_steps is 0: the target is initial), then target * (alpha + (1 - alpha)
//                * (1 + cos(pi * min(step - warmup_steps, decay_steps) / decay_steps)) / 2)
// initial is OptimizerConfig::learning_rate. The effective rate is the schedule's value
// times learning_rate() / initial, so callbacks that change the learning rate (e.g.
// ReduceLROnPlateau) scale the schedule.
struct LearningRateSchedule {
  enum class Kind { none, exponential, piecewise, polynomial, cosine };
  Kind kind = Kind::none;
  int64_t decay_steps = 1;
  double decay_rate = 0.96;
  bool staircase = false;
  std::vector<int64_t> boundaries;
  std::vector<double> values;
  double end_learning_rate = 0.0001, power = 1.0;
  double alpha = 0.0, warmup_target = 0.0;
  int64_t warmup_steps = 0;
};
LearningRateSchedule exponential_decay(int64_t decay_steps, double decay_rate, bool staircase = false);
LearningRateSchedule piecewise_constant_decay(std::vector<int64_t> boundaries, std::vector<double> values);
LearningRateSchedule polynomial_decay(int64_t decay_steps, double end_learning_rate = 0.0001,
                                      double power = 1.0);
LearningRateSchedule cosine_decay(int64_t decay_steps, double alpha = 0.0, double warmup_target = 0.0,
                                  int64_t warmup_steps = 0);

// The optimizer compile() builds. learning_rate lives in a graph variable
// ("learning_rate"), so callbacks can change it between steps. Clipping as Keras:
// clipvalue clips each gradient element to [-v, v], clipnorm rescales each gradient to at
// most that L2 norm, global_clipnorm rescales all gradients together (0: off).
struct OptimizerConfig {
  std::string name = "adam";  // "adam", "sgd", "rmsprop"
  double learning_rate = 0.001;
  double beta_1 = 0.9, beta_2 = 0.999;  // adam
  double epsilon = 1e-7;                // adam, rmsprop
  double rho = 0.9;                     // rmsprop
  double momentum = 0.0;                // sgd, rmsprop
  bool nesterov = false;                // sgd
  double clipnorm = 0.0, clipvalue = 0.0, global_clipnorm = 0.0;
  LearningRateSchedule schedule;
};
OptimizerConfig adam(double learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999,
                     double epsilon = 1e-7);
OptimizerConfig sgd(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false);
OptimizerConfig rmsprop(double learning_rate = 0.001, double rho = 0.9, double momentum = 0.0,
                        double epsilon = 1e-7);

// Validation inputs and targets (one tensor per model input / output).
struct ValidationData {
  std::vector<Tensor> x, y;
  ValidationData() = default;
  ValidationData(Tensor x1, Tensor y1) : x{std::move(x1)}, y{std::move(y1)} {}
  ValidationData(std::vector<Tensor> xs, std::vector<Tensor> ys)
      : x(std::move(xs)), y(std::move(ys)) {}
  bool empty() const { return x.empty(); }
};

struct FitOptions {
  int64_t batch_size = 32;
  int epochs = 1;
  // Either validation_data or validation_split (the last fraction of the examples, taken
  // before shuffling, as Keras does).
  ValidationData validation_data;
  double validation_split = 0.0;
  // Or a Dataset of batches (its own batching; evaluated after every epoch).
  std::optional<Dataset> validation_dataset;
  // Shuffle the training examples before every epoch: one std::mt19937_64 seeded with
  // `seed` shuffles an index vector in place each epoch (epochs before initial_epoch are
  // replayed, so a resumed fit sees the same orders).
  bool shuffle = true;
  uint64_t seed = 0;
  // Class id -> weight; scales each example's loss (targets: one-hot rows use their argmax).
  std::map<int64_t, double> class_weight;
  int initial_epoch = 0;  // epochs are numbered from 0 in callbacks, as Keras
  std::vector<std::shared_ptr<Callback>> callbacks;
  int verbose = 1;  // 0 silent, 1 progress bar, 2 one line per epoch
  // A JSON-lines training log (one object per epoch, models::JsonLogger, for `sluice plot`):
  // written after the user's callbacks; truncated by a fit from epoch 0, appended to by a
  // resumed one (initial_epoch > 0). Empty: none.
  std::string log;
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  std::vector<std::shared_ptr<Callback>> callbacks;
  int verbose = 0;
};

// A callback sees the model (model()) and hooks, called in Keras' order. Epochs and batches
// are numbered from 0. `logs` of batch ends hold the epoch's running values so far.
class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  Model& model() const;

  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int, const Logs&) {}
  virtual void on_epoch_end(int, const Logs&) {}
  virtual void on_train_batch_begin(int64_t, const Logs&) {}
  virtual void on_train_batch_end(int64_t, const Logs&) {}
  virtual void on_test_begin(const Logs&) {}
  virtual void on_test_end(const Logs&) {}
  virtual void on_test_batch_begin(int64_t, const Logs&) {}
  virtual void on_test_batch_end(int64_t, const Logs&) {}
  virtual void on_predict_begin(const Logs&) {}
  virtual void on_predict_end(const Logs&) {}
  virtual void on_predict_batch_begin(int64_t, const Logs&) {}
  virtual void on_predict_batch_end(int64_t, const Logs&) {}

 private:
  Model* model_ = nullptr;
};

// What fit() returns (and the callback recording it): every epoch's logs.
class History : public Callback {
 public:
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
};

// One row of summary(): a layer (or model input) of the model.
struct LayerInfo {
  std::string name;   // "conv2d"
  std::string type;   // "Conv2D"
  Shape output_shape;
  std::vector<std::string> weights;  // variable names, in the layer's order
  std::vector<bool> trainable;
  std::vector<std::string> inbound;  // names of the layers feeding it
  int64_t params = 0, trainable_params = 0;
};

// A layer handed to Sequential: owns a moved-in layer object (or shares one).
class LayerRef {
 public:
  // Takes temporaries only (a named layer would be moved from silently): pass
  // std::make_shared<...>() to keep a handle.
  template <class L, class = std::enable_if_t<std::is_base_of_v<layers::Layer, std::decay_t<L>> &&
                                              !std::is_lvalue_reference_v<L>>>
  LayerRef(L&& layer)  // NOLINT(google-explicit-constructor)
      : layer_(std::make_shared<std::decay_t<L>>(std::move(layer))) {}
  LayerRef(std::shared_ptr<layers::Layer> layer) : layer_(std::move(layer)) {}  // NOLINT
  const std::shared_ptr<layers::Layer>& get() const { return layer_; }

 private:
  std::shared_ptr<layers::Layer> layer_;
};

class Model {
 public:
  // A functional model from tensors of one graph: `inputs` are placeholders, `outputs`
  // depend on them through layers. Layers are found through the graph (each layer call is
  // recorded there). InvalidArgument for empty lists, tensors of different graphs, or an
  // input that is not a placeholder.
  Model(std::vector<Output> inputs, std::vector<Output> outputs, std::string name = "model");
  Model(const Output& input, const Output& output, std::string name = "model")
      : Model(std::vector<Output>{input}, std::vector<Output>{output}, std::move(name)) {}
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const std::string& name() const { return name_; }
  const Graph& graph() const { return graph_; }
  Graph& graph() { return graph_; }
  // The model's session (created with the variables initialised when the model is built).
  Session& session() const;
  const std::vector<Output>& inputs() const { return inputs_; }
  const std::vector<Output>& outputs() const { return outputs_; }
  const std::vector<LayerInfo>& layers() const { return layers_; }

  // Keras' summary table: layer (type), output shape, parameter count (and "Connected to"
  // for functional models); total / trainable / non-trainable counts.
  std::string summary_string() const;
  void summary(std::FILE* out = stdout) const;
  int64_t count_params() const;

  // Builds the loss, metrics and train op. loss: "categorical_crossentropy",
  // "sparse_categorical_crossentropy", "binary_crossentropy", "mean_squared_error" ("mse"),
  // "mean_absolute_error" ("mae"), one for all outputs. metrics (Keras names):
  // "accuracy"/"acc" (picked by the loss as Keras does), "categorical_accuracy",
  // "sparse_categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy" (k=5),
  // "precision", "recall", "auc" (Keras AUC(): 200 thresholds, ROC, interpolated; predictions
  // and targets flattened), "mae", "mse". InvalidArgument for an unknown name;
  // FailedPrecondition when compiled twice.
  void compile(const OptimizerConfig& optimizer, const std::string& loss,
               const std::vector<std::string>& metrics = {});
  bool compiled() const;
  // "loss" followed by the metric names (prefixed "<output>_" with several outputs).
  std::vector<std::string> metrics_names() const;

  // x: one tensor per input [N, ...]; y: one per output [N, ...] (sparse losses: integer
  // class ids [N]). InvalidArgument when counts, row counts, dtypes or shapes disagree.
  History fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
              const FitOptions& options = {});
  // One input and one output. (Templates so that braced lists {a, b} pick the vector forms.)
  template <class T, class = std::enable_if_t<std::is_same_v<T, Tensor>>>
  History fit(const T& x, const T& y, const FitOptions& options = {}) {
    return fit(std::vector<Tensor>{x}, std::vector<Tensor>{y}, options);
  }
  // Training batches from a Dataset (already batched; one pass per epoch, pass number =
  // epoch, so its shuffles are reproducible and a resumed fit sees the same orders).
  // batch_size, shuffle and seed of `options` do not apply (the dataset decides);
  // validation_split is InvalidArgument. The progress bar's total is the dataset's
  // cardinality when known.
  History fit(const Dataset& data, const FitOptions& options = {});
  // Loss and metrics over the whole data (running means over its batches).
  Logs evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                const EvaluateOptions& options = {});
  template <class T, class = std::enable_if_t<std::is_same_v<T, Tensor>>>
  Logs evaluate(const T& x, const T& y, const EvaluateOptions& options = {}) {
    return evaluate(std::vector<Tensor>{x}, std::vector<Tensor>{y}, options);
  }
  // Over a Dataset of batches (each element's y: the targets).
  Logs evaluate(const Dataset& data, const EvaluateOptions& options = {});
  // The outputs for every batch of the dataset (x only is used), concatenated.
  std::vector<Tensor> predict(const Dataset& data);
  // The outputs for all of x, batched (the last batch may be partial), concatenated.
  std::vector<Tensor> predict(const std::vector<Tensor>& x, int64_t batch_size = 32,
                              const std::vector<std::shared_ptr<Callback>>& callbacks = {});
  template <class T, class = std::enable_if_t<std::is_same_v<T, Tensor>>>
  Tensor predict(const T& x, int64_t batch_size = 32) {
    return predict(std::vector<Tensor>{x}, batch_size)[0];
  }
  // One step on one batch (learning phase true); returns loss and metrics of that batch.
  Logs train_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                      const std::map<int64_t, double>& class_weight = {});
  Logs test_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y);

  // Every layer weight (layer order, then each layer's weight order; no optimizer slots).
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& values);

  double learning_rate() const;
  // The rate the next step will use (the schedule at the current step; learning_rate()
  // without one).
  double current_learning_rate() const;
  void set_learning_rate(double lr);
  // The optimizer's step counter (Adam's "iterations"; counted by the model for others).
  int64_t iterations() const;

  // Writes a bundle (io::load_model can serve it: signature "serving_default") holding the
  // whole training graph and every variable (optimizer slots and step counter included),
  // plus "model.json" with the model and training config. With overwrite, an existing
  // model folder is replaced (new one complete first); else AlreadyExists.
  void save(const std::string& dir, bool overwrite = true) const;

  // Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit() after the current batch
  // or epoch.
  bool stop_training = false;

  struct Compiled;  // graph handles built by compile() (internal)

 protected:
  Model();
  // Finishes construction once inputs_/outputs_ are set: layer table, session.
  void finish_build();
  // Builds the graph from the first data seen (Sequential); the base requires it built.
  virtual void build_from_data(const std::vector<Tensor>& x);
  bool built_ = false;
  bool sequential_ = false;
  std::string name_;
  Graph graph_;
  std::vector<Output> inputs_, outputs_;
  std::vector<LayerInfo> layers_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<Compiled> compiled_;

 private:
  friend Model load_model(const std::string& dir);
  void require_built(const char* what) const;
  void require_compiled(const char* what) const;
  friend struct ModelAccess;  // models/*.cc internals
};

// A stack of single-input, single-output layers. The graph is built by build(input_shape)
// (or by the first fit/evaluate/predict from the data's shape): an "input" placeholder
// [?, input_shape...] then each layer in order. Masks propagate as in Keras: after an
// Embedding with mask_zero, recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional) get the
// mask (ids != 0) through Dense, Dropout, Activation, BatchNormalization,
// LayerNormalization and TimeDistributed; a recurrent layer without return_sequences ends
// it; any other layer given a mask is InvalidArgument (Keras' "does not support masking").
class Sequential : public Model {
 public:
  explicit Sequential(std::vector<LayerRef> layers = {}, std::string name = "sequential");
  // Appends a layer (FailedPrecondition once built).
  void add(LayerRef layer);
  // input_shape without the batch dimension.
  void build(const Shape& input_shape, DType dtype = DType::f32);
  bool is_built() const { return built_; }
  const std::vector<std::shared_ptr<layers::Layer>>& layer_objects() const { return objects_; }

 protected:
  void build_from_data(const std::vector<Tensor>& x) override;

 private:
  friend class Model;
  std::vector<std::shared_ptr<layers::Layer>> objects_;
};

// Loads what Model::save wrote: the graph, every variable and the training config, so fit()
// continues where the saved model stopped. NotFound / DataLoss naming the file otherwise.
Model load_model(const std::string& dir);

}  // namespace sluice::models
