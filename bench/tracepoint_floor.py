"""The least any eBPF sensor can cost an open on this kernel, hook by hook.

Builds bench/tracepoint_floor/ (programs that do nothing, compiled CO-RE against this kernel's
BTF, and a C harness linked with libbpf) and times a loop of open+read 4 KiB+close with each
program attached and detached in paired rounds inside one process, so that host drift cancels
out of each ratio. It also shows which hooks the kernel refuses. This is the floor under
bench/sensor_overhead.py's figure: the sensor (bpftrace) can only use perf-event tracepoints.

  tracepoints on     a program on a syscall the loop never makes: syscall tracepoints enabled,
                     so the kernel takes its slow path on every syscall's entry and exit
  openat tracepoint  what bpftrace attaches for opens (perf-event tracepoint, openat's exit)
  sys_exit tp_btf    Falco's modern probe's hook (BTF raw tracepoint on every syscall's exit)
  sys_exit raw_tp    the same through a plain raw tracepoint
  lsm file_open      fires on opens only, no syscall slow path (needs BPF LSM)
  fentry openat2     fires on opens only, no syscall slow path (needs BPF trampolines)

The last line is `slow_path_ratio=R openat_tracepoint_ratio=R`.

    .venv/bin/python bench/tracepoint_floor.py [--rounds 150] [--opens 30000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "tracepoint_floor"
PROGRAMS = {  # harness name -> what the table calls it
    "tracepoints_on": "tracepoints on",
    "openat_tracepoint": "openat tracepoint",
    "sys_exit_btf": "sys_exit tp_btf",
    "sys_exit_raw": "sys_exit raw_tp",
    "lsm_file_open": "lsm file_open",
    "fentry_openat2": "fentry openat2",
}
TOOLS = ("clang", "bpftool", "gcc")


def build(workdir: Path) -> tuple[Path, Path]:
    """The BPF object and the harness, built for this kernel."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or not Path("/usr/include/bpf/libbpf.h").exists():
        raise SystemExit(f"needs {', '.join(missing) or 'libbpf-dev'}: scripts/bootstrap.sh bench "
                         "installs clang, bpftool and libbpf-dev")
    vmlinux = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux",
                              "format", "c"], capture_output=True, text=True, check=True).stdout
    (workdir / "vmlinux.h").write_text(vmlinux)
    probes = workdir / "probes.bpf.o"
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
                    f"-I{workdir}", "-c", str(HERE / "probes.bpf.c"), "-o", str(probes)], check=True)
    harness = workdir / "harness"
    subprocess.run(["gcc", "-O2", "-o", str(harness), str(HERE / "harness.c"), "-lbpf"], check=True)
    return probes, harness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=150, help="paired on/off timings per hook")
    parser.add_argument("--opens", type=int, default=30_000, help="opens per timing")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("loading BPF programs needs root")
    with tempfile.TemporaryDirectory(prefix="runwatch-floor-") as tmp:
        workdir = Path(tmp)
        probes, harness = build(workdir)
        files = workdir / "files"
        files.mkdir()
        for index in range(64):
            (files / str(index)).write_bytes(os.urandom(2048))
        cpu = max(os.sched_getaffinity(0))  # one CPU: no migrations inside a timing
        output = subprocess.run([str(harness), str(probes), str(args.rounds), str(args.opens),
                                 str(files), *PROGRAMS], capture_output=True, text=True, check=True,
                                preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    ratios: dict[str, float] = {}
    print(f"open+read 4KiB+close, {args.opens:,} per timing, median of {args.rounds} paired "
          f"rounds [min-max]; {len(os.sched_getaffinity(0))} CPUs, kernel {os.uname().release}")
    for line in output.stdout.splitlines():
        name, verdict, *rest = line.split(" ", 2)
        label = PROGRAMS.get(name, name)
        if verdict == "ratio":
            median, low, high = (float(value) for value in rest[0].split())
            ratios[name] = median
            print(f"  {label:<20}{median:>8.3f}   [{low:.2f}-{high:.2f}]")
        else:
            print(f"  {label:<20}  refused by the kernel at {rest[0]}")
    if "tracepoints_on" not in ratios or "openat_tracepoint" not in ratios:
        sys.exit("the tracepoint programs did not run: " + output.stdout)
    print(f"slow_path_ratio={ratios['tracepoints_on']:.3f} "
          f"openat_tracepoint_ratio={ratios['openat_tracepoint']:.3f}")


if __name__ == "__main__":
    main()
