#!/bin/sh
# Run the engine benchmark and print its figures.
# Usage: bench/engine/run.sh [path/to/bench_engine]  (DG_BENCH_CASES=1000000)
bin=${1:-./bench/engine/bench_engine}
db=${TMPDIR:-/tmp}/duegate-bench-engine.$$.db
"$bin" "$db"
