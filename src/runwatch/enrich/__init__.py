"""Enrichers: fields that need a cache or a lookup (ancestry, user names, container metadata)."""

from runwatch.enrich.base import Enricher, Prefetcher
from runwatch.enrich.container_id import HOST, ContainerRef, container_from_cgroup
from runwatch.enrich.container_meta import ContainerMetaEnricher
from runwatch.enrich.process_tree import ProcessInfo, ProcessTree, ProcessTreeEnricher
from runwatch.enrich.users import UserNameEnricher

__all__ = ["HOST", "ContainerMetaEnricher", "ContainerRef", "Enricher", "Prefetcher", "ProcessInfo", "ProcessTree",
           "ProcessTreeEnricher", "UserNameEnricher", "container_from_cgroup"]
