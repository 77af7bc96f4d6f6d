// Recurrent ops: the fused LSTM (Keras semantics) and its gradient, each with its
// declaration, shape function and CPU kernel.
//
// Layout. Everything stays batch-major as the user gives it: x [B,T,F], the sequence
// [B,T,U]. Gate pre-activations live in a [B,T,4U] buffer whose row (b,t) holds the four
// gate blocks i, f, c, o of U columns each. Step t of the whole batch is then a strided
// [B,4U] matrix (leading dimension T*4U) that the GEMM wrapper reads and writes in place,
// so no transposes or copies are needed between the batched input projection and the
// per-step recurrent products.
#include "rnn_ops.h"

#include "eigen.h"  // <Eigen/Core>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "array_ops.h"
#include "gemm.h"
#include "gemm_packed.h"
#include "kernel_util.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

// ---------------------------------------------------------------------------------------
// Shapes

constexpr int kNumLstmInputs = 6;
constexpr const char* kLstmInputNames[kNumLstmInputs] = {
    "x", "h0", "c0", "kernel", "recurrent_kernel", "bias"};
constexpr int kLstmInputRanks[kNumLstmInputs] = {3, 2, 2, 2, 2, 1};

struct LstmDims {
  int64_t batch = -1, time = -1, features = -1, units = -1;
};

// "x [?,5,3], h0 [?,4], ...": the context every shape error carries.
std::string describe_lstm_inputs(const std::array<Shape, kNumLstmInputs>& s) {
  std::string r;
  for (int i = 0; i < kNumLstmInputs; ++i) {
    if (i == 5 && !s[i].known_rank()) continue;  // no bias (LSTMGrad) or nothing known
    r += detail::str_cat(i ? ", " : "", kLstmInputNames[i], " ", s[i].to_string());
  }
  return r;
}

// Validates the six LSTM input shapes (static ones with -1 dims, or run-time ones) and
// returns the dims they agree on (-1 where unknown). A bias of unknown rank is skipped (the
// gradient op has no bias input).
LstmDims lstm_dims(const std::array<Shape, kNumLstmInputs>& s) {
  const std::string all = describe_lstm_inputs(s);
  for (int i = 0; i < kNumLstmInputs; ++i) {
    SLUICE_REQUIRE(!s[i].known_rank() || s[i].rank() == kLstmInputRanks[i], InvalidArgument,
                   "LSTM ", kLstmInputNames[i], " must have rank ", kLstmInputRanks[i], ", got ",
                   s[i].to_string(), " (", all, ")");
  }
  auto dim = [&](int i, int d) -> int64_t { return s[i].known_rank() ? s[i].dim(d) : -1; };
  LstmDims d;
  // units: rows of recurrent_kernel, else a quarter of the gate width, else the state width.
  struct Source {
    int input;
    int axis;
    bool gates;  // a 4*units dimension
  };
  const Source unit_sources[] = {{4, 0, false}, {4, 1, true},  {3, 1, true},
                                 {5, 0, true},  {1, 1, false}, {2, 1, false}};
  std::string units_from;
  for (const Source& src : unit_sources) {
    int64_t v = dim(src.input, src.axis);
    if (v < 0) continue;
    const std::string where =
        detail::str_cat(kLstmInputNames[src.input], " ", s[src.input].to_string());
    if (src.gates) {
      SLUICE_REQUIRE(v % 4 == 0, InvalidArgument, "LSTM ", where, ": dimension ", src.axis,
                     " must be 4*units (gates i, f, c, o), ", v, " is not a multiple of 4 (", all,
                     ")");
      v /= 4;
    }
    if (d.units < 0) {
      d.units = v;
      units_from = where;
      continue;
    }
    SLUICE_REQUIRE(v == d.units, InvalidArgument, "LSTM ", where,
                   " does not match units = ", d.units, " (from ", units_from,
                   "); expected kernel [features,4*units], recurrent_kernel ",
                   "[units,4*units], bias [4*units], h0 and c0 [batch,units] (", all, ")");
  }
  // features: x's last dimension against the kernel's rows.
  d.features = dim(0, 2);
  const int64_t kernel_rows = dim(3, 0);
  SLUICE_REQUIRE(d.features < 0 || kernel_rows < 0 || d.features == kernel_rows, InvalidArgument,
                 "LSTM feature size mismatch: x ", s[0].to_string(), " has ", d.features,
                 " features but kernel ", s[3].to_string(), " has ", kernel_rows, " rows (", all,
                 ")");
  if (d.features < 0) d.features = kernel_rows;
  // batch: x, h0 and c0.
  for (int i : {0, 1, 2}) {
    const int64_t v = dim(i, 0);
    SLUICE_REQUIRE(v < 0 || d.batch < 0 || v == d.batch, InvalidArgument,
                   "LSTM batch sizes of x, h0 and c0 differ (", all, ")");
    if (d.batch < 0) d.batch = v;
  }
  d.time = dim(0, 1);
  if (d.units >= 0) (void)checked_mul(4, d.units, "LSTM gate width");
  return d;
}

std::array<Shape, kNumLstmInputs> lstm_input_shapes(const ShapeContext& ctx, bool with_bias) {
  std::array<Shape, kNumLstmInputs> s;
  for (int i = 0; i < 5; ++i) s[i] = ctx.input_shape(i);
  s[5] = with_bias ? ctx.input_shape(5) : Shape::unknown_rank();
  return s;
}

void require_lstm_dtypes(const ShapeContext& ctx, int n, const char* const* names) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t), InvalidArgument,
                 "LSTM needs float32 or float64 inputs, got x of dtype ", dtype_name(t));
  for (int i = 1; i < n; ++i)
    SLUICE_REQUIRE(ctx.input_dtype(i) == t, InvalidArgument, "LSTM input '", names[i],
                   "' has dtype ", dtype_name(ctx.input_dtype(i)), ", x has ", dtype_name(t));
}

void lstm_shape(ShapeContext& ctx) {
  require_lstm_dtypes(ctx, kNumLstmInputs, kLstmInputNames);
  const LstmDims d = lstm_dims(lstm_input_shapes(ctx, true));
  const int64_t b = d.batch, t = d.time, u = d.units, g = u < 0 ? -1 : 4 * u;
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{b, t, u});  // sequence
  ctx.add_output(dt, Shape{b, u});     // h_last
  ctx.add_output(dt, Shape{b, u});     // c_last
  ctx.add_output(dt, Shape{b, t, g});  // gates: i, f, c~, o after their activations
  ctx.add_output(dt, Shape{b, t, u});  // cells: c_t of every step
}

// LSTMGrad inputs: x, h0, c0, kernel, recurrent_kernel, then the forward's sequence, gates
// and cells, then the gradients of sequence, h_last and c_last.
constexpr int kNumGradInputs = 11;
constexpr const char* kGradInputNames[kNumGradInputs] = {
    "x",     "h0",         "c0",  "kernel", "recurrent_kernel", "sequence", "gates",
    "cells", "d_sequence", "d_h", "d_c"};

// Checks one of the gradient op's extra inputs against the shape the dims imply.
void require_grad_input(const Shape& actual, const Shape& expected, int i, const std::string& all) {
  SLUICE_REQUIRE(actual.compatible_with(expected), InvalidArgument, "LSTMGrad ", kGradInputNames[i],
                 " ", actual.to_string(), " must be ", expected.to_string(), " (", all, ")");
}

void lstm_grad_shape(ShapeContext& ctx) {
  require_lstm_dtypes(ctx, kNumGradInputs, kGradInputNames);
  const auto s = lstm_input_shapes(ctx, false);
  const LstmDims d = lstm_dims(s);
  const int64_t b = d.batch, t = d.time, u = d.units, g = u < 0 ? -1 : 4 * u;
  const std::string all = describe_lstm_inputs(s);
  const Shape expected[] = {{b, t, u}, {b, t, g}, {b, t, u}, {b, t, u}, {b, u}, {b, u}};
  for (int i = 5; i < kNumGradInputs; ++i)
    require_grad_input(ctx.input_shape(i), expected[i - 5], i, all);
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{b, t, d.features});  // dx
  ctx.add_output(dt, Shape{b, u});              // dh0
  ctx.add_output(dt, Shape{b, u});              // dc0
  ctx.add_output(dt, Shape{d.features, g});     // dkernel
  ctx.add_output(dt, Shape{u, g});              // drecurrent_kernel
  ctx.add_output(dt, Shape{g});                 // dbias
  ctx.add_output(dt, Shape{b, t, g});           // dgates: gradient of the pre-activations
}

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

// One row of one step, units [u0, u1): z [4U] holds the pre-activations without the bias
// and receives the activated gates; c_prev [U] in, c and h [U] out.
template <class T>
void gates_forward(T* z, const T* bias, const T* c_prev, T* c, T* h, int64_t u0, int64_t u1,
                   int64_t units) {
  T* zi = z;
  T* zf = z + units;
  T* zc = z + 2 * units;
  T* zo = z + 3 * units;
  for (int64_t u = u0; u < u1; u += kBlock) {
    const int64_t n = std::min(kBlock, u1 - u);
    const BlockArray<T> i = (load(zi + u, n) + load(bias + u, n)).logistic();
    const BlockArray<T> f = (load(zf + u, n) + load(bias + units + u, n)).logistic();
    const BlockArray<T> g = (load(zc + u, n) + load(bias + 2 * units + u, n)).tanh();
    const BlockArray<T> o = (load(zo + u, n) + load(bias + 3 * units + u, n)).logistic();
    const BlockArray<T> c_new = f * load(c_prev + u, n) + i * g;
    const BlockArray<T> h_new = o * c_new.tanh();
    store(i, zi + u, n);
    store(f, zf + u, n);
    store(g, zc + u, n);
    store(o, zo + u, n);
    store(c_new, c + u, n);
    store(h_new, h + u, n);
  }
}

// One row of one step backwards, units [u0, u1). gates [4U]: i, f, c~, o of the step;
// c, c_prev [U]: its cell state and the previous one; dh_out [U]: the gradient reaching h_t
// through the sequence output; dh_rec [U]: the one reaching it from step t+1 (or h_last);
// dc [U]: the gradient reaching c_t from step t+1 (or c_last), replaced by the one reaching
// c_{t-1}. Writes dz [4U], the gradient of the pre-activations.
template <class T>
void gates_backward(const T* gates, const T* c, const T* c_prev, const T* dh_out, const T* dh_rec,
                    T* dc, T* dz, int64_t u0, int64_t u1, int64_t units) {
  const T* gi = gates;
  const T* gf = gates + units;
  const T* gc = gates + 2 * units;
  const T* go = gates + 3 * units;
  const BlockArray<T> one = BlockArray<T>::Ones();
  for (int64_t u = u0; u < u1; u += kBlock) {
    const int64_t n = std::min(kBlock, u1 - u);
    const BlockArray<T> i = load(gi + u, n), f = load(gf + u, n), g = load(gc + u, n),
                        o = load(go + u, n);
    const BlockArray<T> tc = load(c + u, n).tanh();
    const BlockArray<T> dh = load(dh_out + u, n) + load(dh_rec + u, n);
    // h = o tanh(c): dc += dh o (1 - tanh^2 c); d(z_o) = dh tanh(c) o (1 - o)
    const BlockArray<T> dct = load(dc + u, n) + dh * o * (one - tc * tc);
    // c = f c_prev + i c~: di = dc c~, df = dc c_prev, dc~ = dc i, dc_prev = dc f
    store(BlockArray<T>(dct * g * i * (one - i)), dz + u, n);
    store(BlockArray<T>(dct * load(c_prev + u, n) * f * (one - f)), dz + units + u, n);
    store(BlockArray<T>(dct * i * (one - g * g)), dz + 2 * units + u, n);
    store(BlockArray<T>(dh * tc * o * (one - o)), dz + 3 * units + u, n);
    store(BlockArray<T>(dct * f), dc + u, n);
  }
}

// ---------------------------------------------------------------------------------------
// Splitting one time step across threads.
//
// A step is a [B,U] x [U,4U] product plus gate arithmetic. It is cut into tiles of rows x
// units: by unit blocks when there are enough of them (each thread then keeps its own
// columns of the recurrent kernel in cache), else by rows. Small steps run on the calling
// thread: one wake-up of the pool costs about as much as ~1 MFLOP of work.

constexpr double kMinTileWork = 1e6;

struct Tile {
  int64_t b0, b1, u0, u1;
};

std::vector<Tile> step_tiles(int64_t batch, int64_t units, int threads) {
  const double work = static_cast<double>(batch) * static_cast<double>(units) *
                      (8.0 * static_cast<double>(units) + 40.0);
  const int64_t blocks = (units + kBlock - 1) / kBlock;
  int64_t n = std::min<int64_t>(threads, static_cast<int64_t>(work / kMinTileWork));
  std::vector<Tile> tiles;
  if (n <= 1 || batch == 0 || units == 0) {
    tiles.push_back({0, batch, 0, units});
  } else if (blocks >= n) {
    for (int64_t k = 0; k < n; ++k)
      tiles.push_back({0, batch, std::min(units, blocks * k / n * kBlock),
                       std::min(units, blocks * (k + 1) / n * kBlock)});
  } else {
    n = std::min(n, batch);
    for (int64_t k = 0; k < n; ++k) tiles.push_back({batch * k / n, batch * (k + 1) / n, 0, units});
  }
  return tiles;
}

// Runs f(step, tile) for steps 0..steps-1 in order, the tiles of one step in parallel.
//
// Waking a pool thread for every step costs tens of microseconds (more in a VM), as much
// as a whole step of a mid-sized LSTM. So the pool is entered once: each participant
// takes tickets (step * tiles + tile) in order from one counter and, before running a
// tile, waits until every tile of the earlier steps is done. A participant only ever
// waits for tickets handed out before its own, whose holders are running, so this cannot
// deadlock, also when the pool runs the participants one after another (nested calls) or
// a participant starts late: whoever is there does the work.
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
// LSTM forward kernel

// Run-time validation shared by both kernels: the five (or six) weight/state inputs.
LstmDims runtime_dims(const KernelContext& ctx, bool with_bias) {
  std::array<Shape, kNumLstmInputs> s;
  for (int i = 0; i < 5; ++i) s[i] = ctx.input(i).shape();
  s[5] = with_bias ? ctx.input(5).shape() : Shape::unknown_rank();
  const int n = with_bias ? kNumLstmInputs : kNumGradInputs;
  for (int i = 1; i < n; ++i)
    SLUICE_REQUIRE(ctx.input(i).dtype() == ctx.input(0).dtype(), InvalidArgument, "LSTM input ", i,
                   " has dtype ", dtype_name(ctx.input(i).dtype()), ", x has ",
                   dtype_name(ctx.input(0).dtype()));
  return lstm_dims(s);
}

template <class T>
void lstm_forward(KernelContext& ctx, const LstmDims& d) {
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units,
                width = 4 * units;
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* c0 = ctx.input(2).data<T>();
  const T* kernel = ctx.input(3).data<T>();
  const T* rec = ctx.input(4).data<T>();
  const T* bias = ctx.input(5).data<T>();
  T* seq = ctx.allocate_output(0, Shape{batch, steps, units}).data<T>();
  T* h_last = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* c_last = ctx.allocate_output(2, Shape{batch, units}).data<T>();
  T* gates = ctx.allocate_output(3, Shape{batch, steps, width}).data<T>();
  T* cells = ctx.allocate_output(4, Shape{batch, steps, units}).data<T>();
  ThreadPool& pool = ctx.pool();

  // Input projection of every step at once: gates[batch*steps, 4U] = x[batch*steps, feat]
  // kernel[feat, 4U].
  gemm::gemm<T>(false, false, batch * steps, width, feat, T(1), x, feat, kernel, width, T(0), gates,
                width, &pool);

  // The recurrent kernel multiplies every step: pack it once, by gate.
  const gemm::PackedMatrix<T> rec_packed(false, units, width, 4, rec, width, &pool);
  const std::vector<Tile> tiles = step_tiles(batch, units, pool.num_threads());
  run_steps(pool, tiles, steps, [&](int64_t t, const Tile& tile) {
    // Step t of batch row b is row b*steps + t of the [batch*steps, .] buffers; the previous state
    // is h0/c0 (row stride units) at t = 0, else step t-1 of the sequence/cells (row stride
    // steps*units).
    const T* h_prev = t == 0 ? h0 : seq + (t - 1) * units;
    const T* c_prev = t == 0 ? c0 : cells + (t - 1) * units;
    const int64_t ld_prev = t == 0 ? units : steps * units;
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const T* hp = h_prev + tile.b0 * ld_prev;
    T* z = gates + (tile.b0 * steps + t) * width;
    // z[b, gate q, units u0..u1) += h_prev[b, :] rec[:, q*units + u0 .. q*units + u1)
    for (int64_t q = 0; q < 4; ++q)
      gemm::gemm_packed<T>(m, hp, ld_prev, rec_packed, q, tile.u0, tile.u1, T(1),
                           z + q * units + tile.u0, steps * width);
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      const int64_t row = b * steps + t;
      gates_forward(gates + row * width, bias, c_prev + b * ld_prev, cells + row * units,
                    seq + row * units, tile.u0, tile.u1, units);
    }
  });
  for (int64_t b = 0; b < batch; ++b) {
    std::copy_n(steps ? seq + (b * steps + steps - 1) * units : h0 + b * units, units,
                h_last + b * units);
    std::copy_n(steps ? cells + (b * steps + steps - 1) * units : c0 + b * units, units,
                c_last + b * units);
  }
}

void lstm_kernel(KernelContext& ctx) {
  const LstmDims d = runtime_dims(ctx, true);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "LSTM", [&](auto tag) {
    lstm_forward<typename decltype(tag)::type>(ctx, d);
  });
}

// ---------------------------------------------------------------------------------------
// LSTMGrad kernel: backpropagation through time.

template <class T>
void lstm_backward(KernelContext& ctx, const LstmDims& d) {
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units,
                width = 4 * units;
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* c0 = ctx.input(2).data<T>();
  const T* kernel = ctx.input(3).data<T>();
  const T* rec = ctx.input(4).data<T>();
  const T* seq = ctx.input(5).data<T>();
  const T* gates = ctx.input(6).data<T>();
  const T* cells = ctx.input(7).data<T>();
  const T* d_seq = ctx.input(8).data<T>();
  const T* d_h = ctx.input(9).data<T>();
  const T* d_c = ctx.input(10).data<T>();
  T* dx = ctx.allocate_output(0, Shape{batch, steps, feat}).data<T>();
  T* dh0 = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* dc = ctx.allocate_output(2, Shape{batch, units}).data<T>();  // running dc; ends as dc0
  T* dkernel = ctx.allocate_output(3, Shape{feat, width}).data<T>();
  T* drec = ctx.allocate_output(4, Shape{units, width}).data<T>();
  T* dbias = ctx.allocate_output(5, Shape{width}).data<T>();
  ThreadPool& pool = ctx.pool();

  // dz [batch*steps, 4U]: gradient of the gate pre-activations, row b*steps + t as in the forward.
  // It takes over the gates' buffer when nothing else reads the gates any more: step t reads each
  // block of gate values before writing the same block of dz, and no step reads a row of gates that
  // an earlier step turned into dz.
  T* dz = ctx.forward_or_allocate(6, 6, Shape{batch, steps, width}).data<T>();
  // dh_rec [batch, units]: gradient reaching h_t from step t+1 (from h_last at the last step).
  Tensor dh_rec_t(dtype_v<T>, Shape{batch, units});
  T* dh_rec = dh_rec_t.data<T>();
  std::copy_n(d_h, batch * units, dh_rec);
  std::copy_n(d_c, batch * units, dc);

  // dh_rec[b, u0..u1) = dz[b, t+1, :] rec[u0..u1, :]^T at every step: pack rec^T once.
  const gemm::PackedMatrix<T> rec_t_packed(true, width, units, 1, rec, width, &pool);
  auto recurrent_grad = [&](const Tile& tile, int64_t step, T* out) {
    gemm::gemm_packed<T>(tile.b1 - tile.b0, dz + (tile.b0 * steps + step) * width, steps * width,
                         rec_t_packed, 0, tile.u0, tile.u1, T(0), out + tile.b0 * units + tile.u0,
                         units);
  };
  // Steps T-1 .. 0, then one more that only takes dh0 = dz[:, 0, :] rec^T (with no steps
  // at all, the gradient passes straight through).
  const std::vector<Tile> tiles = step_tiles(batch, units, pool.num_threads());
  // dbias sums dz's rows in one fixed order, steps T-1 .. 0 and rows 0 .. batch-1 within a
  // step, whether inside the loop (tiles split by units) or after it (split by rows).
  const bool bias_in_loop = tiles.size() == 1 || tiles[0].b1 == batch;
  std::fill_n(dbias, width, T(0));
  if (steps == 0) std::copy_n(d_h, batch * units, dh0);
  run_steps(pool, tiles, steps == 0 ? 0 : steps + 1, [&](int64_t i, const Tile& tile) {
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const int64_t t = steps - 1 - i;
    if (t < 0) {
      recurrent_grad(tile, 0, dh0);
      return;
    }
    if (t + 1 < steps) recurrent_grad(tile, t + 1, dh_rec);
    const T* c_prev = t == 0 ? c0 : cells + (t - 1) * units;
    const int64_t ld_prev = t == 0 ? units : steps * units;
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      const int64_t row = b * steps + t;
      gates_backward(gates + row * width, cells + row * units, c_prev + b * ld_prev,
                     d_seq + row * units, dh_rec + b * units, dc + b * units, dz + row * width,
                     tile.u0, tile.u1, units);
      // dbias sums dz while it is in cache, when this tile owns its columns for every row.
      if (bias_in_loop) {
        for (int64_t q = 0; q < 4; ++q) {
          const T* zr = dz + row * width + q * units;
          T* db = dbias + q * units;
          for (int64_t u = tile.u0; u < tile.u1; ++u) db[u] += zr[u];
        }
      }
    }
  });
  // The weight gradients sum over every step and row at once:
  //   dx = dz kernel^T, [dkernel; drec] = [x, h_prev]^T dz (dbias is summed above),
  // where h_prev [batch*steps, units] is the sequence shifted one step later, with h0 first. The
  // two weight gradients are one GEMM over the rows [x_r, h_prev_r] so dz is packed once.
  const int64_t rows = batch * steps, xh_width = feat + units;
  gemm::gemm<T>(false, true, rows, feat, width, T(1), dz, width, kernel, width, T(0), dx, feat,
                &pool);
  Tensor xh_t(dtype_v<T>, Shape{rows, xh_width});
  T* xh = xh_t.data<T>();
  parallel_range(pool, rows,
                 std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(xh_width, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     const int64_t b = r / steps, t = r % steps;
                     std::copy_n(x + r * feat, feat, xh + r * xh_width);
                     std::copy_n(t == 0 ? h0 + b * units : seq + (r - 1) * units, units,
                                 xh + r * xh_width + feat);
                   }
                 });
  Tensor dw_t(dtype_v<T>, Shape{xh_width, width});
  T* dw = dw_t.data<T>();
  gemm::gemm<T>(true, false, xh_width, width, rows, T(1), xh, xh_width, dz, width, T(0), dw, width,
                &pool);
  std::copy_n(dw, feat * width, dkernel);
  std::copy_n(dw + feat * width, units * width, drec);
  if (!bias_in_loop) {
    parallel_range(pool, width,
                   std::max<int64_t>(64, kElementwiseGrain / std::max<int64_t>(rows, 1)),
                   [&](int64_t j0, int64_t j1) {
                     for (int64_t t = steps - 1; t >= 0; --t) {
                       for (int64_t b = 0; b < batch; ++b) {
                         const T* zr = dz + (b * steps + t) * width;
                         for (int64_t j = j0; j < j1; ++j) dbias[j] += zr[j];
                       }
                     }
                   });
  }
}

void lstm_grad_kernel(KernelContext& ctx) {
  const LstmDims d = runtime_dims(ctx, false);
  const int64_t batch = d.batch, steps = d.time, units = d.units;
  const Shape expected[] = {{batch, steps, units}, {batch, steps, 4 * units},
                            {batch, steps, units}, {batch, steps, units},
                            {batch, units},        {batch, units}};
  for (int i = 5; i < kNumGradInputs; ++i)
    SLUICE_REQUIRE(ctx.input(i).shape() == expected[i - 5], InvalidArgument, "LSTMGrad ",
                   kGradInputNames[i], " ", ctx.input(i).shape().to_string(), " must be ",
                   expected[i - 5].to_string(), " (x ", ctx.input(0).shape().to_string(),
                   ", recurrent_kernel ", ctx.input(4).shape().to_string(), ")");
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "LSTMGrad", [&](auto tag) {
    lstm_backward<typename decltype(tag)::type>(ctx, d);
  });
}

// d/d(x, h0, c0, kernel, recurrent_kernel, bias) LSTM = backpropagation through time (LSTMGrad)
Grads lstm_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Outputs 3 and 4 (gates, cells) are saved for the backward pass only; a gradient flowing
  // into them would need second-order terms. Autodiff hands zeros for unused outputs.
  for (int k : {3, 4}) {
    const Operation z = g[k].op();
    SLUICE_REQUIRE(z.type() == "ZerosLike" && z.input(0) == op.output(k), Unimplemented,
                   op.node()->describe(), ": gradients through its internal output ", k,
                   k == 3 ? " (gates)" : " (cells)", " are not supported");
  }
  Operation grad = NodeBuilder(s, "LSTMGrad")
                       .input(op.input(0)).input(op.input(1)).input(op.input(2))
                       .input(op.input(3)).input(op.input(4))
                       .input(op.output(0)).input(op.output(3)).input(op.output(4))
                       .input(g[0]).input(g[1]).input(g[2])
                       .finish();
  return {grad.output(0), grad.output(1), grad.output(2),
          grad.output(3), grad.output(4), grad.output(5)};
}

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.op("LSTM").input("x").input("h0").input("c0").input("kernel").input("recurrent_kernel")
      .input("bias").output("sequence").output("h").output("c").output("gates").output("cells")
      .shape_fn(lstm_shape).kernel(lstm_kernel).gradient(lstm_grad);
  // Like TensorFlow's BlockLSTMGrad: no second derivatives. dgates (the gradient of the
  // gate pre-activations) reuses the gates' buffer when it can.
  r.op("LSTMGrad").input("x").input("h0").input("c0").input("kernel").input("recurrent_kernel")
      .input("sequence").input("gates").input("cells").input("d_sequence").input("d_h")
      .input("d_c").output("dx").output("dh0").output("dc0").output("dkernel")
      .output("drecurrent_kernel").output("dbias").output("dgates")
      .shape_fn(lstm_grad_shape).kernel(lstm_grad_kernel).not_differentiable();
}

namespace ops {

std::vector<Output> lstm(const Scope& scope, const Output& x, const Output& h0, const Output& c0,
                         const Output& kernel, const Output& recurrent_kernel, const Output& bias) {
  Operation op = NodeBuilder(scope, "LSTM")
                     .input(x)
                     .input(h0)
                     .input(c0)
                     .input(kernel)
                     .input(recurrent_kernel)
                     .input(bias)
                     .finish();
  return {op.output(0), op.output(1), op.output(2)};
}

}  // namespace ops
}  // namespace sluice
