// syncbed: the command-line entry point.
#include <algorithm>
#include <csignal>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/cpus.h"
#include "core/transport/error.h"
#include "experiments/cli/commands.h"
#include "experiments/harness/launcher.h"

namespace {

struct Command {
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table{
      {"demo", {syncbed::cli::demo_command, "sum-allreduce across N local processes over TCP and verify (default: 4)"}},
      {"bench-p2p", {syncbed::cli::bench_p2p_command, "point-to-point throughput between two processes"}},
      {"bench-allreduce",
       {syncbed::cli::bench_allreduce_command, "sum-allreduce throughput of a sync strategy (nccl-tests columns)"}},
      {"bench-model", {syncbed::cli::bench_model_command, "training throughput of one model in one process"}},
      {"train", {syncbed::cli::train_command, "train one model in one process on real data and report its quality"}},
      {"run", {syncbed::cli::run_command, "run an experiment config: strategies x worker counts -> results/<name>/"}},
      {"worker", {syncbed::cli::worker_command, "be one rank of one run of an experiment (started by run, srun, ...)"}},
      {"compare", {syncbed::cli::compare_command, "print the strategy x N comparison table of a results directory"}},
      {"trace",
       {syncbed::cli::trace_command,
        "analyze a traced experiment's timeline: exposed communication, waits, slowest ranks"}},
      {"calibrate",
       {syncbed::cli::calibrate_command,
        "measure a config's compute time and this machine's sync costs (for emulation "
        "and simulate)"}},
      {"simulate",
       {syncbed::cli::simulate_command, "predict a config's sweep at up to 1024 workers with a calibrated model"}},
      {"strategies", {syncbed::cli::strategies_command, "list the registered sync strategies and their options"}},
      {"link-delay",
       {syncbed::cli::link_delay_command,
        "delay a network namespace's queued packets (netns_cluster.sh, without netem)"}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: syncbed COMMAND [options]   (syncbed COMMAND --help for its options)\n\n"
         "A testbed for data-parallel parameter synchronization without MPI.\n\ncommands:\n";
  std::size_t width = 0;
  for (const auto& entry : commands()) width = std::max(width, entry.first.size());
  for (const auto& [name, command] : commands()) {
    std::string left = "  " + name;
    left.resize(width + 4, ' ');
    out << left << command.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  syncbed::experiments::die_with_launcher();
  syncbed::choose_openmp_wait_policy(argv);
  // Past a file size limit (ulimit -f), a write should fail with EFBIG and be reported,
  // not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 2 : 0;
  }
  const auto found = commands().find(args[0]);
  if (found == commands().end()) {
    std::cerr << "syncbed: unknown command '" << args[0] << "'\n\n";
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  try {
    return found->second.run(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << "syncbed " << name << ": " << e.what() << "\n";
    return 2;
  } catch (const syncbed::FileWriteError& e) {
    std::cerr << "syncbed " << name << ": error: " << e.what() << "\n";
    return syncbed::is_permanent_write_error(e.error()) ? syncbed::experiments::kPermanentFailureExitCode : 1;
  } catch (const syncbed::net::TransportError& e) {
    std::cerr << "syncbed " << name << ": error: " << e.what() << "\n";
    return syncbed::experiments::kTransportFailureExitCode;
  } catch (const std::exception& e) {
    std::cerr << "syncbed " << name << ": error: " << e.what() << "\n";
    return 1;
  }
}
