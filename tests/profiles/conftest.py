"""Fixtures of the profile tests."""

from tests.support.profiles import learned_store

__all__ = ["learned_store"]
