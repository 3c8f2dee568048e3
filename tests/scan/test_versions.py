"""dpkg version order as dpkg itself decides it (`dpkg --compare-versions`), on real versions."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from runwatch.scan.vulns import VersionError, version_parser
from runwatch.scan.vulns.versions import parse_dpkg_version, parse_pep440_version
from tests.support.debian_images import read_anchor

OSV = Path(__file__).resolve().parents[1] / "data" / "osv"

# Corners of the algorithm (dpkg's lib/dpkg/version.c), each beside a neighbour.
TRICKY = ["1.0~rc1", "1.0~~", "1.0~", "1.0", "1.0-0", "1.0+b1", "1.0-1", "1.0-1~bpo12+1", "1.0-1+deb12u1",
          "1.0a", "1.0.0", "1:0.9", "2:0.1", "0:1.0", "1.0-1ubuntu0.22.04.1", "1.0-1build1",
          "2.35-0ubuntu3", "2.35-0ubuntu3.1", "2.35-0ubuntu3.4", "1.2.1-2.2+wheezy3", "1.2.1-2.2+wheezy3+b1",
          "9.1-1", "10.0-1", "1.0+dfsg-1", "1.0.dfsg-1", "1.0-a", "1.0-A", "1.0-+", "1.0--1", "7.88.1-10+deb12u8"]


def host_versions() -> list[str]:
    output = subprocess.run(["dpkg-query", "-W", "-f", "${Version}\n${source:Version}\n"],
                            capture_output=True, text=True, check=True).stdout
    return [line for line in output.splitlines() if line]


def osv_versions() -> list[str]:
    versions = []
    for path in (*OSV.glob("ubuntu/*.json"), *OSV.glob("debian/*.json")):
        for affected in json.loads(path.read_text())["affected"]:
            versions += affected.get("versions", [])
            versions += [value for r in affected.get("ranges", []) for e in r["events"]
                         for value in e.values() if value != "0"]
    return versions


def dpkg_relation(a: str, b: str) -> str:
    for relation in ("lt", "eq", "gt"):
        if subprocess.run(["dpkg", "--compare-versions", a, relation, b]).returncode == 0:
            return relation
    raise AssertionError(f"dpkg orders neither way: {a} {b}")


def our_relation(a: str, b: str) -> str:
    left, right = parse_dpkg_version(a), parse_dpkg_version(b)
    return "lt" if left < right else "gt" if left > right else "eq"


def test_real_versions_sort_as_dpkg_compares_them() -> None:
    versions = sorted({*host_versions(), *(row[i] for row in read_anchor() for i in (1, 3)),
                       *osv_versions(), *TRICKY}, key=parse_dpkg_version)
    assert len(versions) > 500
    # Every neighbour in our order is in dpkg's order: the whole order agrees with dpkg's.
    disagreements = [(a, b, dpkg_relation(a, b)) for a, b in zip(versions, versions[1:])
                     if dpkg_relation(a, b) != our_relation(a, b)]
    assert disagreements == []
    pairs = random.Random(12).sample([(a, b) for a in versions[::7] for b in versions[::11]], 300)
    assert [(a, b) for a, b in pairs if dpkg_relation(a, b) != our_relation(a, b)] == []


@pytest.mark.parametrize(("a", "b"), [("1.0~rc1", "1.0"), ("1.0", "1.0+b1"), ("1.0-1", "1.0-1+deb12u1"),
                                      ("1.0-1~bpo12+1", "1.0-1"), ("9.1-1", "10.0-1"),
                                      ("1:0.9", "2:0.1"), ("1.0a", "1.0+"), ("1.0-A", "1.0-a")])
def test_known_pairs_order_the_same_both_ways(a: str, b: str) -> None:
    assert (our_relation(a, b), our_relation(b, a)) == ("lt", "gt") == (dpkg_relation(a, b),
                                                                        dpkg_relation(b, a))


def test_epoch_zero_and_no_epoch_are_equal() -> None:
    assert our_relation("0:1.0", "1.0") == "eq" == dpkg_relation("0:1.0", "1.0")


def test_versions_a_scheme_cannot_read_are_errors_and_unknown_ecosystems_have_no_parser() -> None:
    with pytest.raises(VersionError, match="not a dpkg version"):
        parse_dpkg_version("1.0 beta")
    with pytest.raises(VersionError, match="not a PEP 440 version"):
        parse_pep440_version("not.a-version!")
    assert version_parser("Debian:12") is parse_dpkg_version
    assert version_parser("Ubuntu:22.04:LTS") is parse_dpkg_version
    assert version_parser("PyPI") is parse_pep440_version
    assert version_parser("Alpine:v3.19") is None
