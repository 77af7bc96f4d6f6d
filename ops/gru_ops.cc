// The fused GRU (Keras' GRU cell, reset_after true or false; ONNX GRU) and its gradient,
// each with its declaration, shape function and CPU kernel. Shared machinery is in
// rnn_common.h, which also describes the layout.
//
// Saved gates, one row per (b, t):
//   reset_after  [B,T,4U]: z, r, h~, and in_h = h_{t-1} rk_h + b_rec_h (r multiplies it)
//   otherwise    [B,T,3U]: z, r, h~
// Without reset_after the candidate's recurrent product needs r * h_{t-1} of every unit, so
// each step runs in two phases (gates, then candidate) with all threads meeting in between;
// its backward pass likewise.
#include "rnn_ops.h"

#include "gemm.h"
#include "gemm_packed.h"
#include "rnn_common.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers
using namespace rnn;      // NOLINT(google-build-using-namespace): shared recurrent helpers


namespace {

constexpr int kGates = 3;

// ---------------------------------------------------------------------------------------
// Shapes

// Inputs: x, h0, kernel, recurrent_kernel, bias, then [mask | sequence_lengths].
std::vector<std::pair<const char*, const char*>> forward_inputs(bool reset_after) {
  return {{"x", "BTF"}, {"h0", "BU"}, {"kernel", "FG"}, {"recurrent_kernel", "UG"},
          {"bias", reset_after ? "2G" : "G"}};
}
constexpr int kNumForwardInputs = 5;
// GRUGrad: x, h0, kernel, recurrent_kernel, the forward's states and gates, the gradients
// of sequence and h, then the forward's mask or lengths.
std::vector<std::pair<const char*, const char*>> grad_inputs(bool reset_after) {
  return {{"x", "BTF"},      {"h0", "BU"},
          {"kernel", "FG"},  {"recurrent_kernel", "UG"},
          {"states", "BTU"}, {"gates", reset_after ? "BTQ" : "BTG"},
          {"d_sequence", "BTU"}, {"d_h", "BU"}};
}
constexpr int kNumGradInputs = 8;

template <class ShapeOf, class DTypeOf>
Dims gru_dims(const char* op, const Attrs& a, bool grad, int n, ShapeOf shape_of,
              DTypeOf dtype_of) {
  SLUICE_REQUIRE(!a.peepholes && !a.input_forget, InvalidArgument, op,
                 ": peepholes and input_forget are LSTM options");
  const auto fixed = grad ? grad_inputs(a.reset_after) : forward_inputs(a.reset_after);
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (int i = 0; i < n; ++i) {
    shapes.push_back(shape_of(i));
    dtypes.push_back(dtype_of(i));
  }
  const std::vector<InputSpec> specs = input_specs(op, fixed, a, shapes);
  std::vector<std::string> names;
  for (const InputSpec& s : specs) names.push_back(s.name);
  require_dtypes(op, dtypes, names,
                 a.masking == Masking::none ? -1 : static_cast<int>(fixed.size()), a.masking);
  return check_dims(op, kGates, "z, r, h", specs);
}

int64_t saved_width(const Attrs& a, int64_t units) {
  return units < 0 ? -1 : (a.reset_after ? 4 : 3) * units;
}

void gru_shape(ShapeContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = gru_dims(
      "GRU", a, false, ctx.num_inputs(), [&](int i) { return ctx.input_shape(i); },
      [&](int i) { return ctx.input_dtype(i); });
  const int64_t b = d.batch, t = d.time, u = d.units;
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{b, t, u});                     // sequence
  ctx.add_output(dt, Shape{b, u});                        // h
  ctx.add_output(dt, Shape{b, t, saved_width(a, u)});     // gates
  if (a.separate_states()) ctx.add_output(dt, Shape{b, t, u});  // states
}

void gru_grad_shape(ShapeContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = gru_dims(
      "GRUGrad", a, true, ctx.num_inputs(), [&](int i) { return ctx.input_shape(i); },
      [&](int i) { return ctx.input_dtype(i); });
  const int64_t b = d.batch, t = d.time, u = d.units, g = u < 0 ? -1 : kGates * u;
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{b, t, d.features});  // dx
  ctx.add_output(dt, Shape{b, u});              // dh0
  ctx.add_output(dt, Shape{d.features, g});     // dkernel
  ctx.add_output(dt, Shape{u, g});              // drecurrent_kernel
  ctx.add_output(dt, a.reset_after ? Shape{2, g} : Shape{g});  // dbias
  ctx.add_output(dt, Shape{b, t, saved_width(a, u)});          // dgates
}

template <class Ctx>
Dims runtime_dims(const Ctx& ctx, const Attrs& a, bool grad) {
  return gru_dims(
      grad ? "GRUGrad" : "GRU", a, grad, ctx.num_inputs(),
      [&](int i) { return ctx.input(i).shape(); }, [&](int i) { return ctx.input(i).dtype(); });
}

// ---------------------------------------------------------------------------------------
// The cell on blocks of units (see rnn_common.h for why blocks).

template <class T>
struct Cell {
  using A = BlockArray<T>;
  Act<T> f, g;          // gates, candidate
  const T* b_in;        // [3U]
  const T* b_rec;       // [3U] with reset_after, else null
  int64_t units;

  Cell(const Attrs& a, const T* bias, int64_t u)
      : f(a.f, a.clip), g(a.g, a.clip), b_in(bias),
        b_rec(bias && a.reset_after ? bias + 3 * u : nullptr), units(u) {}

  // reset_after, one row: z [4U] holds x_z + h rk_z, x_r + h rk_r, x_h, h rk_h (no biases);
  // it receives z, r, h~, in_h. hp, hout [U].
  void forward_after(T* z, const T* hp, T* hout, int64_t u0, int64_t u1) const {
    const int64_t U = units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A zz = f(A(load(z + u, n) + load(b_in + u, n) + load(b_rec + u, n)));
      const A r = f(A(load(z + U + u, n) + load(b_in + U + u, n) + load(b_rec + U + u, n)));
      const A in_h = load(z + 3 * U + u, n) + load(b_rec + 2 * U + u, n);
      const A hh = g(A(load(z + 2 * U + u, n) + load(b_in + 2 * U + u, n) + r * in_h));
      const A h = zz * load(hp + u, n) + (A::Ones() - zz) * hh;
      store(zz, z + u, n);
      store(r, z + U + u, n);
      store(hh, z + 2 * U + u, n);
      store(in_h, z + 3 * U + u, n);
      store(h, hout + u, n);
    }
  }

  // Not reset_after, phase 1: z [3U] blocks z, r hold x + h rk (no bias) and receive the
  // gates; rh [U] receives r * h_{t-1}.
  void forward_gates(T* z, const T* hp, T* rh, int64_t u0, int64_t u1) const {
    const int64_t U = units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A zz = f(A(load(z + u, n) + load(b_in + u, n)));
      const A r = f(A(load(z + U + u, n) + load(b_in + U + u, n)));
      store(zz, z + u, n);
      store(r, z + U + u, n);
      store(A(r * load(hp + u, n)), rh + u, n);
    }
  }

  // Not reset_after, phase 2: block h of z holds x_h + (r h) rk_h (no bias) and receives h~.
  void forward_candidate(T* z, const T* hp, T* hout, int64_t u0, int64_t u1) const {
    const int64_t U = units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A zz = load(z + u, n);
      const A hh = g(A(load(z + 2 * U + u, n) + load(b_in + 2 * U + u, n)));
      store(hh, z + 2 * U + u, n);
      store(A(zz * load(hp + u, n) + (A::Ones() - zz) * hh), hout + u, n);
    }
  }

  // reset_after backwards, one row. gates [4U]: z, r, h~, in_h; dh [U]: the gradient
  // reaching h_t from later steps, replaced by the part reaching h_{t-1} directly (dh z);
  // dout [U] or null: the one through the sequence output. dz [4U] (may alias gates)
  // receives d(pre z), d(pre r), d(in_h) = d(pre h~) r, d(pre h~).
  void backward_after(const T* gates, const T* hp, const T* dout, T* dh, T* dz, int64_t u0,
                      int64_t u1) const {
    const int64_t U = units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A zz = load(gates + u, n), r = load(gates + U + u, n), hh = load(gates + 2 * U + u, n),
              in_h = load(gates + 3 * U + u, n);
      A dht = load(dh + u, n);
      if (dout) dht += load(dout + u, n);
      // h = z h_prev + (1 - z) h~: dz = dh (h_prev - h~), dh~ = dh (1 - z), dh_prev = dh z
      const A dpz = dht * (load(hp + u, n) - hh) * f.slope(zz);
      const A dph = dht * (A::Ones() - zz) * g.slope(hh);
      // pre h~ = x_h + r in_h: dr = dpre in_h, din_h = dpre r
      const A dpr = dph * in_h * f.slope(r);
      store(dpz, dz + u, n);
      store(dpr, dz + U + u, n);
      store(A(dph * r), dz + 2 * U + u, n);
      store(dph, dz + 3 * U + u, n);
      store(A(dht * zz), dh + u, n);
    }
  }

  // Not reset_after, phase 1 backwards: from z and h~ (gates [3U]) the gradients of pre z
  // and pre h~ into dz blocks 0 and 2; dh replaced by dh z; rh [U] receives r * h_{t-1}
  // (for the weight gradient after the loop).
  void backward_candidate(const T* gates, const T* hp, const T* dout, T* dh, T* dz, T* rh,
                          int64_t u0, int64_t u1) const {
    const int64_t U = units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A zz = load(gates + u, n), hh = load(gates + 2 * U + u, n), h_prev = load(hp + u, n);
      store(A(load(gates + U + u, n) * h_prev), rh + u, n);
      A dht = load(dh + u, n);
      if (dout) dht += load(dout + u, n);
      store(A(dht * (h_prev - hh) * f.slope(zz)), dz + u, n);
      store(A(dht * (A::Ones() - zz) * g.slope(hh)), dz + 2 * U + u, n);
      store(A(dht * zz), dh + u, n);
    }
  }

  // Not reset_after, phase 2 backwards: drh [U] = d(r h_{t-1}) = d(pre h~) rk_h^T gives
  // d(pre r) = drh h_{t-1} f'(r) into dz block 1 (over r) and dh += drh r.
  void backward_reset(const T* gates, const T* hp, const T* drh, T* dh, T* dz, int64_t u0,
                      int64_t u1) const {
    const int64_t U = units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A r = load(gates + U + u, n), d = load(drh + u, n);
      store(A(load(dh + u, n) + d * r), dh + u, n);
      store(A(d * load(hp + u, n) * f.slope(r)), dz + U + u, n);
    }
  }
};

// ---------------------------------------------------------------------------------------
// GRU forward kernel

template <class T>
void gru_forward(KernelContext& ctx, const Attrs& a, const Dims& d) {
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units,
                proj = kGates * units, width = saved_width(a, units);
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* kernel = ctx.input(2).data<T>();
  const T* rec = ctx.input(3).data<T>();
  const T* bias = ctx.input(4).data<T>();
  const Tensor* masking = a.masking == Masking::none ? nullptr : &ctx.input(kNumForwardInputs);
  T* seq = ctx.allocate_output(0, Shape{batch, steps, units}).data<T>();
  T* h_last = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* gates = ctx.allocate_output(2, Shape{batch, steps, width}).data<T>();
  T* states = a.separate_states() ? ctx.allocate_output(3, Shape{batch, steps, units}).data<T>() : seq;
  const StepFlags flags = step_flags(masking, a, batch, steps, ctx.node().describe());
  const Cell<T> cell(a, bias, units);
  const Steps st{steps, a.reverse};
  ThreadPool& pool = ctx.pool();

  // Input projection of every step at once into the first 3U columns of each gates row.
  gemm_by_rows<T>(pool, false, false, batch * steps, proj, feat, x, feat, kernel, proj, T(0), gates,
                width);
  const gemm::PackedMatrix<T> rec_packed(false, units, proj, kGates, rec, proj, &pool);
  // r * h_{t-1} of the current step (not reset_after).
  Tensor rh_t(dtype_v<T>, Shape{a.reset_after ? 0 : batch, units});
  T* rh = rh_t.data<T>();
  const int64_t phases = a.reset_after ? 1 : 2;
  const std::vector<Tile> tiles = step_tiles(batch, units, kGates, pool.num_threads());
  run_steps(pool, tiles, steps * phases, [&](int64_t i, const Tile& tile) {
    const int64_t s = i / phases, phase = i % phases, t = st.time(s);
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    // Plain variables, not a structured binding: clang 14 cannot capture bindings in lambdas.
    const std::pair<const T*, int64_t> prev = prev_rows(st, h0, states, tile.b0, t, units);
    const T* hp = prev.first;
    const int64_t ldh = prev.second;
    T* z = gates + (tile.b0 * steps + t) * width;
    const int64_t ldz = steps * width;
    auto carry = [&](int64_t b) {  // a masked step keeps the state
      const T* src = hp + (b - tile.b0) * ldh;
      std::copy(src + tile.u0, src + tile.u1, states + (b * steps + t) * units + tile.u0);
    };
    if (a.reset_after) {
      for (int64_t q = 0; q < 2; ++q)
        gemm::gemm_packed<T>(m, hp, ldh, rec_packed, q, tile.u0, tile.u1, T(1),
                             z + q * units + tile.u0, ldz);
      gemm::gemm_packed<T>(m, hp, ldh, rec_packed, 2, tile.u0, tile.u1, T(0),
                           z + 3 * units + tile.u0, ldz);
      for (int64_t b = tile.b0; b < tile.b1; ++b) {
        const int64_t row = b * steps + t;
        if (flags.is_valid(row)) {
          cell.forward_after(gates + row * width, hp + (b - tile.b0) * ldh, states + row * units,
                             tile.u0, tile.u1);
        } else {
          carry(b);
        }
      }
    } else if (phase == 0) {
      for (int64_t q = 0; q < 2; ++q)
        gemm::gemm_packed<T>(m, hp, ldh, rec_packed, q, tile.u0, tile.u1, T(1),
                             z + q * units + tile.u0, ldz);
      for (int64_t b = tile.b0; b < tile.b1; ++b) {
        const int64_t row = b * steps + t;
        if (flags.is_valid(row)) {
          cell.forward_gates(gates + row * width, hp + (b - tile.b0) * ldh, rh + b * units,
                             tile.u0, tile.u1);
        } else {
          std::fill(rh + b * units + tile.u0, rh + b * units + tile.u1, T(0));
        }
      }
    } else {
      gemm::gemm_packed<T>(m, rh + tile.b0 * units, units, rec_packed, 2, tile.u0, tile.u1, T(1),
                           z + 2 * units + tile.u0, ldz);
      for (int64_t b = tile.b0; b < tile.b1; ++b) {
        const int64_t row = b * steps + t;
        if (flags.is_valid(row)) {
          cell.forward_candidate(gates + row * width, hp + (b - tile.b0) * ldh,
                                 states + row * units, tile.u0, tile.u1);
        } else {
          carry(b);
        }
      }
    }
  });
  if (a.separate_states()) write_sequence(pool, a, flags, states, seq, batch, steps, units);
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(steps ? states + (b * steps + st.last()) * units : h0 + b * units, units,
                h_last + b * units);
}

void gru_kernel(KernelContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = runtime_dims(ctx, a, false);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "GRU", [&](auto tag) {
    gru_forward<typename decltype(tag)::type>(ctx, a, d);
  });
}

// ---------------------------------------------------------------------------------------
// GRUGrad kernel: backpropagation through time.

template <class T>
void gru_backward(KernelContext& ctx, const Attrs& a, const Dims& d) {
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units,
                proj = kGates * units, width = saved_width(a, units);
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* kernel = ctx.input(2).data<T>();
  const T* rec = ctx.input(3).data<T>();
  const T* states = ctx.input(4).data<T>();
  const T* gates = ctx.input(5).data<T>();
  const T* d_seq = ctx.input(6).data<T>();
  const T* d_h = ctx.input(7).data<T>();
  const Tensor* masking = a.masking == Masking::none ? nullptr : &ctx.input(kNumGradInputs);
  T* dx = ctx.allocate_output(0, Shape{batch, steps, feat}).data<T>();
  T* dh0 = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* dkernel = ctx.allocate_output(2, Shape{feat, proj}).data<T>();
  T* drec = ctx.allocate_output(3, Shape{units, proj}).data<T>();
  T* dbias = ctx.allocate_output(4, a.reset_after ? Shape{2, proj} : Shape{proj}).data<T>();
  const StepFlags flags = step_flags(masking, a, batch, steps, ctx.node().describe());
  const Cell<T> cell(a, nullptr, units);
  const Steps st{steps, a.reverse};
  ThreadPool& pool = ctx.pool();

  // dz takes over the gates' buffer when it can (each block is read before it is written).
  T* dz = ctx.forward_or_allocate(5, 5, Shape{batch, steps, width}).data<T>();
  const int64_t ldz = steps * width;
  Tensor dh_t(dtype_v<T>, Shape{batch, units});
  T* dh = dh_t.data<T>();
  std::copy_n(d_h, batch * units, dh);
  // Not reset_after: r * h_{t-1} of every step (for d rk_h) and d(r h_{t-1}) of one step.
  const int64_t rows = batch * steps;
  Tensor rh_t(dtype_v<T>, Shape{a.reset_after ? 0 : rows, units});
  Tensor drh_t(dtype_v<T>, Shape{a.reset_after ? 0 : batch, units});
  T* rh = rh_t.data<T>();
  T* drh = drh_t.data<T>();

  // The recurrent products use rk^T: all three blocks with reset_after, else z and r (the
  // candidate's block reaches h_{t-1} through r * h_{t-1}).
  const int64_t k_rec = a.reset_after ? proj : 2 * units;
  const gemm::PackedMatrix<T> rec_t(true, k_rec, units, 1, rec, proj, &pool);
  gemm::PackedMatrix<T> rec_h_t;
  if (!a.reset_after) rec_h_t = gemm::PackedMatrix<T>(true, units, units, 1, rec + 2 * units, proj, &pool);
  auto recurrent_grad = [&](const Tile& tile, int64_t t, T* out) {
    gemm::gemm_packed<T>(tile.b1 - tile.b0, dz + (tile.b0 * steps + t) * width, ldz, rec_t, 0,
                         tile.u0, tile.u1, T(1), out + tile.b0 * units + tile.u0, units);
  };
  const int64_t phases = a.reset_after ? 1 : 2;
  const std::vector<Tile> tiles = step_tiles(batch, units, kGates, pool.num_threads());
  if (steps == 0) std::copy_n(d_h, batch * units, dh0);
  run_steps(pool, tiles, steps == 0 ? 0 : steps * phases + 1, [&](int64_t i, const Tile& tile) {
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const int64_t s = steps - 1 - i / phases, phase = i % phases;
    if (s < 0) {  // dh0 = dh + dz[first step] rk^T
      for (int64_t b = tile.b0; b < tile.b1; ++b)
        std::copy(dh + b * units + tile.u0, dh + b * units + tile.u1, dh0 + b * units + tile.u0);
      recurrent_grad(tile, st.time(0), dh0);
      return;
    }
    const int64_t t = st.time(s);
    const auto [hp, ldh] = prev_rows(st, h0, states, tile.b0, t, units);
    if (phase == 1) {  // not reset_after: d(r h_{t-1}) = d(pre h~) rk_h^T
      gemm::gemm_packed<T>(m, dz + (tile.b0 * steps + t) * width + 2 * units, ldz, rec_h_t, 0,
                           tile.u0, tile.u1, T(0), drh + tile.b0 * units + tile.u0, units);
      for (int64_t b = tile.b0; b < tile.b1; ++b) {
        const int64_t row = b * steps + t;
        if (flags.is_valid(row))
          cell.backward_reset(gates + row * width, hp + (b - tile.b0) * ldh, drh + b * units,
                              dh + b * units, dz + row * width, tile.u0, tile.u1);
      }
      return;
    }
    if (s + 1 < steps) recurrent_grad(tile, st.time(s + 1), dh);
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      const int64_t row = b * steps + t;
      const T* dout = flags.emits(row) ? d_seq + output_row(a, b, t, steps) * units : nullptr;
      const T* hpb = hp + (b - tile.b0) * ldh;
      if (flags.is_valid(row)) {
        if (a.reset_after) {
          cell.backward_after(gates + row * width, hpb, dout, dh + b * units, dz + row * width,
                              tile.u0, tile.u1);
        } else {
          cell.backward_candidate(gates + row * width, hpb, dout, dh + b * units,
                                  dz + row * width, rh + row * units, tile.u0, tile.u1);
        }
      } else {  // a masked step passes the gradient through to the previous state
        for (int64_t q = 0; q < width / std::max<int64_t>(units, 1); ++q)
          std::fill(dz + row * width + q * units + tile.u0, dz + row * width + q * units + tile.u1,
                    T(0));
        if (!a.reset_after) std::fill(rh + row * units + tile.u0, rh + row * units + tile.u1, T(0));
        if (dout)
          for (int64_t u = tile.u0; u < tile.u1; ++u) dh[b * units + u] += dout[u];
      }
    }
  });

  // Weight gradients over every step and row at once. [dkernel; drec] come from
  // [x, h_prev]^T dz (one GEMM, dz packed once); the blocks that do not belong (with
  // reset_after: x against d(in_h), h_prev against d(pre h~); otherwise h_prev against
  // d(pre h~), whose recurrent input is r * h_prev) are replaced or dropped.
  const int64_t xh_width = feat + units;
  Tensor xh_t(dtype_v<T>, Shape{rows, xh_width});
  T* xh = xh_t.data<T>();
  build_xh(pool, st, x, h0, states, batch, feat, units, xh);
  Tensor dw_t(dtype_v<T>, Shape{xh_width, width});
  T* dw = dw_t.data<T>();
  gemm_by_rows<T>(pool, true, false, xh_width, width, rows, xh, xh_width, dz, width, T(0), dw, width);
  Tensor sums_t(dtype_v<T>, Shape{width});
  T* sums = sums_t.data<T>();
  column_sums(pool, dz, rows, width, width, sums);
  if (a.reset_after) {
    // d pre [z, r, h~] = dz blocks 0, 1, 3 feed the input side; blocks 0, 1, 2 the recurrent.
    copy_block(dw, width, dkernel, proj, feat, 2 * units);
    copy_block(dw + 3 * units, width, dkernel + 2 * units, proj, feat, units);
    copy_block(dw + feat * width, width, drec, proj, units, proj);
    gemm_by_rows<T>(pool, false, true, rows, feat, 2 * units, dz, width, kernel, proj, T(0), dx, feat);
    gemm_by_rows<T>(pool, false, true, rows, feat, units, dz + 3 * units, width, kernel + 2 * units,
                  proj, T(1), dx, feat);
    std::copy_n(sums, 2 * units, dbias);
    std::copy_n(sums + 3 * units, units, dbias + 2 * units);
    std::copy_n(sums, proj, dbias + proj);
  } else {
    copy_block(dw, width, dkernel, proj, feat, proj);
    copy_block(dw + feat * width, width, drec, proj, units, 2 * units);
    gemm_by_rows<T>(pool, true, false, units, units, rows, rh, units, dz + 2 * units, width, T(0),
                  drec + 2 * units, proj);
    gemm_by_rows<T>(pool, false, true, rows, feat, proj, dz, width, kernel, proj, T(0), dx, feat);
    std::copy_n(sums, proj, dbias);
  }
}

void gru_grad_kernel(KernelContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = runtime_dims(ctx, a, true);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "GRUGrad", [&](auto tag) {
    gru_backward<typename decltype(tag)::type>(ctx, a, d);
  });
}

// d/d(x, h0, kernel, recurrent_kernel, bias) GRU = backpropagation through time (GRUGrad)
Grads gru_grad(const Scope& s, const Operation& op, const Grads& g) {
  const Attrs a = Attrs::read(*op.node());
  require_invertible(op, a);
  require_no_grad(op, g, 2, "gates");
  if (a.separate_states()) require_no_grad(op, g, 3, "states");
  NodeBuilder b(s, "GRUGrad");
  for (int i = 0; i < 4; ++i) b.input(op.input(i));
  b.input(op.output(a.separate_states() ? 3 : 0)).input(op.output(2)).input(g[0]).input(g[1]);
  if (a.masking != Masking::none) b.input(op.input(kNumForwardInputs));
  copy_attrs(b, *op.node());
  const Operation grad = b.finish();
  Grads r;
  for (int i = 0; i < 5; ++i) r.push_back(grad.output(i));
  if (a.masking != Masking::none) r.emplace_back();
  return r;
}

}  // namespace

void register_gru_ops(OpRegistry& r) {
  add_common_attrs(r.op("GRU").input("x").input("h0").input("kernel").input("recurrent_kernel")
                       .input("bias").variadic_input("extras"),
                   false, true)
      .output("sequence").output("h").output("gates")
      .output("states")  // only with masking or reverse_output
      .shape_fn(gru_shape).kernel(gru_kernel).gradient(gru_grad);
  add_common_attrs(r.op("GRUGrad").input("x").input("h0").input("kernel")
                       .input("recurrent_kernel").input("states").input("gates")
                       .input("d_sequence").input("d_h").variadic_input("extras"),
                   false, true)
      .output("dx").output("dh0").output("dkernel").output("drecurrent_kernel").output("dbias")
      .output("dgates")
      .shape_fn(gru_grad_shape).kernel(gru_grad_kernel).not_differentiable();
}

namespace ops {

std::vector<Output> gru(const Scope& scope, const Output& x, const Output& h0, const Output& kernel,
                        const Output& recurrent_kernel, const Output& bias, bool reset_after,
                        const RnnOptions& options) {
  const Operation op = build_node(scope, "GRU", {x, h0, kernel, recurrent_kernel, bias}, options,
                                  false, true, reset_after);
  return {op.output(0), op.output(1)};
}

}  // namespace ops
}  // namespace sluice
