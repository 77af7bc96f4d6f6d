// Codec ops (ops/codec_ops.h) against independent values: base64 against RFC 4648's test
// vectors, PNG decoding of files written by libpng (not libspng) and PNG encoding read back by
// libpng, JPEG against the pixels it was compressed from; and every kind of bad input as a
// typed error naming the node.
#include <gtest/gtest.h>
#include <png.h>
#include <sluice/sluice.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <cstring>
#include <memory>

#include "test_util.h"
#include "tf_graph_builder.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

// ---- libpng helpers (the independent encoder/decoder) ----

struct PngSpec {
  int width = 0, height = 0, bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
  std::vector<png_color> palette;
  std::vector<png_byte> trns;  // palette alpha
  bool interlace = false;
};

void png_write_to_string(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}
void png_no_flush(png_structp) {}

// A PNG file with `rows` (each row already packed in the file's sample format, 16-bit
// samples big-endian), written by libpng.
std::string libpng_encode(const PngSpec& spec, const std::vector<std::vector<png_byte>>& rows) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng failed to write";
    return "";
  }
  png_set_write_fn(png, &out, png_write_to_string, png_no_flush);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty())
    png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  if (!spec.trns.empty()) png_set_tRNS(png, info, spec.trns.data(), static_cast<int>(spec.trns.size()), nullptr);
  png_write_info(png, info);
  std::vector<png_bytep> ptrs;
  for (const auto& r : rows) ptrs.push_back(const_cast<png_bytep>(r.data()));
  png_write_image(png, ptrs.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

struct Decoded {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::vector<png_byte> bytes;  // rows as stored (16-bit big-endian)
};

Decoded libpng_decode(const std::string& file) {
  Decoded d;
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  // The low-level reader keeps bit depth and color type exactly as stored.
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  struct Src {
    const std::string* s;
    size_t at;
  } src{&file, 0};
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    ADD_FAILURE() << "libpng failed to read";
    return d;
  }
  png_set_read_fn(png, &src, [](png_structp p, png_bytep data, png_size_t n) {
    auto* s = static_cast<Src*>(png_get_io_ptr(p));
    if (s->at + n > s->s->size()) png_error(p, "short");
    std::memcpy(data, s->s->data() + s->at, n);
    s->at += n;
  });
  png_read_info(png, info);
  d.width = png_get_image_width(png, info);
  d.height = png_get_image_height(png, info);
  d.bit_depth = png_get_bit_depth(png, info);
  d.color_type = png_get_color_type(png, info);
  const size_t row = png_get_rowbytes(png, info);
  d.bytes.resize(row * d.height);
  std::vector<png_bytep> ptrs;
  for (uint32_t y = 0; y < d.height; ++y) ptrs.push_back(d.bytes.data() + y * row);
  png_read_image(png, ptrs.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return d;
}

// Runs `make(contents)` on the string scalar `file`.
template <class F>
Tensor run_on(const std::string& file, F make) {
  Graph g;
  Scope s(g);
  Output in = ops::placeholder(s.named("contents"), DType::string, Shape{});
  Output out = make(s.named("decoder"), in);
  Session sess(g);
  return sess.run({{in, Tensor::from_strings({file}, Shape{})}}, {out})[0];
}

std::vector<int64_t> values(const Tensor& t) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < t.num_elements(); ++i) v.push_back(static_cast<int64_t>(t.as_double(i)));
  return v;
}

// ---- base64 ----

TEST(Base64, Rfc4648VectorsBothAlphabetsAndPadding) {
  const std::vector<std::pair<std::string, std::string>> rfc = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& kv : rfc) {
    EXPECT_EQ(base64_encode(kv.first, false, true), kv.second);
    std::string unpadded = kv.second;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(base64_encode(kv.first, true, false), unpadded);
    EXPECT_EQ(base64_decode(kv.second, true), kv.first);
    EXPECT_EQ(base64_decode(unpadded, false), kv.first);
  }
  // 0xfb 0xff: '+' '/' in the standard alphabet, '-' '_' in TensorFlow's web-safe one.
  const std::string b("\xfb\xff\xbf", 3);
  EXPECT_EQ(base64_encode(b, false, false), "+/+/");
  EXPECT_EQ(base64_encode(b, true, false), "-_-_");
  EXPECT_EQ(base64_decode("-_-_", true), b);
  EXPECT_EQ(base64_decode("+/+/", false), b);
  EXPECT_TRUE(contains(error_of<InvalidArgument>([] { base64_decode("+/+/", true); }), "Invalid character"));
  EXPECT_TRUE(contains(error_of<InvalidArgument>([] { base64_decode("Zm9vY", true); }), "Invalid base64 length"));
  EXPECT_TRUE(contains(error_of<InvalidArgument>([] { base64_decode("Zg=a", true); }), "Invalid character"));
}

TEST(Base64, OpsOnAStringTensor) {
  Graph g;
  Scope s(g);
  Output in = ops::constant(s, Tensor::from_strings({"foobar", std::string("\0\xfb\xff", 3), "f"}, Shape{3}));
  Output enc = ops::encode_base64(s, in), enc_pad = ops::encode_base64(s, in, true);
  Output round = ops::decode_base64(s, enc_pad);
  EXPECT_EQ(enc.dtype(), DType::string);
  EXPECT_EQ(enc.shape(), (Shape{3}));
  Session sess(g);
  auto r = sess.run({}, {enc, enc_pad, round});
  EXPECT_EQ(r[0].strings(), (std::vector<std::string>{"Zm9vYmFy", "APv_", "Zg"}));
  EXPECT_EQ(r[1].strings(), (std::vector<std::string>{"Zm9vYmFy", "APv_", "Zg=="}));
  EXPECT_EQ(r[2].strings(), (std::vector<std::string>{"foobar", std::string("\0\xfb\xff", 3), "f"}));
}

TEST(Base64, BadInputNamesTheNodeAndElement) {
  Graph g;
  Scope s(g);
  Output in = ops::constant(s, Tensor::from_strings({"Zm9v", "Zm9v!"}, Shape{2}));
  Output dec = ops::decode_base64(s.named("unb64"), in);
  Session sess(g);
  const std::string msg = error_of<InvalidArgument>([&] { sess.run({}, {dec}); });
  EXPECT_TRUE(contains(msg, "unb64")) << msg;
  EXPECT_TRUE(contains(msg, "element 1")) << msg;
  // Only strings go in.
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::decode_base64(s, ops::constant(s, Tensor(1.0f))); }),
                       "string"));
}

// ---- PNG decoding of libpng's files ----

TEST(DecodePng, EveryColorTypeAndChannelCount) {
  // 2x3 RGBA pixels; each colour type stores the parts it has.
  const std::vector<std::array<int, 4>> px = {{10, 20, 30, 40},   {200, 100, 0, 255}, {255, 255, 255, 0},
                                              {0, 0, 0, 128},     {17, 99, 250, 1},   {128, 64, 32, 16}};
  auto rows_of = [&](int parts, int gray_from) {
    std::vector<std::vector<png_byte>> rows(2);
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) {
        const auto& p = px[static_cast<size_t>(y * 3 + x)];
        if (gray_from >= 0) {
          rows[static_cast<size_t>(y)].push_back(static_cast<png_byte>(p[static_cast<size_t>(gray_from)]));
          if (parts == 2) rows[static_cast<size_t>(y)].push_back(static_cast<png_byte>(p[3]));
        } else {
          for (int k = 0; k < parts; ++k) rows[static_cast<size_t>(y)].push_back(static_cast<png_byte>(p[static_cast<size_t>(k)]));
        }
      }
    return rows;
  };
  auto gray_mix = [](const std::array<int, 4>& p) {
    return static_cast<int64_t>((6968 * p[0] + 23434 * p[1] + 2366 * p[2] + 16384) >> 15);
  };
  auto decode = [](const std::string& f, int64_t channels) {
    return run_on(f, [channels](const Scope& s, const Output& c) { return ops::decode_png(s, c, channels); });
  };

  PngSpec rgba{3, 2, 8, PNG_COLOR_TYPE_RGBA, {}, {}, false};
  const std::string rgba_file = libpng_encode(rgba, rows_of(4, -1));
  Tensor t = decode(rgba_file, 0);
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  std::vector<int64_t> want;
  for (const auto& p : px) want.insert(want.end(), p.begin(), p.end());
  EXPECT_EQ(values(t), want);
  want.clear();
  for (const auto& p : px) want.insert(want.end(), {p[0], p[1], p[2]});
  EXPECT_EQ(values(decode(rgba_file, 3)), want);  // alpha dropped
  want.clear();
  for (const auto& p : px) want.push_back(gray_mix(p));
  EXPECT_EQ(values(decode(rgba_file, 1)), want);  // libpng's rgb_to_gray weights

  PngSpec rgb{3, 2, 8, PNG_COLOR_TYPE_RGB, {}, {}, true};  // interlaced too
  const std::string rgb_file = libpng_encode(rgb, rows_of(3, -1));
  EXPECT_EQ(decode(rgb_file, 0).shape(), (Shape{2, 3, 3}));
  want.clear();
  for (const auto& p : px) want.insert(want.end(), {p[0], p[1], p[2], 255});
  EXPECT_EQ(values(decode(rgb_file, 4)), want);  // opaque alpha added

  PngSpec gray{3, 2, 8, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  const std::string gray_file = libpng_encode(gray, rows_of(1, 1));
  Tensor g1 = decode(gray_file, 0);
  EXPECT_EQ(g1.shape(), (Shape{2, 3, 1}));
  want.clear();
  for (const auto& p : px) want.push_back(p[1]);
  EXPECT_EQ(values(g1), want);
  want.clear();
  for (const auto& p : px) want.insert(want.end(), {p[1], p[1], p[1]});
  EXPECT_EQ(values(decode(gray_file, 3)), want);  // gray replicated

  PngSpec ga{3, 2, 8, PNG_COLOR_TYPE_GRAY_ALPHA, {}, {}, false};
  const std::string ga_file = libpng_encode(ga, rows_of(2, 0));
  want.clear();
  for (const auto& p : px) want.insert(want.end(), {p[0], p[3]});
  Tensor g2 = decode(ga_file, 0);
  EXPECT_EQ(g2.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values(g2), want);

  // A palette with transparency: 4 channels by default.
  PngSpec pal{2, 1, 8, PNG_COLOR_TYPE_PALETTE, {{1, 2, 3}, {250, 251, 252}}, {7, 255}, false};
  const std::string pal_file = libpng_encode(pal, {{1, 0}});
  EXPECT_EQ(values(decode(pal_file, 0)), (std::vector<int64_t>{250, 251, 252, 255, 1, 2, 3, 7}));
  pal.trns.clear();
  EXPECT_EQ(values(decode(libpng_encode(pal, {{1, 0}}), 0)), (std::vector<int64_t>{250, 251, 252, 1, 2, 3}));

  // 1-bit gray: 0 -> 0, 1 -> 255.
  PngSpec bits{10, 1, 1, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  Tensor b = decode(libpng_encode(bits, {{0xA0, 0x40}}), 0);  // 1010000000 01...
  EXPECT_EQ(values(b), (std::vector<int64_t>{255, 0, 255, 0, 0, 0, 0, 0, 0, 255}));
}

TEST(DecodePng, SixteenBitSamples) {
  // Gray 16-bit: 0x1234, 0xFFFF, 0x00FF (big-endian in the file).
  PngSpec spec{3, 1, 16, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  const std::string f16 = libpng_encode(spec, {{0x12, 0x34, 0xFF, 0xFF, 0x00, 0xFF}});
  Tensor wide = run_on(f16, [](const Scope& s, const Output& c) { return ops::decode_png(s, c, 0, DType::u16); });
  EXPECT_EQ(wide.dtype(), DType::u16);
  EXPECT_EQ(values(wide), (std::vector<int64_t>{0x1234, 0xFFFF, 0x00FF}));
  Tensor narrow = run_on(f16, [](const Scope& s, const Output& c) { return ops::decode_png(s, c); });
  EXPECT_EQ(values(narrow), (std::vector<int64_t>{0x12, 0xFF, 0x00}));  // the high byte
  // An 8-bit file read as uint16 scales by 257.
  PngSpec spec8{3, 1, 8, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  Tensor up = run_on(libpng_encode(spec8, {{0, 1, 255}}),
                     [](const Scope& s, const Output& c) { return ops::decode_png(s, c, 0, DType::u16); });
  EXPECT_EQ(values(up), (std::vector<int64_t>{0, 257, 65535}));
}

TEST(DecodePng, BatchOfEqualSizedImages) {
  PngSpec spec{2, 1, 8, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  const std::string a = libpng_encode(spec, {{1, 2}}), b = libpng_encode(spec, {{3, 4}});
  Graph g;
  Scope s(g);
  Output in = ops::placeholder(s, DType::string, Shape{-1});
  Output img = ops::decode_png(s.named("dec"), in, 1);
  EXPECT_EQ(img.shape(), (Shape{-1, -1, -1, 1}));
  Session sess(g);
  Tensor t = sess.run({{in, Tensor::from_strings({a, b}, Shape{2})}}, {img})[0];
  EXPECT_EQ(t.shape(), (Shape{2, 1, 2, 1}));
  EXPECT_EQ(values(t), (std::vector<int64_t>{1, 2, 3, 4}));
  PngSpec other{1, 1, 8, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  const std::string msg = error_of<InvalidArgument>(
      [&] { sess.run({{in, Tensor::from_strings({a, libpng_encode(other, {{9}})}, Shape{2})}}, {img}); });
  EXPECT_TRUE(contains(msg, "dec")) << msg;
  EXPECT_TRUE(contains(msg, "image 1 is 1x1x1 but image 0 is 1x2x1")) << msg;
}

// ---- PNG encoding read back by libpng ----

TEST(EncodePng, LibpngReadsBackTheExactSamples) {
  Graph g;
  Scope s(g);
  Tensor rgb(DType::u8, Shape{2, 3, 3});
  for (int64_t i = 0; i < rgb.num_elements(); ++i) rgb.data<uint8_t>()[i] = static_cast<uint8_t>(i * 13 + 7);
  Tensor gray16(DType::u16, Shape{1, 2, 1});
  gray16.data<uint16_t>()[0] = 0x1234, gray16.data<uint16_t>()[1] = 0xFEDC;
  Output e1 = ops::encode_png(s, ops::constant(s, rgb));
  Output e2 = ops::encode_png(s, ops::constant(s, gray16), 9);
  Output back = ops::decode_png(s, e1);
  EXPECT_EQ(e1.shape(), Shape{});
  Session sess(g);
  auto r = sess.run({}, {e1, e2, back});
  Decoded d = libpng_decode(r[0].string_at(0));
  EXPECT_EQ(d.width, 3u);
  EXPECT_EQ(d.height, 2u);
  EXPECT_EQ(d.color_type, PNG_COLOR_TYPE_RGB);
  EXPECT_EQ(d.bit_depth, 8);
  ASSERT_EQ(d.bytes.size(), 18u);
  for (size_t i = 0; i < 18; ++i) EXPECT_EQ(d.bytes[i], rgb.data<uint8_t>()[i]) << i;
  Decoded d16 = libpng_decode(r[1].string_at(0));
  EXPECT_EQ(d16.bit_depth, 16);
  EXPECT_EQ(d16.color_type, PNG_COLOR_TYPE_GRAY);
  EXPECT_EQ(d16.bytes, (std::vector<png_byte>{0x12, 0x34, 0xFE, 0xDC}));
  EXPECT_EQ(values(r[2]), values(rgb));  // and our own decoder agrees
  // Bad images are refused when the graph is built.
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::encode_png(s, ops::constant(s, Tensor(DType::f32, Shape{1, 1, 1}))); }),
                       "uint8 or uint16"));
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::encode_png(s, ops::constant(s, Tensor(DType::u8, Shape{1, 1, 5}))); }),
                       "1 to 4 channels"));
}

// ---- JPEG ----

// A JPEG of `pixels` (h x w x c, c 1 or 3) made with TurboJPEG's compressor at quality 100,
// no chroma subsampling. Decoding it with TensorFlow's fast integer DCT lands within 3 of the
// original pixels.
std::string make_jpeg(const std::vector<uint8_t>& pixels, int w, int h, int c) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;  // NOLINT(runtime/int): TurboJPEG's type
  const int rc = tjCompress2(tj, pixels.data(), w, 0, h, c == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &size,
                             c == 1 ? TJSAMP_GRAY : TJSAMP_444, 100, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(tj);
  std::string out(reinterpret_cast<const char*>(buf), size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

std::vector<uint8_t> gradient_image(int w, int h, int c) {
  std::vector<uint8_t> px;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) px.push_back(static_cast<uint8_t>(20 + 4 * x + 3 * y + 40 * k));
  return px;
}

TEST(DecodeJpeg, MatchesThePixelsItWasMadeFrom) {
  const std::vector<uint8_t> rgb = gradient_image(16, 8, 3), gray = gradient_image(16, 8, 1);
  const std::string jrgb = make_jpeg(rgb, 16, 8, 3), jgray = make_jpeg(gray, 16, 8, 1);
  Tensor t = run_on(jrgb, [](const Scope& s, const Output& c) { return ops::decode_jpeg(s, c); });
  EXPECT_EQ(t.dtype(), DType::u8);
  ASSERT_EQ(t.shape(), (Shape{8, 16, 3}));
  for (int64_t i = 0; i < t.num_elements(); ++i) EXPECT_NEAR(t.as_double(i), rgb[static_cast<size_t>(i)], 3) << i;
  Tensor g = run_on(jgray, [](const Scope& s, const Output& c) { return ops::decode_jpeg(s, c); });
  ASSERT_EQ(g.shape(), (Shape{8, 16, 1}));
  for (int64_t i = 0; i < g.num_elements(); ++i) EXPECT_NEAR(g.as_double(i), gray[static_cast<size_t>(i)], 3) << i;
  Tensor g3 = run_on(jgray, [](const Scope& s, const Output& c) { return ops::decode_jpeg(s, c, 3); });
  ASSERT_EQ(g3.shape(), (Shape{8, 16, 3}));
  EXPECT_EQ(g3.as_double(3), g3.as_double(4));
  EXPECT_EQ(g3.as_double(3), g3.as_double(5));
}

TEST(DecodeImage, PicksTheCodecFromTheBytes) {
  PngSpec spec{2, 1, 8, PNG_COLOR_TYPE_GRAY, {}, {}, false};
  const std::string png = libpng_encode(spec, {{0, 255}});
  Tensor p = run_on(png, [](const Scope& s, const Output& c) { return ops::decode_image(s, c, 0, DType::f32); });
  EXPECT_EQ(p.dtype(), DType::f32);
  EXPECT_EQ(p.shape(), (Shape{1, 2, 1}));
  EXPECT_EQ(p.as_double(0), 0.0);
  EXPECT_EQ(p.as_double(1), 1.0);
  const std::string jpg = make_jpeg(gradient_image(8, 8, 3), 8, 8, 3);
  Tensor j = run_on(jpg, [](const Scope& s, const Output& c) { return ops::decode_image(s, c); });
  EXPECT_EQ(j.shape(), (Shape{8, 8, 3}));
  EXPECT_NEAR(j.as_double(0), 20, 3);
  const std::string gif = error_of<Unimplemented>(
      [] { run_on("GIF89a\x01\x00", [](const Scope& s, const Output& c) { return ops::decode_image(s, c); }); });
  EXPECT_TRUE(contains(gif, "GIF")) << gif;
  const std::string junk = error_of<InvalidArgument>(
      [] { run_on("hello world", [](const Scope& s, const Output& c) { return ops::decode_image(s.named("img"), c); }); });
  EXPECT_TRUE(contains(junk, "img")) << junk;
  EXPECT_TRUE(contains(junk, "Unknown image file format")) << junk;
}

// ---- bad input: typed errors, bounded work ----

std::string png_error(const std::string& file) {
  return error_of<InvalidArgument>(
      [&] { run_on(file, [](const Scope& s, const Output& c) { return ops::decode_png(s.named("png"), c); }); });
}

uint32_t crc_of(const std::string& bytes) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

TEST(CodecErrors, CorruptTruncatedAndAbsurdPngs) {
  PngSpec spec{64, 64, 8, PNG_COLOR_TYPE_RGB, {}, {}, false};
  std::vector<std::vector<png_byte>> rows(64);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64 * 3; ++x) rows[static_cast<size_t>(y)].push_back(static_cast<png_byte>((x * 7 + y * 13) ^ (x * y)));
  const std::string good = libpng_encode(spec, rows);
  ASSERT_GT(good.size(), 200u);
  for (const std::string& bad : {good.substr(0, good.size() / 2), good.substr(0, 40), std::string("\x89PNG\r\n\x1a\n"),
                                 std::string("not a png at all")}) {
    const std::string msg = png_error(bad);
    EXPECT_TRUE(contains(msg, "png")) << msg;
    EXPECT_TRUE(contains(msg, "PNG")) << msg;
  }
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x55;  // inside IDAT: the CRC no longer matches
  EXPECT_TRUE(contains(png_error(flipped), "Invalid PNG data")) << png_error(flipped);

  // A header claiming 100000 x 100000 RGBA pixels (40 GB) over a 100-byte file: refused
  // from the header, before anything is allocated.
  std::string ihdr = "IHDR" + be32(100000) + be32(100000) + std::string("\x08\x06\x00\x00\x00", 5);
  std::string absurd = std::string("\x89PNG\r\n\x1a\n") + be32(13) + ihdr + be32(crc_of(ihdr));
  const std::string idat = "IDAT" + std::string(40, 'x');
  absurd += be32(40) + idat + be32(crc_of(idat));
  const std::string msg = png_error(absurd);
  EXPECT_TRUE(contains(msg, "declares 100000 x 100000")) << msg;

  // Channels and dtypes the op does not have are refused at build time.
  Graph g;
  Scope s(g);
  Output in = ops::placeholder(s, DType::string, Shape{});
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::decode_png(s.named("two"), in, 2); }), "channels must be 0, 1, 3 or 4"));
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::decode_jpeg(s, in, 4); }), "channels must be 0, 1, 3, got 4"));
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::decode_png(s, in, 0, DType::f32); }), "dtype must be uint8"));
  EXPECT_TRUE(contains(error_of<InvalidArgument>([&] { ops::decode_png(s, ops::placeholder(s, DType::string, Shape{1, 1})); }),
                       "scalar"));
}

TEST(CodecErrors, CorruptAndTruncatedJpegs) {
  const std::string good = make_jpeg(gradient_image(32, 32, 3), 32, 32, 3);
  auto jpeg_error = [](const std::string& f) {
    return error_of<InvalidArgument>(
        [&] { run_on(f, [](const Scope& s, const Output& c) { return ops::decode_jpeg(s.named("jpg"), c); }); });
  };
  for (const std::string& bad : {good.substr(0, good.size() * 2 / 3), good.substr(0, 10), std::string("\xff\xd8\xff"),
                                 std::string("GIF89a")}) {
    const std::string msg = jpeg_error(bad);
    EXPECT_TRUE(contains(msg, "jpg")) << msg;
    EXPECT_TRUE(contains(msg, "JPEG")) << msg;
  }
  // A frame header declaring 65000 x 65000 pixels on a few hundred bytes.
  std::string absurd = good;
  const size_t sof = absurd.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  absurd[sof + 5] = '\xfd', absurd[sof + 6] = '\xe8', absurd[sof + 7] = '\xfd', absurd[sof + 8] = '\xe8';
  const std::string msg = jpeg_error(absurd);
  EXPECT_TRUE(contains(msg, "declares 65000 x 65000")) << msg;
}

TEST(CodecOps, GraphFileRoundTrip) {
  Graph g;
  Scope s(g);
  Output in = ops::placeholder(s.named("b64"), DType::string, Shape{});
  Output img = ops::decode_png(s.named("img"), ops::decode_base64(s, in), 3, DType::u16);
  (void)img;
  testing::TempDir dir("codec_graph");
  const std::string path = (dir.path() / "g.json").string();
  io::write_graph(g, path);
  Graph g2 = io::read_graph(path);
  const Node* n = g2.operation("img").node();
  EXPECT_EQ(n->attr<int64_t>("channels"), 3);
  EXPECT_EQ(n->attr<DType>("dtype"), DType::u16);
  EXPECT_EQ(n->output_dtypes[0], DType::u16);
}

TEST(CodecOps, TfImporterMapsTheDecoders) {
  using namespace testing::tfpb;  // NOLINT(google-build-using-namespace): the GraphDef builder
  PngSpec spec{2, 1, 8, PNG_COLOR_TYPE_RGB, {}, {}, false};
  const std::string png = libpng_encode(spec, {{10, 20, 30, 40, 50, 60}});
  GraphBuilder gb;
  gb.placeholder("text", DT_STRING, {}).placeholder("raw", DT_STRING, {});
  gb.node("bytes", "DecodeBase64", {"text"});
  gb.node("png", "DecodePng", {"bytes"}, {{"channels", attr::i(3)}, {"dtype", attr::type(DT_UINT8)}});
  gb.node("any", "DecodeImage", {"bytes"}, {{"channels", attr::i(1)}});
  gb.node("jpg", "DecodeJpeg", {"raw"}, {{"channels", attr::i(3)}});
  gb.node("again", "EncodeBase64", {"bytes"}, {{"pad", attr::b(true)}});
  gb.node("bad", "DecodeJpeg", {"raw"}, {{"try_recover_truncated", attr::b(true)}});
  Graph g;
  const std::string msg = error_of<Unimplemented>([&] { io::import_tf_graph_def_bytes(g, gb.bytes()); });
  EXPECT_TRUE(contains(msg, "try_recover_truncated")) << msg;
  GraphBuilder ok;
  ok.placeholder("text", DT_STRING, {}).placeholder("raw", DT_STRING, {});
  ok.node("bytes", "DecodeBase64", {"text"});
  ok.node("png", "DecodePng", {"bytes"}, {{"channels", attr::i(3)}, {"dtype", attr::type(DT_UINT8)}});
  ok.node("any", "DecodeImage", {"bytes"}, {{"channels", attr::i(1)}});
  ok.node("jpg", "DecodeJpeg", {"raw"}, {{"channels", attr::i(3)}});
  ok.node("again", "EncodeBase64", {"bytes"}, {{"pad", attr::b(true)}});
  Graph g2;
  io::import_tf_graph_def_bytes(g2, ok.bytes());
  Session sess(g2);
  const std::string text = base64_encode(png, true, false);
  const std::string jpeg = make_jpeg(gradient_image(8, 8, 3), 8, 8, 3);
  auto r = sess.run({{"text:0", Tensor(text)}, {"raw:0", Tensor::from_strings({jpeg}, Shape{})}},
                    {"png:0", "any:0", "jpg:0", "again:0"});
  EXPECT_EQ(values(r[0]), (std::vector<int64_t>{10, 20, 30, 40, 50, 60}));
  EXPECT_EQ(r[1].shape(), (Shape{1, 2, 1}));
  EXPECT_EQ(r[2].shape(), (Shape{8, 8, 3}));
  EXPECT_EQ(r[3].string_at(0), base64_encode(png, true, true));
}

}  // namespace
}  // namespace sluice
