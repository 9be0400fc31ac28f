"""A cabinet room of 50 tablets (issue 18, point 11): from the chair's HTTP command until the LAST tablet
has the event, for each command a session is run with (the current item, follow-the-presenter's page,
opening and closing a vote), against a raw `websockets` broadcast of the very same frame, interleaved
command by command in one run.

    python -m bench.room50 [--tablets 50] [--rounds 40]

The raw server sends the exact text the tablets received from the app for that command (the Socket.IO
frame, its bytes and size), so the baseline is the floor for delivering that frame to 50 sockets. The app's
time includes the whole command: HTTP, login check, authorisation, the write transaction with its audit
record and meeting event, then the broadcast. Writes bench/results/room50.json; a lost event fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import pair_ratios, speed_probe, summary, write_result
from bench.live_push import WARMUP_ROUNDS, Servers, cpu_seconds, prepare_meeting, raw_control
from bench.wsclients import Board, RawClient, SioTablet, start_all, stop_all, wait_all

#: issue 18, point 11: the chair's command reaches the last of 50 tablets within 2.5x raw, at the median
GOAL_P50_X_RAW = 2.5
PAGES = 20


class RecordingTablet(SioTablet):
    """A tablet that also keeps the text of the last event it received (the frame the raw server repeats)."""

    last_message = ""

    def arrive(self, message: str) -> None:
        self.last_message = message
        super().arrive(message)


class LoopChair:
    """The chair's HTTP client on the benchmark's own event loop: one kept-alive connection, each command
    written as prepared bytes, as the raw control's frame is. The command's time is then the server's
    (HTTP, login, authorisation, the write, the broadcast), not an HTTP library's in a worker thread,
    whose own CPU and thread handoff competed with the 50 tablets for the interpreter."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def send(self, path: str, body: dict[str, Any] | None) -> None:
        assert self.writer is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        self.writer.write(head.encode() + payload)

    async def answer(self) -> tuple[int, dict[str, Any]]:
        """The status and JSON body of the answer to the last command."""
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                body += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, json.loads(body) if body else {}

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


class FrameRawClient(RawClient):
    """A raw client keyed by the app frame's own ``seq`` (the raw server repeats the app's frames)."""

    key_names = ("seq",)


def add_presented_document(data_dir: Path, meeting_id: int, item_id: int, chair_id: int) -> int:
    """A document of the meeting for follow-the-presenter (its bytes are never read by the command)."""
    import os

    os.environ["ECABINET_DATA_DIR"] = str(data_dir)
    from documents.models import Document, DocumentVersion
    from ecabinet import create_app
    from ecabinet.database import db, utcnow
    from meetings.models import Participant

    app = create_app(async_mode="threading")
    with app.app_context():
        document = Document(meeting_id=meeting_id, agenda_item_id=item_id, title="Tờ trình", created_by_id=chair_id)
        db.session.add(document)
        db.session.flush()
        db.session.add(DocumentVersion(document_id=document.id, number=1, sha256="0" * 64, size=1, pages=PAGES,
                                       uploaded_by_id=chair_id))
        # everyone checked in: a vote opens only with the quorum present
        for row in db.session.query(Participant).filter_by(meeting_id=meeting_id):
            row.checked_in_at = row.attended_at = utcnow()
        db.session.commit()
        return document.id


async def measure(tablets_n: int, rounds: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-room50-"))
    setup = prepare_meeting(data_dir, tablets_n)
    meeting_id, tokens, items = setup["meeting_id"], setup["tokens"], setup["item_ids"]
    document_id = add_presented_document(data_dir, meeting_id, items[0], 1)
    servers = Servers(data_dir, 1, None)
    try:
        boards = {"raw": Board(), "app": Board()}
        raw = [FrameRawClient(f"ws://127.0.0.1:{servers.raw_port}", boards["raw"]) for _ in range(tablets_n)]
        tablets = [RecordingTablet(f"http://127.0.0.1:{servers.app_ports[0]}", tokens[i + 1],
                                   {"meeting_id": meeting_id, "last_seq": 0}, boards["app"]) for i in range(tablets_n)]
        for group in (raw, tablets):
            await start_all(group)
        control, chair = await raw_control(servers.raw_port), LoopChair("127.0.0.1", servers.app_ports[0], tokens[0])
        await chair.start()
        api = "/api/v1"
        vote: dict[str, int] = {}

        def command(name: str, round_no: int) -> tuple[str, dict[str, Any] | None]:
            if name == "activate":
                return f"/meetings/{meeting_id}/agenda/{items[round_no % 2]}/activate", None
            if name == "present":
                return f"/meetings/{meeting_id}/present", {"document_id": document_id, "page": 1 + round_no % PAGES}
            if name == "vote_open":
                return f"/meetings/{meeting_id}/votes", {"question": f"Biểu quyết {round_no}", "secret": False,
                                                         "agenda_item_id": items[round_no % 2]}
            return f"/votes/{vote['id']}/close", None

        names = ("activate", "present", "vote_open", "vote_close")
        timings: dict[str, dict[str, list[float]]] = {name: {"app": [], "raw": []} for name in names}
        sizes: dict[str, int] = {}
        # the server's CPU per command (from the command sent to its answer, broadcast included): summed over
        # the rounds, as /proc counts in clock ticks; it does not move with what else the machine runs
        cpu_s: dict[str, float] = dict.fromkeys(names, 0.0)
        app_pid = servers.app_pids[0]
        lost = 0
        seq = 0
        for round_no in range(1, rounds + WARMUP_ROUNDS + 1):
            for name in names:
                seq += 1
                path, body = command(name, round_no)
                cpu = cpu_seconds(app_pid)
                t0 = time.perf_counter()
                chair.send(f"{api}{path}", body)
                last = await wait_all(boards["app"], tablets, seq, timeout=10)
                status, answer = await asyncio.wait_for(chair.answer(), timeout=30)
                if round_no > WARMUP_ROUNDS:
                    cpu_s[name] += cpu_seconds(app_pid) - cpu
                assert status in (200, 201), answer
                if name == "vote_open":
                    vote["id"] = answer["id"]
                frame = tablets[0].last_message
                sizes[name] = len(frame.encode())
                t1 = time.perf_counter()
                await control.send(frame)  # the same frame, byte for byte: the raw clients key it by its seq
                raw_last = await wait_all(boards["raw"], raw, seq, timeout=10)
                if last is None or raw_last is None:
                    lost += 1
                    print(f"lost: {name} seq {seq} (app {last is not None}, raw {raw_last is not None})", flush=True)
                    continue
                if round_no > WARMUP_ROUNDS:
                    timings[name]["app"].append(last - t0)
                    timings[name]["raw"].append(raw_last - t1)
        await control.close()
        await chair.close()
        await stop_all(raw + tablets)
    finally:
        servers.stop()
    results: dict[str, Any] = {"lost_events": lost, "commands": {}}
    measured = max(1, rounds)
    for name in names:
        app, base = timings[name]["app"], timings[name]["raw"]
        ratio = pair_ratios(app, base)
        results["commands"][name] = {"frame_bytes": sizes.get(name), "ecabinet": summary(app),
                                     "server_cpu_ms": round(1000 * cpu_s[name] / measured, 2),
                                     "raw_websockets": summary(base), "ratio_to_raw": ratio,
                                     "goal_p50_x_raw": GOAL_P50_X_RAW, "met": ratio["median"] <= GOAL_P50_X_RAW}
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=40)  # pairs per command: a steadier median
    args = parser.parse_args()
    probe = speed_probe()
    results = asyncio.run(measure(args.tablets, args.rounds))
    write_result("room50", results, settings={"tablets": args.tablets, "rounds": args.rounds,
                                              "warmup_rounds": WARMUP_ROUNDS, "processes": 1}, probe_start=probe)
    print(json.dumps(results, indent=2, ensure_ascii=False), flush=True)
    return 1 if results["lost_events"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
