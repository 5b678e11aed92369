#include "sync/ps/parameter_server.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

#include "core/clock.h"
#include "core/log.h"
#include "core/trace.h"

namespace syncbed::sync {

ParameterServer::ParameterServer(net::Mesh& mesh, const SyncOptions& options)
    : mesh_(mesh),
      layout_(PsLayout::of(mesh, options)),
      staleness_(options.ps.staleness),
      received_(layout_.servers, 0),
      result_recvs_(layout_.servers),
      intent_words_(layout_.servers) {
  if (options.overlap.enabled) buckets_ = buckets(options.parameters, options.overlap);
  const int hosted = layout_.server_hosted_by(mesh.rank());
  if (hosted >= 0) {
    if (!layout_.separate) channel_ = std::make_unique<PsLocalChannel>();
    server_ = std::make_unique<PsServer>(mesh, layout_, hosted, options, channel_.get());
    if (channel_)
      server_thread_ = std::thread([this] {
        try {
          server_->run();
        } catch (...) {
          channel_->fail(std::current_exception());
        }
      });
  }
  if (staleness_ > 0 && !serves_only()) staging_ = AlignedBuffer<float>(options.parameters);
}

ParameterServer::~ParameterServer() {
  // Destroyed by an exception of this worker's: a clean stop would tell the servers this
  // worker had finished; failing instead lets the mesh tell every peer the root cause.
  if (std::uncaught_exceptions() > 0) failed_ = true;
  close();
}

template <typename Fn>
void ParameterServer::guarded(Fn&& fn) {
  if (failed_) throw std::logic_error("ps: this parameter server already failed");
  try {
    fn();
  } catch (...) {
    failed_ = true;
    in_place_.clear();  // cancel receives into the caller's buffers while they still exist
    step_sends_.clear();
    throw;
  }
}

bool ParameterServer::is_local(int server) const {
  return channel_ && server == layout_.server_hosted_by(mesh_.rank());
}

void ParameterServer::send_intent(int server, PsIntent intent, std::vector<net::Request>& sends) {
  intent_words_[server] = intent.encode();
  sends.push_back(
      mesh_.send(layout_.server_rank(server), kPsIntentTag, std::span<const std::uint64_t>(intent_words_[server])));
}

void ParameterServer::announce(PsIntent intent, std::vector<net::Request>& sends) {
  for (int server = 0; server < layout_.servers; ++server) {
    if (is_local(server))
      channel_->push(intent, {});
    else
      send_intent(server, intent, sends);
  }
}

void ParameterServer::push(PsIntent intent, std::span<const float> data, std::vector<net::Request>& sends) {
  for (int server = 0; server < layout_.servers; ++server) {
    const ShardRange keys = layout_.keys(server);
    const auto piece = data.subspan(keys.begin, keys.size);
    if (is_local(server)) {
      channel_->push(intent, piece);
      continue;
    }
    send_intent(server, intent, sends);
    sends.push_back(mesh_.send(layout_.server_rank(server), kPsPushTag, piece));
  }
}

std::span<float> ParameterServer::part_of(std::span<float> vector, int server, ShardRange piece) const {
  return vector.subspan(layout_.keys(server).begin + piece.begin, piece.size);
}

void ParameterServer::seed(std::span<const float> weights) {
  if (!seeded_ && mesh_.rank() == 0) {
    std::vector<net::Request> sends;
    push({PsKind::kInit, 0}, weights, sends);
    for (auto& send : sends) send.wait();
  }
  seeded_ = true;
}

void ParameterServer::start_round(PsKind kind, std::span<const float> data, std::span<float> out,
                                  std::vector<net::Request>& sends) {
  if (data.size() != layout_.parameters || out.size() != layout_.parameters)
    throw std::invalid_argument("ps: a vector of " + std::to_string(data.size()) + " elements, but the servers hold " +
                                std::to_string(layout_.parameters));
  ++pushed_;
  for (int server = 0; server < layout_.servers; ++server) {
    if (is_local(server)) continue;
    const ShardRange keys = layout_.keys(server);
    // BSP: one result is owed per server and lands in place; posted before the push,
    // so it can never arrive first and wait in the transport's queue.
    if (staleness_ == 0)
      in_place_.push_back(mesh_.recv(layout_.server_rank(server), kPsResultTag, out.subspan(keys.begin, keys.size)));
    // With staleness one receive into staging_ is pending whenever a result is owed.
    else if (received_[server] + 1 == pushed_)
      post_result_recv(server);
  }
  push({kind, pushed_ - 1}, data, sends);
}

void ParameterServer::post_result_recv(int server) {
  const ShardRange keys = layout_.keys(server);
  result_recvs_[server] =
      mesh_.recv(layout_.server_rank(server), kPsResultTag, std::span<float>(staging_.data() + keys.begin, keys.size));
}

void ParameterServer::receive(std::span<float> out, std::uint64_t needed, bool take_arrived) {
  if (staleness_ == 0) {
    for (int server = 0; server < layout_.servers; ++server) {
      const ShardRange keys = layout_.keys(server);
      if (is_local(server) && received_[server] < needed) channel_->take_result(out.subspan(keys.begin, keys.size));
    }
    for (auto& recv : in_place_) recv.wait();
    in_place_.clear();
    for (auto& count : received_) count = std::max(count, needed);
    return;
  }
  for (int server = 0; server < layout_.servers; ++server) {
    const ShardRange keys = layout_.keys(server);
    const auto destination = out.subspan(keys.begin, keys.size);
    while (received_[server] < pushed_) {
      const bool arrived = is_local(server) ? channel_->result_ready() : result_recvs_[server].ready();
      if (received_[server] >= needed && !(take_arrived && arrived)) break;
      if (is_local(server)) {
        channel_->take_result(destination);
      } else {
        result_recvs_[server].wait();
        if (destination.data() != staging_.data() + keys.begin)
          std::memcpy(destination.data(), staging_.data() + keys.begin, keys.size * sizeof(float));
      }
      if (++received_[server] < pushed_ && !is_local(server)) post_result_recv(server);
    }
  }
}

void ParameterServer::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  if (!buckets_.empty()) {  // the servers take steps in pieces
    begin_step(weights, grads);
    for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) sync_bucket(bucket, times);
    return;
  }
  guarded([&] {
    trace::PhaseScope phase("push");
    Stopwatch watch;
    seed(weights);
    std::vector<net::Request> sends;
    start_round(PsKind::kStep, grads, weights, sends);
    times.add("push", trace::lap(watch, "push"));
    phase.next("pull");
    const std::uint64_t needed = pushed_ > static_cast<std::uint64_t>(staleness_) ? pushed_ - staleness_ : 0;
    receive(weights, needed, true);
    for (auto& send : sends) send.wait();
    times.add("pull", trace::lap(watch, "pull"));
  });
}

void ParameterServer::begin_step(std::span<float> weights, std::span<float> grads) {
  guarded([&] {
    if (buckets_.empty()) throw std::logic_error("ps: begin_step without overlap");
    if (weights.size() != layout_.parameters || grads.size() != layout_.parameters)
      throw std::invalid_argument("ps: a vector of " + std::to_string(grads.size()) +
                                  " elements, but the servers hold " + std::to_string(layout_.parameters));
    seed(weights);
    step_weights_ = weights;
    step_grads_ = grads;
    // Each server returns its pieces in bucket order; they land in place, posted before
    // any push so none can arrive first.
    for (int server = 0; server < layout_.servers; ++server) {
      if (is_local(server)) continue;
      for (const ShardRange& piece : layout_.pieces(server, buckets_))
        in_place_.push_back(mesh_.recv(layout_.server_rank(server), kPsResultTag, part_of(weights, server, piece)));
    }
    announce({PsKind::kStep, pushed_++}, step_sends_);
    step_open_ = true;
  });
}

void ParameterServer::sync_bucket(std::size_t bucket, PhaseTimes& times) {
  guarded([&] {
    trace::PhaseScope phase("push");
    Stopwatch watch;
    const PsIntent intent{PsKind::kStep, pushed_ - 1};
    for (int server = 0; server < layout_.servers; ++server) {
      const ShardRange piece = layout_.piece(server, buckets_.at(bucket));
      if (!piece.size) continue;
      const auto data = part_of(step_grads_, server, piece);
      if (is_local(server))
        channel_->push(intent, data);
      else
        step_sends_.push_back(mesh_.send(layout_.server_rank(server), kPsPieceTag, std::span<const float>(data)));
    }
    times.add("push", trace::lap(watch, "push"));
    if (bucket + 1 < buckets_.size()) return;
    phase.next("pull");
    // The pull: the servers' results have been landing in place since each piece was done.
    for (int server = 0; server < layout_.servers; ++server) {
      if (!is_local(server)) continue;
      for (const ShardRange& piece : layout_.pieces(server, buckets_))
        channel_->take_result(part_of(step_weights_, server, piece));
    }
    for (auto& recv : in_place_) recv.wait();
    in_place_.clear();
    for (auto& send : step_sends_) send.wait();
    step_sends_.clear();
    std::fill(received_.begin(), received_.end(), pushed_);
    step_open_ = false;
    times.add("pull", trace::lap(watch, "pull"));
  });
}

void ParameterServer::allreduce_sum(std::span<float> data, PhaseTimes& times) {
  guarded([&] {
    if (weights_version() != pushed_)
      throw std::logic_error("ps: allreduce_sum with step results outstanding; call synchronize() first");
    trace::PhaseScope phase("push");
    Stopwatch watch;
    std::vector<net::Request> sends;
    start_round(PsKind::kSum, data, data, sends);
    times.add("push", trace::lap(watch, "push"));
    phase.next("pull");
    receive(data, pushed_, false);
    for (auto& send : sends) send.wait();
    times.add("pull", trace::lap(watch, "pull"));
  });
}

void ParameterServer::synchronize(std::span<float> weights) {
  guarded([&] {
    trace::PhaseScope phase("pull");
    receive(weights, pushed_, false);
  });
}

void ParameterServer::serve(const std::function<void(std::uint64_t rounds)>& after_round) {
  if (!serves_only()) throw std::logic_error("ps: serve() is for separate server ranks");
  server_->run(after_round);
}

// A worker: its round counts, and the state of the server it hosts, if any (that server
// thread is between rounds: it has published this worker's last result and waits for
// its next push). A separate server: its round count and state.
std::vector<std::byte> ParameterServer::save_state() {
  StateWriter out;
  if (serves_only()) {
    out.count(server_->rounds());
    server_->save(out);
    return out.take();
  }
  if (weights_version() != pushed_)
    throw std::logic_error("ps: save_state with step results outstanding; call synchronize() first");
  out.count(pushed_);
  out.count(seeded_);
  if (server_) server_->save(out);
  return out.take();
}

void ParameterServer::restore_state(std::span<const std::byte> state) {
  StateReader in(state, "ps state (rank " + std::to_string(mesh_.rank()) + ")");
  if (serves_only()) {
    const std::uint64_t rounds = in.count("rounds");
    server_->restore(in, rounds);
  } else {
    pushed_ = in.count("rounds");
    std::fill(received_.begin(), received_.end(), pushed_);
    seeded_ = in.count("seeded flag") != 0;
    if (server_) server_->restore(in, pushed_);
  }
  in.finish();
}

std::uint64_t ParameterServer::weights_version() const {
  return received_.empty() ? pushed_ : *std::min_element(received_.begin(), received_.end());
}

void ParameterServer::close() {
  // A step abandoned half-way (its worker is unwinding): the servers wait for pieces
  // that will never come, so a clean stop could only time out.
  if (step_open_) failed_ = true;
  if (!serves_only() && !failed_) {
    try {
      // Results still owed must be taken before the servers can stop.
      if (staleness_ > 0) receive(staging_.span(), pushed_, false);
      std::vector<net::Request> sends;
      announce({PsKind::kStop, pushed_}, sends);
      for (auto& send : sends) send.wait();
      for (int server = 0; server < layout_.servers; ++server)
        if (!is_local(server)) mesh_.recv(layout_.server_rank(server), kPsResultTag, std::span<float>()).wait();
    } catch (const std::exception& e) {
      log_line(std::string("ps: stopping the servers failed: ") + e.what());
      failed_ = true;
    }
  }
  if (failed_ && channel_) channel_->push({PsKind::kAbort, 0}, {});
  if (server_thread_.joinable()) server_thread_.join();
}

// Workers push each server its key range, servers sum and update, workers pull the
// results. Co-located servers live on workers 0..k-1; separate ones on hosts of their own.
PhaseCosts ParameterServer::costs(const ClusterCosts& c, const SyncOptions& options) {
  const int n = c.workers;
  const int k = options.ps.servers > 0 ? options.ps.servers : n;
  const bool separate = options.ps.separate_servers;
  const double piece = c.wire_bytes / k;
  // A worker sends a piece to every server but its own; a server receives one from
  // every worker but itself. A host that is both does both over one link.
  const double worker_out = piece * (separate ? k : k - 1);
  const double server_in = piece * (separate ? n : n - 1);
  const double busiest = std::max(worker_out, server_in);
  const double move = (n > 1 || separate) ? c.traffic(busiest, busiest, n * worker_out) + c.latency_s() : 0;
  PhaseCosts phases;
  phases["push"] = move;
  phases["server"] = c.cpu(c.sum_s((n - 1.0) * c.float_bytes / k) + c.update_s(c.parameters / k), k);
  phases["pull"] = move;
  return phases;
}

}  // namespace syncbed::sync
