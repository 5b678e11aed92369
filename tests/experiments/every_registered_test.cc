// Every registered strategy through every command that takes one (bench-allreduce,
// `syncbed run`, `syncbed calibrate` + `syncbed simulate`), and every registered model
// through `syncbed run`. A strategy or model added to its registry is covered here
// without being named.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "experiments/workloads/registry.h"
#include "sync/registry.h"
#include "tests/experiments/test_files.h"

namespace {

using nlohmann::json;
using namespace syncbed::testing;

class EveryStrategy : public TestWithDirectory, public ::testing::WithParamInterface<std::string> {};

TEST_P(EveryStrategy, BenchAllreduceVerifiesItsSums) {
  // Sizes below, at and above the segment size; 3 workers is not a power of two.
  ASSERT_EQ(syncbed("bench-allreduce --workers 3 --strategy " + GetParam() + " --sizes 4,4K,1M,3M --iters 2"), 0)
      << read_text(dir_ / "stderr");
  EXPECT_NE(read_text(dir_ / "stdout").find("strategy " + GetParam()), std::string::npos);
}

TEST_P(EveryStrategy, BenchAllreduceReportsWhatAnAllreduceCostsInCpuAndContextSwitches) {
  const auto json_path = dir_ / "bench.json";
  ASSERT_EQ(syncbed("bench-allreduce --workers 3 --strategy " + GetParam() + " --sizes 1M --iters 2 --json " +
                    json_path.string()),
            0)
      << read_text(dir_ / "stderr");
  const json rows = json::parse(read_text(json_path))["results"];
  ASSERT_EQ(rows.size(), 1u);
  // A 1 MB sum costs each rank some CPU, and a rank that waits for its peers sleeps.
  EXPECT_GT(rows[0]["cpu_ms_all_ranks"].get<double>(), 0) << rows.dump();
  EXPECT_LT(rows[0]["cpu_ms_all_ranks"].get<double>(), 1000) << rows.dump();
  EXPECT_GE(rows[0]["context_switches_all_ranks"].get<double>(), 1) << rows.dump();
  EXPECT_NE(read_text(dir_ / "stdout").find("cpu(ms)"), std::string::npos);
}

TEST_P(EveryStrategy, RunTrainsAndWritesItsResults) {
  ASSERT_EQ(syncbed("run --no-plot " + write_config(tiny_config({GetParam()}, {1, 3}))), 0)
      << read_text(dir_ / "stderr");
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 2u);
  for (const json& summary : summaries) {
    EXPECT_EQ(summary["status"], "ok") << summary.dump();
    EXPECT_EQ(summary["strategy"], GetParam()) << summary.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryStrategy, ::testing::ValuesIn(syncbed::sync::parameter_sync_names()));

std::vector<std::string> overlapping_strategies() {
  std::vector<std::string> names;
  for (const auto& entry : syncbed::sync::strategy_entries())
    if (entry.overlap) names.push_back(entry.name);
  return names;
}

// With overlap, each bucket synchronized as the emulated backward releases its layers:
// the run ends with the weights of the run without, and records every bucket.
class EveryOverlappingStrategy : public EveryStrategy {};

TEST_P(EveryOverlappingStrategy, RunsWithOverlapToTheSameWeights) {
  json config = tiny_config({GetParam(), {{"name", GetParam()}, {"overlap", true}, {"bucket_mb", 0.05}}}, {3});
  config["compute"] = {{"emulated_ms", 20}};
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[1]["strategy"], GetParam() + "-overlap");
  for (const json& summary : summaries) {
    ASSERT_EQ(summary["status"], "ok") << summary.dump();
    EXPECT_GE(summary["exposed_sync_ms"].get<double>(), 0) << summary.dump();
  }
  EXPECT_EQ(summaries[0]["weights_hash"], summaries[1]["weights_hash"]);
  std::size_t bucketed = 0;
  for (const json& record : read_jsonl(dir_ / "out" / "records.jsonl")) {
    if (record["kind"] != "iteration" || record["strategy"] != GetParam() + "-overlap") continue;
    ++bucketed;
    ASSERT_GT(record["buckets"].size(), 1u) << record.dump();
    for (const json& bucket : record["buckets"])
      EXPECT_LE(bucket["ready_ms"].get<double>(), bucket["start_ms"].get<double>()) << record.dump();
  }
  EXPECT_EQ(bucketed, 5u);
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryOverlappingStrategy, ::testing::ValuesIn(overlapping_strategies()));

// One calibration, then every strategy in one simulated sweep.
class EveryStrategySimulated : public EveryStrategy {};

TEST_F(EveryStrategySimulated, SimulateHasARowForEveryStrategy) {
  json config = tiny_config(json::array(), {2, 5, 8});
  for (const auto& name : syncbed::sync::parameter_sync_names()) config["strategies"].push_back(name);
  config["network"] = {{"kind", "hosts"}, {"rate", "1gbit"}, {"delay", "50us"}};
  const std::string path = write_config(config);
  ASSERT_EQ(syncbed("calibrate --iterations 1 --warmup 0 --threads 1 " + path), 0) << read_text(dir_ / "stderr");
  ASSERT_EQ(syncbed("simulate " + path), 0) << read_text(dir_ / "stderr");
  const auto rows = read_jsonl(dir_ / "out" / "simulated.jsonl");
  for (const auto& name : syncbed::sync::parameter_sync_names()) {
    int found = 0;
    for (const json& row : rows)
      if (row["strategy"] == name) {
        ++found;
        EXPECT_GT(row["throughput"].get<double>(), 0) << row.dump();
      }
    EXPECT_EQ(found, 3) << name;
  }
}

// Two workers of each model with emulated compute: the model's real buffers synchronized,
// its item unit in the results.
class EveryModel : public TestWithDirectory, public ::testing::WithParamInterface<std::string> {};

TEST_P(EveryModel, RunsWithEmulatedCompute) {
  const auto& entry = syncbed::experiments::find_model(GetParam());
  json config = tiny_config({"ring"}, {2});
  config["model"] = {{"name", entry.name}};
  config["data"] = entry.data_kinds.front();
  config["compute"] = {{"emulated_ms", 1}};
  config["iterations"] = 2;
  ASSERT_EQ(syncbed("run --no-plot " + write_config(config)), 0) << read_text(dir_ / "stderr");
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0]["status"], "ok") << summaries[0].dump();
  EXPECT_EQ(summaries[0]["item_unit"], entry.item_unit);
  EXPECT_EQ(summaries[0]["batch_per_worker"], entry.default_batch);
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryModel, ::testing::ValuesIn(syncbed::experiments::model_names()));

}  // namespace
