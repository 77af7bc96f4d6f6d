// The fused fully connected RNN (Keras' SimpleRNN, ONNX RNN) and its gradient, each with
// its declaration, shape function and CPU kernel. Shared machinery is in rnn_common.h,
// which also describes the layout. The states buffer first receives each step's
// pre-activation (input projection plus recurrent product) and then, in place, its state;
// the gradient differentiates the activation through that state.
#include "rnn_ops.h"

#include "gemm.h"
#include "gemm_packed.h"
#include "rnn_common.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers
using namespace rnn;      // NOLINT(google-build-using-namespace): shared recurrent helpers


namespace {

// Inputs: x, h0, kernel, recurrent_kernel, bias, then [mask | sequence_lengths].
const std::vector<std::pair<const char*, const char*>> kForwardInputs = {
    {"x", "BTF"}, {"h0", "BU"}, {"kernel", "FU"}, {"recurrent_kernel", "UU"}, {"bias", "U"}};
// SimpleRNNGrad: x, h0, kernel, recurrent_kernel, the forward's states, the gradients of
// sequence and h, then the forward's mask or lengths.
const std::vector<std::pair<const char*, const char*>> kGradInputs = {
    {"x", "BTF"},      {"h0", "BU"},          {"kernel", "FU"}, {"recurrent_kernel", "UU"},
    {"states", "BTU"}, {"d_sequence", "BTU"}, {"d_h", "BU"}};

template <class ShapeOf, class DTypeOf>
Dims rnn_dims(const char* op, const Attrs& a, bool grad, int n, ShapeOf shape_of,
              DTypeOf dtype_of) {
  SLUICE_REQUIRE(!a.peepholes && !a.input_forget, InvalidArgument, op,
                 ": peepholes and input_forget are LSTM options");
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
  return check_dims(op, 1, "h", specs);
}

void rnn_shape(ShapeContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = rnn_dims(
      "SimpleRNN", a, false, ctx.num_inputs(), [&](int i) { return ctx.input_shape(i); },
      [&](int i) { return ctx.input_dtype(i); });
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{d.batch, d.time, d.units});  // sequence
  ctx.add_output(dt, Shape{d.batch, d.units});          // h
  if (a.separate_states()) ctx.add_output(dt, Shape{d.batch, d.time, d.units});  // states
}

void rnn_grad_shape(ShapeContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = rnn_dims(
      "SimpleRNNGrad", a, true, ctx.num_inputs(), [&](int i) { return ctx.input_shape(i); },
      [&](int i) { return ctx.input_dtype(i); });
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, Shape{d.batch, d.time, d.features});  // dx
  ctx.add_output(dt, Shape{d.batch, d.units});             // dh0
  ctx.add_output(dt, Shape{d.features, d.units});          // dkernel
  ctx.add_output(dt, Shape{d.units, d.units});             // drecurrent_kernel
  ctx.add_output(dt, Shape{d.units});                      // dbias
}

template <class Ctx>
Dims runtime_dims(const Ctx& ctx, const Attrs& a, bool grad) {
  return rnn_dims(
      grad ? "SimpleRNNGrad" : "SimpleRNN", a, grad, ctx.num_inputs(),
      [&](int i) { return ctx.input(i).shape(); }, [&](int i) { return ctx.input(i).dtype(); });
}

// ---------------------------------------------------------------------------------------
// Forward kernel

template <class T>
void rnn_forward(KernelContext& ctx, const Attrs& a, const Dims& d) {
  using A = BlockArray<T>;
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units;
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* kernel = ctx.input(2).data<T>();
  const T* rec = ctx.input(3).data<T>();
  const T* bias = ctx.input(4).data<T>();
  const Tensor* masking =
      a.masking == Masking::none ? nullptr : &ctx.input(static_cast<int>(kForwardInputs.size()));
  T* seq = ctx.allocate_output(0, Shape{batch, steps, units}).data<T>();
  T* h_last = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* states = a.separate_states() ? ctx.allocate_output(2, Shape{batch, steps, units}).data<T>() : seq;
  const StepFlags flags = step_flags(masking, a, batch, steps, ctx.node().describe());
  const Act<T> act(a.g, a.clip);
  const Steps st{steps, a.reverse};
  ThreadPool& pool = ctx.pool();

  gemm_by_rows<T>(pool, false, false, batch * steps, units, feat, x, feat, kernel, units, T(0), states,
                units);
  const gemm::PackedMatrix<T> rec_packed(false, units, units, 1, rec, units, &pool);
  const std::vector<Tile> tiles = step_tiles(batch, units, 1, pool.num_threads());
  run_steps(pool, tiles, steps, [&](int64_t s, const Tile& tile) {
    const int64_t t = st.time(s);
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const auto [hp, ldh] = prev_rows(st, h0, states, tile.b0, t, units);
    gemm::gemm_packed<T>(m, hp, ldh, rec_packed, 0, tile.u0, tile.u1, T(1),
                         states + (tile.b0 * steps + t) * units + tile.u0, steps * units);
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      T* h = states + (b * steps + t) * units;
      if (!flags.is_valid(b * steps + t)) {  // a masked step keeps the state
        const T* src = hp + (b - tile.b0) * ldh;
        std::copy(src + tile.u0, src + tile.u1, h + tile.u0);
        continue;
      }
      for (int64_t u = tile.u0; u < tile.u1; u += kBlock) {
        const int64_t k = std::min(kBlock, tile.u1 - u);
        store(act(A(load(h + u, k) + load(bias + u, k))), h + u, k);
      }
    }
  });
  if (a.separate_states()) write_sequence(pool, a, flags, states, seq, batch, steps, units);
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(steps ? states + (b * steps + st.last()) * units : h0 + b * units, units,
                h_last + b * units);
}

void rnn_kernel(KernelContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = runtime_dims(ctx, a, false);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "SimpleRNN", [&](auto tag) {
    rnn_forward<typename decltype(tag)::type>(ctx, a, d);
  });
}

// ---------------------------------------------------------------------------------------
// Gradient kernel: backpropagation through time.

template <class T>
void rnn_backward(KernelContext& ctx, const Attrs& a, const Dims& d) {
  using A = BlockArray<T>;
  const int64_t batch = d.batch, steps = d.time, feat = d.features, units = d.units;
  const T* x = ctx.input(0).data<T>();
  const T* h0 = ctx.input(1).data<T>();
  const T* kernel = ctx.input(2).data<T>();
  const T* rec = ctx.input(3).data<T>();
  const T* states = ctx.input(4).data<T>();
  const T* d_seq = ctx.input(5).data<T>();
  const T* d_h = ctx.input(6).data<T>();
  const Tensor* masking =
      a.masking == Masking::none ? nullptr : &ctx.input(static_cast<int>(kGradInputs.size()));
  T* dx = ctx.allocate_output(0, Shape{batch, steps, feat}).data<T>();
  T* dh0 = ctx.allocate_output(1, Shape{batch, units}).data<T>();
  T* dkernel = ctx.allocate_output(2, Shape{feat, units}).data<T>();
  T* drec = ctx.allocate_output(3, Shape{units, units}).data<T>();
  T* dbias = ctx.allocate_output(4, Shape{units}).data<T>();
  const StepFlags flags = step_flags(masking, a, batch, steps, ctx.node().describe());
  const Act<T> act(a.g, a.clip);
  const Steps st{steps, a.reverse};
  ThreadPool& pool = ctx.pool();

  const int64_t rows = batch * steps;
  Tensor dz_t(dtype_v<T>, Shape{rows, units});  // gradient of the pre-activations
  T* dz = dz_t.data<T>();
  Tensor dh_t(dtype_v<T>, Shape{batch, units});
  T* dh = dh_t.data<T>();
  std::copy_n(d_h, batch * units, dh);
  const gemm::PackedMatrix<T> rec_t(true, units, units, 1, rec, units, &pool);
  auto recurrent_grad = [&](const Tile& tile, int64_t t, T* out) {
    gemm::gemm_packed<T>(tile.b1 - tile.b0, dz + (tile.b0 * steps + t) * units, steps * units,
                         rec_t, 0, tile.u0, tile.u1, T(1), out + tile.b0 * units + tile.u0, units);
  };
  const std::vector<Tile> tiles = step_tiles(batch, units, 1, pool.num_threads());
  if (steps == 0) std::copy_n(d_h, batch * units, dh0);
  run_steps(pool, tiles, steps == 0 ? 0 : steps + 1, [&](int64_t i, const Tile& tile) {
    const int64_t m = tile.b1 - tile.b0, n = tile.u1 - tile.u0;
    if (m == 0 || n == 0) return;
    const int64_t s = steps - 1 - i;
    if (s < 0) {  // dh0 = dh + dz[first step] rk^T
      for (int64_t b = tile.b0; b < tile.b1; ++b)
        std::copy(dh + b * units + tile.u0, dh + b * units + tile.u1, dh0 + b * units + tile.u0);
      recurrent_grad(tile, st.time(0), dh0);
      return;
    }
    const int64_t t = st.time(s);
    if (s + 1 < steps) recurrent_grad(tile, st.time(s + 1), dh);
    for (int64_t b = tile.b0; b < tile.b1; ++b) {
      const int64_t row = b * steps + t;
      const T* dout = flags.emits(row) ? d_seq + output_row(a, b, t, steps) * units : nullptr;
      T* dhb = dh + b * units;
      T* dzr = dz + row * units;
      if (!flags.is_valid(row)) {  // passes the gradient through to the previous state
        std::fill(dzr + tile.u0, dzr + tile.u1, T(0));
        if (dout)
          for (int64_t u = tile.u0; u < tile.u1; ++u) dhb[u] += dout[u];
        continue;
      }
      // h = act(pre): dpre = dh act'(pre), computed from h; h_{t-1} gets it through rk only.
      for (int64_t u = tile.u0; u < tile.u1; u += kBlock) {
        const int64_t k = std::min(kBlock, tile.u1 - u);
        A dht = load(dhb + u, k);
        if (dout) dht += load(dout + u, k);
        store(A(dht * act.slope(load(states + row * units + u, k))), dzr + u, k);
        store(A(A::Zero()), dhb + u, k);
      }
    }
  });
  // dx = dz kernel^T, [dkernel; drec] = [x, h_prev]^T dz, dbias = column sums of dz.
  const int64_t xh_width = feat + units;
  gemm_by_rows<T>(pool, false, true, rows, feat, units, dz, units, kernel, units, T(0), dx, feat);
  Tensor xh_t(dtype_v<T>, Shape{rows, xh_width});
  T* xh = xh_t.data<T>();
  build_xh(pool, st, x, h0, states, batch, feat, units, xh);
  Tensor dw_t(dtype_v<T>, Shape{xh_width, units});
  T* dw = dw_t.data<T>();
  gemm_by_rows<T>(pool, true, false, xh_width, units, rows, xh, xh_width, dz, units, T(0), dw, units);
  std::copy_n(dw, feat * units, dkernel);
  std::copy_n(dw + feat * units, units * units, drec);
  column_sums(pool, dz, rows, units, units, dbias);
}

void rnn_grad_kernel(KernelContext& ctx) {
  const Attrs a = Attrs::read(ctx.node());
  const Dims d = runtime_dims(ctx, a, true);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "SimpleRNNGrad", [&](auto tag) {
    rnn_backward<typename decltype(tag)::type>(ctx, a, d);
  });
}

// d/d(x, h0, kernel, recurrent_kernel, bias) SimpleRNN = backpropagation through time
Grads rnn_grad(const Scope& s, const Operation& op, const Grads& g) {
  const Attrs a = Attrs::read(*op.node());
  require_invertible(op, a);
  if (a.separate_states()) require_no_grad(op, g, 2, "states");
  NodeBuilder b(s, "SimpleRNNGrad");
  for (int i = 0; i < 4; ++i) b.input(op.input(i));
  b.input(op.output(a.separate_states() ? 2 : 0)).input(g[0]).input(g[1]);
  if (a.masking != Masking::none) b.input(op.input(static_cast<int>(kForwardInputs.size())));
  copy_attrs(b, *op.node());
  const Operation grad = b.finish();
  Grads r;
  for (int i = 0; i < 5; ++i) r.push_back(grad.output(i));
  if (a.masking != Masking::none) r.emplace_back();
  return r;
}

}  // namespace

void register_simple_rnn_ops(OpRegistry& r) {
  add_common_attrs(r.op("SimpleRNN").input("x").input("h0").input("kernel")
                       .input("recurrent_kernel").input("bias").variadic_input("extras"),
                   false, false)
      .output("sequence").output("h")
      .output("states")  // only with masking or reverse_output
      .shape_fn(rnn_shape).kernel(rnn_kernel).gradient(rnn_grad);
  add_common_attrs(r.op("SimpleRNNGrad").input("x").input("h0").input("kernel")
                       .input("recurrent_kernel").input("states").input("d_sequence")
                       .input("d_h").variadic_input("extras"),
                   false, false)
      .output("dx").output("dh0").output("dkernel").output("drecurrent_kernel").output("dbias")
      .shape_fn(rnn_grad_shape).kernel(rnn_grad_kernel).not_differentiable();
}

namespace ops {

std::vector<Output> simple_rnn(const Scope& scope, const Output& x, const Output& h0,
                               const Output& kernel, const Output& recurrent_kernel,
                               const Output& bias, const RnnOptions& options) {
  const Operation op = build_node(scope, "SimpleRNN", {x, h0, kernel, recurrent_kernel, bias},
                                  options, false, false, false);
  return {op.output(0), op.output(1)};
}

}  // namespace ops
}  // namespace sluice
