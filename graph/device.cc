#include "device.h"

#include <cctype>
#include <vector>

#include "../runtime/error.h"

namespace sluice {

namespace {

bool is_name(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// A non-negative index or "*" (-1). False for anything else (or an absurd length).
bool parse_index(const std::string& s, int64_t& out) {
  if (s == "*") {
    out = -1;
    return true;
  }
  if (s.empty() || s.size() > 9) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

}  // namespace

DeviceSpec DeviceSpec::parse(const std::string& device) {
  DeviceSpec spec;
  if (device.empty()) return spec;
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid device '" + device + "': " + why +
                           " (expected TensorFlow's syntax, e.g. /cpu:0, /device:CPU:0 or "
                           "/job:worker/replica:0/task:1/device:CPU:0)");
  };
  if (device.size() > 256) throw bad("longer than 256 characters");
  std::vector<std::string> parts = split(device, '/');
  if (device[0] == '/') parts.erase(parts.begin());
  bool seen_job = false, seen_replica = false, seen_task = false, seen_device = false;
  for (const std::string& part : parts) {
    if (part.empty()) throw bad("empty component");
    const std::vector<std::string> f = split(part, ':');
    const std::string& key = f[0];
    auto once = [&](bool& seen) {
      if (seen) throw bad("'" + key + "' given twice");
      seen = true;
    };
    if (key == "job" && f.size() == 2) {
      once(seen_job);
      if (f[1] != "*" && !is_name(f[1])) throw bad("bad job name '" + f[1] + "'");
      spec.job = f[1] == "*" ? "" : f[1];
    } else if ((key == "replica" || key == "task") && f.size() == 2) {
      once(key == "replica" ? seen_replica : seen_task);
      int64_t& v = key == "replica" ? spec.replica : spec.task;
      if (!parse_index(f[1], v)) throw bad("bad " + key + " '" + f[1] + "'");
    } else if (key == "device" && (f.size() == 2 || f.size() == 3)) {
      once(seen_device);
      if (f[1] != "*" && !is_name(f[1])) throw bad("bad device type '" + f[1] + "'");
      spec.type = f[1] == "*" ? "" : f[1];
      if (f.size() == 3 && !parse_index(f[2], spec.index))
        throw bad("bad device index '" + f[2] + "'");
    } else if ((upper(key) == "CPU" || upper(key) == "GPU" || upper(key) == "TPU") && f.size() <= 2) {
      once(seen_device);
      spec.type = upper(key);
      if (f.size() == 2 && !parse_index(f[1], spec.index))
        throw bad("bad device index '" + f[1] + "'");
    } else {
      throw bad("unknown component '" + part + "'");
    }
  }
  return spec;
}

bool DeviceSpec::is_local_cpu() const {
  return (job.empty() || job == "localhost") && replica <= 0 && task <= 0 &&
         (type.empty() || type == "CPU") && index <= 0;
}

std::string DeviceSpec::to_string() const {
  std::string s;
  if (!job.empty()) s += "/job:" + job;
  if (replica >= 0) s += "/replica:" + std::to_string(replica);
  if (task >= 0) s += "/task:" + std::to_string(task);
  if (!type.empty() || index >= 0)
    s += "/device:" + (type.empty() ? std::string("*") : type) + ":" +
         (index >= 0 ? std::to_string(index) : std::string("*"));
  return s;
}

}  // namespace sluice
