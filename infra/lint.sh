#!/usr/bin/env bash
# Static checks: ruff (lint and formatting) and import-linter (the layer
# contract in pyproject.toml). A tool missing from .venv is skipped. All checks
# run, so one run shows every problem.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_lint() {
    local failed=()
    cd "$SAMBY_ROOT"
    if [[ -x "$VENV/bin/ruff" ]]; then
        "$VENV/bin/ruff" check . || failed+=("ruff check")
        "$VENV/bin/ruff" format --check . || failed+=("ruff format (run: .venv/bin/ruff format .)")
    fi
    if [[ -x "$VENV/bin/lint-imports" ]]; then
        "$VENV/bin/lint-imports" || failed+=("lint-imports")
    fi
    if [[ ${#failed[@]} -gt 0 ]]; then
        warn "lint failed: ${failed[*]}"
        return 1
    fi
    ok "lint"
}

# Run directly (make lint): only the Python environment is needed, no servers.
# Sourced (infra/test.sh): just define run_lint.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    # shellcheck source=SCRIPTDIR/bootstrap.sh
    source "$SAMBY_ROOT/infra/bootstrap.sh" venv
    run_lint
fi
