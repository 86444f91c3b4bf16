"""Runs every benchmark of pitwall against its baseline, in the same run, and writes the report.

Driven by `scripts/bench` (which builds the release binaries and the Python venv first); see
BENCHMARKS.md for what each figure means. Every figure is measured RUNS times, pitwall and its
baseline alternately, and given as min / median / max, per wall second and per CPU-second: the
machine this runs on is usually shared, and CPU time is what a loaded machine still measures
fairly. Ratios are of the medians.

Usage: bench.py --target DIR --out FILE [--quick] [--only NAME,...]
"""

import argparse
import datetime
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = os.path.join(ROOT, ".venv", "bin", "python")


class Run:
    """One process run: wall seconds, CPU seconds (user + system, its children included), and
    what it wrote on stderr (and on stdout when kept)."""

    def __init__(self, wall, cpu, rss_kib, stdout, stderr):
        self.wall, self.cpu, self.rss_kib, self.stdout, self.stderr = wall, cpu, rss_kib, stdout, stderr


def run(cmd, stdout="keep", cwd=ROOT):
    """Runs `cmd` (a list). stdout: "keep" (captured), "pipe" (read and thrown away by this
    process, as a pipe's reader would), or a path (written to that file)."""
    with tempfile.TemporaryFile() as err:
        if stdout == "pipe" or stdout == "keep":
            out = subprocess.PIPE
        else:
            out = open(stdout, "wb")
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        kept = []
        if out is subprocess.PIPE:
            while True:
                chunk = proc.stdout.read(1 << 16)
                if not chunk:
                    break
                if stdout == "keep":
                    kept.append(chunk)
        else:
            out.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        errtext = err.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            sys.exit(f"bench: {shlex.join(cmd)} failed (status {proc.returncode}):\n{errtext[-3000:]}")
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                   b"".join(kept).decode("utf-8", "replace"), errtext)


def stats(values):
    return min(values), statistics.median(values), max(values)


def fmt(v):
    """A figure with 3 significant digits, thousands separated."""
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def mmm(values, unit=""):
    lo, med, hi = stats(values)
    return f"{fmt(med)}{unit} ({fmt(lo)}–{fmt(hi)})"


def search(pattern, text, what):
    m = re.search(pattern, text, re.M)
    if not m:
        sys.exit(f"bench: cannot find {what} in:\n{text[-3000:]}")
    return m


def rel(path):
    return os.path.relpath(path, ROOT)


class Report:
    def __init__(self, quick):
        self.quick = quick
        self.rows = []  # (figure, pitwall, baseline, ratio wall, ratio cpu, target, met)
        self.sections = []  # (title, markdown)

    def row(self, *cells):
        self.rows.append(cells)

    def section(self, title, text):
        self.sections.append((title, text))
        print(f"\n## {title}\n{text}", flush=True)


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return (f"{model}, {os.cpu_count()} cores, {mem_kib / 1048576:.1f} GiB RAM, Linux "
            f"{platform.release()}, Python {platform.python_version()}; commit {commit}"
            f"{' (with local changes)' if dirty else ''}")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ------------------------------------------------------------------------------------------------
# ACSP: `pitwall acsp decode CAPTURE --json` against acudpclient 1.1.0 on the same bytes

def bench_acsp(r, t, work, runs):
    megabytes = 4 if r.quick else 8
    cap = os.path.join(work, "acsp.bin")
    run([f"{t}/release/examples/bench_capture", cap, str(megabytes)])
    size = os.path.getsize(cap)
    # pitwall decodes the same bytes REPEAT times over in one run: the capture alone takes it
    # 30-130 ms, too short to time (its figures swung 2x from run to run), REPEAT times that
    # about half a second. Events/s compares the same events either way.
    repeat = 8
    big = os.path.join(work, "acsp-repeated.bin")
    with open(cap, "rb") as f:
        data = f.read()
    with open(big, "wb") as f:
        for _ in range(repeat):
            f.write(data)
    # Not held while the runs are forked: a child's peak RSS counts this process's pages
    # until it execs.
    del data
    pitwall = [f"{t}/release/pitwall", "acsp", "decode", big, "--json"]
    python = [PY, os.path.join(ROOT, "benches", "acsp_acudpclient.py"), cap]
    out_rust, out_py = os.path.join(work, "acsp-pitwall.jsonl"), os.path.join(work, "acsp-python.jsonl")
    res = {k: [] for k in ("file", "pipe", "py_decode", "py_json")}
    for _ in range(runs):
        res["file"].append(run(pitwall, stdout=out_rust))
        res["pipe"].append(run(pitwall, stdout="pipe"))
        res["py_decode"].append(run(python, stdout="pipe"))
        res["py_json"].append(run(python + ["--json"], stdout=out_py))
    events = int(search(r"(\d+) messages", res["file"][0].stderr, "pitwall's message count").group(1))
    py_events = int(search(r"^(\d+) events", res["py_decode"][0].stderr, "acudpclient's event count").group(1))
    if events != py_events * repeat:
        sys.exit(f"bench: pitwall decoded {events} events, acudpclient {py_events} (x{repeat})")
    with open(out_rust, "rb") as f:
        lines = sum(1 for _ in f)
    if lines != events:
        sys.exit(f"bench: pitwall wrote {lines} lines for {events} events")

    def n(rs):
        return events if rs is res["file"] or rs is res["pipe"] else py_events

    def ev_s(rs):
        return [n(rs) / x.wall for x in rs]

    def ev_cpu(rs):
        return [n(rs) / x.cpu for x in rs]

    med = {k: (statistics.median(ev_s(v)), statistics.median(ev_cpu(v))) for k, v in res.items()}
    lines = [
        f"Capture: {size / 1e6:.1f} MB raw (`bench_capture`: a 24-car server's traffic, CAR_UPDATE "
        f"at 10 Hz, laps, collisions, chat), {py_events:,} events, decoded {runs} times by each; "
        f"pitwall's runs read it {repeat} times over in one file ({events:,} events), so that a run "
        f"lasts long enough to time. Output: {os.path.getsize(out_rust) / 1e6:.1f} MB of JSON lines "
        f"from pitwall.",
        "",
        "| run | events/s (wall) | events per CPU-second | wall s | CPU s | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "file": "`pitwall acsp decode --json` > file",
        "pipe": "`pitwall acsp decode --json` \\| pipe",
        "py_decode": "acudpclient, decode only (no output)",
        "py_json": "acudpclient + `json.dumps` > file",
    }
    for k, v in res.items():
        lines.append(f"| {names[k]} | {mmm(ev_s(v))} | {mmm(ev_cpu(v))} | {mmm([x.wall for x in v])} | "
                     f"{mmm([x.cpu for x in v])} | {max(x.rss_kib for x in v) / 1024:.0f} MiB |")
    for k in ("file", "pipe"):
        for base in ("py_decode", "py_json"):
            wall = med[k][0] / med[base][0]
            cpu = med[k][1] / med[base][1]
            lines.append("")
            lines.append(f"- {names[k]} vs {names[base]}: **{wall:.0f}×** per wall second, "
                         f"**{cpu:.0f}×** per CPU-second")
    r.section("ACSP decode vs acudpclient", "\n".join(lines))
    for k, base in (("file", "py_json"), ("pipe", "py_json"), ("file", "py_decode")):
        wall = med[k][0] / med[base][0]
        cpu = med[k][1] / med[base][1]
        what = "+ `json.dumps` to a file" if base == "py_json" else "decode only, no output"
        # The target compares the same work (decode + JSON); decoding alone is shown for scale.
        met = {(True, True): "yes", (True, False): "per wall s only", (False, True): "per CPU-s only",
               (False, False): "no"}[(wall >= 50, cpu >= 50)]
        r.row(f"ACSP decode + JSON to a {k}, events/s", mmm(ev_s(res[k])),
              f"acudpclient {what}: {mmm(ev_s(res[base]))}", f"{wall:.0f}×", f"{cpu:.0f}×",
              "≥ 50×" if base == "py_json" else "", met if base == "py_json" else "")


# ------------------------------------------------------------------------------------------------
# Ingest: `pitwall bench ingest` (pitwall serve, then the Python grpc.aio reference server)

def bench_ingest(r, t, work, runs):
    stubs = os.path.join(work, "stubs")
    os.makedirs(stubs, exist_ok=True)
    run([PY, "-m", "grpc_tools.protoc", "-I", "./proto", f"--python_out={stubs}", f"--grpc_python_out={stubs}",
         "proto/telemetry/v1/telemetry.proto"])
    for d in ("telemetry", "telemetry/v1"):
        open(os.path.join(stubs, d, "__init__.py"), "a").close()
    seconds = 3 if r.quick else 10
    baseline = f"{PY} {ROOT}/benches/reference_ingest_server.py --port 0 --stubs {stubs}"
    pat = (r"^{name}\s+(\d+) streams:\s+(\d+) frames/s acked.*?p50 ([\d.]+) ms, p99 ([\d.]+) ms.*?"
           r"server CPU ([\d.]+) % of a core, peak RSS ([\d.]+) MB")
    lines = ["| streams | server | frames/s (wall) | frames per server CPU-second | server CPU (% of a core) | "
             "ack p99 ms | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for streams in (1, 4):
        got = {"pitwall serve": [], "baseline": []}
        for _ in range(runs):
            out = run([f"{t}/release/pitwall", "bench", "ingest", "--streams", str(streams), "--seconds",
                       str(seconds), "--baseline-cmd", baseline]).stdout
            for name in got:
                m = search(pat.format(name=re.escape(name)), out, f"the {name} line")
                fps, cpu = float(m.group(2)), float(m.group(5)) / 100
                got[name].append((fps, fps / cpu, cpu * 100, float(m.group(4)), float(m.group(6))))
        for name, v in got.items():
            label = "pitwall serve (WAL + Parquet)" if name == "pitwall serve" else "Python grpc.aio reference"
            lines.append(f"| {streams} | {label} | {mmm([x[0] for x in v])} | {mmm([x[1] for x in v])} | "
                         f"{mmm([x[2] for x in v])} | {mmm([x[3] for x in v])} | {mmm([x[4] for x in v])} |")
        ours, base = got["pitwall serve"], got["baseline"]
        wall = statistics.median(x[0] for x in ours) / statistics.median(x[0] for x in base)
        cpu = statistics.median(x[1] for x in ours) / statistics.median(x[1] for x in base)
        target = "≥ 300k frames/s, ≥ 25×" if streams == 4 else ""
        met = ""
        if streams == 4:
            fast = statistics.median(x[0] for x in ours) >= 300_000
            met = {(True, True): "yes", (True, False): "300k only", (False, True): "25× only",
                   (False, False): "no"}[(fast, wall >= 25)]
        r.row(f"Ingest, {streams} stream{'s' if streams > 1 else ''}, frames/s durable", mmm([x[0] for x in ours]),
              f"grpc.aio reference: {mmm([x[0] for x in base])}", f"{wall:.1f}×", f"{cpu:.1f}×", target, met)
    lines.insert(0, f"{seconds} s of load per server per run, {runs} runs; the load generator runs on the "
                    "same 2 cores as the server, so the server's CPU share is the fair figure.\n")
    r.section("Ingest vs the Python grpc.aio reference server", "\n".join(lines))


# ------------------------------------------------------------------------------------------------
# Convert: `pitwall convert REC OUT.parquet` against benches/recorder_reader.py (pandas)

def bench_convert(r, t, work, runs):
    seconds = 300 if r.quick else 3600
    rec = os.path.join(work, f"convert-{seconds}.pb.gz")
    run([f"{t}/release/examples/sim_recording", rec, str(seconds)])
    stubs = os.path.join(work, "stubs-convert")
    os.makedirs(stubs, exist_ok=True)
    run([PY, "-m", "grpc_tools.protoc", "-I", "./proto", f"--python_out={stubs}", "proto/telemetry/v1/telemetry.proto"])
    for d in ("telemetry", "telemetry/v1"):
        open(os.path.join(stubs, d, "__init__.py"), "a").close()
    out_rust, out_py = os.path.join(work, "convert-pitwall.parquet"), os.path.join(work, "convert-python.parquet")
    rust, py = [], []
    for _ in range(runs):
        rust.append(run([f"{t}/release/pitwall", "convert", rec, out_rust]))
        py.append(run([PY, "benches/recorder_reader.py", stubs, rec, out_py]))
    rows = int(search(r"with (\d+) rows$", rust[0].stdout, "pitwall's row count").group(1))
    py_rows = int(search(r"with (\d+) rows$", py[0].stdout, "the reader's row count").group(1))
    if rows != py_rows:
        sys.exit(f"bench: pitwall wrote {rows} rows, the pandas reader {py_rows}")
    cols = [int(run([PY, "-c", "import sys, pyarrow.parquet as pq; print(len(pq.read_schema(sys.argv[1])))", p])
                .stdout) for p in (out_rust, out_py)]
    size = os.path.getsize(rec)

    def line(name, rs, ncols):
        return (f"| {name} | {mmm([rows / x.wall for x in rs])} | {mmm([rows / x.cpu for x in rs])} | "
                f"{mmm([rows * ncols / x.cpu / 1e6 for x in rs])} | {mmm([size / x.wall / 1e6 for x in rs])} | "
                f"{ncols} | {max(x.rss_kib for x in rs) / 1024:.0f} MiB |")

    med = lambda rs, f: statistics.median(f(x) for x in rs)  # noqa: E731
    wall = med(py, lambda x: x.wall) / med(rust, lambda x: x.wall)
    cpu = med(py, lambda x: x.cpu) / med(rust, lambda x: x.cpu)
    values = (cols[0] / med(rust, lambda x: x.cpu)) / (cols[1] / med(py, lambda x: x.cpu))
    text = "\n".join([
        f"Recording: {seconds} s of the game simulator at 333 Hz ({rows:,} frames), {size / 1e6:.0f} MB "
        f"gzip, as the bridge records it; {runs} runs each.",
        "",
        "| converter | rows/s (wall) | rows per CPU-second | M column values per CPU-second | MB/s of input | "
        "columns | peak RSS |",
        "|---|---|---|---|---|---|---|",
        line("`pitwall convert` → Parquet", rust, cols[0]),
        line("`recorder_reader.py` (pandas) → Parquet", py, cols[1]),
        "",
        f"- pitwall vs pandas: **{wall:.1f}×** rows per wall second, **{cpu:.1f}×** rows per CPU-second, "
        f"**{values:.0f}×** column values per CPU-second",
    ])
    stages = run([f"{t}/release/examples/stages", rec]).stdout.strip()
    text += ("\n\nWhere pitwall's time goes (`stages`: each stage alone on one thread, thread CPU time; "
             "`pitwall convert` runs the read side and the write side on two threads):\n\n```text\n"
             f"{stages}\n```")
    r.section("Convert vs the pandas reader", text)
    rps = med(rust, lambda x: rows / x.wall)
    r.row("Convert to Parquet, rows/s", mmm([rows / x.wall for x in rust]),
          f"pandas reader: {mmm([rows / x.wall for x in py])}", f"{wall:.1f}×", f"{cpu:.1f}×",
          "≥ 400k rows/s, ≥ 10× per CPU-s",
          {(True, True): "yes", (True, False): "400k only", (False, True): "10× only",
           (False, False): "no"}[(rps >= 400_000, cpu >= 10)])


# ------------------------------------------------------------------------------------------------
# In-process benches that measure their own baseline: bridge, relay, timing engine

def bench_bridge(r, t, work, runs):
    seconds = 5 if r.quick else 15
    got = []
    for _ in range(runs):
        out = run([f"{t}/release/examples/bridge_bench", str(seconds)]).stdout
        bridge = float(search(r"^bridge CPU\s+([\d.]+) %", out, "bridge CPU").group(1))
        game = float(search(r"^baseline \(game\)\s+([\d.]+) %", out, "game CPU").group(1))
        floor = float(search(r"^wake-up floor\s+([\d.]+) %", out, "wake-up floor").group(1))
        mem = float(search(r"^bridge memory\s+\+([\d.]+) MB", out, "bridge memory").group(1))
        rate = float(search(r"^frames\s+\d+ \(([\d.]+) Hz\)", out, "frame rate").group(1))
        got.append((bridge, floor, bridge / max(floor, 0.01), game, mem, rate))
    cols = ["bridge CPU (% of a core)", "wake-up floor at 333 Hz (%)", "bridge / floor", "game simulator alone (%)",
            "bridge memory (MB)", "frames/s"]
    text = "\n".join([f"{seconds} s per phase, {runs} runs.", "", "| " + " | ".join(cols) + " |",
                      "|" + "---|" * len(cols),
                      "| " + " | ".join(mmm([g[i] for g in got]) for i in range(len(cols))) + " |"])
    r.section("Bridge at 333 Hz vs the host's wake-up floor", text)
    ratio = statistics.median(g[2] for g in got)
    r.row("Bridge CPU at 333 Hz, % of a core", mmm([g[0] for g in got]),
          f"a thread waking at 333 Hz: {mmm([g[1] for g in got])}", f"{ratio:.1f}× the floor", "", "< 2 %",
          "yes" if statistics.median(g[0] for g in got) < 2 else "no")
    r.row("Bridge memory, MB", mmm([g[4] for g in got]), "", "", "", "< 30 MB",
          "yes" if statistics.median(g[4] for g in got) < 30 else "no")


def bench_relay(r, t, work, runs):
    seconds = 3 if r.quick else 10
    got = []
    for _ in range(runs):
        out = run([f"{t}/release/examples/relay_bench", str(seconds)]).stdout
        fwd = float(search(r"^relay forwarded\s+(\d+) datagrams/s", out, "forwarded").group(1))
        d = search(r"^latency, direct\s+p50\s+([\d.]+) µs\s+p99\s+([\d.]+) µs", out, "direct latency")
        rl = search(r"^latency, relayed\s+p50\s+([\d.]+) µs\s+p99\s+([\d.]+) µs", out, "relayed latency")
        b = search(r"^latency, bare hop\s+p50\s+([\d.]+) µs\s+p99\s+([\d.]+) µs", out, "bare hop latency")
        cpu = float(search(r"= ([\d.]+) % of one core", out, "relay CPU").group(1))
        got.append((fwd, float(d.group(1)), float(b.group(1)), float(rl.group(1)), float(d.group(2)),
                    float(b.group(2)), float(rl.group(2)), cpu, fwd / max(cpu / 100, 1e-6)))
    cols = ["forwarded datagrams/s", "p50 µs direct", "p50 µs bare hop", "p50 µs relayed", "p99 µs direct",
            "p99 µs bare hop", "p99 µs relayed", "relay CPU (% of a core)", "datagrams per CPU-second"]
    text = "\n".join([f"24 cars every 10 ms, 4 plugins, {seconds} s, {runs} runs; the baseline is the same "
                      "path without the relay (server socket straight to plugin socket); the bare hop is "
                      "a thread that only receives and sends each datagram on (what a second hop costs).", "",
                      "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                      "| " + " | ".join(mmm([g[i] for g in got]) for i in range(len(cols))) + " |"])
    r.section("Relay", text)
    added = statistics.median(g[3] - g[1] for g in got)
    r.row("Relay, datagrams forwarded/s", mmm([g[0] for g in got]),
          f"direct p50 latency {mmm([g[1] for g in got], ' µs')}", f"+{added:.0f} µs p50", "",
          "", "")


def bench_timing(r, t, work, runs):
    minutes = 2 if r.quick else 20
    got = []
    for _ in range(runs):
        out = run([f"{t}/release/examples/live_bench", str(minutes)]).stdout
        dec = float(search(r"decode only \(baseline\):.*?= ([\d.]+) % of a core", out, "decode share").group(1))
        live = float(search(r"engine \+ records:.*?= ([\d.]+) % of a core", out, "engine share").group(1))
        rep = search(r"replay, every event\s+\d+ events .*?: (\d+) events/s, (\d+) events per CPU s", out, "replay")
        got.append((live, dec, float(rep.group(1)), float(rep.group(2))))
    cols = ["engine + records (% of a core)", "decode alone (% of a core)", "replay events/s",
            "replay events per CPU-second"]
    text = "\n".join([f"{minutes} simulated minutes of a 24-car weekend, car updates every 10 ms, {runs} runs.",
                      "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                      "| " + " | ".join(mmm([g[i] for g in got]) for i in range(len(cols))) + " |"])
    r.section("Live timing engine", text)
    # The decode alone takes a few clock ticks of CPU time: in a short run it can read as 0.
    dec = statistics.median(g[1] for g in got)
    ratio = f"{statistics.median(g[0] for g in got) / dec:.0f}× decode" if dec > 0 else "decode too short to time"
    r.row("Timing engine + records, live, % of a core", mmm([g[0] for g in got]),
          f"decode alone: {mmm([g[1] for g in got])}", ratio, "",
          "< 2 %", "yes" if statistics.median(g[0] for g in got) < 2 else "no")


def bench_dashboard(r, t, work, runs):
    seconds = 5 if r.quick else 20
    got = []
    for _ in range(runs):
        out = run([f"{t}/release/examples/dashboard_bench", str(seconds)]).stdout
        samples = [float(x) for x in search(r"samples delivered per second to each browser: ([\d., ]+)", out,
                                            "samples per browser").group(1).split(",")]
        boards = float(search(r"boards delivered per second to each timing feed: ([\d.]+)", out, "boards").group(1))
        dash = search(r"dashboard's thread: ([\d.]+) % of a core without browsers.*?, ([\d.]+) % with", out,
                      "dashboard thread")
        per = float(search(r"cost per browser: (-?[\d.]+) % of a core", out, "cost per browser").group(1))
        paint = search(r"5 loads: min (\d+) ms, median (\d+) ms, max (\d+) ms", out, "lap page")
        got.append((min(samples), statistics.median(samples), boards, float(dash.group(1)), float(dash.group(2)),
                    per, float(paint.group(2)), float(paint.group(3))))
    cols = ["samples/s to the slowest browser", "samples/s, median browser", "boards/s per timing feed",
            "dashboard thread, no browser (% of a core)", "with 3 browsers (% of a core)",
            "cost per browser (% of a core)", "lap page drawn, median of 5 (ms)", "lap page drawn, max (ms)"]
    text = "\n".join([f"24 cars on the timing board (the server simulator), 24 telemetry streams at 333 Hz through "
                      f"a real ingest server, 3 headless Chromiums on the telemetry page and 3 timing feeds, "
                      f"{seconds} s per phase, {runs} runs. The baseline is the same dashboard with no browser: "
                      "it decodes every live frame either way. Lap page: two 90-second laps (30 000 frames each) "
                      "from the Parquet dataset, navigation to both laps drawn.", "",
                      "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                      "| " + " | ".join(mmm([g[i] for g in got]) for i in range(len(cols))) + " |"])
    r.section("Dashboard", text)
    per = statistics.median(g[5] for g in got)
    r.row("Dashboard, CPU per browser, % of a core", mmm([g[5] for g in got]),
          f"no browser: {mmm([g[3] for g in got])}", "", "", "< 5 %", "yes" if per < 5 else "no")
    r.row("Lap page, two 90 s laps drawn, ms", mmm([g[6] for g in got]), "", "", "", "< 1 000 ms",
          "yes" if max(g[7] for g in got) < 1000 else "no")


def bench_jetstream(r, t, work, runs):
    seconds = 3 if r.quick else 10
    pat = (r"^\| one (ingest node into|sink worker out of) JetStream,? (R[13])[^|]*\| (\d+) \| ([\d.]+) % \| (\d+) \| "
           r"([\d.]+) % \| (\d+) \|")
    got = {}  # (direction, case) -> [(frames/s, pitwall % of a core, JetStream frames per CPU-s)]
    for _ in range(runs):
        for case, extra in (("R1", []), ("R3", []), ("R3 plain", ["--set", 'compression = "none"'])):
            out = run(["scripts/bench-jetstream", "--pitwall", f"{t}/release/pitwall", "--seconds", str(seconds),
                       "--cases", case.split()[0], *extra]).stdout
            found = re.findall(pat, out, re.M)
            if len(found) != 2:
                sys.exit(f"bench: scripts/bench-jetstream printed no table for {case}:\n{out[-2000:]}")
            for d, _, rate, cpu, _, _, js in found:
                key = ("in" if d.startswith("ingest") else "out", case)
                got.setdefault(key, []).append((float(rate), float(cpu), float(js)))
    cols = ["path", "frames/s", "pitwall CPU (% of a core)", "frames per pitwall CPU-second",
            "frames per JetStream CPU-second (all nodes)"]
    names = {"in": "one ingest node into JetStream", "out": "one sink worker out of JetStream into Parquet"}
    lines = []
    for case in ("R1", "R3", "R3 plain"):
        for d in ("in", "out"):
            g = got[(d, case)]
            what = {"R1": "R1", "R3": "R3", "R3 plain": "R3, plain messages (`compression = \"none\"`)"}[case]
            lines.append(f"| {names[d]}, {what} | {mmm([x[0] for x in g])} | {mmm([x[1] for x in g])} | "
                         f"{mmm([x[0] / max(x[1] / 100, 1e-6) for x in g])} | {mmm([x[2] for x in g])} |")
    text = "\n".join([f"`scripts/bench-jetstream`: `pitwall bench ingest` (8 streams, {seconds} s) into one "
                      "`pitwall serve` whose only sink is JetStream (file storage; R1: one node; R3: a "
                      "three-node cluster, the stream replicated three times), then one `pitwall sink --to "
                      "parquet` draining the stream; nats-server and pitwall on the same 2 cores. The "
                      f"baseline is the same R3 path with plain messages. {runs} runs.", "",
                      "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + lines)
    r.section("JetStream", text)
    for case in ("R1", "R3"):
        for d in ("in", "out"):
            g = got[(d, case)]
            med = statistics.median(x[0] for x in g)
            base = ""
            ratio_wall = ratio_cpu = ""
            if case == "R3":
                b = got[(d, "R3 plain")]
                base = f"plain messages: {mmm([x[0] for x in b])}"
                ratio_wall = f"{med / statistics.median(x[0] for x in b):.1f}×"
                ratio_cpu = (f"{statistics.median(x[2] for x in g) / statistics.median(x[2] for x in b):.1f}× "
                             "per JetStream CPU-s")
            r.row(f"JetStream {case}, {'one ingest node in' if d == 'in' else 'one sink worker out'}, frames/s",
                  mmm([x[0] for x in g]), base, ratio_wall, ratio_cpu, "≥ 100k frames/s",
                  "yes" if med >= 100_000 else "no")


COMMANDS = {
    "acsp": ("cargo build --release -p pitwall && cargo build --release -p pitwall-acsp --example bench_capture && "
             "target/release/examples/bench_capture acsp.bin 8 && "
             "target/release/pitwall acsp decode acsp.bin --json > out.jsonl && "
             ".venv/bin/python benches/acsp_acudpclient.py acsp.bin"),
    "ingest": "benches/ingest.sh 4 10   # and: benches/ingest.sh 1 10",
    "convert": "benches/convert.sh 3600   # and where the time goes: target/release/examples/stages REC",
    "bridge": "cargo run --release -p pitwall-bridge --example bench -- 15",
    "relay": "cargo run --release -p pitwall-relay --example relay_bench -- 10",
    "timing": "cargo run --release -p pitwall-live --example live_bench -- 20",
    "dashboard": "cargo run --release -p pitwall-dashboard --example dashboard_bench -- 20",
    "jetstream": ("scripts/bench-jetstream --pitwall target/release/pitwall   # and the baseline: "
                  "--cases R3 --set 'compression = \"none\"'"),
}
BENCHES = {"acsp": bench_acsp, "ingest": bench_ingest, "convert": bench_convert, "bridge": bench_bridge,
           "relay": bench_relay, "timing": bench_timing, "dashboard": bench_dashboard, "jetstream": bench_jetstream}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(BENCHES))
    args = ap.parse_args()
    only = args.only.split(",")
    unknown = [n for n in only if n not in BENCHES]
    if unknown:
        sys.exit(f"bench: unknown benchmark {unknown}; known: {', '.join(BENCHES)}")
    r = Report(args.quick)
    started = time.monotonic()
    load_before = loadavg()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for name in only:
        runs = {"acsp": 5, "ingest": 3, "convert": 3, "bridge": 3, "relay": 3, "timing": 3, "dashboard": 3,
                "jetstream": 3}[name]
        if args.quick:
            runs = {"acsp": 3}.get(name, 1)
        print(f"bench: {name} ({runs} runs)…", flush=True)
        BENCHES[name](r, args.target, args.work, runs)
    took = time.monotonic() - started
    head = [
        f"Measured {when} by `scripts/bench{' --quick' if args.quick else ''}` in {took / 60:.1f} min on: "
        f"{machine()}. Load average before/after: {load_before} / {loadavg()} (a shared machine: other "
        "builds ran meanwhile, so per-CPU-second figures are the steadier ones).",
        "",
        "Figures are median (min–max) over the runs; ratios are of the medians, per wall second and per "
        "CPU-second.",
        "",
        "| figure | pitwall | baseline (same run) | ratio, wall | ratio, per CPU-s | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    head += ["| " + " | ".join(c) + " |" for c in r.rows]
    body = "\n".join(head)
    for title, text in r.sections:
        body += f"\n\n### {title}\n\n{text}"
    body += "\n\n### Commands\n\nEach figure alone, from the repository root:\n\n"
    body += "\n".join(f"- {name}: `{COMMANDS[name]}`" for name in only)
    with open(args.out, "w") as f:
        f.write(body + "\n")
    print(f"\nbench: report in {rel(args.out)} ({took / 60:.1f} min)")


if __name__ == "__main__":
    main()
