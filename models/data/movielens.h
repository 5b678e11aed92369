// MovieLens ratings.csv (userId,movieId,rating,timestamp, as in ml-20m and ml-latest) read
// as implicit feedback: every rating counts as an interaction, whatever its value, as in
// the NCF paper and MLPerf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/data/implicit_feedback.h"

namespace syncbed::models {

struct MovieLensRatings {
  UserHistories histories;              // dense ids, each user's ratings oldest first
  std::vector<std::int64_t> user_ids;   // original userId of each dense user id
  std::vector<std::int64_t> movie_ids;  // original movieId of each dense item id
  std::size_t ratings = 0;              // lines read
  std::size_t duplicates = 0;           // repeated (user, movie) pairs; the latest is kept
  int dropped_users = 0;                // users with fewer than `min_ratings` ratings
};

// Reads the file; ids are remapped to 0..n-1 in increasing order of the original ids, and
// ties in timestamp keep file order. Users with fewer than `min_ratings` distinct movies
// are dropped (leave-one-out needs 2). Throws std::runtime_error naming the file, line and
// reason for a malformed line.
MovieLensRatings load_movielens_ratings(const std::string& path, int min_ratings = 2);

}  // namespace syncbed::models
