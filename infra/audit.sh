#!/usr/bin/env bash
# Dependency audit: pip-audit checks every pinned package in requirements.lock against
# the public vulnerability database (PyPI's advisories, the same as OSV's PyPA data).
#
#   infra/audit.sh                 run alone (make audit); infra/test.sh runs it too
#
# Known vulnerabilities fail the run. Offline-tolerant: when the database cannot be
# reached (no network, the service down, the packages unknown to the mirror), it
# prints a warning and succeeds, so a machine without Internet still runs the suite.
#   PIP_AUDIT_IGNORE=GHSA-xxxx,PYSEC-yyyy   accept these advisories (say why in the commit)
#   SAMBY_SKIP_AUDIT=1                      skip the audit
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_dependency_audit() {
    local report rc=0
    local -a ignore=()
    if [[ "${SAMBY_SKIP_AUDIT:-}" == 1 ]]; then
        warn "dependency audit skipped (SAMBY_SKIP_AUDIT=1)"
        return 0
    fi
    if [[ ! -x "$VENV/bin/pip-audit" ]]; then
        warn "pip-audit is not installed in .venv; dependency audit skipped"
        return 0
    fi
    local accepted="${PIP_AUDIT_IGNORE:-}"
    for id in ${accepted//,/ }; do ignore+=(--ignore-vuln "$id"); done
    mkdir -p "$SAMBY_VAR_DIR"
    report="$SAMBY_VAR_DIR/pip-audit.json"
    rm -f "$report"  # never read an earlier run's verdict
    # --no-deps: the lock already pins every package; --disable-pip: nothing to install.
    timeout 300 "$VENV/bin/pip-audit" -r "$SAMBY_ROOT/requirements.lock" --no-deps --disable-pip \
        --progress-spinner off --format json -o "$report" ${ignore[@]+"${ignore[@]}"} \
        >"$SAMBY_VAR_DIR/pip-audit.log" 2>&1 || rc=$?
    "$VENV/bin/python" "$SAMBY_ROOT/infra/audit_report.py" "$report" "$rc"
}

# Run directly (make audit); sourced by infra/test.sh: just define the function.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    # shellcheck source=SCRIPTDIR/bootstrap.sh
    source "$SAMBY_ROOT/infra/bootstrap.sh" venv
    run_dependency_audit
fi
