// `syncbed strategies`: the registered sync strategies, what each does and which options
// beyond the common ones (segment) it takes; --names prints just the names, for scripts.
#include <cstdio>

#include "core/options.h"
#include "experiments/cli/commands.h"
#include "sync/registry.h"

namespace syncbed::cli {

int strategies_command(const std::vector<std::string>& args) {
  Options options("strategies", "List the registered sync strategies (sync/registry.cc).",
                  {{"names", "", "print only the names, one per line", ""}});
  if (!options.parse(args)) return 0;
  for (const auto& entry : sync::strategy_entries()) {
    if (options.has("names")) {
      std::printf("%s\n", entry.name.c_str());
      continue;
    }
    std::string takes;
    if (entry.bf16) takes += " compression, bf16_sum;";
    if (entry.ps_layout) takes += " servers, separate_servers, staleness;";
    if (entry.task_model) takes += " execution \"tasks\" (group, block_store_mb, drop_percentage, ...);";
    if (entry.overlap) takes += " overlap, bucket_mb;";
    std::printf("%-18s %s\n", entry.name.c_str(), entry.summary.c_str());
    if (!takes.empty()) std::printf("%-18s also takes:%s\n", "", takes.substr(0, takes.size() - 1).c_str());
  }
  return 0;
}

}  // namespace syncbed::cli
