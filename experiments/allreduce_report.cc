#include "experiments/allreduce_report.h"

#include <cmath>
#include <cstdio>

namespace syncbed::experiments {

float allreduce_input(int rank, std::size_t index) { return static_cast<float>(1 + (rank + 1) * (index % 13)); }

std::size_t count_wrong_sums(std::span<const float> data, int world, float relative_tolerance) {
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    float expected = 0;
    for (int r = 0; r < world; ++r) expected += allreduce_input(r, i);
    wrong += std::abs(data[i] - expected) > relative_tolerance * expected;
  }
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
