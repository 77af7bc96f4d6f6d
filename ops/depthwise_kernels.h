// Depthwise convolution kernels (groups == channels), NHWC input, filter [kh,kw,c,m]
// (m = f / c, the depth multiplier; the same memory as conv2d's [kh,kw,1,f]). Internal to
// the conv ops; the tests call the individual code paths to compare them with each other.
//
// Every path is vectorized over channels (NHWC keeps them contiguous) and splits the output
// rows (or, for the filter gradient, fixed blocks of them with partial sums added in
// order) across the pool, so results do not depend on the number of threads.
#pragma once

#include "conv_lowering.h"

namespace sluice::conv {

// ---- forward: y [n,oh,ow,c*m] (bias [c*m] when not null, then the activation) ----
template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                       const Epilogue& act, T* y, ThreadPool& pool);
// Any depthwise geometry: each output pixel accumulates its c*m outputs tap by tap.
template <class T>
void depthwise_forward_general(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                               const Epilogue& act, T* y, ThreadPool& pool);
// 3x3 filters, m == 1, undilated, column stride 1 or 2 (any row stride): each output row
// in tiles of 8 columns, each tile channel vector by channel vector with that vector's 9
// weights, bias and 4 pixels' accumulators in registers (each input vector loaded once per
// filter row and used by every tap that reads it), the next row's new input rows
// prefetched tile by tile; border columns a channel vector at a time over their inside taps.
bool depthwise_3x3_applies(const ConvGeometry& g);
template <class T>
void depthwise_forward_3x3(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                           const Epilogue& act, T* y, ThreadPool& pool);

// ---- input gradient: dx [n,h,w,c] given dy [n,oh,ow,c*m] ----
template <class T>
void depthwise_backprop_input(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                              ThreadPool& pool);
// Any geometry: each input pixel gathers the outputs its taps reach (no scatter, so input
// rows run in parallel).
template <class T>
void depthwise_backprop_input_general(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                                      ThreadPool& pool);
// Stride 1, m == 1: the forward depthwise convolution of dy with the filter rotated by 180
// degrees (so the 3x3 path applies).
template <class T>
void depthwise_backprop_input_rotated(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                                      ThreadPool& pool);

// ---- filter gradient: dw [kh,kw,c,m] given x and dy ----
template <class T>
void depthwise_backprop_filter(const ConvGeometry& g, const T* x, const T* dy, T* dw,
                               ThreadPool& pool);

}  // namespace sluice::conv
