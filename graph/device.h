// Device strings, in TensorFlow's syntax. A node's device (Scope::with_device) is checked
// when the node is built; whether this process has it is checked when a Session is made.
//
//   ""                                          no preference (the CPU)
//   "/cpu:0", "/CPU:0", "cpu:0", "/gpu:1"       legacy short form: type cpu/gpu/tpu, any case
//   "/device:CPU:0", "/device:GPU:*"            device:<TYPE>[:<index>|:*]
//   "/job:worker/replica:0/task:1/device:CPU:0" job:<name>, replica:<n>, task:<n>, in any
//                                               order, each at most once, every part optional
//
// Names are [A-Za-z][A-Za-z0-9_]*, indices non-negative integers or "*" (any). Anything else
// is InvalidArgument. Sluice runs on the CPU of this process only: the local device is
// /job:localhost/replica:0/task:0/device:CPU:0, and a spec that cannot mean it (a GPU, CPU:1,
// task 1, job "worker") is unknown here: Session creation fails for a node placed on one,
// naming the node and the device, unless SessionOptions::allow_soft_placement is set (then
// the node runs on the CPU, as TensorFlow does).
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

struct DeviceSpec {
  std::string job;   // empty: any
  int64_t replica = -1;  // -1: any
  int64_t task = -1;
  std::string type;  // upper case ("CPU", "GPU"); empty: any
  int64_t index = -1;

  // Throws InvalidArgument naming the string and what is wrong with it.
  static DeviceSpec parse(const std::string& device);
  // Whether this spec can be satisfied by this process's CPU.
  bool is_local_cpu() const;
  // The canonical full name ("/job:worker/device:GPU:0"; "" for no constraint).
  std::string to_string() const;
};

// The one device of this process.
constexpr const char* kLocalCpuDevice = "/job:localhost/replica:0/task:0/device:CPU:0";

}  // namespace sluice
