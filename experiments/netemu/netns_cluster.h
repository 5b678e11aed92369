// The emulated cluster of one sweep with "network": {"kind": "netns", ...}: created by
// scripts/netns_cluster.sh on construction and removed on destruction, so every way out
// of a sweep (success, failure, exception, Ctrl-C) leaves no namespace behind.
#pragma once

#include <string>
#include <vector>

#include "experiments/netemu/network_spec.h"

namespace syncbed::experiments {

class NetnsCluster {
 public:
  // Throws std::runtime_error with the script's own message (e.g. "must be run as root").
  NetnsCluster(int hosts, const NetworkSpec& network);
  ~NetnsCluster();
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  const std::string& name() const { return name_; }
  const std::string& namespace_of(int host) const { return namespaces_.at(host); }
  const std::string& address_of(int host) const { return addresses_.at(host); }

 private:
  std::string name_;
  std::vector<std::string> namespaces_, addresses_;
};

}  // namespace syncbed::experiments
