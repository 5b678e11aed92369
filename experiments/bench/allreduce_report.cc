#include "experiments/bench/allreduce_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

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

void print_allreduce_header() {
  std::printf("%12s %12s %6s %6s %12s %12s %12s %8s\n", "size", "count", "type", "redop", "time(us)", "algbw(GB/s)",
              "busbw(GB/s)", "#wrong");
  std::fflush(stdout);
}

void print_allreduce_row(const AllreduceRow& row) {
  std::printf("%12llu %12llu %6s %6s %12.1f %12.3f %12.3f %8zu\n", static_cast<unsigned long long>(row.bytes),
              static_cast<unsigned long long>(row.bytes / sizeof(float)), "float", "sum", row.seconds * 1e6,
              row.algbw(), row.busbw(), row.wrong);
  std::fflush(stdout);
}

}  // namespace syncbed::experiments
