// Baseline: MPI ping-pong latency (osu_latency's method) in the columns of
// `syncbed bench-p2p --pingpong`: rank 0 sends one message, rank 1 sends it back; the
// one-way latency is half a round trip (median, fastest and mean of --iters round trips,
// after a tenth as many untimed). Over TCP on loopback, e.g. (one line):
//   mpirun --allow-run-as-root -np 2 --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo
//          build/experiments/bench/baselines/mpi_pingpong_bench
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "core/median.h"
#include "core/options.h"

namespace {

// Rank 0's one-way latencies in microseconds; rank 1 echoes. Returns false if the
// message came back changed.
bool pingpong(int rank, std::vector<char>& ping, std::vector<char>& pong, int warmup, int count,
              std::vector<double>& one_way_us) {
  const int bytes = static_cast<int>(ping.size());
  for (int i = 0; i < warmup + count; ++i) {
    if (rank == 1) {
      MPI_Recv(pong.data(), bytes, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(pong.data(), bytes, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
      continue;
    }
    const double start = MPI_Wtime();
    MPI_Send(ping.data(), bytes, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
    MPI_Recv(pong.data(), bytes, MPI_BYTE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (i >= warmup) one_way_us.push_back((MPI_Wtime() - start) / 2 * 1e6);
  }
  return rank == 1 || std::memcmp(ping.data(), pong.data(), ping.size()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  syncbed::cli::Options options("mpi_pingpong_bench", "MPI ping-pong latency baseline (2 ranks).",
                                {{"sizes", "LIST", "message sizes in bytes (K, M, G suffixes)", "8,64,512,4K,16K,64K"},
                                 {"iters", "K", "timed round trips per size", "10000"}});
  std::vector<std::uint64_t> sizes;
  int iters = 0;
  try {
    if (!options.parse(std::vector<std::string>(argv + 1, argv + argc))) return MPI_Finalize(), 0;
    sizes = options.get_sizes("sizes");
    iters = static_cast<int>(options.get_int("iters", 1, 10'000'000));
    if (world != 2) throw std::invalid_argument("mpi_pingpong_bench needs exactly 2 ranks (mpirun -np 2)");
    for (const auto size : sizes)
      if (size == 0 || size > (1u << 30)) throw std::invalid_argument("--sizes: each between 1 and 1G bytes");
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "%s\n", e.what());
    MPI_Finalize();
    return 2;
  }
  if (rank == 0) {
    std::printf("# MPI ping-pong baseline: 2 ranks, %d round trips per size\n", iters);
    std::printf("%12s %12s %12s %12s %12s\n", "size(B)", "round trips", "latency(us)", "min(us)", "mean(us)");
  }
  bool intact = true;
  for (const auto size : sizes) {
    std::vector<char> ping(size), pong(size);
    for (std::size_t i = 0; i < size; ++i) ping[i] = static_cast<char>(i * 131 + size);
    std::vector<double> one_way_us;
    intact = pingpong(rank, ping, pong, std::max(10, iters / 10), iters, one_way_us) && intact;
    if (rank != 0) continue;
    const double mean = std::accumulate(one_way_us.begin(), one_way_us.end(), 0.0) / one_way_us.size();
    std::printf("%12llu %12d %12.2f %12.2f %12.2f\n", static_cast<unsigned long long>(size), iters,
                syncbed::median_of(one_way_us), *std::min_element(one_way_us.begin(), one_way_us.end()), mean);
    std::fflush(stdout);
  }
  MPI_Finalize();
  if (!intact) std::fprintf(stderr, "mpi_pingpong_bench: a message came back changed\n");
  return intact ? 0 : 1;
}
