"""Meetings: preparation, participants, agenda, the live session."""

from flask import Flask

from meetings import models  # noqa: F401  (tables register with the metadata)


def init_app(app: Flask) -> None:
    """Register the meetings routes and socket handlers."""
