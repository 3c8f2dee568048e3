"""The container engine's API (Docker Engine API; Podman serves the same), through the docker SDK.

Every call blocks and has a timeout; callers in the event loop use `asyncio.to_thread`. Errors
from the SDK or the socket become `EngineUnavailable` (retry later) or `EngineError` (the request
itself failed), so callers never see the SDK's own exception zoo.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from runwatch.errors import SourceError

CANDIDATE_SOCKETS = ("/run/podman/podman.sock", "/var/run/docker.sock", "/run/docker.sock",
                     "/run/containerd/containerd.sock")


_PROBE_API_VERSION = "1.41"  # used only if an engine's /_ping names no version


class EngineUnavailable(SourceError):
    """The engine's socket cannot be reached; worth retrying."""


class EngineError(SourceError):
    """The engine answered, but refused or failed the request."""


def find_engine_socket(configured: str, environ: Mapping[str, str]) -> str | None:
    """The engine URL: the configured one, else $DOCKER_HOST, else the first socket that exists."""
    if configured:
        return configured if "://" in configured else f"unix://{configured}"
    if environ.get("DOCKER_HOST"):
        return environ["DOCKER_HOST"]
    runtime_dir = environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.geteuid()}")
    for path in (*CANDIDATE_SOCKETS[:3], f"{runtime_dir}/podman/podman.sock"):
        if Path(path).is_socket():
            return f"unix://{path}"
    return None


class EngineClient:
    """A thin, typed face of the docker SDK: what runwatch asks of an engine, nothing more."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client: Any = None
        self._stream: Any = None

    def _sdk(self) -> Any:
        """The SDK client, speaking the API version the engine's /_ping names.

        The SDK's own `auto` asks /version, which Podman answers by querying the package
        manager (a second, under load several): too slow for a response that must land within one.
        """
        if self._client is None:
            timeout = int(self.timeout_s) or 1
            try:
                probe = docker.DockerClient(base_url=self.url, timeout=timeout, version=_PROBE_API_VERSION)
                try:
                    answer = probe.api._get(probe.api.base_url + "/_ping")  # unversioned path
                    version = answer.headers.get("Api-Version") or _PROBE_API_VERSION
                finally:
                    probe.close()
                self._client = docker.DockerClient(base_url=self.url, timeout=timeout, version=version)
            except docker.errors.DockerException as err:
                raise EngineUnavailable(f"container engine at {self.url}: {err}") from err
        return self._client

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except docker.errors.NotFound as err:
            raise EngineError(f"{what}: not found ({err.explanation or err})") from err
        except docker.errors.APIError as err:
            raise EngineError(f"{what}: {err.explanation or err}") from err
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                docker.errors.DockerException, OSError) as err:
            self.close()
            raise EngineUnavailable(f"container engine at {self.url}: {what}: {err}") from err

    def ping(self) -> str:
        """The engine's name and version, e.g. 'Podman Engine 4.3.1'."""
        info = self._call("version", lambda: self._sdk().version())
        components = info.get("Components") or [{}]
        return f"{components[0].get('Name', 'Docker Engine')} {info.get('Version', '?')}"

    def list_container_ids(self, include_stopped: bool = True) -> list[str]:
        found = self._call("list containers",
                           lambda: self._sdk().api.containers(all=include_stopped, quiet=True))
        return [str(item["Id"]) for item in found]

    def inspect(self, container_id: str) -> dict[str, Any]:
        """The engine's full inspect document of one container."""
        return dict(self._call(f"inspect {container_id[:12]}",
                               lambda: self._sdk().api.inspect_container(container_id)))

    def image_digest(self, image_id: str) -> str | None:
        try:
            attrs = self._call(f"inspect image {image_id[:19]}",
                               lambda: self._sdk().api.inspect_image(image_id))
        except EngineError:
            return None
        digests = attrs.get("RepoDigests") or []
        return str(digests[0]).partition("@")[2] or None if digests else None

    def events(self, since_s: float) -> Iterator[dict[str, Any]]:
        """Container events from `since_s` on, as they happen; ends when the connection drops
        or when `close()` is called from another thread (which unblocks the waiting read)."""
        self._stream = self._call("events", lambda: self._sdk().api.events(
            since=int(since_s), filters={"type": "container"}, decode=True))
        try:
            yield from self._stream
        except (requests.exceptions.ConnectionError, docker.errors.DockerException, OSError,
                ValueError) as err:  # ValueError: read on the socket close() shut
            raise EngineUnavailable(f"container engine at {self.url}: event stream: {err}") from err

    def pause(self, container_id: str) -> None:
        self._call(f"pause {container_id[:12]}", lambda: self._sdk().api.pause(container_id))

    def unpause(self, container_id: str) -> None:
        self._call(f"unpause {container_id[:12]}", lambda: self._sdk().api.unpause(container_id))

    def stop(self, container_id: str, timeout_s: int = 10) -> None:
        self._call(f"stop {container_id[:12]}",
                   lambda: self._sdk().api.stop(container_id, timeout=timeout_s))

    def kill(self, container_id: str) -> None:
        self._call(f"kill {container_id[:12]}", lambda: self._sdk().api.kill(container_id))

    def restart(self, container_id: str) -> None:
        self._call(f"restart {container_id[:12]}", lambda: self._sdk().api.restart(container_id))

    def start(self, container_id: str) -> None:
        self._call(f"start {container_id[:12]}", lambda: self._sdk().api.start(container_id))

    def disconnect(self, container_id: str, network: str) -> None:
        self._call(f"disconnect {container_id[:12]} from {network}",
                   lambda: self._sdk().api.disconnect_container_from_network(
                       container_id, network, force=True))

    def connect(self, container_id: str, network: str) -> None:
        self._call(f"connect {container_id[:12]} to {network}",
                   lambda: self._sdk().api.connect_container_to_network(container_id, network))

    def close(self) -> None:
        """Close the event stream (if one is open) and the connection pool."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            with contextlib.suppress(Exception):  # the SDK's close of a dead socket may raise anything
                stream.close()
        if self._client is not None:
            client, self._client = self._client, None
            client.close()
