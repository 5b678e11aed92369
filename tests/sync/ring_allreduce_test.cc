#include "sync/ring/ring_allreduce.h"

#include <gtest/gtest.h>

#include "tests/mesh_harness.h"

namespace syncbed::sync {
namespace {

// Small integers: every partial sum is exact in fp32, whatever the order of addition.
float input(int rank, std::size_t i) { return static_cast<float>((rank + 1) * 3 + static_cast<int>(i % 997)); }

void check_allreduce(int world, std::size_t elements, std::size_t segment_bytes) {
  testing::run_ranks(world, [&](net::Mesh& mesh) {
    RingAllreduce ring(mesh, elements, {segment_bytes});
    AlignedBuffer<float> data(elements);
    for (int round = 0; round < 2; ++round) {  // the second round reuses all buffers
      for (std::size_t i = 0; i < elements; ++i) data[i] = input(mesh.rank(), i) + round;
      ring.sum(data.span());
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < elements; ++i) {
        float expected = 0;
        for (int r = 0; r < world; ++r) expected += input(r, i) + round;
        wrong += data[i] != expected;
      }
      ASSERT_EQ(wrong, 0u) << "rank " << mesh.rank() << " round " << round;
    }
  });
}

class RingAllreduceTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

// Element counts 0, 1, N-1, N+1 and a prime, with 64-byte segments so chunks span many
// pipelined segments.
TEST_P(RingAllreduceTest, SumsExactlyOnEveryRank) {
  const auto [world, which] = GetParam();
  const std::size_t counts[] = {0, 1, static_cast<std::size_t>(world - 1), static_cast<std::size_t>(world + 1), 7919};
  check_allreduce(world, counts[which], 64);
}

INSTANTIATE_TEST_SUITE_P(WorldsAndCounts, RingAllreduceTest,
                         ::testing::Combine(::testing::Range(1, 10), ::testing::Range(0, 5)));

TEST(RingAllreduce, InceptionSizedVectorWithDefaultSegments) { check_allreduce(4, 6'998'552, 1 << 20); }

TEST(RingAllreduce, RefusesVectorsLargerThanItWasSizedFor) {
  testing::run_ranks(1, [](net::Mesh& mesh) {
    RingAllreduce ring(mesh, 10);
    AlignedBuffer<float> data(11);
    EXPECT_THROW(ring.sum(data.span()), std::invalid_argument);
  });
}

}  // namespace
}  // namespace syncbed::sync
