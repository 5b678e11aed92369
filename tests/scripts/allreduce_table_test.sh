#!/usr/bin/env bash
# scripts/allreduce_table.py on known measurements (variant workers size busbw cpu-ms
# context-switches, three rounds): the busbw table and the CPU cost table hold the medians
# of the rounds, the target ratios are ratios of those medians, and the files are written.
# usage: allreduce_table_test.sh SOURCE_DIR
set -euo pipefail
script=$1/scripts/allreduce_table.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/all" <<'ROWS'
ring 2 4194304 1.0 30.0 900
mpi 2 4194304 2.0 20.0 50
ring 2 4194304 3.0 10.0 700
mpi 2 4194304 4.0 40.0 70
ring 2 4194304 2.0 20.0 800
mpi 2 4194304 3.0 60.0 60
ROWS
/usr/bin/python3 "$script" "$work/all" "$work" >"$work/out.txt"
fail() { echo "allreduce_table test: $1"; cat "$work/out.txt"; exit 1; }
grep -qE '^ +2 +4M +2\.000 +3\.000$' "$work/out.txt" || fail "busbw medians (ring 2, mpi 3) missing"
grep -qE 'ring / Open MPI +N=2 +4M +0\.67x / 1\.00x +MISSED' "$work/out.txt" || fail "ring / Open MPI ratio wrong"
grep -qE '^ +2 +4M +20\.0/800 +40\.0/60 *$' "$work/out.txt" || fail "cost medians (ring 20 ms/800, mpi 40 ms/60) missing"
grep -qxF "ring,2,4194304,20.000,800.0" "$work/cost.csv" || fail "cost.csv lacks ring's row"
grep -qxF "mpi,2,4194304,40.000,60.0" "$work/cost.csv" || fail "cost.csv lacks mpi's row"
for f in compare.csv targets.csv compare.png; do [ -s "$work/$f" ] || fail "no $f"; done
echo "allreduce_table test: ok"
