#include "experiments/harness/checkpoint.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/hash.h"
#include "core/log.h"

namespace syncbed::experiments {
namespace fs = std::filesystem;
namespace {

// Layout: magic, step, weight count, state bytes, weights, state, FNV-1a of all before.
constexpr char kMagic[8] = {'S', 'B', 'C', 'K', 'P', 'T', '0', '1'};

void append(std::string& out, const void* data, std::size_t size) { out.append(static_cast<const char*>(data), size); }

std::uint64_t word_at(const std::string& bytes, std::size_t offset) {
  std::uint64_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// Rank and step of a checkpoint file name, if it is one of ours; a foreign name (or
// numbers out of range, like rank99999999999) is not.
bool parse_name(const std::string& name, int& rank, long& step) {
  static const std::regex pattern(R"(rank(\d{1,9})-step(\d{1,18})\.ckpt)");
  std::smatch m;
  if (!std::regex_match(name, m, pattern)) return false;
  rank = std::stoi(m[1]);
  step = std::stol(m[2]);
  return true;
}

}  // namespace

CheckpointDir::CheckpointDir(std::string dir, int rank) : dir_(std::move(dir)), rank_(rank) {
  fs::create_directories(dir_);
}

std::string CheckpointDir::path(long step) const {
  return dir_ + "/rank" + std::to_string(rank_) + "-step" + std::to_string(step) + ".ckpt";
}

void CheckpointDir::save(long step, std::span<const float> weights, std::span<const std::byte> state) {
  std::string bytes;
  bytes.reserve(48 + weights.size_bytes() + state.size());
  append(bytes, kMagic, sizeof kMagic);
  const std::uint64_t header[3] = {static_cast<std::uint64_t>(step), weights.size(), state.size()};
  append(bytes, header, sizeof header);
  append(bytes, weights.data(), weights.size_bytes());
  append(bytes, state.data(), state.size());
  const std::uint64_t checksum = fnv1a64(std::as_bytes(std::span(bytes.data(), bytes.size())));
  append(bytes, &checksum, sizeof checksum);
  write_file_atomically(path(step), bytes);

  // Keep the two newest of this rank's checkpoints.
  std::set<long> steps;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    int rank;
    long s;
    if (parse_name(entry.path().filename().string(), rank, s) && rank == rank_) steps.insert(s);
  }
  while (steps.size() > 2) {
    fs::remove(path(*steps.begin()));
    steps.erase(steps.begin());
  }
}

Checkpoint CheckpointDir::load(long step) const {
  const std::string file = path(step);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("checkpoint " + file + " is missing");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto damaged = [&](const std::string& why) {
    return std::runtime_error("checkpoint " + file + " is damaged: " + why);
  };
  constexpr std::size_t kHeader = sizeof kMagic + 3 * sizeof(std::uint64_t);
  if (bytes.size() < kHeader + sizeof(std::uint64_t) || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw damaged("not a syncbed checkpoint");
  const std::uint64_t weights = word_at(bytes, sizeof kMagic + 8), state = word_at(bytes, sizeof kMagic + 16);
  if (weights > bytes.size() / sizeof(float) || state > bytes.size() ||
      kHeader + weights * sizeof(float) + state + sizeof(std::uint64_t) != bytes.size())
    throw damaged(std::to_string(bytes.size()) + " bytes do not match its header");
  const std::size_t body = bytes.size() - sizeof(std::uint64_t);
  if (fnv1a64(std::as_bytes(std::span(bytes.data(), body))) != word_at(bytes, body)) throw damaged("checksum mismatch");
  if (static_cast<long>(word_at(bytes, sizeof kMagic)) != step) throw damaged("it holds another step");

  Checkpoint c;
  c.step = step;
  c.weights.resize(weights);
  c.state.resize(state);
  if (weights) std::memcpy(c.weights.data(), bytes.data() + kHeader, weights * sizeof(float));
  if (state) std::memcpy(c.state.data(), bytes.data() + kHeader + weights * sizeof(float), state);
  return c;
}

long CheckpointDir::newest_complete(const std::string& dir, int ranks) {
  std::map<long, std::set<int>> holders;  // step -> ranks with a file of it
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    int rank;
    long step;
    if (parse_name(entry.path().filename().string(), rank, step) && rank < ranks) holders[step].insert(rank);
  }
  for (auto it = holders.rbegin(); it != holders.rend(); ++it) {
    if (static_cast<int>(it->second.size()) != ranks) continue;
    // Every rank's file must also be whole: a damaged one means the step before it.
    bool valid = true;
    for (int rank = 0; rank < ranks && valid; ++rank) {
      try {
        CheckpointDir(dir, rank).load(it->first);
      } catch (const std::runtime_error& e) {
        log_line(std::string(e.what()) + "; falling back to an earlier checkpoint");
        valid = false;
      }
    }
    if (valid) return it->first;
  }
  return 0;
}

void CheckpointDir::discard_after(const std::string& dir, long step) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    int rank;
    long s;
    if (parse_name(entry.path().filename().string(), rank, s) && s > step) fs::remove(entry.path());
  }
}

}  // namespace syncbed::experiments
