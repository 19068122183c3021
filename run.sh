#!/usr/bin/env sh
# Set-up and entry points for a fresh machine with Python 3.11+:
#   ./run.sh demo    install into .venv, scan the bundled demo estate (exit status 1: it has findings)
#   ./run.sh test    install into .venv (with test extras), run ruff and the whole test suite
#   ./run.sh bench   print the scan benchmark figures
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.installed"

install() {
    if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
        touch "$STAMP"
    fi
}

case "${1:-}" in
    demo)
        install
        exec "$VENV/bin/nhiaudit" scan --snapshot examples/demo/snapshot.json \
            --policy examples/demo/policy.yaml --as-of 2026-11-28
        ;;
    test)
        install
        # Graphviz lets the DOT export test run `dot` for real; without it that one assertion is skipped.
        if ! command -v dot >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            (timeout 120 apt-get install -y -qq graphviz >/dev/null 2>&1 \
                || { timeout 120 apt-get update -qq >/dev/null 2>&1 && timeout 120 apt-get install -y -qq graphviz >/dev/null 2>&1; }) \
                || echo "graphviz not installed: the DOT acceptance check will be skipped" >&2
        fi
        "$VENV/bin/ruff" check nhiaudit tests benchmarks examples
        exec "$VENV/bin/pytest" -n 2
        ;;
    bench)
        install
        exec "$VENV/bin/python" benchmarks/scan_benchmark.py
        ;;
    *)
        echo "usage: ./run.sh demo | test | bench" >&2
        exit 2
        ;;
esac
