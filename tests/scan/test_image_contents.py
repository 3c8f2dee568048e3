"""Reading an image's files: layers applied in order with whiteouts and opaque directories, links
followed inside the image, docker-archive and OCI layouts, and damaged archives named."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from pathlib import Path

import pytest

from runwatch.errors import ScanError
from runwatch.scan.image import read_image_contents

OS_RELEASE = b'ID=debian\nVERSION_ID="12"\n'


def wanted(path: str) -> bool:
    return path.startswith("/want/") or path in ("/etc/os-release", "/usr/lib/os-release")


def layer(*entries: tuple[str, str, bytes | str]) -> bytes:
    """A layer tar: (kind, name, data or link target), kind one of file, dir, link, hardlink."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for kind, name, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(payload, bytes)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "link": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE}[kind]
            if kind in ("link", "hardlink"):
                assert isinstance(payload, str)
                info.linkname = payload
            tar.addfile(info)
    return buffer.getvalue()


def docker_archive(path: Path, layers: list[bytes], compress: bool = False) -> Path:
    diff_ids = [f"sha256:{hashlib.sha256(data).hexdigest()}" for data in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    names = []
    with tarfile.open(path, "w") as tar:
        for data in layers:
            blob = gzip.compress(data) if compress else data
            names.append(f"{hashlib.sha256(blob).hexdigest()}/layer.tar")
            _add(tar, names[-1], blob)
        _add(tar, config_name, config)
        _add(tar, "manifest.json", json.dumps(
            [{"Config": config_name, "RepoTags": ["example.org/app:1"], "Layers": names}]).encode())
    return path


def oci_layout(root: Path, layers: list[bytes], nested_index: bool = False) -> dict[str, bytes]:
    """An OCI image layout's files (gzip layers), written under `root` and returned by name."""
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}

    def blob(data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        files[f"blobs/sha256/{digest}"] = data
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    config = blob(json.dumps({"architecture": "amd64", "os": "linux"}).encode(),
                  "application/vnd.oci.image.config.v1+json")
    manifest = blob(json.dumps({
        "schemaVersion": 2, "config": config,
        "layers": [blob(gzip.compress(d), "application/vnd.oci.image.layer.v1.tar+gzip") for d in layers],
    }).encode(), "application/vnd.oci.image.manifest.v1+json")
    manifest["platform"] = {"architecture": "amd64", "os": "linux"}
    other = dict(manifest, platform={"architecture": "s390x", "os": "linux"},
                 digest="sha256:" + "0" * 64)
    top = {"schemaVersion": 2, "manifests": [other, manifest] if not nested_index else [
        dict(blob(json.dumps({"schemaVersion": 2, "manifests": [other, manifest]}).encode(),
                  "application/vnd.oci.image.index.v1+json"),
             annotations={"org.opencontainers.image.ref.name": "app:2"})]}
    files["index.json"] = json.dumps(top).encode()
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def read(path: Path) -> dict[str, bytes]:
    return dict(read_image_contents(path, wanted).files)


def test_a_whiteout_removes_a_file_and_everything_under_a_directory(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [
        layer(("file", "want/a", b"1"), ("file", "want/dir/b", b"2"), ("file", "want/dir/sub/c", b"3"),
              ("file", "want/keep", b"4")),
        layer(("file", "want/.wh.a", b""), ("file", "want/.wh.dir", b"")),
    ])
    assert read(archive) == {"/want/keep": b"4"}


def test_an_opaque_directory_hides_lower_layers_but_keeps_its_own_entries(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [
        layer(("file", "want/venv/old", b"lower"), ("file", "want/venv/sub/x", b"lower"),
              ("file", "want/other", b"stays")),
        # The new entry comes before the marker in the stream: it must survive all the same.
        layer(("dir", "want/venv", b""), ("file", "want/venv/new", b"upper"),
              ("file", "want/venv/.wh..wh..opq", b"")),
    ])
    assert read(archive) == {"/want/venv/new": b"upper", "/want/other": b"stays"}


def test_a_file_replaces_a_lower_directory_and_a_directory_a_lower_file(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [
        layer(("file", "want/d/inner", b"gone"), ("file", "want/f", b"gone")),
        layer(("file", "want/d", b"now a file"), ("dir", "want/f", b""), ("file", "want/f/in", b"x")),
    ])
    assert read(archive) == {"/want/d": b"now a file", "/want/f/in": b"x"}


def test_later_layers_win_and_layers_may_be_gzip_compressed(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [
        layer(("file", "./want/v", b"1"), ("file", "ignored/big", b"x" * 100_000)),
        layer(("file", "./want/v", b"2")),
    ], compress=True)
    contents = read_image_contents(archive, wanted)
    assert dict(contents.files) == {"/want/v": b"2"}
    assert (contents.kind, contents.name, contents.layers, contents.architecture) == (
        "docker-archive", "example.org/app:1", 2, "amd64")
    assert contents.id is not None and contents.id.startswith("sha256:") and len(contents.id) == 71


def test_symbolic_links_are_followed_inside_the_image_not_on_the_host(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [
        layer(("file", "usr/lib/os-release", OS_RELEASE),
              ("link", "etc/os-release", "../usr/lib/os-release"),  # as Debian ships it
              ("link", "want/abs", "/usr/lib/os-release"),
              ("link", "want/host", "/etc/hostname"),  # exists on the host, not in the image
              ("link", "want/loop1", "loop2"), ("link", "want/loop2", "loop1")),
    ])
    contents = read_image_contents(archive, wanted)
    assert contents.files == {"/usr/lib/os-release": OS_RELEASE, "/etc/os-release": OS_RELEASE,
                              "/want/abs": OS_RELEASE}
    assert any("symbolic links" in problem for problem in contents.problems)


def test_a_hard_link_to_a_file_read_from_the_same_layer_has_its_contents(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "image.tar", [
        layer(("file", "want/a", b"same"), ("hardlink", "want/b", "want/a")),
    ])
    assert read(archive) == {"/want/a": b"same", "/want/b": b"same"}


@pytest.mark.parametrize("nested", [False, True], ids=["index", "nested-index"])
def test_an_oci_layout_is_read_as_a_tar_and_as_a_directory(tmp_path: Path, nested: bool) -> None:
    files = oci_layout(tmp_path / "layout", [layer(("file", "want/a", b"1")),
                                             layer(("file", "want/.wh.a", b""), ("file", "want/b", b"2"))],
                       nested_index=nested)
    with tarfile.open(tmp_path / "oci.tar", "w") as tar:
        for name, data in files.items():
            _add(tar, name, data)
    for source in (tmp_path / "layout", tmp_path / "oci.tar"):
        contents = read_image_contents(source, wanted)
        assert dict(contents.files) == {"/want/b": b"2"}
        assert contents.kind == "oci-layout" and contents.layers == 2  # the amd64 manifest's
        assert contents.name == ("app:2" if nested else None)


def test_a_rootfs_directory_is_walked_without_following_links_to_the_host(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr/lib").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "usr/lib/os-release").write_bytes(OS_RELEASE)
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    (root / "want").symlink_to("/etc")  # a directory link out of the rootfs is not entered
    contents = read_image_contents(root, wanted)
    assert contents.kind == "rootfs" and contents.id is None
    assert contents.files == {"/usr/lib/os-release": OS_RELEASE, "/etc/os-release": OS_RELEASE}


def _good_archive(tmp_path: Path, compress: bool = True) -> Path:
    noise = random.Random(7)  # incompressible, so the layers are most of the archive
    return docker_archive(tmp_path / "good.tar", [
        layer(*[("file", f"want/{n}", noise.randbytes(2000)) for n in range(50)]),
        layer(*[("file", f"want/x{n}", noise.randbytes(2000)) for n in range(50)]),
    ], compress=compress)


@pytest.mark.parametrize("keep", [0.1, 0.3, 0.5, 0.7, 0.95])
def test_a_truncated_archive_is_an_error_naming_the_file(tmp_path: Path, keep: float) -> None:
    data = _good_archive(tmp_path).read_bytes()
    broken = tmp_path / "broken.tar"
    broken.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ScanError) as raised:
        read_image_contents(broken, wanted)
    assert str(broken) in str(raised.value)
    assert "truncated" in str(raised.value) or "missing from the archive" in str(raised.value)


def test_a_good_archive_reads_whole(tmp_path: Path) -> None:
    assert len(read(_good_archive(tmp_path))) == 100


def test_a_corrupt_layer_is_an_error_naming_the_layer(tmp_path: Path) -> None:
    data = bytearray(_good_archive(tmp_path).read_bytes())
    start = data.index(b"\x1f\x8b")  # the first gzip layer's header
    data[start + 200: start + 260] = bytes(range(60))  # its deflate stream, garbled
    broken = tmp_path / "broken.tar"
    broken.write_bytes(bytes(data))
    with pytest.raises(ScanError, match=r"broken\.tar: layer 1 \(.*/layer\.tar\): damaged or truncated"):
        read_image_contents(broken, wanted)


def test_a_changed_byte_in_an_uncompressed_layer_fails_the_config_digest(tmp_path: Path) -> None:
    data = bytearray(_good_archive(tmp_path, compress=False).read_bytes())
    data[data.index(b"want/x7") + 2000] ^= 0xFF  # inside a file's contents, tar headers intact
    broken = tmp_path / "broken.tar"
    broken.write_bytes(bytes(data))
    with pytest.raises(ScanError, match=r"broken\.tar: layer 2 .*: damaged: its content's digest "
                                        r"sha256:[0-9a-f]{64} is not the image config's sha256:"):
        read_image_contents(broken, wanted)


def test_an_archive_without_a_manifest_or_with_a_missing_layer_is_named(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tar"
    with tarfile.open(plain, "w") as tar:
        _add(tar, "etc/os-release", OS_RELEASE)
    with pytest.raises(ScanError, match="neither a docker-archive .* nor an OCI image layout"):
        read_image_contents(plain, wanted)
    missing = tmp_path / "missing.tar"
    with tarfile.open(missing, "w") as tar:
        _add(tar, "manifest.json", b'[{"Config": "c.json", "Layers": ["l.tar"]}]')
        _add(tar, "c.json", b"{}")
    with pytest.raises(ScanError, match=r"missing\.tar: layer 1 \(l\.tar\): missing from the archive"):
        read_image_contents(missing, wanted)
    (tmp_path / "text.tar").write_text("hello")
    with pytest.raises(ScanError, match=r"text\.tar: not a readable image archive"):
        read_image_contents(tmp_path / "text.tar", wanted)
    bad_json = tmp_path / "badjson.tar"
    with tarfile.open(bad_json, "w") as tar:
        _add(tar, "manifest.json", b"[{")
    with pytest.raises(ScanError, match=r"badjson\.tar: manifest\.json is not valid JSON"):
        read_image_contents(bad_json, wanted)


def test_a_zstd_layer_is_refused_with_a_way_out(tmp_path: Path) -> None:
    archive = tmp_path / "zstd.tar"
    with tarfile.open(archive, "w") as tar:
        _add(tar, "l.tar", b"\x28\xb5\x2f\xfd" + bytes(100))
        _add(tar, "c.json", b"{}")
        _add(tar, "manifest.json", b'[{"Config": "c.json", "Layers": ["l.tar"]}]')
    with pytest.raises(ScanError, match="zstd-compressed layers cannot be read"):
        read_image_contents(archive, wanted)
