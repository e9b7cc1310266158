#!/usr/bin/env python3
"""Issue 10's figures, side by side with doltlite's from the same run, over 127.0.0.1.

usage: syncing.py CAIRN CAIRN_BENCH ROWS.csv DOLTLITE_FIGURES WORKDIR [ROWS10M.csv]

- push_full_s: `cairn push` of the 1,000,000-row store (one commit) to an empty served store,
  and clone_s: `cairn clone` of it, as whole processes (median of 3, fresh stores each time);
- push_incr_ms / pull_incr_ms: the 3-row change of doltlite_ref.py, timed around the library
  calls (cairn-bench sync-incr), with the bytes and requests the client counted: the median of
  5 rounds in one process after a first round (printed as *_cold_ms), as doltlite times its
  calls on connections that have just pushed and cloned;
- the same change through `cairn push` and `cairn pull` as whole processes (median of 5);
- the 3-row push into the 10,000,000-row store, and the peak memory of its clone on each side
  (the client's from /usr/bin/time, the server's VmHWM from /proc).
"""
import os, re, shutil, signal, statistics, subprocess, sys, time


def figure(name, value, unit):
    print(f"{name} {value:.4f} {unit}", flush=True)


def run(cmd, cwd, env=None):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    return elapsed, int(p.stderr.strip().splitlines()[-1]) / 1024, p


class Server:
    """`cairn serve DIR --port 0` in the background."""

    def __init__(self, cairn, folder):
        self.log = open(os.path.join(folder, "..", os.path.basename(folder) + "-serve.log"), "w+")
        self.proc = subprocess.Popen([cairn, "serve", folder, "--port", "0"], stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        for _ in range(200):
            self.log.seek(0)
            m = re.search(r"at http://127\.0\.0\.1:(\d+)", self.log.read())
            if m:
                self.url = f"http://127.0.0.1:{m.group(1)}"
                return
            time.sleep(0.05)
        sys.exit("cairn serve did not start")

    def peak_mb(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def fresh_store(cairn, csv, work, name):
    """A store with the CSV imported as table `rows` and committed."""
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    subprocess.run([cairn, "init"], cwd=d, check=True, capture_output=True)
    subprocess.run([cairn, "import", csv, "--table", "rows"], cwd=d, check=True, capture_output=True)
    subprocess.run([cairn, "commit", "-m", "import"], cwd=d, check=True, capture_output=True)
    return d


def empty_hub(cairn, folder, name="hub"):
    shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    subprocess.run([cairn, "init", os.path.join(folder, name)], check=True, capture_output=True)


def set_origin(cairn, store, url):
    subprocess.run([cairn, "remote", "remove", "origin"], cwd=store, capture_output=True)
    subprocess.run([cairn, "remote", "add", "origin", url], cwd=store, check=True, capture_output=True)


def three_rows(cairn, store, stamp):
    for i in (1, 2, 3):
        subprocess.run([cairn, "set", f"/rows/k0000000{i}/score", str(-stamp - i)], cwd=store, check=True,
                       capture_output=True)
    subprocess.run([cairn, "commit", "-m", f"three {stamp}"], cwd=store, check=True, capture_output=True)


def incremental(bench, store, clone, url):
    p = subprocess.run([bench, "sync-incr", store, clone, url, "rows"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"sync-incr failed: {p.stderr}")
    out = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[parts[0]] = float(parts[1])
    return out


def main():
    cairn, bench, csv, dolt_file, work = (os.path.abspath(a) for a in sys.argv[1:6])
    big = os.path.abspath(sys.argv[6]) if len(sys.argv) > 6 else None
    dolt = {}
    for line in open(dolt_file):
        parts = line.split()
        if len(parts) == 3:
            dolt[parts[0]] = float(parts[1])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    srv = os.path.join(work, "srv")
    empty_hub(cairn, srv)
    server = Server(cairn, srv)
    src = fresh_store(cairn, csv, work, "src")

    # Full push and clone, whole processes, median of 3 on fresh hubs and clone folders.
    pushes, clones, peaks = [], [], []
    for i in range(3):
        empty_hub(cairn, srv, f"hub{i}")
        set_origin(cairn, src, f"{server.url}/hub{i}")
        t, _, _ = run([cairn, "push"], src)
        pushes.append(t)
        dst = os.path.join(work, f"clone{i}")
        shutil.rmtree(dst, ignore_errors=True)
        t, m, _ = run([cairn, "clone", f"{server.url}/hub{i}", dst], work)
        clones.append(t)
        peaks.append(m)
    for name, values in (("push_full_s", pushes), ("clone_s", clones)):
        v = statistics.median(values)
        figure(name, v, "s")
        if name in dolt:
            figure(name + "_vs_doltlite", v / dolt[name], "x")
    figure("clone_1m_peak_mb", max(peaks), "MB")

    # The 3-row change, timed around the library calls (hub0 and clone0): the median of the
    # rounds after the first (cairn-bench sync-incr says why), and the first.
    url = f"{server.url}/hub0"
    set_origin(cairn, src, url)
    inc = incremental(bench, src, os.path.join(work, "clone0"), url)
    for k in ("push_incr_ms", "pull_incr_ms"):
        figure(k, inc[k], "ms")
        if k in dolt:
            figure(k + "_vs_doltlite", inc[k] / dolt[k], "x")
    for k in ("push_incr_cold_ms", "pull_incr_cold_ms"):
        figure(k, inc[k], "ms")
    for k in ("push_incr_bytes", "push_incr_requests", "pull_incr_bytes", "pull_incr_requests"):
        figure(k, inc[k], k.split("_")[-1])
    figure("incr_wire_bytes_both_ways", inc["push_incr_bytes"] + inc["pull_incr_bytes"], "B")

    # The same change through whole processes, median of 5.
    push_t, pull_t = [], []
    for i in range(5):
        three_rows(cairn, src, 100 + i)
        push_t.append(run([cairn, "push"], src)[0])
        pull_t.append(run([cairn, "pull"], os.path.join(work, "clone0"))[0])
    figure("cairn_push_process_ms", statistics.median(push_t) * 1000, "ms")
    figure("cairn_pull_process_ms", statistics.median(pull_t) * 1000, "ms")
    server.stop()

    if big:
        # The 10,000,000-row store: the 3-row push, and the peak memory of a clone.
        bsrv = os.path.join(work, "srv10m")
        empty_hub(cairn, bsrv)
        bigsrc = fresh_store(cairn, big, work, "src10m")
        server = Server(cairn, bsrv)
        set_origin(cairn, bigsrc, f"{server.url}/hub")
        t, _, _ = run([cairn, "push"], bigsrc)
        figure("push_full_10m_s", t, "s")
        server.stop()
        server = Server(cairn, bsrv)  # a fresh process, so its peak is the clone's
        bclone = os.path.join(work, "clone10m")
        t, m, _ = run([cairn, "clone", f"{server.url}/hub", bclone], work)
        figure("clone_10m_s", t, "s")
        figure("clone_10m_client_peak_mb", m, "MB")
        figure("clone_10m_server_peak_mb", server.peak_mb(), "MB")
        inc10 = incremental(bench, bigsrc, bclone, f"{server.url}/hub")
        figure("push_incr_10m_ms", inc10["push_incr_ms"], "ms")
        figure("push_incr_10m_vs_1m", inc10["push_incr_ms"] / inc["push_incr_ms"], "x")
        figure("push_incr_10m_bytes", inc10["push_incr_bytes"], "B")
        figure("push_incr_10m_requests", inc10["push_incr_requests"], "requests")
        figure("pull_incr_10m_ms", inc10["pull_incr_ms"], "ms")
        server.stop()


if __name__ == "__main__":
    main()
