// `syncbed link-delay`: holds this network namespace's netfilter-queued packets for a
// fixed time (experiments/netemu/link_delay.h); scripts/netns_cluster.sh runs one per host when
// the kernel has no netem.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>

#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/netemu/link_delay.h"
#include "experiments/netemu/network_spec.h"

namespace syncbed::cli {
namespace {

std::atomic<bool> stop_requested{false};
void request_stop(int) { stop_requested.store(true); }

}  // namespace

int link_delay_command(const std::vector<std::string>& args) {
  Options options(
      "link-delay",
      "Delay every packet of netfilter queue Q of this network namespace by a fixed time (root): the "
      "link delay of an emulated host where the kernel has no netem. Route packets to it with "
      "`iptables -A INPUT -i eth0 -j NFQUEUE --queue-num Q` (without --queue-bypass, a link whose delay "
      "process died drops packets instead of silently losing its delay). Prints 'ready' once bound; "
      "runs until SIGTERM or SIGINT, then releases what it holds.",
      {{"delay", "TIME", "one-way delay, e.g. 50us, 2ms", ""}, {"queue", "Q", "netfilter queue number", "0"}});
  if (!options.parse(args)) return 0;
  if (options.get("delay").empty()) throw std::invalid_argument("--delay is required");
  double seconds = 0;
  try {
    seconds = experiments::parse_duration_s(options.get("delay"));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--delay: ") + e.what());
  }
  const int queue = static_cast<int>(options.get_int("queue", 0, 65535));
  experiments::LinkDelay delay(queue, std::chrono::nanoseconds(static_cast<long long>(seconds * 1e9)));
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::printf("link-delay: queue %d, delay %s, ready\n", queue, options.get("delay").c_str());
  std::fflush(stdout);
  delay.run(stop_requested);
  const auto& s = delay.stats();
  std::fprintf(stderr, "link-delay: %llu packets in %llu releases, at worst %.0f us late, %llu buffer overflows\n",
               static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.verdicts), s.max_late_us,
               static_cast<unsigned long long>(s.overflows));
  return 0;
}

}  // namespace syncbed::cli
