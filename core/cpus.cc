#include "core/cpus.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace syncbed {
namespace {

// cgroup v2 cpu.max ("max 100000" or "150000 100000"), else v1's quota and period.
double cgroup_cpu_limit() {
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (v2 >> quota >> period && quota != "max" && period > 0) return std::stod(quota) / period;
  std::ifstream v1_quota("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), v1_period("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double q = -1;
  if (v1_quota >> q && v1_period >> period && q > 0 && period > 0) return q / period;
  return 0;  // no limit
}

int positive_int(const char* text) {
  if (!text) return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return end != text && value > 0 && value < (1 << 20) ? static_cast<int>(value) : 0;
}

}  // namespace

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  if (cpus <= 0) cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  const double limit = cgroup_cpu_limit();
  if (limit > 0) cpus = std::min(cpus, std::max(1, static_cast<int>(std::ceil(limit))));
  return cpus;
}

int local_ranks() {
  // SLURM_TASKS_PER_NODE looks like "4" or "2(x3),1": the first count is this node's
  // on the first nodes, a fair guess for all.
  for (const char* variable : {"SYNCBED_LOCAL_RANKS", "LOCAL_WORLD_SIZE", "SLURM_TASKS_PER_NODE"})
    if (const int ranks = positive_int(std::getenv(variable))) return ranks;
  return 1;
}

int threads_per_local_rank() { return std::max(1, usable_cpus() / local_ranks()); }

MachineLoad machine_load() {
  // "0.52 0.58 0.59 2/345 12345": averages, then runnable/all scheduling entities now.
  MachineLoad load;
  std::ifstream in("/proc/loadavg");
  double five, fifteen;
  char slash;
  in >> load.average >> five >> fifteen >> load.runnable >> slash;
  return load;
}

void choose_openmp_wait_policy(char** argv) {
  // Decided once per job: processes a syncbed launcher starts inherit its choice (when they
  // start, the launcher and their siblings are runnable, which is not outside load).
  constexpr const char* kDecided = "SYNCBED_OMP_DECIDED";
  if (std::getenv(kDecided) || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv(kDecided, "1", 1);
  // Crowded: more of our ranks here than CPUs, or other work on them, now (runnable
  // besides ourselves) or lately (a load average of a whole CPU).
  const MachineLoad load = machine_load();
  const bool crowded = local_ranks() > usable_cpus() || load.runnable > 1 || load.average >= 1.0;
  if (!crowded) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // only returns if it failed: then run as we are
}

}  // namespace syncbed
