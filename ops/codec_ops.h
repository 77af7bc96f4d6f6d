// Byte codecs on string tensors, TensorFlow 1.x's tf.io / tf.image decode and encode ops:
// base64 (web-safe alphabet), PNG (Debian's libspng) and JPEG (libjpeg-turbo's TurboJPEG).
// None is differentiable: they move between bytes and pixels.
//
// The image decoders take one encoded image (a string scalar, as TensorFlow) and give
// [H, W, C]; a string vector [N] of images that all have the same size gives [N, H, W, C]
// (a batch from a serving request; TensorFlow would need map_fn). Everything read from the
// bytes is checked before memory is allocated: a corrupt or truncated image, an unsupported
// channel count or a declared size the data cannot hold (more than kMaxImageExpansion decoded
// bytes per encoded byte, or above max_allocation_bytes()) is InvalidArgument naming the node
// and the element, never a crash or a huge allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "../graph/scope.h"

namespace sluice {

// The most decoded bytes an encoded image byte can stand for (deflate tops out near 1032:1;
// JPEG needs at least a bit per 8x8 block): a header claiming more is refused unread.
constexpr uint64_t kMaxImageExpansion = 1100;

// Base64 of `bytes`: web_safe uses TensorFlow's alphabet ('-' and '_' for '+' and '/'), else
// the standard one (RFC 4648, what TF Serving's {"b64": ...} JSON values use). pad adds '='.
std::string base64_encode(std::string_view bytes, bool web_safe, bool pad);
// The bytes of base64 `text` in the given alphabet; '=' padding is optional but, when
// present, must be complete and last. InvalidArgument ("Invalid character found in base64."
// or "Invalid base64 length ...") otherwise. Whitespace is not skipped (as TensorFlow).
std::string base64_decode(std::string_view text, bool web_safe);

namespace ops {

// TF DecodeBase64: string [...] of web-safe base64 -> string [...] of bytes.
Output decode_base64(const Scope& scope, const Output& input);
// TF EncodeBase64: string [...] of bytes -> string [...] of web-safe base64 (pad: '=').
Output encode_base64(const Scope& scope, const Output& input, bool pad = false);

// TF DecodePng: contents string [] (or [N]) -> dtype [H, W, C] (or [N, H, W, C]).
// channels 0: the file's own (gray 1, gray+alpha 2, RGB and palette 3, RGBA and palette with
// transparency 4); 1: gray (RGB files mixed as libpng's rgb_to_gray, 0.2126/0.7152/0.0722);
// 3: RGB (alpha dropped, gray replicated); 4: RGBA (alpha 255/65535 when absent).
// dtype uint8 or uint16: 16-bit files give their high byte as uint8, 8-bit files scale by 257
// to uint16 (so full white stays full white).
Output decode_png(const Scope& scope, const Output& contents, int64_t channels = 0,
                  DType dtype = DType::u8);
// TF EncodePng: image uint8 or uint16 [H, W, C], C in 1..4 -> string [] (a PNG file).
// compression: zlib level 0..9, -1 for the library's default.
Output encode_png(const Scope& scope, const Output& image, int64_t compression = -1);
// TF DecodeJpeg: contents string [] (or [N]) -> uint8 [H, W, C]; channels 0 (the file's: 1
// for grayscale, else 3), 1 or 3. Truncated or corrupt data is an error (TensorFlow's
// try_recover_truncated = false).
Output decode_jpeg(const Scope& scope, const Output& contents, int64_t channels = 0);
// TF DecodeImage: PNG or JPEG, chosen from the first bytes -> dtype [H, W, C]; dtype uint8,
// uint16 or float32 (float32 is the uint8/uint16 value over 255/65535, as
// convert_image_dtype). GIF and BMP are Unimplemented; anything else InvalidArgument.
Output decode_image(const Scope& scope, const Output& contents, int64_t channels = 0,
                    DType dtype = DType::u8);

}  // namespace ops
}  // namespace sluice
