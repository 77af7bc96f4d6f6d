// FusedMatMul: declaration, shape function, CPU kernel and gradient.
#include "dense_ops.h"

#include "conv_attrs.h"
#include "conv_lowering.h"
#include "gemm.h"
#include "gemm_prepacked.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "shape_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

struct MatMulDims {
  int64_t m, k, kb, n;
};
MatMulDims dims_of(const Shape& a, const Shape& b, bool ta, bool tb) {
  return {ta ? a.dim(1) : a.dim(0), ta ? a.dim(0) : a.dim(1), tb ? b.dim(1) : b.dim(0),
          tb ? b.dim(0) : b.dim(1)};
}

void fused_matmul_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1, 2});
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  const Shape& bias = ctx.input_shape(2);
  SLUICE_REQUIRE(!a.known_rank() || a.rank() == 2, InvalidArgument, "FusedMatMul needs a rank-2 a, got ",
                 a.to_string());
  SLUICE_REQUIRE(!b.known_rank() || b.rank() == 2, InvalidArgument, "FusedMatMul needs a rank-2 b, got ",
                 b.to_string());
  SLUICE_REQUIRE(!bias.known_rank() || bias.rank() == 1, InvalidArgument,
                 "FusedMatMul needs a rank-1 bias, got ", bias.to_string());
  (void)read_activation(ctx.node());  // validates the activation attrs
  if (!a.known_rank() || !b.known_rank()) {
    ctx.add_output(ctx.input_dtype(0), Shape{-1, -1});
    return;
  }
  const MatMulDims d = dims_of(a, b, ctx.attr<bool>("transpose_a"), ctx.attr<bool>("transpose_b"));
  SLUICE_REQUIRE(d.k < 0 || d.kb < 0 || d.k == d.kb, InvalidArgument,
                 "Matrix size-incompatible: In[0]: ", a.to_string(), ", In[1]: ", b.to_string());
  const int64_t nb = bias.known_rank() ? bias.dim(0) : -1;
  SLUICE_REQUIRE(d.n < 0 || nb < 0 || d.n == nb, InvalidArgument, "FusedMatMul bias ",
                 bias.to_string(), " does not match the product's ", d.n, " columns");
  ctx.add_output(ctx.input_dtype(0), Shape{d.m, d.n});
}

// y[r, :] = act(y[r, :] + bias) for rows [r0, r1), the activation a template parameter.
template <class T>
void bias_activation_rows(const conv::Epilogue& e, const T* bias, int64_t n, int64_t r0,
                          int64_t r1, T* y) {
  conv::with_activation(e, [&](auto kind) {
    for (int64_t r = r0; r < r1; ++r) {
      T* row = y + r * n;
      for (int64_t j = 0; j < n; ++j) {
        T v = row[j] + bias[j];
        conv::activate_as<decltype(kind)::value, T>(e, v);
        row[j] = v;
      }
    }
  });
}

void fused_matmul_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  SLUICE_REQUIRE(a.rank() == 2 && b.rank() == 2 && bias.rank() == 1, InvalidArgument,
                 "FusedMatMul needs rank-2 a and b and a rank-1 bias, got ", a.summary(), ", ",
                 b.summary(), " and ", bias.summary());
  const bool ta = ctx.attr<bool>("transpose_a"), tb = ctx.attr<bool>("transpose_b");
  const MatMulDims d = dims_of(a.shape(), b.shape(), ta, tb);
  SLUICE_REQUIRE(d.k == d.kb, InvalidArgument, "Matrix size-incompatible: In[0]: ",
                 a.shape().to_string(), ", In[1]: ", b.shape().to_string());
  SLUICE_REQUIRE(bias.dim(0) == d.n, InvalidArgument, "FusedMatMul bias ", bias.summary(),
                 " does not match the product's ", d.n, " columns");
  const conv::Epilogue e = epilogue_of(read_activation(ctx.node()));
  Tensor& y = ctx.allocate_output(0, Shape{d.m, d.n});
  dispatch<SLUICE_FLOAT_TYPES>(a.dtype(), "FusedMatMul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Sluice's packed kernel, the weights packed once when Const or variable (as MatMul).
    if (!ta) {
      const auto packed = gemm::packed_weights<T>(ctx.node(), 1, b, tb, d.k, d.n);
      gemm::gemm_prepacked<T>(d.m, a.data<T>(), a.dim(1), *packed, T(0), y.data<T>(), d.n, &ctx.pool());
    } else {
      gemm::gemm<T>(ta, tb, d.m, d.n, d.k, T(1), a.data<T>(), a.dim(1), b.data<T>(), b.dim(1),
                    T(0), y.data<T>(), d.n, &ctx.pool());
    }
    const T* bp = bias.data<T>();
    T* yp = y.data<T>();
    const int64_t n = d.n;
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1));
    ctx.pool().parallel_for(d.m, grain, [&](int64_t r0, int64_t r1) {
      bias_activation_rows<T>(e, bp, n, r0, r1, yp);
    });
  });
}

Grads fused_matmul_grad(const Scope& s, const Operation& op, const Grads& g) {
  // z = a b + bias, y = act(z): dz = g * act'(z); da, db as matmul's; dbias = sum of dz over rows
  const Output dz = activation_grad(s, read_activation(*op.node()), g[0], op.output(0));
  Grads grads = ops::matmul_input_grads(s, op.input(0), op.input(1), dz,
                                        op.node()->attr<bool>("transpose_a"),
                                        op.node()->attr<bool>("transpose_b"));
  grads.push_back(ops::sum_to_like(s, dz, op.input(2)));
  return grads;
}

}  // namespace

void register_dense_ops(OpRegistry& r) {
  r.op("FusedMatMul").input("a").input("b").input("bias").output("product")
      .attr("transpose_a", false)
      .attr("transpose_b", false)
      .attr("relu", false)
      .attr("activation", "none")
      .attr("clip_min", 0.0)
      .attr("clip_max", 0.0)
      .attr("alpha", 0.0)
      .shape_fn(fused_matmul_shape)
      .kernel(fused_matmul_kernel)
      .gradient(fused_matmul_grad);
}

namespace ops {

Output fused_matmul(const Scope& s, const Output& a, const Output& b, const Output& bias,
                    FusedActivation activation, bool transpose_a, bool transpose_b) {
  NodeBuilder nb(s, "FusedMatMul");
  nb.input(a).input(b).input(bias).attr("transpose_a", transpose_a).attr("transpose_b", transpose_b);
  set_activation(nb, activation);
  return nb.finish().output(0);
}

}  // namespace ops
}  // namespace sluice
