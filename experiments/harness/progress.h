// The live progress line of a sweep: follows rank 0's record file as it grows and shows
// run i/k, iteration, items/s and an ETA for the whole sweep. On a terminal the line is
// rewritten in place; otherwise a line is printed every 10 seconds.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace syncbed::experiments {

// Reads the complete lines appended to a file since the last call.
class RecordTail {
 public:
  explicit RecordTail(std::string path) : path_(std::move(path)) {}
  std::vector<nlohmann::json> read_new();

 private:
  std::string path_;
  long offset_ = 0;
  std::string partial_;
};

class SweepProgress {
 public:
  SweepProgress(int runs, std::FILE* out);
  // A run starts: `iterations` per worker count, items per iteration.
  void start_run(int index, const std::string& title, long iterations, long items_per_iteration,
                 const std::string& unit);
  void update(const std::vector<nlohmann::json>& new_records);
  void finish_run();  // clears the line before the run's result is printed
  void clear_line();  // before printing something else mid-run
  // The run starts again (attempt 2, ...) after `done` iterations, from a checkpoint.
  void restart(int attempt, long done);

 private:
  void draw();

  int runs_;
  std::FILE* out_;
  bool terminal_;
  Stopwatch since_draw_, run_clock_;
  double finished_seconds_ = 0;  // wall time of the runs done
  int finished_runs_ = 0;
  int index_ = 0;
  std::string title_, unit_;
  long iterations_ = 0, items_per_iteration_ = 0, done_ = 0;
  double recent_items_ = 0, recent_seconds_ = 0;
  std::string last_event_;
};

}  // namespace syncbed::experiments
