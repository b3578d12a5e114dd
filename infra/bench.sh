#!/usr/bin/env bash
# Benchmarks: the tests marked `perf` under tests/perf, which `make test` skips.
# -s shows their timings; no cache, so a benchmark run leaves no trace in
# .pytest_cache. Extra arguments go to pytest.
set -euo pipefail

# shellcheck source=SCRIPTDIR/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" all

if [[ ! -d tests/perf ]]; then
    warn "There is no tests/perf directory yet: nothing to benchmark."
    exit 0
fi
rc=0
run_pytest -m perf tests/perf -p no:cacheprovider -s "$@" || rc=$?
exit "$rc"
