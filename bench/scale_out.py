"""Scale-out capacity: how many tablets one `serve` process and two joined by Redis each serve
within the same p99 of "chair's command → the last tablet has the event".

    python -m bench.scale_out [--n 250 500 ... 2000] [--two-at 2] [--cores 0.25] [--rounds 200] [--p99-budget-ms 150]

On this 2-core machine the tablets' own process shares the cores with the servers, so a server
that is given "the whole machine" only measures how the load generator and the servers split two
cores. Each server process therefore runs in its own cgroup with the same CPU quota (``--cores``
of one core, CFS period 10 ms), as each would have a core of its own in production; the tablets
(two client processes) and Redis get the rest. The baseline is one process, the subject two,
measured in the same run: both setups stay up side by side (each with its own database) and their
rounds alternate (A B A B ...). The goal compares them at the same p99, that is at different N, so
each step of the ladder pairs one process at N with two processes at ``--two-at`` × N (2): the N
that are compared are measured in the same minutes, and the machine's drift between steps cancels
(a ladder of the same N for both compared one's N=1,000 with two's N=2,000 measured ten minutes
later). Capacity is each setup's largest N whose p99 stays within the budget, interpolated between
its measured N; the goal is two ≥ 1.8× one. The ladder stops once both are past the budget.
Zero lost events is a requirement: a miss fails the run. Writes bench/results/scale_out.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

from bench.common import create_pg_database, drop_pg_database, speed_probe
from bench.live_push import RESULTS, ROOT, capacity, cpu_seconds, free_port, percentile, prepare_meeting, wait_http

CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
CFS_PERIOD_US = 10_000  # short periods: a throttled server waits at most ~10 ms, not 100
CLIENT_PROCESSES = 2
WARMUP_ROUNDS = 2


class CpuQuota:
    """A cgroup (v1 cpu controller) holding one process to ``cores`` of a core."""

    def __init__(self, pid: int, cores: float) -> None:
        self.path = CGROUP_CPU / f"ecabinet-bench-{pid}"
        self.path.mkdir()
        (self.path / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        (self.path / "cpu.cfs_quota_us").write_text(str(int(cores * CFS_PERIOD_US)))
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_s(self) -> float:
        stats = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stats.get("throttled_time", 0)) / 1e9

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass  # still holds a process that is exiting: the kernel frees it with the last task


def quotas_available() -> bool:
    return os.access(CGROUP_CPU, os.W_OK) and (CGROUP_CPU / "cpu.cfs_quota_us").exists()


class Setup:
    """``processes`` real `serve` processes on their own PostgreSQL database (SQLite is the one-process
    embedded default, not a database several processes write to), each under its own CPU quota."""

    def __init__(self, processes: int, members: int, cores: float, queue: str | None) -> None:
        self.processes = processes
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"bench-scale-{processes}p-"))
        self.database_url, self.database = create_pg_database(f"ecabinet_scale_{processes}p")
        self.meeting = prepare_meeting(self.data_dir, members, self.database_url)
        self.ports = [free_port() for _ in range(processes)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        from ecabinet.server import SERVE_COMMAND

        env = {**os.environ, "ECABINET_DATA_DIR": str(self.data_dir), "ECABINET_DATABASE_URL": self.database_url,
               "ECABINET_ALLOWED_ORIGINS": ",".join(self.urls)}
        if queue:
            env["ECABINET_MESSAGE_QUEUE"] = queue
            env["ECABINET_MESSAGE_QUEUE_CHANNEL"] = f"bench-scale-{os.getpid()}"
        log = (self.data_dir / "servers.log").open("ab")
        self.procs = [subprocess.Popen([*SERVE_COMMAND, "--port", str(port)], cwd=ROOT, env=env,
                                       stdout=log, stderr=log) for port in self.ports]
        for url in self.urls:
            wait_http(f"{url}/socket.io/?EIO=4&transport=polling")
        self.quotas = [CpuQuota(proc.pid, cores) for proc in self.procs] if cores else []
        self.chair = requests.Session()
        self.chair.headers["Authorization"] = f"Bearer {self.meeting['tokens'][0]}"
        self.seq = 0
        self.connected = 0

    def tablets(self, first: int, last: int) -> list[tuple[str, str, dict[str, Any]]]:
        """Tablets ``first``..``last`` (1-based member tokens), spread over the processes in turn."""
        join = {"meeting_id": self.meeting["meeting_id"], "last_seq": 0}
        return [(self.urls[i % self.processes], self.meeting["tokens"][i], join) for i in range(first, last + 1)]

    def command(self) -> None:
        """The chair moves to the other agenda item: one committed, audited event for every tablet;
        returns when the server answered (the event committed and handed to the broadcast)."""
        self.seq += 1
        item_id = self.meeting["item_ids"][self.seq % 2]
        url = f"{self.urls[0]}/api/v1/meetings/{self.meeting['meeting_id']}/agenda/{item_id}/activate"
        response = self.chair.post(url, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"activate answered {response.status_code}: {response.text[:200]}")

    def cpu(self) -> float:
        return sum(self.cpu_by_process())

    def cpu_by_process(self) -> list[float]:
        return [cpu_seconds(proc.pid) for proc in self.procs]

    def throttled_by_process(self) -> list[float]:
        return [quota.throttled_s() for quota in self.quotas]

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for quota in self.quotas:
            quota.remove()
        drop_pg_database(self.database)


def client_main(conn: Connection) -> None:
    """A tablet process: connects the tablets it is sent, then answers "when did your last tablet
    get event ``seq``" (CLOCK_MONOTONIC, shared by every process on the machine)."""
    from bench.wsclients import Board, LeanSioTablet, start_all, stop_all, wait_all

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        tablets: dict[str, list[LeanSioTablet]] = {}
        boards: dict[str, Board] = {}
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message[0] == "connect":
                _, name, specs = message
                board = boards.setdefault(name, Board())
                new = [LeanSioTablet(url, token, join, board) for url, token, join in specs]
                await start_all(new)
                tablets.setdefault(name, []).extend(new)
                conn.send(("ready", len(new)))
            elif message[0] == "last":
                _, name, seq, timeout = message
                conn.send(("last", await wait_all(boards[name], tablets[name], seq, timeout)))
            else:
                await stop_all([t for group in tablets.values() for t in group])
                conn.send(("stopped",))
                return

    asyncio.run(serve())


class Clients:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for _ in range(CLIENT_PROCESSES):
            parent, child = context.Pipe()
            proc = context.Process(target=client_main, args=(child,), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def connect(self, name: str, specs: list[tuple[str, str, dict[str, Any]]]) -> None:
        for index, pipe in enumerate(self.pipes):
            pipe.send(("connect", name, specs[index::len(self.pipes)]))
        for pipe in self.pipes:
            reply = pipe.recv()
            if reply[0] != "ready":
                raise RuntimeError(f"tablet process: {reply}")

    def last_arrivals(self, name: str, seq: int, timeout: float = 30) -> list[float] | None:
        """When each tablet process had event ``seq`` on its last tablet of group ``name``, or None
        if a tablet missed it."""
        for pipe in self.pipes:
            pipe.send(("last", name, seq, timeout))
        arrivals = [pipe.recv()[1] for pipe in self.pipes]
        return None if None in arrivals else arrivals

    def cpu(self) -> float:
        return sum(cpu_seconds(proc.pid) for proc in self.procs)

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop",))
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if pipe.poll(30):
                pipe.recv()
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU time the whole machine has spent busy (every core, every process), and the time the
    hypervisor gave its cores to other machines (steal): the rounds' share of the two cores tells
    whether the servers' quotas were what limited them, or the machine was full or not running."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def summary(values: list[float]) -> dict[str, float]:
    # p90 and p95 beside the goal's p99: a p99 of 200 rounds is their third slowest, decided by the
    # 1-2% of rounds that a rare stall in either process lengthens by 100-200 ms
    return {"p50_ms": round(statistics.median(values) * 1000, 2),
            **{f"p{q}_ms": round(percentile(values, q / 100) * 1000, 2) for q in (90, 95, 99)}}


class RoundTrace:
    """Per round: when the chair's command was answered; per server process, when its last tablet
    had the event, the CPU it used and how long its quota held it back; per tablet process, when its
    last tablet had the event. The slowest rounds decide a p99; this says whether the time went
    before the broadcast (the command's commit and publish), in a server process (working: its own
    CPU, in the kernel's 10 ms ticks; or waiting: throttled, or not running at all) or in the
    tablets' process that timed it (each tablet process holds half of every server's tablets, so a
    stall there makes every server look late)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.rounds: list[dict[str, list[float]]] = []
        self._cpu: list[float] = []
        self._throttled: list[float] = []

    def start(self) -> None:
        self._cpu, self._throttled = self.setup.cpu_by_process(), self.setup.throttled_by_process()

    def end(self, answered_s: float, last_by_process_s: list[float], last_by_tablet_process_s: list[float]) -> None:
        self.rounds.append({
            "answered_ms": round(answered_s * 1000, 1),
            "last_ms": [round(t * 1000, 1) for t in last_by_process_s],
            "tablet_processes_last_ms": [round(t * 1000, 1) for t in last_by_tablet_process_s],
            "cpu_ms": [round((after - before) * 1000) for after, before
                       in zip(self.setup.cpu_by_process(), self._cpu, strict=True)],
            "throttled_ms": [round((after - before) * 1000) for after, before
                             in zip(self.setup.throttled_by_process(), self._throttled, strict=True)]})

    def answered(self) -> dict[str, float]:
        return summary([r["answered_ms"] / 1000 for r in self.rounds])

    def slowest(self, count: int = 5) -> list[dict[str, list[float]]]:
        return sorted(self.rounds, key=lambda r: -max(r["last_ms"]))[:count]


def process_group(name: str, index: int) -> str:
    return f"{name}@{index}"


def measure(setups: dict[str, Setup], clients: Clients, sizes: dict[str, int], rounds: int) -> dict[str, Any]:
    """Bring each setup to its size in tablets, then alternate their rounds; time-to-last per round,
    each server process's tablets timed apart."""
    for name, setup in setups.items():
        if setup.connected < sizes[name]:
            specs = setup.tablets(setup.connected + 1, sizes[name])
            for index, url in enumerate(setup.urls):
                clients.connect(process_group(name, index), [spec for spec in specs if spec[0] == url])
            setup.connected = sizes[name]
    timings: dict[str, list[float]] = {name: [] for name in setups}
    traces = {name: RoundTrace(setup) for name, setup in setups.items()}
    lost = dict.fromkeys(setups, 0)
    cpu: dict[str, float] = {}
    throttled: dict[str, float] = {}
    client_cpu = started_rounds = 0.0
    machine = (0.0, 0.0)
    for round_no in range(rounds + WARMUP_ROUNDS):
        if round_no == WARMUP_ROUNDS:
            machine, started_rounds = machine_cpu_seconds(), time.perf_counter()
            cpu = {name: setup.cpu() for name, setup in setups.items()}
            throttled = {name: sum(setup.throttled_by_process()) for name, setup in setups.items()}
            client_cpu = clients.cpu()
        for name, setup in setups.items():
            traces[name].start()
            started = time.perf_counter()
            setup.command()
            answered = time.perf_counter() - started
            # rows: the server processes; columns: the tablet processes
            arrivals = [clients.last_arrivals(process_group(name, index), setup.seq)
                        for index in range(setup.processes)]
            if None in arrivals:
                lost[name] += 1
            elif round_no >= WARMUP_ROUNDS:
                timings[name].append(max(map(max, arrivals)) - started)
                traces[name].end(answered, [max(row) - started for row in arrivals],
                                 [max(column) - started for column in zip(*arrivals, strict=True)])
    busy, stolen = (after - before for after, before in zip(machine_cpu_seconds(), machine, strict=True))
    out: dict[str, Any] = {"rounds": rounds,
                           "machine_busy_cores": round(busy / (time.perf_counter() - started_rounds), 2),
                           "machine_steal_s": round(stolen, 2),
                           "client_cpu_us_per_delivery": round((clients.cpu() - client_cpu) * 1e6
                                                               / (rounds * sum(sizes.values())), 1)}
    for name, setup in setups.items():
        out[name] = {"n": sizes[name], **(summary(timings[name]) if timings[name] else {}), "lost_events": lost[name],
                     "rounds_ms": [round(t * 1000, 1) for t in timings[name]],
                     "command_answered": traces[name].answered() if traces[name].rounds else {},
                     "slowest_rounds": traces[name].slowest(),
                     "server_cpu_us_per_delivery": round((setup.cpu() - cpu[name]) * 1e6
                                                         / (rounds * sizes[name]), 1),
                     "throttled_s": round(sum(setup.throttled_by_process()) - throttled[name], 2)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[250, 500, 750, 1000, 1250, 1500, 1750, 2000],
                        help="the ladder of one process's tablets")
    parser.add_argument("--two-at", type=float, default=2.0, help="two processes' tablets, × one's at each step")
    parser.add_argument("--cores", type=float, default=0.25, help="each server process's CPU quota, in cores")
    # the p99 of 20 rounds is their slowest, and one round slowed by the quota's throttling moved a
    # run's capacity by half; of 100 it is the slowest but one, and two runs still gave 1,493 and 969
    # tablets to one process; of 200 it is the third slowest
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--p99-budget-ms", type=float, default=150.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if not quotas_available():
        print(f"{CGROUP_CPU} is not writable (run as root on a cgroup-v1 cpu controller): without a quota per "
              "process the servers and the tablets split the machine's cores and capacity cannot be compared",
              file=sys.stderr)
        return 2
    started, probe_start = time.monotonic(), speed_probe()
    ladder = sorted(args.n)
    setups: dict[str, Setup] = {}
    clients = Clients()
    results: list[dict[str, Any]] = []
    try:
        setups["one_process"] = Setup(1, ladder[-1], args.cores, None)
        setups["two_processes_redis"] = Setup(2, round(ladder[-1] * args.two_at), args.cores, args.redis)
        for n in ladder:
            sizes = {"one_process": n, "two_processes_redis": round(n * args.two_at)}
            result = measure(setups, clients, sizes, args.rounds)
            print(json.dumps(result), flush=True)
            results.append(result)
            if all(result[name].get("p99_ms", 0) > args.p99_budget_ms for name in setups):
                break  # both capacities are found: larger N would only take longer
    finally:
        clients.stop()
        for setup in setups.values():
            setup.stop()
    capacities = {name: capacity([{"n": r[name]["n"], "ecabinet": r[name]} for r in results if "p99_ms" in r[name]],
                                 args.p99_budget_ms) for name in setups}
    one, two = capacities["one_process"], capacities["two_processes_redis"]
    lost = sum(r[name]["lost_events"] for r in results for name in setups)
    ratio = round(two / one, 2) if one and two else None
    beyond = all(r["two_processes_redis"].get("p99_ms", 0) <= args.p99_budget_ms for r in results)
    checks = {"zero_lost_events": {"value": lost, "goal": 0, "met": lost == 0},
              "two_processes_capacity_x_one": {"value": ratio, "goal": 1.8, "met": ratio is not None and ratio >= 1.8,
                                               "two_processes_capacity_is_a_lower_bound": beyond}}
    probe_end = speed_probe()
    out = {"benchmark": "scale_out", "machine": os.uname().nodename, "cpus": os.cpu_count(),
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "wall_seconds": round(time.monotonic() - started, 1),
           "settings": {"cores_per_server_process": args.cores, "cfs_period_us": CFS_PERIOD_US,
                        "rounds": args.rounds, "p99_budget_ms": args.p99_budget_ms, "two_at": args.two_at,
                        "client_processes": CLIENT_PROCESSES, "database": "postgresql, one per setup"},
           "speed_probe_s": {"start": probe_start, "end": probe_end,
                             "repeat_advised": abs(probe_end - probe_start) / probe_start > 0.2},
           "capacity": {"p99_budget_ms": args.p99_budget_ms,
                        "largest_n": {name: round(c) if c is not None else None for name, c in capacities.items()}},
           "targets": checks, "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale_out.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({"capacity": out["capacity"], "targets": checks}), flush=True)
    return 0 if checks["zero_lost_events"]["met"] and checks["two_processes_capacity_x_one"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
