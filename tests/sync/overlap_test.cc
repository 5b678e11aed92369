// Overlap: a step synchronized bucket by bucket while "backward" still runs must leave
// bitwise the weights of the same strategy stepping the whole vector at once.
#include "sync/overlap.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "core/transport/error.h"
#include "sync/interleaved_parts.h"
#include "sync/registry.h"
#include "tests/mesh_harness.h"

namespace syncbed::sync {
namespace {

constexpr int kSteps = 3;
constexpr std::size_t kParameters = 7919;
// Layers of a made-up model, in forward order: the buffer is laid out this way and
// backward finishes them from the last to the first.
constexpr std::size_t kLayers[] = {1500, 64, 2900, 7, 1200, 1000, 1248};

float gradient(int rank, std::size_t i, int step) {
  return 0.2f + 0.05f * static_cast<float>(rank + 1) + 0.003f * static_cast<float>(i % 101) +
         0.1f * static_cast<float>(step) + 0.002f * static_cast<float>((i * 7 + rank * 3) % 17);
}

std::vector<std::string> overlapping_strategies() {
  std::vector<std::string> names;
  for (const auto& entry : strategy_entries())
    if (entry.overlap) names.push_back(entry.name);
  return names;
}

SyncOptions options_of(std::size_t bucket_floats, bool overlap, Compression compression, OptimizerConfig::Kind kind) {
  SyncOptions options;
  options.parameters = kParameters;
  options.optimizer.kind = kind;
  options.optimizer.learning_rate = 0.01f;
  options.optimizer.momentum = kind == OptimizerConfig::Kind::kSgd ? 0.9f : 0.0f;
  options.optimizer.weight_decay = 1e-4f;
  options.segment_bytes = 256;  // many segments and blocks per bucket
  options.compression = compression;
  options.overlap.enabled = overlap;
  options.overlap.bucket_bytes = bucket_floats * sizeof(float);
  return options;
}

// Weights after kSteps, stepping the whole vector (overlap off) or in buckets with the
// layers' gradients released from the last layer to the first, each rank at its own
// random pace, so ranks finish buckets in different orders in time.
std::vector<float> train(net::Mesh& mesh, const std::string& strategy, const SyncOptions& options) {
  auto sync = make_parameter_sync(strategy, mesh, options);
  if (sync->serves_only()) {
    sync->serve();
    return {};
  }
  std::vector<float> weights(kParameters), grads(kParameters);
  for (std::size_t i = 0; i < kParameters; ++i) weights[i] = 0.01f * static_cast<float>(int(i % 37) - 18);
  std::optional<OverlappedStep> overlap;
  if (options.overlap.enabled) overlap.emplace(*sync, options);
  std::mt19937 pace(static_cast<unsigned>(mesh.rank()));
  for (int step = 0; step < kSteps; ++step) {
    PhaseTimes times;
    if (!overlap) {
      for (std::size_t i = 0; i < kParameters; ++i) grads[i] = gradient(mesh.rank(), i, step);
      sync->step(weights, grads, times);
      continue;
    }
    std::fill(grads.begin(), grads.end(), -1.0f);  // a bucket synced too early would carry these
    overlap->begin(weights, grads);
    std::size_t end = kParameters;
    for (auto layer = std::rbegin(kLayers); layer != std::rend(kLayers); ++layer) {
      std::this_thread::sleep_for(std::chrono::microseconds(pace() % 2000));
      for (std::size_t i = end - *layer; i < end; ++i) grads[i] = gradient(mesh.rank(), i, step);
      end -= *layer;
      overlap->ready_from(end);
    }
    overlap->finish(times);
    EXPECT_FALSE(times.phases.empty());
  }
  return weights;
}

class OverlapBitwise
    : public ::testing::TestWithParam<std::tuple<std::string, int, std::size_t, OptimizerConfig::Kind>> {};

TEST_P(OverlapBitwise, SameWeightsAsTheWholeVectorAtOnce) {
  const auto [strategy, world, bucket, kind] = GetParam();
  std::vector<std::vector<float>> whole(world), bucketed(world);
  testing::run_ranks(world, [&](net::Mesh& mesh) {
    whole[mesh.rank()] = train(mesh, strategy, options_of(bucket, false, Compression::kNone, kind));
    bucketed[mesh.rank()] = train(mesh, strategy, options_of(bucket, true, Compression::kNone, kind));
  });
  for (int r = 0; r < world; ++r) {
    ASSERT_EQ(bucketed[r].size(), kParameters);
    EXPECT_EQ(std::memcmp(bucketed[r].data(), whole[r].data(), kParameters * sizeof(float)), 0)
        << "rank " << r << ": overlapped weights differ from the whole-vector step";
    EXPECT_EQ(std::memcmp(bucketed[r].data(), bucketed[0].data(), kParameters * sizeof(float)), 0)
        << "rank " << r << " differs from rank 0";
  }
}

// 13 floats split every layer; 1000 split some and hold several small ones; 3000 holds
// several; 10000 is one bucket.
INSTANTIATE_TEST_SUITE_P(StrategiesWorldsBuckets, OverlapBitwise,
                         ::testing::Combine(::testing::ValuesIn(overlapping_strategies()), ::testing::Range(1, 10),
                                            ::testing::Values(13, 1000, 3000, 10000),
                                            ::testing::Values(OptimizerConfig::Kind::kSgd)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_world" + std::to_string(std::get<1>(info.param)) +
                                  "_bucket" + std::to_string(std::get<2>(info.param));
                         });

INSTANTIATE_TEST_SUITE_P(Adam, OverlapBitwise,
                         ::testing::Combine(::testing::ValuesIn(overlapping_strategies()), ::testing::Values(3, 8),
                                            ::testing::Values(1000), ::testing::Values(OptimizerConfig::Kind::kAdam)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_world" + std::to_string(std::get<1>(info.param));
                         });

TEST(OverlapBitwise, ShardedBf16) {
  const int world = 5;
  std::vector<std::vector<float>> whole(world), bucketed(world);
  testing::run_ranks(world, [&](net::Mesh& mesh) {
    whole[mesh.rank()] =
        train(mesh, "sharded", options_of(1000, false, Compression::kBf16, OptimizerConfig::Kind::kSgd));
    bucketed[mesh.rank()] =
        train(mesh, "sharded", options_of(1000, true, Compression::kBf16, OptimizerConfig::Kind::kSgd));
  });
  for (int r = 0; r < world; ++r)
    EXPECT_EQ(std::memcmp(bucketed[r].data(), whole[r].data(), kParameters * sizeof(float)), 0) << "rank " << r;
}

TEST(OverlapBitwise, PsWithFewerServersAndWithSeparateServers) {
  for (const bool separate : {false, true}) {
    const int world = 5, workers = separate ? 3 : 5;
    std::vector<std::vector<float>> whole(world), bucketed(world);
    testing::run_ranks(world, [&](net::Mesh& mesh) {
      for (const bool overlap : {false, true}) {
        SyncOptions options = options_of(1000, overlap, Compression::kNone, OptimizerConfig::Kind::kSgd);
        options.ps.servers = 2;
        options.ps.separate_servers = separate;
        (overlap ? bucketed : whole)[mesh.rank()] = train(mesh, "ps", options);
      }
    });
    for (int r = 0; r < workers; ++r)
      EXPECT_EQ(std::memcmp(bucketed[r].data(), whole[r].data(), kParameters * sizeof(float)), 0)
          << (separate ? "separate" : "co-located") << " servers, rank " << r;
  }
}

TEST(Overlap, ABucketIsSynchronizedWhileLaterGradientsAreStillBeingComputed) {
  testing::run_ranks(3, [&](net::Mesh& mesh) {
    const SyncOptions options = options_of(1000, true, Compression::kNone, OptimizerConfig::Kind::kSgd);
    auto sync = make_parameter_sync("ring", mesh, options);
    OverlappedStep overlap(*sync, options);
    std::vector<float> weights(kParameters, 0.5f), grads(kParameters, 1.0f);
    overlap.begin(weights, grads);
    overlap.ready_from(kParameters - 1000);
    // "Backward" goes on only once the first bucket is done: no timing assumption.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (overlap.buckets_done() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(overlap.buckets_done(), 1u);
    PhaseTimes times;
    overlap.finish(times);
    const auto& timings = overlap.timings();
    ASSERT_EQ(timings.size(), 8u);
    EXPECT_LT(timings[0].end_s, timings.back().ready_s);
    for (const auto& bucket : timings) EXPECT_LE(bucket.ready_s, bucket.start_s);
  });
}

TEST(Overlap, OptionsItCannotHonourAreRefused) {
  SyncOptions options;
  options.parameters = 10;
  options.overlap.enabled = true;
  options.ps.staleness = 2;
  try {
    check_parameter_sync("ps", options);
    FAIL() << "ps accepted overlap with staleness";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("overlap needs staleness 0"), std::string::npos) << e.what();
  }
  options.ps.staleness = 0;
  options.task_model.enabled = true;
  EXPECT_THROW(check_parameter_sync("sharded", options), std::invalid_argument);
  options.task_model.enabled = false;
  options.overlap.bucket_bytes = 2;
  EXPECT_THROW(check_parameter_sync("ring", options), std::invalid_argument);
  options.overlap.bucket_bytes = 4;
  EXPECT_EQ(default_label("ring", options), "ring-overlap");
}

class OverlapLostPeer : public ::testing::TestWithParam<std::string> {};

TEST_P(OverlapLostPeer, FailsEveryRankWithinTheDeadline) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> errors(3);
  testing::run_ranks(
      3,
      [&](net::Mesh& mesh) {
        const SyncOptions options = options_of(1000, true, Compression::kNone, OptimizerConfig::Kind::kSgd);
        // The buffers outlive the strategy, which may still have receives posted into them.
        std::vector<float> weights(kParameters, 0.5f), grads(kParameters, 1.0f);
        auto sync = make_parameter_sync(GetParam(), mesh, options);
        OverlappedStep overlap(*sync, options);
        overlap.begin(weights, grads);
        if (mesh.rank() == 2) {  // dies after its first bucket's gradients are ready
          overlap.ready_from(kParameters - 1000);
          mesh.abort("rank 2 ran out of memory in backward");
          return;
        }
        try {
          PhaseTimes times;
          overlap.finish(times);
        } catch (const net::TransportError& e) {
          errors[mesh.rank()] = e.what();
        }
      },
      [](int) {
        net::MeshOptions options;
        options.op_timeout = std::chrono::seconds(20);
        options.peer_silence_timeout = std::chrono::seconds(10);
        return options;
      });
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  for (int rank : {0, 1}) EXPECT_NE(errors[rank].find("out of memory"), std::string::npos) << errors[rank];
}

INSTANTIATE_TEST_SUITE_P(RingAndPs, OverlapLostPeer, ::testing::Values("ring", "ps"));

TEST(InterleavedParts, EveryRangeSplitsIntoItsPartsAndAnElementsPartNeverDependsOnTheRange) {
  for (std::size_t total : {0, 1, 5, 64, 1000, 7919})
    for (std::size_t parts : {1, 2, 3, 8})
      for (std::size_t block : {1, 7, 100, 10000}) {
        const InterleavedParts layout(total, parts, block);
        std::vector<int> part_of(total, -1);
        for (std::size_t part = 0; part < parts; ++part)
          for (const ShardRange& piece : layout.pieces(part, {0, total})) {
            EXPECT_LE(piece.size, block);
            for (std::size_t i = piece.begin; i < piece.end(); ++i) part_of[i] = static_cast<int>(part);
          }
        for (std::size_t i = 0; i < total; ++i) ASSERT_GE(part_of[i], 0) << "element " << i << " in no part";
        std::size_t largest = 0;
        for (std::size_t part = 0; part < parts; ++part) {
          std::size_t size = 0;
          for (const ShardRange& piece : layout.pieces(part, {0, total})) size += piece.size;
          largest = std::max(largest, size);
        }
        EXPECT_LE(largest, layout.max_part());
        // Any sub-range: the same parts, pieces inside the range, covering it once.
        for (std::size_t begin = 0; begin < total; begin += 1 + total / 5)
          for (std::size_t size : {std::size_t{1}, total / 3 + 1}) {
            const ShardRange range{begin, std::min(size, total - begin)};
            std::size_t covered = 0;
            for (std::size_t part = 0; part < parts; ++part)
              for (const ShardRange& piece : layout.pieces(part, range)) {
                EXPECT_GE(piece.begin, range.begin);
                EXPECT_LE(piece.end(), range.end());
                for (std::size_t i = piece.begin; i < piece.end(); ++i) EXPECT_EQ(part_of[i], static_cast<int>(part));
                covered += piece.size;
              }
            EXPECT_EQ(covered, range.size);
          }
      }
}

}  // namespace
}  // namespace syncbed::sync
