"""Per-container resource gauges for /metrics, read from the runtime source's latest readings.

These are the one place where metrics carry container labels (name and image, as cAdvisor's do):
they describe containers. Gauges are built at scrape time from what runs now, so a removed
container leaves no stale series behind.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from runwatch.sources.runtime.source import RuntimeSource


class ContainerUsageCollector(Collector):
    def __init__(self, source: RuntimeSource) -> None:
        self.source = source

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        labels = ["container", "image"]
        cpu = GaugeMetricFamily("runwatch_container_cpu_percent",
                                "CPU used since the previous reading, percent of one CPU", labels=labels)
        memory = GaugeMetricFamily("runwatch_container_memory_bytes",
                                   "Memory in use without inactive page cache", labels=labels)
        limit = GaugeMetricFamily("runwatch_container_memory_limit_bytes",
                                  "Memory limit (the host's memory when unlimited)", labels=labels)
        pids = GaugeMetricFamily("runwatch_container_pids", "Processes and threads", labels=labels)
        rx = CounterMetricFamily("runwatch_container_network_receive_bytes",
                                 "Bytes received, all interfaces but loopback", labels=labels)
        tx = CounterMetricFamily("runwatch_container_network_transmit_bytes",
                                 "Bytes sent, all interfaces but loopback", labels=labels)
        for reading in list(self.source.usage.values()):
            values = [reading.record.name, reading.record.image]
            cpu.add_metric(values, reading.cpu_percent)
            memory.add_metric(values, reading.usage.memory_bytes)
            limit.add_metric(values, reading.usage.memory_limit_bytes)
            pids.add_metric(values, reading.usage.pids)
            rx.add_metric(values, reading.usage.net_rx_bytes)
            tx.add_metric(values, reading.usage.net_tx_bytes)
        yield from (cpu, memory, limit, pids, rx, tx)
