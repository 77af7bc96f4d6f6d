// The status page at `/` in a real browser: headless Chromium (Debian's `chromium`) loads it
// from a server on 127.0.0.1, runs its script (which, at '/#send', submits every signature's
// example request through the page's own form code), and the DOM it ends with is checked:
// models, versions and states, signatures with dtypes and shapes, and the answers the forms
// got. A screenshot goes to $SLUICE_SCREENSHOT (docs/images/serving_status_page.png when
// regenerating the one in docs) or the temp folder. ctest label `browser`; skipped when
// Chromium is not installed (.ci/run installs it for this label).
#include <gtest/gtest.h>

#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>

#include "serving/http_server.h"
#include "serving_test_util.h"

extern char** environ;

namespace sluice::serving {
namespace {
namespace fs = std::filesystem;

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(p)) return p;
  return "";
}

// Runs `args` with stdout to `out_path`; returns the exit status (-1 when it could not start).
int run_to_file(const std::vector<std::string>& args, const std::string& out_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ServingBrowser : public sluice::testing::TempDirTest {};

TEST_F(ServingBrowser, StatusPageInHeadlessChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium); .ci/run installs it";
  sluice::testing::save_half_plus(path("half_plus_two/1"), 2.0f);
  sluice::testing::save_half_plus(path("half_plus_two/2"), 2.0f);
  sluice::testing::save_mlp(path("mlp/7"), 3);
  ServerOptions o;
  o.port = 0;
  o.poll_seconds = 0;
  o.access_log = "off";
  Server server({ModelConfig{"half_plus_two", path("half_plus_two"), {}, {}}, ModelConfig{"mlp", path("mlp"), {}, {}}},
                o);
  server.bind();
  server.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/#send";
  const char* shot_env = std::getenv("SLUICE_SCREENSHOT");
  const std::string shot = shot_env ? shot_env : path("status_page.png");
  // --virtual-time-budget lets the page's fetches finish before the DOM is dumped.
  const std::vector<std::string> common = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                           "--user-data-dir=" + path("profile"), "--virtual-time-budget=10000",
                                           "--window-size=1000,1400"};
  std::vector<std::string> dump = common;
  dump.insert(dump.end(), {"--dump-dom", url});
  ASSERT_EQ(run_to_file(dump, path("dom.html")), 0) << "chromium --dump-dom failed";
  std::vector<std::string> screenshot = common;
  screenshot.insert(screenshot.end(), {"--screenshot=" + shot, url});
  ASSERT_EQ(run_to_file(screenshot, path("shot.log")), 0) << "chromium --screenshot failed";
  EXPECT_TRUE(fs::exists(shot) && fs::file_size(shot) > 1000) << shot;

  std::ifstream f(path("dom.html"));
  const std::string dom((std::istreambuf_iterator<char>(f)), {});
  auto has = [&](const std::string& part) { return dom.find(part) != std::string::npos; };
  EXPECT_TRUE(has("<title>sluice serve</title>")) << dom.substr(0, 500);
  EXPECT_TRUE(has("<h2 class=\"model\">half_plus_two</h2>"));
  EXPECT_TRUE(has("<h2 class=\"model\">mlp</h2>"));
  // Versions and states (the policy serves the latest: 2 AVAILABLE; mlp's 7).
  EXPECT_TRUE(has("<td>2</td><td class=\"state\">AVAILABLE</td>")) << dom;
  EXPECT_TRUE(has("<td>7</td><td class=\"state\">AVAILABLE</td>")) << dom;
  // Signatures with dtypes and shapes.
  EXPECT_TRUE(has("<td>input</td><td>x</td><td>DT_FLOAT</td><td>[?,1]</td>")) << dom;
  EXPECT_TRUE(has("<td>output</td><td>probs</td><td>DT_FLOAT</td><td>[?,3]</td>")) << dom;
  // The forms' answers, sent by the page's script in the browser: half_plus_two of 0 is 2,
  // the MLP's softmax rows sum to one (three probabilities).
  EXPECT_TRUE(has("<pre class=\"answer\" id=\"ans-half_plus_two-serving_default\">200 {\"predictions\": [[2.0]]}</pre>"))
      << dom;
  const size_t mlp = dom.find("id=\"ans-mlp-serving_default\">200 {\"predictions\": [{\"logits\": [");
  EXPECT_NE(mlp, std::string::npos) << dom;
  // regress_x2_to_y3 of 0 is 3.
  EXPECT_TRUE(has("id=\"ans-half_plus_two-regress_x2_to_y3\">200 {\"predictions\": [[3.0]]}</pre>")) << dom;
}

}  // namespace
}  // namespace sluice::serving
