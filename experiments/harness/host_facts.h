// Facts about this machine and build that every result carries: CPU, cores, memory,
// kernel, compiler and library versions, and the git revision of the source.
#pragma once

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

nlohmann::json host_facts();

}  // namespace syncbed::experiments
