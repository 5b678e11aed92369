#include "experiments/harness/progress.h"

#include <unistd.h>

#include <fstream>

#include "experiments/harness/records.h"

namespace syncbed::experiments {
namespace {

std::string duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

}  // namespace

std::vector<nlohmann::json> RecordTail::read_new() {
  std::vector<nlohmann::json> records;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return records;
  in.seekg(offset_);
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  offset_ += static_cast<long>(chunk.size());
  partial_ += chunk;
  std::size_t start = 0;
  for (std::size_t end; (end = partial_.find('\n', start)) != std::string::npos; start = end + 1) {
    auto record = nlohmann::json::parse(partial_.substr(start, end - start), nullptr, false);
    if (!record.is_discarded()) records.push_back(std::move(record));
  }
  partial_.erase(0, start);
  return records;
}

SweepProgress::SweepProgress(int runs, std::FILE* out) : runs_(runs), out_(out), terminal_(isatty(fileno(out))) {}

void SweepProgress::start_run(int index, const std::string& title, long iterations, long items_per_iteration,
                              const std::string& unit) {
  unit_ = unit;
  index_ = index;
  title_ = title;
  iterations_ = iterations;
  items_per_iteration_ = items_per_iteration;
  done_ = 0;
  recent_items_ = recent_seconds_ = 0;
  last_event_ = "starting workers";
  run_clock_.lap();
  draw();
}

void SweepProgress::update(const std::vector<nlohmann::json>& new_records) {
  for (const auto& r : new_records) {
    const RecordKind kind = kind_of(r);
    if (kind == RecordKind::kStart) {
      iterations_ = StartRecord::from_json(r).iterations;
      last_event_.clear();
    } else if (kind == RecordKind::kEvaluation) {
      const auto evaluation = EvaluationRecord::from_json(r);
      char text[96];
      std::snprintf(text, sizeof text, "epoch %d HR@10 %.4f", evaluation.epoch, evaluation.hit_rate);
      last_event_ = text;
    } else if (kind == RecordKind::kIteration) {
      ++done_;
      last_event_.clear();
      // items/s over the recent iterations (exponentially weighted)
      recent_items_ = 0.8 * recent_items_ + items_per_iteration_;
      recent_seconds_ = 0.8 * recent_seconds_ + IterationRecord::from_json(r).seconds;
    }
  }
  if (since_draw_.elapsed() >= (terminal_ ? 0.2 : 10.0)) draw();
}

void SweepProgress::draw() {
  since_draw_.lap();
  const double elapsed = run_clock_.elapsed();
  std::string eta = "?";
  if (done_ > 0 && iterations_ > 0) {
    const double this_run = elapsed / done_ * iterations_;
    const double per_run = finished_runs_ ? finished_seconds_ / finished_runs_ : this_run;
    eta = duration(this_run - elapsed + per_run * (runs_ - index_));
  }
  const std::string total = iterations_ > 0 ? std::to_string(iterations_) : "?";
  char line[256];
  std::snprintf(line, sizeof line, "[run %d/%d] %s: iteration %ld/%s, %.1f %s/s, ETA %s%s%s", index_, runs_,
                title_.c_str(), done_, total.c_str(), recent_seconds_ > 0 ? recent_items_ / recent_seconds_ : 0.0,
                unit_.c_str(), eta.c_str(), last_event_.empty() ? "" : ", ", last_event_.c_str());
  if (terminal_)
    std::fprintf(out_, "\r\033[K%s", line);
  else
    std::fprintf(out_, "%s\n", line);
  std::fflush(out_);
}

void SweepProgress::finish_run() {
  finished_seconds_ += run_clock_.elapsed();
  ++finished_runs_;
  clear_line();
}

void SweepProgress::clear_line() {
  if (terminal_) std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
}

void SweepProgress::restart(int attempt, long done) {
  done_ = done;
  recent_items_ = recent_seconds_ = 0;
  last_event_ = "attempt " + std::to_string(attempt) + ", resumed after iteration " + std::to_string(done);
  draw();
}

}  // namespace syncbed::experiments
