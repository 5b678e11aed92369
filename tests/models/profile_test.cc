// The per-kind sums `bench-model --profile --json` writes: each kind's layers over all
// phases, per step, and what no layer accounts for.
#include <gtest/gtest.h>

#include "models/profile.h"

namespace {

using syncbed::models::Phase;
using syncbed::models::Profile;

TEST(Profile, KindsSumTheirLayersPerStepAndTheRestIsNotInAnyLayer) {
  Profile profile;
  EXPECT_TRUE(profile.kind_ms_per_step().empty());  // no steps yet
  profile.add("conv1", "convolution", Phase::kForward, 0.010);
  profile.add("conv1", "convolution", Phase::kBackward, 0.030);
  profile.add("conv2", "convolution", Phase::kForward, 0.020);
  profile.add("pool1", "pooling", Phase::kForward, 0.004);
  profile.add("sgd", "optimizer", Phase::kUpdate, 0.006);
  profile.add_total(0.080, 2);
  const auto ms = profile.kind_ms_per_step();
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_NEAR(ms.at("convolution"), 30.0, 1e-9);
  EXPECT_NEAR(ms.at("pooling"), 2.0, 1e-9);
  EXPECT_NEAR(ms.at("optimizer"), 3.0, 1e-9);
  EXPECT_NEAR(ms.at("(not in any layer)"), 5.0, 1e-9);
}

}  // namespace
