/*
 * Programs that do nothing, one per way a sensor could see opens, for bench/tracepoint_floor.py:
 * what each hook costs an open before any work is done. `target` is never a real pid, so every
 * program returns at once; only the kernel's cost of running it remains.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target = -1;
__u64 hits;

static __always_inline int count_if_target(void)
{
    if ((int)(bpf_get_current_pid_tgid() >> 32) == target)
        hits++;
    return 0;
}

/* Enables syscall tracepoints without firing in the loop: the kernel's slow path alone. */
SEC("tracepoint/syscalls/sys_exit_reboot")
int tracepoints_on(void *ctx) { return count_if_target(); }

/* What bpftrace uses: a perf-event tracepoint program on openat's exit. */
SEC("tracepoint/syscalls/sys_exit_openat")
int openat_tracepoint(void *ctx) { return count_if_target(); }

/* Falco's modern probe: BTF raw tracepoints on every syscall's exit. */
SEC("tp_btf/sys_exit")
int sys_exit_btf(u64 *ctx) { return count_if_target(); }

SEC("raw_tp/sys_exit")
int sys_exit_raw(void *ctx) { return count_if_target(); }

/* Hooks that fire on opens only, without the syscall slow path. */
SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file) { return count_if_target(); }

SEC("fentry/do_sys_openat2")
int BPF_PROG(fentry_openat2, int dfd, const char *filename) { return count_if_target(); }
