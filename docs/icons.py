#!/usr/bin/env python3
"""Draws the app icons in public/icons as PNG (run once; the PNGs are committed).

The shapes are those of public/icons/icon.svg (a #7aa2f7 diamond on a #0f1217 rounded square) and
icon-maskable.svg (a smaller diamond on a full square, inside the maskable safe zone: a circle of
40% of the size around the centre). Standard library only: 4x4 supersampling, zlib, PNG chunks.

    python3 docs/icons.py
"""
import os
import struct
import zlib

BG = (0x0F, 0x12, 0x17)
ACCENT = (0x7A, 0xA2, 0xF7)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "public", "icons")


def inside_rounded_square(x, y, radius):
    """In 512-unit coordinates: inside the 512 square with corners of `radius`."""
    if radius == 0:
        return 0 <= x < 512 and 0 <= y < 512
    cx = min(max(x, radius), 512 - radius)
    cy = min(max(y, radius), 512 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def draw(size, radius, half_diagonal):
    """RGBA rows of one icon; `half_diagonal` is the diamond's centre-to-vertex, in 512 units."""
    samples = 4
    scale = 512 / size
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            covered = accent = 0
            for sy in range(samples):
                for sx in range(samples):
                    x = (px + (sx + 0.5) / samples) * scale
                    y = (py + (sy + 0.5) / samples) * scale
                    if inside_rounded_square(x, y, radius):
                        covered += 1
                        if abs(x - 256) + abs(y - 256) <= half_diagonal:
                            accent += 1
            n = samples * samples
            if covered == 0:
                row += bytes(4)
                continue
            # Colour of the covered part, alpha of the coverage.
            rgb = [
                round((ACCENT[i] * accent + BG[i] * (covered - accent)) / covered)
                for i in range(3)
            ]
            row += bytes(rgb + [round(255 * covered / n)])
        rows.append(bytes(row))
    return rows


def png(size, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    for size in (192, 512):
        for name, radius, half in (("icon", 96, 192), ("icon-maskable", 0, 144)):
            path = os.path.join(OUT, f"{name}-{size}.png")
            with open(path, "wb") as f:
                f.write(png(size, draw(size, radius, half)))
            print(path)


if __name__ == "__main__":
    main()
