// Recurrent layers (Keras semantics).
//
//   layers::LSTM lstm(128);                              // last output only
//   Output h = lstm(root, x);                            // x [B, T, F] -> h [B, 128]
//   layers::LSTM seq(64, true, true, "encoder");         // sequences + states
//   std::vector<Output> r = seq.call_with_state(root, x, {h0, c0});   // {seq, h, c}
#pragma once

#include <string>
#include <vector>

#include "layers.h"

namespace sluice::layers {

// Long short-term memory over a whole sequence, as keras.layers.LSTM with its defaults
// (tanh activation, sigmoid recurrent activation, bias, no dropout or masking), running
// as one fused LSTM op (see ops::lstm).
//   x [B, T, F] -> h_T [B, units], or the whole sequence [B, T, units] with
//   return_sequences.
// Weights, named "<scope>/<layer name>/...": kernel [F, 4*units] (glorot uniform),
// recurrent_kernel [units, 4*units] (orthogonal), bias [4*units] (zeros), gate blocks in
// Keras' order i, f, c, o. With unit_forget_bias the forget-gate quarter of the bias starts
// at 1 (the rest from bias_initializer), as Keras. F must be known when the layer is first
// called; B and T may be unknown.
class LSTM : public Layer {
 public:
  explicit LSTM(int64_t units, bool return_sequences = false, bool return_state = false,
                std::string name = "", bool unit_forget_bias = true,
                Initializer kernel_initializer = Initializer::glorot_uniform(),
                Initializer recurrent_initializer = Initializer::orthogonal(),
                Initializer bias_initializer = Initializer::zeros());

  // Runs the layer from `initial_state` = {h0 [B, units], c0 [B, units]} (empty: zeros) and
  // returns what Keras returns: {output} or, with return_state, {output, h_T, c_T}, where
  // output is h_T [B, units] or the sequence [B, T, units] (return_sequences).
  // operator()(scope, x) is call_with_state(scope, x)[0].
  std::vector<Output> call_with_state(const Scope& scope, const Output& x,
                                      const std::vector<Output>& initial_state = {});

  int64_t units() const { return units_; }
  // The weights' values (valid once the layer has been called).
  Output kernel() const { return kernel_; }
  Output recurrent_kernel() const { return recurrent_kernel_; }
  Output bias() const { return bias_; }

 protected:
  const char* default_name() const override { return "lstm"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  // The bias variable with its forget-gate quarter initialised to ones.
  Output add_unit_forget_bias(const Scope& scope, DType dtype);

  int64_t units_;
  bool return_sequences_, return_state_, unit_forget_bias_;
  Initializer kernel_init_, recurrent_init_, bias_init_;
  Output kernel_, recurrent_kernel_, bias_;
  // Hand-over between call_with_state and call (Layer::operator() builds, then calls).
  std::vector<Output> initial_state_;
  Output last_h_, last_c_;
};

}  // namespace sluice::layers
