"""The identity tests' fixtures: the ballots' (members with certificates under a fast PIN KDF, an issued ballot)
and a real OpenID provider."""

import pytest

from tests.ballots.conftest import fast_pin_kdf, make_ballot, members  # noqa: F401 (fixtures)
from tests.identity.sso import start_provider


@pytest.fixture(scope="module")
def oidc_provider():
    """A real OpenID provider (node's oidc-provider) for the module's tests."""
    yield from start_provider()
