#include "experiments/harness/trace_analysis.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

#include "core/median.h"

namespace syncbed::experiments {
namespace {

struct Interval {
  double begin, end;  // microseconds
};

struct Recorded {
  std::string name, category;
  Interval span;
};

// Sorted, disjoint cover of the intervals.
std::vector<Interval> merged(std::vector<Interval> spans) {
  std::sort(spans.begin(), spans.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  std::vector<Interval> out;
  for (const Interval& s : spans) {
    if (!out.empty() && s.begin <= out.back().end)
      out.back().end = std::max(out.back().end, s.end);
    else
      out.push_back(s);
  }
  return out;
}

double length(const std::vector<Interval>& disjoint) {
  double total = 0;
  for (const Interval& s : disjoint) total += s.end - s.begin;
  return total;
}

// Length of `a` not covered by `b` (both disjoint and sorted).
double uncovered(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  double covered = 0;
  for (const Interval& x : a)
    for (const Interval& y : b) covered += std::max(0.0, std::min(x.end, y.end) - std::max(x.begin, y.begin));
  return length(a) - covered;
}

using RankIterations = std::map<long, std::vector<Recorded>>;  // iteration -> events

struct Send {
  int peer = 0;
  double bytes = 0;
  long iteration = 0;
  Interval span{0, 0};
};

std::vector<Interval> spans_of(const std::vector<Recorded>& events, const std::string& category) {
  std::vector<Interval> out;
  for (const Recorded& e : events)
    if (e.category == category) out.push_back(e.span);
  return merged(out);
}

// The phases of the slowest rank: per phase name, each rank's median time per iteration.
std::vector<PhaseLeader> slowest_per_phase(const std::vector<const RankIterations*>& ranks,
                                           const std::vector<long>& iterations) {
  std::map<std::string, std::vector<double>> medians;  // phase -> per rank
  std::set<std::string> names;
  for (const RankIterations* rank : ranks)
    for (long i : iterations)
      for (const Recorded& e : rank->at(i))
        if (e.name != "sync" && e.name.rfind("bucket ", 0) != 0 && e.category != "layer") names.insert(e.name);
  for (const std::string& name : names)
    for (const RankIterations* rank : ranks) {
      std::vector<double> per_iteration;
      for (long i : iterations) {
        double total = 0;
        for (const Recorded& e : rank->at(i))
          if (e.name == name) total += e.span.end - e.span.begin;
        per_iteration.push_back(total / 1e3);
      }
      medians[name].push_back(median_of(per_iteration));
    }
  std::vector<PhaseLeader> out;
  for (const auto& [name, per_rank] : medians) {
    const auto slowest = std::max_element(per_rank.begin(), per_rank.end());
    out.push_back({name, static_cast<int>(slowest - per_rank.begin()), *slowest, median_of(per_rank)});
  }
  return out;
}

// Per destination of each rank's sends in the timed iterations: bytes and the bandwidth
// they achieved while any send to that peer was in flight.
std::vector<PeerTraffic> traffic_of(const std::vector<std::pair<int, const std::vector<Send>*>>& ranks, long warmup) {
  std::vector<PeerTraffic> out;
  for (const auto& [rank, sends] : ranks) {
    std::map<int, std::pair<double, std::vector<Interval>>> to;  // peer -> bytes, spans
    for (const Send& send : *sends)
      if (send.iteration >= warmup) {
        to[send.peer].first += send.bytes;
        to[send.peer].second.push_back(send.span);
      }
    for (const auto& [peer, sent] : to) {
      const double busy_s = length(merged(sent.second)) / 1e6;
      out.push_back({rank, peer, sent.first / 1e6, busy_s > 0 ? sent.first / busy_s / 1e9 : 0});
    }
  }
  return out;
}

RunTimeline analyze_run(const nlohmann::json& run, const std::map<int, RankIterations>& by_pid,
                        const std::map<int, std::vector<Send>>& sends_by_pid) {
  RunTimeline out;
  out.title = run.at("title").get<std::string>();
  std::vector<const RankIterations*> ranks;
  for (const auto& rank : run.at("ranks")) {
    const auto found = by_pid.find(rank.at("pid").get<int>());
    static const RankIterations kNone;
    ranks.push_back(found == by_pid.end() ? &kNone : &found->second);
  }
  out.ranks = static_cast<int>(ranks.size());
  // Timed iterations (not warm-up) every rank recorded.
  const long warmup = run.value("warmup", 0L);
  std::vector<long> iterations;
  if (!ranks.empty())
    for (const auto& [i, events] : *ranks.front())
      if (i >= warmup &&
          std::all_of(ranks.begin(), ranks.end(), [&](const RankIterations* r) { return r->count(i) > 0; }))
        iterations.push_back(i);
  out.iterations = static_cast<int>(iterations.size());
  if (iterations.empty()) return out;

  std::vector<std::pair<double, long>> spans;  // (iteration length, iteration)
  for (long i : iterations) {
    double exposed = 0;
    double first_start = 1e300, last_end = -1e300;
    for (const RankIterations* rank : ranks) {
      const auto compute = spans_of(rank->at(i), "compute"), communication = spans_of(rank->at(i), "sync");
      exposed += uncovered(communication, compute);
      out.communication_total_ms += length(communication) / 1e3 / ranks.size();
      for (const auto* side : {&compute, &communication})
        if (!side->empty()) {
          first_start = std::min(first_start, side->front().begin);
          last_end = std::max(last_end, side->back().end);
        }
    }
    out.exposed_ms.push_back(exposed / 1e3 / ranks.size());
    out.exposed_total_ms += out.exposed_ms.back();
    spans.push_back({last_end - first_start, i});
  }
  std::sort(spans.begin(), spans.end());
  const auto [median_us, median_iteration] = spans[spans.size() / 2];
  out.median_iteration = median_iteration;
  out.median_iteration_ms = median_us / 1e3;
  double earliest = 1e300, latest = -1e300;
  for (int r = 0; r < out.ranks; ++r) {
    const auto compute = spans_of(ranks[r]->at(median_iteration), "compute");
    if (compute.empty()) continue;
    earliest = std::min(earliest, compute.back().end);
    if (compute.back().end > latest) {
      latest = compute.back().end;
      out.waited_for_rank = r;
    }
  }
  out.waited_ms = latest > earliest ? (latest - earliest) / 1e3 : 0;
  out.slowest = slowest_per_phase(ranks, iterations);
  static const std::vector<Send> kNoSends;
  std::vector<std::pair<int, const std::vector<Send>*>> senders;
  for (const auto& rank : run.at("ranks")) {
    const auto found = sends_by_pid.find(rank.at("pid").get<int>());
    senders.push_back({rank.at("rank").get<int>(), found == sends_by_pid.end() ? &kNoSends : &found->second});
  }
  out.traffic = traffic_of(senders, warmup);
  return out;
}

}  // namespace

std::vector<RunTimeline> analyze_trace(const nlohmann::json& trace) {
  if (!trace.is_object() || !trace.contains("traceEvents") || !trace.contains("syncbed"))
    throw std::invalid_argument("not a syncbed trace (a Chrome trace with \"traceEvents\" and \"syncbed\".runs)");
  std::map<int, RankIterations> by_pid;
  std::map<int, std::vector<Send>> sends_by_pid;
  std::map<std::string, Send> open_sends;  // async slice id -> its begin
  for (const auto& e : trace.at("traceEvents")) {
    const std::string phase = e.value("ph", "");
    if (phase == "X") {
      const double ts = e.at("ts"), dur = e.at("dur");
      by_pid[e.at("pid").get<int>()][e.at("args").at("iteration").get<long>()].push_back(
          {e.at("name"), e.value("cat", ""), {ts, ts + dur}});
    } else if (phase == "b" && e.value("name", "").rfind("send to ", 0) == 0) {
      const auto& args = e.at("args");
      open_sends[e.at("id").get<std::string>()] = {args.at("peer").get<int>(),
                                                   args.at("bytes").get<double>(),
                                                   args.at("iteration").get<long>(),
                                                   {e.at("ts"), e.at("ts")}};
    } else if (phase == "e") {
      const auto found = open_sends.find(e.value("id", ""));
      if (found == open_sends.end()) continue;
      found->second.span.end = e.at("ts");
      sends_by_pid[e.at("pid").get<int>()].push_back(found->second);
      open_sends.erase(found);
    }
  }
  std::vector<RunTimeline> runs;
  for (const auto& run : trace.at("syncbed").at("runs")) runs.push_back(analyze_run(run, by_pid, sends_by_pid));
  return runs;
}

std::string timeline_report(const std::vector<RunTimeline>& runs) {
  std::string out;
  char line[512];
  for (const RunTimeline& run : runs) {
    std::snprintf(line, sizeof line, "%s: %d ranks, %d iterations traced\n", run.title.c_str(), run.ranks,
                  run.iterations);
    out += line;
    if (run.iterations == 0) continue;
    const double hidden = run.communication_total_ms > 0 ? 1 - run.exposed_total_ms / run.communication_total_ms : 0;
    std::snprintf(line, sizeof line,
                  "  communication %.1f ms per rank, exposed %.1f ms (%.0f%% hidden behind compute); exposed per "
                  "iteration: median %.2f ms\n",
                  run.communication_total_ms, run.exposed_total_ms, 100 * hidden, median_of(run.exposed_ms));
    out += line;
    if (run.waited_for_rank < 0)
      std::snprintf(line, sizeof line, "  median iteration (%ld, %.1f ms); no compute traced\n", run.median_iteration,
                    run.median_iteration_ms);
    else
      std::snprintf(line, sizeof line,
                    "  median iteration (%ld, %.1f ms) waited for rank %d, whose compute ended %.2f ms after the "
                    "first rank's\n",
                    run.median_iteration, run.median_iteration_ms, run.waited_for_rank, run.waited_ms);
    out += line;
    out += "  slowest rank per phase (median ms per iteration; all ranks' median):\n";
    for (const PhaseLeader& p : run.slowest) {
      std::snprintf(line, sizeof line, "    %-12s rank %d  %8.2f  (%.2f)\n", p.phase.c_str(), p.rank, p.median_ms,
                    p.all_ranks_ms);
      out += line;
    }
    if (!run.traffic.empty()) {
      out += "  sent per pair over the timed iterations (MB, GB/s while sending to that peer):\n   ";
      for (const PeerTraffic& t : run.traffic) {
        std::snprintf(line, sizeof line, " %d->%d %.1f MB %.2f GB/s;", t.source, t.destination, t.megabytes,
                      t.gbytes_per_s);
        out += line;
      }
      out += "\n";
    }
  }
  return out;
}

nlohmann::json timeline_json(const std::vector<RunTimeline>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const RunTimeline& run : runs) {
    nlohmann::json slowest = nlohmann::json::array();
    for (const PhaseLeader& p : run.slowest)
      slowest.push_back(
          {{"phase", p.phase}, {"rank", p.rank}, {"median_ms", p.median_ms}, {"all_ranks_median_ms", p.all_ranks_ms}});
    nlohmann::json traffic = nlohmann::json::array();
    for (const PeerTraffic& t : run.traffic)
      traffic.push_back({{"source", t.source},
                         {"destination", t.destination},
                         {"megabytes", t.megabytes},
                         {"gbytes_per_s", t.gbytes_per_s}});
    out.push_back({{"title", run.title},
                   {"traffic", traffic},
                   {"ranks", run.ranks},
                   {"iterations", run.iterations},
                   {"exposed_ms", run.exposed_ms},
                   {"exposed_total_ms", run.exposed_total_ms},
                   {"communication_total_ms", run.communication_total_ms},
                   {"median_iteration", run.median_iteration},
                   {"median_iteration_ms", run.median_iteration_ms},
                   {"waited_for_rank", run.waited_for_rank},
                   {"waited_ms", run.waited_ms},
                   {"slowest", slowest}});
  }
  return out;
}

}  // namespace syncbed::experiments
