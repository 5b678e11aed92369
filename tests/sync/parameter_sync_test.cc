#include "sync/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "core/bf16.h"
#include "core/join.h"
#include "sync/ps/parameter_server.h"
#include "tests/mesh_harness.h"

namespace syncbed::sync {
namespace {

constexpr int kSteps = 3;

float initial_weight(std::size_t i) { return 0.01f * static_cast<float>(static_cast<int>(i % 37) - 18); }

// Depends on rank, index and step, so a misrouted shard or a stale step shows. Kept
// positive: strategies add in different orders, and where a sum nearly cancels Adam's
// division by sqrt(v) magnifies last-bit differences far beyond 1e-5; that would test
// the conditioning of the input, not the strategy.
float gradient(int rank, std::size_t i, int step) {
  return 0.2f + 0.05f * static_cast<float>(rank + 1) + 0.003f * static_cast<float>(i % 101) +
         0.1f * static_cast<float>(step) + 0.002f * static_cast<float>((i * 7 + rank * 3) % 17);
}

OptimizerConfig optimizer_of(OptimizerConfig::Kind kind) {
  OptimizerConfig config;
  config.kind = kind;
  config.weight_decay = 1e-4f;
  if (kind == OptimizerConfig::Kind::kSgd) {
    config.learning_rate = 0.05f;
    config.momentum = 0.9f;
  } else {
    config.learning_rate = 0.01f;
  }
  return config;
}

// One process applying the same optimizer to the sum of all workers' gradients.
std::vector<float> oracle(int world, std::size_t parameters, const OptimizerConfig& config) {
  std::vector<float> weights(parameters), sum(parameters);
  for (std::size_t i = 0; i < parameters; ++i) weights[i] = initial_weight(i);
  Optimizer optimizer(config, parameters);
  for (int step = 0; step < kSteps; ++step) {
    for (std::size_t i = 0; i < parameters; ++i) {
      sum[i] = 0;
      for (int r = 0; r < world; ++r) sum[i] += gradient(r, i, step);
    }
    optimizer.step(weights, sum);
  }
  return weights;
}

// A strategy and how it is set up. Separate ps servers are extra ranks after the workers.
struct StrategySetup {
  std::string strategy;
  int ps_servers = 0;
  bool ps_separate_servers = false;
  int staleness = 0;
  Compression compression = Compression::kNone;
  std::size_t segment_bytes = 256;  // many pipelined segments even for small vectors; 0: the strategy's own
  int extra_ranks() const { return sync::extra_ranks(options(0, {})); }  // as the registry counts them
  SyncOptions options(std::size_t parameters, const OptimizerConfig& config) const {
    SyncOptions options;
    options.parameters = parameters;
    options.optimizer = config;
    options.segment_bytes = segment_bytes;
    options.ps.servers = ps_servers;
    options.ps.separate_servers = ps_separate_servers;
    options.ps.staleness = staleness;
    options.compression = compression;
    return options;
  }
};

void check_against_oracle(const StrategySetup& setup, int world, std::size_t parameters, OptimizerConfig::Kind kind) {
  const auto config = optimizer_of(kind);
  std::vector<std::vector<float>> results(world);
  testing::run_ranks(world + setup.extra_ranks(), [&](net::Mesh& mesh) {
    auto sync = make_parameter_sync(setup.strategy, mesh, setup.options(parameters, config));
    if (sync->serves_only()) return sync->serve();
    ASSERT_EQ(sync->workers(), world);
    std::vector<float> weights(parameters), grads(parameters);
    for (std::size_t i = 0; i < parameters; ++i) weights[i] = initial_weight(i);
    for (int step = 0; step < kSteps; ++step) {
      for (std::size_t i = 0; i < parameters; ++i) grads[i] = gradient(mesh.rank(), i, step);
      PhaseTimes times;
      sync->step(weights, grads, times);
      EXPECT_FALSE(times.phases.empty());
    }
    sync->synchronize(weights);
    results[mesh.rank()] = std::move(weights);
  });
  const auto expected = oracle(world, parameters, config);
  for (int r = 0; r < world; ++r) {
    ASSERT_EQ(results[r].size(), parameters) << "rank " << r;
    EXPECT_TRUE(parameters == 0 || std::memcmp(results[r].data(), results[0].data(), parameters * sizeof(float)) == 0)
        << "rank " << r << " holds different weights than rank 0";
    std::size_t wrong = 0, first = 0;
    for (std::size_t i = 0; i < parameters; ++i)
      if (std::abs(results[r][i] - expected[i]) > 1e-5f * std::abs(expected[i]) + 1e-7f && !wrong++) first = i;
    EXPECT_EQ(wrong, 0u) << "rank " << r << ", first at " << first << ": " << results[r][first] << " vs oracle "
                         << expected[first];
  }
}

class StrategyOracle : public ::testing::TestWithParam<std::tuple<std::string, int, int, OptimizerConfig::Kind>> {};

TEST_P(StrategyOracle, MatchesOneProcessOnTheSummedGradient) {
  const auto [strategy, world, which, kind] = GetParam();
  const std::size_t counts[] = {0, 1, static_cast<std::size_t>(world - 1), static_cast<std::size_t>(world + 1), 7919};
  check_against_oracle({strategy}, world, counts[which], kind);
}

std::string oracle_case_name(const ::testing::TestParamInfo<StrategyOracle::ParamType>& info) {
  static const char* const sizes[] = {"zero", "one", "n_minus_1", "n_plus_1", "prime7919"};
  const bool sgd = std::get<3>(info.param) == OptimizerConfig::Kind::kSgd;
  return std::get<0>(info.param) + "_world" + std::to_string(std::get<1>(info.param)) + "_" +
         sizes[std::get<2>(info.param)] + (sgd ? "_sgd_momentum" : "_adam");
}

INSTANTIATE_TEST_SUITE_P(
    StrategiesWorldsCountsOptimizers, StrategyOracle,
    ::testing::Combine(::testing::ValuesIn(parameter_sync_names()), ::testing::Range(1, 10), ::testing::Range(0, 5),
                       ::testing::Values(OptimizerConfig::Kind::kSgd, OptimizerConfig::Kind::kAdam)),
    oracle_case_name);

// Inception-v1 size (BigDL's model has 6,998,552 parameters), in 256-byte segments and in
// each strategy's own (segment 0: sharded 4 MiB, so a quarter of the vector, 7 MB, spans
// two of them; ring and halving_doubling 1 MiB). Under a sanitizer a million parameters
// still cross many segments, at a seventh of the instrumented cost.
TEST(StrategyOracle, SevenMillionParametersEveryStrategy) {
#ifdef SYNCBED_SANITIZED
  constexpr std::size_t kParameters = 1'000'003;
#else
  constexpr std::size_t kParameters = 7'000'003;
#endif
  for (const std::string& strategy : parameter_sync_names())
    for (const std::size_t segment_bytes : {std::size_t{256}, std::size_t{0}}) {
      SCOPED_TRACE(strategy + " segment " + std::to_string(segment_bytes));
      StrategySetup setup{strategy};
      setup.segment_bytes = segment_bytes;
      check_against_oracle(setup, 4, kParameters, OptimizerConfig::Kind::kAdam);
    }
}

// The parameter server's other layouts: fewer co-located servers than workers,
// separate server processes, and bounded staleness (whose final weights, after
// synchronize(), must match the oracle too, since these gradients ignore the weights).
const StrategySetup kPsSetups[] = {
    {"ps", 1, false, 0}, {"ps", 3, false, 0}, {"ps", 1, true, 0}, {"ps", 3, true, 0}, {"ps", 0, false, 2},
};
const char* const kPsSetupNames[] = {"one_server", "three_servers", "one_separate", "three_separate", "staleness2"};

class PsLayouts : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(PsLayouts, MatchOneProcessOnTheSummedGradient) {
  const auto [setup, world, which] = GetParam();
  if (!kPsSetups[setup].ps_separate_servers && kPsSetups[setup].ps_servers > world) GTEST_SKIP();
  const std::size_t counts[] = {static_cast<std::size_t>(world + 1), 7919};
  check_against_oracle(kPsSetups[setup], world, counts[which], OptimizerConfig::Kind::kAdam);
}

std::string ps_case_name(const ::testing::TestParamInfo<PsLayouts::ParamType>& info) {
  return std::string(kPsSetupNames[std::get<0>(info.param)]) + "_world" + std::to_string(std::get<1>(info.param)) +
         (std::get<2>(info.param) ? "_prime7919" : "_n_plus_1");
}

INSTANTIATE_TEST_SUITE_P(LayoutsWorldsCounts, PsLayouts,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Range(1, 10), ::testing::Range(0, 2)),
                         ps_case_name);

// A checkpoint after step 3 (every rank's save_state(), separate servers' from their
// after_round hook), restored into strategies built afresh on a new mesh, then steps 3..5:
// the weights must equal, bitwise, those of 6 uninterrupted steps.
// Every registered strategy with its defaults, then the other layouts that keep state.
std::vector<std::pair<std::string, StrategySetup>> checkpoint_setups() {
  std::vector<std::pair<std::string, StrategySetup>> setups;
  for (const auto& name : parameter_sync_names()) setups.push_back({name, {name}});
  setups.push_back({"sharded_bf16", {"sharded", 0, false, 0, Compression::kBf16}});
  setups.push_back({"ps_two_servers", {"ps", 2, false, 0}});
  setups.push_back({"ps_two_separate", {"ps", 2, true, 0}});
  setups.push_back({"ps_staleness2", {"ps", 0, false, 2}});
  return setups;
}

class StrategyCheckpoint : public ::testing::TestWithParam<std::pair<std::string, StrategySetup>> {};

TEST_P(StrategyCheckpoint, RestoredStateContinuesBitwiseLikeAnUninterruptedRun) {
  const StrategySetup& setup = GetParam().second;
  constexpr int kWorld = 3, kSaveAfter = 3, kTotal = 6;
  constexpr std::size_t kParameters = 1001;
  const auto config = optimizer_of(OptimizerConfig::Kind::kAdam);
  const int ranks = kWorld + setup.extra_ranks();
  // Steps [from, to) on every worker; with `save`, every rank's state after step `to`;
  // with `restore`, the run starts from those states.
  auto train = [&](int from, int to, std::vector<std::vector<float>>& weights,
                   std::vector<std::vector<std::byte>>* save, const std::vector<std::vector<std::byte>>* restore) {
    testing::run_ranks(ranks, [&](net::Mesh& mesh) {
      const int r = mesh.rank();
      auto sync = make_parameter_sync(setup.strategy, mesh, setup.options(kParameters, config));
      if (restore) sync->restore_state((*restore)[r]);
      if (sync->serves_only()) {
        return sync->serve([&](std::uint64_t rounds) {
          if (save && rounds == static_cast<std::uint64_t>(to)) (*save)[r] = sync->save_state();
        });
      }
      std::vector<float> grads(kParameters);
      for (int step = from; step < to; ++step) {
        for (std::size_t i = 0; i < kParameters; ++i) grads[i] = gradient(r, i, step);
        PhaseTimes times;
        sync->step(weights[r], grads, times);
      }
      sync->synchronize(weights[r]);
      if (save) (*save)[r] = sync->save_state();
    });
  };
  std::vector<float> initial(kParameters);
  for (std::size_t i = 0; i < kParameters; ++i) initial[i] = initial_weight(i);
  std::vector<std::vector<float>> straight(ranks, initial), resumed(ranks, initial);
  train(0, kTotal, straight, nullptr, nullptr);
  std::vector<std::vector<std::byte>> states(ranks);
  train(0, kSaveAfter, resumed, &states, nullptr);
  for (int r = 0; r < ranks; ++r) EXPECT_FALSE(states[r].empty()) << "rank " << r << " saved nothing";
  train(kSaveAfter, kTotal, resumed, nullptr, &states);
  for (int r = 0; r < kWorld; ++r)
    EXPECT_EQ(std::memcmp(resumed[r].data(), straight[r].data(), kParameters * sizeof(float)), 0) << "rank " << r;
}

INSTANTIATE_TEST_SUITE_P(Strategies, StrategyCheckpoint, ::testing::ValuesIn(checkpoint_setups()),
                         [](const auto& info) { return info.param.first; });

// A state of another size or strategy is refused with a message, not loaded.
TEST(StrategyCheckpoint, AStateOfAnotherShapeIsRefused) {
  testing::run_ranks(2, [](net::Mesh& mesh) {
    SyncOptions options;
    options.parameters = 100;
    options.optimizer = optimizer_of(OptimizerConfig::Kind::kAdam);
    const auto ring_state = make_parameter_sync("ring", mesh, options)->save_state();
    auto refusal = [&](const char* strategy, std::size_t parameters) {
      options.parameters = parameters;
      try {
        make_parameter_sync(strategy, mesh, options)->restore_state(ring_state);
      } catch (const std::runtime_error& e) {
        return std::string(e.what());
      }
      return std::string("restored");
    };
    EXPECT_EQ(refusal("ring", 101),
              "ring state: optimizer has 200 values, expected 202 (a checkpoint of another "
              "model or layout?)");
    EXPECT_EQ(refusal("sharded", 100), "sharded state (rank " + std::to_string(mesh.rank()) +
                                           "): optimizer has 200 values, expected 100 (a checkpoint of another "
                                           "model or layout?)");
    EXPECT_EQ(refusal("ring", 100), "restored");
  });
}

TEST(Bf16, TruncationErrorIsBelowTwoToTheMinusSeven) {
  float worst = 0;
  for (int k = -2000; k <= 2000; ++k) {
    const float x = std::ldexp(1.0f + 0.000613f * static_cast<float>(k * 7919 % 1637), k % 60) * (k % 2 ? -1.0f : 1.0f);
    const float y = bf16_expand(bf16_truncate(x));
    worst = std::max(worst, std::abs(y - x) / std::abs(x));
    EXPECT_LE(std::abs(y), std::abs(x)) << "truncation rounds toward zero";
  }
  EXPECT_LE(worst, std::ldexp(1.0f, -7));
  EXPECT_GT(worst, std::ldexp(1.0f, -9));  // the test really exercises the dropped bits
}

// Sum of per-worker gradients of 0.5 |w - target|^2 / N: SGD must reach the target
// within bf16 precision although every gradient and weight crosses the wire as bf16.
TEST(ShardedBf16, ConvergesOnAConvexProblem) {
  constexpr std::size_t kParameters = 1001;
  for (bool compressed_sum : {false, true}) {
    testing::run_ranks(3, [&](net::Mesh& mesh) {
      SyncOptions options;
      options.parameters = kParameters;
      options.optimizer.learning_rate = 0.5f;
      options.compression = Compression::kBf16;
      options.sum_in_compressed_format = compressed_sum;
      auto sync = make_parameter_sync("sharded", mesh, options);
      std::vector<float> weights(kParameters, 0.0f), grads(kParameters);
      auto target = [](std::size_t i) { return 1.0f + 0.01f * static_cast<float>(i % 50); };
      for (int step = 0; step < 40; ++step) {
        for (std::size_t i = 0; i < kParameters; ++i) grads[i] = (weights[i] - target(i)) / mesh.size();
        PhaseTimes times;
        sync->step(weights, grads, times);
      }
      for (std::size_t i = 0; i < kParameters; ++i)
        ASSERT_NEAR(weights[i], target(i), std::ldexp(1.0f, -6) * target(i)) << "parameter " << i;
    });
  }
}

// The registry's names as error messages list them; the first three strategies always among them.
std::string known_strategies() {
  const std::string known = join(parameter_sync_names());
  EXPECT_NE(known.find("ps, ring, sharded"), std::string::npos) << known;
  return known;
}

TEST(ParameterSyncRegistry, UnknownNamesAndUnsupportedOptionsAreRefused) {
  const std::string known = known_strategies();
  testing::run_ranks(1, [&](net::Mesh& mesh) {
    SyncOptions options;
    options.parameters = 4;
    try {
      make_parameter_sync("allgather", mesh, options);
      ADD_FAILURE();
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), ("unknown sync strategy 'allgather' (known: " + known + ")").c_str());
    }
    EXPECT_THROW(parse_compression("fp8"), std::invalid_argument);
    options.compression = Compression::kBf16;
    try {
      make_parameter_sync("ring", mesh, options);
      ADD_FAILURE();
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "sync strategy 'ring' does not support compression 'bf16'");
    }
  });
}

TEST(ParameterSyncRegistry, ParameterServerOptionsAreChecked) {
  SyncOptions options;
  options.ps.staleness = 1;
  EXPECT_THROW(check_parameter_sync("ring", options), std::invalid_argument);
  EXPECT_NO_THROW(check_parameter_sync("ps", options));
  options.ps.staleness = -1;
  EXPECT_THROW(check_parameter_sync("ps", options), std::invalid_argument);
  options.ps.staleness = 0;
  options.ps.separate_servers = true;
  EXPECT_THROW(check_parameter_sync("ps", options), std::invalid_argument);
  testing::run_ranks(2, [](net::Mesh& mesh) {
    SyncOptions options;
    options.ps.servers = 3;
    try {
      make_parameter_sync("ps", mesh, options);
      ADD_FAILURE();
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "ps_servers: co-located servers need 1 <= servers <= workers (2), got 3");
    }
    options.ps.separate_servers = true;
    options.ps.servers = 2;
    EXPECT_THROW(make_parameter_sync("ps", mesh, options), std::invalid_argument);
  });
}

// Two objects in turn (as bench-allreduce makes one per size), two sums each: the
// second object must not see anything of the first.
TEST(ParameterSync, AllreduceSumMatchesForEveryStrategy) {
  for (const StrategySetup& setup :
       {StrategySetup{"ps"}, StrategySetup{"ps", 2, true}, StrategySetup{"ring"}, StrategySetup{"sharded"}}) {
    testing::run_ranks(5 + setup.extra_ranks(), [&](net::Mesh& mesh) {
      for (std::size_t count : {1234, 77}) {
        auto sync = make_parameter_sync(setup.strategy, mesh, setup.options(count, {}));
        if (sync->serves_only()) {
          sync->serve();
          continue;
        }
        for (int round = 0; round < 2; ++round) {
          std::vector<float> data(count);
          for (std::size_t i = 0; i < count; ++i) data[i] = static_cast<float>((mesh.rank() + 1) * (i % 13) + round);
          PhaseTimes times;
          sync->allreduce_sum(data, times);
          for (std::size_t i = 0; i < count; ++i)
            ASSERT_EQ(data[i], 15.0f * static_cast<float>(i % 13) + 5 * round) << setup.strategy << " at " << i;
        }
      }
    });
  }
}

// Worker 3 is slow. With staleness k, step t must return the weights of at least
// round t+1-k on every worker, so no one gets more than k steps ahead; and the fast
// workers must really use that slack, or the mode would be BSP in disguise.
TEST(PsStaleness, NoWorkerRunsMoreThanKStepsAhead) {
  constexpr int kWorld = 4, kStaleness = 2, kRounds = 10;
  constexpr std::size_t kParameters = 10007;
  std::vector<std::uint64_t> most_behind(kWorld, 0);
  testing::run_ranks(kWorld, [&](net::Mesh& mesh) {
    SyncOptions options;
    options.parameters = kParameters;
    options.ps.staleness = kStaleness;
    ParameterServer sync(mesh, options);
    std::vector<float> weights(kParameters, 1.0f), grads(kParameters);
    for (int step = 0; step < kRounds; ++step) {
      if (mesh.rank() == kWorld - 1) std::this_thread::sleep_for(std::chrono::milliseconds(40));
      for (std::size_t i = 0; i < kParameters; ++i) grads[i] = gradient(mesh.rank(), i, step);
      PhaseTimes times;
      sync.step(weights, grads, times);
      const std::uint64_t done = step + 1, version = sync.weights_version();
      ASSERT_LE(version, done);
      ASSERT_GE(version + kStaleness, done) << "rank " << mesh.rank() << " ran too far ahead at step " << step;
      most_behind[mesh.rank()] = std::max(most_behind[mesh.rank()], done - version);
    }
    sync.synchronize(weights);
    EXPECT_EQ(sync.weights_version(), static_cast<std::uint64_t>(kRounds));
  });
  EXPECT_EQ(most_behind[0], static_cast<std::uint64_t>(kStaleness));
}

// Workers that disagree on what to do (one steps, one sums) get an error naming the
// odd one out, rather than a hang or silently mixed data.
TEST(PsProtocol, MismatchedCallsAreReportedNotHidden) {
  testing::run_ranks(2, [](net::Mesh& mesh) {
    SyncOptions options;
    options.parameters = 100;
    auto sync = make_parameter_sync("ps", mesh, options);
    std::vector<float> weights(100, 1.0f), grads(100, 1.0f);
    PhaseTimes times;
    try {
      if (mesh.rank() == 0)
        sync->step(weights, grads, times);
      else
        sync->allreduce_sum(grads, times);
      ADD_FAILURE() << "rank " << mesh.rank() << " completed a mismatched round";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("worker 1 sent sum for round 0 while worker 0 sent step"), std::string::npos)
          << e.what();
    }
  });
}

// Ranks as threads of one process (the way examples/threads_step.cc uses the library):
// when one rank throws, its mesh is destroyed by the exception and tells every peer, so
// the others' step fails at once, naming it, instead of waiting out the op timeout.
TEST(InProcessRanks, ARankThatThrowsFailsEveryOtherRankAtOnce) {
  constexpr int kWorld = 4, kFailing = 2;
  constexpr std::size_t kParameters = 100003;
  for (const std::string& strategy : parameter_sync_names()) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::string> errors = testing::rank_errors(kWorld, [&](net::Mesh& mesh) {
      SyncOptions options;
      options.parameters = kParameters;
      auto sync = make_parameter_sync(strategy, mesh, options);
      if (mesh.rank() == kFailing) throw std::runtime_error("rank 2 ran out of memory in backward");
      std::vector<float> weights(kParameters, 1.0f), grads(kParameters, 1.0f);
      PhaseTimes times;
      sync->step(weights, grads, times);
    });
    for (int rank = 0; rank < kWorld; ++rank) {
      if (rank == kFailing) continue;
      EXPECT_NE(errors[rank].find("rank 2"), std::string::npos)
          << strategy << ", rank " << rank << ": " << errors[rank];
    }
    // The default op timeout is 60 s; the root cause arrives in well under that.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << strategy;
  }
}

}  // namespace
}  // namespace syncbed::sync
