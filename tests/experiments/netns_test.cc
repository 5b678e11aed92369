// The emulated cluster (scripts/netns_cluster.sh) and everything that runs on it: real
// processes in separate network namespaces, talking over shaped veth links. Needs root
// (it creates namespaces); skipped otherwise.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
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

const std::string kScript = SYNCBED_SOURCE_DIR "/scripts/netns_cluster.sh";

std::set<std::string> namespaces() {
  std::set<std::string> out;
  FILE* pipe = popen("ip netns list", "r");
  char line[512];
  while (pipe && std::fgets(line, sizeof line, pipe)) {
    std::string name(line);
    out.insert(name.substr(0, name.find_first_of(" \n")));
  }
  if (pipe) pclose(pipe);
  return out;
}

class Netns : public TestWithDirectory {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
    TestWithDirectory::SetUp();
    static int counter = 0;
    name_ = std::string("t") + std::to_string(getpid() % 100000) + std::string("n") + std::to_string(counter++);
    before_ = namespaces();
  }
  void TearDown() override {
    if (dir_.empty()) return;
    shell(kScript + " down --name " + name_ + " >/dev/null 2>&1");
    TestWithDirectory::TearDown();
  }

  // Runs the script; its stdout and stderr are in out_ and err_.
  int script(const std::string& args, const std::string& prefix = "") {
    const int status =
        shell(prefix + kScript + " " + args + " >" + (dir_ / "out").string() + " 2>" + (dir_ / "err").string());
    out_ = read_text(dir_ / "out");
    err_ = read_text(dir_ / "err");
    return status;
  }

  // `syncbed ARGS` in namespace NAME-h<host> with `env` set, as one process of a job.
  std::string on_host(int host, const std::string& env, const std::string& args) const {
    return "timeout 120 ip netns exec " + name_ + "-h" + std::to_string(host) + " env " + env + " " + SYNCBED_BINARY +
           " " + args;
  }

  // Starts the commands at once; 0 when all of them succeed.
  int all_succeed(const std::vector<std::string>& commands) const {
    std::string script = "pids=; ";
    for (std::size_t i = 0; i < commands.size(); ++i)
      script += commands[i] + " >" + log_of(i).string() + " 2>&1 & pids=\"$pids $!\"; ";
    script += "rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc";
    std::ofstream(dir_ / "job.sh") << script;
    return shell("bash " + (dir_ / "job.sh").string());
  }

  fs::path log_of(std::size_t i) const { return dir_ / (std::string("p") + std::to_string(i) + ".log"); }

  std::string logs(std::size_t count) const {
    std::string all;
    for (std::size_t i = 0; i < count; ++i) all += read_text(log_of(i));
    return all;
  }

  json tiny(const json& strategies, const json& workers, const std::string& rate) const {
    json config = tiny_config(strategies, workers, (dir_ / "results").string());
    config["network"] = {{"kind", "netns"}, {"rate", rate}};
    return config;
  }

  // bench-p2p from host 0 to host 1: the one-way rate of 4 MiB messages.
  double p2p_bits_per_second() {
    const std::string env = "WORLD_SIZE=2 MASTER_ADDR=198.18.0.1 MASTER_PORT=29500";
    const std::string args =
        "bench-p2p --workers 0 --bind 0.0.0.0 --sizes 4M --iters 5 --json " + (dir_ / "p2p.json").string();
    if (all_succeed({on_host(0, "RANK=0 " + env, args), on_host(1, "RANK=1 " + env, args)}) != 0) {
      ADD_FAILURE() << logs(2);
      return 0;
    }
    const auto result = json::parse(read_text(dir_ / "p2p.json"))["results"][0];
    return result["gbytes_per_s"].get<double>() * 8e9;
  }

  // ping -U from host `from`: user-to-user round trips (the default kernel timestamps
  // would leave out a delay applied as a packet arrives).
  struct Ping {
    int received = 0;
    double min_ms = 0, avg_ms = 0;
  };
  Ping ping(int from, const std::string& address, const std::string& options) {
    const std::string out = (dir_ / "ping").string();
    shell("ip netns exec " + name_ + "-h" + std::to_string(from) + " ping -U -q " + options + " " + address + " >" +
          out + " 2>&1");
    const std::string text = read_text(out);
    Ping p;
    const auto transmitted = text.find(" packets transmitted, ");
    if (transmitted != std::string::npos) p.received = std::stoi(text.substr(transmitted + 22));
    const auto rtt = text.find("rtt min/avg/max/mdev = ");
    if (rtt != std::string::npos) std::sscanf(text.c_str() + rtt + 23, "%lf/%lf", &p.min_ms, &p.avg_ms);
    return p;
  }

  std::string name_, out_, err_;
  std::set<std::string> before_;
  std::error_code ignored_;
};

TEST_F(Netns, ScriptRefusesBadArgumentsAndNonRoot) {
  EXPECT_EQ(script("up 0"), 2);
  EXPECT_NE(err_.find("up needs a host count between 1 and 1024, got '0'"), std::string::npos) << err_;
  EXPECT_EQ(script("up 2 --rate fast --name " + name_), 2);
  EXPECT_NE(err_.find("--rate must look like 10gbit"), std::string::npos) << err_;
  EXPECT_EQ(script("up 2 --name " + name_, "setpriv --reuid=65534 --regid=65534 --clear-groups "), 2);
  EXPECT_NE(err_.find("must be run as root"), std::string::npos) << err_;
  EXPECT_EQ(namespaces(), before_);
}

TEST_F(Netns, UpMakesIsolatedShapedHostsAndDownRemovesOnlyThem) {
  ASSERT_EQ(shell("ip netns add " + name_ + "x"), 0);  // a bystander with a similar name
  ASSERT_EQ(script("up 3 --rate 1gbit --name " + name_), 0) << err_;
  EXPECT_EQ(out_, "0 " + name_ + "-h0 198.18.0.1\n1 " + name_ + "-h1 198.18.0.2\n2 " + name_ + "-h2 198.18.0.3\n");
  for (const char* suffix : {"-h0", "-h1", "-h2", "-sw"}) EXPECT_TRUE(namespaces().count(name_ + suffix)) << suffix;
  // The addresses exist inside the hosts only: nothing was added to this namespace.
  EXPECT_NE(shell("ip -o addr | grep -q 198.18."), 0);
  EXPECT_EQ(shell("ip netns exec " + name_ + "-h1 ip -o addr | grep -q 'eth0 *inet 198.18.0.2/15'"), 0);
  // Both directions of a link are shaped.
  EXPECT_EQ(shell("ip netns exec " + name_ + "-h1 tc qdisc show dev eth0 | grep -q 'tbf.*rate 1Gbit'"), 0);
  EXPECT_EQ(shell("ip netns exec " + name_ + "-sw tc qdisc show dev p1 | grep -q 'tbf.*rate 1Gbit'"), 0);

  EXPECT_EQ(script("up 2 --name " + name_), 2);
  EXPECT_NE(err_.find("exists already"), std::string::npos) << err_;
  ASSERT_EQ(script("down --name " + name_), 0) << err_;
  auto left = namespaces();
  EXPECT_TRUE(left.count(name_ + "x"));
  left.erase(name_ + "x");
  EXPECT_EQ(left, before_);
  shell("ip netns delete " + name_ + "x");
}

// The shaper's limit is exact; what a busy machine's CPUs can push through it is not:
// the upper bound is tight, the lower one leaves room for outside load.
void expect_shaped_to_1gbit(double bits_per_second) {
  EXPECT_LE(bits_per_second, 1.15e9);
  EXPECT_GE(bits_per_second, 0.5e9);
}

TEST_F(Netns, PointToPointBandwidthMatchesTheConfiguredRate) {
  ASSERT_EQ(script("up 2 --rate 1gbit --name " + name_), 0) << err_;
  expect_shaped_to_1gbit(p2p_bits_per_second());
}

// Delay and loss on every host's link: netem where the kernel has it, otherwise iptables
// and one `syncbed link-delay` per host. The bandwidth must survive the delay (a delay
// held against the sender's socket would halve it through TCP's small-queue limit).
TEST_F(Netns, DelayAndLossAreEmulatedOnEveryLink) {
  ASSERT_EQ(script("up 2 --rate 1gbit --delay 2ms --name " + name_ + " --syncbed " + SYNCBED_BINARY), 0) << err_;
  const Ping delayed = ping(0, "198.18.0.2", "-c 20 -i 0.01");
  EXPECT_EQ(delayed.received, 20);
  EXPECT_GE(delayed.min_ms, 4.0);  // 2 ms each way
  EXPECT_LE(delayed.min_ms, 5.5);  // the best case carries no scheduling delay of a busy machine
  EXPECT_LE(delayed.avg_ms, 10.0);
  expect_shaped_to_1gbit(p2p_bits_per_second());
  std::vector<int> delay_processes;
  for (const auto& entry : fs::directory_iterator("/run/syncbed-netns/" + name_, ignored_))
    if (entry.path().extension() == ".pid") delay_processes.push_back(std::stoi(read_text(entry.path())));
  ASSERT_EQ(script("down --name " + name_), 0) << err_;
  for (int pid : delay_processes) EXPECT_NE(kill(pid, 0), 0) << "link-delay process " << pid << " outlived down";
  EXPECT_FALSE(fs::exists("/run/syncbed-netns/" + name_));
  EXPECT_EQ(namespaces(), before_);

  // 20% on each host's link: a ping and its answer both get through 64% of the time.
  ASSERT_EQ(script("up 2 --rate 1gbit --loss 20% --name " + name_), 0) << err_;
  const Ping lossy = ping(0, "198.18.0.2", "-c 400 -i 0.002");
  EXPECT_NEAR(1.0 - lossy.received / 400.0, 0.36, 0.08) << lossy.received << " of 400 answered";
}

TEST_F(Netns, AllreduceResultsAreVerifiedAcrossNamespaces) {
  ASSERT_EQ(script("up 3 --rate 2gbit --name " + name_), 0) << err_;
  for (const char* strategy : {"sharded", "ring", "ps"}) {
    SCOPED_TRACE(strategy);
    std::vector<std::string> commands;
    for (int rank = 0; rank < 3; ++rank)
      commands.push_back(on_host(rank, "RANK=" + std::to_string(rank) + " WORLD_SIZE=3 MASTER_ADDR=198.18.0.1",
                                 std::string("bench-allreduce --workers 0 --bind 0.0.0.0 --strategy ") + strategy +
                                     " --sizes 4,4K,1M --iters 2"));
    // bench-allreduce checks every element of its verified iterations and fails otherwise.
    EXPECT_EQ(all_succeed(commands), 0) << logs(3);
  }
}

TEST_F(Netns, SyncbedRunPlacesEachRankOnItsOwnHost) {
  const json strategies = json::parse(R"(["sharded", "ring",
      {"name": "ps", "label": "ps-separate", "servers": 1, "separate_servers": true}])");
  const auto config = write_config(tiny(strategies, {2, 3}, "2gbit"));
  ASSERT_EQ(shell(std::string(SYNCBED_BINARY) + " run --no-plot " + config + " >" + (dir_ / "log").string() + " 2>&1"),
            0)
      << read_text(dir_ / "log");
  const auto summaries = read_jsonl(dir_ / "results" / "summary.jsonl");
  ASSERT_EQ(summaries.size(), 6u);
  for (const auto& s : summaries) {
    SCOPED_TRACE(s.dump());
    EXPECT_EQ(s["status"], "ok");
    EXPECT_EQ(s["network"]["kind"], "netns");
    EXPECT_EQ(s["network"]["rate"], "2gbit");
    const int ranks = s["workers"].get<int>() + s["servers"].get<int>();
    ASSERT_EQ(s["endpoints"].size(), static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r) {  // rank r listened on host r's address
      const std::string endpoint = s["endpoints"][r];
      EXPECT_EQ(endpoint.substr(0, endpoint.find(':')), "198.18.0." + std::to_string(r + 1));
    }
  }
  EXPECT_EQ(namespaces(), before_);
}

// A configured delay reaches the runs: a ring step on 2 hosts waits for at least one
// message each way (2 x 1 ms), and the delay processes go with the cluster.
TEST_F(Netns, SyncbedRunEmulatesTheConfiguredDelay) {
  json config = tiny({"ring"}, {2}, "1gbit");
  config["network"]["delay"] = "1ms";
  ASSERT_EQ(shell(std::string(SYNCBED_BINARY) + " run --no-plot " + write_config(config) + " >" +
                  (dir_ / "log").string() + " 2>&1"),
            0)
      << read_text(dir_ / "log");
  const json s = read_jsonl(dir_ / "results" / "summary.jsonl").at(0);
  EXPECT_EQ(s["status"], "ok") << s.dump();
  EXPECT_EQ(s["network"]["delay"], "1ms");
  EXPECT_GE(s["sync_ms"].get<double>(), 2.0) << s.dump();
  EXPECT_EQ(namespaces(), before_);
  EXPECT_EQ(shell("pgrep -f 'syncbed [l]ink-delay' >/dev/null"), 1) << "a link-delay process outlived the run";
}

TEST_F(Netns, AnInterruptedRunLeavesNoNamespaceBehind) {
  json config = tiny({"ring"}, {2}, "1gbit");
  config["iterations"] = 100000;
  config["compute"] = {{"emulated_ms", 20}};
  const auto path = write_config(config);
  const std::string log = (dir_ / "log").string();
  const pid_t pid = spawn({SYNCBED_BINARY, "run", "--no-plot", path}, log);
  ASSERT_GT(pid, 0);
  // Wait until the workers run: the cluster exists and rank 0 has recorded iterations.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (namespaces() == before_ && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  std::this_thread::sleep_for(2s);
  EXPECT_NE(namespaces(), before_) << read_text(log);
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << read_text(log);
  EXPECT_EQ(namespaces(), before_);
  EXPECT_FALSE(process_mentions(path));
}

// Workers started the way Slurm or a Kubernetes Indexed Job starts them, one per host:
// each host is a namespace; rank 0 writes the results.
TEST_F(Netns, WorkersStartedBySlurmOrTorchrunEnvironmentsRunTheExperiment) {
  ASSERT_EQ(script("up 3 --rate 2gbit --name " + name_), 0) << err_;
  json config = tiny({"sharded", "ring"}, {3}, "2gbit");
  for (const std::string launcher : {"slurm", "torchrun"}) {
    SCOPED_TRACE(launcher);
    config["output"] = (dir_ / launcher).string();
    const auto path = write_config(config);
    std::vector<std::string> commands;
    for (int rank = 0; rank < 3; ++rank) {
      const std::string r = std::to_string(rank);
      const std::string env = launcher == "slurm"
                                  ? "SLURM_PROCID=" + r + " SLURM_NTASKS=3 SLURM_LAUNCH_NODE_IPADDR=198.18.0.1"
                                  : "RANK=" + r + " WORLD_SIZE=3 MASTER_ADDR=198.18.0.1 MASTER_PORT=29400";
      commands.push_back(on_host(rank, env + " SYNCBED_TOKEN=secret", "worker " + path + " --bind 0.0.0.0"));
    }
    ASSERT_EQ(all_succeed(commands), 0) << logs(3);
    const auto summaries = read_jsonl(dir_ / launcher / "summary.jsonl");
    ASSERT_EQ(summaries.size(), 2u);
    for (const auto& s : summaries) {
      EXPECT_EQ(s["status"], "ok");
      EXPECT_EQ(s["workers"], 3);
      EXPECT_EQ(s["iterations"], 4);
      EXPECT_EQ(s["endpoints"][2].get<std::string>().substr(0, 11), "198.18.0.3:");
    }
    EXPECT_FALSE(fs::exists(dir_ / launcher / ".tmp"));
    EXPECT_TRUE(fs::exists(dir_ / launcher / "summary.csv"));
  }
}

}  // namespace
