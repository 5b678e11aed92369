// `syncbed demo`: N processes rendezvous, connect a full mesh and sum a vector with the
// ring allreduce, checking every element of every result exactly.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "core/buffer.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/worker_setup.h"
#include "sync/ring/ring_allreduce.h"

namespace syncbed::cli {
namespace {

// Small integers, so every partial sum is exact in fp32 whatever the order of addition:
// at most 7 x 62 per rank, and with 1024 ranks still below 2^24.
int rank_weight(int rank) { return rank % 7 + 1; }
int index_weight(std::size_t index, int iteration) { return static_cast<int>(index % 61) + iteration % 3; }
float value(int rank, std::size_t index, int iteration) {
  return static_cast<float>(rank_weight(rank) * index_weight(index, iteration));
}

}  // namespace

int demo_command(const std::vector<std::string>& args) {
  auto specs = worker_option_specs("4");
  specs.push_back({"elements", "N", "fp32 elements per rank (Inception-v1 has 6,998,552 parameters)", "6998552"});
  specs.push_back({"iters", "K", "allreduce iterations, each verified", "10"});
  specs.push_back({"segment", "BYTES", "ring pipeline segment size", "1M"});
  Options options("demo", "Sum-allreduce a vector across N worker processes over TCP and verify every element.", specs);
  if (!options.parse(args)) return 0;
  const auto elements = static_cast<std::size_t>(options.get_int("elements", 0, 1ll << 32));
  const int iters = static_cast<int>(options.get_int("iters", 1, 1'000'000));
  const std::size_t segment = parse_size(options.get("segment"));
  if (segment < sizeof(float) || segment > (std::size_t{1} << 30))
    throw std::invalid_argument("--segment must be between 4 bytes and 1G");
  check_memory(options, elements * sizeof(float));
  if (auto code = launch_if_requested(options)) return *code;

  auto mesh = connect_worker(options);
  const int rank = mesh->rank();
  const int world = mesh->size();
  sync::RingAllreduce ring(*mesh, elements, {segment});
  AlignedBuffer<float> data(elements);
  const double bytes = static_cast<double>(elements) * sizeof(float);
  if (rank == 0)
    std::printf("demo: %d ranks, ring allreduce of %zu floats (%.1f MiB), %d iterations\n", world, elements,
                bytes / (1 << 20), iters);
  std::vector<double> seconds;
  for (int it = 0; it < iters; ++it) {
    for (std::size_t i = 0; i < elements; ++i) data[i] = value(rank, i, it);
    const auto start = std::chrono::steady_clock::now();
    ring.sum(data.span());
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    int ranks_sum = 0;
    for (int r = 0; r < world; ++r) ranks_sum += rank_weight(r);
    for (std::size_t i = 0; i < elements; ++i) {
      const float expected = static_cast<float>(ranks_sum * index_weight(i, it));
      if (data[i] != expected)
        throw std::runtime_error("iteration " + std::to_string(it) + ": element " + std::to_string(i) + " is " +
                                 std::to_string(data[i]) + ", expected " + std::to_string(expected));
    }
    if (rank == 0) {
      const double busbw = world > 1 ? bytes * 2 * (world - 1) / world / seconds.back() / 1e9 : 0;
      std::printf("iteration %d/%d: %.2f ms, busbw %.2f GB/s, verified\n", it + 1, iters, seconds.back() * 1e3, busbw);
      std::fflush(stdout);
    }
  }
  if (rank == 0) {
    std::sort(seconds.begin(), seconds.end());
    std::printf("demo: all %d results verified on every rank; median %.2f ms\n", iters,
                seconds[seconds.size() / 2] * 1e3);
  }
  return 0;
}

}  // namespace syncbed::cli
