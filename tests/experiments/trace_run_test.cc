// `"trace": true` end to end: three worker processes per run, their timelines merged by
// the launcher into one Chrome trace, checked for what a reader of the timeline relies on.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/experiments/test_files.h"

namespace {

using nlohmann::json;
using namespace syncbed::testing;

class TracedRun : public TestWithDirectory {};

struct Span {
  double begin_us, end_us;
};

TEST_F(TracedRun, EveryRankOfEveryRunIsOneProcessWithEachIterationsPhasesAndMessages) {
  json config =
      tiny_config(json::parse(R"(["ring", "sharded", "ps", {"name": "ring", "overlap": true, "bucket_mb": 1}])"), {3});
  config["compute"] = {{"emulated_ms", 5}};
  config["trace"] = "messages";
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const json trace = json::parse(read_text(dir_ / "out" / "trace.json"));
  const json& runs = trace.at("syncbed").at("runs");
  ASSERT_EQ(runs.size(), 4u);

  // Every message's two halves meet: one flow start (the send's post) and one flow end
  // (the receive's completion) per id, and no receive completes before its send was
  // posted, beyond the clocks' error.
  std::map<std::string, double> flow_start, flow_end;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("ph") == "s") {
      EXPECT_TRUE(flow_start.emplace(e.at("id"), e.at("ts")).second) << e.dump();
    } else if (e.at("ph") == "f") {
      EXPECT_TRUE(flow_end.emplace(e.at("id"), e.at("ts")).second) << e.dump();
    }
  }
  EXPECT_GT(flow_start.size(), 100u);
  double worst_offset_error_us = 0;
  for (const json& run : runs)
    for (const json& rank : run.at("ranks"))
      worst_offset_error_us = std::max(worst_offset_error_us, rank.at("offset_error_ns").get<double>() / 1e3);
  for (const auto& [id, start] : flow_start) {
    ASSERT_TRUE(flow_end.count(id)) << "no receive of message " << id;
    EXPECT_GE(flow_end[id] + 2 * worst_offset_error_us, start) << "message " << id;
  }
  EXPECT_EQ(flow_end.size(), flow_start.size());

  std::map<int, std::string> process_names;
  std::map<int, std::set<std::string>> thread_names;
  // pid -> iteration -> phase -> span
  std::map<int, std::map<long, std::map<std::string, Span>>> phases;
  for (const json& e : trace.at("traceEvents")) {
    const int pid = e.at("pid");
    if (e.at("ph") == "M" && e.at("name") == "process_name") process_names[pid] = e["args"]["name"];
    if (e.at("ph") == "M" && e.at("name") == "thread_name") thread_names[pid].insert(e["args"]["name"]);
    if (e.at("ph") != "X") continue;
    const double ts = e.at("ts"), dur = e.at("dur");
    EXPECT_GE(dur, 0) << e.dump();
    phases[pid][e["args"]["iteration"].get<long>()][e.at("name")] = {ts, ts + dur};
  }
  ASSERT_EQ(process_names.size(), 12u);  // 4 runs x 3 ranks
  for (std::size_t run = 0; run < runs.size(); ++run) {
    const json& ranks = runs[run].at("ranks");
    ASSERT_EQ(ranks.size(), 3u);
    // Ends of every rank's compute and sync per iteration, on rank 0's clock.
    std::map<long, double> last_compute_end;
    std::map<long, std::map<int, double>> sync_end;
    double worst_error_us = 0;
    for (const json& rank : ranks) {
      const int pid = rank.at("pid");
      SCOPED_TRACE(process_names[pid]);
      EXPECT_NE(process_names[pid].find("rank " + std::to_string(rank.at("rank").get<int>())), std::string::npos);
      EXPECT_TRUE(thread_names[pid].count("main"));
      // One host, one clock: the true offset is 0, so the estimate is within its bound.
      EXPECT_LE(std::abs(rank.at("offset_ns").get<long>()), rank.at("offset_error_ns").get<long>());
      worst_error_us = std::max(worst_error_us, rank.at("offset_error_ns").get<double>() / 1e3);
      ASSERT_EQ(phases[pid].size(), 5u);  // warm-up + 4 timed iterations, all kept
      for (const auto& [iteration, named] : phases[pid]) {
        ASSERT_TRUE(named.count("compute") && named.count("sync")) << "iteration " << iteration;
        EXPECT_LE(named.at("compute").end_us, named.at("sync").begin_us + 1);
        last_compute_end[iteration] = std::max(last_compute_end[iteration], named.at("compute").end_us);
        sync_end[iteration][pid] = named.at("sync").end_us;
        EXPECT_GT(named.size(), 2u) << "no phase of the strategy in iteration " << iteration;
      }
    }
    // Every strategy needs every rank's gradient: no rank's sync of an iteration ends
    // before the last rank's compute of it did (beyond the clocks' error).
    for (const auto& [iteration, ends] : sync_end)
      for (const auto& [pid, end] : ends)
        EXPECT_GE(end + worst_error_us, last_compute_end[iteration])
            << process_names[pid] << " iteration " << iteration;
  }
}

TEST_F(TracedRun, TheAnalysisReadsTheMergedTimeline) {
  // The tiny NCF has ~1 MB of parameters: buckets of 0.25 MB, so the last layers' buckets
  // are ready mid-backward (with one bucket, ready only when backward ends, nothing could
  // be hidden but by a race between the two threads).
  json config = tiny_config(json::parse(R"(["ring", {"name": "ring", "overlap": true, "bucket_mb": 0.25}])"), {2});
  config["compute"] = {{"emulated_ms", 20}};  // backward long enough to hide buckets under
  config["trace"] = true;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  ASSERT_EQ(syncbed("trace out --json analysis.json"), 0) << read_text(dir_ / "stderr");
  const std::string report = read_text(dir_ / "stdout");
  EXPECT_NE(report.find("run 1 ring, 2 workers: 2 ranks, 4 iterations traced"), std::string::npos) << report;
  EXPECT_NE(report.find("hidden behind compute"), std::string::npos) << report;
  const json analysis = json::parse(read_text(dir_ / "analysis.json"));
  ASSERT_EQ(analysis.size(), 2u);
  // Without overlap nothing is hidden (but the rounding of a nanosecond clock to
  // microseconds); with it, some communication runs under compute.
  EXPECT_NEAR(analysis[0]["exposed_total_ms"].get<double>(), analysis[0]["communication_total_ms"].get<double>(), 1e-3);
  EXPECT_LT(analysis[1]["exposed_total_ms"].get<double>(), analysis[1]["communication_total_ms"].get<double>());
}

TEST_F(TracedRun, ALongRunKeepsItsFirstAndLastIterations) {
  json config = tiny_config({"ring"}, {2});
  config["compute"] = {{"emulated_ms", 1}};
  config["iterations"] = 12;
  config["trace"] = true;
  config["trace_keep"] = 2;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const json trace = json::parse(read_text(dir_ / "out" / "trace.json"));
  std::set<long> kept;
  for (const json& e : trace.at("traceEvents"))
    if (e.at("ph") == "X") kept.insert(e["args"]["iteration"].get<long>());
  EXPECT_EQ(kept, (std::set<long>{0, 1, 11, 12}));  // 13 iterations: warm-up + 12
}

TEST_F(TracedRun, WithoutTraceNoTraceOfAnEarlierSweepStays) {
  json config = tiny_config({"ring"}, {2});
  config["trace"] = true;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  ASSERT_TRUE(std::filesystem::exists(dir_ / "out" / "trace.json"));
  config.erase("trace");
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out" / "trace.json"));
}

// "trace": "layers": each rank's compute splits into its forward and backward pass, and
// those into the model's layers, each inside its pass; the analysis lists the passes,
// not the layers.
TEST_F(TracedRun, LayersAreTracedInsideTheirPass) {
  json config = tiny_config({"ring"}, {2});  // NCF, real compute
  config["trace"] = "layers";
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const json trace = json::parse(read_text(dir_ / "out" / "trace.json"));
  // pid -> iteration -> (category, name) -> span
  std::map<int, std::map<long, std::multimap<std::pair<std::string, std::string>, Span>>> events;
  for (const json& e : trace.at("traceEvents"))
    if (e.at("ph") == "X")
      events[e.at("pid")][e["args"]["iteration"].get<long>()].insert(
          {{e.at("cat"), e.at("name")}, {e.at("ts"), e.at("ts").get<double>() + e.at("dur").get<double>()}});
  ASSERT_EQ(events.size(), 2u);
  for (const auto& [pid, iterations] : events)
    for (const auto& [iteration, named] : iterations) {
      SCOPED_TRACE("pid " + std::to_string(pid) + " iteration " + std::to_string(iteration));
      const auto pass = [&](const char* name) { return named.find({"model", name}); };
      ASSERT_NE(pass("forward"), named.end());
      ASSERT_NE(pass("backward"), named.end());
      const Span compute = named.find({"compute", "compute"})->second;
      EXPECT_GE(pass("forward")->second.begin_us + 1, compute.begin_us);
      EXPECT_LE(pass("forward")->second.end_us, pass("backward")->second.begin_us + 1);
      EXPECT_LE(pass("backward")->second.end_us, compute.end_us + 1);
      int layers = 0;
      for (const auto& [key, span] : named) {
        if (key.first != "layer") continue;
        ++layers;
        const bool in_forward =
            span.begin_us + 1 >= pass("forward")->second.begin_us && span.end_us <= pass("forward")->second.end_us + 1;
        const bool in_backward = span.begin_us + 1 >= pass("backward")->second.begin_us &&
                                 span.end_us <= pass("backward")->second.end_us + 1;
        EXPECT_TRUE(in_forward || in_backward) << key.second;
      }
      EXPECT_GE(layers, 5);  // NCF: gather, mlp, head forward; head, mlp, scatter backward
    }
  ASSERT_EQ(syncbed("trace out"), 0) << read_text(dir_ / "stderr");
  const std::string report = read_text(dir_ / "stdout");
  EXPECT_NE(report.find("    backward "), std::string::npos) << report;
  EXPECT_EQ(report.find("embedding gather"), std::string::npos) << report;
}

// BigDL's execution model: the driver's two jobs per iteration, and on every executor each
// task with its fetch, compute (or update) and put, inside the task.
TEST_F(TracedRun, TheTaskModelTracesTheDriversJobsAndEveryTask) {
  json config = tiny_config(json::parse(R"([{"name": "sharded", "execution": "tasks"}])"), {2});
  config["compute"] = {{"emulated_ms", 5}};
  config["trace"] = true;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const json trace = json::parse(read_text(dir_ / "out" / "trace.json"));
  std::map<int, std::string> process_names;
  // pid -> iteration -> (name -> count)
  std::map<int, std::map<long, std::map<std::string, int>>> counts;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("ph") == "M" && e.at("name") == "process_name") process_names[e.at("pid")] = e["args"]["name"];
    if (e.at("ph") == "X") ++counts[e.at("pid")][e["args"]["iteration"].get<long>()][e.at("name")];
  }
  ASSERT_EQ(process_names.size(), 3u);  // 2 executors and the driver
  EXPECT_EQ(process_names[3], "run 1 sharded-tasks, 2 workers: driver");
  for (const auto& [pid, iterations] : counts) {
    SCOPED_TRACE(process_names[pid]);
    EXPECT_EQ(iterations.size(), 5u);  // warm-up + 4
    for (long i = 0; i < 5; ++i) {
      const auto& named = iterations.at(i);
      if (process_names[pid].ends_with("driver")) {
        EXPECT_EQ(named.at("job 1 forward-backward"), 1) << "iteration " << i;
        EXPECT_EQ(named.at("job 2 parameter-sync"), 1) << "iteration " << i;
        continue;
      }
      // Each executor ran one task of each job (its partition, its shard), no loss.
      EXPECT_EQ(named.at("forward-backward"), 1) << "iteration " << i;
      EXPECT_EQ(named.at("parameter-sync"), 1) << "iteration " << i;
      EXPECT_EQ(named.at("compute"), 1) << "iteration " << i;
      EXPECT_EQ(named.at("update"), 1) << "iteration " << i;
      EXPECT_EQ(named.at("fetch"), named.at("put")) << "iteration " << i;
    }
  }
  ASSERT_EQ(syncbed("trace out"), 0) << read_text(dir_ / "stderr");
  EXPECT_NE(read_text(dir_ / "stdout").find("run 1 sharded-tasks, 2 workers: 3 ranks, 4 iterations traced"),
            std::string::npos)
      << read_text(dir_ / "stdout");
}

// Per process: iteration -> names of its complete events.
std::map<int, std::map<long, std::set<std::string>>> phases_by_pid(const json& trace) {
  std::map<int, std::map<long, std::set<std::string>>> phases;
  for (const json& e : trace.at("traceEvents"))
    if (e.at("ph") == "X") phases[e.at("pid")][e["args"]["iteration"].get<long>()].insert(e.at("name"));
  return phases;
}

std::vector<std::string> titles(const json& trace) {
  std::vector<std::string> out;
  for (const json& run : trace.at("syncbed").at("runs")) out.push_back(run.at("title"));
  return out;
}

TEST_F(TracedRun, BenchAllreduceTracesEverySizeOnEveryRank) {
  ASSERT_EQ(syncbed("bench-allreduce --workers 3 --strategy sharded --sizes 64K,256K --iters 3 --trace bt "
                    "--trace-messages"),
            0)
      << read_text(dir_ / "stderr");
  const json trace = json::parse(read_text(dir_ / "bt" / "trace.json"));
  EXPECT_EQ(titles(trace), (std::vector<std::string>{"sharded 65536 B, 3 workers", "sharded 262144 B, 3 workers"}));
  const auto phases = phases_by_pid(trace);
  ASSERT_EQ(phases.size(), 6u);  // 2 sizes x 3 ranks
  for (const auto& [pid, iterations] : phases) {
    ASSERT_EQ(iterations.size(), 4u) << "pid " << pid;  // the verified warm-up + 3
    for (const auto& [iteration, names] : iterations)
      for (const char* phase : {"sync", "shuffle", "broadcast"})
        EXPECT_TRUE(names.count(phase)) << "pid " << pid << " iteration " << iteration << " has no " << phase;
  }
  ASSERT_EQ(syncbed("trace bt"), 0) << read_text(dir_ / "stderr");
  EXPECT_NE(read_text(dir_ / "stdout").find("sharded 65536 B, 3 workers: 3 ranks, 3 iterations traced"),
            std::string::npos)
      << read_text(dir_ / "stdout");
}

// Workers an outside launcher starts (here `syncbed worker CONFIG --workers 3`, which runs
// them as Slurm would) write their files under --trace-dir; rank 0 merges them when it
// sees them all, and `syncbed trace merge` does the same from the files alone.
TEST_F(TracedRun, OutsideLaunchedWorkersWriteRankFilesThatMerge) {
  json config = tiny_config({"ring", "sharded"}, {3});
  config["compute"] = {{"emulated_ms", 2}};
  config["trace"] = true;
  ASSERT_EQ(syncbed("worker " + write_config(config) + " --workers 3 --trace-dir ranks"), 0)
      << read_text(dir_ / "stderr");
  const json merged_by_rank0 = json::parse(read_text(dir_ / "out" / "trace.json"));
  EXPECT_EQ(titles(merged_by_rank0), (std::vector<std::string>{"run 1 ring, 3 workers", "run 2 sharded, 3 workers"}));
  EXPECT_EQ(phases_by_pid(merged_by_rank0).size(), 6u);

  ASSERT_EQ(syncbed("trace merge ranks --out merged"), 0) << read_text(dir_ / "stderr");
  const json merged = json::parse(read_text(dir_ / "merged" / "trace.json"));
  EXPECT_EQ(merged.at("syncbed"), merged_by_rank0.at("syncbed"));
  EXPECT_EQ(merged.at("traceEvents").size(), merged_by_rank0.at("traceEvents").size());

  // A host's files not copied: the merge says which.
  std::filesystem::remove(dir_ / "ranks" / "run-2" / "trace-rank-1.json");
  EXPECT_NE(syncbed("trace merge ranks --out merged"), 0);
  EXPECT_NE(read_text(dir_ / "stderr").find("rank 1 wrote no ranks/run-2/trace-rank-1.json"), std::string::npos)
      << read_text(dir_ / "stderr");
  EXPECT_NE(syncbed("trace merge out"), 0);  // no rank files there
  EXPECT_NE(read_text(dir_ / "stderr").find("holds no trace-rank-0.json"), std::string::npos)
      << read_text(dir_ / "stderr");
}

}  // namespace
