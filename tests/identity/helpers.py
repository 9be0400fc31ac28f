"""What the identity tests share."""

from __future__ import annotations

from tests import conftest


def audit_actions() -> list[str]:
    """The audit trail's actions, without the refused-access records (sampled, and not this area's)."""
    return [action for action in conftest.audit_actions() if action != "access.refused"]
