#!/usr/bin/env bash
# The full check, as CI runs it: bootstrap, lint, compile translations, pytest.
# Arguments go to pytest unchanged: infra/test.sh -k rides -x
set -euo pipefail

# shellcheck source=SCRIPTDIR/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" all
# shellcheck source=SCRIPTDIR/lint.sh
source "$SAMBY_ROOT/infra/lint.sh"

run_lint
compile_messages_if_any
rc=0
run_pytest "$@" || rc=$?
exit "$rc"
