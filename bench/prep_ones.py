#!/usr/bin/python3
"""Builds the preprocess memory benchmark's inputs (cached): N 1x1 gray
PNGs in two class folders, as ones-N.zip and ones-N.tar (issue 13 §3:
200,000 of them prepared at 256x256x3 took the worker to 2.6 GB).
Usage: prep_ones.py OUTDIR [N]"""
import io
import os
import struct
import sys
import tarfile
import zipfile
import zlib


def png1(v):
    def chunk(k, d):
        return (struct.pack(">I", len(d)) + k + d +
                struct.pack(">I", zlib.crc32(k + d) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\0" + bytes([v]))) +
            chunk(b"IEND", b""))


def main():
    out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    os.makedirs(out, exist_ok=True)
    pngs = [png1(v) for v in range(256)]
    zpath = os.path.join(out, "ones-%d.zip" % n)
    if not os.path.exists(zpath):
        with zipfile.ZipFile(zpath + ".tmp", "w", zipfile.ZIP_STORED) as z:
            for i in range(n):
                z.writestr("d/%s/%06d.png" % ("ab"[i % 2], i), pngs[i % 256])
        os.rename(zpath + ".tmp", zpath)
    tpath = os.path.join(out, "ones-%d.tar" % n)
    if not os.path.exists(tpath):
        with tarfile.open(tpath + ".tmp", "w") as t:
            for i in range(n):
                ti = tarfile.TarInfo("d/%s/%06d.png" % ("ab"[i % 2], i))
                ti.size = len(pngs[i % 256])
                t.addfile(ti, io.BytesIO(pngs[i % 256]))
        os.rename(tpath + ".tmp", tpath)


main()
