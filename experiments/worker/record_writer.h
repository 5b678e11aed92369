// Appends JSON-lines records (one per iteration or evaluation) to the file the launcher
// tails for progress; an empty path writes nothing (every rank but the recording one).
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

class RecordWriter {
 public:
  explicit RecordWriter(const std::string& path) : file_(path.empty() ? nullptr : std::fopen(path.c_str(), "a")) {
    if (!path.empty() && !file_) throw std::runtime_error("cannot open " + path + " for writing");
  }
  ~RecordWriter() {
    if (file_) std::fclose(file_);
  }
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(const nlohmann::json& record) {
    if (!file_) return;
    const std::string line = record.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
      throw std::runtime_error("cannot write an iteration record");
  }

 private:
  std::FILE* file_;
};

}  // namespace syncbed::experiments
