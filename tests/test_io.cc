#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "test_util.h"
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sluice {
namespace {

namespace fs = std::filesystem;

class IdxTest : public testing::TempDirTest {
 protected:
  std::string write(const std::string& name, const std::vector<unsigned char>& bytes, bool gz = false) {
    const std::string p = (dir_ / name).string();
    if (gz) {
      gzFile f = gzopen(p.c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
    }
    return p;
  }
};

std::vector<unsigned char> idx_u8(std::vector<uint32_t> dims, std::vector<unsigned char> data) {
  std::vector<unsigned char> b = {0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims) {
    b.push_back(d >> 24);
    b.push_back((d >> 16) & 255);
    b.push_back((d >> 8) & 255);
    b.push_back(d & 255);
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

TEST_F(IdxTest, ReadsPlainAndGzip) {
  const auto bytes = idx_u8({2, 3}, {1, 2, 3, 4, 5, 6});
  for (bool gz : {false, true}) {
    Tensor t = io::read_idx(write(gz ? "a.gz" : "a", bytes, gz));
    EXPECT_EQ(t.dtype(), DType::u8);
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.at<uint8_t>({1, 2}), 6);
  }
}

TEST_F(IdxTest, ReadsOtherElementTypesBigEndian) {
  // int32 [2]: 1, -2 ; float32 [1]: 1.5
  std::vector<unsigned char> i32 = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE};
  Tensor a = io::read_idx(write("i32", i32));
  EXPECT_EQ(a.to_vector<int32_t>(), (std::vector<int32_t>{1, -2}));
  std::vector<unsigned char> f32 = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0};
  EXPECT_EQ(io::read_idx(write("f32", f32)).scalar<float>(), 1.5f);
}

TEST_F(IdxTest, CorruptFilesAreDataLossNeverACrash) {
  const auto good = idx_u8({2, 3}, {1, 2, 3, 4, 5, 6});
  // Every truncation.
  for (size_t n = 0; n < good.size(); ++n) {
    const std::string p = write("t", std::vector<unsigned char>(good.begin(), good.begin() + n));
    EXPECT_THROW(io::read_idx(p), DataLoss) << "truncated to " << n;
  }
  auto with = [&](size_t i, unsigned char v) {
    auto b = good;
    b[i] = v;
    return write("c", b);
  };
  EXPECT_THROW(io::read_idx(with(0, 1)), DataLoss);     // magic
  EXPECT_THROW(io::read_idx(with(2, 0x07)), DataLoss);  // type
  EXPECT_THROW(io::read_idx(with(3, 0)), DataLoss);     // rank 0
  EXPECT_THROW(io::read_idx(with(3, 40)), DataLoss);    // rank too large
  EXPECT_THROW(io::read_idx(with(4, 0x7F)), DataLoss);  // huge dim, no data: no huge allocation
  auto extra = good;
  extra.push_back(0);
  EXPECT_THROW(io::read_idx(write("x", extra)), DataLoss);
  // Huge dims whose product overflows.
  EXPECT_THROW(io::read_idx(write("o", idx_u8({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}))), DataLoss);
  // A corrupt gzip stream.
  std::vector<unsigned char> gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_THROW(io::read_idx(write("bad.gz", gz)), DataLoss);
  EXPECT_THROW(io::read_idx((dir_ / "missing").string()), NotFound);
}

TEST_F(IdxTest, LoadMnistChecksLabelsAndCounts) {
  write("train-images-idx3-ubyte", idx_u8({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}));
  write("train-labels-idx1-ubyte", idx_u8({2}, {3, 9}));
  write("t10k-images.idx3-ubyte", idx_u8({1, 2, 2}, {9, 9, 9, 9}), false);
  write("t10k-labels-idx1-ubyte.gz", idx_u8({1}, {0}), true);
  io::MnistData d = io::load_mnist(dir_.string());
  EXPECT_EQ(d.train_images.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(d.test_labels.shape(), (Shape{1}));
  write("train-labels-idx1-ubyte", idx_u8({2}, {3, 10}));
  EXPECT_THROW(io::load_mnist(dir_.string()), DataLoss);
  write("train-labels-idx1-ubyte", idx_u8({3}, {3, 1, 1}));
  EXPECT_THROW(io::load_mnist(dir_.string()), DataLoss);
  EXPECT_THROW(io::load_mnist((dir_ / "nowhere").string()), NotFound);
}

// Written to a file (not a terminal): updates are silent, each epoch ends in one line.
TEST(ProgressBar, WritesOneLinePerEpochWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  const io::ProgressBar bar(3, 10, f);
  EXPECT_FALSE(bar.is_terminal());
  bar.update(1, 4, 0.5, 100.0);
  bar.end_epoch(1, 10, 0.25, 1234.4);
  bar.end_epoch(2, 4, 1.0, 10.0);  // stopped early: the bar shows 4 of 10
  std::rewind(f);
  std::string text;
  for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) text += static_cast<char>(c);
  std::fclose(f);
  EXPECT_EQ(text,
            "epoch 1/3 [==============================] 10/10 - loss 0.2500 - 1234 examples/s\n"
            "epoch 2/3 [============>.................] 4/10 - loss 1.0000 - 10 examples/s\n");
}

TEST(Mnist, LoadsTheRealFashionMnistFiles) {
  const char* d = std::getenv("SLUICE_DATA");
  io::MnistData data = io::load_mnist(d ? d : io::kDefaultFashionMnistDir);
  EXPECT_EQ(data.train_images.shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(data.train_labels.shape(), (Shape{60000}));
  EXPECT_EQ(data.test_images.shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(data.test_labels.shape(), (Shape{10000}));
  std::vector<int> counts(10, 0);
  for (int64_t i = 0; i < 60000; ++i) counts[data.train_labels.data<uint8_t>()[i]]++;
  for (int c : counts) EXPECT_EQ(c, 6000);  // Fashion-MNIST and MNIST-like balance
}

}  // namespace
}  // namespace sluice
