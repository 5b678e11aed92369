// BigDL's task execution model (sync/tasks/), its parts alone: the block store, the wire
// forms of rounds and reports, the straggler threshold, and the scheduler's plan
// (dependencies, group rounds, retries, lost executors). The driver and executors
// together are in tasks_driver_test.cc.
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <thread>

#include "sync/tasks/block_store.h"
#include "sync/tasks/drop_policy.h"
#include "sync/tasks/scheduler.h"
#include "sync/tasks/task.h"

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
  round.tasks.push_back({{TaskKind::kForwardBackward, 3, 1}, {0, 2, 1}, -1, 250'000'000});
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
  EXPECT_EQ(back.tasks[0].time_limit_ns, 250'000'000);
  EXPECT_EQ(back.tasks[1].time_limit_ns, 0);
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
  report.status = TaskStatus::kDropped;
  report.replicas = 5;
  EXPECT_EQ(TaskReport::decode(report.encode()).status, TaskStatus::kDropped);
  EXPECT_EQ(TaskReport::decode(report.encode()).replicas, 5);
}

TEST(DropThreshold, ReestimatesPerWindowFromTheSlowestTasksAfterWarmUp) {
  DropOptions options;
  options.drop_percentage = 0.25;  // k = 0.25 x 2 iterations x 4 tasks = 2 per window
  options.warmup_iterations = 1;
  options.threshold_window = 2;
  DropThreshold threshold(options, 4);
  auto iteration = [&](long i, std::vector<std::int64_t> times, int dropped) {
    for (auto t : times) threshold.finished(i, t);
    for (int d = 0; d < dropped; ++d) threshold.dropped(i);
    threshold.iteration_done(i);
  };
  iteration(0, {900, 900, 900, 900}, 0);  // warm-up: not counted
  EXPECT_EQ(threshold.limit_ns(), 0);
  iteration(1, {10, 20, 30, 40}, 0);
  EXPECT_EQ(threshold.limit_ns(), 0);  // the window is not complete
  iteration(2, {15, 25, 35, 45}, 0);
  EXPECT_EQ(threshold.limit_ns(), 40);  // the 2nd largest of the window
  iteration(3, {10, 20, 30}, 1);
  iteration(4, {11, 21, 31, 41}, 0);
  EXPECT_EQ(threshold.limit_ns(), 41);  // one dropped already: the largest
  iteration(5, {10, 20}, 2);
  iteration(6, {10, 20, 30, 39}, 0);
  EXPECT_EQ(threshold.limit_ns(), 41);  // k dropped already: grows by 1% (41 x 1.01, truncated)
  DropOptions off;
  DropThreshold never(off, 4);
  for (long i = 0; i < 50; ++i) iteration(i, {1, 2, 3, 4}, 0);
  EXPECT_EQ(never.limit_ns(), 0);
}

TEST(DropThreshold, TooFewReplicasIsBelowNTimesOneMinusTheMaximumDrop) {
  DropOptions options;
  options.max_drop_percentage = 0.25;
  EXPECT_EQ(options.min_replicas(4), 3);
  EXPECT_EQ(options.min_replicas(3), 3);
  options.max_drop_percentage = 0.5;
  EXPECT_EQ(options.min_replicas(3), 2);
  EXPECT_EQ(options.min_replicas(1), 1);
  options.max_drop_percentage = 0.9;
  EXPECT_EQ(options.min_replicas(2), 1);
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

}  // namespace
}  // namespace syncbed::sync::tasks
