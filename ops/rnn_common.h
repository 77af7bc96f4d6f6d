// Internal helpers shared by the fused recurrent op families (rnn_ops.cc: LSTM,
// gru_ops.cc: GRU, simple_rnn_ops.cc: SimpleRNN): their attrs, shape checks, activations
// on fixed-size blocks, masking and time order, the per-step thread split, and the weight
// gradient passes. Not part of the public API.
//
// Layout shared by all three. Everything stays batch-major as the user gives it: x
// [B,T,F], states and sequences [B,T,U]. Row (b,t) of a [B*T, .] buffer belongs to batch row
// b and input time t. Gate buffers hold one row of `width` values per (b,t), gate blocks
// of U columns; step t of the whole batch is a strided [B, width] matrix (leading
// dimension T*width) that the GEMMs read and write in place.
//
// Time order. Step s (s = 0 .. T-1) reads input time t = s, or T-1-s when reversed. The
// states buffer row (b,t) holds the state after the step that read x[b,t]; the state
// before it is h0 at the first step, else row (b, t-1) (t+1 when reversed). Masked steps
// copy the previous state, so that rule holds for them too.
#pragma once

#include "eigen.h"  // <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gemm.h"
#include "kernel_util.h"
#include "rnn_ops.h"

namespace sluice::rnn {

using ops::RnnActivation;
using Grads = std::vector<Output>;

// ---------------------------------------------------------------------------------------
// Attrs

enum class Masking { none, mask, lengths };

// The options of one node, decoded from its attrs (see add_common_attrs).
struct Attrs {
  RnnActivation f = RnnActivation::sigmoid();  // recurrent_activation (gates)
  RnnActivation g = RnnActivation::tanh();     // activation (candidate)
  RnnActivation h = RnnActivation::tanh();     // LSTM cell output activation
  bool reverse = false, reverse_output = false;
  Masking masking = Masking::none;
  bool zero_output_for_mask = false;
  double clip = 0.0;
  bool peepholes = false, input_forget = false;  // LSTM
  bool reset_after = true;                       // GRU

  // A separate states output exists when the sequence output is not the states buffer.
  bool separate_states() const { return masking != Masking::none || reverse_output; }
  // Number of optional trailing inputs (mask or lengths, peepholes).
  int num_extras() const { return (masking != Masking::none ? 1 : 0) + (peepholes ? 1 : 0); }
  // Reads and validates the attrs of `node` (InvalidArgument naming what is wrong).
  static Attrs read(const Node& node);
};

// Registers the attrs every recurrent op and its gradient share; `lstm` adds the LSTM
// ones (cell activation, peepholes, input_forget), `gru` the GRU one (reset_after).
OpDefBuilder& add_common_attrs(OpDefBuilder& b, bool lstm, bool gru);

// Builds a forward node: the fixed inputs, then options.mask or sequence_lengths, then
// (LSTM) peepholes; attrs from the options. `what` names the op in errors ("LSTM").
Operation build_node(const Scope& scope, const char* op_type, const std::vector<Output>& inputs,
                     const ops::RnnOptions& options, bool lstm, bool gru, bool reset_after);

// For gradient builders: the forward node's attrs onto the gradient node.
void copy_attrs(NodeBuilder& b, const Node& forward);

// Refuses (Unimplemented) a gradient arriving at a forward output that only the
// gradient op reads (gates, cells, states); autodiff hands zeros for unused outputs.
void require_no_grad(const Operation& op, const Grads& g, int output, const char* what);

// Unimplemented when an activation's gradient cannot be computed from its output.
void require_invertible(const Operation& op, const Attrs& a);

// ---------------------------------------------------------------------------------------
// Shapes

struct Dims {
  int64_t batch = -1, time = -1, features = -1, units = -1;
};

// One input's expected shape as a string of symbols, one per dimension: 'B' batch, 'T'
// time, 'F' features, 'U' units, 'G' gates*units, 'P' 3*units (peepholes), 'Q' 4*units
// (the GRU's saved gates), or a digit for a fixed size. E.g. LSTM kernel "FG", GRU reset_after bias "2G".
struct InputSpec {
  std::string name;
  std::string pattern;
  Shape shape;
};

// Checks the shapes (static ones with -1 dims, or run-time ones) against their patterns
// and each other and returns the dims they agree on (-1 where unknown). `op` ("LSTM")
// and `gate_names` ("i, f, c, o") go into the messages.
Dims check_dims(const char* op, int gates, const char* gate_names,
                const std::vector<InputSpec>& inputs);

// The specs of a node's inputs: the `fixed` (name, pattern) pairs, then the mask or
// lengths and the peepholes that the attrs call for, with `shapes` (one per input; a
// count that does not match is InvalidArgument).
std::vector<InputSpec> input_specs(const char* op,
                                   const std::vector<std::pair<const char*, const char*>>& fixed,
                                   const Attrs& a, const std::vector<Shape>& shapes);

// The shape a pattern stands for, given the dims (-1 where unknown).
Shape expected_shape(const std::string& pattern, const Dims& d, int gates);

// Requires every input of the node to share input 0's float dtype, except the mask
// (bool or real), the lengths (int32/int64); `mask_input` is the mask's index or -1.
void require_dtypes(const char* op, const std::vector<DType>& dtypes,
                    const std::vector<std::string>& names, int mask_input, Masking masking);

// ---------------------------------------------------------------------------------------
// Gate arithmetic on blocks of kBlock units.
//
// Every block goes through fixed-size Eigen arrays (whole SIMD packets), padding a short
// last block with zeros, so each element takes the same code path wherever it falls: the
// vectorized tanh/sigmoid round differently from the scalar ones, and this keeps results
// independent of how units are split across threads.

constexpr int64_t kBlock = 16;
template <class T>
using BlockArray = Eigen::Array<T, kBlock, 1>;

template <class T>
BlockArray<T> load(const T* p, int64_t n) {
  if (n == kBlock) return Eigen::Map<const BlockArray<T>>(p);
  BlockArray<T> a = BlockArray<T>::Zero();
  std::copy_n(p, n, a.data());
  return a;
}

template <class T>
void store(const BlockArray<T>& a, T* p, int64_t n) {
  if (n == kBlock) {
    Eigen::Map<BlockArray<T>> dst(p);
    dst = a;
  } else {
    std::copy_n(a.data(), n, p);
  }
}

// An activation (with the op's clip) ready for one dtype. The selects are written so a
// NaN input gives NaN (x < 0 is false for NaN).
template <class T>
class Act {
 public:
  using A = BlockArray<T>;
  Act(const RnnActivation& a, double clip)
      : kind_(a.kind), alpha_(static_cast<T>(a.alpha)), beta_(static_cast<T>(a.beta)),
        clip_(static_cast<T>(clip)), clipped_(clip > 0) {
    if (clipped_) {
      // The outputs at the clip bounds: a pre-activation was clipped exactly when the
      // output reaches one of them, which is how the gradient finds the clipped elements
      // without storing pre-activations (every supported activation is monotonic, and
      // where it is flat its slope is zero anyway).
      const T lo = apply(A::Constant(-clip_))(0), hi = apply(A::Constant(clip_))(0);
      y_lo_ = std::min(lo, hi);
      y_hi_ = std::max(lo, hi);
    }
  }

  // act(clip(x)). Sigmoid and tanh without clipping (Keras' defaults) are inlined into the
  // gate arithmetic; the general case is a call, which cost the default LSTM a third of
  // its time when every activation went through it.
  A operator()(const A& x) const {
    if (!clipped_) {
      if (kind_ == Kind::sigmoid) return x.logistic();
      if (kind_ == Kind::tanh) return x.tanh();
    }
    return general(x);
  }

  // d act / d x at the x that gave y = act(x), and zero where x was clipped.
  A slope(const A& y) const {
    if (!clipped_) {
      if (kind_ == Kind::sigmoid) return y * (A::Ones() - y);
      if (kind_ == Kind::tanh) return A::Ones() - y * y;
    }
    return general_slope(y);
  }

 private:
  using Kind = RnnActivation::Kind;

  EIGEN_DONT_INLINE A general(const A& x) const {
    if (!clipped_) return apply(x);
    return apply((x < -clip_).select(A::Constant(-clip_), (x > clip_).select(A::Constant(clip_), x)));
  }

  EIGEN_DONT_INLINE A general_slope(const A& y) const {
    A d = derivative(y);
    if (clipped_) d = (y <= y_lo_ || y >= y_hi_).select(A::Zero(), d);
    return d;
  }

  A apply(const A& x) const {
    const A one = A::Ones(), zero = A::Zero();
    switch (kind_) {
      case Kind::sigmoid: return x.logistic();
      case Kind::tanh: return x.tanh();
      case Kind::relu: return (x < T(0)).select(zero, x);
      case Kind::linear: return x;
      case Kind::hard_sigmoid: {
        const A v = alpha_ * x + beta_;
        return (v < T(0)).select(zero, (v > T(1)).select(one, v));
      }
      case Kind::affine: return alpha_ * x + beta_;
      case Kind::leaky_relu: return (x < T(0)).select(alpha_ * x, x);
      case Kind::thresholded_relu: return (x <= alpha_).select(zero, x);
      case Kind::scaled_tanh: return alpha_ * (beta_ * x).tanh();
      case Kind::elu: return (x < T(0)).select(alpha_ * x.expm1(), x);
      case Kind::softsign: return x / (one + x.abs());
      case Kind::softplus:
        // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), exact for large |x|.
        return (x < T(0)).select(zero, x) + (-x.abs()).exp().log1p();
    }
    return x;
  }

  A derivative(const A& y) const {
    const A one = A::Ones(), zero = A::Zero();
    switch (kind_) {
      case Kind::sigmoid: return y * (one - y);
      case Kind::tanh: return one - y * y;
      case Kind::relu: return (y > T(0)).select(one, zero);
      case Kind::linear: return one;
      case Kind::hard_sigmoid: return (y > T(0) && y < T(1)).select(A::Constant(alpha_), zero);
      case Kind::affine: return A::Constant(alpha_);
      case Kind::leaky_relu: return (y < T(0)).select(A::Constant(alpha_), one);
      case Kind::thresholded_relu: return (y != T(0)).select(one, zero);
      case Kind::scaled_tanh:  // alpha beta (1 - tanh^2) with tanh = y / alpha
        return alpha_ == T(0) ? zero : A(beta_ * (alpha_ - y * y / alpha_));
      case Kind::elu: return (y < T(0)).select(y + alpha_, one);
      case Kind::softsign: return (one - y.abs()).square();
      case Kind::softplus: return -(-y).expm1();  // sigmoid(x) = 1 - e^-y
    }
    return one;
  }

  Kind kind_;
  T alpha_, beta_, clip_;
  bool clipped_;
  T y_lo_ = 0, y_hi_ = 0;
};

// ---------------------------------------------------------------------------------------
// Time order and masking

struct Steps {
  int64_t count;
  bool reverse;
  // The input time that step s reads.
  int64_t time(int64_t s) const { return reverse ? count - 1 - s : s; }
  // Whether the step reading t is the first one processed.
  bool first(int64_t t) const { return reverse ? t == count - 1 : t == 0; }
  // The input time of the step processed just before the one reading t (not first(t)).
  int64_t before(int64_t t) const { return reverse ? t + 1 : t - 1; }
  // The input time of the last step processed.
  int64_t last() const { return reverse ? 0 : count - 1; }
};

// Which steps update the state (valid) and which put their state into the sequence
// output (emit; the others output zeros). Both [B*T] by (b, t); empty means every step.
struct StepFlags {
  std::vector<uint8_t> valid, emit;
  bool is_valid(int64_t row) const { return valid.empty() || valid[static_cast<size_t>(row)]; }
  bool emits(int64_t row) const { return emit.empty() || emit[static_cast<size_t>(row)]; }
};

// From the mask [B,T] or lengths [B] input (null when masking is none). Lengths outside
// [0, T] and a mask of the wrong shape are InvalidArgument naming `what` (the node).
StepFlags step_flags(const Tensor* masking_input, const Attrs& a, int64_t batch, int64_t steps,
                     const std::string& what);

// The row of the sequence output that holds the output of the step reading (b, t).
inline int64_t output_row(const Attrs& a, int64_t b, int64_t t, int64_t steps) {
  return b * steps + (a.reverse_output ? steps - 1 - t : t);
}

// sequence[output_row(b,t)] = emit ? states[b,t] : 0.
template <class T>
void write_sequence(ThreadPool& pool, const Attrs& a, const StepFlags& flags, const T* states,
                    T* seq, int64_t batch, int64_t steps, int64_t units) {
  kernels::parallel_range(pool, batch * steps,
                 std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(units, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     T* dst = seq + output_row(a, r / steps, r % steps, steps) * units;
                     if (flags.emits(r)) {
                       std::copy_n(states + r * units, units, dst);
                     } else {
                       std::fill_n(dst, units, T(0));
                     }
                   }
                 });
}

// The state before the step reading (b, t) of rows [b0, ..): a pointer to row b0 and the
// leading dimension between rows (h0 at the first step, else the states buffer).
template <class T>
std::pair<const T*, int64_t> prev_rows(const Steps& st, const T* h0, const T* states, int64_t b0,
                                       int64_t t, int64_t units) {
  if (st.first(t)) return {h0 + b0 * units, units};
  return {states + (b0 * st.count + st.before(t)) * units, st.count * units};
}

// ---------------------------------------------------------------------------------------
// Splitting one time step across threads.
//
// A step is a [B,U] x [U,gates*U] product plus gate arithmetic. It is cut into tiles of
// rows x units: by unit blocks when there are enough of them (each thread then keeps its
// own columns of the recurrent kernel in cache), else by rows. Small steps run on the
// calling thread: one wake-up of the pool costs about as much as ~1 MFLOP of work.

struct Tile {
  int64_t b0, b1, u0, u1;
};

std::vector<Tile> step_tiles(int64_t batch, int64_t units, int gates, int threads);

// Runs f(step, tile) for steps 0..steps-1 in order, the tiles of one step in parallel.
//
// Waking a pool thread for every step costs tens of microseconds (more in a VM), as much
// as a whole step of a mid-sized LSTM. So the pool is entered once: each participant
// takes (step, tile) tickets in order and spins until every tile of the previous step is
// done. Exceptions stop the other participants and are rethrown.
template <class F>
void run_steps(ThreadPool& pool, const std::vector<Tile>& tiles, int64_t steps, F&& f) {
  const int64_t n = static_cast<int64_t>(tiles.size());
  if (n == 1 || pool.num_threads() == 1) {
    for (int64_t step = 0; step < steps; ++step)
      for (const Tile& tile : tiles) f(step, tile);
    return;
  }
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mu;
  pool.parallel_chunks(n, 1, [&](int, int64_t, int64_t) {
    for (;;) {
      const int64_t ticket = next.fetch_add(1, std::memory_order_relaxed);
      const int64_t step = ticket / n;
      if (step >= steps) return;
      for (int spin = 0; done.load(std::memory_order_acquire) < step * n; ++spin) {
        if (failed.load(std::memory_order_relaxed)) return;
        if (spin < 256) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
        } else {
          std::this_thread::yield();
        }
      }
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          f(step, tiles[static_cast<size_t>(ticket % n)]);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (!error) error = std::current_exception();
          failed.store(true, std::memory_order_relaxed);
        }
      }
      done.fetch_add(1, std::memory_order_release);
    }
  });
  if (error) std::rethrow_exception(error);
}

// ---------------------------------------------------------------------------------------
// GEMMs whose results do not depend on the thread count

// C [m, n] = op(A) op(B) + beta C (beta 0 or 1) through gemm::gemm, arranged so that the
// wrapper splits the work by rows of C. Measured with Debian's OpenBLAS 0.3.21 (Haswell
// kernels): splitting a product by column panels changes the last bits of some elements
// with the number of threads (k >= ~300), splitting by row panels never did (300 random
// shapes, 1-3 threads). So when C has more columns than rows this computes
// C^T = op(B)^T op(A)^T into scratch and transposes it back.
template <class T>
void gemm_by_rows(ThreadPool& pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m >= n || m == 0) {
    gemm::gemm<T>(ta, tb, m, n, k, T(1), a, lda, b, ldb, beta, c, ldc, &pool);
    return;
  }
  Tensor ct_t(dtype_v<T>, Shape{n, m});
  T* ct = ct_t.data<T>();
  gemm::gemm<T>(!tb, !ta, n, m, k, T(1), b, ldb, a, lda, T(0), ct, m, &pool);
  kernels::parallel_range(pool, m, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(n, 1)),
                          [&](int64_t i0, int64_t i1) {
                            for (int64_t i = i0; i < i1; ++i) {
                              T* ci = c + i * ldc;
                              if (beta == T(0)) {
                                for (int64_t j = 0; j < n; ++j) ci[j] = ct[j * m + i];
                              } else {
                                for (int64_t j = 0; j < n; ++j) ci[j] += ct[j * m + i];
                              }
                            }
                          });
}

// ---------------------------------------------------------------------------------------
// Weight-gradient helpers

// [x_r, hprev_r] for every row r = (b, t): xh [B*T, F+U], where hprev is the state before
// the step reading (b, t). The weight gradients are then one GEMM over all steps.
template <class T>
void build_xh(ThreadPool& pool, const Steps& st, const T* x, const T* h0, const T* states,
              int64_t batch, int64_t feat, int64_t units, T* xh) {
  const int64_t rows = batch * st.count, w = feat + units;
  kernels::parallel_range(pool, rows, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(w, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     const int64_t b = r / st.count, t = r % st.count;
                     std::copy_n(x + r * feat, feat, xh + r * w);
                     std::copy_n(prev_rows(st, h0, states, b, t, units).first, units,
                                 xh + r * w + feat);
                   }
                 });
}

// out[j] = sum over rows r (in order 0 .. rows-1) of a[r*lda + j], j < width; split across
// the pool by columns, so the order of every sum is fixed.
template <class T>
void column_sums(ThreadPool& pool, const T* a, int64_t rows, int64_t width, int64_t lda, T* out) {
  std::fill_n(out, width, T(0));
  kernels::parallel_range(pool, width, std::max<int64_t>(64, kernels::kElementwiseGrain / std::max<int64_t>(rows, 1)),
                 [&](int64_t j0, int64_t j1) {
                   for (int64_t r = 0; r < rows; ++r) {
                     const T* ar = a + r * lda;
                     for (int64_t j = j0; j < j1; ++j) out[j] += ar[j];
                   }
                 });
}

// Copies a [rows, cols] block between row-major buffers with leading dimensions.
template <class T>
void copy_block(const T* src, int64_t lds, T* dst, int64_t ldd, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * lds, cols, dst + r * ldd);
}

}  // namespace sluice::rnn
