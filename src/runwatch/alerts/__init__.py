"""Alerts: the model, and the fan-out to outputs."""

from runwatch.alerts.fanout import AlertFanout, OutputWorker
from runwatch.alerts.model import Alert, Priority, format_time

__all__ = ["Alert", "AlertFanout", "OutputWorker", "Priority", "format_time"]
