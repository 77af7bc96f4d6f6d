// String tensors (DType::string): the Tensor API, element lifetime (run under ASan in CI:
// no leak, double free or use after free), the size limit, the ops that take strings run
// through a Session on arbitrary bytes, string variables, and the graph-build-time error
// of every op that does not take strings.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <functional>
#include <thread>

#include "test_util.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;
using Strings = std::vector<std::string>;

// Bytes that are not text: NUL, 0xFF, an invalid UTF-8 sequence, and one long enough to
// live on the heap (no small-string optimisation), so leaks and double frees show.
const std::string kNul("a\0b", 3);
const std::string kBinary("\xff\xfe\x00\x80", 4);
const std::string kLong(1000, 'x');

// Restores the allocation limit when a test ends, however it ends.
struct LimitGuard {
  size_t saved = max_allocation_bytes();
  ~LimitGuard() { set_max_allocation_bytes(saved); }
};

Tensor run1(const std::function<Output(const Scope&)>& build) {
  Graph g;
  Scope s(g);
  Output y = build(s);
  Session sess(g);
  return sess.run({}, {y})[0];
}

TEST(StringTensor, ConstructionAndAccess) {
  Tensor v = Tensor::from_strings({"cat", kNul, "", kBinary, kLong}, {5});
  EXPECT_EQ(v.dtype(), DType::string);
  EXPECT_EQ(v.shape(), (Shape{5}));
  EXPECT_EQ(v.string_at(0), "cat");
  EXPECT_EQ(v.string_at(1), kNul);  // embedded NUL kept
  EXPECT_EQ(v.string_at(1).size(), 3u);
  EXPECT_EQ(v.string_at(3), kBinary);
  EXPECT_EQ(v.strings(), (Strings{"cat", kNul, "", kBinary, kLong}));
  EXPECT_EQ(v.data<std::string>()[4], kLong);
  EXPECT_EQ(v.string_bytes(), 3u + 3u + 0u + 4u + 1000u);
  EXPECT_THROW(v.string_at(5), OutOfRange);
  EXPECT_THROW(v.string_at(-1), OutOfRange);
  EXPECT_THROW(v.data<float>(), InvalidArgument);
  EXPECT_THROW(v.num_bytes(), InvalidArgument);
  EXPECT_THROW(v.as_double(0), InvalidArgument);
  EXPECT_THROW(v.cast(DType::f32), InvalidArgument);
  EXPECT_THROW(Tensor(1.0f).string_bytes(), InvalidArgument);
  EXPECT_THROW(Tensor::from_strings({"a", "b"}, {3}), InvalidArgument);
  // Literals and braces make string tensors, not bool ones.
  Tensor s = "hello";
  EXPECT_EQ(s.dtype(), DType::string);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.scalar<std::string>(), "hello");
  EXPECT_EQ(Tensor(std::string("x")).scalar<std::string>(), "x");
  Tensor b = {"a", "bc"};
  EXPECT_EQ(b.shape(), (Shape{2}));
  Tensor m = {{"a", "b", "c"}, {"d", "e", "f"}};
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.at<std::string>({1, 2}), "f");
  EXPECT_THROW((Tensor{{"a"}, {"b", "c"}}), InvalidArgument);
  EXPECT_EQ(Tensor::from_vector<std::string>({"p", "q"}, {2, 1}).string_at(1), "q");
  EXPECT_EQ(Tensor::from_strings({"p", "q"}).shape(), (Shape{2}));
  // A new string tensor holds empty strings; zeros() too; numbers cannot fill one.
  EXPECT_EQ(Tensor(DType::string, {2}).strings(), (Strings{"", ""}));
  EXPECT_EQ(Tensor::zeros(DType::string, {1, 2}).strings(), (Strings{"", ""}));
  EXPECT_THROW(Tensor::filled(DType::string, {2}, 1.0), InvalidArgument);
  EXPECT_THROW(Tensor::ones(DType::string, {2}), InvalidArgument);
  EXPECT_THROW(dtype_size(DType::string), InvalidArgument);
  EXPECT_EQ(dtype_storage_size(DType::string), sizeof(std::string));
}

TEST(StringTensor, EqualityCopiesAndPrinting) {
  Tensor a = Tensor::from_strings({"x", kNul}, {2});
  Tensor same = Tensor::from_strings({"x", kNul}, {2});
  EXPECT_TRUE(a.equals(same));
  EXPECT_FALSE(a.equals(Tensor::from_strings({"x", std::string("a\0c", 3)}, {2})));
  EXPECT_FALSE(a.equals(a.reshaped({1, 2})));
  EXPECT_FALSE(a.equals(Tensor::from_vector<uint8_t>({1, 2}, {2})));
  // Handles share; clone copies, so changing the clone leaves the original alone.
  Tensor shared = a;
  EXPECT_TRUE(shared.shares_buffer_with(a));
  EXPECT_EQ(a.use_count(), 2);
  Tensor c = a.clone();
  EXPECT_FALSE(c.shares_buffer_with(a));
  c.data<std::string>()[0] = "changed";
  EXPECT_EQ(a.string_at(0), "x");
  EXPECT_TRUE(a.reshaped({2, 1}).shares_buffer_with(a));
  // Printing: quoted, escaped, unambiguous.
  EXPECT_EQ(a.to_string(), "string[2] [\"x\", \"a\\x00b\"]");
  EXPECT_EQ(Tensor::from_strings({"q\"\\", kBinary}, {1, 2}).to_string(),
            "string[1,2] [[\"q\\\"\\\\\", \"\\xff\\xfe\\x00\\x80\"]]");
  EXPECT_EQ(Tensor("hi").summary(), "string[]");
}

TEST(StringTensor, ElementsLiveAsLongAsTheLastHandle) {
  release_cached_memory();
  const int64_t before = allocator_stats().bytes_in_use;
  {
    std::vector<Tensor> handles;
    Tensor t = Tensor::from_strings(Strings(100, kLong), {10, 10});
    for (int i = 0; i < 10; ++i) handles.push_back(i % 2 ? t : t.reshaped({100}));
    t = Tensor();  // the original handle goes first; the strings live on in the others
    for (const Tensor& h : handles) EXPECT_EQ(h.string_at(99), kLong);
    EXPECT_EQ(handles[0].use_count(), 10);
    Tensor moved = std::move(handles[3]);
    handles.clear();
    EXPECT_EQ(moved.use_count(), 1);
    EXPECT_EQ(moved.strings(), Strings(100, kLong));
    moved = Tensor::from_strings({"replaced"}, {1});  // the old buffer dies here
    EXPECT_EQ(moved.string_at(0), "replaced");
  }
  // Every buffer went back to the allocator (the strings' own memory is checked by ASan).
  EXPECT_EQ(allocator_stats().bytes_in_use, before);
}

TEST(StringTensor, SizeLimitCoversTheStrings) {
  LimitGuard guard;
  set_max_allocation_bytes(1 << 20);
  std::string m = error_of<ResourceExhausted>([] { Tensor::from_strings({std::string(2 << 20, 'a')}, {1}); });
  EXPECT_TRUE(contains(m, "from_strings")) << m;
  EXPECT_TRUE(contains(m, "set_max_allocation_bytes")) << m;
  // The element array counts as well: 2^16 empty strings take 2 MiB of std::string objects.
  EXPECT_THROW(Tensor(DType::string, {1 << 16}), ResourceExhausted);
  EXPECT_THROW(Tensor::from_strings(Strings(1 << 16)), ResourceExhausted);
  // Within the limit: fine.
  EXPECT_EQ(Tensor::from_strings(Strings(100, kLong)).num_elements(), 100);
  // Kernels that repeat strings stop at the limit instead of exhausting memory: a gather
  // with repeated indices and a broadcasting select, each asking for ~2 MB of strings.
  Graph g;
  Scope s(g);
  Output p = ops::placeholder(s.named("p"), DType::string, {-1});
  Output idx = ops::placeholder(s.named("idx"), DType::i32, {-1});
  Output gathered = ops::gather(s.named("gather"), p, idx);
  Output cond = ops::placeholder(s.named("cond"), DType::boolean, {-1});
  Output picked = ops::select(s.named("select"), cond, p, ops::constant(s, Tensor("")));
  Session sess(g);
  const Tensor big = Tensor::from_strings({std::string(1000, 'z')}, {1});
  const Tensor many = Tensor::from_vector(std::vector<int32_t>(2000, 0), {2000});
  m = error_of<ResourceExhausted>([&] { sess.run({{p, big}, {idx, many}}, {gathered}); });
  EXPECT_TRUE(contains(m, "node 'gather' (Gather)")) << m;
  const Tensor all_true = Tensor::from_vector(std::vector<bool>(2000, true), {2000});
  m = error_of<ResourceExhausted>([&] { sess.run({{p, big}, {cond, all_true}}, {picked}); });
  EXPECT_TRUE(contains(m, "node 'select' (Select)")) << m;
  // The same graph within the limit works.
  const Tensor few = Tensor::from_vector(std::vector<int32_t>(10, 0), {10});
  EXPECT_EQ(sess.run({{p, big}, {idx, few}}, {gathered})[0].string_bytes(), 10000u);
}

// ---- ops on strings, through a session ----

TEST(StringOps, FeedsFetchesAndDataMovement) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::string, {-1, 2});
  Output id = ops::identity(s, x);
  Output flat = ops::reshape(s, x, {-1});
  Output e = ops::expand_dims(s, flat, 0);
  Output sq = ops::squeeze(s, e, {0});
  Output tr = ops::transpose(s, x);
  Output cat0 = ops::concat(s, {x, x}, 0);
  Output cat1 = ops::concat(s, {x, ops::constant(s, Tensor{{"k0", "k1"}, {"k2", "k3"}})}, 1);
  std::vector<Output> halves = ops::split(s, x, 2, 1);
  Output sl = ops::slice(s, x, {1, 0}, {1, 2});
  Output g0 = ops::gather(s, x, ops::constant(s, Tensor{1, 1, 0}), 0);
  Output g1 = ops::gather(s, x, ops::constant(s, Tensor{int64_t{1}}), 1);
  Output shp = ops::shape(s, x);
  Output sz = ops::size(s, x);
  Session sess(g);
  const Tensor in = Tensor::from_strings({"a", kNul, kBinary, kLong}, {2, 2});
  const std::vector<Tensor> r =
      sess.run({{x, in}}, {id, flat, e, sq, tr, cat0, cat1, halves[0], halves[1], sl, g0, g1, shp, sz});
  EXPECT_TRUE(r[0].equals(in));
  EXPECT_EQ(r[1].strings(), (Strings{"a", kNul, kBinary, kLong}));
  EXPECT_EQ(r[2].shape(), (Shape{1, 4}));
  EXPECT_EQ(r[3].shape(), (Shape{4}));
  EXPECT_EQ(r[4].strings(), (Strings{"a", kBinary, kNul, kLong}));
  EXPECT_EQ(r[5].shape(), (Shape{4, 2}));
  EXPECT_EQ(r[5].strings(), (Strings{"a", kNul, kBinary, kLong, "a", kNul, kBinary, kLong}));
  EXPECT_EQ(r[6].strings(), (Strings{"a", kNul, "k0", "k1", kBinary, kLong, "k2", "k3"}));
  EXPECT_EQ(r[7].strings(), (Strings{"a", kBinary}));
  EXPECT_EQ(r[8].strings(), (Strings{kNul, kLong}));
  EXPECT_EQ(r[9].strings(), (Strings{kBinary, kLong}));
  EXPECT_EQ(r[10].strings(), (Strings{kBinary, kLong, kBinary, kLong, "a", kNul}));
  EXPECT_EQ(r[11].strings(), (Strings{kNul, kLong}));
  EXPECT_EQ(r[12].to_vector<int64_t>(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(r[13].scalar<int64_t>(), 4);
  // Outputs that copy strings own them: changing one changes neither the feed nor others.
  Tensor out = r[5];
  out.data<std::string>()[0] = "mutated";
  EXPECT_EQ(in.string_at(0), "a");
  EXPECT_EQ(r[1].string_at(0), "a");
  // Out-of-range gather indices on strings are the usual error.
  Output bad = ops::gather(s.named("bad"), x, ops::constant(s, Tensor{5}), 0);
  std::string m = error_of<OutOfRange>([&] { sess.run({{x, in}}, {bad}); });
  EXPECT_TRUE(contains(m, "node 'bad' (Gather)")) << m;
  // A fed value of the wrong dtype is refused.
  EXPECT_THROW(sess.run({{x, Tensor::zeros(DType::u8, {2, 2})}}, {id}), InvalidArgument);
}

TEST(StringOps, EqualityAndSelect) {
  const Tensor a = Tensor::from_strings({"a", kNul, "", kLong}, {2, 2});
  const Tensor b = Tensor::from_strings({std::string("a\0c", 3), kNul}, {1, 2});  // broadcast rows
  const Tensor eq = run1([&](const Scope& s) { return ops::equal(s, ops::constant(s, a), ops::constant(s, b)); });
  const Tensor ne = run1([&](const Scope& s) { return ops::not_equal(s, ops::constant(s, a), ops::constant(s, b)); });
  EXPECT_EQ(eq.dtype(), DType::boolean);
  EXPECT_EQ(eq.shape(), (Shape{2, 2}));
  EXPECT_EQ(eq.to_vector<bool>(), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(ne.to_vector<bool>(), (std::vector<bool>{true, false, true, true}));
  // A scalar against a tensor.
  EXPECT_EQ(run1([&](const Scope& s) { return ops::equal(s, ops::constant(s, a), ops::constant(s, Tensor(""))); })
                .to_vector<bool>(),
            (std::vector<bool>{false, false, true, false}));
  const Tensor picked = run1([&](const Scope& s) {
    return ops::select(s, ops::constant(s, Tensor{true, false}), ops::constant(s, a),
                       ops::constant(s, Tensor("no")));
  });
  EXPECT_EQ(picked.strings(), (Strings{"a", "no", "", "no"}));
}

TEST(StringOps, ManyThreadsShareOneSession) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::string, {-1});
  Output y = ops::concat(s, {ops::gather(s, x, ops::constant(s, Tensor{2, 0})), ops::constant(s, Tensor{"end"})}, 0);
  Session sess(g);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string mine = std::to_string(t) + ":" + std::to_string(i) + kLong;
        const Tensor r = sess.run({{x, Tensor::from_strings({mine, "b", mine + "!"}, {3})}}, {y})[0];
        if (r.strings() != Strings{mine + "!", mine, "end"}) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(StringOps, VariablesAssignWithoutAliasing) {
  Graph g;
  Scope s(g);
  Output v = ops::variable(s.named("vocab"), Shape{2}, DType::string);
  Output x = ops::placeholder(s.named("x"), DType::string, {2});
  Output set = ops::assign(s.named("set"), v, x);
  Output first = ops::gather(s, v, ops::constant(s, Tensor{0}));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(s)});
  EXPECT_EQ(sess.variable_value("vocab").strings(), (Strings{"", ""}));  // string zeros
  Tensor fed = Tensor::from_strings({"one", kLong}, {2});
  sess.run({{x, fed}}, {}, {set.op()});
  const Tensor before = sess.run({}, {v})[0];
  EXPECT_EQ(before.strings(), (Strings{"one", kLong}));
  EXPECT_EQ(sess.run({}, {first})[0].strings(), (Strings{"one"}));
  // A new assignment leaves values read earlier (and the fed tensor) as they were.
  sess.run({{x, Tensor::from_strings({"two", kNul}, {2})}}, {}, {set.op()});
  EXPECT_EQ(before.strings(), (Strings{"one", kLong}));
  EXPECT_EQ(fed.strings(), (Strings{"one", kLong}));
  EXPECT_EQ(sess.variable_value("vocab").strings(), (Strings{"two", kNul}));
  // set_variable_value copies: changing the caller's tensor afterwards changes nothing.
  Tensor mine = Tensor::from_strings({"p", "q"}, {2});
  sess.set_variable_value("vocab", mine);
  mine.data<std::string>()[0] = "changed";
  EXPECT_EQ(sess.variable_value("vocab").strings(), (Strings{"p", "q"}));
  // A constant initializer of strings.
  Output w = ops::variable(s.named("w"), Shape{1}, DType::string, Initializer::constant(Tensor{"init"}));
  sess.run({}, {}, {g.variable_initializer(w.op())});
  EXPECT_EQ(sess.variable_value("w").strings(), (Strings{"init"}));
}

// ---- ops that do not take strings say so when the graph is built ----

TEST(StringOps, OtherOpsRefuseStringsWhenTheGraphIsBuilt) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::string, {2});
  std::string m = error_of<InvalidArgument>([&] { ops::add(s.named("plus"), x, x); });
  EXPECT_EQ(m, "node 'plus' (Add): op Add does not support dtype string (input 0 'x:0' is a string tensor)");
  const std::vector<std::pair<std::string, std::function<void()>>> refused = {
      {"Less", [&] { ops::less(s, x, x); }},
      {"Sum", [&] { ops::sum(s, x); }},
      {"Max", [&] { ops::max(s, x); }},
      {"ArgMax", [&] { ops::argmax(s, x, 0); }},
      {"Neg", [&] { ops::neg(s, x); }},
      {"Exp", [&] { ops::exp(s, x); }},
      {"Relu", [&] { ops::relu(s, x); }},
      {"MatMul", [&] { ops::matmul(s, x, x); }},
      {"AddN", [&] { ops::add_n(s, {x, x}); }},
      {"Cast", [&] { ops::cast(s, x, DType::f32); }},
      {"Cast", [&] { ops::cast(s, ops::constant(s, Tensor(1.0f)), DType::string); }},
      {"Fill", [&] { ops::fill(s, DType::string, {2}, 0.0); }},
      {"ZerosLike", [&] { ops::zeros_like(s, x); }},
      {"OnesLike", [&] { ops::ones_like(s, x); }},
      {"BroadcastLike", [&] { ops::broadcast_like(s, x, x); }},
      {"OneHot", [&] { ops::one_hot(s, x, 3); }},
      {"RandomUniform", [&] { ops::random_uniform(s, {2}, DType::string); }},
      {"AssignAdd", [&] { ops::assign_add(s, ops::variable(s, Shape{2}, DType::string), x); }},
  };
  for (const auto& [op, build] : refused) {
    m = error_of<InvalidArgument>(build);
    EXPECT_TRUE(contains(m, "(" + op + ")") && contains(m, "string")) << op << ": " << m;
  }
  // Gather's indices must still be integers.
  m = error_of<InvalidArgument>([&] { ops::gather(s, x, x); });
  EXPECT_TRUE(contains(m, "indices")) << m;
  // Mixing strings and numbers where dtypes must agree.
  EXPECT_THROW(ops::concat(s, {x, ops::constant(s, Tensor{1, 2})}, 0), InvalidArgument);
  EXPECT_THROW(ops::equal(s, x, ops::constant(s, Tensor{1, 2})), InvalidArgument);
}

}  // namespace
}  // namespace sluice
