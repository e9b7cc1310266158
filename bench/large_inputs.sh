#!/usr/bin/env bash
# A 1 GB Blob through `cairn import --format blob` and `cairn export --format blob`, with the
# peak memory (GNU time's maximum RSS) and the wall time of each, and a byte-for-byte check of
# the export. Not part of `make test` (issue 11; figures in docs/benchmarks.md).
#
#   bench/large_inputs.sh            # builds release, 1 GB
#   SIZE_MB=256 bench/large_inputs.sh
#   CAIRN_BIN=.build/debug/cairn bench/large_inputs.sh   # an already built binary
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
if [ -z "${CAIRN_BIN:-}" ]; then
  swift build -c release --product cairn
  CAIRN_BIN="$(swift build -c release --show-bin-path)/cairn"
fi
CAIRN_BIN=$(realpath "$CAIRN_BIN")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-large-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# Incompressible, reproducible bytes: AES-CTR keystream would need openssl; a seeded PRNG in
# Python writes 1 MiB at a time.
python3 - "$SIZE_MB" <<'PY'
import random, sys
r = random.Random(11)
with open("in.bin", "wb") as f:
    for _ in range(int(sys.argv[1])):
        f.write(r.randbytes(1 << 20))
PY

# Peak RSS from GNU time counts the pages of the store's file that SQLite maps (mmap_size is
# 16 GiB), which the kernel can drop at any time; the peak of RssAnon (the heap and stacks,
# sampled every 0.1 s from /proc) is what the process itself holds.
measure() {  # label, command...
  local label=$1; shift
  local start end pid anon=0 a
  start=$(date +%s.%N)
  /usr/bin/time -f %M -o rss.txt "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for c in $(pgrep -P "$pid"); do
      a=$(awk '/^RssAnon/ {print $2}' "/proc/$c/status" 2>/dev/null || echo 0)
      [ "${a:-0}" -gt "$anon" ] && anon=$a
    done
    sleep 0.1
  done
  wait "$pid"
  end=$(date +%s.%N)
  printf '%-8s peak RSS %6.0f MB, peak RssAnon %6.0f MB, %6.1f s  (%s)\n' "$label" "$(echo "$(tail -1 rss.txt) / 1024" | bc -l)" \
    "$(echo "$anon / 1024" | bc -l)" "$(echo "$end - $start" | bc -l)" "$*"
}

"$CAIRN_BIN" init >/dev/null
echo "cairn: $CAIRN_BIN; input: $SIZE_MB MiB; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
measure import "$CAIRN_BIN" import in.bin --table big --format blob
measure commit "$CAIRN_BIN" commit -m big
measure export "$CAIRN_BIN" export /big --format blob -o out.bin
cmp in.bin out.bin && echo "export == input ($(stat -c %s out.bin) bytes)"
echo "store: $(du -sm .cairn 2>/dev/null | cut -f1) MB on disk"
