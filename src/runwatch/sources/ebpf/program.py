"""The bpftrace program, generated from the event types wanted and the kernel filters configured.

Only what is asked for is attached: every enabled syscall tracepoint slows every syscall a little
(the kernel takes its slow path for all of them once one is on), so the sensor traces the event
types the loaded rules need plus the few it needs itself (exec, fork, exit, chdir) and nothing else.

Read-only opens are the busiest events by far and rules care about few of them, so they are
filtered in the kernel: one reaches user space only when its path is relative (resolved later),
starts with a configured prefix, or contains `../` within its first bytes (directory traversal).
Opens that write, create or truncate always pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from runwatch.sources.ebpf.catalog import (FORK_NUMBERS, FORK_TYPES, HEADER_VALUES, KIND_ARGV,
                                           KIND_ENV, KIND_EXE_NAME, KIND_EXEC, KIND_EXIT, KIND_FILENAME, KIND_FORK,
                                           KIND_STRING, OPEN_TYPES,
                                           SENSOR_TYPES, STR_MAX, SYSCALLS, EventSpec)

_O_ACCMODE, _O_CREAT, _O_TRUNC = 0x3, 0x40, 0x200
_OVERLAYFS_SUPER_MAGIC = 0x794C7630
_MEMFD_PREFIX = int.from_bytes(b"memfd:", "little")  # compared as an integer: a str() costs 200 bytes of stack
_MAX_PREFIX_BYTES = 16
_MAX_UNROLL = 100  # bpftrace's limit for unroll()


@dataclass(frozen=True, slots=True)
class ProgramOptions:
    """How to build the program. `ignore_pids` are bpftrace expressions (`$1`, `4242`)."""

    thread_size: int = 16384
    ignore_pids: tuple[str, ...] = ()
    filter_open_reads: bool = True
    open_read_prefixes: tuple[str, ...] = ()
    traversal_scan_bytes: int = 16
    args_max_bytes: int = 1000
    env_max_bytes: int = 600
    available_tracepoints: frozenset[str] | None = None
    raw_syscalls_fallback: bool = False


@dataclass(frozen=True, slots=True)
class Program:
    """The program text and what it traces: `raw_fallback` lists syscalls traced through
    raw_syscalls, `unavailable` those without a tracepoint left untraced (fallback off)."""

    text: str
    event_types: frozenset[str]
    raw_fallback: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()


def build_program(event_types: frozenset[str], options: ProgramOptions) -> Program:
    """The bpftrace program tracing `event_types` (unknown names are ignored) plus the sensor's own."""
    wanted = sorted({*event_types, *SENSOR_TYPES} & {*SYSCALLS, *FORK_TYPES})
    available = options.available_tracepoints
    blocks = [_exec_probe(options), _fork_probe(options), _exit_probe()]
    direct: list[EventSpec] = []
    fallback: list[EventSpec] = []
    for name in wanted:
        if name in FORK_TYPES:
            continue
        spec = SYSCALLS[name]
        if available is None or spec.tracepoint_name in available:
            direct.append(spec)
        else:
            fallback.append(spec)
    blocks.extend(_syscall_probe(spec, options) for spec in direct)
    if fallback and options.raw_syscalls_fallback:
        blocks.append(_raw_fallback_probe(fallback, options))
        return Program("\n".join(blocks), frozenset(wanted), tuple(s.name for s in fallback))
    unavailable = tuple(spec.name for spec in fallback)
    return Program("\n".join(blocks), frozenset(wanted) - set(unavailable), (), unavailable)


def _self_filter(options: ProgramOptions) -> str:
    return " && ".join(f"pid != {expr}" for expr in options.ignore_pids) or "1"


def _regs(options: ProgramOptions) -> str:
    # The registers saved at syscall entry sit at the top of the task's kernel stack (x86_64,
    # without FRED's padding): task_pt_regs() in arch/x86/include/asm/processor.h.
    return (f"$regs = (struct pt_regs *)((uint64)curtask->stack + {options.thread_size} "
            f"- sizeof(struct pt_regs));")


def _print(kind: int, values: tuple[str, ...]) -> str:
    return f"print(({kind}, {', '.join((*HEADER_VALUES, *values))}));"


def _syscall_probe(spec: EventSpec, options: ProgramOptions) -> str:
    """The probe printing the tuple, preceded by one probe per string value when there are any.

    A string and the tuple do not fit in one program's 512-byte stack, so each string comes from
    a program of its own on the same tracepoint, attached (and so run) just before; each repeats
    the setup, filter and condition so that it prints exactly when the tuple does. Filtered opens
    decide once instead: see _decided_once_probe.
    """
    pieces = _string_pieces(spec)
    if spec.name in OPEN_TYPES and options.filter_open_reads and pieces:
        return _decided_once_probe(spec, options, pieces)
    head = _syscall_head(spec, _self_filter(options), options)
    strings = "".join(f"{head}{_syscall_body(spec, options, piece)}\n}}\n\n" for piece in pieces)
    return f"{strings}{head}{_syscall_body(spec, options)}\n}}\n"


def _syscall_head(spec: EventSpec, predicate: str, options: ProgramOptions) -> str:
    return f"tracepoint:syscalls:sys_exit_{spec.tracepoint_name} /{predicate}/\n{{\n" \
           f"  $ret = args->ret;\n  {_regs(options)}\n"


def _decided_once_probe(spec: EventSpec, options: ProgramOptions, pieces: list[str]) -> str:
    """An open's probes, with the filter run by the first only.

    Nearly every open is a read nobody asked about, so what an open costs is what the probes do
    before dropping it. The first program reads the path and decides; when the open passes it
    marks the thread in `@open_passed`, and the later programs on the tracepoint (the rest of
    the strings, the tuple) run only for a marked thread, the tuple clearing the mark. A dropped
    open costs one filter and one map lookup instead of one filter per program, and runwatch's
    own pids are compared only for the opens that pass (each `pid` is a helper call).
    """
    mark = "@open_passed[tid] = 1; "
    first = _syscall_body(spec, options, mark + pieces[0], _self_filter(options))
    blocks = [f"{_syscall_head(spec, '1', options)}{first}\n}}\n"]
    marked = _syscall_head(spec, "@open_passed[tid]", options)
    setup = f"{spec.setup}\n" if spec.setup else ""
    blocks.extend(f"{marked}{setup}  {piece}\n}}\n" for piece in pieces[1:])
    blocks.append(f"{marked}{setup}  delete(@open_passed[tid]);\n  {_tuple_print(spec)}\n}}\n")
    return "\n".join(blocks)


def _raw_fallback_probe(specs: list[EventSpec], options: ProgramOptions) -> str:
    """Syscalls without their own tracepoint, picked out of raw_syscalls by number."""
    numbers = " || ".join(f"args->id == {spec.number}" for spec in specs)
    head = f"tracepoint:raw_syscalls:sys_exit /({numbers}) && {_self_filter(options)}/\n{{\n" \
           f"  $ret = args->ret;\n  {_regs(options)}\n"
    probes = []
    for spec in specs:
        for statement in [*_string_pieces(spec), None]:
            body = _syscall_body(spec, options, statement)
            probes.append(f"{head}  if (args->id == {spec.number}) {{\n{body}\n  }}\n}}\n")
    return "\n".join(probes)


def _string_pieces(spec: EventSpec) -> list[str]:
    """A print per string value, as (KIND_STRING, tid, index in the tuple, text)."""
    pieces = []
    for position, (name, value) in enumerate(zip(spec.fields, spec.values)):
        if value.startswith("str("):
            piece = f"print(({KIND_STRING}, tid, {len(HEADER_VALUES) + 1 + position}, {value}));"
            guard = spec.guards.get(name)
            pieces.append(f"if ({guard}) {{ {piece} }}" if guard else piece)
    return pieces


def _syscall_body(spec: EventSpec, options: ProgramOptions, piece: str | None = None,
                  last_condition: str = "") -> str:
    """Setup, filter and condition, then `piece` if given, else the tuple (strings as 0).

    `last_condition` is tested after the others: only for what they let through.
    """
    lines = [spec.setup] if spec.setup else []
    conditions = [spec.condition] if spec.condition else []
    if spec.name in OPEN_TYPES and options.filter_open_reads:
        lines.append(_open_read_filter(options))
        conditions.append("$pass")
    if last_condition:
        conditions.append(last_condition)
    if piece is None:
        piece = _tuple_print(spec)
    if conditions:
        piece = f"if ({' && '.join(f'({c})' for c in conditions)}) {{ {piece} }}"
    return "\n".join([*lines, f"  {piece}"])


def _tuple_print(spec: EventSpec) -> str:
    """The event's tuple, its strings as 0: they come from the string probes before it."""
    return _print(spec.kind, tuple("0" if value.startswith("str(") else value
                                   for value in spec.values))


def _open_read_filter(options: ProgramOptions) -> str:
    """Sets $pass: 0 only for a read-only open of an absolute path nobody asked about."""
    words = max(1, -(-max(options.traversal_scan_bytes, _longest_prefix(options)) // 8))
    reads = " ".join(f"$w{i} = *(uint64 *)uptr($open_path + {8 * i});" for i in range(words))
    tests = ["($w0 & 0xff) != 0x2f"]  # relative, or unreadable: user space resolves it
    tests.extend(_prefix_test(prefix) for prefix in options.open_read_prefixes)
    tests.extend(_traversal_tests(-(-options.traversal_scan_bytes // 8)))
    return f"""
  $pass = (uint64)1;
  if (($open_flags & {_O_ACCMODE}) == 0 && ($open_flags & {_O_CREAT | _O_TRUNC}) == 0) {{
    {reads}
    $pass = (uint64)({' || '.join(tests)});
  }}"""


def _longest_prefix(options: ProgramOptions) -> int:
    return min(max((len(p.encode()) for p in options.open_read_prefixes), default=0),
               _MAX_PREFIX_BYTES)


def _prefix_test(prefix: str) -> str:
    """`path starts with prefix`, as masked compares of 64-bit little-endian words.

    Prefixes longer than 16 bytes are compared on their first 16: more passes, never fewer.
    """
    data = prefix.encode()[:_MAX_PREFIX_BYTES]
    parts = []
    for index in range(0, len(data), 8):
        chunk = data[index:index + 8]
        value = int.from_bytes(chunk, "little")
        mask = (1 << (8 * len(chunk))) - 1
        word = f"$w{index // 8}"
        parts.append(f"{word} == {value:#x}" if len(chunk) == 8 else f"({word} & {mask:#x}) == {value:#x}")
    return "(" + " && ".join(parts) + ")"


def _traversal_tests(words: int) -> list[str]:
    """`../` (bytes 2e 2e 2f, 0x2f2e2e as a little-endian 24-bit value) at any offset."""
    tests: list[str] = []
    for index in range(words):
        tests.extend(f"(($w{index} >> {8 * shift}) & 0xffffff) == 0x2f2e2e" for shift in range(6))
        if index:  # the pattern may straddle two words
            straddle = f"(($w{index - 1} >> 48) | ($w{index} << 16))"
            tests.extend(f"(({straddle} >> {8 * shift}) & 0xffffff) == 0x2f2e2e" for shift in (0, 1))
    return tests


def _chunks(kind: int, start: str, end: str, max_bytes: int) -> str:
    """Print the user memory [start, end) (argv or environ) as (kind, tid, offset, length, bytes).

    Every read is a constant 200 bytes (bpftrace's string cap): a variable length loses the
    bound the verifier needs. The last piece is read as the 200 bytes *ending* at `end` (what
    lies below argv/environ on the new stack is mapped: pointers and auxv), and the decoder keeps
    its tail: (length - offset) bytes.
    """
    count = min(-(-max_bytes // STR_MAX), _MAX_UNROLL)
    return f"""
  $cs = {start}; $ce = {end}; $cl = $ce - $cs; $off = (uint64)0;
  if ($cl > {count * STR_MAX}) {{ $cl = {count * STR_MAX}; $ce = $cs + $cl; }}
  unroll({count}) {{
    if ($off < $cl) {{
      $at = $cs + $off;
      if ($off + {STR_MAX} > $cl) {{ $at = $ce - {STR_MAX}; }}
      print(({kind}, tid, $off, $cl, buf(uptr($at), {STR_MAX})));
    }}
    $off = $off + {STR_MAX};
  }}"""


def _exec_probe(options: ProgramOptions) -> str:
    """A successful exec: filename, argv and environment pieces, then the process's new identity.

    Read at sched_process_exec, in the new image: argv and envp are where the kernel copied them
    (mm->arg_start..arg_end, env_start..env_end), the executable is mm->exe_file. The exe is in a
    container's writable layer when it is on overlayfs and its ovl_inode has an upper dentry (the
    pointer right after the embedded vfs inode, fs/overlayfs/ovl_entry.h); it is a memfd when its
    dentry is its own parent and is named `memfd:...` (how Falco's drivers tell).

    Pieces (argv, environ, names) and the identity are separate probes on the same tracepoint
    because together they exceed the 512-byte BPF stack; programs on one tracepoint run in the
    order they were attached, their order here, so a process's pieces precede its identity.
    """
    head = f"tracepoint:sched:sched_process_exec /{_self_filter(options)}/\n{{\n  $mm = curtask->mm;"
    argv = _chunks(KIND_ARGV, "$mm->arg_start", "$mm->arg_end", options.args_max_bytes)
    env = _chunks(KIND_ENV, "$mm->env_start", "$mm->env_end", options.env_max_bytes)
    env_probe = f"{head}{env}\n}}\n" if options.env_max_bytes > 0 else ""
    return f"""{head}{argv}
}}

{env_probe}
{head}
  $d = $mm->exe_file->f_path.dentry;
  if ($d == $d->d_parent && (*(uint64 *)$d->d_name.name & 0xffffffffffff) == {_MEMFD_PREFIX:#x}) {{
    print(({KIND_EXE_NAME}, tid, str($d->d_name.name, 64)));
  }}
  print(({KIND_FILENAME}, tid, str(args->filename)));
}}

tracepoint:sched:sched_process_exec /{_self_filter(options)}/
{{
  $ret = (int64)0;
  {_regs(options)}
  $t = curtask;
  $f = $t->mm->exe_file;
  $ino = $f->f_inode;
  $d = $f->f_path.dentry;
  $upper = (uint64)0;
  if ($ino->i_sb->s_magic == {_OVERLAYFS_SUPER_MAGIC:#x}) {{
    if (*(uint64 *)((uint64)$ino + sizeof(struct inode)) != 0) {{ $upper = (uint64)1; }}
  }}
  $memfd = (uint64)0;
  if ($d == $d->d_parent && (*(uint64 *)$d->d_name.name & 0xffffffffffff) == {_MEMFD_PREFIX:#x}) {{
    $memfd = (uint64)1;
  }}
  $tty = $t->signal->tty;
  $ttynr = (uint64)0;
  if ($tty != 0) {{
    $minor = (uint64)($tty->driver->minor_start + $tty->index);
    $ttynr = ($minor & 0xff) | ((uint64)$tty->driver->major << 8) | (($minor & ~0xff) << 12);
  }}
  $vp = $t->thread_pid;
  $vpid = *(int32 *)((uint64)$vp + sizeof(struct pid) + (uint64)$vp->level * 16);
  $sidp = $t->signal->pids[3];
  $sid = *(int32 *)((uint64)$sidp + sizeof(struct pid));
  {_print(KIND_EXEC, ("$regs->orig_ax", "$upper", "$memfd",
                      "$ttynr", "$t->loginuid.val",
                      "$t->cred->cap_effective.val", "$t->cred->cap_permitted.val", "$vpid",
                      "$sid", "$ino->i_ino"))}
}}
"""


def _fork_probe(options: ProgramOptions) -> str:
    """A new process (not a thread), seen from the child's side of clone/fork/vfork."""
    probes = ",".join(f"tracepoint:syscalls:sys_exit_{name}" for name in FORK_TYPES
                      if options.available_tracepoints is None
                      or name in options.available_tracepoints)
    return f"""{probes} /args->ret == 0 && pid == tid && {_self_filter(options)}/
{{
  $ret = (int64)0;
  {_regs(options)}
  {_print(KIND_FORK, ("$regs->orig_ax",))}
}}
"""


def _exit_probe() -> str:
    return f"""tracepoint:sched:sched_process_exit /pid == tid/
{{
  print(({KIND_EXIT}, nsecs, pid));
}}
"""


FORK_NAMES_BY_NUMBER = {number: name for name, number in FORK_NUMBERS.items()}
