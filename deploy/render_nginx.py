"""Render deploy/nginx/ecabinet.conf.template from ECABINET_* environment variables to stdout.

Only ``${ECABINET_*}`` placeholders are replaced, so nginx's own ``$variables`` pass through
(``envsubst`` without a variable list would blank them). A line holding ``${ECABINET_BACKEND}``
is repeated for each address in ``ECABINET_BACKENDS`` (space or comma separated). An unset
variable is an error, never an empty directive.

    ECABINET_BACKENDS="127.0.0.1:5001 127.0.0.1:5002" ... python3 deploy/render_nginx.py > out.conf
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "ecabinet.conf.template"
PLACEHOLDER = re.compile(r"\$\{(ECABINET_[A-Z0-9_]+)\}")
BACKEND = "${ECABINET_BACKEND}"


def render(template: str, env: Mapping[str, str]) -> str:
    backends = env.get("ECABINET_BACKENDS", "").replace(",", " ").split()
    if not backends:
        raise SystemExit("ECABINET_BACKENDS must list the serve processes (host:port ...)")
    lines = []
    for line in template.splitlines(keepends=True):
        if BACKEND in line:
            lines.extend(line.replace(BACKEND, backend) for backend in backends)
        else:
            lines.append(line)
    missing = sorted({name for name in PLACEHOLDER.findall("".join(lines)) if not env.get(name)})
    if missing:
        raise SystemExit(f"set {', '.join(missing)} to render {TEMPLATE.name}")
    return PLACEHOLDER.sub(lambda match: env[match.group(1)], "".join(lines))


def main() -> None:
    sys.stdout.write(render(TEMPLATE.read_text(), os.environ))


if __name__ == "__main__":
    main()
