// The harness against hostile input, a dying launcher and a shared machine: real
// `syncbed` processes, each test reproducing a way the harness once broke.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/experiments/test_files.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using namespace syncbed::testing;
using Clock = std::chrono::steady_clock;

class Hostile : public TestWithDirectory {
 protected:
  json tiny(const std::string& output) const {
    json config = tiny_config({"ring"}, {2}, output);
    config["timeout_s"] = 60;
    return config;
  }
  // Long enough to act on while it runs: 2000 emulated iterations of 50 ms.
  json slow(const std::string& output) const {
    json config = tiny(output);
    config["iterations"] = 2000;
    config["compute"] = {{"emulated_ms", 50}};
    return config;
  }
  std::string out() const { return read_text(dir_ / "stdout") + read_text(dir_ / "stderr"); }

  // The processes whose parent is `parent`.
  static std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> children;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string stat = read_text(entry.path() / "stat");
      const auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      char state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == parent) children.push_back(std::stoi(entry.path().filename().string()));
    }
    return children;
  }
  // The sockets and files that fds 3 and up of a process hold ("socket:[123]", "/path");
  // anonymous inodes (eventfd, epoll) are left out: every process's look the same.
  static std::set<std::string> open_files(pid_t pid) {
    std::set<std::string> targets;
    std::error_code ignored;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ignored)) {
      const std::string target = fs::read_symlink(fd.path(), ignored).string();
      if (std::stoi(fd.path().filename().string()) > 2 && target.rfind("anon_inode:", 0) != 0) targets.insert(target);
    }
    return targets;
  }
  static bool wait_for(const std::function<bool()>& condition, std::chrono::seconds limit) {
    for (const auto until = Clock::now() + limit; Clock::now() < until; std::this_thread::sleep_for(20ms))
      if (condition()) return true;
    return false;
  }
  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t length = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    close(fd);
    return ntohs(addr.sin_port);
  }
  pid_t start_run(const std::string& config) const {
    return spawn({SYNCBED_BINARY, "run", "--no-plot", config}, (dir_ / "stdout").string());
  }
};

TEST_F(Hostile, ShellTextInAnOutputPathRunsNothing) {
  const std::string output = (dir_ / "x'; touch pwned; echo '").string();
  ASSERT_EQ(syncbed("run " + write_config(tiny(output))), 0) << out();  // plots on
  EXPECT_TRUE(fs::exists(fs::path(output) / "summary.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "pwned")) << "the output path ran as shell code";
  syncbed("compare --plot \"" + output + "\"");
  EXPECT_FALSE(fs::exists(dir_ / "pwned")) << "compare --plot ran the path as shell code";
}

TEST_F(Hostile, OnlyTheScratchDirectorySyncbedMadeIsRemoved) {
  const fs::path output = dir_ / "out";
  fs::create_directories(output / ".tmp");
  std::ofstream(output / ".tmp" / "mine.txt") << "a user's file";
  ASSERT_EQ(syncbed("run --no-plot " + write_config(tiny(output.string()))), 0) << out();
  EXPECT_TRUE(fs::exists(output / ".tmp" / "mine.txt"));
  for (const auto& entry : fs::directory_iterator(output))
    EXPECT_EQ(entry.path().filename().string().rfind(".syncbed-scratch", 0), std::string::npos) << entry.path();
}

TEST_F(Hostile, ASecondRunIntoTheSameOutputIsRefused) {
  const std::string output = (dir_ / "out").string();
  const pid_t first = start_run(write_config(slow(output), "first.json"));
  ASSERT_TRUE(wait_for([&] { return fs::exists(output + "/.syncbed.lock"); }, 30s));
  json second = tiny(output);
  second["name"] = "second";
  EXPECT_EQ(syncbed("run --no-plot " + write_config(second, "second.json")), 1);
  EXPECT_NE(out().find(output + " is in use by another syncbed run (pid " + std::to_string(first) + ")"),
            std::string::npos)
      << out();
  kill(first, SIGINT);
  int status = 0;
  waitpid(first, &status, 0);
  EXPECT_FALSE(fs::exists(output + "/summary.jsonl") &&
               read_text(output + "/summary.jsonl").find("second") != std::string::npos);
}

TEST_F(Hostile, KillingTheLauncherTakesItsWorkersAlong) {
  const std::string output = (dir_ / "out").string();
  const pid_t launcher = start_run(write_config(slow(output)));
  ASSERT_TRUE(wait_for([&] { return children_of(launcher).size() == 2; }, 30s)) << read_text(dir_ / "stdout");
  std::this_thread::sleep_for(1s);  // training now
  kill(launcher, SIGKILL);
  waitpid(launcher, nullptr, 0);
  const auto killed = Clock::now();
  EXPECT_TRUE(wait_for([&] { return !process_mentions(output); }, 10s)) << "workers outlived their launcher";
  std::printf("workers gone %.2f s after the launcher was killed\n",
              std::chrono::duration<double>(Clock::now() - killed).count());
}

TEST_F(Hostile, KillingTheLauncherDuringRendezvousTakesItsWorkersAlong) {
  const std::string output = (dir_ / "out").string();
  const pid_t launcher = start_run(write_config(slow(output)));
  ASSERT_TRUE(wait_for([&] { return !children_of(launcher).empty(); }, 30s));
  kill(launcher, SIGKILL);
  waitpid(launcher, nullptr, 0);
  EXPECT_TRUE(wait_for([&] { return !process_mentions(output); }, 10s)) << "workers waited out the rendezvous";
}

TEST_F(Hostile, WorkersInheritNoFileOfTheLauncher) {
  const std::string output = (dir_ / "out").string();
  const pid_t launcher = start_run(write_config(slow(output)));
  ASSERT_TRUE(wait_for([&] { return children_of(launcher).size() == 2; }, 30s));
  const auto launchers = open_files(launcher);
  EXPECT_FALSE(launchers.empty());  // the coordinator's socket, the record file, ...
  for (pid_t worker : children_of(launcher))
    for (const auto& file : open_files(worker)) EXPECT_EQ(launchers.count(file), 0u) << "inherited: " << file;
  kill(launcher, SIGINT);
  waitpid(launcher, nullptr, 0);
}

TEST_F(Hostile, RunningOutOfFileDescriptorsNamesTheCauseAtOnce) {
  const auto start = Clock::now();
  EXPECT_NE(syncbed("demo --workers 64 --elements 1000 --iters 1 --timeout-ms 60000", "ulimit -n 64; "), 0);
  EXPECT_LT(Clock::now() - start, 30s) << "the failure waited for the rendezvous timeout";
  EXPECT_NE(out().find("the coordinator cannot accept connections: Too many open files"), std::string::npos) << out();
}

TEST_F(Hostile, AFullDiskIsNotRetried) {
  json config = tiny((dir_ / "out").string());
  config["checkpoint_every"] = 2;
  // Checkpoints (megabytes) exceed the file size limit; records and results do not.
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config), "ulimit -f 400; "), 1) << out();
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0]["status"], "failed");
  EXPECT_FALSE(summaries[0].contains("restarts")) << summaries[0].dump();
  const std::string error = summaries[0]["error"];
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  EXPECT_NE(error.find("not restarted: a restart cannot cure this"), std::string::npos) << error;
}

TEST_F(Hostile, EveryRankNamesTheRankThatFailedAndTheLogsAreKept) {
  json config = tiny((dir_ / "out").string());
  config["workers"] = {3};
  config["faults"] = {{"kill", {{"rank", 1}, {"iteration", 2}, {"how", "error"}}}};
  EXPECT_EQ(syncbed("run --no-plot " + write_config(config)), 1);
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 1u);
  const std::string error = summaries[0]["error"];
  const std::string cause = "fault injection: rank 1 fails with an error at iteration 2";
  EXPECT_EQ(error.rfind("rank 1 exited with status 1: syncbed worker: error: " + cause, 0), 0u) << error;
  for (int rank : {0, 2}) {
    const std::string log = read_text(dir_ / "out" / "logs" / "run-1" / ("rank" + std::to_string(rank) + ".log"));
    EXPECT_NE(log.find("rank 1 failed: " + cause), std::string::npos) << "rank " << rank << ": " << log;
    EXPECT_EQ(log.find("the peer closed the connection"), std::string::npos) << log;
  }
}

TEST_F(Hostile, JsonGoesToStandardOutputWhenAskedAndErrorsComeFirst) {
  ASSERT_EQ(syncbed("bench-p2p --sizes 4K --iters 1 --json -"), 0) << out();
  const std::string printed = read_text(dir_ / "stdout");
  EXPECT_NE(printed.find("\"benchmark\": \"p2p\""), std::string::npos) << printed;
  const auto start = Clock::now();
  EXPECT_EQ(syncbed("bench-p2p --sizes 4K --iters 1 --json /nonexistent/dir/p2p.json"), 2);
  EXPECT_NE(out().find("cannot write /nonexistent/dir/p2p.json: No such file or directory"), std::string::npos);
  EXPECT_EQ(read_text(dir_ / "stdout").find("size(B)"), std::string::npos) << "the benchmark ran first";
  (void)start;
}

TEST_F(Hostile, BadOptionsAreRefusedOnceBeforeAnyWorkerStarts) {
  for (const std::string args : {"demo --bind ''", "bench-allreduce --socket-buffer 2G", "demo --segment 2",
                                 "bench-allreduce --strategy ps --ps-servers 5"}) {
    EXPECT_EQ(syncbed(args + " --workers 3"), 2) << args;
    const std::string said = read_text(dir_ / "stderr");
    EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << args << ": " << said;
  }
  EXPECT_EQ(syncbed("bench-p2p --sizes 0"), 2);
  EXPECT_NE(out().find("--sizes: a message of 0 bytes moves nothing to measure"), std::string::npos) << out();
  EXPECT_EQ(syncbed("bench-p2p --sizes 17179869184G"), 2);
  EXPECT_NE(out().find("'17179869184G' is too large"), std::string::npos) << out();
  EXPECT_EQ(syncbed("demo --elements 4294967296 --workers 2"), 2);
  EXPECT_NE(out().find("needs at least 32.0 GiB of memory (2 ranks x 16.00 GiB), but this machine has"),
            std::string::npos)
      << out();
  EXPECT_EQ(syncbed("bench-allreduce --sizes 16G --workers 2"), 2);
  EXPECT_NE(out().find("GiB of memory"), std::string::npos) << out();
  EXPECT_EQ(syncbed("train --model ncf --items 3 --users 10 --epochs 1"), 2);
  EXPECT_NE(out().find("needs at least 40 items"), std::string::npos) << out();
}

// Two hand-started jobs on one port without SYNCBED_TOKEN: job B's rank 1 reaches job A's
// coordinator first. It must be refused (their commands differ, so their derived tokens
// do), and job A must complete with its own rank 1, not silently with B's.
TEST_F(Hostile, JobsWithoutATokenCannotJoinEachOther) {
  const int port = free_port();
  const std::string common = std::string(SYNCBED_BINARY) +
                             " bench-allreduce --workers 0 --world-size 2 --iters 1 --timeout-ms 20000 --master-port " +
                             std::to_string(port);
  const std::string script = "cd '" + dir_.string() +
                             "'; unset SYNCBED_TOKEN RANK WORLD_SIZE MASTER_ADDR MASTER_PORT; " + common +
                             " --rank 1 --sizes 8K >b1.out 2>b1.err & b1=$!; sleep 0.3; " + common +
                             " --rank 0 --sizes 4K >a0.out 2>a0.err & a0=$!; sleep 1; " + common +
                             " --rank 1 --sizes 4K >a1.out 2>a1.err & a1=$!; "
                             "wait $a0; echo $? >a0.rc; wait $a1; echo $? >a1.rc; wait $b1; echo $? >b1.rc";
  std::ofstream(dir_ / "jobs.sh") << script;
  ASSERT_EQ(shell("bash '" + (dir_ / "jobs.sh").string() + "'"), 0);
  EXPECT_EQ(read_text(dir_ / "a0.rc"), "0\n") << read_text(dir_ / "a0.err");
  EXPECT_EQ(read_text(dir_ / "a1.rc"), "0\n") << read_text(dir_ / "a1.err");
  EXPECT_NE(read_text(dir_ / "a0.out").find("4096"), std::string::npos) << read_text(dir_ / "a0.out");
  EXPECT_NE(read_text(dir_ / "b1.rc"), "0\n");
  EXPECT_NE(read_text(dir_ / "b1.err").find("wrong job token"), std::string::npos) << read_text(dir_ / "b1.err");
}

// Four ranks of one job on this machine under an external launcher (torchrun's
// LOCAL_WORLD_SIZE): each computes with its share of the CPUs and sleeps while it waits,
// instead of every rank taking all CPUs and spinning against the others.
TEST_F(Hostile, RanksSharingAMachineSplitItsCpusAndDoNotSpin) {
  json config = tiny((dir_ / "out").string());
  config.erase("threads");
  const std::string path = write_config(config);
  ASSERT_EQ(
      syncbed(
          "worker " + path,
          "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u SYNCBED_OMP_DECIDED LOCAL_WORLD_SIZE=4 RANK=0 WORLD_SIZE=1 "),
      0)
      << out();
  const auto summaries = read_jsonl(dir_ / "out" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0]["threads_per_worker"], 1) << summaries[0].dump();

  const pid_t worker = spawn({"/usr/bin/env", "-u", "OMP_WAIT_POLICY", "-u", "GOMP_SPINCOUNT", "-u",
                              "SYNCBED_OMP_DECIDED", "LOCAL_WORLD_SIZE=4", "RANK=0", "WORLD_SIZE=1", SYNCBED_BINARY,
                              "worker", write_config(slow((dir_ / "slow").string()), "slow.json")});
  std::string environment;
  EXPECT_TRUE(wait_for(
      [&] {
        environment = read_text("/proc/" + std::to_string(worker) + "/environ");
        return environment.find("OMP_WAIT_POLICY=PASSIVE") != std::string::npos;
      },
      30s));
  kill(worker, SIGKILL);
  waitpid(worker, nullptr, 0);
}

TEST_F(Hostile, HelpListsEveryCommandWhole) {
  ASSERT_EQ(syncbed("--help"), 0);
  EXPECT_NE(out().find("  bench-allreduce  sum-allreduce"), std::string::npos) << out();
}

}  // namespace
