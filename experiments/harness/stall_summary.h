// The launcher's view of a stuck job: every rank logs the waits that outlast a tenth of
// the deadline ("stall: iteration 57, shuffle: waiting 0.4 s to receive from rank 1: ...");
// this gathers those lines by the rank waited on, so the user reads one line per culprit:
// "stall: iteration 57, shuffle: rank 1 has not sent tag strategy/1.0.0 to ranks 0, 2 for 0.8 s".
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace syncbed::experiments {

class StallSummary {
 public:
  using Clock = std::chrono::steady_clock;

  // One line of rank `rank`'s log; lines that are not stall reports are ignored.
  void add(int rank, const std::string& line, Clock::time_point now);

  // A line per rank waited on that has new reports, once `settle` has passed since the
  // first of them: the other ranks' reports of the same wait come a few ms apart.
  std::vector<std::string> take(Clock::time_point now,
                                std::chrono::milliseconds settle = std::chrono::milliseconds(300));

 private:
  // Who is waited on, in which iteration and phase, and for what (receiving or sending).
  using Key = std::tuple<long, std::string, bool, int>;  // iteration, phase, receiving, peer
  struct Waiters {
    std::set<int> ranks;
    std::set<std::string> tags;
    double seconds = 0;                     // the longest wait reported
    std::optional<Clock::time_point> news;  // the first report since the last take()
  };
  static std::string describe(const Key& key, const Waiters& waiters);

  std::map<Key, Waiters> waits_;
};

}  // namespace syncbed::experiments
