// The integer element types int8, int16, uint16, uint32 and uint64: names and sizes, Tensor
// construction, access, equality and printing; the ops that take them, against references
// computed here in 128-bit arithmetic (wrapping, truncating division, saturating casts);
// the full cast matrix between every pair of fixed-size dtypes (Tensor::cast and the Cast
// op); and the build-time errors of ops that do not take them.
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

// ---- references, written independently of the kernels ----

// v modulo 2^bits of T, as two's complement when T is signed.
template <class T>
T wrap_ref(Int128 v) {
  constexpr int bits = 8 * sizeof(T);
  const Int128 m = Int128{1} << bits;
  Int128 r = ((v % m) + m) % m;
  if (std::is_signed_v<T> && r >= m / 2) r -= m;
  return static_cast<T>(r);
}

// The values each test runs through: the extremes, around zero, and a few in between.
template <class T>
std::vector<T> interesting() {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {L::min(), static_cast<T>(L::min() + 1), T(0), T(1), T(2), T(7),
                      static_cast<T>(L::max() / 3), static_cast<T>(L::max() - 1), L::max()};
  if constexpr (std::is_signed_v<T>) {
    v.push_back(T(-1));
    v.push_back(T(-7));
  }
  return v;
}

template <class T>
Tensor tensor_of(const std::vector<T>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}

Tensor run1(const std::function<Output(const Scope&)>& build) {
  Graph g;
  Scope s(g);
  Output y = build(s);
  Session sess(g);
  return sess.run({}, {y})[0];
}

// ---- DType and Tensor ----

TEST(DTypes, NamesSizesAndPredicates) {
  const std::vector<std::tuple<DType, const char*, size_t, bool>> want = {
      {DType::i8, "int8", 1, false},    {DType::i16, "int16", 2, false},
      {DType::u16, "uint16", 2, true},  {DType::u32, "uint32", 4, true},
      {DType::u64, "uint64", 8, true},  {DType::u8, "uint8", 1, true},
      {DType::i32, "int32", 4, false},  {DType::i64, "int64", 8, false}};
  for (const auto& [d, name, size, is_unsigned] : want) {
    EXPECT_STREQ(dtype_name(d), name);
    EXPECT_EQ(dtype_from_name(name), d);
    EXPECT_EQ(dtype_size(d), size) << name;
    EXPECT_EQ(dtype_storage_size(d), size) << name;
    EXPECT_TRUE(is_integer(d)) << name;
    EXPECT_FALSE(is_floating(d)) << name;
    EXPECT_EQ(is_unsigned_integer(d), is_unsigned) << name;
  }
  // Every enumerator has a distinct name that parses back.
  for (int i = 0; i < kNumDTypes; ++i) {
    ASSERT_TRUE(is_valid_dtype(i));
    EXPECT_EQ(dtype_from_name(dtype_name(static_cast<DType>(i))), static_cast<DType>(i));
  }
  EXPECT_FALSE(is_valid_dtype(kNumDTypes));
  EXPECT_FALSE(is_integer(DType::boolean));
  EXPECT_FALSE(is_integer(DType::string));
  EXPECT_EQ(dtype_v<int8_t>, DType::i8);
  EXPECT_EQ(dtype_v<uint64_t>, DType::u64);
}

TEST(DTypes, TensorConstructionAccessEqualityPrinting) {
  Tensor a = int8_t{-128};
  EXPECT_EQ(a.dtype(), DType::i8);
  EXPECT_EQ(a.scalar<int8_t>(), -128);
  EXPECT_EQ(Tensor(int16_t{-2}).dtype(), DType::i16);
  EXPECT_EQ(Tensor(uint16_t{65535}).dtype(), DType::u16);
  EXPECT_EQ(Tensor(uint32_t{7}).dtype(), DType::u32);
  EXPECT_EQ(Tensor(uint64_t{7}).dtype(), DType::u64);
  EXPECT_EQ(Tensor(int32_t{7}).dtype(), DType::i32);  // plain ints stay int32
  Tensor v = {uint64_t{0}, std::numeric_limits<uint64_t>::max()};
  EXPECT_EQ(v.dtype(), DType::u64);
  EXPECT_EQ(v.to_vector<uint64_t>()[1], 18446744073709551615ull);
  Tensor m = {{int16_t{1}, int16_t{-2}}, {int16_t{3}, int16_t{-32768}}};
  EXPECT_EQ(m.shape(), (Shape{2, 2}));
  EXPECT_EQ(m.at<int16_t>({1, 1}), -32768);
  EXPECT_THROW(m.data<uint16_t>(), InvalidArgument);  // same size, other dtype
  EXPECT_EQ(m.num_bytes(), 8u);
  // Exact printing: int8 as numbers (not characters), 64-bit values without rounding.
  EXPECT_EQ(Tensor({int8_t{-128}, int8_t{65}}).to_string(), "i8[2] [-128, 65]");
  EXPECT_EQ(v.to_string(), "u64[2] [0, 18446744073709551615]");
  EXPECT_EQ(Tensor(std::numeric_limits<int64_t>::max()).to_string(), "i64[] 9223372036854775807");
  EXPECT_EQ(Tensor::zeros(DType::u16, {3}).summary(), "u16[3]");
  EXPECT_EQ(Tensor::ones(DType::u32, {2}).to_vector<uint32_t>(), (std::vector<uint32_t>{1, 1}));
  // Equality: dtype, shape and bits.
  Tensor u = Tensor::from_vector<uint16_t>({1, 2}, {2});
  Tensor s = Tensor::from_vector<int16_t>({1, 2}, {2});
  EXPECT_TRUE(u.equals(u.clone()));
  EXPECT_FALSE(u.equals(s));
  Tensor u2 = u.clone();
  u2.data<uint16_t>()[1] = 3;
  EXPECT_FALSE(u.equals(u2));
  // Tensor::filled converts with the cast rules: saturating, NaN -> 0.
  EXPECT_EQ(Tensor::filled(DType::i8, {1}, 1000.0).scalar<int8_t>(), 127);
  EXPECT_EQ(Tensor::filled(DType::u32, {1}, -3.0).scalar<uint32_t>(), 0u);
  EXPECT_EQ(Tensor::filled(DType::u16, {1}, std::nan("")).scalar<uint16_t>(), 0);
}

// ---- ops, typed over every integer type ----

// The five new types, and the three older ones: sign-agnostic kernels (+ - * == and sums)
// run every signed type as its unsigned twin, int32 and int64 included.
template <class T>
class IntOps : public ::testing::Test {};
using IntTypes = ::testing::Types<int8_t, int16_t, uint16_t, uint32_t, uint64_t, uint8_t, int32_t, int64_t>;
TYPED_TEST_SUITE(IntOps, IntTypes);

// Every binary op over all pairs of interesting values: a [n,1] op b [1,n] broadcasts to
// [n,n] with element (i, j) = a[i] op b[j].
template <class T, class R>
void check_binary(const char* what, Output (*op)(const Scope&, const Output&, const Output&),
                  const std::function<R(T, T)>& ref, bool nonzero_b = false) {
  const std::vector<T> a = interesting<T>();
  std::vector<T> b = a;
  if (nonzero_b) b.erase(std::remove(b.begin(), b.end(), T(0)), b.end());
  const int64_t n = static_cast<int64_t>(a.size()), k = static_cast<int64_t>(b.size());
  const Tensor y = run1([&](const Scope& s) {
    return op(s, ops::constant(s, tensor_of(a, {n, 1})), ops::constant(s, tensor_of(b, {1, k})));
  });
  ASSERT_EQ(y.shape(), (Shape{n, k})) << what;
  ASSERT_EQ(y.dtype(), dtype_v<R>) << what;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      EXPECT_EQ(y.data<R>()[i * k + j], ref(a[i], b[j]))
          << what << "(" << +a[i] << ", " << +b[j] << ") for " << dtype_name(dtype_v<T>);
}

TYPED_TEST(IntOps, ArithmeticWrapsAndDivisionTruncates) {
  using T = TypeParam;
  check_binary<T, T>("add", ops::add, [](T a, T b) { return wrap_ref<T>(Int128(a) + Int128(b)); });
  check_binary<T, T>("sub", ops::sub, [](T a, T b) { return wrap_ref<T>(Int128(a) - Int128(b)); });
  // The product in unsigned 128-bit arithmetic (uint64 * uint64 overflows a signed __int128);
  // only its low bits matter to the wrapped result.
  check_binary<T, T>("mul", ops::mul, [](T a, T b) {
    using U128 = unsigned __int128;
    return wrap_ref<T>(static_cast<Int128>(static_cast<U128>(Int128(a)) * static_cast<U128>(Int128(b))));
  });
  // C++ (and TensorFlow) integer division truncates toward zero; min / -1 wraps to min.
  check_binary<T, T>("div", ops::div, [](T a, T b) { return wrap_ref<T>(Int128(a) / Int128(b)); }, true);
  check_binary<T, T>("maximum", ops::maximum, [](T a, T b) { return a > b ? a : b; });
  check_binary<T, T>("minimum", ops::minimum, [](T a, T b) { return a < b ? a : b; });
  std::string m = error_of<InvalidArgument>([] {
    run1([](const Scope& s) {
      return ops::div(s, ops::constant(s, Tensor::filled(dtype_v<T>, {2}, 5)),
                      ops::constant(s, Tensor::zeros(dtype_v<T>, {2})));
    });
  });
  EXPECT_TRUE(contains(m, "Integer division by zero")) << m;
}

TYPED_TEST(IntOps, Comparisons) {
  using T = TypeParam;
  check_binary<T, bool>("equal", ops::equal, [](T a, T b) { return a == b; });
  check_binary<T, bool>("not_equal", ops::not_equal, [](T a, T b) { return a != b; });
  check_binary<T, bool>("less", ops::less, [](T a, T b) { return a < b; });
  check_binary<T, bool>("less_equal", ops::less_equal, [](T a, T b) { return a <= b; });
  check_binary<T, bool>("greater", ops::greater, [](T a, T b) { return a > b; });
  check_binary<T, bool>("greater_equal", ops::greater_equal, [](T a, T b) { return a >= b; });
}

TYPED_TEST(IntOps, UnaryOps) {
  using T = TypeParam;
  const std::vector<T> x = interesting<T>();
  const Tensor xt = tensor_of(x, {static_cast<int64_t>(x.size())});
  auto run_unary = [&](Output (*op)(const Scope&, const Output&)) {
    return run1([&](const Scope& s) { return op(s, ops::constant(s, xt)); });
  };
  const Tensor neg = run_unary(ops::neg), abs = run_unary(ops::abs), sign = run_unary(ops::sign),
               sq = run_unary(ops::square);
  for (size_t i = 0; i < x.size(); ++i) {
    const Int128 v = x[i];
    EXPECT_EQ(neg.data<T>()[i], wrap_ref<T>(-v)) << +x[i];
    EXPECT_EQ(abs.data<T>()[i], wrap_ref<T>(v < 0 ? -v : v)) << +x[i];  // |min| wraps to min
    EXPECT_EQ(sign.data<T>()[i], wrap_ref<T>(v > 0 ? 1 : v < 0 ? -1 : 0)) << +x[i];
    const unsigned __int128 u = static_cast<unsigned __int128>(v);  // no signed overflow
    EXPECT_EQ(sq.data<T>()[i], wrap_ref<T>(static_cast<Int128>(u * u))) << +x[i];
  }
}

TYPED_TEST(IntOps, ReductionsAndArgMax) {
  using T = TypeParam;
  std::vector<T> x = interesting<T>();
  x.resize(9);
  const Tensor xt = tensor_of(x, {3, 3});
  auto reduce = [&](Output (*op)(const Scope&, const Output&, const std::vector<int64_t>&, bool),
                    std::vector<int64_t> axes) {
    return run1([&](const Scope& s) { return op(s, ops::constant(s, xt), axes, false); });
  };
  const Tensor sum0 = reduce(ops::sum, {0}), max1 = reduce(ops::max, {1}), min1 = reduce(ops::min, {1}),
               mean1 = reduce(ops::mean, {1}), sum_all = reduce(ops::sum, {});
  Int128 total = 0;
  for (int r = 0; r < 3; ++r) {
    Int128 col = 0, row = 0;
    T mx = x[r * 3], mn = x[r * 3];
    for (int k = 0; k < 3; ++k) {
      col += x[k * 3 + r];
      row += x[r * 3 + k];
      mx = std::max(mx, x[r * 3 + k]);
      mn = std::min(mn, x[r * 3 + k]);
      total += x[r * 3 + k];
    }
    EXPECT_EQ(sum0.data<T>()[r], wrap_ref<T>(col));
    EXPECT_EQ(max1.data<T>()[r], mx);
    EXPECT_EQ(min1.data<T>()[r], mn);
    // TensorFlow's integer mean: the (wrapped) sum in T, divided by the count, truncated.
    EXPECT_EQ(mean1.data<T>()[r], wrap_ref<T>(Int128(wrap_ref<T>(row)) / 3));
  }
  EXPECT_EQ(sum_all.scalar<T>(), wrap_ref<T>(total));
  const Tensor am = run1([&](const Scope& s) { return ops::argmax(s, ops::constant(s, xt), 1); });
  const Tensor an = run1([&](const Scope& s) { return ops::argmin(s, ops::constant(s, xt), 0); });
  for (int r = 0; r < 3; ++r) {
    int64_t best = 0, low = 0;
    for (int k = 1; k < 3; ++k) {
      if (x[r * 3 + k] > x[r * 3 + best]) best = k;
      if (x[k * 3 + r] < x[low * 3 + r]) low = k;
    }
    EXPECT_EQ(am.data<int64_t>()[r], best);
    EXPECT_EQ(an.data<int64_t>()[r], low);
  }
  // A mean over more elements than T can count divides by the true count: 128 elements of
  // int8 -1 sum to -128 (no wrap) and average -1 (a count cast to int8 would be -128).
  const bool is_signed = std::is_signed_v<T>;
  const Tensor many = Tensor::filled(dtype_v<T>, {is_signed ? 128 : 200}, is_signed ? -1.0 : 1.0);
  const Tensor mean_many = run1([&](const Scope& s) { return ops::mean(s, ops::constant(s, many)); });
  EXPECT_EQ(mean_many.scalar<T>(), is_signed ? T(-1) : T(1));
}

TYPED_TEST(IntOps, DataMovement) {
  using T = TypeParam;
  const T mx = std::numeric_limits<T>::max();
  const Tensor m = tensor_of<T>({1, 2, 3, 4, 5, mx}, {2, 3});
  auto vals = [](const Tensor& t) { return t.to_vector<T>(); };
  using V = std::vector<T>;
  EXPECT_EQ(vals(run1([&](const Scope& s) { return ops::identity(s, ops::constant(s, m)); })), (V{1, 2, 3, 4, 5, mx}));
  EXPECT_EQ(vals(run1([&](const Scope& s) { return ops::transpose(s, ops::constant(s, m)); })), (V{1, 4, 2, 5, 3, mx}));
  const Tensor r = run1([&](const Scope& s) { return ops::reshape(s, ops::constant(s, m), {3, -1}); });
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(vals(run1([&](const Scope& s) {
              return ops::concat(s, {ops::constant(s, m), ops::constant(s, m)}, 1);
            })),
            (V{1, 2, 3, 1, 2, 3, 4, 5, mx, 4, 5, mx}));
  Graph g;
  Scope s(g);
  const std::vector<Output> parts = ops::split(s, ops::constant(s, m), 3, 1);
  Session sess(g);
  const std::vector<Tensor> p = sess.run({}, {parts[0], parts[2]});
  EXPECT_EQ(vals(p[0]), (V{1, 4}));
  EXPECT_EQ(vals(p[1]), (V{3, mx}));
  EXPECT_EQ(vals(run1([&](const Scope& s) { return ops::slice(s, ops::constant(s, m), {0, 1}, {2, 2}); })),
            (V{2, 3, 5, mx}));
  EXPECT_EQ(vals(run1([&](const Scope& s) {
              return ops::gather(s, ops::constant(s, m), ops::constant(s, Tensor{2, 2, 0}), 1);
            })),
            (V{3, 3, 1, mx, mx, 4}));
  const Tensor e = run1([&](const Scope& s) { return ops::expand_dims(s, ops::constant(s, m), 1); });
  EXPECT_EQ(e.shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(run1([&](const Scope& s) { return ops::squeeze(s, ops::constant(s, e.reshaped({1, 2, 3}))); }).shape(),
            (Shape{2, 3}));
  const Tensor shp = run1([&](const Scope& s) { return ops::shape(s, ops::constant(s, m)); });
  EXPECT_EQ(shp.to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
  const Tensor sz = run1([&](const Scope& s) { return ops::size(s, ops::constant(s, m)); });
  EXPECT_EQ(sz.scalar<int64_t>(), 6);
  EXPECT_EQ(vals(run1([&](const Scope& s) { return ops::zeros_like(s, ops::constant(s, m)); })), V(6, 0));
  EXPECT_EQ(vals(run1([&](const Scope& s) { return ops::ones_like(s, ops::constant(s, m)); })), V(6, 1));
  EXPECT_EQ(vals(run1([&](const Scope& s) { return ops::fill(s, dtype_v<T>, {2}, static_cast<double>(T(100))); })),
            (V{100, 100}));
  const Tensor cond = {true, false, true};
  EXPECT_EQ(vals(run1([&](const Scope& s) {
              return ops::select(s, ops::constant(s, cond), ops::constant(s, m),
                                 ops::constant(s, Tensor::zeros(dtype_v<T>, {1, 3})));
            })),
            (V{1, 0, 3, 4, 0, mx}));
  EXPECT_EQ(vals(run1([&](const Scope& s) {
              return ops::add_n(s, {ops::constant(s, m), ops::constant(s, m)});
            })),
            (V{2, 4, 6, 8, 10, wrap_ref<T>(Int128(mx) * 2)}));
}

TYPED_TEST(IntOps, VariablesAssignAdd) {
  using T = TypeParam;
  Graph g;
  Scope s(g);
  const T mx = std::numeric_limits<T>::max();
  Output v = ops::variable(s.named("v"), Shape{2}, dtype_v<T>);
  Output init = ops::assign(s, v, ops::constant(s, tensor_of<T>({mx, 1}, {2})));
  Output add = ops::assign_add(s, v, ops::constant(s, tensor_of<T>({1, 2}, {2})));
  Session sess(g);
  sess.run({}, {}, {init.op()});
  sess.run({}, {}, {add.op()});
  EXPECT_EQ(sess.variable_value("v").to_vector<T>(), (std::vector<T>{std::numeric_limits<T>::min(), 3}));
}

TEST(DTypes, BoolEquality) {
  const Tensor a = Tensor{{true}, {false}};
  const Tensor b = Tensor{true, false, true};
  const Tensor eq = run1([&](const Scope& s) { return ops::equal(s, ops::constant(s, a), ops::constant(s, b)); });
  EXPECT_EQ(eq.to_vector<bool>(), (std::vector<bool>{true, false, true, false, true, false}));
  const Tensor ne = run1([&](const Scope& s) { return ops::not_equal(s, ops::constant(s, a), ops::constant(s, b)); });
  EXPECT_EQ(ne.to_vector<bool>(), (std::vector<bool>{false, true, false, true, false, true}));
}

TEST(DTypes, FillValuesMustBeRepresentable) {
  Graph g;
  Scope s(g);
  std::string m = error_of<InvalidArgument>([&] { ops::fill(s.named("f"), DType::i8, {2}, 200); });
  EXPECT_TRUE(contains(m, "node 'f' (Fill)")) << m;
  EXPECT_TRUE(contains(m, "not representable as int8")) << m;
  EXPECT_THROW(ops::fill(s, DType::u16, {2}, -1), InvalidArgument);
  EXPECT_THROW(ops::fill(s, DType::u64, {2}, 18446744073709551616.0), InvalidArgument);  // 2^64
  EXPECT_THROW(ops::one_hot(s, ops::constant(s, Tensor{1}), 3, 300, 0, DType::u8), InvalidArgument);
  // The largest double below 2^64 is fine.
  Output ok = ops::fill(s, DType::u64, {1}, 18446744073709549568.0);
  Session sess(g);
  EXPECT_EQ(sess.run({}, {ok})[0].scalar<uint64_t>(), 18446744073709549568ull);
}

TEST(DTypes, FloatOnlyOpsRefuseIntegersWhenTheGraphIsBuilt) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::i8, {2, 2});
  std::string m = error_of<InvalidArgument>([&] { ops::exp(s.named("e"), x); });
  EXPECT_TRUE(contains(m, "node 'e' (Exp)")) << m;
  EXPECT_TRUE(contains(m, "int8")) << m;
  EXPECT_THROW(ops::matmul(s, x, x), InvalidArgument);
  EXPECT_THROW(ops::relu(s, x), InvalidArgument);
  EXPECT_THROW(ops::add(s, x, ops::placeholder(s, DType::u8, {2, 2})), InvalidArgument);
  // Bool has no order (but has equality, compared as bytes).
  Output b = ops::placeholder(s, DType::boolean, {2});
  m = error_of<InvalidArgument>([&] { ops::less(s.named("lt"), b, b); });
  EXPECT_TRUE(contains(m, "node 'lt' (Less)")) << m;
  // Nor arithmetic.
  EXPECT_THROW(ops::add_n(s, {b, b}), InvalidArgument);
  EXPECT_THROW(ops::sum(s, b), InvalidArgument);
  EXPECT_THROW(ops::assign_add(s, ops::variable(s.named("bv"), Shape{2}, DType::boolean), b), InvalidArgument);
}

// ---- casts: every pair of fixed-size dtypes ----

std::vector<DType> fixed_dtypes() {
  std::vector<DType> r;
  for (int i = 0; i < kNumDTypes; ++i)
    if (static_cast<DType>(i) != DType::string) r.push_back(static_cast<DType>(i));
  return r;
}

// Source values for a dtype, as long double (exact for every integer type here).
std::vector<long double> cast_sources(DType d) {
  if (d == DType::boolean) return {0, 1};
  if (is_floating(d)) {
    const long double inf = std::numeric_limits<long double>::infinity();
    return {0.0L, -0.0L, 0.5L, -0.5L, 1.9L, -1.9L, 127.5L, 128.0L, -128.5L, -129.0L, 255.9L, 256.0L,
            65535.5L, 65536.0L, -32768.9L, 2147483647.0L, 4294967295.0L, 4294967296.0L, 1e19L, -1e19L,
            9.3e18L, 1.9e19L, 1e30L, -1e30L, inf, -inf, std::numeric_limits<long double>::quiet_NaN()};
  }
  std::vector<long double> v;
  dispatch<SLUICE_REAL_TYPES>(d, "cast_sources", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>)
      for (T x : interesting<T>()) v.push_back(static_cast<long double>(x));
  });
  return v;
}

// The documented conversion of `v` (a value of `from`) to `to`, as the bits of a `to`
// element, computed without the library's code.
template <class To>
To cast_ref(long double v, DType from) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != 0 || std::isnan(v);
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(v);
  } else {
    if (is_floating(from)) {
      if (std::isnan(v)) return To(0);
      const long double t = std::trunc(v);
      if (t <= static_cast<long double>(std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
      if (t >= static_cast<long double>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
      return static_cast<To>(t);
    }
    return wrap_ref<To>(static_cast<Int128>(v));
  }
}

TEST(DTypes, CastMatrixMatchesTheDocumentedRules) {
  for (DType from : fixed_dtypes()) {
    const std::vector<long double> src = cast_sources(from);
    // The source values in a `from` tensor (float32 gets the float-rounded value).
    Tensor x(from, Shape{static_cast<int64_t>(src.size())});
    std::vector<long double> exact(src.size());
    dispatch<SLUICE_ALL_TYPES>(from, "test", [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (size_t i = 0; i < src.size(); ++i) {
        x.data<T>()[i] = static_cast<T>(src[i]);
        exact[i] = static_cast<long double>(x.data<T>()[i]);
      }
    });
    for (DType to : fixed_dtypes()) {
      const Tensor by_tensor = x.cast(to);
      const Tensor by_op = run1([&](const Scope& s) { return ops::cast(s, ops::constant(s, x), to); });
      ASSERT_EQ(by_op.dtype(), to);
      dispatch<SLUICE_ALL_TYPES>(to, "test", [&](auto tag) {
        using To = typename decltype(tag)::type;
        for (size_t i = 0; i < src.size(); ++i) {
          const To want = cast_ref<To>(exact[i], from);
          const To got = by_op.data<To>()[i];
          if constexpr (std::is_floating_point_v<To>) {
            if (std::isnan(want)) {
              EXPECT_TRUE(std::isnan(got));
              continue;
            }
          }
          EXPECT_EQ(got, want) << dtype_name(from) << " " << static_cast<double>(exact[i]) << " -> "
                               << dtype_name(to);
          EXPECT_EQ(by_tensor.data<To>()[i], got) << "Tensor::cast and the Cast op differ";
        }
      });
    }
  }
}

TEST(DTypes, CastSpotChecksByHand) {
  auto cast = [](const Tensor& x, DType to) { return x.cast(to); };
  EXPECT_EQ(cast(Tensor({-1.5f, 1.9f, -0.9f}), DType::i8).to_vector<int8_t>(), (std::vector<int8_t>{-1, 1, 0}));
  EXPECT_EQ(cast(Tensor(300), DType::u8).scalar<uint8_t>(), 44);           // 300 mod 256
  EXPECT_EQ(cast(Tensor(-1), DType::u16).scalar<uint16_t>(), 65535);       // wraps
  EXPECT_EQ(cast(Tensor(uint64_t{0xFFFFFFFFFFFFFF80ull}), DType::i8).scalar<int8_t>(), -128);
  EXPECT_EQ(cast(Tensor(std::nanf("")), DType::i32).scalar<int32_t>(), 0);
  EXPECT_EQ(cast(Tensor(1e10f), DType::i32).scalar<int32_t>(), 2147483647);
  EXPECT_EQ(cast(Tensor(-5.0), DType::u32).scalar<uint32_t>(), 0u);
  EXPECT_EQ(cast(Tensor(1e30), DType::u64).scalar<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(cast(Tensor(uint64_t{18446744073709551615ull}), DType::f64).scalar<double>(), 18446744073709551616.0);
  EXPECT_EQ(cast(Tensor(int16_t{-7}), DType::boolean).scalar<bool>(), true);
  EXPECT_EQ(cast(Tensor(true), DType::u64).scalar<uint64_t>(), 1u);
}

}  // namespace
}  // namespace sluice
