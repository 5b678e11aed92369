// Small file and process helpers shared by the end-to-end tests.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

extern char** environ;

namespace syncbed::testing {

inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline std::size_t count_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a shell command; returns its exit status (-1 if killed by a signal).
inline int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Starts args[0] with args without waiting; stdout goes to `stdout_path` when given.
// Returns the pid, or -1 when it could not start.
inline pid_t spawn(std::vector<std::string> args, const std::string& stdout_path = "") {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!stdout_path.empty())
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Any process still running whose command line mentions `marker`.
inline bool process_mentions(const std::string& marker) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string cmdline = read_text(entry.path() / "cmdline");
    if (cmdline.find(marker) != std::string::npos && entry.path().filename() != std::to_string(getpid())) return true;
  }
  return false;
}

// A fixture whose every test gets a fresh directory of its own, dir_, removed after it:
// TMPDIR/syncbed_<suite>_<pid>_<test>.
class TestWithDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(test->test_suite_name()) + "_" + std::to_string(getpid()) + "_" + test->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterized tests: "Suite/Test/param"
    dir_ = std::filesystem::temp_directory_path() / ("syncbed_" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A tiny NCF on uniformly drawn interactions, results in `output` (default dir_/out):
  // a run takes well under a second.
  nlohmann::json tiny_config(const nlohmann::json& strategies, const nlohmann::json& workers,
                             const std::string& output = "") const {
    return {{"name", "tiny"},
            {"model", {{"name", "ncf"}, {"batch", 128}}},
            {"data", {{"kind", "synthetic"}, {"users", 500}, {"items", 300}}},
            {"strategies", strategies},
            {"workers", workers},
            {"iterations", 4},
            {"warmup", 1},
            {"threads", 1},
            {"timeout_s", 30},
            {"output", output.empty() ? (dir_ / "out").string() : output}};
  }

  std::string write_config(const nlohmann::json& config, const std::string& name = "config.json") const {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << config.dump(2);
    return path;
  }

#ifdef SYNCBED_BINARY
  // `syncbed ARGS` run by a shell in dir_ (so a stray `touch` would land there), after
  // `prefix` (e.g. "ulimit -f 400; "); its output in dir_/stdout and dir_/stderr.
  int syncbed(const std::string& args, const std::string& prefix = "") const {
    return shell("cd '" + dir_.string() + "' && " + prefix + std::string(SYNCBED_BINARY) + " " + args +
                 " >stdout 2>stderr");
  }
#endif

  std::filesystem::path dir_;
};

}  // namespace syncbed::testing
