#include "experiments/bench/allreduce_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <sys/resource.h>
#include <time.h>

namespace syncbed::experiments {

namespace {
constexpr std::size_t kPeriod = 13;
}

void fill_allreduce_input(int rank, std::span<float> data) {
  // One period, then doubling copies of what is already there (lengths stay multiples
  // of the period, so the pattern lines up).
  const std::size_t head = std::min(kPeriod, data.size());
  for (std::size_t j = 0; j < head; ++j) data[j] = static_cast<float>(1 + (rank + 1) * j);
  for (std::size_t filled = head; filled < data.size();) {
    const std::size_t length = std::min(filled, data.size() - filled);
    std::memcpy(data.data() + filled, data.data(), length * sizeof(float));
    filled += length;
  }
}

std::size_t count_wrong_sums(std::span<const float> data, int world, float relative_tolerance) {
  // The sum over ranks r of 1 + (r+1) j is world + j * world (world+1) / 2.
  float expected[kPeriod];
  for (std::size_t j = 0; j < kPeriod; ++j)
    expected[j] = static_cast<float>(world + j * static_cast<std::size_t>(world) * (world + 1) / 2);
  std::size_t wrong = 0;
  for (std::size_t i = 0, j = 0; i < data.size(); ++i, j = j + 1 == kPeriod ? 0 : j + 1)
    wrong += std::abs(data[i] - expected[j]) > relative_tolerance * expected[j];
  return wrong;
}

ProcessCost ProcessCost::operator-(const ProcessCost& other) const {
  return {cpu_seconds - other.cpu_seconds, context_switches - other.context_switches};
}

ProcessCost process_cost() {
  // getrusage's CPU times lag by up to a scheduler tick for a thread that never sleeps
  // (a busy-polling MPI rank); the process CPU clock brings the calling thread up to date.
  timespec cpu{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {static_cast<double>(cpu.tv_sec) + cpu.tv_nsec * 1e-9, static_cast<double>(usage.ru_nvcsw + usage.ru_nivcsw)};
}

void IterationLog::add(double elapsed, const ProcessCost& cost) {
  seconds.push_back(elapsed);
  cpu_seconds.push_back(cost.cpu_seconds);
  context_switches.push_back(cost.context_switches);
}

AllreduceRow IterationLog::summarize(std::uint64_t bytes, int world, std::size_t wrong) const {
  const auto middle = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0.0 : values[values.size() / 2];
  };
  return {bytes, middle(seconds), world, wrong, {middle(cpu_seconds), middle(context_switches)}};
}

// The nccl-tests columns, then what one allreduce cost all ranks together: CPU
// milliseconds and context switches.
void print_allreduce_header() {
  std::printf("%12s %12s %6s %6s %12s %12s %12s %8s %10s %10s\n", "size", "count", "type", "redop", "time(us)",
              "algbw(GB/s)", "busbw(GB/s)", "#wrong", "cpu(ms)", "csw");
  std::fflush(stdout);
}

void print_allreduce_row(const AllreduceRow& row) {
  std::printf("%12llu %12llu %6s %6s %12.1f %12.3f %12.3f %8zu %10.2f %10.1f\n",
              static_cast<unsigned long long>(row.bytes), static_cast<unsigned long long>(row.bytes / sizeof(float)),
              "float", "sum", row.seconds * 1e6, row.algbw(), row.busbw(), row.wrong, row.cost.cpu_seconds * 1e3,
              row.cost.context_switches);
  std::fflush(stdout);
}

}  // namespace syncbed::experiments
