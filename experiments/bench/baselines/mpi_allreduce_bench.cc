// Baseline: MPI_Allreduce (sum, fp32) with the inputs, verification and nccl-tests
// columns of `syncbed bench-allreduce`, so the two compare line by line. Run it over
// TCP on loopback, e.g. (one line):
//   mpirun --allow-run-as-root --oversubscribe -np 4 --mca pml ob1 --mca btl tcp,self
//          --mca btl_tcp_if_include lo build/experiments/bench/baselines/mpi_allreduce_bench --sizes 4M,28M
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/buffer.h"
#include "core/options.h"
#include "experiments/bench/allreduce_report.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  syncbed::cli::Options options("mpi_allreduce_bench", "MPI_Allreduce baseline in nccl-tests columns.",
                                {{"sizes", "LIST", "vector sizes in bytes (K, M, G suffixes)", "4K,64K,1M,4M,28M,128M"},
                                 {"iters", "K", "timed iterations per size, after one verified warm-up", "10"}});
  std::vector<std::uint64_t> sizes;
  int iters = 0;
  try {
    if (!options.parse(std::vector<std::string>(argv + 1, argv + argc))) return MPI_Finalize(), 0;
    sizes = options.get_sizes("sizes");
    iters = static_cast<int>(options.get_int("iters", 1, 100'000));
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "%s\n", e.what());
    MPI_Finalize();
    return 2;
  }
  const std::size_t largest = *std::max_element(sizes.begin(), sizes.end()) / sizeof(float);
  syncbed::AlignedBuffer<float> data(largest);
  if (rank == 0) {
    std::printf("# MPI_Allreduce baseline: %d ranks, %d iterations per size\n", world, iters);
    syncbed::experiments::print_allreduce_header();
  }
  std::size_t total_wrong = 0;
  for (const auto size : sizes) {
    const std::size_t count = size / sizeof(float);
    syncbed::experiments::IterationLog log;
    std::size_t wrong = 0;
    for (int it = -1; it < iters; ++it) {
      syncbed::experiments::fill_allreduce_input(rank, data.span().first(count));
      const auto cost_before = syncbed::experiments::process_cost();
      const double start = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      const double elapsed = MPI_Wtime() - start;
      if (it >= 0) log.add(elapsed, syncbed::experiments::process_cost() - cost_before);
      if (it == -1 || it == iters - 1)
        wrong += syncbed::experiments::count_wrong_sums(data.span().first(count), world, 0.0f);
    }
    // Per iteration: the slowest rank's time, the cost summed over the ranks.
    auto all = log;
    MPI_Reduce(log.seconds.data(), all.seconds.data(), iters, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(log.cpu_seconds.data(), all.cpu_seconds.data(), iters, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(log.context_switches.data(), all.context_switches.data(), iters, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    total_wrong += wrong;
    if (rank == 0) syncbed::experiments::print_allreduce_row(all.summarize(size, world, wrong));
  }
  MPI_Finalize();
  return total_wrong ? 1 : 0;
}
