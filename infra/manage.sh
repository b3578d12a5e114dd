#!/usr/bin/env bash
# manage.py with the same environment the app gets from `make run`:
#   infra/manage.sh migrate --noinput
#   infra/manage.sh shell
set -euo pipefail

# shellcheck source=SCRIPTDIR/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" all >&2
exec python manage.py "$@"
