#!/usr/bin/env python3
"""The merge figures of issue 9, beside doltlite_ref.py's merge_ms from the same run.

usage: merging.py CAIRN CAIRN_BENCH ROWS_1M.csv ROWS_10M.csv DOLTLITE_FIGURES WORKDIR

- merge of 1,000 + 1,000 disjoint row edits of the 1,000,000-row table (the rows
  doltlite_ref.py edits), timed in process around merge + commit + ref move, as dolt_merge is
  (median of 3, each on a fresh copy of the store);
- the same with 1,000 + 1,000 edits at random rows (most leaves touched);
- the same on 10,000,000 rows;
- `cairn merge` of the disjoint change as a whole process (median of 3);
- the merge base after 10,000 commits on each side, from a fresh store handle.
"""
import os, shutil, statistics, subprocess, sys, time


def figure(name, value, unit):
    print(f"{name} {value:.4f} {unit}", flush=True)


def imported(cairn, csv, work):
    """A store holding `csv` as table rows, committed."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run([cairn, "init"], cwd=work, check=True, capture_output=True)
    subprocess.run([cairn, "import", csv, "--table", "rows"], cwd=work, check=True, capture_output=True)
    subprocess.run([cairn, "commit", "-m", "import"], cwd=work, check=True, capture_output=True)
    return work


def in_process(bench, pristine, pattern, work):
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work)
    out = subprocess.run([bench, "merge", work, pattern], check=True, capture_output=True, text=True).stdout
    return float(out.split()[1])


def main():
    cairn, bench, csv1m, csv10m, dolt_file, work = (os.path.abspath(a) for a in sys.argv[1:7])
    dolt = {}
    for line in open(dolt_file):
        parts = line.split()
        if len(parts) == 3:
            dolt[parts[0]] = float(parts[1])
    os.makedirs(work, exist_ok=True)

    pristine = imported(cairn, csv1m, os.path.join(work, "pristine-1m"))
    runs = [in_process(bench, pristine, "disjoint", os.path.join(work, "m")) for _ in range(3)]
    disjoint = statistics.median(runs)
    figure("cairn_merge_disjoint_ms", disjoint, "ms")
    print("# runs: " + " ".join(f"{r:.2f}" for r in runs))
    figure("cairn_merge_random_ms", statistics.median(
        [in_process(bench, pristine, "random", os.path.join(work, "m")) for _ in range(3)]), "ms")

    # The whole process: the branches made in process, then `cairn merge` timed from outside.
    times = []
    for _ in range(3):
        m = os.path.join(work, "p")
        shutil.rmtree(m, ignore_errors=True)
        shutil.copytree(pristine, m)
        subprocess.run([bench, "merge", m, "disjoint", "--setup-only"], check=True)
        t = time.perf_counter()
        p = subprocess.run([cairn, "merge", "bench-disjoint", "-m", "merge"], cwd=m, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        assert p.returncode == 0, p.stderr
    figure("cairn_merge_process_ms", statistics.median(times) * 1000, "ms")

    big = imported(cairn, csv10m, os.path.join(work, "pristine-10m"))
    big_ms = statistics.median([in_process(bench, big, "disjoint", os.path.join(work, "m10")) for _ in range(3)])
    figure("cairn_merge_10m_disjoint_ms", big_ms, "ms")
    shutil.rmtree(big, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "m10"), ignore_errors=True)

    out = subprocess.run([bench, "merge-base", os.path.join(work, "history")], check=True,
                         capture_output=True, text=True).stdout
    print(out, end="")
    base_ms = float(out.split()[1])

    print("# ratios (target)")
    if "merge_ms" in dolt:
        figure("ratio_merge_vs_doltlite", disjoint / dolt["merge_ms"], "x (<= 0.5)")
    figure("ratio_merge_10m_vs_1m", big_ms / disjoint, "x (<= 1.5)")
    figure("merge_process_ms", statistics.median(times) * 1000, "ms (<= 100)")
    figure("merge_base_ms", base_ms, "ms (<= 250)")


if __name__ == "__main__":
    main()
