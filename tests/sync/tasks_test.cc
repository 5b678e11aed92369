// BigDL's task execution model (sync/tasks/): the block store, the wire forms of rounds
// and reports, the scheduler's plan (dependencies, group rounds, retries, lost
// executors), and a driver with executors over real loopback sockets, checked bitwise
// against one process applying the same optimizer to the summed gradients.
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <thread>

#include "core/buffer.h"
#include "core/optimizer.h"
#include "sync/tasks/block_store.h"
#include "sync/tasks/driver.h"
#include "sync/tasks/executor.h"
#include "sync/tasks/scheduler.h"
#include "sync/tasks/task.h"
#include "tests/mesh_harness.h"

namespace syncbed::sync::tasks {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Block bytes(std::size_t n, std::uint8_t fill = 7) { return Block(n, std::byte{fill}); }

TEST(BlockStore, GetWaitsForAPutAndGivesUpAtItsDeadline) {
  BlockStore store(1 << 20);
  const auto id = BlockId::gradient(2, 1, 0);
  auto waiter = std::async(std::launch::async, [&] { return store.get(id, Clock::now() + 10s)->size(); });
  std::this_thread::sleep_for(20ms);
  store.put(id, bytes(100));
  EXPECT_EQ(waiter.get(), 100u);
  const auto start = Clock::now();
  EXPECT_THROW(store.get(BlockId::weights(3, 0), Clock::now() + 50ms), BlockMissing);
  EXPECT_GE(Clock::now() - start, 50ms);
}

TEST(BlockStore, RefusingWaitsFailsAbsentBlocksAtOnceButServesPresentOnes) {
  BlockStore store(1 << 20);
  store.put(BlockId::weights(1, 0), bytes(8));
  auto waiter = std::async(std::launch::async, [&] { store.get(BlockId::weights(1, 1), Clock::now() + 10s); });
  std::this_thread::sleep_for(20ms);
  store.refuse_waits("executor 1 gave up");
  try {
    waiter.get();
    FAIL() << "a refused wait returned";
  } catch (const BlockMissing& e) {
    EXPECT_NE(std::string(e.what()).find("W(1, 1) will not be put: executor 1 gave up"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store.get(BlockId::weights(1, 0), Clock::now() + 10s)->size(), 8u);
  store.accept_waits();
  std::thread late([&] {
    std::this_thread::sleep_for(20ms);
    store.put(BlockId::weights(1, 1), bytes(4));
  });
  EXPECT_EQ(store.get(BlockId::weights(1, 1), Clock::now() + 10s)->size(), 4u);
  late.join();
}

TEST(BlockStore, MemoryIsBoundedAndFinishedIterationsAreEvicted) {
  BlockStore store(1000);
  store.put(BlockId::gradient(0, 0, 0), bytes(400));
  store.put(BlockId::gradient(0, 0, 0), bytes(400));  // a re-run replaces, not adds
  store.put(BlockId::weights(1, 0), bytes(400));
  EXPECT_EQ(store.bytes(), 800u);
  try {
    store.put(BlockId::state(1, 0), bytes(400));
    FAIL() << "the store took more than its capacity";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("block store full: putting S(1, 0)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store.bytes(), 800u);
  store.evict_below(1);
  EXPECT_EQ(store.bytes(), 400u);
  EXPECT_EQ(store.blocks(), 1u);
  EXPECT_EQ(store.find(BlockId::gradient(0, 0, 0)), nullptr);
  ASSERT_NE(store.find(BlockId::weights(1, 0)), nullptr);
  store.put(BlockId::state(1, 0), bytes(400));
  EXPECT_EQ(store.peak_bytes(), 800u);
}

TEST(TaskWire, BlockIdsRoundsAndReportsSurviveEncoding) {
  const BlockId id = BlockId::gradient(12, 3, 5);
  EXPECT_EQ(BlockId::decode(id.encode()), id);
  EXPECT_EQ(BlockId::decode(BlockId::weights(4, 2).encode()), BlockId::weights(4, 2));
  EXPECT_THROW(BlockId::decode({1, 9, 0, 0}), std::runtime_error);

  RoundMessage round{7, 3, RoundMessage::End::kNo, {}};
  round.tasks.push_back({{TaskKind::kForwardBackward, 3, 1}, {0, 2, 1}, -1});
  round.tasks.push_back({{TaskKind::kParameterSync, 3, 2}, {0, 1, 2, 2}, 0});
  const auto words = round.encode();
  const RoundMessage back = RoundMessage::decode(words, 3);
  EXPECT_EQ(back.round, 7);
  EXPECT_EQ(back.evict_below, 3);
  ASSERT_EQ(back.tasks.size(), 2u);
  EXPECT_EQ(back.tasks[1].key, round.tasks[1].key);
  EXPECT_EQ(back.tasks[1].sources, round.tasks[1].sources);
  EXPECT_EQ(back.tasks[1].replica, 0);
  EXPECT_EQ(back.tasks[0].replica, -1);
  // Truncated, trailing, or naming an executor that does not exist: refused.
  EXPECT_THROW(RoundMessage::decode(std::span(words).first(words.size() - 1), 3), std::runtime_error);
  auto longer = words;
  longer.push_back(0);
  EXPECT_THROW(RoundMessage::decode(longer, 3), std::runtime_error);
  EXPECT_THROW(RoundMessage::decode(words, 2), std::runtime_error);

  TaskReport report;
  report.key = {TaskKind::kParameterSync, 9, 4};
  report.status = TaskStatus::kFailed;
  report.start_ns = 123;
  report.loss = 0.25;
  report.message = std::string(1000, 'x');
  const TaskReport decoded = TaskReport::decode(report.encode());
  EXPECT_EQ(decoded.key, report.key);
  EXPECT_EQ(decoded.status, TaskStatus::kFailed);
  EXPECT_EQ(decoded.start_ns, 123);
  EXPECT_EQ(decoded.loss, 0.25);
  EXPECT_EQ(decoded.message, std::string(TaskReport::kMessageBytes, 'x'));
}

void complete_all(Scheduler& scheduler, const Round& round) {
  for (const auto& [executor, list] : round.tasks)
    for (const auto& task : list) scheduler.completed(task.key);
}

TEST(Scheduler, WithoutGroupingEveryJobIsARoundAndWaitsForTheOneBefore) {
  Scheduler scheduler({3, 2, 0, 3});
  const Round init = scheduler.next_round();
  ASSERT_EQ(init.size(), 3u);
  EXPECT_EQ(init.tasks.at(1)[0].key, (TaskKey{TaskKind::kInit, 0, 1}));
  EXPECT_EQ(init.tasks.at(1)[0].replica, 2);  // the next executor keeps the copy
  EXPECT_EQ(init.tasks.at(2)[0].replica, 0);
  // Nothing else can start before init completes.
  EXPECT_EQ(scheduler.next_round().size(), 0u);
  complete_all(scheduler, init);

  const Round job1 = scheduler.next_round();
  ASSERT_EQ(job1.size(), 3u);
  const TaskSpec& fb = job1.tasks.at(2)[0];
  EXPECT_EQ(fb.key, (TaskKey{TaskKind::kForwardBackward, 0, 2}));
  EXPECT_EQ(fb.sources, (std::vector<int>{0, 1, 2}));  // W(0, j) lives with init(j)
  complete_all(scheduler, job1);
  const Round job2 = scheduler.next_round();
  const TaskSpec& ps = job2.tasks.at(0)[0];
  EXPECT_EQ(ps.key, (TaskKey{TaskKind::kParameterSync, 0, 0}));
  EXPECT_EQ(ps.sources, (std::vector<int>{0, 1, 2, 0}));  // G(0, p, 0) on p; W and S local
  EXPECT_EQ(job2.evict_below, 0);
  complete_all(scheduler, job2);
  EXPECT_EQ(scheduler.iterations_done(), 1);
  EXPECT_EQ(scheduler.next_round().evict_below, 1);  // iteration 0's blocks can go
  EXPECT_FALSE(scheduler.finished());
}

TEST(Scheduler, AGroupRoundCarriesItsIterationsInDependencyOrder) {
  Scheduler scheduler({2, 5, 2, 3});
  const Round first = scheduler.next_round();
  ASSERT_EQ(first.size(), 2u * 5);  // init + 2 iterations of 2 jobs, on 2 executors
  long last_job = -1;
  for (const auto& task : first.tasks.at(1)) {
    EXPECT_GE(task.key.job(), last_job);
    last_job = task.key.job();
  }
  EXPECT_EQ(last_job, 4);
  complete_all(scheduler, first);
  const Round second = scheduler.next_round();
  EXPECT_EQ(second.size(), 2u * 4);
  EXPECT_EQ(second.tasks.at(0).front().key, (TaskKey{TaskKind::kForwardBackward, 2, 0}));
  complete_all(scheduler, second);
  const Round last = scheduler.next_round();  // only iteration 4 is left
  EXPECT_EQ(last.size(), 2u * 2);
  complete_all(scheduler, last);
  EXPECT_TRUE(scheduler.finished());
  EXPECT_EQ(scheduler.iterations_done(), 5);
}

TEST(Scheduler, AFailedTaskRunsAgainUntilItsAttemptsAreSpent) {
  Scheduler scheduler({2, 1, 0, 3});
  complete_all(scheduler, scheduler.next_round());
  const Round job1 = scheduler.next_round();
  scheduler.completed(job1.tasks.at(0)[0].key);
  const TaskKey flaky = job1.tasks.at(1)[0].key;
  scheduler.failed(flaky, "connection reset");
  const Round retry = scheduler.next_round();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry.tasks.at(1)[0].key, flaky);
  scheduler.skipped(flaky);  // skipped: no attempt counted
  scheduler.next_round();
  scheduler.failed(flaky, "connection reset");
  scheduler.next_round();
  try {
    scheduler.failed(flaky, "connection reset again");
    FAIL() << "a third failure was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "forward-backward(0, 1) failed 3 times; the last time: connection reset again");
  }
}

TEST(Scheduler, ALostExecutorsWorkMovesAndItsLostGradientsAreRecomputed) {
  Scheduler scheduler({3, 3, 0, 3});
  complete_all(scheduler, scheduler.next_round());  // init
  complete_all(scheduler, scheduler.next_round());  // forward-backward(0, *)
  const Round job2 = scheduler.next_round();
  scheduler.completed(job2.tasks.at(0)[0].key);
  scheduler.executor_lost(1);  // while parameter-sync(0, 1) runs there
  // parameter-sync(0, 2) fails fetching G(0, 1, 2) from the lost executor.
  scheduler.failed(job2.tasks.at(2)[0].key, "fetching G(0, 1, 2) from rank 1: the peer closed the connection");
  EXPECT_EQ(scheduler.alive(), (std::vector<int>{0, 2}));
  const int new_owner = scheduler.owner(1);
  EXPECT_NE(new_owner, 1);
  // Its gradient blocks died with it: forward-backward(0, 1) runs again on the new owner.
  const Round redo = scheduler.next_round();
  ASSERT_EQ(redo.size(), 1u);
  EXPECT_EQ(redo.tasks.at(new_owner)[0].key, (TaskKey{TaskKind::kForwardBackward, 0, 1}));
  EXPECT_EQ(redo.tasks.at(new_owner)[0].sources, (std::vector<int>{0, 2, 2}));  // W(0, 1) from init(1)'s replica
  complete_all(scheduler, redo);
  Round rest = scheduler.next_round();
  std::vector<TaskKey> keys;
  for (const auto& [e, list] : rest.tasks)
    for (const auto& t : list) keys.push_back(t.key);
  ASSERT_EQ(keys.size(), 2u);  // parameter-sync(0, 1) and (0, 2); (0, 0) is done
  complete_all(scheduler, rest);
  while (!scheduler.finished()) complete_all(scheduler, scheduler.next_round());
  EXPECT_EQ(scheduler.iterations_done(), 3);
  EXPECT_EQ(scheduler.weights_location(3, 1), new_owner);
}

TEST(Scheduler, LosingABlockAndItsReplicaIsAClearError) {
  Scheduler scheduler({3, 2, 0, 3});
  complete_all(scheduler, scheduler.next_round());  // init(1) on 1, its copy on 2
  scheduler.executor_lost(1);
  scheduler.executor_lost(2);
  try {
    scheduler.next_round();
    FAIL() << "planned without W(0, 1)";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the outputs of init(1) were lost with executor 1 and its replica 2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(scheduler.executor_lost(0), std::runtime_error);  // none left
}

// Gradient of partition p: depends on the weights, the partition and the iteration, so a
// misrouted or stale block changes the result.
class FormulaGradients : public GradientSource {
 public:
  explicit FormulaGradients(std::size_t parameters) : initial_(parameters) {
    for (std::size_t k = 0; k < parameters; ++k) initial_[k] = 0.01f * static_cast<float>(k % 97);
  }
  std::span<float> weights(int p) override { return replica(p).weights; }
  std::span<const float> gradients(int p) override { return replica(p).gradients; }
  double compute(int p, long iteration) override {
    auto& r = replica(p);
    formula(r.weights, p, iteration, r.gradients);
    return p;
  }
  std::span<const float> initial_weights() override { return initial_; }

  static void formula(std::span<const float> w, int p, long iteration, std::span<float> out) {
    for (std::size_t k = 0; k < w.size(); ++k)
      out[k] = 0.5f * w[k] + 0.001f * static_cast<float>((k * 7 + p * 13 + iteration * 3) % 11);
  }

 private:
  struct Replica {
    std::vector<float> weights, gradients;
  };
  Replica& replica(int p) {
    auto& r = replicas_[p];
    if (r.weights.empty()) r = {std::vector<float>(initial_.size()), std::vector<float>(initial_.size())};
    return r;
  }
  std::vector<float> initial_;
  std::map<int, Replica> replicas_;
};

// One process: sum the partitions' gradients in order, apply the optimizer.
std::vector<float> reference(std::size_t parameters, int partitions, long iterations, const OptimizerConfig& config) {
  FormulaGradients source(parameters);
  std::vector<float> w(source.initial_weights().begin(), source.initial_weights().end());
  std::vector<float> sum(parameters), g(parameters);
  std::vector<Optimizer> shards;
  for (int j = 0; j < partitions; ++j) shards.emplace_back(config, shard_range(parameters, partitions, j).size);
  for (long i = 0; i < iterations; ++i) {
    for (int p = 0; p < partitions; ++p) {
      FormulaGradients::formula(w, p, i, g);
      for (std::size_t k = 0; k < parameters; ++k) sum[k] = p == 0 ? g[k] : sum[k] + g[k];
    }
    for (int j = 0; j < partitions; ++j) {
      const ShardRange s = shard_range(parameters, partitions, j);
      shards[j].step(std::span(w).subspan(s.begin, s.size), std::span<const float>(sum).subspan(s.begin, s.size));
    }
  }
  return w;
}

struct TasksCase {
  int executors;
  std::size_t parameters;
  int group;
};

class DriverAndExecutors : public ::testing::TestWithParam<TasksCase> {};

TEST_P(DriverAndExecutors, EndWithTheWeightsOfOneProcessBitwise) {
  const auto [executors, parameters, group] = GetParam();
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  adam.learning_rate = 0.01f;
  constexpr long kIterations = 5;
  std::vector<float> result;
  std::vector<long> iterations_seen;
  testing::run_ranks(executors + 1, [&](net::Mesh& mesh) {
    if (mesh.rank() == executors) {
      DriverOptions options;
      options.executors = executors;
      options.iterations = kIterations;
      options.group = group;
      options.parameters = parameters;
      Driver driver(mesh, options);
      result = driver.run([&](const IterationTiming& t) { iterations_seen.push_back(t.iteration); });
      EXPECT_GT(driver.stats().peak_store_bytes, 0u);
      EXPECT_EQ(driver.stats().tasks, executors * (2 * kIterations + 1));
      return;
    }
    FormulaGradients source(parameters);
    TaskRuntimeOptions options;
    options.executors = executors;
    options.parameters = parameters;
    options.optimizer = adam;
    Executor executor(mesh, options, source);
    executor.run();
    // Only the last iterations stay: W/S of the final one, and whatever was in flight.
    EXPECT_LE(executor.store().blocks(), static_cast<std::size_t>(4 * executors + 8));
  });
  EXPECT_EQ(iterations_seen, (std::vector<long>{0, 1, 2, 3, 4}));
  const auto expected = reference(parameters, executors, kIterations, adam);
  ASSERT_EQ(result.size(), expected.size());
  EXPECT_EQ(std::memcmp(result.data(), expected.data(), expected.size() * sizeof(float)), 0);
}

INSTANTIATE_TEST_SUITE_P(Sizes, DriverAndExecutors,
                         ::testing::Values(TasksCase{1, 10, 0}, TasksCase{2, 1, 0}, TasksCase{3, 1001, 0},
                                           TasksCase{3, 1001, 2}, TasksCase{4, 3, 3}, TasksCase{5, 20011, 1}));

TEST(DriverAndExecutors, ALostDriverEndsEveryExecutorWithAClearError) {
  std::vector<std::string> errors(3);
  testing::run_ranks(3, [&](net::Mesh& mesh) {
    if (mesh.rank() == 2) return;  // the driver leaves without a word
    FormulaGradients source(8);
    TaskRuntimeOptions options;
    options.executors = 2;
    options.parameters = 8;
    try {
      Executor(mesh, options, source).run();
    } catch (const std::exception& e) {
      errors[mesh.rank()] = e.what();
    }
  });
  for (int e = 0; e < 2; ++e)
    EXPECT_NE(errors[e].find("executor " + std::to_string(e) + ": lost the driver (rank 2)"), std::string::npos)
        << errors[e];
}

}  // namespace
}  // namespace syncbed::sync::tasks
