"""JSON API requests per second: the app's GET /api/v1/me and GET /api/v1/meetings/{id} with a bearer
token, against a bare Flask endpoint returning the same bytes' worth of JSON, both on the project's
`serve` shape (gevent pywsgi, one process), load from a separate process, interleaved run by run.

    python -m bench.json_api [--seconds 5] [--pairs N] [--connections 16] [--quick]

Load: ``wrk -t1 -cC -dS --latency`` when wrk is installed, else this module's own keep-alive
client (``--client``, threads in a child process). Each run of the app is preceded by a run of the
bare server on the same endpoint, one uncounted warm-up pair first. The meeting is what a member's
tablet reads: 27 members, 8 agenda items with one dossier each, published.

Writes bench/results/json_api.json. Goal: ≥ 0.5× bare req/s and p99 ≤ 2× bare (medians of pairs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    Process,
    add_cabinet,
    app_server,
    bare_server,
    free_port,
    interleave,
    migrated_app,
    pair_ratios,
    percentile,
    speed_probe,
    write_result,
)

GOAL_RPS = 0.5
GOAL_P99 = 2.0
MEMBERS = 27
ITEMS = 8


def prepare(data_dir: Path) -> dict[str, Any]:
    from documents import service
    from ecabinet.database import db, utcnow
    from meetings.models import (
        AgendaItem,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Participant,
        ParticipantRole,
    )
    from tests.documents.corpus import valid_pdf

    app = migrated_app(data_dir)
    with app.app_context():
        people = add_cabinet(MEMBERS - 1, tokens=True)
        secretary, chair = people[0][0], people[1][0]
        meeting = Meeting(title="Phiên họp Chính phủ thường kỳ tháng 12", kind=MeetingKind.REGULAR,
                          starts_at=utcnow(), location="Trụ sở Chính phủ", chair_id=chair.id,
                          status=MeetingStatus.PUBLISHED, created_by_id=secretary.id, published_at=utcnow())
        db.session.add(meeting)
        db.session.flush()
        items = [AgendaItem(meeting_id=meeting.id, position=n + 1, presenter="Bộ Kế hoạch và Đầu tư",
                            title=f"Tờ trình số {n + 1} về dự án Luật sửa đổi, bổ sung một số điều")
                 for n in range(ITEMS)]
        db.session.add_all(items)
        db.session.add_all(Participant(meeting_id=meeting.id, user_id=u.id, role=ParticipantRole.MEMBER)
                           for u, _ in people[1:])
        db.session.commit()
        pdf = valid_pdf(3)
        for n, item in enumerate(items):
            service.upload_document(meeting.id, item.id, data=pdf + b"%% %d\n" % n, filename="to-trinh.pdf",
                                    title=f"Hồ sơ tờ trình số {n + 1}", doc_type="Tờ trình",
                                    confidentiality="normal", actor=secretary)
        out = {"meeting_id": meeting.id, "token": people[2][1]}
        db.session.remove()
        db.engine.dispose()
    return out


# ---- load generation -------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> dict[str, float]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"]),
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": 1 if errors else 0}


def run_client(url: str, headers: dict[str, str], seconds: float, connections: int) -> dict[str, float]:
    """The fallback load generator, in its own process so it does not share the GIL with the timing."""
    args = [sys.executable, "-m", "bench.json_api", "--client", url, json.dumps(headers), str(seconds),
            str(connections)]
    return json.loads(subprocess.run(args, capture_output=True, text=True, check=True,
                                     timeout=seconds + 30).stdout)


def client_main(url: str, headers: dict[str, str], seconds: float, connections: int) -> None:
    target = requests.utils.urlparse(url)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    non_2xx = [0] * connections
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            conn.request("GET", target.path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[n].append(time.perf_counter() - t0)
            non_2xx[n] += not 200 <= response.status < 300
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [x for per in latencies for x in per]
    print(json.dumps({"rps": len(flat) / elapsed, "p50_ms": statistics.median(flat) * 1000,
                      "p99_ms": percentile(flat, 0.99) * 1000, "non_2xx": sum(non_2xx), "socket_errors": 0}))


# ---- the benchmark ---------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=None, help="per run; default 5, --quick 2")
    parser.add_argument("--pairs", type=int, default=None, help="default 4; --quick 3")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-wrk", action="store_true", help="use the built-in client even when wrk is installed")
    parser.add_argument("--client", nargs=4, metavar=("URL", "HEADERS", "SECONDS", "CONNECTIONS"))
    args = parser.parse_args()
    if args.client:
        url, headers, seconds, connections = args.client
        client_main(url, json.loads(headers), float(seconds), int(connections))
        return 0
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    pairs = args.pairs or (3 if args.quick else 4)
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    load = run_wrk if use_wrk else run_client
    probe = speed_probe()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-json-"))
    started = time.perf_counter()
    setup = prepare(data_dir)
    print(f"set up in {time.perf_counter() - started:.1f} s", flush=True)
    app_port, bare_port = free_port(), free_port()
    auth = {"Authorization": f"Bearer {setup['token']}"}
    app_base = f"http://127.0.0.1:{app_port}/api/v1"
    endpoints = {"me": "/me", "meeting": f"/meetings/{setup['meeting_id']}"}
    servers: list[Process] = []
    results: dict[str, Any] = {}
    try:
        servers.append(app_server(data_dir, app_port))
        bodies = {}
        for name, path in endpoints.items():
            response = requests.get(app_base + path, headers=auth, timeout=10)
            assert response.status_code == 200, response.text
            bodies[name] = response.json()
        (data_dir / "payloads.json").write_text(json.dumps(bodies, ensure_ascii=False))
        servers.append(bare_server("bare-json", data_dir, bare_port, data_dir / "payloads.json"))
        for name, path in endpoints.items():
            bare_url = f"http://127.0.0.1:{bare_port}/json/{name}"
            sizes = {"app": len(requests.get(app_base + path, headers=auth, timeout=10).content),
                     "bare": len(requests.get(bare_url, headers=auth, timeout=10).content)}
            runs: dict[str, list[dict[str, float]]] = {"bare": [], "app": []}

            def step(kind: str, url: str, runs: dict[str, list[dict[str, float]]] = runs) -> float:
                run = load(url, auth, seconds, args.connections)
                runs[kind].append(run)
                return run["rps"]

            interleave({"bare": lambda u=bare_url: step("bare", u),  # type: ignore[misc]
                        "app": lambda u=app_base + path: step("app", u)}, pairs)  # type: ignore[misc]
            counted = {kind: values[1:] for kind, values in runs.items()}  # the warm-up pair is dropped
            result = {"path": f"/api/v1{path}", "body_bytes": sizes,
                      "non_2xx": sum(r["non_2xx"] for v in runs.values() for r in v),
                      "socket_errors": sum(r["socket_errors"] for v in runs.values() for r in v)}
            for kind, values in counted.items():
                result[kind] = {"rps": round(statistics.median(r["rps"] for r in values), 1),
                                "p50_ms": round(statistics.median(r["p50_ms"] for r in values), 2),
                                "p99_ms": round(statistics.median(r["p99_ms"] for r in values), 2),
                                "runs": len(values)}
            result["ratio_rps"] = pair_ratios([r["rps"] for r in counted["app"]], [r["rps"] for r in counted["bare"]])
            result["ratio_p99"] = pair_ratios([r["p99_ms"] for r in counted["app"]],
                                              [r["p99_ms"] for r in counted["bare"]])
            result["goal_met"] = (result["ratio_rps"]["median"] >= GOAL_RPS
                                  and result["ratio_p99"]["median"] <= GOAL_P99 and result["non_2xx"] == 0)
            print(json.dumps({name: result}, ensure_ascii=False), flush=True)
            results[name] = result
    finally:
        for server in servers:
            server.stop()
    write_result("json_api", results, settings={"seconds": seconds, "pairs": pairs, "connections": args.connections,
                                                "load": "wrk -t1" if use_wrk else "bench.json_api --client",
                                                "server": "serve (gevent pywsgi, 1 process), SQLite",
                                                "quick": args.quick}, probe_start=probe)
    return 0 if all(r["goal_met"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
