// Parameter server. S servers own contiguous key ranges (sync/ps/ps_protocol.h); each
// step a worker pushes every server its key range of the gradient, the server sums all
// W workers' pushes in rank order, applies the optimizer to its fp32 weights with
// range-sized state, and every worker pulls the updated ranges.
//
// Servers: ps_servers (0 = one per worker), co-located as a thread on workers
// 0..S-1, or with ps_separate_servers as ranks W..W+S-1 that only call serve().
// Worker 0's weights on its first step seed the servers.
//
// Consistency: staleness 0 is BSP; step t returns the weights after step t on every
// worker. With staleness k > 0, step t returns once this worker holds, from every
// server, the weights of at least round t+1-k, i.e. after all workers' steps up to
// t-k. So no worker gets more than k steps ahead of the slowest; results that have
// already arrived are taken too, so it is often fresher. synchronize() waits for all
// rounds this worker pushed, after which every worker holds the same weights.
//
// Overlap (staleness 0): each bucket's part of every server's range is pushed as soon
// as backward has finished it, and the servers return each part once all workers have
// pushed it; the results land in place while backward goes on, and the last bucket's
// sync_bucket() waits for them all (push early, pull late).
#pragma once

#include <memory>
#include <thread>

#include "sync/cost_model.h"
#include "sync/parameter_sync.h"
#include "sync/ps/ps_local_channel.h"
#include "sync/ps/ps_protocol.h"
#include "sync/ps/ps_server.h"

namespace syncbed::sync {

class ParameterServer : public ParameterSync {
 public:
  ParameterServer(net::Mesh& mesh, const SyncOptions& options);
  // Drains outstanding results and stops the servers (or, after a failure, just the
  // co-located one); never throws.
  ~ParameterServer() override;

  std::string name() const override { return "ps"; }
  // Push to the servers, servers sum and update their ranges, pull.
  static PhaseCosts costs(const ClusterCosts& cluster, const SyncOptions& options);
  void step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) override;
  void begin_step(std::span<float> weights, std::span<float> grads) override;
  void sync_bucket(std::size_t bucket, PhaseTimes& times) override;
  void allreduce_sum(std::span<float> data, PhaseTimes& times) override;
  void synchronize(std::span<float> weights) override;
  bool serves_only() const override { return layout_.separate && mesh_.rank() >= layout_.workers; }
  void serve(const std::function<void(std::uint64_t rounds)>& after_round = {}) override;
  int workers() const override { return layout_.workers; }
  std::vector<std::byte> save_state() override;
  void restore_state(std::span<const std::byte> state) override;

  // Rounds whose results this worker's weights include, from the most stale server.
  std::uint64_t weights_version() const;

 private:
  // Wraps a worker-side call: a failure marks this object failed, so the destructor
  // does not try a clean shutdown with peers that may be gone.
  template <typename Fn>
  void guarded(Fn&& fn);
  bool is_local(int server) const;  // the co-located server on this rank
  // A piece of server's key range (PsLayout::piece) as a part of a whole vector.
  std::span<float> part_of(std::span<float> vector, int server, ShardRange piece) const;
  // Worker 0, before its first step: sends the servers the initial weights.
  void seed(std::span<const float> weights);
  // Sends every server the intent alone (a stop, or a step whose pieces follow).
  void announce(PsIntent intent, std::vector<net::Request>& sends);
  void send_intent(int server, PsIntent intent, std::vector<net::Request>& sends);
  // Sends every server its key range of data with the intent.
  void push(PsIntent intent, std::span<const float> data, std::vector<net::Request>& sends);
  // Pushes the next round; in BSP its results will land in out.
  void start_round(PsKind kind, std::span<const float> data, std::span<float> out, std::vector<net::Request>& sends);
  // Applies results, in round order, into out until every server's count reaches
  // `needed`; with take_arrived also those that are already here.
  void receive(std::span<float> out, std::uint64_t needed, bool take_arrived);
  void post_result_recv(int server);
  void close();

  net::Mesh& mesh_;
  PsLayout layout_;
  int staleness_;
  std::uint64_t pushed_ = 0;                                // rounds this worker started
  std::vector<std::uint64_t> received_;                     // per server: results applied
  std::vector<net::Request> in_place_;                      // staleness 0: this round's result receives
  std::vector<net::Request> result_recvs_;                  // staleness > 0: one pending per server, into staging_
  AlignedBuffer<float> staging_;                            // staleness > 0
  std::vector<ShardRange> buckets_;                         // overlap: sync::buckets, else empty
  std::span<float> step_weights_, step_grads_;              // overlap: of the step begun
  std::vector<net::Request> step_sends_;                    // overlap: the step's pushes so far
  std::vector<std::array<std::uint64_t, 2>> intent_words_;  // per server, alive until sent
  std::unique_ptr<PsLocalChannel> channel_;                 // to the co-located server
  std::unique_ptr<PsServer> server_;                        // hosted by this rank
  std::thread server_thread_;
  bool seeded_ = false;     // worker 0 sent the servers its initial weights
  bool step_open_ = false;  // overlap: begin_step() done, the last bucket not yet
  bool failed_ = false;
};

}  // namespace syncbed::sync
