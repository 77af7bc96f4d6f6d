// Recurrent ops: a fused LSTM over a whole sequence, with Keras semantics.
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// One LSTM layer run over a whole sequence (Keras' LSTM cell, batch-major, no masking):
//   x [B, T, F]                  the input sequence (B may be unknown until run time)
//   h0, c0 [B, U]                the initial hidden and cell state
//   kernel [F, 4U]               input weights, gate blocks of U columns in the order i, f, c, o
//   recurrent_kernel [U, 4U]     recurrent weights, same gate order
//   bias [4U]                    same gate order
// For t = 0 .. T-1, with z = x_t kernel + h_{t-1} recurrent_kernel + bias split into
// z_i, z_f, z_c, z_o:
//   i = sigmoid(z_i), f = sigmoid(z_f), o = sigmoid(z_o), c~ = tanh(z_c),
//   c_t = f * c_{t-1} + i * c~,  h_t = o * tanh(c_t).
// Returns {sequence [B, T, U] (h_1 .. h_T), h_last [B, U], c_last [B, U]}; with T = 0 the
// sequence is empty and the last states are h0 and c0. float32 or float64, one dtype for
// all six inputs. Differentiable with respect to every input (full backpropagation through
// time, by the fused "LSTMGrad" op). Runs as one "LSTM" node: the input projection of all
// steps is one GEMM, each step one [B, U] x [U, 4U] product (the recurrent kernel packed
// once per run) plus fused gate arithmetic. The node has two more outputs that the
// gradient reads, gates [B, T, 4U] (i, f, c~, o after their activations) and cells
// [B, T, U] (c_1 .. c_T); differentiating through those two is refused (Unimplemented).
std::vector<Output> lstm(const Scope& scope, const Output& x, const Output& h0, const Output& c0,
                         const Output& kernel, const Output& recurrent_kernel, const Output& bias);

}  // namespace sluice::ops
