"""Saved images: `docker save`/`podman save` archives and OCI image layouts, as tar or directory.

docker-archive (Docker's image spec v1.2, "Combined Image JSON + Filesystem Changeset Format"):
manifest.json lists, per image, its Config file, RepoTags and Layers (tar paths, bottom first).
OCI layout (image-spec image-layout.md): index.json -> manifest (or an index of per-platform
manifests) -> config and layer blobs under blobs/<alg>/<hex>. Docker 25+ writes both; the
docker manifest.json is read first. Layers stream from the archive; nothing is extracted.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import platform
import posixpath
import re
import tarfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from runwatch.errors import ScanError
from runwatch.scan.image.layers import FileTree

_INDEX_TYPES = {"application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json"}
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Go's GOARCH names, as image configs and OCI platforms spell the machine.
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64"}
_DAMAGED = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


@dataclass(frozen=True, slots=True)
class SavedImage:
    """What an archive says about its image, apart from the files."""

    kind: str  # "docker-archive" or "oci-layout"
    id: str | None  # the config's digest, "sha256:..."
    name: str | None  # the first repository tag, or the OCI ref.name annotation
    architecture: str | None
    layers: int


class _Blobs(Protocol):
    def names(self) -> set[str]: ...
    def open(self, name: str) -> IO[bytes]: ...


class _TarBlobs:
    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar = tar
        self._members = {posixpath.normpath(m.name.lstrip("/")): m for m in tar.getmembers()
                         if m.isfile() or m.issym()}
        self._names = set(self._members)

    def names(self) -> set[str]:
        return self._names

    def open(self, name: str) -> IO[bytes]:
        stream = self._tar.extractfile(self._members[posixpath.normpath(name)])
        assert stream is not None  # regular files always have a stream
        return stream


class _DirBlobs:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._names = {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    def names(self) -> set[str]:
        return self._names

    def open(self, name: str) -> IO[bytes]:
        return (self._root / name).open("rb")


def is_image_layout(path: Path) -> bool:
    """Whether a directory is an OCI image layout or an unpacked docker-archive, not a rootfs."""
    return (path / "oci-layout").is_file() or (path / "manifest.json").is_file()


def read_saved_image(source: Path, tree: FileTree) -> SavedImage:
    """Apply the image's layers from `source` (a tar, possibly compressed, or a directory) to `tree`."""
    with ExitStack() as stack:
        if source.is_dir():
            blobs: _Blobs = _DirBlobs(source)
        else:
            try:
                tar = stack.enter_context(tarfile.open(source, mode="r:*"))
                blobs = _TarBlobs(tar)
            except _DAMAGED as err:
                # tarfile's "r:*" lists every method it tried; the plain tar one says what is wrong.
                detail = str(err).splitlines()[-1].removeprefix("- method tar: ")
                detail = re.sub(r"^\w+\('(.*)'\)$", r"\1", detail)  # ReadError('truncated header')
                raise ScanError(f"{source}: not a readable image archive (damaged, truncated, or not "
                                f"a tar): {detail}") from err
        names = blobs.names()
        if "manifest.json" in names:
            return _read_docker_archive(source, blobs, tree)
        if "index.json" in names:
            return _read_oci_layout(source, blobs, tree)
        raise ScanError(f"{source}: neither a docker-archive (no manifest.json) nor an OCI image "
                        "layout (no index.json)")


def _load_json(source: Path, blobs: _Blobs, name: str) -> object:
    if name not in blobs.names():
        raise ScanError(f"{source}: {name} is missing from the archive")
    try:
        with blobs.open(name) as stream:
            return orjson.loads(stream.read())
    except orjson.JSONDecodeError as err:
        raise ScanError(f"{source}: {name} is not valid JSON: {err}") from err
    except _DAMAGED as err:
        raise ScanError(f"{source}: {name} cannot be read: {err}") from err


def _read_docker_archive(source: Path, blobs: _Blobs, tree: FileTree) -> SavedImage:
    manifest = _load_json(source, blobs, "manifest.json")
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise ScanError(f"{source}: manifest.json: expected a list of images, got {str(manifest)[:80]}")
    image = manifest[0]
    layers, config_name = image.get("Layers"), image.get("Config")
    if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
        raise ScanError(f"{source}: manifest.json: 'Layers' must be a list of paths")
    if not isinstance(config_name, str):
        raise ScanError(f"{source}: manifest.json: 'Config' must be a path")
    config = _load_json(source, blobs, config_name)
    tags = image.get("RepoTags") or []
    _apply(source, blobs, tree, layers, _diff_ids(config, len(layers)))
    return SavedImage(kind="docker-archive", id=_digest_of(config_name),
                      name=tags[0] if tags and isinstance(tags[0], str) else None,
                      architecture=_architecture(config), layers=len(layers))


def _read_oci_layout(source: Path, blobs: _Blobs, tree: FileTree) -> SavedImage:
    index = _load_json(source, blobs, "index.json")
    descriptor = _pick_manifest(source, blobs, index, "index.json")
    name = _annotation(descriptor, "org.opencontainers.image.ref.name")
    manifest = _load_json(source, blobs, _blob_name(source, descriptor))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
        raise ScanError(f"{source}: {_blob_name(source, descriptor)}: an image manifest has 'layers'")
    config_descriptor = manifest.get("config")
    config = _load_json(source, blobs, _blob_name(source, config_descriptor))
    layers = [_blob_name(source, layer) for layer in manifest["layers"]]
    _apply(source, blobs, tree, layers, _diff_ids(config, len(layers)))
    digest = config_descriptor.get("digest") if isinstance(config_descriptor, dict) else None
    return SavedImage(kind="oci-layout", id=digest if isinstance(digest, str) else None, name=name,
                      architecture=_architecture(config), layers=len(layers))


def _pick_manifest(source: Path, blobs: _Blobs, index: object, where: str) -> dict[str, object]:
    """The image manifest an index points to: this machine's platform where there are several."""
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise ScanError(f"{source}: {where}: no manifests")
    descriptors = [m for m in manifests if isinstance(m, dict)]
    arch = _GOARCH.get(platform.machine(), platform.machine())
    chosen = next((d for d in descriptors if isinstance(d.get("platform"), dict)
                   and d["platform"].get("architecture") == arch), descriptors[0])
    if chosen.get("mediaType") in _INDEX_TYPES:
        nested = _load_json(source, blobs, _blob_name(source, chosen))
        inner = _pick_manifest(source, blobs, nested, _blob_name(source, chosen))
        if "annotations" not in inner and "annotations" in chosen:
            inner = {**inner, "annotations": chosen["annotations"]}
        return inner
    return chosen


def _annotation(descriptor: dict[str, object], key: str) -> str | None:
    annotations = descriptor.get("annotations")
    value = annotations.get(key) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else None


def _blob_name(source: Path, descriptor: object) -> str:
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    if not isinstance(digest, str) or ":" not in digest:
        raise ScanError(f"{source}: a descriptor without a digest: {str(descriptor)[:80]}")
    algorithm, _, encoded = digest.partition(":")
    return f"blobs/{algorithm}/{encoded}"


def _digest_of(config_name: str) -> str | None:
    base = posixpath.basename(config_name).removesuffix(".json")
    return f"sha256:{base}" if len(base) == 64 else None


def _architecture(config: object) -> str | None:
    value = config.get("architecture") if isinstance(config, dict) else None
    return value if isinstance(value, str) else None


def _apply(source: Path, blobs: _Blobs, tree: FileTree, layers: list[str],
           diff_ids: list[str | None]) -> None:
    names = blobs.names()
    for number, (name, diff_id) in enumerate(zip(layers, diff_ids, strict=True), start=1):
        where = f"{source}: layer {number} ({name})"
        if posixpath.normpath(name) not in names:
            raise ScanError(f"{where}: missing from the archive")
        try:
            with blobs.open(name) as stream:
                plain = _decompressed(stream, where)
                if plain is stream:  # uncompressed: digest it in one pass, then read it seeking
                    digest = _sha256(stream)
                    stream.seek(0)
                    tree.apply_layer(stream, where)
                else:
                    hashing = _HashingReader(plain)
                    reader = io.BufferedReader(hashing, buffer_size=1 << 20)
                    tree.apply_layer(reader, where)
                    while reader.read(1 << 20):  # the rest (tar padding, gzip's trailer and CRC)
                        pass
                    digest = hashing.digest()
        except ScanError:
            raise
        except _DAMAGED as err:
            raise ScanError(f"{where}: damaged or truncated: {err}") from err
        if diff_id is not None and digest != diff_id:
            raise ScanError(f"{where}: damaged: its content's digest {digest} is not the "
                            f"image config's {diff_id}")


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _decompressed(stream: IO[bytes], where: str) -> _Reader:
    """The layer's tar, whatever it is compressed with (by its magic bytes, as tar does)."""
    head = stream.read(6)
    stream.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(stream)
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(stream)
    if head.startswith(_ZSTD_MAGIC):
        raise ScanError(f"{where}: zstd-compressed layers cannot be read (Python has no zstd before "
                        "3.14); save the image uncompressed (podman save --format docker-archive)")
    return stream


def _sha256(stream: _Reader) -> str:
    sha256 = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        sha256.update(chunk)
    return f"sha256:{sha256.hexdigest()}"


class _HashingReader(io.RawIOBase):
    """Reads a stream and keeps its sha256, to check a layer against the config's diff_id."""

    def __init__(self, stream: _Reader) -> None:
        self._stream = stream
        self._sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._sha256.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def digest(self) -> str:
        return f"sha256:{self._sha256.hexdigest()}"


def _diff_ids(config: object, count: int) -> list[str | None]:
    """The config's rootfs.diff_ids (sha256 of each uncompressed layer), if it has one per layer."""
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if isinstance(ids, list) and len(ids) == count and all(
            isinstance(i, str) and i.startswith("sha256:") for i in ids):
        return list(ids)
    return [None] * count
