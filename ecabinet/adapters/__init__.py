"""Where the code relies on a pinned library's internals: one small module per library, each naming the
version it was checked against (``PINNED``) and why the public API does not suffice.

tests/core/test_adapters.py pins each internal's behaviour as used and that the installed version is
the one checked, so upgrading a library fails a test here rather than in production.
"""
