"""Domain package; its capability lands with its own issue."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this domain's models, routes and socket handlers."""
