#!/usr/bin/env bash
# Run Samby on this machine: prepare everything, bring the database up to date,
# load the demo data, then start the web server, the Celery worker and Celery
# beat together (infra/Procfile). Ctrl-C stops all three.
#
# HOST and PORT choose where the web server listens (default 127.0.0.1:8000).
set -euo pipefail

# shellcheck source=SCRIPTDIR/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" all

manage() { python manage.py "$@"; }

manage migrate --noinput
ok "database migrated"
compile_messages_if_any
# Afresh: the load test and the multi-process layout collect here with production's
# storage, whose compressed copies (.gz, .br) WhiteNoise would serve in place of a
# script changed since.
manage collectstatic --noinput --clear -v 0
ok "static files collected"

# seed_demo is idempotent: a second run finds its data in place.
seed_output="$(manage seed_demo 2>&1)" || {
    printf '%s\n' "$seed_output" >&2
    die "manage.py seed_demo failed."
}
ok "demo data loaded"
# seed_demo ends with the demo logins.
demo_info="$seed_output"

host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
# 0.0.0.0 and :: mean "every interface"; a browser on this machine wants loopback.
case "$host" in 0.0.0.0 | "::") url_host=127.0.0.1 ;; *) url_host="$host" ;; esac
base="http://$url_host:$port"

cat <<INFO

  Samby is starting at   $base/
  API documentation      $base/api/docs/
  Health check           $base/healthz

INFO
if [[ -n "$demo_info" ]]; then
    printf '%s\n' "$demo_info" | sed 's/^/  /'
    echo
fi

# honcho gives each process a PORT of its own counting up from -p; the web
# process comes first, so it gets exactly $port.
exec honcho -f infra/Procfile start -p "$port"
