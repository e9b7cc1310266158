#!/usr/bin/env bash
# The end-to-end demo on testdata/: run by `make demo` with the release cairn.
set -euo pipefail
CAIRN=${1:-cairn}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ cairn %s\033[0m\n' "$*"; "$CAIRN" -C "$work/demo" "$@"; }

mkdir -p "$work/demo"
step init
step stats
step stats --json
echo
echo "demo finished: the store is at $work/demo/.cairn (removed on exit)"
