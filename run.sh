#!/usr/bin/env sh
# Set-up and entry points for a fresh machine with Python 3.11+:
#   ./run.sh demo    install nhiaudit into .venv, scan the bundled demo estate (exit status 1: it has findings)
#   ./run.sh test    install nhiaudit with its test extras into .venv, run ruff and the whole test suite
#   ./run.sh bench   install nhiaudit into .venv, print the scan benchmark figures
# Environment: PYTHON (default python3) creates the virtualenv; NHIAUDIT_VENV (default .venv) is where;
# NHIAUDIT_NO_APT=1 stops `test` from installing system packages (it says so before it ever does).
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV="${NHIAUDIT_VENV:-.venv}"

# Is this install (a stamp file per variant) missing or older than pyproject.toml?
stale() {
    [ ! -f "$VENV/.installed-$1" ] || [ pyproject.toml -nt "$VENV/.installed-$1" ]
}

# install runtime | test: an editable install of nhiaudit, with the test extras for `test`. The test
# install holds everything the runtime one does; a runtime install followed by `test` adds the extras.
install() {
    if [ "$1" = runtime ] && ! stale test; then
        return 0
    fi
    stale "$1" || return 0
    spec=.
    [ "$1" = test ] && spec='.[test]'
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    # setuptools warns on every editable install about same-named folders in the working directory: here
    # that folder is the package itself, so the warning says nothing (UserWarning is its base class).
    PYTHONWARNINGS=ignore::UserWarning \
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
    touch "$VENV/.installed-$1"
}

# apt_install FOR PKG...: install Debian/Ubuntu packages a test needs, saying so on stderr first. Only as
# root, only where apt-get exists, never with NHIAUDIT_NO_APT set (to anything but 0). Returns 1 when it
# did not install them (the caller says what is skipped instead).
apt_install() {
    purpose="$1"
    shift
    case "${NHIAUDIT_NO_APT:-}" in "" | 0) ;; *) return 1 ;; esac
    command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 1
    echo "installing $* with apt-get (root, for $purpose); set NHIAUDIT_NO_APT=1 to skip" >&2
    # A fresh container has no package lists: update only when the first attempt fails.
    timeout 120 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { timeout 120 apt-get update -qq >/dev/null 2>&1 \
             && timeout 120 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; } \
        || { echo "apt-get could not install $*" >&2; return 1; }
}

case "${1:-}" in
    demo)
        install runtime
        exec "$VENV/bin/nhiaudit" scan --snapshot examples/demo/snapshot.json \
            --policy examples/demo/policy.yaml --as-of 2026-11-28
        ;;
    test)
        install test
        # Graphviz lets the DOT export test run `dot` for real; without it that one check is skipped.
        if ! command -v dot >/dev/null 2>&1; then
            apt_install "the DOT export test" graphviz \
                || echo "graphviz (dot) is not installed: the DOT export test skips its syntax check" >&2
        fi
        # Headless Chromium lets the HTML report tests open the report in a real browser; without it they skip.
        if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
            apt_install "the HTML report's browser tests" chromium chromium-driver \
                || echo "chromium or chromedriver is not installed: the HTML report's browser tests skip" >&2
        fi
        "$VENV/bin/ruff" check nhiaudit tests benchmarks examples
        exec "$VENV/bin/pytest" -n 2
        ;;
    bench)
        install runtime
        exec "$VENV/bin/python" benchmarks/scan_benchmark.py
        ;;
    *)
        echo "usage: ./run.sh demo | test | bench" >&2
        exit 2
        ;;
esac
