#include "sync/ps/ps_server.h"

#include <cstring>

namespace syncbed::sync {
namespace {

const char* kind_name(PsKind kind) {
  switch (kind) {
    case PsKind::kStep:
      return "step";
    case PsKind::kSum:
      return "sum";
    case PsKind::kInit:
      return "initial weights";
    case PsKind::kStop:
      return "stop";
    case PsKind::kAbort:
      return "abort";
  }
  return "?";
}

}  // namespace

// What the workers sent for the current round. Remote workers' receives for the next
// intent and key range are posted as soon as the slot is free, so a push lands
// directly in its slot instead of waiting in the transport's queue.
struct PsServer::Inbox {
  PsServer& server;
  std::vector<std::array<std::uint64_t, 2>> words;
  std::vector<net::Request> intents, pushes;
  PsLocalChannel::Push local_push;

  explicit Inbox(PsServer& s)
      : server(s), words(s.layout_.workers), intents(s.layout_.workers), pushes(s.layout_.workers) {
    for (int worker = 0; worker < s.layout_.workers; ++worker)
      if (worker != s.local_worker_) post(worker);
  }

  void post(int worker) {
    intents[worker] = server.mesh_.recv(worker, kPsIntentTag, std::span<std::uint64_t>(words[worker]));
    pushes[worker] = server.mesh_.recv(worker, kPsPushTag, slot(worker));
  }
  std::span<float> slot(int worker) {
    return {server.incoming_.data() + worker * server.keys_.size, server.keys_.size};
  }

  PsIntent intent(int worker) {
    if (worker == server.local_worker_) {
      local_push = server.local_->take_push();
      return local_push.intent;
    }
    intents[worker].wait();
    return PsIntent::decode(words[worker], worker);
  }
  // The key range that came with worker's intent; valid until release(worker).
  const float* piece(int worker) {
    if (worker == server.local_worker_) return local_push.data.data();
    pushes[worker].wait();
    return slot(worker).data();
  }
  void release(int worker) {
    if (worker == server.local_worker_)
      server.local_->recycle(std::move(local_push.data));
    else
      post(worker);
  }
  // Destroying a pending receive cancels it, so nothing posted for this server can
  // swallow a message meant for whatever the workers do next.
  void cancel() {
    intents.clear();
    pushes.clear();
  }
};

PsServer::PsServer(net::Mesh& mesh, const PsLayout& layout, int index, const OptimizerConfig& optimizer,
                   PsLocalChannel* local)
    : mesh_(mesh),
      layout_(layout),
      index_(index),
      keys_(layout.keys(index)),
      local_worker_(local ? mesh.rank() : -1),
      local_(local),
      optimizer_(optimizer, keys_.size),
      weights_(keys_.size),
      sum_(keys_.size),
      incoming_(keys_.size * layout.workers) {}

std::string PsServer::describe(int worker, const PsIntent& intent) const {
  return "worker " + std::to_string(worker) + " sent " + kind_name(intent.kind) + " for round " +
         std::to_string(intent.round);
}

void PsServer::check_round(const std::vector<PsIntent>& intents) const {
  for (int worker = 0; worker < layout_.workers; ++worker) {
    const PsIntent& intent = intents[worker];
    if (intent.kind == PsKind::kInit || intent.kind != intents[0].kind || intent.round != round_)
      throw std::runtime_error("parameter server " + std::to_string(index_) + ", round " + std::to_string(round_) +
                               ": " + describe(worker, intent) + " while " + describe(0, intents[0]) +
                               "; every worker must make the same calls in the same order");
  }
}

void PsServer::save(StateWriter& out) const {
  out.count(initialized_);
  out.floats(weights_.span());
  out.optimizer(optimizer_);
}

void PsServer::restore(StateReader& in, std::uint64_t rounds) {
  initialized_ = in.count("seeded flag") != 0;
  in.floats(weights_.span(), "server weights");
  in.optimizer(optimizer_, "server optimizer");
  round_ = rounds;
}

void PsServer::run(const std::function<void(std::uint64_t rounds)>& after_round) {
  const int workers = layout_.workers;
  const std::size_t size = keys_.size;
  Inbox inbox(*this);
  std::vector<PsIntent> intents(workers);
  while (true) {
    // The co-located worker first: its abort must not wait behind remote workers.
    if (local_worker_ >= 0 && (intents[local_worker_] = inbox.intent(local_worker_)).kind == PsKind::kAbort) return;
    for (int worker = 0; worker < workers; ++worker)
      if (worker != local_worker_) intents[worker] = inbox.intent(worker);
    if (intents[0].kind == PsKind::kInit) {
      if (initialized_) throw std::runtime_error(describe(0, intents[0]) + " twice");
      const float* initial = inbox.piece(0);  // waited for even when empty: release reposts
      if (size) std::memcpy(weights_.data(), initial, size * sizeof(float));
      inbox.release(0);
      initialized_ = true;
      if ((intents[0] = inbox.intent(0)).kind == PsKind::kAbort) return;
    }
    check_round(intents);
    const PsKind kind = intents[0].kind;
    if (kind == PsKind::kStop) {
      // Acknowledge only after cancelling, so a worker that goes on to a new strategy
      // cannot have its messages taken by this one.
      inbox.cancel();
      for (int worker = 0; worker < workers; ++worker)
        if (worker != local_worker_) mesh_.send(worker, kPsResultTag, std::span<const float>()).wait();
      return;
    }
    if (kind == PsKind::kStep && !initialized_)
      throw std::runtime_error("parameter server " + std::to_string(index_) + ": step before worker 0 sent weights");

    // Rank order 0..W-1, whatever order the pushes arrived in.
    for (int worker = 0; worker < workers; ++worker) {
      const float* piece = inbox.piece(worker);
      if (worker == 0) {
        if (size) std::memcpy(sum_.data(), piece, size * sizeof(float));
      } else {
        for (std::size_t i = 0; i < size; ++i) sum_[i] += piece[i];
      }
      inbox.release(worker);
    }
    std::span<const float> result = sum_.span();
    if (kind == PsKind::kStep) {
      optimizer_.step(weights_.span(), sum_.span());
      result = weights_.span();
    }
    std::vector<net::Request> sends;
    for (int worker = 0; worker < workers; ++worker) {
      if (worker == local_worker_)
        local_->publish(result);
      else
        sends.push_back(mesh_.send(worker, kPsResultTag, result));
    }
    for (auto& send : sends) send.wait();
    ++round_;
    if (after_round) after_round(round_);
  }
}

}  // namespace syncbed::sync
