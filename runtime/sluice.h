// Sluice: a small C++ tensor runtime with a dataflow graph. This umbrella header is the
// whole public API (installed as <sluice/sluice.h>).
//
//   Graph g;                              // explicit: there is no default graph
//   Scope root(g);
//   Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 784});
//   layers::Dense dense(10, Activation::softmax);
//   Output y = dense(root, x);
//   Session sess(g);                      // owns this graph's variable values
//   sess.run({}, {}, {ops::global_variables_initializer(root)});
//   Tensor probs = sess.run({{x, batch}}, {y})[0];
#pragma once

#if __cplusplus < 201703L
#error "Sluice needs C++17 (-std=c++17); CMake's Sluice::sluice target and sluice.pc ask for it"
#endif

#include "allocator.h"
#include "dtype.h"
#include "error.h"
#include "session.h"
#include "shape.h"
#include "tensor.h"
#include "thread_pool.h"

#include "../graph/gradients.h"
#include "../graph/graph.h"
#include "../graph/conv_layers.h"
#include "../graph/device.h"
#include "../graph/layers.h"
#include "../graph/normalization_layers.h"
#include "../graph/recurrent_layers.h"
#include "../graph/losses.h"
#include "../graph/optimizers.h"
#include "../graph/scope.h"

#include "../ops/array_ops.h"
#include "../ops/shape_ops.h"
#include "../ops/conv_ops.h"
#include "../ops/gemm.h"
#include "../ops/math_ops.h"
#include "../ops/nn_ops.h"
#include "../ops/normalization_ops.h"
#include "../ops/numerics_ops.h"
#include "../ops/pool_ops.h"
#include "../ops/random_ops.h"
#include "../ops/reduction_ops.h"
#include "../ops/rnn_ops.h"
#include "../ops/registry.h"
#include "../ops/state_ops.h"
#include "../ops/training_ops.h"
#include "../ops/depthwise_ops.h"
#include "../ops/layer_norm_ops.h"
#include "../ops/image_ops.h"
#include "../ops/activation_ops.h"
#include "../ops/math_binary_ops.h"
#include "../ops/math_unary_ops.h"
#include "../ops/matrix_ops.h"
#include "../ops/scan_ops.h"
#include "../ops/sort_ops.h"
#include "../ops/dense_ops.h"
#include "../ops/codec_ops.h"

#include "../io/bundle.h"
#include "../io/checkpoint.h"
#include "../io/graph_io.h"
#include "../io/idx.h"
#include "../io/npz.h"
#include "../io/progress.h"
#include "../io/saver.h"
#include "../io/optimize.h"
#include "../io/onnx/onnx_import.h"
#include "../io/tf/tf_checkpoint.h"
#include "../io/tf/tf_import.h"

#include "../graph/layers_ext.h"
#include "../models/callbacks.h"
#include "../models/model.h"
#include "../graph/layers_keras.h"
#include "../io/keras/keras_h5.h"

// Data-parallel training on MPI: programs that link sluice_distributed (built when MPI is
// found) get SLUICE_WITH_DISTRIBUTED from its CMake target.
#if defined(SLUICE_WITH_DISTRIBUTED)
#include "../distributed/distributed.h"
#endif
