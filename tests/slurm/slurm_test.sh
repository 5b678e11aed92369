#!/usr/bin/env bash
# syncbed under a real Slurm (scripts/slurm_local.sh: one node on 127.0.0.1):
#   1. `srun -n 4 --overcommit syncbed worker CONFIG` ends with the weights of a local
#      `syncbed worker --workers 4` run of the same config, for every strategy;
#   2. `sbatch scripts/slurm/syncbed.sbatch` completes with 2 tasks per node, submitted from
#      a directory that is not the checkout, with the weights of a local 2-worker run;
#   3. a rank killed with SIGKILL fails the job step, and every survivor's error names it.
# Usage: slurm_test.sh SYNCBED_BINARY SOURCE_DIR. Root only (slurmd runs tasks as their
# user); exits 77 (skipped) otherwise.
set -euo pipefail
syncbed=$1
source_dir=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm tests: skipped: they need root to run slurmctld and slurmd"
  exit 77
fi

work=$(mktemp -d)
export SLURM_LOCAL_DIR="$work/slurm" SLURM_LOCAL_PORT=16817
trap '"$source_dir/scripts/slurm_local.sh" down; rm -rf "$work"' EXIT
"$source_dir/scripts/slurm_local.sh" up >/dev/null
export SLURM_CONF="$SLURM_LOCAL_DIR/slurm.conf"
# One node on loopback: ranks listen and meet on 127.0.0.1 only.
export MASTER_ADDR=127.0.0.1 SYNCBED_BIND=127.0.0.1

fail() {
  echo "slurm tests: FAILED: $*"
  exit 1
}

# Each strategy's weights hash in a results directory, one line per strategy.
hashes() { grep -o '"strategy":"[^"]*"\|"weights_hash":"[^"]*"' "$1/summary.jsonl" | paste -d' ' - -; }

config="$work/small.json"
cat > "$config" <<'EOF'
{"name": "slurm_small", "model": {"name": "ncf", "batch": 256},
 "data": {"kind": "synthetic", "users": 2000, "items": 1000},
 "optimizer": {"kind": "adam", "lr": 0.002},
 "strategies": ["ring", "sharded", "ps", "halving_doubling"], "workers": [4],
 "iterations": 6, "warmup": 1, "seed": 7, "timeout_s": 30}
EOF

echo "== srun -n 4 --overcommit syncbed worker"
timeout 120 srun -n 4 --overcommit --kill-on-bad-exit=1 "$syncbed" worker "$config" --bind 127.0.0.1 \
  --set output="$work/srun" || fail "srun exited with $?"
"$syncbed" worker "$config" --workers 4 --set output="$work/local4" >/dev/null
[ "$(hashes "$work/srun" | wc -l)" -eq 4 ] || fail "srun wrote $(hashes "$work/srun" | wc -l) of 4 summaries"
[ "$(hashes "$work/srun")" = "$(hashes "$work/local4")" ] ||
  fail "weights under srun differ from the local run: $(hashes "$work/srun") vs $(hashes "$work/local4")"
hashes "$work/srun"

echo "== sbatch scripts/slurm/syncbed.sbatch, 2 tasks per node, submitted from another directory"
mkdir "$work/submit"
cp "$config" "$work/submit/small.json"
# The checkout's own build is what the script finds; another build directory is named.
[ "$source_dir/build/experiments/syncbed" -ef "$syncbed" ] || export SYNCBED_BIN="$syncbed"
(cd "$work/submit" && timeout 180 sbatch --wait --nodes=1 --ntasks-per-node=2 --output=job.out \
  "$source_dir/scripts/slurm/syncbed.sbatch" small.json --set output=batch) ||
  fail "sbatch exited with $?: $(cat "$work/submit/job.out" 2>/dev/null)"
unset SYNCBED_BIN
"$syncbed" worker "$config" --workers 2 --set output="$work/local2" >/dev/null
[ "$(hashes "$work/submit/batch" | wc -l)" -eq 4 ] || fail "the batch job wrote no results: $(cat "$work/submit/job.out")"
[ "$(hashes "$work/submit/batch")" = "$(hashes "$work/local2")" ] ||
  fail "weights of the batch job differ from the local run: $(hashes "$work/submit/batch") vs $(hashes "$work/local2")"
hashes "$work/submit/batch"

echo "== a rank killed with SIGKILL"
mkdir "$work/kill"
cat > "$work/kill/long.json" <<'EOF'
{"name": "slurm_kill", "model": {"name": "ncf", "batch": 256},
 "data": {"kind": "synthetic", "users": 2000, "items": 1000},
 "optimizer": {"kind": "sgd", "lr": 0.01}, "strategies": ["ring"], "workers": [4],
 "iterations": 1000, "warmup": 1, "compute": {"emulated_ms": 50}, "timeout_s": 20}
EOF
cd "$work/kill"
# --kill-on-bad-exit=0: the survivors must end on their own, each saying why.
start=$SECONDS
timeout 120 srun -n 4 --overcommit --kill-on-bad-exit=0 --output='rank%t.out' --error='rank%t.err' \
  bash -c 'echo $$ > "pid.$SLURM_PROCID"; exec "$0" worker long.json --bind 127.0.0.1 --set output=out' \
  "$syncbed" &
step=$!
for _ in $(seq 100); do
  [ "$(ls pid.* 2>/dev/null | wc -l)" -eq 4 ] && break
  sleep 0.2
done
sleep 3  # well into training
kill -9 "$(cat pid.2)"
status=0
wait "$step" || status=$?
[ "$status" -ne 0 ] || fail "the job step succeeded although rank 2 was killed"
[ "$status" -ne 124 ] || fail "the job step did not end within 120 s of rank 2's death"
for survivor in 0 1 3; do
  error=$(grep 'syncbed worker: error:' "rank$survivor.err" || true)
  [[ "$error" == *"rank 2 ("* ]] || fail "rank $survivor's error does not name rank 2: '$error' ($(cat "rank$survivor.err"))"
  echo "rank $survivor: ${error:0:160}"
done
echo "step failed with status $status, $((SECONDS - start)) s after it started"
echo "slurm tests: ok"
