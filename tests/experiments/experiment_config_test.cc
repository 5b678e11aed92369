// Every way a config can be refused, each with the message a user would see: the field
// path and the reason. And what a valid config turns into.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/join.h"
#include "experiments/harness/experiment.h"
#include "experiments/harness/experiment_config.h"
#include "experiments/workloads/emulated_workload.h"
#include "sync/registry.h"

namespace {

using nlohmann::json;
using syncbed::experiments::ExperimentConfig;
using syncbed::experiments::load_experiment_config;
using syncbed::experiments::NetworkSpec;
using syncbed::experiments::parse_duration_s;
using syncbed::experiments::parse_experiment_config;
using syncbed::experiments::parse_rate_bits;
using syncbed::experiments::SimulateSpec;

// The registry's names as error messages list them; the first three strategies always among them.
std::string known_strategies() {
  const std::string known = syncbed::join(syncbed::sync::parameter_sync_names());
  EXPECT_NE(known.find("ps, ring, sharded"), std::string::npos) << known;
  return known;
}

json base() {
  return json::parse(R"({
    "name": "t",
    "model": {"name": "inception_v1", "batch": 8, "image_size": 48, "classes": 10},
    "data": "synthetic",
    "strategies": ["sharded", "ring", "ps"],
    "workers": [1, 2],
    "iterations": 5
  })");
}

json ncf_base() {
  return json::parse(R"({
    "name": "n",
    "model": {"name": "ncf", "batch": 64},
    "data": {"kind": "synthetic-ml20m", "users": 100, "items": 200, "eval_negatives": 50},
    "strategies": ["ring"],
    "workers": [1],
    "epochs": 1
  })");
}

std::string refusal(const json& config) {
  try {
    parse_experiment_config(config, "file");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

struct Refusal {
  const char* what;
  std::function<json()> config;
  std::string message;
};

void PrintTo(const Refusal& refusal, std::ostream* out) { *out << refusal.what; }

json edit(json j, const std::function<void(json&)>& change) {
  change(j);
  return j;
}

class ConfigRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(ConfigRefusal, NamesTheFieldAndTheReason) { EXPECT_EQ(refusal(GetParam().config()), GetParam().message); }

const Refusal kRefusals[] = {
    {"not an object", [] { return json::array(); }, "config: (top level): must be an object, got an array"},
    {"unknown key", [] { return edit(base(), [](json& j) { j["iteratons"] = 3; }); },
     "config: iteratons: unknown key (known: name, description, model, data, optimizer, strategies, workers, "
     "iterations, warmup, epochs, seed, threads, compute, network, output, timeout_s, checkpoint_every, "
     "max_restarts, faults, simulate, trace, trace_keep)"},
    {"name with a slash", [] { return edit(base(), [](json& j) { j["name"] = "a/b"; }); },
     "config: name: must be a plain file name (letters, digits, '.', '_', '-'), but has '/'"},
    {"name that climbs out of results/", [] { return edit(base(), [](json& j) { j["name"] = ".."; }); },
     "config: name: must not start with '.'"},
    {"name that would be shell code",
     [] { return edit(base(), [](json& j) { j["name"] = "x'; touch pwned; echo '"; }); },
     "config: name: must be a plain file name (letters, digits, '.', '_', '-'), but has '''"},
    {"empty name", [] { return edit(base(), [](json& j) { j["name"] = ""; }); }, "config: name: must not be empty"},
    {"name not a string", [] { return edit(base(), [](json& j) { j["name"] = 3; }); },
     "config: name: must be a string, got 3"},
    {"description not a string", [] { return edit(base(), [](json& j) { j["description"] = false; }); },
     "config: description: must be a string, got false"},
    {"model missing", [] { return edit(base(), [](json& j) { j.erase("model"); }); }, "config: model: is required"},
    {"model not an object", [] { return edit(base(), [](json& j) { j["model"] = "ncf"; }); },
     "config: model: must be an object, got \"ncf\""},
    {"model name missing", [] { return edit(base(), [](json& j) { j["model"].erase("name"); }); },
     "config: model.name: is required"},
    {"unknown model", [] { return edit(base(), [](json& j) { j["model"]["name"] = "resnet"; }); },
     "config: model.name: must be one of inception_v1, ncf, got \"resnet\""},
    {"unknown model key", [] { return edit(base(), [](json& j) { j["model"]["depth"] = 3; }); },
     "config: model.depth: unknown key (known: name, batch, image_size, classes, conv)"},
    {"image size on ncf", [] { return edit(ncf_base(), [](json& j) { j["model"]["image_size"] = 64; }); },
     "config: model.image_size: applies to model inception_v1 only"},
    {"batch zero", [] { return edit(base(), [](json& j) { j["model"]["batch"] = 0; }); },
     "config: model.batch: must be between 1 and 4096, got 0"},
    {"batch not an integer", [] { return edit(base(), [](json& j) { j["model"]["batch"] = 2.5; }); },
     "config: model.batch: must be an integer, got 2.5"},
    {"image too small", [] { return edit(base(), [](json& j) { j["model"]["image_size"] = 32; }); },
     "config: model.image_size: must be between 48 and 1024, got 32"},
    {"one class", [] { return edit(base(), [](json& j) { j["model"]["classes"] = 1; }); },
     "config: model.classes: must be between 2 and 100000, got 1"},
    {"fashion-mnist classes",
     [] { return edit(base(), [](json& j) { j["data"] = "fashion-mnist", j["model"]["classes"] = 100; }); },
     "config: model.classes: fashion-mnist has 10 classes"},
    {"unknown convolution", [] { return edit(base(), [](json& j) { j["model"]["conv"] = "fft"; }); },
     "config: model.conv: must be one of winograd, direct, got \"fft\""},
    {"data missing", [] { return edit(base(), [](json& j) { j.erase("data"); }); }, "config: data: is required"},
    {"data kind for the other model", [] { return edit(base(), [](json& j) { j["data"] = "movielens"; }); },
     "config: data: must be one of synthetic, fashion-mnist, got \"movielens\""},
    {"data kind missing", [] { return edit(base(), [](json& j) { j["data"] = json::object(); }); },
     "config: data.kind: is required"},
    {"unknown data key", [] { return edit(base(), [](json& j) {
                                j["data"] = {{"kind", "synthetic"}, {"size", 3}};
                              }); },
     "config: data.size: unknown key (known: kind, path, users, items, negatives, eval_negatives)"},
    {"movielens without a path", [] { return edit(ncf_base(), [](json& j) { j["data"] = "movielens"; }); },
     "config: data.path: is required for movielens (the ratings.csv file)"},
    {"users on movielens",
     [] {
       return edit(ncf_base(), [](json& j) { j["data"] = {{"kind", "movielens"}, {"path", "r.csv"}, {"users", 5}}; });
     },
     "config: data.users: applies to generated ncf data only"},
    {"negatives on inception",
     [] { return edit(base(), [](json& j) {
            j["data"] = {{"kind", "synthetic"}, {"negatives", 4}};
          }); },
     "config: data.negatives: applies to model ncf only"},
    {"path on synthetic data",
     [] { return edit(base(), [](json& j) {
            j["data"] = {{"kind", "synthetic"}, {"path", "/x"}};
          }); },
     "config: data.path: applies to fashion-mnist data only"},
    {"too many evaluation negatives",
     [] { return edit(ncf_base(), [](json& j) { j["data"]["eval_negatives"] = 200; }); },
     "config: data.eval_negatives: must be fewer than the items (200)"},
    {"too few items to generate (the generator looped forever)",
     [] {
       return edit(ncf_base(), [](json& j) {
         j["data"] = {{"kind", "synthetic-ml20m"}, {"items", 20}, {"eval_negatives", 5}};
       });
     },
     "config: data.items: synthetic-ml20m needs at least 40 items (every user has at least half that many "
     "interactions)"},
    {"ratings that are a device",
     [] { return edit(ncf_base(), [](json& j) {
            j["data"] = {{"kind", "movielens"}, {"path", "/dev/zero"}};
          }); },
     "config: data.path: ratings file '/dev/zero' is not a regular file (a device, FIFO or socket)"},
    {"more co-located servers than workers",
     [] { return edit(base(), [](json& j) { j["strategies"] = json::parse(R"([{"name": "ps", "servers": 2}])"); }); },
     "config: strategies[0]: ps_servers: co-located servers need 1 <= servers <= workers (1), got 2 (in the run with 1 "
     "workers)"},
    {"one user", [] { return edit(ncf_base(), [](json& j) { j["data"]["users"] = 1; }); },
     "config: data.users: must be between 2 and 100000000, got 1"},
    {"optimizer not an object", [] { return edit(base(), [](json& j) { j["optimizer"] = "adam"; }); },
     "config: optimizer: must be an object, got \"adam\""},
    {"unknown optimizer", [] { return edit(base(), [](json& j) {
                                 j["optimizer"] = {{"kind", "lamb"}};
                               }); },
     "config: optimizer.kind: must be one of sgd, adam, got \"lamb\""},
    {"unknown optimizer key", [] { return edit(base(), [](json& j) {
                                     j["optimizer"] = {{"rate", 1}};
                                   }); },
     "config: optimizer.rate: unknown key (known: kind, lr, momentum, weight_decay, beta1, beta2, epsilon)"},
    {"beta on sgd", [] { return edit(base(), [](json& j) {
                           j["optimizer"] = {{"kind", "sgd"}, {"beta1", 0.9}};
                         }); },
     "config: optimizer.beta1: applies to optimizer kind adam only"},
    {"momentum on adam",
     [] { return edit(base(), [](json& j) {
            j["optimizer"] = {{"kind", "adam"}, {"momentum", 0.9}};
          }); },
     "config: optimizer.momentum: applies to optimizer kind sgd only"},
    {"negative learning rate", [] { return edit(base(), [](json& j) {
                                      j["optimizer"] = {{"lr", -0.1}};
                                    }); },
     "config: optimizer.lr: must be between 1e-12 and 100, got -0.1"},
    {"learning rate as text", [] { return edit(base(), [](json& j) {
                                     j["optimizer"] = {{"lr", "fast"}};
                                   }); },
     "config: optimizer.lr: must be a number, got \"fast\""},
    {"strategies missing", [] { return edit(base(), [](json& j) { j.erase("strategies"); }); },
     "config: strategies: is required"},
    {"strategies empty", [] { return edit(base(), [](json& j) { j["strategies"] = json::array(); }); },
     "config: strategies: needs at least 1 element(s)"},
    {"strategies not an array", [] { return edit(base(), [](json& j) { j["strategies"] = "ring"; }); },
     "config: strategies: must be an array, got \"ring\""},
    {"strategy of the wrong type", [] { return edit(base(), [](json& j) { j["strategies"][1] = 7; }); },
     "config: strategies[1]: must be an object, got 7"},
    {"unknown strategy", [] { return edit(base(), [](json& j) { j["strategies"][1] = "tree"; }); },
     "config: strategies[1]: unknown sync strategy 'tree' (known: " + known_strategies() + ")"},
    {"unknown strategy key",
     [] { return edit(base(), [](json& j) {
            j["strategies"][0] = {{"name", "ring"}, {"chunks", 2}};
          }); },
     "config: strategies[0].chunks: unknown key (known: name, label, compression, bf16_sum, segment, servers, "
     "separate_servers, staleness, execution, group, block_store_mb, drop_percentage, max_drop_percentage, "
     "warmup_iterations, threshold_window, overlap, bucket_mb, scheduler)"},
    {"overlap on stale ps",
     [] {
       return edit(base(), [](json& j) { j["strategies"][2] = {{"name", "ps"}, {"overlap", true}, {"staleness", 1}}; });
     },
     "config: strategies[2]: overlap needs staleness 0: a step in buckets ends with every bucket's weights, got 1"},
    {"bucket size without overlap",
     [] { return edit(base(), [](json& j) {
            j["strategies"][0] = {{"name", "ring"}, {"bucket_mb", 4}};
          }); },
     "config: strategies[0].bucket_mb: applies with \"overlap\": true only"},
    {"bucket size of zero",
     [] {
       return edit(base(), [](json& j) {
         j["strategies"][0] = {{"name", "ring"}, {"overlap", true}, {"bucket_mb", 0}};
       });
     },
     "config: strategies[0].bucket_mb: must be between 1e-06 and 1024, got 0"},
    {"forward longer than the iteration",
     [] { return edit(base(), [](json& j) {
            j["compute"] = {{"emulated_ms", 5}, {"forward_ms", 6}};
          }); },
     "config: compute.forward_ms: must be between 0 and 5, got 6"},
    {"layer times from a calibration given by hand",
     [] {
       return edit(base(), [](json& j) {
         j["compute"] = {{"from_calibration", true}, {"layer_backward_ms", {{"fc", 1}}}};
       });
     },
     "config: compute.layer_backward_ms: comes from the calibration with \"from_calibration\""},
    {"a layer time that is not a number",
     [] {
       return edit(base(), [](json& j) {
         j["compute"] = {{"emulated_ms", 5}, {"layer_backward_ms", {{"fc", "slow"}}}};
       });
     },
     "config: compute.layer_backward_ms.fc: must be a number, got \"slow\""},
    {"unknown compression",
     [] { return edit(base(), [](json& j) {
            j["strategies"][0] = {{"name", "sharded"}, {"compression", "fp8"}};
          }); },
     "config: strategies[0]: compression must be \"none\" or \"bf16\", got 'fp8'"},
    {"bf16 on ring",
     [] { return edit(base(), [](json& j) {
            j["strategies"][1] = {{"name", "ring"}, {"compression", "bf16"}};
          }); },
     "config: strategies[1]: sync strategy 'ring' does not support compression 'bf16'"},
    {"servers on ring",
     [] { return edit(base(), [](json& j) {
            j["strategies"][1] = {{"name", "ring"}, {"servers", 2}};
          }); },
     "config: strategies[1]: staleness and ps_servers apply to sync strategy 'ps' only, not 'ring'"},
    {"separate servers without a count",
     [] { return edit(base(), [](json& j) {
            j["strategies"][2] = {{"name", "ps"}, {"separate_servers", true}};
          }); },
     "config: strategies[2]: ps_servers: separate servers need a count >= 1"},
    {"bf16 sum without bf16",
     [] { return edit(base(), [](json& j) {
            j["strategies"][0] = {{"name", "sharded"}, {"bf16_sum", true}};
          }); },
     "config: strategies[0].bf16_sum: needs \"compression\": \"bf16\""},
    {"segment not a size",
     [] { return edit(base(), [](json& j) {
            j["strategies"][0] = {{"name", "ring"}, {"segment", "1X"}};
          }); },
     "config: strategies[0].segment: '1X' has an unknown unit (use K, M or G)"},
    {"segment too small",
     [] { return edit(base(), [](json& j) {
            j["strategies"][0] = {{"name", "ring"}, {"segment", 2}};
          }); },
     "config: strategies[0].segment: must be between 4 and 1G, got 2"},
    {"a label twice",
     [] { return edit(base(), [](json& j) {
            j["strategies"][2] = {{"name", "ps"}, {"label", "ring"}};
          }); },
     "config: strategies[2]: label 'ring' is used twice; give one a distinct \"label\""},
    {"empty label", [] { return edit(base(), [](json& j) {
                           j["strategies"][2] = {{"name", "ps"}, {"label", ""}};
                         }); },
     "config: strategies[2].label: must not be empty"},
    {"workers missing", [] { return edit(base(), [](json& j) { j.erase("workers"); }); },
     "config: workers: is required"},
    {"workers empty", [] { return edit(base(), [](json& j) { j["workers"] = json::array(); }); },
     "config: workers: needs at least 1 element(s)"},
    {"zero workers", [] { return edit(base(), [](json& j) {
                            j["workers"] = {1, 0};
                          }); },
     "config: workers[1]: must be between 1 and 1024, got 0"},
    {"workers as text", [] { return edit(base(), [](json& j) { j["workers"] = {"4"}; }); },
     "config: workers[0]: must be an integer, got \"4\""},
    {"a worker count twice", [] { return edit(base(), [](json& j) {
                                    j["workers"] = {2, 4, 2};
                                  }); },
     "config: workers[2]: worker count listed twice"},
    {"iterations missing", [] { return edit(base(), [](json& j) { j.erase("iterations"); }); },
     "config: iterations: is required"},
    {"zero iterations", [] { return edit(base(), [](json& j) { j["iterations"] = 0; }); },
     "config: iterations: must be between 1 and 1000000000, got 0"},
    {"negative warm-up", [] { return edit(base(), [](json& j) { j["warmup"] = -1; }); },
     "config: warmup: must be between 0 and 1000000, got -1"},
    {"epochs on inception", [] { return edit(base(), [](json& j) { j["epochs"] = 2; }); },
     "config: epochs: applies to model ncf on movielens or synthetic-ml20m data only"},
    {"zero epochs", [] { return edit(ncf_base(), [](json& j) { j["epochs"] = 0; }); },
     "config: epochs: must be between 1 and 1000, got 0"},
    {"negative seed", [] { return edit(base(), [](json& j) { j["seed"] = -5; }); },
     "config: seed: must be between 0 and 4611686018427387904, got -5"},
    {"too many threads", [] { return edit(base(), [](json& j) { j["threads"] = 5000; }); },
     "config: threads: must be between 0 and 1024, got 5000"},
    {"unknown compute mode", [] { return edit(base(), [](json& j) { j["compute"] = "fake"; }); },
     "config: compute: must be one of real, got \"fake\""},
    {"both compute modes",
     [] { return edit(base(), [](json& j) {
            j["compute"] = {{"emulated_ms", 5}, {"from_calibration", true}};
          }); },
     "config: compute: give either \"emulated_ms\" or \"from_calibration\" (or the string \"real\")"},
    {"no compute mode", [] { return edit(base(), [](json& j) { j["compute"] = json::object(); }); },
     "config: compute: give either \"emulated_ms\" or \"from_calibration\" (or the string \"real\")"},
    {"zero emulated time", [] { return edit(base(), [](json& j) {
                                  j["compute"] = {{"emulated_ms", 0}};
                                }); },
     "config: compute.emulated_ms: must be between 0.001 and 3.6e+06, got 0"},
    {"from_calibration false",
     [] { return edit(base(), [](json& j) {
            j["compute"] = {{"from_calibration", false}};
          }); },
     "config: compute.from_calibration: must be true when given (use \"real\" for real compute)"},
    {"unknown compute key", [] { return edit(base(), [](json& j) {
                                   j["compute"] = {{"sleep_ms", 3}};
                                 }); },
     "config: compute.sleep_ms: unknown key (known: emulated_ms, from_calibration, forward_ms, layer_backward_ms)"},
    {"emulated epochs", [] { return edit(ncf_base(), [](json& j) {
                               j["compute"] = {{"emulated_ms", 3}};
                             }); },
     "config: compute: emulated compute cannot train epochs with evaluation; use \"iterations\""},
    {"unknown network", [] { return edit(base(), [](json& j) { j["network"] = "wifi"; }); },
     "config: network: must be one of loopback, got \"wifi\""},
    {"unknown network kind", [] { return edit(base(), [](json& j) {
                                    j["network"] = {{"kind", "vlan"}};
                                  }); },
     "config: network.kind: must be one of loopback, netns, hosts, got \"vlan\""},
    {"netns without a rate", [] { return edit(base(), [](json& j) {
                                    j["network"] = {{"kind", "netns"}};
                                  }); },
     "config: network.rate: is required"},
    {"rate without a unit",
     [] { return edit(base(), [](json& j) {
            j["network"] = {{"kind", "netns"}, {"rate", "10"}};
          }); },
     "config: network.rate: must look like 10gbit, 500mbit or 100kbit, got '10'"},
    {"rate too high",
     [] { return edit(base(), [](json& j) {
            j["network"] = {{"kind", "netns"}, {"rate", "20tbit"}};
          }); },
     "config: network.rate: must be between 8kbit and 10tbit, got '20tbit'"},
    {"delay without a unit",
     [] {
       return edit(base(), [](json& j) { j["network"] = {{"kind", "netns"}, {"rate", "1gbit"}, {"delay", "5"}}; });
     },
     "config: network.delay: must look like 50us, 1ms or 0, got '5'"},
    {"loss over 100%",
     [] {
       return edit(base(), [](json& j) { j["network"] = {{"kind", "netns"}, {"rate", "1gbit"}, {"loss", "120%"}}; });
     },
     "config: network.loss: must be at most 100%, got '120%'"},
    {"loss on real hosts",
     [] {
       return edit(base(), [](json& j) { j["network"] = {{"kind", "hosts"}, {"rate", "1gbit"}, {"loss", "1%"}}; });
     },
     "config: network.loss: applies to kind netns only"},
    {"rate on loopback",
     [] { return edit(base(), [](json& j) {
            j["network"] = {{"kind", "loopback"}, {"rate", "1gbit"}};
          }); },
     "config: network.rate: applies to kinds netns and hosts only"},
    {"simulate anchor without a reference",
     [] { return edit(base(), [](json& j) {
            j["simulate"] = {{"anchor", 1}};
          }); },
     "config: simulate.anchor: the reference has no value at this N"},
    {"simulate reference keyed by a word",
     [] { return edit(base(), [](json& j) {
            j["simulate"] = {{"reference", {{"throughput", {{"many", 5}}}}}};
          }); },
     "config: simulate.reference.throughput.many: the key must be a worker count like \"16\""},
    {"simulate scheduler unknown",
     [] { return edit(base(), [](json& j) {
            j["simulate"] = {{"scheduler", "yarn"}};
          }); },
     "config: simulate.scheduler: must be one of spark-2017, syncbed, got \"yarn\""},
    {"simulate batch per worker not a whole number of replicas per core",
     [] { return edit(base(), [](json& j) {
            j["simulate"] = {{"cores_per_node", 3}};
          }); },
     "config: simulate.cores_per_node: model.batch 8 per worker is not a multiple of 3 cores (BigDL runs one "
     "replica per core); give simulate.global_batch for strong scaling"},
    {"simulate anchor outside the sweep",
     [] {
       return edit(base(), [](json& j) {
         j["simulate"] = {{"reference", {{"throughput", {{"3", 5}}}}}, {"anchor", 3}};
       });
     },
     "config: simulate.anchor: must be one of the config's worker counts"},
    {"empty output", [] { return edit(base(), [](json& j) { j["output"] = ""; }); },
     "config: output: must not be empty"},
    {"zero timeout", [] { return edit(base(), [](json& j) { j["timeout_s"] = 0; }); },
     "config: timeout_s: must be between 1 and 86400, got 0"},
    {"checkpoints every zero iterations", [] { return edit(base(), [](json& j) { j["checkpoint_every"] = 0; }); },
     "config: checkpoint_every: must be between 1 and 1000000000, got 0"},
    {"trace of an unknown level", [] { return edit(base(), [](json& j) { j["trace"] = "verbose"; }); },
     "config: trace: must be one of phases, layers, messages, all, got \"verbose\""},
    {"trace as a number", [] { return edit(base(), [](json& j) { j["trace"] = 1; }); },
     "config: trace: must be true, false, \"phases\", \"layers\", \"messages\" or \"all\", got 1"},
    {"trace_keep without trace", [] { return edit(base(), [](json& j) { j["trace_keep"] = 5; }); },
     "config: trace_keep: applies with \"trace\": true only"},
    {"trace_keep of none",
     [] {
       return edit(base(), [](json& j) {
         j["trace"] = true;
         j["trace_keep"] = 0;
       });
     },
     "config: trace_keep: must be between 1 and 1000000, got 0"},
    {"restarts without checkpoints", [] { return edit(base(), [](json& j) { j["max_restarts"] = 2; }); },
     "config: max_restarts: applies with \"checkpoint_every\" only: without checkpoints a run is not restarted"},
    {"negative restarts",
     [] {
       return edit(base(), [](json& j) {
         j["checkpoint_every"] = 5;
         j["max_restarts"] = -1;
       });
     },
     "config: max_restarts: must be between 0 and 100, got -1"},
    {"unknown fault", [] { return edit(base(), [](json& j) {
                             j["faults"] = {{"hang", {}}};
                           }); },
     "config: faults.hang: unknown key (known: kill, straggler)"},
    {"kill in every run of a rank one lacks",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"kill", {{"rank", 1}}}};
          }); },
     "config: faults.kill.rank: every run: run 1 (sharded, 1 worker) has no rank 1"},
    {"kill of a run past the sweep",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"kill", {{"run", 7}, {"rank", 0}}}};
          }); },
     "config: faults.kill.run: must be between 1 and 6, got 7"},
    {"kill of a rank the run does not have",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"kill", {{"run", 3}, {"rank", 1}}}};
          }); },
     "config: faults.kill.rank: run 3 (ring, 1 worker) has no rank 1"},
    {"unknown execution",
     [] { return edit(base(), [](json& j) {
            j["strategies"] = {{{"name", "sharded"}, {"execution", "spark"}}};
          }); },
     "config: strategies[0]: execution must be \"steps\" or \"tasks\", got 'spark'"},
    {"tasks with ring",
     [] { return edit(base(), [](json& j) {
            j["strategies"] = {{{"name", "ring"}, {"execution", "tasks"}}};
          }); },
     "config: strategies[0]: execution \"tasks\" runs sync strategy 'sharded' without compression only"},
    {"group without tasks",
     [] { return edit(base(), [](json& j) {
            j["strategies"] = {{{"name", "sharded"}, {"group", 2}}};
          }); },
     "config: strategies[0]: group, block_store_mb and drop_percentage need execution \"tasks\""},
    {"scheduler without tasks",
     [] { return edit(base(), [](json& j) {
            j["strategies"] = {{{"name", "sharded"}, {"scheduler", "syncbed"}}};
          }); },
     "config: strategies[0].scheduler: applies with \"execution\": \"tasks\" only"},
    {"scheduler unknown",
     [] {
       return edit(base(), [](json& j) {
         j["strategies"] = {{{"name", "sharded"}, {"execution", "tasks"}, {"scheduler", "mesos"}}};
       });
     },
     "config: strategies[0].scheduler: must be one of spark-2017, syncbed, got \"mesos\""},
    {"drop without tasks",
     [] { return edit(base(), [](json& j) {
            j["strategies"] = {{{"name", "sharded"}, {"drop_percentage", 0.1}}};
          }); },
     "config: strategies[0]: group, block_store_mb and drop_percentage need execution \"tasks\""},
    {"maximum drop below the drop",
     [] {
       return edit(base(), [](json& j) {
         j["strategies"] = {
             {{"name", "sharded"}, {"execution", "tasks"}, {"drop_percentage", 0.3}, {"max_drop_percentage", 0.2}}};
       });
     },
     "config: strategies[0].max_drop_percentage: must be at least drop_percentage"},
    {"threshold window without a drop",
     [] {
       return edit(base(), [](json& j) {
         j["strategies"] = {{{"name", "sharded"}, {"execution", "tasks"}, {"threshold_window", 5}}};
       });
     },
     "config: strategies[0].threshold_window: applies with \"drop_percentage\" > 0 only"},
    {"straggler missing from the smallest run",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"straggler", {{"rank", 1}, {"slowdown", 3}}}};
          }); },
     "config: faults.straggler.rank: must be a worker of every run; the smallest run has 1 workers"},
    {"straggler faster than the rest",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"straggler", {{"rank", 0}, {"slowdown", 0.5}}}};
          }); },
     "config: faults.straggler.slowdown: must be between 1 and 1000, got 0.5"},
    {"negative group",
     [] {
       return edit(base(), [](json& j) {
         j["strategies"] = {{{"name", "sharded"}, {"execution", "tasks"}, {"group", -1}}};
       });
     },
     "config: strategies[0].group: must be between 0 and 10000, got -1"},
    {"kill job on long-running workers",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"kill", {{"run", 2}, {"rank", 1}, {"job", 2}}}};
          }); },
     "config: faults.kill.job: applies to execution \"tasks\" only; run 2 (sharded, 2 workers) has long-running "
     "workers"},
    {"kill of the driver of a long-running run",
     [] { return edit(base(), [](json& j) {
            j["faults"] = {{"kill", {{"run", 2}, {"rank", 2}}}};
          }); },
     "config: faults.kill.rank: run 2 (sharded, 2 workers) has no rank 2"},
    {"tasks with epochs",
     [] {
       return edit(ncf_base(), [](json& j) { j["strategies"] = {{{"name", "sharded"}, {"execution", "tasks"}}}; });
     },
     "config: epochs: strategy 'sharded-tasks' runs execution \"tasks\", which trains a fixed number of iterations"},
};

TEST(ExperimentConfig, NetworkDefaultsToLoopbackAndParsesRatesAndDelays) {
  EXPECT_EQ(parse_experiment_config(base(), "x").network.kind, NetworkSpec::Kind::kLoopback);
  const auto config =
      parse_experiment_config(edit(base(),
                                   [](json& j) {
                                     j["network"] = {{"kind", "netns"}, {"rate", "2.5gbit"}, {"delay", "50us"}};
                                   }),
                              "x");
  EXPECT_EQ(config.network.kind, NetworkSpec::Kind::kNetns);
  EXPECT_DOUBLE_EQ(config.network.rate_bits, 2.5e9);
  EXPECT_DOUBLE_EQ(config.network.delay_s, 50e-6);
  EXPECT_EQ(config.network.to_json(), json({{"kind", "netns"}, {"rate", "2.5gbit"}, {"delay", "50us"}, {"loss", "0"}}));
  EXPECT_DOUBLE_EQ(parse_rate_bits("100kbit"), 1e5);
  EXPECT_DOUBLE_EQ(parse_duration_s("2ms"), 2e-3);
}

INSTANTIATE_TEST_SUITE_P(Every, ConfigRefusal, ::testing::ValuesIn(kRefusals),
                         [](const ::testing::TestParamInfo<Refusal>& info) {
                           std::string name;
                           for (const char* c = info.param.what; *c; ++c) name += std::isalnum(*c) ? *c : '_';
                           return name;
                         });

TEST(ExperimentConfig, FillsDefaultsAndSweepsStrategiesTimesWorkers) {
  const ExperimentConfig config = parse_experiment_config(base(), "file");
  EXPECT_EQ(config.output, "results/t");
  EXPECT_EQ(config.warmup, 2);
  EXPECT_EQ(config.optimizer.kind, syncbed::OptimizerConfig::Kind::kSgd);
  EXPECT_FLOAT_EQ(config.optimizer.momentum, 0.9f);
  EXPECT_FALSE(config.compute.emulated());
  const auto runs = syncbed::experiments::sweep(config);
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_EQ(runs[0].title(), "sharded, 1 worker");
  EXPECT_EQ(runs[3].title(), "ring, 2 workers");
  EXPECT_EQ(runs[5].index, 6);
  EXPECT_EQ(config.threads_for(1024), 1);
}

TEST(ExperimentConfig, TasksAddTheDriverRankAndLabelTheirGroup) {
  json j = base();
  j["strategies"] = {{{"name", "sharded"}, {"execution", "tasks"}},
                     {{"name", "sharded"}, {"execution", "tasks"}, {"group", 4}, {"block_store_mb", 64}}};
  j["faults"] = {{"kill", {{"run", 4}, {"rank", 2}, {"job", 2}}}};  // rank 2 of a 2-worker run: the driver
  const auto config = parse_experiment_config(j, "file");
  EXPECT_EQ(config.strategies[0].label, "sharded-tasks");
  EXPECT_EQ(config.strategies[0].extra_ranks(), 1);
  EXPECT_EQ(config.strategies[1].label, "sharded-tasks-g4");
  EXPECT_EQ(config.strategies[1].options.task_model.group, 4);
  EXPECT_EQ(config.strategies[1].options.task_model.block_store_bytes, std::size_t{64} << 20);
  EXPECT_EQ(config.kill.job, 2);
}

TEST(ExperimentConfig, OverlapIsAStrategyOptionWithDdpsBucketSize) {
  json j = base();
  j["strategies"] = {
      {{"name", "ring"}, {"overlap", true}}, {{"name", "sharded"}, {"overlap", true}, {"bucket_mb", 0.5}}, "ring"};
  const auto config = parse_experiment_config(j, "file");
  EXPECT_EQ(config.strategies[0].label, "ring-overlap");
  EXPECT_TRUE(config.strategies[0].options.overlap.enabled);
  EXPECT_EQ(config.strategies[0].options.overlap.bucket_bytes, std::size_t{25} << 20);
  EXPECT_EQ(config.strategies[1].options.overlap.bucket_bytes, std::size_t{1} << 19);
  EXPECT_FALSE(config.strategies[2].options.overlap.enabled);
}

// Emulated backward: layers released last first, each after its share of backward.
TEST(EmulatedCompute, ReleasesLayersLastFirstByTheirBackwardTimes) {
  using syncbed::experiments::ParameterLayer;
  using syncbed::experiments::release_schedule;
  const std::vector<ParameterLayer> layers{{"a", 0, 10}, {"b", 10, 30}, {"c", 40, 60}};
  const auto timed = release_schedule(layers, {100, 40, {{"a", 10}, {"b", 20}, {"c", 30}}});
  ASSERT_EQ(timed.size(), 3u);
  EXPECT_EQ(timed[0].begin, 40u);
  EXPECT_DOUBLE_EQ(timed[0].at_ms, 40 + 60.0 * 30 / 60);
  EXPECT_EQ(timed[1].begin, 10u);
  EXPECT_DOUBLE_EQ(timed[1].at_ms, 40 + 60.0 * 50 / 60);
  EXPECT_EQ(timed[2].begin, 0u);
  EXPECT_DOUBLE_EQ(timed[2].at_ms, 100);
  // Without calibrated layers: forward a third, backward shared by parameter count.
  const auto counted = release_schedule(layers, {90, -1, {}});
  EXPECT_DOUBLE_EQ(counted[0].at_ms, 30 + 60.0 * 60 / 100);
  EXPECT_DOUBLE_EQ(counted[1].at_ms, 30 + 60.0 * 90 / 100);
  // A model that does not tell its layers: everything at the end.
  const auto whole = release_schedule({}, {90, -1, {}});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].begin, 0u);
  EXPECT_DOUBLE_EQ(whole[0].at_ms, 90);
}

TEST(ExperimentConfig, AKillWithoutARunFiresInEveryRun) {
  EXPECT_FALSE(parse_experiment_config(base(), "file").kill.kills(1, 0));
  json j = base();
  j["faults"] = {{"kill", {{"rank", 0}, {"iteration", 4}}}};
  const auto every = parse_experiment_config(j, "file").kill;
  EXPECT_TRUE(every.kills(1, 0));
  EXPECT_TRUE(every.kills(6, 0));
  EXPECT_FALSE(every.kills(6, 1));
  j["faults"]["kill"]["run"] = 2;
  const auto one = parse_experiment_config(j, "file").kill;
  EXPECT_TRUE(one.kills(2, 0));
  EXPECT_FALSE(one.kills(1, 0));
}

TEST(ExperimentConfig, CheckpointsAreOffUnlessAsked) {
  EXPECT_EQ(parse_experiment_config(base(), "file").checkpoint_every, 0);
  json j = base();
  j["checkpoint_every"] = 50;
  const auto config = parse_experiment_config(j, "file");
  EXPECT_EQ(config.checkpoint_every, 50);
  EXPECT_EQ(config.max_restarts, 3);
  j["max_restarts"] = 0;
  EXPECT_EQ(parse_experiment_config(j, "file").max_restarts, 0);
}

TEST(ExperimentConfig, DropPolicyAndStragglerParseWithDefaults) {
  json j = base();
  j["strategies"] = {{{"name", "sharded"}, {"execution", "tasks"}, {"drop_percentage", 0.3}},
                     {{"name", "sharded"},
                      {"execution", "tasks"},
                      {"drop_percentage", 0.05},
                      {"max_drop_percentage", 0.2},
                      {"warmup_iterations", 0},
                      {"threshold_window", 100}}};
  j["faults"] = {{"straggler", {{"rank", 0}, {"slowdown", 3}}}};
  const auto config = parse_experiment_config(j, "file");
  EXPECT_EQ(config.strategies[0].label, "sharded-tasks-drop30");
  const auto& first = config.strategies[0].options.task_model.drop;
  EXPECT_DOUBLE_EQ(first.max_drop_percentage, 0.5);
  EXPECT_EQ(first.warmup_iterations, 10);
  EXPECT_EQ(first.threshold_window, 10);
  const auto& second = config.strategies[1].options.task_model.drop;
  EXPECT_EQ(config.strategies[1].label, "sharded-tasks-drop5");
  EXPECT_DOUBLE_EQ(second.max_drop_percentage, 0.2);
  EXPECT_EQ(second.warmup_iterations, 0);
  EXPECT_EQ(second.threshold_window, 100);
  EXPECT_TRUE(config.straggler.slows(0));
  EXPECT_FALSE(config.straggler.slows(1));
  EXPECT_DOUBLE_EQ(config.straggler.slowdown, 3.0);
  EXPECT_FALSE(parse_experiment_config(base(), "file").straggler.slows(0));
}

TEST(ExperimentConfig, NcfDefaultsToAdamAndLabelsBf16Variants) {
  json j = ncf_base();
  j["strategies"] = json::parse(R"(["sharded", {"name": "sharded", "compression": "bf16"}])");
  const ExperimentConfig config = parse_experiment_config(j, "file");
  EXPECT_EQ(config.optimizer.kind, syncbed::OptimizerConfig::Kind::kAdam);
  EXPECT_EQ(config.strategies[1].label, "sharded-bf16");
  EXPECT_EQ(config.epochs, 1);
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("syncbed_config_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string load_refusal(const std::string& path, const std::vector<std::string>& overrides = {}) {
    try {
      load_experiment_config(path, overrides);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(accepted)";
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFile, NamesAMissingFileAndBrokenJson) {
  EXPECT_EQ(load_refusal((dir_ / "none.json").string()),
            "cannot read config file '" + (dir_ / "none.json").string() + "': No such file or directory");
  const auto broken = write("broken.json", "{\"name\": ");
  EXPECT_EQ(load_refusal(broken).rfind(broken + ": not valid JSON: ", 0), 0u) << load_refusal(broken);
}

// Hostile files: each is refused with the file, the field and the reason, and never
// crashes (deep nesting overflowed the stack) or reads without end (/dev/zero).
TEST_F(ConfigFile, RefusesWhatCannotBeAConfig) {
  EXPECT_EQ(load_refusal("/dev/zero"), "config file '/dev/zero' is not a regular file (a device, FIFO or socket)");
  EXPECT_EQ(load_refusal(dir_.string()),
            "config file '" + dir_.string() + "' is not a regular file (it is a directory)");
  const auto deep = write("deep.json", "{\"name\": " + std::string(100'000, '[') + std::string(100'000, ']') + "}");
  std::string where = "name";
  for (int level = 1; level < 64; ++level) where += "[0]";  // the 64th array is the one too deep
  EXPECT_EQ(load_refusal(deep), deep + ": " + where + ": nested deeper than 64 levels");
  const auto huge =
      write("huge.json", R"({"name": "t", "model": {"name": "ncf", "batch": 1)" + std::string(400, '0') + "}}");
  EXPECT_EQ(load_refusal(huge).rfind(huge + ": model.batch: number overflow parsing '1", 0), 0u) << load_refusal(huge);
  const auto twice = write("twice.json", R"({"name": "t", "model": {"name": "ncf", "name": "inception_v1"}})");
  EXPECT_EQ(load_refusal(twice), twice + ": model.name: is given twice in one object");
  const auto big = write("big.json", "{\"description\": \"" + std::string(17 << 20, 'x') + "\"}");
  EXPECT_EQ(load_refusal(big), big + ": 17825811 bytes is too large for a config (at most 16M)");
}

TEST_F(ConfigFile, OverridesApplyBeforeValidation) {
  json j = base();
  j.erase("name");
  const auto path = write("sweep.json", j.dump());
  const auto config =
      load_experiment_config(path, {"workers=[4]", "model.batch=3", R"(strategies=["ring"])", "output=out"});
  EXPECT_EQ(config.name, "sweep");  // the file's stem
  EXPECT_EQ(config.workers, std::vector<int>{4});
  EXPECT_EQ(config.model.batch, 3);
  EXPECT_EQ(config.output, "out");
  ASSERT_EQ(config.strategies.size(), 1u);
  EXPECT_EQ(config.strategies[0].name, "ring");
  EXPECT_NE(config.hash(), load_experiment_config(path).hash());
  EXPECT_EQ(load_refusal(path, {"strategies.1=ps"}),
            path + ": config: strategies[2]: label 'ps' is used twice; give one a distinct \"label\"");
  EXPECT_EQ(load_refusal(path, {"workers"}), "--set 'workers': expected KEY=VALUE, e.g. workers=[1,2]");
  EXPECT_EQ(load_refusal(path, {"strategies.9=ps"}), "--set 'strategies.9=ps': index 9 is past the end");
  EXPECT_EQ(load_refusal(path, {"strategies.x=ps"}), "--set 'strategies.x=ps': 'x' is not an array index");
  EXPECT_EQ(load_refusal(path, {"iterations.x=1"}),
            "--set 'iterations.x=1': 'x' is inside a value that is not an object");
}

TEST_F(ConfigFile, FromCalibrationNeedsAMatchingCalibration) {
  json j = base();
  j["output"] = (dir_ / "out").string();
  j["compute"] = {{"from_calibration", true}};
  auto config = parse_experiment_config(j, "file");
  try {
    syncbed::experiments::resolve_compute(config);
    FAIL() << "accepted a missing calibration";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "config: compute.from_calibration: " + (dir_ / "out/calibration.json").string() +
                                         " does not exist; run `syncbed calibrate` on this config first");
  }
  std::filesystem::create_directories(dir_ / "out");
  json other = j["model"];
  other["batch"] = 99;
  write("out/calibration.json", json{{"model", other}, {"data", j["data"]}, {"compute_ms", 12.5}}.dump());
  EXPECT_THROW(syncbed::experiments::resolve_compute(config), std::invalid_argument);
  write("out/calibration.json", json{{"model", j["model"]}, {"data", j["data"]}, {"compute_ms", 12.5}}.dump());
  syncbed::experiments::resolve_compute(config);
  EXPECT_DOUBLE_EQ(config.compute.emulated_ms, 12.5);
}

// What the repository ships must load as it is: a renamed field or a tightened check
// that forgets a config is caught here, not by a user.
TEST(ShippedConfigs, EveryOneLoads) {
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SYNCBED_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(load_experiment_config(entry.path().string()));
    ++loaded;
  }
  EXPECT_GE(loaded, 10);
}

// BigDL's rule: one replica per core, so the global batch at N is a multiple of N x cores.
TEST(SimulateSpec, TheGlobalBatchIsRoundedUpToWholeReplicasPerCore) {
  SimulateSpec spec;
  spec.global_batch = 9216;
  spec.cores_per_node = 36;
  EXPECT_EQ(spec.batch_at(16), 9216);
  EXPECT_EQ(spec.batch_at(256), 9216);
  EXPECT_EQ(spec.batch_at(96), 10368);
  EXPECT_EQ(spec.batch_at(196), 14112);
}

}  // namespace
