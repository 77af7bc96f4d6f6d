// Checkpoints (io/checkpoint.h) and the Saver (io/saver.h): round trips of every dtype and
// shape, inspection without a graph, corruption (every byte flipped, every truncation,
// forged fields behind a valid checksum), crash safety of saving (SIGKILL mid-save), and
// saving/restoring session variables: subsets, name maps, scoped restore, every error path.
#include <gtest/gtest.h>
#include <signal.h>
#include <sluice/sluice.h>

#include "test_util.h"
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

namespace fs = std::filesystem;
using Named = std::vector<std::pair<std::string, Tensor>>;

class CheckpointTest : public testing::TempDirTest {
 protected:
  static std::string slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  static void spit(const std::string& p, const std::string& bytes) {
    // A new file each time: ext4 flushes a file truncated and rewritten in place on close
    // (auto_da_alloc), which made these loops wait on the disk.
    std::remove(p.c_str());
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  // Files in the folder other than `keep` (leftover temporary files).
  std::vector<std::string> others(const std::string& keep) const {
    std::vector<std::string> r;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename() != keep) r.push_back(e.path().filename().string());
    return r;
  }
};

// A tensor of `dtype` and `shape` with varied, exactly representable values.
Tensor make_tensor(DType dtype, const Shape& shape, int seed) {
  Tensor t(dtype, shape);
  std::mt19937 rng(seed);
  const int64_t n = t.num_elements();
  switch (dtype) {
    case DType::f32: for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = std::uniform_real_distribution<float>(-3, 3)(rng); break;
    case DType::f64: for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = std::normal_distribution<double>(0, 1e10)(rng); break;
    case DType::i32: for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(rng()); break;
    case DType::i64: for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = (static_cast<int64_t>(rng()) << 31) ^ rng(); break;
    case DType::u8: for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(rng()); break;
    case DType::boolean: for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = rng() & 1; break;
    default: break;
  }
  return t;
}

const std::vector<DType> kAllTypes = {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::boolean};

// Every dtype at every rank 0..8 (small dims), plus empty tensors at several ranks.
Named every_dtype_and_rank() {
  Named r;
  int seed = 1;
  for (DType d : kAllTypes) {
    for (int rank = 0; rank <= Shape::kMaxRank; ++rank) {
      std::vector<int64_t> dims;
      for (int i = 0; i < rank; ++i) dims.push_back(i % 3 == 0 ? 2 : (i % 3 == 1 ? 3 : 1));
      r.emplace_back(std::string(dtype_name(d)) + "/rank" + std::to_string(rank),
                     make_tensor(d, Shape(dims), seed++));
    }
    r.emplace_back(std::string(dtype_name(d)) + "/empty0", make_tensor(d, Shape{0}, seed++));
    r.emplace_back(std::string(dtype_name(d)) + "/empty3", make_tensor(d, Shape{4, 0, 2}, seed++));
  }
  r.emplace_back("odd name with spaces, ünïcödé/and/slashes:0", make_tensor(DType::f32, Shape{5}, seed++));
  r.emplace_back("big", make_tensor(DType::f32, Shape{257, 3}, seed++));  // not a multiple of 64 bytes
  return r;
}

void expect_same(const Named& got, const Named& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_TRUE(got[i].second.equals(want[i].second))
        << want[i].first << ": " << got[i].second.summary() << " vs " << want[i].second.summary();
  }
}

TEST_F(CheckpointTest, RoundTripsEveryDtypeAndRank) {
  const Named tensors = every_dtype_and_rank();
  io::write_checkpoint(path("all.ckpt"), tensors);
  expect_same(io::read_checkpoint(path("all.ckpt")), tensors);
  // Spot-check actual numbers, not only equals(): a scalar, a bool and a rank-8 tensor.
  const auto back = io::read_checkpoint(path("all.ckpt"));
  for (size_t i = 0; i < tensors.size(); ++i)
    for (int64_t k = 0; k < tensors[i].second.num_elements(); ++k)
      ASSERT_EQ(back[i].second.as_double(k), tensors[i].second.as_double(k)) << tensors[i].first;
  EXPECT_TRUE(others("all.ckpt").empty());  // no temporary file left behind
}

TEST_F(CheckpointTest, EmptyCheckpointAndScalars) {
  io::write_checkpoint(path("none.ckpt"), {});
  EXPECT_TRUE(io::read_checkpoint(path("none.ckpt")).empty());
  EXPECT_TRUE(io::list_variables(path("none.ckpt")).empty());
  io::write_checkpoint(path("s.ckpt"), {{"pi", Tensor(3.25)}, {"flag", Tensor(true)}, {"n", Tensor(int64_t{-7})}});
  EXPECT_EQ(io::load_variable(path("s.ckpt"), "pi").scalar<double>(), 3.25);
  EXPECT_EQ(io::load_variable(path("s.ckpt"), "flag").scalar<bool>(), true);
  EXPECT_EQ(io::load_variable(path("s.ckpt"), "n").scalar<int64_t>(), -7);
  EXPECT_EQ(io::load_variable(path("s.ckpt"), "n").shape(), Shape{});
}

TEST_F(CheckpointTest, InspectionWithoutAGraph) {
  io::write_checkpoint(path("m.ckpt"), {{"dense/kernel", Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}}},
                                        {"dense/bias", Tensor{0.5f, -0.5f}},
                                        {"step", Tensor(int64_t{42})}});
  const auto vars = io::list_variables(path("m.ckpt"));
  ASSERT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars[0].name, "dense/kernel");
  EXPECT_EQ(vars[0].dtype, DType::f32);
  EXPECT_EQ(vars[0].shape, (Shape{2, 2}));
  EXPECT_EQ(vars[1].shape, (Shape{2}));
  EXPECT_EQ(vars[2].dtype, DType::i64);
  EXPECT_EQ(vars[2].shape, Shape{});
  EXPECT_EQ(io::load_variable(path("m.ckpt"), "dense/kernel").to_vector<float>(),
            (std::vector<float>{1, 2, 3, 4}));
  io::CheckpointReader r(path("m.ckpt"));
  EXPECT_TRUE(r.contains("dense/bias"));
  EXPECT_FALSE(r.contains("dense"));
  EXPECT_EQ(r.read("dense/bias").to_vector<float>(), (std::vector<float>{0.5f, -0.5f}));
  const std::string m = error_of<NotFound>([&] { io::load_variable(path("m.ckpt"), "dense/kernal"); });
  EXPECT_TRUE(contains(m, "m.ckpt")) << m;
  EXPECT_TRUE(contains(m, "'dense/kernal'")) << m;
  EXPECT_TRUE(contains(m, "dense/kernel, dense/bias, step")) << m;  // what it does hold
}

TEST_F(CheckpointTest, WriteRejectsBadInputBeforeTouchingTheFile) {
  io::write_checkpoint(path("x.ckpt"), {{"a", Tensor(1.0f)}});
  const std::string before = slurp(path("x.ckpt"));
  std::string m = error_of<InvalidArgument>([&] {
    io::write_checkpoint(path("x.ckpt"), {{"a", Tensor(1.0f)}, {"b", Tensor(2.0f)}, {"a", Tensor(3.0f)}});
  });
  EXPECT_TRUE(contains(m, "'a' appears more than once")) << m;
  m = error_of<InvalidArgument>([&] { io::write_checkpoint(path("x.ckpt"), {{"", Tensor(1.0f)}}); });
  EXPECT_TRUE(contains(m, "empty")) << m;
  m = error_of<InvalidArgument>([&] { io::write_checkpoint(path("x.ckpt"), {{"e", Tensor()}}); });
  EXPECT_TRUE(contains(m, "'e'")) << m;
  EXPECT_EQ(slurp(path("x.ckpt")), before);
  EXPECT_TRUE(others("x.ckpt").empty());
  m = error_of<NotFound>([&] { io::write_checkpoint(path("no/such/dir/x.ckpt"), {{"a", Tensor(1.0f)}}); });
  EXPECT_TRUE(contains(m, "no/such/dir/x.ckpt")) << m;
  // A folder where the file should go: the rename fails, the temporary file is removed.
  fs::create_directories(path("adir"));
  fs::create_directories(path("adir/inner"));
  EXPECT_THROW(io::write_checkpoint(path("adir"), {{"a", Tensor(1.0f)}}), Error);
  EXPECT_EQ(others("x.ckpt").size(), 1u);  // just adir
}

TEST_F(CheckpointTest, AtomicFileRemovesItsTemporaryFileUnlessCommitted) {
  io::write_file_atomically(path("f"), "old");
  {
    io::AtomicFile f(path("f"));
    f.write("new contents", 12);
    EXPECT_TRUE(fs::exists(f.temp_path()));
    EXPECT_EQ(fs::path(f.temp_path()).parent_path(), dir_);  // same folder: rename is atomic
    EXPECT_EQ(slurp(path("f")), "old");
  }  // destroyed uncommitted (as on an exception)
  EXPECT_EQ(slurp(path("f")), "old");
  EXPECT_TRUE(others("f").empty());
  {
    io::AtomicFile f(path("f"));
    f.write("new", 3);
    f.commit();
  }
  EXPECT_EQ(slurp(path("f")), "new");
  EXPECT_TRUE(others("f").empty());
}

// ---- corruption ----

Named small_tensors() {
  return {{"w", Tensor{{1.5f, -2.0f, 3.0f}, {4.0f, 5.0f, -6.25f}}},
          {"flags", Tensor::from_vector<bool>({true, false, true}, Shape{3})},
          {"step", Tensor(int64_t{123456789})},
          {"nothing", Tensor(DType::u8, Shape{0})},
          {"d", Tensor{0.1, 0.2}}};
}

TEST_F(CheckpointTest, EveryFlippedByteIsDataLoss) {
  const std::string p = path("small.ckpt");
  const Named want = small_tensors();
  io::write_checkpoint(p, want);
  const std::string good = slurp(p);
  ASSERT_GT(good.size(), 200u);
  int load_ok = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      spit(p, bad);
      // Every byte is covered by a checksum or must be zero padding: read_checkpoint
      // rejects every single flip, with a message naming the file.
      try {
        io::read_checkpoint(p);
        ADD_FAILURE() << "flip of byte " << i << " (mask " << int{mask} << ") went unnoticed";
      } catch (const DataLoss& e) {
        EXPECT_TRUE(contains(e.what(), p)) << e.what();
      }
      // Reading one tensor checks less (not the other tensors or the padding), so it may
      // succeed, but then with exactly the right value.
      for (const auto& [name, value] : want) {
        try {
          const Tensor t = io::load_variable(p, name);
          EXPECT_TRUE(t.equals(value)) << "byte " << i << " tensor " << name;
          ++load_ok;
        } catch (const DataLoss&) {
        }
      }
    }
  }
  EXPECT_GT(load_ok, 0);  // flips in other tensors' data leave this one readable
}

TEST_F(CheckpointTest, EveryTruncationAndAnAppendedByteIsDataLoss) {
  const std::string p = path("t.ckpt");
  io::write_checkpoint(p, small_tensors());
  const std::string good = slurp(p);
  for (size_t n = 0; n < good.size(); ++n) {
    spit(p, good.substr(0, n));
    const std::string m = error_of<DataLoss>([&] { io::read_checkpoint(p); });
    EXPECT_TRUE(contains(m, p)) << n << ": " << m;
    EXPECT_THROW(io::list_variables(p), DataLoss) << n;
  }
  spit(p, good + std::string(1, '\0'));
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_checkpoint(p); }), "truncated or appended"));
}

// Forges fields of a one-tensor checkpoint ("w": f32 [2,3]) and re-seals the header/index
// checksum, so that only the field validation stands between the forgery and the reader.
class Forger {
 public:
  explicit Forger(std::string bytes) : b_(std::move(bytes)) {}
  // Index entry of "w" (name length 1) starts at 64: name_len@64 name@68 dtype@69 rank@70
  // reserved@71 dims@73,81 offset@89 length@97 crc@105.
  Forger& set(size_t at, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) b_[at + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
    return *this;
  }
  std::string sealed() const {
    std::string b = b_;
    uint64_t index_len = 0;
    for (int i = 7; i >= 0; --i) index_len = (index_len << 8) | static_cast<unsigned char>(b[24 + i]);
    for (int i = 0; i < 4; ++i) b[52 + i] = 0;
    const size_t end = std::min<size_t>(b.size(), 64 + index_len);
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(end));
    for (int i = 0; i < 4; ++i) b[52 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    return b;
  }

 private:
  std::string b_;
};

TEST_F(CheckpointTest, ForgedFieldsBehindAValidChecksumAreDataLoss) {
  const std::string p = path("f.ckpt");
  io::write_checkpoint(p, {{"w", Tensor{{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}}}});
  const std::string good = slurp(p);
  ASSERT_EQ(good.size(), 128u + 24u);
  spit(p, Forger(good).sealed());
  EXPECT_EQ(io::load_variable(p, "w").to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  auto expect_loss = [&](const Forger& f, const std::string& part) {
    spit(p, f.sealed());
    const std::string m = error_of<DataLoss>([&] { io::read_checkpoint(p); });
    EXPECT_TRUE(contains(m, part)) << "want '" << part << "' in: " << m;
    EXPECT_TRUE(contains(m, p)) << m;
  };
  const uint64_t two31 = uint64_t{1} << 31;
  expect_loss(Forger(good).set(73, two31, 8).set(81, two31, 8), "tensor 'w': length 24 bytes does not match");
  // A huge, self-consistent length: refused against the file size, nothing allocated.
  const uint64_t two20 = uint64_t{1} << 20;
  expect_loss(Forger(good).set(73, two20, 8).set(81, two20, 8).set(97, two20 * two20 * 4, 8),
              "lies outside the file");
  expect_loss(Forger(good).set(73, uint64_t{1} << 40, 8).set(81, uint64_t{1} << 40, 8), "overflows");
  expect_loss(Forger(good).set(73, ~uint64_t{0}, 8), "bad dimension");
  expect_loss(Forger(good).set(70, 9, 1), "rank 9 exceeds 8");
  for (uint64_t code : {0, 7, 200}) expect_loss(Forger(good).set(69, code, 1), "invalid dtype code");
  expect_loss(Forger(good).set(69, 2, 1), "does not match float64[2,3]");  // f64: 48 bytes needed
  expect_loss(Forger(good).set(89, 64, 8), "overlaps the index");
  expect_loss(Forger(good).set(89, 129, 8), "not 64-byte aligned");
  expect_loss(Forger(good).set(89, uint64_t{1} << 63, 8), "outside the file");
  expect_loss(Forger(good).set(71, 1, 2), "reserved bytes not zero");
  expect_loss(Forger(good).set(64, 0, 4), "bad name length");
  expect_loss(Forger(good).set(64, 1000, 4), "index truncated");
  expect_loss(Forger(good).set(68, 0, 1), "NUL");
  expect_loss(Forger(good).set(105, 12345, 4), "tensor 'w': data checksum mismatch");
  expect_loss(Forger(good).set(12, 1000000, 4), "cannot fit in an index");
  expect_loss(Forger(good).set(12, 0, 4), "unexplained bytes");
  expect_loss(Forger(good).set(8, 3, 4), "unsupported checkpoint format version 3");
  expect_loss(Forger(good).set(40, 1 << 20, 8), "header says 1048576 bytes");
  expect_loss(Forger(good).set(16, 65, 8), "index offset");
  expect_loss(Forger(good).set(24, 1 << 20, 8), "does not fit");
  expect_loss(Forger(good).set(32, 96, 8), "bad data offset");
  expect_loss(Forger(good).set(48, 1, 4), "reserved header fields");
  expect_loss(Forger(good).set(0, 'X', 1), "bad magic");
  // Without re-sealing, a changed field is a checksum mismatch.
  spit(p, Forger(good).set(73, 3, 8).sealed().replace(52, 4, "abcd"));
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_checkpoint(p); }), "header/index checksum mismatch"));
}

TEST_F(CheckpointTest, ForgedDuplicateNamesAndBoolBytes) {
  const std::string p = path("d.ckpt");
  io::write_checkpoint(p, {{"a", Tensor::from_vector<bool>({true, false}, Shape{2})}, {"b", Tensor(1.0f)}});
  std::string bytes = slurp(p);
  // Entry "a": 4+1+1+1+2+8 (one dim)+8+8+4 = 37 bytes from 64; the second name is at 105.
  ASSERT_EQ(bytes[68], 'a');
  ASSERT_EQ(bytes[64 + 37 + 4], 'b');
  bytes[64 + 37 + 4] = 'a';
  spit(p, Forger(bytes).sealed());
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_checkpoint(p); }), "'a' appears more than once"));
  // A bool byte of 2 with a matching data checksum.
  bytes = slurp(p);
  io::write_checkpoint(p, {{"a", Tensor::from_vector<bool>({true, false}, Shape{2})}});
  bytes = slurp(p);
  const size_t data = 128;
  ASSERT_EQ(bytes[data], 1);
  bytes[data] = 2;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + data), 2);
  Forger f(bytes);
  f.set(64 + 33, crc, 4);  // crc of entry "a" (one dim): 64 + 4+1+1+1+2+8+8+8
  spit(p, f.sealed());
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_checkpoint(p); }), "bool element 0 holds byte 2"));
}

TEST_F(CheckpointTest, OtherKindsOfFileAreClearErrors) {
  io::write_npz(path("w.npz"), {{"w", Tensor(1.0f)}});
  std::string m = error_of<DataLoss>([&] { io::read_checkpoint(path("w.npz")); });
  EXPECT_TRUE(contains(m, "zip archive")) << m;
  EXPECT_TRUE(contains(m, "read_npz")) << m;
  io::write_npy(path("w.npy"), Tensor(1.0f));
  m = error_of<DataLoss>([&] { io::list_variables(path("w.npy")); });
  EXPECT_TRUE(contains(m, "read_npy")) << m;
  spit(path("text"), std::string(100, 'x'));
  m = error_of<DataLoss>([&] { io::read_checkpoint(path("text")); });
  EXPECT_TRUE(contains(m, "not a Sluice checkpoint (bad magic)")) << m;
  m = error_of<NotFound>([&] { io::read_checkpoint(path("missing.ckpt")); });
  EXPECT_TRUE(contains(m, "missing.ckpt")) << m;
  EXPECT_THROW(io::read_checkpoint(dir_.string()), NotFound);
}

// ---- crash safety ----

Named versioned(int64_t v) {
  // ~1.2 MB, so that a save takes long enough for kills to land inside it.
  return {{"a", Tensor::filled(DType::f32, Shape{200000}, static_cast<double>(v))},
          {"b", Tensor::filled(DType::i64, Shape{50000}, static_cast<double>(v))},
          {"version", Tensor(v)}};
}

int64_t check_consistent(const Named& got) {
  EXPECT_EQ(got.size(), 3u);
  const int64_t v = got[2].second.scalar<int64_t>();
  const Tensor a = got[0].second, b = got[1].second;
  for (int64_t i = 0; i < a.num_elements(); i += 997) EXPECT_EQ(a.data<float>()[i], static_cast<float>(v));
  for (int64_t i = 0; i < b.num_elements(); i += 997) EXPECT_EQ(b.data<int64_t>()[i], v);
  return v;
}

TEST_F(CheckpointTest, SigkillMidSaveLeavesTheOldOrTheNewCheckpoint) {
  const std::string p = path("crash.ckpt");
  io::write_checkpoint(p, versioned(0));
  const auto t0 = std::chrono::steady_clock::now();
  io::write_checkpoint(p, versioned(1));
  const double save_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937 rng(12345);
  int64_t last = 1;
  int new_version_seen = 0, leftovers = 0;
  // 200 rounds, unless a slow disk (fsync) would make that take more than ~8 s.
  const int kRounds = 200, kMinRounds = 50;
  const auto start = std::chrono::steady_clock::now();
  int round = 0;
  for (; round < kRounds; ++round) {
    if (round >= kMinRounds && std::chrono::steady_clock::now() - start > std::chrono::seconds(8)) break;
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child saves new versions over the checkpoint until it is killed. A first save
      // elsewhere takes the costs of a fresh process (its pages copied on first write), so
      // the saves the kill lands among take about save_us, as the parent's did.
      try {
        io::write_checkpoint(p + ".warm", versioned(0));
        fs::remove(p + ".warm");
        const char byte = 1;
        if (::write(ready[1], &byte, 1) != 1) ::_exit(4);
        for (int64_t k = 0;; ++k) io::write_checkpoint(p, versioned((round + 1) * 100000 + k));
      } catch (...) {
        ::_exit(3);
      }
    }
    ::close(ready[1]);
    char byte = 0;
    const bool child_ready = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
    const auto delay = std::uniform_real_distribution<double>(0, 2.0 * save_us)(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(delay)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(child_ready && WIFSIGNALED(status))
        << "the child failed on its own (status " << status << ")";
    const int64_t v = check_consistent(io::read_checkpoint(p));
    EXPECT_GE(v, last) << "round " << round << " went back to an older checkpoint";
    if (v > last) ++new_version_seen;
    last = v;
    for (const std::string& f : others("crash.ckpt")) {
      ++leftovers;  // a temporary file of a save the kill interrupted
      fs::remove(dir_ / f);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d kills in %.2f s (a save takes %.0f us): %d rounds saw a newer checkpoint, %d "
              "interrupted saves left a temporary file\n",
              round, secs, save_us, new_version_seen, leftovers);
  // Both outcomes happened: some kills landed mid-save, some after a completed one.
  EXPECT_GT(leftovers, 0);
  EXPECT_GT(new_version_seen, 0);
}

// ---- Saver ----

struct TwoVars {
  Graph g;
  Output w, b;
  Output y;       // x @ w + b
  Output x;
  explicit TwoVars(const std::string& prefix = "") {
    Scope root(g);
    Scope s = prefix.empty() ? root : root.sub(prefix);
    x = ops::placeholder(root.named(prefix.empty() ? "x" : prefix + "_x"), DType::f32, {-1, 2});
    w = ops::variable(s.named("w"), {2, 3}, DType::f32, Initializer::ones());
    b = ops::variable(s.named("b"), {3}, DType::f32, Initializer::zeros());
    y = ops::add(s, ops::matmul(s, x, w), b);
  }
};

TEST_F(CheckpointTest, SaverSavesAndRestoresAllGlobalVariables) {
  TwoVars m;
  Session a(m.g);
  a.set_variable_value("w", Tensor{{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  a.set_variable_value("b", Tensor{0.5f, 0.25f, -1.0f});
  io::Saver saver(m.g);
  saver.save(a, path("m.ckpt"));
  const auto vars = io::list_variables(path("m.ckpt"));
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0].name, "b");  // sorted by name
  EXPECT_EQ(vars[1].name, "w");

  Session b(m.g);  // a second session on the same graph holds its own values
  EXPECT_FALSE(b.is_variable_initialized("w"));
  saver.restore(b, path("m.ckpt"));
  EXPECT_TRUE(b.is_variable_initialized("w"));
  EXPECT_TRUE(b.is_variable_initialized("b"));
  // x = [1, 1]: y = [1+4+0.5, 2+5+0.25, 3+6-1]
  const Tensor y = b.run({{m.x, Tensor{{1.0f, 1.0f}}}}, {m.y})[0];
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{5.5f, 7.25f, 8.0f}));
}

TEST_F(CheckpointTest, SaverSubsetAndNameMap) {
  TwoVars m;
  Session a(m.g);
  a.set_variable_value("w", Tensor::filled(DType::f32, {2, 3}, 2.0));
  a.set_variable_value("b", Tensor::filled(DType::f32, {3}, 7.0));
  io::Saver({m.w.op()}).save(a, path("w_only.ckpt"));
  ASSERT_EQ(io::list_variables(path("w_only.ckpt")).size(), 1u);
  // A subset restores without touching the rest.
  Session b(m.g);
  io::Saver({m.w.op()}).restore(b, path("w_only.ckpt"));
  EXPECT_TRUE(b.is_variable_initialized("w"));
  EXPECT_FALSE(b.is_variable_initialized("b"));
  // Name map: checkpoint "layer/kernel" <- variable "w", both directions.
  io::Saver mapped(std::map<std::string, Operation>{{"layer/kernel", m.w.op()}, {"layer/bias", m.b.op()}});
  mapped.save(a, path("mapped.ckpt"));
  EXPECT_EQ(io::load_variable(path("mapped.ckpt"), "layer/bias").to_vector<float>(), (std::vector<float>{7, 7, 7}));
  Session c(m.g);
  mapped.restore(c, path("mapped.ckpt"));
  EXPECT_EQ(c.variable_value("w").to_vector<float>(), std::vector<float>(6, 2.0f));
  EXPECT_EQ(mapped.mapping()[0], (std::pair<std::string, std::string>{"layer/bias", "b"}));
}

// N copies of one architecture under model_001/, model_002/; each restores its own checkpoint.
TEST_F(CheckpointTest, ScopedRestoreIntoTwoCopiesOfOneArchitecture) {
  // Two single-model graphs trained "elsewhere" (here: set by hand), saved with plain names.
  Tensor w1 = Tensor{{1.0f, 0.0f, 2.0f}, {0.0f, 1.0f, 3.0f}}, b1 = Tensor{1.0f, 1.0f, 1.0f};
  Tensor w2 = Tensor{{-1.0f, 5.0f, 0.5f}, {2.0f, 2.0f, 2.0f}}, b2 = Tensor{0.0f, -3.0f, 10.0f};
  for (auto [file, w, b] : {std::tuple{"one.ckpt", w1, b1}, std::tuple{"two.ckpt", w2, b2}}) {
    TwoVars single;
    Session s(single.g);
    s.set_variable_value("w", w);
    s.set_variable_value("b", b);
    io::Saver(single.g).save(s, path(file));
  }
  // One graph, two copies.
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  std::vector<Output> outs;
  for (const char* scope : {"model_001", "model_002"}) {
    Scope s = root.sub(scope);
    Output w = ops::variable(s.named("w"), {2, 3}, DType::f32, Initializer::ones());
    Output b = ops::variable(s.named("b"), {3}, DType::f32);
    outs.push_back(ops::add(s, ops::matmul(s, x, w), b));
  }
  Session sess(g);
  io::restore_into_scope(sess, path("one.ckpt"), "model_001");
  io::restore_into_scope(sess, path("two.ckpt"), "model_002/");  // either spelling
  const auto r = sess.run({{x, Tensor{{1.0f, 2.0f}}}}, {outs[0], outs[1]});
  // model_001: [1*1+2*0+1, 1*0+2*1+1, 1*2+2*3+1] = [2, 3, 9]
  EXPECT_EQ(r[0].to_vector<float>(), (std::vector<float>{2.0f, 3.0f, 9.0f}));
  // model_002: [-1+4+0, 5+4-3, 0.5+4+10] = [3, 6, 14.5]
  EXPECT_EQ(r[1].to_vector<float>(), (std::vector<float>{3.0f, 6.0f, 14.5f}));
  // for_scope saves one copy back under the plain names.
  io::Saver::for_scope(g, "model_002").save(sess, path("back.ckpt"));
  EXPECT_TRUE(io::load_variable(path("back.ckpt"), "w").equals(w2));
  // A scope with no variables is a clear error (usually a typo in the prefix).
  const std::string m = error_of<NotFound>([&] { io::restore_into_scope(sess, path("one.ckpt"), "model_01"); });
  EXPECT_TRUE(contains(m, "no global variables under scope 'model_01/'")) << m;
  EXPECT_TRUE(contains(m, "model_001/w")) << m;
}

TEST_F(CheckpointTest, SaverErrorsListEveryProblem) {
  TwoVars m;
  Session a(m.g);
  // Saving uninitialised variables names all of them.
  std::string msg = error_of<FailedPrecondition>([&] { io::Saver(m.g).save(a, path("u.ckpt")); });
  EXPECT_TRUE(contains(msg, "2 of 2 variables are not initialised")) << msg;
  EXPECT_TRUE(contains(msg, "b, w")) << msg;
  EXPECT_FALSE(fs::exists(path("u.ckpt")));

  // A checkpoint that lacks both variables: one message listing both, with shapes.
  io::write_checkpoint(path("other.ckpt"), {{"unrelated", Tensor(1.0f)}});
  msg = error_of<NotFound>([&] { io::Saver(m.g).restore(a, path("other.ckpt")); });
  EXPECT_TRUE(contains(msg, "lacks 2 of 2 variables: 'b' float32[3], 'w' float32[2,3]")) << msg;
  EXPECT_TRUE(contains(msg, "holds: unrelated")) << msg;

  // Shape and dtype mismatches, all listed; nothing is restored.
  io::write_checkpoint(path("bad.ckpt"), {{"w", Tensor::zeros(DType::f32, {3, 2})},
                                          {"b", Tensor::zeros(DType::f64, {3})}});
  msg = error_of<InvalidArgument>([&] { io::Saver(m.g).restore(a, path("bad.ckpt")); });
  EXPECT_TRUE(contains(msg, "variable 'w' is float32[2,3] but the checkpoint holds float32[3,2]")) << msg;
  EXPECT_TRUE(contains(msg, "variable 'b' is float32[3] but the checkpoint holds float64[3]")) << msg;
  EXPECT_FALSE(a.is_variable_initialized("w"));
  EXPECT_FALSE(a.is_variable_initialized("b"));

  // Missing and mismatched together, through a name map: the message names the mapping.
  io::write_checkpoint(path("half.ckpt"), {{"k", Tensor::zeros(DType::f32, {2, 2})}});
  msg = error_of<NotFound>([&] {
    io::Saver(std::map<std::string, Operation>{{"k", m.w.op()}, {"bias", m.b.op()}}).restore(a, path("half.ckpt"));
  });
  EXPECT_TRUE(contains(msg, "'b' (checkpoint name 'bias') float32[3]")) << msg;
  EXPECT_TRUE(contains(msg, "variable 'w' (checkpoint name 'k') is float32[2,3] but the checkpoint holds float32[2,2]")) << msg;

  // A corrupt checkpoint changes nothing.
  a.set_variable_value("w", Tensor::filled(DType::f32, {2, 3}, 9.0));
  a.set_variable_value("b", Tensor::filled(DType::f32, {3}, 9.0));
  io::Saver(m.g).save(a, path("good.ckpt"));
  std::string bytes = slurp(path("good.ckpt"));
  bytes[bytes.size() - 1] ^= 1;  // last data byte of the last tensor
  spit(path("good.ckpt"), bytes);
  Session c(m.g);
  EXPECT_THROW(io::Saver(m.g).restore(c, path("good.ckpt")), DataLoss);
  EXPECT_FALSE(c.is_variable_initialized("b"));
  EXPECT_FALSE(c.is_variable_initialized("w"));

  // Sessions of another graph, non-variables, ambiguous maps.
  TwoVars other;
  Session os(other.g);
  msg = error_of<InvalidArgument>([&] { io::Saver(m.g).restore(os, path("bad.ckpt")); });
  EXPECT_TRUE(contains(msg, "another graph")) << msg;
  msg = error_of<InvalidArgument>([&] { io::Saver({m.y.op()}); });
  EXPECT_TRUE(contains(msg, "not a variable")) << msg;
  msg = error_of<InvalidArgument>([&] { io::Saver({m.w.op(), other.b.op()}); });
  EXPECT_TRUE(contains(msg, "another graph")) << msg;
  msg = error_of<InvalidArgument>([&] { io::Saver(std::map<std::string, Operation>{{"", m.w.op()}}); });
  EXPECT_TRUE(contains(msg, "empty checkpoint name")) << msg;
}

}  // namespace
}  // namespace sluice
