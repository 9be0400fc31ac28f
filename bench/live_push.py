"""Live push: time from the chair's HTTP command (authorised, committed, audited) to the LAST of N
tablets receiving the event, against a raw `websockets` broadcast and a bare Flask-SocketIO emit of
the same payload, interleaved in one run (A B C A B C ...), on one process or two joined by Redis.

    python -m bench.live_push [--n 50 100 500 1000] [--processes 1 2] [--rounds 12] [--p99-budget-ms 150]

Writes bench/results/live_push.json with, per setup, p50/p99 and the ratios to the baselines, the
server CPU per delivered event, and the targets of issues 4 and 7 checked. Capacity: for each
number of processes, the largest N whose p99 stays under one fixed budget (interpolated between
the measured N), so "two processes serve 1.8x the tablets of one at the same p99" is a ratio of
two capacities. Zero lost events is a requirement: a miss fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from bench.wsclients import Board, RawClient, SioTablet, start_all, stop_all, wait_all

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# the first broadcasts after the joins pay for replays and cold caches: measured, not counted
WARMUP_ROUNDS = 2


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def prepare_meeting(data_dir: Path, members: int, database_url: str | None = None) -> dict[str, Any]:
    """A published meeting with ``members`` tablets, built through the app (on SQLite in ``data_dir``
    unless ``database_url`` names another database)."""
    os.environ["ECABINET_DATA_DIR"] = str(data_dir)
    if database_url:
        os.environ["ECABINET_DATABASE_URL"] = database_url
    else:
        os.environ.pop("ECABINET_DATABASE_URL", None)
    from flask_migrate import upgrade

    from ecabinet import create_app
    from ecabinet.auth.models import AuthSession, Role, SessionKind, User
    from ecabinet.auth.passwords import hash_password
    from ecabinet.auth.service import token_hash
    from ecabinet.database import db, utcnow
    from meetings.models import AgendaItem, Meeting, MeetingKind, MeetingStatus, Participant, ParticipantRole

    app = create_app(async_mode="threading")
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        password = hash_password("bench-password-2026")
        users = [User(username=f"tablet{i}", full_name=f"Thành viên {i}", password_hash=password,
                      roles=[str(Role.CHAIR if i == 0 else Role.MEMBER)]) for i in range(members + 1)]
        db.session.add_all(users)
        db.session.flush()
        meeting = Meeting(title="Hội nghị trực tuyến", kind=MeetingKind.THEMATIC, starts_at=utcnow(),
                          chair_id=users[0].id, status=MeetingStatus.IN_SESSION, created_by_id=users[0].id)
        db.session.add(meeting)
        db.session.flush()
        items = [AgendaItem(meeting_id=meeting.id, position=i + 1, title=f"Nội dung {i + 1}",
                            presenter="Bộ Kế hoạch") for i in range(2)]
        db.session.add_all(items)
        db.session.add_all(Participant(meeting_id=meeting.id, user_id=u.id, role=ParticipantRole.MEMBER)
                           for u in users)
        tokens = []
        now = utcnow()
        for user in users:
            token = f"bench-{user.id}-{os.urandom(8).hex()}"
            db.session.add(AuthSession(user_id=user.id, kind=SessionKind.API, token_hash=token_hash(token),
                                       created_at=now, expires_at=now + timedelta(hours=4), last_seen_at=now))
            tokens.append(token)
        db.session.commit()
        return {"meeting_id": meeting.id, "item_ids": [i.id for i in items], "tokens": tokens}


class Servers:
    def __init__(self, data_dir: Path, processes: int, queue: str | None) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.raw_port = free_port()
        self.bare_ports = [free_port() for _ in range(processes)]
        self.app_ports = [free_port() for _ in range(processes)]
        python = sys.executable
        log = open(data_dir / "servers.log", "ab")
        self.procs.append(subprocess.Popen([python, "-m", "bench.baselines", "raw", str(self.raw_port)],
                                           cwd=ROOT, stdout=log, stderr=log))
        for port in self.bare_ports:
            args = [python, "-m", "bench.baselines", "bare", str(port)] + ([queue] if queue else [])
            self.procs.append(subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=log))
        from ecabinet.server import SERVE_COMMAND

        for port in self.app_ports:
            env = {**os.environ, "ECABINET_DATA_DIR": str(data_dir),
                   "ECABINET_ALLOWED_ORIGINS": ",".join(f"http://127.0.0.1:{p}" for p in self.app_ports)}
            if queue:
                env["ECABINET_MESSAGE_QUEUE"] = queue
            self.procs.append(subprocess.Popen([*SERVE_COMMAND, "--port", str(port)], cwd=ROOT, env=env,
                                               stdout=log, stderr=log))
        for port in self.bare_ports + self.app_ports:
            wait_http(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling")
        time.sleep(0.5)

    @property
    def app_pids(self) -> list[int]:
        return [p.pid for p in self.procs[1 + len(self.bare_ports):]]

    @property
    def bare_pids(self) -> list[int]:
        return [p.pid for p in self.procs[1:1 + len(self.bare_ports)]]

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


async def raw_control(port: int) -> Any:
    """The connection that hands the raw baseline server each payload to broadcast."""
    import websockets

    control = await websockets.connect(f"ws://127.0.0.1:{port}", max_size=None)
    await control.send("control")
    return control


def chair_session(token: str) -> requests.Session:
    """The chair's HTTP client (kept alive, as a tablet's would be)."""
    chair = requests.Session()
    chair.headers["Authorization"] = f"Bearer {token}"
    return chair


async def measure(n: int, processes: int, rounds: int, queue: str | None) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    setup = prepare_meeting(data_dir, n)
    servers = Servers(data_dir, processes, queue)
    meeting_id, tokens = setup["meeting_id"], setup["tokens"]
    payload_probe: dict[str, Any] = {}
    try:
        boards = {"raw": Board(), "bare": Board(), "app": Board()}
        raw = [RawClient(f"ws://127.0.0.1:{servers.raw_port}", boards["raw"]) for _ in range(n)]
        bare = [SioTablet(f"http://127.0.0.1:{servers.bare_ports[i % processes]}", None, {"room": "room"},
                          boards["bare"]) for i in range(n)]
        tablets = [SioTablet(f"http://127.0.0.1:{servers.app_ports[i % processes]}", tokens[i + 1],
                             {"meeting_id": meeting_id, "last_seq": 0}, boards["app"]) for i in range(n)]
        for group in (raw, bare, tablets):
            await start_all(group)
        control, chair = await raw_control(servers.raw_port), chair_session(tokens[0])
        app_url = f"http://127.0.0.1:{servers.app_ports[0]}"
        bare_url = f"http://127.0.0.1:{servers.bare_ports[0]}"
        loop = asyncio.get_running_loop()
        timings: dict[str, list[float]] = {"raw": [], "bare": [], "app": []}
        lost = 0
        cpu_before = {pid: cpu_seconds(pid) for pid in servers.app_pids + servers.bare_pids}
        seq = 0
        for round_no in range(1, rounds + WARMUP_ROUNDS + 1):
            if round_no == WARMUP_ROUNDS + 1:
                timings = {"raw": [], "bare": [], "app": []}
                cpu_before = {pid: cpu_seconds(pid) for pid in servers.app_pids + servers.bare_pids}
            seq += 1
            item_id = setup["item_ids"][round_no % 2]
            t0 = time.perf_counter()
            command = f"{app_url}/api/v1/meetings/{meeting_id}/agenda/{item_id}/activate"
            response = await loop.run_in_executor(None, lambda url=command: chair.post(url, timeout=30))
            assert response.status_code == 200, response.text
            last = await wait_all(boards["app"], tablets, seq)
            if last is None:
                lost += 1
            else:
                timings["app"].append(last - t0)
            if not payload_probe:
                payload_probe = {"n": 0, "type": "agenda.activated", "meeting_id": meeting_id, "seq": 0,
                                 "at": "2026-11-23T00:00:00+00:00",
                                 "data": {"agenda_item_id": item_id, "title": "Nội dung 1", "position": 1}}
            body = json.dumps({**payload_probe, "n": round_no}, ensure_ascii=False)
            body_bare = {**payload_probe, "n": round_no}
            body_bare.pop("seq")
            t0 = time.perf_counter()
            bare_body = json.dumps(body_bare)
            await loop.run_in_executor(None, lambda data=bare_body: requests.post(f"{bare_url}/emit", data=data,
                                                                                  timeout=30))
            last = await wait_all(boards["bare"], bare, round_no)
            if last is None:
                lost += 1
            else:
                timings["bare"].append(last - t0)
            t0 = time.perf_counter()
            await control.send(body)
            last = await wait_all(boards["raw"], raw, round_no)
            if last is None:
                lost += 1
            else:
                timings["raw"].append(last - t0)
        cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu_before.items()}
        await control.close()
        await stop_all(raw + bare + tablets)
    finally:
        servers.stop()
    pairs = min(len(v) for v in timings.values())
    ratio_raw = [timings["app"][i] / timings["raw"][i] for i in range(pairs)]
    ratio_bare = [timings["app"][i] / timings["bare"][i] for i in range(pairs)]
    deliveries = rounds * n
    app_cpu = sum(cpu[pid] for pid in servers.app_pids) / deliveries
    bare_cpu = sum(cpu[pid] for pid in servers.bare_pids) / deliveries

    def summary(values: list[float]) -> dict[str, float]:
        return {"p50_ms": round(statistics.median(values) * 1000, 2),
                "p99_ms": round(percentile(values, 0.99) * 1000, 2)}

    return {"n": n, "processes": processes, "rounds": rounds, "lost_events": lost,
            "raw_websockets": summary(timings["raw"]), "bare_flask_socketio": summary(timings["bare"]),
            "ecabinet": summary(timings["app"]),
            "ratio_to_raw_p50": round(statistics.median(ratio_raw), 2),
            "ratio_to_raw_p99": round(percentile(timings["app"], 0.99) / percentile(timings["raw"], 0.99), 2),
            "ratio_to_bare_p50": round(statistics.median(ratio_bare), 2),
            "server_cpu_us_per_delivery": {"ecabinet": round(app_cpu * 1e6, 1), "bare": round(bare_cpu * 1e6, 1),
                                           "ratio": round(app_cpu / bare_cpu, 2) if bare_cpu else None}}


def capacity(results: list[dict[str, Any]], budget_ms: float) -> float | None:
    """The largest N whose p99 stays within the budget, interpolated linearly between measured N."""
    points = sorted((r["n"], r["ecabinet"]["p99_ms"]) for r in results)
    best: float | None = None
    for (n0, p0), (n1, p1) in zip([(0, 0.0), *points], points, strict=False):
        if p1 <= budget_ms:
            best = n1
        elif p0 <= budget_ms:
            return n0 + (n1 - n0) * (budget_ms - p0) / (p1 - p0)
        else:
            break
    return best


def targets(results: list[dict[str, Any]], capacities: dict[int, float | None]) -> dict[str, Any]:
    """The goals of issue 4 (N=500) and issue 7 (N=1000, scale-out), each with its measured value."""
    def at(n: int, processes: int = 1) -> dict[str, Any] | None:
        return next((r for r in results if r["n"] == n and r["processes"] == processes), None)

    checks: dict[str, Any] = {"zero_lost_events": {"value": sum(r["lost_events"] for r in results), "goal": 0}}
    checks["zero_lost_events"]["met"] = checks["zero_lost_events"]["value"] == 0
    for n, p50_goal, p99_goal in ((500, 2.0, 3.0), (1000, 2.5, 4.0)):
        row = at(n)
        if row:
            checks[f"n{n}_p50_x_raw"] = {"value": row["ratio_to_raw_p50"], "goal": p50_goal,
                                         "met": row["ratio_to_raw_p50"] <= p50_goal}
            checks[f"n{n}_p99_x_raw"] = {"value": row["ratio_to_raw_p99"], "goal": p99_goal,
                                         "met": row["ratio_to_raw_p99"] <= p99_goal}
    row = at(500)
    if row and row["server_cpu_us_per_delivery"]["ratio"] is not None:
        ratio = row["server_cpu_us_per_delivery"]["ratio"]
        checks["n500_cpu_x_bare"] = {"value": ratio, "goal": 1.3, "met": ratio <= 1.3}
    if capacities.get(1) and capacities.get(2) is not None:
        ratio = round(capacities[2] / capacities[1], 2)  # type: ignore[operator]
        checks["two_processes_capacity_x_one"] = {"value": ratio, "goal": 1.8, "met": ratio >= 1.8}
    return checks


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[50, 100, 500, 1000])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--p99-budget-ms", type=float, default=150.0,
                        help="the fixed p99 under which capacity (largest N served) is read")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for processes in args.processes:
        for n in args.n:
            try:
                result = asyncio.run(measure(n, processes, args.rounds, args.redis if processes > 1 else None))
            except Exception as error:  # one setup that cannot run must not lose the others' figures
                failures.append({"n": n, "processes": processes, "error": repr(error)})
                print(json.dumps(failures[-1]), flush=True)
                continue
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    capacities = {p: capacity([r for r in results if r["processes"] == p], args.p99_budget_ms)
                  for p in args.processes}
    checks = targets(results, capacities)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"benchmark": "live_push", "machine": os.uname().nodename, "cpus": os.cpu_count(),
           "load_average_at_end": os.getloadavg(),
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "wall_seconds": round(time.monotonic() - started, 1), "rounds": args.rounds,
           "capacity": {"p99_budget_ms": args.p99_budget_ms,
                        "largest_n_by_processes": {str(p): (round(c) if c is not None else None)
                                                   for p, c in capacities.items()}},
           "targets": checks, "results": results, "failed_setups": failures}
    (RESULTS / "live_push.json").write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps({"capacity": out["capacity"], "targets": checks}, ensure_ascii=False), flush=True)
    return 1 if failures or any(r["lost_events"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
