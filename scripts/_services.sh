# Sourced by scripts/test: find the services the tests use, and start (or install) them when missing.
# PostgreSQL on 127.0.0.1:5432 (database `test`, trust auth) and Redis on 127.0.0.1:6379; Chromium
# (Debian's package) for the dashboard's browser tests.

_apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: $* is not installed and this script cannot install it (needs root and apt-get)" >&2
        return 1
    fi
    echo "==> installing $* with apt-get" >&2
    if [ ! -f /tmp/.waqtor-apt-updated ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && touch /tmp/.waqtor-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

_wait_for() {  # _wait_for <what> <command...>
    local what="$1"; shift
    for _ in $(seq 1 60); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "error: $what did not come up" >&2
    return 1
}

# start_redis [port] [dir] [logfile]: a Redis for the tests, without persistence, in the background.
# The Redis restart test (tests/cluster/test_redis_restart.py) starts its own one with this same function.
start_redis() {
    local port="${1:-6379}" dir="${2:-/var/lib/redis}" logfile="${3:-/var/log/redis/ci.log}"
    mkdir -p "$dir" "$(dirname "$logfile")"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
        --dir "$dir" --logfile "$logfile" >&2
}

ensure_redis() {
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
    command -v redis-server >/dev/null 2>&1 || _apt_install redis-server redis-tools || return 1
    echo "==> starting Redis" >&2
    start_redis 6379 /var/lib/redis /var/log/redis/ci.log
    _wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
}

ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        _ensure_test_db
        return
    fi
    command -v pg_ctlcluster >/dev/null 2>&1 || _apt_install postgresql || return 1
    echo "==> starting PostgreSQL" >&2
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    _wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432 || return 1
    _ensure_test_db
}

_ensure_test_db() {
    # A freshly installed cluster has neither trust auth on TCP nor the `test` database.
    if psql -h 127.0.0.1 -U postgres -d test -Atc "select 1" >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
        local hba
        hba="$(su postgres -c "psql -Atc 'show hba_file'" 2>/dev/null)"
        if [ -n "$hba" ] && ! grep -q "waqtor-test" "$hba"; then
            printf '# waqtor-test: trust local TCP for the test suite\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' \
                | cat - "$hba" > "$hba.new" && mv "$hba.new" "$hba" && chown postgres "$hba"
            su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
        fi
        su postgres -c "psql -Atc \"select 1 from pg_database where datname='test'\"" | grep -q 1 \
            || su postgres -c "createdb test"
    fi
    psql -h 127.0.0.1 -U postgres -d test -Atc "select 1" >/dev/null 2>&1 || {
        echo "error: cannot reach PostgreSQL as postgres@127.0.0.1/test" >&2
        return 1
    }
}

ensure_chromium() {
    # The dashboard tests drive Debian's Chromium through Playwright; Playwright's own browser download
    # is never used (it needs a host we cannot reach), so the browser comes from apt.
    if [ -x /usr/bin/chromium ]; then return 0; fi
    _apt_install chromium || return 1
    [ -x /usr/bin/chromium ] || { echo "error: the chromium package did not install /usr/bin/chromium" >&2; return 1; }
}
