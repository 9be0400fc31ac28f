"""The ballots' fixtures (members with certificates under a fast PIN KDF, an issued ballot)."""

from tests.ballots.conftest import fast_pin_kdf, make_ballot, members  # noqa: F401 (fixtures)
