// Resident memory of the running process, for the end-to-end benchmark programs' reports.
#pragma once

#include <sys/resource.h>

#include <fstream>

namespace sluice::bench {

// Current resident set size in MB (10^6 bytes), from /proc/self/statm.
inline double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / 1e6;
}

// Peak resident set size since the process started, in MB (10^6 bytes).
inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0 / 1e6;  // ru_maxrss is in KiB
}

}  // namespace sluice::bench
