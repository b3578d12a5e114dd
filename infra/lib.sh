# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for the infra scripts. Sourced, never run on its own.
# (SC2034: the settings below are used by the scripts that source this file.)

SAMBY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Everything generated at run time (private databases, logs, static files) lives
# under one directory so `make clean` can remove it in one go. SAMBY_VAR_DIR moves
# it elsewhere, e.g. to try the private services without touching var/.
SAMBY_VAR_DIR="${SAMBY_VAR_DIR:-$SAMBY_ROOT/var}"
case "$SAMBY_VAR_DIR" in
    /*) ;;
    *) SAMBY_VAR_DIR="$SAMBY_ROOT/$SAMBY_VAR_DIR" ;;
esac
export SAMBY_VAR_DIR

VENV="$SAMBY_ROOT/.venv"
SERVICES_ENV="$SAMBY_VAR_DIR/services.env"

# The private services use uncommon ports so they never collide with a system
# PostgreSQL (5432) or Redis (6379) running next to them.
PRIVATE_PG_PORT="${SAMBY_PRIVATE_PG_PORT:-55432}"
PRIVATE_PG_DATA="$SAMBY_VAR_DIR/postgres"
PRIVATE_PG_LOG="$SAMBY_VAR_DIR/postgres.log"
PRIVATE_RUN_DIR="$SAMBY_VAR_DIR/run"
PRIVATE_REDIS_PORT="${SAMBY_PRIVATE_REDIS_PORT:-56379}"
PRIVATE_REDIS_DIR="$SAMBY_VAR_DIR/redis"
PRIVATE_REDIS_PID="$PRIVATE_RUN_DIR/redis.pid"
PRIVATE_REDIS_LOG="$SAMBY_VAR_DIR/redis.log"

ok() { printf '✓ %s\n' "$*"; }
note() { printf '  %s\n' "$*"; }
warn() { printf '! %s\n' "$*" >&2; }
die() {
    printf '✗ %s\n' "$*" >&2
    exit 1
}

# Newest PostgreSQL server binaries installed by the Debian packages
# (/usr/lib/postgresql/<major>/bin), or nothing.
pg_bindir() {
    local candidate best=""
    for candidate in /usr/lib/postgresql/*/bin; do
        [[ -x "$candidate/postgres" ]] || continue
        if [[ -z "$best" ]] || [[ "${candidate//[!0-9]/}" -gt "${best//[!0-9]/}" ]]; then
            best="$candidate"
        fi
    done
    [[ -n "$best" ]] && printf '%s\n' "$best"
}

# initdb, pg_ctl and postgres refuse to run as root, so when we are root the
# private cluster belongs to the `postgres` system user created by the packages.
as_pg_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

private_pg_running() {
    local bindir
    bindir="$(pg_bindir)" || return 1
    [[ -f "$PRIVATE_PG_DATA/PG_VERSION" ]] || return 1
    as_pg_owner "$bindir/pg_ctl" -D "$PRIVATE_PG_DATA" status >/dev/null 2>&1
}

private_redis_pid() {
    local pid
    [[ -f "$PRIVATE_REDIS_PID" ]] || return 1
    pid="$(<"$PRIVATE_REDIS_PID")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# True when a .po catalogue exists outside the virtualenv and var/: only then is
# there anything for compilemessages to do.
has_po_files() {
    find "$SAMBY_ROOT" \( -path "$VENV" -o -path "$SAMBY_VAR_DIR" -o -path "$SAMBY_ROOT/.git" \
        -o -name node_modules \) -prune -o -name '*.po' -print -quit | grep -q .
}

compile_messages_if_any() {
    if has_po_files; then
        python manage.py compilemessages --ignore=.venv --ignore=var -v 0
        ok "translations compiled"
    fi
}

# pytest exits with 5 when it collected no tests. Early in a project (or with a
# narrow -k) that is not a failure, so say so loudly and succeed.
run_pytest() {
    local rc=0
    python -m pytest "$@" || rc=$?
    if [[ $rc -eq 5 ]]; then
        warn "pytest collected no tests (exit code 5); treating that as success."
        return 0
    fi
    return "$rc"
}
