# Sourced by scripts/serve, scripts/test and scripts/bench: make sure .venv exists and is up to date.
# Usage: ensure_venv [extras]   e.g. ensure_venv dev
# Re-installs only when pyproject.toml (or the requested extras) changed since the last install.

ensure_venv() {
    local extras="${1:-}"
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    local venv="$root/.venv"
    local python="${WAQTOR_PYTHON:-}"
    if [ -z "$python" ]; then
        for candidate in python3.11 python3 python; do
            if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
                python="$candidate"
                break
            fi
        done
    fi
    if [ -z "$python" ]; then
        echo "error: Python 3.11 or newer is needed (set WAQTOR_PYTHON to its path)" >&2
        return 1
    fi
    if [ ! -x "$venv/bin/python" ]; then
        echo "==> creating $venv" >&2
        "$python" -m venv "$venv" || {
            echo "error: could not create a virtual environment; on Debian: apt-get install python3-venv" >&2
            return 1
        }
    fi
    local stamp="$venv/.waqtor-installed"
    local hash
    hash="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
    # An install with extras also satisfies a plain one.
    if [ -f "$stamp" ] && { grep -qxF "$hash $extras" "$stamp" || { [ -z "$extras" ] && grep -q "^$hash " "$stamp"; }; }; then
        return 0
    fi
    echo "==> installing waqtor${extras:+[$extras]} into .venv (first run takes a minute)" >&2
    local log="$venv/.pip.log"
    if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
           && "$venv/bin/python" -m pip install --disable-pip-version-check -e "$root${extras:+[$extras]}"; } >"$log" 2>&1; then
        grep -v "^WARNING: Location" "$log" | tail -n 40 >&2
        echo "error: installing waqtor failed (full log: $log)" >&2
        return 1
    fi
    echo "$hash $extras" >> "$stamp"
}
