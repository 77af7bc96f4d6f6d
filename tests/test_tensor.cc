#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cstdint>
#include <thread>

namespace sluice {
namespace {

TEST(DType, NamesSizesAndParsing) {
  EXPECT_STREQ(dtype_name(DType::f32), "float32");
  EXPECT_STREQ(dtype_name(DType::boolean), "bool");
  EXPECT_EQ(dtype_size(DType::f64), 8u);
  EXPECT_EQ(dtype_size(DType::u8), 1u);
  EXPECT_EQ(dtype_from_name("int64"), DType::i64);
  EXPECT_THROW(dtype_from_name("float16"), InvalidArgument);
  EXPECT_THROW(dtype_size(DType::string), InvalidArgument);  // no fixed size
}

TEST(Shape, BasicsAndUnknownDims) {
  Shape s{-1, 784};
  EXPECT_EQ(s.rank(), 2);
  EXPECT_FALSE(s.is_fully_defined());
  EXPECT_EQ(s.to_string(), "[?,784]");
  EXPECT_EQ(Shape{}.to_string(), "[]");
  EXPECT_EQ(Shape{}.num_elements(), 1);
  EXPECT_EQ((Shape{2, 0, 5}).num_elements(), 0);
  EXPECT_TRUE(s.compatible_with({32, 784}));
  EXPECT_FALSE(s.compatible_with({32, 785}));
  EXPECT_TRUE(Shape::unknown_rank().compatible_with({1, 2, 3}));
  EXPECT_EQ(s.merge({32, -1}), (Shape{32, 784}));
  EXPECT_EQ(s.dim(-1), 784);
  EXPECT_THROW(s.dim(2), OutOfRange);
  EXPECT_THROW(Shape({-2}), InvalidArgument);
  EXPECT_THROW(Shape({1, 2, 3, 4, 5, 6, 7, 8, 9}), InvalidArgument);
}

TEST(Shape, ElementCountOverflowIsAnError) {
  const int64_t big = int64_t{1} << 40;
  EXPECT_THROW((Shape{big, big}).num_elements(), InvalidArgument);
  EXPECT_THROW(Tensor(DType::f32, Shape{big, big}), InvalidArgument);
  // Fits in elements but not in bytes: still refused before allocating.
  EXPECT_THROW(Tensor(DType::f64, Shape{int64_t{1} << 61}), InvalidArgument);
  EXPECT_THROW(Tensor(DType::f32, Shape{int64_t{1} << 45}), ResourceExhausted);
  EXPECT_EQ((Shape{big, 0, big}).num_elements(), 0);
}

TEST(Shape, Broadcasting) {
  EXPECT_EQ(broadcast_shapes({2, 3}, {3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({2, 1}, {1, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({}, {4, 5}), (Shape{4, 5}));
  EXPECT_EQ(broadcast_shapes({-1, 3}, {3}), (Shape{-1, 3}));
  EXPECT_EQ(broadcast_shapes({0, 3}, {1, 3}), (Shape{0, 3}));
  try {
    broadcast_shapes({2, 3}, {4});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("[2,3] and [4]"), std::string::npos);
  }
}

TEST(Tensor, ConstructionAndAccess) {
  Tensor s = 3.5f;
  EXPECT_EQ(s.dtype(), DType::f32);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.scalar<float>(), 3.5f);
  Tensor v = {1, 2, 3};
  EXPECT_EQ(v.dtype(), DType::i32);
  EXPECT_EQ(v.shape(), (Shape{3}));
  Tensor m = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  EXPECT_EQ(m.dtype(), DType::f64);
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.at<double>({1, 2}), 6.0);
  m.at<double>({0, 0}) = 10;
  EXPECT_EQ(m.data<double>()[0], 10.0);
  EXPECT_THROW(m.at<double>({2, 0}), OutOfRange);
  EXPECT_THROW(m.at<double>({0}), InvalidArgument);
  EXPECT_THROW(m.data<float>(), InvalidArgument);
  EXPECT_THROW(m.scalar<double>(), InvalidArgument);
  EXPECT_THROW((Tensor{{1.0, 2.0}, {3.0}}), InvalidArgument);
  Tensor b = {true, false};
  EXPECT_EQ(b.dtype(), DType::boolean);
  Tensor u = Tensor::from_vector(std::vector<uint8_t>{1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(u.at<uint8_t>({1, 1}), 4);
  EXPECT_THROW(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}), InvalidArgument);
  EXPECT_EQ(Tensor::filled(DType::i64, {2}, 7).to_vector<int64_t>(), (std::vector<int64_t>{7, 7}));
  EXPECT_EQ(Tensor::zeros(DType::f32, {0, 4}).num_elements(), 0);
}

TEST(Tensor, BuffersAreAlignedRefCountedAndShared) {
  Tensor a(DType::f32, {17});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.raw_data()) % 64, 0u);
  EXPECT_EQ(a.use_count(), 1);
  Tensor b = a;  // cheap copy: same buffer
  EXPECT_TRUE(b.shares_buffer_with(a));
  EXPECT_EQ(a.use_count(), 2);
  b.data<float>()[0] = 42;
  EXPECT_EQ(a.data<float>()[0], 42);
  Tensor c = a.clone();  // deep copy
  EXPECT_FALSE(c.shares_buffer_with(a));
  c.data<float>()[0] = 1;
  EXPECT_EQ(a.data<float>()[0], 42);
  {
    Tensor d = std::move(b);
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(a.use_count(), 2);
  }
  EXPECT_EQ(a.use_count(), 1);
  Tensor r = a.reshaped({1, 17});
  EXPECT_TRUE(r.shares_buffer_with(a));
  EXPECT_THROW(a.reshaped({2, 9}), InvalidArgument);
}

TEST(Tensor, AllocatorAccountsForBuffers) {
  const int64_t before = allocator_stats().bytes_in_use;
  {
    Tensor t(DType::f64, {1000});
    EXPECT_GE(allocator_stats().bytes_in_use, before + 8000);
  }
  EXPECT_EQ(allocator_stats().bytes_in_use, before);
}

TEST(Tensor, CastAndEquality) {
  Tensor f = {1.5f, -2.7f, 300.0f};
  Tensor i = f.cast(DType::i32);
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{1, -2, 300}));
  EXPECT_TRUE(f.equals(f.clone()));
  EXPECT_FALSE(f.equals(i));
  EXPECT_EQ(Tensor(true).cast(DType::f32).scalar<float>(), 1.0f);
}

TEST(Tensor, ToString) {
  EXPECT_EQ((Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}}).to_string(), "f32[2,2] [[1, 2], [3, 4]]");
  EXPECT_EQ(Tensor(true).to_string(), "bool[] true");
  EXPECT_EQ(Tensor::zeros(DType::i64, {0}).to_string(), "i64[0] []");
  Tensor big = Tensor::zeros(DType::u8, {1000});
  EXPECT_NE(big.to_string(8).find("..."), std::string::npos);
  std::ostringstream os;
  os << Tensor(int64_t{5});
  EXPECT_EQ(os.str(), "i64[] 5");
}

TEST(ThreadPool, ChunksAreDeterministicAndExceptionsPropagate) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.num_chunks(10, 4), 3);
  EXPECT_EQ(pool.num_chunks(10, 100), 1);
  EXPECT_EQ(pool.num_chunks(0, 1), 0);
  std::vector<int> hits(1000, 0);
  pool.parallel_for(1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (int h : hits) EXPECT_EQ(h, 1);
  EXPECT_THROW(pool.parallel_for(100, 1, [](int64_t b, int64_t) {
                 if (b > 0) throw InvalidArgument("boom");
               }),
               InvalidArgument);
  // Nested calls run inline rather than deadlocking.
  std::atomic<int> total{0};
  pool.parallel_for(4, 1, [&](int64_t, int64_t) {
    pool.parallel_for(10, 1, [&](int64_t b, int64_t e) { total += static_cast<int>(e - b); });
  });
  EXPECT_EQ(total.load(), 30);
}

// A tensor freed after its thread's allocator cache is destroyed (a thread_local made before
// the thread's first allocation is destroyed after the cache; a static Tensor outlives the
// main thread's cache the same way) goes back to the system, not into the destroyed cache.
// Without that, this wrote into freed memory (AddressSanitizer: heap-use-after-free).
TEST(Allocator, TensorOutlivingItsThreadsCache) {
  const AllocatorStats before = allocator_stats();
  std::thread t([] {
    thread_local struct Holder { Tensor t; } holder;  // constructed before the cache
    holder.t = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
    for (int i = 0; i < 8; ++i) Tensor scratch(DType::f32, Shape{16});  // fills the cache
    EXPECT_EQ(holder.t.data<float>()[3], 4.0f);
  });
  t.join();
  EXPECT_EQ(allocator_stats().bytes_in_use, before.bytes_in_use);
}

}  // namespace
}  // namespace sluice
