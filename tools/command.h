// The `sluice` command's subcommands. Each lives in its own tools/cmd_<name>.cc and registers
// itself with SLUICE_CLI_COMMAND, so adding one never touches another file:
//
//   void add_inspect(CLI::App& app) {
//     CLI::App* sub = app.add_subcommand("inspect", "Print what a model file holds");
//     auto opts = std::make_shared<InspectOptions>();
//     sub->add_option("path", opts->path, "model file or folder")->required();
//     sub->callback([opts] { run_inspect(*opts); });
//   }
//   SLUICE_CLI_COMMAND(add_inspect);
//
// A callback reports failure by throwing: sluice::Error (and std::exception) become one line
// `sluice <subcommand>: error: <message>` on stderr and exit code 2; CliExit ends the program
// with a chosen code and no message (e.g. a comparison that found differences).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace sluice::cli {

using CommandAdder = void (*)(CLI::App& app);

// Every registered adder, in registration order (static initialization order across files
// is unspecified; main sorts the subcommands by name for --help).
std::vector<CommandAdder>& command_adders();

inline bool register_command(CommandAdder add) {
  command_adders().push_back(add);
  return true;
}

// Thrown by a subcommand to exit with `code` without printing anything more.
struct CliExit {
  int code;
};

}  // namespace sluice::cli

#define SLUICE_CLI_CONCAT_(a, b) a##b
#define SLUICE_CLI_CONCAT(a, b) SLUICE_CLI_CONCAT_(a, b)
// Registers `fn` (a CommandAdder) with the `sluice` program.
#define SLUICE_CLI_COMMAND(fn) \
  static const bool SLUICE_CLI_CONCAT(sluice_cli_registered_, __LINE__) = ::sluice::cli::register_command(fn)
