// `syncbed train --model ncf`: NCF on MovieLens ratings or synthetic ml-20m-shaped data,
// with HR@10 and NDCG@10 after every epoch.
#include <cstdio>

#include "core/clock.h"
#include "experiments/workloads/ncf/ncf.h"
#include "models/data/movielens.h"
#include "models/data/synthetic_feedback.h"
#include "models/training/recommendation.h"

namespace syncbed::experiments {

std::vector<cli::OptionSpec> ncf_train_options() {
  return {{"ratings", "FILE", "ncf on movielens: the ratings.csv to read", ""},
          {"epochs", "E", "ncf: passes over the training interactions", "3"},
          {"optimizer", "NAME", "ncf: adam (dense) or lazy-adam (touched rows only)", "lazy-adam"},
          {"negatives", "K", "ncf: sampled negatives per training positive", "4"},
          {"eval-negatives", "K", "ncf: sampled negatives per user in evaluation", "999"},
          {"users", "U", "ncf on synthetic-ml20m: users", "138493"},
          {"items", "I", "ncf on synthetic-ml20m: items", "26744"}};
}

namespace {

models::UserHistories load_feedback(const cli::Options& options, std::uint64_t seed, nlohmann::json& description) {
  const std::string data = options.get("data").empty() ? "synthetic-ml20m" : options.get("data");
  if (data == "movielens") {
    if (options.get("ratings").empty()) throw std::invalid_argument("--ratings: required with --data movielens");
    auto ratings = models::load_movielens_ratings(options.get("ratings"));
    std::printf(
        "%s: %zu ratings, %d users x %d movies (%zu repeated ratings merged, %d users with fewer than 2 dropped)\n",
        options.get("ratings").c_str(), ratings.ratings, ratings.histories.users, ratings.histories.items,
        ratings.duplicates, ratings.dropped_users);
    description = {{"data", "movielens"}, {"ratings_file", options.get("ratings")}};
    return std::move(ratings.histories);
  }
  if (data != "synthetic-ml20m")
    throw std::invalid_argument("--data: ncf trains on synthetic-ml20m or movielens, not '" + data + "'");
  models::SyntheticFeedbackConfig config;
  config.users = static_cast<int>(options.get_int("users", 1, 100'000'000));
  config.items = static_cast<int>(options.get_int("items", 2, 100'000'000));
  config.seed = seed;
  Stopwatch watch;
  auto histories = models::generate_synthetic_feedback(config);
  std::printf("synthetic ml-20m-shaped feedback: %d users x %d items, %zu interactions (generated in %.1f s)\n",
              histories.users, histories.items, histories.interactions(), watch.lap());
  description = {{"data", "synthetic-ml20m"}};
  return histories;
}

}  // namespace

nlohmann::json train_ncf(const cli::Options& options, int batch) {
  models::NcfTrainingOptions training;
  training.batch = batch;
  training.epochs = static_cast<int>(options.get_int("epochs", 0, 1000));
  training.negatives = static_cast<int>(options.get_int("negatives", 0, 1000));
  training.learning_rate = options.get("lr").empty() ? 0.0005f : float(options.get_double("lr", 1e-9, 10));
  training.seed = static_cast<std::uint64_t>(options.get_int("seed", 0, 1LL << 62));
  const std::string optimizer = options.get("optimizer");
  if (optimizer != "adam" && optimizer != "lazy-adam")
    throw std::invalid_argument("--optimizer: unknown optimizer '" + optimizer + "' (adam, lazy-adam)");
  training.lazy_adam = optimizer == "lazy-adam";
  const int eval_negatives = static_cast<int>(options.get_int("eval-negatives", 1, 1'000'000));

  nlohmann::json result;
  const models::UserHistories histories = load_feedback(options, training.seed, result);
  Stopwatch watch;
  const models::LeaveOneOutData data = models::split_leave_one_out(histories, eval_negatives, training.seed);
  std::printf("leave-one-out: %zu training interactions, %d held out, %d evaluation negatives per user (%.1f s)\n",
              data.train_items.size(), data.users, eval_negatives, watch.lap());
  models::NcfConfig config;
  config.users = data.users;
  config.items = data.items;
  config.seed = training.seed;
  models::Ncf model(config);
  std::printf("ncf: %zu parameters, batch %d, %d negatives per positive, %s lr %g, %d epochs\n",
              model.parameters().size(), training.batch, training.negatives, training.lazy_adam ? "lazy Adam" : "Adam",
              training.learning_rate, training.epochs);
  std::fflush(stdout);

  Stopwatch since_progress;
  auto on_progress = [&](int epoch, std::size_t done, std::size_t total, double loss) {
    if (since_progress.elapsed() < 10) return;
    since_progress.lap();
    std::printf("  epoch %d: %5.1f%% of %zu samples, loss %.4f\n", epoch, 100.0 * done / total, total, loss);
    std::fflush(stdout);
  };
  nlohmann::json curve = nlohmann::json::array();
  auto on_epoch = [&](const models::EpochPoint& p) {
    const double rate = p.seconds > 0 ? p.samples / p.seconds : 0;
    std::printf("epoch %2d  loss %.4f  %.1f s (%.0f samples/s)  HR@%d %.4f  NDCG@%d %.4f  (evaluation %.1f s)\n",
                p.epoch, p.train_loss, p.seconds, rate, p.eval.k, p.eval.hit_rate, p.eval.k, p.eval.ndcg,
                p.eval.seconds);
    std::fflush(stdout);
    curve.push_back({{"epoch", p.epoch},
                     {"train_loss", p.train_loss},
                     {"training_seconds", p.seconds},
                     {"samples", p.samples},
                     {"samples_per_s", rate},
                     {"hit_rate", p.eval.hit_rate},
                     {"ndcg", p.eval.ndcg},
                     {"evaluation_seconds", p.eval.seconds}});
  };
  const auto points = models::train_ncf(model, data, training, on_epoch, on_progress);
  std::printf("HR@%d %.4f, NDCG@%d %.4f after %d epochs (random ranking: HR@%d %.4f)\n", training.k,
              points.back().eval.hit_rate, training.k, points.back().eval.ndcg, training.epochs, training.k,
              double(training.k) / (eval_negatives + 1));
  result.update({{"model", "ncf"},
                 {"users", data.users},
                 {"items", data.items},
                 {"training_interactions", data.train_items.size()},
                 {"eval_negatives", eval_negatives},
                 {"batch", training.batch},
                 {"negatives", training.negatives},
                 {"optimizer", optimizer},
                 {"learning_rate", training.learning_rate},
                 {"epochs", training.epochs},
                 {"seed", training.seed},
                 {"hit_rate", points.back().eval.hit_rate},
                 {"ndcg", points.back().eval.ndcg},
                 {"curve", curve}});
  return result;
}

}  // namespace syncbed::experiments
