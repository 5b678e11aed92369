// A one-way link delay for emulated hosts on kernels without netem (sch_netem): the
// packets arriving at the host (iptables -A INPUT -i eth0 -j NFQUEUE, so each link's
// delay is paid once, at its receiving end) are queued by netfilter and this
// process, bound to that queue over netlink, lets each one go `delay` after it was
// queued. Only packet ids travel to user space (copy mode "meta"), and one batch verdict
// releases every packet that is due, so a link of a few Gbit/s costs little CPU. Used by
// scripts/netns_cluster.sh (`syncbed link-delay`), one process per host namespace.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>

namespace syncbed::experiments {

class QueueMessage;  // one netlink message to the netfilter queue (link_delay.cc)

struct LinkDelayStats {
  std::uint64_t packets = 0;    // queued packets seen
  std::uint64_t verdicts = 0;   // batch verdicts sent
  std::uint64_t overflows = 0;  // times the socket's buffer overflowed (ENOBUFS)
  double max_late_us = 0;       // worst release after its due time
};

class LinkDelay {
 public:
  // Binds netfilter queue `queue` of this network namespace; throws with the reason
  // (e.g. another process holds the queue, or not root).
  LinkDelay(int queue, std::chrono::nanoseconds delay);
  ~LinkDelay();
  LinkDelay(const LinkDelay&) = delete;
  LinkDelay& operator=(const LinkDelay&) = delete;

  // Delays packets until `stop` becomes true (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop);
  const LinkDelayStats& stats() const { return stats_; }

 private:
  struct Held {
    std::uint32_t id;
    std::chrono::steady_clock::time_point due;
  };
  void configure();
  void request(QueueMessage& message, const char* what);
  void receive_packets();
  void release_due();
  bool accept_up_to(std::uint32_t last);

  int socket_ = -1;
  int queue_;
  std::chrono::nanoseconds delay_;
  std::uint32_t sequence_ = 0;
  std::deque<Held> held_;
  LinkDelayStats stats_;
};

}  // namespace syncbed::experiments
