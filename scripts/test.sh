#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the full suite on a Release
# build, then the transport and sync tests again under ASan+UBSan and under TSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# As root the suite also runs syncbed under a real single-node Slurm (tests/slurm) and
# draws a trace in headless Chromium (tests/trace).
if [ "$(id -u)" -eq 0 ]; then scripts/setup.sh slurmctld slurmd slurm-client munge chromium fonts-liberation; fi

start=$SECONDS
# Style: every C++ file as .clang-format has it; a file that would change fails the suite.
echo "== clang-format check"
git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run --Werror
scripts/build.sh build
(cd build && ctest --output-on-failure --parallel 2)

# Sanitizer builds compile only what the transport and sync tests need.
sanitized_targets=(frame_test mesh_test mesh_large_exchange_test ring_allreduce_test parameter_sync_test tasks_test tasks_driver_test)
for sanitizer in address,undefined thread; do
  dir="build-${sanitizer%%,*}"
  echo "== transport and sync tests under -fsanitize=$sanitizer"
  cmake -S . -B "$dir" -G Ninja -DSYNCBED_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSYNCBED_SANITIZE="$sanitizer" -DSYNCBED_BENCHMARKS=OFF >/dev/null
  cmake --build "$dir" --parallel "$(nproc)" --target "${sanitized_targets[@]}"
  (cd "$dir" && ctest --output-on-failure --parallel 2 -L 'transport|sync')
done
echo "scripts/test.sh: all tests passed in $((SECONDS - start)) s"
