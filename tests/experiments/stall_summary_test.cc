// The launcher's gathering of the ranks' stall reports into one line per rank waited on.
#include "experiments/harness/stall_summary.h"

#include <gtest/gtest.h>

namespace {

using syncbed::experiments::StallSummary;
using namespace std::chrono_literals;

TEST(StallSummary, TheRanksWaitingOnOnePeerBecomeOneLineOnceTheirReportsSettle) {
  StallSummary summary;
  const auto t0 = StallSummary::Clock::now();
  summary.add(
      0, "[rank 0] stall: iteration 57, shuffle: waiting 0.4 s to receive from rank 1: tag strategy/1.0.0, 888 bytes",
      t0);
  EXPECT_TRUE(summary.take(t0 + 100ms).empty());  // rank 2's report may be on its way
  summary.add(
      2, "[rank 2] stall: iteration 57, shuffle: waiting 0.5 s to receive from rank 1: tag strategy/1.0.0, 888 bytes",
      t0 + 50ms);
  summary.add(2, "[rank 2] an ordinary line", t0 + 60ms);
  EXPECT_EQ(summary.take(t0 + 300ms),
            std::vector<std::string>{
                "stall: iteration 57, shuffle: rank 1 has not sent tag strategy/1.0.0 to ranks 0, 2 for 0.5 s"});
  EXPECT_TRUE(summary.take(t0 + 1s).empty());  // nothing new since
  summary.add(
      0, "[rank 0] stall: iteration 57, shuffle: waiting 0.8 s to receive from rank 1: tag strategy/1.0.0, 888 bytes",
      t0 + 1s);
  EXPECT_EQ(summary.take(t0 + 2s),
            std::vector<std::string>{
                "stall: iteration 57, shuffle: rank 1 has not sent tag strategy/1.0.0 to ranks 0, 2 for 0.8 s"});
}

TEST(StallSummary, DifferentPeersPhasesAndDirectionsAreSeparateLines) {
  StallSummary summary;
  const auto t0 = StallSummary::Clock::now();
  summary.add(0, "stall: iteration 3, allreduce: waiting 1.2 s to receive from rank 3: tag strategy/1.2.0, 8 bytes",
              t0);
  summary.add(1, "stall: iteration 3, allreduce: waiting 1.2 s to receive from rank 0: tag strategy/1.2.1, 8 bytes",
              t0);
  summary.add(2, "stall: waiting 1.3 s to send to rank 0: tag worker/1.0.0, 8 bytes", t0);
  summary.add(3, "stall: iteration 4, pull: waiting 2.0 s to receive from rank 0: tag strategy/3.0.0, 8 bytes", t0);
  EXPECT_EQ(summary.take(t0 + 1s),
            (std::vector<std::string>{
                "stall: rank 0 has not received tag worker/1.0.0 from rank 2 for 1.3 s",
                "stall: iteration 3, allreduce: rank 0 has not sent tag strategy/1.2.1 to rank 1 for 1.2 s",
                "stall: iteration 3, allreduce: rank 3 has not sent tag strategy/1.2.0 to rank 0 for 1.2 s",
                "stall: iteration 4, pull: rank 0 has not sent tag strategy/3.0.0 to rank 3 for 2.0 s",
            }));
}

TEST(StallSummary, ManyTagsAreCounted) {
  StallSummary summary;
  const auto t0 = StallSummary::Clock::now();
  for (int k = 0; k < 5; ++k)
    summary.add(0, "stall: waiting 0.4 s to receive from rank 1: tag strategy/1.0." + std::to_string(k) + ", 8 bytes",
                t0);
  EXPECT_EQ(
      summary.take(t0 + 1s),
      std::vector<std::string>{"stall: rank 1 has not sent tag strategy/1.0.0 and 4 more tags to rank 0 for 0.4 s"});
}

}  // namespace
