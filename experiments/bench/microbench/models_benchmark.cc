// Microbenchmarks of the models' hot kernels: a 3x3 convolution (forward, backward), the
// NCF training step (embedding gather/scatter and the MLP), and the Adam slice update.
#include <benchmark/benchmark.h>

#include <random>

#include "core/optimizer.h"
#include "models/layers/conv2d.h"
#include "models/ncf.h"
#include "models/profile.h"

namespace {

using namespace syncbed;
using namespace syncbed::models;

// inception_3a/3x3 at a given batch: 96 -> 128 channels, 28x28, blocked layout.
struct ConvFixture {
  ParameterBlock params;
  Conv2d conv{"3x3", ConvShape{96, 128, 3, 1, 1, true}, params};
  memory src, diff;
  double flops = 0;

  explicit ConvFixture(int batch) {
    params.allocate(1);
    const auto desc = memory::desc({batch, 96, 28, 28}, memory::data_type::f32, Tag::nChw16c);
    const auto out = conv.prepare(desc, true);
    src = memory(desc, cpu_engine());
    diff = memory(out, cpu_engine());
    std::fill_n(static_cast<float*>(src.get_data_handle()), desc.get_size() / 4, 0.5f);
    std::fill_n(static_cast<float*>(diff.get_data_handle()), out.get_size() / 4, 0.1f);
    flops = conv.forward_flops();
  }
};

void BM_Conv3x3Forward(benchmark::State& state) {
  ConvFixture f(static_cast<int>(state.range(0)));
  for (auto _ : state) f.conv.forward(f.src, true);
  state.counters["GFLOP/s"] = benchmark::Counter(f.flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Conv3x3Forward)->Arg(4)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Conv3x3Backward(benchmark::State& state) {
  ConvFixture f(static_cast<int>(state.range(0)));
  f.conv.forward(f.src, true);
  for (auto _ : state) f.conv.backward(f.diff);
  // Backward data and backward weights: twice the forward work.
  state.counters["GFLOP/s"] = benchmark::Counter(2 * f.flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Conv3x3Backward)->Arg(4)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

// The NCF step on small tables (so setup is quick); the work per sample is the same as
// at ml-20m size: 4 embedding rows gathered and scattered, the MLP, the head.
// A batch of uniformly drawn (user, item) pairs at ml-20m's shape, one positive in five.
InteractionBatch ncf_batch(const NcfConfig& config, int size) {
  std::mt19937 rng(1);
  InteractionBatch batch;
  for (int k = 0; k < size; ++k)
    batch.add(std::int32_t(rng() % config.users), std::int32_t(rng() % config.items), k % 5 == 0 ? 1.0f : 0.0f);
  return batch;
}

void BM_NcfStepLazyAdam(benchmark::State& state) {
  const NcfConfig config;  // ml-20m: 138,493 users x 26,744 items
  Ncf model(config);
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  Optimizer optimizer(adam, model.parameters().size());
  const int size = static_cast<int>(state.range(0));
  const InteractionBatch batch = ncf_batch(config, size);
  for (auto _ : state) {
    model.forward_backward(batch);
    model.lazy_update(optimizer);
  }
  state.counters["samples/s"] = benchmark::Counter(double(size) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NcfStepLazyAdam)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

// The embedding part of the NCF step alone, timed inside the real step: gathering the
// four embedding rows of every sample, and scattering (summing) their gradient rows.
void BM_NcfEmbeddingGatherScatter(benchmark::State& state) {
  const NcfConfig config;
  Ncf model(config);
  const int size = static_cast<int>(state.range(0));
  const InteractionBatch batch = ncf_batch(config, size);
  model.forward_backward(batch);  // warm-up: buffers sized
  static const std::string kGather = "embedding gather", kScatter = "embedding scatter";
  for (auto _ : state) {
    Profile profile;
    set_active_profile(&profile);
    model.forward_backward(batch);
    set_active_profile(nullptr);
    state.SetIterationTime(profile.seconds(kGather) + profile.seconds(kScatter));
  }
  const double row_bytes = 2.0 * (config.mf_dim + config.mlp_embedding) * sizeof(float);  // user and item rows
  state.SetBytesProcessed(std::int64_t(2 * row_bytes * size * state.iterations()));       // gathered, scattered
}
BENCHMARK(BM_NcfEmbeddingGatherScatter)->Arg(2048)->Unit(benchmark::kMillisecond)->UseManualTime();

void BM_AdamSliceUpdate(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  Optimizer optimizer(adam, n);
  std::vector<float> w(n, 0.5f), g(n, 0.01f);
  for (auto _ : state) optimizer.step(w, g);
  state.SetBytesProcessed(std::int64_t(state.iterations()) * n * 7 * sizeof(float));  // 4 reads, 3 writes
}
BENCHMARK(BM_AdamSliceUpdate)->Arg(1 << 20)->Arg(7 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
