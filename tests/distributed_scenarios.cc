// Failure scenarios of distributed/, each run by ctest as `mpirun -np 2 distributed_scenarios
// <mode>` and checked by tests/distributed_check.cmake (output lines, exit status, time):
//   exit    rank 1 dies (_exit) mid-training; rank 0 must report an error within the timeout
//   throw   rank 1 throws mid-training and ends its program; rank 0 must fail at once
//   names   the ranks name a collective differently; both must fail naming it
//   shapes  the ranks give one collective different shapes; both must fail naming them
// Each rank prints "rank R: error after S s: <message>" or "rank R: finished".
#include <sluice/sluice.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "distributed_test_util.h"

using namespace sluice;
namespace dist = sluice::distributed;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: distributed_scenarios exit|throw|names|shapes\n");
    return 2;
  }
  const std::string mode = argv[1];
  dist::init();
  const int rank = dist::rank();
  auto last_ok = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_ok).count();
  };
  try {
    if (mode == "exit" || mode == "throw") {
      const sluice::testing::ToyData data = sluice::testing::toy_data(320);
      Graph g;
      Scope root(g);
      Output x = ops::placeholder(root, DType::f32, {-1, 12});
      Output y = ops::placeholder(root, DType::f32, {-1, 4});
      layers::Dense d1(16, Activation::tanh), d2(4, Activation::softmax);
      Output loss = ops::mean(root, losses::categorical_crossentropy(root, y, d2(root, d1(root, x))));
      Operation train = optimizers::Distributed(optimizers::SGD(0.1)).minimize(root, loss);
      Session sess(g, SessionOptions{1});
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      dist::broadcast_variables(sess);
      for (int step = 0; step < 100000; ++step) {
        if (rank == 1 && step == 5) {
          std::printf("rank 1: leaving at step 5 (%s)\n", mode.c_str());
          std::fflush(stdout);
          if (mode == "exit") _exit(3);  // dies: no destructors, no goodbye
          throw std::runtime_error("simulated failure on rank 1");
        }
        const auto order = dist::shard_order(320, 1, step / 40);
        const size_t b = static_cast<size_t>((step % 40) * 8);
        sess.run({{x, io::gather_rows(data.x, order, b, b + 8)}, {y, io::gather_rows(data.y, order, b, b + 8)}},
                 {}, {train});
        last_ok = std::chrono::steady_clock::now();
      }
    } else if (mode == "names" || mode == "shapes") {
      Graph g;
      Scope root(g);
      const int64_t n = mode == "shapes" && rank == 1 ? 5 : 4;
      Output x = ops::placeholder(root, DType::f32, {n});
      Output a = dist::allreduce(root.named(mode == "names" && rank == 1 ? "grad_b" : "grad_a"), x);
      Session(g).run({{x, Tensor::ones(DType::f32, {n})}}, {a});
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const Error& e) {
    std::printf("rank %d: error after %.2f s: %s: %s\n", rank, seconds(), error_code_name(e.code()), e.what());
    std::fflush(stdout);
    return 1;
  } catch (const std::exception& e) {
    std::printf("rank %d: exception: %s\n", rank, e.what());
    std::fflush(stdout);
    return 1;
  }
  std::printf("rank %d: finished\n", rank);
  return 0;
}
