"""Draw the installable app's PNG icons (192 and 512 px) from the favicon's star, with the standard library only.

The icons are committed (ecabinet/static/icons); run again after changing the emblem:
``python scripts/make_icons.py``. A maskable icon keeps its emblem inside the central safe zone (80 %).
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "ecabinet" / "static" / "icons"
RED = (0xB3, 0x16, 0x1B)
GOLD = (0xF2, 0xC2, 0x30)
SAMPLES = 4  # per axis, for smooth edges


def star(size: int) -> list[tuple[float, float]]:
    """The five-pointed star, centred, its outer radius a third of the icon (inside the maskable safe zone)."""
    centre, outer = size / 2, size / 3
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    return [(centre + (outer if i % 2 == 0 else inner) * math.sin(math.radians(36 * i)),
             centre + size * 0.02 - (outer if i % 2 == 0 else inner) * math.cos(math.radians(36 * i)))
            for i in range(10)]


def inside(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def icon(size: int) -> bytes:
    polygon = star(size)
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            gold = sum(inside(x + (i + 0.5) / SAMPLES, y + (j + 0.5) / SAMPLES, polygon)
                       for i in range(SAMPLES) for j in range(SAMPLES)) / SAMPLES**2
            row += bytes(round(r + (g - r) * gold) for r, g in zip(RED, GOLD, strict=True))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(icon(size))
