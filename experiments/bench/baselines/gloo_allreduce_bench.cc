// Baseline: Gloo's allreduce over its TCP transport (ring_chunked or halving_doubling),
// with the inputs, verification and nccl-tests columns of `syncbed bench-allreduce`.
// Gloo has no launcher: start WORLD_SIZE processes with RANK=0..WORLD_SIZE-1 and one
// shared --store directory, e.g. (scripts/compare_allreduce.sh does this):
//   for r in 0 1; do RANK=$r WORLD_SIZE=2 gloo_allreduce_bench --store /tmp/s --sizes 4M & done; wait
#include <gloo/allreduce_halving_doubling.h>
#include <gloo/allreduce_ring.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/buffer.h"
#include "core/options.h"
#include "experiments/bench/allreduce_report.h"

namespace {

int env_int(const char* name) {
  const char* value = std::getenv(name);
  if (!value) throw std::invalid_argument(std::string(name) + " is not set");
  return std::stoi(value);
}

std::unique_ptr<gloo::Algorithm> make_allreduce(const std::string& algorithm,
                                                const std::shared_ptr<gloo::Context>& context, float* data, int count) {
  if (algorithm == "ring_chunked")
    return std::make_unique<gloo::AllreduceRingChunked<float>>(context, std::vector{data}, count);
  if (algorithm == "halving_doubling")
    return std::make_unique<gloo::AllreduceHalvingDoubling<float>>(context, std::vector{data}, count);
  throw std::invalid_argument("--algorithm must be ring_chunked or halving_doubling, got '" + algorithm + "'");
}

// Every rank gets, per iteration, the slowest rank's time and the cost summed over the ranks.
void combine_ranks(const std::shared_ptr<gloo::Context>& context, syncbed::experiments::IterationLog& log) {
  const int n = static_cast<int>(log.seconds.size());
  gloo::AllreduceRing<double> max(context, {log.seconds.data()}, n, gloo::ReductionFunction<double>::max);
  max.run();
  // One vector each: Gloo reduces several pointers of one rank into one another.
  for (auto* summed : {&log.cpu_seconds, &log.context_switches}) {
    gloo::AllreduceRing<double> sum(context, {summed->data()}, n);
    sum.run();
  }
}

int run(int argc, char** argv) {
  syncbed::cli::Options options("gloo_allreduce_bench",
                                "Gloo allreduce baseline in nccl-tests columns (RANK, WORLD_SIZE from the env).",
                                {{"algorithm", "NAME", "ring_chunked or halving_doubling", "ring_chunked"},
                                 {"store", "DIR", "directory shared by all ranks for Gloo's file-store rendezvous", ""},
                                 {"sizes", "LIST", "vector sizes in bytes (K, M, G suffixes)", "4K,64K,1M,4M,28M,128M"},
                                 {"iters", "K", "timed iterations per size, after one verified warm-up", "10"}});
  if (!options.parse(std::vector<std::string>(argv + 1, argv + argc))) return 0;
  const auto sizes = options.get_sizes("sizes");
  const int iters = static_cast<int>(options.get_int("iters", 1, 100'000));
  if (options.get("store").empty()) throw std::invalid_argument("--store DIR is required");
  const int rank = env_int("RANK"), world = env_int("WORLD_SIZE");

  gloo::transport::tcp::attr attr;
  attr.hostname = "127.0.0.1";
  auto device = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::FileStore store(options.get("store"));
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, world);
  context->connectFullMesh(store, device);

  const std::size_t largest = *std::max_element(sizes.begin(), sizes.end()) / sizeof(float);
  syncbed::AlignedBuffer<float> data(largest);
  if (rank == 0) {
    std::printf("# Gloo %s allreduce baseline: %d ranks, %d iterations per size\n", options.get("algorithm").c_str(),
                world, iters);
    syncbed::experiments::print_allreduce_header();
  }
  std::size_t total_wrong = 0;
  for (const auto size : sizes) {
    const std::size_t count = size / sizeof(float);
    auto allreduce = make_allreduce(options.get("algorithm"), context, data.data(), static_cast<int>(count));
    syncbed::experiments::IterationLog log;
    std::size_t wrong = 0;
    for (int it = -1; it < iters; ++it) {
      syncbed::experiments::fill_allreduce_input(rank, data.span().first(count));
      const auto cost_before = syncbed::experiments::process_cost();
      const auto start = std::chrono::steady_clock::now();
      allreduce->run();
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (it >= 0) log.add(elapsed, syncbed::experiments::process_cost() - cost_before);
      if (it == -1 || it == iters - 1)
        wrong += syncbed::experiments::count_wrong_sums(data.span().first(count), world, 0.0f);
    }
    combine_ranks(context, log);
    total_wrong += wrong;
    if (rank == 0) syncbed::experiments::print_allreduce_row(log.summarize(size, world, wrong));
  }
  return total_wrong ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gloo_allreduce_bench: error: %s\n", e.what());
    return 2;
  }
}
