#!/usr/bin/env bash
# The full check, as CI runs it: bootstrap, lint, dependency audit, compile
# translations, pytest (the fault tests in tests/faults included).
# Arguments go to pytest unchanged: infra/test.sh -k rides -x
set -euo pipefail

# shellcheck source=SCRIPTDIR/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" all
# shellcheck source=SCRIPTDIR/lint.sh
source "$SAMBY_ROOT/infra/lint.sh"
# shellcheck source=SCRIPTDIR/audit.sh
source "$SAMBY_ROOT/infra/audit.sh"

run_lint
run_dependency_audit
compile_messages_if_any
rc=0
run_pytest "$@" || rc=$?
exit "$rc"
