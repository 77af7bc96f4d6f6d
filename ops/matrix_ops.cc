// Batched matrix products: declaration, shape function, CPU kernel and gradient.
#include "matrix_ops.h"

#include "array_ops.h"
#include "elementwise.h"
#include "gemm.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

// The leading (batch) dims of a rank >= 2 shape.
Shape batch_dims(const Shape& s) {
  Ints d;
  for (int i = 0; i + 2 < s.rank(); ++i) d.push_back(s.dim(i));
  return Shape(d);
}

// {M, K of a, K of b, N} of a batched product with adjoint flags.
std::array<int64_t, 4> product_dims(const Shape& a, const Shape& b, bool adj_x, bool adj_y) {
  const int64_t a0 = a.dim(a.rank() - 2), a1 = a.dim(a.rank() - 1);
  const int64_t b0 = b.dim(b.rank() - 2), b1 = b.dim(b.rank() - 1);
  return {adj_x ? a1 : a0, adj_x ? a0 : a1, adj_y ? b1 : b0, adj_y ? b0 : b1};
}

void batch_matmul_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(t == DType::f32 || t == DType::f64 || t == DType::i32 || t == DType::i64,
                 InvalidArgument, "BatchMatMul takes float32, float64, int32 or int64, got ",
                 dtype_name(t));
  require_same_dtype(ctx, 0, 1);
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  if (!a.known_rank() || !b.known_rank()) {
    ctx.add_output(t, Shape::unknown_rank());
    return;
  }
  SLUICE_REQUIRE(a.rank() >= 2 && b.rank() >= 2, InvalidArgument,
                 "BatchMatMul needs operands of rank >= 2, got shapes ", a.to_string(), " and ",
                 b.to_string());
  const bool adj_x = ctx.attr<bool>("adj_x"), adj_y = ctx.attr<bool>("adj_y");
  const auto [m, k, kb, n] = product_dims(a, b, adj_x, adj_y);
  SLUICE_REQUIRE(k < 0 || kb < 0 || k == kb, InvalidArgument, "Matrix size-incompatible: In[0]: ",
                 a.to_string(), ", In[1]: ", b.to_string(), adj_x || adj_y ? " (with adjoints)" : "");
  Ints out = broadcast_shapes(batch_dims(a), batch_dims(b)).dims();
  out.push_back(m);
  out.push_back(n);
  ctx.add_output(t, Shape(out));
}

// Offsets (in matrices) of each output batch's a and b operands under broadcasting.
void batch_offsets(const Shape& out_batch, const Shape& a_batch, const Shape& b_batch, Ints& a_off,
                   Ints& b_off) {
  const int64_t count = out_batch.num_elements();
  a_off.assign(count, 0);
  b_off.assign(count, 0);
  const int r = out_batch.rank();
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i, sa = 1, sb = 1;
    for (int d = r - 1; d >= 0; --d) {
      const int64_t c = rest % out_batch.dim(d);
      rest /= out_batch.dim(d);
      const int da = d - (r - a_batch.rank()), db = d - (r - b_batch.rank());
      if (da >= 0) {
        if (a_batch.dim(da) != 1) a_off[i] += c * sa;
        sa *= a_batch.dim(da);
      }
      if (db >= 0) {
        if (b_batch.dim(db) != 1) b_off[i] += c * sb;
        sb *= b_batch.dim(db);
      }
    }
  }
}

// Products at most this many multiply-adds run one per thread, batches split across the
// pool; larger ones run one after another, each split by the GEMM wrapper. The choice
// depends only on the shapes, so results do not depend on the thread count.
constexpr int64_t kSmallProduct = 64 * 64 * 64;

void batch_matmul_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  SLUICE_REQUIRE(a.dtype() == b.dtype() && a.rank() >= 2 && b.rank() >= 2, InvalidArgument,
                 "BatchMatMul needs two operands of one dtype and rank >= 2, got ", a.summary(),
                 " and ", b.summary());
  const bool adj_x = ctx.attr<bool>("adj_x"), adj_y = ctx.attr<bool>("adj_y");
  const auto dims = product_dims(a.shape(), b.shape(), adj_x, adj_y);
  const int64_t m = dims[0], k = dims[1], n = dims[3];
  SLUICE_REQUIRE(k == dims[2], InvalidArgument, "Matrix size-incompatible: In[0]: ",
                 a.shape().to_string(), ", In[1]: ", b.shape().to_string(),
                 adj_x || adj_y ? " (with adjoints)" : "");
  const Shape a_batch = batch_dims(a.shape()), b_batch = batch_dims(b.shape());
  const Shape out_batch = broadcast_shapes(a_batch, b_batch);
  Ints out_dims = out_batch.dims();
  out_dims.push_back(m);
  out_dims.push_back(n);
  Tensor& y = ctx.allocate_output(0, Shape(out_dims));
  const int64_t batches = out_batch.num_elements();
  if (y.num_elements() == 0) return;
  Ints a_off, b_off;
  batch_offsets(out_batch, a_batch, b_batch, a_off, b_off);
  const int64_t a_size = m * k, b_size = k * n, y_size = m * n;
  const int64_t lda = a.dim(-1), ldb = b.dim(-1);
  dispatch<float, double, int32_t, int64_t>(a.dtype(), "BatchMatMul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    if constexpr (std::is_floating_point_v<T>) {
      if (k == 0) {
        std::fill(yp, yp + y.num_elements(), T(0));
        return;
      }
      auto one = [&](int64_t i, ThreadPool* pool) {
        gemm::gemm<T>(adj_x, adj_y, m, n, k, T(1), ap + a_off[i] * a_size, lda, bp + b_off[i] * b_size,
                      ldb, T(0), yp + i * y_size, n, pool);
      };
      if (batches > 1 && m * n <= kSmallProduct / k) {
        parallel_range(ctx.pool(), batches, std::max<int64_t>(1, kElementwiseGrain / (m * n * k)),
                       [&](int64_t s, int64_t e) {
                         for (int64_t i = s; i < e; ++i) one(i, nullptr);
                       });
      } else {
        for (int64_t i = 0; i < batches; ++i) one(i, &ctx.pool());
      }
    } else {
      // Integers: a plain loop (no integer GEMM), wrapping on overflow as TF does.
      parallel_range(ctx.pool(), batches * m, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n * k)),
                     [&](int64_t s, int64_t e) {
                       for (int64_t row = s; row < e; ++row) {
                         const int64_t i = row / m, r = row % m;
                         const T* A = ap + a_off[i] * a_size;
                         const T* B = bp + b_off[i] * b_size;
                         T* Y = yp + i * y_size + r * n;
                         for (int64_t c = 0; c < n; ++c) {
                           T acc = 0;
                           for (int64_t p = 0; p < k; ++p) {
                             const T av = adj_x ? A[p * lda + r] : A[r * lda + p];
                             const T bv = adj_y ? B[c * ldb + p] : B[p * ldb + c];
                             acc = wrapping_add(acc, wrapping_mul(av, bv));
                           }
                           Y[c] = acc;
                         }
                       }
                     });
    }
  });
}

Grads batch_matmul_grad(const Scope& s, const Operation& op, const Grads& g) {
  const bool adj_x = op.node()->attr<bool>("adj_x"), adj_y = op.node()->attr<bool>("adj_y");
  const Output a = op.input(0), b = op.input(1), dy = g[0];
  auto bmm = [&](const Output& x, const Output& w, bool ax, bool ay) {
    return ops::batch_matmul(s, x, w, ax, ay);
  };
  // C = A B: dA = dC B^T, dB = A^T dC (and the adjoint variants of the same identity);
  // then summed over the batch dims that broadcasting stretched.
  Output da, db;
  if (!adj_x && !adj_y) {
    da = bmm(dy, b, false, true);
    db = bmm(a, dy, true, false);
  } else if (!adj_x && adj_y) {
    da = bmm(dy, b, false, false);
    db = bmm(dy, a, true, false);
  } else if (adj_x && !adj_y) {
    da = bmm(b, dy, false, true);
    db = bmm(a, dy, false, false);
  } else {
    da = bmm(b, dy, true, true);
    db = bmm(dy, a, true, true);
  }
  return {ops::sum_to_like(s, da, a), ops::sum_to_like(s, db, b)};
}

}  // namespace

void register_matrix_ops(OpRegistry& r) {
  r.op("BatchMatMul").input("x").input("y").output("output").attr("adj_x", false).attr("adj_y", false)
      .shape_fn(batch_matmul_shape).kernel(batch_matmul_kernel).gradient(batch_matmul_grad);
}

namespace ops {

Output batch_matmul(const Scope& s, const Output& a, const Output& b, bool adj_x, bool adj_y) {
  return NodeBuilder(s, "BatchMatMul").input(a).input(b).attr("adj_x", adj_x).attr("adj_y", adj_y)
      .finish().output(0);
}

}  // namespace ops
}  // namespace sluice
