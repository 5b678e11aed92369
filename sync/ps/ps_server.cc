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
// intent, key range and pieces are posted as soon as the slot is free, so a push lands
// directly in its slot instead of waiting in the transport's queue. Pieces have slots of
// their own: worker 0's next step may send them before its initial weights are copied.
struct PsServer::Inbox {
  PsServer& server;
  std::vector<std::array<std::uint64_t, 2>> words;
  std::vector<net::Request> intents, pushes;
  std::vector<std::vector<net::Request>> pieces;  // per worker, per piece
  PsLocalChannel::Push local_push;

  explicit Inbox(PsServer& s)
      : server(s),
        words(s.layout_.workers),
        intents(s.layout_.workers),
        pushes(s.layout_.workers),
        pieces(s.layout_.workers) {
    for (int worker = 0; worker < s.layout_.workers; ++worker) {
      if (worker == s.local_worker_) continue;
      pieces[worker].resize(s.pieces_.size());
      post(worker);
      for (std::size_t i = 0; i < s.pieces_.size(); ++i) post_piece(worker, i);
    }
  }

  void post(int worker) {
    post_intent(worker);
    pushes[worker] = server.mesh_.recv(worker, kPsPushTag, slot(worker));
  }
  void post_intent(int worker) {
    intents[worker] = server.mesh_.recv(worker, kPsIntentTag, std::span<std::uint64_t>(words[worker]));
  }
  void post_piece(int worker, std::size_t i) {
    const ShardRange part = server.pieces_[i];
    pieces[worker][i] = server.mesh_.recv(worker, kPsPieceTag, piece_slot(worker).subspan(part.begin, part.size));
  }
  std::span<float> slot(int worker) {
    return {server.incoming_.data() + worker * server.keys_.size, server.keys_.size};
  }
  std::span<float> piece_slot(int worker) {
    return {server.incoming_pieces_.data() + worker * server.keys_.size, server.keys_.size};
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
  // The co-located worker's piece i of the step `intent` announced; false if it aborted.
  bool take_local_piece(std::size_t i, const PsIntent& intent) {
    local_push = server.local_->take_push();
    if (local_push.intent.kind == PsKind::kAbort) return false;
    if (local_push.intent.kind != intent.kind || local_push.intent.round != intent.round ||
        local_push.data.size() != server.pieces_[i].size)
      throw std::runtime_error("parameter server " + std::to_string(server.index_) + ": " +
                               server.describe(server.local_worker_, local_push.intent) + " in the middle of round " +
                               std::to_string(intent.round));
    return true;
  }
  // Worker's piece i of the current step (the co-located worker's: once taken);
  // valid until release_piece(worker, i).
  const float* step_piece(int worker, std::size_t i) {
    if (worker == server.local_worker_) return local_push.data.data();
    pieces[worker][i].wait();
    return piece_slot(worker).data() + server.pieces_[i].begin;
  }
  void release_piece(int worker, std::size_t i) {
    if (worker == server.local_worker_)
      server.local_->recycle(std::move(local_push.data));
    else
      post_piece(worker, i);
  }
  // Destroying a pending receive cancels it, so nothing posted for this server can
  // swallow a message meant for whatever the workers do next.
  void cancel() {
    intents.clear();
    pushes.clear();
    pieces.clear();
  }
};

PsServer::PsServer(net::Mesh& mesh, const PsLayout& layout, int index, const SyncOptions& options,
                   PsLocalChannel* local)
    : mesh_(mesh),
      layout_(layout),
      index_(index),
      keys_(layout.keys(index)),
      local_worker_(local ? mesh.rank() : -1),
      local_(local),
      steps_in_pieces_(options.overlap.enabled),
      pieces_(steps_in_pieces_ ? layout.pieces(index, buckets(options.parameters, options.overlap))
                               : std::vector<ShardRange>()),
      optimizer_(options.optimizer, keys_.size),
      weights_(keys_.size),
      sum_(keys_.size),
      incoming_(keys_.size * layout.workers),
      incoming_pieces_(steps_in_pieces_ ? keys_.size * layout.workers : 0) {}

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

template <typename PieceOf>
void PsServer::sum_pushes(ShardRange part, PieceOf&& piece_of) {
  float* sum = sum_.data() + part.begin;
  // Rank order 0..W-1, whatever order the pushes arrived in.
  for (int worker = 0; worker < layout_.workers; ++worker) {
    const float* piece = piece_of(worker);
    if (worker == 0) {
      if (part.size) std::memcpy(sum, piece, part.size * sizeof(float));
    } else {
      for (std::size_t i = 0; i < part.size; ++i) sum[i] += piece[i];
    }
  }
}

bool PsServer::step_in_pieces(Inbox& inbox) {
  const PsIntent intent{PsKind::kStep, round_};
  if (local_worker_ >= 0) inbox.release(local_worker_);  // the intent came without data
  optimizer_.begin_step();
  std::vector<net::Request> sends;
  for (std::size_t i = 0; i < pieces_.size(); ++i) {
    if (local_worker_ >= 0 && !inbox.take_local_piece(i, intent)) return false;
    const ShardRange part = pieces_[i];
    sum_pushes(part, [&](int worker) { return inbox.step_piece(worker, i); });
    for (int worker = 0; worker < layout_.workers; ++worker) inbox.release_piece(worker, i);
    const auto weights = weights_.span().subspan(part.begin, part.size);
    optimizer_.update(part.begin, weights, sum_.span().subspan(part.begin, part.size));
    for (int worker = 0; worker < layout_.workers; ++worker) {
      if (worker == local_worker_)
        local_->publish(weights);
      else
        sends.push_back(mesh_.send(worker, kPsResultTag, std::span<const float>(weights)));
    }
  }
  for (auto& send : sends) send.wait();
  for (int worker = 0; worker < layout_.workers; ++worker)
    if (worker != local_worker_) inbox.post_intent(worker);
  return true;
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
    if (kind == PsKind::kStep && steps_in_pieces_) {
      if (!step_in_pieces(inbox)) return;  // the co-located worker aborted
      ++round_;
      if (after_round) after_round(round_);
      continue;
    }

    sum_pushes({0, size}, [&](int worker) { return inbox.piece(worker); });
    for (int worker = 0; worker < workers; ++worker) inbox.release(worker);
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
