"""Following a log file through growth, partial lines, rotation, truncation and restarts."""

from __future__ import annotations

import os
from pathlib import Path

from runwatch.sources.logs.follow import FileFollower


def texts(follower: FileFollower) -> list[str]:
    return [line.text for line in follower.read()]


def append(path: Path, text: str) -> None:
    with path.open("a") as file:
        file.write(text)


def test_starts_at_the_end_and_numbers_lines_from_the_files_start(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text("old 1\nold 2\n")
    follower = FileFollower(log, start_at="end")
    assert texts(follower) == []
    append(log, "new 3\n")
    [line] = follower.read()
    assert (line.number, line.text) == (3, "new 3")


def test_reads_from_the_beginning_when_asked(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text("one\ntwo\n")
    assert texts(FileFollower(log, start_at="beginning")) == ["one", "two"]


def test_holds_a_partial_line_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    follower = FileFollower(log)
    append(log, "first half")
    assert texts(follower) == []
    append(log, " and second\r\nnext\n")
    assert texts(follower) == ["first half and second", "next"]


def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("")
    follower = FileFollower(log)
    append(log, "before\nlast words")
    log.rename(tmp_path / "auth.log.1")
    log.write_text("fresh 1\n")
    assert texts(follower) == ["before", "last words", "fresh 1"]
    assert follower.rotations == 1
    [line] = (append(log, "fresh 2\n"), follower.read())[1]
    assert line.number == 2


def test_a_missing_file_is_waited_for_and_then_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    follower = FileFollower(log, start_at="end")
    assert texts(follower) == [] and follower.missing
    log.write_text("written before we looked\n")
    assert texts(follower) == ["written before we looked"]
    assert not follower.missing


def test_truncation_in_place_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "copytruncate.log"
    log.write_text("a long first line\n")
    follower = FileFollower(log, start_at="beginning")
    assert texts(follower) == ["a long first line"]
    os.truncate(log, 0)
    assert texts(follower) == []
    append(log, "b\n")
    assert texts(follower) == ["b"]
    assert follower.truncations == 1


def test_resume_continues_after_the_last_complete_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("1\n2\n")
    first = FileFollower(log, start_at="beginning")
    assert texts(first) == ["1", "2"]
    append(log, "3\npart")
    assert texts(first) == ["3"]
    saved = first.position
    first.close()
    append(log, "ial\n4\n")
    second = FileFollower(log, start_at="end", resume=saved)
    assert [(line.number, line.text) for line in second.read()] == [(4, "partial"), (5, "4")]


def test_resume_of_a_replaced_file_reads_the_new_file_whole(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("1\n")
    first = FileFollower(log, start_at="beginning")
    first.read()
    saved = first.position
    first.close()
    log.unlink()
    log.write_text("other\n")
    assert texts(FileFollower(log, start_at="end", resume=saved)) == ["other"]


def test_overlong_lines_are_cut_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "noisy.log"
    log.write_text("x" * 100 + "\nshort\n" + "y" * 50)
    follower = FileFollower(log, start_at="beginning", max_line_bytes=10)
    assert texts(follower) == ["x" * 10, "short", "y" * 10]
    append(log, "y" * 5 + "\nafter\n")
    # the rest of the cut line arrives as its own fragment: cut lines never join again
    assert texts(follower)[-1] == "after"
    assert follower.cut_lines == 2
