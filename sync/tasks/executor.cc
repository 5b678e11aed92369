#include "sync/tasks/executor.h"

#include <cstring>
#include <memory>
#include <thread>

#include "core/clock.h"
#include "core/trace.h"
#include "sync/tasks/block_service.h"
#include "sync/tasks/tags.h"

namespace syncbed::sync::tasks {
namespace {

template <typename T>
Block to_block(std::span<const T> values) {
  Block block(values.size_bytes());
  if (!values.empty()) std::memcpy(block.data(), values.data(), values.size_bytes());
  return block;
}

// An optimizer-state block: the step count, then the state floats.
Block state_block(long steps, const Optimizer& optimizer) {
  Block block(sizeof(std::int64_t) + optimizer.state_size() * sizeof(float));
  const std::int64_t count = steps;
  std::memcpy(block.data(), &count, sizeof count);
  optimizer.save_state({reinterpret_cast<float*>(block.data() + sizeof count), optimizer.state_size()});
  return block;
}

constexpr auto kForever = std::chrono::hours(24 * 365);

}  // namespace

Executor::Executor(net::Mesh& mesh, const TaskRuntimeOptions& options, GradientSource& source)
    : mesh_(mesh), options_(options), source_(source), store_(options.store_bytes), driver_(options.executors) {
  if (mesh.size() != options.executors + 1 || mesh.rank() >= options.executors)
    throw std::invalid_argument("task executors are ranks 0.." + std::to_string(options.executors - 1) +
                                " of a job with one driver rank after them");
}

namespace {

const char* kind_name(TaskKind kind) {
  return kind == TaskKind::kInit ? "init" : kind == TaskKind::kForwardBackward ? "forward-backward" : "parameter-sync";
}

// A task and its parts on this executor's timeline: fetching blocks and putting them are
// the task model's communication, forward-backward's compute its computation.
void trace_task(const TaskReport& r) {
  if (!trace::enabled()) return;
  const bool computes = r.key.kind == TaskKind::kForwardBackward;
  using trace::time_at;
  trace::record(kind_name(r.key.kind), "task", time_at(r.start_ns), time_at(r.end_ns));
  std::int64_t t = r.start_ns;
  trace::record("fetch", "sync", time_at(t), time_at(t + r.fetch_ns));
  t += r.fetch_ns;
  const char* work = computes ? "compute" : r.key.kind == TaskKind::kInit ? "initialize" : "update";
  trace::record(work, computes ? "compute" : "sync", time_at(t), time_at(t + r.compute_ns));
  t += r.compute_ns;
  trace::record("put", "sync", time_at(t), time_at(t + r.put_ns));
}

}  // namespace

void Executor::report(const TaskReport& report) {
  const auto bytes = report.encode();
  mesh_.send(driver_, kReportTag, std::span<const std::byte>(bytes)).wait();
}

void Executor::run() {
  std::vector<int> peers;
  for (int r = 0; r < mesh_.size(); ++r)
    if (r != mesh_.rank()) peers.push_back(r);
  std::vector<int> executors = peers;
  std::erase(executors, driver_);
  BlockClient client(mesh_, &store_, options_.wait_for_block);
  // Declared after the client, so on any exit the client's stop reaches every peer's
  // service before this service waits for theirs.
  struct StopOnExit {
    BlockClient& client;
    std::vector<int> executors;
    ~StopOnExit() { client.stop(executors); }
  };
  BlockService service(mesh_, store_, peers, options_.wait_for_block);
  StopOnExit stop_on_exit{client, executors};

  bool aborted = false;
  while (true) {
    std::uint64_t size = 0;
    std::vector<std::uint64_t> words;
    try {
      mesh_.recv(driver_, kRoundSizeTag, std::span<std::uint64_t>(&size, 1)).wait_for(kForever);
      if (size > (std::uint64_t{1} << 28)) throw std::runtime_error("a round of " + std::to_string(size) + " words");
      words.resize(size);
      mesh_.recv(driver_, kRoundTag, std::span<std::uint64_t>(words)).wait();
    } catch (const std::exception& e) {
      throw std::runtime_error("executor " + std::to_string(mesh_.rank()) + ": lost the driver (rank " +
                               std::to_string(driver_) + "): " + e.what());
    }
    const std::int64_t received = steady_now_ns();
    const RoundMessage round = RoundMessage::decode(words, options_.executors);
    if (round.end != RoundMessage::End::kNo) {
      aborted = round.end == RoundMessage::End::kAbort;
      break;
    }
    store_.accept_waits();
    store_.evict_below(round.evict_below);
    std::string failure;
    for (const auto& task : round.tasks) {
      TaskReport r;
      r.key = task.key;
      r.received_ns = received;
      if (!failure.empty()) {
        r.status = TaskStatus::kSkipped;
        report(r);
        continue;
      }
      trace::set_iteration(task.key.iteration);
      r.start_ns = steady_now_ns();
      try {
        if (options_.before_task) options_.before_task(task.key);
        const Timing t = run_task(task, client);
        r.fetch_ns = t.fetch_ns;
        r.compute_ns = t.compute_ns;
        r.put_ns = t.put_ns;
        r.loss = t.loss;
        r.replicas = t.replicas;
        if (t.dropped) r.status = TaskStatus::kDropped;
      } catch (const std::exception& e) {
        failure = task.key.describe() + " on executor " + std::to_string(mesh_.rank()) + ": " + e.what();
        r.status = TaskStatus::kFailed;
        r.message = e.what();
        // What this round would still have put will not come: dependents fail fast.
        store_.refuse_waits("executor " + std::to_string(mesh_.rank()) + " gave up its round after " + failure);
      }
      r.end_ns = steady_now_ns();
      if (r.status != TaskStatus::kFailed) trace_task(r);
      report(r);
    }
  }
  TaskReport goodbye;
  goodbye.status = TaskStatus::kGoodbye;
  goodbye.peak_store_bytes = static_cast<std::int64_t>(store_.peak_bytes());  // the driver reports it
  report(goodbye);
  if (aborted) throw std::runtime_error("executor " + std::to_string(mesh_.rank()) + ": the driver aborted the run");
}

Executor::Timing Executor::run_task(const TaskSpec& task, BlockClient& client) {
  switch (task.key.kind) {
    case TaskKind::kInit:
      return init(task, client);
    case TaskKind::kForwardBackward:
      return forward_backward(task, client);
    case TaskKind::kParameterSync:
      return parameter_sync(task, client);
  }
  throw std::logic_error("unknown task kind");
}

void Executor::put_with_replica(const TaskSpec& task, const BlockId& id, Block data, BlockClient& client) {
  if (task.replica >= 0 && task.replica != mesh_.rank()) client.put_remote(task.replica, id, data);
  store_.put(id, std::move(data));
}

Executor::Timing Executor::init(const TaskSpec& task, BlockClient& client) {
  Timing timing;
  Stopwatch watch;
  const ShardRange shard = shard_range(options_.parameters, options_.executors, task.key.index);
  const Optimizer fresh(options_.optimizer, shard.size);
  put_with_replica(task, BlockId::weights(0, task.key.index),
                   to_block(source_.initial_weights().subspan(shard.begin, shard.size)), client);
  put_with_replica(task, BlockId::state(0, task.key.index), state_block(0, fresh), client);
  timing.put_ns = watch.lap_ns();
  return timing;
}

Executor::Timing Executor::forward_backward(const TaskSpec& task, BlockClient& client) {
  const int n = options_.executors;
  const long i = task.key.iteration;
  const int p = task.key.index;
  if (static_cast<int>(task.sources.size()) != n)
    throw std::runtime_error("forward-backward needs one source per shard");
  Timing timing;
  Stopwatch watch;
  std::span<float> weights = source_.weights(p);
  std::vector<Fetch> fetches;
  for (int j = 0; j < n; ++j) {
    const ShardRange shard = shard_range(options_.parameters, n, j);
    fetches.push_back(
        {task.sources[j], BlockId::weights(i, j), std::as_writable_bytes(weights.subspan(shard.begin, shard.size))});
  }
  client.fetch(fetches);
  timing.fetch_ns = watch.lap_ns();
  timing.loss = source_.compute(p, i);
  timing.compute_ns = watch.lap_ns();
  timing.dropped = straggle(timing.compute_ns, task.time_limit_ns);
  timing.compute_ns += watch.lap_ns();
  const std::span<const float> gradients = source_.gradients(p);
  for (int j = 0; j < n; ++j) {
    const ShardRange shard = shard_range(options_.parameters, n, j);
    // A dropped task's gradient blocks are empty: parameter-sync leaves them out.
    store_.put(BlockId::gradient(i, p, j),
               timing.dropped ? Block() : to_block(gradients.subspan(shard.begin, shard.size)));
  }
  timing.put_ns = watch.lap_ns();
  return timing;
}

// A straggler (fault injection) takes `slowdown` times its compute time, the extra as a
// wait that a time limit cuts short, as BigDL cancels a slow task at its threshold. True
// when the task ran past its limit and is dropped.
bool Executor::straggle(std::int64_t compute_ns, std::int64_t limit_ns) {
  const auto total = static_cast<std::int64_t>(static_cast<double>(compute_ns) * std::max(1.0, options_.slowdown));
  const bool over = limit_ns > 0 && total > limit_ns;
  const std::int64_t wait = (over ? std::max(limit_ns, compute_ns) : total) - compute_ns;
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
  return over;
}

Executor::Timing Executor::parameter_sync(const TaskSpec& task, BlockClient& client) {
  const int n = options_.executors;
  const long i = task.key.iteration;
  const int j = task.key.index;
  if (static_cast<int>(task.sources.size()) != n + 1) throw std::runtime_error("parameter-sync needs N + 1 sources");
  Timing timing;
  Stopwatch watch;
  const ShardRange shard = shard_range(options_.parameters, n, j);
  Optimizer optimizer(options_.optimizer, shard.size);
  if (incoming_.size() < shard.size * n) incoming_ = AlignedBuffer<float>(shard.size * n);
  std::vector<float> weights(shard.size);
  Block state(sizeof(std::int64_t) + optimizer.state_size() * sizeof(float));
  const auto dropped = std::make_unique<bool[]>(n);
  std::vector<Fetch> fetches;
  for (int p = 0; p < n; ++p)
    fetches.push_back({task.sources[p], BlockId::gradient(i, p, j),
                       std::as_writable_bytes(std::span<float>(incoming_.data() + p * shard.size, shard.size)),
                       &dropped[p]});
  fetches.push_back({task.sources[n], BlockId::weights(i, j), std::as_writable_bytes(std::span<float>(weights))});
  fetches.push_back({task.sources[n], BlockId::state(i, j), std::span<std::byte>(state)});
  client.fetch(fetches);
  timing.fetch_ns = watch.lap_ns();

  // Partition order 0..N-1, as the long-running sharded strategy sums in rank order, so
  // the two execution models give bitwise equal weights. Dropped replicas are left out.
  float* sum = nullptr;
  for (int p = 0; p < n; ++p) {
    if (dropped[p]) continue;
    float* piece = incoming_.data() + p * shard.size;
    ++timing.replicas;
    if (!sum) {
      sum = piece;
      continue;
    }
    for (std::size_t k = 0; k < shard.size; ++k) sum[k] += piece[k];
  }
  if (timing.replicas >= options_.drop.min_replicas(n)) {
    if (timing.replicas < n) {  // rescaled to N replicas' worth, as if all had finished
      const float scale = static_cast<float>(n) / static_cast<float>(timing.replicas);
      for (std::size_t k = 0; k < shard.size; ++k) sum[k] *= scale;
    }
    std::int64_t steps = 0;
    std::memcpy(&steps, state.data(), sizeof steps);
    optimizer.load_state({reinterpret_cast<const float*>(state.data() + sizeof steps), optimizer.state_size()}, steps);
    optimizer.step(weights, std::span<const float>(sum, shard.size));
    state = state_block(optimizer.steps(), optimizer);
  }  // else too few replicas finished: the iteration is discarded, W and S carry over
  timing.compute_ns = watch.lap_ns();

  put_with_replica(task, BlockId::weights(i + 1, j), to_block(std::span<const float>(weights)), client);
  put_with_replica(task, BlockId::state(i + 1, j), std::move(state), client);
  timing.put_ns = watch.lap_ns();
  return timing;
}

}  // namespace syncbed::sync::tasks
