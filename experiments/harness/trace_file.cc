#include "experiments/harness/trace_file.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/atomic_file.h"
#include "core/trace.h"

namespace syncbed::experiments {

std::string rank_trace_path(const std::string& run_dir, int rank) {
  return run_dir + "/trace-rank-" + std::to_string(rank) + ".json";
}

void write_rank_trace(const std::string& run_dir, int rank, const ClockOffset& offset, const TracedRun& run,
                      const std::string& process) {
  const nlohmann::json file{{"rank", rank},
                            {"offset_ns", offset.offset_ns},
                            {"offset_error_ns", offset.error_ns},
                            {"title", run.title},
                            {"ranks", run.ranks},
                            {"warmup", run.warmup},
                            {"events", trace::chrome_events(trace::events(), trace::thread_names(), rank, process,
                                                            offset.offset_ns, trace::messages())}};
  write_file_atomically(rank_trace_path(run_dir, rank), file.dump() + "\n");
}

namespace {

nlohmann::json read_rank_trace(const std::string& run_dir, int rank) {
  const std::string path = rank_trace_path(run_dir, rank);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("trace: rank " + std::to_string(rank) + " wrote no " + path);
  nlohmann::json file = nlohmann::json::parse(in, nullptr, false);
  if (!file.is_object() || !file.contains("events") || !file.contains("ranks"))
    throw std::runtime_error("trace: " + path + " is not a syncbed rank trace");
  return file;
}

}  // namespace

void merge_rank_traces(const std::string& run_dir, nlohmann::json& trace) {
  const nlohmann::json first = read_rank_trace(run_dir, 0);
  const std::string title = first.value("title", run_dir);
  const int ranks = first.at("ranks").get<int>();
  const long warmup = first.value("warmup", 0L);
  if (!trace.contains("traceEvents"))
    trace = {{"traceEvents", nlohmann::json::array()},
             {"displayTimeUnit", "ms"},
             {"syncbed", {{"runs", nlohmann::json::array()}}}};
  // Pids go on from the largest so far: runs never share a process row.
  int next_pid = 1;
  for (const auto& event : trace["traceEvents"]) next_pid = std::max(next_pid, event.value("pid", 0) + 1);
  nlohmann::json offsets = nlohmann::json::array();
  for (int rank = 0; rank < ranks; ++rank) {
    const nlohmann::json file = rank == 0 ? first : read_rank_trace(run_dir, rank);
    const int pid = next_pid + rank;
    const std::string run_prefix = "run" + std::to_string(trace["syncbed"]["runs"].size()) + ".";
    for (nlohmann::json event : file.at("events")) {
      event["pid"] = pid;
      // Message ids (async slices, flow arrows) repeat from run to run: keep runs apart.
      if (event.contains("id")) event["id"] = run_prefix + event["id"].get<std::string>();
      if (event["ph"] == "M" && event["name"] == "process_name")
        event["args"]["name"] = title + ": " + event["args"]["name"].get<std::string>();
      trace["traceEvents"].push_back(std::move(event));
    }
    offsets.push_back({{"rank", rank},
                       {"pid", pid},
                       {"offset_ns", file.at("offset_ns")},
                       {"offset_error_ns", file.at("offset_error_ns")}});
  }
  trace["syncbed"]["runs"].push_back({{"title", title}, {"warmup", warmup}, {"ranks", offsets}});
}

namespace {

// run-2 before run-10: names compared with their trailing numbers as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  const auto split = [](const std::string& name) {
    const std::size_t digits = name.find_last_not_of("0123456789") + 1;
    const std::string number = name.substr(digits);
    return std::make_pair(name.substr(0, digits), number.empty() || number.size() > 18 ? 0LL : std::stoll(number));
  };
  return split(a) < split(b);
}

bool is_run_dir(const std::filesystem::path& dir) { return std::filesystem::exists(rank_trace_path(dir, 0)); }

}  // namespace

nlohmann::json merge_trace_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::invalid_argument(dir + " is not a directory");
  std::vector<std::string> runs;
  if (is_run_dir(dir)) {
    runs.push_back(dir);
  } else {
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_directory() && is_run_dir(entry.path())) runs.push_back(entry.path().string());
    std::sort(runs.begin(), runs.end(), natural_less);
  }
  if (runs.empty())
    throw std::invalid_argument(dir +
                                " holds no trace-rank-0.json, nor does any directory in it (are every host's "
                                "files copied there?)");
  nlohmann::json trace;
  for (const std::string& run : runs) merge_rank_traces(run, trace);
  return trace;
}

namespace {

constexpr std::size_t kGzipFrom = 4u << 20;

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// A fresh temporary file (mkstemp: nothing already there is opened, not even a FIFO),
// renamed over `path` once complete.
void write_gzip_atomically(const std::string& path, const std::string& text) {
  std::string temporary = path + ".XXXXXX";
  const int fd = mkstemp(temporary.data());
  if (fd < 0) throw std::runtime_error("trace: cannot create a temporary file next to " + path);
  ::fchmod(fd, 0644);  // as the other results, not mkstemp's 0600
  {
    GzFile file(gzdopen(fd, "wb6"));
    if (!file) {
      ::close(fd);
      throw std::runtime_error("trace: cannot write " + temporary);
    }
    if (gzwrite(file.get(), text.data(), static_cast<unsigned>(text.size())) != static_cast<int>(text.size()))
      throw std::runtime_error("trace: writing " + temporary + " failed (disk full?)");
    if (gzclose(file.release()) != Z_OK) throw std::runtime_error("trace: closing " + temporary + " failed");
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace

void write_merged_trace(const std::string& output_dir, const nlohmann::json& trace) {
  const std::string plain = output_dir + "/trace.json", gzipped = plain + ".gz";
  const std::string text = trace.dump() + "\n";
  if (text.size() >= kGzipFrom) {
    write_gzip_atomically(gzipped, text);
    std::filesystem::remove(plain);
  } else {
    write_file_atomically(plain, text);
    std::filesystem::remove(gzipped);
  }
}

void remove_merged_trace(const std::string& output_dir) {
  std::filesystem::remove(output_dir + "/trace.json");
  std::filesystem::remove(output_dir + "/trace.json.gz");
}

nlohmann::json read_merged_trace(const std::string& path) {
  std::string file = path;
  if (std::filesystem::is_directory(path)) {
    file = path + "/trace.json";
    if (!std::filesystem::exists(file)) file += ".gz";
    if (!std::filesystem::exists(file))
      throw std::invalid_argument(path + " has no trace.json (run a config with \"trace\": true first)");
  }
  GzFile in(gzopen(file.c_str(), "rb"));  // reads plain files as they are
  if (!in) throw std::invalid_argument("cannot read " + file);
  std::string text;
  char chunk[1 << 16];
  int got;
  while ((got = gzread(in.get(), chunk, sizeof chunk)) > 0) text.append(chunk, static_cast<std::size_t>(got));
  if (got < 0) throw std::invalid_argument("cannot read " + file + ": not a gzip or text file");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(file + " is not JSON: " + e.what());
  }
}

}  // namespace syncbed::experiments
