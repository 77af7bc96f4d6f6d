// Byte codec ops: declaration, shape function and CPU kernel of each (none differentiable).
//
//   DecodeBase64(input) -> output       EncodeBase64(input) -> output      (attr pad)
//   DecodePng(contents) -> image        (attrs channels, dtype)
//   EncodePng(image) -> contents        (attr compression)
//   DecodeJpeg(contents) -> image       (attr channels)
//   DecodeImage(contents) -> image      (attrs channels, dtype)
//
// PNG goes through libspng, JPEG through TurboJPEG. Both decoders are handed the whole
// buffer; before either allocates pixels, the header's size is checked against what the
// encoded bytes can hold (kMaxImageExpansion) and against max_allocation_bytes().
#include "codec_ops.h"

#include <spng.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "../runtime/allocator.h"
#include "kernel_util.h"

namespace sluice {

namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kWeb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string base64_encode(std::string_view bytes, bool web_safe, bool pad) {
  const char* alphabet = web_safe ? kWeb : kStd;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (rest == 2 ? uint32_t{b[i + 1]} << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(3 - rest, '=');
  }
  return out;
}

std::string base64_decode(std::string_view text, bool web_safe) {
  // Padding: only at the end, and only to complete the last group of four.
  size_t n = text.size();
  if (n % 4 == 0 && n > 0 && text[n - 1] == '=') {
    --n;
    if (text[n - 1] == '=') --n;
  }
  int8_t value[256];
  std::memset(value, -1, sizeof value);
  const char* alphabet = web_safe ? kWeb : kStd;
  for (int k = 0; k < 64; ++k) value[static_cast<unsigned char>(alphabet[k])] = static_cast<int8_t>(k);
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const int8_t v = value[static_cast<unsigned char>(text[i])];
    SLUICE_REQUIRE(v >= 0, InvalidArgument, "Invalid character found in base64 (byte ", i, ": 0x",
                   "0123456789abcdef"[static_cast<unsigned char>(text[i]) >> 4],
                   "0123456789abcdef"[static_cast<unsigned char>(text[i]) & 15],
                   web_safe ? "; the web-safe alphabet uses '-' and '_')" : ")");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  SLUICE_REQUIRE(n % 4 != 1, InvalidArgument, "Invalid base64 length ", text.size(),
                 ": a group of four characters is cut after one");
  return out;
}

namespace {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

// ---- base64 ----

void same_shape_string(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::string, InvalidArgument, "input must be a string tensor, got ",
                 dtype_name(ctx.input_dtype(0)));
  ctx.add_output(DType::string, ctx.input_shape(0));
}

template <class F>
void map_strings(KernelContext& ctx, F&& f) {
  const Tensor& in = ctx.input(0);
  const int64_t n = in.num_elements();
  std::vector<std::string> out(static_cast<size_t>(n));
  uint64_t bytes = 0;
  for (int64_t i = 0; i < n; ++i) {
    try {
      out[static_cast<size_t>(i)] = f(in.string_at(i));
    } catch (const Error& e) {
      if (n == 1) throw;
      throw_error(e.code(), detail::str_cat("element ", i, ": ", e.what()));
    }
    bytes += out[static_cast<size_t>(i)].size();
  }
  check_string_tensor_size(n, bytes, ctx.node().name);
  ctx.set_output(0, Tensor::from_strings(std::move(out), in.shape()));
}

void decode_base64_kernel(KernelContext& ctx) {
  map_strings(ctx, [](const std::string& s) { return base64_decode(s, true); });
}

void encode_base64_kernel(KernelContext& ctx) {
  const bool pad = ctx.attr<bool>("pad");
  map_strings(ctx, [pad](const std::string& s) { return base64_encode(s, true, pad); });
}

// ---- image decoding, shared ----

// One decoded image: h x w x c samples of 1 or 2 bytes, row-major.
struct Pixels {
  int64_t h = 0, w = 0, c = 0;
  int bytes = 1;  // 1 (uint8) or 2 (uint16)
  std::vector<unsigned char> data;
};

// Refuses an image whose decoded size the encoded bytes cannot hold, or that is larger
// than the allocator allows (before anything is allocated for it).
void check_declared_size(uint64_t w, uint64_t h, uint64_t bytes_per_pixel, uint64_t raw_bytes,
                         size_t encoded_size, const char* format) {
  SLUICE_REQUIRE(w > 0 && h > 0, InvalidArgument, "Invalid ", format, " data: width ", w, ", height ", h);
  SLUICE_REQUIRE(w <= (uint64_t{1} << 31) && h <= (uint64_t{1} << 31), InvalidArgument, format,
                 " image too large: ", w, " x ", h);
  const uint64_t limit = kMaxImageExpansion * static_cast<uint64_t>(encoded_size) + 65536;
  SLUICE_REQUIRE(raw_bytes <= limit, InvalidArgument, "Invalid ", format, " data: the header declares ", w,
                 " x ", h, " pixels (", raw_bytes, " bytes) but the file has only ", encoded_size,
                 " bytes, which cannot hold that much");
  const uint64_t pixels = w * h;  // < 2^62
  SLUICE_REQUIRE(pixels <= max_allocation_bytes() / bytes_per_pixel, ResourceExhausted, format,
                 " image of ", w, " x ", h, " pixels exceeds the allocation limit of ",
                 max_allocation_bytes(), " bytes");
}

void require_channels(int64_t channels, bool png) {
  SLUICE_REQUIRE(channels == 0 || channels == 1 || channels == 3 || (png && channels == 4), InvalidArgument,
                 "channels must be 0, 1, 3", png ? " or 4" : "", ", got ", channels);
}

// RGBA (4 samples of type T per pixel) -> `channels` samples per pixel. `gray_source`:
// the file is grayscale (R = G = B), so gray output copies R instead of mixing.
template <class T>
void from_rgba(const T* rgba, int64_t pixels, int64_t channels, bool gray_source, T* out) {
  for (int64_t p = 0; p < pixels; ++p, rgba += 4) {
    switch (channels) {
      case 1:
        if (gray_source) {
          out[p] = rgba[0];
        } else {  // libpng's png_set_rgb_to_gray default weights, in 1/32768ths, rounded
          const uint64_t v = 6968u * rgba[0] + 23434u * rgba[1] + 2366u * rgba[2] + 16384u;
          out[p] = static_cast<T>(v >> 15);
        }
        break;
      case 2:
        out[2 * p] = rgba[0], out[2 * p + 1] = rgba[3];
        break;
      case 3:
        std::memcpy(out + 3 * p, rgba, 3 * sizeof(T));
        break;
      default:
        std::memcpy(out + 4 * p, rgba, 4 * sizeof(T));
        break;
    }
  }
}

// ---- PNG ----

struct SpngFree {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};

void spng_check(int err, const char* what) {
  SLUICE_REQUIRE(err == 0, InvalidArgument, "Invalid PNG data (", what, ": ", spng_strerror(err), ")");
}

bool is_png(const std::string& s) { return s.size() >= 8 && std::memcmp(s.data(), "\x89PNG\r\n\x1a\n", 8) == 0; }
bool is_jpeg(const std::string& s) { return s.size() >= 3 && std::memcmp(s.data(), "\xff\xd8\xff", 3) == 0; }

Pixels decode_png_bytes(const std::string& file, int64_t channels, int sample_bytes) {
  SLUICE_REQUIRE(is_png(file), InvalidArgument, "Invalid PNG data: the ", file.size(),
                 "-byte input does not start with the PNG signature");
  std::unique_ptr<spng_ctx, SpngFree> ctx(spng_ctx_new(0));
  SLUICE_REQUIRE(ctx, ResourceExhausted, "libspng could not make a decoder");
  spng_check(spng_set_png_buffer(ctx.get(), file.data(), file.size()), "buffer");
  // Text and ICC chunks are decompressed into a cache: bound it by the file's size.
  spng_check(spng_set_chunk_limits(ctx.get(), file.size(), std::min<size_t>(file.size() * 4, size_t{1} << 26)),
             "limits");
  spng_ihdr ihdr{};
  spng_check(spng_get_ihdr(ctx.get(), &ihdr), "header");
  int own = 3;
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE: own = 1; break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: own = 2; break;
    case SPNG_COLOR_TYPE_TRUECOLOR: own = 3; break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA: own = 4; break;
    default: {  // indexed: RGB, or RGBA when it carries transparency
      spng_trns trns{};
      own = spng_get_trns(ctx.get(), &trns) == 0 ? 4 : 3;
    }
  }
  const bool gray = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
                    ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
  const int64_t c = channels == 0 ? own : channels;
  // The file's own raw size (filter byte + packed samples per row) bounds what it can hold.
  const uint64_t samples = ihdr.color_type == SPNG_COLOR_TYPE_INDEXED ? 1 : static_cast<uint64_t>(own);
  const uint64_t row_bits = uint64_t{ihdr.width} * samples * ihdr.bit_depth;
  const uint64_t raw = uint64_t{ihdr.height} * (1 + (row_bits + 7) / 8);
  const int wide = std::max(sample_bytes, ihdr.bit_depth == 16 ? 2 : 1);  // the RGBA buffer's samples
  check_declared_size(ihdr.width, ihdr.height, 4 * static_cast<uint64_t>(wide), raw, file.size(), "PNG");

  const int fmt = wide == 2 ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
  size_t size = 0;
  spng_check(spng_decoded_image_size(ctx.get(), fmt, &size), "size");
  std::vector<unsigned char> rgba(size);
  spng_check(spng_decode_image(ctx.get(), rgba.data(), size, fmt, SPNG_DECODE_TRNS), "decode");

  Pixels px;
  px.h = ihdr.height, px.w = ihdr.width, px.c = c, px.bytes = sample_bytes;
  const int64_t pixels = px.h * px.w;
  px.data.resize(static_cast<size_t>(pixels * c * sample_bytes));
  if (wide == 1) {
    from_rgba(rgba.data(), pixels, c, gray, px.data.data());
    return px;
  }
  // RGBA16 comes in host order; 8-bit files become 16-bit as v * 257 (spng's conversion is
  // not relied on), 16-bit files become 8-bit by their high byte (libpng's strip_16).
  auto* wide_px = reinterpret_cast<uint16_t*>(rgba.data());
  if (ihdr.bit_depth != 16 && sample_bytes == 2) {
    // spng widens 8-bit samples to 16 bits in an unspecified way: take the high byte back
    // (v * 257 and v << 8 both keep it) and scale it exactly.
    for (int64_t i = 0; i < pixels * 4; ++i) wide_px[i] = static_cast<uint16_t>((wide_px[i] >> 8) * 257);
  }
  if (sample_bytes == 2) {
    from_rgba(wide_px, pixels, c, gray, reinterpret_cast<uint16_t*>(px.data.data()));
  } else {
    std::vector<uint8_t> narrow(static_cast<size_t>(pixels * 4));
    for (int64_t i = 0; i < pixels * 4; ++i) narrow[static_cast<size_t>(i)] = static_cast<uint8_t>(wide_px[i] >> 8);
    from_rgba(narrow.data(), pixels, c, gray, px.data.data());
  }
  return px;
}

// ---- JPEG ----

struct TjFree {
  void operator()(void* h) const { tjDestroy(h); }
};

Pixels decode_jpeg_bytes(const std::string& file, int64_t channels) {
  SLUICE_REQUIRE(is_jpeg(file), InvalidArgument, "Invalid JPEG data: the ", file.size(),
                 "-byte input does not start with a JPEG SOI marker");
  std::unique_ptr<void, TjFree> tj(tjInitDecompress());
  SLUICE_REQUIRE(tj, ResourceExhausted, "TurboJPEG could not make a decoder");
  auto* buf = reinterpret_cast<const unsigned char*>(file.data());
  const auto size = static_cast<unsigned long>(file.size());  // NOLINT(runtime/int): TurboJPEG's type
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  SLUICE_REQUIRE(tjDecompressHeader3(tj.get(), buf, size, &w, &h, &subsamp, &colorspace) == 0, InvalidArgument,
                 "Invalid JPEG data (header: ", tjGetErrorStr2(tj.get()), ")");
  const int64_t c = channels == 0 ? (colorspace == TJCS_GRAY ? 1 : 3) : channels;
  const uint64_t out_bytes = static_cast<uint64_t>(std::max(w, 0)) * static_cast<uint64_t>(std::max(h, 0)) *
                             static_cast<uint64_t>(c);
  check_declared_size(static_cast<uint64_t>(std::max(w, 0)), static_cast<uint64_t>(std::max(h, 0)),
                      static_cast<uint64_t>(c), out_bytes, file.size(), "JPEG");
  Pixels px;
  px.h = h, px.w = w, px.c = c, px.bytes = 1;
  px.data.resize(static_cast<size_t>(out_bytes));
  // TensorFlow's defaults: fast integer DCT, fancy upsampling; a warning (truncated data) fails.
  const int flags = TJFLAG_FASTDCT | TJFLAG_STOPONWARNING;
  SLUICE_REQUIRE(tjDecompress2(tj.get(), buf, size, px.data.data(), w, 0, h, c == 1 ? TJPF_GRAY : TJPF_RGB,
                               flags) == 0,
                 InvalidArgument, "Invalid JPEG data (", tjGetErrorStr2(tj.get()), ")");
  return px;
}

// ---- the decode kernels ----

enum class Codec { png, jpeg, any };

Codec codec_of(const std::string& op) {
  if (op == "DecodePng") return Codec::png;
  if (op == "DecodeJpeg") return Codec::jpeg;
  return Codec::any;
}

Pixels decode_one(Codec codec, const std::string& file, int64_t channels, DType dtype) {
  const int bytes = dtype == DType::u16 ? 2 : 1;
  if (codec == Codec::png) return decode_png_bytes(file, channels, bytes);
  if (codec == Codec::jpeg) return decode_jpeg_bytes(file, channels);
  if (is_png(file)) return decode_png_bytes(file, channels, bytes);
  if (is_jpeg(file)) {
    SLUICE_REQUIRE(channels != 4, InvalidArgument, "channels 4 is not supported for JPEG images");
    Pixels px = decode_jpeg_bytes(file, channels);
    if (bytes == 2) {  // JPEG is 8-bit: widen as convert_image_dtype does (v * 257)
      std::vector<unsigned char> wide(px.data.size() * 2);
      auto* w = reinterpret_cast<uint16_t*>(wide.data());
      for (size_t i = 0; i < px.data.size(); ++i) w[i] = static_cast<uint16_t>(px.data[i] * 257);
      px.data.swap(wide);
      px.bytes = 2;
    }
    return px;
  }
  SLUICE_REQUIRE(!(file.size() >= 4 && std::memcmp(file.data(), "GIF8", 4) == 0), Unimplemented,
                 "GIF images are not supported by decode_image (PNG and JPEG are)");
  SLUICE_REQUIRE(!(file.size() >= 2 && std::memcmp(file.data(), "BM", 2) == 0), Unimplemented,
                 "BMP images are not supported by decode_image (PNG and JPEG are)");
  throw InvalidArgument(detail::str_cat("Unknown image file format (", file.size(),
                                        " bytes). One of JPEG, PNG required."));
}

void decode_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::string, InvalidArgument, "contents must be a string tensor, got ",
                 dtype_name(ctx.input_dtype(0)));
  const Codec codec = codec_of(ctx.node().op_type());
  const int64_t channels = ctx.attr_int("channels");
  require_channels(channels, codec != Codec::jpeg);
  DType dtype = DType::u8;
  if (codec != Codec::jpeg) {
    dtype = ctx.attr<DType>("dtype");
    SLUICE_REQUIRE(dtype == DType::u8 || dtype == DType::u16 || (codec == Codec::any && dtype == DType::f32),
                   InvalidArgument, "dtype must be uint8", codec == Codec::any ? ", uint16 or float32" : " or uint16",
                   ", got ", dtype_name(dtype));
  }
  const Shape& in = ctx.input_shape(0);
  SLUICE_REQUIRE(!in.known_rank() || in.rank() <= 1, InvalidArgument,
                 "contents must be a scalar (one image) or a vector (a batch of equal-sized images), got ",
                 in.to_string());
  const int64_t c = channels == 0 ? -1 : channels;
  if (!in.known_rank()) ctx.add_output(dtype, Shape::unknown_rank());
  else if (in.rank() == 0) ctx.add_output(dtype, Shape{-1, -1, c});
  else ctx.add_output(dtype, Shape{in.dim(0), -1, -1, c});
}

void decode_kernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Codec codec = codec_of(ctx.node().op_type());
  const int64_t channels = ctx.attr_int("channels");
  const DType dtype = codec == Codec::jpeg ? DType::u8 : ctx.attr<DType>("dtype");
  SLUICE_REQUIRE(in.rank() <= 1, InvalidArgument, "contents must be a scalar or a vector, got ", in.summary());
  const int64_t n = in.num_elements();
  if (in.rank() == 1 && n == 0) {
    ctx.allocate_output(0, Shape{0, 0, 0, channels});
    return;
  }
  Tensor* out = nullptr;
  Pixels first;
  for (int64_t i = 0; i < n; ++i) {
    Pixels px;
    try {
      px = decode_one(codec, in.string_at(i), channels, dtype);
    } catch (const Error& e) {
      if (in.rank() == 0) throw;
      throw_error(e.code(), detail::str_cat("image ", i, ": ", e.what()));
    }
    if (i == 0) {
      first = px;
      const Shape shape = in.rank() == 0 ? Shape{px.h, px.w, px.c} : Shape{n, px.h, px.w, px.c};
      out = &ctx.allocate_output(0, shape);
    } else {
      SLUICE_REQUIRE(px.h == first.h && px.w == first.w && px.c == first.c, InvalidArgument, "image ", i, " is ",
                     px.h, "x", px.w, "x", px.c, " but image 0 is ", first.h, "x", first.w, "x", first.c,
                     ": a batch of images must share one size");
    }
    const int64_t count = px.h * px.w * px.c, at = i * count;
    if (dtype == DType::f32) {  // convert_image_dtype: v / max
      float* o = out->data<float>() + at;
      if (px.bytes == 1) {
        for (int64_t k = 0; k < count; ++k) o[k] = static_cast<float>(px.data[static_cast<size_t>(k)]) / 255.0f;
      } else {
        const auto* w = reinterpret_cast<const uint16_t*>(px.data.data());
        for (int64_t k = 0; k < count; ++k) o[k] = static_cast<float>(w[k]) / 65535.0f;
      }
    } else {
      std::memcpy(static_cast<unsigned char*>(out->raw_data()) + at * px.bytes, px.data.data(), px.data.size());
    }
  }
}

// ---- PNG encoding ----

void encode_png_shape(ShapeContext& ctx) {
  const DType d = ctx.input_dtype(0);
  SLUICE_REQUIRE(d == DType::u8 || d == DType::u16, InvalidArgument, "image must be uint8 or uint16, got ",
                 dtype_name(d));
  const Shape& s = ctx.input_shape(0);
  SLUICE_REQUIRE(!s.known_rank() || s.rank() == 3, InvalidArgument, "image must be 3-D [H, W, C], got ",
                 s.to_string());
  SLUICE_REQUIRE(!s.known_rank() || s.dim(2) < 0 || (s.dim(2) >= 1 && s.dim(2) <= 4), InvalidArgument,
                 "image must have 1 to 4 channels, got ", s.to_string());
  const int64_t level = ctx.attr_int("compression");
  SLUICE_REQUIRE(level >= -1 && level <= 9, InvalidArgument, "compression must be -1..9, got ", level);
  ctx.add_output(DType::string, Shape{});
}

void encode_png_kernel(KernelContext& ctx) {
  const Tensor& img = ctx.input(0);
  SLUICE_REQUIRE(img.rank() == 3 && img.dim(2) >= 1 && img.dim(2) <= 4, InvalidArgument,
                 "image must be [H, W, C] with 1 to 4 channels, got ", img.summary());
  SLUICE_REQUIRE(img.dim(0) > 0 && img.dim(1) > 0 && img.dim(0) < (int64_t{1} << 31) &&
                     img.dim(1) < (int64_t{1} << 31),
                 InvalidArgument, "PNG images need 1 to 2^31 - 1 rows and columns, got ", img.summary());
  const int c = static_cast<int>(img.dim(2));
  const bool wide = img.dtype() == DType::u16;
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(img.dim(1));
  ihdr.height = static_cast<uint32_t>(img.dim(0));
  ihdr.bit_depth = wide ? 16 : 8;
  static const uint8_t kColor[] = {SPNG_COLOR_TYPE_GRAYSCALE, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA,
                                   SPNG_COLOR_TYPE_TRUECOLOR, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
  ihdr.color_type = kColor[c - 1];
  std::unique_ptr<spng_ctx, SpngFree> sp(spng_ctx_new(SPNG_CTX_ENCODER));
  SLUICE_REQUIRE(sp, ResourceExhausted, "libspng could not make an encoder");
  auto check = [](int err, const char* what) {
    SLUICE_REQUIRE(err == 0, Internal, "PNG encoding failed (", what, ": ", spng_strerror(err), ")");
  };
  check(spng_set_option(sp.get(), SPNG_ENCODE_TO_BUFFER, 1), "buffer");
  const int64_t level = ctx.attr_int("compression");
  if (level >= 0) check(spng_set_option(sp.get(), SPNG_IMG_COMPRESSION_LEVEL, static_cast<int>(level)), "level");
  check(spng_set_ihdr(sp.get(), &ihdr), "header");
  // SPNG_FMT_PNG takes 16-bit samples in host order (libspng swaps them to the file's).
  const size_t bytes = static_cast<size_t>(img.num_elements()) * (wide ? 2 : 1);
  const void* src = img.raw_data();
  check(spng_encode_image(sp.get(), src, bytes, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), "encode");
  size_t len = 0;
  int err = 0;
  void* png = spng_get_png_buffer(sp.get(), &len, &err);
  check(err, "buffer");
  std::unique_ptr<void, void (*)(void*)> owned(png, std::free);
  check_string_tensor_size(1, len, ctx.node().name);
  ctx.set_output(0, Tensor::from_strings({std::string(static_cast<const char*>(png), len)}, Shape{}));
}

Output decoder(const Scope& s, const char* type, const Output& contents, int64_t channels, DType dtype,
               bool has_dtype) {
  NodeBuilder b(s, type);
  b.input(contents).attr("channels", channels);
  if (has_dtype) b.attr("dtype", dtype);
  return b.finish().output(0);
}

}  // namespace

void register_codec_ops(OpRegistry& r) {
  r.op("DecodeBase64").input("input").output("output")
      .shape_fn(same_shape_string).kernel(decode_base64_kernel).not_differentiable().supports_strings();
  r.op("EncodeBase64").input("input").output("output").attr("pad", false)
      .shape_fn(same_shape_string).kernel(encode_base64_kernel).not_differentiable().supports_strings();
  r.op("DecodePng").input("contents").output("image").attr("channels", int64_t{0}).attr("dtype", DType::u8)
      .shape_fn(decode_shape).kernel(decode_kernel).not_differentiable().supports_strings();
  r.op("DecodeJpeg").input("contents").output("image").attr("channels", int64_t{0})
      .shape_fn(decode_shape).kernel(decode_kernel).not_differentiable().supports_strings();
  r.op("DecodeImage").input("contents").output("image").attr("channels", int64_t{0}).attr("dtype", DType::u8)
      .shape_fn(decode_shape).kernel(decode_kernel).not_differentiable().supports_strings();
  r.op("EncodePng").input("image").output("contents").attr("compression", int64_t{-1})
      .shape_fn(encode_png_shape).kernel(encode_png_kernel).not_differentiable().supports_strings();
}

namespace ops {

Output decode_base64(const Scope& s, const Output& input) {
  return NodeBuilder(s, "DecodeBase64").input(input).finish().output(0);
}

Output encode_base64(const Scope& s, const Output& input, bool pad) {
  return NodeBuilder(s, "EncodeBase64").input(input).attr("pad", pad).finish().output(0);
}

Output decode_png(const Scope& s, const Output& contents, int64_t channels, DType dtype) {
  return decoder(s, "DecodePng", contents, channels, dtype, true);
}

Output encode_png(const Scope& s, const Output& image, int64_t compression) {
  return NodeBuilder(s, "EncodePng").input(image).attr("compression", compression).finish().output(0);
}

Output decode_jpeg(const Scope& s, const Output& contents, int64_t channels) {
  return decoder(s, "DecodeJpeg", contents, channels, DType::u8, false);
}

Output decode_image(const Scope& s, const Output& contents, int64_t channels, DType dtype) {
  return decoder(s, "DecodeImage", contents, channels, dtype, true);
}

}  // namespace ops
}  // namespace sluice
