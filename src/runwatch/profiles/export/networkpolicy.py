"""A Kubernetes NetworkPolicy (networking.k8s.io/v1) allowing the connections the profile saw.

Ingress comes from the inbound items (peers on our server ports), egress from the outbound ones
(peers' server ports). A peer that is a workload becomes a podSelector on its identifying
labels (with a namespaceSelector when it lives elsewhere); an IP or network an ipBlock.
"""

from __future__ import annotations

import ipaddress

import yaml

from runwatch.profiles.export.base import ExportContext
from runwatch.profiles.model import Item, Kind

_NAMESPACE_LABEL = "kubernetes.io/metadata.name"
_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}


def export_networkpolicy(context: ExportContext) -> str:
    record = context.record
    spec: dict[str, object] = {
        "podSelector": {"matchLabels": dict(record.selector)} if record.selector else {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": _rules(context, context.items(Kind.INBOUND), "from"),
        "egress": _rules(context, context.items(Kind.OUTBOUND), "to"),
    }
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": f"runwatch-{context.slug}"[:63].rstrip("-"),
                           "namespace": record.namespace or "default"},
              "spec": spec}
    return yaml.safe_dump(policy, sort_keys=False)


def _rules(context: ExportContext, items: list[Item], direction: str) -> list[dict[str, object]]:
    """One rule per peer, with every port seen with it."""
    ports: dict[str, list[dict[str, object]]] = {}
    for peer, port, protocol in items:
        if protocol in _PROTOCOLS and peer != "localhost":
            ports.setdefault(peer, []).append({"protocol": _PROTOCOLS[protocol], "port": int(port)})
    rules: list[dict[str, object]] = []
    for peer, peer_ports in sorted(ports.items()):
        selector = _peer(context, peer)
        if selector is not None:
            rules.append({direction: [selector], "ports": peer_ports})
    return rules


def _peer(context: ExportContext, peer: str) -> dict[str, object] | None:
    try:
        network = ipaddress.ip_network(peer, strict=False)
    except ValueError:
        other = context.others.get(peer)
        if other is None or not other.selector:
            return None  # a workload with no labels to select it by
        selector: dict[str, object] = {"podSelector": {"matchLabels": dict(other.selector)}}
        if other.namespace and other.namespace != context.record.namespace:
            selector["namespaceSelector"] = {"matchLabels": {_NAMESPACE_LABEL: other.namespace}}
        return selector
    return {"ipBlock": {"cidr": str(network)}}
