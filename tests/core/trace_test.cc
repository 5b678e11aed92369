// The per-process timeline: off unless enabled, bounded to the first and last
// iterations, and written in Chrome trace format on the reference clock.
#include "core/trace.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace syncbed::trace {
namespace {

std::set<long> iterations_kept() {
  std::set<long> kept;
  for (const Event& e : events()) kept.insert(e.iteration);
  return kept;
}

TEST(Trace, RecordsNothingUntilEnabled) {
  disable();
  { Scope scope("compute", "compute"); }
  enable({});
  EXPECT_TRUE(events().empty());
  { Scope scope("compute", "compute"); }
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].name, "compute");
  EXPECT_GE(events()[0].duration_ns, 0);
  disable();
}

TEST(Trace, KeepsTheFirstAndLastIterations) {
  enable({2, 3});
  for (long i = 0; i < 20; ++i) {
    set_iteration(i);
    const auto now = Clock::now();
    record("step", "sync", now, now);
  }
  EXPECT_EQ(iterations_kept(), (std::set<long>{0, 1, 17, 18, 19}));
  disable();
}

TEST(Trace, LapRecordsTheIntervalItReturns) {
  enable({});
  Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const double seconds = lap(watch, "shuffle");
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_NEAR(recorded[0].duration_ns / 1e9, seconds, 1e-6);
  EXPECT_EQ(recorded[0].category, "sync");
  disable();
}

// Consecutive laps of one stopwatch are consecutive intervals: one ends where the next
// begins, so a timeline never shows compute ending after its sync began (a lap used to
// read the clock twice, and a thread preempted between the reads moved its span).
TEST(Trace, ConsecutiveLapsRecordAbuttingIntervals) {
  enable({});
  Stopwatch watch;
  lap(watch, "compute", "compute");
  lap(watch, "sync");
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0].start_ns + recorded[0].duration_ns, recorded[1].start_ns);
  disable();
}

// A stall report names the phase a thread is in; once the scope is left, the phase
// before it (none, outside any strategy) comes back.
TEST(Trace, PhaseScopesRestoreThePhaseBeforeThem) {
  EXPECT_STREQ(current_phase(), "");
  {
    PhaseScope outer("evaluation");
    {
      PhaseScope inner("push");
      inner.next("pull");
      EXPECT_STREQ(current_phase(), "pull");
    }
    EXPECT_STREQ(current_phase(), "evaluation");
  }
  EXPECT_STREQ(current_phase(), "");
}

TEST(Trace, ThreadsGetTheirOwnIdsAndNames) {
  enable({});
  name_thread("main");
  { Scope scope("a", "compute"); }
  std::thread([] {
    name_thread("communication");
    Scope scope("b", "sync");
  }).join();
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_NE(recorded[0].thread, recorded[1].thread);
  const auto names = thread_names();
  EXPECT_EQ(names.at(recorded[0].thread), "main");
  EXPECT_EQ(names.at(recorded[1].thread), "communication");
  disable();
}

TEST(Trace, ChromeEventsAreOnTheReferenceClockInMicroseconds) {
  const std::vector<Event> recorded{{"shuffle", "sync", 0, 5'000'000, 2'000, 7}};
  const auto json = chrome_events(recorded, {"main"}, 3, "rank 2", 1'000'000);
  ASSERT_EQ(json.size(), 3u);  // process name, thread name, the event
  EXPECT_EQ(json[0]["args"]["name"], "rank 2");
  EXPECT_EQ(json[1]["args"]["name"], "main");
  EXPECT_EQ(json[2]["ph"], "X");
  EXPECT_EQ(json[2]["pid"], 3);
  EXPECT_DOUBLE_EQ(json[2]["ts"].get<double>(), 4'000.0);
  EXPECT_DOUBLE_EQ(json[2]["dur"].get<double>(), 2.0);
  EXPECT_EQ(json[2]["args"]["iteration"], 7);
}

}  // namespace
}  // namespace syncbed::trace
