// Recurrent layers and embeddings (Keras semantics).
//
//   layers::LSTM lstm(128);                              // last output only
//   Output h = lstm(root, x);                            // x [B, T, F] -> h [B, 128]
//   layers::LSTM seq(64, true, true, "encoder");         // sequences + states
//   std::vector<Output> r = seq.call_with_state(root, x, {h0, c0});   // {seq, h, c}
//
//   layers::Embedding embed(10000, 64, /*mask_zero=*/true);
//   Output e = embed(root, ids);                         // ids [B, T] -> [B, T, 64]
//   Output mask = embed.compute_mask(root, ids);         // ids != 0, [B, T] bool
//   layers::Bidirectional bi(layers::GRU(32, "tanh", "sigmoid", true, true, true));
//   Output y = bi(root, e, mask);                        // [B, T, 64], masked steps skipped
//
// Masks travel explicitly: a layer that consumes one takes it as an extra argument, and
// Embedding::compute_mask makes one. A recurrent layer with return_sequences keeps the
// time axis, so the same mask applies to its output.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../ops/rnn_ops.h"
#include "layers.h"

namespace sluice::layers {

// The arguments the recurrent layers share, named and defaulted as in Keras (tf.keras 2).
struct RecurrentConfig {
  ops::RnnActivation activation = ops::RnnActivation::tanh();
  ops::RnnActivation recurrent_activation = ops::RnnActivation::sigmoid();  // LSTM, GRU gates
  bool use_bias = true;
  bool return_sequences = false;
  bool return_state = false;
  // Process the sequence backwards and return the outputs in that (processing) order.
  bool go_backwards = false;
  bool unit_forget_bias = true;  // LSTM: the forget gate's bias starts at 1
  bool reset_after = true;       // GRU: tf.keras 2's default (standalone Keras 2: false)
  std::string name;              // empty: the layer's default name, made unique
  Initializer kernel_initializer = Initializer::glorot_uniform();
  Initializer recurrent_initializer = Initializer::orthogonal();
  Initializer bias_initializer = Initializer::zeros();
};

// The base of LSTM, GRU and SimpleRNN: one fused op over the whole sequence (see
// ops::lstm, ops::gru, ops::simple_rnn). Weights, named "<scope>/<layer name>/...":
// kernel [F, gates*units] (glorot uniform), recurrent_kernel [units, gates*units]
// (orthogonal) and, with use_bias, bias (zeros). F must be known when the layer is first
// called; B and T may be unknown.
//
// Masking (Keras): a mask [B, T] (bool, or numbers where nonzero means valid) skips steps:
// a masked step keeps every state and repeats the previous output (zeros before the first
// valid step). The last output (return_sequences false) is the output of the last step,
// which is the state of the last valid step, or zeros when a row has no valid step.
class Recurrent : public Layer {
 public:
  using Layer::operator();
  // The output alone, with a mask (an empty Output: none).
  Output operator()(const Scope& scope, const Output& x, const Output& mask);

  // Runs the layer from `initial_state` (empty: zeros; LSTM {h0, c0}, GRU and SimpleRNN
  // {h0}, each [B, units]) and returns what Keras returns: {output} or, with return_state,
  // {output, final states...}, where output is the last output [B, units] or, with
  // return_sequences, the sequence [B, T, units] (in processing order with go_backwards).
  std::vector<Output> call_with_state(const Scope& scope, const Output& x,
                                      const std::vector<Output>& initial_state = {},
                                      const Output& mask = Output());

  int64_t units() const { return units_; }
  const RecurrentConfig& config() const { return config_; }
  // The name given in the config, else the class's default ("lstm"), before uniquing.
  std::string base_name() const { return config_.name.empty() ? default_name() : config_.name; }
  // 2 for LSTM (h, c), 1 for GRU and SimpleRNN.
  int num_states() const { return num_states_; }
  // The weights' values (valid once the layer has been called; bias is empty without
  // use_bias).
  Output kernel() const { return kernel_; }
  Output recurrent_kernel() const { return recurrent_kernel_; }
  Output bias() const { return bias_; }

  // A new, unbuilt layer of the same class and configuration, with another name and
  // direction (Bidirectional makes its two halves with it).
  virtual std::unique_ptr<Recurrent> clone(const std::string& name, bool go_backwards) const = 0;

 protected:
  Recurrent(int64_t units, RecurrentConfig config, int gates, int num_states, const char* kind);
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;
  // Runs the fused op on the states and returns {sequence, final states...}.
  virtual std::vector<Output> run(const Scope& scope, const Output& x,
                                  const std::vector<Output>& states, const Output& bias,
                                  const ops::RnnOptions& options) = 0;
  // The bias weight's shape (GRU: [2, 3U] with reset_after).
  virtual Shape bias_shape() const { return Shape{gates_ * units_}; }
  // Creates the bias weight (LSTM overrides it for unit_forget_bias).
  virtual Output add_bias(const Scope& scope, DType dtype);

 private:
  friend class Bidirectional;

  int64_t units_;
  RecurrentConfig config_;
  int gates_, num_states_;
  const char* kind_;  // "LSTM", for messages
  // Set by Bidirectional: the sequence output in input order (its backward half), and
  // zeros for masked steps (Keras forces zero_output_for_mask there with return_sequences).
  bool input_order_output_ = false, zero_output_for_mask_ = false;
  Output kernel_, recurrent_kernel_, bias_, bias_value_;
  // Hand-over between call_with_state and call (Layer::operator() builds, then calls).
  std::vector<Output> initial_state_;
  Output mask_;
  std::vector<Output> last_states_;
};

// Long short-term memory, as keras.layers.LSTM (gates i, f, c, o; ops::lstm). With
// unit_forget_bias the forget-gate quarter of the bias starts at 1 (the rest from
// bias_initializer), as Keras.
class LSTM : public Recurrent {
 public:
  explicit LSTM(int64_t units, bool return_sequences = false, bool return_state = false,
                std::string name = "", bool unit_forget_bias = true,
                Initializer kernel_initializer = Initializer::glorot_uniform(),
                Initializer recurrent_initializer = Initializer::orthogonal(),
                Initializer bias_initializer = Initializer::zeros());
  // Every argument (activation, recurrent_activation such as "hard_sigmoid", use_bias,
  // go_backwards, ...) through the config.
  LSTM(int64_t units, const RecurrentConfig& config);
  std::unique_ptr<Recurrent> clone(const std::string& name, bool go_backwards) const override;

 protected:
  const char* default_name() const override { return "lstm"; }
  std::vector<Output> run(const Scope& scope, const Output& x, const std::vector<Output>& states,
                          const Output& bias, const ops::RnnOptions& options) override;
  Output add_bias(const Scope& scope, DType dtype) override;
};

// Gated recurrent unit, as keras.layers.GRU (gates z, r, h; ops::gru): bias [2, 3*units]
// (input and recurrent rows) with reset_after, else [3*units].
class GRU : public Recurrent {
 public:
  explicit GRU(int64_t units, ops::RnnActivation activation = ops::RnnActivation::tanh(),
               ops::RnnActivation recurrent_activation = ops::RnnActivation::sigmoid(),
               bool use_bias = true, bool reset_after = true, bool return_sequences = false,
               bool return_state = false, bool go_backwards = false, std::string name = "");
  GRU(int64_t units, const RecurrentConfig& config);
  std::unique_ptr<Recurrent> clone(const std::string& name, bool go_backwards) const override;

 protected:
  const char* default_name() const override { return "gru"; }
  std::vector<Output> run(const Scope& scope, const Output& x, const std::vector<Output>& states,
                          const Output& bias, const ops::RnnOptions& options) override;
  Shape bias_shape() const override;
};

// Fully connected RNN, as keras.layers.SimpleRNN (ops::simple_rnn): kernel [F, units],
// recurrent_kernel [units, units], bias [units]. recurrent_activation is unused.
class SimpleRNN : public Recurrent {
 public:
  explicit SimpleRNN(int64_t units, ops::RnnActivation activation = ops::RnnActivation::tanh(),
                     bool use_bias = true, bool return_sequences = false,
                     bool return_state = false, bool go_backwards = false,
                     std::string name = "");
  SimpleRNN(int64_t units, const RecurrentConfig& config);
  std::unique_ptr<Recurrent> clone(const std::string& name, bool go_backwards) const override;

 protected:
  const char* default_name() const override { return "simple_rnn"; }
  std::vector<Output> run(const Scope& scope, const Output& x, const std::vector<Output>& states,
                          const Output& bias, const ops::RnnOptions& options) override;
};

// How Bidirectional combines its two halves (Keras' merge_mode; none keeps both).
enum class MergeMode { concat, sum, mul, ave, none };

// keras.layers.Bidirectional: a forward and a backward copy of `layer` (its class and
// configuration; the object itself is not used), named "forward_<name>" and
// "backward_<name>" under this layer ("bidirectional/forward_lstm/kernel"), where <name>
// is the layer's name or its default. The backward copy toggles go_backwards; with
// return_sequences its outputs are put back into input order before merging, and masked
// steps output zeros (as Keras forces there). Output: the merge of the two outputs
// (concat: [.., 2*units]); with return_state, the forward then the backward final states
// follow.
class Bidirectional : public Layer {
 public:
  explicit Bidirectional(const Recurrent& layer, MergeMode merge_mode = MergeMode::concat,
                         std::string name = "");
  using Layer::operator();
  Output operator()(const Scope& scope, const Output& x, const Output& mask);
  // {merged output, states...}, or with MergeMode::none {forward output, backward output,
  // states...}. initial_state: the forward states then the backward ones (or empty).
  // operator() with MergeMode::none is InvalidArgument: use this.
  std::vector<Output> call_with_state(const Scope& scope, const Output& x,
                                      const std::vector<Output>& initial_state = {},
                                      const Output& mask = Output());
  Recurrent& forward_layer() { return *forward_; }
  Recurrent& backward_layer() { return *backward_; }
  MergeMode merge_mode() const { return merge_mode_; }

 protected:
  const char* default_name() const override { return "bidirectional"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::unique_ptr<Recurrent> forward_, backward_;
  MergeMode merge_mode_;
  std::vector<Output> initial_state_;
  Output mask_;
  bool listing_ = false;  // called through call_with_state
  std::vector<Output> results_;
};

// keras.layers.Embedding: ids [...] (int32 or int64; float ids are cast to int32 as Keras
// does) -> embeddings[ids] [..., output_dim]. Weight "<scope>/<name>/embeddings"
// [input_dim, output_dim], uniform in [-0.05, 0.05) by default. Ids outside
// [0, input_dim) are an error at run time (the lookup's OutOfRange).
class Embedding : public Layer {
 public:
  Embedding(int64_t input_dim, int64_t output_dim, bool mask_zero = false, std::string name = "",
            Initializer embeddings_initializer = Initializer::random_uniform(-0.05, 0.05),
            DType dtype = DType::f32);
  // With mask_zero, ids != 0 (bool, the ids' shape) for the layers downstream; else an
  // empty Output (no mask), as Keras' compute_mask.
  Output compute_mask(const Scope& scope, const Output& ids) const;
  Output embeddings() const { return embeddings_; }
  bool mask_zero() const { return mask_zero_; }

 protected:
  const char* default_name() const override { return "embedding"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t input_dim_, output_dim_;
  bool mask_zero_;
  Initializer init_;
  DType dtype_;
  Output embeddings_;
};

}  // namespace sluice::layers
