// The analysis of a merged trace, on timelines whose answers are known by construction.
#include "experiments/harness/trace_analysis.h"

#include <filesystem>

#include "experiments/harness/trace_file.h"

#include <gtest/gtest.h>

namespace syncbed::experiments {
namespace {

using nlohmann::json;

json event(int pid, const char* name, const char* category, double ts_us, double dur_us, long iteration) {
  return {{"ph", "X"},       {"pid", pid},  {"tid", 0},      {"name", name},
          {"cat", category}, {"ts", ts_us}, {"dur", dur_us}, {"args", {{"iteration", iteration}}}};
}

// Two ranks, three iterations of 1000 us each. Rank 1 computes 100 us longer than rank 0,
// so rank 0 waits in its allreduce; with `overlap`, 200 us of each rank's communication
// runs during its own compute on another thread.
json two_ranks(bool overlap) {
  json events = json::array();
  for (long i = 0; i < 3; ++i) {
    const double t = 1000.0 * i;
    for (int pid : {1, 2}) {
      const double compute_end = t + (pid == 1 ? 600 : 700);
      events.push_back(event(pid, "compute", "compute", t, compute_end - t, i));
      if (overlap) events.push_back(event(pid, "bucket 0", "sync", compute_end - 200, 200, i));
      events.push_back(event(pid, "sync", "sync", compute_end, t + 900 - compute_end, i));
      events.push_back(event(pid, "allreduce", "sync", compute_end, t + 850 - compute_end, i));
      events.push_back(event(pid, "update", "sync", t + 850, 50, i));
    }
  }
  return {
      {"traceEvents", events},
      {"syncbed",
       {{"runs", json::array({{{"title", "run 1 ring, 2 workers"},
                               {"ranks", json::array({{{"rank", 0}, {"pid", 1}}, {{"rank", 1}, {"pid", 2}}})}}})}}}};
}

TEST(TraceAnalysis, ExposedCommunicationIsWhatComputeDoesNotCover) {
  const auto runs = analyze_trace(two_ranks(false));
  ASSERT_EQ(runs.size(), 1u);
  const RunTimeline& run = runs[0];
  EXPECT_EQ(run.ranks, 2);
  EXPECT_EQ(run.iterations, 3);
  // Rank 0: 300 us of sync per iteration, rank 1: 200 us; the mean, 0.25 ms.
  ASSERT_EQ(run.exposed_ms.size(), 3u);
  EXPECT_NEAR(run.exposed_ms[0], 0.25, 1e-9);
  EXPECT_NEAR(run.exposed_total_ms, 0.75, 1e-9);
  EXPECT_NEAR(run.communication_total_ms, 0.75, 1e-9);
}

TEST(TraceAnalysis, OverlappedCommunicationIsHidden) {
  const RunTimeline run = analyze_trace(two_ranks(true)).at(0);
  EXPECT_NEAR(run.exposed_total_ms, 0.75, 1e-9);
  EXPECT_NEAR(run.communication_total_ms, 0.75 + 3 * 0.2, 1e-9);
}

TEST(TraceAnalysis, TheMedianIterationWaitedForTheLastRankToCompute) {
  const RunTimeline run = analyze_trace(two_ranks(false)).at(0);
  EXPECT_EQ(run.waited_for_rank, 1);
  EXPECT_NEAR(run.waited_ms, 0.1, 1e-9);
  EXPECT_NEAR(run.median_iteration_ms, 0.9, 1e-9);
}

TEST(TraceAnalysis, NamesTheSlowestRankOfEachPhase) {
  const RunTimeline run = analyze_trace(two_ranks(false)).at(0);
  std::map<std::string, PhaseLeader> by_phase;
  for (const PhaseLeader& p : run.slowest) by_phase[p.phase] = p;
  ASSERT_EQ(by_phase.size(), 3u);  // compute, allreduce, update; the "sync" wrapper is not a phase
  EXPECT_EQ(by_phase["compute"].rank, 1);
  EXPECT_NEAR(by_phase["compute"].median_ms, 0.7, 1e-9);
  EXPECT_EQ(by_phase["allreduce"].rank, 0);
  EXPECT_NEAR(by_phase["allreduce"].median_ms, 0.25, 1e-9);
  EXPECT_NEAR(by_phase["allreduce"].all_ranks_ms, 0.2, 1e-9);
}

TEST(TraceAnalysis, LeavesOutWarmUpIterations) {
  json trace = two_ranks(false);
  trace["syncbed"]["runs"][0]["warmup"] = 1;
  const RunTimeline run = analyze_trace(trace).at(0);
  EXPECT_EQ(run.iterations, 2);
  EXPECT_NEAR(run.exposed_total_ms, 0.5, 1e-9);
}

json send(int pid, const char* id, int peer, double bytes, long iteration, double begin_us, double end_us) {
  const std::string name = "send to " + std::to_string(peer);
  return json::array(
      {{{"ph", "b"},
        {"cat", "message"},
        {"name", name},
        {"id", id},
        {"pid", pid},
        {"tid", 0},
        {"ts", begin_us},
        {"args", {{"peer", peer}, {"bytes", bytes}, {"iteration", iteration}}}},
       {{"ph", "e"}, {"cat", "message"}, {"name", name}, {"id", id}, {"pid", pid}, {"tid", 0}, {"ts", end_us}}});
}

// Bytes per pair, and bandwidth over the time a send to that peer was in flight (two
// overlapping sends count their union once); warm-up sends are left out.
TEST(TraceAnalysis, TrafficPerPairOverTheTimeItWasInFlight) {
  json trace = two_ranks(false);
  trace["syncbed"]["runs"][0]["warmup"] = 1;
  for (const json& half : {send(1, "a", 1, 1e6, 1, 1000, 1100), send(1, "b", 1, 1e6, 1, 1050, 1150),
                           send(1, "c", 1, 5e6, 0, 0, 10), send(2, "d", 0, 4e6, 2, 2000, 2400)})
    for (const json& e : half) trace["traceEvents"].push_back(e);
  const RunTimeline run = analyze_trace(trace).at(0);
  ASSERT_EQ(run.traffic.size(), 2u);
  EXPECT_EQ(run.traffic[0].source, 0);
  EXPECT_EQ(run.traffic[0].destination, 1);
  EXPECT_NEAR(run.traffic[0].megabytes, 2.0, 1e-9);
  EXPECT_NEAR(run.traffic[0].gbytes_per_s, 2e6 / 150e-6 / 1e9, 1e-9);
  EXPECT_EQ(run.traffic[1].source, 1);
  EXPECT_NEAR(run.traffic[1].megabytes, 4.0, 1e-9);
  EXPECT_NEAR(run.traffic[1].gbytes_per_s, 10.0, 1e-9);
  EXPECT_NE(timeline_report({run}).find("0->1 2.0 MB 13.33 GB/s"), std::string::npos) << timeline_report({run});
}

// A large trace is gzipped, a small one not; a results directory keeps one of them, and
// both read back as they were written.
TEST(MergedTrace, LargeTracesAreGzippedAndReadBack) {
  char pattern[] = "/tmp/syncbed-trace-file-XXXXXX";
  const std::filesystem::path dir = mkdtemp(pattern);
  json large = two_ranks(true);
  large["padding"] = std::string(5 << 20, 'x');
  write_merged_trace(dir.string(), large);
  EXPECT_TRUE(std::filesystem::exists(dir / "trace.json.gz"));
  EXPECT_FALSE(std::filesystem::exists(dir / "trace.json"));
  EXPECT_LT(std::filesystem::file_size(dir / "trace.json.gz"), 1u << 20);
  EXPECT_EQ(read_merged_trace(dir.string()), large);

  const json small = two_ranks(false);
  write_merged_trace(dir.string(), small);
  EXPECT_TRUE(std::filesystem::exists(dir / "trace.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "trace.json.gz"));
  EXPECT_EQ(read_merged_trace((dir / "trace.json").string()), small);
  EXPECT_EQ(analyze_trace(read_merged_trace(dir.string())).at(0).iterations, 3);

  remove_merged_trace(dir.string());
  EXPECT_THROW(read_merged_trace(dir.string()), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

TEST(TraceAnalysis, RefusesWhatIsNotASyncbedTrace) {
  EXPECT_THROW(analyze_trace(json::array()), std::invalid_argument);
  EXPECT_THROW(analyze_trace(json{{"traceEvents", json::array()}}), std::invalid_argument);
}

}  // namespace
}  // namespace syncbed::experiments
