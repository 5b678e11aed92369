// What bench-allreduce and the baselines share, so their numbers compare line by line:
// the input every rank contributes, the check of the result, and nccl-tests columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace syncbed::experiments {

// Fills `data` with what `rank` contributes: element i is 1 + (rank+1) * (i mod 13).
// Positive small integers: sums are exact in fp32, and bf16 error stays relative. Fast
// (no division per element), since it runs before every timed iteration and a slow
// fill would show up as skew between ranks.
void fill_allreduce_input(int rank, std::span<float> data);

// Elements of a summed vector that differ from the sum of every rank's input over
// `world` ranks by more than relative_tolerance of the expected value (0: exact).
std::size_t count_wrong_sums(std::span<const float> data, int world, float relative_tolerance);

// The CPU time (user + system, every thread) and the context switches (voluntary and
// involuntary) of this process so far. The difference of two readings taken around an
// allreduce is what it cost the process, its helper threads (an I/O or progress thread)
// included.
struct ProcessCost {
  double cpu_seconds = 0;
  double context_switches = 0;

  ProcessCost operator-(const ProcessCost& other) const;
};
ProcessCost process_cost();

struct AllreduceRow {
  std::uint64_t bytes = 0;
  double seconds = 0;  // one allreduce, slowest rank
  int world = 1;
  std::size_t wrong = 0;
  ProcessCost cost;  // one allreduce, all ranks together
  double algbw() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0; }
  double busbw() const { return algbw() * 2.0 * (world - 1) / world; }  // nccl-tests' allreduce factor
};

// The timed iterations of one size: first as one rank saw them; a benchmark then combines
// the ranks' logs, element by element, into the slowest rank's time and the cost summed
// over the ranks, and summarizes that in a row.
struct IterationLog {
  std::vector<double> seconds, cpu_seconds, context_switches;

  void add(double elapsed, const ProcessCost& cost);
  // Median iteration: of the (slowest) times, and separately of the (summed) costs.
  AllreduceRow summarize(std::uint64_t bytes, int world, std::size_t wrong) const;
};

void print_allreduce_header();
void print_allreduce_row(const AllreduceRow& row);

}  // namespace syncbed::experiments
