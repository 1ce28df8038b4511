"""The HTTP face: a thin adapter over the core."""

from finai.api.app import create_app

__all__ = ["create_app"]
