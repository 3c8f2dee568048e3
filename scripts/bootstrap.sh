#!/usr/bin/env bash
# Installs what runwatch needs on a Debian machine, idempotently, then the Python environment.
#   scripts/bootstrap.sh run    what `runwatch run` needs (bpftrace; the virtual environment)
#   scripts/bootstrap.sh test   also what the test suite needs (podman, runc, busybox-static, ...)
#   scripts/bootstrap.sh bench  also what the benchmarks build (clang, bpftool, libbpf-dev)
set -euo pipefail

mode=${1:-run}
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
python=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*" >&2; }

run_packages=(bpftrace)
test_packages=(bpftrace podman runc busybox-static uidmap slirp4netns conntrack gcc libc6-dev
               postgresql chromium curl debootstrap)
bench_packages=("${test_packages[@]}" clang llvm bpftool libbpf-dev)

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "not root: cannot install ${missing[*]}; runwatch will run on the procfs fallback"
    return 0
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

mount_tracefs() {
  [ "$(id -u)" -eq 0 ] || return 0
  if [ ! -d /sys/kernel/debug/tracing ] && ! mountpoint -q /sys/kernel/debug; then
    mount -t debugfs none /sys/kernel/debug 2>/dev/null || say "cannot mount debugfs"
  fi
  if [ ! -d /sys/kernel/tracing/events ] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs none /sys/kernel/tracing 2>/dev/null || true
  fi
}

configure_podman() {
  [ "$(id -u)" -eq 0 ] || return 0
  local conf=/etc/containers/containers.conf
  if ! grep -q 'runwatch' "$conf" 2>/dev/null; then
    mkdir -p /etc/containers
    cat > "$conf" <<'CONF'
# written by runwatch's scripts/bootstrap.sh: podman with runc and cgroupfs, no systemd or journald
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  fi
}

serve_podman_api() {
  # Where podman is installed but no service answers its Docker-compatible API (no systemd socket
  # unit here), start one, so runwatch sees container names, images and labels and can respond.
  [ "$(id -u)" -eq 0 ] && command -v podman >/dev/null || return 0
  local sock=/run/podman/podman.sock
  if [ -S "$sock" ] && "$python" -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
      "$sock" 2>/dev/null; then
    return 0
  fi
  mkdir -p /run/podman
  rm -f "$sock"
  say "starting podman's API service on $sock"
  setsid nohup podman system service --time 0 "unix://$sock" >/dev/null 2>&1 < /dev/null &
  for _ in $(seq 50); do [ -S "$sock" ] && return 0; sleep 0.1; done
  say "podman's API service did not start; runwatch runs without container metadata"
}

python_environment() {
  local stamp="$venv/.installed" wanted
  wanted=$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)-$mode
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  say "installing the Python environment in $venv"
  "$venv/bin/pip" install -q --upgrade pip==25.3
  if [ "$mode" = test ]; then
    "$venv/bin/pip" install -q -e "$root[test]"
  else
    "$venv/bin/pip" install -q -e "$root"
  fi
  echo "$wanted" > "$stamp"
}

case "$mode" in
  run)
    install_packages "${run_packages[@]}"
    mount_tracefs
    if command -v podman >/dev/null; then configure_podman; serve_podman_api; fi
    ;;
  test|bench)
    if [ "$mode" = bench ]; then install_packages "${bench_packages[@]}"
    else install_packages "${test_packages[@]}"; fi
    mount_tracefs
    configure_podman
    ;;
  *) say "usage: $0 run|test|bench"; exit 2 ;;
esac
python_environment
