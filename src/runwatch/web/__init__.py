"""The HTTP server: health, metrics, API and dashboard."""

from runwatch.web.app import create_app

__all__ = ["create_app"]
