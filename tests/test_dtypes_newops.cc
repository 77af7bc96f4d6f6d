// The integer types int8, int16, uint16, uint32, uint64 and string tensors in the op families
// that came after them (math_binary, activation, math_unary, scan, sort, index, the tensor-axes
// reductions, stack/unstack/split_v, the dynamic shape ops): forward values against references
// computed here (128-bit arithmetic, wrapping), the NaN rules next to the unsigned ones, strings
// through the data-movement ops that take them, and build-time errors from the ones that don't.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>
#include <limits>

#include "test_util.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;
using Int128 = __int128;

template <class T>
T wrap_ref(Int128 v) {
  constexpr int bits = 8 * sizeof(T);
  const Int128 m = Int128{1} << bits;
  Int128 r = ((v % m) + m) % m;
  if (std::is_signed_v<T> && r >= m / 2) r -= m;
  return static_cast<T>(r);
}

Tensor run1(const std::function<Output(const Scope&)>& build) {
  Graph g;
  Scope s(g);
  Output y = build(s);
  Session sess(g);
  return sess.run({}, {y})[0];
}

template <class T>
Output c(const Scope& s, const std::vector<T>& v) {
  return ops::constant(s, Tensor::from_vector(v, {static_cast<int64_t>(v.size())}));
}

// Floor division and both modulos, TensorFlow's definitions, against Int128 references.
template <class T>
void check_division_family() {
  using L = std::numeric_limits<T>;
  std::vector<T> a, b;
  const std::vector<T> as = {L::min(), static_cast<T>(L::min() + 1), T(0), T(7), L::max()};
  std::vector<T> bs = {T(1), T(3), L::max()};
  if constexpr (std::is_signed_v<T>) bs.insert(bs.end(), {T(-1), T(-3), L::min()});
  for (T x : as)
    for (T y : bs) a.push_back(x), b.push_back(y);
  const Tensor fd = run1([&](const Scope& s) { return ops::floor_div(s, c(s, a), c(s, b)); });
  const Tensor fm = run1([&](const Scope& s) { return ops::floor_mod(s, c(s, a), c(s, b)); });
  const Tensor tm = run1([&](const Scope& s) { return ops::truncate_mod(s, c(s, a), c(s, b)); });
  ASSERT_EQ(fd.dtype(), dtype_v<T>);
  for (size_t i = 0; i < a.size(); ++i) {
    const Int128 x = a[i], y = b[i];
    Int128 q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) --q;  // floor
    EXPECT_EQ(fd.data<T>()[i], wrap_ref<T>(q)) << +a[i] << " // " << +b[i];
    EXPECT_EQ(fm.data<T>()[i], wrap_ref<T>(x - q * y)) << +a[i] << " % " << +b[i];
    EXPECT_EQ(tm.data<T>()[i], wrap_ref<T>(x % y)) << +a[i] << " fmod " << +b[i];
  }
  // An integer zero divisor is an error, not a trap.
  const std::string m = error_of<InvalidArgument>([&] {
    run1([&](const Scope& s) { return ops::floor_div(s, c<T>(s, {T(1)}), c<T>(s, {T(0)})); });
  });
  EXPECT_TRUE(contains(m, "division by zero")) << m;
}

TEST(DTypesNewOps, FloorDivFloorModTruncateMod) {
  check_division_family<int8_t>();
  check_division_family<int16_t>();
  check_division_family<uint16_t>();
  check_division_family<uint32_t>();
  check_division_family<uint64_t>();
}

TEST(DTypesNewOps, SquaredDifferenceWrapsAndClipByValue) {
  // (0 - 65535)^2 mod 2^16 = 1; 300^2 = 90000 mod 2^16 = 24464 (in uint16 the product would
  // overflow int if promoted).
  const Tensor sd = run1([](const Scope& s) {
    return ops::squared_difference(s, c<uint16_t>(s, {0, 300, 5}), c<uint16_t>(s, {65535, 0, 7}));
  });
  EXPECT_EQ(sd.to_vector<uint16_t>(), (std::vector<uint16_t>{1, 24464, 4}));
  const Tensor sd8 = run1([](const Scope& s) {
    return ops::squared_difference(s, c<int8_t>(s, {-128, 3}), c<int8_t>(s, {127, -4}));
  });
  EXPECT_EQ(sd8.to_vector<int8_t>(), (std::vector<int8_t>{wrap_ref<int8_t>(255 * 255), 49}));
  const Tensor cl = run1([](const Scope& s) {
    return ops::clip_by_value(s, c<int16_t>(s, {-32768, -5, 0, 9, 32767}),
                              ops::constant(s, Tensor(int16_t{-3})), ops::constant(s, Tensor(int16_t{8})));
  });
  EXPECT_EQ(cl.to_vector<int16_t>(), (std::vector<int16_t>{-3, -3, 0, 8, 8}));
  const Tensor cu = run1([](const Scope& s) {
    return ops::clip_by_value(s, c<uint64_t>(s, {0, 5, ~uint64_t{0}}),
                              ops::constant(s, Tensor(uint64_t{2})), ops::constant(s, Tensor(uint64_t{9})));
  });
  EXPECT_EQ(cu.to_vector<uint64_t>(), (std::vector<uint64_t>{2, 5, 9}));
}

TEST(DTypesNewOps, Relu6AndRoundOnIntegers) {
  EXPECT_EQ(run1([](const Scope& s) { return ops::relu6(s, c<int8_t>(s, {-128, -1, 0, 5, 6, 7, 127})); })
                .to_vector<int8_t>(),
            (std::vector<int8_t>{0, 0, 0, 5, 6, 6, 6}));
  EXPECT_EQ(run1([](const Scope& s) { return ops::relu6(s, c<uint32_t>(s, {0, 6, 4000000000u})); })
                .to_vector<uint32_t>(),
            (std::vector<uint32_t>{0, 6, 6}));
  EXPECT_EQ(run1([](const Scope& s) { return ops::round(s, c<int16_t>(s, {-32768, 3, 32767})); })
                .to_vector<int16_t>(),
            (std::vector<int16_t>{-32768, 3, 32767}));
}

TEST(DTypesNewOps, CumsumCumprodWrap) {
  const Tensor cs = run1([](const Scope& s) { return ops::cumsum(s, c<int8_t>(s, {100, 100, -56, 1}), 0); });
  EXPECT_EQ(cs.to_vector<int8_t>(), (std::vector<int8_t>{100, wrap_ref<int8_t>(200), wrap_ref<int8_t>(144), wrap_ref<int8_t>(145)}));
  const Tensor cp = run1([](const Scope& s) { return ops::cumprod(s, c<uint16_t>(s, {300, 300, 2}), 0); });
  EXPECT_EQ(cp.to_vector<uint16_t>(), (std::vector<uint16_t>{300, 24464, 48928}));
  const Tensor ce = run1([](const Scope& s) {
    return ops::cumsum(s, c<uint64_t>(s, {~uint64_t{0}, 2, 3}), 0, /*exclusive=*/true, /*reverse=*/true);
  });
  EXPECT_EQ(ce.to_vector<uint64_t>(), (std::vector<uint64_t>{5, 3, 0}));
}

TEST(DTypesNewOps, TopKAndNonZero) {
  Graph g;
  Scope s(g);
  const ops::TopK t = ops::top_k(s, c<int8_t>(s, {-128, 127, -1, 5}), 2);
  const ops::TopK u = ops::top_k(s, c<uint64_t>(s, {1, ~uint64_t{0}, 7}), 2, -1, /*largest=*/false);
  const Output nz = ops::non_zero(s, c<uint16_t>(s, {0, 65535, 0, 1}));
  Session sess(g);
  const auto r = sess.run({}, {t.values, t.indices, u.values, u.indices, nz});
  EXPECT_EQ(r[0].to_vector<int8_t>(), (std::vector<int8_t>{127, 5}));
  EXPECT_EQ(r[1].to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(r[2].to_vector<uint64_t>(), (std::vector<uint64_t>{1, 7}));
  EXPECT_EQ(r[3].to_vector<int64_t>(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(r[4].to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));
}

TEST(DTypesNewOps, TensorAxesReductions) {
  // 300 int8 elements: the mean divides by 300, which int8 cannot hold.
  std::vector<int8_t> v(300, 0);
  v[0] = 100;
  const auto axes = [](const Scope& s) { return ops::constant(s, Tensor::from_vector<int32_t>({0}, {1})); };
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_sum(s, c(s, v), axes(s)); }).scalar<int8_t>(), 100);
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_mean(s, c(s, v), axes(s)); }).scalar<int8_t>(), 0);
  const std::vector<int16_t> w = {-30000, -30000, 7};
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_sum(s, c(s, w), axes(s)); }).scalar<int16_t>(),
            wrap_ref<int16_t>(-59993));
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_mean(s, c(s, w), axes(s)); }).scalar<int16_t>(),
            static_cast<int16_t>(wrap_ref<int16_t>(-59993) / 3));
  const std::vector<uint16_t> p = {300, 300, 3};
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_prod(s, c(s, p), axes(s)); }).scalar<uint16_t>(),
            wrap_ref<uint16_t>(Int128{270000}));
  const std::vector<uint64_t> m = {5, ~uint64_t{0}, 0};
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_max(s, c(s, m), axes(s)); }).scalar<uint64_t>(),
            ~uint64_t{0});
  EXPECT_EQ(run1([&](const Scope& s) { return ops::reduce_min(s, c(s, m), axes(s)); }).scalar<uint64_t>(), 0u);
}

TEST(DTypesNewOps, ScatterNdAndOneHotIndices) {
  const auto idx = [](const Scope& s) { return ops::constant(s, Tensor::from_vector<int32_t>({1, 1, 0}, {3, 1})); };
  const Tensor sc = run1([&](const Scope& s) {
    return ops::scatter_nd(s, idx(s), c<int16_t>(s, {30000, 30000, -1}),
                           ops::constant(s, Tensor::from_vector<int64_t>({3}, {1})));
  });
  EXPECT_EQ(sc.to_vector<int16_t>(), (std::vector<int16_t>{-1, wrap_ref<int16_t>(60000), 0}));
  const Tensor mul = run1([&](const Scope& s) {
    return ops::tensor_scatter_nd(s, c<uint16_t>(s, {2, 300, 9}), idx(s), c<uint16_t>(s, {300, 2, 5}), "mul");
  });
  EXPECT_EQ(mul.to_vector<uint16_t>(), (std::vector<uint16_t>{10, wrap_ref<uint16_t>(Int128{180000}), 9}));
  const Tensor oh = run1([](const Scope& s) {
    return ops::one_hot(s, c<int8_t>(s, {2, -1, 0}), ops::constant(s, Tensor(int8_t{3})),
                        ops::constant(s, Tensor(uint32_t{7})), ops::constant(s, Tensor(uint32_t{1})));
  });
  EXPECT_EQ(oh.dtype(), DType::u32);
  EXPECT_EQ(oh.to_vector<uint32_t>(), (std::vector<uint32_t>{1, 1, 7, 1, 1, 1, 7, 1, 1}));
}

// Data movement moves elements of any fixed size: 2-byte and 8-byte ones here.
TEST(DTypesNewOps, DataMovementOfTheNewWidths) {
  Graph g;
  Scope s(g);
  const auto ints = [&](std::vector<int32_t> v, Shape shape) {
    return ops::constant(s, Tensor::from_vector<int32_t>(v, shape));
  };
  Output x = ops::constant(s, Tensor::from_vector<int16_t>({-32768, 1, 2, 32767}, {2, 2}));
  Output u = ops::constant(s, Tensor::from_vector<uint64_t>({~uint64_t{0}, 5}, {2}));
  Output tile = ops::tile(s, x, ints({1, 2}, {2}));
  Output pad = ops::pad(s, u, ints({1, 2}, {1, 2}), "constant", ops::constant(s, Tensor(uint64_t{9})));
  Output rev = ops::reverse(s, x, {0});
  Output ss = ops::strided_slice(s, x, ints({0, 1}, {2}), ints({2, 2}, {2}), ints({1, 1}, {2}));
  Output gnd = ops::gather_nd(s, x, ints({1, 0, 0, 1}, {2, 2}));
  Output bt = ops::broadcast_to(s, u, ints({2, 2}, {2}));
  Session sess(g);
  const auto r = sess.run({}, {tile, pad, rev, ss, gnd, bt});
  EXPECT_EQ(r[0].to_vector<int16_t>(), (std::vector<int16_t>{-32768, 1, -32768, 1, 2, 32767, 2, 32767}));
  EXPECT_EQ(r[1].to_vector<uint64_t>(), (std::vector<uint64_t>{9, ~uint64_t{0}, 5, 9, 9}));
  EXPECT_EQ(r[2].to_vector<int16_t>(), (std::vector<int16_t>{2, 32767, -32768, 1}));
  EXPECT_EQ(r[3].to_vector<int16_t>(), (std::vector<int16_t>{1, 32767}));
  EXPECT_EQ(r[4].to_vector<int16_t>(), (std::vector<int16_t>{2, 1}));
  EXPECT_EQ(r[5].to_vector<uint64_t>(), (std::vector<uint64_t>{~uint64_t{0}, 5, ~uint64_t{0}, 5}));
}

// main's NaN rules and the unsigned rules of the same kernels, side by side.
TEST(DTypesNewOps, NanRulesAndUnsignedRules) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor mx = run1([&](const Scope& s) { return ops::maximum(s, c<float>(s, {nan, 1, 2}), c<float>(s, {1, nan, 3})); });
  const Tensor mn = run1([&](const Scope& s) { return ops::minimum(s, c<float>(s, {nan, 1, 2}), c<float>(s, {1, nan, 3})); });
  EXPECT_TRUE(std::isnan(mx.data<float>()[0]) && std::isnan(mx.data<float>()[1]));
  EXPECT_TRUE(std::isnan(mn.data<float>()[0]) && std::isnan(mn.data<float>()[1]));
  EXPECT_EQ(mx.data<float>()[2], 3.0f);
  EXPECT_EQ(mn.data<float>()[2], 2.0f);
  const Tensor sg = run1([&](const Scope& s) { return ops::sign(s, c<float>(s, {nan, -2, 0, inf})); });
  EXPECT_TRUE(std::isnan(sg.data<float>()[0]));
  EXPECT_EQ(std::vector<float>(sg.data<float>() + 1, sg.data<float>() + 4), (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(run1([&](const Scope& s) { return ops::sqrt(s, c<float>(s, {inf, 4})); }).to_vector<float>(),
            (std::vector<float>{inf, 2}));
  EXPECT_EQ(run1([](const Scope& s) { return ops::sign(s, c<uint16_t>(s, {0, 1, 65535})); }).to_vector<uint16_t>(),
            (std::vector<uint16_t>{0, 1, 1}));
  EXPECT_EQ(run1([](const Scope& s) { return ops::sign(s, c<int8_t>(s, {-128, 0, 127})); }).to_vector<int8_t>(),
            (std::vector<int8_t>{-1, 0, 1}));
  EXPECT_EQ(run1([](const Scope& s) {
              return ops::maximum(s, c<uint32_t>(s, {0, 4000000000u}), c<uint32_t>(s, {1, 3}));
            }).to_vector<uint32_t>(),
            (std::vector<uint32_t>{1, 4000000000u}));
}

// ---- strings ----

Tensor strings(const std::vector<std::string>& v, const Shape& shape) { return Tensor::from_strings(v, shape); }

TEST(DTypesNewOps, StringsThroughStackUnstackSplitVAndDynamicShapeOps) {
  Graph g;
  Scope s(g);
  const std::string bin("\0\xff", 2);
  Output a = ops::constant(s, strings({"a", bin, "ccc"}, {3}));
  Output b = ops::constant(s, strings({"x", "", std::string(100, 'y')}, {3}));
  Output st = ops::stack(s, {a, b}, 1);  // [3, 2]
  std::vector<Output> un = ops::unstack(s, st, 0);
  std::vector<Output> sv = ops::split_v(s, a, {1, -1}, 0);
  Output tr = ops::transpose(s, st, ops::constant(s, Tensor::from_vector<int32_t>({1, 0}, {2})));
  Output rs = ops::reshape(s, st, ops::constant(s, Tensor::from_vector<int64_t>({-1}, {1})));
  Session sess(g);
  const auto r = sess.run({}, {st, un[2], sv[0], sv[1], tr, rs});
  EXPECT_EQ(r[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(r[0].strings(), (std::vector<std::string>{"a", "x", bin, "", "ccc", std::string(100, 'y')}));
  EXPECT_EQ(r[1].strings(), (std::vector<std::string>{"ccc", std::string(100, 'y')}));
  EXPECT_EQ(r[2].strings(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(r[3].strings(), (std::vector<std::string>{bin, "ccc"}));
  EXPECT_EQ(r[4].strings(), (std::vector<std::string>{"a", bin, "ccc", "x", "", std::string(100, 'y')}));
  EXPECT_EQ(r[5].strings(), r[0].strings());
  // The outputs own their strings: the fetched stack outlives the session and the inputs.
  EXPECT_EQ(r[0].string_at(5).size(), 100u);
}

TEST(DTypesNewOps, ByteCopyingOpsRefuseStringsWhenTheGraphIsBuilt) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::string, {2, 2});
  const auto ints = [&](std::vector<int32_t> v, Shape shape) {
    return ops::constant(s, Tensor::from_vector<int32_t>(v, shape));
  };
  const std::vector<std::pair<std::string, std::function<void()>>> refused = {
      {"Tile", [&] { ops::tile(s, x, ints({2, 1}, {2})); }},
      {"Pad", [&] { ops::pad(s, x, ints({1, 1, 0, 0}, {2, 2})); }},
      {"GatherNd", [&] { ops::gather_nd(s, x, ints({0, 1}, {1, 2})); }},
      {"StridedSlice", [&] { ops::strided_slice(s, x, ints({0}, {1}), ints({1}, {1}), ints({1}, {1})); }},
      {"DynamicFill", [&] { ops::fill(s, ints({2}, {1}), ops::constant(s, strings({"a"}, {}))); }},
      {"NonZero", [&] { ops::non_zero(s, x); }},
      {"FloorMod", [&] { ops::floor_mod(s, x, x); }},
      {"Cumsum", [&] { ops::cumsum(s, x, 0); }},
  };
  for (const auto& [op, build] : refused) {
    const std::string m = error_of<InvalidArgument>(build);
    EXPECT_TRUE(contains(m, "(" + op + ")") && contains(m, "does not support dtype string")) << op << ": " << m;
  }
}

}  // namespace
}  // namespace sluice
