#!/usr/bin/env bash
# Prepare this machine to run Samby: system packages, the Python environment in
# .venv, and a PostgreSQL (with PostGIS) and Redis to talk to. The result is
# var/services.env, which exports DATABASE_URL and REDIS_URL.
#
#   infra/bootstrap.sh                  every step
#   infra/bootstrap.sh venv             only some steps (system, venv, services)
#   source infra/bootstrap.sh all       same, and keep the exported variables
#
# Every step checks before it acts, so a second run changes nothing and takes
# about a second.
#
# Environment:
#   DATABASE_URL, REDIS_URL      use these servers as they are
#   SAMBY_PRIVATE_SERVICES=1     ignore any running servers and start private
#                                ones under var/ (ports 55432 and 56379)
#   SAMBY_VAR_DIR                where var/ lives (default: <repo>/var)
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UV_VERSION="0.13.9"
LOCAL_PG_URL="postgis://samby:samby@127.0.0.1:5432/samby"
PRIVATE_PG_URL="postgis://samby:samby@127.0.0.1:$PRIVATE_PG_PORT/samby"
LOCAL_REDIS_URL="redis://127.0.0.1:6379/0"
PRIVATE_REDIS_URL="redis://127.0.0.1:$PRIVATE_REDIS_PORT/0"
export PGCONNECT_TIMEOUT=5

# A URL this script wrote into services.env earlier and that the user then
# sourced is not a choice they made: discover again instead of trusting it, so
# a stopped private server gets started rather than reported as broken.
user_database_url() {
    [[ "${SAMBY_PRIVATE_SERVICES:-}" == 1 ]] && return 0
    case "${DATABASE_URL:-}" in
        "" | "$LOCAL_PG_URL" | "$PRIVATE_PG_URL") ;;
        *) printf '%s\n' "$DATABASE_URL" ;;
    esac
}

user_redis_url() {
    [[ "${SAMBY_PRIVATE_SERVICES:-}" == 1 ]] && return 0
    case "${REDIS_URL:-}" in
        "" | "$LOCAL_REDIS_URL" | "$PRIVATE_REDIS_URL") ;;
        *) printf '%s\n' "$REDIS_URL" ;;
    esac
}

# ---------------------------------------------------------------- system step

# apt-get as root, or through sudo when it needs no password. Anything else
# would hang on a prompt or fail halfway, so stop early and say what to run.
apt_install() {
    local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
    if [[ $EUID -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            apt=(sudo -n "${apt[@]}")
        else
            die "Missing system packages: $*
  Install them, then run this again:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends $*"
        fi
    fi
    note "installing system packages: $*"
    if [[ -z "${APT_UPDATED:-}" ]]; then
        "${apt[@]}" update -qq
        APT_UPDATED=1
    fi
    "${apt[@]}" install -y -qq --no-install-recommends "$@"
}

# Fully installed packages, one name a line. `dpkg -s` alone would also accept
# a removed package whose configuration files are still around.
installed_packages() {
    dpkg-query -W -f='${db:Status-Status} ${Package}\n' 2>/dev/null | awk '$1 == "installed" { print $2 }'
}

# Why each package: psql/pg_isready talk to the database; GeoDjango loads
# GDAL, GEOS and PROJ as shared libraries; gettext's msgfmt compiles the
# translations; the browser tests drive chromium through chromedriver; nginx is the
# load balancer of the multi-process layout (infra/multiproc.py: fault and load tests;
# without it a Python balancer stands in). The database and Redis servers are only
# needed when no URL was given for them.
system_packages() {
    local installed pkg pg_major="" bindir
    local -a wanted=(gdal-bin libgdal32 libgeos-c1v5 libproj25 gettext chromium chromium-driver nginx)
    local -a missing=()
    installed="$(installed_packages)"

    # Any postgresql-client-<major> provides psql; the metapackage picks one.
    grep -qE '^postgresql-client-[0-9]+$' <<<"$installed" || wanted+=(postgresql-client)

    if [[ -z "$(user_database_url)" ]]; then
        if bindir="$(pg_bindir)"; then
            pg_major="$(basename "$(dirname "$bindir")")"
            wanted+=("postgresql-$pg_major-postgis-3")
        else
            # No server yet: `postgresql-postgis` brings the PostGIS build for
            # the same major as the distribution's `postgresql`.
            wanted+=(postgresql postgresql-postgis)
        fi
    fi
    [[ -z "$(user_redis_url)" ]] && wanted+=(redis-server)
    # The Debian python3 needs python3-venv for `python3 -m venv`.
    python3 -c 'import ensurepip' 2>/dev/null || wanted+=(python3-venv)

    for pkg in "${wanted[@]}"; do
        grep -qxF "$pkg" <<<"$installed" || missing+=("$pkg")
    done

    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
        ok "system packages (installed ${missing[*]})"
    else
        ok "system packages"
    fi
}

# ------------------------------------------------------------------ venv step

# The lock pins every package, dev tools included; `uv pip sync` makes .venv
# match it exactly (and removes strays). A stamp with the hash of the inputs
# lets the next run skip all of it.
ensure_venv() {
    local stamp="$VENV/.samby-deps.sha256" want
    want="$(cat "$SAMBY_ROOT/requirements.lock" "$SAMBY_ROOT/pyproject.toml" <(echo "uv $UV_VERSION") |
        sha256sum | cut -d' ' -f1)"

    if "$VENV/bin/python" -c '' 2>/dev/null && [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
        ok "Python environment (.venv) up to date"
        return
    fi

    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "Samby needs Python 3.11 or newer as python3 (found $(python3 --version 2>&1))."
    # A venv whose interpreter is gone (python3 upgraded or moved) cannot be repaired.
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    if [[ "$("$VENV/bin/uv" --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
        "$VENV/bin/python" -m pip install -q "uv==$UV_VERSION"
    fi
    "$VENV/bin/uv" pip sync -q --system-certs -p "$VENV/bin/python" "$SAMBY_ROOT/requirements.lock"
    # Editable, so the code under backend/, dispatch/... is what runs; no deps,
    # because the lock already brought them.
    (cd "$SAMBY_ROOT" && "$VENV/bin/uv" pip install -q --system-certs -p "$VENV/bin/python" --no-deps -e .)
    printf '%s\n' "$want" >"$stamp"
    ok "Python environment (.venv) synced with requirements.lock"
}

# -------------------------------------------------------------- services step

# Filled by find_pg_superuser: a psql command line connected as a superuser.
PG_SU=()

pg_su() { "${PG_SU[@]}" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

is_superuser() {
    [[ "$("$@" -X -At -d postgres -c 'select rolsuper from pg_roles where rolname = current_user' 2>/dev/null)" == t ]]
}

# Debian's own cluster: trust auth lets us in over TCP as `postgres`; with the
# default peer auth only the `postgres` system user gets in, over the socket.
find_pg_superuser() {
    local port="$1"
    local -a tcp=(psql -w -h 127.0.0.1 -p "$port" -U postgres)
    local -a peer_root=(as_pg_owner psql -w -p "$port")
    local -a peer_sudo=(sudo -n -u postgres psql -w -p "$port")
    if is_superuser "${tcp[@]}"; then
        PG_SU=("${tcp[@]}")
    elif [[ $EUID -eq 0 ]] && id postgres >/dev/null 2>&1 && is_superuser "${peer_root[@]}"; then
        PG_SU=("${peer_root[@]}")
    elif [[ $EUID -ne 0 ]] && sudo -n -u postgres true 2>/dev/null && is_superuser "${peer_sudo[@]}"; then
        PG_SU=("${peer_sudo[@]}")
    else
        return 1
    fi
}

# Prints the PostGIS version when the `samby` role logs in with its password
# over TCP, is a superuser (the test runner creates the extension in the test
# database) and has PostGIS in its database. This is how the app will connect.
samby_db_ready() {
    local port="$1" version
    version="$(PGPASSWORD=samby psql -X -w -At -h 127.0.0.1 -p "$port" -U samby -d samby -c \
        "select extversion from pg_extension where extname = 'postgis' and (select rolsuper from pg_roles where rolname = current_user)" \
        2>/dev/null)" || return 1
    [[ -n "$version" ]] && printf '%s\n' "$version"
}

# PostGIS ships per server major; install the matching package when the server
# does not offer the extension yet.
ensure_postgis_available() {
    local major
    [[ -n "$(pg_su -d postgres -c "select 1 from pg_available_extensions where name = 'postgis'")" ]] && return 0
    major="$(( $(pg_su -d postgres -c 'show server_version_num') / 10000 ))"
    apt_install "postgresql-$major-postgis-3"
    [[ -n "$(pg_su -d postgres -c "select 1 from pg_available_extensions where name = 'postgis'")" ]]
}

# Role and database for the app. The password is the well-known local demo one.
create_samby_db() {
    pg_su -d postgres -c "
        do \$\$ begin
            if not exists (select from pg_roles where rolname = 'samby') then
                create role samby login superuser password 'samby';
            else
                alter role samby login superuser password 'samby';
            end if;
        end \$\$;"
    if [[ -z "$(pg_su -d postgres -c "select 1 from pg_database where datname = 'samby'")" ]]; then
        pg_su -d postgres -c 'create database samby owner samby'
    fi
    pg_su -d samby -c 'create extension if not exists postgis'
}

# The server on 127.0.0.1:5432, if one answers and lets us set it up.
use_local_postgres() {
    command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 -t 3 || return 1
    if POSTGIS_VERSION="$(samby_db_ready 5432)"; then
        return 0
    fi
    if ! find_pg_superuser 5432; then
        warn "PostgreSQL on 127.0.0.1:5432 gives no superuser access; using a private server instead."
        return 1
    fi
    if ! ensure_postgis_available; then
        warn "PostgreSQL on 127.0.0.1:5432 has no PostGIS; using a private server instead."
        return 1
    fi
    create_samby_db
    POSTGIS_VERSION="$(samby_db_ready 5432)" || {
        warn "The samby role cannot log in to 127.0.0.1:5432 with its password; using a private server instead."
        return 1
    }
}

# A cluster of our own under var/postgres, listening on 127.0.0.1 only. The
# socket lives in var/run so it needs no write access to /var/run/postgresql.
# Local socket connections are trusted (that is how we administer it), TCP
# needs a password.
start_private_postgres() {
    local bindir
    bindir="$(pg_bindir)" || die "No PostgreSQL server binaries under /usr/lib/postgresql; install the postgresql package."
    mkdir -p "$PRIVATE_RUN_DIR"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$PRIVATE_RUN_DIR"
        runuser -u postgres -- test -x "$SAMBY_VAR_DIR" ||
            die "The postgres user cannot enter $SAMBY_VAR_DIR; set SAMBY_VAR_DIR to a directory it can reach."
    fi

    if [[ ! -f "$PRIVATE_PG_DATA/PG_VERSION" ]]; then
        mkdir -p "$PRIVATE_PG_DATA"
        chmod 700 "$PRIVATE_PG_DATA"
        [[ $EUID -eq 0 ]] && chown postgres: "$PRIVATE_PG_DATA"
        as_pg_owner "$bindir/initdb" -D "$PRIVATE_PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >"$SAMBY_VAR_DIR/postgres-initdb.log" 2>&1 ||
            die "initdb failed; see $SAMBY_VAR_DIR/postgres-initdb.log"
        note "created a private PostgreSQL cluster in $PRIVATE_PG_DATA"
    elif [[ "$(<"$PRIVATE_PG_DATA/PG_VERSION")" != "$(basename "$(dirname "$bindir")")" ]]; then
        die "$PRIVATE_PG_DATA was made by PostgreSQL $(<"$PRIVATE_PG_DATA/PG_VERSION"), not $(basename "$(dirname "$bindir")"). Run \`make clean\` (or remove that directory) to start afresh."
    fi

    if ! private_pg_running; then
        touch "$PRIVATE_PG_LOG"
        [[ $EUID -eq 0 ]] && chown postgres: "$PRIVATE_PG_LOG"
        as_pg_owner "$bindir/pg_ctl" -D "$PRIVATE_PG_DATA" -l "$PRIVATE_PG_LOG" -w -t 30 \
            -o "-p $PRIVATE_PG_PORT -k $PRIVATE_RUN_DIR -c listen_addresses=127.0.0.1" start >/dev/null ||
            die "The private PostgreSQL did not start; see $PRIVATE_PG_LOG (is port $PRIVATE_PG_PORT taken?)"
        note "started the private PostgreSQL on port $PRIVATE_PG_PORT"
    fi

    if POSTGIS_VERSION="$(samby_db_ready "$PRIVATE_PG_PORT")"; then
        return 0
    fi
    PG_SU=(as_pg_owner psql -w -h "$PRIVATE_RUN_DIR" -p "$PRIVATE_PG_PORT" -U postgres)
    ensure_postgis_available ||
        die "PostGIS is not available for PostgreSQL $(basename "$(dirname "$bindir")"); install postgresql-$(basename "$(dirname "$bindir")")-postgis-3."
    create_samby_db
    POSTGIS_VERSION="$(samby_db_ready "$PRIVATE_PG_PORT")" ||
        die "The samby role cannot log in to the private PostgreSQL; see $PRIVATE_PG_LOG"
}

# A URL from the environment is used as it is, but checked now: a wrong one
# would otherwise surface later as a confusing migration error.
check_user_postgres() {
    local url="$1" libpq_url
    libpq_url="postgresql://${url#*://}"
    POSTGIS_VERSION="$(psql -X -w -At "$libpq_url" -c "select extversion from pg_extension where extname = 'postgis'")" ||
        die "Cannot connect to DATABASE_URL (the psql error is above)."
}

# Host, port and database of a URL, without the credentials, for messages.
url_location() {
    local rest="${1#*://}"
    printf '%s\n' "${rest#*@}"
}

discover_postgres() {
    local url
    url="$(user_database_url)"
    POSTGIS_VERSION=""
    if [[ -n "$url" ]]; then
        check_user_postgres "$url"
        DATABASE_URL="$url"
    elif [[ "${SAMBY_PRIVATE_SERVICES:-}" != 1 ]] && use_local_postgres; then
        DATABASE_URL="$LOCAL_PG_URL"
    else
        start_private_postgres
        DATABASE_URL="$PRIVATE_PG_URL"
    fi
    export DATABASE_URL
    if [[ -n "$POSTGIS_VERSION" ]]; then
        ok "PostgreSQL at $(url_location "$DATABASE_URL") (PostGIS $POSTGIS_VERSION)"
    else
        ok "PostgreSQL at $(url_location "$DATABASE_URL") (PostGIS not enabled in that database yet)"
    fi
}

redis_answers() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]
}

# Persistence is off: the private Redis only carries the broker queue, the
# cache and websocket groups of a development run.
start_private_redis() {
    redis_answers "$PRIVATE_REDIS_PORT" && return 0
    mkdir -p "$PRIVATE_REDIS_DIR" "$PRIVATE_RUN_DIR"
    redis-server --port "$PRIVATE_REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --dir "$PRIVATE_REDIS_DIR" --save "" --appendonly no \
        --pidfile "$PRIVATE_REDIS_PID" --logfile "$PRIVATE_REDIS_LOG"
    for _ in $(seq 50); do
        redis_answers "$PRIVATE_REDIS_PORT" && {
            note "started the private Redis on port $PRIVATE_REDIS_PORT"
            return 0
        }
        sleep 0.1
    done
    die "The private Redis did not start; see $PRIVATE_REDIS_LOG (is port $PRIVATE_REDIS_PORT taken?)"
}

discover_redis() {
    local url
    url="$(user_redis_url)"
    if [[ -n "$url" ]]; then
        REDIS_URL="$url"
        if command -v redis-cli >/dev/null && [[ "$(redis-cli -u "$url" ping 2>/dev/null)" != PONG ]]; then
            warn "REDIS_URL does not answer PING yet; using it anyway."
        fi
    elif [[ "${SAMBY_PRIVATE_SERVICES:-}" != 1 ]] && redis_answers 6379; then
        REDIS_URL="$LOCAL_REDIS_URL"
    else
        start_private_redis
        REDIS_URL="$PRIVATE_REDIS_URL"
    fi
    export REDIS_URL
    ok "Redis at $(url_location "$REDIS_URL")"
}

# services.env is for whatever runs outside these scripts (a shell, an IDE):
# `source var/services.env` gives it the same servers.
write_services_env() {
    local tmp
    mkdir -p "$SAMBY_VAR_DIR"
    tmp="$(mktemp "$SERVICES_ENV.XXXXXX")"
    {
        echo "# Written by infra/bootstrap.sh; run it again to refresh."
        printf 'export DATABASE_URL=%q\n' "$DATABASE_URL"
        printf 'export REDIS_URL=%q\n' "$REDIS_URL"
    } >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$SERVICES_ENV"
}

discover_services() {
    mkdir -p "$SAMBY_VAR_DIR"
    discover_postgres
    discover_redis
    write_services_env
}

# ---------------------------------------------------------------------- main

samby_bootstrap() {
    local step
    local -a steps=("$@")
    if [[ ${#steps[@]} -eq 0 || "${steps[*]}" == all ]]; then
        steps=(system venv services)
    fi
    for step in "${steps[@]}"; do
        case "$step" in
            system) system_packages ;;
            venv) ensure_venv ;;
            services) discover_services ;;
            *) die "Unknown bootstrap step '$step' (use: system, venv, services, all)." ;;
        esac
    done
    cd "$SAMBY_ROOT"
    export VIRTUAL_ENV="$VENV"
    case ":$PATH:" in
        *":$VENV/bin:"*) ;;
        *) export PATH="$VENV/bin:$PATH" ;;
    esac
    export DJANGO_ENV="${DJANGO_ENV:-local}"
}

samby_bootstrap "$@"
