// The fused LSTM (Keras semantics, ONNX options) and its gradient, each with its
// declaration, shape function and CPU kernel. Shared machinery (attrs, shapes, masking,
// activations, the per-step thread split) is in rnn_common.h; the layout is described there.
// The gate buffer [B,T,4U] holds the blocks i, f, c, o.
#include "rnn_ops.h"

#include <array>

#include "gemm.h"
#include "gemm_packed.h"
#include "rnn_common.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers
using namespace rnn;      // NOLINT(google-build-using-namespace): shared recurrent helpers

namespace {

constexpr int kGates = 4;

// ---------------------------------------------------------------------------------------
// Shapes

// Inputs: x, h0, c0, kernel, recurrent_kernel, bias, then [mask | sequence_lengths],
// [peepholes].
const std::vector<std::pair<const char*, const char*>> kForwardInputs = {
    {"x", "BTF"}, {"h0", "BU"}, {"c0", "BU"}, {"kernel", "FG"}, {"recurrent_kernel", "UG"},
    {"bias", "G"}};
// LSTMGrad: x, h0, c0, kernel, recurrent_kernel, the forward's states, gates and cells, the
// gradients of sequence, h and c, then the forward's extras.
const std::vector<std::pair<const char*, const char*>> kGradInputs = {
    {"x", "BTF"},         {"h0", "BU"},    {"c0", "BU"},         {"kernel", "FG"},
    {"recurrent_kernel", "UG"}, {"states", "BTU"}, {"gates", "BTG"}, {"cells", "BTU"},
    {"d_sequence", "BTU"}, {"d_h", "BU"},  {"d_c", "BU"}};

template <class ShapeOf, class DTypeOf>
Dims lstm_dims(const char* op, const Attrs& a, bool grad, int n, ShapeOf shape_of,
               DTypeOf dtype_of) {
  const auto& fixed = grad ? kGradInputs : kForwardInputs;
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
  return check_dims(op, kGates, "i, f, c, o", specs);
}

void lstm_shape(ShapeContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = lstm_dims(
      "LSTM", a, false, ctx.num_inputs(), [&](int i) { return ctx.input_shape(i); },
      [&](int i) { return ctx.input_dtype(i); });
  const int64_t b = d.batch, t = d.time, u = d.units, g = u < 0 ? -1 : kGates * u;
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{b, t, u});  // sequence
  ctx.add_output(dt, Shape{b, u});     // h
  ctx.add_output(dt, Shape{b, u});     // c
  ctx.add_output(dt, Shape{b, t, g});  // gates: i, f, c~, o after their activations
  ctx.add_output(dt, Shape{b, t, u});  // cells: c_t of every step
  if (a.separate_states()) ctx.add_output(dt, Shape{b, t, u});  // states: h_t of every step
}

void lstm_grad_shape(ShapeContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = lstm_dims(
      "LSTMGrad", a, true, ctx.num_inputs(), [&](int i) { return ctx.input_shape(i); },
      [&](int i) { return ctx.input_dtype(i); });
  const int64_t b = d.batch, t = d.time, u = d.units, g = u < 0 ? -1 : kGates * u;
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{b, t, d.features});  // dx
  ctx.add_output(dt, Shape{b, u});              // dh0
  ctx.add_output(dt, Shape{b, u});              // dc0
  ctx.add_output(dt, Shape{d.features, g});     // dkernel
  ctx.add_output(dt, Shape{u, g});              // drecurrent_kernel
  ctx.add_output(dt, Shape{g});                 // dbias
  ctx.add_output(dt, Shape{b, t, g});           // dgates: gradient of the pre-activations
  if (a.peepholes) ctx.add_output(dt, Shape{u < 0 ? -1 : 3 * u});  // dpeepholes
}

template <class Ctx>
Dims runtime_dims(const Ctx& ctx, const Attrs& a, bool grad) {
  return lstm_dims(
      grad ? "LSTMGrad" : "LSTM", a, grad, ctx.num_inputs(),
      [&](int i) { return ctx.input(i).shape(); }, [&](int i) { return ctx.input(i).dtype(); });
}

// ---------------------------------------------------------------------------------------
// The cell on blocks of units (see rnn_common.h for why blocks).

// Keras' defaults (sigmoid gates, tanh elsewhere, no clip, peepholes or coupled gates) are
// the common case; kKeras compiles them to straight-line arithmetic with the activations
// inlined, as fast as the LSTM was before the options existed.
template <class T, bool kKeras>
struct Cell {
  Act<T> f, g, h;       // gates, candidate, cell output
  const T* bias;        // [4U]
  const T* peep;        // [3U] (i, f, o) or null
  bool input_forget;
  int64_t units;

  Cell(const Attrs& a, const T* b, const T* p, int64_t u)
      : f(a.f, a.clip), g(a.g, a.clip), h(a.h, 0.0), bias(b), peep(kKeras ? nullptr : p),
        input_forget(!kKeras && a.input_forget), units(u) {}

  // Whether a node's attrs are Keras' defaults (then use Cell<T, true>).
  static bool keras(const Attrs& a) {
    return a.f == RnnActivation::sigmoid() && a.g == RnnActivation::tanh() &&
           a.h == RnnActivation::tanh() && a.clip == 0 && !a.peepholes && !a.input_forget;
  }
  using A = BlockArray<T>;
  A gate(const A& x) const {
    if constexpr (kKeras) {
      return x.logistic();
    } else {
      return f(x);
    }
  }
  A candidate(const A& x) const {
    if constexpr (kKeras) {
      return x.tanh();
    } else {
      return g(x);
    }
  }
  A cell_output(const A& x) const {
    if constexpr (kKeras) {
      return x.tanh();
    } else {
      return h(x);
    }
  }
  A gate_slope(const A& y) const {
    if constexpr (kKeras) {
      return y * (A::Ones() - y);
    } else {
      return f.slope(y);
    }
  }
  A candidate_slope(const A& y) const {
    if constexpr (kKeras) {
      return A::Ones() - y * y;
    } else {
      return g.slope(y);
    }
  }
  A cell_output_slope(const A& y) const {
    if constexpr (kKeras) {
      return A::Ones() - y * y;
    } else {
      return h.slope(y);
    }
  }

  // One row of one step, units [u0, u1): z [4U] holds the pre-activations without the
  // bias and receives the gates after their activations; c_prev [U] in, c and h [U] out.
  void forward(T* z, const T* c_prev, T* c, T* hout, int64_t u0, int64_t u1) const {
    T* zi = z;
    T* zf = z + units;
    T* zc = z + 2 * units;
    T* zo = z + 3 * units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A cp = load(c_prev + u, n);
      A pi = load(zi + u, n) + load(bias + u, n);
      if (!kKeras && peep) pi += load(peep + u, n) * cp;
      const A i = gate(pi);
      A fg;
      if (!kKeras && input_forget) {
        fg = A::Ones() - i;
      } else {
        A pf = load(zf + u, n) + load(bias + units + u, n);
        if (!kKeras && peep) pf += load(peep + units + u, n) * cp;
        fg = gate(pf);
      }
      const A cand = candidate(A(load(zc + u, n) + load(bias + 2 * units + u, n)));
      const A c_new = fg * cp + i * cand;
      A po = load(zo + u, n) + load(bias + 3 * units + u, n);
      if (!kKeras && peep) po += load(peep + 2 * units + u, n) * c_new;
      const A o = gate(po);
      const A h_new = o * cell_output(c_new);
      store(i, zi + u, n);
      store(fg, zf + u, n);
      store(cand, zc + u, n);
      store(o, zo + u, n);
      store(c_new, c + u, n);
      store(h_new, hout + u, n);
    }
  }

  // One row of one step backwards, units [u0, u1). gates [4U]: i, f, c~, o of the step;
  // c, c_prev [U]: its cell state and the previous one; dh_out [U] (or null): the
  // gradient reaching h_t through the sequence output; dh [U]: the one reaching it from
  // the next step (or h), set to zero (an LSTM's h_{t-1} reaches h_t only through the
  // recurrent product); dc [U]: the gradient reaching c_t from the next step (or c),
  // replaced by the one reaching c_{t-1}. Writes dz [4U], the gradient of the
  // pre-activations (which may alias gates: each block is read before it is written).
  void backward(const T* gates, const T* c, const T* c_prev, const T* dh_out, T* dh, T* dc, T* dz,
                int64_t u0, int64_t u1) const {
    const T* gi = gates;
    const T* gf = gates + units;
    const T* gc = gates + 2 * units;
    const T* go = gates + 3 * units;
    for (int64_t u = u0; u < u1; u += kBlock) {
      const int64_t n = std::min(kBlock, u1 - u);
      const A i = load(gi + u, n), fg = load(gf + u, n), cand = load(gc + u, n),
              o = load(go + u, n), cp = load(c_prev + u, n);
      const A hc = cell_output(load(c + u, n));
      A dht = load(dh + u, n);
      if (dh_out) dht += load(dh_out + u, n);
      // h = o h(c): do = dh h(c); dc += dh o h'(c)
      const A dpo = dht * hc * gate_slope(o);
      A dct = load(dc + u, n) + dht * o * cell_output_slope(hc);
      if (!kKeras && peep) dct += dpo * load(peep + 2 * units + u, n);  // o read c_t through P_o
      // c = f c_prev + i c~: di = dc c~, df = dc c_prev, dc~ = dc i, dc_prev = dc f
      const A dpc = dct * i * candidate_slope(cand);
      A dpi, dpf;
      if (!kKeras && input_forget) {  // f = 1 - i
        dpi = dct * (cand - cp) * gate_slope(i);
        dpf = A::Zero();
      } else {
        dpi = dct * cand * gate_slope(i);
        dpf = dct * cp * gate_slope(fg);
      }
      A dcp = dct * fg;
      if (!kKeras && peep) dcp += dpi * load(peep + u, n) + dpf * load(peep + units + u, n);
      store(dpi, dz + u, n);
      store(dpf, dz + units + u, n);
      store(dpc, dz + 2 * units + u, n);
      store(dpo, dz + 3 * units + u, n);
      store(dcp, dc + u, n);
      store(A(A::Zero()), dh + u, n);
    }
  }
};

// ---------------------------------------------------------------------------------------
// LSTM forward kernel

template <class T, bool kKeras>
void lstm_forward(KernelContext& ctx, const Attrs& a, const Dims& d) {
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units,
                width = kGates * units;
  const int extras = static_cast<int>(kForwardInputs.size());
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* c0 = ctx.input(2).data<T>();
  const T* kernel = ctx.input(3).data<T>();
  const T* rec = ctx.input(4).data<T>();
  const T* bias = ctx.input(5).data<T>();
  const Tensor* masking = a.masking == Masking::none ? nullptr : &ctx.input(extras);
  const T* peep = a.peepholes ? ctx.input(extras + (masking ? 1 : 0)).data<T>() : nullptr;
  T* seq = ctx.allocate_output(0, Shape{batch, steps, units}).data<T>();
  T* h_last = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* c_last = ctx.allocate_output(2, Shape{batch, units}).data<T>();
  T* gates = ctx.allocate_output(3, Shape{batch, steps, width}).data<T>();
  T* cells = ctx.allocate_output(4, Shape{batch, steps, units}).data<T>();
  T* states = a.separate_states() ? ctx.allocate_output(5, Shape{batch, steps, units}).data<T>() : seq;
  const StepFlags flags = step_flags(masking, a, batch, steps, ctx.node().describe());
  const Cell<T, kKeras> cell(a, bias, peep, units);
  const Steps st{steps, a.reverse};
  ThreadPool& pool = ctx.pool();

  // Input projection of every step at once: gates[batch*steps, 4U] = x[batch*steps, feat]
  // kernel[feat, 4U].
  gemm_by_rows<T>(pool, false, false, batch * steps, width, feat, x, feat, kernel, width, T(0), gates,
                width);

  // The recurrent kernel multiplies every step: pack it once, by gate.
  const gemm::PackedMatrix<T> rec_packed(false, units, width, kGates, rec, width, &pool);
  const std::vector<Tile> tiles = step_tiles(batch, units, kGates, pool.num_threads());
  run_steps(pool, tiles, steps, [&](int64_t s, const Tile& tile) {
    const int64_t t = st.time(s);
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const auto [hp, ldh] = prev_rows(st, h0, states, tile.b0, t, units);
    const auto [cp, ldc] = prev_rows(st, c0, cells, tile.b0, t, units);
    T* z = gates + (tile.b0 * steps + t) * width;
    // z[b, gate q, units u0..u1) += h_prev[b, :] rec[:, q*units + u0 .. q*units + u1)
    for (int64_t q = 0; q < kGates; ++q)
      gemm::gemm_packed<T>(m, hp, ldh, rec_packed, q, tile.u0, tile.u1, T(1),
                           z + q * units + tile.u0, steps * width);
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      const int64_t row = b * steps + t, k = b - tile.b0;
      if (flags.is_valid(row)) {
        cell.forward(gates + row * width, cp + k * ldc, cells + row * units, states + row * units,
                     tile.u0, tile.u1);
      } else {  // a masked step carries both states over
        std::copy(hp + k * ldh + tile.u0, hp + k * ldh + tile.u1, states + row * units + tile.u0);
        std::copy(cp + k * ldc + tile.u0, cp + k * ldc + tile.u1, cells + row * units + tile.u0);
      }
    }
  });
  if (a.separate_states()) write_sequence(pool, a, flags, states, seq, batch, steps, units);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t last = b * steps + st.last();
    std::copy_n(steps ? states + last * units : h0 + b * units, units, h_last + b * units);
    std::copy_n(steps ? cells + last * units : c0 + b * units, units, c_last + b * units);
  }
}

void lstm_kernel(KernelContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = runtime_dims(ctx, a, false);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "LSTM", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (Cell<T, true>::keras(a)) {
      lstm_forward<T, true>(ctx, a, d);
    } else {
      lstm_forward<T, false>(ctx, a, d);
    }
  });
}

// ---------------------------------------------------------------------------------------
// LSTMGrad kernel: backpropagation through time.

template <class T, bool kKeras>
void lstm_backward(KernelContext& ctx, const Attrs& a, const Dims& d) {
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units,
                width = kGates * units;
  const int extras = static_cast<int>(kGradInputs.size());
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* c0 = ctx.input(2).data<T>();
  const T* kernel = ctx.input(3).data<T>();
  const T* rec = ctx.input(4).data<T>();
  const T* states = ctx.input(5).data<T>();
  const T* gates = ctx.input(6).data<T>();
  const T* cells = ctx.input(7).data<T>();
  const T* d_seq = ctx.input(8).data<T>();
  const T* d_h = ctx.input(9).data<T>();
  const T* d_c = ctx.input(10).data<T>();
  const Tensor* masking = a.masking == Masking::none ? nullptr : &ctx.input(extras);
  const T* peep = a.peepholes ? ctx.input(extras + (masking ? 1 : 0)).data<T>() : nullptr;
  T* dx = ctx.allocate_output(0, Shape{batch, steps, feat}).data<T>();
  T* dh0 = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* dc = ctx.allocate_output(2, Shape{batch, units}).data<T>();  // running dc; ends as dc0
  T* dkernel = ctx.allocate_output(3, Shape{feat, width}).data<T>();
  T* drec = ctx.allocate_output(4, Shape{units, width}).data<T>();
  T* dbias = ctx.allocate_output(5, Shape{width}).data<T>();
  T* dpeep = a.peepholes ? ctx.allocate_output(7, Shape{3 * units}).data<T>() : nullptr;
  const StepFlags flags = step_flags(masking, a, batch, steps, ctx.node().describe());
  const Cell<T, kKeras> cell(a, nullptr, peep, units);
  const Steps st{steps, a.reverse};
  ThreadPool& pool = ctx.pool();

  // dz [batch*steps, 4U]: gradient of the gate pre-activations, row b*steps + t as in the forward.
  // It takes over the gates' buffer when nothing else reads the gates any more: step t reads each
  // block of gate values before writing the same block of dz, and no step reads a row of gates that
  // an earlier step turned into dz.
  T* dz = ctx.forward_or_allocate(6, 6, Shape{batch, steps, width}).data<T>();
  // dh [batch, units]: gradient reaching the state after the step being processed from later
  // steps (from h at the last step).
  Tensor dh_t(dtype_v<T>, Shape{batch, units});
  T* dh = dh_t.data<T>();
  std::copy_n(d_h, batch * units, dh);
  std::copy_n(d_c, batch * units, dc);

  // dh[b, u0..u1) += dz[b, t, :] rec[u0..u1, :]^T at every step: pack rec^T once.
  const gemm::PackedMatrix<T> rec_t_packed(true, width, units, 1, rec, width, &pool);
  auto recurrent_grad = [&](const Tile& tile, int64_t t, T* out) {
    gemm::gemm_packed<T>(tile.b1 - tile.b0, dz + (tile.b0 * steps + t) * width, steps * width,
                         rec_t_packed, 0, tile.u0, tile.u1, T(1), out + tile.b0 * units + tile.u0,
                         units);
  };
  // Steps T-1 .. 0, then one more that only takes dh0 = dh + dz[first step] rec^T (with no
  // steps at all, the gradient passes straight through).
  const std::vector<Tile> tiles = step_tiles(batch, units, kGates, pool.num_threads());
  // dbias sums dz's rows in one fixed order, steps T-1 .. 0 and rows 0 .. batch-1 within a
  // step, whether inside the loop (tiles split by units) or after it (split by rows).
  const bool bias_in_loop = tiles.size() == 1 || tiles[0].b1 == batch;
  std::fill_n(dbias, width, T(0));
  if (steps == 0) std::copy_n(d_h, batch * units, dh0);
  run_steps(pool, tiles, steps == 0 ? 0 : steps + 1, [&](int64_t i, const Tile& tile) {
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const int64_t s = steps - 1 - i;
    if (s < 0) {
      for (int64_t b = tile.b0; b < tile.b1; ++b)
        std::copy(dh + b * units + tile.u0, dh + b * units + tile.u1, dh0 + b * units + tile.u0);
      recurrent_grad(tile, st.time(0), dh0);
      return;
    }
    const int64_t t = st.time(s);
    if (s + 1 < steps) recurrent_grad(tile, st.time(s + 1), dh);
    const auto [cp, ldc] = prev_rows(st, c0, cells, tile.b0, t, units);
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      const int64_t row = b * steps + t;
      const T* dout = flags.emits(row) ? d_seq + output_row(a, b, t, steps) * units : nullptr;
      if (flags.is_valid(row)) {
        cell.backward(gates + row * width, cells + row * units, cp + (b - tile.b0) * ldc, dout,
                      dh + b * units, dc + b * units, dz + row * width, tile.u0, tile.u1);
      } else {  // a masked step passes both gradients through to the previous state
        for (int64_t q = 0; q < kGates; ++q)
          std::fill(dz + row * width + q * units + tile.u0, dz + row * width + q * units + tile.u1,
                    T(0));
        if (dout)
          for (int64_t u = tile.u0; u < tile.u1; ++u) dh[b * units + u] += dout[u];
      }
      // dbias sums dz while it is in cache, when this tile owns its columns for every row.
      if (bias_in_loop) {
        for (int64_t q = 0; q < kGates; ++q) {
          const T* zr = dz + row * width + q * units;
          T* db = dbias + q * units;
          for (int64_t u = tile.u0; u < tile.u1; ++u) db[u] += zr[u];
        }
      }
    }
  });
  // The weight gradients sum over every step and row at once:
  //   dx = dz kernel^T, [dkernel; drec] = [x, h_prev]^T dz (dbias is summed above),
  // where h_prev is the state before each step. The two weight gradients are one GEMM over
  // the rows [x_r, h_prev_r] so dz is packed once.
  const int64_t rows = batch * steps, xh_width = feat + units;
  gemm_by_rows<T>(pool, false, true, rows, feat, width, dz, width, kernel, width, T(0), dx, feat);
  Tensor xh_t(dtype_v<T>, Shape{rows, xh_width});
  T* xh = xh_t.data<T>();
  build_xh(pool, st, x, h0, states, batch, feat, units, xh);
  Tensor dw_t(dtype_v<T>, Shape{xh_width, width});
  T* dw = dw_t.data<T>();
  gemm_by_rows<T>(pool, true, false, xh_width, width, rows, xh, xh_width, dz, width, T(0), dw, width);
  std::copy_n(dw, feat * width, dkernel);
  std::copy_n(dw + feat * width, units * width, drec);
  if (!bias_in_loop) {
    parallel_range(pool, width,
                   std::max<int64_t>(64, kElementwiseGrain / std::max<int64_t>(rows, 1)),
                   [&](int64_t j0, int64_t j1) {
                     for (int64_t s = steps - 1; s >= 0; --s) {
                       for (int64_t b = 0; b < batch; ++b) {
                         const T* zr = dz + (b * steps + st.time(s)) * width;
                         for (int64_t j = j0; j < j1; ++j) dbias[j] += zr[j];
                       }
                     }
                   });
  }
  if (dpeep) {
    // dP_i = sum dz_i c_prev, dP_f = sum dz_f c_prev, dP_o = sum dz_o c, over rows in order.
    std::fill_n(dpeep, 3 * units, T(0));
    parallel_range(pool, units, std::max<int64_t>(16, kElementwiseGrain / std::max<int64_t>(rows, 1)),
                   [&](int64_t u0, int64_t u1) {
                     for (int64_t r = 0; r < rows; ++r) {
                       const int64_t b = r / steps, t = r % steps;
                       const T* cp = prev_rows(st, c0, cells, b, t, units).first;
                       const T* z = dz + r * width;
                       for (int64_t u = u0; u < u1; ++u) {
                         dpeep[u] += z[u] * cp[u];
                         dpeep[units + u] += z[units + u] * cp[u];
                         dpeep[2 * units + u] += z[3 * units + u] * cells[r * units + u];
                       }
                     }
                   });
  }
}

void lstm_grad_kernel(KernelContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = runtime_dims(ctx, a, true);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "LSTMGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (Cell<T, true>::keras(a)) {
      lstm_backward<T, true>(ctx, a, d);
    } else {
      lstm_backward<T, false>(ctx, a, d);
    }
  });
}

// d/d(x, h0, c0, kernel, recurrent_kernel, bias, peepholes) LSTM = backpropagation through
// time (LSTMGrad); the mask or lengths get none.
Grads lstm_grad(const Scope& s, const Operation& op, const Grads& g) {
  const Attrs a = Attrs::read(*op.node());
  require_invertible(op, a);
  // Outputs 3.. are saved for the backward pass only; a gradient flowing into them would need
  // second-order terms.
  require_no_grad(op, g, 3, "gates");
  require_no_grad(op, g, 4, "cells");
  if (a.separate_states()) require_no_grad(op, g, 5, "states");
  NodeBuilder b(s, "LSTMGrad");
  for (int i = 0; i < 5; ++i) b.input(op.input(i));
  b.input(op.output(a.separate_states() ? 5 : 0)).input(op.output(3)).input(op.output(4));
  b.input(g[0]).input(g[1]).input(g[2]);
  const int extras = static_cast<int>(kForwardInputs.size());
  for (int i = 0; i < a.num_extras(); ++i) b.input(op.input(extras + i));
  copy_attrs(b, *op.node());
  const Operation grad = b.finish();
  Grads r;
  for (int i = 0; i < 6; ++i) r.push_back(grad.output(i));
  if (a.masking != Masking::none) r.emplace_back();
  if (a.peepholes) r.push_back(grad.output(7));
  return r;
}

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  add_common_attrs(r.op("LSTM").input("x").input("h0").input("c0").input("kernel")
                       .input("recurrent_kernel").input("bias").variadic_input("extras"),
                   true, false)
      .output("sequence").output("h").output("c").output("gates").output("cells")
      .output("states")  // only with masking or reverse_output
      .shape_fn(lstm_shape).kernel(lstm_kernel).gradient(lstm_grad);
  // Like TensorFlow's BlockLSTMGrad: no second derivatives. dgates (the gradient of the
  // gate pre-activations) reuses the gates' buffer when it can. The states input is the
  // forward's sequence when it has no separate states output.
  add_common_attrs(r.op("LSTMGrad").input("x").input("h0").input("c0").input("kernel")
                       .input("recurrent_kernel").input("states").input("gates").input("cells")
                       .input("d_sequence").input("d_h").input("d_c").variadic_input("extras"),
                   true, false)
      .output("dx").output("dh0").output("dc0").output("dkernel").output("drecurrent_kernel")
      .output("dbias").output("dgates").output("dpeepholes")  // dpeepholes: with peepholes
      .shape_fn(lstm_grad_shape).kernel(lstm_grad_kernel).not_differentiable();
}

namespace ops {

std::vector<Output> lstm(const Scope& scope, const Output& x, const Output& h0, const Output& c0,
                         const Output& kernel, const Output& recurrent_kernel, const Output& bias,
                         const RnnOptions& options) {
  const Operation op = build_node(scope, "LSTM", {x, h0, c0, kernel, recurrent_kernel, bias},
                                  options, true, false, false);
  return {op.output(0), op.output(1), op.output(2)};
}

}  // namespace ops
}  // namespace sluice
