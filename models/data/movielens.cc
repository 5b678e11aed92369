#include "models/data/movielens.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include "core/config.h"

namespace syncbed::models {

namespace {

struct Rating {
  std::int64_t user, movie, timestamp;
  std::size_t line;
};

template <typename T>
bool parse_number(std::string_view text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// Splits "a,b,c,d" into exactly four fields.
bool split_fields(std::string_view line, std::string_view (&fields)[4]) {
  for (int f = 0; f < 4; ++f) {
    const std::size_t comma = line.find(',');
    if ((comma == std::string_view::npos) != (f == 3)) return false;
    fields[f] = line.substr(0, comma);
    if (comma != std::string_view::npos) line.remove_prefix(comma + 1);
  }
  return true;
}

// Dense ids for the sorted distinct values of `ids`.
std::vector<std::int64_t> distinct(std::vector<std::int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::int32_t dense_id(const std::vector<std::int64_t>& sorted, std::int64_t id) {
  return static_cast<std::int32_t>(std::lower_bound(sorted.begin(), sorted.end(), id) - sorted.begin());
}

}  // namespace

MovieLensRatings load_movielens_ratings(const std::string& path, int min_ratings) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  require_regular_file(path, "ratings file");  // a device would be read without end
  std::vector<Rating> ratings;
  std::string line;
  std::size_t number = 0;
  while (std::getline(file, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (number == 1 && line.rfind("userId,", 0) == 0) continue;  // the header
    auto fail = [&](const std::string& why) {
      return std::runtime_error(path + ":" + std::to_string(number) + ": " + why +
                                " (expected userId,movieId,rating,timestamp)");
    };
    std::string_view fields[4];
    if (!split_fields(line, fields)) throw fail("not 4 comma-separated fields");
    Rating r{0, 0, 0, number};
    double value;
    if (!parse_number(fields[0], r.user) || r.user < 0) throw fail("bad userId '" + std::string(fields[0]) + "'");
    if (!parse_number(fields[1], r.movie) || r.movie < 0) throw fail("bad movieId '" + std::string(fields[1]) + "'");
    if (!parse_number(fields[2], value)) throw fail("bad rating '" + std::string(fields[2]) + "'");
    if (!parse_number(fields[3], r.timestamp)) throw fail("bad timestamp '" + std::string(fields[3]) + "'");
    ratings.push_back(r);
  }
  if (file.bad()) throw std::runtime_error(path + ": read error");

  MovieLensRatings result;
  result.ratings = ratings.size();
  // Each user's ratings in time order (file order among equal timestamps); of a repeated
  // (user, movie) pair only the latest survives.
  std::sort(ratings.begin(), ratings.end(), [](const Rating& a, const Rating& b) {
    return std::tie(a.user, a.timestamp, a.line) < std::tie(b.user, b.timestamp, b.line);
  });
  std::vector<Rating> kept;
  kept.reserve(ratings.size());
  for (std::size_t begin = 0, end; begin < ratings.size(); begin = end) {
    end = begin;
    while (end < ratings.size() && ratings[end].user == ratings[begin].user) ++end;
    // A repeated movie: every occurrence but the latest (largest position) is dropped.
    std::vector<std::pair<std::int64_t, std::size_t>> by_movie;
    for (std::size_t k = begin; k < end; ++k) by_movie.emplace_back(ratings[k].movie, k);
    std::sort(by_movie.begin(), by_movie.end());
    std::vector<bool> repeated(end - begin, false);
    for (std::size_t i = 0; i + 1 < by_movie.size(); ++i)
      if (by_movie[i].first == by_movie[i + 1].first) repeated[by_movie[i].second - begin] = true;
    std::vector<Rating> user;
    for (std::size_t k = begin; k < end; ++k) {
      if (repeated[k - begin])
        ++result.duplicates;
      else
        user.push_back(ratings[k]);
    }
    if (static_cast<int>(user.size()) < min_ratings) {
      ++result.dropped_users;
      continue;
    }
    kept.insert(kept.end(), user.begin(), user.end());
  }

  std::vector<std::int64_t> users, movies;
  for (const Rating& r : kept) {
    users.push_back(r.user);
    movies.push_back(r.movie);
  }
  result.user_ids = distinct(std::move(users));
  result.movie_ids = distinct(std::move(movies));
  UserHistories& h = result.histories;
  h.users = static_cast<int>(result.user_ids.size());
  h.items = static_cast<int>(result.movie_ids.size());
  h.sequence.reserve(kept.size());
  for (std::size_t k = 0; k < kept.size(); ++k) {
    if (k > 0 && kept[k].user != kept[k - 1].user) h.offsets.push_back(h.sequence.size());
    h.sequence.push_back(dense_id(result.movie_ids, kept[k].movie));
  }
  if (!kept.empty()) h.offsets.push_back(h.sequence.size());
  return result;
}

}  // namespace syncbed::models
