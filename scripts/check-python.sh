#!/bin/sh
# Before `make` builds or uses .venv: check that the chosen Python is new enough, and remove a
# .venv built by a Python that is too old or is not the one asked for with PY=, so it is
# rebuilt instead of failing again on every run.
#
#   scripts/check-python.sh PY ORIGIN VENV
#
# PY is the interpreter to build .venv with (default python3), ORIGIN make's $(origin PY)
# ("command line" or "environment" when the user chose it), VENV the folder (.venv).
set -u
PY=${1:-python3}
ORIGIN=${2:-default}
VENV=${3:-.venv}
NEED_MAJOR=3
NEED_MINOR=11
NEED="$NEED_MAJOR.$NEED_MINOR"

version_of() {
    # Prints "3.11.7" or nothing; no f-strings, so even an old Python answers.
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null
}

new_enough() {
    major=${1%%.*}
    rest=${1#*.}
    minor=${rest%%.*}
    [ "$major" -gt "$NEED_MAJOR" ] || { [ "$major" -eq "$NEED_MAJOR" ] && [ "$minor" -ge "$NEED_MINOR" ]; }
}

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "error: no Python called '$PY' was found. supportsim needs Python >= $NEED;" \
         "choose one with, e.g., make run PY=python3.12" >&2
    exit 1
fi
FOUND=$(version_of "$PY")
WHERE=$(command -v "$PY")
if [ -z "$FOUND" ]; then
    echo "error: '$PY' ($WHERE) did not run. supportsim needs Python >= $NEED;" \
         "choose another with, e.g., make run PY=python3.12" >&2
    exit 1
fi
if ! new_enough "$FOUND"; then
    echo "error: found Python $FOUND at $WHERE, but supportsim needs Python >= $NEED." \
         "Install a newer one and choose it with, e.g., make run PY=python3.12" \
         "(make clean first removes a .venv built by the old one)" >&2
    exit 1
fi

if [ -e "$VENV" ]; then
    BUILT=$(version_of "$VENV/bin/python")
    REASON=""
    if [ -z "$BUILT" ]; then
        REASON="its python does not run"
    elif ! new_enough "$BUILT"; then
        REASON="it was built by Python $BUILT (needs >= $NEED)"
    elif [ "$ORIGIN" = "command line" ] || [ "$ORIGIN" = "environment" ]; then
        # Asked for a particular Python: a .venv of another version is not what was asked.
        if [ "${BUILT%.*}" != "${FOUND%.*}" ]; then
            REASON="it was built by Python $BUILT, not the $FOUND of PY=$PY"
        fi
    fi
    if [ -n "$REASON" ]; then
        echo "rebuilding $VENV: $REASON; using Python $FOUND ($WHERE)" >&2
        rm -rf "$VENV"
    fi
fi
if [ ! -e "$VENV" ]; then
    echo "using Python $FOUND ($WHERE) for $VENV; another with, e.g., make run PY=python3.12" >&2
fi
exit 0
