// The codec op family (ops/codec_ops.h) in the NaN/Inf table: none takes a float.
#include "op_numerics.h"

namespace sluice::testing {
namespace {

std::vector<NumericsRow> codec_rows() {
  return join({
      exempt("DecodeBase64", "string inputs only"),
      exempt("EncodeBase64", "string inputs only"),
      exempt("DecodePng", "string inputs only"),
      exempt("DecodeJpeg", "string inputs only"),
      exempt("DecodeImage", "string inputs only"),
      exempt("EncodePng", "uint8/uint16 inputs only"),
  });
}

const bool registered = register_numerics_rows(codec_rows);

}  // namespace
}  // namespace sluice::testing
