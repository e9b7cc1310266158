#!/usr/bin/env bash
# The end-to-end demo on testdata/, run by `make demo` with the release cairn.
set -euo pipefail
CAIRN=${1:-cairn}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CAIRN_AUTHOR="Demo <demo@example.com>"
# Commands in bold on a terminal (unless NO_COLOR is set), plain in a log.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ cairn %s%s\n' "$bold" "$*" "$plain"; "$CAIRN" -C "$work" "$@"; }

cp "$here/testdata/people.csv" "$here/testdata/config.json" "$work/"
step init
step import people.csv --table people
step import config.json --table config
step status
step commit -m "Import people and config"

# Some rows change, one goes, one arrives: re-import the new version of the file.
cp "$here/testdata/people-v2.csv" "$work/people.csv"
step import people.csv --table people
step commit -m "Update people"
step diff HEAD~1 HEAD
step diff HEAD~1 HEAD --stat

step checkout -b experiment
step set /config/version 4
step commit -m "Bump the config version"
step log --graph --oneline
step checkout main

step show HEAD~1:/people/barbara
step export HEAD~1:/people
step stats
echo
echo "demo finished (its store was in $work, now removed)"
