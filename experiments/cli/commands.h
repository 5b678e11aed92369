#pragma once

#include <string>
#include <vector>

namespace syncbed::cli {

// Each returns the process exit code; args exclude "syncbed" and the command name.
int run_demo(const std::vector<std::string>& args);
int run_bench_p2p(const std::vector<std::string>& args);
int run_bench_allreduce(const std::vector<std::string>& args);
int run_bench_model(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_worker(const std::vector<std::string>& args);
int run_compare(const std::vector<std::string>& args);
int run_calibrate(const std::vector<std::string>& args);
int run_simulate(const std::vector<std::string>& args);
int run_link_delay(const std::vector<std::string>& args);

}  // namespace syncbed::cli
