#!/usr/bin/env python3
"""Issue 11's figures: fsck and gc of the 1,000,000-row store.

usage: maintenance.py CAIRN ROWS1M.csv ROWS10M.csv WORKDIR

- fsck_s, fsck_peak_mb: `cairn fsck` of the store holding the 1M-row table, one commit;
- gc_s: `cairn gc --prune=now` after a branch holding a second 1M-row table (rows 1M..2M of the
  10M-row CSV: other keys, so other chunks) was committed and deleted;
- gc_space_vs_fresh: the store's size after that gc over the size of a fresh import of what is
  left (the 1M-row table alone), both checkpointed (target <= 1.10).
"""
import json, os, shutil, subprocess, sys, time


def figure(name, value, unit):
    print(f"{name} {value:.4f} {unit}", flush=True)


def run(cmd, cwd):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    return elapsed, int(p.stderr.strip().splitlines()[-1]) / 1024, p.stdout


def size(store):
    db = os.path.join(store, ".cairn", "store.db")
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def fresh(cairn, work, name, csv, table):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    run([cairn, "init"], d)
    run([cairn, "import", csv, "--table", table], d)
    run([cairn, "commit", "-m", "import"], d)
    return d


def main():
    cairn, rows1m, rows10m, work = (os.path.abspath(a) for a in sys.argv[1:5])
    os.makedirs(work, exist_ok=True)
    second = os.path.join(work, "second-1m.csv")
    if not os.path.exists(second):
        with open(rows10m) as src, open(second, "w") as out:
            out.write(src.readline())
            for i, line in enumerate(src):
                if i >= 2_000_000:
                    break
                if i >= 1_000_000:
                    out.write(line)
    base = fresh(cairn, work, "base", rows1m, "rows")
    baseline = size(base)
    times, peaks = [], []
    for _ in range(3):
        t, m, _ = run([cairn, "fsck"], base)
        times.append(t)
        peaks.append(m)
    times.sort()
    figure("fsck_s", times[1], "s")
    figure("fsck_peak_mb", max(peaks), "MB")

    s = fresh(cairn, work, "gc", rows1m, "rows")
    run([cairn, "checkout", "-b", "side"], s)
    run([cairn, "import", second, "--table", "rows2"], s)
    run([cairn, "commit", "-m", "second table"], s)
    run([cairn, "checkout", "main"], s)
    run([cairn, "branch", "-D", "side"], s)
    before = size(s)
    t, m, out = run([cairn, "gc", "--prune=now", "--json"], s)
    figure("gc_s", t, "s")
    figure("gc_longest_step_ms", json.loads(out)["longest_step_ms"], "ms")
    figure("gc_peak_mb", m, "MB")
    figure("gc_store_before_mb", before / 1e6, "MB")
    figure("gc_store_after_mb", size(s) / 1e6, "MB")
    figure("fresh_import_mb", baseline / 1e6, "MB")
    figure("gc_space_vs_fresh", size(s) / baseline, "x")
    t, m, _ = run([cairn, "fsck"], s)
    figure("fsck_after_gc_s", t, "s")


if __name__ == "__main__":
    main()
