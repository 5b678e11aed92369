#!/usr/bin/env bash
# syncbed as a library: installs the build into a temporary prefix, builds examples/
# against the installed CMake package out of tree, as another project would, and runs
# it for every strategy that steps in-process.
#   installed_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1" source="$2"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/lib/cmake/syncbed/syncbedConfigVersion.cmake"
test -f "$prefix/include/syncbed/sync/registry.h"
cmake -S "$source/examples" -B "$prefix/examples" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/examples" >/dev/null
for run in "ring 3" "sharded 4" "halving_doubling 5" "ps 3" "ring 1"; do
  # shellcheck disable=SC2086
  "$prefix/examples/threads_step" $run 100003
done
# A strategy that is not registered is refused before any rank starts.
if said=$("$prefix/examples/threads_step" nosuch 2 2>&1); then
  echo "threads_step accepted an unknown strategy: $said" >&2
  exit 1
fi
grep -q "nosuch" <<<"$said" || { echo "the refusal does not name the strategy: $said" >&2; exit 1; }
echo "installed package: ok"
