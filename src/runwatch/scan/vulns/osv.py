"""OSV vulnerability records (https://ossf.github.io/osv-schema/) from a directory, indexed to match.

The database is whatever directory the configuration names: a tree of `*.json` records (one
record each, as osv.dev and the advisory repositories publish them) and `*.zip` archives of them
(osv.dev's per-ecosystem all.zip). Only the fields matching and reports use are decoded. Records
are indexed by (ecosystem, package name); PyPI names are normalised per PEP 503 since advisories
spell them as they like ("Jinja2", "PyYAML"). A file that cannot be read is named in `problems`;
the rest still load. Withdrawn records are left out.
"""

from __future__ import annotations

import os
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from packaging.utils import canonicalize_name


class OsvEvent(msgspec.Struct, frozen=True):
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class OsvRange(msgspec.Struct, frozen=True):
    type: str
    events: tuple[OsvEvent, ...] = ()


class OsvPackage(msgspec.Struct, frozen=True):
    ecosystem: str = ""
    name: str = ""
    purl: str | None = None


class OsvSeverity(msgspec.Struct, frozen=True):
    type: str
    score: str


class OsvAffected(msgspec.Struct, frozen=True):
    package: OsvPackage | None = None
    ranges: tuple[OsvRange, ...] = ()
    versions: tuple[str, ...] = ()
    severity: tuple[OsvSeverity, ...] = ()
    ecosystem_specific: dict[str, object] | None = None
    database_specific: dict[str, object] | None = None


class OsvRecord(msgspec.Struct, frozen=True):
    """One advisory, as much of it as runwatch uses."""

    id: str
    modified: str = ""
    summary: str = ""
    details: str = ""
    aliases: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    withdrawn: str | None = None
    severity: tuple[OsvSeverity, ...] = ()
    affected: tuple[OsvAffected, ...] = ()
    database_specific: dict[str, object] | None = None


_DECODER = msgspec.json.Decoder(OsvRecord)
_SUMMARY_CHARS = 200


def package_key(ecosystem: str, name: str) -> tuple[str, str]:
    """The index key of a package: PyPI names normalised (PEP 503), others as they are."""
    return ecosystem, canonicalize_name(name) if ecosystem == "PyPI" else name


@dataclass
class OsvDatabase:
    """Records by id, and each record's affected entries by (ecosystem, package name)."""

    records: dict[str, OsvRecord] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    withdrawn: int = 0
    _index: dict[tuple[str, str], list[tuple[OsvRecord, OsvAffected]]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, record: OsvRecord) -> None:
        """Index a record; a second record with the same id replaces the first if newer."""
        if record.withdrawn:
            self.withdrawn += 1
            return
        if not record.summary and record.details:  # keep a line for reports, not the whole text
            first = record.details.strip().split("\n\n")[0].replace("\n", " ")
            record = msgspec.structs.replace(record, summary=first[:_SUMMARY_CHARS], details="")
        elif record.details:
            record = msgspec.structs.replace(record, details="")
        old = self.records.get(record.id)
        if old is not None:
            if old.modified >= record.modified:
                return
            for affected in old.affected:
                if affected.package is not None:
                    key = package_key(affected.package.ecosystem, affected.package.name)
                    self._index[key] = [entry for entry in self._index[key] if entry[0] is not old]
        self.records[record.id] = record
        for affected in record.affected:
            if affected.package is None or not affected.package.ecosystem:
                continue  # a GIT-only entry names a repository, not a package
            key = package_key(affected.package.ecosystem, affected.package.name)
            self._index[key].append((record, affected))

    def affecting(self, ecosystem: str, name: str) -> Sequence[tuple[OsvRecord, OsvAffected]]:
        """The (record, affected entry) pairs that name this package in this ecosystem."""
        return self._index.get(package_key(ecosystem, name), ())

    @property
    def ecosystems(self) -> set[str]:
        return {ecosystem for ecosystem, _ in self._index}


def decode_osv_record(data: bytes, where: str) -> OsvRecord:
    """One OSV record from JSON; OsvFormatError names `where` and what is wrong."""
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError as err:
        raise OsvFormatError(f"{where}: not an OSV record: {err}") from err


class OsvFormatError(ValueError):
    """A file in the database that is not an OSV record."""


def load_osv_database(root: Path) -> OsvDatabase:
    """Every OSV record under `root` (JSON files and zip archives of them), with a problem per bad file."""
    database = OsvDatabase()
    if not root.is_dir():
        database.problems.append(f"{root}: not a directory")
        return database
    for where, data in _record_files(root, database.problems):
        try:
            database.add(decode_osv_record(data, where))
        except OsvFormatError as err:
            database.problems.append(str(err))
    return database


def database_from_records(records: Iterable[OsvRecord]) -> OsvDatabase:
    """A database of records already decoded (tests, benchmarks)."""
    database = OsvDatabase()
    for record in records:
        database.add(record)
    return database


def _record_files(root: Path, problems: list[str]) -> Iterator[tuple[str, bytes]]:
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        for name in sorted(names):
            path = Path(directory, name)
            try:
                if name.endswith(".json"):
                    yield str(path), path.read_bytes()
                elif name.endswith(".zip"):
                    with zipfile.ZipFile(path) as archive:
                        for member in archive.namelist():
                            if member.endswith(".json"):
                                yield f"{path}:{member}", archive.read(member)
            except (OSError, zipfile.BadZipFile) as err:
                problems.append(f"{path}: cannot be read: {err}")
