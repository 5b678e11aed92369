#include "experiments/harness/stall_summary.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <regex>

namespace syncbed::experiments {

void StallSummary::add(int rank, const std::string& line, Clock::time_point now) {
  // What core/transport/request.cc writes.
  static const std::regex report(
      R"(stall: (?:iteration (\d+), )?(?:([a-z ]+): )?waiting ([0-9.]+) s to (receive from|send to) rank (\d+): (tag \S+), \d+ bytes)");
  std::smatch m;
  if (!std::regex_search(line, m, report)) return;
  const Key key{m[1].matched ? std::stol(m[1]) : -1, m[2], m[4] == "receive from", std::stoi(m[5])};
  Waiters& waiters = waits_[key];
  waiters.ranks.insert(rank);
  waiters.tags.insert(m[6]);
  waiters.seconds = std::max(waiters.seconds, std::stod(m[3]));
  if (!waiters.news) waiters.news = now;
}

std::vector<std::string> StallSummary::take(Clock::time_point now, std::chrono::milliseconds settle) {
  std::vector<std::string> lines;
  for (auto& [key, waiters] : waits_)
    if (waiters.news && now - *waiters.news >= settle) {
      lines.push_back(describe(key, waiters));
      waiters.news.reset();
    }
  return lines;
}

std::string StallSummary::describe(const Key& key, const Waiters& waiters) {
  const auto& [iteration, phase, receiving, peer] = key;
  std::string line = "stall: ";
  if (iteration >= 0) line += "iteration " + std::to_string(iteration) + ", ";
  if (!phase.empty()) line += phase + ": ";
  line += "rank " + std::to_string(peer) + (receiving ? " has not sent " : " has not received ");
  std::string tags = *waiters.tags.begin();
  if (waiters.tags.size() > 3)
    tags += " and " + std::to_string(waiters.tags.size() - 1) + " more tags";
  else
    for (auto tag = std::next(waiters.tags.begin()); tag != waiters.tags.end(); ++tag) tags += " or " + *tag;
  line += tags + (receiving ? " to rank" : " from rank") + (waiters.ranks.size() > 1 ? "s " : " ");
  std::string ranks;
  for (int rank : waiters.ranks) ranks += (ranks.empty() ? "" : ", ") + std::to_string(rank);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, " for %.1f s", waiters.seconds);
  return line + ranks + seconds;
}

}  // namespace syncbed::experiments
