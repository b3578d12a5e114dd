#!/usr/bin/env bash
# Stop the private PostgreSQL and Redis that infra/bootstrap.sh started under
# var/ (never a system server). Their data stays; the next bootstrap restarts
# them.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_private_postgres() {
    local bindir
    if private_pg_running; then
        bindir="$(pg_bindir)"
        as_pg_owner "$bindir/pg_ctl" -D "$PRIVATE_PG_DATA" -m fast -w stop >/dev/null
        ok "stopped the private PostgreSQL ($PRIVATE_PG_DATA)"
    fi
}

# Only the process named in our pid file: another Redis on the same port is
# not ours to stop.
stop_private_redis() {
    local pid
    pid="$(private_redis_pid)" || return 0
    kill "$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || {
            ok "stopped the private Redis (port $PRIVATE_REDIS_PORT)"
            return 0
        }
        sleep 0.1
    done
    die "The private Redis (pid $pid) did not stop."
}

stop_private_postgres
stop_private_redis
