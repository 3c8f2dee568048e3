"""Outputs: where alerts go."""

from runwatch.alerts.outputs.base import DeliveryError, Output
from runwatch.alerts.outputs.file import FileOutput
from runwatch.alerts.outputs.stdout import StdoutOutput
from runwatch.alerts.outputs.webhook import WebhookOutput

__all__ = ["DeliveryError", "FileOutput", "Output", "StdoutOutput", "WebhookOutput"]
