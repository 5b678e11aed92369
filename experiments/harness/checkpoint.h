// Checkpoints of a long-running run (config "checkpoint_every"), for `syncbed run` to
// restart a failed run where it left off. Every rank writes its own file per checkpoint,
// DIR/rank<r>-step<s>.ckpt: the weights after step s (workers) and the strategy's state on
// that rank (sync/parameter_sync.h). A file is written under a temporary name, renamed
// and checksummed, so a rank killed while writing leaves no file that passes for whole.
// A rank keeps its two newest: ranks are never more than one checkpoint apart (each
// step needs every rank), so the newest checkpoint that every rank has is still there.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace syncbed::experiments {

struct Checkpoint {
  long step = 0;  // iterations completed
  std::vector<float> weights;
  std::vector<std::byte> state;
};

class CheckpointDir {
 public:
  CheckpointDir(std::string dir, int rank);
  void save(long step, std::span<const float> weights, std::span<const std::byte> state);
  // Throws, naming the file, if it is missing, damaged or of another step.
  Checkpoint load(long step) const;

  // The newest step of which ranks 0..ranks-1 all have a checkpoint; 0 if none (start over).
  static long newest_complete(const std::string& dir, int ranks);
  // Removes every rank's checkpoints after `step`, before a restart from it: a failed
  // attempt's newer files must not mix with the ones the next attempt writes.
  static void discard_after(const std::string& dir, long step);

 private:
  std::string path(long step) const;
  std::string dir_;
  int rank_;
};

}  // namespace syncbed::experiments
