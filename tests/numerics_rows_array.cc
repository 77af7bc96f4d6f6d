// NaN and Inf rows for the extended array families: layout (pad, tile, broadcast_to,
// depth/space), slicing (strided, ONNX, dynamic, reverse), indexing (gather/scatter, one-hot,
// non_zero), shape tensors (dynamic reshape/transpose/fill) and stack/unstack/split_v. Most
// move values without arithmetic, so NaN and +-inf come out unchanged; scatter reductions and
// the gradients that sum (tile, duplicate scatter indices) must keep NaN and give inf - inf =
// NaN.
#include <gtest/gtest.h>

#include "op_numerics.h"

namespace sluice::testing {
namespace {

const Tensor n6 = T({1, kNaN, 3, 4, kNaN, 6}, {2, 3});
const Tensor i6 = T({1, kInf, 3, 4, -kInf, 6}, {2, 3});
const std::vector<double> n6v = {1, kNaN, 3, 4, kNaN, 6}, i6v = {1, kInf, 3, 4, -kInf, 6};

Output ints(const Scope& s, std::initializer_list<int32_t> v) {
  return ops::constant(s, Tensor(v));
}
Output ints64(const Scope& s, std::initializer_list<int64_t> v) {
  return ops::constant(s, Tensor(v));
}
// gradients(y(x[0]), x[0], x[1]): a gradient op reached through gradients().
Build grad_of(std::function<Output(const Scope&, const Output&)> y) {
  return [y](const Scope& s, const X& x) { return gradients(s, {y(s, x[0])}, {x[0]}, {x[1]})[0]; };
}

std::vector<NumericsRow> layout_rows() {
  auto pad1 = [](const Scope& s, const Output& x) {  // one column of zeros on the left
    return ops::pad(s, x,
                    ops::constant(s, Tensor({{int32_t{0}, int32_t{0}}, {int32_t{1}, int32_t{0}}})));
  };
  return join({
      rows("BroadcastTo", {T({kNaN, 1}, {2, 1})}, {kNaN, kNaN, 1, 1}, {T({kInf, -kInf}, {2, 1})},
           {kInf, kInf, -kInf, -kInf},
           [](const Scope& s, const X& x) {
             return ops::broadcast_to(s, x[0], ints(s, {2, 2}));
           }),
      // [1,1,1,4] <-> [1,2,2,1] with one channel: the flat order is unchanged.
      rows("DepthToSpace", {T({1, kNaN, 3, kNaN}, {1, 1, 1, 4})}, {1, kNaN, 3, kNaN},
           {T({kInf, 1, -kInf, 2}, {1, 1, 1, 4})}, {kInf, 1, -kInf, 2},
           [](const Scope& s, const X& x) { return ops::depth_to_space(s, x[0], 2); }),
      rows("SpaceToDepth", {T({1, kNaN, 3, kNaN}, {1, 2, 2, 1})}, {1, kNaN, 3, kNaN},
           {T({kInf, 1, -kInf, 2}, {1, 2, 2, 1})}, {kInf, 1, -kInf, 2},
           [](const Scope& s, const X& x) { return ops::space_to_depth(s, x[0], 2); }),
      rows("Pad", {n6}, {0, 1, kNaN, 3, 0, 4, kNaN, 6}, {i6}, {0, 1, kInf, 3, 0, 4, -kInf, 6},
           [pad1](const Scope& s, const X& x) { return pad1(s, x[0]); }),
      // A NaN (or inf) pad value fills the border.
      rows("Pad", {n6, T({kNaN}, {})}, {kNaN, 1, kNaN, 3, kNaN, 4, kNaN, 6}, {n6, T({-kInf}, {})},
           {-kInf, 1, kNaN, 3, -kInf, 4, kNaN, 6},
           [](const Scope& s, const X& x) {
             const Output p =
                 ops::constant(s, Tensor({{int32_t{0}, int32_t{0}}, {int32_t{1}, int32_t{0}}}));
             return ops::pad(s, x[0], p, "constant", x[1]);
           }),
      rows("Pad", {n6}, {kNaN, 1, kNaN, 3, kNaN, kNaN, 4, kNaN, 6, kNaN}, {i6},
           {kInf, 1, kInf, 3, kInf, -kInf, 4, -kInf, 6, -kInf},
           [](const Scope& s, const X& x) {
             const Output p =
                 ops::constant(s, Tensor({{int32_t{0}, int32_t{0}}, {int32_t{1}, int32_t{1}}}));
             return ops::pad(s, x[0], p, "reflect");
           }),
      // The gradient of pad slices the padding off.
      rows("PadGrad", {n6, T({9, kNaN, 1, 2, 9, 3, kNaN, 4}, {2, 4})}, {kNaN, 1, 2, 3, kNaN, 4},
           {n6, T({9, kInf, 1, 2, 9, 3, -kInf, 4}, {2, 4})}, {kInf, 1, 2, 3, -kInf, 4},
           grad_of(pad1)),
      rows("Tile", {T({kNaN, 1}, {1, 2})}, {kNaN, 1, kNaN, 1}, {T({kInf, -kInf}, {1, 2})},
           {kInf, -kInf, kInf, -kInf},
           [](const Scope& s, const X& x) {
             return ops::tile(s, x[0], ints(s, {2, 1}));
           }),
      // The gradient of tile sums the copies: NaN + x = NaN, inf + -inf = NaN.
      rows("TileGrad", {T({1, 1}, {1, 2}), T({kNaN, 1, 2, 3}, {2, 2})}, {kNaN, 4},
           {T({1, 1}, {1, 2}), T({kInf, -kInf, -kInf, 1}, {2, 2})}, {kNaN, -kInf},
           grad_of([](const Scope& s, const Output& x) {
             return ops::tile(s, x, ints(s, {2, 1}));
           })),
  });
}

std::vector<NumericsRow> slice_rows() {
  auto dyn_slice = [](const Scope& s, const Output& x) {
    return ops::slice(s, x, ints(s, {0, 1}), ints(s, {2, -1}));
  };
  auto strided = [](const Scope& s, const Output& x) {
    return ops::strided_slice(s, x, ints(s, {0, 1}), ints(s, {2, 3}), ints(s, {1, 1}));
  };
  auto onnx = [](const Scope& s, const Output& x) {
    return ops::slice_onnx(s, x, ints64(s, {1}), ints64(s, {3}), ints64(s, {1}));
  };
  // Slices keeping columns 1-2; their gradients put dy there, zeros in column 0.
  const Tensor dy = T({kNaN, 2, 3, kNaN}, {2, 2}), dyi = T({kInf, 2, 3, -kInf}, {2, 2});
  const std::vector<double> dx = {0, kNaN, 2, 0, 3, kNaN}, dxi = {0, kInf, 2, 0, 3, -kInf};
  return join({
      rows("DynamicSlice", {n6}, {kNaN, 3, kNaN, 6}, {i6}, {kInf, 3, -kInf, 6},
           [dyn_slice](const Scope& s, const X& x) { return dyn_slice(s, x[0]); }),
      rows("DynamicSliceGrad", {n6, dy}, dx, {n6, dyi}, dxi, grad_of(dyn_slice)),
      rows("StridedSlice", {n6}, {kNaN, 3, kNaN, 6}, {i6}, {kInf, 3, -kInf, 6},
           [strided](const Scope& s, const X& x) { return strided(s, x[0]); }),
      rows("StridedSlice", {n6}, {3, kNaN, 6, kNaN}, {i6}, {3, kInf, 6, -kInf},
           [](const Scope& s, const X& x) {
             return ops::strided_slice(s, x[0], ints(s, {0, 2}), ints(s, {2, 0}), ints(s, {1, -1}));
           }),
      rows("StridedSliceGrad", {n6, dy}, dx, {n6, dyi}, dxi, grad_of(strided)),
      rows("SliceOnnx", {n6}, {kNaN, 3, kNaN, 6}, {i6}, {kInf, 3, -kInf, 6},
           [onnx](const Scope& s, const X& x) { return onnx(s, x[0]); }),
      rows("SliceOnnxGrad", {n6, dy}, dx, {n6, dyi}, dxi, grad_of(onnx)),
      rows("Reverse", {n6}, {3, kNaN, 1, 6, kNaN, 4}, {i6}, {3, kInf, 1, 6, -kInf, 4},
           [](const Scope& s, const X& x) { return ops::reverse(s, x[0], {1}); }),
  });
}

// Scatter rows for TensorScatterNd and ScatterElements: data [4], updates [2] written at
// {0, 2}. max/min keep NaN from either side (as TF's and NumPy's maximum), add/mul are IEEE.
std::vector<NumericsRow> scatter_rows(const std::string& op, const std::string& reduction) {
  Build b = [op, reduction](const Scope& s, const X& x) {
    if (op == "TensorScatterNd") {
      const Output idx = ops::constant(s, Tensor({{int32_t{0}}, {int32_t{2}}}));
      return ops::tensor_scatter_nd(s, x[0], idx, x[1], reduction);
    }
    return ops::scatter_elements(s, x[0], ints64(s, {0, 2}), x[1], 0, reduction);
  };
  const Tensor d = T({kNaN, 1, 2, 3}, {4}), u = T({5, kNaN}, {2});
  if (reduction == "none") {
    return rows(op, {d, u}, {5, 1, kNaN, 3}, {T({kInf, 1, -kInf, 3}, {4}), T({-kInf, 2}, {2})},
                {-kInf, 1, 2, 3}, b);
  }
  if (reduction == "max") {
    return rows(op, {d, u}, {kNaN, 1, kNaN, 3}, {T({-kInf, 1, 2, 3}, {4}), T({-kInf, kInf}, {2})},
                {-kInf, 1, kInf, 3}, b);
  }
  if (reduction == "min") {
    return rows(op, {d, T({-5, kNaN}, {2})}, {kNaN, 1, kNaN, 3},
                {T({kInf, 1, 2, 3}, {4}), T({kInf, -kInf}, {2})}, {kInf, 1, -kInf, 3}, b);
  }
  if (reduction == "add") {
    return rows(op, {d, u}, {kNaN, 1, kNaN, 3}, {T({kInf, 1, 2, 3}, {4}), T({-kInf, kInf}, {2})},
                {kNaN, 1, kInf, 3}, b);
  }
  return rows(op, {d, u}, {kNaN, 1, kNaN, 3}, {T({kInf, 1, 2, 3}, {4}), T({0, -kInf}, {2})},
              {kNaN, 1, -kInf, 3}, b);  // mul
}

std::vector<NumericsRow> index_rows() {
  std::vector<NumericsRow> scatters;
  for (const char* op : {"TensorScatterNd", "ScatterElements"}) {
    for (const char* r : {"none", "add", "mul", "max", "min"}) {
      for (NumericsRow& row : scatter_rows(op, r)) scatters.push_back(row);
    }
  }
  auto one_hot = [](const Scope& s, const Output& idx, const Output& on, const Output& off) {
    return ops::one_hot(s, idx, ops::constant(s, Tensor(int32_t{3})), on, off);
  };
  return join({
      scatters,
      rows("GatherNd", {n6}, {kNaN, 1, kNaN}, {i6}, {-kInf, 1, kInf},
           [](const Scope& s, const X& x) {
             const Output idx = ops::constant(s, Tensor({{int32_t{1}, int32_t{1}},
                                                         {int32_t{0}, int32_t{0}},
                                                         {int32_t{0}, int32_t{1}}}));
             return ops::gather_nd(s, x[0], idx);
           }),
      rows("GatherElements", {n6}, {kNaN, 1, 6, kNaN}, {i6}, {kInf, 1, 6, -kInf},
           [](const Scope& s, const X& x) {
             const Output idx =
                 ops::constant(s, Tensor({{int64_t{1}, int64_t{0}}, {int64_t{2}, int64_t{1}}}));
             return ops::gather_elements(s, x[0], idx, 1);
           }),
      // Duplicate indices are summed (TF scatter_nd): NaN + 2 = NaN, inf + -inf = NaN.
      rows(
          "ScatterNd", {T({kNaN, 1, 2}, {3})}, {1, kNaN}, {T({kInf, -kInf, 2}, {3})}, {-kInf, kInf},
          [](const Scope& s, const X& x) {
            const Output idx = ops::constant(s, Tensor({{int32_t{1}}, {int32_t{0}}, {int32_t{1}}}));
            return ops::scatter_nd(s, idx, x[0], ints(s, {2}));
          }),
      // NaN is nonzero (as NumPy's bool(nan)), so are +-inf: [1, nnz] int64 indices.
      rows("NonZero", {T({0, kNaN, 1, 0}, {4})}, {1, 2}, {T({kInf, 0, -kInf, 0}, {4})}, {0, 2},
           [](const Scope& s, const X& x) { return ops::non_zero(s, x[0]); }),
      // on/off values pass through; indices {0, 2} of depth 3.
      rows("DynamicOneHot", {T({kNaN}, {}), T({0}, {})}, {kNaN, 0, 0, 0, 0, kNaN},
           {T({kInf}, {}), T({-kInf}, {})}, {kInf, -kInf, -kInf, -kInf, -kInf, kInf},
           [one_hot](const Scope& s, const X& x) {
             return one_hot(s, ints(s, {0, 2}), x[0], x[1]);
           }),
      // Float indices (ONNX OneHot): a NaN or +-inf index is in no class, so its row is all
      // off_value, as an out-of-range index (documented in ops/index_ops.h).
      rows("DynamicOneHot", {T({kNaN, 1}, {2})}, {0, 0, 0, 0, 1, 0}, {T({kInf, -kInf}, {2})},
           {0, 0, 0, 0, 0, 0},
           [one_hot](const Scope& s, const X& x) {
             return one_hot(s, x[0], ops::scalar_like(s, x[0], 1.0),
                            ops::scalar_like(s, x[0], 0.0));
           }),
  });
}

std::vector<NumericsRow> shape_rows() {
  return join({
      rows("DynamicFill", {T({kNaN}, {})}, {kNaN, kNaN}, {T({-kInf}, {})}, {-kInf, -kInf},
           [](const Scope& s, const X& x) { return ops::fill(s, ints(s, {2}), x[0]); }),
      rows("DynamicReshape", {n6}, n6v, {i6}, i6v,
           [](const Scope& s, const X& x) {
             return ops::reshape(s, x[0], ints(s, {3, 2}));
           }),
      rows("DynamicTranspose", {n6}, {1, 4, kNaN, kNaN, 3, 6}, {i6}, {1, 4, kInf, -kInf, 3, 6},
           [](const Scope& s, const X& x) {
             return ops::transpose(s, x[0], ints(s, {1, 0}));
           }),
      exempt("InvertPermutation", "integer inputs only"),
      exempt("Range",
             "NaN or +-inf in start/limit/delta leaves the length undefined: an "
             "InvalidArgument (RangeRejectsNonFiniteArguments below)"),
      rows("Pack", {n6}, {1, kNaN, 3, 4, kNaN, 6, 1, kNaN, 3, 4, kNaN, 6}, {i6},
           {1, kInf, 3, 4, -kInf, 6, 1, kInf, 3, 4, -kInf, 6},
           [](const Scope& s, const X& x) {
             return ops::stack(s, {x[0], x[0]}, 0);
           }),
      rows("Unpack", {n6}, {4, kNaN, 6}, {i6}, {4, -kInf, 6},
           [](const Scope& s, const X& x) { return ops::unstack(s, x[0], 0)[1]; }),
      rows("SplitV", {n6}, {kNaN, 3, kNaN, 6}, {i6}, {kInf, 3, -kInf, 6},
           [](const Scope& s, const X& x) {
             return ops::split_v(s, x[0], {1, 2}, 1)[1];
           }),
  });
}

std::vector<NumericsRow> array_family_rows() {
  return join({layout_rows(), slice_rows(), index_rows(), shape_rows()});
}

const bool registered = register_numerics_rows(array_family_rows);

// Range's exemption: a non-finite start, limit or delta is an InvalidArgument, never a
// crash or an unbounded allocation.
TEST(OpNumericsRange, RangeRejectsNonFiniteArguments) {
  for (DType dt : {DType::f32, DType::f64}) {
    for (const std::array<double, 3>& a : std::vector<std::array<double, 3>>{
             {kNaN, 5, 1}, {0, kNaN, 1}, {0, 5, kNaN}, {0, kInf, 1}, {-kInf, 0, 1}}) {
      Graph g;
      Scope root(g);
      X xs;
      FeedList feeds;
      for (int i = 0; i < 3; ++i) {
        xs.push_back(ops::placeholder(root.named("x" + std::to_string(i)), dt, Shape{}));
        feeds.emplace_back(xs.back(), Tensor(a[static_cast<size_t>(i)]).cast(dt));
      }
      const Output r = ops::range(root.named("r"), xs[0], xs[1], xs[2]);
      Session sess(g, SessionOptions{1});
      EXPECT_THROW(sess.run(feeds, {r}), InvalidArgument)
          << dtype_name(dt) << " range(" << a[0] << ", " << a[1] << ", " << a[2] << ")";
    }
  }
}

}  // namespace
}  // namespace sluice::testing
