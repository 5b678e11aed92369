#include "experiments/bench/p2p_bench.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/transport/tags.h"

namespace syncbed::experiments {
namespace {

constexpr std::uint64_t kControlTag = net::make_tag(net::TagSpace::kBench, 2);
constexpr std::uint64_t kDataTag = net::make_tag(net::TagSpace::kBench, 3);
constexpr std::uint64_t kAckTag = net::make_tag(net::TagSpace::kBench, 4);
constexpr std::uint64_t kBatchBytes = 64ull << 20;
constexpr int kSender = 0;
constexpr int kReceiver = 1;
constexpr std::uint64_t kPingTag = net::make_tag(net::TagSpace::kBench, 5);
constexpr std::uint64_t kPongTag = net::make_tag(net::TagSpace::kBench, 6);
// message bytes, count (0 = stop), batch number, check every byte (2: echo `count` ping-pongs)
constexpr std::size_t kControlWords = 4;
constexpr std::uint64_t kEcho = 2;

// Depends on the batch number, so bytes left over from an earlier batch fail the check.
std::byte pattern(std::uint64_t index, std::uint64_t batch) {
  return static_cast<std::byte>((index * 131 + batch * 7 + (index >> 12)) & 0xff);
}

void fill_pattern(std::span<std::byte> bytes, std::uint64_t batch) {
  for (std::uint64_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i, batch);
}

// Every byte, or (for timed batches, to keep the check out of the measurement) about
// 4096 positions spread over the message, including both ends.
bool check_pattern(std::span<const std::byte> bytes, std::uint64_t batch, bool every_byte) {
  const std::uint64_t stride = every_byte ? 1 : std::max<std::uint64_t>(1, bytes.size() / 4096);
  for (std::uint64_t i = 0; i < bytes.size(); i += stride)
    if (bytes[i] != pattern(i, batch)) return false;
  return bytes.empty() || bytes.back() == pattern(bytes.size() - 1, batch);
}

}  // namespace

std::uint64_t p2p_batch_count(std::uint64_t message_bytes) {
  return std::max<std::uint64_t>(2, kBatchBytes / std::max<std::uint64_t>(1, message_bytes));
}

P2pSender::P2pSender(net::Mesh& mesh, std::uint64_t max_message_bytes) : mesh_(mesh), buffer_(max_message_bytes) {
  if (mesh.rank() != kSender || mesh.size() < 2) throw std::invalid_argument("the p2p sender is rank 0 of at least 2");
}

P2pBatch P2pSender::run_batch(std::uint64_t message_bytes, std::uint64_t count, bool check_every_byte) {
  if (message_bytes > buffer_.size()) throw std::invalid_argument("message larger than the sender's buffer");
  const auto message = buffer_.span().first(message_bytes);
  const std::uint64_t batch = ++batches_;
  fill_pattern(message, batch);
  const std::uint64_t control[kControlWords] = {message_bytes, count, batch, check_every_byte ? 1u : 0u};
  std::uint64_t ack = 0;
  const auto start = std::chrono::steady_clock::now();
  auto ack_request = mesh_.recv(kReceiver, kAckTag, std::span<std::uint64_t>(&ack, 1));
  mesh_.send(kReceiver, kControlTag, std::span<const std::uint64_t>(control)).wait();
  std::vector<net::Request> sends;
  sends.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i)
    sends.push_back(mesh_.send(kReceiver, kDataTag, std::span<const std::byte>(message)));
  ack_request.wait();
  const auto end = std::chrono::steady_clock::now();
  for (auto& s : sends) s.wait();
  if (ack != 1)
    throw std::runtime_error("the receiver saw wrong bytes in a " + std::to_string(message_bytes) + "-byte message");
  return {message_bytes, count, std::chrono::duration<double>(end - start).count()};
}

void stop_p2p_receiver(net::Mesh& mesh) {
  const std::uint64_t control[kControlWords] = {};
  mesh.send(kReceiver, kControlTag, std::span<const std::uint64_t>(control)).wait();
}

void run_p2p_receiver(net::Mesh& mesh, std::uint64_t max_message_bytes) {
  AlignedBuffer<std::byte> buffer(max_message_bytes);
  std::vector<net::Request> recvs;
  for (;;) {
    std::uint64_t control[kControlWords] = {};
    mesh.recv(kSender, kControlTag, std::span<std::uint64_t>(control)).wait();
    const auto [bytes, count, batch, every_byte] = control;
    if (count == 0) return;
    if (bytes > buffer.size())
      throw std::runtime_error("the sender announced a message larger than the receive buffer");
    const auto message = buffer.span().first(bytes);
    if (every_byte == kEcho) {
      for (std::uint64_t i = 0; i < count; ++i) {
        mesh.recv(kSender, kPingTag, message).wait();
        mesh.send(kSender, kPongTag, std::span<const std::byte>(message)).wait();
      }
      continue;
    }
    // Every message lands in the same buffer (no per-message copy); the last one is
    // checked in full once all have arrived.
    recvs.clear();
    for (std::uint64_t i = 0; i < count; ++i) recvs.push_back(mesh.recv(kSender, kDataTag, message));
    for (auto& r : recvs) r.wait();
    const std::uint64_t ok = check_pattern(message, batch, every_byte != 0) ? 1 : 0;
    mesh.send(kSender, kAckTag, std::span<const std::uint64_t>(&ok, 1)).wait();
  }
}

PingPong run_pingpong(net::Mesh& mesh, std::uint64_t message_bytes, std::uint64_t warmup, std::uint64_t count) {
  AlignedBuffer<std::byte> ping(std::max<std::uint64_t>(1, message_bytes)), pong(ping.size());
  const auto sent = ping.span().first(message_bytes), received = pong.span().first(message_bytes);
  fill_pattern(sent, message_bytes);
  const std::uint64_t control[kControlWords] = {message_bytes, warmup + count, 0, kEcho};
  mesh.send(kReceiver, kControlTag, std::span<const std::uint64_t>(control)).wait();
  PingPong result{message_bytes, {}};
  result.round_trip_s.reserve(count);
  for (std::uint64_t i = 0; i < warmup + count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto back = mesh.recv(kReceiver, kPongTag, received);
    mesh.send(kReceiver, kPingTag, std::span<const std::byte>(sent)).wait();
    back.wait();
    if (i >= warmup)
      result.round_trip_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (!check_pattern(received, message_bytes, true))
    throw std::runtime_error("a " + std::to_string(message_bytes) + "-byte ping came back changed");
  return result;
}

}  // namespace syncbed::experiments
