// `syncbed run` end to end: real worker processes over real sockets, result files
// checked for completeness and consistency, a killed worker, Ctrl-C, emulated compute
// and calibration.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/experiments/test_files.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using namespace syncbed::testing;

class ExperimentRun : public TestWithDirectory {
 protected:
  // Six timed iterations after two of warm-up.
  json tiny(const json& strategies, const json& workers) const {
    json config = tiny_config(strategies, workers);
    config["iterations"] = 6;
    config["warmup"] = 2;
    return config;
  }
};

TEST_F(ExperimentRun, EveryStrategyWithThreeWorkersWritesCompleteConsistentResults) {
  const json strategies = json::parse(R"([
    "sharded", {"name": "sharded", "compression": "bf16"}, "ring", "ps",
    {"name": "ps", "label": "ps-separate", "servers": 2, "separate_servers": true}])");
  const auto config = write_config(tiny(strategies, {3}));
  ASSERT_EQ(syncbed("run --no-plot " + config), 0) << read_text(dir_ / "stderr");
  const fs::path out = dir_ / "out";
  const auto summaries = read_jsonl(out / "summary.jsonl");
  const auto records = read_jsonl(out / "records.jsonl");
  ASSERT_EQ(summaries.size(), 5u);
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const json& s = summaries[i];
    SCOPED_TRACE(s.dump());
    EXPECT_EQ(s["status"], "ok");
    EXPECT_EQ(s["run"], i + 1);
    EXPECT_EQ(s["workers"], 3);
    EXPECT_EQ(s["iterations"], 6);
    EXPECT_EQ(s["items"], 6 * 128 * 3);
    EXPECT_NEAR(s["throughput"].get<double>(), s["items"].get<double>() / s["seconds"].get<double>(),
                1e-9 * s["throughput"].get<double>());
    EXPECT_GT(s["sync_ms"].get<double>(), 0);
    EXPECT_GT(s["compute_ms"].get<double>(), 0);
    EXPECT_FALSE(s["phases_ms"].empty());
    EXPECT_FALSE(s["host"]["cpu"].get<std::string>().empty());
    int iterations = 0, warmup = 0;
    double seconds = 0;
    for (const auto& r : records) {
      if (r["run"] != s["run"] || r["kind"] != "iteration") continue;
      EXPECT_EQ(r["iteration"], iterations);
      ++iterations;
      if (r["warmup"].get<bool>()) {
        ++warmup;
        continue;
      }
      seconds += r["seconds"].get<double>();
      EXPECT_NEAR(r["seconds"].get<double>(), r["compute_s"].get<double>() + r["sync_s"].get<double>(), 1e-9);
    }
    EXPECT_EQ(iterations, 8);
    EXPECT_EQ(warmup, 2);
    EXPECT_NEAR(seconds, s["seconds"].get<double>(), 1e-9);
  }
  EXPECT_EQ(summaries[4]["servers"], 2);
  EXPECT_EQ(count_lines(out / "summary.csv"), 1 + summaries.size());
  EXPECT_EQ(count_lines(out / "records.csv"), 1 + records.size());
  EXPECT_TRUE(fs::exists(out / "config.json"));
  EXPECT_FALSE(fs::exists(out / ".tmp"));

  ASSERT_EQ(syncbed("compare " + out.string()), 0) << read_text(dir_ / "stderr");
  const std::string table = read_text(dir_ / "stdout");
  for (const char* label : {"sharded ", "sharded-bf16", "ring", "ps ", "ps-separate"})
    EXPECT_NE(table.find(label), std::string::npos) << table;
}

TEST_F(ExperimentRun, AKilledWorkerFailsItsRunAndTheSweepGoesOn) {
  json config = tiny({"sharded", "ring"}, {3});
  config["faults"] = {{"kill", {{"run", 1}, {"rank", 1}, {"iteration", 3}}}};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0]["status"], "failed");
  EXPECT_EQ(summaries[0]["error"].get<std::string>().rfind("rank 1 was killed by signal 9", 0), 0u)
      << summaries[0]["error"];
  EXPECT_EQ(summaries[1]["status"], "ok");
  EXPECT_EQ(summaries[1]["iterations"], 6);
  EXPECT_NE(read_text(dir_ / "stdout").find("run 1/2 sharded, 3 workers: FAILED: rank 1 was killed by signal 9"),
            std::string::npos);
}

// A frozen worker (SIGSTOP, like a hung machine): before the deadline fails the run, the
// launcher prints one line naming it, the phase and the ranks that wait on it.
TEST_F(ExperimentRun, AStoppedWorkerIsNamedByTheLauncherBeforeTheRunFails) {
  json config = tiny({"sharded"}, {3});
  config["timeout_s"] = 4;  // stall reports from 0.4 s, the peer declared lost after 2 s
  config["faults"] = {{"kill", {{"rank", 1}, {"iteration", 3}, {"how", "stop"}}}};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  const std::string err = read_text(dir_ / "stderr");
  const auto stall =
      err.find("launcher: stall: iteration 3, shuffle: rank 1 has not sent tag strategy/1.0.0 to ranks 0, 2 for ");
  EXPECT_NE(stall, std::string::npos) << err;
  EXPECT_LT(stall, err.find("launcher: killing rank 1")) << err;
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0]["status"], "failed");
}

// With checkpoint_every, a run whose worker is killed restarts from the newest checkpoint
// every rank wrote, and ends with the weights of a run without the failure, bitwise: every
// rank's optimizer state (replicated, sharded, on co-located or separate servers) is
// restored, and the batches are a function of (rank, iteration).
TEST_F(ExperimentRun, CheckpointedRunsRestartAfterAKillAndEndAsIfNothingHappened) {
  const json strategies = json::parse(R"(["ring", "ps", "sharded",
    {"name": "ps", "label": "ps-separate", "servers": 2, "separate_servers": true}])");
  json config = tiny(strategies, {3});
  config["iterations"] = 10;  // 12 with warm-up; checkpoints after 3, 6 and 9
  config["checkpoint_every"] = 3;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  std::map<std::string, std::string> reference;
  for (const auto& s : read_jsonl(dir_ / "out" / "summary.jsonl")) {
    EXPECT_FALSE(s.contains("restarts")) << s.dump();
    reference[s["strategy"]] = s["weights_hash"];
  }
  for (int run : {1, 2, 4}) {  // ring, ps, ps with separate servers
    config["faults"] = {{"kill", {{"run", run}, {"rank", 1}, {"iteration", 8}}}};
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
    const json s = read_jsonl(dir_ / "out" / "summary.jsonl")[run - 1];
    SCOPED_TRACE(s.dump());
    EXPECT_EQ(s["status"], "ok");
    EXPECT_EQ(s["weights_hash"], reference[s["strategy"]]);
    ASSERT_EQ(s["restarts"].size(), 1u);
    const json& restart = s["restarts"][0];
    EXPECT_EQ(restart["error"].get<std::string>().rfind("rank 1 was killed by signal 9", 0), 0u);
    EXPECT_EQ(restart["resumed_from"], 6);  // rank 1 never finished iteration 8: no step 9 anywhere
    // Rank 0 had recorded iteration 6 and perhaps 7 before it lost rank 1.
    EXPECT_GE(restart["redone_iterations"].get<long>(), 1);
    EXPECT_LE(restart["redone_iterations"].get<long>(), 2);
    EXPECT_EQ(s["redone_iterations"], restart["redone_iterations"]);
    EXPECT_LT(restart["stopped_s"].get<double>(), 10);  // the survivors' clear errors came promptly
    EXPECT_GT(restart["restart_s"].get<double>(), 0);
    std::vector<long> iterations;
    for (const auto& r : read_jsonl(dir_ / "out" / "records.jsonl"))
      if (r["run"] == run && r["kind"] == "iteration") iterations.push_back(r["iteration"]);
    std::vector<long> expected(12);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(iterations, expected);  // each once, in order: the redone ones replace the lost
    EXPECT_NE(read_text(dir_ / "stdout").find("restarting from the checkpoint after iteration 6"), std::string::npos);
  }
  // Without restarts allowed, the kill fails the run as before.
  config["max_restarts"] = 0;
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 1);
  const json failed = read_jsonl(dir_ / "out" / "summary.jsonl")[3];
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["error"].get<std::string>().rfind("rank 1 was killed by signal 9", 0), 0u) << failed.dump();
}

// BigDL's execution model: a driver and stateless tasks give the long-running sharded
// strategy's weights bitwise, also when an executor dies during job 1 or job 2 (its
// tasks move to the survivors, from replicated weight and optimizer-state blocks).
TEST_F(ExperimentRun, TasksRecoverExactlyFromAnExecutorKilledInEitherJob) {
  const json tasks = {{"name", "sharded"}, {"execution", "tasks"}};
  const json grouped = {{"name", "sharded"}, {"execution", "tasks"}, {"group", 2}};
  json config = tiny({"sharded", tasks, grouped}, {3});
  config["optimizer"] = {{"kind", "adam"}, {"lr", 0.001}};
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto clean = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(clean.size(), 3u);
  const std::string hash = clean[0]["weights_hash"];
  for (const auto& summary : clean) {
    EXPECT_EQ(summary["status"], "ok") << summary.dump();
    EXPECT_EQ(summary["weights_hash"], hash) << summary["strategy"];
  }
  EXPECT_EQ(clean[1]["tasks"]["rounds"], 2 * 8 + 1);  // one round per job, plus init
  EXPECT_EQ(clean[2]["tasks"]["rounds"], 4);          // two iterations per round
  EXPECT_EQ(clean[1]["tasks"]["executors_lost"], 0);
  EXPECT_GE(clean[1]["scheduling_overhead"].get<double>(), 0.0);
  EXPECT_FALSE(clean[0].contains("scheduling_overhead"));
  // The driver is a rank of its own, not a parameter server (it was once counted as one).
  EXPECT_EQ(clean[1]["driver"], 1);
  EXPECT_EQ(clean[1]["servers"], 0);
  EXPECT_EQ(clean[0]["driver"], 0);

  for (int job : {1, 2}) {
    config["faults"] = {{"kill", {{"run", job + 1}, {"rank", 1}, {"iteration", 4}, {"job", job}}}};
    config["output"] = (dir_ / ("kill" + std::to_string(job))).string();
    EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
    const auto summaries = read_jsonl(dir_ / ("kill" + std::to_string(job)) / "summary.jsonl");
    ASSERT_EQ(summaries.size(), 3u);
    const json& hit = summaries[job];
    EXPECT_EQ(hit["status"], "ok") << hit.dump();
    EXPECT_EQ(hit["weights_hash"], hash) << "job " << job;
    EXPECT_EQ(hit["tasks"]["executors_lost"], 1);
    // At least the task the executor died in ran again (survivors' tasks fail, and run
    // again, only if they reached for its blocks).
    EXPECT_GT(hit["tasks"]["tasks"].get<long>(), clean[job]["tasks"]["tasks"].get<long>());
    ASSERT_EQ(hit["tasks"]["recovery_s"].size(), 1u);
    EXPECT_LT(hit["tasks"]["recovery_s"][0].get<double>(), 10.0);
    EXPECT_NE(read_text(dir_ / "stderr")
                  .find("rank 1 was killed by signal 9 (Killed); rank 3 decides whether the job goes on"),
              std::string::npos)
        << read_text(dir_ / "stderr");
  }
  // The driver's records carry its scheduling measurements per job.
  const auto records = read_jsonl(dir_ / "out" / "records.jsonl");
  const auto task_record = std::find_if(records.begin(), records.end(), [](const json& r) {
    return r["strategy"] == "sharded-tasks" && r["kind"] == "iteration";
  });
  ASSERT_NE(task_record, records.end());
  for (const char* phase : {"launch", "scheduling", "fetch_weights", "fetch_gradients", "update", "put_weights"})
    EXPECT_TRUE((*task_record)["phases"].contains(phase)) << phase;
  EXPECT_GT((*task_record)["jobs"]["forward_backward"]["wall_s"].get<double>(), 0);
  EXPECT_GT((*task_record)["jobs"]["parameter_sync"]["run_s"].get<double>(), 0);
}

// One straggler (rank 1, 6x its 20 ms emulated compute): long-running sharded computes
// slower on that rank; the task model with drop_percentage cancels its tasks once the
// threshold exists and reports which partitions it left out.
TEST_F(ExperimentRun, AStragglersTasksAreDroppedOnceTheThresholdExists) {
  const json drop = {{"name", "sharded"},
                     {"execution", "tasks"},
                     {"drop_percentage", 0.5},
                     {"warmup_iterations", 2},
                     {"threshold_window", 2}};
  json config = tiny({"sharded", drop}, {3});
  config["compute"] = {{"emulated_ms", 20}};
  config["iterations"] = 10;
  config["faults"] = {{"straggler", {{"rank", 1}, {"slowdown", 6}}}};
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[1]["strategy"], "sharded-tasks-drop50");
  EXPECT_EQ(summaries[1]["status"], "ok") << summaries[1].dump();
  const long dropped_tasks = summaries[1]["tasks"]["dropped_tasks"];
  long straggler_dropped = 0, dropped_listed = 0;
  for (const auto& r : read_jsonl(dir_ / "out" / "records.jsonl")) {
    if (r["kind"] != "iteration" || r["strategy"] != "sharded-tasks-drop50") continue;
    const json& d = r["drop"];
    dropped_listed += static_cast<long>(d["dropped"].size());
    for (const auto& p : d["dropped"]) straggler_dropped += p == 1;
    EXPECT_EQ(d["replicas"].get<int>(), 3 - static_cast<int>(d["dropped"].size())) << r.dump();
    if (r["iteration"].get<long>() < 4) {
      EXPECT_TRUE(d["dropped"].empty()) << r.dump();
    }
  }
  EXPECT_EQ(dropped_listed, dropped_tasks);
  EXPECT_GE(straggler_dropped, 6);  // of iterations 4..11
}

TEST_F(ExperimentRun, TheDriversDeathFailsTheRunClearlyAndLeavesNoProcess) {
  json config = tiny(json::array({{{"name", "sharded"}, {"execution", "tasks"}}}), {3});
  config["faults"] = {{"kill", {{"run", 1}, {"rank", 3}, {"iteration", 2}}}};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 1u);
  const std::string error = summaries[0]["error"];
  EXPECT_EQ(error.rfind("rank 3 was killed by signal 9 (Killed): [rank 3] fault injection: killing the driver", 0), 0u)
      << error;
  EXPECT_NE(error.find("lost the driver (rank 3)"), std::string::npos) << error;
  EXPECT_FALSE(process_mentions(dir_.string()));
}

TEST_F(ExperimentRun, InterruptStopsTheWorkersAndKeepsFinishedRuns) {
  json config = tiny({"ring", "sharded", "ps"}, {2});
  config["compute"] = {{"emulated_ms", 50}};
  config["iterations"] = 40;  // about 2 s per run
  const auto path = write_config(config);
  const pid_t pid = spawn({SYNCBED_BINARY, "run", "--no-plot", path});
  ASSERT_GT(pid, 0);
  const fs::path summary = dir_ / "out" / "summary.jsonl";
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (count_lines(summary) < 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(300ms);  // into run 2
  kill(pid, SIGINT);
  int status = 0;
  const auto stop = std::chrono::steady_clock::now() + 20s;
  while (waitpid(pid, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < stop)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(WIFEXITED(status)) << "syncbed run did not stop within 20 s of SIGINT";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const auto summaries = read_jsonl(summary);
  ASSERT_GE(summaries.size(), 1u);
  EXPECT_LT(summaries.size(), 3u);
  for (const auto& s : summaries) EXPECT_EQ(s["status"], "ok");
  EXPECT_FALSE(process_mentions((dir_ / "out").string())) << "a worker outlived the interrupted sweep";
  EXPECT_FALSE(fs::exists(dir_ / "out" / ".tmp"));
}

TEST_F(ExperimentRun, EmulatedComputeSleepsAndIsMarked) {
  json config = tiny({"ring"}, {2});
  config["compute"] = {{"emulated_ms", 20}};
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto s = read_jsonl(dir_ / "out" / "summary.jsonl").at(0);
  EXPECT_EQ(s["emulated"], true);
  EXPECT_EQ(s["emulated_ms"], 20);
  EXPECT_GE(s["compute_ms"].get<double>(), 20);
  EXPECT_LT(s["compute_ms"].get<double>(), 40);
  EXPECT_TRUE(s["loss_last"].is_null());
}

// One worker never registers (a one-rank mesh needs no rendezvous), so a run of one
// worker lasting longer than timeout_s must not be failed as a rendezvous that timed out:
// it once killed a 20-minute NCF run of one worker at timeout_s.
TEST_F(ExperimentRun, AOneWorkerRunMayOutlastTheRendezvousTimeout) {
  json config = tiny({"ring"}, {1});
  config["compute"] = {{"emulated_ms", 300}};
  config["iterations"] = 8;
  config["timeout_s"] = 1;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto s = read_jsonl(dir_ / "out" / "summary.jsonl").at(0);
  EXPECT_EQ(s["status"], "ok") << s.dump();
  EXPECT_GT(s["seconds"].get<double>(), 2.0);  // the 8 timed iterations alone
}

TEST_F(ExperimentRun, CalibrationFeedsFromCalibration) {
  json config = tiny({"ring"}, {2});
  config["compute"] = {{"from_calibration", true}};
  const auto path = write_config(config);
  EXPECT_EQ(syncbed("run --no-plot " + path), 2);
  EXPECT_NE(read_text(dir_ / "stderr").find("run `syncbed calibrate` on this config first"), std::string::npos);
  ASSERT_EQ(syncbed("calibrate --iterations 3 --warmup 1 " + path), 0) << read_text(dir_ / "stderr");
  const json calibration = json::parse(read_text(dir_ / "out" / "calibration.json"));
  EXPECT_GT(calibration["compute_ms"].get<double>(), 0);
  EXPECT_EQ(calibration["compute_ms_each"].size(), 3u);
  ASSERT_EQ(syncbed("run --no-plot " + path), 0) << read_text(dir_ / "stderr");
  const auto s = read_jsonl(dir_ / "out" / "summary.jsonl").at(0);
  EXPECT_EQ(s["emulated"], true);
  EXPECT_DOUBLE_EQ(s["emulated_ms"].get<double>(), calibration["compute_ms"].get<double>());
}

// simulate: refused without links or a calibration; then predicts every (strategy, N)
// next to the measured runs of the same output directory.
TEST_F(ExperimentRun, SimulatePredictsTheSweepNextToMeasuredRuns) {
  json config = tiny({"sharded", "ring"}, {2, 3});
  config["compute"] = {{"emulated_ms", 30}};
  auto path = write_config(config);
  EXPECT_EQ(syncbed("simulate --no-plot " + path), 2);
  EXPECT_NE(read_text(dir_ / "stderr").find("run `syncbed calibrate` on this config first"), std::string::npos);
  ASSERT_EQ(syncbed("calibrate --iterations 2 --warmup 0 " + path), 0) << read_text(dir_ / "stderr");
  const json machine = json::parse(read_text(dir_ / "out" / "calibration.json"))["machine"];
  for (const char* field : {"reduce_gbytes_per_s", "optimizer_ns_per_parameter", "message_us", "stream_gbytes_per_s"})
    EXPECT_GT(machine[field].get<double>(), 0) << field;
  EXPECT_EQ(syncbed("simulate --no-plot " + path), 2);
  EXPECT_NE(read_text(dir_ / "stderr").find("simulate needs links to model"), std::string::npos);

  ASSERT_EQ(syncbed("run --no-plot " + path), 0) << read_text(dir_ / "stderr");
  config["network"] = {{"kind", "hosts"}, {"rate", "10gbit"}};
  path = write_config(config);
  ASSERT_EQ(syncbed("simulate --no-plot " + path), 0) << read_text(dir_ / "stderr");
  const auto rows = read_jsonl(dir_ / "out" / "simulated.jsonl");
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    SCOPED_TRACE(row.dump());
    EXPECT_GE(row["iteration_ms"].get<double>(), 30);  // compute, then sync on top
    EXPECT_NEAR(row["throughput"].get<double>(),
                128.0 * row["workers"].get<int>() / row["iteration_ms"].get<double>() * 1e3,
                1e-6 * row["throughput"].get<double>());
    EXPECT_TRUE(row.contains("measured"));  // the run above measured every point
  }
  EXPECT_EQ(count_lines(dir_ / "out" / "simulated.csv"), 5u);
  // Real hosts cannot be started from here.
  EXPECT_EQ(syncbed("run --no-plot " + path), 2);
  EXPECT_NE(read_text(dir_ / "stderr").find("\"hosts\" means real machines"), std::string::npos);

  // A scheduler profile prices the task model's two jobs per iteration, and only its.
  config["simulate"] = {{"scheduler", "spark-2017"}};
  EXPECT_EQ(syncbed("simulate --no-plot " + write_config(config)), 2);
  EXPECT_NE(read_text(dir_ / "stderr")
                .find("config: simulate.scheduler: applies to strategies with \"execution\": "
                      "\"tasks\"; the config has none"),
            std::string::npos)
      << read_text(dir_ / "stderr");
  config["strategies"] = json::parse(R"([{"name": "sharded", "execution": "tasks"}, "sharded"])");
  config["simulate"]["global_batch"] = 1000;  // strong scaling: 1000 at N = 2, 1002 at N = 3
  ASSERT_EQ(syncbed("simulate --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto priced = read_jsonl(dir_ / "out" / "simulated.jsonl");
  ASSERT_EQ(priced.size(), 4u);
  EXPECT_NEAR(priced[0]["driver_ms"].get<double>(), 2 * 15.0, 1e-9);  // Spark's 15 ms per job at <= 4 machines
  EXPECT_EQ(priced[0]["global_batch"], 1000);
  EXPECT_EQ(priced[1]["global_batch"], 1002);
  EXPECT_EQ(priced[2]["driver_ms"], 0);  // long-running
  config["strategies"] = json::parse(R"([{"name": "sharded", "execution": "tasks", "group": 7}])");
  EXPECT_EQ(syncbed("simulate --no-plot " + write_config(config)), 2);
  EXPECT_NE(read_text(dir_ / "stderr").find("has groups 1 (Spark), 25 and 100 (Drizzle), not 7"), std::string::npos)
      << read_text(dir_ / "stderr");
}

// The "syncbed" scheduler profile is measured, not given: simulate refuses it until
// calibrate --scheduler has timed syncbed's own driver and fitted a + b N; then it prices
// the strategy's two jobs with that line, and a later calibrate keeps the fit.
TEST_F(ExperimentRun, CalibrateMeasuresSyncbedsDriverForTheSyncbedSchedulerProfile) {
  json config = tiny({"sharded"}, {2, 64});
  config["strategies"] = json::parse(R"([{"name": "sharded", "execution": "tasks", "scheduler": "syncbed"}])");
  config["compute"] = {{"emulated_ms", 30}};
  config["network"] = {{"kind", "hosts"}, {"rate", "10gbit"}};
  const auto path = write_config(config);
  ASSERT_EQ(syncbed("calibrate --iterations 1 --warmup 0 " + path), 0) << read_text(dir_ / "stderr");
  EXPECT_EQ(syncbed("simulate --no-plot " + path), 2);
  EXPECT_NE(read_text(dir_ / "stderr")
                .find("config: strategies: sharded-tasks: scheduler profile \"syncbed\" is "
                      "measured on this machine: run `syncbed calibrate CONFIG --scheduler`"),
            std::string::npos)
      << read_text(dir_ / "stderr");

  ASSERT_EQ(syncbed("calibrate --iterations 1 --warmup 0 --scheduler " + path), 0) << read_text(dir_ / "stderr");
  const json fit = json::parse(read_text(dir_ / "out" / "calibration.json"))["scheduler"];
  ASSERT_EQ(fit["ms_per_job"].size(), 4u) << fit.dump();
  for (const char* n : {"2", "4", "8", "16"}) EXPECT_GT(fit["ms_per_job"][n].get<double>(), 0) << n;
  EXPECT_EQ(read_jsonl(dir_ / "out" / "scheduler" / "summary.jsonl").size(), 4u);  // the runs it fitted
  ASSERT_EQ(syncbed("simulate --no-plot " + path), 0) << read_text(dir_ / "stderr");
  EXPECT_NE(read_text(dir_ / "stdout").find("(extrapolated)"), std::string::npos);  // 64 > 16 executors
  const auto rows = read_jsonl(dir_ / "out" / "simulated.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    const double line = fit["a_ms"].get<double>() + fit["b_ms"].get<double>() * row["workers"].get<int>();
    EXPECT_NEAR(row["driver_ms"].get<double>(), 2 * line, 1e-9) << row.dump();
  }

  ASSERT_EQ(syncbed("calibrate --iterations 1 --warmup 0 " + path), 0) << read_text(dir_ / "stderr");
  EXPECT_EQ(json::parse(read_text(dir_ / "out" / "calibration.json"))["scheduler"], fit);
  // A run has syncbed's own driver: a scheduler profile there is a mistake.
  config["network"] = {{"kind", "loopback"}};
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 2);
  EXPECT_NE(read_text(dir_ / "stderr").find("\"scheduler\" prices a scheduler in `syncbed simulate`"),
            std::string::npos)
      << read_text(dir_ / "stderr");
}

TEST_F(ExperimentRun, ABadConfigStartsNothing) {
  json config = tiny({"ring"}, {2});
  config["workers"] = {2, 0};
  const auto path = write_config(config);
  EXPECT_EQ(syncbed("run " + path), 2);
  EXPECT_EQ(read_text(dir_ / "stderr"),
            "syncbed run: " + path + ": config: workers[1]: must be between 1 and 1024, got 0\n");
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
