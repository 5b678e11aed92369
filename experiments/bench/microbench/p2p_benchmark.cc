// Google Benchmark: point-to-point throughput between two processes on loopback.
// The benchmark process is rank 0 (sender); it forks rank 1 (receiver) before any
// thread exists, and both rendezvous through a coordinator hosted by rank 0.
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>

#include "core/transport/mesh.h"
#include "core/transport/tcp/asio.h"
#include "experiments/bench/p2p_bench.h"
#include "experiments/harness/launcher.h"

namespace {

constexpr std::uint64_t kMaxMessage = 128ull << 20;
syncbed::experiments::P2pSender* sender = nullptr;

void BM_P2pThroughput(benchmark::State& state) {
  const auto bytes = static_cast<std::uint64_t>(state.range(0));
  const auto count = syncbed::experiments::p2p_batch_count(bytes);
  sender->run_batch(bytes, count, true);  // warm-up, checked in full
  for (auto _ : state) {
    const auto batch = sender->run_batch(bytes, count);
    state.SetIterationTime(batch.seconds);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes * count));
  state.counters["msgs_per_batch"] = static_cast<double>(count);
}
BENCHMARK(BM_P2pThroughput)
    ->RangeMultiplier(4)
    ->Range(4 << 10, 128 << 20)
    ->Arg(28 << 20)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Asks the kernel for a free port; it is bound again moments later by rank 0's coordinator.
std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();
}

}  // namespace

int main(int argc, char** argv) {
  syncbed::net::RendezvousInfo info;
  info.world_size = 2;
  info.token = syncbed::experiments::make_job_token();
  info.master = {"127.0.0.1", free_port()};
  const pid_t child = fork();
  if (child < 0) return 1;
  info.rank = child == 0 ? 1 : 0;
  info.host_coordinator = info.rank == 0;
  auto mesh = syncbed::net::Mesh::connect(info);
  if (info.rank == 1) {
    syncbed::experiments::run_p2p_receiver(*mesh, kMaxMessage);
    return 0;
  }
  syncbed::experiments::P2pSender rank0(*mesh, kMaxMessage);
  sender = &rank0;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  syncbed::experiments::stop_p2p_receiver(*mesh);
  mesh.reset();
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
