// Helpers of the drawing subcommands: external programs (Graphviz's dot, gnuplot), DOT text.
#pragma once

#include <string>

#include <sluice/sluice.h>

namespace sluice::cli {

// "f32", "f64", "i32", "i64", "u8", "bool", "str".
std::string short_dtype(DType dtype);

// Runs `program` with `args` (each quoted for the shell), writing `input` to its standard
// input. Throws NotFound when the program is not installed and Internal (with the first
// line of its error output) when it fails.
void run_program(const std::string& program, const std::vector<std::string>& args, const std::string& input);

// The lower-cased extension of `path` without the dot ("svg"), or "".
std::string extension_of(const std::string& path);

// Writes `dot` to `out`: as is for .dot, rendered by Graphviz's dot for .svg and .png.
// InvalidArgument for another extension.
void render_dot(const std::string& dot, const std::string& out);

// DOT text of `graph`: scopes deeper than `depth` collapsed into boxes (cmd_graph.cc).
std::string graph_to_dot(const Graph& graph, int depth, const std::string& title);

}  // namespace sluice::cli
