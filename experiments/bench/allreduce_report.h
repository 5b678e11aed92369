// What bench-allreduce and the baselines share, so their numbers compare line by line:
// the input every rank contributes, the check of the result, and nccl-tests columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace syncbed::experiments {

// Fills `data` with what `rank` contributes: element i is 1 + (rank+1) * (i mod 13).
// Positive small integers: sums are exact in fp32, and bf16 error stays relative. Fast
// (no division per element), since it runs before every timed iteration and a slow
// fill would show up as skew between ranks.
void fill_allreduce_input(int rank, std::span<float> data);

// Elements of a summed vector that differ from the sum of every rank's input over
// `world` ranks by more than relative_tolerance of the expected value (0: exact).
std::size_t count_wrong_sums(std::span<const float> data, int world, float relative_tolerance);

struct AllreduceRow {
  std::uint64_t bytes = 0;
  double seconds = 0;  // one allreduce, slowest rank
  int world = 1;
  std::size_t wrong = 0;
  double algbw() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0; }
  double busbw() const { return algbw() * 2.0 * (world - 1) / world; }  // nccl-tests' allreduce factor
};

void print_allreduce_header();
void print_allreduce_row(const AllreduceRow& row);

}  // namespace syncbed::experiments
