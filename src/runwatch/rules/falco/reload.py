"""Falco rules in the daemon: load them at start, and reload them on SIGHUP or when a rules file
changes, without a restart. A reload that fails keeps the old rules running and says why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

from runwatch.config import RulesConfig
from runwatch.errors import RuleError
from runwatch.event import DERIVED_FIELDS
from runwatch.rules.falco.append import compile_append_output
from runwatch.rules.falco.detector import FalcoDetector
from runwatch.rules.falco.ruleset import LoadResult, Ruleset, load_rules

log = logging.getLogger(__name__)

Swap = Callable[[FalcoDetector, FalcoDetector], None]
"""Replaces the running detector (first) by the new one (second) between two batches."""


def load_detector(config: RulesConfig, hostname: str) -> tuple[FalcoDetector, LoadResult]:
    """The detector for the configured rules files; raises RuleError listing every error."""
    result = load_rules([Path(p) for p in config.files], config.rule_matching)
    if result.errors:
        details = "\n  ".join(str(error) for error in result.errors)
        raise RuleError(f"{len(result.errors)} errors in rules files:\n  {details}")
    for warning in result.warnings:
        log.warning("rules file warning", extra={"warning": str(warning)})
    log.info("rules loaded", extra={"rules": len(result.ruleset.enabled_rules),
                                    "files": list(config.files)})
    return FalcoDetector(result.ruleset, hostname, compile_append_output(config.append_output)), result


def unprovided_fields(ruleset: Ruleset, provided: Iterable[str]) -> dict[str, list[str]]:
    """Fields enabled rules use that no source or enricher provides -> the rules using them.

    Such checks can never be true (and `not` of them always is): say so instead of staying
    silent. `evt.arg.*` fields count as provided when any `evt.arg.*` is.
    """
    known = set(provided)
    has_arguments = any(name.startswith("evt.arg.") for name in known)
    missing: dict[str, list[str]] = {}
    for name, rules in ruleset.fields_used().items():
        base = name.partition("[")[0]
        if base in known or name in known or (has_arguments and base.startswith("evt.arg.")):
            continue
        if base in _DERIVED_FROM and any(f in known for f in _DERIVED_FROM[base]):
            continue
        missing[name] = rules
    return missing


_DERIVED_FROM: dict[str, tuple[str, ...]] = {
    **DERIVED_FIELDS, "proc.aname": ("proc.pname",), "proc.apid": ("proc.ppid",),
    "proc.aexe": ("proc.pexe",), "proc.aexepath": ("proc.pexepath",),
    "proc.acmdline": ("proc.pcmdline",)}


class RulesReloader:
    """Reloads the rules on SIGHUP and (when `watch` is on) when a rules file changes."""

    def __init__(self, config: RulesConfig, hostname: str, detector: FalcoDetector) -> None:
        self.config = config
        self.hostname = hostname
        self.detector = detector
        self.reloads = 0
        self.failed_reloads = 0
        self.last_error: str | None = None

    @property
    def paths(self) -> list[Path]:
        return [Path(p).resolve() for p in self.config.files]

    async def run(self, swap: Swap) -> None:
        """Until cancelled: wait for SIGHUP or a file change, then reload."""
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        has_handler = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, wake.set)
            has_handler = True
        watcher = asyncio.create_task(self._watch(wake)) if self.config.watch else None
        try:
            while True:
                await wake.wait()
                wake.clear()
                await self.reload(swap)
        finally:
            if has_handler:
                loop.remove_signal_handler(signal.SIGHUP)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    async def reload(self, swap: Swap) -> bool:
        """Load the files again; swap the detector if they are good, else keep the old one."""
        try:
            detector, _ = await asyncio.to_thread(load_detector, self.config, self.hostname)
        except RuleError as err:
            self.failed_reloads += 1
            self.last_error = err.message
            log.error("rules reload failed; the previous rules keep running",
                      extra={"error": err.message})
            return False
        swap(self.detector, detector)
        self.detector = detector
        self.reloads += 1
        self.last_error = None
        log.info("rules reloaded", extra={"rules": len(detector.ruleset.enabled_rules)})
        return True

    async def _watch(self, wake: asyncio.Event) -> None:
        paths = set(self.paths)
        directories = sorted({str(p.parent) for p in paths})

        def is_rules_file(change: watchfiles.Change, path: str) -> bool:
            return Path(path).resolve() in paths

        async for _ in watchfiles.awatch(*directories, watch_filter=is_rules_file,
                                         debounce=300, step=50, recursive=False):
            wake.set()


def report_unprovided_fields(ruleset: Ruleset, components: Iterable[object]
                             ) -> dict[str, list[str]] | None:
    """Log the fields rules use that none of the running sources and enrichers provide.

    Components say what they provide with a `fields` frozenset; when one does not, nothing can
    be concluded and None is returned.
    """
    provided = {"evt.hostname"}  # the daemon fills it on every event
    undeclared = []
    for component in components:
        fields = getattr(component, "fields", None)
        if isinstance(fields, frozenset):
            provided |= fields
        else:
            undeclared.append(str(getattr(component, "name", type(component).__name__)))
    if undeclared:
        log.info("cannot tell which rule fields are provided: some components do not declare "
                 "their fields", extra={"components": undeclared})
        return None
    missing = unprovided_fields(ruleset, provided)
    if missing:
        log.warning("rules use fields no running source provides: checks on them are false "
                    "(and true under 'not')",
                    extra={"fields": {name: rules[:3] for name, rules in missing.items()}})
    return missing
