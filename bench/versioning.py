#!/usr/bin/env python3
"""Issue 4's figures, side by side with doltlite in the same run.

usage: versioning.py CAIRN ROWS.csv DOLTLITE_FIGURES WORKDIR [ROWS10M.csv]

Times whole `cairn` processes: import + commit of the CSV (wall clock, median of 3 runs on
fresh stores; the largest peak RSS from /usr/bin/time), the store's size on disk, and `cairn diff HEAD~1 HEAD` after one changed row
(median of 15 runs), then CSV and NDJSON export and NDJSON import of the same rows. Reads
doltlite's `name value unit` lines from DOLTLITE_FIGURES and prints the ratios against the
targets.
"""
import os, shutil, statistics, subprocess, sys, time


def run(cmd, cwd):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    peak_kb = int(p.stderr.strip().splitlines()[-1])
    return elapsed, peak_kb / 1024


def figure(name, value, unit):
    print(f"{name} {value:.4f} {unit}", flush=True)


def import_commit(cairn, csv, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run([cairn, "init"], cwd=work, check=True, capture_output=True)
    t1, m1 = run([cairn, "import", csv, "--table", "rows"], work)
    t2, m2 = run([cairn, "commit", "-m", "import"], work)
    size = sum(os.path.getsize(os.path.join(work, ".cairn", f)) for f in os.listdir(os.path.join(work, ".cairn"))
               if f.startswith("store.db"))
    return t1 + t2, max(m1, m2), size / 1e6


def import_commit_median(cairn, csv, work, runs=3):
    """import_commit `runs` times on fresh stores: the median time, the largest peak, and the
    store size (the same each time). One run of a 0.5 s process varies by 10-20% here. The CSV
    is read once first, so every run finds it in the page cache: the import is measured, not
    the disk."""
    with open(csv, "rb") as f:
        while f.read(1 << 24):
            pass
    results = [import_commit(cairn, csv, work) for _ in range(runs)]
    return (statistics.median(r[0] for r in results), max(r[1] for r in results), results[-1][2])


def main():
    cairn, csv, dolt_file, work = (os.path.abspath(a) for a in sys.argv[1:5])
    big = os.path.abspath(sys.argv[5]) if len(sys.argv) > 5 else None
    dolt = {}
    for line in open(dolt_file):
        parts = line.split()
        if len(parts) == 3:
            dolt[parts[0]] = float(parts[1])

    secs, peak, store = import_commit_median(cairn, csv, work)
    figure("cairn_import_commit_s", secs, "s")
    figure("cairn_import_peak_mb", peak, "MB")
    figure("cairn_store_mb", store, "MB")

    subprocess.run([cairn, "set", "/rows/k00000500/name", '"changed"'], cwd=work, check=True)
    subprocess.run([cairn, "commit", "-m", "one row"], cwd=work, check=True, capture_output=True)
    times = []
    for _ in range(15):
        t = time.perf_counter()
        p = subprocess.run([cairn, "diff", "HEAD~1", "HEAD"], cwd=work, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        assert p.stdout.count("\n") == 1, p.stdout
    figure("cairn_diff1_process_ms", statistics.median(times) * 1000, "ms")

    # Export and the other import formats, on the same 1M rows (report only). The CSV export
    # of the first commit must give back the input byte for byte.
    out_csv = os.path.join(work, "out.csv")
    t, peak_exp = run([cairn, "export", "HEAD~1:/rows", "-o", out_csv], work)
    figure("cairn_export_csv_s", t, "s")
    figure("cairn_export_peak_mb", peak_exp, "MB")
    with open(out_csv, "rb") as a, open(csv, "rb") as b:
        assert a.read() == b.read(), "CSV export differs from the imported file"
    out_nd = os.path.join(work, "out.ndjson")
    t, _ = run([cairn, "export", "/rows", "--format", "ndjson", "-o", out_nd], work)
    figure("cairn_export_ndjson_s", t, "s")
    t, peak_nd = run([cairn, "import", out_nd, "--table", "rows_nd", "--key", "id"], work)
    figure("cairn_import_ndjson_s", t, "s")
    figure("cairn_import_ndjson_peak_mb", peak_nd, "MB")
    os.remove(out_csv)
    os.remove(out_nd)

    if big:
        bsecs, bpeak, bstore = import_commit_median(cairn, big, work + "-10m")
        figure("cairn_10m_import_commit_s", bsecs, "s")
        figure("cairn_10m_peak_mb", bpeak, "MB")
        figure("cairn_10m_store_mb", bstore, "MB")
        shutil.rmtree(work + "-10m", ignore_errors=True)

    print("# ratios (target)")
    if "import_s" in dolt:
        figure("ratio_import_vs_doltlite", secs / dolt["import_s"], "x (<= 0.5)")
    if "store_mb" in dolt:
        figure("ratio_store_vs_doltlite", store / dolt["store_mb"], "x (<= 0.5)")
    if big:
        figure("ratio_10m_vs_1m_time", bsecs / secs, "x (<= 11)")


if __name__ == "__main__":
    main()
