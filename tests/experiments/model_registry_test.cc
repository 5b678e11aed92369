// Every registered model: a consistent registry row, a config of its defaults that
// parses, and a workload whose buffers match. A model added to the registry is covered
// here without being named.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "experiments/workloads/registry.h"

namespace {

using namespace syncbed::experiments;
using syncbed::ConfigError;
using syncbed::ConfigNode;

class EveryModel : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryModel, RowIsConsistent) {
  const ModelEntry& entry = find_model(GetParam());
  EXPECT_FALSE(entry.data_kinds.empty());
  for (const auto& kind : entry.ranked_kinds)
    EXPECT_NE(std::find(entry.data_kinds.begin(), entry.data_kinds.end(), kind), entry.data_kinds.end()) << kind;
  EXPECT_GE(entry.max_batch, entry.default_batch);
  EXPECT_GT(entry.default_batch, 0);
  EXPECT_FALSE(entry.item_unit.empty());
  EXPECT_TRUE(entry.parse && entry.make && entry.bench && entry.train);
}

TEST_P(EveryModel, ItsDefaultsParseAndBuildAModelOnlyWorkload) {
  const ModelEntry& entry = find_model(GetParam());
  const nlohmann::json model = {{"name", entry.name}}, data = entry.data_kinds.front();
  WorkloadSpec spec;
  parse_model_and_data(ConfigNode(model, "model"), ConfigNode(data, "data"), spec.model, spec.data);
  EXPECT_EQ(spec.model.batch, entry.default_batch);
  EXPECT_EQ(spec.data.kind, entry.data_kinds.front());
  const auto workload = entry.make(spec, 0, 2, false);
  EXPECT_GT(workload->weights().size(), 0u);
  EXPECT_EQ(workload->gradients().size(), workload->weights().size());
  EXPECT_EQ(workload->item_unit(), entry.item_unit);
}

TEST_P(EveryModel, DataOfAnotherModelIsRefusedNamingTheKnownKinds) {
  const ModelEntry& entry = find_model(GetParam());
  const nlohmann::json model = {{"name", entry.name}}, data = "no-such-data";
  ModelSpec model_spec;
  DataSpec data_spec;
  try {
    parse_model_and_data(ConfigNode(model, "model"), ConfigNode(data, "data"), model_spec, data_spec);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(entry.data_kinds.front()), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryModel, ::testing::ValuesIn(model_names()));

TEST(ModelRegistry, AnUnknownModelIsRefusedNamingTheKnownOnes) {
  try {
    find_model("resnet50");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    for (const auto& name : model_names()) EXPECT_NE(std::string(e.what()).find(name), std::string::npos);
  }
}

}  // namespace
