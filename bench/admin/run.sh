#!/bin/sh
# Admin API figures over N cases: ms per tracking-table page, search, CSV, /metrics.
# Usage: bench/admin/run.sh [path/to/bench_admin]  (DG_BENCH_CASES=20000 DG_BENCH_REPEAT=5)
bin=${1:-./bench/admin/bench_admin}
"$bin"
