// How many CPUs this process may really use, and how crowded they are: OpenMP's defaults
// assume a machine of one's own, which shared nodes and busy machines are not.
#pragma once

namespace syncbed {

// CPUs in this process's affinity mask, capped by a cgroup CPU quota if there is one.
int usable_cpus();

// Ranks of this job on this machine, from the launcher's SYNCBED_LOCAL_RANKS, torchrun's
// LOCAL_WORLD_SIZE or Slurm's SLURM_TASKS_PER_NODE; 1 when none says.
int local_ranks();

// The CPUs each rank on this machine should compute with: usable / local ranks, >= 1.
int threads_per_local_rank();

struct MachineLoad {
  double average = 0;  // the 1-minute load average: runnable threads lately
  int runnable = 0;    // runnable threads now, this one included
};
MachineLoad machine_load();

// OpenMP threads that spin while they wait (libgomp's default) collapse when they must
// share CPUs: with more ranks here than CPUs, or a machine already busy. Then they should
// sleep (OMP_WAIT_POLICY=PASSIVE). The runtime reads that once, when it loads, so this
// re-executes the process with it set; it returns when nothing needs to change, when the
// user chose a policy, or when a syncbed process above this one already decided
// (SYNCBED_OMP_DECIDED, inherited).
void choose_openmp_wait_policy(char** argv);

}  // namespace syncbed
