// `sluice plot FILE... -o curves.svg|.png`: training curves from JSON-lines logs (one object
// per epoch: {"epoch": 1, "loss": 0.41, "accuracy": 0.86, "lr": 0.001, "seconds": 12.5}),
// drawn by gnuplot: loss and accuracy against epochs, several runs overlaid.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "command.h"
#include "model_util.h"
#include "tool_util.h"

namespace sluice::cli {
namespace {

struct PlotOptions {
  std::vector<std::string> logs;
  std::string out;
  std::string title = "Training curves";
};

struct Run {
  std::string name;
  // metric -> (epoch, value)
  std::map<std::string, std::vector<std::pair<double, double>>> series;
};

Run read_log(const std::string& path) {
  std::ifstream in(path);
  SLUICE_REQUIRE(in.good(), NotFound, "cannot open training log '", path, "'");
  Run run;
  run.name = std::filesystem::path(path).stem().string();
  std::string line;
  int line_no = 0, rows = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    SLUICE_REQUIRE(!j.is_discarded() && j.is_object(), DataLoss, "'", path, "' line ", line_no,
                   ": not a JSON object (a training log has one JSON object per epoch)");
    ++rows;
    const double epoch = j.contains("epoch") && j["epoch"].is_number() ? j["epoch"].get<double>() : rows;
    for (const auto& [key, v] : j.items())
      if (key != "epoch" && v.is_number()) run.series[key].emplace_back(epoch, v.get<double>());
  }
  SLUICE_REQUIRE(rows > 0, DataLoss, "'", path, "' holds no epochs");
  return run;
}

bool is_loss(const std::string& k) { return k.find("loss") != std::string::npos; }
bool is_accuracy(const std::string& k) { return k.find("acc") != std::string::npos; }

// A gnuplot string literal; `text` ones also escape the enhanced-text markup (_ ^ @ &).
std::string gp_quote(const std::string& s, bool text = true) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (text && (c == '_' || c == '@' || c == '^' || c == '&')) r += "\\\\";
    r += c;
  }
  return r + "\"";
}

void plot(const PlotOptions& o) {
  std::vector<Run> runs;
  for (const std::string& f : o.logs) runs.push_back(read_log(f));
  const std::string ext = extension_of(o.out);
  SLUICE_REQUIRE(ext == "svg" || ext == "png", InvalidArgument, "'", o.out, "': the picture must be .svg or .png");
  bool any_acc = false, any_loss = false;
  for (const Run& r : runs)
    for (const auto& kv : r.series) {
      any_acc |= is_accuracy(kv.first);
      any_loss |= is_loss(kv.first);
    }
  SLUICE_REQUIRE(any_acc || any_loss, InvalidArgument, "the logs hold no loss or accuracy values");
  const int panels = (any_acc && any_loss) ? 2 : 1;

  std::string s;
  s += ext == "svg" ? "set terminal svg size " + std::to_string(520 * panels) + ",420 dynamic enhanced font \"Helvetica,12\" background \"white\"\n"
                    : "set terminal pngcairo size " + std::to_string(640 * panels) + ",480 enhanced font \"Helvetica,11\"\n";
  s += "set output " + gp_quote(o.out, false) + "\n";
  // Inline data blocks, one per run and metric.
  std::map<std::pair<size_t, std::string>, std::string> block;
  for (size_t i = 0; i < runs.size(); ++i)
    for (const auto& [key, points] : runs[i].series) {
      if (!is_loss(key) && !is_accuracy(key)) continue;
      const std::string name = "$d" + std::to_string(block.size());
      block[{i, key}] = name;
      s += name + " << EOD\n";
      for (const auto& [x, y] : points) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.10g %.10g\n", x, y);
        s += buf;
      }
      s += "EOD\n";
    }
  s += "set multiplot layout 1," + std::to_string(panels) + " title " + gp_quote(o.title) + " font \",14\"\n";
  s += "set grid lc rgb \"#dddddd\"\nset key outside bottom center horizontal\nset xlabel \"epoch\"\n"
       "set border 3\nset tics nomirror\nset style data linespoints\n";
  static const char* colors[] = {"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"};
  for (int panel = 0; panel < 2; ++panel) {
    const bool loss = panel == 0;
    if ((loss && !any_loss) || (!loss && !any_acc)) continue;
    s += std::string("set title ") + (loss ? "\"loss\"" : "\"accuracy\"") + "\nset ylabel " +
         (loss ? "\"loss\"" : "\"accuracy\"") + "\n";
    std::string cmd;
    for (const auto& [ik, name] : block) {
      if (loss != is_loss(ik.second)) continue;
      // Validation/test curves are dashed when the run also has the training curve they match.
      const std::string& key = ik.second;
      const size_t us = key.find('_');
      const bool validation = (key.rfind("val_", 0) == 0 || key.rfind("test_", 0) == 0) &&
                              runs[ik.first].series.count(key.substr(us + 1)) > 0;
      cmd += std::string(cmd.empty() ? "plot " : ", ") + name + " using 1:2 title " +
             gp_quote(runs[ik.first].name + " " + ik.second) + " lw 2 pt 7 ps 0.5 lc rgb \"" +
             colors[ik.first % 7] + "\"" + (validation ? " dt 2" : "");
    }
    s += cmd + "\n";
  }
  s += "unset multiplot\n";
  run_program("gnuplot", {}, s);
  std::cout << "wrote " << o.out << " (" << runs.size() << " run" << (runs.size() == 1 ? "" : "s") << ")\n";
}

void add_plot(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("plot", "Draw training curves (loss, accuracy) from JSON-lines logs");
  sub->footer(
      "Each log has one JSON object per epoch, as the examples write with --log FILE:\n"
      "  {\"epoch\": 1, \"loss\": 0.41, \"accuracy\": 0.86, \"lr\": 0.001, \"seconds\": 12.5}\n"
      "Keys containing \"loss\" go to the loss panel, keys containing \"acc\" to the accuracy\n"
      "panel; val_*/test_* keys are dashed; each file is one run (named after the file).\n"
      "Drawn by gnuplot (Debian's gnuplot-nox).\n\n"
      "Examples:\n"
      "  mnist_cnn --epochs 5 --log cnn.jsonl && mnist_mlp --epochs 5 --log mlp.jsonl\n"
      "  sluice plot cnn.jsonl mlp.jsonl -o curves.svg");
  auto o = std::make_shared<PlotOptions>();
  sub->add_option("logs", o->logs, "training logs (JSON lines)")->required();
  sub->add_option("-o,--output", o->out, "curves.svg or curves.png")->required();
  sub->add_option("--title", o->title, "picture title")->capture_default_str();
  sub->callback([o] { plot(*o); });
}
SLUICE_CLI_COMMAND(add_plot);

}  // namespace
}  // namespace sluice::cli
