// `syncbed train`: single-process training on real or generated data until a quality
// metric can be read off: Inception-v1 on Fashion-MNIST (test accuracy), NCF on MovieLens
// or synthetic ml-20m-shaped data (HR@10 and NDCG@10 per epoch).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "models/data/movielens.h"
#include "models/data/synthetic_feedback.h"
#include "models/dnnl_context.h"
#include "models/training/image_classification.h"
#include "models/training/recommendation.h"

namespace syncbed::cli {

namespace {

nlohmann::json train_inception(const Options& options) {
  if (!options.get("data").empty() && options.get("data") != "fashion-mnist")
    throw std::invalid_argument("--data: inception_v1 trains on fashion-mnist, not '" + options.get("data") + "'");
  models::ImageTrainingOptions training;
  training.batch = options.get("batch").empty() ? 32 : static_cast<int>(options.get_int("batch", 1, 4096));
  training.steps = static_cast<int>(options.get_int("steps", 1, 10'000'000));
  training.train_images = static_cast<int>(options.get_int("train-images", 0, 1 << 30));
  training.test_images = static_cast<int>(options.get_int("test-images", 0, 1 << 30));
  training.eval_every = static_cast<int>(options.get_int("eval-every", 0, 10'000'000));
  training.learning_rate = options.get("lr").empty() ? 0.03f : float(options.get_double("lr", 1e-9, 10));
  training.seed = static_cast<std::uint64_t>(options.get_int("seed", 0, 1LL << 62));

  const std::string dir = options.get("dir").empty() ? models::kFashionMnistDir : options.get("dir");
  const models::LabelledImages train = models::load_fashion_mnist(dir, "train");
  const models::LabelledImages test = models::load_fashion_mnist(dir, "t10k");
  models::InceptionConfig config;
  config.classes = train.classes;
  config.channels = 1;
  config.image_size = static_cast<int>(options.get_int("image-size", 48, 1024));
  config.seed = training.seed;
  models::InceptionV1 model(config);
  std::printf(
      "inception_v1 on fashion-mnist: %d training and %d test images of %dx%d, input %dx%d, batch %d, "
      "%d steps, SGD lr %g momentum %g\n",
      training.train_images ? std::min(training.train_images, train.count) : train.count,
      training.test_images ? std::min(training.test_images, test.count) : test.count, train.rows, train.cols,
      config.image_size, config.image_size, training.batch, training.steps, training.learning_rate, training.momentum);
  std::fflush(stdout);

  double window = 0;
  int window_steps = 0;
  auto on_step = [&](int step, double loss) {
    window += loss;
    if (++window_steps == 50 || step == training.steps) {
      std::printf("  step %6d  loss %.4f (mean of last %d)\n", step, window / window_steps, window_steps);
      std::fflush(stdout);
      window = 0;
      window_steps = 0;
    }
  };
  nlohmann::json curve = nlohmann::json::array();
  auto on_point = [&](const models::TrainingPoint& p) {
    std::printf("eval step %6d  %.1f s training  train loss %.4f  test accuracy %.2f%%  test loss %.4f (%d images)\n",
                p.step, p.seconds, p.train_loss, 100 * p.test.accuracy, p.test.loss, p.test.images);
    std::fflush(stdout);
    curve.push_back({{"step", p.step},
                     {"training_seconds", p.seconds},
                     {"train_loss", p.train_loss},
                     {"test_accuracy", p.test.accuracy},
                     {"test_loss", p.test.loss},
                     {"test_images", p.test.images}});
  };
  const auto points = models::train_classifier(model, train, test, training, on_point, on_step);
  std::printf("final test accuracy %.2f%% after %d steps (%.1f s of training; chance is %.0f%%)\n",
              100 * points.back().test.accuracy, training.steps, points.back().seconds, 100.0 / train.classes);
  return {{"model", "inception_v1"},
          {"data", "fashion-mnist"},
          {"image_size", config.image_size},
          {"batch", training.batch},
          {"steps", training.steps},
          {"learning_rate", training.learning_rate},
          {"momentum", training.momentum},
          {"seed", training.seed},
          {"test_accuracy", points.back().test.accuracy},
          {"training_seconds", points.back().seconds},
          {"curve", curve}};
}

models::UserHistories load_feedback(const Options& options, std::uint64_t seed, nlohmann::json& description) {
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

nlohmann::json train_ncf(const Options& options) {
  models::NcfTrainingOptions training;
  training.batch = options.get("batch").empty() ? 2048 : static_cast<int>(options.get_int("batch", 1, 1 << 24));
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

}  // namespace

int train_command(const std::vector<std::string>& args) {
  Options options(
      "train",
      "Train one model in one process on real or generated data and report its quality: Inception-v1 on "
      "Fashion-MNIST (test accuracy), NCF on MovieLens ratings.csv or synthetic ml-20m-shaped data (HR@10 and "
      "NDCG@10 with leave-one-out, before training and after every epoch).",
      {{"model", "NAME", "inception_v1 or ncf", "inception_v1"},
       {"data", "NAME", "inception_v1: fashion-mnist; ncf: synthetic-ml20m or movielens (default: the first)", ""},
       {"dir", "DIR", "fashion-mnist: directory of the IDX files", models::kFashionMnistDir},
       {"ratings", "FILE", "movielens: the ratings.csv to read", ""},
       {"batch", "N", "examples per step (default: 32 for inception_v1, 2048 for ncf)", ""},
       {"lr", "X", "learning rate (default: 0.03 SGD for inception_v1, 0.0005 Adam for ncf)", ""},
       {"steps", "K", "inception_v1: SGD steps (momentum 0.9)", "1000"},
       {"image-size", "S", "inception_v1: input size; images are scaled by a whole factor and padded", "48"},
       {"train-images", "N", "inception_v1: train on the first N images (0 = all 60,000)", "0"},
       {"test-images", "N", "inception_v1: evaluate on the first N test images (0 = all 10,000)", "0"},
       {"eval-every", "K", "inception_v1: also evaluate every K steps (0 = at the end only)", "0"},
       {"epochs", "E", "ncf: passes over the training interactions", "3"},
       {"optimizer", "NAME", "ncf: adam (dense) or lazy-adam (touched rows only)", "lazy-adam"},
       {"negatives", "K", "ncf: sampled negatives per training positive", "4"},
       {"eval-negatives", "K", "ncf: sampled negatives per user in evaluation", "999"},
       {"users", "U", "synthetic-ml20m: users", "138493"},
       {"items", "I", "synthetic-ml20m: items", "26744"},
       {"threads", "T", "compute threads (0 = OpenMP default)", "0"},
       {"seed", "S", "seed of the initialisation, data and sampling", "1"},
       {"json", "FILE", "also write the result and curve as JSON (a file is replaced atomically; - prints it)", ""}});
  if (!options.parse(args)) return 0;
  const std::string model = options.get("model");
  if (model != "inception_v1" && model != "ncf")
    throw std::invalid_argument("--model: unknown model '" + model + "' (inception_v1, ncf)");
  if (!options.get("json").empty()) check_writable(options.get("json"));  // now, not after the run
  models::set_compute_threads(static_cast<int>(options.get_int("threads", 0, 1024)));
  nlohmann::json result = model == "ncf" ? train_ncf(options) : train_inception(options);
  result["threads"] = models::compute_threads();
  if (!options.get("json").empty()) write_file_atomically(options.get("json"), result.dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
