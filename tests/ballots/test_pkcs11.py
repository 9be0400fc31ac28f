"""An answer signed through PKCS#11 (SoftHSM2): a credential of kind pkcs11.

SoftHSM reads SOFTHSM2_CONF once per process, so the scenario runs in a child pytest with its own
token directory and never disturbs the signing library's token tests in the parent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecabinet.signing import find_softhsm_module

# the child's half: not a test_*.py file, so it runs only when the parent names it
CHILD_FILE = Path(__file__).with_name("pkcs11_child.py")
LABEL, TOKEN_PIN = "ecabinet-ballots", "246810"


def _tools() -> tuple[str, str]:
    module, util = find_softhsm_module(), shutil.which("softhsm2-util")
    if module is None or util is None:
        if os.environ.get("CI"):
            pytest.fail("softhsm2 is required in CI")
        pytest.skip("softhsm2 not installed")
    return module, util


def test_pkcs11_answer_in_a_child_process(tmp_path: Path) -> None:
    module, util = _tools()
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run([util, "--init-token", "--free", "--label", LABEL, "--so-pin", "12345678",
                    "--pin", TOKEN_PIN], check=True, capture_output=True, env=env)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",
                             f"{CHILD_FILE}::test_pkcs11_credential_signs_an_answer"],
                            capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2], check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
