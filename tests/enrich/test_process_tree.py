from __future__ import annotations

from runwatch.enrich.process_tree import ProcessInfo, ProcessTree, ProcessTreeEnricher
from runwatch.event import Event


def tree_of(*chain: tuple[int, int, str]) -> ProcessTree:
    tree = ProcessTree()
    for pid, ppid, name in chain:
        tree.add(ProcessInfo(pid=pid, ppid=ppid, name=name, exe=name, exepath=f"/bin/{name}",
                             args=["-x"], sid=1))
    return tree


def test_ancestors_are_parent_first() -> None:
    tree = tree_of((1, 0, "init"), (10, 1, "sshd"), (20, 10, "bash"), (30, 20, "cat"))
    assert [a.name for a in tree.ancestors(30)] == ["bash", "sshd", "init"]


def test_enricher_fills_parent_and_ancestor_fields() -> None:
    tree = tree_of((1, 0, "init"), (10, 1, "sshd"), (20, 10, "bash"), (30, 20, "cat"))
    event: Event = {"proc.pid": 30, "proc.name": "cat", "proc.sid": 1}
    ProcessTreeEnricher(tree).enrich([event])
    assert event["proc.pname"] == "bash"
    assert event["proc.pcmdline"] == "bash -x"
    assert event["proc.pexepath"] == "/bin/bash"
    assert event["proc.aname"] == ["bash", "sshd", "init"]
    assert event["proc.apid"] == [20, 10, 1]
    assert event["proc.sname"] == "init"


def test_enricher_leaves_unknown_processes_and_source_values_alone() -> None:
    tree = tree_of((1, 0, "init"), (20, 1, "bash"))
    unknown: Event = {"proc.pid": 99}
    given: Event = {"proc.pid": 20, "proc.pname": "from-source"}
    ProcessTreeEnricher(tree).enrich([unknown, given])
    assert unknown == {"proc.pid": 99}
    assert given["proc.pname"] == "from-source"


def test_ancestry_stops_on_a_pid_loop() -> None:
    tree = tree_of((5, 6, "a"), (6, 5, "b"))
    assert [a.name for a in tree.ancestors(5)] == ["b"]


def test_tree_is_bounded() -> None:
    tree = ProcessTree(max_processes=3)
    for pid in range(1, 6):
        tree.add(ProcessInfo(pid=pid, ppid=0, name=str(pid)))
    assert len(tree) == 3 and tree.get(1) is None and tree.get(5) is not None


def test_proc_duration_is_the_time_since_the_process_started() -> None:
    tree = ProcessTree()
    enricher = ProcessTreeEnricher(tree)
    young = {"proc.pid": 10, "proc.start_ts": 1_000, "evt.time": 5_000}
    unknown_start = {"proc.pid": 11, "evt.time": 5_000}
    enricher.enrich([young, unknown_start])
    assert young["proc.duration"] == 4_000
    assert "proc.duration" not in unknown_start
