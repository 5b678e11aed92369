#include "experiments/netemu/link_delay.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace syncbed::experiments {

// One netfilter-queue netlink message: header, nfgenmsg, then attributes, each padded
// to 4 bytes as netlink requires.
class QueueMessage {
 public:
  QueueMessage(std::uint8_t type, std::uint16_t flags, std::uint32_t sequence, int queue) {
    nlmsghdr header{};
    header.nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_QUEUE << 8) | type);
    header.nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    header.nlmsg_seq = sequence;
    nfgenmsg generic{};
    generic.nfgen_family = AF_UNSPEC;
    generic.version = NFNETLINK_V0;
    generic.res_id = htons(static_cast<std::uint16_t>(queue));
    append(&header, sizeof header);
    append(&generic, sizeof generic);
  }
  void attribute(std::uint16_t type, const void* payload, std::size_t size) {
    nlattr attr{};
    attr.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + size);
    attr.nla_type = type;
    append(&attr, sizeof attr);
    append(payload, size);
  }
  std::span<const char> bytes() {
    reinterpret_cast<nlmsghdr*>(bytes_.data())->nlmsg_len = static_cast<std::uint32_t>(bytes_.size());
    return bytes_;
  }

 private:
  void append(const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0);
  }
  std::vector<char> bytes_;
};

namespace {

constexpr std::uint32_t kQueueLength = 65536;  // packets held at once, at most
constexpr int kSocketBuffer = 16 << 20;

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

LinkDelay::LinkDelay(int queue, std::chrono::nanoseconds delay) : queue_(queue), delay_(delay) {
  if (queue < 0 || queue > 65535) throw std::invalid_argument("queue must be between 0 and 65535");
  socket_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (socket_ < 0) throw std::runtime_error("cannot open a netfilter netlink socket: " + errno_text(errno));
  // Packets notified while this process is busy must wait in the socket, not be lost.
  if (::setsockopt(socket_, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBuffer, sizeof kSocketBuffer) != 0)
    ::setsockopt(socket_, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    const int error = errno;
    ::close(socket_);
    throw std::runtime_error("cannot bind a netfilter netlink socket: " + errno_text(error));
  }
  try {
    configure();
  } catch (...) {
    ::close(socket_);
    throw;
  }
}

LinkDelay::~LinkDelay() {
  // Whatever is still held goes out now: unbinding would drop it.
  if (!held_.empty()) accept_up_to(held_.back().id);
  ::close(socket_);
}

// One batch verdict: every queued packet with an id up to `last` goes on.
bool LinkDelay::accept_up_to(std::uint32_t last) {
  QueueMessage verdict(NFQNL_MSG_VERDICT_BATCH, 0, ++sequence_, queue_);
  const nfqnl_msg_verdict_hdr header{htonl(NF_ACCEPT), htonl(last)};
  verdict.attribute(NFQA_VERDICT_HDR, &header, sizeof header);
  const auto bytes = verdict.bytes();
  return ::send(socket_, bytes.data(), bytes.size(), 0) >= 0;
}

// Sends a config message and waits for the kernel's acknowledgement.
void LinkDelay::request(QueueMessage& message, const char* what) {
  const auto bytes = message.bytes();
  if (::send(socket_, bytes.data(), bytes.size(), 0) < 0)
    throw std::runtime_error(std::string("netfilter queue: cannot send ") + what + ": " + errno_text(errno));
  char reply[4096];
  for (;;) {
    ssize_t n = ::recv(socket_, reply, sizeof reply, 0);
    if (n < 0)
      throw std::runtime_error(std::string("netfilter queue: no answer to ") + what + ": " + errno_text(errno));
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq != sequence_) continue;
      const int error = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      if (error == 0) return;
      if (error == EBUSY)
        throw std::runtime_error("netfilter queue " + std::to_string(queue_) +
                                 " is taken by another process in this network namespace");
      if (error == EPERM) throw std::runtime_error(std::string("netfilter queue: ") + what + " needs root");
      throw std::runtime_error(std::string("netfilter queue: ") + what + " refused: " + errno_text(error));
    }
  }
}

void LinkDelay::configure() {
  QueueMessage bind(NFQNL_MSG_CONFIG, NLM_F_ACK, ++sequence_, queue_);
  nfqnl_msg_config_cmd command{};
  command.command = NFQNL_CFG_CMD_BIND;
  command.pf = htons(AF_INET);
  bind.attribute(NFQA_CFG_CMD, &command, sizeof command);
  request(bind, "bind");

  QueueMessage setup(NFQNL_MSG_CONFIG, NLM_F_ACK, ++sequence_, queue_);
  // Metadata only: the packets stay in the kernel, user space sees their ids.
  nfqnl_msg_config_params params{};
  params.copy_range = htonl(0);
  params.copy_mode = NFQNL_COPY_META;
  setup.attribute(NFQA_CFG_PARAMS, &params, sizeof params);
  const std::uint32_t length = htonl(kQueueLength);
  setup.attribute(NFQA_CFG_QUEUE_MAXLEN, &length, sizeof length);
  // GSO: a 64 KB segment is one packet to hold, not 45; fail open: a full queue lets
  // packets through rather than dropping them (the link's loss is configured apart).
  const std::uint32_t flags = htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN);
  setup.attribute(NFQA_CFG_MASK, &flags, sizeof flags);
  setup.attribute(NFQA_CFG_FLAGS, &flags, sizeof flags);
  request(setup, "copy mode, queue length and flags");
}

void LinkDelay::receive_packets() {
  alignas(nlmsghdr) char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::recv(socket_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      // Notifications were lost, not packets: a batch verdict releases every id up to
      // the one given, so the unseen ones go out with the next seen one.
      if (errno == ENOBUFS) {
        ++stats_.overflows;
        continue;
      }
      throw std::runtime_error("netfilter queue: receive failed: " + errno_text(errno));
    }
    const auto now = std::chrono::steady_clock::now();
    ssize_t left = n;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, static_cast<unsigned>(left));
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
      const char* attrs = static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg));
      const char* end = reinterpret_cast<const char*>(h) + h->nlmsg_len;
      while (attrs + NLA_HDRLEN <= end) {
        const auto* attr = reinterpret_cast<const nlattr*>(attrs);
        if (attr->nla_len < NLA_HDRLEN || attrs + attr->nla_len > end) break;
        if ((attr->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
            attr->nla_len >= NLA_HDRLEN + sizeof(std::uint32_t)) {
          std::uint32_t id;
          std::memcpy(&id, attrs + NLA_HDRLEN, sizeof id);
          held_.push_back({ntohl(id), now + delay_});
          ++stats_.packets;
          break;
        }
        attrs += NLA_ALIGN(attr->nla_len);
      }
    }
  }
}

void LinkDelay::release_due() {
  const auto now = std::chrono::steady_clock::now();
  if (held_.empty() || held_.front().due > now) return;
  const double late = std::chrono::duration<double, std::micro>(now - held_.front().due).count();
  stats_.max_late_us = std::max(stats_.max_late_us, late);
  std::uint32_t last = 0;
  while (!held_.empty() && held_.front().due <= now) {
    last = held_.front().id;
    held_.pop_front();
  }
  if (!accept_up_to(last)) throw std::runtime_error("netfilter queue: cannot send a verdict: " + errno_text(errno));
  ++stats_.verdicts;
}

void LinkDelay::run(const std::atomic<bool>& stop) {
  // Wake-ups on time to the microsecond, not within the default 50 us of slack.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  while (!stop.load()) {
    auto wait = std::chrono::nanoseconds(std::chrono::milliseconds(100));
    if (!held_.empty())
      wait = std::clamp(
          std::chrono::duration_cast<std::chrono::nanoseconds>(held_.front().due - std::chrono::steady_clock::now()),
          std::chrono::nanoseconds(0), wait);
    const timespec timeout{static_cast<time_t>(wait.count() / 1'000'000'000),
                           static_cast<long>(wait.count() % 1'000'000'000)};
    pollfd fd{socket_, POLLIN, 0};
    if (::ppoll(&fd, 1, &timeout, nullptr) < 0 && errno != EINTR)
      throw std::runtime_error("netfilter queue: poll failed: " + errno_text(errno));
    if (fd.revents & POLLIN) receive_packets();
    release_due();
  }
}

}  // namespace syncbed::experiments
