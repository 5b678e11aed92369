#include "experiments/harness/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace syncbed::experiments {
namespace {

namespace fs = std::filesystem;

class Checkpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("syncbed_checkpoint_test_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::byte> state_of(long step) {
    std::vector<std::byte> state(13 + step);
    for (std::size_t i = 0; i < state.size(); ++i) state[i] = std::byte(i * 7 + step);
    return state;
  }
  std::string file(int rank, long step) const {
    return dir_ + "/rank" + std::to_string(rank) + "-step" + std::to_string(step) + ".ckpt";
  }
  std::string load_error(const CheckpointDir& dir, long step) const {
    try {
      dir.load(step);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "loaded";
  }

  std::string dir_;
};

TEST_F(Checkpoints, RoundTripWeightsAndStateAndKeepTheTwoNewest) {
  CheckpointDir rank1(dir_, 1);
  const std::vector<float> weights{1.5f, -2.25f, 3e-7f};
  for (long step : {3, 6, 9}) rank1.save(step, weights, state_of(step));
  const Checkpoint c = rank1.load(9);
  EXPECT_EQ(c.step, 9);
  EXPECT_EQ(c.weights, weights);
  EXPECT_EQ(c.state, state_of(9));
  EXPECT_EQ(rank1.load(6).state, state_of(6));
  EXPECT_FALSE(fs::exists(file(1, 3)));  // older than the two newest
  EXPECT_EQ(load_error(rank1, 3), "checkpoint " + file(1, 3) + " is missing");
  // A server's checkpoint holds no weights.
  CheckpointDir server(dir_, 4);
  server.save(6, {}, state_of(1));
  EXPECT_TRUE(server.load(6).weights.empty());
}

TEST_F(Checkpoints, TheNewestCompleteStepIsOneEveryRankHas) {
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 3), 0);  // no directory yet: start over
  std::vector<CheckpointDir> ranks;
  for (int r = 0; r < 3; ++r) ranks.emplace_back(dir_, r);
  for (int r = 0; r < 3; ++r) ranks[r].save(3, {}, state_of(3));
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 3), 3);
  ranks[0].save(6, {}, state_of(6));
  ranks[2].save(6, {}, state_of(6));  // rank 1 died before writing step 6
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 3), 3);
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 1), 6);
  std::ofstream(dir_ + "/rank1-step6.ckpt.tmp.123") << "half";  // a write cut short is not a checkpoint
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 3), 3);
  // Before a restart from step 3, the failed attempt's step 6 goes.
  CheckpointDir::discard_after(dir_, 3);
  EXPECT_FALSE(fs::exists(file(0, 6)));
  EXPECT_FALSE(fs::exists(file(2, 6)));
  EXPECT_TRUE(fs::exists(file(0, 3)));
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 1), 3);
}

// A damaged newest checkpoint sends the restart to the one before it, which every rank
// still has, instead of failing on the damaged one until the restarts run out.
TEST_F(Checkpoints, ADamagedNewestFallsBackToTheNewestValidOne) {
  std::vector<CheckpointDir> ranks;
  for (int r = 0; r < 2; ++r) ranks.emplace_back(dir_, r);
  for (long step : {3, 6})
    for (auto& rank : ranks) rank.save(step, std::vector<float>(10, float(step)), state_of(step));
  fs::resize_file(file(1, 6), fs::file_size(file(1, 6)) - 1);
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 2), 3);
  fs::resize_file(file(0, 3), 10);
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 2), 0);  // nothing whole: start over
}

// A file that only looks like ours (its numbers out of range) is passed over, not a crash.
TEST_F(Checkpoints, ForeignNamesArePassedOver) {
  CheckpointDir rank0(dir_, 0);
  rank0.save(2, {}, state_of(2));
  for (const char* name : {"rank99999999999-step20.ckpt", "rank0-step99999999999999999999999.ckpt", "notes.txt"})
    std::ofstream(dir_ + "/" + name) << "x";
  EXPECT_EQ(CheckpointDir::newest_complete(dir_, 1), 2);
  EXPECT_NO_THROW(rank0.save(4, {}, state_of(4)));
  EXPECT_NO_THROW(CheckpointDir::discard_after(dir_, 2));
  EXPECT_TRUE(fs::exists(dir_ + "/rank99999999999-step20.ckpt"));
}

TEST_F(Checkpoints, ADamagedFileIsRefusedNamingIt) {
  CheckpointDir rank0(dir_, 0);
  rank0.save(4, std::vector<float>(100, 1.0f), state_of(4));
  const std::string path = file(0, 4);
  const auto size = fs::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x55');
  }
  EXPECT_EQ(load_error(rank0, 4), "checkpoint " + path + " is damaged: checksum mismatch");
  fs::resize_file(path, size - 1);
  EXPECT_EQ(load_error(rank0, 4),
            "checkpoint " + path + " is damaged: " + std::to_string(size - 1) + " bytes do not match its header");
  std::ofstream(path) << "not a checkpoint at all, but long enough to have a header";
  EXPECT_EQ(load_error(rank0, 4), "checkpoint " + path + " is damaged: not a syncbed checkpoint");
  rank0.save(5, {}, state_of(5));
  fs::rename(file(0, 5), file(0, 8));
  EXPECT_EQ(load_error(rank0, 8), "checkpoint " + file(0, 8) + " is damaged: it holds another step");
}

}  // namespace
}  // namespace syncbed::experiments
