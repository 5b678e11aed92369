// The cluster model behind `syncbed simulate`, against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "experiments/sim/scheduler_profile.h"
#include "experiments/sim/simulator.h"
#include "sync/registry.h"

namespace {

using namespace syncbed::experiments;

StrategySpec strategy(const std::string& name) {
  StrategySpec spec;
  spec.name = spec.label = name;
  return spec;
}

// 1 MB/s links, no latency, instant CPU: times are bytes / 1e6.
ClusterModel plain() {
  ClusterModel cluster;
  cluster.link_bytes_per_s = 1e6;
  cluster.machine.reduce_gbytes_per_s = 1e9;  // effectively free
  cluster.machine.optimizer_ns_per_parameter = 0;
  cluster.machine.stream_gbytes_per_s = 1e9;
  cluster.machine.cores = 2;
  cluster.compute_s = 1;
  return cluster;
}

TEST(Simulator, ExpectedMaximumOfNormals) {
  EXPECT_EQ(expected_max_of_normals(1), 0);
  EXPECT_NEAR(expected_max_of_normals(2), 1 / std::sqrt(M_PI), 1e-4);  // exact: 1/sqrt(pi)
  EXPECT_NEAR(expected_max_of_normals(3), 1.5 / std::sqrt(M_PI), 1e-4);
  EXPECT_NEAR(expected_max_of_normals(1000), 3.2414, 1e-3);  // tabulated (Tippett, 1925)
}

TEST(Simulator, ShardedMovesTwiceTheShardsOfEveryPeer) {
  // 4 workers, 250k parameters = 1 MB: shuffle and broadcast each move 3/4 MB per port.
  const auto run = simulate_run(plain(), strategy("sharded"), 4, 250'000, 10);
  EXPECT_NEAR(run.phases_s.at("shuffle"), 0.75, 1e-9);
  EXPECT_NEAR(run.phases_s.at("broadcast"), 0.75, 1e-9);
  EXPECT_NEAR(run.sync_s, 1.5, 1e-6);
  EXPECT_NEAR(run.iteration_s, 2.5, 1e-6);
  EXPECT_NEAR(run.throughput, 40 / 2.5, 1e-6);
  auto bf16 = strategy("sharded");
  bf16.options.compression = syncbed::sync::Compression::kBf16;
  EXPECT_NEAR(simulate_run(plain(), bf16, 4, 250'000, 10).sync_s, 0.75, 1e-6);
}

TEST(Simulator, OverlapStartsEachBucketOnceReleasedAndExposesOnlyWhatRunsPastCompute) {
  // 1 MB of gradients (250k floats) in 4 buckets of 62.5k from the end; backward releases
  // the upper half at 50% of compute and the rest at the end. Sharded at N=4 moves 1.5 s
  // per MB, so each bucket costs 0.375 s.
  ClusterModel cluster = plain();
  cluster.compute_s = 2;
  cluster.releases = {{125'000, 0.5}, {0, 1.0}};
  auto overlapped = strategy("sharded");
  overlapped.options.overlap = {true, 62'500 * 4};
  const auto run = simulate_run(cluster, overlapped, 4, 250'000, 10);
  EXPECT_NEAR(run.sync_s, 1.5, 1e-6);
  // Buckets 0 and 1 run from 1 s to 1.75 s, inside compute; 2 and 3 from 2 s to 2.75 s.
  EXPECT_NEAR(run.exposed_sync_s, 0.75, 1e-6);
  EXPECT_NEAR(run.iteration_s, 2.75, 1e-6);
  // Without overlap all of it comes after compute.
  const auto whole = simulate_run(cluster, strategy("sharded"), 4, 250'000, 10);
  EXPECT_NEAR(whole.exposed_sync_s, 1.5, 1e-6);
  EXPECT_NEAR(whole.iteration_s, 3.5, 1e-6);
}

TEST(Simulator, RingPaysOneLatencyPerStep) {
  ClusterModel cluster = plain();
  cluster.latency_s = 0.01;
  const auto run = simulate_run(cluster, strategy("ring"), 4, 250'000, 10);
  // 2(N-1) = 6 steps of a quarter megabyte, each plus one latency.
  EXPECT_NEAR(run.phases_s.at("allreduce"), 6 * (0.25 + 0.01), 1e-6);
}

TEST(Simulator, HalvingDoublingPaysTwoLatenciesPerDoublingAndFoldsTheRemainder) {
  ClusterModel cluster = plain();
  cluster.latency_s = 0.01;
  // 4 workers, 1 MB: halving steps of 1/2 and 1/4 MB each way, mirrored by the doubling.
  const auto four = simulate_run(cluster, strategy("halving_doubling"), 4, 250'000, 10);
  EXPECT_NEAR(four.phases_s.at("allreduce"), 2 * (0.5 + 0.01) + 2 * (0.25 + 0.01), 1e-6);
  // 5 workers: rank 0 folds its whole megabyte into rank 1 and gets the sum back.
  const auto five = simulate_run(cluster, strategy("halving_doubling"), 5, 250'000, 10);
  EXPECT_NEAR(five.phases_s.at("allreduce"), four.phases_s.at("allreduce") + 2 * (1.0 + 0.01), 1e-6);
  // Same bytes as the ring at 8 workers, in 6 dependent steps instead of 14.
  const double ring = simulate_run(cluster, strategy("ring"), 8, 250'000, 10).phases_s.at("allreduce");
  const double hd = simulate_run(cluster, strategy("halving_doubling"), 8, 250'000, 10).phases_s.at("allreduce");
  EXPECT_NEAR(ring - hd, (14 - 6) * 0.01, 1e-6);
}

TEST(Simulator, SeparateServersAreLimitedByTheirIncomingPorts) {
  auto ps = strategy("ps");
  ps.options.ps.servers = 2;
  ps.options.ps.separate_servers = true;
  // 8 workers push 1 MB each, half to each server: 4 MB into each server's port.
  const auto run = simulate_run(plain(), ps, 8, 250'000, 10);
  EXPECT_NEAR(run.phases_s.at("push"), 4.0, 1e-9);
  EXPECT_NEAR(run.phases_s.at("pull"), 4.0, 1e-9);
  // With as many servers as workers, a worker's own port (1 MB out) is the limit.
  ps.options.ps.servers = 8;
  EXPECT_NEAR(simulate_run(plain(), ps, 8, 250'000, 10).phases_s.at("push"), 1.0, 1e-9);
}

TEST(Simulator, HostsSharingAMachineShareItsCores) {
  ClusterModel cluster = plain();
  cluster.machine.optimizer_ns_per_parameter = 1000;  // 1 ms per 1000 parameters
  const auto alone = simulate_run(cluster, strategy("ring"), 8, 1000, 10);
  cluster.shared_machine = true;
  const auto shared = simulate_run(cluster, strategy("ring"), 8, 1000, 10);
  EXPECT_NEAR(alone.phases_s.at("update"), 1e-3, 1e-9);
  EXPECT_NEAR(shared.phases_s.at("update"), 4e-3, 1e-9);  // 8 hosts on 2 cores
}

StrategySpec tasks(int group = 0) {
  StrategySpec spec = strategy("sharded");
  spec.options.task_model.enabled = true;
  spec.options.task_model.group = group;
  return spec;
}

TEST(Simulator, StragglersAndTheDriverGrowWithN) {
  ClusterModel cluster = plain();
  cluster.compute_sd_s = 0.1;
  cluster.driver_task_s = 0.002;
  const auto run = simulate_run(cluster, tasks(), 2, 1, 1);
  EXPECT_NEAR(run.compute_s, 1 + 0.1 / std::sqrt(M_PI), 1e-4);
  EXPECT_NEAR(run.driver_s, 2 * 2 * 0.002, 1e-12);                             // two jobs of N tasks
  EXPECT_EQ(simulate_run(cluster, strategy("sharded"), 2, 1, 1).driver_s, 0);  // long-running: no driver
}

// The Drizzle chart's points, the line between them, and past 128 machines the line
// through the last two; Drizzle's groups are cheaper and grow slower.
TEST(SchedulerProfile, SparkCostsPerJobAreTheDigitizedChart) {
  const auto spark = SchedulerProfile::named("spark-2017", 1);
  EXPECT_NEAR(spark.job_seconds(16), 0.032, 1e-12);
  EXPECT_NEAR(spark.job_seconds(128), 0.191, 1e-12);
  EXPECT_NEAR(spark.job_seconds(96), (0.098 + 0.191) / 2, 1e-12);
  EXPECT_FALSE(spark.extrapolated(128));
  EXPECT_TRUE(spark.extrapolated(256));
  EXPECT_NEAR(spark.job_seconds(256), 0.191 + (0.191 - 0.098) * 2, 1e-12);
  EXPECT_NEAR(spark.job_seconds(2), 0.015, 1e-12);  // below the chart: its first point
  EXPECT_NEAR(SchedulerProfile::named("spark-2017", 100).job_seconds(128), 0.0042, 1e-12);
  EXPECT_LT(SchedulerProfile::named("spark-2017", 25).job_seconds(64), spark.job_seconds(64) / 5);
  EXPECT_THROW(SchedulerProfile::named("spark-2017", 7), std::invalid_argument);
  EXPECT_THROW(SchedulerProfile::named("yarn", 1), std::invalid_argument);
}

// syncbed's own profile is the least-squares line through what calibrate measured,
// extrapolated past the largest N it ran; it exists only once measured, and ungrouped.
TEST(SchedulerProfile, SyncbedsIsTheLineFittedToItsMeasurements) {
  const auto fit = SchedulerFit::of({{1, 1.0}, {2, 3.0}, {3, 2.0}});
  EXPECT_NEAR(fit.b_ms, 0.5, 1e-12);
  EXPECT_NEAR(fit.a_ms, 1.0, 1e-12);
  EXPECT_NEAR(fit.rms_ms, std::sqrt(0.5), 1e-12);  // residuals -0.5, 1, -0.5
  const auto reread = SchedulerFit::from_json(fit.to_json());
  EXPECT_EQ(reread.ms_at, fit.ms_at);
  EXPECT_DOUBLE_EQ(reread.b_ms, fit.b_ms);
  const auto syncbed = SchedulerProfile::named("syncbed", 0, fit);
  EXPECT_NEAR(syncbed.job_seconds(64), (1.0 + 0.5 * 64) * 1e-3, 1e-12);
  EXPECT_FALSE(syncbed.extrapolated(3));
  EXPECT_TRUE(syncbed.extrapolated(4));
  EXPECT_THROW(SchedulerProfile::named("syncbed", 0), std::invalid_argument);  // not measured
  EXPECT_THROW(SchedulerProfile::named("syncbed", 25, fit), std::invalid_argument);
  EXPECT_THROW(SchedulerFit::of({{4, 1.0}}), std::invalid_argument);
}

// A strategy's own "scheduler" comes before the config's: Spark and syncbed's driver
// side by side in one sweep.
TEST(Simulator, AStrategysSchedulerComesBeforeTheConfigs) {
  ClusterModel cluster = plain();
  cluster.scheduler = "spark-2017";
  cluster.measured_scheduler = SchedulerFit::of({{2, 0.5}, {4, 0.9}});  // 0.1 + 0.2 N ms
  StrategySpec own = tasks();
  own.scheduler = "syncbed";
  EXPECT_NEAR(simulate_run(cluster, own, 64, 1, 5).driver_s, 2 * (0.1 + 0.2 * 64) * 1e-3, 1e-12);
  EXPECT_NEAR(simulate_run(cluster, tasks(), 64, 1, 5).driver_s, 2 * 0.098, 1e-12);
}

TEST(Simulator, TheTaskModelPaysTheSchedulerTwicePerIterationAndComputeScalesWithTheBatch) {
  ClusterModel cluster = plain();
  cluster.scheduler = "spark-2017";
  cluster.compute_items = 10;  // compute_s (1 s) is for 10 items
  const auto spark = simulate_run(cluster, tasks(), 64, 1, 5);
  EXPECT_NEAR(spark.driver_s, 2 * 0.098, 1e-12);
  EXPECT_NEAR(spark.compute_s, 0.5, 1e-12);
  EXPECT_NEAR(simulate_run(cluster, tasks(100), 4, 1, 5).driver_s, 2 * 0.0022, 1e-12);
  EXPECT_EQ(simulate_run(cluster, strategy("ring"), 64, 1, 5).driver_s, 0);
  // BigDL 0.2.0: each node's N gradient puts one after another, after compute.
  cluster.serial_put_s = 0.01;
  const auto serial = simulate_run(cluster, tasks(), 64, 1, 5);
  EXPECT_NEAR(serial.phases_s.at("serial puts"), 0.64, 1e-12);
  EXPECT_NEAR(serial.iteration_s - spark.iteration_s, 0.64, 1e-9);
  EXPECT_FALSE(simulate_run(cluster, strategy("sharded"), 64, 1, 5).phases_s.count("serial puts"));
}

// BigDL's tasks fetch their N blocks syncPoolSize (4) at a time: N = 9 takes 3 rounds,
// 2 of them after the first, in each of the two jobs; long-running strategies do not.
TEST(Simulator, TheTaskModelsFetchesWaitOneLatencyPerRoundOfConcurrentFetches) {
  ClusterModel cluster = plain();
  cluster.latency_s = 0.001;
  const auto nine = simulate_run(cluster, tasks(), 9, 1, 5);
  EXPECT_NEAR(nine.phases_s.at("fetch rounds"), 2 * 2 * 0.001, 1e-12);
  EXPECT_FALSE(simulate_run(cluster, tasks(), 4, 1, 5).phases_s.count("fetch rounds"));  // one round
  EXPECT_FALSE(simulate_run(cluster, strategy("sharded"), 9, 1, 5).phases_s.count("fetch rounds"));
  cluster.fetch_concurrency = 1;
  EXPECT_NEAR(simulate_run(cluster, tasks(), 9, 1, 5).phases_s.at("fetch rounds"), 2 * 8 * 0.001, 1e-12);
  EXPECT_NEAR(simulate_run(cluster, tasks(), 9, 1, 5).iteration_s - nine.iteration_s, 2 * 6 * 0.001, 1e-9);
}

// The simulator asks the registry: every strategy has a cost model, and a name it does
// not know is an error (it once fell through to the parameter server's model).
TEST(Simulator, EveryRegisteredStrategyHasACostModelAndUnknownOnesAreRefused) {
  for (const auto& name : syncbed::sync::parameter_sync_names()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(simulate_run(plain(), strategy(name), 1, 250'000, 10).sync_s, 0) << "one worker moves nothing";
    const double small = simulate_run(plain(), strategy(name), 4, 250'000, 10).sync_s;
    const double large = simulate_run(plain(), strategy(name), 4, 500'000, 10).sync_s;
    EXPECT_GT(small, 0);
    EXPECT_NEAR(large, 2 * small, 1e-9) << "bytes / bandwidth on a latency-free cluster";
  }
  EXPECT_THROW(simulate_run(plain(), strategy("tree"), 4, 250'000, 10), std::invalid_argument);
}

}  // namespace
