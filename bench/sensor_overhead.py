"""What runwatch's kernel sensor costs the workloads it watches, and how much it delivers without loss.

Runs real syscall-heavy workloads (bench/sensor_workload.c, built here with gcc) with and without
the sensor: bpftrace with the program `runwatch run` generates for Falco's stable ruleset, and
runwatch's decoding and enrichment, in a process of its own:

  opens      1,000,000 x (open O_RDONLY, read 4 KiB, close) of ordinary files: the 10% floor
  openclose  1,000,000 x (open, close) of one file: the bare worst case, nothing else to do
  mixed      write-opens, fork+exec, loopback TCP connects, flat out: events/s at full load
  paced      20,000 write-opens/s for 10 s, each one an event in user space: the no-loss floor

For scale the open loops are also timed under two bpftrace probes that do nothing: one on a
syscall the loops never make (what merely enabling syscall tracepoints costs: the kernel then
takes its slow path on every syscall's entry and exit) and one on openat's exit (the least any
tracepoint-based sensor adds to an open here). The paced phase also runs against the whole
`runwatch run` (rules, outputs, the store), with every event stored (the default) and with
`store.events: none`.

Timings on a shared machine drift by tens of percent within a minute, so the loops are timed in
--rounds rounds: each starts a watcher, times the loops (median of --runs), stops it, and times
them again without it; a ratio is the median over rounds of those paired ratios, and the range
is printed beside it. The last line is `slowdown_ratio=R lost_events=N`: the sensor's, for the
opens workload and the paced phase.

    .venv/bin/python bench/sensor_overhead.py [--rounds 5] [--runs 3] [--opens 1000000] [--rate 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from runwatch.config import EbpfSourceConfig  # noqa: E402
from runwatch.enrich.base import Enricher  # noqa: E402
from runwatch.enrich.process_tree import ProcessTree, ProcessTreeEnricher  # noqa: E402
from runwatch.enrich.users import UserNameEnricher  # noqa: E402
from runwatch.rules.falco import DEFAULT_RULES_FILE, load_rules  # noqa: E402
from runwatch.sources.ebpf import EbpfSource  # noqa: E402

RUNWATCH = Path(sys.executable).with_name("runwatch")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FALCO_SYSCALLS_PER_CPU = 250_000  # Falco's published figure before drops, per CPU
FALCO_REDIS_SLOWDOWN = 0.12       # Falco's published slowdown of Redis from attaching probes
NOOP_PROBES = {  # bpftrace programs that never print: what the kernel's tracing costs alone
    "tracepoints on": "tracepoint:syscalls:sys_exit_reboot /pid == 1/ { print((1)); }\n",
    "no-op on openat": "tracepoint:syscalls:sys_exit_openat /pid == 1/ { print((1)); }\n",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def bpf_run_time(pids: list[int]) -> int:
    """Nanoseconds the kernel spent in the BPF programs these processes hold, counted while
    kernel.bpf_stats_enabled is 1 (read from each program fd's fdinfo)."""
    total_ns = 0
    for pid in pids:
        for info in Path(f"/proc/{pid}/fdinfo").iterdir():
            try:
                fields = dict(line.split(":\t", 1) for line in info.read_text().splitlines()
                              if ":\t" in line)
            except OSError:
                continue  # closed meanwhile
            total_ns += int(fields.get("run_time_ns", 0))
    return total_ns


class BpfStats:
    """kernel.bpf_stats_enabled on for a measurement (it adds two clock reads to every run, so
    never while the loops are timed), restored after."""

    SYSCTL = Path("/proc/sys/kernel/bpf_stats_enabled")

    def __enter__(self) -> None:
        self.before = self.SYSCTL.read_text().strip()
        self.SYSCTL.write_text("1")

    def __exit__(self, *exc: object) -> None:
        self.SYSCTL.write_text(self.before)


# -- the sensor, in its own process -----------------------------------------------------------

async def serve_sensor() -> None:
    """Run the sensor for the stable ruleset's event types; answer 'stats' on stdin with a JSON
    line, stop on anything else or EOF."""
    tree = ProcessTree()
    event_types = load_rules([DEFAULT_RULES_FILE]).ruleset.required_event_types()
    source = EbpfSource(EbpfSourceConfig(), tree, event_types)
    enrichers: list[Enricher] = [ProcessTreeEnricher(tree),
                                 UserNameEnricher(container_pids=source.cgroups.container_pids)]

    async def consume() -> None:
        async for batch in source.events():
            for enricher in enrichers:
                enricher.enrich(batch)

    task = asyncio.create_task(consume())
    while source.status.state != "running":
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": True, "bpftrace": child_pids(os.getpid())}), flush=True)
    loop = asyncio.get_running_loop()
    while (line := await loop.run_in_executor(None, sys.stdin.readline)).strip() == "stats":
        print(json.dumps({"events": source.status.events_total, "lost": source.status.lost_total,
                          "dropped": 0}), flush=True)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class Watcher:
    """What watches the workload, seen from outside: event counters, CPU and memory."""

    pids: list[int]

    def stats(self) -> dict[str, int]:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def drained(self, quiet_s: float = 1.0) -> dict[str, int]:
        """Counters once no new event arrived for `quiet_s`: everything sent was read."""
        last = self.stats()
        while True:
            time.sleep(quiet_s)
            now = self.stats()
            if now["events"] - last["events"] < 50:
                return now
            last = now

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLOCK_TICKS

    def peak_rss_mb(self) -> float:
        total = 0
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        return total / 1024


class Sensor(Watcher):
    """The sensor process (and its bpftrace)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-sensor"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ready = json.loads(self.process.stdout.readline())
        self.pids = [self.process.pid, *ready["bpftrace"]]

    def stats(self) -> dict[str, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())  # type: ignore[no-any-return]

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        self.process.wait(timeout=60)


class Runwatch(Watcher):
    """`runwatch run` as an operator starts it (its own data directory): /healthz counters."""

    def __init__(self, workdir: Path, store_events: str, timeout_s: float = 120.0) -> None:
        port = free_port()
        data = workdir / f"data-{store_events}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("RUNWATCH_")}
        env.update({"HOME": str(workdir), "RUNWATCH_STORE__EVENTS": store_events})
        with open(workdir / "runwatch.log", "wb") as log:
            self.process = subprocess.Popen(
                [str(RUNWATCH), "run", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}",
                 "--log-json"], stdout=subprocess.DEVNULL, stderr=log, cwd=workdir, env=env)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while self.health().get("sources", {}).get("ebpf", {}).get("state") != "running":
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("runwatch run did not start its kernel sensor: "
                                 + (workdir / "runwatch.log").read_text()[-2000:])
            time.sleep(0.2)
        self.pids = [self.process.pid, *child_pids(self.process.pid)]  # and bpftrace

    def health(self) -> dict[str, dict[str, dict[str, object]]]:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                return json.loads(answer.read())  # type: ignore[no-any-return]
        except OSError:
            return {}

    def stats(self) -> dict[str, int]:
        health = self.health()
        kernel = health["sources"]["ebpf"]
        counters = {"events": kernel["events_total"], "lost": kernel["lost_total"],
                    "dropped": health["dropped_total"]}
        return {key: int(str(value)) for key, value in counters.items()}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


class NoopProbe:
    """bpftrace running `program`, a probe that never prints: the tracing's own cost."""

    def __init__(self, workdir: Path, program: str) -> None:
        path = workdir / "noop.bt"
        path.write_text(program)
        self.process = subprocess.Popen(["bpftrace", "--no-warnings", str(path)],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.process.stdout.readline()  # "Attaching 1 probe..."
        self.pids = [self.process.pid]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)


# -- the workloads ----------------------------------------------------------------------------

def build_workload(workdir: Path) -> Path:
    if shutil.which("gcc") is None:
        raise SystemExit("gcc is needed to build bench/sensor_workload.c (scripts/bootstrap.sh test)")
    binary = workdir / "sensor_workload"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(HERE / "sensor_workload.c")], check=True)
    return binary


def run(binary: Path, *args: object) -> list[float]:
    output = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                            check=True).stdout
    return [float(value) for value in output.split()]


def median_of(runs: int, binary: Path, *args: object) -> float:
    return statistics.median(run(binary, *args)[0] for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="paired on/off timings of the loops")
    parser.add_argument("--runs", type=int, default=3, help="runs of each loop per timing")
    parser.add_argument("--opens", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve-sensor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sensor:
        asyncio.run(serve_sensor())
        return
    if os.geteuid() != 0:
        raise SystemExit("the kernel sensor needs root")
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as tmp:
        workdir = Path(tmp)
        files = workdir / "files"
        files.mkdir()
        for index in range(64):
            (files / str(index)).write_bytes(os.urandom(2048))
        written = workdir / "written"
        written.mkdir()
        measure(args, workdir, build_workload(workdir), files, written)


Phase = dict[str, float]


def load_phase(watcher: Watcher, binary: Path, *workload: object) -> tuple[Phase, list[float]]:
    """Run one workload under `watcher`: events/s delivered, lost, dropped, CPU (of one core)."""
    start = watcher.drained()
    cpu_start = watcher.cpu_seconds()
    output = run(binary, *workload)
    end = watcher.drained()
    seconds = output[-1]
    phase: Phase = {key: end[key] - start[key] for key in end}
    phase["events_per_s"] = phase["events"] / seconds
    phase["cpu"] = (watcher.cpu_seconds() - cpu_start) / seconds
    return phase, output


Ratios = dict[str, dict[str, list[float]]]  # watcher -> loop -> paired ratio per round


def measure(args: argparse.Namespace, workdir: Path, binary: Path, files: Path,
            written: Path) -> None:
    loops = {"opens": (args.opens, files), "openclose": (args.opens, files / "0")}
    paced = ("paced", args.rate, args.seconds, written)

    def time_loops() -> dict[str, float]:
        return {name: median_of(args.runs, binary, name, *work) for name, work in loops.items()}

    run(binary, "opens", 10_000, files)  # warm the page cache and the binary
    mixed_base = run(binary, "mixed", 3, written)
    starters: dict[str, Callable[[], NoopProbe | Sensor]] = {
        **{name: functools.partial(NoopProbe, workdir, program)
           for name, program in NOOP_PROBES.items()}, "sensor": Sensor}
    ratios: Ratios = {name: {loop: [] for loop in loops} for name in starters}
    baselines: list[dict[str, float]] = []
    loops_cpu = 0.0
    for _ in range(args.rounds):
        for name, start in starters.items():
            watcher = start()
            try:
                if isinstance(watcher, Sensor):
                    watcher.drained()
                    cpu_start, wall_start = watcher.cpu_seconds(), time.monotonic()
                    during = time_loops()
                    loops_cpu = (watcher.cpu_seconds() - cpu_start) / (time.monotonic() - wall_start)
                else:
                    during = time_loops()
            finally:
                watcher.stop()
            baseline = time_loops()
            baselines.append(baseline)
            for loop in loops:
                ratios[name][loop].append(during[loop] / baseline[loop])

    bpf_ns_per_open = {}
    with BpfStats():
        for name in ("no-op on openat", "sensor"):
            watcher = starters[name]()
            try:
                ns_before = bpf_run_time(watcher.pids)
                run(binary, "opens", *loops["opens"])
                bpf_ns_per_open[name] = (bpf_run_time(watcher.pids) - ns_before) / args.opens
            finally:
                watcher.stop()

    sensor = Sensor()
    try:
        sensor.drained()
        paced_name = f"sensor, paced {args.rate:,}/s for {args.seconds:g}s"
        phases = {paced_name: load_phase(sensor, binary, *paced)[0]}
        mixed, (opened, execs, connects, mixed_s) = load_phase(sensor, binary, "mixed", 5, written)
        phases["sensor, mixed flat out for 5s"] = mixed
        sensor_mb = sensor.peak_rss_mb()
    finally:
        sensor.stop()
    daemon_mb: dict[str, float] = {}
    for store_events in ("all", "none"):
        daemon = Runwatch(workdir, store_events)
        try:
            phases[f"runwatch run, paced, store.events={store_events}"] = \
                load_phase(daemon, binary, *paced)[0]
            daemon_mb[store_events] = daemon.peak_rss_mb()
        finally:
            daemon.stop()

    print(f"slowdown, median of {args.rounds} paired rounds [min-max]; baseline is the median time")
    print(f"{'workload':<40}{'baseline':>9}" + "".join(f"{name:>24}" for name in ratios))
    for loop, text in (("opens", f"{args.opens:,} x open+read 4KiB+close"),
                       ("openclose", f"{args.opens:,} x open+close (worst case)")):
        base = statistics.median(baseline[loop] for baseline in baselines)
        cells = "".join(f"{_ratio_cell(ratios[name][loop]):>24}" for name in ratios)
        print(f"{text:<40}{base:>8.3f}s{cells}")
    print(f"kernel time in BPF programs per open (bpf_stats, which adds ~20 ns a run): sensor "
          f"{bpf_ns_per_open['sensor']:.0f} ns, no-op probe {bpf_ns_per_open['no-op on openat']:.0f} ns")
    print(f"{'mixed ops/s (write-opens, execs, connects)':<44}"
          f"{sum(mixed_base[:3]) / mixed_base[3]:>10,.0f} without, "
          f"{(opened + execs + connects) / mixed_s:,.0f} with the sensor")
    print()
    print(f"{'phase':<44}{'events/s delivered':>19}{'lost':>10}{'dropped':>9}{'CPU':>7}")
    for name, phase in phases.items():
        print(f"{name:<44}{phase['events_per_s']:>19,.0f}{phase['lost']:>10,.0f}"
              f"{phase['dropped']:>9,.0f}{phase['cpu']:>7.0%}")
    print(f"{'sensor, during the open loops':<44}{'':>38}{loops_cpu:>7.0%}")
    print(f"peak memory (with bpftrace): sensor {sensor_mb:.0f} MiB; runwatch run "
          f"{daemon_mb['all']:.0f} MiB storing every event, {daemon_mb['none']:.0f} MiB storing "
          f"none. CPU is of one core; {len(os.sched_getaffinity(0))} CPUs here")
    print(f"Falco's figures: about {FALCO_SYSCALLS_PER_CPU:,} syscalls/s per CPU before drops, "
          f"about {FALCO_REDIS_SLOWDOWN:.0%} slowdown of Redis from attaching its probes")
    print(f"slowdown_ratio={statistics.median(ratios['sensor']['opens']):.3f} "
          f"lost_events={phases[paced_name]['lost']:.0f}")


def _ratio_cell(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.2f}-{max(values):.2f}]"


if __name__ == "__main__":
    main()
