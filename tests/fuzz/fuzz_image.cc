// libFuzzer target: the image and base64 decoders (ops/codec_ops.h) on arbitrary bytes,
// through real graphs: decode_png (uint8 and uint16), decode_jpeg, decode_image and
// decode_base64, with the channel count taken from the first byte. Every failure must be a
// typed sluice::Error other than Internal (allocations are capped, so an absurd declared size
// must be refused, not attempted); beyond that:
//   - an image decode_png accepts has the declared shape [H, W, C] with C as asked, and
//     encode_png of it decodes back to the same pixels,
//   - decode_image agrees with decode_png / decode_jpeg on the same bytes,
//   - decode_base64 of encode_base64 of any bytes is those bytes.
#include <map>
#include <memory>
#include <optional>

#include "fuzz_util.h"

namespace sluice::fuzz::image {

struct Graphs {
  Graph g;
  Output in, png8, png16, jpeg, any, b64_round, b64_decode;
  Output round_in, round_out;
  std::unique_ptr<Session> sess;
  int64_t channels;
};

inline Graphs& graphs(int64_t channels) {
  // One graph set per channel count (0, 1, 3, 4; JPEG gets 0, 1 or 3).
  static std::map<int64_t, std::unique_ptr<Graphs>> cache;
  auto& slot = cache[channels];
  if (!slot) {
    slot = std::make_unique<Graphs>();
    Graphs& gs = *slot;
    Scope s(gs.g);
    gs.channels = channels;
    gs.in = ops::placeholder(s.named("bytes"), DType::string, Shape{});
    gs.png8 = ops::decode_png(s.named("png8"), gs.in, channels);
    gs.png16 = ops::decode_png(s.named("png16"), gs.in, channels, DType::u16);
    gs.jpeg = ops::decode_jpeg(s.named("jpeg"), gs.in, channels == 4 ? 3 : channels);
    gs.any = ops::decode_image(s.named("any"), gs.in, channels == 4 ? 3 : channels);
    gs.b64_round = ops::decode_base64(s, ops::encode_base64(s, gs.in, channels == 1));
    gs.b64_decode = ops::decode_base64(s.named("b64"), gs.in);
    gs.round_in = ops::placeholder(s.named("pixels"), DType::u8, Shape{-1, -1, -1});
    gs.round_out = ops::decode_png(s, ops::encode_png(s, gs.round_in), channels);
    gs.sess = std::make_unique<Session>(gs.g);
  }
  return *slot;
}

inline std::optional<Tensor> try_run(Graphs& gs, const Tensor& bytes, const Output& out) {
  try {
    return gs.sess->run({{gs.in, bytes}}, {out})[0];
  } catch (const Error& e) {
    SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal);
    return std::nullopt;
  }
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  static const int64_t kChannels[] = {0, 1, 3, 4};
  const int64_t channels = size > 0 ? kChannels[data[0] % 4] : 0;
  Graphs& gs = graphs(channels);
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const Tensor bytes = Tensor::from_strings({raw}, Shape{});

  const auto png8 = try_run(gs, bytes, gs.png8);
  if (png8) {
    SLUICE_FUZZ_CHECK(png8->rank() == 3 && png8->dim(0) > 0 && png8->dim(1) > 0);
    SLUICE_FUZZ_CHECK(channels == 0 ? png8->dim(2) >= 1 && png8->dim(2) <= 4 : png8->dim(2) == channels);
    const Tensor back = gs.sess->run({{gs.round_in, *png8}}, {gs.round_out})[0];
    SLUICE_FUZZ_CHECK(back.equals(*png8));
  }
  const auto png16 = try_run(gs, bytes, gs.png16);
  if (png8 && png16) SLUICE_FUZZ_CHECK(png16->shape() == png8->shape());  // (the u16 decode may hit the cap alone)
  const auto jpeg = try_run(gs, bytes, gs.jpeg);
  const auto any = try_run(gs, bytes, gs.any);
  if (channels != 4) {
    if (png8) SLUICE_FUZZ_CHECK(any && any->equals(*png8));
    if (jpeg) SLUICE_FUZZ_CHECK(any && any->equals(*jpeg));
    if (!png8 && !jpeg) SLUICE_FUZZ_CHECK(!any);
  }
  const auto round = try_run(gs, bytes, gs.b64_round);
  SLUICE_FUZZ_CHECK(round && round->string_at(0) == raw);
  (void)try_run(gs, bytes, gs.b64_decode);
  return 0;
}

}  // namespace sluice::fuzz::image

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::image::run(data, size);
}
#endif
