#pragma once

#include <string>
#include <vector>

namespace syncbed::cli {

// Each returns the process exit code; args exclude "syncbed" and the command name.
int demo_command(const std::vector<std::string>& args);
int bench_p2p_command(const std::vector<std::string>& args);
int bench_allreduce_command(const std::vector<std::string>& args);
int bench_model_command(const std::vector<std::string>& args);
int train_command(const std::vector<std::string>& args);
int run_command(const std::vector<std::string>& args);
int worker_command(const std::vector<std::string>& args);
int compare_command(const std::vector<std::string>& args);
int calibrate_command(const std::vector<std::string>& args);
int simulate_command(const std::vector<std::string>& args);
int link_delay_command(const std::vector<std::string>& args);
int strategies_command(const std::vector<std::string>& args);
int trace_command(const std::vector<std::string>& args);

}  // namespace syncbed::cli
