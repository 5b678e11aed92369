#include "experiments/harness/host_facts.h"

#include <sys/utsname.h>

#include <boost/version.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <dnnl.hpp>

namespace syncbed::experiments {
namespace {

// The value of the first "key : value" line of a /proc file that starts with `key`.
std::string proc_value(const char* file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

std::string command_output(const std::string& command) {
  std::string out;
  if (std::FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
    pclose(pipe);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

nlohmann::json host_facts() {
  utsname name{};
  uname(&name);
  const dnnl_version_t* dnnl = dnnl_version();
  const std::string git =
      command_output("git -C '" SYNCBED_SOURCE_DIR "' describe --always --dirty --abbrev=12 2>/dev/null");
  const std::string memory_kb = proc_value("/proc/meminfo", "MemTotal");
  return {
      {"cpu", proc_value("/proc/cpuinfo", "model name")},
      {"cores", std::thread::hardware_concurrency()},
      {"memory_gib", memory_kb.empty() ? 0.0 : std::stod(memory_kb) / (1 << 20)},
      {"hostname", name.nodename},
      {"kernel", std::string(name.sysname) + " " + name.release},
      {"compiler", __VERSION__},
      {"onednn", std::to_string(dnnl->major) + "." + std::to_string(dnnl->minor) + "." + std::to_string(dnnl->patch)},
      {"boost", BOOST_LIB_VERSION},
      {"git_revision", git.empty() ? "unknown" : git}};
}

}  // namespace syncbed::experiments
