"""Alerts POSTed as Falco JSON to an HTTP endpoint, retried with exponential back-off."""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson

from runwatch.alerts.model import Alert
from runwatch.alerts.outputs.base import DeliveryError
from runwatch.config import WebhookOutputConfig

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class WebhookOutput:
    """One POST per alert. Timeouts, connection errors, 5xx and 429 are retried; other 4xx are not."""

    name = "webhook"

    def __init__(self, config: WebhookOutputConfig) -> None:
        self.config = config
        headers = {"Content-Type": "application/json", "User-Agent": "runwatch", **config.headers}
        self._client = httpx.AsyncClient(timeout=config.timeout_s, headers=headers)
        self.retries = 0

    async def send(self, alert: Alert) -> None:
        body = orjson.dumps(alert.to_falco_json())
        delay_s = self.config.backoff_s
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                self.retries += 1
                await asyncio.sleep(delay_s)
                delay_s *= 2
            try:
                response = await self._client.post(self.config.url, content=body)
            except httpx.HTTPError as err:
                problem = f"{type(err).__name__}: {err}"
                continue
            if response.is_success:
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRYABLE_STATUS:
                break
        raise DeliveryError(f"webhook {self.config.url}: alert {alert.id} not delivered ({problem})")

    async def close(self) -> None:
        await self._client.aclose()
