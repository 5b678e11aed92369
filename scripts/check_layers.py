#!/usr/bin/env python3
"""Checks that the include graph runs one way: each area includes only itself and the
areas below it. Run from anywhere; exits 1 and names every include that runs upward.

    core  <-  sync, models  <-  experiments/netemu, experiments/workloads  <-  experiments/harness
          <-  experiments/worker, experiments/sim, experiments/bench  <-  experiments/cli
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Area -> the areas it may include besides itself. Areas are path prefixes; the longest wins.
ALLOWED = {
    "core": set(),
    "sync": {"core"},
    "models": {"core"},
    "experiments/netemu": {"core"},
    "experiments/workloads": {"core", "models"},
    "experiments/harness": {"core", "sync", "models", "experiments/netemu", "experiments/workloads"},
    "experiments/worker": {"core", "sync", "models", "experiments/netemu", "experiments/workloads",
                           "experiments/harness"},
    "experiments/sim": {"core", "sync", "models", "experiments/netemu", "experiments/workloads",
                        "experiments/harness"},
    "experiments/bench": {"core", "sync", "models", "experiments/netemu", "experiments/workloads",
                          "experiments/harness"},
    "experiments/cli": {"core", "sync", "models", "experiments/netemu", "experiments/workloads",
                        "experiments/harness", "experiments/worker", "experiments/sim", "experiments/bench"},
}


def area_of(path):
    matches = [a for a in ALLOWED if path == a or path.startswith(a + "/")]
    return max(matches, key=len) if matches else None


def main():
    wrong = []
    for file in sorted(ROOT.rglob("*")):
        if file.suffix not in (".h", ".cc") or not file.is_file():
            continue
        relative = file.relative_to(ROOT).as_posix()
        area = area_of(relative)
        if area is None:
            continue  # tests, build trees: not layered
        for number, line in enumerate(file.read_text().splitlines(), 1):
            found = re.match(r'#include "([^"]+)"', line)
            if not found:
                continue
            target = area_of(found.group(1))
            if target is not None and target != area and target not in ALLOWED[area]:
                wrong.append(f"{relative}:{number}: {area} must not include {found.group(1)} ({target})")
    for line in wrong:
        print(line)
    print(f"check_layers: {len(wrong)} include(s) run against the layers" if wrong else "check_layers: ok")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
