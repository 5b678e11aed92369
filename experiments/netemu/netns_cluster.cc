#include "experiments/netemu/netns_cluster.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "core/log.h"

namespace syncbed::experiments {
namespace {

const std::string kScript = SYNCBED_SOURCE_DIR "/scripts/netns_cluster.sh";

// Runs the script with stderr folded into stdout; returns its exit status and output.
std::pair<int, std::string> run_script(const std::string& arguments) {
  const std::string command = "'" + kScript + "' " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + kScript);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace

NetnsCluster::NetnsCluster(int hosts, const NetworkSpec& network) : name_("sb" + std::to_string(getpid())) {
  // This very binary delays packets where the kernel has no netem (syncbed link-delay).
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto [status, output] =
      run_script("up " + std::to_string(hosts) + " --name " + name_ + " --rate " + network.rate + " --delay " +
                 network.delay + " --loss " + network.loss + " --syncbed '" + self + "'");
  if (status != 0) {
    std::string said = output;
    while (!said.empty() && said.back() == '\n') said.pop_back();
    throw std::runtime_error("network.kind netns: " + said.substr(said.rfind('\n') + 1));
  }
  std::istringstream lines(output);
  int rank = 0;
  std::string ns, address;
  while (lines >> rank >> ns >> address) {
    namespaces_.push_back(ns);
    addresses_.push_back(address);
  }
  if (static_cast<int>(namespaces_.size()) != hosts) {
    run_script("down --name " + name_);
    throw std::runtime_error("network.kind netns: " + kScript + " listed " + std::to_string(namespaces_.size()) +
                             " hosts instead of " + std::to_string(hosts) + ":\n" + output);
  }
}

NetnsCluster::~NetnsCluster() {
  const auto [status, output] = run_script("down --name " + name_);
  if (status != 0) log_line("warning: could not remove the emulated cluster " + name_ + ": " + output);
}

}  // namespace syncbed::experiments
