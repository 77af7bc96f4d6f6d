// ONNX import: an ONNX model file (as PyTorch and most frameworks export them) becomes
// ordinary nodes of a Sluice graph, so everything Sluice does with graphs (sessions,
// autodiff and optimizers, freezing, bundles, serving, several models side by side) works on
// it. Parsed with Debian's libonnx (the ONNX protobuf classes and op schemas); no ONNX
// Runtime. The op table is docs/onnx_ops.md.
//
//   Graph g;
//   io::ImportResult r = io::import_onnx(g, "resnet18.onnx",
//                                        {"resnet", {}, {"output:0"}});   // prefix, input map, returns
//   Session sess(g);
//   Tensor y = sess.run({{io::onnx_tensor_name("input", "resnet"), x}}, {r.tensors[0]})[0];
//
//   io::LoadedModel m = io::load_model("resnet18.onnx");               // or as a model
//   Tensor y2 = m.run("serving_default", {{"input", x}}).at("output");
//
// Names. Every ONNX value (graph input, initializer, node output) is the tensor
// `<ONNX name>:0` of the import, in ONNX's layout and dtype, whatever is built underneath:
// input maps and return elements take these names, and the `serving_default` signature is
// keyed by the graph's input and output names. In the Sluice graph the value is output 0 of
// a node named after it: the ONNX name itself when it is a valid Sluice name ("input.1",
// "conv1.weight", "output"); otherwise characters Sluice names cannot hold (and '-') are
// written as '-' and two hex digits ("onnx::Conv_12" -> "onnx-3a-3aConv_12", a leading or
// doubled '/' -> "-2f"), so distinct ONNX names stay distinct. onnx_tensor_name() gives that
// name. With a prefix, every node is "<prefix>/<name>".
//
// Layout. ONNX images are NCHW, Sluice's convolution, pooling and batch-normalization
// kernels are NHWC. The importer tracks the layout of every value: the output of a
// convolution is held channels-last, layout-agnostic ops (elementwise, activations) keep
// it, and ops that care about axes either adapt them (Concat, reductions, Slice, ...) or
// read the value in ONNX order. Channels-last values are converted back only where an ONNX-
// order reader needs them, once per value. Their `<name>:0` node is a transpose (a reshape
// when the moved dims are 1) that the session computes only when it is fetched or read.
// Feeding `<name>:0` of such a value at run time does not reach the ops that read the
// channels-last form: to replace one of them, use the input map at import time (mapped
// values are held in ONNX order). Feeding graph inputs, initializers and every value held
// in ONNX order works as for any tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../bundle.h"
#include "../graph_io.h"

namespace sluice::io {

// Limits on what an ONNX file may hold (files are untrusted input: past these, DataLoss
// before memory is spent on it). Protobuf cannot parse messages past 2 GiB anyway.
inline constexpr int64_t kMaxOnnxFileBytes = (int64_t{1} << 31) - 1;
inline constexpr int64_t kMaxOnnxNodes = int64_t{1} << 20;
inline constexpr int kMaxOnnxRank = Shape::kMaxRank;  // 8: the most a Sluice tensor has

// Imports the ONNX model at `path` into `into`. All or nothing: the model is checked
// (structure, every op type against the op table, attributes), then built into a scratch
// graph, then added to `into` in one step, so a failed import leaves `into` unchanged.
//
// options.prefix: names every node "<prefix>/...". options.input_map: keys are ONNX value
// names "<name>:0" (graph inputs, initializers or any node output; a bare "<name>" works
// too); the mapped Output replaces the value for every node that reads it (dtypes equal,
// static shapes compatible). options.return_elements: "<name>:0" of ONNX values, returned
// in `tensors`. options.trainable: float initializers become trainable variables (in the
// global and trainable collections, initialised to the file's values by
// global_variables_initializer) instead of constants, so the model can be fine-tuned;
// batch normalization's running mean and variance become variables that are not trainable,
// and integer initializers (shapes, indices) stay constants.
// The result's signatures hold "serving_default": the graph inputs that are not
// initializers and the graph outputs, keyed by their ONNX names.
//
// Errors: NotFound (no file), DataLoss (not a protobuf ModelProto, or a model that is
// malformed: undefined inputs, duplicate names, tensor data that disagrees with its dims),
// Unimplemented (one error listing every op type the table lacks, as "Type (domain,
// version N)", and per node the attribute combinations it cannot map yet, before anything is
// built; also unsupported tensor types and opsets outside 6..17), InvalidArgument (shape and
// dtype errors of the model, naming the ONNX node), AlreadyExists (a name taken in `into`).
// Every message names the file.
ImportResult import_onnx(Graph& into, const std::string& path, const ImportOptions& options = {});

// As import_onnx on the bytes of a model file; `source` names it in messages.
ImportResult import_onnx_bytes(Graph& into, const std::string& bytes, const ImportOptions& options = {},
                               const std::string& source = "<memory>");

// The model at `path` (a .onnx file) as a LoadedModel: its own graph and session, and the
// signature "serving_default" keyed by the graph's input and output names. io::load_model
// calls this for paths ending in ".onnx". Errors as import_onnx.
LoadedModel load_onnx_model(const std::string& path, SessionOptions options = {});

// The Sluice tensor name ("node:0") under which an import with `prefix` holds the ONNX
// value `onnx_name` (see "Names" above): onnx_tensor_name("onnx::Conv_12") is
// "onnx-3a-3aConv_12:0", onnx_tensor_name("x", "m1") is "m1/x:0".
std::string onnx_tensor_name(const std::string& onnx_name, const std::string& prefix = "");

// Reads one serialized ONNX TensorProto file (the input_N.pb / output_N.pb files of ONNX's
// test data) into a Tensor. Errors: NotFound, DataLoss (malformed, data size disagrees with
// dims), Unimplemented (a tensor type Sluice has no dtype for, external data).
Tensor read_onnx_tensor(const std::string& path);

// One row of the op table (what docs/onnx_ops.md lists).
struct OnnxOpInfo {
  std::string op_type;  // "Conv"
  std::string notes;    // versions and attributes handled, and what is not yet
};
// Every ONNX op type (default domain) the importer maps, sorted by name.
std::vector<OnnxOpInfo> onnx_supported_ops();

}  // namespace sluice::io
