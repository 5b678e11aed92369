// How far this rank's clock is from rank 0's, so every rank's timeline can be drawn on
// one time axis.
#pragma once

#include "core/transport/mesh.h"
#include "experiments/harness/trace_file.h"

namespace syncbed::experiments {

// Collective: rank 0 answers `rounds` ping-pongs of every other rank with its clock; each
// keeps the estimate of its shortest round trip (as NTP does). Rank 0 gets {0, 0}.
ClockOffset measure_clock_offset(net::Mesh& mesh, int rounds = 8);

}  // namespace syncbed::experiments
