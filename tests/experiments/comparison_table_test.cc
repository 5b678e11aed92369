// The table `syncbed run` and `syncbed compare` print: what it says about efficiency when
// the numbers cannot mean what a reader assumes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "experiments/harness/results.h"

namespace syncbed::experiments {
namespace {

RunSummary run(int workers, double throughput, bool emulated, int threads) {
  RunSummary s;
  s.strategy = s.strategy_name = "ring";
  s.workers = workers;
  s.throughput = throughput;
  s.emulated = emulated;
  s.threads_per_worker = threads;
  s.item_unit = "images";
  s.host = {{"cores", 2}};
  return s;
}

// The row of ring at N = workers (the strategy column is 14 wide, N 4).
std::string row_of(const std::string& table, int workers) {
  char start[32];
  std::snprintf(start, sizeof start, "\n%-14s %4d ", "ring", workers);
  const auto at = table.find(start);
  return at == std::string::npos ? "" : table.substr(at + 1, table.find('\n', at + 1) - at - 1);
}

TEST(ComparisonTable, MarksWorkersThatShareTheHostsCores) {
  const std::string table = comparison_table({run(1, 100, false, 2), run(2, 180, false, 1), run(4, 100, false, 1)});
  EXPECT_NE(row_of(table, 4).find("25.0%*"), std::string::npos) << table;
  EXPECT_EQ(row_of(table, 2).find('*'), std::string::npos) << table;  // 2 workers x 1 thread fit 2 cores
  EXPECT_NE(table.find("* real compute on workers that share this host's cores"), std::string::npos) << table;
  EXPECT_EQ(table.find("! efficiency above 100%"), std::string::npos) << table;
}

TEST(ComparisonTable, WarnsWhenEfficiencyExceedsLinear) {
  const std::string table = comparison_table({run(1, 10, false, 2), run(2, 66, false, 1)});
  EXPECT_NE(row_of(table, 2).find("330.0%!"), std::string::npos) << table;
  EXPECT_NE(table.find("! efficiency above 100%: the strategy's run at its smallest N"), std::string::npos) << table;
}

TEST(ComparisonTable, EmulatedComputeSaysWhatEfficiencyMeans) {
  const std::string table = comparison_table({run(1, 35, true, 2), run(8, 266, true, 1), run(16, 500, true, 1)});
  EXPECT_NE(row_of(table, 16).find("89.3% "), std::string::npos) << table;
  EXPECT_EQ(table.find("* real compute"), std::string::npos) << table;
  EXPECT_EQ(table.find("! efficiency"), std::string::npos) << table;
  EXPECT_NE(table.find("efficiency is what N\n  machines like this one would reach"), std::string::npos) << table;
}

TEST(ComparisonTable, RealComputeSaysNothingOfEmulation) {
  const std::string table = comparison_table({run(1, 100, false, 2), run(2, 190, false, 1)});
  EXPECT_EQ(table.find("emulated compute:"), std::string::npos) << table;
}

}  // namespace
}  // namespace syncbed::experiments
