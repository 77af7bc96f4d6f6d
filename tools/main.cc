// The `sluice` program: a thin front end over the library. Subcommands register themselves
// (tools/command.h); this file only parses and maps failures to exit codes.
#include <iostream>
#include <string>

#include <sluice/sluice.h>

#include "command.h"

namespace sluice::cli {

std::vector<CommandAdder>& command_adders() {
  static std::vector<CommandAdder> adders;
  return adders;
}

}  // namespace sluice::cli

int main(int argc, char** argv) {
  CLI::App app{"sluice: inspect, run, convert, draw and serve models (Sluice, TensorFlow 1.x, ONNX)",
               "sluice"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  for (auto add : sluice::cli::command_adders()) add(app);
  std::string which = "sluice";
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Usage errors: CLI11 prints them (and --help output); a bad command line is exit 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const sluice::cli::CliExit& e) {
    return e.code;
  } catch (const std::exception& e) {
    for (const CLI::App* sub : app.get_subcommands()) which = "sluice " + sub->get_name();
    std::cerr << which << ": error: " << e.what() << "\n";
    return 2;
  }
}
