#include "experiments/sim/machine_probe.h"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/median.h"
#include "core/transport/coordinator.h"
#include "core/transport/mesh.h"

namespace syncbed::experiments {
namespace {

template <typename Fn>
double median_seconds(int repeats, Fn&& fn) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    Stopwatch watch;
    fn();
    times.push_back(watch.lap());
  }
  return median_of(times);
}

// 64 MiB vectors: far beyond the caches, as the gradients of the models are.
constexpr std::size_t kElements = std::size_t{16} << 20;

double reduce_rate() {
  std::vector<float> sum(kElements), piece(kElements);
  std::fill(sum.begin(), sum.end(), 1.0f);
  std::fill(piece.begin(), piece.end(), 0.5f);
  const double seconds = median_seconds(7, [&] {
    float* out = sum.data();
    const float* in = piece.data();
    for (std::size_t i = 0; i < kElements; ++i) out[i] += in[i];
  });
  if (sum[kElements / 2] < 1.0f) throw std::logic_error("reduce probe: the sum vanished");
  return kElements * sizeof(float) / seconds / 1e9;
}

double optimizer_rate(const OptimizerConfig& config) {
  std::vector<float> weights(kElements), gradient(kElements);
  std::fill(weights.begin(), weights.end(), 0.1f);
  std::fill(gradient.begin(), gradient.end(), 0.01f);
  Optimizer optimizer(config, kElements);
  const double seconds =
      median_seconds(7, [&] { optimizer.step(weights, std::span<const float>(gradient.data(), kElements)); });
  return seconds / kElements * 1e9;
}

// A two-rank mesh inside this process (one thread per rank) over loopback.
void with_two_ranks(const std::function<void(net::Mesh&)>& rank0, const std::function<void(net::Mesh&)>& rank1) {
  const std::string token = "probe";
  net::Coordinator coordinator({"127.0.0.1", 0}, 2, token, std::chrono::seconds(30));
  auto connect = [&](int rank) {
    net::RendezvousInfo info{rank, 2, {"127.0.0.1", coordinator.port()}, token, false};
    return net::Mesh::connect(info);
  };
  std::exception_ptr failure;
  std::thread other([&] {
    try {
      auto mesh = connect(1);
      rank1(*mesh);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  try {
    auto mesh = connect(0);
    rank0(*mesh);
  } catch (...) {
    other.join();
    throw;
  }
  other.join();
  if (failure) std::rethrow_exception(failure);
}

constexpr int kPings = 400;
constexpr int kStreamMessages = 64;
constexpr std::size_t kStreamBytes = std::size_t{4} << 20;

void probe_transport(MachineProbe& probe) {
  std::vector<std::byte> small(64), big(kStreamBytes);
  with_two_ranks(
      [&](net::Mesh& mesh) {
        std::vector<double> round_trips;
        for (int i = 0; i < kPings; ++i) {
          Stopwatch watch;
          mesh.send(1, 1, std::span<const std::byte>(small)).wait();
          mesh.recv(1, 2, std::span<std::byte>(small)).wait();
          round_trips.push_back(watch.lap());
        }
        probe.message_us = median_of(round_trips) / 2 * 1e6;
        std::vector<double> rates;
        for (int round = 0; round < 5; ++round) {
          Stopwatch watch;
          for (int i = 0; i < kStreamMessages; ++i) mesh.send(1, 3, std::span<const std::byte>(big)).wait();
          mesh.recv(1, 4, std::span<std::byte>(small)).wait();  // the last message arrived
          rates.push_back(double(kStreamMessages) * kStreamBytes / watch.lap() / 1e9);
        }
        probe.stream_gbytes_per_s = median_of(rates);
      },
      [&](net::Mesh& mesh) {
        std::vector<std::byte> echo(64), sink(kStreamBytes);
        for (int i = 0; i < kPings; ++i) {
          mesh.recv(0, 1, std::span<std::byte>(echo)).wait();
          mesh.send(0, 2, std::span<const std::byte>(echo)).wait();
        }
        for (int round = 0; round < 5; ++round) {
          for (int i = 0; i < kStreamMessages; ++i) mesh.recv(0, 3, std::span<std::byte>(sink)).wait();
          mesh.send(0, 4, std::span<const std::byte>(echo)).wait();
        }
      });
}

}  // namespace

nlohmann::json MachineProbe::to_json() const {
  return {{"reduce_gbytes_per_s", reduce_gbytes_per_s},
          {"optimizer_ns_per_parameter", optimizer_ns_per_parameter},
          {"message_us", message_us},
          {"stream_gbytes_per_s", stream_gbytes_per_s},
          {"cores", cores}};
}

MachineProbe MachineProbe::from_json(const nlohmann::json& json) {
  MachineProbe probe;
  probe.reduce_gbytes_per_s = json.at("reduce_gbytes_per_s");
  probe.optimizer_ns_per_parameter = json.at("optimizer_ns_per_parameter");
  probe.message_us = json.at("message_us");
  probe.stream_gbytes_per_s = json.at("stream_gbytes_per_s");
  probe.cores = json.at("cores");
  return probe;
}

MachineProbe probe_machine(const OptimizerConfig& optimizer) {
  MachineProbe probe;
  probe.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  probe.reduce_gbytes_per_s = reduce_rate();
  probe.optimizer_ns_per_parameter = optimizer_rate(optimizer);
  probe_transport(probe);
  return probe;
}

}  // namespace syncbed::experiments
