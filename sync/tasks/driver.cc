#include "sync/tasks/driver.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/buffer.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/trace.h"
#include "sync/tasks/block_service.h"
#include "sync/tasks/tags.h"

namespace syncbed::sync::tasks {
namespace {

double seconds(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }
constexpr auto kForever = std::chrono::hours(24 * 365);

}  // namespace

// One thread per executor receives its reports (the mesh receives from one named peer at
// a time) and queues them with their arrival time; a failed receive queues the loss.
struct Driver::Reports {
  using Event = ReportEvent;

  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Event> events;
  std::vector<std::thread> threads;

  Reports(net::Mesh& mesh, int executors) {
    for (int e = 0; e < executors; ++e) threads.emplace_back([this, &mesh, e] { receive(mesh, e); });
  }
  ~Reports() {
    for (auto& t : threads) t.join();
  }

  void receive(net::Mesh& mesh, int executor) {
    try {
      while (true) {
        std::array<std::byte, TaskReport::kWireBytes> bytes{};
        mesh.recv(executor, kReportTag, std::span<std::byte>(bytes)).wait_for(kForever);
        Event event{executor, false, "", TaskReport::decode(bytes), steady_now_ns()};
        const bool goodbye = event.report.status == TaskStatus::kGoodbye;
        push(std::move(event));
        if (goodbye) return;
      }
    } catch (const std::exception& e) {
      push({executor, true, e.what(), {}, steady_now_ns()});
    }
  }
  void push(Event event) {
    {
      std::lock_guard lock(mutex);
      events.push_back(std::move(event));
    }
    cv.notify_one();
  }
  std::optional<Event> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, timeout, [&] { return !events.empty(); })) return std::nullopt;
    Event event = std::move(events.front());
    events.pop_front();
    return event;
  }
};

// What the driver has seen of each iteration's two jobs, turned into IterationTiming
// once the iteration's job 2 is complete.
struct Driver::Progress {
  struct Job {
    std::int64_t round_sent_ns = 0;
    std::int64_t first_start_ns = 0, last_start_ns = 0, last_end_ns = 0, last_arrival_ns = 0;
    std::int64_t run_ns = 0, fetch_ns = 0, compute_ns = 0, put_ns = 0;
    double loss = 0;
    int losses = 0;
    std::int64_t time_limit_ns = 0;
    std::set<int> dropped;   // forward-backward: partitions dropped
    int replicas = INT_MAX;  // parameter-sync: fewest gradients a task summed
  };
  std::map<long, Job> jobs;
  std::map<long, double> launch;  // per iteration
  std::int64_t previous_end_ns = 0;

  void sent(const Round& round, std::int64_t sent_ns, double launch_seconds) {
    std::set<long> iterations;
    for (const auto& [executor, list] : round.tasks)
      for (const auto& task : list) {
        jobs[task.key.job()].round_sent_ns = sent_ns;
        jobs[task.key.job()].time_limit_ns = std::max(jobs[task.key.job()].time_limit_ns, task.time_limit_ns);
        iterations.insert(task.key.iteration);
      }
    for (long i : iterations) launch[i] += launch_seconds / static_cast<double>(iterations.size());
  }
  void done(const TaskReport& r, std::int64_t arrival_ns) {
    Job& job = jobs[r.key.job()];
    job.last_start_ns = std::max(job.last_start_ns, r.start_ns);
    job.last_end_ns = std::max(job.last_end_ns, r.end_ns);
    job.last_arrival_ns = std::max(job.last_arrival_ns, arrival_ns);
    job.run_ns = std::max(job.run_ns, r.end_ns - r.start_ns);
    job.fetch_ns = std::max(job.fetch_ns, r.fetch_ns);
    job.compute_ns = std::max(job.compute_ns, r.compute_ns);
    job.put_ns = std::max(job.put_ns, r.put_ns);
    if (r.key.kind == TaskKind::kParameterSync) job.replicas = std::min(job.replicas, static_cast<int>(r.replicas));
    if (r.key.kind != TaskKind::kForwardBackward) return;
    if (r.status == TaskStatus::kDropped) {
      job.dropped.insert(r.key.index);
      return;
    }
    job.dropped.erase(r.key.index);  // ran again after a loss, and finished this time
    job.loss += r.loss;
    ++job.losses;
  }
  // A job can start once its round is out and the job before it has ended.
  std::int64_t start_of(long job_index) {
    return std::max(jobs[job_index].round_sent_ns, jobs[job_index - 1].last_end_ns);
  }
  JobTiming timing(long job_index) {
    const Job& job = jobs[job_index];
    const std::int64_t begin = start_of(job_index);
    JobTiming t;
    t.wall = seconds(job.last_arrival_ns - begin);
    t.start_latency = seconds(std::max<std::int64_t>(0, job.last_start_ns - begin));
    t.run = seconds(job.run_ns);
    t.completion = seconds(std::max<std::int64_t>(0, job.last_arrival_ns - job.last_end_ns));
    t.fetch = seconds(job.fetch_ns);
    t.compute = seconds(job.compute_ns);
    t.put = seconds(job.put_ns);
    return t;
  }
  // Iteration i's two jobs on the driver's timeline, from when each could start until
  // its last report arrived.
  void trace_jobs(long i) {
    if (!trace::enabled()) return;
    trace::set_iteration(i);
    trace::record("job 1 forward-backward", "job", trace::time_at(start_of(2 * i + 1)),
                  trace::time_at(jobs[2 * i + 1].last_arrival_ns));
    trace::record("job 2 parameter-sync", "job", trace::time_at(start_of(2 * i + 2)),
                  trace::time_at(jobs[2 * i + 2].last_arrival_ns));
  }
  IterationTiming iteration(long i) {
    IterationTiming t;
    t.iteration = i;
    const long job1 = 2 * i + 1, job2 = 2 * i + 2;
    if (previous_end_ns == 0) previous_end_ns = std::max(jobs[job1].round_sent_ns, jobs[job1 - 1].last_end_ns);
    t.seconds = seconds(jobs[job2].last_arrival_ns - previous_end_ns);
    previous_end_ns = jobs[job2].last_arrival_ns;
    t.launch = launch[i];
    t.job1 = timing(job1);
    t.job2 = timing(job2);
    t.scheduling = std::max(0.0, t.seconds - t.job1.run - t.job2.run);
    t.loss = jobs[job1].losses ? jobs[job1].loss / jobs[job1].losses : 0;
    t.time_limit = seconds(jobs[job1].time_limit_ns);
    t.dropped.assign(jobs[job1].dropped.begin(), jobs[job1].dropped.end());
    t.replicas = jobs[job2].replicas;
    jobs.erase(jobs.begin(), jobs.upper_bound(job1 - 1));  // keep job2: job 1 of i+1 starts after it
    launch.erase(i);
    return t;
  }
};

Driver::Driver(net::Mesh& mesh, const DriverOptions& options)
    : mesh_(mesh),
      options_(options),
      scheduler_({options.executors, options.iterations, options.group, options.max_attempts}) {
  if (mesh.size() != options.executors + 1 || mesh.rank() != options.executors)
    throw std::invalid_argument("the task driver is the last rank, after " + std::to_string(options.executors) +
                                " executors");
  reports_ = std::make_unique<Reports>(mesh, options.executors);
}

Driver::~Driver() {
  if (!finished_) {
    try {
      finish(RoundMessage::End::kAbort);
    } catch (...) {
    }
  }
}

void Driver::send_round(const Round& round) {
  std::vector<std::vector<std::uint64_t>> bodies;
  std::vector<std::uint64_t> sizes;
  bodies.reserve(round.tasks.size());
  sizes.reserve(round.tasks.size());
  std::vector<net::Request> sends;
  for (const auto& [executor, list] : round.tasks) {
    RoundMessage message{round.number, round.evict_below, RoundMessage::End::kNo, list};
    bodies.push_back(message.encode());
    sizes.push_back(bodies.back().size());
    sends.push_back(mesh_.send(executor, kRoundSizeTag, std::span<const std::uint64_t>(&sizes.back(), 1)));
    sends.push_back(mesh_.send(executor, kRoundTag, std::span<const std::uint64_t>(bodies.back())));
  }
  for (auto& send : sends) {
    try {
      send.wait();
    } catch (const std::exception&) {
      // The executor is gone; its report thread tells the loop.
    }
  }
}

// What one run of the driver keeps between rounds.
struct Driver::RunState {
  RunState(const DriverOptions& options)
      : threshold(options.drop, options.executors), min_replicas(options.drop.min_replicas(options.executors)) {}
  Progress progress;
  long emitted = 0;                          // iterations handed to on_iteration
  std::vector<std::int64_t> losses_pending;  // detection times of losses not yet recovered
  DropThreshold threshold;
  int min_replicas;
  std::map<int, std::size_t> remaining;  // of this round, per executor
  std::size_t outstanding() const {
    std::size_t n = 0;
    for (const auto& [executor, count] : remaining) n += count;
    return n;
  }
};

std::vector<float> Driver::run(const std::function<void(const IterationTiming&)>& on_iteration) {
  RunState state(options_);
  while (!scheduler_.finished()) {
    start_round(state);
    while (state.outstanding() > 0) {
      const ReportEvent event = next_report(state);
      handle_report(event, state);
      emit_iterations(event.arrival_ns, state, on_iteration);
    }
  }
  std::vector<float> weights = final_weights();
  finish(RoundMessage::End::kStop);
  return weights;
}

// Schedules the next round, with the straggler threshold as forward-backward's limit.
void Driver::start_round(RunState& state) {
  Round round = scheduler_.next_round();
  for (auto& [executor, list] : round.tasks)
    for (auto& task : list)
      if (task.key.kind == TaskKind::kForwardBackward) task.time_limit_ns = state.threshold.limit_ns();
  const std::int64_t sent = steady_now_ns();
  send_round(round);
  if (trace::enabled()) {  // in the round's first iteration
    long first = LONG_MAX;
    for (const auto& [executor, list] : round.tasks)
      for (const auto& task : list) first = std::min(first, task.key.iteration);
    trace::set_iteration(first);
    trace::record("launch round", "job", trace::time_at(sent), trace::Clock::now());
  }
  state.progress.sent(round, sent, seconds(steady_now_ns() - sent));
  ++stats_.rounds;
  stats_.tasks += static_cast<long>(round.size());
  state.remaining.clear();
  for (const auto& [executor, list] : round.tasks) state.remaining[executor] = list.size();
}

Driver::ReportEvent Driver::next_report(const RunState& state) {
  auto event = reports_->pop(options_.report_timeout);
  if (event) return std::move(*event);
  std::string waiting;
  for (const auto& [executor, count] : state.remaining)
    if (count) waiting += (waiting.empty() ? "" : ", ") + std::to_string(executor);
  throw std::runtime_error("no task report for " + std::to_string(options_.report_timeout.count() / 1000) +
                           " s from executor(s) " + waiting);
}

// A lost executor's tasks move to the survivors; a report moves its task on.
void Driver::handle_report(const ReportEvent& event, RunState& state) {
  const int e = event.executor;
  if (event.lost || event.report.status == TaskStatus::kGoodbye) {
    if (!scheduler_.is_alive(e)) return;  // its loss is known already
    log_line("driver: executor " + std::to_string(e) + " lost (" + event.error + "); moving its tasks to the " +
             std::to_string(scheduler_.alive().size() - 1) + " survivors");
    scheduler_.executor_lost(e);
    state.remaining[e] = 0;
    ++stats_.executors_lost;
    state.losses_pending.push_back(event.arrival_ns);
    return;
  }
  if (!scheduler_.is_alive(e)) return;
  --state.remaining[e];
  const TaskReport& r = event.report;
  switch (r.status) {
    case TaskStatus::kDone:
    case TaskStatus::kDropped:
      scheduler_.completed(r.key);
      state.progress.done(r, event.arrival_ns);
      if (r.key.kind != TaskKind::kForwardBackward) break;
      if (r.status == TaskStatus::kDropped) {
        ++stats_.dropped_tasks;
        state.threshold.dropped(r.key.iteration);
      } else {
        state.threshold.finished(r.key.iteration, r.compute_ns);
      }
      break;
    case TaskStatus::kFailed:
      ++stats_.failed_tasks;
      log_line("driver: " + r.key.describe() + " failed on executor " + std::to_string(e) + ": " + r.message +
               "; it runs again");
      scheduler_.failed(r.key, r.message);
      break;
    default:
      scheduler_.skipped(r.key);
  }
}

// Every iteration completed since the last call, in order: its timing, whether too few
// replicas made it (discarded), the recovery time of losses before it.
void Driver::emit_iterations(std::int64_t now_ns, RunState& state,
                             const std::function<void(const IterationTiming&)>& on_iteration) {
  while (state.emitted < scheduler_.iterations_done()) {
    state.progress.trace_jobs(state.emitted);
    IterationTiming timing = state.progress.iteration(state.emitted++);
    timing.discarded = timing.replicas < state.min_replicas;
    if (timing.discarded) {
      ++stats_.discarded_iterations;
      log_line("driver: iteration " + std::to_string(timing.iteration) + " discarded: only " +
               std::to_string(timing.replicas) + " of " + std::to_string(options_.executors) +
               " forward-backward tasks finished within the straggler threshold");
    }
    state.threshold.iteration_done(timing.iteration);
    for (std::int64_t detected : state.losses_pending) stats_.recovery_seconds.push_back(seconds(now_ns - detected));
    state.losses_pending.clear();
    if (on_iteration) on_iteration(timing);
  }
}

// The final weights, from wherever each shard's last copy lives.
std::vector<float> Driver::final_weights() {
  std::vector<float> weights(options_.parameters);
  std::vector<Fetch> fetches;
  for (int j = 0; j < options_.executors; ++j) {
    const ShardRange shard = shard_range(options_.parameters, options_.executors, j);
    fetches.push_back({scheduler_.weights_location(options_.iterations, j), BlockId::weights(options_.iterations, j),
                       std::as_writable_bytes(std::span<float>(weights.data() + shard.begin, shard.size))});
  }
  BlockClient(mesh_, nullptr, options_.wait_for_block).fetch(fetches);
  return weights;
}

// Ends every live executor's loop, collects their goodbyes, and releases their block
// services.
void Driver::finish(RoundMessage::End end) {
  finished_ = true;
  const std::vector<int> alive = scheduler_.alive();
  std::vector<std::uint64_t> body = RoundMessage{0, 0, end, {}}.encode();
  const std::uint64_t size = body.size();
  for (int e : alive) {
    try {
      mesh_.send(e, kRoundSizeTag, std::span<const std::uint64_t>(&size, 1)).wait();
      mesh_.send(e, kRoundTag, std::span<const std::uint64_t>(body)).wait();
    } catch (const std::exception&) {
    }
  }
  BlockClient(mesh_, nullptr, options_.wait_for_block).stop(alive);
  // Every report thread ends with its executor's goodbye or loss.
  for (auto& thread : reports_->threads) thread.join();
  reports_->threads.clear();
  while (auto event = reports_->pop(std::chrono::milliseconds(0))) {
    if (event->report.status != TaskStatus::kGoodbye) continue;
    stats_.peak_store_bytes =
        std::max(stats_.peak_store_bytes, static_cast<std::size_t>(event->report.peak_store_bytes));
  }
}

}  // namespace syncbed::sync::tasks
