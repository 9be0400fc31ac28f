"""Pieces the benchmarks share: a CPU speed probe, interleaved baseline/subject pairs, summaries,
the app on a fresh SQLite data directory, bare Flask servers, and the result file.

    python -m bench.common bare-file PORT PATH   # Flask send_file of PATH (Range, ETag), gevent
    python -m bench.common bare-json PORT PATH   # Flask JSON of the file's object at any path, gevent

The port/percentile/HTTP-wait helpers were written first for the live-push benchmark and are
re-exported from there rather than copied.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.live_push import RESULTS, ROOT, free_port, percentile, wait_http

__all__ = ["RESULTS", "ROOT", "free_port", "percentile", "wait_http", "speed_probe", "summary",
           "create_pg_database", "drop_pg_database",
           "interleave", "pair_ratios", "write_result", "migrated_app", "add_users", "Process"]

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_PASSWORD = "bench-password-2026"


def speed_probe() -> float:
    """Seconds for a pure-Python loop of 3 M additions: how fast this shared VM is right now."""
    t0 = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return round(time.perf_counter() - t0, 4)


def create_pg_database(prefix: str) -> tuple[str, str]:
    """A fresh PostgreSQL database on the local server: (SQLAlchemy URL, name)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{int(time.time() * 1000)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median and p99 (nearest rank) in milliseconds, with the sample count."""
    return {"p50_ms": round(statistics.median(seconds) * 1000, 2),
            "p99_ms": round(percentile(list(seconds), 0.99) * 1000, 2), "n": len(seconds)}


def pair_ratios(subject: Sequence[float], baseline: Sequence[float]) -> dict[str, float]:
    """Median (and spread) of subject ÷ baseline taken pair by pair: robust to the VM's drift."""
    ratios = [s / b for s, b in zip(subject, baseline, strict=True)]
    return {"median": round(statistics.median(ratios), 3), "min": round(min(ratios), 3),
            "max": round(max(ratios), 3), "pairs": len(ratios)}


def interleave(steps: dict[str, Callable[[], float]], pairs: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run every step once per round, in order (A B C A B C ...), ``warmup`` uncounted rounds first.

    Each step returns the value it measured (seconds, or req/s); a round's values form one pair.
    """
    values: dict[str, list[float]] = {name: [] for name in steps}
    for round_no in range(warmup + pairs):
        for name, step in steps.items():
            value = step()
            if round_no >= warmup:
                values[name].append(value)
    return values


def write_result(name: str, results: Any, *, settings: dict[str, Any], probe_start: float) -> Path:
    """bench/results/<name>.json with the machine, the settings and the speed probe at both ends."""
    probe_end = speed_probe()
    moved = abs(probe_end - probe_start) / probe_start
    out = {"benchmark": name, "machine": os.uname().nodename, "cpus": os.cpu_count(),
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "settings": settings,
           "speed_probe_s": {"start": probe_start, "end": probe_end, "moved": round(moved, 3),
                             # docs/PERFORMANCE.md: a run whose probe moved by more than 20% is to be repeated
                             "repeat_advised": moved > 0.2},
           "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(out["speed_probe_s"]), f"→ {path.relative_to(ROOT)}", flush=True)
    return path


def migrated_app(data_dir: Path) -> Any:
    """The app (threading mode, for set-up and in-process timing) on a fresh SQLite file in ``data_dir``."""
    os.environ["ECABINET_DATA_DIR"] = str(data_dir)
    from flask_migrate import upgrade

    from ecabinet import create_app

    app = create_app(async_mode="threading")
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    return app


def add_users(specs: Sequence[tuple[str, str, str, list[str]]], *, tokens: bool = False) -> list[tuple[Any, str]]:
    """Users (username, full name, title, roles) inserted and committed; with a 4-hour API token each."""
    from ecabinet.auth.models import AuthSession, Confidentiality, SessionKind, User
    from ecabinet.auth.passwords import hash_password
    from ecabinet.auth.service import token_hash
    from ecabinet.database import db, utcnow

    password = hash_password(BENCH_PASSWORD)
    users = [User(username=u, full_name=f, title=t, password_hash=password, roles=r,
                  clearance=Confidentiality.SECRET) for u, f, t, r in specs]
    db.session.add_all(users)
    db.session.flush()
    out = []
    now = utcnow()
    for user in users:
        token = ""
        if tokens:
            token = f"bench-{user.id}-{os.urandom(8).hex()}"
            db.session.add(AuthSession(user_id=user.id, kind=SessionKind.API, token_hash=token_hash(token),
                                       created_at=now, expires_at=now + timedelta(hours=4), last_seen_at=now))
        out.append((user, token))
    db.session.commit()
    return out


def add_cabinet(members: int, *, prefix: str = "", tokens: bool = False) -> list[tuple[Any, str]]:
    """The Government Office secretary, the Prime Minister (chair and member), then ``members``
    ministers: ``add_users`` rows in that order."""
    from ecabinet.auth.models import Role

    return add_users([(f"{prefix}secretary", "Nguyễn Thị Thanh Hằng", "Chuyên viên Văn phòng Chính phủ",
                       [str(Role.SECRETARY)]),
                      (f"{prefix}chair", "Phạm Minh Quang", "Thủ tướng Chính phủ", [str(Role.CHAIR), str(Role.MEMBER)])]
                     + [(f"{prefix}member{i}", f"Trần Đức Thành viên {i}", f"Bộ trưởng Bộ số {i}", [str(Role.MEMBER)])
                        for i in range(members)], tokens=tokens)


class Process:
    """A server subprocess, stopped by its own PID (SIGKILL: benchmarks keep nothing)."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, log: Path, ready_url: str) -> None:
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=out)
        wait_http(ready_url)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def app_server(data_dir: Path, port: int) -> Process:
    """The project's production server (`serve`: gevent, HTTP and Socket.IO in one process)."""
    from ecabinet.server import SERVE_COMMAND

    env = {"ECABINET_DATA_DIR": str(data_dir), "ECABINET_ALLOWED_ORIGINS": f"http://127.0.0.1:{port}"}
    return Process([*SERVE_COMMAND, "--port", str(port)], env=env, log=data_dir / "servers.log",
                   ready_url=f"http://127.0.0.1:{port}/api/v1/me")


def bare_server(kind: str, data_dir: Path, port: int, path: Path) -> Process:
    """A bare Flask app on the same kind of server as `serve` (gevent pywsgi, one process)."""
    return Process([sys.executable, "-m", "bench.common", kind, str(port), str(path)],
                   log=data_dir / "servers.log", ready_url=f"http://127.0.0.1:{port}/ready")


def _serve_bare(kind: str, port: int, path: Path) -> None:
    from gevent import monkey

    monkey.patch_all()
    from flask import Flask, jsonify, send_file
    from gevent.pywsgi import WSGIServer

    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # the app sends UTF-8 too

    @app.get("/ready")
    def ready() -> str:
        return "ok"

    if kind == "bare-file":
        data = path.read_bytes()
        import io

        @app.get("/file")
        def file() -> Any:
            # the same bytes from memory with Range and ETag: what serving the unstamped copy costs
            return send_file(io.BytesIO(data), mimetype="application/pdf", etag=str(len(data)), conditional=True,
                             download_name="dossier.pdf", max_age=None)
    else:
        payloads: dict[str, Any] = json.loads(path.read_text())

        @app.get("/json/<name>")
        def payload(name: str) -> Any:
            return jsonify(payloads[name])

    from ecabinet.server import listening_socket  # the same socket options as `serve`

    WSGIServer(listening_socket("127.0.0.1", port), app, log=None).serve_forever()


if __name__ == "__main__":
    _serve_bare(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
