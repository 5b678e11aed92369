// Result files that survive a full disk and never destroy what is not a file; sizes
// that refuse to overflow; Adam's bias corrections without float rounding.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/cpus.h"
#include "core/optimizer.h"
#include "core/transport/tags.h"
#include "core/units.h"
#include "tests/experiments/test_files.h"

namespace {

namespace fs = std::filesystem;
using syncbed::testing::read_text;
using syncbed::testing::TestWithDirectory;

class Files : public TestWithDirectory {};

// Files over `bytes` fail to write with EFBIG, as a full disk fails with ENOSPC.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_F(Files, ASymlinkIsFollowedNotReplaced) {
  const fs::path target = dir_ / "target.json", link = dir_ / "link.json";
  std::ofstream(target) << "old";
  fs::create_symlink(target, link);
  syncbed::write_file_atomically(link.string(), "new");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_text(target), "new");
}

TEST_F(Files, AFifoIsWrittenThroughNotReplaced) {
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_text(fifo); });
  syncbed::write_file_atomically(fifo.string(), "through the pipe\n");
  reader.join();
  EXPECT_EQ(received, "through the pipe\n");
  EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO was replaced by a regular file";
}

TEST_F(Files, ADeviceIsWrittenThroughNotReplaced) {
  syncbed::write_file_atomically("/dev/null", "nothing");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_TRUE(fs::is_empty(dir_)) << "no temporary file is left anywhere";
}

TEST_F(Files, AnUnwritableTargetIsReportedUpFront) {
  EXPECT_THROW(syncbed::check_writable((dir_ / "missing" / "out.json").string()), std::invalid_argument);
  EXPECT_THROW(syncbed::check_writable(dir_.string()), std::invalid_argument);
  EXPECT_NO_THROW(syncbed::check_writable((dir_ / "new.json").string()));
  EXPECT_NO_THROW(syncbed::check_writable("-"));
}

TEST_F(Files, AFullDiskLeavesThePreviousSetWhole) {
  syncbed::write_file_set(dir_.string(), {{"summary.jsonl", "old summary"}, {"records.jsonl", "old records"}});
  try {
    FileSizeLimit limit(4096);
    syncbed::write_file_set(dir_.string(),
                            {{"summary.jsonl", "new summary"}, {"records.jsonl", std::string(100'000, 'r')}});
    FAIL() << "a file over the size limit was written";
  } catch (const syncbed::FileWriteError& e) {
    EXPECT_TRUE(syncbed::is_permanent_write_error(e.error())) << e.what();
    EXPECT_NE(std::string(e.what()).find("records.jsonl"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_text(dir_ / "summary.jsonl"), "old summary");
  EXPECT_EQ(read_text(dir_ / "records.jsonl"), "old records");
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 2) << "a temporary file was left behind";
}

TEST(Sizes, OverflowIsRefusedNotWrapped) {
  EXPECT_EQ(syncbed::parse_size("16G"), 16ull << 30);
  EXPECT_EQ(syncbed::parse_size("17179869183G"), 17179869183ull << 30);
  EXPECT_THROW(syncbed::parse_size("17179869184G"), std::invalid_argument);  // 2^64: was 0
  EXPECT_THROW(syncbed::parse_size("17179869185G"), std::invalid_argument);  // was 1G
  EXPECT_THROW(syncbed::parse_size("99999999999999999999999"), std::invalid_argument);
}

// With a constant gradient of 1, Adam's bias-corrected moments are exactly 1 at every
// step, so each step moves a weight by exactly lr / (1 + eps): any error is rounding.
// The ring once packed `step << 24 | segment`: a segment index past 2^24 ran into the
// step's bits and two messages could share a tag. Fields are checked now.
TEST(MessageTags, FieldsTooWideForTheirBitsAreRefused) {
  using syncbed::net::make_tag;
  using syncbed::net::TagSpace;
  EXPECT_NE(make_tag(TagSpace::kStrategy, 1, 0, (1u << 24)), make_tag(TagSpace::kStrategy, 1, 1, 0));
  EXPECT_NE(make_tag(TagSpace::kStrategy, 1), make_tag(TagSpace::kTaskModel, 1));
  EXPECT_EQ(make_tag(TagSpace::kBench, 255, 65535, 0xffffffffu) >> 56, 4u);
  EXPECT_THROW(make_tag(TagSpace::kStrategy, 256), std::out_of_range);
  EXPECT_THROW(make_tag(TagSpace::kStrategy, 1, 65536), std::out_of_range);
  EXPECT_THROW(make_tag(TagSpace::kStrategy, 1, 0, std::uint64_t{1} << 32), std::out_of_range);
}

TEST(Adam, BiasCorrectionsCarryNoFloatRoundingIntoTheStep) {
  syncbed::OptimizerConfig config;
  config.kind = syncbed::OptimizerConfig::Kind::kAdam;
  config.learning_rate = 1.0f;
  config.beta1 = 0.9f;
  config.beta2 = 0.999f;
  config.epsilon = 1e-30f;
  syncbed::Optimizer adam(config, 1);
  const float gradient = 1.0f;
  double worst = 0;
  for (int step = 1; step <= 200; ++step) {
    float weight = 0.0f;
    adam.step(std::span(&weight, 1), std::span(&gradient, 1));
    worst = std::max(worst, std::abs(-double(weight) - 1.0));
  }
  EXPECT_LT(worst, 1e-6) << "relative error of the step";
}

// Ranks that share this machine (srun -n 4 on one node, torchrun, syncbed's launcher)
// split its CPUs instead of each taking them all and spinning against the others.
TEST(Cpus, RanksOnOneMachineShareItsCpus) {
  const int cpus = syncbed::usable_cpus();
  cpu_set_t set;
  sched_getaffinity(0, sizeof set, &set);
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, CPU_COUNT(&set));
  for (const char* variable : {"SYNCBED_LOCAL_RANKS", "LOCAL_WORLD_SIZE", "SLURM_TASKS_PER_NODE"}) unsetenv(variable);
  EXPECT_EQ(syncbed::local_ranks(), 1);
  EXPECT_EQ(syncbed::threads_per_local_rank(), cpus);
  setenv("SLURM_TASKS_PER_NODE", "4(x2),3", 1);
  EXPECT_EQ(syncbed::local_ranks(), 4);
  EXPECT_EQ(syncbed::threads_per_local_rank(), std::max(1, cpus / 4));
  setenv("LOCAL_WORLD_SIZE", "2", 1);
  EXPECT_EQ(syncbed::local_ranks(), 2);
  setenv("SYNCBED_LOCAL_RANKS", "64", 1);
  EXPECT_EQ(syncbed::threads_per_local_rank(), 1);
  setenv("SYNCBED_LOCAL_RANKS", "many", 1);
  EXPECT_EQ(syncbed::local_ranks(), 2);  // not a count: the next source says
}

}  // namespace
