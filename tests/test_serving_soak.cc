// Soak: 20 s of requests from 8 client threads over HTTP while a new version is published
// every 2 s and picked up by the server's own file-system poller (1 s), with batching on.
// Zero failed requests and zero mixed answers. ctest label `soak`; runs only with
// SLUICE_SOAK=1 (.ci/run sets it), since it is long by design.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "serving/http_server.h"
#include "serving_test_util.h"

namespace sluice::serving {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

class ServingSoak : public sluice::testing::TempDirTest {};

TEST_F(ServingSoak, PublishingEveryTwoSecondsFailsNoRequest) {
  const char* on = std::getenv("SLUICE_SOAK");
  if (!on || std::string(on) != "1") GTEST_SKIP() << "set SLUICE_SOAK=1 to run the 20 s soak (ctest -L soak)";
  // A version is written beside the base path and renamed into it, so the poller never sees
  // a half-written folder (as one publishes for TF Serving).
  auto publish = [&](int v) {
    const std::string staging = path("staging/" + std::to_string(v));
    sluice::testing::save_half_plus(staging, static_cast<float>(v));
    fs::create_directories(path("m"));
    fs::rename(staging, path("m/" + std::to_string(v)));
  };
  publish(1);
  ServerOptions o;
  o.port = 0;
  o.poll_seconds = 1;
  o.access_log = "off";
  o.api.enable_batching = true;
  Server server({ModelConfig{"m", path("m"), {}, {}}}, o);
  server.bind();
  server.start();

  std::atomic<bool> stop{false};
  std::atomic<int64_t> ok{0}, failed{0}, mixed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      httplib::Client cli("127.0.0.1", server.port());
      while (!stop) {
        auto r = cli.Post("/v1/models/m:predict", R"({"instances": [[0.0], [2.0]]})", "application/json");
        if (!r || r->status != 200) {
          ++failed;
          continue;
        }
        const json p = json::parse(r->body)["predictions"];
        const double v = p[0][0].get<double>();
        if (p[1][0].get<double>() != v + 1.0 || v != std::floor(v)) ++mixed;
        ++ok;
      }
    });
  }
  const auto start = std::chrono::steady_clock::now();
  int version = 1;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    publish(++version);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the last one gets polled
  stop = true;
  for (auto& th : clients) th.join();
  std::printf("soak: %lld requests, %lld failed, %lld mixed, %d versions published\n",
              static_cast<long long>(ok.load()), static_cast<long long>(failed.load()),
              static_cast<long long>(mixed.load()), version);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(ok.load(), 1000);
  EXPECT_EQ(server.manager().find("m")->version, version);
}

}  // namespace
}  // namespace sluice::serving
