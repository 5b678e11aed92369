// The all-pairs exchange of mesh_test with 28 MiB messages: every rank a thread of this
// process, so at 8-9 ranks it uses every core (a separate binary, so it can run alone).
#include <gtest/gtest.h>

#include "tests/core/mesh_exchange.h"
#include "tests/mesh_harness.h"

namespace syncbed::testing {
namespace {

class MeshLargeExchange : public ::testing::TestWithParam<int> {};

TEST_P(MeshLargeExchange, EveryPairExchangesVerifiedPayloads) {
  run_ranks(GetParam(), [](net::Mesh& mesh) { exchange_with_every_peer(mesh, std::size_t{28} << 20); });
}

INSTANTIATE_TEST_SUITE_P(Worlds, MeshLargeExchange, ::testing::Range(1, 10),
                         [](const auto& info) { return "world" + std::to_string(info.param) + "_bytes29360128"; });

}  // namespace
}  // namespace syncbed::testing
