"""Tiny image writers for the preprocess tests (standard library only):
PNG of any colour type via zlib+struct, plus truncation helpers."""
import struct
import zlib

# colour type by channel count: gray, gray+alpha, RGB, RGBA
_CTYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png(w, h, c, pixels=None, fill=0, claim=None, level=6):
    """pixels: bytes of h*w*c, row-major; else every byte = fill.
    claim=(W, H) writes that size into IHDR (a lying header)."""
    if pixels is None:
        pixels = bytes([fill]) * (w * h * c)
    raw = b"".join(b"\0" + pixels[y * w * c:(y + 1) * w * c]
                   for y in range(h))
    cw, ch = claim or (w, h)
    ihdr = struct.pack(">IIBBBBB", cw, ch, 8, _CTYPE[c], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) +
            _chunk(b"IDAT", zlib.compress(raw, level)) + _chunk(b"IEND", b""))


def gray_blocks(w, h, block, fn):
    """A gray w x h image whose (bx, by) block of block x block pixels
    has value fn(bx, by)."""
    return bytes(fn(x // block, y // block) & 255
                 for y in range(h) for x in range(w))
