// Implicit-feedback data for NCF: the MovieLens ratings.csv loader on files written here,
// the leave-one-out split and its evaluation negatives, the training-sample stream, and
// the synthetic ml-20m-shaped generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "models/data/implicit_feedback.h"
#include "models/data/movielens.h"
#include "models/data/synthetic_feedback.h"

namespace syncbed::models {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("syncbed_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::vector<std::int32_t> items_of(const UserHistories& h, int user) {
  const auto span = h.of(user);
  return {span.begin(), span.end()};
}

TEST(MovieLens, RemapsIdsAndOrdersEachUserByTime) {
  const std::string path = write_file("ratings.csv",
                                      "userId,movieId,rating,timestamp\r\n"
                                      "42,300,4.0,1000\r\n"
                                      "7,20,3.5,500\r\n"
                                      "42,10,5.0,900\r\n"
                                      "7,300,1.0,400\r\n"
                                      "42,20,0.5,1100\r\n"
                                      "9,10,2.0,100\r\n"  // a single rating: dropped
                                      "\r\n");
  const MovieLensRatings r = load_movielens_ratings(path);
  std::filesystem::remove(path);
  EXPECT_EQ(r.ratings, 6u);
  EXPECT_EQ(r.dropped_users, 1);
  EXPECT_EQ(r.user_ids, (std::vector<std::int64_t>{7, 42}));
  EXPECT_EQ(r.movie_ids, (std::vector<std::int64_t>{10, 20, 300}));
  ASSERT_EQ(r.histories.users, 2);
  EXPECT_EQ(r.histories.items, 3);
  EXPECT_EQ(items_of(r.histories, 0), (std::vector<std::int32_t>{2, 1}));     // user 7: 300 at 400, 20 at 500
  EXPECT_EQ(items_of(r.histories, 1), (std::vector<std::int32_t>{0, 2, 1}));  // user 42: 10, 300, 20
}

TEST(MovieLens, EqualTimestampsKeepFileOrderAndRepeatsKeepTheLatest) {
  const std::string path = write_file("ties.csv",
                                      "1,5,3,100\n"
                                      "1,6,3,100\n"
                                      "1,5,4,200\n"  // repeat of movie 5: this later one counts
                                      "1,7,3,100\n");
  const MovieLensRatings r = load_movielens_ratings(path);
  std::filesystem::remove(path);
  EXPECT_EQ(r.duplicates, 1u);
  // Movies 5, 6, 7 -> 0, 1, 2; time order 6 (line 2), 7 (line 4), 5 (at 200).
  EXPECT_EQ(items_of(r.histories, 0), (std::vector<std::int32_t>{1, 2, 0}));
}

TEST(MovieLens, MalformedLinesNameFileLineAndReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1,2,3\n", ":1: not 4 comma-separated fields"}, {"1,2,3,4,5\n", ":1: not 4 comma-separated fields"},
      {"1,2,3,4\nx,2,3,4\n", ":2: bad userId 'x'"},    {"1,-2,3,4\n", ":1: bad movieId '-2'"},
      {"1,2,good,4\n", ":1: bad rating 'good'"},       {"1,2,3,4.5\n", ":1: bad timestamp '4.5'"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string path = write_file("bad.csv", text);
    try {
      load_movielens_ratings(path);
      ADD_FAILURE() << "no error for " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path + expected), std::string::npos) << e.what();
    }
    std::filesystem::remove(path);
  }
  EXPECT_THROW(load_movielens_ratings("/nonexistent/ratings.csv"), std::runtime_error);
}

UserHistories small_histories() {
  UserHistories h;
  h.users = 3;
  h.items = 12;
  h.sequence = {5, 1, 3, /**/ 0, 11, /**/ 2, 4, 6, 8};
  h.offsets = {0, 3, 5, 9};
  return h;
}

TEST(LeaveOneOut, HoldsOutTheLatestAndSamplesUnseenNegatives) {
  const UserHistories h = small_histories();
  const LeaveOneOutData data = split_leave_one_out(h, 5, 11);
  EXPECT_EQ(data.test_items, (std::vector<std::int32_t>{3, 11, 8}));
  EXPECT_EQ(std::vector<std::int32_t>(data.train_of(0).begin(), data.train_of(0).end()),
            (std::vector<std::int32_t>{1, 5}));
  EXPECT_EQ(std::vector<std::int32_t>(data.train_of(2).begin(), data.train_of(2).end()),
            (std::vector<std::int32_t>{2, 4, 6}));
  for (int u = 0; u < data.users; ++u) {
    const auto negatives = data.negatives_of(u);
    std::set<std::int32_t> distinct(negatives.begin(), negatives.end());
    EXPECT_EQ(distinct.size(), 5u) << "user " << u;
    for (auto item : negatives) {
      EXPECT_FALSE(data.interacted(u, item)) << "user " << u << " item " << item;
      EXPECT_GE(item, 0);
      EXPECT_LT(item, h.items);
    }
  }
  EXPECT_EQ(split_leave_one_out(h, 5, 11).negatives, data.negatives);
  EXPECT_NE(split_leave_one_out(h, 5, 12).negatives, data.negatives);
}

TEST(LeaveOneOut, RefusesUsersItCannotSplit) {
  UserHistories h = small_histories();
  try {
    split_leave_one_out(h, 9, 1);  // user 2 has 4 items, so only 8 unseen
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("user 2 has only 8 items it never interacted with"), std::string::npos)
        << e.what();
  }
  h.sequence = {5, 1, 3, /**/ 0, /**/ 2, 4, 6, 8};
  h.offsets = {0, 3, 4, 8};
  EXPECT_THROW(split_leave_one_out(h, 1, 1), std::invalid_argument);
  h.sequence = {5, 1, 5, /**/ 0, 11, /**/ 2, 4, 6, 8};
  h.offsets = {0, 3, 5, 9};
  EXPECT_THROW(split_leave_one_out(h, 1, 1), std::invalid_argument);
}

TEST(TrainingSamples, EveryPositiveOnceWithUnseenNegatives) {
  const LeaveOneOutData data = split_leave_one_out(small_histories(), 2, 1);
  TrainingSamples samples(data, 4, 9);
  samples.start_epoch(1);
  ASSERT_EQ(samples.size(), data.train_items.size() * 5);
  InteractionBatch all;
  samples.fill(0, samples.size(), all);
  std::multiset<std::pair<int, int>> positives;
  for (int k = 0; k < all.size(); ++k) {
    if (k % 5 == 0) {
      ASSERT_EQ(all.labels[k], 1.0f);
      positives.emplace(all.users[k], all.items[k]);
    } else {
      ASSERT_EQ(all.labels[k], 0.0f);
      EXPECT_EQ(all.users[k], all.users[k - k % 5]);  // the positive's user
      const auto train = data.train_of(all.users[k]);
      EXPECT_FALSE(std::binary_search(train.begin(), train.end(), all.items[k]));
    }
  }
  std::multiset<std::pair<int, int>> expected;
  for (int u = 0; u < data.users; ++u)
    for (auto item : data.train_of(u)) expected.emplace(u, item);
  EXPECT_EQ(positives, expected);

  // The same samples however the epoch is cut into batches; another epoch differs.
  InteractionBatch part;
  for (std::size_t begin = 0; begin < samples.size(); begin += 7) {
    samples.fill(begin, std::min<std::size_t>(7, samples.size() - begin), part);
    for (int k = 0; k < part.size(); ++k) ASSERT_EQ(part.items[k], all.items[begin + k]);
  }
  samples.start_epoch(2);
  samples.fill(0, samples.size(), part);
  EXPECT_NE(part.items, all.items);
  EXPECT_THROW(samples.fill(samples.size() - 1, 2, part), std::out_of_range);
}

TEST(SyntheticFeedback, Ml20mShapedAndReproducible) {
  SyntheticFeedbackConfig config;
  config.users = 3000;  // ml-20m's items and per-user statistics, fewer users
  const UserHistories h = generate_synthetic_feedback(config);
  ASSERT_EQ(h.users, 3000);
  ASSERT_EQ(h.items, 26'744);
  std::vector<std::size_t> counts;
  std::vector<int> popularity(h.items, 0);
  for (int u = 0; u < h.users; ++u) {
    const auto items = h.of(u);
    counts.push_back(items.size());
    std::set<std::int32_t> distinct(items.begin(), items.end());
    ASSERT_EQ(distinct.size(), items.size()) << "user " << u << " repeats an item";
    for (auto item : items) ++popularity.at(item);
  }
  std::sort(counts.begin(), counts.end());
  EXPECT_GE(counts.front(), 20u);
  const double mean = double(h.interactions()) / h.users;
  EXPECT_GT(mean, 110);  // ml-20m: 144 per user, median 68
  EXPECT_LT(mean, 180);
  EXPECT_GT(counts[counts.size() / 2], 55u);
  EXPECT_LT(counts[counts.size() / 2], 85u);
  // A power law: the most popular 1% of items draw far more than 1% of interactions.
  std::sort(popularity.rbegin(), popularity.rend());
  const double top = std::accumulate(popularity.begin(), popularity.begin() + h.items / 100, 0.0);
  EXPECT_GT(top / h.interactions(), 0.10);

  EXPECT_EQ(generate_synthetic_feedback(config).sequence, h.sequence);
  config.seed = 2;
  EXPECT_NE(generate_synthetic_feedback(config).sequence, h.sequence);
}

}  // namespace
}  // namespace syncbed::models
